"""Lecture 4's experiments, figures and widgets (nnutils.widgets.optimization): protocols, the
optimizer race, the learning-rate slider, schedules, initialization, the fish, hyperparameter
search."""

import time
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nnutils.data import load_digits  # noqa: E402
from nnutils.initializers import constant  # noqa: E402
from nnutils.models import MLP  # noqa: E402
from nnutils.schedules import exponential_decay, inverse_time_decay, step_decay  # noqa: E402
from nnutils.surfaces import SURFACES, least_squares  # noqa: E402
from nnutils.train import train  # noqa: E402
from nnutils.widgets import optimization as opt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def race_app():
    return opt.make_optimizer_race_app(surface="quadratic", optimizers=("sgd", "adam"), steps=60)


@pytest.fixture(scope="module")
def lr_app(digits):
    return opt.make_learning_rate_app(digits.X_train[:150], digits.y_train[:150], lr=0.3,
                                      steps=20, hidden=16, reference=(0.01, 5.0))


def _assert_labelled(ax):
    assert ax.get_title(), "every panel needs a title"
    assert ax.get_xlabel() and ax.get_ylabel(), "every panel needs labelled axes"


def _set(app, control, value):
    """Set a control (observers run at once); check that exactly one redraw happened; print its
    time; return the new PNG bytes."""
    before = app.panel.draws
    start = time.perf_counter()
    app.controls[control].value = value
    seconds = time.perf_counter() - start
    assert app.panel.draws == before + 1, f"setting {control} did not redraw exactly once"
    print(f"{control} = {value!r}: redraw {app.panel.last_seconds * 1000:.0f} ms"
          f" (callback {seconds * 1000:.0f} ms)")
    return bytes(app.panel.widget.value)


# --------------------------------------------------------------------------------------------
# 1. Protocols
# --------------------------------------------------------------------------------------------

def test_protocols_single_sample_makes_the_most_progress_per_epoch(digits):
    X, y = digits.X_train[:120], digits.y_train[:120]
    histories = opt.compare_protocols(X, y, epochs=2, hidden=8)
    assert list(histories) == list(opt.PROTOCOLS)
    for h in histories.values():
        assert h.epochs == 2 and len(h.seconds) == 2 and not h.diverged
    first = {name: h.train_loss[0] for name, h in histories.items()}
    assert first["single sample"] < first["mini-batch (32)"] < first["batch"]


def test_protocols_start_from_the_same_weights(digits):
    X, y = digits.X_train[:60], digits.y_train[:60]
    zero_lr = {"a": (None, 1e-12), "b": (1, 1e-12)}
    histories = opt.compare_protocols(X, y, zero_lr, epochs=1, hidden=4)
    assert histories["a"].train_loss[0] == pytest.approx(histories["b"].train_loss[0], rel=1e-9)


def test_plot_protocols_draws_loss_per_epoch_and_per_second(digits):
    histories = opt.compare_protocols(digits.X_train[:60], digits.y_train[:60], epochs=2,
                                      hidden=4)
    fig = opt.plot_protocols(histories)
    ax_epoch, ax_time = fig.axes
    for ax in (ax_epoch, ax_time):
        _assert_labelled(ax)
        assert len(ax.lines) == 3 and len(ax.get_legend().get_texts()) == 3
    assert ax_time.get_xscale() == "log"
    np.testing.assert_allclose(ax_time.lines[0].get_xdata(),
                               np.cumsum(histories["batch"].seconds))


def test_compare_protocols_rejects_bad_settings(digits):
    X, y = digits.X_train[:20], digits.y_train[:20]
    with pytest.raises(ValueError, match=r"must be a pair \(batch size, learning rate\)"):
        opt.compare_protocols(X, y, {"batch": 32})
    with pytest.raises(TypeError, match="non-empty dict"):
        opt.compare_protocols(X, y, [])
    with pytest.raises(ValueError, match=r"X must be a 2-D array \(N, D\)"):
        opt.compare_protocols(X[:, 0], y)


