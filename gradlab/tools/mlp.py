"""Lesson 04's mlp_loss, given as a tool to Lesson 13, where the reverse-mode engine rebuilds
its gradients: the delta recursion, for hidden activations sigmoid, relu or tanh."""

import numpy as np

from gradlab.tools.softmax import cross_entropy, softmax


def _act(z, activation):
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if activation == "relu":
        return np.maximum(z, 0.0)
    return np.tanh(z)


def _act_grad(z, activation):
    if activation == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if activation == "relu":
        return (z > 0).astype(np.float64)
    return 1 - np.tanh(z) ** 2


def mlp_loss(params, X, y, activation="sigmoid"):
    """(loss, grads) of the MLP of Lesson 04: layers z_i = a_{i-1} W_i + b_i, a_i = act(z_i)
    below the last, mean softmax cross-entropy of the last z; grads has params' keys."""
    n_layers = len(params) // 2
    a, z = [X], [None]
    for i in range(1, n_layers + 1):
        z.append(a[i - 1] @ params[f"W{i}"] + params[f"b{i}"])
        if i < n_layers:
            a.append(_act(z[i], activation))
    loss = cross_entropy(z[n_layers], y)
    delta = softmax(z[n_layers])
    delta[np.arange(len(X)), y] -= 1
    delta /= len(X)
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        if i > 1:
            delta = (delta @ params[f"W{i}"].T) * _act_grad(z[i - 1], activation)
    return loss, grads
