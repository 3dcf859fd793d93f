"""Intake of an LMS bulk download with `nbgrader zip_collect`, students found in the roster.

    c.ZipCollectApp.collector_plugin = "gradekit.collect.RosterCollector"
    c.RosterCollector.roster = "roster.csv"

Canvas's "Download Submissions" zip names each file
`<loginname>[_LATE]_<lms user id>_<submission id>_<file name>`, and a file handed in again
`<file name>-1.ipynb`, `-2.ipynb`, ... The collector reads the LMS user id from the name,
finds the nbgrader student id in the roster's `lms_user_id` column, maps `<name>-N.ipynb`
back to the release notebook `<name>.ipynb` and keeps only the newest copy of each file.
Every file it skips is logged as a warning that names it. (nbgrader itself cannot choose
between two copies of a file: Canvas names carry no timestamp, so it stops with "Duplicate
submission file"; and it reads the names sorted, `x-1.ipynb` before `x.ipynb`.)
"""

import os
import re
from pathlib import Path
from typing import NoReturn

from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.utils import find_all_notebooks
from traitlets import Unicode

from gradekit.exporters import read_roster

CANVAS_REGEXP = (
    r"(?P<login_name>.+?)(?P<late>_(?i:late))?_(?P<student_id>\d+)_(?P<submission_id>\d+)_"
    r"(?P<file_id>.+)"
)
RESUBMITTED = re.compile(r"(?P<stem>.+)-(?P<copy>\d+)(?P<ext>\.[^.]+)")


class RosterCollector(FileNameCollectorPlugin):
    """zip_collect collector: LMS file names to nbgrader student ids through the roster."""

    named_regexp = Unicode(
        CANVAS_REGEXP,
        help="Regular expression matched to the start of each file's base name. It must "
        "capture (?P<student_id>...), the LMS identity looked up in `roster_column`, and "
        "(?P<file_id>...), the file name; (?P<submission_id>...) (digits, newest highest) "
        "and (?P<timestamp>...) are optional. Default: Canvas's bulk download names.",
    ).tag(config=True)
    roster = Unicode(
        "roster.csv",
        help="Roster CSV with the nbgrader student id in column `id` (relative to the course "
        "folder).",
    ).tag(config=True)
    roster_column = Unicode(
        "lms_user_id", help="Roster column holding the identity the file names carry."
    ).tag(config=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        try:
            self.pattern = re.compile(self.named_regexp)
        except re.error as error:
            self._fail(f"named_regexp {self.named_regexp!r} is not a regular expression: {error}")
        if not {"student_id", "file_id"} <= set(self.pattern.groupindex):
            self._fail(
                f"named_regexp {self.named_regexp!r} must capture (?P<student_id>...) and "
                "(?P<file_id>...)"
            )
        self.students = self._read_roster()
        self.release = set(self._release_notebooks())
        self._newest: dict[str, dict[tuple[str, str], str]] = {}

    def collect(self, submitted_file: str) -> dict | None:
        """nbgrader's student id and release file name for one extracted file, or None."""
        name = os.path.basename(submitted_file)
        if os.path.splitext(name)[1] not in self.valid_ext:
            self.log.warning("Skipped %s: not a notebook (valid_ext: %s)", name, self.valid_ext)
            return None
        parsed = self.parse(name)
        if parsed is None:
            self.log.warning(
                "Skipped %s: the name does not match named_regexp %r", name, self.named_regexp
            )
            return None
        lms_id, file_id, groups = parsed
        student_id = self.students.get(lms_id)
        if student_id is None:
            self.log.warning(
                "Skipped %s: %s %s is not in the roster %s",
                name,
                self.roster_column,
                lms_id,
                self.roster_path,
            )
            return None
        newest = self._newest_in(os.path.dirname(submitted_file))[lms_id, file_id]
        if newest != name:
            self.log.warning("Skipped %s: superseded by %s", name, newest)
            return None
        if groups.get("late"):
            self.log.info("%s is marked late by the LMS (student %s)", name, student_id)
        info = {"student_id": student_id, "file_id": file_id}
        if groups.get("timestamp"):
            info["timestamp"] = groups["timestamp"]
        return info

    def parse(self, name: str) -> tuple[str, str, dict] | None:
        """(LMS id, release file name, all groups) from a file name, or None if no match."""
        match = self.pattern.match(name)
        if not match or not match["student_id"] or not match["file_id"]:
            return None
        file_id = match["file_id"]
        copy = RESUBMITTED.fullmatch(file_id)
        if copy and file_id not in self.release and copy["stem"] + copy["ext"] in self.release:
            file_id = copy["stem"] + copy["ext"]
        return match["student_id"], file_id, match.groupdict()

    def version(self, name: str) -> tuple[int, int]:
        """Newer is greater: (submission id, resubmission copy number)."""
        groups = self.pattern.match(name).groupdict()
        submission = groups.get("submission_id") or ""
        copy = RESUBMITTED.fullmatch(groups["file_id"])
        return (
            int(submission) if submission.isdigit() else 0,
            int(copy["copy"]) if copy else 0,
        )

    def _newest_in(self, folder: str) -> dict[tuple[str, str], str]:
        """The newest file name of each (LMS id, file) in a folder of the extracted zip."""
        if folder not in self._newest:
            newest: dict[tuple[str, str], str] = {}
            for name in sorted(os.listdir(folder)):
                parsed = self.parse(name)
                if parsed is None or not os.path.isfile(os.path.join(folder, name)):
                    continue
                key = parsed[:2]
                if key not in newest or self.version(name) > self.version(newest[key]):
                    newest[key] = name
            self._newest[folder] = newest
        return self._newest[folder]

    @property
    def roster_path(self) -> Path:
        root = getattr(getattr(self.parent, "coursedir", None), "root", None) or os.getcwd()
        return Path(root, self.roster)

    def _read_roster(self) -> dict[str, str]:
        """nbgrader student id by LMS identity; the errors name the roster file."""
        path = self.roster_path
        try:
            rows = read_roster(path)
        except ValueError as error:
            self._fail(f"RosterCollector.roster: {error}")
        students: dict[str, str] = {}
        for student_id, row in rows.items():
            if self.roster_column not in row:
                self._fail(f"roster {path}: no {self.roster_column!r} column")
            lms_id = row[self.roster_column]
            if lms_id in students:
                self._fail(
                    f"roster {path}: {self.roster_column} {lms_id} belongs to both "
                    f"{students[lms_id]} and {student_id}"
                )
            if lms_id:
                students[lms_id] = student_id
        if not students:
            self._fail(f"roster {path}: no student has a {self.roster_column}")
        return students

    def _release_notebooks(self) -> list[str]:
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is None or not coursedir.assignment_id:
            return []
        return find_all_notebooks(
            coursedir.format_path(coursedir.release_directory, ".", coursedir.assignment_id)
        )

    def _fail(self, message: str) -> NoReturn:
        """Stop zip_collect (or raise, outside it) with this message."""
        if hasattr(self.parent, "fail"):
            self.parent.fail(message)
        raise ValueError(message)
