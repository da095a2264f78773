"""The only data that crosses between the trusted process and a student's sandbox.

Plain values only: None, bool, int, float, str, lists, tuples, dicts with string keys, numeric
NumPy arrays (sent in .npy format without pickles, so that what arrives is always a plain
ndarray, never a subclass) and NumPy random generators (their PCG64 state, a few integers).
A function the trusted side passes to a student's function (the f of a gradient check)
never crosses: it stays where it is, and the student's side gets a stub that asks the trusted
side to call it (a callback), so the answer key behind it stays out of the sandbox. So do the
functions a call lends the student's code under a name (its `given`: the course's reference
for an exercise that the called function calls), which the child binds to those names for
that call only. Anything else is refused. Messages are length-prefixed JSON.

Lesson 13's graphs cross too, as a table: the trusted side lists every Node that the
arguments of a call reach (gradlab.graph.Node) once, in a random order (the order of the
listing tells nothing about the graph's), each with its value, its inputs as indices into
the table, its grad and, for a non-leaf, its vjp as a callback; the arguments refer to Nodes
by their index, so a node shared by several others stays one node. The child decodes the
table into Nodes of its own. Back come the child's result and arguments, where a Node may
only be one of the table's (by its index: a Node the student's code made never crosses), and
the grad of every node of the table, plain values that the checks judge.

Everything that arrives from a sandbox is hostile input: the student's code runs there and
can write any bytes on the pipe. So every message is parsed against the schema of what the
child may say (`ready`, `reply`, and within a call the callback requests of `reply`), with
bounds on its size, the depth and count of its values and the rank and size of its arrays;
anything else is a WireError, which costs that student's notebook its verdicts and nothing
more. A callback may only name a function offered for the call in progress (among its
arguments or lent to it), with a tuple of plain values as its arguments.
"""

import base64
import binascii
import io
import json
import math
import random
import struct

import numpy as np

from autograder.files import unicode
from gradlab.graph import Node

MAX_MESSAGE_BYTES = 32 * 1024**2  # the largest value an exercise sends back is under 2 MB
MAX_DEPTH = 16  # containers within containers: the capstone's parameters are 3 deep
MAX_ITEMS = 100_000  # values in one message, counted through every container
MAX_ARRAY_RANK = 32
MAX_ARRAY_ELEMENTS = 2**22  # 32 MB of float64: a callback into the grader is run on it
MAX_TEXT = 4000  # characters of one message, diagnosis or warning a student's code made
MAX_NAMES = 64  # functions, parameters, warnings or attempts listed in one message
MAX_NODES = 10_000  # nodes of the graphs one call sends (a lesson 13 network has under 100)


class WireError(ValueError):
    """A value that may not cross, or a message that is not well-formed."""


class Nodes:
    """The table of the Nodes one call sends: the trusted side fills it as it encodes the
    call's arguments (open), the child gets it from decode_graph (closed: a Node that is not
    in it is refused)."""

    def __init__(self, nodes=(), open=True):
        self.list = list(nodes)
        self.index = {id(node): k for k, node in enumerate(self.list)}
        self.open = open

    def __len__(self):
        return len(self.list)

    def add(self, root):
        """root's index, root and every node it reaches listed first (in a random order)."""
        found, seen, pending = [], set(), [root]
        while pending:
            node = pending.pop()
            if id(node) in self.index or id(node) in seen:
                continue
            if not isinstance(node, Node):
                raise WireError(f"a Node's input is a {type(node).__name__}, not a Node")
            found.append(node)
            seen.add(id(node))
            if len(self.list) + len(found) > MAX_NODES:
                raise WireError(f"a graph of more than {MAX_NODES} nodes")
            pending.extend(node.inputs)
        random.SystemRandom().shuffle(found)
        for node in found:
            self.index[id(node)] = len(self.list)
            self.list.append(node)
        return self.index[id(root)]


