"""The course on the JupyterHub the kit ships (deploy/jupyterhub/), used as its people use it.

`deploy/jupyterhub/start` runs as shipped (its own environment and proxy installed, the
course folder made and the assignment released), on free loopback ports, with an exchange
and an install folder of the test's own. Its users are real OS users with passwords, made
for the test and removed after it: an instructor and two students, in the course's groups
(the instructor put in the group once the hub runs: the hub reads it at login).
In headless Chromium, a student logs in, fetches the assignment in the Assignments tab,
writes a buggy `s` in the notebook, saves and submits; *Fetch Feedback* brings the feedback
of `gradekit watch` (a service of the hub); three more submissions reach the budget. The
other student, as that OS user, tries to read the first one's work; the instructor grades
and opens the formgrader through the hub, alone and in a tab of JupyterLab; a student tries
to open it.

Needs root (the hub starts each user's server as that user), as CI runs. Set
GRADEKIT_BROWSER_SCREENSHOTS to a folder to keep the screenshots of each step.
"""

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import (
    ASSIGNMENT,
    PART1,
    REPO,
    SBIN,
    SERVER_TIMEOUT,
    click_menu,
    home,
    js,
    log_tail,
    make_user,
    remove_user,
    run_as,
    save_screenshot,
    try_as,
    wait,
    wait_for_server,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from gradekit import watch

COURSE = "dl-w1s3"
GRADER = f"grader-{COURSE}"  # the account the shipped hub makes for the course folder
TEACHER, ADA, BAO = "gkhub-teacher", "gkhub-ada", "gkhub-bao"
GROUPS = {TEACHER: f"{COURSE}-instructors", ADA: f"{COURSE}-students", BAO: f"{COURSE}-students"}
FEEDBACK = "part1_logistic_regression.html"
# The student's bug: the minus sign of the lecture's exp(-x) forgotten. s(0) is still one
# half, so the visible check passes and only the hidden checks see it.
BUGGY_S = "def s(x): return 1 / (1 + np.exp(x))"
S_CELL = 3  # the cell of `s` in part 1 (after the title, the imports, the section's text)
EXERCISE = "1. The sigmoid function"
FEEDBACK_WITHIN = 120  # seconds from submitting to feedback, as the issue asks
START_TIMEOUT = 600  # a first start installs the hub's environment and its proxy


def free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    while True:
        base = 20000 + secrets.randbelow(30000)
        try:
            probes = []
            for port in range(base, base + count):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()


class Hub:
    def __init__(self, prefix: Path, port: int, passwords: dict[str, str], log: Path):
        self.prefix, self.passwords, self.log = prefix, passwords, log
        self.url = f"http://127.0.0.1:{port}"
        self.exchange = prefix / "exchange"
        self.course = Path("/home") / GRADER / COURSE  # made by `start`
        self.bin = prefix / "venv" / "bin"


@pytest.fixture(scope="module")
def hub():
    if os.geteuid() != 0:
        pytest.fail("this test makes OS users and starts a hub: run it as root (CI does)")
    if GRADER in {entry.pw_name for entry in pwd.getpwall()}:
        pytest.fail(f"{GRADER} exists: a hub of this course is installed on this machine")
    prefix = Path(tempfile.mkdtemp(prefix="gradekit-hub-", dir="/var/tmp"))
    prefix.chmod(0o755)
    passwords = {user: secrets.token_urlsafe(12) for user in GROUPS}
    for group in set(GROUPS.values()):
        subprocess.run([shutil.which("groupadd", path=SBIN), "-f", group], check=True)
    for user, group in GROUPS.items():  # the instructor joins later, the hub running
        make_user(user, *([] if user == TEACHER else [group]), password=passwords[user])
    port = free_ports(4)
    # An administrator's environment (the package registries' settings in it), not the tests'
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        {
            "PATH": f"{SBIN}:/usr/local/bin",
            "GRADEKIT_HUB_PREFIX": str(prefix),
            "GRADEKIT_HUB_PORT": str(port),
            "GRADEKIT_HUB_EXCHANGE": str(prefix / "exchange"),
        }
    )
    log = prefix / "hub.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [REPO / "deploy" / "jupyterhub" / "start"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Hub(prefix, port, passwords, log)
    try:
        wait_for_server(
            process,
            lambda: urllib.request.urlopen(f"{server.url}/hub/api", timeout=5).close(),
            START_TIMEOUT,
            "the hub",
            log,
        )
        # an instructor appointed while the hub runs reaches the formgrader at their login
        usermod = shutil.which("usermod", path=SBIN)
        subprocess.run([usermod, "-aG", GROUPS[TEACHER], TEACHER], check=True)
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for user in [*GROUPS, GRADER]:
            remove_user(user)
        for group in set(GROUPS.values()):
            subprocess.run([shutil.which("groupdel", path=SBIN), group], capture_output=True)
        shutil.rmtree(prefix, ignore_errors=True)


