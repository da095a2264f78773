"""Lesson 07: typical wrong answers and correct answers in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "07_max_pooling"


# --- max_pool_forward_naive --------------------------------------------------------------


@wrong("max_pool_forward_naive", "you averaged each window (average pooling)", "formula")
def max_pool_forward_average(x, pool_param):
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - PH) // s, 1 + (W - PW) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s : i * s + PH, j * s : j * s + PW].mean(axis=(2, 3))
    return out, (x, pool_param)


@wrong("max_pool_forward_naive", "stride ignored", "formula")
def max_pool_forward_stride_ignored(x, pool_param):
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - PH) // s, 1 + (W - PW) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i : i + PH, j : j + PW].max(axis=(2, 3))
    return out, (x, pool_param)


@wrong("max_pool_forward_naive", "the maximum was taken across channels too", "axis")
def max_pool_forward_across_channels(x, pool_param):
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - PH) // s, 1 + (W - PW) // s
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                out[n, :, i, j] = np.max(x[n, :, i * s : i * s + PH, j * s : j * s + PW])
    return out, (x, pool_param)


@wrong("max_pool_forward_naive", "pool_height and pool_width are swapped", "order")
def max_pool_forward_swapped(x, pool_param):
    PW, PH, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - PH) // s, 1 + (W - PW) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s : i * s + PH, j * s : j * s + PW].max(axis=(2, 3))
    return out, (x, pool_param)


@wrong("max_pool_forward_naive", "the cache must be the tuple (x, pool_param)", "cache")
def max_pool_forward_caches_output(x, pool_param):
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - PH) // s, 1 + (W - PW) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s : i * s + PH, j * s : j * s + PW].max(axis=(2, 3))
    return out, (x, out, pool_param)


@right("max_pool_forward_naive")
def max_pool_forward_windows(x, pool_param):
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    Ho, Wo = 1 + (x.shape[2] - PH) // s, 1 + (x.shape[3] - PW) // s
    win = np.lib.stride_tricks.sliding_window_view(x, (PH, PW), axis=(2, 3))
    return win[:, :, ::s, ::s][:, :, :Ho, :Wo].max(axis=(4, 5)), (x, pool_param)


@right("max_pool_forward_naive")
def max_pool_forward_all_loops(x, pool_param):
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = int((H - PH) / s) + 1, int((W - PW) / s) + 1
    out = np.empty((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best = -np.inf
                    for p in range(PH):
                        for q in range(PW):
                            best = max(best, x[n, c, i * s + p, j * s + q])
                    out[n, c, i, j] = best
    return out, (x, pool_param)


# --- max_pool_backward_naive -------------------------------------------------------------


@wrong("max_pool_backward_naive", "overlapping windows must accumulate", "accumulation")
def max_pool_backward_assigns(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s : i * s + PH, j * s : j * s + PW]
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * s + r, j * s + q] = dout[n, c, i, j]
    return dx


@wrong("max_pool_backward_naive", "overlapping windows must accumulate", "accumulation")
def max_pool_backward_assigns_masked_window(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s : i * s + PH, j * s : j * s + PW]
                    mask = np.zeros(window.size)
                    mask[np.argmax(window)] = 1
                    dx[n, c, i * s : i * s + PH, j * s : j * s + PW] = (
                        mask.reshape(window.shape) * dout[n, c, i, j]
                    )
    return dx


@wrong("max_pool_backward_naive", "the gradient was split among tied maxima", "formula")
def max_pool_backward_split_ties(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s : i * s + PH, j * s : j * s + PW]
                    mask = window == window.max()
                    dx[n, c, i * s : i * s + PH, j * s : j * s + PW] += (
                        mask / mask.sum() * dout[n, c, i, j]
                    )
    return dx


@wrong("max_pool_backward_naive", "the gradient was sent to every tied maximum", "formula")
def max_pool_backward_every_tie(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s : i * s + PH, j * s : j * s + PW]
                    mask = window == window.max()
                    dx[n, c, i * s : i * s + PH, j * s : j * s + PW] += mask * dout[n, c, i, j]
    return dx


@wrong("max_pool_backward_naive", "the gradient went to the last tied maximum", "order")
def max_pool_backward_last_tie(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s : i * s + PH, j * s : j * s + PW]
                    best = (0, 0)
                    for p in range(PH):
                        for q in range(PW):
                            if window[p, q] >= window[best]:
                                best = (p, q)
                    dx[n, c, i * s + best[0], j * s + best[1]] += dout[n, c, i, j]
    return dx


@wrong("max_pool_backward_naive", "the gradient was spread over the whole window", "formula")
def max_pool_backward_average_style(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    Ho, Wo = dout.shape[2:]
    dx = np.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            dx[:, :, i * s : i * s + PH, j * s : j * s + PW] += dout[:, :, i, j, None, None] / (
                PH * PW
            )
    return dx


@wrong("max_pool_backward_naive", "the argmax index was unravelled with the wrong width", "order")
def max_pool_backward_wrong_width(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s : i * s + PH, j * s : j * s + PW]
                    k = np.argmax(window)
                    dx[n, c, i * s + k // PH, j * s + k % PH] += dout[n, c, i, j]
    return dx


@right("max_pool_backward_naive")
def max_pool_backward_add_at(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (PH, PW), axis=(2, 3))
    win = win[:, :, ::s, ::s][:, :, :Ho, :Wo].reshape(N, C, Ho, Wo, PH * PW)
    k = win.argmax(axis=-1)  # the first maximum of every window, row-major
    rows = np.arange(Ho)[:, None] * s + k // PW
    cols = np.arange(Wo)[None, :] * s + k % PW
    n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    dx = np.zeros_like(x)
    np.add.at(dx, (n[:, :, None, None], c[:, :, None, None], rows, cols), dout)
    return dx


@right("max_pool_backward_naive")
def max_pool_backward_first_mask(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            window = x[:, :, i * s : i * s + PH, j * s : j * s + PW].reshape(N, C, -1)
            first = np.eye(PH * PW)[window.argmax(axis=-1)]  # one-hot of the first maximum
            dx[:, :, i * s : i * s + PH, j * s : j * s + PW] += (
                first.reshape(N, C, PH, PW) * dout[:, :, i, j, None, None]
            )
    return dx


@right("max_pool_backward_naive")
def max_pool_backward_scan(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best = (i * s, j * s)
                    for r in range(i * s, i * s + PH):
                        for q in range(j * s, j * s + PW):
                            if x[n, c, r, q] > x[n, c, best[0], best[1]]:  # strict: first wins
                                best = (r, q)
                    dx[n, c, best[0], best[1]] += dout[n, c, i, j]
    return dx


# ---------------------------------------------------------------- general mistakes (issue 10)


@wrong("max_pool_forward_naive", "(example, channel, output column, output row)", "transpose")
def max_pool_forward_rows_and_columns_swapped(x, pool_param):
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - PH) // s, 1 + (W - PW) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, j * s : j * s + PH, i * s : i * s + PW].max(axis=(2, 3))
    return out, (x, pool_param)


@wrong("max_pool_forward_naive", "raised ValueError: zero-size array", "error")
def max_pool_forward_steps_by_the_pool_size(x, pool_param):
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - PH) // s, 1 + (W - PW) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * PH : i * PH + PH, j * PW : j * PW + PW].max(axis=(2, 3))
    return out, (x, pool_param)


@wrong("max_pool_backward_naive", "the upstream gradient dout is missing", "missing term")
def max_pool_backward_mask_without_dout(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s : i * s + PH, j * s : j * s + PW]
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * s + r, j * s + q] += 1
    return dx


@wrong("max_pool_backward_naive", "the rows and columns of dout are swapped", "transpose")
def max_pool_backward_dout_indices_swapped(dout, cache):
    x, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s : i * s + PH, j * s : j * s + PW]
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * s + r, j * s + q] += dout[n, c, j, i]
    return dx


@wrong(
    "max_pool_backward_naive",
    "dx: wrong; the smallest case found where it still is",
    "smallest case",
)
def max_pool_backward_without_the_window_offset(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * stride : i * stride + ph, j * stride : j * stride + pw]
        r, q = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, r, q] += dout[n, c, i, j]  # the window's own corner is left out
    return dx
