"""Lesson 02: the solutions' gradients against central differences, the identities the lesson
teaches (sigmoid = softmax of [z, 0], the many-to-one map, equal gradients), stability, and
the trusted references of gradlab.exercises.sigmoid against the solutions."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.exercises import sigmoid as trusted
from gradlab.exercises.softmax import cross_entropy, one_hot, softmax
from gradlab.numeric import numerical_gradient, numerical_vjp, rel_error
from tests.conftest import solution_functions

LESSON = "02_sigmoid_softmax"
moderate = st.floats(-8, 8, allow_nan=False)
huge = st.floats(-1e4, 1e4, allow_nan=False)


def fns():
    return solution_functions(LESSON)


def random_batch(seed, N, scale=3.0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=scale, size=N), rng.integers(2, size=N)


def test_sigmoid_grad_agrees_with_central_differences():
    z = np.random.default_rng(0).normal(scale=3, size=(4, 5))
    numeric = numerical_vjp(fns()["sigmoid"], z, np.ones_like(z))
    assert rel_error(fns()["sigmoid_grad"](z), numeric) < 1e-8


def test_bce_gradient_agrees_with_central_differences():
    bce = fns()["binary_cross_entropy"]
    for seed, N in [(0, 1), (1, 6), (2, 20)]:
        z, y = random_batch(seed, N)
        numeric = numerical_gradient(lambda z_, y=y: bce(z_, y)[0], z)
        assert rel_error(bce(z, y)[1], numeric) < 1e-8


@settings(max_examples=30, deadline=None)
@given(st.lists(moderate, min_size=1, max_size=8))
def test_sigmoid_is_the_softmax_of_z_and_zero(values):
    z = np.array(values)
    p = softmax(fns()["two_class_logits"](z))
    s = fns()["sigmoid"](z)
    assert np.allclose(p[:, 0], s, rtol=1e-12, atol=1e-15)
    assert np.allclose(p[:, 1], 1 - s, rtol=1e-12, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 8), st.floats(-50, 50), st.integers(0, 2**16))
def test_the_map_to_one_logit_ignores_a_common_shift(N, shift, seed):
    logits = np.random.default_rng(seed).normal(scale=3, size=(N, 2))
    sigmoid_logit = fns()["sigmoid_logit"]
    z = sigmoid_logit(logits)
    assert np.allclose(sigmoid_logit(logits + shift), z, atol=1e-12)
    assert np.allclose(fns()["sigmoid"](z), softmax(logits)[:, 0], rtol=1e-12, atol=1e-15)
    # z -> [z, 0] picks the representative of each line: both maps round-trip to z
    assert np.array_equal(sigmoid_logit(fns()["two_class_logits"](z)), z)


def test_bce_is_softmax_cross_entropy_with_the_same_gradient():
    z, y = random_batch(3, 7)
    N = len(z)
    loss, dz = fns()["binary_cross_entropy"](z, y)
    Z = fns()["two_class_logits"](z)
    assert np.isclose(loss, cross_entropy(Z, 1 - y), rtol=1e-12)
    dZ = (softmax(Z) - one_hot(1 - y, 2)) / N  # lesson 01's (P - Y) / N
    assert rel_error(dz, dZ[:, 0]) < 1e-12
    assert rel_error(-dz, dZ[:, 1]) < 1e-12


def test_softmax_gradient_of_any_two_logits_is_dz_and_minus_dz():
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=2, size=(6, 2))
    y = rng.integers(2, size=6)
    numeric = numerical_gradient(lambda L: cross_entropy(L, 1 - y), logits)
    _, dz = fns()["binary_cross_entropy"](fns()["sigmoid_logit"](logits), y)
    assert rel_error(numeric, np.stack([dz, -dz], axis=1)) < 1e-8


@settings(max_examples=40, deadline=None)
@given(st.lists(huge, min_size=1, max_size=8), st.integers(0, 2**16))
def test_huge_logits_are_exact_finite_and_warning_free(values, seed):
    z = np.array(values)
    y = np.random.default_rng(seed).integers(2, size=len(z))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = fns()["sigmoid"](z)
        ds = fns()["sigmoid_grad"](z)
        loss, dz = fns()["binary_cross_entropy"](z, y)
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.isfinite(ds))
    assert np.isfinite(loss) and np.all(np.isfinite(dz))
    assert np.isclose(loss, cross_entropy(np.stack([z, 0 * z], axis=1), 1 - y), rtol=1e-12)
    assert np.allclose(dz, (s - y) / len(z), rtol=0, atol=1e-15)


def test_a_confident_wrong_prediction_costs_its_logit():
    # sigmoid(40) rounds to 1, yet the loss of z = 40 with label 0 is softplus(40), about 40
    loss, _ = fns()["binary_cross_entropy"](np.array([40.0, 1e4]), np.array([0, 0]))
    assert np.isclose(loss, (40 + np.log1p(np.exp(-40)) + 1e4) / 2, rtol=1e-14)


@settings(max_examples=30, deadline=None)
@given(st.lists(huge, min_size=1, max_size=8), st.integers(0, 2**16))
def test_trusted_references_agree_with_the_solutions(values, seed):
    z = np.array(values)
    y = np.random.default_rng(seed).integers(2, size=len(z))
    assert np.allclose(trusted.sigmoid(z), fns()["sigmoid"](z), rtol=1e-14, atol=0)
    assert np.allclose(trusted.sigmoid_grad(z), fns()["sigmoid_grad"](z), rtol=1e-9, atol=1e-16)
    assert np.array_equal(trusted.two_class_logits(z), fns()["two_class_logits"](z))
    assert np.isclose(trusted.bce_loss(z, y), fns()["binary_cross_entropy"](z, y)[0], rtol=1e-14)


def test_solutions_leave_their_inputs_unchanged():
    z, y = random_batch(5, 6)
    logits = np.stack([z, -z], axis=1)
    copies = z.copy(), y.copy(), logits.copy()
    for name in ("sigmoid", "sigmoid_grad", "two_class_logits"):
        fns()[name](z)
    fns()["sigmoid_logit"](logits)
    fns()["binary_cross_entropy"](z, y)
    assert all(np.array_equal(a, b) for a, b in zip(copies, (z, y, logits)))
