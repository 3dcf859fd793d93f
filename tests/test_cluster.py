"""A class graded on a real Dask cluster on loopback: a `dask scheduler` process and three
`dask worker` processes, the course's PostgreSQL gradebook, one worker killed with SIGKILL
in the middle; the grades must be those of a serial `nbgrader autograde` of the same class.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import (
    ASSIGNMENT,
    GRADEKIT,
    differences,
    expected_points,
    make_course,
    new_database,
)
from distributed import Client

import democlass
from democlass.variants import BUGGY, CORRECT
from gradekit import autograde, cluster, course

DASK = str(Path(sys.executable).with_name("dask"))
# 14 students: correct and buggy styles, one that hangs, one that kills its kernel.
NAMES = sorted(v.name for v in CORRECT + BUGGY)[::13][:12] + ["hang-forever", "kernel-exit"]
CLASS = {f"st{i:02d}": name for i, name in enumerate(NAMES)}


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)
    return result


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and three single-threaded workers on loopback; the scheduler file."""
    folder = tmp_path_factory.mktemp("dask")
    address = folder / "scheduler.json"
    common = ["--no-dashboard"]
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(address), *common],
            stdout=subprocess.DEVNULL, stderr=open(folder / "scheduler.log", "w"),
        )
    ]  # fmt: skip
    wait_for(address.exists, 60, "the scheduler")
    for i in range(3):
        processes.append(
            subprocess.Popen(
                [DASK, "worker", "--scheduler-file", str(address), "--nthreads", "1", "--nworkers", "1",
                 "--name", f"w{i}", "--host", "127.0.0.1", "--local-directory", str(folder / f"w{i}"), *common],
                stdout=subprocess.DEVNULL, stderr=open(folder / f"w{i}.log", "w"),
            )
        )  # fmt: skip
    with Client(scheduler_file=str(address), timeout=60) as client:
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 3, 120, "three workers")
    try:
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def graded_on_cluster(tmp_path_factory, dask_cluster, postgres_port):
    """The class graded on the cluster into PostgreSQL, one worker killed mid-run, while the
    same class is graded by a serial `nbgrader autograde` into sqlite beside it."""
    url = new_database(postgres_port, "gradebook_cluster")
    folder = make_course(tmp_path_factory.mktemp("cluster") / "course")
    democlass.hand_in(folder, CLASS)
    serial = folder.parent / "serial"
    shutil.copytree(folder, serial)
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write(f'\nc.CourseDirectory.db_url = "{url}"\n')
    course.nbgrader(folder, "generate_assignment", ASSIGNMENT, "--force")  # into PostgreSQL
    plain = subprocess.Popen(
        [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"],
        cwd=serial, env=course.environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    run = subprocess.Popen(
        [GRADEKIT, "autograde", ASSIGNMENT, "--scheduler", str(dask_cluster)],
        cwd=folder, env=course.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    markers = folder / ".gradekit" / "graded" / ASSIGNMENT
    with Client(scheduler_file=str(dask_cluster), timeout=60) as client:
        wait_for(lambda: len(list(markers.glob("*.json"))) >= 4, 300, "four students graded")
        busy = wait_for(
            lambda: [w for w, keys in client.processing().items() if keys], 60, "a busy worker"
        )[0]
        on_it = [key.split("-")[1] for key in client.processing()[busy]]
        pid = client.run(os.getpid, workers=[busy])[busy]
        os.kill(pid, signal.SIGKILL)
    output, _ = run.communicate(timeout=600)
    plain.wait(timeout=600)
    return folder, serial, url, run.returncode, output, on_it


def test_every_student_is_graded_once_despite_the_killed_worker(graded_on_cluster):
    folder, _, url, returncode, output, on_it = graded_on_cluster
    assert returncode == 0, output
    assert f"Graded {len(CLASS)} of {len(CLASS)} submissions" in output, output
    assert on_it and set(on_it) <= set(CLASS)
    with course.gradebook(folder, url) as gb:
        submitted = [s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions]
    assert sorted(submitted) == sorted(CLASS)  # each exactly once
    for student in CLASS:
        assert autograde.marker_path(folder, ASSIGNMENT, student).is_file(), student


def test_cluster_grades_are_those_of_serial_nbgrader(graded_on_cluster, max_points):
    folder, serial, url, *_ = graded_on_cluster
    on_cluster = course.cell_scores(folder, ASSIGNMENT, url)
    assert not differences(on_cluster, course.cell_scores(serial, ASSIGNMENT))
    # the hang and the kernel death too
    assert not differences(on_cluster, expected_points(max_points, CLASS))


def test_the_cluster_refuses_an_sqlite_gradebook(dask_cluster, tmp_path):
    folder = make_course(tmp_path / "course")
    democlass.hand_in(folder, {"ada": "model"})
    result = subprocess.run(
        [GRADEKIT, "autograde", ASSIGNMENT, "--scheduler", str(dask_cluster)],
        cwd=folder, env=course.environment(), capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "an sqlite file cannot be shared between machines" in result.stderr


def test_a_worker_says_what_it_lacks(tmp_path):
    problems = cluster.worker_problems(
        str(tmp_path / "nowhere"), ASSIGNMENT, "0.0.0", "digest", "sqlite://"
    )
    assert any("installed, the client has 0.0.0" in p for p in problems)
    assert any("no course folder at" in p and "nowhere" in p for p in problems)
