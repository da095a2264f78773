"""The check runner: call a student's function safely and name what is wrong with its answer.

How to write a check
--------------------
Every test cell calls a `check_<exercise>(fn, **case)` of gradlab/exercises/, in one shape:
the case, the trusted expected values, the typical mistakes from a builder beside the check,
the case's Probe, and one `with Check(...)` block:

    @stdout_only
    def check_affine_backward(affine_backward_fn, N=4, D=5, M=3, seed=0):
        x, W, b, dout, cache = ...                        # the case
        dx, dW, db = ...                                  # trusted values (central differences)
        mistakes = affine_backward_mistakes(...)          # {output: [Mistake, ...]}
        probe = Probe({"x": (x, "N D"), "W": (W, "D M"), "b": (b, "M"), "dout": (dout, "N M")},
                      lambda x, W, b, dout: (dout, (x, W, b)), affine_backward,
                      ("dx", "dW", "db"), upstream="dout", switches=(ONE_EXAMPLE,))
        with Check("affine_backward", affine_backward_fn, "x (4, 5)", probe) as check:
            got = check.unpack(check.call(dout, cache), ("dx", "dW", "db"), (dx, dW, db))
            check.compare("dx", got[0], dx, mistakes=mistakes["dx"])
            check.compare("dW", got[1], dW, hints={"transpose": "dW = x.T @ dout, like W"})
            check.compare("db", got[2], db, factors=[summed(N, "N", "the batch")],
                          sums=Sum([(None, row) for row in dout], "example"))

- `Check(name, fn, case, probe)` calls `fn` (always passed in, never read from globals) with
  `check.call(*args)`, records its inputs and warnings, and adds the function name and the
  case to any failure; `check.unpack(result, names, expected)` splits a tuple result and,
  given the expected parts, names parts returned in the wrong order (matched by value,
  before any shape is judged) and says, when one part fails, which others are right.
- `check.compare(label, got, expected, **options)` accepts `got` or raises `CheckFailed`.
  A wrong answer goes through DIAGNOSERS, in their order; the first that recognises it names
  the mistake. The general ones (transposes, permuted axes, reshapes, reductions, factors,
  slices, shifts...) run on every output, so an exercise declares only what is its own:
  - `mistakes`: `Mistake(output, message, kind)`, the outputs of typical wrong versions,
    simulated from the trusted reference: `simulated` runs a reference's `mistake=` switch,
    `upstream_mistakes` a backward pass with its upstream gradient dropped or transposed;
  - `factors`: `Factor(value, name, hint)` for constant factors: `batch_factors(N)` for a
    mean loss, `summed(count, name, over)` for a gradient averaged where it must sum;
  - `sums`: `Sum(terms, name, base)` when the output adds up contributions in a loop (over
    examples, windows, time steps), so that `=` instead of `+=`, a term kept alone and a
    term dropped are named;
  - `axes`: names of the expected value's axes ("example", "time step"), for messages;
  - `hints`: {kind: advice} replacing a general diagnoser's advice by the exercise's own,
    e.g. {"transpose": "dW = x.T @ dout has the shape (D, M) of W"}; a key "kind:tag"
    (e.g. "slices:last", "factor:unnamed") is used for that case of the kind alone.
- `check.compare_cache(cache, contract, mistakes)` checks a cache against the course
  contract: [(name, value), ...] in order; one pair means the cache is that value itself.
- A lesson whose exercises' functions call each other says so once, at the end of its module:
  `calls(rnn_backward=[(rnn_step_backward, check_rnn_step_backward)])`. Each caller is then
  graded given the course's reference for its callees, and its self-check names a callee of
  the student's that fails its own check (see `calls`).
- A check may raise `CheckFailed(message, kind)` itself, or `declared(message, kind)` for
  a message written "what is wrong: how to fix it"; `kind` is one of KINDS.

A failure that no diagnoser named gets a second look (Check): a second call on the same
inputs (state kept between calls), then the exercise's `Probe`, which varies the case, each
time calling the student's function and the course's `trusted` one:
- `switches`, parts of the computation switched off or one upstream gradient sent alone
  (`Switch("reg = 0", "the regularization term is off", {"reg": 0.0})`, ONE_EXAMPLE,
  sequence_switches): right with one of them, wrong without, names the part at fault;
- `blocks`, outputs made of blocks (the four gates' columns): blocks alone wrong are named;
- the smallest failing case: each size of `inputs` as small as it goes, whole numbers, one
  upstream entry, shown with the expected outputs and the student's, to check by hand.
The look makes at most PROBE_CALLS calls in PROBE_SECONDS of CPU; a diagnosis that says where
and not why (LOCATING) gets the smallest case shown below it.

Help comes in steps. Whatever is the exercise's own advice (a Mistake's message after its
": ", a Factor's hint, `hints`) is the failure's `hint`: the whole message has it, as the
grader's feedback shows, while the student's kernel first shows the `brief` message, what
is wrong and where, and the hint when the student runs `hint()` or sees the same diagnosis
again (CheckFailed.shown). A general diagnoser's advice is general: an example that belongs
to one exercise (a conv's `[pad:pad + H]`) is that exercise's hint for the diagnosis's tag.

The checks run in the grader's process on values the student chose, so what they look at is
bounded: `check.call` refuses a result nested over MAX_NESTING deep or holding over MAX_ITEMS
items, `compare` an answer with RANK_ROOM axes more or SIZE_ROOM times the entries of the
expected value, and a diagnosis that takes over DIAGNOSIS_SECONDS or fails ends in the general
one (`general`).

The first line of a CheckFailed is the diagnosis a student reads (and exercises.csv keeps);
`exc.kind` says what kind of mistake it is (one of KINDS; GENERIC, "values", when nothing
recognised it), `exc.hint` the exercise's advice, if any.
Adding a general diagnosis is one function `def name(c: Comparison) -> Diagnosis | None`
and one line in DIAGNOSERS (see the comments there for the order and why).
"""

import contextlib
import contextvars
import copy
import functools
import inspect
import io
import itertools
import linecache
import math
import re
import sys
import time
import traceback
import types
import warnings
from dataclasses import dataclass, field

import numpy as np

from gradlab.inputs import rng_for

# The closed set of kinds of a CheckFailed, and what each means.
KINDS = {
    "not implemented": "the function still raises NotImplementedError",
    "error": "the student's code raised an exception",
    "syntax": "the exercise's cell is not valid Python: its function was never defined",
    "no return": "a value is None: a `return` is missing",
    "type": "not a number or an array, a tuple of the wrong length, a dict with the wrong keys",
    "modified input": "an input was changed in place",
    "instability": "NaN or inf, or a numpy warning where none is allowed",
    "cache": "the cache is not the layout the course contract fixes",
    "shape": "the wrong shape, not explained by a transpose or a reduction",
    "dtype": "an integer result where floats are expected",
    "transpose": "transposed, axes permuted, or transposed and then reshaped",
    "axis": "a sum over the wrong axis, a sum missing or one too many, keepdims",
    "factor": "the expected value times a constant",
    "sign": "the expected value with the sign flipped",
    "accumulation": "`=` where `+=` belongs: one contribution of a sum is left",
    "missing term": "a term, factor or upstream gradient of the formula is missing",
    "wrong point": "a derivative evaluated at the wrong point (at z instead of s, at a_i ...)",
    "slices": "only some slices are right (an example, a time step, the border), or shifted",
    "order": "outputs, operands or classes swapped",
    "region": "right where an input has one sign, wrong where it has the other",
    "path": "right with one part switched off (an upstream gradient, a step, a term): that part",
    "state": "state kept between calls (a global), or two names for one object (m = v = {})",
    "formula": "another wrong formula the exercise recognises",
    "other": "a specific diagnosis an exercise raised without naming its kind",
    "smallest case": "nothing named the mistake: the smallest inputs on which it shows are given",
    "values": "wrong values no diagnoser recognised: the generic diagnosis",
}
GENERIC = "values"


class CheckFailed(AssertionError):
    """A check found a mistake. The first line of the message names it.

    kind: one of KINDS; hint: the exercise's own advice for it, often the formula of the fix
    ("" when the message has none); brief: the message without that hint, what the student's
    kernel shows first (see `shown`).
    """

    def __init__(self, message, kind="other", hint="", brief=None):
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}: use one of {sorted(KINDS)}")
        super().__init__(message)
        self.kind = kind
        self.hint = hint
        self.brief = message if brief is None else brief

    def __reduce__(self):
        return type(self), (str(self), self.kind, self.hint, self.brief)

    def shown(self):
        """What the student's kernel shows of this failure, help in steps: first what is
        wrong and where (the brief message) and how to get the hint; the whole message, hint
        included, once the same diagnosis is shown again. The grader shows the whole message.
        """
        global _last_failure
        _last_failure = self
        key = first_line(self.brief)
        _times_shown[key] = _times_shown.get(key, 0) + 1
        if self.brief == str(self) or _times_shown[key] > 1:
            return str(self)
        return f"{self.brief}\n{HINT_OFFER}"

    def _render_traceback_(self):
        """What IPython shows instead of a traceback: the diagnosis alone, in steps (`shown`).

        The frames of the check's own code would only bury what the student must read.
        """
        first, *rest = self.shown().splitlines() or [""]
        return [f"\x1b[1;31mCheckFailed: {first}\x1b[0m", *rest]


HINT_OFFER = "hint: run hint() for the formula, or this self-check again to see it here"
_times_shown = {}  # the brief first line of each diagnosis the kernel showed -> how often
_last_failure = None  # the CheckFailed the kernel showed last


def hint():
    """Print the hint of the last self-check that failed in this kernel: the exercise's advice,
    often the formula of the fix, that its first message leaves out."""
    if _last_failure is None:
        print("No self-check has failed in this kernel yet: run one first.")
    elif _last_failure.hint:
        print(f"hint: {_last_failure.hint}")
    else:
        print(
            "No formula for this one: its message says all the check knows. Work through "
            "the smallest case it shows by hand, or compare with the lesson's derivation."
        )


@dataclass(frozen=True)
class Factor:
    """A constant factor a typical mistake multiplies the right answer by."""

    value: float
    name: str
    hint: str

    @property
    def kind(self):
        return "sign" if self.value < 0 else "factor"


@dataclass(frozen=True)
class Mistake:
    """The output a typical mistake produces, what to tell a student who produced it, and
    the kind of mistake it is (one of KINDS)."""

    output: object
    message: str
    kind: str = "formula"


