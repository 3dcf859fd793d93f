"""One engine, any assignment: a second, tiny assignment, written the way the documentation
says (its own notebook and reference math, the kit's check vocabulary linked in), graded by
the same engine as W1-S3, with nothing of W1-S3 in its course."""

import os
import shutil

import nbformat
import pytest
from conftest import REPO, html_text

from gradekit import autograde, course, submissions

ASSIGNMENT = "week2"
NOTEBOOK = "doubling.ipynb"
# The assignment's files, shown in the documentation (docs/checks.md) as they are tested here:
# its reference math, and one file per notebook cell, named for the cell's grade id.
EXAMPLE = REPO / "docs" / "examples" / ASSIGNMENT
ANSWERS = {  # student: (their double, points expected of 1 + 2)
    "vectorised": ("def double(x):\n    return 2 * x", 3),
    "numpy-call": ("import numpy as np\n\ndef double(x):\n    return np.multiply(x, 2)", 3),
    "off-by-one": ("def double(x):\n    return 2 * x + 1", 0),
    "hard-coded": ("def double(x):\n    return 6", 1),
    "scalar-only": ("import math\n\ndef double(x):\n    return math.fsum([x, x])", 1),
}


def cell(kind, source, grade_id, points=0):
    """A notebook cell with nbgrader's metadata: an answer, or a check worth `points`."""
    make = nbformat.v4.new_code_cell if kind != "text" else nbformat.v4.new_markdown_cell
    new = make(source, id=grade_id)
    if kind in ("answer", "check"):
        new.metadata.nbgrader = {
            "grade": kind == "check",
            "solution": kind == "answer",
            "locked": kind == "check",
            "grade_id": grade_id,
            "schema_version": 3,
            **({"points": points} if kind == "check" else {}),
        }
    return new


def example_cell(grade_id):
    """The source of one of the example's cells."""
    return (EXAMPLE / f"{grade_id}.py").read_text().strip()


@pytest.fixture(scope="module")
def week2(tmp_path_factory):
    """A course holding only week 2, released, handed in by five students and autograded."""
    folder = tmp_path_factory.mktemp("week2") / "course"
    source = folder / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", folder)
    os.symlink(REPO / "gradekit" / "checks.py", source / "checks.py")
    shutil.copy(EXAMPLE / "reference.py", source)
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        cell("text", "# Week 2: doubling\n\nWrite `double(x)`, for a number or an array.", "intro"),
        cell("answer", example_cell("double"), "double"),
        cell("check", example_cell("test_double_example"), "test_double_example", points=1),
        cell("check", example_cell("test_double_on_arrays"), "test_double_on_arrays", points=2),
    ]
    nbformat.write(nb, source / NOTEBOOK)
    course.nbgrader(folder, "generate_assignment", ASSIGNMENT, "--force")
    release = folder / "release" / ASSIGNMENT
    for student, (answer, _) in ANSWERS.items():
        submissions.write_submission(
            release, folder / "submitted" / student / ASSIGNMENT, {NOTEBOOK: {"double": answer}}
        )
    outcomes = autograde.autograde_class(folder, ASSIGNMENT, jobs=2)
    course.nbgrader(folder, "generate_feedback", ASSIGNMENT, "--force")
    return folder, {o.student: o for o in outcomes}


def test_the_release_carries_the_kit_vocabulary_as_a_file(week2):
    folder, _ = week2
    released = folder / "release" / ASSIGNMENT / "checks.py"
    assert not released.is_symlink()
    assert released.read_bytes() == (REPO / "gradekit" / "checks.py").read_bytes()
    assert not (folder / "release" / ASSIGNMENT / "reference.py").exists()


def test_the_engine_grades_week2_as_its_checks_say(week2):
    folder, outcomes = week2
    assert all(o.graded for o in outcomes.values()), {s: o.error for s, o in outcomes.items()}
    scores = course.cell_scores(folder, ASSIGNMENT)
    totals = {student: sum(cells.values()) for student, cells in scores.items()}
    assert totals == {student: points for student, (_, points) in ANSWERS.items()}


def test_week2_feedback_explains_without_the_hidden_check(week2):
    folder, _ = week2
    page = folder / "feedback" / "off-by-one" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")
    text = html_text(page.read_text(encoding="utf-8"))
    assert "double on a 4x5 array" in text and "values differ" in text
    assert "rng.normal(size=(4, 5))" not in text
