"""The only data that crosses between the trusted process and a student's sandbox.

Plain values only: None, bool, int, float, str, lists, tuples, dicts with string keys, numeric
NumPy arrays (sent in .npy format without pickles, so that what arrives is always a plain
ndarray, never a subclass) and NumPy random generators (their PCG64 state, a few integers).
A function the trusted side passes to a student's function (the f of a gradient check)
never crosses: it stays where it is, and the student's side gets a stub that asks the trusted
side to call it (a callback), so the answer key behind it stays out of the sandbox. Anything
else is refused. Messages are length-prefixed JSON.
"""

import base64
import io
import json
import struct

import numpy as np

MAX_MESSAGE_BYTES = 256 * 1024**2


class WireError(ValueError):
    """A value that may not cross, or a message that is not well-formed."""


def encode(value, callbacks=None):
    """value as JSON-able data. callbacks: a list that functions are appended to (the trusted
    side only; without it a function is refused, unless it is a stub for one)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float, bool):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        array = np.asarray(value)  # a plain ndarray whatever the subclass
        if array.dtype.kind not in "biuf":
            raise WireError(f"arrays of dtype {array.dtype} cannot be sent")
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        return {"ndarray": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, np.random.Generator):
        if type(value.bit_generator) is not np.random.PCG64:
            raise WireError("only PCG64 random generators can be sent")
        return {"generator": value.bit_generator.state}
    if isinstance(value, (list, tuple)):
        items = [encode(v, callbacks) for v in value]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise WireError("only dicts with string keys can be sent")
        return {"dict": {k: encode(v, callbacks) for k, v in value.items()}}
    if callable(value) and hasattr(value, "callback_index"):  # a stub goes back as itself
        return {"callback": value.callback_index}
    if callable(value) and callbacks is not None:
        callbacks.append(value)
        return {"callback": len(callbacks) - 1}
    raise WireError(f"a {type(value).__name__} cannot be sent")


def decode(value, callback=None):
    """The value that encode() made. callback(index): the stub standing for a function the
    other side kept (the student's side only; without it a function is refused)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise WireError("malformed value")
    ((kind, payload),) = value.items()
    if kind == "ndarray":
        array = np.load(io.BytesIO(base64.b64decode(payload)), allow_pickle=False)
        if type(array) is not np.ndarray or array.dtype.kind not in "biuf":
            raise WireError("malformed array")
        return array
    if kind == "generator":
        if not isinstance(payload, dict) or payload.get("bit_generator") != "PCG64":
            raise WireError("malformed generator")
        generator = np.random.Generator(np.random.PCG64())
        generator.bit_generator.state = payload
        return generator
    if kind == "list":
        return [decode(v, callback) for v in payload]
    if kind == "tuple":
        return tuple(decode(v, callback) for v in payload)
    if kind == "dict":
        return {str(k): decode(v, callback) for k, v in payload.items()}
    if kind == "callback" and callback is not None and isinstance(payload, int):
        return callback(payload)
    raise WireError(f"unknown kind {kind!r}")


def send(stream, message):
    data = json.dumps(message).encode("utf-8")
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def receive(stream):
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("the other side closed the channel")
    (size,) = struct.unpack(">Q", header)
    if size > MAX_MESSAGE_BYTES:
        raise WireError(f"a message of {size} bytes is too large")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other side closed the channel mid-message")
    return json.loads(data)
