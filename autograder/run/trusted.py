"""The grade of every graded cell comes from a trusted process that never runs student code.

In the notebook, a student's code shares the kernel with whatever runs after it, and can
rewrite it (patch numpy or the checks, install input transformers, return arrays whose
comparisons lie, print the kernel's history). So the graded test cells of the *source*
notebook, hidden tests included, never run in a student's kernel: they run here. The
student's functions are proxies: each call is executed by a sandboxed child process that
loaded only the student's cells (autograder.run.student_child), and only plain values come
back, parsed as hostile input (autograder.run.wire). The verdicts are then written into the
executed notebook (autograder.run.kernels), where nbgrader scores them.

The child is the student's code, and sees the inputs of every case it is called on, hidden
ones included; what it says (its errors' messages, its warnings, the diagnosis it makes of
its own error) is the student's to choose, and would reach the student's feedback page. So
the visible tests of every cell run first, and the hidden tests only afterwards: from the
first hidden case on, the child is `quiet`, and nothing it chose to say is shown, only the
verdicts and diagnoses the checks make here. A hidden case's inputs never reach a page.
"""

import builtins
import contextlib
import functools
import inspect
import io
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CallTimeout

import numpy as np
from IPython.core.inputtransformer2 import TransformerManager

from autograder.costs import tree_cpu
from autograder.notebooks import exercises, graded_cells, nbgrader_meta, source_notebook
from autograder.run import answer_key, wire
from autograder.run.sandbox import Sandbox
from autograder.run.values import GRADER_KIND, Verdict
from gradlab.checking import CheckFailed, passing_notes

ANSWER_KEY_KIND = "answer key"  # the student's code imported the answer key
MAX_DETAIL = 4000  # characters of a diagnosis kept for the feedback
# a student's code can make its child send this much in all, over every call of a notebook
NOTEBOOK_BYTES = 256 * 1024**2


class ChildLost(BaseException):
    """The child died, hung or broke the protocol: none of its answers can be trusted from
    here. Not an Exception: the checks, which turn a student function's errors into a
    diagnosis of its own, let it through to the notebook's verdict.

    died: it ended (or its pipe broke) without a word, which the student's code may have
    caused, or the machine (a process killed from outside); a hang or a breach of the
    protocol is the student's code's alone."""

    def __init__(self, why, died=False):
        super().__init__(why)
        self.died = died


def grader_failure(exc):
    """The Verdict of a cell the grader itself failed on, while grading its notebook."""
    reason = f"the grader failed on this notebook ({type(exc).__name__}: {exc})"[:300]
    return Verdict(False, reason, GRADER_KIND, reason)


def every_cell(lesson, verdicts, otherwise):
    """{grade_id: Verdict} for every graded cell of lesson: from verdicts, else otherwise."""
    return {
        c.grade_id: verdicts.get(c.grade_id, otherwise)
        for c in graded_cells(source_notebook(lesson))
    }


@functools.cache
def lesson_given(lesson):
    """The tools `lesson` gives: those its setup cells import, and what they import."""
    return frozenset(answer_key.given_modules(setup_sources(source_notebook(lesson))))


