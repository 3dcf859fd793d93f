"""Autograde a whole class in parallel, after checking what each student handed in.

Each worker process loads the course's nbgrader config once and grades whole submissions
with nbgrader's own `Autograde` converter (through `NbGraderAPI.autograde`), so grades are
those of `nbgrader autograde`. Workers are forked by a server process that imports nbgrader
and the kit once, while the submissions are read (multiprocessing's forkserver; a new Python
for each where the platform has none), and take the grader's environment. The gradebook
(sqlite, or any `CourseDirectory.db_url` such as PostgreSQL) is written by one student's
grading at a time per worker. Before grading, notebooks nbgrader cannot read (not JSON,
empty) are set aside, so the rest of that student's work is still graded.

A re-run grades only what is not yet graded. After nbgrader grades a student successfully, the
worker writes a marker, `.gradekit/graded/<assignment>/<student>.json`, holding a fingerprint
of the submission and of the assignment's source, and how long the grading took; the worker
deletes it before grading starts. A student counts as graded when the marker's fingerprint
is the current one, every notebook handed in is in `autograded/`, and the gradebook has the
submission; a crash in the middle of a student leaves no marker, so that student is graded
again. A regrade starts with the students never graded, then those whose last grading took
longest (so that one slow notebook does not run alone at the end while the others wait).

Each worker, with every process it starts (its warm kernel parent, its kernels, their copies
for the checks), keeps to a core of its own when there are no more workers than cores
(`c.GradingWorkers.one_core_each`): one worker's chain of processes, each waiting for the
next, then never waits in another core's queue while its own core idles.

Shards split a class between machines that share the course folder: shard K of N holds the
students whose id hashes (CRC-32) to K-1 modulo N, the same on every machine whatever each
one's directory listing shows.
"""

import ast
import gc
import hashlib
import importlib
import json
import multiprocessing
import os
import re
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import SynchronizedArray
from pathlib import Path
from typing import NamedTuple

from traitlets import Bool
from traitlets.config import Configurable

from . import course, late
from .review import budgets_exceeded, code_to_review

_API = None  # the worker process's NbGraderAPI
_SETUP = ("", "")  # the worker process's course folder and config folder

# Errors another grader's concurrent write can cause, which a second attempt gets past:
# sqlite's lock, and PostgreSQL's unique-constraint race when two processes create the same
# row at once (nbgrader's update_or_create_* and check_course look a row up, then insert it)
# or the same tables of a new gradebook.
TRANSIENT_ERRORS = (
    "database is locked",
    "UniqueViolation",
    "DuplicateTable",
    "DuplicateObject",
    "could not serialize access",
    "deadlock detected",
)
ATTEMPTS = 4
# What a grading worker imports before its first student (nbgrader alone takes 1 s).
WORKER_MODULES = [
    "gradekit.autograde",
    "gradekit.judge",
    "nbgrader.apps.api",
    "nbgrader.converters.autograde",
]
IGNORED_FILES = {".ipynb_checkpoints", "__pycache__"}
LEAVES = (ast.Return, ast.Raise, ast.Yield, ast.YieldFrom, ast.Await)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


class GradingWorkers(Configurable):
    """How `gradekit autograde` and `gradekit watch` run their workers on this machine."""

    one_core_each = Bool(
        True,
        help="Keep each worker, with its kernels and their copies, on a core of its own when "
        "there are no more workers than cores this process may use (on 2 cores, a class of "
        "39 graded in 28 s instead of 33). False: let the system move them between cores, "
        "as on a machine whose cores other busy programs share.",
    ).tag(config=True)


@dataclass
class Outcome:
    """What happened to one student's submission."""

    student: str
    graded: bool
    problems: list[str] = field(default_factory=list)
    error: str = ""
    skipped: bool = False  # graded by an earlier run, and unchanged since
    review: list[str] = field(default_factory=list)  # code worth a look by hand
    over_budget: list[str] = field(default_factory=list)  # checks failed over a budget


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


