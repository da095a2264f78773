"""Lesson 08: a vanilla RNN, one step and unrolled in time, and backpropagation through time.

Conventions of the course contract: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,),
h[:, t] = tanh(x[:, t] @ Wx + h[:, t - 1] @ Wh + b), with h0 before the first step.
A step's cache is (x, prev_h, Wx, Wh, next_h); a sequence's cache is (x, h0, Wx, Wh, h).
Expected gradients come from central differences of the plain forward functions below; the
typical wrong answers are computed by `rnn_backward_variant` so that a check can name them.
"""

import numpy as np

from gradlab.checking import (
    ONE_EXAMPLE,
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
    upstream_mistakes,
)
from gradlab.inputs import rng_for
from gradlab.numeric import numerical_vjp
from gradlab.tools.rnn import rnn_backward, rnn_forward

STEP_CACHE = ("x", "prev_h", "Wx", "Wh", "next_h")
SEQUENCE_CACHE = ("x", "h0", "Wx", "Wh", "h")
TIME_AXES = ("example", "time step", None)

# The last step receives no gradient from later steps: if only it is right, the recurrence is not.
LAST_STEP_HINT = (
    "nothing flows into the last step from later ones, so check the gradient carried "
    "back from step t+1 (dprev_h = dz @ Wh.T) and its sum with dh[:, t]"
)

# The kind of each wrong tanh derivative, and what to do instead ({h} names the step's output).
TANH_MISTAKES = {
    "pre_activation": (
        "wrong point",
        "tanh' computed from the pre-activation z as 1 - z**2: "
        "tanh'(z) = 1 - tanh(z)**2 = 1 - {h}**2, so use {h} from the cache",
    ),
    "prev_h": (
        "wrong point",
        "tanh' computed from the previous hidden state: the derivative belongs to this "
        "step's output, use 1 - {h}**2",
    ),
    "tanh_twice": (
        "wrong point",
        "tanh' computed as 1 - tanh({h})**2: {h} is already tanh(z), so tanh'(z) = 1 - {h}**2",
    ),
    "missing": (
        "missing term",
        "the tanh derivative is missing: multiply the incoming gradient by "
        "1 - {h}**2 before the matrix products",
    ),
}


def tanh_mistakes(h):
    """TANH_MISTAKES with {h} named: {mistake: (kind, message)}."""
    return {how: (kind, message.format(h=h)) for how, (kind, message) in TANH_MISTAKES.items()}


# ---------------------------------------------------------------- trusted reference code

