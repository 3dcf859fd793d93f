"""Fair grading: every correct style earns full marks, every bug loses the points of its exercise.

Each variant of `democlass.variants` is handed in as one student of one class, which the kit's
parallel autograde grades with nbgrader's own converter.
"""

import json
import os
import re
import socketserver
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
import zmq
from conftest import (
    ASSIGNMENT,
    PART1,
    PART2,
    SOURCE,
    expected_points,
    html_text,
    make_course,
    quoted,
    secret_lines,
)

import democlass
from democlass.variants import (
    BUGGY,
    CORRECT,
    HOSTILE,
    INTRUDERS,
    ISOLATION_PAIRS,
    PART1_CHECKS,
    PART2_CHECKS,
    TRICKS,
    VARIANTS,
)
from gradekit import autograde, course, kernel, submissions
from gradekit.report import mistakes_named

NAMES = sorted(VARIANTS)


def lean_variants() -> frozenset[str]:
    """The buggy variants that change one notebook and are compared with no other student:
    they hand in that notebook only (the other would be the model answers again; the
    correct variants hand in both, so correct code meets many draws of hidden inputs)."""
    answers = submissions.model_answers(SOURCE)
    paired = {name for pair in ISOLATION_PAIRS for name in pair[:2]}
    paired |= {v.twin for v in TRICKS} | set(democlass.WRITTEN)
    lean = set()
    for variant in BUGGY:
        if variant.name in paired or variant.blank or variant.damage:
            continue
        filled = submissions.apply_changes(answers, variant.changes)
        (changed, *others) = democlass.changed_notebooks(filled, answers) or [None]
        if changed and not others and variant.fails <= set(NOTEBOOK_CHECKS[changed]):
            lean.add(variant.name)
    return frozenset(lean)


NOTEBOOK_CHECKS = {
    PART1: PART1_CHECKS,
    PART2: PART2_CHECKS,
}
LEAN = lean_variants()


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """Every variant handed in as one student, and the class autograded once by the kit's
    parallel autograde (nbgrader's converter on two workers); every test below reads it.

    A service on loopback offers the loopback-socket variant the code it asks for, and
    counts the connections; fingerprints of the course files are taken before grading."""
    folder = make_course(tmp_path_factory.mktemp("class") / "course")
    democlass.hand_in(folder, {name: name for name in NAMES}, lean=LEAN)
    with socketserver.TCPServer(("127.0.0.1", 0), SigmoidService) as service:
        port_file = folder / "submitted" / "loopback-socket" / ASSIGNMENT / "port.txt"
        port_file.write_text(str(service.server_address[1]))
        threading.Thread(target=service.serve_forever, daemon=True).start()
        before = fingerprints(folder)
        outcomes = autograde.autograde_class(folder, ASSIGNMENT, jobs=2)
        service.shutdown()
    return GradedClass(
        folder,
        course.cell_scores(folder, ASSIGNMENT),
        {o.student: o for o in outcomes},
        before,
        SigmoidService.connections,
    )


class GradedClass(NamedTuple):
    folder: Path
    scores: dict
    outcomes: dict
    fingerprints_before: dict
    loopback_connections: int


class SigmoidService(socketserver.BaseRequestHandler):
    """Answers every connection with the code of a correct sigmoid."""

    connections = 0

    def handle(self):
        SigmoidService.connections += 1
        self.request.sendall(b"def s(x):\n    return 1 / (1 + np.exp(-x))\n")


def fingerprints(folder: Path) -> dict[str, bytes]:
    """Contents of the files no student may change: config, source, release, submissions
    (the intake's renaming of an unreadable notebook to <name>.unreadable is not a change)."""
    paths = [folder / "nbgrader_config.py"]
    for part in ("source", "release", "submitted"):
        paths += (folder / part).rglob("*")
    return {
        str(p.relative_to(folder)).removesuffix(".unreadable"): p.read_bytes()
        for p in paths
        if p.is_file()
    }


