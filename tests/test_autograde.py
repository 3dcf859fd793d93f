"""The kit's parallel autograde gives exactly the grades and exports of plain nbgrader."""

import copy
import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys

import nbformat
import pytest
from conftest import ASSIGNMENT, PART1, PART2, differences, make_course
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import OverwriteCells, SaveAutoGrades
from sqlalchemy import event
from sqlalchemy.engine import Engine

import democlass
from gradekit import autograde, course, demo

CLASS = [
    "model",
    "blank",
    "sigmoid-sign",
    "segfault-in-forward",
    "emptied-checks",
    "train-no-return",
]


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The class, each student handing in the variant of their name, graded by plain
    `nbgrader autograde`."""
    folder = make_course(tmp_path_factory.mktemp("serial") / "class")
    democlass.hand_in(folder, {name: name for name in CLASS})
    course.nbgrader(folder, "autograde", ASSIGNMENT, "--force")
    return folder


def test_parallel_autograde_matches_serial_nbgrader(serial, tmp_path):
    parallel = tmp_path / "parallel"
    shutil.copytree(serial, parallel, ignore=shutil.ignore_patterns("gradebook.db", "autograded"))
    course.nbgrader(parallel, "generate_assignment", ASSIGNMENT, "--force")

    outcomes = autograde.autograde_class(parallel, ASSIGNMENT, jobs=2)

    assert all(o.graded and not o.error for o in outcomes)
    assert not differences(
        course.cell_scores(parallel, ASSIGNMENT), course.cell_scores(serial, ASSIGNMENT)
    )
    exports = {}
    for name, folder in (("serial", serial), ("parallel", parallel)):
        written = demo.export_all(
            folder, tmp_path / f"{name}-exports", democlass.ROSTER, democlass.COLUMN_IDS
        )
        exports[name] = {path.name: path.read_text() for path in written}
    assert exports["serial"] == exports["parallel"]


def run_script(source: str, *args) -> subprocess.CompletedProcess:
    """Run Python code in a process of its own (a new grading worker's), with arguments."""
    command = [sys.executable, "-c", source, *map(str, args)]
    return subprocess.run(
        command, capture_output=True, text=True, env=course.environment(), timeout=120
    )


SHARED_ENGINES = """
import sys
from nbgrader.api import Gradebook
from gradekit import course

first, second = (f"sqlite:///{folder}/gradebook.db" for folder in sys.argv[1:])
course.share_database_engines()
course.share_database_engines()  # a second call changes nothing
with Gradebook(first) as book:
    book.add_student("ada")
    engine = book.engine
with Gradebook(first) as book:  # closed and opened again: the same engine, still working
    assert book.engine is engine, "a new engine for the same gradebook"
    assert [s.id for s in book.students] == ["ada"], "the reopened gradebook lost a student"
with Gradebook(second) as book:
    assert book.engine is not engine, "another gradebook's engine"
    assert book.students == [], "the second gradebook sees the first one's students"
print("shared")
"""


def test_a_worker_shares_one_database_engine_per_gradebook(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    result = run_script(SHARED_ENGINES, tmp_path / "a", tmp_path / "b")
    assert result.stdout.strip() == "shared", result.stderr[-2000:]


TABLES_ONCE = """
import sqlite3, sys
from nbgrader.api import Gradebook
from sqlalchemy import event
from sqlalchemy.engine import Engine
from gradekit import course

statements = []
event.listen(Engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
url = f"sqlite:///{sys.argv[1]}/gradebook.db"
if sys.argv[2] == "once":
    course.create_tables_only_when_missing()
    course.create_tables_only_when_missing()  # a second call changes nothing
with Gradebook(url) as book:  # a new gradebook: nbgrader creates its tables
    book.add_student("ada")
statements.clear()
with Gradebook(url) as book:
    assert [s.id for s in book.students] == ["ada"]
opened = len(statements) - 1  # the students' query
with sqlite3.connect(f"{sys.argv[1]}/gradebook.db") as db:
    db.execute("DROP TABLE comment")
with Gradebook(url) as book:  # a table missing: created again
    pass
with sqlite3.connect(f"{sys.argv[1]}/gradebook.db") as db:
    assert db.execute("SELECT count(*) FROM comment").fetchone() == (0,)
print(opened)
"""


def test_a_worker_s_gradebook_opens_look_for_the_tables_in_one_query(tmp_path):
    counts = {}
    for way in ("nbgrader", "once"):
        (tmp_path / way).mkdir()
        result = run_script(TABLES_ONCE, tmp_path / way, way)
        assert result.returncode == 0, result.stderr[-2000:]
        counts[way] = int(result.stdout)
    assert counts["nbgrader"] >= 14, counts  # a query per table, and more
    assert counts["once"] <= 4, counts  # the tables, the tables again, the course


WORKER_SERVER = """
import json, os, sys
from gradekit import autograde

course_dir = sys.argv[1]
autograde.start_worker_server()
os.environ["GRADEKIT_PROBE"] = "set after the server started"
setup = (course_dir, f"sqlite:///{course_dir}/gradebook.db", course_dir, None, dict(os.environ))
context = autograde.worker_context()
with context.Pool(2, initializer=autograde.start_worker, initargs=setup) as pool:
    probes = pool.map(os.getenv, ["GRADEKIT_PROBE"] * 4)
    folders = set(pool.starmap(os.getcwd, [()] * 4))
    parent = pool.apply(os.getppid)
print(json.dumps({"probes": probes, "folders": sorted(folders), "parent": parent,
                  "grader": os.getpid(), "method": context.get_start_method()}))
"""


def test_workers_are_forked_by_a_server_yet_have_the_grader_s_environment(fresh_course):
    folder = fresh_course
    result = run_script(WORKER_SERVER, folder)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout)
    assert seen["method"] == "forkserver"
    assert seen["parent"] != seen["grader"], "a worker was forked by the grader itself"
    assert seen["probes"] == ["set after the server started"] * 4, seen["probes"]
    assert seen["folders"] == [str(folder)], "a worker is not in the course folder"


def saved_rows(db: str) -> list[tuple]:
    """Every grade's automatic score and review flag, and every comment's automatic text."""
    with sqlite3.connect(db) as connection:
        grades = connection.execute(
            "SELECT id, auto_score, needs_manual_grade FROM grade ORDER BY id"
        ).fetchall()
        comments = connection.execute("SELECT id, auto_comment FROM comment ORDER BY id")
        return grades + comments.fetchall()


def save_grades(preprocessor, db: str, nb, student: str, part: str = PART2) -> tuple[int, int]:
    """Run a grade-saving preprocessor on an autograded notebook, after blanking what it
    writes: how many transactions it committed and how many statements it ran, besides
    those of opening the gradebook."""
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE grade SET auto_score = -1, needs_manual_grade = 1")
        connection.execute("UPDATE comment SET auto_comment = 'blanked'")
    commits, statements = [], []
    count_commit = lambda connection: commits.append(connection)  # noqa: E731
    count_statement = lambda *args: statements.append(args)  # noqa: E731
    event.listen(Engine, "commit", count_commit)
    event.listen(Engine, "before_cursor_execute", count_statement)
    try:
        with Gradebook(f"sqlite:///{db}"):
            opening = len(commits), len(statements)
        info = {"notebook": part[:-6], "assignment": ASSIGNMENT, "student": student}
        preprocessor.preprocess(nb, {"nbgrader": {**info, "db_url": f"sqlite:///{db}"}})
    finally:
        event.remove(Engine, "commit", count_commit)
        event.remove(Engine, "before_cursor_execute", count_statement)
    return len(commits) - 2 * opening[0], len(statements) - 2 * opening[1]


def test_a_notebook_s_grades_are_saved_in_one_transaction_as_nbgrader_saves_them(serial, tmp_path):
    stock, at_once = str(tmp_path / "stock.db"), str(tmp_path / "at-once.db")
    for student, part in itertools.product(("model", "blank", "sigmoid-sign"), (PART1, PART2)):
        nb = nbformat.read(serial / "autograded" / student / ASSIGNMENT / part, as_version=4)
        for db in (stock, at_once):
            shutil.copy(serial / "gradebook.db", db)
        commits, statements = save_grades(SaveAutoGrades(), stock, nb, student, part)
        assert commits > 10 and statements > 20
        # a few reads of the notebook's grades and comments, their changes written together
        commits, statements = save_grades(course.SaveAutoGradesAtOnce(), at_once, nb, student, part)
        assert commits == 1 and statements <= 10, statements
        assert saved_rows(at_once) == saved_rows(stock), (student, part)

        # a cell the gradebook does not know, last: nbgrader has written the others
        broken = copy.deepcopy(nb)
        graded = [c for c in broken.cells if c.metadata.get("nbgrader", {}).get("grade")]
        broken.cells.append(copy.deepcopy(graded[-1]))
        broken.cells[-1].metadata.nbgrader.grade_id = "no-such-check"
        for preprocessor, db in (
            (SaveAutoGrades(), stock),
            (course.SaveAutoGradesAtOnce(), at_once),
        ):
            with pytest.raises(MissingEntry):
                save_grades(preprocessor, db, broken, student, part)
        blank = [(-1.0, 1), ("blanked",)]
        assert any(row[1:] not in blank for row in saved_rows(stock)), "nbgrader saved nothing"
        assert all(row[1:] in blank for row in saved_rows(at_once)), (
            "grades of a notebook that failed midway were kept"
        )


def test_task_cells_comments_are_saved_as_nbgrader_saves_them(tmp_path):
    # the demo assignment has no task cell: a gradebook and a notebook that have them
    stock, at_once = str(tmp_path / "stock.db"), str(tmp_path / "at-once.db")
    with course.gradebook(tmp_path, f"sqlite:///{stock}") as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook("tasks", ASSIGNMENT)
        gb.add_grade_cell("check", "tasks", ASSIGNMENT, max_score=2, cell_type="code")
        gb.add_solution_cell("answer", "tasks", ASSIGNMENT)
        for name in ("essay", "plot"):
            gb.add_task_cell(name, "tasks", ASSIGNMENT, max_score=3, cell_type="markdown")
        gb.add_student("st")
        gb.add_submission(ASSIGNMENT, "st")
    shutil.copy(stock, at_once)
    nb = nbformat.v4.new_notebook()
    meta = {"grade": False, "solution": False, "task": False, "locked": False}
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {**meta, "solution": True,
                                                                  "grade_id": "answer"}}),
        nbformat.v4.new_code_cell("assert x", metadata={"nbgrader": {**meta, "grade": True,
                                                                     "grade_id": "check",
                                                                     "points": 2}}),
        nbformat.v4.new_markdown_cell("Explain.", metadata={"nbgrader": {**meta, "task": True,
                                                                         "grade_id": "essay",
                                                                         "points": 3}}),
        nbformat.v4.new_markdown_cell("Plot.", metadata={"nbgrader": {**meta, "task": True,
                                                                      "grade_id": "plot",
                                                                      "points": 3}}),
    ]  # fmt: skip

    assert save_grades(SaveAutoGrades(), stock, nb, "st", "tasks.ipynb")[0] > 3
    assert save_grades(course.SaveAutoGradesAtOnce(), at_once, nb, "st", "tasks.ipynb")[0] == 1
    rows = saved_rows(at_once)
    assert rows == saved_rows(stock)
    assert sum(row[1:] == (None,) for row in rows) == 3  # the comments of the tasks and answer


