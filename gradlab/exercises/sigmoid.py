"""Lesson 02: the sigmoid is a two-class softmax; binary cross-entropy and its gradient.

The trusted softmax and cross-entropy are lesson 01's (gradlab.exercises.softmax): the
expected binary cross-entropy is computed as the softmax cross-entropy of the logits [z, 0]
with class index 1 - y, which is the identity the lesson teaches.
"""

import numpy as np

from gradlab.checking import (
    ONE_EXAMPLE,
    Check,
    Mistake,
    Probe,
    any_shape,
    as_array,
    batch_factors,
    calls,
    in_order,
    stdout_only,
)
from gradlab.inputs import rng_for
from gradlab.numeric import numerical_gradient, numerical_vjp
from gradlab.tools.softmax import cross_entropy, softmax

STABLE = "exponentiate only -|z|, e.g. e = np.exp(-np.abs(z)), so that no exponent is positive"
STABLE_LOSS = "compute the loss as softplus(z) - y * z with softplus(z) = np.logaddexp(0, z)"
CLIP_EPSILONS = (1e-7, 1e-8, 1e-10, 1e-12, 1e-15)


def sigmoid(z):
    """Trusted sigmoid 1 / (1 + exp(-z)), exact and warning-free for any finite z."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(z):
    """Trusted derivative of the sigmoid, e^{-|z|} / (1 + e^{-|z|})^2 (it is even in z)."""
    e = np.exp(-np.abs(z))
    return e / (1 + e) ** 2


def softplus(z):
    """log(1 + exp(z)), stable: np.logaddexp(0, z)."""
    return np.logaddexp(0, z)


def bce_loss(z, y):
    """Mean binary cross-entropy of logits z (N,) and labels y in {0, 1}: softplus(z) - y z."""
    return np.mean(softplus(z) - y * z)


def two_class_logits(z):
    """(N, 2) logits [z, 0]."""
    return np.stack([z, np.zeros_like(z)], axis=1)


def logits(seed, shape, scale):
    """Uniform logits in [-scale, scale]; for large scales the two extremes are included."""
    z = rng_for(seed).uniform(-scale, scale, size=shape)
    if scale > 10 and z.size >= 2:
        z.flat[0], z.flat[1] = scale, -scale
    return z


def labels(seed, N):
    return rng_for(seed + 1000).integers(2, size=N)


def _size(shape, scale):
    return f"z of shape {shape}, entries up to {scale:g} in size"


@stdout_only
def check_sigmoid(sigmoid_fn, shape=(6,), seed=0, scale=5.0):
    """sigmoid_fn(z) must be the elementwise sigmoid; warning-free for huge |z|."""
    z = logits(seed, shape, scale)
    mistakes = [
        Mistake(
            sigmoid(-z),
            "you computed 1 - sigmoid(z) = sigmoid(-z): the exponent is -z, and for z >= 0 "
            "the stable branch is 1 / (1 + exp(-z))",
            "sign",
        ),
        Mistake(np.tanh(z), "that is tanh(z); sigmoid(z) = 1 / (1 + exp(-z))"),
        Mistake(
            sigmoid(2 * z),
            "that is sigmoid(2z), the sigmoid at the wrong point: "
            "sigmoid(z) = (1 + tanh(z / 2)) / 2",
            "wrong point",
        ),
    ]
    probe = Probe({"z": (z, any_shape(shape))}, in_order, sigmoid, ("sigmoid(z)",))
    with Check("sigmoid", sigmoid_fn, _size(shape, scale), probe) as check:
        s = check.call(z, warn_free=scale > 10)
        check.compare("sigmoid(z)", s, sigmoid(z), mistakes=mistakes, stable_hint=STABLE)


def wrong_points(z, s):
    """s * (1 - s) with the input z in place of the output s = sigmoid(z), in one factor or
    both, and sigmoid' evaluated at s instead of at z: the derivative at the wrong point."""
    t = sigmoid(s)
    return [
        Mistake(
            z * (1 - z),
            "z * (1 - z) is the derivative written in terms of the output s = sigmoid(z): "
            "compute s first, then s * (1 - s)",
            "wrong point",
        ),
        Mistake(
            s * (1 - z),
            "s * (1 - z) mixes the input z and the output s: sigmoid'(z) = s * (1 - s)",
            "wrong point",
        ),
        Mistake(
            z * (1 - s),
            "z * (1 - s) mixes the input z and the output s: sigmoid'(z) = s * (1 - s)",
            "wrong point",
        ),
        Mistake(
            t * (1 - t),
            "that is sigmoid'(s), the derivative at the output s = sigmoid(z): "
            "sigmoid'(z) = s * (1 - s), with no second sigmoid",
            "wrong point",
        ),
    ]


