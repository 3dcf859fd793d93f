"""The course's own exchange folder, for a course run on one machine.

nbgrader's exchange must exist, writable by everyone, before anyone (the formgrader
included) can release, fetch, submit or collect. `course_exchange` names `exchange/` next to
the course's nbgrader_config.py and makes it on first use, as nbgrader's release would but
with the sticky bit (like /tmp): everyone may add to it, nobody may rename or delete what
another user put there (the course's folder, other students' submissions).
"""

import os

MODE = 0o1777


def course_exchange(config_file: str) -> str:
    """The exchange folder beside this config file, made if missing."""
    root = os.path.join(os.path.dirname(os.path.abspath(config_file)), "exchange")
    if not os.path.isdir(root):
        try:
            os.mkdir(root)
            os.chmod(root, MODE)
        except OSError:  # a read-only course folder: nbgrader then says the exchange is missing
            pass
    return root