# --------------------------------------------------------------------------------------------
# 2. The optimizer race
# --------------------------------------------------------------------------------------------

def test_race_hyper_gives_beta_to_the_momentum_rules_and_adams_beta1():
    assert opt.race_hyper("momentum", 0.5) == {"beta": 0.5}
    assert opt.race_hyper("nesterov", 0.5) == {"beta": 0.5}
    assert opt.race_hyper("adam", 0.5) == {"beta1": 0.5}
    for name in ("sgd", "adagrad", "rmsprop"):
        assert opt.race_hyper(name, 0.5) == {}
    with pytest.raises(ValueError, match="unknown optimizer"):
        opt.race_hyper("lbfgs", 0.5)


def test_race_paths_and_summary_report_convergence_and_divergence():
    paths = opt.race_paths("quadratic", ("sgd", "momentum", "adam"), lr=0.05, beta=0.5,
                           steps=200)
    assert set(paths) == {"sgd", "momentum", "adam"}
    rows = {r["name"]: r for r in opt.race_summary("quadratic", paths)}
    for row in rows.values():
        assert row["diverged"] is None and row["steps"] == 200
        assert row["gap"] < 1e-3 and row["distance"] < 0.05
    blown = opt.race_paths("quadratic", ("sgd",), lr=0.15, steps=100)    # 1 − 0.15·20 = −2
    (row,) = opt.race_summary("quadratic", blown)
    assert row["diverged"] is not None and row["steps"] == row["diverged"] - 1


def test_plot_optimizer_race_draws_each_path_and_its_loss_gap():
    paths = opt.race_paths("saddle", ("sgd", "rmsprop"), lr=0.05, steps=50)
    fig = opt.plot_optimizer_race("saddle", paths)
    ax_path, ax_gap = fig.axes
    for ax in (ax_path, ax_gap):
        _assert_labelled(ax)
    assert "saddle" in ax_path.get_title()
    drawn = [line for line in ax_path.lines if line.get_label() in paths]
    assert [line.get_label() for line in drawn] == ["sgd", "rmsprop"]
    np.testing.assert_array_equal(drawn[0].get_xydata(), paths["sgd"])
    assert len(ax_path.collections) > 0                                  # the contours
    assert ax_gap.get_yscale() == "log" and len(ax_gap.lines) == 2
    assert [t.get_text() for t in ax_gap.get_legend().get_texts()] == ["sgd", "rmsprop"]


def test_plot_surface_marks_start_and_minimum():
    ax = opt.plot_surface("rosenbrock")
    _assert_labelled(ax)
    points = {tuple(np.round(line.get_xydata()[0], 6)) for line in ax.lines}
    assert (-1.2, 1.0) in points and (1.0, 1.0) in points


def test_race_app_redraws_on_every_control_and_keeps_state(race_app):
    app = race_app
    seen = {bytes(app.panel.widget.value)}
    for control, value in [("lr", 0.02), ("beta", 0.5), ("steps", 120), ("momentum", True),
                           ("rmsprop", True), ("sgd", False)]:
        png = _set(app, control, value)
        assert png not in seen, f"{control} did not change the picture"
        seen.add(png)
        assert app.panel.last_seconds < 1.0
    state = app.state()
    assert state["names"] == ("momentum", "rmsprop", "adam")
    assert state["lr"] == pytest.approx(0.02) and state["steps"] == 120
    assert all(p.shape == (121, 2) for p in state["paths"].values())
    assert "rmsprop" in app.info.value and "from the minimum" in app.info.value


def test_race_app_beta_changes_momentum_but_not_rmsprop(race_app):
    app = race_app
    app.controls["momentum"].value = True
    app.controls["rmsprop"].value = True
    before = {k: v.copy() for k, v in app.state()["paths"].items()}
    _set(app, "beta", 0.8 if app.controls["beta"].value != 0.8 else 0.7)
    after = app.state()["paths"]
    assert not np.array_equal(before["momentum"], after["momentum"])
    np.testing.assert_array_equal(before["rmsprop"], after["rmsprop"])


