"""Lesson 04: dense layers, activations, the delta recursion of an MLP and the classic network.

Trusted forward computations are written plainly here; every expected gradient is a central
difference of one of them. The backward checks build their cache with the trusted forward,
so that a backward is graded on its own, whatever the student's forward does.
"""

import itertools

import numpy as np

from gradlab.checking import (
    ONE_EXAMPLE,
    Check,
    CheckFailed,
    Mistake,
    Probe,
    Sum,
    Switch,
    any_shape,
    batch_factors,
    calls,
    in_order,
    simulated,
    stdout_only,
    summed,
    upstream_mistakes,
)
from gradlab.inputs import away_from_zero, rng_for
from gradlab.numeric import numerical_gradient, numerical_vjp
from gradlab.tools.softmax import cross_entropy, one_hot, softmax

ACTIVATIONS = ("sigmoid", "relu", "tanh")
GAP = 0.01  # every ReLU input of a check stays this far from the kink at 0


def sigmoid(z):
    """Trusted sigmoid, 1 / (1 + exp(-z)), written so that it never overflows."""
    return np.exp(-np.logaddexp(0.0, -z))


def relu(z):
    return np.maximum(z, 0.0)


def activate(z, activation):
    """The hidden activation named `activation` applied elementwise to z."""
    if activation == "sigmoid":
        return sigmoid(z)
    if activation == "relu":
        return relu(z)
    if activation == "tanh":
        return np.tanh(z)
    raise ValueError(f"unknown activation {activation!r}: use one of {ACTIVATIONS}")


def activation_grad(z, activation):
    """act'(z), elementwise."""
    if activation == "sigmoid":
        s = sigmoid(z)
        return s * (1 - s)
    if activation == "relu":
        return (z > 0).astype(np.float64)
    return 1 - np.tanh(z) ** 2


def affine_forward(x, W, b):
    """Trusted dense layer: out = x @ W + b, cache (x, W, b)."""
    return x @ W + b, (x, W, b)


def sigmoid_forward(x):
    out = sigmoid(x)
    return out, out


def relu_forward(x):
    return relu(x), x


def off_kink(x, **_):
    """Whether every ReLU input x is away from the kink at 0, where relu' is not defined."""
    return bool(np.all(np.abs(x) >= GAP))


def sigmoid_backward(dout, cache):
    """Trusted backward pass of the sigmoid, whose cache is its output."""
    return dout * cache * (1 - cache)


def relu_backward(dout, cache):
    """Trusted backward pass of the ReLU, whose cache is its input."""
    return dout * (cache > 0)


# ---------------------------------------------------------------- a multi-layer perceptron


def layer_count(params):
    """The number of dense layers (the lesson's Lambda) of params = {"W1", "b1", "W2", ...}."""
    return len(params) // 2


def mlp_logits(params, X, activation):
    """Forward pass: the pre-activations z[1..Lambda] and activations a[0] = X, a[1], ...."""
    L = layer_count(params)
    a, z = [X], [None]
    for i in range(1, L + 1):
        z.append(a[i - 1] @ params[f"W{i}"] + params[f"b{i}"])
        if i < L:
            a.append(activate(z[i], activation))
    return z, a


def mlp_loss_value(params, X, y, activation="sigmoid"):
    """Trusted loss of the MLP: mean softmax cross-entropy of its logits."""
    z, _ = mlp_logits(params, X, activation)
    return cross_entropy(z[-1], y)


def mlp_numerical_grads(params, X, y, activation="sigmoid"):
    """Central differences of the trusted loss with respect to every parameter."""
    grads = {}
    for key, value in params.items():

        def loss_of(v, key=key):
            return mlp_loss_value({**params, key: v}, X, y, activation)

        grads[key] = numerical_gradient(loss_of, value)
    return grads


