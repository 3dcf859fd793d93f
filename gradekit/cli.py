"""The `gradekit` command."""

import argparse
import time
from pathlib import Path

from . import demo


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `gradekit` command."""
    parser = argparse.ArgumentParser(prog="gradekit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser(
        "demo", help="run the whole instructor pipeline on the bundled demo class"
    )
    run_demo.add_argument(
        "--course", type=Path, default=Path.cwd(), help="course folder (default: here)"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        start = time.monotonic()
        table = demo.run_demo(args.course)
        print()
        print(table)
        print(f"\nDone in {time.monotonic() - start:.0f} s.")
