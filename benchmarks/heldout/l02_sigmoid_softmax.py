import numpy as np

from benchmarks.heldout import mistake

LESSON = "02_sigmoid_softmax"


@mistake(
    "sigmoid",
    "the two branches are chosen with np.where but both are the unsafe textbook formulas, so "
    "exp overflows for large |z| and numpy warns (and the unused branch is inf / inf)",
    ("overflow", "warning", "exp(-|z|)", "both branches"),
)
def sigmoid_where_with_unsafe_branches(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


@mistake(
    "sigmoid",
    "the safe exponential exp(-|z|) is used in the formula for z >= 0 everywhere, so the sign "
    "of z is lost: negative logits get sigmoid(|z|) > 1/2",
    ("negative z", "z < 0", "sigmoid(|z|)", "branch"),
)
def sigmoid_loses_sign(z):
    return 1 / (1 + np.exp(-np.abs(z)))


@mistake(
    "sigmoid_grad",
    "the derivative is computed as exp(-z) / (1 + exp(-z))**2 directly, which overflows to "
    "inf / inf = nan for large negative z",
    ("overflow", "nan", "stab", "warning"),
)
def sigmoid_grad_unstable_formula(z):
    e = np.exp(-z)
    return e / (1 + e) ** 2


@mistake(
    "sigmoid_grad",
    "the derivative is written as 1 - s**2 (the tanh derivative) instead of s * (1 - s)",
    ("s * (1 - s)", "s(1 - s)", "tanh", "1 - s**2"),
)
def sigmoid_grad_tanh_form(z):
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return 1 - s**2


@mistake(
    "two_class_logits",
    "the pinned logit comes first: rows [0, z] instead of [z, 0], so the softmax's first "
    "column is 1 - sigmoid(z)",
    ("[z, 0]", "swapped", "column 0", "first column"),
)
def two_class_logits_zero_first(z):
    return np.stack([np.zeros_like(z), z], axis=1)


@mistake(
    "two_class_logits",
    "the logits are stacked along axis 0, giving shape (2, N) instead of (N, 2)",
    ("(n, 2)", "(2, n)", "transpose", "axis=1"),
)
def two_class_logits_stacked_as_rows(z):
    return np.stack([z, np.zeros_like(z)])


@mistake(
    "sigmoid_logit",
    "the difference is taken the wrong way round, z2 - z1, which is the logit of the second class",
    ("z1 - z2", "z2 - z1", "negated", "opposite"),
)
def sigmoid_logit_reversed(logits):
    return logits[:, 1] - logits[:, 0]


@mistake(
    "sigmoid_logit",
    "the logit is computed as the log-odds log(p1 / p2) from the softmax probabilities, which "
    "breaks (inf or nan) once p2 underflows for large logits",
    ("log-odds", "underflow", "infinite", "not finite"),
)
def sigmoid_logit_through_log_odds(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return np.log(p[:, 0] / p[:, 1])


@mistake(
    "binary_cross_entropy",
    "the gradient keeps the sigmoid's derivative: (sigmoid(z) - y) * s * (1 - s) / N, "
    "although it cancels against the logarithm",
    ("sigmoid'", "s * (1 - s)", "cancel", "extra factor"),
)
def binary_cross_entropy_extra_sigmoid_factor(z, y):
    N = z.shape[0]
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    loss = np.mean(np.logaddexp(0, z) - y * z)
    return loss, (s - y) * s * (1 - s) / N


@mistake(
    "binary_cross_entropy",
    "the loss is computed as -[y log s + (1 - y) log(1 - s)] with s = sigmoid(z), so a "
    "confident wrong logit gives log(0): inf or nan, with a numpy warning",
    ("softplus", "logaddexp", "log(0)", "not finite"),
)
def binary_cross_entropy_log_of_sigmoid(z, y):
    N = z.shape[0]
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    loss = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    return loss, (s - y) / N


@mistake(
    "binary_cross_entropy",
    "the gradient has the sign of the log-likelihood, (y - sigmoid(z)) / N, instead of the "
    "loss's (sigmoid(z) - y) / N",
    ("y - sigmoid", "wrong sign", "log-likelihood", "negated"),
)
def binary_cross_entropy_likelihood_sign(z, y):
    N = z.shape[0]
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    loss = np.mean(np.logaddexp(0, z) - y * z)
    return loss, (y - s) / N
