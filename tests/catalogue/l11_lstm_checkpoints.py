"""Lesson 11's derivation checkpoint, lstm_cell_grad: typical wrong answers and correct answers
in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "11_lstm"


@wrong("lstm_cell_grad", "dnext_c is missing", "missing term")
def cell_grad_without_the_next_step(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    z = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-z[:, k * H : (k + 1) * H])) for k in range(3))
    c = f * prev_c + i * np.tanh(z[:, 3 * H :])
    return dnext_h * o * (1 - np.tanh(c) ** 2)


@wrong("lstm_cell_grad", "tanh' computed as 1 - h_t^2", "wrong point")
def cell_grad_with_lesson_08s_slope(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    z = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-z[:, k * H : (k + 1) * H])) for k in range(3))
    next_h = o * np.tanh(f * prev_c + i * np.tanh(z[:, 3 * H :]))
    return dnext_c + dnext_h * o * (1 - next_h**2)


@wrong("lstm_cell_grad", "tanh' computed as 1 - c_t^2", "wrong point")
def cell_grad_with_the_cells_square(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    z = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-z[:, k * H : (k + 1) * H])) for k in range(3))
    next_c = f * prev_c + i * np.tanh(z[:, 3 * H :])
    return dnext_c + dnext_h * o * (1 - next_c**2)


@wrong("lstm_cell_grad", "the output gate is missing", "missing term")
def cell_grad_without_the_output_gate(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    z = x @ Wx + prev_h @ Wh + b
    i, f = (1 / (1 + np.exp(-z[:, k * H : (k + 1) * H])) for k in range(2))
    next_c = f * prev_c + i * np.tanh(z[:, 3 * H :])
    return dnext_c + dnext_h * (1 - np.tanh(next_c) ** 2)


@right("lstm_cell_grad")
def cell_grad_with_stable_sigmoids_and_a_cosh(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    z = np.einsum("nd,dk->nk", x, Wx) + np.einsum("nh,hk->nk", prev_h, Wh) + b
    gates = np.exp(-np.logaddexp(0.0, -z[:, : 3 * H]))  # sigmoid of i, f and o at once
    i, f, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    next_c = f * prev_c + i * np.tanh(z[:, 3 * H :])
    return dnext_c + dnext_h * o / np.cosh(next_c) ** 2


@wrong("lstm_cell_grad", "tanh' is taken at prev_c: the cell state of this step", "wrong point")
def cell_grad_with_the_slope_at_the_previous_cell(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    z = x @ Wx + prev_h @ Wh + b
    o = 1 / (1 + np.exp(-z[:, 2 * H : 3 * H]))
    return dnext_c + dnext_h * o / np.cosh(prev_c) ** 2


@wrong("lstm_cell_grad", "dnext_c is multiplied by the forget gate: that is the", "formula")
def cell_grad_through_the_forget_gate(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    next_c = f * prev_c + i * np.tanh(a[:, 3 * H :])
    dc = dnext_h * o * (1 - np.tanh(next_c) ** 2)
    dc += f * dnext_c
    return dc


@wrong("lstm_cell_grad", "the gates are taken in the order i, f, g, o: the contract's", "order")
def cell_grad_with_the_gates_in_pytorchs_order(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    a = x @ Wx + prev_h @ Wh + b
    i, f, g, o = np.split(a, 4, axis=1)
    i, f, o, g = 1 / (1 + np.exp(-i)), 1 / (1 + np.exp(-f)), 1 / (1 + np.exp(-o)), np.tanh(g)
    return dnext_c + dnext_h * o * (1 - np.tanh(f * prev_c + i * g) ** 2)


@wrong("lstm_cell_grad", "the gates are taken in the order f, i, o, g", "order")
def cell_grad_with_input_and_forget_swapped(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    f, i, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    next_c = f * prev_c + i * np.tanh(a[:, 3 * H :])
    return dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)


@wrong("lstm_cell_grad", "the path through h_t = o * tanh(c_t) is missing", "missing term")
def cell_grad_of_the_next_step_only(dnext_h, dnext_c, cache):
    return dnext_c


@wrong("lstm_cell_grad", "the mistake is on the path of dnext_c", "path")
def cell_grad_with_dnext_c_through_the_output_gate(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    next_c = f * prev_c + i * np.tanh(a[:, 3 * H :])
    return o * dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)
