"""What crosses between a grading kernel and the grader, and the kernel's side of it.

At grading time the grader judges every grade cell itself (`gradekit.judge`); the student's
kernel only runs the student's code, and every check runs in a disposable copy of it:

- the grader sends this module's source to the kernel with each run of grade cells (the kit
  itself is not importable there) and runs `serve()`, which binds no name in the notebook's
  namespace and answers one kind of request, through the kernel's stdin channel: fork the
  maker, a copy of the kernel as the notebook left it (one thread, no shared memory, no open
  file but its line to the grader) that forks one copy of itself per check on the grader's
  order (`make_copies`);
- each copy has namespaces of its own (user, mount, pid, IPC, network, host name), a fresh
  `/tmp`, private writes to the working folder, every other folder read-only, no shared
  memory, no open file but its line to the grader, and no privileges; the grader checks all
  of that from outside before it sends the copy anything, stops the kernel and the maker
  (and ends any other process) while the check runs, and kills the copy when the check
  ends. Nothing a check's run learns reaches another check;
- in the copy, `Copy` answers the check's requests (look up a name, call, get or set an
  attribute) with their results *by value*: numbers, strings, lists, tuples, dicts and
  numeric numpy arrays as raw bytes. Anything else (a function, a network, a class) stays in
  the copy and is answered by a numbered reference. Functions the check lends (a known-good
  `s` while it checks `logistic_regression`) are stubs that hold no reference code and ask
  the grader for each result.

The grader decodes answers with `unpack`: plain data only, every size and type checked, never a
pickle, never an object of the student's. The same functions encode and decode both ways.
"""

import base64
import contextlib
import ctypes
import errno
import gc
import io
import json
import math
import os
import signal
import socket
import struct
import sys
import tempfile
import warnings

import numpy as np

ARRAY_KINDS = "biuf"  # booleans, integers, floats: the dtypes that cross as raw bytes
MAX_DEPTH = 32
MAX_MESSAGE = 16 * 2**20  # largest message either way, in bytes
HEADER = struct.Struct(">Q")  # each message on a check's line: its length, then its JSON


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
    if isinstance(value, float) and not isinstance(value, np.generic):
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
    if type(shape) is not list or len(shape) > MAX_DEPTH:
        raise ValueError("a malformed array shape")
    if not all(type(n) is int and 0 <= n <= MAX_MESSAGE for n in shape):
        raise ValueError("a malformed array shape")
    raw = base64.b64decode(_text(data["array"], MAX_MESSAGE), validate=True)
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise ValueError("array data of the wrong size")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    return array[()] if data.get("scalar") is True and array.ndim == 0 else array


def like(answer, own):
    """The lent answer in the types the student's own function gave (an np.float64 stays
    one, a list of numpy ints stays one, 0-d arrays stay 0-d), where the two agree in
    shape and the answer loses nothing; otherwise the answer as it is."""
    try:
        if type(own) in (list, tuple) and type(answer) in (list, tuple) and len(own) == len(answer):
            return type(own)(like(a, o) for a, o in zip(answer, own, strict=True))
        if isinstance(own, np.generic) and np.ndim(answer) == 0:
            converted = own.dtype.type(answer)
        elif isinstance(own, np.ndarray) and np.shape(answer) == own.shape:
            converted = np.asarray(answer).astype(own.dtype)
        elif type(own) is float and np.ndim(answer) == 0 and not isinstance(answer, bool):
            converted = float(answer)
        else:
            return answer
        if np.array_equal(converted, answer):
            return converted
    except Exception:  # a type that cannot hold the answer: the answer as it is
        pass
    return answer


# --- the kernel's side: forks --------------------------------------------------------------

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 0x20, 0x1000, 0x400, 0x800, 0x200000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
PR_SET_PDEATHSIG = 1
SYS_CLONE3 = 435  # the same number on every architecture
# clone3's arguments: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls
CLONE_ARGS = struct.Struct("8Q")
MOUNT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
MOUNT_FLAGS.update(noatime=MS_NOATIME, nodiratime=MS_NODIRATIME, relatime=MS_RELATIME)