@dataclass(frozen=True)
class Sum:
    """An output that adds up contributions, as a loop with `+=` builds it.

    terms: (index, value) pairs in the loop's order: value is added to output[index];
        index None stands for the whole output
    name: what one term comes from, e.g. "time step", "example", "window"
    base: a part of the output added once, outside the loop (e.g. a regularisation gradient)
    """

    terms: list
    name: str
    base: object = 0.0


@dataclass(frozen=True)
class Diagnosis:
    """What a diagnoser found: its kind, the finding, and the general advice for it.

    tag refines the kind for hints (e.g. "last" for "only the last time step matches"); hint
    is the exercise's own advice that came with it (a declared mistake's fix, a factor's).
    """

    kind: str
    finding: str
    advice: str = ""
    tag: str = ""
    hint: str = ""


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
    """The two classic 1/N mistakes of a mean loss: forgetting the mean, or taking it twice."""
    return (
        Factor(N, "N", f"did you forget to divide by {what}?"),
        Factor(1 / N, "1/N", f"did you divide by {what} twice?"),
    )


def summed(count, name, over, why=""):
    """The factor 1/count of a gradient averaged over `over` where it must sum `count` terms.

    name: how to write count in the message ("N", "T", "Ho Wo"); why: an optional reason.
    """
    reason = f" ({why})" if why else ""
    return Factor(
        1 / count, f"1/{name}", f"you averaged over {over}: gradients there add up{reason}"
    )


def simulated(reference, variants, *args, names):
    """The Mistakes of each output, from a trusted reference with a `mistake=` switch.

    reference(*args, mistake=m) returns what the wrong version m gives: a tuple of outputs
    named by `names` (or the one output when there is one name); variants is a dict
    {m: (kind, message)}. A variant that does not fit these shapes (ValueError) is skipped.
    Returns {name: [Mistake, ...]}.
    """
    found = {name: [] for name in names}
    for m, (kind, message) in variants.items():
        try:
            outputs = reference(*args, mistake=m)
        except ValueError:
            continue
        for name, output in zip(names, outputs if len(names) > 1 else (outputs,)):
            found[name].append(Mistake(output, message, kind))
    return found


def upstream_mistakes(backward, dout, *rest, names):
    """The Mistakes of a backward pass that mishandles its upstream gradient, from the trusted
    backward(dout, *rest): dout left out (as if it were ones) and, for images, the row and
    column of dout swapped. Returns {name: [Mistake, ...]} for the outputs named `names`."""
    variants = {
        "ones": (
            np.ones_like(dout),
            "missing term",
            "the upstream gradient dout is missing: the chain rule multiplies by it",
        )
    }
    if dout.ndim == 4 and dout.shape[2] == dout.shape[3]:
        variants["swapped"] = (
            dout.swapaxes(2, 3),
            "transpose",
            "the rows and columns of dout are swapped: dout[n, :, i, j] belongs to the "
            "window of output row i, output column j",
        )
    return simulated(
        lambda mistake: backward(variants[mistake][0], *rest),
        {m: variant[1:] for m, variant in variants.items()},
        names=names,
    )


COMMON_FACTORS = (
    Factor(-1.0, "-1", "the sign is flipped: check the direction of each subtraction"),
    Factor(2.0, "2", "a factor 2 too many: the derivative of x**2 is 2x, of 0.5*x**2 is x"),
    Factor(0.5, "1/2", "a factor 2 missing: the derivative of x**2 is 2x"),
)

_SMALL = 12  # arrays up to this size are printed in full in the details

# A wrong answer may be larger than the right one: a sum over an axis left out (the batch, the
# time steps) adds an axis, an (N,) and an (N, 1) array broadcast together make (N, N). Up to
# RANK_ROOM axes more and SIZE_ROOM times the entries (an added axis of length SIZE_ROOM; for
# an expected value of fewer entries, SIZE_ROOM**2) are diagnosed. A larger answer is no near
# miss of any exercise (the catalogue's largest: 1 axis more, 6 times the entries), and the
# diagnosers' work grows with its size and, trying sets of axes, exponentially with its rank:
# it is refused.
RANK_ROOM = 2
SIZE_ROOM = 64

# The CPU seconds the diagnosis of one wrong answer may take before it falls back to the
# general message. The slowest diagnosis of the catalogue takes a few milliseconds; the checks
# run in the grader's own process, outside the time limits of the student's sandbox, so a
# value built to be slow to diagnose must not cost it more than this.
DIAGNOSIS_SECONDS = 0.5

# The most candidates (permutations, sets of axes) one diagnoser enumerates: every
# permutation of 6 axes; beyond that the enumeration is cut, never exponential in a rank.
MAX_CANDIDATES = 720


def _close(got, expected, rtol, atol):
    return got.shape == expected.shape and bool(
        np.all(np.abs(got - expected) <= atol + rtol * np.abs(expected))
    )


def _fmt(x):
    return np.array2string(np.asarray(x), precision=5, suppress_small=True, max_line_width=88)


def as_array(label, got, expected=None):
    """Convert an answer to a float64 array, or fail with a message saying why it cannot be.

    With `expected` (a float array), an answer with far more axes or entries than it is
    refused before it is converted (see RANK_ROOM and SIZE_ROOM).
    """
    if got is None:
        raise CheckFailed(f"{label} is None: did you forget to `return` it?", "no return")
    if isinstance(got, tuple):
        raise CheckFailed(
            f"{label} is a tuple of {len(got)} values where one array is expected", "type"
        )
    not_numbers = CheckFailed(
        f"{label} is a {type(got).__name__}, not a number or an array of numbers", "type"
    )
    if isinstance(got, (str, bytes, dict)):  # not numbers, however long: never converted
        raise not_numbers
    try:
        array = np.asarray(got)
    except (TypeError, ValueError):
        raise not_numbers from None
    if expected is not None and array.ndim > expected.ndim + RANK_ROOM:
        raise CheckFailed(
            f"{label} has {array.ndim} axes, expected shape {expected.shape}: far too many axes",
            "shape",
        )
    if expected is not None and array.size > SIZE_ROOM * max(expected.size, SIZE_ROOM):
        raise CheckFailed(
            f"{label} has shape {array.shape}, {array.size} entries, expected shape "
            f"{expected.shape}: far too many entries",
            "shape",
        )
    try:
        return array.astype(np.float64, copy=False)
    except OverflowError:
        raise CheckFailed(
            f"{label} holds an integer too large for a float (beyond about 1.8e308)", "type"
        ) from None
    except (TypeError, ValueError):
        raise not_numbers from None


def diagnose_shape(label, got_shape, expected_shape):
    """A message for an answer of the wrong shape, naming transposes and keepdims."""
    got_shape, expected_shape = tuple(got_shape), tuple(expected_shape)
    base = f"{label} has shape {got_shape}, expected {expected_shape}"
    if len(got_shape) >= 2 and got_shape == expected_shape[::-1]:
        return (
            f"{label} has shape {got_shape}, the transpose of the expected {expected_shape}: "
            "check the order of the factors in your matrix product"
        )
    if _squeezed(got_shape) == _squeezed(expected_shape) and len(got_shape) != len(expected_shape):
        return f"{base}: an extra or missing axis of length 1 (keepdims=True, or a reshape?)"
    if int(np.prod(got_shape)) == int(np.prod(expected_shape)):
        return f"{base}: the right number of entries in the wrong layout (reshape or axis order?)"
    if len(got_shape) < len(expected_shape):
        return f"{base}: an axis too few (did you sum or average over an axis you should keep?)"
    if len(got_shape) > len(expected_shape):
        return f"{base}: an axis too many (did you forget to sum over the batch or time axis?)"
    return base


def _squeezed(shape):
    return tuple(d for d in shape if d != 1)


# ---------------------------------------------------------------- the comparison


@dataclass
class Comparison:
    """Everything a diagnoser may look at: one output of one call of the student's function.

    got, expected: float64 arrays; inputs: (name, array) pairs of the call's float arrays
    (items of tuples and dicts included); integral: the answer was an array of integers (or
    booleans) before it was made float; deadline: the thread_time() after which trying
    another candidate raises TimeoutError; the rest are compare's options.
    """

    label: str
    got: np.ndarray
    expected: np.ndarray
    inputs: list = field(default_factory=list)
    mistakes: tuple = ()
    factors: tuple = ()
    sums: Sum | None = None
    axes: tuple | None = None
    rtol: float = 1e-6
    atol: float = 0.0
    warned: tuple = ()
    stable_hint: str = ""
    integral: bool = False
    deadline: float = math.inf

    def _in_time(self):
        """Every candidate a diagnoser tries passes here: past the deadline, it stops them."""
        if time.thread_time() > self.deadline:
            raise TimeoutError(f"diagnosing {self.label} took over {DIAGNOSIS_SECONDS} s")

    def near(self, value, target, rtol=None):
        """Whether value equals target (same shape, within the tolerances of expected)."""
        self._in_time()
        return _close(value, target, self.rtol if rtol is None else rtol, self.atol)

    def matches(self, candidate, rtol=None):
        """Whether got equals `candidate`."""
        return self.near(self.got, np.asarray(candidate, dtype=np.float64), rtol)

    def differs(self, candidate):
        """Whether `candidate` is another answer than expected: naming it means something."""
        self._in_time()
        candidate = np.asarray(candidate, dtype=np.float64)
        return candidate.shape != self.expected.shape or not np.allclose(
            candidate, self.expected, rtol=self.rtol, atol=self.atol
        )

    def axis_name(self, axis):
        names = self.axes or ()
        return names[axis] if axis < len(names) and names[axis] else f"axis {axis}"

    def same_shape(self):
        return self.got.shape == self.expected.shape


def _axes_text(axes):
    return str(axes[0]) if len(axes) == 1 else str(tuple(axes))


# ---------------------------------------------------------------- the diagnosers, in order


def split_fix(message):
    """(what is wrong, how to fix it) of a message written "what: how" (or "what; how");
    (message, "") when it has no such part."""
    cut = min((i for i in (message.find(": "), message.find("; ")) if i > 0), default=-1)
    return (message, "") if cut < 0 else (message[:cut], message[cut + 2 :])


def declared(message, kind):
    """The CheckFailed of an exercise's own diagnosis written "what: fix": the fix is its hint,
    which the student's kernel shows when asked (CheckFailed.shown)."""
    what, fix = split_fix(message)
    return CheckFailed(message, kind, fix, what)


def declared_mistake(c):
    """The exercise's typical wrong answers, simulated from its reference: the most specific."""
    for mistake in c.mistakes:
        if c.matches(mistake.output):
            what, fix = split_fix(mistake.message)
            return Diagnosis(mistake.kind, f"{c.label}: {what}", hint=fix)
    return None


def _placed(shape, index, value):
    out = np.zeros(shape)
    out[(...) if index is None else index] = value
    return out


