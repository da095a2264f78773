"""Lesson 03: the multiclass SVM and softmax losses of a linear classifier S = X @ W.

Both gradients have the form dW = X.T @ dS / N + 2 * reg * W, where row i of dS is the
derivative of example i's loss with respect to its scores. The expected dW is always central
differences of the trusted loss below; the typical mistakes are built from the derived dS.
"""

import numpy as np

from gradlab.checking import (
    ONE_EXAMPLE,
    Check,
    Mistake,
    Probe,
    Sum,
    Switch,
    batch_factors,
    in_order,
    stdout_only,
)
from gradlab.exercises.softmax import ROWS_MINUS_ONE, rows_minus_one
from gradlab.inputs import hinge_safe_problem, rng_for
from gradlab.numeric import numerical_gradient
from gradlab.tools.softmax import cross_entropy, one_hot, softmax

STABLE = "subtract each row's maximum score before np.exp (the log-sum-exp trick of lesson 01)"


def hinge_margins(S, y):
    """(N, C) margins s_j - s_{y_i} + 1, with 0 in each example's correct-class column."""
    rows = np.arange(S.shape[0])
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    return margins


def svm_loss_value(W, X, y, reg):
    """Trusted mean multiclass hinge loss (margin 1) of the scores X @ W, plus reg * sum(W**2)."""
    margins = hinge_margins(X @ W, y)
    return np.sum(np.maximum(0, margins)) / X.shape[0] + reg * np.sum(W * W)


def softmax_loss_value(W, X, y, reg):
    """Trusted mean softmax cross-entropy of the scores X @ W, plus reg * sum(W**2)."""
    return cross_entropy(X @ W, y) + reg * np.sum(W * W)


def svm_dS(S, y):
    """Per-example derivative of the hinge loss w.r.t. the scores (away from the kinks)."""
    rows = np.arange(S.shape[0])
    dS = (hinge_margins(S, y) > 0).astype(np.float64)
    dS[rows, y] = -np.sum(dS, axis=1)
    return dS


def softmax_dS(S, y):
    """Per-example derivative of the cross-entropy w.r.t. the scores: p - onehot(y)."""
    return softmax(S) - one_hot(y, S.shape[1])


def _problem(kind, seed, N, D, C, scale, gap):
    rng = rng_for(seed)
    if kind == "svm":
        return hinge_safe_problem(rng, N, D, C, gap=gap, scale=scale)
    W = rng.normal(scale=scale, size=(D, C))
    X = rng.normal(size=(N, D))
    return W, X, rng.integers(C, size=N)


def dW_mistakes(X, W, y, reg, dS, wrong_dS):
    """The dW of the typical mistakes shared by both losses, then of the loss's own wrong dS
    (pairs (dS, message) of a kind other than "formula" are given as (dS, message, kind))."""
    N, (D, C) = X.shape[0], W.shape
    data = X.T @ dS / N
    reg_grad = 2 * reg * W
    mistakes = [
        Mistake(
            X.T @ dS + reg_grad,
            "did you forget to divide by the batch size N? dW = X.T @ dS / N + 2 * reg * W",
            "factor",
        ),
        Mistake(
            -data + reg_grad,
            "the data part X.T @ dS / N has the wrong sign: check the direction of each "
            "subtraction in dS",
            "sign",
        ),
    ]
    if reg > 0:
        mistakes += [
            Mistake(
                data + reg * W,
                "the gradient of reg * sum(W**2) is 2 * reg * W, not reg * W",
                "factor",
            ),
            Mistake(
                data, "the gradient of the regularisation, 2 * reg * W, is missing", "missing term"
            ),
        ]
        if N > 1:
            mistakes.append(
                Mistake(
                    data + reg_grad / N,
                    "the regularisation gradient 2 * reg * W is not divided by N: only the "
                    "data loss is a mean over the batch",
                    "factor",
                )
            )
    if D == C:  # only a square W lets a transposed dW through the shape check
        transposed = (
            "dW is transposed: dW[d, c] = dL/dW[d, c], so compute X.T @ dS (D, C), "
            "not dS.T @ X (C, D)"
        )
        mistakes += [
            Mistake(data.T + reg_grad, transposed, "transpose"),
            Mistake((data + reg_grad).T, transposed, "transpose"),
        ]
    else:
        mistakes.append(
            Mistake(
                np.reshape(data.T, (D, C)) + reg_grad,
                "reshaping dS.T @ X (C, D) to (D, C) scrambles the entries, it is not a "
                "transpose: compute X.T @ dS",
                "transpose",
            )
        )
    mistakes += [Mistake(X.T @ wrong[0] / N + reg_grad, *wrong[1:]) for wrong in wrong_dS]
    return mistakes


