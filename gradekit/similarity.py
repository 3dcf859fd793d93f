"""Work handed in twice: how alike the students' code is, pair by pair, across the class.

Only the code students write is compared: every code cell of a submitted notebook but the
release's checks and given cells (by grade id), less what the release already gives (its
templates and given code, as copydetect's boilerplate).
The code is tokenised and normalised by copydetect (comments and whitespace dropped, every
identifier one letter, so renaming hides nothing), cut into k-grams of K characters and
winnowed by copydetect's winnowing (any match of K + WINDOW - 1 characters is seen). The
k-grams are hashed here, with a fixed hash, because copydetect hashes with Python's `hash`,
which changes with every process: the same class must give the same report.

A pair's score weighs what is distinctive: each fingerprint weighs ln((N + 1) / n), where n of
the N documents hold it, so code most of the class writes alike (`1 / (1 + np.exp(-x))`) adds
little, and the score is the weight the two share over the weight either holds (a weighted
Jaccard index, 1 for the same code). The weights the class shares are summed in one product
over the shared fingerprints, exact in float64 (weights are multiples of 2**-20), so the
scores do not depend on the order of a sum. The reference set (the instructor's solution,
always, and past terms' submissions) is compared with every student, not with itself.

It decides nothing: no grade, no flag in the gradebook; the pages are evidence for a person.
"""

import ast
import html
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import nbformat
import numpy as np

from .pages import page, table
from .submissions import SOLUTION_MARKERS, is_solution_cell

K = 20  # matches shorter than this many normalised characters are noise
WINDOW = 6  # every match of K + WINDOW - 1 normalised characters or more is found
THRESHOLD = 0.7  # pairs listed from this score up
SOLUTION = "instructor's solution"
MAX_NOTEBOOK_BYTES = 20_000_000  # a notebook over this is not read
MAX_CODE = 100_000  # characters of solution code read per student; the rest is cut
_QUANTUM = 2.0**-20
_CHUNK = 4096  # fingerprints per block of the product


class NoRelease(Exception):
    """The assignment has no release to tell the students' code from what they were given."""


class Release(NamedTuple):
    """What the release tells of the students' code."""

    fixed: dict[str, set[str]]  # by notebook: grade ids of the cells no student writes in
    given: set[str]  # the source of every code cell, as every student is given it


@dataclass
class Document:
    """One student's code, or one reference's: the cells written in, and their fingerprints."""

    label: str
    reference: bool
    cells: list[tuple[str, str]]  # (cell, code), in notebook order
    fingerprints: np.ndarray | None = None  # sorted, unique
    spans: dict | None = None  # fingerprint: every (start, end) of it in `code`
    exercise: dict | None = None  # fingerprint: the exercise where it first is

    @cached_property
    def code(self) -> str:
        """The cells, one after the other, a blank line between two."""
        return "\n\n".join(code for _, code in self.cells)

    @cached_property
    def starts(self) -> tuple[int, ...]:
        """Where each cell starts in `code`."""
        lengths = [len(code) + 2 for _, code in self.cells]
        return tuple(sum(lengths[:i]) for i in range(len(lengths)))


@dataclass(frozen=True)
class Pair:
    """Two documents alike: the score, and the exercises whose shared code weighs most."""

    a: Document
    b: Document
    score: float
    exercises: tuple[tuple[str, float], ...]  # (exercise, share of the shared weight)


