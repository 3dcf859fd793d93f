"""Extensions: a student's own due date moves their late penalty and nobody else's, in the
gradebook and the exports; withdrawing it regrades that student alone; bad input is named."""

import csv

import pytest
from conftest import ASSIGNMENT, Tables, make_course, run_gradekit

import democlass
from gradekit import course

# Everyone hands in the model answers at democlass.SUBMITTED_AT, 2026-09-14 09:00 UTC: two
# days after the due date, so 20% of the score is lost without an extension.
DUE = "2026-09-12 09:00:00 UTC"
EXTENDED = {  # student: their own due date, and the penalty (of 50 points) it leaves
    "ext-full": ("2026-09-15 09:00 UTC", 0.0),
    "ext-part": ("2026-09-13 12:00 +03:00", 5.0),  # 09:00 UTC: one day late, 10%
}
STUDENTS = [*EXTENDED, "no-ext"]


def penalties(folder) -> dict[str, float]:
    """Each student's late penalty in the gradebook, over both notebooks."""
    with course.gradebook(folder) as gb:
        return {
            s.student.id: sum(nb.late_submission_penalty or 0 for nb in s.notebooks)
            for s in gb.find_assignment(ASSIGNMENT).submissions
        }


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """A class handed in two days late, two students with extensions, graded."""
    folder = make_course(tmp_path_factory.mktemp("late") / "course")
    democlass.hand_in(folder, dict.fromkeys(STUDENTS, "model"))
    course.nbgrader(folder, "db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}")
    for student in STUDENTS:
        course.nbgrader(folder, "db", "student", "add", student)
    for student, (until, _) in EXTENDED.items():
        run_gradekit(folder, "extend", ASSIGNMENT, student, "--until", until, "--reason", "illness")
    run_gradekit(folder, "autograde", ASSIGNMENT)
    return folder


def test_an_extension_moves_that_students_penalty_only(extended):
    expected = {student: penalty for student, (_, penalty) in EXTENDED.items()}
    assert penalties(extended) == {**expected, "no-ext": 10.0}


def test_the_exports_subtract_the_penalty_each_student_has(extended):
    run_gradekit(extended, "export", "csv", "--to", str(extended / "grades.csv"))
    with open(extended / "grades.csv", newline="", encoding="utf-8") as handle:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert scores == {"ext-full": 50.0, "ext-part": 45.0, "no-ext": 40.0}


def test_extensions_are_listed_with_their_reasons(extended):
    listed = run_gradekit(extended, "extend", ASSIGNMENT).stdout
    assert "ext-full: due 2026-09-15 09:00 UTC (illness)" in listed
    assert "ext-part: due 2026-09-13 09:00 UTC (illness)" in listed
    assert "no-ext" not in listed


def test_the_class_report_lists_extensions_and_penalties(extended):
    run_gradekit(extended, "report", ASSIGNMENT)
    tables = Tables((extended / "reports" / f"{ASSIGNMENT}.html").read_text("utf-8")).tables
    assert tables["extensions"] == [
        ["ext-full", "2026-09-15 09:00 UTC", "illness"],
        ["ext-part", "2026-09-13 09:00 UTC", "illness"],
    ]
    assert tables["late"] == [["ext-part", "5"], ["no-ext", "10"]]


def test_a_withdrawn_extension_regrades_that_student_alone(extended):
    run_gradekit(extended, "extend", ASSIGNMENT, "ext-full", "--remove")
    output = run_gradekit(extended, "autograde", ASSIGNMENT).stdout
    assert f"Graded 1 of {len(STUDENTS)} " in output, output
    assert penalties(extended) == {"ext-full": 10.0, "ext-part": 5.0, "no-ext": 10.0}


@pytest.mark.parametrize(
    "args, says",
    [
        (
            ["no-ext", "--until", "next tuesday-ish"],
            "extensions.csv: not a date: 'next tuesday-ish'",
        ),
        (["nobody", "--until", "2026-09-15 09:00 UTC"], "no student 'nobody' in the gradebook"),
        (["no-ext"], "give either --until DATE or --remove"),
    ],
)
def test_bad_extensions_are_refused_and_named(extended, args, says):
    before = (extended / "extensions.csv").read_bytes()
    result = run_gradekit(extended, "extend", ASSIGNMENT, *args, check=False)
    assert result.returncode != 0 and says in result.stderr, result.stderr
    assert (extended / "extensions.csv").read_bytes() == before
