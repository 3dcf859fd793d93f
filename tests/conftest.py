"""Shared fixtures: course folders made from this repository, real nbgrader runs on them."""

import contextlib
import glob
import html
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import psycopg
import pytest
from nbclient import NotebookClient
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import democlass
from democlass.variants import VARIANTS
from gradekit import course, submissions

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = democlass.ASSIGNMENT
SOURCE = REPO / "source" / ASSIGNMENT
RELEASE = REPO / "release" / ASSIGNMENT
PART1 = "part1_logistic_regression.ipynb"
PART2 = "part2_shallow_neural_network.ipynb"
GRADEKIT = str(Path(sys.executable).with_name("gradekit"))  # the kit's command, this venv's
# The course secret of every course the tests grade (nbgrader runs inherit it): one per
# test process, never the user's own.
os.environ["GRADEKIT_SECRET_FILE"] = str(
    Path(tempfile.mkdtemp(prefix="gradekit-tests-")) / "secret"
)


def expected_points(max_points: dict[str, float], students: dict[str, str]) -> dict:
    """The points of every grade cell each student's variant must score: 0 for the cells
    the variant fails, full marks for the others."""
    return {
        student: {
            cell: 0.0 if cell in VARIANTS[name].fails else points
            for cell, points in max_points.items()
        }
        for student, name in students.items()
    }


def differences(scores: dict, expected: dict) -> dict:
    """{student: {cell: (score, expected)}} of the cells whose points differ (a failed
    comparison of two gradings names each cell rather than pytest's first few keys)."""
    found = {}
    for student in sorted(set(scores) | set(expected)):
        mine, theirs = scores.get(student, {}), expected.get(student, {})
        cells = {
            cell: (mine.get(cell), theirs.get(cell))
            for cell in sorted(set(mine) | set(theirs))
            if mine.get(cell) != theirs.get(cell)
        }
        if cells:
            found[student] = cells
    return found


def quoted(lines: set[str], text: str) -> list[str]:
    """The lines that appear in the text."""
    return [line for line in lines if line in text]


def run_gradekit(
    folder: Path, command: str, *args: str, env=None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run `gradekit <command>` on a course folder as a teacher's shell would (this
    environment, the venv not activated); it must succeed unless `check` is False."""
    run = subprocess.run(
        [GRADEKIT, command, "--course", str(folder), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert not check or run.returncode == 0, run.stdout + run.stderr
    return run


def warning_lines(output: str) -> list[str]:
    """The lines of a command's output that a dependency's or Python's warning printed."""
    return [line for line in output.splitlines() if re.search(r"warning", line, re.IGNORECASE)]


def html_text(page: str) -> str:
    """The text of an HTML page, tags and entities removed (as a student reads it)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


class Tables(HTMLParser):
    """The text of every cell of every table of a page, by table id."""

    def __init__(self, page: str):
        super().__init__()
        self.tables, self.current, self.row = {}, None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = self.tables.setdefault(dict(attrs)["id"], [])
        elif tag == "tr" and self.current is not None:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.row.append("")

    def handle_endtag(self, tag):
        if tag == "tr" and self.row:
            self.current.append(self.row)
        if tag in ("tr", "table"):
            self.row = None if tag == "tr" else self.row
            self.current = None if tag == "table" else self.current

    def handle_data(self, data):
        if self.row:
            self.row[-1] += data


def make_course(folder: Path) -> Path:
    """A course folder with this repo's source and config, and a freshly generated release."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "source", folder / "source")
    shutil.copy(REPO / "nbgrader_config.py", folder)
    course.nbgrader(folder, "generate_assignment", ASSIGNMENT, "--force")
    return folder


