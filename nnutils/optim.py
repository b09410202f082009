"""Gradient-descent update rules (lecture 4), one step at a time, and an ``Optimizer`` for loops.

Each ``*_step`` function takes a parameter array w, its gradient dw and the rule's state, and
returns the new w and the new state as new arrays; nothing passed in is modified.

    sgd        w ← w − lr·dw
    momentum   v ← β·v − lr·dw;                      w ← w + v
    nesterov   v' ← β·v − lr·dw;                     w ← w − β·v + (1 + β)·v'
    adagrad    c ← c + dw²;                          w ← w − lr·dw / (√c + ε)
    rmsprop    c ← ρ·c + (1 − ρ)·dw²;                w ← w − lr·dw / (√c + ε)
    adam       m ← β1·m + (1 − β1)·dw;  v ← β2·v + (1 − β2)·dw²;
               m̂ = m / (1 − β1ᵗ);  v̂ = v / (1 − β2ᵗ);  w ← w − lr·m̂ / (√v̂ + ε)   (t = 1, 2, ...)

The state starts at zeros (and t at 1). Nesterov's rule is written for the "look-ahead"
parameters, so dw is the gradient at the current w, like every other rule here.

``Optimizer(name, lr, **hyper)`` keeps the state of every parameter of a model (a dict of
arrays) and applies one of these rules to all of them at each ``step``.
"""

import math

import numpy as np

from ._checks import as_float_array, check_scalar

__all__ = ["OPTIMIZERS", "Optimizer", "adagrad_step", "adam_step", "momentum_step",
           "nesterov_step", "rmsprop_step", "sgd_step"]


# ---- the update rules, without input checks (the public functions and Optimizer check) -----

def _sgd(w, dw, lr):
    return w - lr * dw


def _momentum(w, dw, v, lr, beta):
    v = beta * v - lr * dw
    return w + v, v


def _nesterov(w, dw, v, lr, beta):
    v_new = beta * v - lr * dw
    return w - beta * v + (1 + beta) * v_new, v_new


def _adagrad(w, dw, cache, lr, eps):
    cache = cache + dw * dw
    denom = np.sqrt(cache)
    denom += eps
    return w - lr * dw / denom, cache


def _rmsprop(w, dw, cache, lr, decay, eps):
    cache = decay * cache + (1 - decay) * (dw * dw)
    denom = np.sqrt(cache)
    denom += eps
    return w - lr * dw / denom, cache


