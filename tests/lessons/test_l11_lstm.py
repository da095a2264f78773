"""Lesson 11 (LSTM): the solutions' gradients, the trusted references, the typical wrong
answers the checks compute, and the lesson's claims.

The solution functions come from the source notebook (tests/conftest.py), so these tests test
what students see in solutions/.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.compare import rel_error
from gradlab.exercises import checkpoints, lstm
from gradlab.numeric import numerical_gradient, numerical_vjp
from tests.conftest import solution_functions

LESSON = "11_lstm"
STEP_NAMES = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
SEQUENCE_NAMES = ("dx", "dh0", "dWx", "dWh", "db")


def agree(got, expected):
    """~1e-8 relative error; a small gradient (a vanished one) is judged absolutely, since the
    rounding error of a central difference, eps * |loss| / h, reaches about 1e-9 here."""
    return rel_error(got, expected) < 1e-8 or np.max(np.abs(got - expected)) < 1e-8


def step_problem(seed, N, D, H):
    x3, prev_h, Wx, Wh, b = lstm.lstm_problem(seed, N, 1, D, H)
    rng = np.random.default_rng(seed + 1)
    return (x3[:, 0], prev_h, rng.normal(size=(N, H)), Wx, Wh, b), rng.normal(size=(2, N, H))


def numerical_step_gradients(forward, inputs, dnext_h, dnext_c):
    """Central differences of sum(next_h * dnext_h) + sum(next_c * dnext_c), input by input."""

    def weighted(k, value):
        next_h, next_c, _ = forward(*inputs[:k], value, *inputs[k + 1 :])
        return np.sum(next_h * dnext_h) + np.sum(next_c * dnext_c)

    return [
        numerical_gradient(lambda v, k=k: weighted(k, v), inputs[k]) for k in range(len(inputs))
    ]


def numerical_sequence_gradients(forward, inputs, dh):
    return [
        numerical_vjp(lambda v, i=i: forward(*inputs[:i], v, *inputs[i + 1 :])[0], inputs[i], dh)
        for i in range(len(inputs))
    ]


sizes = st.integers(min_value=1, max_value=4)


@settings(max_examples=8, deadline=None)
@given(N=sizes, D=sizes, H=sizes, seed=st.integers(0, 10_000), zero_dnext_c=st.booleans())
def test_step_backward_matches_central_differences(N, D, H, seed, zero_dnext_c):
    sol = solution_functions(LESSON)
    inputs, (dnext_h, dnext_c) = step_problem(seed, N, D, H)
    if zero_dnext_c:
        dnext_c = np.zeros_like(dnext_c)
    _, _, cache = sol["lstm_step_forward"](*inputs)
    grads = sol["lstm_step_backward"](dnext_h, dnext_c, cache)
    numeric = numerical_step_gradients(sol["lstm_step_forward"], inputs, dnext_h, dnext_c)
    for name, got, expected in zip(STEP_NAMES, grads, numeric):
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
    inputs = lstm.lstm_problem(seed, N, T, D, H)
    dh = np.random.default_rng(seed + 1).normal(size=(N, T, H))
    if last_only:
        dh[:, :-1] = 0
    _, cache = sol["lstm_forward"](*inputs)
    grads = sol["lstm_backward"](dh, cache)
    numeric = numerical_sequence_gradients(sol["lstm_forward"], inputs, dh)
    for name, got, expected in zip(SEQUENCE_NAMES, grads, numeric):
        assert agree(got, expected), name


def test_bptt_on_a_long_sequence_matches_central_differences(sol):
    inputs = lstm.lstm_problem(7, 2, 40, 3, 3)
    dh = np.random.default_rng(8).normal(size=(2, 40, 3))
    _, cache = sol["lstm_forward"](*inputs)
    grads = sol["lstm_backward"](dh, cache)
    numeric = numerical_sequence_gradients(sol["lstm_forward"], inputs, dh)
    for name, got, expected in zip(SEQUENCE_NAMES, grads, numeric):
        assert agree(got, expected), name


@settings(max_examples=10, deadline=None)
@given(N=sizes, T=st.integers(1, 6), D=sizes, H=sizes, seed=st.integers(0, 10_000))
def test_trusted_references_agree_with_the_solutions(N, T, D, H, seed):
    sol = solution_functions(LESSON)
    x, h0, Wx, Wh, b = lstm.lstm_problem(seed, N, T, D, H)
    rng = np.random.default_rng(seed + 1)
    dh, prev_c, dnext_c = (
        rng.normal(size=(N, T, H)),
        rng.normal(size=(N, H)),
        rng.normal(size=(N, H)),
    )

    ours = lstm.lstm_step_forward(x[:, 0], h0, prev_c, Wx, Wh, b)
    theirs = sol["lstm_step_forward"](x[:, 0], h0, prev_c, Wx, Wh, b)
    for a, c in zip(theirs[:2], ours[:2]):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)
    for a, c in zip(theirs[2], ours[2]):
        np.testing.assert_array_equal(a, c)
    step_reference = lstm.lstm_step_backward(dh[:, 0], dnext_c, ours[2])
    for a, c in zip(sol["lstm_step_backward"](dh[:, 0], dnext_c, ours[2]), step_reference):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)
    for a, c in zip(lstm.lstm_step_backward_variant(dh[:, 0], dnext_c, ours[2]), step_reference):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)

    h, cache = lstm.lstm_forward(x, h0, Wx, Wh, b)
    h_sol, cache_sol = sol["lstm_forward"](x, h0, Wx, Wh, b)
    np.testing.assert_allclose(h_sol, h, rtol=1e-12, atol=1e-14)
    assert len(cache_sol) == 5
    for a, c in zip(cache_sol, cache):
        np.testing.assert_array_equal(a, c)
    reference = lstm.lstm_backward(dh, cache)
    for a, c in zip(sol["lstm_backward"](dh, cache), reference):
        np.testing.assert_allclose(a, c, rtol=1e-11, atol=1e-13)
    # the machinery that computes the typical wrong answers gives the right one without a mistake
    for a, c in zip(lstm.lstm_backward_variant(dh, cache), reference):
        np.testing.assert_allclose(a, c, rtol=1e-11, atol=1e-13)


STEP_MISTAKES = [m for m in lstm._step_backward_variants() if ":" not in m]
SEQUENCE_MISTAKES = [*STEP_MISTAKES, "no_h_carry", "forwards", "wrapped", "c0_is_h0"]


@pytest.mark.parametrize("mistake", [*STEP_MISTAKES, "order:ifgo", "stack:ifgo", "order:fiog"])
def test_every_step_mistake_changes_the_gradients(mistake):
    inputs, (dnext_h, dnext_c) = step_problem(3, 3, 2, 4)
    _, _, cache = lstm.lstm_step_forward(*inputs)
    right = lstm.lstm_step_backward(dnext_h, dnext_c, cache)
    wrong = lstm.lstm_step_backward_variant(dnext_h, dnext_c, cache, mistake)
    assert max(rel_error(a, c) for a, c in zip(wrong, right)) > 1e-3


@pytest.mark.parametrize("mistake", SEQUENCE_MISTAKES)
def test_every_sequence_mistake_changes_the_gradients(mistake):
    x, h0, Wx, Wh, b = lstm.lstm_problem(3, 2, 5, 3, 4)
    dh = np.random.default_rng(4).normal(size=(2, 5, 4))
    _, cache = lstm.lstm_forward(x, h0, Wx, Wh, b)
    right = lstm.lstm_backward(dh, cache)
    wrong = lstm.lstm_backward_variant(dh, cache, mistake)
    assert max(rel_error(a, c) for a, c in zip(wrong, right)) > 1e-3


@pytest.mark.parametrize("order", ["ifgo", "fiog", "gofi"])
def test_a_consistent_gate_order_is_the_exact_gradient_of_that_forward(order):
    """ "order:..." is what a student who reads the blocks in another order everywhere gets."""
    inputs, (dnext_h, dnext_c) = step_problem(5, 2, 3, 3)

    def forward(*args):
        return (*lstm.lstm_step_forward_variant(*args, mistake=f"order:{order}"), None)

    _, _, cache = lstm.lstm_step_forward(*inputs)
    grads = lstm.lstm_step_backward_variant(dnext_h, dnext_c, cache, f"order:{order}")
    for got, expected in zip(grads, numerical_step_gradients(forward, inputs, dnext_h, dnext_c)):
        assert agree(got, expected)


def test_the_inputs_of_the_checks_keep_the_gates_away_from_saturation():
    """sigma' and tanh' must not be tiny, or wrong gate derivatives would pass unnoticed."""
    for seed, (N, T, D, H) in enumerate([(3, 5, 4, 6), (2, 30, 2, 3), (1, 40, 3, 5)]):
        x, h0, Wx, Wh, b = lstm.lstm_problem(seed, N, T, D, H)
        h, _ = lstm.lstm_states(x, h0, Wx, Wh, b)
        before = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
        a = x @ Wx + before @ Wh + b
        gates = lstm.sigmoid(a[..., : 3 * H])
        assert np.mean(gates * (1 - gates)) > 0.15
        assert np.mean(1 - np.tanh(a[..., 3 * H :]) ** 2) > 0.3


@settings(max_examples=8, deadline=None)
@given(N=sizes, D=sizes, H=sizes, seed=st.integers(0, 10_000), zero_dnext_c=st.booleans())
def test_the_checkpoint_lstm_cell_grad_matches_central_differences(N, D, H, seed, zero_dnext_c):
    """dc_t by central differences of sum(h_t * dnext_h) + sum(c_t * dnext_c) with respect to a
    change added to c_t: the solution's and the reference's."""
    sol = solution_functions(LESSON)
    inputs, (dnext_h, dnext_c) = step_problem(seed, N, D, H)
    if zero_dnext_c:
        dnext_c = np.zeros_like(dnext_c)
    _, next_c, cache = lstm.lstm_step_forward(*inputs)
    x, prev_h, _, Wx, Wh, b = inputs
    o = lstm.sigmoid((x @ Wx + prev_h @ Wh + b)[:, 2 * H : 3 * H])
    numeric = numerical_gradient(
        lambda c: np.sum(dnext_h * o * np.tanh(c)) + np.sum(dnext_c * c), next_c
    )
    assert agree(sol["lstm_cell_grad"](dnext_h, dnext_c, cache), numeric)
    assert agree(checkpoints.lstm_cell_grad(dnext_h, dnext_c, cache), numeric)


@pytest.mark.parametrize("mistake", checkpoints.LSTM_CELL_MISTAKES)
def test_every_mistake_of_the_checkpoint_changes_dc(mistake):
    inputs, (dnext_h, dnext_c) = step_problem(3, 3, 2, 4)
    _, _, cache = lstm.lstm_step_forward(*inputs)
    right = checkpoints.lstm_cell_grad(dnext_h, dnext_c, cache)
    wrong = checkpoints.lstm_cell_grad(dnext_h, dnext_c, cache, mistake)
    assert rel_error(wrong, right) > 1e-3


def test_the_cell_state_starts_at_zero(sol):
    x, h0, Wx, Wh, b = lstm.lstm_problem(1, 3, 1, 2, 4)
    h, _ = sol["lstm_forward"](x, h0, Wx, Wh, b)
    next_h, _, _ = sol["lstm_step_forward"](x[:, 0], h0, np.zeros((3, 4)), Wx, Wh, b)
    np.testing.assert_allclose(h[:, 0], next_h, rtol=1e-14)


def test_along_the_cell_the_gradient_is_multiplied_by_the_forget_gates_only(sol):
    """Section 5: with Wh = 0 the only path back is the cell, and the gradient carried into
    c_t is the last step's cell gradient times the product of the later forget gates."""
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 12, 2, 4
    x, Wx, b = rng.normal(size=(N, T, D)), rng.normal(size=(D, 4 * H)), rng.normal(size=4 * H)
    Wh = np.zeros((H, 4 * H))
    f = lstm.sigmoid((x @ Wx + b)[..., H : 2 * H])  # (N, T, H): no dependence on h
    prev_h, prev_c, caches = np.zeros((N, H)), np.zeros((N, H)), []
    for t in range(T):
        prev_h, prev_c, cache = sol["lstm_step_forward"](x[:, t], prev_h, prev_c, Wx, Wh, b)
        caches.append(cache)
    dh_t, dc_t = rng.normal(size=(N, H)), np.zeros((N, H))
    carried = []
    for t in reversed(range(T)):
        dh_t, dc_t = sol["lstm_step_backward"](dh_t, dc_t, caches[t])[1:3]
        carried.append(dc_t)  # into c_{t-1}
        np.testing.assert_array_equal(dh_t, 0.0)  # no path through h when Wh = 0
    carried = carried[::-1]  # carried[t] is the gradient into c_{t-1}
    for t in range(1, T):
        expected = carried[T - 1] * np.prod(f[:, t : T - 1], axis=1)
        np.testing.assert_allclose(carried[t], expected, rtol=1e-12)


