"""Lesson 10 (batchnorm and dropout): the solutions' gradients, the trusted references, the
typical wrong answers the checks compute, and the lesson's claims.

The solution functions come from the source notebook (tests/conftest.py), so these tests test
what students see in solutions/.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.compare import rel_error
from gradlab.exercises import batchnorm as bn
from gradlab.exercises import checkpoints
from gradlab.numeric import numerical_vjp
from tests.conftest import solution_functions

LESSON = "10_batchnorm_dropout"


def agree(got, expected):
    """~1e-8 relative error; a gradient that is zero (N = 1) is judged absolutely."""
    return rel_error(got, expected) < 1e-8 or np.max(np.abs(got - expected)) < 1e-9


def problem(seed, N, D):
    """x (N, D) with features of different means and of scales between 0.5 and 2, gamma, beta
    and an upstream gradient: scales at which central differences are accurate to 1e-9."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2.0, size=D) + rng.uniform(0.5, 2.0, size=D) * rng.normal(size=(N, D))
    return x, rng.normal(size=D), rng.normal(size=D), rng.normal(size=(N, D))


def numerical_batchnorm_gradients(forward, x, gamma, beta, eps, dout, h=1e-5):
    return [
        numerical_vjp(lambda v: forward(v, gamma, beta, eps)[0], x, dout, h),
        numerical_vjp(lambda v: forward(x, v, beta, eps)[0], gamma, dout, h),
        numerical_vjp(lambda v: forward(x, gamma, v, eps)[0], beta, dout, h),
    ]


@settings(max_examples=12, deadline=None)
@given(
    N=st.integers(1, 9),
    D=st.integers(1, 4),
    eps=st.sampled_from([1e-5, 0.1, 1.0]),
    seed=st.integers(0, 10_000),
)
def test_batchnorm_backward_matches_central_differences(N, D, eps, seed):
    sol = solution_functions(LESSON)
    x, gamma, beta, dout = problem(seed, N, D)
    _, cache = sol["batchnorm_forward"](x, gamma, beta, eps)
    grads = sol["batchnorm_backward"](dout, cache)
    numeric = numerical_batchnorm_gradients(sol["batchnorm_forward"], x, gamma, beta, eps, dout)
    for name, got, expected in zip(("dx", "dgamma", "dbeta"), grads, numeric):
        assert agree(got, expected), name


@settings(max_examples=12, deadline=None)
@given(
    N=st.integers(2, 9),
    D=st.integers(1, 4),
    eps=st.sampled_from([1e-5, 0.1, 1.0]),
    seed=st.integers(0, 10_000),
)
def test_the_checkpoint_matches_central_differences_of_the_graph(N, D, eps, seed):
    """dx_hat and dmu of the solution and of the reference against central differences of
    the lesson's graph, with x_hat and the batch mean as inputs of their own; the mean path
    of the compact formula is dmu / N."""
    sol = solution_functions(LESSON)
    x, gamma, beta, dout = problem(seed, N, D)
    cache = (x, gamma, beta, eps)
    mu = x.mean(axis=0)
    x_hat = (x - mu) / np.sqrt(x.var(axis=0) + eps)
    dx_hat = numerical_vjp(lambda v: gamma * v + beta, x_hat, dout)
    dmu = numerical_vjp(lambda m: checkpoints.batchnorm_with_mean(x, m, gamma, beta, eps), mu, dout)
    for found in (
        sol["batchnorm_intermediate_grads"](dout, cache),
        checkpoints.batchnorm_intermediate_grads(dout, cache),
    ):
        assert agree(found[0], dx_hat) and agree(found[1], dmu)
    np.testing.assert_allclose(
        checkpoints.batchnorm_with_mean(x, mu, gamma, beta, eps),
        sol["batchnorm_forward"](x, gamma, beta, eps)[0],
        rtol=1e-12,
    )
    mean_path = -dx_hat.sum(axis=0) / (N * np.sqrt(x.var(axis=0) + eps))
    np.testing.assert_allclose(dmu / N, mean_path, rtol=1e-6)


