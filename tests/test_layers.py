"""Tests of nnutils.layers: the affine layer and the activations as forward/backward pairs."""

import warnings

import numpy as np
import pytest

from nnutils.gradcheck import check_gradients
from nnutils.layers import (
    ACTIVATIONS,
    activation_derivative,
    affine_backward,
    affine_forward,
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    sigmoid,
    sigmoid_backward,
    sigmoid_forward,
    sign_forward,
    tanh_backward,
    tanh_forward,
)

AFFINE_SHAPES = [(1, 3, 2), (4, 5, 3), (2, 1, 1), (7, 6, 10)]      # (N, D, M)
ACT_SHAPES = [(1, 1), (1, 5), (4, 3), (2, 3, 4), (6,)]
SMOOTH = {"sigmoid": (sigmoid_forward, sigmoid_backward), "tanh": (tanh_forward, tanh_backward),
          "linear": (linear_forward, linear_backward)}


def away_from_zero(rng, shape):
    """Random values with |x| >= 0.1, so no centred difference straddles ReLU's kink."""
    x = rng.standard_normal(shape)
    return np.sign(x) * (0.1 + np.abs(x))


# ---- affine --------------------------------------------------------------------------------

def test_affine_forward_computes_x_w_plus_b():
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    w = np.array([[1.0, 0.0, 2.0], [3.0, -1.0, 1.0]])
    b = np.array([0.5, 0.0, -1.0])
    out, _ = affine_forward(x, w, b)
    np.testing.assert_allclose(out, [[7.5, -2.0, 3.0], [-2.5, 1.0, -2.0]])


@pytest.mark.parametrize("n,d,m", AFFINE_SHAPES)
def test_affine_backward_matches_numerical_gradient(n, d, m):
    rng = np.random.default_rng(n * 100 + d * 10 + m)
    inputs = {"x": rng.standard_normal((n, d)), "w": rng.standard_normal((d, m)),
              "b": rng.standard_normal(m)}
    report = check_gradients(affine_forward, affine_backward, inputs, rng=rng)
    assert report.passed(1e-6), str(report)


def test_affine_flattens_each_sample_of_a_higher_dimensional_x():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 4))
    w, b = rng.standard_normal((8, 5)), rng.standard_normal(5)
    out, cache = affine_forward(x, w, b)
    flat_out, flat_cache = affine_forward(x.reshape(3, 8), w, b)
    np.testing.assert_allclose(out, flat_out)
    dout = rng.standard_normal((3, 5))
    dx, dw, db = affine_backward(dout, cache)
    assert dx.shape == x.shape
    flat = affine_backward(dout, flat_cache)
    np.testing.assert_allclose(dx.reshape(3, 8), flat[0])
    np.testing.assert_allclose(dw, flat[1])
    report = check_gradients(affine_forward, affine_backward, {"x": x, "w": w, "b": b})
    assert report.passed(1e-6), str(report)


