"""The `gradekit` command: the demo pipeline, and LMS exports through nbgrader."""

import argparse
import sys
import time
from pathlib import Path

from nbgrader.api import MissingEntry

from . import autograde, course, demo, kernel, late, similarity, watch
from .exporters import EXPORTERS
from .report import write_report


def build_parser() -> argparse.ArgumentParser:
    """The `gradekit` command's arguments (also the documentation's CLI reference)."""
    parser = argparse.ArgumentParser(prog="gradekit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser(
        "demo", help="run the whole instructor pipeline on the bundled demo class"
    )
    run_demo.add_argument(
        "--course",
        type=Path,
        default=Path.cwd(),
        help="course folder whose source/ and config to use",
    )
    run_demo.add_argument(
        "--into",
        type=Path,
        help="folder of the demo class, made anew (default: <course>/.gradekit/demo); the "
        "course folder itself is never touched",
    )
    grade = commands.add_parser(
        "autograde", help="check and autograde every submission in parallel (nbgrader's grades)"
    )
    grade.add_argument("assignment")
    grade.add_argument(
        "--student", action="append", help="only this student, always regraded (repeatable)"
    )
    grade.add_argument("--jobs", type=int, help="worker processes (default: the number of cores)")
    grade.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    grade.add_argument(
        "--force",
        action="store_true",
        help="regrade every submission (default: only those not yet graded, or changed since)",
    )
    grade.add_argument(
        "--shard",
        type=parse_shard,
        metavar="K/N",
        help="grade only shard K of N (students by a hash of their id), e.g. one per machine",
    )
    grade.add_argument(
        "--scheduler",
        help="grade on a Dask cluster: its scheduler's address or scheduler file (default: "
        "c.DaskCluster.scheduler in nbgrader_config.py, else this machine)",
    )
    grade.add_argument(
        "--db-url",
        help="gradebook URL, e.g. postgresql://user@host/db (default: c.CourseDirectory.db_url "
        "in nbgrader_config.py, else sqlite gradebook.db)",
    )
    export = commands.add_parser(
        "export",
        help="export the gradebook for an LMS (runs nbgrader export with the kit's exporter)",
        epilog="Other options (e.g. --LmsExport.roster=roster.csv) are passed to nbgrader.",
    )
    export.add_argument("target", choices=sorted(EXPORTERS))
    export.add_argument("--to", help="output file (default: <target>_grades.csv)")
    export.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    report = commands.add_parser(
        "report", help="write the class report (HTML, figures inside) for the teaching team"
    )
    report.add_argument("assignment")
    report.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    report.add_argument("--to", type=Path, help="output file (default: reports/<assignment>.html)")
    alike = commands.add_parser(
        "similarity",
        help="list the pairs of students whose code is alike, each on a side-by-side page "
        "(evidence for a person: no grade changes)",
    )
    alike.add_argument("assignment")
    alike.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    alike.add_argument(
        "--reference",
        type=Path,
        action="append",
        default=[],
        help="a folder of past submissions (e.g. last term's submitted/) to compare every "
        "student with, as well as the instructor's solution (repeatable)",
    )
    alike.add_argument(
        "--threshold",
        type=float,
        default=similarity.THRESHOLD,
        help=f"list pairs from this score up, 0 to 1 (default: {similarity.THRESHOLD})",
    )
    alike.add_argument(
        "--to",
        type=Path,
        help="output folder (default: reports/similarity/<assignment>)",
    )
    extend = commands.add_parser(
        "extend",
        help="give a student a due date of their own for an assignment, with a reason "
        "(late penalties count from it); without a student, list the extensions",
    )
    extend.add_argument("assignment")
    extend.add_argument("student", nargs="?")
    extend.add_argument("--until", help='the new due date, e.g. "2026-12-06 23:59 +01:00"')
    extend.add_argument("--reason", default="", help="why (kept beside the date)")
    extend.add_argument("--remove", action="store_true", help="withdraw the extension")
    extend.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    on_submit = commands.add_parser(
        "watch",
        help="grade each new submission in the exchange and release its feedback (grading "
        "on submit; the grades of record stay with autograde)",
    )
    on_submit.add_argument("assignment")
    on_submit.add_argument(
        "--once", action="store_true", help="grade what is waiting, then stop (tests, cron)"
    )
    on_submit.add_argument("--jobs", type=int, help="worker processes (default: the cores)")
    on_submit.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `gradekit` command."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "demo":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        start = time.monotonic()
        into = args.into or args.course / ".gradekit" / "demo"
        table = demo.run_demo(args.course, into)
        print()
        print(table)
        print(f"\nDone in {time.monotonic() - start:.0f} s. The demo class, its gradebook,")
        print(f"feedback and exports are in {into.resolve()}; the course folder was not touched.")
    elif args.command == "autograde":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        warning = kernel.sandbox_warning(course.load_config(args.course))
        if warning:
            print(warning, file=sys.stderr)
        start = time.monotonic()
        outcomes = autograde.autograde_class(
            args.course,
            args.assignment,
            args.student,
            args.jobs,
            autograde.print_progress,
            force=args.force,
            shard=args.shard,
            db_url=args.db_url,
            scheduler=args.scheduler or configured_scheduler(args.course),
        )
        if args.shard:
            print(f"Shard {args.shard[0]}/{args.shard[1]}: {len(outcomes)} students.")
        print(autograde.summary(outcomes, time.monotonic() - start))
        if any(o.error for o in outcomes):
            raise SystemExit(1)
    elif args.command == "watch":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        try:
            watch.watch(args.course, args.assignment, once=args.once, jobs=args.jobs)
        except watch.NotReady as error:
            raise SystemExit(f"gradekit watch: {error}") from None
    elif args.command == "extend":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        print(extend(args))
    elif args.command == "report":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        try:
            path = write_report(args.course, args.assignment, args.to)
        except MissingEntry:
            message = f"{args.course}: no assignment {args.assignment!r} in the gradebook"
            raise SystemExit(message) from None
        print(f"Wrote {path}")
    elif args.command == "similarity":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        try:
            found = similarity.compare(args.course, args.assignment, args.reference, args.threshold)
        except similarity.NoRelease as error:
            raise SystemExit(str(error)) from None
        for problem in found.problems:
            print(f"Not compared: {problem}", file=sys.stderr)
        to = args.to or similarity.default_folder(args.course, args.assignment)
        index = similarity.write_pages(found, to)
        print(f"{len(found.pairs)} pairs score {args.threshold:g} or more. Wrote {index}")
    else:
        exporter = EXPORTERS[args.target]
        to = args.to or exporter.filename
        course.nbgrader(args.course, *export_args(args.target, to), *extra)
        print(f"Wrote {to}")


