"""Lesson 10: batch normalization in training mode, and inverted dropout.

Conventions of the course contract: a batch x (N, D) is rows; batchnorm normalises every
feature (column) over the batch with its mean and its biased variance, then scales by gamma
and shifts by beta, both (D,). Its cache is (x, gamma, beta, eps): the backward recomputes
the mean, the standard deviation and x_hat from it. Dropout keeps a unit where
`rng.random(x.shape) < keep_prob` and divides what it keeps by keep_prob; its cache is
(mask, keep_prob).

Expected values come from the trusted code below; tests/lessons/test_l10_batchnorm_dropout.py
checks its gradients against central differences. The typical wrong answers are computed by
`batchnorm_forward_variant` and `batchnorm_backward_variant`, so that a check can name them.
"""

import functools

import numpy as np

from gradlab.checking import (
    GENERIC,
    Check,
    CheckFailed,
    Mistake,
    Probe,
    Switch,
    any_shape,
    as_array,
    calls,
    declared,
    simulated,
    stdout_only,
    summed,
)
from gradlab.inputs import away_from_zero, rng_for

DEFAULT_EPS = 1e-5

# Each typical wrong normalisation: (kind, what is wrong and what to do instead).
NORMALISATION_MISTAKES = {
    "unbiased": (
        "formula",
        "the variance is the unbiased one, divided by N - 1: batchnorm normalises with the "
        "biased batch variance, np.mean((x - mu)**2, axis=0) = np.var(x, axis=0)",
    ),
    "eps_outside": (
        "formula",
        "eps is added outside the square root: x_hat = (x - mu) / np.sqrt(var + eps)",
    ),
    "no_eps": ("missing term", "eps is missing: x_hat = (x - mu) / np.sqrt(var + eps)"),
    "default_eps": (
        "formula",
        "eps is not the one passed in: use the argument eps, not the default 1e-5",
    ),
    "variance": (
        "formula",
        "x - mu was divided by the variance: divide by the standard deviation np.sqrt(var + eps)",
    ),
}

# The typical wrong forward passes that are not about the statistics of a feature.
FORWARD_MISTAKES = {
    "layer_norm": (
        "axis",
        "each example was normalised over its features (axis 1), which is layer "
        "normalization: batchnorm normalises each feature over the batch, axis 0",
    ),
    "global": (
        "axis",
        "one mean and one variance for the whole array: batchnorm takes them per feature, "
        "over the batch (axis 0)",
    ),
    "swapped": ("order", "gamma and beta are swapped: out = gamma * x_hat + beta"),
    "no_affine": ("missing term", "the scale and shift are missing: out = gamma * x_hat + beta"),
}

# Each typical wrong path of the backward pass: (kind, what is wrong and what to do instead).
PATH_MISTAKES = {
    "constants": (
        "missing term",
        "treats the mean and the variance as constants (dx = dx_hat / sigma): both depend on "
        "every x_i, so dx also has the terms -sum(dx_hat) and -x_hat * sum(dx_hat * x_hat)",
    ),
    "no_mean_path": (
        "missing term",
        "the path through the mean is missing: dx needs the term "
        "-sum(dx_hat, axis=0) / (N * sigma)",
    ),
    "no_variance_path": (
        "missing term",
        "the path through the variance is missing: dx needs the term "
        "-x_hat * sum(dx_hat * x_hat, axis=0) / (N * sigma)",
    ),
    "no_gamma": (
        "missing term",
        "gamma is missing: out = gamma * x_hat + beta, so dx_hat = gamma * dout",
    ),
}


# ---------------------------------------------------------------- trusted reference code


def batchnorm_forward(x, gamma, beta, eps=DEFAULT_EPS):
    """out = gamma * x_hat + beta with x_hat = (x - mean) / sqrt(var + eps) over axis 0."""
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return gamma * x_hat + beta, (x, gamma, beta, eps)


