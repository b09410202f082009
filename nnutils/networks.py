"""A two-layer network's loss and gradients, written out in full (lecture 3).

The network is  X → affine (W1, b1) → ReLU → affine (W2, b2) → softmax cross-entropy, and the
loss adds L2 weight decay on the weights (not the biases):

    h = X·W1 + b1,   a = max(0, h),   scores = a·W2 + b2
    loss = CE(scores, y) + 0.5·reg·(ΣW1² + ΣW2²)

The backward pass applies the matrix rules of lecture 3 from the loss back to the inputs:
dW = (layer input)ᵀ·(upstream), db = column sums of the upstream, d(layer input) =
(upstream)·Wᵀ, and the ReLU passes gradient only where h > 0. ``nnutils.models.MLP`` builds
networks of any depth from the layers of ``nnutils.layers``; this function is the one a student
writes by hand.
"""

from collections.abc import Mapping

import numpy as np

from ._checks import as_float_array, check_labels, check_scalar, check_shape
from .losses import _softmax_cross_entropy

__all__ = ["two_layer_net"]

_PARAM_NAMES = ("W1", "b1", "W2", "b2")


def _check_params(params, d: int, func: str) -> dict:
    if not isinstance(params, Mapping):
        raise TypeError(f"{func}: params must be a dict with keys W1, b1, W2, b2; got "
                        f"{type(params).__name__}")
    missing = [k for k in _PARAM_NAMES if k not in params]
    extra = [k for k in params if k not in _PARAM_NAMES]
    if missing or extra:
        raise ValueError(f"{func}: params must have exactly the keys W1, b1, W2, b2; "
                         + (f"missing {', '.join(missing)}" if missing else "")
                         + ("; " if missing and extra else "")
                         + (f"unexpected {', '.join(map(str, extra))}" if extra else ""))
    W1 = as_float_array(params["W1"], "params['W1']", func, ndim=2, dims="(D, H)")
    if W1.shape[0] != d:
        check_shape(W1, (d, None), "params['W1']", func,
                    f"= (D, H) with D = {d}, the columns of X")
    h = W1.shape[1]
    b1 = as_float_array(params["b1"], "params['b1']", func, ndim=1, dims="(H,)")
    if b1.shape[0] != h:
        check_shape(b1, (h,), "params['b1']", func, f"= (H,) to match W1 of shape {W1.shape}")
    W2 = as_float_array(params["W2"], "params['W2']", func, ndim=2, dims="(H, C)")
    if W2.shape[0] != h:
        check_shape(W2, (h, None), "params['W2']", func,
                    f"= (H, C) to match W1 of shape {W1.shape}")
    b2 = as_float_array(params["b2"], "params['b2']", func, ndim=1, dims="(C,)")
    if b2.shape[0] != W2.shape[1]:
        check_shape(b2, (W2.shape[1],), "params['b2']", func,
                    f"= (C,) to match W2 of shape {W2.shape}")
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def two_layer_net(X, y, params, reg=0.0):
    """Loss and gradients of a two-layer ReLU network with a softmax cross-entropy loss.

    X: (N, D) inputs; y: (N,) integer labels in 0..C−1.
    params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); nothing else.
    reg: L2 strength >= 0; the loss adds 0.5·reg·(ΣW1² + ΣW2²), so dW1 and dW2 gain reg·W.
    Returns (loss, grads): loss a float, the mean cross-entropy plus the penalty; grads a dict
    with the same keys as params and each gradient the shape of its parameter.
    """
    func = "two_layer_net"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, D)")
    n = X.shape[0]
    if n == 0:
        raise ValueError(f"{func}: X must hold at least one sample; got shape {X.shape}")
    p = _check_params(params, X.shape[1], func)
    y = check_labels(y, n, p["W2"].shape[1], func)
    reg = check_scalar(reg, "reg", func, low=0)
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]

    # forward
    hidden = X @ W1 + b1
    act = np.maximum(hidden, 0)
    scores = act @ W2 + b2
    loss, dscores = _softmax_cross_entropy(scores, y)
    loss += 0.5 * reg * (float(np.vdot(W1, W1)) + float(np.vdot(W2, W2)))

    # backward
    dW2 = act.T @ dscores
    db2 = dscores.sum(axis=0)
    dhidden = dscores @ W2.T
    dhidden *= hidden > 0
    dW1 = X.T @ dhidden
    db1 = dhidden.sum(axis=0)
    if reg:
        dW1 += reg * W1
        dW2 += reg * W2
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    return loss, {k: grads[k] for k in params}
