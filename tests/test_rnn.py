"""Tests of nnutils.rnn: RNN and LSTM steps and sequences, gradient clipping, gradient norms."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnutils.gradcheck import numerical_gradient, rel_error
from nnutils.rnn import (
    clip_gradients,
    global_norm,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    random_rnn_gradient_norms,
    rnn_backward,
    rnn_forward,
    rnn_gradient_norms,
    rnn_step_backward,
    rnn_step_forward,
)

TOL = 1e-6  # relative error of a float64 gradient check


def _params(rng, d, h, gates, dtype=np.float64, scale=0.5):
    """Random Wx (D, gates·H), Wh (H, gates·H), b (gates·H,)."""
    Wx = scale * rng.standard_normal((d, gates * h))
    Wh = scale * rng.standard_normal((h, gates * h))
    b = scale * rng.standard_normal(gates * h)
    return Wx.astype(dtype), Wh.astype(dtype), b.astype(dtype)


def _numerical(loss, arrays):
    """Centred-difference gradient of loss() with respect to every array (perturbed in place)."""
    return [numerical_gradient(lambda _: loss(), a) for a in arrays]


def _assert_gradients_match(analytic, numerical, names):
    assert len(analytic) == len(numerical) == len(names)
    for a, n, name in zip(analytic, numerical, names, strict=True):
        assert a.shape == n.shape, f"d{name} has shape {a.shape}, expected {n.shape}"
        err = rel_error(a, n)
        assert err < TOL, f"d{name}: relative error {err:.2e}"


# --------------------------------------------------------------------------------------------
# Numerical gradient checks (float64), every output of every backward
# --------------------------------------------------------------------------------------------

STEP_SHAPES = [(1, 3, 4), (3, 5, 2), (4, 4, 4)]              # (N, D, H)
SEQ_SHAPES = [(1, 1, 3, 4), (2, 4, 3, 5), (3, 3, 5, 2), (1, 5, 2, 3)]  # (N, T, D, H)


@pytest.mark.parametrize("n, d, h", STEP_SHAPES)
def test_rnn_step_backward_matches_numerical_gradient(n, d, h):
    rng = np.random.default_rng(1)
    x, h_prev = rng.standard_normal((n, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _params(rng, d, h, 1)
    dh = rng.standard_normal((n, h))
    out, cache = rnn_step_forward(x, h_prev, Wx, Wh, b)
    grads = rnn_step_backward(dh, cache)
    inputs = [x, h_prev, Wx, Wh, b]
    numerical = _numerical(lambda: np.sum(rnn_step_forward(*inputs)[0] * dh), inputs)
    _assert_gradients_match(grads, numerical, ["x", "h_prev", "Wx", "Wh", "b"])


@pytest.mark.parametrize("n, t, d, h", SEQ_SHAPES)
def test_rnn_backward_matches_numerical_gradient_with_upstream_on_every_step(n, t, d, h):
    rng = np.random.default_rng(2)
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _params(rng, d, h, 1)
    dh = rng.standard_normal((n, t, h))  # a gradient for every hidden state, not just the last
    out, cache = rnn_forward(x, h0, Wx, Wh, b)
    grads = rnn_backward(dh, cache)
    inputs = [x, h0, Wx, Wh, b]
    numerical = _numerical(lambda: np.sum(rnn_forward(*inputs)[0] * dh), inputs)
    _assert_gradients_match(grads, numerical, ["x", "h0", "Wx", "Wh", "b"])


@pytest.mark.parametrize("n, d, h", STEP_SHAPES)
def test_lstm_step_backward_matches_numerical_gradient(n, d, h):
    rng = np.random.default_rng(3)
    x, h_prev, c_prev = (rng.standard_normal(s) for s in [(n, d), (n, h), (n, h)])
    Wx, Wh, b = _params(rng, d, h, 4)
    dh, dc = rng.standard_normal((n, h)), rng.standard_normal((n, h))
    _, _, cache = lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    grads = lstm_step_backward(dh, dc, cache)
    inputs = [x, h_prev, c_prev, Wx, Wh, b]

    def loss():
        h_new, c_new, _ = lstm_step_forward(*inputs)
        return np.sum(h_new * dh) + np.sum(c_new * dc)

    numerical = _numerical(loss, inputs)
    _assert_gradients_match(grads, numerical, ["x", "h_prev", "c_prev", "Wx", "Wh", "b"])


@pytest.mark.parametrize("n, t, d, h", SEQ_SHAPES)
def test_lstm_backward_matches_numerical_gradient_with_upstream_on_every_step(n, t, d, h):
    rng = np.random.default_rng(4)
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _params(rng, d, h, 4)
    dh = rng.standard_normal((n, t, h))
    _, cache = lstm_forward(x, h0, Wx, Wh, b)
    grads = lstm_backward(dh, cache)
    inputs = [x, h0, Wx, Wh, b]
    numerical = _numerical(lambda: np.sum(lstm_forward(*inputs)[0] * dh), inputs)
    _assert_gradients_match(grads, numerical, ["x", "h0", "Wx", "Wh", "b"])


@pytest.mark.parametrize("forward, backward, gates",
                         [(rnn_forward, rnn_backward, 1), (lstm_forward, lstm_backward, 4)])
def test_sequence_backward_counts_the_upstream_gradient_of_an_early_step(forward, backward,
                                                                         gates):
    # A loss on h_1 alone: the whole gradient must come from dh[:, 0], through the first step.
    rng = np.random.default_rng(5)
    n, t, d, h = 2, 4, 3, 5
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _params(rng, d, h, gates)
    dh = np.zeros((n, t, h))
    dh[:, 0] = rng.standard_normal((n, h))
    _, cache = forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = backward(dh, cache)
    if gates == 1:
        _, step_cache = rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
        sx, sh, sWx, sWh, sb = rnn_step_backward(dh[:, 0], step_cache)
    else:
        _, _, step_cache = lstm_step_forward(x[:, 0], h0, np.zeros((n, h)), Wx, Wh, b)
        sx, sh, _, sWx, sWh, sb = lstm_step_backward(dh[:, 0], np.zeros((n, h)), step_cache)
    assert np.abs(dWx).max() > 1e-3
    np.testing.assert_allclose(dx[:, 0], sx, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(dx[:, 1:], 0)
    for a, s in [(dh0, sh), (dWx, sWx), (dWh, sWh), (db, sb)]:
        np.testing.assert_allclose(a, s, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------
# The sequence versions are loops of the step versions
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, t, d, h", SEQ_SHAPES)
def test_rnn_forward_and_backward_equal_a_loop_of_steps(n, t, d, h):
    rng = np.random.default_rng(6)
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _params(rng, d, h, 1)
    dh = rng.standard_normal((n, t, h))
    hs, cache = rnn_forward(x, h0, Wx, Wh, b)
    state, caches = h0, []
    for k in range(t):
        state, c = rnn_step_forward(x[:, k], state, Wx, Wh, b)
        caches.append(c)
        np.testing.assert_allclose(hs[:, k], state, rtol=1e-12, atol=1e-14)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    carry, totals = np.zeros((n, h)), [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
    for k in reversed(range(t)):
        sx, carry, sWx, sWh, sb = rnn_step_backward(dh[:, k] + carry, caches[k])
        np.testing.assert_allclose(dx[:, k], sx, rtol=1e-10, atol=1e-12)
        for total, s in zip(totals, (sWx, sWh, sb), strict=True):
            total += s
    for a, s in zip((dh0, dWx, dWh, db), (carry, *totals), strict=True):
        np.testing.assert_allclose(a, s, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n, t, d, h", SEQ_SHAPES)
def test_lstm_forward_and_backward_equal_a_loop_of_steps_from_zero_cell(n, t, d, h):
    rng = np.random.default_rng(7)
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _params(rng, d, h, 4)
    dh = rng.standard_normal((n, t, h))
    hs, cache = lstm_forward(x, h0, Wx, Wh, b)
    state, cell, caches = h0, np.zeros((n, h)), []
    for k in range(t):
        state, cell, c = lstm_step_forward(x[:, k], state, cell, Wx, Wh, b)
        caches.append(c)
        np.testing.assert_allclose(hs[:, k], state, rtol=1e-12, atol=1e-14)
    dx, dh0, dWx, dWh, db = lstm_backward(dh, cache)
    dh_next, dc_next = np.zeros((n, h)), np.zeros((n, h))
    totals = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
    for k in reversed(range(t)):
        sx, dh_next, dc_next, sWx, sWh, sb = lstm_step_backward(dh[:, k] + dh_next, dc_next,
                                                                caches[k])
        np.testing.assert_allclose(dx[:, k], sx, rtol=1e-10, atol=1e-12)
        for total, s in zip(totals, (sWx, sWh, sb), strict=True):
            total += s
    for a, s in zip((dh0, dWx, dWh, db), (dh_next, *totals), strict=True):
        np.testing.assert_allclose(a, s, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Gate order (input, forget, output, candidate) pinned
# --------------------------------------------------------------------------------------------

def _gate_bias(h, i, f, o, g):
    return np.concatenate([np.full(h, v) for v in (i, f, o, g)])


def test_lstm_step_gate_order_is_input_forget_output_candidate():
    # Input gate open, forget gate shut, output gate open, candidate 0.5: the old cell (2.0) is
    # forgotten and replaced by 0.5. Swapping input and forget would keep 2.0; swapping output
    # and candidate would write tanh(30) = 1.
    n, d, h = 2, 3, 4
    b = _gate_bias(h, 30.0, -30.0, 30.0, np.arctanh(0.5))
    h_new, c_new, _ = lstm_step_forward(np.ones((n, d)), np.ones((n, h)), np.full((n, h), 2.0),
                                        np.zeros((d, 4 * h)), np.zeros((h, 4 * h)), b)
    np.testing.assert_allclose(c_new, 0.5, atol=1e-12)
    np.testing.assert_allclose(h_new, np.tanh(0.5), atol=1e-12)


def test_lstm_step_forget_gate_keeps_the_old_cell():
    # Input gate shut, forget gate open: c = c_prev whatever the candidate. Swapped gates write
    # the candidate instead.
    n, d, h = 1, 2, 3
    b = _gate_bias(h, -30.0, 30.0, 30.0, np.arctanh(0.9))
    c_prev = np.array([[-0.3, 0.1, 0.7]])
    _, c_new, _ = lstm_step_forward(np.ones((n, d)), np.zeros((n, h)), c_prev,
                                    np.zeros((d, 4 * h)), np.zeros((h, 4 * h)), b)
    np.testing.assert_allclose(c_new, c_prev, atol=1e-12)


def test_lstm_forward_gate_order_is_input_forget_output_candidate():
    # Every step forgets its cell and writes 0.25, so every hidden state is tanh(0.25).
    n, t, d, h = 2, 3, 2, 3
    b = _gate_bias(h, 30.0, -30.0, 30.0, np.arctanh(0.25))
    hs, _ = lstm_forward(np.ones((n, t, d)), np.zeros((n, h)), np.zeros((d, 4 * h)),
                         np.zeros((h, 4 * h)), b)
    np.testing.assert_allclose(hs, np.tanh(0.25), atol=1e-12)


def test_lstm_step_gates_saturate_without_runtime_warnings():
    # pytest turns RuntimeWarnings into errors: pre-activations of ±1e4 must not overflow exp.
    n, d, h = 2, 2, 3
    b = _gate_bias(h, 1e4, -1e4, 1e4, -1e4)
    h_new, c_new, cache = lstm_step_forward(np.ones((n, d)), np.ones((n, h)), np.ones((n, h)),
                                            np.zeros((d, 4 * h)), np.zeros((h, 4 * h)), b)
    np.testing.assert_allclose(c_new, -1.0)
    np.testing.assert_allclose(h_new, np.tanh(-1.0))
    grads = lstm_step_backward(np.ones((n, h)), np.ones((n, h)), cache)
    assert all(np.all(np.isfinite(g)) for g in grads)
    hs, cache = lstm_forward(np.ones((n, 4, d)), np.ones((n, h)), np.zeros((d, 4 * h)),
                             np.zeros((h, 4 * h)), b)
    np.testing.assert_allclose(hs, np.tanh(-1.0))
    grads = lstm_backward(np.ones((n, 4, h)), cache)
    assert all(np.all(np.isfinite(g)) for g in grads)


# --------------------------------------------------------------------------------------------
# Against PyTorch (float64)
# --------------------------------------------------------------------------------------------

def _torch_lstm_order(h):
    """Column indices taking our gate blocks (i, f, o, g) to torch's order (i, f, g, o)."""
    return np.r_[0:2 * h, 3 * h:4 * h, 2 * h:3 * h]


