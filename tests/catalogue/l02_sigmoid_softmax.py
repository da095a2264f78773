"""Lesson 02: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "02_sigmoid_softmax"


# sigmoid


@wrong("sigmoid", "overflow encountered in exp", "instability")
def sigmoid_naive(z):
    return 1 / (1 + np.exp(-z))


@wrong("sigmoid", "overflow encountered in exp", "instability")
def sigmoid_where_both_branches(z):
    # right values, but np.where evaluates both branches on every entry
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


@wrong("sigmoid", "you computed 1 - sigmoid(z)", "sign")
def sigmoid_wrong_exponent_sign(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, e / (1 + e), 1 / (1 + e))


@wrong("sigmoid", "that is tanh(z)", "formula")
def sigmoid_is_tanh(z):
    return np.tanh(z)


@wrong("sigmoid", "modified its input `z` in place", "modified input")
def sigmoid_in_place(z):
    negative = z < 0
    z[negative] = -z[negative]  # z is now |z|, and so is the caller's array
    e = np.exp(-z)
    return np.where(negative, e / (1 + e), 1 / (1 + e))


@right("sigmoid")
def sigmoid_via_tanh(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


@right("sigmoid")
def sigmoid_via_logaddexp(z):
    return np.exp(-np.logaddexp(0, -z))


# sigmoid_grad


@wrong("sigmoid_grad", "derivative written in terms of the output", "wrong point")
def sigmoid_grad_of_input(z):
    return z * (1 - z)


@wrong("sigmoid_grad", "derivative of tanh", "formula")
def sigmoid_grad_tanh_formula(z):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return 1 - s**2


@wrong("sigmoid_grad", "the sign is flipped", "sign")
def sigmoid_grad_negated(z):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return s * (s - 1)


@wrong("sigmoid_grad", "overflow encountered in exp", "instability")
def sigmoid_grad_textbook_quotient(z):
    return np.exp(-z) / (1 + np.exp(-z)) ** 2


@wrong("sigmoid_grad", "that is sigmoid(z) itself", "missing term")
def sigmoid_grad_forgot_derivative(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


@right("sigmoid_grad")
def sigmoid_grad_even_formula(z):
    e = np.exp(-np.abs(z))
    return e / (1 + e) ** 2


@right("sigmoid_grad")
def sigmoid_grad_via_tanh(z):
    s = 0.5 * (1 + np.tanh(0.5 * z))
    return s * (1 - s)


# two_class_logits


@wrong("two_class_logits", "the columns are swapped", "order")
def two_class_logits_swapped(z):
    return np.stack([np.zeros_like(z), z], axis=1)


@wrong("two_class_logits", "one row per example is expected", "transpose")
def two_class_logits_rows(z):
    return np.stack([z, np.zeros_like(z)])


@wrong("two_class_logits", "its softmax is sigmoid(2z)", "formula")
def two_class_logits_symmetric(z):
    return np.stack([z, -z], axis=1)


@wrong("two_class_logits", "the second logit must be 0 (its exponential", "formula")
def two_class_logits_exp_zero(z):
    return np.stack([z, np.ones_like(z)], axis=1)


@wrong("two_class_logits", "these are the probabilities", "formula")
def two_class_logits_probabilities(z):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return np.stack([s, 1 - s], axis=1)


@wrong("two_class_logits", "these logits give the right probabilities", "missing term")
def two_class_logits_centred(z):
    return np.stack([z / 2, -z / 2], axis=1)  # the same softmax, but not [z, 0]


@right("two_class_logits")
def two_class_logits_column_stack(z):
    return np.column_stack((z, np.zeros(len(z))))


@right("two_class_logits")
def two_class_logits_fill(z):
    out = np.zeros((z.shape[0], 2))
    out[:, 0] = z
    return out


# sigmoid_logit


@wrong("sigmoid_logit", "z2 - z1 is the logit of the second class", "sign")
def sigmoid_logit_reversed(logits):
    return logits[:, 1] - logits[:, 0]


@wrong("sigmoid_logit", "you returned z1", "missing term")
def sigmoid_logit_first_only(logits):
    return logits[:, 0]


@wrong("sigmoid_logit", "you subtracted the rows", "axis")
def sigmoid_logit_rows(logits):
    return logits[0] - logits[1]


@wrong("sigmoid_logit", "this is the probability p1", "formula")
def sigmoid_logit_probability(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e[:, 0] / e.sum(axis=1)


@wrong("sigmoid_logit", "divide by zero", "instability")
def sigmoid_logit_log_odds(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return np.log(p[:, 0] / p[:, 1])


@wrong("sigmoid_logit", "an extra or missing axis of length 1", "shape")
def sigmoid_logit_keepdims(logits):
    return logits[:, :1] - logits[:, 1:]


@right("sigmoid_logit")
def sigmoid_logit_matmul(logits):
    return logits @ np.array([1.0, -1.0])


@right("sigmoid_logit")
def sigmoid_logit_diff(logits):
    return -np.diff(logits, axis=1)[:, 0]


# binary_cross_entropy


@wrong("binary_cross_entropy", "divide by zero encountered in log", "instability")
def bce_log_of_sigmoid(z, y):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    loss = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    return loss, (s - y) / len(z)


@wrong("binary_cross_entropy", "clipping p (or adding a small eps)", "instability")
def bce_clipped(z, y):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    p = np.clip(s, 1e-15, 1 - 1e-15)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, (s - y) / len(z)


@wrong("binary_cross_entropy", "clipping p (or adding a small eps)", "instability")
def bce_plus_eps(z, y):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    loss = -np.mean(y * np.log(s + 1e-7) + (1 - y) * np.log(1 - s + 1e-7))
    return loss, (s - y) / len(z)


@wrong("binary_cross_entropy", "did you forget to divide by the batch size N?", "factor")
def bce_gradient_without_mean(z, y):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return np.mean(np.logaddexp(0, z) - y * z), s - y


@wrong("binary_cross_entropy", "did you forget to divide by the batch size N?", "factor")
def bce_summed_loss(z, y):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return np.sum(np.logaddexp(0, z) - y * z), (s - y) / len(z)


@wrong("binary_cross_entropy", "gradient of a squared error", "formula")
def bce_extra_sigmoid_derivative(z, y):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return np.mean(np.logaddexp(0, z) - y * z), (s - y) * s * (1 - s) / len(z)


@wrong("binary_cross_entropy", "the sign is flipped", "sign")
def bce_gradient_flipped(z, y):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return np.mean(np.logaddexp(0, z) - y * z), (y - s) / len(z)


@wrong("binary_cross_entropy", "the labels are swapped", "order")
def bce_labels_swapped(z, y):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return np.mean(np.logaddexp(0, z) - (1 - y) * z), (s - (1 - y)) / len(z)


@right("binary_cross_entropy")
def bce_two_softplus_terms(z, y):
    loss = np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))
    return loss, (0.5 * (1 + np.tanh(0.5 * z)) - y) / len(z)


@right("binary_cross_entropy")
def bce_loop(z, y):
    N = len(z)
    loss, dz = 0.0, np.zeros(N)
    for i in range(N):
        # softplus(z) - y z = max(z, 0) + log(1 + exp(-|z|)) - y z
        loss += max(z[i], 0.0) + np.log1p(np.exp(-abs(z[i]))) - y[i] * z[i]
        e = np.exp(-abs(z[i]))
        s = 1 / (1 + e) if z[i] >= 0 else e / (1 + e)
        dz[i] = (s - y[i]) / N
    return loss / N, dz


# ---------------------------------------------------------------- general mistakes (issue 10)


@wrong("sigmoid", "sigmoid(2z)", "wrong point")
def sigmoid_tanh_without_the_half(z):
    return 0.5 * (1 + np.tanh(z))


@wrong("sigmoid", "you computed 1 - sigmoid(z)", "sign")
def sigmoid_stable_branches_swapped(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, e / (1 + e), 1 / (1 + e))


@wrong("sigmoid_grad", "s * (1 - z)", "wrong point")
def sigmoid_grad_mixes_input_and_output(z):
    s = 0.5 * (1 + np.tanh(0.5 * z))
    return s * (1 - z)


@wrong("sigmoid_grad", "sigmoid'(s)", "wrong point")
def sigmoid_grad_at_the_output(z):
    s = 0.5 * (1 + np.tanh(0.5 * z))
    t = 0.5 * (1 + np.tanh(0.5 * s))
    return t * (1 - t)


@wrong("two_class_logits", "the transpose, reshaped to (10,)", "transpose")
def two_class_logits_concatenated(z):
    return np.concatenate([z, np.zeros_like(z)])


@wrong("two_class_logits", "the transpose, reshaped to (5, 2)", "transpose")
def two_class_logits_reshaped(z):
    return np.array([z, np.zeros_like(z)]).reshape(len(z), 2)


@wrong("sigmoid_logit", "an extra or missing axis of length 1", "shape")
def sigmoid_logit_np_diff(logits):
    return np.diff(logits, axis=1)


@wrong("sigmoid_logit", "its diagonal is the expected value", "shape")
def sigmoid_logit_broadcast_column(logits):
    return logits[:, 0] - logits[:, 1:]


@wrong("binary_cross_entropy", "at z instead of at sigmoid(z)", "wrong point")
def bce_gradient_of_the_logits(z, y):
    loss = np.mean(np.logaddexp(0, z) - y * z)
    return loss, (z - y) / len(z)


@wrong("binary_cross_entropy", "averaged over axis 0 it is right", "axis")
def bce_loss_per_example(z, y):
    loss = np.logaddexp(0, z) - y * z
    s = np.exp(-np.logaddexp(0, -z))
    return loss, (s - y) / len(z)


@wrong("sigmoid_grad", "is right where z < 0 and wrong where z > 0", "region")
def sigmoid_grad_doubled_for_positive_z(z):
    s = 0.5 * (1 + np.tanh(z / 2))
    return np.where(z > 0, 2 * s * (1 - s), s * (1 - s))
