"""Lecture 2's figures and widgets (nnutils.widgets.multilayer): XOR, the deck's sign networks,
activations, decision boundaries as hidden units grow, universal approximation, softmax."""

import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nnutils.layers import activation_derivative, sigmoid  # noqa: E402
from nnutils.losses import sigmoid_binary_cross_entropy, softmax  # noqa: E402
from nnutils.perceptron import XOR_X, XOR_Y, sign, sign_network_forward, xor_network  # noqa: E402
from nnutils.plotting import BLUE, ORANGE  # noqa: E402
from nnutils.widgets import multilayer as ml  # noqa: E402

# Tiny training budgets so that the apps build in a fraction of a second.
QUICK = {"n": 60, "epochs": 3, "batch_size": 30, "lr": 0.1}
CHANGED_NETWORK = ml.VECTOR_NETWORK[:2] + [(np.array([[5.0, 3.0]]), np.array([-6.0]))]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _assert_labelled(ax):
    assert ax.get_title(), "every panel needs a title"
    assert ax.get_xlabel() and ax.get_ylabel(), "every panel needs labelled axes"


def _timed(app, control, value):
    """Set a control's value (observers run at once) and return the new PNG; print the time."""
    before = app.panel.draws
    start = time.perf_counter()
    app.controls[control].value = value
    seconds = time.perf_counter() - start
    assert app.panel.draws == before + 1, "the callback did not redraw"
    print(f"{control} = {value!r}: redraw {app.panel.last_seconds * 1000:.0f} ms"
          f" (callback {seconds * 1000:.0f} ms)")
    return _png(app)


def _png(app) -> bytes:
    return bytes(app.panel.widget.value)


# --------------------------------------------------------------------------------------------
# 1. XOR
# --------------------------------------------------------------------------------------------

def test_xor_points_plot_shows_the_four_points_in_two_classes():
    ax = ml.plot_xor_points()
    _assert_labelled(ax)
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert sorted(map(tuple, points)) == sorted(map(tuple, XOR_X))
    assert len(ax.get_legend().get_texts()) == 2


def test_xor_feature_space_puts_four_inputs_on_three_spots_that_one_line_separates():
    W1, b1, W2, b2 = xor_network()
    fig = ml.plot_xor_feature_space(W1, b1, W2, b2)
    ax_in, ax_h = fig.axes
    for ax in (ax_in, ax_h):
        _assert_labelled(ax)
    assert len(ax_in.lines) == 2                      # one line per hidden unit
    assert len(ax_h.lines) == 1                       # the output unit's line
    spots = np.concatenate([c.get_offsets() for c in ax_h.collections])
    H = sign(XOR_X @ W1 + b1)
    assert sorted(map(tuple, spots)) == sorted(map(tuple, H))
    assert len(np.unique(spots, axis=0)) == 3
    np.testing.assert_array_equal(sign(H @ W2 + b2)[:, 0], XOR_Y)


def test_xor_feature_space_names_a_wrong_shape():
    W1, b1, W2, b2 = xor_network()
    with pytest.raises(ValueError, match=r"W1 must have shape \(2, 2\)"):
        ml.plot_xor_feature_space(np.ones((3, 2)), b1, W2, b2)
    with pytest.raises(ValueError, match=r"b2 must be a 1-D array \(1,\)"):
        ml.plot_xor_feature_space(W1, b1, W2, 0.5)


# --------------------------------------------------------------------------------------------
# 2. The deck's sign networks
# --------------------------------------------------------------------------------------------

def test_small_network_is_the_decks_formula():
    rng = np.random.default_rng(0)
    X = rng.uniform(-5, 5, size=(200, 2))
    formula = sign(4 * sign(3 * X[:, 0] + 5 * X[:, 1]) + 2 * sign(6 + 3 * X[:, 1]) + 7)
    np.testing.assert_array_equal(sign_network_forward(X, ml.SMALL_NETWORK)[-1][:, 0], formula)