@pytest.mark.parametrize("mistake", checkpoints.BATCHNORM_MISTAKES)
def test_every_mistake_of_the_checkpoint_changes_its_answer(mistake):
    x, gamma, beta, dout = problem(3, 6, 3)
    cache = (x, gamma, beta, 1e-5)
    right = checkpoints.batchnorm_intermediate_grads(dout, cache)
    wrong = checkpoints.batchnorm_intermediate_grads(dout, cache, mistake)
    assert max(rel_error(a, b) for a, b in zip(wrong, right)) > 1e-3


def test_the_default_eps_is_1e_5(sol):
    x, gamma, beta, _ = problem(0, 5, 3)
    out, cache = sol["batchnorm_forward"](x, gamma, beta)
    assert cache[3] == 1e-5
    np.testing.assert_array_equal(out, sol["batchnorm_forward"](x, gamma, beta, 1e-5)[0])


@settings(max_examples=10, deadline=None)
@given(N=st.integers(1, 8), D=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_trusted_references_agree_with_the_solutions(N, D, seed):
    sol = solution_functions(LESSON)
    x, gamma, beta, dout = bn.batchnorm_problem(seed, N, D)
    ours, cache = bn.batchnorm_forward(x, gamma, beta)
    theirs, their_cache = sol["batchnorm_forward"](x, gamma, beta)
    np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=1e-12)
    assert len(their_cache) == 4
    for a, c in zip(their_cache, cache):
        np.testing.assert_array_equal(a, c)
    reference = bn.batchnorm_backward(dout, cache)
    for a, c in zip(sol["batchnorm_backward"](dout, cache), reference):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-10)
    # the machinery that computes the typical wrong answers gives the right one without a mistake
    for graph in (False, True):
        for a, c in zip(bn.batchnorm_backward_variant(dout, cache, graph=graph), reference):
            np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-10)


def test_the_reference_backward_matches_central_differences_on_the_checks_inputs():
    """The checks' inputs have features of scale down to 0.03, where a central difference
    needs a smaller step (h = 1e-6) to be accurate to 1e-8."""
    for seed, (N, D) in enumerate([(6, 4), (4, 3), (2, 5), (40, 1), (7, 7), (3, 6)]):
        x, gamma, beta, dout = bn.batchnorm_problem(seed, N, D)
        _, cache = bn.batchnorm_forward(x, gamma, beta)
        numeric = numerical_batchnorm_gradients(
            bn.batchnorm_forward, x, gamma, beta, 1e-5, dout, h=1e-6
        )
        for got, expected in zip(bn.batchnorm_backward(dout, cache), numeric):
            assert rel_error(got, expected) < 1e-8


@pytest.mark.parametrize("mistake", bn.NORMALISATION_MISTAKES)
def test_the_node_by_node_variant_is_the_exact_gradient_of_the_wrong_forward(mistake):
    """What a student whose forward has this mistake gets by backpropagating through its graph."""
    x, gamma, beta, dout = problem(3, 6, 3)
    eps = 0.3  # large enough for every eps mistake to matter
    _, cache = bn.batchnorm_forward(x, gamma, beta, eps)
    dx, _, _ = bn.batchnorm_backward_variant(dout, cache, mistake, graph=True)
    numeric = numerical_vjp(
        lambda v: bn.batchnorm_forward_variant(v, gamma, beta, eps, mistake), x, dout
    )
    assert rel_error(dx, numeric) < 1e-8


