"""The vanilla RNN: the answers to Lesson 08's exercises, given as tools to the lessons after it
(a lesson that imports this module in its setup cell may use it).

Same inputs, outputs and caches as the exercises of the course contract: h_t = tanh(x_t Wx +
h_{t-1} Wh + b), x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,); no function modifies
its inputs.
"""

import numpy as np


def rnn_forward(x, h0, Wx, Wh, b):
    """The RNN run over whole sequences.

    Inputs:
    - x: input sequences, shape (N, T, D)
    - h0: initial hidden state, shape (N, H)
    - Wx: input-to-hidden weights, shape (D, H)
    - Wh: hidden-to-hidden weights, shape (H, H)
    - b: biases, shape (H,)

    Returns a tuple of:
    - h: the hidden states of all steps, shape (N, T, H); h[:, t] is the state after step t
    - cache: the tuple (x, h0, Wx, Wh, h)
    """
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h = h0
    for t in range(T):
        prev_h = np.tanh(x[:, t] @ Wx + prev_h @ Wh + b)
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(dh, cache):
    """Backpropagation through time for the RNN.

    Inputs:
    - dh: upstream gradients of the loss with respect to every hidden state, shape (N, T, H)
    - cache: the tuple (x, h0, Wx, Wh, h) of rnn_forward

    Returns a tuple of:
    - dx: shape (N, T, D); dh0: shape (N, H); dWx: shape (D, H); dWh: shape (H, H);
      db: shape (H,)
    """
    x, h0, Wx, Wh, h = cache
    T = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        prev_h = h0 if t == 0 else h[:, t - 1]
        dz = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)  # the step's pre-activation
        dx[:, t] = dz @ Wx.T
        dprev_h = dz @ Wh.T
        dWx, dWh, db = dWx + x[:, t].T @ dz, dWh + prev_h.T @ dz, db + dz.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db
