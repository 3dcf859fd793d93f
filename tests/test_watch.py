"""Grading on submit (`gradekit watch`): students submit through nbgrader's exchange, the
service grades each new submission and releases its feedback, which *Fetch Feedback* (here
`nbgrader fetch_feedback`) brings them.

Students are told apart by nbgrader's `--student` option (run as one OS user), each with a
home of its own; the exchange's permissions between real OS users are the exchange test's.
One course, with a budget of 2 graded submissions a day: ada hands in a bug, then twice
more (the third is over the budget); bao hands in the model answers; three more students
hand in at once to a service killed mid-queue and started again. Two more courses: one
past its due date, where one student has an extension; one whose service records its grades
as the grades of record.
"""

import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from conftest import ASSIGNMENT, GRADEKIT, REPO, html_text, make_course, run_gradekit

import democlass
from gradekit import course, submissions, watch

DOCUMENTED_EXCHANGE = "/home/teacher/course/exchange"
FEEDBACK = "part2_shallow_neural_network.html"
LATE = ("cy", "dee", "eli")  # hand in together, to a service killed mid-queue
DAY = 86400
PENALTY = "Late submission penalty: -"


def released(tmp_path_factory, name: str, setting: str = "") -> Path:
    """A course folder with the assignment released, `setting` added to its config."""
    folder = make_course(tmp_path_factory.mktemp(name) / "course")
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write(f"\n{setting}\n")
    course.nbgrader(folder, "release_assignment", ASSIGNMENT)
    return folder


def watch_once(folder: Path) -> None:
    """`gradekit watch --once`: every submission it takes up must be graded."""
    run = run_gradekit(folder, "watch", ASSIGNMENT, "--once")
    assert "could not grade" not in run.stderr, run.stderr


