"""Running nbgrader on a course folder and reading its gradebook; two of nbgrader's autograde
steps that go to the gradebook once per notebook rather than once per cell."""

import os
import subprocess
import sys
from pathlib import Path

from jupyter_core.paths import jupyter_config_path
from nbgrader.api import (
    Comment,
    Grade,
    Gradebook,
    GradeCell,
    MissingEntry,
    SolutionCell,
    SourceCell,
    TaskCell,
)
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells, SaveAutoGrades
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from . import QUIET


def environment() -> dict[str, str]:
    """os.environ with this Python's scripts folder first on PATH, and nbgrader's warnings
    under SQLAlchemy 2 off (see gradekit/__init__.py).

    nbgrader calls the `alembic` script when it creates a gradebook, so that folder must be
    on PATH even when the virtualenv is not activated.
    """
    env = dict(os.environ)
    if QUIET not in env.get("PYTHONWARNINGS", ""):
        env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), QUIET]))
    scripts = os.path.dirname(sys.executable)
    if env.get("PATH", "").split(os.pathsep)[0] != scripts:
        env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
    return env


def share_database_engines() -> None:
    """Make every nbgrader `Gradebook` this process opens on one database share one
    SQLAlchemy engine. nbgrader opens the gradebook about 15 times per submission, and a new
    engine starts with an empty cache of compiled statements: compiling its queries again
    took two thirds of a grading worker's time in SQLAlchemy. Closing a gradebook still closes its
    connections (the engine's `dispose`, which leaves the engine and its cache usable)."""
    import nbgrader.api

    if getattr(nbgrader.api.create_engine, "shared", False):
        return
    engines, create = {}, nbgrader.api.create_engine

    def shared_engine(url, **options):
        key = (str(url), tuple(sorted(options.items())))
        if key not in engines:
            engines[key] = create(url, **options)
        return engines[key]

    shared_engine.shared = True
    nbgrader.api.create_engine = shared_engine


def create_tables_only_when_missing() -> None:
    """Make every nbgrader `Gradebook` this process opens look for its tables in one query.
    nbgrader creates any that is missing each time it opens the gradebook, asking for each
    of its 12 tables in a query of its own (about 15 opens per submission). It still does,
    but only when the one query finds a table missing."""
    import nbgrader.api
    from sqlalchemy import inspect

    metadata = nbgrader.api.Base.metadata
    if getattr(metadata.create_all, "one_query", False):
        return
    create_all = metadata.create_all

    def create_missing(bind, **options):
        if not set(metadata.tables) <= set(inspect(bind).get_table_names()):
            create_all(bind=bind, **options)

    create_missing.one_query = True
    metadata.create_all = create_missing


def nbgrader(course_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run one nbgrader command in the course folder, with this environment's tools on PATH."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course_dir,
        env=environment(),
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"nbgrader {' '.join(args)} failed in {course_dir} (exit {result.returncode}):\n"
            + errors_in(result.stderr)
        )
    return result


def errors_in(log: str, context: int = 30) -> str:
    """The error lines of an nbgrader log, each traceback in full (not the whole log)."""
    lines = log.splitlines()
    keep = set()
    for index, line in enumerate(lines):
        if "| ERROR]" in line:
            keep.update(range(index, min(index + context, len(lines))))
    return "\n".join(lines[i] for i in sorted(keep)) or log[-3000:]


def load_config(course_dir: Path) -> Config:
    """The nbgrader config an nbgrader command run in the course folder reads: every
    `nbgrader_config.py` on Jupyter's config path (e.g. /etc/jupyter), then the course's own."""
    config = Config()
    folders = [*reversed(jupyter_config_path()), str(Path(course_dir).resolve())]
    for folder in folders:
        if (Path(folder) / "nbgrader_config.py").is_file():
            config.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
    return config


def db_url(course_dir: Path) -> str:
    """The default sqlite gradebook of a course folder."""
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def configured_db_url(course_dir: Path) -> str:
    """The gradebook the course's config names (`c.CourseDirectory.db_url`, e.g. PostgreSQL),
    or the default sqlite one."""
    return _gradebook_settings(course_dir)[0]


def _gradebook_settings(course_dir: Path) -> tuple[str, str]:
    settings = load_config(course_dir).get("CourseDirectory", {})
    return (
        settings.get("db_url") or db_url(course_dir),
        settings.get("course_id") or "default_course",
    )


def gradebook(course_dir: Path, db_url: str | None = None) -> Gradebook:
    """The course's gradebook (the configured one unless `db_url` is given), created if need
    be (which runs `alembic`)."""
    os.environ["PATH"] = environment()["PATH"]
    configured, course_id = _gradebook_settings(course_dir)
    return Gradebook(db_url or configured, course_id)


def student_ids(course_dir: Path) -> set[str]:
    """The ids of the students in the course's gradebook."""
    with gradebook(course_dir) as gb:
        return {student.id for student in gb.students}


