"""Lesson 11: the LSTM, one step and unrolled in time, and its backward pass.

Conventions of the course contract: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,);
the pre-activation a = x_t Wx + h_{t-1} Wh + b holds the gates' blocks in the order
i, f, o, g (a[:, :H] is i, a[:, H:2H] f, a[:, 2H:3H] o, a[:, 3H:] g); i, f, o are sigmoids,
g a tanh; c_t = f * c_{t-1} + i * g and h_t = o * tanh(c_t); the initial cell state is zero.
A step's cache is (x, prev_h, prev_c, Wx, Wh, b) and a sequence's (x, h0, Wx, Wh, b): both
hold the inputs only, so a backward recomputes what it needs and is graded with the cache of
a trusted forward, whatever the student's forward does.

Expected values come from the trusted code below; tests/lessons/test_l11_lstm.py checks its
gradients against central differences. The typical wrong answers are computed by the
`*_variant` functions, so that a check can name them.
"""

import functools
import itertools

import numpy as np

from gradlab.checking import (
    Check,
    Mistake,
    Probe,
    Sum,
    Switch,
    calls,
    in_order,
    simulated,
    stdout_only,
    summed,
)
from gradlab.exercises.rnn import sequence_switches
from gradlab.inputs import rng_for

GATES = ("i", "f", "o", "g")
STEP_CACHE = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")
SEQUENCE_CACHE = ("x", "h0", "Wx", "Wh", "b")
TIME_AXES = (None, "time step", None)
# every other order of the four gate blocks, as "order:ifgo" (read and stacked in that order)
OTHER_ORDERS = ["".join(p) for p in itertools.permutations("ifog") if p != GATES]
BLOCKS_HINT = "a[:, :H] is i, a[:, H:2H] is f, a[:, 2H:3H] is o, a[:, 3H:] is g"


def sigmoid(z):
    """Trusted sigmoid, 1 / (1 + exp(-z)), written so that it never overflows."""
    return np.exp(-np.logaddexp(0.0, -z))


# ---------------------------------------------------------------- trusted reference code


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step: (next_h, next_c, cache (x, prev_h, prev_c, Wx, Wh, b))."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 2 * H : 3 * H])
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, b)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """(dx, dprev_h, dprev_c, dWx, dWh, db) of one step, given the gradients of its outputs."""
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 2 * H : 3 * H])
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.concatenate(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ],
        axis=1,
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_states(x, h0, Wx, Wh, b):
    """The hidden and cell states of every step, h and c, both (N, T, H); c starts at zero."""
    N, T, _ = x.shape
    h, c = np.zeros((N, T, h0.shape[1])), np.zeros((N, T, h0.shape[1]))
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, _ = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t], c[:, t] = prev_h, prev_c
    return h, c


def lstm_forward(x, h0, Wx, Wh, b):
    """All T steps: (h (N, T, H), cache (x, h0, Wx, Wh, b))."""
    return lstm_states(x, h0, Wx, Wh, b)[0], (x, h0, Wx, Wh, b)


def lstm_backward(dh, cache):
    """(dx, dh0, dWx, dWh, db) for the upstream gradient dh (N, T, H) on every hidden state."""
    x, h0, Wx, Wh, b = cache
    h, c = lstm_states(x, h0, Wx, Wh, b)
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h, prev_c = (h0, np.zeros_like(h0)) if t == 0 else (h[:, t - 1], c[:, t - 1])
        step_cache = (x[:, t], prev_h, prev_c, Wx, Wh, b)
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, step_cache
        )
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


# ---------------------------------------------------------------- typical wrong answers


def _order(mistake, prefix="order:"):
    """The gate order a mistake reads the blocks of a in (GATES unless it says otherwise)."""
    if mistake and mistake.startswith(prefix):
        return tuple(mistake[len(prefix) :])
    return GATES


