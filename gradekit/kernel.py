"""Grading kernels with bounded memory, file size and CPU time.

`LimitedKernelManager` starts each kernel through this module's launcher, which sets the
limits with `resource.setrlimit` and then becomes the kernel (`os.execvp`): a memory bomb
gets a MemoryError in its own cell instead of taking the grading machine down.
"""

import argparse
import os
import resource
import sys

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer

LIMITS = {  # launcher option: resource limited
    "memory": resource.RLIMIT_AS,
    "file_size": resource.RLIMIT_FSIZE,
    "cpu_seconds": resource.RLIMIT_CPU,
}


class LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run under resource limits (0 means no limit)."""

    memory = Integer(4 * 2**30, help="Address space of a grading kernel, in bytes.").tag(
        config=True
    )
    file_size = Integer(256 * 2**20, help="Largest file a grading kernel may write, in bytes.").tag(
        config=True
    )
    cpu_seconds = Integer(600, help="CPU time of a grading kernel, in seconds.").tag(config=True)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        limits = [f"--{name.replace('_', '-')}={getattr(self, name)}" for name in LIMITS]
        return [sys.executable, "-m", "gradekit.kernel", *limits, "--", *command]


def main(argv: list[str] | None = None) -> None:
    """Set the limits, then run the kernel command in this process."""
    parser = argparse.ArgumentParser(description=__doc__)
    for name in LIMITS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=0)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    for name, limit in LIMITS.items():
        value = getattr(args, name)
        if value > 0:
            resource.setrlimit(limit, (value, value))
    os.execvp(args.command[0], args.command)


if __name__ == "__main__":
    main()
