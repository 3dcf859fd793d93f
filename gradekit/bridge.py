"""The grader's side of the conversation with a student's kernel (see `gradekit.agent`).

A `Bridge` asks the kernel for its maker of copies (a fork of it as the notebook left it),
then the maker for one disposable copy per check; it checks from outside that the copy is
isolated (its own namespaces, no shared memory, no open file but its line, no privileges,
nothing writable it shares), stops the kernel and the maker (ending any other process) while
the check runs and kills the copy when it ends. A `Channel` lets the check (trusted code, run
in the grading process) use the student's functions and objects in that copy as if they were
local: `Remote` stands for an object that stays there, and calling it, reading or setting one
of its attributes is one request answered by value. Nothing the copy sends is run or
unpickled here: answers are decoded as plain data (`agent.unpack`) under a size budget, and a
student's exception arrives as a `StudentError` carrying its type name and message.

Budgets, whatever the copy does: wall-clock time per check (sleeping and waiting count),
bytes per answer and per check, JSON values per answer. A check over budget fails alone,
with the budget named in its message.
"""

import base64
import contextlib
import importlib.util
import inspect
import json
import marshal
import os
import re
import secrets
import select
import signal
import socket
import time
from pathlib import Path

import zmq
from jupyter_client.blocking import BlockingKernelClient

from . import agent
from .checks import likely
from .processes import descendants, read, socket_peer

SHARED_MAPPING = re.compile(r"^\S+ \S{3}s", re.MULTILINE)  # a line of /proc/PID/maps

AGENT_SOURCE = Path(agent.__file__).read_text(encoding="utf-8") + "\nserve()\n"
# The agent runs in a namespace of its own: nothing of the kit's is left in the notebook's.
# The cell that starts the agent is one short line (IPython reads every cell it runs, and
# the agent is 20 kB): it tells the kernel's bytecode version and asks for the agent as its
# input, compiled here once (7 ms less for every run of grade cells) when the versions
# match, as source otherwise; and runs it.
SERVE = (
    "exec((lambda agent: __import__('marshal').loads(__import__('base64').b64decode(agent[8:]))"
    " if agent.startswith('marshal:') else compile(agent, '<checks>', 'exec'))"
    "(get_ipython().kernel.raw_input("
    "'{\"boot\": \"%s\"}' % __import__('importlib.util').util.MAGIC_NUMBER.hex())),"
    " {'__name__': '_checks'})\n"
)
BYTECODE = importlib.util.MAGIC_NUMBER.hex()
AGENT_CODE = (
    "marshal:" + base64.b64encode(marshal.dumps(compile(AGENT_SOURCE, "<checks>", "exec"))).decode()
)
MAX_VALUES = 250_000  # JSON values (structural characters, an upper bound) in one answer
MAX_CHECK_BYTES = 64 * 2**20  # bytes a check may receive in all
MAX_PARENT_MESSAGE = 2**16  # the kernel's own messages (fork answers) are a few bytes
NAMESPACES = ("user", "mnt", "pid", "ipc", "net", "uts")


class StudentError(Exception):
    """The student's code raised an exception (or misbehaved) while a check used it."""

    def __init__(self, kind: str, message: str, what: str = ""):
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind, self.message, self.what = kind, message, what

    def explain(self) -> str:
        """One line a student can act on."""
        what = self.what or "your code"
        if self.kind == "NotImplementedError":
            return f"{what} is not written yet: replace raise NotImplementedError() with your code"
        if self.kind == "Timeout":
            return f"this check ran over its time budget ({self.message}); grading went on"
        if self.kind == "TypeError" and "only" in self.message and "array" in self.message:
            return f"{what} raised TypeError: {self.message}; " + likely(
                "works on single numbers only: math's functions, where numpy's (np.exp, "
                "np.log) work on whole arrays"
            )
        if self.kind in ("BrokenConversation", "StoppedAnswering", "NameError", "Budget"):
            return self.message
        return f"{what} raised {self.kind}: {self.message}".rstrip(": ")


class KernelGone(Exception):
    """The kernel died, or stopped answering even after an interrupt."""


