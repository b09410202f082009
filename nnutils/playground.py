"""The TensorFlow Playground's engine in NumPy: its network, its training step, its heat maps.

The Playground (playground.tensorflow.org, Smilkov and Carter, 2016) trains a small fully
connected network on two-dimensional points and paints what every neuron computes over the
square [-6, 6]². This module is its engine, without any widgets; ``nnutils.widgets.playground``
builds the controls around it. It follows the original's source (``nn.ts``, ``playground.ts``)::

    engine = Playground(Settings(dataset="xor", hidden_layers=(4,)))
    engine.step(10)                    # ten epochs
    engine.train_loss, engine.test_loss, engine.epoch
    engine.heatmap(100)                # (100, 100) network output over [-6, 6]²

**The network.** The input is the chosen features of a point (x1, x2, x1², x2², x1·x2, sin x1,
sin x2; ``nnutils.data.FEATURES``), then 0 to 6 hidden layers of 1 to 8 neurons with the chosen
activation (ReLU, tanh, sigmoid or linear), then one output neuron: tanh for classification
(labels ±1; the sign of the output is the predicted class) and linear for regression. Layer l
computes h_l = f(h_(l-1)·W_l + b_l) with ``nnutils.layers`` (affine forward/backward and the
activations' pairs). Weights start uniform in (-0.5, 0.5), biases at 0.1, as in the original.

**The loss** of one point is the squared error E = 0.5·(out − target)²; the train and test
losses shown are its mean over each set, 0.5·Σ(out − y)²/N (``nnutils.losses.squared_loss``),
without any regularization term, exactly as the original reports them.

**One epoch** (one press of "step") is one pass over the training points in their stored order
(the data are shuffled once, when generated, and not again, as in the original). The gradient of
E is averaged over each mini-batch of ``batch_size`` consecutive points and the weights are then
updated. When the training set is not a multiple of the batch size, the last points of an epoch
are not dropped: as in the original, their gradients wait and join the first batch of the next
epoch (that update averages over the leftover points plus a full batch).

**The update** of a weight w with mean gradient g is the original's two-stage step::

    w' = w − lr·g                                     (the data term)
    w'' = w' − lr·rate·R'(w)                          (regularization, R' taken at the old w)
    L2: R(w) = w²/2, R'(w) = w;   L1: R(w) = |w|, R'(w) = sign(w)

With L1, a weight that the regularization step would carry across zero is set to exactly 0 and
stays 0 ("dead") until the network is reset: the subgradient step never crosses zero. Biases are
never regularized: b ← b − lr·g_b. The step is therefore plain SGD on the mean data loss plus
rate·Σ R(w) over all weights (``batch_gradients`` and ``penalty`` give both parts).

**What resets what**, as in the original: a new data set, problem type, noise or train/test
ratio draws new data and rebuilds the network; a change of features, layers, neurons,
activation, regularization, regularization rate or batch size rebuilds the network on the same
data; a new learning rate applies from the next update on. ``regenerate`` draws new data and
keeps the network (the original's "regenerate" button).

**Where this differs from the original**, deliberately:

- Randomness comes from NumPy generators seeded by ``Settings.seed`` (one stream for data, one
  for weights), so a run can be repeated; the original uses ``Math.random``. Every reset still
  draws fresh weights, and every regeneration fresh data.
- The data generators are ``nnutils.data``'s re-implementations of the original's; the noise
  slider and the train/test split (floor of N·ratio points for training, 500 points for
  classification and 1200 for regression) follow it, except that ``make_reg_plane`` clips its
  targets to [-1, 1].
- The heat maps sample the square [-6, 6]² on a ``resolution``² grid including both edges, as
  the original's 100 × 100 grid does, but in float32 (several times faster, and a picture of 31
  shades needs no more); node thumbnails are computed directly on a coarser grid instead of
  averaging 10 × 10 blocks of the fine one. Training and the losses are float64.
- The original lets a user deselect every feature (the network then outputs a constant); so does
  this engine. The original's optional regression sets "reg-maximum" and "reg-argmax", hidden in
  its interface, are not offered.
- A diverging run (too large a learning rate) ends with inf or NaN losses, as in the original,
  but silently: the engine turns off NumPy's overflow warnings while it computes.

The engine's products are tiny ((N, 8)·(8, 8) at most), so it runs NumPy's BLAS on one thread
while it computes (``nnutils._threads.one_blas_thread``): two threads only meet and wait.
"""