def mlp_grads(params, X, y, activation="sigmoid", mistake=None):
    """The delta recursion, or (with `mistake`) what a typical wrong version of it gives.

    mistake is None or a key of MLP_MISTAKES. A mistake whose shapes do not fit raises
    ValueError.
    """
    L = layer_count(params)
    N = X.shape[0]
    z, a = mlp_logits(params, X, activation)
    output = z[L] if mistake == "logits_delta" else softmax(z[L])
    delta = (output - one_hot(y, z[L].shape[1])) / N
    grads = {}
    for i in range(L, 0, -1):
        dW = a[i - 1].T @ delta
        grads[f"W{i}"] = dW.T if mistake == "dW_transposed" else dW
        grads[f"b{i}"] = delta.mean(axis=0) if mistake == "db_mean" else delta.sum(axis=0)
        if i == 1:
            break
        W = params[f"W{i - 1}"] if mistake == "W_same_layer" else params[f"W{i}"]
        upstream = delta @ W.T
        if mistake == "no_act_grad":
            delta = upstream
        elif mistake == "act_grad_of_a":
            delta = upstream * activation_grad(a[i - 1], activation)
        elif mistake == "act_grad_above":
            delta = upstream * activation_grad(z[i], activation)
        else:
            delta = upstream * activation_grad(z[i - 1], activation)
    return grads


MLP_MISTAKES = {
    "no_act_grad": (
        "missing term",
        "the activation's derivative is missing from the recursion: "
        "delta_i = (delta_{i+1} @ W_{i+1}.T) * act'(z_i)",
    ),
    "act_grad_of_a": (
        "wrong point",
        "act' was taken at the activation a_i = act(z_i) instead of at z_i "
        "(for the sigmoid act'(z_i) = a_i * (1 - a_i), for tanh 1 - a_i**2)",
    ),
    "db_mean": (
        "factor",
        "the bias gradients are the mean of delta's rows: sum them, "
        "delta already carries the loss's 1/N",
    ),
    "dW_transposed": ("transpose", "transposed: dW_i = a_{i-1}.T @ delta_i has the shape of W_i"),
    "W_same_layer": (
        "order",
        "wrong layer order: the recursion used W_i; "
        "delta_i = (delta_{i+1} @ W_{i+1}.T) * act'(z_i) uses the weights of the layer above",
    ),
    "act_grad_above": (
        "order",
        "wrong layer order: act' was taken at z_{i+1}; "
        "delta_i = (delta_{i+1} @ W_{i+1}.T) * act'(z_i) uses this layer's own z_i",
    ),
    "logits_delta": (
        "wrong point",
        "the output delta uses the logits instead of their probabilities p = softmax(logits): "
        "the output delta is (p - onehot(y)) / N",
    ),
}


def mlp_problem(dims, N, activation="sigmoid", seed=0):
    """(params, X, y) for an MLP with layer sizes dims = (D, H1, ..., K).

    For ReLU every hidden pre-activation is kept at least GAP away from the kink at 0: the
    inputs are drawn again until it is.
    """
    rng = rng_for(seed)
    for _ in range(1000):
        X = rng.normal(size=(N, dims[0]))
        params = {}
        for i, (m, n) in enumerate(itertools.pairwise(dims), start=1):
            params[f"W{i}"] = rng.normal(scale=1.2 / np.sqrt(m), size=(m, n))
            params[f"b{i}"] = rng.normal(scale=0.2, size=n)
        y = rng.integers(dims[-1], size=N)
        z, _ = mlp_logits(params, X, activation)
        if activation != "relu" or all(np.min(np.abs(zi)) >= GAP for zi in z[1:-1]):
            return params, X, y
    raise RuntimeError("no kink-free ReLU problem found")  # pragma: no cover


# ---------------------------------------------------------------- the classic network


def classic_forward(x, V, gamma, W, theta):
    """b = sigmoid(x V - gamma), yhat = sigmoid(b W - theta) for one example x (d,)."""
    b = sigmoid(x @ V - gamma)
    return b, sigmoid(b @ W - theta)


def classic_error(x, y, V, gamma, W, theta):
    """E = 0.5 * sum((yhat - y)**2)."""
    _, yhat = classic_forward(x, V, gamma, W, theta)
    return 0.5 * np.sum((yhat - y) ** 2)


def classic_problem(d, q, l, seed=0):
    rng = rng_for(seed)
    x = rng.normal(size=d)
    y = rng.integers(2, size=l).astype(np.float64)
    V = rng.normal(size=(d, q))
    gamma = rng.normal(scale=0.5, size=q)
    W = rng.normal(size=(q, l))
    theta = rng.normal(scale=0.5, size=l)
    return x, y, V, gamma, W, theta


