"""Grade cells judged outside the student's kernel, under pytest.

At grading time `ResilientExecute` runs the student's cells in the sandboxed kernel and hands
every autograder test cell to a `Judge`, which runs the cell's code here, in the grading
process, and never in the kernel:

- the cell's top-level code (a visible check) runs as one test; the names it uses that the
  notebook defines (`s`, `ShallowNeuralNet`, `inputs`) are the student's objects, looked up in
  the kernel as the cell is reached: data arrives by value, functions and objects as
  `bridge.Remote` proxies whose every call crosses to the kernel;
- each `test_*` function the cell defines (the hidden checks) runs as a pytest test, with
  pytest's assertion rewriting; its arguments are fixtures: `rng` (a generator seeded from the
  course secret, the student, the notebook and the test), `kernel` (the student's kernel:
  `kernel.seed(n)`, `kernel.printed(f, ...)`), and any other name the notebook defines;
- `import checks`, `import reference` and any other module beside the source notebooks
  import the course's own copy from `source/<assignment>/`, never the student's.

The cell passes when all its tests pass; otherwise it gets an error output with their
messages, which nbgrader scores as zero. One pytest session serves a whole notebook.
"""

import ast
import builtins
import functools
import hashlib
import importlib.util
import os
import symtable
import tempfile
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
    helper's points. A lent function first runs the student's own (whatever that keeps on
    `self` stays), then gives the trusted result."""

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
        self.parts = (
            str(info.get("student", "")),
            str(info.get("notebook", "")),
            answers_digest(nb),
        )
        self.secret = course_secret(coursedir.course_id)
        self.fixtures = student_fixtures(self, nb)
        self.bridge = None
        self.found: dict = {}  # the notebook's objects the current cell asked for
        self.session = None
        self.failures: dict[str, str] = {}
        self.gone: KernelGone | None = None
        self.error: BaseException | None = None
        self.grade_id = ""
        self.deadly: set[tuple[str, str]] = set()  # isolated tests whose own run killed the kernel
        self.again = False

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

    # -- one grade cell ---------------------------------------------------------------

    def judge(self, cell: NotebookNode, bridge) -> None:
        """Run the cell's checks against the student's kernel and record the outcome."""
        self.bridge, self.failures, self.gone, self.again = bridge, {}, None, False
        self.found = {}
        grade_id = self.grade_id = cell.metadata["nbgrader"].get("grade_id", "cell")
        cell.outputs, cell.execution_count = [], None
        parent = CellNode.from_parent(self.session, name=grade_id)
        namespace = {
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
            if statements.co_code == EMPTY_MODULE:  # hidden tests only: fetch what they need
                try:
                    self.run_cell(statements, cell.source, namespace)
                except (KernelGone, StudentError) as error:
                    self.gone = error if isinstance(error, KernelGone) else None
                    self.failures["cell"] = failure_message(error)
            else:  # a visible check: a test of its own
                top = pytest.Function.from_parent(
                    parent,
                    name="cell",
                    callobj=lambda: self.run_cell(statements, cell.source, namespace),
                )
                self.run_item(top)
            if not self.gone:
                for name, test in list(namespace.items()):
                    if name.startswith("test_") and callable(test) and not self.gone:
                        self.run_item(pytest.Function.from_parent(parent, name=name, callobj=test))
        if self.gone and self.again:
            raise JudgeAgain(self.gone)
        if self.failures:
            message = "\n\n".join(self.failures.values())
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

    def run_cell(self, code, source: str, namespace: dict) -> None:
        """Look up, in one request, what the cell's code and tests need from the notebook,
        then run the cell's visible part."""
        wanted = free_names(source) - set(namespace) - set(vars(builtins))
        asked = test_arguments(source) - set(KIT_FIXTURES)
        self.found = self.bridge.lookup(wanted | asked) if wanted | asked else {}
        namespace.update({name: value for name, value in self.found.items() if name in wanted})
        exec(code, namespace)

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
        test, key = pyfuncitem.obj, (self.grade_id, pyfuncitem.name)
        kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        lends = getattr(test, "lends", None)
        if not lends:
            test(**kwargs)
            self.bridge.flush()
            return True
        # One run, helpers lent from the start: a second, conditional run would tell the
        # student's code that the first one failed (and give it a second guess).
        try:
            with self.bridge.lending(lends, pure=key in self.deadly):
                test(**kwargs)
                self.bridge.flush()
        except KernelGone:
            if key not in self.deadly:  # the student's own helper killed it: lend pure ones
                self.deadly.add(key)
                self.again = True
            raise
        return True

    # -- what the checks get ------------------------------------------------------------

    def rng(self, test: str) -> np.random.Generator:
        """The grading-time random generator of one test."""
        return np.random.default_rng(seed_for(self.secret, *self.parts, test))

    def student_object(self, name: str):
        found = self.found if name in self.found else self.bridge.lookup([name])
        if name not in found:
            raise StudentError("NameError", f"your notebook defines no {name}")
        return found[name]

    def builtins(self) -> dict:
        """Python's builtins, with `import` taking course modules from the source folder."""
        return course_builtins(self.source)


