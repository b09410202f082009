"""Tests of nnutils.networks.two_layer_net: loss, gradients, regularization and input checks."""

import numpy as np
import pytest

from nnutils.gradcheck import numerical_gradient, rel_error
from nnutils.layers import affine_forward, relu_forward
from nnutils.losses import softmax_cross_entropy
from nnutils.networks import two_layer_net

SHAPES = [(1, 3, 4, 2), (5, 4, 6, 3), (8, 2, 3, 5)]      # (N, D, H, C)


def make_problem(n, d, h, c, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, c, n)
    params = {"W1": rng.standard_normal((d, h)).astype(dtype),
              "b1": (0.1 * rng.standard_normal(h)).astype(dtype),
              "W2": rng.standard_normal((h, c)).astype(dtype),
              "b2": (0.1 * rng.standard_normal(c)).astype(dtype)}
    return X, y, params


def test_two_layer_net_loss_is_cross_entropy_of_the_layers_plus_the_penalty():
    X, y, p = make_problem(4, 3, 5, 3)
    h, _ = relu_forward(affine_forward(X, p["W1"], p["b1"])[0])
    scores, _ = affine_forward(h, p["W2"], p["b2"])
    ce, _ = softmax_cross_entropy(scores, y)
    assert two_layer_net(X, y, p)[0] == pytest.approx(ce, rel=1e-14)
    penalty = 0.5 * 0.7 * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
    assert two_layer_net(X, y, p, reg=0.7)[0] == pytest.approx(ce + penalty, rel=1e-14)


@pytest.mark.parametrize("n,d,h,c", SHAPES)
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_two_layer_net_gradients_match_numerical_gradients(n, d, h, c, reg):
    X, y, params = make_problem(n, d, h, c, seed=n + d)
    _, grads = two_layer_net(X, y, params, reg)
    for name in params:
        num = numerical_gradient(lambda _: two_layer_net(X, y, params, reg)[0], params[name])
        assert rel_error(grads[name], num) < 1e-6, name


