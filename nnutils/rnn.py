"""Recurrent networks: the vanilla RNN and the LSTM, one step and whole sequences (lecture 7).

A recurrent layer reads a sequence x_1, ..., x_T one vector at a time and carries a hidden state
h_t from step to step. The vanilla (Elman) RNN updates it with one affine map and a tanh,

    h_t = tanh(x_t·Wx + h_{t−1}·Wh + b),

using the SAME weights Wx, Wh, b at every step. Unrolled over T steps, the layer is a T-layer
feed-forward network with tied weights, so it is trained by ordinary backpropagation through
the unrolled graph — "backpropagation through time" (BPTT): the backward pass walks the steps in
reverse, each step adds its share to dWx, dWh, db, and passes dh_{t−1} to the step before it.

Every step back multiplies the gradient by Whᵀ and by the derivative of the activation, so after
k steps it has been multiplied k times: it shrinks geometrically when those factors are below one
(vanishing gradients: the net cannot learn long-range dependencies) and grows geometrically when
they are above one (exploding gradients). ``rnn_gradient_norms`` measures exactly this; clipping
the global gradient norm (``clip_gradients``) tames the explosion, and the LSTM the vanishing.

The LSTM keeps a second state, the cell c_t, that is changed only by elementwise gating:

    a = x_t·Wx + h_{t−1}·Wh + b          split into four blocks of H columns, in this order:
    i = σ(a_i)   input gate                (how much of the candidate to write)
    f = σ(a_f)   forget gate               (how much of the old cell to keep)
    o = σ(a_o)   output gate               (how much of the cell to show)
    g = tanh(a_g)  candidate values
    c_t = f ⊙ c_{t−1} + i ⊙ g,      h_t = o ⊙ tanh(c_t).

Along the cell the gradient is multiplied only by f (dc_{t−1} = dc_t ⊙ f), not by a weight matrix,
so with the forget gate open it can travel many steps without vanishing.

Shapes: x (N, T, D) batch first, hidden states (N, T, H); Wx (D, H) and Wh (H, H) for the RNN,
(D, 4H) and (H, 4H) for the LSTM. Every pair follows the layers' convention,
``*_forward(...) -> (out, cache)`` and ``*_backward(dout, cache) -> gradients``.

How the sequence versions are made fast (the loop over time cannot be avoided, since h_t needs
h_{t−1}): everything that does not depend on the previous step is moved out of the loop. The
input projection x_t·Wx of all T steps is ONE matrix product before the loop; in the backward
pass, dx, dWx and dWh (which need only the per-step pre-activation gradients) are one matrix
product each after the loop. The loop itself does one (N, H)·(H, H) product and a few in-place
elementwise operations per step, on buffers allocated once, with NumPy's BLAS held to one thread
(``one_blas_thread``).

All functions keep the input's float dtype (float32 in, float32 out; integers become float64)
and never modify their inputs.
"""


import numpy as np

from ._checks import as_float_array, check_scalar, check_shape
from ._threads import one_blas_thread

__all__ = ["clip_gradients", "global_norm", "lstm_backward", "lstm_forward",
           "lstm_step_backward", "lstm_step_forward", "random_rnn_gradient_norms",
           "rnn_backward", "rnn_forward", "rnn_gradient_norms", "rnn_step_backward",
           "rnn_step_forward"]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def _sigmoid(a):
    """σ(a) = 1 / (1 + e^(−a)) = (1 + tanh(a / 2)) / 2, elementwise, as a new array.

    The tanh form cannot overflow (tanh saturates at ±1 where e^(−a) would reach infinity for a
    far below zero), so no input raises a RuntimeWarning, and it takes one temporary array and
    three in-place passes. Its absolute error is a few units of the dtype's epsilon, so outputs
    very close to 0 lose their relative precision (in float64 σ(a) is exactly 0 for a below
    about −37, where the true value is under 1e-16) — harmless for a gate, which only multiplies.
    """
    out = np.multiply(a, 0.5)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _common_dtype(*arrays):
    """float32 if every array is float32, else float64 (the arrays are already floating)."""
    return np.result_type(*arrays)