# rnn_forward and rnn_backward: the tools given to the lessons after this one


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One step: next_h = tanh(x Wx + prev_h Wh + b); cache (x, prev_h, Wx, Wh, next_h)."""
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """(dx, dprev_h, dWx, dWh, db) of one step, given the gradient of its output."""
    x, prev_h, Wx, Wh, next_h = cache
    dz = dnext_h * (1 - next_h**2)
    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)


# ---------------------------------------------------------------- typical wrong answers


def _tanh_grad(how, next_h, prev_h, z):
    """The factor a student multiplies the incoming gradient by, right or wrong."""
    return {
        None: 1 - next_h**2,
        "pre_activation": 1 - z**2,
        "prev_h": 1 - prev_h**2,
        "tanh_twice": 1 - np.tanh(next_h) ** 2,
        "missing": np.ones_like(next_h),
    }[how]


def rnn_backward_variant(dh, cache, b, mistake=None):
    """What rnn_backward returns with one typical mistake (None: the right answer).

    Mistakes: the keys of TANH_MISTAKES (a wrong tanh derivative), "no_recurrence" (the
    gradient from step t + 1 is not added to dh[:, t]), "first_only" / "last_only" (the
    shared-weight gradients are overwritten, so only the contribution of time step 0 / T - 1
    is left), "dWh_next" (dWh uses h_t instead of h_{t-1}), "wrapped_h0" (h[:, t - 1] also at
    t = 0, which is h[:, -1]), "forwards" (the time loop runs t = 0, ..., T - 1 and carries
    the recurrent gradient forwards), "last_upstream" (only dh[:, T - 1] enters, as if the
    loss were on the last state alone). `b` is needed for the pre-activation only.
    """
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    if mistake == "last_upstream":
        dh = dh * (np.arange(T) == T - 1)[:, None]
    for t in range(T) if mistake == "forwards" else reversed(range(T)):
        prev_h = h[:, t - 1] if t > 0 or mistake == "wrapped_h0" else h0
        z = x[:, t] @ Wx + prev_h @ Wh + b
        dcurrent = dh[:, t] if mistake == "no_recurrence" else dh[:, t] + dprev_h
        how = mistake if mistake in TANH_MISTAKES else None
        dz = dcurrent * _tanh_grad(how, h[:, t], prev_h, z)
        dx[:, t] = dz @ Wx.T
        dprev_h = dz @ Wh.T
        dWh_t = (h[:, t] if mistake == "dWh_next" else prev_h).T @ dz
        terms = (x[:, t].T @ dz, dWh_t, dz.sum(axis=0))
        if mistake in ("first_only", "last_only"):
            if t == (0 if mistake == "first_only" else T - 1):
                dWx, dWh, db = terms
        else:
            dWx, dWh, db = dWx + terms[0], dWh + terms[1], db + terms[2]
    return dx, dprev_h, dWx, dWh, db


# ---------------------------------------------------------------- inputs


def rnn_problem(seed, N, T, D, H):
    """Random x (N, T, D), h0, Wx, Wh, b scaled so that pre-activations are of order 1.

    Wh has a spectral radius near 0.9, so that long sequences neither explode nor saturate.
    """
    rng = rng_for(seed)
    x = rng.normal(size=(N, T, D))
    h0 = rng.normal(scale=0.5, size=(N, H))
    Wx = rng.normal(scale=0.8 / np.sqrt(D), size=(D, H))
    Wh = rng.normal(scale=0.9 / np.sqrt(H), size=(H, H))
    b = rng.normal(scale=0.2, size=H)
    return x, h0, Wx, Wh, b


def _case(**sizes):
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def rnn_inputs(x, h0, Wx, Wh, b, sequence=True):
    """The inputs of an RNN exercise's Probe (h0 is a step's prev_h)."""
    first = ("x", "N T D") if sequence else ("x", "N D")
    return {
        first[0]: (x, first[1]),
        "h0" if sequence else "prev_h": (h0, "N H"),
        "Wx": (Wx, "D H"),
        "Wh": (Wh, "H H"),
        "b": (b, "H"),
    }


def sequence_switches(upstream=""):
    """The Switches of a recurrent exercise on x (N, T, D) with h0 and Wh: h0 = 0, T = 1,
    Wh = 0 and, for a backward one, its upstream gradient (N, T, H) on the last step only."""
    switches = [
        Switch("h0 = 0", "how h0 enters is wrong: it is the previous state of step 0", {"h0": 0.0}),
        Switch(
            "T = 1",
            "the carry between steps is wrong: what passes from one step to the next",
            sizes={"T": 1},
        ),
    ]
    if upstream:
        last = Switch(
            f"{upstream} is 0 but at the last step",
            f"how {upstream}[:, t] of the earlier steps enters is wrong",
            {upstream: lambda d: np.where(np.arange(d.shape[1])[:, None] == d.shape[1] - 1, d, 0)},
        )
        switches.append(last)
    switches.append(Switch("Wh = 0", "the recurrent term, through Wh, is wrong", {"Wh": 0.0}))
    return tuple(switches)


STEP_SWITCHES = (
    Switch("prev_h = 0", "the recurrent term prev_h @ Wh is wrong", {"prev_h": 0.0}),
    Switch("b = 0", "the bias term is wrong", {"b": 0.0}),
)


def time_terms(dh, cache):
    """The contribution of each time step t, as the backward loop adds them, to dWx, dWh and
    db: three lists of (None, value) pairs in the loop's order t = T - 1, ..., 0."""
    x, h0, Wx, Wh, h = cache
    terms = ([], [], [])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(x.shape[1])):
        prev_h = h0 if t == 0 else h[:, t - 1]
        _, dprev_h, *grads = rnn_step_backward(
            dh[:, t] + dprev_h, (x[:, t], prev_h, Wx, Wh, h[:, t])
        )
        for term, grad in zip(terms, grads):
            term.append((None, grad))
    return terms


def time_mean(T):
    return summed(T, "T", "time", "Wx, Wh and b are shared by all T time steps")


def batch_mean(N):
    return summed(N, "N", "the batch", "the bias gradient sums dz over the examples")


# ---------------------------------------------------------------- checks