def test_two_layer_net_does_not_regularize_the_biases():
    X, y, params = make_problem(5, 4, 6, 3)
    _, g0 = two_layer_net(X, y, params, reg=0.0)
    _, g1 = two_layer_net(X, y, params, reg=2.0)
    np.testing.assert_allclose(g1["b1"], g0["b1"], rtol=1e-14)
    np.testing.assert_allclose(g1["b2"], g0["b2"], rtol=1e-14)
    np.testing.assert_allclose(g1["W1"] - g0["W1"], 2.0 * params["W1"], rtol=1e-12)
    np.testing.assert_allclose(g1["W2"] - g0["W2"], 2.0 * params["W2"], rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("n,d,h,c", SHAPES)
def test_two_layer_net_matches_torch_autograd(n, d, h, c):
    torch = pytest.importorskip("torch")
    X, y, params = make_problem(n, d, h, c, seed=3)
    reg = 0.25
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    scores = torch.relu(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    loss = torch.nn.functional.cross_entropy(scores, torch.tensor(y)) \
        + 0.5 * reg * ((t["W1"] ** 2).sum() + (t["W2"] ** 2).sum())
    loss.backward()
    ours, grads = two_layer_net(X, y, params, reg)
    assert ours == pytest.approx(loss.item(), rel=1e-12)
    for k in params:
        np.testing.assert_allclose(grads[k], t[k].grad.numpy(), rtol=1e-10, atol=1e-14,
                                   err_msg=k)


def test_two_layer_net_returns_grads_keyed_and_shaped_like_params():
    X, y, params = make_problem(3, 4, 5, 2)
    reordered = {k: params[k] for k in ("b2", "W1", "W2", "b1")}
    _, grads = two_layer_net(X, y, reordered)
    assert list(grads) == list(reordered)
    for k in params:
        assert grads[k].shape == params[k].shape


def test_two_layer_net_keeps_float32():
    X, y, params = make_problem(3, 4, 5, 2, dtype=np.float32)
    loss, grads = two_layer_net(X, y, params, reg=0.1)
    assert isinstance(loss, float)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_two_layer_net_does_not_modify_its_inputs():
    X, y, params = make_problem(4, 3, 5, 3)
    saved = (X.copy(), y.copy(), {k: v.copy() for k, v in params.items()})
    two_layer_net(X, y, params, reg=0.5)
    np.testing.assert_array_equal(X, saved[0])
    np.testing.assert_array_equal(y, saved[1])
    assert list(params) == list(saved[2])
    for k in params:
        np.testing.assert_array_equal(params[k], saved[2][k])


def test_two_layer_net_names_missing_unexpected_and_misshapen_parameters():
    X, y, params = make_problem(4, 3, 5, 3)
    with pytest.raises(ValueError, match="params must have exactly the keys W1, b1, W2, b2; "
                                         "missing b2"):
        two_layer_net(X, y, {k: v for k, v in params.items() if k != "b2"})
    with pytest.raises(ValueError, match="unexpected W3"):
        two_layer_net(X, y, {**params, "W3": np.ones(2)})
    with pytest.raises(ValueError, match=r"params\['W1'\] must have shape \(3, \?\)"):
        two_layer_net(X, y, {**params, "W1": np.ones((4, 5))})
    with pytest.raises(ValueError, match=r"params\['b1'\] must have shape \(5,\)"):
        two_layer_net(X, y, {**params, "b1": np.ones(4)})
    with pytest.raises(ValueError, match=r"params\['W2'\] must have shape \(5, \?\)"):
        two_layer_net(X, y, {**params, "W2": np.ones((3, 3))})
    with pytest.raises(ValueError, match=r"params\['b2'\] must have shape \(3,\)"):
        two_layer_net(X, y, {**params, "b2": np.ones(2)})
    with pytest.raises(TypeError, match="params must be a dict"):
        two_layer_net(X, y, list(params.values()))


def test_two_layer_net_rejects_bad_labels_and_negative_reg():
    X, y, params = make_problem(4, 3, 5, 3)
    with pytest.raises(ValueError, match=r"y must hold labels in 0..2 for 3 classes"):
        two_layer_net(X, np.array([0, 1, 2, 3]), params)
    with pytest.raises(ValueError, match="reg must be >= 0"):
        two_layer_net(X, y, params, reg=-1.0)
    with pytest.raises(ValueError, match=r"X must be a 2-D array \(N, D\)"):
        two_layer_net(X[0], y, params)


# ---- three_layer_convnet (assignment 5's network) ----------------------------------------

def _convnet_params(rng, f=3, c=1, h=8, w=8, m=7, k=4):
    return {"W1": rng.standard_normal((f, c, 3, 3)) / 3, "b1": 0.1 * rng.standard_normal(f),
            "W2": rng.standard_normal((f * h * w // 4, m)) / 4, "b2": 0.1 * rng.standard_normal(m),
            "W3": rng.standard_normal((m, k)) / 3, "b3": 0.1 * rng.standard_normal(k)}


@pytest.mark.parametrize("n,reg", [(1, 0.0), (4, 0.3)])
def test_three_layer_convnet_matches_numerical_gradients(n, reg):
    from nnutils.networks import three_layer_convnet

    rng = np.random.default_rng(n)
    params = _convnet_params(rng, h=4, w=6)
    X, y = rng.standard_normal((n, 1, 4, 6)), rng.integers(0, 4, size=n)
    _, grads = three_layer_convnet(X, y, params, reg)
    for name, value in params.items():
        def f(v, name=name):
            return three_layer_convnet(X, y, dict(params, **{name: v}), reg)[0]
        num = numerical_gradient(f, value.copy())
        assert rel_error(grads[name], num) < 1e-6, name


def test_three_layer_convnet_equals_the_composition_of_the_layers():
    from nnutils.conv import conv2d_forward, maxpool2d_forward
    from nnutils.networks import three_layer_convnet

    rng = np.random.default_rng(0)
    params = _convnet_params(rng, f=4, c=2)
    X, y = rng.standard_normal((5, 2, 8, 8)), rng.integers(0, 4, size=5)
    act = maxpool2d_forward(np.maximum(conv2d_forward(X, params["W1"], params["b1"], 1, 1)[0],
                                       0))[0].reshape(5, -1)
    scores = np.maximum(act @ params["W2"] + params["b2"], 0) @ params["W3"] + params["b3"]
    want, _ = softmax_cross_entropy(scores, y)
    loss, _ = three_layer_convnet(X, y, params, 0.0)
    assert loss == pytest.approx(want, rel=1e-12)


def test_three_layer_convnet_names_a_missing_parameter():
    from nnutils.networks import three_layer_convnet

    params = _convnet_params(np.random.default_rng(0))
    del params["b3"]
    with pytest.raises(ValueError, match="exactly the keys W1, b1, W2, b2, W3, b3"):
        three_layer_convnet(np.zeros((1, 1, 8, 8)), [0], params)


# ---- char_rnn_loss (assignment 6's model) ------------------------------------------------

def _char_params(rng, v=5, h=4):
    return {"Wx": rng.standard_normal((v, h)) / 2, "Wh": rng.standard_normal((h, h)) / 2,
            "b": 0.1 * rng.standard_normal(h), "Wy": rng.standard_normal((h, v)) / 2,
            "by": 0.1 * rng.standard_normal(v)}


@pytest.mark.parametrize("n,t", [(1, 1), (3, 4)])
def test_char_rnn_loss_matches_numerical_gradients(n, t):
    from nnutils.networks import char_rnn_loss

    rng = np.random.default_rng(10 * n + t)
    params = _char_params(rng)
    inputs, targets = rng.integers(0, 5, size=(n, t)), rng.integers(0, 5, size=(n, t))
    _, grads = char_rnn_loss(inputs, targets, params)
    for name, value in params.items():
        def f(v, name=name):
            return char_rnn_loss(inputs, targets, dict(params, **{name: v}))[0]
        assert rel_error(grads[name], numerical_gradient(f, value.copy())) < 1e-6, name


def test_char_rnn_loss_equals_the_rnn_layers_and_a_softmax():
    from nnutils.networks import char_rnn_loss
    from nnutils.rnn import rnn_forward

    rng = np.random.default_rng(3)
    params = _char_params(rng, v=6, h=5)
    inputs, targets = rng.integers(0, 6, size=(2, 7)), rng.integers(0, 6, size=(2, 7))
    h, _ = rnn_forward(np.eye(6)[inputs], np.zeros((2, 5)), params["Wx"], params["Wh"],
                       params["b"])
    want, _ = softmax_cross_entropy((h @ params["Wy"] + params["by"]).reshape(14, 6),
                                    targets.ravel())
    assert char_rnn_loss(inputs, targets, params)[0] == pytest.approx(want, rel=1e-12)
