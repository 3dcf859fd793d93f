"""A class graded into a real PostgreSQL gradebook by two shards at once, as on two machines.

The session fixture (conftest) starts a throwaway PostgreSQL server (Debian's `postgresql` package) on
loopback, in a temporary folder; `.ci/run` installs the package.
"""

import csv
import subprocess

import psycopg
import pytest
from conftest import ASSIGNMENT, GRADEKIT, expected_points, make_course

import democlass
from gradekit import autograde, course

# Two shards of three: ada, chen, gomez hash to shard 1; bao, dupont, erik to shard 2.
CLASS = {
    "ada": "model",
    "bao": "sigmoid-exp-over",
    "chen": "sigmoid-sign",
    "dupont": "blank",
    "erik": "train-no-return",
    "gomez": "unreadable-part1",
}


def query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchall()


def test_two_shards_at_once_grade_a_class_into_postgres(tmp_path, postgres_url):
    folder = make_course(tmp_path / "course")  # grades nowhere yet; gradebook.db holds the cells
    max_points = course.max_scores(folder, ASSIGNMENT)
    with open(folder / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    course.nbgrader(folder, "generate_assignment", ASSIGNMENT, "--force")  # into PostgreSQL
    democlass.hand_in(folder, CLASS)

    gradekit = [GRADEKIT, "autograde", ASSIGNMENT]
    shards = [  # shard 1 reads the url from nbgrader_config.py, shard 2 is given it
        [*gradekit, "--shard", "1/2", "--jobs", "1"],
        [*gradekit, "--shard", "2/2", "--jobs", "1", "--db-url", postgres_url],
    ]
    running = [
        subprocess.Popen(
            command,
            cwd=folder,
            env=course.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for command in shards
    ]
    outputs = [process.communicate(timeout=300)[0] for process in running]
    assert [process.returncode for process in running] == [0, 0], "\n".join(outputs)
    assert "Shard 1/2: 3 students." in outputs[0] and "Shard 2/2: 3 students." in outputs[1]

    submissions = query(
        postgres_url,
        "SELECT student_id, count(*) FROM submitted_assignment GROUP BY student_id",
    )
    assert dict(submissions) == {student: 1 for student in CLASS}
    (duplicates,) = query(
        postgres_url,
        "SELECT count(*) - count(DISTINCT (cell_id, notebook_id)) FROM grade",
    )
    assert duplicates == (0,)
    expected = expected_points(max_points, CLASS)
    assert course.cell_scores(folder, ASSIGNMENT) == expected  # the configured gradebook
    assert course.cell_scores(folder, ASSIGNMENT, course.db_url(folder)) == {}  # not sqlite

    course.nbgrader(folder, "export", "--to", "grades.csv")
    with open(folder / "grades.csv", newline="", encoding="utf-8") as handle:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert exported == {student: sum(cells.values()) for student, cells in expected.items()}


def test_db_url_option_overrides_the_configured_gradebook(tmp_path, postgres_url):
    folder = tmp_path / "course"
    (folder / "submitted").mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text(f"c.CourseDirectory.db_url = {postgres_url!r}\n")
    assert course.configured_db_url(folder) == postgres_url
    missing = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(Exception, match="no_such_database"):
        autograde.autograde_class(folder, ASSIGNMENT, db_url=missing)


def test_two_graders_creating_one_student_race_and_a_retry_resolves_it(tmp_path, postgres_url):
    """nbgrader's update_or_create_student looks the student up, then inserts it: two graders
    doing so at once on PostgreSQL collide on the primary key (here the interleaving is
    replayed with two sessions). The kit's workers retry on that error."""
    from nbgrader.api import InvalidEntry, MissingEntry

    with course.gradebook(tmp_path, postgres_url) as first:
        with course.gradebook(tmp_path, postgres_url) as second:
            with pytest.raises(MissingEntry):
                first.find_student("racer")
            second.add_student("racer")  # the other grader gets there first
            with pytest.raises(InvalidEntry) as raced:
                first.add_student("racer")
            assert autograde.is_transient(str(raced.value))
            first.update_or_create_student("racer", first_name="Ray")  # the retry
    assert query(postgres_url, "SELECT id, first_name FROM student WHERE id = 'racer'") == [
        ("racer", "Ray")
    ]
