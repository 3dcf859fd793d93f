"""Fair grading: every correct style earns full marks, every bug loses the points of its exercise.

Each variant of `gradekit.variants` is handed in as one student of a class autograded by the
real `nbgrader autograde`; the class is split in two shards that pytest-xdist grades in parallel.
"""

import nbformat
import pytest
from conftest import ASSIGNMENT, SOURCE, autograde_class, make_course

from gradekit import course
from gradekit.variants import BUGGY, CORRECT, HOSTILE, PART1_CHECKS, PART2_CHECKS, VARIANTS

SHARDS = 2
NAMES = sorted(VARIANTS)
SHARD_OF = {name: index % SHARDS for index, name in enumerate(NAMES)}


@pytest.fixture(scope="session")
def graded_shard(tmp_path_factory):
    """Autograde a shard of the variant class once; every test of that shard reads it."""
    graded = {}

    def scores(shard: int):
        if shard not in graded:
            folder = make_course(tmp_path_factory.mktemp(f"shard{shard}") / "course")
            names = [name for name in NAMES if SHARD_OF[name] == shard]
            graded[shard] = (folder, *autograde_class(folder, names))
        return graded[shard]

    return scores


def by_shard(names):
    return [
        pytest.param(name, marks=pytest.mark.xdist_group(f"autograde-{SHARD_OF[name]}"))
        for name in names
    ]


@pytest.mark.parametrize("name", by_shard(NAMES))
def test_each_grade_cell_scores_as_the_variant_predicts(graded_shard, max_points, name):
    _, scores, errors = graded_shard(SHARD_OF[name])
    assert name not in errors, f"nbgrader could not grade {name}:\n{errors.get(name)}"
    fails = VARIANTS[name].fails
    expected = {cell: 0.0 if cell in fails else points for cell, points in max_points.items()}
    got = scores[name]
    wrong = {
        cell: (got.get(cell), expected[cell])
        for cell in expected
        if got.get(cell) != expected[cell]
    }
    assert wrong == {}, f"{name}: (got, expected) points per grade cell: {wrong}"


HIDDEN_FAILURES = {
    # variant, cell: what its error says (for hidden checks: the size of the error, never the
    # reference; for hostile code: what happened to it)
    (
        "sigmoid-sign",
        "test_s_values",
    ): "s on a 4x5 array: 20 of 20 values differ from the reference",
    ("backward-early-update", "test_backward_gradient"): "the step of W1 divided by alpha",
    ("train-ignores-alpha", "test_train_early_stopping"): "train should take",
    ("init-no-loss", "test_init_shapes"): "has no attribute 'loss'",
    ("tamper-allclose", "test_l_l2_at_half"): "Checks refused to run: np.allclose was replaced",
    ("segfault-in-forward", "test_forward_values"): "KernelDied: the kernel died while running",
    ("kernel-exit", "logistic_functions"): "KernelDied: the kernel died while running",
    ("hang-forever", "s"): "CellTimeoutError",
    ("memory-bomb", "s"): "MemoryError",
}


@pytest.mark.parametrize(
    "name, cell",
    [
        pytest.param(name, cell, marks=pytest.mark.xdist_group(f"autograde-{SHARD_OF[name]}"))
        for name, cell in HIDDEN_FAILURES
    ],
)
def test_failures_say_what_failed_without_the_answer(graded_shard, name, cell):
    folder, _, _ = graded_shard(SHARD_OF[name])
    errors = [
        f"{output.ename}: {output.evalue}"
        for path in (folder / "autograded" / name / ASSIGNMENT).glob("*.ipynb")
        for c in nbformat.read(path, as_version=4).cells
        if c.id == cell
        for output in c.outputs
        if output.output_type == "error"
    ]
    assert any(HIDDEN_FAILURES[name, cell] in error for error in errors), errors
    assert not any("expected\n" in error for error in errors), errors


def test_the_table_has_enough_real_variants():
    assert len(CORRECT) >= 10 and len(BUGGY) >= 30
    assert all(not v.fails for v in CORRECT)
    assert all(v.fails for v in BUGGY)
    assert len(VARIANTS) == len(CORRECT) + len(BUGGY) + len(HOSTILE), "variant names must be unique"


def test_points_reward_difficulty_and_hidden_checks_carry_most(max_points):
    assert sum(max_points.values()) == 50
    assert set(max_points) == set(PART1_CHECKS) | set(PART2_CHECKS)

    def exercise_points(prefix):
        return sum(points for cell, points in max_points.items() if cell.startswith(prefix))

    heaviest = sorted(
        (
            "test_s_",
            "test_l_l2",
            "test_logistic_regression",
            "test_predict",
            "test_log_likelihood",
            "test_init",
            "test_forward",
            "test_mse",
            "test_backward",
            "test_train",
        ),
        key=exercise_points,
    )[-2:]
    assert set(heaviest) == {"test_backward", "test_train"}
    hidden = {
        c.id
        for p in SOURCE.glob("*.ipynb")
        for c in nbformat.read(p, as_version=4).cells
        if "### BEGIN HIDDEN TESTS" in c.source
    }
    assert hidden < set(max_points)
    assert sum(max_points[c] for c in hidden) > 0.6 * sum(max_points.values())


def test_grade_cells_are_named_in_the_gradebook(fresh_course):
    assert set(course.max_scores(fresh_course, ASSIGNMENT)) == set(PART1_CHECKS) | set(PART2_CHECKS)
