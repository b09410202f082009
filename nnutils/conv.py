"""Convolution and max-pooling layers (lecture 6), as loops for reading and as fast NumPy code.

Convolution here is *cross-correlation*, as every deep-learning library computes it: the kernel
slides over the zero-padded input without being flipped. With x: (N, C, H, W), w: (F, C, HH, WW),
b: (F,) and xp the input padded with ``pad`` zeros on every side::

    out[n, f, r, c] = b[f] + sum over ch, i, j of  w[f, ch, i, j] * xp[n, ch, r*s + i, c*s + j]

    out: (N, F, H', W'),  H' = 1 + (H + 2*pad - HH) // s,  W' = 1 + (W + 2*pad - WW) // s

where s is the stride. Rows or columns that a stride does not reach are dropped, as in PyTorch.

Max pooling takes the largest value of every ``size`` x ``size`` window, windows ``stride`` apart,
channel by channel::

    out[n, ch, r, c] = max over i, j < size of  x[n, ch, r*stride + i, c*stride + j]

Its gradient goes to the element that won. **Ties:** when several elements of a window share the
maximum, the whole gradient goes to exactly one of them, the first in row-major order within the
window (the same rule as ``np.argmax`` of the flattened window and as PyTorch's CPU kernel).

Each layer comes twice. The ``*_naive`` functions loop over every output entry and read like the
formulas above; they are there to be understood. The others compute the same numbers fast:

- ``conv2d_forward`` gathers the input into a matrix ``cols`` (im2col) with one row per
  (channel, kernel row, kernel column) and one column per (image, output row, output column), so
  that the whole layer is ONE matrix product ``w.reshape(F, C*HH*WW) @ cols``. The rows are
  channel-major so that the reshape of ``w`` needs no copy; the columns are image-major so that the
  (F, N*H'*W') product becomes (N, F, H', W') with one transpose. ``cols`` is built with one
  strided copy per kernel offset (i, j) -- HH*WW copies, never a loop over pixels.
- ``conv2d_backward`` uses the same ``cols``: dw = dout @ cols.T and dcols = w.T @ dout are matrix
  products, and dcols is folded back onto the input (col2im) with one strided add per offset.
  Large temporaries are kept few: a fresh array the size of ``cols`` costs page faults that can
  take longer than the arithmetic, so dcols is formed a kernel row at a time in one buffer.
- ``maxpool2d_forward`` with the default non-overlapping 2 x 2 windows compares strided views: the
  two columns of every pair, then the two rows; any other size or stride takes a general path
  that visits the size*size window offsets.
"""

import numpy as np

from ._checks import as_float_array, check_scalar, check_shape

# ---------------------------------------------------------------------------------------------
# Output sizes and input checks
# ---------------------------------------------------------------------------------------------


def _conv_out_size(H, W, HH, WW, stride, pad, func):
    """(H', W') of a convolution; raises if the kernel does not fit the padded input."""
    if HH > H + 2 * pad or WW > W + 2 * pad:
        raise ValueError(f"{func}: the kernel (HH, WW) = ({HH}, {WW}) is larger than the padded"
                         f" input (H + 2*pad, W + 2*pad) = ({H + 2 * pad}, {W + 2 * pad});"
                         f" use a smaller kernel or more padding")
    return 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride


def conv_output_shape(H, W, HH, WW, stride=1, pad=0):
    """Spatial size (H', W') of the output of a convolution (or of pooling, with pad=0).

    H, W: input height and width; HH, WW: kernel height and width; stride >= 1; pad >= 0.
    Returns (1 + (H + 2*pad - HH) // stride, 1 + (W + 2*pad - WW) // stride) as two ints.
    Raises ValueError when the kernel is larger than the padded input.
    """
    func = "conv_output_shape"
    for name, value in (("H", H), ("W", W), ("HH", HH), ("WW", WW), ("stride", stride)):
        check_scalar(value, name, func, low=1, integer=True)
    check_scalar(pad, "pad", func, low=0, integer=True)
    Ho, Wo = _conv_out_size(int(H), int(W), int(HH), int(WW), int(stride), int(pad), func)
    return int(Ho), int(Wo)


def _check_no_empty_axis(arr, name, func, dims):
    if 0 in arr.shape:
        raise ValueError(f"{func}: {name} must have shape {dims} with no empty axis;"
                         f" got {arr.shape}")


