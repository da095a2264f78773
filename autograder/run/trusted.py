"""One check, two runners: every graded cell is run again where student code cannot reach it.

In the notebook, a student's code shares the kernel with the test cells and can rewrite what
runs after it (patch numpy or the checks, install input transformers, return arrays whose
comparisons lie). So each graded cell of the *source* notebook is also executed in a trusted
process that never ran student code. There the student's functions are proxies: each call
is executed by a sandboxed child process that loaded only the student's cells
(autograder.run.student_child), and only plain values come back (autograder.run.wire). A cell earns
its points only if the notebook run and the trusted run both pass it.
"""

import contextlib
import inspect
import io
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CallTimeout
from dataclasses import dataclass

import numpy as np

from autograder.notebooks import exercises, graded_cells, nbgrader_meta, source_notebook
from autograder.run import wire
from autograder.run.sandbox import sandbox_env, sandboxed


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str  # the first line of the trusted run's failure, "" when it passed


class StudentProcess:
    """A sandboxed child that loads one student's cells and answers calls to their functions."""

    def __init__(self, hidden, limits, scratch_root=None):
        """Start the child, which imports the heavy modules while it waits for `load`."""
        self.limits = limits
        self.scratch = tempfile.mkdtemp(prefix="trusted-", dir=scratch_root)
        command = [sys.executable, "-m", "autograder.run.student_child"]
        self.process = subprocess.Popen(
            sandboxed(command, self.scratch, hidden, limits),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**sandbox_env(self.scratch), "MPLBACKEND": "Agg"},
            cwd=self.scratch,
        )
        self.reader = ThreadPoolExecutor(1)
        self.signatures = {}
        self.deadline = float("inf")

    def load(self, cells, functions):
        """Run the student's cells in the child; learn which of `functions` they define.

        From here on, loading and every call together get the time of one notebook.
        """
        self.deadline = time.monotonic() + self.limits.notebook_seconds
        wire.send(self.process.stdin, {"cells": cells, "functions": functions})
        self.signatures = self._receive(self.limits.notebook_seconds).get("ready", {})

    def _receive(self, timeout):
        timeout = max(0.1, min(timeout, self.deadline - time.monotonic()))
        try:
            return self.reader.submit(wire.receive, self.process.stdout).result(timeout)
        except CallTimeout:
            self.close()
            raise TimeoutError(f"no answer within {timeout} s") from None
        except (EOFError, wire.WireError) as exc:
            self.close()
            raise RuntimeError(f"the sandboxed process died or misbehaved: {exc}") from None

    def call(self, name, args):
        if self.process.poll() is not None:
            raise RuntimeError("the sandboxed process is no longer running")
        wire.send(self.process.stdin, {"call": name, "args": wire.encode(args)})
        return self._receive(self.limits.cell_seconds)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.reader.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.scratch, ignore_errors=True)


def _write_back(original, returned):
    """Make in-place changes the student's function made in the child visible here too."""
    if isinstance(original, np.ndarray) and isinstance(returned, np.ndarray):
        if original.shape == returned.shape:
            original[...] = returned
    elif isinstance(original, dict) and isinstance(returned, dict):
        for key in set(original) - set(returned):
            del original[key]
        for key, value in returned.items():
            if key in original and isinstance(original[key], (np.ndarray, dict, list, tuple)):
                _write_back(original[key], value)
            else:
                original[key] = value
    elif isinstance(original, (list, tuple)) and isinstance(returned, (list, tuple)):
        for old, new in zip(original, returned):
            _write_back(old, new)


def _raise_student_error(error):
    if error["type"] == "NotImplementedError":
        raise NotImplementedError(error["message"])
    line = f" in `{error['line']}`" if error.get("line") else ""
    raise type(error["type"], (Exception,), {})(error["message"] + line)


def proxy(process, name):
    """A stand-in for the student's function `name` that calls it in the child."""

    def call(*args):
        reply = process.call(name, args)
        for warning in reply.get("warnings", []):
            category = RuntimeWarning if warning["category"] == "RuntimeWarning" else UserWarning
            warnings.warn(warning["message"], category, stacklevel=2)
        if "error" in reply:
            _raise_student_error(reply["error"])
        _write_back(args, wire.decode(reply["args"]))
        return wire.decode(reply["result"])

    call.__name__ = call.__qualname__ = name
    params = process.signatures.get(name, [])
    call.__signature__ = inspect.Signature(
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params]
    )
    return call


def student_cells(submitted, source):
    """The code the child loads: setup and solution cells and the student's own cells.

    Graded test cells are left out, and so are the course's demo cells the student left
    unchanged (plots and training runs): they define nothing the checks call.
    """
    course_cells = {
        cell.source
        for cell in source.cells
        if cell.cell_type == "code"
        and not nbgrader_meta(cell).get("solution")
        and not nbgrader_meta(cell).get("grade_id", "").startswith("setup")
    }
    cells = []
    for cell in submitted.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        ours = meta.get("solution") or meta.get("grade_id", "").startswith("setup")
        if ours or cell.source not in course_cells:
            cells.append(cell.source)
    return cells


def run_graded_cell(source, functions):
    """Run one graded cell's source with `functions` bound to their names: a Verdict."""
    namespace = {"np": np, **functions}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            exec(compile(source, "<graded cell>", "exec"), namespace)
        except AssertionError as exc:
            return Verdict(False, (str(exc).strip().splitlines() or ["assertion failed"])[0])
        except Exception as exc:
            return Verdict(
                False,
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                if str(exc)
                else type(exc).__name__,
            )
    return Verdict(True, "")


def verify_notebook(process, lesson, submitted):
    """Verdicts {grade_id: Verdict} of the trusted run of one sanitized submission.

    process: a fresh StudentProcess, used for this submission only and closed afterwards.
    """
    source = source_notebook(lesson)
    names = exercises(source)
    try:
        process.load(student_cells(submitted, source), names)
        functions = {name: proxy(process, name) for name in names if name in process.signatures}
        return {
            cell.grade_id: run_graded_cell(cell.source, functions) for cell in graded_cells(source)
        }
    except (TimeoutError, RuntimeError, OSError) as exc:
        reason = f"the student's code could not be loaded: {exc}"
        return {cell.grade_id: Verdict(False, reason) for cell in graded_cells(source)}
    finally:
        process.close()
