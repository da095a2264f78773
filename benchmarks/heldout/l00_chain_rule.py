import numpy as np

from benchmarks.heldout import mistake

LESSON = "00_chain_rule"


@mistake(
    "numerical_gradient",
    "a one-sided (forward) difference (f(x + h) - f(x)) / h instead of the central difference",
    ("one-sided", "forward difference", "central difference", "f(x - h)"),
)
def numerical_gradient_forward_difference(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    f0 = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old
        grad[i] = (f_plus - f0) / h
    return grad


@mistake(
    "numerical_gradient",
    "no copy of x is made and each entry is nudged with += h, -= 2h, += h instead of being "
    "restored from its saved value, so the caller's x is changed by rounding",
    ("modif", "in place", "changed x", "x unchanged"),
)
def numerical_gradient_nudges_callers_x(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        x[i] += h
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


@mistake(
    "numerical_jacobian",
    "the columns are stacked along axis 0, so the result is the transposed (n, m) matrix: "
    "rows are inputs instead of outputs",
    ("transpose", "rows and columns", "(n, m)", "rows are outputs"),
)
def numerical_jacobian_transposed(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(columns, axis=0)


@mistake(
    "numerical_jacobian",
    "the nudge vector e is created once before the loop and never reset, so column j nudges "
    "the inputs 0..j together instead of x_j alone",
    ("one input at a time", "reset", "several inputs", "accumulat"),
)
def numerical_jacobian_nudge_accumulates(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    e = np.zeros_like(x)
    columns = []
    for j in range(x.size):
        e[j] = h
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(columns, axis=1)


@mistake(
    "numerical_jacobian",
    "J is allocated as a square (n, n) matrix, assuming as many outputs as inputs; it fails "
    "(or has the wrong shape) whenever m != n",
    ("(m, n)", "square", "number of outputs", "m != n"),
)
def numerical_jacobian_square_allocation(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    n = x.size
    J = np.zeros((n, n))
    for j in range(n):
        e = np.zeros_like(x)
        e[j] = h
        J[:, j] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h)
    return J