class Remote:
    """An object of the student's that stays in the check's copy of the kernel."""

    __slots__ = ("_bridge", "_ref", "_text", "_name", "_type")

    def __init__(self, channel: "Channel", data: dict):
        object.__setattr__(self, "_bridge", channel)
        object.__setattr__(self, "_ref", data["ref"])
        object.__setattr__(self, "_text", str(data.get("repr", ""))[:120])
        object.__setattr__(self, "_name", str(data.get("name", ""))[:80])
        object.__setattr__(self, "_type", str(data.get("type", ""))[:80])

    @property
    def _gradekit_type(self) -> str:
        """The name of the object's type in the student's kernel (a generator, a list...)."""
        return self._type

    def __call__(self, *args, **kwargs):
        return self._bridge.call(self, *args, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._bridge.request({"op": "getattr", "target": {"ref": self._ref}, "name": name})

    def __setattr__(self, name: str, value) -> None:
        # sent with the next request (an error in it is that request's error)
        message = {"op": "setattr", "target": {"ref": self._ref}, "name": name}
        self._bridge.pending.append({**message, "value": self._bridge.pack(value)})

    def __repr__(self) -> str:
        return self._text

    def _gradekit_blank(self) -> "Remote":
        """An instance of this class of the student's, made without its __init__."""
        return self._bridge.request({"op": "blank", "target": {"ref": self._ref}})


class Instance:
    """A copy of a student's object's data, for a method lent to it: what the method sets
    is recorded, and set on the student's object when it returns."""

    def __init__(self, data: dict):
        vars(self).update(data)
        object.__setattr__(self, "_gradekit_changes", {})

    def __setattr__(self, name: str, value) -> None:
        object.__setattr__(self, name, value)
        self._gradekit_changes[name] = value


class KernelClient(BlockingKernelClient):
    """jupyter_client's, knowing when its stdin line is up: a kernel drops an input request
    to a client whose stdin line it has not met yet, then waits for its answer forever (a
    first check under load saw that)."""

    stdin_monitor = None

    def connect_stdin(self, identity: bytes | None = None) -> zmq.Socket:
        line = self.context.socket(zmq.DEALER)
        line.linger, line.identity = 1000, identity
        self.stdin_monitor = line.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        line.connect(self._make_url("stdin"))
        return line

    def wait_for_stdin(self, seconds: float) -> bool:
        """Whether the stdin line is up (waiting for it at most `seconds`)."""
        if self.stdin_monitor is None:
            return True
        if not self.stdin_monitor.poll(int(seconds * 1000)):
            return False
        self.end_monitor()
        return True

    def end_monitor(self) -> None:
        if self.stdin_monitor is not None:
            self.stdin_channel.socket.disable_monitor()
            self.stdin_monitor.close(linger=0)
            self.stdin_monitor = None

    def stop_channels(self) -> None:
        self.end_monitor()
        super().stop_channels()


class Bridge:
    """One running kernel, for the grade cells of one notebook: a copy of it per check."""

    def __init__(self, km, log=None):
        self.km = km
        self.sandboxed = bool(getattr(km, "sandboxed", False))
        self.folder = Path(km.folder)
        context = zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_PARENT_MESSAGE)
        self.client = KernelClient(context=context, **({"log": log} if log else {}))
        self.client.load_connection_info(km.get_connection_info())
        self.client.start_channels(shell=True, iopub=False, stdin=True, hb=False, control=False)
        self.poller = zmq.Poller()
        self.poller.register(self.client.stdin_channel.socket, zmq.POLLIN)
        self.poller.register(self.client.shell_channel.socket, zmq.POLLIN)
        self.serving = None  # msg_id of the kernel's serve() while it runs
        self.maker: Channel | None = None  # the line to the kernel's maker of copies
        self.path = self.folder / "checks.sock"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        os.chmod(self.path, 0o666)  # the kernel's own uid connects
        self.listener.listen(8)
        km.lock_folder()
        # the sandbox's own processes (bubblewrap and its init) are never stopped
        self.root, self.keep, self.kernel = km.sandbox_processes()
        self.dying: dict[int, int] = {}  # pid -> pidfd of copies killed, not yet ended

    # -- the kernel's side: forks -------------------------------------------------------

    def open(self) -> None:
        """Start the kernel's serve()."""
        if not self.client.wait_for_stdin(15):
            raise KernelGone("the kernel stopped answering")
        self.serving = self.client.execute(
            SERVE, silent=True, store_history=False, allow_stdin=True
        )
        boot = self._next(15).get("boot")
        if type(boot) is not str:
            raise StudentError("BrokenConversation", "the kernel did not start answering checks")
        self.client.input(AGENT_CODE if boot == BYTECODE else AGENT_SOURCE)
        if self._next(15) != {"ready": True}:
            raise StudentError("BrokenConversation", "the kernel did not start answering checks")

    def start_maker(self, deadline: float) -> None:
        """Ask the kernel to fork its maker of copies, and take its line."""
        if self.serving is None:
            self.open()
        nonce = secrets.token_hex(16)
        self.client.input(json.dumps({"maker": {"socket": str(self.path), "nonce": nonce}}))
        answer = self._next(max(1.0, deadline - time.monotonic()))
        maker = Channel(self, nonce, deadline - time.monotonic(), deadline, {})
        try:
            if answer != {"forked": True}:
                raise maker.fail("BrokenConversation", error_message(answer, "no answer"))
            maker.accept("the kernel's copy never started", "the notebook's own process answered")
            if maker.receive() != {"maker": nonce}:
                raise maker.fail("BrokenConversation", "the kernel's copy did not introduce itself")
        except StudentError as error:
            maker.close()
            raise StudentError(
                "BrokenConversation", f"no copy of your kernel for this check ({error.message})"
            ) from None
        self.maker = maker

    def close(self) -> None:
        """End the kernel's serve() (and its maker), so that the notebook's next cell can run
        (grade cells in a row share one), once the copies killed have ended: that cell sees
        no process of the checks'."""
        self.end_maker()
        self.forget_ended(2)
        if self.serving is None:
            return
        self.client.input(json.dumps({"end": True}))
        deadline = time.monotonic() + 5
        while self.serving is not None and time.monotonic() < deadline:
            try:
                self._next(deadline - time.monotonic())
            except StudentError:
                pass

    def forget_ended(self, seconds: float = 0) -> None:
        """Let go of the killed copies that have ended, waiting up to `seconds` for them
        (an ended copy's pid may be reused)."""
        deadline = time.monotonic() + seconds
        for pid, pidfd in list(self.dying.items()):
            if select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                os.close(pidfd)
                del self.dying[pid]

    def end_maker(self) -> None:
        if self.maker is not None:
            self.maker.close()
            self.maker = None

    def stop(self) -> None:
        self.end_maker()
        for pidfd in self.dying.values():
            os.close(pidfd)
        self.dying.clear()
        self.client.stop_channels()
        self.listener.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def copy(self, seconds: float, lend: dict | None = None) -> "Channel":
        """A new copy of the kernel for one check, isolated, with these functions lent;
        the kernel is stopped (any other process ended) until the channel closes."""
        deadline = time.monotonic() + seconds
        # The notebook's own processes go first: until the kernel has reaped them they take
        # the room (the sandbox's process limit) the maker and its copies need, and the
        # kernel reaps only as it forks a maker. Any killed: a new maker.
        if self.end_helpers():
            self.end_maker()
        if self.maker is None:
            self.start_maker(deadline)
        self.drop_waiting()
        nonce = secrets.token_hex(16)
        order = {"socket": str(self.path), "nonce": nonce, "work": str(self.folder / "work")}
        order["scratch"] = self.km.scratch_size
        order["hide"] = [str(self.folder / "sockets")]  # the kernel's own: no way back to it
        maker = self.maker
        maker.deadline, maker.seconds = deadline, seconds
        try:
            maker.send({"fork": order})
            answer = maker.receive()
            if answer != {"forked": True}:
                raise maker.fail("BrokenConversation", error_message(answer, "no answer"))
        except StudentError as error:
            self.end_maker()  # the next check asks the kernel for a new one
            raise StudentError(
                "BrokenConversation", f"no copy of your kernel for this check ({error.message})"
            ) from None
        channel = Channel(self, nonce, seconds, deadline, lend or {})
        try:
            channel.start()
        except BaseException:
            channel.close()
            raise
        return channel

    def drop_waiting(self) -> None:
        """Close connections nobody asked for (a copy's line must answer its own order)."""
        self.listener.setblocking(False)
        try:
            while True:
                self.listener.accept()[0].close()
        except (BlockingIOError, OSError):
            pass
        finally:
            self.listener.setblocking(True)

    def end_helpers(self, spare: int | None = None) -> bool:
        """Kill the processes the notebook's code started (no check needs one, and a fork
        bomb's would leave no room for the check's copy), all but `spare`; whether there
        were any. Copies already killed are left to end by themselves."""
        self.forget_ended()
        killed = False
        for _ in range(20):
            found = {p for p in descendants(self.root) if not self.is_own(p)} - {spare}
            found -= set(self.dying)
            if not found:
                return killed
            killed = True
            for pid in found:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        return killed

    def stop_others(self, copy_pid: int) -> list[int]:
        """SIGSTOP the kernel and the maker and kill any process the notebook's code started
        meanwhile, so that nothing but the check's copy runs in the sandbox; the stopped
        pids."""
        stopped = [self.kernel, *([self.maker.pid] if self.maker else [])]
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        self.end_helpers(spare=copy_pid)
        return stopped

    def is_own(self, pid: int) -> bool:
        """Whether the process is the sandbox's, the kernel or its maker of copies."""
        return pid in self.keep or pid == self.kernel or bool(self.maker and pid == self.maker.pid)

    def isolation_problem(self, pid: int) -> str | None:
        """Why the process that answered is not an isolated copy, or None when it is."""
        if self.is_own(pid):
            return "the answer came from the notebook's own process"
        status = read(f"/proc/{pid}/status")
        if "\nThreads:\t1\n" not in status:
            return "the copy runs more than one thread"
        if not self.sandboxed:
            return None  # a trusted run (docs/operations/sandbox.md): a separate process suffices
        if "\nCapEff:\t0000000000000000\n" not in status:
            return "the copy kept privileges"
        kernel = self.kernel
        for name in NAMESPACES:
            if (
                os.stat(f"/proc/{pid}/ns/{name}").st_ino
                == os.stat(f"/proc/{kernel}/ns/{name}").st_ino
            ):
                return f"the copy shares the kernel's {name} namespace"
        if SHARED_MAPPING.search(read(f"/proc/{pid}/maps")):
            return "the copy shares memory with another process"
        for entry in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{entry}")
            if not (target == os.devnull and entry in "012" or target.startswith("socket:")):
                return f"the copy has a file open ({entry})"
        if len(os.listdir(f"/proc/{pid}/fd")) > 4:
            return "the copy has more than its line to the grader open"
        shared = writable_mounts(kernel)
        for point, device in writable_mounts(pid).items():
            if device in shared.values():
                return f"the copy can write to a folder it shares ({point})"
        return None

    def _next(self, timeout: float) -> dict:
        """The kernel's next message to the grader (an input request), as a dict."""
        deadline = time.monotonic() + timeout
        while True:
            events = dict(self.poller.poll(20))
            if self.client.stdin_channel.socket in events:
                message = self.client.stdin_channel.get_msg(timeout=0)
                if message["msg_type"] == "input_request":
                    return _decode(message["content"].get("prompt", ""))
            if self.client.shell_channel.socket in events:
                reply = self.client.shell_channel.get_msg(timeout=0)
                if reply["parent_header"].get("msg_id") == self.serving:
                    self.serving = None
                    raise StudentError(
                        "StoppedAnswering",
                        "the notebook's code ended the conversation with the checks",
                    )
            if not events and not _alive(self.km):
                self.serving = None
                raise KernelGone("the kernel died")
            if time.monotonic() > deadline:
                self.serving = None
                _interrupt(self.km)
                raise KernelGone("the kernel stopped answering")


