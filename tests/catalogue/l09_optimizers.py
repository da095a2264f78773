"""Lesson 09: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "09_optimizers"


# ---------------------------------------------------------------- gradient_descent


@wrong("gradient_descent", "the iterates climb", "sign")
def gradient_descent_ascent(grad_f, x0, lr, steps):
    xs = [x0]
    for _ in range(steps):
        xs.append(xs[-1] + lr * grad_f(xs[-1]))
    return np.array(xs)


@wrong("gradient_descent", "every row is the last iterate", "formula")
def gradient_descent_appends_the_same_array(grad_f, x0, lr, steps):
    x = x0.copy()
    xs = [x]
    for _ in range(steps):
        x -= lr * grad_f(x)
        xs.append(x)
    return np.array(xs)


@wrong("gradient_descent", "every step used grad_f(x0)", "wrong point")
def gradient_descent_stale_gradient(grad_f, x0, lr, steps):
    g = grad_f(x0)
    xs = [x0]
    for _ in range(steps):
        xs.append(xs[-1] - lr * g)
    return np.array(xs)


@wrong("gradient_descent", "x0 is missing", "shape")
def gradient_descent_without_x0(grad_f, x0, lr, steps):
    xs, x = [], x0
    for _ in range(steps):
        x = x - lr * grad_f(x)
        xs.append(x)
    return np.array(xs)


@wrong("gradient_descent", "modified its input `x0` in place", "modified input")
def gradient_descent_in_place(grad_f, x0, lr, steps):
    xs = [x0.copy()]
    for _ in range(steps):
        x0 -= lr * grad_f(x0)
        xs.append(x0.copy())
    return np.array(xs)


@wrong("gradient_descent", "only the last iterate was returned", "shape")
def gradient_descent_last_only(grad_f, x0, lr, steps):
    x = x0
    for _ in range(steps):
        x = x - lr * grad_f(x)
    return x


@right("gradient_descent")
def gradient_descent_preallocated(grad_f, x0, lr, steps):
    xs = np.empty((steps + 1, len(x0)))
    xs[0] = x0
    for k in range(steps):
        xs[k + 1] = xs[k] - lr * np.asarray(grad_f(xs[k]))
    return xs


@right("gradient_descent")
def gradient_descent_returns_a_list(grad_f, x0, lr, steps):
    xs = [x0]
    while len(xs) <= steps:
        xs.append(xs[-1] - lr * grad_f(xs[-1]))
    return xs


# ---------------------------------------------------------------- max_stable_learning_rate


@wrong("max_stable_learning_rate", "that is 1 / lambda_max", "factor")
def stable_rate_one_over_lambda(A):
    return 1 / np.max(np.linalg.eigvalsh(A))


@wrong("max_stable_learning_rate", "that is 2 / lambda_min", "formula")
def stable_rate_smallest_eigenvalue(A):
    return 2 / np.min(np.linalg.eigvalsh(A))


@wrong("max_stable_learning_rate", "the largest entry of A (on its diagonal)", "formula")
def stable_rate_from_the_diagonal(A):
    return 2 / np.max(np.diag(A))


@wrong("max_stable_learning_rate", "that is 2 / trace(A)", "formula")
def stable_rate_from_the_trace(A):
    return 2 / np.trace(A)


@wrong("max_stable_learning_rate", "that is lambda_max itself", "formula")
def stable_rate_is_the_eigenvalue(A):
    return np.linalg.eigvalsh(A)[-1]


@right("max_stable_learning_rate")
def stable_rate_spectral_norm(A):
    return 2 / np.linalg.norm(A, 2)  # for a symmetric positive definite A, ||A||_2 = lambda_max


@right("max_stable_learning_rate")
def stable_rate_general_eig(A):
    return float(2 / np.max(np.linalg.eig(A)[0].real))


# ---------------------------------------------------------------- momentum_step


@wrong("momentum_step", "lr is applied twice", "factor")
def momentum_lr_twice(w, dw, v, lr, mu):
    v_next = mu * v - lr * dw
    return w + lr * v_next, v_next


@wrong("momentum_step", "w moved with the old velocity", "order")
def momentum_old_velocity(w, dw, v, lr, mu):
    w_next = w + v
    return w_next, mu * v - lr * dw


@wrong("momentum_step", "the parameters climb", "sign")
def momentum_ascent(w, dw, v, lr, mu):
    v_next = mu * v + lr * dw
    return w + v_next, v_next


@wrong("momentum_step", "exponential-average form", "formula")
def momentum_exponential_average(w, dw, v, lr, mu):
    v_next = mu * v + (1 - mu) * dw
    return w - lr * v_next, v_next


@wrong("momentum_step", "the velocity never decays", "missing term")
def momentum_without_mu(w, dw, v, lr, mu):
    v_next = v - lr * dw
    return w + v_next, v_next


@wrong("momentum_step", "modified its input `w` in place", "modified input")
def momentum_in_place(w, dw, v, lr, mu):
    v_next = mu * v - lr * dw
    w += v_next
    return w, v_next


@right("momentum_step")
def momentum_as_previous_step(w, dw, v, lr, mu):
    """x_{k+1} = x_k - lr g + mu (x_k - x_{k-1}), with the previous step v = x_k - x_{k-1}."""
    w_next = w - lr * dw + mu * v
    return w_next, w_next - w


@right("momentum_step")
def momentum_on_copies(w, dw, v, lr, mu):
    v_next = v.copy()
    v_next *= mu
    v_next -= lr * dw
    w_next = w.copy()
    w_next += v_next
    return w_next, v_next


# ---------------------------------------------------------------- adam_step


@wrong("adam_step", "the bias correction is missing", "missing term")
def adam_without_correction(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    return w - lr * m / (np.sqrt(v) + eps), m, v


@wrong("adam_step", "the bias correction used beta**(t + 1)", "formula")
def adam_t_counted_from_zero(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    m_hat = m / (1 - beta1 ** (t + 1))  # "t starts at 0, so the step number is t + 1"
    v_hat = v / (1 - beta2 ** (t + 1))
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@wrong("adam_step", "is a bias correction 1 - beta**t zero?", "instability")
def adam_correction_one_step_behind(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    m_hat = m / (1 - beta1 ** (t - 1))
    v_hat = v / (1 - beta2 ** (t - 1))
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@wrong("adam_step", "v is missing its factor (1 - beta2)", "missing term")
def adam_v_without_one_minus_beta(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + dw**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@wrong("adam_step", "you returned the bias-corrected m_hat and v_hat", "formula")
def adam_returns_corrected_moments(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = (beta1 * m + (1 - beta1) * dw) / (1 - beta1**t)
    v = (beta2 * v + (1 - beta2) * dw**2) / (1 - beta2**t)
    return w - lr * m / (np.sqrt(v) + eps), m, v


@wrong("adam_step", "modified its input `m` in place", "modified input")
def adam_updates_m_in_place(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1
    m += (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@wrong("adam_step", "divide by its square root", "formula")
def adam_without_square_root(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (v_hat + eps), m, v


@right("adam_step")
def adam_with_a_corrected_step_size(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Kingma and Ba's faster form: fold both corrections into the step size (as Lesson 08)."""
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    step_size = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return w - step_size * m / (np.sqrt(v) + eps * np.sqrt(1 - beta2**t)), m, v


