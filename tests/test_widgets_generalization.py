"""Lecture 5's widgets and plot functions: weight decay, dropout masks, elastic distortions,
early stopping and random search."""

import time

import numpy as np
import pytest

from nnutils.data import load_digits, make_circle
from nnutils.train import History
from nnutils.widgets import generalization as gz


@pytest.fixture(scope="module")
def circle():
    X, y = make_circle(200, 35, np.random.default_rng(1))
    return X[:60], y[:60], X[60:], y[60:]


@pytest.fixture(scope="module")
def family(circle):
    X, y, _, _ = circle
    return gz.fit_l2_family(X, y, lambdas=(0.0, 0.1, 1.0), epochs=200)


def test_weight_decay_shrinks_the_weights_and_the_training_fit(family, circle):
    X, y, _, _ = circle
    norms = [gz.weight_norm(family[lam]) for lam in (0.0, 0.1, 1.0)]
    assert norms[0] > norms[1] > norms[2]
    accs = [family[lam].accuracy(X, gz.to_classes(y)) for lam in (0.0, 0.1, 1.0)]
    assert accs[0] >= 0.95 and accs[0] > accs[2]         # unregularized: fits the noise


def test_l2_app_redraws_for_each_lambda(family, circle):
    app = gz.make_l2_app(family, *circle)
    first = app.panel.widget.value
    start = time.perf_counter()
    app.controls["lambda"].value = 0.1
    print(f"l2 redraw {time.perf_counter() - start:.3f} s")
    assert app.panel.widget.value != first and app.panel.draws == 2 and app.panel.error == ""
    fig = gz.draw_l2_boundary(family, 1.0, *circle)
    assert "λ = 1" in fig.axes[0].get_title() and "test" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="one of"):
        gz.draw_l2_boundary(family, 0.5, *circle)


def test_dropout_masks_are_zero_or_the_inverse_keep_probability():
    masks = gz.dropout_masks([1000, 1000], 0.3, seed=0)
    for m in masks:
        assert set(np.unique(m)) <= {0.0, 1 / 0.7}
        assert abs(np.mean(m == 0) - 0.3) < 0.05
        assert abs(m.mean() - 1.0) < 0.08                # the expectation is kept
    assert not np.array_equal(masks[0], gz.dropout_masks([1000], 0.3, seed=1)[0])


def test_dropout_app_new_mask_and_p_change_the_picture():
    app = gz.make_dropout_app(p=0.5)
    before = app.panel.widget.value
    app.controls["new mask"].click()
    assert app.state["seed"] == 1 and app.panel.widget.value != before
    app.controls["p"].value = 0.0
    fig = gz.draw_dropout(0.0)
    assert fig.axes[0].get_title().startswith("p = 0.00: 0 of")
    with pytest.raises(ValueError, match="p"):
        gz.draw_dropout(1.0)


def test_elastic_app_changes_with_alpha_and_sigma():
    image = load_digits(flatten=False, normalize=False).X_train[3, 0]
    app = gz.make_elastic_app(image, alpha=0.0)
    flat = app.panel.widget.value
    app.controls["alpha"].value = 10.0
    bent = app.panel.widget.value
    app.controls["sigma"].value = 4.0
    assert flat != bent != app.panel.widget.value and app.panel.error == ""
    fig = gz.draw_elastic(image, 0.0, 2.0, count=2)
    first, copy = fig.axes[0].images[0].get_array(), fig.axes[1].images[0].get_array()
    np.testing.assert_allclose(first, copy)              # alpha 0: no change
    assert "α = 0" in fig._suptitle.get_text()


def test_curves_with_stop_marks_the_early_stopping_epoch():
    h = History(train_loss=[1.0, 0.5, 0.3, 0.2, 0.1, 0.05],
                val_loss=[1.0, 0.6, 0.4, 0.45, 0.5, 0.39])
    fig, best = gz.curves_with_stop(h, patience=2)
    assert best == 2                   # the late 0.39 comes after the patience ran out
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "kept: epoch 3" in labels and "stopped: epoch 5" in labels
    _, best = gz.curves_with_stop(h, patience=3)
    assert best == 5


def test_random_search_is_log_uniform_inside_the_box_and_sorted():
    calls = []
    results = gz.random_search(lambda lr, reg: calls.append((lr, reg)) or -abs(np.log10(lr) + 2),
                               40, {"lr": (1e-4, 1e-1), "reg": (1e-5, 1.0)}, seed=0)
    lrs = np.log10([p["lr"] for p, _ in results])
    assert len(calls) == 40 and lrs.min() >= -4 and lrs.max() <= -1
    assert np.mean(lrs < -2.5) > 0.3                      # log-uniform, not uniform
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)
    fig = gz.plot_random_search(results, "lr", "reg")
    assert fig.axes[0].get_xscale() == "log"
    assert "best" in fig.axes[0].get_legend().texts[0].get_text()
