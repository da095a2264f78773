"""Lesson 04's derivation checkpoint, hidden_delta: typical wrong answers and correct answers
in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "04_mlp_backprop"


@wrong("hidden_delta", "the activation's derivative is missing", "missing term")
def delta_without_the_slope(delta_next, W_next, z, activation="sigmoid"):
    return delta_next @ W_next.T


@wrong("hidden_delta", "act' is evaluated at the activation", "wrong point")
def delta_with_the_slope_at_the_activation(delta_next, W_next, z, activation="sigmoid"):
    if activation == "sigmoid":
        a = 1 / (1 + np.exp(-z))
        slope = 1 / (1 + np.exp(-a)) * (1 - 1 / (1 + np.exp(-a)))
    elif activation == "relu":
        slope = (z > 0) * 1.0
    else:
        slope = 1 - np.tanh(np.tanh(z)) ** 2
    return (delta_next @ W_next.T) * slope


@wrong("hidden_delta", "this multiplies by act(z_i) itself", "formula")
def delta_times_the_activation(delta_next, W_next, z, activation="sigmoid"):
    if activation == "sigmoid":
        a = 1 / (1 + np.exp(-z))
    elif activation == "relu":
        a = np.maximum(z, 0)
    else:
        a = np.tanh(z)
    return (delta_next @ W_next.T) * a


@wrong("hidden_delta", "sigmoid' was written z (1 - z)", "wrong point")
def delta_with_the_output_formula_on_the_input(delta_next, W_next, z, activation="sigmoid"):
    if activation == "sigmoid":
        slope = z * (1 - z)
    elif activation == "relu":
        slope = (z > 0) * 1.0
    else:
        slope = 1 - np.tanh(z) ** 2
    return (delta_next @ W_next.T) * slope


@right("hidden_delta")
def delta_entry_by_entry(delta_next, W_next, z, activation="sigmoid"):
    N, H = z.shape
    delta = np.zeros((N, H))
    for n in range(N):
        for h in range(H):
            back = np.dot(W_next[h], delta_next[n])
            if activation == "sigmoid":
                s = np.exp(-np.logaddexp(0.0, -z[n, h]))
                delta[n, h] = back * s * (1 - s)
            elif activation == "relu":
                delta[n, h] = back if z[n, h] > 0 else 0.0
            else:
                delta[n, h] = back / np.cosh(z[n, h]) ** 2
    return delta


@wrong("hidden_delta", "right for activation='sigmoid' only: the derivative must be", "formula")
def delta_with_the_sigmoids_slope_whatever_the_activation(
    delta_next, W_next, z, activation="sigmoid"
):
    s = 1 / (1 + np.exp(-z))
    return (delta_next @ W_next.T) * s * (1 - s)


@wrong("hidden_delta", "right for activation='tanh' only: the derivative must be", "formula")
def delta_with_tanhs_slope_for_relu(delta_next, W_next, z, activation="sigmoid"):
    if activation == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return (delta_next @ W_next.T) * s * (1 - s)
    return (delta_next @ W_next.T) * (1 - np.tanh(z) ** 2)
