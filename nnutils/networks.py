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


_CONVNET_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")


def three_layer_convnet(X, y, params, reg=0.0):
    """Loss and gradients of the small convolutional network of assignment 5.

    conv (F filters 3×3, stride 1, pad 1) → ReLU → 2×2 max-pool → flatten → affine → ReLU →
    affine → softmax cross-entropy, plus 0.5·reg·(ΣW1² + ΣW2² + ΣW3²) (biases not penalised).

    X: (N, C, H, W) images with H and W even (the digits: (N, 1, 8, 8)); y: (N,) labels;
    params: W1 (F, C, 3, 3), b1 (F,), W2 (F·H/2·W/2, M), b2 (M,), W3 (M, K), b3 (K,).
    Returns (loss, grads) with grads keyed like params. Built from the private fast kernels of
    ``nnutils.conv`` (no call to another graded function), so the grader can use it as a stand-in.
    """
    from .conv import _im2col, _pad, _pool2x2_backward, _pool2x2_forward

    func = "three_layer_convnet"
    if not isinstance(params, Mapping) or set(params) != set(_CONVNET_PARAMS):
        raise ValueError(f"{func}: params must be a dict with exactly the keys "
                         f"{', '.join(_CONVNET_PARAMS)}; got "
                         f"{sorted(params) if isinstance(params, Mapping) else type(params)}")
    X = as_float_array(X, "X", func, ndim=4, dims="(N, C, H, W)")
    n, c, h, w = X.shape
    if h % 2 or w % 2:
        raise ValueError(f"{func}: X's height and width must be even for the 2×2 pooling; got "
                         f"{X.shape}")
    W1, b1, W2, b2, W3, b3 = (as_float_array(params[k], k, func) for k in _CONVNET_PARAMS)
    f = W1.shape[0]
    check_shape(W1, (f, c, 3, 3), "W1", func, "(F, C, 3, 3)")
    check_shape(W2, (f * (h // 2) * (w // 2), None), "W2", func, "(F·H/2·W/2, M)")
    y = check_labels(y, n, W3.shape[1], func)
    reg = check_scalar(reg, "reg", func, low=0)
    # forward
    cols = _im2col(_pad(X, 1), 3, 3, 1, h, w)                               # (C·9, N·H·W)
    conv = (W1.reshape(f, -1) @ cols).reshape(f, n, h, w).transpose(1, 0, 2, 3) \
        + b1.reshape(1, f, 1, 1)
    act1 = np.maximum(conv, 0)
    pooled, winners = _pool2x2_forward(act1, h // 2, w // 2)
    flat = pooled.reshape(n, -1)
    hidden = flat @ W2 + b2
    act2 = np.maximum(hidden, 0)
    scores = act2 @ W3 + b3
    loss, dscores = _softmax_cross_entropy(scores, y)
    loss += 0.5 * reg * float(sum(np.vdot(W, W) for W in (W1, W2, W3)))
    # backward
    dW3, db3 = act2.T @ dscores + reg * W3, dscores.sum(axis=0)
    dhidden = (dscores @ W3.T) * (hidden > 0)
    dW2, db2 = flat.T @ dhidden + reg * W2, dhidden.sum(axis=0)
    dact1 = _pool2x2_backward((dhidden @ W2.T).reshape(pooled.shape), act1.shape, *winners)
    dconv = np.ascontiguousarray((dact1 * (conv > 0)).transpose(1, 0, 2, 3)).reshape(f, -1)
    dW1 = (dconv @ cols.T).reshape(W1.shape) + reg * W1
    db1 = dconv.sum(axis=1)
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}
    return loss, grads


_CHAR_RNN_PARAMS = ("Wx", "Wh", "b", "Wy", "by")


def char_rnn_loss(inputs, targets, params):
    """Loss and gradients of the character-level RNN language model of assignment 6.

    One-hot characters → tanh RNN from h0 = 0 → affine → softmax cross-entropy at every step:
        h_t = tanh(onehot(inputs[:, t])·Wx + h_{t−1}·Wh + b),  scores_t = h_t·Wy + by,
        loss = mean over the N·T predictions of −log softmax(scores_t)[targets[:, t]].
    inputs, targets: (N, T) integer character ids in 0..V−1 (targets are usually the inputs
    shifted by one); params: Wx (V, H), Wh (H, H), b (H,), Wy (H, V), by (V,).
    Returns (loss, grads) with grads keyed like params. Written out in full (no call to another
    graded function), so the grader can use it as a stand-in for a student's failed version.
    """
    func = "char_rnn_loss"
    if not isinstance(params, Mapping) or set(params) != set(_CHAR_RNN_PARAMS):
        raise ValueError(f"{func}: params must be a dict with exactly the keys "
                         f"{', '.join(_CHAR_RNN_PARAMS)}; got "
                         f"{sorted(params) if isinstance(params, Mapping) else type(params)}")
    Wx, Wh, b, Wy, by = (as_float_array(params[k], k, func) for k in _CHAR_RNN_PARAMS)
    vocab, hidden = Wx.shape
    check_shape(Wh, (hidden, hidden), "Wh", func, "(H, H)")
    check_shape(Wy, (hidden, vocab), "Wy", func, "(H, V)")
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    if inputs.ndim != 2 or inputs.shape != targets.shape:
        raise ValueError(f"{func}: inputs and targets must both have shape (N, T); got "
                         f"{inputs.shape} and {targets.shape}")
    n, steps = inputs.shape
    check_labels(inputs.ravel(), n * steps, vocab, func, "inputs")
    flat_targets = check_labels(targets.ravel(), n * steps, vocab, func, "targets")
    hs = np.zeros((steps + 1, n, hidden))
    for t in range(steps):
        hs[t + 1] = np.tanh(Wx[inputs[:, t]] + hs[t] @ Wh + b)
    states = hs[1:].transpose(1, 0, 2).reshape(n * steps, hidden)       # rows in (n, t) order
    loss, dscores = _softmax_cross_entropy(states @ Wy + by, flat_targets)
    dWy, dby = states.T @ dscores, dscores.sum(axis=0)
    dstates = (dscores @ Wy.T).reshape(n, steps, hidden)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    carry = np.zeros((n, hidden))
    for t in reversed(range(steps)):
        da = (dstates[:, t] + carry) * (1 - hs[t + 1] ** 2)
        np.add.at(dWx, inputs[:, t], da)
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
        carry = da @ Wh.T
    return loss, {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}
