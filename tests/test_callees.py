"""One mistake costs one exercise: a function that calls another exercise's function is graded
given the course's reference for it (gradlab.checking.calls).

In the student's own kernel (the checks in-process, on the student's own functions) a failing
self-check names a callee of the student's that fails its own check. In the trusted run (a
real sandboxed child) the student's function is lent the course's reference as a callback,
so a callee's mistake costs the callee's points only, and the caller's verdict says which
case it is; a child that forges or garbles a callback is refused.
"""

import ast
import contextlib
import copy
import importlib
import io

import numpy as np
import pytest

from autograder.course import lesson_ids
from autograder.demo import _solutions
from autograder.notebooks import (
    exercises,
    graded_cell,
    graded_cells,
    nbgrader_meta,
    source_notebook,
)
from autograder.run import answer_key, wire
from autograder.run.kernels import record_verdicts
from autograder.run.sandbox import Limits
from autograder.run.student_child import lent
from autograder.run.trusted import StudentProcess, setup_sources, verify_notebook
from autograder.run.values import Verdict
from gradlab.checking import CALLEES, UNLENT, CheckFailed, first_line
from tests.test_grading import student_version
from tests.test_hostile_run import writing_to_grader

LIMITS = Limits(cell_seconds=20, notebook_seconds=120)
FAILS_OWN_CHECK = "fails its own check"
STUB = "def {name}(*args):\n    raise NotImplementedError()"

# a mistake in a step function, and one in the sequence function that calls it
TANH_AT_THE_PRE_ACTIVATION = ("1 - next_h**2", "1 - next_h")
OVERWRITTEN_DWX = ("dWx += dWx_t", "dWx = dWx_t")
DPREV_C_WITHOUT_F = ("dprev_c = dc * f", "dprev_c = dc")
DOUBLED_DSCORES = (
    "dscores = softmax_loss(scores, y)",
    "dscores = softmax_loss(scores, y)\n    dscores *= 2",
)

# lesson 04's reference mlp_loss calls no layer function, a student's may
MLP_FROM_LAYERS = """def mlp_loss(params, X, y, activation="sigmoid"):
    def act_forward(z):
        if activation == "tanh":
            return np.tanh(z), np.tanh(z)
        return {"sigmoid": sigmoid_forward, "relu": relu_forward}[activation](z)

    def act_backward(dout, cache):
        if activation == "tanh":
            return dout * (1 - cache**2)
        return {"sigmoid": sigmoid_backward, "relu": relu_backward}[activation](dout, cache)

    L, N = len(params) // 2, X.shape[0]
    a, caches = X, []
    for i in range(1, L + 1):
        z, affine_cache = affine_forward(a, params[f"W{i}"], params[f"b{i}"])
        act_cache = None
        if i < L:
            a, act_cache = act_forward(z)
        caches.append((affine_cache, act_cache))
    dz = softmax(z)
    dz[np.arange(N), y] -= 1
    dz /= N
    grads = {}
    for i in range(L, 0, -1):
        affine_cache, act_cache = caches[i - 1]
        if i < L:
            dz = act_backward(da, act_cache)
        da, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dz, affine_cache)
    return cross_entropy(z, y), grads
"""
RELU_MASK_INVERTED = ("dout * (x > 0)", "dout * (x < 0)")


def answers(lesson, **changes):
    """The lesson's solutions, with (old, new) replaced in the solution of each exercise named."""
    solutions = _solutions(lesson)
    for exercise, (old, new) in changes.items():
        assert old in solutions[exercise], (exercise, old)
        solutions[exercise] = solutions[exercise].replace(old, new)
    return solutions


def declared(lesson, unlent=False):
    """{caller: [callee names]} of a lesson, from the checks its test cells import: the calls
    the grader lends the course's reference for, and with unlent=True those it cannot."""
    for cell in graded_cells(source_notebook(lesson)):
        for module in answer_key.imported_modules([cell.source]):
            importlib.import_module(module)
    names = exercises(source_notebook(lesson))
    found = {f: [c.name for c in CALLEES[f]] for f in names if f in CALLEES}
    for f, callees in UNLENT.items() if unlent else ():
        if f in names:
            found[f] = found.get(f, []) + list(callees)
    return found


