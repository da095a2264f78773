"""Lesson 09: the solutions against the trusted steps and the tools, the lesson's claims about
gradient descent on a quadratic, momentum and Adam, the gradients the lesson uses against
central differences, and the speed of the self-checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.notebooks import source_notebook
from gradlab.compare import rel_error
from gradlab.exercises import checkpoints, optim
from gradlab.numeric import numerical_gradient
from gradlab.tools import optim as tools
from tests.conftest import solution_functions

LESSON = "09_optimizers"
TOL = 1e-8

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def notebook_cell(needle):
    """The source of the lesson's one plain code cell that contains `needle`."""
    (source,) = [c.source for c in source_notebook(LESSON).cells if needle in c.source]
    return source


# ---------------------------------------------------------------- gradient descent


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 5),
    steps=st.integers(0, 12),
    lr=st.floats(0.01, 0.3),
    landscape=st.sampled_from(["quadratic", "quartic"]),
    seed=st.integers(0, 99),
)
def test_gradient_descent_matches_the_trusted_iterates(n, steps, lr, landscape, seed):
    sol = solution_functions(LESSON)
    grad_f = optim.landscape_gradient(optim.spd_matrix(n, 5.0, seed), landscape)
    x0 = np.random.default_rng(seed).normal(size=n)
    before = x0.copy()
    xs = sol["gradient_descent"](grad_f, x0, lr, steps)
    assert xs.shape == (steps + 1, n)
    np.testing.assert_array_equal(x0, before)
    np.testing.assert_allclose(xs, optim.gradient_descent(grad_f, x0, lr, steps), rtol=1e-13)


@pytest.mark.parametrize("landscape", ["quadratic", "quartic"])
def test_the_landscape_gradients_match_central_differences(landscape):
    A = optim.spd_matrix(4, 10.0, seed=3)

    def f(x):
        value = 0.5 * x @ A @ x
        return value + 0.05 * np.sum(x**4) if landscape == "quartic" else value

    x = np.random.default_rng(4).normal(size=4)
    grad = optim.landscape_gradient(A, landscape)(x)
    assert rel_error(grad, numerical_gradient(f, x)) < TOL


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 6), condition=st.floats(1.0, 1000.0), seed=st.integers(0, 99))
def test_gradient_descent_converges_exactly_below_two_over_lambda_max(n, condition, seed):
    sol = solution_functions(LESSON)
    A = optim.spd_matrix(n, condition, seed)
    limit = sol["max_stable_learning_rate"](A)
    assert limit == pytest.approx(2 / np.linalg.eigvalsh(A)[-1], rel=1e-12)
    # start along the stiffest eigenvector, whose factor is 1 - lr * lambda_max
    x0 = np.linalg.eigh(A)[1][:, -1]
    below = sol["gradient_descent"](lambda x: A @ x, x0, 0.95 * limit, 200)
    above = sol["gradient_descent"](lambda x: A @ x, x0, 1.05 * limit, 200)
    assert np.linalg.norm(below[-1]) < 1e-4 * np.linalg.norm(x0)
    assert np.linalg.norm(above[-1]) > 1e3 * np.linalg.norm(x0)


def test_each_eigen_direction_shrinks_by_one_minus_lr_lambda(sol):
    """The lesson's derivation: c_k = (1 - lr * lambda_i)**k c_0 in the eigenbasis."""
    A = optim.spd_matrix(3, 20.0, seed=1)
    eigenvalues, Q = np.linalg.eigh(A)
    x0 = np.array([1.0, -2.0, 0.5])
    lr = 0.08
    coordinates = sol["gradient_descent"](lambda x: A @ x, x0, lr, 30) @ Q
    k = np.arange(31)[:, None]
    predicted = (1 - lr * eigenvalues) ** k * (Q.T @ x0)
    np.testing.assert_allclose(coordinates, predicted, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("kappa", [2.0, 25.0, 400.0])
def test_the_best_learning_rate_and_its_rate(kappa):
    """rho(lr) = max |1 - lr lambda| is smallest at 2 / (lambda_min + lambda_max), where it is
    (kappa - 1) / (kappa + 1)."""
    lrs = np.linspace(1e-4, 2 / kappa, 200_001)
    rho = np.maximum(np.abs(1 - lrs), np.abs(1 - lrs * kappa))
    assert lrs[rho.argmin()] == pytest.approx(2 / (1 + kappa), rel=1e-4)
    assert rho.min() == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-4)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 5), condition=st.floats(1.0, 1e3), seed=st.integers(0, 99))