def kgram_hashes(text: str, k: int) -> np.ndarray:
    """A fixed 52-bit hash of every k-character slice of `text` (exact in a float64, which
    copydetect's winnowing compares in)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < k:
        return np.zeros(0, dtype=np.int64)
    hashes = np.zeros(len(codes) - k + 1, dtype=np.uint64)
    for offset in range(k):
        hashes = hashes * np.uint64(1_000_003) + codes[offset : offset + len(hashes)]
    # splitmix64's finaliser: neighbouring k-grams get unrelated hashes
    hashes ^= hashes >> np.uint64(30)
    hashes *= np.uint64(0xBF58476D1CE4E5B9)
    hashes ^= hashes >> np.uint64(27)
    hashes *= np.uint64(0x94D049BB133111EB)
    hashes ^= hashes >> np.uint64(31)
    return (hashes >> np.uint64(12)).astype(np.int64)


def normalised(code: str) -> tuple[str, np.ndarray]:
    """copydetect's tokenised, normalised code, and its map back to `code`'s positions."""
    from copydetect.utils import filter_code  # imported when used: it imports matplotlib

    filtered, offsets = filter_code(code, "answer.py", "python")
    return filtered, offsets.reshape(-1, 2).astype(np.int64)


def to_code(offsets: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Positions in the normalised code as positions in the code (as copydetect maps them)."""
    if len(offsets) == 0:
        return positions
    found = np.clip(np.searchsorted(offsets[:, 0], positions), 0, len(offsets) - 1)
    return positions + offsets[:, 1][found]


def boilerplate(codes: list[str]) -> np.ndarray:
    """Every k-gram hash of the given code (the release's), which no fingerprint may be."""
    hashes = [kgram_hashes(normalised(code)[0], K) for code in codes]
    return np.unique(np.concatenate(hashes)) if hashes else np.zeros(0, dtype=np.int64)


def fingerprint(document: Document, given: np.ndarray) -> None:
    """Winnow a document's code, exercise by exercise (function, method, or the rest of a
    cell): no fingerprint spans two, so moving or reordering them hides nothing. `given`: the
    release's k-gram hashes, sorted, which are no fingerprints."""
    from copydetect.utils import winnow

    document.spans, document.exercise = {}, {}
    filtered, offsets = normalised(document.code)
    in_code = to_code(offsets, np.arange(len(filtered) + 1))
    for name, start, end in segments(document):
        first, last = np.searchsorted(in_code, [start, end])
        hashes, where = winnow(
            kgram_hashes(filtered[first:last], K), WINDOW, remove_duplicates=False
        )
        if len(given):
            known = given[np.clip(np.searchsorted(given, hashes), 0, len(given) - 1)] == hashes
            hashes, where = hashes[~known], where[~known]
        starts, ends = in_code[first + where], in_code[first + where + K]
        for value, a, b in zip(hashes.tolist(), starts.tolist(), ends.tolist(), strict=True):
            document.spans.setdefault(value, []).append((a, b))
            document.exercise.setdefault(value, name)
    document.fingerprints = np.array(sorted(document.spans), dtype=np.int64)


def segments(document: Document) -> list[tuple[str, int, int]]:
    """The document's code cut into exercises: (name, start, end) in `code`."""
    found: list[tuple[str, int, int]] = []
    unit = None
    for (cell, code), start in zip(document.cells, document.starts, strict=True):
        at = start
        for line, this in zip(code.split("\n"), exercises(cell, code), strict=False):
            if found and this == unit:
                found[-1] = (found[-1][0], found[-1][1], at + len(line) + 1)
            else:
                found.append((this[0], at, at + len(line) + 1))
            unit, at = this, at + len(line) + 1
        unit = None  # a cell's end ends an exercise
    return found


def exercises(cell: str, code: str) -> list[tuple[str, int]]:
    """The exercise of each line of a cell, and of the blank line after it: the function or
    method it is in, else the cell; as (name, the line its definition starts, or -1)."""
    lines = [(cell, -1)] * (code.count("\n") + 2)
    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return lines
    functions = ast.FunctionDef | ast.AsyncFunctionDef
    for node in body:
        methods = [(node.name, node)] if isinstance(node, functions) else []
        if isinstance(node, ast.ClassDef):
            methods = [(f"{node.name}.{m.name}", m) for m in node.body if isinstance(m, functions)]
        for name, item in methods:
            first = item.lineno - 1 - len(item.decorator_list)
            lines[first : item.end_lineno] = [(name, first)] * (item.end_lineno - first)
    return lines


