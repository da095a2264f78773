"""The sandbox, the wire format and the trusted runner's proxies, each on its own.

Every property of the sandbox is checked both ways a sandboxed process starts: from nothing
(bubblewrap running a command) and forked from a warm template (autograder.run.template).
"""

import io
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from autograder.course import REPO
from autograder.run import answer_key, wire
from autograder.run.sandbox import Limits, Sandbox, View, build_font_cache, require_bubblewrap
from autograder.run.template import Template
from autograder.run.trusted import ChildLost, StudentProcess, proxy, run_graded_cell
from gradlab.exercises.chain_rule import wavy

FAST = Limits(cell_seconds=3, notebook_seconds=20)


def test_values_cross_the_wire_unchanged():
    value = {"W1": np.eye(2), "meta": (1, 2.5, None, True, "x", [np.arange(3)])}
    back = wire.decode(wire.encode(value))
    assert np.array_equal(back["W1"], value["W1"]) and back["meta"][:5] == (1, 2.5, None, True, "x")


def test_a_random_generator_crosses_as_its_state():
    rng = np.random.default_rng(3)
    back = wire.decode(wire.encode(rng))
    assert np.array_equal(back.random(4), np.random.default_rng(3).random(4))


def test_functions_stay_on_the_trusted_side_as_callbacks():
    callbacks = []
    encoded = wire.encode((wavy, 2.0), callbacks)
    assert callbacks == [wavy] and encoded["tuple"][0] == {"callback": 0}
    calls = []
    stub, x = wire.decode(encoded, lambda index: lambda *a: calls.append((index, a)))
    stub(x)
    assert calls == [(0, (2.0,))]


def test_array_subclasses_arrive_as_plain_arrays():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return True

    back = wire.decode(wire.encode(np.zeros(3).view(Liar)))
    assert type(back) is np.ndarray


@pytest.mark.parametrize(
    "value", [np.array([object()]), {1: 2}, object(), print, lambda: 0, np.float64(1).__class__]
)
def test_anything_but_plain_values_is_refused(value):
    with pytest.raises(wire.WireError):
        wire.encode(value)


def test_pickled_arrays_and_foreign_functions_are_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    import base64

    with pytest.raises(ValueError):
        wire.decode({"ndarray": base64.b64encode(buffer.getvalue()).decode()})
    with pytest.raises(wire.WireError):
        wire.decode({"function": "os:system"})
    with pytest.raises(wire.WireError):
        wire.decode({"callback": 0})  # only where the decoding side has stubs to give


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    root = tmp_path_factory.mktemp("runtime")
    root.chmod(0o755)
    return root


@pytest.fixture(scope="module")
def template(runtime, tmp_path_factory):
    """A template as a grading worker has one; None where templates are not used."""
    if os.geteuid() != 0:
        yield None
        return
    font_cache = build_font_cache(tmp_path_factory.mktemp("matplotlib"))
    template = Template(Sandbox(answer_key.template_view(font_cache), FAST, runtime))
    yield template
    template.close()


@pytest.fixture(params=["started from nothing", "forked from a template"])
def way(request, template):
    """How the sandboxed process starts: None (a command), or the template to fork it from."""
    if request.param.startswith("forked"):
        if template is None:
            pytest.skip("a template is used when grading as root only")
        return template
    return None


# code run in a forked child, whose only channel is its functions' results
CAPTURED = """
import contextlib, io, traceback
_out, _err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(_out), contextlib.redirect_stderr(_err):
    try:
{code}
    except BaseException:
        traceback.print_exc()
def captured():
    return _out.getvalue(), _err.getvalue()
"""


def run_sandboxed(code, runtime, way, view=None, limits=FAST, timeout=60, cpus=None):
    """(returncode, stdout, stderr) of Python code run in a sandbox started `way`."""
    box = Sandbox(view or answer_key.kernel_view(frozenset()), limits, runtime, cpus)
    try:
        if way is None:
            command = box.command([sys.executable, "-c", code])
            return subprocess.run(
                command, capture_output=True, text=True, env=box.env(), timeout=timeout, check=False
            )
        box.seal()
        process = way.fork("child", box, box.env())
        try:
            cell = CAPTURED.format(code=textwrap.indent(code, " " * 8))
            wire.send(process.stdin, {"cells": [cell], "functions": ["captured"], "refused": []})
            wire.receive(process.stdout)
            wire.send(process.stdin, {"call": "captured", "args": wire.encode(())})
            out, err = wire.decode(wire.receive(process.stdout)[0]["result"])
            return subprocess.CompletedProcess(code, 0, out, err)
        except (EOFError, wire.WireError):  # the process was stopped by a limit
            return subprocess.CompletedProcess(code, 1, "", "")
        finally:
            process.kill()
            process.wait()
    finally:
        box.close()


def test_bubblewrap_is_available():
    require_bubblewrap()


@pytest.fixture
def secrets():
    """Secrets where a grader keeps things: its home, /tmp, beside the course's answers."""
    name = f"gradlab-secret-{uuid.uuid4().hex}"
    places = [Path.home() / name, Path("/tmp") / name, REPO / "solutions" / name]
    for place in places:
        place.write_text("the grader's secret")
    yield places
    for place in places:
        place.unlink()


