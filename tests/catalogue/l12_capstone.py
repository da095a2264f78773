"""Lesson 12: typical wrong answers and correct answers in other styles.

A student of this lesson builds cnn_loss and train from the tools its setup cell gives
(gradlab.tools.conv, .layers, .optim), so most answers here import those tools in their own
body: that keeps each function self-contained, and pasted into the lesson's notebook it runs
exactly as a student's would. A train answer cannot call the notebook's cnn_loss (the test
cell binds only the function under test), so each carries its own loss, built the same way.
"""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "12_capstone"


# ---------------------------------------------------------------- cnn_loss


@wrong("cnn_loss", "the ReLU after the convolution is missing", "missing term")
def cnn_loss_without_the_conv_relu(params, X, y=None):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    a1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    pooled, pool_cache = max_pool_forward_fast(a1, pool_param)
    a2, cache2 = affine_forward(pooled.reshape(len(X), -1), params["W2"], params["b2"])
    h2, relu_cache = relu_forward(a2)
    scores, cache3 = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
    dflat, grads["W2"], grads["b2"] = affine_backward(relu_backward(dh2, relu_cache), cache2)
    da1 = max_pool_backward_fast(dflat.reshape(pooled.shape), pool_cache)
    _, grads["W1"], grads["b1"] = conv_backward_fast(da1, conv_cache)
    return loss, grads


@wrong("cnn_loss", "flattened in the order (N, H, W, F)", "transpose")
def cnn_loss_channels_last(params, X, y=None):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    a1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    h1, relu1_cache = relu_forward(a1)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    pooled, pool_cache = max_pool_forward_fast(h1, pool_param)
    flat = pooled.transpose(0, 2, 3, 1).reshape(len(X), -1)  # the layout of TensorFlow images
    a2, cache2 = affine_forward(flat, params["W2"], params["b2"])
    h2, relu2_cache = relu_forward(a2)
    scores, cache3 = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
    dflat, grads["W2"], grads["b2"] = affine_backward(relu_backward(dh2, relu2_cache), cache2)
    N, F, H, W = pooled.shape
    dpooled = dflat.reshape(N, H, W, F).transpose(0, 3, 1, 2)
    dh1 = max_pool_backward_fast(dpooled, pool_cache)
    _, grads["W1"], grads["b1"] = conv_backward_fast(relu_backward(dh1, relu1_cache), conv_cache)
    return loss, grads


@wrong("cnn_loss", "the backward pass skips the ReLU after the first affine layer", "missing term")
def cnn_loss_backward_skips_the_hidden_relu(params, X, y=None):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    a1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    h1, relu1_cache = relu_forward(a1)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    pooled, pool_cache = max_pool_forward_fast(h1, pool_param)
    a2, cache2 = affine_forward(pooled.reshape(len(X), -1), params["W2"], params["b2"])
    h2, _ = relu_forward(a2)
    scores, cache3 = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
    dflat, grads["W2"], grads["b2"] = affine_backward(dh2, cache2)
    dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), pool_cache)
    _, grads["W1"], grads["b1"] = conv_backward_fast(relu_backward(dh1, relu1_cache), conv_cache)
    return loss, grads


@wrong("cnn_loss", "not their softmax", "formula")
def cnn_loss_returns_probabilities(params, X, y=None):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    a1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    h1, relu1_cache = relu_forward(a1)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    pooled, pool_cache = max_pool_forward_fast(h1, pool_param)
    a2, cache2 = affine_forward(pooled.reshape(len(X), -1), params["W2"], params["b2"])
    h2, relu2_cache = relu_forward(a2)
    scores, cache3 = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
    dflat, grads["W2"], grads["b2"] = affine_backward(relu_backward(dh2, relu2_cache), cache2)
    dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), pool_cache)
    _, grads["W1"], grads["b1"] = conv_backward_fast(relu_backward(dh1, relu1_cache), conv_cache)
    return loss, grads


