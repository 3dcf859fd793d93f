"""Code worth a look by hand: what honest answers never need.

The sandbox stops a student's code reaching outside its kernel, and verdicts are reached
outside it, but code that tampers inside the kernel, or tries to, deserves a teacher's eye.
`code_to_review` lists such cells for `gradekit autograde`'s summary, and
`budgets_exceeded` the checks a submission ran over a budget in; the `FlagForReview`
preprocessor (part of autograde, so the formgrader's button does it too) marks them in the
gradebook where formgrader users work: the next check is flagged "needs manual grade" and
the student's answer cell carries the reason as a comment. The autograded score is kept.
"""

import json
import re
import warnings
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from .execute import CUT_NOTE

SUSPICIOUS = {
    r"\bsys\.modules\b|\bimportlib\b|\b__import__\b": "reaches into loaded modules",
    r"\bchecks\b|\bgradekit\b|\boracle\b": "touches the checks or the grading kit",
    r"\bbuiltins\b|showtraceback|excepthook|set_custom_exc": "replaces Python or IPython machinery",
    r"\bnp\.[\w.]+\s*=[^=]": "replaces numpy functions",
    r"\bexec\(|\beval\(|\bcompile\(": "runs code built at run time",
    r"/proc/|\bos\.fork\b|\bsubprocess\b|\bctypes\b|\bos\._exit\b": "handles processes",
    r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\.client\b": "uses the network",
    r"\bNBGRADER_|\bos\.environ\b": "reads or changes the environment",
    r"\bIn\s*\[|\b_ih\b|\binspect\b|_getframe|\bf_back\b|\blinecache\b|\.ipynb\b": (
        "reads the code being run (input history, call stack, notebook files)"
    ),
    r"\bsource/|\bsubmitted/|\bautograded/|gradebook\.db|nbgrader_config": "names course files",
}


def reasons(cell) -> list[str]:
    """Why a cell the student wrote is worth a look by hand (empty: it is not)."""
    if cell.cell_type != "code" or utils.is_locked(cell):
        return []
    return [why for pattern, why in SUSPICIOUS.items() if re.search(pattern, cell.source)]


def code_to_review(folder: Path, notebooks: list[str]) -> list[str]:
    """Cells a student wrote that do what honest answers never need, each with its file."""
    flagged = []
    for name in notebooks:
        try:
            with warnings.catch_warnings():  # duplicated cell ids: nbgrader handles them
                warnings.simplefilter("ignore")
                nb = nbformat.read(folder / name, as_version=4)
        except Exception:  # missing or unreadable: reported when the submission is checked
            continue
        for index, cell in enumerate(nb.cells):
            if why := reasons(cell):
                where = cell.get("id") or f"#{index + 1}"
                flagged.append(f"{folder / name}, cell {where}: {'; '.join(why)}")
    return flagged


def budgets_exceeded(folder: Path, notebooks: list[str]) -> list[str]:
    """The checks of a student's autograded notebooks that failed over a budget (time, answer
    size, output), each with its file and message, and the cells whose output was cut."""
    found = []
    for name in notebooks:
        try:
            cells = json.loads((folder / name).read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError, TypeError):  # not graded: the summary says so
            continue
        for index, cell in enumerate(cells):
            info = cell.get("metadata", {}).get("nbgrader", {})
            where = info.get("grade_id") or f"cell #{index + 1}"
            for output in cell.get("outputs", []):
                failures = str(output.get("evalue", "")).splitlines() if info.get("grade") else []
                for line in failures:
                    if "budget" in line:
                        found.append(f"{folder / name}, {where}: {line.strip()}")
                if CUT_NOTE in "".join(output.get("text", "")):
                    found.append(f"{folder / name}, {where}: its output was cut at its budget")
    return found


class FlagForReview(NbGraderPreprocessor):
    """Flag the check after each suspicious cell "needs manual grade" and say why in a comment
    on the student's answer cell (the closest one before it, else after it). Runs after
    nbgrader's SaveAutoGrades, which clears both on every autograde."""

    def preprocess(self, nb, resources):
        cells = nb.cells
        grades = [i for i, cell in enumerate(cells) if utils.is_grade(cell)]
        answers = [i for i, cell in enumerate(cells) if utils.is_solution(cell)]
        flags, notes = set(), {}
        for index, cell in enumerate(cells):
            why = reasons(cell)
            if not why or not grades:
                continue
            flags.add(next((i for i in grades if i >= index), grades[-1]))
            if answers:
                before = [i for i in answers if i <= index]
                answer = before[-1] if before else answers[0]
                notes.setdefault(answer, {}).update(dict.fromkeys(why))  # in order, once
        if not flags:
            return nb, resources
        info = resources["nbgrader"]
        where = (info["notebook"], info["assignment"], info["student"])
        with Gradebook(info["db_url"]) as gb:
            for i in sorted(flags):
                gb.find_grade(cells[i].metadata.nbgrader.grade_id, *where).needs_manual_grade = True
            for i, why in sorted(notes.items()):
                comment = gb.find_comment(cells[i].metadata.nbgrader.grade_id, *where)
                comment.auto_comment = (
                    "To be read by your teacher: this code " + "; ".join(why) + ", which the "
                    "exercises never need. Your checks' points are unchanged."
                )
            gb.db.commit()
        return nb, resources
