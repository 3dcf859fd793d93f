"""Running nbgrader on a course folder and reading its gradebook."""

import os
import subprocess
import sys
from pathlib import Path

from nbgrader.api import Gradebook


def nbgrader(course_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run one nbgrader command in the course folder, with this environment's tools on PATH.

    nbgrader calls the `alembic` script when it creates a gradebook, so the folder of
    this Python's scripts must be on PATH even when the virtualenv is not activated.
    """
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"nbgrader {' '.join(args)} failed in {course_dir} (exit {result.returncode}):\n"
            + result.stderr[-3000:]
        )
    return result


def db_url(course_dir: Path) -> str:
    """The default sqlite gradebook of a course folder."""
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def cell_scores(course_dir: Path, assignment: str) -> dict[str, dict[str, float]]:
    """Points of every grade cell, by student then by grade cell name."""
    with Gradebook(db_url(course_dir)) as gb:
        return {
            submission.student.id: {
                grade.cell.name: grade.score for nb in submission.notebooks for grade in nb.grades
            }
            for submission in gb.find_assignment(assignment).submissions
        }


def max_scores(course_dir: Path, assignment: str) -> dict[str, float]:
    """Points each grade cell is worth."""
    with Gradebook(db_url(course_dir)) as gb:
        return {
            cell.name: cell.max_score
            for nb in gb.find_assignment(assignment).notebooks
            for cell in nb.grade_cells
        }