@pytest.mark.parametrize("layers,x,expected", [
    (ml.SMALL_NETWORK, (1, -1), [([-2, 3], [-1, 1]), ([5], [1])]),
    (ml.SMALL_NETWORK, (0, -3), [([-15, -3], [-1, -1]), ([1], [1])]),
    (ml.VECTOR_NETWORK, (1, -1), [([4, 7, 8], [1, 1, 1]), ([17, 15], [1, 1]), ([14], [1])]),
    (ml.VECTOR_NETWORK, (-2, 0), [([-1, 6, -12], [-1, 1, -1]), ([9, -9], [1, -1]), ([8], [1])]),
])
def test_sign_network_trace_gives_the_worked_numbers(layers, x, expected):
    trace = ml.sign_network_trace(np.array(x, dtype=float), layers)
    assert len(trace) == len(expected)
    for (a, h), (a_want, h_want) in zip(trace, expected):
        np.testing.assert_array_equal(a, a_want)
        np.testing.assert_array_equal(h, h_want)


@pytest.mark.parametrize("layers", [ml.SMALL_NETWORK, ml.VECTOR_NETWORK, CHANGED_NETWORK])
def test_sign_network_trace_agrees_with_sign_network_forward(layers):
    rng = np.random.default_rng(1)
    for x in rng.uniform(-12, 12, size=(30, 2)):
        trace = ml.sign_network_trace(x, layers)
        forward = sign_network_forward(x, layers)
        for (_, h), h_forward in zip(trace, forward, strict=True):
            np.testing.assert_array_equal(h, h_forward)


def test_sign_network_trace_names_a_layer_that_does_not_fit():
    bad = [(np.ones((3, 2)), np.zeros(3)), (np.ones((1, 2)), np.zeros(1))]
    with pytest.raises(ValueError, match=r"W2 must have shape \(\?, 3\)"):
        ml.sign_network_trace(np.ones(2), bad)
    with pytest.raises(ValueError, match=r"b1 must have shape \(3,\)"):
        ml.sign_network_trace(np.ones(2), [(np.ones((3, 2)), np.zeros(2))])


@pytest.mark.parametrize("layers", [ml.SMALL_NETWORK, ml.VECTOR_NETWORK])
def test_both_worked_networks_output_plus_one_for_every_hidden_pattern(layers):
    patterns, outputs = ml.hidden_pattern_outputs(layers)
    H = layers[0][0].shape[0]
    assert patterns.shape == (2 ** H, H) and len(np.unique(patterns, axis=0)) == 2 ** H
    assert np.all(outputs == 1)


def test_changing_the_output_bias_makes_the_vector_network_depend_on_its_input():
    _, outputs = ml.hidden_pattern_outputs(CHANGED_NETWORK)
    assert set(outputs[:, 0]) == {-1.0, 1.0}


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_output_is_the_pattern_tables_entry_for_the_first_layers_output(data):
    sizes = [2] + data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=3))
    ints = st.integers(-3, 3)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        W = np.array(data.draw(st.lists(ints, min_size=fan_in * fan_out,
                                        max_size=fan_in * fan_out)), float)
        b = np.array(data.draw(st.lists(ints, min_size=fan_out, max_size=fan_out)), float)
        layers.append((W.reshape(fan_out, fan_in), b))
    X = np.random.default_rng(data.draw(st.integers(0, 1000))).uniform(-5, 5, (20, 2))
    patterns, outputs = ml.hidden_pattern_outputs(layers)
    first, *_, last = sign_network_forward(X, layers)
    rows = [int(np.flatnonzero(np.all(patterns == h, axis=1))[0]) for h in first]
    np.testing.assert_array_equal(outputs[rows], last)


def test_hidden_pattern_outputs_needs_a_hidden_layer():
    with pytest.raises(ValueError, match="at least two layers"):
        ml.hidden_pattern_outputs(ml.SMALL_NETWORK[:1])


