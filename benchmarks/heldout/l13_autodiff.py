import numpy as np

import gradlab.tools.autodiff as ad
from benchmarks.heldout import mistake

LESSON = "13_autodiff"


# ---------------------------------------------------------------- unbroadcast


@mistake(
    "unbroadcast",
    "only the leading axes that broadcasting added are summed; the axes where shape has length 1 "
    "(stretched) are left alone, so (2, 3, 4) -> (3, 1) gives (3, 4)",
    ("length 1", "size 1", "size-1", "stretched", "axes where shape has 1"),
)
def unbroadcast_ignores_stretched_axes(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    return g


@mistake(
    "unbroadcast",
    "the stretched axes are summed without keepdims=True, so they disappear: (N, M) -> (N, 1) "
    "gives (N,) (right only when shape has no 1)",
    ("keepdims", "kept", "dropped", "length 1", "lost"),
)
def unbroadcast_drops_stretched_axes(g, shape):
    extra = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(extra)))
    for i in reversed(range(len(shape))):
        if shape[i] == 1 and g.shape[i] != 1:
            g = g.sum(axis=i)
    return g


@mistake(
    "unbroadcast",
    "the added axes are taken at the end instead of in front (broadcasting lines up the last "
    "axes): g (N, M) -> (M,) sums over M and gives the row sums, which has the right shape "
    "only when g is square, and then the wrong values",
    ("leading", "in front", "trailing", "last axes", "axis 0", "wrong axis"),
)
def unbroadcast_sums_trailing_axes(g, shape):
    g = g.sum(axis=tuple(range(len(shape), g.ndim)))
    for i, n in enumerate(shape):
        if n == 1:
            g = g.sum(axis=i, keepdims=True)
    return g


@mistake(
    "unbroadcast",
    "the broadcast axes are averaged (np.mean) instead of summed: each copy's gradient is "
    "divided by the number of copies",
    ("mean", "sum instead", "average", "too small", "1/n"),
)
def unbroadcast_mean_instead_of_sum(g, shape):
    extra = g.ndim - len(shape)
    g = g.mean(axis=tuple(range(extra)))
    for i, n in enumerate(shape):
        if n == 1:
            g = g.mean(axis=i, keepdims=True)
    return g


@mistake(
    "unbroadcast",
    "the stretched axes are summed at their index in shape, but before the added leading axes "
    "are removed, so every index is off by the number of added axes (right only when g and "
    "shape have the same number of axes)",
    ("off by", "offset", "before the leading", "shifted", "leading axes first", "after removing"),
)
def unbroadcast_stretched_axes_before_leading(g, shape):
    for i, n in enumerate(shape):
        if n == 1:
            g = g.sum(axis=i, keepdims=True)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    return g


# ---------------------------------------------------------------- mul_vjp


@mistake(
    "mul_vjp",
    "each factor's gradient is multiplied by the factor itself, da = g * a and db = g * b, "
    "instead of by the other factor",
    ("other factor", "g * b", "g * a", "swapped", "partner"),
)
def mul_vjp_own_factor(g, a, b):
    return unbroadcast(g * a, np.shape(a)), unbroadcast(g * b, np.shape(b))


@mistake(
    "mul_vjp",
    "g * b and g * a are returned without unbroadcast: the gradients keep the broadcast shape "
    "(right only when a and b have the same shape)",
    ("unbroadcast", "broadcast shape", "sum over", "summed over"),
)
def mul_vjp_not_unbroadcast(g, a, b):
    return g * b, g * a


@mistake(
    "mul_vjp",
    "the two gradients are returned in the wrong order, (db, da), each unbroadcast to the other "
    "input's shape",
    ("order", "swapped", "(da, db)", "reversed"),
)
def mul_vjp_outputs_swapped(g, a, b):
    return unbroadcast(g * a, np.shape(b)), unbroadcast(g * b, np.shape(a))


