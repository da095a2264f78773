"""Lesson 12: the loss and gradients of a small CNN, and its training loop with Adam.

The network of the course contract: conv (W1 (F, 1, 3, 3), b1, stride 1, pad 1) -> relu ->
2 x 2 max pool (stride 2) -> flatten row-major -> affine (W2 (F * 4 * 4, M), b2) -> relu ->
affine (W3 (M, 10), b3) -> mean softmax cross-entropy, on images X (N, 1, 8, 8).

The trusted forward and backward passes are built from the tools the lesson gives (one
source of truth); the expected gradients of `check_cnn_loss` are central differences of the
trusted loss. `check_train` compares a student's training run with the trusted one on a few
real digits: the contract fixes the shuffling, the batches and Adam's state, so that the two
trajectories agree to rounding. Typical wrong versions of both come from the `mistake=`
switches of `cnn_variant` and `train_variant`.
"""

import numpy as np

from gradlab.checking import (
    ONE_EXAMPLE,
    Check,
    CheckFailed,
    Mistake,
    Probe,
    Switch,
    batch_factors,
    calls,
    stdout_only,
)
from gradlab.data.digits import digits
from gradlab.inputs import rng_for
from gradlab.numeric import numerical_gradient
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
from gradlab.tools.softmax import cross_entropy, softmax

CONV_PARAM = {"stride": 1, "pad": 1}
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
HISTORY_KEYS = ("loss", "train_acc", "val_acc")
GAP = 1e-4  # every ReLU input and every gap between a window's two largest values, at least
EPOCH_AXIS = ("epoch",)


# ---------------------------------------------------------------- the network


def init_params(F, M, seed=0, bias_scale=0.0):
    """He-initialised parameters of the contract's CNN with F filters and M hidden units,
    drawn as the lesson's init_params draws them (the weights W1, W2, W3 first).

    bias_scale: the standard deviation of the biases, drawn after the weights (0: all zero).
    """
    rng = rng_for(seed)
    params = {
        "W1": rng.normal(scale=np.sqrt(2 / 9), size=(F, 1, 3, 3)),
        "W2": rng.normal(scale=np.sqrt(2 / (16 * F)), size=(16 * F, M)),
        "W3": rng.normal(scale=np.sqrt(1 / M), size=(M, 10)),
    }
    for name, size in (("b1", F), ("b2", M), ("b3", 10)):
        params[name] = rng.normal(scale=bias_scale, size=size) if bias_scale else np.zeros(size)
    return {name: params[name] for name in PARAM_NAMES}


