"""The documentation cannot drift: the site builds with warnings as errors (a broken link
between pages, a missing anchor or included file is a warning), every `gradekit` and
`nbgrader` command it or the README shows is one their parsers accept, and its shell and
Python examples run or compile. (The files it includes, docs/examples/ and
nbgrader_config.py, are the ones other tests grade with.)"""

import re
import shlex
import subprocess
import sys

import pytest
from conftest import REPO, html_text
from nbgrader.apps import NbGraderApp

from gradekit.cli import build_parser

PAGES = sorted((REPO / "docs").rglob("*.md"))
READ = [REPO / "README.md", REPO / "CHANGELOG.md", *PAGES]
FENCE = re.compile(r"^( *)```(\w+)\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)


def fences(language: str) -> list[tuple[str, str]]:
    """Every fenced block of one language in the README and the docs: (file, code)."""
    found = []
    for path in READ:
        for indent, lang, code in FENCE.findall(path.read_text(encoding="utf-8")):
            if lang == language:
                code = "\n".join(line.removeprefix(indent) for line in code.splitlines())
                found.append((path.relative_to(REPO).as_posix(), code))
    return found


def reference_pages():
    """The documentation's generator of its reference pages (docs/_ext)."""
    if str(REPO / "docs" / "_ext") not in sys.path:
        sys.path.insert(0, str(REPO / "docs" / "_ext"))
    import gradekit_reference

    return gradekit_reference


def commands(tool: str) -> list[tuple[str, list[str]]]:
    """Every `tool ...` command shown, in inline code or a shell block: (file, arguments)."""
    shown = []
    for path in READ:
        text = path.read_text(encoding="utf-8")
        inline = re.findall(rf"`(?:\S*/)?{tool} ([^`\n]+)`", text)
        blocks = [
            line.split("#")[0]
            for _, lang, code in FENCE.findall(text)
            if lang == "bash"
            for line in code.splitlines()
        ]
        lines = inline + [
            part.split(f"{tool} ", 1)[1]
            for line in blocks
            for part in line.split("&&")
            if re.match(rf"\s*(\S*/)?{tool} ", part)
        ]
        where = path.relative_to(REPO).as_posix()
        # a shell variable stands for a value: $SLURM_ARRAY_TASK_ID/8 is a shard, 1/8
        shown += [(where, shlex.split(re.sub(r"\$[A-Z_]+", "1", line))) for line in lines]
    return shown


def test_the_site_builds_without_a_warning(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-n",
            "-q",
            "-b",
            "html",
            str(REPO / "docs"),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    built = {p.relative_to(tmp_path).with_suffix("") for p in tmp_path.rglob("*.html")}
    for page in PAGES:
        assert page.relative_to(REPO / "docs").with_suffix("") in built, page
    cli = html_text((tmp_path / "reference" / "cli.html").read_text(encoding="utf-8"))
    config = html_text((tmp_path / "reference" / "config.html").read_text(encoding="utf-8"))
    assert all(f"gradekit {name}" in cli for name in ("demo", "autograde", "similarity"))
    assert "--scheduler" in cli and "c.GradingKernelManager.memory" in config
    assert "c.ResilientExecute.test_seconds" in config and "c.LmsExport.roster" in config


def test_every_gradekit_command_shown_is_accepted():
    shown = commands("gradekit")
    assert len(shown) > 15
    parser = build_parser()
    names = reference_pages().subcommands(parser)
    for where, args in shown:
        args = [a.strip("[]") for a in args if a != "..."]  # [--option value]: optional
        if len(args) == 1 and args[0] in names:
            continue  # the command named, not run: `gradekit autograde` grades in parallel
        try:  # `gradekit export` passes options it does not know on to nbgrader
            parser.parse_known_args(args) if args[0] == "export" else parser.parse_args(args)
        except SystemExit as done:  # --help exits with 0
            if done.code != 0:
                pytest.fail(f"{where}: `gradekit {shlex.join(args)}` is not a valid command")


def test_every_nbgrader_command_shown_exists():
    shown = commands("nbgrader")
    assert len(shown) > 15
    for where, args in shown:
        words = [a for a in args if not a.startswith("-")]
        sub = words[0]
        assert sub in NbGraderApp.subcommands, f"{where}: no `nbgrader {sub}`"
        if sub == "db":  # nbgrader db student import, nbgrader db assignment add
            assert words[1] in ("student", "assignment") and words[2] in ("add", "import", "list")


def test_the_python_examples_compile():
    examples = fences("python")
    assert examples
    for where, code in examples:
        compile(code, where, "exec")


def test_the_sandbox_check_shown_says_the_sandbox_is_active():
    (check,) = [code for _, code in fences("bash") if "sandbox_problem" in code]
    command = check.replace(".venv/bin/python", shlex.quote(sys.executable))
    result = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip() == "sandbox active", result.stdout + result.stderr


def test_the_readme_is_a_front_page():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme) <= 10_000
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)", readme))
    assert linked == {
        p.relative_to(REPO).as_posix() for p in PAGES if p.stem not in ("index", "changelog")
    } | {"docs/instructor/index.md"}


def every_configurable() -> dict[str, set[str]]:
    """The configurable options of every class nbgrader, nbconvert and the kit define."""
    import nbconvert  # noqa: F401
    import nbgrader.apps  # noqa: F401
    from traitlets import HasTraits

    reference_pages().configurables()  # imports every module of the kit
    options, todo = {}, [HasTraits]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        options.setdefault(cls.__name__, set()).update(cls.class_trait_names(config=True))
    return options


# c.Class.option, or c.Parent.Class.option (the option for Class inside Parent only)
CONFIG_LINE = r"\bc\.(?:[A-Z]\w+\.)?([A-Z]\w+)\.(\w+)"


def test_every_option_shown_exists():
    options = every_configurable()
    shown = set()
    for path in [*READ, REPO / "nbgrader_config.py"]:
        for cls, name in re.findall(CONFIG_LINE, path.read_text(encoding="utf-8")):
            shown.add((cls, name))
            where = path.relative_to(REPO)
            assert name in options.get(cls, ()), f"{where}: no option c.{cls}.{name}"
    assert len(shown) > 30


def test_every_due_date_shown_means_what_it_says():
    """nbgrader reads each due date the pages show as the kit does (offset or zone kept)."""
    from nbgrader.utils import parse_utc

    from gradekit.late import parse_due

    shown = [
        found
        for path in [*READ, REPO / "nbgrader_config.py"]
        for found in re.findall(r'--(duedate|until) "([^"\n]+)"', path.read_text(encoding="utf-8"))
    ]
    assert len(shown) >= 3
    for option, value in shown:
        assert parse_due(value).tzinfo is None
        if option == "until":
            continue  # `gradekit extend` reads an offset after a space; nbgrader would not
        assert parse_utc(value) == parse_due(value), value
