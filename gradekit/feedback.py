"""Feedback that tells students which checks failed and why, without the hidden checks' code.

nbgrader's own feedback shows the full source of hidden tests (nbgrader issues #917, #1363)
and tracebacks that quote it; this preprocessor runs in `nbgrader generate_feedback`. Code
in the kernel can also read the hidden checks as they run (IPython's input history, the
call stack): an output that quotes them is hidden too.
"""

import json
import re

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

HIDDEN_REGION = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*", re.DOTALL)
HIDDEN_NOTE = "# (hidden checks: their code is not shown)"
QUOTE_NOTE = "(output not shown: it quotes the hidden checks)\n"


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden test code from grade cells, tracebacks that would quote it, and any
    output that quotes it."""

    # nbconvert configures this for every preprocessor of the exporter; accepted, unused
    display_data_priority = List(Unicode()).tag(config=True)

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
