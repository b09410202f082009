"""Layers of a fully connected network as forward/backward pairs (lectures 2 and 3).

Every layer is two functions. The forward pass computes the output and keeps, in a ``cache``,
whatever the backward pass will need; the backward pass receives the upstream gradient ``dout``
(the gradient of the loss with respect to the layer's output, same shape as the output) and
returns the gradient with respect to every input of the forward, in the forward's order::

    out, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)

This is the chain rule applied one node of the computational graph at a time: each backward
multiplies ``dout`` by the local derivative of its own node, and knows nothing else.

The activations work elementwise on arrays of any shape. All functions keep the input's float
dtype (float32 in, float32 out; integers become float64) and never modify their inputs.
"""

import math

import numpy as np

from ._checks import as_float_array, check_shape

__all__ = ["ACTIVATIONS", "activation_derivative", "affine_backward", "affine_forward",
           "linear_backward", "linear_forward", "relu_backward", "relu_forward",
           "sigmoid", "sigmoid_backward", "sigmoid_forward", "sign_forward", "tanh_backward",
           "tanh_forward"]


# --------------------------------------------------------------------------------------------
# Affine (fully connected) layer
# --------------------------------------------------------------------------------------------

def affine_forward(x, w, b):
    """Affine layer: out = x·w + b.

    x: (N, D) inputs, one row per sample. An input of shape (N, d1, ..., dk) is also accepted
       and treated as (N, D) with D = d1·...·dk (each sample flattened in C order), which is
       what a convolutional net needs before its first fully connected layer.
    w: (D, M) weights; b: (M,) biases.
    Returns (out, cache): out (N, M); cache = (x, w) for ``affine_backward``.
    """
    func = "affine_forward"
    x = as_float_array(x, "x", func)
    if x.ndim < 2:
        raise ValueError(f"{func}: x must be a 2-D array (N, D) with one row per sample; got "
                         f"shape {x.shape} (use x.reshape(1, -1) for a single sample)")
    n = x.shape[0]
    d = math.prod(x.shape[1:])
    w = as_float_array(w, "w", func, ndim=2, dims="(D, M)")
    if w.shape[0] != d:     # (the message is only built when it is needed: this runs per batch)
        check_shape(w, (d, None), "w", func, f"= (D, M) with D = {d} to match x of shape {x.shape}")
    b = as_float_array(b, "b", func, ndim=1, dims="(M,)")
    if b.shape[0] != w.shape[1]:
        check_shape(b, (w.shape[1],), "b", func, f"= (M,) to match w of shape {w.shape}")
    out = x.reshape(n, d) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    """Backward pass of ``affine_forward``.

    dout: (N, M) upstream gradient; cache: (x, w) from the forward, x (N, D) or (N, d1, ..., dk).
    Returns (dx, dw, db) with the matrix rules of lecture 3:
        dx = dout·wᵀ  (reshaped to x's shape),   dw = xᵀ·dout,   db = Σ_n dout[n].
    """
    func = "affine_backward"
    x, w = cache
    n, m = x.shape[0], w.shape[1]
    dout = as_float_array(dout, "dout", func, ndim=2, dims="(N, M)")
    if dout.shape != (n, m):
        check_shape(dout, (n, m), "dout", func, "= (N, M), the shape of the forward's output")
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(n, w.shape[0]).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# --------------------------------------------------------------------------------------------
# Activations (elementwise, any shape)
# --------------------------------------------------------------------------------------------

def _check_dout(dout, like: np.ndarray, func: str) -> np.ndarray:
    dout = as_float_array(dout, "dout", func)
    if dout.shape != like.shape:
        raise ValueError(f"{func}: dout must have the shape of the forward's output "
                         f"{like.shape}; got {dout.shape}")
    return dout


