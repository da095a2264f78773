"""Lesson 06: a convolution is a sparse fully-connected layer with tied weights.

Trusted references of the 1-D exercises (the matrix of a cross-correlation, the gradient of
a tied weight) and one check per exercise. Backward gradients are checked against central
differences of the vectorised forward (gradlab.tools.conv), which the lesson's tests compare
with plain loops.
"""

import numpy as np

from gradlab.checking import (
    ONE_EXAMPLE,
    Check,
    Mistake,
    Probe,
    Sum,
    Switch,
    in_order,
    stdout_only,
    summed,
    upstream_mistakes,
)
from gradlab.inputs import rng_for
from gradlab.numeric import numerical_gradient, numerical_vjp
from gradlab.tools.conv import (
    conv_backward_fast,
    conv_forward_fast,
    output_size,
    pad_images,
    windows,
)

IMAGE_AXES = ("example", "channel", "row", "column")
OUTPUT_AXES = ("example", "filter", "output row", "output column")
# the conv exercises' own examples for the general diagnoses of a window or an offset
WINDOW_HINTS = {
    "shape:cropped": "a loop or an output size stops too early (Ho = 1 + (H + 2 * pad - HH) "
    "// stride?)",
    "slices:shifted": "a slice starts at the wrong index (e.g. [:H] where [pad:pad + H] belongs)",
    "slices:border": "check the first and last rows and columns: the padding, the windows at "
    "the edges",
}
CONV_SWITCHES = (
    Switch("pad = 0", "the padding is wrong", {"pad": 0}),
    Switch("stride = 1", "the stride is wrong: where each window starts", {"stride": 1}),
)

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
# What the loops of a backward pass add, and what typical wrong ones compute
# ---------------------------------------------------------------------------------------


def window_terms(dout, x, w, pad, stride):
    """The contributions of every (n, f, i, j), in the naive loops' order, to dx and to dw.

    Returns two lists of (index, value) pairs: dout[n, f, i, j] * w[f] added to the window of
    dx (cropped to x, without the padding) and dout[n, f, i, j] * window added to dw[f].
    """
    x_pad = pad_images(x, pad)
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    dx_terms, dw_terms = [], []
    for n, f, i, j in np.ndindex(dout.shape):
        top, left = i * stride - pad, j * stride - pad  # the window's corner in x
        rows = slice(max(top, 0), min(top + HH, H))
        cols = slice(max(left, 0), min(left + WW, W))
        inside = w[f][:, rows.start - top : rows.stop - top, cols.start - left : cols.stop - left]
        dx_terms.append(((n, slice(None), rows, cols), dout[n, f, i, j] * inside))
        window = x_pad[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
        dw_terms.append(((f,), dout[n, f, i, j] * window))
    return dx_terms, dw_terms


def loop_backward(dout, x, w, pad, step):
    """(dx_pad, dw) of the naive loops with `step` for the window corners (the stride, or 1
    when the stride is ignored); dx_pad still holds the padding."""
    x_pad = pad_images(x, pad)
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    HH, WW = w.shape[2:]
    for n, f, i, j in np.ndindex(dout.shape):
        rows, cols = slice(i * step, i * step + HH), slice(j * step, j * step + WW)
        dx_pad[n, :, rows, cols] += dout[n, f, i, j] * w[f]
        dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, cols]
    return dx_pad, dw


def unpad(dx_pad, pad):
    H, W = dx_pad.shape[2] - 2 * pad, dx_pad.shape[3] - 2 * pad
    return dx_pad[:, :, pad : pad + H, pad : pad + W]


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------


def conv1d_matrix_mistakes(w, n):
    """The typical wrong matrices of the cross-correlation of x (n,) with w."""
    M = conv1d_matrix(w, n)
    k = len(w)
    mistakes = [
        Mistake(
            conv1d_matrix(w[::-1], n),
            "row i holds w reversed, a convolution (flipped kernel): a cross-correlation, "
            "as in deep-learning libraries, puts w[j] at M[i, i + j]",
            "order",
        ),
        Mistake(
            np.trunc(M),
            "the weights were truncated to integers: M must be a float array, "
            "np.zeros((n - k + 1, n)) without dtype=int",
            "dtype",
        ),
    ]
    if n - k + 1 != n:
        mistakes.append(
            Mistake(
                M.T,
                "M is transposed: it needs one row per output (n - k + 1 rows) "
                "and one column per input (n columns)",
                "transpose",
            )
        )
    if n - k >= 1:
        mistakes.append(
            Mistake(
                M[:-1],
                "one row too few: n inputs and k weights give n - k + 1 valid windows, "
                "range(n - k + 1)",
                "shape",
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
                "shape",
            )
        )
    return mistakes


