"""Lesson 06: a convolution is a sparse fully-connected layer with tied weights.

Trusted references of the 1-D exercises (the matrix of a cross-correlation, the gradient of
a tied weight) and one check per exercise. Backward gradients are checked against central
differences of the vectorised forward (gradlab.tools.conv), which the lesson's tests compare
with plain loops.
"""

import numpy as np

from gradlab.checking import Check, CheckFailed, Factor, Mistake, stdout_only
from gradlab.inputs import rng_for
from gradlab.numeric import numerical_gradient, numerical_vjp
from gradlab.tools.conv import (
    conv_backward_fast,
    conv_forward_fast,
    pad_images,
    windows,
)

IMAGE_AXES = ("example", "channel", "row", "column")
OUTPUT_AXES = ("example", "filter", "output row", "output column")

# ---------------------------------------------------------------------------------------
# 1-D: the matrix of a cross-correlation and the gradient of its tied weights
# ---------------------------------------------------------------------------------------


def correlate1d(x, w):
    """Valid cross-correlation of x (n,) with w (k,): out[i] = sum_j w[j] * x[i + j]."""
    k = len(w)
    return np.array([np.dot(w, x[i : i + k]) for i in range(len(x) - k + 1)])


def conv1d_matrix(w, n):
    """The (n - k + 1, n) matrix M with M @ x = correlate1d(x, w).

    Column j of a linear map's matrix is the image of the j-th unit vector.
    """
    return np.stack([correlate1d(e, w) for e in np.eye(n)], axis=1)


def tied_weight_grad(dM, k):
    """Gradient of w from the gradient dM of M: w[j] sits at M[i, i + j], one diagonal."""
    return np.array([np.trace(dM, offset=j) for j in range(k)])


# ---------------------------------------------------------------------------------------
# What typical wrong backward passes compute (plain loops, small sizes only)
# ---------------------------------------------------------------------------------------


def _loop_backward(dout, x, w, pad, stride, *, step=None, accumulate=True):
    """(dx_pad, dw) of the naive loops, with `step` instead of stride for the window corners
    (the stride-ignored mistake) and `=` instead of `+=` when accumulate is False."""
    step = stride if step is None else step
    x_pad = pad_images(x, pad)
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    N, F, Ho, Wo = dout.shape
    HH, WW = w.shape[2:]
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    rows = slice(i * step, i * step + HH)
                    cols = slice(j * step, j * step + WW)
                    if accumulate:
                        dx_pad[n, :, rows, cols] += dout[n, f, i, j] * w[f]
                        dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, cols]
                    else:
                        dx_pad[n, :, rows, cols] = dout[n, f, i, j] * w[f]
                        dw[f] = dout[n, f, i, j] * x_pad[n, :, rows, cols]
    return dx_pad, dw


def _unpad(dx_pad, pad):
    H, W = dx_pad.shape[2] - 2 * pad, dx_pad.shape[3] - 2 * pad
    return dx_pad[:, :, pad : pad + H, pad : pad + W]


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------


def _check_cache(cache, expected, names, contract):
    """The cache must hold exactly the contract's items, equal to the inputs."""
    if not isinstance(cache, (tuple, list)) or len(cache) != len(expected):
        raise CheckFailed(f"the cache must be the tuple {contract}, as the contract fixes it")
    for name, got, want in zip(names, cache, expected):
        if isinstance(want, dict):
            same = isinstance(got, dict) and got == want
        else:
            got = np.asarray(got)
            same = got.shape == want.shape and np.array_equal(got, want)
        if not same:
            raise CheckFailed(
                f"cache item `{name}` is not the input {name}: the cache must be {contract}"
            )


