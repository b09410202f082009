"""Tests of nnutils.conv: convolution and max pooling, fast (im2col) and naive (loops)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnutils.conv import (
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    conv2d_forward_naive,
    conv_output_shape,
    maxpool2d_backward,
    maxpool2d_backward_naive,
    maxpool2d_forward,
    maxpool2d_forward_naive,
)
from nnutils.gradcheck import numerical_gradient, rel_error

# (N, C, H, W, F, HH, WW, stride, pad)
CONV_CASES = [
    (1, 1, 5, 5, 1, 3, 3, 1, 0),   # a batch of one, one channel, one filter
    (2, 3, 6, 6, 4, 3, 3, 1, 1),   # C > 1, F > 1, "same" padding
    (2, 2, 7, 9, 3, 3, 5, 1, 0),   # non-square input and kernel
    (2, 2, 7, 9, 3, 3, 5, 2, 2),   # stride 2, pad 2
    (3, 1, 8, 8, 2, 2, 2, 2, 0),   # non-overlapping windows
    (1, 2, 6, 5, 2, 4, 2, 3, 1),   # stride 3 leaves rows and columns unused
    (2, 3, 4, 4, 2, 1, 1, 1, 0),   # 1 x 1 convolution
    (1, 1, 3, 3, 2, 5, 5, 1, 1),   # kernel larger than x, but not than the padded x
]
CONV_IDS = ["N{}C{}_{}x{}_F{}_k{}x{}_s{}p{}".format(*c) for c in CONV_CASES]

# (N, C, H, W, size, stride)
POOL_CASES = [
    (1, 1, 4, 4, 2, 2),    # batch of one, the fast path
    (2, 3, 6, 8, 2, 2),
    (2, 2, 7, 5, 2, 2),    # odd H and W: the last row and column belong to no window
    (2, 2, 7, 7, 3, 2),    # overlapping windows
    (1, 2, 5, 6, 2, 1),    # stride 1
    (2, 1, 9, 9, 3, 3),    # non-overlapping 3 x 3
    (1, 2, 4, 6, 4, 1),    # window as tall as the input
]
POOL_IDS = ["N{}C{}_{}x{}_size{}_s{}".format(*c) for c in POOL_CASES]


def conv_inputs(case, rng, dtype=np.float64):
    N, C, H, W, F, HH, WW, stride, pad = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    return x, w, b, stride, pad


def distinct_values(rng, shape):
    """Values at least 0.01 apart, so no pooling window has a tie, even after a step of 1e-5."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 1.0


def numerical_grads(forward, args, dout):
    """Centred-difference gradients of sum(forward(*args)[0] * dout) for every array in args."""
    grads = []
    for k, a in enumerate(args):
        def loss(v, k=k):
            changed = list(args)
            changed[k] = v
            return float(np.vdot(forward(*changed)[0], dout))
        grads.append(numerical_gradient(loss, np.array(a, dtype=np.float64)))
    return grads


# ---- convolution: values ----------------------------------------------------------------------

@pytest.mark.parametrize("forward", [conv2d_forward, conv2d_forward_naive])
def test_conv_forward_is_cross_correlation_as_computed_by_hand(forward):
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)        # [[1 2 3] [4 5 6] [7 8 9]]
    w = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    out, _ = forward(x, w, np.array([0.5]))
    # top-left: 1*1 + 2*2 + 3*4 + 4*5 = 37; a flipped kernel (true convolution) would give 23
    np.testing.assert_allclose(out, [[[[37.5, 47.5], [67.5, 77.5]]]])


@pytest.mark.parametrize("forward", [conv2d_forward, conv2d_forward_naive])
def test_conv_forward_pads_with_zeros_and_strides(forward):
    x = np.ones((1, 1, 3, 3))
    w = np.ones((1, 1, 3, 3))
    out, _ = forward(x, w, np.zeros(1), stride=2, pad=1)
    # the corner windows of the padded 5 x 5 input each cover 4 ones
    np.testing.assert_allclose(out, [[[[4.0, 4.0], [4.0, 4.0]]]])
    out, _ = forward(x, w, np.zeros(1), stride=1, pad=1)
    np.testing.assert_allclose(out[0, 0], [[4, 6, 4], [6, 9, 6], [4, 6, 4]])