def _average_pool(h):
    N, F, H, W = h.shape
    return h.reshape(N, F, H // 2, 2, W // 2, 2).mean(axis=(3, 5))


WEIGHT_NAMES = ("W1", "W2", "W3")  # the L2 regularisation applies to these only


def cnn_variant(params, X, y=None, reg=0.0, mistake=None):
    """The contract's cnn_loss, or (with `mistake`) what a typical wrong version returns.

    The loss is the mean cross-entropy plus reg * sum(W**2) for W1, W2 and W3, whose gradients
    get 2 * reg * W.

    Forward mistakes: "no_conv_relu", "no_hidden_relu", "channels_last" (flattened in the
    order (N, H, W, F)), "average_pool", "probabilities" (softmax of the scores returned).
    Backward mistakes: "no_conv_relu_backward", "no_hidden_relu_backward" (a ReLU's mask left
    out of the backward pass only), "pool_to_all" (every entry of a window gets its gradient),
    "pool_average_backward" (the gradient of average pooling).
    Regularisation mistakes: the keys of REG_MISTAKES.
    """
    N = X.shape[0]
    a1, conv_cache = conv_forward_fast(X, params["W1"], params["b1"], CONV_PARAM)
    h1, relu1_cache = (a1, None) if mistake == "no_conv_relu" else relu_forward(a1)
    if mistake == "average_pool":
        pooled = _average_pool(h1)
    else:
        pooled, pool_cache = max_pool_forward_fast(h1, POOL_PARAM)
    flat = pooled.transpose(0, 2, 3, 1) if mistake == "channels_last" else pooled
    a2, affine2_cache = affine_forward(flat.reshape(N, -1), params["W2"], params["b2"])
    h2, relu2_cache = (a2, None) if mistake == "no_hidden_relu" else relu_forward(a2)
    scores, affine3_cache = affine_forward(h2, params["W3"], params["b3"])
    if y is None:
        return softmax(scores) if mistake == "probabilities" else scores

    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, affine3_cache)
    skip_mask = mistake in ("no_hidden_relu", "no_hidden_relu_backward")
    da2 = dh2 if skip_mask else relu_backward(dh2, relu2_cache)
    dflat, grads["W2"], grads["b2"] = affine_backward(da2, affine2_cache)
    dpooled = dflat.reshape(pooled.shape)
    if mistake == "pool_to_all":
        dh1 = dpooled.repeat(2, axis=2).repeat(2, axis=3)
    elif mistake in ("pool_average_backward", "average_pool"):
        dh1 = dpooled.repeat(2, axis=2).repeat(2, axis=3) / 4
    else:
        dh1 = max_pool_backward_fast(dpooled, pool_cache)
    skip_mask = mistake in ("no_conv_relu", "no_conv_relu_backward")
    da1 = dh1 if skip_mask else relu_backward(dh1, relu1_cache)
    _, grads["W1"], grads["b1"] = conv_backward_fast(da1, conv_cache)
    loss, grads = _regularised(params, loss, grads, reg, mistake)
    return loss, {name: grads[name] for name in PARAM_NAMES}


def _regularised(params, loss, grads, reg, mistake=None):
    """The loss and grads with the L2 term of the weights added, right or with one of
    REG_MISTAKES."""
    names = PARAM_NAMES if mistake == "reg_biases" else WEIGHT_NAMES
    loss_factor = 0.5 if mistake == "reg_half" else 1.0
    grad_factor = 1.0 if mistake in ("reg_half", "reg_no_2") else 2.0
    if mistake != "reg_not_in_loss":
        loss = loss + loss_factor * reg * sum(np.sum(params[name] ** 2) for name in names)
    if mistake != "reg_not_in_grads":
        grads = {
            k: g + grad_factor * reg * params[k] if k in names else g for k, g in grads.items()
        }
    return loss, grads


def cnn_loss(params, X, y=None, reg=0.0):
    """Trusted loss and gradients of the contract's CNN, or its scores (N, 10) without y."""
    return cnn_variant(params, X, y, reg)


def cnn_loss_value(params, X, y, reg=0.0):
    """The trusted loss alone, from the forward pass (no backward pass)."""
    penalty = reg * sum(np.sum(params[name] ** 2) for name in WEIGHT_NAMES)
    return cross_entropy(cnn_loss(params, X), y) + penalty


def cnn_numerical_grads(params, X, y, reg=0.0):
    """Central differences of the trusted loss with respect to every parameter."""
    grads = {}
    for name in PARAM_NAMES:

        def loss_of(value, name=name):
            return cnn_loss_value({**params, name: value}, X, y, reg)

        grads[name] = numerical_gradient(loss_of, params[name])
    return grads


