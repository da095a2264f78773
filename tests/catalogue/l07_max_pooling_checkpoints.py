"""Lesson 07's derivation checkpoint, max_window_grad: typical wrong answers and correct answers
in other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "07_max_pooling"


@wrong("max_window_grad", "the maximum gets 1", "missing term")
def window_grad_without_dout(window, dout):
    dwindow = np.zeros(window.shape)
    dwindow[np.unravel_index(np.argmax(window), window.shape)] = 1.0
    return dwindow


@wrong("max_window_grad", "unravelled with the window's height", "formula")
def window_grad_unravelled_by_the_height(window, dout):
    k = np.argmax(window)
    PH = window.shape[0]
    dwindow = np.zeros(window.shape)
    dwindow[k // PH, k % PH] = dout
    return dwindow


@wrong("max_window_grad", "every tied maximum gets the whole gradient", "formula")
def window_grad_to_every_tie(window, dout):
    return np.where(window == window.max(), dout, 0.0)


@wrong("max_window_grad", "dout is shared among the tied maxima", "formula")
def window_grad_shared(window, dout):
    is_max = window == window.max()
    return is_max * dout / is_max.sum()


@wrong("max_window_grad", "the gradient goes to the last maximum", "order")
def window_grad_to_the_last_maximum(window, dout):
    flat = window.ravel()
    k = len(flat) - 1 - np.argmax(flat[::-1])
    dwindow = np.zeros(window.size)
    dwindow[k] = dout
    return dwindow.reshape(window.shape)


@right("max_window_grad")
def window_grad_by_a_scan(window, dout):
    PH, PW = window.shape
    best, where = -np.inf, (0, 0)
    for r in range(PH):
        for c in range(PW):
            if window[r, c] > best:
                best, where = window[r, c], (r, c)
    dwindow = np.zeros((PH, PW))
    dwindow[where] = dout
    return dwindow


@wrong("max_window_grad", "dout was given to the maximum of every column (or row)", "formula")
def window_grad_to_every_columns_maximum(window, dout):
    dwindow = np.zeros(window.shape)
    rows = np.argmax(window, axis=0)
    for c, r in enumerate(rows):
        dwindow[r, c] = dout
    return dwindow


@wrong("max_window_grad", "here to every row's, np.argmax(window, axis=1)", "formula")
def window_grad_to_every_rows_maximum(window, dout):
    return np.where(window == window.max(axis=1, keepdims=True), dout, 0.0)


@wrong("max_window_grad", "not to the one maximum of the whole window", "formula")
def window_grad_to_the_upper_half(window, dout):
    return np.where(window >= np.median(window), dout, 0.0)
