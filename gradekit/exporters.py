"""Gradebook exports that LMSs import as they are, as nbgrader export plugins.

    nbgrader export --exporter=gradekit.exporters.CanvasExport --to canvas.csv

Every exporter writes RFC 4180 CSV (Blackboard: tab-separated) in UTF-8, one row per
student of the gradebook or the roster, with 0 (or blank, if asked) for no submission.
LMS identities come from the roster CSV (`LmsExport.roster`), LMS column ids and points
from the settings below, all set in nbgrader_config.py or on the command line.
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Bool, Dict, Enum, Unicode

ROSTER_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "lms_user_id",
    "sis_user_id",
    "username",
    "section",
    "org_defined_id",
)


@dataclass
class Result:
    """One student's result on one assignment."""

    handed_in: bool
    score: float = 0.0  # after the late penalty
    max_score: float = 0.0
    late_penalty: float = 0.0
    timestamp: str = ""
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)  # name: (score, max)

    def failed_cells(self) -> list[str]:
        return [name for name, (score, points) in self.cells.items() if score < points]


class LmsExport(ExportPlugin):
    """Common part of the exporters: who, which assignments, what score, into which file."""

    roster = Unicode(
        "",
        help="CSV roster with a column 'id' (nbgrader student id) and any of "
        + ", ".join(ROSTER_COLUMNS[1:])
        + ". Students of the roster missing from the gradebook are exported with 0.",
    ).tag(config=True)
    column_ids = Dict(
        {}, help="LMS column (grade item) id of each assignment, by nbgrader assignment name."
    ).tag(config=True)
    titles = Dict({}, help="LMS column title of each assignment (default: its name).").tag(
        config=True
    )
    points = Dict(
        {},
        help="Points of the LMS column, by assignment; scores are scaled to them "
        "(default: the assignment's nbgrader max score).",
    ).tag(config=True)
    blank_for_missing = Bool(
        False, help="Leave the grade blank, not 0, for a student who handed nothing in."
    ).tag(config=True)

    filename = "grades.csv"
    delimiter = ","
    quoting = csv.QUOTE_MINIMAL

    def export(self, gradebook: Gradebook) -> None:
        assignments = [
            a.name
            for a in gradebook.assignments
            if not self.assignment or a.name in self.assignment
        ]
        students = self.students(gradebook)
        results = {
            student["id"]: {
                name: self.result(gradebook, name, student["id"]) for name in assignments
            }
            for student in students
        }
        destination = Path(self.to or self.filename)
        self.log.info("Exporting %d students to %s", len(students), destination)
        with open(destination, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=self.delimiter, quoting=self.quoting)
            writer.writerows(self.table(assignments, students, results, gradebook))

    def table(self, assignments, students, results, gradebook) -> list[list]:
        """Rows of the file, header first. Each exporter writes its own."""
        raise NotImplementedError

    def students(self, gradebook: Gradebook) -> list[dict[str, str]]:
        """Roster identities merged with the gradebook's, by last name, first name and id
        (the same gradebook gives the same file whatever order students were graded in)."""
        roster = read_roster(Path(self.roster)) if self.roster else {}
        people = {}
        for student in gradebook.students:
            person = {
                "id": student.id,
                "first_name": student.first_name or "",
                "last_name": student.last_name or "",
                "email": student.email or "",
                "lms_user_id": student.lms_user_id or "",
            }
            if roster and student.id not in roster:
                self.log.warning("Student %s is not in the roster %s", student.id, self.roster)
            person.update({k: v for k, v in roster.get(student.id, {}).items() if v})
            people[student.id] = person
        for student_id, person in roster.items():
            if student_id not in people:
                self.log.warning(
                    "Roster student %s is not in the gradebook: exported with 0", student_id
                )
                people[student_id] = dict(person)
        selected = [p for p in people.values() if not self.student or p["id"] in self.student]
        selected.sort(
            key=lambda p: (p["last_name"].casefold(), p["first_name"].casefold(), p["id"])
        )
        return [{column: p.get(column, "") for column in ROSTER_COLUMNS} for p in selected]

    def result(self, gradebook: Gradebook, assignment: str, student_id: str) -> Result:
        """What the gradebook holds for this student and assignment."""
        max_score = gradebook.find_assignment(assignment).max_score
        try:
            submission = gradebook.find_submission(assignment, student_id)
        except MissingEntry:
            return Result(handed_in=False, max_score=max_score)
        return Result(
            handed_in=True,
            score=max(0.0, submission.score - submission.late_submission_penalty),
            max_score=max_score,
            late_penalty=submission.late_submission_penalty,
            timestamp=str(submission.timestamp or ""),
            cells={
                grade.cell.name: (grade.score, grade.max_score)
                for notebook in submission.notebooks
                for grade in notebook.grades
            },
        )

    def grades(self, results: dict[str, Result], assignments, points) -> list[str]:
        """One student's grades for these assignments, scaled to these column points."""
        return [self.grade(results[a], p) for a, p in zip(assignments, points, strict=True)]

    def title(self, assignment: str) -> str:
        return self.titles.get(assignment, assignment)

    def column_points(self, assignment: str, gradebook: Gradebook) -> float:
        return float(self.points.get(assignment, gradebook.find_assignment(assignment).max_score))

    def grade(self, result: Result, points: float, blank: str = "") -> str:
        """The score scaled to the LMS column's points, or blank for no submission if asked."""
        if not result.handed_in and self.blank_for_missing:
            return blank
        scaled = result.score * points / result.max_score if result.max_score else 0.0
        return f"{round(scaled, 2):g}"