def log_in(driver, hub: Hub, user: str) -> None:
    """Log in on the hub's page as `user`, with their password, as the only user; wait for
    the hub to have started their server and sent them to it."""
    driver.get(f"{hub.url}/hub/logout")
    driver.delete_all_cookies()
    driver.get(f"{hub.url}/hub/login")
    driver.find_element(By.ID, "username_input").send_keys(user)
    driver.find_element(By.ID, "password_input").send_keys(hub.passwords[user])
    driver.find_element(By.ID, "login_submit").click()
    wait(driver, lambda d: f"/user/{user}/" in d.current_url, 180, f"{user}'s server")


def open_assignments(driver) -> None:
    """Nbgrader → Assignment List, as a student opens the Assignments tab."""
    click_menu(driver, "Nbgrader", "nbgrader:open-assignment-list")
    wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#released_assignments_list"),
        60,
        "the Assignments tab",
    )


def rows(driver, listing: str) -> list:
    return driver.find_elements(By.CSS_SELECTOR, f"#{listing}_assignments_list .list_item")


def press(driver, listing: str, label: str) -> None:
    """Click the button labelled `label` of the assignment's row in one of the lists."""

    def button(d):
        for row in rows(d, listing):
            for found in row.find_elements(By.CSS_SELECTOR, ".item_status button"):
                if found.text == label and found.is_enabled():
                    return found
        return None

    js(driver, "arguments[0].click()", wait(driver, button, 60, f"{label} in the {listing} list"))


def submissions_listed(driver) -> int:
    return len(
        driver.find_elements(
            By.CSS_SELECTOR, f"#nbgrader-{COURSE}-{ASSIGNMENT}-submissions .list_item"
        )
    )


def newest_submission(hub: Hub, user: str) -> str:
    """The timestamp of the student's newest submission in the exchange."""
    inbound = hub.exchange / COURSE / "inbound"
    return max(path.name.split("+")[2] for path in inbound.glob(f"{user}+{ASSIGNMENT}+*"))


def feedback_page(driver, hub: Hub, user: str, timestamp: str) -> str:
    """The page as the student's browser shows it, from their server."""
    driver.get(f"{hub.url}/user/{user}/files/{ASSIGNMENT}/feedback/{timestamp}/{FEEDBACK}")
    return driver.find_element(By.TAG_NAME, "body").text


def submit_and_wait(driver, hub: Hub, user: str, shots: Path, name: str) -> tuple[str, float]:
    """Submit in the Assignments tab, then Fetch Feedback there until the submission's page
    is no longer a status page saying it waits; the page's text and the seconds it took."""
    lab = f"{hub.url}/user/{user}/lab"
    driver.get(lab)
    open_assignments(driver)
    before = submissions_listed(driver)
    press(driver, "fetched", "Submit")
    wait(driver, lambda d: submissions_listed(d) > before, 60, "the submission to be listed")
    start = time.monotonic()
    save_screenshot(driver, shots, f"{name}-submitted.png")
    timestamp = newest_submission(hub, user)
    fetched = home(user) / ASSIGNMENT / "feedback" / timestamp / FEEDBACK
    while True:
        driver.get(lab)
        open_assignments(driver)
        press(driver, "submitted", "Fetch Feedback")
        time.sleep(2)
        text = feedback_page(driver, hub, user, timestamp) if fetched.exists() else ""
        if text and "Waiting to be graded" not in text:
            save_screenshot(driver, shots, f"{name}-feedback.png")
            return text, time.monotonic() - start
        if time.monotonic() - start > FEEDBACK_WITHIN + 60:
            pytest.fail(
                f"no feedback for {user} after {FEEDBACK_WITHIN + 60} s: {text[:500]}\n{log_tail(hub.log)}"
            )
        time.sleep(5)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hub-screenshots")


@pytest.fixture(scope="module")
def journey(hub, browser, shots):
    """The student's steps in the browser, and what each showed."""
    seen = {}
    driver = browser
    log_in(driver, hub, ADA)
    wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#jp-main-dock-panel"),
        SERVER_TIMEOUT,
        f"{ADA}'s JupyterLab",
    )
    save_screenshot(driver, shots, "1-logged-in.png")
    open_assignments(driver)
    press(driver, "released", "Fetch")
    wait(driver, lambda d: rows(d, "fetched"), 60, "the fetched assignment")
    seen["fetched"] = driver.find_element(By.CSS_SELECTOR, "#fetched_assignments_list").text
    save_screenshot(driver, shots, "2-fetched.png")

    driver.get(f"{hub.url}/user/{ADA}/lab/tree/{ASSIGNMENT}/{PART1}")

    def s_editor(d):
        cells = d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")
        return len(cells) > S_CELL and cells[S_CELL].find_elements(By.CSS_SELECTOR, ".cm-content")

    editor = wait(driver, s_editor, 120, "the notebook's cells")[0]
    editor.click()
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(BUGGY_S)
    editor.send_keys(Keys.CONTROL, "s")
    saved = home(ADA) / ASSIGNMENT / PART1
    wait(driver, lambda d: BUGGY_S in saved.read_text(), 30, "the notebook to be saved")
    save_screenshot(driver, shots, "3-buggy-s-saved.png")

    seen["first"], seen["first seconds"] = submit_and_wait(driver, hub, ADA, shots, "4-first")
    for attempt in (2, 3, 4):
        time.sleep(1.1)  # nbgrader's timestamps are to the second
        seen[attempt], _ = submit_and_wait(driver, hub, ADA, shots, f"5-attempt-{attempt}")
    return seen