@pytest.mark.torch
@pytest.mark.parametrize("n, t, d, h", [(1, 1, 3, 4), (3, 6, 4, 5)])
def test_rnn_forward_and_backward_match_torch_rnn(n, t, d, h):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _params(rng, d, h, 1)
    dh = rng.standard_normal((n, t, h))
    out, cache = rnn_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)

    net = torch.nn.RNN(d, h, nonlinearity="tanh", batch_first=True).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(Wx.T))
        net.weight_hh_l0.copy_(torch.from_numpy(Wh.T))
        net.bias_ih_l0.copy_(torch.from_numpy(b))
        net.bias_hh_l0.zero_()
    xt = torch.from_numpy(x.copy()).requires_grad_()
    h0t = torch.from_numpy(h0[None].copy()).requires_grad_()
    out_t, _ = net(xt, h0t)
    out_t.backward(torch.from_numpy(dh))

    close = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(out, out_t.detach().numpy(), **close)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **close)
    np.testing.assert_allclose(dh0, h0t.grad.numpy()[0], **close)
    np.testing.assert_allclose(dWx, net.weight_ih_l0.grad.numpy().T, **close)
    np.testing.assert_allclose(dWh, net.weight_hh_l0.grad.numpy().T, **close)
    np.testing.assert_allclose(db, net.bias_ih_l0.grad.numpy(), **close)