def cell_scores(
    course_dir: Path, assignment: str, db_url: str | None = None
) -> dict[str, dict[str, float]]:
    """Points of every autograded grade cell, by student then by grade cell name."""
    with gradebook(course_dir, db_url) as gb:
        return {
            submission.student.id: {
                grade.cell.name: grade.score
                for nb in submission.notebooks
                for grade in nb.grades
                if grade.cell.cell_type == "code"
            }
            for submission in gb.find_assignment(assignment).submissions
        }


def max_scores(course_dir: Path, assignment: str, db_url: str | None = None) -> dict[str, float]:
    """Points each autograded grade cell is worth (not the written answers, graded by hand)."""
    with gradebook(course_dir, db_url) as gb:
        return {
            cell.name: cell.max_score
            for nb in gb.find_assignment(assignment).notebooks
            for cell in nb.grade_cells
            if cell.cell_type == "code"
        }


class OverwriteCellsReadOnce(OverwriteCells):
    """nbgrader's OverwriteCells, reading the notebook's cells from the gradebook once: nbgrader
    asks for each cell's source (and a graded cell's points) in queries of its own, about
    40 per notebook. The notebook that comes out is the same."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.db_url = info["db_url"]
        with Gradebook(self.db_url) as gradebook:
            self.gradebook = NotebookCells(gradebook, self.notebook_id, self.assignment_id)
            nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
            if self.add_missing_cells:
                nb, resources = self.add_missing_grade_cells(nb, resources)
                nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class SaveAutoGradesAtOnce(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, reading a notebook's grades and comments from the gradebook
    once and writing them in one transaction: nbgrader looks each one up in a query of its
    own and commits after every cell, and each commit waits for the disk (a sqlite
    gradebook syncs its journal and file every time). The rows are the same; a notebook
    that fails midway leaves none of its new ones."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.db_url = info["student"], info["db_url"]
        with Gradebook(self.db_url) as gradebook:
            self.gradebook = SubmittedRows(
                gradebook, self.notebook_id, self.assignment_id, self.student_id
            )
            session = gradebook.db()
            session.commit = lambda: None  # each cell's commit: kept for the one at the end
            try:
                nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
            finally:
                del session.commit
            session.commit()
        return nb, resources


class ReadOnce:
    """A gradebook that answers some lookups from rows it read at the start, raising
    nbgrader's MissingEntry as nbgrader's own would; anything else, it asks the gradebook."""

    def __init__(self, gradebook: Gradebook):
        self.gradebook = gradebook

    def __getattr__(self, name: str):
        return getattr(self.gradebook, name)

    @staticmethod
    def read(query, rows: dict) -> None:
        """Add (row, name) pairs of a query to rows by name (a later name wins)."""
        rows.update({name: row for row, name in query})

    @staticmethod
    def found(rows: dict, name: str, missing: str):
        if name not in rows:
            raise MissingEntry(missing)
        return rows[name]


class NotebookCells(ReadOnce):
    """One notebook's source and graded cells, read at the start."""

    def __init__(self, gradebook: Gradebook, notebook: str, assignment: str):
        super().__init__(gradebook)
        self.source, self.graded = {}, {}
        try:
            found = gradebook.find_notebook(notebook, assignment)
        except MissingEntry:  # every cell is then unknown, as nbgrader finds it
            return
        for kind, rows in ((SourceCell, self.source), (TaskCell, self.graded),
                           (GradeCell, self.graded)):  # fmt: skip
            # a grade cell's name wins over a task cell's, as in nbgrader
            query = gradebook.db.query(kind, kind.name).filter_by(notebook_id=found.id)
            self.read(query, rows)

    def find_source_cell(self, name: str, notebook: str, assignment: str):
        missing = f"No such source cell: {assignment}/{notebook}/{name}"
        return self.found(self.source, name, missing)

    def find_graded_cell(self, name: str, notebook: str, assignment: str):
        missing = f"No such graded cell: {assignment}/{notebook}/{name}"
        return self.found(self.graded, name, missing)


class SubmittedRows(ReadOnce):
    """One submitted notebook's grades and comments, read at the start."""

    def __init__(self, gradebook: Gradebook, notebook: str, assignment: str, student: str):
        super().__init__(gradebook)
        self.grades, self.comments = {}, {}
        try:
            found = gradebook.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:  # every grade and comment is then unknown, as nbgrader finds it
            return
        for row, kind, rows in ((Grade, TaskCell, self.grades), (Grade, GradeCell, self.grades),
                                (Comment, TaskCell, self.comments),
                                (Comment, SolutionCell, self.comments)):  # fmt: skip
            # a grade (solution) cell's name wins over a task cell's, as in nbgrader
            query = (
                gradebook.db.query(row, kind.name)
                .join(kind, kind.id == row.cell_id)
                .filter(row.notebook_id == found.id)
            )
            self.read(query, rows)

    def find_grade(self, name: str, notebook: str, assignment: str, student: str):
        missing = f"No such grade: {assignment}/{notebook}/{name} for {student}"
        return self.found(self.grades, name, missing)

    def find_comment(self, name: str, notebook: str, assignment: str, student: str):
        missing = f"No such taskcomment: {assignment}/{notebook}/{name} for {student}"
        return self.found(self.comments, name, missing)