def _blocks(a, H, order):
    return {name: a[:, k * H : (k + 1) * H] for k, name in enumerate(order)}


def lstm_step_forward_variant(x, prev_h, prev_c, Wx, Wh, b, mistake=None):
    """(next_h, next_c) of one step with a typical mistake (None: the right answer).

    Mistakes: "order:<gates>" (the blocks of a read in another order, e.g. "order:ifgo"),
    "g_sigmoid" (a sigmoid for g), "no_bias", "no_forget" (c = prev_c + i g),
    "no_input_gate" (c = f prev_c + g), "no_output_tanh" (h = o c), "tanh_outside"
    (h = tanh(o c)).
    """
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + (0.0 if mistake == "no_bias" else b)
    blocks = _blocks(a, H, _order(mistake))
    i, f, o = (sigmoid(blocks[name]) for name in "ifo")
    g = sigmoid(blocks["g"]) if mistake == "g_sigmoid" else np.tanh(blocks["g"])
    if mistake == "no_forget":
        f = np.ones_like(f)
    if mistake == "no_input_gate":
        i = np.ones_like(i)
    next_c = f * prev_c + i * g
    if mistake == "no_output_tanh":
        return o * next_c, next_c
    if mistake == "tanh_outside":
        return np.tanh(o * next_c), next_c
    return o * np.tanh(next_c), next_c


def lstm_step_backward_variant(dnext_h, dnext_c, cache, mistake=None):
    """What lstm_step_backward returns with a typical mistake (None: the right answer).

    Mistakes: "order:<gates>" (gates read and da stacked in another order, consistently),
    "stack:<gates>" (gates right, da stacked in another order), "no_dnext_c" (the cell
    gradient from the next step is not added), "no_h_path" (the gradient into c through
    tanh(c_t) is missing), "tanh_c_as_output" (tanh' as 1 - c**2), "tanh_h" (tanh' as
    1 - next_h**2), "tanh_prev_c" (tanh' at prev_c), "forget_as_input" (df = dc * g, like
    di), "dprev_c_without_f" (dprev_c = dc), "no_gate_derivatives" (no sigmoid' and tanh' of
    the gates), "dWh_next" (dWh from next_h).
    """
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    blocks = _blocks(x @ Wx + prev_h @ Wh + b, H, _order(mistake))
    i, f, o = (sigmoid(blocks[name]) for name in "ifo")
    g = np.tanh(blocks["g"])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    tanh_grad = {
        "tanh_c_as_output": 1 - next_c**2,
        "tanh_h": 1 - next_h**2,
        "tanh_prev_c": 1 - np.tanh(prev_c) ** 2,
    }.get(mistake, 1 - tanh_c**2)
    dc = 0.0 if mistake == "no_dnext_c" else dnext_c
    if mistake != "no_h_path":
        dc = dc + dnext_h * o * tanh_grad
    grads = {
        "i": dc * g,
        "f": dc * (g if mistake == "forget_as_input" else prev_c),
        "o": dnext_h * tanh_c,
        "g": dc * i,
    }
    if mistake != "no_gate_derivatives":
        grads = {
            "i": grads["i"] * i * (1 - i),
            "f": grads["f"] * f * (1 - f),
            "o": grads["o"] * o * (1 - o),
            "g": grads["g"] * (1 - g**2),
        }
    stack = _order(mistake, "stack:") if mistake and mistake.startswith("stack:") else None
    da = np.concatenate([grads[name] for name in stack or _order(mistake)], axis=1)
    dprev_c = dc if mistake == "dprev_c_without_f" else dc * f
    dWh = (next_h if mistake == "dWh_next" else prev_h).T @ da
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, dWh, da.sum(axis=0)


# the sequence mistakes that are not a step mistake made at every step
SEQUENCE_ONLY = ("no_h_carry", "forwards", "wrapped", "c0_is_h0", "c_not_carried")