@pytest.mark.torch
@pytest.mark.parametrize("n, t, d, h", [(1, 1, 3, 4), (3, 6, 4, 5)])
def test_lstm_forward_and_backward_match_torch_lstm(n, t, d, h):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _params(rng, d, h, 4)
    dh = rng.standard_normal((n, t, h))
    out, cache = lstm_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = lstm_backward(dh, cache)

    order = _torch_lstm_order(h)
    back = np.argsort(order)  # torch's columns back to ours
    net = torch.nn.LSTM(d, h, batch_first=True).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(Wx[:, order].T))
        net.weight_hh_l0.copy_(torch.from_numpy(Wh[:, order].T))
        net.bias_ih_l0.copy_(torch.from_numpy(b[order]))
        net.bias_hh_l0.zero_()
    xt = torch.from_numpy(x.copy()).requires_grad_()
    h0t = torch.from_numpy(h0[None].copy()).requires_grad_()
    out_t, _ = net(xt, (h0t, torch.zeros(1, n, h, dtype=torch.float64)))
    out_t.backward(torch.from_numpy(dh))

    close = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(out, out_t.detach().numpy(), **close)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **close)
    np.testing.assert_allclose(dh0, h0t.grad.numpy()[0], **close)
    np.testing.assert_allclose(dWx, net.weight_ih_l0.grad.numpy().T[:, back], **close)
    np.testing.assert_allclose(dWh, net.weight_hh_l0.grad.numpy().T[:, back], **close)
    np.testing.assert_allclose(db, net.bias_ih_l0.grad.numpy()[back], **close)


