"""Lesson 13: reverse-mode automatic differentiation on a graph of Nodes.

The references of the lesson's exercises, and their checks. The graphs the checks of
`topological_order` and `backward` build are their own: each vjp is a closure written for
that graph (it never calls the references of unbroadcast, mul_vjp or matmul_vjp), checks
that its g has its node's shape, and records the g it was called with, so that a backward
that calls a vjp too early, or more than once, is named. Expected gradients come from the
references (tests/lessons/ checks those against central differences) or from central
differences directly.
"""

import contextlib
import io

import numpy as np

import gradlab.tools.autodiff as ad
from gradlab.checking import (
    Callee,
    Check,
    CheckFailed,
    Mistake,
    Probe,
    Sum,
    batch_factors,
    calls,
    compare,
    declared,
    first_line,
    in_order,
    not_lent,
    own_failure,
    stdout_only,
)
from gradlab.exercises.mlp import (
    MLP_MISTAKES,
    mlp_grads,
    mlp_loss_value,
    mlp_numerical_grads,
    mlp_probe,
    mlp_problem,
)
from gradlab.graph import Node
from gradlab.inputs import rng_for
from gradlab.numeric import numerical_vjp

# ---------------------------------------------------------------- references


def unbroadcast(g, shape):
    """g summed over the axes broadcasting added (leading) or stretched (size 1 in shape)."""
    g = np.asarray(g, dtype=np.float64)
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True).reshape(shape)


def mul_vjp(g, a, b):
    """(da, db) of out = a * b with broadcasting."""
    return unbroadcast(g * b, np.shape(a)), unbroadcast(g * a, np.shape(b))


def matmul_vjp(g, a, b):
    """(da, db) of out = a @ b, a (N, D), b (D, M)."""
    return g @ b.T, a.T @ g


