"""LMS exports: each target's file, written by the real `nbgrader export`, parsed back."""

import csv
import re

import pytest

from gradekit import cli, course
from gradekit.exporters import EXPORTERS

STUDENTS = {  # id: (first name, last name, email)
    "dupont": ("Marie-Hélène", "Dupont, Jr.", "dupont@example.edu"),
    "obrien": ("Erik", 'O\'Brien "Rik"', "erik@example.edu"),
    "chen": ("晨", "陈", "chen@example.edu"),
    "late": ("Lena", "Late", "late@example.edu"),
    "absent": ("Abe", "Absent", "abe@example.edu"),
    "ghost": ("Gus", "Ghost", "gus@example.edu"),  # in the gradebook, not in the roster
}
ROSTER = [
    ["id", "first_name", "last_name", "email", "lms_user_id", "sis_user_id", "username", "section",
     "org_defined_id"],
    ["dupont", "Marie-Hélène", "Dupont, Jr.", "dupont@example.edu", "11", "S11", "mdupont", "T1", "OD11"],
    ["obrien", "Erik", 'O\'Brien "Rik"', "erik@example.edu", "12", "S12", "eobrien", "T1", "OD12"],
    ["chen", "晨", "陈", "chen@example.edu", "13", "S13", "cchen", "T2", "OD13"],
    ["late", "Lena", "Late", "late@example.edu", "14", "S14", "llate", "T2", "OD14"],
    ["absent", "Abe", "Absent", "abe@example.edu", "15", "S15", "aabsent", "T2", "OD15"],
    ["newbie", "Nia", "Newbie", "nia@example.edu", "16", "S16", "nnewbie", "T2", "OD16"],
]  # fmt: skip
# (a1 cell c1, a1 cell c2, a2 cell c3) auto scores; a1 is worth 10 points, a2 5.
SCORES = {
    "dupont": (6, 4, 5),
    "obrien": (3, 0, 5),
    "chen": (6, 0, 0),
    "late": (6, 2, 1),
    "ghost": (1, 1, 1),
}
CONFIG = """
c = get_config()
c.LmsExport.roster = "roster.csv"
c.LmsExport.titles = {"a1": "Assignment One"}
c.LmsExport.column_ids = {"a1": "111"}
c.LmsExport.points = {"a1": 20}
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A gradebook with two assignments, odd names, a late and a missing submission,
    exported once by every exporter through `nbgrader export`."""
    folder = tmp_path_factory.mktemp("lms")
    (folder / "nbgrader_config.py").write_text(CONFIG)
    with open(folder / "roster.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(ROSTER)
    with course.gradebook(folder) as gb:
        gb.add_assignment("a1", duedate="2026-09-01 09:00:00")
        gb.add_assignment("a2", duedate="2026-09-08 09:00:00")
        gb.add_notebook("nb1", "a1")
        gb.add_notebook("nb2", "a2")
        gb.add_grade_cell("c1", "nb1", "a1", max_score=6, cell_type="code")
        gb.add_grade_cell("c2", "nb1", "a1", max_score=4, cell_type="code")
        gb.add_grade_cell("c3", "nb2", "a2", max_score=5, cell_type="code")
        for student, (first, last, email) in STUDENTS.items():
            gb.add_student(student, first_name=first, last_name=last, email=email)
        for student, scores in SCORES.items():
            for assignment, cells in (("a1", ("c1", "c2")), ("a2", ("c3",))):
                gb.add_submission(assignment, student, timestamp="2026-09-01 08:00:00")
                for cell in cells:
                    notebook = "nb1" if assignment == "a1" else "nb2"
                    grade = gb.find_grade(cell, notebook, assignment, student)
                    grade.auto_score = scores[int(cell[1]) - 1]
        gb.find_submission_notebook("nb1", "a1", "late").late_submission_penalty = 2.0
        gb.db.commit()
    files = {}
    for target, exporter in EXPORTERS.items():
        files[target] = folder / exporter.filename
        cli.main(["export", target, "--course", str(folder), "--to", str(files[target])])
    return folder, files


def read(path, delimiter=","):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def test_canvas_gradebook_csv(exported):
    _, files = exported
    header, points, *rows = read(files["canvas"])
    assert header == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Assignment One (111)",
        "a2",
    ]
    assert points == ["Points Possible", "", "", "", "", "20", "5"]
    by_id = {row[1]: row for row in rows}
    assert by_id["11"] == ["Dupont, Jr., Marie-Hélène", "11", "S11", "mdupont", "T1", "20", "5"]
    assert by_id["12"][0] == 'O\'Brien "Rik", Erik'
    assert by_id["14"][5] == "12"  # (6 + 2 - 2 late penalty) / 10 * 20
    assert by_id["15"][5:] == ["0", "0"]  # absent: on the roster, nothing handed in
    assert by_id["16"][0] == "Newbie, Nia"  # on the roster only: still exported
    assert any(row[0] == "Ghost, Gus" for row in rows)  # in the gradebook only: still exported
    assert all(len(row) == len(header) for row in rows)