@stdout_only
def check_sigmoid_grad(sigmoid_grad_fn, shape=(6,), seed=0, scale=5.0):
    """sigmoid_grad_fn(z) must be the elementwise derivative of the sigmoid."""
    z = logits(seed, shape, scale)
    s = sigmoid(z)
    # elementwise, so the gradient of sum(sigmoid(z)) is the derivative at each z; for huge
    # |z| central differences lose digits, and the derived identity is used instead
    expected = numerical_vjp(sigmoid, z, np.ones_like(z)) if scale <= 10 else sigmoid_grad(z)
    mistakes = [
        *wrong_points(z, s),
        Mistake(1 - s**2, "1 - s**2 is the derivative of tanh; for the sigmoid it is s * (1 - s)"),
        Mistake(s, "that is sigmoid(z) itself: its derivative is s * (1 - s)", "missing term"),
    ]
    probe = Probe({"z": (z, any_shape(shape))}, in_order, sigmoid_grad, ("sigmoid_grad(z)",))
    with Check("sigmoid_grad", sigmoid_grad_fn, _size(shape, scale), probe) as check:
        ds = check.call(z, warn_free=scale > 10)
        check.compare("sigmoid_grad(z)", ds, expected, mistakes=mistakes, stable_hint=STABLE)


@stdout_only
def check_two_class_logits(two_class_logits_fn, N=5, seed=0, scale=3.0):
    """two_class_logits_fn(z) must return the (N, 2) logits [z, 0]."""
    z = logits(seed, (N,), scale)
    expected = two_class_logits(z)
    s = sigmoid(z)
    mistakes = [
        Mistake(
            expected.T,
            "one row per example is expected, shape (N, 2): stack z and the zeros along axis=1",
            "transpose",
        ),
        Mistake(
            expected[:, ::-1],
            "the columns are swapped: softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)]; put z first",
            "order",
        ),
        Mistake(
            np.stack([z, -z], axis=1),
            "[z, -z] has z1 - z2 = 2z, so its softmax is sigmoid(2z): the second logit must be 0",
        ),
        Mistake(
            np.stack([z, np.ones_like(z)], axis=1),
            "the second logit must be 0 (its exponential e^0 is 1, the logit itself is 0)",
        ),
        Mistake(
            np.stack([s, 1 - s], axis=1),
            "these are the probabilities [sigmoid(z), 1 - sigmoid(z)], not logits: return [z, 0]",
        ),
    ]
    probe = Probe({"z": (z, "N")}, in_order, two_class_logits, ("logits",))
    with Check("two_class_logits", two_class_logits_fn, f"z of shape {(N,)}", probe) as check:
        out = check.call(z)
        got = as_array("logits", out)
        if got.shape == expected.shape and np.all(np.isfinite(got)):
            with np.errstate(all="ignore"):
                same_p = np.allclose(softmax(got), softmax(expected), rtol=1e-9, atol=1e-12)
            if same_p:  # right probabilities from shifted logits: say why that is not enough
                mistakes.append(
                    Mistake(
                        got,
                        "these logits give the right probabilities (softmax ignores a constant "
                        "added to both), but the second logit must be exactly 0: return [z, 0]",
                        "missing term",
                    )
                )
        check.compare("logits", got, expected, mistakes=mistakes)