def topological_order(root):
    """Every node root depends on, once, each after its inputs (depth-first, post-order)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((i, False) for i in reversed(node.inputs) if id(i) not in seen)
    return order


def backward(root, mistake=None):
    """Set node.grad = dL/dnode for every node of topological_order(root), L = sum(root * 1).

    mistake (for the checks' simulations): "assign" (= where += belongs).
    """
    order = topological_order(root)
    grads = {id(root): np.ones_like(root.value)}
    for node in reversed(order):
        node.grad = grads.get(id(node), np.zeros_like(node.value))
        if node.vjp is None:
            continue
        for parent, g in zip(node.inputs, node.vjp(node.grad)):
            g = np.asarray(g, dtype=np.float64)
            if id(parent) in grads and mistake != "assign":
                grads[id(parent)] = grads[id(parent)] + g
            else:
                grads[id(parent)] = g
    return None


def log_softmax_vjp(g, z):
    """dz of s = log_softmax(z) along each row: g - softmax(z) * (row sums of g)."""
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return g - p * g.sum(axis=1, keepdims=True)


def mlp_loss_graph(params, X, y):
    """Lesson 04's relu MLP through the engine: (loss, grads)."""
    nodes = {key: Node(value, name=key) for key, value in params.items()}
    n_layers = len(params) // 2
    a = Node(X, name="X")
    for i in range(1, n_layers + 1):
        z = ad.add(ad.matmul(a, nodes[f"W{i}"]), nodes[f"b{i}"])
        a = ad.relu(z) if i < n_layers else z
    loss = ad.softmax_cross_entropy(a, y)
    backward(loss)
    return float(loss.value), {key: node.grad for key, node in nodes.items()}


# ---------------------------------------------------------------- unbroadcast


def _case(**parts):
    return ", ".join(f"{k} {v}" for k, v in parts.items())


def _leading_only(g, shape):
    g = np.asarray(g, dtype=np.float64)
    return g.sum(axis=tuple(range(g.ndim - len(shape))))


def _trailing_instead(g, shape):
    g = np.asarray(g, dtype=np.float64)
    extra = g.ndim - len(shape)
    return g.sum(axis=tuple(range(len(shape), g.ndim))) if extra > 0 else None


def _shape_of(value):
    try:
        return np.shape(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        return None


def unbroadcast_shape_failure(label, got, g, shape, what="g"):
    """The CheckFailed of an unbroadcast answer of the wrong shape, naming the mistake."""
    got_shape = _shape_of(got)
    if got_shape is None or got_shape == tuple(shape):
        return None
    got = np.asarray(got, dtype=np.float64)
    right = unbroadcast(g, shape)
    leading = _leading_only(g, shape)
    fix = "sum over the leading axes broadcasting added, then over every axis where shape has 1"
    if got_shape == np.shape(g) and np.allclose(got, g):
        return declared(
            f"{label} is {what} itself, of shape {got_shape}, not {tuple(shape)}: {fix}", "axis"
        )
    if got_shape == leading.shape and np.allclose(got, leading) and leading.shape != right.shape:
        return declared(
            f"{label} has shape {got_shape}: the leading axes are summed, but not the axes where "
            f"shape {tuple(shape)} has 1: sum those too, keeping them with size 1 (keepdims=True)",
            "axis",
        )
    if got.size == right.size and np.allclose(got.reshape(right.shape), right):
        return declared(
            f"{label} has shape {got_shape}, and reshaped to {tuple(shape)} it is right: the "
            "axes of size 1 were dropped: keep them (keepdims=True)",
            "axis",
        )
    trailing = _trailing_instead(g, shape)
    if trailing is not None and trailing.shape == got_shape and np.allclose(got, trailing):
        return declared(
            f"{label} is {what} summed over its last axes: broadcasting lines up the LAST axes "
            "and adds the new ones in front, so sum over the leading axes",
            "axis",
        )
    return declared(
        f"{label} has shape {got_shape}, expected {tuple(shape)}: the gradient of a value has "
        f"that value's shape: {fix}",
        "shape",
    )


@stdout_only
def check_unbroadcast(unbroadcast_fn, g_shape=(4, 3), shape=(3,), seed=0):
    """unbroadcast(g, shape) against central differences of np.broadcast_to(v, g.shape)."""
    rng = rng_for(seed)
    g = rng.normal(size=g_shape)
    v = rng.normal(size=shape)
    expected = numerical_vjp(lambda v_: np.broadcast_to(v_, g_shape), v, g)
    count = max(1, int(np.prod(g_shape)) // max(1, int(np.prod(shape))))
    mistakes = []
    if count > 1:
        mistakes.append(
            Mistake(
                expected / count,
                "that is the mean over the broadcast copies: every copy of an entry adds its "
                "gradient, so sum them",
                "factor",
            )
        )
    case = f"g of shape {g_shape} broadcast from shape {shape}"
    probe = Probe(
        {"g": (g, " ".join(f"{n}" for n in g_shape)), "shape": (shape, "")},
        in_order,
        unbroadcast,
        ("out",),
    )
    with Check("unbroadcast", unbroadcast_fn, case, probe) as check:
        got = check.call(g, tuple(shape))
        if (failed := unbroadcast_shape_failure("the result", got, g, shape)) is not None:
            raise failed
        check.compare("the result", got, expected, mistakes=mistakes)


# ---------------------------------------------------------------- mul_vjp and matmul_vjp


def _vjp_shape_failure(label, got, full, own_shape, other):
    """A da or db of the wrong shape: the product not unbroadcast, or something else."""
    got_shape = _shape_of(got)
    if got_shape is None or got_shape == tuple(own_shape):
        return None
    if got_shape == np.shape(full) and np.allclose(np.asarray(got, dtype=np.float64), full):
        return declared(
            f"{label} has the broadcast shape {got_shape}, not the shape {tuple(own_shape)} of "
            f"its input: the product was not unbroadcast: unbroadcast(g * {other}, shape)",
            "axis",
        )
    return unbroadcast_shape_failure(label, got, full, own_shape, what=f"g * {other}")


def _exactly(got, want):
    """Whether got is want: the same shape and, within rounding, the same values."""
    shape = _shape_of(got)
    if shape is None or shape != np.shape(want):
        return False
    return bool(np.allclose(np.asarray(got, dtype=np.float64), want, rtol=1e-6, atol=1e-12))


def _own_factors(g, a, b):
    """(da, db) of the mistake that multiplies each gradient by its own factor."""
    return unbroadcast(g * a, np.shape(a)), unbroadcast(g * b, np.shape(b))


OWN_FACTORS = (
    "da uses a where it should use b, and db uses b where it should use a (each gradient "
    "takes the OTHER factor: the derivative of a * b with respect to a is b): "
    "da = unbroadcast(g * b, a.shape), db = unbroadcast(g * a, b.shape)"
)


def _own_factors_failure(check, result, g, a, b, seed):
    """The CheckFailed of a mul_vjp whose da is g * a and db g * b, or None. Where a and b
    have one shape, that is also (db, da), the two returned in the wrong order: a second call
    on factors that broadcast ((3, 1) and (1, 4)) tells the two apart."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return None
    if not all(map(_exactly, result, _own_factors(g, a, b))):
        return None
    da, db = mul_vjp(g, a, b)
    if _exactly(result[0], db) and _exactly(result[1], da):  # also the wrong order
        rng = rng_for(seed + 100)
        a2, b2, g2 = rng.normal(size=(3, 1)), rng.normal(size=(1, 4)), rng.normal(size=(3, 4))
        again = check._run((g2, a2, b2))
        if not isinstance(again, (tuple, list)) or len(again) != 2:
            return None
        if not all(map(_exactly, again, _own_factors(g2, a2, b2))):
            return None
    return declared(OWN_FACTORS, "order")


@stdout_only
def check_mul_vjp(mul_vjp_fn, a_shape=(3, 4), b_shape=(3, 4), seed=0):
    """(da, db) of a * b against central differences, with broadcasting between a and b."""
    rng = rng_for(seed)
    a, b = rng.normal(size=a_shape), rng.normal(size=b_shape)
    g = rng.normal(size=np.broadcast_shapes(a_shape, b_shape))
    da = numerical_vjp(lambda a_: a_ * b, a, g)
    db = numerical_vjp(lambda b_: a * b_, b, g)
    factors = {"a": (a, a_shape), "b": (b, b_shape)}

    def typical(x, y):
        """The typical mistakes of dx, for y the other factor."""
        right = f"d{x} = unbroadcast(g * {y}, {x}.shape)"
        (mine, shape), (theirs, _) = factors[x], factors[y]
        other = (
            "each gradient takes the OTHER factor: the derivative of a * b with respect to a is b"
        )
        return [
            Mistake(
                unbroadcast(g * mine, shape),
                f"d{x} uses {x} where it should use {y} ({other}): {right}",
                "order",
            ),
            Mistake(
                unbroadcast(theirs + 0 * g, shape),
                f"the upstream gradient g is missing: {right}",
                "missing term",
            ),
        ]

    mistakes = {"da": typical("a", "b"), "db": typical("b", "a")}
    case = f"a {a_shape}, b {b_shape}, g {g.shape}"
    with Check("mul_vjp", mul_vjp_fn, case) as check:
        result = check.call(g, a, b)
        if found := _own_factors_failure(check, result, g, a, b, seed):
            raise found
        got = check.unpack(result, ("da", "db"), (da, db))
        for name, value, own, other_name, full in (
            ("da", da, a_shape, "b", g * b),
            ("db", db, b_shape, "a", g * a),
        ):
            if failed := _vjp_shape_failure(name, got[name == "db"], full, own, other_name):
                raise failed
            check.compare(name, got[name == "db"], value, mistakes=mistakes[name])


@stdout_only
def check_matmul_vjp(matmul_vjp_fn, N=4, D=3, M=5, seed=0):
    """(da, db) of a @ b against central differences."""
    rng = rng_for(seed)
    a, b, g = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=(N, M))
    da = numerical_vjp(lambda a_: a_ @ b, a, g)
    db = numerical_vjp(lambda b_: a @ b_, b, g)
    mistakes = {"da": [], "db": []}
    if D == M:
        mistakes["da"].append(Mistake(g @ b, "b is not transposed: da = g @ b.T", "transpose"))
    if N == D:
        mistakes["db"].append(Mistake(a @ g, "a is not transposed: db = a.T @ g", "transpose"))
    mistakes["db"].append(
        Mistake(a.T @ g / N, "db is averaged over the rows: g already carries any 1/N", "factor")
    )
    probe = Probe(
        {"g": (g, "N M"), "a": (a, "N D"), "b": (b, "D M")},
        in_order,
        matmul_vjp,
        ("da", "db"),
        upstream="g",
    )
    with Check("matmul_vjp", matmul_vjp_fn, _case(a=(N, D), b=(D, M)), probe) as check:
        got = check.unpack(check.call(g, a, b), ("da", "db"), (da, db))
        check.compare(
            "da",
            got[0],
            da,
            mistakes=mistakes["da"],
            hints={"transpose": "da = g @ b.T has the shape (N, D) of a"},
        )
        check.compare(
            "db",
            got[1],
            db,
            mistakes=mistakes["db"],
            hints={"transpose": "db = a.T @ g has the shape (D, M) of b"},
        )


# ---------------------------------------------------------------- the checks' graphs


class Recorder:
    """The vjp calls of one checking graph: (node name, g) in the order they came."""

    def __init__(self):
        self.calls = []
        self.refused = []  # (node name, shape of g) of each call with a g of the wrong shape

    def node(self, name, value, inputs, local):
        """A Node whose vjp is local(g), checked and recorded."""
        value = np.asarray(value, dtype=np.float64)

        def vjp(g):
            g = np.asarray(g, dtype=np.float64)
            if g.shape != value.shape:
                self.refused.append((name, g.shape))
                raise ValueError(
                    f"the vjp of node {name!r} takes a g of its value's shape {value.shape}, "
                    f"not {g.shape}"
                )
            self.calls.append((name, g.copy()))
            return tuple(local(g))

        return Node(value, inputs, vjp, name)


GRAPHS = ("shared", "skip", "vector root", "tied")
# distinct nodes with equal values; not in GRAPHS, whose expected grads tests/lessons/ checks
# against central differences through its own table of the graphs' operations
EQUAL_VALUES = "equal values"


def checking_graph(graph="shared", seed=0):
    """(root, {name: Node}, Recorder) of one of GRAPHS or EQUAL_VALUES, its vjps closures of
    its own.

    - "shared": L = sum((x @ W + b) * c * (x @ W + b)) + sum(W * W): z = x @ W + b is used twice,
      W three times (once by a node that takes it twice), b (2,) and c (3, 1) are broadcast
      along the rows and the columns; a scalar root
    - "skip": L = sum(exp(k * exp(d)) + exp(d)): the shared exp(d) is one step from the root on
      one path and three on the other, so an order that is not topological calls its vjp early
    - "vector root": r = (a * a + a) * (a * a), a (2, 3): the root is not a scalar
    - "tied": a chain h_t = relu(h_{t-1} @ V + u) that uses V and u at every step (Lesson 08)
    - "equal values": L = sum((p + q) * x + (q + p)), p = a * c1, q = x * c2: distinct nodes
      with equal values, the two constants c1 = c2 = 0.5 (as mul(d, 0.5) makes one for each
      call) and p + q beside q + p, with different gradients: a walk that tells nodes apart
      by value rather than by identity takes each pair for one node
    """
    rng = rng_for(seed)
    rec = Recorder()
    leaf = lambda name, value: Node(value, name=name)  # noqa: E731
    nodes = {}
    if graph == "shared":
        x, W = leaf("x", rng.normal(size=(3, 4))), leaf("W", rng.normal(size=(4, 2)))
        b, c = leaf("b", rng.normal(size=2)), leaf("c", rng.normal(size=(3, 1)))
        h = rec.node("h", x.value @ W.value, (x, W), lambda g: (g @ W.value.T, x.value.T @ g))
        z = rec.node("z", h.value + b.value, (h, b), lambda g: (g, g.sum(axis=0)))
        r = rec.node(
            "r", z.value * c.value, (z, c),
            lambda g: (g * c.value, (g * z.value).sum(axis=1, keepdims=True)),
        )  # fmt: skip
        q = rec.node("q", r.value * z.value, (r, z), lambda g: (g * z.value, g * r.value))
        s = rec.node("s", q.value.sum(), (q,), lambda g: (np.full(q.value.shape, float(g)),))
        w2 = rec.node("W*W", W.value * W.value, (W, W), lambda g: (g * W.value, g * W.value))
        v = rec.node("v", w2.value.sum(), (w2,), lambda g: (np.full(w2.value.shape, float(g)),))
        root = rec.node("L", s.value + v.value, (s, v), lambda g: (g, g))
        nodes = dict(x=x, W=W, b=b, c=c, h=h, z=z, r=r, q=q, s=s, v=v, L=root)
        nodes["W*W"] = w2
    elif graph == "skip":
        d, k = leaf("d", rng.normal(scale=0.5, size=3)), leaf("k", rng.normal(scale=0.5, size=3))
        c = rec.node("c", np.exp(d.value), (d,), lambda g: (g * np.exp(d.value),))
        b = rec.node("b", k.value * c.value, (k, c), lambda g: (g * c.value, g * k.value))
        a = rec.node("a", np.exp(b.value), (b,), lambda g: (g * np.exp(b.value),))
        u = rec.node("u", a.value + c.value, (a, c), lambda g: (g, g))
        root = rec.node("L", u.value.sum(), (u,), lambda g: (np.full(3, float(g)),))
        nodes = dict(d=d, k=k, c=c, b=b, a=a, u=u, L=root)
    elif graph == "vector root":
        a = leaf("a", rng.normal(size=(2, 3)))
        m = rec.node("m", a.value * a.value, (a, a), lambda g: (g * a.value, g * a.value))
        n = rec.node("n", m.value + a.value, (m, a), lambda g: (g, g))
        root = rec.node("r", n.value * m.value, (n, m), lambda g: (g * m.value, g * n.value))
        nodes = dict(a=a, m=m, n=n, r=root)
    elif graph == "tied":
        V, u = leaf("V", rng.normal(scale=0.6, size=(3, 3))), leaf("u", rng.normal(size=3))
        h = leaf("h0", rng.normal(size=(2, 3)))
        nodes = dict(V=V, u=u, h0=h)
        for t in range(1, 4):
            prev = h
            zt = prev.value @ V.value + u.value
            z = rec.node(
                f"z{t}", zt, (prev, V, u),
                lambda g, prev=prev: (g @ V.value.T, prev.value.T @ g, g.sum(axis=0)),
            )  # fmt: skip
            h = rec.node(f"h{t}", np.maximum(zt, 0), (z,), lambda g, zt=zt: (g * (zt > 0),))
            nodes[f"z{t}"], nodes[f"h{t}"] = z, h
        root = rec.node("L", h.value.sum(), (h,), lambda g: (np.full((2, 3), float(g)),))
        nodes["L"] = root
    elif graph == EQUAL_VALUES:
        a, x = leaf("a", rng.normal(size=(2, 3))), leaf("x", rng.normal(size=(2, 3)))
        c1, c2 = leaf("c1", 0.5), leaf("c2", 0.5)
        p = rec.node(
            "p", a.value * c1.value, (a, c1), lambda g: (g * c1.value, np.sum(g * a.value))
        )
        q = rec.node(
            "q", x.value * c2.value, (x, c2), lambda g: (g * c2.value, np.sum(g * x.value))
        )
        u = rec.node("p+q", p.value + q.value, (p, q), lambda g: (g, g))
        w = rec.node("q+p", q.value + p.value, (q, p), lambda g: (g, g))
        t = rec.node("t", u.value * x.value, (u, x), lambda g: (g * x.value, g * u.value))
        n = rec.node("n", t.value + w.value, (t, w), lambda g: (g, g))
        root = rec.node("L", n.value.sum(), (n,), lambda g: (np.full(n.value.shape, float(g)),))
        nodes = {"a": a, "x": x, "c1": c1, "c2": c2, "p": p, "q": q, "p+q": u, "q+p": w}
        nodes.update(t=t, n=n, L=root)
    else:
        raise ValueError(f"unknown graph {graph!r}: one of {(*GRAPHS, EQUAL_VALUES)}")
    return root, nodes, rec


def consumers(nodes):
    """{name: [(consumer name, position in its inputs), ...]} of a graph."""
    found = {name: [] for name in nodes}
    for name, node in nodes.items():
        for k, parent in enumerate(node.inputs):
            found[parent.name].append((name, k))
    return found


def expected_grads(graph, seed):
    """{name: dL/dnode} of a checking graph, by the reference backward."""
    root, nodes, _ = checking_graph(graph, seed)
    backward(root)
    return {name: node.grad for name, node in nodes.items()}


def contributions(graph, seed, grads):
    """{name: [(None, term), ...]}: the term each consumer's vjp adds to a node's gradient."""
    _, nodes, _ = checking_graph(graph, seed)
    terms = {name: [] for name in nodes}
    for name, node in nodes.items():
        if node.vjp is None:
            continue
        for parent, g in zip(node.inputs, node.vjp(grads[name])):
            terms[parent.name].append((None, np.asarray(g)))
    return terms


def _case_of(graph, nodes, root):
    shape = next(iter(n.value.shape for n in nodes.values() if not n.inputs and n.name != "k"))
    what = "a scalar root" if root.value.ndim == 0 else f"a root of shape {root.value.shape}"
    return f'the "{graph}" graph ({len(nodes)} nodes, {what}; a leaf of shape {shape})'


# ---------------------------------------------------------------- topological_order


def _label(node, names):
    return f"node {names[id(node)]!r}" if id(node) in names else "a node"


def _same_value(a, b):
    return np.shape(a.value) == np.shape(b.value) and np.array_equal(a.value, b.value)


def _equal_valued(node, others, names):
    """The name of the first of `others` (Nodes) that is another node with node's value."""
    for other in others:
        if other is not node and id(other) in names and _same_value(node, other):
            return names[id(other)]
    return ""


@stdout_only
def check_topological_order(topological_order_fn, graph="shared", seed=0):
    """Every node once, each after its inputs, the root last."""
    root, nodes, _ = checking_graph(graph, seed)
    names = {id(node): name for name, node in nodes.items()}
    with Check("topological_order", topological_order_fn, _case_of(graph, nodes, root)) as check:
        order = check.call(root)
        if order is None:
            raise declared("returned None: return the list of nodes", "no return")
        if not isinstance(order, (list, tuple)):
            raise declared(
                f"returned a {type(order).__name__}: return a list of the graph's nodes", "type"
            )
        for k, item in enumerate(order):
            if id(item) not in names:
                what = type(item).__name__ if not isinstance(item, Node) else "a Node"
                raise declared(
                    f"item {k} of the order is {what} that is not one of the graph's nodes: "
                    "list the Node objects themselves (no copies, no values)",
                    "type",
                )
        ids = [id(item) for item in order]
        for item in order:
            if ids.count(id(item)) > 1:
                raise declared(
                    f"{_label(item, names)} appears {ids.count(id(item))} times: a node used by "
                    "several others is listed once: keep a set of the nodes already visited",
                    "formula",
                )
        missing = [name for name, node in nodes.items() if id(node) not in ids]
        for name in missing:
            twin = _equal_valued(nodes[name], order, names)
            if twin:
                raise declared(
                    f"node {name!r} is missing from the order although it is a distinct node, "
                    f"with the value of the listed node {twin!r} (is it compared by value "
                    "rather than by identity?): two nodes may hold equal values (two constants "
                    "0.5, p + q and q + p) and still be two nodes: keep the ids of the visited "
                    "nodes (id(node) in a set), never their values",
                    "missing term",
                )
        if missing:
            leaves = [m for m in missing if not nodes[m].inputs]
            what = "leaves " if leaves and len(leaves) == len(missing) else ""
            raise declared(
                f"the order misses the {what}{', '.join(map(repr, missing))}: list every node "
                "root depends on, leaves included",
                "missing term",
            )
        position = {id(item): k for k, item in enumerate(order)}
        backwards = order[::-1]
        place = {id(item): k for k, item in enumerate(backwards)}
        reversed_topological = all(
            place[id(parent)] < place[id(item)] for item in backwards for parent in item.inputs
        )
        if order[0] is root and len(order) > 1 and reversed_topological:
            raise declared(
                "the root comes first: that is a reverse topological order: each node must come "
                "after all of its inputs, so that the root is last",
                "order",
            )
        for item in order:
            for parent in item.inputs:
                if position[id(parent)] > position[id(item)]:
                    raise declared(
                        f"{_label(item, names)} comes before its input {_label(parent, names)}: "
                        "a node is appended after all of its inputs (post-order), not when it "
                        "is first reached",
                        "order",
                    )


# ---------------------------------------------------------------- backward


def _own(fn, name, reference, check):
    """The CheckFailed of the student's own `name` (which fn calls), or None."""
    return own_failure(fn, Callee(name, reference, check))


def check_order_everywhere(topological_order_fn):
    """check_topological_order on a graph of shared nodes, then on one of equal values: what
    backward's check asks of the student's own topological_order when backward fails."""
    check_topological_order(topological_order_fn, graph="shared")
    check_topological_order(topological_order_fn, graph="equal values", seed=1)


def _entries_wrong(label, got, expected):
    """The generic diagnosis of a grad (in place of a coincidence: a gradient that is the log
    of the expected one, say 0 where 1 belongs, is none)."""
    wrong = ~np.isclose(got, expected, rtol=1e-6, atol=1e-9)
    first = tuple(int(i) for i in np.argwhere(wrong)[0]) if got.ndim else ()
    return CheckFailed(
        f"{label}: {int(wrong.sum())} of {wrong.size} entries are wrong, the first at index "
        f"{first} (got {got[first]:.6g}, expected {expected[first]:.6g})",
        "values",
    )


def _compare_grad(label, got, expected, terms):
    """compare() of one node's grad, its consumers' contributions as the terms of a sum."""
    hints = {
        "accumulation": "a node used by several others gets the SUM of their contributions: "
        "add (+=) each one into its gradient instead of assigning (=)",
    }
    sums = Sum(terms, "consumer") if len(terms) > 1 else None
    array = _shape_of(got) == np.shape(expected) and np.asarray(got, dtype=np.float64)
    if array is not False and not np.any(array) and np.any(expected):
        raise declared(
            f"{label} is all zeros: no contribution of the nodes that use it reached it: a "
            "node's gradient is the sum of what the vjps of the nodes that use it send it",
            "missing term",
        )
    try:
        compare(label, got, expected, sums=sums, hints=hints)
    except CheckFailed as found:
        coincidence = ("the logarithm of the expected", "the exponential of the expected")
        if array is False or not any(c in first_line(str(found)) for c in coincidence):
            raise
        raise _entries_wrong(label, array, np.asarray(expected, dtype=np.float64)) from None


def _calls_in_order(nodes, rec):
    """The vjp calls must come in the reverse of a topological order: each node's after the
    vjps of all of the nodes that use it (the structure of the calls, before any value)."""
    first = {}
    for k, (name, _) in enumerate(rec.calls):
        first.setdefault(name, k)
    early = [
        (parent.name, name)
        for name, node in nodes.items()
        if name in first
        for parent in dict.fromkeys(node.inputs)
        if parent.name in first and first[parent.name] < first[name]
    ]
    pairs = sum(
        parent.name in first
        for name, node in nodes.items()
        if name in first
        for parent in dict.fromkeys(node.inputs)
    )
    if not early:
        return
    if len(early) == pairs > 1:
        raise declared(
            "the topological order was walked forwards (inputs first) instead of in reverse "
            f"(the vjp of node {early[0][0]!r} was called before "
            f"that of node {early[0][1]!r}, which uses it, while its gradient was still "
            "incomplete): go through reversed(topological_order(root)), the root first, so "
            "that a node comes after every node that uses it",
            "order",
        )
    parent, user = min(early, key=lambda pair: first[pair[0]])
    raise declared(
        f"the vjp of node {parent!r} was called before all of the nodes that use it had added "
        f"their contributions to its gradient (before the vjp of node {user!r}, which uses "
        "it): go through the nodes in the reverse of the topological order, so that a node "
        "comes after every node that uses it",
        "order",
    )


def _by_value(label, name, got, nodes, expected):
    """A CheckFailed when node `name`'s grad is wrong and another node holds an equal value
    (gradients kept by value, not by identity), else None."""
    node = nodes[name]
    twins = [other for other, n in nodes.items() if other != name and _same_value(node, n)]
    if not twins:
        return None
    if got is not None:
        group = sum(expected[other] for other in twins) + expected[name]
        candidates = [group, *(expected[other] for other in twins)]
        got = np.asarray(got, dtype=np.float64) if _shape_of(got) is not None else None
        if got is None or not any(np.allclose(got, c) for c in candidates):
            return None
    what = "is None" if got is None else "is wrong"
    return declared(
        f"{label} {what}, and node {twins[0]!r} is a distinct node with an equal value "
        "(are nodes compared by value rather than by identity?): two nodes may hold equal "
        "values (two constants 0.5, p + q and q + p) and still need their own gradients: key "
        "the gradients and the visited nodes by id(node), never by value",
        "state",
    )


def _aliased(nodes, expected, rec, order_names):
    """A CheckFailed when a grad changed after the vjp of its node was called with it, or when
    two nodes whose gradients differ hold one array: a contribution stored without a copy and
    then added to in place (+=); else None."""
    made = dict((name, g) for name, g in reversed(rec.calls))  # the first call of each
    grads = {name: nodes[name].grad for name in order_names}

    def sharing(name):
        return next(
            (
                other
                for other in order_names
                if other != name
                and isinstance(grads[other], np.ndarray)
                and np.shares_memory(grads[other], grads[name])
            ),
            None,
        )

    fix = (
        "store a copy of a node's first contribution (g.copy()), or add with "
        "grad = grad + g, which makes a new array, never += into an array another node "
        "may hold"
    )
    for name in order_names:
        got, g = grads[name], made.get(name)
        if g is None or _shape_of(got) != g.shape or not np.allclose(g, expected[name]):
            continue
        if not np.allclose(np.asarray(got, dtype=np.float64), g):
            other = sharing(name) if isinstance(got, np.ndarray) else None
            also = f" (it is the same array as the grad of node {other!r})" if other else ""
            return declared(
                f"the grad of node {name!r} changed after it was final: its vjp was called "
                f"with the right gradient, which an addition in place (+=) changed later"
                f"{also}, a shared array: {fix}",
                "state",
            )
    for name in order_names:
        if not isinstance(grads[name], np.ndarray):
            continue
        other = sharing(name)
        if other and not np.allclose(expected[name], expected[other]):
            return declared(
                f"the grads of nodes {name!r} and {other!r} are the same array, a shared "
                "array, although their gradients differ: a contribution was stored without a "
                f"copy and then added to in place (+=): {fix}",
                "state",
            )
    return None


def _check_grads(nodes, expected, terms, rec, order_names):
    """The vjp calls, as they came; each node's grad, from the root down."""
    calls = {}
    for name, g in rec.calls:
        calls.setdefault(name, []).append(g)
    uses = consumers(nodes)
    for name in order_names:
        made = calls.get(name, [])
        if nodes[name].vjp is not None and len(made) > 1:
            raise declared(
                f"the vjp of node {name!r} was called {len(made)} times: call each node's vjp "
                "once, when its gradient is complete, going through the nodes in the reverse "
                "of a topological order (once per path costs exponentially many calls)",
                "order",
            )
    _calls_in_order(nodes, rec)
    if found := _aliased(nodes, expected, rec, order_names):
        raise found
    for name in order_names:
        node = nodes[name]
        got = node.grad
        label = f"the grad of node {name!r}"
        if got is None:
            if found := _by_value(label, name, got, nodes, expected):
                raise found
            raise declared(
                f"{label} is None: backward sets the grad of every node of "
                "topological_order(root), leaves included",
                "missing term",
            )
        made = calls.get(name, [])
        if not uses[name] and np.shape(got) != node.value.shape:  # the root
            raise declared(
                f"the root's grad has shape {np.shape(got)}: it must be ones of the root's "
                f"value's shape {node.value.shape} (np.ones_like(root.value)), a scalar 1.0 "
                "is right only for a scalar root",
                "shape",
            )
        try:
            _compare_grad(label, got, expected[name], terms[name])
        except CheckFailed:
            if found := _by_value(label, name, got, nodes, expected):
                raise found from None
            raise
        if node.vjp is not None and not made:
            raise declared(
                f"backward never called the vjp of node {name!r}: every non-leaf node sends "
                "its gradient on to its inputs through its vjp",
                "missing term",
            )
        if made and not np.allclose(made[0], expected[name], rtol=1e-6, atol=1e-9):
            raise declared(
                f"the vjp of node {name!r} was called before all of the nodes that use it had "
                "added their contributions to its gradient: go through the nodes in the reverse "
                "of the topological order, so that a node comes after every node that uses it",
                "order",
            )


def _all_right(nodes, expected):
    return all(
        _shape_of(node.grad) == expected[name].shape
        and np.allclose(np.asarray(node.grad, dtype=np.float64), expected[name])
        for name, node in nodes.items()
    )


def _right_on_a_fresh_graph(backward_fn, graph, seed, expected):
    """Whether backward_fn, called once on a new graph (no grads yet), gets every grad right."""
    root, nodes, _ = checking_graph(graph, seed)
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            backward_fn(root)
        except Exception:
            return False
    return _all_right(nodes, expected)


def _added_to(nodes, expected, before, order_names, how):
    """The CheckFailed of grads that a call added to instead of replacing, or None."""
    for name in order_names:
        got = nodes[name].grad
        if _shape_of(got) == expected[name].shape and np.allclose(
            np.asarray(got, dtype=np.float64), expected[name]
        ):
            continue
        got = np.asarray(got, dtype=np.float64) if _shape_of(got) is not None else None
        k = None if got is None else ad_scale(got, expected[name])
        times = f" is {k:g} times the right one" if k is not None else " is wrong"
        added = got is not None and np.allclose(got, before[name] + expected[name])
        why = (
            "so backward added to the grads an earlier call left"
            if added
            else "so what backward sets depends on the grads an earlier call left"
        )
        return declared(
            f"grads of the earlier call were added to, not replaced, as {how} shows (the grad "
            f"of node {name!r}{times} afterwards, {why}): start every call from fresh gradients, "
            "ones for the root and for every other node the sum of this call's contributions "
            "alone (the contract: grads of an earlier call are replaced)",
            "state",
        )
    return None


def ad_scale(got, expected):
    """The c with got = c * expected, or None."""
    energy = float(np.sum(expected * expected))
    if got.shape != expected.shape or energy == 0:
        return None
    k = float(np.sum(got * expected)) / energy
    return k if np.allclose(got, k * expected) else None


@stdout_only
def check_backward(backward_fn, graph="shared", seed=0, again=False):
    """Every node's grad after backward(root), then after a second call on the same graph,
    which must replace the grads of the first; again: every node already holds the grad of an
    earlier call before the first call too."""
    root, nodes, rec = checking_graph(graph, seed)
    expected = expected_grads(graph, seed)
    terms = contributions(graph, seed, expected)
    order_names = [node.name for node in reversed(topological_order(root))]
    case = _case_of(graph, nodes, root) + (", grads of an earlier call present" if again else "")
    if again:
        for name, node in nodes.items():
            node.grad = expected[name].copy()
    try:
        with Check("backward", backward_fn, case) as check:
            before = {name: np.array(node.grad, dtype=np.float64) for name, node in nodes.items()}
            _call(check, root, rec)
            try:
                _check_grads(nodes, expected, terms, rec, order_names)
            except CheckFailed:
                fresh = again and _right_on_a_fresh_graph(backward_fn, graph, seed, expected)
                if fresh and (found := _added_to(nodes, expected, before, order_names, "a call")):
                    raise found from None
                raise
            first = {name: np.array(node.grad, dtype=np.float64) for name, node in nodes.items()}
            rec.calls.clear()
            _call(check, root, rec)
            how = "a second call on the same graph"
            if found := _added_to(nodes, expected, first, order_names, how):
                raise found
            _check_grads(nodes, expected, terms, rec, order_names)
    except AssertionError:
        found = _own(backward_fn, "topological_order", topological_order, check_order_everywhere)
        if found is None:
            raise
        lead = "backward: your topological_order, which backward calls, fails its own check: "
        said = first_line(str(found)).removeprefix("topological_order: ")
        raise declared(lead + said, found.kind) from None


def _call(check, root, rec):
    """check.call(root); a root's vjp given a g of another shape than the root's is named."""
    try:
        check.call(root)
    except CheckFailed as failed:
        refused = [shape for name, shape in rec.refused if name == root.name]
        if failed.kind != "error" or not refused:
            raise
        raise declared(
            f"the root's vjp was called with a g of shape {refused[0]}, not the root's shape "
            f"{root.value.shape}: the root's grad (the seed) is ones of the root's value's "
            "shape (np.ones_like(root.value)), a scalar 1.0 is right only for a scalar root",
            "shape",
        ) from None


# ---------------------------------------------------------------- the checkpoint


@stdout_only
def check_log_softmax_vjp(log_softmax_vjp_fn, N=3, K=4, seed=0):
    """dz of s = log_softmax(z) (rows) for upstream g, against central differences."""
    rng = rng_for(seed)
    z, g = rng.normal(size=(N, K)), rng.normal(size=(N, K))

    def log_softmax(z_):
        shifted = z_ - z_.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    expected = numerical_vjp(log_softmax, z, g)
    p = np.exp(log_softmax(z))
    mistakes = [
        Mistake(
            g - p * g,
            "the sum over the row is missing: s_k depends on every z_j, so "
            "dz_j = g_j - p_j * sum_k g_k",
            "missing term",
        ),
        Mistake(
            -p * g.sum(axis=1, keepdims=True),
            "the direct term g is missing: "
            "ds_k/dz_j = [k = j] - p_j, so dz = g - p * (row sums of g)",
            "missing term",
        ),
        Mistake(
            g - p * g.sum(axis=0, keepdims=True),
            "g was summed over the batch (axis 0): "
            "the sum runs over the classes of each row, axis 1",
            "axis",
        ),
        Mistake(
            g * p * (1 - p),
            "that is the diagonal of the softmax's Jacobian times g: "
            "the log-softmax's is [k = j] - p_j, summed over the row",
            "formula",
        ),
        Mistake(
            g - p * g.sum(),
            "g was summed over the whole array: the sum runs over the "
            "classes of each row (axis 1, keepdims=True)",
            "axis",
        ),
    ]
    probe = Probe(
        {"g": (g, "N K"), "z": (z, "N K")},
        in_order,
        log_softmax_vjp,
        ("dz",),
        upstream="g",
        smallest={"K": 2},
    )
    with Check("log_softmax_vjp", log_softmax_vjp_fn, _case(z=(N, K)), probe) as check:
        check.compare("dz", check.call(g, z), expected, mistakes=mistakes, factors=())


# ---------------------------------------------------------------- mlp_loss_graph


def mlp_graph_mistakes(params, X, y):
    keys = list(params)
    found = {key: [] for key in keys}
    for mistake in ("db_mean", "dW_transposed", "logits_delta"):
        try:
            grads = mlp_grads(params, X, y, "relu", mistake)
        except ValueError:
            continue
        kind, message = MLP_MISTAKES[mistake]
        for key in keys:
            found[key].append(Mistake(grads[key], message, kind))
    return found


@stdout_only
def check_mlp_loss_graph(mlp_loss_graph_fn, dims=(2, 4, 3), N=5, seed=0):
    """(loss, grads) of the relu MLP, against central differences of the trusted loss."""
    params, X, y = mlp_problem(dims, N, "relu", seed)
    n_layers = len(params) // 2
    loss = mlp_loss_value(params, X, y, "relu")
    expected = mlp_numerical_grads(params, X, y, "relu")
    mistakes = mlp_graph_mistakes(params, X, y)
    case = f"a {'-'.join(map(str, dims))} relu network, N = {N}"
    probe = mlp_probe(params, X, y, "relu")
    probe = Probe(
        probe.inputs,
        lambda X, y, **p: (p, X, y),
        lambda p, X, y: (mlp_loss_value(p, X, y, "relu"), mlp_grads(p, X, y, "relu")),
        probe.outputs,
        switches=probe.switches,
        smallest=probe.smallest,
        valid=probe.valid,
    )
    try:
        with Check("mlp_loss_graph", mlp_loss_graph_fn, case, probe) as check:
            with ad.recording() as used:
                result = check.call(params, X, y)
            through = check.called if check.lending else used
            got_loss, grads = check.unpack(result, ("loss", "grads"), (loss, None))
            check.compare("loss", got_loss, loss, factors=batch_factors(N))
            if not isinstance(grads, dict) or set(grads) != set(params):
                keys = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
                raise declared(
                    f"grads must be a dict with the keys of params {sorted(params)}, got {keys}",
                    "type",
                )
            for i in range(n_layers, 0, -1):
                for key in (f"W{i}", f"b{i}"):
                    if grads[key] is None:
                        raise declared(
                            f"grads['{key}'] is None: call backward(loss) and read the grad of "
                            "each parameter's Node",
                            "missing term",
                        )
                    check.compare(
                        f"grads['{key}']", grads[key], expected[key],
                        factors=batch_factors(N), mistakes=mistakes[key],
                        hints={"axis": "the bias is broadcast over the batch in add: its "
                               "gradient is unbroadcast, summed over the rows"},
                    )  # fmt: skip
            if "matmul_vjp" not in through:
                raise declared(
                    "mlp_loss_graph never went through the engine's matmul (matmul_vjp was not "
                    "called): build the network with the course's operations and call backward",
                    "formula",
                )
    except AssertionError:
        found = _own(mlp_loss_graph_fn, "backward", backward, check_backward)
        if found is None:
            raise
        lead = "mlp_loss_graph: your backward, which mlp_loss_graph calls, fails its own check: "
        said = first_line(str(found)).removeprefix("backward: ")
        raise declared(lead + said, found.kind) from None


# graphs live in the student's process: these two calls cannot be lent (checking.not_lent)
not_lent(backward=["topological_order"], mlp_loss_graph=["backward"])
# mlp_loss_graph's operations call the three vjp exercises: the grader lends it the course's
calls(
    mul_vjp=[(unbroadcast, check_unbroadcast)],
    mlp_loss_graph=[
        (unbroadcast, check_unbroadcast),
        (mul_vjp, check_mul_vjp),
        (matmul_vjp, check_matmul_vjp),
    ],
)
