"""Lesson 08: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "08_bptt"


# ---------------------------------------------------------------- rnn_step_forward


@wrong("rnn_step_forward", "tanh is missing", "missing term")
def step_forward_without_tanh(x, prev_h, Wx, Wh, b):
    next_h = x @ Wx + prev_h @ Wh + b
    return next_h, (x, prev_h, Wx, Wh, next_h)


@wrong("rnn_step_forward", "the bias b is missing", "missing term")
def step_forward_without_bias(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh)
    return next_h, (x, prev_h, Wx, Wh, next_h)


@wrong("rnn_step_forward", "Wh is transposed", "transpose")
def step_forward_transposed_recurrence(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh.T + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


@wrong("rnn_step_forward", "sigmoid", "formula")
def step_forward_with_sigmoid(x, prev_h, Wx, Wh, b):
    next_h = 1 / (1 + np.exp(-(x @ Wx + prev_h @ Wh + b)))
    return next_h, (x, prev_h, Wx, Wh, next_h)


@wrong("rnn_step_forward", "cache item 4 (next_h) holds the pre-activation", "cache")
def step_forward_caches_pre_activation(x, prev_h, Wx, Wh, b):
    a = x @ Wx + prev_h @ Wh + b
    return np.tanh(a), (x, prev_h, Wx, Wh, a)


@wrong("rnn_step_forward", "the cache must be the tuple (x, prev_h, Wx, Wh, next_h)", "cache")
def step_forward_caches_the_bias_too(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, b, next_h)


@right("rnn_step_forward")
def step_forward_einsum(x, prev_h, Wx, Wh, b):
    a = np.einsum("nd,dh->nh", x, Wx) + np.einsum("nk,kh->nh", prev_h, Wh) + b
    next_h = np.tanh(a)
    return next_h, (x, prev_h, Wx, Wh, next_h)


@right("rnn_step_forward")
def step_forward_one_example_at_a_time(x, prev_h, Wx, Wh, b):
    rows = [np.tanh(x[n] @ Wx + prev_h[n] @ Wh + b) for n in range(x.shape[0])]
    next_h = np.array(rows)
    return next_h, [x, prev_h, Wx, Wh, next_h]


# ---------------------------------------------------------------- rnn_step_backward


@wrong("rnn_step_backward", "tanh' computed from the pre-activation", "wrong point")
def step_backward_tanh_grad_of_pre_activation(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    a = np.arctanh(next_h)
    da = dnext_h * (1 - a**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("rnn_step_backward", "tanh' computed from the previous hidden state", "wrong point")
def step_backward_tanh_grad_of_prev_h(dnext_h, cache):
    x, prev_h, Wx, Wh, _ = cache
    da = dnext_h * (1 - prev_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("rnn_step_backward", "computed as 1 - tanh(next_h)**2", "wrong point")
def step_backward_tanh_applied_twice(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - np.tanh(next_h) ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("rnn_step_backward", "the tanh derivative is missing", "missing term")
def step_backward_without_tanh_grad(dnext_h, cache):
    x, prev_h, Wx, Wh, _ = cache
    da = dnext_h
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("rnn_step_backward", "dWh: uses next_h", "wrong point")
def step_backward_dWh_from_next_h(dnext_h, cache):
    x, _, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, next_h.T @ da, da.sum(axis=0)


@wrong("rnn_step_backward", "Wh is not transposed", "transpose")
def step_backward_untransposed_recurrence(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("rnn_step_backward", "you averaged over the batch", "factor")
def step_backward_mean_bias_gradient(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.mean(axis=0)


@right("rnn_step_backward")
def step_backward_einsum(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - np.tanh(np.arctanh(next_h)) ** 2)
    return (
        np.einsum("nh,dh->nd", da, Wx),
        np.einsum("nh,kh->nk", da, Wh),
        np.einsum("nd,nh->dh", x, da),
        np.einsum("nk,nh->kh", prev_h, da),
        np.einsum("nh->h", da),
    )


@right("rnn_step_backward")
def step_backward_example_by_example(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    dx, dprev_h = np.zeros_like(x), np.zeros_like(prev_h)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1])
    for n in range(x.shape[0]):
        da = dnext_h[n] * (1 - next_h[n] * next_h[n])
        dx[n] = Wx @ da
        dprev_h[n] = Wh @ da
        dWx += np.outer(x[n], da)
        dWh += np.outer(prev_h[n], da)
        db += da
    return dx, dprev_h, dWx, dWh, db


# ---------------------------------------------------------------- rnn_forward


@wrong("rnn_forward", "every step used h0 as its previous state", "wrong point")
def forward_never_updates_the_state(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    for t in range(T):
        h[:, t] = np.tanh(x[:, t] @ Wx + h0 @ Wh + b)
    return h, (x, h0, Wx, Wh, h)


@wrong("rnn_forward", "h also holds h0", "shape")
def forward_keeps_h0(x, h0, Wx, Wh, b):
    states = [h0]
    for t in range(x.shape[1]):
        states.append(np.tanh(x[:, t] @ Wx + states[-1] @ Wh + b))
    h = np.stack(states, axis=1)
    return h, (x, h0, Wx, Wh, h)


@wrong("rnn_forward", "h is time-major", "transpose")
def forward_time_major(x, h0, Wx, Wh, b):
    states, prev_h = [], h0
    for t in range(x.shape[1]):
        prev_h = np.tanh(x[:, t] @ Wx + prev_h @ Wh + b)
        states.append(prev_h)
    h = np.array(states)
    return h, (x, h0, Wx, Wh, h)


@wrong("rnn_forward", "Wh is transposed", "transpose")
def forward_transposed_recurrence(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h = h0
    for t in range(T):
        prev_h = np.tanh(x[:, t] @ Wx + prev_h @ Wh.T + b)
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, h)


@wrong("rnn_forward", "got a list of 6 step caches", "cache")
def forward_caches_every_step(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h, caches = h0, []
    for t in range(T):
        next_h = np.tanh(x[:, t] @ Wx + prev_h @ Wh + b)
        caches.append((x[:, t], prev_h, Wx, Wh, next_h))
        h[:, t] = prev_h = next_h
    return h, caches


@wrong("rnn_forward", "only the first time step matches", "slices")
def forward_passes_the_pre_activation_on(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev = h0
    for t in range(T):
        a = x[:, t] @ Wx + prev @ Wh + b
        h[:, t] = np.tanh(a)
        prev = a
    return h, (x, h0, Wx, Wh, h)


@right("rnn_forward")
def forward_precomputed_input_terms(x, h0, Wx, Wh, b):
    inputs = np.einsum("ntd,dh->nth", x, Wx) + b  # every step's input term at once
    states, prev_h = [], h0
    for t in range(x.shape[1]):
        prev_h = np.tanh(inputs[:, t] + prev_h @ Wh)
        states.append(prev_h)
    h = np.stack(states, axis=1)
    return h, (x, h0, Wx, Wh, h)


@right("rnn_forward")
def forward_one_sequence_at_a_time(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]))
    for n in range(N):
        state = h0[n]
        for t in range(T):
            state = np.tanh(x[n, t] @ Wx + state @ Wh + b)
            h[n, t] = state
    return h, (x, h0, Wx, Wh, h)


# ---------------------------------------------------------------- rnn_backward


@wrong("rnn_backward", "only the contribution of time step 0 (the first) is left", "accumulation")
def backward_overwrites_shared_weights(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx = x[:, t].T @ da
        dWh = prev_h.T @ da
        db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("rnn_backward", "the gradient from step t+1 is not added", "missing term")
def backward_without_the_recurrent_gradient(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dh0 = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        da = dh[:, t] * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dh0 = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dh0, dWx, dWh, db


@wrong("rnn_backward", "tanh' computed from the pre-activation", "wrong point")
def backward_tanh_grad_of_pre_activation(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        a = np.arctanh(h[:, t])
        da = (dh[:, t] + dprev_h) * (1 - a**2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("rnn_backward", "tanh' computed from the previous hidden state", "wrong point")
def backward_tanh_grad_of_previous_state(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        da = (dh[:, t] + dprev_h) * (1 - prev_h**2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("rnn_backward", "dWh: uses h_t", "wrong point")
def backward_dWh_from_current_state(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += h[:, t].T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("rnn_backward", "the time loop runs forwards", "order")
def backward_loop_runs_forwards(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in range(T):
        prev_h = h0 if t == 0 else h[:, t - 1]
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("rnn_backward", "dx: only the last time step matches", "slices")
def backward_untransposed_recurrence(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("rnn_backward", "at t = 0 the previous state is h0", "wrong point")
def backward_wraps_around_at_the_first_step(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += h[:, t - 1].T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("rnn_backward", "you averaged over time", "factor")
def backward_averages_over_time(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx / T, dWh / T, db / T


@wrong("rnn_backward", "dh0: is zero", "missing term")
def backward_forgets_dh0(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, np.zeros_like(h0), dWx, dWh, db


@right("rnn_backward")
def backward_loop_then_einsum(dh, cache):
    # the loop only carries the hidden-state gradient; the shared weights are summed at the end
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    da = np.zeros_like(h)
    dprev_h = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        da[:, t] = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dprev_h = da[:, t] @ Wh.T
    prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)  # the state before every step
    dx = np.einsum("nth,dh->ntd", da, Wx)
    dWx = np.einsum("ntd,nth->dh", x, da)
    dWh = np.einsum("ntk,nth->kh", prev, da)
    return dx, dprev_h, dWx, dWh, da.sum(axis=(0, 1))


@right("rnn_backward")
def backward_one_sequence_at_a_time(dh, cache):
    x, h0, Wx, Wh, h = cache
    N, T, _ = x.shape
    dx, dh0 = np.zeros_like(x), np.zeros_like(h0)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    for n in range(N):
        carry = np.zeros(h0.shape[1])
        for t in reversed(range(T)):
            prev_h = h[n, t - 1] if t > 0 else h0[n]
            da = (dh[n, t] + carry) * (1 - h[n, t] ** 2)
            dx[n, t] = Wx @ da
            carry = Wh @ da
            dWx += np.outer(x[n, t], da)
            dWh += np.outer(prev_h, da)
            db += da
        dh0[n] = carry
    return dx, dh0, dWx, dWh, db


# ---------------------------------------------------------------- general mistakes (issue 10)


@wrong("rnn_step_forward", "cache item 1 (prev_h) holds Wx", "cache")
def step_forward_cache_in_another_order(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, Wx, prev_h, Wh, next_h)


@wrong("rnn_step_forward", "the recurrent term prev_h @ Wh is missing", "missing term")
def step_forward_without_recurrence(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


@wrong("rnn_step_backward", "summed over axis 0 it is right", "axis")
def step_backward_db_not_summed(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da


@wrong("rnn_step_backward", "the transpose, reshaped to", "transpose")
def step_backward_dWx_reshaped(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, (da.T @ x).reshape(Wx.shape), prev_h.T @ da, da.sum(axis=0)


@wrong("rnn_step_backward", "dx uses Wh", "order")
def step_backward_dx_through_Wh(dnext_h, cache):
    x, prev_h, _, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wh.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@wrong("rnn_forward", "shifted by (-1, 0)", "slices")
def forward_stores_one_step_early(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h = h0
    for t in range(T):
        prev_h = np.tanh(x[:, t] @ Wx + prev_h @ Wh + b)
        h[:, t - 1] = prev_h
    return h, (x, h0, Wx, Wh, h)


@wrong("rnn_forward", "is the last time step of the expected value only", "slices")
def forward_returns_the_last_state(x, h0, Wx, Wh, b):
    prev_h = h0
    for t in range(x.shape[1]):
        prev_h = np.tanh(x[:, t] @ Wx + prev_h @ Wh + b)
    return prev_h, (x, h0, Wx, Wh, prev_h)


@wrong("rnn_backward", "(time step, example, axis 2) instead of", "transpose")
def backward_dx_time_major(dh, cache):
    x, h0, Wx, Wh, h = cache
    N, T, D = x.shape
    dx = np.zeros((T, N, D))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("rnn_backward", "dx: only 4 of 5 time steps match", "slices")
def backward_loop_stops_before_step_0(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in range(T - 1, 0, -1):
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += h[:, t - 1].T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("rnn_backward", "only the last step's upstream gradient", "missing term")
def backward_upstream_of_the_last_step_only(dh, cache):
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = dh[:, -1]
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        da = dprev_h * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


@wrong("rnn_forward", "how h0 enters is wrong: it is the previous state of step 0", "path")
def rnn_forward_starts_from_zeros(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h = np.zeros_like(h0)
    for t in range(T):
        prev_h = np.tanh(x[:, t] @ Wx + prev_h @ Wh + b)
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, h)


@wrong("rnn_step_backward", "returned in the wrong order: your dx is dWx, your dWx is dx", "order")
def step_backward_returns_the_weights_first(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return x.T @ da, da @ Wh.T, da @ Wx.T, prev_h.T @ da, da.sum(axis=0)
