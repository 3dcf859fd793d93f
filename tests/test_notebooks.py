"""The source notebooks reproduce the lecture, and the committed release is what nbgrader makes."""

import ast
import re
import shutil

import nbformat
import numpy as np
import pytest
from conftest import ASSIGNMENT, PART1, PART2, RELEASE, SOURCE, execute, secret_lines

from gradekit import course
from gradekit.submissions import SOLUTION_MARKERS, is_solution_cell

# Figures printed in the lecture (W1-S3 slides).
CHEST_SIZES_SEED_27 = [
    102.51,
    110.29,
    108.71,
    111.36,
    101.67,
    113.59,
    111.86,
    98.19,
    108.84,
    107.26,
    111.74,
    111.16,
    108.99,
    111.4,
    97.74,
    100.51,
    101.46,
    109.87,
    97.02,
    97.4,
    95.62,
    100.1,
    109.67,
    97.26,
    95.41,
    108.02,
    97.62,
    105.98,
    102.31,
    104.27,
    98.41,
    108.51,
    110.99,
    112.58,
    108.72,
    103.53,
    103.86,
    105.89,
    95.52,
    96.35,
    113.33,
    105.67,
    95.85,
    94.27,
    110.74,
    112.3,
    108.09,
    101.74,
    108.11,
    112.47,
]
CLASSES_SEED_27 = [
    0,
    1,
    1,
    1,
    0,
    1,
    1,
    0,
    1,
    1,
    1,
    1,
    1,
    1,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
    1,
    0,
    1,
    0,
    1,
    0,
    1,
    1,
    1,
    1,
    0,
    0,
    1,
    0,
    0,
    1,
    1,
    0,
    0,
    1,
    1,
    1,
    0,
    1,
    1,
]
APARTMENTS_SEED_47 = [
    [58.16, 572.97],
    [195.92, 809.8],
    [156.6, 349.04],
    [96.23, 86.82],
    [153.22, 817.92],
    [167.94, 806.25],
    [143.29, 315.92],
    [106.34, 482.67],
    [152.96, 427.77],
    [79.46, 955.76],
]
PRICES_SEED_47 = [
    1.581913,
    3.450274,
    2.978769,
    2.808258,
    2.556398,
    3.023983,
    3.099523,
    2.121069,
    3.136544,
    1.273443,
]
LOSSES_SEED_963 = [21.318364917457647, 58.190236579106184, 4.770288142049728, 0.2093294704434788]
LOSSES_SEED_967 = [13.1869714693353, 8.576174190387835, 5.818528741557871, 4.14790610131927]
EXERCISES = {
    "s",
    "l",
    "l2",
    "logistic_regression",
    "predict_samples",
    "log_likelihood_loss",
    "ShallowNeuralNet.__init__",
    "ShallowNeuralNet.forward",
    "ShallowNeuralNet.MSE_loss",
    "ShallowNeuralNet.backward",
    "ShallowNeuralNet.train",
}


def printed(nb, cell_id: str) -> str:
    """What a cell printed on stdout."""
    (cell,) = [c for c in nb.cells if c.id == cell_id]
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", text)]


def test_source_notebooks_run_without_errors(source_run):
    for name, nb in source_run.items():
        errors = [
            (c.id, o.ename)
            for c in nb.cells
            for o in c.get("outputs", [])
            if o.output_type == "error"
        ]
        assert errors == [], f"{name}: cells raised errors: {errors}"


def test_part1_prints_the_lecture_dataset_and_predictions(source_run):
    nb = source_run[PART1]
    values = numbers(printed(nb, "dataset"))
    assert values == CHEST_SIZES_SEED_27 + CLASSES_SEED_27
    assert printed(nb, "expert-system").strip() == "True"
    assert "[[22  0]\n [ 0 28]]" in printed(nb, "evaluate")


