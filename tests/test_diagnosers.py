"""The general diagnosers of gradlab.checking, on arrays no exercise declared anything for."""

import pickle

import numpy as np
import pytest

from gradlab.checking import (
    DIAGNOSERS,
    GENERIC,
    KINDS,
    WIDTH,
    Check,
    CheckFailed,
    Sum,
    compare,
    wrapped,
)
from gradlab.inputs import rng_for

RNG = rng_for(7)
SQUARE = RNG.normal(size=(4, 4))
IMAGE = RNG.normal(size=(2, 3, 5, 6))
DOUT = RNG.normal(size=(5, 3))


def failure(got, expected, **options):
    with pytest.raises(CheckFailed) as caught:
        compare("dW", got, expected, **options)
    return caught.value


def shifted_by_one(a):
    out = np.zeros_like(a)
    out[..., 1:, 1:] = a[..., :-1, :-1]
    return out


def with_wrong_border(a):
    out = a.copy()
    out[..., 0, :] += 1.0
    return out


@pytest.mark.parametrize(
    ("got", "expected", "options", "kind", "words"),
    [
        (SQUARE.T, SQUARE, {}, "transpose", "is the transpose of the expected"),
        (DOUT.T.reshape(5, 3), DOUT, {}, "transpose", "the transpose, reshaped"),
        (
            IMAGE.transpose(1, 0, 2, 3),
            IMAGE,
            {"axes": ("example", "channel", "row", "column")},
            "transpose",
            "(channel, example, row, column) instead of (example, channel, row, column)",
        ),
        (DOUT, DOUT.sum(axis=0), {}, "axis", "summed over axis 0 it is right"),
        (DOUT.sum(axis=0), DOUT, {"axes": ("example", None)}, "axis", "summed over example"),
        (
            DOUT.sum(axis=1),
            DOUT.sum(axis=0),
            {"inputs": [("dout", DOUT)]},
            "axis",
            "dW is dout summed over axis 1: sum over axis 0 instead",
        ),
        (
            SQUARE.sum(axis=1),
            SQUARE.sum(axis=0),
            {"inputs": [("dout", SQUARE)]},
            "axis",
            "summed over axis 1",
        ),
        (-SQUARE, SQUARE, {}, "sign", "times -1"),
        (3 * SQUARE, SQUARE, {}, "factor", "times 3"),
        (
            DOUT[-1],
            DOUT.sum(axis=0),
            {"sums": Sum([(None, r) for r in DOUT], "example")},
            "accumulation",
            "holds the contribution of the last example only",
        ),
        (
            DOUT[1:].sum(axis=0),
            DOUT.sum(axis=0),
            {"sums": Sum([(None, r) for r in DOUT], "example")},
            "missing term",
            "misses the contribution of the first example",
        ),
        (
            np.where(np.arange(5)[:, None] == 4, DOUT, 0.0),
            DOUT,
            {"axes": ("time step", None)},
            "slices",
            "only the last time step matches",
        ),
        (shifted_by_one(IMAGE), IMAGE, {}, "slices", "shifted by (1, 1)"),
        (with_wrong_border(IMAGE), IMAGE, {}, "slices", "only the interior"),
        (SQUARE + np.eye(4) + np.eye(4)[::-1], SQUARE, {}, GENERIC, "8 of 16 entries are wrong"),
    ],
)
def test_a_general_diagnoser_names_the_mistake_on_any_array(got, expected, options, kind, words):
    found = failure(got, expected, **options)
    first = str(found).splitlines()[0]
    assert found.kind == kind and words in first, first


def test_overwriting_in_a_loop_is_named_from_a_declared_sum():
    x = RNG.normal(size=6)
    terms = [(slice(i, i + 3), w) for i, w in enumerate(RNG.normal(size=(4, 3)))]
    expected = np.zeros(6)
    overwritten = np.zeros(6)
    for index, value in terms:
        expected[index] += value
        overwritten[index] = value
    found = failure(overwritten, expected, sums=Sum(terms, "window"), inputs=[("x", x)])
    assert found.kind == "accumulation" and "+=" in str(found)


def test_an_exercise_hint_replaces_the_general_advice():
    found = failure(SQUARE.T, SQUARE, hints={"transpose": "dW = x.T @ dout, like W"})
    assert str(found).splitlines()[0] == (
        "dW is the transpose of the expected value: dW = x.T @ dout, like W"
    )
    assert found.hint == "dW = x.T @ dout, like W"


def test_every_runner_failure_has_a_kind_and_survives_pickling():
    def stub(z):
        raise NotImplementedError()

    def crash(z):
        return z @ np.ones((7, 7))

    for fn, kind in [(stub, "not implemented"), (crash, "error"), (lambda z: None, "no return")]:
        with pytest.raises(CheckFailed) as caught, Check("f", fn, "case") as check:
            check.compare("out", check.call(np.ones((2, 3))), np.ones((2, 3)))
        assert caught.value.kind == kind
        copy = pickle.loads(pickle.dumps(caught.value))
        assert (copy.kind, str(copy)) == (kind, str(caught.value))


def test_kinds_are_a_closed_set_and_every_diagnoser_is_documented():
    with pytest.raises(ValueError):
        CheckFailed("message", kind="no such kind")
    assert GENERIC in KINDS
    assert all(d.__doc__ for d in DIAGNOSERS)


def affine_backward_with_x_times_dout(dout, cache):
    x, W, _ = cache
    dW = x @ dout
    return dout @ W.T, dW, dout.sum(axis=0)


def softmax_without_keepdims(z):
    e = np.exp(z - z.max(axis=-1))
    return e / e.sum(axis=-1, keepdims=True)


def rows_minus_one(p, y):
    p = p.copy()
    p[y] -= 1
    return p


@pytest.mark.parametrize(
    ("fn", "args", "words"),
    [
        (
            affine_backward_with_x_times_dout,
            (np.ones((4, 3)), (np.ones((4, 5)), np.ones((5, 3)), np.ones(3))),
            "raised ValueError in `dW = x @ dout`: x is (4, 5) and dout is (4, 3); dW must "
            "have W's shape (5, 3): which product of x and dout gives that?",
        ),
        (softmax_without_keepdims, (np.ones((4, 5)),), "shapes (4,5) (4,) do not broadcast"),
        (rows_minus_one, (np.ones((4, 5)), np.array([5, 1])), "index runs past the end"),
    ],
)
def test_an_error_in_the_students_code_gets_the_shapes_of_its_line(fn, args, words):
    with pytest.raises(CheckFailed) as caught, Check(fn.__name__, fn, "case") as check:
        check.call(*args)
    first, *rest = str(caught.value).splitlines()
    assert len(first) <= WIDTH and all(len(line) <= WIDTH for line in rest)
    continued = " ".join([first, *(line[2:] for line in rest if line.startswith("  "))])
    assert caught.value.kind == "error" and words in continued


def test_a_long_diagnosis_wraps_after_a_clause_and_joins_back():
    text = "softmax_cross_entropy: dz is the transpose of the expected value: " + "word " * 40
    lines = wrapped(text.strip())
    assert lines[0] == "softmax_cross_entropy: dz is the transpose of the expected value:"
    assert all(len(line) <= WIDTH for line in lines)
    assert " ".join(line.strip() for line in lines) == text.strip()
