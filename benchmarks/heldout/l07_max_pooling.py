import numpy as np

from benchmarks.heldout import mistake

LESSON = "07_max_pooling"


@mistake(
    "max_pool_forward_naive",
    "the window's maximum is taken without an axis, so each output is the maximum over all "
    "images and channels at that window instead of one per image and channel",
    ("axis=(2, 3)", "last two axes", "each channel", "whole batch"),
)
def max_pool_forward_naive_max_without_axis(x, pool_param):
    PH, PW = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H, W = x.shape
    H_out = 1 + (H - PH) // stride
    W_out = 1 + (W - PW) // stride
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            top, left = i * stride, j * stride
            out[:, :, i, j] = x[:, :, top : top + PH, left : left + PW].max()
    return out, (x, pool_param)


@mistake(
    "max_pool_forward_naive",
    "the output size is H // stride and W // stride, as if the windows always tiled the image: "
    "wrong when the pool size differs from the stride (overlapping or partial windows)",
    ("output size", "h'", "pool_height) // stride", "number of windows"),
)
def max_pool_forward_naive_output_size_h_over_stride(x, pool_param):
    PH, PW = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H, W = x.shape
    H_out = H // stride
    W_out = W // stride
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            top, left = i * stride, j * stride
            out[:, :, i, j] = x[:, :, top : top + PH, left : left + PW].max(axis=(2, 3))
    return out, (x, pool_param)


@mistake(
    "max_pool_backward_naive",
    "dx[...] = dout[n, c, i, j] overwrites instead of adding, so a cell that is the maximum of "
    "several overlapping windows keeps only the last window's gradient",
    ("+=", "accumulat", "overlap", "overwrit"),
)
def max_pool_backward_naive_overwrites(dout, cache):
    x, pool_param = cache
    PH, PW = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x[n, c, top : top + PH, left : left + PW]
                    row, col = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, top + row, left + col] = dout[n, c, i, j]
    return dx


@mistake(
    "max_pool_backward_naive",
    "the flat argmax k is turned into (k // pool_height, k % pool_height): dividing by the "
    "height instead of the width, wrong for non-square windows",
    ("width", "unravel", "k // pw", "non-square"),
)
def max_pool_backward_naive_unravel_by_height(dout, cache):
    x, pool_param = cache
    PH, PW = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    k = np.argmax(x[n, c, top : top + PH, left : left + PW])
                    row, col = k // PH, k % PH
                    dx[n, c, top + row, left + col] += dout[n, c, i, j]
    return dx


@mistake(
    "max_pool_backward_naive",
    "the position of the maximum inside the window is used as a position in the image: the "
    "window's offset (i * stride, j * stride) is not added",
    ("offset", "top-left", "i * stride", "window position"),
)
def max_pool_backward_naive_forgets_window_offset(dout, cache):
    x, pool_param = cache
    PH, PW = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x[n, c, top : top + PH, left : left + PW]
                    row, col = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, row, col] += dout[n, c, i, j]
    return dx


@mistake(
    "max_pool_backward_naive",
    "the gradient is routed with the mask window == window.max(), so with ties every tied "
    "maximum receives the whole gradient instead of only the first",
    ("tie", "first maximum", "several maxima", "every maximum"),
)
def max_pool_backward_naive_ties_all_get_gradient(dout, cache):
    x, pool_param = cache
    PH, PW = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x[n, c, top : top + PH, left : left + PW]
                    mask = window == window.max()
                    dx[n, c, top : top + PH, left : left + PW] += mask * dout[n, c, i, j]
    return dx


@mistake(
    "max_window_grad",
    "(window == window.max()) * dout gives the whole dout to every tied maximum, so a window "
    "with a tie sends back more gradient than it received",
    ("tie", "first maximum", "every maximum", "each tied"),
)
def max_window_grad_every_tied_maximum(window, dout):
    return (window == window.max()) * dout


@mistake(
    "max_window_grad",
    "np.argmax(window, axis=0) finds the maximum of each column, and every column's maximum "
    "gets dout, instead of the one maximum of the whole window (a flat argmax)",
    ("each column", "axis 0", "axis=0", "one cell", "whole window", "only the maximum"),
)
def max_window_grad_argmax_per_column(window, dout):
    rows = np.argmax(window, axis=0)
    dwindow = np.zeros(window.shape)
    dwindow[rows, np.arange(window.shape[1])] = dout
    return dwindow


@mistake(
    "max_window_grad",
    "the window is reused as the result: it is zeroed in place and dout written at the "
    "maximum, which modifies the caller's array (x itself, when the window is a slice)",
    ("in place", "modif", "copy", "overwrit"),
)
def max_window_grad_in_place(window, dout):
    k = np.unravel_index(np.argmax(window), window.shape)
    window[...] = 0
    window[k] = dout
    return window
