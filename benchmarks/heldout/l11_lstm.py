import numpy as np

from benchmarks.heldout import mistake

LESSON = "11_lstm"


@mistake(
    "lstm_step_forward",
    "the blocks of a are read in the order i, f, g, o (as in PyTorch) instead of the contract's "
    "i, f, o, g: the output gate and the candidate are swapped",
    ("gate order", "i, f, o, g", "order", "swapped"),
)
def lstm_step_forward_gate_order_ifgo(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-a[:, :H]))
    f = 1 / (1 + np.exp(-a[:, H : 2 * H]))
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = 1 / (1 + np.exp(-a[:, 3 * H :]))
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, b)


@mistake(
    "lstm_step_forward",
    "the new hidden state is o * next_c, without the tanh of the cell state",
    ("tanh(next_c)", "tanh of the cell", "next_h", "tanh"),
)
def lstm_step_forward_hidden_without_tanh(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-a[:, :H]))
    f = 1 / (1 + np.exp(-a[:, H : 2 * H]))
    o = 1 / (1 + np.exp(-a[:, 2 * H : 3 * H]))
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    next_h = o * next_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, b)


@mistake(
    "lstm_step_backward",
    "the gradient reaching the cell state is only dnext_c: the path through next_h = "
    "o * tanh(next_c) is not added",
    ("two paths", "through next_h", "dnext_h", "tanh(next_c)"),
)
def lstm_step_backward_cell_misses_hidden_path(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-a[:, :H]))
    f = 1 / (1 + np.exp(-a[:, H : 2 * H]))
    o = 1 / (1 + np.exp(-a[:, 2 * H : 3 * H]))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c
    da = np.concatenate(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ],
        axis=1,
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@mistake(
    "lstm_step_backward",
    "the output-gate derivative omits o * (1 - o): the path through o from next_h is wrong",
    ("output gate", "o * (1 - o)", "gate o", "o(1 - o)"),
)
def lstm_step_backward_output_gate_no_sigmoid_slope(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-a[:, :H]))
    f = 1 / (1 + np.exp(-a[:, H : 2 * H]))
    o = 1 / (1 + np.exp(-a[:, 2 * H : 3 * H]))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.concatenate(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c,
            dc * i * (1 - g**2),
        ],
        axis=1,
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@mistake(
    "lstm_step_backward",
    "the forget-gate gradient multiplies by the new cell state next_c instead of the previous "
    "one, prev_c",
    ("forget gate", "prev_c", "next_c", "gate f"),
)
def lstm_step_backward_forget_gate_uses_next_c(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-a[:, :H]))
    f = 1 / (1 + np.exp(-a[:, H : 2 * H]))
    o = 1 / (1 + np.exp(-a[:, 2 * H : 3 * H]))
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.concatenate(
        [
            dc * g * i * (1 - i),
            dc * next_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ],
        axis=1,
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@mistake(
    "lstm_step_backward",
    "dprev_c is returned as dc, without the factor f of next_c = f * prev_c + i * g",
    ("dprev_c", "forget gate", "* f", "factor f"),
)
def lstm_step_backward_dprev_c_without_forget_gate(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-a[:, :H]))
    f = 1 / (1 + np.exp(-a[:, H : 2 * H]))
    o = 1 / (1 + np.exp(-a[:, 2 * H : 3 * H]))
    g = np.tanh(a[:, 3 * H :])
    tanh_c = np.tanh(f * prev_c + i * g)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.concatenate(
        [
            dc * g * i * (1 - i),
            dc * prev_c * f * (1 - f),
            dnext_h * tanh_c * o * (1 - o),
            dc * i * (1 - g**2),
        ],
        axis=1,
    )
    return da @ Wx.T, da @ Wh.T, dc, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@mistake(
    "lstm_forward",
    "the cell state is not carried: the step's next_c is discarded and every step starts from "
    "a zero cell state",
    ("cell state", "prev_c", "carried", "next_c"),
)
def lstm_forward_cell_state_not_carried(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h = h0
    for t in range(T):
        prev_h, _, _ = lstm_step_forward(x[:, t], prev_h, np.zeros_like(h0), Wx, Wh, b)  # noqa: F821
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, b)