class StudentProcess:
    """A sandboxed child that loads one student's cells and answers calls to their functions.

    What the child says is the student's to choose: it is parsed against wire's schema, and
    nothing about the child is taken from it that a grade rests on (its CPU time is read
    from outside, its answer-key attempts only name a failure that the checks found).
    """

    def __init__(self, lesson, limits, runtime_root, font_cache=None, template=None, cpus=None):
        """Start the child, forked from `template` if there is one, else from nothing (then
        it imports the heavy modules while it waits for `load`); cpus: as for a Sandbox."""
        self.limits = limits
        self.given = lesson_given(lesson)
        self.refused = answer_key.refused_modules(self.given)
        view = answer_key.child_view(self.given, font_cache)
        self.sandbox = Sandbox(view, limits, runtime_root, cpus)
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
        self.bytes_left = NOTEBOOK_BYTES
        self.nodes = wire.Nodes()  # the graph of the call in progress (lesson 13's Nodes)
        self.phases = {}  # core-seconds: the child's start, then its calls
        self.quiet = False  # it has seen a hidden case: nothing it says is shown from here

    def load(self, cells, functions, deadline=None):
        """Run the student's cells in the child; learn which of `functions` they define.

        From here on, loading and every call together end by `deadline` (time.monotonic()),
        by default the time of one notebook from now.
        """
        self.phases["trusted child start"] = tree_cpu(self.process.pid)
        self.deadline = deadline or time.monotonic() + self.limits.notebook_seconds
        setup = {"cells": cells, "functions": functions, "refused": self.refused}
        setup["cell_seconds"] = self.limits.cell_seconds
        wire.send(self.process.stdin, setup)
        message = self._receive(self.limits.notebook_seconds)
        try:
            self.signatures, attempts = wire.ready(message, functions)
        except wire.WireError as exc:
            self.broke(exc)
        self.answer_key = self._refused(attempts)

    def _refused(self, attempts):
        """Of the names the child reports, those its lesson refuses."""
        return [name for name in attempts if answer_key.within(name, self.refused)]

    def _receive(self, timeout):
        left = self.deadline - time.monotonic()
        if left <= 0:  # even a child that keeps talking (asking for callbacks) ends here
            self.lost("it did not finish within the notebook's time")
        timeout = max(0.1, min(timeout, left))
        most = min(self.bytes_left, wire.MAX_MESSAGE_BYTES)  # a message's bound, and what is left
        receive = functools.partial(wire.receive, self.process.stdout, most)
        try:
            message, size = self.reader.submit(receive).result(timeout)
        except CallTimeout:
            self.lost(f"no answer within {timeout:.1f} s")
        except EOFError as exc:
            self.lost(f"it died ({exc})", died=True)
        except wire.WireError as exc:
            self.broke(exc)
        self.bytes_left -= size
        return message

    def lost(self, why, died=False):
        self.close()
        raise ChildLost(why, died) from None

    def broke(self, exc):
        """It sent what the protocol refuses (exc: wire's WireError, which may quote it)."""
        self.lost("it broke the protocol" + ("" if self.quiet else f" ({exc})"))

    def call(self, name, args, given=None):
        """The child's parsed reply (wire.reply) to calling the student's `name` on args, and
        the functions among args, which are called here when the child asks for them.

        given: {name: function} lent to the student's code for this call: the child binds
        those names to stubs that call them here, as it does for the functions among args.
        """
        if self.process.poll() is not None:
            raise ChildLost("the sandboxed process is no longer running", died=True)
        callbacks, nodes = [], wire.Nodes()
        request = {"call": name, "args": wire.encode(args, callbacks, nodes)}
        if given:
            request["given"] = wire.encode(given, callbacks)
        if len(nodes):  # the graphs among args (lesson 13), their vjps callbacks like the rest
            request["graph"] = wire.encode_graph(nodes, callbacks)
        self.nodes = nodes
        wire.send(self.process.stdin, request)
        while True:
            try:
                message = self._receive(self.limits.cell_seconds)
                reply = wire.reply(message, callbacks)
            except wire.WireError as exc:
                self.broke(exc)
            if reply[0] != "callback":
                self.answer_key = self._refused(reply[-1])
                return reply, callbacks
            wire.send(self.process.stdin, _run_callback(callbacks, *reply[1:]))

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


def _run_callback(callbacks, index, args):
    """Call the trusted side's function the child asked for (its request parsed by
    wire.reply); its reply, as plain values."""
    try:
        # the child may hand the student's own functions back in: they stay proxies
        return {"result": wire.encode(callbacks[index](*args), callbacks)}
    except Exception as exc:  # the trusted function failed on the arguments the child sent
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


