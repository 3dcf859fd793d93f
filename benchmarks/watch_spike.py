"""A deadline spike for grading on submit: N submissions arrive within a minute.

    python benchmarks/watch_spike.py --students 100 --seconds 60 --jobs 2

A course is made (the class of autograde_speed.py: correct, buggy and hostile variants,
cycled) and released; `gradekit watch` runs on it as a service (looking every 2 s); the
students' submissions go into the exchange through nbgrader's own submit, at random times
over --seconds. Each submission's feedback is waited for (its page in the exchange, the
one *Fetch Feedback* brings). Prints the time from the first submission until the last
student has feedback, and the p50 and p95 of the time from a submission to its feedback.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import notebook_hash

from gradekit import course

sys.path.insert(0, str(Path(__file__).parent))
from autograde_speed import make_class  # noqa: E402

import democlass  # noqa: E402

GRADEKIT = str(Path(sys.executable).with_name("gradekit"))


def submit(folder: Path, student: str, own: Path, cache: Path) -> list[Path]:
    """Submit the student's notebooks (`own`/<assignment>/) through nbgrader's exchange;
    the paths of their feedback pages to come."""
    config = course.load_config(folder)
    config.Exchange.cache = str(cache)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = democlass.ASSIGNMENT, student
    exchange = ExchangeSubmit(
        coursedir=coursedir, authenticator=Authenticator(config=config), config=config
    )
    exchange.assignment_dir = str(own)
    exchange.start()
    (copy,) = (cache / config.CourseDirectory.course_id).glob(f"{student}+*")
    secret = (copy / "submission_secret.txt").read_text()
    outbound = Path(config.Exchange.root) / config.CourseDirectory.course_id / "feedback"
    released = {nb.stem for nb in (folder / "release" / democlass.ASSIGNMENT).glob("*.ipynb")}
    return [
        outbound / f"{notebook_hash(secret=secret, notebook_id=nb.stem)}.html"
        for nb in copy.glob("*.ipynb")
        if nb.stem in released  # a file of another name gets no feedback
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = make_class(Path(scratch) / "course", args.students)
        with open(folder / "nbgrader_config.py", "a") as config:
            config.write("\nc.Watch.interval = 2\n")
        course.nbgrader(folder, "release_assignment", democlass.ASSIGNMENT)
        students = sorted(p.name for p in (folder / "submitted").iterdir())
        for student in students:  # the students' own copies, out of the course folder
            shutil.move(
                folder / "submitted" / student / democlass.ASSIGNMENT, Path(scratch) / student
            )
        shutil.rmtree(folder / "submitted")
        (folder / "submitted").mkdir()
        service = subprocess.Popen(
            [
                GRADEKIT,
                "watch",
                democlass.ASSIGNMENT,
                "--course",
                str(folder),
                "--jobs",
                str(args.jobs),
            ],
            stdout=subprocess.DEVNULL,
            env=course.environment(),
        )
        time.sleep(5)  # the service's first look (its release, its gradebook)
        arrivals = sorted((random.Random(0).uniform(0, args.seconds), s) for s in students)
        pages, arrived, done = {}, {}, {}
        start = time.monotonic()
        pending = list(arrivals)
        while len(done) < len(students):
            now = time.monotonic() - start
            while pending and pending[0][0] <= now:
                _, student = pending.pop(0)
                own = Path(scratch) / "students" / student / democlass.ASSIGNMENT
                own.parent.mkdir(parents=True)
                shutil.copytree(Path(scratch) / student, own)
                os.utime(own)
                arrived[student] = time.monotonic() - start
                pages[student] = submit(folder, student, own.parent, Path(scratch) / "cache")
            for student, paths in pages.items():
                if student not in done and all(final(p) for p in paths):
                    done[student] = time.monotonic() - start
            if now > args.seconds + 1800:
                break
            time.sleep(0.2)
        graded = sum(1 for s in done if pages[s] and 'id="status"' not in pages[s][0].read_text())
        service.terminate()
        service.wait()
    waits = sorted(done[s] - arrived[s] for s in done)
    print("| students | within | jobs | last feedback after | p50 | p95 | feedback |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {args.students} | {args.seconds:.0f} s | {args.jobs} "
        f"| {max(done.values()) - arrivals[0][0]:.0f} s "
        f"| {waits[len(waits) // 2]:.0f} s | {waits[int(len(waits) * 0.95)]:.0f} s "
        f"| {graded} graded, {len(done) - graded} could not be, of {len(students)} |"
    )


def final(page: Path) -> bool:
    """Whether a feedback page is there and final: the graded one, or a status page saying
    the submission could not be graded (not one saying it waits)."""
    try:
        text = page.read_text(encoding="utf-8")
    except OSError:
        return False
    return "Waiting to be graded" not in text and "will be graded after" not in text


if __name__ == "__main__":
    main()