def test_conv_forward_sums_over_channels_and_adds_one_bias_per_filter():
    x = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 10.0)])[None]       # (1, 2, 2, 2)
    w = np.stack([np.ones((2, 1, 1)), np.stack([np.ones((1, 1)), -np.ones((1, 1))])])
    out, _ = conv2d_forward(x, w, np.array([0.0, 100.0]))
    np.testing.assert_allclose(out[0, 0], np.full((2, 2), 11.0))
    np.testing.assert_allclose(out[0, 1], np.full((2, 2), 91.0))


# ---- convolution: gradients -------------------------------------------------------------------

@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_backward_matches_numerical_gradient(case):
    rng = np.random.default_rng(sum(case))
    x, w, b, stride, pad = conv_inputs(case, rng)
    out, cache = conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    analytic = conv2d_backward(dout, cache)
    numeric = numerical_grads(lambda x, w, b: conv2d_forward(x, w, b, stride, pad), (x, w, b),
                              dout)
    for name, a, n in zip(("dx", "dw", "db"), analytic, numeric, strict=True):
        assert a.shape == n.shape, name
        assert rel_error(a, n) < 1e-6, (name, rel_error(a, n))


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_fast_matches_naive_forward_and_backward(case):
    rng = np.random.default_rng(100 + sum(case))
    x, w, b, stride, pad = conv_inputs(case, rng)
    out, cache = conv2d_forward(x, w, b, stride, pad)
    out_n, cache_n = conv2d_forward_naive(x, w, b, stride, pad)
    np.testing.assert_allclose(out, out_n, rtol=1e-10, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    for fast, naive in zip(conv2d_backward(dout, cache), conv2d_backward_naive(dout, cache_n),
                           strict=True):
        assert fast.shape == naive.shape
        np.testing.assert_allclose(fast, naive, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_matches_torch_autograd_in_float64(case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(200 + sum(case))
    x, w, b, stride, pad = conv_inputs(case, rng)
    out, cache = conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_backward(dout, cache)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(3, 8), w_=st.integers(3, 8),
       f=st.integers(1, 3), k=st.integers(1, 3), stride=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_conv_shifting_the_input_by_one_stride_shifts_the_output_by_one(n, c, h, w_, f, k,
                                                                         stride, seed):
    """Translation equivariance: the property that makes convolution the layer for images."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w_))
    w, b = rng.standard_normal((f, c, k, k)), rng.standard_normal(f)
    shifted = np.zeros_like(x)
    shifted[..., stride:] = x[..., :-stride] if stride < w_ else 0.0
    out, _ = conv2d_forward(x, w, b, stride)
    out_shifted, _ = conv2d_forward(shifted, w, b, stride)
    np.testing.assert_allclose(out_shifted[..., 1:], out[..., :-1], rtol=1e-12, atol=1e-12)


# ---- convolution: dtypes, inputs left alone, shapes -------------------------------------------

@pytest.mark.parametrize("forward,backward", [(conv2d_forward, conv2d_backward),
                                              (conv2d_forward_naive, conv2d_backward_naive)])
def test_conv_keeps_float32_in_forward_and_every_gradient(forward, backward):
    rng = np.random.default_rng(3)
    x, w, b, stride, pad = conv_inputs(CONV_CASES[3], rng, np.float32)
    out, cache = forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    grads = backward(dout, cache)
    assert out.dtype == np.float32
    assert [g.dtype for g in grads] == [np.float32] * 3
    out64, cache64 = forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                             stride, pad)
    np.testing.assert_allclose(out, out64, rtol=1e-4, atol=1e-4)
    for g, g64 in zip(grads, backward(dout.astype(np.float64), cache64), strict=True):
        np.testing.assert_allclose(g, g64, rtol=1e-4, atol=1e-4)


def test_conv_mixed_dtypes_compute_in_float64_and_return_each_gradient_in_its_input_dtype():
    rng = np.random.default_rng(4)
    x, w, b, stride, pad = conv_inputs(CONV_CASES[1], rng)
    out, cache = conv2d_forward(x.astype(np.float32), w, b.astype(np.float32), stride, pad)
    assert out.dtype == np.float64
    dx, dw, db = conv2d_backward(np.ones(out.shape), cache)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float32, np.float64, np.float32)


def test_conv_accepts_integer_and_list_inputs_as_float64():
    out, cache = conv2d_forward(np.ones((1, 1, 3, 3), dtype=int), [[[[1, 2], [3, 4]]]], [1])
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.full((1, 1, 2, 2), 11.0))
    dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2), dtype=int), cache)
    assert dx.dtype == dw.dtype == db.dtype == np.float64
    np.testing.assert_allclose(dx[0, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])


@pytest.mark.parametrize("forward,backward", [(conv2d_forward, conv2d_backward),
                                              (conv2d_forward_naive, conv2d_backward_naive)])
def test_conv_does_not_modify_its_inputs(forward, backward):
    rng = np.random.default_rng(5)
    x, w, b, stride, pad = conv_inputs(CONV_CASES[3], rng)
    saved = [a.copy() for a in (x, w, b)]
    out, cache = forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dout_saved = dout.copy()
    backward(dout, cache)
    for a, s in zip((x, w, b, dout), saved + [dout_saved], strict=True):
        np.testing.assert_array_equal(a, s)


def test_conv_backward_can_run_twice_from_one_cache_with_the_same_result():
    rng = np.random.default_rng(6)
    x, w, b, stride, pad = conv_inputs(CONV_CASES[1], rng)
    out, cache = conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    first = [g.copy() for g in conv2d_backward(dout, cache)]
    for g, g2 in zip(first, conv2d_backward(dout, cache), strict=True):
        np.testing.assert_array_equal(g, g2)


@pytest.mark.parametrize("H,W,HH,WW,stride,pad,expected", [
    (28, 28, 5, 5, 1, 0, (24, 24)),     # LeNet's first layer
    (28, 28, 3, 3, 1, 1, (28, 28)),     # "same" padding
    (32, 32, 3, 3, 2, 1, (16, 16)),
    (7, 9, 3, 5, 2, 2, (5, 5)),
    (6, 5, 4, 2, 3, 1, (2, 2)),         # stride 3 drops what it cannot reach
    (227, 227, 11, 11, 4, 0, (55, 55)),  # AlexNet's first layer
    (3, 3, 5, 5, 1, 1, (1, 1)),
])
def test_conv_output_shape_gives_the_known_sizes(H, W, HH, WW, stride, pad, expected):
    assert conv_output_shape(H, W, HH, WW, stride, pad) == expected


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_forward_output_has_the_shape_conv_output_shape_gives(case):
    N, C, H, W, F, HH, WW, stride, pad = case
    x, w, b, stride, pad = conv_inputs(case, np.random.default_rng(7))
    out, _ = conv2d_forward(x, w, b, stride, pad)
    assert out.shape == (N, F) + conv_output_shape(H, W, HH, WW, stride, pad)


# ---- convolution: bad input -------------------------------------------------------------------

@pytest.mark.parametrize("forward", [conv2d_forward, conv2d_forward_naive])
@pytest.mark.parametrize("kwargs,error,match", [
    ({"w_shape": (4, 2, 3, 3)}, ValueError, r"w must have shape \(\?, 3, \?, \?\).*C = 3"),
    ({"x_shape": (3, 5, 5)}, ValueError, r"x must be a 4-D array \(N, C, H, W\); got shape"),
    ({"w_shape": (4, 3, 3)}, ValueError, r"w must be a 4-D array \(F, C, HH, WW\)"),
    ({"b_shape": (3,)}, ValueError, r"b must have shape \(4,\)"),
    ({"b_shape": (4, 1)}, ValueError, r"b must be a 1-D array \(F,\)"),
    ({"w_shape": (4, 3, 8, 3), "pad": 1}, ValueError, r"kernel \(HH, WW\) = \(8, 3\) is larger"
                                                      r" than the padded input.*\(7, 7\)"),
    ({"stride": 0}, ValueError, r"stride must be >= 1; got 0"),
    ({"pad": -1}, ValueError, r"pad must be >= 0; got -1"),
    ({"stride": 1.5}, TypeError, r"stride must be an integer"),
    ({"x_shape": (0, 3, 5, 5)}, ValueError, r"x must have shape \(N, C, H, W\) with no empty"),
])
def test_conv_forward_rejects_bad_input_with_a_clear_message(forward, kwargs, error, match):
    args = {"x_shape": (2, 3, 5, 5), "w_shape": (4, 3, 3, 3), "b_shape": (4,), "stride": 1,
            "pad": 0, **kwargs}
    with pytest.raises(error, match=match):
        forward(np.zeros(args["x_shape"]), np.zeros(args["w_shape"]),
                np.zeros(args["b_shape"]), args["stride"], args["pad"])
    with pytest.raises(error, match=forward.__name__):
        forward(np.zeros(args["x_shape"]), np.zeros(args["w_shape"]),
                np.zeros(args["b_shape"]), args["stride"], args["pad"])


def test_conv_forward_rejects_non_numeric_input():
    with pytest.raises(TypeError, match="conv2d_forward: x must hold real numbers"):
        conv2d_forward(np.full((1, 1, 3, 3), "a"), np.zeros((1, 1, 2, 2)), np.zeros(1))


@pytest.mark.parametrize("forward,backward", [(conv2d_forward, conv2d_backward),
                                              (conv2d_forward_naive, conv2d_backward_naive)])
def test_conv_backward_rejects_a_dout_of_the_wrong_shape(forward, backward):
    _, cache = forward(np.zeros((2, 3, 5, 5)), np.zeros((4, 3, 3, 3)), np.zeros(4))
    with pytest.raises(ValueError,
                       match=r"dout must have shape \(2, 4, 3, 3\).*got \(2, 4, 3, 2\)"):
        backward(np.zeros((2, 4, 3, 2)), cache)


@pytest.mark.parametrize("backward,other_forward", [
    (conv2d_backward, conv2d_forward_naive), (conv2d_backward_naive, conv2d_forward)])
def test_conv_backward_rejects_a_cache_from_another_forward(backward, other_forward):
    _, cache = other_forward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), np.zeros(1))
    with pytest.raises(TypeError, match=r"cache must be the tuple returned by conv2d_forward"):
        backward(np.zeros((1, 1, 2, 2)), cache)


@pytest.mark.parametrize("args,error,match", [
    ((5, 5, 7, 3, 1, 0), ValueError, r"the kernel \(HH, WW\) = \(7, 3\) is larger"),
    ((5, 5, 3, 3, 0, 0), ValueError, r"stride must be >= 1"),
    ((5, 5, 3, 3, 1, -2), ValueError, r"pad must be >= 0"),
    ((5.5, 5, 3, 3, 1, 0), TypeError, r"H must be an integer"),
    ((5, 0, 3, 3, 1, 0), ValueError, r"W must be >= 1"),
])
def test_conv_output_shape_rejects_impossible_sizes(args, error, match):
    with pytest.raises(error, match="conv_output_shape: " + match):
        conv_output_shape(*args)


# ---- max pooling: values and the tie rule -----------------------------------------------------

@pytest.mark.parametrize("forward", [maxpool2d_forward, maxpool2d_forward_naive])
def test_maxpool_forward_takes_the_maximum_of_each_window(forward):
    x = np.array([[1.0, 2.0, 5.0, 0.0],
                  [4.0, 3.0, 1.0, 1.0],
                  [0.0, 0.0, -1.0, -2.0],
                  [0.0, 9.0, -3.0, -4.0]]).reshape(1, 1, 4, 4)
    out, _ = forward(x)
    np.testing.assert_array_equal(out, [[[[4.0, 5.0], [9.0, -1.0]]]])
    out, _ = forward(x, size=3, stride=1)
    np.testing.assert_array_equal(out, [[[[5.0, 5.0], [9.0, 9.0]]]])


@pytest.mark.parametrize("forward,backward", [(maxpool2d_forward, maxpool2d_backward),
                                              (maxpool2d_forward_naive, maxpool2d_backward_naive)])
@pytest.mark.parametrize("window,winner", [
    ([[7.0, 7.0], [7.0, 7.0]], (0, 0)),
    ([[1.0, 7.0], [7.0, 7.0]], (0, 1)),
    ([[1.0, 2.0], [7.0, 7.0]], (1, 0)),
    ([[1.0, 7.0], [7.0, 2.0]], (0, 1)),
    ([[1.0, 2.0], [3.0, 7.0]], (1, 1)),
])
def test_maxpool_tie_sends_the_whole_gradient_to_the_first_maximum_in_row_major_order(
        forward, backward, window, winner):
    x = np.array(window).reshape(1, 1, 2, 2)
    out, cache = forward(x)
    dx = backward(np.array([[[[5.0]]]]), cache)
    expected = np.zeros((2, 2))
    expected[winner] = 5.0
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("size,stride", [(2, 2), (3, 2), (2, 1), (3, 3)])
def test_maxpool_general_path_applies_the_same_tie_rule(size, stride):
    x = np.full((1, 1, 6, 6), 3.0)          # every window is one big tie
    out, cache = maxpool2d_forward(x, size, stride)
    dx = maxpool2d_backward(np.ones(out.shape), cache)
    _, cache_n = maxpool2d_forward_naive(x, size, stride)
    np.testing.assert_array_equal(dx, maxpool2d_backward_naive(np.ones(out.shape), cache_n))
    # each window's gradient went to its top-left corner
    corners = np.zeros((6, 6))
    for r in range(out.shape[2]):
        for c in range(out.shape[3]):
            corners[r * stride, c * stride] += 1.0
    np.testing.assert_array_equal(dx[0, 0], corners)


# ---- max pooling: gradients and agreement -----------------------------------------------------

@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
def test_maxpool2d_backward_matches_numerical_gradient(case):
    N, C, H, W, size, stride = case
    rng = np.random.default_rng(sum(case))
    x = distinct_values(rng, (N, C, H, W))
    out, cache = maxpool2d_forward(x, size, stride)
    dout = rng.standard_normal(out.shape)
    (numeric,) = numerical_grads(lambda x: maxpool2d_forward(x, size, stride), (x,), dout)
    dx = maxpool2d_backward(dout, cache)
    assert dx.shape == x.shape
    assert rel_error(dx, numeric) < 1e-6


@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
@pytest.mark.parametrize("values", ["continuous", "ties"])
def test_maxpool_fast_matches_naive_forward_and_backward(case, values):
    N, C, H, W, size, stride = case
    rng = np.random.default_rng(300 + sum(case))
    x = rng.standard_normal((N, C, H, W)) if values == "continuous" \
        else rng.integers(0, 3, (N, C, H, W)).astype(np.float64)
    out, cache = maxpool2d_forward(x, size, stride)
    out_n, cache_n = maxpool2d_forward_naive(x, size, stride)
    np.testing.assert_array_equal(out, out_n)
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(maxpool2d_backward(dout, cache),
                               maxpool2d_backward_naive(dout, cache_n), rtol=1e-10, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 2), h=st.integers(2, 9), w=st.integers(2, 9),
       seed=st.integers(0, 2**16))
def test_maxpool_2x2_gives_each_window_gradient_to_exactly_one_element(n, c, h, w, seed):
    """With many ties (values 0..2), dx restricted to any window is dout at one place, 0 else."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (n, c, h, w)).astype(np.float64)
    out, cache = maxpool2d_forward(x)
    dout = rng.uniform(1.0, 2.0, out.shape)
    dx = maxpool2d_backward(dout, cache)
    Ho, Wo = out.shape[2:]
    windows = dx[:, :, :2 * Ho, :2 * Wo].reshape(n, c, Ho, 2, Wo, 2)
    np.testing.assert_array_equal((windows != 0).sum(axis=(3, 5)), np.ones((n, c, Ho, Wo)))
    np.testing.assert_array_equal(windows.sum(axis=(3, 5)), dout)
    assert not dx[:, :, 2 * Ho:].any() and not dx[..., 2 * Wo:].any()
    # and the element chosen holds the window's maximum
    xw = x[:, :, :2 * Ho, :2 * Wo].reshape(n, c, Ho, 2, Wo, 2)
    np.testing.assert_array_equal(np.where(windows != 0, xw, -1).max(axis=(3, 5)), out)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 3), stride=st.integers(1, 3), shift=st.floats(-100, 100),
       seed=st.integers(0, 2**16))
def test_maxpool_commutes_with_adding_a_constant(size, stride, shift, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, 6, 7))
    out, _ = maxpool2d_forward(x, size, stride)
    out_shifted, _ = maxpool2d_forward(x + shift, size, stride)
    np.testing.assert_allclose(out_shifted, out + shift, rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
def test_maxpool_matches_torch_autograd_in_float64(case):
    torch = pytest.importorskip("torch")
    N, C, H, W, size, stride = case
    rng = np.random.default_rng(400 + sum(case))
    x = rng.standard_normal((N, C, H, W))
    out, cache = maxpool2d_forward(x, size, stride)
    dout = rng.standard_normal(out.shape)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.max_pool2d(tx, size, stride)
    tout.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, tout.detach().numpy())
    np.testing.assert_allclose(maxpool2d_backward(dout, cache), tx.grad.numpy(), rtol=1e-12,
                               atol=1e-15)


