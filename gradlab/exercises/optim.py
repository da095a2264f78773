"""Lesson 09: gradient descent, its stable learning rates on a quadratic, momentum, Adam and
gradient clipping.

The trusted optimizer steps are the tools of gradlab.tools.optim (one source of truth: the
tools later lessons are given are the ones graded here). Every step is checked over several
steps of a small problem, each call on the trusted state of that step, so that a mistake is
named at the first step where it shows; the typical wrong versions are computed by the
`*_variant` functions beside the checks, on the same inputs.
"""

import numpy as np

from gradlab.checking import (
    Check,
    CheckFailed,
    Mistake,
    Probe,
    Switch,
    any_shape,
    declared,
    in_order,
    stdout_only,
)
from gradlab.inputs import rng_for
from gradlab.tools.optim import adam_step, clip_gradients, global_norm, momentum_step

STEP_AXIS = "step"


# ---------------------------------------------------------------- problems


def spd_matrix(n, condition, seed=0, rotated=True):
    """A symmetric positive definite (n, n) matrix with eigenvalues from 1 to `condition`.

    The eigenvalues are log-spaced; with `rotated` the eigenvectors are a random orthogonal
    basis, otherwise the matrix is diagonal.
    """
    eigenvalues = np.geomspace(1.0, condition, n)
    if not rotated:
        return np.diag(eigenvalues)
    Q, _ = np.linalg.qr(rng_for(seed).normal(size=(n, n)))
    return Q @ np.diag(eigenvalues) @ Q.T


def landscape_gradient(A, kind):
    """The gradient function of f(x) = 0.5 x^T A x ("quadratic") or of
    f(x) = 0.5 x^T A x + 0.05 sum(x**4) ("quartic", whose curvature changes along the way)."""
    if kind == "quadratic":
        return lambda x: A @ x
    if kind == "quartic":
        return lambda x: A @ x + 0.2 * x**3
    raise ValueError(f"unknown landscape {kind!r}: use 'quadratic' or 'quartic'")


def gradient_descent(grad_f, x0, lr, steps):
    """Trusted gradient descent: the (steps + 1, n) iterates x_0 = x0, ..., x_steps."""
    xs = [np.array(x0, dtype=np.float64)]
    for _ in range(steps):
        xs.append(xs[-1] - lr * grad_f(xs[-1]))
    return np.stack(xs)


def gradient_descent_variant(grad_f, x0, lr, steps, mistake):
    """What a typical wrong gradient descent returns.

    mistake: "ascent" (x + lr g), "stale" (every step uses grad_f(x0)), "aliased" (every row
    is the last iterate: x appended, then changed in place), "extra_step" (steps + 1 steps).
    """
    if mistake == "ascent":
        return gradient_descent(lambda x: -grad_f(x), x0, lr, steps)
    if mistake == "stale":
        g0 = grad_f(np.array(x0, dtype=np.float64))
        return np.stack([x0 - k * lr * g0 for k in range(steps + 1)])
    if mistake == "aliased":
        return np.tile(gradient_descent(grad_f, x0, lr, steps)[-1], (steps + 1, 1))
    if mistake == "extra_step":
        return gradient_descent(grad_f, x0, lr, steps + 1)
    raise ValueError(f"unknown mistake {mistake!r}")


def step_problem(shape, steps, seed):
    """Parameters, a starting velocity and the gradient of a separable quadratic with a linear
    term, dw = curvature * w + offset, whose offset changes at every step (like minibatches).

    Returns (w0, v0, gradient) with gradient(w, k) the gradient at w in step k (from 0).
    """
    rng = rng_for(seed)
    w0 = rng.normal(size=shape)
    v0 = rng.normal(scale=0.3, size=shape)
    curvature = rng.uniform(0.5, 2.0, size=shape)
    offsets = rng.normal(scale=0.5, size=(steps, *shape))
    return w0, v0, lambda w, k: curvature * w + offsets[k]


