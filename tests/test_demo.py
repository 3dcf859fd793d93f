"""The README's main job, `gradekit demo`: the whole instructor pipeline on the bundled demo
class, and what an instructor then sees of it in the formgrader (a real server, headless
Chromium)."""

import csv
import os
import re
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import (
    ASSIGNMENT,
    REPO,
    SERVER_TIMEOUT,
    Tables,
    expected_points,
    html_text,
    js,
    quoted,
    run_gradekit,
    running_lab,
    secret_lines,
    wait,
    warning_lines,
)
from selenium.webdriver.common.by import By

import democlass
from democlass.variants import VARIANTS
from gradekit import course, demo
from gradekit.report import mistake_kind, read_results, render


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo, run inside a course that has a gradebook of its own; the course's files
    before, and the demo's folder and its run (what `gradekit demo` printed)."""
    course = tmp_path_factory.mktemp("demo") / "course"
    course.mkdir()
    shutil.copytree(REPO / "source", course / "source")
    shutil.copytree(
        REPO / "democlass", course / "democlass", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "nbgrader_config.py", course)
    (course / "gradebook.db").write_bytes(b"the course's own gradebook")
    before = {p: p.read_bytes() for p in course.rglob("*") if p.is_file()}
    folder = course / ".gradekit" / "demo"
    return course, before, folder, run_gradekit(course, "demo", "--into", str(folder))


def test_demo_prints_its_steps_and_no_warning(demo_run):
    ran = demo_run[3]
    assert not warning_lines(ran.stdout + ran.stderr), ran.stdout + ran.stderr
    progress = re.compile(r"\[[#.]+\] \d+/12 graded, \d+ failed")  # on stderr: a terminal's bar
    bars = [line for line in re.split(r"[\r\n]+", ran.stderr) if line.strip()]
    assert bars and all(progress.match(line) for line in bars), ran.stderr
    steps = [line for line in ran.stdout.splitlines() if re.match(r"\[\d/8\] ", line)]
    assert [line[:5] for line in steps] == [f"[{n}/8]" for n in range(1, 9)]


def test_demo_leaves_the_course_as_it_was(demo_run):
    course, before, folder, _ = demo_run
    after = {
        p: p.read_bytes() for p in course.rglob("*") if p.is_file() and folder not in p.parents
    }
    assert after == before


def test_demo_grades_exports_and_gives_feedback_to_the_whole_class(demo_run, max_points):
    _, _, folder, ran = demo_run
    table = ran.stdout
    _, rows = demo.score_table(folder, ASSIGNMENT)
    totals = {row["student"]: row["total"] for row in rows}
    expected = {
        student: sum(points.values())
        for student, points in expected_points(max_points, democlass.CLASS).items()
    }
    by_hand = {
        s: sum(points for points, _ in cells.values()) for s, cells in democlass.marks().items()
    }
    expected = {s: total + by_hand.get(s, 0) for s, total in expected.items()}
    expected["mo"] = 0.0  # on the roster, handed nothing in
    assert totals == expected
    assert {row["student"]: row["by hand"] for row in rows if row["student"] in by_hand} == by_hand
    assert "Dupont, Jr." in table and "by hand /10" in table and "total /60" in table
    hidden = secret_lines(regions=("HIDDEN TESTS",)) | secret_lines(("SOLUTION",), ("markdown",))
    for student in democlass.CLASS:
        for page in ("part1_logistic_regression.html", "part2_shallow_neural_network.html"):
            text = html_text((folder / "feedback" / student / ASSIGNMENT / page).read_text())
            leaked = quoted(hidden, text)
            assert leaked == [], (
                f"feedback of {student}, {page} shows hidden checks or the grading guide: {leaked[:3]}"
            )
    # the teaching assistant's points and comment reach the student
    hana = html_text(
        (
            folder / "feedback" / "hana" / ASSIGNMENT / "part2_shallow_neural_network.html"
        ).read_text()
    )
    assert democlass.marks()["hana"]["written_zero_initialisation"][1] in hana
    # ivan's s returns 0.5 and his notebook patches np.allclose: the checks, outside his
    # kernel, say what is wrong with s
    ivan = folder / "feedback" / "ivan" / ASSIGNMENT / "part1_logistic_regression.html"
    assert "s on a 4x5 array: expected shape (4, 5), got ()" in html_text(ivan.read_text())
    with open(folder / "exports" / "grades.csv", newline="", encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert {row["student_id"] for row in exported} == set(totals)


@pytest.fixture(scope="module")
def formgrader(demo_run):
    """JupyterLab with nbgrader's formgrader, serving the graded demo class (its
    configuration panel on)."""
    folder = demo_run[2]
    state = Path(tempfile.mkdtemp(prefix="gradekit-formgrader-"))
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(state / "runtime"))
    try:
        with running_lab(
            folder, env, state / "server.log", "--FormgradeExtension.debug=True"
        ) as server:
            yield server
    finally:
        shutil.rmtree(state, ignore_errors=True)