# ---------------------------------------------------------------- checks: dense layer


@stdout_only
def check_affine_forward(affine_forward_fn, N=4, D=5, M=3, seed=0):
    """out = x @ W + b and cache (x, W, b)."""
    rng = rng_for(seed)
    x, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
    mistakes = [Mistake(x @ W, "the bias b is missing: out = x @ W + b", "missing term")]
    if D == M:
        mistakes.append(
            Mistake(x @ W.T + b, "W is (D, M): out = x @ W + b, not x @ W.T", "transpose")
        )
    probe = Probe(
        {"x": (x, "N D"), "W": (W, "D M"), "b": (b, "M")},
        in_order,
        affine_forward,
        ("out", None),
        switches=(Switch("b = 0", "the bias term is wrong", {"b": 0.0}), ONE_EXAMPLE),
    )
    case = f"x {(N, D)}, W {(D, M)}, b {(M,)}"
    with Check("affine_forward", affine_forward_fn, case, probe) as check:
        out, cache = check.unpack(check.call(x, W, b), ("out", "cache"), (x @ W + b, None))
        check.compare("out", out, x @ W + b, mistakes=mistakes, axes=("example", None))
        check.compare_cache(
            cache, [("x", x), ("W", W), ("b", b)], [Mistake(x @ W + b, "holds out")]
        )


def affine_backward_mistakes(x, W, b, dout):
    """{output: Mistakes} of affine_backward: dout mishandled, W or a sum taken wrongly."""
    mistakes = upstream_mistakes(affine_backward, dout, (x, W, b), names=("dx", "dW", "db"))
    if x.shape[1] == W.shape[1]:
        mistakes["dx"].append(
            Mistake(dout @ W, "W is not transposed: dx = dout @ W.T", "transpose")
        )
    if len(x) > 1:
        mistakes["db"].append(
            Mistake(
                dout.mean(axis=0),
                "that is the mean of dout's rows: the bias gradient is their SUM "
                "(dout already carries the loss's 1/N)",
                "factor",
            )
        )
    return mistakes


def affine_backward(dout, cache):
    """Trusted backward pass of the dense layer: (dx, dW, db)."""
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


@stdout_only
def check_affine_backward(affine_backward_fn, N=4, D=5, M=3, seed=0):
    """(dx, dW, db) against central differences of the trusted forward."""
    rng = rng_for(seed)
    x, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
    dout = rng.normal(size=(N, M)) / N  # an upstream gradient carries the loss's 1/N
    _, cache = affine_forward(x, W, b)
    dx = numerical_vjp(lambda x_: affine_forward(x_, W, b)[0], x, dout)
    dW = numerical_vjp(lambda W_: affine_forward(x, W_, b)[0], W, dout)
    db = numerical_vjp(lambda b_: affine_forward(x, W, b_)[0], b, dout)
    mistakes = affine_backward_mistakes(x, W, b, dout)
    examples = [(None, np.outer(x[n], dout[n])) for n in range(N)]
    mean = summed(N, "N", "the batch", "dout already carries the loss's 1/N")
    probe = Probe(
        {"x": (x, "N D"), "W": (W, "D M"), "b": (b, "M"), "dout": (dout, "N M")},
        lambda x, W, b, dout: (dout, (x, W, b)),
        affine_backward,
        ("dx", "dW", "db"),
        upstream="dout",
        switches=(ONE_EXAMPLE,),
    )
    with Check("affine_backward", affine_backward_fn, f"x {(N, D)}, W {(D, M)}", probe) as check:
        got = check.unpack(check.call(dout, cache), ("dx", "dW", "db"), (dx, dW, db))
        check.compare(
            "dx", got[0], dx, mistakes=mistakes["dx"], hints={"transpose": "dx = dout @ W.T"}
        )
        check.compare(
            "dW",
            got[1],
            dW,
            mistakes=mistakes["dW"],
            sums=Sum(examples, "example"),
            hints={"transpose": "dW = x.T @ dout has the shape (D, M) of W"},
        )
        check.compare(
            "db",
            got[2],
            db,
            mistakes=mistakes["db"],
            factors=[mean],
            sums=Sum([(None, row) for row in dout], "example"),
            hints={"axis": "db sums dout over the batch, axis 0"},
        )


