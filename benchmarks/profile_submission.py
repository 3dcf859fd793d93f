"""Where the time of one submission goes, kernels warm and cold.

    python benchmarks/profile_submission.py --size 20

One synthetic class (as in autograde_speed.py) is graded by nbgrader's autograde in this
process, serially, twice: with warm kernels and with cold ones (one database engine per
gradebook, as in the kit's grading workers). The kit's and nbgrader's steps are timed
(wall clock, which here is the time the grader waits for the kernel or works itself) and
shown per submission:

- kernel start: the kernel manager's start and the client's wait until the kernel answers;
- student cells: the notebook's own cells, run in the kernel;
- checks: the judge, every check in its own copy of the kernel;
- kernel stop: the kernel's shutdown and its folder's removal;
- database: nbgrader's gradebook queries and commits (SQLAlchemy sessions);
- nbgrader's own: the rest (reading, sanitising, writing the notebooks, its other steps).
"""

import argparse
import functools
import inspect
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from nbgrader.apps.nbgraderapp import NbGraderApp
from sqlalchemy.orm import Session

from gradekit import course, judge, kernel
from gradekit.execute import ResilientExecute

sys.path.insert(0, str(Path(__file__).parent))
from autograde_speed import make_class  # noqa: E402

import democlass  # noqa: E402

STEPS = {  # step: the functions whose time is its own
    "kernel start": [
        (kernel.GradingKernelManager, "start_kernel"),
        (kernel.GradingKernelClient, "wait_for_ready"),
    ],
    "student cells": [(ResilientExecute, "preprocess_cell")],
    "checks": [(judge.Judge, "judge_all")],
    "kernel stop": [(kernel.GradingKernelManager, "shutdown_kernel")],
    "database": [(Session, "execute"), (Session, "commit")],
}
spent: Counter = Counter()
inside: Counter = Counter()  # a step's calls in progress (its nested calls count once)


def timed(step: str, function):
    """The function, its wall time added to the step's."""

    def start():
        inside[step] += 1
        return time.perf_counter()

    def end(began):
        inside[step] -= 1
        if not inside[step]:
            spent[step] += time.perf_counter() - began

    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def measured(*args, **kwargs):
            began = start()
            try:
                return await function(*args, **kwargs)
            finally:
                end(began)

    else:

        @functools.wraps(function)
        def measured(*args, **kwargs):
            began = start()
            try:
                return function(*args, **kwargs)
            finally:
                end(began)

    return measured


def grade(folder: Path, warm: bool) -> float:
    """Autograde the class in this process; its wall time."""
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.GradingKernelManager.warm = {warm}\n")
    os.chdir(folder)
    began = time.perf_counter()
    try:
        NbGraderApp.launch_instance(argv=["autograde", democlass.ASSIGNMENT, "--force"])
    except SystemExit:
        pass
    NbGraderApp.clear_instance()
    kernel.stop_warm_parent()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("MPLBACKEND", "agg")
    course.share_database_engines()  # as every grading worker of the kit does
    course.create_tables_only_when_missing()
    for step, targets in STEPS.items():
        for owner, name in targets:
            setattr(owner, name, timed(step, getattr(owner, name)))
    columns = {}
    with tempfile.TemporaryDirectory() as scratch:
        base = make_class(Path(scratch) / "class", args.size)
        for mode in ("cold", "warm"):
            folder = Path(scratch) / mode
            shutil.copytree(base, folder)
            spent.clear()
            total = grade(folder, warm=mode == "warm")
            columns[mode] = {**spent, "nbgrader's own": total - sum(spent.values())}
            columns[mode]["total"] = total
    print(f"| per submission ({args.size} graded serially) | cold kernels | warm kernels |")
    print("| --- | --- | --- |")
    for step in [*STEPS, "nbgrader's own", "total"]:
        cold, warm = (columns[mode].get(step, 0) / args.size for mode in ("cold", "warm"))
        print(f"| {step} | {cold:.3f} s | {warm:.3f} s |")


if __name__ == "__main__":
    main()
