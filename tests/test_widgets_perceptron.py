"""Lecture 1's figures and widgets: the decision line, one Rosenblatt step, training frames."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nnutils.perceptron import XOR_X, XOR_Y, perceptron_trace, perceptron_train  # noqa: E402
from nnutils.plotting import BLUE, ORANGE  # noqa: E402
from nnutils.widgets.perceptron import (  # noqa: E402
    DATASETS,
    RED,
    count_mistakes,
    data_bounds,
    draw_decision_line,
    draw_neuron,
    draw_trace_step,
    draw_update,
    make_dataset,
    make_line_app,
    make_training_app,
    make_update_app,
    plot_mistakes_per_epoch,
    trace_state,
    update_report,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def separable():
    return make_dataset("separable")


def _polygon_area(xy):
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _shaded(ax):
    """The shaded half-planes of a drawing: {colour: polygon vertices (M, 2)}."""
    from matplotlib.colors import to_hex

    return {to_hex(p.get_facecolor(), keep_alpha=False): p.get_xy()[:-1] for p in ax.patches}


def _rings(ax, colour):
    from matplotlib.colors import to_hex

    found = []
    for c in ax.collections:
        edges = c.get_edgecolor()
        if len(edges) and to_hex(edges[0], keep_alpha=False) == colour \
                and len(c.get_facecolor()) == 0:
            found.append(c.get_offsets())
    return np.concatenate(found) if found else np.zeros((0, 2))


# --------------------------------------------------------------------------------------------
# Data and plain computations
# --------------------------------------------------------------------------------------------

def test_separable_data_set_is_learned_without_mistakes(separable):
    X, y = separable
    assert X.shape == (30, 2) and set(y.tolist()) == {-1.0, 1.0}
    _, _, mistakes = perceptron_train(X, y)
    assert mistakes[-1] == 0 and len(mistakes) > 2          # converges, but not at once


def test_noisy_data_set_flips_a_tenth_of_the_labels_and_never_converges(separable):
    X, y = make_dataset("noisy separable")
    np.testing.assert_array_equal(X, separable[0])
    assert np.sum(y != separable[1]) == 3
    assert perceptron_train(X, y, epochs=300)[2][-1] > 0


def test_xor_data_set_is_the_four_corners():
    X, y = make_dataset("XOR")
    np.testing.assert_array_equal(X, XOR_X)
    np.testing.assert_array_equal(y, XOR_Y)
    X[0, 0] = 7.0                                          # a copy: the constant stays intact
    assert XOR_X[0, 0] == 0.0


def test_data_sets_are_reproducible_from_the_seed():
    a, b, c = (make_dataset("separable", seed=s)[0] for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_unknown_data_set_names_the_choices():
    with pytest.raises(ValueError, match="make_dataset: name must be one of"):
        make_dataset("spiral")


@pytest.mark.parametrize("name", DATASETS)
def test_data_bounds_give_a_square_holding_every_point(name):
    X, _ = make_dataset(name)
    x0, x1, y0, y1 = data_bounds(X)
    assert x1 - x0 == pytest.approx(y1 - y0)
    assert np.all((X[:, 0] > x0) & (X[:, 0] < x1) & (X[:, 1] > y0) & (X[:, 1] < y1))


def test_data_bounds_of_xor_leave_half_a_unit_round_the_square():
    assert data_bounds(XOR_X) == pytest.approx((-0.5, 1.5, -0.5, 1.5))


def test_count_mistakes_matches_a_direct_count_and_puts_the_line_in_class_plus_one():
    X = np.array([[1.0, 1.0], [2.0, 0.0], [-1.0, 0.5], [0.0, -3.0]])
    y = np.array([-1.0, 1.0, -1.0, 1.0])
    # w = (1, -1), b = 0: scores 0, 2, -1.5, 3 -> predictions +1, +1, -1, +1
    assert count_mistakes(X, y, np.array([1.0, -1.0]), 0.0) == 1
    assert count_mistakes(X, y, np.zeros(2), 0.0) == 2    # w = 0, b = 0: everything is +1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=5, max_size=5), st.floats(0.1, 3))
def test_one_update_raises_the_margin_by_lr_times_norm_squared_plus_one(values, lr):
    w, b, x = np.array(values[:2]), values[2], np.array(values[3:])
    y = -1.0 if w @ x + b >= 0 else 1.0                   # always a mistake
    w_before = w.copy()
    report = update_report(w, b, x, y, lr)
    assert report["updated"]
    assert report["gain"] == pytest.approx(lr * (x @ x + 1), rel=1e-9, abs=1e-9)
    assert report["after"] == pytest.approx(y * (report["w"] @ x + report["b"]))
    np.testing.assert_array_equal(w, w_before)


def test_update_report_leaves_a_correct_sample_alone():
    report = update_report(np.array([1.0, 0.0]), 0.0, np.array([2.0, 5.0]), 1.0)
    assert not report["updated"] and report["gain"] == 0.0
    np.testing.assert_array_equal(report["w"], [1.0, 0.0])


def test_trace_state_counts_the_updates_of_training(separable):
    X, y = separable
    steps = perceptron_trace(X, y)
    _, _, mistakes = perceptron_train(X, y)
    end = trace_state(steps, len(steps) - 1)
    assert end["updates"] == sum(mistakes) and end["epoch"] == len(mistakes)
    assert end["last"] and end["converged"] and end["epoch_updates"] == 0
    start = trace_state(steps, 0)
    assert start["index"] == -1 and start["updates"] == 0 and not start["mistake"]
    first_mistake = next(k for k, s in enumerate(steps) if s.mistake)
    state = trace_state(steps, first_mistake)
    assert state["mistake"] and state["updates"] == 1 and state["epoch_updates"] == 1


def test_trace_state_of_xor_never_converges():
    steps = perceptron_trace(XOR_X, XOR_Y, epochs=5)
    end = trace_state(steps, len(steps) - 1)
    assert end["last"] and not end["converged"]
    assert end["updates"] == 20 and end["epoch"] == 5 and end["epoch_updates"] == 4


def test_trace_state_rejects_a_frame_outside_the_trace():
    steps = perceptron_trace(XOR_X, XOR_Y, epochs=1)
    with pytest.raises(ValueError, match="trace_state: k must be <= 4"):
        trace_state(steps, 5)
    with pytest.raises(TypeError, match="list of PerceptronStep"):
        trace_state([], 0)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

def test_decision_line_is_perpendicular_to_w_and_at_signed_distance_b(separable):
    X, y = separable
    w, b = np.array([1.5, -2.0]), 1.0
    ax = draw_decision_line(X, y, w, b)
    (line,) = [ln for ln in ax.lines if ln.get_label().startswith("decision line")]
    points = np.column_stack(line.get_data())
    np.testing.assert_allclose(points @ w + b, 0.0, atol=1e-9)   # both ends on w·x + b = 0
    direction = points[1] - points[0]
    assert abs(direction @ w) < 1e-9 * np.linalg.norm(direction)
    distance = (np.zeros(2) @ w + b) / np.linalg.norm(w)   # the origin's signed distance
    foot = -b * w / (w @ w)                                # its projection onto the line
    assert np.linalg.norm(foot) == pytest.approx(abs(distance))
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None


def test_decision_line_shades_each_half_plane_in_its_class_colour(separable):
    X, y = separable
    w, b = np.array([0.3, 1.0]), -0.5
    ax = draw_decision_line(X, y, w, b)
    shaded = _shaded(ax)
    box = data_bounds(X)
    box_area = (box[1] - box[0]) * (box[3] - box[2])
    assert _polygon_area(shaded[BLUE]) + _polygon_area(shaded[ORANGE]) == \
        pytest.approx(box_area)
    assert np.all(shaded[BLUE] @ w + b >= -1e-9)
    assert np.all(shaded[ORANGE] @ w + b <= 1e-9)
    rng = np.random.default_rng(0)                          # the blue share matches sampling
    inside = rng.uniform([box[0], box[2]], [box[1], box[3]], (20000, 2))
    share = np.mean(inside @ w + b >= 0)
    assert _polygon_area(shaded[BLUE]) / box_area == pytest.approx(share, abs=0.02)


def test_decision_line_rings_exactly_the_misclassified_points(separable):
    X, y = separable
    w, b = np.array([1.0, -1.0]), 0.5
    ax = draw_decision_line(X, y, w, b)
    rings = _rings(ax, RED)
    wrong = X[np.where(X @ w + b >= 0, 1.0, -1.0) != y]
    assert len(rings) == count_mistakes(X, y, w, b) == len(wrong) > 0
    np.testing.assert_allclose(np.sort(rings, axis=0), np.sort(wrong, axis=0))
    assert ax.get_title() == f"{len(wrong)} of 30 points misclassified"


@pytest.mark.parametrize("b,colour,mistakes", [(0.0, BLUE, 2), (-1.0, ORANGE, 2)])
def test_zero_weights_draw_no_line_and_one_class_everywhere(b, colour, mistakes):
    X, y = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [0.5, 3.0]]), [1, -1, 1, -1]
    ax = draw_decision_line(X, y, np.zeros(2), b)
    assert list(_shaded(ax)) == [colour]
    assert not [ln for ln in ax.lines if ln.get_label().startswith("decision line")]
    assert ax.get_title().startswith(f"{mistakes} of 4")


def test_draw_neuron_writes_the_weights_on_the_wires():
    ax = draw_neuron(np.array([2.0, -0.5]), 3.0)
    texts = [t.get_text() for t in ax.texts]
    assert "$w_1 = 2$" in texts and "$w_2 = -0.5$" in texts and "$b = 3$" in texts
    assert "sign" in ax.get_title()


def test_draw_update_shows_the_line_before_and_after_a_mistake(separable):
    X, y = separable
    w, b = np.array([1.0, -1.0]), 0.5
    i = int(np.flatnonzero(y * (X @ w + b) <= 0)[0])
    ax = draw_update(X, y, w, b, i, lr=0.5)
    labels = [ln.get_label() for ln in ax.lines]
    assert "line before the step" in labels and any(s.startswith("decision") for s in labels)
    before = ax.lines[labels.index("line before the step")]
    np.testing.assert_allclose(np.column_stack(before.get_data()) @ w + b, 0.0, atol=1e-9)
    report = update_report(w, b, X[i], y[i], 0.5)
    assert f"{report['after']:.2f}" in ax.get_title()


def test_draw_update_on_a_correct_sample_changes_nothing(separable):
    X, y = separable
    w, b = np.array([1.0, -1.0]), 0.5
    i = int(np.flatnonzero(y * (X @ w + b) > 0)[0])
    ax = draw_update(X, y, w, b, i)
    assert "no change" in ax.get_title()
    assert "line before the step" not in [ln.get_label() for ln in ax.lines]


def test_trace_frames_ring_the_visited_sample_red_on_a_mistake(separable):
    X, y = separable
    steps = perceptron_trace(X, y)
    k = next(k for k, s in enumerate(steps) if s.mistake and k > 1)
    ax = draw_trace_step(X, y, steps, k)
    visited = [c for c in ax.collections if c.get_label().startswith("visited")]
    assert len(visited) == 1 and visited[0].get_label() == "visited: mistake, update"
    np.testing.assert_allclose(visited[0].get_offsets()[0], X[steps[k].index])
    assert f"epoch {steps[k].epoch + 1}, sample {steps[k].index}" in ax.get_title()
    assert "line before the update" in [ln.get_label() for ln in ax.lines]


def test_trace_frames_mark_a_correct_visit_and_the_end(separable):
    X, y = separable
    steps = perceptron_trace(X, y)
    k = next(k for k, s in enumerate(steps) if not s.mistake and k > 0)
    ax = draw_trace_step(X, y, steps, k)
    assert [c.get_label() for c in ax.collections if c.get_label().startswith("visited")] \
        == ["visited: correct"]
    last = draw_trace_step(X, y, steps, len(steps) - 1)
    assert "converged" in last.get_title()
    assert "start" in draw_trace_step(X, y, steps, 0).get_title()


def test_trace_frames_refuse_a_trace_of_other_data(separable):
    X, y = separable
    steps = perceptron_trace(X, y)
    with pytest.raises(ValueError, match="visit sample 29, but X has only 4 rows"):
        draw_trace_step(XOR_X, XOR_Y, steps, 3)


def test_mistakes_per_epoch_plots_every_run_with_a_legend():
    ax = plot_mistakes_per_epoch({"separable": [5, 2, 0], "XOR": [4, 4, 4, 4]})
    assert [ln.get_label() for ln in ax.lines] == ["separable", "XOR"]
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [5, 2, 0])
    assert ax.get_legend() is not None and ax.get_xlabel() == "epoch" and ax.get_title()
    with pytest.raises(ValueError, match="non-empty list of mistake counts"):
        plot_mistakes_per_epoch([3, -1])


@pytest.mark.parametrize("call,message", [
    (lambda X, y: draw_decision_line(X[:, :1], y, [1, 1], 0), r"X must have shape \(\?, 2\)"),
    (lambda X, y: draw_decision_line(X, y, [1, 1, 1], 0), r"w must have shape \(2,\)"),
    (lambda X, y: draw_decision_line(X, y[:-1], [1, 1], 0), r"y must have shape \(30,\)"),
    (lambda X, y: draw_decision_line(X, 2 * y, [1, 1], 0), "labels \\+1 and -1"),
    (lambda X, y: draw_decision_line(X, y, [1, 1], 0, bounds=(1, 0, 0, 1)), "bounds must be"),
    (lambda X, y: draw_update(X, y, [1, 1], 0, 30), "i must be <= 29"),
])
def test_bad_input_names_what_was_expected(separable, call, message):
    with pytest.raises(ValueError, match=message):
        call(*separable)


# --------------------------------------------------------------------------------------------
# Widgets, driven as a test without a browser: set values, click buttons
# --------------------------------------------------------------------------------------------

def test_line_app_redraws_when_a_slider_moves(separable):
    X, y = separable
    app = make_line_app(X, y)
    first = app.panel.widget.value
    app.controls["w1"].value = -2.0
    assert app.panel.widget.value != first and app.panel.draws == 2
    mistakes = count_mistakes(X, y, [-2.0, -1.0], 0.0)
    assert f"{mistakes} of 30 misclassified" in app.status.value
    app.controls["b"].value = 2.0
    assert "b/‖w‖ = 0.89" in app.status.value              # 2 / sqrt(5)
    print(f"line app redraw: {app.panel.last_seconds * 1000:.0f} ms")


def test_line_app_answer_button_shows_a_separating_line_in_one_redraw(separable):
    X, y = separable
    app = make_line_app(X, y)
    draws = app.panel.draws
    app.controls["answer"].click()
    assert app.panel.draws == draws + 1
    assert "<b>0 of 30 misclassified" in app.status.value
    w_fit, b_fit, _ = perceptron_train(X, y)
    shown = np.array([app.controls[k].value for k in ("w1", "w2", "b")])
    ratio = shown / np.r_[w_fit, b_fit]                   # the same line, scaled by c > 0
    np.testing.assert_allclose(ratio, ratio[0])
    assert ratio[0] > 0 and np.max(np.abs(shown[:2])) <= 3.0


def test_update_app_reports_the_gain_of_the_chosen_sample(separable):
    X, y = separable
    w, b = np.array([1.0, -1.0]), 0.5
    app = make_update_app(X, y, w, b)
    first = app.panel.widget.value
    i = int(np.flatnonzero(y * (X @ w + b) <= 0)[0])
    app.controls["sample"].value = i
    app.controls["lr"].value = 0.5
    assert app.panel.widget.value != first
    gain = 0.5 * (X[i] @ X[i] + 1)
    assert f"= {gain:.2f}" in app.status.value
    j = int(np.flatnonzero(y * (X @ w + b) > 0)[0])
    app.controls["sample"].value = j
    assert "changes nothing" in app.status.value
    print(f"update app redraw: {app.panel.last_seconds * 1000:.0f} ms")


def test_training_app_steps_plays_and_resets(separable):
    app = make_training_app()
    c = app.controls
    steps = app.state["steps"]
    assert c["frame"].max == c["play"].max == len(steps) - 1
    assert {c["play"], c["frame"]} == {app.link.source[0], app.link.target[0]}
    first = app.panel.widget.value
    c["step"].click()
    c["step"].click()
    assert c["frame"].value == 2 and app.panel.widget.value != first
    assert f"w = ({steps[2].w[0]:.2f}, {steps[2].w[1]:.2f})" in app.status.value
    c["frame"].value = c["frame"].max
    c["step"].click()                                      # no step past the end
    assert c["frame"].value == c["frame"].max and "converged" in app.status.value
    c["play"].playing = True
    c["reset"].click()
    assert c["frame"].value == 0 and c["play"].value == 0 and not c["play"].playing
    assert app.panel.widget.value == first
    print(f"training app redraw: {app.panel.last_seconds * 1000:.0f} ms")


def test_training_app_retraces_when_the_data_set_changes():
    app = make_training_app(epochs=10)
    c = app.controls
    c["frame"].value = 5
    draws = app.panel.draws
    c["dataset"].value = "XOR"
    assert app.panel.draws == draws + 1                    # one redraw, not one per control
    assert c["frame"].value == 0 and c["frame"].max == c["play"].max == 4 * 10
    np.testing.assert_array_equal(app.state["X"], XOR_X)
    c["frame"].value = c["frame"].max
    assert "stopped after 10 epochs" in app.status.value
    c["dataset"].value = "noisy separable"
    # three labels flipped: the classes are no longer 15 and 15
    assert c["frame"].max == 30 * 10 and np.sum(app.state["y"] == 1) != 15


def test_training_app_rejects_an_unknown_data_set():
    with pytest.raises(ValueError, match="dataset must be one of"):
        make_training_app("circle")


def test_training_app_reset_wins_over_a_late_play_tick():
    app = make_training_app()
    c = app.controls
    c["frame"].value = 12
    c["play"].playing = True                               # the browser is playing
    c["reset"].click()
    c["frame"].value = 13                                  # a tick sent before "stop" arrived
    assert c["frame"].value == 0 and c["play"].value == 0
    c["frame"].value = 7                                   # not playing when reset: a drag
    c["reset"].click()
    c["frame"].value = 5
    assert c["frame"].value == 5