@stdout_only
def check_conv1d_matrix(conv1d_matrix_fn, n=8, k=3, seed=0):
    """M = conv1d_matrix(w, n) must satisfy M @ x = correlate1d(x, w) for every x."""
    w = rng_for(seed).normal(size=k)
    probe = Probe(
        {"w": (w, "k"), "n": (n, "n")},
        in_order,
        conv1d_matrix,
        ("M",),
        valid=lambda w, n: n >= len(w),
    )
    case = f"w of size k = {k}, n = {n}"
    with Check("conv1d_matrix", conv1d_matrix_fn, case, probe) as check:
        check.compare(
            "M",
            check.call(w, n),
            conv1d_matrix(w, n),
            mistakes=conv1d_matrix_mistakes(w, n),
            axes=("row", None),
        )


def tied_weight_grad_mistakes(dM, k):
    """The typical wrong gradients of the tied weights w (k,) from dM."""
    dw = tied_weight_grad(dM, k)
    return [
        Mistake(
            dM[:, :k].sum(axis=0),
            "you added column j of dM: w[j] does not sit in one column but on a diagonal, "
            "at M[i, i + j] for every row i; add dM[i, i + j] over i",
        ),
        Mistake(
            dw[::-1],
            "dw is reversed: w[j] sits at M[i, i + j], not at M[i, i + k - 1 - j]",
            "order",
        ),
        Mistake(
            np.array([np.trace(dM, offset=-j) for j in range(k)]),
            "you added the diagonals below the main one (offset -j, or the diagonals of dM.T): "
            "w[j] sits at M[i, i + j], above it",
            "transpose",
        ),
    ]


@stdout_only
def check_tied_weight_grad(tied_weight_grad_fn, n=8, k=3, seed=0):
    """dw = tied_weight_grad(dM, k) must be the gradient of sum(dM * conv1d_matrix(w, n))."""
    rng = rng_for(seed)
    w = rng.normal(size=k)
    dM = rng.normal(size=(n - k + 1, n))  # every entry set, also those off the band
    dw = numerical_gradient(lambda w_: np.sum(dM * conv1d_matrix(w_, n)), w)
    rows = n - k + 1
    averaged = summed(rows, "(n - k + 1)", "the entries w[j] occupies", "the chain rule adds them")
    case = f"dM of shape {(rows, n)}, k = {k}"
    probe = Probe(
        {"dM": (dM, "R n"), "k": (k, "k")},
        in_order,
        tied_weight_grad,
        ("dw",),
        upstream="dM",
        derived={"R": lambda sizes: sizes["n"] - sizes["k"] + 1},
    )
    with Check("tied_weight_grad", tied_weight_grad_fn, case, probe) as check:
        check.compare(
            "dw",
            check.call(dM, k),
            dw,
            mistakes=tied_weight_grad_mistakes(dM, k),
            factors=[averaged],
            sums=Sum([(None, dM[i, i : i + k]) for i in range(rows)], "row"),
            hints={"accumulation": "w[j] occupies M[i, i + j] in every row i: dw += ..."},
        )


def conv_case(seed, x_shape, w_shape, stride, pad):
    """Random (x, w, b, conv_param) for a check: x (N, C, H, W), w (F, C, HH, WW)."""
    rng = rng_for(seed)
    x = rng.normal(size=x_shape)
    w = rng.normal(size=w_shape)
    b = rng.normal(size=w_shape[0])
    return x, w, b, {"stride": stride, "pad": pad}


def conv_inputs(x, w, b, conv_param):
    """The inputs of a conv exercise's Probe: x (N, C, H, W), w (F, C, HH, WW), b, the stride
    and the padding."""
    return {
        "x": (x, "N C H W"),
        "w": (w, "F C HH WW"),
        "b": (b, "F"),
        "stride": (conv_param["stride"], ""),
        "pad": (conv_param["pad"], ""),
    }


