"""Lesson 12: the solution's gradients against central differences, the trusted references
against the solutions, the digits data, the training run the lesson promises (at least 95%
validation accuracy in under 30 s on one core) and the speed of the self-checks."""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.notebooks import source_notebook
from gradlab.compare import rel_error
from gradlab.data import digits as digits_module
from gradlab.exercises import capstone, checkpoints
from gradlab.numeric import numerical_gradient
from gradlab.tools.conv import conv_forward_fast
from gradlab.tools.layers import max_pool_forward_fast
from tests.conftest import solution_functions

LESSON = "12_capstone"
TOL = 1e-8


def agree(got, expected):
    """~1e-8 relative error; a gradient that is nearly zero is judged absolutely, since the
    rounding error of a central difference, eps * |loss| / h, is about 1e-11 here."""
    return rel_error(got, expected) < TOL or np.max(np.abs(got - expected)) < 1e-9


# ---------------------------------------------------------------- cnn_loss


@settings(max_examples=10, deadline=None)
@given(
    N=st.integers(1, 5),
    F=st.integers(1, 4),
    M=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_cnn_loss_matches_central_differences_of_itself(N, F, M, seed):
    sol = solution_functions(LESSON)
    params, X, y = capstone.cnn_problem(N, F, M, seed)
    _, grads = sol["cnn_loss"](params, X, y)
    assert grads.keys() == params.keys()
    for name, value in params.items():

        def loss_of(v, name=name):
            return sol["cnn_loss"]({**params, name: v}, X, y)[0]

        assert grads[name].shape == value.shape
        assert agree(grads[name], numerical_gradient(loss_of, value)), name


@settings(max_examples=10, deadline=None)
@given(N=st.integers(1, 5), F=st.integers(1, 4), M=st.integers(1, 6), seed=st.integers(0, 999))
def test_trusted_cnn_loss_agrees_with_the_solution(N, F, M, seed):
    sol = solution_functions(LESSON)
    params, X, y = capstone.cnn_problem(N, F, M, seed)
    np.testing.assert_allclose(
        sol["cnn_loss"](params, X), capstone.cnn_loss(params, X), rtol=1e-12, atol=1e-14
    )
    loss, grads = sol["cnn_loss"](params, X, y)
    trusted_loss, trusted = capstone.cnn_loss(params, X, y)
    assert loss == pytest.approx(trusted_loss, rel=1e-13)
    assert loss == pytest.approx(capstone.cnn_loss_value(params, X, y), rel=1e-13)
    for name in params:
        np.testing.assert_allclose(grads[name], trusted[name], rtol=1e-11, atol=1e-15)


@settings(max_examples=10, deadline=None)
@given(N=st.integers(1, 5), K=st.integers(1, 16), M=st.integers(1, 6), seed=st.integers(0, 999))
def test_the_checkpoint_features_grad_matches_central_differences(N, K, M, seed):
    """df of the solution and of the reference against central differences of the head's
    loss; the head is the trusted capstone network's, from its flattened pooled maps."""
    sol = solution_functions(LESSON)
    f, y, W2, b2, W3, b3 = checkpoints.features_problem(seed, N, K, M)
    numeric = numerical_gradient(lambda v: checkpoints.head_loss(v, y, W2, b2, W3, b3), f)
    for got in (
        sol["features_grad"](f, y, W2, b2, W3, b3),
        checkpoints.features_grad(f, y, W2, b2, W3, b3),
    ):
        assert rel_error(got, numeric) < 1e-8


@pytest.mark.parametrize("mistake", checkpoints.FEATURES_MISTAKES)
def test_every_mistake_of_the_checkpoint_changes_df(mistake):
    problem = checkpoints.features_problem(0, 4, 8, 5)
    right = checkpoints.features_grad(*problem)
    assert rel_error(checkpoints.features_grad(*problem, mistake), right) > 1e-3


def test_the_head_loss_is_the_capstones_loss_from_its_flattened_pooled_maps():
    params, X, y = capstone.cnn_problem(3, 2, 4, seed=0)
    z1, _ = conv_forward_fast(X, params["W1"], params["b1"], capstone.CONV_PARAM)
    pooled, _ = max_pool_forward_fast(np.maximum(z1, 0), capstone.POOL_PARAM)
    head = [params[name] for name in ("W2", "b2", "W3", "b3")]
    loss = checkpoints.head_loss(pooled.reshape(3, -1), y, *head)
    assert loss == pytest.approx(capstone.cnn_loss(params, X, y)[0], rel=1e-12)


def test_the_expected_gradients_of_the_check_are_the_analytic_ones():
    params, X, y = capstone.cnn_problem(4, 3, 5, seed=0)
    numeric = capstone.cnn_numerical_grads(params, X, y)
    _, analytic = capstone.cnn_loss(params, X, y)
    for name in params:
        assert agree(analytic[name], numeric[name]), name


def test_the_input_gradient_of_the_interactive_figure(sol):
    """dL/dX by central differences of cnn_loss equals the convolution backward's dx."""
    params, X, y = capstone.cnn_problem(2, 3, 5, seed=4)
    a1, conv_cache = capstone.conv_forward_fast(X, params["W1"], params["b1"], capstone.CONV_PARAM)
    h1 = np.maximum(a1, 0)
    pooled, pool_cache = capstone.max_pool_forward_fast(h1, capstone.POOL_PARAM)
    a2 = pooled.reshape(2, -1) @ params["W2"] + params["b2"]
    scores = np.maximum(a2, 0) @ params["W3"] + params["b3"]
    _, dscores = capstone.softmax_loss(scores, y)
    da2 = (dscores @ params["W3"].T) * (a2 > 0)
    dh1 = capstone.max_pool_backward_fast((da2 @ params["W2"].T).reshape(pooled.shape), pool_cache)
    dx, _, _ = capstone.conv_backward_fast(dh1 * (a1 > 0), conv_cache)
    numeric = numerical_gradient(lambda image: sol["cnn_loss"](params, image, y)[0], X)
    assert agree(dx, numeric)


def test_the_saliency_maps_one_backward_pass_matches_central_differences(sol):
    """The lesson's input_gradient (the student's features_grad, then the layers below it)
    against central differences of cnn_loss, away from kinks and ties."""
    namespace = dict(sol)
    cells = source_notebook(LESSON).cells
    (source,) = [c.source for c in cells if "def input_gradient" in c.source]
    exec(source.split("\n\n\nfirst = ")[0], namespace)
    params, X, y = capstone.cnn_problem(2, 3, 5, seed=5)
    numeric = numerical_gradient(lambda image: sol["cnn_loss"](params, image, y)[0], X)
    assert agree(namespace["input_gradient"](params, X, y), numeric)


def test_the_lessons_init_params_is_the_trusted_one(sol):
    namespace = dict(sol)
    for needle in ("X_train, y_train, X_val, y_val, X_test, y_test = digits()", "def init_params"):
        (source,) = [c.source for c in source_notebook(LESSON).cells if needle in c.source]
        exec(source, namespace)
    ours, theirs = namespace["init_params"](16, 64, seed=3), capstone.init_params(16, 64, seed=3)
    assert list(ours) == list(theirs)
    for name in ours:
        np.testing.assert_array_equal(ours[name], theirs[name])


def test_the_gradient_check_problems_stay_away_from_every_kink():
    for seed in range(10):
        params, X, _ = capstone.cnn_problem(4, 3, 5, seed)
        assert capstone._safe(params, X)


@pytest.mark.parametrize("mistake", [*capstone.FORWARD_MISTAKES, *capstone.BACKWARD_MISTAKES])
def test_every_cnn_mistake_differs_from_the_right_answer(mistake):
    params, X, y = capstone.cnn_problem(4, 3, 5, seed=0)
    if mistake in capstone.FORWARD_MISTAKES:
        right, wrong = (
            capstone.cnn_loss(params, X),
            capstone.cnn_variant(params, X, mistake=mistake),
        )
        assert not np.allclose(right, wrong)
    else:
        _, right = capstone.cnn_loss(params, X, y)
        _, wrong = capstone.cnn_variant(params, X, y, mistake=mistake)
        assert any(not np.allclose(right[k], wrong[k]) for k in right)


@pytest.mark.parametrize("mistake", list(capstone.REG_MISTAKES))
def test_every_regularisation_mistake_differs_from_the_right_answer(mistake):
    params, X, y = capstone.cnn_problem(4, 3, 5, seed=0)
    loss, right = capstone.cnn_loss(params, X, y, 0.1)
    wrong_loss, wrong = capstone.cnn_variant(params, X, y, 0.1, mistake)
    assert wrong_loss != pytest.approx(loss) or any(
        not np.allclose(right[k], wrong[k]) for k in right
    )


@pytest.mark.parametrize("reg", [0.0, 0.05, 1.0])
def test_the_regularised_solution_matches_the_reference_and_its_central_differences(sol, reg):
    params, X, y = capstone.cnn_problem(3, 2, 4, seed=5)
    loss, grads = sol["cnn_loss"](params, X, y, reg)
    trusted_loss, trusted = capstone.cnn_loss(params, X, y, reg)
    assert loss == pytest.approx(trusted_loss, rel=1e-12)
    assert loss == pytest.approx(capstone.cnn_loss_value(params, X, y, reg), rel=1e-12)
    numeric = capstone.cnn_numerical_grads(params, X, y, reg)
    for name in capstone.PARAM_NAMES:
        assert rel_error(grads[name], trusted[name]) < 1e-10
        assert rel_error(grads[name], numeric[name]) < 1e-6
    unregularised = capstone.cnn_loss(params, X, y)[1]
    for name in ("b1", "b2", "b3"):  # the biases are not regularised
        assert np.allclose(grads[name], unregularised[name], rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- train


@pytest.mark.parametrize(
    "n_train, batch_size, epochs, seed", [(40, 16, 3, 0), (32, 8, 2, 1), (20, 32, 2, 2)]
)
def test_train_replays_the_trusted_run_and_leaves_params_alone(
    sol, n_train, batch_size, epochs, seed
):
    params, data = capstone.train_problem(n_train, 20, 2, 8, seed)
    before = {k: v.copy() for k, v in params.items()}
    trained, history = sol["train"](params, data, epochs, batch_size, 0.01, seed)
    expected_params, expected = capstone.train(params, data, epochs, batch_size, 0.01, seed)
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
        np.testing.assert_allclose(trained[key], expected_params[key], rtol=1e-10, atol=1e-13)
    for key in capstone.HISTORY_KEYS:
        assert len(history[key]) == epochs
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-10)


@pytest.mark.parametrize("mistake", [*capstone.TRAIN_MISTAKES, "t_from_0"])
def test_every_training_mistake_changes_the_run(mistake):
    params, data = capstone.train_problem(40, 20, 2, 8, seed=0)
    _, right = capstone.train(params, data, 3, 16, 0.01, 0)
    with np.errstate(all="ignore"):
        _, wrong = capstone.train_variant(params, data, 3, 16, 0.01, 0, mistake)
    assert not np.allclose(right["loss"], wrong["loss"], equal_nan=False)


def test_the_lessons_training_run_reaches_95_percent(sol):
    """The hyperparameters of Section 6 (how long it takes is measured by
    benchmarks/notebook_times.py, not asserted here)."""
    X_train, y_train, X_val, y_val, X_test, y_test = digits_module.digits()
    start = time.perf_counter()
    params, history = sol["train"](
        capstone.init_params(16, 64, seed=0), (X_train, y_train, X_val, y_val), 15, 32, 0.005, 0
    )
    seconds = time.perf_counter() - start
    test_accuracy = np.mean(np.argmax(sol["cnn_loss"](params, X_test), axis=1) == y_test)
    print(
        f"trained in {seconds:.1f} s: validation {history['val_acc'][-1]:.1%}, "
        f"test {test_accuracy:.1%}"
    )
    assert history["val_acc"][-1] >= 0.95
    assert test_accuracy >= 0.95


# ---------------------------------------------------------------- the data


def test_the_digits_are_the_fixed_split_of_1797_images():
    X_train, y_train, X_val, y_val, X_test, y_test = digits_module.digits()
    assert [len(X_train), len(X_val), len(X_test)] == [1197, 300, 300]
    for X, y in ((X_train, y_train), (X_val, y_val), (X_test, y_test)):
        assert X.dtype == np.float64 and X.shape[1:] == (1, 8, 8)
        assert y.dtype == np.int64 and y.shape == (len(X),)
        assert X.min() == 0.0 and X.max() == 1.0
        assert set(np.unique(y)) == set(range(10))
    assert np.all(np.bincount(y_val) == 30) and np.all(np.bincount(y_test) == 30)
    images, labels = digits_module.raw("train")
    assert images.dtype == np.uint8 and images.max() == 16
    np.testing.assert_array_equal(X_train[:, 0], images / 16)
    np.testing.assert_array_equal(y_train, labels)
    assert not np.array_equal(y_train, np.sort(y_train)), "shuffled"
    np.testing.assert_array_equal(digits_module.digits()[0], X_train)


def test_an_unknown_split_is_refused():
    with pytest.raises(ValueError, match="unknown split"):
        digits_module.raw("validation")


# ---------------------------------------------------------------- the self-checks
