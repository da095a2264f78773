"""The Node of Lesson 13's computational graphs: a value, the Nodes it was computed from, and
the vector-Jacobian product that sends a gradient back to them.

A plain container, with no derivative of its own: the operations that build Nodes are the
lesson's tool (gradlab.tools.autodiff), and the algorithms that walk a graph (a topological
order, backward) are the lesson's exercises. The grader sends Nodes to a student's function
as a graph of plain values (autograder.run.wire).
"""

import numpy as np


class Node:
    """One value of a computation.

    - value: a float64 array (0-d for a scalar)
    - inputs: the tuple of Nodes it was computed from, empty for a leaf
    - vjp: for a non-leaf, a function of the upstream gradient g (of value's shape) that
      returns one gradient per input, each of that input's shape; None for a leaf
    - grad: None until backward sets it to dL/dvalue, of value's shape
    - name: a label for printing and figures ("" when none)
    """

    def __init__(self, value, inputs=(), vjp=None, name=""):
        self.value = np.array(value, dtype=np.float64)
        self.inputs = tuple(inputs)
        self.vjp = vjp
        self.grad = None
        self.name = name

    def __repr__(self):
        kind = "leaf" if not self.inputs else f"{len(self.inputs)} input(s)"
        label = f"{self.name!r}, " if self.name else ""
        return f"Node({label}shape {self.value.shape}, {kind})"
