"""Lesson 05: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "05_batch_bias"


# ---------------------------------------------------------------- per_example_weight_grads


@wrong("per_example_weight_grads", "each outer product is transposed", "transpose")
def per_example_transposed(X, dZ):
    return X[:, None, :] * dZ[:, :, None]


@wrong("per_example_weight_grads", "you summed over the examples", "axis")
def per_example_summed(X, dZ):
    return X.T @ dZ


@wrong("per_example_weight_grads", "np.outer flattens its inputs", "shape")
def per_example_np_outer(X, dZ):
    return np.outer(X, dZ)


@wrong("per_example_weight_grads", "you divided by N twice", "factor")
def per_example_divided_by_n(X, dZ):
    return X[:, :, None] * dZ[:, None, :] / X.shape[0]


@wrong("per_example_weight_grads", "only the first example matches", "slices")
def per_example_loop_reuses_first_delta(X, dZ):
    G = np.zeros((X.shape[0], X.shape[1], dZ.shape[1]))
    for n in range(X.shape[0]):
        G[n] = np.outer(X[n], dZ[0])
    return G


@right("per_example_weight_grads")
def per_example_loop(X, dZ):
    return np.stack([np.outer(X[n], dZ[n]) for n in range(X.shape[0])])


@right("per_example_weight_grads")
def per_example_einsum(X, dZ):
    return np.einsum("nd,nm->ndm", X, dZ)


@right("per_example_weight_grads")
def per_example_batched_matmul(X, dZ):
    return X[:, :, None] @ dZ[:, None, :]


# ---------------------------------------------------------------- batch_weight_grad


@wrong("batch_weight_grad", "you divided by N twice", "factor")
def batch_weight_mean(X, dZ):
    return X.T @ dZ / X.shape[0]


@wrong("batch_weight_grad", "transpose", "transpose")
def batch_weight_transposed(X, dZ):
    return dZ.T @ X


@wrong("batch_weight_grad", "you multiplied the batch sums of X and dZ", "formula")
def batch_weight_product_of_sums(X, dZ):
    return np.outer(X.sum(axis=0), dZ.sum(axis=0))


@wrong("batch_weight_grad", "holds the contribution of the last example only", "accumulation")
def batch_weight_loop_overwrites(X, dZ):
    dW = np.zeros((X.shape[1], dZ.shape[1]))
    for n in range(X.shape[0]):
        dW = np.outer(X[n], dZ[n])
    return dW


@wrong("batch_weight_grad", "a factor N too many", "factor")
def batch_weight_times_n(X, dZ):
    return X.T @ (dZ * X.shape[0])


@right("batch_weight_grad")
def batch_weight_loop(X, dZ):
    dW = np.zeros((X.shape[1], dZ.shape[1]))
    for n in range(X.shape[0]):
        dW += np.outer(X[n], dZ[n])
    return dW


@right("batch_weight_grad")
def batch_weight_einsum(X, dZ):
    return np.einsum("nd,nm->dm", X, dZ)


@right("batch_weight_grad")
def batch_weight_sum_of_per_example(X, dZ):
    return (X[:, :, None] * dZ[:, None, :]).sum(axis=0)


# ---------------------------------------------------------------- batch_bias_grad


@wrong("batch_bias_grad", "you took the mean over the batch", "factor")
def bias_mean(dZ):
    return dZ.mean(axis=0)


@wrong("batch_bias_grad", "you summed over axis 1", "axis")
def bias_wrong_axis(dZ):
    return dZ.sum(axis=1)


@wrong("batch_bias_grad", "keepdims=True leaves a (1, M) row", "shape")
def bias_keepdims(dZ):
    return dZ.sum(axis=0, keepdims=True)


@wrong("batch_bias_grad", "that is the first example's delta alone", "missing term")
def bias_single_example_formula(dZ):
    return dZ[0]


@wrong("batch_bias_grad", "you added up every entry", "axis")
def bias_total_sum(dZ):
    return np.sum(dZ)


@wrong("batch_bias_grad", "holds the contribution of the last example only", "accumulation")
def bias_loop_overwrites(dZ):
    db = np.zeros(dZ.shape[1])
    for row in dZ:
        db = row
    return db


@right("batch_bias_grad")
def bias_ones_vector(dZ):
    return dZ.T @ np.ones(dZ.shape[0])


@right("batch_bias_grad")
def bias_loop(dZ):
    db = np.zeros(dZ.shape[1])
    for row in dZ:
        db += row
    return db


@right("batch_bias_grad")
def bias_einsum(dZ):
    return np.einsum("nm->m", dZ)


# ---------------------------------------------------------------- general mistakes (issue 10)


@wrong("per_example_weight_grads", "are in the wrong order", "transpose")
def per_example_axes_swapped(X, dZ):
    return np.einsum("nd,nm->dnm", X, dZ)


@wrong("per_example_weight_grads", "is the last example of the expected value only", "slices")
def per_example_loop_without_index(X, dZ):
    for n in range(X.shape[0]):
        G = np.outer(X[n], dZ[n])
    return G


@wrong("batch_weight_grad", "the transpose, reshaped to", "transpose")
def batch_weight_reshaped(X, dZ):
    return (dZ.T @ X).reshape(X.shape[1], dZ.shape[1])


@wrong("batch_weight_grad", "misses the contribution of the last example", "missing term")
def batch_weight_loop_one_short(X, dZ):
    dW = np.zeros((X.shape[1], dZ.shape[1]))
    for n in range(X.shape[0] - 1):
        dW += np.outer(X[n], dZ[n])
    return dW


@wrong("batch_bias_grad", "misses the contribution of the first example", "missing term")
def bias_loop_starts_late(dZ):
    db = np.zeros(dZ.shape[1])
    for n in range(1, dZ.shape[0]):
        db += dZ[n]
    return db


@wrong("batch_bias_grad", "an extra or missing axis of length 1", "shape")
def bias_as_a_column(dZ):
    return dZ.sum(axis=0)[:, None]