def test_a_high_forget_bias_keeps_the_gradient_where_the_rnn_loses_it():
    """Section 5's figure, in numbers: over 60 steps with inputs of size 1 the RNN with
    rho = 1 loses ten orders of magnitude, the LSTM with b_f = 3 keeps more than 1%."""
    rng = np.random.default_rng(0)
    N, T, D, H = 8, 60, 4, 16
    x = rng.normal(size=(N, T, D))
    Q, _ = np.linalg.qr(rng.normal(size=(H, H)))
    Wx_rnn = rng.normal(scale=1 / np.sqrt(D), size=(D, H))
    h = [np.zeros((N, H))]
    for t in range(T):
        h.append(np.tanh(x[:, t] @ Wx_rnn + h[-1] @ Q))
    dh_last = rng.normal(size=(N, H))
    g = dh_last
    for t in reversed(range(T)):
        g = (g * (1 - h[t + 1] ** 2)) @ Q.T
    assert np.linalg.norm(g) / np.linalg.norm(dh_last) < 1e-8

    Wx = rng.normal(scale=1 / np.sqrt(D), size=(D, 4 * H))
    Wh = rng.normal(scale=1 / np.sqrt(H), size=(H, 4 * H))
    b = np.zeros(4 * H)
    b[H : 2 * H] = 3.0
    dh = np.zeros((N, T, H))
    dh[:, -1] = dh_last
    _, dh0, _, _, _ = lstm.lstm_backward(dh, (x, np.zeros((N, H)), Wx, Wh, b))
    assert np.linalg.norm(dh0) / np.linalg.norm(dh_last) > 1e-2


