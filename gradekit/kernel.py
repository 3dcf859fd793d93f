"""Grading kernels: a private working copy, resource limits and, on Linux, a sandbox.

`GradingKernelManager` is the kernel manager of the kit's `ResilientExecute` (see
`nbgrader_config.py`), so plain `nbgrader autograde` uses it too. Each kernel gets:

- a private folder holding a copy of the notebook's folder, where the kernel runs: what a
  notebook writes never reaches the graded files, the course files or the next notebook
  (notebooks are left out of the copy: the one being graded holds the hidden checks);
- limits, set by `gradekit.launcher` before it becomes the kernel: memory, file size,
  CPU time and (in the sandbox) processes;
- a sandbox (bubblewrap): only the system and Python are visible, read-only; the kit,
  the course folder, home folders, /tmp and other kernels are not; the working copy and /tmp
  are small in-memory folders, and nothing else is writable (so what a kernel writes counts
  against their size, never the host's disk); no network; its own process and IPC
  namespaces; when grading as root, an unprivileged uid of its own. The kernel talks to
  nbgrader through unix sockets in the private folder, in a folder of their own that is
  closed to the kernel once it has made them (root only), and to each check's copy of
  itself (`gradekit.agent`) through one more socket, the grader's.

Where the sandbox cannot be had (no bubblewrap, no namespaces), kernels run with the
working copy and limits only, and `sandbox_problem()` says why; nbgrader's log and the
kit's autograde say so once, loudly.

Grading starts and stops a kernel for every notebook, so the manager and its client
(`GradingKernelClient`) skip jupyter_client's idle waits there: 0.3 s per notebook.
"""

import atexit
import contextlib
import functools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, List, Type, Unicode, default

import gradekit

from . import agent, launcher
from .launcher import LIMITS
from .processes import child_of, children, descendants, parent_pid, socket_peer

MAX_KERNEL_MESSAGE = 64 * 2**20
# Variables a sandboxed kernel keeps from the grader's environment (no tokens, no passwords).
KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ", "MPLBACKEND", "NBGRADER_EXECUTION")
SANDBOX_WARNING = (
    "GRADING IS NOT SANDBOXED: {problem}. Student code runs with your privileges: it can read "
    "the course's source notebooks, the gradebook and other submissions, and reach the "
    "network. Install bubblewrap (apt-get install bubblewrap) and allow user namespaces, or "
    "set c.GradingKernelManager.sandbox = False for a trusted run."
)


class GradingKernelClient(AsyncKernelClient):
    """jupyter_client's kernel client, ready without idle waits."""

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        # The client connects before the new kernel has bound its sockets, and zmq retries a
        # refused connection every 100 ms: retry every 5 ms (0.2 s less per kernel start).
        self._created_context = True
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.RECONNECT_IVL, 5)
        # a message larger than this is dropped unread (a kernel cannot flood the grader)
        context.setsockopt(zmq.MAXMSGSIZE, MAX_KERNEL_MESSAGE)
        return context

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Wait until the kernel answers kernel_info and its IOPub channel delivers, as
        jupyter_client does; then drop the startup messages already there rather than wait
        0.2 s for more (nbclient ignores messages that answer no cell of its own)."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)  # IOPub is connected
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while await self.iopub_channel.msg_ready():
            await self.iopub_channel.get_msg()


class GradingKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run in a private working copy, under resource limits
    and, where the platform allows it, in a sandbox (0 means no limit)."""

    client_factory = Type(GradingKernelClient, klass=AsyncKernelClient)

    sandbox = Bool(
        True, help="Run kernels in a bubblewrap sandbox (Linux); False for a trusted run."
    ).tag(config=True)
    memory = Integer(4 * 2**30, help="Address space of a grading kernel, in bytes.").tag(
        config=True
    )
    file_size = Integer(256 * 2**20, help="Largest file a grading kernel may write, in bytes.").tag(
        config=True
    )
    cpu_seconds = Integer(600, help="CPU time of a grading kernel, in seconds.").tag(config=True)
    processes = Integer(
        256, help="Processes and threads of a sandboxed kernel (its own count, in the sandbox)."
    ).tag(config=True)
    scratch_size = Integer(
        256 * 2**20, help="Size of a sandboxed kernel's working copy and of its /tmp, in bytes."
    ).tag(config=True)
    warm = Bool(
        True,
        help="Fork each sandboxed kernel from a warm parent that has imported ipykernel and "
        "the preload modules (False: start every kernel cold, a new Python each time).",
    ).tag(config=True)
    preload = List(
        Unicode(),
        [
            "numpy",
            "numpy.random",
            "matplotlib",
            "matplotlib.pyplot",
            "matplotlib.backends.backend_agg",
            "matplotlib_inline.backend_inline",
        ],
        help="Modules the warm parent imports once for every kernel (ipykernel always).",
    ).tag(config=True)

    folder: Path | None = None  # the private folder of the running kernel
    zygote: "Zygote | None" = None  # the warm parent this kernel is forked from, if any

    @property
    def sandboxed(self) -> bool:
        """True when this manager's kernels run in the sandbox."""
        return self.sandbox and sandbox_problem() is None

    async def _async_pre_start_kernel(self, **kw):
        warn_once_if_not_sandboxed(self)
        remove_abandoned_folders()
        self.zygote = warm_parent(self) if self.sandboxed and self.warm else None
        self.folder = Path(
            tempfile.mkdtemp(
                prefix=f"{FOLDER_PREFIX}{os.getpid()}-",
                dir=self.zygote.folder if self.zygote else None,
            )
        )
        work = self.folder / "work"
        # Not the notebooks: the one being graded holds the hidden checks.
        shutil.copytree(kw.get("cwd") or os.getcwd(), work, symlinks=True, ignore=NOT_NOTEBOOKS)
        kw["cwd"] = str(work)
        self.connection_file = str(self.folder / "kernel.json")
        if self.sandboxed:
            self.transport = "ipc"  # the kernel has no network, not even loopback
            (self.folder / "sockets").mkdir()
            self.ip = str(self.folder / "sockets" / "kernel")
            self.kernel_spec.interrupt_mode = "message"  # a signal would stop bubblewrap
            if not self.zygote:
                self._prepare_cold_start()
        command, kw = await super()._async_pre_start_kernel(**kw)
        # Grading shows no plots: a non-interactive backend saves time on every notebook.
        kw["env"] = {**(kw.get("env") or os.environ), "MPLBACKEND": "agg"}
        if self.sandboxed:
            kw["env"] = sandbox_environment(kw["env"])
            # Nothing of the kernel's reaches the grader's own output (ipykernel keeps a copy
            # of the streams it was started with): its cells' outputs go through Jupyter's
            # messages, within their budget. A warm kernel's streams are /dev/null too.
            kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
            if os.geteuid() == 0:  # the folder stays root's; the kernel's uid gets its parts
                os.chmod(self.folder, 0o755)
                uid = kernel_uid()
                chown_tree(work, uid)
                chown_tree(self.folder / "sockets", uid)
                os.chown(self.connection_file, uid, uid)
        return command, kw

    def _prepare_cold_start(self) -> None:
        (self.folder / "handed-in").mkdir()
        shutil.copy(launcher.__file__, self.folder / "launcher.py")
        copy_matplotlib_cache(self.folder / "matplotlib")

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        if self.zygote is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        try:
            process = self.zygote.fork(self.folder, kw["env"], self._limits())
        except ZygoteError as error:  # a cold start instead, and for every kernel after it
            self.log.warning("Grading kernels start cold from now on: %s", error)
            stop_warm_parent(str(error))
            self.zygote = None
            self._prepare_cold_start()
            return await super()._async_launch_kernel(self.format_kernel_cmd(), **kw)
        provisioner = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, None
        provisioner.cwd = kw.get("cwd")
        self._reconcile_connection_info(provisioner.connection_info)

    def _limits(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in LIMITS}

    def sandbox_processes(self) -> tuple[int, set[int], int]:
        """The running kernel's process tree, as the host sees it: its root, the sandbox's
        own processes in it (never stopped), and the kernel's process."""
        root = self.provisioner.process.pid
        if self.zygote is not None:  # the kernel, below its init
            init = parent_pid(root)
            return init, {init}, root
        if not self.sandboxed:
            return root, set(), root
        # bubblewrap and its init, then the kernel (no cell of the student's has run yet)
        keep = {root, *children(root)}
        below = descendants(root) - keep
        return root, keep, min(below) if below else root

    def lock_folder(self) -> None:
        """Once the kernel has made its sockets, close their folder to it (as root: the
        kernel's uid can then write nowhere on the host's disk)."""
        sockets = None if self.folder is None else self.folder / "sockets"
        if sockets is not None and sockets.is_dir() and os.geteuid() == 0:
            os.chown(sockets, 0, 0)
            os.chmod(sockets, 0o755)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = [*super().format_kernel_cmd(extra_arguments), *KERNEL_OPTIONS]
        limits = [
            f"--{name.replace('_', '-')}={value}"
            for name, value in self._limits().items()
            if name != "processes" or self.sandboxed
        ]
        if not self.sandboxed:
            return [sys.executable, "-m", "gradekit.launcher", *limits, "--", *command]
        # The kit is not visible in the sandbox: the launcher runs from a copy of its own.
        launcher = [sys.executable, str(self.folder / "launcher.py"), *limits]
        work = self.folder / "work"
        launcher += [f"--copy={self.folder / 'handed-in'}:{work}"]
        launcher += [f"--copy={self.folder / 'matplotlib'}:{MATPLOTLIB}", "--", *command]
        return [
            *bubblewrap_command(self.folder, self.scratch_size),
            *["--ro-bind", str(work), str(self.folder / "handed-in")],
            *["--size", str(self.scratch_size), "--perms", "1777", "--tmpfs", str(work)],
            *["--chdir", str(work)],
            "--",
            *drop_privileges(),
            *launcher,
        ]

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    cleanup_resources = _async_cleanup_resources  # nbclient calls it for a dead kernel

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        # A killed kernel is gone within milliseconds: look every 5 ms, not every 100 ms.
        await super()._async_wait(pollinterval=0.005)


