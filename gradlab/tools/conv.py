"""The vectorised convolutional layer: the answer to Lesson 06's exercises, given as a tool
to the lessons after it (a lesson that imports this module in its setup cell may use it).

sliding_window_view + einsum, without BLAS, so that its speed does not depend on how many
threads BLAS may use; tests/lessons compare it with plain loops.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def output_size(size, kernel, pad, stride):
    """Number of window positions along one axis: 1 + (size + 2 pad - kernel) // stride."""
    return 1 + (size + 2 * pad - kernel) // stride


def pad_images(x, pad):
    """x (N, C, H, W) with `pad` zeros added on both sides of H and W (like np.pad, faster)."""
    N, C, H, W = x.shape
    x_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    x_pad[:, :, pad : pad + H, pad : pad + W] = x
    return x_pad


def windows(x_pad, HH, WW, stride, Ho, Wo):
    """The windows of x_pad (N, C, Hp, Wp) as one array (N, C, Ho, Wo, HH, WW):
    windows[n, c, i, j] is the HH x WW window of channel c of image n whose top-left corner
    is x_pad[n, c, i * stride, j * stride].

    sliding_window_view makes it a view without copying; the copy at the end lays the
    windows out contiguously, which makes the einsums over them several times faster.
    """
    view = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))
    return np.ascontiguousarray(view[:, :, ::stride, ::stride][:, :, :Ho, :Wo])


def conv_forward_fast(x, w, b, conv_param):
    """Vectorised forward pass of a convolutional layer (cross-correlation, like the naive one).

    Inputs:
    - x: input images, shape (N, C, H, W)
    - w: filters, shape (F, C, HH, WW)
    - b: biases, shape (F,)
    - conv_param: dict with "stride" and "pad"

    Returns a tuple of:
    - out: shape (N, F, Ho, Wo), Ho = 1 + (H + 2 * pad - HH) // stride, Wo likewise
    - cache: (x, w, b, conv_param)
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    Ho, Wo = output_size(H, HH, pad, stride), output_size(W, WW, pad, stride)
    x_windows = windows(pad_images(x, pad), HH, WW, stride, Ho, Wo)
    # out[n, f, i, j] = sum over c, p, q of x_windows[n, c, i, j, p, q] * w[f, c, p, q]
    out = np.einsum("ncijpq,fcpq->nfij", x_windows, w)
    return out + b[None, :, None, None], (x, w, b, conv_param)


def conv_backward_fast(dout, cache):
    """Vectorised backward pass of a convolutional layer.

    Inputs:
    - dout: upstream gradient, shape (N, F, Ho, Wo)
    - cache: (x, w, b, conv_param) as returned by conv_forward_fast (or the naive forward)

    Returns a tuple of:
    - dx: shape (N, C, H, W)
    - dw: shape (F, C, HH, WW)
    - db: shape (F,)

    db and dw add over every example and position: one sum, one einsum over the windows.
    dx turns the naive loops inside out: for each of the HH * WW offsets (p, q) inside the
    window, every output (i, j) sends dout[n, :, i, j] mixed by w[:, :, p, q] to pixel
    (i * stride + p, j * stride + q) of x_pad, all positions at once; the offsets add up.
    """
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    Ho, Wo = dout.shape[2:]
    x_pad = pad_images(x, pad)
    db = dout.sum(axis=(0, 2, 3))
    # dw[f, c, p, q] = sum over n, i, j of dout[n, f, i, j] * x_windows[n, c, i, j, p, q]
    dw = np.einsum("ncijpq,nfij->fcpq", windows(x_pad, HH, WW, stride, Ho, Wo), dout)
    dx_pad = np.zeros_like(x_pad)
    for p in range(HH):
        for q in range(WW):
            rows = slice(p, p + (Ho - 1) * stride + 1, stride)
            cols = slice(q, q + (Wo - 1) * stride + 1, stride)
            dx_pad[:, :, rows, cols] += np.einsum("nfij,fc->ncij", dout, w[:, :, p, q])
    return dx_pad[:, :, pad : pad + H, pad : pad + W], dw, db
