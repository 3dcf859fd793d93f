"""Canvas bulk download intake: a real zip through the real `nbgrader zip_collect`."""

import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import ASSIGNMENT, PART1, PART2, RELEASE, make_course

from gradekit import course
from gradekit.collect import RosterCollector

PLUGIN = "--ZipCollectApp.collector_plugin=gradekit.collect.RosterCollector"
ROSTER = """id,first_name,last_name,email,lms_user_id,sis_user_id,username,section
ada,Ada,Lovelace,ada@example.edu,1001,S1001,alovelace,T01
bao,Bảo,Nguyễn,bao@example.edu,1002,S1002,bnguyen,T01
chen,晨,陈,chen@example.edu,1003,S1003,cchen,T01
dan,Dan,Nobody,dan@example.edu,,S1004,dnobody,T01
"""
# Canvas names: <loginname>[_LATE]_<lms user id>_<submission id>_<file>, "-N" if handed in again.
ZIP = {
    "lovelaceada_1001_5001_" + PART1: PART1,
    "lovelaceada_1001_5001_part1_logistic_regression-1.ipynb": PART1,  # wins over the above
    "lovelaceada_1001_5001_" + PART2: PART2,
    "nguyenbao_LATE_1002_5002_" + PART1: PART1,
    "chen_1003_5003_part2_shallow_neural_network-9.ipynb": PART2,
    "chen_1003_5003_part2_shallow_neural_network-10.ipynb": PART2,  # wins: 10 > 9
    "zed_9999_5009_" + PART1: PART1,  # not in the roster
    "lovelaceada_1001_5001_notes.pdf": None,  # not a notebook
    "stray.ipynb": PART1,  # not a Canvas name
}
COLLECTED = {
    f"ada/{ASSIGNMENT}/{PART1}": "lovelaceada_1001_5001_part1_logistic_regression-1.ipynb",
    f"ada/{ASSIGNMENT}/{PART2}": "lovelaceada_1001_5001_" + PART2,
    f"bao/{ASSIGNMENT}/{PART1}": "nguyenbao_LATE_1002_5002_" + PART1,
    f"chen/{ASSIGNMENT}/{PART2}": "chen_1003_5003_part2_shallow_neural_network-10.ipynb",
}


def submission(entry: str, release_name: str | None) -> bytes:
    """A release notebook with a marker cell naming the zip entry (a PDF stub otherwise)."""
    if release_name is None:
        return b"%PDF-1.4 not a notebook"
    nb = nbformat.read(RELEASE / release_name, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(f"marker: {entry}"))
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> tuple[Path, str, dict[str, bytes]]:
    """One zip_collect run on a Canvas-style zip: (course folder, log, zip contents)."""
    folder = make_course(tmp_path_factory.mktemp("collect") / "course")
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    archive = folder / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    contents = {entry: submission(entry, name) for entry, name in ZIP.items()}
    with zipfile.ZipFile(archive / "submissions.zip", "w") as zf:
        for entry, data in contents.items():
            zf.writestr(entry, data)
    result = course.nbgrader(
        folder, "zip_collect", ASSIGNMENT, PLUGIN, "--RosterCollector.roster=roster.csv"
    )
    return folder, result.stdout + result.stderr, contents


def test_each_student_gets_the_newest_copy_under_the_release_name(collected):
    folder, log, contents = collected
    submitted = folder / "submitted"
    files = {p.relative_to(submitted).as_posix() for p in submitted.rglob("*") if p.is_file()}
    assert files == set(COLLECTED), log  # no timestamp.txt: Canvas names carry no time
    for path, entry in COLLECTED.items():
        assert (submitted / path).read_bytes() == contents[entry], path
    assert "4 files collected, 5 files skipped" in log


def test_every_skipped_file_is_named_in_the_log(collected):
    _, log, _ = collected
    for line in (
        "Skipped zed_9999_5009_part1_logistic_regression.ipynb: lms_user_id 9999 is not in "
        "the roster",
        "Skipped lovelaceada_1001_5001_notes.pdf: not a notebook",
        "Skipped stray.ipynb: the name does not match named_regexp",
        "Skipped lovelaceada_1001_5001_part1_logistic_regression.ipynb: superseded by "
        "lovelaceada_1001_5001_part1_logistic_regression-1.ipynb",
        "Skipped chen_1003_5003_part2_shallow_neural_network-9.ipynb: superseded by "
        "chen_1003_5003_part2_shallow_neural_network-10.ipynb",
    ):
        assert line in log, line
    assert "nguyenbao_LATE_1002_5002_part1_logistic_regression.ipynb is marked late" in log


def test_a_missing_roster_stops_before_anything_is_collected(tmp_path):
    result = course.nbgrader(
        tmp_path,
        "zip_collect",
        ASSIGNMENT,
        PLUGIN,
        "--RosterCollector.roster=nope.csv",
        check=False,
    )
    assert result.returncode == 1
    assert f"roster {tmp_path / 'nope.csv'}: cannot be read" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "roster, error",
    [
        ("id,email\nada,a@x\n", "no 'lms_user_id' column"),
        ("id,lms_user_id\nada,7\nbao,7\n", "lms_user_id 7 belongs to both ada and bao"),
    ],
)
def test_a_roster_that_cannot_map_ids_is_refused(tmp_path, roster, error):
    (tmp_path / "roster.csv").write_text(roster)
    with pytest.raises(ValueError, match=error):
        RosterCollector(roster=str(tmp_path / "roster.csv"))


@pytest.mark.parametrize(
    "name, parsed",
    [
        ("smithjo_1001_77_" + PART1, ("1001", PART1)),
        ("smithjo_late_1001_77_" + PART1, ("1001", PART1)),  # lower-case flag too
        ("smith_jo_LATE_1001_77_my_file_2_3_.ipynb", ("1001", "my_file_2_3_.ipynb")),
        ("1001_77_" + PART1, None),  # no login name
    ],
)
def test_canvas_names(tmp_path, name, parsed):
    (tmp_path / "roster.csv").write_text("id,lms_user_id\nada,1001\n")
    collector = RosterCollector(roster=str(tmp_path / "roster.csv"))
    result = collector.parse(name)
    assert (result[:2] if result else None) == parsed
