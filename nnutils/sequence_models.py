"""A sequence model that reads a whole sequence and answers at its last step.

Lecture 7's long-range experiment: the same model with a vanilla RNN cell or an LSTM cell,
trained on a task whose answer depends on inputs far back (the adding problem, parity over a
gap, from ``nnutils.data``).

    h = cell over x (N, T, D), from h0 = 0          (``rnn_forward`` or ``lstm_forward``)
    out = h[:, −1]·Wy + by                          (N, K)
    loss: "squared" 0.5·Σ(out − y)²/N (y (N,) or (N, K)) or "softmax" cross-entropy (y (N,) ids)

Backward: the gradient enters only at the last hidden state (dh[:, :−1] = 0) and
backpropagation through time carries it to the earlier steps. The model follows the protocol
of ``nnutils.models`` (``params``, ``loss``, ``evaluate``), so ``nnutils.train.train`` trains it
(with ``clip=`` for gradient clipping).
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_labels, check_scalar
from .initializers import xavier_uniform
from .losses import softmax_cross_entropy, squared_loss
from .rnn import lstm_backward, lstm_forward, rnn_backward, rnn_forward


class LastStepModel:
    """input_size D, hidden_size H, outputs K, cell "rnn" or "lstm", loss "squared" or
    "softmax"; rng for the Xavier-uniform weights (the LSTM's forget-gate bias starts at 1).
    Parameters: Wx (D, G·H), Wh (H, G·H), b (G·H,), Wy (H, K), by (K,), G = 4 for the LSTM."""

    def __init__(self, input_size, hidden_size, outputs, cell="rnn", loss="squared", rng=None):
        func = "LastStepModel"
        D = int(check_scalar(input_size, "input_size", func, low=1, integer=True))
        H = int(check_scalar(hidden_size, "hidden_size", func, low=1, integer=True))
        K = int(check_scalar(outputs, "outputs", func, low=1, integer=True))
        if cell not in ("rnn", "lstm"):
            raise ValueError(f"{func}: cell must be 'rnn' or 'lstm'; got {cell!r}")
        if loss not in ("squared", "softmax") or (loss == "softmax" and K < 2):
            raise ValueError(f"{func}: loss must be 'squared' or 'softmax' (with outputs >= 2);"
                             f" got {loss!r} with {K} outputs")
        rng = rng if rng is not None else np.random.default_rng(0)
        G = 4 if cell == "lstm" else 1
        b = np.zeros(G * H)
        if cell == "lstm":
            b[H:2 * H] = 1.0
        self.params = {"Wx": xavier_uniform(D, G * H, rng), "Wh": xavier_uniform(H, G * H, rng),
                       "b": b, "Wy": xavier_uniform(H, K, rng), "by": np.zeros(K)}
        self.cell, self.loss_name, self.sizes = cell, loss, (D, H, K)
        self._fwd, self._bwd = ((lstm_forward, lstm_backward) if cell == "lstm"
                                else (rnn_forward, rnn_backward))

    def __repr__(self):
        D, H, K = self.sizes
        return f"LastStepModel({self.cell}, D={D}, H={H}, K={K}, loss={self.loss_name})"

    def _inputs(self, X, func):
        X = as_float_array(X, "X", func, ndim=3, dims="(N, T, D)")
        if X.shape[2] != self.sizes[0]:
            raise ValueError(f"{func}: X must have {self.sizes[0]} features per step; got shape "
                             f"{X.shape}")
        return X

    def _targets(self, y, n, func):
        if self.loss_name == "softmax":
            return check_labels(y, n, self.sizes[2], func)
        y = as_float_array(y, "y", func)
        y = y.reshape(n, -1) if y.size == n * self.sizes[2] else y
        if y.shape != (n, self.sizes[2]):
            raise ValueError(f"{func}: y must have shape ({n},) or ({n}, {self.sizes[2]}); got "
                             f"{np.shape(y)}")
        return y

    def _forward(self, X):
        h0 = np.zeros((X.shape[0], self.sizes[1]))
        h, cache = self._fwd(X, h0, self.params["Wx"], self.params["Wh"], self.params["b"])
        return h, cache, h[:, -1] @ self.params["Wy"] + self.params["by"]

    def _data_loss(self, out, t):
        return softmax_cross_entropy(out, t) if self.loss_name == "softmax" \
            else squared_loss(out, t)

    def loss(self, X, y, reg=0.0, train=True, rng=None):
        """Data loss (plus 0.5·reg·Σ‖W‖² over Wx, Wh, Wy) and gradients, a dict like params."""
        func = "LastStepModel.loss"
        X = self._inputs(X, func)
        t = self._targets(y, X.shape[0], func)
        reg = float(check_scalar(reg, "reg", func, low=0))
        h, cache, out = self._forward(X)
        loss, dout = self._data_loss(out, t)
        grads = {"Wy": h[:, -1].T @ dout, "by": dout.sum(axis=0)}
        dh = np.zeros_like(h)
        dh[:, -1] = dout @ self.params["Wy"].T
        _, _, grads["Wx"], grads["Wh"], grads["b"] = self._bwd(dh, cache)
        for k in ("Wx", "Wh", "Wy"):
            if reg:
                loss += 0.5 * reg * float(np.vdot(self.params[k], self.params[k]))
                grads[k] = grads[k] + reg * self.params[k]
        return loss, {k: grads[k] for k in self.params}

    def predict(self, X):
        out = self._forward(self._inputs(X, "LastStepModel.predict"))[2]
        if self.loss_name == "softmax":
            return out.argmax(axis=1)
        return out[:, 0] if out.shape[1] == 1 else out

    def evaluate(self, X, y):
        """(data loss, accuracy) for softmax; (data loss, None) for squared loss."""
        X = self._inputs(X, "LastStepModel.evaluate")
        t = self._targets(y, X.shape[0], "LastStepModel.evaluate")
        out = self._forward(X)[2]
        loss = self._data_loss(out, t)[0]
        if self.loss_name == "softmax":
            return loss, float(np.mean(out.argmax(axis=1) == t))
        return loss, None

    def input_gradient_norms(self, X, y):
        """‖∂loss/∂x_t‖ for every step t (over the batch and features): how strongly the loss,
        read at the last step, still depends on the input of step t — what backpropagation
        through time delivers there. Returns (T,)."""
        func = "LastStepModel.input_gradient_norms"
        X = self._inputs(X, func)
        t = self._targets(y, X.shape[0], func)
        h, cache, out = self._forward(X)
        dh = np.zeros_like(h)
        dh[:, -1] = self._data_loss(out, t)[1] @ self.params["Wy"].T
        dx = self._bwd(dh, cache)[0]
        return np.linalg.norm(dx, axis=(0, 2))


__all__ = ["LastStepModel"]