def _check_conv_args(x, w, b, stride, pad, func):
    """Validate the arguments of a conv forward; return them as arrays plus the compute dtype."""
    x = as_float_array(x, "x", func, ndim=4, dims="(N, C, H, W)")
    w = as_float_array(w, "w", func, ndim=4, dims="(F, C, HH, WW)")
    b = as_float_array(b, "b", func, ndim=1, dims="(F,)")
    _check_no_empty_axis(x, "x", func, "(N, C, H, W)")
    _check_no_empty_axis(w, "w", func, "(F, C, HH, WW)")
    check_shape(w, (None, x.shape[1], None, None), "w", func,
                f"= (F, C, HH, WW) with C = {x.shape[1]} channels to match x of shape {x.shape}")
    check_shape(b, (w.shape[0],), "b", func, f"(one bias per filter of w, shape {w.shape})")
    stride = int(check_scalar(stride, "stride", func, low=1, integer=True))
    pad = int(check_scalar(pad, "pad", func, low=0, integer=True))
    _conv_out_size(x.shape[2], x.shape[3], w.shape[2], w.shape[3], stride, pad, func)
    return x, w, b, stride, pad, np.result_type(x, w, b)


def _check_pool_args(x, size, stride, func):
    """Validate the arguments of a max-pool forward; return (x, size, stride, H', W')."""
    x = as_float_array(x, "x", func, ndim=4, dims="(N, C, H, W)")
    _check_no_empty_axis(x, "x", func, "(N, C, H, W)")
    size = int(check_scalar(size, "size", func, low=1, integer=True))
    stride = int(check_scalar(stride, "stride", func, low=1, integer=True))
    H, W = x.shape[2:]
    if size > H or size > W:
        raise ValueError(f"{func}: the pooling window size = {size} is larger than the input"
                         f" (H, W) = ({H}, {W})")
    return x, size, stride, 1 + (H - size) // stride, 1 + (W - size) // stride


def _check_cache(cache, length, func, forward):
    if not isinstance(cache, tuple) or len(cache) != length:
        got = type(cache).__name__
        if isinstance(cache, tuple):
            got += f" of length {len(cache)}"
        raise TypeError(f"{func}: cache must be the tuple returned by {forward}"
                        f" (a tuple of length {length}); got {got}")
    return cache


def _check_dout(dout, shape, dtype, func, dims):
    """dout as an array of the forward output's shape, in the dtype the backward computes in."""
    dout = as_float_array(dout, "dout", func, ndim=4, dims=dims)
    check_shape(dout, shape, "dout", func, "(the shape of the forward output)")
    return dout.astype(dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# Naive versions: one loop iteration per output entry
# ---------------------------------------------------------------------------------------------


def conv2d_forward_naive(x, w, b, stride=1, pad=0):
    """Convolution (cross-correlation) with plain loops; same results as ``conv2d_forward``.

    x: (N, C, H, W) images; w: (F, C, HH, WW) filters; b: (F,) biases; stride >= 1; pad >= 0.
    out[n, f, r, c] = b[f] + sum(w[f] * xp[n, :, r*s : r*s + HH, c*s : c*s + WW]), s = stride,
    where xp is x padded with ``pad`` zeros on each side of H and W.
    Returns (out, cache), out: (N, F, 1 + (H + 2*pad - HH) // s, 1 + (W + 2*pad - WW) // s)
    in the dtype of the inputs (float32 only when x, w and b all are).
    """
    x, w, b, stride, pad, dtype = _check_conv_args(x, w, b, stride, pad, "conv2d_forward_naive")
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = _conv_out_size(H, W, HH, WW, stride, pad, "conv2d_forward_naive")
    xp = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((N, F, Ho, Wo), dtype)
    for n in range(N):
        for f in range(F):
            for r in range(Ho):
                for c in range(Wo):
                    window = xp[n, :, r * stride:r * stride + HH, c * stride:c * stride + WW]
                    out[n, f, r, c] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, stride, pad)


