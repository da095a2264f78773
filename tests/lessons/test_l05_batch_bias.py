"""Lesson 05: per-example and batch gradients against central differences of a real loss, the
sum identities, and where the 1/N lives."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.exercises import batch, checkpoints
from gradlab.exercises.softmax import cross_entropy, one_hot, softmax
from gradlab.inputs import rng_for
from gradlab.numeric import numerical_gradient, rel_error
from tests.conftest import solution_functions

LESSON = "05_batch_bias"
TOL = 1e-8


def linear_softmax_case(seed, N, D, M):
    """A linear softmax classifier on a batch: X, y, W, b and dZ = (P - Y) / N."""
    rng = rng_for(seed)
    X, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
    y = rng.integers(M, size=N)
    dZ = (softmax(X @ W + b) - one_hot(y, M)) / N
    return X, y, W, b, dZ


shapes = {
    "N": st.integers(1, 6),
    "D": st.integers(1, 4),
    "M": st.integers(2, 4),
    "seed": st.integers(0, 99),
}


@settings(max_examples=15, deadline=None)
@given(**shapes)
def test_batch_gradients_match_central_differences_of_the_mean_loss(N, D, M, seed):
    sol = solution_functions(LESSON)
    X, y, W, b, dZ = linear_softmax_case(seed, N, D, M)
    dW = numerical_gradient(lambda W_: cross_entropy(X @ W_ + b, y), W)
    db = numerical_gradient(lambda b_: cross_entropy(X @ W + b_, y), b)
    assert rel_error(sol["batch_weight_grad"](X, dZ), dW) < TOL
    assert rel_error(sol["batch_bias_grad"](dZ), db) < TOL


@settings(max_examples=15, deadline=None)
@given(**shapes)
def test_the_checkpoint_augmented_weight_grad_matches_central_differences(N, D, M, seed):
    """The gradient of W~ = [W; b^T] for the mean loss of the classifier written X~ @ W~: the
    solution's and the reference's; its rows are dW and db."""
    sol = solution_functions(LESSON)
    X, y, W, b, dZ = linear_softmax_case(seed, N, D, M)
    X_tilde = np.hstack([X, np.ones((N, 1))])
    numeric = numerical_gradient(lambda V: cross_entropy(X_tilde @ V, y), np.vstack([W, b]))
    for got in (sol["augmented_weight_grad"](X, dZ), checkpoints.augmented_weight_grad(X, dZ)):
        # a nearly vanished gradient (a confident right answer) is judged absolutely
        assert rel_error(got, numeric) < TOL or np.max(np.abs(got - numeric)) < 1e-10
        assert rel_error(got[-1], sol["batch_bias_grad"](dZ)) < 1e-12
    for mistake in checkpoints.AUGMENTED_MISTAKES if N > 1 else ():
        wrong = checkpoints.augmented_weight_grad(X, dZ, mistake)
        assert rel_error(wrong, checkpoints.augmented_weight_grad(X, dZ)) > 1e-3


@settings(max_examples=10, deadline=None)
@given(**shapes)
def test_each_per_example_gradient_is_its_own_loss_gradient_over_n(N, D, M, seed):
    """G[n] is the gradient of l_n / N, the share of example n in the mean loss."""
    sol = solution_functions(LESSON)
    X, y, W, b, dZ = linear_softmax_case(seed, N, D, M)
    G = sol["per_example_weight_grads"](X, dZ)
    assert G.shape == (N, D, M)
    for n in range(N):
        own = numerical_gradient(
            lambda W_, n=n: cross_entropy(X[n : n + 1] @ W_ + b, y[n : n + 1]), W
        )
        assert rel_error(G[n], own / N) < TOL


@settings(max_examples=20, deadline=None)
@given(**shapes)
def test_per_example_gradients_sum_to_the_batch_gradient(N, D, M, seed):
    sol = solution_functions(LESSON)
    X, dZ = batch.batch_problem(N, D, M, seed)
    G = sol["per_example_weight_grads"](X, dZ)
    assert rel_error(G.sum(axis=0), sol["batch_weight_grad"](X, dZ)) < 1e-14


@settings(max_examples=20, deadline=None)
@given(**shapes)
def test_the_bias_is_a_weight_on_a_constant_input_one(N, D, M, seed):
    """Appending a column of ones to X: the last row of the weight gradient is db."""
    sol = solution_functions(LESSON)
    X, dZ = batch.batch_problem(N, D, M, seed)
    stacked = sol["batch_weight_grad"](np.column_stack([X, np.ones(N)]), dZ)
    assert rel_error(stacked[-1], sol["batch_bias_grad"](dZ)) < 1e-14
    assert rel_error(stacked[:-1], sol["batch_weight_grad"](X, dZ)) < 1e-14


@pytest.mark.parametrize(("N", "D", "M"), [(4, 3, 2), (1, 3, 2), (5, 4, 4)])
def test_trusted_references_agree_with_the_solutions(sol, N, D, M):
    X, dZ = batch.batch_problem(N, D, M, seed=N)
    G = batch.weight_grads_by_example(X, dZ)
    assert rel_error(sol["per_example_weight_grads"](X, dZ), G) < TOL
    assert rel_error(sol["batch_weight_grad"](X, dZ), G.sum(axis=0)) < TOL
    W, b = rng_for(0).normal(size=(D, M)), rng_for(1).normal(size=M)
    assert np.allclose(batch.dense(X, W, b), X @ W + b)


def test_the_mean_loss_gradient_does_not_grow_with_the_batch(sol):
    """Repeating a batch k times leaves the mean-loss gradients unchanged; the sum-loss
    gradients grow k-fold and the 1/N-twice gradients shrink k-fold."""
    X, y, W, b, dZ = linear_softmax_case(7, 5, 3, 3)
    for k in (2, 10):
        Xk, yk = np.tile(X, (k, 1)), np.tile(y, k)
        dZk = (softmax(Xk @ W + b) - one_hot(yk, 3)) / len(yk)
        assert rel_error(sol["batch_bias_grad"](dZk), sol["batch_bias_grad"](dZ)) < 1e-12
        assert rel_error(sol["batch_weight_grad"](Xk, dZk), sol["batch_weight_grad"](X, dZ)) < 1e-12
        summed = sol["batch_bias_grad"](dZk * len(yk))
        assert rel_error(summed, k * sol["batch_bias_grad"](dZ * len(y))) < 1e-12
        twice = sol["batch_bias_grad"](dZk / len(yk))
        assert rel_error(twice, sol["batch_bias_grad"](dZ / len(y)) / k) < 1e-12


def test_solutions_leave_their_inputs_alone(sol):
    X, dZ = batch.batch_problem(4, 3, 2, seed=0)
    X0, dZ0 = X.copy(), dZ.copy()
    sol["per_example_weight_grads"](X, dZ)
    sol["batch_weight_grad"](X, dZ)
    sol["batch_bias_grad"](dZ)
    assert np.array_equal(X, X0) and np.array_equal(dZ, dZ0)
