"""Shared fixtures: course folders made from this repository, real nbgrader runs on them."""

import html
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from gradekit import course, demo, submissions
from gradekit.variants import VARIANTS

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = demo.ASSIGNMENT
SOURCE = REPO / "source" / ASSIGNMENT
RELEASE = REPO / "release" / ASSIGNMENT
GRADEKIT = str(Path(sys.executable).with_name("gradekit"))  # the kit's command, this venv's
# The course secret of every course the tests grade (nbgrader runs inherit it): one per
# test process, never the user's own.
os.environ["GRADEKIT_SECRET_FILE"] = str(
    Path(tempfile.mkdtemp(prefix="gradekit-tests-")) / "secret"
)


def expected_points(max_points: dict[str, float], students: dict[str, str]) -> dict:
    """The points of every grade cell each student's variant must score: 0 for the cells
    the variant fails, full marks for the others."""
    return {
        student: {
            cell: 0.0 if cell in VARIANTS[name].fails else points
            for cell, points in max_points.items()
        }
        for student, name in students.items()
    }


def quoted(lines: set[str], text: str) -> list[str]:
    """The lines that appear in the text."""
    return [line for line in lines if line in text]


def html_text(page: str) -> str:
    """The text of an HTML page, tags and entities removed (as a student reads it)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def make_course(folder: Path) -> Path:
    """A course folder with this repo's source and config, and a freshly generated release."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "source", folder / "source")
    shutil.copy(REPO / "nbgrader_config.py", folder)
    course.nbgrader(folder, "generate_assignment", ASSIGNMENT, "--force")
    return folder


def execute(path: Path) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel, errors recorded in the outputs."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def secret_lines(regions=("SOLUTION", "HIDDEN TESTS")) -> set[str]:
    """Lines inside these regions of the source that appear nowhere else in it."""
    secret, public = set(), []
    for path in SOURCE.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = None
            for line in cell.source.splitlines():
                begins = [r for r in ("SOLUTION", "HIDDEN TESTS") if f"### BEGIN {r}" in line]
                if begins:
                    inside = begins[0]
                elif "### END " in line:
                    inside = None
                elif inside in regions and len(line.strip()) > 12:
                    secret.add(line.strip())
                elif inside is None:
                    public.append(line)
    public_text = "\n".join(public)
    return {line for line in secret if line not in public_text}


@pytest.fixture(scope="session")
def source_run(tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    """The source notebooks, executed once for every test that reads their outputs."""
    folder = tmp_path_factory.mktemp("source-run")
    shutil.copytree(SOURCE, folder, dirs_exist_ok=True)
    return {path.name: execute(path) for path in sorted(folder.glob("*.ipynb"))}


@pytest.fixture(scope="session")
def fresh_course(tmp_path_factory) -> Path:
    """A course folder whose release was just generated from the source."""
    return make_course(tmp_path_factory.mktemp("fresh") / "course")


@pytest.fixture(scope="session")
def model_answers():
    return submissions.model_answers(SOURCE)


@pytest.fixture(scope="session")
def max_points(fresh_course) -> dict[str, float]:
    return course.max_scores(fresh_course, ASSIGNMENT)