def test_the_checkpoint_optimal_fixed_step_is_the_minimum_of_the_worst_factor(n, condition, seed):
    """The solution's and the reference's (lr, rate) against a grid search of
    max_i |1 - lr lambda_i| around the answer."""
    sol = solution_functions(LESSON)
    A = optim.spd_matrix(n, condition, seed)
    eigenvalues = np.linalg.eigvalsh(A)
    for lr, rate in (sol["optimal_fixed_step"](A), checkpoints.optimal_fixed_step(A)):
        lrs = lr * (1 + np.linspace(-1e-2, 1e-2, 20_001))
        worst = np.max(np.abs(1 - np.outer(lrs, eigenvalues)), axis=1)
        assert abs(lrs[worst.argmin()] - lr) <= 2e-6 * lr
        assert worst.min() == pytest.approx(rate, abs=1e-9)
        assert np.max(np.abs(1 - lr * eigenvalues)) == pytest.approx(rate, abs=1e-12)


# ---------------------------------------------------------------- momentum and Adam


@pytest.mark.parametrize("kappa", [4.0, 25.0, 100.0])
def test_polyaks_settings_give_double_roots_at_the_extreme_eigenvalues(kappa):
    """The lesson's claim: with Polyak's lr and mu, every direction's characteristic roots have
    modulus sqrt(mu), and at lambda_min and lambda_max the two roots coincide, so the error
    there is (a + b k) r**k: the run stays above r**k by a factor that grows with k."""
    lr = 4 / (np.sqrt(kappa) + 1) ** 2
    mu = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    for lam in np.linspace(1.0, kappa, 9):
        roots = np.roots([1, -(1 + mu - lr * lam), mu])
        np.testing.assert_allclose(np.abs(roots), np.sqrt(mu), rtol=1e-6)
    for lam in (1.0, kappa):
        assert (1 + mu - lr * lam) ** 2 - 4 * mu == pytest.approx(0, abs=1e-12)
    errors, r = [1.0, 1.0], np.sqrt(mu)
    for _ in range(60):
        errors.append((1 + mu - lr) * errors[-1] - mu * errors[-2])
    ratios = np.abs(np.array(errors[1:])) / r ** np.arange(len(errors) - 1)
    assert np.all(np.diff(ratios[5:]) > 0)


@settings(max_examples=15, deadline=None)
@given(shape=shapes, lr=st.floats(0.001, 1.0), mu=st.floats(0.0, 0.99), seed=st.integers(0, 99))
def test_momentum_step_is_the_tool(shape, lr, mu, seed):
    sol = solution_functions(LESSON)
    rng = np.random.default_rng(seed)
    w, dw, v = (rng.normal(size=shape) for _ in range(3))
    copies = (w.copy(), dw.copy(), v.copy())
    got = sol["momentum_step"](w, dw, v, lr, mu)
    for a, b in zip(got, tools.momentum_step(w, dw, v, lr, mu)):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)
    for before, after in zip(copies, (w, dw, v)):
        np.testing.assert_array_equal(before, after)


def test_the_velocity_is_a_discounted_sum_of_the_past_gradients(sol):
    rng = np.random.default_rng(0)
    lr, mu = 0.1, 0.9
    grads = rng.normal(size=(8, 3))
    w, v = np.zeros(3), np.zeros(3)
    for k, g in enumerate(grads):
        w, v = sol["momentum_step"](w, g, v, lr, mu)
        unrolled = -lr * sum(mu ** (k - j) * grads[j] for j in range(k + 1))
        np.testing.assert_allclose(v, unrolled, rtol=1e-12)