@stdout_only
def check_conv1d_matrix(conv1d_matrix_fn, n=8, k=3, seed=0):
    """M = conv1d_matrix(w, n) must satisfy M @ x = correlate1d(x, w) for every x."""
    w = rng_for(seed).normal(size=k)
    M = conv1d_matrix(w, n)
    mistakes = [
        Mistake(
            conv1d_matrix(w[::-1], n),
            "row i holds w reversed, a convolution (flipped kernel): a cross-correlation, "
            "as in deep-learning libraries, puts w[j] at M[i, i + j]",
        ),
        Mistake(
            np.trunc(M),
            "the weights were truncated to integers: M must be a float array, "
            "np.zeros((n - k + 1, n)) without dtype=int",
        ),
    ]
    if n - k + 1 != n:
        mistakes.append(
            Mistake(
                M.T,
                "M is transposed: it needs one row per output (n - k + 1 rows) "
                "and one column per input (n columns)",
            )
        )
    if n - k >= 1:
        mistakes.append(
            Mistake(
                M[:-1],
                "one row too few: n inputs and k weights give n - k + 1 valid windows, "
                "range(n - k + 1)",
            )
        )
    if k > 1:
        truncated = np.zeros((n, n))
        for i in range(n):
            stop = min(n, i + k)
            truncated[i, i:stop] = w[: stop - i]
        mistakes.append(
            Mistake(
                truncated,
                "n rows: only n - k + 1 windows fit inside x; a valid cross-correlation "
                "has no window that runs past the end",
            )
        )
    with Check("conv1d_matrix", conv1d_matrix_fn, f"w of size k = {k}, n = {n}") as check:
        got = check.call(w, n)
        check.compare("M", got, M, mistakes=mistakes, axes=("row", None))


@stdout_only
def check_tied_weight_grad(tied_weight_grad_fn, n=8, k=3, seed=0):
    """dw = tied_weight_grad(dM, k) must be the gradient of sum(dM * conv1d_matrix(w, n))."""
    rng = rng_for(seed)
    w = rng.normal(size=k)
    dM = rng.normal(size=(n - k + 1, n))  # every entry set, also those off the band
    dw = numerical_gradient(lambda w_: np.sum(dM * conv1d_matrix(w_, n)), w)
    rows = n - k + 1
    mistakes = [
        Mistake(
            dM[:, :k].sum(axis=0),
            "you added column j of dM: w[j] does not sit in one column but on a diagonal, "
            "at M[i, i + j] for every row i; add dM[i, i + j] over i",
        ),
        Mistake(
            dM[0, :k],
            "only the entry in the first row: w[j] occupies one entry in every row, "
            "M[i, i + j]; the gradient of a tied weight is the sum over all of them",
        ),
        Mistake(
            dM[-1, rows - 1 : rows - 1 + k],
            "only the entry in the last row: accumulate (+=) dM[i, i + j] over every row i "
            "instead of overwriting (=)",
        ),
        Mistake(
            tied_weight_grad(dM, k)[::-1],
            "dw is reversed: w[j] sits at M[i, i + j], not at M[i, i + k - 1 - j]",
        ),
        Mistake(
            np.array([np.trace(dM, offset=-j) for j in range(k)]),
            "you added the diagonals below the main one (offset -j): w[j] sits at "
            "M[i, i + j], above it",
        ),
    ]
    factors = []
    if rows > 1:
        factors.append(
            Factor(
                1 / rows,
                "1/(n - k + 1)",
                "you averaged the gradients of the entries w[j] occupies: "
                "the chain rule adds them, do not divide",
            )
        )
    case = f"dM of shape {(n - k + 1, n)}, k = {k}"
    with Check("tied_weight_grad", tied_weight_grad_fn, case) as check:
        got = check.call(dM, k)
        check.compare("dw", got, dw, mistakes=mistakes, factors=factors)


def conv_case(seed, x_shape, w_shape, stride, pad):
    """Random (x, w, b, conv_param) for a check: x (N, C, H, W), w (F, C, HH, WW)."""
    rng = rng_for(seed)
    x = rng.normal(size=x_shape)
    w = rng.normal(size=w_shape)
    b = rng.normal(size=w_shape[0])
    return x, w, b, {"stride": stride, "pad": pad}