def _stacked(check, label, outputs, expected, mistakes=(), **options):
    """Compare the student's outputs of every step, stacked along a first axis "step"."""
    shapes = {np.shape(o) for o in outputs}
    if len(shapes) > 1 or any(
        o is None for o in outputs
    ):  # compare step by step: the first bad one is named
        for k, (got, want) in enumerate(zip(outputs, expected)):
            check.compare(f"{label} at step {k}", got, want)
    axes = (STEP_AXIS, *[None] * (np.ndim(expected[0])))
    check.compare(
        label,
        np.stack([np.asarray(o, dtype=np.float64) for o in outputs]),
        np.stack(expected),
        mistakes=mistakes,
        axes=axes,
        **options,
    )


def _stacked_mistakes(variants, mistakes, index):
    """One Mistake per typical wrong step: its output number `index` at every step, stacked.

    variants: {name: [outputs of each step]}; mistakes: {name: (kind, message)}.
    """
    return [
        Mistake(np.stack([outputs[index] for outputs in variants[name]]), message, kind)
        for name, (kind, message) in mistakes.items()
    ]


# ---------------------------------------------------------------- gradient descent


# Each typical wrong gradient descent: (kind, what is wrong and what to do instead).
GD_MISTAKES = {
    "ascent": ("sign", "the iterates climb: step against the gradient, x - lr * grad_f(x)"),
    "stale": (
        "wrong point",
        "every step used grad_f(x0): evaluate the gradient at the current iterate",
    ),
    "aliased": (
        "formula",
        "every row is the last iterate: you stored x and then changed it in place "
        "(x -= ...); store a copy, or write x = x - lr * grad_f(x)",
    ),
    "extra_step": ("shape", "one step too many: the rows are x_0 = x0 and then `steps` steps"),
}


@stdout_only
def check_gradient_descent(
    gradient_descent_fn, n=2, steps=8, lr=0.1, condition=10.0, landscape="quadratic", seed=0
):
    """gradient_descent(grad_f, x0, lr, steps) -> the (steps + 1, n) iterates."""
    A = spd_matrix(n, condition, seed)
    grad_f = landscape_gradient(A, landscape)
    x0 = rng_for(seed + 1).normal(size=n)
    expected = gradient_descent(grad_f, x0, lr, steps)
    mistakes = [
        Mistake(gradient_descent_variant(grad_f, x0, lr, steps, name), message, kind)
        for name, (kind, message) in GD_MISTAKES.items()
    ]
    mistakes += [
        Mistake(expected[1:], "x0 is missing: the first row must be x0 itself", "shape"),
        Mistake(
            expected[-1],
            "only the last iterate was returned: return all of them, x0 first",
            "shape",
        ),
    ]
    case = (
        f"{landscape} f with A ({n}, {n}) of condition number {condition:g}, lr = {lr:g}, "
        f"steps = {steps}"
    )
    probe = Probe(
        {"A": (A, "n n"), "x0": (x0, "n"), "lr": (lr, ""), "steps": (steps, "steps")},
        lambda A, x0, lr, steps: (landscape_gradient(A, landscape), x0, lr, steps),
        gradient_descent,
        ("the iterates",),
        smallest={"steps": 0},
    )
    with Check("gradient_descent", gradient_descent_fn, case, probe) as check:
        got = check.call(grad_f, x0, lr, steps)
        check.compare("the iterates", got, expected, mistakes=mistakes, axes=(STEP_AXIS, None))


# ---------------------------------------------------------------- the stable learning rate