def encode(value, callbacks=None, nodes=None):
    """value as JSON-able data. callbacks: a list that functions are appended to (the trusted
    side only; without it a function is refused, unless it is a stub for one). nodes: the
    call's Nodes table (without it a Node is refused; a closed table refuses a Node that is
    not in it)."""
    if isinstance(value, Node):
        if nodes is None:
            raise WireError("a Node cannot be sent here")
        if id(value) in nodes.index:
            return {"node": nodes.index[id(value)]}
        if not nodes.open:
            raise WireError("a Node that is not one of the graph the grader sent cannot be sent")
        return {"node": nodes.add(value)}
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
        # (np.ascontiguousarray makes a 0-d array 1-d: a scalar Node's value stays 0-d)
        np.save(buffer, np.array(array, order="C", copy=True), allow_pickle=False)
        return {"ndarray": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, np.random.Generator):
        if type(value.bit_generator) is not np.random.PCG64:
            raise WireError("only PCG64 random generators can be sent")
        return {"generator": value.bit_generator.state}
    if isinstance(value, (list, tuple)):
        items = [encode(v, callbacks, nodes) for v in value]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise WireError("only dicts with string keys can be sent")
        return {"dict": {k: encode(v, callbacks, nodes) for k, v in value.items()}}
    if callable(value) and hasattr(value, "callback_index"):  # a stub goes back as itself
        return {"callback": value.callback_index}
    if callable(value) and callbacks is not None:
        callbacks.append(value)
        return {"callback": len(callbacks) - 1}
    raise WireError(f"a {type(value).__name__} cannot be sent")


def decode(value, callback=None, nodes=None):
    """The value that encode() made, within the bounds above. callback(index): the stub
    standing for a function the other side kept (without it a function is refused). nodes:
    the call's Nodes table, which {"node": index} refers to (without it a Node is refused)."""
    return _Decoder(callback, nodes).value(value, 0)


def encode_graph(nodes, callbacks):
    """The trusted side's table of a call's Nodes, as plain data: each node's value, name,
    inputs (indices), grad and vjp (a callback, None for a leaf)."""
    rows = []
    for node in nodes.list:
        inputs = [nodes.index.get(id(i)) for i in node.inputs]
        if None in inputs:  # an input added to a node after the table was made
            raise WireError("a Node's inputs changed while it was being sent")
        rows.append(
            {
                "value": encode(node.value),
                "name": str(node.name)[:100],
                "inputs": inputs,
                "grad": encode(node.grad),
                "vjp": None if node.vjp is None else encode(node.vjp, callbacks),
            }
        )
    return rows


def decode_graph(rows, callback):
    """The child's Nodes (a closed table) of the rows of encode_graph: every input an index
    into the table, no cycle, at most MAX_NODES nodes."""
    if not isinstance(rows, list) or len(rows) > MAX_NODES:
        raise WireError(f"a graph is not a list of at most {MAX_NODES} nodes")
    decoder = _Decoder(callback)
    made, inputs = [], []
    for row in rows:
        _schema(row, ("value", "name", "inputs", "grad", "vjp"))
        value = decoder.value(row["value"], 1)
        if not isinstance(value, np.ndarray):
            raise WireError("a Node's value is not an array")
        links = row["inputs"]
        if not isinstance(links, list) or not all(_is_int(k) and 0 <= k < len(rows) for k in links):
            raise WireError("a Node's inputs are not indices into its graph")
        if (row["vjp"] is None) != (not links):
            raise WireError("a leaf with a vjp, or a non-leaf without one")
        node = Node(value, name=_text(row["name"], "a Node's name")[:100])
        node.grad = decoder.value(row["grad"], 1)
        node.vjp = None if row["vjp"] is None else decoder.value(row["vjp"], 1)
        made.append(node)
        inputs.append(links)
    for node, links in zip(made, inputs):
        node.inputs = tuple(made[k] for k in links)
    _acyclic(inputs)
    return Nodes(made, open=False)


