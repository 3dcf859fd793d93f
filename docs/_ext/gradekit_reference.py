"""The reference pages, generated from the code: the `gradekit` command's argparse parser
and every configurable option the kit defines (traitlets), so they cannot drift."""

import argparse
import importlib
import inspect
import os
import pkgutil

from docutils import nodes
from sphinx.util.docutils import SphinxDirective
from traitlets import HasTraits

import gradekit
from gradekit.cli import build_parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[str, argparse.ArgumentParser]]:
    """The parser's subcommands by name: their one-line help and their own parser."""
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    return {name: (helps[name], sub) for name, sub in action.choices.items()}


def section(document, title: str, *body: nodes.Node) -> nodes.section:
    """A titled section with an anchor of its own, so the page's contents list it."""
    new = nodes.section("", nodes.title(text=title), *body, ids=[nodes.make_id(title)])
    new["names"].append(nodes.fully_normalize_name(title))
    document.note_implicit_target(new)
    return new


def cli_sections(document) -> list[nodes.Node]:
    """One section per `gradekit` subcommand: its purpose and its `--help`."""
    os.environ["COLUMNS"] = "90"  # argparse wraps to the terminal: the same width every build
    return [
        section(
            document,
            f"gradekit {name}",
            nodes.paragraph(text=purpose.capitalize() + "."),
            nodes.literal_block(text=sub.format_help(), language="text"),
        )
        for name, (purpose, sub) in subcommands(build_parser()).items()
    ]


def configurables() -> list[type[HasTraits]]:
    """Every class of the kit that defines options of its own, by module then name."""
    found = []
    for info in sorted(pkgutil.iter_modules(gradekit.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"gradekit.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                cls.__module__ == module.__name__
                and issubclass(cls, HasTraits)
                and cls.class_own_traits(config=True)
            ):
                found.append(cls)
    return found


def config_sections(document) -> list[nodes.Node]:
    """One section per configurable class: each option, its type, default and help."""
    found = []
    for cls in configurables():
        options = nodes.definition_list()
        for name, trait in sorted(cls.class_own_traits(config=True).items()):
            term = nodes.term(
                "",
                "",
                nodes.literal(text=f"c.{cls.__name__}.{name}"),
                nodes.Text(f" ({type(trait).__name__}, default "),
                nodes.literal(text=trait.default_value_repr()),
                nodes.Text(")"),
            )
            text = " ".join((trait.help or "No description.").split())
            options += nodes.definition_list_item(
                "", term, nodes.definition("", nodes.paragraph(text=text))
            )
        doc = (inspect.getdoc(cls) or "").split("\n\n")[0]
        title = f"{cls.__name__} ({cls.__module__})"
        found.append(section(document, title, nodes.paragraph(text=doc), options))
    return found


class CliReference(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        return cli_sections(self.state.document)


class ConfigReference(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        return config_sections(self.state.document)


def setup(app):
    app.add_directive("gradekit-cli", CliReference)
    app.add_directive("gradekit-config", ConfigReference)
    return {"parallel_read_safe": True}