# The text of every cell of a formgrader table, row by row.
TABLE = "return [...document.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()))"


def visit(driver, server, path: str, ready: str) -> None:
    """Open a formgrader page (logged in first: its pages load their data with the login
    cookie) and wait until the CSS selector `ready` matches."""
    driver.get(f"{server.url}/formgrader?token={server.token}")
    driver.get(f"{server.url}{path}")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ready), SERVER_TIMEOUT, ready)


def modal_text(driver) -> str:
    modal = wait(
        driver,
        lambda d: [m for m in d.find_elements(By.CSS_SELECTOR, ".modal.in") if m.text.strip()],
        60,
        "the formgrader's answer",
    )[0]
    text = modal.text
    modal.find_element(By.CSS_SELECTOR, "button.btn-primary").click()
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, ".modal.in"), 10, "no modal")
    return text


def test_formgrader_releases_and_collects_through_the_course_exchange(
    browser, formgrader, demo_run
):
    folder = demo_run[2]
    visit(browser, formgrader, "/formgrader/manage_assignments", "td.release a")
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "exchange directory" not in page, page
    row = browser.find_element(By.CSS_SELECTOR, "tbody tr")
    assert row.find_element(By.CSS_SELECTOR, "td.status").text == "draft"
    row.find_element(By.CSS_SELECTOR, "td.release a").click()
    assert f"Successfully released '{ASSIGNMENT}'" in modal_text(browser)
    status = browser.find_element(By.CSS_SELECTOR, "tbody tr td.status").text
    assert status == "released"
    outbound = folder / "exchange" / "dl-w1s3" / "outbound" / ASSIGNMENT
    assert sorted(p.name for p in outbound.glob("*.ipynb")) == sorted(
        p.name for p in (folder / "release" / ASSIGNMENT).glob("*.ipynb")
    )
    browser.find_element(By.CSS_SELECTOR, "tbody tr td.collect a").click()
    assert f"Successfully collected submissions of '{ASSIGNMENT}'" in modal_text(browser)


def test_formgrader_configuration_panel_is_readable(browser, formgrader):
    visit(browser, formgrader, "/formgrader/manage_assignments", "#collapseConfig pre")
    text = js(browser, "return document.querySelector('#collapseConfig pre').textContent")
    assert (
        "'gradekit.execute.ResilientExecute'" in text and "'gradekit.review.FlagForReview'" in text
    )
    assert "<class" not in text


def test_formgrader_shows_every_score_and_who_needs_a_look(browser, formgrader, demo_run):
    folder = demo_run[2]
    _, rows = demo.score_table(folder, ASSIGNMENT)
    handed_in = {row["student"]: row["total"] for row in rows if row["student"] != "mo"}
    visit(browser, formgrader, f"/formgrader/manage_submissions/{ASSIGNMENT}", "tbody tr td")
    table = wait(
        browser,
        lambda d: (t := js(d, TABLE)) and len(t) == len(handed_in) and t,
        SERVER_TIMEOUT,
        "a row per submission",
    )
    shown = {cells[1]: (cells[3], cells[4]) for cells in table}  # id: status, score
    assert {s: score for s, (_, score) in shown.items()} == {
        s: f"{total:g} / 60" for s, total in handed_in.items()
    }
    assert {s for s, (status, _) in shown.items() if status != "graded"} == {"ivan"}
    assert shown["ivan"][0] == "needs manual grading"


def test_formgrader_shows_the_flagged_check_and_why(browser, formgrader):
    notebook = "part1_logistic_regression"
    visit(browser, formgrader, f"/formgrader/gradebook/{ASSIGNMENT}/{notebook}", "tbody tr a")
    flagged = [
        row
        for row in browser.find_elements(By.CSS_SELECTOR, "tbody tr")
        if row.find_elements(By.CSS_SELECTOR, "td.needs-manual-grade .glyphicon-ok")
    ]
    assert len(flagged) == 1
    link = flagged[0].find_element(By.CSS_SELECTOR, "td.name a.name-shown")
    assert js(browser, "return arguments[0].textContent", link) == "Петров, Иван"
    browser.get(link.get_attribute("href"))
    flag = "input.score.needs_manual_grade"  # set by the page's script once it has loaded
    scores = wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, flag), SERVER_TIMEOUT, "the flag"
    )
    assert [s.get_attribute("id") for s in scores] == ["test_s_at_zero"], [
        (s.get_attribute("id"), s.get_attribute("class")) for s in scores
    ]
    assert scores[0].get_attribute("placeholder") == "1", "the autograded point is kept"
    comment = wait(  # the comments load apart from the grades
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, "textarea#s-comment").get_attribute(
            "placeholder"
        ),
        SERVER_TIMEOUT,
        "the review comment",
    )
    assert "replaces numpy functions" in comment


