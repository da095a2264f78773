"""The derivation checkpoints of lessons 04 to 12: one intermediate quantity of each lesson's
backward pass (or, in lesson 09, of its analysis), graded on its own.

Each checkpoint is a small function in the course contract's style, placed in the lesson
before the exercise whose derivation it is a step of:

| lesson | checkpoint | returns |
|---|---|---|
| 04 | `hidden_delta(delta_next, W_next, z, activation)` | delta (N, H): dL/dz of a hidden layer |
| 05 | `augmented_weight_grad(X, dZ)` | (D + 1, M): the gradient of [W; b] for Z = [X 1] [W; b] |
| 06 | `conv1d_input_grad(dz, w)` | (n,): dL/dx of the valid cross-correlation z = M x |
| 07 | `max_window_grad(window, dout)` | (PH, PW): dL/dwindow of out = max(window) |
| 08 | `bptt_dz(dh, h, Wh)` | (N, T, H): dL/dz_t of every step's pre-activation |
| 09 | `optimal_fixed_step(A)` | (lr, rate): the best fixed step on 0.5 x^T A x, and its factor |
| 10 | `batchnorm_intermediate_grads(dout, cache)` | (dx_hat (N, D), dmu (D,)) |
| 11 | `lstm_cell_grad(dnext_h, dnext_c, cache)` | dc (N, H): the total gradient of c_t |
| 12 | `features_grad(f, y, W2, b2, W3, b3)` | df (N, K): dL/df of the capstone's dense head |

Expected values come from central differences of the forward computation each quantity
belongs to (tests/lessons/ checks the references below against them too); the typical wrong
answers are simulated from the references, so that a check can name them.
"""

import numpy as np

from gradlab.checking import (
    Check,
    Mistake,
    Probe,
    Sum,
    batch_factors,
    simulated,
    stdout_only,
    summed,
)
from gradlab.exercises.batchnorm import DEFAULT_EPS
from gradlab.exercises.lstm import (
    BLOCKS_HINT,
    GATES,
    OTHER_ORDERS,
    STEP_BACKWARD_SWITCHES,
    lstm_inputs,
    lstm_problem,
    lstm_step_forward,
    sigmoid,
)
from gradlab.exercises.mlp import ACTIVATIONS, activate, activation_grad
from gradlab.exercises.optim import spd_matrix
from gradlab.exercises.rnn import rnn_problem
from gradlab.inputs import away_from_zero, distinct_values, rng_for
from gradlab.numeric import numerical_gradient, numerical_vjp


def _case(**sizes):
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def _scalar(got):
    """A 1-element array is a fine float."""
    return np.reshape(got, ()) if np.ndim(got) != 0 and np.size(got) == 1 else got


# ---------------------------------------------------------------- 04: one layer down


def hidden_delta(delta_next, W_next, z, activation="sigmoid", mistake=None):
    """delta_i = (delta_{i+1} W_{i+1}^T) * act'(z_i), or a typical wrong version of it.

    mistake: "no_slope" (act' left out), "slope_of_a" (act' evaluated at a = act(z)),
    "activation" (act(z) instead of act'(z)), "untransposed" (delta_{i+1} W_{i+1}, square W),
    "sigmoid_of_z" (sigmoid' written z (1 - z), the output formula applied to the input),
    "slope_of:<other>" (the derivative of another activation, whatever `activation` says).
    """
    upstream = delta_next @ (W_next if mistake == "untransposed" else W_next.T)
    if mistake and mistake.startswith("slope_of:"):
        other = mistake.removeprefix("slope_of:")
        if other == activation:
            raise ValueError("the activation given is no other activation")
        return upstream * activation_grad(z, other)
    if mistake == "no_slope":
        return upstream
    if mistake == "slope_of_a":
        return upstream * activation_grad(activate(z, activation), activation)
    if mistake == "activation":
        return upstream * activate(z, activation)
    if mistake == "sigmoid_of_z":
        return upstream * z * (1 - z)
    return upstream * activation_grad(z, activation)


HIDDEN_DELTA_MISTAKES = {
    "no_slope": (
        "missing term",
        "the activation's derivative is missing: a_i = act(z_i) lies between z_i and the next "
        "layer, so multiply by act'(z_i), entrywise",
    ),
    "slope_of_a": (
        "wrong point",
        "act' is evaluated at the activation a_i = act(z_i): the derivative belongs at the "
        "pre-activation z_i",
    ),
    "activation": (
        "formula",
        "this multiplies by act(z_i) itself: the chain rule needs its derivative act'(z_i)",
    ),
    "untransposed": (
        "transpose",
        "W_next is not transposed: z_{i+1} = a_i W_{i+1} + b, so dL/da_i = delta_{i+1} W_{i+1}^T",
    ),
    "sigmoid_of_z": (
        "wrong point",
        "sigmoid' was written z (1 - z): sigmoid'(z) = s (1 - s) with s = sigmoid(z), the "
        "layer's output",
    ),
}