@pytest.mark.parametrize("name", NAMES)
def test_each_grade_cell_scores_as_the_variant_predicts(graded_class, max_points, name):
    scores, outcomes = graded_class.scores, graded_class.outcomes
    assert not outcomes[name].error, f"nbgrader could not grade {name}:\n{outcomes[name].error}"
    expected = expected_points(max_points, {name: name})[name]
    handed_in = {p.name for p in (graded_class.folder / "submitted" / name / ASSIGNMENT).iterdir()}
    for notebook, checks in NOTEBOOK_CHECKS.items():
        if name in LEAN and notebook not in handed_in:  # not handed in: 0
            expected.update(dict.fromkeys(checks, 0.0))
    got = {cell: scores.get(name, {}).get(cell, 0.0) for cell in max_points}  # none: not graded
    wrong = {
        cell: (got.get(cell), expected[cell])
        for cell in expected
        if got.get(cell) != expected[cell]
    }
    assert wrong == {}, f"{name}: (got, expected) points per grade cell: {wrong}"


def total(scores: dict, name: str) -> float:
    return sum(scores.get(name, {}).values())


@pytest.mark.parametrize("trick", [v.name for v in TRICKS])
def test_no_trick_scores_more_than_its_honest_twin(graded_class, trick):
    twin = VARIANTS[trick].twin
    assert twin in VARIANTS, f"{trick} names no honest twin"
    scores = graded_class.scores
    assert total(scores, trick) <= total(scores, twin), (trick, scores.get(trick), scores.get(twin))


@pytest.mark.parametrize("with_, without, exercise", ISOLATION_PAIRS)
def test_a_bug_costs_only_its_own_exercise(graded_class, with_, without, exercise):
    """The same bug, handed in with and without the exercises that build on the buggy
    function: the same points everywhere but in the buggy exercise's own checks, visible
    checks included (at grading time they run with the other exercises lent)."""
    scores = graded_class.scores
    differ = {
        cell: (scores[with_][cell], scores[without][cell])
        for cell in scores[with_]
        if scores[with_][cell] != scores[without].get(cell) and not cell.startswith(exercise)
    }
    assert differ == {}


HIDDEN_FAILURES = {
    # variant, cell: what its error says (for hidden checks: the size of the error, never the
    # reference; for hostile code: what happened to it)
    (
        "sigmoid-sign",
        "test_s_values",
    ): "s on a 4x5 array: 20 of 20 values differ from the reference",
    (
        "backward-early-update",
        "test_backward_gradient",
    ): "likely mistake: W2 updated before the gradient of W1",
    ("backward-no-2-over-m", "test_backward_gradient"): "likely mistake: off by a constant factor",
    ("backward-ascent", "test_backward_gradient"): "likely mistake: the opposite sign",
    (
        "backward-stale-loss",
        "test_backward_refreshes_loss",
    ): "likely mistake: the loss not refreshed after the step",
    ("loss-slide-typo", "test_log_likelihood_values"): "likely mistake: the slides' typo",
    ("train-no-early-stop", "test_train_early_stopping"): "likely mistake: no early stopping",
    (
        "train-stop-inverted",
        "test_train_early_stopping",
    ): "likely mistake: the comparison with delta inverted",
    ("sigmoid-math-exp", "test_s_values"): "likely mistake: works on single numbers only",
    (
        "mse-sum",
        "test_mse_loss_example",
    ): "expected 1.0, got 2.0; likely mistake: off by a factor of 2",
    (
        "train-ignores-alpha",
        "test_train_early_stopping",
    ): "not at the first step whose loss changed by less than delta",
    ("init-no-loss", "test_init_shapes"): "has no attribute 'loss'",
    ("blank", "test_s_at_zero"): "s is not written yet: replace raise NotImplementedError()",
    ("blank", "test_train_display"): "is not written yet",
    ("segfault-in-forward", "test_forward_values"): "for this check died",
    ("kernel-exit", "logistic_functions"): "KernelDied: the kernel died while running",
    ("hang-forever", "s"): "CellTimeoutError",
    ("memory-bomb", "s"): "MemoryError",
    ("fork-loop", "s"): "BlockingIOError: [Errno 11] Resource temporarily unavailable",
    ("disk-fill", "s"): "OSError: [Errno",
    ("runs-source-solutions", "test_s_values"): "FileNotFoundError: no course folder in sight",
    ("loopback-socket", "test_s_values"): "Network is unreachable",
}


@pytest.mark.parametrize("name, cell", list(HIDDEN_FAILURES))
def test_failures_say_what_failed_without_the_answer(graded_class, name, cell):
    folder = graded_class.folder
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