import contextlib
import functools
from dataclasses import dataclass, fields, replace

import numpy as np

from ._threads import one_blas_thread
from .data import (
    CLASSIFICATION_SETS,
    DATASETS,
    FEATURES,
    NUM_SAMPLES_CLASSIFY,
    NUM_SAMPLES_REGRESS,
    REGRESSION_SETS,
    feature_map,
    train_test_split,
)
from .layers import ACTIVATIONS, affine_backward, affine_forward, sigmoid
from .losses import squared_loss

__all__ = ["ACTIVATION_NAMES", "DOMAIN", "LEARNING_RATES", "MAX_LAYERS", "MAX_NEURONS",
           "PRESETS", "PROBLEMS", "Playground", "Preset", "REGULARIZATIONS",
           "REGULARIZATION_RATES", "Settings", "grid_points", "regularized_update", "run_preset"]

#: The choices the Playground's drop-down menus offer.
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REGULARIZATION_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "linear")
REGULARIZATIONS = ("none", "L1", "L2")
PROBLEMS = ("classification", "regression")
#: The largest network the Playground builds: 6 hidden layers of 8 neurons.
MAX_LAYERS, MAX_NEURONS = 6, 8
#: Heat maps cover the square [-DOMAIN, DOMAIN]².
DOMAIN = 6.0


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------

def _bad(name: str, expected: str, got) -> ValueError:
    return ValueError(f"Settings: {name} must be {expected}; got {got!r}")


def _number(value, name: str, low: float, high: float, what: str, integer: bool = False):
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, (int, np.integer) if integer else (int, float, np.number))
    if isinstance(value, bool) or not ok_type:
        raise TypeError(f"Settings: {name} must be {kind} from {low:g} to {high:g} ({what}); "
                        f"got {type(value).__name__} {value!r}")
    if not (low <= value <= high):     # also rejects NaN
        raise _bad(name, f"{kind} from {low:g} to {high:g} ({what})", value)
    return int(value) if integer else float(value)


