"""The sandboxed side of the trusted runner: load a student's cells, then answer calls.

Started by autograder.run.trusted inside the sandbox. It runs the student's own code cells
(never the test cells), then, for each request, calls one of the student's functions on the
arguments sent and sends back the result and the arguments as they are afterwards, as plain
values (autograder.run.wire). A function among the arguments is a stub that asks the trusted
side to call it, and so is a function the request lends the student's code under a name (the
course's reference for an exercise that the called function calls): that name is bound to it
in the function's globals for the call, and what was there is put back afterwards. What the
student's code prints goes nowhere.

The answer key is not in this sandbox at all (autograder.run.answer_key); the import guard
only puts a name on an attempt to import it, and remembers it for the verdict.
"""

import contextlib
import importlib.abc
import inspect
import os
import signal
import sys
import warnings

import gradlab.checking
from autograder.run import seccomp, wire


class AnswerKeyImport(ImportError):
    """Student code imported a module of the course's answer key, or a tool not given."""


class AnswerKeyGuard(importlib.abc.MetaPathFinder):
    def __init__(self, refused):
        self.refused = refused
        self.attempts = []

    def find_spec(self, name, path=None, target=None):
        if any(name == m or name.startswith(m + ".") for m in self.refused):
            self.attempts.append(name)
            raise AnswerKeyImport(f"{name} is not available while grading", name=name)
        return None


class Channel:
    """Both directions of the pipe to the trusted side, and the calls it makes."""

    def __init__(self, inbox, outbox, guard):
        self.inbox, self.outbox, self.guard = inbox, outbox, guard
        self.namespace = {}

    def callback(self, index):
        """A stub for the trusted side's function number `index` of the current call."""

        def stub(*args):
            wire.send(self.outbox, {"callback": index, "args": wire.encode(args)})
            reply = self.serve_until_reply()
            if "error" in reply:
                raise RuntimeError(f"the grader's function failed: {reply['error']}")
            return wire.decode(reply["result"])

        stub.callback_index = index
        return stub

    def serve_until_reply(self):
        """Answer calls (the trusted side may call back in) until a reply to ours arrives."""
        while True:
            message, _ = wire.receive(self.inbox)
            if "call" not in message:
                return message
            wire.send(self.outbox, self.call(message))

    def call(self, request):
        fn = self.namespace.get(request["call"])
        if not callable(fn):
            return {"error": {"type": "NameError", "message": f"{request['call']} is not defined"}}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                nodes = wire.decode_graph(request.get("graph", []), self.callback)
                args = wire.decode(request["args"], self.callback, nodes)
                given = wire.decode(request.get("given", {"dict": {}}), self.callback)
                with lent(getattr(fn, "__globals__", self.namespace), given):
                    result = fn(*args)
                reply = {"result": wire.encode(result, None, nodes)}
                reply["args"] = wire.encode(args, None, nodes)
                if len(nodes):  # what the student's code set as each node's grad
                    reply["grads"] = wire.encode([node.grad for node in nodes.list])
            except wire.WireError as exc:
                reply = {"error": {"type": "TypeError", "message": f"returned a value that {exc}"}}
            except BaseException as exc:  # the student's error, diagnosed as in the notebook
                reply = {"error": {"type": type(exc).__name__, "message": str(exc)}}
                # here, where the student's frames and variables are
                reply["error"]["diagnosis"] = gradlab.checking.error_diagnosis(exc)
        reply["warnings"] = [
            {"category": w.category.__name__, "message": str(w.message)} for w in caught
        ]
        reply["answer_key"] = self.guard.attempts
        return reply


@contextlib.contextmanager
def lent(namespace, functions):
    """Bind `functions` to their names in `namespace` while the block runs; then put back
    what the names held before (or remove them)."""
    before = {name: namespace[name] for name in functions if name in namespace}
    namespace.update(functions)
    try:
        yield
    finally:
        for name in functions:
            namespace.pop(name, None)
        namespace.update(before)


class CellTimeout(BaseException):
    """A cell ran past its time: it is stopped, as the kernel stops it, and loading goes on."""


@contextlib.contextmanager
def cell_time(seconds):
    """Stop the block (a cell of the student's) after `seconds`, as the kernel does, so that
    a runaway cell the kernel stopped does not cost the whole trusted run here."""
    if not seconds:
        yield
        return

    def stop(signum, frame):
        raise CellTimeout(f"the cell ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except CellTimeout:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _signature(fn):
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []


def main():
    # the channel is a private copy of stdin/stdout; the student's code gets /dev/null
    inbox = os.fdopen(os.dup(0), "rb")
    outbox = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)

    # the heavy imports happen while the child waits for its student (started ahead of need)
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell

    setup, _ = wire.receive(inbox)
    seccomp.seal()  # its pipes are made: no new pipe or socket for the student's code
    guard = AnswerKeyGuard(setup["refused"])
    sys.meta_path.insert(0, guard)
    shell = InteractiveShell.instance()
    for source in setup["cells"]:
        with cell_time(setup.get("cell_seconds")):
            shell.run_cell(source, store_history=False, silent=True)
    channel = Channel(inbox, outbox, guard)
    channel.namespace = shell.user_ns
    functions = [name for name in setup["functions"] if callable(channel.namespace.get(name))]
    ready = {name: _signature(channel.namespace[name]) for name in functions}
    wire.send(outbox, {"ready": ready, "answer_key": guard.attempts})
    while True:
        try:
            request, _ = wire.receive(inbox)
        except EOFError:
            return
        wire.send(outbox, channel.call(request))


if __name__ == "__main__":
    sys.exit(main())
