"""The operations of Lesson 13's reverse-mode engine: each computes a value and returns it as
a Node (gradlab.graph) that knows its inputs and its vector-Jacobian product (vjp).

Where the lesson has an exercise for a vjp, the operation calls the student's function: the
vjps of add and sub call `unbroadcast`, mul's calls `mul_vjp`, matmul's calls `matmul_vjp`.
An operation finds them by name, when its vjp runs, in the namespace of the code that built
the Node (the notebook, for a Node built in the notebook), so that the engine is always the
student's own. The other vjps (relu, exp, log, sums and means, picking one entry per row)
are given here: each is a line of a lesson before this one.

    import gradlab.tools.autodiff as ad
    W = ad.Node(np.ones((2, 3)), name="W")
    z = ad.add(ad.matmul(x, W), b)

Nothing here walks a graph: the topological order and backward are the lesson's exercises.
"""

import contextlib
import contextvars
import sys

import numpy as np

from gradlab.graph import Node

__all__ = [
    "Node",
    "add",
    "as_node",
    "exp",
    "log",
    "matmul",
    "mean",
    "mul",
    "neg",
    "pick",
    "recording",
    "relu",
    "softmax_cross_entropy",
    "sub",
    "sum",
]


def _caller_namespace():
    """The globals of the first frame outside this module: where the student's functions are."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals is globals():
        frame = frame.f_back
    return frame.f_globals if frame is not None else {}


_used = contextvars.ContextVar("used", default=None)


@contextlib.contextmanager
def recording():
    """A set that collects the names of the exercises the operations call while the block
    runs (a self-check uses it to see that a function went through the engine)."""
    used = set()
    token = _used.set(used)
    try:
        yield used
    finally:
        _used.reset(token)


def _exercise(namespace, name):
    if (used := _used.get()) is not None:
        used.add(name)
    fn = namespace.get(name)
    if not callable(fn):
        raise NameError(
            f"{name} is not defined: the engine's operations call your {name}, "
            "so run its exercise's cell first"
        )
    return fn


def as_node(value, name=""):
    """value itself when it is a Node, else a leaf Node holding it (a constant)."""
    return value if isinstance(value, Node) else Node(value, name=name)


def _broadcast_back(g, shape, axis, keepdims):
    """g of a sum over `axis` of an array of `shape`, spread back over the summed axes."""
    g = np.asarray(g, dtype=np.float64)
    if not keepdims:
        axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
        g = np.expand_dims(g, tuple(int(a) % len(shape) for a in axes))
    return np.broadcast_to(g, shape).copy()


# ---------------------------------------------------------------- elementwise, broadcasting


def add(a, b):
    """a + b with NumPy broadcasting; its vjp calls your unbroadcast."""
    a, b, ns = as_node(a), as_node(b), _caller_namespace()

    def vjp(g):
        unbroadcast = _exercise(ns, "unbroadcast")
        return unbroadcast(g, a.value.shape), unbroadcast(g, b.value.shape)

    return Node(a.value + b.value, (a, b), vjp, "+")


def sub(a, b):
    """a - b with NumPy broadcasting; its vjp calls your unbroadcast."""
    a, b, ns = as_node(a), as_node(b), _caller_namespace()

    def vjp(g):
        unbroadcast = _exercise(ns, "unbroadcast")
        return unbroadcast(g, a.value.shape), unbroadcast(-np.asarray(g), b.value.shape)

    return Node(a.value - b.value, (a, b), vjp, "-")


def mul(a, b):
    """a * b elementwise with NumPy broadcasting; its vjp calls your mul_vjp."""
    a, b, ns = as_node(a), as_node(b), _caller_namespace()

    def vjp(g):
        return _exercise(ns, "mul_vjp")(g, a.value, b.value)

    return Node(a.value * b.value, (a, b), vjp, "*")


def neg(a):
    """-a."""
    a = as_node(a)
    return Node(-a.value, (a,), lambda g: (-np.asarray(g),), "neg")


def matmul(a, b):
    """a @ b for a (N, D) and b (D, M); its vjp calls your matmul_vjp."""
    a, b, ns = as_node(a), as_node(b), _caller_namespace()

    def vjp(g):
        return _exercise(ns, "matmul_vjp")(g, a.value, b.value)

    return Node(a.value @ b.value, (a, b), vjp, "@")


def relu(a):
    """max(0, a) elementwise (Lesson 04): the gradient passes where a > 0."""
    a = as_node(a)
    return Node(np.maximum(a.value, 0.0), (a,), lambda g: (g * (a.value > 0),), "relu")


def exp(a):
    """exp(a) elementwise: its derivative is its own value."""
    a = as_node(a)
    out = np.exp(a.value)
    return Node(out, (a,), lambda g: (g * out,), "exp")


def log(a):
    """log(a) elementwise, for a > 0."""
    a = as_node(a)
    return Node(np.log(a.value), (a,), lambda g: (g / a.value,), "log")


# ---------------------------------------------------------------- reductions and indexing


def sum(a, axis=None, keepdims=False):
    """The sum of a over `axis` (all axes when None): every summed entry gets the upstream
    gradient of its sum."""
    a = as_node(a)
    shape = a.value.shape

    def vjp(g):
        return (_broadcast_back(g, shape, axis, keepdims),)

    return Node(np.sum(a.value, axis=axis, keepdims=keepdims), (a,), vjp, "sum")


def mean(a, axis=None, keepdims=False):
    """The mean of a over `axis` (all axes when None): a sum times 1 / (entries per mean)."""
    a = as_node(a)
    shape = a.value.shape
    count = a.value.size // max(1, np.mean(a.value, axis=axis, keepdims=keepdims).size)

    def vjp(g):
        return (_broadcast_back(g, shape, axis, keepdims) / count,)

    return Node(np.mean(a.value, axis=axis, keepdims=keepdims), (a,), vjp, "mean")


def pick(a, y):
    """The entry y[n] of each row n of a (N, K): out (N,) with out[n] = a[n, y[n]]."""
    a = as_node(a)
    y = np.asarray(y)
    rows = np.arange(a.value.shape[0])

    def vjp(g):
        da = np.zeros_like(a.value)
        da[rows, y] = g
        return (da,)

    return Node(a.value[rows, y], (a,), vjp, "pick")


# ---------------------------------------------------------------- a loss built from the above


def softmax_cross_entropy(z, y):
    """The mean cross-entropy of logits z (N, K) for labels y (N,), built from the operations
    above: L = mean_n(log sum_k exp(s_nk) - s_{n, y_n}) with s = z - max_k z (a constant shift,
    which changes no log-softmax and keeps exp from overflowing). Its backward goes through
    sub, sum, exp, log, pick and mean, so through your unbroadcast too."""
    z = as_node(z)
    shift = Node(np.max(z.value, axis=1, keepdims=True), name="max z")  # a constant
    s = sub(z, shift)
    log_normaliser = log(sum(exp(s), axis=1, keepdims=True))
    log_p = sub(s, log_normaliser)
    return neg(mean(pick(log_p, y)))