# ---------------------------------------------------------------- checks: activations


@stdout_only
def check_sigmoid_forward(sigmoid_forward_fn, shape=(4, 5), seed=0, scale=1.0):
    """out = sigmoid(x), cache out."""
    x = rng_for(seed).normal(scale=scale, size=shape)
    out = sigmoid(x)
    mistakes = [
        Mistake(sigmoid(-x), "that is sigmoid(-x) = 1 - sigmoid(x): 1 / (1 + exp(-x))", "sign"),
        Mistake(
            sigmoid(2 * x),
            "that is sigmoid(2x), the sigmoid at the wrong point: (1 + tanh(x / 2)) / 2",
            "wrong point",
        ),
    ]
    case = f"x of shape {shape}, entries of size ~{scale:g}"
    probe = Probe({"x": (x, any_shape(shape))}, in_order, sigmoid_forward, ("out", None))
    with Check("sigmoid_forward", sigmoid_forward_fn, case, probe) as check:
        got, cache = check.unpack(check.call(x), ("out", "cache"), (out, None))
        check.compare("out", got, out, mistakes=mistakes)
        check.compare_cache(cache, [("out", out)], [Mistake(x, "holds the input x")])


@stdout_only
def check_sigmoid_backward(sigmoid_backward_fn, shape=(4, 5), seed=0):
    """dx against central differences; the cache is out = sigmoid(x) of a trusted forward."""
    rng = rng_for(seed)
    x = rng.normal(size=shape)
    dout = rng.normal(size=shape)
    out, cache = sigmoid_forward(x)
    dx = numerical_vjp(sigmoid, x, dout)
    s_out = sigmoid(out)
    mistakes = [
        *upstream_mistakes(sigmoid_backward, dout, out, names=("dx",))["dx"],
        Mistake(
            dout * s_out * (1 - s_out),
            "you applied the sigmoid to the cache: it already holds out = sigmoid(x), "
            "so dx = dout * out * (1 - out)",
            "wrong point",
        ),
        Mistake(
            dout * out,
            "the factor (1 - out) is missing: sigmoid' = out * (1 - out)",
            "missing term",
        ),
        Mistake(
            dout * (1 - out),
            "the factor out is missing: sigmoid' = out * (1 - out)",
            "missing term",
        ),
        Mistake(
            dout * (1 - out**2),
            "1 - out**2 is the derivative of tanh; the sigmoid's is out * (1 - out)",
        ),
    ]
    probe = Probe(
        {"x": (x, any_shape(shape)), "dout": (dout, any_shape(shape))},
        lambda x, dout: (dout, sigmoid(x)),
        sigmoid_backward,
        ("dx",),
        upstream="dout",
    )
    with Check("sigmoid_backward", sigmoid_backward_fn, f"x of shape {shape}", probe) as check:
        check.compare("dx", check.call(dout, cache), dx, mistakes=mistakes)


@stdout_only
def check_relu_forward(relu_forward_fn, shape=(4, 5), seed=0):
    """out = max(0, x) elementwise, cache x."""
    x = away_from_zero(rng_for(seed), shape, gap=GAP)
    out = relu(x)
    mistakes = [
        Mistake(
            np.max(x, axis=0), "np.max(x, 0) reduces along axis 0: use np.maximum(x, 0)", "axis"
        ),
        Mistake(np.abs(x), "negative inputs must become 0, not |x|"),
        Mistake(np.maximum(-x, 0), "the sign is flipped: relu(x) = max(0, x)", "sign"),
        Mistake(
            np.minimum(x, 0),
            "np.where(x > 0, 0, x) keeps the negative part: relu(x) = np.where(x > 0, x, 0)",
            "order",
        ),
    ]
    probe = Probe(
        {"x": (x, any_shape(shape))}, in_order, relu_forward, ("out", None), valid=off_kink
    )
    with Check("relu_forward", relu_forward_fn, f"x of shape {shape}", probe) as check:
        got, cache = check.unpack(check.call(x), ("out", "cache"), (out, None))
        check.compare("out", got, out, mistakes=mistakes)
        check.compare_cache(cache, [("x", x)], [Mistake(out, "holds out = relu(x)")])