class JudgeAgain(KernelGone):
    """The student's own helper, run by a lent one, killed the kernel: judge the cell again
    in a new kernel, with lent helpers that do not run the student's."""


class CellNode(pytest.Collector):
    """A grade cell, the parent of its tests."""

    def collect(self):
        return []


class Kernel:
    """What a check may ask of the student's kernel besides calling the student's code."""

    def __init__(self, bridge):
        self._bridge = bridge

    def seed(self, seed: int) -> None:
        """np.random.seed(seed) where the student's code runs."""
        self._bridge.seed(seed)

    def printed(self, function: Remote, *args, **kwargs) -> tuple:
        """Call the student's function: (its result, what it printed)."""
        return self._bridge.printed(function, *args, **kwargs)


def student_fixtures(judge: Judge, nb: NotebookNode):
    """A pytest plugin with the kit's fixtures and one fixture per name that a hidden test
    asks for: the student's object of that name, looked up when the test starts."""
    names = set()
    for cell in nb.cells:
        if is_judged(cell):
            names |= test_arguments(cell.source)

    def lookup(name):
        def fixture():
            return judge.student_object(name)

        return pytest.fixture(name=name)(fixture)

    attributes = {name: lookup(name) for name in sorted(names - set(KIT_FIXTURES))}
    attributes["rng"] = pytest.fixture(name="rng")(lambda request: judge.rng(request.node.name))
    attributes["kernel"] = pytest.fixture(name="kernel")(lambda: Kernel(judge.bridge))
    plugin = types.ModuleType("gradekit_student_fixtures")
    vars(plugin).update(attributes)
    return plugin


def answers_digest(nb: NotebookNode) -> str:
    """A digest of the student's answers: a regrade of the same answers draws the same
    inputs, a resubmission new ones (so inputs seen in feedback are no use later)."""
    answers = [c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    return hashlib.sha256("\0".join(answers).encode()).hexdigest()


def test_arguments(source: str) -> set[str]:
    """The argument names of the test functions a cell defines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {
        arg.arg
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        for arg in node.args.args
    }


def free_names(source: str) -> set[str]:
    """Global names the cell reads and never binds: the notebook's names it uses."""
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
    return read - bound


DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
EMPTY_MODULE = compile("", "<empty>", "exec").co_code


@functools.lru_cache(maxsize=256)
def compile_check(source: str, grade_id: str) -> tuple:
    """The cell's code, its asserts rewritten by pytest to explain their failures, in two
    parts: its imports and definitions, then its other statements (the visible check). Every
    test of the cell then runs whatever the visible check finds: which requests reach the
    kernel never depends on a verdict. Compiled once per process (every student has the same
    checks)."""
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
        detail in ("False", "None", "")
        or detail.startswith("not ")
        or any(op in detail for op in COMPARISONS)
    ):
        return "\n".join(words).strip() or (f"assert {detail}" if detail else "a check failed")
    return f"{' '.join(words).strip()}: {detail}" if words else detail