def _cast(dtype, *arrays):
    """Every array in ``dtype``, copying only those that are not already in it."""
    return tuple(a.astype(dtype, copy=False) for a in arrays)


def _check_inputs(func, x, h, Wx, Wh, b, gates, sequence):
    """Validate the arguments of a forward; ``gates`` is 1 (RNN) or 4 (LSTM).

    x: (N, T, D) with h = h0 when ``sequence``, else (N, D) with h = h_prev.
    Returns (x, h, Wx, Wh, b) as arrays of one common float dtype.
    """
    G = "" if gates == 1 else f"{gates}"
    h_name = "h0" if sequence else "h_prev"
    dims = "(N, T, D)" if sequence else "(N, D)"
    x = as_float_array(x, "x", func, ndim=3 if sequence else 2, dims=dims)
    n, d = x.shape[0], x.shape[-1]
    if sequence and x.shape[1] == 0:
        raise ValueError(f"{func}: x must hold at least one time step; got shape {x.shape}")
    Wx = as_float_array(Wx, "Wx", func, ndim=2, dims=f"(D, {G}H)")
    check_shape(Wx, (d, None), "Wx", func, f"= (D, {G}H) with D = {d} to match x of shape "
                f"{x.shape}")
    if Wx.shape[1] % gates:
        raise ValueError(f"{func}: Wx must have shape (D, 4H), one block of H columns per gate;"
                         f" got {Wx.shape}, whose {Wx.shape[1]} columns are not a multiple of 4")
    H = Wx.shape[1] // gates
    h = as_float_array(h, h_name, func, ndim=2, dims="(N, H)")
    check_shape(h, (n, H), h_name, func, f"= (N, H) with N = {n} from x and H = {H} from Wx of"
                f" shape {Wx.shape}")
    Wh = as_float_array(Wh, "Wh", func, ndim=2, dims=f"(H, {G}H)")
    check_shape(Wh, (H, gates * H), "Wh", func, f"= (H, {G}H) with H = {H} from Wx of shape "
                f"{Wx.shape}")
    b = as_float_array(b, "b", func, ndim=1, dims=f"({G}H,)")
    check_shape(b, (gates * H,), "b", func, f"= ({G}H,) with H = {H} from Wx of shape "
                f"{Wx.shape}")
    return _cast(_common_dtype(x, h, Wx, Wh, b), x, h, Wx, Wh, b)


def _check_upstream(grad, name, shape, dtype, func, what):
    """An upstream gradient of exactly ``shape``, in the common dtype of itself and the forward."""
    grad = as_float_array(grad, name, func)
    if grad.shape != shape:
        dims = "(N, T, H)" if len(shape) == 3 else "(N, H)"
        raise ValueError(f"{func}: {name} must have shape {dims} = {shape}, the shape of {what};"
                         f" got {grad.shape}")
    return grad, _common_dtype(grad, np.empty(0, dtype))


# --------------------------------------------------------------------------------------------
# Vanilla RNN: one step
# --------------------------------------------------------------------------------------------

