"""A warm parent of grading kernels: `python zygote.py MODULE...`, in the sandbox.

`gradekit.kernel.Zygote` starts one per grading process, in a sandbox of its own (as
`gradekit.kernel` describes, in a user namespace). It imports ipykernel and the course's
modules once (numpy, matplotlib...), runs no code of anyone's, then reads one order per line
on its standard input and forks a kernel for each, so that no kernel pays for those imports:

- the fork moves into namespaces of its own (`agent.fork_isolated`, the kit's one way to fork in
  the sandbox) and becomes the first process of its own pid namespace, a small init that
  ends, taking everything in that namespace with it, when the kernel ends;
- that init gives the kernel its own /proc, a new /tmp, a new working folder holding a copy
  of the handed-in files, its own sockets' folder (the only host folder it can write to),
  every other folder read-only, the parent's folders hidden, no open file, no privileges;
- the kernel takes the order's environment, limits and working folder, reseeds `random`
  and numpy's global generator from the OS (as a cold start would), tells the grader its
  pid through the order's socket, and starts ipykernel as `ipykernel_launcher` does.

Nothing of one student's reaches the parent, so nothing reaches the next kernel. The parent
is not dumpable: a kernel can neither read its memory nor trace it, and cannot name it.
"""

import contextlib
import ctypes
import gc
import importlib
import json
import os
import random
import resource
import shutil
import socket
import sys

if __package__:  # imported from the kit (its documentation reads every module)
    from . import agent
    from .launcher import LIMITS
else:  # run in the sandbox, beside copies of the agent and the launcher
    import agent
    from launcher import LIMITS

PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 4, 38
# ipykernel's app, and what it imports only when a kernel starts (its debugger, IPython's
# history and inspectors, tornado's queues: 0.15 s of every kernel's start otherwise)
KERNEL_MODULES = [
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.history",
    "IPython.core.oinspect",
    "IPython.core.pylabtools",
    "IPython.extensions.storemagic",
    "tornado.gen",
    "tornado.locks",
    "tornado.queues",
]
QUIET_DEBUGGER = "PYDEVD_DISABLE_FILE_VALIDATION"
_replies = sys.stdout  # the line to the grader
_set_by_imports = {}  # environment variables the imports set, as a cold kernel has them


def main():
    """Import, then fork a kernel for each order until standard input ends."""
    global _replies
    _replies = os.fdopen(os.dup(1), "w")  # what a module prints goes to stderr, not here
    os.dup2(2, 1)
    cache = os.path.join(os.path.dirname(__file__), "matplotlib")  # its font cache
    shutil.copytree(cache, os.environ["MPLCONFIGDIR"], dirs_exist_ok=True)
    missing, before = [], dict(os.environ)
    os.environ[QUIET_DEBUGGER] = "1"  # its import warns on stderr (a cold kernel's is null)
    for name in [*KERNEL_MODULES, *sys.argv[1:]]:
        try:
            importlib.import_module(name)
        except Exception as error:  # the course's list may name what is not installed
            missing.append(f"{name} ({type(error).__name__})")
    del os.environ[QUIET_DEBUGGER]
    _set_by_imports.update({k: v for k, v in os.environ.items() if before.get(k) != v})
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    gc.freeze()  # what the kernels inherit is never collected again: no GC pass over it
    _reply({"ready": True, "missing": missing})
    for line in sys.stdin:
        order = json.loads(line)
        # not in one clone3 call: the imports' thread pools (numpy's) must be told of forks
        pid, isolated = agent.fork_isolated(libc, user=False, clone3=False)
        if pid < 0:
            _reply({"error": os.strerror(ctypes.get_errno())})
            continue
        if pid == 0:
            try:
                _start(libc, order, isolated)
            finally:
                os._exit(0)
        _reply({"forked": True})


def _reply(message):
    _replies.write(json.dumps(message) + "\n")
    _replies.flush()