@mistake(
    "mul_vjp",
    "g is summed over the broadcast axes before it is multiplied by the other factor, and the "
    "product summed again: a product of sums instead of the sum of the products (right only "
    "without broadcasting)",
    ("product of sums", "sum of the product", "multiply first", "then sum", "before multiplying"),
)
def mul_vjp_unbroadcast_before_multiplying(g, a, b):
    da = unbroadcast(unbroadcast(g, np.shape(a)) * b, np.shape(a))
    db = unbroadcast(unbroadcast(g, np.shape(b)) * a, np.shape(b))
    return da, db


@mistake(
    "mul_vjp",
    "g *= b multiplies the upstream gradient in place: the caller's g is overwritten, and db is "
    "then computed from the already-multiplied g, g * b * a",
    ("in place", "modif", "overwrit", "copy"),
)
def mul_vjp_in_place(g, a, b):
    g *= b
    da = unbroadcast(g, np.shape(a))
    db = unbroadcast(g * a, np.shape(b))
    return da, db


# ---------------------------------------------------------------- matmul_vjp


@mistake(
    "matmul_vjp",
    "da is g @ b instead of g @ b.T: b is not transposed (only runs when b is square)",
    ("transpose", "g @ b.t", "not transposed", ".t missing"),
)
def matmul_vjp_da_not_transposed(g, a, b):
    return g @ b, a.T @ g


@mistake(
    "matmul_vjp",
    "db is g.T @ a, the transpose (M, D) of a.T @ g (right shape only when b is square)",
    ("transpose", "a.t @ g", "(d, m)", "db"),
)
def matmul_vjp_db_transposed(g, a, b):
    return g @ b.T, g.T @ a


@mistake(
    "matmul_vjp",
    "the gradients are returned in the wrong order, (db, da)",
    ("order", "swapped", "(da, db)", "reversed"),
)
def matmul_vjp_outputs_swapped(g, a, b):
    return a.T @ g, g @ b.T


@mistake(
    "matmul_vjp",
    "db is divided by N, as in Lesson 03's dW = X^T dS / N: the 1/N of a mean loss is already "
    "in g, so it is applied twice",
    ("1/n", "divided", "n times too small", "twice", "mean"),
)
def matmul_vjp_divides_by_n(g, a, b):
    return g @ b.T, a.T @ g / a.shape[0]


@mistake(
    "matmul_vjp",
    "db is the outer product of a summed over the batch and g summed over the batch: the sum "
    "over n is taken before the product instead of after (right only for N = 1)",
    ("sum over n", "outer", "product of sums", "batch", "a.t @ g"),
)
def matmul_vjp_db_outer_of_sums(g, a, b):
    return g @ b.T, np.outer(a.sum(axis=0), g.sum(axis=0))


# ---------------------------------------------------------------- topological_order


@mistake(
    "topological_order",
    "the depth-first search appends a node when it is first reached (pre-order) instead of "
    "after its inputs (post-order): the root comes first, each node before its inputs",
    ("pre-order", "preorder", "post-order", "after its inputs", "before its inputs", "root last"),
)
def topological_order_preorder(root):
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        order.append(node)
        for parent in node.inputs:
            visit(parent)

    visit(root)
    return order


@mistake(
    "topological_order",
    "the post-order depth-first search keeps no record of visited nodes: a node shared by two "
    "consumers is listed twice (right only on trees)",
    ("visited", "twice", "more than once", "duplicate", "shared", "exactly once"),
)
def topological_order_no_visited_set(root):
    order = []

    def visit(node):
        for parent in node.inputs:
            visit(parent)
        order.append(node)

    visit(root)
    return order


@mistake(
    "topological_order",
    "a correct post-order is built, then returned reversed (consumers first, the order "
    "backward walks), so the root is first instead of last",
    ("reverse", "root last", "root first", "root is first", "consumers first"),
)
def topological_order_returned_reversed(root):
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


@mistake(
    "topological_order",
    "a breadth-first search from the root, reversed: a node reached early (near the root) by a "
    "skip connection comes before a deeper node that uses it (right only on trees and chains)",
    ("breadth", "bfs", "skip connection", "depth-first", "post-order"),
)
def topological_order_reversed_bfs(root):
    order, seen, queue = [], {id(root)}, [root]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for parent in node.inputs:
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
    return order[::-1]