class Channel:
    """One check's line to its copy of the kernel."""

    def __init__(self, bridge: Bridge, nonce: str, seconds: float, deadline: float, lend: dict):
        self.bridge, self.nonce, self.seconds, self.deadline = bridge, nonce, seconds, deadline
        self.lent = dict(lend)
        self.line: socket.socket | None = None
        self.pid = self.pidfd = None
        self.stopped: list[int] = []
        self.received = 0
        self.pending: list[dict] = []  # attributes to set before the next request
        self.problem = ""  # a budget exceeded or a broken line: the check fails with it

    def accept(self, never: str, own: str) -> None:
        """Take the next connection to the grader's socket as this line; `never`: the
        failure if none comes in time, `own`: if one of the notebook's own processes
        connects."""
        listener = self.bridge.listener
        listener.settimeout(max(0.0, self.deadline - time.monotonic()))
        try:
            self.line, _ = listener.accept()
        except TimeoutError:
            raise self.fail("Timeout", never) from None
        pid, _, _ = socket_peer(self.line)
        if self.bridge.is_own(pid):
            raise self.fail("BrokenConversation", own)
        self.pid, self.pidfd = pid, os.pidfd_open(pid)

    def start(self) -> None:
        """Accept the copy's connection, check its isolation, send what is lent."""
        self.accept(
            f"{self.seconds:g} s: the copy of your kernel never started",
            "this check could not be isolated (the notebook's own process answered for its copy)",
        )
        pid = self.pid
        self.stopped = self.bridge.stop_others(pid)
        hello = self.receive()
        if hello != {"hello": self.nonce}:
            why = error_message(hello, "it did not introduce itself")
            raise self.fail("BrokenConversation", f"no copy of your kernel for this check ({why})")
        problem = self.bridge.isolation_problem(pid)
        if problem:
            raise self.fail("BrokenConversation", f"this check could not be isolated ({problem})")
        self.send({"lend": sorted(self.lent)})
        if self.receive() != {"ready": True}:
            raise self.fail("BrokenConversation", "the copy of your kernel did not get ready")

    def close(self) -> None:
        """Kill the copy (and all it started: it is the first process of its namespace),
        then let the rest of the sandbox go on (a killed process runs no more code; the
        system tears it down meanwhile)."""
        if self.line is not None:
            self.line.close()
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.bridge.dying[self.pid] = self.pidfd
            self.pid = None
        for pid in self.stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.stopped = []

    def fail(self, kind: str, message: str) -> StudentError:
        """The error that fails the check; the copy is no use after it."""
        self.problem = message
        if self.line is not None:
            self.line.close()
            self.line = None
        return StudentError(kind, message)

    # -- requests ---------------------------------------------------------------------

    def request(self, message: dict):
        """Send one request; its answer, decoded."""
        value, _ = self._exchange(message)
        return value

    def call(self, target: Remote, *args, **kwargs):
        value, _ = self._exchange(self._call_message(target, args, kwargs), target._name)
        return value

    def printed(self, target: Remote, *args, **kwargs) -> tuple:
        """Call the student's function; (its result, what it printed)."""
        message = {**self._call_message(target, args, kwargs), "capture": True}
        return self._exchange(message, target._name)

    def lookup(self, names) -> dict:
        """The notebook's values of these names (those it defines)."""
        found = self.request({"op": "lookup", "names": sorted(names)})
        if type(found) is not dict or not set(found) <= set(names):
            raise self.fail("BrokenConversation", "the copy of your kernel sent a malformed answer")
        return found

    def seed(self, seed: int) -> None:
        """np.random.seed(seed) in the copy."""
        self.request({"op": "seed", "seed": int(seed)})

    def flush(self) -> None:
        """Set the attributes still waiting for a request."""
        if self.pending:
            self.request({"op": "lookup", "names": []})

    # -- encoding ----------------------------------------------------------------------

    def pack(self, value):
        return agent.pack(value, self._refer)

    def _refer(self, value):
        if isinstance(value, Remote) and value._bridge is self:
            return {"ref": value._ref}
        raise TypeError(f"a check cannot send a {type(value).__name__} to the kernel")

    def _remote(self, data):
        if type(data.get("ref")) is not int:
            raise ValueError("a malformed reference")
        return Remote(self, data)

    def _call_message(self, target, args, kwargs) -> dict:
        if not isinstance(target, Remote):
            raise TypeError(f"{target!r} is not something of the notebook's")
        return {
            "op": "call",
            "target": {"ref": target._ref},
            "args": self.pack(list(args)),
            "kwargs": self.pack(dict(kwargs)),
        }

    # -- transport -------------------------------------------------------------------

    def _exchange(self, message: dict, what: str = "") -> tuple:
        if self.pending:
            message, self.pending = {"op": "batch", "requests": [*self.pending, message]}, []
        self.send(message)
        while True:
            answer = self.receive()
            if "lent" in answer:
                self.send(self._answer_lent(answer))
                continue
            if "error" in answer:
                error = answer["error"] if type(answer["error"]) is dict else {}
                kind, text = str(error.get("type", "Error"))[:80], str(error.get("message", ""))
                raise StudentError(kind, text[:2000], what)
            try:
                value = agent.unpack(answer.get("value"), self._remote)
            except (ValueError, TypeError, OverflowError) as error:
                raise self.fail(
                    "BrokenConversation", f"an answer could not be read ({error})"
                ) from None
            printed = answer.get("printed", "")
            return value, printed if type(printed) is str else ""

    def _answer_lent(self, call: dict) -> dict:
        name = call.get("lent")
        if type(name) is not str or name not in self.lent:
            return {"refused": f"{name} is not lent in this check"}
        try:
            args = agent.unpack(call.get("args"), self._remote)
            kwargs = agent.unpack(call.get("kwargs"), self._remote)
            if "self" not in call:
                return {"answer": self.pack(self.lent[name](*args, **kwargs))}
            data = agent.unpack(call["self"])
            instance = Instance(data if type(data) is dict else {})
            answer = self.pack(self.lent[name](instance, *args, **kwargs))
            return {"answer": answer, "set": agent.pack(instance._gradekit_changes)}
        except StudentError:
            raise
        except Exception as error:  # the student's data made the lent function fail
            return {"refused": f"{name} could not run: {type(error).__name__}: {error}"}

    def send(self, message: dict) -> None:
        if self.line is None:
            raise StudentError("BrokenConversation", self.problem or "the check's copy is gone")
        data = json.dumps(message).encode()
        self.line.settimeout(max(0.001, self.deadline - time.monotonic()))
        try:
            self.line.sendall(agent.HEADER.pack(len(data)) + data)
        except TimeoutError:
            raise self.fail("Timeout", f"{self.seconds:g} s") from None
        except OSError:
            raise self.fail(
                "BrokenConversation", "the copy of your kernel for this check died"
            ) from None

    def receive(self) -> dict:
        """The copy's next message, within the check's time and size budgets."""
        if self.line is None:
            raise StudentError("BrokenConversation", self.problem or "the check's copy is gone")
        (size,) = agent.HEADER.unpack(self._exactly(agent.HEADER.size))
        if size > agent.MAX_MESSAGE:
            raise self.fail(
                "Budget",
                f"an answer of {size:,} bytes is over the budget of "
                f"{agent.MAX_MESSAGE:,} bytes per answer",
            )
        self.received += size
        if self.received > MAX_CHECK_BYTES:
            raise self.fail(
                "Budget",
                f"the answers of this check are over the budget of {MAX_CHECK_BYTES:,} bytes",
            )
        data = self._exactly(size)
        if data.count(b"{") + data.count(b"[") + data.count(b",") > MAX_VALUES:
            raise self.fail(
                "Budget", f"an answer holds more than the budget of {MAX_VALUES:,} values"
            )
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):  # nested deeper than the decoder goes
            message = None
        if type(message) is not dict:
            raise self.fail(
                "BrokenConversation", "the copy of your kernel sent an unreadable answer"
            )
        return message

    def _exactly(self, size: int) -> bytes:
        chunks = []
        while size:
            self.line.settimeout(max(0.001, self.deadline - time.monotonic()))
            try:
                chunk = self.line.recv(min(size, 2**20))
            except TimeoutError:
                raise self.fail("Timeout", f"{self.seconds:g} s") from None
            except OSError:
                chunk = b""
            if not chunk:
                raise self.fail("BrokenConversation", "the copy of your kernel for this check died")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


