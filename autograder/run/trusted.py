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
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CallTimeout

import numpy as np

from autograder.costs import tree_cpu
from autograder.notebooks import exercises, graded_cells, nbgrader_meta, source_notebook
from autograder.run import answer_key, wire
from autograder.run.sandbox import Sandbox
from autograder.run.values import Verdict
from gradlab.checking import CheckFailed

ANSWER_KEY_KIND = "answer key"  # the student's code imported the answer key
TAMPERING = "tampering"  # passed in the notebook, failed on the student's functions alone


class StudentProcess:
    """A sandboxed child that loads one student's cells and answers calls to their functions."""

    def __init__(self, lesson, limits, runtime_root, font_cache=None, template=None):
        """Start the child, forked from `template` if there is one, else from nothing (then
        it imports the heavy modules while it waits for `load`)."""
        self.limits = limits
        self.given = answer_key.given_modules(setup_sources(source_notebook(lesson)))
        view = answer_key.child_view(self.given, font_cache)
        self.sandbox = Sandbox(view, limits, runtime_root)
        self.sandbox.seal()  # the child talks over its pipes: no sockets to create
        env = {**self.sandbox.env(), "MPLBACKEND": "Agg"}
        if template:
            self.process = template.fork("child", self.sandbox, env)
        else:
            command = [sys.executable, "-m", "autograder.run.student_child"]
            self.process = subprocess.Popen(
                self.sandbox.command(command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        self.reader = ThreadPoolExecutor(1)
        self.signatures = {}
        self.answer_key = []  # the answer-key modules the student's code tried to import
        self.deadline = float("inf")
        self.phases = {}  # core-seconds: the child's start, then its calls

    def load(self, cells, functions):
        """Run the student's cells in the child; learn which of `functions` they define.

        From here on, loading and every call together get the time of one notebook.
        """
        self.deadline = time.monotonic() + self.limits.notebook_seconds
        refused = answer_key.refused_modules(self.given)
        wire.send(self.process.stdin, {"cells": cells, "functions": functions, "refused": refused})
        ready = self._receive(self.limits.notebook_seconds)
        self.signatures = ready.get("ready", {})
        self.answer_key = ready.get("answer_key", [])
        self.phases["trusted child start"] = ready.get("started_cpu", 0.0)

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
        """The child's reply to calling the student's `name` on args, and the functions among
        args, which are called here when the child asks for them."""
        if self.process.poll() is not None:
            raise RuntimeError("the sandboxed process is no longer running")
        callbacks = []
        wire.send(self.process.stdin, {"call": name, "args": wire.encode(args, callbacks)})
        while True:
            reply = self._receive(self.limits.cell_seconds)
            if "callback" not in reply:
                self.answer_key = reply.get("answer_key", self.answer_key)
                return reply, callbacks
            wire.send(self.process.stdin, _run_callback(callbacks, reply))

    def close(self):
        if self.process.poll() is None:
            spent = tree_cpu(self.process.pid) - self.phases.get("trusted child start", 0.0)
            self.phases["trusted run (student's functions)"] = max(0.0, spent)
            self.process.kill()
        self.process.wait()
        # the sandbox is gone, so a read still waiting in the reader ends now, at its pipe's end
        self.reader.shutdown(wait=True, cancel_futures=True)
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        self.sandbox.close()


def _run_callback(callbacks, request):
    """Call the trusted side's function the child asked for; its reply, as plain values."""
    try:
        fn = callbacks[request["callback"]]
        args = wire.decode(request["args"])
        # the child may hand the student's own functions back in: they stay proxies
        return {"result": wire.encode(fn(*args), callbacks)}
    except Exception as exc:  # a malformed request or a failing trusted function
        return {"error": f"{type(exc).__name__}: {exc}"}


def setup_sources(nb):
    """The sources of a notebook's setup cells (grade_id setup...), which are the course's."""
    return [
        cell.source
        for cell in nb.cells
        if cell.cell_type == "code" and nbgrader_meta(cell).get("grade_id", "").startswith("setup")
    ]


def _write_back(original, returned):
    """Make in-place changes the student's function made in the child visible here too."""
    if isinstance(original, np.ndarray) and isinstance(returned, np.ndarray):
        if original.shape == returned.shape:
            original[...] = returned
    elif isinstance(original, np.random.Generator) and isinstance(returned, np.random.Generator):
        original.bit_generator.state = returned.bit_generator.state  # the draws it made
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
    """Raise what the student's function raised in the child, diagnosed there."""
    if error["type"] == "NotImplementedError":
        raise NotImplementedError(error["message"])
    raise CheckFailed(error.get("diagnosis") or f"{error['type']}: {error['message']}", "error")


def proxy(process, name):
    """A stand-in for the student's function `name` that calls it in the child."""

    def call(*args):
        reply, callbacks = process.call(name, args)
        for warning in reply.get("warnings", []):
            category = RuntimeWarning if warning["category"] == "RuntimeWarning" else UserWarning
            warnings.warn(warning["message"], category, stacklevel=2)
        if "error" in reply:
            _raise_student_error(reply["error"])
        _write_back(args, wire.decode(reply["args"], callbacks.__getitem__))
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
        except Exception as exc:  # CheckFailed (an AssertionError) or an error of the cell
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            if not isinstance(exc, AssertionError):
                first = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
            return Verdict(False, first or "assertion failed", getattr(exc, "kind", "") or "error")
    return Verdict(True, "")


def verify_notebook(process, lesson, submitted):
    """Verdicts {grade_id: Verdict} of the trusted run of one sanitized submission.

    process: a fresh StudentProcess, used for this submission only and closed afterwards.
    A cell that failed while the student's code tried to import the answer key is told so.
    """
    source = source_notebook(lesson)
    names = exercises(source)
    verdicts = {}
    cpu = time.thread_time()
    try:
        process.load(student_cells(submitted, source), names)
        at_load = list(process.answer_key)
        functions = {name: proxy(process, name) for name in names if name in process.signatures}
        for cell in graded_cells(source):
            before = len(process.answer_key)
            verdict = run_graded_cell(cell.source, functions)
            tried = process.answer_key[before:] or (
                at_load if cell.exercise not in functions else []
            )
            if not verdict.passed and tried:
                verdict = Verdict(False, answer_key.message(tried[0]), ANSWER_KEY_KIND)
            verdicts[cell.grade_id] = verdict
        return verdicts
    except (TimeoutError, RuntimeError, OSError) as exc:
        reason = f"the student's code could not be loaded or stopped answering: {exc}"
        return {
            cell.grade_id: verdicts.get(cell.grade_id, Verdict(False, reason, "limit"))
            for cell in graded_cells(source)
        }
    finally:
        process.phases["trusted checks (grader side)"] = time.thread_time() - cpu
        process.close()