def execute(path: Path) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel, errors recorded in the outputs."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def secret_lines(regions=("SOLUTION", "HIDDEN TESTS"), cell_types=("code", "markdown")) -> set[str]:
    """Lines inside these regions of the source's cells of these types that appear nowhere
    else in it (the written answers' grading guide: SOLUTION regions of markdown cells)."""
    secret, public = set(), []
    for path in SOURCE.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type not in cell_types:
                continue
            inside = None
            for line in cell.source.splitlines():
                begins = [r for r in ("SOLUTION", "HIDDEN TESTS") if f"### BEGIN {r}" in line]
                if begins:
                    inside = begins[0]
                elif "### END " in line:
                    inside = None
                elif inside in regions and len(line.strip()) > 12:
                    secret.add(line.strip())
                elif inside is None:
                    public.append(line)
    public_text = "\n".join(public)
    return {line for line in secret if line not in public_text}


@pytest.fixture(scope="session")
def source_run(tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    """The source notebooks, executed once for every test that reads their outputs."""
    folder = tmp_path_factory.mktemp("source-run")
    shutil.copytree(SOURCE, folder, dirs_exist_ok=True)
    return {path.name: execute(path) for path in sorted(folder.glob("*.ipynb"))}


@pytest.fixture(scope="session")
def fresh_course(tmp_path_factory) -> Path:
    """A course folder whose release was just generated from the source."""
    return make_course(tmp_path_factory.mktemp("fresh") / "course")


@pytest.fixture(scope="session")
def every_variant(tmp_path_factory) -> Path:
    """A course folder in which each of the demo class's variants is handed in by a student
    of its name, not graded (read it, do not change it)."""
    folder = make_course(tmp_path_factory.mktemp("every-variant") / "course")
    democlass.hand_in(folder, {name: name for name in VARIANTS})
    return folder


@pytest.fixture(scope="session")
def model_answers():
    return submissions.model_answers(SOURCE)


@pytest.fixture(scope="session")
def max_points(fresh_course) -> dict[str, float]:
    """Points of every autograded grade cell (the written answers are graded by hand)."""
    return course.max_scores(fresh_course, ASSIGNMENT)


# Real OS users (tests that make them need root, as CI runs).

BIN = Path(sys.executable).parent
SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"  # runuser, useradd, userdel


def home(user: str) -> Path:
    return Path(pwd.getpwnam(user).pw_dir)


def make_user(user: str, *groups: str, password: str | None = None) -> None:
    """A new OS user with a home (made anew if it existed), in these groups."""
    remove_user(user)
    options = ["-G", ",".join(groups)] if groups else []
    useradd = shutil.which("useradd", path=SBIN)
    subprocess.run([useradd, "-m", "-s", "/bin/bash", *options, user], check=True)
    if password is not None:
        chpasswd = shutil.which("chpasswd", path=SBIN)
        subprocess.run([chpasswd], input=f"{user}:{password}", text=True, check=True)


def remove_user(user: str) -> None:
    """Stop the user's processes, then remove the user and their home (if they exist)."""
    for _ in range(50):
        if subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True).returncode:
            break  # none left (or no such user)
        time.sleep(0.2)
    subprocess.run([shutil.which("userdel", path=SBIN), "-r", user], capture_output=True)