def _acyclic(inputs):
    """Refuse a table whose input links make a cycle (iterative three-colour search)."""
    state = [0] * len(inputs)  # 0 unseen, 1 on the current path, 2 done
    for start in range(len(inputs)):
        if state[start]:
            continue
        stack = [(start, iter(inputs[start]))]
        state[start] = 1
        while stack:
            k, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[k] = 2
                stack.pop()
            elif state[child] == 1:
                raise WireError("a graph with a cycle")
            elif state[child] == 0:
                state[child] = 1
                stack.append((child, iter(inputs[child])))


def set_grads(nodes, encoded, callbacks):
    """Give each Node of the trusted side's table the grad the child reports for it (any
    plain value: the checks judge it), from the reply's list of grads."""
    grads = decode(encoded, callbacks.__getitem__)
    if not isinstance(grads, list) or len(grads) != len(nodes):
        raise WireError(f"the grads of a graph of {len(nodes)} nodes are not a list of as many")
    for node, grad in zip(nodes.list, grads):
        node.grad = grad


class _Decoder:
    def __init__(self, callback, nodes=None):
        self.callback, self.nodes, self.items = callback, nodes, 0

    def value(self, value, depth):
        self.items += 1
        if self.items > MAX_ITEMS:
            raise WireError(f"a value of more than {MAX_ITEMS} items")
        if value is None or isinstance(value, (bool, float)):
            return value
        if isinstance(value, str):
            return unicode(value)
        if isinstance(value, int):
            return value  # json.loads keeps an integer literal to 4300 digits
        if not isinstance(value, dict) or len(value) != 1:
            raise WireError("malformed value")
        if depth >= MAX_DEPTH:
            raise WireError(f"a value nested more than {MAX_DEPTH} deep")
        ((kind, payload),) = value.items()
        if kind == "ndarray":
            return _array(payload)
        if kind == "generator":
            return _generator(payload)
        if kind in ("list", "tuple") and isinstance(payload, list):
            items = [self.value(v, depth + 1) for v in payload]
            return tuple(items) if kind == "tuple" else items
        if kind == "dict" and isinstance(payload, dict):
            return {unicode(k): self.value(v, depth + 1) for k, v in payload.items()}
        if kind == "callback" and self.callback is not None and _is_int(payload):
            return self.callback(payload)
        if kind == "node" and self.nodes is not None and _is_int(payload):
            if not 0 <= payload < len(self.nodes):
                raise WireError("a Node that is not in the call's graph")
            return self.nodes.list[payload]
        raise WireError(f"unknown kind {kind!r}")


def _array(payload):
    if not isinstance(payload, str):
        raise WireError("malformed array")
    try:
        data = io.BytesIO(base64.b64decode(payload, validate=True))
        version = np.lib.format.read_magic(data)
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }.get(version)
        if read_header is None:
            raise ValueError(f"an .npy format of version {version}")
        shape, _, dtype = read_header(data)
    except (ValueError, binascii.Error, SyntaxError) as exc:
        raise WireError(f"malformed array: {exc}") from None
    # the header is checked before the array is made: its shape could ask for any memory
    if dtype.kind not in "biuf" or dtype.hasobject or len(shape) > MAX_ARRAY_RANK:
        raise WireError(f"an array of dtype {dtype} and {len(shape)} axes")
    if math.prod(shape) > MAX_ARRAY_ELEMENTS:
        raise WireError(f"an array of shape {shape} is too large")
    try:
        array = np.load(io.BytesIO(data.getvalue()), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise WireError(f"malformed array: {exc}") from None
    if type(array) is not np.ndarray:
        raise WireError("malformed array")
    return array


def _generator(payload):
    try:
        generator = np.random.Generator(np.random.PCG64())
        if not isinstance(payload, dict) or payload.get("bit_generator") != "PCG64":
            raise ValueError("not a PCG64 state")
        generator.bit_generator.state = payload
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise WireError(f"malformed generator: {exc}") from None
    return generator


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value, what):
    if not isinstance(value, str):
        raise WireError(f"{what} is not text")
    return unicode(value[:MAX_TEXT])