def conv2d_backward_naive(dout, cache):
    """Gradients of ``conv2d_forward_naive`` with plain loops.

    dout: (N, F, H', W') upstream gradient; cache: from ``conv2d_forward_naive``.
    Every output entry g = dout[n, f, r, c] sends its gradient back along the products that
    made it: db[f] += g;  dw[f] += g * xp[n, :, window];  dxp[n, :, window] += g * w[f].
    Returns (dx (N, C, H, W), dw (F, C, HH, WW), db (F,)), each in the dtype of its input.
    """
    func = "conv2d_backward_naive"
    x, w, b, stride, pad = _check_cache(cache, 5, func, "conv2d_forward_naive")
    dtype = np.result_type(x, w, b)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = _conv_out_size(H, W, HH, WW, stride, pad, func)
    dout = _check_dout(dout, (N, F, Ho, Wo), dtype, func, "(N, F, H', W')")
    xp = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros((F, C, HH, WW), dtype)
    db = np.zeros(F, dtype)
    for n in range(N):
        for f in range(F):
            for r in range(Ho):
                for c in range(Wo):
                    rows = slice(r * stride, r * stride + HH)
                    cols = slice(c * stride, c * stride + WW)
                    g = dout[n, f, r, c]
                    db[f] += g
                    dw[f] += g * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += g * w[f]
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx.astype(x.dtype, copy=False), dw.astype(w.dtype, copy=False), \
        db.astype(b.dtype, copy=False)


def maxpool2d_forward_naive(x, size=2, stride=2):
    """Max pooling with plain loops; same results as ``maxpool2d_forward``.

    x: (N, C, H, W); size: window height and width; stride: step between windows.
    out[n, ch, r, c] = max(x[n, ch, r*stride : r*stride + size, c*stride : c*stride + size])
    Returns (out, cache), out: (N, C, 1 + (H - size) // stride, 1 + (W - size) // stride).
    """
    x, size, stride, Ho, Wo = _check_pool_args(x, size, stride, "maxpool2d_forward_naive")
    N, C = x.shape[:2]
    out = np.empty((N, C, Ho, Wo), x.dtype)
    for n in range(N):
        for ch in range(C):
            for r in range(Ho):
                for c in range(Wo):
                    window = x[n, ch, r * stride:r * stride + size, c * stride:c * stride + size]
                    out[n, ch, r, c] = window.max()
    return out, (x, size, stride)


def maxpool2d_backward_naive(dout, cache):
    """Gradient of ``maxpool2d_forward_naive`` with plain loops.

    dout: (N, C, H', W'); cache: from ``maxpool2d_forward_naive``.
    Each window's gradient goes to its maximum; on a tie, to the first maximum in row-major order
    (``np.argmax`` of the flattened window). Returns dx: (N, C, H, W).
    """
    func = "maxpool2d_backward_naive"
    x, size, stride = _check_cache(cache, 3, func, "maxpool2d_forward_naive")
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - size) // stride, 1 + (W - size) // stride
    dout = _check_dout(dout, (N, C, Ho, Wo), x.dtype, func, "(N, C, H', W')")
    dx = np.zeros_like(x)
    for n in range(N):
        for ch in range(C):
            for r in range(Ho):
                for c in range(Wo):
                    window = x[n, ch, r * stride:r * stride + size, c * stride:c * stride + size]
                    i, j = divmod(int(np.argmax(window)), size)
                    dx[n, ch, r * stride + i, c * stride + j] += dout[n, ch, r, c]
    return dx


# ---------------------------------------------------------------------------------------------
# Fast convolution: im2col and one matrix product
# ---------------------------------------------------------------------------------------------


def _pad(x, pad):
    """x: (N, C, H, W) -> (N, C, H + 2*pad, W + 2*pad) with zeros around; x itself when pad == 0."""
    if pad == 0:
        return x
    N, C, H, W = x.shape
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), x.dtype)
    xp[:, :, pad:pad + H, pad:pad + W] = x
    return xp


def _im2col(xp, HH, WW, stride, Ho, Wo):
    """xp: (N, C, Hp, Wp) padded input -> cols: (C*HH*WW, N*Ho*Wo).

    cols[(ch, i, j), (n, r, c)] = xp[n, ch, r*stride + i, c*stride + j]: for each kernel offset
    (i, j), the input pixels that this kernel entry meets, copied with one strided slice.
    """
    N, C = xp.shape[:2]
    cols = np.empty((C, HH, WW, N, Ho, Wo), xp.dtype)
    x_cf = xp.transpose(1, 0, 2, 3)  # channel first, like the rows of cols (a view, no copy)
    for i in range(HH):
        for j in range(WW):
            cols[:, i, j] = x_cf[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride]
    return cols.reshape(C * HH * WW, N * Ho * Wo)


