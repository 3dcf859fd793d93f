"""Grading on submit (`gradekit watch`): students submit through nbgrader's exchange, the
service grades each new submission and releases its feedback, which *Fetch Feedback* (here
`nbgrader fetch_feedback`) brings them.

Students are told apart by nbgrader's `--student` option (run as one OS user), each with a
home of its own; the exchange's permissions between real OS users are the exchange test's.
One course, with a budget of 2 graded submissions a day: ada hands in a bug, then twice
more (the third is over the budget); bao hands in the model answers; three more students
hand in at once to a service killed mid-queue and started again.
"""

import json
import os
import signal
import subprocess
import time

import nbformat
import pytest
from conftest import ASSIGNMENT, GRADEKIT, REPO, html_text, make_course, run_gradekit

import democlass
from gradekit import course, submissions, watch

DOCUMENTED_EXCHANGE = "/home/teacher/course/exchange"
FEEDBACK = "part2_shallow_neural_network.html"
LATE = ("cy", "dee", "eli")  # hand in together, to a service killed mid-queue


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
    folder = make_course(tmp_path_factory.mktemp("watch") / "course")
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write("\nc.Watch.budget = 2\n")
    course.nbgrader(folder, "release_assignment", ASSIGNMENT)
    for name in ("ada", "bao", *LATE):
        enrol(folder, name)
    log = {}
    submit(folder, "ada", "mse-sum")
    submit(folder, "bao", "model")
    run_gradekit(folder, "watch", ASSIGNMENT, "--once")
    log["ada first"] = feedback_of(folder, "ada")
    log["bao"] = feedback_of(folder, "bao")
    for _ in range(2):
        submit(folder, "ada", "model")
        run_gradekit(folder, "watch", ASSIGNMENT, "--once")
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
    run_gradekit(folder, "watch", ASSIGNMENT, "--once")
    mine = [s for s in state(folder).values() if s["student"] in LATE]
    assert sorted(s["student"] for s in mine) == list(LATE)
    assert all(s["status"] == "graded" and s["gradings"] == 1 for s in mine), mine
    for name in LATE:
        (page,) = feedback_of(folder, name).values()
        assert "Waiting to be graded" not in page and watch.VERDICT not in page


def test_nothing_of_the_hidden_checks_shows_only_the_visible_ones(tmp_path_factory):
    folder = make_course(tmp_path_factory.mktemp("watch-nothing") / "course")
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write('\nc.Watch.hidden = "nothing"\n')
    course.nbgrader(folder, "release_assignment", ASSIGNMENT)
    enrol(folder, "ada")
    submit(folder, "ada", "mse-sum")
    run_gradekit(folder, "watch", ASSIGNMENT, "--once")
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