def test_student_fetches_the_assignment_in_the_assignments_tab(journey):
    assert ASSIGNMENT in journey["fetched"] and COURSE in journey["fetched"], journey["fetched"]


def test_feedback_names_the_failing_exercise_within_two_minutes(journey):
    page = journey["first"]
    assert EXERCISE in page and watch.VERDICT in page, page[:2000]
    assert journey["first seconds"] < FEEDBACK_WITHIN, journey["first seconds"]
    assert "BEGIN HIDDEN TESTS" not in page and "np.exp(-" not in page


def test_a_fourth_submission_gets_the_budget_message(journey):
    assert "You have had" not in journey[3] and EXERCISE in journey[3]
    assert "You have had 3 submissions graded in the last 24 hours" in journey[4], journey[4]


def test_another_student_cannot_read_the_first_ones_work(hub, journey):
    inbound = hub.exchange / COURSE / "inbound"
    [submitted] = sorted(inbound.glob(f"{ADA}+{ASSIGNMENT}+*"))[-1:]
    fetched = sorted((home(ADA) / ASSIGNMENT / "feedback").glob(f"*/{FEEDBACK}"))[-1]
    for path in (
        inbound,  # who submitted what
        hub.exchange / COURSE / "feedback",  # everyone's feedback, released
        home(ADA) / ASSIGNMENT / PART1,  # ada's notebook
        fetched,  # ada's fetched feedback
    ):
        attempt = try_as(BAO, "cat" if path.is_file() else "ls", str(path), cwd=Path("/"))
        assert attempt.returncode != 0 and "Permission denied" in attempt.stderr, path
    assert submitted.is_dir()
    fetched_by_bao = run_as(
        BAO, "nbgrader", "fetch_feedback", ASSIGNMENT, cwd=home(BAO), bin_dir=hub.bin
    )
    assert not (home(BAO) / ASSIGNMENT / "feedback").exists(), fetched_by_bao


def test_the_instructor_sees_the_graded_submission_in_the_formgrader(hub, journey, browser, shots):
    run_as(GRADER, "nbgrader", "collect", ASSIGNMENT, cwd=hub.course, bin_dir=hub.bin)
    run_as(GRADER, "gradekit", "autograde", ASSIGNMENT, cwd=hub.course, bin_dir=hub.bin)
    log_in(browser, hub, TEACHER)
    browser.get(f"{hub.url}/services/{COURSE}/formgrader/manage_submissions/{ASSIGNMENT}")
    table = wait(
        browser,
        lambda d: [r.text for r in d.find_elements(By.CSS_SELECTOR, "tbody tr") if ADA in r.text],
        120,
        f"{ADA}'s submission in the formgrader",
    )
    save_screenshot(browser, shots, "6-formgrader.png")
    assert "graded" in table[0] and re.search(r"\b\d+(\.\d+)? / \d+", table[0]), table


def test_the_formgrader_opens_in_a_tab_of_the_instructors_lab(hub, browser, shots):
    log_in(browser, hub, TEACHER)
    browser.get(f"{hub.url}/services/{COURSE}/lab")
    click_menu(browser, "Nbgrader", "nbgrader:open-formgrader")
    frame = wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#formgrader-iframe iframe"),
        60,
        "the Formgrader tab",
    )[0]
    browser.switch_to.frame(frame)  # a page the browser refused to frame has no such text
    try:
        wait(
            browser,
            lambda d: (
                ASSIGNMENT in d.find_element(By.TAG_NAME, "body").text
                and "Manage Assignments" in d.find_element(By.TAG_NAME, "body").text
            ),
            60,
            "the formgrader's page in the tab",
        )
    finally:
        browser.switch_to.default_content()
    save_screenshot(browser, shots, "7-formgrader-in-lab.png")


def test_a_student_cannot_open_the_formgrader(hub, journey, browser, shots):
    log_in(browser, hub, BAO)
    browser.get(f"{hub.url}/services/{COURSE}/formgrader/manage_submissions/{ASSIGNMENT}")

    def answered(d):  # the hub's refusal, or (wrongly) the formgrader's page
        body = d.find_element(By.TAG_NAME, "body").text
        return body if "403" in body or ADA in body else None

    text = wait(browser, answered, 60, "the hub's answer")
    save_screenshot(browser, shots, "8-formgrader-refused.png")
    assert "403" in text and ADA not in text and "Manage" not in text, text[:1000]