def solution_calls(lesson):
    """{caller: {callees}}: the exercises each reference solution of a lesson calls."""
    solutions = _solutions(lesson)
    found = {}
    for name, source in solutions.items():
        used = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
        if callees := used & (set(solutions) - {name}):
            found[name] = callees
    return found


# ---------------------------------------------------------------- the declarations


@pytest.mark.parametrize("lesson", lesson_ids())
def test_every_call_of_a_solution_is_declared_and_each_callee_is_graded_first(lesson):
    calls = declared(lesson, unlent=True)
    for caller, callees in solution_calls(lesson).items():
        assert callees <= set(calls.get(caller, ())), (caller, callees)
    # graded before its callers: the reference they are lent cannot answer its own check
    order = [cell.exercise for cell in graded_cells(source_notebook(lesson))]
    for caller, callees in calls.items():
        assert all(order.index(callee) < order.index(caller) for callee in callees), caller


def test_lessons_04_08_11_and_12_declare_their_callers():
    assert declared("04_mlp_backprop") == {
        "mlp_loss": [
            "affine_forward",
            "affine_backward",
            "sigmoid_forward",
            "sigmoid_backward",
            "relu_forward",
            "relu_backward",
        ],
        "classic_bp_grads": ["sigmoid_forward", "sigmoid_backward"],
    }
    assert declared("08_bptt") == {
        "rnn_forward": ["rnn_step_forward"],
        "rnn_backward": ["rnn_step_backward"],
    }
    assert declared("11_lstm") == {
        "lstm_forward": ["lstm_step_forward"],
        "lstm_backward": ["lstm_step_forward", "lstm_step_backward"],
    }
    assert declared("12_capstone") == {"train": ["cnn_loss"]}


def test_every_reference_lent_passes_its_own_check():
    for lesson in lesson_ids():
        declared(lesson)
    for callee in {callee for callees in CALLEES.values() for callee in callees}:
        with contextlib.redirect_stdout(io.StringIO()):
            callee.check(callee.reference)


# ---------------------------------------------------------------- the student's own kernel


def kernel(lesson, solutions):
    """A student's kernel: the lesson's setup cells and the student's solution cells run."""
    namespace = {"np": np}
    for source in [*setup_sources(source_notebook(lesson)), *solutions.values()]:
        exec(compile(source, f"<{lesson}>", "exec"), namespace)
    return namespace


def self_check(namespace, lesson, exercise):
    """The CheckFailed of an exercise's test cell run in the kernel, or None when it passes."""
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            exec(graded_cell(lesson, exercise).source, dict(namespace))
        except CheckFailed as exc:
            return exc
    return None


SOLUTION_CALLS = [
    (lesson, caller, callee)
    for lesson in lesson_ids()
    for caller, callees in sorted(solution_calls(lesson).items())
    for callee in sorted(callees)
]


@pytest.mark.parametrize("lesson, caller, callee", SOLUTION_CALLS)
def test_a_self_check_names_the_unfinished_callee_first(lesson, caller, callee):
    solutions = {**_solutions(lesson), callee: STUB.format(name=callee)}
    found = self_check(kernel(lesson, solutions), lesson, caller)
    lead = f"{caller}: your {callee}, which {caller} calls, {FAILS_OWN_CHECK}: not implemented"
    assert first_line(str(found)).startswith(lead), found


def test_a_self_check_tells_a_wrong_step_from_a_wrong_sequence_function():
    wrong_step = kernel("08_bptt", answers("08_bptt", rnn_step_backward=TANH_AT_THE_PRE_ACTIVATION))
    found = self_check(wrong_step, "08_bptt", "rnn_backward")
    assert first_line(str(found)).startswith(
        f"rnn_backward: your rnn_step_backward, which rnn_backward calls, {FAILS_OWN_CHECK}: dx:"
    )
    assert "\nwith it, rnn_backward gets: dx:" in str(found)

    wrong_sequence = kernel("08_bptt", answers("08_bptt", rnn_backward=OVERWRITTEN_DWX))
    found = self_check(wrong_sequence, "08_bptt", "rnn_backward")
    assert first_line(str(found)).startswith(
        "rnn_backward: dWx: only the contribution of time step 0"
    )
    assert found.kind == "accumulation" and FAILS_OWN_CHECK not in str(found)
    assert self_check(wrong_sequence, "08_bptt", "rnn_step_backward") is None


