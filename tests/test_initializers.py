"""Tests of nnutils.initializers: shapes, scales (empirical variances), rng handling, symmetry."""

import numpy as np
import pytest

from nnutils.initializers import (
    INITIALIZERS,
    constant,
    he_normal,
    small_random,
    xavier_uniform,
    zeros,
)
from nnutils.networks import two_layer_net

# Fans chosen unequal, so 2/(fan_in + fan_out), 2/fan_in and 1/fan_in all differ by > 20%,
# while a 300×700 draw estimates a variance to about 0.2%.
FANS = [(300, 700), (700, 300)]


@pytest.mark.parametrize("fan_in,fan_out", FANS)
def test_xavier_uniform_has_variance_two_over_fan_in_plus_fan_out(fan_in, fan_out):
    w = xavier_uniform(fan_in, fan_out, np.random.default_rng(0))
    bound = np.sqrt(6 / (fan_in + fan_out))
    assert w.shape == (fan_in, fan_out)
    assert np.all(np.abs(w) <= bound)
    assert np.abs(w).max() > 0.999 * bound                      # uses the whole interval
    assert w.var() == pytest.approx(bound ** 2 / 3, rel=0.02)   # = 2 / (fan_in + fan_out)
    assert w.var() == pytest.approx(2 / (fan_in + fan_out), rel=0.02)
    assert abs(w.mean()) < 0.01 * bound


@pytest.mark.parametrize("fan_in,fan_out", FANS)
def test_he_normal_has_variance_two_over_fan_in(fan_in, fan_out):
    w = he_normal(fan_in, fan_out, np.random.default_rng(1))
    assert w.shape == (fan_in, fan_out)
    assert w.var() == pytest.approx(2 / fan_in, rel=0.02)
    assert abs(w.mean()) < 0.01 * np.sqrt(2 / fan_in)
    # normal, not uniform: about 4.6% of draws lie beyond 2 standard deviations
    beyond = np.mean(np.abs(w) > 2 * np.sqrt(2 / fan_in))
    assert beyond == pytest.approx(0.0455, abs=0.005)


def test_small_random_has_standard_deviation_scale():
    rng = np.random.default_rng(2)
    assert small_random(400, 500, rng).std() == pytest.approx(0.01, rel=0.02)
    assert small_random(400, 500, rng, scale=0.5).std() == pytest.approx(0.5, rel=0.02)


def test_constant_and_zeros_give_equal_weights():
    np.testing.assert_array_equal(constant(3, 4, 0.25), np.full((3, 4), 0.25))
    np.testing.assert_array_equal(constant(2, 2), np.zeros((2, 2)))
    np.testing.assert_array_equal(zeros(2, 5, np.random.default_rng(0)), np.zeros((2, 5)))


def test_initializers_are_reproducible_from_the_generator_seed():
    for name in ("xavier_uniform", "he_normal", "small_random"):
        init = INITIALIZERS[name]
        a = init(5, 4, np.random.default_rng(42))
        b = init(5, 4, np.random.default_rng(42))
        c = init(5, 4, np.random.default_rng(43))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_every_table_entry_is_called_as_init_fan_in_fan_out_rng():
    assert set(INITIALIZERS) == {"xavier_uniform", "he_normal", "small_random", "zeros"}
    for name, init in INITIALIZERS.items():
        w = init(3, 7, np.random.default_rng(0))
        assert w.shape == (3, 7) and w.dtype == np.float64, name


def test_equal_initial_weights_give_hidden_units_equal_gradients():
    # lecture 4: when every hidden unit starts with the same incoming weights (a constant W1)
    # and the same outgoing weights (equal rows of W2), all get the same gradient, so they stay
    # equal: the symmetry is never broken. Random weights break it.
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((6, 4)) + 1.0, rng.integers(0, 3, 6)
    params = {"W1": constant(4, 5, 0.3), "b1": np.zeros(5),
              "W2": np.tile([0.4, -0.2, 0.1], (5, 1)), "b2": np.zeros(3)}
    _, grads = two_layer_net(X, y, params)
    dW1, dW2 = grads["W1"], grads["W2"]
    assert np.abs(dW1).max() > 1e-3
    np.testing.assert_allclose(dW1, np.repeat(dW1[:, :1], 5, axis=1), rtol=1e-12)
    np.testing.assert_allclose(dW2, np.repeat(dW2[:1], 5, axis=0), rtol=1e-12)
    params["W1"] = xavier_uniform(4, 5, rng)
    params["W2"] = xavier_uniform(5, 3, rng)
    _, grads = two_layer_net(X, y, params)
    assert not np.allclose(grads["W1"], grads["W1"][:, :1])


def test_initializers_require_a_numpy_generator():
    for bad in (0, None, np.random.RandomState(0)):
        with pytest.raises(TypeError, match=r"xavier_uniform: rng must be a "
                                            r"numpy.random.Generator"):
            xavier_uniform(3, 4, bad)
        with pytest.raises(TypeError, match="he_normal: rng must be a numpy.random.Generator"):
            he_normal(3, 4, bad)
        with pytest.raises(TypeError, match="small_random: rng must be a"):
            small_random(3, 4, bad)


def test_initializers_reject_bad_fans_and_scales():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="xavier_uniform: fan_in must be >= 1; got 0"):
        xavier_uniform(0, 4, rng)
    with pytest.raises(TypeError, match="he_normal: fan_out must be an integer"):
        he_normal(3, 2.5, rng)
    with pytest.raises(ValueError, match="small_random: scale must be >= 0"):
        small_random(3, 4, rng, scale=-1.0)
    with pytest.raises(TypeError, match="constant: value must be a number"):
        constant(3, 4, "1")