def declared_sum(c):
    """An output declared as a sum: `=` where `+=` belongs, a term dropped or kept alone."""
    if c.sums is None or not c.same_shape() or len(c.sums.terms) < 2:
        return None
    shape, terms, name, base = c.expected.shape, c.sums.terms, c.sums.name, c.sums.base
    last = len(terms) - 1
    overwrite = "accumulate with += instead of overwriting with =, every contribution counts"
    picks = range(len(terms)) if len(terms) <= 64 else (0, last)
    alone = {k: _placed(shape, *terms[k]) + base for k in picks}
    for k in (0, last):
        if c.differs(alone[k]) and c.matches(alone[k]):
            which = "first" if k == 0 else "last"
            finding = f"{c.label} holds the contribution of the {which} {name} only"
            return Diagnosis("accumulation", finding, overwrite, which)
    for order in (terms, terms[::-1]):  # the last write wins, in either loop order
        out = np.zeros(shape)
        for index, value in order:
            out[(...) if index is None else index] = value
        if c.differs(out + base) and c.matches(out + base):
            finding = f"{c.label} keeps only the last contribution written to each entry"
            return Diagnosis("accumulation", finding, overwrite)
    for k in picks:
        if c.differs(alone[k]) and c.matches(alone[k]):
            finding = f"{c.label} holds the contribution of {name} {k} only"
            return Diagnosis("missing term", finding, f"add the contributions of every {name}")
    for k in picks:
        without = c.expected - alone[k] + base
        if c.differs(without) and c.matches(without):
            which = {0: f"the first {name}", last: f"the last {name}"}.get(k, f"{name} {k}")
            return Diagnosis(
                "missing term",
                f"{c.label} misses the contribution of {which}",
                "does a loop range stop one short or start one late?",
                which.split()[1] if k in (0, last) else "",
            )
    return None


def _axis_sets(ndim, count=None):
    """The sets of `count` axes (of any size when None) of `ndim`, MAX_CANDIDATES at most."""
    sizes = range(1, ndim + 1) if count is None else (count,)
    sets = (a for k in sizes for a in itertools.combinations(range(ndim), k))
    return list(itertools.islice(sets, MAX_CANDIDATES))


def reduction(c):
    """A sum missing, one too many, or over the wrong axis of an input."""
    got, expected = c.got, c.expected
    if not c.same_shape() and _squeezed(got.shape) == _squeezed(expected.shape):
        return None  # an axis of length 1: the shape diagnoser names keepdims
    if got.ndim > expected.ndim:
        for axes, (verb, reduce) in itertools.product(
            _axis_sets(got.ndim, got.ndim - expected.ndim),
            (("sum", np.sum), ("average", np.mean)),
        ):
            if c.near(reduce(got, axis=axes), expected):
                done = "summed" if verb == "sum" else "averaged"
                return Diagnosis(
                    "axis",
                    f"{c.label} has shape {got.shape}, expected {expected.shape}, and {done} "
                    f"over axis {_axes_text(axes)} it is right",
                    f"did you forget to {verb} over axis {_axes_text(axes)}?",
                )
    if got.ndim < expected.ndim:
        for axes in _axis_sets(expected.ndim, expected.ndim - got.ndim):
            if c.matches(expected.sum(axis=axes)):
                names = ", ".join(c.axis_name(a) for a in axes)
                return Diagnosis(
                    "axis",
                    f"{c.label} is the expected value summed over {names}",
                    "that axis must be kept: the output has one entry per "
                    + " and ".join(c.axis_name(a) for a in axes),
                )
    if np.allclose(expected, 0, atol=c.atol):
        return None
    for name, u in c.inputs:
        right = [a for a in _axis_sets(u.ndim) if c.near(u.sum(axis=a), expected)]
        if not right:
            continue
        if c.matches(u):
            return Diagnosis(
                "axis",
                f"{c.label} is {name} itself, not summed",
                f"sum it over axis {_axes_text(right[0])}",
            )
        for axes in _axis_sets(u.ndim):
            if axes not in right and c.matches(u.sum(axis=axes)):
                return Diagnosis(
                    "axis",
                    f"{c.label} is {name} summed over axis {_axes_text(axes)}",
                    f"sum over axis {_axes_text(right[0])} instead",
                )
    return None


def one_slice(c):
    """The first or last slice of the expected value alone (an example, an output, a step)."""
    if c.got.ndim != c.expected.ndim - 1:
        return None
    for axis, (which, i) in itertools.product(range(c.expected.ndim), (("first", 0), ("last", -1))):
        if c.expected.shape[axis] > 1 and c.matches(np.take(c.expected, i, axis=axis)):
            named = c.axes and axis < len(c.axes) and c.axes[axis]
            name = c.axes[axis] if named else f"slice along axis {axis}"
            each = f"one slice per {name}" if named else f"one slice per index of axis {axis}"
            return Diagnosis(
                "slices",
                f"{c.label} is the {which} {name} of the expected value only",
                f"the output has {each}: fill each (out[i] = ...) instead of overwriting one "
                "array in a loop",
                which,
            )
    return None


def cropped(c):
    """The top-left block of the expected value: too few rows, columns or windows."""
    got, expected = c.got, c.expected
    if got.ndim != expected.ndim or got.size == 0 or c.same_shape():
        return None
    if any(g > e for g, e in zip(got.shape, expected.shape)):
        return None
    if not c.matches(expected[tuple(slice(0, g) for g in got.shape)]):
        return None
    return Diagnosis(
        "shape",
        f"{c.label} has shape {got.shape}, expected {expected.shape}, and holds the first "
        "entries of the expected value",
        "a loop or an output size stops too early",
        "cropped",
    )


def broadcast(c):
    """An (N,) and an (N, 1) array broadcast into (N, N), whose diagonal is the answer."""
    got = c.got
    if c.expected.ndim != 1 or got.shape != (c.expected.size,) * 2 or got.shape[0] < 2:
        return None
    if not c.near(np.diagonal(got).copy(), c.expected):
        return None
    return Diagnosis(
        "shape",
        f"{c.label} has shape {got.shape} and its diagonal is the expected value",
        "an (N,) and an (N, 1) array were broadcast against each other: keep both 1-D "
        "(a[:, 1], not a[:, 1:])",
    )


def _permutations(ndim):
    """The orders of `ndim` axes but their own, MAX_CANDIDATES at most."""
    others = (p for p in itertools.permutations(range(ndim)) if p != tuple(range(ndim)))
    return list(itertools.islice(others, MAX_CANDIDATES))


def permutation(c):
    """Transposed (also a square matrix) or, with more axes, the axes in another order."""
    if c.got.ndim != c.expected.ndim or c.got.ndim < 2:
        return None
    for p in _permutations(c.expected.ndim):
        candidate = c.expected.transpose(p)
        if c.differs(candidate) and c.matches(candidate):
            if c.expected.ndim == 2:
                size = "" if c.same_shape() else f" {c.expected.shape}"
                return Diagnosis(
                    "transpose",
                    f"{c.label} is the transpose of the expected{size} value",
                    "check the order of the factors in your matrix product",
                )
            layout = ", ".join(c.axis_name(a) for a in p)
            wanted = ", ".join(c.axis_name(a) for a in range(c.expected.ndim))
            return Diagnosis(
                "transpose",
                f"the axes of {c.label} are in the wrong order: ({layout}) instead of ({wanted})",
                "put the axes in the expected order (np.transpose, or index the loops so)",
            )
    return None


def scrambled(c):
    """The right numbers transposed and then reshaped: a reshape is not a transpose."""
    if c.got.size != c.expected.size or c.expected.ndim < 2:
        return None
    for p in _permutations(c.expected.ndim):
        moved = c.expected.transpose(p)
        if moved.shape == c.got.shape:
            continue  # a plain permutation, named above
        candidate = moved.reshape(c.got.shape)
        if c.differs(candidate) and c.matches(candidate):
            what = "the transpose" if c.expected.ndim == 2 else f"with axes {p}"
            return Diagnosis(
                "transpose",
                f"{c.label} holds the expected values {what}, reshaped to {c.got.shape}",
                "reshape keeps the order of the entries, it does not transpose: compute the "
                "product in the right order (or use .T) instead of reshaping",
            )
    return None


def flipped(c):
    """The expected value reversed along some axes: an index that runs backwards."""
    if not c.same_shape() or c.got.ndim == 0:
        return None
    for axes in _axis_sets(c.got.ndim):
        candidate = np.flip(c.expected, axes)
        if c.differs(candidate) and c.matches(candidate):
            names = ", ".join(c.axis_name(a) for a in axes)
            return Diagnosis(
                "order",
                f"{c.label} is the expected value reversed along {names}",
                "an index runs backwards (n - 1 - i where i belongs?)",
            )
    return None


def shape(c):
    """Any other wrong shape: this ends the pipeline for a wrong shape."""
    if c.same_shape():
        return None
    if (
        c.got.size == c.expected.size
        and _squeezed(c.got.shape) != _squeezed(c.expected.shape)
        and np.allclose(c.got.ravel(), c.expected.ravel(), rtol=c.rtol, atol=c.atol)
    ):
        return Diagnosis(
            "shape",
            f"{c.label} has the right entries in the shape {c.got.shape}",
            f"it must have the shape {c.expected.shape}",
        )
    return general(c)


def not_finite(c):
    """NaN or inf where the expected value is finite: an unstable formula."""
    finite = np.isfinite(c.got)
    if finite.all() or not np.isfinite(c.expected).all():
        return None
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    cause = f" (numpy warned: {c.warned[0]})" if c.warned else ""
    return Diagnosis(
        "instability",
        f"{c.label} contains NaN or inf, first at index {first}{cause}",
        c.stable_hint,
    )


def _scale_factor(got, expected):
    """The c that makes got closest to c * expected, or None when expected is zero."""
    energy = float(np.sum(expected * expected))
    return None if energy == 0 else float(np.sum(got * expected)) / energy


def factor(c):
    """The expected value times a constant: the exercise's factors, then the common ones."""
    k = _scale_factor(c.got, c.expected)
    if k is None or not c.matches(k * c.expected, rtol=1e-5):
        return None
    for f in (*c.factors, *COMMON_FACTORS):
        if np.isclose(k, f.value, rtol=1e-6):
            times = f"{k:g}" if f.name == f"{k:g}" else f"{k:g} = {f.name}"
            finding = f"{c.label} is the expected value times {times}"
            if f in COMMON_FACTORS:
                return Diagnosis(f.kind, finding, f.hint)
            return Diagnosis(f.kind, finding, hint=f.hint)  # the exercise's: its hint
    if c.got.size > 1:
        kind = "sign" if k < 0 else "factor"
        finding = f"{c.label} is the expected value times {k:.4g}"
        return Diagnosis(kind, finding, "a constant factor is off", "unnamed")
    return None