def test_a_self_check_names_a_callee_the_reference_does_not_call():
    solutions = {**answers("04_mlp_backprop", relu_backward=RELU_MASK_INVERTED)}
    solutions["mlp_loss"] = MLP_FROM_LAYERS
    found = self_check(kernel("04_mlp_backprop", solutions), "04_mlp_backprop", "mlp_loss")
    assert first_line(str(found)).startswith(
        f"mlp_loss: your relu_backward, which mlp_loss calls, {FAILS_OWN_CHECK}: dx: the mask is"
    )
    solutions = {**_solutions("04_mlp_backprop"), "mlp_loss": MLP_FROM_LAYERS}
    right = kernel("04_mlp_backprop", solutions)
    assert self_check(right, "04_mlp_backprop", "mlp_loss") is None


# ---------------------------------------------------------------- the trusted run


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    root = tmp_path_factory.mktemp("runtime")
    root.chmod(0o755)
    return root


def trusted_run(runtime, lesson, solutions):
    """The verdicts of the trusted run of a submission with these solution cells."""
    children = lambda: StudentProcess(lesson, LIMITS, runtime)  # noqa: E731
    return verify_notebook(children, lesson, student_version(lesson, solutions))


def failed(verdicts):
    return {grade_id for grade_id, verdict in verdicts.items() if not verdict.passed}


@pytest.mark.parametrize(
    "lesson, callee, mistake, callers",
    [
        ("08_bptt", "rnn_step_backward", TANH_AT_THE_PRE_ACTIVATION, ["rnn_backward"]),
        ("11_lstm", "lstm_step_backward", DPREV_C_WITHOUT_F, ["lstm_backward"]),
        ("12_capstone", "cnn_loss", DOUBLED_DSCORES, ["train"]),
    ],
)
def test_a_step_mistake_costs_only_the_step_and_the_caller_says_why_it_passed(
    runtime, lesson, callee, mistake, callers
):
    verdicts = trusted_run(runtime, lesson, answers(lesson, **{callee: mistake}))
    assert failed(verdicts) == {f"{callee}_test"}
    # the note needs the student's own callee after the lent call: it was put back
    for caller in callers:
        note = verdicts[f"{caller}_test"].detail
        assert note.startswith(
            f"{caller} is right given a correct {callee}; your {callee} {FAILS_OWN_CHECK}: "
        ), note


def test_a_sequence_mistake_with_a_right_step_costs_only_the_sequence_function(runtime):
    verdicts = trusted_run(runtime, "08_bptt", answers("08_bptt", rnn_backward=OVERWRITTEN_DWX))
    assert failed(verdicts) == {"rnn_backward_test"}
    verdict = verdicts["rnn_backward_test"]
    assert verdict.kind == "accumulation"
    assert verdict.message.startswith("rnn_backward: dWx: only the contribution of time step 0")
    assert (
        "rnn_backward was given a correct rnn_step_backward (the course's), so the mistake is "
        "in rnn_backward itself" in " ".join(line.strip() for line in verdict.detail.splitlines())
    )
    assert not verdicts["rnn_step_backward_test"].detail


def test_a_callee_the_reference_does_not_call_is_lent_too(runtime):
    solutions = answers("04_mlp_backprop", relu_backward=RELU_MASK_INVERTED)
    solutions["mlp_loss"] = MLP_FROM_LAYERS
    verdicts = trusted_run(runtime, "04_mlp_backprop", solutions)
    assert failed(verdicts) == {"relu_backward_test"}
    assert verdicts["mlp_loss_test"].detail.startswith(
        f"mlp_loss is right given a correct relu_backward; your relu_backward {FAILS_OWN_CHECK}"
    )


SEES_ITS_CALLEE = """def rnn_backward(dh, cache):
    import inspect
    stub = rnn_step_backward
    raise RuntimeError(f"{stub.__qualname__} in {inspect.getsourcefile(stub)}")
"""


