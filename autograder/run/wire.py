"""The only data that crosses between the trusted process and a student's sandbox.

Plain values only: None, bool, int, float, str, lists, tuples, dicts with string keys, and
numeric NumPy arrays (sent in .npy format without pickles, so that what arrives is always a
plain ndarray, never a subclass). Functions of the helper package travel by name. Anything
else is refused. Messages are length-prefixed JSON lines.
"""

import base64
import importlib
import io
import json
import struct

import numpy as np

MAX_MESSAGE_BYTES = 256 * 1024**2
TRUSTED_MODULES = "gradlab."


class WireError(ValueError):
    """A value that may not cross, or a message that is not well-formed."""


def encode(value):
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
    if isinstance(value, (list, tuple)):
        return {"tuple" if isinstance(value, tuple) else "list": [encode(v) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise WireError("only dicts with string keys can be sent")
        return {"dict": {k: encode(v) for k, v in value.items()}}
    if callable(value) and getattr(value, "__module__", "").startswith(TRUSTED_MODULES):
        return {"function": f"{value.__module__}:{value.__qualname__}"}
    raise WireError(f"a {type(value).__name__} cannot be sent")


def decode(value):
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
    if kind == "list":
        return [decode(v) for v in payload]
    if kind == "tuple":
        return tuple(decode(v) for v in payload)
    if kind == "dict":
        return {str(k): decode(v) for k, v in payload.items()}
    if kind == "function":
        module, _, name = payload.partition(":")
        if not module.startswith(TRUSTED_MODULES) or "." in name:
            raise WireError("only module-level functions of the helper package can be sent")
        return getattr(importlib.import_module(module), name)
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
