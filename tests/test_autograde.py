"""The kit's parallel autograde gives exactly the grades and exports of plain nbgrader."""

import shutil

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
