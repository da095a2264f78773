"""The check runner: call a student's function safely and name what is wrong with its answer.

Every test cell of the course calls a `check_<exercise>(fn, **case)` function, which uses
`Check` to call `fn` (always passed in, never read from globals) and `Check.compare` to
compare each output with a trusted value. A failed comparison raises `CheckFailed` whose
first line is the diagnosis a student can act on; further lines give the details.
"""

import contextlib
import copy
import functools
import inspect
import sys
import traceback
import warnings
from dataclasses import dataclass

import numpy as np


class CheckFailed(AssertionError):
    """A check found a mistake. The first line of the message names it."""

    def _render_traceback_(self):
        """What IPython shows instead of a traceback: the diagnosis alone.

        The frames of the check's own code would only bury what the student must read.
        """
        first, *rest = str(self).splitlines() or [""]
        return [f"\x1b[1;31mCheckFailed: {first}\x1b[0m", *rest]


@dataclass(frozen=True)
class Factor:
    """A constant factor a typical mistake multiplies the right answer by."""

    value: float
    name: str
    hint: str


@dataclass(frozen=True)
class Mistake:
    """The output a typical mistake produces, and what to tell a student who produced it."""

    output: object
    message: str


def stdout_only(check_fn):
    """Decorate every check_* function: its own warnings are silenced and stray stderr goes to
    stdout, because nbgrader gives 0 to a test cell that writes anything to stderr."""

    @functools.wraps(check_fn)
    def quiet_check(*args, **kwargs):
        with warnings.catch_warnings(), contextlib.redirect_stderr(sys.stdout):
            warnings.simplefilter("ignore")
            return check_fn(*args, **kwargs)

    return quiet_check


def batch_factors(N, what="the batch size N"):
    """The two classic 1/N mistakes: forgetting the mean, or taking it twice."""
    return (
        Factor(N, "N", f"did you forget to divide by {what}?"),
        Factor(1 / N, "1/N", f"did you divide by {what} twice?"),
    )


COMMON_FACTORS = (
    Factor(-1.0, "-1", "the sign is flipped: check the direction of each subtraction"),
    Factor(2.0, "2", "a factor 2 too many: the derivative of x**2 is 2x, of 0.5*x**2 is x"),
    Factor(0.5, "1/2", "a factor 2 missing: the derivative of x**2 is 2x"),
)

_SMALL = 12  # arrays up to this size are printed in full in the details


def _close(got, expected, rtol, atol):
    return got.shape == expected.shape and bool(
        np.all(np.abs(got - expected) <= atol + rtol * np.abs(expected))
    )


def _fmt(x):
    return np.array2string(np.asarray(x), precision=5, suppress_small=True, max_line_width=88)


def _scale_factor(got, expected):
    """The c that makes got closest to c * expected, or None when expected is zero."""
    energy = float(np.sum(expected * expected))
    return None if energy == 0 else float(np.sum(got * expected)) / energy


def _slices_that_match(got, expected, axis, rtol, atol):
    return [
        i
        for i in range(expected.shape[axis])
        if _close(np.take(got, i, axis=axis), np.take(expected, i, axis=axis), rtol, atol)
    ]


def _describe_matching(name, matched, total):
    if matched == [total - 1]:
        return f"only the last {name} matches ({name} {total - 1}); the others differ"
    if matched == [0]:
        return f"only the first {name} matches ({name} 0); the others differ"
    listed = ", ".join(map(str, matched[:6])) + (", ..." if len(matched) > 6 else "")
    return f"only {len(matched)} of {total} {name}s match ({listed}); the others differ"


def as_array(label, got):
    """Convert an answer to a float64 array, or fail with a message saying why it cannot be."""
    if got is None:
        raise CheckFailed(f"{label} is None: did you forget to `return` it?")
    if isinstance(got, tuple):
        raise CheckFailed(f"{label} is a tuple of {len(got)} values where one array is expected")
    try:
        array = np.asarray(got)
        if array.dtype == object:
            raise TypeError
        return array.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise CheckFailed(
            f"{label} is a {type(got).__name__}, not a number or an array of numbers"
        ) from None