# ---- max pooling: dtypes, inputs left alone, bad input ----------------------------------------

@pytest.mark.parametrize("forward,backward", [(maxpool2d_forward, maxpool2d_backward),
                                              (maxpool2d_forward_naive, maxpool2d_backward_naive)])
@pytest.mark.parametrize("size,stride", [(2, 2), (3, 2)])
def test_maxpool_keeps_float32(forward, backward, size, stride):
    x = np.random.default_rng(8).standard_normal((2, 3, 7, 6)).astype(np.float32)
    out, cache = forward(x, size, stride)
    dx = backward(np.ones(out.shape, np.float32), cache)
    assert out.dtype == dx.dtype == np.float32
    out64, _ = forward(x.astype(np.float64), size, stride)
    np.testing.assert_array_equal(out, out64.astype(np.float32))


@pytest.mark.parametrize("forward,backward", [(maxpool2d_forward, maxpool2d_backward),
                                              (maxpool2d_forward_naive, maxpool2d_backward_naive)])
@pytest.mark.parametrize("size,stride", [(2, 2), (3, 2)])
def test_maxpool_does_not_modify_its_inputs(forward, backward, size, stride):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 7, 6))
    x_saved = x.copy()
    out, cache = forward(x, size, stride)
    dout = rng.standard_normal(out.shape)
    dout_saved = dout.copy()
    backward(dout, cache)
    np.testing.assert_array_equal(x, x_saved)
    np.testing.assert_array_equal(dout, dout_saved)


