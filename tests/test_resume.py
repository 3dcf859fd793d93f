"""`gradekit autograde` resumes: killed mid-class, a re-run grades only what is missing.

One class of eight is graded by the CLI, killed (SIGKILL to its whole process group) once
two students are done, and graded again; the later tests regrade one student at a time.
"""

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from conftest import (
    ASSIGNMENT,
    GRADEKIT,
    REPO,
    expected_points,
    make_course,
    run_gradekit,
    warning_lines,
)

import democlass
from gradekit import autograde, course

CLASS = {
    "st1": "model",
    "st2": "sigmoid-exp-over",
    "st3": "np-dot",
    "st4": "sigmoid-sign",
    "st5": "train-no-return",
    "st6": "blank",
    "st7": "mse-sum",
    "st8": "loops-part1",
}


def autograde_command(folder: Path, *options: str) -> list[str]:
    return [GRADEKIT, "autograde", ASSIGNMENT, "--course", str(folder), *options]


def run_autograde(folder: Path, *options: str) -> str:
    """Run `gradekit autograde` to the end; what it printed, stdout then stderr."""
    run = run_gradekit(folder, "autograde", ASSIGNMENT, *options)
    return run.stdout + run.stderr


def graded_files(folder: Path) -> dict[str, dict[str, int]]:
    """The modification times of every autograded notebook, by student."""
    return {
        student: {
            path.name: path.stat().st_mtime_ns
            for path in (folder / "autograded" / student / ASSIGNMENT).glob("*.ipynb")
        }
        for student in CLASS
    }


def done(folder: Path) -> set[str]:
    """The students the kit recorded as fully graded."""
    return {path.stem for path in (folder / ".gradekit" / "graded" / ASSIGNMENT).glob("*.json")}


def half_graded(folder: Path) -> set[str]:
    """The students with some notebooks in autograded/ but not recorded as graded."""
    return {s for s, files in graded_files(folder).items() if files} - done(folder)


def skipped_in(output: str) -> set[str]:
    match = re.search(r"^Skipped \d+ already graded.*: (.*)$", output, re.MULTILINE)
    return set(match.group(1).split(", ")) if match else set()


def expected_scores(folder: Path, students: dict[str, str]) -> dict:
    """The points of every grade cell each student's variant must score."""
    return expected_points(course.max_scores(folder, ASSIGNMENT), students)


def gradebook_rows(folder: Path) -> tuple[str, list[tuple], list[tuple]]:
    """sqlite's integrity check, and submissions and grades that appear more than once."""
    with sqlite3.connect(folder / "gradebook.db") as db:
        (integrity,) = db.execute("PRAGMA integrity_check").fetchone()
        submissions = db.execute(
            "SELECT student_id FROM submitted_assignment GROUP BY student_id HAVING count(*) > 1"
        ).fetchall()
        grades = db.execute(
            "SELECT cell_id, notebook_id FROM grade GROUP BY cell_id, notebook_id"
            " HAVING count(*) > 1"
        ).fetchall()
    db.close()
    return integrity, submissions, grades


@pytest.fixture(scope="module")
def crashed_and_resumed(tmp_path_factory):
    """The class, graded by a `gradekit autograde` killed once two students are done and
    another is half done (part 1 graded), then re-run: what was done at the kill, the files
    then, and the re-run's output."""
    folder = make_course(tmp_path_factory.mktemp("resume") / "course")
    democlass.hand_in(folder, CLASS)
    log = open(folder / "killed-run.log", "w")
    process = subprocess.Popen(
        autograde_command(folder, "--jobs", "2"),
        env=course.environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the workers die with it
    )
    deadline = time.monotonic() + 180
    while process.poll() is None and time.monotonic() < deadline:
        if len(done(folder)) >= 2 and half_graded(folder):
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    log.close()
    assert process.returncode == -signal.SIGKILL, (folder / "killed-run.log").read_text()
    before = {
        "done": done(folder),
        "half": half_graded(folder),
        "files": graded_files(folder),
        "gradebook": gradebook_rows(folder),
    }
    output = run_autograde(folder, "--jobs", "2")
    return folder, before, output


def test_a_killed_run_resumes_with_exactly_the_students_left(crashed_and_resumed):
    folder, before, output = crashed_and_resumed
    assert 2 <= len(before["done"]) < len(CLASS) and before["half"]
    assert before["gradebook"] == ("ok", [], [])  # consistent right after the kill

    assert skipped_in(output) == before["done"]
    assert not warning_lines(output), output
    assert f"Graded {len(CLASS) - len(before['done'])} of {len(CLASS)} " in output
    after = graded_files(folder)
    for student in before["done"]:
        assert after[student] == before["files"][student], f"{student} was graded again"
    for student in before["half"]:
        assert len(after[student]) == 2, f"{student} was left half graded"
        for name, mtime in before["files"][student].items():
            assert after[student][name] != mtime, f"{student}'s {name} was not graded again"
    assert course.cell_scores(folder, ASSIGNMENT) == expected_scores(folder, CLASS)
    assert gradebook_rows(folder) == ("ok", [], [])
    assert done(folder) == set(CLASS)


def test_a_changed_submission_is_graded_again_and_only_it(crashed_and_resumed):
    folder, _, _ = crashed_and_resumed
    files = graded_files(folder)
    democlass.hand_in(folder, {"st6": "model"})  # st6 hands in again, complete

    output = run_autograde(folder)

    assert "Graded 1 of 8 " in output and skipped_in(output) == set(CLASS) - {"st6"}
    after = graded_files(folder)
    assert [s for s in CLASS if after[s] != files[s]] == ["st6"]
    now = {**CLASS, "st6": "model"}
    assert course.cell_scores(folder, ASSIGNMENT) == expected_scores(folder, now)