def test_momentum_reaches_polyaks_rate_on_a_quadratic(sol):
    kappa = 25.0
    A = optim.spd_matrix(2, kappa, seed=0)
    lr = 4 / (np.sqrt(kappa) + 1) ** 2
    mu = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    w, v, norms = np.array([1.0, -1.0]), np.zeros(2), []
    for _ in range(200):
        w, v = sol["momentum_step"](w, A @ w, v, lr, mu)
        norms.append(np.linalg.norm(w))
    rate = (norms[-1] / norms[99]) ** (1 / 100)
    assert rate == pytest.approx((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1), rel=0.05)


@settings(max_examples=15, deadline=None)
@given(shape=shapes, t=st.integers(1, 3000), lr=st.floats(1e-4, 0.5), seed=st.integers(0, 99))
def test_adam_step_is_the_tool(shape, t, lr, seed):
    sol = solution_functions(LESSON)
    rng = np.random.default_rng(seed)
    w, dw, m = (rng.normal(size=shape) for _ in range(3))
    v = rng.uniform(0.0, 2.0, size=shape)
    copies = (w.copy(), dw.copy(), m.copy(), v.copy())
    got = sol["adam_step"](w, dw, m, v, t, lr)
    for a, b in zip(got, tools.adam_step(w, dw, m, v, t, lr)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    for before, after in zip(copies, (w, dw, m, v)):
        np.testing.assert_array_equal(before, after)


def test_adams_first_step_has_length_lr_in_every_coordinate(sol):
    dw = np.array([3.0, -0.001, 250.0])
    w_next, m, v = sol["adam_step"](np.zeros(3), dw, np.zeros(3), np.zeros(3), 1, 0.01)
    np.testing.assert_allclose(w_next, -0.01 * np.sign(dw), rtol=1e-5)
    np.testing.assert_allclose(m, 0.1 * dw)
    np.testing.assert_allclose(v, 0.001 * dw**2)


def test_without_correction_the_step_is_too_long_by_the_lessons_factor(sol):
    """A constant gradient: the uncorrected step (t huge) is (1 - b1^t) / sqrt(1 - b2^t) times
    the corrected one, which has length lr; the factor peaks at 6.57 near t = 12."""
    m = v = np.zeros(1)
    w = np.zeros(1)
    for t in range(1, 40):
        corrected, _, _ = sol["adam_step"](w, np.full(1, 2.0), m, v, t, 0.01)
        uncorrected, m, v = sol["adam_step"](w, np.full(1, 2.0), m, v, 10**9, 0.01)
        factor = (1 - 0.9**t) / np.sqrt(1 - 0.999**t)
        assert abs(corrected[0]) == pytest.approx(0.01, rel=1e-5)
        assert abs(uncorrected[0]) == pytest.approx(0.01 * factor, rel=1e-5)
        # m_t is the constant gradient times 1 - beta1**t: the bias the correction removes
        assert m[0] == pytest.approx(2.0 * (1 - 0.9**t), rel=1e-12)
    t = np.arange(1, 3001)
    factor = (1 - 0.9**t) / np.sqrt(1 - 0.999**t)
    assert t[factor.argmax()] == 12 and factor.max() == pytest.approx(6.57, abs=0.01)


# ---------------------------------------------------------------- clipping


@settings(max_examples=15, deadline=None)
@given(
    shape_list=st.lists(shapes, min_size=1, max_size=4),
    ratio=st.floats(0.1, 10.0),
    seed=st.integers(0, 99),
)
def test_clip_gradients_is_the_tool_and_keeps_the_direction(shape_list, ratio, seed):
    sol = solution_functions(LESSON)
    grads, max_norm = optim.clip_problem(shape_list, ratio, seed)
    copies = {k: g.copy() for k, g in grads.items()}
    clipped = sol["clip_gradients"](grads, max_norm)
    expected = tools.clip_gradients(grads, max_norm)
    assert clipped.keys() == grads.keys()
    for key in grads:
        np.testing.assert_allclose(clipped[key], expected[key], rtol=1e-13)
        np.testing.assert_array_equal(grads[key], copies[key])
    assert tools.global_norm(clipped) <= max_norm * (1 + 1e-12)
    flat = np.concatenate([g.ravel() for g in grads.values()])
    flat_clipped = np.concatenate([clipped[k].ravel() for k in grads])
    cosine = flat @ flat_clipped / (np.linalg.norm(flat) * np.linalg.norm(flat_clipped))
    assert cosine == pytest.approx(1.0, abs=1e-12)
    if ratio <= 1:
        for key in grads:
            np.testing.assert_array_equal(clipped[key], grads[key])


def test_the_cliff_gradient_matches_central_differences_and_clipping_walks_down_it(sol):
    namespace = dict(sol)
    exec(notebook_cell("def cliff_loss"), namespace)
    w = np.array([0.9, 1.05, 1.3])
    numeric = numerical_gradient(lambda v: np.sum(namespace["cliff_loss"](v)), w)
    assert rel_error(namespace["cliff_gradient"](w), numeric) < TOL
    clipped = namespace["descend_cliff"](1.3, 0.005, 40, max_norm=10.0)
    assert np.all(np.abs(np.diff(clipped)) <= 0.05 + 1e-12)
    assert clipped[-1] == pytest.approx(2**0.1, abs=1e-5)


# ---------------------------------------------------------------- the MLP of Section 9


@pytest.fixture(scope="module")
def mlp_namespace(sol):
    namespace = dict(sol)
    exec(notebook_cell("NO_CORRECTION = 10**9"), namespace)
    exec(notebook_cell("def train_mlp"), namespace)
    return namespace


def test_the_lessons_mlp_loss_matches_central_differences(mlp_namespace):
    rng = np.random.default_rng(0)
    params = mlp_namespace["init_mlp"]((2, 5, 4, 3), seed=1)
    params = {k: v + 0.1 * rng.normal(size=v.shape) for k, v in params.items()}  # biases too
    X, y = rng.normal(size=(6, 2)), rng.integers(3, size=6)
    _, grads = mlp_namespace["mlp_loss"](params, X, y)
    for key, value in params.items():

        def loss_of(v, key=key):
            return mlp_namespace["mlp_loss"]({**params, key: v}, X, y)[0]

        assert rel_error(grads[key], numerical_gradient(loss_of, value)) < TOL, key


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.3), ("momentum", 0.03), ("adam", 0.01)])
def test_every_optimizer_fits_the_spirals(mlp_namespace, optimizer, lr):
    params, losses = mlp_namespace["train_mlp"](optimizer, lr)
    assert losses.shape == (500,) and losses[-10:].mean() < 0.1 * losses[:10].mean()
    assert mlp_namespace["accuracy"](params, mlp_namespace["X_spiral"], mlp_namespace["y_spiral"])


# ---------------------------------------------------------------- the checks themselves


@pytest.mark.parametrize("mistake", list(optim.MOMENTUM_MISTAKES))
def test_every_momentum_mistake_differs_from_the_right_step(mistake):
    w, v, gradient = optim.step_problem((3,), 1, seed=0)
    right = tools.momentum_step(w, gradient(w, 0), v, 0.1, 0.9)
    wrong = optim.momentum_variant(w, gradient(w, 0), v, 0.1, 0.9, mistake)
    assert any(not np.allclose(a, b) for a, b in zip(wrong, right))


@pytest.mark.parametrize("mistake", list(optim.ADAM_MISTAKES))
def test_every_adam_mistake_differs_from_the_right_step(mistake):
    w, _, gradient = optim.step_problem((3,), 1, seed=0)
    args = (w, gradient(w, 0), np.zeros(3), np.zeros(3), 1, 0.01)
    right = tools.adam_step(*args)
    with np.errstate(invalid="ignore"):
        wrong = optim.adam_variant(*args, mistake)
    assert any(not np.allclose(a, b) for a, b in zip(wrong, right))
