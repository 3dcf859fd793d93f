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
from .report import write_report


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


def grade_by_hand(course_dir: Path, assignment: str, marks: dict) -> int:
    """Give written answers their points and comment through nbgrader's API, as a teaching
    assistant does in the formgrader: marks[student][grade cell] = (points, comment).
    Returns how many answers were graded."""
    graded = 0
    with course.gradebook(course_dir) as gb:
        notebook_of = {
            cell.name: nb.name
            for nb in gb.find_assignment(assignment).notebooks
            for cell in nb.grade_cells
        }
        for student, cells in sorted(marks.items()):
            for cell, (points, comment) in sorted(cells.items()):
                where = (cell, notebook_of[cell], assignment, student)
                grade = gb.find_grade(*where)
                grade.manual_score, grade.needs_manual_grade = points, False
                gb.find_comment(*where).manual_comment = comment
                graded += 1
        gb.db.commit()
    return graded


def score_table(course_dir: Path, assignment: str) -> tuple[list[str], list[dict]]:
    """The columns (with their maxima) and one row per roster student: points of each
    notebook, autograded and graded by hand, and total (0 where nothing was handed in)."""
    with course.gradebook(course_dir) as gb:
        found = gb.find_assignment(assignment)
        cells = [cell for nb in found.notebooks for cell in nb.grade_cells]
        by_hand = {cell.name for cell in cells if cell.cell_type != "code"}
        maxima = {
            **{nb.name.split("_")[0]: nb.max_score for nb in found.notebooks},
            "auto": sum(cell.max_score for cell in cells if cell.name not in by_hand),
            "by hand": sum(cell.max_score for cell in cells if cell.name in by_hand),
            "total": found.max_score,
        }
        rows = []
        for student in gb.students:
            row = {"student": student.id, "name": f"{student.first_name} {student.last_name}"}
            row.update(dict.fromkeys(maxima, 0.0))
            try:
                submission = gb.find_submission(assignment, student.id)
            except MissingEntry:  # on the roster, nothing handed in
                rows.append(row)
                continue
            for nb in submission.notebooks:
                row[nb.name.split("_")[0]] = nb.score
                for grade in nb.grades:
                    row["by hand" if grade.name in by_hand else "auto"] += grade.score
            row["total"] = sum(nb.score for nb in submission.notebooks)
            rows.append(row)
    return [f"{key} /{points:g}" for key, points in maxima.items()], rows


def format_table(columns: list[str], rows: list[dict]) -> str:
    """The score table as aligned text."""
    labels = ["student", "name", *columns]
    lines = [
        [str(v) if k in ("student", "name") else f"{v:g}" for k, v in row.items()] for row in rows
    ]
    widths = [max(len(x) for x in column) for column in zip(labels, *lines, strict=True)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
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
    print(f"[1/8] nbgrader generate_assignment: source/{assignment} -> release/{assignment}")
    course.nbgrader(course_dir, "generate_assignment", assignment, "--force")
    print(f"[2/8] nbgrader db student import {roster.name} ({_count_rows(roster)} students)")
    course.nbgrader(course_dir, "db", "student", "import", str(roster))
    print(f"[3/8] {len(demo.CLASS)} demo submissions -> submitted/")
    demo.hand_in(course_dir, demo.CLASS)
    warning = kernel.sandbox_warning(course.load_config(course_dir))
    sandbox = "not sandboxed" if warning else "each kernel sandboxed"
    print(f"[4/8] autograde (nbgrader's converter, one worker per core, {sandbox}) -> autograded/")
    if warning:
        print(warning)
    start = time.monotonic()
    outcomes = autograde.autograde_class(
        course_dir, assignment, progress=autograde.print_progress, force=True
    )
    print(autograde.summary(outcomes, time.monotonic() - start))
    count = grade_by_hand(course_dir, assignment, demo.marks())
    print(f"[5/8] {count} written answers graded by hand (nbgrader's API, as in the formgrader)")
    print("[6/8] nbgrader generate_feedback -> feedback/")
    course.nbgrader(course_dir, "generate_feedback", assignment, "--force")
    exports = course_dir / "exports"
    print(f"[7/8] exports for {', '.join(EXPORTERS)} -> {exports}/")
    export_all(course_dir, exports, roster, demo.COLUMN_IDS)
    print(f"[8/8] class report -> {write_report(course_dir, assignment)}")
    return format_table(*score_table(course_dir, assignment))


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
