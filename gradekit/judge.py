"""Grade cells judged outside the student's kernel, under pytest.

At grading time `ResilientExecute` runs the student's cells in the sandboxed kernel and hands
every autograder test cell to a `Judge`, which runs the cell's code here, in the grading
process, and never in the kernel:

- every test runs against its own disposable copy of the kernel as the notebook left it
  (`bridge.Bridge.copy`), thrown away when the test ends: nothing one test's run learns
  reaches another, and the order of the tests does not matter;
- the cell's top-level code (a visible check) runs as one test; the names it uses that the
  notebook defines (`s`, `ShallowNeuralNet`, `inputs`) are the student's objects, looked up in
  the test's copy: data arrives by value, functions and objects as `bridge.Remote` proxies
  whose every call crosses to the copy; the other exercises it runs are lent (`isolated`);
- each `test_*` function the cell defines (the hidden checks) runs as a pytest test, with
  pytest's assertion rewriting; its arguments are fixtures: `rng` (a generator seeded from the
  course secret, the student, every notebook handed in and the test), `kernel` (the
  test's copy of the student's kernel: `kernel.seed(n)`, `kernel.printed(f, ...)`), and any
  other name the notebook defines;
- `import checks`, `import reference` and any other module beside the source notebooks
  import the course's own copy from `source/<assignment>/`, never the student's.

The cell passes when all its tests pass; otherwise it gets an error output with their
messages, which nbgrader scores as zero. One pytest session serves a whole notebook. Each test
has a wall-clock budget, and so do all the checks of a notebook together (`Budgets`).
"""

import ast
import builtins
import functools
import hashlib
import importlib.util
import json
import os
import random
import symtable
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pytest
from _pytest.assertion.rewrite import rewrite_asserts
from nbformat import NotebookNode

from .bridge import KernelGone, Remote, StudentError
from .secret import course_secret, seed_for

KIT_FIXTURES = ("rng", "kernel", "request")
# pytest's own machinery for running tests, and none of its plugins for test suites (no
# collection from disk, no conftest.py, no cache, no output capture; and no garbage collection
# after each session, which the unraisable-exception plugins force: 0.1 s in a grader).
PYTEST_ARGS = ["-c", os.devnull, "--noconftest", "-s"] + [
    argument
    for plugin in (
        "cacheprovider",
        "terminal",
        "logging",
        "faulthandler",
        "warnings",
        "stepwise",
        "junitxml",
        "pastebin",
        "unraisableexception",
        "threadexception",
        "doctest",
        "tmpdir",
        "monkeypatch",
        "recwarn",
        "setuponly",
        "setupplan",
        "legacypath",
        "debugging",
        "python_path",
        "skipping",
        "unittest",
    )  # fmt: skip
    for argument in ("-p", f"no:{plugin}")
]