def test_regions_plot_counts_the_first_layer_regions_and_a_constant_output():
    fig = ml.plot_sign_network_regions(ml.SMALL_NETWORK, bounds=(-5, 5), resolution=120)
    ax_h, ax_out = fig.axes
    for ax in fig.axes:
        _assert_labelled(ax)
    assert "4 regions" in ax_h.get_title()
    assert len(ax_h.lines) == 2 and len(ax_h.texts) == 4          # a line per unit, a label
    assert "+1 everywhere" in ax_out.get_title()                   # per region
    assert np.unique(ax_out.images[0].get_array()).tolist() == [1.0]


def test_regions_plot_shows_both_outputs_when_the_output_varies():
    fig = ml.plot_sign_network_regions(CHANGED_NETWORK, bounds=(-12, 12), resolution=120)
    ax_h, ax_out = fig.axes
    assert "7 regions" in ax_h.get_title()      # 3 lines in general position: 7 regions
    assert np.unique(ax_out.images[0].get_array()).tolist() == [-1.0, 1.0]
    assert "everywhere" not in ax_out.get_title()


def test_regions_plot_needs_two_inputs_and_sane_bounds():
    with pytest.raises(ValueError, match=r"W1 must have shape \(\?, 2\)"):
        ml.plot_sign_network_regions([(np.ones((2, 3)), np.zeros(2)), (np.ones((1, 2)),
                                                                      np.zeros(1))])
    with pytest.raises(ValueError, match="bounds must be"):
        ml.plot_sign_network_regions(ml.SMALL_NETWORK, bounds=(3, -3))


@pytest.mark.parametrize("layers,edges", [(ml.SMALL_NETWORK, 7), (ml.VECTOR_NETWORK, 20)])
def test_network_diagram_draws_one_labelled_edge_per_nonzero_weight(layers, edges):
    ax = ml.draw_network(layers)
    _assert_labelled(ax)
    assert len(ax.lines) == edges
    labels = sorted(t.get_text() for t in ax.texts if t.get_bbox_patch() is not None)
    weights = sorted(f"{v:g}" for W, b in layers for v in np.concatenate([W.ravel(), b])
                     if v != 0)
    assert labels == weights
    names = {t.get_text() for t in ax.texts}
    assert {"$x_{1}$", "$x_{2}$", "$f$", "1"} <= names
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["input"] + [f"hidden {k}" for k in range(1, len(layers))] + ["output"]


def test_network_diagram_colours_negative_weights_orange():
    W1, b1, W2, b2 = xor_network()
    ax = ml.draw_network([(W1.T, b1), (W2.T, b2)])
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in ax.lines]
    assert colours.count(ORANGE) == 4             # b1 = (-0.5, -1.5), W2[1] = -1, b2 = -1
    assert colours.count(BLUE) == 5


def test_network_diagram_names_bad_layers():
    with pytest.raises(ValueError, match="layers must be a non-empty list"):
        ml.draw_network([])
    with pytest.raises(ValueError, match="input_names must give one name per input"):
        ml.draw_network(ml.SMALL_NETWORK, input_names=["a"])


# --------------------------------------------------------------------------------------------
# 3. Activations
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ml.ACTIVATION_ORDER)
def test_activation_plot_draws_the_function_and_its_backward_pass_derivative(name):
    ax = ml.plot_activation(name)
    _assert_labelled(ax)
    f_line, df_line = [line for line in ax.lines if line.get_label().startswith("$f")][:2]
    x, df = df_line.get_xdata(), df_line.get_ydata()
    keep = np.isfinite(df)
    np.testing.assert_allclose(df[keep], activation_derivative(name, x[keep]))
    assert keep.sum() >= len(x) - 1
    assert len(ax.get_legend().get_texts()) >= 2


def test_sign_plot_marks_the_missing_derivative_at_zero():
    ax = ml.plot_activation("sign")
    labels = [line.get_label() for line in ax.lines]
    assert any("does not exist" in label for label in labels)


def test_activation_plot_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        ml.plot_activation("swish")


def test_activation_app_redraws_for_every_choice():
    app = ml.make_activation_app("sign")
    seen = {_png(app)}
    for name in ["sigmoid", "tanh", "relu", "linear"]:
        png = _timed(app, "activation", name)
        assert png not in seen
        seen.add(png)
        assert name in app.info.value
    assert app.panel.last_seconds < 1.0