@stdout_only
def check_max_stable_learning_rate(
    max_stable_learning_rate_fn, n=3, condition=10.0, seed=0, rotated=True
):
    """max_stable_learning_rate(A) -> 2 / lambda_max for a symmetric positive definite A."""
    A = spd_matrix(n, condition, seed, rotated) * 0.7  # eigenvalues 0.7 .. 0.7 * condition
    eigenvalues = np.linalg.eigvalsh(A)
    lam_min, lam_max = eigenvalues[0], eigenvalues[-1]
    mistakes = [
        Mistake(
            1 / lam_max,
            "that is 1 / lambda_max, the rate that removes the stiffest direction's error in one "
            "step; the error factor |1 - lr * lambda| stays below 1 up to lr = 2 / lambda_max",
            "factor",
        ),
        Mistake(
            2 / lam_min,
            "that is 2 / lambda_min: every direction must converge, and the one with the "
            "largest eigenvalue diverges first, so use lambda_max",
        ),
        Mistake(
            2 / np.max(np.diag(A)),
            "that is 2 over the largest entry of A (on its diagonal): the bound is on the "
            "largest eigenvalue, which differs from the entries unless A is diagonal "
            "(np.linalg.eigvalsh)",
        ),
        Mistake(
            2 / np.trace(A),
            "that is 2 / trace(A), the sum of all eigenvalues: use the largest one alone",
        ),
        Mistake(lam_max, "that is lambda_max itself: the bound is 2 / lambda_max"),
        Mistake(
            2 / eigenvalues, "one number for the whole matrix: 2 / the largest eigenvalue", "shape"
        ),
    ]
    kind = "rotated" if rotated else "diagonal"
    case = f"{kind} A ({n}, {n}), eigenvalues from {lam_min:.3g} to {lam_max:.3g}"
    probe = Probe(
        {"A": (A, "n n")},
        in_order,
        lambda A: 2 / np.linalg.eigvalsh(A)[-1],
        ("the learning rate",),
        valid=lambda A: np.allclose(A, A.T) and np.linalg.eigvalsh(A)[0] > 0,
    )
    with Check("max_stable_learning_rate", max_stable_learning_rate_fn, case, probe) as check:
        got = check.call(A)
        if np.ndim(got) != 0 and np.size(got) == 1:
            got = np.reshape(got, ())  # a 1-element array is a fine float
        check.compare("the learning rate", got, 2 / lam_max, mistakes=mistakes)


# ---------------------------------------------------------------- momentum


def momentum_variant(w, dw, v, lr, mu, mistake):
    """(w_next, v_next) of a typical wrong momentum step."""
    if mistake == "ascent":
        v_next = mu * v + lr * dw
        return w + v_next, v_next
    if mistake == "lr_twice":
        v_next = mu * v - lr * dw
        return w + lr * v_next, v_next
    if mistake == "old_velocity":
        return w + v, mu * v - lr * dw
    if mistake == "no_decay":
        v_next = v - lr * dw
        return w + v_next, v_next
    if mistake == "swapped":
        v_next = lr * v - mu * dw
        return w + v_next, v_next
    if mistake == "average":  # the exponential-average form v = mu v + (1 - mu) dw, w -= lr v
        v_next = mu * v + (1 - mu) * dw
        return w - lr * v_next, v_next
    if mistake == "velocity_sign":  # the other sign convention: v = mu v + lr dw, w -= v
        v_next = mu * v + lr * dw
        return w - v_next, v_next
    raise ValueError(f"unknown mistake {mistake!r}")


# Each typical wrong momentum step: (kind, what is wrong and what to do instead).
MOMENTUM_MISTAKES = {
    "ascent": (
        "sign",
        "the parameters climb: the velocity must collect -lr * dw, v_next = mu * v - lr * dw",
    ),
    "lr_twice": (
        "factor",
        "lr is applied twice: v_next already holds the step -lr * dw, so w_next = w + v_next",
    ),
    "old_velocity": (
        "order",
        "w moved with the old velocity v: update v first, then w_next = w + v_next",
    ),
    "no_decay": (
        "missing term",
        "the velocity never decays: multiply the old velocity by mu, v_next = mu * v - lr * dw",
    ),
    "swapped": ("order", "lr and mu are swapped: v_next = mu * v - lr * dw"),
    "average": (
        "formula",
        "that is the exponential-average form v = mu v + (1 - mu) dw, w -= lr v; this course "
        "uses the heavy ball of Polyak (and cs231n): v_next = mu * v - lr * dw, "
        "w_next = w + v_next",
    ),
    "velocity_sign": (
        "sign",
        "the velocity has the opposite sign (v = mu v + lr dw, w -= v): the contract's "
        "velocity is the step itself, v_next = mu * v - lr * dw, w_next = w + v_next",
    ),
}