# ---------------------------------------------------------------- the tools Section 6 uses


@pytest.mark.parametrize("seed", range(3))
def test_the_rnn_tool_is_lesson_08s_steps_composed(seed):
    """The RNN given to this lesson (Lesson 08's reference for rnn_forward and rnn_backward)
    is the step functions run over time, forwards and then backwards."""
    from gradlab.exercises import rnn as steps
    from gradlab.tools import rnn as tool

    rng = np.random.default_rng(seed)
    N, T, D, H = 3, 5, 2, 4
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    Wx, Wh, b = rng.normal(size=(D, H)), rng.normal(size=(H, H)) / 2, rng.normal(size=H)
    dh = rng.normal(size=(N, T, H))
    h, cache = tool.rnn_forward(x, h0, Wx, Wh, b)
    prev, caches = h0, []
    for t in range(T):
        prev, step_cache = steps.rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        caches.append(step_cache)
        assert np.allclose(h[:, t], prev, rtol=1e-13, atol=1e-15)
    dx, dprev, dWx, dWh, db = np.zeros_like(x), np.zeros_like(h0), 0, 0, 0
    for t in reversed(range(T)):
        dx[:, t], dprev, dWx_t, dWh_t, db_t = steps.rnn_step_backward(dh[:, t] + dprev, caches[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    for got, expected in zip(tool.rnn_backward(dh, cache), (dx, dprev, dWx, dWh, db)):
        assert np.allclose(got, expected, rtol=1e-12, atol=1e-14)
