"""The perceptron (Rosenblatt, 1958) and the small sign networks of lectures 1 and 2.

A perceptron is one neuron with the sign activation::

    f(x) = sign(w·x + b),   sign(t) = +1 if t >= 0 else -1

Throughout the course ``sign(0)`` is +1, so a point exactly on the decision line is predicted
+1. Rosenblatt's rule changes the weights only on a mistake, where a mistake is a sample with
``y·(w·x + b) <= 0`` (a point on the line counts as a mistake while training):

    w <- w + lr·y·x,   b <- b + lr·y

On linearly separable data the rule stops making mistakes after finitely many updates
(Novikoff's theorem); on XOR it never does (Minsky and Papert, 1969).
"""

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, check_scalar, check_shape


def sign(t):
    """Elementwise sign with sign(0) = +1: returns +1.0 where t >= 0 and -1.0 elsewhere."""
    t = np.asarray(t)
    return np.where(t >= 0, 1.0, -1.0)


def _check_pm1(y, n: int, func: str, name: str = "y") -> np.ndarray:
    arr = as_float_array(y, name, func, ndim=1, dims="(N,)")
    check_shape(arr, (n,), name, func, "(one label per row of X)")
    if not np.all(np.abs(arr) == 1):
        bad = arr[np.abs(arr) != 1][:3]
        raise ValueError(f"{func}: {name} must hold labels +1 and -1; got values such as "
                         f"{bad.tolist()}")
    return arr


def perceptron_predict(X, w, b):
    """Predict +1/-1 for every row of X.

    X: (N, D) inputs; w: (D,) weights; b: scalar bias.
    Returns (N,) float array: sign(X·w + b), with a score of exactly 0 predicting +1.
    """
    func = "perceptron_predict"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, D)")
    w = as_float_array(w, "w", func, ndim=1, dims="(D,)")
    check_shape(w, (X.shape[1],), "w", func, f"to match X of shape {X.shape}")
    b = check_scalar(b, "b", func)
    return sign(X @ w + b)


def perceptron_update(w, b, x, y, lr=1.0):
    """One Rosenblatt step on one sample; returns the new (w, b) and leaves the inputs alone.

    w: (D,) weights; b: scalar bias; x: (D,) one sample; y: its label, +1 or -1; lr > 0.
    If y·(w·x + b) <= 0 then w <- w + lr·y·x and b <- b + lr·y; otherwise nothing changes.
    """
    func = "perceptron_update"
    w = as_float_array(w, "w", func, ndim=1, dims="(D,)")
    x = as_float_array(x, "x", func, ndim=1, dims="(D,)")
    check_shape(x, w.shape, "x", func, "(the same length as w)")
    b = float(check_scalar(b, "b", func))
    y = check_scalar(y, "y", func)
    if y not in (1, -1):
        raise ValueError(f"{func}: y must be +1 or -1; got {y}")
    lr = check_scalar(lr, "lr", func, low=0, low_open=True)
    if y * (w @ x + b) <= 0:
        return w + lr * y * x, b + lr * y
    return w.copy(), b


def _epoch(X, y, w, b, lr):
    """One pass of Rosenblatt's rule over the samples in order: (w, b, number of updates)."""
    count = 0
    for xi, yi in zip(X, y):
        if yi * (w @ xi + b) <= 0:
            w, b = w + lr * yi * xi, b + lr * yi
            count += 1
    return w, b, count


def perceptron_train(X, y, lr=1.0, epochs=100):
    """Train a perceptron from zeros with Rosenblatt's rule.

    X: (N, D) inputs; y: (N,) labels +1/-1; lr > 0; epochs: the most passes to make.
    Samples are visited in order; training stops after the first epoch without a mistake.
    Returns (w (D,), b, mistakes) where mistakes[e] is the number of updates made in epoch e,
    so ``mistakes[-1] == 0`` exactly when training converged.
    """
    func = "perceptron_train"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, D)")
    y = _check_pm1(y, X.shape[0], func)
    lr = check_scalar(lr, "lr", func, low=0, low_open=True)
    epochs = check_scalar(epochs, "epochs", func, low=1, integer=True)
    w, b = np.zeros(X.shape[1]), 0.0
    mistakes = []
    for _ in range(epochs):
        w, b, count = _epoch(X, y, w, b, lr)
        mistakes.append(count)
        if count == 0:
            break
    return w, b, mistakes


