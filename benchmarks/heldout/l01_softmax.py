import numpy as np

from benchmarks.heldout import mistake

LESSON = "01_softmax"


@mistake(
    "softmax",
    "the batch is normalised over axis 0 (each column sums to 1) instead of the last axis; "
    "right for one example, wrong for a batch",
    ("axis 0", "last axis", "axis=-1", "columns"),
)
def softmax_normalises_columns(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=0)


@mistake(
    "softmax",
    "the single largest logit of the whole batch is subtracted instead of each row's maximum, "
    "so for large logits the rows whose maximum is far below it underflow to 0 / 0 = nan",
    ("row's maximum", "each row", "global max", "nan"),
)
def softmax_global_max_shift(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e, axis=-1, keepdims=True)


@mistake(
    "softmax_jacobian",
    "only the diagonal case p_i (1 - p_i) is coded: the off-diagonal entries -p_i p_j are "
    "left at 0",
    ("off-diagonal", "outer product", "-p_i p_j", "p p^t"),
)
def softmax_jacobian_diagonal_only(z):
    e = np.exp(z - np.max(z))
    p = e / e.sum()
    return np.diag(p * (1 - p))


@mistake(
    "softmax_jacobian",
    "p @ p.T is used for the outer product; for a 1-D p it is the scalar sum of p_i^2, "
    "which is subtracted from every entry",
    ("outer product", "np.outer", "inner product", "scalar"),
)
def softmax_jacobian_inner_product(z):
    e = np.exp(z - np.max(z))
    p = e / e.sum()
    return np.diag(p) - p @ p.T


@mistake(
    "softmax_cross_entropy",
    "dz[:, y] -= 1 subtracts 1 in the label column of every example, for every row, instead of "
    "only at each row's own label (dz[np.arange(N), y])",
    ("np.arange", "fancy index", "each row's label", "dz[:, y]"),
)
def softmax_cross_entropy_column_indexing(z, y):
    N = z.shape[0]
    shifted = z - np.max(z, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y])
    dz = np.exp(log_p)
    dz[:, y] -= 1
    return loss, dz / N


@mistake(
    "softmax_cross_entropy",
    "the gradient dz is p - onehot(y) without the 1/N of the mean loss",
    ("1/n", "not divided by n", "factor of n", "n times"),
)
def softmax_cross_entropy_missing_mean(z, y):
    N = z.shape[0]
    shifted = z - np.max(z, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y])
    dz = np.exp(log_p)
    dz[np.arange(N), y] -= 1
    return loss, dz
