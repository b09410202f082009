"""Tests of nnutils.models: MLP, ConvNet and CharRNN losses, gradients and helpers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnutils.gradcheck import numerical_gradient, rel_error
from nnutils.initializers import he_normal, xavier_uniform
from nnutils.layers import affine_forward, sigmoid, tanh_forward
from nnutils.losses import softmax
from nnutils.models import MLP, CharRNN, ConvNet

TOL = 1e-6  # relative error of a float64 gradient check


def _assert_gradients_match(model, loss_fn, grads):
    """Every gradient in ``grads`` against centred differences of loss_fn() in model.params."""
    assert set(grads) == set(model.params)
    for name, p in model.params.items():
        assert grads[name].shape == p.shape, name
        num = numerical_gradient(lambda _: loss_fn(), p)
        err = rel_error(grads[name], num)
        assert err < TOL, f"d{name}: relative error {err:.2e}"


def _randomize_biases(model, rng, scale=0.1):
    for k, v in model.params.items():
        if k.startswith("b") and v.ndim == 1:
            model.params[k] = (scale * rng.standard_normal(v.shape)).astype(v.dtype)


def _mlp_targets(loss, rng, n, k):
    if loss == "softmax":
        return rng.integers(0, k, n)
    if loss == "sigmoid_bce":
        return (rng.random((n, k)) < 0.5).astype(float)
    return rng.standard_normal((n, k))


# --------------------------------------------------------------------------------------------
# MLP
# --------------------------------------------------------------------------------------------

MLP_CASES = [  # (sizes, N)
    ([3, 4], 2),                  # no hidden layer: logistic / linear regression
    ([4, 5, 3], 1),               # a batch of one
    ([5, 6, 4, 3], 4),
    ([3, 4, 4, 4, 4, 2], 3),      # deep
]


@pytest.mark.parametrize("sizes, n", MLP_CASES)
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_mlp_softmax_loss_gradients_match_numerical_gradients(sizes, n, activation, reg):
    rng = np.random.default_rng(len(sizes) * 10 + n)
    model = MLP(sizes, activation=activation, rng=rng)
    _randomize_biases(model, rng)
    X, y = rng.standard_normal((n, sizes[0])), rng.integers(0, sizes[-1], n)
    _, grads = model.loss(X, y, reg=reg)
    _assert_gradients_match(model, lambda: model.loss(X, y, reg=reg)[0], grads)


@pytest.mark.parametrize("loss_name", ["squared", "sigmoid_bce"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mlp_squared_and_bce_gradients_match_numerical_gradients(loss_name, activation):
    rng = np.random.default_rng(5)
    model = MLP([4, 6, 5, 3], activation=activation, loss=loss_name, rng=rng)
    _randomize_biases(model, rng)
    X, t = rng.standard_normal((5, 4)), _mlp_targets(loss_name, rng, 5, 3)
    _, grads = model.loss(X, t, reg=0.2)
    _assert_gradients_match(model, lambda: model.loss(X, t, reg=0.2)[0], grads)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("n", [1, 6])
def test_mlp_dropout_gradients_match_numerical_gradients_with_a_fixed_mask(activation, n):
    rng = np.random.default_rng(n)
    model = MLP([4, 8, 7, 3], activation=activation, dropout=0.4, rng=rng)
    _randomize_biases(model, rng)
    X, y = rng.standard_normal((n, 4)), rng.integers(0, 3, n)

    def loss_fn():       # the same seed gives the same dropout masks at every call
        return model.loss(X, y, reg=0.1, train=True, rng=np.random.default_rng(42))[0]

    _, grads = model.loss(X, y, reg=0.1, train=True, rng=np.random.default_rng(42))
    _assert_gradients_match(model, loss_fn, grads)


def test_mlp_dropout_changes_the_training_loss_but_not_the_test_loss():
    rng = np.random.default_rng(0)
    model = MLP([6, 20, 3], dropout=0.5, rng=rng)
    X, y = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)
    train_a = model.loss(X, y, rng=np.random.default_rng(1))[0]
    train_b = model.loss(X, y, rng=np.random.default_rng(2))[0]
    test_a = model.loss(X, y, train=False)[0]
    assert train_a != train_b
    assert test_a == model.loss(X, y, train=False)[0] == pytest.approx(model.evaluate(X, y)[0])
    np.testing.assert_allclose(model.scores(X), model.scores(X))


def test_mlp_loss_is_the_layers_composed_plus_the_penalty_on_weights_only():
    rng = np.random.default_rng(3)
    model = MLP([4, 5, 3], activation="tanh", rng=rng)
    _randomize_biases(model, rng)
    p = model.params
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    hidden = tanh_forward(affine_forward(X, p["W1"], p["b1"])[0])[0]
    scores = affine_forward(hidden, p["W2"], p["b2"])[0]
    probs = softmax(scores)
    ce = -np.mean(np.log(probs[np.arange(7), y]))
    penalty = 0.5 * 0.7 * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
    loss0, g0 = model.loss(X, y)
    loss1, g1 = model.loss(X, y, reg=0.7)
    assert loss0 == pytest.approx(ce, rel=1e-12)
    assert loss1 == pytest.approx(ce + penalty, rel=1e-12)
    np.testing.assert_allclose(g1["b1"], g0["b1"], rtol=1e-14)
    np.testing.assert_allclose(g1["W1"] - g0["W1"], 0.7 * p["W1"], rtol=1e-12, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_mlp_forward_and_backward_match_torch_autograd(activation):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    model = MLP([5, 7, 6, 4], activation=activation, rng=rng)
    _randomize_biases(model, rng)
    X, y = rng.standard_normal((8, 5)), rng.integers(0, 4, 8)
    reg = 0.05
    loss, grads = model.loss(X, y, reg=reg)

    tp = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
    h = torch.tensor(X)
    for layer in (1, 2):
        h = act(h @ tp[f"W{layer}"] + tp[f"b{layer}"])
    scores = h @ tp["W3"] + tp["b3"]
    tloss = torch.nn.functional.cross_entropy(scores, torch.tensor(y))
    tloss = tloss + 0.5 * reg * sum((tp[f"W{k}"] ** 2).sum() for k in (1, 2, 3))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(model.scores(X), scores.detach().numpy(), rtol=1e-12)
    for k, v in tp.items():
        np.testing.assert_allclose(grads[k], v.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=k)


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5), n=st.integers(1, 6),
       activation=st.sampled_from(["relu", "tanh", "sigmoid", "linear"]),
       seed=st.integers(0, 2**16))
def test_mlp_test_mode_treats_every_row_on_its_own(sizes, n, activation, seed):
    """Law: in test mode, the outputs for a batch are the outputs for each sample stacked."""
    sizes[-1] = max(sizes[-1], 2)
    rng = np.random.default_rng(seed)
    model = MLP(sizes, activation=activation, dropout=0.5, rng=rng)
    X = rng.standard_normal((n, sizes[0]))
    batch = model.scores(X)
    rows = np.concatenate([model.scores(X[i:i + 1]) for i in range(n)])
    np.testing.assert_allclose(batch, rows, rtol=1e-12, atol=1e-14)


def test_mlp_names_and_shapes_its_parameters_layer_by_layer():
    model = MLP([64, 32, 16, 10])
    assert list(model.params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [model.params[f"W{k}"].shape for k in (1, 2, 3)] == [(64, 32), (32, 16), (16, 10)]
    assert [model.params[f"b{k}"].shape for k in (1, 2, 3)] == [(32,), (16,), (10,)]
    assert all(not model.params[f"b{k}"].any() for k in (1, 2, 3))


def test_mlp_default_init_is_he_for_relu_and_xavier_for_tanh():
    relu = MLP([6, 5, 3], rng=np.random.default_rng(4))
    tanh = MLP([6, 5, 3], activation="tanh", rng=np.random.default_rng(4))
    rng_he, rng_x = np.random.default_rng(4), np.random.default_rng(4)
    np.testing.assert_array_equal(relu.params["W1"], he_normal(6, 5, rng_he))
    np.testing.assert_array_equal(relu.params["W2"], he_normal(5, 3, rng_he))
    np.testing.assert_array_equal(tanh.params["W1"], xavier_uniform(6, 5, rng_x))


def test_mlp_accepts_an_initializer_name_or_function():
    zeros = MLP([3, 4, 2], init="zeros")
    assert not zeros.params["W1"].any()
    ones = MLP([3, 4, 2], init=lambda fan_in, fan_out, rng: np.ones((fan_in, fan_out)))
    assert np.all(ones.params["W2"] == 1)
    with pytest.raises(ValueError, match=r"\(fan_in, fan_out\) = \(3, 4\)"):
        MLP([3, 4, 2], init=lambda fan_in, fan_out, rng: np.ones(3))


def test_mlp_in_float32_keeps_float32_everywhere():
    rng = np.random.default_rng(0)
    model = MLP([6, 8, 3], dtype=np.float32, dropout=0.2, rng=rng)
    X, y = rng.standard_normal((5, 6)), rng.integers(0, 3, 5)   # float64 data is converted
    _, grads = model.loss(X, y, reg=0.1)
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert all(g.dtype == np.float32 for g in grads.values())
    assert model.scores(X).dtype == np.float32
    assert all(h.dtype == np.float32 for h in model.hidden_activations(X))
    ref = MLP([6, 8, 3], dropout=0.2, rng=np.random.default_rng(0))   # the same weights
    assert model.loss(X, y, reg=0.1, train=False)[0] == pytest.approx(
        ref.loss(X, y, reg=0.1, train=False)[0], rel=1e-5)
    np.testing.assert_allclose(model.scores(X), ref.scores(X), rtol=1e-4, atol=1e-5)


def test_mlp_predict_gives_labels_for_softmax_outputs_for_squared_and_0_1_for_bce():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, 4))
    clf = MLP([4, 5, 3], rng=rng)
    np.testing.assert_array_equal(clf.predict(X), np.argmax(clf.scores(X), axis=1))
    reg1 = MLP([4, 5, 1], loss="squared", rng=rng)
    assert reg1.predict(X).shape == (9,)
    np.testing.assert_array_equal(reg1.predict(X), reg1.scores(X)[:, 0])
    reg2 = MLP([4, 5, 2], loss="squared", rng=rng)
    np.testing.assert_array_equal(reg2.predict(X), reg2.scores(X))
    multi = MLP([4, 5, 3], loss="sigmoid_bce", rng=rng)
    np.testing.assert_array_equal(multi.predict(X), (sigmoid(multi.scores(X)) >= 0.5) * 1)


def test_mlp_accuracy_counts_correct_predictions():
    rng = np.random.default_rng(2)
    model = MLP([4, 6, 3], rng=rng)
    X = rng.standard_normal((20, 4))
    y = model.predict(X).copy()
    y[:5] = (y[:5] + 1) % 3                 # five wrong labels out of twenty
    assert model.accuracy(X, y) == pytest.approx(0.75)
    assert model.evaluate(X, y)[1] == pytest.approx(0.75)


def test_mlp_squared_loss_accuracy_is_the_sign_agreement_with_plus_minus_one_targets():
    rng = np.random.default_rng(3)
    model = MLP([2, 4, 1], activation="tanh", loss="squared", rng=rng)
    X = rng.standard_normal((30, 2))
    signs = np.where(model.predict(X) >= 0, 1.0, -1.0)
    signs[:3] *= -1
    assert model.accuracy(X, signs) == pytest.approx(27 / 30)
    assert model.evaluate(X, rng.standard_normal(30))[1] is None      # real targets: none
    with pytest.raises(ValueError, match=r"targets y of \+1/-1"):
        model.accuracy(X, rng.standard_normal(30))


def test_mlp_hidden_activations_are_each_hidden_layer_output():
    rng = np.random.default_rng(4)
    model = MLP([3, 5, 4, 2], activation="sigmoid", rng=rng)
    _randomize_biases(model, rng)
    X = rng.standard_normal((6, 3))
    hidden = model.hidden_activations(X)
    p = model.params
    h1 = sigmoid(X @ p["W1"] + p["b1"])
    h2 = sigmoid(h1 @ p["W2"] + p["b2"])
    assert [h.shape for h in hidden] == [(6, 5), (6, 4)]
    np.testing.assert_allclose(hidden[0], h1, rtol=1e-14)
    np.testing.assert_allclose(hidden[1], h2, rtol=1e-14)
    assert MLP([3, 2]).hidden_activations(X) == []


def test_mlp_gradient_norms_are_the_weight_gradient_norms_and_vanish_in_deep_sigmoid_nets():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((50, 10)), rng.integers(0, 3, 50)
    model = MLP([10, 8, 3], activation="tanh", rng=rng)
    _, grads = model.loss(X, y, train=False)
    norms = model.gradient_norms(X, y)
    np.testing.assert_allclose(norms, [np.linalg.norm(grads["W1"]),
                                       np.linalg.norm(grads["W2"])], rtol=1e-14)
    deep = MLP([10] + [20] * 8 + [3], activation="sigmoid", rng=rng)
    norms = deep.gradient_norms(X, y)
    assert len(norms) == 9
    assert norms[0] < 1e-2 * norms[-1]


def test_mlp_does_not_modify_its_inputs():
    rng = np.random.default_rng(6)
    model = MLP([4, 5, 3], dropout=0.3, rng=rng)
    X, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    X0, y0 = X.copy(), y.copy()
    params0 = {k: v.copy() for k, v in model.params.items()}
    model.loss(X, y, reg=0.5)
    model.hidden_activations(X)
    model.gradient_norms(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    for k in params0:
        np.testing.assert_array_equal(model.params[k], params0[k])


def test_mlp_refuses_the_sign_activation_because_it_has_no_useful_derivative():
    with pytest.raises(ValueError, match="derivative"):
        MLP([2, 2, 1], activation="sign")


@pytest.mark.parametrize("kwargs, match", [
    ({"sizes": [64]}, r"at least two layer widths"),
    ({"sizes": [64, 0, 10]}, r"sizes\[1\] must be >= 1"),
    ({"sizes": [4, 3], "activation": "swish"}, r"unknown activation 'swish'"),
    ({"sizes": [4, 3], "loss": "hinge"}, r"unknown loss 'hinge'"),
    ({"sizes": [4, 1]}, r"softmax output needs at least 2 classes"),
    ({"sizes": [4, 3], "dropout": 1.0}, r"dropout must be < 1"),
    ({"sizes": [4, 3], "init": "glorot"}, r"unknown init 'glorot'"),
])
def test_mlp_constructor_errors_say_what_was_expected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)


def test_mlp_constructor_rejects_a_non_generator_rng_and_bad_dtype():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        MLP([3, 2], rng=0)
    with pytest.raises(TypeError, match="float64 or numpy.float32"):
        MLP([3, 2], dtype=np.int32)


def test_mlp_input_errors_name_the_expected_shapes():
    model = MLP([64, 16, 10])
    with pytest.raises(ValueError, match=r"X must have shape \(N, D\) = \(N, 64\).*got \(5, 3\)"):
        model.loss(np.zeros((5, 3)), np.zeros(5, int))
    with pytest.raises(ValueError, match=r"flatten images"):
        model.scores(np.zeros((5, 8, 8)))
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        model.loss(np.zeros((5, 64)), np.zeros(4, int))
    with pytest.raises(ValueError, match=r"labels in 0\.\.9"):
        model.accuracy(np.zeros((2, 64)), [3, 10])
    reg = MLP([3, 4, 2], loss="squared")
    with pytest.raises(ValueError, match=r"y must have shape \(N, K\) = \(4, 2\)"):
        reg.loss(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"reg must be >= 0"):
        model.loss(np.zeros((2, 64)), [0, 1], reg=-1.0)


# --------------------------------------------------------------------------------------------
# ConvNet
# --------------------------------------------------------------------------------------------

CONV_CASES = [  # (input_shape, channels, hidden, classes, N)
    ((1, 8, 8), (2, 3), 5, 4, 1),
    ((1, 8, 8), (3, 2), 4, 3, 3),
    ((2, 5, 6), (2, 2), 3, 2, 2),     # odd sizes: poolings drop the last row or column
]


@pytest.mark.parametrize("input_shape, channels, hidden, classes, n", CONV_CASES)
@pytest.mark.parametrize("reg", [0.0, 0.2])
def test_convnet_loss_gradients_match_numerical_gradients(input_shape, channels, hidden, classes,
                                                          n, reg):
    rng = np.random.default_rng(n + classes)
    model = ConvNet(input_shape, channels, hidden, classes, rng=rng)
    _randomize_biases(model, rng)
    X, y = rng.standard_normal((n,) + input_shape), rng.integers(0, classes, n)
    _, grads = model.loss(X, y, reg=reg)
    _assert_gradients_match(model, lambda: model.loss(X, y, reg=reg)[0], grads)


def test_convnet_dropout_gradients_match_numerical_gradients_with_a_fixed_mask():
    rng = np.random.default_rng(8)
    model = ConvNet((1, 8, 8), (2, 3), 6, 3, rng=rng, dropout=0.5)
    _randomize_biases(model, rng)
    X, y = rng.standard_normal((2, 1, 8, 8)), rng.integers(0, 3, 2)

    def loss_fn():
        return model.loss(X, y, rng=np.random.default_rng(1))[0]

    _, grads = model.loss(X, y, rng=np.random.default_rng(1))
    _assert_gradients_match(model, loss_fn, grads)


@pytest.mark.torch
def test_convnet_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(9)
    model = ConvNet((1, 8, 8), (3, 4), 6, 5, rng=rng)
    _randomize_biases(model, rng)
    X, y = rng.standard_normal((4, 1, 8, 8)), rng.integers(0, 5, 4)
    loss, grads = model.loss(X, y, reg=0.1)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    h = F.max_pool2d(torch.relu(F.conv2d(torch.tensor(X), tp["W1"], tp["b1"], padding=1)), 2)
    h = F.max_pool2d(torch.relu(F.conv2d(h, tp["W2"], tp["b2"], padding=1)), 2)
    h = torch.relu(h.reshape(4, -1) @ tp["W3"] + tp["b3"])
    tloss = F.cross_entropy(h @ tp["W4"] + tp["b4"], torch.tensor(y))
    tloss = tloss + 0.05 * sum((tp[f"W{k}"] ** 2).sum() for k in range(1, 5))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    for k, v in tp.items():
        np.testing.assert_allclose(grads[k], v.grad.numpy(), rtol=1e-9, atol=1e-13, err_msg=k)


def test_convnet_parameter_shapes_follow_the_lenet_layout():
    model = ConvNet((1, 8, 8), (6, 12), hidden=20, num_classes=10)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {"W1": (6, 1, 3, 3), "b1": (6,), "W2": (12, 6, 3, 3), "b2": (12,),
                      "W3": (12 * 2 * 2, 20), "b3": (20,), "W4": (20, 10), "b4": (10,)}


def test_convnet_feature_maps_are_the_rectified_conv_outputs():
    rng = np.random.default_rng(10)
    model = ConvNet((1, 8, 8), (3, 5), 4, 3, rng=rng)
    X = rng.standard_normal((2, 1, 8, 8))
    maps = model.feature_maps(X)
    assert [m.shape for m in maps] == [(2, 3, 8, 8), (2, 5, 4, 4)]
    assert all(np.all(m >= 0) for m in maps)
    # the first map by hand: a 3x3 cross-correlation of the zero-padded image, then ReLU
    W, b = model.params["W1"], model.params["b1"]
    xp = np.pad(X[:, 0], ((0, 0), (1, 1), (1, 1)))
    by_hand = np.zeros((2, 3, 8, 8))
    for f in range(3):
        for r in range(8):
            for c in range(8):
                by_hand[:, f, r, c] = np.sum(xp[:, r:r + 3, c:c + 3] * W[f, 0], axis=(1, 2))
        by_hand[:, f] += b[f]
    np.testing.assert_allclose(maps[0], np.maximum(by_hand, 0), rtol=1e-12, atol=1e-14)


def test_convnet_predict_and_accuracy_follow_the_scores():
    rng = np.random.default_rng(12)
    model = ConvNet(rng=rng)
    X = rng.standard_normal((10, 1, 8, 8))
    pred = model.predict(X)
    np.testing.assert_array_equal(pred, np.argmax(model.scores(X), axis=1))
    y = pred.copy()
    y[:2] = (y[:2] + 1) % 10
    assert model.accuracy(X, y) == pytest.approx(0.8)
    loss, acc = model.evaluate(X, y)
    assert acc == pytest.approx(0.8) and loss == pytest.approx(model.loss(X, y, train=False)[0])


def test_convnet_in_float32_keeps_float32():
    rng = np.random.default_rng(13)
    model = ConvNet(channels=(2, 3), hidden=4, dtype=np.float32, rng=rng)
    X, y = rng.standard_normal((3, 1, 8, 8)), rng.integers(0, 10, 3)
    _, grads = model.loss(X, y, reg=0.1)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert model.scores(X).dtype == np.float32


def test_convnet_input_errors_name_the_expected_shapes():
    model = ConvNet()
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\).*got \(4, 64\).*flatten=False"):
        model.loss(np.zeros((4, 64)), np.zeros(4, int))
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\).*got \(4, 3, 8, 8\)"):
        model.scores(np.zeros((4, 3, 8, 8)))
    with pytest.raises(ValueError, match=r"y must have shape \(4,\)"):
        model.loss(np.zeros((4, 1, 8, 8)), np.zeros(3, int))
    with pytest.raises(ValueError, match=r"at least 4x4"):
        ConvNet(input_shape=(1, 3, 8))
    with pytest.raises(ValueError, match=r"channels must be \(F1, F2\)"):
        ConvNet(channels=(4,))


# --------------------------------------------------------------------------------------------
# CharRNN
# --------------------------------------------------------------------------------------------

RNN_CASES = [(1, 1, 4, 3), (2, 4, 5, 3), (3, 3, 6, 4)]      # (B, T, V, H)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("B, T, V, H", RNN_CASES)
def test_charrnn_loss_gradients_match_numerical_gradients(cell, B, T, V, H):
    rng = np.random.default_rng(B * T)
    model = CharRNN(V, H, cell=cell, rng=rng)
    _randomize_biases(model, rng, scale=0.3)
    inputs, targets = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    h0 = 0.5 * rng.standard_normal((B, H))
    _, grads = model.loss(inputs, targets, h0=h0, reg=0.1)
    _assert_gradients_match(model, lambda: model.loss(inputs, targets, h0=h0, reg=0.1)[0],
                            grads)


def test_charrnn_loss_is_the_mean_cross_entropy_over_every_position():
    rng = np.random.default_rng(1)
    model = CharRNN(5, 4, rng=rng)
    inputs, targets = rng.integers(0, 5, (3, 6)), rng.integers(0, 5, (3, 6))
    probs = softmax(model.scores(inputs).reshape(-1, 5))
    expected = -np.mean(np.log(probs[np.arange(18), targets.reshape(-1)]))
    assert model.loss(inputs, targets)[0] == pytest.approx(expected, rel=1e-12)
    # a step reads only the past: changing the last input leaves the earlier scores alone
    changed = inputs.copy()
    changed[:, -1] = (changed[:, -1] + 1) % 5
    np.testing.assert_array_equal(model.scores(changed)[:, :-1], model.scores(inputs)[:, :-1])


def test_charrnn_parameters_have_gate_blocks_and_an_open_forget_gate():
    lstm = CharRNN(7, 3, cell="lstm")
    assert {k: v.shape for k, v in lstm.params.items()} == {
        "Wx": (7, 12), "Wh": (3, 12), "b": (12,), "Wy": (3, 7), "by": (7,)}
    np.testing.assert_array_equal(lstm.params["b"], [0] * 3 + [1] * 3 + [0] * 6)
    rnn = CharRNN(7, 3)
    assert rnn.params["Wx"].shape == (7, 3) and rnn.params["Wh"].shape == (3, 3)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_charrnn_sample_returns_valid_ids_of_the_requested_length(cell):
    model = CharRNN(9, 6, cell=cell, rng=np.random.default_rng(2))
    ids = model.sample([1, 2, 3], 40, temperature=1.0, rng=np.random.default_rng(0))
    assert ids.shape == (40,) and ids.dtype == np.int64
    assert ids.min() >= 0 and ids.max() < 9
    assert len(set(ids.tolist())) > 3          # temperature 1 really samples
    assert model.sample([4], 0).shape == (0,)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_charrnn_sample_near_zero_temperature_is_the_greedy_sequence(cell):
    model = CharRNN(9, 6, cell=cell, rng=np.random.default_rng(3))
    greedy = model.sample([0, 5], 30, temperature=0.0)
    # greedy by hand: feed each argmax back in and take the argmax of the last step's scores
    seq = [0, 5]
    for _ in range(30):
        seq.append(int(np.argmax(model.scores(np.array([seq]))[0, -1])))
    np.testing.assert_array_equal(greedy, seq[2:])
    for seed, temperature in [(0, 1e-4), (1, 1e-4), (2, 1e-300)]:
        cold = model.sample([0, 5], 30, temperature=temperature, rng=np.random.default_rng(seed))
        np.testing.assert_array_equal(cold, greedy)


def test_charrnn_sample_with_the_same_rng_repeats_and_with_another_differs():
    model = CharRNN(12, 8, rng=np.random.default_rng(4))
    a = model.sample([1], 50, 2.0, rng=np.random.default_rng(7))
    b = model.sample([1], 50, 2.0, rng=np.random.default_rng(7))
    c = model.sample([1], 50, 2.0, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_charrnn_sequence_log_prob_sums_the_log_probabilities_of_each_next_id(cell):
    model = CharRNN(6, 5, cell=cell, rng=np.random.default_rng(5))
    ids = np.array([2, 0, 5, 5, 1, 3])
    probs = softmax(model.scores(ids[None, :-1])[0])
    expected = float(np.sum(np.log(probs[np.arange(5), ids[1:]])))
    assert model.sequence_log_prob(ids) == pytest.approx(expected, rel=1e-12)
    assert model.sequence_log_prob(ids, average=True) == pytest.approx(expected / 5, rel=1e-12)
    assert model.sequence_log_prob(ids) < 0


def test_charrnn_accuracy_and_evaluate_count_next_id_predictions():
    rng = np.random.default_rng(6)
    model = CharRNN(5, 4, rng=rng)
    inputs = rng.integers(0, 5, (4, 5))
    targets = model.predict(inputs).copy()
    targets[0, :] = (targets[0, :] + 1) % 5       # 5 of 20 positions wrong
    assert model.accuracy(inputs, targets) == pytest.approx(0.75)
    loss, acc = model.evaluate(inputs, targets)
    assert acc == pytest.approx(0.75) and loss == pytest.approx(model.loss(inputs, targets)[0])


def test_charrnn_input_errors_name_what_was_expected():
    model = CharRNN(5, 4)
    with pytest.raises(ValueError, match=r"ids in 0\.\.4 \(V = 5\).*from 0 to 5"):
        model.loss([[0, 5]], [[1, 2]])
    with pytest.raises(ValueError, match=r"inputs must be a 2-D array \(B, T\)"):
        model.loss([0, 1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=r"targets must have the shape of inputs \(B, T\) ="
                                         r" \(1, 3\)"):
        model.loss([[0, 1, 2]], [[1, 2]])
    with pytest.raises(TypeError, match="integer character ids"):
        model.loss([[0.5, 1.0]], [[1, 2]])
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, H\) = \(1, 4\)"):
        model.loss([[0, 1]], [[1, 2]], h0=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="at least 2 ids"):
        model.sequence_log_prob([3])
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        model.sample([1], 5, temperature=-1.0)
    with pytest.raises(ValueError, match="cell must be 'rnn' or 'lstm'"):
        CharRNN(5, 4, cell="gru")