@pytest.mark.parametrize("forward", [maxpool2d_forward, maxpool2d_forward_naive])
@pytest.mark.parametrize("x_shape,size,stride,error,match", [
    ((2, 5, 5), 2, 2, ValueError, r"x must be a 4-D array \(N, C, H, W\); got shape \(2, 5, 5\)"),
    ((1, 1, 5, 2), 3, 1, ValueError, r"the pooling window size = 3 is larger than the input"
                                     r" \(H, W\) = \(5, 2\)"),
    ((1, 1, 4, 4), 0, 2, ValueError, r"size must be >= 1; got 0"),
    ((1, 1, 4, 4), 2, 0, ValueError, r"stride must be >= 1; got 0"),
    ((1, 1, 4, 4), 2.0, 2, TypeError, r"size must be an integer"),
])
def test_maxpool_forward_rejects_bad_input_with_a_clear_message(forward, x_shape, size, stride,
                                                                error, match):
    with pytest.raises(error, match=f"{forward.__name__}: {match}"):
        forward(np.zeros(x_shape), size, stride)


@pytest.mark.parametrize("forward,backward", [(maxpool2d_forward, maxpool2d_backward),
                                              (maxpool2d_forward_naive, maxpool2d_backward_naive)])
def test_maxpool_backward_rejects_a_dout_of_the_wrong_shape(forward, backward):
    _, cache = forward(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError,
                       match=r"dout must have shape \(2, 3, 2, 2\).*got \(2, 3, 4, 4\)"):
        backward(np.zeros((2, 3, 4, 4)), cache)


def test_maxpool_backward_rejects_something_that_is_not_its_cache():
    with pytest.raises(TypeError, match=r"maxpool2d_backward: cache must be the tuple returned by"
                                        r" maxpool2d_forward"):
        maxpool2d_backward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 4, 4)))