def _other_activations(activation):
    """The variants of hidden_delta that use the derivative of another activation than the one
    given: right for that activation only (`activation` ignored, one derivative hard-coded)."""
    return {
        f"slope_of:{other}": (
            "formula",
            f"right for activation={other!r} only: the derivative must be the one of the "
            f"activation given, {activation!r} here (act'(z) = {ACTIVATION_SLOPES[activation]})",
        )
        for other in ACTIVATIONS
        if other != activation
    }


ACTIVATION_SLOPES = {
    "sigmoid": "s (1 - s) with s = sigmoid(z)",
    "relu": "1 where z > 0, else 0",
    "tanh": "1 - tanh(z)^2",
}


@stdout_only
def check_hidden_delta(hidden_delta_fn, N=4, H=3, M=5, activation="sigmoid", seed=0):
    """hidden_delta(delta_next, W_next, z, activation) against central differences of
    z -> act(z) @ W_next."""
    rng = rng_for(seed)
    z = away_from_zero(rng, (N, H), gap=0.1)
    W_next = rng.normal(size=(H, M))
    delta_next = rng.normal(size=(N, M)) / N
    expected = numerical_vjp(lambda v: activate(v, activation) @ W_next, z, delta_next)
    args = (delta_next, W_next, z, activation)
    variants = {**HIDDEN_DELTA_MISTAKES, **_other_activations(activation)}
    mistakes = simulated(hidden_delta, variants, *args, names=("delta",))
    case = _case(N=N, H=H, M=M) + f", {activation}"
    with Check("hidden_delta", hidden_delta_fn, case) as check:
        got = check.call(delta_next, W_next, z, activation)
        check.compare("delta", got, expected, mistakes=mistakes["delta"])


# ---------------------------------------------------------------- 05: a bias is a weight


def augmented_weight_grad(X, dZ, mistake=None):
    """[X 1]^T dZ, shape (D + 1, M): the gradient of [W; b^T] for Z = X W + b, or a typical
    wrong version of it.

    mistake: "ones_first" (the column of ones put before X), "mean_row" (the bias row a mean
    over the batch), "ones_missing" (X^T dZ with a row of zeros for b).
    """
    N = X.shape[0]
    ones = np.ones((N, 1))
    if mistake == "ones_first":
        return np.hstack([ones, X]).T @ dZ
    grad = np.hstack([X, ones]).T @ dZ
    if mistake == "mean_row":
        grad[-1] /= N
    if mistake == "ones_missing":
        grad[-1] = 0.0
    return grad


AUGMENTED_MISTAKES = {
    "ones_first": (
        "order",
        "the row of b comes first: X~ = [X 1] puts the column of ones last, so the gradient "
        "of W comes first and the last row belongs to b",
    ),
    "mean_row": (
        "factor",
        "the last row, b's, is averaged over the batch: b is used N times, so its gradient "
        "sums the rows of dZ (the 1/N is already in dZ)",
    ),
    "ones_missing": (
        "missing term",
        "the last row is zero: the column of ones of X~ multiplies b in every example, so its "
        "row of the gradient is 1^T dZ, the sum of dZ's rows",
    ),
}


@stdout_only
def check_augmented_weight_grad(augmented_weight_grad_fn, N=4, D=3, M=2, seed=0):
    """augmented_weight_grad(X, dZ) against central differences of W~ -> [X 1] W~."""
    rng = rng_for(seed)
    X = rng.normal(size=(N, D))
    dZ = rng.normal(size=(N, M)) / N
    X_tilde = np.hstack([X, np.ones((N, 1))])
    expected = numerical_vjp(lambda W: X_tilde @ W, np.zeros((D + 1, M)), dZ)
    mistakes = simulated(augmented_weight_grad, AUGMENTED_MISTAKES, X, dZ, names=("dW~",))
    with Check("augmented_weight_grad", augmented_weight_grad_fn, _case(N=N, D=D, M=M)) as check:
        got = check.call(X, dZ)
        check.compare(
            "dW~",
            got,
            expected,
            mistakes=mistakes["dW~"],
            factors=batch_factors(N),
            sums=Sum([(None, np.outer(np.append(X[n], 1), dZ[n])) for n in range(N)], "example"),
        )


# ---------------------------------------------------------------- 06: the input of a convolution


