"""The general diagnosers of gradlab.checking, on arrays no exercise declared anything for."""

import contextlib
import io
import math
import pickle

import numpy as np
import pytest

import gradlab.checking
from autograder.course import lesson_ids
from autograder.notebooks import exercises, graded_cell, source_notebook
from gradlab.checking import (
    DIAGNOSERS,
    GENERIC,
    HINT_OFFER,
    KINDS,
    WIDTH,
    Check,
    CheckFailed,
    Probe,
    Probing,
    Sum,
    Switch,
    compare,
    hint,
    wrapped,
)
from gradlab.inputs import rng_for
from tests.conftest import solution_functions

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


# ---------------------------------------------------------------- what a second look finds


def test_integers_where_floats_belong_are_named_integers_not_a_factor():
    expected = RNG.normal(size=(4, 5)) / 4
    found = failure(np.zeros((4, 5), dtype=int), expected)
    assert found.kind == "dtype" and "dW is an array of integers where floats belong" in str(found)


def test_an_answer_right_for_one_sign_of_an_input_says_where_it_goes_wrong():
    x = RNG.normal(size=(4, 5))
    expected = RNG.normal(size=(4, 5))
    masked = failure(expected * (x > 0), expected, inputs=[("x", x)])
    assert masked.kind == "region"
    assert str(masked).startswith("dW is right where x > 0 and 0 where x < 0")
    doubled = failure(np.where(x < 0, 2 * expected, expected), expected, inputs=[("x", x)])
    assert str(doubled).startswith("dW is right where x > 0 and wrong where x < 0")


@pytest.mark.parametrize(
    ("got", "expected", "general", "conv"),
    [
        (SQUARE[:3], SQUARE, "stops too early", "stride"),
        (shifted_by_one(IMAGE), IMAGE, "starts at the wrong place", "pad"),
    ],
)
def test_a_general_diagnosis_gives_no_other_exercises_example(got, expected, general, conv):
    first = str(failure(got, expected)).splitlines()[0]
    assert general in first and conv not in first, first


def two_outputs_check(fn):
    """A check of fn(x) -> (x @ W, x.sum(axis=0)) on x (4, 3): shapes (4, 2) and (3,)."""
    x, W = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 2))
    with Check("pair", lambda x: fn(x, W), "x (4, 3)") as check:
        got = check.unpack(check.call(x), ("out", "total"), (x @ W, x.sum(axis=0)))
        check.compare("out", got[0], x @ W)
        check.compare("total", got[1], x.sum(axis=0))


def test_outputs_are_matched_by_value_before_their_shapes_are_judged():
    with pytest.raises(CheckFailed) as caught:
        two_outputs_check(lambda x, W: (x.sum(axis=0), x @ W))
    assert caught.value.kind == "order"
    assert "returned in the wrong order: your out is total, your total is out" in str(caught.value)


def test_a_generic_failure_says_which_other_outputs_are_right():
    with pytest.raises(CheckFailed) as caught:
        two_outputs_check(lambda x, W: (x @ W + np.eye(4, 2), x.sum(axis=0)))
    first = " ".join(line.strip() for line in str(caught.value).splitlines()[:2])
    assert caught.value.kind == GENERIC and first.endswith("(total is right)")


def test_state_kept_between_calls_is_named():
    def counting(z, calls=[]):  # noqa: B006
        calls.append(z)
        return z + len(calls) - 1

    z = RNG.normal(size=3)
    with pytest.raises(CheckFailed) as caught, Check("f", counting, "z (3,)") as check:
        check.call(z)
        check.compare("out", check.call(z), z)
    assert caught.value.kind == "state"
    assert "called twice on the same inputs, f returned two different results" in str(caught.value)


def linear_loss(W, X, reg):
    """A toy exercise: (loss, dW) of sum(X @ W) / N + reg * sum(W**2)."""
    return np.sum(X @ W) / len(X) + reg * np.sum(W * W), X.sum(axis=0)[:, None] / len(
        X
    ) + 2 * reg * W


def linear_check(fn, N=4, D=3, reg=0.1):
    X, W = RNG.normal(size=(N, D)), RNG.normal(size=(D, 1))
    probe = Probe(
        {"W": (W, "D 1"), "X": (X, "N D"), "reg": (reg, "")},
        lambda W, X, reg: (W, X, reg),
        linear_loss,
        ("loss", "dW"),
        switches=(Switch("reg = 0", "the regularization term is off", {"reg": 0.0}),),
    )
    with Check("linear_loss", fn, f"N={N}", probe) as check:
        got = check.unpack(check.call(W, X, reg), ("loss", "dW"), linear_loss(W, X, reg))
        for name, value, want in zip(("loss", "dW"), got, linear_loss(W, X, reg)):
            check.compare(name, value, want)


