"""Synthetic submissions: release notebooks completed with the model answers or a variant.

A variant changes whole functions (or methods, as `Class.method`) of the model answers,
so one table (for W1-S3, `democlass/variants.py`) describes every synthetic student of
the demo and the tests.
"""

import ast
import textwrap
from pathlib import Path

import nbformat

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def is_solution_cell(cell) -> bool:
    """True for the cells a student writes in."""
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def model_answers(source_dir: Path) -> dict[str, dict[str, str]]:
    """Code solution cell sources of each source notebook, solution markers removed (the
    written answers, graded by hand, are left out)."""
    answers = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        answers[path.name] = {
            cell.id: "\n".join(
                line for line in cell.source.splitlines() if line.strip() not in SOLUTION_MARKERS
            )
            for cell in nb.cells
            if is_solution_cell(cell) and cell.cell_type == "code"
        }
    return answers


def replace_definition(source: str, qualified_name: str, replacement: str) -> str | None:
    """Source with the def of `name` or `Class.name` replaced, or None if it is not there."""
    *outer, name = qualified_name.split(".")
    body = ast.parse(source).body
    for class_name in outer:
        classes = [n for n in body if isinstance(n, ast.ClassDef) and n.name == class_name]
        if not classes:
            return None
        body = classes[0].body
    for node in body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            lines = source.splitlines()
            start = node.lineno - 1 - len(node.decorator_list)
            indent = " " * node.col_offset
            new = textwrap.indent(textwrap.dedent(replacement).strip("\n"), indent).splitlines()
            return "\n".join(lines[:start] + new + lines[node.end_lineno :])
    return None


def apply_changes(answers: dict[str, dict[str, str]], changes: dict[str, str]) -> dict:
    """Model answers with each named function replaced; fails on a name that is not found."""
    answers = {nb: dict(cells) for nb, cells in answers.items()}
    for qualified_name, replacement in changes.items():
        for cells in answers.values():
            for cell_id, source in cells.items():
                changed = replace_definition(source, qualified_name, replacement)
                if changed is not None:
                    cells[cell_id] = changed
                    break
            else:
                continue
            break
        else:
            raise KeyError(f"no solution cell defines {qualified_name}")
    return answers


def write_submission(release_dir: Path, student_dir: Path, answers: dict | None) -> None:
    """Write a student's copy of every release notebook, solution cells filled with `answers`
    (by notebook, then cell id; a cell without an answer is left as released).

    With answers None the notebooks are handed in untouched (a blank submission).
    """
    student_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(release_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if answers is not None and cell.id in answers.get(path.name, {}):
                cell.source = answers[path.name][cell.id]
        nbformat.write(nb, student_dir / path.name)


def write_timestamp(student_dir: Path, timestamp: str) -> None:
    """nbgrader reads the submission time from timestamp.txt."""
    (student_dir / "timestamp.txt").write_text(timestamp + "\n")