def error_message(answer: dict, default: str) -> str:
    """The message of the error sent in place of an answer (`default` if there is none)."""
    error = answer.get("error") if type(answer.get("error")) is dict else {}
    return str(error.get("message", default))[:200]


def writable_mounts(pid: int) -> dict[str, str]:
    """Mount point -> device of the writable mounts a process can reach (not covered by a
    mount made later on the same folder or on one above it)."""
    reachable, later = {}, set()
    for line in reversed(read(f"/proc/{pid}/mountinfo").splitlines()):
        fields = line.split()
        point, device, writable = fields[4], fields[2], fields[5].split(",")[0] == "rw"
        covered = any(folder in later for folder in _folders_above(point))
        if writable and not covered and not point.startswith("/proc"):
            reachable[point] = device
        later.add(point)
    return dict(reversed(reachable.items()))


def _folders_above(point: str):
    """The folder itself, then every folder above it up to /."""
    yield point
    while point != "/":
        point = os.path.dirname(point)
        yield point


def _decode(prompt) -> dict:
    if type(prompt) is not str or len(prompt) > MAX_PARENT_MESSAGE:
        raise StudentError("BrokenConversation", "the kernel sent an answer too large to read")
    try:
        message = json.loads(prompt)
    except (ValueError, RecursionError):
        raise StudentError("BrokenConversation", "the kernel sent an unreadable answer") from None
    if type(message) is not dict:
        raise StudentError("BrokenConversation", "the kernel sent an unreadable answer")
    return message


def _alive(km) -> bool:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return process is not None and process.poll() is None


def _interrupt(km) -> None:
    from jupyter_core.utils import run_sync

    result = km.interrupt_kernel()
    if inspect.isawaitable(result):

        async def interrupted():
            await result

        run_sync(interrupted)()