def conv1d_input_grad(dz, w, mistake=None):
    """dx = M^T dz for z = M x, the valid cross-correlation of x (n,) with w (k,), n =
    len(dz) + k - 1; or a typical wrong version of it.

    mistake: "flipped" (the kernel flipped: a full cross-correlation of dz with w),
    "overwritten" (each window's contribution written with = instead of +=).
    """
    k = len(w)
    kernel = w[::-1] if mistake == "flipped" else w
    dx = np.zeros(len(dz) + k - 1)
    for i, g in enumerate(dz):
        if mistake == "overwritten":
            dx[i : i + k] = g * kernel
        else:
            dx[i : i + k] += g * kernel
    return dx


CONV_INPUT_MISTAKES = {
    "flipped": (
        "order",
        "the kernel is flipped: output i reads x[i + j] with weight w[j], so it sends "
        "dz[i] * w[j] back to x[i + j]",
    ),
    "overwritten": (
        "accumulation",
        "the windows overwrite each other: an input inside several windows gets the sum of "
        "their contributions (+=, not =)",
    ),
}


@stdout_only
def check_conv1d_input_grad(conv1d_input_grad_fn, n=8, k=3, seed=0):
    """conv1d_input_grad(dz, w) against central differences of x -> correlate(x, w)."""
    rng = rng_for(seed)
    w = rng.normal(size=k)
    dz = rng.normal(size=n - k + 1)
    x = rng.normal(size=n)
    expected = numerical_vjp(lambda v: np.correlate(v, w, mode="valid"), x, dz)
    mistakes = simulated(conv1d_input_grad, CONV_INPUT_MISTAKES, dz, w, names=("dx",))
    terms = [(slice(i, i + k), dz[i] * w) for i in range(n - k + 1)]
    with Check("conv1d_input_grad", conv1d_input_grad_fn, _case(n=n, k=k)) as check:
        got = check.call(dz, w)
        check.compare(
            "dx",
            got,
            expected,
            mistakes=mistakes["dx"],
            sums=Sum(terms, "window"),
            hints=_conv_length_hints(got, len(dz), k),
        )


def _conv_length_hints(got, m, k):
    """compare's hints for an answer dx of another length than the input's n = m + k - 1 (dz
    has m entries, w has k): what that length is, and that dx is the full convolution."""
    n = m + k - 1
    length = np.size(got) if isinstance(got, (np.ndarray, list)) else None
    if length is None or length == n:
        return None
    known = {
        m: f"{m} is len(dz), the length np.convolve keeps with mode='same'",
        m - k + 1: f"{m - k + 1} is len(dz) - k + 1, the length of a 'valid' convolution",
    }
    what = known.get(length, f"{length} entries is not the input's length")
    return {
        "shape": f"{what}: dx has one entry per input x[j], n = len(dz) + k - 1 = {n}, the "
        "length of the 'full' convolution; the input gradient is the full convolution of dz "
        "with w, np.convolve(dz, w) (mode='full')"
    }


# ---------------------------------------------------------------- 07: one window of max pooling


def max_window_grad(window, dout, mistake=None):
    """dL/dwindow for out = max(window) and dL/dout = dout: dout at the first maximum in
    row-major order, 0 elsewhere; or a typical wrong version of it.

    mistake: "every_tie" (dout at every maximum), "shared" (dout shared equally among the
    maxima), "last" (dout at the last maximum), "height" (the flat argmax unravelled with the
    window's height instead of its width), "no_dout" (1 at the maximum), "per_column" and
    "per_row" (dout at the maximum of every column, of every row: an argmax along axis 0, 1).
    """
    grad = np.zeros_like(window, dtype=np.float64)
    if mistake in ("per_column", "per_row"):
        axis = 0 if mistake == "per_column" else 1
        if window.shape[1 - axis] == 1:
            raise ValueError("with one column (row) its maximum is the window's")
        np.put_along_axis(grad, np.expand_dims(np.argmax(window, axis), axis), dout, axis)
        return grad
    is_max = window == window.max()
    if mistake == "every_tie":
        return np.where(is_max, dout, 0.0)
    if mistake == "shared":
        return np.where(is_max, dout / is_max.sum(), 0.0)
    flat = window.ravel()
    k = len(flat) - 1 - np.argmax(flat[::-1]) if mistake == "last" else np.argmax(flat)
    cell = np.unravel_index(k, window.shape)
    if mistake == "height":
        PH, PW = window.shape
        right, cell = cell, divmod(k, PH)
        if cell == right or cell[0] >= PH or cell[1] >= PW:
            raise ValueError("with this window the height's unravelling is no other answer")
    grad[cell] = 1.0 if mistake == "no_dout" else dout
    return grad


