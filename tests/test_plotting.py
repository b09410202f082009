"""Tests for nnutils.plotting: every figure has a title, labelled axes and the expected artists."""

import subprocess
import sys
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnutils.data import make_circle, make_reg_plane  # noqa: E402
from nnutils.plotting import (  # noqa: E402
    plot_decision_boundary,
    plot_gradient_norms,
    plot_images,
    plot_loss_curves,
    plot_optimizer_paths,
    plot_weight_grid,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def assert_labelled(ax):
    assert ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()


def legend_texts(ax):
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def test_plotting_modules_do_not_import_matplotlib_or_sklearn_at_import_time():
    code = ("import sys, nnutils.plotting, nnutils.data, nnutils.augment;"
            "print(sorted(m for m in ('matplotlib', 'sklearn', 'scipy', 'torch')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- decision boundary

def test_decision_boundary_draws_a_heat_map_and_one_scatter_per_class():
    X, y = make_circle(100, 0, np.random.default_rng(0))
    calls = []

    def predict(P):
        calls.append(P.copy())
        return np.tanh(2.5 - np.linalg.norm(P, axis=1))

    ax = plot_decision_boundary(predict, X, y, resolution=40)
    assert_labelled(ax)
    assert len(calls) == 1 and calls[0].shape == (1600, 2)     # one vectorized call
    assert calls[0].min() == -6 and calls[0].max() == 6
    assert len(ax.images) == 1 and ax.images[0].get_array().shape == (40, 40)
    assert len(ax.collections) == 2
    assert legend_texts(ax) == ["class -1", "class +1"]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 100


def test_decision_boundary_grid_is_oriented_like_the_plane():
    X = np.array([[1.0, 1.0], [-1.0, -1.0]])
    ax = plot_decision_boundary(lambda P: P[:, 0], X, np.array([1, -1]), resolution=5,
                                bounds=(-2, 2, -1, 1))
    Z = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(Z[0], np.linspace(-2, 2, 5))    # x1 grows to the right
    np.testing.assert_allclose(Z[:, 0], -2)
    assert ax.get_xlim() == (-2, 2) and ax.get_ylim() == (-1, 1)
    ax = plot_decision_boundary(lambda P: P[:, 1], X, np.array([1, -1]), resolution=5)
    Z = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(Z[:, 0], np.linspace(-6, 6, 5))  # x2 grows upwards (origin lower)


def test_decision_boundary_with_test_data_and_discretized_output():
    X, y = make_circle(60, 10, np.random.default_rng(1))
    ax = plot_decision_boundary(lambda P: np.tanh(P[:, 0]), X[:40], y[:40], X_test=X[40:],
                                y_test=y[40:], discretize=True, resolution=30)
    assert len(ax.collections) == 4
    assert legend_texts(ax)[-1] == "class +1 (test)"
    assert set(np.unique(ax.images[0].get_array())) == {-1.0, 1.0}


def test_decision_boundary_of_class_scores_shows_the_argmax_class():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]])
    y = np.array([0, 1, 2])
    scores = lambda P: np.stack([P[:, 0], P[:, 1], -P[:, 0] - P[:, 1]], axis=1)  # noqa: E731
    ax = plot_decision_boundary(scores, X, y, resolution=20)
    assert set(np.unique(ax.images[0].get_array())) == {0.0, 1.0, 2.0}
    assert legend_texts(ax) == ["class 0", "class 1", "class 2"]


def test_decision_boundary_of_a_regression_uses_one_scatter_of_targets():
    X, y = make_reg_plane(50, 0, np.random.default_rng(0))
    given_ax = plt.subplots()[1]
    ax = plot_decision_boundary(lambda P: P.sum(axis=1) / 10, X, y, ax=given_ax, colorbar=True)
    assert ax is given_ax
    assert len(ax.collections) == 1
    assert len(ax.figure.axes) == 2                                # the colour bar


def test_decision_boundary_bad_input_names_shapes():
    X, y = make_circle(10, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"predict_fn must map points \(M, 2\) to outputs"):
        plot_decision_boundary(lambda P: P.T, X, y)
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(10,\)"):
        plot_decision_boundary(lambda P: P[:, 0], X, y[:5])
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        plot_decision_boundary(lambda P: P[:, 0], np.zeros((10, 3)), y)
    with pytest.raises(ValueError, match=r"bounds must be"):
        plot_decision_boundary(lambda P: P[:, 0], X, y, bounds=(3, -3))