def conv_fits(x, w, stride, pad, **_):
    """Whether at least one window of w fits in the padded x."""
    return all(s + 2 * pad >= k for s, k in zip(x.shape[2:], w.shape[2:]))


def _conv_case_text(x_shape, w_shape, stride, pad):
    return f"x {tuple(x_shape)}, w {tuple(w_shape)}, stride {stride}, pad {pad}"


def conv_forward_mistakes(x, w, b, conv_param):
    """The typical wrong outputs of a convolutional layer's forward pass."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    out, _ = conv_forward_fast(x, w, b, conv_param)
    Ho, Wo = out.shape[2:]
    mistakes = [
        Mistake(
            conv_forward_fast(x, w[:, :, ::-1, ::-1], b, conv_param)[0],
            "out is a convolution (flipped kernel): deep-learning libraries compute the "
            "cross-correlation, out[n, f, i, j] = sum(window * w[f]) + b[f], without flipping w",
            "order",
        ),
        Mistake(
            out - b[None, :, None, None],
            "the bias is missing: add b[f] to every output",
            "missing term",
        ),
        Mistake(
            np.broadcast_to(out.sum(axis=1, keepdims=True), out.shape)
            - b.sum()
            + b[None, :, None, None],
            "every filter gives the same output: filter f must use its own weights w[f]",
        ),
        Mistake(
            conv_forward_fast(x, w / w[0].size, b, conv_param)[0],
            "np.mean divides by the window size C * HH * WW: a cross-correlation is the sum "
            "of window * w[f]",
            "factor",
        ),
    ]
    if stride > 1:
        full = conv_forward_fast(x, w, b, {"stride": 1, "pad": pad})[0]
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
                "missing term",
            )
        )
    return mistakes


@stdout_only
def check_conv_forward_naive(
    conv_forward_fn, x_shape=(2, 3, 5, 5), w_shape=(4, 3, 3, 3), stride=1, pad=1, seed=0
):
    """out, cache = conv_forward_fn(x, w, b, conv_param): cross-correlation plus bias."""
    x, w, b, conv_param = conv_case(seed, x_shape, w_shape, stride, pad)
    out, _ = conv_forward_fast(x, w, b, conv_param)
    case = _conv_case_text(x_shape, w_shape, stride, pad)
    probe = Probe(
        conv_inputs(x, w, b, conv_param),
        lambda x, w, b, stride, pad: (x, w, b, {"stride": stride, "pad": pad}),
        conv_forward_fast,
        ("out", None),
        switches=(*CONV_SWITCHES, Switch("b = 0", "the bias term is wrong", {"b": 0.0})),
        valid=conv_fits,
    )
    with Check("conv_forward_naive", conv_forward_fn, case, probe) as check:
        got, cache = check.unpack(check.call(x, w, b, conv_param), ("out", "cache"), (out, None))
        check.compare(
            "out",
            got,
            out,
            mistakes=conv_forward_mistakes(x, w, b, conv_param),
            axes=OUTPUT_AXES,
            hints=WINDOW_HINTS,
        )
        check.compare_cache(cache, [("x", x), ("w", w), ("b", b), ("conv_param", conv_param)])


def conv_backward_mistakes(dout, cache, dw):
    """{output: Mistakes} of a convolutional layer's backward pass (the sums of the loops'
    contributions are declared apart, by window_terms)."""
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    names = ("dx", "dw", "db")
    mistakes = upstream_mistakes(conv_backward_fast, dout, cache, names=names)
    dx_pad, _ = loop_backward(dout, x, w, pad, stride)
    mistakes["dx"].append(
        Mistake(
            conv_backward_fast(dout, (x, w[:, :, ::-1, ::-1], b, conv_param))[0],
            "dx uses the flipped kernel (a convolution): the backward pass of a "
            "cross-correlation adds dout[n, f, i, j] * w[f] to the window it came from, "
            "w as it is",
            "order",
        )
    )
    if pad > 0:
        mistakes["dx"].append(
            Mistake(
                dx_pad,
                "dx still holds the padding: return dx_pad[:, :, pad:pad + H, pad:pad + W], "
                "the gradient of the unpadded x",
                "shape",
            )
        )
    else:
        mistakes["dx"].append(
            Mistake(
                dx_pad[:, :, :0, :0],  # what dx_pad[:, :, pad:-pad, pad:-pad] gives
                "dx is empty: with pad = 0, dx_pad[:, :, pad:-pad] is the empty slice 0:0; "
                "slice with pad:pad + H instead",
                "shape",
            )
        )
    Ho, Wo = dout.shape[2:]
    last_position = np.einsum(
        "nf,ncpq->fcpq",
        dout[:, :, -1, -1],
        windows(pad_images(x, pad), *w.shape[2:], stride, Ho, Wo)[:, :, -1, -1],
    )
    mistakes["dw"] += [
        Mistake(
            last_position,
            "dw matches a single position's contribution: accumulate over all positions "
            "(dw[f] += window * dout[n, f, i, j] for every i, j)",
            "accumulation",
        ),
        Mistake(
            dw[:, :, ::-1, ::-1],
            "dw is flipped (a convolution): dw[f, c, p, q] pairs w[f, c, p, q] with "
            "x_pad[n, c, i * stride + p, j * stride + q], without flipping",
            "order",
        ),
    ]
    if len(x) > 1:
        last = conv_backward_fast(dout[-1:], (x[-1:], w, b, conv_param))[1]
        mistakes["dw"].append(
            Mistake(
                last,
                "dw holds the last example only: add the contributions of every example",
                "accumulation",
            )
        )
    if stride > 1:
        message = (
            "stride ignored: the window of output (i, j) starts at row i * stride, "
            "column j * stride of x_pad"
        )
        ignored_dx_pad, ignored_dw = loop_backward(dout, x, w, pad, 1)
        mistakes["dx"].append(Mistake(unpad(ignored_dx_pad, pad), message))
        mistakes["dw"].append(Mistake(ignored_dw, message))
    not_summed = (
        "db must add dout over the batch and over every output position: "
        "db = dout.sum(axis=(0, 2, 3))"
    )
    mistakes["db"] += [
        Mistake(dout[-1].sum(axis=(1, 2)), not_summed, "accumulation"),
        Mistake(dout[:, :, -1, -1].sum(axis=0), not_summed, "accumulation"),
    ]
    return mistakes


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
    mistakes = conv_backward_mistakes(dout, cache, dw)
    dx_terms, dw_terms = window_terms(dout, x, w, pad, stride)
    averaged = [
        summed(N, "N", "the batch", "dout already carries the loss's 1/N"),
        summed(Ho * Wo, "(Ho Wo)", "the output positions", "w and b are shared by them"),
    ]
    shared = {
        "accumulation": "every pixel lies in several windows and is seen by every filter: "
        "accumulate with +="
    }
    case = _conv_case_text(x_shape, w_shape, stride, pad)
    probe = Probe(
        {**conv_inputs(x, w, b, conv_param), "dout": (dout, "N F Ho Wo")},
        lambda x, w, b, stride, pad, dout: (
            dout,
            conv_forward_fast(x, w, b, {"stride": stride, "pad": pad})[1],
        ),
        conv_backward_fast,
        ("dx", "dw", "db"),
        upstream="dout",
        switches=(*CONV_SWITCHES, ONE_EXAMPLE),
        derived={
            "Ho": lambda v: output_size(v["H"], v["HH"], v["pad"], v["stride"]),
            "Wo": lambda v: output_size(v["W"], v["WW"], v["pad"], v["stride"]),
        },
        valid=conv_fits,
    )
    with Check("conv_backward_naive", conv_backward_fn, case, probe) as check:
        got = check.unpack(check.call(dout, cache), ("dx", "dw", "db"), (dx, dw, db))
        check.compare(
            "dx",
            got[0],
            dx,
            mistakes=mistakes["dx"],
            sums=Sum(dx_terms, "window"),
            axes=IMAGE_AXES,
            hints={**WINDOW_HINTS, **shared},
        )
        check.compare(
            "dw",
            got[1],
            dw,
            mistakes=mistakes["dw"],
            factors=averaged,
            sums=Sum(dw_terms, "window"),
        )
        check.compare(
            "db",
            got[2],
            db,
            mistakes=mistakes["db"],
            factors=averaged,
            hints={"axis": "db adds dout over the batch and every position, axis (0, 2, 3)"},
        )