def step_forward_mistakes(x, h0, Wx, Wh, b):
    """The typical wrong next_h of one RNN step."""
    z = x @ Wx + h0 @ Wh + b
    mistakes = [
        Mistake(z, "tanh is missing: next_h = np.tanh(x @ Wx + prev_h @ Wh + b)", "missing term"),
        Mistake(
            np.tanh(z - b), "the bias b is missing: add b to the pre-activation", "missing term"
        ),
        Mistake(
            np.tanh(x @ Wx + b),
            "the recurrent term prev_h @ Wh is missing: next_h = tanh(x @ Wx + prev_h @ Wh + b)",
            "missing term",
        ),
        Mistake(
            np.tanh(x @ Wx + h0 @ Wh.T + b),
            "Wh is transposed: the recurrent term is prev_h @ Wh, prev_h (N, H) times Wh (H, H)",
            "transpose",
        ),
        Mistake(1 / (1 + np.exp(-z)), "this is the sigmoid of the pre-activation: use np.tanh"),
    ]
    if Wx.shape[0] == Wx.shape[1]:  # only square Wx lets the swap run
        mistakes.append(
            Mistake(
                np.tanh(x @ Wh + h0 @ Wx + b),
                "Wx and Wh are swapped: x is multiplied by Wx, prev_h by Wh",
                "order",
            )
        )
    return mistakes


@stdout_only
def check_rnn_step_forward(rnn_step_forward_fn, N=3, D=4, H=5, seed=0):
    """rnn_step_forward(x, prev_h, Wx, Wh, b) -> (next_h, cache (x, prev_h, Wx, Wh, next_h))."""
    x3, h0, Wx, Wh, b = rnn_problem(seed, N, 1, D, H)
    x = x3[:, 0]
    z = x @ Wx + h0 @ Wh + b
    next_h = np.tanh(z)
    pre_activation = Mistake(
        z,
        "holds the pre-activation z (store next_h = tanh(z): the backward gets "
        "tanh'(z) = 1 - next_h**2 from it)",
    )
    probe = Probe(
        rnn_inputs(x, h0, Wx, Wh, b, sequence=False),
        in_order,
        rnn_step_forward,
        ("next_h", None),
        switches=STEP_SWITCHES,
    )
    with Check("rnn_step_forward", rnn_step_forward_fn, _case(N=N, D=D, H=H), probe) as check:
        got_h, cache = check.unpack(
            check.call(x, h0, Wx, Wh, b), ("next_h", "cache"), (next_h, None)
        )
        check.compare("next_h", got_h, next_h, mistakes=step_forward_mistakes(x, h0, Wx, Wh, b))
        check.compare_cache(cache, list(zip(STEP_CACHE, (x, h0, Wx, Wh, next_h))), [pre_activation])


def step_backward_mistakes(dnext_h, cache, b):
    """{output: Mistakes} of one step's backward pass, simulated from the trusted step."""
    x, prev_h, Wx, Wh, next_h = cache
    names = ("dx", "dprev_h", "dWx", "dWh", "db")
    z = x @ Wx + prev_h @ Wh + b

    def wrong_tanh(mistake):
        dz = dnext_h * _tanh_grad(mistake, next_h, prev_h, z)
        return dz @ Wx.T, dz @ Wh.T, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)

    mistakes = simulated(wrong_tanh, tanh_mistakes("next_h"), names=names)
    for name, more in upstream_mistakes(rnn_step_backward, dnext_h, cache, names=names).items():
        mistakes[name] += more
    dz = dnext_h * (1 - next_h**2)
    mistakes["dx"].append(
        Mistake(dz @ Wh.T, "dx uses Wh: x is multiplied by Wx, so dx = dz @ Wx.T", "order")
    )
    mistakes["dprev_h"].append(
        Mistake(
            dz @ Wh,
            "Wh is not transposed: dprev_h = dz @ Wh.T, since z = ... + prev_h @ Wh",
            "transpose",
        )
    )
    mistakes["dWh"].append(
        Mistake(
            next_h.T @ dz,
            "uses next_h: Wh multiplies the previous state, so dWh = prev_h.T @ dz",
            "wrong point",
        )
    )
    return mistakes


