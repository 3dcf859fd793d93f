"""Helpers for the check cells of the W1-S3 notebooks.

The first cell of each notebook imports this module before any of your code runs, so
the helpers keep their own references to numpy and to the Python builtins they use.
A check that finds one of those replaced by notebook code refuses to run: checks
cannot be switched off by patching `np.allclose`, `abs`, `print` or IPython.

You do not need to read or change this file; the checks tell you what they expect.
"""

import builtins
import contextlib
import io
import warnings

import numpy as np
import numpy.testing

_NUMPY_NAMES = (
    "abs", "allclose", "array", "array_equal", "asarray", "dot", "errstate", "exp",
    "isclose", "isfinite", "log", "matmul", "mean", "sum",
)  # fmt: skip
_TESTING_NAMES = ("assert_allclose", "assert_array_equal", "assert_equal")
_BUILTIN_NAMES = (
    "AssertionError", "Exception", "__import__", "abs", "all", "any", "bool", "float",
    "getattr", "hasattr", "int", "isinstance", "len", "list", "max", "min", "print",
    "range", "repr", "round", "setattr", "str", "sum", "tuple", "type",
)  # fmt: skip

_ORIGINALS = (
    [(np, "np." + name, getattr(np, name)) for name in _NUMPY_NAMES]
    + [(numpy.testing, "numpy.testing." + name, getattr(numpy.testing, name)) for name in _TESTING_NAMES]
    + [(builtins, name, getattr(builtins, name)) for name in _BUILTIN_NAMES]
)  # fmt: skip

_asarray = np.asarray
_isfinite = np.isfinite
_errstate = np.errstate
_getattr = getattr
_len = len
_float = float
_object_new = object.__new__


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


_SHELL = _shell()
_SHELL_METHODS = (
    {name: _getattr(type(_SHELL), name, None) for name in ("showtraceback", "_showtraceback")}
    if _SHELL is not None
    else {}
)


def guard():
    """Raise if notebook code replaced anything the checks rely on."""
    for owner, label, original in _ORIGINALS:
        if _getattr(owner, label.rsplit(".", 1)[-1], None) is not original:
            _tampered(label)
    if _SHELL is not None:
        for name, original in _SHELL_METHODS.items():
            method = _getattr(_SHELL, name, None)
            if _getattr(method, "__func__", None) is not original:
                _tampered("IPython's " + name)
        if _SHELL.custom_exceptions:
            _tampered("IPython's exception handling (set_custom_exc)")


def _tampered(what):
    raise AssertionError(
        f"Checks refused to run: {what} was replaced by code in this notebook. "
        "Remove that code, restart the kernel and run all cells again."
    )


def call(func, *args, **kwargs):
    """Call your function with numpy warnings silenced (a warning is not an error here)."""
    guard()
    with warnings.catch_warnings(), _errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def printed_by(func, *args, **kwargs):
    """Call your function and return (its result, what it printed)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = call(func, *args, **kwargs)
    return result, buffer.getvalue()


def numeric(what, value):
    """Your value as a float array, or a clear failure naming what was expected."""
    guard()
    try:
        return _asarray(value, dtype=_float)
    except (TypeError, ValueError):
        raise AssertionError(
            f"{what}: expected numbers, got {type(value).__name__} {value!r:.80}"
        ) from None


def expect(condition, message):
    """Fail with this message unless the condition holds."""
    guard()
    if not condition:
        raise AssertionError(message)


def expect_shape(what, value, shape):
    """Fail unless the value is an array (or scalar) of this shape."""
    got = numeric(what, value)
    expect(got.shape == tuple(shape), f"{what}: expected shape {tuple(shape)}, got {got.shape}")


def expect_close(what, value, expected, rtol=1e-7, atol=1e-12, reveal=True):
    """Fail unless the value matches the expected numbers within tolerance.

    With reveal=False (hidden checks) the message gives the size of the error,
    not the expected numbers.
    """
    got = numeric(what, value)
    want = _asarray(expected, dtype=_float)
    if got.shape != want.shape and got.size == want.size == 1:
        got = got.reshape(want.shape)
    expect(got.shape == want.shape, f"{what}: expected shape {want.shape}, got {got.shape}")
    expect(bool(_isfinite(got).all()), f"{what}: got non-finite values (nan or inf): {got!r:.120}")
    error = got - want
    error = error * ((error > 0) * 2.0 - 1.0)  # absolute value, without abs()
    scale = want * ((want > 0) * 2.0 - 1.0)
    wrong = error > atol + rtol * scale
    if not wrong.any():
        return
    if reveal and want.size == 1:
        raise AssertionError(f"{what}: expected {want.item()!r}, got {got.item()!r}")
    if reveal:
        raise AssertionError(f"{what}: expected\n{want}\ngot\n{got}")
    raise AssertionError(
        f"{what}: {int(wrong.sum())} of {want.size} values differ from the reference "
        f"(largest error {float(error.max()):.3g})"
    )


def make_net(cls, W1, b1, W2, b2):
    """An instance of your class with these parameters, made without calling __init__.

    Lets the checks of forward, MSE_loss, backward and train run on known parameters
    even while __init__ is unfinished.
    """
    net = _object_new(cls)
    net.W1, net.b1, net.W2, net.b2 = (_asarray(p, dtype=_float).copy() for p in (W1, b1, W2, b2))
    net.n_x, net.n_h = net.W1.shape
    net.n_y = net.W2.shape[1]
    net.loss = _float("inf")
    return net


@contextlib.contextmanager
def substitute(func, **names):
    """Run a check with some global names of your notebook temporarily replaced.

    For example, logistic_regression is checked with a known-good `s`, so a mistake in
    `s` costs the points of `s` only.
    """
    namespace = func.__globals__
    missing = object()
    saved = {name: namespace.get(name, missing) for name in names}
    namespace.update(names)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = old


@contextlib.contextmanager
def skip_if_unfinished():
    """Run a demonstration only once the exercises it uses are done."""
    try:
        yield
    except NotImplementedError:
        print("This cell uses an exercise you have not finished yet: finish it, then run this cell again.")


def random_generator():
    """A fresh random generator, independent of np.random.seed."""
    return np.random.default_rng()
