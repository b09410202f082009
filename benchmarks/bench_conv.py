"""Benchmark: nnutils.conv against PyTorch on the CPU, forward + backward, float32 and float64.

    python benchmarks/bench_conv.py          (30-60 s; prints tables, exits 0)

What is timed. One training step of a layer: the forward pass and the backward pass of every
input. nnutils: ``conv2d_forward`` then ``conv2d_backward`` (and the same for max pooling). PyTorch:
``torch.nn.functional.conv2d`` / ``max_pool2d`` on leaf tensors that require gradients, then
``out.backward(dout)``; gradients are reset to None before each step so nothing accumulates. Both
get the same arrays and the same dout, and the results are checked to agree before anything is
timed. Each time is the best of 3 rounds of up to 7 calls, rounds alternating between the two
libraries (nnutils, torch, nnutils, ...) so that a burst of load on the machine hits both alike;
every round starts with 0.1 s of untimed warm-up calls, long enough for the thread pool of the
library timed just before to stop spinning (OpenBLAS's workers spin for ~50 ms after a matrix
product, which would otherwise slow down torch). The ratio is nnutils time / torch time: below 1
means nnutils is faster.

Targets set for the course library: convolution within 3x of PyTorch on every shape (aim for 1.5x);
max pooling 2 x 2 stride 2 faster than PyTorch.

Threads -- the choice made here. The main table runs both libraries with the machine's default
thread settings, because that is what a student gets: PyTorch's intra-op pool uses every core,
and NumPy's OpenBLAS uses every core for the matrix products (the elementwise work of nnutils --
im2col copies, col2im adds, pooling -- is single-threaded in NumPy, so nnutils is the one left
with idle cores). Targets are judged on that table. A second table pins both sides to ONE thread
(``torch.set_num_threads(1)`` and, through threadpoolctl, OpenBLAS) so that the algorithms are
compared without either side profiting from more cores. The thread counts in force are printed
above each table, and the load average before and after the run below it: on a 2-core machine any
other busy process makes multi-threaded matrix products wait for a time slice (steps of 4 ms
appear), so compare the two tables and rerun when the load was high. Without PyTorch the script
times nnutils alone and says so; without threadpoolctl it skips the single-thread table.

Finally the naive loop versions are timed once on the smallest shape, to show what vectorizing
buys.
"""

import os
import platform
import sys
from pathlib import Path

import numpy as np
from _timing import best_time, format_seconds, print_table

try:
    from nnutils import conv
except ImportError:  # a checkout that was never pip-installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from nnutils import conv

try:
    import torch
    import torch.nn.functional as torch_f
except ImportError:
    torch = None

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:
    threadpool_info = threadpool_limits = None

CONV_SHAPES = [(64, 1, 28, 28, 8), (64, 8, 28, 28, 16), (128, 1, 8, 8, 16)]   # N, C, H, W, F
KERNEL, STRIDE, PAD = 3, 1, 1
POOL_CASES = [((64, 8, 28, 28), 2, 2), ((64, 16, 28, 28), 2, 2), ((128, 16, 8, 8), 2, 2),
              ((64, 8, 28, 28), 3, 2)]                                       # x shape, size, stride
DTYPES = [np.float32, np.float64]
CONV_TARGET, CONV_AIM, POOL_TARGET = 3.0, 1.5, 1.0
ROUNDS, REPEAT, WARMUP, WARMUP_SECONDS, MAX_SECONDS = 3, 7, 1, 0.1, 0.4


# ---- the steps that are timed ------------------------------------------------------------------

def nnutils_conv_step(x, w, b, dout):
    def step():
        out, cache = conv.conv2d_forward(x, w, b, STRIDE, PAD)
        return (out,) + conv.conv2d_backward(dout, cache)
    return step


def torch_conv_step(x, w, b, dout):
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    tdout = torch.from_numpy(dout)

    def step():
        tx.grad = tw.grad = tb.grad = None
        out = torch_f.conv2d(tx, tw, tb, stride=STRIDE, padding=PAD)
        out.backward(tdout)
        return out.detach(), tx.grad, tw.grad, tb.grad
    return step


