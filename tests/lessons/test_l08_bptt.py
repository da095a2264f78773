"""Lesson 08 (BPTT): the solutions' gradients, the trusted references, the data and the claims.

The solution functions come from the source notebook (tests/conftest.py), so these tests test
what students see in solutions/.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.data.sequences import running_parity, sine_continuation
from gradlab.exercises import checkpoints, rnn
from gradlab.numeric import numerical_vjp, rel_error
from tests.conftest import solution_functions

LESSON = "08_bptt"
GRADIENT_NAMES = ("dx", "dh0", "dWx", "dWh", "db")


def agree(got, expected):
    """~1e-8 relative error; a small gradient (a vanished one) is judged absolutely, since the
    rounding error of a central difference, eps * |loss| / h, reaches about 1e-9 here."""
    return rel_error(got, expected) < 1e-8 or np.max(np.abs(got - expected)) < 1e-8


def numerical_rnn_gradients(forward, inputs, dout):
    """Central-difference VJPs of forward(*inputs)[0] with respect to every input."""
    return [
        numerical_vjp(lambda v, i=i: forward(*inputs[:i], v, *inputs[i + 1 :])[0], inputs[i], dout)
        for i in range(len(inputs))
    ]


sizes = st.integers(min_value=1, max_value=4)


@settings(max_examples=8, deadline=None)
@given(N=sizes, D=sizes, H=sizes, seed=st.integers(0, 10_000))
def test_step_backward_matches_central_differences(N, D, H, seed):
    sol = solution_functions(LESSON)
    x3, prev_h, Wx, Wh, b = rnn.rnn_problem(seed, N, 1, D, H)
    inputs = (x3[:, 0], prev_h, Wx, Wh, b)
    dnext_h = np.random.default_rng(seed + 1).normal(size=(N, H))
    _, cache = sol["rnn_step_forward"](*inputs)
    grads = sol["rnn_step_backward"](dnext_h, cache)
    numeric = numerical_rnn_gradients(sol["rnn_step_forward"], inputs, dnext_h)
    for name, got, expected in zip(("dx", "dprev_h", "dWx", "dWh", "db"), grads, numeric):
        assert agree(got, expected), name


@settings(max_examples=8, deadline=None)
@given(
    N=sizes,
    T=st.integers(1, 7),
    D=sizes,
    H=sizes,
    seed=st.integers(0, 10_000),
    last_only=st.booleans(),
)
def test_bptt_matches_central_differences(N, T, D, H, seed, last_only):
    sol = solution_functions(LESSON)
    inputs = rnn.rnn_problem(seed, N, T, D, H)
    dh = np.random.default_rng(seed + 1).normal(size=(N, T, H))
    if last_only:
        dh[:, :-1] = 0
    _, cache = sol["rnn_forward"](*inputs)
    grads = sol["rnn_backward"](dh, cache)
    numeric = numerical_rnn_gradients(sol["rnn_forward"], inputs, dh)
    for name, got, expected in zip(GRADIENT_NAMES, grads, numeric):
        assert agree(got, expected), name


def test_bptt_on_a_long_sequence_matches_central_differences(sol):
    inputs = rnn.rnn_problem(7, 2, 60, 3, 4)
    dh = np.random.default_rng(8).normal(size=(2, 60, 4))
    _, cache = sol["rnn_forward"](*inputs)
    grads = sol["rnn_backward"](dh, cache)
    numeric = numerical_rnn_gradients(sol["rnn_forward"], inputs, dh)
    for name, got, expected in zip(GRADIENT_NAMES, grads, numeric):
        assert agree(got, expected), name


@settings(max_examples=10, deadline=None)
@given(N=sizes, T=st.integers(1, 6), D=sizes, H=sizes, seed=st.integers(0, 10_000))
def test_trusted_references_agree_with_the_solutions(N, T, D, H, seed):
    sol = solution_functions(LESSON)
    x, h0, Wx, Wh, b = rnn.rnn_problem(seed, N, T, D, H)
    dh = np.random.default_rng(seed + 1).normal(size=(N, T, H))

    ours = rnn.rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    theirs = sol["rnn_step_forward"](x[:, 0], h0, Wx, Wh, b)
    np.testing.assert_allclose(theirs[0], ours[0], rtol=1e-12, atol=1e-14)
    for a, c in zip(theirs[1], ours[1]):
        np.testing.assert_array_equal(a, c)
    for a, c in zip(
        sol["rnn_step_backward"](dh[:, 0], ours[1]), rnn.rnn_step_backward(dh[:, 0], ours[1])
    ):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)

    h, cache = rnn.rnn_forward(x, h0, Wx, Wh, b)
    h_sol, cache_sol = sol["rnn_forward"](x, h0, Wx, Wh, b)
    np.testing.assert_allclose(h_sol, h, rtol=1e-12, atol=1e-14)
    assert len(cache_sol) == 5
    for a, c in zip(cache_sol, cache):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)
    reference = rnn.rnn_backward(dh, cache)
    for a, c in zip(sol["rnn_backward"](dh, cache), reference):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)
    # the machinery that computes the typical wrong answers gives the right one without a mistake
    for a, c in zip(rnn.rnn_backward_variant(dh, cache, b), reference):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "mistake",
    [
        *rnn.TANH_MISTAKES,
        "no_recurrence",
        "first_only",
        "last_only",
        "dWh_next",
        "wrapped_h0",
        "forwards",
    ],
)
def test_every_catalogued_mistake_changes_the_gradients(mistake):
    x, h0, Wx, Wh, b = rnn.rnn_problem(3, 2, 5, 3, 4)
    dh = np.random.default_rng(4).normal(size=(2, 5, 4))
    _, cache = rnn.rnn_forward(x, h0, Wx, Wh, b)
    right = rnn.rnn_backward(dh, cache)
    wrong = rnn.rnn_backward_variant(dh, cache, b, mistake)
    assert max(rel_error(a, c) for a, c in zip(wrong, right)) > 1e-3


@settings(max_examples=8, deadline=None)
@given(N=sizes, T=st.integers(1, 7), H=sizes, seed=st.integers(0, 10_000), last_only=st.booleans())
def test_the_checkpoint_bptt_dz_matches_central_differences(N, T, H, seed, last_only):
    """dz_t = dL/dz_t, by central differences of the states with respect to a change added to
    every step's pre-activation: the solution's and the reference's."""
    sol = solution_functions(LESSON)
    x, h0, Wx, Wh, b = rnn.rnn_problem(seed, N, T, 3, H)
    dh = np.random.default_rng(seed + 1).normal(size=(N, T, H))
    if last_only:
        dh[:, :-1] = 0
    h = checkpoints.rnn_states(x, h0, Wx, Wh, b)
    np.testing.assert_allclose(h, sol["rnn_forward"](x, h0, Wx, Wh, b)[0], rtol=1e-12)
    numeric = numerical_vjp(
        lambda e: checkpoints.rnn_states(x, h0, Wx, Wh, b, e), np.zeros_like(h), dh
    )
    assert agree(sol["bptt_dz"](dh, h, Wh), numeric)
    assert agree(checkpoints.bptt_dz(dh, h, Wh), numeric)


