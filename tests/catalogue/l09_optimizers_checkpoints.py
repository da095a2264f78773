"""Lesson 09's derivation checkpoint, optimal_fixed_step: typical wrong answers and correct
answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "09_optimizers"


@wrong("optimal_fixed_step", "that is 2 / lambda_max, the edge of stability", "formula")
def optimal_step_at_the_edge(A):
    eigenvalues = np.linalg.eigvalsh(A)
    return 2 / eigenvalues[-1], 1.0


@wrong("optimal_fixed_step", "that is 1 / lambda_max", "formula")
def optimal_step_that_removes_the_stiffest_direction(A):
    eigenvalues = np.linalg.eigvalsh(A)
    lr = 1 / eigenvalues[-1]
    return lr, 1 - lr * eigenvalues[0]


@wrong("optimal_fixed_step", "this is the factor: return (lr, rate) in this order", "order")
def optimal_step_swapped(A):
    lam_min, lam_max = np.linalg.eigvalsh(A)[[0, -1]]
    return (lam_max - lam_min) / (lam_max + lam_min), 2 / (lam_min + lam_max)


@wrong("optimal_fixed_step", "the factor is squared", "formula")
def optimal_step_with_the_factor_of_f(A):
    lam_min, lam_max = np.linalg.eigvalsh(A)[[0, -1]]
    return 2 / (lam_min + lam_max), ((lam_max - lam_min) / (lam_max + lam_min)) ** 2


@right("optimal_fixed_step")
def optimal_step_from_the_condition_number(A):
    eigenvalues = np.linalg.eigh(A)[0]
    lam_min = eigenvalues.min()
    kappa = eigenvalues.max() / lam_min
    return float(2 / (lam_min * (1 + kappa))), float((kappa - 1) / (kappa + 1))