@pytest.mark.parametrize("name", sorted(v.name for v in CORRECT + BUGGY))
def test_each_mistake_is_named_and_nothing_else(graded_class, name):
    """A buggy variant's failed checks name the likely mistakes it states, and no other; a
    correct one is never told of a mistake."""
    found = mistakes_named(graded_class.folder, ASSIGNMENT, name)
    expected = VARIANTS[name].diagnoses
    assert [m for m in expected if not any(f.startswith(m) for f in found)] == [], found
    assert [f for f in found if not any(f.startswith(m) for m in expected)] == []


# What a check's failure message never shows: the grader's proxies and modules, numpy's reprs
# of its own scalars (np.False_), a traceback; and what no error in a student's notebook shows
# (their own cells' tracebacks are theirs): the grader's names.
KIT_NAMES = r"\bRemote\b|\bInstance\b|gradekit|\bbridge\b|\breference\."
INTERNALS = re.compile(KIT_NAMES + r"|np\.(?:False_|True_|float64\(|int64\()|Traceback|File \"")


@pytest.mark.parametrize("name", sorted(v.name for v in CORRECT + BUGGY))
def test_messages_speak_of_the_students_code_only(graded_class, name):
    found = []
    for path in (graded_class.folder / "autograded" / name / ASSIGNMENT).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            check = cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
            for output in cell.get("outputs", []):
                text = "\n".join([output.get("evalue", ""), *output.get("traceback", [])])
                if output.output_type == "error" and re.search(
                    INTERNALS if check else KIT_NAMES, text
                ):
                    found.append(text)
    assert found == []


INTAKE_PROBLEMS = {
    "unreadable-part1": "part1_logistic_regression.ipynb: not a readable notebook",
    "empty-part2": "part2_shallow_neural_network.ipynb: not a readable notebook (Expecting value",
    "wrong-name": "part1.ipynb: not a notebook of this assignment",
    "no-notebook": "part1_logistic_regression.ipynb: missing",
}


@pytest.mark.parametrize("name", list(INTAKE_PROBLEMS))
def test_broken_files_are_reported_by_student_and_file(graded_class, name):
    outcomes = graded_class.outcomes
    assert any(INTAKE_PROBLEMS[name] in p for p in outcomes[name].problems), outcomes[name]
    assert all(f"/{name}/" in p for p in outcomes[name].problems)


def test_only_the_broken_submissions_have_problems(graded_class):
    outcomes = graded_class.outcomes
    assert {o.student for o in outcomes.values() if o.problems} == set(INTAKE_PROBLEMS) | LEAN
    for student in LEAN:  # one notebook handed in, the other reported missing
        (problem,) = outcomes[student].problems
        assert ".ipynb: missing" in problem, problem


def test_some_buggy_variants_hand_in_one_notebook():
    assert 50 < len(LEAN) < len(BUGGY)


def test_grading_is_sandboxed_here():
    assert kernel.sandbox_problem() is None, kernel.sandbox_problem()


def test_grading_kernels_are_reached_through_the_kits_client():
    """jupyter_client picks the client through client_factory; the kit's retries a refused
    connection every 5 ms instead of every 100 ms (a new kernel binds after the client
    connects)."""
    client = kernel.GradingKernelManager(kernel_name="python3").client()
    assert isinstance(client, kernel.GradingKernelClient)
    assert client.context.getsockopt(zmq.RECONNECT_IVL) == 5


def test_no_student_changed_the_course_files(graded_class):
    after = fingerprints(graded_class.folder)
    changed = [
        path
        for path, content in graded_class.fingerprints_before.items()
        if after.get(path) != content
    ]
    assert changed == []


def test_every_autograded_notebook_is_intact(graded_class):
    for path in (graded_class.folder / "autograded").glob(f"*/{ASSIGNMENT}/*.ipynb"):
        nbformat.validate(nbformat.read(path, as_version=4))


def test_intruders_are_flagged_for_review_and_honest_code_is_not(graded_class):
    outcomes = graded_class.outcomes
    flagged = {name for name, outcome in outcomes.items() if outcome.review}
    assert {v.name for v in INTRUDERS if v.name != "disk-fill"} <= flagged
    assert {"tamper-allclose", "tamper-builtins", "kernel-exit", "env-tricks"} <= flagged
    assert not flagged & {v.name for v in CORRECT}
    assert all(f"/{name}/" in cell for name in flagged for cell in outcomes[name].review)