def test_student_code_sees_neither_the_machine_nor_the_course(runtime, way, secrets):
    code = (
        "import os\n"
        "for path in " + repr([str(p) for p in secrets]) + ":\n"
        "    print(os.path.exists(path))\n"
        f"print(os.path.exists({str(REPO / 'source')!r}), "
        f"os.path.exists({str(REPO / 'tests')!r}))\n"
        "print(os.listdir('/tmp'), os.getuid())\n"
    )
    result = run_sandboxed(code, runtime, way)
    lines = result.stdout.splitlines()
    assert lines[:4] == ["False", "False", "False", "False False"], result.stderr
    listing, uid = lines[4].rsplit(" ", 1)
    assert "gradlab-secret" not in listing
    if os.geteuid() == 0:
        assert int(uid) != 0, "student code must not run as root"


def test_a_course_kept_in_tmp_is_seen_and_the_rest_of_tmp_is_not(runtime, way, tmp_path):
    """A clone in /tmp (as CI may make): its folders stay visible under the sandbox's own /tmp."""
    course, beside = tmp_path / "course", tmp_path / "beside"
    course.mkdir()
    beside.mkdir()
    (course / "lesson.txt").write_text("the lesson")
    (beside / "secret.txt").write_text("the grader's secret")
    kernel = answer_key.kernel_view(frozenset())
    view = View((*kernel.visible, str(course)))
    if way is not None:  # a template shows all its forks' Views show
        shows = answer_key.template_view()
        way = Template(Sandbox(View((*shows.visible, str(course), str(beside))), FAST, runtime))
    code = (
        f"print(open({str(course / 'lesson.txt')!r}).read())\n"
        f"import os; print(os.path.exists({str(beside)!r}))\n"
    )
    try:
        result = run_sandboxed(code, runtime, way, view=view)
    finally:
        if way is not None:
            way.close()
    assert result.stdout.splitlines()[:2] == ["the lesson", "False"], result.stderr


def test_student_code_writes_only_its_bounded_scratch(runtime, way):
    outside = REPO / f"sandbox-probe-{uuid.uuid4().hex}.txt"
    code = (
        "import pathlib\n"
        "pathlib.Path('mine.txt').write_text('ok')\n"
        "print(pathlib.Path('mine.txt').read_text())\n"
        "try:\n"
        "    for i in range(8):  # 8 files of 4 MiB: each is allowed, all together are not\n"
        "        open(f'big{i}', 'wb').write(b'x' * (4 * 1024**2))\n"
        "except OSError as exc:\n"
        "    print('disk full:', exc.errno, i)\n"
        f"open({str(outside)!r}, 'w')\n"
    )
    result = run_sandboxed(code, runtime, way, limits=Limits(disk_bytes=16 * 1024**2))
    ok, full = result.stdout.splitlines()[:2]
    assert ok == "ok" and full.startswith("disk full: 28 ") and int(full.split()[-1]) < 8
    assert "Read-only file system" in result.stderr or "Permission denied" in result.stderr
    assert not outside.exists()


def test_student_code_has_no_network(runtime, way):
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    code = f"import socket; socket.create_connection(('127.0.0.1', {server.getsockname()[1]}), 2)"
    result = run_sandboxed(code, runtime, way)
    server.close()
    refused = ("ConnectionRefusedError", "Network is unreachable", "PermissionError")
    assert any(reason in result.stderr for reason in refused), result.stderr


def test_student_code_has_a_memory_and_a_cpu_limit(runtime, way):
    result = run_sandboxed("x = bytearray(4 * 1024**3)", runtime, way)
    assert "MemoryError" in result.stderr
    result = run_sandboxed("while True: pass", runtime, way, limits=Limits(cpu_seconds=1))
    assert result.returncode != 0


@pytest.mark.skipif(os.geteuid() != 0, reason="a process limit of its own needs a uid of its own")
def test_student_code_has_a_process_limit_and_kill_minus_one_reaches_only_itself(runtime, way):
    code = (
        "import os, time\n"
        "children = []\n"
        "try:\n"
        "    for _ in range(200):\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "        children.append(pid)\n"
        "except OSError:\n"
        "    print('stopped at', len(children))\n"
        "os.kill(-1, 9)\n"
    )
    neighbour = subprocess.Popen(["sleep", "30"])
    try:
        result = run_sandboxed(code, runtime, way, limits=Limits(processes=20))
        assert "stopped at" in result.stdout and int(result.stdout.split()[-1]) < 20
        assert neighbour.poll() is None, "kill -1 reached a process outside the sandbox"
    finally:
        neighbour.kill()


def test_nothing_a_student_starts_outlives_the_sandbox(runtime, way):
    marker = f"gradlab-orphan-{uuid.uuid4().hex}"
    code = (
        "import os\n"
        "if os.fork() == 0:\n"
        f"    os.execvp('setsid', ['setsid', 'sh', '-c', 'exec -a {marker} sleep 60'])"
    )
    run_sandboxed(code, runtime, way)
    time.sleep(0.5)
    survivors = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    assert not survivors.strip()