def test_in_the_sandbox_the_callee_is_a_stub_that_calls_back(runtime):
    solutions = {**_solutions("08_bptt"), "rnn_backward": SEES_ITS_CALLEE}
    seen = trusted_run(runtime, "08_bptt", solutions)["rnn_backward_test"].detail
    assert "Channel.callback.<locals>.stub in" in seen and "student_child.py" in seen, seen
    assert "gradlab" not in seen


def test_a_lent_name_is_put_back_after_the_call():
    namespace = {"rnn_step_backward": "the student's"}
    with lent(namespace, {"rnn_step_backward": "lent", "rnn_step_forward": "lent"}):
        assert namespace == {"rnn_step_backward": "lent", "rnn_step_forward": "lent"}
    assert namespace == {"rnn_step_backward": "the student's"}


# ---------------------------------------------------------------- forged and garbled callbacks

# during a call, write `message` on the child's pipe to the grader, as its own stub would
FORGES = (
    """def {name}(*args):
    import fcntl, json, os, stat
    data = json.dumps({message!r}).encode()
"""
    + writing_to_grader('len(data).to_bytes(8, "big") + data', 4)
    + """    raise RuntimeError("forged")
"""
)
DX = {"ndarray": wire.encode(np.zeros((2, 3)))["ndarray"]}
STEP_ARGS = {"tuple": [DX, {"tuple": [DX] * 5}]}


@pytest.mark.parametrize(
    "name, message, why",
    [
        # the step function is lent nothing: the reference is not there to reach
        ("rnn_step_backward", {"callback": 0, "args": STEP_ARGS}, "never offered"),
        ("rnn_backward", {"callback": 1, "args": STEP_ARGS}, "never offered"),
        ("rnn_backward", {"callback": "rnn_step_backward", "args": STEP_ARGS}, "never offered"),
        ("rnn_backward", {"callback": 0, "args": {"list": []}}, "arguments are not a tuple"),
        ("rnn_backward", {"callback": 0, "args": {"function": "os:system"}}, "unknown kind"),
        ("rnn_backward", {"callback": 0, "args": STEP_ARGS, "name": "x"}, "unexpected fields"),
    ],
)
def test_a_forged_or_garbled_callback_is_refused(runtime, name, message, why):
    solutions = {**_solutions("08_bptt"), name: FORGES.format(name=name, message=message)}
    verdicts = trusted_run(runtime, "08_bptt", solutions)
    refused = verdicts[f"{name}_test"]
    assert not refused.passed and refused.kind == "limit"
    assert "it broke the protocol" in refused.message and why in refused.message, refused.message


@pytest.mark.parametrize(
    "message",
    [
        {"callback": 1, "args": {"tuple": []}},
        {"callback": True, "args": {"tuple": []}},
        {"callback": 0, "args": {"dict": {}}},
        {"callback": 0, "args": {"tuple": [{"callback": 0}]}},
        {"callback": 0, "args": {"tuple": []}, "given": {"dict": {}}},
        {"callback": 0},
    ],
)
def test_the_schema_refuses_a_callback_request_that_is_not_one(message):
    with pytest.raises(wire.WireError):
        wire.reply(message, [print])


def test_the_schema_gives_a_callback_its_decoded_arguments():
    request = {"callback": 0, "args": wire.encode((np.ones(2), 3))}
    index, args = wire.reply(request, [print])[1:]
    assert index == 0 and np.array_equal(args[0], np.ones(2)) and args[1] == 3


def test_the_feedback_shows_a_passing_cell_s_note():
    nb = copy.deepcopy(source_notebook("08_bptt"))
    note = "rnn_backward is right given a correct rnn_step_backward; your ... fails"
    verdicts = {c.grade_id: Verdict(True, "", detail=note) for c in graded_cells(nb)}
    record_verdicts(nb, verdicts)
    shown = [
        c.outputs[0].text
        for c in nb.cells
        if c.cell_type == "code" and nbgrader_meta(c).get("grade") and c.outputs
    ]
    assert shown and all(text.startswith("✔ passed") and note in text for text in shown)
