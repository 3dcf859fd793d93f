"""A synthetic class for the similarity report: independent students, and copies of some.

An independent student writes each function in a style of their own choosing: for every
function of the model answers, one of the ways the variants (`variants.CORRECT` and
`variants.BUGGY`) write it, or the model's, drawn at random. So two independent students
share some exercises' code by nature, as real students do, but not all of it.

A copy takes another student's answers and hides the copying the ways students do: names
renamed, functions reordered, comments and spacing changed, a line or two rewritten, code
moved to another cell.
"""

import ast
import random
import re

from gradekit import submissions

from .variants import BUGGY, CORRECT

HIDINGS = ("rename", "reorder", "comments", "spacing", "rewrite", "move")
_RENAMES = {
    "x": "value",
    "a": "slope",
    "b": "offset",
    "y": "labels",
    "p": "prob",
    "inputs": "X_data",
    "outputs": "targets",
    "m": "count",
    "epsilon": "err",
    "iteration_number": "step",
}


def styles() -> dict[str, list[str]]:
    """Every way the variants write each function (`Class.method` for a method)."""
    found: dict[str, list[str]] = {}
    for variant in CORRECT + BUGGY:
        for name, code in variant.changes.items():
            if code not in found.setdefault(name, []):
                found[name].append(code)
    return found


def independent(answers: dict, seed: int) -> dict:
    """A student who wrote every function their own way (one seed, one student)."""
    rng = random.Random(seed)
    changes = {}
    for name, codes in sorted(styles().items()):
        choice = rng.randrange(len(codes) + 1)  # the last one: the model's own
        if choice < len(codes):
            changes[name] = codes[choice]
    return submissions.apply_changes(answers, changes)


def copied(answers: dict, hidings: tuple[str, ...] = HIDINGS) -> dict:
    """Another student's answers, the copying hidden in the given ways."""
    answers = {nb: dict(cells) for nb, cells in answers.items()}
    for hiding in hidings:
        _HIDE[hiding](answers)
    return answers


def _in_every_cell(change):
    """A change of one cell's code, made to every cell of a submission."""

    def hide(answers: dict) -> None:
        for cells in answers.values():
            for cell, code in cells.items():
                cells[cell] = change(code)

    return hide


def _rename(code: str) -> str:
    for old, new in _RENAMES.items():
        code = re.sub(rf"(?<![.\w]){old}\b", new, code)
    return code


def _reorder(code: str) -> str:
    """Functions (and a class's methods) in reverse order."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    lines = code.splitlines()
    for body in [tree.body] + [n.body for n in tree.body if isinstance(n, ast.ClassDef)]:
        defs = [n for n in body if isinstance(n, ast.FunctionDef)]
        if len(defs) < 2:
            continue
        start, end = defs[0].lineno - 1, defs[-1].end_lineno
        if any(not isinstance(n, ast.FunctionDef) for n in body if start < n.lineno <= end):
            continue
        chunks = ["\n".join(lines[d.lineno - 1 : d.end_lineno]) for d in defs]
        return "\n".join(lines[:start] + "\n\n".join(reversed(chunks)).split("\n") + lines[end:])
    return code


def _comments(code: str) -> str:
    out = []
    for line in code.splitlines():
        if line.strip().startswith("#"):
            continue
        if line.strip().startswith(("def ", "return ")):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# my own work, step {len(out)}")
        out.append(line)
    return "\n".join(out)


def _spacing(code: str) -> str:
    code = re.sub(r"(?m)^((?:    )+)", lambda m: "  " * (len(m.group(1)) // 4), code)
    return re.sub(r" ([-+*/]|==|>=|<=) ", r"\1", code).replace("\n\n", "\n\n\n")


def _rewrite_two_lines(answers: dict) -> None:
    """The first two `return` lines of the submission rewritten: the value named, then
    returned."""
    left = 2
    for cells in answers.values():
        for cell, code in cells.items():
            code, done = re.subn(
                r"(?m)^( +)return (.+)$", r"\1result = \2\n\1return result", code, count=left
            )
            cells[cell], left = code, left - done
            if not left:
                return


def _move_last_function(answers: dict) -> None:
    """The last function of the first cell defining two or more moved to the cell before."""
    for cells in answers.values():
        names = list(cells)
        for before, cell in zip(names, names[1:], strict=False):
            try:
                defs = [n for n in ast.parse(cells[cell]).body if isinstance(n, ast.FunctionDef)]
            except SyntaxError:
                continue
            if len(defs) >= 2:
                lines = cells[cell].splitlines()
                last = defs[-1]
                moved = lines[last.lineno - 1 : last.end_lineno]
                cells[cell] = "\n".join(lines[: last.lineno - 1] + lines[last.end_lineno :])
                cells[before] += "\n\n\n" + "\n".join(moved)
                return


# Each way of hiding a copy (HIDINGS), as a change to a whole submission.
_HIDE = {
    "rename": _in_every_cell(_rename),
    "reorder": _in_every_cell(_reorder),
    "comments": _in_every_cell(_comments),
    "spacing": _in_every_cell(_spacing),
    "rewrite": _rewrite_two_lines,
    "move": _move_last_function,
}