def test_part2_prints_the_lecture_dataset_and_losses(source_run):
    nb = source_run[PART2]
    values = numbers(printed(nb, "dataset"))
    assert values[:6] == [100, 100, 100, 2, 100, 1]  # the four shapes
    assert values[6:26] == [x for row in APARTMENTS_SEED_47 for x in row]
    assert values[26:] == PRICES_SEED_47
    np.testing.assert_allclose(
        numbers(printed(nb, "try-seed-963")), LOSSES_SEED_963, rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(
        numbers(printed(nb, "try-backward")), LOSSES_SEED_967, rtol=0, atol=1e-9
    )


def test_part2_trains_until_early_stop_and_draws_the_curves(source_run):
    nb = source_run[PART2]
    shown = printed(nb, "try-train-display")
    assert (
        shown.count("Iteration ") == 5 and numbers(shown.splitlines()[0])[1] == LOSSES_SEED_967[1]
    )
    steps, final = numbers(printed(nb, "try-train"))
    assert 0 < steps < 10000 and final < LOSSES_SEED_967[-1]
    (cell,) = [c for c in nb.cells if c.id == "try-train"]
    assert any("image/png" in o.get("data", {}) for o in cell.outputs), "no loss curve was drawn"


def test_every_exercise_is_a_solution_block(model_answers):
    defined = set()
    for cells in model_answers.values():
        for source in cells.values():
            for node in ast.parse(source).body:
                if isinstance(node, ast.FunctionDef):
                    defined.add(node.name)
                elif isinstance(node, ast.ClassDef):
                    defined |= {
                        f"{node.name}.{m.name}" for m in node.body if isinstance(m, ast.FunctionDef)
                    }
    assert EXERCISES <= defined
    for path in SOURCE.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if is_solution_cell(cell):
                assert SOLUTION_MARKERS[0] in cell.source, (
                    f"{path.name}:{cell.id} has no solution block"
                )


def student_view(path):
    """What a student sees of a notebook: cell types, sources, outputs and nbgrader metadata."""
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.get("outputs"), c.metadata.get("nbgrader")) for c in nb.cells]


def test_committed_release_is_what_nbgrader_generates(fresh_course):
    generated = fresh_course / "release" / ASSIGNMENT
    names = sorted(p.name for p in RELEASE.iterdir())
    assert names == sorted(p.name for p in generated.iterdir()), "release/ holds other files"
    for name in names:
        if name.endswith(".ipynb"):
            assert student_view(RELEASE / name) == student_view(generated / name), (
                f"release/{ASSIGNMENT}/{name} is out of date: run nbgrader generate_assignment {ASSIGNMENT}"
            )
        else:
            assert (RELEASE / name).read_bytes() == (generated / name).read_bytes(), name


def test_release_runs_and_only_the_checks_of_unfinished_exercises_fail(tmp_path):
    shutil.copytree(RELEASE, tmp_path, dirs_exist_ok=True)
    for path in sorted(tmp_path.glob("*.ipynb")):
        nb = execute(path)
        failed = {
            c.id: [o.ename for o in c.outputs if o.output_type == "error"]
            for c in nb.cells
            if c.cell_type == "code"
        }
        failed = {cell_id: names for cell_id, names in failed.items() if names}
        visible_checks = {
            c.id
            for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")
            and c.cell_type == "code"
            and "### BEGIN HIDDEN" not in c.source
            and c.source.strip()
            and not c.source.lstrip().startswith("# Hidden check")
        }
        assert set(failed) == visible_checks, path.name
        assert all(names == ["CheckFailed"] for names in failed.values()), failed
        messages = [
            o.evalue for c in nb.cells if c.id in failed for o in c.outputs if o.get("ename")
        ]
        assert all("is not written yet: replace raise NotImplementedError()" in m for m in messages)


def test_release_leaks_no_solution_or_hidden_test():
    secrets = secret_lines()
    assert len(secrets) > 100  # the scan looks for something real
    for path in RELEASE.iterdir():
        text = path.read_text()
        if path.suffix == ".ipynb":  # also look at the JSON-decoded sources, outputs, metadata
            text += nbformat.writes(nbformat.read(path, as_version=4))
            text = text.replace("\\n", "\n").replace('\\"', '"')
        leaked = sorted(line for line in secrets if line in text)
        assert leaked == [], f"{path.name} leaks: {leaked[:5]}"


@pytest.mark.parametrize("name", [PART1, PART2])
def test_validate_passes_on_source_and_fails_on_release(fresh_course, name):
    source = course.nbgrader(fresh_course, "validate", str(SOURCE / name))
    assert "Success! Your notebook passes all the tests." in source.stdout + source.stderr
    release = course.nbgrader(fresh_course, "validate", str(RELEASE / name))
    assert "VALIDATION FAILED ON" in release.stdout + release.stderr
