"""Helpers for the check cells of your notebooks.

You do not need to read or change this file: the checks tell you what they expect. In your
notebook the visible checks run right away, with these helpers, on your code. When your work
is graded, every check (visible and hidden) runs outside your notebook, with the course's
own copy of this file, and calls your functions from there.

(For teachers: the kit's check vocabulary, one file for every assignment. Each assignment's
source folder links to it, `source/<assignment>/checks.py -> ../../gradekit/checks.py`, and
nbgrader releases a copy; docs/checks.md.)
"""

import contextlib
import warnings

import numpy as np


class CheckFailed(AssertionError):
    """A check's verdict: what was expected and what your code gave."""


def _show_verdict(shell, kind, value, traceback, tb_offset=None):
    """Show a failed check as its message alone (the helpers' frames say nothing useful)."""
    lines = [f"\x1b[0;31m{kind.__name__}\x1b[0m: {value}"]
    shell._showtraceback(kind, value, lines)
    return lines


def _install_display():
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((CheckFailed,), _show_verdict)


_install_display()


LIKELY = "likely mistake: "


def likely(mistake):
    """A diagnosis: the common mistake the numbers point to (what the class report counts)."""
    return LIKELY + mistake


def call(func, *args, **kwargs):
    """Call your function with numpy warnings silenced (a warning is not an error here)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return func(*args, **kwargs)
    except NotImplementedError:
        name = getattr(func, "__qualname__", None) or "this exercise"
        raise CheckFailed(
            f"{name} is not written yet: replace raise NotImplementedError() with your code"
        ) from None


def as_floats(value):
    """The value as a float array. Text is never a number (numpy would read "  1.5 " as
    one): a string anywhere in it is a TypeError, found before numpy sees any of it."""
    todo, seen = [value], 0
    while todo:
        item = todo.pop()
        if isinstance(item, str | bytes):
            raise TypeError("text is not a number")
        if type(item) in (list, tuple):
            seen += len(item)
            if seen > 10_000_000:
                raise ValueError("too many values")
            todo += item
    return np.asarray(value, dtype=float)


def type_name(value):
    """The name of your value's type (at grading time, as your kernel names it)."""
    name = getattr(type(value), "_gradekit_type", None)
    return name.__get__(value) if isinstance(name, property) else type(value).__name__


def numbers(value, what="the result"):
    """Your value as a float array, or a failure naming what was expected."""
    try:
        return as_floats(value)
    except (TypeError, ValueError):
        raise CheckFailed(
            f"{what}: expected numbers, got {type_name(value)} {value!r:.80}"
        ) from None


def expect(condition, message):
    """Fail with this message unless the condition holds."""
    if not condition:
        raise CheckFailed(message)


def expect_shape(what, value, shape):
    """Fail unless the value is an array (or scalar) of this shape."""
    got = numbers(value, what)
    expect(got.shape == tuple(shape), f"{what}: expected shape {tuple(shape)}, got {got.shape}")


def expect_close(what, value, expected, rtol=1e-7, atol=1e-12, causes=None):
    """Fail unless the value matches the expected numbers within tolerance (causes: see
    `diagnosis`)."""
    verdict = matches(value, expected, rtol, atol, causes)
    if verdict:
        return
    got, want = verdict.got, verdict.want
    if verdict.problem != "values":
        raise CheckFailed(f"{what}: {verdict}")
    hint = diagnosis(got, want, rtol, atol, causes)
    if want.size == 1:
        raise CheckFailed(f"{what}: expected {want.item()!r}, got {got.item()!r}{hint}")
    raise CheckFailed(f"{what}: expected\n{want}\ngot\n{got}{hint}")


