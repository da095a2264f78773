"""Values a student chose to be costly get a specific diagnosis at once, never a grader error.

The checks run in the grader's own process on whatever the student's function returned, so
every value below must be refused or diagnosed quickly. The time bound is a guard against
work that grows with the value (before the bounds, these took seconds to minutes), not a
benchmark.
"""

import time

import numpy as np
import pytest

import gradlab.checking
from gradlab.checking import GENERIC, CheckFailed, compare
from gradlab.exercises.conv import check_conv_forward_naive
from gradlab.exercises.softmax import check_softmax, check_softmax_cross_entropy
from gradlab.tools.softmax import softmax

GUARD_SECONDS = 2.0


def nested_tuple(depth):
    value = 1.0
    for _ in range(depth):
        value = (value,)
    return value


def nested_list(depth):
    value = [1.0]
    for _ in range(depth):
        value = [value]
    return value


# (name, a function making the value, what the diagnosis says, its kind)
PATHOLOGICAL = [
    ("20 axes of 2", lambda: np.ones((2,) * 20), "has 20 axes, expected shape", "shape"),
    ("64 axes of 1", lambda: np.ones((1,) * 64), "has 64 axes, expected shape", "shape"),
    ("16 axes of NaN", lambda: np.full((2,) * 16, np.nan), "has 16 axes", "shape"),
    ("huge", lambda: np.ones(3_000_000), "3000000 entries, expected shape", "shape"),
    ("tuple 10000 deep", lambda: nested_tuple(10_000), "nested over 16 deep", "type"),
    ("list 60 deep", lambda: nested_list(60), "nested over 16 deep", "type"),
    ("100000 keys", lambda: dict.fromkeys(map(str, range(100_000))), "over 10000 items", "type"),
    ("1e6 floats", lambda: [0.5] * 1_000_000, "over 10000 items", "type"),
    ("int beyond floats", lambda: 10**400, "an integer too large for a float", "type"),
]


def conv_forward_returning(value):
    return check_conv_forward_naive(lambda x, w, b, conv_param: (value, (x, w, b, conv_param)))


# {the check's name: the check of a student function returning `value` as its first compared
# output}: one array, an array in a tuple with a cache, a scalar loss in a tuple
CHECKS = {
    "softmax": lambda value: check_softmax(lambda z: value),
    "conv_forward_naive": conv_forward_returning,
    "softmax_cross_entropy": lambda value: check_softmax_cross_entropy(lambda z, y: (value, z)),
}


def timed_failure(run, value):
    """The CheckFailed of run(value) and the CPU seconds it took."""
    start = time.process_time()
    with pytest.raises(CheckFailed) as caught:
        run(value)
    return caught.value, time.process_time() - start


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize(
    ("make", "words", "kind"), [case[1:] for case in PATHOLOGICAL], ids=[c[0] for c in PATHOLOGICAL]
)
def test_a_pathological_value_is_refused_at_once_with_a_specific_diagnosis(
    check, make, words, kind
):
    failure, seconds = timed_failure(CHECKS[check], make())
    diagnosis = str(failure).replace("\n  ", " ")  # the wrapped first line, joined back
    assert diagnosis.startswith(f"{check}: ") and words in diagnosis, diagnosis
    assert failure.kind == kind
    assert seconds < GUARD_SECONDS


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["NaN", "inf"])
def test_an_answer_of_the_right_shape_with_nan_or_inf_is_named_unstable(value):
    failure, seconds = timed_failure(CHECKS["softmax"], np.full((4, 5), value))
    assert failure.kind == "instability" and "NaN or inf, first at index (0, 0)" in str(failure)
    assert seconds < GUARD_SECONDS


def test_the_right_answer_still_passes_as_an_array_and_as_nested_lists(capsys):
    check_softmax(softmax)
    check_softmax(lambda z: softmax(z).tolist())
    assert capsys.readouterr().out.count("softmax passed") == 2


def test_an_answer_a_sum_short_keeps_its_diagnosis():
    expected = np.arange(12.0).reshape(3, 4)
    per_example = np.stack([expected, expected]) / 2  # (2, 3, 4): the sum over axis 0 left out
    with pytest.raises(CheckFailed) as caught:
        compare("dW", per_example, expected)
    assert caught.value.kind == "axis" and "summed over axis 0 it is right" in str(caught.value)


def test_the_orders_of_many_axes_are_not_all_tried(monkeypatch):
    monkeypatch.setattr(gradlab.checking, "DIAGNOSIS_SECONDS", 600.0)  # the cap alone bounds it
    expected = np.random.default_rng(0).normal(size=(2,) * 9)  # 9! orders of its axes
    reversed_and_off = expected.transpose(tuple(range(9))[::-1]) + 1
    failure, seconds = timed_failure(lambda got: compare("out", got, expected), reversed_and_off)
    assert failure.kind == GENERIC and seconds < GUARD_SECONDS


def test_a_diagnosis_out_of_time_falls_back_to_the_general_message(monkeypatch):
    square = np.arange(16.0).reshape(4, 4)
    monkeypatch.setattr(gradlab.checking, "DIAGNOSIS_SECONDS", -1.0)  # past before it starts
    with pytest.raises(CheckFailed) as caught:
        compare("dW", square.T, square)
    assert caught.value.kind == GENERIC
    assert str(caught.value).startswith("dW: 12 of 16 entries are wrong, the first at index (0, 1)")
    with pytest.raises(CheckFailed) as caught:
        compare("dW", square[:, :3], square)
    assert caught.value.kind == "shape"
    assert str(caught.value).startswith("dW has shape (4, 3), expected (4, 4)")


@pytest.mark.parametrize("error", [RuntimeError, MemoryError, RecursionError])
def test_a_diagnoser_that_fails_falls_back_to_the_general_message(monkeypatch, error):
    def failing(c):
        """A diagnoser that fails."""
        raise error("a value no diagnoser foresaw")

    diagnosers = [failing, *gradlab.checking.DIAGNOSERS]
    monkeypatch.setattr(gradlab.checking, "DIAGNOSERS", diagnosers)
    square = np.arange(16.0).reshape(4, 4)
    with pytest.raises(CheckFailed) as caught:
        compare("dW", 2 * square, square)
    assert caught.value.kind == GENERIC and "15 of 16 entries are wrong" in str(caught.value)
