"""The `gradekit` command: the demo pipeline, and LMS exports through nbgrader."""

import argparse
import time
from pathlib import Path

from . import autograde, course, demo
from .exporters import EXPORTERS


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `gradekit` command."""
    parser = argparse.ArgumentParser(prog="gradekit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser(
        "demo", help="run the whole instructor pipeline on the bundled demo class"
    )
    run_demo.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    grade = commands.add_parser(
        "autograde", help="check and autograde every submission in parallel (nbgrader's grades)"
    )
    grade.add_argument("assignment")
    grade.add_argument("--student", action="append", help="only this student (repeatable)")
    grade.add_argument("--jobs", type=int, help="worker processes (default: the number of cores)")
    grade.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    export = commands.add_parser(
        "export",
        help="export the gradebook for an LMS (runs nbgrader export with the kit's exporter)",
        epilog="Other options (e.g. --LmsExport.roster=roster.csv) are passed to nbgrader.",
    )
    export.add_argument("target", choices=sorted(EXPORTERS))
    export.add_argument("--to", help="output file (default: <target>_grades.csv)")
    export.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    args, extra = parser.parse_known_args(argv)
    if args.command == "demo":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        start = time.monotonic()
        table = demo.run_demo(args.course)
        print()
        print(table)
        print(f"\nDone in {time.monotonic() - start:.0f} s.")
    elif args.command == "autograde":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        start = time.monotonic()
        outcomes = autograde.autograde_class(
            args.course, args.assignment, args.student, args.jobs, autograde.print_progress
        )
        print(autograde.summary(outcomes, time.monotonic() - start))
        if any(o.error for o in outcomes):
            raise SystemExit(1)
    else:
        exporter = EXPORTERS[args.target]
        to = args.to or exporter.filename
        course.nbgrader(args.course, *export_args(args.target, to), *extra)
        print(f"Wrote {to}")


def export_args(target: str, to: str) -> list[str]:
    """The nbgrader command line that runs one of the kit's exporters."""
    return ["export", f"--exporter=gradekit.exporters.{EXPORTERS[target].__name__}", "--to", to]
