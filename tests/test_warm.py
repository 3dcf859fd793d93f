"""Warm kernels: forked from one warm parent per grading process, each exactly as isolated
as a kernel started cold.

One small class is graded twice by plain `nbgrader autograde` (one process, so one warm
parent, students in name order): warm, as configured, and cold
(`--GradingKernelManager.warm=False`). The first student's notebook leaves every trace it
can (files, module attributes, environment variables, monkeypatched numpy, a seeded random
state, a thread and processes still writing); the next students' notebooks report what they
see. Warm, they see nothing of it, and they see the same world as the same notebooks
started cold.
"""

import json
import os
import signal
import time

import nbformat
import pytest
from conftest import ASSIGNMENT, PART1, PART2, make_course

import democlass
from gradekit import course, kernel, processes

LEAVER, WATCHERS = "a-leaves-traces", ("b-looks", "c-looks")
TRACES = ["/tmp/left", "/tmp/thread", "/tmp/process", "/var/tmp/left", "/dev/shm/left"]
TRACES += ["left", "thread", "process", "~/left"]
FIRST = """
import random, sys
started_with = sorted(m for m in ("numpy", "matplotlib.pyplot") if m in sys.modules)
import numpy as np
random_state = [np.random.rand(), random.random()]
"""
LEAKED = b"\nWRITTEN-TO-THE-GRADER\n"
LEAVE = f"""
import builtins, os, random, subprocess, threading, time
import matplotlib, numpy as np
np.random.seed(42)
random.seed(42)
np.left = matplotlib.left = builtins.left = "a trace"
np.dot = lambda *args, **kwargs: 0.0
os.environ["LEFT"] = "a trace"

def write(name):
    for path in {TRACES!r}:
        if path.rsplit("/", 1)[-1] in ("left", name):
            try:
                with open(os.path.expanduser(path), "w") as file:
                    file.write("a trace")
            except OSError:
                pass

write("left")

def keep_writing(name):
    while True:
        write(name)
        time.sleep(0.01)

threading.Thread(target=keep_writing, args=("thread",), daemon=True).start()
if os.fork() == 0:
    os.setsid()
    keep_writing("process")
subprocess.Popen(["sleep", "600"], start_new_session=True)

for fd in map(int, os.listdir("/proc/self/fd")):  # the streams the kernel was started with
    try:
        target = os.readlink(f"/proc/self/fd/{{fd}}")
        if target.startswith(("pipe:", "/dev/pts", "/dev/tty")) or os.path.isfile(target):
            os.write(fd, {LEAKED!r})
    except OSError:
        pass
"""
LOOK = f"""
import builtins, glob, json, os, random, re, sys, threading
import matplotlib, numpy as np

def kind(path):
    path = re.sub(r"gradekit-kernel-[^/]*", "K", path)
    return re.sub(r"\\[.*\\]", "", path)

def target(fd):
    try:
        return os.readlink(f"/proc/self/fd/{{fd}}")
    except OSError:  # the listing's own
        return ""

def alive(pid):
    with open(f"/proc/{{pid}}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[0] not in "ZX"

folders = ["/", "/tmp", "/var/tmp", "/dev", "/dev/shm", os.getcwd(), os.path.expanduser("~")]
seen = {{
    "started_with": started_with,
    "attributes": [hasattr(m, "left") for m in (np, matplotlib, builtins)],
    "numpy_dot": float(np.dot(np.ones(2), np.ones(2))),
    "environment": sorted(os.environ),
    "traces": [p for p in {TRACES!r} if os.path.exists(os.path.expanduser(p))],
    "tmp": sorted(kind(p) for p in os.listdir("/tmp")),
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and alive(p)),
    "files": sorted(filter(None, (kind(target(fd)) for fd in os.listdir("/proc/self/fd") if int(fd) > 2))),
    "writable": [os.access(f, os.W_OK) for f in folders],
    "kit": sorted(m for m in sys.modules if m.startswith("gradekit") or m in ("agent", "launcher", "zygote")),
    "uid": os.getuid() != 0,
    "random": random_state,
}}
print("SEEN", json.dumps(seen))
"""


def graded(folder, *options) -> dict[str, dict]:
    """Autograde the class, then what each student's last cell printed."""
    result = course.nbgrader(folder, "autograde", ASSIGNMENT, "--force", *options, check=False)
    seen = {}
    for student in WATCHERS:
        nb = nbformat.read(folder / "autograded" / student / ASSIGNMENT / PART1, as_version=4)
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
        line = [x for x in text.splitlines() if x.startswith("SEEN ")]
        assert line, (student, nb.cells[-1].outputs, result.stderr[-3000:])
        seen[student] = json.loads(line[0].removeprefix("SEEN "))
    return {
        "seen": seen,
        "scores": course.cell_scores(folder, ASSIGNMENT),
        "log": result.stderr,
        "output": result.stdout + result.stderr,
    }


