import numpy as np

from benchmarks.heldout import mistake

LESSON = "10_batchnorm_dropout"


@mistake(
    "batchnorm_forward",
    "the variance is the unbiased one (divided by N - 1, ddof=1) instead of the biased batch "
    "variance divided by N",
    ("biased", "n - 1", "ddof", "variance"),
)
def batchnorm_forward_unbiased_variance(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    var = x.var(axis=0, ddof=1)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta, (x, gamma, beta, eps)


@mistake(
    "batchnorm_forward",
    "eps is added outside the square root, sqrt(var) + eps, instead of sqrt(var + eps)",
    ("eps", "square root", "sqrt(var + eps)"),
)
def batchnorm_forward_eps_outside_sqrt(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mu) / (np.sqrt(var) + eps)
    return gamma * x_hat + beta, (x, gamma, beta, eps)


@mistake(
    "batchnorm_backward",
    "dx is dx_hat / sigma only: the paths through the batch mean and the batch variance, "
    "which also depend on x, are left out",
    ("batch mean", "variance", "three terms", "depend on x"),
)
def batchnorm_backward_ignores_batch_statistics(dout, cache):
    x, gamma, _, eps = cache
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = gamma * dout / sigma
    return dx, dgamma, dbeta


@mistake(
    "batchnorm_backward",
    "the variance path is missing: dx = (dx_hat - mean(dx_hat)) / sigma keeps the mean's term "
    "but drops the term x_hat * mean(dx_hat * x_hat)",
    ("variance", "x_hat * ", "third term", "dvar"),
)
def batchnorm_backward_misses_variance_path(dout, cache):
    x, gamma, _, eps = cache
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = gamma * dout
    dx = (dx_hat - dx_hat.mean(axis=0)) / sigma
    return dx, dgamma, dbeta


@mistake(
    "batchnorm_backward",
    "the gradients are returned as (dx, dbeta, dgamma): dgamma and dbeta are swapped",
    ("swapped", "order", "dgamma", "dbeta"),
)
def batchnorm_backward_returns_beta_before_gamma(dout, cache):
    x, gamma, _, eps = cache
    N = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = gamma * dout
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * sigma)
    return dx, dbeta, dgamma


@mistake(
    "batchnorm_backward",
    "dx_hat is taken to be dout, forgetting the factor gamma of out = gamma * x_hat + beta",
    ("factor gamma", "gamma * dout", "dx_hat", "missing gamma"),
)
def batchnorm_backward_forgets_gamma(dout, cache):
    x, _, _, eps = cache
    N = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * sigma)
    return dx, dgamma, dbeta


@mistake(
    "dropout_forward",
    "the kept units are not divided by keep_prob (classic, not inverted, dropout), so the "
    "expected output is keep_prob * x",
    ("inverted", "/ keep_prob", "divided by keep_prob", "expected value"),
)
def dropout_forward_not_inverted(x, keep_prob, rng):
    mask = rng.random(x.shape) < keep_prob
    return x * mask, (mask, keep_prob)


@mistake(
    "dropout_forward",
    "the mask keeps a unit where the draw is below 1 - keep_prob, treating keep_prob as the "
    "probability of dropping (the same as the right mask only when keep_prob = 0.5)",
    ("drop probability", "1 - keep_prob", "keep probability", "mask"),
)
def dropout_forward_keep_drop_confused(x, keep_prob, rng):
    mask = rng.random(x.shape) < 1 - keep_prob
    return x * mask / keep_prob, (mask, keep_prob)


@mistake(
    "dropout_forward",
    "one mask of shape (D,) is drawn per feature and shared by every example of the batch, "
    "instead of one draw per unit of x",
    ("x.shape", "per example", "every unit", "mask shape"),
)
def dropout_forward_one_mask_for_the_batch(x, keep_prob, rng):
    mask = rng.random(x.shape[-1]) < keep_prob
    return x * mask / keep_prob, (mask, keep_prob)


@mistake(
    "dropout_backward",
    "the upstream gradient is masked but not divided by keep_prob, although the forward "
    "scaled the kept units",
    ("/ keep_prob", "divided by keep_prob", "inverted", "scale"),
)
def dropout_backward_no_rescale(dout, cache):
    mask, _ = cache
    return dout * mask


