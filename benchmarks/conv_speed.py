"""How much faster is the vectorised convolution of lesson 06 than the naive loops?

Times, in one run, the naive forward and backward passes students write in lesson 06 (taken
from the solution cells of its source notebook) against gradlab's conv_forward_fast and
conv_backward_fast, on a CIFAR-10-sized minibatch: 16 colour images of 32 x 32 through 16
filters of 3 x 3, stride 1, padding 1. Prints the times, the ratios and the largest
difference between the two results.

    .venv/bin/python benchmarks/conv_speed.py
"""

import time

import numpy as np

from autograder.notebooks import nbgrader_meta, source_notebook
from gradlab.exercises.conv import conv_backward_fast, conv_forward_fast

LESSON = "06_conv_weight_sharing"
REPEATS = 5  # the vectorised passes are timed several times and the best run is kept


def naive_functions():
    """conv_forward_naive and conv_backward_naive from the lesson's solution cells."""
    namespace = {"np": np}
    for cell in source_notebook(LESSON).cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("grade_id") in (
            "conv_forward_naive",
            "conv_backward_naive",
        ):
            exec(cell.source, namespace)
    return namespace["conv_forward_naive"], namespace["conv_backward_naive"]


def timed(fn, *args, repeats=1):
    """(result, best time in seconds over `repeats` calls)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return result, best


def main():
    conv_forward_naive, conv_backward_naive = naive_functions()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3, 32, 32))
    w = rng.normal(size=(16, 3, 3, 3))
    b = rng.normal(size=16)
    conv_param = {"stride": 1, "pad": 1}
    print(f"x {x.shape}, w {w.shape}, stride 1, pad 1")

    (out_naive, cache), forward_naive = timed(conv_forward_naive, x, w, b, conv_param)
    dout = rng.normal(size=out_naive.shape)
    grads_naive, backward_naive = timed(conv_backward_naive, dout, cache)
    (out_fast, cache), forward_fast = timed(conv_forward_fast, x, w, b, conv_param, repeats=REPEATS)
    grads_fast, backward_fast = timed(conv_backward_fast, dout, cache, repeats=REPEATS)

    pairs = zip((out_naive, *grads_naive), (out_fast, *grads_fast))
    difference = max(float(np.max(np.abs(a - c))) for a, c in pairs)
    rows = [
        ("forward", forward_naive, forward_fast),
        ("backward", backward_naive, backward_fast),
        ("both", forward_naive + backward_naive, forward_fast + backward_fast),
    ]
    print(f"{'pass':<10}{'naive (s)':>12}{'vectorised (s)':>16}{'speed-up':>10}")
    for name, naive, fast in rows:
        print(f"{name:<10}{naive:>12.3f}{fast:>16.4f}{naive / fast:>9.0f}x")
    print(f"largest difference between the two: {difference:.2e}")


if __name__ == "__main__":
    main()