@wrong("cnn_loss", "loss is the expected value times 4 = N", "factor")
def cnn_loss_summed_over_the_batch(params, X, y=None):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
    )

    a1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    h1, relu1_cache = relu_forward(a1)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    pooled, pool_cache = max_pool_forward_fast(h1, pool_param)
    a2, cache2 = affine_forward(pooled.reshape(len(X), -1), params["W2"], params["b2"])
    h2, relu2_cache = relu_forward(a2)
    scores, cache3 = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    loss = -log_p[rows, y].sum()  # a sum over the batch, not the mean
    dscores = np.exp(log_p)
    dscores[rows, y] -= 1
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
    dflat, grads["W2"], grads["b2"] = affine_backward(relu_backward(dh2, relu2_cache), cache2)
    dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), pool_cache)
    _, grads["W1"], grads["b1"] = conv_backward_fast(relu_backward(dh1, relu1_cache), conv_cache)
    return loss, grads


@wrong("cnn_loss", "every entry of a pooling window got the window's gradient", "formula")
def cnn_loss_pool_gradient_to_every_entry(params, X, y=None):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    a1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    h1, relu1_cache = relu_forward(a1)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    pooled, _ = max_pool_forward_fast(h1, pool_param)
    a2, cache2 = affine_forward(pooled.reshape(len(X), -1), params["W2"], params["b2"])
    h2, relu2_cache = relu_forward(a2)
    scores, cache3 = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
    dflat, grads["W2"], grads["b2"] = affine_backward(relu_backward(dh2, relu2_cache), cache2)
    dh1 = dflat.reshape(pooled.shape).repeat(2, axis=2).repeat(2, axis=3)  # upsampled
    _, grads["W1"], grads["b1"] = conv_backward_fast(relu_backward(dh1, relu1_cache), conv_cache)
    return loss, grads


@wrong("cnn_loss", "grads must have the keys of params", "type")
def cnn_loss_names_the_gradients_differently(params, X, y=None):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    a1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    h1, relu1_cache = relu_forward(a1)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    pooled, pool_cache = max_pool_forward_fast(h1, pool_param)
    a2, cache2 = affine_forward(pooled.reshape(len(X), -1), params["W2"], params["b2"])
    h2, relu2_cache = relu_forward(a2)
    scores, cache3 = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    dh2, dW3, db3 = affine_backward(dscores, cache3)
    dflat, dW2, db2 = affine_backward(relu_backward(dh2, relu2_cache), cache2)
    dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), pool_cache)
    _, dW1, db1 = conv_backward_fast(relu_backward(dh1, relu1_cache), conv_cache)
    return loss, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}


@right("cnn_loss")
def cnn_loss_in_plain_numpy(params, X, y=None, reg=0.0):
    """Every layer written out with NumPy alone: the student's own layers swapped in."""
    N = X.shape[0]
    W1, b1 = params["W1"], params["b1"]
    F = W1.shape[0]
    x_pad = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(x_pad, (3, 3), axis=(2, 3))
    a1 = np.einsum("ncijpq,fcpq->nfij", windows, W1) + b1[None, :, None, None]
    h1 = np.maximum(a1, 0)
    blocks = h1.reshape(N, F, 4, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, F, 4, 4, 4)
    first_max = blocks.argmax(axis=-1)  # the first maximum of each window, row-major
    pooled = blocks.max(axis=-1)
    flat = pooled.reshape(N, -1)
    a2 = flat @ params["W2"] + params["b2"]
    h2 = np.maximum(a2, 0)
    scores = h2 @ params["W3"] + params["b3"]
    if y is None:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(N), y]))
    loss += reg * (
        np.sum(W1 * W1) + np.sum(params["W2"] ** 2) + np.vdot(params["W3"], params["W3"])
    )
    dscores = (p - np.eye(10)[y]) / N
    dh2 = dscores @ params["W3"].T
    da2 = dh2 * (a2 > 0)
    dpooled = (da2 @ params["W2"].T).reshape(N, F, 4, 4)
    dblocks = np.eye(4)[first_max] * dpooled[..., None]
    dh1 = dblocks.reshape(N, F, 4, 4, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, F, 8, 8)
    da1 = dh1 * (a1 > 0)
    grads = {
        "W1": np.einsum("ncijpq,nfij->fcpq", windows, da1) + 2 * reg * W1,
        "b1": da1.sum(axis=(0, 2, 3)),
        "W2": flat.T @ da2 + 2 * reg * params["W2"],
        "b2": da2.sum(axis=0),
        "W3": h2.T @ dscores + 2 * reg * params["W3"],
        "b3": dscores.sum(axis=0),
    }
    return loss, grads