def test_race_app_choosing_a_surface_sets_its_learning_rate_and_draws_once(race_app):
    app = race_app
    png = _set(app, "surface", "rosenbrock")
    assert app.controls["lr"].value == pytest.approx(SURFACES["rosenbrock"].lr, rel=0.13)
    assert app.state()["surface"] is SURFACES["rosenbrock"]
    assert png != _set(app, "surface", "saddle")


def test_race_app_with_no_optimizer_asks_for_one_and_diverged_paths_are_reported(race_app):
    app = race_app
    app.controls["surface"].value = "quadratic"
    for name in opt.OPTIMIZER_NAMES:
        app.controls[name].value = False
    assert "tick an optimizer" in app.info.value
    app.controls["sgd"].value = True
    _set(app, "lr", 0.3)
    assert "diverged" in app.info.value


def test_race_app_redraws_fast_once_backgrounds_exist():
    app = opt.make_optimizer_race_app(surface="rosenbrock",
                                      optimizers=opt.OPTIMIZER_NAMES, steps=300)
    times = []
    for lr in (0.002, 0.003, 0.005, 0.01):
        _set(app, "lr", lr)
        times.append(app.panel.last_seconds)
    print(f"all six optimizers, 300 steps: median redraw {np.median(times) * 1000:.0f} ms")
    assert np.median(times) < 1.0          # the benchmark holds the 0.2 s line; this catches


def test_make_optimizer_race_app_rejects_unknown_names():
    with pytest.raises(ValueError, match="surface must be a Surface or one of"):
        opt.make_optimizer_race_app(surface="himmelblau")
    with pytest.raises(ValueError, match="unknown optimizer"):
        opt.make_optimizer_race_app(optimizers=("sgd", "lion"))


# --------------------------------------------------------------------------------------------
# 3. The learning rate
# --------------------------------------------------------------------------------------------

def _run(loss, diverged=None):
    return opt.GDRun(0.1, np.asarray(loss, dtype=float), diverged, 0.5, 0.0)


def test_lr_verdict_names_each_case():
    assert opt.lr_verdict(_run([2.0, 1.9, 1.8])) == "too low"
    assert opt.lr_verdict(_run([2.0, 1.0, 0.5, 0.2])) == "good"
    assert opt.lr_verdict(_run([2.0, 1.0, 1.5, 0.6, 0.9, 0.3])) == "oscillating"
    assert opt.lr_verdict(_run([2.0, 5.0], diverged=2)) == "diverged"
    with pytest.raises(TypeError, match="must be a GDRun"):
        opt.lr_verdict([1.0, 0.5])


def test_gradient_descent_run_is_reproducible_and_detects_divergence(digits):
    X, y = digits.X_train[:100], digits.y_train[:100]
    slow = opt.gradient_descent_run(X, y, 0.001, steps=15, hidden=8)
    good = opt.gradient_descent_run(X, y, 1.0, steps=15, hidden=8)
    again = opt.gradient_descent_run(X, y, 1.0, steps=15, hidden=8)
    wild = opt.gradient_descent_run(X, y, 30.0, steps=15, hidden=8)
    assert len(slow.loss) == len(good.loss) == 16
    assert slow.loss[0] == good.loss[0] == wild.loss[0]          # the same starting weights
    np.testing.assert_array_equal(good.loss, again.loss)
    assert opt.lr_verdict(slow) == "too low" and opt.lr_verdict(good) == "good"
    assert good.loss[-1] < 0.2 * good.loss[0] and good.accuracy > 0.8
    assert wild.diverged_at is not None and np.all(np.isfinite(wild.loss))
    assert opt.lr_verdict(wild) == "diverged" and len(wild.loss) == wild.diverged_at


