"""The W1-S3 demo class: its roster, what each student hands in, and the synthetic
submissions (`variants.py`) that the demo and the tests hand in.

`gradekit demo` finds this package in the course folder (README, "Two commands").
"""

from pathlib import Path

from gradekit import submissions

from .variants import VARIANTS

ASSIGNMENT = "w1s3"
ROSTER = Path(__file__).with_name("roster.csv")
SUBMITTED_AT = "2026-09-14 09:00:00.000000 UTC"

# The LMS column id of the assignment in the demo course (Canvas, Blackboard).
COLUMN_IDS = {ASSIGNMENT: "4021"}

# Which synthetic submission each student of the roster hands in; `mo` hands in nothing.
CLASS = {
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


def hand_in(course_dir: Path, students: dict[str, str]) -> None:
    """Hand in, under submitted/, the named variant for each student."""
    release = course_dir / "release" / ASSIGNMENT
    answers = submissions.model_answers(course_dir / "source" / ASSIGNMENT)
    for student, name in students.items():
        variant = VARIANTS[name]
        folder = course_dir / "submitted" / student / ASSIGNMENT
        filled = None if variant.blank else submissions.apply_changes(answers, variant.changes)
        submissions.write_submission(release, folder, filled)
        if variant.damage:
            variant.damage(folder)
        submissions.write_timestamp(folder, SUBMITTED_AT)