@pytest.mark.torch
def test_lstm_step_matches_torch_lstm_cell_with_nonzero_cell():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    n, d, h = 3, 4, 5
    x, h_prev, c_prev = (rng.standard_normal(s) for s in [(n, d), (n, h), (n, h)])
    Wx, Wh, b = _params(rng, d, h, 4)
    dh, dc = rng.standard_normal((n, h)), rng.standard_normal((n, h))
    h_new, c_new, cache = lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    dx, dh_prev, dc_prev, dWx, dWh, db = lstm_step_backward(dh, dc, cache)

    order = _torch_lstm_order(h)
    back = np.argsort(order)
    cell = torch.nn.LSTMCell(d, h).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(Wx[:, order].T))
        cell.weight_hh.copy_(torch.from_numpy(Wh[:, order].T))
        cell.bias_ih.copy_(torch.from_numpy(b[order]))
        cell.bias_hh.zero_()
    xt, ht, ct = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, h_prev, c_prev))
    h_t, c_t = cell(xt, (ht, ct))
    torch.autograd.backward([h_t, c_t], [torch.from_numpy(dh), torch.from_numpy(dc)])

    close = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(h_new, h_t.detach().numpy(), **close)
    np.testing.assert_allclose(c_new, c_t.detach().numpy(), **close)
    for ours, theirs in [(dx, xt.grad), (dh_prev, ht.grad), (dc_prev, ct.grad)]:
        np.testing.assert_allclose(ours, theirs.numpy(), **close)
    np.testing.assert_allclose(dWx, cell.weight_ih.grad.numpy().T[:, back], **close)
    np.testing.assert_allclose(dWh, cell.weight_hh.grad.numpy().T[:, back], **close)
    np.testing.assert_allclose(db, cell.bias_ih.grad.numpy()[back], **close)


# --------------------------------------------------------------------------------------------
# Dtypes and inputs
# --------------------------------------------------------------------------------------------