NOT_NOTEBOOKS = shutil.ignore_patterns("*.ipynb")
# ipykernel sleeps 0.5 ms before each execute reply (against outputs arriving after it);
# nbclient waits for the kernel's idle status on IOPub anyway, which comes after them. A
# grading kernel's input history stays in memory (In, Out, %history): IPython's database of
# it, in the kernel's own /tmp that ends with it, took a thread and about 0.7 ms per cell.
KERNEL_OPTIONS = ["--Kernel._execute_sleep=0", "--HistoryManager.enabled=False"]
ZYGOTE = Path(__file__).with_name("zygote.py")  # the warm parent's code, run in the sandbox
MATPLOTLIB = "/tmp/matplotlib"  # a sandboxed kernel's matplotlib folder (its font cache)
FOLDER_PREFIX = "gradekit-kernel-"  # private folders: gradekit-kernel-<grader pid>-<random>


def remove_abandoned_folders() -> None:
    """Delete the private folders of graders that are gone (killed before they could)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).split("-")[0]
        if pid.isdigit() and not is_running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def is_running(pid: int) -> bool:
    """Whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        return True
    return True


def bubblewrap_command(folder: Path, scratch_size: int, parent: bool = False) -> list[str]:
    """bwrap and its options for a kernel: the system and Python read-only, the
    private folder writable, a small /tmp, and new namespaces (no network). For the warm
    parent: its privileges (it makes each kernel's namespaces, then the kernel gives them
    up) and its folder writable (each kernel sees its own part only)."""
    # The grader's pid (JPY_PARENT_PID) is not in the kernel's pid namespace: 1 tells ipykernel
    # not to watch its parent; --die-with-parent ends the kernel with the grader instead.
    command = [
        "bwrap",
        "--die-with-parent",
        "--setenv",
        "JPY_PARENT_PID",
        "1",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
    ]
    command += ["--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        command += ["--unshare-user"]  # an ordinary user gets namespaces through a user one
    if parent:
        command += ["--cap-add", "ALL"]
    command += ["--dev", "/dev", "--proc", "/proc", "--size", str(scratch_size)]
    command += ["--perms", "1777", "--tmpfs", "/tmp"]  # owned by root: writable for all
    for path in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
        else:
            command += ["--ro-bind-try", path, path]
    visible = visible_paths()
    for parent in sorted({str(p) for path in [*visible, folder] for p in Path(path).parents}):
        if parent not in ("/", "/tmp"):  # folders on the way, traversable by the kernel's uid
            command += ["--perms", "0755", "--dir", parent]
    for path in visible:
        command += ["--ro-bind", path, path]
    kit = os.path.realpath(Path(gradekit.__file__).parent)
    if any(kit.startswith(path + os.sep) for path in visible):  # installed beside Python
        command += ["--tmpfs", kit]
    command += ["--bind" if parent else "--ro-bind", str(folder), str(folder)]
    if (folder / "sockets").is_dir():
        command += ["--bind", str(folder / "sockets"), str(folder / "sockets")]
    return command


def visible_paths() -> list[str]:
    """What a kernel needs to see: the system's /usr and /etc, and Python (not the kit)."""
    paths = {"/usr", "/etc", sys.prefix, sys.base_prefix}
    paths.add(str(Path(sys.executable).resolve().parents[1]))
    paths = sorted(os.path.realpath(p) for p in paths if os.path.isdir(p))
    return [p for p in paths if not any(p.startswith(q + os.sep) for q in paths)]


def kernel_uid() -> int:
    """The uid of a sandboxed kernel when grading as root: one of its own per grading
    process (one kernel runs at a time in each), so kernels cannot signal each other or
    share a process limit."""
    return 100_000 + os.getpid()


def drop_privileges() -> list[str]:
    """The command prefix that makes root an unprivileged uid inside the sandbox."""
    if os.geteuid() != 0:
        return []
    uid = kernel_uid()
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]