def diagnose_shape(label, got_shape, expected_shape):
    """A message for an answer of the wrong shape, naming transposes and keepdims."""
    got_shape, expected_shape = tuple(got_shape), tuple(expected_shape)
    base = f"{label} has shape {got_shape}, expected {expected_shape}"
    if len(got_shape) >= 2 and got_shape == expected_shape[::-1]:
        return (
            f"{label} has shape {got_shape}, the transpose of the expected {expected_shape}: "
            "check the order of the factors in your matrix product"
        )
    squeezed = tuple(d for d in got_shape if d != 1)
    if squeezed == tuple(d for d in expected_shape if d != 1) and len(got_shape) != len(
        expected_shape
    ):
        return f"{base}: an extra or missing axis of length 1 (keepdims=True, or a reshape?)"
    if int(np.prod(got_shape)) == int(np.prod(expected_shape)):
        return f"{base}: the right number of entries in the wrong layout (reshape or axis order?)"
    if len(got_shape) == len(expected_shape) - 1 or len(got_shape) < len(expected_shape):
        return f"{base}: an axis too few (did you sum or average over an axis you should keep?)"
    if len(got_shape) > len(expected_shape):
        return f"{base}: an axis too many (did you forget to sum over the batch or time axis?)"
    return base


def compare(
    label,
    got,
    expected,
    *,
    factors=(),
    mistakes=(),
    axes=None,
    rtol=1e-6,
    atol=None,
    warned=(),
    stable_hint="use a numerically stable formula",
):
    """Check that `got` equals `expected`; if not, raise CheckFailed naming the mistake.

    Inputs:
    - label: how to call the value in messages, e.g. "dW"
    - got: the student's value (array-like or number)
    - expected: the trusted value, an array or a number
    - factors: Factor instances for the constant-factor mistakes of this exercise
    - mistakes: Mistake instances: outputs of typical wrong answers, tried before anything else
    - axes: names of the axes of `expected` (None for unnamed ones), for messages such as
      "only the last time step matches"
    - rtol, atol: tolerances of the comparison; atol defaults to 1e-8 times the largest |expected|
    - warned: warning messages recorded while the student's function ran
    - stable_hint: what to suggest when the answer has NaN or inf and the expected one has not
    """
    expected = np.asarray(expected, dtype=np.float64)
    got = as_array(label, got)
    if atol is None:
        atol = 1e-8 * max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    if got.shape != expected.shape:
        for mistake in mistakes:
            if _close(got, np.asarray(mistake.output, dtype=np.float64), rtol, atol):
                raise CheckFailed(f"{label}: {mistake.message}")
        raise CheckFailed(diagnose_shape(label, got.shape, expected.shape))

    details = "" if got.size > _SMALL else f"\nexpected:\n{_fmt(expected)}\ngot:\n{_fmt(got)}"
    finite = np.isfinite(got)
    if not finite.all() and np.isfinite(expected).all():
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        cause = f" (numpy warned: {warned[0]})" if warned else ""
        raise CheckFailed(
            f"{label} contains NaN or inf, first at index {first}{cause}: {stable_hint}" + details
        )
    if _close(got, expected, rtol, atol):
        return

    for mistake in mistakes:
        output = np.asarray(mistake.output, dtype=np.float64)
        if _close(got, output, rtol, atol):
            raise CheckFailed(f"{label}: {mistake.message}" + details)

    c = _scale_factor(got, expected)
    if c is not None and _close(got, c * expected, 1e-5, atol):
        for factor in (*factors, *COMMON_FACTORS):
            if np.isclose(c, factor.value, rtol=1e-6):
                times = f"{c:g}" if factor.name == f"{c:g}" else f"{c:g} = {factor.name}"
                raise CheckFailed(
                    f"{label} is the expected value times {times}: {factor.hint}" + details
                )
        if got.size > 1:
            raise CheckFailed(
                f"{label} is the expected value times {c:.4g}: a constant factor is off" + details
            )

    if got.dtype.kind in "iub":
        raise CheckFailed(f"{label} has integer dtype {got.dtype}: the result must be float")

    for axis, name in enumerate(axes or ()):
        if name is not None and expected.shape[axis] > 1:
            matched = _slices_that_match(got, expected, axis, rtol, atol)
            if 0 < len(matched) < expected.shape[axis]:
                raise CheckFailed(
                    f"{label}: {_describe_matching(name, matched, expected.shape[axis])}" + details
                )

    wrong = ~(np.abs(got - expected) <= atol + rtol * np.abs(expected))
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    if got.ndim == 0:
        raise CheckFailed(f"{label} is {float(got):.6g}, expected {float(expected):.6g}")
    raise CheckFailed(
        f"{label}: {int(wrong.sum())} of {wrong.size} entries are wrong, the first at index "
        f"{first} (got {got[first]:.6g}, expected {expected[first]:.6g})" + details
    )