@stdout_only
def check_momentum_step(momentum_step_fn, shape=(3,), steps=4, lr=0.1, mu=0.9, seed=0):
    """momentum_step(w, dw, v, lr, mu) -> (w_next, v_next), over `steps` steps."""
    w, v, gradient = step_problem(shape, steps, seed)
    inputs = []
    for k in range(steps):
        inputs.append((w, gradient(w, k), v))
        w, v = momentum_step(*inputs[-1], lr, mu)
    expected = [momentum_step(*args, lr, mu) for args in inputs]
    variants = {
        name: [momentum_variant(*args, lr, mu, name) for args in inputs]
        for name in MOMENTUM_MISTAKES
    }
    case = f"w of shape {shape}, {steps} steps from a nonzero velocity, lr = {lr:g}, mu = {mu:g}"
    axes = any_shape(shape)
    probe = Probe(  # the last step's case
        {
            **{name: (value, axes) for name, value in zip(("w", "dw", "v"), inputs[-1])},
            "lr": (lr, ""),
            "mu": (mu, ""),
        },
        in_order,
        momentum_step,
        ("w_next", "v_next"),
        switches=(
            Switch("mu = 0", "the velocity's memory, mu * v, is wrong", {"mu": 0.0}),
            Switch("v = 0", "how the old velocity v enters is wrong", {"v": 0.0}),
        ),
    )
    with Check("momentum_step", momentum_step_fn, case, probe) as check:
        outputs = [
            check.unpack(check.call(w_k, dw_k, v_k, lr, mu), ("w_next", "v_next"), want)
            for (w_k, dw_k, v_k), want in zip(inputs, expected)
        ]
        for index, label in enumerate(("w_next", "v_next")):
            _stacked(
                check,
                label,
                [o[index] for o in outputs],
                [e[index] for e in expected],
                mistakes=_stacked_mistakes(variants, MOMENTUM_MISTAKES, index),
            )


# ---------------------------------------------------------------- Adam


def adam_variant(w, dw, m, v, t, lr, mistake, beta1=0.9, beta2=0.999, eps=1e-8):
    """(w_next, m_next, v_next) of a typical wrong Adam step."""
    m_next = beta1 * m + (1 - beta1) * dw
    v_next = beta2 * v + (1 - beta2) * dw**2
    t_corr = t + 1 if mistake == "t_from_0" else t
    m_hat, v_hat = m_next / (1 - beta1**t_corr), v_next / (1 - beta2**t_corr)
    if mistake == "no_correction":
        m_hat, v_hat = m_next, v_next
    elif mistake == "no_one_minus_beta2":
        v_next = beta2 * v + dw**2
        v_hat = v_next / (1 - beta2**t)
    elif mistake == "no_one_minus_beta1":
        m_next = beta1 * m + dw
        m_hat = m_next / (1 - beta1**t)
    elif mistake == "not_squared":
        v_next = beta2 * v + (1 - beta2) * dw
        v_hat = v_next / (1 - beta2**t)
    elif mistake == "no_sqrt":
        return w - lr * m_hat / (v_hat + eps), m_next, v_next
    elif mistake == "corrected_state":
        return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat
    elif mistake == "ascent":
        return w + lr * m_hat / (np.sqrt(v_hat) + eps), m_next, v_next
    elif mistake != "t_from_0":
        raise ValueError(f"unknown mistake {mistake!r}")
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_next, v_next


