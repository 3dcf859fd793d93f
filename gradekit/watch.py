"""Grading on submit: `gradekit watch <assignment>` grades each new submission in the
exchange and releases its feedback, so that *Fetch Feedback* shows it minutes later.

The service works in a course folder of its own, `.gradekit/watch/<assignment>/` in the
course's: the course's config (and sandbox, checks, feedback pages), its own gradebook
(the assignment's due date copied from the course's), its own `submitted/`, `autograded/`
and `feedback/`. The course's gradebook, its `autograded/` and its exports are never
touched: the grades of record stay with the instructor's `gradekit autograde` after the
deadline (late rules included). Unless `Watch.record`: then the service collects and
grades into the course's own folders and gradebook (its grades are the grades of record),
and only the feedback it releases, shaped by `Watch.hidden`, is its own.

Each look at the exchange's inbound folder (every `Watch.interval` seconds, or once with
`--once`):

- every submission of the assignment not seen before is recorded as waiting (in
  `state.json`, written whole after each change: a service stopped at any point starts
  again where it was, and grades each waiting submission once);
- with `Watch.after_due = "stop"`, one handed in after the student's due date (their
  extension's, if any) is left to the instructor's grading;
- of a student's waiting submissions only the newest is graded; older ones are superseded;
- a student who has had `Watch.budget` submissions graded in the last `Watch.window_hours`
  waits for the window (`Watch.over_budget = "queue"`) or is refused (`"refuse"`);
- the others are collected (nbgrader's collect), graded on the same local pool of workers
  as `gradekit autograde`, first come first served, and their feedback generated and
  released (nbgrader's generate_feedback and release_feedback);
- every submission not graded yet gets a status page in place of its feedback (waiting,
  its place in the queue; over the budget, until when; superseded), which its feedback
  replaces when it is graded.

What a student sees of the hidden checks is `Watch.hidden`: "nothing" (the visible checks
and their points only), "verdicts" (each check passed or failed, its message only after the
deadline) or "messages" (as the deadline's feedback).
The visible checks' results are always shown.
"""

import html
import json
import os
import stat
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.api import MissingEntry
from nbgrader.utils import notebook_hash, parse_utc
from traitlets import Bool, Enum, Float, Integer
from traitlets.config import Configurable

from . import autograde, course, late
from .feedback import HIDDEN_REGION, FeedbackPreprocessor


class NotReady(Exception):
    """The course is not ready for the service (what to do is in the message)."""


class Watch(Configurable):
    """Settings of `gradekit watch` (grading on submit), in the course's nbgrader_config.py."""

    budget = Integer(
        3, help="Graded submissions per student and assignment in any window (0: no limit)."
    ).tag(config=True)
    window_hours = Float(24.0, help="The budget's window, in hours.").tag(config=True)
    over_budget = Enum(
        ["queue", "refuse"],
        "queue",
        help="A submission over the budget waits for the window to free a place (queue), "
        "or is not graded at all (refuse); either way its status page says so.",
    ).tag(config=True)
    hidden = Enum(
        ["nothing", "verdicts", "messages"],
        "verdicts",
        help="What feedback on submit shows of the hidden checks: nothing (not listed, "
        "their points left out of the score), whether each passed (verdicts: no oracle), "
        "or also their messages and diagnoses (messages).",
    ).tag(config=True)
    interval = Float(10.0, help="Seconds between two looks at the exchange.").tag(config=True)
    after_due = Enum(
        ["grade", "stop"],
        "grade",
        help="A submission handed in after the student's due date (the assignment's in the "
        "gradebook, or their extension's): graded on submit, its feedback showing the late "
        "penalty it carries (grade), or left to the instructor's grading (stop), its status "
        "page saying so.",
    ).tag(config=True)
    record = Bool(
        False,
        help="Grade into the course's own gradebook, submitted/ and autograded/: the "
        "service's grades are the grades of record (late rules included), which the "
        "formgrader and the exports show. Off: the service has a gradebook of its own.",
    ).tag(config=True)


@dataclass
class Submission:
    """One submission in the exchange's inbound folder, as the service tracks it."""

    folder: str  # its name in inbound: student+assignment+timestamp+random
    student: str
    timestamp: str
    status: str = "waiting"  # waiting, graded, refused, superseded, failed, late
    graded_at: float = 0.0
    gradings: int = 0