def batchnorm_backward(dout, cache):
    """(dx, dgamma, dbeta) by the compact formula."""
    x, gamma, _, eps = cache
    N = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dx_hat = gamma * dout
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * sigma)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def dropout_mask(shape, keep_prob, seed):
    """The mask the contract's dropout draws from np.random.default_rng(seed)."""
    return rng_for(seed).random(shape) < keep_prob


# ---------------------------------------------------------------- typical wrong answers


def _statistics(x, eps, mistake=None):
    """(mu, var, sigma) of every feature, right or with one of NORMALISATION_MISTAKES."""
    mu = x.mean(axis=0)
    var = x.var(axis=0, ddof=1 if mistake == "unbiased" else 0)
    if mistake == "eps_outside":
        return mu, var, np.sqrt(var) + eps
    if mistake == "no_eps":
        return mu, var, np.sqrt(var)
    if mistake == "default_eps":
        return mu, var, np.sqrt(var + DEFAULT_EPS)
    if mistake == "variance":
        return mu, var, var + eps
    return mu, var, np.sqrt(var + eps)


def batchnorm_forward_variant(x, gamma, beta, eps, mistake):
    """What batchnorm_forward's out is with one typical mistake.

    Mistakes: the keys of NORMALISATION_MISTAKES, and "layer_norm" (statistics over axis 1),
    "global" (one mean and variance for the whole array), "swapped" (beta * x_hat + gamma),
    "no_affine" (x_hat alone).
    """
    if mistake in ("layer_norm", "global"):
        axis = 1 if mistake == "layer_norm" else None
        mu = x.mean(axis=axis, keepdims=True)
        x_hat = (x - mu) / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
        return gamma * x_hat + beta
    mu, _, sigma = _statistics(x, eps, mistake if mistake in NORMALISATION_MISTAKES else None)
    x_hat = (x - mu) / sigma
    if mistake == "swapped":
        return beta * x_hat + gamma
    if mistake == "no_affine":
        return x_hat
    return gamma * x_hat + beta


def batchnorm_backward_variant(dout, cache, mistake=None, *, graph=False):
    """What batchnorm_backward returns with one typical mistake (None: the right answer).

    Mistakes: the keys of NORMALISATION_MISTAKES (the statistics recomputed wrongly) and of
    PATH_MISTAKES. With graph=False the compact formula is used with the statistics it is
    given; with graph=True the backward goes node by node through the graph, which for a
    wrong normalisation is the exact gradient of that wrong forward.
    """
    x, gamma, _, eps = cache
    N = x.shape[0]
    mu, var, sigma = _statistics(x, eps, mistake if mistake in NORMALISATION_MISTAKES else None)
    x_hat = (x - mu) / sigma
    dbeta, dgamma = dout.sum(axis=0), (dout * x_hat).sum(axis=0)
    dx_hat = dout if mistake == "no_gamma" else gamma * dout
    mean_term = 0.0 if mistake in ("constants", "no_mean_path") else dx_hat.sum(axis=0)
    if mistake in ("constants", "no_variance_path"):
        variance_term = 0.0
    elif graph:  # d sigma / d var of the forward that was used, times d var / d xc
        dsigma = -(dx_hat * (x - mu)).sum(axis=0) / sigma**2
        if mistake == "variance":
            dvar = dsigma
        elif mistake in ("eps_outside", "no_eps"):
            dvar = dsigma / (2 * np.sqrt(var))
        else:
            dvar = dsigma / (2 * sigma)
        ddof = 1 if mistake == "unbiased" else 0
        variance_term = -N * sigma * 2 * (x - mu) / (N - ddof) * dvar
    else:
        variance_term = x_hat * (dx_hat * x_hat).sum(axis=0)
    dx = (N * dx_hat - mean_term - variance_term) / (N * sigma)
    return dx, dgamma, dbeta


# ---------------------------------------------------------------- inputs


