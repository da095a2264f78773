"""Lesson 04: the solutions' gradients against central differences, the trusted references
against the solutions, the data generator, and a short training run."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.data.points import moons, spirals
from gradlab.exercises import checkpoints, mlp
from gradlab.inputs import away_from_zero, rng_for
from gradlab.numeric import numerical_gradient, numerical_vjp, rel_error
from tests.conftest import solution_functions

LESSON = "04_mlp_backprop"
TOL = 1e-8


def dense_case(seed, N, D, M):
    rng = rng_for(seed)
    return (
        rng.normal(size=(N, D)),
        rng.normal(size=(D, M)),
        rng.normal(size=M),
        rng.normal(size=(N, M)),
    )


# ---------------------------------------------------------------- layers


@settings(max_examples=15, deadline=None)
@given(N=st.integers(1, 5), D=st.integers(1, 5), M=st.integers(1, 5), seed=st.integers(0, 99))
def test_affine_backward_matches_central_differences(N, D, M, seed):
    sol = solution_functions(LESSON)
    x, W, b, dout = dense_case(seed, N, D, M)
    out, cache = sol["affine_forward"](x, W, b)
    dx, dW, db = sol["affine_backward"](dout, cache)
    assert rel_error(out, x @ W + b) < 1e-12
    assert rel_error(dx, numerical_vjp(lambda v: sol["affine_forward"](v, W, b)[0], x, dout)) < TOL
    assert rel_error(dW, numerical_vjp(lambda v: sol["affine_forward"](x, v, b)[0], W, dout)) < TOL
    assert rel_error(db, numerical_vjp(lambda v: sol["affine_forward"](x, W, v)[0], b, dout)) < TOL


def test_affine_cache_is_the_contract_tuple(sol):
    x, W, b, _ = dense_case(0, 3, 4, 2)
    _, cache = sol["affine_forward"](x, W, b)
    assert len(cache) == 3 and all(c is v for c, v in zip(cache, (x, W, b)))


@pytest.mark.parametrize("shape", [(4, 5), (1, 3), (7,)])
def test_sigmoid_pair_matches_central_differences_and_the_trusted_sigmoid(sol, shape):
    rng = rng_for(1)
    x, dout = rng.normal(scale=3, size=shape), rng.normal(size=shape)
    out, cache = sol["sigmoid_forward"](x)
    assert rel_error(out, mlp.sigmoid(x)) < 1e-14
    assert cache is out or np.array_equal(cache, out)
    dx = sol["sigmoid_backward"](dout, cache)
    assert rel_error(dx, numerical_vjp(lambda v: sol["sigmoid_forward"](v)[0], x, dout)) < TOL


@pytest.mark.parametrize("shape", [(4, 5), (1, 3), (5, 5)])
def test_relu_pair_matches_central_differences_away_from_the_kink(sol, shape):
    rng = rng_for(2)
    x, dout = away_from_zero(rng, shape), rng.normal(size=shape)
    out, cache = sol["relu_forward"](x)
    assert np.array_equal(out, mlp.relu(x)) and np.array_equal(cache, x)
    dx = sol["relu_backward"](dout, cache)
    assert rel_error(dx, numerical_vjp(lambda v: sol["relu_forward"](v)[0], x, dout)) < TOL


# ---------------------------------------------------------------- the MLP


@settings(max_examples=12, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 5), min_size=0, max_size=3),
    D=st.integers(1, 4),
    K=st.integers(2, 4),
    N=st.integers(1, 6),
    activation=st.sampled_from(mlp.ACTIVATIONS),
    seed=st.integers(0, 99),
)
def test_mlp_loss_matches_central_differences(hidden, D, K, N, activation, seed):
    sol = solution_functions(LESSON)
    params, X, y = mlp.mlp_problem((D, *hidden, K), N, activation, seed)
    loss, grads = sol["mlp_loss"](params, X, y, activation)
    assert loss == pytest.approx(mlp.mlp_loss_value(params, X, y, activation), rel=1e-12)
    assert grads.keys() == params.keys()
    numeric = mlp.mlp_numerical_grads(params, X, y, activation)
    trusted = mlp.mlp_grads(params, X, y, activation)
    for key in params:
        assert grads[key].shape == params[key].shape
        assert rel_error(grads[key], numeric[key]) < TOL, key
        assert rel_error(grads[key], trusted[key]) < 1e-12, key


@settings(max_examples=12, deadline=None)
@given(
    N=st.integers(1, 5),
    H=st.integers(1, 5),
    M=st.integers(1, 5),
    activation=st.sampled_from(mlp.ACTIVATIONS),
    seed=st.integers(0, 10_000),
)
def test_the_checkpoint_hidden_delta_matches_central_differences(N, H, M, activation, seed):
    """delta_i = dL/dz_i for the upstream delta_{i+1}, by central differences of
    z -> act(z) @ W_next: the solution's and the reference's."""
    sol = solution_functions(LESSON)
    rng = rng_for(seed)
    z = away_from_zero(rng, (N, H), gap=0.1)
    W_next, delta_next = rng.normal(size=(H, M)), rng.normal(size=(N, M))
    numeric = numerical_vjp(lambda v: mlp.activate(v, activation) @ W_next, z, delta_next)
    for found in (
        sol["hidden_delta"](delta_next, W_next, z, activation),
        checkpoints.hidden_delta(delta_next, W_next, z, activation),
    ):
        assert rel_error(found, numeric) < 1e-8


@pytest.mark.parametrize("mistake", checkpoints.HIDDEN_DELTA_MISTAKES)
def test_every_mistake_of_the_checkpoint_changes_delta(mistake):
    rng = rng_for(3)
    z = away_from_zero(rng, (4, 3), gap=0.1)
    W_next, delta_next = rng.normal(size=(3, 3)), rng.normal(size=(4, 3))
    right = checkpoints.hidden_delta(delta_next, W_next, z, "sigmoid")
    wrong = checkpoints.hidden_delta(delta_next, W_next, z, "sigmoid", mistake)
    assert rel_error(wrong, right) > 1e-3


def test_mlp_loss_defaults_to_sigmoid_and_leaves_params_alone(sol):
    params, X, y = mlp.mlp_problem((3, 4, 4, 2), 5, "sigmoid", seed=3)
    before = {k: v.copy() for k, v in params.items()}
    loss, _ = sol["mlp_loss"](params, X, y)
    assert loss == pytest.approx(mlp.mlp_loss_value(params, X, y, "sigmoid"), rel=1e-12)
    assert all(np.array_equal(params[k], before[k]) for k in params)


def test_relu_problems_keep_every_hidden_input_away_from_the_kink():
    for seed in range(20):
        params, X, _ = mlp.mlp_problem((3, 6, 5, 4, 2), 7, "relu", seed)
        z, _ = mlp.mlp_logits(params, X, "relu")
        assert all(np.min(np.abs(zi)) >= mlp.GAP for zi in z[1:-1])


def test_every_mlp_mistake_differs_from_the_right_gradients():
    """Each catalogued wrong recursion really is wrong on the square hidden-test networks."""
    for activation in mlp.ACTIVATIONS:
        params, X, y = mlp.mlp_problem((4, 4, 4, 4), 5, activation, seed=3)
        right = mlp.mlp_grads(params, X, y, activation)
        for name in mlp.MLP_MISTAKES:
            if name == "act_grad_of_a" and activation == "relu":
                continue
            wrong = mlp.mlp_grads(params, X, y, activation, name)
            assert any(not np.allclose(wrong[k], right[k]) for k in right), (name, activation)


def test_the_worked_2_2_2_3_network_composes_the_layers_into_the_recursion(sol):
    """Chaining affine/sigmoid backward passes equals the delta recursion of mlp_loss."""
    params, X, y = mlp.mlp_problem((2, 2, 2, 3), 1, "sigmoid", seed=0)
    z1, c1 = sol["affine_forward"](X, params["W1"], params["b1"])
    a1, ca1 = sol["sigmoid_forward"](z1)
    z2, c2 = sol["affine_forward"](a1, params["W2"], params["b2"])
    a2, ca2 = sol["sigmoid_forward"](z2)
    z3, c3 = sol["affine_forward"](a2, params["W3"], params["b3"])
    delta3 = mlp.softmax(z3) - np.eye(3)[y]
    da2, dW3, db3 = sol["affine_backward"](delta3, c3)
    da1, dW2, db2 = sol["affine_backward"](sol["sigmoid_backward"](da2, ca2), c2)
    _, dW1, db1 = sol["affine_backward"](sol["sigmoid_backward"](da1, ca1), c1)
    _, grads = sol["mlp_loss"](params, X, y, "sigmoid")
    layered = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}
    for key, value in layered.items():
        assert rel_error(value, grads[key]) < 1e-12, key


# ---------------------------------------------------------------- the classic network


@settings(max_examples=15, deadline=None)
@given(d=st.integers(1, 5), q=st.integers(1, 5), l=st.integers(1, 4), seed=st.integers(0, 99))
def test_classic_bp_grads_match_central_differences(d, q, l, seed):
    sol = solution_functions(LESSON)
    args = mlp.classic_problem(d, q, l, seed)
    got = sol["classic_bp_grads"](*args)
    for position, grad in zip((2, 3, 4, 5), got):

        def error_of(v, position=position):
            changed = list(args)
            changed[position] = v
            return mlp.classic_error(*changed)

        assert grad.shape == args[position].shape
        assert rel_error(grad, numerical_gradient(error_of, args[position])) < TOL


def test_thresholds_are_negative_biases(sol):
    """dgamma and dtheta are minus the bias gradients of the same network with c = -threshold."""
    x, y, V, gamma, W, theta = mlp.classic_problem(3, 4, 2, seed=5)
    _, dgamma, _, dtheta = sol["classic_bp_grads"](x, y, V, gamma, W, theta)

    def error_with_biases(c_hidden, c_out):
        b = mlp.sigmoid(x @ V + c_hidden)
        return 0.5 * np.sum((mlp.sigmoid(b @ W + c_out) - y) ** 2)

    dc_hidden = numerical_gradient(lambda c: error_with_biases(c, -theta), -gamma)
    dc_out = numerical_gradient(lambda c: error_with_biases(-gamma, c), -theta)
    assert rel_error(dgamma, -dc_hidden) < TOL
    assert rel_error(dtheta, -dc_out) < TOL


def test_the_seed_typo_of_line_c_gives_wrong_gradients():
    x, y, V, gamma, W, theta = mlp.classic_problem(3, 4, 2, seed=0)
    b, yhat = mlp.classic_forward(x, V, gamma, W, theta)
    g = (yhat - y) * yhat * (1 - yhat)
    typo = np.outer(x, (W @ g) * b * (1 - (x @ V - gamma)))
    numeric = numerical_gradient(lambda v: mlp.classic_error(x, y, v, gamma, W, theta), V)
    assert rel_error(typo, numeric) > 1e-2


# ---------------------------------------------------------------- data and training


@pytest.mark.parametrize("make", [spirals, moons])
def test_point_sets_are_deterministic_float64_and_balanced(make):
    X, y = make(seed=4)
    X2, y2 = make(seed=4)
    assert X.dtype == np.float64 and X.ndim == 2 and X.shape[1] == 2 and y.shape == (len(X),)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    counts = np.bincount(y)
    assert np.all(counts == counts[0])
    assert not np.array_equal(y, np.sort(y)), "shuffled"
    assert not np.array_equal(make(seed=5)[0], X)


def test_spirals_sizes():
    X, y = spirals(n_per_class=50, classes=4)
    assert X.shape == (200, 2) and set(y) == {0, 1, 2, 3}
    assert np.all(np.linalg.norm(X, axis=1) <= 1.0 + 1e-12)


def test_training_with_the_solution_gradients_separates_the_spirals(sol):
    X, y = spirals(seed=0)
    rng = rng_for(0)
    dims = (2, 16, 16, 3)
    params = {}
    for i in range(1, len(dims)):
        params[f"W{i}"] = rng.normal(scale=np.sqrt(2 / dims[i - 1]), size=(dims[i - 1], dims[i]))
        params[f"b{i}"] = np.zeros(dims[i])
    for _ in range(400):
        _, grads = sol["mlp_loss"](params, X, y, "tanh")
        params = {k: params[k] - 1.0 * grads[k] for k in params}
    z, _ = mlp.mlp_logits(params, X, "tanh")
    assert np.mean(np.argmax(z[-1], axis=1) == y) > 0.95