# Each typical wrong Adam step: (kind, what is wrong and what to do instead).
ADAM_MISTAKES = {
    "no_correction": (
        "missing term",
        "the bias correction is missing: divide m by 1 - beta1**t and v by 1 - beta2**t "
        "before the step (m and v start at 0, so early on they are too small)",
    ),
    "t_from_0": (
        "formula",
        "the bias correction used beta**(t + 1): t is already the step number counted from 1, "
        "so divide by 1 - beta1**t and 1 - beta2**t",
    ),
    "no_one_minus_beta2": (
        "missing term",
        "v is missing its factor (1 - beta2): v_next = beta2 * v + (1 - beta2) * dw**2",
    ),
    "no_one_minus_beta1": (
        "missing term",
        "m is missing its factor (1 - beta1): m_next = beta1 * m + (1 - beta1) * dw",
    ),
    "not_squared": (
        "formula",
        "v must average the SQUARED gradient: v_next = beta2 * v + (1 - beta2) * dw**2",
    ),
    "no_sqrt": (
        "formula",
        "the step divides by v_hat: divide by its square root, m_hat / (np.sqrt(v_hat) + eps)",
    ),
    "corrected_state": (
        "formula",
        "you returned the bias-corrected m_hat and v_hat: return the running averages m_next "
        "and v_next themselves; the correction is applied afresh at every step",
    ),
    "ascent": (
        "sign",
        "the parameters climb: Adam steps against m_hat, w_next = w - lr * m_hat / ...",
    ),
}

ADAM_NAN_HINT = (
    "is a bias correction 1 - beta**t zero? t is counted from 1, so use beta1**t and beta2**t "
    "(not t - 1); and v, an average of squares, is never negative"
)


@stdout_only
def check_adam_step(adam_step_fn, shape=(3,), steps=4, t0=1, lr=0.01, seed=0):
    """adam_step(w, dw, m, v, t, lr) -> (w_next, m_next, v_next), over `steps` steps from t0.

    With t0 = 1 the moments start at zero, as in training; with a later t0 they start from
    the state that t0 - 1 steps on random gradients leave.
    """
    rng = rng_for(seed + 7)
    w, _, gradient = step_problem(shape, steps, seed)
    m, v = np.zeros(shape), np.zeros(shape)
    for t in range(1, t0):  # the state after t0 - 1 earlier steps
        _, m, v = adam_step(w, rng.normal(size=shape), m, v, t, lr)
    inputs = []
    for k in range(steps):
        inputs.append((w, gradient(w, k), m, v, t0 + k))
        w, m, v = adam_step(*inputs[-1], lr)
    expected = [adam_step(*args, lr) for args in inputs]
    variants = {name: [adam_variant(*args, lr, name) for args in inputs] for name in ADAM_MISTAKES}
    case = f"w of shape {shape}, steps t = {t0} to {t0 + steps - 1}, lr = {lr:g}, default betas"
    axes = any_shape(shape)
    probe = Probe(  # the last step's case
        {
            **{name: (value, axes) for name, value in zip(("w", "dw", "m", "v"), inputs[-1])},
            "t": (inputs[-1][4], ""),
            "lr": (lr, ""),
        },
        in_order,
        adam_step,
        ("w_next", "m_next", "v_next"),
        switches=(
            Switch(
                "t = 10**6, where the bias corrections are 1",
                "the bias correction is wrong",
                {"t": 10**6},
            ),
        ),
    )
    with Check("adam_step", adam_step_fn, case, probe) as check:
        outputs = [
            check.unpack(check.call(*args, lr), ("w_next", "m_next", "v_next"), want)
            for args, want in zip(inputs, expected)
        ]
        # the moments first: a wrong average explains a wrong step
        for index, label in ((1, "m_next"), (2, "v_next"), (0, "w_next")):
            _stacked(
                check,
                label,
                [o[index] for o in outputs],
                [e[index] for e in expected],
                mistakes=_stacked_mistakes(variants, ADAM_MISTAKES, index),
                stable_hint=ADAM_NAN_HINT,
            )


# ---------------------------------------------------------------- gradient clipping