@stdout_only
def check_rnn_step_backward(rnn_step_backward_fn, N=3, D=4, H=5, seed=0):
    """rnn_step_backward(dnext_h, cache) against central differences of a trusted step."""
    x3, prev_h, Wx, Wh, b = rnn_problem(seed, N, 1, D, H)
    x = x3[:, 0]
    dnext_h = rng_for(seed + 1000).normal(size=(N, H))
    _, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)
    inputs = (x, prev_h, Wx, Wh, b)
    expected = [
        numerical_vjp(
            lambda v, i=i: rnn_step_forward(*inputs[:i], v, *inputs[i + 1 :])[0],
            inputs[i],
            dnext_h,
        )
        for i in range(5)
    ]
    names = ("dx", "dprev_h", "dWx", "dWh", "db")
    mistakes = step_backward_mistakes(dnext_h, cache, b)
    probe = Probe(
        {**rnn_inputs(*inputs, sequence=False), "dnext_h": (dnext_h, "N H")},
        lambda dnext_h, **step: (dnext_h, rnn_step_forward(*step.values())[1]),
        rnn_step_backward,
        names,
        upstream="dnext_h",
        switches=(ONE_EXAMPLE,),
    )
    with Check("rnn_step_backward", rnn_step_backward_fn, _case(N=N, D=D, H=H), probe) as check:
        grads = check.unpack(check.call(dnext_h, cache), names, expected)
        for name, got, value in zip(names, grads, expected):
            factors = [batch_mean(N)] if name == "db" else ()
            check.compare(name, got, value, mistakes=mistakes[name], factors=factors)


def rnn_forward_mistakes(x, h0, Wx, Wh, b):
    """The typical wrong h of the unrolled RNN."""
    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    mistakes = [
        Mistake(
            np.tanh(x @ Wx + (h0 @ Wh)[:, None, :] + b),
            "every step used h0 as its previous state: after each step set prev_h to the "
            "new state, so that step t uses h[:, t - 1]",
            "wrong point",
        ),
        Mistake(
            np.tanh(x @ Wx + b),
            "there is no recurrence: each step must add prev_h @ Wh to its pre-activation",
            "missing term",
        ),
        Mistake(
            rnn_forward(x, h0, Wx, Wh.T, b)[0],
            "Wh is transposed: the recurrent term is prev_h @ Wh, prev_h (N, H) times Wh (H, H)",
            "transpose",
        ),
        Mistake(
            np.concatenate([h0[:, None], h], axis=1),
            "h also holds h0: h has the T states after the steps, h[:, t] after step t",
            "shape",
        ),
        Mistake(
            h.transpose(1, 0, 2),
            "h is time-major (T, N, H): store the state after step t in h[:, t], so that h "
            "is (N, T, H)",
            "transpose",
        ),
    ]
    if Wx.shape[0] == Wx.shape[1]:
        mistakes.append(
            Mistake(
                rnn_forward(x, h0, Wh, Wx, b)[0],
                "Wx and Wh are swapped: x[:, t] is multiplied by Wx, prev_h by Wh",
                "order",
            )
        )
    return mistakes


@stdout_only
def check_rnn_forward(rnn_forward_fn, N=2, T=6, D=3, H=4, seed=0):
    """rnn_forward(x, h0, Wx, Wh, b) -> (h (N, T, H), cache (x, h0, Wx, Wh, h))."""
    x, h0, Wx, Wh, b = rnn_problem(seed, N, T, D, H)
    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    first_step = "step 0 is right, so check how each new state is passed on to the next step"
    probe = Probe(
        rnn_inputs(x, h0, Wx, Wh, b),
        in_order,
        rnn_forward,
        ("h", None),
        switches=sequence_switches(),
    )
    with Check("rnn_forward", rnn_forward_fn, _case(N=N, T=T, D=D, H=H), probe) as check:
        got_h, cache = check.unpack(check.call(x, h0, Wx, Wh, b), ("h", "cache"), (h, None))
        check.compare(
            "h",
            got_h,
            h,
            mistakes=rnn_forward_mistakes(x, h0, Wx, Wh, b),
            axes=TIME_AXES,
            hints={"slices:first": first_step},
        )
        check.compare_cache(cache, list(zip(SEQUENCE_CACHE, (x, h0, Wx, Wh, h))))


