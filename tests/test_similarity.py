"""`gradekit similarity` on a synthetic class: independent students, copies of some of them
hidden every way students hide copying, a student who handed in the instructor's solution,
one who copied last term's work, and notebooks that cannot be read."""

import ast
import itertools
import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import ASSIGNMENT, PART1, PART2, REPO, Tables, html_text, js, run_gradekit, wait
from selenium.webdriver.common.by import By

from democlass import copies
from gradekit import similarity, submissions

INDEPENDENT = 40
# Each copied student (copy-<source>) hides the copying in these ways.
HIDDEN = {
    "s03": copies.HIDINGS,
    "s07": ("rename",),
    "s11": ("reorder",),
    "s15": ("comments", "spacing"),
    "s19": ("rewrite",),
    "s23": ("move",),
    "s27": ("rename", "move", "rewrite"),
    "s31": ("reorder", "rewrite", "spacing", "comments"),
}
SOLUTION = similarity.SOLUTION
PAST = "last-term/zoe"  # last term's student, in the reference set


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """The class handed in, and `gradekit similarity` run on it once (hash seed 1)."""
    course = tmp_path_factory.mktemp("similarity")
    for folder in ("source", "release"):
        shutil.copytree(REPO / folder, course / folder)
    release = course / "release" / ASSIGNMENT
    model = submissions.model_answers(course / "source" / ASSIGNMENT)
    answers = {f"s{i:02d}": copies.independent(model, seed) for i, seed in enumerate(range(40))}
    for source, hidings in HIDDEN.items():
        answers[f"copy-{source}"] = copies.copied(answers[source], hidings)
    answers["paster"] = copies.copied(model, ("comments", "spacing"))
    # zoe's work from last term, and a student who copied it
    past = copies.independent(model, 1000)
    submissions.write_submission(release, course / "last-term" / "zoe" / ASSIGNMENT, past)
    answers["copy-zoe"] = copies.copied(past, ("rename", "reorder"))
    # one student copied s05's backward, and wrote the rest alone
    answers["borrower"] = submissions.apply_changes(
        copies.independent(model, 2000), {"ShallowNeuralNet.backward": method(answers["s05"])}
    )
    for student, filled in answers.items():
        submissions.write_submission(release, course / "submitted" / student / ASSIGNMENT, filled)
    # a copy of s35 whose notebooks lost their nbgrader metadata: its code is still read
    stripped = course / "submitted" / "stripped" / ASSIGNMENT
    submissions.write_submission(release, stripped, answers["s35"])
    for path in stripped.glob("*.ipynb"):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            cell["metadata"].pop("nbgrader", None)
        path.write_text(json.dumps(nb))
    broken = course / "submitted" / "broken" / ASSIGNMENT
    submissions.write_submission(release, broken, answers["s03"])
    (broken / PART1).write_text("{ not json")
    submissions.write_submission(release, course / "submitted" / "blank" / ASSIGNMENT, None)
    # over the budgets: 150,000 characters of code nested too deep to parse; a 21 MB notebook
    huge = copies.independent(model, 3000)
    huge[PART1]["s"] = "x = " + "(" * 75_000 + ")" * 75_000
    submissions.write_submission(release, course / "submitted" / "huge" / ASSIGNMENT, huge)
    giant = course / "submitted" / "giant" / ASSIGNMENT
    submissions.write_submission(release, giant, answers["s03"])
    nb = json.loads((giant / PART1).read_text())
    nb["cells"][0]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "x" * 21_000_000}
    ]
    (giant / PART1).write_text(json.dumps(nb))
    run = cli(course, "--reference", str(course / "last-term"), seed="1")
    found = similarity.compare(course, ASSIGNMENT, [course / "last-term"])
    return course, run, found


def method(answers: dict, name: str = "backward") -> str:
    """The source of a method of the student's network."""
    code = answers[PART2]["ShallowNeuralNet"]
    network = next(n for n in ast.parse(code).body if isinstance(n, ast.ClassDef))
    found = next(n for n in network.body if getattr(n, "name", "") == name)
    return textwrap.dedent(ast.get_source_segment(code, found, padded=True))