def configured_scheduler(course_dir: Path) -> str:
    """The Dask scheduler nbgrader_config.py names (c.DaskCluster.scheduler), or ""."""
    from .cluster import DaskCluster

    return DaskCluster(config=course.load_config(course_dir)).scheduler


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` as (K, N), 1 <= K <= N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N, e.g. 1/3") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"{text!r}: K must be between 1 and N")
    return k, n


def export_args(target: str, to: str) -> list[str]:
    """The nbgrader command line that runs one of the kit's exporters."""
    return ["export", f"--exporter=gradekit.exporters.{EXPORTERS[target].__name__}", "--to", to]


def extend(args: argparse.Namespace) -> str:
    """Grant, withdraw or list extensions; what now holds."""
    path = args.course / late.EXTENSIONS
    try:
        if args.student:
            if bool(args.until) == args.remove:
                raise SystemExit("gradekit extend: give either --until DATE or --remove")
            if args.student not in course.student_ids(args.course):
                raise SystemExit(f"{args.course}: no student {args.student!r} in the gradebook")
            until = None if args.remove else args.until
            late.grant_extension(args.course, args.assignment, args.student, until, args.reason)
        extensions = late.extensions_of(args.course, args.assignment)
    except ValueError as error:
        raise SystemExit(f"{path}: {error}") from None
    lines = [
        f"{student}: due {row['due']:%Y-%m-%d %H:%M} UTC ({row['reason'] or 'no reason given'})"
        for student, row in sorted(extensions.items())
    ]
    lines = lines or [f"No extensions for {args.assignment}."]
    if args.student:
        lines.append(f"Saved in {path}; `gradekit autograde {args.assignment}` regrades them.")
    return "\n".join(lines)
