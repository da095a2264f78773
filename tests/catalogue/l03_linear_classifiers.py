"""Lesson 03: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "03_linear_classifiers"


# svm_loss


@wrong("svm_loss", "did you forget to divide by the batch size N?", "factor")
def svm_gradient_without_mean(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.sum(np.maximum(0, margins)) / N + reg * np.sum(W**2)
    dS = (margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    return loss, X.T @ dS + 2 * reg * W


@wrong("svm_loss", "is 2 * reg * W, not reg * W", "factor")
def svm_reg_gradient_without_two(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.sum(np.maximum(0, margins)) / N + reg * np.sum(W**2)
    dS = (margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    return loss, X.T @ dS / N + reg * W


@wrong("svm_loss", "the j = y[i] term was counted", "formula")
def svm_counts_the_correct_class(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1  # the j = y[i] entries are 1, not 0
    loss = (np.sum(np.maximum(0, margins)) - N) / N + reg * np.sum(W**2)
    dS = (margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    return loss, X.T @ dS / N + 2 * reg * W


@wrong("svm_loss", "the loss is 1 too large", "formula")
def svm_loss_counts_the_correct_class(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    loss = np.sum(np.maximum(0, margins)) / N + reg * np.sum(W**2)
    margins[rows, y] = 0
    dS = (margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    return loss, X.T @ dS / N + 2 * reg * W


@wrong("svm_loss", "missing its -count", "missing term")
def svm_without_correct_class_column(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.sum(np.maximum(0, margins)) / N + reg * np.sum(W**2)
    dS = (margins > 0).astype(float)
    return loss, X.T @ dS / N + 2 * reg * W


@wrong("svm_loss", "-count in total, not -1", "formula")
def svm_minus_one_for_correct_class(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.sum(np.maximum(0, margins)) / N + reg * np.sum(W**2)
    dS = (margins > 0).astype(float)
    dS[rows, y] = -1
    return loss, X.T @ dS / N + 2 * reg * W


@wrong("svm_loss", "transpose", "transpose")
def svm_dW_transposed(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.sum(np.maximum(0, margins)) / N + reg * np.sum(W**2)
    dS = (margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    return loss, dS.T @ X / N + 2 * reg * W.T


@wrong("svm_loss", "it is not a transpose", "transpose")
def svm_dW_reshaped(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.sum(np.maximum(0, margins)) / N + reg * np.sum(W**2)
    dS = (margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    return loss, (dS.T @ X / N).reshape(W.shape) + 2 * reg * W


@wrong("svm_loss", "has the wrong sign", "sign")
def svm_flipped_data_gradient(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.sum(np.maximum(0, margins)) / N + reg * np.sum(W**2)
    dS = -(margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    return loss, X.T @ dS / N + 2 * reg * W


@wrong("svm_loss", "negative margins were added", "formula")
def svm_without_max(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.sum(margins) / N + reg * np.sum(W**2)
    dS = (margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    return loss, X.T @ dS / N + 2 * reg * W


@wrong("svm_loss", "misses the regularisation term", "missing term")
def svm_loss_without_penalty(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.sum(np.maximum(0, margins)) / N
    dS = (margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    return loss, X.T @ dS / N + 2 * reg * W


@right("svm_loss")
def svm_loops(W, X, y, reg):
    # the classic naive version: one example and one class at a time
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(N):
        scores = X[i] @ W
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W


@right("svm_loss")
def svm_einsum_one_hot(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    S = np.einsum("nd,dc->nc", X, W)
    Y = np.eye(C)[y]
    correct = np.sum(S * Y, axis=1, keepdims=True)
    active = (S - correct + 1 > 0) & (Y == 0)
    loss = np.sum((S - correct + 1) * active) / N + reg * np.einsum("dc,dc->", W, W)
    dS = active - Y * active.sum(axis=1, keepdims=True)
    return loss, np.einsum("nd,nc->dc", X, dS) / N + 2 * reg * W


# softmax_loss


@wrong("softmax_loss", "did you forget to divide by the batch size N?", "factor")
def softmax_gradient_without_mean(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    shifted = S - S.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dS = np.exp(log_p)
    dS[rows, y] -= 1
    return -log_p[rows, y].mean() + reg * np.sum(W**2), X.T @ dS + 2 * reg * W


@wrong("softmax_loss", "is 2 * reg * W, not reg * W", "factor")
def softmax_reg_gradient_without_two(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    shifted = S - S.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dS = np.exp(log_p)
    dS[rows, y] -= 1
    return -log_p[rows, y].mean() + reg * np.sum(W**2), X.T @ dS / N + reg * W


@wrong("softmax_loss", "the correct class is missing its -1", "missing term")
def softmax_without_one_hot(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    shifted = S - S.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dS = np.exp(log_p)
    return -log_p[rows, y].mean() + reg * np.sum(W**2), X.T @ dS / N + 2 * reg * W


@wrong("softmax_loss", "transpose", "transpose")
def softmax_dW_transposed(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    shifted = S - S.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dS = np.exp(log_p)
    dS[rows, y] -= 1
    return -log_p[rows, y].mean() + reg * np.sum(W**2), dS.T @ X / N + 2 * reg * W.T


@wrong("softmax_loss", "has the wrong sign", "sign")
def softmax_one_hot_minus_p(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    shifted = S - S.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dS = -np.exp(log_p)
    dS[rows, y] += 1
    return -log_p[rows, y].mean() + reg * np.sum(W**2), X.T @ dS / N + 2 * reg * W


@wrong("softmax_loss", "`p[y] -= 1` subtracts 1 from whole rows", "formula")
def softmax_rows_minus_one(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    shifted = S - S.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dS = np.exp(log_p)
    dS[y] -= 1
    return -log_p[rows, y].mean() + reg * np.sum(W**2), X.T @ dS / N + 2 * reg * W


@wrong("softmax_loss", "NaN or inf", "instability")
def softmax_without_max_shift(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    e = np.exp(X @ W)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[rows, y])) + reg * np.sum(W**2)
    dS = p.copy()
    dS[rows, y] -= 1
    return loss, X.T @ dS / N + 2 * reg * W


@wrong("softmax_loss", "without a factor 1/2", "factor")
def softmax_half_penalty(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    shifted = S - S.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dS = np.exp(log_p)
    dS[rows, y] -= 1
    return -log_p[rows, y].mean() + 0.5 * reg * np.sum(W**2), X.T @ dS / N + reg * W


@right("softmax_loss")
def softmax_loops(W, X, y, reg):
    N = X.shape[0]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(N):
        scores = X[i] @ W
        scores = scores - scores.max()
        p = np.exp(scores) / np.sum(np.exp(scores))
        loss -= scores[y[i]] - np.log(np.sum(np.exp(scores)))
        p[y[i]] -= 1
        dW += np.outer(X[i], p)
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W


@right("softmax_loss")
def softmax_one_hot_matrix(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    S = X @ W
    m = S.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(S - m).sum(axis=1))
    Y = np.eye(C)[y]
    loss = np.mean(lse - np.sum(Y * S, axis=1)) + reg * np.sum(W * W)
    P = np.exp(S - lse[:, None])
    return loss, X.T @ (P - Y) / N + 2 * reg * W


# ---------------------------------------------------------------- general mistakes (issue 10)


@wrong("svm_loss", "keeps only the last contribution written to each entry", "accumulation")
def svm_loops_overwrite(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(N):
        scores = X[i] @ W
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] = X[i]
                dW[:, y[i]] = -X[i]
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W


@wrong("svm_loss", "is not divided by N", "factor")
def svm_whole_gradient_divided_by_n(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.maximum(0, margins).sum() / N + reg * np.sum(W * W)
    dS = (margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    return loss, (X.T @ dS + 2 * reg * W) / N


@wrong("softmax_loss", "holds the contribution of the last example only", "accumulation")
def softmax_loops_overwrite(W, X, y, reg):
    N = X.shape[0]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(N):
        scores = X[i] @ W
        scores = scores - scores.max()
        p = np.exp(scores) / np.sum(np.exp(scores))
        loss -= scores[y[i]] - np.log(np.sum(np.exp(scores)))
        p[y[i]] -= 1
        dW = np.outer(X[i], p)
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W


@wrong("softmax_loss", "it is not a transpose", "transpose")
def softmax_dW_reshaped(W, X, y, reg):
    N, (D, C) = X.shape[0], W.shape
    rows = np.arange(N)
    S = X @ W
    p = np.exp(S - S.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[rows, y]).mean() + reg * np.sum(W * W)
    p[rows, y] -= 1
    return loss, (p.T @ X).reshape(D, C) / N + 2 * reg * W


@wrong("softmax_loss", "normalised over axis 0", "axis")
def softmax_normalised_over_the_batch(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    p = np.exp(S - S.max(axis=0))
    p /= p.sum(axis=0)
    loss = -np.log(p[rows, y]).mean() + reg * np.sum(W * W)
    p[rows, y] -= 1
    return loss, X.T @ p / N + 2 * reg * W


@wrong("svm_loss", "the regularization term is off: loss is right when reg = 0", "path")
def svm_loss_penalty_tripled(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    dS = (margins > 0).astype(float)
    dS[rows, y] = -dS.sum(axis=1)
    loss = np.maximum(0, margins).sum() / N + 3 * reg * np.sum(W * W)
    return loss, X.T @ dS / N + 2 * reg * W
