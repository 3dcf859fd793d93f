"""The README's main job: the whole instructor pipeline on the bundled demo class."""

import csv
import shutil

from conftest import ASSIGNMENT, REPO

from gradekit import demo
from gradekit.variants import VARIANTS


def test_demo_grades_exports_and_gives_feedback_to_the_whole_class(tmp_path, max_points):
    folder = tmp_path / "course"
    folder.mkdir()
    shutil.copytree(REPO / "source", folder / "source")
    shutil.copy(REPO / "nbgrader_config.py", folder)

    table = demo.run_demo(folder)

    rows, _ = demo.score_table(folder)
    totals = {row["student"]: row["total"] for row in rows}
    full = sum(max_points.values())
    expected = {
        student: full - sum(max_points[cell] for cell in VARIANTS[name].fails)
        for student, name in demo.DEMO_CLASS.items()
    }
    expected["mo"] = 0.0  # on the roster, handed nothing in
    assert totals == expected
    assert "Dupont, Jr." in table and "total /50" in table
    for student in demo.DEMO_CLASS:
        assert (
            folder / "feedback" / student / ASSIGNMENT / "part1_logistic_regression.html"
        ).exists()
    with open(folder / "exports" / "grades.csv", newline="", encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert {row["student_id"] for row in exported} == set(totals)
