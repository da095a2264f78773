import numpy as np

from benchmarks.heldout import mistake

LESSON = "08_bptt"


@mistake(
    "rnn_step_forward",
    "the recurrent term is prev_h @ Wh.T: Wh is square, so it runs, but the recurrence uses "
    "the transposed weights",
    ("wh.t", "transpose", "recurrent weight"),
)
def rnn_step_forward_recurrent_weights_transposed(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh.T + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


@mistake(
    "rnn_step_forward",
    "the cache ends with the bias b instead of next_h, as if the backward needed b rather "
    "than the output",
    ("cache", "next_h", "(x, prev_h, wx, wh, next_h)"),
)
def rnn_step_forward_caches_bias(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, b)


@mistake(
    "rnn_step_backward",
    "the tanh derivative is taken as 1 - tanh(next_h)**2, applying tanh again to the cached "
    "output instead of 1 - next_h**2",
    ("tanh again", "twice", "1 - next_h", "already"),
)
def rnn_step_backward_retanh_output(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - np.tanh(next_h) ** 2)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@mistake(
    "rnn_step_backward",
    "dWh is next_h.T @ da: the recurrent weight gradient uses the new hidden state instead of "
    "the previous one, prev_h",
    ("dwh", "prev_h", "next_h", "previous hidden state"),
)
def rnn_step_backward_dWh_with_next_h(dnext_h, cache):
    x, _, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = next_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@mistake(
    "rnn_step_backward",
    "dx is computed from dnext_h instead of from da: the path to x skips the tanh derivative "
    "while the other gradients are right",
    ("dx", "tanh'", "tanh derivative", "dnext_h @ wx"),
)
def rnn_step_backward_dx_skips_tanh(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    dx = dnext_h @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@mistake(
    "rnn_forward",
    "h[:, t] is stored before the step, so h holds h0, h_0, ..., h_{T-2}: every hidden state "
    "is shifted by one time step",
    ("shift", "off-by-one", "one step late", "h0"),
)
def rnn_forward_stores_previous_state(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h = h0
    for t in range(T):
        h[:, t] = prev_h
        prev_h = np.tanh(x[:, t] @ Wx + prev_h @ Wh + b)
    return h, (x, h0, Wx, Wh, h)


@mistake(
    "rnn_forward",
    "x[t] indexes the batch axis instead of the time axis x[:, t]: it only runs when N = T, "
    "and then feeds example t's sequence as the inputs of time step t",
    ("x[:, t]", "time axis", "x[t]", "batch axis"),
)
def rnn_forward_indexes_batch_axis(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h = h0
    for t in range(T):
        prev_h = np.tanh(x[t] @ Wx + prev_h @ Wh + b)
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, h)


@mistake(
    "rnn_backward",
    "the gradient from the future is not carried: each step gets only dh[:, t], not "
    "dh[:, t] + dprev_h (backpropagation truncated to one step)",
    ("dprev_h", "carried", "from later steps", "dh[:, t] + dprev_h"),
)
def rnn_backward_no_carry(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(Wh[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        step_cache = (x[:, t], prev_h, Wx, Wh, h[:, t])
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], step_cache)  # noqa: F821
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


@mistake(
    "rnn_backward",
    "prev_h is h[:, t - 1] at every step, so at t = 0 it wraps around to h[:, -1], the last "
    "hidden state, instead of h0",
    ("h0", "t = 0", "h[:, -1]", "wrap"),
)
def rnn_backward_wraps_to_last_state(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(Wh[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        step_cache = (x[:, t], h[:, t - 1], Wx, Wh, h[:, t])
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(  # noqa: F821
            dh[:, t] + dprev_h, step_cache
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


@mistake(
    "rnn_backward",
    "the weight and bias gradients are assigned (dWx = dWx_t) instead of summed over the time "
    "steps, so only step 0's contribution is returned",
    ("sum over time", "+=", "accumulat", "every time step"),
)
def rnn_backward_weight_grads_not_summed(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(Wh[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        step_cache = (x[:, t], prev_h, Wx, Wh, h[:, t])
        dx[:, t], dprev_h, dWx, dWh, db = rnn_step_backward(  # noqa: F821
            dh[:, t] + dprev_h, step_cache
        )
    return dx, dprev_h, dWx, dWh, db


@mistake(
    "bptt_dz",
    "only the loss at step t is counted: dz_t = dh[:, t] * (1 - h_t**2), without the path "
    "through the next step's pre-activation",
    ("both paths", "next step", "t + 1", "t+1", "later steps", "recurrent path"),
)
def bptt_dz_without_recurrent_path(dh, h, Wh):
    return dh * (1 - h**2)


@mistake(
    "bptt_dz",
    "the loop runs forwards in time, t = 0, ..., T - 1, so each step gets the gradient carried "
    "from the step before it instead of the step after it",
    ("backwards", "reverse", "forward in time", "runs forwards", "down to 0"),
)
def bptt_dz_forward_in_time(dh, h, Wh):
    N, T, H = h.shape
    dz = np.zeros_like(h)
    carry = np.zeros((N, H))
    for t in range(T):
        dz[:, t] = (dh[:, t] + carry) * (1 - h[:, t] ** 2)
        carry = dz[:, t] @ Wh.T
    return dz


@mistake(
    "bptt_dz",
    "the gradient carried to the previous state is dz_{t+1} @ Wh instead of dz_{t+1} @ Wh.T: "
    "Wh is square, so it runs",
    ("wh.t", "transpose", "transposed"),
)
def bptt_dz_carry_not_transposed(dh, h, Wh):
    N, T, H = h.shape
    dz = np.zeros_like(h)
    carry = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dz[:, t] = (dh[:, t] + carry) * (1 - h[:, t] ** 2)
        carry = dz[:, t] @ Wh
    return dz