def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One step of a vanilla RNN: h = tanh(x·Wx + h_prev·Wh + b).

    x: (N, D) inputs of this step; h_prev: (N, H) hidden state of the previous step;
    Wx: (D, H) input-to-hidden weights; Wh: (H, H) hidden-to-hidden weights; b: (H,) biases.
    Returns (h, cache): h (N, H) the new hidden state; cache = (x, h_prev, Wx, Wh, h).
    """
    x, h_prev, Wx, Wh, b = _check_inputs("rnn_step_forward", x, h_prev, Wx, Wh, b, 1,
                                           sequence=False)
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    """Backward pass of ``rnn_step_forward``.

    dh: (N, H) upstream gradient of the new hidden state; cache from the forward.
    With da = dh ⊙ (1 − h²), the gradient at the pre-activation a = x·Wx + h_prev·Wh + b:
        dx = da·Wxᵀ,  dh_prev = da·Whᵀ,  dWx = xᵀ·da,  dWh = h_prevᵀ·da,  db = Σ_n da[n].
    Returns (dx, dh_prev, dWx, dWh, db) with the shapes of (x, h_prev, Wx, Wh, b).
    """
    func = "rnn_step_backward"
    x, h_prev, Wx, Wh, h = cache
    dh, _ = _check_upstream(dh, "dh", h.shape, h.dtype, func, "the forward's output h")
    da = dh * (1 - h * h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


# --------------------------------------------------------------------------------------------
# Vanilla RNN: a whole sequence
# --------------------------------------------------------------------------------------------

def _time_major(x):
    """x (N, T, D) → a contiguous (T·N, D) copy whose rows are ordered step by step."""
    n, t_len, d = x.shape
    return np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(t_len * n, d)


def rnn_forward(x, h0, Wx, Wh, b):
    """A vanilla RNN over a whole sequence: h_t = tanh(x_t·Wx + h_{t−1}·Wh + b), t = 1..T.

    x: (N, T, D) a batch of N sequences of T input vectors; h0: (N, H) initial hidden state;
    Wx: (D, H); Wh: (H, H); b: (H,), shared by every step.
    Returns (h, cache): h (N, T, H) with h[:, t] the hidden state after step t (h0 is not
    included); cache for ``rnn_backward``.

    Same result as calling ``rnn_step_forward`` T times, but the input projection x_t·Wx + b of
    all steps is one matrix product, and the loop only adds h_{t−1}·Wh and applies tanh.
    """
    x, h0, Wx, Wh, b = _check_inputs("rnn_forward", x, h0, Wx, Wh, b, 1, sequence=True)
    n, t_len, _ = x.shape
    H = Wh.shape[0]
    x_tm = _time_major(x)
    # Time-major storage: xw[t] and hs[t + 1] = h_t are contiguous (N, H) blocks; hs[0] = h0.
    xw = np.matmul(x_tm, Wx).reshape(t_len, n, H)
    xw += b
    hs = np.empty((t_len + 1, n, H), dtype=x.dtype)
    hs[0] = h0
    with one_blas_thread():  # the loop's small products: one thread is faster
        for t in range(t_len):
            out = hs[t + 1]
            np.matmul(hs[t], Wh, out=out)
            out += xw[t]
            np.tanh(out, out=out)
    h = hs[1:].transpose(1, 0, 2).copy()
    return h, (x_tm, Wx, Wh, hs)


def rnn_backward(dh, cache):
    """Backpropagation through time for ``rnn_forward``.

    dh: (N, T, H) upstream gradient of EVERY hidden state h[:, t] (for a loss read only at the
    last step, all but dh[:, -1] are zero); cache from the forward.
    Walking t = T..1: the total gradient of h_t is dh[:, t] plus what step t + 1 passed back,
    da_t = (that) ⊙ (1 − h_t²), and step t passes da_t·Whᵀ back to h_{t−1}. Then
        dx_t = da_t·Wxᵀ,  dWx = Σ_t x_tᵀ·da_t,  dWh = Σ_t h_{t−1}ᵀ·da_t,  db = Σ_t Σ_n da_t,
    each computed for all steps at once, as one matrix product, after the loop.
    Returns (dx, dh0, dWx, dWh, db) with the shapes of (x, h0, Wx, Wh, b).
    """
    func = "rnn_backward"
    x_tm, Wx, Wh, hs = cache
    t_len, n, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    d = x_tm.shape[1]
    dh, dtype = _check_upstream(dh, "dh", (n, t_len, H), x_tm.dtype, func,
                                "the forward's output h")
    WhT = np.ascontiguousarray(Wh.T, dtype=dtype)
    da = np.empty((t_len, n, H), dtype=dtype)  # time-major, like hs
    carry = np.zeros((n, H), dtype=dtype)      # the gradient step t + 1 passes back to h_t
    deriv = np.empty((n, H), dtype=dtype)
    with one_blas_thread():  # the loop's small products: one thread is faster
        for t in range(t_len - 1, -1, -1):
            g = da[t]
            np.add(dh[:, t], carry, out=g)
            h = hs[t + 1]
            np.multiply(h, h, out=deriv)
            np.subtract(1, deriv, out=deriv)
            g *= deriv
            np.matmul(g, WhT, out=carry)
    da2 = da.reshape(t_len * n, H)
    dx = np.matmul(da2, Wx.T.astype(dtype, copy=False))
    dx = dx.reshape(t_len, n, d).transpose(1, 0, 2).copy()
    dWx = np.matmul(x_tm.T, da2)
    dWh = np.matmul(hs[:-1].reshape(t_len * n, H).T, da2)
    db = da2.sum(axis=0)
    return dx, carry, dWx, dWh, db


# --------------------------------------------------------------------------------------------
# LSTM: one step
# --------------------------------------------------------------------------------------------

def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One step of an LSTM.

    x: (N, D) inputs; h_prev: (N, H) previous hidden state; c_prev: (N, H) previous cell state;
    Wx: (D, 4H); Wh: (H, 4H); b: (4H,). The 4H columns are four blocks of H, in the order
    input, forget, output, candidate:
        a = x·Wx + h_prev·Wh + b = [a_i | a_f | a_o | a_g]
        i = σ(a_i),  f = σ(a_f),  o = σ(a_o),  g = tanh(a_g)
        c = f ⊙ c_prev + i ⊙ g,   h = o ⊙ tanh(c).
    Returns (h, c, cache): h (N, H) and c (N, H) the new states; cache for the backward.
    """
    func = "lstm_step_forward"
    x, h_prev, Wx, Wh, b = _check_inputs(func, x, h_prev, Wx, Wh, b, 4, sequence=False)
    c_prev = as_float_array(c_prev, "c_prev", func, ndim=2, dims="(N, H)")
    check_shape(c_prev, h_prev.shape, "c_prev", func, "= (N, H), the shape of h_prev")
    dtype = _common_dtype(x, c_prev)
    x, h_prev, Wx, Wh, b, c_prev = _cast(dtype, x, h_prev, Wx, Wh, b, c_prev)
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    ifo = _sigmoid(a[:, :3 * H])
    i, f, o = ifo[:, :H], ifo[:, H:2 * H], ifo[:, 2 * H:]
    g = np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, o, g, tc)