def in_shard(student: str, shard: tuple[int, int] | None) -> bool:
    """Whether the student is in shard K of N (None: the whole class)."""
    if shard is None:
        return True
    k, n = shard
    return zlib.crc32(student.encode("utf-8")) % n == k - 1


def files_digest(*tops: Path) -> str:
    """A hash of the names and contents of the files in these folders (or of these files),
    checkpoints and bytecode caches left out."""
    digest = hashlib.sha256()
    for top in tops:
        for path in [top] if top.is_file() else sorted(top.rglob("*")):
            name = path.name if path == top else str(path.relative_to(top))
            if path.is_file() and not IGNORED_FILES & set(Path(name).parts):
                digest.update(name.encode("utf-8") + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        digest.update(b"\1")
    return digest.hexdigest()


def fingerprint(course_dir: Path, assignment: str, student: str) -> str:
    """A hash of every file the student handed in, of the assignment's source (its checks)
    and of the student's extension, if any: it changes when the submission or the grading
    does."""
    stamp = files_digest(
        course_dir / "submitted" / student / assignment, course_dir / "source" / assignment
    )
    extension = late.extensions_of(course_dir, assignment).get(student)
    if extension is None:
        return stamp
    return hashlib.sha256(f"{stamp} due {extension['due']}".encode()).hexdigest()


def marker_path(course_dir: Path, assignment: str, student: str) -> Path:
    """Where a successful grading of the student's submission is recorded."""
    return course_dir / ".gradekit" / "graded" / assignment / f"{student}.json"


def is_graded(
    course_dir: Path,
    assignment: str,
    student: str,
    stamp: str,
    notebooks: list[str],
    in_gradebook: set[str],
) -> bool:
    """Whether the student's submission, as its fingerprint `stamp` says it is now, was fully
    graded into this gradebook: marker, gradebook entry and every graded notebook there."""
    if student not in in_gradebook:
        return False
    try:
        marker = json.loads(marker_path(course_dir, assignment, student).read_text())
    except (OSError, ValueError):
        return False
    submitted = course_dir / "submitted" / student / assignment
    autograded = course_dir / "autograded" / student / assignment
    return marker.get("fingerprint") == stamp and all(
        (autograded / name).is_file() for name in notebooks if (submitted / name).is_file()
    )


def last_seconds(course_dir: Path, assignment: str, student: str) -> float:
    """How long the student's last successful grading took (infinite if unknown)."""
    try:
        seconds = json.loads(marker_path(course_dir, assignment, student).read_text())["seconds"]
        return float(seconds)
    except (OSError, ValueError, TypeError, KeyError):
        return float("inf")


def endless_loops(folder: Path, notebooks: list[str]) -> int:
    """How many `while` loops in the code cells of these notebooks can never end: a test
    that is a true constant, and no `break`, `return` or `raise` of their own (each runs
    until the cell timeout). Unreadable notebooks and cells count none."""
    found = 0
    for name in notebooks:
        try:
            cells = json.loads((folder / name).read_text(encoding="utf-8"))["cells"]
            sources = [c["source"] for c in cells if c.get("cell_type") == "code"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        for source in sources:
            code = source if isinstance(source, str) else "".join(source)
            try:
                tree = ast.parse(re.sub(r"^(\s*)[%!].*$", r"\1pass", code, flags=re.M))
            except (SyntaxError, ValueError, TypeError, RecursionError):  # magics, bad cells
                continue
            found += sum(
                isinstance(node, ast.While) and loops_forever(node) for node in ast.walk(tree)
            )
    return found


def loops_forever(loop: ast.While) -> bool:
    """Whether a `while` loop's test is a true constant and nothing in its body leaves it:
    no `break` of its own (an inner loop's does not count), `return`, `raise` or `yield`
    (in a function or class defined inside, they do not count)."""
    if not (isinstance(loop.test, ast.Constant) and loop.test.value):
        return False
    inside = [(node, False) for node in loop.body]  # (node, within an inner loop)
    while inside:
        node, inner = inside.pop()
        if isinstance(node, LEAVES) or isinstance(node, ast.Break) and not inner:
            return False
        if not isinstance(node, SCOPES):
            inner = inner or isinstance(node, (ast.For, ast.AsyncFor, ast.While))
            inside += [(child, inner) for child in ast.iter_child_nodes(node)]
    return True


def submissions_in_gradebook(course_dir: Path, assignment: str, db_url: str) -> set[str]:
    """The students with a submission of the assignment in the gradebook (creating the
    gradebook's tables first if need be, before the workers start)."""
    from nbgrader.api import MissingEntry

    for attempt in range(ATTEMPTS):
        try:
            with course.gradebook(course_dir, db_url) as gb:
                try:
                    return {s.student_id for s in gb.find_assignment(assignment).submissions}
                except MissingEntry:
                    return set()
        except Exception as error:  # another grader creating the schema or course row
            if attempt == ATTEMPTS - 1 or not is_transient(str(error)):
                raise
            time.sleep(1 + attempt)
    return set()


def is_transient(error: str) -> bool:
    """Whether an nbgrader error came from another grader writing at the same time."""
    return any(text in error for text in TRANSIENT_ERRORS)


def start_worker(
    course_dir: str,
    db_url: str,
    config_dir: str | None = None,
    cores: SynchronizedArray | None = None,
    environment: dict[str, str] | None = None,
) -> None:
    """Set this process up to grade the course's students (nbgrader's API, config loaded once
    from the course folder, or from `config_dir`), on a core of its own if `cores` (a shared
    array of cores, -1 once claimed) has one left, in the grader's `environment` if given
    (a worker forked by the worker server has the server's)."""
    global _API, _SETUP
    if cores is not None:
        claim_core(cores)
    for name in WORKER_MODULES:  # imported once, then frozen (preloaded by the server)
        importlib.import_module(name)
    from nbgrader.apps.api import NbGraderAPI

    if environment is not None:
        os.environ.clear()
        os.environ.update(environment)
    os.chdir(course_dir)
    os.environ["PATH"] = course.environment()["PATH"]
    config = course.load_config(Path(config_dir or course_dir))
    config.CourseDirectory.root = course_dir
    config.CourseDirectory.db_url = db_url
    course.share_database_engines()
    course.create_tables_only_when_missing()
    _API = NbGraderAPI(config=config)
    _SETUP = (course_dir, config_dir or course_dir)
    gc.freeze()  # the worker's modules and setup: no garbage collection goes through them


def claim_core(cores: SynchronizedArray) -> int | None:
    """Keep this process, and every process it starts from now on, to the first core of the
    shared array that no other worker has claimed: that core, or None if none is left."""
    with cores.get_lock():
        for index, core in enumerate(cores):
            if core >= 0:
                cores[index] = -1
                try:
                    os.sched_setaffinity(0, {core})
                except OSError:  # a core taken away from this machine's set since
                    return None
                return core
    return None


def usable_cores() -> list[int]:
    """The cores this process may run on (a container's or `taskset`'s share of the
    machine's), or every core where the platform cannot say."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def cores_for(jobs: int, config_dir: str) -> list[int] | None:
    """The cores to give `jobs` workers one each, or None (the system places them): more
    workers than cores, a platform without affinity, or the course's config says so."""
    cores = usable_cores()
    if (
        not hasattr(os, "sched_setaffinity")
        or jobs > len(cores)
        or not GradingWorkers(config=course.load_config(Path(config_dir))).one_core_each
    ):
        return None
    return cores[:jobs]


class Task(NamedTuple):
    """One student to grade, and whether to release their feedback once graded."""

    assignment: str
    student: str
    fingerprint: str
    feedback: bool = False


def grade_submission(task: Task) -> tuple[str, bool, str]:
    """Grade one student in this worker (then generate and release their feedback, if the
    task says so): (student, success, error), the marker written last."""
    assignment, student, stamp, feedback = task
    marker = marker_path(Path(_SETUP[0]), assignment, student)
    marker.unlink(missing_ok=True)
    started = time.monotonic()
    for attempt in range(ATTEMPTS):  # another grader may hold the gradebook for a while
        result = _API.autograde(assignment, student, force=True, create=True)
        error, log = result.get("error", "") or "", result.get("log", "") or ""
        if result["success"] or not is_transient(error + log):
            break
        time.sleep(1 + attempt)
    if result["success"] and feedback:
        result = _API.generate_feedback(assignment, student)
        result = _API.release_feedback(assignment, student) if result["success"] else result
    if result["success"]:
        marker.parent.mkdir(parents=True, exist_ok=True)
        partial = marker.with_name(f".{marker.name}.{os.getpid()}")
        seconds = round(time.monotonic() - started, 1)
        partial.write_text(json.dumps({"fingerprint": stamp, "seconds": seconds}))
        os.replace(partial, marker)  # the marker appears whole or not at all
    return student, bool(result["success"]), error + log[-2000:]


def autograde_class(
    course_dir: Path,
    assignment: str,
    students: list[str] | None = None,
    jobs: int | None = None,
    progress=None,
    *,
    force: bool = False,
    shard: tuple[int, int] | None = None,
    db_url: str | None = None,
    scheduler=None,
    feedback: bool = False,
    on_result: Callable[[str, bool], None] | None = None,
    config_dir: Path | None = None,
) -> list[Outcome]:
    """Check and autograde the class (or the named students, always regraded) on `jobs`
    processes, or on a Dask cluster (`scheduler`: an address, a scheduler file or a cluster
    object such as dask-gateway's or dask-jobqueue's), skipping students already
    graded unless `force`; only shard K of N if given. The gradebook is the course's
    configured one unless `db_url` is given. With `feedback`, each student's feedback is
    generated and released as soon as they are graded; `on_result(student, success)` is
    called as each student's grading ends. The workers read the course's config, or the
    one in `config_dir` (the watch service's)."""
    course_dir = Path(course_dir).resolve()
    db_url = db_url or course.configured_db_url(course_dir)
    submitted = course_dir / "submitted"
    names = students or sorted(p.name for p in submitted.iterdir() if p.is_dir())
    names = [name for name in names if in_shard(name, shard)]
    notebooks = sorted(p.name for p in (course_dir / "release" / assignment).glob("*.ipynb"))
    in_gradebook = submissions_in_gradebook(course_dir, assignment, db_url)
    regrade = force or bool(students)
    outcomes = {}
    to_grade = []
    for student in names:
        folder = submitted / student / assignment
        problems = check_submission(folder, notebooks)
        outcomes[student] = Outcome(student, graded=False, problems=problems)
        if not (folder.is_dir() and any(folder.glob("*.ipynb"))):
            continue
        stamp = fingerprint(course_dir, assignment, student)
        if not regrade and is_graded(
            course_dir, assignment, student, stamp, notebooks, in_gradebook
        ):
            outcomes[student].skipped = True
        else:
            to_grade.append(Task(assignment, student, stamp, feedback))
    if len(to_grade) > 1 and not scheduler:
        start_worker_server()  # it imports what workers need while the code is read
    for student in names:
        outcomes[student].review = code_to_review(submitted / student / assignment, notebooks)
    to_grade = grading_order(course_dir, notebooks, to_grade)
    if to_grade and scheduler:
        from .cluster import grade_on_cluster

        grade_on_cluster(course_dir, db_url, to_grade, scheduler, outcomes, progress)
    elif to_grade:
        setup = (str(course_dir), db_url, str(config_dir or course_dir))
        _grade_on_pool(setup, to_grade, jobs, outcomes, progress, on_result)
    for _, student, *_ in to_grade:
        if outcomes[student].graded:
            graded = course_dir / "autograded" / student / assignment
            outcomes[student].over_budget = budgets_exceeded(graded, notebooks)
    return [outcomes[student] for student in names]


def grading_order(course_dir: Path, notebooks: list[str], tasks: list[Task]) -> list[Task]:
    """The longest first: by the last grading's time; never graded: first, those with
    endless loops (each a cell timeout) before the others; ties in the given order."""

    def expected(task: Task) -> tuple[float, int]:
        seconds = last_seconds(course_dir, task.assignment, task.student)
        if seconds != float("inf"):
            return -seconds, 0
        folder = course_dir / "submitted" / task.student / task.assignment
        return -seconds, -endless_loops(folder, notebooks)

    return sorted(tasks, key=expected)


def grade_in_this_process(
    course_dir: str, db_url: str, task: Task, config_dir: str | None = None
) -> tuple[str, bool, str]:
    """Grade one student, setting this process up as a worker first if need be (what a Dask
    worker runs for each task)."""
    if _API is None or _SETUP != (course_dir, config_dir or course_dir):
        start_worker(course_dir, db_url, config_dir)
    return grade_submission(task)


def _grade_on_pool(setup, tasks, jobs, outcomes, progress, on_result) -> None:
    jobs = max(1, min(jobs or len(usable_cores()), len(tasks)))
    started = time.monotonic()

    def record(results) -> None:  # each result as it comes
        for done, (student, success, error) in enumerate(results, 1):
            outcome = outcomes[student]
            outcome.graded, outcome.error = success, "" if success else error
            if on_result:
                on_result(student, success)
            if progress:
                failed = sum(1 for o in outcomes.values() if o.error)
                progress(done, len(tasks), failed, time.monotonic() - started)

    if jobs == 1 and len(tasks) == 1:  # one submission: no worker to start
        cwd = os.getcwd()
        try:
            course_dir, db_url, config_dir = setup
            record([grade_in_this_process(course_dir, db_url, tasks[0], config_dir)])
        finally:
            os.chdir(cwd)
        return
    context = worker_context()
    cores = cores_for(jobs, config_dir=setup[2])
    shared = context.Array("i", cores) if cores else None
    initargs = (*setup, shared, dict(os.environ))
    with context.Pool(jobs, initializer=start_worker, initargs=initargs) as pool:
        record(pool.imap_unordered(grade_submission, tasks))


def worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start: forked from a server process that has imported nbgrader
    and the kit once (`WORKER_MODULES`: 1.2 s that every worker paid), where the platform
    has one; otherwise each a new Python ("spawn"). Never forked from this process, whose
    threads (a web server's, a Dask client's) a fork would copy mid-work."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_MODULES)
    return context


def start_worker_server() -> None:
    """Start the server that forks the workers, if not yet running, without waiting for
    its imports (the workers' start does)."""
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


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
    skipped = [o.student for o in outcomes if o.skipped]
    lines = [f"Graded {graded} of {len(outcomes)} submissions in {seconds:.0f} s."]
    if skipped:
        lines.append(
            f"Skipped {len(skipped)} already graded and unchanged (--force regrades them): "
            + ", ".join(skipped)
        )
    for o in outcomes:
        for problem in o.problems:
            lines.append(f"  {o.student}: {problem}")
        for cell in o.review:
            lines.append(f"  {o.student}: review by hand: {cell}")
        for check in o.over_budget:
            lines.append(f"  {o.student}: over budget: {check}")
        if o.error:
            lines.append(f"  {o.student}: NOT GRADED by nbgrader: {error_line(o.error)}")
    return "\n".join(lines)


def error_line(log: str) -> str:
    """The line of nbgrader's log that says what went wrong: the last exception raised, not
    its closing "[ERROR] Please see the above traceback"."""
    lines = [line.strip() for line in log.strip().splitlines() if line.strip()]
    raised = [line for line in lines if re.match(r"[\w.]+(Error|Exception|Timeout)\b.*:", line)]
    return (raised or lines or ["unknown error"])[-1]
