import numpy as np

from benchmarks.heldout import mistake

LESSON = "04_mlp_backprop"


@mistake(
    "affine_forward",
    "the cache is stored as (W, x, b) instead of the contract's (x, W, b)",
    ("cache", "(x, w, b)"),
)
def affine_forward_cache_order(x, W, b):
    out = x @ W + b
    return out, (W, x, b)


@mistake(
    "affine_forward",
    "the weights are used transposed, x @ W.T + b (the column convention W x): it only runs "
    "when W is square, and then gives the wrong outputs",
    ("transpose", "w.t", "x @ w"),
)
def affine_forward_transposed_weights(x, W, b):
    out = x @ W.T + b
    return out, (x, W, b)


@mistake(
    "affine_backward",
    "dx is dout @ W instead of dout @ W.T: W is not transposed (only runs for square W)",
    ("dx", "w.t", "transpose"),
)
def affine_backward_dx_not_transposed(dout, cache):
    x, W, _ = cache
    dx = dout @ W
    dW = x.T @ dout
    db = np.sum(dout, axis=0)
    return dx, dW, db


@mistake(
    "affine_backward",
    "db is the mean of dout over the batch instead of its sum: the 1/N is applied a second time",
    ("db", "mean instead of", "1/n", "n times too small"),
)
def affine_backward_bias_mean(dout, cache):
    x, W, _ = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = np.mean(dout, axis=0)
    return dx, dW, db


@mistake(
    "affine_backward",
    "dW is computed as dout.T @ x, the transpose (M, D) of the weight gradient",
    ("dw", "transpose", "x.t @ dout", "(d, m)"),
)
def affine_backward_weight_grad_transposed(dout, cache):
    x, W, _ = cache
    dx = dout @ W.T
    dW = dout.T @ x
    db = np.sum(dout, axis=0)
    return dx, dW, db


@mistake(
    "sigmoid_forward",
    "the cache holds the input x instead of the output out that the contract fixes",
    ("cache", "cached"),
)
def sigmoid_forward_caches_input(x):
    out = 1 / (1 + np.exp(-x))
    return out, x


@mistake(
    "sigmoid_forward",
    "the exponent's sign is wrong, 1 / (1 + exp(x)), which is sigmoid(-x) = 1 - sigmoid(x)",
    ("exp(-x)", "sigmoid(-x)", "1 - sigmoid", "exponent"),
)
def sigmoid_forward_wrong_exponent_sign(x):
    out = 1 / (1 + np.exp(x))
    return out, out


@mistake(
    "sigmoid_backward",
    "the sigmoid is applied again to the cache, which already holds sigmoid(x): the derivative "
    "is taken at sigmoid(x) instead of x",
    ("sigmoid again", "twice", "already", "applies the sigmoid"),
)
def sigmoid_backward_reapplies_sigmoid(dout, cache):
    s = 1 / (1 + np.exp(-cache))
    return dout * s * (1 - s)


@mistake(
    "sigmoid_backward",
    "the derivative is written as 1 - out**2, the tanh derivative, instead of out * (1 - out)",
    ("out * (1 - out)", "tanh", "1 - out**2"),
)
def sigmoid_backward_tanh_derivative(dout, cache):
    out = cache
    return dout * (1 - out**2)


@mistake(
    "sigmoid_backward",
    "out *= 1 - out computes the derivative in place in the cache, so the forward's output "
    "(the next layer's input) is overwritten",
    ("in place", "cache", "modif", "overwrit"),
)
def sigmoid_backward_overwrites_cache(dout, cache):
    out = cache
    out *= 1 - out
    return dout * out


@mistake(
    "relu_forward",
    "x[x < 0] = 0 clips the input in place: the caller's x is modified and the cache is the "
    "output instead of the original input",
    ("in place", "modif", "copy"),
)
def relu_forward_in_place(x):
    x[x < 0] = 0
    return x, x


@mistake(
    "relu_forward",
    "np.max(x, 0) is a reduction over axis 0, not the elementwise np.maximum(x, 0)",
    ("np.maximum", "elementwise", "reduction", "np.max"),
)
def relu_forward_reduction_max(x):
    return np.max(x, 0), x


