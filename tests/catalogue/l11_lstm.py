"""Lesson 11: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "11_lstm"


# ---------------------------------------------------------------- lstm_step_forward


@wrong("lstm_step_forward", "the gate blocks are used in the order i, f, g, o", "order")
def step_forward_in_pytorch_order(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, g, o = (a[:, k * H : (k + 1) * H] for k in range(4))
    i, f, o, g = 1 / (1 + np.exp(-i)), 1 / (1 + np.exp(-f)), 1 / (1 + np.exp(-o)), np.tanh(g)
    next_c = f * prev_c + i * g
    return o * np.tanh(next_c), next_c, (x, prev_h, prev_c, Wx, Wh, b)


@wrong("lstm_step_forward", "g uses a sigmoid", "formula")
def step_forward_four_sigmoids(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    gates = 1 / (1 + np.exp(-(x @ Wx + prev_h @ Wh + b)))
    i, f, o, g = (gates[:, k * H : (k + 1) * H] for k in range(4))
    next_c = f * prev_c + i * g
    return o * np.tanh(next_c), next_c, (x, prev_h, prev_c, Wx, Wh, b)


@wrong("lstm_step_forward", "the tanh of the cell state is missing", "missing term")
def step_forward_without_the_output_tanh(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    return o * next_c, next_c, (x, prev_h, prev_c, Wx, Wh, b)


@wrong("lstm_step_forward", "the forget gate is missing", "missing term")
def step_forward_without_the_forget_gate(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, _, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    next_c = prev_c + i * g
    return o * np.tanh(next_c), next_c, (x, prev_h, prev_c, Wx, Wh, b)


@wrong("lstm_step_forward", "the bias b is missing", "missing term")
def step_forward_without_bias(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    return o * np.tanh(next_c), next_c, (x, prev_h, prev_c, Wx, Wh, b)


@wrong("lstm_step_forward", "your next_h is next_c, your next_c is next_h", "order")
def step_forward_returns_the_states_swapped(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    return next_c, o * np.tanh(next_c), (x, prev_h, prev_c, Wx, Wh, b)


@wrong("lstm_step_forward", "fixed by the course contract, got 7 items", "cache")
def step_forward_caches_the_gates_too(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    return o * np.tanh(next_c), next_c, (x, prev_h, prev_c, Wx, Wh, b, (i, f, o, g))


@right("lstm_step_forward")
def step_forward_one_gate_at_a_time(x, prev_h, prev_c, Wx, Wh, b):
    # Olah's notation: one weight matrix per gate, split from the stacked ones
    Wxi, Wxf, Wxo, Wxg = np.split(Wx, 4, axis=1)
    Whi, Whf, Who, Whg = np.split(Wh, 4, axis=1)
    bi, bf, bo, bg = np.split(b, 4)
    i = 1 / (1 + np.exp(-(x @ Wxi + prev_h @ Whi + bi)))
    f = 1 / (1 + np.exp(-(x @ Wxf + prev_h @ Whf + bf)))
    o = 1 / (1 + np.exp(-(x @ Wxo + prev_h @ Who + bo)))
    g = np.tanh(x @ Wxg + prev_h @ Whg + bg)
    next_c = f * prev_c + i * g
    return o * np.tanh(next_c), next_c, [x, prev_h, prev_c, Wx, Wh, b]


@right("lstm_step_forward")
def step_forward_einsum_and_stable_sigmoid(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = np.einsum("nd,dk->nk", x, Wx) + np.einsum("nh,hk->nk", prev_h, Wh) + b
    gates = a.reshape(len(x), 4, H)
    i, f, o = (0.5 * (1 + np.tanh(0.5 * gates[:, k])) for k in range(3))  # sigmoid via tanh
    next_c = f * prev_c + i * np.tanh(gates[:, 3])
    return o * np.tanh(next_c), next_c, (x, prev_h, prev_c, Wx, Wh, b)


# ---------------------------------------------------------------- lstm_step_backward


@wrong("lstm_step_backward", "the cell gradient from the next step is not added", "missing term")
def step_backward_without_dnext_c(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_h * o * (1 - tanh_c**2)
    da = np.hstack(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ]
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("lstm_step_backward", "tanh' computed as 1 - next_h**2", "wrong point")
def step_backward_with_the_rnn_tanh_derivative(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    next_h = o * tanh_c
    dc = dnext_c + dnext_h * o * (1 - next_h**2)
    da = np.hstack(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ]
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("lstm_step_backward", "the forget gate's gradient is taken as i's", "formula")
def step_backward_forget_gate_like_input_gate(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.hstack(
        [
            dc * g * i * (1 - i),
            dc * g * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ]
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("lstm_step_backward", "da's blocks are stacked in the order i, f, g, o", "order")
def step_backward_stacks_in_pytorch_order(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.hstack(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dc * i * (1 - g**2),
            dnext_h * tanh_c * o * (1 - o),
        ]
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("lstm_step_backward", "the gradient into c through tanh(c_t) is missing", "missing term")
def step_backward_without_the_output_path_into_c(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c
    da = np.hstack(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ]
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("lstm_step_backward", "dprev_c: misses the factor f", "missing term")
def step_backward_dprev_c_without_f(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.hstack(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ]
    )
    return da @ Wx.T, da @ Wh.T, dc, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("lstm_step_backward", "tanh' computed at prev_c", "wrong point")
def step_backward_tanh_derivative_of_the_old_cell(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c + dnext_h * o * (1 - np.tanh(prev_c) ** 2)
    da = np.hstack(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ]
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("lstm_step_backward", "you averaged over the batch", "factor")
def step_backward_mean_bias_gradient(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.hstack(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ]
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.mean(axis=0)


@right("lstm_step_backward")
def step_backward_gate_by_gate(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    pre = [
        x @ Wxk + prev_h @ Whk + bk
        for Wxk, Whk, bk in zip(np.split(Wx, 4, axis=1), np.split(Wh, 4, axis=1), np.split(b, 4))
    ]
    i, f, o = (1 / (1 + np.exp(-p)) for p in pre[:3])
    g = np.tanh(pre[3])
    next_c = f * prev_c + i * g
    do = dnext_h * np.tanh(next_c)
    dc = dnext_c + dnext_h * o / np.cosh(next_c) ** 2  # tanh' = 1 / cosh**2
    da = [dc * g * i * (1 - i), dc * prev_c * f * (1 - f), do * o * (1 - o), dc * i * (1 - g * g)]
    dx = sum(dak @ Wxk.T for dak, Wxk in zip(da, np.split(Wx, 4, axis=1)))
    dprev_h = sum(dak @ Whk.T for dak, Whk in zip(da, np.split(Wh, 4, axis=1)))
    dWx = np.hstack([x.T @ dak for dak in da])
    dWh = np.hstack([prev_h.T @ dak for dak in da])
    db = np.concatenate([dak.sum(axis=0) for dak in da])
    return dx, dprev_h, dc * f, dWx, dWh, db


@right("lstm_step_backward")
def step_backward_example_by_example(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    N, H = prev_h.shape
    dx, dprev_h, dprev_c = np.zeros_like(x), np.zeros_like(prev_h), np.zeros_like(prev_c)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    for n in range(N):
        a = x[n] @ Wx + prev_h[n] @ Wh + b
        i, f, o = (
            1 / (1 + np.exp(-a[:H])),
            1 / (1 + np.exp(-a[H : 2 * H])),
            1 / (1 + np.exp(-a[2 * H : 3 * H])),
        )
        g = np.tanh(a[3 * H :])
        tanh_c = np.tanh(f * prev_c[n] + i * g)
        dc = dnext_c[n] + dnext_h[n] * o * (1 - tanh_c**2)
        da = np.concatenate(
            [
                dc * g * i * (1 - i),
                dc * prev_c[n] * f * (1 - f),
                dnext_h[n] * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dx[n], dprev_h[n], dprev_c[n] = Wx @ da, Wh @ da, dc * f
        dWx += np.outer(x[n], da)
        dWh += np.outer(prev_h[n], da)
        db += da
    return dx, dprev_h, dprev_c, dWx, dWh, db


# ---------------------------------------------------------------- lstm_forward


@wrong("lstm_forward", "every step started from the cell state 0", "missing term")
def forward_forgets_the_cell_state(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h = h0
    for t in range(T):
        a = x[:, t] @ Wx + prev_h @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        c = f * np.zeros((N, H)) + i * np.tanh(a[:, 3 * H :])
        h[:, t] = prev_h = o * np.tanh(c)
    return h, (x, h0, Wx, Wh, b)


@wrong("lstm_forward", "the cell state started at h0", "formula")
def forward_starts_the_cell_at_h0(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h, prev_c = h0, h0
    for t in range(T):
        a = x[:, t] @ Wx + prev_h @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        prev_c = f * prev_c + i * np.tanh(a[:, 3 * H :])
        h[:, t] = prev_h = o * np.tanh(prev_c)
    return h, (x, h0, Wx, Wh, b)


@wrong("lstm_forward", "h holds the cell states", "order")
def forward_returns_the_cell_states(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    c = np.zeros((N, T, H))
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        a = x[:, t] @ Wx + prev_h @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        c[:, t] = prev_c = f * prev_c + i * np.tanh(a[:, 3 * H :])
        prev_h = o * np.tanh(prev_c)
    return c, (x, h0, Wx, Wh, b)


@wrong("lstm_forward", "h is time-major", "transpose")
def forward_time_major(x, h0, Wx, Wh, b):
    H = h0.shape[1]
    states, prev_h, prev_c = [], h0, np.zeros_like(h0)
    for t in range(x.shape[1]):
        a = x[:, t] @ Wx + prev_h @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        prev_c = f * prev_c + i * np.tanh(a[:, 3 * H :])
        prev_h = o * np.tanh(prev_c)
        states.append(prev_h)
    h = np.array(states)
    return h, (x, h0, Wx, Wh, b)


@wrong("lstm_forward", "cache item 4 (b) holds h, as lesson 08's RNN cache does", "cache")
def forward_caches_the_states_like_the_rnn(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        a = x[:, t] @ Wx + prev_h @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        prev_c = f * prev_c + i * np.tanh(a[:, 3 * H :])
        h[:, t] = prev_h = o * np.tanh(prev_c)
    return h, (x, h0, Wx, Wh, h)


@wrong("lstm_forward", "every step used h0 as its previous hidden state", "missing term")
def forward_never_updates_the_hidden_state(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_c = np.zeros_like(h0)
    for t in range(T):
        a = x[:, t] @ Wx + h0 @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        prev_c = f * prev_c + i * np.tanh(a[:, 3 * H :])
        h[:, t] = o * np.tanh(prev_c)
    return h, (x, h0, Wx, Wh, b)


@right("lstm_forward")
def forward_precomputed_input_terms(x, h0, Wx, Wh, b):
    H = h0.shape[1]
    inputs = np.einsum("ntd,dk->ntk", x, Wx) + b  # every step's input term at once
    states, prev_h, prev_c = [], h0, np.zeros_like(h0)
    for t in range(x.shape[1]):
        a = inputs[:, t] + prev_h @ Wh
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        prev_c = f * prev_c + i * np.tanh(a[:, 3 * H :])
        prev_h = o * np.tanh(prev_c)
        states.append(prev_h)
    return np.stack(states, axis=1), (x, h0, Wx, Wh, b)


@right("lstm_forward")
def forward_one_sequence_at_a_time(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.empty((N, T, H))
    for n in range(N):
        state, cell = h0[n], np.zeros(H)
        for t in range(T):
            a = x[n, t] @ Wx + state @ Wh + b
            i, f, o = (1 / (1 + np.exp(-a[k * H : (k + 1) * H])) for k in range(3))
            cell = f * cell + i * np.tanh(a[3 * H :])
            h[n, t] = state = o * np.tanh(cell)
    return h, [x, h0, Wx, Wh, b]


# ---------------------------------------------------------------- lstm_backward
# Each answer recomputes the states and backpropagates step by step, with its mistake inline.


@wrong("lstm_backward", "the cell gradient from the next step is not added", "missing term")
def backward_without_the_cell_carry(dh, cache):
    x, h0, Wx, Wh, b = cache
    T, H = x.shape[1], h0.shape[1]
    hs, cs = [h0], [np.zeros_like(h0)]
    for t in range(T):
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        cs.append(f * cs[-1] + i * np.tanh(a[:, 3 * H :]))
        hs.append(o * np.tanh(cs[-1]))
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        a = x[:, t] @ Wx + hs[t] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        tanh_c = np.tanh(cs[t + 1])
        dnext_h = dh[:, t] + dprev_h
        dc = dnext_h * o * (1 - tanh_c**2)  # the dprev_c of step t + 1 is dropped
        da = np.hstack(
            [
                dc * g * i * (1 - i),
                dc * cs[t] * f * (1 - f),
                dnext_h * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dx[:, t], dprev_h = da @ Wx.T, da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("lstm_backward", "dWx holds the contribution of the first time step only", "accumulation")
def backward_overwrites_the_shared_weights(dh, cache):
    x, h0, Wx, Wh, b = cache
    T, H = x.shape[1], h0.shape[1]
    hs, cs = [h0], [np.zeros_like(h0)]
    for t in range(T):
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        cs.append(f * cs[-1] + i * np.tanh(a[:, 3 * H :]))
        hs.append(o * np.tanh(cs[-1]))
    dx = np.zeros_like(x)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        a = x[:, t] @ Wx + hs[t] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        tanh_c = np.tanh(cs[t + 1])
        dnext_h = dh[:, t] + dprev_h
        dc = dprev_c + dnext_h * o * (1 - tanh_c**2)
        da = np.hstack(
            [
                dc * g * i * (1 - i),
                dc * cs[t] * f * (1 - f),
                dnext_h * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dx[:, t], dprev_h, dprev_c = da @ Wx.T, da @ Wh.T, dc * f
        dWx = x[:, t].T @ da
        dWh = hs[t].T @ da
        db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("lstm_backward", "dWx holds the contribution of the last time step only", "accumulation")
def backward_weight_gradients_of_the_last_step_only(dh, cache):
    x, h0, Wx, Wh, b = cache
    T, H = x.shape[1], h0.shape[1]
    hs, cs = [h0], [np.zeros_like(h0)]
    for t in range(T):
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        cs.append(f * cs[-1] + i * np.tanh(a[:, 3 * H :]))
        hs.append(o * np.tanh(cs[-1]))
    dx = np.zeros_like(x)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        a = x[:, t] @ Wx + hs[t] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        tanh_c = np.tanh(cs[t + 1])
        dnext_h = dh[:, t] + dprev_h
        dc = dprev_c + dnext_h * o * (1 - tanh_c**2)
        da = np.hstack(
            [
                dc * g * i * (1 - i),
                dc * cs[t] * f * (1 - f),
                dnext_h * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dx[:, t], dprev_h, dprev_c = da @ Wx.T, da @ Wh.T, dc * f
        if t == T - 1:  # the weights' gradients taken from the last step alone
            dWx, dWh, db = x[:, t].T @ da, hs[t].T @ da, da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("lstm_backward", "the time loop runs forwards", "order")
def backward_loop_runs_forwards(dh, cache):
    x, h0, Wx, Wh, b = cache
    T, H = x.shape[1], h0.shape[1]
    hs, cs = [h0], [np.zeros_like(h0)]
    for t in range(T):
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        cs.append(f * cs[-1] + i * np.tanh(a[:, 3 * H :]))
        hs.append(o * np.tanh(cs[-1]))
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in range(T):
        a = x[:, t] @ Wx + hs[t] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        tanh_c = np.tanh(cs[t + 1])
        dnext_h = dh[:, t] + dprev_h
        dc = dprev_c + dnext_h * o * (1 - tanh_c**2)
        da = np.hstack(
            [
                dc * g * i * (1 - i),
                dc * cs[t] * f * (1 - f),
                dnext_h * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dx[:, t], dprev_h, dprev_c = da @ Wx.T, da @ Wh.T, dc * f
        dWx += x[:, t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("lstm_backward", "the hidden-state gradient from step t+1 is not added", "missing term")
def backward_without_the_hidden_carry(dh, cache):
    x, h0, Wx, Wh, b = cache
    T, H = x.shape[1], h0.shape[1]
    hs, cs = [h0], [np.zeros_like(h0)]
    for t in range(T):
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        cs.append(f * cs[-1] + i * np.tanh(a[:, 3 * H :]))
        hs.append(o * np.tanh(cs[-1]))
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        a = x[:, t] @ Wx + hs[t] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        tanh_c = np.tanh(cs[t + 1])
        dnext_h = dh[:, t]
        dc = dprev_c + dnext_h * o * (1 - tanh_c**2)
        da = np.hstack(
            [
                dc * g * i * (1 - i),
                dc * cs[t] * f * (1 - f),
                dnext_h * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dx[:, t], dprev_h, dprev_c = da @ Wx.T, da @ Wh.T, dc * f
        dWx += x[:, t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("lstm_backward", "tanh' computed as 1 - next_h**2", "wrong point")
def backward_with_the_rnn_tanh_derivative(dh, cache):
    x, h0, Wx, Wh, b = cache
    T, H = x.shape[1], h0.shape[1]
    hs, cs = [h0], [np.zeros_like(h0)]
    for t in range(T):
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        cs.append(f * cs[-1] + i * np.tanh(a[:, 3 * H :]))
        hs.append(o * np.tanh(cs[-1]))
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        a = x[:, t] @ Wx + hs[t] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        tanh_c = np.tanh(cs[t + 1])
        dnext_h = dh[:, t] + dprev_h
        dc = dprev_c + dnext_h * o * (1 - hs[t + 1] ** 2)
        da = np.hstack(
            [
                dc * g * i * (1 - i),
                dc * cs[t] * f * (1 - f),
                dnext_h * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dx[:, t], dprev_h, dprev_c = da @ Wx.T, da @ Wh.T, dc * f
        dWx += x[:, t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("lstm_backward", "at t = 0 the previous states are h0 and a zero cell state", "slices")
def backward_wraps_around_at_the_first_step(dh, cache):
    x, h0, Wx, Wh, b = cache
    N, T, _ = x.shape
    H = h0.shape[1]
    h, c = np.zeros((N, T, H)), np.zeros((N, T, H))
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        a = x[:, t] @ Wx + prev_h @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        c[:, t] = prev_c = f * prev_c + i * np.tanh(a[:, 3 * H :])
        h[:, t] = prev_h = o * np.tanh(prev_c)
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        before_h, before_c = h[:, t - 1], c[:, t - 1]  # at t = 0 these are the last states
        a = x[:, t] @ Wx + before_h @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        tanh_c = np.tanh(f * before_c + i * g)
        dnext_h = dh[:, t] + dprev_h
        dc = dprev_c + dnext_h * o * (1 - tanh_c**2)
        da = np.hstack(
            [
                dc * g * i * (1 - i),
                dc * before_c * f * (1 - f),
                dnext_h * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dx[:, t], dprev_h, dprev_c = da @ Wx.T, da @ Wh.T, dc * f
        dWx += x[:, t].T @ da
        dWh += before_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("lstm_backward", "you averaged over time", "factor")
def backward_averages_over_time(dh, cache):
    x, h0, Wx, Wh, b = cache
    T, H = x.shape[1], h0.shape[1]
    hs, cs = [h0], [np.zeros_like(h0)]
    for t in range(T):
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        cs.append(f * cs[-1] + i * np.tanh(a[:, 3 * H :]))
        hs.append(o * np.tanh(cs[-1]))
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        a = x[:, t] @ Wx + hs[t] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        tanh_c = np.tanh(cs[t + 1])
        dnext_h = dh[:, t] + dprev_h
        dc = dprev_c + dnext_h * o * (1 - tanh_c**2)
        da = np.hstack(
            [
                dc * g * i * (1 - i),
                dc * cs[t] * f * (1 - f),
                dnext_h * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dx[:, t], dprev_h, dprev_c = da @ Wx.T, da @ Wh.T, dc * f
        dWx += x[:, t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx / T, dWh / T, db / T


@wrong("lstm_backward", "dh0: is zero", "missing term")
def backward_forgets_dh0(dh, cache):
    x, h0, Wx, Wh, b = cache
    T, H = x.shape[1], h0.shape[1]
    hs, cs = [h0], [np.zeros_like(h0)]
    for t in range(T):
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        cs.append(f * cs[-1] + i * np.tanh(a[:, 3 * H :]))
        hs.append(o * np.tanh(cs[-1]))
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        a = x[:, t] @ Wx + hs[t] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        tanh_c = np.tanh(cs[t + 1])
        dnext_h = dh[:, t] + dprev_h
        dc = dprev_c + dnext_h * o * (1 - tanh_c**2)
        da = np.hstack(
            [
                dc * g * i * (1 - i),
                dc * cs[t] * f * (1 - f),
                dnext_h * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dx[:, t], dprev_h, dprev_c = da @ Wx.T, da @ Wh.T, dc * f
        dWx += x[:, t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
    return dx, np.zeros_like(h0), dWx, dWh, db


@right("lstm_backward")
def backward_loop_then_einsum(dh, cache):
    # the loop only carries the two state gradients; the shared weights are summed at the end
    x, h0, Wx, Wh, b = cache
    N, T, _ = x.shape
    H = h0.shape[1]
    hs, cs, gates = [h0], [np.zeros_like(h0)], []
    for t in range(T):
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H :])
        gates.append((i, f, o, g))
        cs.append(f * cs[-1] + i * g)
        hs.append(o * np.tanh(cs[-1]))
    da = np.zeros((N, T, 4 * H))
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        i, f, o, g = gates[t]
        tanh_c = np.tanh(cs[t + 1])
        dnext_h = dh[:, t] + dprev_h
        dc = dprev_c + dnext_h * o * (1 - tanh_c**2)
        da[:, t] = np.hstack(
            [
                dc * g * i * (1 - i),
                dc * cs[t] * f * (1 - f),
                dnext_h * tanh_c * o * (1 - o),
                dc * i * (1 - g**2),
            ]
        )
        dprev_h, dprev_c = da[:, t] @ Wh.T, dc * f
    before = np.stack(hs[:-1], axis=1)  # the hidden state before every step
    dx = np.einsum("ntk,dk->ntd", da, Wx)
    dWx = np.einsum("ntd,ntk->dk", x, da)
    dWh = np.einsum("nth,ntk->hk", before, da)
    return dx, dprev_h, dWx, dWh, da.sum(axis=(0, 1))


@right("lstm_backward")
def backward_one_sequence_at_a_time(dh, cache):
    x, h0, Wx, Wh, b = cache
    N, T, _ = x.shape
    H = h0.shape[1]
    dx, dh0 = np.zeros_like(x), np.zeros_like(h0)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    for n in range(N):
        hs, cs = [h0[n]], [np.zeros(H)]
        for t in range(T):
            a = x[n, t] @ Wx + hs[-1] @ Wh + b
            i, f, o = (1 / (1 + np.exp(-a[k * H : (k + 1) * H])) for k in range(3))
            cs.append(f * cs[-1] + i * np.tanh(a[3 * H :]))
            hs.append(o * np.tanh(cs[-1]))
        carry_h, carry_c = np.zeros(H), np.zeros(H)
        for t in reversed(range(T)):
            a = x[n, t] @ Wx + hs[t] @ Wh + b
            i, f, o = (1 / (1 + np.exp(-a[k * H : (k + 1) * H])) for k in range(3))
            g = np.tanh(a[3 * H :])
            tanh_c = np.tanh(cs[t + 1])
            dnext_h = dh[n, t] + carry_h
            dc = carry_c + dnext_h * o * (1 - tanh_c**2)
            da = np.concatenate(
                [
                    dc * g * i * (1 - i),
                    dc * cs[t] * f * (1 - f),
                    dnext_h * tanh_c * o * (1 - o),
                    dc * i * (1 - g**2),
                ]
            )
            dx[n, t] = Wx @ da
            carry_h, carry_c = Wh @ da, dc * f
            dWx += np.outer(x[n, t], da)
            dWh += np.outer(hs[t], da)
            db += da
        dh0[n] = carry_h
    return dx, dh0, dWx, dWh, db


@wrong(
    "lstm_step_backward", "the mistake is on the path from next_h, through o or tanh(c_t)", "path"
)
def step_backward_output_gate_without_its_sigmoid_derivative(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.hstack(
        [dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tanh_c, dc * i * (1 - g**2)]
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong(
    "lstm_step_backward",
    "only gate o is wrong: dWx, dWh and db are right but in the block of gate o",
    "path",
)
def step_backward_output_gate_from_dc(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    do = dc * tanh_c  # the output gate's gradient comes from dnext_h alone
    da = np.hstack(
        [dc * g * i * (1 - i), dc * prev_c * f * (1 - f), do * o * (1 - o), dc * i * (1 - g**2)]
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)
