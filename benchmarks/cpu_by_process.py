"""Where a class's CPU goes, by the kind of process that spent it.

    python benchmarks/cpu_by_process.py --size 40 --jobs 2

One synthetic class (as in autograde_speed.py) is graded by `gradekit autograde` on --jobs
workers with warm kernels, while `perf record -a` samples every core (Debian's linux-perf;
run it as root, on an otherwise idle machine). Each sample is counted for its process's
kind, known from where the process sits in the tree perf saw being forked:

- grading workers: nbgrader, the gradebook, the judge and the grader's side of each check;
- warm parents, and each kernel's init (the first process of its pid namespace);
- kernels: the notebooks' own cells, ipykernel, and the forks of the makers;
- makers of copies (with any process a notebook forks itself), then the copies, one per
  check: its setup, the student's code the check calls, its end;
- the system's own threads (a namespace's cleanup, the disk), and the idle cores.

Prints core-seconds for each kind, in all and per submission.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from gradekit import autograde

sys.path.insert(0, str(Path(__file__).parent))
from autograde_speed import make_class  # noqa: E402

import democlass  # noqa: E402

RATE = 499  # samples per second and core
BELOW_WARM_PARENT = {  # forks below the warm parent: what the process is
    0: "warm parents and kernels' inits",
    1: "warm parents and kernels' inits",
    2: "warm parents and kernels' inits",
    3: "kernels",
    4: "makers of copies",
}
FORK = re.compile(r"PERF_RECORD_FORK\((\d+):\d+\):\((\d+):\d+\)")
EXEC = re.compile(r"PERF_RECORD_COMM exec: (.*):(\d+)/\d+")
SAMPLE = re.compile(r"^\s*(.+?)\s+(\d+)\s+[\d.]+:\s*$")


def record(folder: Path, jobs: int, data: Path) -> float:
    """Grade the class under perf; the wall time of the grading."""
    perf = subprocess.Popen(["perf", "record", "-a", "-F", str(RATE), "-o", str(data)])
    time.sleep(1)  # perf is sampling
    start = time.monotonic()
    autograde.autograde_class(folder, democlass.ASSIGNMENT, jobs=jobs)
    seconds = time.monotonic() - start
    perf.send_signal(signal.SIGINT)
    perf.wait()
    return seconds


def kinds(data: Path, benchmark: int) -> Counter:
    """Samples per kind of process."""
    script = ["perf", "script", "-i", str(data), "--show-task-events", "-F", "comm,pid,time"]
    lines = subprocess.run(script, capture_output=True, text=True, check=True).stdout
    parent, program, counted = {}, {}, Counter()
    for line in lines.splitlines():
        if fork := FORK.search(line):
            child, forker = int(fork.group(1)), int(fork.group(2))
            if child != forker:  # a process, not a thread
                parent[child] = forker
        elif found := EXEC.search(line):
            program[int(found.group(2))] = found.group(1)
        elif sample := SAMPLE.match(line):
            comm, pid = sample.group(1), int(sample.group(2))
            counted[kind(pid, comm, parent, program, benchmark)] += 1
    return counted


def kind(pid: int, comm: str, parent: dict, program: dict, benchmark: int) -> str:
    """The kind of a sampled process (see the module's docstring); `program` holds the
    processes that started a program, `parent` every fork."""
    if pid == 0:
        return "idle"
    started, forks = _started(pid, parent, program)
    ancestors = [started]
    while ancestors[-1] in parent:
        ancestors.append(parent[ancestors[-1]])
    if benchmark not in ancestors:
        return "perf" if comm == "perf" else "the system's own threads"
    if started == benchmark:
        return "the benchmark (its pool of workers)"
    if program.get(started) == "bwrap":
        return "warm parents and kernels' inits"
    if started in parent:
        above = _started(parent[started], parent, program)[0]
        if program.get(above) == "bwrap":  # the warm parent, started in the sandbox
            return BELOW_WARM_PARENT.get(forks, "copies")
    return "grading workers"


def _started(pid: int, parent: dict, program: dict) -> tuple[int, int]:
    """The nearest process at or above this one that started a program, and how many forks
    below it this one is."""
    forks = 0
    while pid not in program and pid in parent:
        pid, forks = parent[pid], forks + 1
    return pid, forks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = make_class(Path(scratch) / "class", args.size)
        seconds = record(folder, args.jobs, Path(scratch) / "perf.data")
        counted = kinds(Path(scratch) / "perf.data", os.getpid())
    print(f"class of {args.size}, {args.jobs} workers, warm kernels: {seconds:.1f} s\n")
    print("| process | core-seconds | per submission |")
    print("| --- | --- | --- |")
    for name, samples in counted.most_common():
        core_seconds = samples / RATE
        if core_seconds < 0.05:
            continue
        print(f"| {name} | {core_seconds:.1f} | {core_seconds / args.size:.3f} |")


if __name__ == "__main__":
    main()