def test_cells_are_restored_from_one_read_of_the_gradebook_as_nbgrader_restores_them(
    every_variant,
):
    folder = every_variant
    paths = sorted(folder.glob(f"submitted/*/{ASSIGNMENT}/*.ipynb"))
    db_url, compared, restored_by_nbgrader = course.db_url(folder), 0, 0
    config = course.load_config(folder)  # the course's: cells deleted are added back
    assert config.OverwriteCells.add_missing_cells
    for index, path in enumerate(paths):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # the class's unreadable files: nbgrader stops before this step
            continue
        # its own notebook; for a few, one the gradebook does not know
        for notebook in [path.stem, "no-such-notebook"][: 1 + (index < 4)]:
            info = {"notebook": notebook, "assignment": ASSIGNMENT, "db_url": db_url}
            restored = [
                restore(preprocessor, nb, info)
                for preprocessor in (
                    OverwriteCells(config=config),
                    course.OverwriteCellsReadOnce(config=config),
                )
            ]
            assert restored[1] == restored[0], f"{path} as {notebook}"
            compared += 1
            restored_by_nbgrader += graded_parts(restored[0]) != graded_parts(nb)
    assert compared > len(paths) - 10
    assert restored_by_nbgrader > 10, "too few notebooks that nbgrader had to restore"


