"""The instructor's whole pipeline, run on a bundled demo class of synthetic students."""

import csv
import shutil
import time
from pathlib import Path

from nbgrader.api import MissingEntry

from . import autograde, course, kernel, submissions, variants
from .exporters import EXPORTERS

ASSIGNMENT = "w1s3"
ROSTER = Path(__file__).with_name("demo_roster.csv")
SUBMITTED_AT = "2026-09-14 09:00:00.000000 UTC"

# The LMS column id of the assignment in the demo course (Canvas, Blackboard).
DEMO_COLUMN_IDS = {ASSIGNMENT: "4021"}

# Which synthetic submission each student of the demo roster hands in; `mo` hands in nothing.
DEMO_CLASS = {
    "ada": "model",
    "bao": "sigmoid-exp-over",
    "chen": "np-dot",
    "dupont": "loss-slide-typo",
    "erik": "blank",
    "fatima": "backward-early-update",
    "gomez": "train-stop-inverted",
    "hana": "sigmoid-math-exp",
    "ivan": "tamper-allclose",
    "jo": "mse-sum",
    "kofi": "loops-part1",
    "lee": "train-no-early-stop",
}


def write_class_submissions(course_dir: Path, students: dict[str, str]) -> None:
    """Hand in, under submitted/, the named variant for each student."""
    release = course_dir / "release" / ASSIGNMENT
    answers = submissions.model_answers(course_dir / "source" / ASSIGNMENT)
    for student, name in students.items():
        variant = variants.VARIANTS[name]
        folder = course_dir / "submitted" / student / ASSIGNMENT
        filled = None if variant.blank else submissions.apply_changes(answers, variant.changes)
        submissions.write_submission(release, folder, filled)
        if variant.damage:
            variant.damage(folder)
        submissions.write_timestamp(folder, SUBMITTED_AT)


def score_table(course_dir: Path) -> tuple[list[dict], dict[str, float]]:
    """One row per roster student: notebook scores and total (0 where nothing was handed in)."""
    with course.gradebook(course_dir) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        notebooks = [nb.name for nb in assignment.notebooks]
        rows = []
        for student in gb.students:
            row = {"student": student.id, "name": f"{student.first_name} {student.last_name}"}
            try:
                submission = gb.find_submission(ASSIGNMENT, student.id)
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
    """Release, hand in, autograde, feedback and export for the demo class, in a fresh copy
    (`into`) of the source and config of the course folder `origin`, which is left as it is.
    Returns the score table."""
    course_dir = Path(into).resolve()
    shutil.rmtree(course_dir, ignore_errors=True)
    course_dir.mkdir(parents=True)
    shutil.copytree(Path(origin) / "source", course_dir / "source")
    shutil.copy(Path(origin) / "nbgrader_config.py", course_dir)
    print(f"[1/6] nbgrader generate_assignment: source/{ASSIGNMENT} -> release/{ASSIGNMENT}")
    course.nbgrader(course_dir, "generate_assignment", ASSIGNMENT, "--force")
    print(f"[2/6] nbgrader db student import {ROSTER.name} ({_count_rows(ROSTER)} students)")
    course.nbgrader(course_dir, "db", "student", "import", str(ROSTER))
    print(f"[3/6] {len(DEMO_CLASS)} demo submissions -> submitted/")
    write_class_submissions(course_dir, DEMO_CLASS)
    warning = kernel.sandbox_warning(course.load_config(course_dir))
    sandbox = "not sandboxed" if warning else "each kernel sandboxed"
    print(f"[4/6] autograde (nbgrader's converter, one worker per core, {sandbox}) -> autograded/")
    if warning:
        print(warning)
    start = time.monotonic()
    outcomes = autograde.autograde_class(
        course_dir, ASSIGNMENT, progress=autograde.print_progress, force=True
    )
    print(autograde.summary(outcomes, time.monotonic() - start))
    print("[5/6] nbgrader generate_feedback -> feedback/")
    course.nbgrader(course_dir, "generate_feedback", ASSIGNMENT, "--force")
    exports = course_dir / "exports"
    print(f"[6/6] exports for {', '.join(EXPORTERS)} -> {exports}/")
    export_all(course_dir, exports)
    rows, maxima = score_table(course_dir)
    return format_table(rows, maxima)


def export_all(course_dir: Path, folder: Path) -> list[Path]:
    """Write every LMS export of the demo gradebook into the folder."""
    folder.mkdir(exist_ok=True)
    written = []
    with course.gradebook(course_dir) as gb:
        for exporter in EXPORTERS.values():
            path = folder / exporter.filename
            exporter(to=str(path), roster=str(ROSTER), column_ids=DEMO_COLUMN_IDS).export(gb)
            written.append(path)
    return written


def _count_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))
