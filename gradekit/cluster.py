"""Grade a class on a Dask distributed cluster (`gradekit autograde --scheduler ADDRESS`).

One task per student. Each worker grades exactly as a local worker does (the same function,
`autograde.grade_in_this_process`: nbgrader's converter, the kit's sandbox and judge),
reading the course folder at the same path (a shared folder: NFS, a hub's shared volume)
and writing the course's PostgreSQL gradebook. The scheduler balances the load as tasks finish; a student whose worker is lost
mid-grading is graded again on another worker (nbgrader regrades a student as a whole, and
the record of a finished grading is written last, so nothing is lost or counted twice).

Before grading, every worker is checked: the kit at the client's version, the course folder
with the same config and assignment source, the gradebook reachable. Dask is an optional
extra: `pip install -e '.[cluster]'`.
"""

import os
import secrets
import time
from importlib.metadata import version
from pathlib import Path

from traitlets import Unicode
from traitlets.config import Configurable

from . import autograde


class DaskCluster(Configurable):
    """Where `gradekit autograde` sends the class (nbgrader_config.py or --scheduler)."""

    scheduler = Unicode(
        "",
        help="Address of a Dask scheduler (tcp://host:8786), or a scheduler file; empty: "
        "grade on this machine.",
    ).tag(config=True)


def course_digest(course_dir: Path, assignment: str) -> str:
    """A hash of what grading reads from the course folder: config and assignment source."""
    return autograde.files_digest(
        course_dir / "nbgrader_config.py", course_dir / "source" / assignment
    )


def worker_problems(course_dir: str, assignment: str, kit: str, digest: str, db_url: str):
    """What this worker lacks to grade the class (run on every worker before grading)."""
    problems = []
    if version("gradekit") != kit:
        problems.append(f"gradekit {version('gradekit')} installed, the client has {kit}")
    folder = Path(course_dir)
    if not (folder / "nbgrader_config.py").is_file():
        return [*problems, f"no course folder at {course_dir} (mount the shared folder there)"]
    try:
        if course_digest(folder, assignment) != digest:
            problems.append(f"{course_dir}: config or source/{assignment} differ from the client's")
    except OSError as error:
        problems.append(f"{course_dir}: cannot read the course ({error})")
    try:
        from sqlalchemy import create_engine, text

        with create_engine(db_url).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # the driver's own message says what is wrong
        problems.append(f"cannot reach the gradebook: {str(error).splitlines()[0]}")
    return problems


def grade_on_cluster(course_dir, db_url, tasks, scheduler, outcomes, progress) -> None:
    """Grade the tasks on the cluster (a scheduler's address, a scheduler file, or a Dask
    cluster object), filling in the outcomes as students finish."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise SystemExit(
            "--scheduler needs Dask: pip install -e '.[cluster]' (here and on every worker)"
        ) from None
    if db_url.startswith("sqlite"):
        raise SystemExit(
            "--scheduler needs a gradebook every worker can reach: set "
            "c.CourseDirectory.db_url to a PostgreSQL database (an sqlite file cannot be "
            "shared between machines)"
        )
    assignment = tasks[0][0]
    if not isinstance(scheduler, str):  # a cluster object (dask-gateway, dask-jobqueue, ...)
        connect = {"address": scheduler}
    elif os.path.isfile(scheduler):
        connect = {"scheduler_file": scheduler}
    else:
        connect = {"address": scheduler}
    with Client(**connect, timeout=30) as client:
        workers = client.scheduler_info()["workers"]
        if not workers:
            raise SystemExit(f"no Dask workers at {scheduler}")
        found = client.run(
            worker_problems,
            str(course_dir),
            assignment,
            version("gradekit"),
            course_digest(Path(course_dir), assignment),
            db_url,
        )
        lacking = [f"  worker {w}: {p}" for w, ps in sorted(found.items()) for p in ps]
        if lacking:
            raise SystemExit("Workers cannot grade this class:\n" + "\n".join(lacking))
        run = secrets.token_hex(4)
        futures = {
            client.submit(
                autograde.grade_in_this_process,
                str(course_dir),
                db_url,
                task,
                key=f"gradekit-{task[1]}-{run}",
            ): task[1]
            for task in tasks
        }
        started = time.monotonic()
        for done, future in enumerate(as_completed(futures), 1):
            student = futures[future]
            try:
                _, success, error = future.result()
            except Exception as failure:  # the worker's error, or one lost too often
                success, error = False, f"{type(failure).__name__}: {failure}"
            outcome = outcomes[student]
            outcome.graded, outcome.error = success, "" if success else error
            if progress:
                failed = sum(1 for o in outcomes.values() if o.error)
                progress(done, len(tasks), failed, time.monotonic() - started)