def perceptron_cycle(X, y, lr=1.0, max_epochs=1000):
    """Prove that Rosenblatt training never converges by finding a repeated state.

    Training is deterministic: the weights at the end of an epoch decide everything after it.
    So if the end-of-epoch weights (w, b) ever equal earlier ones, training repeats forever.
    Let state 0 be the start (zeros) and state e the weights after epoch e.

    X: (N, D); y: (N,) labels ±1; lr > 0. Returns None if an epoch ends without a mistake
    (training converged), else (first, period): the first epoch e whose state equals an
    earlier state i gives first = i and period = e − i. States are compared exactly, which is
    meaningful for integer data and a learning rate like 1 or 0.5. Raises RuntimeError if
    neither happens within ``max_epochs`` epochs.
    """
    func = "perceptron_cycle"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, D)")
    y = _check_pm1(y, X.shape[0], func)
    lr = check_scalar(lr, "lr", func, low=0, low_open=True)
    max_epochs = check_scalar(max_epochs, "max_epochs", func, low=1, integer=True)
    w, b = np.zeros(X.shape[1]), 0.0
    seen = {(tuple(w.tolist()), float(b)): 0}
    for epoch in range(1, max_epochs + 1):
        w, b, mistakes = _epoch(X, y, w, b, lr)
        if mistakes == 0:
            return None
        state = (tuple(w.tolist()), float(b))
        if state in seen:
            return seen[state], epoch - seen[state]
        seen[state] = epoch
    raise RuntimeError(f"{func}: neither convergence nor a repeated state within {max_epochs} "
                       f"epochs")


@dataclass(frozen=True)
class PerceptronStep:
    """One visit of one sample during training, for the lecture's step-by-step animation."""

    epoch: int
    index: int          # which sample was visited
    mistake: bool       # whether it was misclassified (and so caused an update)
    w: np.ndarray       # weights after the visit
    b: float            # bias after the visit


def perceptron_trace(X, y, lr=1.0, epochs=20):
    """Every sample visit of ``perceptron_train`` in order, as a list of PerceptronStep.

    The first element is the starting point (zeros, index -1). Tracing stops, like training,
    after the first epoch without a mistake, or after ``epochs`` epochs.
    """
    func = "perceptron_trace"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, D)")
    y = _check_pm1(y, X.shape[0], func)
    w, b = np.zeros(X.shape[1]), 0.0
    steps = [PerceptronStep(0, -1, False, w, b)]
    for epoch in range(epochs):
        count = 0
        for i, (xi, yi) in enumerate(zip(X, y)):
            mistake = bool(yi * (w @ xi + b) <= 0)
            if mistake:
                w, b = w + lr * yi * xi, b + lr * yi
                count += 1
            steps.append(PerceptronStep(epoch, i, mistake, w, b))
        if count == 0:
            break
    return steps


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([-1.0, 1.0, 1.0, -1.0])


def xor_network():
    """Weights of a 2-2-1 sign network that computes XOR on {0, 1}².

    h = sign(x·W1 + b1), out = sign(h·W2 + b2). The first hidden unit is OR (x1 + x2 >= 0.5),
    the second is AND (x1 + x2 >= 1.5); the output fires when OR is on and AND is off.
    Returns (W1 (2, 2), b1 (2,), W2 (2, 1), b2 (1,)).
    """
    W1 = np.array([[1.0, 1.0], [1.0, 1.0]])
    b1 = np.array([-0.5, -1.5])
    W2 = np.array([[1.0], [-1.0]])
    b2 = np.array([-1.0])
    return W1, b1, W2, b2


def sign_network_forward(x, layers):
    """Feed x through sign layers given in the column-vector notation of the Western deck.

    x: (D,) or (N, D) inputs; layers: a list of (W, b) with W (out, in) and b (out,), so that
    h^{l} = sign(W^{l} h^{l-1} + b^{l}). Returns the list of every layer's output, each of shape
    (out,) or (N, out), the last being the network's output.
    """
    func = "sign_network_forward"
    h = as_float_array(x, "x", func)
    outputs = []
    for depth, (W, b) in enumerate(layers, start=1):
        W = as_float_array(W, f"W{depth}", func, ndim=2, dims="(out, in)")
        b = as_float_array(b, f"b{depth}", func, ndim=1, dims="(out,)")
        if W.shape[1] != h.shape[-1] or b.shape[0] != W.shape[0]:
            raise ValueError(f"{func}: layer {depth} has W {W.shape} and b {b.shape}, which do "
                             f"not fit an input of size {h.shape[-1]}")
        h = sign(h @ W.T + b)
        outputs.append(h)
    return outputs