@right("cnn_loss")
def cnn_loss_with_a_list_of_layers(params, X, y=None, reg=0.0):
    """The same network as a list of (forward, backward, parameter names) run in a loop."""
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    layers = [
        (lambda x: conv_forward_fast(x, params["W1"], params["b1"], {"stride": 1, "pad": 1}),
         conv_backward_fast, ("W1", "b1")),
        (relu_forward, relu_backward, ()),
        (lambda x: max_pool_forward_fast(x, pool_param), max_pool_backward_fast, ()),
        (lambda x: (x.reshape(len(x), -1), x.shape), lambda d, shape: d.reshape(shape), ()),
        (lambda x: affine_forward(x, params["W2"], params["b2"]), affine_backward, ("W2", "b2")),
        (relu_forward, relu_backward, ()),
        (lambda x: affine_forward(x, params["W3"], params["b3"]), affine_backward, ("W3", "b3")),
    ]  # fmt: skip
    out, caches = X, []
    for forward, _, _ in layers:
        out, cache = forward(out)
        caches.append(cache)
    if y is None:
        return out
    loss, dout = softmax_loss(out, y)
    grads = {}
    for (_, backward, names), cache in zip(layers[::-1], caches[::-1]):
        result = backward(dout, cache)
        if names:
            dout, grads[names[0]], grads[names[1]] = result
        else:
            dout = result
    for name in ("W1", "W2", "W3"):  # L2 on the weights only: d(reg * w**2)/dw = 2 * reg * w
        loss = loss + reg * np.sum(params[name] ** 2)
        grads[name] = grads[name] + 2 * reg * params[name]
    return loss, grads


@wrong("cnn_loss", "the biases are regularised too", "formula")
def cnn_loss_regularises_the_biases(params, X, y=None, reg=0.0):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    N = X.shape[0]
    z1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    h1, relu1_cache = relu_forward(z1)
    pooled, pool_cache = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
    z2, affine2_cache = affine_forward(pooled.reshape(N, -1), params["W2"], params["b2"])
    h2, relu2_cache = relu_forward(z2)
    scores, affine3_cache = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, affine3_cache)
    dflat, grads["W2"], grads["b2"] = affine_backward(
        relu_backward(dh2, relu2_cache), affine2_cache
    )
    dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), pool_cache)
    _, grads["W1"], grads["b1"] = conv_backward_fast(relu_backward(dh1, relu1_cache), conv_cache)
    for name in params:  # every parameter, the biases included
        loss += reg * np.sum(params[name] ** 2)
        grads[name] = grads[name] + 2 * reg * params[name]
    return loss, grads


@wrong("cnn_loss", "the regularisation gradient is reg * W", "factor")
def cnn_loss_without_the_factor_2(params, X, y=None, reg=0.0):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    N = X.shape[0]
    z1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    h1, relu1_cache = relu_forward(z1)
    pooled, pool_cache = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
    z2, affine2_cache = affine_forward(pooled.reshape(N, -1), params["W2"], params["b2"])
    h2, relu2_cache = relu_forward(z2)
    scores, affine3_cache = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, affine3_cache)
    dflat, grads["W2"], grads["b2"] = affine_backward(
        relu_backward(dh2, relu2_cache), affine2_cache
    )
    dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), pool_cache)
    _, grads["W1"], grads["b1"] = conv_backward_fast(relu_backward(dh1, relu1_cache), conv_cache)
    for name in ("W1", "W2", "W3"):
        loss += reg * np.sum(params[name] ** 2)
        grads[name] = grads[name] + reg * params[name]
    return loss, grads


@wrong("cnn_loss", "the regularisation term is missing from the loss", "missing term")
def cnn_loss_regularises_the_gradients_only(params, X, y=None, reg=0.0):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    N = X.shape[0]
    z1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    h1, relu1_cache = relu_forward(z1)
    pooled, pool_cache = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
    z2, affine2_cache = affine_forward(pooled.reshape(N, -1), params["W2"], params["b2"])
    h2, relu2_cache = relu_forward(z2)
    scores, affine3_cache = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, affine3_cache)
    dflat, grads["W2"], grads["b2"] = affine_backward(
        relu_backward(dh2, relu2_cache), affine2_cache
    )
    dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), pool_cache)
    _, grads["W1"], grads["b1"] = conv_backward_fast(relu_backward(dh1, relu1_cache), conv_cache)
    for name in ("W1", "W2", "W3"):
        grads[name] = grads[name] + 2 * reg * params[name]
    return loss, grads


