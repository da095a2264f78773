"""Lesson 10: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "10_batchnorm_dropout"


# ---------------------------------------------------------------- batchnorm_forward


@wrong("batchnorm_forward", "the variance is the unbiased one, divided by N - 1", "formula")
def forward_unbiased_variance(x, gamma, beta, eps=1e-5):
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + eps)
    return gamma * x_hat + beta, (x, gamma, beta, eps)


@wrong("batchnorm_forward", "eps is added outside the square root", "formula")
def forward_eps_outside_the_root(x, gamma, beta, eps=1e-5):
    x_hat = (x - x.mean(axis=0)) / (x.std(axis=0) + eps)
    return gamma * x_hat + beta, (x, gamma, beta, eps)


@wrong("batchnorm_forward", "which is layer normalization", "axis")
def forward_normalises_each_example(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta, (x, gamma, beta, eps)


@wrong("batchnorm_forward", "gamma and beta are swapped", "order")
def forward_swaps_scale_and_shift(x, gamma, beta, eps=1e-5):
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return beta * x_hat + gamma, (x, gamma, beta, eps)


@wrong("batchnorm_forward", "eps is not the one passed in", "formula")
def forward_ignores_its_eps(x, gamma, beta, eps=1e-5):
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)
    return gamma * x_hat + beta, (x, gamma, beta, eps)


@wrong("batchnorm_forward", "x - mu was divided by the variance", "formula")
def forward_divides_by_the_variance(x, gamma, beta, eps=1e-5):
    x_hat = (x - x.mean(axis=0)) / (x.var(axis=0) + eps)
    return gamma * x_hat + beta, (x, gamma, beta, eps)


@wrong(
    "batchnorm_forward",
    "the cache must be the tuple (x, gamma, beta, eps) fixed by the course contract, got 5 items",
    "cache",
)
def forward_caches_the_intermediates(x, gamma, beta, eps=1e-5):
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    return gamma * x_hat + beta, (x_hat, sigma, gamma, beta, eps)


@right("batchnorm_forward")
def forward_feature_by_feature(x, gamma, beta, eps=1e-5):
    N, D = x.shape
    out = np.empty((N, D))
    for j in range(D):
        column = x[:, j]
        mu = sum(column) / N
        var = sum((column - mu) ** 2) / N
        out[:, j] = gamma[j] * (column - mu) / (var + eps) ** 0.5 + beta[j]
    return out, (x, gamma, beta, eps)


@right("batchnorm_forward")
def forward_with_the_inverse_standard_deviation(x, gamma, beta, eps=1e-5):
    xc = x - np.mean(x, axis=0, keepdims=True)
    inv_sigma = 1.0 / np.sqrt(np.einsum("nd,nd->d", xc, xc) / x.shape[0] + eps)
    return xc * (gamma * inv_sigma) + beta, [x, gamma, beta, eps]


# ---------------------------------------------------------------- batchnorm_backward


@wrong("batchnorm_backward", "dx: treats the mean and the variance as constants", "missing term")
def backward_with_constant_statistics(dout, cache):
    x, gamma, _, eps = cache
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    return gamma * dout / sigma, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


@wrong("batchnorm_backward", "the path through the mean is missing", "missing term")
def backward_without_the_mean_path(dout, cache):
    x, gamma, _, eps = cache
    N = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dx_hat = gamma * dout
    dx = (N * dx_hat - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * sigma)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


@wrong("batchnorm_backward", "the path through the variance is missing", "missing term")
def backward_without_the_variance_path(dout, cache):
    x, gamma, _, eps = cache
    N = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dx_hat = gamma * dout
    dx = (N * dx_hat - dx_hat.sum(axis=0)) / (N * sigma)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


@wrong("batchnorm_backward", "the variance is the unbiased one, divided by N - 1", "formula")
def backward_with_bessels_correction(dout, cache):
    # the backprop-ninja lecture's formula, for a forward that divides the variance by N - 1
    x, gamma, _, eps = cache
    N = x.shape[0]
    inv_sigma = 1 / np.sqrt(x.var(axis=0, ddof=1) + eps)
    x_hat = (x - x.mean(axis=0)) * inv_sigma
    dx = (
        gamma
        * inv_sigma
        / N
        * (N * dout - dout.sum(axis=0) - N / (N - 1) * x_hat * (dout * x_hat).sum(axis=0))
    )
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


@wrong("batchnorm_backward", "eps is added outside the square root", "formula")
def backward_eps_outside_the_root(dout, cache):
    x, gamma, _, eps = cache
    N = x.shape[0]
    sigma = x.std(axis=0) + eps
    x_hat = (x - x.mean(axis=0)) / sigma
    dx_hat = gamma * dout
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * sigma)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


@wrong("batchnorm_backward", "gamma is missing", "missing term")
def backward_without_gamma(dout, cache):
    x, _, _, eps = cache
    N = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dx = (N * dout - dout.sum(axis=0) - x_hat * (dout * x_hat).sum(axis=0)) / (N * sigma)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


@wrong("batchnorm_backward", "dgamma: is not summed over the batch", "axis")
def backward_unsummed_dgamma(dout, cache):
    x, gamma, _, eps = cache
    N = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dx_hat = gamma * dout
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * sigma)
    return dx, dout * x_hat, dout.sum(axis=0)


@wrong("batchnorm_backward", "you averaged over the batch: gradients there add up", "factor")
def backward_averaged_dbeta(dout, cache):
    x, gamma, _, eps = cache
    N = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dx_hat = gamma * dout
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * sigma)
    return dx, (dout * x_hat).sum(axis=0), dout.mean(axis=0)


@wrong(
    "batchnorm_backward",
    "dx: the path through the mean is missing or wrong, for the columns",
    "formula",
)
def backward_graph_with_the_wrong_sign_of_dmu(dout, cache):
    x, gamma, _, eps = cache
    N = x.shape[0]
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc**2).mean(axis=0)
    sigma = np.sqrt(var + eps)
    dx_hat = gamma * dout
    dxc = dx_hat / sigma
    dsigma = -(dx_hat * xc).sum(axis=0) / sigma**2
    dvar = dsigma / (2 * sigma)
    dxc = dxc + 2 * xc / N * dvar
    dmu = dxc.sum(axis=0)  # the sign of x - mu is lost
    dx = dxc + dmu / N
    return dx, (dout * xc / sigma).sum(axis=0), dout.sum(axis=0)


@right("batchnorm_backward")
def backward_node_by_node(dout, cache):
    x, gamma, _, eps = cache
    N = x.shape[0]
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc**2).sum(axis=0) / N
    sigma = np.sqrt(var + eps)
    inv_sigma = 1 / sigma
    x_hat = xc * inv_sigma
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = gamma * dout
    dxc = dx_hat * inv_sigma
    dinv_sigma = (dx_hat * xc).sum(axis=0)
    dsigma = -dinv_sigma / sigma**2
    dvar = dsigma * 0.5 / sigma
    dxc = dxc + 2 / N * xc * dvar
    dmu = -dxc.sum(axis=0)
    dx = dxc + dmu / N
    return dx, dgamma, dbeta


@right("batchnorm_backward")
def backward_with_the_jacobian_of_every_feature(dout, cache):
    # per feature, dx = J^T dy with the (N, N) Jacobian of out[:, j] with respect to x[:, j]
    x, gamma, _, eps = cache
    N, D = x.shape
    dx, dgamma, dbeta = np.zeros((N, D)), np.zeros(D), np.zeros(D)
    for j in range(D):
        sigma = np.sqrt(x[:, j].var() + eps)
        x_hat = (x[:, j] - x[:, j].mean()) / sigma
        J = gamma[j] / sigma * (np.eye(N) - 1 / N - np.outer(x_hat, x_hat) / N)
        dx[:, j] = J.T @ dout[:, j]
        dgamma[j] = dout[:, j] @ x_hat
        dbeta[j] = dout[:, j].sum()
    return dx, dgamma, dbeta


# ---------------------------------------------------------------- dropout_forward


@wrong("dropout_forward", "the kept units are not divided by keep_prob", "factor")
def dropout_forward_unscaled(x, keep_prob, rng):
    mask = rng.random(x.shape) < keep_prob
    return x * mask, (mask, keep_prob)


@wrong("dropout_forward", "the kept units are multiplied by keep_prob", "factor")
def dropout_forward_scaled_the_old_way(x, keep_prob, rng):
    mask = rng.random(x.shape) < keep_prob
    return x * mask * keep_prob, (mask, keep_prob)


@wrong("dropout_forward", "the mask is inverted", "formula")
def dropout_forward_drops_the_kept_units(x, keep_prob, rng):
    mask = rng.random(x.shape) >= keep_prob
    return x * mask / keep_prob, (mask, keep_prob)


@wrong("dropout_forward", "on the rng passed in (not np.random, not a new generator)", "formula")
def dropout_forward_with_its_own_generator(x, keep_prob, rng):
    mask = np.random.default_rng(0).random(x.shape) < keep_prob
    return x * mask / keep_prob, (mask, keep_prob)


@wrong("dropout_forward", "draw the mask with exactly that call", "formula")
def dropout_forward_with_binomial_draws(x, keep_prob, rng):
    mask = rng.binomial(1, keep_prob, size=x.shape).astype(bool)
    return x * mask / keep_prob, (mask, keep_prob)


@wrong("dropout_forward", "cache item 0 (mask) holds mask / keep_prob", "cache")
def dropout_forward_caches_the_scaled_mask(x, keep_prob, rng):
    mask = (rng.random(x.shape) < keep_prob) / keep_prob
    return x * mask, (mask, keep_prob)


@wrong("dropout_forward", "modified its input `x` in place", "modified input")
def dropout_forward_in_place(x, keep_prob, rng):
    mask = rng.random(x.shape) < keep_prob
    x *= mask / keep_prob
    return x, (mask, keep_prob)


@right("dropout_forward")
def dropout_forward_with_where(x, keep_prob, rng):
    mask = rng.uniform(size=x.shape) < keep_prob  # the same stream as rng.random
    return np.where(mask, x / keep_prob, 0.0), (mask, keep_prob)


@right("dropout_forward")
def dropout_forward_float_mask(x, keep_prob, rng):
    mask = (rng.random(x.shape) < keep_prob).astype(np.float64)
    return x * (mask / keep_prob), (mask, float(keep_prob))


# ---------------------------------------------------------------- dropout_backward


@wrong("dropout_backward", "not divided by keep_prob", "factor")
def dropout_backward_unscaled(dout, cache):
    mask, _ = cache
    return dout * mask


@wrong("dropout_backward", "divided by keep_prob twice", "factor")
def dropout_backward_scaled_twice(dout, cache):
    mask, keep_prob = cache
    scaled = mask / keep_prob
    return dout * scaled / keep_prob


@wrong("dropout_backward", "never a freshly drawn one", "formula")
def dropout_backward_with_a_fresh_mask(dout, cache):
    _, keep_prob = cache
    mask = np.random.default_rng(0).random(dout.shape) < keep_prob
    return dout * mask / keep_prob


@wrong("dropout_backward", "the mask is missing", "missing term")
def dropout_backward_without_the_mask(dout, cache):
    _, keep_prob = cache
    return dout / keep_prob


@wrong("dropout_backward", "the mask is inverted", "formula")
def dropout_backward_inverted_mask(dout, cache):
    mask, keep_prob = cache
    return dout * ~mask / keep_prob


@right("dropout_backward")
def dropout_backward_with_where(dout, cache):
    mask, keep_prob = cache
    return np.where(mask, dout, 0.0) / keep_prob


@right("dropout_backward")
def dropout_backward_element_by_element(dout, cache):
    mask, keep_prob = cache
    dx = np.zeros(dout.shape)
    for index in np.ndindex(dout.shape):
        if mask[index]:
            dx[index] = dout[index] / keep_prob
    return dx


@wrong(
    "batchnorm_forward",
    "out: wrong; the smallest case found where it still is: N=2, D=1",
    "smallest case",
)
def batchnorm_forward_divides_the_mean_only(x, gamma, beta, eps=1e-5):
    x_hat = x - x.mean(axis=0) / np.sqrt(x.var(axis=0) + eps)  # precedence: / before -
    return gamma * x_hat + beta, (x, gamma, beta, eps)


# ---------------------------------------------------------------- batchnorm_forward_mode


@wrong(
    "batchnorm_forward_mode",
    "the running averages were updated with the weights swapped",
    "formula",
)
def forward_mode_with_the_weights_swapped(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param["momentum"]
    mean, var = bn_param["running_mean"], bn_param["running_var"]
    new = dict(bn_param)
    if bn_param["mode"] == "train":
        out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
        new["running_mean"] = (1 - momentum) * mean + momentum * x.mean(axis=0)
        new["running_var"] = (1 - momentum) * var + momentum * x.var(axis=0)
    else:
        out = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return out, new


@wrong(
    "batchnorm_forward_mode", "in test mode out was normalised with the batch statistics", "formula"
)
def forward_mode_with_batch_statistics_at_test_time(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param["momentum"]
    new = dict(bn_param)
    out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
    if bn_param["mode"] == "train":
        new["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * x.mean(axis=0)
        new["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * x.var(axis=0)
    return out, new


@wrong("batchnorm_forward_mode", "modified its input `bn_param` in place", "modified input")
def forward_mode_in_place_as_in_cs231n(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param["momentum"]
    if bn_param["mode"] == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        out = gamma * (x - mu) / np.sqrt(var + eps) + beta
        bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mu
        bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * var
    else:
        out = gamma * (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + eps)
        out = out + beta
    return out, bn_param


@wrong("batchnorm_forward_mode", "modified its input `bn_param` in place", "modified input")
def forward_mode_updates_the_arrays_in_place(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param["momentum"]
    new = dict(bn_param)  # a new dict, but the same arrays
    if bn_param["mode"] == "train":
        out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
        new["running_mean"] *= momentum
        new["running_mean"] += (1 - momentum) * x.mean(axis=0)
        new["running_var"] *= momentum
        new["running_var"] += (1 - momentum) * x.var(axis=0)
    else:
        out = gamma * (x - new["running_mean"]) / np.sqrt(new["running_var"] + eps) + beta
    return out, new


@wrong("batchnorm_forward_mode", "updated with the unbiased batch variance", "formula")
def forward_mode_with_the_unbiased_running_variance(x, gamma, beta, bn_param):
    # PyTorch's choice, not the course's
    eps, momentum = bn_param.get("eps", 1e-5), bn_param["momentum"]
    mean, var = bn_param["running_mean"], bn_param["running_var"]
    new = dict(bn_param)
    if bn_param["mode"] == "train":
        out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
        new["running_mean"] = momentum * mean + (1 - momentum) * x.mean(axis=0)
        new["running_var"] = momentum * var + (1 - momentum) * x.var(axis=0, ddof=1)
    else:
        out = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return out, new


@wrong("batchnorm_forward_mode", "in training mode out was normalised with the running", "formula")
def forward_mode_with_running_statistics_in_training(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param["momentum"]
    mean, var = bn_param["running_mean"], bn_param["running_var"]
    new = dict(bn_param)
    out = gamma * (x - mean) / np.sqrt(var + eps) + beta
    if bn_param["mode"] == "train":
        new["running_mean"] = momentum * mean + (1 - momentum) * x.mean(axis=0)
        new["running_var"] = momentum * var + (1 - momentum) * x.var(axis=0)
    return out, new


@wrong("batchnorm_forward_mode", "eps is not the one in bn_param", "formula")
def forward_mode_ignores_the_eps_of_bn_param(x, gamma, beta, bn_param):
    momentum = bn_param["momentum"]
    mean, var = bn_param["running_mean"], bn_param["running_var"]
    new = dict(bn_param)
    if bn_param["mode"] == "train":
        out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5) + beta
        new["running_mean"] = momentum * mean + (1 - momentum) * x.mean(axis=0)
        new["running_var"] = momentum * var + (1 - momentum) * x.var(axis=0)
    else:
        out = gamma * (x - mean) / np.sqrt(var + 1e-5) + beta
    return out, new


@wrong("batchnorm_forward_mode", "next_bn_param must have the keys of bn_param", "type")
def forward_mode_returns_only_the_running_averages(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param["momentum"]
    mean, var = bn_param["running_mean"], bn_param["running_var"]
    if bn_param["mode"] == "train":
        out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
        mean = momentum * mean + (1 - momentum) * x.mean(axis=0)
        var = momentum * var + (1 - momentum) * x.var(axis=0)
    else:
        out = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return out, {"running_mean": mean, "running_var": var}


@right("batchnorm_forward_mode")
def forward_mode_with_one_normalisation(x, gamma, beta, bn_param):
    # choose the statistics, then normalise once; the new dict is built in one expression
    eps = bn_param.get("eps", 1e-5)
    tau = bn_param["momentum"]
    if bn_param["mode"] == "test":
        mu, var = bn_param["running_mean"], bn_param["running_var"]
        updated = {}
    else:
        mu = np.sum(x, axis=0) / x.shape[0]
        var = np.sum((x - mu) ** 2, axis=0) / x.shape[0]
        updated = {
            "running_mean": tau * bn_param["running_mean"] + (1 - tau) * mu,
            "running_var": tau * bn_param["running_var"] + (1 - tau) * var,
        }
    out = (x - mu) * (gamma / np.sqrt(var + eps)) + beta
    return out, {**bn_param, **updated}