def written_cells(path: Path, fixed: set[str], given: set[str]) -> list[tuple[str, str]]:
    """The code cells of a notebook a student could write in, in order, as (name, code): all
    but the release's check and given cells (`fixed`, by grade id), solution markers dropped,
    and those left as released (`given`) or empty. A cell whose nbgrader metadata was removed
    or never was (one the student added) counts too. Raises ValueError naming what is
    wrong."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{path}: over {MAX_NOTEBOOK_BYTES:,} bytes, not read")
    try:
        nb = nbformat.from_dict(json.loads(path.read_bytes()))
        found = []
        for index, cell in enumerate(nb.cells, 1):
            name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if cell.get("cell_type") == "code" and name not in fixed:
                code = cell_text(cell.source)
                kept = [line for line in code.split("\n") if line.strip() not in SOLUTION_MARKERS]
                code = "\n".join(kept)
                if code.strip() and code not in given:
                    found.append((name if isinstance(name, str) else f"cell {index}", code))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise ValueError(f"{path}: not a notebook nbgrader can read ({error})") from None
    return found


def cell_text(source: str | list[str]) -> str:
    """A cell's source as one string (notebook files may hold it as a list of lines)."""
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise TypeError("a cell's source is not text")


def read_document(
    label: str, folder: Path, release: Release, reference: bool = False
) -> tuple[Document, str | None]:
    """A student's (or a reference's) code: the cells written in, of each release notebook
    found in `folder`, at most MAX_CODE characters in all; and what was cut, if anything."""
    cells = []
    for notebook, fixed in sorted(release.fixed.items()):
        path = folder / notebook
        if path.is_file():
            cells += written_cells(path, fixed, release.given)
    if sum(len(code) for _, code in cells) <= MAX_CODE:
        return Document(label, reference, cells), None
    left, kept = MAX_CODE, []
    for name, code in cells:
        kept.append((name, code[:left]))
        left -= len(kept[-1][1])
    cut = f"{label}: {folder}: over {MAX_CODE:,} characters of solution code, the rest not compared"
    return Document(label, reference, kept), cut