def _start(libc, order, isolated):
    """In the kernel's init (the first process of its own pid namespace, when `isolated`),
    which sets up the kernel's folders, gives up its privileges and forks the kernel. The
    init's line to the grader tells it who the init is (the kernel is its child) and
    whether the kernel started."""
    if not isolated:
        _tell(_connect(order), {"error": "no namespaces (the system refused them)"})
        return
    os.setsid()
    agent._close_files()
    line = _connect(order)
    try:
        handed_in = _private_folders(libc, order)
        _drop_privileges(libc, order["uid"])
    except OSError as error:
        _tell(line, {"error": f"no private folders ({error})"})
        return
    kernel = os.fork()
    if kernel == 0:
        try:
            _kernel(libc, order, handed_in, line)
        except Exception as error:
            _tell(line, {"error": f"{type(error).__name__}: {error}"})
        finally:
            os._exit(1)
    os.close(handed_in)
    line.close()
    while True:  # the init: reap what the kernel leaves, end with it
        pid, status = os.wait()
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _private_folders(libc, order):
    """The kernel's folders, as a cold start's sandbox has them (see the module's
    docstring); returns the handed-in files' folder, open."""
    folder, work, sockets = order["folder"], order["work"], order["sockets"]
    scratch = int(order["scratch"])
    own = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    handed_in = os.open(work, os.O_PATH | os.O_DIRECTORY)
    nosuid = agent.MS_NOSUID | agent.MS_NODEV
    parent = os.path.dirname(folder)  # the parent's folder: every kernel's, and its code
    # what the sandbox shows below /tmp (Python, when installed there), kept in the new one
    below = [p for p, _ in agent._mounts() if p.startswith("/tmp/") and p != parent]
    below = [p for p in below if not p.startswith(parent + "/")]
    tops = [p for p in dict.fromkeys(below) if not any(p.startswith(q + "/") for q in below)]
    kept = {path: os.open(path, os.O_PATH) for path in tops}
    agent._mount(libc, "proc", "/proc", "proc", nosuid | agent.MS_NOEXEC)
    agent._mount(libc, "tmpfs", "/tmp", "tmpfs", nosuid, f"size={scratch},mode=1777")
    for path, descriptor in kept.items():
        if os.path.isdir(f"/proc/self/fd/{descriptor}"):
            os.makedirs(path, mode=0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            open(path, "w").close()
        source = f"/proc/self/fd/{descriptor}"
        agent._mount(libc, source, path, None, agent.MS_BIND | agent.MS_REC)
        os.close(descriptor)
    os.makedirs(parent, mode=0o755, exist_ok=True)  # hidden, wherever it is
    agent._mount(libc, "tmpfs", parent, "tmpfs", nosuid, "size=65536,mode=755")
    os.mkdir(folder)
    agent._mount(libc, f"/proc/self/fd/{own}", folder, None, agent.MS_BIND)
    os.close(own)
    agent._mount(libc, sockets, sockets, None, agent.MS_BIND)
    agent._mount(libc, "tmpfs", work, "tmpfs", nosuid, f"size={scratch},mode=1777")
    agent._read_only_except(libc, ("/tmp", work, sockets))
    return handed_in


def _drop_privileges(libc, uid):
    """Become the kernel's uid (as root) and give up every capability for good."""
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    agent._drop_privileges(libc)


def _kernel(libc, order, handed_in, line):
    """In the kernel's process: its files, environment, limits and seeds, then ipykernel."""
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # as a cold kernel (its init stays closed)
    source, work = f"/proc/self/fd/{handed_in}", order["work"]
    for entry in os.scandir(source):
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, os.path.join(work, entry.name), symlinks=True)
        else:
            shutil.copy2(entry.path, os.path.join(work, entry.name), follow_symlinks=False)
    os.close(handed_in)
    os.mkdir(order["matplotlib"])
    os.chdir(work)
    os.environ.clear()
    os.environ.update(order["env"])
    for name, value in _set_by_imports.items():
        os.environ.setdefault(name, value)
    for name, limit in LIMITS.items():
        value = int(order["limits"].get(name, 0))
        if value > 0:
            resource.setrlimit(limit, (value, value))
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    _tell(line, {"started": True})
    for name in ("agent", "launcher", "__main__"):
        sys.modules.pop(name, None)
    del sys.path[0]  # this file's folder; IPython adds the working folder back
    sys.argv = ["ipykernel_launcher", "-f", order["connection_file"], *order["options"]]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
    os._exit(0)


def _connect(order):
    """A line to the grader, through the order's socket (which tells it this process's pid)."""
    line = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        line.connect(order["hello"])
    except OSError:
        line.close()
        return None
    return line


def _tell(line, message):
    """Send the grader one message on that line, and close it."""
    if line is not None:
        with contextlib.suppress(OSError):
            line.sendall(json.dumps(message).encode() + b"\n")
        line.close()


if __name__ == "__main__":
    main()