# ---------------------------------------------------------------- loss curves

def test_loss_curves_draw_train_and_val_loss_with_a_legend():
    history = {"train_loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 1.4, 1.2], "lr": [0.1] * 3}
    ax = plot_loss_curves(history)
    assert_labelled(ax)
    assert len(ax.lines) == 2 and ax.accuracy_ax is None
    assert legend_texts(ax) == ["train_loss", "val_loss"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [2.1, 1.4, 1.2])
    assert ax.lines[1].get_linestyle() == "--"


def test_loss_curves_put_accuracy_on_a_twin_axis():
    history = {"train_loss": [2.0, 1.0], "val_loss": [2.1, 1.4], "train_acc": [0.5, 0.8],
               "val_acc": [0.4, 0.7]}
    ax = plot_loss_curves(history, log=True)
    assert len(ax.lines) == 2 and len(ax.accuracy_ax.lines) == 2
    assert ax.accuracy_ax.get_ylabel() == "accuracy"
    assert ax.get_yscale() == "log"
    assert len(legend_texts(ax)) == 4


def test_loss_curves_accept_an_object_holding_the_lists():
    @dataclass
    class History:
        loss: list
        epoch: list

    ax = plot_loss_curves(History(loss=[3.0, 2.0, 1.0], epoch=[0, 5, 10]))
    assert len(ax.lines) == 1
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, 5, 10])


def test_loss_curves_skip_non_curves_and_draw_missing_values_as_gaps():
    history = {"train_loss": [3.0, 2.0, 1.0], "val_loss": [None, 2.5, 2.0],
               "layer_norms": [[1.0, 2.0], [3.0]], "name": "mlp"}
    ax = plot_loss_curves(history)
    assert len(ax.lines) == 2
    assert np.isnan(ax.lines[1].get_ydata()[0])


def test_loss_curves_without_losses_say_which_keys_they_got():
    with pytest.raises(ValueError, match=r"key containing 'loss'.*\['train_acc'\]"):
        plot_loss_curves({"train_acc": [0.1, 0.2]})
    with pytest.raises(TypeError, match=r"history must be a dict of lists"):
        plot_loss_curves(3)


# ---------------------------------------------------------------- weight grids

def test_weight_grid_tiles_the_columns_of_a_matrix():
    W = np.zeros((64, 10))
    W[5, 3] = 2.0                                   # column 3 has one bright pixel at (0, 5)
    ax = plot_weight_grid(W)
    assert_labelled(ax)
    assert len(ax.images) == 1
    mosaic = np.asarray(ax.images[0].get_array())
    assert mosaic.shape == (3 * 9 - 1, 4 * 9 - 1)  # 10 tiles in 4 columns, 1-pixel gaps
    tile = mosaic[0:8, 3 * 9:3 * 9 + 8]
    assert tile[0, 5] == 1.0 and tile.sum() == 1.0
    assert np.all(mosaic[0:8, 0:8] == 0.5)          # a constant tile is drawn mid-grey


@pytest.mark.parametrize("shape, mosaic_shape", [((6, 1, 5, 5), (11, 17)),
                                                 ((4, 3, 5, 5), (11, 11, 3)),
                                                 ((2, 4, 3, 3), (7, 15))])
def test_weight_grid_draws_conv_filters(shape, mosaic_shape):
    W = np.random.default_rng(0).normal(size=shape)
    ax = plot_weight_grid(W)
    assert_labelled(ax)
    assert np.asarray(ax.images[0].get_array()).shape == mosaic_shape


def test_weight_grid_rejects_rows_that_do_not_make_images():
    with pytest.raises(ValueError, match=r"D = 8\*8 = 64 rows"):
        plot_weight_grid(np.zeros((63, 4)))
    with pytest.raises(ValueError, match=r"\(D, M\) or conv filters \(F, C, HH, WW\)"):
        plot_weight_grid(np.zeros(64))


# ---------------------------------------------------------------- gradient norms