def test_the_summary_names_every_budget_exceeded(graded_class):
    """Over-budget checks reach the instructor's summary, with the budget named; honest
    students have none."""
    outcomes = graded_class.outcomes
    over = {name: "\n".join(o.over_budget) for name, o in outcomes.items() if o.over_budget}
    assert "values" in over["floods-the-grader"]
    assert "time budget" in over["holds-its-checks"]
    assert "output was cut" in over["prints-one-huge-line"]
    assert not over.keys() & {v.name for v in CORRECT}
    text = autograde.summary(list(outcomes.values()), 1)
    assert "holds-its-checks: over budget: " in text


def test_code_to_review_is_flagged_where_the_formgrader_shows_it(graded_class):
    """The students of the review list, and only they, have a check flagged "needs manual
    grade" and the reason in a comment; the flag leaves every autograded score as it was."""
    outcomes = graded_class.outcomes
    flagged, commented = set(), {}
    with course.gradebook(graded_class.folder) as gb:
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.needs_manual_grade and grade.cell.cell_type == "code":
                        flagged.add(submission.student.id)
                        assert grade.score == grade.auto_score, (submission.student.id, grade.name)
                for comment in nb.comments:
                    if comment.auto_comment and "teacher" in comment.auto_comment:
                        commented[submission.student.id] = comment.auto_comment
    listed = {name for name, outcome in outcomes.items() if outcome.review and not outcome.error}
    assert flagged == listed == set(commented)
    assert "replaces numpy functions" in commented["tamper-allclose"]


def test_student_code_never_sees_the_hidden_checks(graded_class):
    """leaks-history and leaks-caller-source print what they find of the checks as they run
    (IPython's input history, the source of the cells on the call stack): the checks run
    outside their kernel, so neither the instructor's autograded notebooks nor the students'
    feedback show a hidden line in any output."""
    folder, hidden = graded_class.folder, secret_lines(regions=("HIDDEN TESTS",))
    course.nbgrader(folder, "generate_feedback", ASSIGNMENT, "--student=leaks-*", "--force")
    for student in ("leaks-history", "leaks-caller-source"):
        for graded in (folder / "autograded" / student / ASSIGNMENT).glob("*.ipynb"):
            cells = nbformat.read(graded, as_version=4).cells
            outputs = json.dumps([cell.get("outputs", []) for cell in cells])
            assert quoted(hidden, outputs.replace("\\n", "\n").replace('\\"', '"')) == []
        for page in (folder / "feedback" / student / ASSIGNMENT).glob("*.html"):
            assert quoted(hidden, html_text(page.read_text())) == [], (
                f"{page} quotes the hidden checks"
            )


def test_kernels_see_no_notebook_in_their_folder(graded_class):
    """The notebook being graded holds the hidden checks: its kernel's folder has none."""
    graded = (graded_class.folder / "autograded" / "leaks-notebook-file" / ASSIGNMENT) / PART1
    outputs = [
        output.get("text", "")
        for cell in nbformat.read(graded, as_version=4).cells
        for output in cell.get("outputs", [])
    ]
    assert "notebooks here: []\n" in outputs


def test_no_kernel_reached_the_loopback_service(graded_class):
    assert graded_class.loopback_connections == 0


def test_the_table_has_enough_real_variants():
    assert len(CORRECT) >= 10 and len(BUGGY) >= 30
    assert all(not v.fails for v in CORRECT)
    assert all(v.fails for v in BUGGY)
    assert len(TRICKS) >= 12 and all(v.twin for v in TRICKS) and len(ISOLATION_PAIRS) >= 8
    everyone = CORRECT + BUGGY + HOSTILE + INTRUDERS + TRICKS
    assert len(VARIANTS) == len(everyone), "variant names must be unique"


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


def test_private_folders_of_killed_graders_are_removed(tmp_path):
    gone = subprocess.Popen(["true"])  # a process that has ended: its pid is free
    gone.wait()
    abandoned = Path(tempfile.gettempdir()) / f"{kernel.FOLDER_PREFIX}{gone.pid}-test"
    abandoned.mkdir()
    (abandoned / "kernel.json").write_text("{}")
    mine = Path(tempfile.mkdtemp(prefix=f"{kernel.FOLDER_PREFIX}{os.getpid()}-"))
    kernel.remove_abandoned_folders()
    assert not abandoned.exists()
    assert mine.exists()
    mine.rmdir()
