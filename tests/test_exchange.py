"""A term through nbgrader's exchange, run by real OS users (as nbgrader's permissions expect).

One instructor and two students, made for the test: the instructor generates and releases
the assignment into the kit's course-local exchange, the students fetch, fill in and submit
it (one twice, one after the due date), the instructor collects, grades with
`gradekit autograde`, releases feedback and exports the grades; the students fetch their
feedback. Needs root (to make the users), as CI runs.
"""

import csv
import os
import pwd
import shutil
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ASSIGNMENT, BIN, REPO, home, make_user, remove_user, run_as

import democlass
from gradekit import course, submissions
from gradekit.exporters import EXPORTERS

TEACHER, ADA, BAO = "gk-teacher", "gk-ada", "gk-bao"
DOCUMENTED_EXCHANGE = "/home/teacher/course/exchange"
ROSTER = [
    ["id", "first_name", "last_name", "email", "lms_user_id", "sis_user_id", "username",
     "org_defined_id"],
    [ADA, "Ada", "Lovelace", "ada@example.edu", "101", "S101", ADA, "OD101"],
    [BAO, "Bảo", "Nguyễn", "bao@example.edu", "102", "S102", BAO, "OD102"],
]  # fmt: skip


def hand_over(path: Path, user: str) -> None:
    """Give a file or folder (recursively) to the user."""
    entry = pwd.getpwnam(user)
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.chown(p, entry.pw_uid, entry.pw_gid)


def fill_in(user: str, variant: str) -> None:
    """The student's fetched notebooks, completed as the variant does, owned by them."""
    folder = home(user) / ASSIGNMENT
    answers = submissions.model_answers(REPO / "source" / ASSIGNMENT)
    changed = submissions.apply_changes(answers, democlass.variants.VARIANTS[variant].changes)
    submissions.write_submission(folder, folder, changed)
    hand_over(folder, user)


@pytest.fixture(scope="module")
def users():
    """The three users, made for this test and removed after it; the kit's folders made
    traversable for them meanwhile (as an installed kit is)."""
    if os.geteuid() != 0:
        pytest.fail("this test makes OS users: run it as root (CI does)")
    for user in (TEACHER, ADA, BAO):
        make_user(user)
    opened = []
    python = Path(os.path.realpath(sys.executable)).parent
    for folder in {p for top in (BIN, python, REPO) for p in (top, *top.parents)}:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)
            opened.append((folder, mode))
    yield
    for folder, mode in opened:
        folder.chmod(mode)
    for user in (TEACHER, ADA, BAO):
        remove_user(user)


