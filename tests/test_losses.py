"""Tests of nnutils.losses: softmax, softmax cross-entropy, squared loss, multi-label BCE."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnutils.gradcheck import numerical_gradient, rel_error
from nnutils.losses import (
    sigmoid_binary_cross_entropy,
    softmax,
    softmax_cross_entropy,
    squared_loss,
)

CE_SHAPES = [(1, 2), (1, 5), (4, 3), (10, 7)]       # (N, C)
REG_SHAPES = [(1,), (5,), (1, 3), (4, 2)]           # pred shapes for squared loss / BCE


# ---- softmax -------------------------------------------------------------------------------

def test_softmax_rows_are_probabilities_matching_the_definition():
    scores = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    p = softmax(scores)
    e = np.exp(scores[0])
    np.testing.assert_allclose(p[0], e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(p[1], [1 / 3] * 3, rtol=1e-14)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)


def test_softmax_of_one_score_vector_and_of_huge_scores():
    np.testing.assert_allclose(softmax(np.array([0.0, np.log(3.0)])), [0.25, 0.75], rtol=1e-14)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(np.array([[1000.0, 1000.0, -1000.0], [5000.0, 0.0, 0.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], atol=1e-300)


@pytest.mark.torch
def test_softmax_matches_torch():
    torch = pytest.importorskip("torch")
    scores = 10 * np.random.default_rng(0).standard_normal((6, 4))
    expected = torch.softmax(torch.tensor(scores, dtype=torch.float64), dim=1).numpy()
    np.testing.assert_allclose(softmax(scores), expected, rtol=1e-13, atol=1e-300)


def test_softmax_rejects_three_dimensional_scores():
    with pytest.raises(ValueError, match=r"softmax: scores must be \(N, C\) or \(C,\)"):
        softmax(np.zeros((2, 3, 4)))


# ---- softmax cross-entropy -----------------------------------------------------------------

def test_softmax_cross_entropy_of_a_worked_example():
    scores = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    y = np.array([0, 2])
    loss, dscores = softmax_cross_entropy(scores, y)
    p0 = np.exp([2.0, 1.0, 0.0]) / np.exp([2.0, 1.0, 0.0]).sum()
    assert loss == pytest.approx((-np.log(p0[0]) + np.log(3.0)) / 2, rel=1e-14)
    np.testing.assert_allclose(dscores, [(p0 - [1, 0, 0]) / 2, np.array([1, 1, -2]) / 6],
                               rtol=1e-13)


@pytest.mark.parametrize("n,c", CE_SHAPES)
def test_softmax_cross_entropy_gradient_matches_numerical_gradient(n, c):
    rng = np.random.default_rng(n * 10 + c)
    scores = rng.standard_normal((n, c))
    y = rng.integers(0, c, n)
    _, dscores = softmax_cross_entropy(scores, y)
    num = numerical_gradient(lambda s: softmax_cross_entropy(s, y)[0], scores)
    assert rel_error(dscores, num) < 1e-6


@pytest.mark.torch
@pytest.mark.parametrize("n,c", CE_SHAPES)
def test_softmax_cross_entropy_matches_torch_autograd(n, c):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(c)
    scores = 5 * rng.standard_normal((n, c))
    y = rng.integers(0, c, n)
    ts = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(ts, torch.tensor(y))
    tloss.backward()
    loss, dscores = softmax_cross_entropy(scores, y)
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(dscores, ts.grad.numpy(), rtol=1e-11, atol=1e-15)


def test_softmax_cross_entropy_is_finite_for_logits_in_the_thousands():
    scores = np.array([[1000.0, -1000.0, 3000.0], [2000.0, 2000.0, -5000.0]])
    y = np.array([0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dscores = softmax_cross_entropy(scores, y)
    # row 0: log-probability of class 0 is 1000 − 3000; row 1: log(1/2)
    assert loss == pytest.approx((2000.0 + np.log(2.0)) / 2, rel=1e-14)
    assert np.all(np.isfinite(dscores))
    np.testing.assert_allclose(dscores, [[-0.5, 0, 0.5], [0.25, -0.25, 0]], atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), c=st.integers(2, 6),
       shift=st.floats(-1e3, 1e3, allow_nan=False))
def test_softmax_cross_entropy_is_unchanged_by_adding_a_constant_to_each_row(seed, n, c, shift):
    rng = np.random.default_rng(seed)
    scores = 4 * rng.standard_normal((n, c))
    y = rng.integers(0, c, n)
    row_shift = shift * rng.uniform(-1, 1, (n, 1))
    loss, dscores = softmax_cross_entropy(scores, y)
    loss2, dscores2 = softmax_cross_entropy(scores + row_shift, y)
    assert loss2 == pytest.approx(loss, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(dscores2, dscores, rtol=1e-8, atol=1e-10)


def test_softmax_cross_entropy_gradient_rows_sum_to_zero():
    rng = np.random.default_rng(2)
    _, dscores = softmax_cross_entropy(rng.standard_normal((5, 4)), rng.integers(0, 4, 5))
    np.testing.assert_allclose(dscores.sum(axis=1), 0.0, atol=1e-15)


def test_softmax_cross_entropy_rejects_bad_labels_naming_the_problem():
    scores = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"y must hold labels in 0..3 for 4 classes"):
        softmax_cross_entropy(scores, [0, 1, 4])
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        softmax_cross_entropy(scores, [0, 1])
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        softmax_cross_entropy(scores, [0.5, 1, 2])
    with pytest.raises(ValueError, match=r"scores must be a 2-D array \(N, C\)"):
        softmax_cross_entropy(np.zeros(4), [0])


def test_softmax_cross_entropy_accepts_integral_float_labels():
    loss, _ = softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 2.0]))
    assert loss == pytest.approx(np.log(3.0))


# ---- squared loss --------------------------------------------------------------------------

def test_squared_loss_of_the_lecture_example():
    f = np.array([[3.0, 1.0, -2.0]])
    y = np.array([[0.0, 1.0, 0.0]])
    assert np.sum((f - y) ** 2) == 13.0              # the deck's unscaled form
    loss, dpred = squared_loss(f, y)
    assert loss == 6.5                                # 0.5·13 / N with N = 1
    np.testing.assert_array_equal(dpred, [[3.0, 0.0, -2.0]])


def test_squared_loss_averages_over_the_first_axis():
    loss, dpred = squared_loss(np.array([1.0, 2.0, 3.0, 4.0]), np.zeros(4))
    assert loss == pytest.approx(0.5 * 30 / 4)
    np.testing.assert_allclose(dpred, [0.25, 0.5, 0.75, 1.0])
    loss2, _ = squared_loss(np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2)))
    assert loss2 == pytest.approx(0.5 * 30 / 2)


@pytest.mark.parametrize("shape", REG_SHAPES)
def test_squared_loss_gradient_matches_numerical_gradient(shape):
    rng = np.random.default_rng(len(shape) * 7 + shape[0])
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    _, dpred = squared_loss(pred, target)
    num = numerical_gradient(lambda p: squared_loss(p, target)[0], pred)
    assert rel_error(dpred, num) < 1e-6


@pytest.mark.torch
@pytest.mark.parametrize("shape", REG_SHAPES)
def test_squared_loss_matches_torch_autograd(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    tp = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    tloss = 0.5 * torch.nn.functional.mse_loss(tp, torch.tensor(target), reduction="sum")
    tloss = tloss / shape[0]
    tloss.backward()
    loss, dpred = squared_loss(pred, target)
    assert loss == pytest.approx(tloss.item(), rel=1e-13)
    np.testing.assert_allclose(dpred, tp.grad.numpy(), rtol=1e-13)


def test_squared_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"squared_loss: target must have the shape of pred "
                                         r"\(3, 1\); got \(3,\)"):
        squared_loss(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match=r"pred must be \(N,\) or \(N, K\)"):
        squared_loss(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


# ---- sigmoid binary cross-entropy (multi-label) --------------------------------------------

def test_binary_cross_entropy_matches_its_definition():
    logits = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.2]])
    targets = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    p = 1 / (1 + np.exp(-logits))
    expected = -np.sum(targets * np.log(p) + (1 - targets) * np.log(1 - p)) / 2
    loss, dlogits = sigmoid_binary_cross_entropy(logits, targets)
    assert loss == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(dlogits, (p - targets) / 2, rtol=1e-13)


@pytest.mark.parametrize("shape", REG_SHAPES + [(3, 5)])
def test_binary_cross_entropy_gradient_matches_numerical_gradient(shape):
    rng = np.random.default_rng(shape[0] + 5 * len(shape))
    logits = 3 * rng.standard_normal(shape)
    targets = rng.integers(0, 2, shape).astype(float)
    _, dlogits = sigmoid_binary_cross_entropy(logits, targets)
    num = numerical_gradient(lambda z: sigmoid_binary_cross_entropy(z, targets)[0], logits)
    assert rel_error(dlogits, num) < 1e-6


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (6,)])
def test_binary_cross_entropy_matches_torch_autograd(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    logits = 4 * rng.standard_normal(shape)
    targets = rng.uniform(0, 1, shape)                 # soft targets are allowed
    tz = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    tloss = torch.nn.functional.binary_cross_entropy_with_logits(
        tz, torch.tensor(targets), reduction="sum") / shape[0]
    tloss.backward()
    loss, dlogits = sigmoid_binary_cross_entropy(logits, targets)
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(dlogits, tz.grad.numpy(), rtol=1e-11, atol=1e-16)


def test_binary_cross_entropy_is_finite_for_logits_in_the_thousands():
    logits = np.array([[1000.0, -1000.0, 2000.0]])
    targets = np.array([[0.0, 1.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dlogits = sigmoid_binary_cross_entropy(logits, targets)
    assert loss == pytest.approx(2000.0, rel=1e-14)
    np.testing.assert_array_equal(dlogits, [[1.0, -1.0, 0.0]])


def test_binary_cross_entropy_rejects_targets_outside_zero_one():
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        sigmoid_binary_cross_entropy(np.zeros((2, 2)), np.array([[0.0, 2.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"targets must have the shape of logits \(2, 2\)"):
        sigmoid_binary_cross_entropy(np.zeros((2, 2)), np.zeros(2))


# ---- dtypes and inputs left alone ----------------------------------------------------------

def test_losses_keep_float32_gradients():
    s = np.zeros((2, 3), dtype=np.float32)
    assert softmax(s).dtype == np.float32
    assert softmax_cross_entropy(s, [0, 1])[1].dtype == np.float32
    assert squared_loss(s, s)[1].dtype == np.float32
    assert sigmoid_binary_cross_entropy(s, s)[1].dtype == np.float32
    assert isinstance(softmax_cross_entropy(s, [0, 1])[0], float)


def test_losses_do_not_modify_their_inputs():
    rng = np.random.default_rng(9)
    scores, y = rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])
    pred, target = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3))
    saved = [a.copy() for a in (scores, y, pred, target)]
    softmax(scores)
    softmax_cross_entropy(scores, y)
    squared_loss(pred, target)
    sigmoid_binary_cross_entropy(pred, target)
    for a, s in zip((scores, y, pred, target), saved, strict=True):
        np.testing.assert_array_equal(a, s)
