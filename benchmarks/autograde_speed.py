"""How long grading a class takes: plain nbgrader, the kit's parallel autograde, bare execution.

    python benchmarks/autograde_speed.py --sizes 40 200 --jobs 2

For each class size, one synthetic class (the correct, buggy and hostile variants of
democlass.variants, cycled; not the intruders) is
graded four ways, each in its own copy of the course: (a) `nbgrader autograde`, serial, with
the course's config (warm kernels); (b) `gradekit autograde` on --jobs workers, warm kernels,
then the same class regraded (`--force`: the longest submissions of the first grading first);
(c) the kit with cold kernels (`c.GradingKernelManager.warm = False`); (d) every notebook
executed with nbclient, one after the other, as the floor. Prints a table of wall times,
ratios, how many cores each way kept busy on average (from /proc/stat: run it on an
otherwise idle machine), whether the four gradings gave the same points for every grade
cell (but for the submissions plain nbgrader gives up on whole, having failed to read one
of their notebooks: it scores them 0, the kit grades the readable notebook), and memory:
the largest resident size of one process, and the peak of the total proportional set size
(PSS: pages shared between processes, as a warm parent's are with its kernels, counted
once) of the grader's processes and kernels together.

With --postgres postgresql://user@host:port (a server the benchmark may create databases
on), the same class is also graded into PostgreSQL twice: by the local pool of --jobs
workers, and on a local Dask cluster of --jobs single-threaded worker processes
(`--scheduler`, started before the clock), and a second table gives the Dask overhead.
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from traitlets.config import Config

from gradekit import autograde, course, processes

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the course folder: its demo class
import democlass  # noqa: E402


def new_course(folder: Path) -> Path:
    """A course folder with this repository's source and config, and a release."""
    folder.mkdir(parents=True)
    shutil.copytree(REPO / "source", folder / "source")
    shutil.copy(REPO / "nbgrader_config.py", folder)
    course.nbgrader(folder, "generate_assignment", democlass.ASSIGNMENT, "--force")
    return folder


def make_class(folder: Path, size: int) -> Path:
    """A course folder with a release and `size` synthetic submissions of mixed quality."""
    new_course(folder)
    # Not the intruders: unsandboxed, in the bare run, they would fork thousands of processes,
    # fill the disk and overwrite the class, which is not a floor of anything.
    names = variant_names()
    democlass.hand_in(folder, {f"s{i:03d}": names[i % len(names)] for i in range(size)})
    return folder


def handed_in_notebooks(folder: Path) -> int:
    """How many students of the class handed in at least one notebook."""
    submitted = folder / "submitted"
    return sum(1 for d in submitted.iterdir() if any(d.glob(f"{democlass.ASSIGNMENT}/*.ipynb")))


def variant_names() -> list[str]:
    """The variants the synthetic class cycles through (student sNNN hands in number NNN)."""
    return sorted(
        v.name
        for v in democlass.variants.CORRECT + democlass.variants.BUGGY + democlass.variants.HOSTILE
    )


