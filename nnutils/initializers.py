"""Weight initialization (lecture 4): the (fan_in, fan_out) weight matrix of a layer.

If every weight starts equal (zeros, or any constant), every hidden unit of a layer computes the
same function and receives the same gradient, so they stay equal forever: the symmetry is never
broken. Random weights break it, and their scale decides whether signals and gradients keep
their size from layer to layer:

    small_random     N(0, scale²), scale = 0.01: fine for shallow nets, vanishes in deep ones
    xavier_uniform   U[−b, b], b = √6 / √(fan_in + fan_out): variance b²/3 = 2 / (fan_in + fan_out)
                     (Glorot and Bengio, 2010; for tanh and sigmoid units)
    he_normal        N(0, 2 / fan_in) (He et al., 2015; for ReLU units, which zero half the input)

Random numbers come from the ``numpy.random.Generator`` passed as ``rng``. Every function returns
a float64 array of shape (fan_in, fan_out), to be used as ``w`` of ``affine_forward(x, w, b)``.
"""

import math

import numpy as np

from ._checks import check_scalar

__all__ = ["INITIALIZERS", "constant", "he_normal", "small_random", "xavier_uniform", "zeros"]


def _fans(fan_in, fan_out, func):
    return (check_scalar(fan_in, "fan_in", func, low=1, integer=True),
            check_scalar(fan_out, "fan_out", func, low=1, integer=True))


def _check_rng(rng, func):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator, e.g. "
                        f"numpy.random.default_rng(0); got {type(rng).__name__}")
    return rng


def xavier_uniform(fan_in, fan_out, rng):
    """Glorot/Xavier uniform: (fan_in, fan_out) weights from U[−b, b], b = √6 / √(fan_in + fan_out).

    fan_in, fan_out: integers >= 1; rng: a numpy Generator.
    """
    func = "xavier_uniform"
    fan_in, fan_out = _fans(fan_in, fan_out, func)
    rng = _check_rng(rng, func)
    bound = math.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def he_normal(fan_in, fan_out, rng):
    """He normal: (fan_in, fan_out) weights from N(0, σ²) with σ = √(2 / fan_in).

    fan_in, fan_out: integers >= 1; rng: a numpy Generator.
    """
    func = "he_normal"
    fan_in, fan_out = _fans(fan_in, fan_out, func)
    rng = _check_rng(rng, func)
    return rng.normal(0.0, math.sqrt(2 / fan_in), size=(fan_in, fan_out))


def small_random(fan_in, fan_out, rng, scale=0.01):
    """Small Gaussian weights: (fan_in, fan_out) from N(0, scale²), whatever the fans.

    fan_in, fan_out: integers >= 1; rng: a numpy Generator; scale >= 0: the standard deviation.
    """
    func = "small_random"
    fan_in, fan_out = _fans(fan_in, fan_out, func)
    rng = _check_rng(rng, func)
    scale = check_scalar(scale, "scale", func, low=0)
    return scale * rng.standard_normal((fan_in, fan_out))


def constant(fan_in, fan_out, value=0.0):
    """Every weight equal to ``value``: (fan_in, fan_out). Shows that symmetry is not broken.

    fan_in, fan_out: integers >= 1; value: a number. No random numbers are involved.
    """
    func = "constant"
    fan_in, fan_out = _fans(fan_in, fan_out, func)
    value = check_scalar(value, "value", func)
    return np.full((fan_in, fan_out), float(value))


def zeros(fan_in, fan_out, rng=None):
    """All-zero (fan_in, fan_out) weights; ``rng`` is accepted, and ignored, so that every entry
    of ``INITIALIZERS`` can be called as ``init(fan_in, fan_out, rng)``."""
    fan_in, fan_out = _fans(fan_in, fan_out, "zeros")
    return np.zeros((fan_in, fan_out))


# name -> function (fan_in, fan_out, rng) -> (fan_in, fan_out) weights
INITIALIZERS = {
    "xavier_uniform": xavier_uniform,
    "he_normal": he_normal,
    "small_random": small_random,
    "zeros": zeros,
}