def _safe(params, X):
    """Whether every kink is at least GAP away: ReLU inputs, and the two largest values of
    every pooling window whose maximum passes the ReLU."""
    a1, _ = conv_forward_fast(X, params["W1"], params["b1"], CONV_PARAM)
    h1 = np.maximum(a1, 0)
    N, F, H, W = h1.shape
    windows = h1.reshape(N, F, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    top_two = np.sort(windows.reshape(N, F, H // 2, W // 2, 4), axis=-1)[..., -2:]
    ties = (top_two[..., 1] > 0) & (top_two[..., 1] - top_two[..., 0] < GAP)
    pooled, _ = max_pool_forward_fast(h1, POOL_PARAM)
    a2 = pooled.reshape(N, -1) @ params["W2"] + params["b2"]
    return np.min(np.abs(a1)) >= GAP and not ties.any() and np.min(np.abs(a2)) >= GAP


def cnn_problem(N, F, M, seed=0):
    """(params, X, y) for a gradient check: random images and parameters with every ReLU
    input and every pooling tie at least GAP from its kink (drawn again until they are)."""
    rng = rng_for(seed)
    for attempt in range(1000):
        params = init_params(F, M, seed=seed * 1000 + attempt, bias_scale=0.1)
        X = rng.normal(size=(N, 1, 8, 8))
        if _safe(params, X):
            return params, X, rng.integers(10, size=N)
    raise RuntimeError("no kink-free CNN problem found")  # pragma: no cover


# Each typical wrong forward pass: (kind, what is wrong and what to do instead).
FORWARD_MISTAKES = {
    "no_conv_relu": (
        "missing term",
        "the ReLU after the convolution is missing: conv -> relu -> max pool",
    ),
    "no_hidden_relu": (
        "missing term",
        "the ReLU after the first affine layer is missing: affine -> relu -> affine",
    ),
    "channels_last": (
        "transpose",
        "the pooled maps were flattened in the order (N, H, W, F): the contract flattens the "
        "(N, F, 4, 4) array as it is, pooled.reshape(N, -1)",
    ),
    "average_pool": (
        "formula",
        "each window was averaged: max pooling keeps each 2 x 2 window's largest value",
    ),
    "probabilities": (
        "formula",
        "without y, return the scores (the last affine layer's output), not their softmax",
    ),
}

# Each typical wrong backward pass (with a right forward): (kind, what is wrong and what to do).
BACKWARD_MISTAKES = {
    "no_hidden_relu_backward": (
        "missing term",
        "the backward pass skips the ReLU after the first affine layer: multiply by its mask "
        "(relu_backward) before the affine backward",
    ),
    "no_conv_relu_backward": (
        "missing term",
        "the backward pass skips the ReLU after the convolution: multiply by its mask "
        "(relu_backward with the ReLU's own cache) before the convolution's backward",
    ),
    "pool_to_all": (
        "formula",
        "every entry of a pooling window got the window's gradient: max pooling routes it to "
        "the window's maximum only (Lesson 07)",
    ),
    "pool_average_backward": (
        "formula",
        "the pooling backward shares each window's gradient equally, as average pooling "
        "does: max pooling routes it to the window's maximum only (Lesson 07)",
    ),
}


# Each typical wrong regularisation: (kind, what is wrong and what to do instead).
REG_MISTAKES = {
    "reg_biases": (
        "formula",
        "the biases are regularised too: the L2 term is reg * sum(W**2) over the weights W1, "
        "W2 and W3 only, and the biases' gradients get no regularisation term",
    ),
    "reg_no_2": (
        "factor",
        "the regularisation gradient is reg * W: the derivative of reg * sum(W**2) is 2 * reg * W",
    ),
    "reg_half": (
        "formula",
        "the regularisation is 0.5 * reg * sum(W**2) (with gradient reg * W), cs231n's "
        "convention: the contract's is reg * sum(W**2), with gradient 2 * reg * W",
    ),
    "reg_not_in_loss": (
        "missing term",
        "the regularisation term is missing from the loss: add reg * sum(W**2) over W1, W2 "
        "and W3 to the mean cross-entropy",
    ),
    "reg_not_in_grads": (
        "missing term",
        "the regularisation term is missing from the gradient: add 2 * reg * W to the "
        "gradient of each weight W1, W2, W3",
    ),
}


def _check_grads_dict(grads):
    if not isinstance(grads, dict):
        raise CheckFailed(f"grads is a {type(grads).__name__}: return a dict like params", "type")
    missing = [k for k in PARAM_NAMES if k not in grads]
    extra = [k for k in grads if k not in PARAM_NAMES]
    if missing or extra:
        raise CheckFailed(
            f"grads must have the keys of params: missing {missing}, unexpected {extra}", "type"
        )


@stdout_only
def check_cnn_loss(cnn_loss_fn, N=4, F=3, M=5, seed=0, reg=None):
    """cnn_loss(params, X) -> scores; cnn_loss(params, X, y[, reg]) -> (loss, grads), the
    gradients against central differences, from the output layer down. reg=None calls the
    function without reg, so that its default must be 0."""
    params, X, y = cnn_problem(N, F, M, seed)
    used_reg = 0.0 if reg is None else reg
    forward = [
        Mistake(cnn_variant(params, X, mistake=name), message, kind)
        for name, (kind, message) in FORWARD_MISTAKES.items()
    ]
    variants = BACKWARD_MISTAKES | (REG_MISTAKES if used_reg else {})
    wrong = {name: cnn_variant(params, X, y, used_reg, name) for name in variants}
    backward = {name: (kind, message, wrong[name][1]) for name, (kind, message) in variants.items()}
    loss_mistakes = [
        Mistake(wrong[name][0], message, kind)
        for name, (kind, message) in variants.items()
        if name in REG_MISTAKES
    ]
    expected = cnn_numerical_grads(params, X, y, used_reg)
    expected_loss = cnn_loss(params, X, y, used_reg)[0]
    case = f"X {X.shape}, W1 {params['W1'].shape}, M = {M} hidden units"
    case += "" if reg is None else f", reg = {reg}"
    without_reg = reg is None
    args = (params, X, y) if without_reg else (params, X, y, reg)
    axes = {"W1": "F 1 3 3", "b1": "F", "W2": "F*16 M", "b2": "M", "W3": "M 10", "b3": "10"}
    probe = Probe(
        {
            "X": (X, "N 1 8 8"),
            "y": (y, "N"),
            "reg": (used_reg, ""),
            **{k: (params[k], axes[k]) for k in PARAM_NAMES},
        },
        lambda X, y, reg, **params: (params, X, y) if without_reg else (params, X, y, reg),
        cnn_loss,
        ("loss", "grads"),
        switches=(
            ONE_EXAMPLE,
            *([Switch("reg = 0", "the regularisation term is wrong", {"reg": 0.0})] if reg else []),
        ),
        valid=lambda X, y, reg, **params: _safe(params, X) and y.max() < 10,
    )
    with Check("cnn_loss", cnn_loss_fn, case, probe) as check:
        scores = check.call(params, X)
        check.compare("the scores (y = None)", scores, cnn_loss(params, X), mistakes=forward)
        loss, grads = check.unpack(check.call(*args), ("loss", "grads"), (expected_loss, None))
        check.compare(
            "loss",
            loss,
            expected_loss,
            factors=batch_factors(N) if not used_reg else (),
            mistakes=loss_mistakes,
        )
        _check_grads_dict(grads)
        for name in ("W3", "b3", "W2", "b2", "W1", "b1"):
            mistakes = [
                Mistake(wrong[name], message, kind) for kind, message, wrong in backward.values()
            ]
            check.compare(
                f"grads['{name}']",
                grads[name],
                expected[name],
                factors=batch_factors(N) if not used_reg else (),
                mistakes=mistakes,
            )


# ---------------------------------------------------------------- training


def accuracy(params, X, y, loss_fn=cnn_loss):
    """The fraction of images whose largest score is their label."""
    return float(np.mean(np.argmax(loss_fn(params, X), axis=1) == y))


def train_variant(params, data, epochs, batch_size, lr, seed, mistake=None):
    """The contract's training loop, or (with `mistake`) a typical wrong version of it.

    Mistakes: "t_per_epoch" (Adam's t restarts every epoch), "rng_per_epoch" (a new generator
    every epoch: the same order each time), "no_shuffle", "drop_last" (the smaller last batch
    is skipped), "unpaired" (images shuffled, labels not), "last_loss" (the epoch's loss is its
    last batch's), "weighted" (batch losses weighted by batch size), "sgd" (plain gradient
    descent instead of Adam), "t_from_0" (Adam's first step has t = 0), "aliased" (m and v
    are one dict, m = v = {...}, so that each update of one overwrites the other).
    """
    X_train, y_train, X_val, y_val = data
    params = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    m = {name: np.zeros_like(value) for name, value in params.items()}
    v = m if mistake == "aliased" else {name: np.zeros_like(w) for name, w in params.items()}
    rng = np.random.default_rng(seed)
    history = {key: [] for key in HISTORY_KEYS}
    t = 0
    for _ in range(epochs):
        if mistake == "rng_per_epoch":
            rng = np.random.default_rng(seed)
        if mistake == "t_per_epoch":
            t = 0
        order = (
            np.arange(len(X_train)) if mistake == "no_shuffle" else rng.permutation(len(X_train))
        )
        losses, sizes = [], []
        for start in range(0, len(X_train), batch_size):
            batch = order[start : start + batch_size]
            if mistake == "drop_last" and len(batch) < batch_size:
                break
            labels = (
                y_train[start : start + batch_size] if mistake == "unpaired" else y_train[batch]
            )
            loss, grads = cnn_loss(params, X_train[batch], labels)
            losses.append(loss)
            sizes.append(len(batch))
            step = t if mistake == "t_from_0" else t + 1
            t += 1
            for name in params:
                if mistake == "sgd":
                    params[name] = params[name] - lr * grads[name]
                else:
                    params[name], m[name], v[name] = adam_step(
                        params[name], grads[name], m[name], v[name], step, lr
                    )
        if mistake == "last_loss":
            history["loss"].append(float(losses[-1]))
        elif mistake == "weighted":
            history["loss"].append(float(np.average(losses, weights=sizes)))
        else:
            history["loss"].append(float(np.mean(losses)))
        history["train_acc"].append(accuracy(params, X_train, y_train))
        history["val_acc"].append(accuracy(params, X_val, y_val))
    return params, history


def train(params, data, epochs, batch_size, lr, seed):
    """Trusted minibatch Adam training of the contract's CNN: (params, history)."""
    return train_variant(params, data, epochs, batch_size, lr, seed)


# Each typical wrong training loop: (kind, what is wrong and what to do instead).
TRAIN_MISTAKES = {
    "t_per_epoch": (
        "formula",
        "Adam's step counter t restarts every epoch: count t from 1 over all steps of the run",
    ),
    "rng_per_epoch": (
        "formula",
        "every epoch visits the images in the same order: create the generator "
        "rng = np.random.default_rng(seed) once, before the epochs",
    ),
    "no_shuffle": (
        "missing term",
        "the images are not shuffled: each epoch, order = rng.permutation(len(X_train))",
    ),
    "drop_last": (
        "missing term",
        "the smaller last batch of each epoch is skipped: batches are consecutive slices of "
        "order, and the last one may be smaller",
    ),
    "unpaired": (
        "formula",
        "the labels are not shuffled with the images: index both with the same batch, "
        "X_train[batch] and y_train[batch]",
    ),
    "last_loss": (
        "formula",
        "that is the loss of each epoch's last batch: record the mean of all the epoch's "
        "batch losses",
    ),
    "weighted": (
        "formula",
        "the batch losses were weighted by batch size: the contract's epoch loss is the plain "
        "mean of the epoch's batch losses",
    ),
    "sgd": (
        "formula",
        "the parameters moved by plain gradient descent (w - lr * dw): train with Adam, "
        "adam_step, one m and one v per parameter",
    ),
    "aliased": (
        "state",
        "m and v are one dict (m = v = {...}), so each update of one overwrites the other: "
        "give Adam's two moments a dict each",
    ),
}

# train calls the student's own cnn_loss: a wrong one shows up here first as a wrong loss
TRAIN_NAN_HINT = (
    "find the first step where a parameter, an m or a v stops being finite (np.isfinite): "
    "a bias correction 1 - beta**t, for one, is 0 at t = 0 (t counts from 1)"
)


def train_problem(n_train, n_val, F, M, seed):
    """A few real digits for a training check, and initial parameters with nonzero biases
    (so that no ReLU input of a blank window sits on the kink at 0)."""
    X_train, y_train, X_val, y_val, _, _ = digits()
    data = (X_train[:n_train], y_train[:n_train], X_val[:n_val], y_val[:n_val])
    return init_params(F, M, seed, bias_scale=0.05), data


def _check_history(history, epochs):
    if not isinstance(history, dict):
        raise CheckFailed(
            f"history is a {type(history).__name__}: return a dict with the keys "
            f"{list(HISTORY_KEYS)}",
            "type",
        )
    missing = [k for k in HISTORY_KEYS if k not in history]
    if missing:
        raise CheckFailed(
            f"history must have the keys {list(HISTORY_KEYS)}: missing {missing}", "type"
        )
    for key in HISTORY_KEYS:
        if np.shape(history[key]) != (epochs,):
            raise CheckFailed(
                f"history['{key}'] has shape {np.shape(history[key])}: one number per epoch, "
                f"{epochs} in all",
                "shape",
            )


@stdout_only
def check_train(train_fn, n_train=40, n_val=20, F=2, M=8, epochs=3, batch_size=16, lr=0.01, seed=0):
    """train(params, data, epochs, batch_size, lr, seed) -> (params, history), against the
    trusted run on a few real digits."""
    params, data = train_problem(n_train, n_val, F, M, seed)
    expected_params, expected = train(params, data, epochs, batch_size, lr, seed)
    with np.errstate(all="ignore"):
        variants = {
            name: train_variant(params, data, epochs, batch_size, lr, seed, name)
            for name in TRAIN_MISTAKES
        }
    batches = -(-n_train // batch_size)  # the last one may be smaller
    case = (
        f"{n_train} training and {n_val} validation digits, W1 {params['W1'].shape}, M = {M}, "
        f"epochs = {epochs} ({batches} batch{'es' if batches > 1 else ''} each), "
        f"batch_size = {batch_size}, lr = {lr:g}, "
        f"seed = {seed}"
    )
    with Check("train", train_fn, case) as check:
        got_params, history = check.unpack(
            check.call(params, data, epochs, batch_size, lr, seed), ("params", "history")
        )
        _check_history(history, epochs)
        check.compare(
            "history['loss']",
            history["loss"],
            expected["loss"],
            mistakes=[
                Mistake(variants[name][1]["loss"], message, kind)
                for name, (kind, message) in TRAIN_MISTAKES.items()
            ],
            axes=EPOCH_AXIS,
            stable_hint=TRAIN_NAN_HINT,
        )
        _check_params_dict(got_params)
        for name in PARAM_NAMES:
            check.compare(
                f"the trained params['{name}']",
                got_params[name],
                expected_params[name],
                mistakes=[
                    Mistake(variants[v][0][name], message, kind)
                    for v, (kind, message) in TRAIN_MISTAKES.items()
                ],
                stable_hint=TRAIN_NAN_HINT,
            )
        swapped = "train_acc and val_acc are swapped"
        check.compare(
            "history['train_acc']",
            history["train_acc"],
            expected["train_acc"],
            mistakes=[Mistake(expected["val_acc"], swapped, "order")],
            axes=EPOCH_AXIS,
        )
        check.compare(
            "history['val_acc']",
            history["val_acc"],
            expected["val_acc"],
            mistakes=[Mistake(expected["train_acc"], swapped, "order")],
            axes=EPOCH_AXIS,
        )


def _check_params_dict(params):
    if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
        keys = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise CheckFailed(
            f"the trained params must be a dict with the keys {list(PARAM_NAMES)}, got {keys}",
            "type",
        )


# train gets its losses and gradients from cnn_loss
calls(train=[(cnn_loss, check_cnn_loss)])