def is_judged(cell: NotebookNode) -> bool:
    """Whether the judge (not the kernel) runs this cell: an autograder test cell."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def isolated(**functions):
    """Mark a hidden test that runs with these trusted functions lent in place of the
    student's (`s=...`, `**{"Net.forward": ...}`), so that a bug in a helper costs only the
    helper's points. A lent method first runs the student's own (whatever that keeps on
    `self` stays), then gives the trusted result, in the types the student's own gave.

    A function named `visible_check` so marked, in a cell's hidden part, lends them to the
    cell's visible check at grading time (in the student's notebook it runs their own)."""

    def mark(test):
        test.lends = functions
        return test

    return mark


class Judge:
    """Runs the grade cells of one notebook in one pytest session."""

    def __init__(self, executor, nb: NotebookNode, resources: dict):
        from nbgrader.coursedir import CourseDirectory

        info = resources.get("nbgrader", {})
        coursedir = CourseDirectory(config=executor.config)
        assignment = info.get("assignment", "")
        self.source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
        student, notebook = str(info.get("student", "")), str(info.get("notebook", ""))
        handed_in = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
        self.parts = (student, notebook, submission_digest(nb, handed_in, f"{notebook}.ipynb"))
        self.secret = course_secret(coursedir.course_id)
        self.fixtures = student_fixtures(self, nb)
        self.test_seconds = float(executor.test_seconds)
        self.deadline = time.monotonic() + float(executor.notebook_seconds)
        self.notebook_seconds = float(executor.notebook_seconds)
        self.order = random.Random(executor.check_order) if executor.check_order else None
        self.bridge = None
        self.channel = None  # the running test's copy of the kernel
        self.session = None
        self.failures: dict[str, str] = {}
        self.gone: KernelGone | None = None
        self.error: BaseException | None = None
        self.grade_id = ""

    # -- the session ------------------------------------------------------------------

    def run(self, cells) -> None:
        """Run cells(judge) inside one pytest session; errors are raised again here."""
        self.cells, self.ran = cells, False
        saved = {name: os.environ.pop(name, None) for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        try:
            with tempfile.TemporaryDirectory(prefix="gradekit-judge-") as empty:
                status = pytest.main(
                    [*PYTEST_ARGS, "--rootdir", empty, empty], plugins=[self, self.fixtures]
                )
        finally:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
            os.environ.update({name: value for name, value in saved.items() if value is not None})
        if self.error is not None:
            raise self.error
        if not self.ran:  # never grade a notebook whose checks did not run
            raise RuntimeError(f"the grade cells could not be judged: pytest stopped ({status!r})")

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session):
        session.items = []  # nothing is collected from disk: the cells are the tests
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        self.session, self.ran = session, True
        try:
            self.cells(self)
        except BaseException as error:  # noqa: B036 - handed back to the executor as it is
            self.error = error
        return True

    # -- grade cells ------------------------------------------------------------------

    def judge_all(self, cells: list[NotebookNode], bridge) -> None:
        """Judge grade cells that follow each other (in a shuffled order if configured:
        every test runs in its own copy of the kernel, so the order changes nothing)."""
        cells = list(cells)
        if self.order is not None:
            self.order.shuffle(cells)
        for cell in cells:
            self.judge(cell, bridge)

    def judge(self, cell: NotebookNode, bridge) -> None:
        """Run the cell's checks, each against its own copy of the student's kernel, and
        record the outcome."""
        self.bridge, self.failures, self.gone = bridge, {}, None
        grade_id = self.grade_id = cell.metadata["nbgrader"].get("grade_id", "cell")
        cell.outputs, cell.execution_count = [], None
        parent = CellNode.from_parent(self.session, name=grade_id)
        self.namespace = namespace = {
            "__name__": f"grade_cell_{grade_id}",
            "__builtins__": self.builtins(),
            "np": np,
        }
        try:
            definitions, statements = compile_check(cell.source, grade_id)
            exec(definitions, namespace)  # imports and the tests: trusted code, no kernel call
        except Exception as error:
            self.failures["cell"] = f"this check cell cannot run: {type(error).__name__}: {error}"
        else:
            self.wanted = free_names(cell.source) - set(namespace) - set(vars(builtins))
            items = []
            if statements.co_code != EMPTY_MODULE:  # a visible check: a test of its own

                def visible():
                    exec(statements, namespace)

                # what a `visible_check` marked @isolated(...) lends it (the hidden part)
                visible.lends = getattr(namespace.get("visible_check"), "lends", None)
                items.append(("cell", visible))
            items += [(n, t) for n, t in namespace.items() if n.startswith("test_") and callable(t)]
            if self.order is not None:
                self.order.shuffle(items)
            for name, test in items:
                if not self.gone:
                    self.run_item(Check.from_parent(parent, name=name, callobj=test))
        if self.failures:
            message = "\n\n".join(self.failures[name] for name in sorted(self.failures))
            cell.outputs.append(
                NotebookNode(
                    output_type="error",
                    ename="CheckFailed",
                    evalue=message,
                    traceback=[line for line in message.splitlines()],
                )
            )
        if self.gone:
            raise self.gone

    def run_item(self, item) -> None:
        item.ihook.pytest_runtest_protocol(item=item, nextitem=None)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if call.excinfo is not None and report.failed and item.name not in self.failures:
            error = call.excinfo.value
            if isinstance(error, KernelGone):
                self.gone = error
            self.failures[item.name] = failure_message(error)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        """Run one test in a new copy of the kernel: the notebook's names it needs are
        looked up there, its lent functions put in place, and the copy is killed after."""
        test = pyfuncitem.obj
        arguments = list(pyfuncitem._fixtureinfo.argnames)
        seconds = min(self.test_seconds, self.deadline - time.monotonic())
        if seconds <= 0:
            raise StudentError(
                "Budget",
                f"the checks of this notebook ran over their time budget "
                f"({self.notebook_seconds:g} s); this check did not run",
            )
        channel = self.channel = self.bridge.copy(seconds, getattr(test, "lends", None))
        try:
            names = (self.wanted | set(arguments)) - set(KIT_FIXTURES)
            found = channel.lookup(names) if names else {}
            self.namespace.update({n: v for n, v in found.items() if n in self.wanted})
            kwargs = {}
            for name in arguments:
                if name == "kernel":
                    kwargs[name] = Kernel(channel)
                elif name in KIT_FIXTURES:
                    kwargs[name] = pyfuncitem.funcargs[name]
                elif name in found:
                    kwargs[name] = found[name]
                else:
                    raise StudentError("NameError", f"your notebook defines no {name}")
            test(**kwargs)
            channel.flush()
        finally:
            channel.close()
            self.channel = None
        return True

    # -- what the checks get ------------------------------------------------------------

    def rng(self, test: str) -> np.random.Generator:
        """The grading-time random generator of one test."""
        return np.random.default_rng(seed_for(self.secret, *self.parts, test))

    def builtins(self) -> dict:
        """Python's builtins, with `import` taking course modules from the source folder."""
        return course_builtins(self.source)