def batchnorm_problem(seed, N, D):
    """x (N, D) with a different mean and scale per feature, gamma, beta and dout.

    The feature scales range from 0.03 to 3, so that eps (1e-5) visibly matters for the
    features that barely vary; gamma stays away from 0 so that no path is hidden by it.
    """
    rng = rng_for(seed)
    means = rng.normal(scale=2.0, size=D)
    scales = 10 ** rng.uniform(-1.5, 0.5, size=D)
    x = means + scales * rng.normal(size=(N, D))
    gamma = 1.0 + 0.5 * away_from_zero(rng, D, gap=0.2)
    beta = rng.normal(size=D)
    dout = rng.normal(size=(N, D))
    return x, gamma, beta, dout


def _case(**sizes):
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def batchnorm_inputs(x, gamma, beta, eps):
    return {"x": (x, "N D"), "gamma": (gamma, "D"), "beta": (beta, "D"), "eps": (eps, "")}


# a batch of one example normalises to 0: the smallest batch that shows anything has two
TWO_EXAMPLES = {"N": 2}


def _summed(name, N):
    """The factor 1/N of a parameter gradient averaged over the batch instead of summed."""
    return summed(N, "N", "the batch", f"{name} is shared by all N examples")


# ---------------------------------------------------------------- checks: batchnorm


@stdout_only
def check_batchnorm_forward(batchnorm_forward_fn, N=6, D=4, eps=None, seed=0):
    """batchnorm_forward(x, gamma, beta[, eps]) -> (out, cache (x, gamma, beta, eps)).

    eps=None calls the function without eps, so that its default must be 1e-5.
    """
    x, gamma, beta, _ = batchnorm_problem(seed, N, D)
    used_eps = DEFAULT_EPS if eps is None else eps
    out, _ = batchnorm_forward(x, gamma, beta, used_eps)
    variants = NORMALISATION_MISTAKES | FORWARD_MISTAKES
    if N == 1:  # the unbiased variance of one example is 0 / 0
        variants = {m: v for m, v in variants.items() if m != "unbiased"}
    mistakes = simulated(
        batchnorm_forward_variant, variants, x, gamma, beta, used_eps, names=("out",)
    )
    args = (x, gamma, beta) if eps is None else (x, gamma, beta, eps)
    case = _case(N=N, D=D) + ("" if eps is None else f", eps={eps}")
    probe = Probe(
        batchnorm_inputs(x, gamma, beta, used_eps),
        lambda x, gamma, beta, eps: (x, gamma, beta) if len(args) == 3 else (x, gamma, beta, eps),
        lambda x, gamma, beta, eps=DEFAULT_EPS: batchnorm_forward(x, gamma, beta, eps),
        ("out", None),
        switches=(
            Switch(
                "gamma = 1 and beta = 0",
                "the scale and shift are wrong",
                {"gamma": 1.0, "beta": 0.0},
            ),
        ),
        smallest=TWO_EXAMPLES,
    )
    with Check("batchnorm_forward", batchnorm_forward_fn, case, probe) as check:
        got, cache = check.unpack(check.call(*args), ("out", "cache"), (out, None))
        check.compare("out", got, out, mistakes=mistakes["out"])
        check.compare_cache(
            cache,
            (("x", x), ("gamma", gamma), ("beta", beta), ("eps", used_eps)),
            [Mistake(DEFAULT_EPS, "holds the default 1e-5, not the eps passed in", "cache")],
        )


