"""Unit tests of the helper package: numerics, input generators, diagnostics, check runner."""

import contextlib
import io
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from gradlab.checking import Check, CheckFailed, Factor, Mistake, batch_factors, compare
from gradlab.inputs import away_from_zero, distinct_values, hinge_safe_problem, rng_for
from gradlab.numeric import numerical_gradient, numerical_jacobian, numerical_vjp, rel_error

finite = st.floats(-10, 10, allow_nan=False, width=64)


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, array_shapes(max_dims=3, max_side=4), elements=finite))
def test_numerical_gradient_matches_the_derivative_and_leaves_x_alone(x):
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(np.sin(v) + 0.5 * v**2), x)
    assert rel_error(grad, np.cos(x) + x) < 1e-8
    assert np.array_equal(x, before)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(0, 10**6))
def test_numerical_vjp_is_the_upstream_gradient_times_the_jacobian(n, m, seed):
    rng = rng_for(seed)
    A, x, dout = rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=m)
    assert (
        rel_error(
            numerical_vjp(lambda v: np.tanh(A @ v), x, dout),
            A.T @ ((1 - np.tanh(A @ x) ** 2) * dout),
        )
        < 1e-8
    )


def test_numerical_jacobian_has_one_row_per_output():
    A = rng_for(0).normal(size=(2, 3))
    J = numerical_jacobian(lambda v: A @ v, np.ones(3))
    assert J.shape == (2, 3) and rel_error(J, A) < 1e-9


@given(
    arrays(np.float64, st.integers(1, 6), elements=finite),
    arrays(np.float64, st.integers(1, 6), elements=finite),
)
def test_rel_error_is_symmetric_bounded_and_zero_safe(a, b):
    if a.shape == b.shape:
        assert rel_error(a, b) == pytest.approx(rel_error(b, a))
        assert 0 <= rel_error(a, b) <= 1 + 1e-12
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(a, a) == 0.0


@settings(max_examples=20)
@given(st.integers(0, 10**6), array_shapes(max_dims=3, max_side=5))
def test_generators_keep_away_from_kinks(seed, shape):
    rng = rng_for(seed)
    assert np.all(np.abs(away_from_zero(rng, shape, gap=0.05)) >= 0.05)
    values = np.sort(distinct_values(rng, shape, gap=0.01).ravel())
    assert np.all(np.diff(values) >= 0.01 - 1e-12)


def test_hinge_problem_margins_are_away_from_zero():
    W, X, y = hinge_safe_problem(rng_for(3), N=20, D=4, C=5, gap=0.05)
    scores = X @ W
    margins = scores - scores[np.arange(20), y][:, None] + 1
    margins[np.arange(20), y] = 1.0
    assert np.all(np.abs(margins) >= 0.05)


def diagnosis(got, expected, **options):
    with pytest.raises(CheckFailed) as failure:
        compare("dW", got, expected, **options)
    return str(failure.value).splitlines()[0]


EXPECTED = np.arange(12.0).reshape(3, 4) - 5.5


def test_compare_accepts_the_right_answer_within_tolerance():
    compare("dW", EXPECTED * (1 + 1e-9), EXPECTED)
    compare("loss", 2.0, np.float64(2.0))


@pytest.mark.parametrize(
    ("got", "expected_words"),
    [
        (None, "did you forget to `return` it"),
        ("text", "not a number or an array"),
        ((EXPECTED, EXPECTED), "tuple of 2 values"),
        (EXPECTED.T, "the transpose of the expected (3, 4)"),
        (EXPECTED[None], "keepdims"),
        (EXPECTED.reshape(4, 3).copy() * 0 + 1, "transpose"),  # (4, 3) is (3, 4) reversed
        (EXPECTED.reshape(2, 6), "the right entries in the shape (2, 6)"),
        (EXPECTED.reshape(2, 6)[:, ::-1], "wrong layout"),
        (EXPECTED.sum(axis=0), "summed over axis 0: that axis must be kept"),
        (-EXPECTED, "times -1"),
        (2 * EXPECTED, "times 2"),
        (EXPECTED / 2, "times 0.5"),
        (np.where(EXPECTED == 0.5, np.nan, EXPECTED), "NaN or inf"),
        (
            EXPECTED + np.eye(3, 4) + np.eye(3, 4)[:, ::-1],
            "6 of 12 entries are wrong, the first at index (0, 0)",
        ),
    ],
)
def test_compare_names_the_mistake(got, expected_words):
    assert expected_words in diagnosis(got, EXPECTED)


