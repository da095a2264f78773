"""Real handwritten digits, 8 x 8 pixels: shipped with the package, no download.

Source: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine
Learning Repository (1998), https://doi.org/10.24432/C50P49; the 1,797 images of its test
set (13 writers), as scikit-learn bundles them (`sklearn.datasets.load_digits`). Each image
is a 32 x 32 bitmap of a digit written on a form, cut into 4 x 4 blocks whose "on" pixels
were counted, so every pixel is an integer from 0 to 16.

Licence: Creative Commons Attribution 4.0 International (CC BY 4.0),
https://creativecommons.org/licenses/by/4.0/ — the data are the authors' work, shared
unchanged apart from the split below.

The file digits.npz beside this module holds them as uint8 arrays, in a fixed split made once
with np.random.default_rng(0): for each digit 30 images for validation, 30 for testing and the
rest (114 to 123) for training, 1,197 / 300 / 300 images in all, each split shuffled.
"""

from importlib import resources

import numpy as np

SPLITS = ("train", "val", "test")
CLASSES = tuple(range(10))
PIXEL_MAX = 16


def raw(split):
    """The images of one split as stored: uint8 pixels in 0..16.

    Inputs:
    - split: "train", "val" or "test"

    Returns a tuple of:
    - images: shape (N, 8, 8), dtype uint8
    - labels: the digit shown by each image, shape (N,), dtype uint8
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {SPLITS}")
    with resources.files("gradlab.data").joinpath("digits.npz").open("rb") as f, np.load(f) as z:
        return z[f"{split}_images"], z[f"{split}_labels"]


def digits():
    """The three splits in the layout of the course, pixels scaled to [0, 1].

    Returns a tuple (X_train, y_train, X_val, y_val, X_test, y_test) of:
    - X_*: images, shape (N, 1, 8, 8), float64, pixel / 16
    - y_*: integer labels 0..9, shape (N,), int64
    with N = 1197, 300 and 300.
    """
    arrays = []
    for split in SPLITS:
        images, labels = raw(split)
        arrays += [images[:, None].astype(np.float64) / PIXEL_MAX, labels.astype(np.int64)]
    return tuple(arrays)