def chown_tree(folder: Path, uid: int) -> None:
    """Give a folder and everything in it to `uid`."""
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, uid, uid)


def sandbox_environment(env) -> dict[str, str]:
    """The environment of a sandboxed kernel: a few harmless variables of the grader's."""
    kept = {name: env[name] for name in KEPT_VARIABLES if name in env}
    kept.update({name: value for name, value in env.items() if name.startswith("JPY_")})
    kept.update(HOME="/tmp", MPLCONFIGDIR=MATPLOTLIB)
    return kept


def copy_matplotlib_cache(destination: Path) -> None:
    """Copy matplotlib's font cache, so that a sandboxed kernel does not rebuild it."""
    cache = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib"
    )
    if os.path.isdir(cache):
        shutil.copytree(cache, destination, ignore=shutil.ignore_patterns("tex.cache"))
    else:
        destination.mkdir()


def sandbox_warning(config) -> str | None:
    """The warning to give before grading with this nbgrader config, or None when its
    kernels will be sandboxed (or the sandbox is turned off on purpose)."""
    wanted = config.GradingKernelManager.get("sandbox", True)
    return (
        SANDBOX_WARNING.format(problem=sandbox_problem()) if wanted and sandbox_problem() else None
    )


def warn_once_if_not_sandboxed(manager: GradingKernelManager) -> None:
    """Log, once per process, that kernels run unsandboxed although the sandbox is on."""
    global _warned
    if manager.sandbox and sandbox_problem() and not _warned:
        _warned = True
        manager.log.warning(SANDBOX_WARNING.format(problem=sandbox_problem()))


_warned = False