@pytest.mark.parametrize("mistake", [*bn.NORMALISATION_MISTAKES, *bn.PATH_MISTAKES])
def test_every_catalogued_mistake_changes_the_gradients(mistake):
    x, gamma, beta, dout = bn.batchnorm_problem(1, 6, 4)
    _, cache = bn.batchnorm_forward(x, gamma, beta, 0.1)
    right = bn.batchnorm_backward(dout, cache)
    wrong = bn.batchnorm_backward_variant(dout, cache, mistake)
    assert max(rel_error(a, c) for a, c in zip(wrong, right)) > 1e-4


def test_the_columns_of_dx_sum_to_zero_and_dx_is_orthogonal_to_x_hat_without_eps(sol):
    """Section 3: adding a constant to a feature, or (with eps = 0) scaling its centred
    inputs, leaves the output unchanged."""
    x, gamma, beta, dout = problem(4, 10, 3)
    _, cache = sol["batchnorm_forward"](x, gamma, beta, 0.0)
    dx, _, _ = sol["batchnorm_backward"](dout, cache)
    x_hat = (x - x.mean(axis=0)) / x.std(axis=0)
    np.testing.assert_allclose(dx.sum(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose((dx * x_hat).sum(axis=0), 0.0, atol=1e-12)


def test_batchnorm_divides_the_scale_of_its_input_out(sol):
    """Section 4: out does not change when x is scaled (eps = 0); dx scales by the inverse."""
    x, gamma, beta, dout = problem(5, 8, 4)
    out, cache = sol["batchnorm_forward"](x, gamma, beta, 0.0)
    scaled, scaled_cache = sol["batchnorm_forward"](7.0 * x, gamma, beta, 0.0)
    np.testing.assert_allclose(scaled, out, atol=1e-12)
    dx, _, _ = sol["batchnorm_backward"](dout, cache)
    np.testing.assert_allclose(sol["batchnorm_backward"](dout, scaled_cache)[0], dx / 7.0)


def test_a_batch_of_one_gives_beta(sol):
    x, gamma, beta, dout = problem(6, 1, 4)
    out, cache = sol["batchnorm_forward"](x, gamma, beta)
    np.testing.assert_array_equal(out, beta[None, :])
    dx, dgamma, dbeta = sol["batchnorm_backward"](dout, cache)
    np.testing.assert_array_equal(dx, 0.0)
    np.testing.assert_array_equal(dgamma, 0.0)
    np.testing.assert_array_equal(dbeta, dout[0])


# ---------------------------------------------------------------- dropout


@pytest.mark.parametrize("keep_prob", [0.2, 0.6, 1.0])
def test_dropout_draws_the_contracts_mask(sol, keep_prob):
    x = np.random.default_rng(0).normal(size=(5, 7))
    out, (mask, p) = sol["dropout_forward"](x, keep_prob, np.random.default_rng(11))
    np.testing.assert_array_equal(mask, bn.dropout_mask(x.shape, keep_prob, 11))
    assert mask.dtype == bool and p == keep_prob
    np.testing.assert_array_equal(out, x * mask / keep_prob)


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4)])
def test_dropout_backward_matches_central_differences_for_a_fixed_seed(sol, shape):
    """With the generator seeded afresh at every call, dropout is a function of x alone."""
    rng = np.random.default_rng(1)
    x, dout = rng.normal(size=shape), rng.normal(size=shape)

    def forward(v):
        return sol["dropout_forward"](v, 0.7, np.random.default_rng(5))[0]

    _, cache = sol["dropout_forward"](x, 0.7, np.random.default_rng(5))
    assert agree(sol["dropout_backward"](dout, cache), numerical_vjp(forward, x, dout))


def test_inverted_dropout_preserves_the_expectation(sol):
    """The mean of many dropout outputs of one input is the input, within 4 standard errors."""
    keep_prob, draws = 0.3, 4000
    x = np.random.default_rng(2).normal(size=(1, 50))
    rng = np.random.default_rng(3)
    outputs = np.array([sol["dropout_forward"](x, keep_prob, rng)[0][0] for _ in range(draws)])
    standard_error = np.abs(x[0]) * np.sqrt((1 - keep_prob) / keep_prob / draws)
    assert np.all(np.abs(outputs.mean(axis=0) - x[0]) < 4 * standard_error)


