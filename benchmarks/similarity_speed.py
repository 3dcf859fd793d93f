"""How long `gradekit similarity` takes on a class, and the memory it needs.

    python benchmarks/similarity_speed.py --sizes 100 1000

For each size, a synthetic class (democlass.copies: independent students, and one student in
ten copying the one before, hidden a different way each time) is handed in, then
`gradekit similarity` is timed from start to its pages written, in its own process. Prints
the wall time, the peak memory of that process, how many pairs it listed and how many of
those are a copy with the student it copied.
"""

import argparse
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gradekit import submissions

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the course folder: its demo class
from democlass import ASSIGNMENT, copies  # noqa: E402


def make_class(folder: Path, size: int) -> int:
    """A course folder with `size` submissions; returns how many are copies."""
    for part in ("source", "release"):
        shutil.copytree(REPO / part, folder / part)
    model = submissions.model_answers(folder / "source" / ASSIGNMENT)
    release = folder / "release" / ASSIGNMENT
    answers = {}
    for i in range(size):
        if i % 10 == 9:
            hidings = copies.HIDINGS[: 1 + (i // 10) % len(copies.HIDINGS)]
            answers[f"s{i:04d}"] = copies.copied(answers[f"s{i - 1:04d}"], hidings)
        else:
            answers[f"s{i:04d}"] = copies.independent(model, i)
        submissions.write_submission(
            release, folder / "submitted" / f"s{i:04d}" / ASSIGNMENT, answers[f"s{i:04d}"]
        )
    return size // 10


LISTED = re.compile(r"<td><a [^>]*>(s\d+)</a></td><td>(s\d+)</td>")


def copy_pair(a: str, b: str) -> bool:
    """True for a copy and the student it copied (s..9 and s..8)."""
    first, second = sorted((int(a[1:]), int(b[1:])))
    return second % 10 == 9 and first == second - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    gradekit = str(Path(sys.executable).with_name("gradekit"))
    print(
        f"{'students':>9} {'copies':>7} {'found':>7} {'seconds':>8} {'pairs listed':>13} "
        f"{'peak MiB':>9}"
    )
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / "course"
            copied = make_class(folder, size)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            start = time.perf_counter()
            run = subprocess.run(
                [gradekit, "similarity", ASSIGNMENT, "--course", str(folder)],
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = time.perf_counter() - start
            peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
            pairs = int(run.stdout.split()[0])
            index = folder / "reports" / "similarity" / ASSIGNMENT / "index.html"
            found = sum(copy_pair(*pair) for pair in LISTED.findall(index.read_text()))
            print(f"{size:>9} {copied:>7} {found:>7} {seconds:>8.1f} {pairs:>13} {peak:>9.0f}")


if __name__ == "__main__":
    main()