MAX_WINDOW_MISTAKES = {
    "every_tie": (
        "formula",
        "every tied maximum gets the whole gradient: together they pass on more than dout; "
        "the course gives all of it to the first maximum in row-major order",
    ),
    "shared": (
        "formula",
        "dout is shared among the tied maxima: valid maths, but the course's rule gives all of "
        "it to the first maximum in row-major order (np.argmax)",
    ),
    "last": (
        "order",
        "the gradient goes to the last maximum: the rule is the first one in row-major order, "
        "which np.argmax returns",
    ),
    "height": (
        "formula",
        "the flat index was unravelled with the window's height: row = k // PW and column = "
        "k % PW, with PW the width (np.unravel_index)",
    ),
    "no_dout": (
        "missing term",
        "the maximum gets 1: the chain rule multiplies the local derivative 1 by the upstream "
        "gradient dout",
    ),
    **{
        f"per_{line}": (
            "formula",
            "dout was given to the maximum of every column (or row), not to the one maximum of "
            f"the whole window: here to every {line}'s, np.argmax(window, axis={axis}); the "
            "one cell is np.unravel_index(np.argmax(window), window.shape), the flat argmax",
        )
        for line, axis in (("column", 0), ("row", 1))
    },
}


@stdout_only
def check_max_window_grad(max_window_grad_fn, shape=(2, 3), ties=0, seed=0):
    """max_window_grad(window, dout) against central differences of dout * max(window) for
    distinct values, and against the first-maximum rule when `ties` cells share the maximum."""
    rng = rng_for(seed)
    window = distinct_values(rng, shape, gap=0.1)
    dout = float(rng.normal())
    if ties:
        cells = rng.choice(window.size, size=ties, replace=False)
        window.flat[cells] = window.max() + 1.0
        expected = max_window_grad(window, dout)
    else:
        expected = numerical_gradient(lambda v: dout * np.max(v), window)
    mistakes = simulated(max_window_grad, MAX_WINDOW_MISTAKES, window, dout, names=("dwindow",))
    case = f"window {shape}" + (f", its maximum held by {ties} cells" if ties else "")
    with Check("max_window_grad", max_window_grad_fn, case) as check:
        got = check.call(window, dout)
        spread = _spread_over_cells(got, expected, dout)
        check.compare("dwindow", got, expected, mistakes=mistakes["dwindow"] + spread)


def _spread_over_cells(got, expected, dout):
    """[a Mistake naming it] when got gives dout to several cells where expected gives it to
    one (an argmax along an axis, a mask of more than the maximum), else []. Tried after the
    simulated mistakes, which name the usual ways of doing so more precisely."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return []
    if got.shape != expected.shape or np.count_nonzero(expected) != 1 or dout == 0:
        return []
    given = np.isclose(got, dout, rtol=1e-6, atol=0.0)
    if given.sum() < 2 or np.count_nonzero(got[~given]):
        return []
    cells = [tuple(int(i) for i in cell) for cell in np.argwhere(given)]
    return [
        Mistake(
            got,
            f"dout was given to {len(cells)} cells, {', '.join(map(str, cells))}, not to the one "
            "maximum of the whole window: only the first maximum in row-major order, "
            "np.unravel_index(np.argmax(window), window.shape), gets dout; every other cell 0",
            "formula",
        )
    ]


# ---------------------------------------------------------------- 08: every step's dz


def rnn_states(x, h0, Wx, Wh, b, e=None):
    """h (N, T, H) of the RNN, with e[:, t] (N, T, H) added to every step's pre-activation."""
    N, T, _ = x.shape
    h, prev = np.zeros((N, T, h0.shape[1])), h0
    for t in range(T):
        z = x[:, t] @ Wx + prev @ Wh + b + (0.0 if e is None else e[:, t])
        h[:, t] = prev = np.tanh(z)
    return h


def bptt_dz(dh, h, Wh, mistake=None):
    """dz (N, T, H): dz_t = (dh_t + dz_{t+1} Wh^T) * (1 - h_t^2), dz_T = 0; or a typical wrong
    version of it.

    mistake: "no_recurrence" (dz_t = dh_t * (1 - h_t^2)), "outside" (the recurrent term added
    after the tanh factor), "untransposed" (dz_{t+1} Wh), "forwards" (the loop runs forwards,
    carrying dz_{t-1}), "previous_state" (1 - h_{t-1}^2, 0 at t = 0), "no_slope" (the tanh
    factor left out), "tanh_twice" (1 - tanh(h_t)^2).
    """
    T = h.shape[1]
    dz = np.zeros_like(h)
    carried = np.zeros_like(h[:, 0])
    steps = range(T) if mistake == "forwards" else reversed(range(T))
    for t in steps:
        if mistake == "previous_state":
            slope = 1 - h[:, t - 1] ** 2 if t > 0 else np.ones_like(h[:, 0])
        elif mistake == "tanh_twice":
            slope = 1 - np.tanh(h[:, t]) ** 2
        elif mistake == "no_slope":
            slope = 1.0
        else:
            slope = 1 - h[:, t] ** 2
        if mistake == "no_recurrence":
            dz[:, t] = dh[:, t] * slope
        elif mistake == "outside":
            dz[:, t] = dh[:, t] * slope + carried
        else:
            dz[:, t] = (dh[:, t] + carried) * slope
        carried = dz[:, t] @ (Wh if mistake == "untransposed" else Wh.T)
    return dz


