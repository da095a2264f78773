"""Lesson 05: per-example and batch gradients of a dense layer, and why the bias sums.

dZ is the upstream gradient of Z = X @ W + b and already carries the loss's 1/N. Every
expected value is a central difference (a vector-Jacobian product) of the trusted forward
Z = X @ W + b, taken for each example alone or for the whole batch.
"""

import numpy as np

from gradlab.checking import ONE_EXAMPLE, Check, Factor, Mistake, Probe, Sum, in_order, stdout_only
from gradlab.inputs import rng_for
from gradlab.numeric import numerical_vjp


def dense(X, W, b):
    """Trusted forward of a dense layer: Z = X @ W + b, b broadcast to every row."""
    return X @ W + b


def batch_problem(N, D, M, seed=0):
    """X (N, D), and an upstream gradient dZ (N, M) that carries a mean loss's 1/N."""
    rng = rng_for(seed)
    X = rng.normal(size=(N, D))
    dZ = rng.normal(size=(N, M)) / N
    return X, dZ


def weight_grads_by_example(X, dZ):
    """Per example n, the gradient of sum(dZ[n] * Z[n]) with respect to W."""
    D, M = X.shape[1], dZ.shape[1]
    W, b = np.zeros((D, M)), np.zeros(M)
    return np.stack(
        [
            numerical_vjp(lambda W_, n=n: dense(X[n : n + 1], W_, b), W, dZ[n : n + 1])
            for n in range(X.shape[0])
        ]
    )


def divided_again(N):
    """The factors of dividing by N where dZ already carries the loss's 1/N, or of N too many."""
    return (
        Factor(
            1 / N,
            "1/N",
            "you divided by N twice: dZ already carries the loss's 1/N, "
            "so no further division belongs here",
        ),
        Factor(N, "N", "a factor N too many: dZ already carries the loss's 1/N, leave it there"),
    )


def examples(X, dZ):
    """The Sum of the per-example weight gradients outer(X[n], dZ[n]) over the batch."""
    return Sum([(None, np.outer(x, dz)) for x, dz in zip(X, dZ)], "example")


@stdout_only
def check_per_example_weight_grads(per_example_weight_grads, N=4, D=3, M=2, seed=0):
    """G[n] = outer(X[n], dZ[n]), the weight gradient of example n alone, shape (N, D, M)."""
    X, dZ = batch_problem(N, D, M, seed)
    G = weight_grads_by_example(X, dZ)
    mistakes = [
        Mistake(
            np.swapaxes(G, 1, 2),
            "each outer product is transposed: example n's gradient is "
            "np.outer(X[n], dZ[n]), shape (D, M) like W",
            "transpose",
        ),
        Mistake(
            G.sum(axis=0),
            "you summed over the examples: that is the batch gradient; return one (D, M) "
            "gradient per example, shape (N, D, M)",
            "axis",
        ),
        Mistake(
            np.outer(X, dZ),
            "np.outer flattens its inputs into one long vector each: take the outer product "
            "row by row, e.g. X[:, :, None] * dZ[:, None, :]",
            "shape",
        ),
    ]
    probe = Probe(
        {"X": (X, "N D"), "dZ": (dZ, "N M")},
        in_order,
        lambda X, dZ: X[:, :, None] * dZ[:, None, :],
        ("G",),
        upstream="dZ",
    )
    case = f"X {(N, D)}, dZ {(N, M)}"
    with Check("per_example_weight_grads", per_example_weight_grads, case, probe) as check:
        check.compare(
            "G",
            check.call(X, dZ),
            G,
            mistakes=mistakes,
            factors=divided_again(N),
            axes=("example", "input", "output"),
        )


@stdout_only
def check_batch_weight_grad(batch_weight_grad, N=4, D=3, M=2, seed=0):
    """dW = X.T @ dZ, the sum over the batch of the per-example outer products."""
    X, dZ = batch_problem(N, D, M, seed)
    dW = weight_grads_by_example(X, dZ).sum(axis=0)
    mistakes = [
        Mistake(
            np.outer(X.sum(axis=0), dZ.sum(axis=0)),
            "you multiplied the batch sums of X and dZ: the gradient is the sum of the "
            "products, sum_n outer(X[n], dZ[n]) = X.T @ dZ, not the product of the sums",
        ),
    ]
    probe = Probe(
        {"X": (X, "N D"), "dZ": (dZ, "N M")},
        in_order,
        lambda X, dZ: X.T @ dZ,
        ("dW",),
        upstream="dZ",
        switches=(ONE_EXAMPLE,),
    )
    case = f"X {(N, D)}, dZ {(N, M)}"
    with Check("batch_weight_grad", batch_weight_grad, case, probe) as check:
        check.compare(
            "dW",
            check.call(X, dZ),
            dW,
            mistakes=mistakes,
            factors=divided_again(N),
            sums=examples(X, dZ),
            hints={"transpose": "dW = X.T @ dZ has the shape (D, M) of W"},
        )


@stdout_only
def check_batch_bias_grad(batch_bias_grad, N=4, M=3, seed=0):
    """db = the rows of dZ summed: the bias is broadcast to every example."""
    _, dZ = batch_problem(N, 1, M, seed)
    db = numerical_vjp(lambda b_: dense(np.zeros((N, 1)), np.zeros((1, M)), b_), np.zeros(M), dZ)
    mistakes = [
        Mistake(
            dZ.sum(axis=0, keepdims=True),
            "keepdims=True leaves a (1, M) row: db must have the shape (M,) of b "
            "(b - lr * db would silently turn b into a (1, M) row)",
            "shape",
        ),
        Mistake(
            dZ.sum(axis=1),
            "you summed over axis 1, one number per example: sum over axis 0, the batch",
            "axis",
        ),
        Mistake(
            dZ.sum(),
            "you added up every entry: sum over axis 0 only, one entry per output",
            "axis",
        ),
    ]
    if N > 1:
        mistakes = [
            Mistake(
                dZ.mean(axis=0),
                "you took the mean over the batch: db is the SUM of dZ's rows, because dZ "
                "already carries the loss's 1/N (a mean divides by N twice)",
                "factor",
            ),
            Mistake(
                dZ[0],
                "that is the first example's delta alone (db = delta holds for one example): "
                "with a batch, db sums the rows of dZ",
                "missing term",
            ),
            *mistakes,
        ]
    rows = Sum([(None, row) for row in dZ], "example")
    probe = Probe(
        {"dZ": (dZ, "N M")},
        in_order,
        lambda dZ: dZ.sum(axis=0),
        ("db",),
        upstream="dZ",
        switches=(ONE_EXAMPLE,),
    )
    with Check("batch_bias_grad", batch_bias_grad, f"dZ {(N, M)}", probe) as check:
        check.compare(
            "db", check.call(dZ), db, mistakes=mistakes, factors=divided_again(N), sums=rows
        )
