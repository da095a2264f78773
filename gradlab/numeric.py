"""Central differences: Lesson 00's answers, given as a tool to the lessons after it.

rel_error (gradlab.compare) is re-exported here, where the lessons' setup cells import it.
"""

import numpy as np

from gradlab.compare import rel_error

__all__ = ["numerical_gradient", "numerical_jacobian", "numerical_vjp", "rel_error"]


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function by central differences.

    Inputs:
    - f: callable taking an array shaped like x and returning a scalar
    - x: array of any shape, the point at which to differentiate
    - h: step size

    Returns:
    - grad: float64 array of the shape of x; x itself is left unchanged
    """
    x = np.array(x, dtype=np.float64)  # a private copy: f may see it, the caller never does
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        f_plus = float(f(x))
        x[ix] = old - h
        f_minus = float(f(x))
        x[ix] = old
        grad[ix] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_vjp(f, x, dout, h=1e-5):
    """Vector-Jacobian product dout^T J_f(x) by central differences.

    For an array-valued f this is the gradient of the scalar sum(f(x) * dout),
    which is exactly what a backward pass computes for upstream gradient dout.

    Inputs:
    - f: callable taking an array shaped like x, returning an array shaped like dout
    - x: array of any shape
    - dout: upstream gradient, shaped like f(x)

    Returns:
    - dx: array of the shape of x
    """
    return numerical_gradient(lambda x_: np.sum(f(x_) * dout), x, h)


def numerical_jacobian(f, x, h=1e-5):
    """Jacobian of a vector-valued function of a vector by central differences.

    Inputs:
    - f: callable mapping a 1-D array of size n to a 1-D array of size m
    - x: 1-D array of size n

    Returns:
    - J: array of shape (m, n) with J[i, j] = d f_i / d x_j
    """
    x = np.array(x, dtype=np.float64)
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * h))
    return np.stack(columns, axis=1)