def relu_forward(x):
    """ReLU: out = max(0, x), elementwise.

    x: any shape. Returns (out, cache): out has x's shape; cache = x.
    """
    x = as_float_array(x, "x", "relu_forward")
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Backward pass of ``relu_forward``: dx = dout where x > 0, else 0.

    dout: the shape of x; cache: x from the forward. At x = 0 exactly the derivative is taken
    to be 0 (ReLU has no derivative there; any value in [0, 1] is a valid subgradient).
    """
    x = cache
    dout = _check_dout(dout, x, "relu_backward")
    return dout * (x > 0)


def sigmoid(x):
    """The logistic function 1 / (1 + e^(−x)), elementwise, without overflow for any x.

    x: any shape. Returns an array of x's shape. For x >= 0 it computes 1 / (1 + e^(−x)), for
    x < 0 the equal e^x / (1 + e^x), so exp only ever sees −|x| <= 0 and cannot overflow.
    """
    x = as_float_array(x, "x", "sigmoid")
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_forward(x):
    """Sigmoid: out = 1 / (1 + e^(−x)), elementwise and numerically stable (x = ±1000 is fine).

    x: any shape. Returns (out, cache): out has x's shape, values in [0, 1]; cache = out.
    """
    x = as_float_array(x, "x", "sigmoid_forward")
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass of ``sigmoid_forward``: dx = dout·σ(x)·(1 − σ(x)).

    dout: the shape of x; cache: the forward's output σ(x).
    """
    out = cache
    dout = _check_dout(dout, out, "sigmoid_backward")
    return dout * out * (1 - out)


def tanh_forward(x):
    """Hyperbolic tangent: out = tanh(x), elementwise.

    x: any shape. Returns (out, cache): out has x's shape, values in [−1, 1]; cache = out.
    """
    x = as_float_array(x, "x", "tanh_forward")
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Backward pass of ``tanh_forward``: dx = dout·(1 − tanh(x)²).

    dout: the shape of x; cache: the forward's output tanh(x).
    """
    out = cache
    dout = _check_dout(dout, out, "tanh_backward")
    return dout * (1 - out * out)


def linear_forward(x):
    """Identity activation: out = x (a copy, so changing out never changes x).

    x: any shape. Returns (out, cache); cache = x's shape, for the backward's shape check.
    """
    x = as_float_array(x, "x", "linear_forward")
    return x.copy(), x.shape


def linear_backward(dout, cache):
    """Backward pass of ``linear_forward``: dx = dout (a copy)."""
    shape = cache
    dout = as_float_array(dout, "dout", "linear_backward")
    if dout.shape != shape:
        raise ValueError(f"linear_backward: dout must have the shape of the forward's output "
                         f"{shape}; got {dout.shape}")
    return dout.copy()


def sign_forward(x):
    """The perceptron's step activation: out = +1 where x >= 0, −1 elsewhere (sign(0) = +1).

    x: any shape. Returns (out, cache) with cache = x's shape. There is no ``sign_backward``:
    the derivative of sign is 0 everywhere except at 0, where it does not exist, so
    backpropagation would pass back only zeros. That is why networks of sign units could not
    be trained by gradient descent, and why smooth activations (sigmoid, tanh) replaced them.
    """
    x = as_float_array(x, "x", "sign_forward")
    return np.where(x >= 0, 1, -1).astype(x.dtype), x.shape


# name -> (forward, backward). "sign" has no backward (None): see ``sign_forward``.
ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "linear": (linear_forward, linear_backward),
    "sign": (sign_forward, None),
}


def activation_derivative(name: str, x):
    """The derivative of the activation ``name`` at every entry of x, for plotting.

    name: a key of ``ACTIVATIONS`` ("relu", "sigmoid", "tanh", "linear", "sign").
    x: any shape. Returns an array of x's shape: f'(x) elementwise, computed by the layer's own
    backward pass with an upstream gradient of ones. For "relu" the value at 0 is 0; for "sign"
    it is 0 everywhere (its derivative is 0 almost everywhere and undefined at 0).
    """
    func = "activation_derivative"
    if name not in ACTIVATIONS:
        raise ValueError(f"{func}: unknown activation {name!r}; choose one of "
                         f"{', '.join(repr(k) for k in ACTIVATIONS)}")
    x = as_float_array(x, "x", func)
    forward, backward = ACTIVATIONS[name]
    if backward is None:
        return np.zeros_like(x)
    out, cache = forward(x)
    return backward(np.ones_like(out), cache)
