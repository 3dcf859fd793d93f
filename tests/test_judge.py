"""Verdicts outside the kernel: grading-time inputs come from the course secret (a regrade
draws the same, another student others), and a grading kernel reaches neither the kit nor the
reference math.

Two students hand in the same correct notebooks, whose `s` keeps every input it is given and
whose next answer cell prints a digest of them; a third prints what a kernel can see of
the kit. The class is graded, then regraded.
"""

import json

import nbformat
import pytest
from conftest import ASSIGNMENT, SOURCE, make_course

from gradekit import autograde, course, submissions
from gradekit.secret import course_secret, seed_for

LOGGING_S = (
    "import hashlib\n\n_seen = []\n\n\ndef s(x):\n"
    "    _seen.append(repr(np.asarray(x).tolist()))\n"
    "    return 1 / (1 + np.exp(-x))"
)
PRINTS_DIGEST = (
    "def l(x):\n    return np.log(x)\n\n\n"
    "print('inputs seen by s:', hashlib.sha256(''.join(_seen).encode()).hexdigest())"
)
LOOKS_AROUND = (
    "def s(x):\n    return 1 / (1 + np.exp(-x))\n\n\n"
    "import importlib.util\nimport os\n"
    "print('kit:', importlib.util.find_spec('gradekit'))\n"
    "print('reference:', importlib.util.find_spec('reference'))\n"
    "print('secrets:', os.environ.get('GRADEKIT_SECRET_FILE'),"
    " os.path.exists(os.path.expanduser('~/.local/share/gradekit')))"
)
CLASS = {
    "echo-a": {"s": LOGGING_S, "l": PRINTS_DIGEST},
    "echo-b": {"s": LOGGING_S, "l": PRINTS_DIGEST},
    "looks-around": {"s": LOOKS_AROUND},
}


def outputs(folder, student):
    """Every output of the student's autograded notebooks, as JSON, by notebook and cell."""
    return {
        (path.name, cell.id): json.dumps(cell.outputs, sort_keys=True)
        for path in sorted((folder / "autograded" / student / ASSIGNMENT).glob("*.ipynb"))
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code"
    }


def printed(folder, student, prefix):
    return [
        line
        for path in (folder / "autograded" / student / ASSIGNMENT).glob("*.ipynb")
        for cell in nbformat.read(path, as_version=4).cells
        for output in cell.get("outputs", [])
        for line in output.get("text", "").splitlines()
        if line.startswith(prefix)
    ]


@pytest.fixture(scope="module")
def graded_twice(tmp_path_factory):
    folder = make_course(tmp_path_factory.mktemp("judge") / "course")
    release, answers = folder / "release" / ASSIGNMENT, submissions.model_answers(SOURCE)
    for student, changes in CLASS.items():
        target = folder / "submitted" / student / ASSIGNMENT
        submissions.write_submission(release, target, submissions.apply_changes(answers, changes))
        submissions.write_timestamp(target, "2026-09-14 09:00:00.000000 UTC")
    autograde.autograde_class(folder, ASSIGNMENT, jobs=2)
    first = {s: outputs(folder, s) for s in CLASS}, course.cell_scores(folder, ASSIGNMENT)
    autograde.autograde_class(folder, ASSIGNMENT, jobs=2, force=True)
    second = {s: outputs(folder, s) for s in CLASS}, course.cell_scores(folder, ASSIGNMENT)
    return folder, first, second


def test_every_student_scores_full_marks(graded_twice):
    _, (_, scores), _ = graded_twice
    assert {student: sum(cells.values()) for student, cells in scores.items()} == dict.fromkeys(
        CLASS, 50.0
    )


def test_the_notebooks_own_kernel_never_sees_a_checks_input(graded_twice):
    """s keeps every input it is given, and the next cell prints a digest of them: every
    check runs in a copy of the kernel, so the notebook's own process saw only the
    notebook's own calls, the same for both students."""
    folder, _, _ = graded_twice
    a, b = printed(folder, "echo-a", "inputs seen"), printed(folder, "echo-b", "inputs seen")
    assert len(a) == 1 and a == b, (a, b)


def test_two_students_get_different_inputs():
    secret = course_secret("dl-w1s3")
    parts = ("part1_logistic_regression", "0" * 64, "test_s_values")
    assert seed_for(secret, "echo-a", *parts) != seed_for(secret, "echo-b", *parts)


def test_a_regrade_gives_the_same_inputs_outputs_and_points(graded_twice):
    _, (outputs_before, scores_before), (outputs_after, scores_after) = graded_twice
    assert scores_after == scores_before
    assert outputs_after == outputs_before


def test_a_grading_kernel_reaches_neither_the_kit_nor_the_reference(graded_twice):
    folder, _, _ = graded_twice
    assert printed(folder, "looks-around", "kit:") == ["kit: None"]
    assert printed(folder, "looks-around", "reference:") == ["reference: None"]
    assert printed(folder, "looks-around", "secrets:") == ["secrets: None False"]
