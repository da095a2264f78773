"""Lesson 00: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "00_chain_rule"


@wrong("numerical_gradient", "one-sided difference", "formula")
def gradient_one_sided(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    fx = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - fx) / h
        x[i] = old
    return grad


@wrong("numerical_gradient", "divides by 2h, not by h", "factor")
def gradient_divided_by_h(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / h
    return grad


@wrong("numerical_gradient", "modified its input `x` in place", "modified input")
def gradient_on_the_callers_array(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


@wrong("numerical_gradient", "left at x - h after its turn", "wrong point")
def gradient_without_restoring(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


@wrong("numerical_gradient", "one number per row", "axis")
def gradient_for_vectors_only(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros(len(x))
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


@right("numerical_gradient")
def gradient_with_flat_views(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    flat = x.reshape(-1)  # a view: writing into it moves x
    grad = np.zeros(flat.size)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + h
        f_plus = f(x)
        flat[k] = old - h
        f_minus = f(x)
        flat[k] = old
        grad[k] = (f_plus - f_minus) / (2 * h)
    return grad.reshape(x.shape)


@right("numerical_gradient")
def gradient_with_nditer(f, x, h=1e-5):
    grad = np.zeros(np.shape(x))
    it = np.nditer(grad, flags=["multi_index"])
    for _ in it:
        e = np.zeros(np.shape(x))
        e[it.multi_index] = h
        grad[it.multi_index] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


@wrong("numerical_jacobian", "transpose", "transpose")
def jacobian_rows_as_inputs(f, x, h=1e-5):
    rows = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        rows.append((f(x + e) - f(x - e)) / (2 * h))
    return np.array(rows)


@wrong("numerical_jacobian", "divides by 2h, not by h", "factor")
def jacobian_divided_by_h(f, x, h=1e-5):
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((f(x + e) - f(x - e)) / h)
    return np.stack(columns, axis=1)


@wrong("numerical_jacobian", "times -1", "sign")
def jacobian_backwards_difference(f, x, h=1e-5):
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((f(x - e) - f(x + e)) / (2 * h))
    return np.stack(columns, axis=1)


@wrong("numerical_jacobian", "one-sided difference", "formula")
def jacobian_one_sided(f, x, h=1e-2):
    fx = f(x)
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((f(x + e) - fx) / h)
    return np.stack(columns, axis=1)


@right("numerical_jacobian")
def jacobian_from_identity_rows(f, x, h=1e-5):
    steps = h * np.eye(x.size)
    return np.array([(f(x + s) - f(x - s)) / (2 * h) for s in steps]).T


# ---------------------------------------------------------------- general mistakes (issue 10)


@wrong("numerical_gradient", "every entry was nudged at once", "wrong point")
def gradient_nudges_every_entry(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        grad[i] = (f(x + h) - f(x - h)) / (2 * h)
    return grad


@wrong("numerical_gradient", "that are 0 where the expected ones are not", "slices")
def gradient_flat_range_one_short(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    flat = x.reshape(-1)
    grad = np.zeros(x.size)
    for i in range(x.size - 1):
        old = flat[i]
        flat[i] = old + h
        f_plus = f(x)
        flat[i] = old - h
        f_minus = f(x)
        flat[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad.reshape(x.shape)


@wrong("numerical_jacobian", "the transpose, reshaped to (2, 3)", "transpose")
def jacobian_columns_reshaped(f, x, h=1e-5):
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((f(x + e) - f(x - e)) / (2 * h))
    m = len(f(x))
    return np.array(columns).reshape(m, x.size)


@wrong("numerical_jacobian", "is the first output of the expected value only", "slices")
def jacobian_first_output_only(f, x, h=1e-5):
    J = np.zeros(x.size)
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        J[j] = (f(x + e)[0] - f(x - e)[0]) / (2 * h)
    return J