def slice_factors(c):
    """Each slice along one axis is the expected one times its own factor: a normalisation
    (a shift, a sum) that differs between rows."""
    if not c.same_shape() or c.got.ndim < 2:
        return None
    for axis in range(c.got.ndim):
        others = tuple(a for a in range(c.got.ndim) if a != axis)
        energy = np.sum(c.expected * c.expected, axis=others, keepdims=True)
        single = c.expected.size // c.expected.shape[axis] < 2  # any slice of one entry fits
        if c.expected.shape[axis] < 2 or single or np.any(energy == 0):
            continue
        k = np.sum(c.got * c.expected, axis=others, keepdims=True) / energy
        varies = np.ptp(k) > 1e-6 * np.max(np.abs(k))
        if varies and np.min(np.abs(k)) > 1e-6 and c.matches(k * c.expected, rtol=1e-5):
            name = c.axis_name(axis) if c.axes else f"slice along axis {axis}"
            first = ", ".join(f"{v:.4g}" for v in k.ravel()[:3])
            return Diagnosis(
                "factor",
                f"{c.label}: each {name} is the expected one times its own factor ({first}, ...)",
                "a shift or a normalising sum differs between them: numerator and denominator "
                "must use the same one",
            )
    return None


def logarithm(c):
    """The logarithm or the exponential of the expected value."""
    if not c.same_shape():
        return None
    with np.errstate(all="ignore"):
        candidates = [
            ("the logarithm", np.log(c.expected)),
            ("the exponential", np.exp(c.expected)),
        ]
    for what, candidate in candidates:
        if np.all(np.isfinite(candidate)) and c.matches(candidate):
            return Diagnosis(
                "formula",
                f"{c.label} is {what} of the expected value",
                "a log (or an exp) too many or too few, e.g. log-probabilities returned "
                "where probabilities are expected",
            )
    return None


def integer(c):
    """An array of integers where floats belong: its float entries were truncated."""
    if not c.integral or np.array_equal(c.expected, np.round(c.expected)):
        return None
    kind = "booleans" if c.got.dtype.kind == "b" else "integers"
    return Diagnosis(
        "dtype",
        f"{c.label} is an array of {kind} where floats belong: its entries were truncated",
        "was it made from an integer array (np.zeros_like of integer labels, dtype=int)?",
    )


def _wrong_entries(c):
    """A boolean array of the entries of got that differ from expected (same shape)."""
    return ~(np.abs(c.got - c.expected) <= c.atol + c.rtol * np.abs(c.expected))


def region(c):
    """Right where an input of the answer's shape has one sign and wrong where it has the
    other, e.g. "dx is right where x > 0 and 0 where x < 0"."""
    if not c.same_shape() or c.got.size < 2:
        return None
    wrong = _wrong_entries(c)
    for (name, u), sign in itertools.product(c.inputs, (">", "<")):
        c._in_time()
        if u.shape != c.got.shape:
            continue
        part = u > 0 if sign == ">" else u < 0
        other = "<" if sign == ">" else ">"
        rest = ~part & (c.expected != 0)
        if not rest.any() or (wrong & ~part).any() or wrong.sum() < max(1, part.sum() / 2):
            continue
        if np.all(c.got[wrong] == 0):
            return Diagnosis(
                "region",
                f"{c.label} is right where {name} {other} 0 and 0 where {name} {sign} 0: it is "
                f"the expected value times the mask ({name} {other} 0)",
                "which step multiplies by that mask, and does it belong there?",
            )
        return Diagnosis(
            "region",
            f"{c.label} is right where {name} {other} 0 and wrong where {name} {sign} 0",
            f"look at what your code computes for the entries where {name} {sign} 0",
        )
    return None


def unwritten(c):
    """Right everywhere except at entries that are 0 where the expected ones are not: never
    written (a loop one short, a case missed), or zeroed (a mask, a clip)."""
    if not c.same_shape() or c.got.ndim == 0:
        return None
    wrong = _wrong_entries(c)
    if not wrong.any() or not np.all(c.got[wrong] == 0):
        return None
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    return Diagnosis(
        "slices",
        f"{c.label} is right except at {int(wrong.sum())} entries that are 0 where the "
        f"expected ones are not, the first at index {first}",
        "what leaves them at 0 or sets them to 0 (a loop one short, a case missed, a mask)?",
    )


def _describe_matching(name, matched, total):
    """The finding and its tag, for the slices `matched` of `total` along an axis `name`."""
    if matched == [total - 1]:
        return f"only the last {name} matches ({name} {total - 1}); the others differ", "last"
    if matched == [0]:
        return f"only the first {name} matches ({name} 0); the others differ", "first"
    listed = ", ".join(map(str, matched[:6])) + (", ..." if len(matched) > 6 else "")
    return f"only {len(matched)} of {total} {name}s match ({listed}); the others differ", ""


def _matching_slices(c, axis):
    """The indices along `axis` whose slice matches (and is not zero in expected)."""
    return [
        i
        for i in range(c.expected.shape[axis])
        if np.any(np.take(c.expected, i, axis=axis))
        and _part_matches(c, (slice(None),) * axis + (i,))
    ]


def named_slices(c):
    """Only some slices along a named axis match: some examples, time steps, channels."""
    if not c.same_shape() or not c.axes:
        return None
    for axis, name in enumerate(c.axes[: c.got.ndim]):
        total = c.expected.shape[axis]
        if name and total > 1 and 0 < len(matched := _matching_slices(c, axis)) < total:
            finding, tag = _describe_matching(name, matched, total)
            return Diagnosis("slices", f"{c.label}: {finding}", tag=tag)
    return None


def end_slices(c):
    """Only the first or last slice along an unnamed axis, or only the border or the interior
    of the last two axes, matches."""
    if not c.same_shape() or c.got.ndim < 2:
        return None
    for axis in range(c.got.ndim):
        total = c.expected.shape[axis]
        if total > 1 and (matched := _matching_slices(c, axis)) in ([0], [total - 1]):
            which = "first" if matched == [0] else "last"
            finding = f"only the {which} index along axis {axis} matches; the others differ"
            return Diagnosis("slices", f"{c.label}: {finding}", tag=which)
    if min(c.got.shape[-2:]) >= 3:
        inner = np.zeros(c.got.shape[-2:], dtype=bool)
        inner[1:-1, 1:-1] = True
        inner = np.broadcast_to(inner, c.got.shape)
        for part, mask in (("interior", inner), ("border", ~inner)):
            if c.near(c.got[mask], c.expected[mask]) and np.any(c.expected[mask]):
                other = "border" if part == "interior" else "interior"
                return Diagnosis(
                    "slices",
                    f"{c.label}: only the {part} of the last two axes matches, the {other} differs",
                    "check what happens at the first and last rows and columns",
                    tag=part,
                )
    return None


def _part_matches(c, index):
    return c.near(c.got[index], c.expected[index])


def shifted(c):
    """The right values moved by one or two places along the last axes: an offset slice."""
    if not c.same_shape() or c.got.ndim == 0:
        return None
    axes = list(range(c.got.ndim))[-2:]
    for shift in itertools.product(range(-2, 3), repeat=len(axes)):
        if not any(shift) or any(abs(s) >= c.got.shape[a] for s, a in zip(shift, axes)):
            continue
        mine, theirs = [slice(None)] * c.got.ndim, [slice(None)] * c.got.ndim
        for s, a in zip(shift, axes):
            n = c.got.shape[a]
            mine[a], theirs[a] = slice(max(s, 0), n + min(s, 0)), slice(max(-s, 0), n - max(s, 0))
        got, expected = c.got[tuple(mine)], c.expected[tuple(theirs)]
        if 2 * got.size >= c.got.size and np.any(expected) and c.near(got, expected):
            names = ", ".join(c.axis_name(a) for a in axes)
            return Diagnosis(
                "slices",
                f"{c.label} holds the expected values shifted by {shift} along ({names})",
                "a slice or an index starts at the wrong place",
                "shifted",
            )
    return None


def values(c):
    """The generic diagnosis, when nothing above recognised the answer: where it is wrong."""
    if c.got.ndim == 0:
        return Diagnosis(
            GENERIC, f"{c.label} is {float(c.got):.6g}, expected {float(c.expected):.6g}"
        )
    wrong = _wrong_entries(c)
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    return Diagnosis(
        GENERIC,
        f"{c.label}: {int(wrong.sum())} of {wrong.size} entries are wrong, the first at index "
        f"{first} (got {c.got[first]:.6g}, expected {c.expected[first]:.6g})",
    )


def general(c):
    """The diagnosis that tries no candidate: the wrong shape, else where the values differ.

    What compare says when the diagnosers run out of time or fail.
    """
    if c.same_shape():
        return values(c)
    return Diagnosis("shape", diagnose_shape(c.label, c.got.shape, c.expected.shape))


# The order matters. The exercise's own mistakes and sums come first: they are the most
# specific names. Then the diagnosers that explain a wrong shape, before `shape`, which
# answers every other wrong shape; then, for the right shape, the simplest explanation first
# (a whole-array factor before a flip, which an antisymmetric answer also fits; the named
# slices before the entries left at 0, before per-row factors and the ends of unnamed axes,
# each of which a partly right answer would also fit); `values` answers everything.
DIAGNOSERS = [
    declared_mistake,  # a typical wrong version simulated by the exercise
    declared_sum,  # `=` instead of `+=`, a term dropped or alone, in a declared sum
    reduction,  # a sum missing, one too many, or over the wrong axis of an input
    one_slice,  # the first or last slice alone
    cropped,  # the first rows or columns only
    permutation,  # transposed (also square), axes permuted
    scrambled,  # transposed and then reshaped
    broadcast,  # (N,) and (N, 1) broadcast to (N, N)
    shape,  # any other wrong shape
    integer,  # integers where floats belong: truncated, whatever else it looks like
    not_finite,  # NaN or inf
    factor,  # a constant factor, a flipped sign
    logarithm,  # log or exp of the expected value
    flipped,  # reversed along some axes
    region,  # right where an input is positive, wrong where it is negative (or the reverse)
    named_slices,  # only some examples, time steps, channels match
    unwritten,  # right except at entries left at 0
    slice_factors,  # each row off by its own factor
    end_slices,  # only the first or last index of an axis, or the border, or the interior
    shifted,  # moved by an offset along the last axes
    values,  # the generic diagnosis
]