def lstm_step_backward(dh, dc, cache):
    """Backward pass of ``lstm_step_forward``.

    dh: (N, H) upstream gradient of the new hidden state h; dc: (N, H) upstream gradient of the
    new cell state c (from the next step; zeros at the last one); cache from the forward.
    The cell receives gradient from both ways it is used:
        dc_total = dc + dh ⊙ o ⊙ (1 − tanh²(c))
        do = dh ⊙ tanh(c),  di = dc_total ⊙ g,  df = dc_total ⊙ c_prev,  dg = dc_total ⊙ i
        da = [di ⊙ i(1 − i) | df ⊙ f(1 − f) | do ⊙ o(1 − o) | dg ⊙ (1 − g²)]
        dx = da·Wxᵀ,  dh_prev = da·Whᵀ,  dc_prev = dc_total ⊙ f,
        dWx = xᵀ·da,  dWh = h_prevᵀ·da,  db = Σ_n da[n].
    Returns (dx, dh_prev, dc_prev, dWx, dWh, db) with the shapes of
    (x, h_prev, c_prev, Wx, Wh, b).
    """
    func = "lstm_step_backward"
    x, h_prev, c_prev, Wx, Wh, i, f, o, g, tc = cache
    dh, dtype = _check_upstream(dh, "dh", tc.shape, tc.dtype, func, "the forward's output h")
    dc, dtype = _check_upstream(dc, "dc", tc.shape, dtype, func, "the forward's output c")
    dh, dc = _cast(dtype, dh, dc)
    dc_total = dc + dh * o * (1 - tc * tc)
    da = np.concatenate([dc_total * g * i * (1 - i),
                         dc_total * c_prev * f * (1 - f),
                         dh * tc * o * (1 - o),
                         dc_total * i * (1 - g * g)], axis=1)
    return (da @ Wx.T, da @ Wh.T, dc_total * f, x.T @ da, h_prev.T @ da, da.sum(axis=0))