def test_plot_lr_runs_draws_every_run_and_the_highlight(digits):
    X, y = digits.X_train[:80], digits.y_train[:80]
    runs = [opt.gradient_descent_run(X, y, lr, steps=10, hidden=8) for lr in (0.01, 1.0)]
    ax = opt.plot_lr_runs(runs, highlight=opt.gradient_descent_run(X, y, 0.3, steps=10,
                                                                   hidden=8))
    _assert_labelled(ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["lr = 0.01 (too low)", "lr = 1 (good)"]
    assert labels[-1].startswith("lr = 0.3")
    assert ax.get_yscale() == "log"


def test_learning_rate_app_runs_the_chosen_rate_and_says_what_happened(lr_app):
    app = lr_app
    first = bytes(app.panel.widget.value)
    png = _set(app, "lr", 30.0)
    assert png != first
    run = app.state()["run"]
    assert run.lr == pytest.approx(30.0) and run.diverged_at is not None
    assert "diverged" in app.info.value
    png2 = _set(app, "lr", 0.001)
    assert png2 not in (first, png) and "too low" in app.info.value


def test_gradient_descent_run_rejects_bad_input(digits):
    with pytest.raises(ValueError, match="lr must be > 0"):
        opt.gradient_descent_run(digits.X_train[:10], digits.y_train[:10], 0.0)
    with pytest.raises(ValueError, match=r"y must have shape \(10,\)"):
        opt.gradient_descent_run(digits.X_train[:10], digits.y_train[:9], 0.1)


# --------------------------------------------------------------------------------------------
# 4. Schedules and curves
# --------------------------------------------------------------------------------------------

def test_plot_schedules_draws_the_library_schedules():
    ax = opt.plot_schedules(lr0=0.2, epochs=12)
    _assert_labelled(ax)
    by_label = {line.get_label(): line.get_ydata() for line in ax.lines}
    epochs = range(12)
    np.testing.assert_allclose(by_label["step: ×0.5 every 5 epochs"],
                               [step_decay(0.2, e) for e in epochs])
    np.testing.assert_allclose(by_label["exponential: k = 0.1"],
                               [exponential_decay(0.2, e, 0.1) for e in epochs])
    np.testing.assert_allclose(by_label["1/t: k = 0.3"],
                               [inverse_time_decay(0.2, e, 0.3) for e in epochs])
    np.testing.assert_allclose(by_label["constant"], 0.2)


def test_plot_curves_draws_values_and_xy_pairs():
    ax = opt.plot_curves({"a": [3.0, 2.0, 1.0], "b": ([0.0, 5.0], [1.0, 0.5])}, log=True,
                         title="t", xlabel="x", ylabel="y")
    _assert_labelled(ax)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [0.0, 5.0])
    assert ax.get_yscale() == "log" and len(ax.get_legend().get_texts()) == 2
    with pytest.raises(ValueError, match=r"must have shape \(2,\)"):
        opt.plot_curves({"bad": ([0.0, 1.0], [1.0, 2.0, 3.0])})


# --------------------------------------------------------------------------------------------
# 5. Initialization
# --------------------------------------------------------------------------------------------

def test_hidden_unit_spread_is_zero_only_for_equal_columns():
    assert opt.hidden_unit_spread(np.full((4, 3), 0.7)) == 0.0
    W = np.array([[1.0, 1.0, 4.0], [0.0, 2.0, 0.0]])
    assert opt.hidden_unit_spread(W) == 3.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 6), h=st.integers(1, 6))
def test_hidden_unit_spread_ignores_the_order_of_the_units(seed, d, h):
    W = np.random.default_rng(seed).normal(size=(d, h))
    perm = np.random.default_rng(seed + 1).permutation(h)
    assert opt.hidden_unit_spread(W[:, perm]) == opt.hidden_unit_spread(W)


def test_equal_initial_weights_keep_the_hidden_units_identical_through_training(digits):
    X, y = digits.X_train[:64], digits.y_train[:64]
    model = MLP([64, 6, 10], "tanh", init=lambda fi, fo, rng: constant(fi, fo, 0.2))
    W1_start = model.params["W1"].copy()
    train(model, X, y, epochs=3, batch_size=16, optimizer="sgd", lr=0.5, progress=False)
    assert not np.array_equal(model.params["W1"], W1_start)           # it did learn ...
    assert opt.hidden_unit_spread(model.params["W1"]) == 0.0          # ... in lockstep
    assert opt.hidden_unit_spread(model.params["W2"].T) == 0.0