def _input_gradient(d, w, padded_shape, stride, Ho, Wo):
    """col2im of dcols = w.T @ d: the gradient of the padded input, dxp: (N, C, Hp, Wp).

    d: (F, N*Ho*Wo) upstream gradient; w: (F, C, HH, WW). Row (ch, i, j) of dcols holds what
    kernel entry (i, j) sends back to the input pixels it met, so it is added back onto them
    with one strided add per offset (windows overlap, so the adds accumulate). dcols is formed
    one kernel row i at a time, C*WW rows, in one reused buffer: only a fraction of it is in
    memory at once, which saves the page faults that a fresh matrix the size of cols costs.
    """
    N, C = padded_shape[:2]
    F, _, HH, WW = w.shape
    dxp = np.zeros(padded_shape, d.dtype)
    dx_cf = dxp.transpose(1, 0, 2, 3)  # channel first, like the rows of dcols
    w_rows = w.astype(d.dtype, copy=False).transpose(2, 1, 3, 0)  # (HH, C, WW, F)
    dcols_i = np.empty((C * WW, d.shape[1]), d.dtype)
    for i in range(HH):
        np.matmul(w_rows[i].reshape(C * WW, F), d, out=dcols_i)
        per_offset = dcols_i.reshape(C, WW, N, Ho, Wo)
        for j in range(WW):
            dx_cf[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += per_offset[:, j]
    return dxp


def conv2d_forward(x, w, b, stride=1, pad=0):
    """Convolution (cross-correlation) of a batch of images with a bank of filters, via im2col.

    x: (N, C, H, W) images; w: (F, C, HH, WW) filters; b: (F,) biases;
    stride >= 1 (step between windows); pad >= 0 (zeros added on each side of H and W).
    out[n, f, r, c] = b[f] + sum over ch, i, j of w[f, ch, i, j] * xp[n, ch, r*s + i, c*s + j]
    with s = stride and xp the padded x.
    Returns (out, cache), out: (N, F, 1 + (H + 2*pad - HH) // s, 1 + (W + 2*pad - WW) // s),
    float32 when x, w and b all are float32, float64 otherwise. The inputs are not modified.
    """
    x, w, b, stride, pad, dtype = _check_conv_args(x, w, b, stride, pad, "conv2d_forward")
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = _conv_out_size(H, W, HH, WW, stride, pad, "conv2d_forward")
    cols = _im2col(_pad(x.astype(dtype, copy=False), pad), HH, WW, stride, Ho, Wo)
    out_fm = w.reshape(F, C * HH * WW).astype(dtype, copy=False) @ cols  # (F, N*Ho*Wo)
    out = np.empty((N, F, Ho, Wo), dtype)
    # one pass both reorders (F, N, ...) to (N, F, ...) and adds the bias
    np.add(out_fm.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3), b.reshape(1, F, 1, 1), out=out)
    return out, (x, w, b, stride, pad, cols)


