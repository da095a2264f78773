"""Lesson 07: max pooling routes the gradient of each window to its maximum.

Trusted references: the forward pass, the backward pass by the contract's rule (the whole
gradient of a window goes to its first maximum in row-major order) and average pooling for
comparison, and one check per exercise. Without ties, the backward pass is checked against
central differences on inputs whose entries are all far apart (gradlab.inputs.distinct_values);
with ties, max has a kink and central differences split the gradient, so the expected dx is
derived from the first-maximum rule.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gradlab.checking import Check, Mistake, Probe, Sum, Switch, stdout_only, upstream_mistakes
from gradlab.inputs import distinct_values, rng_for
from gradlab.numeric import numerical_vjp
from gradlab.tools.pooling import avg_pool_backward, avg_pool_forward

IMAGE_AXES = ("example", "channel", "row", "column")
# the pooling exercises' own example for the general diagnosis of a cropped output
WINDOW_HINTS = {
    "shape:cropped": "a loop or an output size stops too early (Ho = 1 + (H - pool_height) "
    "// stride?)"
}


def pooled_size(size, window, stride):
    """Number of window positions along one axis: 1 + (size - window) // stride."""
    return 1 + (size - window) // stride


def pool_windows(x, pool_param):
    """A read-only view (N, C, Ho, Wo, ph, pw) of the pooling windows of x (N, C, H, W)."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    Ho, Wo = pooled_size(x.shape[2], ph, stride), pooled_size(x.shape[3], pw, stride)
    view = sliding_window_view(x, (ph, pw), axis=(2, 3))
    return view[:, :, ::stride, ::stride][:, :, :Ho, :Wo]


def max_pool_forward(x, pool_param):
    """out[n, c, i, j] = max of the window of x[n, c] whose top-left corner is
    (i * stride, j * stride). Returns (out, cache) with cache (x, pool_param)."""
    return pool_windows(x, pool_param).max(axis=(4, 5)), (x, pool_param)


def max_pool_backward(dout, cache, *, choose="first"):
    """dx of max pooling: dout[n, c, i, j] goes to the maximum of window (i, j).

    choose says what happens to a window with several maxima: "first" (the contract: the
    first maximum in row-major order takes everything), "last", "split" (equal shares) or
    "all" (every maximum gets the whole dout); the last three are typical mistakes.
    """
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    rows = slice(i * stride, i * stride + ph)
                    cols = slice(j * stride, j * stride + pw)
                    window = x[n, c, rows, cols]
                    dx[n, c, rows, cols] += _route(window, choose) * dout[n, c, i, j]
    return dx


def _route(window, choose):
    """Where one unit of gradient goes in a window, as an array of the window's shape."""
    is_max = (window == window.max()).astype(float)
    if choose == "all":
        return is_max
    if choose == "split":
        return is_max / is_max.sum()
    flat = is_max.ravel()
    k = np.argmax(flat) if choose == "first" else flat.size - 1 - np.argmax(flat[::-1])
    mask = np.zeros(window.size)
    mask[k] = 1.0
    return mask.reshape(window.shape)


def window_assigned_backward(dout, x, pool_param):
    """What assigning (`=`) each routed window gives: a later window's zeros overwrite the
    gradient an earlier overlapping window routed to its maximum."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        rows, cols = slice(i * stride, i * stride + ph), slice(j * stride, j * stride + pw)
        dx[n, c, rows, cols] = _route(x[n, c, rows, cols], "first") * dout[n, c, i, j]
    return dx


def routed_terms(dout, x, pool_param):
    """The loops' contributions to dx, in their order: dout[n, c, i, j] added at the first
    maximum of window (i, j)."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    terms = []
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * stride : i * stride + ph, j * stride : j * stride + pw]
        r, q = np.unravel_index(np.argmax(window), window.shape)
        terms.append(((n, c, i * stride + r, j * stride + q), dout[n, c, i, j]))
    return terms