def test_layer_activations_vanish_saturate_or_stay_steady_as_the_lecture_says():
    def std(init, act):
        return opt.activation_std(opt.layer_activations(init, act, depth=8, width=64, n=50))

    small = std("small random, std 0.01", "tanh")
    assert small[-1] < 1e-6 * small[0]
    saturated = opt.layer_activations("N(0, 1)", "tanh", depth=4, width=64, n=50)[-1]
    assert np.mean(np.abs(saturated) > 0.9) > 0.6
    he_relu = std("He normal", "relu")
    assert 0.5 < he_relu[-1] / he_relu[0] < 2.0
    xavier_relu = std("Xavier uniform", "relu")
    assert xavier_relu[-1] < 0.2 * xavier_relu[0]                      # fades by √2 a layer
    acts = opt.layer_activations(lambda fi, fo, rng: np.eye(fi), "linear", depth=3, width=5,
                                 n=7, seed=1)
    assert [a.shape for a in acts] == [(7, 5)] * 3
    np.testing.assert_array_equal(acts[0], acts[2])                    # the identity net


def test_activation_plots_are_labelled():
    results = {name: opt.layer_activations(name, "tanh", depth=4, width=16, n=20)
               for name in ("Xavier uniform", "He normal")}
    ax = opt.plot_activation_statistics(results)
    _assert_labelled(ax)
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    fig = opt.plot_activation_histograms(results, layers=(1, 4))
    assert len(fig.axes) == 4
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel()


def test_layer_activations_rejects_unknown_choices():
    with pytest.raises(ValueError, match="init must be one of"):
        opt.layer_activations("glorot", "tanh")
    with pytest.raises(ValueError, match="activation must be"):
        opt.layer_activations("He normal", "sign")


# --------------------------------------------------------------------------------------------
# 6. The fish
# --------------------------------------------------------------------------------------------

def test_fish_have_metres_grams_and_a_price_that_depends_on_both():
    X, price = opt.make_fish(300, np.random.default_rng(0))
    assert X.shape == (300, 2) and price.shape == (300,)
    assert 0.3 <= X[:, 0].min() and X[:, 0].max() <= 0.7 and X[:, 1].min() > 0
    assert 2000 < np.median(X[:, 1]) < 4500
    coef = np.linalg.lstsq(X, price, rcond=None)[0]
    np.testing.assert_allclose(coef, [8.0, 0.002], rtol=0.3)
    X2, _ = opt.make_fish(300, np.random.default_rng(0))
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        opt.make_fish(10, 0)


def test_standardizing_the_fish_turns_a_needle_into_a_round_bowl():
    X, price = opt.make_fish(200, np.random.default_rng(0))
    Z, mean, std = opt.standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0)
    raw = least_squares(X, price)
    scaled = least_squares(Z, price - price.mean())
    assert raw.condition_number > 1e6 and scaled.condition_number < 10


def test_standardize_uses_the_training_statistics_and_leaves_inputs_alone():
    rng = np.random.default_rng(1)
    train_X, test_X = rng.normal(5, 2, size=(50, 3)), rng.normal(0, 1, size=(10, 3))
    train_X[:, 2] = 4.0                                   # a constant feature
    keep = test_X.copy()
    Z, mean, std = opt.standardize(train_X, test_X)
    np.testing.assert_allclose(Z, (test_X - mean) / std)
    np.testing.assert_allclose(mean, train_X.mean(axis=0))
    assert std[2] == 1.0
    np.testing.assert_array_equal(test_X, keep)
    with pytest.raises(ValueError, match=r"X must have shape \(\?, 3\)"):
        opt.standardize(train_X, test_X[:, :2])


# --------------------------------------------------------------------------------------------
# 7. Hyperparameter search
# --------------------------------------------------------------------------------------------