def nnutils_pool_step(x, size, stride, dout):
    def step():
        out, cache = conv.maxpool2d_forward(x, size, stride)
        return out, conv.maxpool2d_backward(dout, cache)
    return step


def torch_pool_step(x, size, stride, dout):
    tx, tdout = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dout)

    def step():
        tx.grad = None
        out = torch_f.max_pool2d(tx, size, stride)
        out.backward(tdout)
        return out.detach(), tx.grad
    return step


# ---- measuring ----------------------------------------------------------------------------------

def check_agreement(ours, theirs, dtype, label):
    """Refuse to time two steps that compute different things.

    Errors are measured against the largest entry of each result: float32 sums of ~10^5 terms
    (the gradient of w) differ in their last digits between any two summation orders.
    """
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for a, t in zip(ours(), theirs(), strict=True):
        t = t.numpy()
        err = np.max(np.abs(a - t)) / max(1.0, np.max(np.abs(t)))
        if a.shape != t.shape or err > tol:
            raise AssertionError(f"{label}: nnutils and torch disagree (error {err:.3g} relative"
                                 f" to the largest entry); not timing it")


def time_pair(ours, theirs):
    """Best times of the two steps (theirs may be None), measured in alternating rounds."""
    t_ours = t_theirs = float("inf")
    for _ in range(ROUNDS):
        t_ours = min(t_ours, best_time(ours, REPEAT, WARMUP, MAX_SECONDS, WARMUP_SECONDS))
        if theirs is not None:
            t_theirs = min(t_theirs,
                           best_time(theirs, REPEAT, WARMUP, MAX_SECONDS, WARMUP_SECONDS))
    return t_ours, (t_theirs if theirs is not None else None)


def verdict(ratio, target, aim=None):
    if target is None:
        return "(info)"
    if ratio > target:
        return "MISSED"
    return "ok" if aim is None or ratio <= aim else "ok (above aim)"


def goal_text(target, aim=None):
    if target is None:
        return ""
    if target == 1.0:
        return "< 1x"
    return f"<= {target:g}x" + (f" (aim {aim:g}x)" if aim else "")


def row(label, shape, dtype_name, t_ours, t_theirs, target=None, aim=None):
    if t_theirs is None:
        return [label, shape, dtype_name, format_seconds(t_ours)]
    ratio = t_ours / t_theirs
    return [label, shape, dtype_name, format_seconds(t_ours), format_seconds(t_theirs),
            f"{ratio:.2f}x", goal_text(target, aim), verdict(ratio, target, aim)]


def run_table(rng):
    """Time every case; return table rows."""
    rows = []
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        for N, C, H, W, F in CONV_SHAPES:
            x = rng.standard_normal((N, C, H, W)).astype(dtype)
            w = rng.standard_normal((F, C, KERNEL, KERNEL)).astype(dtype)
            b = rng.standard_normal(F).astype(dtype)
            Ho, Wo = conv.conv_output_shape(H, W, KERNEL, KERNEL, STRIDE, PAD)
            dout = rng.standard_normal((N, F, Ho, Wo)).astype(dtype)
            label = f"conv {KERNEL}x{KERNEL} p{PAD} s{STRIDE}"
            shape = f"N={N} C={C} {H}x{W} F={F}"
            ours = nnutils_conv_step(x, w, b, dout)
            theirs = torch_conv_step(x, w, b, dout) if torch is not None else None
            if theirs is not None:
                check_agreement(ours, theirs, dtype, f"{label} {shape} {name}")
            rows.append(row(label, shape, name, *time_pair(ours, theirs), CONV_TARGET, CONV_AIM))
        for shape, size, stride in POOL_CASES:
            x = rng.standard_normal(shape).astype(dtype)
            Ho, Wo = 1 + (shape[2] - size) // stride, 1 + (shape[3] - size) // stride
            dout = rng.standard_normal(shape[:2] + (Ho, Wo)).astype(dtype)
            label = f"maxpool {size}x{size} s{stride}" + ("" if size == stride == 2
                                                          else " (general path)")
            shape_text = "N={} C={} {}x{}".format(*shape)
            ours = nnutils_pool_step(x, size, stride, dout)
            theirs = torch_pool_step(x, size, stride, dout) if torch is not None else None
            if theirs is not None:
                check_agreement(ours, theirs, dtype, f"{label} {shape_text} {name}")
            target = POOL_TARGET if size == stride == 2 else None
            rows.append(row(label, shape_text, name, *time_pair(ours, theirs), target))
    return rows