def _run_all(dtype, rng):
    """Run every forward and backward on inputs of ``dtype``; return (inputs, outputs)."""
    n, t, d, h = 2, 3, 4, 5
    x2, x3 = rng.standard_normal((n, d)), rng.standard_normal((n, t, d))
    hp, cp = rng.standard_normal((n, h)), rng.standard_normal((n, h))
    p1, p4 = _params(rng, d, h, 1), _params(rng, d, h, 4)
    dh2, dc2, dh3 = (rng.standard_normal(s) for s in [(n, h), (n, h), (n, t, h)])
    inputs = [a.astype(dtype) for a in (x2, x3, hp, cp, *p1, *p4, dh2, dc2, dh3)]
    x2, x3, hp, cp, Wx1, Wh1, b1, Wx4, Wh4, b4, dh2, dc2, dh3 = inputs
    outputs = []
    out, cache = rnn_step_forward(x2, hp, Wx1, Wh1, b1)
    outputs += [out, *rnn_step_backward(dh2, cache)]
    out, cache = rnn_forward(x3, hp, Wx1, Wh1, b1)
    outputs += [out, *rnn_backward(dh3, cache)]
    hn, cn, cache = lstm_step_forward(x2, hp, cp, Wx4, Wh4, b4)
    outputs += [hn, cn, *lstm_step_backward(dh2, dc2, cache)]
    out, cache = lstm_forward(x3, hp, Wx4, Wh4, b4)
    outputs += [out, *lstm_backward(dh3, cache)]
    return inputs, outputs


def test_float32_inputs_give_float32_outputs_and_gradients():
    _, outputs = _run_all(np.float32, np.random.default_rng(11))
    assert [o.dtype for o in outputs] == [np.float32] * len(outputs)


def test_float32_results_agree_with_float64():
    _, out32 = _run_all(np.float32, np.random.default_rng(12))
    _, out64 = _run_all(np.float64, np.random.default_rng(12))
    for a, b in zip(out32, out64, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_forwards_and_backwards_never_modify_their_inputs():
    rng = np.random.default_rng(13)
    n, t, d, h = 2, 3, 4, 5
    x2, x3 = rng.standard_normal((n, d)), rng.standard_normal((n, t, d))
    hp, cp = rng.standard_normal((n, h)), rng.standard_normal((n, h))
    p1, p4 = _params(rng, d, h, 1), _params(rng, d, h, 4)
    dh2, dc2, dh3 = (rng.standard_normal(s) for s in [(n, h), (n, h), (n, t, h)])
    arrays = [x2, x3, hp, cp, *p1, *p4, dh2, dc2, dh3]
    before = [a.copy() for a in arrays]
    rnn_step_backward(dh2, rnn_step_forward(x2, hp, *p1)[1])
    rnn_backward(dh3, rnn_forward(x3, hp, *p1)[1])
    lstm_step_backward(dh2, dc2, lstm_step_forward(x2, hp, cp, *p4)[2])
    lstm_backward(dh3, lstm_forward(x3, hp, *p4)[1])
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("forward, backward, gates",
                         [(rnn_forward, rnn_backward, 1), (lstm_forward, lstm_backward, 4)])
def test_changing_the_returned_hidden_states_does_not_change_the_backward(forward, backward,
                                                                          gates):
    rng = np.random.default_rng(14)
    x, h0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5))
    params = _params(rng, 4, 5, gates)
    dh = rng.standard_normal((2, 3, 5))
    hs, cache = forward(x, h0, *params)
    expected = backward(dh, forward(x, h0, *params)[1])
    hs[...] = 123.0
    for a, b in zip(backward(dh, cache), expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_sequence_functions_give_the_same_results_without_threadpoolctl(monkeypatch):
    import nnutils._threads as threads_module

    rng = np.random.default_rng(17)
    x, h0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5))
    params = _params(rng, 4, 5, 4)
    dh = rng.standard_normal((2, 3, 5))
    hs, cache = lstm_forward(x, h0, *params)
    grads = lstm_backward(dh, cache)
    monkeypatch.setattr(threads_module, "_BLAS", False)  # as if threadpoolctl were not installed
    hs_plain, cache = lstm_forward(x, h0, *params)
    np.testing.assert_allclose(hs_plain, hs, rtol=1e-12)
    for a, b in zip(lstm_backward(dh, cache), grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_integer_inputs_become_float64():
    x = np.arange(6).reshape(1, 2, 3)
    h, _ = rnn_forward(x, np.zeros((1, 2), dtype=int), np.ones((3, 2), dtype=int),
                       np.eye(2, dtype=int), np.zeros(2, dtype=int))
    assert h.dtype == np.float64
    np.testing.assert_allclose(h[0, 0], np.tanh(3.0))


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------

def test_rnn_step_forward_rejects_non_square_Wh_naming_the_expected_shape():
    rng = np.random.default_rng(15)
    Wx, _, b = _params(rng, 3, 4, 1)
    with pytest.raises(ValueError, match=r"rnn_step_forward: Wh must have shape \(4, 4\)"):
        rnn_step_forward(np.ones((2, 3)), np.ones((2, 4)), Wx, np.ones((4, 5)), b)


@pytest.mark.parametrize("args, pattern", [
    ((np.ones((2, 3)), np.ones((2, 4)), np.ones((5, 4)), np.eye(4), np.ones(4)),
     r"rnn_forward: x must be a 3-D array \(N, T, D\)"),
    ((np.ones((2, 1, 3)), np.ones((2, 4)), np.ones((5, 4)), np.eye(4), np.ones(4)),
     r"Wx must have shape \(3, \?\)"),
    ((np.ones((2, 1, 3)), np.ones((1, 4)), np.ones((3, 4)), np.eye(4), np.ones(4)),
     r"h0 must have shape \(2, 4\)"),
    ((np.ones((2, 1, 3)), np.ones((2, 4)), np.ones((3, 4)), np.eye(4), np.ones(3)),
     r"b must have shape \(4,\)"),
    ((np.ones((2, 0, 3)), np.ones((2, 4)), np.ones((3, 4)), np.eye(4), np.ones(4)),
     r"at least one time step"),
])
def test_rnn_forward_names_the_expected_shape(args, pattern):
    with pytest.raises(ValueError, match=pattern):
        rnn_forward(*args)


@pytest.mark.parametrize("Wx, Wh, b, pattern", [
    (np.ones((3, 10)), np.ones((2, 8)), np.ones(8), r"Wx must have shape \(D, 4H\)"),
    (np.ones((3, 8)), np.ones((2, 2)), np.ones(8), r"Wh must have shape \(2, 8\)"),
    (np.ones((3, 8)), np.ones((2, 8)), np.ones(2), r"b must have shape \(8,\)"),
])
def test_lstm_forwards_name_the_expected_shape(Wx, Wh, b, pattern):
    with pytest.raises(ValueError, match=pattern):
        lstm_forward(np.ones((1, 2, 3)), np.ones((1, 2)), Wx, Wh, b)
    with pytest.raises(ValueError, match=pattern):
        lstm_step_forward(np.ones((1, 3)), np.ones((1, 2)), np.ones((1, 2)), Wx, Wh, b)


def test_lstm_step_forward_rejects_a_cell_state_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"c_prev must have shape \(1, 2\)"):
        lstm_step_forward(np.ones((1, 3)), np.ones((1, 2)), np.ones((1, 3)), np.ones((3, 8)),
                          np.ones((2, 8)), np.ones(8))


