"""Lesson 13: typical wrong answers and correct answers in other styles.

mlp_loss_graph's answers use the notebook's names: `ad` (the engine's operations, imported in
the setup cell) and the student's `backward` (here the course's, so that a wrong
mlp_loss_graph is judged on its own).
"""

import numpy as np

import gradlab.tools.autodiff as ad
from gradlab.exercises.autodiff import backward, matmul_vjp, mul_vjp, unbroadcast  # noqa: F401
from tests.catalogue import right, wrong

LESSON = "13_autodiff"


# ---------------------------------------------------------------- unbroadcast


@wrong("unbroadcast", "the leading axes are summed, but not the axes where shape", "axis")
def unbroadcast_leading_axes_only(g, shape):
    return g.sum(axis=tuple(range(g.ndim - len(shape))))


@wrong("unbroadcast", "the axes of size 1 were dropped", "axis")
def unbroadcast_without_keepdims(g, shape):
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes)


@wrong("unbroadcast", "summed over its last axes", "axis")
def unbroadcast_trailing_axes(g, shape):
    return g.sum(axis=tuple(range(len(shape), g.ndim)))


@wrong("unbroadcast", "the mean over the broadcast copies", "factor")
def unbroadcast_mean(g, shape):
    g = g.mean(axis=tuple(range(g.ndim - len(shape))))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.mean(axis=axes, keepdims=True)


@right("unbroadcast")
def unbroadcast_by_loops(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


@right("unbroadcast")
def unbroadcast_through_a_vjp_of_broadcast_to(g, shape):
    out = np.zeros(shape)
    view = np.broadcast_to(np.arange(out.size).reshape(shape), g.shape)
    np.add.at(out.reshape(-1), view.reshape(-1), g.reshape(-1))
    return out


# ---------------------------------------------------------------- mul_vjp


@wrong("mul_vjp", "the product was not unbroadcast", "axis")
def mul_vjp_not_unbroadcast(g, a, b):
    return g * b, g * a


@wrong("mul_vjp", "da uses a where it should use b", "order")
def mul_vjp_factors_swapped(g, a, b):
    return unbroadcast(g * a, np.shape(a)), unbroadcast(g * b, np.shape(b))


@wrong("mul_vjp", "returned in the wrong order", "order")
def mul_vjp_outputs_swapped(g, a, b):
    return unbroadcast(g * a, np.shape(b)), unbroadcast(g * b, np.shape(a))


@wrong("mul_vjp", "db uses b where it should use a", "order")
def mul_vjp_db_own_factor(g, a, b):
    return unbroadcast(g * b, np.shape(a)), unbroadcast(g * b, np.shape(b))


@wrong("mul_vjp", "the upstream gradient g is missing", "missing term")
def mul_vjp_without_g(g, a, b):
    return unbroadcast(np.broadcast_to(b, g.shape), np.shape(a)), unbroadcast(
        np.broadcast_to(a, g.shape), np.shape(b)
    )


@right("mul_vjp")
def mul_vjp_inline_sums(g, a, b):
    def back(x, shape):
        x = x.sum(axis=tuple(range(x.ndim - len(shape))))
        return x.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)

    return back(g * b, np.shape(a)), back(g * a, np.shape(b))


# ---------------------------------------------------------------- matmul_vjp


@wrong("matmul_vjp", "transpose", "transpose")
def matmul_vjp_db_transposed(g, a, b):
    return g @ b.T, g.T @ a


@wrong("matmul_vjp", "the inner sizes of a matrix product must agree", "error")
def matmul_vjp_b_untransposed(g, a, b):
    return g @ b, a.T @ g


@wrong("matmul_vjp", "returned in the wrong order", "order")
def matmul_vjp_wrong_order(g, a, b):
    return a.T @ g, g @ b.T


@wrong("matmul_vjp", "averaged over the rows", "factor")
def matmul_vjp_db_mean(g, a, b):
    return g @ b.T, a.T @ g / len(a)


@right("matmul_vjp")
def matmul_vjp_einsum(g, a, b):
    return np.einsum("nm,dm->nd", g, b), np.einsum("nd,nm->dm", a, g)


# ---------------------------------------------------------------- topological_order


@wrong("topological_order", "appears 2 times", "formula")
def order_without_visited_set(root):
    order = []

    def visit(node):
        for parent in node.inputs:
            visit(parent)
        order.append(node)

    visit(root)
    return order


