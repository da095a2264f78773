"""Lesson 07: the solutions' gradients against central differences on tie-free inputs, the
first-maximum rule on inputs with ties, overlapping windows accumulating, and the trusted
references of gradlab.exercises.pooling against the solutions."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.exercises import checkpoints
from gradlab.exercises import pooling as trusted
from gradlab.inputs import distinct_values
from gradlab.numeric import numerical_gradient, numerical_vjp, rel_error
from gradlab.tools import pooling as tool
from tests.conftest import solution_functions

LESSON = "07_max_pooling"


def fns():
    return solution_functions(LESSON)


@st.composite
def pool_problems(draw, ties=False):
    """(x, pool_param) of any small shape and window, with distinct values or many ties."""
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    PH, PW, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H, W = PH + draw(st.integers(0, 4)), PW + draw(st.integers(0, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    shape = (N, C, H, W)
    x = rng.integers(0, 3, size=shape).astype(float) if ties else distinct_values(rng, shape)
    return x, {"pool_height": PH, "pool_width": PW, "stride": stride}


@settings(max_examples=30, deadline=None)
@given(pool_problems())
def test_backward_agrees_with_central_differences_without_ties(problem):
    x, pool_param = problem
    forward = fns()["max_pool_forward_naive"]
    out, cache = forward(x, pool_param)
    dout = np.random.default_rng(1).normal(size=out.shape)
    dx = fns()["max_pool_backward_naive"](dout, cache)
    assert rel_error(dx, numerical_vjp(lambda v: forward(v, pool_param)[0], x, dout)) < 1e-8


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**16))
def test_the_checkpoint_max_window_grad_agrees_with_central_differences(PH, PW, seed):
    """Distinct values: dout at the maximum by central differences of dout * max(window), the
    solution's and the reference's."""
    rng = np.random.default_rng(seed)
    window, dout = distinct_values(rng, (PH, PW), gap=0.1), float(rng.normal())
    numeric = numerical_gradient(lambda v: dout * np.max(v), window)
    for got in (fns()["max_window_grad"](window, dout), checkpoints.max_window_grad(window, dout)):
        assert rel_error(got, numeric) < 1e-8


def test_the_checkpoint_sends_a_tied_window_to_its_first_maximum_and_agrees_with_the_layer():
    window = np.array([[1.0, 3.0, 0.0], [3.0, 2.0, 3.0]])
    expected = np.array([[0.0, 2.5, 0.0], [0.0, 0.0, 0.0]])
    assert np.array_equal(fns()["max_window_grad"](window, 2.5), expected)
    x = window[None, None]
    pool_param = {"pool_height": 2, "pool_width": 3, "stride": 1}
    layer = trusted.max_pool_backward(np.full((1, 1, 1, 1), 2.5), (x, pool_param))
    assert np.array_equal(layer[0, 0], expected)
    for mistake in checkpoints.MAX_WINDOW_MISTAKES:
        if mistake != "height":
            assert not np.array_equal(checkpoints.max_window_grad(window, 2.5, mistake), expected)


@settings(max_examples=30, deadline=None)
@given(pool_problems(ties=True))
def test_ties_send_everything_to_the_first_maximum(problem):
    x, pool_param = problem
    out, cache = fns()["max_pool_forward_naive"](x, pool_param)
    dout = np.random.default_rng(2).normal(size=out.shape)
    dx = fns()["max_pool_backward_naive"](dout, cache)
    assert np.allclose(dx, trusted.max_pool_backward(dout, cache, choose="first"), rtol=1e-12)
    assert np.isclose(dx.sum(), dout.sum())  # every window hands back its whole gradient


@settings(max_examples=30, deadline=None)
@given(st.one_of(pool_problems(), pool_problems(ties=True)))
def test_trusted_references_agree_with_the_solutions(problem):
    x, pool_param = problem
    copy = x.copy()
    out, cache = fns()["max_pool_forward_naive"](x, pool_param)
    ref_out, ref_cache = trusted.max_pool_forward(x, pool_param)
    assert out.shape == ref_out.shape and np.array_equal(out, ref_out)
    assert cache[0] is x and cache[1] == pool_param and ref_cache[1] == pool_param
    dout = np.random.default_rng(3).normal(size=out.shape)
    assert np.allclose(
        fns()["max_pool_backward_naive"](dout, cache),
        trusted.max_pool_backward(dout, ref_cache),
        rtol=1e-12,
    )
    assert np.array_equal(x, copy), "an input was modified"


def test_tie_rules_differ_exactly_where_the_lesson_says():
    x = np.array([[[[1.0, 5.0], [5.0, 2.0]]]])
    cache = (x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dout = np.ones((1, 1, 1, 1))
    first = fns()["max_pool_backward_naive"](dout, cache)[0, 0]
    assert np.array_equal(first, [[0, 1], [0, 0]])
    assert np.array_equal(
        trusted.max_pool_backward(dout, cache, choose="last")[0, 0], [[0, 0], [1, 0]]
    )
    split = trusted.max_pool_backward(dout, cache, choose="split")[0, 0]
    assert np.array_equal(split, [[0, 0.5], [0.5, 0]])
    # central differences at a tie give the split, the average of the one-sided derivatives
    numeric = numerical_vjp(lambda v: trusted.max_pool_forward(v, cache[1])[0], x, dout)
    assert np.allclose(numeric[0, 0], split)


def test_overlapping_windows_accumulate():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # the centre is the maximum of all four 2x2 windows
    out, cache = fns()["max_pool_forward_naive"](
        x, {"pool_height": 2, "pool_width": 2, "stride": 1}
    )
    dx = fns()["max_pool_backward_naive"](np.ones_like(out), cache)
    assert dx[0, 0, 1, 1] == 4 and dx.sum() == 4


def test_average_pooling_reference_agrees_with_central_differences():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 2, 7, 6))
    pool_param = {"pool_height": 3, "pool_width": 2, "stride": 2}
    out, cache = tool.avg_pool_forward(x, pool_param)
    dout = rng.normal(size=out.shape)
    numeric = numerical_vjp(lambda v: tool.avg_pool_forward(v, pool_param)[0], x, dout)
    assert rel_error(tool.avg_pool_backward(dout, cache), numeric) < 1e-8