BPTT_MISTAKES = {
    "no_recurrence": (
        "missing term",
        "the gradient from step t+1 is missing: h_t also feeds z_{t+1} = ... + h_t W_h, so "
        "dz_{t+1} W_h^T adds to dh[:, t] before the tanh factor",
    ),
    "outside": (
        "formula",
        "the gradient from step t+1 is added after the tanh factor: it reaches h_t, like "
        "dh[:, t], so both go through tanh'(z_t) = 1 - h_t^2 together",
    ),
    "untransposed": (
        "transpose",
        "Wh is not transposed: z_{t+1} = ... + h_t W_h, so dL/dh_t gets dz_{t+1} W_h^T",
    ),
    "forwards": (
        "order",
        "the loop runs forwards: dz_t needs dz_{t+1}, so run t from T-1 down to 0",
    ),
    "previous_state": (
        "wrong point",
        "tanh' is taken at the previous state: tanh'(z_t) = 1 - h_t^2, with h_t = h[:, t] the "
        "output of step t",
    ),
    "no_slope": (
        "missing term",
        "the tanh derivative is missing: h_t = tanh(z_t), so multiply by 1 - h_t^2",
    ),
    "tanh_twice": (
        "wrong point",
        "tanh' computed as 1 - tanh(h_t)^2: h_t is already tanh(z_t), so tanh'(z_t) = 1 - h_t^2",
    ),
}


@stdout_only
def check_bptt_dz(bptt_dz_fn, N=2, T=5, H=4, seed=0, upstream="every"):
    """bptt_dz(dh, h, Wh) against central differences of the states with respect to a
    perturbation of every step's pre-activation. upstream: "every" or "last" (dh zero but at
    the last step)."""
    x, h0, Wx, Wh, b = rnn_problem(seed, N, T, 3, H)
    dh = rng_for(seed + 1000).normal(size=(N, T, H))
    if upstream == "last":
        dh[:, :-1] = 0.0
    h = rnn_states(x, h0, Wx, Wh, b)
    expected = numerical_vjp(lambda e: rnn_states(x, h0, Wx, Wh, b, e), np.zeros_like(h), dh)
    mistakes = simulated(bptt_dz, BPTT_MISTAKES, dh, h, Wh, names=("dz",))
    where = "every step" if upstream == "every" else "the last step only"
    case = _case(N=N, T=T, H=H) + f", upstream gradient on {where}"
    with Check("bptt_dz", bptt_dz_fn, case) as check:
        got = check.call(dh, h, Wh)
        check.compare(
            "dz", got, expected, mistakes=mistakes["dz"], axes=("example", "time step", None)
        )


# ---------------------------------------------------------------- 09: the best fixed step


def optimal_fixed_step(A):
    """(lr, rate): the learning rate that minimises max_i |1 - lr lambda_i| for the
    eigenvalues of A, and that smallest factor."""
    eigenvalues = np.linalg.eigvalsh(A)
    lam_min, lam_max = eigenvalues[0], eigenvalues[-1]
    return 2 / (lam_min + lam_max), (lam_max - lam_min) / (lam_max + lam_min)