@stdout_only
def check_relu_backward(relu_backward_fn, shape=(4, 5), seed=0):
    """dx against central differences at inputs away from the kink; the cache is x."""
    rng = rng_for(seed)
    x = away_from_zero(rng, shape, gap=GAP)
    dout = rng.normal(size=shape)
    _, cache = relu_forward(x)
    dx = numerical_vjp(relu, x, dout)
    mistakes = [
        *upstream_mistakes(relu_backward, dout, x, names=("dx",))["dx"],
        Mistake(dout, "the mask is missing: dx = dout where x > 0 and 0 elsewhere", "missing term"),
        Mistake(dout * x, "you multiplied by x: relu'(x) is the indicator (x > 0), not x"),
        Mistake(dout * relu(x), "you multiplied by relu(x): relu'(x) is the indicator (x > 0)"),
        Mistake(dout * (x < 0), "the mask is inverted: the gradient flows where x > 0", "order"),
        Mistake(
            dout * (dout > 0),
            "the mask was taken from dout: relu' is evaluated at the input x, dout * (x > 0)",
            "wrong point",
        ),
        Mistake(
            dout * np.sign(x),
            "np.sign(x) is -1 for negative x, where relu' is 0: use the mask (x > 0)",
        ),
    ]
    probe = Probe(
        {"x": (x, any_shape(shape)), "dout": (dout, any_shape(shape))},
        lambda x, dout: (dout, x),
        relu_backward,
        ("dx",),
        upstream="dout",
        valid=off_kink,
    )
    with Check("relu_backward", relu_backward_fn, f"x of shape {shape}", probe) as check:
        check.compare("dx", check.call(dout, cache), dx, mistakes=mistakes)


# ---------------------------------------------------------------- check: the MLP


def mlp_mistakes(params, X, y, activation):
    """{key: Mistakes} of every gradient, simulated by mlp_grads's mistake switch."""
    keys = list(params)
    variants = {
        name: variant
        for name, variant in MLP_MISTAKES.items()
        if not (name == "act_grad_of_a" and activation == "relu")  # relu'(a) = relu'(z)
    }

    def wrong(mistake):
        grads = mlp_grads(params, X, y, activation, mistake)
        return tuple(grads[k] for k in keys)

    return simulated(wrong, variants, names=keys)


def mlp_probe(params, X, y, activation):
    """The Probe of mlp_loss: layer i has D{i - 1} inputs and D{i} outputs, DL classes."""
    L = layer_count(params)
    inputs = {"X": (X, "N D0"), "y": (y, "N")}
    for i in range(1, L + 1):
        inputs[f"W{i}"] = (params[f"W{i}"], f"D{i - 1} D{i}")
        inputs[f"b{i}"] = (params[f"b{i}"], f"D{i}")

    def defined(X, y, **params):  # every label a class, every ReLU input off its kink
        z, _ = mlp_logits(params, X, activation)
        kinks = activation == "relu" and any(np.min(np.abs(zi), initial=1) < GAP for zi in z[1:-1])
        return y.max() < params[f"b{L}"].size and not kinks

    return Probe(
        inputs,
        lambda X, y, **params: (params, X, y, activation),
        lambda params, X, y, activation: (
            mlp_loss_value(params, X, y, activation),
            mlp_grads(params, X, y, activation),
        ),
        ("loss", "grads"),
        switches=(ONE_EXAMPLE,),
        smallest={f"D{L}": 2},
        valid=defined,
    )