def clip_variant(grads, max_norm, mistake):
    """What a typical wrong clip_gradients returns."""
    norm = global_norm(grads)
    if mistake == "per_array":
        return {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}
    if mistake == "by_value":
        return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}
    if mistake == "always":
        return {k: g * max_norm / norm for k, g in grads.items()}
    if mistake == "sum_of_norms":
        total = sum(np.linalg.norm(g) for g in grads.values())
        return {k: g * min(1.0, max_norm / total) for k, g in grads.items()}
    if mistake == "no_sqrt":
        return {k: g * min(1.0, max_norm / norm**2) for k, g in grads.items()}
    if mistake == "inverted":
        return {k: g * (norm / max_norm if norm > max_norm else 1.0) for k, g in grads.items()}
    if mistake == "unchanged":
        return dict(grads)
    raise ValueError(f"unknown mistake {mistake!r}")


# Each typical wrong clipping: (kind, what is wrong and what to do instead).
CLIP_MISTAKES = {
    "per_array": (
        "formula",
        "each array was clipped by its own norm: compute ONE global norm over all arrays "
        "together and scale them all by the same factor, which keeps the direction",
    ),
    "by_value": (
        "formula",
        "np.clip clips each entry, which changes the direction: scale the whole gradient by "
        "max_norm / norm",
    ),
    "always": (
        "formula",
        "the gradients were scaled although their global norm is below max_norm: leave them "
        "unchanged then (the factor is min(1, max_norm / norm))",
    ),
    "sum_of_norms": (
        "formula",
        "the norm used is the sum of the arrays' norms: the global norm is the square root of "
        "the sum of ALL squared entries",
    ),
    "no_sqrt": ("missing term", "the norm used is the sum of squares without its square root"),
    "inverted": ("formula", "the factor is inverted: scale by max_norm / norm"),
    "unchanged": (
        "missing term",
        "the gradients came back unchanged although their global norm exceeds max_norm: "
        "scale them by max_norm / norm",
    ),
}


def clip_problem(shapes, ratio, seed):
    """A dict of gradients named W1, b1, W2, ... with the given shapes; max_norm is their
    global norm divided by ratio (ratio > 1: clipping is needed)."""
    rng = rng_for(seed)
    names = [f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}" for i in range(len(shapes))]
    grads = {name: rng.normal(scale=2.0, size=shape) for name, shape in zip(names, shapes)}
    return grads, global_norm(grads) / ratio


@stdout_only
def check_clip_gradients(clip_gradients_fn, shapes=((3, 4), (4,), (4, 2)), ratio=3.0, seed=0):
    """clip_gradients(grads, max_norm) -> a dict like grads with global norm at most max_norm."""
    grads, max_norm = clip_problem(shapes, ratio, seed)
    expected = clip_gradients(grads, max_norm)
    variants = {name: clip_variant(grads, max_norm, name) for name in CLIP_MISTAKES}
    where = "above" if ratio > 1 else "below"
    listed = ", ".join(f"{k} {g.shape}" for k, g in grads.items())
    case = f"grads {listed}, global norm {ratio:g} times max_norm ({where} it)"
    with Check("clip_gradients", clip_gradients_fn, case) as check:
        got = check.call(grads, max_norm)
        if not isinstance(got, dict):
            raise CheckFailed(
                f"returned a {type(got).__name__}: return a dict with the keys of grads", "type"
            )
        if set(got) != set(grads):
            missing, extra = sorted(set(grads) - set(got)), sorted(set(got) - set(grads))
            raise CheckFailed(
                f"the dict must have the keys of grads: missing {missing}, unexpected {extra}",
                "type",
            )
        for name, (kind, message) in CLIP_MISTAKES.items():
            if _same_dict(variants[name], got) and not _same_dict(variants[name], expected):
                raise declared(message, kind)
        for key in grads:
            check.compare(f"clipped['{key}']", got[key], expected[key])


def _same_dict(a, b):
    """Whether two dicts of arrays with the same keys hold the same numbers (to rtol 1e-6)."""
    try:
        pairs = [
            (np.asarray(a[k], dtype=np.float64), np.asarray(b[k], dtype=np.float64)) for k in a
        ]
    except (TypeError, ValueError):
        return False
    return all(x.shape == y.shape and np.allclose(x, y, rtol=1e-6, atol=1e-12) for x, y in pairs)
