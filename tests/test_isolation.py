"""Checks in disposable copies of the kernel: the order of the checks changes no verdict, the
grading process stays small whatever a submission sends, what a check reads of the
student's answers is never text taken for numbers, and no check starts before the
grader's stdin line to the kernel is up.

One class (honest, buggy and hostile variants, among them the flooding and the holding one)
is graded once by plain `nbgrader autograde`, in one process whose peak memory is
measured, with the tests of each grade cell (and grade cells in a row) in a shuffled order,
and the kernels' folders outside /tmp (so that only the copies' own hiding keeps the kernel's
sockets out of their reach).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile

import nbformat
import numpy as np
import pytest
from conftest import ASSIGNMENT, PART1, PART2, expected_points, make_course
from jupyter_client import KernelManager

import democlass
from gradekit import agent, autograde, checks, course, submissions
from gradekit.bridge import KernelClient
from gradekit.judge import submission_digest
from gradekit.review import budgets_exceeded

CLASS = {
    name: name
    for name in (
        "model",
        "sigmoid-no-one",
        "forward-no-b1",
        "train-stop-inverted",
        "kept-in-memory",
        "kept-in-shared-memory",
        "kept-in-kernel",
        "formula-from-lent-forward",
        "dies-under-lent-forward",
        "floods-the-grader",
        "holds-its-checks",
    )
}
# Run in the grading process: plain nbgrader autograde, then its own peak memory.
MEASURED = """
import resource
from nbgrader.apps.nbgraderapp import NbGraderApp
try:
    NbGraderApp.launch_instance(argv=["autograde", "{assignment}"])
except SystemExit:
    pass
print("MEASURED", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.fixture(scope="module")
def shuffled_class(tmp_path_factory):
    folder = make_course(tmp_path_factory.mktemp("isolation") / "course")
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write("\nc.ResilientExecute.check_order = 7\n")
    democlass.hand_in(folder, CLASS)
    with tempfile.TemporaryDirectory(dir="/var/tmp") as kernels:
        result = subprocess.run(
            [sys.executable, "-c", MEASURED.format(assignment=ASSIGNMENT)],
            cwd=folder,
            env={**course.environment(), "TMPDIR": kernels},
            capture_output=True,
            text=True,
        )
    line = [x for x in result.stdout.splitlines() if x.startswith("MEASURED")]
    assert line, result.stderr[-3000:]
    assert "start cold" not in result.stderr, "the kernels' folders outside /tmp: no warm kernels"
    _, peak_kib = line[0].split()
    return folder, course.cell_scores(folder, ASSIGNMENT), int(peak_kib) * 1024


def test_shuffled_checks_give_the_points_of_the_notebook_order(shuffled_class, max_points):
    _, scores, _ = shuffled_class
    expected = expected_points(max_points, CLASS)
    got = {
        student: {cell: scores[student].get(cell, 0.0) for cell in max_points} for student in CLASS
    }
    assert got == expected


def test_the_grading_process_stays_under_one_gib(shuffled_class):
    """Peak resident memory of the process that graded the class, the flooding student
    among them (its answers would decode to millions of objects)."""
    _, _, peak = shuffled_class
    assert peak < 2**30, f"the grading process peaked at {peak / 2**20:.0f} MiB"


def test_budgets_are_named_in_the_failed_checks(shuffled_class):
    folder, _, _ = shuffled_class
    notebooks = sorted(p.name for p in (folder / "release" / ASSIGNMENT).glob("*.ipynb"))

    def over(student, check):
        lines = budgets_exceeded(folder / "autograded" / student / ASSIGNMENT, notebooks)
        return "\n".join(line for line in lines if f", {check}: " in line)

    assert "budget of 250,000 values" in over("floods-the-grader", "test_mse_loss_values")
    assert "time budget (10 s)" in over("holds-its-checks", "test_predict_samples_values")


# s tells, in the error it raises, a digest of the inputs a check gave it.
TELLS_ITS_INPUTS = "def s(x):\n    raise ValueError(np.asarray(x).tobytes().hex()[-24:])"


def test_a_resubmission_that_changes_only_markdown_draws_new_inputs(tmp_path):
    """Graded end to end: a regrade of the same files draws the same inputs; one more space
    in a markdown cell of the other notebook draws new ones."""
    folder = make_course(tmp_path / "course")
    answers = submissions.model_answers(folder / "source" / ASSIGNMENT)
    handed_in = folder / "submitted" / "pat" / ASSIGNMENT
    submissions.write_submission(
        folder / "release" / ASSIGNMENT,
        handed_in,
        submissions.apply_changes(answers, {"s": TELLS_ITS_INPUTS}),
    )
    told = []
    for edit in (False, False, True):
        if edit:
            other = handed_in / PART2
            nb = nbformat.read(other, as_version=4)
            next(c for c in nb.cells if c.cell_type == "markdown").source += " "
            nbformat.write(nb, other)
        (outcome,) = autograde.autograde_class(folder, ASSIGNMENT, students=["pat"], jobs=1)
        assert outcome.graded, outcome.error
        graded = folder / "autograded" / "pat" / ASSIGNMENT / PART1
        told.append(
            [
                output["evalue"]
                for cell in nbformat.read(graded, as_version=4).cells
                for output in cell.get("outputs", [])
                if output.get("output_type") == "error" and "ValueError" in output["evalue"]
            ]
        )
    assert told[0], "s was never called with inputs"
    assert told[1] == told[0]
    assert told[2] != told[0]


def test_any_changed_cell_changes_the_inputs_and_outputs_do_not(tmp_path):
    nb = nbformat.read(
        next((make_course(tmp_path / "c") / "release" / ASSIGNMENT).glob("*.ipynb")), 4
    )
    digest = submission_digest(nb)
    markdown = next(cell for cell in nb.cells if cell.cell_type == "markdown")
    markdown.source += " "
    assert submission_digest(nb) != digest
    markdown.source = markdown.source[:-1]
    code = next(cell for cell in nb.cells if cell.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text="printed")]
    assert submission_digest(nb) == digest


