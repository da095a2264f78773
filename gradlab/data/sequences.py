"""Synthetic sequence tasks for recurrent networks (lesson 08), generated on the spot.

Every generator takes a seed, so that a seed names a data set, and returns float64 inputs
shaped like the course's sequences: `x (N, T, D)`, batch first, then time.

- sine_continuation: sine waves of random period, amplitude and phase; the target at step t
  is the value at step t + 1, which a network can only predict by remembering the past.
- running_parity: random bits; the target at step t is the parity of the bits seen so far.
"""

import numpy as np

from gradlab.inputs import rng_for


def sine_continuation(N, T, seed=0, periods=(8.0, 20.0), amplitudes=(0.4, 0.9)):
    """N sine waves of T + 1 samples each, split into inputs and next-step targets.

    Inputs:
    - N: number of sequences
    - T: number of time steps
    - seed: seed of the random periods, amplitudes and phases
    - periods: (shortest, longest) period, in time steps
    - amplitudes: (smallest, largest) amplitude

    Returns a tuple of:
    - x: shape (N, T, 1), x[n, t, 0] = A_n sin(2 pi t / P_n + phi_n)
    - y: shape (N, T, 1), the next values: y[:, t] = x[:, t + 1] for t < T - 1
    """
    rng = rng_for(seed)
    period = rng.uniform(*periods, size=(N, 1))
    amplitude = rng.uniform(*amplitudes, size=(N, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(N, 1))
    t = np.arange(T + 1)
    wave = amplitude * np.sin(2 * np.pi * t / period + phase)
    return wave[:, :-1, None], wave[:, 1:, None]


def running_parity(N, T, seed=0):
    """N sequences of T random bits and the parity of the bits seen so far.

    Inputs:
    - N: number of sequences
    - T: number of time steps
    - seed: seed of the bits

    Returns a tuple of:
    - x: shape (N, T, 1), bits 0.0 or 1.0
    - y: integer array of shape (N, T), y[n, t] = (x[n, 0] + ... + x[n, t]) % 2
    """
    bits = rng_for(seed).integers(2, size=(N, T))
    return bits[:, :, None].astype(np.float64), np.cumsum(bits, axis=1) % 2
