"""Feedback that tells students which checks failed and why, without the hidden checks' code.

nbgrader's own feedback shows the full source of hidden tests (nbgrader issues #917, #1363)
and tracebacks that quote it; `HideHiddenTests` runs in `nbgrader generate_feedback`. Code
in the kernel can also read the hidden checks as they run (IPython's input history, the
call stack): an output that quotes them is hidden too. `SummariseChecks` lists every check
at the top of the page (nbgrader's own list calls each one "Test cell"), and `RenderMath`
turns formulas into MathML, so the page shows them without MathJax from the internet; the
page's template is `templates/gradekit_feedback` (set in nbgrader_config.py).
"""

import json
import re
from pathlib import Path

import nbgrader
from latex2mathml.converter import convert
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

HIDDEN_REGION = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*", re.DOTALL)
HIDDEN_NOTE = "# (hidden checks: their code is not shown)"
QUOTE_NOTE = "(output not shown: it quotes the hidden checks)\n"


class FeedbackPreprocessor(NbGraderPreprocessor):
    """A preprocessor of `nbgrader generate_feedback`."""

    display_data_priority = List(
        Unicode(), help="Set by nbconvert for every preprocessor of its exporter; unused."
    ).tag(config=True)


class HideHiddenTests(FeedbackPreprocessor):
    """Remove hidden test code from grade cells, tracebacks that would quote it, and any
    output that quotes it."""

    def preprocess(self, nb, resources):
        self.hidden = hidden_lines(nb)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if "### BEGIN HIDDEN TESTS" in cell.source:
            cell.source = HIDDEN_REGION.sub(HIDDEN_NOTE, cell.source)
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        cell.outputs = [
            NotebookNode(output_type="stream", name="stdout", text=QUOTE_NOTE)
            if quotes(output, self.hidden)
            else output
            for output in cell.outputs
        ]
        return cell, resources


def hidden_lines(nb: NotebookNode) -> set[str]:
    """The lines of the notebook's hidden checks that appear nowhere else in it (short
    lines such as `)` or `import numpy as np` say nothing)."""
    hidden, public = set(), []
    for cell in nb.cells:
        for region in HIDDEN_REGION.findall(cell.source):
            hidden.update(line.strip() for line in region.splitlines()[1:-1])
        public.append(HIDDEN_REGION.sub("", cell.source))
    public_text = "\n".join(public)
    return {line for line in hidden if len(line) > 12 and line not in public_text}


def quotes(output: NotebookNode, lines: set[str]) -> bool:
    """Whether an output's text (stream, error, or any text form of a result) holds one of
    these lines."""
    text = as_text([output.get(key, "") for key in ("text", "evalue", "traceback", "data")])
    return any(line in text for line in lines)


def as_text(value) -> str:
    """Every string in an output's fields (strings, lists of them, dicts of mime types)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return as_text(list(value.values()))
    if isinstance(value, list):
        return "\n".join(as_text(item) for item in value)
    return json.dumps(value)


# Where the page's templates are: the kit's, and nbgrader's feedback page it extends
# (c.HTMLExporter.extra_template_basedirs).
TEMPLATES = str(Path(__file__).with_name("templates"))
NBGRADER_TEMPLATES = str(
    Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
)
HEADING = re.compile(r"#{1,3} +(.+)")
COMMENT = re.compile(r"# ?(.*)")


class SummariseChecks(FeedbackPreprocessor):
    """The notebook's checks for the page's summary (`resources["checks"]`): each by its
    exercise (the heading above it) and what it checks (its opening comment), failed ones
    first, with the first line of their message."""

    def preprocess(self, nb, resources):
        checks, exercise = [], ""
        for cell in nb.cells:
            grading = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and not grading:
                heading = HEADING.match(cell.source)
                exercise = heading.group(1).replace("`", "") if heading else exercise
            elif cell.cell_type == "code" and grading.get("grade") and not grading.get("solution"):
                score, points = grading.get("score") or 0, grading.get("points") or 0
                checks.append(
                    {
                        "id": grading["grade_id"],
                        "exercise": exercise,
                        "what": opening_comment(cell.source) or grading["grade_id"],
                        "score": score,
                        "points": points,
                        "passed": score >= points,
                        "message": error_message(cell),
                    }
                )
        resources["checks"] = sorted(checks, key=lambda check: check["passed"])
        return nb, resources


def opening_comment(source: str) -> str:
    """The comment lines a cell opens with, joined."""
    lines = []
    for line in source.splitlines():
        comment = COMMENT.fullmatch(line.strip())
        if not comment or line.strip().startswith("###") or line.strip() == HIDDEN_NOTE:
            break
        lines.append(comment.group(1))
    return " ".join(lines)


def error_message(cell: NotebookNode) -> str:
    """The first line of the error a check cell ended with ("" if none), at most 300 characters."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            message = (output.get("evalue") or output.get("ename") or "").strip()
            first = message.splitlines()[0] if message else ""
            return first if len(first) <= 300 else first[:299] + "…"
    return ""


MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$\n]+?)\$", re.DOTALL)


class RenderMath(FeedbackPreprocessor):
    """Formulas in markdown cells (`$...$`, `$$...$$`) as MathML, which browsers draw
    themselves: the page needs no MathJax and nothing from the internet."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            cell.source = MATH.sub(as_mathml, cell.source)
        return cell, resources


def as_mathml(match: re.Match) -> str:
    """One formula as MathML; left as written if it is not LaTeX the converter reads."""
    block, inline = match.groups()
    try:
        return convert((block or inline).strip(), display="block" if block else "inline")
    except Exception:  # a student's own text: whatever it holds, the page is still made
        return match.group(0)
