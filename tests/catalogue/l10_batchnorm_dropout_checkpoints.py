"""Lesson 10's derivation checkpoint, batchnorm_intermediate_grads: typical wrong answers and
correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "10_batchnorm_dropout"


@wrong("batchnorm_intermediate_grads", "gamma is missing", "missing term")
def intermediate_grads_without_gamma(dout, cache):
    x, _, _, eps = cache
    inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
    return dout, -inv_std * dout.sum(axis=0)


@wrong(
    "batchnorm_intermediate_grads", "the factor s = 1 / sqrt(var + eps) is missing", "missing term"
)
def intermediate_grads_without_the_inverse_std(dout, cache):
    gamma = cache[1]
    dx_hat = gamma * dout
    return dx_hat, -dx_hat.sum(axis=0)


@wrong("batchnorm_intermediate_grads", "you averaged over the batch", "factor")
def intermediate_grads_with_a_mean(dout, cache):
    x, gamma, _, eps = cache
    dx_hat = gamma * dout
    return dx_hat, -dx_hat.mean(axis=0) / np.sqrt(x.var(axis=0) + eps)


@wrong("batchnorm_intermediate_grads", "sign", "sign")
def intermediate_grads_with_the_sign_flipped(dout, cache):
    x, gamma, _, eps = cache
    dx_hat = gamma * dout
    return dx_hat, dx_hat.sum(axis=0) / np.sqrt(x.var(axis=0) + eps)


@right("batchnorm_intermediate_grads")
def intermediate_grads_from_the_compact_form(dout, cache):
    x, gamma, _, eps = cache
    N, D = x.shape
    dx_hat = dout * gamma[None, :]
    dmu = np.empty(D)
    for j in range(D):
        std = np.sqrt(np.sum((x[:, j] - x[:, j].mean()) ** 2) / N + eps)
        dmu[j] = -np.sum(dx_hat[:, j]) / std
    return dx_hat, dmu
