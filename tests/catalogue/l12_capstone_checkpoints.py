"""Lesson 12's derivation checkpoint, features_grad: typical wrong answers and correct answers in
other styles."""

import numpy as np

from tests.catalogue import right, wrong

LESSON = "12_capstone"


@wrong("features_grad", "the ReLU's derivative is missing", "missing term")
def features_grad_without_the_relu(f, y, W2, b2, W3, b3):
    s = np.maximum(f @ W2 + b2, 0) @ W3 + b3
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return (p / len(y)) @ W3.T @ W2.T


@wrong("features_grad", "the labels are missing from ds", "missing term")
def features_grad_without_the_labels(f, y, W2, b2, W3, b3):
    z2 = f @ W2 + b2
    s = np.maximum(z2, 0) @ W3 + b3
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return ((p / len(y)) @ W3.T * (z2 > 0)) @ W2.T


@wrong("features_grad", "did you forget to divide by the batch size N?", "factor")
def features_grad_of_the_summed_loss(f, y, W2, b2, W3, b3):
    z2 = f @ W2 + b2
    s = np.maximum(z2, 0) @ W3 + b3
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return (p @ W3.T * (z2 > 0)) @ W2.T


@wrong("features_grad", "the one-hot labels are added", "sign")
def features_grad_with_the_labels_added(f, y, W2, b2, W3, b3):
    z2 = f @ W2 + b2
    s = np.maximum(z2, 0) @ W3 + b3
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] += 1
    return (p / len(y) @ W3.T * (z2 > 0)) @ W2.T


@right("features_grad")
def features_grad_example_by_example(f, y, W2, b2, W3, b3):
    N = len(y)
    df = np.zeros(f.shape)
    for n in range(N):
        z2 = f[n] @ W2 + b2
        s = np.maximum(z2, 0) @ W3 + b3
        log_p = s - np.logaddexp.reduce(s)
        ds = np.exp(log_p)
        ds[y[n]] -= 1
        df[n] = W2 @ ((W3 @ ds) * (z2 > 0)) / N
    return df