def lstm_states_variant(x, h0, Wx, Wh, b, mistake=None):
    """h and c (N, T, H) of every step, with a typical mistake of the forward loop: a step
    mistake of lstm_step_forward_variant at every step, or "c_not_carried" (every step starts
    from c = 0), "h_not_carried" (every step starts from h0), "c0_is_h0" (c starts at h0)."""
    N, T, _ = x.shape
    h, c = np.zeros((N, T, h0.shape[1])), np.zeros((N, T, h0.shape[1]))
    prev_h, prev_c = h0, (h0 if mistake == "c0_is_h0" else np.zeros_like(h0))
    for t in range(T):
        next_h, next_c = lstm_step_forward_variant(x[:, t], prev_h, prev_c, Wx, Wh, b, mistake)
        h[:, t], c[:, t] = next_h, next_c
        prev_h = h0 if mistake == "h_not_carried" else next_h
        prev_c = np.zeros_like(h0) if mistake == "c_not_carried" else next_c
    return h, c


def _backpropagate(dh, cache, mistake=None, states=None):
    """The backward loop of lstm_backward with a typical mistake; also the weights' gradient
    contributions of every step, in time order. states: the right (h, c), if known."""
    x, h0, Wx, Wh, b = cache
    if mistake == "c0_is_h0" or _is_order(mistake):
        h, c = lstm_states_variant(x, h0, Wx, Wh, b, mistake)
    else:
        h, c = states or lstm_states(x, h0, Wx, Wh, b)
    step_mistake = None if mistake in SEQUENCE_ONLY else mistake
    T = x.shape[1]
    dx = np.zeros_like(x)
    terms = {"dWx": [None] * T, "dWh": [None] * T, "db": [None] * T}
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    c0 = h0 if mistake == "c0_is_h0" else np.zeros_like(h0)
    for t in range(T) if mistake == "forwards" else reversed(range(T)):
        if t > 0 or mistake == "wrapped":
            prev_h, prev_c = h[:, t - 1], c[:, t - 1]
        else:
            prev_h, prev_c = h0, c0
        dcurrent = dh[:, t] if mistake == "no_h_carry" else dh[:, t] + dprev_h
        dx[:, t], dprev_h, dprev_c, *step_terms = lstm_step_backward_variant(
            dcurrent, dprev_c, (x[:, t], prev_h, prev_c, Wx, Wh, b), step_mistake
        )
        for name, term in zip(terms, step_terms):
            terms[name][t] = term
    dWx, dWh, db = (sum(terms[name]) for name in terms)
    return (dx, dprev_h, dWx, dWh, db), terms


def _is_order(mistake):
    return bool(mistake) and mistake.startswith("order:")


def lstm_backward_variant(dh, cache, mistake=None, states=None):
    """What lstm_backward returns with a typical mistake (None: the right answer).

    Mistakes: those of lstm_step_backward_variant, made at every step (with "order:..." the
    recomputed forward reads the blocks in that order too), and "no_h_carry" (dprev_h not
    added to dh[:, t]), "forwards" (the loop runs t = 0, ..., T-1), "wrapped" (the states
    before step 0 taken as h[:, -1] and c[:, -1]), "c0_is_h0" (the recomputed forward starts
    the cell state at h0). states: the right (h, c) of the forward, to save recomputing them.
    """
    return _backpropagate(dh, cache, mistake, states)[0]


# ---------------------------------------------------------------- inputs


def lstm_problem(seed, N, T, D, H):
    """Random x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) with gate
    pre-activations of order 1: no gate saturates, so every wrong derivative shows."""
    rng = rng_for(seed)
    x = rng.normal(size=(N, T, D))
    h0 = rng.normal(scale=0.5, size=(N, H))
    Wx = rng.normal(scale=0.8 / np.sqrt(D), size=(D, 4 * H))
    Wh = rng.normal(scale=0.8 / np.sqrt(H), size=(H, 4 * H))
    b = rng.normal(scale=0.3, size=4 * H)
    return x, h0, Wx, Wh, b


