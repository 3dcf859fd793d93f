"""Feedback that tells students which checks failed and why, without the hidden checks' code.

nbgrader's own feedback shows the full source of hidden tests (nbgrader issues #917, #1363)
and tracebacks that quote it; this preprocessor runs in `nbgrader generate_feedback`.
"""

import re

from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN_REGION = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*", re.DOTALL)
HIDDEN_NOTE = "# (hidden checks: their code is not shown)"


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden test code from grade cells, and tracebacks that would quote it."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or "### BEGIN HIDDEN TESTS" not in cell.source:
            return cell, resources
        cell.source = HIDDEN_REGION.sub(HIDDEN_NOTE, cell.source)
        for output in cell.outputs:
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