def conv2d_backward(dout, cache):
    """Gradients of ``conv2d_forward``.

    dout: (N, F, H', W') upstream gradient; cache: from ``conv2d_forward``.
    With d = dout arranged as (F, N*H'*W') and cols the im2col matrix of the forward pass:
    db = d summed over its columns;  dw = d @ cols.T;  dx = col2im(w.T @ d) without the padding.
    Returns (dx (N, C, H, W), dw (F, C, HH, WW), db (F,)), each in the dtype of its input.
    """
    func = "conv2d_backward"
    x, w, b, stride, pad, cols = _check_cache(cache, 6, func, "conv2d_forward")
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = _conv_out_size(H, W, HH, WW, stride, pad, func)
    dout = as_float_array(dout, "dout", func, ndim=4, dims="(N, F, H', W')")
    check_shape(dout, (N, F, Ho, Wo), "dout", func, "(the shape of the forward output)")
    # (N, F, H', W') -> (F, N*H'*W'), the layout of the forward's matrix product
    d = np.ascontiguousarray(dout.transpose(1, 0, 2, 3), dtype=cols.dtype).reshape(F, -1)
    db = d.sum(axis=1)
    dw = (d @ cols.T).reshape(F, C, HH, WW)
    dxp = _input_gradient(d, w, (N, C, H + 2 * pad, W + 2 * pad), stride, Ho, Wo)
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx.astype(x.dtype, copy=False), dw.astype(w.dtype, copy=False), \
        db.astype(b.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# Fast max pooling
# ---------------------------------------------------------------------------------------------


def _pool2x2_forward(x, Ho, Wo):
    """Non-overlapping 2 x 2 windows: first the two columns of each pair, then the two rows.

    The right element (or the bottom row) wins only where the maximum differs from the left
    element (the top row), that is where it is strictly larger; on a tie the left column and
    then the top row win, which is exactly the first maximum of the window in row-major order.
    (Comparing with the maximum just computed is cheaper than comparing two strided views.)
    """
    x = x[:, :, :2 * Ho, :2 * Wo]  # an odd last row or column belongs to no window
    left, right = x[..., 0::2], x[..., 1::2]
    pair_max = np.maximum(left, right)  # (N, C, 2*Ho, Wo)
    right_wins = pair_max != left
    top, bottom = pair_max[:, :, 0::2], pair_max[:, :, 1::2]
    out = np.maximum(top, bottom)  # (N, C, Ho, Wo)
    bottom_wins = out != top
    return out, (right_wins, bottom_wins)


def _pool2x2_backward(dout, x_shape, right_wins, bottom_wins):
    N, C, H, W = x_shape
    Ho, Wo = dout.shape[2:]
    d_pair = np.empty((N, C, 2 * Ho, Wo), dout.dtype)
    np.multiply(dout, ~bottom_wins, out=d_pair[:, :, 0::2])
    np.multiply(dout, bottom_wins, out=d_pair[:, :, 1::2])
    # every element of x lies in a window when H and W are even; otherwise zero the leftovers
    dx = np.empty(x_shape, dout.dtype) if H % 2 == 0 and W % 2 == 0 \
        else np.zeros(x_shape, dout.dtype)
    np.multiply(d_pair, ~right_wins, out=dx[:, :, :2 * Ho, 0:2 * Wo:2])
    np.multiply(d_pair, right_wins, out=dx[:, :, :2 * Ho, 1:2 * Wo:2])
    return dx


def _window_view(a, i, j, stride, Ho, Wo):
    """The (N, C, Ho, Wo) view of a that holds entry (i, j) of every pooling window."""
    return a[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride]


def _pool_general_forward(x, size, stride, Ho, Wo):
    """Any size and stride: visit the size*size window offsets in row-major order.

    ``winner`` records the offset k = i*size + j of the maximum; only a strictly larger value
    replaces it, so on a tie the first maximum in row-major order stays.
    """
    out = _window_view(x, 0, 0, stride, Ho, Wo).copy()
    winner = np.zeros(out.shape, np.int32)
    for k in range(1, size * size):
        i, j = divmod(k, size)
        candidate = _window_view(x, i, j, stride, Ho, Wo)
        np.copyto(winner, k, where=candidate > out)
        np.maximum(out, candidate, out=out)
    return out, winner


def _pool_general_backward(dout, x_shape, size, stride, winner):
    Ho, Wo = dout.shape[2:]
    dx = np.zeros(x_shape, dout.dtype)
    for k in range(size * size):
        i, j = divmod(k, size)
        # windows may overlap (stride < size), so accumulate
        _window_view(dx, i, j, stride, Ho, Wo)[...] += dout * (winner == k)
    return dx


def maxpool2d_forward(x, size=2, stride=2):
    """Max pooling over size x size windows, stride apart, separately in every channel.

    x: (N, C, H, W); size >= 1; stride >= 1 (stride < size gives overlapping windows).
    out[n, ch, r, c] = max over i, j < size of x[n, ch, r*stride + i, c*stride + j]
    Returns (out, cache), out: (N, C, 1 + (H - size) // stride, 1 + (W - size) // stride) in x's
    dtype. The default 2 x 2, stride 2 takes a fast path; other sizes a slower general one.
    """
    x, size, stride, Ho, Wo = _check_pool_args(x, size, stride, "maxpool2d_forward")
    if size == 2 and stride == 2:
        out, winners = _pool2x2_forward(x, Ho, Wo)
    else:
        out, winners = _pool_general_forward(x, size, stride, Ho, Wo)
    return out, (x, size, stride, winners)


def maxpool2d_backward(dout, cache):
    """Gradient of ``maxpool2d_forward``.

    dout: (N, C, H', W'); cache: from ``maxpool2d_forward``.
    dx[n, ch, r*stride + i, c*stride + j] += dout[n, ch, r, c] where (i, j) is the maximum of the
    window; on a tie, the first maximum in row-major order gets all of it.
    Returns dx: (N, C, H, W) in x's dtype.
    """
    func = "maxpool2d_backward"
    x, size, stride, winners = _check_cache(cache, 4, func, "maxpool2d_forward")
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - size) // stride, 1 + (W - size) // stride
    dout = _check_dout(dout, (N, C, Ho, Wo), x.dtype, func, "(N, C, H', W')")
    if size == 2 and stride == 2:
        return _pool2x2_backward(dout, x.shape, *winners)
    return _pool_general_backward(dout, x.shape, size, stride, winners)