class Comparison:
    """Whether numbers match the expected ones; its text gives the size of the error, never
    the expected numbers (hidden checks: `assert matches(got, want), "what"`)."""

    def __init__(self, got, want, rtol, atol, causes=None):
        self.want = np.asarray(want, dtype=float)
        self.reason = self.problem = ""
        try:
            self.got = as_floats(got)
        except (TypeError, ValueError):
            self.got = np.full(self.want.shape, np.nan)
            self.problem, self.reason = "numbers", f"expected numbers, got {type_name(got)}"
            return
        if self.got.shape != self.want.shape and self.got.size == self.want.size == 1:
            self.got = self.got.reshape(self.want.shape)
        if self.got.shape != self.want.shape:
            self.problem = "shape"
            self.reason = f"expected shape {self.want.shape}, got {self.got.shape}"
            if self.got.size == self.want.size:
                self.reason += "; " + likely(
                    "a transposed matrix, or a reshape or broadcast gone wrong"
                )
        elif not np.isfinite(self.got).all():
            self.problem, self.reason = "finite", "got non-finite values (nan or inf)"
        else:
            error = np.abs(self.got - self.want)
            self.wrong = int((error > atol + rtol * np.abs(self.want)).sum())
            self.largest = float(error.max()) if error.size else 0.0
            if self.wrong:
                self.problem = "values"
                self.reason = (
                    f"{self.wrong} of {self.want.size} values differ from the reference "
                    f"(largest error {self.largest:.3g})"
                ) + diagnosis(self.got, self.want, rtol, atol, causes)

    def __bool__(self):
        return not self.reason

    def __repr__(self):
        return self.reason or "matches"


def diagnosis(got, want, rtol=1e-7, atol=1e-12, causes=None):
    """The common mistake numbers off from the expected ones single out, if any ("" if none).

    Named whatever the check: every value of an array negated ("the opposite sign"), a square
    matrix transposed, and a constant factor between 1e-3 and 1e3 over an array (as a fact).
    Named only where the check says the mistake is plausible and what it does, in `causes`:
    a factor (`{2: "a sum for a mean"}`: twice the expected; -1: the opposite sign) for a
    single number or an array, and "zeros" for an array of zeros. Two numbers always differ
    by some factor, and zeros have many causes: without `causes`, neither is a diagnosis.
    """
    causes = causes or {}
    scale = atol + rtol * np.abs(want)
    if np.abs(want).max(initial=0) <= atol:
        return ""
    if want.size > 1 and not got.any():
        return "; " + likely(f"all zeros ({causes['zeros']})") if "zeros" in causes else ""
    if want.size > 1 and (np.abs(got + want) <= scale).all():
        return "; " + likely("the opposite sign (a missing minus, or a step the wrong way)")
    if (
        want.ndim == 2
        and want.shape[0] == want.shape[1] > 1
        and (np.abs(got.T - want) <= scale).all()
    ):
        return "; " + likely("the transpose of what is expected")
    big = np.abs(want) > 1e-8 * np.abs(want).max()
    ratios = got[big] / want[big]
    factor = float(np.median(ratios)) if ratios.size else 1.0
    if (
        abs(factor - 1) <= 1e-3
        or not (np.abs(got - factor * want) <= 1e3 * scale + 1e-9 * np.abs(want)).all()
    ):
        return ""
    constant = "a factor" if want.size == 1 else "a constant factor"
    for known, cause in causes.items():
        if known != "zeros" and abs(factor - known) <= 1e-6 * abs(known):
            if known == -1:
                return "; " + likely(f"the opposite sign ({cause})")
            return "; " + likely(f"off by {constant} of {factor:.3g} ({cause})")
    if want.size > 1 and 1e-3 <= abs(factor) <= 1e3:
        return "; " + likely(f"off by a constant factor of {factor:.3g}")
    return ""


def matches(got, want, rtol=1e-7, atol=1e-12, causes=None):
    """Compare your numbers with the expected ones (see Comparison and diagnosis)."""
    return Comparison(got, want, rtol, atol, causes)


def make(cls, args, **attributes):
    """An object made by your class's __init__(*args), then given these attributes (so the
    checks know what it holds). While __init__ is unfinished or fails, it is made without it,
    with the attributes alone."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            made = cls(*args)
    except Exception:
        blank = getattr(cls, "_gradekit_blank", None)  # at grading time: made in your kernel
        made = blank() if blank is not None else object.__new__(cls)
    for name, value in attributes.items():
        setattr(made, name, value)
    return made


@contextlib.contextmanager
def skip_if_unfinished():
    """Run a demonstration only once the exercises it uses are done."""
    try:
        yield
    except NotImplementedError:
        print(
            "This cell uses an exercise you have not finished yet: finish it, then run this cell again."
        )