def as_student(folder, name: str, *args: str) -> str:
    """Run an nbgrader command as the student `name` would, from their home."""
    home = folder.parent / f"home-{name}"
    env = {**course.environment(), "HOME": str(home)}
    result = subprocess.run(
        ["nbgrader", *args], cwd=home, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def enrol(folder, name: str) -> None:
    """The student's home, with the lab server's nbgrader config, and the assignment fetched."""
    home = folder.parent / f"home-{name}"
    config = home / ".jupyter" / "nbgrader_config.py"
    config.parent.mkdir(parents=True)
    shown = (REPO / "docs" / "examples" / "lab-server" / "nbgrader_config.py").read_text()
    config.write_text(shown.replace(DOCUMENTED_EXCHANGE, str(folder / "exchange")))
    as_student(folder, name, "fetch_assignment", ASSIGNMENT)


def submit(folder, name: str, variant: str) -> None:
    """Complete the fetched notebooks as the variant does, and submit them."""
    work = folder.parent / f"home-{name}" / ASSIGNMENT
    answers = submissions.model_answers(REPO / "source" / ASSIGNMENT)
    filled = submissions.apply_changes(answers, democlass.variants.VARIANTS[variant].changes)
    submissions.write_submission(work, work, filled)
    time.sleep(1.1)  # nbgrader's timestamps are to the second
    as_student(folder, name, "submit", ASSIGNMENT, f"--student={name}")


def feedback_of(folder, name: str) -> dict[str, str]:
    """Fetch the student's feedback; the text of each page, by submission timestamp."""
    as_student(folder, name, "fetch_feedback", ASSIGNMENT, f"--student={name}")
    pages = (folder.parent / f"home-{name}" / ASSIGNMENT / "feedback").glob(f"*/{FEEDBACK}")
    return {page.parent.name: html_text(page.read_text(encoding="utf-8")) for page in pages}


def state(folder) -> dict[str, dict]:
    path = folder / ".gradekit" / "watch" / ASSIGNMENT / "state.json"
    return json.loads(path.read_text()) if path.is_file() else {}


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    folder = released(tmp_path_factory, "watch", "c.Watch.budget = 2")
    for name in ("ada", "bao", *LATE):
        enrol(folder, name)
    log = {}
    submit(folder, "ada", "mse-sum")
    submit(folder, "bao", "model")
    watch_once(folder)
    log["ada first"] = feedback_of(folder, "ada")
    log["bao"] = feedback_of(folder, "bao")
    for _ in range(2):
        submit(folder, "ada", "model")
        watch_once(folder)
    log["ada"] = feedback_of(folder, "ada")
    return folder, log


def test_feedback_on_submit_names_the_failing_exercise(watched):
    _, log = watched
    (page,) = log["ada first"].values()
    assert "MSE" in page and watch.VERDICT in page
    assert "BEGIN HIDDEN TESTS" not in page and "### " not in page
    (page,) = log["bao"].values()
    assert watch.VERDICT not in page and "CheckFailed" not in page


def test_a_submission_over_the_budget_waits_for_the_window(watched):
    folder, log = watched
    pages = log["ada"]
    assert len(pages) == 3
    newest = pages[max(pages)]
    assert "You have had 2 submissions graded in the last 24 hours" in newest
    assert "will be graded after" in newest
    graded = [s for s in state(folder).values() if s["student"] == "ada"]
    assert sorted(s["status"] for s in graded) == ["graded"] * 2 + ["waiting"]


def test_the_grades_of_record_are_untouched(watched):
    folder, _ = watched
    assert not (folder / "autograded").exists() and not (folder / "submitted").exists()
    with course.gradebook(folder) as gb:
        assert gb.find_assignment(ASSIGNMENT).num_submissions == 0


def test_a_service_stopped_mid_queue_grades_each_waiting_submission_once(watched):
    folder, _ = watched
    for name in LATE:
        submit(folder, name, "model")
    service = subprocess.Popen(
        [GRADEKIT, "watch", ASSIGNMENT, "--course", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        statuses = [s["status"] for s in state(folder).values() if s["student"] in LATE]
        if "graded" in statuses:
            break
        time.sleep(0.05)
    os.killpg(service.pid, signal.SIGKILL)
    service.wait()
    watch_once(folder)
    mine = [s for s in state(folder).values() if s["student"] in LATE]
    assert sorted(s["student"] for s in mine) == list(LATE)
    assert all(s["status"] == "graded" and s["gradings"] == 1 for s in mine), mine
    for name in LATE:
        (page,) = feedback_of(folder, name).values()
        assert "Waiting to be graded" not in page and watch.VERDICT not in page


def test_nothing_of_the_hidden_checks_shows_only_the_visible_ones(tmp_path_factory):
    folder = released(tmp_path_factory, "watch-nothing", 'c.Watch.hidden = "nothing"')
    enrol(folder, "ada")
    submit(folder, "ada", "mse-sum")
    watch_once(folder)
    (page,) = feedback_of(folder, "ada").values()
    source = nbformat.read(REPO / "source" / ASSIGNMENT / FEEDBACK.replace(".html", ".ipynb"), 4)
    graded = [cell for cell in source.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    checks = [
        c for c in graded if c.cell_type == "code" and not c.metadata.nbgrader.get("solution")
    ]
    hidden = [cell for cell in checks if "BEGIN HIDDEN TESTS" in cell.source]
    visible = [cell for cell in checks if cell not in hidden]
    assert hidden and visible
    total, left_out = (
        sum(c.metadata["nbgrader"]["points"] for c in cells) for cells in (graded, hidden)
    )
    # the score: the visible checks' points and the written answers', not the hidden ones'
    assert f" / {total - left_out:.1f})" in page, page[page.find("Score") :][:200]
    assert f"of {len(visible)} checks passed" in page
    assert f"The hidden checks ({left_out:.1f} points) are not shown" in page
    assert "Hidden check:" not in page and watch.VERDICT not in page
    assert "MSE" in page  # the exercise of MSE_loss, by its visible check


def utc(seconds_from_now: float) -> str:
    when = datetime.fromtimestamp(time.time() + seconds_from_now, UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def newest(pages: dict[str, str]) -> str:
    return pages[max(pages)]


@pytest.fixture(scope="module")
def overdue(tmp_path_factory):
    """A course due a day and a half ago. cy has an extension to next month, dee none; each
    hands in the model answers, graded on submit, then again with `after_due = "stop"`."""
    folder = released(tmp_path_factory, "watch-due")
    course.nbgrader(folder, "db", "assignment", "add", ASSIGNMENT, f"--duedate={utc(-1.5 * DAY)}")
    course.nbgrader(folder, "db", "student", "add", "cy")
    run_gradekit(folder, "extend", ASSIGNMENT, "cy", "--until", utc(30 * DAY), "--reason", "ill")
    pages = {}
    for name in ("cy", "dee"):
        enrol(folder, name)
        submit(folder, name, "model")
    watch_once(folder)
    pages["graded"] = {name: newest(feedback_of(folder, name)) for name in ("cy", "dee")}
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write('\nc.Watch.after_due = "stop"\n')
    for name in ("cy", "dee"):
        submit(folder, name, "model")
    watch_once(folder)
    pages["stopped"] = {name: newest(feedback_of(folder, name)) for name in ("cy", "dee")}
    return folder, pages


def test_feedback_on_submit_shows_the_penalty_from_the_students_own_due_date(overdue):
    _, pages = overdue
    assert PENALTY in pages["graded"]["dee"]  # two days (or part of them) late: 20%
    assert PENALTY not in pages["graded"]["cy"] and "Score" in pages["graded"]["cy"]


def test_after_the_due_date_feedback_on_submit_can_stop_except_for_an_extension(overdue):
    folder, pages = overdue
    assert "came after your due date" in pages["stopped"]["dee"]
    assert "Score" not in pages["stopped"]["dee"]
    assert "Score" in pages["stopped"]["cy"] and PENALTY not in pages["stopped"]["cy"]
    statuses = {s["student"]: s["status"] for s in state(folder).values() if s["gradings"] == 0}
    assert statuses == {"dee": "late"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A course whose service records its grades: fay hands in a bug, graded on submit."""
    folder = released(tmp_path_factory, "watch-record", "c.Watch.record = True")
    enrol(folder, "fay")
    submit(folder, "fay", "mse-sum")
    watch_once(folder)
    return folder, newest(feedback_of(folder, "fay"))


def test_a_recording_service_grades_as_autograde_into_the_course(recorded):
    folder, page = recorded
    on_submit = course.cell_scores(folder, ASSIGNMENT)
    assert set(on_submit) == {"fay"}
    assert (
        folder / "autograded" / "fay" / ASSIGNMENT / FEEDBACK.replace("html", "ipynb")
    ).is_file()
    # the instructor's autograde finds it graded; forced, it grades it the same
    assert "Skipped 1 already graded" in run_gradekit(folder, "autograde", ASSIGNMENT).stdout
    run_gradekit(folder, "autograde", ASSIGNMENT, "--force")
    assert course.cell_scores(folder, ASSIGNMENT) == on_submit
    assert sum(on_submit["fay"].values()) < sum(course.max_scores(folder, ASSIGNMENT).values())


def test_a_recording_service_still_releases_its_own_feedback(recorded):
    folder, page = recorded
    assert "MSE" in page and watch.VERDICT in page  # the service's (Watch.hidden), not the
    assert not (folder / "feedback").exists()  # instructor's, which is never generated


def test_a_recording_service_needs_the_assignment_generated(tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    config = (REPO / "nbgrader_config.py").read_text() + "\nc.Watch.record = True\n"
    (folder / "nbgrader_config.py").write_text(config)
    run = run_gradekit(folder, "watch", ASSIGNMENT, "--once", check=False)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert f"{folder / 'release' / ASSIGNMENT}: not generated" in run.stderr
    assert f"nbgrader generate_assignment {ASSIGNMENT}" in run.stderr
