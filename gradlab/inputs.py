"""Random inputs for checks, kept away from kinks so that central differences are exact enough.

A central difference with step h straddles a kink (ReLU at 0, a max with a tie, a hinge
at margin 0) whenever an input lies within h of it, and then disagrees with any correct
analytic gradient. These generators keep a margin of at least `gap` from every kink.
"""

import numpy as np


def rng_for(seed):
    """The one random generator every check uses, so that a seed names a case."""
    return np.random.default_rng(seed)


def away_from_zero(rng, shape, gap=0.05, scale=1.0):
    """Normal entries with |x| >= gap: safe inputs for ReLU and other kinks at 0."""
    x = rng.normal(scale=scale, size=shape)
    return np.where(np.abs(x) < gap, np.copysign(gap, x) + x, x)


def distinct_values(rng, shape, gap=0.01):
    """Entries that are pairwise at least `gap` apart: no ties in any max.

    A random permutation of an evenly spaced grid, shifted by a common random
    offset, so every window of a max-pool has one clear winner.
    """
    n = int(np.prod(shape))
    grid = (np.arange(n) - n / 2) * gap * 2
    return (rng.permutation(grid) + rng.uniform(-gap / 2, gap / 2)).reshape(shape)


def hinge_safe_problem(rng, N, D, C, gap=0.05, scale=1.0):
    """(W, X, y) for a multiclass hinge loss with every margin s_j - s_y + 1 at least gap from 0.

    Rows whose margins come too close to the kink are drawn again.
    """
    W = rng.normal(scale=scale, size=(D, C))
    X = np.empty((N, D))
    y = rng.integers(C, size=N)
    for i in range(N):
        while True:
            x = rng.normal(size=D)
            scores = x @ W
            margins = np.delete(scores - scores[y[i]] + 1, y[i])
            if np.all(np.abs(margins) >= gap):
                X[i] = x
                break
    return W, X, y