# --------------------------------------------------------------------------------------------
# 4. Decision boundaries as hidden units grow
# --------------------------------------------------------------------------------------------

def test_boundary_models_are_trained_once_per_width_and_reproducibly():
    a = ml.train_boundary_models("xor", max_hidden=3, recipe=QUICK)
    b = ml.train_boundary_models("xor", max_hidden=3, recipe=QUICK)
    assert sorted(a.models) == [1, 2, 3]
    assert a.X.shape == (60, 2) and set(np.unique(a.y)) == {-1.0, 1.0}
    for h in (1, 2, 3):
        assert a.models[h].sizes == [2, h, 2] and a.models[h].activation == "tanh"
        assert 0 <= a.accuracy[h] <= 1
        for key in a.models[h].params:
            np.testing.assert_array_equal(a.models[h].params[key], b.models[h].params[key])


def test_more_hidden_units_fit_xor_better():
    result = ml.train_boundary_models("xor", max_hidden=8)
    assert result.accuracy[1] < 0.85
    assert result.accuracy[8] >= 0.95


def test_boundary_training_refuses_regression_sets_and_incomplete_recipes():
    with pytest.raises(ValueError, match="classification set"):
        ml.train_boundary_models("reg-plane")
    with pytest.raises(ValueError, match="missing batch_size, lr"):
        ml.train_boundary_models("xor", recipe={"n": 10, "epochs": 1})


def test_boundary_plot_shows_the_probability_and_one_line_per_hidden_unit():
    result = ml.train_boundary_models("circle", max_hidden=3, recipe=QUICK)
    ax = ml.plot_hidden_units_boundary(result, 3)
    _assert_labelled(ax)
    assert "3 hidden tanh units" in ax.get_title()
    assert f"{result.accuracy[3]:.0%}" in ax.get_title()
    assert len(ax.lines) == 3
    image = ax.images[0].get_array()
    assert image.shape == (60, 60) and 0 <= image.min() <= image.max() <= 1
    with pytest.raises(ValueError, match="hidden must be one of the trained widths 1..3"):
        ml.plot_hidden_units_boundary(result, 4)
    with pytest.raises(TypeError, match="BoundaryModels"):
        ml.plot_hidden_units_boundary({}, 1)


def test_hidden_units_app_redraws_on_slider_and_dataset_and_returns_to_the_same_picture():
    app = ml.make_hidden_units_app(datasets=("xor", "circle"), max_hidden=3, value=1,
                                   recipes={"xor": QUICK, "circle": QUICK})
    first = _png(app)
    assert first.startswith(b"\x89PNG") and app.panel.draws == 1
    two = _timed(app, "hidden", 2)
    assert two != first and "2 hidden units" in app.info.value
    circle = _timed(app, "dataset", "circle")
    assert circle != two and "circle" in app.info.value
    _timed(app, "dataset", "xor")
    back = _timed(app, "hidden", 1)
    assert back == first, "a redraw left something of the previous drawing behind"
    assert set(app.results) == {"xor", "circle"}


# --------------------------------------------------------------------------------------------
# 5. Universal approximation
# --------------------------------------------------------------------------------------------