RNN_MISTAKES = {
    "no_recurrence": (
        "missing term",
        "the gradient from step t+1 is not added: the hidden-state gradient at step t is "
        "dh[:, t] plus the dprev_h that flows back from step t+1",
    ),
    "forwards": (
        "order",
        "the time loop runs forwards: step t needs the gradient from step t+1, so "
        "backpropagate from t = T-1 down to t = 0",
    ),
    "wrapped_h0": (
        "wrong point",
        "at t = 0 the previous state is h0, but h[:, t - 1] is h[:, -1], the last state: use "
        "h0 at t = 0",
    ),
    "last_upstream": (
        "missing term",
        "only the last step's upstream gradient dh[:, T-1] was used: the loss reaches every "
        "hidden state, so add dh[:, t] at every step t",
    ),
    "dWh_next": (
        "wrong point",
        "uses h_t: Wh multiplies the previous state, so add h_{t-1}.T @ dz (h0 at t = 0)",
    ),
}


def rnn_backward_mistakes(dh, cache, b):
    """{output: Mistakes} of BPTT, simulated by rnn_backward_variant's mistake switch."""
    names = ("dx", "dh0", "dWx", "dWh", "db")
    variants = tanh_mistakes("h[:, t]") | RNN_MISTAKES
    mistakes = simulated(
        lambda mistake: rnn_backward_variant(dh, cache, b, mistake), variants, names=names
    )
    mistakes["dh0"].append(
        Mistake(
            np.zeros_like(cache[1]),
            "is zero: return the gradient that flows out of step 0 into h0 (dprev_h)",
            "missing term",
        )
    )
    for mistake, which in (("first_only", "0 (the first)"), ("last_only", "T-1 (the last)")):
        outputs = rnn_backward_variant(dh, cache, b, mistake)
        for name, output in zip(names[2:], outputs[2:]):
            mistakes[name].append(
                Mistake(
                    output,
                    f"only the contribution of time step {which} is left: {name[1:]} is "
                    f"shared by all time steps, so sum their gradients ({name} += ...) "
                    "instead of overwriting them",
                    "accumulation",
                )
            )
    return mistakes


@stdout_only
def check_rnn_backward(rnn_backward_fn, N=3, T=5, D=4, H=6, seed=0, upstream="every"):
    """rnn_backward(dh, cache) against central differences of a trusted rnn_forward.

    upstream: "every" (a loss on every hidden state) or "last" (dh is zero except at t = T-1).
    """
    x, h0, Wx, Wh, b = rnn_problem(seed, N, T, D, H)
    dh = rng_for(seed + 1000).normal(size=(N, T, H))
    if upstream == "last":
        dh[:, :-1] = 0.0
    _, cache = rnn_forward(x, h0, Wx, Wh, b)
    inputs = (x, h0, Wx, Wh, b)
    expected = [
        numerical_vjp(
            lambda v, i=i: rnn_forward(*inputs[:i], v, *inputs[i + 1 :])[0], inputs[i], dh
        )
        for i in range(5)
    ]
    names = ("dx", "dh0", "dWx", "dWh", "db")
    mistakes = rnn_backward_mistakes(dh, cache, b)
    sums = dict(zip(names[2:], (Sum(t, "time step") for t in time_terms(dh, cache))))
    factors = {"dWx": [time_mean(T)], "dWh": [time_mean(T)], "db": [time_mean(T), batch_mean(N)]}
    where = "every step" if upstream == "every" else "the last step only"
    case = _case(N=N, T=T, D=D, H=H) + f", upstream gradient on {where}"
    probe = Probe(
        {**rnn_inputs(*inputs), "dh": (dh, "N T H")},
        lambda dh, **sequence: (dh, rnn_forward(*sequence.values())[1]),
        rnn_backward,
        names,
        upstream="dh",
        switches=sequence_switches("dh"),
    )
    with Check("rnn_backward", rnn_backward_fn, case, probe) as check:
        grads = check.unpack(check.call(dh, cache), names, expected)
        for name, got, value in zip(names, grads, expected):
            check.compare(
                name,
                got,
                value,
                mistakes=mistakes[name],
                factors=factors.get(name, ()),
                sums=sums.get(name),
                axes=TIME_AXES if name == "dx" else None,
                hints={"slices:last": LAST_STEP_HINT} if name == "dx" else None,
            )


# the sequence functions call the step functions
calls(
    rnn_forward=[(rnn_step_forward, check_rnn_step_forward)],
    rnn_backward=[(rnn_step_backward, check_rnn_step_backward)],
)
