"""Whole networks built from the layers of this library: ``MLP``, ``ConvNet`` and ``CharRNN``.

Each model is a plain class. Its parameters live in ``model.params``, a dict name -> array, and
``model.loss(X, y)`` returns ``(loss, grads)`` with ``grads`` keyed like ``params``: exactly what
an ``Optimizer`` (``nnutils.optim``) and the training loop (``nnutils.train``) need::

    model = MLP([64, 128, 10], rng=np.random.default_rng(0))
    loss, grads = model.loss(X_batch, y_batch, reg=1e-4)
    opt.step(model.params, grads)            # replaces the arrays in model.params

The forward pass is the chain of ``*_forward`` functions, each keeping a cache; the backward pass
calls the matching ``*_backward`` functions in reverse order. Nothing here is new mathematics:
the models only wire the layers together and name their parameters.

Every model offers the same interface, which ``nnutils.train.train`` relies on:

    params                                  dict name -> array
    loss(X, y, reg=0.0, train=True, rng=None) -> (loss, grads)
                                            data loss + 0.5·reg·Σ‖W‖² over the weights (not
                                            the biases), and its gradient
    evaluate(X, y) -> (loss, accuracy)      data loss without the penalty and accuracy (None
                                            where accuracy means nothing), test mode, no grads
    scores(X), predict(X), accuracy(X, y)   test mode (dropout off)

Weights are stored in the model's ``dtype`` (float64 by default, float32 for speed); inputs are
converted to it, so a float32 model computes in float32 throughout. Random numbers (initial
weights, dropout masks, samples) come from ``numpy.random.Generator`` objects, never from
NumPy's global state.
"""

import math

import numpy as np

from ._checks import as_float_array, check_labels, check_scalar
from .conv import conv2d_backward, conv2d_forward, maxpool2d_backward, maxpool2d_forward
from .initializers import INITIALIZERS
from .layers import ACTIVATIONS, affine_backward, affine_forward, relu_backward, relu_forward
from .losses import sigmoid_binary_cross_entropy, softmax, softmax_cross_entropy, squared_loss
from .regularization import dropout_backward, dropout_forward, l2_penalty
from .rnn import (
    lstm_backward,
    lstm_forward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_forward,
)

__all__ = ["LOSSES", "CharRNN", "ConvNet", "MLP"]

# MLP loss name -> loss function (outputs, targets) -> (loss, doutputs)
LOSSES = {
    "softmax": softmax_cross_entropy,
    "squared": squared_loss,
    "sigmoid_bce": sigmoid_binary_cross_entropy,
}


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

def _check_rng(rng, func: str, default_seed: int | None = 0) -> np.random.Generator:
    """rng itself, or a new Generator seeded with ``default_seed`` when rng is None."""
    if rng is None and default_seed is not None:
        return np.random.default_rng(default_seed)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator, e.g. "
                        f"numpy.random.default_rng(0); got {type(rng).__name__}")
    return rng


