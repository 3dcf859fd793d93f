"""The grader's side of the conversation with a student's kernel (see `gradekit.agent`).

A `Bridge` lets trusted code (the grade cells' checks, run in the grading process) use the
student's functions and objects as if they were local: `Remote` stands for an object that
stays in the kernel, and calling it, reading or setting one of its attributes is one request
answered by value. Nothing the kernel sends is run or unpickled here: answers are decoded as
plain data (`agent.unpack`), and a student's exception arrives as a
`StudentError` carrying its type name and message.
"""

import inspect
import json
import secrets
import time
from contextlib import contextmanager
from pathlib import Path

import zmq
from jupyter_client.blocking import BlockingKernelClient

from . import agent
from .checks import likely

AGENT_SOURCE = Path(agent.__file__).read_text(encoding="utf-8")
MAX_MESSAGE = 256 * 2**20  # largest answer accepted from a kernel, in bytes
INSTALL = (
    "import sys as _sys, types as _types\n"
    "_module = _types.ModuleType('_gradekit_agent')\n"
    "exec({source!r}, _module.__dict__)\n"
    "_sys.modules['_gradekit_agent'] = _module\n"
)
SERVE = "__import__('sys').modules['_gradekit_agent'].serve()\n"


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
            return f"{what} did not finish in time ({self.message})"
        if self.kind == "TypeError" and "only" in self.message and "array" in self.message:
            return f"{what} raised TypeError: {self.message}; " + likely(
                "works on single numbers only: math's functions, where numpy's (np.exp, "
                "np.log) work on whole arrays"
            )
        if self.kind in ("BrokenConversation", "StoppedAnswering", "NameError"):
            return self.message
        return f"{what} raised {self.kind}: {self.message}".rstrip(": ")


class KernelGone(Exception):
    """The kernel died, or stopped answering even after an interrupt."""


class Remote:
    """An object of the student's that stays in the kernel."""

    __slots__ = ("_bridge", "_ref", "_text", "_name")

    def __init__(self, bridge: "Bridge", data: dict):
        object.__setattr__(self, "_bridge", bridge)
        object.__setattr__(self, "_ref", data["ref"])
        object.__setattr__(self, "_text", str(data.get("repr", ""))[:120])
        object.__setattr__(self, "_name", str(data.get("name", ""))[:80])

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


class Bridge:
    """Requests to one running kernel, for the grade cells of one notebook."""

    def __init__(self, km, timeout: float, log=None):
        self.km = km
        self.timeout = timeout
        info = km.get_connection_info()
        self.client = BlockingKernelClient(log=log)
        self.client.load_connection_info(info)
        self.client.start_channels(shell=True, iopub=False, stdin=True, hb=False, control=False)
        self.poller = zmq.Poller()
        self.poller.register(self.client.stdin_channel.socket, zmq.POLLIN)
        self.poller.register(self.client.shell_channel.socket, zmq.POLLIN)
        self.serving = None  # msg_id of the kernel's serve() while it runs
        self.lent: dict = {}  # name -> trusted function, while a check lends them
        self.token = None
        self.pure = False
        self.pending: list[dict] = []  # attributes to set before the next request
        self.interrupted = False
        self.installed = False  # the agent is sent to each kernel once

    # -- the conversation --------------------------------------------------------------

    def open(self) -> None:
        """Start the kernel's serve()."""
        code = SERVE if self.installed else INSTALL.format(source=AGENT_SOURCE) + SERVE
        self.serving = self.client.execute(code, silent=True, store_history=False, allow_stdin=True)
        self.installed = True
        if self._next() != {"ready": True}:
            raise StudentError("BrokenConversation", "the kernel did not start answering checks")

    def flush(self) -> None:
        """Set the attributes still waiting for a request."""
        if self.pending:
            self.request({"op": "lookup", "names": []})

    def close(self) -> None:
        """End the kernel's serve(), so that the notebook's next cell can run (grade cells
        in a row share one)."""
        self.pending = []
        if self.serving is None:
            return
        self.client.input(json.dumps({"end": True}))
        deadline = time.monotonic() + 5
        while self.serving is not None and time.monotonic() < deadline:
            try:
                self._next(deadline - time.monotonic())
            except StudentError:
                pass

    def stop(self) -> None:
        self.client.stop_channels()

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
        return self.request({"op": "lookup", "names": sorted(names)})

    def seed(self, seed: int) -> None:
        """np.random.seed(seed) in the kernel."""
        self.request({"op": "seed", "seed": int(seed)})

    @contextmanager
    def lending(self, functions: dict, pure: bool = False):
        """While the block runs, calls into the kernel see these trusted functions in place
        of the student's (names such as `s` or `ShallowNeuralNet.forward`); their stubs are
        refused once the block ends. Pure stubs do not run the student's own first."""
        self.lent, self.token, self.pure = dict(functions), secrets.token_hex(16), pure
        try:
            yield
        finally:
            self.lent, self.token, self.pure = {}, None, False

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
        if self.serving is None:
            self.open()
        if self.pending:
            message, self.pending = {"op": "batch", "requests": [*self.pending, message]}, []
        if self.lent:
            message = {**message, "lend": sorted(self.lent), "token": self.token, "pure": self.pure}
        self.client.input(json.dumps(message))
        self.interrupted = False
        while True:
            answer = self._next()
            if "lent" in answer:
                self.client.input(json.dumps(self._answer_lent(answer)))
                continue
            if "error" in answer:
                error = answer["error"] if type(answer["error"]) is dict else {}
                kind, text = str(error.get("type", "Error"))[:80], str(error.get("message", ""))
                if self.interrupted:
                    kind, text = "Timeout", f"stopped after {self.timeout:g} s"
                raise StudentError(kind, text[:2000], what)
            value = agent.unpack(answer.get("value"), self._remote)
            printed = answer.get("printed", "")
            return value, printed if type(printed) is str else ""

    def _answer_lent(self, call: dict) -> dict:
        name = call.get("lent")
        if call.get("token") != self.token or name not in self.lent:
            return {"refused": f"{name} was lent for one check only; that check is over"}
        try:
            args = agent.unpack(call.get("args"), self._remote)
            kwargs = agent.unpack(call.get("kwargs"), self._remote)
            if "self" not in call:
                return {"answer": self.pack(self.lent[name](*args, **kwargs))}
            data = agent.unpack(call["self"])
            instance = Instance(data if type(data) is dict else {})
            answer = self.pack(self.lent[name](instance, *args, **kwargs))
            return {"answer": answer, "set": agent.pack(instance._gradekit_changes)}
        except KernelGone:
            raise
        except Exception as error:  # the student's data made the lent function fail
            return {"refused": f"{name} could not run: {type(error).__name__}: {error}"}

    def _next(self, timeout: float | None = None) -> dict:
        """The kernel's next message to the grader (an input request), as a dict."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
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
                if self.interrupted:
                    self.serving = None
                    raise KernelGone("the kernel stopped answering, even after an interrupt")
                self.interrupted = True
                _interrupt(self.km)
                deadline = time.monotonic() + 5


def _decode(prompt) -> dict:
    if type(prompt) is not str or len(prompt) > MAX_MESSAGE:
        raise StudentError("BrokenConversation", "the kernel sent an answer too large to read")
    try:
        message = json.loads(prompt)
    except ValueError:
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
        run_sync(lambda: result)()