@mistake(
    "lstm_forward",
    "the initial cell state is h0 instead of zeros",
    ("initial cell", "zeros", "c0", "h0"),
)
def lstm_forward_initial_cell_is_h0(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h, prev_c = h0, h0
    for t in range(T):
        prev_h, prev_c, _ = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)  # noqa: F821
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, b)


@mistake(
    "lstm_backward",
    "the cell-state gradient is not carried between steps: each step backward gets a zero "
    "dnext_c instead of the dprev_c of the step after it",
    ("dprev_c", "cell state", "carried", "dnext_c"),
)
def lstm_backward_cell_gradient_not_carried(dh, cache):
    x, h0, Wx, Wh, b = cache
    T = x.shape[1]
    step_caches = []
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)  # noqa: F821
        step_caches.append(step_cache)
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, _, dWx_t, dWh_t, db_t = lstm_step_backward(  # noqa: F821
            dh[:, t] + dprev_h, np.zeros_like(h0), step_caches[t]
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


@mistake(
    "lstm_backward",
    "only the last hidden state's upstream gradient dh[:, T - 1] is used (as for a "
    "many-to-one model); the dh[:, t] of the earlier steps are not added",
    ("dh[:, t]", "every hidden state", "every time step", "upstream"),
)
def lstm_backward_only_last_upstream(dh, cache):
    x, h0, Wx, Wh, b = cache
    T = x.shape[1]
    step_caches = []
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)  # noqa: F821
        step_caches.append(step_cache)
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = dh[:, T - 1], np.zeros_like(h0)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(  # noqa: F821
            dprev_h, dprev_c, step_caches[t]
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


@mistake(
    "lstm_backward",
    "the step caches are rebuilt with a zero cell state at every step, so each step's backward "
    "uses the wrong prev_c (right only at t = 0)",
    ("prev_c", "cache", "cell state", "recompute"),
)
def lstm_backward_caches_with_zero_cell(dh, cache):
    x, h0, Wx, Wh, b = cache
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, _ = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)  # noqa: F821
        h[:, t] = prev_h
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        step_prev_h = h0 if t == 0 else h[:, t - 1]
        step_cache = (x[:, t], step_prev_h, np.zeros((N, H)), Wx, Wh, b)
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(  # noqa: F821
            dh[:, t] + dprev_h, dprev_c, step_cache
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


@mistake(
    "lstm_cell_grad",
    "tanh' is taken at the previous cell state, 1 - tanh(prev_c)**2, instead of at the new one "
    "c_t = f * prev_c + i * g: one step off in time",
    ("prev_c", "next_c", "new cell", "c_t", "c_{t-1}"),
)
def lstm_cell_grad_tanh_at_prev_c(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    z = x @ Wx + prev_h @ Wh + b
    o = 1 / (1 + np.exp(-z[:, 2 * H : 3 * H]))
    return dnext_c + dnext_h * o * (1 - np.tanh(prev_c) ** 2)


@mistake(
    "lstm_cell_grad",
    "the gradient from the later steps is multiplied by the forget gate, f * dnext_c, as if it "
    "were dprev_c: dnext_c is already the gradient of c_t and adds as it is",
    ("forget gate", "dnext_c", "f *", "as it is"),
)
def lstm_cell_grad_scales_dnext_c_by_forget_gate(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    z = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-z[:, :H]))
    f = 1 / (1 + np.exp(-z[:, H : 2 * H]))
    o = 1 / (1 + np.exp(-z[:, 2 * H : 3 * H]))
    g = np.tanh(z[:, 3 * H :])
    next_c = f * prev_c + i * g
    return f * dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)


@mistake(
    "lstm_cell_grad",
    "the gates are recomputed in PyTorch's order i, f, g, o: the output gate is read from the "
    "third block and the candidate from the fourth, instead of the contract's i, f, o, g",
    ("gate order", "i, f, o, g", "order", "swapped"),
)
def lstm_cell_grad_gate_order_ifgo(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, b = cache
    H = prev_h.shape[1]
    z = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-z[:, :H]))
    f = 1 / (1 + np.exp(-z[:, H : 2 * H]))
    g = np.tanh(z[:, 2 * H : 3 * H])
    o = 1 / (1 + np.exp(-z[:, 3 * H :]))
    next_c = f * prev_c + i * g
    return dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)