def test_backwards_reject_upstream_gradients_of_the_wrong_shape():
    rng = np.random.default_rng(16)
    _, cache = rnn_forward(np.ones((2, 3, 4)), np.ones((2, 5)), *_params(rng, 4, 5, 1))
    with pytest.raises(ValueError, match=r"rnn_backward: dh must have shape \(N, T, H\) = "
                                         r"\(2, 3, 5\)"):
        rnn_backward(np.ones((2, 5)), cache)
    _, cache = lstm_forward(np.ones((2, 3, 4)), np.ones((2, 5)), *_params(rng, 4, 5, 4))
    with pytest.raises(ValueError, match=r"lstm_backward: dh must have shape"):
        lstm_backward(np.ones((3, 2, 5)), cache)
    _, cache = rnn_step_forward(np.ones((2, 4)), np.ones((2, 5)), *_params(rng, 4, 5, 1))
    with pytest.raises(ValueError, match=r"rnn_step_backward: dh must have shape \(N, H\)"):
        rnn_step_backward(np.ones((2, 4)), cache)
    _, _, cache = lstm_step_forward(np.ones((2, 4)), np.ones((2, 5)), np.ones((2, 5)),
                                    *_params(rng, 4, 5, 4))
    with pytest.raises(ValueError, match=r"lstm_step_backward: dc must have shape \(N, H\)"):
        lstm_step_backward(np.ones((2, 5)), np.ones((5, 2)), cache)


def test_forward_rejects_non_numeric_input():
    with pytest.raises(TypeError, match="rnn_step_forward: x must hold real numbers"):
        rnn_step_forward(np.array([["a", "b"]]), np.ones((1, 2)), np.ones((2, 2)), np.eye(2),
                         np.ones(2))


