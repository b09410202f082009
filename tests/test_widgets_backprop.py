"""Lecture 3's figures and widgets: graphs by hand, finite differences, vanishing gradients,
weight-space symmetries (nnutils.widgets.backprop)."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnutils.models import MLP  # noqa: E402
from nnutils.widgets.backprop import (  # noqa: E402
    GRAPH_EXAMPLES,
    INIT_CHOICES,
    _GraphCanvas,
    depth_data,
    difference_errors,
    equivalent_parameters,
    evaluate_graph_example,
    flip_hidden,
    layer_gradient_norms,
    loss_along_segment,
    make_depth_app,
    make_graph_app,
    permute_hidden,
    plot_depth_gradients,
    plot_difference_errors,
    plot_graph_example,
    plot_loss_along_segment,
    two_layer_forward,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    return depth_data(200)


def _png_pixels(png: bytes) -> np.ndarray:
    import io

    return plt.imread(io.BytesIO(png))


# --------------------------------------------------------------------------------------------
# 1. Graph examples
# --------------------------------------------------------------------------------------------

def test_deck_numbers_are_the_defaults_of_the_examples():
    r = evaluate_graph_example("(x + y)·z")
    assert r.nodes["q"].data == 3 and r.root.data == -12
    assert r.gradients == {"x": -4.0, "y": -4.0, "z": 3.0}
    r = evaluate_graph_example("c = u·(w·x + v·y)")
    assert r.values["dL_dc"] == 3.0 and r.nodes["h"].data == 14
    assert r.gradients == {"w": 12.0, "x": 6.0, "v": 24.0, "y": 18.0, "u": 42.0}
    assert r.nodes["h"].grad == 6.0 and r.root.grad == 3.0
    r = evaluate_graph_example("exp(1/x)", x=2.0)
    assert r.gradients["x"] == pytest.approx(-math.exp(0.5) / 4, rel=1e-12)


@pytest.mark.parametrize("name", list(GRAPH_EXAMPLES))
def test_every_example_agrees_with_its_closed_form_and_centred_differences(name):
    rng = np.random.default_rng(7)
    example = GRAPH_EXAMPLES[name]
    for _ in range(5):
        values = {k: float(rng.uniform(lo, hi)) for k, (_, lo, hi) in example.inputs.items()}
        r = evaluate_graph_example(name, **values)
        for k in r.gradients:
            assert r.gradients[k] == pytest.approx(r.closed_form[k], rel=1e-9, abs=1e-12)
        assert r.max_rel_error < 1e-6


def test_plot_graph_example_draws_the_chosen_inputs():
    ax = plot_graph_example("(x + y)·z", x=1.0, y=2.0, z=3.0)
    shown = [t.get_text() for t in ax.texts]
    assert "f = 9" in shown and "∂f/∂z = 3" in shown and "∂f/∂x = 3" in shown
    assert "(x + y)·z" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_fast_redraw_shows_the_same_picture_as_a_full_drawing():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from nnutils.graph import _figsize, _layout, draw_graph

    name = "c = u·(w·x + v·y)"
    values = {"w": -1.5, "x": 0.5, "v": 2.0, "y": -3.0, "u": 1.25, "dL_dc": -2.0}
    canvas = _GraphCanvas(name)
    fast = canvas.render(evaluate_graph_example(name, **values).root)
    root = evaluate_graph_example(name, **values).root
    fig = Figure(figsize=_figsize(_layout(root.topological_order())), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.04, right=0.98, top=0.92, bottom=0.14)
    draw_graph(root, ax=ax, loss_name="L", title=f"{name}: forward values and gradients")
    fig.canvas.draw()
    full = np.asarray(fig.canvas.buffer_rgba())
    assert fast.shape == full.shape
    differs = np.any(fast != full, axis=-1).mean()
    assert differs < 0.002, f"{differs:.2%} of the pixels differ"
    # and the numbers really changed from the defaults
    default = canvas.render(evaluate_graph_example(name).root)
    assert np.any(default != fast, axis=-1).mean() > 0.002


def test_graph_app_redraws_when_a_slider_moves_and_reports_the_check():
    app = make_graph_app("(x + y)·z")
    sliders = app.sliders["(x + y)·z"]
    assert list(app.children[1].children) == list(sliders.values())
    before = app.panel.widget.value
    sliders["z"].value = 2.0
    assert app.panel.widget.value != before
    r = app.result()
    assert r.root.data == pytest.approx(3 * 2.0) and r.gradients["x"] == 2.0
    assert "backprop" in app.info.value and "relative error" in app.info.value
    print(f"graph app redraw: {app.panel.last_seconds * 1000:.0f} ms")
    assert app.panel.error == ""


def test_graph_app_switches_examples_and_their_sliders():
    app = make_graph_app()
    times = []
    for name in GRAPH_EXAMPLES:
        before = app.panel.widget.value
        app.controls["example"].value = name
        assert app.result().name == name
        assert list(app.children[1].children) == list(app.sliders[name].values())
        if name != "(x + y)·z":
            assert app.panel.widget.value != before
        first = next(iter(app.sliders[name].values()))
        first.value = first.min + 0.5
        times.append(app.panel.last_seconds)
        assert app.result().values[next(iter(app.sliders[name]))] == pytest.approx(
            first.min + 0.5)
    print("graph app redraws (ms):", [round(t * 1000) for t in times])
    app.controls["example"].value = "c = u·(w·x + v·y)"
    app.sliders["c = u·(w·x + v·y)"]["dL_dc"].value = -1.0
    r = app.result()
    assert r.gradients["u"] == pytest.approx(-1.0 * r.nodes["h"].data) and r.nodes["h"].data != 0
    assert "upstream" in app.info.value


def test_graph_examples_reject_unknown_names_and_inputs():
    with pytest.raises(ValueError, match="unknown example 'sin'"):
        evaluate_graph_example("sin")
    with pytest.raises(ValueError, match="unknown input"):
        evaluate_graph_example("(x + y)·z", w=1.0)
    with pytest.raises(TypeError, match="x must be a number"):
        evaluate_graph_example("(x + y)·z", x="1")
    with pytest.raises(ValueError, match="unknown example"):
        make_graph_app("nope")


# --------------------------------------------------------------------------------------------
# 2. Finite differences
# --------------------------------------------------------------------------------------------

def _f(x):
    return math.exp(1 / x)


def test_forward_differences_are_first_order_and_centred_second_order():
    hs = np.logspace(-4, -2, 9)
    hs, forward, centred = difference_errors(_f, -math.e, 1.0, hs)
    slope_forward = np.polyfit(np.log10(hs), np.log10(forward), 1)[0]
    slope_centred = np.polyfit(np.log10(hs), np.log10(centred), 1)[0]
    assert slope_forward == pytest.approx(1.0, abs=0.1)
    assert slope_centred == pytest.approx(2.0, abs=0.1)
    assert np.all(centred < forward)
    # the first-order term is h·|f''(1)|/2 with f''(x) = e^(1/x)(2x + 1)/x⁴, f''(1) = 3e
    assert forward[-1] == pytest.approx(hs[-1] * 3 * math.e / 2, rel=0.05)


def test_rounding_error_takes_over_for_tiny_steps():
    hs, _, centred = difference_errors(_f, -math.e, 1.0, [1e-13, 1e-5])
    assert centred[0] > 100 * centred[1]


def test_plot_difference_errors_labels_everything():
    hs, fwd, ctr = difference_errors(_f, -math.e, 1.0, np.logspace(-12, -1, 12))
    ax = plot_difference_errors(hs, fwd, ctr)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 4


def test_difference_errors_check_their_input():
    with pytest.raises(ValueError, match="hs must be a non-empty list of finite steps > 0"):
        difference_errors(_f, 1.0, 1.0, [1e-3, 0.0])
    with pytest.raises(TypeError, match="f must be a function"):
        difference_errors(3.0, 1.0, 1.0, [1e-3])
    with pytest.raises(ValueError, match="forward must have shape"):
        plot_difference_errors([1e-3, 1e-2], [1.0], [1.0, 2.0])


# --------------------------------------------------------------------------------------------
# 3. Vanishing gradients
# --------------------------------------------------------------------------------------------

def test_depth_data_is_a_fixed_batch_of_digits(digits):
    X, y = digits
    X2, y2 = depth_data(200)
    assert X.shape == (200, 64) and y.shape == (200,)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and set(y.tolist()) == set(range(10))


def test_deep_sigmoid_gradients_vanish_and_relu_he_gradients_do_not(digits):
    X, y = digits
    sig = layer_gradient_norms(X, y, 10, "sigmoid", "xavier_uniform")
    relu = layer_gradient_norms(X, y, 10, "relu", "he_normal")
    assert sig.shape == relu.shape == (11,)
    assert sig[0] / sig[-1] < 1e-3                 # five orders of magnitude in practice
    assert np.all(np.diff(np.log10(sig)) > 0)       # shrinking layer after layer, backwards
    assert 0.1 < relu[0] / relu[-1] < 10


def test_layer_gradient_norms_are_those_of_the_library_mlp(digits):
    X, y = digits
    norms = layer_gradient_norms(X, y, 3, "tanh", "he_normal", width=16, seed=4)
    model = MLP([64, 16, 16, 16, 10], activation="tanh", init="he_normal",
                rng=np.random.default_rng(4))
    assert np.allclose(norms, model.gradient_norms(X, y), rtol=1e-12)


def test_plot_depth_gradients_draws_the_net_and_its_reference(digits):
    X, y = digits
    ax = plot_depth_gradients(X, y, 6, "sigmoid", "xavier_uniform")
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    assert np.allclose(ax.lines[0].get_ydata(), layer_gradient_norms(X, y, 6))
    assert "6 hidden layers" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "sigmoid, xavier_uniform", "relu, he_normal (reference)"]
    ax = plot_depth_gradients(X, y, 4, "relu", "he_normal")
    assert len(ax.lines) == 1                      # the reference is the net itself


def test_depth_app_redraws_for_every_control():
    app = make_depth_app(depth=8)
    assert app.norms().shape == (9,)
    times = []
    for key, value in [("depth", 20), ("activation", "relu"), ("init", "small_random"),
                       ("width", 16), ("activation", "tanh")]:
        before = app.panel.widget.value
        app.controls[key].value = value
        assert app.panel.widget.value != before, key
        times.append(app.panel.last_seconds)
    assert app.norms().shape == (21,)
    assert "tanh units, small_random weights" in app.info.value
    print("depth app redraws (ms):", [round(t * 1000) for t in times])
    assert set(app.controls["init"].options) == set(INIT_CHOICES)


def test_vanishing_gradient_functions_check_their_input(digits):
    X, y = digits
    with pytest.raises(ValueError, match="activation must be one of"):
        layer_gradient_norms(X, y, 3, "sign")
    with pytest.raises(ValueError, match="init must be one of"):
        layer_gradient_norms(X, y, 3, "relu", "zeros")
    with pytest.raises(ValueError, match="depth must be <= 50"):
        layer_gradient_norms(X, y, 51)
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        layer_gradient_norms(X[0], y, 3)
    with pytest.raises(ValueError, match="reference must be a pair"):
        plot_depth_gradients(X, y, 3, reference="relu")


# --------------------------------------------------------------------------------------------
# 4. Weight-space symmetries
# --------------------------------------------------------------------------------------------

def _random_params(rng, d=2, m=3, k=2):
    return {"W1": rng.normal(size=(d, m)), "b1": rng.normal(size=m),
            "W2": rng.normal(size=(m, k)), "b2": rng.normal(size=k)}


def test_all_m_factorial_times_two_to_the_m_weight_vectors_compute_the_same_tanh_net():
    rng = np.random.default_rng(0)
    params = _random_params(rng)
    X = rng.normal(size=(50, 2))
    out = two_layer_forward(X, params)
    family = equivalent_parameters(params)
    assert len(family) == math.factorial(3) * 2 ** 3 == 48
    flat = {np.concatenate([p[k].ravel() for k in ("W1", "b1", "W2", "b2")]).round(12).tobytes()
            for p in family}
    assert len(flat) == 48                                   # 48 different weight vectors
    for p in family:
        assert np.allclose(two_layer_forward(X, p), out, rtol=0, atol=1e-12)
    assert all(np.array_equal(family[0][k], params[k]) for k in params)


def test_permutations_keep_any_net_but_sign_flips_only_a_tanh_net():
    rng = np.random.default_rng(1)
    params = _random_params(rng)
    X = rng.normal(size=(40, 2))
    perm = permute_hidden(params, [2, 0, 1])
    flip = flip_hidden(params, [1, -1, 1])
    for act in ("relu", "sigmoid", "tanh"):
        assert np.allclose(two_layer_forward(X, perm, act), two_layer_forward(X, params, act))
    assert np.allclose(two_layer_forward(X, flip), two_layer_forward(X, params))
    assert not np.allclose(two_layer_forward(X, flip, "relu"),
                           two_layer_forward(X, params, "relu"))
    assert np.array_equal(perm["W1"][:, 0], params["W1"][:, 2])
    assert np.array_equal(perm["W2"][0], params["W2"][2])


def test_the_loss_between_two_equivalent_trained_nets_rises_so_it_is_not_convex():
    from nnutils.data import make_circle
    from nnutils.train import train

    rng = np.random.default_rng(0)
    X, y = make_circle(200, 0, rng)
    labels = (y > 0).astype(int)
    model = MLP([2, 3, 2], activation="tanh", rng=np.random.default_rng(0))
    train(model, X, labels, epochs=60, lr=0.05, progress=False)
    params = dict(model.params)
    other = flip_hidden(permute_hidden(params, [1, 2, 0]), [-1, 1, -1])
    ts, losses = loss_along_segment(params, other, X, labels, steps=21)
    assert ts[0] == 0 and ts[-1] == 1 and losses.shape == (21,)
    assert losses[0] == pytest.approx(losses[-1], rel=1e-10)
    assert losses.max() > losses[0] + 0.1                  # above the (flat) chord
    ax = plot_loss_along_segment(ts, losses)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 2


def test_symmetry_functions_check_their_input():
    params = _random_params(np.random.default_rng(2))
    with pytest.raises(ValueError, match="perm must be a permutation of 0..2"):
        permute_hidden(params, [0, 0, 1])
    with pytest.raises(ValueError, match="signs must hold only"):
        flip_hidden(params, [1, 2, 1])
    with pytest.raises(ValueError, match="params must be a dict with keys W1"):
        two_layer_forward(np.zeros((1, 2)), {"W1": params["W1"]})
    with pytest.raises(ValueError, match=r"params\['b1'\] must have shape \(3,\)"):
        two_layer_forward(np.zeros((1, 2)), {**params, "b1": np.zeros(4)})
    with pytest.raises(ValueError, match="X must have shape"):
        two_layer_forward(np.zeros((1, 5)), params)
    with pytest.raises(ValueError, match="use at most 6"):
        equivalent_parameters(_random_params(np.random.default_rng(3), m=7))