def test_the_trusted_runs_child_sees_only_the_tools_its_lesson_gives(runtime, way):
    view = answer_key.child_view({"gradlab.tools.softmax"})
    code = (
        "import importlib\n"
        "for name in ['gradlab.tools.softmax', 'gradlab.tools.conv', 'gradlab.numeric',\n"
        "             'gradlab.exercises.softmax', 'gradlab.checking', 'autograder.grade']:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        print(name, 'visible')\n"
        "    except ImportError:\n"
        "        print(name, 'hidden')\n"
        f"import os; print(os.listdir({str(answer_key.GRADLAB / 'exercises')!r}))\n"
    )
    lines = run_sandboxed(code, runtime, way, view=view).stdout.splitlines()
    assert lines == [
        "gradlab.tools.softmax visible",
        "gradlab.tools.conv hidden",
        "gradlab.numeric hidden",
        "gradlab.exercises.softmax hidden",
        "gradlab.checking visible",
        "autograder.grade hidden",
        "[]",
    ]


def student(cells, runtime, way, names=("softmax",), lesson="01_softmax"):
    process = StudentProcess(lesson, FAST, runtime, template=way)
    process.load(cells, list(names))
    return process


def test_proxies_return_plain_values_and_mirror_in_place_changes(runtime, way):
    process = student(
        [
            "class Liar(np.ndarray):\n    pass",
            "import numpy as np\ndef softmax(z):\n    z *= 2\n    return np.ones(3).view(Liar)",
        ][::-1],
        runtime,
        way,
    )
    try:
        z = np.ones(3)
        result = proxy(process, "softmax")(z)
        assert type(result) is np.ndarray
        assert np.array_equal(z, 2 * np.ones(3)), "the in-place change is visible to the check"
    finally:
        process.close()


def test_functions_given_to_student_code_are_called_back(runtime, way):
    cells = [
        "import numpy as np\n"
        "def numerical_gradient(f, x, h=1e-5):\n"
        "    grad = np.zeros_like(x)\n"
        "    for i in np.ndindex(x.shape):\n"
        "        e = np.zeros_like(x)\n"
        "        e[i] = h\n"
        "        grad[i] = (f(x + e) - f(x - e)) / (2 * h)\n"
        "    return grad"
    ]
    process = student(cells, runtime, way, ("numerical_gradient",), "00_chain_rule")
    try:
        test = (
            "from gradlab.exercises.chain_rule import check_numerical_gradient\n"
            "check_numerical_gradient(numerical_gradient, shape=(2, 3))"
        )
        namespace = {"numerical_gradient": proxy(process, "numerical_gradient")}
        assert run_graded_cell(test, namespace).passed
    finally:
        process.close()


def test_the_child_stops_a_runaway_cell_as_the_kernel_does_and_loads_the_rest(runtime, way):
    cells = ["while True:\n    pass", "def softmax(z):\n    return z * 2"]
    process = student(cells, runtime, way)  # FAST: a cell may run 3 s
    try:
        assert proxy(process, "softmax")(np.ones(2)).tolist() == [2.0, 2.0]
    finally:
        process.close()


def test_a_proxied_call_that_hangs_times_out(runtime, way):
    process = student(["def softmax(z):\n    while True:\n        pass"], runtime, way)
    try:
        with pytest.raises(ChildLost, match="no answer within"):
            proxy(process, "softmax")(np.ones(2))
    finally:
        process.close()


def test_graded_cells_run_on_proxies_pass_and_fail_like_in_the_notebook(runtime, way):
    cells = [
        "import numpy as np\n"
        "def softmax(z):\n"
        "    e = np.exp(z - z.max(axis=-1, keepdims=True))\n"
        "    return e / e.sum(axis=-1, keepdims=True)",
    ]
    process = student(cells, runtime, way)
    try:
        test = "from gradlab.exercises.softmax import check_softmax\ncheck_softmax(softmax)"
        assert run_graded_cell(test, {"softmax": proxy(process, "softmax")}).passed
        failing = "from gradlab.exercises.softmax import check_softmax_jacobian\n" + (
            "check_softmax_jacobian(softmax)"
        )
        verdict = run_graded_cell(failing, {"softmax": proxy(process, "softmax")})
        assert not verdict.passed and verdict.message.startswith("softmax_jacobian:")
        assert verdict.kind
    finally:
        process.close()


def test_all_calls_of_one_submission_share_one_notebook_time_budget(runtime, way):
    limits = Limits(cell_seconds=5, notebook_seconds=8)
    process = StudentProcess("01_softmax", limits, runtime, template=way)
    started = time.monotonic()
    process.load(["import time\ndef softmax(z):\n    time.sleep(2.5)\n    return z"], ["softmax"])
    try:
        with pytest.raises(ChildLost, match="no answer within"):
            for _ in range(5):  # 12.5 s of calls would fit 5 s calls one by one, not the budget
                proxy(process, "softmax")(np.ones(2))
        assert time.monotonic() - started < 8 + 2
    finally:
        process.close()