def thread_report():
    blas = "OpenBLAS/BLAS threads unknown (threadpoolctl not installed)"
    if threadpool_info is not None:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"
                 and "numpy" in str(p.get("filepath", ""))] or \
                [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            blas = (f"numpy {pools[0].get('internal_api')}: {pools[0].get('num_threads')}"
                    " thread(s)")
    text = f"{blas}; numpy elementwise ops: 1 thread"
    if torch is not None:
        text += f"; torch intra-op threads: {torch.get_num_threads()}"
    return text


def print_results(rows, title):
    if torch is None:
        headers = ["operation (forward + backward)", "shape", "dtype", "nnutils"]
    else:
        headers = ["operation (forward + backward)", "shape", "dtype", "nnutils", "torch",
                   "nnutils/torch", "target", "verdict"]
    print_table(headers, rows, title)


def time_naive(rng):
    """The loop versions on the smallest shapes, float64, timed once (they are slow)."""
    rows = []
    N, C, H, W, F = min(CONV_SHAPES, key=lambda s: s[0] * s[1] * s[2] * s[3])
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, KERNEL, KERNEL))
    b, dout = rng.standard_normal(F), rng.standard_normal((N, F, H, W))

    def naive_conv():
        out, cache = conv.conv2d_forward_naive(x, w, b, STRIDE, PAD)
        conv.conv2d_backward_naive(dout, cache)

    t_naive = best_time(naive_conv, repeat=1, warmup=0)
    t_fast = best_time(nnutils_conv_step(x, w, b, dout), REPEAT, WARMUP, MAX_SECONDS)
    rows.append([f"conv {KERNEL}x{KERNEL} p{PAD} s{STRIDE}", f"N={N} C={C} {H}x{W} F={F}",
                 format_seconds(t_naive), format_seconds(t_fast), f"{t_naive / t_fast:.0f}x"])
    shape = min((c[0] for c in POOL_CASES), key=np.prod)
    xp = rng.standard_normal(shape)
    doutp = rng.standard_normal(shape[:2] + (shape[2] // 2, shape[3] // 2))

    def naive_pool():
        _, cache = conv.maxpool2d_forward_naive(xp)
        conv.maxpool2d_backward_naive(doutp, cache)

    t_naive = best_time(naive_pool, repeat=1, warmup=0)
    t_fast = best_time(nnutils_pool_step(xp, 2, 2, doutp), REPEAT, WARMUP, MAX_SECONDS)
    rows.append(["maxpool 2x2 s2", "N={} C={} {}x{}".format(*shape), format_seconds(t_naive),
                 format_seconds(t_fast), f"{t_naive / t_fast:.0f}x"])
    print_table(["operation (forward + backward)", "shape", "naive loops", "vectorized",
                 "naive/vectorized"], rows,
                "Naive loop versions vs the vectorized ones (float64, default threads)")


def main():
    rng = np.random.default_rng(0)
    print(f"nnutils.conv benchmark -- Python {platform.python_version()}, numpy "
          f"{np.__version__}, {os.cpu_count()} CPU(s)")
    if torch is None:
        print("PyTorch is not installed: showing nnutils timings only (no comparison).")
    else:
        print(f"torch {torch.__version__}")
    load_before = os.getloadavg()[0]
    print()

    print_results(run_table(rng), f"Default threads ({thread_report()})")

    if threadpool_limits is None:
        print("threadpoolctl is not installed: single-thread table skipped.\n")
    else:
        saved = torch.get_num_threads() if torch is not None else None
        try:
            if torch is not None:
                torch.set_num_threads(1)
            with threadpool_limits(limits=1):
                print_results(run_table(rng), f"One thread each ({thread_report()})")
        finally:
            if torch is not None:
                torch.set_num_threads(saved)

    time_naive(rng)
    print(f"Load average (1 min) before the run: {load_before:.2f}, after: "
          f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
