"""Lesson 01: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "01_softmax"


@wrong("softmax", "NaN or inf", "instability")
def softmax_without_max_shift(z):
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


@wrong("softmax", "NaN or inf", "instability")
def softmax_shift_by_global_max(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e, axis=-1, keepdims=True)


@wrong("softmax", "normalised over axis 0", "axis")
def softmax_over_columns(z):
    e = np.exp(z - np.max(z, axis=0))
    return e / np.sum(e, axis=0)


@wrong("softmax", "keepdims=True", "error")
def softmax_without_keepdims(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1)


@wrong("softmax", "modified its input `z` in place", "modified input")
def softmax_in_place(z):
    z -= np.max(z, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


@right("softmax")
def softmax_loop(z):
    z2 = np.atleast_2d(z)
    p = np.empty_like(z2)
    for i, row in enumerate(z2):
        e = np.exp(row - row.max())
        p[i] = e / e.sum()
    return p.reshape(z.shape)


@right("softmax")
def softmax_via_logsumexp(z):
    m = np.max(z, axis=-1, keepdims=True)
    return np.exp(z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))


@wrong("softmax_jacobian", "only the diagonal is right", "missing term")
def softmax_jacobian_diagonal_only(z):
    e = np.exp(z - z.max())
    p = e / e.sum()
    return np.diag(p * (1 - p))


@wrong("softmax_jacobian", "times -1", "sign")
def softmax_jacobian_flipped(z):
    e = np.exp(z - z.max())
    p = e / e.sum()
    return np.outer(p, p) - np.diag(p)


@wrong("softmax_jacobian", "the diagonal misses its p_i term", "missing term")
def softmax_jacobian_outer_only(z):
    e = np.exp(z - z.max())
    p = e / e.sum()
    return -np.outer(p, p)


@wrong("softmax_jacobian", "not -p_i", "formula")
def softmax_jacobian_row_broadcast(z):
    e = np.exp(z - z.max())
    p = e / e.sum()
    return np.diag(p) - p[:, None]


@right("softmax_jacobian")
def softmax_jacobian_loops(z):
    e = np.exp(z - z.max())
    p = e / e.sum()
    K = len(z)
    J = np.zeros((K, K))
    for i in range(K):
        for j in range(K):
            J[i, j] = p[i] * ((i == j) - p[j])
    return J


@right("softmax_jacobian")
def softmax_jacobian_einsum(z):
    e = np.exp(z - z.max())
    p = e / e.sum()
    return np.einsum("i,ij->ij", p, np.eye(len(z)) - p[None, :])


@wrong("softmax_cross_entropy", "did you forget to divide by the batch size N?", "factor")
def sce_without_mean_in_gradient(z, y):
    N = z.shape[0]
    s = z - z.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    dz = np.exp(log_p)
    dz[np.arange(N), y] -= 1
    return -log_p[np.arange(N), y].mean(), dz


@wrong("softmax_cross_entropy", "loss is the expected value times 4 = N", "factor")
def sce_summed_loss(z, y):
    N = z.shape[0]
    s = z - z.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    dz = np.exp(log_p)
    dz[np.arange(N), y] -= 1
    return -log_p[np.arange(N), y].sum(), dz / N


@wrong("softmax_cross_entropy", "raised IndexError", "error")
def sce_rows_minus_one(z, y):
    N = z.shape[0]
    s = z - z.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    p[y] -= 1
    return -log_p[np.arange(N), y].mean(), p / N


@wrong("softmax_cross_entropy", "compute log p as z - logsumexp(z)", "instability")
def sce_log_of_softmax(z, y):
    N = z.shape[0]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    dz = p.copy()
    dz[np.arange(N), y] -= 1
    return -np.log(p[np.arange(N), y]).mean(), dz / N


@wrong("softmax_cross_entropy", "times -1", "sign")
def sce_flipped_gradient(z, y):
    N = z.shape[0]
    s = z - z.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    dz = np.exp(log_p)
    dz[np.arange(N), y] -= 1
    return -log_p[np.arange(N), y].mean(), -dz / N


@right("softmax_cross_entropy")
def sce_one_hot_matrix(z, y):
    N, K = z.shape
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    Y = np.eye(K)[y]
    loss = np.mean(lse - np.sum(Y * z, axis=1))
    return loss, (np.exp(z - m) / np.exp(z - m).sum(axis=1, keepdims=True) - Y) / N


@right("softmax_cross_entropy")
def sce_loop(z, y):
    N = z.shape[0]
    loss = 0.0
    dz = np.zeros_like(z)
    for i in range(N):
        e = np.exp(z[i] - z[i].max())
        p = e / e.sum()
        loss -= (z[i, y[i]] - z[i].max()) - np.log(e.sum())
        dz[i] = p
        dz[i, y[i]] -= 1
    return loss / N, dz / N


# ---------------------------------------------------------------- general mistakes (issue 10)


@wrong("softmax", "softmax(z) is the expected value times 5", "factor")
def softmax_divided_by_the_mean(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.mean(e, axis=-1, keepdims=True)


@wrong("softmax", "is the last example of the expected value only", "slices")
def softmax_returns_the_last_row(z):
    if z.ndim == 1:
        e = np.exp(z - z.max())
        return e / e.sum()
    for row in z:
        e = np.exp(row - row.max())
        p = e / e.sum()
    return p


@wrong("softmax_jacobian", "at z instead of", "wrong point")
def softmax_jacobian_of_the_logits(z):
    return np.diag(z) - np.outer(z, z)


@wrong("softmax_jacobian", "p @ p is a number", "formula")
def softmax_jacobian_dot_not_outer(z):
    e = np.exp(z - z.max())
    p = e / e.sum()
    return np.diag(p) - p @ p


@wrong("softmax_cross_entropy", "summed over axis 0 it is right", "axis")
def sce_loss_per_example(z, y):
    N = z.shape[0]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]) / N
    dz = p.copy()
    dz[np.arange(N), y] -= 1
    return loss, dz / N


@wrong("softmax_cross_entropy", "loss is the expected value times 0.2 = 1/K", "factor")
def sce_mean_over_every_entry(z, y):
    N, K = z.shape
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    Y = np.zeros((N, K))
    Y[np.arange(N), y] = 1
    loss = -np.mean(Y * log_p)
    return loss, (np.exp(log_p) - Y) / N


@wrong("softmax_cross_entropy", "dz is an array of integers where floats belong", "dtype")
def softmax_cross_entropy_integer_dz(z, y):
    N = len(y)
    shifted = z - z.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    dz = np.zeros_like(y, shape=z.shape)  # y's integer dtype: every entry is truncated to 0
    dz[:] = (p - np.eye(z.shape[1])[y]) / N
    return -np.mean(np.log(p[np.arange(N), y])), dz