def _conv_case_text(x_shape, w_shape, stride, pad):
    return f"x {tuple(x_shape)}, w {tuple(w_shape)}, stride {stride}, pad {pad}"


@stdout_only
def check_conv_forward_naive(
    conv_forward_fn, x_shape=(2, 3, 5, 5), w_shape=(4, 3, 3, 3), stride=1, pad=1, seed=0
):
    """out, cache = conv_forward_fn(x, w, b, conv_param): cross-correlation plus bias."""
    x, w, b, conv_param = conv_case(seed, x_shape, w_shape, stride, pad)
    out, _ = conv_forward_fast(x, w, b, conv_param)
    Ho, Wo = out.shape[2:]
    mistakes = [
        Mistake(
            conv_forward_fast(x, w[:, :, ::-1, ::-1], b, conv_param)[0],
            "out is a convolution (flipped kernel): deep-learning libraries compute the "
            "cross-correlation, out[n, f, i, j] = sum(window * w[f]) + b[f], without flipping w",
        ),
        Mistake(out - b[None, :, None, None], "the bias is missing: add b[f] to every output"),
        Mistake(
            np.broadcast_to(out.sum(axis=1, keepdims=True), out.shape)
            - b.sum()
            + b[None, :, None, None],
            "every filter gives the same output: filter f must use its own weights w[f]",
        ),
    ]
    if stride > 1:
        ignored = {"stride": 1, "pad": pad}
        full = conv_forward_fast(x, w, b, ignored)[0]
        message = (
            "stride ignored: output (i, j) reads the window whose top-left corner is "
            "(i * stride, j * stride), and Ho = 1 + (H + 2 * pad - HH) // stride"
        )
        mistakes += [Mistake(full, message), Mistake(full[:, :, :Ho, :Wo], message)]
    if pad > 0:
        mistakes.append(
            Mistake(
                conv_forward_fast(x, w, b, {"stride": stride, "pad": 0})[0],
                "x was not padded: add `pad` zeros on both sides of H and W first (np.pad)",
            )
        )
    case = _conv_case_text(x_shape, w_shape, stride, pad)
    with Check("conv_forward_naive", conv_forward_fn, case) as check:
        got, cache = check.unpack(check.call(x, w, b, conv_param), ("out", "cache"))
        check.compare("out", got, out, mistakes=mistakes, axes=OUTPUT_AXES)
        _check_cache(
            cache,
            (x, w, b, conv_param),
            ("x", "w", "b", "conv_param"),
            "(x, w, b, conv_param)",
        )


