"""Lesson 03: the solutions' dW against central differences (margins away from the hinge),
the trusted references of gradlab.exercises.linear against the solutions, the dS = N * dW
identity the notebook uses with X = I, square-W diagnoses, and training on the toy data."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.checking import CheckFailed
from gradlab.data.points import blobs
from gradlab.exercises import linear as trusted
from gradlab.inputs import hinge_safe_problem, rng_for
from gradlab.numeric import numerical_gradient, rel_error
from tests.catalogue import l03_linear_classifiers as catalogue
from tests.conftest import solution_functions

LESSON = "03_linear_classifiers"
LOSSES = ("svm_loss", "softmax_loss")
shapes = st.tuples(st.integers(1, 8), st.integers(1, 6), st.integers(2, 6))


def fns():
    return solution_functions(LESSON)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize(
    "N, D, C, reg", [(1, 4, 3, 0.1), (6, 3, 5, 0.0), (7, 4, 4, 0.05), (10, 5, 2, 1.0)]
)
def test_dW_agrees_with_central_differences(name, N, D, C, reg):
    loss_fn = fns()[name]
    W, X, y = hinge_safe_problem(rng_for(N * 100 + D * 10 + C), N, D, C)
    numeric = numerical_gradient(lambda W_: loss_fn(W_, X, y, reg)[0], W)
    assert rel_error(loss_fn(W, X, y, reg)[1], numeric) < 1e-8


@settings(max_examples=25, deadline=None)
@given(shapes, st.sampled_from([0.0, 1e-3, 0.3]), st.integers(0, 2**16))
def test_trusted_references_agree_with_the_solutions(shape, reg, seed):
    N, D, C = shape
    W, X, y = hinge_safe_problem(rng_for(seed), N, D, C, scale=2.0)
    S = X @ W
    svm_loss, dW_svm = fns()["svm_loss"](W, X, y, reg)
    softmax_loss, dW_softmax = fns()["softmax_loss"](W, X, y, reg)
    assert np.isclose(svm_loss, trusted.svm_loss_value(W, X, y, reg), rtol=1e-12)
    assert np.isclose(softmax_loss, trusted.softmax_loss_value(W, X, y, reg), rtol=1e-12)
    assert np.allclose(dW_svm, X.T @ trusted.svm_dS(S, y) / N + 2 * reg * W, atol=1e-12)
    assert np.allclose(dW_softmax, X.T @ trusted.softmax_dS(S, y) / N + 2 * reg * W, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(shapes, st.integers(0, 2**16))
def test_with_the_identity_as_data_dW_is_dS_over_N(shape, seed):
    # the notebook shows dS by calling the losses with X = I, so that the scores are W
    N, _, C = shape
    S, X, y = hinge_safe_problem(rng_for(seed), N, N, C)
    del X
    identity = np.eye(N)
    assert np.allclose(N * fns()["svm_loss"](S, identity, y, 0.0)[1], trusted.svm_dS(S, y))
    assert np.allclose(N * fns()["softmax_loss"](S, identity, y, 0.0)[1], trusted.softmax_dS(S, y))
    # every row of either dS sums to 0: raising all scores of an example changes nothing
    assert np.allclose(trusted.svm_dS(S, y).sum(axis=1), 0)
    assert np.allclose(trusted.softmax_dS(S, y).sum(axis=1), 0)


def test_softmax_loss_is_finite_for_huge_scores():
    rng = rng_for(1)
    W, X, y = rng.normal(scale=1e3, size=(4, 3)), rng.normal(size=(6, 4)), rng.integers(3, size=6)
    loss, dW = fns()["softmax_loss"](W, X, y, 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert np.isclose(loss, trusted.softmax_loss_value(W, X, y, 0.0), rtol=1e-12)


@pytest.mark.parametrize(
    "check, answer",
    [
        (trusted.check_svm_loss, catalogue.svm_dW_transposed),
        (trusted.check_softmax_loss, catalogue.softmax_dW_transposed),
    ],
)
def test_a_transposed_dW_of_a_square_W_is_named(check, answer):
    # a square W gives dW.T the right shape: only the Mistake can name the transpose
    with pytest.raises(CheckFailed, match="dW is transposed"):
        check(answer, N=5, D=4, C=4, reg=0.1, seed=3)


def test_solutions_leave_their_inputs_unchanged():
    W, X, y = hinge_safe_problem(rng_for(2), 5, 4, 3)
    copies = W.copy(), X.copy(), y.copy()
    for name in LOSSES:
        fns()[name](W, X, y, 0.1)
    assert all(np.array_equal(a, b) for a, b in zip(copies, (W, X, y)))


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_descent_on_the_toy_blobs_learns(name):
    loss_fn = fns()[name]
    X, y = blobs(seed=0, n_per_class=30, C=3)
    W = np.zeros((3, 3))
    first, _ = loss_fn(W, X, y, 1e-3)
    for _ in range(150):
        loss, dW = loss_fn(W, X, y, 1e-3)
        W = W - 0.5 * dW
    assert loss < 0.5 * first
    assert np.mean(np.argmax(X @ W, axis=1) == y) > 0.85
