"""A deep fully connected network with or without residual (skip) connections.

Lecture 6 uses it to show why ResNets exist: with the same depth, width and training, a plain
stack of many layers trains worse than the same stack whose blocks add their input back.

    h_0 = relu(X W_in + b_in)                                          (N, H)
    block k = 1..depth:  a_k = relu(h_{k−1} W_k + b_k)
        plain:     h_k = a_k
        residual:  h_k = h_{k−1} + a_k        (only the residual a_k must be learned)
    scores = h_depth W_out + b_out → softmax cross-entropy             (N, K)

Backward through a residual block: dh_{k−1} = dh_k + (the gradient through a_k), so the
gradient reaches the first layers through the identity paths undiminished, whatever the
blocks do. The model follows the protocol of ``nnutils.models`` (``params``, ``loss``,
``evaluate``, ``scores``, ``accuracy``), so ``nnutils.train.train`` trains it.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_float_array, check_labels, check_scalar
from .layers import affine_backward, affine_forward, relu_backward, relu_forward
from .losses import softmax_cross_entropy


class DeepMLP:
    """``depth`` hidden blocks of ``width`` ReLU units, plain or residual (see the module).

    sizes: (D, K) inputs and classes; depth >= 1; width >= 1; residual: add skip connections;
    rng: Generator for the He-initialized weights; the blocks' weights are multiplied by
    ``block_scale``: by default 1 for the plain net (He: the signal keeps its size through every
    layer) and 1/sqrt(depth) for the residual one (each block adds to the signal instead of
    replacing it; at full size the sum of ``depth`` blocks would grow like 2^depth, and with the
    scale it grows by about e in all). Same seed, same numbers up to that scale.
    Parameters: W_in, b_in, W1, b1, ..., W{depth}, b{depth}, W_out, b_out.
    """

    def __init__(self, sizes, depth=20, width=32, residual=False, rng=None, block_scale=None):
        func = "DeepMLP"
        if not hasattr(sizes, "__len__") or len(sizes) != 2:
            raise ValueError(f"{func}: sizes must be (inputs, classes), e.g. (64, 10); got "
                             f"{sizes!r}")
        D, K = (int(check_scalar(s, "sizes", func, low=1, integer=True)) for s in sizes)
        if K < 2:
            raise ValueError(f"{func}: there must be at least 2 classes; got sizes {sizes!r}")
        self.depth = int(check_scalar(depth, "depth", func, low=1, integer=True))
        self.width = int(check_scalar(width, "width", func, low=1, integer=True))
        self.residual = bool(residual)
        self.num_classes = K
        rng = rng if rng is not None else np.random.default_rng(0)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{func}: rng must be a numpy Generator; got {type(rng).__name__}")
        if block_scale is None:
            block_scale = 1.0 / math.sqrt(self.depth) if self.residual else 1.0
        scale = float(check_scalar(block_scale, "block_scale", func, low=0))

        def he(fan_in, fan_out, s=1.0):
            return rng.normal(0.0, s * math.sqrt(2.0 / fan_in), (fan_in, fan_out))

        self.params = {"W_in": he(D, self.width), "b_in": np.zeros(self.width)}
        for k in range(1, self.depth + 1):
            self.params[f"W{k}"] = he(self.width, self.width, scale)
            self.params[f"b{k}"] = np.zeros(self.width)
        self.params["W_out"] = he(self.width, K)
        self.params["b_out"] = np.zeros(K)

    def __repr__(self):
        kind = "residual" if self.residual else "plain"
        return f"DeepMLP({kind}, depth={self.depth}, width={self.width})"

    def _forward(self, X):
        h, cache_in = affine_forward(X, self.params["W_in"], self.params["b_in"])
        h, relu_in = relu_forward(h)
        caches = []
        for k in range(1, self.depth + 1):
            z, c_aff = affine_forward(h, self.params[f"W{k}"], self.params[f"b{k}"])
            a, c_relu = relu_forward(z)
            caches.append((c_aff, c_relu))
            h = h + a if self.residual else a
        scores, cache_out = affine_forward(h, self.params["W_out"], self.params["b_out"])
        return scores, (cache_in, relu_in, caches, cache_out)

    def _backward(self, dscores, cache):
        cache_in, relu_in, caches, cache_out = cache
        grads = {}
        dh, grads["W_out"], grads["b_out"] = affine_backward(dscores, cache_out)
        for k in range(self.depth, 0, -1):
            c_aff, c_relu = caches[k - 1]
            da = relu_backward(dh, c_relu)
            dprev, grads[f"W{k}"], grads[f"b{k}"] = affine_backward(da, c_aff)
            dh = dh + dprev if self.residual else dprev
        dz = relu_backward(dh, relu_in)
        _, grads["W_in"], grads["b_in"] = affine_backward(dz, cache_in)
        return {k: grads[k] for k in self.params}

    def _inputs(self, X, func):
        X = as_float_array(X, "X", func, ndim=2, dims="(N, D)")
        if X.shape[1] != self.params["W_in"].shape[0]:
            raise ValueError(f"{func}: X must have {self.params['W_in'].shape[0]} columns; got "
                             f"shape {X.shape}")
        return X

    def loss(self, X, y, reg=0.0, train=True, rng=None):
        """Softmax cross-entropy (plus 0.5·reg·Σ‖W‖²) and its gradients, a dict like params."""
        func = "DeepMLP.loss"
        X = self._inputs(X, func)
        y = check_labels(y, X.shape[0], self.num_classes, func)
        reg = float(check_scalar(reg, "reg", func, low=0))
        scores, cache = self._forward(X)
        loss, dscores = softmax_cross_entropy(scores, y)
        grads = self._backward(dscores, cache)
        if reg:
            for k, w in self.params.items():
                if k.startswith("W"):
                    loss += 0.5 * reg * float(np.vdot(w, w))
                    grads[k] = grads[k] + reg * w
        return loss, grads

    def scores(self, X):
        return self._forward(self._inputs(X, "DeepMLP.scores"))[0]

    def accuracy(self, X, y):
        scores = self.scores(X)
        y = check_labels(y, scores.shape[0], self.num_classes, "DeepMLP.accuracy")
        return float(np.mean(scores.argmax(axis=1) == y))

    def evaluate(self, X, y):
        """(data loss, accuracy) on X, y."""
        X = self._inputs(X, "DeepMLP.evaluate")
        y = check_labels(y, X.shape[0], self.num_classes, "DeepMLP.evaluate")
        scores = self._forward(X)[0]
        return softmax_cross_entropy(scores, y)[0], float(np.mean(scores.argmax(axis=1) == y))

    def gradient_norms(self, X, y):
        """‖∂loss/∂W‖ of W_in, W1 .. W{depth}, W_out (in that order, input side first)."""
        _, grads = self.loss(X, y)
        names = ["W_in"] + [f"W{k}" for k in range(1, self.depth + 1)] + ["W_out"]
        return [float(np.linalg.norm(grads[k])) for k in names]


__all__ = ["DeepMLP"]
