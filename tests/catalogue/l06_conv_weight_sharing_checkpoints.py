"""Lesson 06's derivation checkpoint, conv1d_input_grad: typical wrong answers and correct
answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "06_conv_weight_sharing"


@wrong("conv1d_input_grad", "the kernel is flipped", "order")
def input_grad_with_the_kernel_flipped(dz, w):
    return np.convolve(dz, w[::-1])


@wrong("conv1d_input_grad", "the windows overwrite each other", "accumulation")
def input_grad_overwritten(dz, w):
    k = len(w)
    dx = np.zeros(len(dz) + k - 1)
    for i in range(len(dz)):
        dx[i : i + k] = dz[i] * w
    return dx


@wrong("conv1d_input_grad", "misses the contribution of the last window", "missing term")
def input_grad_one_window_short(dz, w):
    k = len(w)
    dx = np.zeros(len(dz) + k - 1)
    for i in range(len(dz) - 1):
        dx[i : i + k] += dz[i] * w
    return dx


@wrong("conv1d_input_grad", "the length of a 'valid' convolution", "shape")
def input_grad_as_a_valid_correlation(dz, w):
    return np.correlate(dz, w, mode="valid")


@right("conv1d_input_grad")
def input_grad_as_a_full_convolution(dz, w):
    return np.convolve(dz, w, mode="full")


@right("conv1d_input_grad")
def input_grad_by_the_transposed_matrix(dz, w):
    k, m = len(w), len(dz)
    M = np.zeros((m, m + k - 1))
    for i in range(m):
        M[i, i : i + k] = w
    return M.T @ dz


@wrong("conv1d_input_grad", "the full convolution of dz with w", "shape")
def input_grad_as_a_same_convolution(dz, w):
    return np.convolve(dz, w, mode="same")
