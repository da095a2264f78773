import numpy as np

from benchmarks.heldout import mistake

LESSON = "09_optimizers"


@mistake(
    "gradient_descent",
    "x = x0 and x -= lr * grad_f(x) update one array in place and append it each time: every "
    "row of the result is the last iterate, and the caller's x0 is changed",
    ("in place", "alias", "same array", "modif"),
)
def gradient_descent_in_place_alias(grad_f, x0, lr, steps):
    x = x0
    xs = [x]
    for _ in range(steps):
        x -= lr * grad_f(x)
        xs.append(x)
    return np.stack(xs)


@mistake(
    "gradient_descent",
    "the starting point is not recorded: the result holds x_1, ..., x_steps, shape (steps, n) "
    "instead of (steps + 1, n)",
    ("x0", "steps + 1", "starting point", "off-by-one"),
)
def gradient_descent_without_start(grad_f, x0, lr, steps):
    x = np.array(x0, dtype=float)
    xs = []
    for _ in range(steps):
        x = x - lr * grad_f(x)
        xs.append(x)
    return np.array(xs).reshape(steps, -1)


@mistake(
    "max_stable_learning_rate",
    "2 / eigvalsh(A)[0] uses the smallest eigenvalue (eigvalsh sorts in ascending order) "
    "instead of the largest",
    ("largest", "lambda_max", "smallest", "ascending"),
)
def max_stable_learning_rate_smallest_eigenvalue(A):
    return 2.0 / np.linalg.eigvalsh(A)[0]


@mistake(
    "max_stable_learning_rate",
    "returns 1 / lambda_max, the limit of monotone (non-oscillating) convergence, instead of "
    "2 / lambda_max",
    ("2 / lambda", "factor of 2", "half", "oscillat"),
)
def max_stable_learning_rate_one_over_lambda(A):
    return 1.0 / np.max(np.linalg.eigvalsh(A))


@mistake(
    "momentum_step",
    "the velocity is accumulated with the other sign convention, v = mu * v + lr * dw and "
    "w = w - v: w moves the same way the first time, but the returned velocity has the wrong "
    "sign and later steps go astray",
    ("velocity", "v_next", "mu * v - lr * dw", "convention"),
)
def momentum_step_opposite_velocity_sign(w, dw, v, lr, mu):
    v_next = mu * v + lr * dw
    w_next = w - v_next
    return w_next, v_next


@mistake(
    "momentum_step",
    "w is moved by the old velocity v before it is updated: w_next = w + v instead of w + v_next",
    ("v_next", "old velocity", "new velocity", "w + v"),
)
def momentum_step_moves_with_old_velocity(w, dw, v, lr, mu):
    w_next = w + v
    v_next = mu * v - lr * dw
    return w_next, v_next


@mistake(
    "adam_step",
    "the bias correction uses beta**(t + 1), as if t counted from 0, so the first steps are "
    "corrected too little",
    ("bias correction", "step number", "t + 1", "off-by-one"),
)
def adam_step_correction_off_by_one(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m_next = beta1 * m + (1 - beta1) * dw
    v_next = beta2 * v + (1 - beta2) * dw**2
    m_hat = m_next / (1 - beta1 ** (t + 1))
    v_hat = v_next / (1 - beta2 ** (t + 1))
    w_next = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w_next, m_next, v_next


@mistake(
    "adam_step",
    "the bias-corrected m_hat and v_hat are returned as the new state instead of the running "
    "averages m and v",
    ("m_hat", "corrected", "uncorrected", "running average"),
)
def adam_step_returns_corrected_moments(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m_next = beta1 * m + (1 - beta1) * dw
    v_next = beta2 * v + (1 - beta2) * dw**2
    m_hat = m_next / (1 - beta1**t)
    v_hat = v_next / (1 - beta2**t)
    w_next = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w_next, m_hat, v_hat


@mistake(
    "adam_step",
    "the second moment is corrected with beta1 instead of beta2: v_hat = v / (1 - beta1**t)",
    ("beta2", "v_hat", "second moment", "bias correction"),
)
def adam_step_second_moment_corrected_with_beta1(
    w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8
):
    m_next = beta1 * m + (1 - beta1) * dw
    v_next = beta2 * v + (1 - beta2) * dw**2
    m_hat = m_next / (1 - beta1**t)
    v_hat = v_next / (1 - beta1**t)
    w_next = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w_next, m_next, v_next


@mistake(
    "clip_gradients",
    "each array is clipped by its own norm instead of by the global norm of all arrays "
    "together, which changes the direction of the whole gradient",
    ("global", "all arrays", "own norm", "each array"),
)
def clip_gradients_per_array(grads, max_norm):
    clipped = {}
    for name, g in grads.items():
        norm = np.sqrt(np.sum(g**2))
        clipped[name] = g * min(1.0, max_norm / norm) if norm > 0 else g.copy()
    return clipped


@mistake(
    "clip_gradients",
    "the arrays are scaled in place (g *= scale) and the input dict is returned, so the "
    "caller's gradients are modified",
    ("in place", "modif", "copy", "new dict"),
)
def clip_gradients_in_place(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return grads


@mistake(
    "clip_gradients",
    "the factor is max_norm / norm without min(1, ...), so gradients already below max_norm "
    "are scaled up to it",
    ("min(1", "already below", "unchanged", "scaled up"),
)
def clip_gradients_always_rescales(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    scale = max_norm / norm if norm > 0 else 1.0
    return {name: g * scale for name, g in grads.items()}


@mistake(
    "optimal_fixed_step",
    "the learning rate is 1 / lambda_max, which tames the stiffest direction, instead of "
    "2 / (lambda_min + lambda_max), where the two ends of the spectrum balance",
    ("lambda_min + lambda_max", "lambda_min", "1 / lambda_max", "balance", "meet"),
)
def optimal_fixed_step_one_over_lambda_max(A):
    eigenvalues = np.linalg.eigvalsh(A)
    lr = 1 / eigenvalues[-1]
    return lr, float(np.max(np.abs(1 - lr * eigenvalues)))


@mistake(
    "optimal_fixed_step",
    "2 / np.trace(A): the sum of all the eigenvalues instead of the smallest plus the largest "
    "(the same only for n = 2)",
    ("trace", "all eigenvalues", "lambda_min + lambda_max", "smallest and largest"),
)
def optimal_fixed_step_two_over_trace(A):
    lr = 2 / np.trace(A)
    return lr, float(np.max(np.abs(1 - lr * np.linalg.eigvalsh(A))))


@mistake(
    "optimal_fixed_step",
    "the factor is 1 - lr * lambda_max without the absolute value: at the optimal rate this is "
    "-(kappa - 1) / (kappa + 1), a negative factor",
    ("absolute", "abs", "negative", "sign"),
)
def optimal_fixed_step_rate_without_abs(A):
    eigenvalues = np.linalg.eigvalsh(A)
    lr = 2 / (eigenvalues[0] + eigenvalues[-1])
    return lr, float(1 - lr * eigenvalues[-1])