@wrong("cnn_loss", "0.5 * reg * sum(W**2) (with gradient reg * W), cs231n's", "formula")
def cnn_loss_with_half_the_penalty(params, X, y=None, reg=0.0):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    N = X.shape[0]
    z1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
    h1, relu1_cache = relu_forward(z1)
    pooled, pool_cache = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
    z2, affine2_cache = affine_forward(pooled.reshape(N, -1), params["W2"], params["b2"])
    h2, relu2_cache = relu_forward(z2)
    scores, affine3_cache = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, affine3_cache)
    dflat, grads["W2"], grads["b2"] = affine_backward(
        relu_backward(dh2, relu2_cache), affine2_cache
    )
    dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), pool_cache)
    _, grads["W1"], grads["b1"] = conv_backward_fast(relu_backward(dh1, relu1_cache), conv_cache)
    for name in ("W1", "W2", "W3"):
        loss += 0.5 * reg * np.sum(params[name] ** 2)
        grads[name] = grads[name] + reg * params[name]
    return loss, grads


# ---------------------------------------------------------------- train
# Each answer carries the same loss, built from the tools, and one flaw in its loop.


@wrong("train", "Adam's step counter t restarts every epoch", "formula")
def train_restarts_t_every_epoch(params, data, epochs, batch_size, lr, seed):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )
    from gradlab.tools.optim import adam_step

    def loss_of(p, X, y=None):
        a1, c1 = conv_forward_fast(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
        h1, r1 = relu_forward(a1)
        pooled, cp = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
        a2, c2 = affine_forward(pooled.reshape(len(X), -1), p["W2"], p["b2"])
        h2, r2 = relu_forward(a2)
        scores, c3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        g = {}
        dh2, g["W3"], g["b3"] = affine_backward(dscores, c3)
        dflat, g["W2"], g["b2"] = affine_backward(relu_backward(dh2, r2), c2)
        dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), cp)
        _, g["W1"], g["b1"] = conv_backward_fast(relu_backward(dh1, r1), c1)
        return loss, g

    X_train, y_train, X_val, y_val = data
    params = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(w) for k, w in params.items()}
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        losses = []
        for t, start in enumerate(range(0, len(order), batch_size), start=1):
            batch = order[start : start + batch_size]
            loss, grads = loss_of(params, X_train[batch], y_train[batch])
            losses.append(loss)
            for k in params:
                params[k], m[k], v[k] = adam_step(params[k], grads[k], m[k], v[k], t, lr)
        history["loss"].append(np.mean(losses))
        history["train_acc"].append(np.mean(loss_of(params, X_train).argmax(axis=1) == y_train))
        history["val_acc"].append(np.mean(loss_of(params, X_val).argmax(axis=1) == y_val))
    return params, history


@wrong("train", "every epoch visits the images in the same order", "formula")
def train_makes_a_new_generator_every_epoch(params, data, epochs, batch_size, lr, seed):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )
    from gradlab.tools.optim import adam_step

    def loss_of(p, X, y=None):
        a1, c1 = conv_forward_fast(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
        h1, r1 = relu_forward(a1)
        pooled, cp = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
        a2, c2 = affine_forward(pooled.reshape(len(X), -1), p["W2"], p["b2"])
        h2, r2 = relu_forward(a2)
        scores, c3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        g = {}
        dh2, g["W3"], g["b3"] = affine_backward(dscores, c3)
        dflat, g["W2"], g["b2"] = affine_backward(relu_backward(dh2, r2), c2)
        dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), cp)
        _, g["W1"], g["b1"] = conv_backward_fast(relu_backward(dh1, r1), c1)
        return loss, g

    X_train, y_train, X_val, y_val = data
    params = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(w) for k, w in params.items()}
    history = {"loss": [], "train_acc": [], "val_acc": []}
    t = 0
    for _ in range(epochs):
        order = np.random.default_rng(seed).permutation(len(X_train))
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = loss_of(params, X_train[batch], y_train[batch])
            losses.append(loss)
            t += 1
            for k in params:
                params[k], m[k], v[k] = adam_step(params[k], grads[k], m[k], v[k], t, lr)
        history["loss"].append(np.mean(losses))
        history["train_acc"].append(np.mean(loss_of(params, X_train).argmax(axis=1) == y_train))
        history["val_acc"].append(np.mean(loss_of(params, X_val).argmax(axis=1) == y_val))
    return params, history