def restore(preprocessor, nb, info: dict):
    """The notebook a cell-restoring preprocessor makes of a copy of `nb`, or the kind of
    error it stops with."""
    try:
        return preprocessor.preprocess(copy.deepcopy(nb), {"nbgrader": info})[0]
    except Exception as error:
        return type(error)


def graded_parts(nb) -> list[tuple]:
    """What nbgrader restores of each cell it knows: its type, source and points."""
    if isinstance(nb, type):  # an error
        return []
    return [
        (cell["cell_type"], cell["source"], cell["metadata"]["nbgrader"].get("points"))
        for cell in nb["cells"]
        if "grade_id" in cell["metadata"].get("nbgrader", {})
    ]


def kernel_cores(folder, students) -> dict[str, list[int]]:
    """The cores each student's graded part-1 kernel was allowed to run on, as it printed."""
    seen = {}
    for student in students:
        nb = nbformat.read(folder / "autograded" / student / ASSIGNMENT / PART1, as_version=4)
        (text,) = [o.text for o in nb.cells[-1].outputs if o.get("name") == "stdout"]
        seen[student] = [int(core) for core in text.split()[1:]]
    return seen


def test_each_worker_keeps_its_kernels_on_a_core_of_its_own_unless_told_not_to(tmp_path):
    folder = make_course(tmp_path / "class")
    students = [f"s{i}" for i in range(4)]
    democlass.hand_in(folder, {student: "model" for student in students})
    for student in students:  # a last cell that prints where its kernel may run
        path = folder / "submitted" / student / ASSIGNMENT / PART1
        nb = nbformat.read(path, as_version=4)
        cell = "import os\nprint('cores', *sorted(os.sched_getaffinity(0)))"
        nb.cells.append(nbformat.v4.new_code_cell(cell))
        nbformat.write(nb, path)
    allowed = sorted(os.sched_getaffinity(0))

    outcomes = autograde.autograde_class(folder, ASSIGNMENT, jobs=2)
    assert all(o.graded for o in outcomes), [o.error for o in outcomes]
    for student, cores in kernel_cores(folder, students).items():
        if len(allowed) >= 2:  # one core each, one of the first two
            assert len(cores) == 1 and cores[0] in allowed[:2], (student, cores)
        else:  # more workers than cores: the system places them
            assert cores == allowed, (student, cores)

    with open(folder / "nbgrader_config.py", "a") as config:
        config.write("\nc.GradingWorkers.one_core_each = False\n")
    outcomes = autograde.autograde_class(folder, ASSIGNMENT, jobs=2, force=True)
    assert all(o.graded for o in outcomes), [o.error for o in outcomes]
    assert kernel_cores(folder, students) == {student: allowed for student in students}


CLAIMS = """
import json, multiprocessing, os
from gradekit.autograde import claim_core

def claim(cores, results):
    results.put([claim_core(cores), sorted(os.sched_getaffinity(0))])

if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    cores = context.Array("i", sorted(os.sched_getaffinity(0))[:2])
    results = context.Queue()
    workers = [context.Process(target=claim, args=(cores, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    print(json.dumps([results.get(timeout=60) for _ in workers]))
    for worker in workers:
        worker.join()
"""


def test_workers_claim_distinct_cores_and_one_too_many_claims_none(tmp_path):
    script = tmp_path / "claims.py"  # a file: spawned processes import their main module
    script.write_text(CLAIMS)
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=course.environment(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    claims = sorted(json.loads(result.stdout), key=lambda claim: (claim[0] is None, claim))
    allowed = sorted(os.sched_getaffinity(0))
    expected = [[core, [core]] for core in allowed[:2]]  # each its own core
    expected += [[None, allowed]] * (3 - len(expected))  # none left: every core, as before
    assert claims == expected