class CanvasExport(LmsExport):
    """Canvas gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, one column
    per assignment titled `<title> (<assignment id>)`, and a Points Possible row."""

    filename = "canvas_grades.csv"

    def table(self, assignments, students, results, gradebook):
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
        for name in assignments:
            column_id = self.column_ids.get(name)
            header.append(f"{self.title(name)} ({column_id})" if column_id else self.title(name))
        points = [self.column_points(name, gradebook) for name in assignments]
        rows = [header, ["Points Possible", "", "", "", "", *(f"{p:g}" for p in points)]]
        for s in students:
            name = ", ".join(part for part in (s["last_name"], s["first_name"]) if part)
            identity = [name or s["id"], s["lms_user_id"], s["sis_user_id"], s["username"]]
            grades = self.grades(results[s["id"]], assignments, points)
            rows.append([*identity, s["section"], *grades])
        return rows


class MoodleExport(LmsExport):
    """Moodle grade import: an identity column, then a grade and a feedback column per
    assignment (map them on upload)."""

    identity = Enum(
        ["email", "username", "idnumber"],
        default_value="email",
        help="Which Moodle user field the first column holds.",
    ).tag(config=True)

    filename = "moodle_grades.csv"
    _identity_columns = {
        "email": ("Email address", "email"),
        "username": ("Username", "username"),
        "idnumber": ("ID number", "sis_user_id"),
    }

    def table(self, assignments, students, results, gradebook):
        label, key = self._identity_columns[self.identity]
        header = [label]
        for name in assignments:
            header += [self.title(name), f"Feedback: {self.title(name)}"]
        rows = [header]
        for s in students:
            if not s[key]:
                self.log.warning("Student %s has no %s: Moodle will refuse the file", s["id"], key)
            row = [s[key]]
            for name in assignments:
                result = results[s["id"]][name]
                row += [
                    self.grade(result, self.column_points(name, gradebook), blank="-"),
                    feedback_summary(result),
                ]
            rows.append(row)
        return rows


class BlackboardExport(LmsExport):
    """Blackboard Learn offline grade upload: tab-separated, every field quoted, columns
    `<title> [Total Pts: N Score] |<column id>`."""

    filename = "blackboard_grades.tsv"
    delimiter = "\t"
    quoting = csv.QUOTE_ALL

    def table(self, assignments, students, results, gradebook):
        header = ["Last Name", "First Name", "Username"]
        points = [self.column_points(name, gradebook) for name in assignments]
        for name, total in zip(assignments, points, strict=True):
            column = f"{self.title(name)} [Total Pts: {total:g} Score]"
            column_id = self.column_ids.get(name)
            if not column_id:
                self.log.warning(
                    "No Blackboard column id for %s: it would become a new column", name
                )
            header.append(f"{column} |{column_id}" if column_id else column)
        rows = [header]
        for s in students:
            grades = self.grades(results[s["id"]], assignments, points)
            rows.append([s["last_name"], s["first_name"], s["username"] or s["id"], *grades])
        return rows