def _case(**sizes):
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def lstm_inputs(**arrays):
    """The inputs of an LSTM exercise's Probe: each array with its axes (Wx, Wh and b hold
    the four gates' blocks of H)."""
    axes = {
        "x": "N T D" if arrays["x"].ndim == 3 else "N D",
        "Wx": "D 4*H",
        "Wh": "H 4*H",
        "b": "4*H",
        "dh": "N T H",
    }
    return {name: (value, axes.get(name, "N H")) for name, value in arrays.items()}


# the four gates' columns of the weights' gradients, in the contract's order
GATE_BLOCKS = {
    name: (axis, tuple(f"gate {gate}" for gate in GATES))
    for name, axis in (("dWx", 1), ("dWh", 1), ("db", 0))
}


STEP_BACKWARD_SWITCHES = (
    Switch(
        "only dnext_c flows back",
        "the mistake is on the path from next_h, through o or tanh(c_t)",
        {"dnext_h": 0.0},
    ),
    Switch(
        "only dnext_h flows back",
        "the mistake is on the path of dnext_c, the cell gradient from the next step",
        {"dnext_c": 0.0},
    ),
)


def _order_text(gates):
    return ", ".join(gates)


ORDER_MESSAGE = (
    "the gate blocks are used in the order {order}: the contract fixes i, f, o, g, so "
    + BLOCKS_HINT
)


def _step_forward_variants():
    variants = {
        f"order:{p}": ("order", ORDER_MESSAGE.format(order=_order_text(p))) for p in OTHER_ORDERS
    }
    return variants | {
        "g_sigmoid": (
            "formula",
            "g uses a sigmoid: the candidate g = tanh(a_g), only i, f, o are sigmoids",
        ),
        "no_bias": ("missing term", "the bias b is missing: a = x @ Wx + prev_h @ Wh + b"),
        "no_forget": ("missing term", "the forget gate is missing: next_c = f * prev_c + i * g"),
        "no_input_gate": ("missing term", "the input gate is missing: next_c = f * prev_c + i * g"),
        "no_output_tanh": (
            "missing term",
            "the tanh of the cell state is missing: next_h = o * np.tanh(next_c)",
        ),
        "tanh_outside": (
            "formula",
            "the tanh is applied to o * next_c: next_h = o * "
            "np.tanh(next_c), the output gate multiplies after the tanh",
        ),
    }


TANH_HINT = "tanh'(c_t) = 1 - np.tanh(next_c)**2, at this step's new cell state"


def _step_backward_variants(orders=True):
    """The step backward's typical mistakes; orders=False leaves out the 46 gate orders."""
    variants = {
        f"order:{p}": ("order", ORDER_MESSAGE.format(order=_order_text(p))) for p in OTHER_ORDERS
    }
    variants |= {
        f"stack:{p}": (
            "order",
            f"da's blocks are stacked in the order {_order_text(p)}: stack them as the forward "
            "reads them, [da_i, da_f, da_o, da_g]",
        )
        for p in OTHER_ORDERS
    }
    if not orders:
        variants = {}
    return variants | {
        "no_dnext_c": (
            "missing term",
            "the cell gradient from the next step is not added: dc = dnext_c + dnext_h * o * "
            "tanh'(c_t)",
        ),
        "no_h_path": (
            "missing term",
            "the gradient into c through tanh(c_t) is missing: next_h = o * tanh(next_c), so "
            "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c)**2)",
        ),
        "tanh_c_as_output": (
            "wrong point",
            f"tanh' computed as 1 - next_c**2: next_c is not a tanh, {TANH_HINT}",
        ),
        "tanh_h": (
            "wrong point",
            "tanh' computed as 1 - next_h**2, the RNN's formula: here h = o * tanh(c), "
            + TANH_HINT,
        ),
        "tanh_prev_c": ("wrong point", f"tanh' computed at prev_c: {TANH_HINT}"),
        "forget_as_input": (
            "formula",
            "the forget gate's gradient is taken as i's (dc * g): f multiplies prev_c, so "
            "df = dc * prev_c",
        ),
        "dprev_c_without_f": (
            "missing term",
            "misses the factor f: next_c = f * prev_c + i * g, so dprev_c = dc * f",
        ),
        "no_gate_derivatives": (
            "missing term",
            "the derivatives of the gates' activations are missing: multiply by i * (1 - i), "
            "f * (1 - f), o * (1 - o) and 1 - g**2",
        ),
        "dWh_next": (
            "wrong point",
            "dWh uses next_h: Wh multiplies the previous state, dWh = prev_h.T @ da",
        ),
    }