def test_student_option_regrades_that_student_even_unchanged(crashed_and_resumed):
    folder, _, _ = crashed_and_resumed
    files = graded_files(folder)
    scores = course.cell_scores(folder, ASSIGNMENT)

    output = run_autograde(folder, "--student", "st4")

    assert "Graded 1 of 1 " in output
    after = graded_files(folder)
    assert [s for s in CLASS if after[s] != files[s]] == ["st4"]
    assert course.cell_scores(folder, ASSIGNMENT) == scores
    assert gradebook_rows(folder) == ("ok", [], [])


def test_a_regrade_starts_with_the_longest_last_time(crashed_and_resumed):
    folder, _, _ = crashed_and_resumed
    students = ["st1", "st3", "st5", "st7"]
    recorded = {s: autograde.last_seconds(folder, ASSIGNMENT, s) for s in students}
    assert all(0 < seconds < 120 for seconds in recorded.values()), recorded
    marker = autograde.marker_path(folder, ASSIGNMENT, "st5")
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "seconds": 1000}))
    autograde.marker_path(folder, ASSIGNMENT, "st7").unlink()  # never graded, as far as known
    order = []
    autograde.autograde_class(
        folder, ASSIGNMENT, students, jobs=1, on_result=lambda s, ok: order.append((s, ok))
    )
    assert [s for s, _ in order[:2]] == ["st7", "st5"] and all(ok for _, ok in order)
    assert sorted(s for s, _ in order) == students


def test_a_first_grading_starts_with_the_endless_loops(tmp_path):
    folder = tmp_path
    for part in ("source", "release"):
        shutil.copytree(REPO / part, folder / part)
    democlass.hand_in(folder, {"a": "model", "b": "model", "c": "model", "z": "hang-forever"})
    for student, seconds in (("b", 5), ("c", 1000)):
        marker = autograde.marker_path(folder, ASSIGNMENT, student)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"fingerprint": "", "seconds": seconds}))
    notebooks = sorted(p.name for p in (folder / "release" / ASSIGNMENT).glob("*.ipynb"))
    tasks = [autograde.Task(ASSIGNMENT, s, "") for s in ("a", "b", "c", "z")]

    order = autograde.grading_order(folder, notebooks, tasks)

    # never graded first (the one whose loop runs to the timeout before the other), then
    # the longest last grading first
    assert [task.student for task in order] == ["z", "a", "c", "b"]


ENDLESS = {  # a cell's code: how many of its loops can never end
    "while True:\n    pass": 1,
    "while 1:\n    x = 2": 1,
    "def train(net):\n    while True:\n        net.backward()": 1,
    "while True:\n    for i in range(3):\n        break": 1,
    "while True:\n    def h():\n        return 1": 1,
    "while True:\n    while True:\n        break": 1,
    "%matplotlib inline\nwhile 'forever':\n    pass\nwhile True:\n    pass": 2,
    "while True:\n    break": 0,
    "while True:\n    if loss < 1e-3:\n        break": 0,
    "while True:\n    for i in range(3):\n        return i": 0,
    "while True:\n    raise StopIteration": 0,
    "def batches():\n    while True:\n        yield 1": 0,
    "while loss > 1e-3:\n    loss = step()": 0,
    "while False:\n    pass": 0,
    "while 0:\n    pass": 0,
    "for i in range(10):\n    pass": 0,
    "while True\n    pass": 0,  # not Python: nbgrader reports it, nothing is estimated
}


@pytest.mark.parametrize("source", ENDLESS)
def test_endless_loops_are_counted_in_code_cells(tmp_path, source):
    cells = [
        {"cell_type": "markdown", "source": "while True:\n    pass"},
        {"cell_type": "code", "source": source.splitlines(keepends=True)},
    ]
    (tmp_path / "a.ipynb").write_text(json.dumps({"cells": cells}))
    (tmp_path / "b.ipynb").write_text("not a notebook")

    found = autograde.endless_loops(tmp_path, ["a.ipynb", "b.ipynb", "missing.ipynb"])

    assert found == ENDLESS[source]


def test_of_the_demo_class_only_the_hanging_submission_has_an_endless_loop(every_variant):
    notebooks = sorted(p.name for p in (every_variant / "release" / ASSIGNMENT).glob("*.ipynb"))

    found = {
        name: autograde.endless_loops(every_variant / "submitted" / name / ASSIGNMENT, notebooks)
        for name in democlass.VARIANTS
    }

    assert {name: n for name, n in found.items() if n} == {"hang-forever": 1}


def test_is_graded_needs_marker_files_and_gradebook(tmp_path):
    folder = tmp_path
    (folder / "submitted" / "x" / ASSIGNMENT).mkdir(parents=True)
    (folder / "submitted" / "x" / ASSIGNMENT / "a.ipynb").write_text("{}")
    stamp = autograde.fingerprint(folder, ASSIGNMENT, "x")
    marker = autograde.marker_path(folder, ASSIGNMENT, "x")
    marker.parent.mkdir(parents=True)
    marker.write_text(f'{{"fingerprint": "{stamp}"}}')
    graded = folder / "autograded" / "x" / ASSIGNMENT
    graded.mkdir(parents=True)

    def is_graded(in_gradebook=frozenset({"x"})):
        return autograde.is_graded(folder, ASSIGNMENT, "x", stamp, ["a.ipynb"], in_gradebook)

    assert not is_graded()  # a.ipynb not in autograded/: killed half way
    (graded / "a.ipynb").write_text("{}")
    assert is_graded()
    assert not is_graded(in_gradebook=set())  # a new gradebook
    marker.write_text('{"fingerprint": "an earlier submission"}')
    assert not is_graded()
    marker.unlink()
    assert not is_graded()