def _check_dtype(dtype, func: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise TypeError(f"{func}: dtype must be numpy.float64 or numpy.float32; got {dtype!r}")
    return dt


def _check_dropout(p, func: str) -> float:
    return float(check_scalar(p, "dropout", func, low=0, high=1, high_open=True))


def _weight_penalty(params: dict, names: list[str], reg: float, grads: dict) -> float:
    """Return the penalty 0.5·reg·Σ‖W‖² over the weights ``names`` and add its gradient reg·W
    to their entries of ``grads`` (``l2_penalty`` does the arithmetic)."""
    if not reg:
        return 0.0
    penalty, dweights = l2_penalty([params[k] for k in names], reg)
    for k, dw in zip(names, dweights, strict=True):
        grads[k] += dw
    return penalty


def _classification_accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose largest score is at the label: mean(argmax(scores) == y)."""
    return float(np.mean(np.argmax(scores, axis=-1) == y))


# --------------------------------------------------------------------------------------------
# MLP: a fully connected network of any depth
# --------------------------------------------------------------------------------------------

class MLP:
    """A fully connected network: (affine → activation → dropout) × (L − 1), then affine → loss.

    sizes: layer widths [D, H1, ..., H_{L−1}, K], at least two: D inputs, K outputs; the net has
        L = len(sizes) − 1 affine layers with weights W1 (D, H1), ..., WL (H_{L−1}, K) and biases
        b1 (H1,), ..., bL (K,), named "W1", "b1", "W2", ... in ``params``.
    activation: "relu", "tanh", "sigmoid" or "linear", used by every hidden layer. "sign" is
        refused: its derivative is zero wherever it exists, so backpropagation cannot train it.
    init: a name of ``nnutils.initializers.INITIALIZERS`` or a function (fan_in, fan_out, rng)
        -> (fan_in, fan_out) array; by default "he_normal" for ReLU and "xavier_uniform" for the
        others. Biases start at zero.
    rng: numpy Generator for the initial weights; it is kept as ``model.rng`` and draws the
        dropout masks when ``loss`` is given no rng. Default: ``numpy.random.default_rng(0)``.
    dropout: probability of dropping each hidden unit while training (inverted dropout, after
        each hidden activation; never on the inputs or outputs), in [0, 1).
    loss: the output layer's loss, applied to the K raw outputs ("scores")
        "softmax"      softmax cross-entropy, y (N,) integer labels 0..K−1 (K >= 2)
        "squared"      0.5·Σ(out − y)² / N, y (N, K) real targets ((N,) when K = 1)
        "sigmoid_bce"  independent sigmoids per output (multi-label), y (N, K) in [0, 1]
                       ((N,) when K = 1)
    dtype: numpy.float64 or numpy.float32, the dtype of the parameters and of the computation.
    """

    def __init__(self, sizes, activation="relu", init=None, rng=None, dropout=0.0,
                 loss="softmax", dtype=np.float64):
        func = "MLP"
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ValueError(f"{func}: sizes must list at least two layer widths [inputs, ...,"
                             f" outputs], e.g. [64, 128, 10]; got {sizes!r}")
        self.sizes = [int(check_scalar(s, f"sizes[{i}]", func, low=1, integer=True))
                      for i, s in enumerate(sizes)]
        if activation == "sign":
            raise ValueError(f"{func}: activation 'sign' cannot be trained by backpropagation:"
                             f" its derivative is 0 everywhere except at 0, where it does not"
                             f" exist, so every gradient would be 0. Use 'tanh' (its smooth"
                             f" relative), 'sigmoid' or 'relu'")
        if activation not in ACTIVATIONS:
            raise ValueError(f"{func}: unknown activation {activation!r}; choose one of 'relu',"
                             f" 'tanh', 'sigmoid', 'linear'")
        if loss not in LOSSES:
            raise ValueError(f"{func}: unknown loss {loss!r}; choose one of "
                             f"{', '.join(repr(k) for k in LOSSES)}")
        if loss == "softmax" and self.sizes[-1] < 2:
            raise ValueError(f"{func}: a softmax output needs at least 2 classes, so sizes[-1]"
                             f" must be >= 2; got {self.sizes[-1]} (use loss='sigmoid_bce' for"
                             f" one yes/no output)")
        if init is None:
            init = "he_normal" if activation == "relu" else "xavier_uniform"
        if isinstance(init, str):
            if init not in INITIALIZERS:
                raise ValueError(f"{func}: unknown init {init!r}; choose one of "
                                 f"{', '.join(repr(k) for k in INITIALIZERS)} or pass a function"
                                 f" (fan_in, fan_out, rng) -> weights")
            init_fn = INITIALIZERS[init]
        elif callable(init):
            init_fn = init
        else:
            raise TypeError(f"{func}: init must be an initializer name or a function (fan_in,"
                            f" fan_out, rng) -> weights; got {type(init).__name__}")
        self.activation = activation
        self.init = init
        self.loss_name = loss
        self.dropout = _check_dropout(dropout, func)
        self.dtype = _check_dtype(dtype, func)
        self.rng = _check_rng(rng, func)
        self.num_layers = len(self.sizes) - 1
        self.params: dict[str, np.ndarray] = {}
        for layer, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), 1):
            w = np.asarray(init_fn(fan_in, fan_out, self.rng))
            if w.shape != (fan_in, fan_out):
                raise ValueError(f"{func}: init must return a (fan_in, fan_out) = ({fan_in},"
                                 f" {fan_out}) array; got shape {w.shape}")
            self.params[f"W{layer}"] = w.astype(self.dtype)
            self.params[f"b{layer}"] = np.zeros(fan_out, dtype=self.dtype)
        self._weights = [f"W{layer}" for layer in range(1, self.num_layers + 1)]

    def __repr__(self):
        return (f"MLP(sizes={self.sizes}, activation={self.activation!r}, loss={self.loss_name!r},"
                f" dropout={self.dropout}, dtype={self.dtype.name})")

    # ---- input checks ----------------------------------------------------------------------

    def _inputs(self, X, func: str) -> np.ndarray:
        """X as an (N, D) array in the model's dtype, D = sizes[0], N >= 1."""
        X = as_float_array(X, "X", func)
        d = self.sizes[0]
        if X.ndim != 2 or X.shape[1] != d or X.shape[0] == 0:
            extra = " (flatten images with X.reshape(len(X), -1))" if X.ndim > 2 else ""
            raise ValueError(f"{func}: X must have shape (N, D) = (N, {d}) with N >= 1 rows, D"
                             f" = sizes[0] = {d} inputs per sample; got {X.shape}{extra}")
        return X.astype(self.dtype, copy=False)

    def _targets(self, y, n: int, func: str):
        """y checked for the model's loss: labels (N,) for softmax, (N, K) targets otherwise."""
        k = self.sizes[-1]
        if self.loss_name == "softmax":
            return check_labels(y, n, k, func)
        t = as_float_array(y, "y", func)
        if t.shape == (n,) and k == 1:
            t = t.reshape(n, 1)
        if t.shape != (n, k):
            one = " or (N,)" if k == 1 else ""
            raise ValueError(f"{func}: y must have shape (N, K) = ({n}, {k}){one}, one target per"
                             f" output for loss={self.loss_name!r}; got {t.shape}")
        return t.astype(self.dtype, copy=False)

    # ---- forward and backward --------------------------------------------------------------

    def _forward(self, X: np.ndarray, train: bool, rng):
        """Outputs (N, K) and the caches of every layer: [(affine, activation, dropout), ...]."""
        act_forward = ACTIVATIONS[self.activation][0]
        drop = train and self.dropout > 0
        out, caches = X, []
        for layer in range(1, self.num_layers + 1):
            out, c_aff = affine_forward(out, self.params[f"W{layer}"], self.params[f"b{layer}"])
            c_act = c_drop = None
            if layer < self.num_layers:
                out, c_act = act_forward(out)
                if drop:
                    out, c_drop = dropout_forward(out, self.dropout, True, rng)
            caches.append((c_aff, c_act, c_drop))
        return out, caches

    def _backward(self, dout: np.ndarray, caches) -> dict:
        act_backward = ACTIVATIONS[self.activation][1]
        grads = {}
        for layer in range(self.num_layers, 0, -1):
            c_aff, c_act, c_drop = caches[layer - 1]
            if c_drop is not None:
                dout = dropout_backward(dout, c_drop)
            if c_act is not None:
                dout = act_backward(dout, c_act)
            dout, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(dout, c_aff)
        return {k: grads[k] for k in self.params}

    def _data_loss(self, out: np.ndarray, t):
        if self.loss_name == "softmax":
            return softmax_cross_entropy(out, t)
        return LOSSES[self.loss_name](out, t)

    def loss(self, X, y, reg=0.0, train=True, rng=None):
        """Loss and gradients of every parameter on a batch.

        X: (N, D) inputs; y: targets for the model's loss (see the class docstring).
        reg: L2 strength >= 0; adds 0.5·reg·Σ_l ‖W_l‖² (weights only, not biases).
        train: True applies dropout (if the model has any); False is test mode.
        rng: Generator for the dropout masks; default ``model.rng``. Passing a new
            ``default_rng(seed)`` at every call fixes the masks (for gradient checks).
        Returns (loss, grads): loss a float; grads a dict keyed like ``params``, each gradient
        the shape and dtype of its parameter.
        """
        func = "MLP.loss"
        X = self._inputs(X, func)
        t = self._targets(y, X.shape[0], func)
        reg = float(check_scalar(reg, "reg", func, low=0))
        if train and self.dropout > 0:
            rng = self.rng if rng is None else _check_rng(rng, func, None)
        out, caches = self._forward(X, bool(train), rng)
        loss, dout = self._data_loss(out, t)
        grads = self._backward(dout, caches)
        loss += _weight_penalty(self.params, self._weights, reg, grads)
        return loss, grads

    def scores(self, X):
        """The raw outputs (test mode): X (N, D) -> (N, K), before softmax or sigmoid."""
        return self._forward(self._inputs(X, "MLP.scores"), False, None)[0]

    def predict(self, X):
        """Predictions for X (N, D), test mode.

        softmax: (N,) int labels argmax_k scores; sigmoid_bce: (N, K) int 0/1, 1 where the
        output's probability is >= 0.5 (score >= 0); squared: the raw outputs (N, K), or (N,)
        when K = 1.
        """
        out = self._forward(self._inputs(X, "MLP.predict"), False, None)[0]
        if self.loss_name == "softmax":
            return np.argmax(out, axis=1)
        if self.loss_name == "sigmoid_bce":
            return (out >= 0).astype(np.int64)
        return out[:, 0] if out.shape[1] == 1 else out

    def _accuracy(self, out: np.ndarray, t, func: str) -> float:
        if self.loss_name == "softmax":
            return _classification_accuracy(out, t)
        if self.loss_name == "sigmoid_bce":
            return float(np.mean((out >= 0) == (t >= 0.5)))
        if out.shape[1] != 1 or not np.all(np.abs(t) == 1):
            raise ValueError(f"{func}: with loss='squared' accuracy is defined only for one"
                             f" output and targets y of +1/-1 (the sign of the output is the"
                             f" class); got {out.shape[1]} output(s) and targets other than"
                             f" +1/-1")
        return float(np.mean(np.where(out >= 0, 1.0, -1.0) == t))

    def accuracy(self, X, y):
        """Fraction of correct predictions on X (N, D), test mode.

        softmax: mean(predict(X) == y) with y (N,) labels; sigmoid_bce: the fraction of all
        N·K yes/no outputs that are right (target >= 0.5 is "yes"); squared: only for one output
        and targets of +1/−1 (the Playground's classification), the fraction with
        sign(output) = y (sign(0) = +1).
        """
        func = "MLP.accuracy"
        X = self._inputs(X, func)
        t = self._targets(y, X.shape[0], func)
        return self._accuracy(self._forward(X, False, None)[0], t, func)

    def evaluate(self, X, y):
        """(loss, accuracy) on X (N, D) in test mode, without gradients or penalty.

        loss: the data loss (no L2 term) as a float. accuracy: as ``accuracy``, or None for
        loss='squared' unless its targets are +1/−1 with one output.
        """
        func = "MLP.evaluate"
        X = self._inputs(X, func)
        t = self._targets(y, X.shape[0], func)
        out = self._forward(X, False, None)[0]
        loss = self._data_loss(out, t)[0]
        if self.loss_name == "squared" and (out.shape[1] != 1 or not np.all(np.abs(t) == 1)):
            return loss, None
        return loss, self._accuracy(out, t, func)

    def hidden_activations(self, X):
        """Output of every hidden layer (after its activation), test mode.

        X: (N, D). Returns a list of L − 1 arrays, [(N, H1), ..., (N, H_{L−1})]; empty for a
        net without hidden layers. Entry j of layer l is what neuron j of that layer computes,
        e.g. for a heat map of each neuron over a grid of input points.
        """
        X = self._inputs(X, "MLP.hidden_activations")
        act_forward = ACTIVATIONS[self.activation][0]
        out, hidden = X, []
        for layer in range(1, self.num_layers):
            out = act_forward(affine_forward(out, self.params[f"W{layer}"],
                                             self.params[f"b{layer}"])[0])[0]
            hidden.append(out)
        return hidden

    def gradient_norms(self, X, y):
        """‖∂loss/∂W_l‖ (Frobenius norm) of every layer's weights, layer 1 first, test mode.

        X: (N, D); y: targets. No L2 term and no dropout: the data loss alone. Returns a list
        of L floats. In a deep sigmoid net the first layers' norms are orders of magnitude
        smaller than the last one's: the vanishing gradient.
        """
        func = "MLP.gradient_norms"
        X = self._inputs(X, func)
        t = self._targets(y, X.shape[0], func)
        out, caches = self._forward(X, False, None)
        grads = self._backward(self._data_loss(out, t)[1], caches)
        return [float(np.linalg.norm(grads[k])) for k in self._weights]


# --------------------------------------------------------------------------------------------
# ConvNet: a small LeNet for 8x8 digits
# --------------------------------------------------------------------------------------------

class ConvNet:
    """A LeNet-style convolutional network for small images such as the 1×8×8 digits.

        conv 3×3 (pad 1) → ReLU → max-pool 2×2 → conv 3×3 (pad 1) → ReLU → max-pool 2×2
        → affine → ReLU → (dropout) → affine → softmax cross-entropy

    input_shape: (C, H, W) of one image, H and W >= 4 (two poolings halve them, rounding down).
    channels: (F1, F2), the number of filters of the two convolutions.
    hidden: width of the fully connected hidden layer; num_classes: K >= 2.
    rng: Generator for the initial weights (kept as ``model.rng`` for dropout masks);
        default ``numpy.random.default_rng(0)``.
    dropout: probability of dropping a unit of the fully connected hidden layer while training.
    dtype: numpy.float64 or numpy.float32.

    Parameters: W1 (F1, C, 3, 3), b1 (F1,); W2 (F2, F1, 3, 3), b2 (F2,);
    W3 (F2·(H//4)·(W//4), hidden), b3 (hidden,); W4 (hidden, K), b4 (K,). The weights are
    He-normal (std √(2 / fan_in), fan_in = C·3·3 for a convolution, as every layer feeds a
    ReLU except the last), the biases zero. L2 regularization applies to W1..W4.
    """

    def __init__(self, input_shape=(1, 8, 8), channels=(16, 32), hidden=64, num_classes=10,
                 rng=None, dropout=0.0, dtype=np.float64):
        func = "ConvNet"
        if not hasattr(input_shape, "__len__") or len(input_shape) != 3:
            raise ValueError(f"{func}: input_shape must be (C, H, W) of one image, e.g. (1, 8, 8);"
                             f" got {input_shape!r}")
        C, H, W = (int(check_scalar(s, "input_shape", func, low=1, integer=True))
                   for s in input_shape)
        if H < 4 or W < 4:
            raise ValueError(f"{func}: images must be at least 4x4 to survive two 2x2 poolings;"
                             f" got input_shape {tuple(input_shape)}")
        if not hasattr(channels, "__len__") or len(channels) != 2:
            raise ValueError(f"{func}: channels must be (F1, F2), the filters of the two"
                             f" convolutions, e.g. (16, 32); got {channels!r}")
        F1, F2 = (int(check_scalar(c, "channels", func, low=1, integer=True)) for c in channels)
        hidden = int(check_scalar(hidden, "hidden", func, low=1, integer=True))
        num_classes = int(check_scalar(num_classes, "num_classes", func, low=2, integer=True))
        self.input_shape = (C, H, W)
        self.channels = (F1, F2)
        self.hidden = hidden
        self.num_classes = num_classes
        self.dropout = _check_dropout(dropout, func)
        self.dtype = _check_dtype(dtype, func)
        self.rng = _check_rng(rng, func)
        flat = F2 * (H // 4) * (W // 4)
        shapes = {"W1": (F1, C, 3, 3), "W2": (F2, F1, 3, 3), "W3": (flat, hidden),
                  "W4": (hidden, num_classes)}
        self.params: dict[str, np.ndarray] = {}
        for i, (name, shape) in enumerate(shapes.items(), 1):
            fan_in = math.prod(shape[1:]) if len(shape) == 4 else shape[0]
            w = self.rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
            self.params[name] = w.astype(self.dtype)
            self.params[f"b{i}"] = np.zeros(shape[0] if len(shape) == 4 else shape[1],
                                            dtype=self.dtype)
        self.params = {k: self.params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3", "W4",
                                                     "b4")}
        self._weights = ["W1", "W2", "W3", "W4"]

    def __repr__(self):
        return (f"ConvNet(input_shape={self.input_shape}, channels={self.channels}, hidden="
                f"{self.hidden}, num_classes={self.num_classes}, dropout={self.dropout}, dtype="
                f"{self.dtype.name})")

    def _inputs(self, X, func: str) -> np.ndarray:
        X = as_float_array(X, "X", func)
        C, H, W = self.input_shape
        if X.ndim != 4 or X.shape[1:] != (C, H, W) or X.shape[0] == 0:
            hint = (" (load the digits with load_digits(flatten=False), or use"
                    f" X.reshape(-1, {C}, {H}, {W}))") if X.ndim != 4 else ""
            raise ValueError(f"{func}: X must have shape (N, C, H, W) = (N, {C}, {H}, {W}) with"
                             f" N >= 1 images; got {X.shape}{hint}")
        return X.astype(self.dtype, copy=False)

    def _forward(self, X: np.ndarray, train: bool, rng):
        """Scores (N, K), the caches of every layer in order, and the two rectified conv maps."""
        p = self.params
        c1, conv1 = conv2d_forward(X, p["W1"], p["b1"], 1, 1)
        a1, relu1 = relu_forward(c1)
        m1, pool1 = maxpool2d_forward(a1)
        c2, conv2 = conv2d_forward(m1, p["W2"], p["b2"], 1, 1)
        a2, relu2 = relu_forward(c2)
        m2, pool2 = maxpool2d_forward(a2)
        z3, fc3 = affine_forward(m2, p["W3"], p["b3"])   # flattens (N, F2, H/4, W/4)
        a3, relu3 = relu_forward(z3)
        drop = None
        if train and self.dropout > 0:
            a3, drop = dropout_forward(a3, self.dropout, True, rng)
        scores, fc4 = affine_forward(a3, p["W4"], p["b4"])
        caches = (conv1, relu1, pool1, conv2, relu2, pool2, fc3, relu3, drop, fc4)
        return scores, caches, (a1, a2)

    def _backward(self, dscores: np.ndarray, caches) -> dict:
        conv1, relu1, pool1, conv2, relu2, pool2, fc3, relu3, drop, fc4 = caches
        g = {}
        da3, g["W4"], g["b4"] = affine_backward(dscores, fc4)
        if drop is not None:
            da3 = dropout_backward(da3, drop)
        dm2, g["W3"], g["b3"] = affine_backward(relu_backward(da3, relu3), fc3)
        dc2 = relu_backward(maxpool2d_backward(dm2, pool2), relu2)
        dm1, g["W2"], g["b2"] = conv2d_backward(dc2, conv2)
        dc1 = relu_backward(maxpool2d_backward(dm1, pool1), relu1)
        _, g["W1"], g["b1"] = conv2d_backward(dc1, conv1)
        return {k: g[k] for k in self.params}

    def loss(self, X, y, reg=0.0, train=True, rng=None):
        """Softmax cross-entropy and the gradients of every parameter on a batch.

        X: (N, C, H, W) images; y: (N,) integer labels 0..K−1; reg: L2 strength >= 0, adding
        0.5·reg·Σ‖W‖² over W1..W4; train: dropout on (if any); rng: Generator for the dropout
        mask, default ``model.rng``.
        Returns (loss, grads), grads keyed like ``params``.
        """
        func = "ConvNet.loss"
        X = self._inputs(X, func)
        y = check_labels(y, X.shape[0], self.num_classes, func)
        reg = float(check_scalar(reg, "reg", func, low=0))
        if train and self.dropout > 0:
            rng = self.rng if rng is None else _check_rng(rng, func, None)
        scores, caches, _ = self._forward(X, bool(train), rng)
        loss, dscores = softmax_cross_entropy(scores, y)
        grads = self._backward(dscores, caches)
        loss += _weight_penalty(self.params, self._weights, reg, grads)
        return loss, grads

    def scores(self, X):
        """Class scores (N, K) of the images X (N, C, H, W), test mode."""
        return self._forward(self._inputs(X, "ConvNet.scores"), False, None)[0]

    def predict(self, X):
        """Predicted labels (N,) of the images X (N, C, H, W): argmax of the scores."""
        return np.argmax(self.scores(X), axis=1)

    def accuracy(self, X, y):
        """Fraction of the images X (N, C, H, W) whose predicted label equals y (N,)."""
        func = "ConvNet.accuracy"
        X = self._inputs(X, func)
        y = check_labels(y, X.shape[0], self.num_classes, func)
        return _classification_accuracy(self._forward(X, False, None)[0], y)

    def evaluate(self, X, y):
        """(cross-entropy, accuracy) on X (N, C, H, W) and y (N,), test mode, no penalty."""
        func = "ConvNet.evaluate"
        X = self._inputs(X, func)
        y = check_labels(y, X.shape[0], self.num_classes, func)
        scores = self._forward(X, False, None)[0]
        return softmax_cross_entropy(scores, y)[0], _classification_accuracy(scores, y)

    def feature_maps(self, X):
        """The activations of both convolutional layers (after ReLU, before pooling), test mode.

        X: (N, C, H, W). Returns [(N, F1, H, W), (N, F2, H/2, W/2)]: channel f of layer l is
        the map of where filter f of that layer responds, for showing as images.
        """
        return list(self._forward(self._inputs(X, "ConvNet.feature_maps"), False, None)[2])


# --------------------------------------------------------------------------------------------
# CharRNN: a character-level language model
# --------------------------------------------------------------------------------------------

class CharRNN:
    """A character-level language model: one-hot characters → RNN or LSTM → affine → softmax.

    At each step t the model reads character x_t and predicts the next one:

        h_t = cell(onehot(x_t), h_{t−1})            (``rnn_forward`` or ``lstm_forward``)
        p(x_{t+1} | x_1..x_t) = softmax(h_t·Wy + by)

    Inputs are one-hot vectors, so onehot(x_t)·Wx is simply row x_t of Wx: the input weights
    ARE a learned embedding of each character (of size H for the RNN, 4H for the LSTM's gates),
    and no separate embedding layer is needed.

    vocab_size: V >= 2 characters (ids 0..V−1); hidden_size: H >= 1; cell: "rnn" or "lstm".
    rng: Generator for the initial weights; default ``numpy.random.default_rng(0)``.
    dtype: numpy.float64 or numpy.float32.

    Parameters (G = 1 for the RNN, 4 for the LSTM): Wx (V, G·H), Wh (H, G·H), b (G·H,),
    Wy (H, V), by (V,). Wx, Wh and Wy start Xavier-uniform, the biases at zero except the
    LSTM's forget-gate block of b, which starts at 1 so that the cell remembers by default.
    Gradient clipping is left to the training loop (``train(..., clip=5.0)``).
    """

    def __init__(self, vocab_size, hidden_size, cell="rnn", rng=None, dtype=np.float64):
        func = "CharRNN"
        V = int(check_scalar(vocab_size, "vocab_size", func, low=2, integer=True))
        H = int(check_scalar(hidden_size, "hidden_size", func, low=1, integer=True))
        if cell not in ("rnn", "lstm"):
            raise ValueError(f"{func}: cell must be 'rnn' or 'lstm'; got {cell!r}")
        self.vocab_size, self.hidden_size, self.cell = V, H, cell
        self.dtype = _check_dtype(dtype, func)
        self.rng = _check_rng(rng, func)
        G = 4 if cell == "lstm" else 1
        init = INITIALIZERS["xavier_uniform"]
        b = np.zeros(G * H)
        if cell == "lstm":
            b[H:2 * H] = 1.0        # forget gate open: keep the cell unless taught otherwise
        params = {"Wx": init(V, G * H, self.rng), "Wh": init(H, G * H, self.rng), "b": b,
                  "Wy": init(H, V, self.rng), "by": np.zeros(V)}
        self.params = {k: v.astype(self.dtype) for k, v in params.items()}
        self._forward_fn, self._backward_fn = ((lstm_forward, lstm_backward) if cell == "lstm"
                                               else (rnn_forward, rnn_backward))
        self._weights = ["Wx", "Wh", "Wy"]

    def __repr__(self):
        return (f"CharRNN(vocab_size={self.vocab_size}, hidden_size={self.hidden_size},"
                f" cell={self.cell!r}, dtype={self.dtype.name})")

    # ---- input checks ----------------------------------------------------------------------

    def _ids(self, ids, name: str, func: str, ndim: int) -> np.ndarray:
        """Integer ids in 0..V−1 of ``ndim`` axes (2: (B, T); 1: (T,)), none empty."""
        arr = np.asarray(ids)
        dims = "(B, T)" if ndim == 2 else "(T,)"
        if arr.ndim != ndim or 0 in arr.shape:
            raise ValueError(f"{func}: {name} must be a {ndim}-D array {dims} of character ids"
                             f" with no empty axis; got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
                arr = arr.astype(np.int64)
            else:
                raise TypeError(f"{func}: {name} must hold integer character ids; got dtype"
                                f" {arr.dtype}")
        if arr.min() < 0 or arr.max() >= self.vocab_size:
            raise ValueError(f"{func}: {name} must hold ids in 0..{self.vocab_size - 1} (V ="
                             f" {self.vocab_size}); got values from {arr.min()} to {arr.max()}")
        return arr

    def _pair(self, inputs, targets, func: str):
        inputs = self._ids(inputs, "inputs", func, 2)
        targets = self._ids(targets, "targets", func, 2)
        if targets.shape != inputs.shape:
            raise ValueError(f"{func}: targets must have the shape of inputs (B, T) ="
                             f" {inputs.shape}, the character that follows each input; got"
                             f" {targets.shape}")
        return inputs, targets

    def _h0(self, h0, batch: int, func: str) -> np.ndarray:
        if h0 is None:
            return np.zeros((batch, self.hidden_size), dtype=self.dtype)
        h0 = as_float_array(h0, "h0", func)
        if h0.shape != (batch, self.hidden_size):
            raise ValueError(f"{func}: h0 must have shape (B, H) = ({batch}, {self.hidden_size});"
                             f" got {h0.shape}")
        return h0.astype(self.dtype, copy=False)

    # ---- forward and backward --------------------------------------------------------------

    def _one_hot(self, ids: np.ndarray) -> np.ndarray:
        """ids (...) -> (..., V) one-hot vectors in the model's dtype."""
        out = np.zeros(ids.shape + (self.vocab_size,), dtype=self.dtype)
        np.put_along_axis(out, ids[..., None], 1, axis=-1)
        return out

    def _forward(self, inputs: np.ndarray, h0: np.ndarray):
        """Scores (B·T, V), rows ordered sample by sample, and the caches."""
        p = self.params
        B, T = inputs.shape
        h, cell_cache = self._forward_fn(self._one_hot(inputs), h0, p["Wx"], p["Wh"], p["b"])
        scores, out_cache = affine_forward(h.reshape(B * T, self.hidden_size), p["Wy"], p["by"])
        return scores, (cell_cache, out_cache)

    def loss(self, inputs, targets, h0=None, reg=0.0, train=True, rng=None):
        """Cross-entropy of next-character prediction, averaged over all B·T positions.

        inputs: (B, T) int ids; targets: (B, T) int ids, targets[b, t] the character that
        follows inputs[b, t]; h0: (B, H) initial hidden state, default zeros (the LSTM's cell
        always starts at zero).
        loss = −(1/(B·T))·Σ_{b,t} log p(targets[b, t] | inputs[b, :t+1]) + 0.5·reg·(‖Wx‖² +
        ‖Wh‖² + ‖Wy‖²). train and rng are accepted for the common model interface of
        ``nnutils.train``; this model has no dropout, so they change nothing.
        Returns (loss, grads) keyed like ``params`` (backpropagation through time over T steps).
        """
        func = "CharRNN.loss"
        inputs, targets = self._pair(inputs, targets, func)
        h0 = self._h0(h0, inputs.shape[0], func)
        reg = float(check_scalar(reg, "reg", func, low=0))
        B, T = inputs.shape
        scores, (cell_cache, out_cache) = self._forward(inputs, h0)
        loss, dscores = softmax_cross_entropy(scores, targets.reshape(-1))
        dh, dWy, dby = affine_backward(dscores, out_cache)
        _, _, dWx, dWh, db = self._backward_fn(dh.reshape(B, T, self.hidden_size), cell_cache)
        grads = {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}
        loss += _weight_penalty(self.params, self._weights, reg, grads)
        return loss, grads

    def scores(self, inputs, h0=None):
        """Next-character scores (B, T, V) for inputs (B, T) int ids."""
        func = "CharRNN.scores"
        inputs = self._ids(inputs, "inputs", func, 2)
        scores = self._forward(inputs, self._h0(h0, inputs.shape[0], func))[0]
        return scores.reshape(inputs.shape + (self.vocab_size,))

    def predict(self, inputs):
        """The most likely next character (B, T) int64 after every position of inputs (B, T)."""
        return np.argmax(self.scores(inputs), axis=-1)

    def accuracy(self, inputs, targets):
        """Fraction of the B·T positions whose most likely next character is the target."""
        inputs, targets = self._pair(inputs, targets, "CharRNN.accuracy")
        return float(np.mean(np.argmax(self.scores(inputs), axis=-1) == targets))

    def evaluate(self, inputs, targets):
        """(cross-entropy, accuracy) over the B·T positions of inputs and targets (B, T)."""
        func = "CharRNN.evaluate"
        inputs, targets = self._pair(inputs, targets, func)
        scores = self._forward(inputs, self._h0(None, inputs.shape[0], func))[0]
        flat = targets.reshape(-1)
        return softmax_cross_entropy(scores, flat)[0], _classification_accuracy(scores, flat)

    # ---- generation and scoring ------------------------------------------------------------

    def _step(self, token: int, h: np.ndarray, c: np.ndarray | None):
        """Read one character: returns (scores (V,), h (1, H), c (1, H) or None)."""
        p = self.params
        x = self._one_hot(np.array([token]))
        if self.cell == "lstm":
            h, c, _ = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
        else:
            h, _ = rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
        return (h @ p["Wy"] + p["by"])[0], h, c

    def sample(self, start_ids, length, temperature=1.0, rng=None):
        """Generate ``length`` characters after the prompt ``start_ids``.

        start_ids: (T0,) int ids, T0 >= 1, read first to set the hidden state.
        length: number of new characters, >= 0.
        temperature: >= 0. Each next id is drawn from softmax(scores / temperature): 1 samples
        the model's own distribution, below 1 sharpens it towards the most likely character,
        above 1 flattens it towards uniform. 0 always takes the most likely one (greedy).
        rng: Generator for the draws; default ``model.rng``.
        Returns the new ids only: (length,) int64, each in 0..V−1, each fed back as the next
        input.
        """
        func = "CharRNN.sample"
        prompt = self._ids(start_ids, "start_ids", func, 1)
        length = int(check_scalar(length, "length", func, low=0, integer=True))
        temperature = float(check_scalar(temperature, "temperature", func, low=0))
        rng = self.rng if rng is None else _check_rng(rng, func, None)
        h = np.zeros((1, self.hidden_size), dtype=self.dtype)
        c = np.zeros_like(h) if self.cell == "lstm" else None
        for token in prompt.tolist():
            scores, h, c = self._step(token, h, c)
        out = np.empty(length, dtype=np.int64)
        for k in range(length):
            if temperature == 0:
                nxt = int(np.argmax(scores))
            else:
                shifted = scores.astype(np.float64) - scores.max()     # <= 0, max 0
                with np.errstate(over="ignore"):     # a tiny temperature sends these to -inf
                    probs = softmax(shifted / temperature)
                nxt = min(int(np.searchsorted(np.cumsum(probs), rng.random(), side="right")),
                          self.vocab_size - 1)
            out[k] = nxt
            scores, h, c = self._step(nxt, h, c)
        return out

    def sequence_log_prob(self, ids, average=False):
        """Log-probability (natural log) the model gives a sequence, its first character given.

        ids: (T,) int ids, T >= 2. Returns Σ_{t=2..T} log p(ids[t] | ids[1..t−1]) as a float
        (always <= 0): the first character is the condition, every later one is predicted.
        average: divide by the T − 1 predicted characters, so that strings of different lengths
        can be compared per character. A model trained on English text should prefer
        "recognize speech" to the sound-alike "wreck a nice beach" only if it has learned
        which letter sequences are likely.
        """
        func = "CharRNN.sequence_log_prob"
        ids = self._ids(ids, "ids", func, 1)
        if ids.shape[0] < 2:
            raise ValueError(f"{func}: ids must hold at least 2 ids (T,), a first character and"
                             f" one to predict; got {ids.shape[0]}")
        inputs, targets = ids[None, :-1], ids[1:]
        scores = self._forward(inputs, self._h0(None, 1, func))[0]
        mean_ce = softmax_cross_entropy(scores, targets)[0]
        return -mean_ce if average else -mean_ce * (ids.shape[0] - 1)
