"""Lesson 08's derivation checkpoint, bptt_dz: typical wrong answers and correct answers in
other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "08_bptt"


@wrong("bptt_dz", "the gradient from step t+1 is missing", "missing term")
def dz_without_the_recurrence(dh, h, Wh):
    return dh * (1 - h**2)


@wrong("bptt_dz", "the gradient from step t+1 is added after the tanh factor", "formula")
def dz_with_the_recurrence_outside_the_tanh(dh, h, Wh):
    dz = np.zeros_like(h)
    from_next = np.zeros_like(h[:, 0])
    for t in reversed(range(h.shape[1])):
        dz[:, t] = dh[:, t] * (1 - h[:, t] ** 2) + from_next
        from_next = dz[:, t] @ Wh.T
    return dz


@wrong("bptt_dz", "Wh is not transposed", "transpose")
def dz_with_wh_untransposed(dh, h, Wh):
    dz = np.zeros_like(h)
    from_next = np.zeros_like(h[:, 0])
    for t in reversed(range(h.shape[1])):
        dz[:, t] = (dh[:, t] + from_next) * (1 - h[:, t] ** 2)
        from_next = dz[:, t] @ Wh
    return dz


@wrong("bptt_dz", "the loop runs forwards", "order")
def dz_carried_forwards(dh, h, Wh):
    dz = np.zeros_like(h)
    carried = np.zeros_like(h[:, 0])
    for t in range(h.shape[1]):
        dz[:, t] = (dh[:, t] + carried) * (1 - h[:, t] ** 2)
        carried = dz[:, t] @ Wh.T
    return dz


@wrong("bptt_dz", "tanh' is taken at the previous state", "wrong point")
def dz_with_the_previous_states_slope(dh, h, Wh):
    dz = np.zeros_like(h)
    from_next = np.zeros_like(h[:, 0])
    for t in reversed(range(h.shape[1])):
        slope = 1 - h[:, t - 1] ** 2 if t > 0 else 1.0
        dz[:, t] = (dh[:, t] + from_next) * slope
        from_next = dz[:, t] @ Wh.T
    return dz


@right("bptt_dz")
def dz_from_the_total_hidden_gradient(dh, h, Wh):
    N, T, H = h.shape
    dz = np.empty((N, T, H))
    dh_total = dh[:, T - 1].copy()
    for t in range(T - 1, -1, -1):
        dz[:, t] = dh_total * (1 - h[:, t] * h[:, t])
        if t > 0:
            dh_total = dh[:, t - 1] + np.einsum("nk,jk->nj", dz[:, t], Wh)
    return dz