@pytest.fixture(scope="module")
def traced_class(tmp_path_factory):
    runs = {}
    for mode, options in (("warm", ()), ("cold", ("--GradingKernelManager.warm=False",))):
        folder = make_course(tmp_path_factory.mktemp(mode) / "course")
        democlass.hand_in(folder, {name: "model" for name in (LEAVER, *WATCHERS)})
        for student in (LEAVER, *WATCHERS):
            path = folder / "submitted" / student / ASSIGNMENT / PART1
            nb = nbformat.read(path, as_version=4)
            last = LEAVE if student == LEAVER else LOOK
            nb.cells.insert(0, nbformat.v4.new_code_cell(FIRST))
            nb.cells.append(nbformat.v4.new_code_cell(last))
            nbformat.write(nb, path)
            (path.parent / PART2).unlink()
        runs[mode] = graded(folder, *options)
    return runs


def test_kernels_are_forked_warm_unless_the_course_asks_for_cold(traced_class):
    for student in WATCHERS:
        assert traced_class["warm"]["seen"][student]["started_with"] == [
            "matplotlib.pyplot",
            "numpy",
        ]
        assert traced_class["cold"]["seen"][student]["started_with"] == []


def test_nothing_a_notebook_leaves_reaches_the_next_kernel(traced_class):
    for student in WATCHERS:
        seen = traced_class["warm"]["seen"][student]
        assert seen["attributes"] == [False, False, False], "module attributes"
        assert seen["numpy_dot"] == 2.0, "numpy monkeypatched"
        assert "LEFT" not in seen["environment"]
        assert seen["traces"] == [], "files, from the notebook, a thread or a process"
        assert seen["kit"] == [], "the kit's modules"
        assert seen["processes"] == [1, 2], "processes other than the kernel and its init"


def test_nothing_a_kernel_writes_reaches_the_graders_output(traced_class):
    for mode in ("warm", "cold"):
        assert LEAKED.decode().strip() not in traced_class[mode]["output"], mode


def test_random_state_is_reseeded_from_the_system(traced_class):
    import random

    import numpy as np

    np.random.seed(42)
    random.seed(42)
    seeded = [np.random.rand(), random.random()]
    values = [traced_class["warm"]["seen"][student]["random"] for student in WATCHERS]
    for pair in values:
        assert pair[0] != seeded[0] and pair[1] != seeded[1]
    assert values[0][0] != values[1][0] and values[0][1] != values[1][1]


def test_a_warm_kernel_sees_what_a_cold_one_sees(traced_class):
    for student in WATCHERS:
        warm, cold = (traced_class[mode]["seen"][student] for mode in ("warm", "cold"))
        for key in ("environment", "tmp", "processes", "writable", "uid", "kit"):
            assert warm[key] == cold[key], key
        # the kernel's own files only: its standard streams read and write nothing (a cold
        # kernel's are the grader's), IPython's history in its own /tmp, and nothing of its
        # parent's or an earlier kernel's
        own = {f for f in warm["files"] if f == "/dev/null" or f.startswith("/tmp/.ipython/")}
        assert set(warm["files"]) - own <= set(cold["files"])


def test_warm_and_cold_kernels_give_the_same_grades(traced_class):
    warm, cold = traced_class["warm"]["scores"], traced_class["cold"]["scores"]
    assert warm == cold
    assert set(warm) == {LEAVER, *WATCHERS}
    assert "cold" not in traced_class["warm"]["log"]


def test_a_stuck_warm_parent_means_cold_kernels_with_a_message(tmp_path, caplog, monkeypatch):
    """The warm parent stopped (as a machine under strain might): the kernel starts cold,
    the log says so once, and the kernels after it start cold too."""
    monkeypatch.setattr(kernel, "_zygote_problem", None)  # this test's process only

    async def start_and_stop():
        manager = kernel.GradingKernelManager(kernel_name="python3")
        await manager.start_kernel(cwd=str(tmp_path))
        client = manager.client()
        client.start_channels()
        await client.wait_for_ready(timeout=30)
        reply = await client.execute_interactive("1 + 1", timeout=30)
        client.stop_channels()
        await manager.shutdown_kernel(now=True)
        return manager.zygote, reply["content"]["status"]

    import asyncio

    zygote, status = asyncio.run(start_and_stop())
    assert zygote is not None and status == "ok"
    (parent,) = (  # the warm parent (bubblewrap's child), not the init of a kernel it forked
        pid
        for pid in processes.descendants(zygote.process.pid)
        if processes.read(f"/proc/{pid}/cmdline").split("\0")[1].endswith("zygote.py")
        and processes.read(f"/proc/{processes.parent_pid(pid)}/cmdline").startswith("bwrap")
    )
    os.kill(parent, signal.SIGSTOP)
    started = time.monotonic()
    zygote, status = asyncio.run(start_and_stop())
    assert zygote is None and status == "ok"
    assert time.monotonic() - started < 30
    assert "start cold" in caplog.text
    zygote, status = asyncio.run(start_and_stop())
    assert zygote is None and status == "ok"
    assert caplog.text.count("start cold") == 1
    kernel.stop_warm_parent()
