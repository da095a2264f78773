"""Optimizer steps: the answers to Lesson 09's exercises, given as tools to the lessons after it
(a lesson that imports this module in its setup cell may use it).

Same inputs and outputs as the exercises of the course contract; no function modifies its
inputs.
"""

import numpy as np


def momentum_step(w, dw, v, lr, mu):
    """One step of gradient descent with momentum.

    Inputs:
    - w: parameters, any shape
    - dw: gradient of the loss at w, shape of w
    - v: velocity (the running sum of past steps), shape of w
    - lr: learning rate
    - mu: momentum coefficient, in [0, 1)

    Returns a tuple of:
    - w_next: w + v_next, shape of w
    - v_next: mu * v - lr * dw, shape of w
    """
    v_next = mu * v - lr * dw
    return w + v_next, v_next


def adam_step(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam (Kingma and Ba, 2015), with bias correction.

    Inputs:
    - w: parameters, any shape
    - dw: gradient of the loss at w, shape of w
    - m: running mean of the gradients (first moment), shape of w, zeros before step 1
    - v: running mean of the squared gradients (second moment), shape of w, zeros before step 1
    - t: the number of this step, counted from 1
    - lr: learning rate
    - beta1, beta2: decay rates of m and v
    - eps: added to the denominator, so that it is never 0

    Returns a tuple of:
    - w_next: the updated parameters, shape of w
    - m_next: beta1 * m + (1 - beta1) * dw, shape of w
    - v_next: beta2 * v + (1 - beta2) * dw**2, shape of w
    """
    m_next = beta1 * m + (1 - beta1) * dw
    v_next = beta2 * v + (1 - beta2) * dw**2
    m_hat = m_next / (1 - beta1**t)  # m and v start at 0: undo their bias towards 0
    v_hat = v_next / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_next, v_next


def global_norm(grads):
    """The L2 norm of all arrays of the dict grads taken together, as one long vector."""
    return float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


def clip_gradients(grads, max_norm):
    """Scale all gradients by one factor so that their global L2 norm is at most max_norm.

    Inputs:
    - grads: dict name -> gradient array (any shapes)
    - max_norm: the largest global norm allowed, > 0

    Returns:
    - clipped: dict with the keys of grads; every array times min(1, max_norm / norm), where
      norm is the global norm of grads, so that the direction of the whole gradient is kept
    """
    norm = global_norm(grads)
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {name: g * scale for name, g in grads.items()}