def test_compare_names_batch_factors_with_their_hints():
    first = diagnosis(4 * EXPECTED, EXPECTED, factors=batch_factors(4))
    assert (
        first
        == "dW is the expected value times 4 = N: did you forget to divide by the batch size N?"
    )
    assert "divide by the batch size N twice" in diagnosis(
        EXPECTED / 4, EXPECTED, factors=batch_factors(4)
    )


def test_compare_prefers_a_catalogued_mistake_and_its_message():
    first = diagnosis(
        EXPECTED.T.copy().T * 0,
        EXPECTED,
        mistakes=[Mistake(np.zeros((3, 4)), "you returned zeros")],
    )
    assert first == "dW: you returned zeros"


def test_compare_reports_which_slices_match():
    expected = rng_for(1).normal(size=(2, 5, 3))
    only_last = expected.copy()
    only_last[:, :-1] += 1.0
    assert "only the last time step matches" in diagnosis(
        only_last, expected, axes=(None, "time step", None)
    )


def test_compare_factor_with_a_custom_name():
    hint = Factor(5.0, "T", "did you add the per-step gradient once per time step too many?")
    assert "times 5 = T" in diagnosis(5 * EXPECTED, EXPECTED, factors=[hint])


def test_check_reports_stub_exception_and_modified_input():
    def stub(z):
        raise NotImplementedError()

    def crash(z):
        return z @ np.ones((7, 7))

    def in_place(z):
        z *= 2
        return z

    for fn, words in [
        (stub, "not implemented yet"),
        (crash, "raised ValueError"),
        (in_place, "modified its input `z` in place"),
    ]:
        with pytest.raises(CheckFailed, match=words), Check("f", fn, "z of shape (2, 3)") as check:
            check.call(np.ones((2, 3)))


def test_check_keeps_stderr_and_warnings_of_a_correct_answer_off_stderr():
    def noisy(z):
        print("debug", file=sys.stderr)
        warnings.warn("student warning", stacklevel=1)
        return z

    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        Check("noisy", noisy, "a case") as check,
    ):
        check.compare("z", check.call(np.ones(2)), np.ones(2))
    assert err.getvalue() == ""
    assert "debug" in out.getvalue() and "\u2714 noisy passed" in out.getvalue()


def test_check_can_require_warning_free_answers():
    def overflowing(z):
        return 1 / (1 + np.exp(-z))

    with pytest.raises(CheckFailed, match="overflow"), Check("sigmoid", overflowing, "big") as c:
        c.call(np.array([-1e4, 1e4]), warn_free=True)


def test_check_unpack_names_the_expected_tuple():
    with (
        pytest.raises(CheckFailed, match=r"expected a tuple \(loss, dz\)"),
        Check("f", None, "case") as check,
    ):
        check.unpack(1.0, ("loss", "dz"))


def test_a_kernel_that_draws_no_figures_runs_the_drawing_but_encodes_no_png():
    """The grading kernels are told InlineBackend.figure_formats = set() (autograder.run)."""
    from matplotlib_inline.config import InlineBackend

    from gradlab import widgets

    drawn = []

    def draw(fig, a):
        drawn.append(a)
        fig.subplots().plot([0, a])

    InlineBackend.clear_instance()
    try:
        assert widgets.render_png(draw, {"a": 1}, (2, 2)).startswith(b"\x89PNG")  # no kernel
        InlineBackend.instance(figure_formats={"png"})
        assert widgets.render_png(draw, {"a": 2}, (2, 2)).startswith(b"\x89PNG")
        InlineBackend.instance().figure_formats = set()
        assert widgets.render_png(draw, {"a": 3}, (2, 2)) is None
    finally:
        InlineBackend.clear_instance()
    assert drawn == [1, 2, 3]
