"""Lesson 04: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "04_mlp_backprop"


# ---------------------------------------------------------------- affine_forward


@wrong("affine_forward", "the bias b is missing", "missing term")
def affine_forward_without_bias(x, W, b):
    return x @ W, (x, W, b)


@wrong("affine_forward", "the cache must be the tuple (x, W, b)", "cache")
def affine_forward_short_cache(x, W, b):
    return x @ W + b, (x, W)


@wrong("affine_forward", "in this order", "cache")
def affine_forward_cache_order(x, W, b):
    return x @ W + b, (W, x, b)


@wrong("affine_forward", "expected a tuple (out, cache)", "type")
def affine_forward_no_cache(x, W, b):
    return x @ W + b


@right("affine_forward")
def affine_forward_einsum(x, W, b):
    return np.einsum("nd,dm->nm", x, W) + b[None, :], (x, W, b)


@right("affine_forward")
def affine_forward_loops(x, W, b):
    N, D = x.shape
    M = W.shape[1]
    out = np.zeros((N, M))
    for n in range(N):
        for m in range(M):
            out[n, m] = sum(x[n, d] * W[d, m] for d in range(D)) + b[m]
    return out, (x, W, b)


# ---------------------------------------------------------------- affine_backward


@wrong("affine_backward", "the mean of dout's rows: the bias gradient is their SUM", "factor")
def affine_backward_db_mean(dout, cache):
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout.mean(axis=0)


@wrong("affine_backward", "transpose", "transpose")
def affine_backward_dW_transposed(dout, cache):
    x, W, _ = cache
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)


@wrong("affine_backward", "summed over axis 0 it is right", "axis")
def affine_backward_db_not_summed(dout, cache):
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout


@wrong("affine_backward", "summed over axis 1", "axis")
def affine_backward_db_wrong_axis(dout, cache):
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=1)


@wrong("affine_backward", "returned in the wrong order: your dx is dW, your dW is dx", "order")
def affine_backward_wrong_order(dout, cache):
    x, W, _ = cache
    return x.T @ dout, dout @ W.T, dout.sum(axis=0)


@right("affine_backward")
def affine_backward_einsum(dout, cache):
    x, W, _ = cache
    return (
        np.einsum("nm,dm->nd", dout, W),
        np.einsum("nd,nm->dm", x, dout),
        np.einsum("nm->m", dout),
    )


@right("affine_backward")
def affine_backward_outer_products(dout, cache):
    x, W, b = cache
    dW = np.zeros_like(W)
    db = np.zeros_like(b)
    for n in range(x.shape[0]):
        dW += np.outer(x[n], dout[n])
        db += dout[n]
    return dout @ W.T, dW, db


# ---------------------------------------------------------------- sigmoid_forward


@wrong("sigmoid_forward", "that is sigmoid(-x)", "sign")
def sigmoid_forward_flipped(x):
    out = 1 / (1 + np.exp(x))
    return out, out


@wrong("sigmoid_forward", "the cache holds the input x", "cache")
def sigmoid_forward_caches_x(x):
    return 1 / (1 + np.exp(-x)), x


@wrong("sigmoid_forward", "expected a tuple (out, cache)", "type")
def sigmoid_forward_no_cache(x):
    return 1 / (1 + np.exp(-x))


@wrong("sigmoid_forward", "the cache is a tuple of 1 item(s)", "cache")
def sigmoid_forward_tuple_cache(x):
    out = 1 / (1 + np.exp(-x))
    return out, (out,)


@right("sigmoid_forward")
def sigmoid_forward_tanh(x):
    out = 0.5 * (1 + np.tanh(0.5 * x))
    return out, out


@right("sigmoid_forward")
def sigmoid_forward_logaddexp(x):
    out = np.exp(-np.logaddexp(0, -x))
    return out, out


# ---------------------------------------------------------------- sigmoid_backward


@wrong("sigmoid_backward", "you applied the sigmoid to the cache", "wrong point")
def sigmoid_backward_cache_as_x(dout, cache):
    s = 1 / (1 + np.exp(-cache))
    return dout * s * (1 - s)


@wrong("sigmoid_backward", "the upstream gradient dout is missing", "missing term")
def sigmoid_backward_without_dout(dout, cache):
    return cache * (1 - cache)


@wrong("sigmoid_backward", "the factor (1 - out) is missing", "missing term")
def sigmoid_backward_half_derivative(dout, cache):
    return dout * cache


@right("sigmoid_backward")
def sigmoid_backward_expanded(dout, cache):
    return dout * (cache - cache**2)


# ---------------------------------------------------------------- relu_forward


@wrong("relu_forward", "np.max(x, 0) reduces along axis 0", "axis")
def relu_forward_max_reduction(x):
    return np.max(x, 0), x


@wrong("relu_forward", "the cache holds out = relu(x)", "cache")
def relu_forward_caches_out(x):
    out = np.maximum(x, 0)
    return out, out


@wrong("relu_forward", "modified its input `x` in place", "modified input")
def relu_forward_in_place(x):
    x[x < 0] = 0
    return x, x


@wrong("relu_forward", "not |x|", "formula")
def relu_forward_abs(x):
    return np.abs(x), x


@right("relu_forward")
def relu_forward_mask(x):
    return x * (x > 0), x


@right("relu_forward")
def relu_forward_where(x):
    return np.where(x > 0, x, 0.0), x


# ---------------------------------------------------------------- relu_backward


@wrong("relu_backward", "the mask is missing", "missing term")
def relu_backward_no_mask(dout, cache):
    return dout.copy()


@wrong("relu_backward", "you multiplied by x", "formula")
def relu_backward_times_x(dout, cache):
    return dout * cache


@wrong("relu_backward", "the mask is inverted", "order")
def relu_backward_inverted(dout, cache):
    return dout * (cache < 0)


@wrong("relu_backward", "modified its input `dout` in place", "modified input")
def relu_backward_in_place(dout, cache):
    dout[cache <= 0] = 0
    return dout


@right("relu_backward")
def relu_backward_where(dout, cache):
    return np.where(cache > 0, dout, 0.0)


@right("relu_backward")
def relu_backward_from_output(dout, cache):
    out = np.maximum(cache, 0)
    return dout * (out > 0)


# ---------------------------------------------------------------- mlp_loss
# Each answer is a whole MLP with one flaw, written out in full so that it is self-contained.


@wrong("mlp_loss", "the activation's derivative is missing", "missing term")
def mlp_loss_without_act_grad(params, X, y, activation="sigmoid"):
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    act = acts.get(activation, np.tanh)
    L, N = len(params) // 2, X.shape[0]
    a = [X]
    for i in range(1, L):
        a.append(act(a[-1] @ params[f"W{i}"] + params[f"b{i}"]))
    z = a[-1] @ params[f"W{L}"] + params[f"b{L}"]
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    delta /= N
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        delta = delta @ params[f"W{i}"].T
    return -log_p[np.arange(N), y].mean(), grads


@wrong("mlp_loss", "the bias gradients are the mean of delta's rows", "factor")
def mlp_loss_db_mean(params, X, y, activation="sigmoid"):
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    grads_of_a = {"sigmoid": lambda a: a * (1 - a), "relu": lambda a: (a > 0) * 1.0}
    act = acts.get(activation, np.tanh)
    act_grad = grads_of_a.get(activation, lambda a: 1 - a**2)
    L, N = len(params) // 2, X.shape[0]
    a = [X]
    for i in range(1, L):
        a.append(act(a[-1] @ params[f"W{i}"] + params[f"b{i}"]))
    z = a[-1] @ params[f"W{L}"] + params[f"b{L}"]
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    delta /= N
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = delta.mean(axis=0)
        delta = (delta @ params[f"W{i}"].T) * act_grad(a[i - 1])
    return -log_p[np.arange(N), y].mean(), grads


@wrong("mlp_loss", "did you forget to divide by the batch size N?", "factor")
def mlp_loss_without_one_over_n(params, X, y, activation="sigmoid"):
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    grads_of_a = {"sigmoid": lambda a: a * (1 - a), "relu": lambda a: (a > 0) * 1.0}
    act = acts.get(activation, np.tanh)
    act_grad = grads_of_a.get(activation, lambda a: 1 - a**2)
    L, N = len(params) // 2, X.shape[0]
    a = [X]
    for i in range(1, L):
        a.append(act(a[-1] @ params[f"W{i}"] + params[f"b{i}"]))
    z = a[-1] @ params[f"W{L}"] + params[f"b{L}"]
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        delta = (delta @ params[f"W{i}"].T) * act_grad(a[i - 1])
    return -log_p[np.arange(N), y].mean(), grads


@wrong("mlp_loss", "act' was taken at the activation a_i", "wrong point")
def mlp_loss_act_grad_of_activation(params, X, y, activation="sigmoid"):
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    act = acts.get(activation, np.tanh)
    derivatives = {
        "sigmoid": lambda z: act(z) * (1 - act(z)),
        "relu": lambda z: (z > 0) * 1.0,
    }
    act_grad = derivatives.get(activation, lambda z: 1 - np.tanh(z) ** 2)
    L, N = len(params) // 2, X.shape[0]
    a = [X]
    for i in range(1, L):
        a.append(act(a[-1] @ params[f"W{i}"] + params[f"b{i}"]))
    z = a[-1] @ params[f"W{L}"] + params[f"b{L}"]
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    delta /= N
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        delta = (delta @ params[f"W{i}"].T) * act_grad(a[i - 1])  # act'(a) instead of act'(z)
    return -log_p[np.arange(N), y].mean(), grads


@wrong("mlp_loss", "loss is the expected value times 4 = N", "factor")
def mlp_loss_summed_loss(params, X, y, activation="sigmoid"):
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    grads_of_a = {"sigmoid": lambda a: a * (1 - a), "relu": lambda a: (a > 0) * 1.0}
    act = acts.get(activation, np.tanh)
    act_grad = grads_of_a.get(activation, lambda a: 1 - a**2)
    L, N = len(params) // 2, X.shape[0]
    a = [X]
    for i in range(1, L):
        a.append(act(a[-1] @ params[f"W{i}"] + params[f"b{i}"]))
    z = a[-1] @ params[f"W{L}"] + params[f"b{L}"]
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    delta /= N
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        delta = (delta @ params[f"W{i}"].T) * act_grad(a[i - 1])
    return -log_p[np.arange(N), y].sum(), grads


@wrong("mlp_loss", "modified its input `params` in place", "modified input")
def mlp_loss_updates_params(params, X, y, activation="sigmoid"):
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    grads_of_a = {"sigmoid": lambda a: a * (1 - a), "relu": lambda a: (a > 0) * 1.0}
    act = acts.get(activation, np.tanh)
    act_grad = grads_of_a.get(activation, lambda a: 1 - a**2)
    L, N = len(params) // 2, X.shape[0]
    a = [X]
    for i in range(1, L):
        a.append(act(a[-1] @ params[f"W{i}"] + params[f"b{i}"]))
    z = a[-1] @ params[f"W{L}"] + params[f"b{L}"]
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    delta /= N
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        delta = (delta @ params[f"W{i}"].T) * act_grad(a[i - 1])
    for key in params:  # a gradient step inside the loss function
        params[key] -= 0.1 * grads[key]
    return -log_p[np.arange(N), y].mean(), grads


@right("mlp_loss")
def mlp_loss_act_grad_from_output(params, X, y, activation="sigmoid"):
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    grads_of_a = {"sigmoid": lambda a: a * (1 - a), "relu": lambda a: (a > 0) * 1.0}
    act = acts.get(activation, np.tanh)
    act_grad = grads_of_a.get(activation, lambda a: 1 - a**2)
    L, N = len(params) // 2, X.shape[0]
    a = [X]
    for i in range(1, L):
        a.append(act(a[-1] @ params[f"W{i}"] + params[f"b{i}"]))
    z = a[-1] @ params[f"W{L}"] + params[f"b{L}"]
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    delta /= N
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        delta = (delta @ params[f"W{i}"].T) * act_grad(a[i - 1])
    return -log_p[np.arange(N), y].mean(), grads


@right("mlp_loss")
def mlp_loss_example_by_example(params, X, y, activation="sigmoid"):
    """One example at a time with vectors and np.outer, then the mean of the per-example results."""
    L, N = len(params) // 2, X.shape[0]
    loss = 0.0
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    for n in range(N):
        a, z = [X[n]], [None]
        for i in range(1, L + 1):
            z.append(a[i - 1] @ params[f"W{i}"] + params[f"b{i}"])
            if activation == "sigmoid":
                a.append(1 / (1 + np.exp(-z[i])))
            elif activation == "relu":
                a.append(np.maximum(z[i], 0))
            else:
                a.append(np.tanh(z[i]))
        e = np.exp(z[L] - z[L].max())
        p = e / e.sum()
        loss -= np.log(p[y[n]]) / N
        delta = p.copy()
        delta[y[n]] -= 1
        delta /= N
        for i in range(L, 0, -1):
            grads[f"W{i}"] += np.outer(a[i - 1], delta)
            grads[f"b{i}"] += delta
            if i > 1:
                if activation == "sigmoid":
                    slope = a[i - 1] * (1 - a[i - 1])
                elif activation == "relu":
                    slope = (z[i - 1] > 0) * 1.0
                else:
                    slope = 1 - a[i - 1] ** 2
                delta = (params[f"W{i}"] @ delta) * slope
    return loss, grads


# ---------------------------------------------------------------- classic_bp_grads


@wrong("classic_bp_grads", "dtheta has the sign of a bias gradient", "sign")
def classic_thresholds_as_biases(x, y, V, gamma, W, theta):
    b = 1 / (1 + np.exp(-(x @ V - gamma)))
    yhat = 1 / (1 + np.exp(-(b @ W - theta)))
    g = (yhat - y) * yhat * (1 - yhat)
    e = (W @ g) * b * (1 - b)
    return np.outer(x, e), e, np.outer(b, g), g


@wrong("classic_bp_grads", "the slip in line (c) of Section 6", "wrong point")
def classic_seed_typo(x, y, V, gamma, W, theta):
    alpha = x @ V
    b = 1 / (1 + np.exp(-(alpha - gamma)))
    yhat = 1 / (1 + np.exp(-(b @ W - theta)))
    g = (yhat - y) * yhat * (1 - yhat)
    e = (W @ g) * b * (1 - (alpha - gamma))
    return np.outer(x, e), -e, np.outer(b, g), -g


@wrong("classic_bp_grads", "the output sigmoid's derivative", "missing term")
def classic_without_output_slope(x, y, V, gamma, W, theta):
    b = 1 / (1 + np.exp(-(x @ V - gamma)))
    yhat = 1 / (1 + np.exp(-(b @ W - theta)))
    g = yhat - y
    e = (W @ g) * b * (1 - b)
    return np.outer(x, e), -e, np.outer(b, g), -g


@wrong("classic_bp_grads", "the hidden sigmoid's derivative", "missing term")
def classic_without_hidden_slope(x, y, V, gamma, W, theta):
    b = 1 / (1 + np.exp(-(x @ V - gamma)))
    yhat = 1 / (1 + np.exp(-(b @ W - theta)))
    g = (yhat - y) * yhat * (1 - yhat)
    e = W @ g
    return np.outer(x, e), -e, np.outer(b, g), -g


@wrong("classic_bp_grads", "the update direction", "sign")
def classic_update_direction(x, y, V, gamma, W, theta):
    b = 1 / (1 + np.exp(-(x @ V - gamma)))
    yhat = 1 / (1 + np.exp(-(b @ W - theta)))
    g = yhat * (1 - yhat) * (y - yhat)  # Zhou's g_j
    e = b * (1 - b) * (W @ g)  # Zhou's e_h
    return np.outer(x, e), -e, np.outer(b, g), -g


@right("classic_bp_grads")
def classic_index_by_index(x, y, V, gamma, W, theta):
    d, q = V.shape
    l = W.shape[1]
    alpha = [sum(V[i, h] * x[i] for i in range(d)) for h in range(q)]
    b = [1 / (1 + np.exp(-(alpha[h] - gamma[h]))) for h in range(q)]
    beta = [sum(W[h, j] * b[h] for h in range(q)) for j in range(l)]
    yhat = [1 / (1 + np.exp(-(beta[j] - theta[j]))) for j in range(l)]
    g = [(yhat[j] - y[j]) * yhat[j] * (1 - yhat[j]) for j in range(l)]
    e = [b[h] * (1 - b[h]) * sum(W[h, j] * g[j] for j in range(l)) for h in range(q)]
    dV = np.array([[e[h] * x[i] for h in range(q)] for i in range(d)])
    dW = np.array([[g[j] * b[h] for j in range(l)] for h in range(q)])
    return dV, -np.array(e), dW, -np.array(g)


@right("classic_bp_grads")
def classic_as_biases(x, y, V, gamma, W, theta):
    """The threshold as a bias c = -gamma: compute the bias gradients, then flip their sign."""
    c_hidden, c_out = -gamma, -theta
    b = 1 / (1 + np.exp(-(x[None, :] @ V + c_hidden)))
    yhat = 1 / (1 + np.exp(-(b @ W + c_out)))
    delta_out = (yhat - y) * yhat * (1 - yhat)
    delta_hidden = (delta_out @ W.T) * b * (1 - b)
    dc_out, dc_hidden = delta_out.sum(axis=0), delta_hidden.sum(axis=0)
    return x[:, None] @ delta_hidden, -dc_hidden, b.T @ delta_out, -dc_out


# ---------------------------------------------------------------- general mistakes (issue 10)


@wrong("affine_forward", "cache item 2 (b) holds out", "cache")
def affine_forward_caches_out(x, W, b):
    out = x @ W + b
    return out, (x, W, out)


@wrong("affine_forward", "is the last example of the expected value only", "slices")
def affine_forward_loop_overwrites(x, W, b):
    for n in range(x.shape[0]):
        out = x[n] @ W + b
    return out, (x, W, b)


@wrong("affine_backward", "the transpose, reshaped to", "transpose")
def affine_backward_dW_reshaped(dout, cache):
    x, W, _ = cache
    return dout @ W.T, (dout.T @ x).reshape(W.shape), dout.sum(axis=0)


@wrong("affine_backward", "holds the contribution of the last example only", "accumulation")
def affine_backward_db_loop_overwrites(dout, cache):
    x, W, _ = cache
    dW = np.zeros_like(W)
    for n in range(x.shape[0]):
        dW += np.outer(x[n], dout[n])
        db = dout[n]
    return dout @ W.T, dW, db


@wrong("sigmoid_forward", "sigmoid(2x)", "wrong point")
def sigmoid_forward_tanh_without_the_half(x):
    out = 0.5 * (1 + np.tanh(x))
    return out, out


@wrong("sigmoid_forward", "the cache is a tuple of 2 item(s)", "cache")
def sigmoid_forward_caches_x_and_out(x):
    out = 1 / (1 + np.exp(-x))
    return out, (x, out)


@wrong("sigmoid_backward", "1 - out**2 is the derivative of tanh", "formula")
def sigmoid_backward_tanh_derivative(dout, cache):
    return dout * (1 - cache**2)


@wrong("sigmoid_backward", "modified its input `cache` in place", "modified input")
def sigmoid_backward_in_place(dout, cache):
    slope = cache
    slope *= 1 - cache
    return dout * slope


@wrong("relu_forward", "keeps the negative part", "order")
def relu_forward_where_swapped(x):
    return np.where(x > 0, 0.0, x), x


@wrong("relu_forward", "the cache is a tuple of 1 item(s)", "cache")
def relu_forward_tuple_cache(x):
    return np.maximum(x, 0), (x,)


@wrong("relu_backward", "the mask was taken from dout", "wrong point")
def relu_backward_mask_of_dout(dout, cache):
    return dout * (dout > 0)


@wrong("relu_backward", "np.sign(x) is -1", "formula")
def relu_backward_sign(dout, cache):
    return dout * np.sign(cache)


@wrong("mlp_loss", "the output delta uses the logits", "wrong point")
def mlp_loss_delta_of_the_logits(params, X, y, activation="sigmoid"):
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    slopes = {"sigmoid": lambda a: a * (1 - a), "relu": lambda a: (a > 0) * 1.0}
    act = acts.get(activation, np.tanh)
    slope = slopes.get(activation, lambda a: 1 - a**2)
    L, N = len(params) // 2, X.shape[0]
    a = [X]
    for i in range(1, L):
        a.append(act(a[-1] @ params[f"W{i}"] + params[f"b{i}"]))
    z = a[-1] @ params[f"W{L}"] + params[f"b{L}"]
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    delta = z.copy()
    delta[np.arange(N), y] -= 1
    delta /= N
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        delta = (delta @ params[f"W{i}"].T) * slope(a[i - 1])
    return -log_p[np.arange(N), y].mean(), grads


@wrong("mlp_loss", "transposed: dW_i = a_{i-1}.T @ delta_i", "transpose")
def mlp_loss_dW_transposed(params, X, y, activation="sigmoid"):
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    slopes = {"sigmoid": lambda a: a * (1 - a), "relu": lambda a: (a > 0) * 1.0}
    act = acts.get(activation, np.tanh)
    slope = slopes.get(activation, lambda a: 1 - a**2)
    L, N = len(params) // 2, X.shape[0]
    a = [X]
    for i in range(1, L):
        a.append(act(a[-1] @ params[f"W{i}"] + params[f"b{i}"]))
    z = a[-1] @ params[f"W{L}"] + params[f"b{L}"]
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    delta /= N
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = delta.T @ a[i - 1]
        grads[f"b{i}"] = delta.sum(axis=0)
        delta = (delta @ params[f"W{i}"].T) * slope(a[i - 1])
    return -log_p[np.arange(N), y].mean(), grads


@wrong("classic_bp_grads", "holds the contribution of the last output only", "accumulation")
def classic_hidden_error_of_one_output(x, y, V, gamma, W, theta):
    b = 1 / (1 + np.exp(-(x @ V - gamma)))
    yhat = 1 / (1 + np.exp(-(b @ W - theta)))
    g = (yhat - y) * yhat * (1 - yhat)
    for j in range(len(g)):
        e = W[:, j] * g[j] * b * (1 - b)
    return np.outer(x, e), -e, np.outer(b, g), -g


@wrong("classic_bp_grads", "at x V, without the threshold", "wrong point")
def classic_hidden_slope_without_threshold(x, y, V, gamma, W, theta):
    b = 1 / (1 + np.exp(-(x @ V - gamma)))
    yhat = 1 / (1 + np.exp(-(b @ W - theta)))
    g = (yhat - y) * yhat * (1 - yhat)
    s = 1 / (1 + np.exp(-(x @ V)))
    e = (W @ g) * s * (1 - s)
    return np.outer(x, e), -e, np.outer(b, g), -g


@wrong("affine_backward", "dx is right where x > 0 and 0 where x < 0", "region")
def affine_backward_with_a_stray_relu_mask(dout, cache):
    x, W, _ = cache
    return (dout @ W.T) * (x > 0), x.T @ dout, dout.sum(axis=0)


@wrong(
    "affine_backward", "dW: wrong (dx and db are right); the smallest case found", "smallest case"
)
def affine_backward_counts_example_0_twice(dout, cache):
    x, W, _ = cache
    dW = np.outer(x[0], dout[0])
    for n in range(len(x)):
        dW += np.outer(x[n], dout[n])
    return dout @ W.T, dW, dout.sum(axis=0)


@wrong("affine_forward", "the bias term is wrong: out is right when b = 0", "path")
def affine_forward_adds_the_bias_twice(x, W, b):
    return x @ W + b + b, (x, W, b)


@wrong("mlp_loss", "loss: wrong, as are grads['W", "smallest case")
def mlp_loss_activates_the_output_layer(params, X, y, activation="sigmoid"):
    functions = {
        "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
        "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0) * 1.0),
        "tanh": (np.tanh, lambda a: 1 - a**2),
    }
    act, slope = functions[activation]
    L, N = len(params) // 2, len(X)
    a = [X]
    for i in range(1, L + 1):
        a.append(act(a[-1] @ params[f"W{i}"] + params[f"b{i}"]))  # the output layer too
    e = np.exp(a[-1] - a[-1].max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    delta = p.copy()
    delta[np.arange(N), y] -= 1
    delta = delta / N * slope(a[-1])
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        delta = (delta @ params[f"W{i}"].T) * slope(a[i - 1])
    return -np.log(p[np.arange(N), y]).mean(), grads
