"""No student can stop, steer or read the grading of a class (docs/threat-model.md).

One class, graded by the grading command with two workers: honest students beside students
who forge what the trusted run's child says on its pipe, write a value built to make the
diagnoses slow, fill /tmp, busy 64 threads, go looking for the hidden tests from inside the
kernel, and two who try to pass bits to each other while both are graded (they are the
first two notebooks of the run, so the two workers grade them at the same time).
"""

import csv
import re
import textwrap

import nbformat
import pytest

from autograder.course import notebook_name
from autograder.demo import _solutions
from autograder.grade import grade
from tests.test_grading import (
    LESSON,
    LIMITS,
    OTHER,
    hidden_test_lines,
    solved,
    student_version,
)

# student code that finds its pipe to the grader (in the trusted run's child) and writes
# WRITTEN (an expression) on it
TO_GRADER = """for fd in range(3, 64):
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        continue
    if stat.S_ISFIFO(mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
        os.write(fd, WRITTEN)
"""


def writing_to_grader(written, indent):
    """TO_GRADER writing the expression `written`, indented by `indent` spaces."""
    return textwrap.indent(TO_GRADER.replace("WRITTEN", written), " " * indent)


# in the trusted run's child: write `payload` on the pipe to the grader, then carry on
FORGE = """import os, stat, sys, fcntl
if "autograder.run.student_child" in sys.modules:
""" + writing_to_grader("{payload}", 4)
PAYLOADS = {
    "not_json": "(12).to_bytes(8, 'big') + b'not json!!!!'",
    "huge_header": "(2**40).to_bytes(8, 'big')",
    "deep_json": "(200002).to_bytes(8, 'big') + b'[' * 100001 + b']' * 100001",
    "ready_wrong_types": (
        "(lambda m: len(m).to_bytes(8, 'big') + m)"
        '(b\'{"ready": {"softmax": [1, [2]], "nope": 3}, "answer_key": "x"}\')'
    ),
    "ready_not_identifiers": (
        "(lambda m: len(m).to_bytes(8, 'big') + m)"
        '(b\'{"ready": {"softmax": ["class", "class"]}, "answer_key": []}\')'
    ),
}
STRANGE_SIGNATURE = """class Parameters:
    parameters = {"class": None, "1 x": None}


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


softmax.__signature__ = Parameters()
"""
SLOW_TO_DIAGNOSE = "def softmax(z):\n    return np.zeros((2,) * 20)"
FILLS_TMP = """try:
    with open('/tmp/fill', 'wb') as f:
        for _ in range(1000):
            f.write(b'x' * 1024**2)
except OSError as exc:
    print('stopped:', exc)
"""
BUSY = """import threading
def spin():
    while True:
        pass
for _ in range(64):
    try:
        threading.Thread(target=spin, daemon=True).start()
    except RuntimeError:
        break
"""
LOOKS_FOR_HIDDEN_TESTS = """ip = get_ipython()
ip.events.register("pre_run_cell", lambda info: print("CELL:", info.raw_cell))
import inspect, sys
def softmax(z):
    for frame in inspect.stack():
        print("FRAME:", frame.filename, frame.code_context)
    print("HISTORY:", ip.history_manager.input_hist_raw if ip else None)
    raise RuntimeError("".join(str(m) for m in sys.modules))
"""
# what the trusted run's child sees of the hidden cases, it may try to say: on a visible case,
# after the hidden ones were run (RECORDS: the shapes its softmax was called on), or on a
# hidden case itself (RAISES_ON_HIDDEN: the hidden Jacobians are of sizes 2 and 7)
RECORDS = {
    "softmax": """seen = []
def softmax(z):
    seen.append("x".join(map(str, z.shape)))
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
""",
    "softmax_cross_entropy": """def softmax_cross_entropy(z, y):
    raise ValueError("RECORDED " + "+".join(seen))
""",
}
RAISES_ON_HIDDEN = """def softmax_jacobian(z):
    if z.shape != (4,):
        raise ValueError("LEAK " + repr(z.tolist()))
    s = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    return np.diag(s) - np.outer(s, s)
"""
# asks the grader to call its f for ever: each call answered at once, no reply ever late
FLOODS_CALLBACKS = """def numerical_gradient(f, x, h=1e-5):
    while True:
        f(x)
"""
# two students graded at the same time, one sending bits, one listening for them
SENDS = """import fcntl, os, time, ctypes, threading
import numpy
target = os.open(numpy.__file__, os.O_RDONLY)
libc = ctypes.CDLL(None, use_errno=True)
for bit in [1, 0, 1, 1, 0, 1, 0, 0] * 2:
    for lock in (lambda: fcntl.flock(target, fcntl.LOCK_EX | fcntl.LOCK_NB),
                 lambda: fcntl.lockf(target, fcntl.LOCK_SH | fcntl.LOCK_NB)):
        try:
            if bit:
                lock()
        except OSError as exc:
            print("send refused:", exc)
    end = time.monotonic() + 0.25
    while bit and time.monotonic() < end:
        pass  # the CPU's load as a carrier
    time.sleep(0 if bit else 0.25)
"""
LISTENS = """import fcntl, os, time, ctypes
import numpy
target = os.open(numpy.__file__, os.O_RDONLY)
libc = ctypes.CDLL(None, use_errno=True)
heard = []
for _ in range(16):
    try:
        fcntl.flock(target, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(target, fcntl.LOCK_UN)
        heard.append("free")
    except OSError as exc:
        heard.append("refused" if exc.errno in (1, 38) else "RECEIVED a lock")
    try:
        heard.append("RECEIVED a load " + open("/proc/loadavg").read())
    except OSError:
        heard.append("no load figures")
    heard.append("inotify refused" if libc.inotify_init1(0) < 0 else "RECEIVED a watch")
    time.sleep(0.25)
print("HEARD:", "+".join(sorted(set(heard))))
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    submissions, out = root / "submitted", root / "out"
    notebooks = {
        ("aa_sender", OTHER): solved(OTHER, extra_cells=[SENDS]),
        ("ab_listener", OTHER): student_version(OTHER, extra_cells=[LISTENS]),
        ("ada", OTHER): solved(OTHER),
        ("ada", LESSON): solved(LESSON),
        ("strange_signature", LESSON): student_version(
            LESSON, {**_solutions(LESSON), "softmax": STRANGE_SIGNATURE}
        ),
        ("slow_to_diagnose", LESSON): student_version(LESSON, {"softmax": SLOW_TO_DIAGNOSE}),
        ("fills_tmp", LESSON): solved(LESSON, extra_cells=[FILLS_TMP]),
        ("busy", LESSON): solved(LESSON, extra_cells=[BUSY]),
        ("looks_for_hidden_tests", LESSON): student_version(
            LESSON, {**_solutions(LESSON), "softmax": LOOKS_FOR_HIDDEN_TESTS}
        ),
        ("records_hidden", LESSON): student_version(LESSON, {**_solutions(LESSON), **RECORDS}),
        ("floods_callbacks", OTHER): student_version(
            OTHER, {**_solutions(OTHER), "numerical_gradient": FLOODS_CALLBACKS}
        ),
        ("raises_on_hidden", LESSON): student_version(
            LESSON, {**_solutions(LESSON), "softmax_jacobian": RAISES_ON_HIDDEN}
        ),
    }
    for name, payload in PAYLOADS.items():
        notebooks[(f"forges_{name}", LESSON)] = solved(
            LESSON, extra_cells=[FORGE.format(payload=payload)]
        )
    for (student, lesson), nb in notebooks.items():
        path = submissions / student / lesson / notebook_name(lesson)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    results = grade(
        submissions, out, jobs=2, limits=LIMITS, lessons=[OTHER, LESSON], written=False
    ).results
    return {"results": {(r.student, r.lesson): r for r in results}, "out": out}


def page(graded, student, lesson=LESSON):
    folder = graded["out"] / "feedback" / student / lesson
    return (folder / notebook_name(lesson).replace(".ipynb", ".html")).read_text()


def score(graded, student, lesson=LESSON):
    return graded["results"][(student, lesson)].score


def test_the_run_finishes_with_every_grade_and_honest_students_keep_full_marks(graded):
    with open(graded["out"] / "grades.csv", newline="") as f:
        rows = {(r["student"], r["lesson"]) for r in csv.DictReader(f)}
    assert rows == set(graded["results"])
    for key in [("ada", OTHER), ("ada", LESSON), ("aa_sender", OTHER)]:
        assert graded["results"][key].score == graded["results"][key].max_score > 0, key


@pytest.mark.parametrize("forger", sorted(PAYLOADS))
def test_forged_messages_cost_only_the_forgers_marks(graded, forger):
    result = graded["results"][(f"forges_{forger}", LESSON)]
    assert result.score == 0
    assert all("could not be loaded or stopped answering" in c.message for c in result.cells), [
        c.message for c in result.cells
    ]


def test_a_signature_that_makes_no_parameters_is_graded_as_any_function(graded):
    result = graded["results"][("strange_signature", LESSON)]
    assert {c.grade_id: c.score for c in result.cells}["softmax_test"] == 2


def test_a_value_built_to_be_slow_to_diagnose_is_diagnosed_at_once(graded):
    cell = graded["results"][("slow_to_diagnose", LESSON)].cells[0]
    assert cell.score == 0 and "axes" in cell.message and cell.kind == "shape"


def test_bounds_bind_and_cost_only_the_student_who_hits_them(graded):
    result = graded["results"][("fills_tmp", LESSON)]
    assert result.score == result.max_score, [c.message for c in result.cells]
    assert "stopped: [Errno" in page(graded, "fills_tmp")
    # 64 busy threads starve the student's own sandboxes, on their worker's CPU, and only them:
    # its kernel is stopped at the notebook's time (its trusted run may still finish)
    assert graded["results"][("busy", LESSON)].problem.startswith("stopped")
    assert graded["results"][("ada", LESSON)].score == graded["results"][("ada", LESSON)].max_score


def test_no_hidden_test_reaches_a_kernel_or_the_feedback(graded):
    hidden = hidden_test_lines(LESSON)
    html = page(graded, "looks_for_hidden_tests")
    assert "CELL:" in html  # its hook ran, and saw only the cells a student has
    assert not any(line in html for line in hidden)


def test_what_the_child_says_after_seeing_a_hidden_case_reaches_no_page(graded):
    # every visible test runs before any hidden one: what it says of them is shown
    (recorded,) = re.findall(r"RECORDED (4x5[0-9x+]*)", page(graded, "records_hidden"))
    assert set(recorded.split("+")) == {"4x5", "5", "3x4"}, recorded  # not 1x3, 6x6, 7, 5x5
    # on a hidden case, its error's type only, and the case's size and scale
    html = page(graded, "raises_on_hidden")
    assert "LEAK [" not in html and "raised ValueError on a hidden case" in html
    cells = {c.grade_id: c for c in graded["results"][("raises_on_hidden", LESSON)].cells}
    assert cells["softmax_jacobian_test"].score == 0 and cells["softmax_test"].score == 2


def test_a_child_that_keeps_asking_for_callbacks_ends_with_the_notebooks_time(graded):
    result = graded["results"][("floods_callbacks", OTHER)]
    cells = {c.grade_id: c for c in result.cells}
    assert "within the notebook's time" in cells["numerical_gradient_test"].message


def test_two_students_graded_at_once_exchange_nothing(graded):
    sent, heard = page(graded, "aa_sender", OTHER), page(graded, "ab_listener", OTHER)
    assert "send refused" in sent
    (heard,) = re.findall(r"HEARD: ([^<]*)", heard)
    assert heard.strip() == "inotify refused+no load figures+refused", heard