@mistake(
    "dropout_backward",
    "the gradient is multiplied by keep_prob instead of divided by it",
    ("divide", "multipl", "/ keep_prob", "times keep_prob"),
)
def dropout_backward_multiplies_keep_prob(dout, cache):
    mask, keep_prob = cache
    return dout * mask * keep_prob


@mistake(
    "dropout_backward",
    "dout *= mask / keep_prob scales the caller's upstream gradient in place and returns it",
    ("in place", "modif", "copy"),
)
def dropout_backward_in_place(dout, cache):
    mask, keep_prob = cache
    dout *= mask / keep_prob
    return dout


@mistake(
    "batchnorm_intermediate_grads",
    "dx_hat = dout: the scale gamma of y = gamma * x_hat + beta is left out of the gradient of "
    "x_hat (and so of dmu)",
    ("gamma", "scale"),
)
def batchnorm_intermediate_grads_without_gamma(dout, cache):
    x, _, _, eps = cache
    s = 1 / np.sqrt(x.var(axis=0) + eps)
    dx_hat = dout
    return dx_hat, -s * dx_hat.sum(axis=0)


@mistake(
    "batchnorm_intermediate_grads",
    "dmu averages over the batch, -s * mean(dx_hat), instead of summing the gradients of the "
    "N copies of the broadcast mean",
    ("sum over the batch", "mean instead", "n times", "1/n"),
)
def batchnorm_intermediate_grads_mean_over_batch(dout, cache):
    x, gamma, _, eps = cache
    s = 1 / np.sqrt(x.var(axis=0) + eps)
    dx_hat = gamma * dout
    return dx_hat, -s * dx_hat.mean(axis=0)


@mistake(
    "batchnorm_intermediate_grads",
    "dmu = -sum(dx_hat): the factor s = 1 / sqrt(var + eps) of x_hat = (x - mu) * s is left "
    "out of the chain rule",
    ("1 / sqrt", "sqrt(var", "inverse standard deviation", "factor s"),
)
def batchnorm_intermediate_grads_dmu_without_scale(dout, cache):
    _, gamma, _, _ = cache
    dx_hat = gamma * dout
    return dx_hat, -dx_hat.sum(axis=0)


@mistake(
    "batchnorm_forward_mode",
    "the weights of the running average are swapped: running <- (1 - momentum) * running + "
    "momentum * batch statistic, so the new batch gets the weight tau meant for the old average",
    ("momentum", "tau", "weight", "running average"),
)
def batchnorm_forward_mode_swapped_momentum(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param["momentum"]
    next_bn_param = dict(bn_param)
    if bn_param["mode"] == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        out = gamma * (x - mu) / np.sqrt(var + eps) + beta
        next_bn_param["running_mean"] = (1 - momentum) * bn_param["running_mean"] + momentum * mu
        next_bn_param["running_var"] = (1 - momentum) * bn_param["running_var"] + momentum * var
    else:
        mu, var = bn_param["running_mean"], bn_param["running_var"]
        out = gamma * (x - mu) / np.sqrt(var + eps) + beta
    return out, next_bn_param


@mistake(
    "batchnorm_forward_mode",
    "the running averages are updated in place, bn_param['running_mean'] *= momentum and so "
    "on, and bn_param itself is returned: the caller's dict and arrays are modified",
    ("in place", "modif", "new dict", "copy"),
)
def batchnorm_forward_mode_updates_in_place(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param["momentum"]
    if bn_param["mode"] == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        out = gamma * (x - mu) / np.sqrt(var + eps) + beta
        bn_param["running_mean"] *= momentum
        bn_param["running_mean"] += (1 - momentum) * mu
        bn_param["running_var"] *= momentum
        bn_param["running_var"] += (1 - momentum) * var
    else:
        mu, var = bn_param["running_mean"], bn_param["running_var"]
        out = gamma * (x - mu) / np.sqrt(var + eps) + beta
    return out, bn_param


@mistake(
    "batchnorm_forward_mode",
    "test mode normalises with the statistics of the test batch, like training mode, instead "
    "of the running averages (which it leaves unchanged)",
    ("running_mean", "running averages", "running mean", "batch statistics"),
)
def batchnorm_forward_mode_test_uses_batch_statistics(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param["momentum"]
    next_bn_param = dict(bn_param)
    mu, var = x.mean(axis=0), x.var(axis=0)
    out = gamma * (x - mu) / np.sqrt(var + eps) + beta
    if bn_param["mode"] == "train":
        next_bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mu
        next_bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * var
    return out, next_bn_param