def _compare_all(check, names, got, expected, mistakes, factors=None, options=None):
    """check.compare of every output, in order, with its mistakes, factors and options."""
    for name in names:
        check.compare(
            name,
            got[name],
            expected[name],
            mistakes=mistakes[name],
            factors=(factors or {}).get(name, ()),
            **(options or {}).get(name, {}),
        )


# ---------------------------------------------------------------- checks


@stdout_only
def check_lstm_step_forward(lstm_step_forward_fn, N=3, D=4, H=5, seed=0):
    """lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b) -> (next_h, next_c, cache)."""
    x3, prev_h, Wx, Wh, b = lstm_problem(seed, N, 1, D, H)
    x, prev_c = x3[:, 0], rng_for(seed + 1000).normal(size=(N, H))
    next_h, next_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    names = ("next_h", "next_c")
    mistakes = simulated(
        lstm_step_forward_variant,
        _step_forward_variants(),
        x,
        prev_h,
        prev_c,
        Wx,
        Wh,
        b,
        names=names,
    )
    probe = Probe(
        lstm_inputs(x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b),
        in_order,
        lstm_step_forward,
        (*names, None),
        switches=(
            Switch(
                "prev_c = 0", "how prev_c enters is wrong: through the forget gate", {"prev_c": 0.0}
            ),
            Switch("prev_h = 0", "the recurrent term prev_h @ Wh is wrong", {"prev_h": 0.0}),
        ),
    )
    with Check("lstm_step_forward", lstm_step_forward_fn, _case(N=N, D=D, H=H), probe) as check:
        got = check.unpack(
            check.call(x, prev_h, prev_c, Wx, Wh, b), (*names, "cache"), (next_h, next_c, None)
        )
        _compare_all(
            check, names, dict(zip(names, got)), dict(zip(names, (next_h, next_c))), mistakes
        )
        check.compare_cache(got[2], tuple(zip(STEP_CACHE, (x, prev_h, prev_c, Wx, Wh, b))))


@stdout_only
def check_lstm_step_backward(lstm_step_backward_fn, N=3, D=4, H=5, seed=0, dnext_c="random"):
    """lstm_step_backward(dnext_h, dnext_c, cache) with the cache of a trusted forward.

    dnext_c: "random", or "zero" (the last step of a sequence, where no cell gradient comes
    from later steps).
    """
    x3, prev_h, Wx, Wh, b = lstm_problem(seed, N, 1, D, H)
    rng = rng_for(seed + 1000)
    x, prev_c = x3[:, 0], rng.normal(size=(N, H))
    dnext_h = rng.normal(size=(N, H))
    dc = rng.normal(size=(N, H)) if dnext_c == "random" else np.zeros((N, H))
    _, _, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    names = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
    expected = dict(zip(names, lstm_step_backward(dnext_h, dc, cache)))
    mistakes = simulated(
        lstm_step_backward_variant, _step_backward_variants(), dnext_h, dc, cache, names=names
    )
    factors = {"db": [summed(N, "N", "the batch", "b is shared by all N examples")]}
    case = _case(N=N, D=D, H=H) + ("" if dnext_c == "random" else ", dnext_c = 0")
    probe = Probe(
        lstm_inputs(
            x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b, dnext_h=dnext_h, dnext_c=dc
        ),
        lambda dnext_h, dnext_c, **step: (
            dnext_h,
            dnext_c,
            lstm_step_forward(*step.values())[2],
        ),
        lstm_step_backward,
        names,
        upstream="dnext_h",
        switches=STEP_BACKWARD_SWITCHES,
        blocks=GATE_BLOCKS,
    )
    with Check("lstm_step_backward", lstm_step_backward_fn, case, probe) as check:
        got = check.unpack(check.call(dnext_h, dc, cache), names, tuple(expected.values()))
        got = dict(zip(names, got))
        _compare_all(check, names, got, expected, mistakes, factors)