@stdout_only
def check_mlp_loss(mlp_loss_fn, dims=(2, 4, 3), N=5, activation="sigmoid", seed=0):
    """(loss, grads) of an MLP with layer sizes dims; every gradient by central differences.

    The gradients are compared from the last layer down, so that the first wrong one tells
    where the recursion goes wrong.
    """
    params, X, y = mlp_problem(dims, N, activation, seed)
    L = layer_count(params)
    expected = mlp_numerical_grads(params, X, y, activation)
    mistakes = mlp_mistakes(params, X, y, activation)
    sizes = "-".join(map(str, dims))
    case = f"a {sizes} {activation} network, N = {N}"
    with Check("mlp_loss", mlp_loss_fn, case, mlp_probe(params, X, y, activation)) as check:
        loss, grads = check.unpack(
            check.call(params, X, y, activation),
            ("loss", "grads"),
            (mlp_loss_value(params, X, y, activation), None),
        )
        check.compare(
            "loss", loss, mlp_loss_value(params, X, y, activation), factors=batch_factors(N)
        )
        if not isinstance(grads, dict):
            raise CheckFailed(
                f"grads is a {type(grads).__name__}: return a dict like params", "type"
            )
        missing = [k for k in params if k not in grads]
        extra = [k for k in grads if k not in params]
        if missing or extra:
            raise CheckFailed(
                f"grads must have the keys of params: missing {missing}, unexpected {extra}",
                "type",
            )
        for i in range(L, 0, -1):
            # below the last layer, a wrong gradient says where to look in the recursion
            above = (
                f"layers {i + 1}..{L} are right: look at delta_{i} = (delta_{i + 1} @ "
                f"W{i + 1}.T) * act'(z_{i}) and at the gradients of layer {i} made from it"
            )
            hints = {"values": above, "factor:unnamed": above} if i < L else {}
            for key in (f"W{i}", f"b{i}"):
                check.compare(
                    f"grads['{key}']",
                    grads[key],
                    expected[key],
                    factors=batch_factors(N),
                    mistakes=mistakes[key],
                    hints=hints,
                )


# ---------------------------------------------------------------- check: the classic network


def classic_mistakes(x, y, V, gamma, W, theta, dV, dW):
    """{output: Mistakes} of the classic network's gradients (Section 6 of lesson 04)."""
    b, yhat = classic_forward(x, V, gamma, W, theta)
    g = (yhat - y) * yhat * (1 - yhat)  # dE/dbeta_j
    e = (W @ g) * b * (1 - b)  # dE/dalpha_h
    alpha = x @ V
    typo = (W @ g) * b * (1 - (alpha - gamma))  # the slip in line (c) of Section 6
    unthresholded = (W @ g) * sigmoid(alpha) * (1 - sigmoid(alpha))
    no_hidden_grad = W @ g
    typo_msg = (
        "you used sigmoid(alpha - gamma) * (1 - (alpha - gamma)), the slip in line (c) of "
        "Section 6: the derivative is b_h * (1 - b_h)"
    )
    unthresholded_msg = (
        "the hidden sigmoid's derivative was taken at x V, without the threshold: "
        "b_h * (1 - b_h) with b = sigmoid(x V - gamma)"
    )
    hidden_msg = "the hidden sigmoid's derivative b_h * (1 - b_h) is missing"
    output_msg = "the output sigmoid's derivative yhat_j * (1 - yhat_j) is missing"
    update_msg = (
        "the sign is flipped: that is the update direction -dE/d{0} (Zhou's "
        "g_j = yhat_j (1 - yhat_j)(y_j - yhat_j) is minus the derivative); return dE/d{0}"
    )
    bias_sign = (
        "d{0} has the sign of a bias gradient: {0} is SUBTRACTED ({1} - {0}), "
        "so dE/d{0}_{2} = -{3}_{2}"
    )
    mistakes = {
        "dW": [
            Mistake(np.outer(b, yhat - y), output_msg, "missing term"),
            Mistake(-dW, update_msg.format("w"), "sign"),
        ],
        "dtheta": [
            Mistake(g, bias_sign.format("theta", "beta", "j", "g"), "sign"),
            Mistake(-(yhat - y), output_msg, "missing term"),
        ],
        "dV": [
            Mistake(np.outer(x, typo), typo_msg, "wrong point"),
            Mistake(np.outer(x, unthresholded), unthresholded_msg, "wrong point"),
            Mistake(np.outer(x, no_hidden_grad), hidden_msg, "missing term"),
            Mistake(-dV, update_msg.format("v"), "sign"),
        ],
        "dgamma": [
            Mistake(e, bias_sign.format("gamma", "alpha", "h", "e"), "sign"),
            Mistake(-typo, typo_msg, "wrong point"),
            Mistake(-unthresholded, unthresholded_msg, "wrong point"),
            Mistake(-no_hidden_grad, hidden_msg, "missing term"),
        ],
    }
    if W.shape[0] == W.shape[1]:
        wrong_sum = (W.T @ g) * b * (1 - b)
        mistakes["dV"].append(
            Mistake(
                np.outer(x, wrong_sum),
                "the sum over the outputs pairs g_j with w_hj: e_h = b_h (1 - b_h) (W @ g)_h, "
                "not W.T @ g",
                "transpose",
            )
        )
    return mistakes