def cli(course: Path, *args: str, seed: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return run_gradekit(course, "similarity", ASSIGNMENT, *args, env=env)


def copied_pairs() -> set[frozenset]:
    pairs = {frozenset((f"copy-{source}", source)) for source in HIDDEN}
    return pairs | {
        frozenset(("paster", SOLUTION)),
        frozenset(("copy-zoe", PAST)),
        frozenset(("stripped", "s35")),
    }


def all_scores(found) -> dict[frozenset, float]:
    """The score of every pair the report could list (not two references)."""
    matrix = similarity.scores(found.documents)
    return {
        frozenset((a.label, b.label)): matrix[i, j]
        for (i, a), (j, b) in itertools.combinations(enumerate(found.documents), 2)
        if not (a.reference and b.reference)
    }


def listed(course: Path) -> list[list[str]]:
    page = (course / "reports" / "similarity" / ASSIGNMENT / "index.html").read_text()
    return Tables(page).tables["pairs"]


def test_every_copied_pair_ranks_above_every_independent_pair(synthetic):
    _, _, found = synthetic
    scores = all_scores(found)
    copied = {pair: scores[pair] for pair in copied_pairs()}
    independent = {pair: s for pair, s in scores.items() if pair not in copied}
    lowest_copy = min(copied, key=copied.get)
    highest_independent = max(independent, key=independent.get)
    print(f"copied pairs: {sorted((round(s, 3), sorted(p)) for p, s in copied.items())}")
    print(f"highest independent: {sorted(highest_independent)} {independent[highest_independent]}")
    assert copied[lowest_copy] > independent[highest_independent], (
        sorted(lowest_copy),
        sorted(highest_independent),
    )


def test_the_list_holds_the_copies_and_no_independent_pair(synthetic):
    course, run, _ = synthetic
    rows = listed(course)
    assert {frozenset(row[1:3]) for row in rows} == copied_pairs()
    assert [row[0] for row in rows] == [str(rank) for rank in range(1, len(rows) + 1)]
    scores = [float(row[3]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert min(scores) >= similarity.THRESHOLD
    assert f"{len(rows)} pairs score {similarity.THRESHOLD:g} or more" in run.stdout
    # a student is always on the left, a reference on the right
    assert all(row[1] not in (SOLUTION, PAST) for row in rows)


def test_a_pasted_solution_is_found(synthetic):
    course, _, _ = synthetic
    row = next(row for row in listed(course) if row[1] == "paster")
    assert row[2] == SOLUTION and float(row[3]) > 0.95


def test_a_copy_of_last_terms_work_is_found(synthetic):
    course, _, found = synthetic
    assert [row[2] for row in listed(course) if row[1] == "copy-zoe"] == [PAST]
    # the references are not compared with one another
    assert not any(p.a.reference for p in similarity.similar_pairs(found.documents, 0.0))


def test_the_exercises_that_drove_a_score_are_named(synthetic):
    """The borrower copied s05's backward and wrote the rest alone: backward carries most
    of what the pair shares."""
    _, _, found = synthetic
    documents = {d.label: d for d in found.documents}
    held = similarity.weights(found.documents)
    shares = similarity.driven_by(documents["borrower"], documents["s05"], held)
    assert shares[0][0] == "ShallowNeuralNet.backward" and shares[0][1] > 0.5, shares
    assert abs(sum(share for _, share in shares) - 1) < 0.01


def test_code_everyone_writes_alike_weighs_little(synthetic):
    """A fingerprint all the class holds weighs almost nothing, one only two hold weighs most."""
    _, _, found = synthetic
    values, counts, weight = similarity.weights(found.documents)
    assert weight[counts == counts.max()].max() < weight[counts == 2].min() / 10


def test_what_cannot_be_read_is_named_and_the_rest_compared(synthetic):
    course, run, found = synthetic
    path = course / "submitted" / "broken" / ASSIGNMENT / PART1
    assert f"Not compared: broken: {path}: not a notebook nbgrader can read" in run.stderr
    page = (course / "reports" / "similarity" / ASSIGNMENT / "index.html").read_text()
    assert ["broken", f"{path}: not a notebook nbgrader can read"] in [
        [row[0], row[1].split(" (")[0]] for row in Tables(page).tables["problems"]
    ]
    labels = {d.label for d in found.documents}
    assert "broken" not in labels and "blank" in labels
    blank = next(d for d in found.documents if d.label == "blank")
    assert len(blank.fingerprints) == 0  # the release's own code is no one's


def test_what_is_over_a_budget_is_cut_or_left_out_and_named(synthetic):
    course, run, found = synthetic
    huge = next(d for d in found.documents if d.label == "huge")
    assert sum(len(code) for _, code in huge.cells) == similarity.MAX_CODE
    assert f"Not compared: huge: {course / 'submitted' / 'huge' / ASSIGNMENT}: over 100,000" in (
        run.stderr
    )
    path = course / "submitted" / "giant" / ASSIGNMENT / PART1
    assert f"Not compared: giant: {path}: over 20,000,000 bytes, not read" in run.stderr
    assert "giant" not in {d.label for d in found.documents}


def test_the_same_class_gives_the_same_pages(synthetic, tmp_path):
    """Another process, another hash seed: the same bytes in every page."""
    course, _, _ = synthetic
    cli(course, "--reference", str(course / "last-term"), "--to", str(tmp_path), seed="2")
    first = course / "reports" / "similarity" / ASSIGNMENT
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_a_pair_page_shows_both_sides_with_the_matches_marked(browser, synthetic):
    course, _, _ = synthetic
    rows = listed(course)
    rank = next(row[0] for row in rows if row[1] == "copy-s27")
    page = course / "reports" / "similarity" / ASSIGNMENT / f"pair-{int(rank):04d}.html"
    browser.get(page.as_uri())
    sides = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".side"), 10, "two sides")
    assert [side.find_element(By.TAG_NAME, "h2").text for side in sides] == ["copy-s27", "s27"]
    for side in sides:
        marks = side.find_elements(By.TAG_NAME, "mark")
        assert marks and all(mark.is_displayed() for mark in marks[:5])
        colour = js(browser, "return getComputedStyle(arguments[0]).backgroundColor", marks[0])
        assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
    left, right = (side.rect for side in sides)
    assert left["x"] + left["width"] <= right["x"]  # side by side, not one under the other
    driven = html_text(page.read_text()).split("Driven by: ")[1].split(" (")[0]
    assert f"def {driven.split('.')[-1]}(" in sides[0].text  # an exercise of the code shown
