import numpy as np

from benchmarks.heldout import mistake

LESSON = "06_conv_weight_sharing"


@mistake(
    "conv1d_matrix",
    "the kernel is placed flipped, w[::-1], in each row: the matrix of the true convolution "
    "instead of the cross-correlation",
    ("flip", "reversed", "w[::-1]", "true convolution"),
)
def conv1d_matrix_flipped_kernel(w, n):
    k = len(w)
    M = np.zeros((n - k + 1, n))
    for i in range(n - k + 1):
        M[i, i : i + k] = w[::-1]
    return M


@mistake(
    "conv1d_matrix",
    "the matrix is created with an integer dtype, so every kernel weight is truncated towards 0",
    ("dtype", "integer", "float", "truncat"),
)
def conv1d_matrix_integer_zeros(w, n):
    k = len(w)
    M = np.zeros((n - k + 1, n), dtype=int)
    for i in range(n - k + 1):
        M[i, i : i + k] = w
    return M


@mistake(
    "tied_weight_grad",
    "the gradients of the tied copies are averaged over the rows instead of summed",
    ("averag", "mean", "add up", "divided by"),
)
def tied_weight_grad_averages_copies(dM, k):
    dw = np.zeros(k)
    for i in range(dM.shape[0]):
        dw += dM[i, i : i + k]
    return dw / dM.shape[0]


@mistake(
    "tied_weight_grad",
    "dw[j] sums column j of dM instead of the j-th diagonal dM[i, i + j]",
    ("diagonal", "i + j", "column sums", "columns of dm"),
)
def tied_weight_grad_sums_columns(dM, k):
    return dM[:, :k].sum(axis=0)


@mistake(
    "tied_weight_grad",
    "np.trace(dM, offset=-j) sums the j-th diagonal below the main one instead of above it",
    ("below the main", "above the main", "lower diagonal", "wrong diagonal"),
)
def tied_weight_grad_lower_diagonals(dM, k):
    return np.array([np.trace(dM, offset=-j) for j in range(k)])


@mistake(
    "conv_forward_naive",
    "the window of output (i, j) starts at (i, j) instead of (i * stride, j * stride): "
    "right only for stride 1",
    ("stride", "i * stride", "top-left"),
)
def conv_forward_naive_ignores_stride_in_window(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i : i + HH, j : j + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


@mistake(
    "conv_forward_naive",
    "the bias b[f] is added inside the loop over the input channels, so it is counted C times",
    ("bias", "b[f]", "per channel", "c times"),
)
def conv_forward_naive_bias_per_channel(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    for c in range(C):
                        window = x_pad[n, c, top : top + HH, left : left + WW]
                        out[n, f, i, j] += np.sum(window * w[f, c]) + b[f]
    return out, (x, w, b, conv_param)


@mistake(
    "conv_backward_naive",
    "dx_pad[window] = dout * w[f] overwrites instead of adding, so where windows overlap (or "
    "several filters read the same pixel) only the last contribution is kept",
    ("+=", "accumulat", "overlap", "overwrit"),
)
def conv_backward_naive_dx_overwrites(dout, cache):
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x_pad[n, :, top : top + HH, left : left + WW]
                    dw[f] += dout[n, f, i, j] * window
                    dx_pad[n, :, top : top + HH, left : left + WW] = dout[n, f, i, j] * w[f]
    dx = dx_pad[:, :, pad : pad + H, pad : pad + W]
    return dx, dw, db


@mistake(
    "conv_backward_naive",
    "the padding is cropped with dx_pad[:, :, pad:-pad, pad:-pad], which is empty when pad = 0",
    ("pad = 0", "pad:-pad", "crop", "empty"),
)
def conv_backward_naive_negative_crop(dout, cache):
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N = x.shape[0]
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x_pad[n, :, top : top + HH, left : left + WW]
                    dw[f] += dout[n, f, i, j] * window
                    dx_pad[n, :, top : top + HH, left : left + WW] += dout[n, f, i, j] * w[f]
    dx = dx_pad[:, :, pad:-pad, pad:-pad]
    return dx, dw, db


@mistake(
    "conv_backward_naive",
    "db is averaged over the images (divided by N) instead of summed: the loss's 1/N is "
    "already in dout",
    ("db", "1/n", "mean over", "divided by n"),
)
def conv_backward_naive_bias_mean_over_images(dout, cache):
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3)) / N
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x_pad[n, :, top : top + HH, left : left + WW]
                    dw[f] += dout[n, f, i, j] * window
                    dx_pad[n, :, top : top + HH, left : left + WW] += dout[n, f, i, j] * w[f]
    dx = dx_pad[:, :, pad : pad + H, pad : pad + W]
    return dx, dw, db


@mistake(
    "conv1d_input_grad",
    "the full cross-correlation np.correlate(dz, w, 'full') is used: the kernel is not flipped, "
    "so each output sends its gradient back with the weights in the wrong order",
    ("flip", "w[::-1]", "convolve", "reversed"),
)
def conv1d_input_grad_not_flipped(dz, w):
    return np.correlate(dz, w, mode="full")


@mistake(
    "conv1d_input_grad",
    "dx[i : i + k] = dz[i] * w in the loop over outputs overwrites what earlier, overlapping "
    "windows put there instead of adding to it",
    ("overlap", "accumulate", "+=", "overwrit", "add up"),
)
def conv1d_input_grad_overwrites_overlaps(dz, w):
    k = len(w)
    dx = np.zeros(len(dz) + k - 1)
    for i in range(len(dz)):
        dx[i : i + k] = dz[i] * w
    return dx


@mistake(
    "conv1d_input_grad",
    "np.convolve(dz, w, mode='same') keeps len(dz) = n - k + 1 entries instead of the n of the "
    "full convolution, so dx has the length of the output, not of the input",
    ("full", "length", "(n,)", "mode"),
)
def conv1d_input_grad_same_mode(dz, w):
    return np.convolve(dz, w, mode="same")
