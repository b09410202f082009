"""Regularization (lecture 5): L2 weight decay, dropout and early stopping.

- L2 weight decay adds 0.5·reg·Σ‖W‖² to the loss, so every weight's gradient gains reg·W and
  each step shrinks the weights towards zero ("decay").
- Dropout zeroes each unit with probability p while training. This library uses *inverted*
  dropout: the units that are kept are scaled by 1/(1 − p), so the expected value of every unit
  is unchanged and nothing needs rescaling at test time, when dropout is the identity.
- Early stopping watches the validation loss and keeps the weights of its best epoch.
"""

import math

import numpy as np

from ._checks import as_float_array, check_scalar

__all__ = ["dropout_backward", "dropout_forward", "early_stopping", "l2_penalty"]


def l2_penalty(weights, reg):
    """L2 penalty of a list of weight arrays and its gradients.

    weights: a list (or tuple) of arrays of any shapes; reg: the strength, >= 0.
    loss = 0.5·reg·Σ_W ΣW²,   grads[i] = reg·weights[i] (same shape and dtype).
    Returns (loss, grads) with loss a float and grads a list. Apply it to weights, not biases.
    """
    func = "l2_penalty"
    if not isinstance(weights, (list, tuple)):
        raise TypeError(f"{func}: weights must be a list of arrays; got "
                        f"{type(weights).__name__}")
    reg = check_scalar(reg, "reg", func, low=0)
    arrays = [as_float_array(w, f"weights[{i}]", func) for i, w in enumerate(weights)]
    loss = 0.5 * reg * sum(float(np.vdot(w, w)) for w in arrays)
    return loss, [reg * w for w in arrays]


def dropout_forward(x, p, train, rng):
    """Inverted dropout.

    x: any shape; p: the probability of DROPPING a unit, in [0, 1); train: bool.
    rng: a numpy Generator (only used, and only required, when train is True).
    Train: each entry is kept independently with probability 1 − p, and kept entries are scaled
        by 1/(1 − p): out = x·mask, mask ∈ {0, 1/(1 − p)}, so E[out] = x.
    Test: out = x (a copy); no random numbers are drawn.
    Returns (out, cache); cache = (mask or None, x's shape) for ``dropout_backward``.
    """
    func = "dropout_forward"
    x = as_float_array(x, "x", func)
    p = check_scalar(p, "p", func, low=0, high=1, high_open=True)
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"{func}: train must be True or False; got {type(train).__name__} "
                        f"{train!r}")
    if not train:
        return x.copy(), (None, x.shape)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator when train is True, e.g. "
                        f"numpy.random.default_rng(0); got {type(rng).__name__}")
    mask = (rng.random(x.shape) >= p).astype(x.dtype)
    mask /= 1 - p
    return x * mask, (mask, x.shape)


def dropout_backward(dout, cache):
    """Backward pass of ``dropout_forward``: dx = dout·mask (the forward's mask), or dout in
    test mode.

    dout: the shape of x; cache: from the forward. Returns dx of x's shape.
    """
    func = "dropout_backward"
    mask, shape = cache
    dout = as_float_array(dout, "dout", func)
    if dout.shape != shape:
        raise ValueError(f"{func}: dout must have the shape of the forward's output {shape}; "
                         f"got {dout.shape}")
    return dout.copy() if mask is None else dout * mask


def early_stopping(val_losses, patience):
    """The epoch whose weights early stopping keeps.

    val_losses: (E,) validation loss after each epoch, E >= 1; patience: integer >= 1.
    Epochs are visited in order; an epoch improves when its loss is strictly lower than every
    earlier one (an equal loss is NOT an improvement, so among equal best losses the earliest
    epoch is kept; a NaN loss, from a diverged run, never improves). Training stops after
    ``patience`` consecutive epochs without improvement, and the index of the best epoch seen
    until then is returned; if that never happens, the index of the best epoch overall.
    Returns an int in 0..E−1.
    """
    func = "early_stopping"
    losses = as_float_array(val_losses, "val_losses", func, ndim=1, dims="(E,)")
    if losses.shape[0] == 0:
        raise ValueError(f"{func}: val_losses must hold at least one loss; got an empty array")
    patience = check_scalar(patience, "patience", func, low=1, integer=True)
    values = losses.tolist()
    best, best_loss, waited = 0, values[0], 0
    for epoch in range(1, len(values)):
        loss = values[epoch]
        if loss < best_loss or (math.isnan(best_loss) and not math.isnan(loss)):
            best, best_loss, waited = epoch, loss, 0
        else:
            waited += 1
            if waited >= patience:
                break
    return best