def test_the_checks_pass_a_fresh_generator_and_read_no_other_randomness():
    """check_dropout_forward gives the student's function a numpy Generator seeded with the
    case's seed, and nothing else that cannot cross the grader's wire."""
    seen = []

    def spy(x, keep_prob, rng):
        seen.append((type(x), type(keep_prob), rng.bit_generator.state))
        mask = rng.random(x.shape) < keep_prob
        return x * mask / keep_prob, (mask, keep_prob)

    bn.check_dropout_forward(spy, shape=(3, 4), keep_prob=0.5, seed=9)
    assert seen == [(np.ndarray, float, np.random.default_rng(9).bit_generator.state)]


# ---------------------------------------------------------------- batchnorm in both modes


def bn_param_for(mode, D, seed, momentum=0.9, eps=None):
    rng = np.random.default_rng(seed)
    bn_param = {"mode": mode, "momentum": momentum}
    bn_param |= {"running_mean": rng.normal(size=D), "running_var": rng.uniform(0.5, 2, D)}
    return bn_param if eps is None else {**bn_param, "eps": eps}


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("eps", [None, 0.1])
def test_the_mode_solution_agrees_with_the_reference_and_leaves_its_inputs(sol, mode, eps):
    x, gamma, beta, _ = problem(3, 7, 4)
    bn_param = bn_param_for(mode, 4, 4, eps=eps)
    kept = {key: np.copy(value) for key, value in bn_param.items()}
    out, new = sol["batchnorm_forward_mode"](x, gamma, beta, bn_param)
    ref_out, ref_new = bn.batchnorm_forward_mode(x, gamma, beta, bn_param)
    assert agree(out, ref_out)
    for key in ("running_mean", "running_var"):
        assert agree(new[key], ref_new[key])
    assert all(np.array_equal(kept[key], bn_param[key]) for key in kept)
    assert new["mode"] == mode and new is not bn_param


def test_training_mode_is_batchnorm_forward_and_test_mode_a_fixed_affine_map(sol):
    x, gamma, beta, _ = problem(5, 9, 3)
    bn_param = bn_param_for("train", 3, 6)
    out, new = sol["batchnorm_forward_mode"](x, gamma, beta, bn_param)
    assert agree(out, bn.batchnorm_forward(x, gamma, beta)[0])
    assert agree(new["running_mean"], 0.9 * bn_param["running_mean"] + 0.1 * x.mean(axis=0))
    assert agree(new["running_var"], 0.9 * bn_param["running_var"] + 0.1 * x.var(axis=0))
    test = {**new, "mode": "test"}
    whole, _ = sol["batchnorm_forward_mode"](x, gamma, beta, test)
    alone = np.vstack(
        [sol["batchnorm_forward_mode"](x[n : n + 1], gamma, beta, test)[0] for n in range(9)]
    )
    assert agree(whole, alone)  # in test mode an example's output does not depend on its batch


@pytest.mark.parametrize("mistake", list(bn.MODE_MISTAKES))
def test_every_mode_mistake_changes_the_answer(mistake):
    mode = "test" if mistake.startswith("test_") else "train"
    x, gamma, beta, running_mean, running_var = bn.mode_problem(0, 6, 4)
    bn_param = {
        "mode": mode,
        "momentum": 0.9,
        "running_mean": running_mean,
        "running_var": running_var,
    }
    right_out, right_new = bn.batchnorm_forward_mode(x, gamma, beta, bn_param)
    out, new = bn.batchnorm_forward_mode_variant(x, gamma, beta, bn_param, mistake)
    changed = [not np.allclose(out, right_out)]
    changed += [not np.allclose(new[k], right_new[k]) for k in ("running_mean", "running_var")]
    assert any(changed), mistake