@pytest.fixture(scope="module")
def term(users):
    """The whole cycle; what each step left behind."""
    course_dir = home(TEACHER) / "course"
    shutil.copytree(REPO / "source", course_dir / "source")
    shutil.copy(REPO / "nbgrader_config.py", course_dir)
    with open(course_dir / "roster.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(ROSTER)
    hand_over(course_dir, TEACHER)
    exchange = course_dir / "exchange"
    # Each student's nbgrader reads the documentation's lab-server config, this exchange in it.
    shown = (REPO / "docs" / "examples" / "lab-server" / "nbgrader_config.py").read_text()
    assert DOCUMENTED_EXCHANGE in shown
    for student in (ADA, BAO):
        config = home(student) / ".jupyter" / "nbgrader_config.py"
        config.parent.mkdir()
        config.write_text(shown.replace(DOCUMENTED_EXCHANGE, str(exchange)))
        hand_over(config.parent, student)

    def teacher(*args):
        return run_as(TEACHER, *args, cwd=course_dir)

    def student(user, *args):
        return run_as(user, *args, cwd=home(user))

    log = {}
    teacher("nbgrader", "generate_assignment", ASSIGNMENT)
    teacher("nbgrader", "db", "student", "import", "roster.csv")
    log["release"] = teacher("nbgrader", "release_assignment", ASSIGNMENT)
    for user in (ADA, BAO):
        student(user, "nbgrader", "fetch_assignment", ASSIGNMENT)
    fill_in(ADA, "mse-sum")  # first try: a bug
    student(ADA, "nbgrader", "submit", ASSIGNMENT)
    teacher("nbgrader", "collect", ASSIGNMENT)
    log["first collect"] = (
        course_dir / "submitted" / ADA / ASSIGNMENT / "timestamp.txt"
    ).read_text()
    time.sleep(1.1)
    fill_in(ADA, "model")  # fixed, handed in again before the due date
    student(ADA, "nbgrader", "submit", ASSIGNMENT)
    time.sleep(1.1)
    due = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    teacher("nbgrader", "db", "assignment", "add", ASSIGNMENT, f"--duedate={due}")
    time.sleep(1.1)
    fill_in(BAO, "model")  # after the due date
    student(BAO, "nbgrader", "submit", ASSIGNMENT)
    teacher("nbgrader", "collect", ASSIGNMENT)
    log["autograde"] = teacher("gradekit", "autograde", ASSIGNMENT)
    teacher("nbgrader", "generate_feedback", ASSIGNMENT)
    teacher("nbgrader", "release_feedback", ASSIGNMENT)
    for user in (ADA, BAO):
        student(user, "nbgrader", "fetch_feedback", ASSIGNMENT)
    for target in EXPORTERS:
        teacher("gradekit", "export", target, "--LmsExport.roster=roster.csv")
    return course_dir, log


def test_release_goes_through_the_course_exchange(term):
    course_dir, log = term
    outbound = course_dir / "exchange" / "dl-w1s3" / "outbound" / ASSIGNMENT
    assert sorted(p.name for p in outbound.glob("*.ipynb")) == sorted(
        p.name for p in (course_dir / "release" / ASSIGNMENT).glob("*.ipynb")
    )
    assert not (outbound / "reference.py").exists(), "the reference math was released"
    inbound = course_dir / "exchange" / "dl-w1s3" / "inbound"
    assert stat.S_IMODE(inbound.stat().st_mode) & 0o004 == 0, "students could list inbound"
    owners = {pwd.getpwuid(p.stat().st_uid).pw_name for p in inbound.iterdir()}
    assert owners == {ADA, BAO}, f"submissions owned by {owners}"


def test_students_fetch_their_own_copies(term):
    for user in (ADA, BAO):
        fetched = home(user) / ASSIGNMENT
        assert (fetched / "checks.py").is_file()
        assert pwd.getpwuid(fetched.stat().st_uid).pw_name == user


def test_the_newest_resubmission_is_collected_and_graded(term):
    course_dir, log = term
    collected = course_dir / "submitted" / ADA / ASSIGNMENT / "timestamp.txt"
    assert collected.read_text() > log["first collect"], "the resubmission was not collected"
    with course.gradebook(course_dir) as gb:
        submission = gb.find_submission(ASSIGNMENT, ADA)
        assert submission.score == 50, f"ada's newest copy (correct) scored {submission.score}"
        assert submission.late_submission_penalty == 0


def test_a_late_submission_loses_ten_percent_per_day(term):
    course_dir, _ = term
    with course.gradebook(course_dir) as gb:
        submission = gb.find_submission(ASSIGNMENT, BAO)
        assert submission.score == 50
        assert submission.late_submission_penalty == 5, (
            f"bao, a few seconds late, lost {submission.late_submission_penalty} of 50"
        )


def test_every_export_shows_the_penalty(term):
    course_dir, _ = term
    for target, exporter in EXPORTERS.items():
        text = (course_dir / exporter.filename).read_text(encoding="utf-8")
        rows = {
            who: next(line for line in text.splitlines() if who in line or email in line)
            for who, email in ((ADA, "ada@example.edu"), (BAO, "bao@example.edu"))
        }
        fields = {
            who: row.replace('"', "").replace("\t", ",").split(",") for who, row in rows.items()
        }
        assert "50" in fields[ADA] and "45" not in fields[ADA], f"{target}: ada's row {rows[ADA]}"
        assert "45" in fields[BAO], f"{target}: bao's row {rows[BAO]}"


def test_students_fetch_feedback_with_their_penalty(term):
    for user, late in ((ADA, False), (BAO, True)):
        pages = list((home(user) / ASSIGNMENT / "feedback").rglob("part1_logistic_regression.html"))
        assert len(pages) == 1, f"{user} fetched {pages}"
        text = pages[0].read_text(encoding="utf-8")
        assert ("Late submission penalty" in text) == late, user
        assert "BEGIN HIDDEN TESTS" not in text


def test_autograde_as_the_instructor_summarises_both(term):
    _, log = term
    assert "Graded 2 of 2 submissions" in log["autograde"]