def test_feature_bank_is_nested_and_bends_inside_the_interval():
    W_big, b_big = ml.tanh_feature_bank(10, np.random.default_rng(3))
    W_small, b_small = ml.tanh_feature_bank(4, np.random.default_rng(3))
    np.testing.assert_array_equal(W_big[:, :4], W_small)
    np.testing.assert_array_equal(b_big[:4], b_small)
    assert W_big.shape == (1, 10) and b_big.shape == (10,)
    centres = -b_big / W_big[0]
    assert np.all((centres >= -3) & (centres <= 3))
    slopes = np.abs(W_big[0])
    assert np.all((slopes >= 0.5) & (slopes <= 8.0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        ml.tanh_feature_bank(3, 0)


def test_tanh_network_1d_is_the_formula():
    rng = np.random.default_rng(4)
    x = rng.normal(size=7)
    W1, b1, W2, b2 = rng.normal(size=(1, 5)), rng.normal(size=5), rng.normal(size=(5, 1)), [0.3]
    expected = np.tanh(np.outer(x, W1[0]) + b1) @ W2[:, 0] + 0.3
    np.testing.assert_allclose(ml.tanh_network_1d(x, W1, b1, W2, b2), expected)
    with pytest.raises(ValueError, match=r"W2 must have shape \(5, 1\)"):
        ml.tanh_network_1d(x, W1, b1, W2.T, b2)


def test_unregularised_fit_recovers_a_network_it_could_represent():
    W1, b1 = ml.tanh_feature_bank(6, np.random.default_rng(5))
    x = np.linspace(-3, 3, 200)
    W2_true, b2_true = np.array([[1.0], [-2.0], [0.5], [3.0], [0.0], [-1.0]]), np.array([0.7])
    target = ml.tanh_network_1d(x, W1, b1, W2_true, b2_true)
    W2, b2 = ml.fit_output_layer(x, target, W1, b1, reg=0.0)
    np.testing.assert_allclose(ml.tanh_network_1d(x, W1, b1, W2, b2), target, atol=1e-8)


@pytest.mark.parametrize("reg", [0.0, 1e-4, 0.1])
def test_fit_output_layer_solves_the_regularised_least_squares_problem(reg):
    rng = np.random.default_rng(6)
    W1, b1 = ml.tanh_feature_bank(12, rng)
    x = rng.uniform(-3, 3, 150)
    target = np.sin(2 * x)
    W2, b2 = ml.fit_output_layer(x, target, W1, b1, reg=reg)
    # An independent solution: least squares on rows with the penalty appended.
    A = np.hstack([np.tanh(np.outer(x, W1[0]) + b1), np.ones((150, 1))])
    A_aug = np.vstack([A, np.hstack([np.sqrt(reg) * np.eye(12), np.zeros((12, 1))])])
    coef = np.linalg.lstsq(A_aug, np.concatenate([target, np.zeros(12)]), rcond=None)[0]
    np.testing.assert_allclose(np.concatenate([W2[:, 0], b2]), coef, rtol=1e-6, atol=1e-6)


def test_fit_output_layer_names_mismatched_inputs():
    W1, b1 = ml.tanh_feature_bank(3, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"target must have shape \(5,\)"):
        ml.fit_output_layer(np.zeros(5), np.zeros(4), W1, b1)
    with pytest.raises(ValueError, match="reg must be >= 0"):
        ml.fit_output_layer(np.zeros(5), np.zeros(5), W1, b1, reg=-1)


@pytest.mark.parametrize("target", list(ml.APPROX_TARGETS))
def test_approximation_objective_never_grows_when_a_unit_is_added(target):
    x = np.linspace(*ml.APPROX_INTERVAL, 400)
    y = ml.APPROX_TARGETS[target](x)
    objectives = []
    for units in range(1, ml.MAX_APPROX_UNITS + 1, 3):
        W1, b1, W2, b2 = ml.approximate(target, units).params
        residual = ml.tanh_network_1d(x, W1, b1, W2, b2) - y
        objectives.append(residual @ residual + 1e-4 * float(W2[:, 0] @ W2[:, 0]))
    assert np.all(np.diff(objectives) <= 1e-9 * max(objectives))


def test_many_units_approximate_the_smooth_target_closely():
    few, many = ml.approximate("x·sin(3x)", 4), ml.approximate("x·sin(3x)", 48)
    assert many.rms < 0.02 and many.rms < few.rms / 10
    assert many.hidden.shape == (1001, 48) and many.fit.shape == many.y.shape == (1001,)
    np.testing.assert_allclose(many.y, many.x * np.sin(3 * many.x))
    assert many.max_error == pytest.approx(np.abs(many.fit - many.y).max())


def test_approximate_takes_a_function_and_refuses_bad_requests():
    fit = ml.approximate(np.cos, 10)
    assert fit.target == "cos" and fit.rms < 0.1
    with pytest.raises(ValueError, match="unknown target 'sine'"):
        ml.approximate("sine", 3)
    with pytest.raises(ValueError, match=f"units must be <= {ml.MAX_APPROX_UNITS}"):
        ml.approximate("step", ml.MAX_APPROX_UNITS + 1)
    with pytest.raises(ValueError, match=r"an \(N,\) array to an \(N,\) array"):
        ml.approximate(lambda x: 1.0, 3)


def test_approximation_plot_shows_every_unit_and_the_fit():
    fit = ml.approximate("|x|", 5)
    fig = ml.plot_approximation(fit)
    ax_h, ax_f = fig.axes
    for ax in fig.axes:
        _assert_labelled(ax)
        assert ax.get_legend() is not None
    assert len(ax_h.lines) == 5
    assert len(ax_f.lines) == 2 and f"{fit.rms:.3f}" in ax_f.get_title()
    with pytest.raises(TypeError, match="ApproximationFit"):
        ml.plot_approximation(None)


def test_approximation_app_follows_the_slider_and_the_target():
    app = ml.make_approximation_app(value=3, max_units=20)
    first = _png(app)
    assert app.fit().units == 3 and app.fit().target == "x·sin(3x)"
    more = _timed(app, "units", 12)
    assert more != first and app.fit().units == 12
    assert f"{app.fit().rms:.4f}" in app.info.value
    step = _timed(app, "target", "step")
    assert step != more and app.fit().target == "step"
    _timed(app, "target", "x·sin(3x)")
    assert _timed(app, "units", 3) == first
    with pytest.raises(ValueError, match="value must be <= 20"):
        ml.make_approximation_app(value=21, max_units=20)


# --------------------------------------------------------------------------------------------
# 6. Softmax and multi-label outputs
# --------------------------------------------------------------------------------------------

def test_decks_softmax_example_has_the_corrected_values():
    p = softmax(np.array([0.6, -1.0, 5.0, 8.0, 4.0]))
    assert [float(f"{v:.2g}") for v in p] == [0.00057, 0.00012, 0.047, 0.94, 0.017]
    assert p.sum() == pytest.approx(1.0)
    assert sum([0.006, 0.0001, 0.047, 0.94, 0.17]) > 1.16      # the slide's slip


def test_multilabel_worked_example_sums_binary_cross_entropies():
    z, t = np.array([[2.5, 1.0, -0.5, -3.0]]), np.array([[1.0, 1.0, 0.0, 0.0]])
    loss, grad = sigmoid_binary_cross_entropy(z, t)
    p = sigmoid(z)
    assert loss == pytest.approx(-(t * np.log(p) + (1 - t) * np.log(1 - p)).sum())
    assert loss == pytest.approx(0.9148, abs=1e-4)
    np.testing.assert_allclose(grad, p - t)


def test_class_probability_plot_colours_each_region_by_its_class():
    def one_hot_by_side(G):
        return np.stack([G[:, 0] < 0, G[:, 0] >= 0], axis=1).astype(float)

    X = np.array([[-2.0, 0.0], [2.0, 1.0]])
    ax = ml.plot_class_probabilities(one_hot_by_side, X, np.array([0, 1]), resolution=40)
    _assert_labelled(ax)
    image = ax.images[0].get_array()
    c0, c1 = (np.array(matplotlib.colors.to_rgb(c)) for c in ("C0", "C1"))
    np.testing.assert_allclose(image[20, 0], 0.45 * c0 + 0.55)
    np.testing.assert_allclose(image[20, -1], 0.45 * c1 + 0.55)
    assert len(ax.get_legend().get_texts()) == 2


def test_class_probability_plot_names_bad_probabilities_and_labels():
    X = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"\(M, C\) probabilities"):
        ml.plot_class_probabilities(lambda G: G[:, 0], X, np.array([0, 1]))
    with pytest.raises(ValueError, match="labels in 0..1"):
        ml.plot_class_probabilities(lambda G: softmax(G), X, np.array([0, 2]))
    with pytest.raises(ValueError, match=r"X must have shape \(\?, 2\)"):
        ml.plot_class_probabilities(lambda G: softmax(G), np.zeros((2, 3)), np.array([0, 1]))