@stdout_only
def check_sigmoid_logit(sigmoid_logit_fn, N=5, seed=0, scale=3.0):
    """sigmoid_logit_fn(logits) must return z1 - z2 for each row [z1, z2]."""
    L = rng_for(seed).uniform(-scale, scale, size=(N, 2))
    if scale > 10:  # confident rows: one probability underflows to 0
        L[0] = [scale, -scale]
        if N > 1:
            L[1] = [-scale, scale]
    expected = L[:, 0] - L[:, 1]
    mistakes = []
    if N > 1:  # rows minus rows: shape (2,), which hides behind the right shape when N = 2
        mistakes.append(
            Mistake(
                L[0] - L[1],
                "you subtracted the rows: each row is one example, subtract its columns "
                "logits[:, 0] - logits[:, 1]",
                "axis",
            )
        )
    mistakes += [
        Mistake(
            -expected,
            "z2 - z1 is the logit of the second class (sigmoid(z2 - z1) = p2): return z1 - z2",
            "sign",
        ),
        Mistake(
            L[:, 0],
            "you returned z1: a two-class softmax depends on both logits, via z1 - z2",
            "missing term",
        ),
        Mistake(
            softmax(L)[:, 0],
            "this is the probability p1; its logit is z1 - z2 = log(p1 / p2)",
        ),
    ]
    probe = Probe({"logits": (L, "N 2")}, in_order, lambda L: L[:, 0] - L[:, 1], ("z",))
    case = f"logits of shape {(N, 2)}, size ~{scale:g}"
    with Check("sigmoid_logit", sigmoid_logit_fn, case, probe) as check:
        z = check.call(L, warn_free=scale > 10)
        check.compare(
            "z",
            z,
            expected,
            mistakes=mistakes,
            stable_hint="z1 - z2 needs no exponential and no logarithm",
        )


@stdout_only
def check_binary_cross_entropy(bce_fn, N=6, seed=0, scale=4.0):
    """(loss, dz) of the mean binary cross-entropy of logits z; finite and warning-free."""
    z = logits(seed, (N,), scale)
    y = labels(seed, N)
    s = sigmoid(z)
    # BCE of z is the softmax cross-entropy of the logits [z, 0] with class index 1 - y
    loss = cross_entropy(two_class_logits(z), 1 - y)
    # central differences lose digits for huge |z|: there, use the derived identity
    dz = numerical_gradient(lambda z_: bce_loss(z_, y), z) if scale <= 100 else (s - y) / N
    swapped = (
        "the labels are swapped: y = 1 goes with -log sigmoid(z), y = 0 with -log(1 - sigmoid(z))"
    )
    loss_mistakes = [Mistake(bce_loss(z, 1 - y), swapped, "order")]
    clipped = (
        "clipping p (or adding a small eps) before np.log caps the loss of a confident wrong "
        "prediction at -log(eps): " + STABLE_LOSS
    )
    for eps in CLIP_EPSILONS:
        p = np.clip(s, eps, 1 - eps)
        loss_mistakes += [
            Mistake(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), clipped, "instability"),
            Mistake(
                -np.mean(y * np.log(s + eps) + (1 - y) * np.log(1 - s + eps)),
                clipped,
                "instability",
            ),
        ]
    dz_mistakes = [
        Mistake(s / N, "the labels are missing: dz = (sigmoid(z) - y) / N", "missing term"),
        Mistake((s - (1 - y)) / N, swapped, "order"),
        Mistake(
            (z - y) / N,
            "the gradient was taken at z instead of at sigmoid(z): dz = (sigmoid(z) - y) / N",
            "wrong point",
        ),
        Mistake(
            (s - y) * s * (1 - s) / N,
            "(sigmoid(z) - y) * sigmoid'(z) is the gradient of a squared error; for the "
            "cross-entropy the sigmoid' cancels: dz = (sigmoid(z) - y) / N",
        ),
    ]
    labels_text = "".join(map(str, y[:8])) + ("..." if N > 8 else "")
    case = f"z of shape {(N,)}, entries up to {scale:g} in size, labels {labels_text}"
    probe = Probe(
        {"z": (z, "N"), "y": (y, "N")},
        in_order,
        lambda z, y: (bce_loss(z, y), (sigmoid(z) - y) / len(z)),
        ("loss", "dz"),
        switches=(ONE_EXAMPLE,),
    )
    with Check("binary_cross_entropy", bce_fn, case, probe) as check:
        got_loss, got_dz = check.unpack(
            check.call(z, y, warn_free=scale > 10), ("loss", "dz"), (loss, dz)
        )
        check.compare(
            "loss",
            got_loss,
            loss,
            factors=batch_factors(N),
            mistakes=loss_mistakes,
            stable_hint=STABLE_LOSS,
        )
        check.compare(
            "dz",
            got_dz,
            dz,
            factors=batch_factors(N),
            mistakes=dz_mistakes,
            stable_hint=STABLE,
            rtol=1e-6 if scale <= 100 else 1e-9,
        )


# both may compute the probabilities with the student's sigmoid
calls(
    sigmoid_grad=[(sigmoid, check_sigmoid)],
    binary_cross_entropy=[(sigmoid, check_sigmoid)],
)