def per_example_terms(X, dS):
    """The dW of each example, X[i] outer dS[i] / N, as a loop over the examples adds them."""
    N = X.shape[0]
    return [(None, np.outer(X[i], dS[i]) / N) for i in range(N)]


def svm_terms(X, y, dS):
    """The column updates of the naive SVM loop, in its order: for each example i, each
    class j with a positive margin adds X[i] / N to column j and takes it from column y[i]."""
    N = X.shape[0]
    terms = []
    for i in range(N):
        for j in np.flatnonzero(dS[i] > 0):
            terms += [((slice(None), j), X[i] / N), ((slice(None), y[i]), -X[i] / N)]
    return terms


def loss_mistakes(data_loss, W, reg, N):
    """The typical wrong losses: the data loss not averaged, the penalty missing or scaled."""
    penalty = reg * np.sum(W * W)
    mistakes = [
        Mistake(
            N * data_loss + penalty,
            "did you forget to divide by the batch size N? the data loss is a mean",
            "factor",
        )
    ]
    if reg > 0:
        mistakes += [
            Mistake(
                data_loss,
                "the loss misses the regularisation term reg * sum(W**2)",
                "missing term",
            ),
            Mistake(
                data_loss + 0.5 * penalty,
                "the regularisation term is reg * sum(W**2), without a factor 1/2",
                "factor",
            ),
        ]
        if N > 1:
            mistakes.append(
                Mistake(
                    data_loss + penalty / N,
                    "the regularisation term reg * sum(W**2) is not divided by N",
                    "factor",
                )
            )
    return mistakes


def linear_probe(W, X, y, reg, loss, dS):
    """The Probe of a linear classifier's loss(W, X, y, reg) -> (loss, dW), with dS(S, y) the
    derivative of each example's loss with respect to its scores."""

    def trusted(W, X, y, reg):
        return loss(W, X, y, reg), X.T @ dS(X @ W, y) / len(X) + 2 * reg * W

    def defined(W, X, y, reg):  # every label a class, every hinge margin off its kink
        margins = hinge_margins(X @ W, y) if y.max() < W.shape[1] else None
        return margins is not None and np.all(np.abs(margins[margins != 0] - 0) > 1e-9)

    return Probe(
        {"W": (W, "D C"), "X": (X, "N D"), "y": (y, "N"), "reg": (reg, "")},
        in_order,
        trusted,
        ("loss", "dW"),
        switches=(Switch("reg = 0", "the regularization term is off", {"reg": 0.0}), ONE_EXAMPLE),
        smallest={"C": 2},
        valid=defined,
    )


def _case(N, D, C, reg, scale, gap=None):
    text = f"X of shape {(N, D)}, W of shape {(D, C)}, reg={reg:g}"
    if scale != 1:
        text += f", W entries of size ~{scale:g}"
    if gap is not None and gap > 0.05:
        text += f", every margin at least {gap:g} from the hinge"
    return text