def test_grid_tries_few_distinct_values_and_random_search_tries_one_per_trial():
    grid = opt.grid_points(9)
    assert grid.shape == (9, 2) and len(np.unique(grid[:, 0])) == 3
    assert len(opt.grid_points(15)) == 9                   # ⌊√15⌋ = 3
    rand = opt.random_points(9, rng=np.random.default_rng(0))
    assert len(np.unique(rand[:, 0])) == 9
    box = np.array(opt.SEARCH_BOX)
    for pts in (grid, rand):
        assert np.all(pts >= box[:, 0]) and np.all(pts <= box[:, 1])


def test_search_objective_is_lowest_at_best_and_hardly_cares_about_the_second_value():
    p = np.array([[-2.3, 0.5], [-2.3, 0.0], [-1.0, 0.5]])
    values = opt.search_objective(p, best=-2.3)
    assert values[0] == pytest.approx(0.1)
    assert values[1] - values[0] <= 0.02 + 1e-12
    assert values[2] - values[0] > 0.5


def test_random_search_has_lower_regret_than_grid_search_on_the_same_budget():
    regrets = opt.search_regrets(budgets=(9, 16, 25), repeats=200, seed=0)
    assert np.all(regrets["random"] < regrets["grid"])
    assert np.all(np.diff(regrets["random"]) < 0)         # more trials help


def test_search_plots_are_labelled():
    fig = opt.plot_grid_vs_random(budget=9)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["grid search: 3 distinct learning rates",
                      "random search: 9 distinct learning rates"]
    for ax in fig.axes[:2]:
        _assert_labelled(ax)
    ax = opt.plot_search_regrets(opt.search_regrets(budgets=(4, 9), repeats=20))
    _assert_labelled(ax)
    assert len(ax.lines) == 2


def test_coarse_to_fine_searches_a_smaller_box_around_the_best_coarse_trial():
    target = np.array([0.3, -0.6])
    calls = {"coarse": 0, "fine": 0}

    def coarse(p):
        calls["coarse"] += 1
        return -float(np.sum((p - target) ** 2))

    def fine(p):
        calls["fine"] += 1
        return -float(np.sum((p - target) ** 2))

    box = ((-2.0, 2.0), (-2.0, 2.0))
    trials = opt.coarse_to_fine(coarse, box, n_coarse=12, n_fine=12, shrink=0.25,
                                rng=np.random.default_rng(0), fine_objective=fine)
    assert calls == {"coarse": 12, "fine": 12}
    coarse_best = trials.points[trials.stage == 0][np.argmax(trials.scores[trials.stage == 0])]
    fb = trials.fine_box
    np.testing.assert_allclose(fb[:, 1] - fb[:, 0], [1.0, 1.0])
    assert np.all(fb[:, 0] <= coarse_best) and np.all(coarse_best <= fb[:, 1])
    fine_points = trials.points[trials.stage == 1]
    assert np.all(fine_points >= fb[:, 0]) and np.all(fine_points <= fb[:, 1])
    assert trials.best[1] >= trials.scores[trials.stage == 0].max()
    ax = opt.plot_search_trials(trials)
    _assert_labelled(ax)


def test_digits_objective_scores_validation_accuracy_and_survives_divergence(digits):
    objective = opt.make_digits_objective(digits.X_train[:200], digits.y_train[:200],
                                          digits.X_val[:100], digits.y_val[:100], epochs=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # nothing may leak out
        good = objective(np.array([0.0, -4.0]))        # lr 1, L2 1e-4
        wild = objective(np.array([2.0, -4.0]))        # lr 100: diverges at once
    assert 0.75 < good <= 1.0
    assert wild < 0.4


def test_search_helpers_reject_bad_boxes():
    with pytest.raises(ValueError, match="low < high"):
        opt.grid_points(9, box=((1.0, 0.0), (0.0, 1.0)))
    with pytest.raises(ValueError, match=r"box must have shape \(2, 2\)"):
        opt.random_points(4, box=((0.0, 1.0),))
    with pytest.raises(TypeError, match="functions p -> score"):
        opt.coarse_to_fine(3, opt.SEARCH_BOX)
