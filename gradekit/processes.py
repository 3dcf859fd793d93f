"""The host's view of processes, read from /proc: what a grading kernel's tree holds."""

import functools
import os
import socket
import struct


def read(path: str) -> str:
    """A whole file of /proc ("" if it cannot be read): unbuffered reads, which /proc
    answers fastest."""
    try:
        file = os.open(path, os.O_RDONLY)
    except OSError:
        return ""
    chunks = []
    try:
        while chunk := os.read(file, 2**16):
            chunks.append(chunk)
    except OSError:
        return ""
    finally:
        os.close(file)
    return b"".join(chunks).decode(errors="replace")


def parents() -> dict[int, int]:
    """pid -> parent pid of every living process (not the dead awaiting their parent)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = read(f"/proc/{entry}/stat").rpartition(")")[2].split()
            if len(fields) > 1 and fields[0] not in ("Z", "X"):
                found[int(entry)] = int(fields[1])
    return found


def descendants(root: int) -> set[int]:
    """Every living process below this one."""
    found, todo = set(), [root]
    while todo:
        for child in children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def children(root: int) -> set[int]:
    """The living children of a process: what each of its threads forked, read from its
    own entries in /proc (a few files, not one per process of the machine)."""
    if not _children_listed():
        return {pid for pid, parent in parents().items() if parent == root}
    try:
        threads = os.listdir(f"/proc/{root}/task")
    except OSError:
        return set()
    found = {
        int(pid) for tid in threads for pid in read(f"/proc/{root}/task/{tid}/children").split()
    }
    return {pid for pid in found if alive(pid)}


def alive(pid: int) -> bool:
    """Whether a process exists and has not ended (a zombie has)."""
    fields = read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    return bool(fields) and fields[0] not in ("Z", "X")


@functools.cache
def _children_listed() -> bool:
    """Whether this Linux lists each thread's children (CONFIG_PROC_CHILDREN)."""
    return os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def child_of(pid: int) -> int:
    """The one child of a process (0 if none)."""
    found = sorted(children(pid))
    return found[0] if found else 0


def parent_pid(pid: int) -> int:
    """The parent of a living process (0 if it is gone)."""
    fields = read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    return int(fields[1]) if len(fields) > 1 else 0


def socket_peer(line: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a Unix socket."""
    raw = line.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", raw)
