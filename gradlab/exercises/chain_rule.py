"""Lesson 00: central differences and Jacobians, checked against derived gradients."""

import numpy as np

from gradlab.checking import Check, Factor, Mistake, Probe, any_shape, simulated, stdout_only
from gradlab.inputs import rng_for

CENTRAL = Factor(2.0, "2", "a central difference divides by 2h, not by h")


def wavy(x):
    """A scalar test function f(x) = sum(sin(x) * x**2) + sum(x)**2 / 4 with a known gradient.

    The coupling term makes every partial derivative depend on every entry, so that an entry
    left nudged (not restored) changes the later ones.
    """
    return np.sum(np.sin(x) * x**2) + np.sum(x) ** 2 / 4


def wavy_gradient(x):
    """Product rule and chain rule: cos(x) x**2 + 2 x sin(x) + sum(x) / 2."""
    return np.cos(x) * x**2 + 2 * x * np.sin(x) + np.sum(x) / 2


def differences(f, x, h, mistake=None):
    """Central differences of f at every entry of x, or what a typical wrong version gives.

    An array like x for a scalar f, the (m, n) Jacobian for a vector f of 1-D x. mistake is
    one of None, "one_sided" ((f(x + h) - f(x)) / h), "not_restored" (each entry is left at
    x - h after its turn) and "all_at_once" (every entry nudged together).
    """
    x = x.copy()
    columns = []
    for ix in np.ndindex(x.shape):
        step = np.zeros_like(x)
        if mistake == "all_at_once":
            step += h
        else:
            step[ix] = h
        minus = x if mistake == "one_sided" else x - step
        columns.append((f(x + step) - f(minus)) / (h if mistake == "one_sided" else 2 * h))
        if mistake == "not_restored":
            x[ix] -= h
    return np.stack(columns, axis=-1).reshape(np.shape(f(x)) + x.shape)


DIFFERENCE_MISTAKES = {
    "one_sided": (
        "formula",
        "this is the one-sided difference (f(x + h) - f(x)) / h, whose error is O(h); use "
        "(f(x + h) - f(x - h)) / (2h), whose error is O(h**2)",
    ),
    "not_restored": (
        "wrong point",
        "each entry was left at x - h after its turn, so the later differences are taken at "
        "a moved point: restore x[i] to its old value",
    ),
    "all_at_once": (
        "wrong point",
        "every entry was nudged at once (x + h): nudge one entry at a time, with a step "
        "that is h at that entry and 0 elsewhere",
    ),
}


def difference_mistakes(f, x, h, label):
    """The Mistakes of numerical differences of f at x, simulated from `differences`."""
    return simulated(differences, DIFFERENCE_MISTAKES, f, x, h, names=(label,))[label]


@stdout_only
def check_numerical_gradient(numerical_gradient, shape=(3, 4), seed=0, h=1e-5):
    """numerical_gradient(f, x, h) must match the derived gradient of `wavy`."""
    x = rng_for(seed).normal(size=shape)
    expected = wavy_gradient(x)
    mistakes = difference_mistakes(wavy, x, h, "the gradient")
    if x.ndim > 1:  # what nudging x[i], a whole row, gives
        mistakes.append(
            Mistake(
                expected.reshape(len(x), -1).sum(axis=1),
                "one number per row: on a 2-D array x[i] is a whole row; "
                "visit every entry with np.ndindex(x.shape)",
                "axis",
            )
        )
    case = f"f(x) = sum(sin(x) * x**2) + sum(x)**2 / 4, x of shape {shape}"
    probe = Probe(
        {"x": (x, any_shape(shape))},
        lambda x: (wavy, x, h),
        lambda f, x, h: wavy_gradient(x),
        ("the gradient",),
        rtol=1e-7,
    )
    with Check("numerical_gradient", numerical_gradient, case, probe) as check:
        grad = check.call(wavy, x, h)
        check.compare(
            "the gradient",
            grad,
            expected,
            factors=[CENTRAL],
            mistakes=mistakes,
            rtol=1e-7,
            atol=1e-8,
        )


def curl(x):
    """A vector test function R^3 -> R^2 with a known Jacobian."""
    return np.array([x[0] * x[1], np.sin(x[2]) + x[0] ** 2])


def curl_jacobian(x):
    """The Jacobian of `curl`: rows are outputs, columns are inputs."""
    return np.array(
        [[x[1], x[0], 0.0], [2 * x[0], 0.0, np.cos(x[2])]],
    )


def square_map(x):
    """A vector test function R^n -> R^n whose Jacobian is not symmetric."""
    return np.tanh(np.cumsum(x)) * x


def square_map_jacobian(x):
    """d/dx_j of tanh(s_i) x_i with s = cumsum(x): tanh'(s_i) x_i [j <= i] + tanh(s_i) [i = j]."""
    s = np.cumsum(x)
    lower = np.tril(np.ones((x.size, x.size)))
    return (1 - np.tanh(s) ** 2)[:, None] * x[:, None] * lower + np.diag(np.tanh(s))


@stdout_only
def check_numerical_jacobian(numerical_jacobian, n=None, seed=0, h=1e-5):
    """numerical_jacobian(f, x, h) on curl (2 x 3), or on square_map (n x n) when n is given."""
    x = rng_for(seed).normal(size=3 if n is None else n)
    f, jacobian = (curl, curl_jacobian) if n is None else (square_map, square_map_jacobian)
    expected = jacobian(x)
    mistakes = [
        *difference_mistakes(f, x, h, "J"),
        Mistake(
            expected.T,
            "this is the transpose of the Jacobian: row i holds the derivatives of output "
            "f_i, column j those with respect to input x_j",
            "transpose",
        ),
    ]
    case = f"f = {f.__name__}, x of size {x.size}"
    probe = Probe(
        {"x": (x, "3" if n is None else "n")},  # curl takes 3 inputs, square_map any number
        lambda x: (f, x, h),
        lambda f, x, h: jacobian(x),
        ("J",),
        rtol=1e-7,
    )
    with Check("numerical_jacobian", numerical_jacobian, case, probe) as check:
        check.compare(
            "J",
            check.call(f, x, h),
            expected,
            factors=[CENTRAL],
            mistakes=mistakes,
            axes=("output", "input"),
            rtol=1e-7,
            atol=1e-8,
        )
