"""Vectorised layers: the answers to Lessons 04 and 07, given as tools to the lessons after them
(a lesson that imports this module in its setup cell may use it).

Same inputs, outputs and caches as the exercises of the course contract.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gradlab.tools.softmax import log_softmax


def affine_forward(x, W, b):
    """out = x @ W + b for x (N, D), W (D, M), b (M,); cache (x, W, b)."""
    return x @ W + b, (x, W, b)


def affine_backward(dout, cache):
    """(dx (N, D), dW (D, M), db (M,)) for upstream dout (N, M)."""
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    """max(x, 0) elementwise; cache x."""
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    """dout where the input was positive, 0 elsewhere."""
    return dout * (cache > 0)


def _pool_geometry(x_shape, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    Ho = 1 + (x_shape[2] - ph) // stride
    Wo = 1 + (x_shape[3] - pw) // stride
    return ph, pw, stride, Ho, Wo


def max_pool_forward_fast(x, pool_param):
    """Max over each window of x (N, C, H, W); out (N, C, Ho, Wo), cache (x, pool_param)."""
    ph, pw, stride, Ho, Wo = _pool_geometry(x.shape, pool_param)
    view = sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::stride, ::stride]
    return view[:, :, :Ho, :Wo].max(axis=(4, 5)), (x, pool_param)


def max_pool_backward_fast(dout, cache):
    """dx (N, C, H, W): each dout[n, c, i, j] goes to the first maximum (row-major) of its
    window; overlapping windows add up. One pass per offset (p, q) inside the window."""
    x, pool_param = cache
    ph, pw, stride, Ho, Wo = _pool_geometry(x.shape, pool_param)
    view = sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::stride, ::stride]
    flat = view[:, :, :Ho, :Wo].reshape(*x.shape[:2], Ho, Wo, ph * pw)
    first_max = flat.argmax(axis=-1)  # argmax returns the first maximum in row-major order
    dx = np.zeros_like(x, dtype=np.float64)
    for k in range(ph * pw):
        p, q = divmod(k, pw)
        rows = slice(p, p + (Ho - 1) * stride + 1, stride)
        cols = slice(q, q + (Wo - 1) * stride + 1, stride)
        dx[:, :, rows, cols] += dout * (first_max == k)
    return dx


def softmax_loss(scores, y):
    """Mean softmax cross-entropy of scores (N, K) for labels y (N,), and dscores (N, K)."""
    N = len(y)
    log_p = log_softmax(scores)
    loss = -log_p[np.arange(N), y].mean()
    dscores = np.exp(log_p)
    dscores[np.arange(N), y] -= 1
    return loss, dscores / N
