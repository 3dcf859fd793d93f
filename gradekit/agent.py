"""What crosses between a grading kernel and the grader, and the kernel's side of it.

At grading time the grader judges every grade cell itself (`gradekit.judge`); the student's
kernel only runs the student's code. This module is the kernel's half of that conversation:
the grader sends its source to the kernel once (the kit itself is not importable there), then
starts `serve()` for each grade cell. `serve` reads requests (look up a name, call, get or set
an attribute) through the kernel's stdin channel, one `input()` round trip each, runs them on
the student's objects and answers with their results *by value*: numbers, strings, lists,
tuples, dicts and numeric numpy arrays as raw bytes. Anything else (a function, a network, a
class) stays in the kernel and is answered by a numbered reference.

The grader decodes answers with `unpack`: plain data only, every size and type checked, never a
pickle, never an object of the student's. The same functions encode and decode both ways.

Functions the grader lends for one check (a known-good `s` while it checks
`logistic_regression`) are stubs here: they hold no reference code and ask the grader for each
result, with a token that is refused once the check is over.
"""

import base64
import contextlib
import io
import json
import os
import sys
import tempfile
import warnings

import numpy as np

ARRAY_KINDS = "biuf"  # booleans, integers, floats: the dtypes that cross as raw bytes
MAX_DEPTH = 32


def pack(value, refer=None, depth=0):
    """A JSON-ready form of the value: plain data as such, anything else through refer()."""
    if depth > MAX_DEPTH:
        raise ValueError("data nested too deeply")
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int) and not isinstance(value, np.generic):
        return {"int": str(int(value))}
    if isinstance(value, float):
        return {"float": repr(float(value))}
    if isinstance(value, np.ndarray | np.generic) and value.dtype.kind in ARRAY_KINDS:
        array = np.asarray(value).view(np.ndarray).copy(order="C")  # 0-d stays 0-d
        return {
            "array": base64.b64encode(array.tobytes()).decode("ascii"),
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "scalar": isinstance(value, np.generic),
        }
    if type(value) in (list, tuple):
        return {type(value).__name__: [pack(item, refer, depth + 1) for item in value]}
    if type(value) is dict and all(type(key) is str for key in value):
        return {"dict": {key: pack(item, refer, depth + 1) for key, item in value.items()}}
    if refer is None:
        raise TypeError(f"cannot send a {type(value).__name__}")
    return refer(value)


def unpack(data, resolve=None, depth=0):
    """The value packed in data (plain data only, every size and type checked); references
    go through resolve()."""
    if depth > MAX_DEPTH:
        raise ValueError("data nested too deeply")
    if data is None or type(data) in (bool, str):
        return data
    if type(data) is not dict or not 1 <= len(data) <= 4:
        raise ValueError(f"unexpected data of type {type(data).__name__}")
    if "int" in data:
        return int(_text(data["int"], 4300))
    if "float" in data:
        return float(_text(data["float"], 40))
    if "array" in data:
        return _array(data)
    if "list" in data or "tuple" in data:
        items = data.get("list", data.get("tuple"))
        if type(items) is not list:
            raise ValueError("a list that is not a list")
        values = [unpack(item, resolve, depth + 1) for item in items]
        return values if "list" in data else tuple(values)
    if "dict" in data:
        items = data["dict"]
        if type(items) is not dict:
            raise ValueError("a dict that is not a dict")
        return {_text(k, 200): unpack(v, resolve, depth + 1) for k, v in items.items()}
    if "ref" in data and resolve is not None:
        return resolve(data)
    raise ValueError(f"unexpected data: {sorted(data)[:4]}")


def _text(value, limit):
    if type(value) is not str or len(value) > limit:
        raise ValueError("a malformed number")
    return value


def _array(data):
    dtype = np.dtype(_text(data.get("dtype"), 8))
    shape = data.get("shape")
    if dtype.kind not in ARRAY_KINDS or dtype.itemsize > 16:
        raise ValueError(f"arrays of {dtype} are not accepted")
    if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError("a malformed array shape")
    raw = base64.b64decode(_text(data["array"], 2**30), validate=True)
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ValueError("array data of the wrong size")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    return array[()] if data.get("scalar") is True and array.ndim == 0 else array


# --- the kernel's side -------------------------------------------------------------------