def serve():
    """Entry point the grader runs in the kernel for a run of grade cells: fork the maker of
    copies whenever the grader asks for one, until it ends the conversation."""
    ask = sys.modules["IPython"].get_ipython().kernel.raw_input
    message = {"ready": True}
    while True:
        request = json.loads(ask(json.dumps(message)))
        if "end" in request:
            return
        _reap()
        try:
            pid = os.fork()
        except OSError as error:
            message = {"error": {"type": "ForkFailed", "message": str(error)}}
            continue
        if pid == 0:
            try:
                make_copies(request["maker"])
            finally:
                os._exit(0)
        message = {"forked": True}  # the maker connects by itself (and is reaped later)


def make_copies(order):
    """In the maker: one thread (a fork keeps only the thread that forked), shared memory
    made private, every file closed and every object frozen once for all its copies; then,
    for each order on its line to the grader, a fork that becomes the check's copy. Ends
    with the kernel."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _private_memory(libc)
    _close_files()
    gc.freeze()  # what every copy inherits: no copy's garbage collection goes through it
    line = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    line.connect(order["socket"])
    _send(line, {"maker": order["nonce"]})
    while True:
        request = _receive(line)
        _reap()
        pid, isolated = fork_isolated(libc)
        if pid == 0:
            try:
                _copy_main(libc, request["fork"], isolated)
            finally:
                os._exit(0)
        if pid < 0:
            error = os.strerror(ctypes.get_errno())
            _send(line, {"error": {"type": "ForkFailed", "message": error}})
        else:
            _send(line, {"forked": True})  # the copy connects when it is ready


def _reap():
    """Collect the ended children (their exit status is of no use)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _copy_main(libc, order, isolated):
    """In the copy, the first process of its own pid namespace (when `isolated`): its
    folders and privileges, then the check's requests."""
    _close_files()
    line = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    line.connect(order["socket"])
    if isolated:
        _private_folders(libc, order["work"], int(order["scratch"]), order["hide"])
        _drop_privileges(libc)
    Copy(line, order["nonce"]).serve()