@stdout_only
def check_lstm_forward(lstm_forward_fn, N=2, T=6, D=3, H=4, seed=0):
    """lstm_forward(x, h0, Wx, Wh, b) -> (h (N, T, H), cache (x, h0, Wx, Wh, b))."""
    x, h0, Wx, Wh, b = lstm_problem(seed, N, T, D, H)
    h, c = lstm_states(x, h0, Wx, Wh, b)
    variants = {
        "c_not_carried": (
            "missing term",
            "every step started from the cell state 0: pass each "
            "new next_c on to the next step, as you do with next_h",
        ),
        "h_not_carried": (
            "missing term",
            "every step used h0 as its previous hidden state: pass "
            "each new next_h on to the next step",
        ),
        "c0_is_h0": (
            "formula",
            "the cell state started at h0: the contract starts it at zero, "
            "prev_c = np.zeros_like(h0)",
        ),
        "order:ifgo": ("order", ORDER_MESSAGE.format(order="i, f, g, o")),
    }
    mistakes = simulated(lstm_states_variant, variants, x, h0, Wx, Wh, b, names=("h", "c"))["h"]
    mistakes += [
        Mistake(
            c, "h holds the cell states: return the hidden states h_t = o * tanh(c_t)", "order"
        ),
        Mistake(
            np.concatenate([h0[:, None], h], axis=1),
            "h also holds h0: h has the T states after the steps, h[:, t] after step t",
            "shape",
        ),
        Mistake(
            h.transpose(1, 0, 2),
            "h is time-major (T, N, H): store the state after step t "
            "in h[:, t], so that h is (N, T, H)",
            "transpose",
        ),
    ]
    probe = Probe(
        lstm_inputs(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b),
        in_order,
        lstm_forward,
        ("h", None),
        switches=sequence_switches(),
    )
    with Check("lstm_forward", lstm_forward_fn, _case(N=N, T=T, D=D, H=H), probe) as check:
        got_h, cache = check.unpack(check.call(x, h0, Wx, Wh, b), ("h", "cache"), (h, None))
        check.compare(
            "h",
            got_h,
            h,
            mistakes=mistakes,
            axes=TIME_AXES,
            hints={
                "slices:first": "step 0 is right, so check how each new state, h and c, is "
                "passed on to the next step"
            },
        )
        check.compare_cache(
            cache,
            tuple(zip(SEQUENCE_CACHE, (x, h0, Wx, Wh, b))),
            [
                Mistake(
                    h,
                    "holds h, as lesson 08's RNN cache does: the LSTM's backward recomputes "
                    "the states from the inputs",
                    "cache",
                )
            ],
        )