@wrong("train", "the smaller last batch of each epoch is skipped", "missing term")
def train_drops_the_last_batch(params, data, epochs, batch_size, lr, seed):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )
    from gradlab.tools.optim import adam_step

    def loss_of(p, X, y=None):
        a1, c1 = conv_forward_fast(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
        h1, r1 = relu_forward(a1)
        pooled, cp = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
        a2, c2 = affine_forward(pooled.reshape(len(X), -1), p["W2"], p["b2"])
        h2, r2 = relu_forward(a2)
        scores, c3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        g = {}
        dh2, g["W3"], g["b3"] = affine_backward(dscores, c3)
        dflat, g["W2"], g["b2"] = affine_backward(relu_backward(dh2, r2), c2)
        dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), cp)
        _, g["W1"], g["b1"] = conv_backward_fast(relu_backward(dh1, r1), c1)
        return loss, g

    X_train, y_train, X_val, y_val = data
    params = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(w) for k, w in params.items()}
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    t = 0
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        losses = []
        for b in range(len(order) // batch_size):  # whole batches only
            batch = order[b * batch_size : (b + 1) * batch_size]
            loss, grads = loss_of(params, X_train[batch], y_train[batch])
            losses.append(loss)
            t += 1
            for k in params:
                params[k], m[k], v[k] = adam_step(params[k], grads[k], m[k], v[k], t, lr)
        history["loss"].append(np.mean(losses))
        history["train_acc"].append(np.mean(loss_of(params, X_train).argmax(axis=1) == y_train))
        history["val_acc"].append(np.mean(loss_of(params, X_val).argmax(axis=1) == y_val))
    return params, history


@wrong("train", "the parameters moved by plain gradient descent", "formula")
def train_with_sgd(params, data, epochs, batch_size, lr, seed):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    def loss_of(p, X, y=None):
        a1, c1 = conv_forward_fast(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
        h1, r1 = relu_forward(a1)
        pooled, cp = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
        a2, c2 = affine_forward(pooled.reshape(len(X), -1), p["W2"], p["b2"])
        h2, r2 = relu_forward(a2)
        scores, c3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        g = {}
        dh2, g["W3"], g["b3"] = affine_backward(dscores, c3)
        dflat, g["W2"], g["b2"] = affine_backward(relu_backward(dh2, r2), c2)
        dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), cp)
        _, g["W1"], g["b1"] = conv_backward_fast(relu_backward(dh1, r1), c1)
        return loss, g

    X_train, y_train, X_val, y_val = data
    params = {k: v.copy() for k, v in params.items()}
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = loss_of(params, X_train[batch], y_train[batch])
            losses.append(loss)
            params = {k: params[k] - lr * grads[k] for k in params}
        history["loss"].append(np.mean(losses))
        history["train_acc"].append(np.mean(loss_of(params, X_train).argmax(axis=1) == y_train))
        history["val_acc"].append(np.mean(loss_of(params, X_val).argmax(axis=1) == y_val))
    return params, history


