"""Average pooling, given to Lesson 07 to compare with the max pooling students write."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def avg_pool_forward(x, pool_param):
    """Average pooling, for comparison: the mean of each window."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    view = sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::stride, ::stride]
    return view.mean(axis=(4, 5)), (x, pool_param)


def avg_pool_backward(dout, cache):
    """dx of average pooling: every cell of window (i, j) gets dout[n, c, i, j] / (ph pw)."""
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    Ho, Wo = dout.shape[2:]
    for i in range(Ho):
        for j in range(Wo):
            share = dout[:, :, i, j, None, None] / (ph * pw)
            dx[:, :, i * stride : i * stride + ph, j * stride : j * stride + pw] += share
    return dx