class CellNode(pytest.Collector):
    """A grade cell, the parent of its tests."""

    def collect(self):
        return []


class Check(pytest.Function):
    """One test of a grade cell. Its failure reads as the student will read it; pytest's
    traceback, of no use here, is never formatted (tens of milliseconds per failure)."""

    def repr_failure(self, excinfo):
        return failure_message(excinfo.value)


class Kernel:
    """What a check may ask of its copy of the student's kernel besides calling the
    student's code."""

    def __init__(self, channel):
        self._channel = channel

    def seed(self, seed: int) -> None:
        """np.random.seed(seed) where the student's code runs."""
        self._channel.seed(seed)

    def printed(self, function: Remote, *args, **kwargs) -> tuple:
        """Call the student's function: (its result, what it printed)."""
        return self._channel.printed(function, *args, **kwargs)


def student_fixtures(judge: Judge, nb: NotebookNode):
    """A pytest plugin with the kit's fixtures and one per name that a hidden test asks for
    (the student's object of that name, looked up in the test's copy of the kernel when the
    test starts: `Judge.pytest_pyfunc_call`)."""
    names = set()
    for cell in nb.cells:
        if is_judged(cell):
            names |= test_arguments(cell.source)

    def later(name):
        return pytest.fixture(name=name)(lambda: None)

    attributes = {name: later(name) for name in sorted(names - {"rng", "request"})}
    attributes["rng"] = pytest.fixture(name="rng")(lambda request: judge.rng(request.node.name))
    plugin = types.ModuleType("gradekit_student_fixtures")
    vars(plugin).update(attributes)
    return plugin


def submission_digest(nb: NotebookNode, folder: Path | None = None, name: str = "") -> str:
    """A digest of the submission: this notebook and the other notebooks handed in with it
    in `folder` (every cell's type and source, outputs aside). A regrade draws the same
    inputs, a resubmission that changes any cell of any notebook new ones (so inputs seen in
    feedback are no use later)."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        digest.update(f"{cell.cell_type}\0{cell.source}\1".encode())
    for path in sorted(folder.glob("*.ipynb")) if folder else []:
        if path.name == name:
            continue
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            text = [f"{c['cell_type']}\0{''.join(c['source'])}" for c in cells]
        except (OSError, ValueError, KeyError, TypeError):  # graded as missing elsewhere
            text = ["unreadable"]
        digest.update(f"\2{path.name}\2{chr(1).join(text)}".encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=256)
def test_arguments(source: str) -> frozenset[str]:
    """The argument names of the test functions a cell defines (read once per process: every
    student has the same checks)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    return frozenset(
        arg.arg
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        for arg in node.args.args
    )