def try_as(user: str, *args: str, cwd: Path, bin_dir: Path = BIN) -> subprocess.CompletedProcess:
    """Run a command as the OS user, in their own environment, with `bin_dir` on the path."""
    env = {
        "HOME": str(home(user)),
        "USER": user,
        "LANG": "C.UTF-8",
        "PATH": f"{bin_dir}:/usr/bin:/bin",
    }
    return subprocess.run(
        [shutil.which("runuser", path=SBIN), "-u", user, "--", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def run_as(user: str, *args: str, cwd: Path, bin_dir: Path = BIN) -> str:
    """Run a command as the OS user; its output, or a failure."""
    result = try_as(user, *args, cwd=cwd, bin_dir=bin_dir)
    assert result.returncode == 0, (
        f"{user}: {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-1500:]}"
    )
    return result.stdout + result.stderr


# A real browser and a real Jupyter server, for what students and instructors see.

SERVER_TIMEOUT = 120  # generous: two cores, other modules grading classes meanwhile

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Lab:
    """A JupyterLab server serving `root`."""

    def __init__(self, root: Path, port: int, token: str, process: subprocess.Popen, log: Path):
        self.root, self.port, self.token, self.process, self.log = root, port, token, process, log
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def page(self, workspace: str, path: str) -> str:
        """The address that opens the notebook at `path` in a workspace of its own."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{path}?token={self.token}"


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module, driven by Debian's chromedriver."""
    for program, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(program, os.X_OK):
            pytest.fail(
                f"{program} not found: install it with `apt-get install {package}` (.ci/run does)",
                pytrace=False,
            )
    profile = tempfile.mkdtemp(prefix="gradekit-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    # A driver path given to Service: selenium-manager is not run, nothing is downloaded.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver, condition, timeout: float, what: str):
    """Poll `condition(driver)` until it is truthy; fail saying what did not happen. An
    element the page replaced while the condition read it (a table re-rendered) is read
    again at the next poll."""
    ignored = (NoSuchElementException, StaleElementReferenceException)
    try:
        return WebDriverWait(driver, timeout, 0.25, ignored).until(condition)
    except TimeoutException as error:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from error


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def click_menu(driver, menu: str, command: str) -> str:
    """Click a menu of the menu bar, then one of its items; the item's label."""
    [item] = wait(
        driver,
        lambda d: [
            item
            for item in d.find_elements(By.CSS_SELECTOR, "#jp-menu-panel .lm-MenuBar-item")
            if item.text == menu
        ],
        SERVER_TIMEOUT,
        f"the {menu} menu",
    )
    item.click()
    selector = f".lm-Menu .lm-Menu-item[data-command='{command}']"
    entry = wait(
        driver,
        lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()],
        10,
        f"the {menu} menu to show {command}",
    )[0]
    label = entry.find_element(By.CSS_SELECTOR, ".lm-Menu-itemLabel").text
    entry.click()
    return label


def save_screenshot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    keep = os.environ.get("GRADEKIT_BROWSER_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


def log_tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-40:])


def wait_for_server(process, answer, timeout: float, name: str, log: Path) -> None:
    """Poll `answer()` until it stops raising OSError; fail, with the end of the server's
    log, if its process exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"{name} exited ({process.returncode}):\n{log_tail(log)}")
        try:
            answer()
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not answer:\n{log_tail(log)}")
            time.sleep(0.3)


@contextlib.contextmanager
def running_lab(root: Path, env: dict, log: Path, *options: str):
    """A JupyterLab server (with nbgrader's formgrader) on loopback serving `root`, started
    in `root` with this environment and options, stopped with its kernels afterwards."""
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.ip=127.0.0.1", "--allow-root",
        # no requests to the internet (news feed, update check)
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *options,
    ]  # fmt: skip
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    server = Lab(root, port, token, process, log)
    try:
        wait_for_server(
            process, lambda: server.api("/api/status"), SERVER_TIMEOUT, "JupyterLab", log
        )
        yield server
    finally:
        try:
            for kernel in server.api("/api/kernels") or []:
                server.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# A throwaway PostgreSQL server (Debian's `postgresql` package; `.ci/run` installs it).


def postgres_bin() -> Path:
    """The folder of the newest installed PostgreSQL server binaries."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/pg_ctl): "
            "install them with `apt-get install postgresql` (.ci/run does)",
            pytrace=False,
        )
    return Path(found[-1]).parent


def _version(path: str) -> float:
    return float(Path(path).parts[-3])


def run_as_postgres(*command: str, cwd: Path) -> None:
    """Run a server command as the `postgres` user when we are root (initdb and pg_ctl
    refuse to run as root)."""
    if os.geteuid() == 0:
        command = ("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command)
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def postgres_port():
    """A PostgreSQL server started on loopback for this session: its port."""
    binaries = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="gradekit-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    run_as_postgres(
        str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync",
        cwd=folder,
    )  # fmt: skip
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
    run_as_postgres(
        str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
        "-o", options, "-w", "start",
        cwd=folder,
    )  # fmt: skip
    try:
        yield port
    finally:
        run_as_postgres(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop", cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_port, request):
    """The URL of a new, empty database for one test."""
    return new_database(postgres_port, f"gradebook_{request.node.name[:40]}".lower())


def new_database(port: int, name: str) -> str:
    """Create an empty database on the loopback server; its URL."""
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres", autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"