@mistake(
    "relu_backward",
    "the mask is taken from the sign of the upstream gradient (dout > 0) instead of the cached "
    "input (x > 0)",
    ("x > 0", "dout > 0", "sign of dout", "mask"),
)
def relu_backward_mask_from_dout(dout, cache):
    return dout * (dout > 0)


@mistake(
    "relu_backward",
    "dout[x <= 0] = 0 zeroes the blocked entries in place, modifying the caller's dout",
    ("in place", "modif", "copy"),
)
def relu_backward_in_place(dout, cache):
    x = cache
    dout[x <= 0] = 0
    return dout


@mistake(
    "relu_backward",
    "np.where(x > 0, dout, x): the blocked entries get the input x instead of 0",
    ("0 elsewhere", "zero where", "blocked", "x where"),
)
def relu_backward_passes_x_where_blocked(dout, cache):
    x = cache
    return np.where(x > 0, dout, x)


@mistake(
    "mlp_loss",
    "the delta recursion multiplies by act' evaluated at the activation a_{i-1} instead of the "
    "pre-activation z_{i-1} (wrong for sigmoid and tanh)",
    ("pre-activation", "act'(a", "activation output", "act_grad(a"),
)
def mlp_loss_derivative_at_activation(params, X, y, activation="sigmoid"):
    def act(z):
        if activation == "sigmoid":
            return 1 / (1 + np.exp(-z))
        if activation == "relu":
            return np.maximum(z, 0)
        return np.tanh(z)

    def act_grad(z):
        if activation == "sigmoid":
            return act(z) * (1 - act(z))
        if activation == "relu":
            return (z > 0) * 1.0
        return 1 - np.tanh(z) ** 2

    L = len(params) // 2
    N = X.shape[0]
    a, z = [X], [None]
    for i in range(1, L + 1):
        z.append(a[i - 1] @ params[f"W{i}"] + params[f"b{i}"])
        if i < L:
            a.append(act(z[i]))
    shifted = z[L] - z[L].max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y])
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    delta /= N
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = np.sum(delta, axis=0)
        if i > 1:
            delta = (delta @ params[f"W{i}"].T) * act_grad(a[i - 1])
    return loss, grads


@mistake(
    "mlp_loss",
    "the backward loop runs for i = L, ..., 2 only (range(L, 1, -1)), so W1 and b1 get no gradient",
    ("w1", "b1", "first layer", "missing key"),
)
def mlp_loss_skips_first_layer(params, X, y, activation="sigmoid"):
    def act(z):
        if activation == "sigmoid":
            return 1 / (1 + np.exp(-z))
        if activation == "relu":
            return np.maximum(z, 0)
        return np.tanh(z)

    def act_grad(z):
        if activation == "sigmoid":
            return act(z) * (1 - act(z))
        if activation == "relu":
            return (z > 0) * 1.0
        return 1 - np.tanh(z) ** 2

    L = len(params) // 2
    N = X.shape[0]
    a, z = [X], [None]
    for i in range(1, L + 1):
        z.append(a[i - 1] @ params[f"W{i}"] + params[f"b{i}"])
        if i < L:
            a.append(act(z[i]))
    shifted = z[L] - z[L].max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y])
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    delta /= N
    grads = {}
    for i in range(L, 1, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = np.sum(delta, axis=0)
        delta = (delta @ params[f"W{i}"].T) * act_grad(z[i - 1])
    return loss, grads


@mistake(
    "mlp_loss",
    "the hidden activation is also applied to the last layer, so the logits are act(z_L) and "
    "both the loss and the gradients are those of a different network",
    ("last layer", "output layer", "logits", "no activation"),
)
def mlp_loss_activates_output_layer(params, X, y, activation="sigmoid"):
    def act(z):
        if activation == "sigmoid":
            return 1 / (1 + np.exp(-z))
        if activation == "relu":
            return np.maximum(z, 0)
        return np.tanh(z)

    def act_grad(z):
        if activation == "sigmoid":
            return act(z) * (1 - act(z))
        if activation == "relu":
            return (z > 0) * 1.0
        return 1 - np.tanh(z) ** 2

    L = len(params) // 2
    N = X.shape[0]
    a, z = [X], [None]
    for i in range(1, L + 1):
        z.append(a[i - 1] @ params[f"W{i}"] + params[f"b{i}"])
        a.append(act(z[i]))
    shifted = a[L] - a[L].max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y])
    delta = np.exp(log_p)
    delta[np.arange(N), y] -= 1
    delta = delta / N * act_grad(z[L])
    grads = {}
    for i in range(L, 0, -1):
        grads[f"W{i}"] = a[i - 1].T @ delta
        grads[f"b{i}"] = np.sum(delta, axis=0)
        if i > 1:
            delta = (delta @ params[f"W{i}"].T) * act_grad(z[i - 1])
    return loss, grads