class BrightspaceExport(LmsExport):
    """Brightspace (D2L) grade import: OrgDefinedId, Username, `<item> Points Grade`
    columns, and the End-of-Line Indicator `#`."""

    filename = "brightspace_grades.csv"

    def table(self, assignments, students, results, gradebook):
        header = ["OrgDefinedId", "Username"]
        header += [f"{self.title(name)} Points Grade" for name in assignments]
        rows = [[*header, "End-of-Line Indicator"]]
        points = [self.column_points(name, gradebook) for name in assignments]
        for s in students:
            grades = self.grades(results[s["id"]], assignments, points)
            org_id = s["org_defined_id"] or s["sis_user_id"]
            rows.append([org_id, s["username"] or s["id"], *grades, "#"])
        return rows


class DetailedExport(LmsExport):
    """For the teaching team: one row per student, the points of every grade cell."""

    filename = "detailed_grades.csv"

    def table(self, assignments, students, results, gradebook):
        cells = {
            name: [
                c.name for nb in gradebook.find_assignment(name).notebooks for c in nb.grade_cells
            ]
            for name in assignments
        }
        header = ["student_id", "last_name", "first_name"]
        for name in assignments:
            header += [f"{name}:{cell}" for cell in cells[name]] + [f"{name}:total"]
        rows = [header]
        for s in students:
            row = [s["id"], s["last_name"], s["first_name"]]
            for name in assignments:
                result = results[s["id"]][name]
                row += [f"{result.cells.get(cell, (0.0, 0.0))[0]:g}" for cell in cells[name]]
                row.append(f"{result.score:g}")
            rows.append(row)
        return rows


class QuotedCsvExport(LmsExport):
    """nbgrader's default CSV columns, quoted properly (a comma in a name stays one field)."""

    filename = "grades.csv"
    columns = (
        "assignment",
        "duedate",
        "timestamp",
        "student_id",
        "last_name",
        "first_name",
        "email",
        "raw_score",
        "late_submission_penalty",
        "score",
        "max_score",
    )

    def table(self, assignments, students, results, gradebook):
        rows = [list(self.columns)]
        for name in assignments:
            duedate = gradebook.find_assignment(name).duedate or ""
            for s in students:
                r = results[s["id"]][name]
                rows.append(
                    [
                        name,
                        str(duedate),
                        r.timestamp,
                        s["id"],
                        s["last_name"],
                        s["first_name"],
                        s["email"],
                        f"{r.score + r.late_penalty:g}",
                        f"{r.late_penalty:g}",
                        f"{r.score:g}",
                        f"{r.max_score:g}",
                    ]
                )
        return rows


EXPORTERS = {
    "canvas": CanvasExport,
    "moodle": MoodleExport,
    "blackboard": BlackboardExport,
    "brightspace": BrightspaceExport,
    "detailed": DetailedExport,
    "csv": QuotedCsvExport,
}


def feedback_summary(result: Result) -> str:
    """One line for the LMS: what failed, by check name."""
    if not result.handed_in:
        return "No submission."
    failed = result.failed_cells()
    if not failed:
        return "All checks passed."
    return f"{len(failed)} of {len(result.cells)} checks failed: " + ", ".join(failed)


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """Roster rows by student id; the error names the file and the problem."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"roster {path}: cannot be read ({error})") from None
    if rows and "id" not in rows[0]:
        raise ValueError(f"roster {path}: no 'id' column (columns: {', '.join(rows[0])})")
    return {row["id"]: {k: (v or "").strip() for k, v in row.items() if k} for row in rows}
