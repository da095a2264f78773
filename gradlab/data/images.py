"""Tiny grey-scale images of bars, crosses and squares, drawn on the spot (no downloads).

Each image is one stroke figure of one pixel wide lines on a dark background, at a random
place and size, plus a little Gaussian noise:

- a bar: one horizontal or vertical line;
- a cross: a horizontal and a vertical line crossing, a "+";
- a square: the outline of a square.

A classifier must look at how strokes meet (a crossing, corners, free ends), which is what
small convolution filters learn to detect. Images follow the course layout (N, C, H, W)
with C = 1.
"""

import numpy as np

CLASSES = ("bar", "cross", "square")


def _bar(rng, size):
    length = rng.integers(size // 2, size - 1)
    start = rng.integers(1, size - length)
    across = rng.integers(1, size - 1)
    image = np.zeros((size, size))
    image[across, start : start + length] = 1.0
    return image if rng.random() < 0.5 else image.T


def _cross(rng, size):
    arm = rng.integers(2, size // 2 - 1)
    row, col = rng.integers(arm + 1, size - arm - 1, size=2)
    image = np.zeros((size, size))
    image[row, col - arm : col + arm + 1] = 1.0
    image[row - arm : row + arm + 1, col] = 1.0
    return image


def _square(rng, size):
    side = rng.integers(4, size - 3)
    top, left = rng.integers(1, size - side, size=2)
    image = np.zeros((size, size))
    bottom, right = top + side - 1, left + side - 1
    image[top, left : right + 1] = image[bottom, left : right + 1] = 1.0
    image[top : bottom + 1, left] = image[top : bottom + 1, right] = 1.0
    return image


_DRAW = (_bar, _cross, _square)


def shapes(n, size=12, noise=0.1, seed=0):
    """A balanced, shuffled set of n images of bars, crosses and squares.

    Inputs:
    - n: number of images
    - size: height and width of each image in pixels (at least 10)
    - noise: standard deviation of the Gaussian noise added to every pixel
    - seed: the random seed; the same seed gives the same images

    Returns a tuple of:
    - x: images, shape (n, 1, size, size), float64, strokes near 1 and background near 0
    - y: integer labels, shape (n,), an index into CLASSES
    """
    if size < 10:
        raise ValueError(f"images need size >= 10 to hold every shape, got {size}")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(CLASSES))
    x = np.stack([_DRAW[label](rng, size) for label in y])[:, None]
    return x + noise * rng.normal(size=x.shape), y