def _raise_student_error(error, quiet):
    """Raise what the student's function raised in the child, diagnosed there; once the
    child is quiet, only the error's type, and only when it is one of Python's."""
    if error["type"] == "NotImplementedError":
        raise NotImplementedError()
    if not quiet:
        raise CheckFailed(error["diagnosis"] or f"{error['type']}: {error['message']}", "error")
    builtin = getattr(builtins, error["type"], None)
    kind = error["type"] if isinstance(builtin, type) else "an exception of its own class"
    raise CheckFailed(
        f"raised {kind} on a hidden case (what it said is not shown, as the hidden cases are "
        "not): check it on inputs of the size and scale below",
        "error",
    )


def proxy(process, name, given=None):
    """A stand-in for the student's function `name` that calls it in the child.

    given: {name: function} lent to the student's code during each call (the course's
    reference for an exercise that `name` calls): in the child, those names are bound to
    stubs that call the functions here, so that only values cross. For the checks
    (gradlab.checking.calls), the stand-in has `given(functions)`, itself with `functions`
    lent, and `student_function(other)`, the stand-in for the student's `other` (None when
    the student's cells define none).
    """

    def call(*args):
        reply, callbacks = process.call(name, args, given)
        nodes = process.nodes
        for category, message in reply[-2]:
            category = RuntimeWarning if category == "RuntimeWarning" else UserWarning
            message = "(on a hidden case, not shown)" if process.quiet else message
            warnings.warn(message, category, stacklevel=2)
        if reply[0] == "error":
            _raise_student_error(reply[1], process.quiet)
        try:
            if len(nodes):  # each node's grad as the student's code left it (lesson 13)
                wire.set_grads(nodes, reply[3], callbacks)
            _write_back(args, wire.decode(reply[2], callbacks.__getitem__, nodes))
            return wire.decode(reply[1], None, nodes)
        except wire.WireError as exc:
            process.lost(f"it broke the protocol ({exc})")

    call.__name__ = call.__qualname__ = name
    call.given = functools.partial(proxy, process, name)
    call.student_function = functools.partial(_student_function, process)
    params = process.signatures.get(name)
    if params is not None:  # else any arguments, as a function whose signature hides them
        call.__signature__ = inspect.Signature(
            [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params]
        )
    return call


def _student_function(process, name):
    """The stand-in for the student's function `name`, or None when their cells define none."""
    return proxy(process, name) if name in process.signatures else None


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


def solution_cells(nb):
    """{exercise: the source of its solution cell} of a notebook."""
    return {
        meta["grade_id"]: cell.source
        for cell in nb.cells
        if cell.cell_type == "code" and (meta := nbgrader_meta(cell)).get("solution")
    }


def _syntax_error(source):
    """What makes a cell's source not Python (as IPython runs it), or "" when it is: read
    here, not reported by the child, and never run: compiling runs nothing. IPython's own
    syntax (magics, shell lines) is read only in a cell of at most TRANSFORMED characters:
    its transformer tokenizes the whole cell again for each such line, of which it reads
    TRANSFORMED_LINES at most."""
    try:
        try:
            compile(source, "<cell>", "exec")
        except SyntaxError:
            ipython = sum(line.lstrip()[:1] in ("!", "%") for line in source.splitlines())
            if len(source) > TRANSFORMED or ipython > TRANSFORMED_LINES:
                raise
            compile(TransformerManager().transform_cell(source), "<cell>", "exec")
    except SyntaxError as exc:  # IndentationError and TabError are SyntaxErrors too
        line = (exc.text or "").strip()[:80]
        where = f" on line {exc.lineno}" + (f", `{line}`" if line else "") if exc.lineno else ""
        what = f"{type(exc).__name__}{where} ({exc.msg})"
        return f"{what}: your cell is not Python, so it defines nothing"
    except Exception as exc:  # too deep to compile (RecursionError...), or for IPython
        return f"your cell cannot be compiled ({type(exc).__name__}), so it defines nothing"
    return ""


TRANSFORMED = 10_000  # characters: a solution cell of the course is under 5,000
TRANSFORMED_LINES = 10