def test_gradient_norms_of_a_list_are_bars_on_a_log_axis():
    ax = plot_gradient_norms([1e-6, 1e-4, 1e-2, 1.0])
    assert_labelled(ax)
    assert len(ax.patches) == 4 and ax.get_yscale() == "log"
    np.testing.assert_allclose([p.get_height() for p in ax.patches], [1e-6, 1e-4, 1e-2, 1.0])


def test_gradient_norms_of_named_layers_label_the_bars():
    ax = plot_gradient_norms({"fc1": 0.1, "fc2": 0.2, "out": 0.4}, log=False)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["fc1", "fc2", "out"]
    assert ax.get_yscale() == "linear"


def test_gradient_norms_of_several_networks_are_lines_with_a_legend():
    ax = plot_gradient_norms({"sigmoid": [1e-5, 1e-3, 1e-1], "ReLU": [0.2, 0.3, 0.3, 0.4]},
                             xlabel="time step")
    assert len(ax.lines) == 2
    assert legend_texts(ax) == ["sigmoid", "ReLU"]
    assert ax.get_xlabel() == "time step"


def test_gradient_norms_must_be_finite_and_non_negative():
    with pytest.raises(ValueError, match=r"finite norms >= 0"):
        plot_gradient_norms([0.1, -0.2])
    with pytest.raises(ValueError, match=r"finite norms >= 0"):
        plot_gradient_norms({"a": [0.1, np.nan]})


# ---------------------------------------------------------------- optimizer paths

def bowl(w):
    return w[..., 0] ** 2 + 10 * w[..., 1] ** 2


def test_optimizer_paths_draw_contours_and_one_line_per_path():
    paths = {"SGD": np.array([[1.5, 1.0], [1.2, -0.5], [1.0, 0.3]]),
             "Adam": np.array([[1.5, 1.0], [1.4, 0.9]])}
    ax = plot_optimizer_paths(bowl, paths, minimum=(0, 0), levels=10)
    assert_labelled(ax)
    assert len(ax.lines) == 3
    assert legend_texts(ax) == ["SGD", "Adam", "minimum"]
    np.testing.assert_array_equal(ax.lines[0].get_xydata(), paths["SGD"])
    contours = [c for c in ax.collections if isinstance(c, matplotlib.contour.ContourSet)]
    assert len(contours) == 1
    assert ax.get_xlim() == (-2, 2)


def test_optimizer_paths_survive_a_diverged_optimizer():
    paths = {"too fast": np.array([[1.0, 1.0], [-30.0, 50.0], [np.inf, np.nan]])}
    ax = plot_optimizer_paths(bowl, paths, bounds=(-3, 3))
    assert len(ax.lines) == 1 and ax.get_ylim() == (-3, 3)


def test_optimizer_paths_need_a_vectorized_loss_and_k_by_2_paths():
    with pytest.raises(ValueError, match=r"Write f with w\[\.\.\., 0\]"):
        plot_optimizer_paths(lambda w: float(w[0][0][0]), {"a": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"paths\['a'\] must have shape \(K, 2\)"):
        plot_optimizer_paths(bowl, {"a": np.zeros((2, 3))})
    with pytest.raises(TypeError, match=r"paths must be a dict"):
        plot_optimizer_paths(bowl, [np.zeros((2, 2))])


# ---------------------------------------------------------------- images

def test_images_of_flat_digits_make_one_mosaic_with_labels():
    images = np.random.default_rng(0).uniform(size=(12, 64))
    ax = plot_images(images, labels=np.arange(12), ncols=5)
    assert_labelled(ax)
    assert len(ax.images) == 1
    assert np.asarray(ax.images[0].get_array()).shape == (3 * 9 - 1, 5 * 9 - 1)
    assert [t.get_text() for t in ax.texts] == [str(k) for k in range(12)]


def test_images_mark_wrong_predictions_in_red():
    images = np.zeros((3, 1, 8, 8))
    ax = plot_images(images, labels=[1, 2, 3], predictions=[1, 5, 3])
    assert [t.get_text() for t in ax.texts] == ["1/1", "2/5", "3/3"]
    assert ax.texts[1].get_color() == "red" and ax.texts[0].get_color() != "red"
    assert "prediction" in ax.get_xlabel()


def test_images_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"flat images \(N, D\) must be square"):
        plot_images(np.zeros((2, 10)))
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        plot_images(np.zeros((2, 8, 8)), labels=[1, 2, 3])