@wrong("topological_order", "comes before its input", "order")
def order_pre_order(root):
    order, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(node.inputs)
    return order


@wrong("topological_order", "the root comes first", "order")
def order_reversed(root):
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in node.inputs:
            visit(parent)
        order.append(node)

    visit(root)
    return order[::-1]


@wrong("topological_order", "the order misses the leaves", "missing term")
def order_without_leaves(root):
    order, seen = [], set()

    def visit(node):
        if id(node) in seen or not node.inputs:
            return
        seen.add(id(node))
        for parent in node.inputs:
            visit(parent)
        order.append(node)

    visit(root)
    return order


@wrong("topological_order", "compared by value rather than by identity", "missing term")
def order_seen_by_value(root):
    order = []

    def visit(node):
        if any(np.array_equal(node.value, done.value) for done in order):
            return
        for parent in node.inputs:
            visit(parent)
        order.append(node)

    visit(root)
    return order


@wrong("topological_order", "although it is a distinct node", "missing term")
def order_keyed_by_value_bytes(root):
    order, seen, stack = [], {}, [(root, False)]
    while stack:
        node, done = stack.pop()
        key = (node.value.shape, node.value.tobytes())
        if done:
            order.append(node)
        elif key not in seen:
            seen[key] = node
            stack.append((node, True))
            stack.extend((parent, False) for parent in node.inputs)
    return order


@right("topological_order")
def order_by_iterative_dfs(root):
    order, seen, stack = [], set(), [(root, iter(root.inputs))]
    seen.add(id(root))
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, iter(parent.inputs)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