# --------------------------------------------------------------------------------------------
# Gradient clipping
# --------------------------------------------------------------------------------------------

def test_clip_gradients_scales_all_arrays_by_the_global_norm():
    # Global norm sqrt(3² + 4² + 12²) = 13. Clipping to 6.5 halves everything, including [3, 4]
    # whose own norm (5) is below the limit: per-array clipping would leave it alone and cut
    # [12] to [6.5].
    grads = [np.array([3.0, 4.0]), np.array([[12.0]])]
    clipped = clip_gradients(grads, 6.5)
    np.testing.assert_allclose(clipped[0], [1.5, 2.0])
    np.testing.assert_allclose(clipped[1], [[6.0]])
    assert global_norm(clipped) == pytest.approx(6.5)


def test_clip_gradients_leaves_gradients_below_the_limit_unchanged_as_new_arrays():
    grads = [np.array([3.0, 4.0]), np.array([[12.0]])]
    for limit in (13.0, 100.0):
        clipped = clip_gradients(grads, limit)
        assert all(c is not g for c, g in zip(clipped, grads, strict=True))
        for c, g in zip(clipped, grads, strict=True):
            np.testing.assert_array_equal(c, g)


def test_clip_gradients_keeps_dtype_and_leaves_inputs_untouched():
    grads = [np.full((2, 3), 10.0, dtype=np.float32), np.full(4, -10.0, dtype=np.float32)]
    before = [g.copy() for g in grads]
    clipped = clip_gradients(grads, 1.0)
    assert [c.dtype for c in clipped] == [np.float32, np.float32]
    assert isinstance(clipped, list)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, b)
    assert global_norm(clipped) == pytest.approx(1.0, rel=1e-6)


_arrays = st.lists(
    st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1),
              st.floats(1e-3, 1e3)),
    min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(specs=_arrays, max_norm=st.floats(1e-2, 1e2))
def test_clip_gradients_gives_norm_min_of_norm_and_limit_and_keeps_direction(specs, max_norm):
    grads = [scale * np.random.default_rng(seed).standard_normal((r, c))
             for r, c, seed, scale in specs]
    flat = np.concatenate([g.ravel() for g in grads])
    norm = np.linalg.norm(flat)
    assert global_norm(grads) == pytest.approx(norm, rel=1e-12)
    clipped = clip_gradients(grads, max_norm)
    flat_clipped = np.concatenate([g.ravel() for g in clipped])
    assert np.linalg.norm(flat_clipped) == pytest.approx(min(norm, max_norm), rel=1e-10)
    # the same direction: one common factor for every entry of every array
    np.testing.assert_allclose(flat_clipped * norm, flat * min(norm, max_norm), rtol=1e-10,
                               atol=1e-12 * norm)


def test_global_norm_does_not_overflow_on_huge_float32_gradients():
    grads = [np.full(4, 1e30, dtype=np.float32), np.full(2, 1e30, dtype=np.float32)]
    assert global_norm(grads) == pytest.approx(1e30 * np.sqrt(6), rel=1e-6)
    clipped = clip_gradients(grads, 5.0)
    assert global_norm(clipped) == pytest.approx(5.0, rel=1e-5)


def test_global_norm_propagates_nan_and_inf_in_any_array():
    assert np.isnan(global_norm([np.ones(2), np.array([np.nan])]))
    assert np.isnan(global_norm([np.array([np.nan]), np.ones(2)]))
    assert global_norm([np.ones(2), np.array([-np.inf])]) == np.inf


def test_global_norm_of_empty_and_zero_gradients_is_zero():
    assert global_norm([]) == 0.0
    assert global_norm([np.zeros(3), np.zeros((0, 2))]) == 0.0
    np.testing.assert_array_equal(clip_gradients([np.zeros(3)], 1.0)[0], np.zeros(3))


@pytest.mark.parametrize("grads, max_norm, error, pattern", [
    ([np.ones(2)], 0.0, ValueError, r"clip_gradients: max_norm must be > 0"),
    ([np.ones(2)], "1", TypeError, r"max_norm must be a number"),
    (np.ones(3), 1.0, TypeError, r"grads must be a list of arrays"),
    ([np.array([1.0, np.nan])], 1.0, ValueError, r"NaN or infinite"),
    ([np.ones(2), ["a"]], 1.0, TypeError, r"grads\[1\] must hold real numbers"),
])
def test_clip_gradients_rejects_bad_input_clearly(grads, max_norm, error, pattern):
    with pytest.raises(error, match=pattern):
        clip_gradients(grads, max_norm)