@stdout_only
def check_conv_backward_naive(
    conv_backward_fn, x_shape=(2, 3, 5, 5), w_shape=(4, 3, 3, 3), stride=1, pad=1, seed=0
):
    """dx, dw, db = conv_backward_fn(dout, cache) against central differences."""
    x, w, b, conv_param = conv_case(seed, x_shape, w_shape, stride, pad)
    out, cache = conv_forward_fast(x, w, b, conv_param)
    dout = rng_for(seed + 1000).normal(size=out.shape)
    N, _, Ho, Wo = out.shape

    def forward(x_, w_, b_):
        return conv_forward_fast(x_, w_, b_, conv_param)[0]

    dx = numerical_vjp(lambda x_: forward(x_, w, b), x, dout)
    dw = numerical_vjp(lambda w_: forward(x, w_, b), w, dout)
    db = numerical_vjp(lambda b_: forward(x, w, b_), b, dout)

    flipped = (x, w[:, :, ::-1, ::-1], b, conv_param)
    dx_flipped = conv_backward_fast(dout, flipped)[0]
    dx_pad, _ = _loop_backward(dout, x, w, pad, stride)
    dx_mistakes = [
        Mistake(
            dx_flipped,
            "dx uses the flipped kernel (a convolution): the backward pass of a "
            "cross-correlation adds dout[n, f, i, j] * w[f] to the window it came from, "
            "w as it is",
        )
    ]
    if pad > 0:
        dx_mistakes.append(
            Mistake(
                dx_pad,
                "dx still holds the padding: return dx_pad[:, :, pad:pad + H, pad:pad + W], "
                "the gradient of the unpadded x",
            )
        )
    else:
        dx_mistakes.append(
            Mistake(
                dx_pad[:, :, :0, :0],  # what dx_pad[:, :, pad:-pad, pad:-pad] gives
                "dx is empty: with pad = 0, dx_pad[:, :, pad:-pad] is the empty slice 0:0; "
                "slice with pad:pad + H instead",
            )
        )
    overwritten, dw_overwritten = _loop_backward(dout, x, w, pad, stride, accumulate=False)
    dx_mistakes.append(
        Mistake(
            _unpad(overwritten, pad),
            "later windows overwrote earlier ones: every input pixel lies in several windows "
            "(and is seen by every filter), accumulate with += over all positions and filters",
        )
    )
    dw_mistakes = [
        Mistake(
            dw_overwritten,
            "dw matches a single position's contribution: accumulate over all positions "
            "(dw[f] += ..., over every example and every output position)",
        ),
        Mistake(
            np.einsum(
                "nf,ncpq->fcpq",
                dout[:, :, -1, -1],
                windows(pad_images(x, pad), *w.shape[2:], stride, Ho, Wo)[:, :, -1, -1],
            ),
            "dw matches a single position's contribution: accumulate over all positions "
            "(dw[f] += window * dout[n, f, i, j] for every i, j)",
        ),
        Mistake(
            dw[:, :, ::-1, ::-1],
            "dw is flipped (a convolution): dw[f, c, p, q] pairs w[f, c, p, q] with "
            "x_pad[n, c, i * stride + p, j * stride + q], without flipping",
        ),
    ]
    if N > 1:
        last = _loop_backward(dout[-1:], x[-1:], w, pad, stride)[1]
        dw_mistakes.append(
            Mistake(last, "dw holds the last example only: add the contributions of every example")
        )
    if stride > 1:
        message = (
            "stride ignored: the window of output (i, j) starts at row i * stride, "
            "column j * stride of x_pad"
        )
        ignored_dx_pad, ignored_dw = _loop_backward(dout, x, w, pad, stride, step=1)
        dx_mistakes.append(Mistake(_unpad(ignored_dx_pad, pad), message))
        dw_mistakes.append(Mistake(ignored_dw, message))
    not_summed = (
        "db must add dout over the batch and over every output position: "
        "db = dout.sum(axis=(0, 2, 3))"
    )
    db_mistakes = [
        Mistake(dout.sum(axis=(2, 3)), not_summed),
        Mistake(dout.sum(axis=0), not_summed),
        Mistake(dout.sum(axis=(0, 2)), not_summed),
        Mistake(dout.sum(axis=(0, 3)), not_summed),
        Mistake(dout.sum(axis=(1, 2, 3)), not_summed),
        Mistake(dout[-1].sum(axis=(1, 2)), not_summed),
        Mistake(dout[:, :, -1, -1].sum(axis=0), not_summed),
    ]
    mean_factors = [
        Factor(1 / N, "1/N", "do not divide by N: dout already carries the loss's 1/N"),
        Factor(
            1 / (Ho * Wo),
            "1/(Ho Wo)",
            "do not average over positions: the gradients of a shared weight add up",
        ),
    ]
    case = _conv_case_text(x_shape, w_shape, stride, pad)
    with Check("conv_backward_naive", conv_backward_fn, case) as check:
        got = check.unpack(check.call(dout, cache), ("dx", "dw", "db"))
        check.compare("dx", got[0], dx, mistakes=dx_mistakes, axes=IMAGE_AXES)
        check.compare("dw", got[1], dw, mistakes=dw_mistakes, factors=mean_factors)
        check.compare("db", got[2], db, mistakes=db_mistakes, factors=mean_factors)