def _adam(w, dw, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * (dw * dw)
    # √v̂ + ε = √v / √(1 − β2ᵗ) + ε and lr·m̂ = (lr / (1 − β1ᵗ))·m: scalars folded, as torch does
    denom = np.sqrt(v)
    denom /= math.sqrt(1 - beta2 ** t)
    denom += eps
    step = (lr / (1 - beta1 ** t)) * m
    step /= denom
    return w - step, m, v


# ---- input checks ---------------------------------------------------------------------------

def _arrays(func: str, w, **others) -> list[np.ndarray]:
    """w and every other array, each required to have w's shape."""
    w = as_float_array(w, "w", func)
    out = [w]
    for name, arr in others.items():
        arr = as_float_array(arr, name, func)
        if arr.shape != w.shape:
            raise ValueError(f"{func}: {name} must have the shape of w {w.shape}; got "
                             f"{arr.shape}")
        out.append(arr)
    return out


def _lr(lr, func):
    return check_scalar(lr, "lr", func, low=0)


def _fraction(x, name, func):
    """A decay rate in [0, 1)."""
    return check_scalar(x, name, func, low=0, high=1, high_open=True)


def _eps(eps, func):
    return check_scalar(eps, "eps", func, low=0, low_open=True)


# ---- the graded step functions --------------------------------------------------------------

def sgd_step(w, dw, lr):
    """Plain gradient descent: returns w − lr·dw.

    w: parameters, any shape; dw: their gradient, w's shape; lr: learning rate >= 0.
    """
    func = "sgd_step"
    w, dw = _arrays(func, w, dw=dw)
    return _sgd(w, dw, _lr(lr, func))


def momentum_step(w, dw, v, lr, beta=0.9):
    """Momentum: v ← beta·v − lr·dw, then w ← w + v. Returns (w, v).

    w, dw, v: the same shape (v, the velocity, starts at zeros); lr >= 0; beta in [0, 1).
    """
    func = "momentum_step"
    w, dw, v = _arrays(func, w, dw=dw, v=v)
    return _momentum(w, dw, v, _lr(lr, func), _fraction(beta, "beta", func))


def nesterov_step(w, dw, v, lr, beta=0.9):
    """Nesterov momentum: v_new ← beta·v − lr·dw, w ← w − beta·v + (1 + beta)·v_new.

    w, dw, v: the same shape (v starts at zeros); lr >= 0; beta in [0, 1).
    Returns (w, v_new). Equivalent to evaluating the gradient at the look-ahead point
    w + beta·v, with w stored as that look-ahead point.
    """
    func = "nesterov_step"
    w, dw, v = _arrays(func, w, dw=dw, v=v)
    return _nesterov(w, dw, v, _lr(lr, func), _fraction(beta, "beta", func))


def adagrad_step(w, dw, cache, lr, eps=1e-8):
    """Adagrad: cache ← cache + dw², w ← w − lr·dw / (√cache + eps). Returns (w, cache).

    w, dw, cache: the same shape (cache starts at zeros); lr >= 0; eps > 0.
    """
    func = "adagrad_step"
    w, dw, cache = _arrays(func, w, dw=dw, cache=cache)
    return _adagrad(w, dw, cache, _lr(lr, func), _eps(eps, func))


def rmsprop_step(w, dw, cache, lr, decay=0.9, eps=1e-8):
    """RMSProp: cache ← decay·cache + (1 − decay)·dw², w ← w − lr·dw / (√cache + eps).

    w, dw, cache: the same shape (cache starts at zeros); lr >= 0; decay in [0, 1); eps > 0.
    Returns (w, cache).
    """
    func = "rmsprop_step"
    w, dw, cache = _arrays(func, w, dw=dw, cache=cache)
    return _rmsprop(w, dw, cache, _lr(lr, func), _fraction(decay, "decay", func),
                    _eps(eps, func))


def adam_step(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam: first and second moment estimates with bias correction. Returns (w, m, v).

    w, dw, m, v: the same shape (m and v start at zeros); t: the step number, counting from 1;
    lr >= 0; beta1, beta2 in [0, 1); eps > 0.
        m ← beta1·m + (1 − beta1)·dw,   v ← beta2·v + (1 − beta2)·dw²
        m̂ = m / (1 − beta1ᵗ),   v̂ = v / (1 − beta2ᵗ),   w ← w − lr·m̂ / (√v̂ + eps)
    The returned m and v are the uncorrected moments, to pass to the next step with t + 1.
    """
    func = "adam_step"
    w, dw, m, v = _arrays(func, w, dw=dw, m=m, v=v)
    t = check_scalar(t, "t", func, low=1, integer=True)
    return _adam(w, dw, m, v, t, _lr(lr, func), _fraction(beta1, "beta1", func),
                 _fraction(beta2, "beta2", func), _eps(eps, func))


# ---- Optimizer: the same rules applied to every parameter of a model -----------------------

# name -> default hyperparameters (the contract's defaults)
OPTIMIZERS = {
    "sgd": {},
    "momentum": {"beta": 0.9},
    "nesterov": {"beta": 0.9},
    "adagrad": {"eps": 1e-8},
    "rmsprop": {"decay": 0.9, "eps": 1e-8},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


class Optimizer:
    """One update rule applied to every parameter of a model, with per-parameter state.

    name: one of "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam".
    lr: learning rate >= 0; it is an attribute, so a schedule can change it between epochs.
    hyper: the rule's hyperparameters by keyword (beta; eps; decay, eps; beta1, beta2, eps),
           defaulting to the values of the ``*_step`` functions.

    ``step(params, grads)`` replaces every ``params[k]`` by its updated array (the old arrays
    are not written into) and keeps each parameter's velocity, cache, moments and step count
    under its key. ``reset()`` forgets that state.
    """

    def __init__(self, name: str, lr: float, **hyper):
        if name not in OPTIMIZERS:
            raise ValueError(f"Optimizer: unknown optimizer {name!r}; choose one of "
                             f"{', '.join(repr(k) for k in OPTIMIZERS)}")
        unknown = [k for k in hyper if k not in OPTIMIZERS[name]]
        if unknown:
            allowed = ", ".join(OPTIMIZERS[name]) or "none"
            raise TypeError(f"Optimizer: {name!r} takes no hyperparameter "
                            f"{', '.join(unknown)}; its hyperparameters are: {allowed}")
        self.name = name
        self.hyper = {**OPTIMIZERS[name], **hyper}
        for key, value in self.hyper.items():
            if key == "eps":
                self.hyper[key] = _eps(value, "Optimizer")
            else:
                self.hyper[key] = _fraction(value, key, "Optimizer")
        self.lr = lr
        self.state: dict = {}

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = float(_lr(value, "Optimizer"))

    def reset(self) -> None:
        """Forget every parameter's state (velocities, caches, moments, step counts)."""
        self.state = {}

    def step(self, params: dict, grads: dict) -> None:
        """Update every params[k] with grads[k] (arrays of the same shape), in place in the dict.

        params: dict name -> array; grads: dict with exactly the same keys.
        """
        func = "Optimizer.step"
        missing = [k for k in params if k not in grads]
        extra = [k for k in grads if k not in params]
        if missing or extra:
            raise ValueError(f"{func}: grads must have the keys of params; "
                             + (f"missing {', '.join(map(str, missing))}" if missing else "")
                             + ("; " if missing and extra else "")
                             + (f"not in params: {', '.join(map(str, extra))}" if extra else ""))
        for key in params:
            w = params[key]
            dw = grads[key]
            if np.shape(w) != np.shape(dw):
                raise ValueError(f"{func}: grads[{key!r}] must have the shape of params[{key!r}]"
                                 f" {np.shape(w)}; got {np.shape(dw)}")
            params[key] = self._update(key, as_float_array(w, key, func),
                                       as_float_array(dw, f"grads[{key!r}]", func))

    def _update(self, key, w: np.ndarray, dw: np.ndarray) -> np.ndarray:
        lr, hp, name = self._lr, self.hyper, self.name
        if name == "sgd":
            return _sgd(w, dw, lr)
        s = self.state.get(key)
        if s is None:       # the state of a parameter starts at zeros, like the step functions'
            names = {"momentum": ("v",), "nesterov": ("v",), "adagrad": ("cache",),
                     "rmsprop": ("cache",), "adam": ("m", "v")}[name]
            s = self.state[key] = {"t": 0, **{n: np.zeros_like(w) for n in names}}
        s["t"] += 1
        if name == "momentum":
            w, s["v"] = _momentum(w, dw, s["v"], lr, hp["beta"])
        elif name == "nesterov":
            w, s["v"] = _nesterov(w, dw, s["v"], lr, hp["beta"])
        elif name == "adagrad":
            w, s["cache"] = _adagrad(w, dw, s["cache"], lr, hp["eps"])
        elif name == "rmsprop":
            w, s["cache"] = _rmsprop(w, dw, s["cache"], lr, hp["decay"], hp["eps"])
        else:
            w, s["m"], s["v"] = _adam(w, dw, s["m"], s["v"], s["t"], lr,
                                      hp["beta1"], hp["beta2"], hp["eps"])
        return w

    def __repr__(self):
        extra = "".join(f", {k}={v}" for k, v in self.hyper.items())
        return f"Optimizer({self.name!r}, lr={self._lr}{extra})"