def test_a_probe_names_the_part_at_fault_by_switching_parts_off():
    def penalty_tripled(W, X, reg):
        loss, dW = linear_loss(W, X, reg)
        return loss + 2 * reg * np.sum(W * W), dW

    with pytest.raises(CheckFailed) as caught:
        linear_check(penalty_tripled)
    first = str(caught.value).splitlines()[0]
    assert caught.value.kind == "path"
    assert first.startswith(
        "linear_loss: the regularization term is off: loss is right when reg = 0"
    )
    assert "(dW is right)" in first


def test_a_probe_shrinks_a_failing_case_to_the_smallest_with_simple_values():
    def first_example_twice(W, X, reg):
        loss, _ = linear_loss(W, X, reg)
        return loss, (X.sum(axis=0) + X[0])[:, None] / len(X) + 2 * reg * W

    with pytest.raises(CheckFailed) as caught:
        linear_check(first_example_twice)
    message = str(caught.value)
    assert caught.value.kind == "smallest case"
    assert "dW: wrong (loss is right); the smallest case found where it still is: D=1, N=1" in (
        " ".join(line.strip() for line in message.splitlines()[:2])
    )
    shown = message.split("the smallest failing case found (D=1, N=1):\n")[1].splitlines()
    # reg = 0 keeps it wrong, so the case switches the regularization off too
    assert all(line.startswith("  ") for line in shown) and "  reg = 0" in shown
    X = next(line for line in shown if line.startswith("  X = "))
    assert X in ("  X = [[-1.]]", "  X = [[1.]]", "  X = [[-2.]]", "  X = [[2.]]"), X


def test_the_second_look_stops_at_its_time_budget(monkeypatch):
    monkeypatch.setattr(gradlab.checking, "PROBE_SECONDS", -1.0)  # past before it starts

    def first_example_twice(W, X, reg):
        loss, dW = linear_loss(W, X, reg)
        return loss, dW + X[0][:, None]

    with pytest.raises(CheckFailed) as caught:
        linear_check(first_example_twice)
    assert caught.value.kind == GENERIC and "entries are wrong" in str(caught.value)


def test_the_kernel_shows_what_is_wrong_first_and_the_hint_when_asked_or_shown_again(capsys):
    def failing():
        with Check("f", lambda z: z.T, "z (4, 4)") as check:
            check.compare("dW", check.call(SQUARE), SQUARE, hints={"transpose": "dW = x.T @ dout"})

    with pytest.raises(CheckFailed) as caught:
        failing()
    first = caught.value.shown()
    assert "check the order of the factors" in first and "dW = x.T @ dout" not in first
    assert first.endswith(HINT_OFFER)
    hint()
    assert capsys.readouterr().out == "hint: dW = x.T @ dout\n"
    assert "dW = x.T @ dout" in caught.value.shown()  # the same diagnosis shown again
    assert str(caught.value).splitlines()[0].endswith("dW = x.T @ dout")  # the grader's: all


def probed_checks(lesson, monkeypatch):
    """Every Check with a Probe that the lesson's graded cells make on its solutions."""
    made = []
    original = Check.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.probe is not None:
            made.append(self)

    monkeypatch.setattr(Check, "__init__", recording)
    solutions = solution_functions(lesson)
    with contextlib.redirect_stdout(io.StringIO()):
        for exercise in exercises(source_notebook(lesson)):
            source = graded_cell(lesson, exercise).source
            exec(compile(source, f"<{exercise}_test>", "exec"), {**solutions})
    return made


@pytest.mark.parametrize("lesson", lesson_ids())
def test_every_probe_finds_the_solutions_right_in_every_case_it_tries(lesson, monkeypatch):
    for check in probed_checks(lesson, monkeypatch):
        probe, looking = check.probe, Probing(check.probe, check._run, math.inf)
        values, sizes = probe.values(), probe.sizes()
        cases = [
            values,
            probe.resized(values, {size: probe.smallest.get(size, 1) for size in sizes}),
        ]
        cases += [probe.switched(values, switch, sizes) for switch in probe.switches]
        for case in cases:
            outcome = looking.outcome(case)
            assert outcome is None or not looking.wrong(outcome), (check.name, check.case, case)
        assert looking.outcome(values) is not None, (check.name, check.case)
