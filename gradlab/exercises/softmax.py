"""Lesson 01: softmax, its Jacobian and softmax cross-entropy."""

import numpy as np

from gradlab.checking import (
    ONE_EXAMPLE,
    Check,
    Factor,
    Mistake,
    Probe,
    batch_factors,
    calls,
    in_order,
    stdout_only,
)
from gradlab.inputs import rng_for
from gradlab.numeric import numerical_gradient
from gradlab.tools.softmax import cross_entropy, one_hot, softmax

STABLE = "subtract each row's maximum from z before np.exp"


ROWS_MINUS_ONE = "`p[y] -= 1` subtracts 1 from whole rows; use p[np.arange(N), y] -= 1"


def rows_minus_one(p, y):
    """What `p[y] -= 1` gives: 1 taken from whole rows. [] when it would raise IndexError
    (a label that is not a row index), else [that array]."""
    if y.max() >= len(p):
        return []
    wrong = p.copy()
    wrong[y] -= 1
    return [wrong]


def logits(seed, shape, scale=1.0):
    return rng_for(seed).normal(scale=scale, size=shape)


def softmax_mistakes(z):
    """The typical wrong softmaxes of z: normalised over the wrong axis, or broadcast wrongly."""
    e = np.exp(z - z.max())
    mistakes = [
        Mistake(e / e.sum(), "normalised over the whole array: sum over the last axis", "axis")
    ]
    if z.ndim == 2:
        column = np.exp(z - z.max(axis=0))
        mistakes.append(
            Mistake(
                column / column.sum(axis=0),
                "normalised over axis 0 (down each column): each row of z is one example, "
                "so sum over the last axis",
                "axis",
            )
        )
    if z.ndim == 2 and z.shape[0] == z.shape[1]:  # only a square z hides a missing keepdims
        # without keepdims, out[i, j] = exp(z[i, j]) / (row sum j): the shifts cancel
        mistakes.append(
            Mistake(
                np.exp(z) / np.exp(z).sum(axis=-1),
                "the row sums were broadcast along the wrong axis: use keepdims=True",
                "axis",
            )
        )
    return mistakes


@stdout_only
def check_softmax(softmax_fn, shape=(4, 5), seed=0, scale=1.0):
    """softmax_fn(z) must equal the softmax along the last axis, finite for huge z."""
    z = logits(seed, shape, scale)
    K = shape[-1]
    mean = Factor(K, "K", "np.mean divides by K as well: normalise by the sum")
    axes = "N K" if len(shape) == 2 else "K"  # a batch of logits, or one example's
    probe = Probe({"z": (z, axes)}, in_order, softmax, ("softmax(z)",), smallest={"K": 2})
    case = f"z of shape {shape}, entries of size ~{scale:g}"
    with Check("softmax", softmax_fn, case, probe) as check:
        check.compare(
            "softmax(z)",
            check.call(z),
            softmax(z),
            mistakes=softmax_mistakes(z),
            factors=[mean],
            axes=("example", None) if z.ndim == 2 else None,
            stable_hint=STABLE,
        )


def jacobian_of_probabilities(p):
    """The softmax Jacobian diag(p) - p p^T, written in terms of the probabilities p."""
    return np.diag(p) - np.outer(p, p)


def jacobian_mistakes(z, p):
    """The typical wrong softmax Jacobians at z, whose softmax is p."""
    return [
        Mistake(
            np.diag(p * (1 - p)),
            "only the diagonal is right: off the diagonal, dp_i/dz_j = -p_i p_j",
            "missing term",
        ),
        Mistake(
            -np.outer(p, p),
            "the diagonal misses its p_i term: dp_i/dz_i = p_i - p_i**2",
            "missing term",
        ),
        Mistake(np.diag(p) - p[:, None], "off-diagonal entries must be -p_i p_j, not -p_i"),
        Mistake(
            np.diag(p) - p @ p,
            "p @ p is a number, subtracted from every entry: the off-diagonal terms are "
            "-p_i p_j, np.outer(p, p)",
        ),
        Mistake(
            jacobian_of_probabilities(z),
            "diag(p) - p p^T evaluated at z instead of at p = softmax(z): compute p first",
            "wrong point",
        ),
    ]


@stdout_only
def check_softmax_jacobian(softmax_jacobian, K=4, seed=0):
    """softmax_jacobian(z) must equal diag(p) - p p^T."""
    z = logits(seed, (K,))
    p = softmax(z)
    probe = Probe(
        {"z": (z, "K")},
        in_order,
        lambda z: jacobian_of_probabilities(softmax(z)),
        ("J",),
        smallest={"K": 2},
    )
    with Check("softmax_jacobian", softmax_jacobian, f"z of size {K}", probe) as check:
        check.compare(
            "J", check.call(z), jacobian_of_probabilities(p), mistakes=jacobian_mistakes(z, p)
        )


@stdout_only
def check_softmax_cross_entropy(softmax_cross_entropy, N=4, K=5, seed=0, scale=1.0):
    """(loss, dz) of mean cross-entropy; dz against central differences (or p - y for huge z)."""
    z = logits(seed, (N, K), scale)
    y = rng_for(seed + 1000).integers(K, size=N)
    p = softmax(z)
    if scale <= 10:
        dz = numerical_gradient(lambda z_: cross_entropy(z_, y), z)
    else:  # central differences lose digits at this scale; use the derived identity
        dz = (p - one_hot(y, K)) / N
    mistakes = [
        Mistake(p / N, "the one-hot labels are missing: dz = (p - onehot(y)) / N", "missing term")
    ]
    mistakes += [Mistake(wrong / N, ROWS_MINUS_ONE) for wrong in rows_minus_one(p, y)]
    classes = Factor(
        1 / K,
        "1/K",
        "np.mean over the (N, K) array of one-hot terms divides by N * K: sum over the "
        "classes, average over the examples",
    )
    probe = Probe(
        {"z": (z, "N K"), "y": (y, "N")},
        in_order,
        lambda z, y: (cross_entropy(z, y), (softmax(z) - one_hot(y, z.shape[1])) / len(z)),
        ("loss", "dz"),
        switches=(ONE_EXAMPLE,),
        smallest={"K": 2},
        valid=lambda z, y: y.max() < z.shape[1],
    )
    case = f"z of shape {(N, K)}, entries of size ~{scale:g}"
    with Check("softmax_cross_entropy", softmax_cross_entropy, case, probe) as check:
        loss, grad = check.unpack(check.call(z, y), ("loss", "dz"), (cross_entropy(z, y), dz))
        check.compare(
            "loss",
            loss,
            cross_entropy(z, y),
            factors=[*batch_factors(N), classes],
            stable_hint="compute log p as z - logsumexp(z) rather than np.log(softmax(z))",
        )
        check.compare(
            "dz",
            grad,
            dz,
            factors=batch_factors(N),
            mistakes=mistakes,
            stable_hint=STABLE,
            rtol=1e-6 if scale <= 10 else 1e-9,
        )


# both may compute the probabilities with the student's softmax
calls(
    softmax_jacobian=[(softmax, check_softmax)],
    softmax_cross_entropy=[(softmax, check_softmax)],
)