@right("adam_step")
def adam_entry_by_entry(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w_next, m_next, v_next = np.empty_like(w), np.empty_like(m), np.empty_like(v)
    for ix in np.ndindex(w.shape):
        m_next[ix] = beta1 * m[ix] + (1 - beta1) * dw[ix]
        v_next[ix] = beta2 * v[ix] + (1 - beta2) * dw[ix] ** 2
        m_hat = m_next[ix] / (1 - beta1**t)
        v_hat = v_next[ix] / (1 - beta2**t)
        w_next[ix] = w[ix] - lr * m_hat / (v_hat**0.5 + eps)
    return w_next, m_next, v_next


# ---------------------------------------------------------------- clip_gradients


@wrong("clip_gradients", "each array was clipped by its own norm", "formula")
def clip_each_array(grads, max_norm):
    clipped = {}
    for name, g in grads.items():
        norm = np.linalg.norm(g)
        clipped[name] = g * max_norm / norm if norm > max_norm else g
    return clipped


@wrong("clip_gradients", "np.clip clips each entry", "formula")
def clip_by_value(grads, max_norm):
    return {name: np.clip(g, -max_norm, max_norm) for name, g in grads.items()}


@wrong("clip_gradients", "scaled although their global norm is below max_norm", "formula")
def clip_always_rescales(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    return {name: g * max_norm / norm for name, g in grads.items()}


@wrong("clip_gradients", "the sum of the arrays' norms", "formula")
def clip_with_the_sum_of_norms(grads, max_norm):
    norm = sum(np.linalg.norm(g) for g in grads.values())
    scale = min(1.0, max_norm / norm)
    return {name: g * scale for name, g in grads.items()}


@wrong("clip_gradients", "modified its input `grads` in place", "modified input")
def clip_in_place(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return grads


@wrong("clip_gradients", "returned a list", "type")
def clip_returns_a_list(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    return [g * min(1.0, max_norm / norm) for g in grads.values()]


@right("clip_gradients")
def clip_with_one_long_vector(grads, max_norm):
    norm = np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()]))
    if norm <= max_norm:
        return {name: g.copy() for name, g in grads.items()}
    return {name: g / norm * max_norm for name, g in grads.items()}


@right("clip_gradients")
def clip_with_vdot(grads, max_norm):
    total = 0.0
    for g in grads.values():
        total += np.vdot(g, g)
    scale = max_norm / max(np.sqrt(total), max_norm)
    return {name: scale * g for name, g in grads.items()}


@wrong("adam_step", "the bias correction is wrong: w_next is right when t = 10**6", "path")
def adam_step_corrections_swapped(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m_next = beta1 * m + (1 - beta1) * dw
    v_next = beta2 * v + (1 - beta2) * dw**2
    m_hat, v_hat = m_next / (1 - beta2**t), v_next / (1 - beta1**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_next, v_next


@wrong(
    "adam_step", "adam_step returned two different results: it keeps state between calls", "state"
)
def adam_step_counts_its_own_steps(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, seen=[]):  # noqa: B006
    seen.append(t)  # the step number is the number of calls so far, not t
    m_next = beta1 * m + (1 - beta1) * dw
    v_next = beta2 * v + (1 - beta2) * dw**2
    step = len(seen)
    m_hat, v_hat = m_next / (1 - beta1**step), v_next / (1 - beta2**step)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_next, v_next


@wrong(
    "max_stable_learning_rate", "the learning rate: wrong; the smallest case found", "smallest case"
)
def max_stable_learning_rate_from_the_frobenius_norm(A):
    return 2 / np.linalg.norm(A)


@wrong(
    "gradient_descent",
    "holds the first entries of the expected value: a loop or an output size stops too early",
    "shape",
)
def gradient_descent_one_step_short(grad_f, x0, lr, steps):
    xs = [np.array(x0, dtype=float)]
    for _ in range(steps - 1):
        xs.append(xs[-1] - lr * grad_f(xs[-1]))
    return np.array(xs)
