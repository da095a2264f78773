"""2-D classification sets, generated on the spot: interleaved spirals and two moons.

Both return `(X, y)` with `X` of shape (N, 2), float64, and integer labels `y` of shape (N,),
the conventions of the course. Points are shuffled, so that any slice is a fair batch.
"""

import numpy as np

from gradlab.inputs import rng_for


def _shuffled(X, y, rng):
    order = rng.permutation(len(y))
    return X[order], y[order]


def spirals(n_per_class=100, classes=3, noise=0.2, turns=0.8, seed=0):
    """`classes` spiral arms winding around the origin, one class per arm.

    Inputs:
    - n_per_class: points per arm
    - classes: number of arms (and of classes)
    - noise: standard deviation of the angular jitter, in radians
    - turns: how far each arm winds, in full turns
    - seed: seed of the random generator

    Returns a tuple of:
    - X: points, shape (classes * n_per_class, 2), inside the unit disc
    - y: labels in range(classes), shape (classes * n_per_class,)
    """
    rng = rng_for(seed)
    radius = np.linspace(0.05, 1.0, n_per_class)
    X, y = [], []
    for k in range(classes):
        start = 2 * np.pi * k / classes
        angle = start + 2 * np.pi * turns * radius + rng.normal(scale=noise, size=n_per_class)
        X.append(np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1))
        y.append(np.full(n_per_class, k))
    return _shuffled(np.concatenate(X), np.concatenate(y), rng)


def moons(n_per_class=100, noise=0.1, seed=0):
    """Two interleaved half circles, the classic two-class toy problem.

    Inputs:
    - n_per_class: points per moon
    - noise: standard deviation of the Gaussian noise added to every coordinate
    - seed: seed of the random generator

    Returns a tuple of:
    - X: points, shape (2 * n_per_class, 2), centred on the origin
    - y: labels in {0, 1}, shape (2 * n_per_class,)
    """
    rng = rng_for(seed)
    t = np.linspace(0, np.pi, n_per_class)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    X = np.concatenate([upper, lower]) - np.array([0.5, 0.25])
    X = X + rng.normal(scale=noise, size=X.shape)
    y = np.repeat([0, 1], n_per_class)
    return _shuffled(X, y, rng)


def blobs(seed=0, n_per_class=30, C=3, spread=0.9):
    """A small 2-D classification set: C Gaussian blobs around a circle.

    Returns X (N, 3), whose last column is the constant 1 that plays the bias, and y (N,).
    """
    rng = rng_for(seed)
    angles = 2 * np.pi * np.arange(C) / C
    centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    y = np.repeat(np.arange(C), n_per_class)
    points = centres[y] + spread * rng.normal(size=(len(y), 2))
    return np.hstack([points, np.ones((len(y), 1))]), y
