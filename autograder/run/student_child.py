"""The sandboxed side of the trusted runner: load a student's cells, then answer calls.

Started by autograder.run.trusted inside the sandbox. It runs the student's own code cells (never
the test cells), then, for each request, calls one of the student's functions on the
arguments sent and sends back the result and the arguments as they are afterwards, as plain
values (autograder.run.wire). What the student's code prints goes nowhere.
"""

import inspect
import os
import sys
import traceback
import warnings

from autograder.run import wire


def _student_line(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<")]
    return frames[-1].line or "" if frames else ""


def _signature(fn):
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []


def _call(namespace, request):
    fn = namespace.get(request["call"])
    if not callable(fn):
        return {"error": {"type": "NameError", "message": f"{request['call']} is not defined"}}
    args = wire.decode(request["args"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args)
            reply = {"result": wire.encode(result), "args": wire.encode(args)}
        except wire.WireError as exc:
            reply = {"error": {"type": "TypeError", "message": f"returned a value that {exc}"}}
        except BaseException as exc:  # the student's error, reported like the notebook would
            message = str(exc)
            reply = {"error": {"type": type(exc).__name__, "message": message}}
            reply["error"]["line"] = _student_line(exc)
    reply["warnings"] = [
        {"category": w.category.__name__, "message": str(w.message)} for w in caught
    ]
    return reply


def main():
    # the channel is a private copy of stdin/stdout; the student's code gets /dev/null
    channel_in = os.fdopen(os.dup(0), "rb")
    channel_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)

    # the heavy imports happen while the child waits for its student (started ahead of need)
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell

    import gradlab.checking  # noqa: F401

    setup = wire.receive(channel_in)
    shell = InteractiveShell.instance()
    for source in setup["cells"]:
        shell.run_cell(source, store_history=False, silent=True)
    namespace = shell.user_ns
    wire.send(
        channel_out,
        {
            "ready": {
                name: _signature(namespace[name])
                for name in setup["functions"]
                if callable(namespace.get(name))
            }
        },
    )
    while True:
        try:
            request = wire.receive(channel_in)
        except EOFError:
            return
        wire.send(channel_out, _call(namespace, request))


if __name__ == "__main__":
    sys.exit(main())
