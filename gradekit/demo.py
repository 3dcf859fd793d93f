"""The instructor's whole pipeline, run on a course's demo class of synthetic students
(the course folder's `democlass` package)."""

import csv
import importlib.util
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType

from nbgrader.api import MissingEntry

from . import autograde, course, kernel
from .exporters import EXPORTERS


def load_demo_class(origin: Path) -> ModuleType:
    """The course's demo class: the `democlass` package of the course folder (its
    ASSIGNMENT, ROSTER, CLASS, COLUMN_IDS and `hand_in`), loaded without writing there."""
    folder = (Path(origin) / "democlass").resolve()
    if not (folder / "__init__.py").is_file():
        raise SystemExit(f"{origin}: no democlass/ package here (the demo's roster and class)")
    loaded = sys.modules.get("democlass")
    if loaded is not None and Path(loaded.__file__).resolve().parent == folder:
        return loaded
    for name in [n for n in sys.modules if n == "democlass" or n.startswith("democlass.")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        "democlass", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["democlass"] = module
    writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes
    return module


def score_table(course_dir: Path, assignment: str) -> tuple[list[dict], dict[str, float]]:
    """One row per roster student: notebook scores and total (0 where nothing was handed in)."""
    with course.gradebook(course_dir) as gb:
        assignment = gb.find_assignment(assignment)
        notebooks = [nb.name for nb in assignment.notebooks]
        rows = []
        for student in gb.students:
            row = {"student": student.id, "name": f"{student.first_name} {student.last_name}"}
            try:
                submission = gb.find_submission(assignment.name, student.id)
                scores = {nb.name: nb.score for nb in submission.notebooks}
            except MissingEntry:  # on the roster, nothing handed in
                scores = {}
            for name in notebooks:
                row[name] = scores.get(name, 0.0)
            row["total"] = sum(row[name] for name in notebooks)
            rows.append(row)
        maxima = {nb.name: nb.max_score for nb in assignment.notebooks}
    return rows, maxima


def format_table(rows: list[dict], maxima: dict[str, float]) -> str:
    """The score table as aligned text."""
    header = ["student", "name", *maxima, "total"]
    total_max = sum(maxima.values())
    labels = [
        "student",
        "name",
        *(f"{n.split('_')[0]} /{m:g}" for n, m in maxima.items()),
        f"total /{total_max:g}",
    ]
    lines = [
        [str(row[key]) if key in ("student", "name") else f"{row[key]:g}" for key in header]
        for row in rows
    ]
    widths = [max(len(x) for x in column) for column in zip(labels, *lines, strict=True)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in [labels, *lines]
    )


def run_demo(origin: Path, into: Path) -> str:
    """Release, hand in, autograde, feedback and export for the course's demo class, in a
    fresh copy (`into`) of the source and config of the course folder `origin`, which is
    left as it is. Returns the score table."""
    demo = load_demo_class(origin)
    assignment, roster = demo.ASSIGNMENT, demo.ROSTER
    course_dir = Path(into).resolve()
    shutil.rmtree(course_dir, ignore_errors=True)
    course_dir.mkdir(parents=True)
    shutil.copytree(Path(origin) / "source", course_dir / "source")
    shutil.copy(Path(origin) / "nbgrader_config.py", course_dir)
    print(f"[1/6] nbgrader generate_assignment: source/{assignment} -> release/{assignment}")
    course.nbgrader(course_dir, "generate_assignment", assignment, "--force")
    print(f"[2/6] nbgrader db student import {roster.name} ({_count_rows(roster)} students)")
    course.nbgrader(course_dir, "db", "student", "import", str(roster))
    print(f"[3/6] {len(demo.CLASS)} demo submissions -> submitted/")
    demo.hand_in(course_dir, demo.CLASS)
    warning = kernel.sandbox_warning(course.load_config(course_dir))
    sandbox = "not sandboxed" if warning else "each kernel sandboxed"
    print(f"[4/6] autograde (nbgrader's converter, one worker per core, {sandbox}) -> autograded/")
    if warning:
        print(warning)
    start = time.monotonic()
    outcomes = autograde.autograde_class(
        course_dir, assignment, progress=autograde.print_progress, force=True
    )
    print(autograde.summary(outcomes, time.monotonic() - start))
    print("[5/6] nbgrader generate_feedback -> feedback/")
    course.nbgrader(course_dir, "generate_feedback", assignment, "--force")
    exports = course_dir / "exports"
    print(f"[6/6] exports for {', '.join(EXPORTERS)} -> {exports}/")
    export_all(course_dir, exports, roster, demo.COLUMN_IDS)
    rows, maxima = score_table(course_dir, assignment)
    return format_table(rows, maxima)


def export_all(course_dir: Path, folder: Path, roster: Path, column_ids: dict) -> list[Path]:
    """Write every LMS export of the course's gradebook into the folder."""
    folder.mkdir(exist_ok=True)
    written = []
    with course.gradebook(course_dir) as gb:
        for exporter in EXPORTERS.values():
            path = folder / exporter.filename
            exporter(to=str(path), roster=str(roster), column_ids=column_ids).export(gb)
            written.append(path)
    return written


def _count_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))
