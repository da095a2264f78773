"""Lesson 06: the solutions' gradients against central differences, the identities the lesson
teaches (the matrix of a correlation, tied gradients add up, dx = M^T dz), the vectorised
convolution of gradlab.tools.conv against the naive solutions, and the image data."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.data.images import CLASSES, shapes
from gradlab.exercises import checkpoints
from gradlab.exercises import conv as trusted
from gradlab.numeric import numerical_gradient, numerical_vjp, rel_error
from gradlab.tools import conv as tool
from tests.conftest import solution_functions

LESSON = "06_conv_weight_sharing"


def fns():
    return solution_functions(LESSON)


@st.composite
def conv_problems(draw):
    """(x, w, b, conv_param) of any small shape, stride and padding, windows that fit."""
    N, C, F = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    HH, WW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride, pad = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, HH - 2 * pad), HH - 2 * pad + 6))
    W = draw(st.integers(max(1, WW - 2 * pad), WW - 2 * pad + 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x, w, b = rng.normal(size=(N, C, H, W)), rng.normal(size=(F, C, HH, WW)), rng.normal(size=F)
    return x, w, b, {"stride": stride, "pad": pad}


# --- 1-D ---------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(0, 6), st.integers(0, 2**16))
def test_the_matrix_computes_the_valid_correlation(k, extra, seed):
    n = k + extra
    rng = np.random.default_rng(seed)
    w, x = rng.normal(size=k), rng.normal(size=n)
    M = fns()["conv1d_matrix"](w, n)
    assert M.shape == (n - k + 1, n)
    assert np.allclose(M @ x, np.correlate(x, w, mode="valid"), rtol=1e-12, atol=1e-12)
    assert np.array_equal(M, trusted.conv1d_matrix(w, n))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(0, 6), st.integers(0, 2**16))
def test_tied_gradient_agrees_with_central_differences(k, extra, seed):
    n = k + extra
    rng = np.random.default_rng(seed)
    w, dM = rng.normal(size=k), rng.normal(size=(n - k + 1, n))
    numeric = numerical_gradient(lambda w_: np.sum(dM * fns()["conv1d_matrix"](w_, n)), w)
    got = fns()["tied_weight_grad"](dM, k)
    assert rel_error(got, numeric) < 1e-8
    assert np.allclose(got, trusted.tied_weight_grad(dM, k), rtol=1e-12, atol=1e-12)


def test_tied_gradient_of_an_outer_product_is_the_correlation_of_x_with_dz():
    rng = np.random.default_rng(0)
    x, dz = rng.normal(size=9), rng.normal(size=6)
    dw = fns()["tied_weight_grad"](np.outer(dz, x), 4)
    assert np.allclose(dw, np.correlate(x, dz, mode="valid"), rtol=1e-12)


def test_the_transpose_holds_the_reversed_kernel():
    M = fns()["conv1d_matrix"](np.array([1.0, 2.0, 3.0]), 6)
    dz = np.random.default_rng(1).normal(size=4)
    # dx = M^T dz is the full convolution of dz with w: np.convolve flips the kernel
    assert np.allclose(M.T @ dz, np.convolve(dz, [1.0, 2.0, 3.0], mode="full"), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(0, 6), st.integers(0, 2**16))
def test_the_checkpoint_conv1d_input_grad_agrees_with_central_differences(k, extra, seed):
    """dx = M^T dz by central differences of x -> correlate(x, w), the solution's and the
    reference's; and the lesson's remark that it is the full convolution of dz with w."""
    n = k + extra
    rng = np.random.default_rng(seed)
    w, x, dz = rng.normal(size=k), rng.normal(size=n), rng.normal(size=n - k + 1)
    numeric = numerical_vjp(lambda v: np.correlate(v, w, mode="valid"), x, dz)
    for got in (fns()["conv1d_input_grad"](dz, w), checkpoints.conv1d_input_grad(dz, w)):
        assert rel_error(got, numeric) < 1e-8
    assert np.allclose(checkpoints.conv1d_input_grad(dz, w), np.convolve(dz, w), rtol=1e-12)


def test_every_mistake_of_the_checkpoint_changes_dx():
    rng = np.random.default_rng(2)
    w, dz = rng.normal(size=3), rng.normal(size=6)
    right = checkpoints.conv1d_input_grad(dz, w)
    for mistake in checkpoints.CONV_INPUT_MISTAKES:
        assert rel_error(checkpoints.conv1d_input_grad(dz, w, mistake), right) > 1e-3, mistake


# --- 2-D: solutions against central differences ------------------------------------------


@settings(max_examples=12, deadline=None)
@given(conv_problems())
def test_naive_backward_agrees_with_central_differences(problem):
    x, w, b, conv_param = problem
    forward = fns()["conv_forward_naive"]
    out, cache = forward(x, w, b, conv_param)
    dout = np.random.default_rng(7).normal(size=out.shape)
    dx, dw, db = fns()["conv_backward_naive"](dout, cache)
    assert rel_error(dx, numerical_vjp(lambda v: forward(v, w, b, conv_param)[0], x, dout)) < 1e-8
    assert rel_error(dw, numerical_vjp(lambda v: forward(x, v, b, conv_param)[0], w, dout)) < 1e-8
    assert rel_error(db, numerical_vjp(lambda v: forward(x, w, v, conv_param)[0], b, dout)) < 1e-8


def test_naive_forward_is_the_plain_formula():
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 2, 6, 5)), rng.normal(size=(3, 2, 3, 2)), rng.normal(size=3)
    out, cache = fns()["conv_forward_naive"](x, w, b, {"stride": 2, "pad": 1})
    x_pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    assert out.shape == (2, 3, 3, 3)
    expected = b[2] + np.sum(x_pad[1, :, 4:7, 2:4] * w[2])  # out[1, 2, 2, 1]
    assert np.isclose(out[1, 2, 2, 1], expected, rtol=1e-12)
    assert cache[0] is x and cache[1] is w and cache[2] is b and cache[3] == {"stride": 2, "pad": 1}


# --- 2-D: the vectorised convolution against the naive solutions -------------------------


@settings(max_examples=40, deadline=None)
@given(conv_problems())
def test_vectorised_convolution_agrees_with_the_naive_one(problem):
    x, w, b, conv_param = problem
    copies = [a.copy() for a in (x, w, b)]
    out_naive, cache_naive = fns()["conv_forward_naive"](x, w, b, conv_param)
    out_fast, cache_fast = tool.conv_forward_fast(x, w, b, conv_param)
    assert out_fast.shape == out_naive.shape
    assert np.allclose(out_fast, out_naive, rtol=1e-10, atol=1e-12)
    dout = np.random.default_rng(5).normal(size=out_naive.shape)
    for fast, naive in zip(
        tool.conv_backward_fast(dout, cache_fast),
        fns()["conv_backward_naive"](dout, cache_naive),
    ):
        assert fast.shape == naive.shape
        assert np.allclose(fast, naive, rtol=1e-10, atol=1e-12)
    assert all(np.array_equal(a, c) for a, c in zip((x, w, b), copies)), "inputs modified"


@settings(max_examples=10, deadline=None)
@given(conv_problems())
def test_vectorised_backward_agrees_with_central_differences(problem):
    x, w, b, conv_param = problem
    out, cache = tool.conv_forward_fast(x, w, b, conv_param)
    dout = np.random.default_rng(9).normal(size=out.shape)
    dx, dw, _ = tool.conv_backward_fast(dout, cache)
    naive = fns()["conv_forward_naive"]
    assert rel_error(dx, numerical_vjp(lambda v: naive(v, w, b, conv_param)[0], x, dout)) < 1e-8
    assert rel_error(dw, numerical_vjp(lambda v: naive(x, v, b, conv_param)[0], w, dout)) < 1e-8


def test_stride_that_does_not_divide_leaves_unread_pixels_without_gradient():
    rng = np.random.default_rng(2)
    x, w, b = rng.normal(size=(1, 1, 6, 6)), rng.normal(size=(1, 1, 3, 3)), np.zeros(1)
    conv_param = {"stride": 2, "pad": 0}  # windows start at 0 and 2: row and column 5 unread
    out, cache = tool.conv_forward_fast(x, w, b, conv_param)
    dx = tool.conv_backward_fast(np.ones_like(out), cache)[0]
    assert out.shape == (1, 1, 2, 2)
    assert np.all(dx[0, 0, 5, :] == 0) and np.all(dx[0, 0, :, 5] == 0)
    assert np.allclose(dx, fns()["conv_backward_naive"](np.ones_like(out), cache)[0])


# --- data ---------------------------------------------------------------------------------


def test_shapes_are_reproducible_balanced_and_labelled():
    x, y = shapes(90, size=12, seed=3)
    assert x.shape == (90, 1, 12, 12) and x.dtype == np.float64
    assert y.shape == (90,) and set(np.bincount(y)) == {30}
    again_x, again_y = shapes(90, size=12, seed=3)
    assert np.array_equal(x, again_x) and np.array_equal(y, again_y)
    assert len(CLASSES) == 3


def test_each_class_is_drawn_as_described():
    x, y = shapes(60, size=14, noise=0.0, seed=1)
    for image, label in zip(x[:, 0], y):
        rows, cols = np.nonzero(image)
        assert set(np.unique(image)) == {0.0, 1.0}
        if CLASSES[label] == "bar":  # one straight line
            assert len(set(rows)) == 1 or len(set(cols)) == 1
        elif CLASSES[label] == "cross":  # one full row segment and one column segment
            assert len(set(rows)) > 1 and len(set(cols)) > 1
            assert np.max(image.sum(axis=0)) == np.max(image.sum(axis=1))
        else:  # the outline of a square: its border is lit, its inside dark
            top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
            assert bottom - top == right - left
            assert image[top : bottom + 1, left : right + 1].sum() == 4 * (bottom - top)