def _float_inputs(name, value, known=None):
    """(name, float array) pairs of an argument, items of tuples, lists and dicts included;
    an array in known ({id: name}, a probe's inputs) goes by its name there."""
    known = known or {}
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _float_inputs(f"{name}['{k}']", v, known)]
    if isinstance(value, (tuple, list)):
        return [p for k, v in enumerate(value) for p in _float_inputs(f"{name}[{k}]", v, known)]
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim >= 1:
        return [(known.get(id(value), name), value)]
    return []


def _diagnose(c):
    """The first finding of DIAGNOSERS, or the general one when they take over
    DIAGNOSIS_SECONDS or fail: a wrong answer always gets a diagnosis, never a grader error."""
    c.deadline = time.thread_time() + DIAGNOSIS_SECONDS
    try:
        return next(filter(None, (diagnose(c) for diagnose in DIAGNOSERS)))
    except Exception:  # out of time, out of memory, or a value no diagnoser foresaw
        return general(c)


def compare(
    label,
    got,
    expected,
    *,
    factors=(),
    mistakes=(),
    axes=None,
    sums=None,
    hints=None,
    inputs=(),
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
    - sums: a Sum when `expected` adds up contributions (a loop with +=)
    - hints: {kind or "kind:tag": advice} replacing a general diagnoser's advice
    - inputs: (name, array) pairs of the function's inputs, for the reduction diagnoser
    - rtol, atol: tolerances of the comparison; atol defaults to 1e-8 times the largest |expected|
    - warned: warning messages recorded while the student's function ran
    - stable_hint: what to suggest when the answer has NaN or inf and the expected one has not
    """
    expected = np.asarray(expected, dtype=np.float64)
    answer, got = got, as_array(label, got, expected)  # as_array refuses what is no answer
    integral = np.asarray(answer).dtype.kind in "iub"
    if atol is None:
        atol = 1e-8 * max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    c = Comparison(
        label, got, expected, list(inputs), tuple(mistakes), tuple(factors), sums,
        tuple(axes) if axes else None, rtol, atol, tuple(warned), stable_hint, integral,
    )  # fmt: skip
    if c.matches(expected):
        return
    found = _diagnose(c)
    hints = hints or {}
    hint = hints.get(f"{found.kind}:{found.tag}", hints.get(found.kind, "")) or found.hint
    details = "" if got.size > _SMALL else f"\nexpected:\n{_fmt(expected)}\ngot:\n{_fmt(got)}"
    # the exercise's hint replaces the general advice in the whole message; the brief one, shown
    # first in the student's kernel, keeps the general advice and leaves the hint for later
    first = found.finding + (f": {hint or found.advice}" if hint or found.advice else "")
    brief = found.finding + (f": {found.advice}" if found.advice else "")
    raise CheckFailed(first + details, found.kind, hint, brief + details)


# ---------------------------------------------------------------- probes: where it goes wrong


# What the second look at one failing check may spend: calls of the student's function (with
# the course's on the same small case; in the grader, each a round trip to its sandboxed
# child) and CPU seconds of this process, so that a self-check still answers in well under a
# second. Counted in calls, its findings do not depend on the machine's load; the longest
# look of the catalogue makes 22.
PROBE_CALLS = 64
PROBE_SECONDS = 0.5
# An input of the smallest failing case with more entries than this is shown by its shape; a
# case whose inputs all have more is not worth showing
HAND_SIZE = 24
# At most this many entries of an upstream gradient are tried, one at a time
ONE_AT_A_TIME = 24
# The kinds of a diagnosis that says where an answer is wrong and not why: the smallest case
# on which it is still wrong is shown with it
LOCATING = ("slices", "region")


@dataclass(frozen=True)
class Switch:
    """One part of an exercise's computation switched off, or one upstream gradient sent
    alone: a case in which the answer may be right although it is wrong in the full case.

    when: that case in words ("reg = 0", "only dnext_c flows back", "T = 1")
    fault: what is at fault when the answer is right there and wrong in the full case, the
        quantity first ("the regularization term is off")
    values: {input: value} it sets, an array input to value everywhere; a function of the
        input's value gives its new value
    sizes: {size: value} it sets
    """

    when: str
    fault: str
    values: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Probe:
    """One exercise's case as a second look may vary it, when no diagnoser named the mistake:
    smaller sizes, simpler values, one upstream entry at a time, parts switched off.

    inputs: {name: (value, axes)}, what the case is made of. axes names the size along each
        axis of an array: "N D" for x (N, D), "4*H" for an axis of 4 blocks of H, "F*16" for
        one of F blocks of 16, a number for one whose length stays; "" for a number (reg, a
        stride); a whole number that is a size itself gets that size's name ("n")
    call: call(**inputs) -> the arguments of the student's function (a cache made by the
        course's forward pass from the inputs)
    trusted: trusted(*arguments) -> the right outputs, exact and fast (no central differences)
    outputs: the names of the outputs in order, None for one not compared (a cache); a dict
        output is compared key by key, as "grads['W1']"
    upstream: the input that is the upstream gradient, tried with one entry 1 and the rest 0
    switches: the Switches to try, in order
    smallest: {size: its smallest value} where it is not 1
    derived: {size: rule} for a size that follows from the others (Ho from H, the window and
        the stride): rule(values) with values the sizes and the numbers among the inputs
    valid: valid(**inputs) -> whether the exercise is defined there (away from its kinks)
    blocks: {output: (axis, labels)} for an output whose axis is made of equal blocks, one
        per label (the four gates' columns of dWx): blocks alone wrong are named
    rtol: the comparison's relative tolerance
    """

    inputs: dict
    call: object
    trusted: object
    outputs: tuple
    upstream: str = ""
    switches: tuple = ()
    smallest: dict = field(default_factory=dict)
    derived: dict = field(default_factory=dict)
    valid: object = None
    blocks: dict = field(default_factory=dict)
    rtol: float = 1e-6

    def names(self):
        """{id(array): name} of the input arrays, to name them in messages."""
        return {id(value): name for name, (value, _) in self.inputs.items()}

    def values(self):
        return {name: value for name, (value, _) in self.inputs.items()}

    def sizes(self):
        """{size: value} of the case, the derived sizes left out."""
        found = {}
        for value, axes in self.inputs.values():
            if _is_size(value, axes):
                found.setdefault(axes, value)
                continue
            for length, token in zip(np.shape(value), axes.split()):
                size, outer, inner = _axis(token)
                if size:
                    found.setdefault(size, length // (outer * inner))
        return {size: n for size, n in found.items() if size not in self.derived}

    def resized(self, values, sizes):
        """The inputs `values` cut (or grown) to `sizes`, the derived sizes following; None
        when a size falls below its smallest."""
        numbers = {name: v for name, v in values.items() if np.ndim(v) == 0}
        sizes = dict(sizes)
        for size, rule in self.derived.items():
            sizes[size] = rule({**numbers, **sizes})
        if any(n < self.smallest.get(size, 1) for size, n in sizes.items()):
            return None
        resized = {}
        for name, (value, axes) in self.inputs.items():
            if _is_size(value, axes):
                resized[name] = sizes[axes]
                continue
            array = values[name]
            for axis, token in enumerate(axes.split()):
                size, outer, inner = _axis(token)
                if size:
                    array = _fit(array, axis, outer, sizes[size], inner)
            resized[name] = array
        return resized

    def switched(self, values, switch, sizes):
        """The inputs with `switch` on: its values set, then its sizes."""
        values = dict(values)
        for name, value in switch.values.items():
            if callable(value):
                values[name] = value(values[name])
            else:
                values[name] = np.full_like(values[name], value) if np.ndim(values[name]) else value
        return self.resized(values, {**sizes, **switch.sizes})


def in_order(**inputs):
    """A Probe's `call` when the student's function takes its inputs as they are, in order."""
    return tuple(inputs.values())


# A batch of one example: right there and wrong on a batch, the examples are combined wrongly
ONE_EXAMPLE = Switch("N = 1", "how the examples of the batch are combined is wrong", sizes={"N": 1})


def any_shape(shape):
    """Names for the axes of an elementwise exercise's input of this shape: "n" for one axis,
    "rows columns" for two, "n1 n2 n3" for more."""
    if len(shape) <= 2:
        return " ".join(("n",) if len(shape) == 1 else ("rows", "columns")[: len(shape)])
    return " ".join(f"n{k}" for k in range(1, len(shape) + 1))


def _is_size(value, axes):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and bool(axes)


def _axis(token):
    """(size, blocks outside, entries inside) of an axis named `token`: "N" is ("N", 1, 1),
    "4*H" is ("H", 4, 1), "F*16" is ("F", 1, 16), a number (None, 1, 1)."""
    outer, _, inner = token.partition("*")
    if not inner:
        return (None if token.isdigit() else token), 1, 1
    return (inner, int(outer), 1) if outer.isdigit() else (outer, 1, int(inner))


def _fit(array, axis, outer, n, inner):
    """array with n entries of each block along `axis` (outer blocks of entries of `inner`
    numbers each): the first n, or more drawn at random (zeros for integers)."""
    moved = np.moveaxis(np.asarray(array), axis, 0)
    rest = moved.shape[1:]
    blocks = moved.reshape(outer, -1, inner, *rest)
    if n <= blocks.shape[1]:
        blocks = blocks[:, :n]
    else:
        shape = (outer, n - blocks.shape[1], inner, *rest)
        more = rng_for(n).normal(size=shape) if blocks.dtype.kind == "f" else np.zeros(shape)
        blocks = np.concatenate([blocks, more.astype(blocks.dtype)], axis=1)
    return np.moveaxis(blocks.reshape(outer * n * inner, *rest), 0, axis)


def _simpler(value):
    """Simpler versions of an array of floats: whole numbers from -2 to 2, whole numbers,
    signs (±1)."""
    rounded = np.round(value) + 0.0
    return [np.clip(rounded, -2.0, 2.0), rounded, np.where(value < 0, -1.0, 1.0)]


def _entries(outputs):
    """How many numbers the values of a dict of outputs hold, as arrays (0 for a value that
    is not numbers)."""
    total = 0
    for value in outputs.values():
        with contextlib.suppress(TypeError, ValueError):
            total += np.size(value)
    return total


def _named_outputs(result, names):
    """{name: value} of a result by the output names (None: left out); a dict output's items
    by key. Raises ValueError for a result of another structure."""
    parts = (result,) if len(names) == 1 else result
    if not isinstance(parts, (tuple, list)) or len(parts) != len(names):
        raise ValueError("not the outputs' structure")
    named = {}
    for name, part in zip(names, parts):
        if name is not None and isinstance(part, dict):
            named.update({f"{name}['{key}']": value for key, value in part.items()})
        elif name is not None:
            named[name] = part
    return named


class _OutOfTime(Exception):
    pass


class Probing:
    """One second look, with the student's function `run` (its result on arguments, or None
    when it raises), which it calls at most PROBE_CALLS times, until the thread_time()
    `deadline`, after which it stops trying cases."""

    def __init__(self, probe, run, deadline):
        self.probe = probe
        self.run = run
        self.deadline = deadline
        self.calls = 0

    def outcome(self, values):
        """{output: (got, expected)} on the case made of `values`, or None when the
        exercise is not defined there, or the student's function or the course's fails."""
        self.calls += 1
        if self.calls > PROBE_CALLS or time.thread_time() > self.deadline:
            raise _OutOfTime
        if values is None or (self.probe.valid and not self.probe.valid(**values)):
            return None
        try:
            args = self.probe.call(**copy.deepcopy(values))
            expected = _named_outputs(self.probe.trusted(*copy.deepcopy(args)), self.probe.outputs)
            got = _named_outputs(self.run(args), self.probe.outputs)
        except Exception:  # the course's function is undefined there, or a result is malformed
            return None
        if _entries(got) > SIZE_ROOM * max(_entries(expected), SIZE_ROOM):
            raise _OutOfTime  # far larger than any answer: no more of them (see SIZE_ROOM)
        return {name: (got.get(name), want) for name, want in expected.items()}

    def wrong(self, outcome):
        """The outputs of an outcome that are wrong."""
        return [
            name
            for name, (got, want) in outcome.items()
            if not _right_answer(got, want, self.probe.rtol)
        ]

    def still_wrong(self, values, wrong):
        """Whether every output of `wrong` is still wrong on the case `values`."""
        outcome = self.outcome(values)
        return outcome is not None and set(wrong) <= set(self.wrong(outcome))

    def diagnosis(self):
        """A CheckFailed naming the part at fault or the smallest failing case, or None."""
        values, sizes = self.probe.values(), self.probe.sizes()
        try:
            full = self.outcome(values)
            wrong = self.wrong(full) if full else []
            if not wrong:
                return None  # not this probe's case (a cache, a stacked output): no look
            found, missed = self.switches(values, sizes, wrong)
        except _OutOfTime:
            return None
        right = [name for name in full if name not in wrong]
        blocked, blocks = self.blocks(full, wrong)
        shown, sized = self.smallest_case(values, sizes, wrong, missed)
        if blocked and not found:
            others = [name for name in wrong if name not in blocked]
            finding = f"only {_listed(blocks)} {_be(blocks)} wrong: {_listed(blocked)} "
            finding += f"{_be(blocked)} right but in the block of {_listed(blocks)}"
            finding += f"; {_listed(others)} {_be(others)} wrong too" if others else ""
            return CheckFailed(finding + _rights(right) + shown, "path")
        if found:
            others = " or ".join(s.when for s in missed)
            finding = f"{found.fault}: {_listed(wrong)} {_be(wrong)} right when {found.when}"
            finding += f" but not when {others}" if others else ""
            if blocked:
                finding += f"; {_listed(blocked)} {_be(blocked)} wrong only in the block of "
                finding += _listed(blocks)
            return CheckFailed(finding + _rights(right) + shown, "path")
        if not shown:
            return None
        more = f", as {_be(wrong[1:])} {_listed(wrong[1:])}" if wrong[1:] else ""
        still = "they still are" if more else "it still is"
        finding = f"{wrong[0]}: wrong{more}{_rights(right)}; the smallest case found where "
        finding += f"{still}: {sized} (below)"
        return CheckFailed(finding + shown, "smallest case")

    def located(self):
        """The lines that show the smallest failing case, for a diagnosis that says where the
        answer is wrong and not why; "" when there is none to show."""
        values, sizes = self.probe.values(), self.probe.sizes()
        try:
            full = self.outcome(values)
        except _OutOfTime:
            return ""
        wrong = self.wrong(full) if full else []
        return self.smallest_case(values, sizes, wrong, ())[0] if wrong else ""

    def smallest_case(self, values, sizes, wrong, switches):
        """(the lines that show the smallest failing case found, its sizes as text), or
        ("", "") when there is none to show."""
        case, sizes = self.smallest(values, sizes, wrong, switches)
        try:
            outcome = self.outcome(case)
        except _OutOfTime:
            return "", ""
        sized = ", ".join(f"{size}={n}" for size, n in sizes.items())
        return (self.shown(case, sized, outcome, wrong), sized) if outcome else ("", "")

    def blocks(self, outcome, wrong):
        """(the wrong outputs that are wrong in some of their blocks only, those blocks) when
        they share them (the columns of one gate), else ((), ())."""
        found = {}
        for name in (name for name in wrong if name in self.probe.blocks):
            axis, labels = self.probe.blocks[name]
            got, want = (np.asarray(v, dtype=np.float64) for v in outcome[name])
            if got.shape != want.shape or got.shape[axis] % len(labels):
                return (), ()
            pieces = zip(labels, *(np.split(v, len(labels), axis) for v in (got, want)))
            bad = [label for label, g, w in pieces if not _right_answer(g, w, self.probe.rtol)]
            found[name] = tuple(bad) if len(bad) < len(labels) else ()
        shared = set(found.values())
        if len(shared) != 1 or not next(iter(shared)):
            return (), ()
        return list(found), list(shared.pop())

    def switches(self, values, sizes, wrong):
        """(the first Switch with which the wrong outputs are right, the Switches with which
        they are still wrong)."""
        found, missed = None, []
        for switch in self.probe.switches:
            outcome = self.outcome(self.probe.switched(values, switch, sizes))
            if outcome is None:
                continue
            if set(self.wrong(outcome)) & set(wrong):
                missed.append(switch)
            elif found is None:
                found = switch
        return found, missed

    def smallest(self, values, sizes, wrong, switches):
        """(the inputs, the sizes) of the smallest and simplest case on which an output of
        `wrong` is still wrong, as far as the time allows: the `switches` on that keep it
        wrong, then each size as small as it goes, whole numbers, one upstream entry."""
        try:
            for switch in switches:
                switched = self.probe.switched(values, switch, sizes)
                if self.still_wrong(switched, wrong):
                    values, sizes = switched, {**sizes, **switch.sizes}
            for size, n in list(sizes.items()):
                low = self.probe.smallest.get(size, 1)
                for m in sorted({low, low + 1, low + 2, n // 2, n - 1} & set(range(low, n))):
                    smaller = self.probe.resized(values, {**sizes, size: m})
                    if smaller is not None and self.still_wrong(smaller, wrong):
                        values, sizes = smaller, {**sizes, size: m}
                        break
            floats = [
                name
                for name, value in values.items()
                if name != self.probe.upstream
                and np.asarray(value).dtype.kind == "f"
                and np.ndim(value)
            ]
            for k in range(3):  # all inputs simpler at once, else one by one
                together = {**values, **{name: _simpler(values[name])[k] for name in floats}}
                if self.still_wrong(together, wrong):
                    values = together
                    break
            else:
                for name in floats:
                    for simpler in _simpler(values[name]):
                        if self.still_wrong({**values, name: simpler}, wrong):
                            values = {**values, name: simpler}
                            break
            if self.probe.upstream:
                upstream = values[self.probe.upstream]
                for k in range(min(upstream.size, ONE_AT_A_TIME)):
                    alone = np.zeros_like(upstream)
                    alone.flat[k] = 1.0
                    if self.still_wrong({**values, self.probe.upstream: alone}, wrong):
                        values = {**values, self.probe.upstream: alone}
                        break
        except _OutOfTime:
            pass
        return values, sizes

    def shown(self, values, sized, outcome, wrong):
        """The lines that show a case of sizes `sized` and its wrong outputs, "" when it is too
        large to check by hand."""
        arrays = [np.asarray(v) for v in values.values() if np.ndim(v)]
        if arrays and min(a.size for a in arrays) > HAND_SIZE:
            return ""
        lines = [f"\nthe smallest failing case found{f' ({sized})' if sized else ''}:"]
        lines += [f"  {name} = {_small(value)}" for name, value in values.items()]
        for name in [name for name in self.wrong(outcome) if name in wrong]:
            got, want = outcome[name]
            lines += [f"  expected: {name} = {_small(want)}", f"  yours:    {name} = {_small(got)}"]
        return "\n".join(lines)


def _be(names):
    return "is" if len(names) == 1 else "are"


def _rights(right):
    return f" ({_listed(right)} {_be(right)} right)" if right else ""


def _small(value):
    """A value as the smallest case shows it: in full when small, else by its shape."""
    try:
        array = np.asarray(value)
        array = array if array.dtype.kind in "iub" else array.astype(np.float64) + 0.0
    except (TypeError, ValueError):
        return repr(value)[:60]
    if array.ndim == 0:
        return f"{array:g}" if array.dtype.kind == "f" else str(array)
    if array.size > HAND_SIZE:
        return f"(an array of shape {array.shape})"
    text = np.array2string(array, precision=4, suppress_small=True, separator=", ")
    return " ".join(text.split())


# ---------------------------------------------------------------- the runner


# What the student's function may return, whatever the exercise: the answers of the course
# are arrays, numbers and tuples or dicts of them (a cache a few dozen items, 3 deep), or at
# most a few hundred numbers as nested lists. Anything nested deeper or holding more items is
# refused after walking at most this much of it, before any check reads it.
MAX_NESTING = 16
MAX_ITEMS = 10_000


def _excess(value):
    """What makes `value` too large to be an answer ("" when nothing does): tuples, lists and
    dicts nested over MAX_NESTING deep or holding over MAX_ITEMS items in all."""
    pending, items = [(value, 0)], 0
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, (tuple, list)):
            continue
        if depth == MAX_NESTING:
            return f"tuples, lists or dicts nested over {MAX_NESTING} deep"
        items += len(node)
        if items > MAX_ITEMS:
            return f"over {MAX_ITEMS} items in tuples, lists or dicts"
        pending.extend((item, depth + 1) for item in node)
    return ""


def _snapshot(value, copied):
    """The copy of an argument to compare it with after the call (None: nothing to compare)."""
    return copied if isinstance(value, (np.ndarray, dict, list, tuple)) else None


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


def _student_frame(exc):
    """(frame, line) of the last traceback entry in neither this package nor numpy: where the
    student's own code raised; (None, "") when there is none."""
    library_dirs = (__file__.rsplit("/", 1)[0], np.__file__.rsplit("/", 1)[0])
    found = (None, "")
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if not filename.startswith(library_dirs):
            found = (frame, linecache.getline(filename, lineno, frame.f_globals).strip())
    return found


def _operands(line, names):
    """The arrays named in `line` (and their .T) with their shapes, as "x is (4, 5)" pairs."""
    found = {}
    for name, transposed in re.findall(r"\b([A-Za-z_]\w*)(\.T\b)?", line):
        value = names.get(name)
        if isinstance(value, np.ndarray) and value.ndim >= 1:
            shape = value.shape[::-1] if transposed else value.shape
            found.setdefault(name + transposed, shape)
    return [f"{name} is {shape}" for name, shape in found.items()]


def _joined(parts):
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def error_advice(exc, line, names):
    """Advice for an error raised in the student's `line`, whose variables are `names`.

    Shape errors get the shapes of the arrays in the line and, for an assignment to dX, the
    shape of X it must have; index and type errors one concrete line each; "" when none fits.
    """
    message = str(exc)
    operands = _operands(line, names)
    lead = f"{_joined(operands)}: " if operands else ""
    target = re.match(r"\s*(d([A-Za-z_]\w*))\s*[-+*/]?=[^=]", line)
    if target and isinstance(names.get(target[2]), np.ndarray):
        wanted = f"{target[1]} must have {target[2]}'s shape {names[target[2]].shape}"
    else:
        wanted = ""
    if "matmul" in message or "not aligned" in message:
        if operands and wanted:
            factors = _joined([o.split(" is ")[0] for o in operands])
            return f"{lead[:-2]}; {wanted}: which product of {factors} gives that?"
        return f"{lead}the inner sizes of a matrix product must agree (a .T missing?)"
    if "could not be broadcast together" in message:
        said = re.search(r"with shapes (.*\S)", message)
        return (
            f"{lead}operands of shapes {said[1] if said else '...'} do not broadcast: numpy "
            "lines up the last axes (keepdims=True or [:, None] keeps an axis)"
            + (f"; {wanted}" if wanted else "")
        )
    if "could not broadcast input array" in message:
        return f"{lead}the value assigned must have the shape of the slice it goes into"
    if isinstance(exc, IndexError):
        return f"{lead}an index runs past the end of its axis: check the loop's range and axis"
    if isinstance(exc, TypeError) and "NoneType" in message:
        return "a value in this line is None: does a function you call return its result?"
    if isinstance(exc, TypeError):
        kinds = sorted({type(names[n]).__name__ for n in re.findall(r"\w+", line) if n in names})
        if kinds:
            return f"the values in this line are of type {', '.join(kinds)}: use numpy arrays"
    return ""


def error_diagnosis(exc):
    """The diagnosis of an error raised by the student's code: advice first when there is
    some, then numpy's (or Python's) own words; the student's line is quoted."""
    frame, line = _student_frame(exc)
    where = f" in `{line}`" if line else ""
    advice = error_advice(exc, line, frame.f_locals) if frame is not None else ""
    said = f"{type(exc).__name__}: {exc}"
    if advice:
        return f"raised {type(exc).__name__}{where}: {advice}\n(Python said {said})"
    return f"raised {said}{where}"


# About what nbgrader's Validate dialog shows of a line (~100 characters), with room for the
# name of the exercise and a short diagnosis with its advice
WIDTH = 110


def wrapped(text, width=WIDTH):
    """`text` as lines of at most `width` characters (a word longer than that stays whole),
    the first broken after a ":" or ";" when one falls in its second half; the following
    lines are indented by two spaces, so that " ".join of the stripped lines gives `text`."""
    lines = []
    while len(text) > width:
        spaces = [i for i, ch in enumerate(text[: width + 1]) if ch == " "]
        if not spaces:
            break
        clauses = [i for i in spaces if i >= width // 2 and text[i - 1] in ":;"]
        cut = (clauses or spaces)[-1] if not lines else spaces[-1]
        lines.append(text[:cut])
        text = text[cut + 1 :]
        width = WIDTH - 2
    return [lines[0], *(f"  {line}" for line in lines[1:]), f"  {text}"] if lines else [text]


class Check:
    """One case of one exercise: calls the student's function and compares its answers.

    Used as a context manager: on success it prints one line to stdout (and, for a function
    that calls other exercises' functions, its notes: see `calls`); on failure it lets
    CheckFailed through with the function name and the case added. A failure no diagnoser
    named gets a second look first: a second call on the same inputs (state kept between
    calls), then the exercise's `probe` (a Probe), which finds the part at fault and the
    smallest case on which the answer is still wrong.
    """

    def __init__(self, name, fn, case, probe=None):
        self.name = name
        self.fn = fn
        self.case = case
        self.probe = probe
        self.warned = []
        self.inputs = []
        self.calls = []  # (the arguments, the result) of each call, as they were then
        self.outputs = {}  # {name: (got, expected)} of the last call, from `unpack`
        self.callees = CALLEES.get(name, ())
        # in the grader, the student's function is a proxy that the callees can be lent to
        self.lending = bool(self.callees) and hasattr(fn, "given")
        self.called = set()  # the names of the lent callees the student's code called

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            print(f"\u2714 {self.name} passed: {self.case}")
            notes = self._passing_notes()
            for note in notes:
                print("\n".join(wrapped(f"  {note}")))
            if (kept := _notes.get()) is not None:
                kept.extend(notes)
            return False
        if issubclass(exc_type, CheckFailed):
            if exc.kind == GENERIC:
                exc = self._second_look() or self._with_outputs(exc)
            elif exc.kind in LOCATING and self.probe is not None:
                exc = self._with_smallest_case(exc)
            kind, hint, note = exc.kind, exc.hint, self._given_note()
            texts = (str(exc), exc.brief)
            if failing := self._failing_callee():  # the likely cause comes first
                callee, found = failing
                lead = f"your {callee}, which {self.name} calls, fails its own check: "
                texts = [
                    _led(lead + _diagnosis_of(own, callee), f"with it, {self.name} gets: ", text)
                    for text, own in ((str(exc), found), (exc.brief, CheckFailed(found.brief)))
                ]
                kind, hint = found.kind, found.hint
            full, brief = (self._framed(text, note) for text in texts)
            raise CheckFailed(full, kind, hint, brief) from None
        return False

    def _framed(self, text, note):
        """A failure's text with the function's name in front, the case, and a note."""
        first, *rest = text.splitlines() or [""]
        lines = [*wrapped(f"{self.name}: {first}"), f"case: {self.case}"]
        lines += [part for line in [note, *rest] if line for part in wrapped(line)]
        return "\n".join(lines)

    def _run(self, args):
        """The student's function on args (a copy of them), quietly: its result, or None
        when it raises (an error of the student's code is not this look's to report) or
        returns more than any answer holds (see `_excess`)."""
        fn = self.fn
        if self.lending:
            fn = fn.given({callee.name: self._lent(callee) for callee in self.callees})
        quiet = io.StringIO()
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(quiet),
            contextlib.redirect_stderr(quiet),
            np.errstate(all="ignore"),
        ):
            warnings.simplefilter("ignore")
            try:
                result = fn(*copy.deepcopy(args))
            except Exception:
                return None
        return None if _excess(result) else result

    def _second_look(self):
        """A CheckFailed that says more than the generic one, or None: state kept between
        calls, else what the exercise's probe finds (the part at fault, the smallest case)."""
        deadline = time.thread_time() + PROBE_SECONDS
        found = self._state()
        if found is None and self.probe is not None:
            found = Probing(self.probe, self._run, deadline).diagnosis()
        return found

    def _state(self):
        """A CheckFailed when the student's function, called again on the arguments of its
        first or its last call, returns another result than it did then; else None."""
        for args, result in self.calls[:1] + self.calls[1:][-1:]:
            again = self._run(args)
            if again is not None and not _same_answer(again, result):
                found = (
                    f"called twice on the same inputs, {self.name} returned two different "
                    "results: it keeps state between calls"
                )
                hint = (
                    "a global variable, a default argument (cache=[], t=0), np.random's global "
                    "generator or an array kept from an earlier call changes what the next "
                    "call returns: compute each result from the arguments alone"
                )
                return CheckFailed(f"{found}: {hint}", "state", hint, found)
        return None

    def _with_smallest_case(self, exc):
        """exc, the smallest case on which the answer is still wrong shown below it."""
        deadline = time.thread_time() + PROBE_SECONDS
        shown = Probing(self.probe, self._run, deadline).located()
        if not shown:
            return exc
        return CheckFailed(str(exc) + shown, exc.kind, exc.hint, exc.brief + shown)

    def _with_outputs(self, exc):
        """exc, its first line saying which other outputs of the call are right, if any."""
        right = [name for name, (got, want) in self.outputs.items() if _right_answer(got, want)]
        if not right or len(right) == len(self.outputs):
            return exc
        full, brief = (_after_first(text, _rights(right)) for text in (str(exc), exc.brief))
        return CheckFailed(full, exc.kind, exc.hint, brief)

    def _passing_notes(self):
        """In the grader: a note for each lent callee the student's code called whose
        student's own version fails its own check (that cell's failure, not this one's)."""
        notes = []
        for callee in self.callees:
            found = own_failure(self.fn, callee) if callee.name in self.called else None
            if found:
                notes.append(
                    f"{self.name} is right given a correct {callee.name}; your {callee.name} "
                    f"fails its own check: {_diagnosis_of(found, callee.name)}"
                )
        return notes

    def _given_note(self):
        """In the grader, when the student's code called lent callees: that a failure is this
        function's own ("" otherwise)."""
        called = [callee.name for callee in self.callees if callee.name in self.called]
        if not called:
            return ""
        return (
            f"{self.name} was given a correct {' and '.join(called)} (the course's), so the "
            f"mistake is in {self.name} itself"
        )

    def _failing_callee(self):
        """In the student's kernel: (name, CheckFailed) of the first callee that the student's
        function refers to and whose student's own version fails its own check, or None."""
        names = set() if self.lending else referred_names(self.fn)
        for callee in self.callees:
            found = own_failure(self.fn, callee) if callee.name in names else None
            if found:
                return callee.name, found
        return None

    def _lent(self, callee):
        """The course's reference for `callee`, noting when the student's code calls it."""

        def reference(*args):
            self.called.add(callee.name)
            return callee.reference(*args)

        return reference

    def call(self, *args, warn_free=False):
        """Call the student's function on `args`, which it must leave unchanged.

        Output the function prints to stderr goes to stdout (nbgrader gives 0 to a test
        cell with stderr output), and warnings are recorded rather than shown. With
        warn_free, any RuntimeWarning (overflow, invalid value) is a failure.
        """
        names = _argument_names(self.fn, len(args))
        kept = copy.deepcopy(args)  # as they were, a generator's state included
        before = list(map(_snapshot, args, kept))
        fn = self.fn
        if self.lending:  # the callees are the course's: a mistake of theirs costs nothing here
            fn = fn.given({callee.name: self._lent(callee) for callee in self.callees})
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(sys.stdout):
            warnings.simplefilter("always")
            try:
                result = fn(*args)
            except NotImplementedError:
                raise CheckFailed(
                    "not implemented yet: replace `raise NotImplementedError()` with your code",
                    "not implemented",
                ) from None
            except CheckFailed:
                raise
            except Exception as exc:  # any error of the student's code becomes a diagnosis
                raise CheckFailed(error_diagnosis(exc), "error") from None
        self.warned = [f"{w.category.__name__}: {w.message}" for w in caught]
        known = {} if self.probe is None else self.probe.names()
        self.inputs = [p for name, a in zip(names, args) for p in _float_inputs(name, a, known)]
        for name, old, new in zip(names, before, args):
            if old is not None and not _same(old, new):
                raise CheckFailed(
                    f"modified its input `{name}` in place: work on a copy "
                    "(e.g. `z = z - m` instead of `z -= m`)",
                    "modified input",
                )
        if warn_free:
            runtime = [w for w in self.warned if w.startswith("RuntimeWarning")]
            if runtime:
                raise CheckFailed(
                    f"numpy warned {runtime[0]!r}: use a numerically stable formula",
                    "instability",
                )
        if excess := _excess(result):
            raise CheckFailed(
                f"returned {excess}: return arrays (np.array) rather than nested or long lists",
                "type",
            )
        self.calls.append((kept, copy.deepcopy(result)))
        return result

    def unpack(self, result, names, expected=None):
        """Split a tuple result into its parts, failing clearly when its length is wrong.

        expected: the right parts, in the same order (None for a part that has no one right
        value to match, such as a cache). The parts are then matched by value before any is
        judged: parts that hold each other's values are named (returned in the wrong order),
        and a failure of one part says which others are right.
        """
        if not isinstance(result, (tuple, list)) or len(result) != len(names):
            count = len(result) if isinstance(result, (tuple, list)) else 1
            raise CheckFailed(
                f"returned {count} value(s), expected a tuple ({', '.join(names)})", "type"
            )
        if expected is None:
            return result
        parts = dict(zip(names, zip(result, expected)))
        wrong = {name: want for name, (got, want) in parts.items() if not _holds(got, want)}
        misplaced = {
            name: other
            for name in wrong
            for other in [_held(parts[name][0], {o: w for o, w in wrong.items() if o != name})]
            if other
        }
        if misplaced:
            said = ", ".join(f"your {name} is {other}" for name, other in misplaced.items())
            found = f"returned in the wrong order: {said}"
            order = f"return ({', '.join(names)}) in this order"
            raise CheckFailed(f"{found}: {order}", "order", order, found)
        self.outputs = {name: part for name, part in parts.items() if part[1] is not None}
        return result

    def compare(self, label, got, expected, **options):
        """`compare` with the inputs and warnings of the last call."""
        options.setdefault("inputs", self.inputs)
        compare(label, got, expected, warned=self.warned, **options)

    def compare_cache(self, cache, contract, mistakes=()):
        """The cache must be the course contract's layout, with the values it names.

        contract: (name, value) pairs in the contract's order; one pair means the cache is
        that value itself, more mean the tuple of them. A value is an array or a dict.
        mistakes: Mistakes for the last item (e.g. a pre-activation stored for next_h).
        Items holding another item's value are named ("in this order"); kind "cache".
        """
        names = [name for name, _ in contract]
        layout = f"({', '.join(names)})"
        if len(contract) == 1:
            if isinstance(cache, (tuple, list)):
                raise CheckFailed(
                    f"the cache is a {type(cache).__name__} of {len(cache)} item(s): it must "
                    f"be the array {names[0]} itself, as the course contract fixes",
                    "cache",
                )
            items = [cache]
        elif not isinstance(cache, (tuple, list)) or len(cache) != len(contract):
            if isinstance(cache, (tuple, list)) and cache and isinstance(cache[0], (tuple, list)):
                got = f"a list of {len(cache)} step caches"
            elif isinstance(cache, (tuple, list)):
                got = f"{len(cache)} items"
            else:
                got = f"a {type(cache).__name__}"
            raise CheckFailed(
                f"the cache must be the tuple {layout} fixed by the course contract, got {got}",
                "cache",
            )
        else:
            items = list(cache)
        for k, ((name, value), item) in enumerate(zip(contract, items)):
            if _holds(item, value, 1e-9):
                continue
            where = "the cache" if len(contract) == 1 else f"cache item {k} ({name})"
            wanted = names[0] if len(contract) == 1 else f"{layout}, in this order"
            for other, other_value in contract:
                if other != name and _holds(item, other_value, 1e-9):
                    raise CheckFailed(f"{where} holds {other}: the cache must be {wanted}", "cache")
            for mistake in mistakes if k == len(contract) - 1 else ():
                if _holds(item, mistake.output, 1e-9):
                    raise CheckFailed(f"{where} {mistake.message}: it must be {name}", "cache")
            raise CheckFailed(
                f"{where} is not the {name} it must hold: the cache must be {wanted}", "cache"
            )


def _holds(item, value, rtol=1e-6):
    """Whether an answer or a cache item holds `value` (an array within rounding, or an
    equal dict); never for a value of None."""
    if value is None:
        return False
    if isinstance(value, dict):
        return isinstance(item, dict) and item == value
    try:
        item = np.asarray(item, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return False
    value = np.asarray(value, dtype=np.float64)
    return _close(item, value, rtol, 1e-12 * max(1.0, float(np.max(np.abs(value), initial=0))))


def _held(item, values):
    """The name of the first of `values` ({name: value}) that item holds, or ""."""
    return next((name for name, value in values.items() if _holds(item, value)), "")


def _right_answer(got, expected, rtol=1e-6):
    """Whether got is expected as compare judges it by default (arrays, numbers)."""
    try:
        got = np.asarray(got, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return False
    return _close(got, expected, rtol, 1e-8 * max(1.0, float(np.max(np.abs(expected), initial=0))))


def _same_answer(a, b):
    """Whether two results of the student's function are the same (both arrays and numbers,
    in the same tuples, lists and dicts)."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_same_answer(a[k], b[k]) for k in a)
        )
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (
            isinstance(a, (tuple, list))
            and isinstance(b, (tuple, list))
            and len(a) == len(b)
            and all(map(_same_answer, a, b))
        )
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return True  # not numbers: nothing to tell
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-12, atol=0, equal_nan=True))


def _listed(names):
    """ "a", "a and b", "a, b and c"."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _after_first(text, said):
    """text with `said` added at the end of its first line."""
    first, _, rest = text.partition("\n")
    return first + said + (f"\n{rest}" if rest else "")


def _led(lead, before, text):
    """text's first line moved below `lead`, after `before`; the rest of text follows."""
    first, _, rest = text.partition("\n")
    return "\n".join(part for part in (lead, before + first, rest) if part)


# ---------------------------------------------------------------- exercises that call exercises


@dataclass(frozen=True)
class Callee:
    """An exercise whose function another exercise's function calls (rnn_backward calls
    rnn_step_backward): its name, the course's reference for it, and its own check."""

    name: str
    reference: object
    check: object


CALLEES = {}  # exercise -> (Callee, ...) of the exercises its function calls, from `calls`


def calls(**callers):
    """Declare, once per lesson, which exercises' functions call which, each callee as (the
    course's reference, its check): calls(rnn_backward=[(rnn_step_backward,
    check_rnn_step_backward)]). A caller's check then grades it on its own:

    - in the grader, the student's function is a proxy (autograder.run.trusted.proxy), and
      `fn.given(functions)` is that proxy with `functions` lent to the student's code under
      their names during its calls: Check.call lends it the course's reference for each
      callee, so that a callee's mistake costs the callee's points only. A failure then says
      the callees were the course's; a pass says which callee of the student's fails its own
      check, as a note the grader keeps (`passing_notes`);
    - in the student's own kernel, the student's functions call each other: a failing
      self-check names first a callee that the function refers to and that fails its own
      check.

    A callee's test cell comes before its callers' in the notebook: the reference lent to a
    caller answers any question, and by then the callee's own answers are graded.
    """
    for caller, callees in callers.items():
        CALLEES[caller] = tuple(Callee(ref.__name__, ref, check) for ref, check in callees)


UNLENT = {}  # exercise -> names of the exercises it calls that the grader cannot lend


def not_lent(**callers):
    """Declare the calls between exercises that the grader cannot lend the course's reference
    for (`calls`): the callee takes or builds a graph of Nodes, which lives in the student's
    process (lesson 13's backward calls topological_order on the graph it is given;
    mlp_loss_graph calls backward on the graph it builds). A mistake in such a callee costs
    its callers too; their checks name it first ("your backward, which mlp_loss_graph calls,
    fails its own check")."""
    UNLENT.update(callers)


def own_failure(fn, callee):
    """The CheckFailed that the student's own function for `callee` gets from the callee's
    own check, or None when it passes or there is none. It is the one fn sees: in fn's
    module (the notebook), or in the grader the proxy `fn.student_function(name)` gives."""
    if hasattr(fn, "student_function"):
        own = fn.student_function(callee.name)
    else:
        own = getattr(fn, "__globals__", {}).get(callee.name)
    if not callable(own):
        return None
    with contextlib.redirect_stdout(io.StringIO()):  # its "passed" line is not this check's
        try:
            callee.check(own)
        except CheckFailed as exc:
            return exc
    return None


def referred_names(fn):
    """The global names that fn's code, and the code of the functions nested in it, use."""

    def names(code):
        nested = (c for c in code.co_consts if isinstance(c, types.CodeType))
        return set(code.co_names).union(*map(names, nested))

    code = getattr(fn, "__code__", None)
    return names(code) if isinstance(code, types.CodeType) else set()


def first_line(message):
    """The first line of a diagnosis, with the indented lines that continue it (`wrapped`)."""
    first, *rest = message.splitlines() or [""]
    for line in rest:
        if not line.startswith("  "):
            break
        first += " " + line.strip()
    return first


def _diagnosis_of(found, name):
    """What the CheckFailed of exercise `name`'s check says, without the name in front."""
    return first_line(str(found)).removeprefix(f"{name}: ")


_notes = contextvars.ContextVar("passing_notes", default=None)


@contextlib.contextmanager
def passing_notes():
    """A list of the notes of the checks that pass while the block runs (a caller right with
    the course's callees, whose student's callee fails its own check), for the grader, which
    does not read what the checks print."""
    notes = []
    token = _notes.set(notes)
    try:
        yield notes
    finally:
        _notes.reset(token)