@pytest.mark.parametrize(
    "text", ["  1.5  ", "1" + " " * 100_000, b"2.0", ["1.0", 2.0], [[0.5], ["3"]]]
)
def test_text_is_never_a_number(text):
    with pytest.raises(checks.CheckFailed):
        checks.numbers(text)
    assert not checks.matches(
        text, np.ones(np.shape(text)) if not isinstance(text, str | bytes) else 1.0
    )


@pytest.mark.parametrize(
    "own, answer, kind",
    [
        (np.float64(1.0), 0.25, np.float64),
        (np.array(2.0), np.float64(0.5), np.ndarray),
        ([np.int64(1), np.int64(0)], [1, 0], np.int64),
        (1.0, np.float64(0.5), float),
    ],
)
def test_lent_answers_keep_the_students_types(own, answer, kind):
    kept = agent.like(answer, own)
    first = kept[0] if isinstance(kept, list) else kept
    assert type(first) is kind and np.ndim(kept) == np.ndim(own)
    assert json.dumps(agent.pack(kept)) == json.dumps(agent.pack(agent.like(kept, own)))


def test_a_lent_answer_is_never_rounded_to_the_students_type():
    assert agent.like(0.5, np.int64(1)) == 0.5 and type(agent.like(0.5, np.int64(1))) is float


def test_the_first_check_waits_for_the_kernels_stdin_line():
    """A kernel drops an input request to a client whose stdin line it has not met yet (and
    waits for the answer forever): the bridge's client starts no check before it is up."""
    km = KernelManager()
    km.start_kernel()
    client = KernelClient()
    client.load_connection_info(km.get_connection_info())
    nowhere = KernelClient()
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        nowhere.load_connection_info(
            {**km.get_connection_info(), "stdin_port": unused.getsockname()[1]}
        )
        try:
            client.start_channels(shell=True, iopub=False, stdin=True, hb=False)
            assert client.wait_for_stdin(15)
            client.execute("input('?')", allow_stdin=True)
            assert client.stdin_channel.get_msg(timeout=15)["msg_type"] == "input_request"
            nowhere.start_channels(shell=False, iopub=False, stdin=True, hb=False)
            assert not nowhere.wait_for_stdin(0.5)
        finally:
            client.stop_channels()
            nowhere.stop_channels()
            km.shutdown_kernel(now=True)


# Run in a process of its own (its forks are not the test worker's): a child forked both
# ways reports its namespaces.
FORKED = """
import ctypes, json, os, sys
from gradekit import agent

NAMES = ("user", "mnt", "pid", "ipc", "net", "uts")
libc = ctypes.CDLL(None, use_errno=True)
own = {name: os.stat(f"/proc/self/ns/{name}").st_ino for name in NAMES}
for clone3 in (True, False):
    read, write = os.pipe()
    pid, isolated = agent.fork_isolated(libc, clone3=clone3)
    if pid == 0:
        seen = {name: os.stat(f"/proc/self/ns/{name}").st_ino for name in NAMES}
        shared = [name for name in NAMES if seen[name] == own[name]]
        ids = [os.getpid(), os.getuid(), os.getgid()]
        os.write(write, json.dumps([isolated, shared, ids]).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as line:
        print(json.dumps({"clone3": clone3, "pid": pid, "child": json.loads(line.read())}))
    if clone3:
        os.waitpid(pid, 0)
"""


def test_a_check_s_copy_is_forked_into_namespaces_of_its_own_either_way():
    # One clone3 call (the maker of copies), or an intermediate process that unshares and
    # forks (the warm parent, and systems without clone3): the same child.
    result = subprocess.run(
        [sys.executable, "-c", FORKED], capture_output=True, text=True, timeout=60
    )
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["clone3"] for r in reports] == [True, False], result.stderr[-2000:]
    for report in reports:
        isolated, shared, (pid, uid, gid) = report["child"]
        assert report["pid"] > 0 and isolated, report
        assert shared == [], f"the child shares namespaces: {report}"
        assert pid == 1, f"the child is not the first process of its pid namespace: {report}"
        assert (uid, gid) == (os.getuid(), os.getgid()), f"the child's ids changed: {report}"