@functools.cache
def sandbox_problem() -> str | None:
    """Why kernels cannot be sandboxed on this machine, or None when they can."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux namespaces, and this is {sys.platform}"
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    with tempfile.TemporaryDirectory(prefix="gradekit-probe-") as folder:
        command = [*bubblewrap_command(Path(folder), 2**20), "--", *drop_privileges(), "true"]
        try:
            probe = subprocess.run(command, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not start ({error})"
    if probe.returncode != 0:
        return f"bubblewrap could not make a sandbox ({probe.stderr.strip() or probe.returncode})"
    return None


class ZygoteError(Exception):
    """The warm parent could not start or fork a kernel."""


class ForkedKernel:
    """A kernel forked by the warm parent, as jupyter_client's provisioner sees a process
    (it is not our child: its end is seen through a pidfd, its exit code is not)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self.pidfd], [], [], 0)[0]:
            self.returncode = -signal.SIGKILL
            os.close(self.pidfd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            select.select([self.pidfd], [], [], timeout)
        return -1 if self.poll() is None else self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            signal.pidfd_send_signal(self.pidfd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class Zygote:
    """The warm parent of this process's sandboxed kernels (`gradekit.zygote`): one
    sandbox, started once, that forks a kernel for each notebook."""

    def __init__(self, manager: GradingKernelManager):
        self.key = parent_key(manager)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        os.chmod(self.folder, 0o755)
        for module in (agent.__file__, launcher.__file__, ZYGOTE):  # the kit is not visible there
            shutil.copy(module, self.folder)
        copy_matplotlib_cache(self.folder / "matplotlib")
        command = [
            *bubblewrap_command(self.folder, manager.scratch_size, parent=True),
            "--",
            *[sys.executable, str(self.folder / "zygote.py"), *manager.preload],
        ]
        environment = sandbox_environment({**os.environ, "MPLBACKEND": "agg"})
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment
        )
        ready = self._answer(60)
        if not ready.get("ready"):
            self.stop()
            raise ZygoteError(f"the warm parent did not start ({ready.get('error', ready)})")
        self.missing = ready.get("missing", [])

    def fork(self, folder: Path, env: dict, limits: dict) -> ForkedKernel:
        """Fork a kernel whose private folder is `folder` (made in this parent's)."""
        hello_path = folder / "hello.sock"
        hello = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            hello.bind(str(hello_path))
            os.chmod(hello_path, 0o666)
            hello.listen(1)
            order = {
                "folder": str(folder),
                "work": str(folder / "work"),
                "sockets": str(folder / "sockets"),
                "connection_file": str(folder / "kernel.json"),
                "hello": str(hello_path),
                "matplotlib": MATPLOTLIB,
                "scratch": self.key[1],
                "env": {**env, "JPY_PARENT_PID": "1", "PWD": str(folder / "work")},
                "limits": limits,
                "options": KERNEL_OPTIONS,
                "uid": kernel_uid() if os.geteuid() == 0 else None,
            }
            try:
                self.process.stdin.write(json.dumps(order).encode() + b"\n")
                self.process.stdin.flush()
            except OSError as error:
                raise ZygoteError(f"the warm parent is gone ({error})") from None
            answer = self._answer(10)
            if not answer.get("forked"):
                raise ZygoteError(f"the warm parent could not fork ({answer.get('error')})")
            hello.settimeout(10)
            try:
                line, _ = hello.accept()
            except TimeoutError:
                raise ZygoteError("the forked kernel never reported") from None
            with line:  # from the kernel's init, then from the kernel (its child)
                init = socket_peer(line)[0]
                line.settimeout(10)
                message = json.loads(line.makefile("rb").readline() or b"{}")
            if not message.get("started"):
                raise ZygoteError(f"the forked kernel could not start ({message.get('error')})")
            return ForkedKernel(child_of(init))
        finally:
            hello.close()
            hello_path.unlink(missing_ok=True)

    def _answer(self, seconds: float) -> dict:
        if not select.select([self.process.stdout], [], [], seconds)[0]:
            return {"error": f"no answer in {seconds:g} s"}
        line = self.process.stdout.readline()
        try:
            return json.loads(line) if line else {"error": "it ended"}
        except ValueError:
            return {"error": "an unreadable answer"}

    def stop(self) -> None:
        """Kill the parent (its kernels live on, each in its own namespaces)."""
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        _folders.append(self.folder)  # removed at exit: a cold kernel may run in it


_zygote: Zygote | None = None
_zygote_problem: str | None = None
_folders: list[Path] = []


def parent_key(manager: GradingKernelManager) -> tuple:
    """What a warm parent is made for: its modules and its kernels' scratch size."""
    return (tuple(manager.preload), manager.scratch_size)


def warm_parent(manager: GradingKernelManager) -> Zygote | None:
    """This process's warm parent for the manager's settings, started on first use; None
    (kernels start cold, said once in the log) where it cannot be had."""
    global _zygote, _zygote_problem
    key = parent_key(manager)
    if _zygote is not None and (_zygote.key != key or _zygote.process.poll() is not None):
        stop_warm_parent()
    if _zygote is None and _zygote_problem is None:
        try:
            _zygote = Zygote(manager)
        except (OSError, ZygoteError) as error:
            _zygote_problem = str(error)
            manager.log.warning("Grading kernels start cold: %s", error)
        else:
            if _zygote.missing:
                manager.log.warning(
                    "The warm parent of grading kernels could not import %s",
                    ", ".join(_zygote.missing),
                )
    return _zygote


def stop_warm_parent(problem: str | None = None) -> None:
    """Stop this process's warm parent: the next kernel starts a new one, or, given the
    problem that stopped it, starts cold like every kernel after it."""
    global _zygote, _zygote_problem
    if _zygote is not None:
        _zygote.stop()
        _zygote = None
    _zygote_problem = problem or _zygote_problem


@atexit.register
def _remove_warm_parents() -> None:
    stop_warm_parent()
    for folder in _folders:
        shutil.rmtree(folder, ignore_errors=True)