@stdout_only
def check_optimal_fixed_step(optimal_fixed_step_fn, n=3, condition=10.0, seed=0, rotated=True):
    """optimal_fixed_step(A) -> (2 / (lambda_min + lambda_max), (kappa - 1) / (kappa + 1))."""
    A = spd_matrix(n, condition, seed, rotated) * 0.5
    eigenvalues = np.linalg.eigvalsh(A)
    lam_min, lam_max = eigenvalues[0], eigenvalues[-1]
    lr, rate = optimal_fixed_step(A)
    kappa = lam_max / lam_min
    lr_mistakes = [
        Mistake(
            2 / lam_max,
            "that is 2 / lambda_max, the edge of stability, where the stiffest direction no "
            "longer shrinks: the best step balances |1 - lr lambda_min| = |1 - lr lambda_max|",
            "formula",
        ),
        Mistake(
            1 / lam_max,
            "that is 1 / lambda_max, which removes the stiffest direction in one step but leaves "
            "the flattest one slow: balance |1 - lr lambda_min| and |1 - lr lambda_max|",
            "formula",
        ),
        Mistake(
            1 / (lam_min + lam_max),
            "a factor 2 missing: 1 - lr lambda_min = lr lambda_max - 1 gives lr = 2 / "
            "(lambda_min + lambda_max)",
            "factor",
        ),
        Mistake(
            2 / np.sum(eigenvalues),
            "that is 2 / trace(A), the sum of all eigenvalues: only lambda_min and lambda_max "
            "decide the worst factor",
        ),
        Mistake(rate, "this is the factor: return (lr, rate) in this order", "order"),
    ]
    rate_mistakes = [
        Mistake(
            1 - 1 / kappa,
            "that is the factor of lr = 1 / lambda_max, 1 - lambda_min / lambda_max: the best "
            "step is larger",
            "formula",
        ),
        Mistake(
            rate**2,
            "the factor is squared: the error is multiplied by (kappa - 1) / (kappa + 1) per "
            "step (f, quadratic in the error, by its square)",
            "formula",
        ),
        Mistake(
            (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1),
            "that is the rate of momentum with its best settings (Section 7): a fixed step "
            "reaches (kappa - 1) / (kappa + 1) only",
            "formula",
        ),
        Mistake(lr, "this is the learning rate: return (lr, rate) in this order", "order"),
    ]
    kind = "rotated" if rotated else "diagonal"
    case = f"{kind} A ({n}, {n}), eigenvalues from {lam_min:.3g} to {lam_max:.3g}"
    with Check("optimal_fixed_step", optimal_fixed_step_fn, case) as check:
        got = check.unpack(check.call(A), ("lr", "rate"))
        check.compare("lr", _scalar(got[0]), lr, mistakes=lr_mistakes)
        check.compare("rate", _scalar(got[1]), rate, mistakes=rate_mistakes)


# ---------------------------------------------------------------- 10: inside batchnorm's backward


def batchnorm_with_mean(x, mu, gamma, beta, eps):
    """Batchnorm's output with the batch mean mu (D,) taken as an input of its own: the graph
    of the lesson, x_c = x - mu, var = mean(x_c**2), x_hat = x_c / sqrt(var + eps)."""
    xc = x - mu
    return gamma * xc / np.sqrt(np.mean(xc**2, axis=0) + eps) + beta


def batchnorm_intermediate_grads(dout, cache, mistake=None):
    """(dx_hat, dmu): dL/dx_hat = gamma * dout and dL/dmu = -s sum_i dx_hat_i, with
    s = 1 / sqrt(var + eps); or a typical wrong version of them.

    mistake: "no_gamma" (dx_hat = dout), "no_s" (dmu without the factor s).
    """
    x, gamma, _, eps = cache
    inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
    dx_hat = dout if mistake == "no_gamma" else gamma * dout
    dmu = -dx_hat.sum(axis=0)
    return dx_hat, dmu if mistake == "no_s" else dmu * inv_std


BATCHNORM_MISTAKES = {
    "no_gamma": (
        "missing term",
        "gamma is missing: out = gamma * x_hat + beta, so dx_hat = gamma * dout",
    ),
    "no_s": (
        "missing term",
        "the factor s = 1 / sqrt(var + eps) is missing: x_hat = (x - mu) * s, so mu reaches "
        "x_hat with the factor -s",
    ),
}


@stdout_only
def check_batchnorm_intermediate_grads(
    batchnorm_intermediate_grads_fn, N=6, D=4, eps=DEFAULT_EPS, seed=0
):
    """batchnorm_intermediate_grads(dout, cache) against central differences of the lesson's
    graph, with x_hat and the batch mean mu as inputs of their own."""
    rng = rng_for(seed)
    x = rng.normal(scale=2.0, size=D) + rng.uniform(0.5, 2.0, size=D) * rng.normal(size=(N, D))
    gamma, beta = rng.normal(size=D), rng.normal(size=D)
    dout = rng.normal(size=(N, D))
    cache = (x, gamma, beta, eps)
    mu = x.mean(axis=0)
    x_hat = (x - mu) / np.sqrt(x.var(axis=0) + eps)
    dx_hat = numerical_vjp(lambda v: gamma * v + beta, x_hat, dout)
    dmu = numerical_vjp(lambda m: batchnorm_with_mean(x, m, gamma, beta, eps), mu, dout)
    mistakes = simulated(
        batchnorm_intermediate_grads, BATCHNORM_MISTAKES, dout, cache, names=("dx_hat", "dmu")
    )
    case = _case(N=N, D=D) + f", eps={eps:g}"
    with Check("batchnorm_intermediate_grads", batchnorm_intermediate_grads_fn, case) as check:
        got = check.unpack(check.call(dout, cache), ("dx_hat", "dmu"))
        check.compare("dx_hat", got[0], dx_hat, mistakes=mistakes["dx_hat"])
        check.compare(
            "dmu",
            got[1],
            dmu,
            mistakes=mistakes["dmu"],
            factors=[summed(N, "N", "the batch", "mu is used by every example")],
        )