@pytest.mark.torch
@pytest.mark.parametrize("n,d,m", AFFINE_SHAPES)
def test_affine_matches_torch_autograd(n, d, m):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
    dout = rng.standard_normal((n, m))
    tx, tw, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b))
    tout = tx @ tw + tb
    tout.backward(torch.tensor(dout))
    out, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_affine_rejects_mismatched_shapes_naming_the_expected_shape():
    x = np.ones((2, 4))
    with pytest.raises(ValueError, match=r"affine_forward: w must have shape \(4, \?\)"):
        affine_forward(x, np.ones((5, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"affine_forward: b must have shape \(3,\)"):
        affine_forward(x, np.ones((4, 3)), np.ones(2))
    with pytest.raises(ValueError, match=r"affine_forward: x must be a 2-D array \(N, D\)"):
        affine_forward(np.ones(4), np.ones((4, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"affine_forward: w must be a 2-D array \(D, M\)"):
        affine_forward(x, np.ones(4), np.ones(3))
    _, cache = affine_forward(x, np.ones((4, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"affine_backward: dout must have shape \(2, 3\)"):
        affine_backward(np.ones((3, 2)), cache)


def test_affine_rejects_non_numeric_input_with_a_type_error():
    with pytest.raises(TypeError, match="affine_forward: x must hold real numbers"):
        affine_forward(np.array([["a", "b"]]), np.ones((2, 1)), np.ones(1))


# ---- activations ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ACT_SHAPES)
def test_relu_backward_matches_numerical_gradient(shape):
    rng = np.random.default_rng(len(shape) + shape[0])
    report = check_gradients(relu_forward, relu_backward, {"x": away_from_zero(rng, shape)},
                             rng=rng)
    assert report.passed(1e-6), str(report)


@pytest.mark.parametrize("name", sorted(SMOOTH))
@pytest.mark.parametrize("shape", ACT_SHAPES)
def test_smooth_activation_backward_matches_numerical_gradient(name, shape):
    rng = np.random.default_rng(shape[0] * 3 + len(name))
    forward, backward = SMOOTH[name]
    report = check_gradients(forward, backward, {"x": 2 * rng.standard_normal(shape)}, rng=rng)
    assert report.passed(1e-6), str(report)


def test_relu_passes_gradient_only_where_input_is_positive():
    x = np.array([[-2.0, 0.0, 3.0]])
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(relu_backward(np.array([[5.0, 5.0, 5.0]]), cache),
                                  [[0.0, 0.0, 5.0]])


@pytest.mark.torch
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 4), (2, 3, 5)])
def test_activations_match_torch_autograd(name, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = 3 * rng.standard_normal(shape)
    dout = rng.standard_normal(shape)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tout = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[name](tx)
    tout.backward(torch.tensor(dout))
    forward, backward = ACTIVATIONS[name]
    out, cache = forward(x)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(backward(dout, cache), tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_sigmoid_is_stable_for_huge_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = sigmoid_forward(x)
        dx = sigmoid_backward(np.ones_like(x), cache)
        out32, _ = sigmoid_forward(x.astype(np.float32))
    np.testing.assert_allclose(out, [0.0, np.exp(-50) / (1 + np.exp(-50)), 0.5,
                                     1 / (1 + np.exp(-50)), 1.0], rtol=1e-12, atol=0)
    assert np.all(np.isfinite(dx)) and dx[0] == 0.0 and dx[-1] == 0.0
    np.testing.assert_array_equal(out32[[0, 2, 4]], [0.0, 0.5, 1.0])


def test_sigmoid_helper_equals_sigmoid_forward():
    x = np.linspace(-30, 30, 61)
    np.testing.assert_array_equal(sigmoid(x), sigmoid_forward(x)[0])
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-13)


def test_tanh_forward_equals_numpy_tanh():
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(tanh_forward(x)[0], np.tanh(x), rtol=1e-15)


def test_linear_is_the_identity_and_returns_copies():
    x = np.arange(6.0).reshape(2, 3)
    out, cache = linear_forward(x)
    np.testing.assert_array_equal(out, x)
    out[0, 0] = 100.0
    assert x[0, 0] == 0.0
    dout = np.ones((2, 3))
    dx = linear_backward(dout, cache)
    np.testing.assert_array_equal(dx, dout)
    assert dx is not dout


def test_sign_forward_maps_zero_to_plus_one_and_has_no_backward():
    out, _ = sign_forward(np.array([-2.0, -0.0, 0.0, 1e-300, 3.0]))
    np.testing.assert_array_equal(out, [-1.0, 1.0, 1.0, 1.0, 1.0])
    assert ACTIVATIONS["sign"][1] is None


def test_activations_table_pairs_each_forward_with_its_backward():
    assert set(ACTIVATIONS) == {"relu", "sigmoid", "tanh", "linear", "sign"}
    assert ACTIVATIONS["relu"] == (relu_forward, relu_backward)
    assert ACTIVATIONS["sigmoid"] == (sigmoid_forward, sigmoid_backward)
    assert ACTIVATIONS["tanh"] == (tanh_forward, tanh_backward)
    assert ACTIVATIONS["linear"] == (linear_forward, linear_backward)
    assert ACTIVATIONS["sign"][0] is sign_forward


def test_activation_derivative_matches_closed_forms():
    x = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(activation_derivative("sigmoid", x), s * (1 - s), rtol=1e-13)
    np.testing.assert_allclose(activation_derivative("tanh", x), 1 - np.tanh(x) ** 2, rtol=1e-13)
    np.testing.assert_array_equal(activation_derivative("relu", x), [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(activation_derivative("linear", x), np.ones(5))
    np.testing.assert_array_equal(activation_derivative("sign", x), np.zeros(5))
    assert activation_derivative("tanh", x.reshape(1, 5)).shape == (1, 5)


def test_activation_derivative_rejects_unknown_names_listing_the_valid_ones():
    with pytest.raises(ValueError, match="unknown activation 'softplus'.*'relu'.*'sign'"):
        activation_derivative("softplus", np.zeros(3))


@pytest.mark.parametrize("forward,backward", [(relu_forward, relu_backward),
                                              (sigmoid_forward, sigmoid_backward),
                                              (tanh_forward, tanh_backward),
                                              (linear_forward, linear_backward)])
def test_activation_backward_rejects_dout_of_the_wrong_shape(forward, backward):
    _, cache = forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward's output "
                                         r"\(2, 3\); got \(3, 2\)"):
        backward(np.zeros((3, 2)), cache)


# ---- dtypes and inputs left alone ----------------------------------------------------------

def _all_pairs(rng, dtype):
    x = rng.standard_normal((3, 4)).astype(dtype)
    w = rng.standard_normal((4, 2)).astype(dtype)
    b = rng.standard_normal(2).astype(dtype)
    yield "affine", affine_forward, affine_backward, (x, w, b), (3, 2)
    for name in ("relu", "sigmoid", "tanh", "linear"):
        forward, backward = ACTIVATIONS[name]
        yield name, forward, backward, (x,), (3, 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_keep_the_input_dtype(dtype):
    rng = np.random.default_rng(0)
    for name, forward, backward, args, shape in _all_pairs(rng, dtype):
        out, cache = forward(*args)
        assert out.dtype == dtype, name
        grads = backward(np.ones(shape, dtype=dtype), cache)
        for g in grads if isinstance(grads, tuple) else (grads,):
            assert g.dtype == dtype, name
    assert sign_forward(np.zeros(2, dtype=dtype))[0].dtype == dtype


def test_integer_inputs_become_float64():
    out, _ = affine_forward(np.ones((2, 3), dtype=int), np.ones((3, 1), dtype=int), np.zeros(1))
    assert out.dtype == np.float64
    assert relu_forward([[1, -2]])[0].dtype == np.float64


def test_layers_do_not_modify_their_inputs():
    rng = np.random.default_rng(5)
    for name, forward, backward, args, shape in _all_pairs(rng, np.float64):
        saved = [a.copy() for a in args]
        out, cache = forward(*args)
        dout = rng.standard_normal(shape)
        dout_saved = dout.copy()
        backward(dout, cache)
        for a, s in zip(args, saved, strict=True):
            np.testing.assert_array_equal(a, s, err_msg=name)
        np.testing.assert_array_equal(dout, dout_saved, err_msg=name)
    x = rng.standard_normal(5)
    saved = x.copy()
    sign_forward(x)
    activation_derivative("relu", x)
    np.testing.assert_array_equal(x, saved)