@wrong("train", "a bias correction 1 - beta**t, for one, is 0 at t = 0", "instability")
def train_counts_t_from_zero(params, data, epochs, batch_size, lr, seed):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )
    from gradlab.tools.optim import adam_step

    def loss_of(p, X, y=None):
        a1, c1 = conv_forward_fast(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
        h1, r1 = relu_forward(a1)
        pooled, cp = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
        a2, c2 = affine_forward(pooled.reshape(len(X), -1), p["W2"], p["b2"])
        h2, r2 = relu_forward(a2)
        scores, c3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        g = {}
        dh2, g["W3"], g["b3"] = affine_backward(dscores, c3)
        dflat, g["W2"], g["b2"] = affine_backward(relu_backward(dh2, r2), c2)
        dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), cp)
        _, g["W1"], g["b1"] = conv_backward_fast(relu_backward(dh1, r1), c1)
        return loss, g

    X_train, y_train, X_val, y_val = data
    params = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(w) for k, w in params.items()}
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    t = 0
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = loss_of(params, X_train[batch], y_train[batch])
            losses.append(loss)
            for k in params:
                params[k], m[k], v[k] = adam_step(params[k], grads[k], m[k], v[k], t, lr)
            t += 1  # counted after the step: the first step has t = 0
        history["loss"].append(np.mean(losses))
        history["train_acc"].append(np.mean(loss_of(params, X_train).argmax(axis=1) == y_train))
        history["val_acc"].append(np.mean(loss_of(params, X_val).argmax(axis=1) == y_val))
    return params, history


@wrong("train", "that is the loss of each epoch's last batch", "formula")
def train_records_the_last_batch_loss(params, data, epochs, batch_size, lr, seed):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )
    from gradlab.tools.optim import adam_step

    def loss_of(p, X, y=None):
        a1, c1 = conv_forward_fast(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
        h1, r1 = relu_forward(a1)
        pooled, cp = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
        a2, c2 = affine_forward(pooled.reshape(len(X), -1), p["W2"], p["b2"])
        h2, r2 = relu_forward(a2)
        scores, c3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        g = {}
        dh2, g["W3"], g["b3"] = affine_backward(dscores, c3)
        dflat, g["W2"], g["b2"] = affine_backward(relu_backward(dh2, r2), c2)
        dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), cp)
        _, g["W1"], g["b1"] = conv_backward_fast(relu_backward(dh1, r1), c1)
        return loss, g

    X_train, y_train, X_val, y_val = data
    params = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(w) for k, w in params.items()}
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    t = 0
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = loss_of(params, X_train[batch], y_train[batch])
            t += 1
            for k in params:
                params[k], m[k], v[k] = adam_step(params[k], grads[k], m[k], v[k], t, lr)
        history["loss"].append(loss)
        history["train_acc"].append(np.mean(loss_of(params, X_train).argmax(axis=1) == y_train))
        history["val_acc"].append(np.mean(loss_of(params, X_val).argmax(axis=1) == y_val))
    return params, history


@wrong("train", "modified its input `params` in place", "modified input")
def train_updates_the_input_params(params, data, epochs, batch_size, lr, seed):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )
    from gradlab.tools.optim import adam_step

    def loss_of(p, X, y=None):
        a1, c1 = conv_forward_fast(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
        h1, r1 = relu_forward(a1)
        pooled, cp = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
        a2, c2 = affine_forward(pooled.reshape(len(X), -1), p["W2"], p["b2"])
        h2, r2 = relu_forward(a2)
        scores, c3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        g = {}
        dh2, g["W3"], g["b3"] = affine_backward(dscores, c3)
        dflat, g["W2"], g["b2"] = affine_backward(relu_backward(dh2, r2), c2)
        dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), cp)
        _, g["W1"], g["b1"] = conv_backward_fast(relu_backward(dh1, r1), c1)
        return loss, g

    X_train, y_train, X_val, y_val = data
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(w) for k, w in params.items()}
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    t = 0
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = loss_of(params, X_train[batch], y_train[batch])
            losses.append(loss)
            t += 1
            for k in params:  # writes the new arrays into the caller's dict
                params[k], m[k], v[k] = adam_step(params[k], grads[k], m[k], v[k], t, lr)
        history["loss"].append(np.mean(losses))
        history["train_acc"].append(np.mean(loss_of(params, X_train).argmax(axis=1) == y_train))
        history["val_acc"].append(np.mean(loss_of(params, X_val).argmax(axis=1) == y_val))
    return params, history