def classic_grads(x, y, V, gamma, W, theta):
    """(dV, dgamma, dW, dtheta) of E for one example, by the chain rule."""
    b, yhat = classic_forward(x, V, gamma, W, theta)
    g = (yhat - y) * yhat * (1 - yhat)  # dE/dbeta_j
    e = (W @ g) * b * (1 - b)  # dE/dalpha_h
    return np.outer(x, e), -e, np.outer(b, g), -g


def classic_output_terms(x, y, V, gamma, W, theta):
    """The contribution of each output j to e_h = b_h (1 - b_h) sum_j w_hj g_j."""
    b, yhat = classic_forward(x, V, gamma, W, theta)
    g = (yhat - y) * yhat * (1 - yhat)
    return [W[:, j] * g[j] * b * (1 - b) for j in range(len(g))]


@stdout_only
def check_classic_bp_grads(classic_bp_grads_fn, d=3, q=4, l=2, seed=0):
    """(dV, dgamma, dW, dtheta) of E for one example, against central differences.

    Compared output layer first (dW, dtheta), then the hidden layer (dV, dgamma).
    """
    x, y, V, gamma, W, theta = classic_problem(d, q, l, seed)
    args = (x, y, V, gamma, W, theta)

    def numeric(k):
        def error_of(v):
            changed = list(args)
            changed[k] = v
            return classic_error(*changed)

        return numerical_gradient(error_of, args[k])

    dV, dgamma, dW, dtheta = numeric(2), numeric(3), numeric(4), numeric(5)
    mistakes = classic_mistakes(*args, dV, dW)
    terms = classic_output_terms(*args)
    over_outputs = {
        "dV": Sum([(None, np.outer(x, t)) for t in terms], "output"),
        "dgamma": Sum([(None, -t) for t in terms], "output"),
    }
    hints = {
        "dW": {"transpose": "dW[h, j] = b_h g_j, shape (q, l) like W"},
        "dV": {"transpose": "dV[i, h] = x_i e_h, shape (d, q) like V"},
    }
    case = f"d = {d} inputs, q = {q} hidden, l = {l} outputs"
    names = ("dV", "dgamma", "dW", "dtheta")
    axes = ("d", "l", "d q", "q", "q l", "l")
    probe = Probe(
        {k: (v, a) for k, v, a in zip(("x", "y", "V", "gamma", "W", "theta"), args, axes)},
        in_order,
        classic_grads,
        names,
    )
    with Check("classic_bp_grads", classic_bp_grads_fn, case, probe) as check:
        got = dict(zip(names, check.unpack(check.call(*args), names, (dV, dgamma, dW, dtheta))))
        for name, value in (("dW", dW), ("dtheta", dtheta), ("dV", dV), ("dgamma", dgamma)):
            check.compare(
                name,
                got[name],
                value,
                mistakes=mistakes[name],
                sums=over_outputs.get(name),
                hints=hints.get(name),
            )


# mlp_loss may build its network from the layers above, and classic_bp_grads from the sigmoid's
SIGMOID = [(sigmoid_forward, check_sigmoid_forward), (sigmoid_backward, check_sigmoid_backward)]
LAYERS = [
    (affine_forward, check_affine_forward),
    (affine_backward, check_affine_backward),
    *SIGMOID,
    (relu_forward, check_relu_forward),
    (relu_backward, check_relu_backward),
]
calls(mlp_loss=LAYERS, classic_bp_grads=SIGMOID)
