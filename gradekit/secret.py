"""The course secret behind grading-time inputs.

Hidden checks draw their inputs from a random generator seeded with
HMAC-SHA256(secret, student, notebook, answers, check): a regrade draws the same inputs,
another student (or a resubmission with other answers) different ones, and nobody without the
secret can predict them. The secret is a file
of 64 random hex digits, made on first use, kept outside the repository and outside every
grading kernel (the sandbox shows a kernel no home folder):

    $GRADEKIT_SECRET_FILE, or else ~/.local/share/gradekit/<course id>.secret

Rotate it (new inputs for every later grading run) by deleting the file; keep a copy if old
grades must be reproducible.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def secret_path(course_id: str) -> Path:
    """Where the course's secret lives."""
    if os.environ.get("GRADEKIT_SECRET_FILE"):
        return Path(os.environ["GRADEKIT_SECRET_FILE"])
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "gradekit" / f"{course_id or 'course'}.secret"


def course_secret(course_id: str) -> bytes:
    """The course's secret, made (readable by its owner only) on first use."""
    path = secret_path(course_id)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32) + "\n")
    text = path.read_text().strip()
    if len(text) < 32:
        raise ValueError(
            f"{path}: the course secret is too short (delete the file to make a new one)"
        )
    return text.encode()


def seed_for(secret: bytes, *parts: str) -> int:
    """A 128-bit seed for these parts (student, notebook, answers, test)."""
    digest = hmac.new(secret, "\0".join(parts).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:16], "big")
