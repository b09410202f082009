"""Tests of nnutils.regularization: L2 penalty, inverted dropout and early stopping."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnutils.gradcheck import check_gradients, numerical_gradient, rel_error
from nnutils.regularization import dropout_backward, dropout_forward, early_stopping, l2_penalty

# ---- L2 penalty ----------------------------------------------------------------------------


def test_l2_penalty_value_and_gradients():
    w1 = np.array([[1.0, -2.0], [0.5, 0.0]])
    w2 = np.array([3.0])
    loss, grads = l2_penalty([w1, w2], 0.1)
    assert loss == pytest.approx(0.5 * 0.1 * (1 + 4 + 0.25 + 9))
    assert isinstance(grads, list) and len(grads) == 2
    np.testing.assert_allclose(grads[0], 0.1 * w1)
    np.testing.assert_allclose(grads[1], 0.1 * w2)


@pytest.mark.parametrize("shapes", [[(1, 1)], [(3, 4), (4,)], [(2, 3), (3, 5), (5, 1)]])
def test_l2_penalty_gradients_match_numerical_gradients(shapes):
    rng = np.random.default_rng(len(shapes))
    weights = [rng.standard_normal(s) for s in shapes]
    _, grads = l2_penalty(weights, 0.3)
    for w, g in zip(weights, grads, strict=True):
        num = numerical_gradient(lambda _: l2_penalty(weights, 0.3)[0], w)
        assert rel_error(g, num) < 1e-7


def test_l2_penalty_of_no_weights_or_zero_reg_is_zero():
    assert l2_penalty([], 0.5) == (0.0, [])
    loss, grads = l2_penalty([np.ones(3)], 0.0)
    assert loss == 0.0
    np.testing.assert_array_equal(grads[0], np.zeros(3))


def test_l2_penalty_keeps_dtype_and_leaves_weights_alone():
    w = np.array([1.0, 2.0], dtype=np.float32)
    _, grads = l2_penalty((w,), 0.5)
    assert grads[0].dtype == np.float32
    np.testing.assert_array_equal(w, [1.0, 2.0])


def test_l2_penalty_rejects_bad_input():
    with pytest.raises(TypeError, match="l2_penalty: weights must be a list of arrays; got "
                                        "ndarray"):
        l2_penalty(np.ones(3), 0.1)
    with pytest.raises(ValueError, match="l2_penalty: reg must be >= 0"):
        l2_penalty([np.ones(3)], -0.1)
    with pytest.raises(TypeError, match=r"l2_penalty: weights\[1\] must hold real numbers"):
        l2_penalty([np.ones(3), np.array(["a"])], 0.1)


# ---- dropout -------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from([(1,), (3, 4), (2, 3, 2)]),
       p=st.floats(0.0, 0.99))
def test_dropout_in_test_mode_is_the_identity_and_draws_nothing(seed, shape, p):
    x = np.random.default_rng(seed).standard_normal(shape)
    rng = np.random.default_rng(seed)
    before = rng.bit_generator.state
    out, cache = dropout_forward(x, p, False, rng)
    np.testing.assert_array_equal(out, x)
    assert out is not x
    assert rng.bit_generator.state == before
    dout = np.random.default_rng(seed + 1).standard_normal(shape)
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


def test_dropout_in_test_mode_needs_no_generator():
    out, _ = dropout_forward(np.ones(3), 0.5, False, None)
    np.testing.assert_array_equal(out, np.ones(3))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_in_train_mode_keeps_the_mean_and_drops_a_fraction_p(p):
    # 200,000 units: the mean of out has standard deviation sqrt(p / (1 − p) / n) <= 0.0045,
    # while a missing 1/(1 − p) scaling would shift it by p >= 0.2.
    x = np.ones((400, 500))
    out, _ = dropout_forward(x, p, True, np.random.default_rng(0))
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    assert np.mean(out == 0) == pytest.approx(p, abs=0.01)         # p is the DROP probability
    np.testing.assert_allclose(out[out != 0], 1 / (1 - p), rtol=1e-15)


def test_dropout_with_p_zero_keeps_everything():
    x = np.random.default_rng(1).standard_normal((4, 5))
    out, _ = dropout_forward(x, 0.0, True, np.random.default_rng(2))
    np.testing.assert_array_equal(out, x)


def test_dropout_backward_reuses_the_forward_mask():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 5)) + 3.0                   # no entry is exactly 0
    out, cache = dropout_forward(x, 0.4, True, np.random.default_rng(7))
    dout = rng.standard_normal((6, 5))
    dx = dropout_backward(dout, cache)
    np.testing.assert_array_equal(dx == 0, out == 0)
    np.testing.assert_allclose(dx, dout * out / x, rtol=1e-14)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 4), (2, 3, 4)])
@pytest.mark.parametrize("p", [0.3, 0.7])
def test_dropout_backward_matches_numerical_gradient(shape, p):
    def forward(x):                       # a fresh generator each call: the same mask each time
        return dropout_forward(x, p, True, np.random.default_rng(11))

    x = np.random.default_rng(3).standard_normal(shape)
    report = check_gradients(forward, dropout_backward, {"x": x})
    assert report.passed(1e-7), str(report)
    test_report = check_gradients(lambda v: dropout_forward(v, p, False, None),
                                  dropout_backward, {"x": x})
    assert test_report.passed(1e-7), str(test_report)


def test_dropout_is_reproducible_and_keeps_float32():
    x = np.ones((3, 4), dtype=np.float32)
    a, cache = dropout_forward(x, 0.5, True, np.random.default_rng(5))
    b, _ = dropout_forward(x, 0.5, True, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32
    assert dropout_backward(np.ones((3, 4), dtype=np.float32), cache).dtype == np.float32


def test_dropout_does_not_modify_its_inputs():
    x = np.random.default_rng(0).standard_normal((5, 5))
    saved = x.copy()
    out, cache = dropout_forward(x, 0.5, True, np.random.default_rng(1))
    dout = np.ones((5, 5))
    dropout_backward(dout, cache)
    np.testing.assert_array_equal(x, saved)
    np.testing.assert_array_equal(dout, np.ones((5, 5)))


def test_dropout_rejects_bad_arguments():
    x = np.ones((2, 2))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="dropout_forward: p must be < 1; got 1"):
        dropout_forward(x, 1, True, rng)
    with pytest.raises(ValueError, match="dropout_forward: p must be >= 0"):
        dropout_forward(x, -0.1, True, rng)
    with pytest.raises(TypeError, match="dropout_forward: train must be True or False; got str"):
        dropout_forward(x, 0.5, "test", rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator when train is "
                                        "True"):
        dropout_forward(x, 0.5, True, 0)
    _, cache = dropout_forward(x, 0.5, True, rng)
    with pytest.raises(ValueError, match=r"dropout_backward: dout must have the shape of the "
                                         r"forward's output \(2, 2\); got \(4,\)"):
        dropout_backward(np.ones(4), cache)


# ---- early stopping ------------------------------------------------------------------------

def test_early_stopping_keeps_the_best_epoch_before_patience_ran_out():
    losses = [5.0, 4.0, 3.0, 4.0, 5.0, 6.0, 2.0]
    assert early_stopping(losses, patience=3) == 2      # stopped after epochs 3, 4, 5
    assert early_stopping(losses, patience=4) == 6      # still training at epoch 6
    assert early_stopping(losses, patience=1) == 2


def test_early_stopping_without_a_stop_returns_the_best_overall():
    assert early_stopping([3.0, 2.0, 1.0, 0.5], patience=2) == 3
    assert early_stopping([3.0, 1.0, 2.0, 0.5], patience=2) == 3
    assert early_stopping([7.0], patience=5) == 0


def test_early_stopping_treats_an_equal_loss_as_no_improvement():
    assert early_stopping([1.0, 1.0, 1.0], patience=5) == 0            # earliest best kept
    assert early_stopping([3.0, 2.0, 2.0, 2.0, 1.0], patience=2) == 1  # ties used up patience
    assert early_stopping([3.0, 2.0, 2.0, 2.0, 1.0], patience=3) == 4


def test_early_stopping_never_picks_a_nan_loss():
    assert early_stopping([2.0, np.nan, 1.0], patience=3) == 2
    assert early_stopping([np.nan, 3.0, np.nan], patience=3) == 1
    assert early_stopping([2.0, np.nan, np.nan, 0.5], patience=2) == 0


def _early_stopping_reference(losses, patience):
    """The same rule said differently: find the stopping epoch, then the first minimum before."""
    last_improvement, best = 0, losses[0]
    stop = len(losses) - 1
    for e in range(1, len(losses)):
        if losses[e] < best:
            best, last_improvement = losses[e], e
        elif e - last_improvement >= patience:
            stop = e
            break
    return int(np.argmin(losses[:stop + 1]))


@settings(max_examples=50, deadline=None)
@given(losses=st.lists(st.integers(0, 6).map(float), min_size=1, max_size=30),
       patience=st.integers(1, 5))
def test_early_stopping_agrees_with_a_reference_formulation(losses, patience):
    assert early_stopping(losses, patience) == _early_stopping_reference(losses, patience)


def test_early_stopping_returns_an_int_and_leaves_the_losses_alone():
    losses = np.array([3.0, 1.0, 2.0])
    result = early_stopping(losses, 1)
    assert type(result) is int and result == 1
    np.testing.assert_array_equal(losses, [3.0, 1.0, 2.0])


def test_early_stopping_rejects_bad_arguments():
    with pytest.raises(ValueError, match="early_stopping: patience must be >= 1; got 0"):
        early_stopping([1.0, 2.0], 0)
    with pytest.raises(TypeError, match="early_stopping: patience must be an integer"):
        early_stopping([1.0, 2.0], 1.5)
    with pytest.raises(ValueError, match="val_losses must hold at least one loss"):
        early_stopping([], 2)
    with pytest.raises(ValueError, match=r"val_losses must be a 1-D array \(E,\)"):
        early_stopping([[1.0, 2.0]], 2)
