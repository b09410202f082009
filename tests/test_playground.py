"""The Playground: its engine (nnutils.playground) and its app (nnutils.widgets.playground)."""

import threading
import time
from dataclasses import asdict, replace

import numpy as np
import pytest

from nnutils.gradcheck import numerical_gradient, rel_error
from nnutils.playground import (
    LEARNING_RATES,
    PRESETS,
    REGULARIZATION_RATES,
    Playground,
    Settings,
    grid_points,
    regularized_update,
    run_preset,
)
from nnutils.widgets.playground import (
    make_playground_app,
    render_colorbar,
    render_heatmap,
    render_links,
    render_loss_chart,
    render_thumbnails,
    value_colors,
)

ORANGE, BLUE = (245, 147, 34), (8, 119, 189)
ALL_FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)")


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------

def test_settings_defaults_are_the_playgrounds():
    s = Settings()
    assert (s.problem, s.dataset, s.train_percent, s.noise, s.batch_size) == \
        ("classification", "circle", 50, 0, 10)
    assert s.features == ("x1", "x2") and s.hidden_layers == (4, 2)
    assert (s.learning_rate, s.activation, s.regularization, s.regularization_rate) == \
        (0.03, "tanh", "none", 0.0)
    assert LEARNING_RATES == (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
    assert REGULARIZATION_RATES == (0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)


@pytest.mark.parametrize("changes,match", [
    ({"noise": 60}, r"noise must be a number from 0 to 50"),
    ({"noise": -1}, r"noise must be a number from 0 to 50"),
    ({"train_percent": 5}, r"train_percent must be an integer from 10 to 90"),
    ({"train_percent": 95}, r"train_percent must be an integer from 10 to 90"),
    ({"batch_size": 0}, r"batch_size must be an integer from 1 to 30"),
    ({"batch_size": 31}, r"batch_size must be an integer from 1 to 30"),
    ({"hidden_layers": (4,) * 7}, r"hidden_layers must be at most 6 layers"),
    ({"hidden_layers": (4, 9)}, r"hidden_layers\[1\] must be an integer from 1 to 8"),
    ({"hidden_layers": (0,)}, r"hidden_layers\[0\] must be an integer from 1 to 8"),
    ({"learning_rate": 0}, r"learning_rate must be a number from 1e-05 to 10"),
    ({"learning_rate": 30}, r"learning_rate must be a number from 1e-05 to 10"),
    ({"learning_rate": float("nan")}, r"learning_rate must be a number"),
    ({"regularization_rate": -0.1}, r"regularization_rate must be a number from 0 to 10"),
    ({"activation": "softplus"}, r"activation must be one of \('relu', 'tanh'"),
    ({"regularization": "L3"}, r"regularization must be one of \('none', 'L1', 'L2'\)"),
    ({"problem": "ranking"}, r"problem must be one of"),
    ({"dataset": "moons"}, r"dataset must be one of \('circle', 'xor', 'gauss', 'spiral'\)"),
    ({"dataset": "reg-plane"}, r"regression data set: change problem too"),
    ({"problem": "regression"}, r"dataset must be one of \('reg-plane', 'reg-gauss'\)"),
    ({"features": ("x1", "x3")}, r"features must be names from"),
    ({"features": ("x1", "x1")}, r"features must be distinct names"),
])
def test_settings_reject_out_of_range_values_naming_the_allowed_range(changes, match):
    with pytest.raises(ValueError, match=match):
        Settings(**changes)


@pytest.mark.parametrize("changes", [{"batch_size": 2.5}, {"noise": "10"}, {"seed": True}])
def test_settings_reject_wrong_types(changes):
    with pytest.raises(TypeError, match="Settings: .* must be"):
        Settings(**changes)


def test_settings_put_features_in_canonical_order_and_accept_lower_case_regularization():
    s = Settings(features=["sin(x2)", "x1"], hidden_layers=[3], regularization="l2")
    assert s.features == ("x1", "sin(x2)") and s.hidden_layers == (3,)
    assert s.regularization == "L2"


# --------------------------------------------------------------------------------------------
# The network and its loss
# --------------------------------------------------------------------------------------------

def test_weights_start_uniform_in_half_and_biases_at_point_one():
    e = Playground(hidden_layers=(8,) * 6, seed=3)
    assert [w.shape for w in e.weights] == [(2, 8)] + [(8, 8)] * 5 + [(8, 1)]
    every = np.concatenate([w.ravel() for w in e.weights])
    assert np.all(np.abs(every) < 0.5) and every.min() < -0.45 and every.max() > 0.45
    assert abs(every.mean()) < 0.1
    assert all(np.all(b == 0.1) for b in e.biases)


def _manual_output(e, X, activation, output):
    f = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "linear": lambda z: z,
         "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    from nnutils.data import feature_map
    h = feature_map(X, list(e.settings.features))
    for k, (w, b) in enumerate(zip(e.weights, e.biases)):
        h = f[activation if k < len(e.weights) - 1 else output](h @ w + b)
    return h[:, 0]


@pytest.mark.parametrize("problem,dataset,activation,output", [
    ("classification", "xor", "relu", "tanh"),
    ("classification", "spiral", "sigmoid", "tanh"),
    ("regression", "reg-gauss", "tanh", "linear"),
    ("regression", "reg-plane", "linear", "linear"),
])
def test_output_unit_is_tanh_for_classification_and_linear_for_regression(
        problem, dataset, activation, output):
    e = Playground(problem=problem, dataset=dataset, activation=activation,
                   features=("x1", "x2", "sin(x1)"), hidden_layers=(3, 2), seed=1)
    for w in e.weights:
        w *= 4.0                          # large weights: a linear output leaves (-1, 1)
    X = e.X_test[:50]
    np.testing.assert_allclose(e.predict(X), _manual_output(e, X, activation, output),
                               rtol=1e-12, atol=1e-12)
    if output == "linear":
        assert np.abs(e.predict(e.X_test)).max() > 1


def test_reported_losses_are_the_mean_half_squared_error_over_each_set():
    e = Playground(seed=4)
    e.step(3)
    assert e.train_loss == pytest.approx(0.5 * np.mean((e.predict(e.X_train) - e.y_train) ** 2))
    assert e.test_loss == pytest.approx(0.5 * np.mean((e.predict(e.X_test) - e.y_test) ** 2))
    assert len(e.history) == 4 and e.history[-1] == (e.train_loss, e.test_loss)


@pytest.mark.parametrize("problem,dataset,ratio,n_train", [
    ("classification", "circle", 50, 250), ("classification", "spiral", 30, 150),
    ("regression", "reg-plane", 50, 600), ("regression", "reg-gauss", 90, 1080),
])
def test_data_are_split_as_in_the_playground(problem, dataset, ratio, n_train):
    e = Playground(problem=problem, dataset=dataset, train_percent=ratio)
    assert e.X_train.shape == (n_train, 2)
    assert e.X_train.shape[0] + e.X_test.shape[0] == (500 if problem == "classification"
                                                       else 1200)


def test_network_without_features_outputs_a_constant():
    e = Playground(features=(), seed=0)
    e.step(2)
    out = e.predict(e.X_test)
    assert e.weights[0].shape == (0, 4) and np.ptp(out) == 0


# --------------------------------------------------------------------------------------------
# Gradients
# --------------------------------------------------------------------------------------------

GRADIENT_CASES = [
    # features, hidden layers, activation, regularization, problem, batch size
    (("x1", "x2"), (4, 2), "tanh", "none", "classification", 10),
    (ALL_FEATURES, (3, 3), "sigmoid", "L2", "classification", 7),
    (("x1^2", "x2^2", "x1x2"), (5,), "relu", "L1", "classification", 4),
    (("x1", "sin(x2)"), (), "tanh", "L2", "classification", 1),
    (("x1", "x2", "sin(x1)"), (2, 3, 2), "linear", "L1", "regression", 1),
    (ALL_FEATURES, (4,), "tanh", "L2", "regression", 6),
]


@pytest.mark.parametrize("features,layers,activation,reg,problem,batch", GRADIENT_CASES)
def test_gradients_with_features_and_regularization_match_numerical_gradients(
        features, layers, activation, reg, problem, batch):
    dataset = "xor" if problem == "classification" else "reg-gauss"
    e = Playground(problem=problem, dataset=dataset, features=features, hidden_layers=layers,
                   activation=activation, regularization=reg, regularization_rate=0.3,
                   seed=7)
    X, y = e.X_train[:batch], e.y_train[:batch]
    rate = e.settings.regularization_rate

    def objective(_):
        return e.batch_gradients(X, y)[0] + rate * e.penalty()[0]

    _, dW, db = e.batch_gradients(X, y)
    _, dpenalty = e.penalty()
    for layer in range(len(e.weights)):
        analytic = dW[layer] + rate * dpenalty[layer]
        numeric = numerical_gradient(objective, e.weights[layer])
        assert rel_error(analytic, numeric) < 1e-6, f"weights of layer {layer}"
        assert rel_error(db[layer], numerical_gradient(objective, e.biases[layer])) < 1e-6


@pytest.mark.torch
def test_gradients_match_torch_autograd():
    torch = pytest.importorskip("torch")
    e = Playground(features=ALL_FEATURES, hidden_layers=(5, 3), activation="tanh", seed=2)
    X, y = e.X_train[:9], e.y_train[:9]
    loss, dW, db = e.batch_gradients(X, y)
    from nnutils.data import feature_map
    h = torch.tensor(feature_map(X, list(ALL_FEATURES)), dtype=torch.float64)
    params = []
    for w, b in zip(e.weights, e.biases):
        tw = torch.tensor(w, requires_grad=True)
        tb = torch.tensor(b, requires_grad=True)
        params += [tw, tb]
        h = torch.tanh(h @ tw + tb)
    tloss = 0.5 * ((h[:, 0] - torch.tensor(y)) ** 2).mean()
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    for k in range(len(e.weights)):
        assert rel_error(dW[k], params[2 * k].grad.numpy()) < 1e-10
        assert rel_error(db[k], params[2 * k + 1].grad.numpy()) < 1e-10


def test_batch_gradients_reject_mismatched_labels():
    e = Playground()
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        e.batch_gradients(e.X_train[:3], e.y_train[:4])
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        e.predict(np.zeros((3, 3)))


# --------------------------------------------------------------------------------------------
# The update rule and the epoch
# --------------------------------------------------------------------------------------------

def test_l2_update_is_a_gradient_step_then_weight_decay_at_the_old_weight():
    w, dw = np.array([[0.5, -0.2]]), np.array([[0.1, 0.3]])
    new, dead = regularized_update(w, dw, lr=0.1, regularization="L2", rate=0.5)
    np.testing.assert_allclose(new, w - 0.1 * dw - 0.1 * 0.5 * w)
    assert not dead.any()
    assert w.tolist() == [[0.5, -0.2]] and dw.tolist() == [[0.1, 0.3]]   # inputs untouched


def test_l1_update_never_crosses_zero_and_dead_weights_stay_zero():
    w = np.array([[0.004, -0.004, 0.8, 0.0]])
    dw = np.zeros_like(w)
    new, dead = regularized_update(w, dw, lr=0.1, regularization="L1", rate=0.1)
    # 0.004 - 0.01 would cross zero: clamped to 0 and dead; 0.8 shrinks by 0.01; 0 stays.
    np.testing.assert_allclose(new, [[0.0, 0.0, 0.79, 0.0]])
    assert dead.tolist() == [[True, True, False, False]]
    again, dead2 = regularized_update(new, np.full_like(w, -5.0), 0.1, "L1", 0.1, dead)
    assert again[0, 0] == 0 and again[0, 1] == 0 and dead2[0, :2].all()
    assert again[0, 3] == pytest.approx(0.5)     # a live zero weight still follows its gradient


def test_no_regularization_ignores_the_rate_and_update_checks_shapes():
    w, dw = np.ones((2, 2)), np.full((2, 2), 2.0)
    new, _ = regularized_update(w, dw, 0.1, "none", 10.0)
    np.testing.assert_allclose(new, 0.8)
    with pytest.raises(ValueError, match=r"dw must have the shape of w \(2, 2\)"):
        regularized_update(w, np.ones(3), 0.1)
    with pytest.raises(ValueError, match="regularization must be one of"):
        regularized_update(w, dw, 0.1, "L3")


@pytest.mark.parametrize("batch,reg", [(10, "none"), (30, "L1"), (7, "L2"), (1, "none")])
def test_an_epoch_is_minibatch_sgd_in_stored_order_with_leftovers_carried_over(batch, reg):
    e = Playground(batch_size=batch, regularization=reg, regularization_rate=0.03,
                   learning_rate=0.1, seed=5)
    W = [w.copy() for w in e.weights]
    b = [v.copy() for v in e.biases]
    dead = [np.zeros(w.shape, bool) for w in W]
    shadow = Playground(replace(e.settings))        # the same net, used to compute gradients
    X, y = e.X_train, e.y_train
    n = len(y)
    carry = None
    for _ in range(2):
        for start in range(0, n - n % batch, batch):
            shadow.weights, shadow.biases = W, b
            _, dW, db = shadow.batch_gradients(X[start:start + batch], y[start:start + batch])
            if carry is not None:       # the last epoch's leftover points join this batch
                cW, cb, m = carry
                dW = [(c + batch * g) / (m + batch) for c, g in zip(cW, dW)]
                db = [(c + batch * g) / (m + batch) for c, g in zip(cb, db)]
                carry = None
            for k in range(len(W)):
                W[k], dead[k] = regularized_update(W[k], dW[k], 0.1, reg, 0.03, dead[k])
                b[k] = b[k] - 0.1 * db[k]
        if n % batch:
            shadow.weights, shadow.biases = W, b
            _, dW, db = shadow.batch_gradients(X[n - n % batch:], y[n - n % batch:])
            m = n % batch
            carry = ([m * g for g in dW], [m * g for g in db], m)
    e.step(2)
    for k in range(len(W)):
        np.testing.assert_allclose(e.weights[k], W[k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(e.biases[k], b[k], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_step_lowers_the_loss_on_the_default_circle(seed):
    e = Playground(seed=seed)
    before = e.train_loss
    e.step()
    assert e.epoch == 1 and e.train_loss < before


def test_l2_keeps_weights_smaller_and_l1_kills_weights_for_good():
    base = Settings(dataset="spiral", features=ALL_FEATURES, hidden_layers=(8, 8), seed=1)
    plain = Playground(base)
    l2 = Playground(replace(base, regularization="L2", regularization_rate=0.1))
    l1 = Playground(replace(base, regularization="L1", regularization_rate=0.03))
    for e in (plain, l2, l1):
        e.step(40)

    def norm(e):
        return sum(float(np.vdot(w, w)) for w in e.weights)

    assert norm(l2) < 0.5 * norm(plain)
    dead = [d.copy() for d in l1.dead]
    assert sum(d.sum() for d in dead) > 10 and not any(d.any() for d in plain.dead)
    l1.step(10)
    for w, d in zip(l1.weights, dead):
        assert np.all(w[d] == 0)                   # once zero, zero until the next reset


def _regions(values):
    ndimage = pytest.importorskip("scipy.ndimage")
    positive = values >= 0
    return ndimage.label(positive)[1] + ndimage.label(~positive)[1]


def test_l2_preset_removes_the_islands_of_an_overfitted_boundary():
    preset = PRESETS["regularization: L2 simplifies the boundary"]
    settings = replace(preset.settings, seed=3)
    regular = Playground(settings)
    free = Playground(replace(settings, regularization="none"))
    regular.step(preset.epochs)
    free.step(preset.epochs)
    assert _regions(regular.heatmap(100)) == 2          # one boundary line
    assert _regions(free.heatmap(100)) > 2              # islands around single points
    assert free.train_loss < regular.train_loss and regular.test_loss < free.test_loss


# --------------------------------------------------------------------------------------------
# Presets, settings changes, heat maps
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,check", [
    ("XOR: no hidden layer fails", lambda loss: loss > 0.4),
    ("XOR: the x1·x2 feature alone solves it", lambda loss: loss < 0.05),
    ("XOR: one hidden layer solves it", lambda loss: loss < 0.1),
    ("spiral: a shallow net struggles", lambda loss: loss > 0.3),
    ("spiral: depth (and sin features) helps", lambda loss: loss < 0.1),
    ("circle: x1² and x2² make it linear", lambda loss: loss < 0.05),
])
def test_presets_do_what_they_claim(name, check):
    preset = PRESETS[name]
    e = Playground(preset.settings)
    e.step(preset.epochs)
    assert check(e.test_loss), f"{name}: test loss {e.test_loss:.3f} after {e.epoch} epochs"


def test_every_preset_is_named_in_the_brief_and_explains_itself():
    assert len(PRESETS) == 7
    for preset in PRESETS.values():
        assert isinstance(preset.settings, Settings) and preset.epochs > 0
        assert len(preset.lesson) > 40


def test_run_preset_trains_a_fresh_engine_with_changes():
    e = run_preset("circle: x1² and x2² make it linear", epochs=3, seed=4)
    assert e.epoch == 3 and e.settings.seed == 4 and e.settings.features == ("x1^2", "x2^2")
    with pytest.raises(ValueError, match="unknown preset 'XOR'"):
        run_preset("XOR")


def test_update_resets_what_the_original_resets():
    e = Playground(seed=2)
    e.step(3)
    weights, data = e.weights[0].copy(), e.X_train.copy()
    assert e.update(learning_rate=0.3) == "kept"
    assert e.epoch == 3 and np.array_equal(e.weights[0], weights)
    assert e.update(batch_size=5) == "reset"
    assert e.epoch == 0 and len(e.history) == 1 and np.array_equal(e.X_train, data)
    assert not np.array_equal(e.weights[0], weights)
    assert e.update(noise=20) == "new data"
    assert not np.array_equal(e.X_train, data)
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['colour'\]"):
        e.update(colour="red")
    with pytest.raises(ValueError, match="noise must be"):
        e.update(noise=99)
    assert e.settings.noise == 20                 # a rejected change changes nothing


def test_regenerate_draws_new_points_and_keeps_the_network():
    e = Playground(seed=2)
    e.step(2)
    weights, points = e.weights[1].copy(), e.X_train.copy()
    e.regenerate()
    assert e.epoch == 2 and np.array_equal(e.weights[1], weights)
    assert not np.array_equal(e.X_train, points)
    assert e.train_loss == pytest.approx(0.5 * np.mean((e.predict(e.X_train) - e.y_train) ** 2))


def test_reset_draws_fresh_weights_and_restarts_the_count():
    e = Playground(seed=2)
    e.step(2)
    old = e.weights[0].copy()
    e.reset()
    assert e.epoch == 0 and len(e.history) == 1 and not np.array_equal(e.weights[0], old)


def test_same_seed_same_run():
    a, b = Playground(seed=11, dataset="spiral"), Playground(seed=11, dataset="spiral")
    a.step(3)
    b.step(3)
    assert a.history == b.history


def test_heatmap_image_layout_puts_x1_rightwards_and_x2_upwards():
    G = grid_points(5)
    assert G[0].tolist() == [-6, 6] and G[4].tolist() == [6, 6] and G[-1].tolist() == [6, -6]
    for feature, axis in (("x1", 1), ("x2", 0)):
        e = Playground(features=(feature,), hidden_layers=())
        e.weights[0][:] = 1.0
        e.biases[0][:] = 0.0
        h = e.heatmap(50)
        assert h.shape == (50, 50)
        np.testing.assert_allclose(h, np.tanh(grid_points(50)[:, 1 - axis]).reshape(50, 50),
                                   atol=1e-6)
    with pytest.raises(ValueError, match="resolution must be an integer from 2 to 1000"):
        grid_points(1)


def test_neuron_heatmaps_show_each_hidden_neurons_activation():
    e = Playground(hidden_layers=(3, 2), seed=1)
    maps = e.neuron_heatmaps(12)
    assert [m.shape for m in maps] == [(3, 12, 12), (2, 12, 12)]
    expected = np.tanh(grid_points(12) @ e.weights[0] + e.biases[0])     # (144, 3)
    np.testing.assert_allclose(maps[0][2], expected[:, 2].reshape(12, 12), atol=1e-5)
    assert Playground(hidden_layers=()).neuron_heatmaps(10) == []
    assert set(e.feature_heatmaps(8)) == set(ALL_FEATURES)


def test_a_diverging_network_gives_non_finite_losses_without_warnings():
    e = Playground(problem="regression", dataset="reg-plane", activation="linear",
                   learning_rate=10, hidden_layers=(8, 8))
    e.step(5)                     # RuntimeWarnings are errors in this test suite
    assert not np.isfinite(e.train_loss) or e.train_loss > 1e6
    e.heatmap(20)
    render_heatmap(e.heatmap(20))


def test_step_rejects_negative_epochs():
    with pytest.raises(ValueError, match="epochs must be an integer >= 0"):
        Playground().step(-1)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

def test_value_colors_follow_the_playgrounds_scale():
    c = value_colors(np.array([-1.0, 0.0, 1.0, 5.0, np.nan]))
    assert tuple(c[0]) == ORANGE and tuple(c[2]) == BLUE and tuple(c[3]) == BLUE
    assert tuple(c[1]) == tuple(c[4]) == (232, 234, 235)
    pale = value_colors(np.array([1.0]), background=True)[0]
    assert np.all(pale > np.array(BLUE))            # alpha 160/255 over white
    assert value_colors(np.array([0.01, -0.01]), discretize=True).tolist() == \
        [list(BLUE), list(ORANGE)]


def test_render_heatmap_draws_points_with_white_or_black_outlines():
    values = np.zeros((10, 10))
    blank = render_heatmap(values, size=60)
    assert blank.shape == (60, 60, 3) and blank.dtype == np.uint8
    X, y = np.array([[0.0, 0.0], [9.0, 9.0]]), np.array([1.0, -1.0])
    with_train = render_heatmap(values, (X, y), size=60)
    assert tuple(with_train[30, 30]) == BLUE and tuple(with_train[30, 26]) == (255, 255, 255)
    with_test = render_heatmap(values, None, (X, y), size=60)
    assert tuple(with_test[30, 26]) == (0, 0, 0)
    assert (with_train != blank).any(axis=2).sum() < 60        # the point outside is left out
    with pytest.raises(ValueError, match=r"values must be a square \(R, R\) array"):
        render_heatmap(np.zeros((3, 4)))


def test_discretized_heatmap_has_two_colours():
    values = np.linspace(-1, 1, 100).reshape(10, 10)
    assert len(np.unique(render_heatmap(values, size=40).reshape(-1, 3), axis=0)) > 5
    assert len(np.unique(render_heatmap(values, discretize=True, size=40).reshape(-1, 3),
                         axis=0)) == 2


def test_render_links_colour_and_thickness_follow_the_weight():
    thin = render_links(np.array([[0.1]]), [20.5], [20.5], 40, 20)
    thick = render_links(np.array([[5.0]]), [20.5], [20.5], 40, 20)
    negative = render_links(np.array([[-5.0]]), [20.5], [20.5], 40, 20)
    painted = lambda img: (img != 255).any(axis=2).sum()          # noqa: E731
    assert painted(thin) == 20 and painted(thick) == 5 * 20     # 1 and 5 pixels wide
    assert tuple(thick[10, 20]) == BLUE and tuple(negative[10, 20]) == ORANGE
    slanted = render_links(np.array([[1.0, -1.0]]), [5.0], [5.0, 35.0], 40, 20)
    assert (slanted[19, 33:38] != 255).any() and (slanted[0, 3:8] != 255).any()
    with pytest.raises(ValueError, match=r"weights must be \(n_in, n_out\) = \(1, 2\)"):
        render_links(np.ones((2, 2)), [1.0], [1.0, 2.0], 10)


def test_render_loss_chart_and_thumbnails_and_colorbar():
    chart = render_loss_chart([(0.5, 0.6), (0.3, 0.4), (0.1, 0.2)], 50, 20)
    assert chart.shape == (20, 50, 3)
    assert ((chart == 119).all(axis=2)).any() and ((chart == 0).all(axis=2)).any()
    assert (render_loss_chart([], 50, 20) == 255).all()
    thumbs = render_thumbnails(np.zeros((3, 5, 5)) + 1, thumb=10, slot=14, width=60)
    assert thumbs.shape == (10, 60, 3) and (thumbs[:, 45:] == 255).all()
    assert render_colorbar(20, 4).shape == (4, 20, 3)
    with pytest.raises(ValueError, match=r"maps must be \(K, r, r\)"):
        render_thumbnails(np.zeros((3, 4)))


# --------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------

@pytest.fixture
def app_box():
    box = make_playground_app(seed=0)
    yield box
    box.app.pause()


def test_building_and_displaying_the_app_trains_nothing(app_box):
    from IPython.display import display

    threads = threading.active_count()
    display(app_box)
    time.sleep(0.2)
    assert app_box.engine.epoch == 0 and not app_box.app.is_playing
    assert threading.active_count() == threads
    assert app_box.images["heatmap"].value[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("control,value,field,expected", [
    ("learning_rate", 0.3, "learning_rate", 0.3),
    ("activation", "relu", "activation", "relu"),
    ("regularization", "L2", "regularization", "L2"),
    ("regularization_rate", 0.1, "regularization_rate", 0.1),
    ("dataset", "spiral", "dataset", "spiral"),
    ("train_percent", 70, "train_percent", 70),
    ("noise", 25, "noise", 25),
    ("batch_size", 5, "batch_size", 5),
])
def test_each_control_changes_the_engines_settings(app_box, control, value, field, expected):
    app_box.controls[control].value = value
    assert getattr(app_box.engine.settings, field) == expected


def test_problem_type_switches_the_offered_data_sets(app_box):
    app_box.controls["problem"].value = "regression"
    assert app_box.engine.settings.dataset == "reg-plane"
    assert [v for _, v in app_box.controls["dataset"].options] == ["reg-plane", "reg-gauss"]
    app_box.controls["dataset"].value = "reg-gauss"
    app_box.controls["problem"].value = "classification"
    assert app_box.engine.settings.dataset == "circle"
    app_box.controls["problem"].value = "regression"
    assert app_box.engine.settings.dataset == "reg-gauss"      # remembered per problem


def test_feature_toggles_and_layer_buttons_change_the_network(app_box):
    c = app_box.controls
    c["features"]["x1x2"].value = True
    c["features"]["x1"].value = False
    assert app_box.engine.settings.features == ("x2", "x1x2")
    assert app_box.engine.weights[0].shape == (2, 4)
    c["add_layer"].click()
    assert app_box.engine.settings.hidden_layers == (4, 2, 2)
    assert len(c["add_neuron"]) == 3 and len(app_box.images["layers"]) == 3
    c["add_neuron"][0].click()
    c["remove_neuron"][1].click()
    assert app_box.engine.settings.hidden_layers == (5, 1, 2)
    assert c["remove_neuron"][1].disabled
    c["remove_layer"].click()
    assert app_box.engine.settings.hidden_layers == (5, 1)
    for _ in range(8):
        c["add_layer"].click()
    assert len(app_box.engine.settings.hidden_layers) == 6 and c["add_layer"].disabled


def test_step_button_advances_an_epoch_and_redraws_fast(app_box):
    before = app_box.images["heatmap"].value
    start = time.perf_counter()
    app_box.controls["step"].click()
    seconds = time.perf_counter() - start
    print(f"\nstep (one epoch + full redraw): {seconds * 1e3:.1f} ms")
    assert app_box.engine.epoch == 1 and app_box.images["heatmap"].value != before
    assert ">000,001<" in app_box.app._epoch.value


def test_reset_button_restarts_from_epoch_zero(app_box):
    for _ in range(3):
        app_box.controls["step"].click()
    trained = app_box.images["heatmap"].value
    app_box.controls["reset"].click()
    assert app_box.engine.epoch == 0 and len(app_box.engine.history) == 1
    assert app_box.images["heatmap"].value != trained


def test_show_test_data_and_discretize_change_the_picture(app_box):
    plain = app_box.images["heatmap"].value
    start = time.perf_counter()
    app_box.controls["show_test_data"].value = True
    print(f"\nredraw on a check box: {(time.perf_counter() - start) * 1e3:.1f} ms")
    with_test = app_box.images["heatmap"].value
    app_box.controls["discretize"].value = True
    both = app_box.images["heatmap"].value
    assert len({plain, with_test, both}) == 3
    app_box.controls["show_test_data"].value = False
    app_box.controls["discretize"].value = False
    assert app_box.images["heatmap"].value == plain


def test_regenerate_button_changes_the_points_not_the_network(app_box):
    weights = app_box.engine.weights[0].copy()
    before = app_box.images["heatmap"].value
    app_box.controls["regenerate"].click()
    assert np.array_equal(app_box.engine.weights[0], weights)
    assert app_box.images["heatmap"].value != before


def _wait_for(condition, seconds=10.0):
    deadline = time.perf_counter() + seconds
    while not condition() and time.perf_counter() < deadline:
        time.sleep(0.01)
    return condition()


def test_play_trains_in_a_thread_and_pause_stops_it(app_box):
    app = app_box.app
    app_box.controls["play"].click()
    assert app.is_playing and app_box.controls["play"].icon == "pause"
    assert _wait_for(lambda: app_box.engine.epoch >= 3)
    thread = app._thread
    start = time.perf_counter()
    app_box.controls["play"].click()
    print(f"\npause took {(time.perf_counter() - start) * 1e3:.1f} ms")
    assert not thread.is_alive() and not app.is_playing
    assert app_box.controls["play"].icon == "play"
    epoch = app_box.engine.epoch
    time.sleep(0.2)
    assert app_box.engine.epoch == epoch and app.frames >= 3
    assert app.error == ""


def test_changing_settings_while_playing_is_safe(app_box):
    app = app_box.app
    app.play()
    assert _wait_for(lambda: app_box.engine.epoch >= 2)
    app_box.controls["learning_rate"].value = 0.1         # applies on the fly
    assert app.is_playing and app_box.engine.settings.learning_rate == 0.1
    epoch = app_box.engine.epoch
    assert _wait_for(lambda: app_box.engine.epoch > epoch)
    app_box.controls["noise"].value = 10                   # rebuilds: pauses, as the original
    assert not app.is_playing and app_box.engine.epoch == 0
    app.play()
    assert _wait_for(lambda: app_box.engine.epoch >= 1)
    app_box.controls["add_layer"].click()
    app_box.controls["step"].click()
    assert not app.is_playing and app_box.engine.epoch == 1 and app.error == ""


def test_preset_menu_loads_a_preset_and_explains_it(app_box):
    name = "XOR: the x1·x2 feature alone solves it"
    app_box.controls["preset"].value = name
    s = app_box.engine.settings
    assert s == PRESETS[name].settings
    toggles = app_box.controls["features"]
    assert toggles["x1x2"].value and not toggles["x1"].value
    assert app_box.controls["dataset"].value == "xor" and len(app_box.app.images["layers"]) == 0
    assert "single output neuron" in app_box.app._lesson.value
    assert app_box.controls["preset"].value == ""
    with pytest.raises(ValueError, match="unknown preset"):
        app_box.app.load_preset("nope")


def test_app_accepts_settings_off_the_menus():
    box = make_playground_app(Settings(learning_rate=0.05, regularization_rate=0.02))
    assert box.controls["learning_rate"].value == 0.05
    assert box.controls["regularization_rate"].value == 0.02
    assert asdict(box.engine.settings)["learning_rate"] == 0.05
    with pytest.raises(TypeError, match="settings must be a Settings"):
        make_playground_app({"noise": 5})


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("problem, dataset", [("classification", "spiral"),
                                              ("regression", "reg-plane")])
@pytest.mark.parametrize("batch", [1, 7])
def test_fast_training_gradients_equal_the_layer_functions(activation, problem, dataset, batch):
    ALL = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)")
    p = Playground(Settings(problem=problem, dataset=dataset, features=ALL,
                            hidden_layers=(8, 3, 5), activation=activation))
    F, y = p._F_train[:batch], p.y_train[:batch]
    loss, dW, db = p._mean_gradients(F, y)
    ref_loss, ref_dW, ref_db = p._mean_gradients_layers(F, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for a, b in zip(dW + db, ref_dW + ref_db):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
