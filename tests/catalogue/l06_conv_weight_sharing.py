"""Lesson 06: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "06_conv_weight_sharing"


# --- conv1d_matrix -----------------------------------------------------------------------


@wrong("conv1d_matrix", "row i holds w reversed, a convolution (flipped kernel)", "order")
def conv1d_matrix_flipped(w, n):
    k = len(w)
    M = np.zeros((n - k + 1, n))
    for i in range(n - k + 1):
        M[i, i : i + k] = w[::-1]
    return M


@wrong("conv1d_matrix", "M is transposed", "transpose")
def conv1d_matrix_transposed(w, n):
    k = len(w)
    M = np.zeros((n, n - k + 1))
    for i in range(n - k + 1):
        M[i : i + k, i] = w
    return M


@wrong("conv1d_matrix", "one row too few", "shape")
def conv1d_matrix_off_by_one(w, n):
    k = len(w)
    M = np.zeros((n - k, n))
    for i in range(n - k):
        M[i, i : i + k] = w
    return M


@wrong("conv1d_matrix", "n rows: only n - k + 1 windows fit inside x", "shape")
def conv1d_matrix_runs_past_the_end(w, n):
    k = len(w)
    M = np.zeros((n, n))
    for i in range(n):
        stop = min(n, i + k)
        M[i, i:stop] = w[: stop - i]
    return M


@wrong("conv1d_matrix", "the weights were truncated to integers", "dtype")
def conv1d_matrix_integer(w, n):
    k = len(w)
    M = np.zeros((n - k + 1, n), dtype=int)
    for i in range(n - k + 1):
        M[i, i : i + k] = w
    return M


@right("conv1d_matrix")
def conv1d_matrix_shifted_identities(w, n):
    k = len(w)
    return sum(w[j] * np.eye(n - k + 1, n, j) for j in range(k))


@right("conv1d_matrix")
def conv1d_matrix_from_unit_vectors(w, n):
    # column l of the matrix of a linear map is the image of the l-th unit vector
    return np.stack([np.correlate(e, w, mode="valid") for e in np.eye(n)], axis=1)


# --- tied_weight_grad --------------------------------------------------------------------


@wrong("tied_weight_grad", "you added column j of dM", "formula")
def tied_weight_grad_columns(dM, k):
    return dM[:, :k].sum(axis=0)


@wrong("tied_weight_grad", "holds the contribution of the first row only", "accumulation")
def tied_weight_grad_first_row(dM, k):
    return dM[0, :k].copy()


@wrong("tied_weight_grad", "holds the contribution of the last row only", "accumulation")
def tied_weight_grad_overwrites(dM, k):
    dw = np.zeros(k)
    for i in range(dM.shape[0]):
        dw = dM[i, i : i + k]
    return dw


@wrong("tied_weight_grad", "you averaged over the entries w[j] occupies", "factor")
def tied_weight_grad_mean(dM, k):
    dw = np.zeros(k)
    for i in range(dM.shape[0]):
        dw += dM[i, i : i + k]
    return dw / dM.shape[0]


@wrong("tied_weight_grad", "dw is reversed", "order")
def tied_weight_grad_reversed(dM, k):
    return np.array([np.trace(dM, offset=j) for j in range(k)])[::-1]


@right("tied_weight_grad")
def tied_weight_grad_traces(dM, k):
    return np.array([np.trace(dM, offset=j) for j in range(k)])


@right("tied_weight_grad")
def tied_weight_grad_add_at(dM, k):
    rows, cols = np.indices(dM.shape)
    j = cols - rows  # the weight that entry (i, l) would hold
    band = (j >= 0) & (j < k)
    dw = np.zeros(k)
    np.add.at(dw, j[band], dM[band])
    return dw


# --- conv_forward_naive ------------------------------------------------------------------


@wrong("conv_forward_naive", "out is a convolution (flipped kernel)", "order")
def conv_forward_flipped(x, w, b, conv_param):
    s, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * pad - HH) // s, 1 + (W + 2 * pad - WW) // s
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * s : i * s + HH, j * s : j * s + WW]
                    out[n, f, i, j] = np.sum(window * w[f, :, ::-1, ::-1]) + b[f]
    return out, (x, w, b, conv_param)


@wrong("conv_forward_naive", "the bias is missing", "missing term")
def conv_forward_no_bias(x, w, b, conv_param):
    s, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * pad - HH) // s, 1 + (W + 2 * pad - WW) // s
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(
                        xp[n, :, i * s : i * s + HH, j * s : j * s + WW] * w[f]
                    )
    return out, (x, w, b, conv_param)


@wrong("conv_forward_naive", "stride ignored", "formula")
def conv_forward_stride_ignored(x, w, b, conv_param):
    s, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * pad - HH) // s, 1 + (W + 2 * pad - WW) // s
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i : i + HH, j : j + WW] * w[f]) + b[f]
    return out, (x, w, b, conv_param)


@wrong("conv_forward_naive", "x was not padded", "missing term")
def conv_forward_unpadded(x, w, b, conv_param):
    s = conv_param["stride"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H - HH) // s, 1 + (W - WW) // s
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, :, i * s : i * s + HH, j * s : j * s + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


@wrong("conv_forward_naive", "the cache must be the tuple (x, w, b, conv_param)", "cache")
def conv_forward_short_cache(x, w, b, conv_param):
    s, pad = conv_param["stride"], conv_param["pad"]
    HH, WW = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::s, ::s]
    Ho, Wo = 1 + (x.shape[2] + 2 * pad - HH) // s, 1 + (x.shape[3] + 2 * pad - WW) // s
    out = np.einsum("ncijpq,fcpq->nfij", win[:, :, :Ho, :Wo], w) + b[:, None, None]
    return out, (x, w, b)


@right("conv_forward_naive")
def conv_forward_windows_einsum(x, w, b, conv_param):
    s, pad = conv_param["stride"], conv_param["pad"]
    HH, WW = w.shape[2:]
    Ho, Wo = 1 + (x.shape[2] + 2 * pad - HH) // s, 1 + (x.shape[3] + 2 * pad - WW) // s
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::s, ::s]
    out = np.einsum("ncijpq,fcpq->nfij", win[:, :, :Ho, :Wo], w) + b[:, None, None]
    return out, (x, w, b, conv_param)


@right("conv_forward_naive")
def conv_forward_im2col(x, w, b, conv_param):
    s, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * pad - HH) // s, 1 + (W + 2 * pad - WW) // s
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((N, Ho, Wo, C * HH * WW))
    for i in range(Ho):
        for j in range(Wo):
            cols[:, i, j] = xp[:, :, i * s : i * s + HH, j * s : j * s + WW].reshape(N, -1)
    out = cols @ w.reshape(F, -1).T + b  # (N, Ho, Wo, F)
    return out.transpose(0, 3, 1, 2), (x, w, b, conv_param)


@right("conv_forward_naive")
def conv_forward_kernel_offsets(x, w, b, conv_param):
    s, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * pad - HH) // s, 1 + (W + 2 * pad - WW) // s
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    xp[:, :, pad : pad + H, pad : pad + W] = x
    out = np.zeros((N, F, Ho, Wo)) + b[:, None, None]
    for p in range(HH):
        for q in range(WW):
            shifted = xp[:, :, p : p + (Ho - 1) * s + 1 : s, q : q + (Wo - 1) * s + 1 : s]
            out += np.einsum("ncij,fc->nfij", shifted, w[:, :, p, q])
    return out, (x, w, b, conv_param)


# --- conv_backward_naive -----------------------------------------------------------------


@wrong(
    "conv_backward_naive",
    "dw keeps only the last contribution written to each entry",
    "accumulation",
)
def conv_backward_dw_overwritten(dout, cache):
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * s, i * s + HH), slice(j * s, j * s + WW)
                    dw[f] = dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


@wrong("conv_backward_naive", "dx uses the flipped kernel", "order")
def conv_backward_flipped(dout, cache):
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * s, i * s + HH), slice(j * s, j * s + WW)
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f, :, ::-1, ::-1]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


@wrong("conv_backward_naive", "dx still holds the padding", "shape")
def conv_backward_padding_kept(dout, cache):
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    N = x.shape[0]
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * s, i * s + HH), slice(j * s, j * s + WW)
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    return dxp, dw, dout.sum(axis=(0, 2, 3))


@wrong("conv_backward_naive", "dx is empty: with pad = 0", "shape")
def conv_backward_negative_slice(dout, cache):
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    N = x.shape[0]
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * s, i * s + HH), slice(j * s, j * s + WW)
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    return dxp[:, :, pad:-pad, pad:-pad], dw, dout.sum(axis=(0, 2, 3))


@wrong("conv_backward_naive", "summed over axis 0 it is right", "axis")
def conv_backward_db_per_example(dout, cache):
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * s, i * s + HH), slice(j * s, j * s + WW)
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(2, 3))


@wrong("conv_backward_naive", "stride ignored", "formula")
def conv_backward_stride_ignored(dout, cache):
    x, w, _, conv_param = cache
    pad = conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    dw[f] += dout[n, f, i, j] * xp[n, :, i : i + HH, j : j + WW]
                    dxp[n, :, i : i + HH, j : j + WW] += dout[n, f, i, j] * w[f]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


@wrong(
    "conv_backward_naive",
    "dx keeps only the last contribution written to each entry",
    "accumulation",
)
def conv_backward_dx_overwritten(dout, cache):
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * s, i * s + HH), slice(j * s, j * s + WW)
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] = dout[n, f, i, j] * w[f]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


@wrong("conv_backward_naive", "you averaged over the batch", "factor")
def conv_backward_divided_by_batch(dout, cache):
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * s, i * s + HH), slice(j * s, j * s + WW)
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw / N, dout.sum(axis=(0, 2, 3)) / N


@right("conv_backward_naive")
def conv_backward_add_at(dout, cache):
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    HH, WW = w.shape[2:]
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))
    win = win[:, :, ::s, ::s][:, :, :Ho, :Wo]
    dw = np.einsum("ncijpq,nfij->fcpq", win, dout)
    # every (position, kernel offset) pair adds to one pixel of dx_pad: scatter with add.at
    contributions = np.einsum("nfij,fcpq->ncijpq", dout, w)
    i, j, p, q = np.meshgrid(
        np.arange(Ho), np.arange(Wo), np.arange(HH), np.arange(WW), indexing="ij"
    )
    dxp = np.zeros_like(xp)
    np.add.at(
        dxp,
        (slice(None), slice(None), (i * s + p).ravel(), (j * s + q).ravel()),
        contributions.reshape(N, C, -1),
    )
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


@right("conv_backward_naive")
def conv_backward_full_convolution(dout, cache):
    # dx: spread dout on the stride grid, pad by kernel - 1, correlate with the flipped kernel
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    swv = np.lib.stride_tricks.sliding_window_view
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = swv(xp, (HH, WW), axis=(2, 3))[:, :, ::s, ::s][:, :, :Ho, :Wo]
    dw = np.einsum("ncijpq,nfij->fcpq", win, dout)
    spread = np.zeros((N, F, (Ho - 1) * s + 1, (Wo - 1) * s + 1))
    spread[:, :, ::s, ::s] = dout
    rest_h = H + 2 * pad - ((Ho - 1) * s + HH)
    rest_w = W + 2 * pad - ((Wo - 1) * s + WW)
    spread = np.pad(spread, ((0, 0), (0, 0), (HH - 1, HH - 1 + rest_h), (WW - 1, WW - 1 + rest_w)))
    dxp = np.einsum("nfijpq,fcpq->ncij", swv(spread, (HH, WW), axis=(2, 3)), w[:, :, ::-1, ::-1])
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


@right("conv_backward_naive")
def conv_backward_loops_positions_outside(dout, cache):
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    H, W = x.shape[2:]
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros(F)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * s, i * s + HH), slice(j * s, j * s + WW)
            g = dout[:, :, i, j]  # (N, F)
            dw += np.einsum("nf,nchw->fchw", g, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nf,fchw->nchw", g, w)
            db += g.sum(axis=0)
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, db


# ---------------------------------------------------------------- general mistakes (issue 10)


@wrong("conv1d_matrix", "reversed along", "order")
def conv1d_matrix_rows_from_the_end(w, n):
    k = len(w)
    M = np.zeros((n - k + 1, n))
    for i in range(n - k + 1):
        M[n - k - i, i : i + k] = w
    return M


@wrong("conv1d_matrix", "the transpose, reshaped to", "transpose")
def conv1d_matrix_columns_reshaped(w, n):
    k = len(w)
    M = np.zeros((n, n - k + 1))
    for i in range(n - k + 1):
        M[i : i + k, i] = w
    return M.reshape(n - k + 1, n)


@wrong("tied_weight_grad", "misses the contribution of the last row", "missing term")
def tied_weight_grad_loop_one_short(dM, k):
    dw = np.zeros(k)
    for i in range(dM.shape[0] - 1):
        dw += dM[i, i : i + k]
    return dw


@wrong("tied_weight_grad", "the diagonals of dM.T", "transpose")
def tied_weight_grad_of_the_transpose(dM, k):
    return np.array([np.trace(dM.T, offset=j) for j in range(k)])


@wrong("conv_forward_naive", "(example, filter, output column, output row) instead of", "transpose")
def conv_forward_rows_and_columns_swapped(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, j * stride : j * stride + HH, i * stride : i * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


@wrong("conv_forward_naive", "np.mean divides by the window size", "factor")
def conv_forward_mean_of_the_window(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
                    out[n, f, i, j] = np.mean(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


@wrong("conv_backward_naive", "shifted by (1, 1)", "slices")
def conv_backward_crops_the_wrong_side(dout, cache):
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
    return dxp[:, :, :H, :W], dw, dout.sum(axis=(0, 2, 3))


@wrong("conv_backward_naive", "the rows and columns of dout are swapped", "transpose")
def conv_backward_dout_indices_swapped(dout, cache):
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dxp[n, :, rows, cols] += dout[n, f, j, i] * w[f]
                    dw[f] += dout[n, f, j, i] * xp[n, :, rows, cols]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


@wrong("conv_backward_naive", "db is dout summed over axis (0, 1, 2)", "axis")
def conv_backward_db_over_the_wrong_axes(dout, cache):
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 1, 2))
