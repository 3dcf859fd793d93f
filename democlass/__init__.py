"""The W1-S3 demo class: its roster, what each student hands in, and the synthetic
submissions (`variants.py`) that the demo and the tests hand in.

`gradekit demo` finds this package in the course folder (README, "Two commands").
"""

from pathlib import Path

import nbformat

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


# The written answers some students give (the others leave them as released), and what a
# teaching assistant gives each in the formgrader: points and a comment.
WRITTEN = {
    "ada": {
        "written_logs_near_0_and_1": (
            "l(p) is 0 when p is 1 and goes to minus infinity when p goes to 0; l2 is the mirror "
            "image. So a right prediction costs nothing and a confident wrong one costs a lot.",
            2,
            "Both limits, and what they mean for the loss.",
        ),
        "written_mse_versus_log_likelihood": (
            "Through the sigmoid the squared error is at most 1 and its gradient vanishes when "
            "the sigmoid saturates, so a confidently wrong model barely learns. The "
            "log-likelihood, with y_i weighing the logs, is near 0 when right and unbounded "
            "when confidently wrong.",
            3,
            "Complete: the vanishing gradient is the key point.",
        ),
        "written_zero_initialisation": (
            "All hidden values would be 0, so W2 gets no gradient, and with W2 = 0 nothing flows "
            "back to W1. Only b2 learns: the network predicts the mean price.",
            2,
            "Exactly.",
        ),
        "written_early_stopping": (
            "When the loss hardly changes, more steps only cost time. A big delta stops early "
            "and may leave the loss high; a small one trains longer for a lower loss, N_max "
            "caps the time.",
            3,
            "Clear trade-off.",
        ),
    },
    "bao": {
        "written_logs_near_0_and_1": (
            "l goes to minus infinity near 0 and l2 near 1.",
            1,
            "The limits are right; what does this mean for the loss?",
        ),
        "written_early_stopping": (
            "To save time when the loss stops changing. Smaller delta means more steps.",
            2,
            "What does a large delta risk?",
        ),
    },
    "chen": {
        "written_mse_versus_log_likelihood": (
            "MSE is for regression and this is classification.",
            1,
            "True, but why does it fail here? Think of the sigmoid's flat ends.",
        ),
    },
    "hana": {
        "written_zero_initialisation": (
            "Training would be slower but reach the same network.",
            0,
            "With all zeros the weights get no gradient at all: look at dL/dW2 and dL/dZ1.",
        ),
    },
}


def marks() -> dict[str, dict[str, tuple[float, str]]]:
    """The teaching assistant's points and comment on each written answer."""
    return {
        student: {cell: (points, comment) for cell, (_, points, comment) in cells.items()}
        for student, cells in WRITTEN.items()
    }


def hand_in(course_dir: Path, students: dict[str, str], lean: frozenset[str] = frozenset()) -> None:
    """Hand in, under submitted/, the named variant for each student, with their written
    answers if they give any; a `lean` student hands in only the notebooks their variant
    changes (the others would be the model answers again)."""
    release = course_dir / "release" / ASSIGNMENT
    answers = submissions.model_answers(course_dir / "source" / ASSIGNMENT)
    notebook_of = {
        cell.id: path.name
        for path in release.glob("*.ipynb")
        for cell in nbformat.read(path, as_version=4).cells
    }
    for student, name in students.items():
        variant = VARIANTS[name]
        folder = course_dir / "submitted" / student / ASSIGNMENT
        filled = None if variant.blank else submissions.apply_changes(answers, variant.changes)
        for cell, (text, _, _) in WRITTEN.get(student, {}).items():
            filled[notebook_of[cell]][cell] = text
        submissions.write_submission(release, folder, filled)
        if student in lean:
            for notebook in set(answers) - set(changed_notebooks(filled, answers)):
                (folder / notebook).unlink()
        if variant.damage:
            variant.damage(folder)
        submissions.write_timestamp(folder, SUBMITTED_AT)


def changed_notebooks(filled: dict, answers: dict[str, dict[str, str]]) -> list[str]:
    """The notebooks in which the answers handed in differ from the model answers."""
    return sorted(nb for nb in answers if filled[nb] != answers[nb])