class Service:
    """The grading-on-submit service of one assignment."""

    def __init__(self, course_dir: Path, assignment: str, jobs: int | None = None):
        self.course_dir, self.assignment, self.jobs = Path(course_dir).resolve(), assignment, jobs
        self.folder = self.course_dir / ".gradekit" / "watch" / assignment
        config = course.load_config(self.course_dir)
        self.settings = Watch(config=config)
        # where submissions are collected and graded
        self.root = self.course_dir if self.settings.record else self.folder
        self.course_id = config.CourseDirectory.course_id
        self.exchange = Path(config.Exchange.root) / self.course_id
        self.state_file = self.folder / "state.json"
        self.submissions: dict[str, Submission] = {}
        if self.state_file.is_file():
            for data in json.loads(self.state_file.read_text(encoding="utf-8")).values():
                self.submissions[data["folder"]] = Submission(**data)

    def prepare(self) -> None:
        """The service's own course folder: the course's config with its own gradebook,
        the course's source and extensions, a release generated there (its gradebook's
        copy) and the course's due date. (Recording: the course's config, with the service's
        feedback.)"""
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "nbgrader_config.py"
        text = (
            "# Written by gradekit watch: the course's settings, with the service's feedback.\n"
            "c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(self.course_dir / 'nbgrader_config.py')!r})  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(self.root)!r}\n"
        )
        if self.settings.record:
            feedback = os.path.relpath(self.folder / "feedback", self.course_dir)
            text += f"c.CourseDirectory.feedback_directory = {feedback!r}\n"
        else:
            text += f"c.CourseDirectory.db_url = {course.db_url(self.folder)!r}\n"
        if self.settings.hidden == "verdicts":
            text += (
                "c.GenerateFeedback.preprocessors = ['gradekit.watch.VerdictsOnly', "
                "*c.GenerateFeedback.preprocessors]\n"
            )
        elif self.settings.hidden == "nothing":  # once the grades are on the cells
            text += (
                "_steps = list(c.GenerateFeedback.preprocessors)\n"
                "_steps.insert(_steps.index('nbgrader.preprocessors.GetGrades') + 1, "
                "'gradekit.watch.VisibleOnly')\n"
                "c.GenerateFeedback.preprocessors = _steps\n"
            )
        if not config.is_file() or config.read_text() != text:
            config.write_text(text)
        if self.settings.record:
            release = self.course_dir / "release" / self.assignment
            if not release.is_dir():
                raise NotReady(
                    f"{release}: not generated; c.Watch.record grades into the course's "
                    f"gradebook: run `nbgrader generate_assignment {self.assignment}` first"
                )
            return
        for name in ("source", late.EXTENSIONS):
            if not (self.folder / name).is_symlink():
                (self.folder / name).symlink_to(self.course_dir / name)
        # the release again whenever the instructor changed the source
        digest = autograde.files_digest(self.folder / "source" / self.assignment)
        generated = self.folder / "release" / f".{self.assignment}.source-digest"
        if not generated.is_file() or generated.read_text() != digest:
            course.nbgrader(self.folder, "generate_assignment", self.assignment, "--force")
            generated.write_text(digest)
        with course.gradebook(self.folder) as gb:
            gb.update_or_create_assignment(self.assignment, duedate=self.due_date())

    def due_date(self) -> datetime | None:
        """The assignment's due date in the course's gradebook (naive UTC), if it has one."""
        with course.gradebook(self.course_dir) as gb:
            try:
                return gb.find_assignment(self.assignment).duedate
            except MissingEntry:
                return None

    def own_due_dates(self) -> dict[str, datetime | None]:
        """Each student's due date, by student: their extension's, or the assignment's."""
        base = self.due_date()
        extensions = late.extensions_of(self.course_dir, self.assignment)
        students = {sub.student for sub in self.submissions.values()}
        return {student: late.own_due_date(base, extensions.get(student)) for student in students}

    def look(self) -> dict[str, list[str]]:
        """One look at the exchange: record, grade, release. The students graded, and those
        whose submission could not be graded, each with why."""
        self.record_new()
        if self.settings.after_due == "stop":
            due = self.own_due_dates()
            for sub in self.waiting():
                if due[sub.student] and parse_utc(sub.timestamp) > due[sub.student]:
                    self.set_status(sub, "late")
        now = time.time()
        newest: dict[str, Submission] = {}
        for sub in sorted(self.waiting(), key=lambda s: s.timestamp):
            if sub.student in newest:
                self.set_status(newest[sub.student], "superseded")
            newest[sub.student] = sub
        to_grade = []
        for sub in sorted(newest.values(), key=lambda s: s.timestamp):
            if self.budget_left(sub.student, now) > 0:
                to_grade.append(sub)
            elif self.settings.over_budget == "refuse":
                self.set_status(sub, "refused")
        outcomes = self.grade(to_grade) if to_grade else []
        for position, sub in enumerate(sorted(self.waiting(), key=lambda s: s.timestamp), 1):
            self.post_status(sub, position)
        why = {o.student: autograde.error_line(o.error or "\n".join(o.problems)) for o in outcomes}
        failed = [sub.student for sub in to_grade if sub.status == "failed"]
        return {
            "graded": [sub.student for sub in to_grade if sub.status == "graded"],
            "failed": [f"{student}: {why.get(student, 'not graded')}" for student in failed],
        }

    def record_new(self) -> None:
        inbound = self.exchange / "inbound"
        for entry in sorted(inbound.iterdir()) if inbound.is_dir() else []:
            parts = entry.name.split("+")
            if (
                len(parts) >= 3
                and parts[1] == self.assignment
                and entry.name not in self.submissions
            ):
                self.submissions[entry.name] = Submission(entry.name, parts[0], parts[2])
        self.save()

    def waiting(self) -> list[Submission]:
        return [sub for sub in self.submissions.values() if sub.status == "waiting"]

    def budget_left(self, student: str, now: float) -> float:
        if not self.settings.budget:
            return 1
        since = now - self.settings.window_hours * 3600
        graded = [
            s for s in self.submissions.values() if s.student == student and s.graded_at > since
        ]
        return self.settings.budget - len(graded)

    def free_at(self, student: str) -> float:
        """When the student's window next has room."""
        times = sorted(
            s.graded_at for s in self.submissions.values() if s.student == student and s.graded_at
        )
        return times[-self.settings.budget] + self.settings.window_hours * 3600

    def grade(self, subs: list[Submission]) -> list[autograde.Outcome]:
        """Collect these submissions (one per student), grade them and release each one's
        feedback as soon as it is graded (the workers do), recording each as it ends."""
        self.prepare()
        from nbgrader.apps.api import NbGraderAPI

        NbGraderAPI(config=course.load_config(self.folder)).collect(self.assignment, update=True)
        self.record_new()  # what arrived meanwhile: collect may have taken it
        listed = {sub.student: sub for sub in subs}

        def ended(student: str, graded: bool) -> None:
            # what was collected is the student's newest submission: that one is graded (a
            # newer one may have arrived meanwhile), the one listed before it superseded
            stamp = self.root / "submitted" / student / self.assignment / "timestamp.txt"
            sub = listed[student]
            done = self.find(student, stamp.read_text().strip() if stamp.is_file() else "") or sub
            if done is not sub:
                self.set_status(sub, "superseded")
            if graded:
                done.gradings += 1
                done.graded_at = time.time()
            self.set_status(done, "graded" if graded else "failed")
            if graded:  # a notebook nbgrader could not read has no feedback: say so
                pages = self.folder / "feedback" / student / self.assignment
                unread = {nb for nb in self.notebooks(done) if not (pages / f"{nb}.html").is_file()}
                text = "This notebook could not be graded; your instructor has been told."
                self.write_page(done, f"Submission of {done.timestamp}", text, unread)

        outcomes = autograde.autograde_class(
            self.root,
            self.assignment,
            list(listed),
            self.jobs,
            feedback=True,
            on_result=ended,
            config_dir=self.folder,
        )
        for sub in listed.values():  # nothing gradable handed in (no notebook at all)
            if sub.status == "waiting":
                self.set_status(sub, "failed")
        return outcomes

    def find(self, student: str, timestamp: str) -> Submission | None:
        for sub in self.submissions.values():
            if sub.student == student and sub.timestamp == timestamp:
                return sub
        return None

    def set_status(self, sub: Submission, status: str) -> None:
        sub.status = status
        self.save()
        if status in ("superseded", "refused", "failed", "late"):
            self.post_status(sub)

    def post_status(self, sub: Submission, position: int = 0) -> None:
        """A page in place of the submission's feedback saying where it is."""
        when = datetime.fromtimestamp
        if sub.status == "superseded":
            text = "A newer submission of yours replaced this one: its feedback comes with it."
        elif sub.status == "failed":
            text = "This submission could not be graded; your instructor has been told."
        elif sub.status == "late":
            due = self.own_due_dates()[sub.student]
            text = (
                f"This submission came after your due date ({due:%Y-%m-%d %H:%M} UTC): "
                "feedback on submit has ended. Your instructor grades it with the class."
            )
        elif sub.status == "refused" or self.budget_left(sub.student, time.time()) <= 0:
            free = when(self.free_at(sub.student), UTC).strftime("%Y-%m-%d %H:%M UTC")
            text = (
                f"You have had {self.settings.budget} submissions graded in the last "
                f"{self.settings.window_hours:g} hours, the limit. "
                + (
                    f"This one was not graded; submit again after {free}."
                    if sub.status == "refused"
                    else f"This one will be graded after {free}."
                )
            )
        else:
            text = f"Waiting to be graded: {position - 1} submission(s) ahead of it."
        self.write_page(sub, f"Submission of {sub.timestamp}", text)

    def notebooks(self, sub: Submission) -> set[str]:
        """The release's notebooks the submission holds (others get no feedback)."""
        released = {nb.stem for nb in (self.root / "release" / self.assignment).glob("*.ipynb")}
        return {
            nb.stem for nb in (self.exchange / "inbound" / sub.folder).glob("*.ipynb")
        } & released

    def write_page(
        self, sub: Submission, title: str, text: str, notebooks: set[str] | None = None
    ) -> None:
        """The page in place of the feedback of the submission's notebooks (or of those)."""
        secret_file = self.exchange / "inbound" / sub.folder / "submission_secret.txt"
        if not secret_file.is_file():
            return
        secret = secret_file.read_text()
        outbound = self.exchange / "feedback"
        outbound.mkdir(exist_ok=True)
        os.chmod(outbound, stat.S_IRWXU | stat.S_IXGRP | stat.S_IXOTH)
        page = STATUS_PAGE.format(title=html.escape(title), text=html.escape(text))
        for notebook in self.notebooks(sub) if notebooks is None else notebooks:
            target = outbound / f"{notebook_hash(secret=secret, notebook_id=notebook)}.html"
            partial = target.with_suffix(".tmp")
            partial.write_text(page, encoding="utf-8")
            os.chmod(partial, 0o644)
            os.replace(partial, target)

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.state_file.with_suffix(".tmp")
        data = {name: asdict(sub) for name, sub in sorted(self.submissions.items())}
        partial.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(partial, self.state_file)