def release_cells(release_dir: Path) -> Release:
    """What the release of the assignment gives every student."""
    fixed, given = {}, set()
    for path in sorted(release_dir.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        fixed[path.name] = {
            cell.metadata["nbgrader"]["grade_id"]
            for cell in code
            if "grade_id" in cell.metadata.get("nbgrader", {}) and not is_solution_cell(cell)
        }
        given.update(cell.source for cell in code)
    if not fixed:
        raise NoRelease(f"{release_dir}: no release notebooks (run nbgrader generate_assignment)")
    return Release(fixed, given)


def read_class(
    course_dir: Path, assignment: str, references: list[Path] = ()
) -> tuple[list[Document], list[str]]:
    """Every student's document (submitted/), then the references: the instructor's solution
    (source/) and every folder of notebooks under each of `references`. Also the problems met:
    one line per file not read, naming it."""
    course_dir = Path(course_dir)
    release = release_cells(course_dir / "release" / assignment)
    documents, problems = [], []
    folders = [
        (student.name, student / assignment, False)
        for student in sorted((course_dir / "submitted").glob("*"))
        if (student / assignment).is_dir()
    ]
    folders.append((SOLUTION, course_dir / "source" / assignment, True))
    for root in references:
        root = Path(root)
        for folder in sorted({p.parent for p in root.rglob("*.ipynb")}):
            where = folder.relative_to(root)
            where = where.parent if where.name == assignment else where  # <student>/<assignment>
            folders.append((f"{root.name}/{where}".removesuffix("/."), folder, True))
    for label, folder, reference in folders:
        try:
            document, cut = read_document(label, folder, release, reference)
        except (ValueError, OSError) as error:
            problems.append(f"{label}: {error}")
            continue
        documents.append(document)
        problems += [cut] if cut else []
    rest = boilerplate(sorted(release.given))
    for document in documents:
        fingerprint(document, rest)
    return documents, problems


def weights(documents: list[Document]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every fingerprint, how many documents hold it, and its weight in units of 2**-20:
    ln((N + 1) / n) for a fingerprint n of the N documents hold."""
    every = np.concatenate([d.fingerprints for d in documents] + [np.zeros(0, dtype=np.int64)])
    values, counts = np.unique(every, return_counts=True)
    weight = np.rint(np.log((len(documents) + 1) / counts) / _QUANTUM).astype(np.int64)
    return values, counts, weight


def scores(documents: list[Document], held: tuple | None = None) -> np.ndarray:
    """The score of every pair of documents. The weight two documents share is summed only
    over the fingerprints two documents or more hold, block by block, in one product."""
    values, counts, weight = held or weights(documents)
    total = np.array([weight[np.searchsorted(values, d.fingerprints)].sum() for d in documents])
    shared = counts >= 2
    values, weight = values[shared], weight[shared].astype(np.float64)
    inter = np.zeros((len(documents), len(documents)))
    for start in range(0, len(values), _CHUNK):
        block = values[start : start + _CHUNK]
        held_block = np.zeros((len(documents), len(block)))
        for row, document in enumerate(documents):
            found = np.intersect1d(document.fingerprints, block, assume_unique=True)
            held_block[row, np.searchsorted(block, found)] = 1
        inter += (held_block * weight[start : start + _CHUNK]) @ held_block.T
    union = total[:, None] + total[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def similar_pairs(documents: list[Document], threshold: float = THRESHOLD) -> list[Pair]:
    """The pairs from `threshold` up, most alike first: two students, or a student and a
    reference (the student first)."""
    held = weights(documents)
    matrix = scores(documents, held)
    pairs = [
        Pair(a, b, round(float(matrix[i, j]), 3), driven_by(a, b, held))
        for i, a in enumerate(documents)
        for j, b in enumerate(documents)
        if i < j and not a.reference and matrix[i, j] >= threshold
    ]
    return sorted(pairs, key=lambda p: (-p.score, p.a.label, p.b.label))


def driven_by(a: Document, b: Document, held: tuple) -> tuple[tuple[str, float], ...]:
    """The exercises of `a` whose code the pair shares, each with its share of the shared
    weight, heaviest first."""
    values, _, weight = held
    shared = np.intersect1d(a.fingerprints, b.fingerprints, assume_unique=True)
    by_exercise: dict[str, int] = {}
    for value, w in zip(
        shared.tolist(), weight[np.searchsorted(values, shared)].tolist(), strict=True
    ):
        exercise = a.exercise[value]
        by_exercise[exercise] = by_exercise.get(exercise, 0) + w
    total = sum(by_exercise.values()) or 1
    ranked = sorted(by_exercise.items(), key=lambda e: (-e[1], e[0]))
    return tuple((name, round(w / total, 3)) for name, w in ranked)


def matches(document: Document, other: Document) -> list[tuple[int, int]]:
    """The regions of a document's code that the other shares, as (start, end) in the code:
    the spans of the shared fingerprints, overlapping ones merged."""
    shared = np.intersect1d(document.fingerprints, other.fingerprints, assume_unique=True)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(span for value in shared.tolist() for span in document.spans[value]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


PAIR_STYLE = (
    "body{max-width:none}.sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}"
    "pre{background:#f8f8f8;padding:.5em;overflow-x:auto;font-size:.85em}"
    "mark{background:#ffd54f}"
)


def marked(code: str, start: int, end: int, regions: list[tuple[int, int]]) -> str:
    """`code[start:end]` as HTML, the parts inside `regions` (of `code`) in <mark>."""
    out, at = [], start
    for region_start, region_end in regions:
        a, b = max(region_start, at), min(region_end, end)
        if a >= b:
            continue
        out += [html.escape(code[at:a]), "<mark>", html.escape(code[a:b]), "</mark>"]
        at = b
    out.append(html.escape(code[at:end]))
    return "".join(out)


def side(document: Document, regions: list[tuple[int, int]]) -> str:
    """One document's cells, each under its name, the shared regions marked."""
    blocks = [f"<h2>{html.escape(document.label)}</h2>"]
    for (cell, code), start in zip(document.cells, document.starts, strict=True):
        text = marked(document.code, start, start + len(code), regions)
        blocks.append(f"<h3>{html.escape(cell)}</h3><pre>{text}</pre>")
    return '<div class="side">' + "".join(blocks) + "</div>"


def shares(pair: Pair, top: int = 3) -> str:
    """The exercises that drove a pair's score, as text."""
    return ", ".join(f"{name} ({100 * share:.0f}%)" for name, share in pair.exercises[:top])


def pair_page(assignment: str, pair: Pair, rank: int) -> str:
    """The side-by-side page of one pair."""
    title = f"{pair.a.label} and {pair.b.label}"
    return page(
        f"Similarity {rank}: {title} ({assignment})",
        [
            f'<p><a href="index.html">All pairs</a></p><h1>{html.escape(title)}</h1>',
            f'<p>Score <b id="score">{pair.score:.3f}</b> (rank {rank}). Driven by: '
            f"{html.escape(shares(pair, len(pair.exercises)))}.</p>",
            "<p>Code both hand in is marked, on each side. Matches are found after comments "
            "and spacing are dropped and every name is made the same, so renamed or "
            "reformatted code is marked too. This is evidence for a person to weigh, not a "
            "verdict: the kit changes no grade.</p>",
            '<div class="sides">' + side(pair.a, matches(pair.a, pair.b)),
            side(pair.b, matches(pair.b, pair.a)) + "</div>",
        ],
        PAIR_STYLE,
    )


def pair_file(rank: int) -> str:
    return f"pair-{rank:04d}.html"


def pair_rows(pairs: list[Pair], href: str = "") -> list[list[str]]:
    """One table row per pair, linking to its page (under `href`)."""
    return [
        [
            str(rank),
            f'<a href="{html.escape(href + pair_file(rank))}">{html.escape(pair.a.label)}</a>',
            html.escape(pair.b.label),
            f"{pair.score:.3f}",
            html.escape(shares(pair)),
        ]
        for rank, pair in enumerate(pairs, 1)
    ]


PAIR_HEADER = ["rank", "student", "alike", "score", "driven by"]


@dataclass
class Comparison:
    """A class compared: what was read, what could not be, and the pairs found."""

    assignment: str
    documents: list[Document]
    problems: list[str]
    pairs: list[Pair]
    threshold: float


def compare(
    course_dir: Path, assignment: str, references: list[Path] = (), threshold: float = THRESHOLD
) -> Comparison:
    """Compare the code of every student of the class (submitted/) with every other's and
    with the references."""
    documents, problems = read_class(course_dir, assignment, references)
    return Comparison(
        assignment, documents, problems, similar_pairs(documents, threshold), threshold
    )


def index_page(comparison: Comparison) -> str:
    """The list of pairs from the threshold up, most alike first."""
    students = sum(not d.reference for d in comparison.documents)
    references = [d.label for d in comparison.documents if d.reference]
    pairs = comparison.pairs
    parts = [
        f"<h1>Similar work: {html.escape(comparison.assignment)}</h1>",
        f"<p>The solution code of {students} students compared pairwise, and with the "
        f"references: {html.escape(', '.join(references))}. {len(pairs)} pairs score "
        f"{comparison.threshold:g} or more. A score is the share of the two students' code "
        "they have in common, code most of the class writes alike weighing little. Nothing "
        "here changes a grade; each page is evidence for a person to read.</p>",
        table("pairs", PAIR_HEADER, pair_rows(pairs), raw=True) if pairs else "<p>None.</p>",
    ]
    if comparison.problems:
        rows = [problem.split(": ", 1) for problem in comparison.problems]
        parts += ["<h2>Not compared</h2>", table("problems", ["who", "problem"], rows)]
    return page(f"Similar work: {comparison.assignment}", parts)


def write_pages(comparison: Comparison, to: Path) -> Path:
    """Write the list of pairs (to/index.html) and a page per pair beside it."""
    to.mkdir(parents=True, exist_ok=True)
    for old in to.glob("pair-*.html"):
        old.unlink()
    for rank, pair in enumerate(comparison.pairs, 1):
        text = pair_page(comparison.assignment, pair, rank)
        (to / pair_file(rank)).write_text(text, encoding="utf-8")
    index = to / "index.html"
    index.write_text(index_page(comparison), encoding="utf-8")
    return index


def default_folder(course_dir: Path, assignment: str) -> Path:
    """Where the pages go unless told: reports/similarity/<assignment> in the course."""
    return Path(course_dir) / "reports" / "similarity" / assignment
