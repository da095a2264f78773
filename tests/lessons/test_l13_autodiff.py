"""Lesson 13: the solutions' gradients against central differences, on the checks' graphs
and through the engine's MLP; the references against the solutions."""

import numpy as np
import pytest

from gradlab.exercises import autodiff
from gradlab.exercises.mlp import mlp_problem
from gradlab.numeric import numerical_gradient, numerical_vjp, rel_error
from gradlab.tools.mlp import mlp_loss

LESSON = "13_autodiff"
TOL = 1e-8


@pytest.mark.parametrize(
    "g_shape, shape", [((4, 3), (3,)), ((2, 3, 4), (3, 1)), ((3, 4), (1, 4)), ((2, 3), ())]
)
def test_unbroadcast_is_the_vjp_of_broadcast_to(sol, g_shape, shape):
    rng = np.random.default_rng(0)
    g, v = rng.normal(size=g_shape), rng.normal(size=shape)
    expected = numerical_vjp(lambda v_: np.broadcast_to(v_, g_shape), v, g)
    assert rel_error(sol["unbroadcast"](g, shape), expected) < TOL
    assert rel_error(autodiff.unbroadcast(g, shape), expected) < TOL


@pytest.mark.parametrize("graph", autodiff.GRAPHS)
def test_backward_on_the_checks_graphs_matches_central_differences_at_the_leaves(sol, graph):
    root, nodes, _ = autodiff.checking_graph(graph, seed=3)
    with np.errstate(all="ignore"):
        sol["backward"](root)
    for name, leaf in nodes.items():
        if leaf.inputs:
            continue

        def total(v, name=name):  # the graph's forward again, with this leaf changed
            value = _forward(graph, {name: v}, seed=3)
            return float(np.sum(value))

        assert rel_error(leaf.grad, numerical_gradient(total, leaf.value)) < 1e-7, name


def _forward(graph, changed, seed):
    """The root's value of a checking graph with some leaves' values replaced."""
    root, _nodes, _ = autodiff.checking_graph(graph, seed)
    values = {}
    for node in autodiff.topological_order(root):
        if node.name in changed:
            values[id(node)] = changed[node.name]
        elif not node.inputs:
            values[id(node)] = node.value
        else:
            values[id(node)] = _apply(graph, node, [values[id(i)] for i in node.inputs])
    return values[id(root)]


def _apply(graph, node, inputs):
    ops = {
        "h": lambda x, W: x @ W, "z": lambda h, b: h + b, "r": lambda z, c: z * c,
        "q": lambda r, z: r * z, "s": np.sum, "W*W": lambda a, b: a * b, "v": np.sum,
        "c": np.exp, "b": lambda k, c: k * c, "a": np.exp, "u": lambda a, c: a + c,
        "m": lambda a, b: a * b, "n": lambda m, a: m + a,
    }  # fmt: skip
    name = node.name
    if name == "L":
        return np.sum(inputs[0]) if len(inputs) == 1 else inputs[0] + inputs[1]
    if name == "r" and graph == "vector root":
        return inputs[0] * inputs[1]
    if name.startswith("z") and graph == "tied":
        prev, V, u = inputs
        return prev @ V + u
    if name.startswith("h") and graph == "tied":
        return np.maximum(inputs[0], 0)
    return ops[name](*inputs)


@pytest.mark.parametrize("dims, N, seed", [((2, 5, 4, 3), 6, 0), ((3, 4), 1, 1), ((4, 6, 2), 5, 2)])
def test_mlp_loss_graph_matches_lesson_04_and_central_differences(sol, dims, N, seed):
    params, X, y = mlp_problem(dims, N, "relu", seed)
    loss, grads = sol["mlp_loss_graph"](params, X, y)
    loss_04, grads_04 = mlp_loss(params, X, y, "relu")
    assert abs(loss - loss_04) < 1e-12
    for key, value in params.items():

        def loss_of(v, key=key):
            return sol["mlp_loss_graph"]({**params, key: v}, X, y)[0]

        assert rel_error(grads[key], grads_04[key]) < 1e-12
        assert rel_error(grads[key], numerical_gradient(loss_of, value)) < TOL, key


def test_log_softmax_vjp_matches_the_engine_and_the_reference(sol):
    rng = np.random.default_rng(4)
    g, z = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    assert rel_error(sol["log_softmax_vjp"](g, z), autodiff.log_softmax_vjp(g, z)) < 1e-12