STATUS_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p id="status">{text}</p>
<p>Fetch your feedback again later to see its grading.</p></body></html>
"""
VERDICT = "this check failed; what it found is shown with the feedback after the deadline"


class VerdictsOnly(FeedbackPreprocessor):
    """Feedback on submit: a check with hidden tests says whether it passed, not why."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_REGION.search(cell.source):
            if any(output.output_type == "error" for output in cell.outputs):
                cell.outputs = [
                    NotebookNode(
                        output_type="error", ename="CheckFailed", evalue=VERDICT, traceback=[]
                    )
                ]
            else:
                cell.outputs = []
        return cell, resources


class VisibleOnly(FeedbackPreprocessor):
    """Feedback on submit: the checks with hidden tests left out of the page, and their
    points out of its score (which then counts the visible checks only)."""

    def preprocess(self, nb, resources):
        kept, left_out = [], 0.0
        for cell in nb.cells:
            grading = cell.metadata.get("nbgrader", {})
            if (
                cell.cell_type == "code"
                and grading.get("grade")
                and HIDDEN_REGION.search(cell.source)
            ):
                resources["nbgrader"]["score"] -= grading.get("score") or 0
                resources["nbgrader"]["max_score"] -= grading.get("points") or 0
                left_out += grading.get("points") or 0
            else:
                kept.append(cell)
        nb.cells = kept
        resources["hidden_points_left_out"] = left_out
        return nb, resources


def watch(course_dir: Path, assignment: str, once: bool = False, jobs: int | None = None) -> None:
    """Run the service: look at the exchange, grade what waits, then again after the
    interval (or stop, with `once`)."""
    service = Service(course_dir, assignment, jobs)
    service.prepare()
    while True:
        done = service.look()
        if done["graded"]:
            print(f"graded {len(done['graded'])}: {', '.join(done['graded'])}", flush=True)
        for line in done["failed"]:
            print(f"could not grade {line}", file=sys.stderr, flush=True)
        if once:
            return
        time.sleep(service.settings.interval)