@pytest.mark.parametrize("mistake", checkpoints.BPTT_MISTAKES)
def test_every_mistake_of_the_checkpoint_changes_dz(mistake):
    x, h0, Wx, Wh, b = rnn.rnn_problem(3, 2, 5, 3, 4)
    dh = np.random.default_rng(4).normal(size=(2, 5, 4))
    h = checkpoints.rnn_states(x, h0, Wx, Wh, b)
    right = checkpoints.bptt_dz(dh, h, Wh)
    assert rel_error(checkpoints.bptt_dz(dh, h, Wh, mistake), right) > 1e-3


def test_the_inputs_of_the_checks_stay_away_from_saturation():
    """tanh' = 1 - h**2 must not be tiny, or wrong tanh derivatives would pass unnoticed."""
    for seed, (N, T, D, H) in enumerate([(3, 5, 4, 6), (2, 40, 2, 3), (1, 50, 3, 5)]):
        h, _ = rnn.rnn_forward(*rnn.rnn_problem(seed, N, T, D, H))
        assert np.max(np.abs(h)) < 0.999
        assert np.mean(1 - h**2) > 0.3


@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_gradients_through_small_states_scale_like_the_spectral_radius(sol, rho):
    """The lesson's claim: with Wh = rho Q (Q orthogonal) and tiny inputs, a loss on the last
    state reaches h0 scaled by rho**T."""
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 30, 2, 8
    Q, _ = np.linalg.qr(rng.normal(size=(H, H)))
    x = 1e-6 * rng.normal(size=(N, T, D))
    Wx = rng.normal(size=(D, H))
    _, cache = sol["rnn_forward"](x, np.zeros((N, H)), Wx, rho * Q, np.zeros(H))
    dh = np.zeros((N, T, H))
    dh[:, -1] = rng.normal(size=(N, H))
    _, dh0, _, _, _ = sol["rnn_backward"](dh, cache)
    ratio = np.linalg.norm(dh0) / np.linalg.norm(dh[:, -1])
    assert ratio == pytest.approx(rho**T, rel=1e-6)


def test_sine_continuation():
    x, y = sine_continuation(5, 12, seed=3)
    assert x.shape == y.shape == (5, 12, 1)
    assert x.dtype == np.float64
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])  # the target is the next value
    assert np.max(np.abs(x)) <= 0.9
    x2, y2 = sine_continuation(5, 12, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, sine_continuation(5, 12, seed=4)[0])


def test_running_parity():
    x, y = running_parity(6, 9, seed=1)
    assert x.shape == (6, 9, 1) and y.shape == (6, 9)
    assert set(np.unique(x)) <= {0.0, 1.0}
    for n in range(6):
        parity = 0
        for t in range(9):
            parity ^= int(x[n, t, 0])
            assert y[n, t] == parity
