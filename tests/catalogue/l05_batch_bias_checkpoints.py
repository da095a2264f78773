"""Lesson 05's derivation checkpoint, augmented_weight_grad: typical wrong answers and correct
answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "05_batch_bias"


@wrong("augmented_weight_grad", "the row of b comes first", "order")
def augmented_with_the_ones_first(X, dZ):
    return np.hstack([np.ones((len(X), 1)), X]).T @ dZ


@wrong("augmented_weight_grad", "the last row, b's, is averaged over the batch", "factor")
def augmented_with_a_mean_bias_row(X, dZ):
    return np.vstack([X.T @ dZ, dZ.mean(axis=0)])


@wrong("augmented_weight_grad", "did you divide by the batch size N twice?", "factor")
def augmented_divided_by_n(X, dZ):
    return np.hstack([X, np.ones((len(X), 1))]).T @ dZ / len(X)


@wrong("augmented_weight_grad", "the last row is zero", "missing term")
def augmented_without_the_bias_row(X, dZ):
    return np.vstack([X.T @ dZ, np.zeros(dZ.shape[1])])


@right("augmented_weight_grad")
def augmented_as_a_sum_of_outer_products(X, dZ):
    N, D = X.shape
    grad = np.zeros((D + 1, dZ.shape[1]))
    for n in range(N):
        grad += np.outer(np.append(X[n], 1.0), dZ[n])
    return grad