# --------------------------------------------------------------------------------------------
# LSTM: a whole sequence
# --------------------------------------------------------------------------------------------

def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over a whole sequence, starting from hidden state h0 and cell state c0 = 0.

    x: (N, T, D); h0: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,), gate blocks in the order
    input, forget, output, candidate (see ``lstm_step_forward`` for the equations of a step).
    Returns (h, cache): h (N, T, H) with h[:, t] the hidden state after step t; cache for
    ``lstm_backward``.

    Besides the single input projection before the loop, the loop applies ONE tanh to all four
    gate blocks: since σ(a) = (1 + tanh(a/2)) / 2, the sigmoid blocks' columns of Wx, Wh and b
    are halved once before the loop (exact in floating point), and after the tanh those blocks
    are mapped t → (1 + t) / 2.
    """
    x, h0, Wx, Wh, b = _check_inputs("lstm_forward", x, h0, Wx, Wh, b, 4, sequence=True)
    n, t_len, _ = x.shape
    H = Wh.shape[0]
    half = np.ones(4 * H, dtype=x.dtype)
    half[:3 * H] = 0.5
    x_tm = _time_major(x)
    xw = np.matmul(x_tm, Wx * half).reshape(t_len, n, 4 * H)
    xw += b * half
    Wh_half = Wh * half
    gates = np.empty((t_len, n, 4 * H), dtype=x.dtype)  # i, f, o, g of every step
    hs = np.empty((t_len + 1, n, H), dtype=x.dtype)     # hs[t + 1] = h_t, hs[0] = h0
    cs = np.empty((t_len + 1, n, H), dtype=x.dtype)     # cs[t + 1] = c_t, cs[0] = 0
    tcs = np.empty((t_len, n, H), dtype=x.dtype)        # tanh(c_t)
    ig = np.empty((n, H), dtype=x.dtype)
    hs[0] = h0
    cs[0] = 0
    with one_blas_thread():  # the loop's small products: one thread is faster
        for t in range(t_len):
            a = gates[t]
            np.matmul(hs[t], Wh_half, out=a)
            a += xw[t]
            np.tanh(a, out=a)
            ifo = a[:, :3 * H]
            ifo *= 0.5
            ifo += 0.5
            c = cs[t + 1]
            np.multiply(a[:, H:2 * H], cs[t], out=c)        # f ⊙ c_{t−1}
            np.multiply(a[:, :H], a[:, 3 * H:], out=ig)     # i ⊙ g
            c += ig
            np.tanh(c, out=tcs[t])
            np.multiply(a[:, 2 * H:3 * H], tcs[t], out=hs[t + 1])
    h = hs[1:].transpose(1, 0, 2).copy()
    return h, (x_tm, Wx, Wh, gates, hs, cs, tcs)


def lstm_backward(dh, cache):
    """Backpropagation through time for ``lstm_forward``.

    dh: (N, T, H) upstream gradient of every hidden state h[:, t]; cache from the forward.
    Walking t = T..1 with the gradients dh_next, dc_next that step t + 1 passed back (zeros
    after the last step), each step applies ``lstm_step_backward``'s formulas to
    dh[:, t] + dh_next and dc_next, keeps da_t, and passes back dh_next = da_t·Whᵀ and
    dc_next = dc_total ⊙ f. After the loop, with all da_t stacked:
        dx_t = da_t·Wxᵀ,  dWx = Σ_t x_tᵀ·da_t,  dWh = Σ_t h_{t−1}ᵀ·da_t,  db = Σ_t Σ_n da_t.
    Returns (dx, dh0, dWx, dWh, db) with the shapes of (x, h0, Wx, Wh, b); c0 = 0 is a constant,
    so there is no dc0.
    """
    func = "lstm_backward"
    x_tm, Wx, Wh, gates, hs, cs, tcs = cache
    t_len, n, H = tcs.shape
    d = x_tm.shape[1]
    dh, dtype = _check_upstream(dh, "dh", (n, t_len, H), x_tm.dtype, func,
                                "the forward's output h")
    WhT = np.ascontiguousarray(Wh.T, dtype=dtype)
    da = np.empty((t_len, n, 4 * H), dtype=dtype)
    dh_next = np.zeros((n, H), dtype=dtype)
    dc = np.zeros((n, H), dtype=dtype)
    dhc = np.empty((n, H), dtype=dtype)
    tmp = np.empty((n, H), dtype=dtype)
    tmp3 = np.empty((n, 3 * H), dtype=dtype)
    with one_blas_thread():  # the loop's small products: one thread is faster
        for t in range(t_len - 1, -1, -1):
            gt = gates[t]
            i, f, o, g = gt[:, :H], gt[:, H:2 * H], gt[:, 2 * H:3 * H], gt[:, 3 * H:]
            tc = tcs[t]
            dat = da[t]
            np.add(dh[:, t], dh_next, out=dhc)
            # dc_total = dc_next + dh ⊙ o ⊙ (1 − tanh²(c))
            np.multiply(tc, tc, out=tmp)
            np.subtract(1, tmp, out=tmp)
            tmp *= o
            tmp *= dhc
            dc += tmp
            np.multiply(dc, g, out=dat[:, :H])
            np.multiply(dc, cs[t], out=dat[:, H:2 * H])
            np.multiply(dhc, tc, out=dat[:, 2 * H:3 * H])
            np.multiply(dc, i, out=dat[:, 3 * H:])
            # through the nonlinearities: σ' = s(1 − s) on i, f, o; tanh' = 1 − g² on g
            ifo = gt[:, :3 * H]
            np.subtract(1, ifo, out=tmp3)
            tmp3 *= ifo
            dat[:, :3 * H] *= tmp3
            np.multiply(g, g, out=tmp)
            np.subtract(1, tmp, out=tmp)
            dat[:, 3 * H:] *= tmp
            np.matmul(dat, WhT, out=dh_next)
            dc *= f
    da2 = da.reshape(t_len * n, 4 * H)
    dx = np.matmul(da2, Wx.T.astype(dtype, copy=False))
    dx = dx.reshape(t_len, n, d).transpose(1, 0, 2).copy()
    dWx = np.matmul(x_tm.T, da2)
    dWh = np.matmul(hs[:-1].reshape(t_len * n, H).T, da2)
    db = da2.sum(axis=0)
    return dx, dh_next, dWx, dWh, db


# --------------------------------------------------------------------------------------------
# Gradient clipping
# --------------------------------------------------------------------------------------------

def _check_grads(grads, func):
    if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
        raise TypeError(f"{func}: grads must be a list of arrays (one per parameter), e.g."
                        f" [dWx, dWh, db]; got {type(grads).__name__}")
    return [as_float_array(g, f"grads[{k}]", func) for k, g in enumerate(grads)]


def _global_norm(arrays):
    """sqrt(Σ_k Σ g_k²) without overflow: every array is divided by the largest |entry| first."""
    sizable = [g for g in arrays if g.size]
    if not sizable:
        return 0.0
    largest = float(np.max([np.max(np.abs(g)) for g in sizable]))  # NaN if any entry is NaN
    if largest == 0.0 or not np.isfinite(largest):
        return largest
    total = 0.0
    for g in sizable:
        s = (g.astype(np.float64) / largest).ravel()
        total += float(s @ s)
    return largest * float(np.sqrt(total))


def global_norm(grads):
    """The global L2 norm of a list of arrays: sqrt(Σ_k ‖g_k‖²), all entries of all arrays
    taken as one long vector.

    grads: list of arrays of any shapes. Returns a Python float (0.0 for an empty list; inf or
    nan if an entry is). Computed in float64 and scaled so that no square overflows, even for
    float32 arrays with entries near 1e30.
    """
    return _global_norm(_check_grads(grads, "global_norm"))


def clip_gradients(grads, max_norm):
    """Clip a list of gradients by their GLOBAL L2 norm.

    grads: list of arrays (the gradients of every parameter, any shapes); max_norm: > 0.
    With norm = sqrt(Σ_k ‖g_k‖²) over all arrays together (``global_norm``):
        if norm > max_norm:  g_k ← g_k · max_norm / norm  for every k  (the new norm is max_norm)
        else:                g_k unchanged.
    Every array is scaled by the SAME factor, so the direction of the whole gradient is kept;
    clipping each array by its own norm would change that direction.
    Returns a new list of new arrays (each in its input's dtype); the inputs are not modified.
    """
    func = "clip_gradients"
    arrays = _check_grads(grads, func)
    max_norm = check_scalar(max_norm, "max_norm", func, low=0, low_open=True)
    norm = _global_norm(arrays)
    if not np.isfinite(norm):
        raise ValueError(f"{func}: grads hold NaN or infinite values (global norm {norm}), so"
                         f" no rescaling can make them usable; the step before this diverged")
    if norm <= max_norm:
        return [g.copy() for g in arrays]
    scale = max_norm / norm
    return [g * g.dtype.type(scale) for g in arrays]


# --------------------------------------------------------------------------------------------
# Vanishing and exploding gradients (lecture 7)
# --------------------------------------------------------------------------------------------

# name -> (activation, its derivative written in terms of the activation's output h)
_RECURRENT_ACTIVATIONS = {
    "tanh": (np.tanh, lambda h: 1 - h * h),
    "relu": (lambda a: np.maximum(a, 0), lambda h: (h > 0).astype(h.dtype)),
    "linear": (lambda a: a, np.ones_like),
}


def rnn_gradient_norms(x, h0, Wx, Wh, b, activation="tanh", dh_last=None):
    """How the gradient of a loss at the LAST step shrinks or grows on its way back in time.

    Runs the vanilla RNN h_t = φ(x_t·Wx + h_{t−1}·Wh + b), t = 1..T, with φ = ``activation``
    ("tanh", "relu" or "linear"), takes the loss L = Σ dh_last ⊙ h_T that reads only the last
    hidden state, and backpropagates through time:
        ∂L/∂h_T = dh_last,    ∂L/∂h_{t−1} = (∂L/∂h_t ⊙ φ'(a_t))·Whᵀ.
    Each step back multiplies by Whᵀ and by φ', so the norm changes roughly geometrically: by
    a factor of about ‖Wh‖·|φ'| per step.

    x: (N, T, D); h0: (N, H); Wx: (D, H); Wh: (H, H); b: (H,) as in ``rnn_forward``.
    activation: "tanh", "relu" or "linear".
    dh_last: (N, H) the gradient of L with respect to h_T; default an array whose entries are
        all 1/sqrt(N·H), of norm 1, so that the result is the gain relative to the last step.
    Returns norms: (T,) float64, norms[t] = ‖∂L/∂h[:, t]‖ (Frobenius norm over the batch and
    the units) for the hidden state after step t, t = 0..T−1; norms[-1] = ‖dh_last‖. Where the
    gradient grows beyond float64's range the remaining entries are inf.
    """
    func = "rnn_gradient_norms"
    if activation not in _RECURRENT_ACTIVATIONS:
        raise ValueError(f"{func}: activation must be one of {sorted(_RECURRENT_ACTIVATIONS)};"
                         f" got {activation!r}")
    x, h0, Wx, Wh, b = _check_inputs(func, x, h0, Wx, Wh, b, 1, sequence=True)
    x, h0, Wx, Wh, b = _cast(np.float64, x, h0, Wx, Wh, b)
    n, t_len, _ = x.shape
    H = Wh.shape[0]
    if dh_last is None:
        grad = np.full((n, H), 1 / np.sqrt(n * H))
    else:
        grad = as_float_array(dh_last, "dh_last", func, ndim=2, dims="(N, H)")
        check_shape(grad, (n, H), "dh_last", func, "= (N, H), the shape of h0")
        grad = grad.astype(np.float64)
    phi, dphi = _RECURRENT_ACTIVATIONS[activation]
    hs = np.empty((t_len, n, H))
    h = h0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(t_len):
            h = hs[t] = phi(x[:, t] @ Wx + h @ Wh + b)
    if not np.all(np.isfinite(hs)):
        raise ValueError(f"{func}: the hidden state overflowed float64 in the forward pass"
                         f" ({activation} activation, T = {t_len}); use a smaller recurrent"
                         f" weight scale or a shorter sequence")
    norms = np.full(t_len, np.inf)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(t_len - 1, -1, -1):
            norms[t] = _global_norm([grad])
            if not np.isfinite(norms[t]):  # the gradient overflowed: inf from here back
                norms[t] = np.inf
                break
            grad = (grad * dphi(hs[t])) @ Wh.T
    return norms


def _orthogonal(size, rng):
    """A random (size, size) orthogonal matrix (all singular values 1), from the QR of a
    Gaussian matrix with the signs of R's diagonal moved into Q so that Q is uniformly random."""
    q, r = np.linalg.qr(rng.standard_normal((size, size)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def random_rnn_gradient_norms(scale, rng, activation="tanh", T=50, hidden_size=32,
                              input_size=4, batch_size=1):
    """``rnn_gradient_norms`` for a random RNN whose recurrent weights have the given scale.

    The lecture's widget: plot the result against t (log scale) and move ``scale``.
    Wh = scale·Q with Q a random orthogonal matrix, so every singular value of Wh equals
    ``scale`` (its spectral radius is ``scale`` too) and a linear RNN multiplies the gradient norm
    by exactly ``scale`` at each step back: norms[t] = scale^(T−1−t). With tanh, |φ'| ≤ 1 adds
    further shrinking; with ReLU, units that are off pass nothing back.
    Inputs x ~ N(0, 1), Wx ~ N(0, 1/input_size), b = 0, h0 = 0, loss gradient at the last step
    of norm 1 (see ``rnn_gradient_norms``).

    scale: > 0, at most 10; rng: numpy Generator (the same seed gives the same curve);
    activation: "tanh", "relu" or "linear"; T: 1..1000 steps; hidden_size, input_size,
    batch_size: the sizes H, D, N.
    Returns norms: (T,) float64, norms[t] = ‖∂L/∂h_t‖, norms[-1] = 1.
    """
    func = "random_rnn_gradient_norms"
    scale = check_scalar(scale, "scale", func, low=0, high=10, low_open=True)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator, e.g."
                        f" np.random.default_rng(0); got {type(rng).__name__}")
    T = check_scalar(T, "T", func, low=1, high=1000, integer=True)
    H = check_scalar(hidden_size, "hidden_size", func, low=1, integer=True)
    D = check_scalar(input_size, "input_size", func, low=1, integer=True)
    N = check_scalar(batch_size, "batch_size", func, low=1, integer=True)
    Wh = scale * _orthogonal(H, rng)
    Wx = rng.standard_normal((D, H)) / np.sqrt(D)
    x = rng.standard_normal((N, T, D))
    return rnn_gradient_norms(x, np.zeros((N, H)), Wx, Wh, np.zeros(H), activation=activation)