# --------------------------------------------------------------------------------------------
# Gradient norms through time (vanishing and exploding gradients)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [0.5, 1.0, 1.5])
def test_linear_rnn_gradient_norm_is_scale_to_the_power_of_the_distance(scale):
    # Wh = scale·(orthogonal), so each step back multiplies the norm by exactly scale.
    T = 20
    norms = random_rnn_gradient_norms(scale, np.random.default_rng(0), "linear", T=T)
    assert norms.shape == (T,)
    np.testing.assert_allclose(norms, scale ** np.arange(T - 1, -1, -1.0), rtol=1e-10)


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear"])
@pytest.mark.parametrize("scale", [0.7, 1.3])
def test_gradient_norms_never_exceed_the_linear_bound(activation, scale):
    # |φ'| <= 1 for all three activations, so ‖∂L/∂h_t‖ <= scale^(T−1−t).
    T = 30
    norms = random_rnn_gradient_norms(scale, np.random.default_rng(1), activation, T=T,
                                      hidden_size=16, batch_size=3)
    assert norms[-1] == pytest.approx(1.0)
    assert np.all(norms <= scale ** np.arange(T - 1, -1, -1.0) * (1 + 1e-10))


def test_tanh_rnn_gradient_vanishes_for_small_recurrent_weights():
    norms = random_rnn_gradient_norms(0.5, np.random.default_rng(2), "tanh", T=40)
    assert norms[0] < 1e-10
    assert np.all(np.diff(norms) > 0)  # shrinking at every step back


def test_gradient_norms_are_reproducible_from_the_seed():
    a = random_rnn_gradient_norms(1.1, np.random.default_rng(3), "tanh")
    b = random_rnn_gradient_norms(1.1, np.random.default_rng(3), "tanh")
    c = random_rnn_gradient_norms(1.1, np.random.default_rng(4), "tanh")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_rnn_gradient_norms_match_rnn_backward_on_the_rest_of_the_sequence():
    # ∂L/∂h_t is the dh0 of an RNN started at h_t that reads the steps after t.
    rng = np.random.default_rng(5)
    n, t, d, h = 2, 6, 3, 4
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _params(rng, d, h, 1, scale=0.8)
    u = rng.standard_normal((n, h))
    norms = rnn_gradient_norms(x, h0, Wx, Wh, b, activation="tanh", dh_last=u)
    hs, _ = rnn_forward(x, h0, Wx, Wh, b)
    for k in range(t - 1):
        rest, cache = rnn_forward(x[:, k + 1:], hs[:, k], Wx, Wh, b)
        dh = np.zeros_like(rest)
        dh[:, -1] = u
        dh_k = rnn_backward(dh, cache)[1]
        assert norms[k] == pytest.approx(np.linalg.norm(dh_k), rel=1e-10)
    assert norms[-1] == pytest.approx(np.linalg.norm(u))


def test_rnn_gradient_norms_report_overflow_as_inf_without_warnings():
    # A linear RNN with zero inputs stays at h = 0, but its gradient grows by 1e10 per step.
    n, t, d, h = 1, 40, 2, 3
    norms = rnn_gradient_norms(np.zeros((n, t, d)), np.zeros((n, h)), np.ones((d, h)),
                               1e10 * np.eye(h), np.zeros(h), activation="linear")
    assert norms[-1] == pytest.approx(1.0)
    assert np.isinf(norms[0])
    assert np.all(np.isfinite(norms[-30:]))


def test_rnn_gradient_norms_refuse_a_forward_pass_that_overflows():
    with pytest.raises(ValueError, match="hidden state overflowed"):
        rnn_gradient_norms(np.ones((1, 200, 2)), np.ones((1, 3)), np.ones((2, 3)),
                           1e3 * np.eye(3), np.zeros(3), activation="relu")


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"scale": 0.0}, ValueError, r"scale must be > 0"),
    ({"scale": 1.0, "rng": 0}, TypeError, r"rng must be a numpy.random.Generator"),
    ({"scale": 1.0, "activation": "sigmoid"}, ValueError,
     r"activation must be one of \['linear', 'relu', 'tanh'\]"),
    ({"scale": 1.0, "T": 0}, ValueError, r"T must be >= 1"),
    ({"scale": 1.0, "hidden_size": 2.5}, TypeError, r"hidden_size must be an integer"),
])
def test_random_rnn_gradient_norms_rejects_bad_arguments(kwargs, error, pattern):
    kwargs = {"rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(error, match=pattern):
        random_rnn_gradient_norms(**kwargs)
