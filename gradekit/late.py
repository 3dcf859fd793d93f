"""Late penalties and extensions, as nbgrader plugins (set in nbgrader_config.py).

A notebook handed in after the assignment's due date (`nbgrader db assignment add
<assignment> --duedate ...`, or the formgrader) loses `percent_per_day` percent of its score
for each day, or part of a day, it is late, up to its whole score. nbgrader's
AssignLatePenalties stores the penalty in the gradebook; feedback and every LMS export
subtract it.

A student granted an extension (`gradekit extend <assignment> <student> --until ...
--reason ...`) has a due date of their own, kept with its reason in the course's
`extensions.csv`. At every autograde, `GrantExtensions` writes it into the gradebook as
nbgrader's own per-student extension, just before the late penalty is computed from it.
"""

import csv
import math
from datetime import UTC, datetime
from pathlib import Path

from dateutil import tz
from dateutil.parser import parse
from nbgrader.api import Gradebook
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float

EXTENSIONS = "extensions.csv"  # in the course folder
COLUMNS = ["assignment", "student", "due", "reason", "granted"]


class PercentPerDay(LateSubmissionPlugin):
    """Each day (or part of one) late costs a share of the notebook's score."""

    percent_per_day = Float(
        10.0, help="Percent of a notebook's score lost per day, or part of a day, late."
    ).tag(config=True)

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float:
        days = math.ceil(total_seconds_late / 86400)
        return min(score, round(score * self.percent_per_day * days / 100, 4))


class GrantExtensions(NbGraderPreprocessor):
    """Set the student's extension in the gradebook from the course's extensions file (none
    if the file has none), so that the late penalty counts from their own due date. (nbgrader
    grades in the course folder.)"""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        extension = extensions_of(Path.cwd(), info["assignment"]).get(info["student"])
        with Gradebook(info["db_url"]) as gradebook:
            submission = gradebook.find_submission(info["assignment"], info["student"])
            base = submission.assignment.duedate
            due = own_due_date(base, extension)
            submission.extension = due - base if due and due > base else None
            gradebook.db.commit()
        return nb, resources


def own_due_date(base: datetime | None, extension: dict | None) -> datetime | None:
    """A student's due date: the assignment's (`base`, naive UTC), or their extension's if
    later; none if the assignment has none."""
    if base is None:
        return None
    return max(base, extension["due"]) if extension else base


def read_extensions(path: Path) -> dict[tuple[str, str], dict]:
    """The extensions in the file, by (assignment, student): due (naive UTC) and reason."""
    if not path.exists():
        return {}
    extensions = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                due = parse_due(row["due"])
            except (ValueError, TypeError, OverflowError):
                raise ValueError(f"{path}, line {line}: not a date: {row['due']!r}") from None
            extensions[row["assignment"], row["student"]] = {**row, "due": due}
    return extensions


def extensions_of(course_dir: Path, assignment: str) -> dict[str, dict]:
    """The assignment's extensions in the course's file, by student."""
    extensions = read_extensions(Path(course_dir) / EXTENSIONS)
    return {student: row for (name, student), row in extensions.items() if name == assignment}


def grant_extension(
    course_dir: Path, assignment: str, student: str, until: str | None, reason: str = ""
) -> None:
    """Record (or, with `until` None, withdraw) a student's own due date in the course's
    extensions file."""
    path = Path(course_dir) / EXTENSIONS
    extensions = read_extensions(path)
    if until is None:
        extensions.pop((assignment, student), None)
    else:
        try:
            due = parse_due(until)
        except (ValueError, OverflowError):
            raise ValueError(f'not a date: {until!r} (e.g. "2026-12-06 23:59 +01:00")') from None
        granted = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        extensions[assignment, student] = {"due": due, "reason": reason, "granted": granted}
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for (name, who), row in sorted(extensions.items()):
            due = f"{row['due']:%Y-%m-%d %H:%M:%S} UTC"
            writer.writerow([name, who, due, row["reason"], row["granted"]])


def parse_due(text: str) -> datetime:
    """A date and time as naive UTC, as nbgrader keeps them: with an offset (`+01:00`,
    `+0100`), a zone (`UTC`, `Europe/Paris`) or neither (UTC). (nbgrader's own parser reads
    "23:59 +01:00" as 23:59 UTC, and "23:59 +0100" as 100 seconds east of UTC.)"""
    date, _, name = text.strip().rpartition(" ")
    zone = tz.gettz(name) if date and name[:1].isalpha() else None
    when = parse(date) if zone else parse(text)
    when = when.replace(tzinfo=zone) if zone else when
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
