"""The sandbox, the wire format and the trusted runner's proxies, each on its own."""

import io
import subprocess
import sys
import time

import numpy as np
import pytest

from autograder.course import REPO
from autograder.run import wire
from autograder.run.sandbox import Limits, require_bubblewrap, sandbox_env, sandboxed
from autograder.run.trusted import StudentProcess, proxy, run_graded_cell
from gradlab.exercises.chain_rule import wavy

FAST = Limits(cell_seconds=3, notebook_seconds=20)


def test_values_cross_the_wire_unchanged():
    value = {"W1": np.eye(2), "meta": (1, 2.5, None, True, "x", [np.arange(3)])}
    back = wire.decode(wire.encode(value))
    assert np.array_equal(back["W1"], value["W1"]) and back["meta"][:5] == (1, 2.5, None, True, "x")
    assert wire.decode(wire.encode(wavy)) is wavy


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


def run_sandboxed(code, tmp_path, hidden=(), limits=FAST):
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    command = sandboxed([sys.executable, "-c", code], scratch, hidden, limits)
    return subprocess.run(
        command, capture_output=True, text=True, env=sandbox_env(scratch), timeout=60, check=False
    )


def test_bubblewrap_is_available():
    require_bubblewrap()


def test_sandboxed_code_writes_only_its_scratch_and_cannot_see_hidden_folders(tmp_path):
    secret = tmp_path / "other_students"
    secret.mkdir()
    (secret / "answers.txt").write_text("42")
    outside = REPO / f"sandbox-probe-{tmp_path.name}.txt"  # a real folder, not the private /tmp
    code = (
        "import os, pathlib\n"
        "pathlib.Path('mine.txt').write_text('ok')\n"
        f"print(os.listdir({str(secret)!r}))\n"
        f"open({str(tmp_path / 'elsewhere.txt')!r}, 'w')\n"
        f"open({str(outside)!r}, 'w')\n"
    )
    result = run_sandboxed(code, tmp_path, hidden=[secret])
    assert "Read-only file system" in result.stderr
    assert result.stdout.strip() == "[]"
    assert (tmp_path / "scratch" / "mine.txt").read_text() == "ok"
    assert not (tmp_path / "elsewhere.txt").exists() and not outside.exists()


def test_sandboxed_code_has_no_network(tmp_path):
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    code = f"import socket; socket.create_connection(('127.0.0.1', {server.getsockname()[1]}), 2)"
    result = run_sandboxed(code, tmp_path)
    server.close()
    assert "ConnectionRefusedError" in result.stderr or "Network is unreachable" in result.stderr


def test_sandboxed_code_has_a_memory_and_a_cpu_limit(tmp_path):
    result = run_sandboxed("x = bytearray(4 * 1024**3)", tmp_path)
    assert "MemoryError" in result.stderr
    result = run_sandboxed("while True: pass", tmp_path, limits=Limits(cpu_seconds=1))
    assert result.returncode != 0


def student(cells, tmp_path, names=("softmax",)):
    process = StudentProcess((), FAST, scratch_root=tmp_path)
    process.load(cells, list(names))
    return process


def test_proxies_return_plain_values_and_mirror_in_place_changes(tmp_path):
    process = student(
        [
            "class Liar(np.ndarray):\n    pass",
            "import numpy as np\ndef softmax(z):\n    z *= 2\n    return np.ones(3).view(Liar)",
        ][::-1],
        tmp_path,
    )
    try:
        z = np.ones(3)
        result = proxy(process, "softmax")(z)
        assert type(result) is np.ndarray
        assert np.array_equal(z, 2 * np.ones(3)), "the in-place change is visible to the check"
    finally:
        process.close()


def test_a_proxied_call_that_hangs_times_out(tmp_path):
    process = student(["def softmax(z):\n    while True:\n        pass"], tmp_path)
    try:
        with pytest.raises(TimeoutError):
            proxy(process, "softmax")(np.ones(2))
    finally:
        process.close()


def test_graded_cells_run_on_proxies_pass_and_fail_like_in_the_notebook(tmp_path):
    cells = [
        "import numpy as np\n"
        "def softmax(z):\n"
        "    e = np.exp(z - z.max(axis=-1, keepdims=True))\n"
        "    return e / e.sum(axis=-1, keepdims=True)",
    ]
    process = student(cells, tmp_path)
    try:
        test = "from gradlab.exercises.softmax import check_softmax\ncheck_softmax(softmax)"
        assert run_graded_cell(test, {"softmax": proxy(process, "softmax")}).passed
        failing = "from gradlab.exercises.softmax import check_softmax_jacobian\n" + (
            "check_softmax_jacobian(softmax)"
        )
        verdict = run_graded_cell(failing, {"softmax": proxy(process, "softmax")})
        assert not verdict.passed and verdict.message.startswith("softmax_jacobian:")
    finally:
        process.close()


def test_all_calls_of_one_submission_share_one_notebook_time_budget(tmp_path):
    limits = Limits(cell_seconds=3, notebook_seconds=3)
    process = StudentProcess((), limits, scratch_root=tmp_path)
    process.load(["import time\ndef softmax(z):\n    time.sleep(1.2)\n    return z"], ["softmax"])
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            for _ in range(5):  # 6 s of calls would fit 3 s calls one by one, not the budget
                proxy(process, "softmax")(np.ones(2))
        assert time.monotonic() - started < 4.5
    finally:
        process.close()
