"""Every trick of the mutation suite against its honest twin, and what the tricks aimed at
the grader itself cost it.

    python benchmarks/tricks.py --jobs 2

One class holds each trick (`democlass.variants.TRICKS`: one way each to game the checks)
and its honest twin (the same wrong answers, no trick), graded by `gradekit autograde`; a
table gives the points of each and its twin's (a trick must never score more; the suite's
tests assert it). Then each trick aimed at the grader (flooding it, holding a check,
printing or showing huge outputs, padding its answers) is graded alone by plain `nbgrader
autograde` in one process: that process's wall time and peak resident memory.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograde_speed import new_course

from gradekit import autograde, course

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the course folder: its demo class
import democlass  # noqa: E402

AT_THE_GRADER = [
    "floods-the-grader",
    "holds-its-checks",
    "asks-forever",
    "prints-one-huge-line",
    "shows-huge-values",
    "pads-its-answers",
]
# plain nbgrader autograde in this process, then its wall time and its own peak memory
ALONE = (
    "import resource, time; from nbgrader.apps.nbgraderapp import NbGraderApp as App\n"
    "began = time.monotonic()\ntry: App.launch_instance(argv=['autograde', '{assignment}'])\n"
    "except SystemExit: pass\n"
    "print('ALONE', time.monotonic() - began, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def points(folder: Path) -> dict[str, float]:
    """Each student's autograded points."""
    return {
        student: sum(cells.values())
        for student, cells in course.cell_scores(folder, democlass.ASSIGNMENT).items()
    }


def tricks_and_twins(scratch: Path, jobs: int) -> list[str]:
    """The table of each trick's points beside its twin's."""
    tricks = democlass.variants.TRICKS
    folder = new_course(scratch / "tricks")
    names = {v.name for v in tricks} | {v.twin for v in tricks}
    democlass.hand_in(folder, {name: name for name in sorted(names)})
    autograde.autograde_class(folder, democlass.ASSIGNMENT, jobs=jobs)
    scores = points(folder)
    lines = ["| trick | its points | honest twin | twin's points | no more than its twin |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for trick in sorted(tricks, key=lambda v: v.name):
        mine, theirs = scores.get(trick.name, 0.0), scores.get(trick.twin, 0.0)
        yes = "yes" if mine <= theirs else "NO"
        lines.append(f"| {trick.name} | {mine:g} | {trick.twin} | {theirs:g} | {yes} |")
    return lines


def at_the_grader(scratch: Path) -> list[str]:
    """The table of each grader-aimed trick graded alone: wall time and peak memory."""
    lines = ["| trick | points | grading process: wall time | peak resident memory |"]
    lines.append("| --- | --- | --- | --- |")
    for name in AT_THE_GRADER:
        folder = new_course(scratch / name)
        democlass.hand_in(folder, {name: name})
        result = subprocess.run(
            [sys.executable, "-c", ALONE.format(assignment=democlass.ASSIGNMENT)],
            cwd=folder,
            env=course.environment(),
            capture_output=True,
            text=True,
        )
        found = [line.split() for line in result.stdout.splitlines() if line.startswith("ALONE")]
        if not found:
            sys.exit(f"{name}: grading failed\n{result.stderr[-3000:]}")
        _, seconds, peak_kib = found[0]
        score = points(folder).get(name, 0.0)
        lines.append(
            f"| {name} | {score:g} | {float(seconds):.1f} s | {int(peak_kib) / 1024:.0f} MiB |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        print("\n".join(tricks_and_twins(Path(scratch), args.jobs)))
        print()
        print("\n".join(at_the_grader(Path(scratch))))
    print(f"\n({time.monotonic() - began:.0f} s in all)")


if __name__ == "__main__":
    main()
