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
