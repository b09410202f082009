"""Loss functions with their gradients (lectures 2 and 3).

Each loss returns ``(loss, dinput)``: the scalar loss averaged over the N samples of the batch,
and its gradient with respect to the network's output, ready to start the backward pass.

- ``softmax_cross_entropy``: one class out of C (softmax outputs).
- ``sigmoid_binary_cross_entropy``: any number of K labels per sample (multi-label outputs,
  one independent sigmoid per label).
- ``squared_loss``: regression.

Scores ("logits") of any size are safe: every exponential is taken of a number <= 0, so
scores in the thousands give a finite loss and gradient without overflow warnings.
The gradient keeps the dtype of the scores (float32 stays float32); the loss is a Python float.
"""

import numpy as np

from ._checks import as_float_array, check_labels
from .layers import sigmoid

__all__ = ["sigmoid_binary_cross_entropy", "softmax", "softmax_cross_entropy", "squared_loss"]


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    """log softmax along the last axis, computed as s − max − log Σ exp(s − max)."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted


def softmax(scores):
    """Softmax of every row: p[n, c] = e^(s[n, c]) / Σ_k e^(s[n, k]).

    scores: (N, C), or (C,) for a single score vector. Returns probabilities of the same shape,
    each row summing to 1. The row maximum is subtracted first (softmax does not change when a
    constant is added to a row), so no exponential can overflow.
    """
    func = "softmax"
    scores = as_float_array(scores, "scores", func)
    if scores.ndim not in (1, 2) or scores.shape[-1] == 0:
        raise ValueError(f"{func}: scores must be (N, C) or (C,) with C >= 1 classes; got shape "
                         f"{scores.shape}")
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def softmax_cross_entropy(scores, y):
    """Softmax cross-entropy averaged over the batch, and its gradient.

    scores: (N, C) unnormalised class scores; y: (N,) integer labels in 0..C−1.
    loss = −(1/N)·Σ_n log softmax(scores[n])[y[n]]
    dscores = (softmax(scores) − onehot(y)) / N, shape (N, C).
    Returns (loss, dscores). Stable for scores in the thousands.
    """
    func = "softmax_cross_entropy"
    scores = as_float_array(scores, "scores", func, ndim=2, dims="(N, C)")
    n, c = scores.shape
    if n == 0 or c == 0:
        raise ValueError(f"{func}: scores must have at least one sample and one class; got "
                         f"shape {scores.shape}")
    y = check_labels(y, n, c, func)
    return _softmax_cross_entropy(scores, y)


def _softmax_cross_entropy(scores: np.ndarray, y: np.ndarray):
    """``softmax_cross_entropy`` without input checks, for callers that made them."""
    n = scores.shape[0]
    rows = np.arange(n)
    log_probs = _log_softmax(scores)
    loss = -float(log_probs[rows, y].sum()) / n
    dscores = np.exp(log_probs, out=log_probs)
    dscores[rows, y] -= 1
    dscores /= n
    return loss, dscores


def squared_loss(pred, target):
    """Squared loss (one half the squared error, averaged over the batch), and its gradient.

    pred, target: the same shape, (N,) or (N, K); N is the first axis.
    loss = 0.5·Σ(pred − target)² / N,   dpred = (pred − target) / N.
    Returns (loss, dpred). The factor 0.5 cancels the 2 of the derivative; without it and with
    N = 1, f = (3, 1, −2) against y = (0, 1, 0) gives lecture 2's Σ(f − y)² = 13.
    """
    func = "squared_loss"
    pred = as_float_array(pred, "pred", func)
    if pred.ndim not in (1, 2) or pred.shape[0] == 0:
        raise ValueError(f"{func}: pred must be (N,) or (N, K) with N >= 1; got shape "
                         f"{pred.shape}")
    target = as_float_array(target, "target", func)
    if target.shape != pred.shape:
        raise ValueError(f"{func}: target must have the shape of pred {pred.shape}; got "
                         f"{target.shape}")
    n = pred.shape[0]
    diff = pred - target
    loss = 0.5 * float(np.vdot(diff, diff)) / n
    diff /= n
    return loss, diff


def sigmoid_binary_cross_entropy(logits, targets):
    """Binary cross-entropy of independent sigmoids (multi-label outputs), and its gradient.

    logits: (N, K) scores, one per label (or (N,) for a single label); targets: the same shape,
    values in [0, 1] (usually 0 or 1: is label k present in sample n?).
    With p = σ(z), loss = −(1/N)·Σ_{n,k} [t·log p + (1 − t)·log(1 − p)]: summed over the labels,
    averaged over the batch. It is computed as max(z, 0) − z·t + log(1 + e^(−|z|)), which equals
    the above and never overflows. dlogits = (σ(z) − t) / N. Returns (loss, dlogits).
    """
    func = "sigmoid_binary_cross_entropy"
    logits = as_float_array(logits, "logits", func)
    if logits.ndim not in (1, 2) or logits.shape[0] == 0:
        raise ValueError(f"{func}: logits must be (N, K) or (N,) with N >= 1; got shape "
                         f"{logits.shape}")
    targets = as_float_array(targets, "targets", func)
    if targets.shape != logits.shape:
        raise ValueError(f"{func}: targets must have the shape of logits {logits.shape}; got "
                         f"{targets.shape}")
    if targets.size and (targets.min() < 0 or targets.max() > 1):
        raise ValueError(f"{func}: targets must lie in [0, 1]; got values from "
                         f"{targets.min()} to {targets.max()}")
    n = logits.shape[0]
    per_entry = np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))
    loss = float(per_entry.sum()) / n
    dlogits = sigmoid(logits)
    dlogits -= targets
    dlogits /= n
    return loss, dlogits