def _snapshot(value):
    return copy.deepcopy(value) if isinstance(value, (np.ndarray, dict, list, tuple)) else None


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, True)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return True


def _argument_names(fn, count):
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"argument {i + 1}" for i in range(count)]


def _student_line(exc):
    """The last line of the traceback that is not in this package: the student's own line."""
    package_dir = __file__.rsplit("/", 1)[0]
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if package_dir not in f.filename]
    return f" in `{frames[-1].line}`" if frames and frames[-1].line else ""


class Check:
    """One case of one exercise: calls the student's function and compares its answers.

    Used as a context manager: on success it prints one line to stdout; on failure it
    lets CheckFailed through with the function name and the case added.
    """

    def __init__(self, name, fn, case):
        self.name = name
        self.fn = fn
        self.case = case
        self.warned = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            print(f"\u2714 {self.name} passed: {self.case}")
            return False
        if issubclass(exc_type, CheckFailed):
            first, _, rest = str(exc).partition("\n")
            message = f"{self.name}: {first}\ncase: {self.case}" + (f"\n{rest}" if rest else "")
            raise CheckFailed(message) from None
        return False

    def call(self, *args, warn_free=False):
        """Call the student's function on `args`, which it must leave unchanged.

        Output the function prints to stderr goes to stdout (nbgrader gives 0 to a test
        cell with stderr output), and warnings are recorded rather than shown. With
        warn_free, any RuntimeWarning (overflow, invalid value) is a failure.
        """
        before = [_snapshot(a) for a in args]
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(sys.stdout):
            warnings.simplefilter("always")
            try:
                result = self.fn(*args)
            except NotImplementedError:
                raise CheckFailed(
                    "not implemented yet: replace `raise NotImplementedError()` with your code"
                ) from None
            except CheckFailed:
                raise
            except Exception as exc:  # any error of the student's code becomes a diagnosis
                hint = (
                    " (if you reduced an axis with sum or max, keepdims=True keeps it so "
                    "that the result broadcasts)"
                    if "broadcast" in str(exc)
                    else ""
                )
                raise CheckFailed(
                    f"raised {type(exc).__name__}: {exc}{_student_line(exc)}{hint}"
                ) from None
        self.warned = [f"{w.category.__name__}: {w.message}" for w in caught]
        for name, old, new in zip(_argument_names(self.fn, len(args)), before, args):
            if old is not None and not _same(old, new):
                raise CheckFailed(
                    f"modified its input `{name}` in place: work on a copy "
                    "(e.g. `z = z - m` instead of `z -= m`)"
                )
        if warn_free:
            runtime = [w for w in self.warned if w.startswith("RuntimeWarning")]
            if runtime:
                raise CheckFailed(f"numpy warned {runtime[0]!r}: use a numerically stable formula")
        return result

    def unpack(self, result, names):
        """Split a tuple result into its parts, failing clearly when its length is wrong."""
        if not isinstance(result, (tuple, list)) or len(result) != len(names):
            count = len(result) if isinstance(result, (tuple, list)) else 1
            raise CheckFailed(f"returned {count} value(s), expected a tuple ({', '.join(names)})")
        return result

    def compare(self, label, got, expected, **options):
        """`compare` with the warnings of the last call attached to NaN/inf diagnoses."""
        compare(label, got, expected, warned=self.warned, **options)