class Agent:
    """Answers the grader's requests in the kernel, one grade cell at a time."""

    def __init__(self, namespace, ask):
        self.namespace = namespace  # the notebook's globals
        self.ask = ask  # input(): one round trip to the grader
        self.objects = {}  # reference number -> object kept here
        self.own_running = False  # a lent method is running the student's own

    def refer(self, value):
        number = len(self.objects) + 1
        self.objects[number] = value
        try:
            text = repr(value)[:120]
        except Exception:
            text = f"<{type(value).__name__}>"
        name = getattr(value, "__qualname__", None)
        name = name if type(name) is str else ""
        return {"ref": number, "repr": text, "name": name[:80]}

    def resolve(self, data):
        return self.objects[data["ref"]]

    def send(self, message):
        """Send a message to the grader; return its answer."""
        return json.loads(self.ask(json.dumps(message)))

    def serve(self):
        """Answer requests until the grader ends the conversation."""
        message = {"ready": True}
        while True:
            request = self.send(message)
            if "end" in request:
                return
            message = self.answer(request)

    def answer(self, request):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                lend, token = request.get("lend", []), request.get("token")
                with self.lending(lend, token, request.get("pure", False)):
                    return self.run(request)
        except BaseException as error:  # noqa: B036 - the student's code may raise anything
            return {"error": {"type": type(error).__name__[:80], "message": _message(error)}}

    def run(self, request):
        op = request["op"]
        if op == "batch":  # attributes set meanwhile, then the request that needs them
            for part in request["requests"][:-1]:
                self.run(part)
            return self.run(request["requests"][-1])
        if op == "lookup":
            found = {
                name: self.namespace[name] for name in request["names"] if name in self.namespace
            }
            return {"value": pack(found, self.refer)}
        target = self.resolve(request["target"]) if "target" in request else None
        if op == "getattr":
            return {"value": pack(getattr(target, request["name"]), self.refer)}
        if op == "setattr":
            setattr(target, request["name"], unpack(request["value"], self.resolve))
            return {"value": None}
        if op == "blank":  # an instance made without __init__ (checks.make)
            return {"value": pack(object.__new__(target), self.refer)}
        if op == "seed":
            np.random.seed(request["seed"])
            return {"value": None}
        if op == "call":
            args = unpack(request["args"], self.resolve)
            kwargs = unpack(request["kwargs"], self.resolve)
            if not request.get("capture"):
                return {"value": pack(target(*args, **kwargs), self.refer)}
            with _printed() as printed:
                value = target(*args, **kwargs)
            return {"value": pack(value, self.refer), "printed": printed.getvalue()[:100_000]}
        raise ValueError(f"unknown request {op!r}")

    @contextlib.contextmanager
    def lending(self, lend, token, pure=False):
        """Put the grader's stubs in place of these names (`s`, `ShallowNeuralNet.forward`)
        for one request, then put the student's own back."""
        saved = []  # (owner, attribute, old): the notebook's namespace or one of its classes
        try:
            for name in lend:
                holder, _, attribute = name.rpartition(".")
                owner = self.namespace[holder] if holder else self.namespace
                own = None if pure or not holder else _lookup(owner, attribute)
                saved.append((owner, attribute, _get(owner, attribute)))
                _put(owner, attribute, self.stub(name, token, own))
            yield
        finally:
            for owner, attribute, old in reversed(saved):
                _put(owner, attribute, old)

    def stub(self, name, token, own):
        """A function lent by the grader. It holds no code of its own. A lent method first
        runs the student's own (for what that keeps on the instance; its result and errors
        are ignored, and the helpers it calls are the student's own), then asks the grader for
        the result and for the attributes to set."""
        agent = self

        def lent(*args, **kwargs):
            if agent.own_running and own is not None:  # inside a student's own method
                return own(*args, **kwargs)
            message = {"lent": name, "token": token, "kwargs": pack(kwargs, agent.refer)}
            if "." in name:  # a method: its instance's data goes along, by value
                instance, rest = args[0], args[1:]
                message["self"] = pack(_data(instance))
            else:
                instance, rest = None, args
            message["args"] = pack(list(rest), agent.refer)
            result = None
            if own is not None and not agent.own_running:
                agent.own_running = True
                try:
                    result = own(*args, **kwargs)
                except BaseException:  # noqa: B036 - whatever it raises, the lent one answers
                    result = None
                finally:
                    agent.own_running = False
            while True:
                reply = agent.send(message)
                if "refused" in reply:
                    raise RuntimeError(reply["refused"])
                if "answer" in reply:
                    for attribute, value in unpack(reply.get("set", {"dict": {}})).items():
                        setattr(instance, attribute, value)
                    answer = unpack(reply["answer"], agent.resolve)
                    return result if answer is None else answer
                message = agent.answer(reply)  # the grader asks something first

        lent.__name__ = lent.__qualname__ = name.rsplit(".", 1)[-1]
        return lent


_MISSING = object()


def _data(owner):
    """The instance's attributes that are plain data."""
    found = {}
    for attribute, value in vars(owner).items():
        try:
            found[attribute] = pack(value)
        except (TypeError, ValueError):
            continue
        found[attribute] = value
    return found


def _lookup(owner, attribute):
    """The student's own function of this name, or None."""
    found = owner.get(attribute) if isinstance(owner, dict) else getattr(owner, attribute, None)
    return found if callable(found) else None


def _get(owner, attribute):
    found = owner if isinstance(owner, dict) else vars(owner)
    return found.get(attribute, _MISSING)


def _put(owner, attribute, value):
    if isinstance(owner, dict) and value is _MISSING:
        owner.pop(attribute, None)
    elif isinstance(owner, dict):
        owner[attribute] = value
    elif value is _MISSING:
        type.__delattr__(owner, attribute)
    else:
        type.__setattr__(owner, attribute, value)


@contextlib.contextmanager
def _printed():
    """Everything printed meanwhile, through sys.stdout, sys.stderr or straight to the file
    descriptors 1 and 2."""
    text = io.StringIO()
    with tempfile.TemporaryFile() as raw:
        saved = [os.dup(1), os.dup(2)]
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:
                pass
        os.dup2(raw.fileno(), 1)
        os.dup2(raw.fileno(), 2)
        try:
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield text
                for stream in (sys.__stdout__, sys.__stderr__):
                    try:
                        stream.flush()
                    except Exception:
                        pass
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)
            raw.seek(0)
            text.write(raw.read(100_000).decode("utf-8", "replace"))


def _message(error):
    try:
        return str(error)[:2000]
    except BaseException:  # noqa: B036 - a student's exception whose str() raises
        return ""


def serve():
    """Entry point the grader runs in the kernel for each grade cell."""
    shell = sys.modules["IPython"].get_ipython()
    agent = shell.user_ns.get("_gradekit_agent_")
    if not isinstance(agent, Agent):
        agent = shell.user_ns["_gradekit_agent_"] = Agent(shell.user_ns, shell.kernel.raw_input)
    agent.serve()