@right("train")
def train_with_its_own_adam_and_a_while_loop(params, data, epochs, batch_size, lr, seed):
    """Adam written out, the batches cut by a while loop, the history filled as arrays."""
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )

    def loss_of(p, X, y=None):
        a1, c1 = conv_forward_fast(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
        h1, r1 = relu_forward(a1)
        pooled, cp = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
        a2, c2 = affine_forward(pooled.reshape(len(X), -1), p["W2"], p["b2"])
        h2, r2 = relu_forward(a2)
        scores, c3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        g = {}
        dh2, g["W3"], g["b3"] = affine_backward(dscores, c3)
        dflat, g["W2"], g["b2"] = affine_backward(relu_backward(dh2, r2), c2)
        dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), cp)
        _, g["W1"], g["b1"] = conv_backward_fast(relu_backward(dh1, r1), c1)
        return loss, g

    X_train, y_train, X_val, y_val = data
    state = {
        k: [np.array(w, dtype=float), np.zeros_like(w), np.zeros_like(w)] for k, w in params.items()
    }
    rng = np.random.default_rng(seed)
    history = {"loss": np.zeros(epochs), "train_acc": np.zeros(epochs), "val_acc": np.zeros(epochs)}
    t = 0
    for epoch in range(epochs):
        order = rng.permutation(len(X_train))
        total, count, start = 0.0, 0, 0
        while start < len(order):
            batch = order[start : start + batch_size]
            start += batch_size
            current = {k: s[0] for k, s in state.items()}
            loss, grads = loss_of(current, X_train[batch], y_train[batch])
            total, count, t = total + loss, count + 1, t + 1
            for k, s in state.items():
                s[1] = 0.9 * s[1] + 0.1 * grads[k]
                s[2] = 0.999 * s[2] + 0.001 * grads[k] ** 2
                m_hat, v_hat = s[1] / (1 - 0.9**t), s[2] / (1 - 0.999**t)
                s[0] = s[0] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        trained = {k: s[0] for k, s in state.items()}
        history["loss"][epoch] = total / count
        history["train_acc"][epoch] = np.mean(loss_of(trained, X_train).argmax(axis=1) == y_train)
        history["val_acc"][epoch] = np.mean(loss_of(trained, X_val).argmax(axis=1) == y_val)
    return {k: s[0] for k, s in state.items()}, history


@wrong("train", "m and v are one dict (m = v = {...})", "state")
def train_with_one_dict_for_m_and_v(params, data, epochs, batch_size, lr, seed):
    from gradlab.tools.conv import conv_backward_fast, conv_forward_fast
    from gradlab.tools.layers import (
        affine_backward,
        affine_forward,
        max_pool_backward_fast,
        max_pool_forward_fast,
        relu_backward,
        relu_forward,
        softmax_loss,
    )
    from gradlab.tools.optim import adam_step

    def loss_of(p, X, y=None):
        a1, c1 = conv_forward_fast(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
        h1, r1 = relu_forward(a1)
        pooled, cp = max_pool_forward_fast(h1, {"pool_height": 2, "pool_width": 2, "stride": 2})
        a2, c2 = affine_forward(pooled.reshape(len(X), -1), p["W2"], p["b2"])
        h2, r2 = relu_forward(a2)
        scores, c3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        g = {}
        dh2, g["W3"], g["b3"] = affine_backward(dscores, c3)
        dflat, g["W2"], g["b2"] = affine_backward(relu_backward(dh2, r2), c2)
        dh1 = max_pool_backward_fast(dflat.reshape(pooled.shape), cp)
        _, g["W1"], g["b1"] = conv_backward_fast(relu_backward(dh1, r1), c1)
        return loss, g

    X_train, y_train, X_val, y_val = data
    params = {k: v.copy() for k, v in params.items()}
    m = v = {k: np.zeros_like(w) for k, w in params.items()}  # one dict, two names
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    t = 0
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        losses = []
        for start in range(0, len(order), batch_size):
            t += 1
            batch = order[start : start + batch_size]
            loss, grads = loss_of(params, X_train[batch], y_train[batch])
            losses.append(loss)
            for k in params:
                params[k], m[k], v[k] = adam_step(params[k], grads[k], m[k], v[k], t, lr)
        history["loss"].append(np.mean(losses))
        history["train_acc"].append(np.mean(loss_of(params, X_train).argmax(axis=1) == y_train))
        history["val_acc"].append(np.mean(loss_of(params, X_val).argmax(axis=1) == y_val))
    return params, history