def misunravelled_backward(dout, x, pool_param, mistake):
    """dx when the flat argmax k of each window is turned into (row, column) wrongly: as
    (k // pool_height, k % pool_height) ("width") or with row and column swapped,
    (k % pool_height, k // pool_height) ("swapped"). None when that lands outside x (the
    student's code would then raise IndexError)."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * stride : i * stride + ph, j * stride : j * stride + pw]
        k = int(np.argmax(window))
        r, q = (k // ph, k % ph) if mistake == "width" else (k % ph, k // ph)
        r, q = i * stride + r, j * stride + q
        if r >= x.shape[2] or q >= x.shape[3]:
            return None
        dx[n, c, r, q] += dout[n, c, i, j]
    return dx


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------


def pool_case(seed, x_shape, pool, stride, ties):
    """Random (x, pool_param): distinct entries far apart, or small integers with many ties."""
    rng = rng_for(seed)
    x = rng.integers(0, 3, size=x_shape).astype(float) if ties else distinct_values(rng, x_shape)
    return x, {"pool_height": pool[0], "pool_width": pool[1], "stride": stride}


def pool_probe(x, pool_param, ties, **more):
    """The Probe of a pooling exercise on x (N, C, H, W): `more` gives the rest of the Probe.
    Without ties in the case, a smaller or simpler case has none either."""
    params = {name: (value, "") for name, value in pool_param.items()}

    def defined(x, pool_height, pool_width, stride, **_):
        if x.shape[2] < pool_height or x.shape[3] < pool_width:
            return False
        param = {"pool_height": pool_height, "pool_width": pool_width, "stride": stride}
        top = np.sort(pool_windows(x, param).reshape(*x.shape[:2], -1, pool_height * pool_width))
        return ties or bool(np.all(top[..., -1] > top[..., -2]))

    return Probe({"x": (x, "N C H W"), **params, **more.pop("inputs", {})}, valid=defined, **more)


def _param(pool_height, pool_width, stride):
    return {"pool_height": pool_height, "pool_width": pool_width, "stride": stride}


def _case_text(x_shape, pool, stride, ties):
    kind = "integers 0..2, many ties" if ties else "distinct values"
    return f"x {tuple(x_shape)} ({kind}), pool {pool[0]}x{pool[1]}, stride {stride}"


def max_pool_forward_mistakes(x, pool_param):
    """The typical wrong outputs of max pooling."""
    pool, stride = (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"]
    out, _ = max_pool_forward(x, pool_param)
    Ho, Wo = out.shape[2:]
    mistakes = [
        Mistake(
            avg_pool_forward(x, pool_param)[0],
            "you averaged each window (average pooling): max pooling takes its maximum",
        ),
        Mistake(
            np.broadcast_to(out.max(axis=1, keepdims=True), out.shape),
            "the maximum was taken across channels too: pool each channel of each image "
            "on its own, x[n, c, window].max()",
            "axis",
        ),
    ]
    if stride > 1:
        full = max_pool_forward(x, dict(pool_param, stride=1))[0]
        message = (
            "stride ignored: window (i, j) starts at row i * stride, column j * stride, "
            "and Ho = 1 + (H - pool_height) // stride"
        )
        mistakes += [Mistake(full, message), Mistake(full[:, :, :Ho, :Wo], message)]
    if pool[0] != pool[1] and all(s <= d for s, d in zip(pool[::-1], x.shape[2:])):
        swapped = dict(pool_param, pool_height=pool[1], pool_width=pool[0])
        mistakes.append(
            Mistake(
                max_pool_forward(x, swapped)[0],
                "pool_height and pool_width are swapped: windows span pool_height rows "
                "and pool_width columns",
                "order",
            )
        )
    return mistakes


@stdout_only
def check_max_pool_forward_naive(
    max_pool_forward_fn, x_shape=(2, 3, 4, 4), pool=(2, 2), stride=2, ties=False, seed=0
):
    """out, cache = max_pool_forward_fn(x, pool_param): the maximum of every window."""
    x, pool_param = pool_case(seed, x_shape, pool, stride, ties)
    out, _ = max_pool_forward(x, pool_param)
    case = _case_text(x_shape, pool, stride, ties)
    probe = pool_probe(
        x,
        pool_param,
        ties,
        call=lambda x, **param: (x, _param(**param)),
        trusted=max_pool_forward,
        outputs=("out", None),
    )
    with Check("max_pool_forward_naive", max_pool_forward_fn, case, probe) as check:
        got, cache = check.unpack(check.call(x, pool_param), ("out", "cache"), (out, None))
        check.compare(
            "out",
            got,
            out,
            mistakes=max_pool_forward_mistakes(x, pool_param),
            axes=("example", "channel", "output row", "output column"),
            hints=WINDOW_HINTS,
        )
        check.compare_cache(cache, [("x", x), ("pool_param", pool_param)])


def max_pool_backward_mistakes(dout, cache, ties):
    """The typical wrong dx of max pooling's backward pass (for inputs with ties or not)."""
    x, pool_param = cache
    pool, stride = (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"]
    mistakes = upstream_mistakes(max_pool_backward, dout, cache, names=("dx",))["dx"]
    if stride < pool[0] or stride < pool[1]:  # overlapping windows
        mistakes.append(
            Mistake(
                window_assigned_backward(dout, x, pool_param),
                "overlapping windows must accumulate: a cell that is the maximum of several "
                "windows receives the sum of their gradients (dx[...] += ..., not =)",
                "accumulation",
            )
        )
    if ties:
        mistakes += [
            Mistake(
                max_pool_backward(dout, cache, choose="split"),
                "the gradient was split among tied maxima: by the contract the first maximum "
                "in row-major order (np.argmax of the window) takes the whole gradient",
            ),
            Mistake(
                max_pool_backward(dout, cache, choose="all"),
                "the gradient was sent to every tied maximum (a mask window == max): only "
                "the first maximum in row-major order (np.argmax) may receive it",
            ),
            Mistake(
                max_pool_backward(dout, cache, choose="last"),
                "the gradient went to the last tied maximum: the first maximum in row-major "
                "order takes it (np.argmax returns the first)",
                "order",
            ),
        ]
    mistakes += [
        Mistake(
            avg_pool_backward(dout, cache),
            "the gradient was spread over the whole window (average pooling): max pooling "
            "sends it to the window's maximum alone",
        ),
        Mistake(
            avg_pool_backward(dout, cache) * pool[0] * pool[1],
            "the gradient was sent to the whole window: max pooling sends it to the "
            "window's maximum alone",
        ),
    ]
    unravelled = {
        "width": "the argmax index was unravelled with the wrong width: flat index k of a "
        "(pool_height, pool_width) window is row k // pool_width, column k % pool_width "
        "(np.unravel_index(k, window.shape))",
        "swapped": "the row and column of the argmax are swapped: flat index k of a "
        "(pool_height, pool_width) window is row k // pool_width, column k % pool_width "
        "(np.unravel_index(k, window.shape))",
    }
    for mistake, message in unravelled.items():
        wrong = misunravelled_backward(dout, x, pool_param, mistake)
        if wrong is not None:
            mistakes.append(Mistake(wrong, message, "order"))
    return mistakes


@stdout_only
def check_max_pool_backward_naive(
    max_pool_backward_fn, x_shape=(2, 3, 4, 4), pool=(2, 2), stride=2, ties=False, seed=0
):
    """dx = max_pool_backward_fn(dout, cache): central differences without ties, the
    first-maximum rule with ties."""
    x, pool_param = pool_case(seed, x_shape, pool, stride, ties)
    out, cache = max_pool_forward(x, pool_param)
    dout = rng_for(seed + 1000).normal(size=out.shape)
    if ties:  # max has a kink at a tie: the contract's rule decides
        dx = max_pool_backward(dout, cache, choose="first")
    else:
        dx = numerical_vjp(lambda x_: max_pool_forward(x_, pool_param)[0], x, dout)
    overlapping = (
        "overlapping windows must accumulate: a cell that is the maximum of several windows "
        "receives the sum of their gradients"
    )
    case = _case_text(x_shape, pool, stride, ties)
    tiling = Switch(
        f"the windows do not overlap (stride = {pool[0]})",
        "the windows that overlap are combined wrongly",
        {"stride": pool[0]},
    )
    probe = pool_probe(
        x,
        pool_param,
        ties,
        inputs={"dout": (dout, "N C Ho Wo")},
        call=lambda x, dout, **param: (dout, (x, _param(**param))),
        trusted=max_pool_backward,
        outputs=("dx",),
        upstream="dout",
        switches=(tiling,) if pool[0] == pool[1] and stride < pool[0] else (),
        derived={
            "Ho": lambda v: pooled_size(v["H"], v["pool_height"], v["stride"]),
            "Wo": lambda v: pooled_size(v["W"], v["pool_width"], v["stride"]),
        },
    )
    with Check("max_pool_backward_naive", max_pool_backward_fn, case, probe) as check:
        check.compare(
            "dx",
            check.call(dout, cache),
            dx,
            mistakes=max_pool_backward_mistakes(dout, cache, ties),
            sums=Sum(routed_terms(dout, x, pool_param), "window"),
            axes=IMAGE_AXES,
            hints={"accumulation": f"{overlapping} (dx[...] += ..., not =)"},
        )