def test_moodle_csv_with_feedback(exported):
    _, files = exported
    header, *rows = read(files["moodle"])
    assert header == [
        "Email address",
        "Assignment One",
        "Feedback: Assignment One",
        "a2",
        "Feedback: a2",
    ]
    by_email = {row[0]: row for row in rows}
    assert by_email["dupont@example.edu"][1:3] == ["20", "All checks passed."]
    assert by_email["chen@example.edu"][2] == "1 of 2 checks failed: c2"
    assert by_email["abe@example.edu"][1:] == ["0", "No submission.", "0", "No submission."]
    assert all(len(row) == len(header) for row in rows)


def test_moodle_blank_for_missing_and_username_identity(exported):
    folder, _ = exported
    path = folder / "moodle_blank.csv"
    cli.main(["export", "moodle", "--course", str(folder), "--to", str(path),
              "--LmsExport.blank_for_missing=True", "--MoodleExport.identity=username"])  # fmt: skip
    header, *rows = read(path)
    assert header[0] == "Username"
    assert {row[0]: row for row in rows}["aabsent"][1] == "-"


def test_blackboard_tab_separated_all_quoted(exported):
    _, files = exported
    text = files["blackboard"].read_text(encoding="utf-8")
    assert all(re.fullmatch(r'("[^\t]*"\t)*"[^\t]*"', line) for line in text.splitlines())
    header, *rows = read(files["blackboard"], delimiter="\t")
    assert header[:3] == ["Last Name", "First Name", "Username"]
    assert header[3] == "Assignment One [Total Pts: 20 Score] |111"
    assert header[4] == "a2 [Total Pts: 5 Score]"
    assert ["Dupont, Jr.", "Marie-Hélène", "mdupont", "20", "5"] in rows


def test_brightspace_end_of_line_indicator(exported):
    _, files = exported
    header, *rows = read(files["brightspace"])
    assert header == ["OrgDefinedId", "Username", "Assignment One Points Grade", "a2 Points Grade",
                      "End-of-Line Indicator"]  # fmt: skip
    assert all(row[-1] == "#" for row in rows)
    assert ["OD13", "cchen", "12", "0", "#"] in rows
    assert all(float(row[2]) <= 20 and float(row[3]) <= 5 for row in rows)


def test_detailed_csv_has_every_grade_cell(exported):
    _, files = exported
    header, *rows = read(files["detailed"])
    assert header == ["student_id", "last_name", "first_name", "a1:c1", "a1:c2", "a1:total",
                      "a2:c3", "a2:total"]  # fmt: skip
    assert ["late", "Late", "Lena", "6", "2", "6", "1", "1"] in rows


def test_plain_csv_is_nbgraders_columns_properly_quoted(exported):
    _, files = exported
    header, *rows = read(files["csv"])
    assert header[3] == "student_id" and len(header) == 11
    assert all(len(row) == 11 for row in rows)
    late_a1 = next(r for r in rows if r[0] == "a1" and r[3] == "late")
    assert late_a1[7:] == ["8", "2", "6", "10"]  # raw score, late penalty, score, max score
    assert any(r[4] == "Dupont, Jr." for r in rows)


def test_unreadable_roster_names_the_file(exported, tmp_path):
    folder, _ = exported
    bad = tmp_path / "bad_roster.csv"
    bad.write_text("student,name\nx,y\n")
    with pytest.raises(RuntimeError, match="bad_roster.csv: no 'id' column"):
        cli.main(["export", "canvas", "--course", str(folder), "--to", str(tmp_path / "x.csv"),
                  f"--LmsExport.roster={bad}"])  # fmt: skip