@mistake(
    "topological_order",
    "nodes are compared by value (np.array_equal) instead of by identity: a second node that "
    "holds equal values (two equal constants, a copy) is taken as already visited and left out",
    ("identity", "by value", "id(", "equal values", "missing", "left out"),
)
def topological_order_compares_values(root):
    order = []

    def visit(node):
        if any(
            node.value.shape == done.value.shape and np.array_equal(node.value, done.value)
            for done in order
        ):
            return
        for parent in node.inputs:
            visit(parent)
        order.append(node)

    visit(root)
    return order


# ---------------------------------------------------------------- backward


@mistake(
    "backward",
    "each contribution is assigned (=) instead of added (+=): a node used by several consumers "
    "keeps only the last contribution",
    ("+=", "sum of", "add up", "overwrit", "assign", "last contribution", "shared"),
)
def backward_assigns_contributions(root):
    grads = {id(root): np.ones(root.value.shape)}
    for node in reversed(topological_order(root)):
        node.grad = grads.get(id(node), np.zeros(node.value.shape))
        if node.vjp is not None:
            for parent, contribution in zip(node.inputs, node.vjp(node.grad)):
                grads[id(parent)] = contribution


@mistake(
    "backward",
    "the root is seeded with the scalar 1.0 instead of ones of root.value's shape (right only "
    "for a scalar root)",
    ("ones", "root's shape", "root.value", "seed", "scalar root", "non-scalar"),
)
def backward_scalar_seed(root):
    grads = {id(root): 1.0}
    for node in reversed(topological_order(root)):
        node.grad = grads.get(id(node), 0.0)
        if node.vjp is not None:
            for parent, contribution in zip(node.inputs, node.vjp(node.grad)):
                grads[id(parent)] = grads.get(id(parent), 0.0) + contribution


@mistake(
    "backward",
    "the running sums are kept in node.grad itself, started at zero only when it is None: a "
    "second call adds to the grads of the first instead of replacing them",
    ("replaced", "earlier call", "second call", "accumulat", "reset", "afresh", "twice"),
)
def backward_accumulates_across_calls(root):
    order = topological_order(root)
    for node in order:
        if node.grad is None:
            node.grad = np.zeros(node.value.shape)
    root.grad = root.grad + 1.0
    for node in reversed(order):
        if node.vjp is not None:
            for parent, contribution in zip(node.inputs, node.vjp(node.grad)):
                parent.grad = parent.grad + contribution


@mistake(
    "backward",
    "the topological order is walked forwards (inputs first) instead of in reverse: a node's "
    "vjp runs before its consumers have sent their contributions, so it passes on zeros",
    ("reverse", "reversed", "consumers first", "inputs first", "forwards"),
)
def backward_forward_order(root):
    grads = {id(root): np.ones(root.value.shape)}
    for node in topological_order(root):
        node.grad = grads.get(id(node), np.zeros(node.value.shape))
        if node.vjp is not None:
            for parent, contribution in zip(node.inputs, node.vjp(node.grad)):
                grads[id(parent)] = grads.get(id(parent), 0) + contribution


@mistake(
    "backward",
    "a node's first contribution is stored as it is and later ones added in place (+=): when "
    "a vjp passes its upstream array on unchanged (an add without broadcasting), two nodes "
    "share one array and an addition to one changes the other's grad",
    ("in place", "same array", "shared array", "alias", "copy", "mutable"),
)
def backward_shares_arrays(root):
    grads = {id(root): np.ones(root.value.shape)}
    for node in reversed(topological_order(root)):
        node.grad = grads.get(id(node), np.zeros(node.value.shape))
        if node.vjp is not None:
            for parent, contribution in zip(node.inputs, node.vjp(node.grad)):
                if id(parent) in grads:
                    grads[id(parent)] += contribution
                else:
                    grads[id(parent)] = contribution


# ---------------------------------------------------------------- mlp_loss_graph


