"""The command that starts a grading kernel: `python -m gradekit.launcher [options] -- CMD`.

`gradekit.kernel.GradingKernelManager` starts every kernel through it (inside the sandbox,
when there is one). It copies folders where asked (the student's files into the working
folder, matplotlib's font cache into /tmp), sets the
resource limits, then becomes the kernel (`os.execvp`): a memory bomb gets a MemoryError in
its own cell, a fork loop an error from `os.fork`, a huge file an `OSError`. It imports the
standard library only, because it runs once for every notebook graded.
"""

import argparse
import os
import resource
import shutil
from pathlib import Path

LIMITS = {  # launcher option: resource limited
    "memory": resource.RLIMIT_AS,
    "file_size": resource.RLIMIT_FSIZE,
    "cpu_seconds": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
}


def main(argv: list[str] | None = None) -> None:
    """Copy the working files in, set the limits, then run the kernel command in this process."""
    parser = argparse.ArgumentParser(description=__doc__)
    for name in LIMITS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=0)
    parser.add_argument(
        "--copy", action="append", default=[], help="SOURCE:DEST, a folder's files copied first"
    )
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    for pair in args.copy:
        source, _, destination = pair.partition(":")
        Path(destination).mkdir(parents=True, exist_ok=True)
        for entry in Path(source).iterdir():
            target = Path(destination) / entry.name
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, target, symlinks=True)
            else:
                shutil.copy2(entry, target, follow_symlinks=False)
    for name, limit in LIMITS.items():
        value = getattr(args, name)
        if value > 0:
            resource.setrlimit(limit, (value, value))
    os.execvp(args.command[0], args.command)


if __name__ == "__main__":
    main()