def batchnorm_backward_mistakes(dout, cache):
    """{output name: [Mistake, ...]} of every typical wrong backward that fits this case."""
    x, _, _, eps = cache
    N = x.shape[0]
    names = ("dx", "dgamma", "dbeta")
    statistics = dict(NORMALISATION_MISTAKES)
    if eps == DEFAULT_EPS:
        del statistics["default_eps"]  # the same as the right answer
    if N == 1:
        statistics = {}  # they divide 0 by 0 for a single example
    found = simulated(
        batchnorm_backward_variant, statistics | PATH_MISTAKES, dout, cache, names=names
    )
    by_graph = functools.partial(batchnorm_backward_variant, graph=True)
    for name, more in simulated(by_graph, statistics, dout, cache, names=names).items():
        found[name] += more
    _, _, sigma = _statistics(x, eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    unsummed = "is not summed over the batch: gamma and beta are shared by all N examples, so "
    found["dgamma"] += [
        Mistake(dout * x_hat, f"{unsummed}dgamma = np.sum(dout * x_hat, axis=0)", "axis"),
        Mistake(
            dout.sum(axis=0),
            "the factor x_hat is missing: dgamma = np.sum(dout * x_hat, axis=0)",
            "missing term",
        ),
        Mistake(
            (dout * x).sum(axis=0),
            "uses x: out = gamma * x_hat + beta, so dgamma = np.sum(dout * x_hat, axis=0)",
            "wrong point",
        ),
    ]
    found["dbeta"] += [
        Mistake(dout, f"{unsummed}dbeta = np.sum(dout, axis=0)", "axis"),
    ]
    return found


def _columns_do_not_sum_to_zero(got):
    """Whether a dx of the right shape has a column whose sum is not 0, as the right one's is."""
    scale = max(1.0, float(np.abs(got).max()))
    return bool(np.any(np.abs(got.sum(axis=0)) > 1e-8 * scale * got.shape[0]))


@stdout_only
def check_batchnorm_backward(batchnorm_backward_fn, N=6, D=4, eps=DEFAULT_EPS, seed=0):
    """batchnorm_backward(dout, cache) with the cache (x, gamma, beta, eps) of a trusted forward."""
    x, gamma, beta, dout = batchnorm_problem(seed, N, D)
    _, cache = batchnorm_forward(x, gamma, beta, eps)
    expected = batchnorm_backward(dout, cache)
    names = ("dx", "dgamma", "dbeta")
    mistakes = batchnorm_backward_mistakes(dout, cache)
    factors = {"dgamma": [_summed("gamma", N)], "dbeta": [_summed("beta", N)]}
    case = _case(N=N, D=D) + ("" if eps == DEFAULT_EPS else f", eps={eps}")
    probe = Probe(
        {**batchnorm_inputs(x, gamma, beta, eps), "dout": (dout, "N D")},
        lambda x, gamma, beta, eps, dout: (dout, (x, gamma, beta, eps)),
        batchnorm_backward,
        names,
        upstream="dout",
        switches=(Switch("gamma = 1", "how gamma enters is wrong", {"gamma": 1.0}),),
        smallest=TWO_EXAMPLES,
    )
    with Check("batchnorm_backward", batchnorm_backward_fn, case, probe) as check:
        grads = check.unpack(check.call(dout, cache), names, expected)
        try:
            check.compare("dx", grads[0], expected[0], mistakes=mistakes["dx"])
        except CheckFailed as failure:
            if failure.kind != GENERIC or not _columns_do_not_sum_to_zero(as_array("dx", grads[0])):
                raise
            raise declared(
                "dx: the path through the mean is missing or wrong, for the columns of your dx "
                "do not sum to 0 (adding a constant to a whole feature changes neither x_hat "
                "nor out, so every column of dx must): dmu = -sum(dxc, axis=0)",
                "formula",
            ) from None
        for name, got, value in zip(names[1:], grads[1:], expected[1:]):
            check.compare(name, got, value, mistakes=mistakes[name], factors=factors[name])


# ---------------------------------------------------------------- checks: dropout


def _same_values(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=0)


def _drop_pattern(label, got, mask):
    """None if got (of mask's shape) is zero exactly where the mask drops a unit, else a
    CheckFailed naming what is wrong with where the zeros are."""
    zero = got == 0
    if np.array_equal(zero, ~mask):
        return None
    if mask.any() and np.array_equal(zero, mask):
        return declared(
            f"the mask is inverted, {label} is zero where the mask keeps a unit and nonzero "
            "where it drops one: True means kept, with probability keep_prob",
            "formula",
        )
    if not zero.any():
        return declared(
            f"{label} has no zeros, nothing was dropped: multiply by the mask", "missing term"
        )
    return CheckFailed(f"{label} is not zero exactly where the mask drops a unit", "formula")


def dropout_forward_mistakes(x, mask, keep_prob):
    """The Mistakes of a dropout forward whose mask is right."""
    return [
        Mistake(
            x * mask,
            "the kept units are not divided by keep_prob: inverted dropout scales them by "
            "1 / keep_prob so that the expected output is x",
            "factor",
        ),
        Mistake(
            x * mask * keep_prob,
            "the kept units are multiplied by keep_prob: divide by it, so that the expected "
            "output is x",
            "factor",
        ),
        Mistake(x * mask / keep_prob**2, "divided by keep_prob twice: once is enough", "factor"),
    ]


@stdout_only
def check_dropout_forward(dropout_forward_fn, shape=(4, 5), keep_prob=0.6, seed=7):
    """dropout_forward(x, keep_prob, rng) with rng = np.random.default_rng(seed), against the
    contract's mask = rng.random(x.shape) < keep_prob for that seed.

    The student's function receives an ndarray, a float and a fresh numpy Generator.
    """
    x = away_from_zero(rng_for(seed + 1000), shape, gap=0.05)
    mask = dropout_mask(shape, keep_prob, seed)
    out = x * mask / keep_prob
    case = f"x of shape {shape}, keep_prob={keep_prob}, rng=np.random.default_rng({seed})"
    probe = Probe(
        {"x": (x, any_shape(shape)), "keep_prob": (keep_prob, "")},
        lambda x, keep_prob: (x, keep_prob, rng_for(seed)),
        lambda x, keep_prob, rng: (x * (rng.random(x.shape) < keep_prob) / keep_prob, None),
        ("out", None),
    )
    with Check("dropout_forward", dropout_forward_fn, case, probe) as check:
        got, cache = check.unpack(
            check.call(x, keep_prob, rng_for(seed)), ("out", "cache"), (out, None)
        )
        got_array = as_array("out", got)
        if got_array.shape == shape:
            failure = _drop_pattern("out", got_array, mask)
            if failure is not None and failure.args[0].endswith("drops a unit"):
                raise declared(
                    "out is not zero exactly where mask = rng.random(x.shape) < keep_prob is "
                    "False for this rng: draw the mask with exactly that call, once, on the rng "
                    "passed in (not np.random, not a new generator)",
                    "formula",
                )
            if failure is not None:
                raise failure
        check.compare("out", got, out, mistakes=dropout_forward_mistakes(x, mask, keep_prob))
        if (
            isinstance(cache, (tuple, list))
            and len(cache) == 2
            and not _same_values(cache[0], mask)
        ):
            for wrong, message in (
                (mask / keep_prob, "holds mask / keep_prob: store the boolean mask itself"),
                (~mask, "is inverted: store mask = rng.random(x.shape) < keep_prob"),
                (out, "holds out: the cache is (mask, keep_prob)"),
            ):
                if _same_values(cache[0], wrong):
                    raise CheckFailed(f"cache item 0 (mask) {message}", "cache")
        check.compare_cache(cache, (("mask", mask), ("keep_prob", keep_prob)))


@stdout_only
def check_dropout_backward(dropout_backward_fn, shape=(4, 5), keep_prob=0.6, seed=7):
    """dropout_backward(dout, cache) with the cache (mask, keep_prob) of a trusted forward."""
    mask = dropout_mask(shape, keep_prob, seed)
    dout = away_from_zero(rng_for(seed + 1000), shape, gap=0.05)
    dx = dout * mask / keep_prob
    mistakes = [
        Mistake(
            dout * mask,
            "not divided by keep_prob: the forward scaled the kept units by 1 / keep_prob, so "
            "their gradient is scaled by it too",
            "factor",
        ),
        Mistake(
            dout * mask / keep_prob**2,
            "divided by keep_prob twice: the mask in the cache is the plain boolean mask, "
            "divide by keep_prob once",
            "factor",
        ),
        Mistake(dout * mask * keep_prob, "multiplied by keep_prob: divide by it", "factor"),
        Mistake(
            dout / keep_prob, "the mask is missing: dropped units get no gradient", "missing term"
        ),
        Mistake(
            mask / keep_prob,
            "the upstream gradient dout is missing: dx = dout * mask / keep_prob",
            "missing term",
        ),
    ]
    case = f"dout of shape {shape}, keep_prob={keep_prob}"
    axes = any_shape(shape)
    probe = Probe(
        {"dout": (dout, axes), "mask": (mask, axes), "keep_prob": (keep_prob, "")},
        lambda dout, mask, keep_prob: (dout, (mask, keep_prob)),
        lambda dout, cache: dout * cache[0] / cache[1],
        ("dx",),
        upstream="dout",
    )
    with Check("dropout_backward", dropout_backward_fn, case, probe) as check:
        got = check.call(dout, (mask, keep_prob))
        got_array = as_array("dx", got)
        foreseen = any(_same_values(got_array, m.output) for m in mistakes)
        if got_array.shape == shape and not foreseen:
            failure = _drop_pattern("dx", got_array, mask)
            if failure is not None and failure.args[0].endswith("drops a unit"):
                raise declared(
                    "dx is not zero exactly where the forward dropped a unit: a dropped unit "
                    "did not affect the loss, so backpropagate through the mask of the cache, "
                    "never a freshly drawn one",
                    "formula",
                )
            if failure is not None:
                raise failure
        check.compare("dx", got, dx, mistakes=mistakes)


# ---------------------------------------------------------------- batchnorm in both modes

DEFAULT_MOMENTUM = 0.9

# Each typical wrong batchnorm_forward_mode: (kind, what is wrong and what to do instead).
MODE_MISTAKES = {
    "swapped_weights": (
        "formula",
        "the running averages were updated with the weights swapped: the old average keeps "
        "the weight momentum, running_mean = momentum * running_mean + (1 - momentum) * mu_B",
    ),
    "replaced": (
        "missing term",
        "the running averages were replaced by the batch statistics: they are averages, "
        "running_mean = momentum * running_mean + (1 - momentum) * mu_B",
    ),
    "not_updated": (
        "missing term",
        "the running averages were not updated in training mode: after the batch, "
        "running_mean = momentum * running_mean + (1 - momentum) * mu_B, and the same for "
        "the variance",
    ),
    "unbiased_running": (
        "formula",
        "running_var was updated with the unbiased batch variance (divided by N - 1): the "
        "course's update uses the biased batch variance sigma^2_B = np.var(x, axis=0) that "
        "normalised the batch",
    ),
    "std_running": (
        "formula",
        "running_var was updated with the batch's standard deviation: it averages the "
        "(biased) batch variance np.var(x, axis=0)",
    ),
    "train_uses_running": (
        "formula",
        "in training mode out was normalised with the running averages: training mode uses "
        "the statistics of the batch, mu_B and sigma^2_B, and only updates the running ones",
    ),
    "train_uses_updated": (
        "formula",
        "in training mode out was normalised with the updated running averages: training "
        "mode uses the statistics of the batch, mu_B and sigma^2_B",
    ),
    "test_uses_batch": (
        "formula",
        "in test mode out was normalised with the batch statistics: test mode uses "
        "running_mean and running_var, so that an example's output does not depend on its batch",
    ),
    "test_updates": (
        "formula",
        "the running averages were updated in test mode: test mode only reads them, "
        "next_bn_param holds them unchanged",
    ),
    "test_no_eps": (
        "missing term",
        "eps is missing in test mode: x_hat = (x - running_mean) / np.sqrt(running_var + eps)",
    ),
    "test_eps_outside": (
        "formula",
        "eps is added outside the square root in test mode: "
        "x_hat = (x - running_mean) / np.sqrt(running_var + eps)",
    ),
    "test_std": (
        "formula",
        "in test mode x - running_mean was divided by running_var + eps: divide by the "
        "standard deviation np.sqrt(running_var + eps)",
    ),
}


def batchnorm_forward_mode_variant(x, gamma, beta, bn_param, mistake=None):
    """(out, next_bn_param) of batchnorm in bn_param["mode"], right or with one of
    MODE_MISTAKES. next_bn_param is a new dict; the inputs are not modified."""
    mode, momentum = bn_param["mode"], bn_param["momentum"]
    eps = bn_param.get("eps", DEFAULT_EPS)
    running_mean, running_var = bn_param["running_mean"], bn_param["running_var"]
    mu, var = x.mean(axis=0), x.var(axis=0)
    var_used = x.var(axis=0, ddof=1) if mistake == "unbiased_running" else var
    if mistake == "std_running":
        var_used = np.sqrt(var)
    keep, new = (
        (1 - momentum, momentum) if mistake == "swapped_weights" else (momentum, 1 - momentum)
    )
    updated_mean = keep * running_mean + new * mu
    updated_var = keep * running_var + new * var_used
    if mistake == "replaced":
        updated_mean, updated_var = mu, var
    if mistake == "not_updated":
        updated_mean, updated_var = running_mean, running_var
    if mode == "train":
        if mistake == "train_uses_running":
            mean, sigma = running_mean, np.sqrt(running_var + eps)
        elif mistake == "train_uses_updated":
            mean, sigma = updated_mean, np.sqrt(updated_var + eps)
        else:
            mean, sigma = mu, np.sqrt(var + eps)
        next_mean, next_var = updated_mean, updated_var
    else:
        sigma = np.sqrt(running_var + eps)
        if mistake == "test_no_eps":
            sigma = np.sqrt(running_var)
        elif mistake == "test_eps_outside":
            sigma = np.sqrt(running_var) + eps
        elif mistake == "test_std":
            sigma = running_var + eps
        mean = running_mean
        if mistake == "test_uses_batch":
            mean, sigma = mu, np.sqrt(var + eps)
        next_mean, next_var = running_mean, running_var
        if mistake == "test_updates":
            next_mean = momentum * running_mean + (1 - momentum) * mu
            next_var = momentum * running_var + (1 - momentum) * var
    out = gamma * (x - mean) / sigma + beta
    next_bn_param = {**bn_param, "running_mean": next_mean.copy(), "running_var": next_var.copy()}
    return out, next_bn_param


def batchnorm_forward_mode(x, gamma, beta, bn_param):
    """Trusted batchnorm in bn_param["mode"] ("train" or "test"): (out, next_bn_param).

    Training mode normalises with the batch mean and the biased batch variance and updates
    running_mean <- momentum * running_mean + (1 - momentum) * mu_B, and running_var the same
    way with sigma^2_B; test mode normalises with running_mean and running_var and keeps them.
    """
    return batchnorm_forward_mode_variant(x, gamma, beta, bn_param)


def mode_problem(seed, N, D):
    """x (N, D), gamma, beta, and running statistics far from the batch's, so that every
    mistake of MODE_MISTAKES changes the answer."""
    x, gamma, beta, _ = batchnorm_problem(seed, N, D)
    rng = rng_for(seed + 500)
    running_mean = x.mean(axis=0) + rng.choice([-1.0, 1.0], size=D) * rng.uniform(0.5, 2.0, D)
    running_var = x.var(axis=0) * rng.uniform(2.0, 4.0, D) + rng.uniform(0.5, 1.0, D)
    return x, gamma, beta, running_mean, running_var


@stdout_only
def check_batchnorm_forward_mode(
    batchnorm_forward_mode_fn, N=6, D=4, mode="train", momentum=DEFAULT_MOMENTUM, eps=None, seed=0
):
    """batchnorm_forward_mode(x, gamma, beta, bn_param) -> (out, next_bn_param).

    bn_param = {"mode", "momentum", "running_mean", "running_var"} and "eps" unless eps is None
    (then the function must use the default 1e-5).
    """
    x, gamma, beta, running_mean, running_var = mode_problem(seed, N, D)

    def bn_param_of(running_mean, running_var, momentum):
        bn_param = {"mode": mode, "momentum": momentum}
        bn_param |= {"running_mean": running_mean, "running_var": running_var}
        return bn_param if eps is None else {**bn_param, "eps": eps}

    bn_param = bn_param_of(running_mean, running_var, momentum)
    out, expected = batchnorm_forward_mode(x, gamma, beta, bn_param)
    if mode == "test":
        variants = {m: v for m, v in MODE_MISTAKES.items() if m.startswith("test_")}
    else:
        variants = {m: v for m, v in MODE_MISTAKES.items() if not m.startswith("test_")}
        if N == 1:  # the unbiased variance of one example is 0 / 0
            del variants["unbiased_running"]
    outputs = {}
    for m in variants:
        with np.errstate(all="ignore"):
            outputs[m] = batchnorm_forward_mode_variant(x, gamma, beta, bn_param, m)
    mistakes = {
        name: [Mistake(get(outputs[m]), message, kind) for m, (kind, message) in variants.items()]
        for name, get in (
            ("out", lambda o: o[0]),
            ("running_mean", lambda o: o[1]["running_mean"]),
            ("running_var", lambda o: o[1]["running_var"]),
        )
    }
    if eps is not None:
        mistakes["out"].append(
            Mistake(
                batchnorm_forward_mode(x, gamma, beta, {**bn_param, "eps": DEFAULT_EPS})[0],
                'eps is not the one in bn_param: eps = bn_param.get("eps", 1e-5)',
                "formula",
            )
        )
    case = f"mode={mode!r}, N={N}, D={D}, momentum={momentum}"
    case += "" if eps is None else f", eps={eps}"
    probe = Probe(
        {
            "x": (x, "N D"),
            "gamma": (gamma, "D"),
            "beta": (beta, "D"),
            "running_mean": (running_mean, "D"),
            "running_var": (running_var, "D"),
            "momentum": (momentum, ""),
        },
        lambda x, gamma, beta, running_mean, running_var, momentum: (
            x,
            gamma,
            beta,
            bn_param_of(running_mean, running_var, momentum),
        ),
        lambda *args: _compared(*batchnorm_forward_mode(*args)),
        ("out", "next_bn_param"),
        valid=lambda running_var, **_: bool(np.all(running_var > 0)),
    )
    with Check("batchnorm_forward_mode", batchnorm_forward_mode_fn, case, probe) as check:
        got_out, got_param = check.unpack(
            check.call(x, gamma, beta, bn_param), ("out", "next_bn_param"), (out, None)
        )
        check.compare("out", got_out, out, mistakes=mistakes["out"])
        if not isinstance(got_param, dict):
            raise CheckFailed(
                f"next_bn_param is a {type(got_param).__name__}: return a new dict with the "
                "keys of bn_param, the running averages updated in training mode",
                "type",
            )
        missing = [key for key in bn_param if key not in got_param]
        if missing:
            raise CheckFailed(
                f"next_bn_param must have the keys of bn_param {list(bn_param)}: missing "
                f"{missing}; start from a copy, dict(bn_param)",
                "type",
            )
        for key in ("mode", "momentum", "eps"):
            if key in bn_param and not _same_setting(got_param[key], bn_param[key]):
                raise CheckFailed(
                    f"next_bn_param[{key!r}] is {got_param[key]!r}, bn_param has "
                    f"{bn_param[key]!r}: only the running averages change",
                    "formula",
                )
        for key in ("running_mean", "running_var"):
            check.compare(
                f"next_bn_param[{key!r}]", got_param[key], expected[key], mistakes=mistakes[key]
            )


def _same_setting(a, b):
    if isinstance(b, str):
        return a == b
    try:
        return bool(np.isclose(float(a), float(b), rtol=1e-12, atol=0))
    except (TypeError, ValueError):
        return False


def _compared(out, next_bn_param):
    """The outputs a Probe compares: out and the running averages (not the mode string)."""
    return out, {key: next_bn_param[key] for key in ("running_mean", "running_var")}


# batchnorm_forward_mode may call batchnorm_forward in training mode
calls(batchnorm_forward_mode=[(batchnorm_forward, check_batchnorm_forward)])