@mistake(
    "mlp_loss_graph",
    "the ReLU is applied to the last layer too, so the logits are relu(z_L): the loss and the "
    "gradients are those of a different network",
    ("last layer", "output layer", "logits", "relu on"),
)
def mlp_loss_graph_relu_on_logits(params, X, y):
    nodes = {key: ad.Node(value, name=key) for key, value in params.items()}
    a = ad.Node(X, name="X")
    for i in range(1, len(params) // 2 + 1):
        a = ad.relu(ad.add(ad.matmul(a, nodes[f"W{i}"]), nodes[f"b{i}"]))
    loss = ad.softmax_cross_entropy(a, y)
    backward(loss)
    return float(loss.value), {key: node.grad for key, node in nodes.items()}


@mistake(
    "mlp_loss_graph",
    "the cross-entropy is built by hand with ad.sum over the batch instead of ad.mean: the "
    "loss and every gradient are N times too large (the 1/N is missing)",
    ("1/n", "mean", "n times", "sum instead", "too large", "batch size", "divide by"),
)
def mlp_loss_graph_sum_not_mean(params, X, y):
    nodes = {key: ad.Node(value, name=key) for key, value in params.items()}
    n_layers = len(params) // 2
    a = ad.Node(X, name="X")
    for i in range(1, n_layers + 1):
        z = ad.add(ad.matmul(a, nodes[f"W{i}"]), nodes[f"b{i}"])
        a = ad.relu(z) if i < n_layers else z
    s = ad.sub(a, np.max(a.value, axis=1, keepdims=True))
    log_p = ad.sub(s, ad.log(ad.sum(ad.exp(s), axis=1, keepdims=True)))
    loss = ad.neg(ad.sum(ad.pick(log_p, y)))
    backward(loss)
    return float(loss.value), {key: node.grad for key, node in nodes.items()}


@mistake(
    "mlp_loss_graph",
    "the bias is tiled over the batch by hand (np.tile) before the add, and its gradient read "
    "as the mean of the tiled node's rows instead of their sum",
    (
        "sum over the batch",
        "summed over the batch",
        "mean of",
        "mean instead",
        "1/n",
        "n times too small",
    ),
)
def mlp_loss_graph_bias_mean_of_tiled(params, X, y):
    n_layers = len(params) // 2
    N = X.shape[0]
    weights = {i: ad.Node(params[f"W{i}"], name=f"W{i}") for i in range(1, n_layers + 1)}
    tiled = {i: ad.Node(np.tile(params[f"b{i}"], (N, 1)), name=f"b{i}") for i in weights}
    a = ad.Node(X, name="X")
    for i in range(1, n_layers + 1):
        z = ad.add(ad.matmul(a, weights[i]), tiled[i])
        a = ad.relu(z) if i < n_layers else z
    loss = ad.softmax_cross_entropy(a, y)
    backward(loss)
    grads = {}
    for i in weights:
        grads[f"W{i}"] = weights[i].grad
        grads[f"b{i}"] = tiled[i].grad.mean(axis=0)
    return float(loss.value), grads


@mistake(
    "mlp_loss_graph",
    "the last layer is built as a @ W_L without its bias: b_L is not in the graph, the logits "
    "and loss are wrong, and b_L's gradient is returned as zeros",
    ("b_l", "last bias", "last layer's bias", "bias of the last", "not in the graph", "left out"),
)
def mlp_loss_graph_last_bias_left_out(params, X, y):
    nodes = {key: ad.Node(value, name=key) for key, value in params.items()}
    n_layers = len(params) // 2
    a = ad.Node(X, name="X")
    for i in range(1, n_layers):
        a = ad.relu(ad.add(ad.matmul(a, nodes[f"W{i}"]), nodes[f"b{i}"]))
    logits = ad.matmul(a, nodes[f"W{n_layers}"])
    loss = ad.softmax_cross_entropy(logits, y)
    backward(loss)
    grads = {}
    for key, node in nodes.items():
        grads[key] = node.grad if node.grad is not None else np.zeros_like(params[key])
    return float(loss.value), grads


@mistake(
    "mlp_loss_graph",
    "the ReLU is applied after the first layer only (if i == 1), so deeper hidden layers stay "
    "linear: right for one hidden layer, wrong for two or more",
    ("every hidden", "each hidden", "hidden layer", "deeper", "linear"),
)
def mlp_loss_graph_relu_first_layer_only(params, X, y):
    nodes = {key: ad.Node(value, name=key) for key, value in params.items()}
    n_layers = len(params) // 2
    a = ad.Node(X, name="X")
    for i in range(1, n_layers + 1):
        z = ad.add(ad.matmul(a, nodes[f"W{i}"]), nodes[f"b{i}"])
        a = ad.relu(z) if i == 1 and n_layers > 1 else z
    loss = ad.softmax_cross_entropy(a, y)
    backward(loss)
    return float(loss.value), {key: node.grad for key, node in nodes.items()}


# ---------------------------------------------------------------- log_softmax_vjp (checkpoint)


@mistake(
    "log_softmax_vjp",
    "dz = g - p: the softmax term is not weighted by the row sum of g (the sum over k of "
    "g_k p_j is taken as p_j, right only when each row of g sums to 1)",
    ("sum of g", "g.sum", "row sum", "sum over k", "weighted", "sum_k g_k"),
)
def log_softmax_vjp_forgets_sum_of_g(g, z):
    s = z - z.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    return g - p


@mistake(
    "log_softmax_vjp",
    "the row sums of g are taken without keepdims, shape (N,), which broadcasts along the last "
    "axis instead of down the rows (only runs when N == K, and then gives the wrong values)",
    ("keepdims", "(n, 1)", "row sums", "down the rows"),
)
def log_softmax_vjp_row_sum_without_keepdims(g, z):
    s = z - z.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    return g - p * g.sum(axis=1)


@mistake(
    "log_softmax_vjp",
    "the softmax is normalised over axis 0 (down the batch) instead of along each row",
    ("axis 0", "axis=0", "along each row", "over the batch", "column", "axis=1", "last axis"),
)
def log_softmax_vjp_softmax_over_batch(g, z):
    s = z - z.max(axis=0, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=0, keepdims=True)
    return g - p * g.sum(axis=1, keepdims=True)


@mistake(
    "log_softmax_vjp",
    "the Jacobian is applied on the wrong side (a Jacobian-vector product): dz_j = g_j - "
    "sum_k g_k p_k instead of g_j - p_j sum_k g_k",
    ("transpose", "jacobian-vector", "jvp", "wrong side", "g * p", "p_j"),
)
def log_softmax_vjp_jacobian_transposed(g, z):
    s = z - z.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    return g - (g * p).sum(axis=1, keepdims=True)


@mistake(
    "log_softmax_vjp",
    "the vjp is divided by N, as in Lesson 01's (p - onehot(y)) / N: the 1/N belongs to the "
    "mean loss, whose upstream g already carries it",
    ("1/n", "divided", "n times too small", "mean", "twice"),
)
def log_softmax_vjp_divides_by_n(g, z):
    s = z - z.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    return (g - p * g.sum(axis=1, keepdims=True)) / z.shape[0]


# ---------------------------------------------------------------- the other exercises, correct
# A wrong answer to one exercise is written in a notebook where the others are right: the
# engine's operations call unbroadcast, mul_vjp and matmul_vjp by name from the namespace that
# built the Nodes (here, this module), and a student's backward calls topological_order, and
# mlp_loss_graph calls backward. These are not held-out answers (they carry no @mistake).


def unbroadcast(g, shape):
    g = np.asarray(g, dtype=np.float64)
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True) if stretched else g


def mul_vjp(g, a, b):
    return unbroadcast(g * b, np.shape(a)), unbroadcast(g * a, np.shape(b))


def matmul_vjp(g, a, b):
    return g @ b.T, a.T @ g


def topological_order(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in reversed(node.inputs))
    return order


def backward(root):
    grads = {id(root): np.ones(root.value.shape)}
    for node in reversed(topological_order(root)):
        node.grad = grads.get(id(node), np.zeros(node.value.shape))
        if node.vjp is not None:
            for parent, contribution in zip(node.inputs, node.vjp(node.grad)):
                grads[id(parent)] = grads.get(id(parent), 0.0) + contribution