def _listed(value, what):
    if not isinstance(value, list) or len(value) > MAX_NAMES:
        raise WireError(f"{what} is not a list of at most {MAX_NAMES}")
    return value


def _schema(message, required, optional=()):
    if not isinstance(message, dict) or not set(required) <= set(message):
        raise WireError(f"a message without {', '.join(required)}")
    unexpected = set(message) - set(required) - set(optional)
    if unexpected:
        raise WireError(f"a message with unexpected fields {sorted(unexpected)}")
    return message


# ---- what the child may say, checked on the trusted side ----------------------------------


def ready(message, functions):
    """The child's report after loading the student's cells: {function: [parameter names]}
    for those of `functions` the cells define, and the module names its import guard refused
    (which the trusted side checks against what the lesson refuses: a diagnosis, never what
    a grade rests on)."""
    _schema(message, ("ready", "answer_key"))
    defined = message["ready"]
    if not isinstance(defined, dict) or not set(defined) <= set(functions):
        raise WireError("the functions reported are not the lesson's")
    signatures = {name: _parameters(params) for name, params in defined.items()}
    return signatures, _attempts(message["answer_key"])


def _parameters(params):
    """Parameter names that make a signature, or none (the proxy then takes any arguments)."""
    names = _listed(params, "a function's parameters")
    valid = all(isinstance(n, str) and n.isidentifier() and len(n) <= 64 for n in names)
    return names if valid and len(set(names)) == len(names) else None


def _attempts(attempts):
    return [a for a in _listed(attempts, "the answer-key attempts") if isinstance(a, str)]


def reply(message, callbacks):
    """The child's answer to a call that offered `callbacks` (the functions among its
    arguments and those lent to it): ("callback", index, args) with args decoded, a request
    to call callbacks[index](*args); or ("result", result, args, warnings, attempts) or
    ("error", {type, message, diagnosis}, warnings, attempts), where args, result and grads
    (the grad of each node of the call's graph, or None when it sent none) are still encoded
    and attempts are as in ready(). A result is ("result", result, args, grads, warnings,
    attempts)."""
    if isinstance(message, dict) and "callback" in message:
        _schema(message, ("callback", "args"))
        index = message["callback"]
        if not _is_int(index) or not 0 <= index < len(callbacks):
            raise WireError("a callback that was never offered")
        args = decode(message["args"])
        if not isinstance(args, tuple):
            raise WireError("a callback whose arguments are not a tuple")
        return ("callback", index, args)
    _schema(message, ("warnings", "answer_key"), ("result", "args", "error", "grads"))
    warnings = [
        (_text(w.get("category"), "a warning"), _text(w.get("message"), "a warning"))
        for w in _listed(message["warnings"], "the warnings")
        if isinstance(w, dict)
    ]
    attempts = _attempts(message["answer_key"])
    if "error" in message:
        error = _schema(message["error"], ("type", "message"), ("diagnosis",))
        raised = {
            "type": _text(error["type"], "an error's type")[:100],
            "message": _text(error["message"], "an error's message"),
            "diagnosis": _text(error.get("diagnosis") or "", "a diagnosis"),
        }
        return ("error", raised, warnings, attempts)
    _schema(message, ("result", "args", "warnings", "answer_key"), ("grads",))
    grads = message.get("grads")
    return ("result", message["result"], message["args"], grads, warnings, attempts)


# ---- the channel ----------------------------------------------------------------------------


def send(stream, message):
    data = json.dumps(message).encode("utf-8")
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def receive(stream, max_bytes=MAX_MESSAGE_BYTES):
    """The next message and its size in bytes; WireError for one over max_bytes or that is
    not JSON, EOFError when the other side closed the channel."""
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("the other side closed the channel")
    (size,) = struct.unpack(">Q", header)
    if size > max_bytes:
        raise WireError(f"a message of {size} bytes (at most {max_bytes} are read)")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other side closed the channel mid-message")
    try:
        return json.loads(data), size
    except (ValueError, RecursionError) as exc:
        raise WireError(f"a message that is not JSON: {str(exc)[:200]}") from None