def _sequence_variants(orders):
    variants = _step_backward_variants(orders)
    variants |= {
        "no_h_carry": (
            "missing term",
            "the hidden-state gradient from step t+1 is not added: the gradient reaching h_t is "
            "dh[:, t] plus the dprev_h that flows back from step t+1",
        ),
        "forwards": (
            "order",
            "the time loop runs forwards: step t needs the gradients from step t+1, so "
            "backpropagate from t = T-1 down to t = 0",
        ),
        "wrapped": (
            "slices",
            "at t = 0 the previous states are h0 and a zero cell state, but h[:, t - 1] is "
            "h[:, -1], the last state: use h0 and zeros at t = 0",
        ),
        "c0_is_h0": (
            "formula",
            "the recomputed forward starts the cell state at h0: it starts at zero",
        ),
    }
    variants["no_dnext_c"] = (
        "missing term",
        "the cell gradient from the next step is not added: pass the dprev_c of step t+1 as "
        "dnext_c of step t (it starts at zero after the last step)",
    )
    return variants


@stdout_only
def check_lstm_backward(lstm_backward_fn, N=3, T=5, D=4, H=6, seed=0, upstream="every"):
    """lstm_backward(dh, cache) with the cache (x, h0, Wx, Wh, b) of a trusted forward.

    upstream: "every" (a loss on every hidden state) or "last" (dh is zero except at t = T-1).
    """
    x, h0, Wx, Wh, b = lstm_problem(seed, N, T, D, H)
    dh = rng_for(seed + 1000).normal(size=(N, T, H))
    if upstream == "last":
        dh[:, :-1] = 0.0
    _, cache = lstm_forward(x, h0, Wx, Wh, b)
    names = ("dx", "dh0", "dWx", "dWh", "db")
    states = lstm_states(x, h0, Wx, Wh, b)
    grads, terms = _backpropagate(dh, cache, states=states)
    expected = dict(zip(names, grads))
    # a wrong gate order shows on short sequences already: long ones skip its 46 variants
    variants = _sequence_variants(orders=T <= 10)
    variant = functools.partial(lstm_backward_variant, states=states)
    mistakes = simulated(variant, variants, dh, cache, names=names)
    mistakes["dh0"].append(
        Mistake(
            np.zeros_like(h0),
            "is zero: return the gradient that flows out of step 0 into h0 (its dprev_h)",
            "missing term",
        )
    )
    shared = "Wx, Wh and b are shared by all T time steps"
    accumulate = f"{shared}: accumulate their gradients (dWx += ...), do not overwrite them"
    factors = {name: [summed(T, "T", "time", shared)] for name in ("dWx", "dWh", "db")}
    factors["db"].append(summed(N, "N", "the batch", "b is shared by all N examples"))
    options = {
        "dx": {
            "axes": TIME_AXES,
            "hints": {
                "slices:last": "nothing flows into the last step from later ones, so check what "
                "is carried back from step t+1: dprev_h added to dh[:, t], dprev_c passed on "
                "as dnext_c"
            },
        },
        **{
            name: {
                "sums": Sum([(None, term) for term in terms[name]], "time step"),
                "hints": {"accumulation": accumulate},
            }
            for name in ("dWx", "dWh", "db")
        },
    }
    where = "every step" if upstream == "every" else "the last step only"
    case = _case(N=N, T=T, D=D, H=H) + f", upstream gradient on {where}"
    probe = Probe(
        lstm_inputs(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b, dh=dh),
        lambda dh, **sequence: (dh, lstm_forward(*sequence.values())[1]),
        lstm_backward,
        names,
        upstream="dh",
        switches=sequence_switches("dh"),
        blocks=GATE_BLOCKS,
    )
    with Check("lstm_backward", lstm_backward_fn, case, probe) as check:
        got = check.unpack(check.call(dh, cache), names, grads)
        got = dict(zip(names, got))
        _compare_all(check, names, got, expected, mistakes, factors, options)


# the sequence functions call the step functions (the backward runs the steps forward again)
STEP_FORWARD = (lstm_step_forward, check_lstm_step_forward)
calls(
    lstm_forward=[STEP_FORWARD],
    lstm_backward=[STEP_FORWARD, (lstm_step_backward, check_lstm_step_backward)],
)