@dataclass(frozen=True)
class Settings:
    """Every control of the Playground, with its defaults; checked when created.

    problem: "classification" (labels ±1, tanh output) or "regression" (targets in [-1, 1],
        linear output).
    dataset: "circle", "xor", "gauss" or "spiral" for classification; "reg-plane" or
        "reg-gauss" for regression (``nnutils.data.DATASETS``).
    train_percent: 10 to 90, the percentage of points used for training (the rest test).
    noise: 0 to 50, the Playground's noise slider (percent).
    batch_size: 1 to 30 points per weight update.
    features: the input features, a tuple of names of ``nnutils.data.FEATURES`` ("x1", "x2",
        "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)"), kept in that canonical order.
    hidden_layers: neurons per hidden layer, 0 to 6 layers of 1 to 8 neurons, e.g. (4, 2).
    learning_rate: 0.00001 to 10 (the menu offers ``LEARNING_RATES``).
    activation: of the hidden neurons, "relu", "tanh", "sigmoid" or "linear".
    regularization: "none", "L1" or "L2" (lower case is accepted).
    regularization_rate: 0 to 10 (the menu offers ``REGULARIZATION_RATES``).
    seed: an integer >= 0 seeding the data and the weights.
    Bad values raise ValueError (TypeError for a wrong type) naming the setting, the allowed
    values and what was given. Settings are immutable: use ``dataclasses.replace`` or
    ``Playground.update`` to change them.
    """

    problem: str = "classification"
    dataset: str = "circle"
    train_percent: int = 50
    noise: float = 0
    batch_size: int = 10
    features: tuple = ("x1", "x2")
    hidden_layers: tuple = (4, 2)
    learning_rate: float = 0.03
    activation: str = "tanh"
    regularization: str = "none"
    regularization_rate: float = 0.0
    seed: int = 0

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        if self.problem not in PROBLEMS:
            raise _bad("problem", f"one of {PROBLEMS}", self.problem)
        offered = CLASSIFICATION_SETS if self.problem == "classification" else REGRESSION_SETS
        if self.dataset not in offered:
            hint = (f" (a {'regression' if self.dataset in REGRESSION_SETS else 'classification'}"
                    f" data set: change problem too)" if self.dataset in DATASETS else "")
            raise _bad("dataset", f"one of {offered} for {self.problem}{hint}", self.dataset)
        put("train_percent", _number(self.train_percent, "train_percent", 10, 90,
                                     "percent of the points used for training", integer=True))
        put("noise", _number(self.noise, "noise", 0, 50, "the noise slider, in percent"))
        put("batch_size", _number(self.batch_size, "batch_size", 1, 30,
                                  "points per weight update", integer=True))
        features = (self.features,) if isinstance(self.features, str) else self.features
        try:
            features = tuple(features)
        except TypeError:
            raise _bad("features", f"a tuple of names from {tuple(FEATURES)}",
                       self.features) from None
        unknown = [f for f in features if f not in FEATURES]
        if unknown:
            raise _bad("features", f"names from {tuple(FEATURES)}", unknown)
        if len(set(features)) != len(features):
            raise _bad("features", "distinct names", features)
        put("features", tuple(f for f in FEATURES if f in features))
        try:
            layers = tuple(self.hidden_layers)
        except TypeError:
            raise _bad("hidden_layers", "a tuple of neuron counts such as (4, 2)",
                       self.hidden_layers) from None
        if len(layers) > MAX_LAYERS:
            raise _bad("hidden_layers", f"at most {MAX_LAYERS} layers", layers)
        put("hidden_layers", tuple(_number(n, f"hidden_layers[{i}]", 1, MAX_NEURONS,
                                           "neurons in that layer", integer=True)
                                   for i, n in enumerate(layers)))
        put("learning_rate", _number(self.learning_rate, "learning_rate", 1e-5, 10,
                                     "the step size of gradient descent"))
        if self.activation not in ACTIVATION_NAMES:
            raise _bad("activation", f"one of {ACTIVATION_NAMES}", self.activation)
        reg = self.regularization.upper() if isinstance(self.regularization, str) else None
        reg = "none" if reg == "NONE" else reg
        if reg not in REGULARIZATIONS:
            raise _bad("regularization", f"one of {REGULARIZATIONS}", self.regularization)
        put("regularization", reg)
        put("regularization_rate", _number(self.regularization_rate, "regularization_rate",
                                           0, 10, "the weight of the penalty"))
        put("seed", _number(self.seed, "seed", 0, 2**63 - 1, "the random seed", integer=True))


#: Which settings draw new data (and rebuild the network), which only rebuild the network.
_NEW_DATA = {"problem", "dataset", "train_percent", "noise", "seed"}
_NEW_NETWORK = {"features", "hidden_layers", "activation", "regularization",
                "regularization_rate", "batch_size"}


# --------------------------------------------------------------------------------------------
# The update rule
# --------------------------------------------------------------------------------------------

def regularized_update(w, dw, lr, regularization="none", rate=0.0, dead=None):
    """One Playground weight update: a gradient step, then a regularization step.

    w: (D, M) weights; dw: (D, M) the mean gradient of the data loss; lr: learning rate;
    regularization: "none", "L1" or "L2"; rate: the regularization rate;
    dead: (D, M) bool, weights that L1 has already set to 0 (they never change again), or None.
    Computes w' = w − lr·dw, then w'' = w' − lr·rate·R'(w) with R'(w) = w (L2) or sign(w) (L1),
    R' taken at the weight before the step. With L1, an entry where w' and w'' have opposite
    signs (the regularization step crossed zero) becomes exactly 0 and dead.
    Returns (new weights (D, M), new dead mask (D, M) bool). Inputs are not modified.
    """
    w = np.asarray(w, dtype=np.float64)
    dw = np.asarray(dw, dtype=np.float64)
    if dw.shape != w.shape:
        raise ValueError(f"regularized_update: dw must have the shape of w {w.shape}; got "
                         f"{dw.shape}")
    dead = np.zeros(w.shape, bool) if dead is None else np.asarray(dead, dtype=bool)
    if dead.shape != w.shape:
        raise ValueError(f"regularized_update: dead must have the shape of w {w.shape}; got "
                         f"{dead.shape}")
    if regularization not in REGULARIZATIONS:
        raise ValueError(f"regularized_update: regularization must be one of "
                         f"{REGULARIZATIONS}; got {regularization!r}")
    return _update_rule(w, dw, float(lr), regularization, float(rate), dead)


