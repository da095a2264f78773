import numpy as np

from benchmarks.heldout import mistake

LESSON = "05_batch_bias"


@mistake(
    "per_example_weight_grads",
    "np.einsum('nd,nm->dm') leaves n out of the output, so it sums the outer products over the "
    "batch and returns the (D, M) batch gradient instead of one per example",
    ("(n, d, m)", "per example", "summed over", "per-example"),
)
def per_example_weight_grads_einsum_sums(X, dZ):
    return np.einsum("nd,nm->dm", X, dZ)


@mistake(
    "per_example_weight_grads",
    "each outer product is multiplied by N to 'undo' the mean, giving the gradient of each "
    "example's own loss instead of its contribution to the batch gradient",
    ("1/n", "times n", "factor of n", "n times"),
)
def per_example_weight_grads_undoes_mean(X, dZ):
    N = X.shape[0]
    return N * X[:, :, None] * dZ[:, None, :]


@mistake(
    "per_example_weight_grads",
    "the loop over examples runs range(N - 1), so the last example's outer product stays zero",
    ("last example", "off-by-one", "n - 1", "missing example"),
)
def per_example_weight_grads_skips_last_example(X, dZ):
    N, D = X.shape
    M = dZ.shape[1]
    G = np.zeros((N, D, M))
    for n in range(N - 1):
        G[n] = np.outer(X[n], dZ[n])
    return G


@mistake(
    "batch_weight_grad",
    "in a loop over the examples dW = np.outer(X[n], dZ[n]) overwrites instead of adding, so "
    "only the last example is left",
    ("+=", "accumulat", "overwrit", "last example"),
)
def batch_weight_grad_loop_overwrites(X, dZ):
    dW = np.zeros((X.shape[1], dZ.shape[1]))
    for n in range(X.shape[0]):
        dW = np.outer(X[n], dZ[n])
    return dW


@mistake(
    "batch_weight_grad",
    "the per-example outer products (N, D, M) are summed over axis 1 (the inputs) instead of "
    "axis 0 (the examples)",
    ("axis 1", "axis=1", "wrong axis", "axis 0"),
)
def batch_weight_grad_sums_wrong_axis(X, dZ):
    return np.sum(X[:, :, None] * dZ[:, None, :], axis=1)


@mistake(
    "batch_bias_grad",
    "dZ^T 1_N is written with a column of ones, np.ones((N, 1)), so the result is an (M, 1) "
    "column instead of an (M,) vector",
    ("(m,)", "(m, 1)", "column vector", "shape"),
)
def batch_bias_grad_column_of_ones(dZ):
    return dZ.T @ np.ones((dZ.shape[0], 1))


@mistake(
    "batch_bias_grad",
    "in a loop over the examples db = dZ[n] overwrites instead of adding: only the last "
    "example's delta is returned",
    ("+=", "accumulat", "overwrit", "last example"),
)
def batch_bias_grad_loop_overwrites(dZ):
    db = np.zeros(dZ.shape[1])
    for n in range(dZ.shape[0]):
        db = dZ[n]
    return db


@mistake(
    "batch_bias_grad",
    "np.sum(dZ) without an axis adds up every entry into one number instead of one sum per "
    "output unit",
    ("axis=0", "scalar", "single number", "(m,)"),
)
def batch_bias_grad_sums_everything(dZ):
    return np.sum(dZ)


@mistake(
    "augmented_weight_grad",
    "the bias row is the mean of dZ over the batch instead of its sum, so the 1/N that dZ "
    "already carries is applied twice to the bias's row",
    ("mean", "1/n", "n times", "sum over the batch"),
)
def augmented_weight_grad_bias_row_mean(X, dZ):
    return np.vstack([X.T @ dZ, dZ.mean(axis=0)])


@mistake(
    "augmented_weight_grad",
    "the column of ones is put first, [1 X], so the bias's row comes first and W's rows after "
    "it, instead of W's D rows first and b's row last",
    ("last row", "first row", "order", "column of ones"),
)
def augmented_weight_grad_ones_column_first(X, dZ):
    X_tilde = np.hstack([np.ones((X.shape[0], 1)), X])
    return X_tilde.T @ dZ


@mistake(
    "augmented_weight_grad",
    "the product is dZ^T X~, the transpose (M, D + 1) of X~^T dZ",
    ("transpose", "(d + 1, m)", "x~^t", "x_tilde.t"),
)
def augmented_weight_grad_transposed(X, dZ):
    X_tilde = np.hstack([X, np.ones((X.shape[0], 1))])
    return dZ.T @ X_tilde
