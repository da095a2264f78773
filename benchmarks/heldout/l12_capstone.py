import numpy as np

from benchmarks.heldout import mistake

LESSON = "12_capstone"

# Each cnn_loss below is self-contained: the layers are written inline with NumPy (a 3x3
# convolution with stride 1 and pad 1, a 2x2 max pool with stride 2 whose gradient goes to the
# first maximum of each window), so that only the one deliberate mistake differs.


@mistake(
    "cnn_loss",
    "the pooled maps are flattened channels-last, pooled.transpose(0, 2, 3, 1).reshape(N, -1), "
    "instead of the contract's row-major (N, F, 4, 4) flatten, so W2's rows meet the wrong "
    "features",
    ("flatten", "reshape(n, -1)", "row-major", "channels-last"),
)
def cnn_loss_flattens_channels_last(params, X, y=None):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N, _, H, W = X.shape
    xp = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    a1 = np.zeros((N, W1.shape[0], H, W)) + b1[None, :, None, None]
    for p in range(3):
        for q in range(3):
            a1 += np.einsum("nchw,fc->nfhw", xp[:, :, p : p + H, q : q + W], W1[:, :, p, q])
    h1 = np.maximum(a1, 0)
    F = h1.shape[1]
    windows = h1.reshape(N, F, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    windows = windows.reshape(N, F, H // 2, W // 2, 4)
    pooled = windows.max(axis=-1)
    flat = pooled.transpose(0, 2, 3, 1).reshape(N, -1)
    a2 = flat @ W2 + b2
    h2 = np.maximum(a2, 0)
    scores = h2 @ W3 + b3
    if y is None:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y])
    dscores = np.exp(log_p)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads = {"W3": h2.T @ dscores, "b3": dscores.sum(axis=0)}
    da2 = (dscores @ W3.T) * (a2 > 0)
    grads["W2"], grads["b2"] = flat.T @ da2, da2.sum(axis=0)
    dpooled = (da2 @ W2.T).reshape(N, H // 2, W // 2, F).transpose(0, 3, 1, 2)
    first = np.argmax(windows, axis=-1)
    dwindows = (np.arange(4) == first[..., None]) * dpooled[..., None]
    dh1 = dwindows.reshape(N, F, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    da1 = dh1.reshape(N, F, H, W) * (a1 > 0)
    dW1 = np.zeros_like(W1)
    for p in range(3):
        for q in range(3):
            dW1[:, :, p, q] = np.einsum("nfhw,nchw->fc", da1, xp[:, :, p : p + H, q : q + W])
    grads["W1"], grads["b1"] = dW1, da1.sum(axis=(0, 2, 3))
    return loss, grads


@mistake(
    "cnn_loss",
    "the max-pool backward copies each window's gradient to all four of its cells (an "
    "upsampling with np.repeat) instead of routing it to the window's maximum",
    ("max pool", "argmax", "routed", "pooling"),
)
def cnn_loss_pool_gradient_to_every_cell(params, X, y=None):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N, _, H, W = X.shape
    xp = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    a1 = np.zeros((N, W1.shape[0], H, W)) + b1[None, :, None, None]
    for p in range(3):
        for q in range(3):
            a1 += np.einsum("nchw,fc->nfhw", xp[:, :, p : p + H, q : q + W], W1[:, :, p, q])
    h1 = np.maximum(a1, 0)
    F = h1.shape[1]
    windows = h1.reshape(N, F, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    pooled = windows.reshape(N, F, H // 2, W // 2, 4).max(axis=-1)
    flat = pooled.reshape(N, -1)
    a2 = flat @ W2 + b2
    h2 = np.maximum(a2, 0)
    scores = h2 @ W3 + b3
    if y is None:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y])
    dscores = np.exp(log_p)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads = {"W3": h2.T @ dscores, "b3": dscores.sum(axis=0)}
    da2 = (dscores @ W3.T) * (a2 > 0)
    grads["W2"], grads["b2"] = flat.T @ da2, da2.sum(axis=0)
    dpooled = (da2 @ W2.T).reshape(pooled.shape)
    dh1 = dpooled.repeat(2, axis=2).repeat(2, axis=3)
    da1 = dh1 * (a1 > 0)
    dW1 = np.zeros_like(W1)
    for p in range(3):
        for q in range(3):
            dW1[:, :, p, q] = np.einsum("nfhw,nchw->fc", da1, xp[:, :, p : p + H, q : q + W])
    grads["W1"], grads["b1"] = dW1, da1.sum(axis=(0, 2, 3))
    return loss, grads


@mistake(
    "cnn_loss",
    "a ReLU is applied after the last dense layer as well, so the scores are clipped at 0 and "
    "the output gradient is masked",
    ("relu on the scores", "last layer", "output layer", "scores are clipped"),
)
def cnn_loss_relu_on_scores(params, X, y=None):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N, _, H, W = X.shape
    xp = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    a1 = np.zeros((N, W1.shape[0], H, W)) + b1[None, :, None, None]
    for p in range(3):
        for q in range(3):
            a1 += np.einsum("nchw,fc->nfhw", xp[:, :, p : p + H, q : q + W], W1[:, :, p, q])
    h1 = np.maximum(a1, 0)
    F = h1.shape[1]
    windows = h1.reshape(N, F, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    windows = windows.reshape(N, F, H // 2, W // 2, 4)
    pooled = windows.max(axis=-1)
    flat = pooled.reshape(N, -1)
    a2 = flat @ W2 + b2
    h2 = np.maximum(a2, 0)
    a3 = h2 @ W3 + b3
    scores = np.maximum(a3, 0)
    if y is None:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y])
    dscores = np.exp(log_p)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    da3 = dscores * (a3 > 0)
    grads = {"W3": h2.T @ da3, "b3": da3.sum(axis=0)}
    da2 = (da3 @ W3.T) * (a2 > 0)
    grads["W2"], grads["b2"] = flat.T @ da2, da2.sum(axis=0)
    dpooled = (da2 @ W2.T).reshape(pooled.shape)
    first = np.argmax(windows, axis=-1)
    dwindows = (np.arange(4) == first[..., None]) * dpooled[..., None]
    dh1 = dwindows.reshape(N, F, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    da1 = dh1.reshape(N, F, H, W) * (a1 > 0)
    dW1 = np.zeros_like(W1)
    for p in range(3):
        for q in range(3):
            dW1[:, :, p, q] = np.einsum("nfhw,nchw->fc", da1, xp[:, :, p : p + H, q : q + W])
    grads["W1"], grads["b1"] = dW1, da1.sum(axis=(0, 2, 3))
    return loss, grads


@mistake(
    "cnn_loss",
    "without labels it returns the softmax probabilities instead of the raw scores of the last "
    "dense layer (the loss and gradients are right)",
    ("probabilities", "y is none", "without labels", "raw scores"),
)
def cnn_loss_returns_probabilities(params, X, y=None):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N, _, H, W = X.shape
    xp = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    a1 = np.zeros((N, W1.shape[0], H, W)) + b1[None, :, None, None]
    for p in range(3):
        for q in range(3):
            a1 += np.einsum("nchw,fc->nfhw", xp[:, :, p : p + H, q : q + W], W1[:, :, p, q])
    h1 = np.maximum(a1, 0)
    F = h1.shape[1]
    windows = h1.reshape(N, F, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    windows = windows.reshape(N, F, H // 2, W // 2, 4)
    pooled = windows.max(axis=-1)
    flat = pooled.reshape(N, -1)
    a2 = flat @ W2 + b2
    h2 = np.maximum(a2, 0)
    scores = h2 @ W3 + b3
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    if y is None:
        return np.exp(log_p)
    loss = -np.mean(log_p[np.arange(N), y])
    dscores = np.exp(log_p)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads = {"W3": h2.T @ dscores, "b3": dscores.sum(axis=0)}
    da2 = (dscores @ W3.T) * (a2 > 0)
    grads["W2"], grads["b2"] = flat.T @ da2, da2.sum(axis=0)
    dpooled = (da2 @ W2.T).reshape(pooled.shape)
    first = np.argmax(windows, axis=-1)
    dwindows = (np.arange(4) == first[..., None]) * dpooled[..., None]
    dh1 = dwindows.reshape(N, F, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    da1 = dh1.reshape(N, F, H, W) * (a1 > 0)
    dW1 = np.zeros_like(W1)
    for p in range(3):
        for q in range(3):
            dW1[:, :, p, q] = np.einsum("nfhw,nchw->fc", da1, xp[:, :, p : p + H, q : q + W])
    grads["W1"], grads["b1"] = dW1, da1.sum(axis=(0, 2, 3))
    return loss, grads


@mistake(
    "train",
    "the Adam step counter t is reset to 0 at the start of every epoch instead of counting "
    "over the whole run, so the large early bias correction is reapplied each epoch",
    ("step counter", "bias correction", "every epoch", "reset"),
)
def train_resets_step_counter_each_epoch(params, data, epochs, batch_size, lr, seed):
    X_train, y_train, X_val, y_val = data
    params = {name: value.copy() for name, value in params.items()}
    m = {name: np.zeros_like(value) for name, value in params.items()}
    v = {name: np.zeros_like(value) for name, value in params.items()}
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    for _ in range(epochs):
        t = 0
        order = rng.permutation(len(X_train))
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = cnn_loss(params, X_train[batch], y_train[batch])  # noqa: F821
            losses.append(loss)
            t += 1  # noqa: SIM113
            for name in params:
                m[name] = 0.9 * m[name] + 0.1 * grads[name]
                v[name] = 0.999 * v[name] + 0.001 * grads[name] ** 2
                m_hat = m[name] / (1 - 0.9**t)
                v_hat = v[name] / (1 - 0.999**t)
                params[name] = params[name] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        history["loss"].append(np.mean(losses))
        train_scores = cnn_loss(params, X_train)  # noqa: F821
        history["train_acc"].append(np.mean(np.argmax(train_scores, axis=1) == y_train))
        val_scores = cnn_loss(params, X_val)  # noqa: F821
        history["val_acc"].append(np.mean(np.argmax(val_scores, axis=1) == y_val))
    return params, history


@mistake(
    "train",
    "the generator is created inside the epoch loop, so every epoch uses the same order of the "
    "training set",
    ("generator", "rng", "same order", "permutation"),
)
def train_reseeds_every_epoch(params, data, epochs, batch_size, lr, seed):
    X_train, y_train, X_val, y_val = data
    params = {name: value.copy() for name, value in params.items()}
    m = {name: np.zeros_like(value) for name, value in params.items()}
    v = {name: np.zeros_like(value) for name, value in params.items()}
    history = {"loss": [], "train_acc": [], "val_acc": []}
    t = 0
    for _ in range(epochs):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(X_train))
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = cnn_loss(params, X_train[batch], y_train[batch])  # noqa: F821
            losses.append(loss)
            t += 1
            for name in params:
                m[name] = 0.9 * m[name] + 0.1 * grads[name]
                v[name] = 0.999 * v[name] + 0.001 * grads[name] ** 2
                m_hat = m[name] / (1 - 0.9**t)
                v_hat = v[name] / (1 - 0.999**t)
                params[name] = params[name] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        history["loss"].append(np.mean(losses))
        train_scores = cnn_loss(params, X_train)  # noqa: F821
        history["train_acc"].append(np.mean(np.argmax(train_scores, axis=1) == y_train))
        val_scores = cnn_loss(params, X_val)  # noqa: F821
        history["val_acc"].append(np.mean(np.argmax(val_scores, axis=1) == y_val))
    return params, history


@mistake(
    "train",
    "the parameters are not copied: the updates are written into the caller's params dict, so "
    "the input params is modified",
    ("copy", "modif", "input params", "in place"),
)
def train_updates_callers_params(params, data, epochs, batch_size, lr, seed):
    X_train, y_train, X_val, y_val = data
    m = {name: np.zeros_like(value) for name, value in params.items()}
    v = {name: np.zeros_like(value) for name, value in params.items()}
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    t = 0
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = cnn_loss(params, X_train[batch], y_train[batch])  # noqa: F821
            losses.append(loss)
            t += 1
            for name in params:
                m[name] = 0.9 * m[name] + 0.1 * grads[name]
                v[name] = 0.999 * v[name] + 0.001 * grads[name] ** 2
                m_hat = m[name] / (1 - 0.9**t)
                v_hat = v[name] / (1 - 0.999**t)
                params[name] = params[name] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        history["loss"].append(np.mean(losses))
        train_scores = cnn_loss(params, X_train)  # noqa: F821
        history["train_acc"].append(np.mean(np.argmax(train_scores, axis=1) == y_train))
        val_scores = cnn_loss(params, X_val)  # noqa: F821
        history["val_acc"].append(np.mean(np.argmax(val_scores, axis=1) == y_val))
    return params, history


@mistake(
    "features_grad",
    "the output gradient is softmax(s) - onehot(y) without the 1/N of the mean loss: the "
    "gradient of the summed loss, N times too large",
    ("1/n", "n times", "batch size", "mean", "sum instead"),
)
def features_grad_without_one_over_n(f, y, W2, b2, W3, b3):
    N = f.shape[0]
    z2 = f @ W2 + b2
    scores = np.maximum(z2, 0) @ W3 + b3
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(N), y] -= 1
    dz2 = (p @ W3.T) * (z2 > 0)
    return dz2 @ W2.T


@mistake(
    "features_grad",
    "the ReLU mask is applied after the product with W2.T, with the features' own sign "
    "(f > 0), instead of before it with the hidden layer's pre-activation (z2 > 0): the mask of "
    "the wrong layer",
    ("mask", "z2 > 0", "wrong layer", "relu"),
)
def features_grad_mask_of_wrong_layer(f, y, W2, b2, W3, b3):
    N = f.shape[0]
    z2 = f @ W2 + b2
    scores = np.maximum(z2, 0) @ W3 + b3
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(N), y] -= 1
    dh2 = (p / N) @ W3.T
    return (dh2 @ W2.T) * (f > 0)


@mistake(
    "features_grad",
    "the output gradient is softmax(s) / N alone: the one-hot of the labels is not subtracted, "
    "so the -1 at each example's true class is missing",
    ("one-hot", "p - y", "label", "true class"),
)
def features_grad_without_onehot(f, y, W2, b2, W3, b3):
    N = f.shape[0]
    z2 = f @ W2 + b2
    scores = np.maximum(z2, 0) @ W3 + b3
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz2 = ((p / N) @ W3.T) * (z2 > 0)
    return dz2 @ W2.T


@mistake(
    "cnn_loss",
    "the loss adds reg * sum(W**2) but the gradient adds reg * W (cs231n's convention for a "
    "penalty of 0.5 * reg * sum(W**2)) instead of its derivative 2 * reg * W",
    ("2 * reg", "factor 2", "factor of 2", "twice", "0.5"),
)
def cnn_loss_penalty_gradient_half(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N, _, H, W = X.shape
    xp = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    a1 = np.zeros((N, W1.shape[0], H, W)) + b1[None, :, None, None]
    for p in range(3):
        for q in range(3):
            a1 += np.einsum("nchw,fc->nfhw", xp[:, :, p : p + H, q : q + W], W1[:, :, p, q])
    h1 = np.maximum(a1, 0)
    F = h1.shape[1]
    windows = h1.reshape(N, F, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    windows = windows.reshape(N, F, H // 2, W // 2, 4)
    pooled = windows.max(axis=-1)
    flat = pooled.reshape(N, -1)
    a2 = flat @ W2 + b2
    h2 = np.maximum(a2, 0)
    scores = h2 @ W3 + b3
    if y is None:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y])
    dscores = np.exp(log_p)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads = {"W3": h2.T @ dscores, "b3": dscores.sum(axis=0)}
    da2 = (dscores @ W3.T) * (a2 > 0)
    grads["W2"], grads["b2"] = flat.T @ da2, da2.sum(axis=0)
    dpooled = (da2 @ W2.T).reshape(pooled.shape)
    first = np.argmax(windows, axis=-1)
    dwindows = (np.arange(4) == first[..., None]) * dpooled[..., None]
    dh1 = dwindows.reshape(N, F, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    da1 = dh1.reshape(N, F, H, W) * (a1 > 0)
    dW1 = np.zeros_like(W1)
    for p in range(3):
        for q in range(3):
            dW1[:, :, p, q] = np.einsum("nfhw,nchw->fc", da1, xp[:, :, p : p + H, q : q + W])
    grads["W1"], grads["b1"] = dW1, da1.sum(axis=(0, 2, 3))
    for k in ("W1", "W2", "W3"):
        loss += reg * np.sum(params[k] ** 2)
        grads[k] = grads[k] + reg * params[k]
    return loss, grads


@mistake(
    "cnn_loss",
    "the L2 penalty is applied to every parameter, biases b1, b2, b3 included, in the loss and "
    "in the gradients, instead of to the weights W1, W2, W3 only",
    ("bias", "b1", "not the biases", "weights only"),
)
def cnn_loss_penalises_biases(params, X, y=None, reg=0.0):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    N, _, H, W = X.shape
    xp = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    a1 = np.zeros((N, W1.shape[0], H, W)) + b1[None, :, None, None]
    for p in range(3):
        for q in range(3):
            a1 += np.einsum("nchw,fc->nfhw", xp[:, :, p : p + H, q : q + W], W1[:, :, p, q])
    h1 = np.maximum(a1, 0)
    F = h1.shape[1]
    windows = h1.reshape(N, F, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    windows = windows.reshape(N, F, H // 2, W // 2, 4)
    pooled = windows.max(axis=-1)
    flat = pooled.reshape(N, -1)
    a2 = flat @ W2 + b2
    h2 = np.maximum(a2, 0)
    scores = h2 @ W3 + b3
    if y is None:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y])
    dscores = np.exp(log_p)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads = {"W3": h2.T @ dscores, "b3": dscores.sum(axis=0)}
    da2 = (dscores @ W3.T) * (a2 > 0)
    grads["W2"], grads["b2"] = flat.T @ da2, da2.sum(axis=0)
    dpooled = (da2 @ W2.T).reshape(pooled.shape)
    first = np.argmax(windows, axis=-1)
    dwindows = (np.arange(4) == first[..., None]) * dpooled[..., None]
    dh1 = dwindows.reshape(N, F, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    da1 = dh1.reshape(N, F, H, W) * (a1 > 0)
    dW1 = np.zeros_like(W1)
    for p in range(3):
        for q in range(3):
            dW1[:, :, p, q] = np.einsum("nfhw,nchw->fc", da1, xp[:, :, p : p + H, q : q + W])
    grads["W1"], grads["b1"] = dW1, da1.sum(axis=(0, 2, 3))
    for k, value in params.items():
        loss += reg * np.sum(value**2)
        grads[k] = grads[k] + 2 * reg * value
    return loss, grads