@stdout_only
def check_svm_loss(svm_loss, N=5, D=4, C=3, reg=0.1, seed=0, scale=1.0, gap=0.05):
    """(loss, dW) of the mean multiclass hinge loss plus reg * sum(W**2)."""
    W, X, y = _problem("svm", seed, N, D, C, scale, gap)
    S = X @ W
    rows = np.arange(N)
    loss = svm_loss_value(W, X, y, reg)
    dW = numerical_gradient(lambda W_: svm_loss_value(W_, X, y, reg), W)

    dS = svm_dS(S, y)
    positive = (hinge_margins(S, y) > 0).astype(np.float64)
    no_count = positive.copy()  # correct-class column left at 0
    with_self = positive.copy()  # the j = y term (margin 1) counted as well
    with_self[rows, y] = -(positive.sum(axis=1) + 1)
    minus_one = positive.copy()  # -1 instead of -count
    minus_one[rows, y] = -1.0
    wrong_dS = [
        (
            no_count,
            "the correct-class column is missing its -count: dS[i, y[i]] = -(number of "
            "classes j != y[i] with a positive margin)",
            "missing term",
        ),
        (
            with_self,
            "the j = y[i] term was counted: its margin s_y - s_y + 1 = 1 is always positive, "
            "leave it out (set it to 0) before counting",
        ),
        (
            minus_one,
            "the correct class gets -1 for every positive margin, so -count in total, not -1",
        ),
    ]
    data_loss = loss - reg * np.sum(W * W)
    svm_mistakes = [
        Mistake(
            loss + 1,
            "the loss is 1 too large: leave the j = y[i] term out of the sum, its margin "
            "max(0, s_y - s_y + 1) = 1 is not a mistake of the classifier",
        ),
        Mistake(
            np.sum(hinge_margins(S, y)) / N + reg * np.sum(W * W),
            "negative margins were added to the loss: take max(0, margin)",
        ),
        *loss_mistakes(data_loss, W, reg, N),
    ]
    probe = linear_probe(W, X, y, reg, svm_loss_value, svm_dS)
    with Check("svm_loss", svm_loss, _case(N, D, C, reg, scale, gap), probe) as check:
        got_loss, got_dW = check.unpack(check.call(W, X, y, reg), ("loss", "dW"), (loss, dW))
        check.compare("loss", got_loss, loss, factors=batch_factors(N), mistakes=svm_mistakes)
        check.compare(
            "dW",
            got_dW,
            dW,
            factors=batch_factors(N),
            mistakes=dW_mistakes(X, W, y, reg, dS, wrong_dS),
            sums=Sum(svm_terms(X, y, dS), "example", base=2 * reg * W),
        )


@stdout_only
def check_softmax_loss(softmax_loss, N=5, D=4, C=3, reg=0.1, seed=0, scale=1.0):
    """(loss, dW) of the mean softmax cross-entropy plus reg * sum(W**2)."""
    W, X, y = _problem("softmax", seed, N, D, C, scale, 0.0)
    S = X @ W
    loss = softmax_loss_value(W, X, y, reg)
    dS = softmax_dS(S, y)
    if scale <= 10:
        dW = numerical_gradient(lambda W_: softmax_loss_value(W_, X, y, reg), W)
    else:  # central differences lose digits at this scale; use the derived identity
        dW = X.T @ dS / N + 2 * reg * W
    p = softmax(S)
    over_batch = np.exp(S - S.max(axis=0))
    over_batch /= over_batch.sum(axis=0)
    batch_axis = (
        "the probabilities were normalised over axis 0, over the batch: each row of "
        "scores is one example, softmax along axis 1"
    )
    wrong_dS = [
        (p, "the correct class is missing its -1: dS = p - onehot(y)", "missing term"),
        (over_batch - one_hot(y, C), batch_axis, "axis"),
    ]
    wrong_dS += [(wrong, ROWS_MINUS_ONE) for wrong in rows_minus_one(p, y)]
    penalty = reg * np.sum(W * W)
    wrong_loss = [
        *loss_mistakes(cross_entropy(S, y), W, reg, N),
        Mistake(-np.mean(np.log(over_batch[np.arange(N), y])) + penalty, batch_axis, "axis"),
    ]
    probe = linear_probe(W, X, y, reg, softmax_loss_value, softmax_dS)
    with Check("softmax_loss", softmax_loss, _case(N, D, C, reg, scale), probe) as check:
        got_loss, got_dW = check.unpack(check.call(W, X, y, reg), ("loss", "dW"), (loss, dW))
        check.compare(
            "loss",
            got_loss,
            loss,
            factors=batch_factors(N),
            mistakes=wrong_loss,
            stable_hint=STABLE,
        )
        check.compare(
            "dW",
            got_dW,
            dW,
            factors=batch_factors(N),
            mistakes=dW_mistakes(X, W, y, reg, dS, wrong_dS),
            sums=Sum(per_example_terms(X, dS), "example", base=2 * reg * W),
            stable_hint=STABLE,
            rtol=1e-6 if scale <= 10 else 1e-9,
        )
