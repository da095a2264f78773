"""How far apart two arrays are: the relative error every gradient check reports."""

import numpy as np


def rel_error(a, b):
    """Symmetric relative error ||a - b|| / (||a|| + ||b||); 0 when both are zero.

    It is symmetric in a and b, scale-free, and at most 1 (opposite vectors).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    if denominator == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / denominator)
