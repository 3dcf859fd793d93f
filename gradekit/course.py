"""Running nbgrader on a course folder and reading its gradebook."""

import os
import subprocess
import sys
from pathlib import Path

from nbgrader.api import Gradebook


def environment() -> dict[str, str]:
    """os.environ with this Python's scripts folder first on PATH.

    nbgrader calls the `alembic` script when it creates a gradebook, so that folder must be
    on PATH even when the virtualenv is not activated.
    """
    env = dict(os.environ)
    scripts = os.path.dirname(sys.executable)
    if env.get("PATH", "").split(os.pathsep)[0] != scripts:
        env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
    return env


def nbgrader(course_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run one nbgrader command in the course folder, with this environment's tools on PATH."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course_dir,
        env=environment(),
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"nbgrader {' '.join(args)} failed in {course_dir} (exit {result.returncode}):\n"
            + errors_in(result.stderr)
        )
    return result


def errors_in(log: str, context: int = 30) -> str:
    """The error lines of an nbgrader log, each traceback in full (not the whole log)."""
    lines = log.splitlines()
    keep = set()
    for index, line in enumerate(lines):
        if "| ERROR]" in line:
            keep.update(range(index, min(index + context, len(lines))))
    return "\n".join(lines[i] for i in sorted(keep)) or log[-3000:]


def db_url(course_dir: Path) -> str:
    """The default sqlite gradebook of a course folder."""
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def gradebook(course_dir: Path) -> Gradebook:
    """The course's gradebook, created if need be (which runs `alembic`)."""
    os.environ["PATH"] = environment()["PATH"]
    return Gradebook(db_url(course_dir))


def cell_scores(course_dir: Path, assignment: str) -> dict[str, dict[str, float]]:
    """Points of every grade cell, by student then by grade cell name."""
    with gradebook(course_dir) as gb:
        return {
            submission.student.id: {
                grade.cell.name: grade.score for nb in submission.notebooks for grade in nb.grades
            }
            for submission in gb.find_assignment(assignment).submissions
        }


def max_scores(course_dir: Path, assignment: str) -> dict[str, float]:
    """Points each grade cell is worth."""
    with gradebook(course_dir) as gb:
        return {
            cell.name: cell.max_score
            for nb in gb.find_assignment(assignment).notebooks
            for cell in nb.grade_cells
        }