def _update_rule(w, dw, lr, regularization, rate, dead):
    """``regularized_update`` without the checks, for the training loop."""
    stepped = w - lr * dw
    crossed = None
    if regularization == "L2" and rate:
        new = stepped - (lr * rate) * w
    elif regularization == "L1" and rate:
        new = stepped - (lr * rate) * np.sign(w)
        crossed = stepped * new < 0
        new[crossed] = 0.0
    else:
        new = stepped
    if dead.any():                  # dead weights are skipped: they stay exactly as they were
        new[dead] = w[dead]
    if crossed is not None and crossed.any():
        dead = dead | crossed
    return new, dead


# --------------------------------------------------------------------------------------------
# The grid of the heat maps
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _grid(resolution: int) -> np.ndarray:
    ticks = np.linspace(-DOMAIN, DOMAIN, resolution)
    x1, x2 = np.meshgrid(ticks, ticks[::-1])
    points = np.stack([x1.ravel(), x2.ravel()], axis=1)
    points.flags.writeable = False
    return points


def grid_points(resolution=100):
    """The points at which the heat maps are computed, in image order.

    resolution: R >= 2, the number of samples along each axis (the original uses 100).
    Returns (R·R, 2) float64, read-only: row r·R + c of the result is the pixel in image row r
    and column c, at x1 = -6 + 12·c/(R − 1) (left to right) and x2 = 6 − 12·r/(R − 1) (top to
    bottom), so ``values.reshape(R, R)`` is an image with x2 pointing up.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer) \
            or not 2 <= resolution <= 1000:
        raise ValueError(f"grid_points: resolution must be an integer from 2 to 1000 (samples "
                         f"along each axis); got {resolution!r}")
    return _grid(int(resolution))


def _relu_grad(d, h):
    return d * (h > 0)


# name -> (activation of z, gradient through it given the upstream d and the activation h);
# the same functions as nnutils.layers, written on h alone (ReLU: h > 0 exactly where z > 0).
_RAW = {
    "tanh": (np.tanh, lambda d, h: d * (1.0 - h * h)),
    "relu": (lambda z: np.maximum(z, 0.0), _relu_grad),
    "sigmoid": (sigmoid, lambda d, h: d * h * (1.0 - h)),
    "linear": (lambda z: z, lambda d, h: d),
}


@contextlib.contextmanager
def _quietly():
    """The context of the engine's computations: NumPy's BLAS on one thread (these products
    are too small to gain from two, and the threads' meetings cost milliseconds: 4 ms instead
    of 0.1 ms for a (10000, 8)·(8, 8) product here), and no warnings from a diverging network
    (too large a learning rate): its losses become inf or NaN, as in the original."""
    with one_blas_thread(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        yield


def _features(X: np.ndarray, names: tuple) -> np.ndarray:
    if not names:
        return np.empty((X.shape[0], 0))
    return feature_map(X, names)


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------

class Playground:
    """The Playground's network, data and training loop (see the module docstring).

    Playground(settings=None, **changes): ``settings`` a ``Settings`` (default: the
    Playground's defaults), ``changes`` any of its fields to override, e.g.
    ``Playground(dataset="xor", hidden_layers=())``.

    State: ``settings``; ``epoch`` (epochs trained since the last reset); ``train_loss`` and
    ``test_loss`` (mean 0.5·(out − y)² over each set); ``history``, a list of
    (train_loss, test_loss), one per epoch, starting with the untrained network's;
    ``X_train`` (N, 2), ``y_train`` (N,), ``X_test``, ``y_test``; ``weights``, a list of
    (fan_in, fan_out) arrays, one per layer, the last with fan_out 1; ``biases`` (fan_out,)
    arrays; ``dead``, bool masks of the weights L1 has set to zero for good.
    Methods: ``step``, ``reset``, ``regenerate``, ``update``, ``predict``, ``heatmap``,
    ``neuron_heatmaps``, ``feature_heatmaps``, ``batch_gradients``, ``penalty``.
    """

    def __init__(self, settings=None, **changes):
        if settings is None:
            settings = Settings(**changes)
        elif not isinstance(settings, Settings):
            raise TypeError(f"Playground: settings must be a Settings (or None for the "
                            f"defaults); got {type(settings).__name__}")
        elif changes:
            settings = replace(settings, **changes)
        self._settings = settings
        self._seed_rngs(settings.seed)
        self._grid_cache = {}
        self._new_data()
        self.reset()

    # ---- settings ---------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    def update(self, **changes) -> str:
        """Change settings as the Playground's controls do.

        changes: fields of ``Settings`` and their new values (checked as in ``Settings``).
        Returns what happened: "new data" (new points and a new network: problem, dataset,
        train_percent, noise, seed), "reset" (a new network on the same points: features,
        hidden_layers, activation, regularization, regularization_rate, batch_size), "kept"
        (training goes on: learning_rate, or nothing changed).
        """
        names = {f.name for f in fields(Settings)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"Playground.update: unknown setting(s) {unknown}; the settings "
                             f"are {sorted(names)}")
        new = replace(self._settings, **changes)
        changed = {f.name for f in fields(Settings)
                   if getattr(new, f.name) != getattr(self._settings, f.name)}
        self._settings = new
        if changed & _NEW_DATA:
            if "seed" in changed:
                self._seed_rngs(new.seed)
            self._new_data()
            self.reset()
            return "new data"
        if changed & _NEW_NETWORK:
            if "features" in changed:
                self._compute_features()
            self.reset()
            return "reset"
        return "kept"

    # ---- data -------------------------------------------------------------------------------

    def _seed_rngs(self, seed: int) -> None:
        data_seq, weight_seq = np.random.SeedSequence(seed).spawn(2)
        self._data_rng = np.random.default_rng(data_seq)
        self._weight_rng = np.random.default_rng(weight_seq)

    def _new_data(self) -> None:
        s = self._settings
        n = NUM_SAMPLES_CLASSIFY if s.problem == "classification" else NUM_SAMPLES_REGRESS
        X, y = DATASETS[s.dataset](n, s.noise, self._data_rng)
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            X, y, s.train_percent / 100, self._data_rng)
        self._compute_features()

    def _compute_features(self) -> None:
        names = self._settings.features
        self._F_train = _features(self.X_train, names)
        self._F_test = _features(self.X_test, names)
        self._grid_cache.clear()

    def regenerate(self) -> None:
        """Draw new points with the current settings and keep the network, its epoch count and
        its history (the original's "regenerate" button); the losses are recomputed on the
        new points."""
        self._new_data()
        self._update_losses()

    # ---- the network ------------------------------------------------------------------------

    def reset(self) -> None:
        """A new network with fresh random weights: uniform(-0.5, 0.5) weights, biases 0.1;
        epoch 0, a history holding only the untrained network's losses."""
        s = self._settings
        sizes = [len(s.features), *s.hidden_layers, 1]
        self.weights = [self._weight_rng.uniform(-0.5, 0.5, (a, b))
                        for a, b in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.full(b, 0.1) for b in sizes[1:]]
        self.dead = [np.zeros(w.shape, bool) for w in self.weights]
        self._names = [self._activation(k) for k in range(len(self.weights))]
        self._pairs = [ACTIVATIONS[name] for name in self._names]
        self._carry = None            # gradients of a partial batch waiting for the next epoch
        self.epoch = 0
        self.history = []
        self._update_losses()
        self.history.append((self.train_loss, self.test_loss))

    def _activation(self, layer: int) -> str:
        if layer < len(self.weights) - 1:
            return self._settings.activation
        return "tanh" if self._settings.problem == "classification" else "linear"

    def _forward(self, F: np.ndarray, keep: bool = False):
        """Output (N,) of the network on features F (N, D); with ``keep`` also the caches and
        every layer's activations. Computes in F's dtype (float32 for the heat maps)."""
        h, caches, outputs = F, [], []
        for w, b, (activation, _) in zip(self.weights, self.biases, self._pairs):
            if F.dtype != w.dtype:
                w, b = w.astype(F.dtype), b.astype(F.dtype)
            z, affine_cache = affine_forward(h, w, b)
            h, act_cache = activation(z)
            if keep:
                caches.append((affine_cache, act_cache))
                outputs.append(h)
        return h[:, 0], caches, outputs

    def _features_of(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"Playground: X must have shape (N, 2), one point (x1, x2) per "
                             f"row; got {X.shape}")
        return _features(X, self._settings.features)

    def predict(self, X) -> np.ndarray:
        """The network's output for points X (N, 2): (N,) float64, in (-1, 1) for
        classification (the sign is the class), any real number for regression."""
        F = self._features_of(X)
        with _quietly():
            return self._forward(F)[0]

    def _mean_gradients(self, F: np.ndarray, y: np.ndarray):
        """The training step's loss and gradients, computed with bare NumPy operations.

        The same mathematics as ``_mean_gradients_layers`` (the course's layer functions, which
        the tests compare it with), without their input checks and caches: with batch size 1
        an epoch is hundreds of tiny steps, and those checks were most of their time."""
        hs = [F]
        for w, b, name in zip(self.weights, self.biases, self._names):
            z = hs[-1] @ w
            z += b
            hs.append(_RAW[name][0](z))
        diff = hs[-1][:, 0] - y
        n = y.shape[0]
        loss = 0.5 * float(np.vdot(diff, diff)) / n
        d = (diff / n)[:, None]
        dW, db = [None] * len(self.weights), [None] * len(self.weights)
        for layer in range(len(self.weights) - 1, -1, -1):
            dz = _RAW[self._names[layer]][1](d, hs[layer + 1])
            dW[layer], db[layer] = hs[layer].T @ dz, dz.sum(axis=0)
            if layer:
                d = dz @ self.weights[layer].T
        return loss, dW, db

    def _mean_gradients_layers(self, F: np.ndarray, y: np.ndarray):
        """``_mean_gradients`` through the course's layer functions (the reference)."""
        out, caches, _ = self._forward(F, keep=True)
        loss, dout = squared_loss(out, y)
        d = dout[:, None]
        dW, db = [None] * len(caches), [None] * len(caches)
        for layer in range(len(caches) - 1, -1, -1):
            affine_cache, act_cache = caches[layer]
            dz = self._pairs[layer][1](d, act_cache)
            d, dW[layer], db[layer] = affine_backward(dz, affine_cache)
        return loss, dW, db

    def batch_gradients(self, X, y):
        """Mean data loss of a batch and its gradients with respect to every weight and bias.

        X: (B, 2) points; y: (B,) labels (±1) or targets.
        loss = 0.5·Σ_n (out_n − y_n)² / B, without the regularization penalty.
        Returns (loss, dW, db): lists with one (fan_in, fan_out) and one (fan_out,) array per
        layer, the shapes of ``weights`` and ``biases``.
        """
        F = self._features_of(X)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (F.shape[0],):
            raise ValueError(f"Playground.batch_gradients: y must have shape ({F.shape[0]},), "
                             f"one label per point; got {y.shape}")
        with _quietly():
            return self._mean_gradients(F, y)

    def penalty(self):
        """The regularization penalty Σ R(w) over every weight, and its gradient.

        R(w) = |w| for L1 (gradient sign(w)), w²/2 for L2 (gradient w), 0 for "none"; biases
        are not penalized. Training minimizes mean data loss + regularization_rate·penalty.
        Returns (penalty, dW) with dW a list shaped like ``weights``.
        """
        reg = self._settings.regularization
        if reg == "L1":
            return (float(sum(np.abs(w).sum() for w in self.weights)),
                    [np.sign(w) for w in self.weights])
        if reg == "L2":
            return (float(sum(0.5 * np.vdot(w, w) for w in self.weights)),
                    [w.copy() for w in self.weights])
        return 0.0, [np.zeros_like(w) for w in self.weights]

    def _apply(self, dW, db) -> None:
        """One update of every weight and bias (``regularized_update``), in place. Without L1
        no weight is ever dead, and the step is w ← w − lr·dw − lr·rate·w (L2) or w − lr·dw."""
        s = self._settings
        lr, rate = s.learning_rate, s.regularization_rate
        for k, (w, g) in enumerate(zip(self.weights, dW)):
            if s.regularization == "L1":
                self.weights[k], self.dead[k] = _update_rule(w, g, lr, "L1", rate, self.dead[k])
            else:
                step = lr * g
                if s.regularization == "L2" and rate:
                    step += (lr * rate) * w
                w -= step
            self.biases[k] -= lr * db[k]

    # ---- training ---------------------------------------------------------------------------

    def _train_epoch(self) -> None:
        F, y, bs = self._F_train, self.y_train, self._settings.batch_size
        n = y.shape[0]
        full = n - n % bs
        for start in range(0, full, bs):
            _, dW, db = self._mean_gradients(F[start:start + bs], y[start:start + bs])
            if self._carry is not None:          # leftover points of the last epoch join in
                cW, cb, count = self._carry
                total = count + bs
                dW = [(c + bs * g) / total for c, g in zip(cW, dW)]
                db = [(c + bs * g) / total for c, g in zip(cb, db)]
                self._carry = None
            self._apply(dW, db)
        if full < n:                              # keep the sums of the leftover gradients
            m = n - full
            _, dW, db = self._mean_gradients(F[full:], y[full:])
            sums_W, sums_b = [m * g for g in dW], [m * g for g in db]
            if self._carry is not None:
                cW, cb, count = self._carry
                sums_W = [a + c for a, c in zip(sums_W, cW)]
                sums_b = [a + c for a, c in zip(sums_b, cb)]
                m += count
            self._carry = (sums_W, sums_b, m)

    def _update_losses(self) -> None:
        with _quietly():
            self.train_loss = squared_loss(self._forward(self._F_train)[0], self.y_train)[0]
            self.test_loss = squared_loss(self._forward(self._F_test)[0], self.y_test)[0]

    def step(self, epochs=1) -> float:
        """Train for ``epochs`` epochs (passes over the training points, in mini-batches).

        After each epoch the train and test losses are computed and appended to ``history``.
        Returns the training loss after the last epoch.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 0:
            raise ValueError(f"Playground.step: epochs must be an integer >= 0; got {epochs!r}")
        with _quietly():
            for _ in range(int(epochs)):
                self._train_epoch()
                self.epoch += 1
                self._update_losses()
                self.history.append((self.train_loss, self.test_loss))
        return self.train_loss

    # ---- heat maps --------------------------------------------------------------------------

    def _grid_features(self, resolution: int) -> np.ndarray:
        key = (resolution, self._settings.features)
        if key not in self._grid_cache:      # float32: a heat map needs no more, and it is
            self._grid_cache[key] = _features(  # several times faster (tanh above all)
                grid_points(resolution), self._settings.features).astype(np.float32)
        return self._grid_cache[key]

    def heatmap(self, resolution=100) -> np.ndarray:
        """The network's output over [-6, 6]²: (R, R) float32, row 0 at x2 = 6, column 0 at
        x1 = -6 (see ``grid_points``). R = ``resolution``. Heat maps are computed in float32,
        which is plenty for a picture and several times faster than float64."""
        grid_points(resolution)                  # checks the resolution
        F = self._grid_features(resolution)
        with _quietly():
            return self._forward(F)[0].reshape(resolution, resolution)

    def neuron_heatmaps(self, resolution=20) -> list:
        """What every hidden neuron computes over [-6, 6]²: a list with one array
        (neurons, R, R) float32 per hidden layer (empty without hidden layers), in the image
        layout of ``heatmap``; the original's node thumbnails."""
        grid_points(resolution)                  # checks the resolution
        F = self._grid_features(resolution)
        with _quietly():
            _, _, outputs = self._forward(F, keep=True)
        return [h.T.reshape(h.shape[1], resolution, resolution) for h in outputs[:-1]]

    def feature_heatmaps(self, resolution=20) -> dict:
        """Every input feature of ``FEATURES`` over [-6, 6]², active or not: a dict name ->
        (R, R) array in the image layout of ``heatmap``."""
        points = grid_points(resolution)
        maps = feature_map(points, list(FEATURES))
        return {name: maps[:, j].reshape(resolution, resolution)
                for j, name in enumerate(FEATURES)}


# --------------------------------------------------------------------------------------------
# Presets: the lecture's points, one click each
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preset:
    """A setting of the Playground that shows one lesson.

    settings: the ``Settings`` to load; epochs: how long to train for the lesson to show;
    lesson: one or two sentences saying what to look at.
    """

    settings: Settings
    epochs: int
    lesson: str


PRESETS = {
    "XOR: no hidden layer fails": Preset(
        Settings(dataset="xor", features=("x1", "x2"), hidden_layers=(), learning_rate=0.03),
        100,
        "Without hidden layers the network is tanh(w1·x1 + w2·x2 + b): its boundary is a "
        "straight line, and no line separates XOR. The test loss stays near its starting "
        "value however long it trains."),
    "XOR: the x1·x2 feature alone solves it": Preset(
        Settings(dataset="xor", features=("x1x2",), hidden_layers=(), learning_rate=0.03),
        100,
        "The sign of x1·x2 IS the XOR label, so a single output neuron on that one feature "
        "gets it right: a good feature can replace a hidden layer."),
    "XOR: one hidden layer solves it": Preset(
        Settings(dataset="xor", features=("x1", "x2"), hidden_layers=(4,), learning_rate=0.1),
        100,
        "Four tanh neurons each draw a line; the output neuron combines them into the four "
        "quadrants. The network learns the feature it was not given."),
    "spiral: a shallow net struggles": Preset(
        Settings(dataset="spiral", features=("x1", "x2"), hidden_layers=(3,),
                 learning_rate=0.03),
        200,
        "Three neurons can draw only three lines; the two arms of the spiral need many more "
        "pieces, so the loss stays high."),
    "spiral: depth (and sin features) helps": Preset(
        Settings(dataset="spiral",
                 features=("x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)"),
                 hidden_layers=(8, 8, 6), learning_rate=0.03),
        200,
        "With richer inputs and three layers, each layer builds on the curves of the one "
        "before, and the boundary winds along the arms."),
    "circle: x1² and x2² make it linear": Preset(
        Settings(dataset="circle", features=("x1^2", "x2^2"), hidden_layers=(),
                 learning_rate=0.03),
        100,
        "The circle x1² + x2² = r² is a straight line in the features (x1², x2²): one output "
        "neuron, no hidden layer, separates the classes."),
    "regularization: L2 simplifies the boundary": Preset(
        Settings(dataset="gauss", noise=50, train_percent=20,
                 features=("x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)"),
                 hidden_layers=(8, 8), learning_rate=0.03, regularization="L2",
                 regularization_rate=0.03),
        300,
        "Few noisy points and a big network invite overfitting: islands around single "
        "points. The L2 penalty keeps the weights small, and the boundary smooth and nearly "
        "straight; compare with regularization 'none'."),
}


def run_preset(name, epochs=None, **changes) -> Playground:
    """Train a fresh Playground on one of ``PRESETS`` and return it, trained.

    name: a key of ``PRESETS``; epochs: how many epochs (default: the preset's own);
    changes: settings to change first, e.g. ``run_preset(name, regularization="none")`` for
    the comparison a preset invites, or ``seed=1`` for another draw of data and weights.
    """
    if name not in PRESETS:
        raise ValueError(f"run_preset: unknown preset {name!r}; choose one of {list(PRESETS)}")
    preset = PRESETS[name]
    engine = Playground(replace(preset.settings, **changes))
    engine.step(preset.epochs if epochs is None else epochs)
    return engine