@mistake(
    "classic_bp_grads",
    "the thresholds are treated like biases: dtheta = g and dgamma = e, without the minus sign "
    "of the subtracted threshold",
    ("dtheta", "dgamma", "threshold", "opposite sign"),
)
def classic_bp_grads_threshold_sign(x, y, V, gamma, W, theta):
    b = 1 / (1 + np.exp(-(x @ V - gamma)))
    yhat = 1 / (1 + np.exp(-(b @ W - theta)))
    g = (yhat - y) * yhat * (1 - yhat)
    e = (W @ g) * b * (1 - b)
    return np.outer(x, e), e, np.outer(b, g), g


@mistake(
    "classic_bp_grads",
    "the output delta is g = yhat - y, as with softmax and cross-entropy; with a sigmoid output "
    "and squared error the factor yhat * (1 - yhat) does not cancel",
    ("yhat * (1 - yhat)", "sigmoid'", "output delta", "squared error"),
)
def classic_bp_grads_output_delta_without_slope(x, y, V, gamma, W, theta):
    b = 1 / (1 + np.exp(-(x @ V - gamma)))
    yhat = 1 / (1 + np.exp(-(b @ W - theta)))
    g = yhat - y
    e = (W @ g) * b * (1 - b)
    return np.outer(x, e), -e, np.outer(b, g), -g


@mistake(
    "classic_bp_grads",
    "dV is np.outer(e, x), the transpose (q, d) of x^T e",
    ("dv", "transpose", "outer(x, e)", "(d, q)"),
)
def classic_bp_grads_hidden_weights_transposed(x, y, V, gamma, W, theta):
    b = 1 / (1 + np.exp(-(x @ V - gamma)))
    yhat = 1 / (1 + np.exp(-(b @ W - theta)))
    g = (yhat - y) * yhat * (1 - yhat)
    e = (W @ g) * b * (1 - b)
    return np.outer(e, x), -e, np.outer(b, g), -g


@mistake(
    "hidden_delta",
    "the derivative is written in terms of the activation's output, z * (1 - z) for the "
    "sigmoid and 1 - z**2 for tanh, but evaluated at the pre-activation z, which is not "
    "sigmoid(z) or tanh(z)",
    ("sigmoid(z)", "tanh(z)", "z * (1 - z)", "1 - z**2", "pre-activation"),
)
def hidden_delta_output_formula_at_z(delta_next, W_next, z, activation="sigmoid"):
    if activation == "sigmoid":
        slope = z * (1 - z)
    elif activation == "relu":
        slope = (z > 0) * 1.0
    else:
        slope = 1 - z**2
    return (delta_next @ W_next.T) * slope


@mistake(
    "hidden_delta",
    "the step through the activation is left out: delta_i = delta_{i+1} W_{i+1}^T, which is "
    "dL/da_i, not dL/dz_i, without the factor act'(z_i)",
    ("act'", "activation's derivative", "derivative of the activation", "dl/da"),
)
def hidden_delta_without_activation_derivative(delta_next, W_next, z, activation="sigmoid"):
    return delta_next @ W_next.T


@mistake(
    "hidden_delta",
    "the activation argument is ignored: the sigmoid's derivative is used for relu and tanh "
    "as well",
    ("activation=", "relu", "tanh", "sigmoid's derivative"),
)
def hidden_delta_always_sigmoid(delta_next, W_next, z, activation="sigmoid"):
    s = 1 / (1 + np.exp(-z))
    return (delta_next @ W_next.T) * s * (1 - s)