def fork_isolated(libc, user=True, clone3=True):
    """Fork a child in new mount, pid, IPC, network and host name namespaces, the first
    process of its pid namespace, and, unless `user` is False (a process that has the
    privileges already), in a new user namespace with the same uid and gid. Returns, as
    fork, the child's pid in the parent (-1, errno set, when no child could be made) and 0
    in the child; and, for the child, whether its namespaces are new: False when the system
    refuses them, and the child is then a plain fork. The one way the kit forks in the sandbox: each
    check's copy here, each warm kernel in `zygote`.

    One clone3 call, which runs no fork handler (no student's, no library's): for a process
    with one thread, like the maker of copies. A process with others (`clone3` False; a
    library's thread pool must be told by its handlers), or a system without clone3 (Linux
    before 5.3, a seccomp filter without it): libc's fork of an intermediate process that
    moves into the namespaces, forks the child and ends."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS
    flags |= CLONE_NEWUSER if user else 0
    ids = os.getuid(), os.getgid()  # read before: the new user namespace maps none yet
    if clone3:
        args = ctypes.create_string_buffer(CLONE_ARGS.pack(flags, 0, 0, 0, signal.SIGCHLD, 0, 0, 0))
        pid = libc.syscall(SYS_CLONE3, args, CLONE_ARGS.size)
        if pid == 0:
            try:
                _enter(libc, user, ids)
            except OSError:
                os._exit(1)
            return 0, True
        if pid > 0:
            return pid, True
        if ctypes.get_errno() != errno.ENOSYS:
            return libc.fork(), False  # namespaces refused
    middle = libc.fork()
    if middle > 0:  # it ends once the child is made: whether it made one
        status = os.waitpid(middle, 0)[1]
        if os.waitstatus_to_exitcode(status) != 0:
            ctypes.set_errno(errno.EAGAIN)
            return -1, True
        return middle, True
    if middle < 0:
        return -1, True
    isolated = libc.unshare(flags) == 0  # refused: the child is a plain fork
    try:
        if isolated:
            _enter(libc, user, ids)
        pid = libc.fork()
    except OSError:
        pid = -1
    if pid != 0:
        os._exit(0 if pid > 0 else 1)
    return 0, isolated


def _enter(libc, user, ids):
    """In new namespaces: the same uid and gid in the new user namespace or, without one,
    mounts that no longer reach the namespace these were copied from."""
    if user:
        uid, gid = ids
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    else:
        _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)


def _send(line, message):
    data = json.dumps(message).encode()
    if len(data) > MAX_MESSAGE:
        data = json.dumps({"error": {"type": "TooLarge", "message": "answer too large"}}).encode()
    line.sendall(HEADER.pack(len(data)) + data)


def _receive(line):
    """The next message on a line from the grader (the process ends with the line)."""
    (size,) = HEADER.unpack(_exactly(line, HEADER.size))
    return json.loads(_exactly(line, size))


def _exactly(line, size):
    chunks = []
    while size:
        chunk = line.recv(min(size, 2**20))
        if not chunk:
            os._exit(0)
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _write(path, text):
    with open(path, "w") as file:
        file.write(text)


def _mount(libc, source, target, kind, flags, options=None):
    data = options.encode() if options else None
    if libc.mount(source.encode(), target.encode(), kind.encode() if kind else None, flags, data):
        raise OSError(ctypes.get_errno(), f"cannot mount {kind or 'again'} on {target}")


def _private_folders(libc, work, scratch, hide):
    """A fresh /tmp (the kernel's folders in it are gone), the working folder's writes kept
    in the copy (an overlay on what the notebook left there), every other writable folder
    read-only, the folders to hide (the kernel's own sockets) empty, and no /proc (no other
    process of the sandbox in sight)."""
    lower = os.open(work, os.O_PATH | os.O_DIRECTORY)
    _mount(libc, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch},mode=1777")
    upper, scratch_work = "/tmp/.copy/upper", "/tmp/.copy/work"
    for folder in (upper, scratch_work, work):
        os.makedirs(folder, exist_ok=True)
    options = f"lowerdir=/proc/self/fd/{lower},upperdir={upper},workdir={scratch_work},userxattr"
    _mount(libc, "overlay", work, "overlay", MS_NOSUID | MS_NODEV, options)
    os.close(lower)
    os.chdir(work)
    _read_only_except(libc, ("/tmp", work))
    for folder in hide:  # a socket in a read-only folder still takes connections
        if os.path.isdir(folder):
            _mount(libc, "tmpfs", folder, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4096")
    _mount(libc, "tmpfs", "/proc", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4096")


def _read_only_except(libc, writable):
    """Remount every writable mount read-only but those named (and /proc's)."""
    for point, options in _mounts():
        if point in writable or point.startswith("/proc") or "rw" not in options:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        flags |= sum(MOUNT_FLAGS[name] for name in options if name in MOUNT_FLAGS)
        with contextlib.suppress(OSError):  # a mount below another: out of reach anyway
            _mount(libc, "none", point, None, flags)


def _mounts():
    """(mount point, its options) of this mount namespace, last mounted last."""
    found = []
    with open("/proc/self/mountinfo") as file:
        for line in file:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            found.append((point, fields[5].split(",")))
    return found


def _close_files():
    """No open file but the standard streams, which read and write nothing."""
    null = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(null, descriptor)
    os.closerange(3, 65536)


def _private_memory(libc):
    """Make every memory mapping that is shared with another process private to this copy."""
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int]
    libc.mmap.argtypes += [ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    with open("/proc/self/maps") as file:
        shared = [line.split()[:2] for line in file if line.split()[1][3] == "s"]
    for span, perms in shared:
        start, end = (int(part, 16) for part in span.split("-"))
        size = end - start
        libc.mprotect(start, size, 1)  # readable, to keep its contents
        saved = ctypes.string_at(start, size)
        if libc.mmap(start, size, 3, 0x32, -1, 0) != start:  # private, anonymous, fixed
            raise OSError(ctypes.get_errno(), "cannot make shared memory private")
        ctypes.memmove(start, saved, size)
        libc.mprotect(
            start, size, sum(b for c, b in zip(perms[:3], (1, 2, 4), strict=True) if c != "-")
        )


def _drop_privileges(libc):
    """Give up every capability the new user namespace gave (mounts stay as they are)."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data):
        raise OSError(ctypes.get_errno(), "cannot drop capabilities")


class Copy:
    """Answers one check's requests in its copy of the kernel."""

    def __init__(self, line, nonce):
        self.line = line
        shell = sys.modules["IPython"].get_ipython()
        self.namespace = shell.user_ns  # the notebook's globals
        self.objects = {}  # reference number -> object kept here
        # The kernel's channels are not the copy's: what it prints goes nowhere (or to a
        # capture), and nothing may wait for an answer from the notebook's front end.
        sys.stdout = sys.stderr = open(1, "w", closefd=False)  # noqa: SIM115 - /dev/null
        shell.display_pub.publish = lambda *args, **kwargs: None
        shell.kernel.raw_input = shell.kernel.getpass = _no_input
        self.send({"hello": nonce})

    def send(self, message):
        _send(self.line, message)

    def receive(self):
        return _receive(self.line)

    def serve(self):
        """Answer requests until the grader ends the check (it then kills the copy)."""
        request = self.receive()
        self.lend(request.get("lend", []))
        message = {"ready": True}
        while True:
            self.send(message)
            message = self.answer(self.receive())

    def refer(self, value):
        number = len(self.objects) + 1
        self.objects[number] = value
        try:
            text = repr(value)[:120]
        except Exception:
            text = f"<{type(value).__name__}>"
        name = getattr(value, "__qualname__", None)
        name = name if type(name) is str else ""
        kind = type.__dict__["__name__"].__get__(type(value))  # not a metaclass's own __name__
        return {"ref": number, "repr": text, "name": name[:80], "type": kind[:80]}

    def resolve(self, data):
        return self.objects[data["ref"]]

    def answer(self, request):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
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

    def lend(self, names):
        """Put the grader's stubs in place of these names (`s`, `ShallowNeuralNet.forward`)
        for the whole check: the copy is thrown away when it ends."""
        for name in names:
            holder, _, attribute = name.rpartition(".")
            owner = self.namespace[holder] if holder else self.namespace
            own = _lookup(owner, attribute) if holder else None
            stub = self.stub(name, own)
            if isinstance(owner, dict):
                owner[attribute] = stub
            else:
                type.__setattr__(owner, attribute, stub)

    def stub(self, name, own):
        """A function lent by the grader. It holds no code of its own. A lent method first
        runs the student's own (for what that keeps on the instance; its errors are ignored,
        and the helpers it calls meanwhile are the student's own), then asks the grader for
        the result, in the types the student's own gave, and for the attributes to set."""
        copy, running, method = self, [], "." in name  # running: the student's own runs

        def lent(*args, **kwargs):
            if running:
                return own(*args, **kwargs)
            message = {"lent": name, "kwargs": pack(kwargs, copy.refer)}
            if method:  # its instance's data goes along, by value
                instance, rest = args[0], args[1:]
                message["self"] = pack(_data(instance))
            else:
                instance, rest = None, args
            message["args"] = pack(list(rest), copy.refer)
            result = None
            if own is not None:
                running.append(True)
                try:
                    result = own(*args, **kwargs)
                except BaseException:  # noqa: B036 - whatever it raises, the lent one answers
                    result = None
                finally:
                    running.clear()
            while True:
                copy.send(message)
                reply = copy.receive()
                if "refused" in reply:
                    raise RuntimeError(reply["refused"])
                if "answer" in reply:
                    for attribute, value in unpack(reply.get("set", {"dict": {}})).items():
                        setattr(instance, attribute, value)
                    answer = unpack(reply["answer"], copy.resolve)
                    return result if answer is None else like(answer, result)
                message = copy.answer(reply)  # the grader asks something first

        lent.__name__ = lent.__qualname__ = name.rsplit(".", 1)[-1]
        return lent


def _no_input(*args, **kwargs):
    raise EOFError("a check cannot answer input()")


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
    found = getattr(owner, attribute, None)
    return found if callable(found) else None


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
