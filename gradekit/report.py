"""The class report for the teaching team: one HTML page, written after grading.

Everything comes from the gradebook, the autograded notebooks and the code handed in: the
score distribution, the pass rate of every check, the most frequent diagnoses (the "likely
mistake" the checks name), written answers still to grade, code flagged for review by hand,
late work and extensions, the students with nothing handed in, and the pairs whose code is
alike (with their side-by-side pages beside the report). Figures are drawn with matplotlib
and embedded in the page: one file, nothing to fetch to view it. The same gradebook gives a
byte-identical page.
"""

import base64
import html
import io
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry

from . import course, similarity
from .checks import LIKELY
from .late import extensions_of
from .pages import page, table

DIAGNOSIS = re.compile(re.escape(LIKELY) + r"([^;\n]+)")
FACTOR = re.compile(r"off by a (constant )?factor of \S+")


def mistake_kind(mistake: str) -> str:
    """A likely mistake without its numbers (a factor of 2 or of 9: the same mistake)."""
    return FACTOR.sub("off by a constant factor", mistake.strip())


@dataclass
class ClassResults:
    """What the report shows, read from the gradebook and the autograded notebooks."""

    assignment: str
    max_score: float
    totals: dict[str, float] = field(default_factory=dict)  # student: score after penalty
    missing: list[str] = field(default_factory=list)  # on the roster, nothing handed in
    checks: list[tuple[str, str, float, int, int]] = field(default_factory=list)
    # (notebook, check, points, students with full points, students graded)
    written: list[tuple[str, str, float, int, int, float | None]] = field(default_factory=list)
    # (notebook, answer cell, points, answers given, still to grade, mean of those graded)
    diagnoses: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    flagged: dict[str, list[str]] = field(default_factory=dict)  # student: flagged checks
    late: dict[str, float] = field(default_factory=dict)  # student: penalty
    extensions: dict[str, dict] = field(default_factory=dict)  # student: their due, reason
    similar: similarity.Comparison | None = None  # the class's code compared


def read_results(course_dir: Path, assignment: str, db_url: str | None = None) -> ClassResults:
    """The class's results on the assignment."""
    with course.gradebook(course_dir, db_url) as gb:
        found = gb.find_assignment(assignment)
        results = ClassResults(assignment, found.max_score)
        full, graded = defaultdict(int), defaultdict(int)
        given, to_grade, hand_scores = defaultdict(int), defaultdict(int), defaultdict(list)
        for student in gb.students:
            try:
                submission = gb.find_submission(assignment, student.id)
            except MissingEntry:
                results.missing.append(student.id)
                continue
            penalty = submission.late_submission_penalty or 0.0
            results.totals[student.id] = max(0.0, submission.score - penalty)
            if penalty:
                results.late[student.id] = penalty
            for nb in submission.notebooks:
                for grade in nb.grades:
                    key = (nb.name, grade.name)
                    if grade.cell.cell_type == "code":
                        graded[key] += 1
                        full[key] += grade.score >= grade.max_score
                        if grade.needs_manual_grade:
                            results.flagged.setdefault(student.id, []).append(grade.name)
                    elif grade.needs_manual_grade:
                        given[key] += 1
                        to_grade[key] += 1
                    elif grade.manual_score is not None:
                        given[key] += 1
                        hand_scores[key].append(grade.score)
        for nb in found.notebooks:
            for cell in nb.grade_cells:
                key = (nb.name, cell.name)
                if cell.cell_type == "code":
                    results.checks.append((*key, cell.max_score, full[key], graded[key]))
                else:
                    scores = hand_scores[key]
                    mean = statistics.fmean(scores) if scores else None
                    results.written.append((*key, cell.max_score, given[key], to_grade[key], mean))
    for student in results.totals:
        for mistake in mistakes_named(Path(course_dir), assignment, student):
            results.diagnoses[mistake_kind(mistake)].add(student)
    results.similar = similarity.compare(course_dir, assignment)
    results.extensions = extensions_of(course_dir, assignment)
    return results


def mistakes_named(course_dir: Path, assignment: str, student: str) -> set[str]:
    """The likely mistakes the failed checks of a student's autograded notebooks name."""
    return {
        mistake.strip()
        for path in (course_dir / "autograded" / student / assignment).glob("*.ipynb")
        for cell in nbformat.read(path, as_version=4).cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
        for mistake in DIAGNOSIS.findall(output.get("evalue", ""))
    }