@functools.lru_cache(maxsize=256)
def free_names(source: str) -> frozenset[str]:
    """Global names the cell reads and never binds: the notebook's names it uses (read once
    per process)."""
    module = symtable.symtable(source, "<grade cell>", "exec")
    bound = {
        sym.get_name() for sym in module.get_symbols() if sym.is_assigned() or sym.is_imported()
    }
    read, tables = set(), [module]
    while tables:
        table = tables.pop()
        tables += table.get_children()
        for sym in table.get_symbols():
            if sym.is_referenced() and (table is module or sym.is_global()):
                read.add(sym.get_name())
    return frozenset(read - bound)


DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
EMPTY_MODULE = compile("", "<empty>", "exec").co_code


@functools.lru_cache(maxsize=256)
def compile_check(source: str, grade_id: str) -> tuple:
    """The cell's code, its asserts rewritten by pytest to explain their failures, in two
    parts: its imports and definitions, then its other statements (the visible check).
    Compiled once per process (every student has the same checks)."""
    tree = ast.parse(source)
    rewrite_asserts(tree, source.encode(), f"<grade cell {grade_id}>")
    parts = (
        [node for node in tree.body if isinstance(node, DEFINITIONS)],
        [node for node in tree.body if not isinstance(node, DEFINITIONS)],
    )
    name = f"<grade cell {grade_id}>"
    return tuple(compile(ast.Module(body=part, type_ignores=[]), name, "exec") for part in parts)


_MODULES: dict = {}


def course_builtins(folder: Path) -> dict:
    """Python's builtins, with `import` taking course modules from this source folder."""
    table = dict(vars(builtins))

    def importer(name, globals=None, locals=None, fromlist=(), level=0):
        path = folder / f"{name}.py"
        if level == 0 and "." not in name and path.is_file():
            return course_module(path)
        return builtins.__import__(name, globals, locals, fromlist, level)

    table["__import__"] = importer
    return table


def course_module(path: Path) -> types.ModuleType:
    """A module of the course's source folder (checks.py, reference.py), loaded once; its
    own imports take course modules from the same folder."""
    key = (str(path.absolute()), path.stat().st_mtime_ns)
    if key not in _MODULES:
        spec = importlib.util.spec_from_file_location(f"_gradekit_course_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        module.__builtins__ = course_builtins(path.parent)
        spec.loader.exec_module(module)
        _MODULES[key] = module
    return _MODULES[key]


def failure_message(error: BaseException) -> str:
    """What the student reads for a failed test: the check's message, never the values
    pytest's introspection would add from inside the check."""
    if isinstance(error, StudentError):
        return error.explain()
    if isinstance(error, KernelGone):
        return f"Your code stopped the kernel during this check ({error}); grading went on."
    if isinstance(error, AssertionError):
        return assertion_message(str(error))
    if isinstance(error, NameError):
        return f"{error}: this check needs it from your notebook"
    return f"{type(error).__name__}: {error}"


COMPARISONS = (" == ", " != ", " < ", " > ", " <= ", " >= ")


def assertion_message(text: str) -> str:
    """A failed assert's message, its check's words first: "what: how far off". pytest's
    introspection after the `assert` line (values inside the check) is left out."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("+", "At index", "Full diff", "Use -v")):
            lines = lines[:index]
            break
    words = [line for line in lines if not line.startswith("assert ")]
    asserted = [line.removeprefix("assert ") for line in lines if line.startswith("assert ")]
    detail = asserted[0] if asserted else ""
    if (
        detail in ("False", "None", "", "np.False_", "np.True_")
        or detail.startswith("not ")
        or any(op in detail for op in COMPARISONS)
    ):
        return "\n".join(words).strip() or (f"assert {detail}" if detail else "a check failed")
    return f"{' '.join(words).strip()}: {detail}" if words else detail