# ---------------------------------------------------------------- 11: the cell's two paths


def lstm_cell_grad(dnext_h, dnext_c, cache, mistake=None):
    """dc_t = dnext_c + dnext_h * o * (1 - tanh(c_t)**2), the total gradient of the step's new
    cell state; or a typical wrong version of it.

    mistake: "no_dnext_c" (the path from step t+1 left out), "no_h_path" (dnext_c alone),
    "h_squared" (1 - h_t**2, Lesson 08's formula), "c_squared" (1 - c_t**2), "no_o" (the
    output gate left out), "prev_c_slope" (1 - tanh(prev_c)**2, one step off in time),
    "forget_scaled" (f * dnext_c, the gradient of prev_c, for dnext_c), "order:<gates>" (the
    gate blocks read in another order, e.g. "order:ifgo").
    """
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    z = x @ Wx + prev_h @ Wh + b
    order = tuple(mistake.removeprefix("order:")) if str(mistake).startswith("order:") else GATES
    block = {gate: z[:, k * H : (k + 1) * H] for k, gate in enumerate(order)}
    i, f, o = (sigmoid(block[gate]) for gate in "ifo")
    c = f * prev_c + i * np.tanh(block["g"])
    slope = {
        "h_squared": 1 - (o * np.tanh(c)) ** 2,
        "c_squared": 1 - c**2,
        "prev_c_slope": 1 - np.tanh(prev_c) ** 2,
    }.get(mistake, 1 - np.tanh(c) ** 2)
    through_h = dnext_h * (1.0 if mistake == "no_o" else o) * slope
    if mistake == "no_dnext_c":
        return through_h
    if mistake == "no_h_path":
        return dnext_c.copy()
    if mistake == "forget_scaled":
        return f * dnext_c + through_h
    return dnext_c + through_h


LSTM_CELL_MISTAKES = {
    "no_dnext_c": (
        "missing term",
        "dnext_c is missing: c_t also feeds the next step, and that gradient adds to the one "
        "through h_t",
    ),
    "no_h_path": (
        "missing term",
        "the path through h_t = o * tanh(c_t) is missing: add dnext_h * o * (1 - tanh(c_t)^2)",
    ),
    "h_squared": (
        "wrong point",
        "tanh' computed as 1 - h_t^2, Lesson 08's formula: here h_t = o * tanh(c_t) is not a "
        "tanh, so use 1 - tanh(c_t)^2",
    ),
    "c_squared": (
        "wrong point",
        "tanh' computed as 1 - c_t^2: c_t is no tanh, tanh'(c_t) = 1 - tanh(c_t)^2",
    ),
    "no_o": (
        "missing term",
        "the output gate is missing: h_t = o * tanh(c_t), so the path through h_t carries o",
    ),
    "prev_c_slope": (
        "wrong point",
        "tanh' is taken at prev_c: the cell state of this step is next_c = f*prev_c + i*g, "
        "and h_t = o * tanh(next_c), so the factor is 1 - tanh(next_c)^2",
    ),
    "forget_scaled": (
        "formula",
        "dnext_c is multiplied by the forget gate: that is the gradient passed on to prev_c, "
        "not dL/dc_t; dnext_c is already the gradient of c_t and adds as it is",
    ),
    **{
        f"order:{order}": (
            "order",
            f"the gates are taken in the order {', '.join(order)}: the contract's order is "
            f"{', '.join(GATES)} ({BLOCKS_HINT}, with a = x Wx + prev_h Wh + b)",
        )
        for order in OTHER_ORDERS
    },
}


