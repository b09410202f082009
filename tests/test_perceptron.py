"""The perceptron, Rosenblatt's rule, XOR, and the Western deck's sign networks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnutils.data import make_linearly_separable
from nnutils.perceptron import (
    XOR_X,
    XOR_Y,
    perceptron_cycle,
    perceptron_predict,
    perceptron_trace,
    perceptron_train,
    perceptron_update,
    sign,
    sign_network_forward,
    xor_network,
)


def test_sign_of_zero_is_plus_one():
    assert sign(np.array([-2.0, 0.0, 3.0])).tolist() == [-1.0, 1.0, 1.0]


def test_predict_puts_points_on_the_line_in_the_positive_class():
    X = np.array([[1.0, 1.0], [2.0, -1.0], [-3.0, 0.0]])
    assert perceptron_predict(X, np.array([1.0, -1.0]), 0.0).tolist() == [1.0, 1.0, -1.0]


@pytest.mark.parametrize("n,d", [(1, 1), (5, 3), (40, 7)])
def test_predict_matches_the_sign_of_the_score(n, d):
    rng = np.random.default_rng(n * d)
    X, w, b = rng.standard_normal((n, d)), rng.standard_normal(d), 0.3
    pred = perceptron_predict(X, w, b)
    assert pred.shape == (n,) and pred.dtype == np.float64
    np.testing.assert_array_equal(pred, np.where(X @ w + b >= 0, 1.0, -1.0))


def test_update_moves_towards_a_misclassified_sample_and_keeps_the_input():
    w = np.array([1.0, 0.0])
    w_before = w.copy()
    new_w, new_b = perceptron_update(w, 0.0, np.array([-1.0, 2.0]), 1, lr=0.5)
    np.testing.assert_allclose(new_w, [0.5, 1.0])
    assert new_b == 0.5
    np.testing.assert_array_equal(w, w_before)


def test_update_counts_a_point_on_the_line_as_a_mistake():
    new_w, new_b = perceptron_update(np.zeros(2), 0.0, np.array([1.0, 1.0]), -1)
    np.testing.assert_allclose(new_w, [-1.0, -1.0])
    assert new_b == -1.0


def test_update_leaves_a_correct_sample_alone():
    w = np.array([1.0, 2.0])
    new_w, new_b = perceptron_update(w, 0.5, np.array([1.0, 1.0]), 1)
    np.testing.assert_array_equal(new_w, w)
    assert new_b == 0.5 and new_w is not w


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 60))
def test_training_converges_on_separable_data(seed, n):
    X, y, _, _ = make_linearly_separable(n, np.random.default_rng(seed))
    w, b, mistakes = perceptron_train(X, y, epochs=1000)
    assert mistakes[-1] == 0
    np.testing.assert_array_equal(perceptron_predict(X, w, b), y)


def test_training_on_xor_never_converges():
    _, _, mistakes = perceptron_train(XOR_X, XOR_Y, epochs=25)
    assert len(mistakes) == 25 and min(mistakes) > 0


def test_xor_returns_to_the_start_after_every_epoch():
    assert perceptron_cycle(XOR_X, XOR_Y) == (0, 1)


def test_cycle_reports_convergence_as_none():
    X, y, _, _ = make_linearly_separable(30, np.random.default_rng(4))
    assert perceptron_cycle(X, y) is None


def test_cycle_finds_the_period_of_three_points_in_a_row():
    assert perceptron_cycle(np.array([[0.0], [1.0], [2.0]]), np.array([1, -1, 1])) == (2, 2)


def test_cycle_gives_up_clearly():
    with pytest.raises(RuntimeError, match="within 1 epochs"):
        perceptron_cycle(np.array([[0.0], [1.0], [2.0]]), np.array([1, -1, 1]), max_epochs=1)


def test_trace_replays_training_step_by_step():
    X, y, _, _ = make_linearly_separable(20, np.random.default_rng(1))
    steps = perceptron_trace(X, y)
    w, b, mistakes = perceptron_train(X, y)
    assert sum(s.mistake for s in steps) == sum(mistakes)
    np.testing.assert_array_equal(steps[-1].w, w)
    assert steps[-1].b == b and steps[0].index == -1


def test_xor_network_computes_xor():
    W1, b1, W2, b2 = xor_network()
    h = sign(XOR_X @ W1 + b1)
    out = sign(h @ W2 + b2).ravel()
    np.testing.assert_array_equal(out, XOR_Y)


# The Western deck's small example: f(x) = sign(4·sign(3x1 + 5x2) + 2·sign(6 + 3x2) + 7).
SMALL = [(np.array([[3.0, 5.0], [0.0, 3.0]]), np.array([0.0, 6.0])),
         (np.array([[4.0, 2.0]]), np.array([7.0]))]
# The deck's vector-notation example (column-vector convention, h = sign(W h + b)).
VECTOR = [(np.array([[3.0, 4.0], [1.0, 2.0], [9.0, 7.0]]), np.array([5.0, 8.0, 6.0])),
          (np.array([[3.0, 4.0, 1.0], [5.0, 2.0, 7.0]]), np.array([9.0, 1.0])),
          (np.array([[5.0, 3.0]]), np.array([6.0]))]


def test_small_sign_network_worked_values():
    hidden, out = sign_network_forward(np.array([1.0, -1.0]), SMALL)
    # 3·1 + 5·(−1) = −2 → −1 and 6 + 3·(−1) = 3 → +1; then 4·(−1) + 2·(+1) + 7 = 5 → +1
    assert hidden.tolist() == [-1.0, 1.0] and out.tolist() == [1.0]


def test_small_sign_network_outputs_plus_one_everywhere():
    # 4a + 2b + 7 >= 1 for a, b in {−1, +1}: the deck's network is a constant function
    grid = np.stack(np.meshgrid(np.linspace(-5, 5, 21), np.linspace(-5, 5, 21)), -1)
    assert np.all(sign_network_forward(grid.reshape(-1, 2), SMALL)[-1] == 1)


def test_vector_notation_example_layer_by_layer():
    h1, h2, h3 = sign_network_forward(np.array([-2.0, 0.0]), VECTOR)
    # W1·x + b1 = (−1, 6, −12); W2·h1 + b2 = (9, −9); w3·h2 + b3 = 8
    assert h1.tolist() == [-1.0, 1.0, -1.0]
    assert h2.tolist() == [1.0, -1.0]
    assert h3.tolist() == [1.0]


def test_bad_input_names_what_was_expected():
    with pytest.raises(ValueError, match=r"w must have shape \(3,\)"):
        perceptron_predict(np.ones((2, 3)), np.ones(2), 0.0)
    with pytest.raises(ValueError, match="labels \\+1 and -1"):
        perceptron_train(np.ones((2, 2)), np.array([0, 1]))
    with pytest.raises(ValueError, match="y must be \\+1 or -1"):
        perceptron_update(np.ones(2), 0.0, np.ones(2), 2)
