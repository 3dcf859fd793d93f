"""The kit's parallel autograde gives exactly the grades and exports of plain nbgrader."""

import shutil
import subprocess
import sys

from conftest import ASSIGNMENT, differences, make_course

import democlass
from gradekit import autograde, course, demo

CLASS = [
    "model",
    "blank",
    "sigmoid-sign",
    "segfault-in-forward",
    "emptied-checks",
    "train-no-return",
]


def test_parallel_autograde_matches_serial_nbgrader(tmp_path):
    serial = make_course(tmp_path / "serial")
    democlass.hand_in(serial, {name: name for name in CLASS})
    parallel = tmp_path / "parallel"
    shutil.copytree(serial, parallel, ignore=shutil.ignore_patterns("gradebook.db"))
    course.nbgrader(parallel, "generate_assignment", ASSIGNMENT, "--force")

    course.nbgrader(serial, "autograde", ASSIGNMENT, "--force")
    outcomes = autograde.autograde_class(parallel, ASSIGNMENT, jobs=2)

    assert all(o.graded and not o.error for o in outcomes)
    assert not differences(
        course.cell_scores(parallel, ASSIGNMENT), course.cell_scores(serial, ASSIGNMENT)
    )
    exports = {}
    for folder in (serial, parallel):
        demo.export_all(folder, folder / "exports", democlass.ROSTER, democlass.COLUMN_IDS)
        exports[folder] = {p.name: p.read_text() for p in (folder / "exports").iterdir()}
    assert exports[serial] == exports[parallel]


SHARED_ENGINES = """
import sys
from nbgrader.api import Gradebook
from gradekit import course

first, second = (f"sqlite:///{folder}/gradebook.db" for folder in sys.argv[1:])
course.share_database_engines()
course.share_database_engines()  # a second call changes nothing
with Gradebook(first) as book:
    book.add_student("ada")
    engine = book.engine
with Gradebook(first) as book:  # closed and opened again: the same engine, still working
    assert book.engine is engine, "a new engine for the same gradebook"
    assert [s.id for s in book.students] == ["ada"], "the reopened gradebook lost a student"
with Gradebook(second) as book:
    assert book.engine is not engine, "another gradebook's engine"
    assert book.students == [], "the second gradebook sees the first one's students"
print("shared")
"""


def test_a_worker_shares_one_database_engine_per_gradebook(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", SHARED_ENGINES, str(tmp_path / "a"), str(tmp_path / "b")],
        capture_output=True,
        text=True,
        env=course.environment(),
    )
    assert result.stdout.strip() == "shared", result.stderr[-2000:]