@stdout_only
def check_lstm_cell_grad(lstm_cell_grad_fn, N=3, D=4, H=5, seed=0, dnext_c="random"):
    """lstm_cell_grad(dnext_h, dnext_c, cache) against central differences of the step's
    outputs (h_t, c_t) with respect to a change of c_t. dnext_c: "random" or "zero"."""
    x3, prev_h, Wx, Wh, b = lstm_problem(seed, N, 1, D, H)
    rng = rng_for(seed + 1000)
    prev_c = rng.normal(size=(N, H))
    dnext_h = rng.normal(size=(N, H))
    dnext_c_value = np.zeros((N, H)) if dnext_c == "zero" else rng.normal(size=(N, H))
    x = x3[:, 0]
    _, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    o = sigmoid((x @ Wx + prev_h @ Wh + b)[:, 2 * H : 3 * H])
    expected = numerical_gradient(
        lambda c: np.sum(dnext_h * o * np.tanh(c)) + np.sum(dnext_c_value * c), next_c
    )
    mistakes = simulated(
        lstm_cell_grad, LSTM_CELL_MISTAKES, dnext_h, dnext_c_value, cache, names=("dc",)
    )
    case = _case(N=N, D=D, H=H) + (", dnext_c = 0" if dnext_c == "zero" else "")
    probe = Probe(
        lstm_inputs(
            x=x,
            prev_h=prev_h,
            prev_c=prev_c,
            Wx=Wx,
            Wh=Wh,
            b=b,
            dnext_h=dnext_h,
            dnext_c=dnext_c_value,
        ),
        lambda dnext_h, dnext_c, **step: (dnext_h, dnext_c, lstm_step_forward(*step.values())[2]),
        lstm_cell_grad,
        ("dc",),
        upstream="dnext_h",
        switches=STEP_BACKWARD_SWITCHES,
    )
    with Check("lstm_cell_grad", lstm_cell_grad_fn, case, probe) as check:
        got = check.call(dnext_h, dnext_c_value, cache)
        check.compare("dc", got, expected, mistakes=mistakes["dc"])


# ---------------------------------------------------------------- 12: the capstone's dense head


def head_loss(f, y, W2, b2, W3, b3):
    """The capstone's loss from the flattened features f: mean softmax cross-entropy of
    relu(f W2 + b2) W3 + b3."""
    s = np.maximum(f @ W2 + b2, 0) @ W3 + b3
    s = s - s.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean()


def features_grad(f, y, W2, b2, W3, b3, mistake=None):
    """df = dL/df (N, K) of the capstone's dense head; or a typical wrong version of it.

    mistake: "no_mask" (the ReLU's derivative left out), "no_onehot" (softmax(s) / N, without
    subtracting the one-hot labels), "plus_onehot" (softmax(s) + Y).
    """
    N = len(y)
    z2 = f @ W2 + b2
    s = np.maximum(z2, 0) @ W3 + b3
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(s.shape[1])[y]
    ds = {"no_onehot": p, "plus_onehot": p + onehot}.get(mistake, p - onehot) / N
    dz2 = ds @ W3.T * (1.0 if mistake == "no_mask" else z2 > 0)
    return dz2 @ W2.T


FEATURES_MISTAKES = {
    "no_mask": (
        "missing term",
        "the ReLU's derivative is missing: h2 = relu(z2), so dz2 = dh2 * (z2 > 0)",
    ),
    "no_onehot": (
        "missing term",
        "the labels are missing from ds: the gradient of the mean cross-entropy is "
        "(softmax(s) - Y) / N, Y one-hot",
    ),
    "plus_onehot": (
        "sign",
        "the one-hot labels are added: ds = (softmax(s) - Y) / N subtracts them",
    ),
}


def features_problem(seed, N, K, M):
    """f (N, K), y (N,), W2 (K, M), b2 (M,), W3 (M, 10), b3 (10,) with every hidden
    pre-activation at least 0.05 away from the ReLU's kink."""
    rng = rng_for(seed)
    while True:
        f = np.abs(rng.normal(size=(N, K)))
        W2 = rng.normal(scale=np.sqrt(2 / K), size=(K, M))
        b2 = rng.normal(scale=0.1, size=M)
        if np.min(np.abs(f @ W2 + b2)) >= 0.05:
            break
    W3, b3 = rng.normal(scale=np.sqrt(1 / M), size=(M, 10)), rng.normal(scale=0.1, size=10)
    return f, rng.integers(10, size=N), W2, b2, W3, b3


@stdout_only
def check_features_grad(features_grad_fn, N=4, K=8, M=5, seed=0):
    """features_grad(f, y, W2, b2, W3, b3) against central differences of the head's loss."""
    f, y, W2, b2, W3, b3 = features_problem(seed, N, K, M)
    expected = numerical_gradient(lambda v: head_loss(v, y, W2, b2, W3, b3), f)
    args = (f, y, W2, b2, W3, b3)
    mistakes = simulated(features_grad, FEATURES_MISTAKES, *args, names=("df",))
    with Check("features_grad", features_grad_fn, _case(N=N, K=K, M=M)) as check:
        got = check.call(*args)
        check.compare("df", got, expected, mistakes=mistakes["df"], factors=batch_factors(N))
