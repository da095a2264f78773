import numpy as np

from benchmarks.heldout import mistake

LESSON = "03_linear_classifiers"


@mistake(
    "svm_loss",
    "the margins of the correct class (always exactly 1) are not zeroed, so every example adds "
    "1 to the loss and its correct-class entry of dS counts one violation too many",
    ("j != y", "j = y", "correct class", "its own margin"),
)
def svm_loss_counts_correct_class(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    loss = np.sum(np.maximum(0, margins)) / N + reg * np.sum(W**2)
    dS = (margins > 0).astype(float)
    dS[rows, y] = -np.sum(dS, axis=1)
    dW = X.T @ dS / N + 2 * reg * W
    return loss, dW


@mistake(
    "svm_loss",
    "the correct-class entry of dS is set to -1 instead of minus the number of violated "
    "margins of that example",
    ("number of violated", "count", "minus the number", "violations"),
)
def svm_loss_correct_class_minus_one(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1
    margins[rows, y] = 0
    loss = np.sum(np.maximum(0, margins)) / N + reg * np.sum(W**2)
    dS = (margins > 0).astype(float)
    dS[rows, y] = -1
    dW = X.T @ dS / N + 2 * reg * W
    return loss, dW


@mistake(
    "svm_loss",
    "in a loop over examples and classes, dW[:, j] = X[i] overwrites the column instead of "
    "adding to it, so only the last example that violates each margin counts",
    ("+=", "accumulat", "overwrit", "only the last"),
)
def svm_loss_loop_overwrites_columns(W, X, y, reg):
    N, K = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(N):
        scores = X[i] @ W
        for j in range(K):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] = X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / N + reg * np.sum(W**2)
    dW = dW / N + 2 * reg * W
    return loss, dW


@mistake(
    "softmax_loss",
    "log_p[:, y] picks, for every row, the log-probabilities of all N labels, so the loss is "
    "the mean of an (N, N) matrix instead of each row's own label",
    ("np.arange", "fancy index", "each row's label", "log_p[:, y]"),
)
def softmax_loss_label_column_indexing(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    shifted = S - np.max(S, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(log_p[:, y]) + reg * np.sum(W**2)
    dS = np.exp(log_p)
    dS[rows, y] -= 1
    dW = X.T @ dS / N + 2 * reg * W
    return loss, dW


@mistake(
    "softmax_loss",
    "dS is built from the log-probabilities instead of the probabilities: log P - Y",
    ("log-probabilities", "probabilities p", "exp(", "p - y"),
)
def softmax_loss_gradient_from_log_probabilities(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    shifted = S - np.max(S, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(log_p[rows, y]) + reg * np.sum(W**2)
    dS = log_p.copy()
    dS[rows, y] -= 1
    dW = X.T @ dS / N + 2 * reg * W
    return loss, dW


@mistake(
    "softmax_loss",
    "the penalty's gradient is reg * W instead of 2 * reg * W",
    ("2 * reg", "factor of 2", "regulari", "penalty"),
)
def softmax_loss_penalty_gradient_halved(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    shifted = S - np.max(S, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(log_p[rows, y]) + reg * np.sum(W**2)
    dS = np.exp(log_p)
    dS[rows, y] -= 1
    dW = X.T @ dS / N + reg * W
    return loss, dW