def test_class_report_agrees_with_the_gradebook(demo_run, max_points):
    folder = demo_run[2]
    page = (folder / "reports" / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
    tables = Tables(page).tables
    summary = dict(tables["summary"])
    assert (summary["on the roster"], summary["handed in"], summary["nothing handed in"]) == (
        "13",
        "12",
        "1",
    )
    scores = course.cell_scores(folder, ASSIGNMENT)
    assert [row[1] for row in tables["checks"]] == list(max_points)
    for _, check, points, full, _ in tables["checks"]:
        passed = sum(1 for cells in scores.values() if cells[check] >= max_points[check])
        assert (points, full) == (f"{max_points[check]:g}", f"{passed} / {len(scores)}"), check
    _, rows = demo.score_table(folder, ASSIGNMENT)
    assert dict(tables["scores"]) == {
        row["student"]: f"{row['total']:g}" for row in rows if row["student"] != "mo"
    }
    named = defaultdict(set)  # what the class's variants must be told
    for student, variant in democlass.CLASS.items():
        for mistake in VARIANTS[variant].diagnoses:
            named[mistake_kind(mistake)].add(student)
    shown = {mistake: set(who.split(", ")) for mistake, _, who in tables["diagnoses"]}
    for mistake, students in named.items():
        told = set().union(*(who for text, who in shown.items() if text.startswith(mistake)))
        assert told == students, mistake
    assert all(any(text.startswith(m) for m in named) for text in shown)
    assert tables["flagged"] == [["ivan", "test_s_at_zero"]]
    answered = defaultdict(int)
    for cells in democlass.marks().values():
        for cell in cells:
            answered[cell] += 1
    assert {row[1]: (row[3], row[4]) for row in tables["written"]} == {
        cell: (str(n), "0") for cell, n in answered.items()
    }  # every answer given is graded
    assert "Nothing handed in</h2>\n<p>mo</p>" in page
    # ada hands in the model answers, which are the instructor's solution
    assert tables["similar"][0][:4] == ["1", "ada", "instructor's solution", "1.000"]
    pages = folder / "reports" / "similarity" / ASSIGNMENT
    assert len(tables["similar"]) == len(list(pages.glob("pair-*.html")))
    assert render(read_results(folder, ASSIGNMENT)) == page  # the same gradebook, the same bytes


def test_class_report_shows_its_figures_in_a_browser(browser, demo_run):
    report = demo_run[2] / "reports" / f"{ASSIGNMENT}.html"
    browser.get(report.as_uri())
    figures = wait(
        browser,
        lambda d: (
            js(
                d,
                "return [...document.images].filter(i => i.complete && i.naturalWidth > 300)"
                ".map(i => i.id)",
            )
            or None
        ),
        30,
        "the report's figures",
    )
    assert sorted(figures) == ["checks-figure", "scores-figure"]
    assert browser.title == f"Class report: {ASSIGNMENT}"
    assert "Most frequent mistakes" in browser.find_element(By.TAG_NAME, "body").text


def test_feedback_lists_every_check_failed_first_and_draws_formulas_offline(browser, demo_run):
    """What a student reads: each check by its exercise and what it checks, the failed ones
    first with their message, and the lecture's formulas drawn (MathML, no MathJax: the
    browser here has no internet)."""
    folder = demo_run[2]
    notebook = "part1_logistic_regression"
    page = folder / "feedback" / "dupont" / ASSIGNMENT / f"{notebook}.html"
    browser.get(page.as_uri())
    rows = wait(
        browser,
        lambda d: js(
            d,
            "return [...document.querySelectorAll('#checks tbody tr')]"
            ".map(r => [r.className, ...[...r.cells].map(c => c.innerText)])",
        ),
        30,
        "the summary of checks",
    )
    with course.gradebook(folder) as gb:
        cells = gb.find_notebook(notebook, ASSIGNMENT).grade_cells
        checks = {c.name for c in cells if c.cell_type == "code"}
    assert len(rows) == len(checks)
    kinds = [row[0] for row in rows]
    assert "failed" in kinds and kinds == sorted(kinds)  # "failed" sorts before "passed"
    for kind, exercise, what, score, result in rows:
        assert exercise and what.split(":")[0] in ("Check", "Hidden check"), (exercise, what)
        assert result.startswith(kind) and "BEGIN HIDDEN" not in what + result
        got, points = map(float, score.split(" / "))
        assert (got >= points) == (kind == "passed"), (score, kind)
    assert any(": " in row[4] for row in rows if row[0] == "failed")  # the message, in a line
    drawn = js(
        browser,
        "return [...document.querySelectorAll('math')]"
        ".filter(m => m.getBoundingClientRect().height > 5).length",
    )
    assert drawn >= 5
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "$$" not in text and "\\frac" not in text
    assert js(browser, "return [...document.scripts].filter(s => s.src).length") == 0
