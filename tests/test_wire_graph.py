"""Lesson 13's graphs on the wire: a table of Nodes, shared nodes kept shared, vjps as
callbacks, and what a hostile child may send back refused as a WireError."""

import numpy as np
import pytest

from autograder.run import wire
from gradlab.exercises.autodiff import checking_graph, topological_order
from gradlab.graph import Node


def sent(root):
    """(the child's table, the child's root, the trusted table, callbacks) of sending root."""
    callbacks, nodes = [], wire.Nodes()
    args = wire.encode((root,), callbacks, nodes)
    rows = wire.encode_graph(nodes, callbacks)
    child_nodes = wire.decode_graph(rows, lambda k: callbacks[k])
    (child_root,) = wire.decode(args, lambda k: callbacks[k], child_nodes)
    return child_nodes, child_root, nodes, callbacks


def test_a_graph_crosses_with_its_shared_nodes_kept_shared():
    root, nodes, _ = checking_graph("shared")
    child_nodes, child_root, _table, _ = sent(root)
    assert len(child_nodes) == len(nodes) == len(topological_order(child_root))
    z = next(n for n in child_nodes.list if n.name == "z")
    users = [n for n in child_nodes.list if any(i is z for i in n.inputs)]
    assert len(users) == 2
    W = next(n for n in child_nodes.list if n.name == "W")
    ww = next(n for n in child_nodes.list if n.name == "W*W")
    assert ww.inputs[0] is ww.inputs[1] is W
    assert np.array_equal(child_root.value, root.value)


def test_vjps_are_callbacks_and_grads_come_back_by_index():
    root, _, rec = checking_graph("skip")
    child_nodes, child_root, table, callbacks = sent(root)
    g = child_root.vjp(np.array(1.0))
    assert rec.calls and rec.calls[0][0] == "L" and np.allclose(g[0], 1.0)
    for node in child_nodes.list:
        node.grad = np.full(node.value.shape, 2.0)
    encoded = wire.encode([n.grad for n in child_nodes.list])
    wire.set_grads(table, encoded, callbacks)
    assert all(np.allclose(n.grad, 2.0) for n in table.list)
    order = wire.encode(topological_order(child_root), None, child_nodes)
    back = wire.decode(order, None, table)
    assert back[-1] is root and {id(n) for n in back} == {id(n) for n in table.list}


def test_the_child_cannot_send_a_node_of_its_own_or_one_outside_the_table():
    root, _, _ = checking_graph("vector root")
    child_nodes, _, table, _ = sent(root)
    with pytest.raises(wire.WireError):
        wire.encode(Node(1.0), None, child_nodes)
    with pytest.raises(wire.WireError):
        wire.encode(child_nodes.list[0])  # a Node in a callback's arguments
    with pytest.raises(wire.WireError):
        wire.decode({"node": len(table)}, None, table)
    with pytest.raises(wire.WireError):
        wire.decode({"node": 0})  # no table: no Node


def _rows(n, links):
    leaf = wire.encode(np.zeros(2))
    return [
        {"value": leaf, "name": f"n{k}", "inputs": links[k], "grad": None,
         "vjp": {"callback": 0} if links[k] else None}
        for k in range(n)
    ]  # fmt: skip


@pytest.mark.parametrize(
    "rows",
    [
        _rows(2, [[1], [0]]),  # a cycle
        _rows(1, [[0]]),  # a node that is its own input
        _rows(2, [[5], []]),  # an input outside the table
        _rows(2, [["0"], []]),  # an input that is not an index
        [{"value": 1}],  # a malformed row
        {"nodes": []},  # not a list
        [_rows(1, [[]])[0]] * (wire.MAX_NODES + 1),  # too many nodes
        [{**_rows(1, [[]])[0], "vjp": {"callback": 0}}],  # a leaf with a vjp
    ],
)
def test_malformed_graphs_are_refused(rows):
    with pytest.raises(wire.WireError):
        wire.decode_graph(rows, lambda k: lambda *a: None)


def test_grads_that_do_not_fit_the_table_are_refused():
    root, _, _ = checking_graph("vector root")
    _, _, table, callbacks = sent(root)
    for bad in ([], [None] * (len(table) + 1), {"a": 1}):
        with pytest.raises(wire.WireError):
            wire.set_grads(table, wire.encode(bad), callbacks)
    # grads of a wrong shape are plain values: they cross, and the checks judge them
    wire.set_grads(table, wire.encode([np.zeros(7)] * len(table)), callbacks)
    assert all(n.grad.shape == (7,) for n in table.list)


def test_the_listing_order_is_not_a_topological_order():
    root, _, _ = checking_graph("tied")
    orders = set()
    for _ in range(20):
        nodes = wire.Nodes()
        nodes.add(root)
        orders.add(tuple(n.name for n in nodes.list))
    assert len(orders) > 1
