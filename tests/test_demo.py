"""The README's main job: the whole instructor pipeline on the bundled demo class."""

import csv
import shutil

from conftest import ASSIGNMENT, REPO, expected_points, html_text, quoted, secret_lines

from gradekit import demo


def test_demo_grades_exports_and_gives_feedback_to_the_whole_class(tmp_path, max_points):
    course = tmp_path / "course"  # a course with a gradebook of its own: the demo leaves it be
    course.mkdir()
    shutil.copytree(REPO / "source", course / "source")
    shutil.copy(REPO / "nbgrader_config.py", course)
    (course / "gradebook.db").write_bytes(b"the course's own gradebook")
    before = {p: p.read_bytes() for p in course.rglob("*") if p.is_file()}
    folder = course / ".gradekit" / "demo"

    table = demo.run_demo(course, folder)

    after = {
        p: p.read_bytes() for p in course.rglob("*") if p.is_file() and folder not in p.parents
    }
    assert after == before

    rows, _ = demo.score_table(folder)
    totals = {row["student"]: row["total"] for row in rows}
    expected = {
        student: sum(points.values())
        for student, points in expected_points(max_points, demo.DEMO_CLASS).items()
    }
    expected["mo"] = 0.0  # on the roster, handed nothing in
    assert totals == expected
    assert "Dupont, Jr." in table and "total /50" in table
    hidden_code = secret_lines(regions=("HIDDEN TESTS",))
    for student in demo.DEMO_CLASS:
        for page in ("part1_logistic_regression.html", "part2_shallow_neural_network.html"):
            text = html_text((folder / "feedback" / student / ASSIGNMENT / page).read_text())
            leaked = quoted(hidden_code, text)
            assert leaked == [], f"feedback of {student}, {page} shows hidden checks: {leaked[:3]}"
    # ivan's s returns 0.5 and his notebook patches np.allclose: the checks, outside his
    # kernel, say what is wrong with s
    ivan = folder / "feedback" / "ivan" / ASSIGNMENT / "part1_logistic_regression.html"
    assert "s on a 4x5 array: expected shape (4, 5), got ()" in html_text(ivan.read_text())
    with open(folder / "exports" / "grades.csv", newline="", encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert {row["student_id"] for row in exported} == set(totals)