def figure_png(draw, height: float = 3.2) -> str:
    """A matplotlib figure drawn by `draw(axes)`, as a data URI (same figure, same bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(figsize=(7, height), dpi=100)
    draw(axes)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def score_figure(results: ClassResults) -> str:
    """A histogram of the scores of those who handed in."""

    def draw(axes):
        top = results.max_score
        bins = [top * i / 10 for i in range(11)]
        axes.hist(list(results.totals.values()), bins=bins, color="#4c72b0", edgecolor="white")
        axes.set_xlim(0, top)
        axes.set_xlabel(f"score (of {top:g}, after late penalties)")
        axes.set_ylabel("students")
        axes.set_title("Score distribution")

    return figure_png(draw)


def checks_figure(results: ClassResults) -> str:
    """A bar per check: the share of submissions with its full points."""

    def draw(axes):
        names = [check for _, check, _, _, _ in results.checks]
        rates = [100 * f / n if n else 0.0 for _, _, _, f, n in results.checks]
        axes.barh(range(len(names)), rates, color="#55a868")
        axes.set_yticks(range(len(names)), names, fontsize=6)
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("% of submissions with full points")
        axes.set_title("Pass rate of every check")

    return figure_png(draw, height=1 + 0.16 * len(results.checks))


def render(results: ClassResults) -> str:
    """The report page."""
    totals = sorted(results.totals.values())
    handed_in = len(totals)
    summary = [
        ["on the roster", handed_in + len(results.missing)],
        ["handed in", handed_in],
        ["nothing handed in", len(results.missing)],
    ]
    if totals:
        summary += [
            ["mean score", f"{statistics.fmean(totals):.1f} / {results.max_score:g}"],
            ["median score", f"{statistics.median(totals):g} / {results.max_score:g}"],
            ["lowest, highest", f"{totals[0]:g}, {totals[-1]:g}"],
        ]
    checks = [
        [
            nb.split("_")[0],
            check,
            f"{points:g}",
            f"{full} / {n}",
            f"{100 * full / n:.0f}%" if n else "-",
        ]
        for nb, check, points, full, n in results.checks
    ]
    hardest = sorted(results.checks, key=lambda c: (c[3] / c[4] if c[4] else 1, c[1]))[:5]
    written = [
        [nb.split("_")[0], cell, f"{points:g}", n, pending, "-" if mean is None else f"{mean:.2g}"]
        for nb, cell, points, n, pending, mean in results.written
    ]
    diagnoses = [
        [mistake, len(students), ", ".join(sorted(students))]
        for mistake, students in sorted(results.diagnoses.items(), key=lambda d: (-len(d[1]), d[0]))
    ]
    flagged = [[s, ", ".join(checks)] for s, checks in sorted(results.flagged.items())]
    late = [[s, f"{p:g}"] for s, p in sorted(results.late.items())]
    extended = [
        [s, f"{row['due']:%Y-%m-%d %H:%M} UTC", row["reason"]]
        for s, row in sorted(results.extensions.items())
    ]
    scores = [[s, f"{t:g}"] for s, t in sorted(results.totals.items(), key=lambda x: (x[1], x[0]))]
    parts = [
        f"<h1>Class report: {html.escape(results.assignment)}</h1>",
        table("summary", ["", ""], summary),
        "<h2>Scores</h2>",
        f'<img id="scores-figure" alt="Histogram of the scores" src="{score_figure(results)}">',
        "<h2>Checks</h2>",
        "<p>Hardest for the class: "
        + html.escape(", ".join(f"{c[1]} ({c[3]} / {c[4]})" for c in hardest))
        + ".</p>",
        f'<img id="checks-figure" alt="Pass rate of every check" src="{checks_figure(results)}">',
        table("checks", ["part", "check", "points", "full points", "pass rate"], checks),
        "<h2>Most frequent mistakes</h2>",
        "<p>The likely mistakes the failed checks named, with the students they were named for.</p>",
        table("diagnoses", ["likely mistake", "students", "who"], diagnoses)
        if diagnoses
        else "<p>None.</p>",
        "<h2>Written answers</h2>",
        table(
            "written",
            ["part", "answer", "points", "answered", "still to grade", "mean of those graded"],
            written,
        )
        if written
        else "<p>None in this assignment.</p>",
        "<h2>Flagged for review by hand</h2>",
        "<p>Code that does what honest answers never need (the formgrader shows the flag and the "
        "reason); its autograded points are kept until someone looks.</p>",
        table("flagged", ["student", "flagged checks"], flagged) if flagged else "<p>None.</p>",
        "<h2>Late</h2>",
        table("late", ["student", "penalty"], late) if late else "<p>None.</p>",
        "<p>Extensions (<code>gradekit extend</code>): the late penalty counts from these due "
        "dates.</p>",
        table("extensions", ["student", "due", "reason"], extended) if extended else "<p>None.</p>",
        "<h2>Nothing handed in</h2>",
        "<p>" + html.escape(", ".join(sorted(results.missing)) or "Everyone handed in.") + "</p>",
        "<h2>Every score</h2>",
        table("scores", ["student", "score"], scores),
        *similar_section(results),
    ]
    return page(f"Class report: {results.assignment}", parts)


def similar_section(results: ClassResults, shown: int = 20) -> list[str]:
    """The pairs of students whose code is most alike, linking to their side-by-side pages
    (written beside the report, in similarity/<assignment>/)."""
    found = results.similar
    href = f"similarity/{results.assignment}/"
    return [
        "<h2>Similar work</h2>",
        f"<p>Pairs of students (or a student and the instructor's solution) whose code is "
        f"alike, from a score of {found.threshold:g}: {len(found.pairs)} pairs, the first "
        f'{min(shown, len(found.pairs))} here, <a href="{href}index.html">all of them</a> with '
        "their code side by side. Evidence for a person to read: no grade is changed.</p>",
        table(
            "similar",
            similarity.PAIR_HEADER,
            similarity.pair_rows(found.pairs[:shown], href),
            raw=True,
        )
        if found.pairs
        else "<p>None.</p>",
    ]


def write_report(course_dir: Path, assignment: str, to: Path | None = None) -> Path:
    """Write the class report (default: reports/<assignment>.html in the course folder), and
    the similarity pages it links to beside it."""
    to = Path(to or Path(course_dir) / "reports" / f"{assignment}.html")
    to.parent.mkdir(parents=True, exist_ok=True)
    results = read_results(Path(course_dir), assignment)
    similarity.write_pages(results.similar, to.parent / "similarity" / assignment)
    to.write_text(render(results), encoding="utf-8")
    return to