@right("topological_order")
def order_by_kahn(root):
    nodes, stack, seen = [], [root], {id(root)}
    while stack:
        node = stack.pop()
        nodes.append(node)
        for parent in node.inputs:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    waiting = {id(n): len({id(p) for p in n.inputs}) for n in nodes}
    users = {id(n): [] for n in nodes}
    for n in nodes:
        for p in {id(p): p for p in n.inputs}.values():
            users[id(p)].append(n)
    ready = [n for n in nodes if waiting[id(n)] == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for user in users[id(node)]:
            waiting[id(user)] -= 1
            if waiting[id(user)] == 0:
                ready.append(user)
    return order


@right("topological_order")
def order_recursive(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    return order


# ---------------------------------------------------------------- backward


def _order(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    return order


@wrong("backward", "holds the contribution of the", "accumulation")
def backward_assigns(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    grads = {id(root): np.ones_like(root.value)}
    for node in reversed(order):
        node.grad = grads[id(node)]
        if node.vjp is not None:
            for parent, g in zip(node.inputs, node.vjp(node.grad)):
                grads[id(parent)] = g


@wrong("backward", "was called 2 times", "order")
def backward_once_per_path(root):
    def clear(node):
        node.grad = np.zeros_like(node.value)
        for parent in node.inputs:
            clear(parent)

    def send(node, g):
        node.grad = node.grad + g
        if node.vjp is not None:
            for parent, contribution in zip(node.inputs, node.vjp(g)):
                send(parent, contribution)

    clear(root)
    send(root, np.ones_like(root.value))


@wrong("backward", "was called before all of the nodes that use it", "order")
def backward_breadth_first(root):
    grads, queue, done = {id(root): np.ones_like(root.value)}, [root], set()
    while queue:
        node = queue.pop(0)
        if id(node) in done:
            continue
        done.add(id(node))
        node.grad = grads[id(node)]
        if node.vjp is not None:
            for parent, g in zip(node.inputs, node.vjp(node.grad)):
                grads[id(parent)] = grads.get(id(parent), 0) + g
                queue.append(parent)
    for node in _all(root):
        node.grad = grads[id(node)]


def _all(root):
    found, stack, seen = [], [root], set()
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            found.append(node)
            stack.extend(node.inputs)
    return found


@wrong("backward", "backward added to the grads an earlier call left", "state")
def backward_keeps_old_grads(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    for node in order:
        if node.grad is None:
            node.grad = np.zeros_like(node.value)
    root.grad = root.grad + np.ones_like(root.value)
    pending = {id(root): np.ones_like(root.value)}
    for node in reversed(order):
        g = pending.get(id(node), 0)
        if node is not root:
            node.grad = node.grad + g
        if node.vjp is not None:
            for parent, c in zip(node.inputs, node.vjp(g)):
                pending[id(parent)] = pending.get(id(parent), 0) + c


@wrong("backward", "the root's grad has shape ()", "shape")
def backward_scalar_seed(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    grads = {id(root): np.array(1.0)}
    for node in reversed(order):
        node.grad = grads[id(node)]
        if node.vjp is not None:
            for parent, g in zip(
                node.inputs, node.vjp(np.broadcast_to(node.grad, node.value.shape))
            ):
                grads[id(parent)] = grads.get(id(parent), 0) + g


@wrong("backward", "compared by value rather than by identity", "state")
def backward_grads_keyed_by_value(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)

    def key(node):
        return node.value.shape, node.value.tobytes()

    grads = {key(root): np.ones_like(root.value)}
    for node in reversed(order):
        node.grad = grads.get(key(node), np.zeros_like(node.value))
        if node.vjp is not None:
            for parent, g in zip(node.inputs, node.vjp(node.grad)):
                grads[key(parent)] = grads.get(key(parent), 0) + g


@wrong(
    "backward",
    "the topological order was walked forwards (inputs first) instead of in reverse",
    "order",
)
def backward_forward_walk(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    grads = {id(root): np.ones_like(root.value)}
    for node in order:
        node.grad = grads.get(id(node), np.zeros_like(node.value))
        if node.vjp is not None:
            for parent, g in zip(node.inputs, node.vjp(node.grad)):
                grads[id(parent)] = grads.get(id(parent), 0) + g


@wrong("backward", "grads of the earlier call were added to, not replaced", "state")
def backward_sums_kept_in_grad(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    for node in order:
        if node.grad is None:
            node.grad = np.zeros_like(node.value)
    root.grad = root.grad + 1.0
    for node in reversed(order):
        if node.vjp is not None:
            for parent, g in zip(node.inputs, node.vjp(node.grad)):
                parent.grad = parent.grad + g


@wrong("backward", "changed after it was final", "state")
def backward_adds_in_place(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    grads = {id(root): np.ones_like(root.value)}
    for node in reversed(order):
        node.grad = grads[id(node)]
        if node.vjp is not None:
            for parent, g in zip(node.inputs, node.vjp(node.grad)):
                if id(parent) in grads:
                    grads[id(parent)] += g
                else:
                    grads[id(parent)] = g


@wrong("backward", "the root's vjp was called with a g of shape ()", "shape")
def backward_seeded_with_one(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    grads = {id(root): 1.0}
    for node in reversed(order):
        node.grad = grads[id(node)]
        if node.vjp is not None:
            for parent, g in zip(node.inputs, node.vjp(node.grad)):
                grads[id(parent)] = grads.get(id(parent), 0) + g


@right("backward")
def backward_copies_then_adds_in_place(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    grads = {id(root): np.ones_like(root.value)}
    for node in reversed(order):
        node.grad = grads[id(node)]
        if node.vjp is not None:
            for parent, g in zip(node.inputs, node.vjp(node.grad)):
                if id(parent) in grads:
                    grads[id(parent)] += g
                else:
                    grads[id(parent)] = np.array(g, dtype=np.float64)


@right("backward")
def backward_with_grads_on_nodes(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    for node in order:
        node.grad = np.zeros_like(node.value)
    root.grad = np.ones_like(root.value)
    for node in reversed(order):
        if node.vjp is not None:
            for parent, g in zip(node.inputs, node.vjp(node.grad)):
                parent.grad = parent.grad + g


# ---------------------------------------------------------------- log_softmax_vjp


@wrong("log_softmax_vjp", "the sum over the row is missing", "missing term")
def log_softmax_vjp_diagonal_only(g, z):
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p = p / p.sum(axis=1, keepdims=True)
    return g - p * g


@wrong("log_softmax_vjp", "the direct term g is missing", "missing term")
def log_softmax_vjp_without_g(g, z):
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p = p / p.sum(axis=1, keepdims=True)
    return -p * g.sum(axis=1, keepdims=True)


@wrong("log_softmax_vjp", "g was summed over the batch (axis 0)", "axis")
def log_softmax_vjp_wrong_axis(g, z):
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p = p / p.sum(axis=1, keepdims=True)
    return g - p * g.sum(axis=0, keepdims=True)


@wrong("log_softmax_vjp", "the diagonal of the softmax's Jacobian", "formula")
def log_softmax_vjp_softmax_slope(g, z):
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p = p / p.sum(axis=1, keepdims=True)
    return g * p * (1 - p)


@right("log_softmax_vjp")
def log_softmax_vjp_by_jacobians(g, z):
    out = np.zeros_like(z)
    for n in range(len(z)):
        p = np.exp(z[n] - z[n].max())
        p /= p.sum()
        jacobian = np.eye(len(p)) - p[None, :]  # row k: d l_k / d z
        out[n] = g[n] @ jacobian
    return out


# ---------------------------------------------------------------- mlp_loss_graph


@wrong("mlp_loss_graph", "forget to divide by the batch size N", "factor")
def mlp_loss_graph_summed_loss(params, X, y):
    nodes = {k: ad.Node(v, name=k) for k, v in params.items()}
    n_layers = len(params) // 2
    a = ad.Node(X)
    for i in range(1, n_layers + 1):
        a = ad.add(ad.matmul(a, nodes[f"W{i}"]), nodes[f"b{i}"])
        if i < n_layers:
            a = ad.relu(a)
    s = ad.sub(a, np.max(a.value, axis=1, keepdims=True))
    log_p = ad.sub(s, ad.log(ad.sum(ad.exp(s), axis=1, keepdims=True)))
    loss = ad.neg(ad.sum(ad.pick(log_p, y)))
    backward(loss)
    return float(loss.value), {k: n.grad for k, n in nodes.items()}


@wrong("mlp_loss_graph", "summed over axis 0 it is right", "axis")
def mlp_loss_graph_tiled_bias(params, X, y):
    nodes = {k: ad.Node(v, name=k) for k, v in params.items()}
    tiled = {k: ad.Node(np.tile(v, (len(X), 1))) for k, v in params.items() if k[0] == "b"}
    n_layers = len(params) // 2
    a = ad.Node(X)
    for i in range(1, n_layers + 1):
        a = ad.add(ad.matmul(a, nodes[f"W{i}"]), tiled[f"b{i}"])
        if i < n_layers:
            a = ad.relu(a)
    loss = ad.softmax_cross_entropy(a, y)
    backward(loss)
    grads = {k: n.grad for k, n in nodes.items() if k[0] == "W"}
    grads.update({k: n.grad for k, n in tiled.items()})
    return float(loss.value), grads


@wrong("mlp_loss_graph", "is None: call backward(loss)", "missing term")
def mlp_loss_graph_bias_as_array(params, X, y):
    nodes = {k: ad.Node(v, name=k) for k, v in params.items()}
    n_layers = len(params) // 2
    a = ad.Node(X)
    for i in range(1, n_layers + 1):
        a = ad.add(ad.matmul(a, nodes[f"W{i}"]), params[f"b{i}"])
        if i < n_layers:
            a = ad.relu(a)
    loss = ad.softmax_cross_entropy(a, y)
    backward(loss)
    return float(loss.value), {k: n.grad for k, n in nodes.items()}


@wrong("mlp_loss_graph", "never went through the engine", "formula")
def mlp_loss_graph_by_hand(params, X, y):
    n_layers = len(params) // 2
    a, z = [X], [None]
    for i in range(1, n_layers + 1):
        z.append(a[-1] @ params[f"W{i}"] + params[f"b{i}"])
        a.append(np.maximum(z[-1], 0))
    s = z[-1] - z[-1].max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(len(y)), y]))
    delta = p.copy()
    delta[np.arange(len(y)), y] -= 1
    delta /= len(y)
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"], grads[f"b{i}"] = a[i - 1].T @ delta, delta.sum(axis=0)
        delta = (delta @ params[f"W{i}"].T) * (z[i - 1] > 0) if i > 1 else delta
    return loss, grads


@right("mlp_loss_graph")
def mlp_loss_graph_from_primitives(params, X, y):
    nodes = {k: ad.Node(v, name=k) for k, v in params.items()}
    layers = [(nodes[f"W{i}"], nodes[f"b{i}"]) for i in range(1, len(params) // 2 + 1)]
    a = ad.Node(X)
    for k, (W, b) in enumerate(layers):
        a = ad.add(ad.matmul(a, W), b)
        if k < len(layers) - 1:
            a = ad.relu(a)
    s = ad.sub(a, np.max(a.value, axis=1, keepdims=True))
    log_p = ad.sub(s, ad.log(ad.sum(ad.exp(s), axis=1, keepdims=True)))
    loss = ad.mean(ad.neg(ad.pick(log_p, y)))
    backward(loss)
    return float(loss.value), {k: n.grad for k, n in nodes.items()}
