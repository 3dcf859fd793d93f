"""Autograde a whole class in parallel, after checking what each student handed in.

Each worker process loads the course's nbgrader config once and grades whole submissions
with nbgrader's own `Autograde` converter (through `NbGraderAPI.autograde`), so grades are
those of `nbgrader autograde`; the gradebook is written by one student's grading at a time
per worker, sqlite serialising the writes. Before grading, notebooks nbgrader cannot read
(not JSON, empty) are set aside, so the rest of that student's work is still graded.
"""

import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from . import course

_API = None  # the worker process's NbGraderAPI


@dataclass
class Outcome:
    """What happened to one student's submission."""

    student: str
    graded: bool
    problems: list[str] = field(default_factory=list)
    error: str = ""


def check_submission(folder: Path, notebooks: list[str]) -> list[str]:
    """Problems of one submission folder, each naming the file; unreadable notebooks are
    renamed to `<name>.unreadable` so that nbgrader grades the others."""
    problems = []
    if not folder.is_dir():
        return [f"{folder}: not a folder"]
    handed_in = sorted(p.name for p in folder.glob("*.ipynb"))
    for name in handed_in:
        path = folder / name
        if name not in notebooks:
            problems.append(
                f"{path}: not a notebook of this assignment (expected {', '.join(notebooks)})"
            )
            continue
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
            if (
                not isinstance(content, dict)
                or "cells" not in content
                and "worksheets" not in content
            ):
                raise ValueError("no cells")
        except (ValueError, UnicodeDecodeError) as error:
            path.rename(path.with_name(name + ".unreadable"))
            problems.append(f"{path}: not a readable notebook ({error}); graded as missing")
    for path in sorted(folder.glob("*.ipynb.unreadable")):
        problems.append(f"{path}: set aside as unreadable; graded as missing")
    for name in notebooks:
        if name not in handed_in:
            problems.append(f"{folder / name}: missing; its checks score 0")
    return problems


def _start_worker(course_dir: str) -> None:
    global _API
    from nbgrader.apps.api import NbGraderAPI

    os.chdir(course_dir)
    os.environ["PATH"] = course.environment()["PATH"]
    config = PyFileConfigLoader("nbgrader_config.py", path=course_dir).load_config()
    config.CourseDirectory.root = course_dir
    _API = NbGraderAPI(config=config)


def _grade(args: tuple[str, str]) -> tuple[str, bool, str]:
    assignment, student = args
    for attempt in range(3):  # sqlite may stay locked by the other workers for a while
        result = _API.autograde(assignment, student, force=True, create=True)
        error = result.get("error", "") or ""
        if result["success"] or "database is locked" not in error:
            break
        time.sleep(1 + attempt)
    return student, bool(result["success"]), error + (result.get("log", "") or "")[-2000:]


def autograde_class(
    course_dir: Path,
    assignment: str,
    students: list[str] | None = None,
    jobs: int | None = None,
    progress=None,
) -> list[Outcome]:
    """Check and autograde every submission (or the named ones) on `jobs` processes."""
    course_dir = Path(course_dir).resolve()
    submitted = course_dir / "submitted"
    names = students or sorted(p.name for p in submitted.iterdir() if p.is_dir())
    notebooks = sorted(p.name for p in (course_dir / "release" / assignment).glob("*.ipynb"))
    outcomes = {}
    to_grade = []
    for student in names:
        folder = submitted / student / assignment
        problems = check_submission(folder, notebooks)
        outcomes[student] = Outcome(student, graded=False, problems=problems)
        if folder.is_dir() and any(folder.glob("*.ipynb")):
            to_grade.append(student)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(to_grade) or 1))
    context = multiprocessing.get_context("spawn")
    started = time.monotonic()
    with context.Pool(jobs, initializer=_start_worker, initargs=(str(course_dir),)) as pool:
        tasks = [(assignment, student) for student in to_grade]
        for done, (student, success, error) in enumerate(pool.imap_unordered(_grade, tasks), 1):
            outcome = outcomes[student]
            outcome.graded, outcome.error = success, "" if success else error
            if progress:
                failed = sum(1 for o in outcomes.values() if o.error)
                progress(done, len(tasks), failed, time.monotonic() - started)
    return [outcomes[student] for student in names]


def print_progress(done: int, total: int, failed: int, elapsed: float) -> None:
    """A one-line progress bar on stderr: done/total, failures, time left."""
    width = 30
    filled = width * done // max(total, 1)
    left = elapsed / done * (total - done) if done else 0
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} graded, "
        f"{failed} failed, ~{left:.0f} s left "
    )
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def summary(outcomes: list[Outcome], seconds: float) -> str:
    """What was graded, what went wrong and for whom."""
    graded = sum(o.graded for o in outcomes)
    lines = [f"Graded {graded} of {len(outcomes)} submissions in {seconds:.0f} s."]
    for o in outcomes:
        for problem in o.problems:
            lines.append(f"  {o.student}: {problem}")
        if o.error:
            last = o.error.strip().splitlines()[-1] if o.error.strip() else "unknown error"
            lines.append(f"  {o.student}: NOT GRADED by nbgrader: {last}")
    return "\n".join(lines)