def bare_execution(folder: Path) -> None:
    """Every submitted notebook run top to bottom, one kernel each, one after the other,
    each in a copy of its folder (as in grading: what a notebook writes cannot change the
    next one)."""
    for path in sorted((folder / "submitted").glob(f"*/{democlass.ASSIGNMENT}/*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # the broken files of the class: nothing to run
            continue
        work = Path(tempfile.mkdtemp()) / "work"
        shutil.copytree(path.parent, work)
        resources = {"metadata": {"path": str(work)}}
        client = NotebookClient(
            nb,
            # unix sockets, as the kit's kernels use (over TCP every stock kernel prints a
            # warning that its loopback traffic is not encrypted)
            config=Config(KernelManager={"transport": "ipc", "ip": str(work.parent / "kernel")}),
            timeout=15,
            interrupt_on_timeout=True,
            allow_errors=True,
            shutdown_kernel="immediate",  # as the kit's grading does
            resources=resources,
        )
        try:
            client.execute()
        except DeadKernelError:  # a hostile submission of the class: stop where it died
            pass
        shutil.rmtree(work.parent)


class MemorySampler(threading.Thread):
    """Samples, every 0.5 s, the memory of every process below this one but those it is
    told to leave out: the largest resident size of one process, and the total proportional
    set size (PSS). Each sample reads every process's page tables (smaps_rollup): every
    0.2 s, that took 4% of a core while the kit graded, and slowed it by as much."""

    def __init__(self, leave_out: set[int]):
        super().__init__(daemon=True)
        self.running = True
        self.largest_rss = self.total_pss = 0
        self.leave_out = leave_out

    def run(self) -> None:
        while self.running:
            total = 0
            for pid in processes.descendants(os.getpid()) - self.leave_out:
                fields = dict(
                    line.split(":", 1)
                    for line in processes.read(f"/proc/{pid}/smaps_rollup").splitlines()[1:]
                )
                rss, pss = (int(fields.get(k, "0 kB").split()[0]) for k in ("Rss", "Pss"))
                self.largest_rss = max(self.largest_rss, rss * 1024)
                total += pss * 1024
            self.total_pss = max(self.total_pss, total)
            time.sleep(0.5)

    def stop(self) -> tuple[float, float]:
        """(largest resident size of one process, peak total PSS), in MiB."""
        self.running = False
        self.join()
        return self.largest_rss / 2**20, self.total_pss / 2**20


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (Linux), in seconds."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and waiting for I/O
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 200])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--postgres", help="postgresql://user@host:port, for the Dask column")
    args = parser.parse_args()
    os.environ.setdefault("MPLBACKEND", "agg")  # as in grading, for a fair floor
    rows, gave_up = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes:
            base = make_class(Path(scratch) / f"class{size}", size)
            timings, cores, memory, scores = {}, {}, {}, {}
            for mode in ("plain", "kit", "regrade", "cold", "bare"):
                folder = Path(scratch) / f"class{size}-{'kit' if mode == 'regrade' else mode}"
                if mode != "regrade":
                    shutil.copytree(base, folder)
                if mode == "cold":
                    with open(folder / "nbgrader_config.py", "a") as config:
                        config.write("\nc.GradingKernelManager.warm = False\n")
                # the kit's server of workers, idle once started, is not plain's or bare's
                kits = processes.descendants(os.getpid()) if mode in ("plain", "bare") else set()
                sampler = MemorySampler(leave_out=kits)
                sampler.start()
                start, busy = time.monotonic(), busy_cpu_seconds()
                if mode == "plain":
                    course.nbgrader(
                        folder, "autograde", democlass.ASSIGNMENT, "--force", check=False
                    )
                elif mode in ("kit", "regrade", "cold"):
                    autograde.autograde_class(
                        folder, democlass.ASSIGNMENT, jobs=args.jobs, force=mode == "regrade"
                    )
                else:
                    bare_execution(folder)
                timings[mode] = time.monotonic() - start
                cores[mode] = (busy_cpu_seconds() - busy) / timings[mode]
                memory[mode] = sampler.stop()
                if mode != "bare":
                    scores[mode] = course.cell_scores(folder, democlass.ASSIGNMENT)
                print(f"size {size}: {mode} {timings[mode]:.1f} s", file=sys.stderr)
            # Plain nbgrader gives up on a whole submission when one of its notebooks cannot
            # be read (its autograded folder removed, every cell 0); the kit grades the
            # readable one.
            plain_folder = Path(scratch) / f"class{size}-plain" / "autograded"
            gave_up[size] = sorted(
                s for s in scores["kit"] if not (plain_folder / s / democlass.ASSIGNMENT).is_dir()
            )
            plain = {s: p for s, p in scores["plain"].items() if s not in gave_up[size]}
            kit = {s: p for s, p in scores["kit"].items() if s not in gave_up[size]}
            same = (
                plain == kit
                and scores["kit"] == scores["regrade"] == scores["cold"]
                and set(scores["plain"]) == set(scores["kit"])  # the same students graded
                and len(scores["kit"]) == handed_in_notebooks(base)
            )
            names = variant_names()
            for student in sorted(set().union(*scores.values())):
                points = [scores[mode].get(student, {}) for mode in scores]
                for cell in sorted(set().union(*points)):
                    if len({p.get(cell) for p in points}) > 1:
                        print(
                            f"size {size}: {student} ({names[int(student[1:]) % len(names)]}) "
                            f"{cell}: "
                            f"{', '.join(scores)} = {[p.get(cell) for p in points]}",
                            file=sys.stderr,
                        )
            if args.postgres:
                for mode in ("pool-pg", "dask"):
                    folder = Path(scratch) / f"class{size}-{mode}"
                    shutil.copytree(base, folder)
                    timings[mode] = grade_into_postgres(folder, args, f"bench_{size}_{mode[:4]}")
                    print(f"size {size}: {mode} {timings[mode]:.1f} s", file=sys.stderr)
            rows.append((size, timings, cores, memory, same))
    modes = ("plain", "kit", "regrade", "cold", "bare")
    print(f"| class | plain nbgrader (warm) | kit warm, {args.jobs} jobs | kit warm, regrade | kit "
          f"cold, {args.jobs} jobs | bare serial | kit warm / (bare / jobs) | regrade / (bare / "
          "jobs) | kit cold / (bare / jobs) | cores busy: plain, warm, regrade, cold, bare | "
          "same points |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size, t, busy, _, same in rows:
        print(
            f"| {size} | "
            + " | ".join(f"{t[m]:.0f} s ({t[m] / size:.2f} s each)" for m in modes)
            + "".join(
                f" | {t[m] / (t['bare'] / args.jobs):.2f}" for m in ("kit", "regrade", "cold")
            )
            + f" | {', '.join(f'{busy[m]:.2f}' for m in modes)} | {'yes' if same else 'NO'}"
            + (f" (nbgrader gave up on {len(gave_up[size])})" if gave_up[size] else "")
            + " |"
        )
    print("\n| class | memory: largest process / total PSS | plain | kit warm | kit warm, regrade "
          "| kit cold | bare |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size, _, _, memory, _ in rows:
        print(
            f"| {size} | MiB | "
            + " | ".join(f"{memory[m][0]:.0f} / {memory[m][1]:.0f}" for m in modes)
            + " |"
        )
    if args.postgres:
        print(f"\n| class | local pool, {args.jobs} jobs, PostgreSQL | Dask, {args.jobs} workers, "
              "PostgreSQL | Dask / pool |")  # fmt: skip
        print("| --- | --- | --- | --- |")
        for size, t, *_ in rows:
            print(
                f"| {size} | {t['pool-pg']:.0f} s ({t['pool-pg'] / size:.2f} s each) "
                f"| {t['dask']:.0f} s ({t['dask'] / size:.2f} s each) "
                f"| {t['dask'] / t['pool-pg']:.2f} |"
            )


def grade_into_postgres(folder: Path, args, database: str) -> float:
    """Seconds to grade the class in `folder` into a new PostgreSQL database, on the local
    pool (database name ending in pool) or on a local Dask cluster started beforehand."""
    import psycopg

    with psycopg.connect(args.postgres, autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {database}")
        db.execute(f"CREATE DATABASE {database}")
    url = f"{args.postgres.rstrip('/')}/{database}"
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write(f'\nc.CourseDirectory.db_url = "{url}"\n')
    course.nbgrader(folder, "generate_assignment", democlass.ASSIGNMENT, "--force")
    if database.endswith("pool"):
        start = time.monotonic()
        autograde.autograde_class(folder, democlass.ASSIGNMENT, jobs=args.jobs)
        return time.monotonic() - start
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=args.jobs, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        start = time.monotonic()
        autograde.autograde_class(folder, democlass.ASSIGNMENT, scheduler=cluster)
        return time.monotonic() - start


if __name__ == "__main__":
    main()