def run_graded_cell(source, namespace):
    """Run one graded cell's source (or part of it) in namespace, where the student's
    functions are bound to their names: a Verdict. One that passed keeps the checks' notes
    (a function right given the course's reference for an exercise it calls, where the
    student's own fails) as its detail."""
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        passing_notes() as notes,
    ):
        try:
            exec(compile(source, "<graded cell>", "exec"), namespace)
        except Exception as exc:  # CheckFailed (an AssertionError) or an error of the cell
            detail = str(exc).strip()
            if not isinstance(exc, AssertionError):
                detail = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
            detail = detail[:MAX_DETAIL] or "assertion failed"
            first = detail.splitlines()[0][:300]
            return Verdict(False, first, getattr(exc, "kind", "") or "error", detail)
    return Verdict(True, "", detail="\n".join(dict.fromkeys(notes))[:MAX_DETAIL])


def verify_notebook(children, lesson, submitted, deadline=None):
    """Verdicts {grade_id: Verdict} of the trusted run of one sanitized submission.

    children: gives a fresh StudentProcess, used for one attempt and closed afterwards. A
    child that died without a word may have been killed from outside (the machine, a run
    being stopped): that attempt is made once more on a fresh child, and its verdicts stand.
    deadline: when every attempt must have ended, by default the time of one notebook from
    now: a child that dies without a word gets no more time for its second attempt.
    A cell that failed while the student's code tried to import the answer key is told so.
    Whatever goes wrong costs this notebook only: every cell without a verdict fails, saying
    why.
    """
    for _ in range(2):
        process = children()
        deadline = deadline or time.monotonic() + process.limits.notebook_seconds
        verdicts, died = _verify_once(process, lesson, submitted, deadline)
        if not died:
            break
    return verdicts


def _verify_once(process, lesson, submitted, deadline):
    """(verdicts, whether the child died without a word) of one attempt on process."""
    source = source_notebook(lesson)
    names = exercises(source)
    verdicts = {}
    cpu = time.thread_time()
    try:
        process.load(student_cells(submitted, source), names, deadline)
        at_load = list(process.answer_key)
        functions = {name: proxy(process, name) for name in names if name in process.signatures}
        # read only where the child defined no function: a cell that is not Python
        solutions = solution_cells(submitted)
        unparsed = {
            name: _syntax_error(solutions[name])
            for name in names
            if name not in functions and name in solutions
        }

        def run(cell, part, namespace):
            before = len(process.answer_key)
            verdict = run_graded_cell(part, namespace)
            tried = process.answer_key[before:] or (
                at_load if cell.exercise not in functions else []
            )
            if not verdict.passed and tried:
                message = answer_key.message(tried[0])
                verdict = Verdict(False, message, ANSWER_KEY_KIND, message)
            return verdict

        hidden = []  # (cell, its namespace, the Verdict of its visible tests)
        for cell in graded_cells(source):
            if cell.exercise not in functions and unparsed.get(cell.exercise):
                message = f"{cell.exercise}: {unparsed[cell.exercise]}"
                verdicts[cell.grade_id] = Verdict(False, message.splitlines()[0], "syntax", message)
                continue
            namespace = {"np": np, **functions}
            verdicts[cell.grade_id] = verdict = run(cell, cell.visible, namespace)
            if verdict.passed and cell.hidden:
                hidden.append((cell, namespace, verdict))
        process.quiet = True
        for cell, namespace, seen in hidden:
            verdict = run(cell, cell.hidden, namespace)
            if verdict.passed:  # the notes of both parts
                notes = dict.fromkeys(f"{seen.detail}\n{verdict.detail}".strip().splitlines())
                verdict = Verdict(True, "", detail="\n".join(notes)[:MAX_DETAIL])
            verdicts[cell.grade_id] = verdict
        return verdicts, False
    except (ChildLost, OSError) as exc:
        died = getattr(exc, "died", True)  # an OSError: its pipe broke
        reason = f"the student's code could not be loaded or stopped answering: {exc}"[:300]
        failed = Verdict(False, reason, "limit", reason)
    except Exception as exc:  # the grader's own failure on this notebook, not the student's
        died, failed = False, grader_failure(exc)
    finally:
        process.phases["trusted checks (grader side)"] = time.thread_time() - cpu
        process.close()
    return every_cell(lesson, verdicts, failed), died
