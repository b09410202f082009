"""Benchmark: nnutils.rnn against PyTorch on the CPU, forward + backward, float32 and float64.

    python benchmarks/bench_rnn.py           (about 30-90 s; prints tables, exits 0)

What is timed. One training step of a recurrent layer over a whole sequence, T = 50, N = 32,
D = 64, H = 128, batch first: the forward pass and the backward pass of every input, with an
upstream gradient on every hidden state. nnutils: ``rnn_forward`` then ``rnn_backward`` (and
``lstm_forward`` / ``lstm_backward``). PyTorch: ``torch.nn.RNN(D, H, nonlinearity="tanh",
batch_first=True)`` and ``torch.nn.LSTM(D, H, batch_first=True)`` called on a leaf tensor that
requires gradients with an explicit h0 (and c0 = 0 for the LSTM), then ``out.backward(dh)``;
gradients are reset to None before each step so nothing accumulates. Both get the same weights
(torch's gate order i, f, g, o and its two biases mapped from ours, the second bias zero), the
same x, h0 and dh, and the results are checked to agree before anything is timed. Each time is
the best of 3 rounds of up to 7 calls, rounds alternating between the two libraries so that a
burst of load on the machine hits both alike; every round starts with 0.1 s of untimed warm-up
calls, long enough for the thread pool of the library timed just before to stop spinning. The
ratio is nnutils time / torch time: below 1 means nnutils is faster.

Targets: the RNN no slower than PyTorch (ratio <= 1), the LSTM within 2x of PyTorch, judged on
ONE thread each (the second table).

Threads -- the choice made here. The targets are judged with both sides pinned to one thread
(``torch.set_num_threads(1)`` and, through threadpoolctl, NumPy's OpenBLAS), so that the two
implementations are compared without either profiting from more cores: NumPy runs its
elementwise work (tanh, the gate arithmetic, most of an LSTM step) on one thread whatever the
settings, while PyTorch spreads its own over every core, so with more cores the comparison
measures the core count more than the code. A first table, for information, uses the machine's
default settings, what a student gets: PyTorch's intra-op pool on every core, and OpenBLAS on
every core for the big products before and after the time loop, but on one thread inside the
loop (``nnutils.rnn`` holds it there: the per-step products are too small to gain from a second
thread, and on a busy machine the threads' waiting for each other made the LSTM up to 10x
slower). The thread counts in force are printed above each table. Without PyTorch the script
times nnutils alone and says so; without threadpoolctl it skips the single-thread table.

Finally the sequence functions are compared with a plain Python loop over the step functions
(``rnn_step_forward`` / ``rnn_step_backward``, the way the recurrence is first taught), in
float64 on one thread (where threadpoolctl allows), to show what one input projection before
the loop, one product per weight gradient after it, and preallocated buffers buy.
"""

import os
import platform
import sys
from pathlib import Path

import numpy as np

try:
    from _timing import best_time, format_seconds, print_table
except ImportError:  # run from elsewhere than benchmarks/
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _timing import best_time, format_seconds, print_table

try:
    from nnutils import rnn
except ImportError:  # a checkout that was never pip-installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from nnutils import rnn

try:
    import torch
except ImportError:
    torch = None

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:
    threadpool_info = threadpool_limits = None

T, N, D, H = 50, 32, 64, 128
DTYPES = [np.float32, np.float64]
TARGETS = {"rnn": 1.0, "lstm": 2.0}
ROUNDS, REPEAT, WARMUP, WARMUP_SECONDS, MAX_SECONDS = 3, 7, 1, 0.1, 0.5


# ---- the steps that are timed ------------------------------------------------------------------

def make_case(kind, dtype, rng):
    """Arrays of one benchmark case: x (N, T, D), h0 (N, H), Wx, Wh, b, dh (N, T, H)."""
    gates = 1 if kind == "rnn" else 4
    scale = 1 / np.sqrt(H)  # torch's default initialization range, so the states do not saturate
    arrays = {"x": rng.standard_normal((N, T, D)), "h0": 0.1 * rng.standard_normal((N, H)),
              "Wx": scale * rng.uniform(-1, 1, (D, gates * H)),
              "Wh": scale * rng.uniform(-1, 1, (H, gates * H)),
              "b": scale * rng.uniform(-1, 1, gates * H),
              "dh": rng.standard_normal((N, T, H))}
    return {k: v.astype(dtype) for k, v in arrays.items()}


def nnutils_step(kind, a):
    forward = rnn.rnn_forward if kind == "rnn" else rnn.lstm_forward
    backward = rnn.rnn_backward if kind == "rnn" else rnn.lstm_backward

    def step():
        h, cache = forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"])
        return (h,) + backward(a["dh"], cache)
    return step


def torch_step(kind, a):
    """A torch module with our weights, and a step returning what ``nnutils_step`` returns."""
    order = np.arange(H) if kind == "rnn" else np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
    back = np.argsort(order)  # torch's gate columns back to ours (i, f, o, g)
    tdtype = torch.float32 if a["x"].dtype == np.float32 else torch.float64
    if kind == "rnn":
        net = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
    else:
        net = torch.nn.LSTM(D, H, batch_first=True)
    net = net.to(tdtype)
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(a["Wx"][:, order].T.copy()))
        net.weight_hh_l0.copy_(torch.from_numpy(a["Wh"][:, order].T.copy()))
        net.bias_ih_l0.copy_(torch.from_numpy(a["b"][order].copy()))
        net.bias_hh_l0.zero_()
    tx = torch.from_numpy(a["x"]).requires_grad_()
    th0 = torch.from_numpy(a["h0"][None].copy()).requires_grad_()
    tc0 = torch.zeros_like(th0)
    tdh = torch.from_numpy(a["dh"])
    params = [net.weight_ih_l0, net.weight_hh_l0, net.bias_ih_l0, net.bias_hh_l0]

    def step():
        tx.grad = th0.grad = None
        for p in params:
            p.grad = None
        out, _ = net(tx, th0) if kind == "rnn" else net(tx, (th0, tc0))
        out.backward(tdh)
        return (out.detach().numpy(), tx.grad.numpy(), th0.grad.numpy()[0],
                net.weight_ih_l0.grad.numpy().T[:, back], net.weight_hh_l0.grad.numpy().T[:, back],
                net.bias_ih_l0.grad.numpy()[back])
    return step


def naive_step(kind, a):
    """Forward and backward as a Python loop over the step functions, as first taught."""
    x, h0, Wx, Wh, b, dh = (a[k] for k in ("x", "h0", "Wx", "Wh", "b", "dh"))

    def step():
        h, c, caches = h0, np.zeros_like(h0), []
        for t in range(T):
            if kind == "rnn":
                h, cache = rnn.rnn_step_forward(x[:, t], h, Wx, Wh, b)
            else:
                h, c, cache = rnn.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
            caches.append(cache)
        dh_next, dc_next = np.zeros_like(h0), np.zeros_like(h0)
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
        for t in reversed(range(T)):
            if kind == "rnn":
                _, dh_next, gx, gh, gb = rnn.rnn_step_backward(dh[:, t] + dh_next, caches[t])
            else:
                _, dh_next, dc_next, gx, gh, gb = rnn.lstm_step_backward(dh[:, t] + dh_next,
                                                                         dc_next, caches[t])
            dWx += gx
            dWh += gh
            db += gb
    return step


# ---- measuring ----------------------------------------------------------------------------------

def check_agreement(ours, theirs, dtype, label):
    """Refuse to time two steps that compute different things (errors relative to the largest
    entry of each result: float32 sums over N·T = 1600 terms differ in their last digits)."""
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for a, t in zip(ours(), theirs(), strict=True):
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


def run_table(rng, judged):
    """Time every case; return (table rows, list of missed targets if ``judged``)."""
    rows, missed = [], []
    shape = f"T={T} N={N} D={D} H={H}"
    for kind in ("rnn", "lstm"):
        for dtype in DTYPES:
            name = np.dtype(dtype).name
            arrays = make_case(kind, dtype, rng)
            ours = nnutils_step(kind, arrays)
            theirs = torch_step(kind, arrays) if torch is not None else None
            label = "RNN (tanh)" if kind == "rnn" else "LSTM"
            if theirs is not None:
                check_agreement(ours, theirs, dtype, f"{label} {name}")
            t_ours, t_theirs = time_pair(ours, theirs)
            if t_theirs is None:
                rows.append([label, shape, name, format_seconds(t_ours)])
                continue
            ratio, target = t_ours / t_theirs, TARGETS[kind]
            if not judged:
                verdict = "(info)"
            elif ratio <= target:
                verdict = "ok"
            else:
                verdict = "MISSED"
                missed.append(f"{label} {name}")
            rows.append([label, shape, name, format_seconds(t_ours), format_seconds(t_theirs),
                         f"{ratio:.2f}x", f"<= {target:g}x", verdict])
    return rows, missed


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
    headers = ["layer (forward + backward)", "shape", "dtype", "nnutils"]
    if torch is not None:
        headers += ["torch", "nnutils/torch", "target", "verdict"]
    print_table(headers, rows, title)


def time_naive(rng, threads):
    """Loop of step functions vs the sequence functions, float64, timed in alternating rounds."""
    rows = []
    for kind in ("rnn", "lstm"):
        arrays = make_case(kind, np.float64, rng)
        t_naive, t_fast = time_pair(naive_step(kind, arrays), nnutils_step(kind, arrays))
        rows.append(["RNN (tanh)" if kind == "rnn" else "LSTM", f"T={T} N={N} D={D} H={H}",
                     format_seconds(t_naive), format_seconds(t_fast),
                     f"{t_naive / t_fast:.2f}x"])
    print_table(["layer (forward + backward)", "shape", "loop of steps", "sequence functions",
                 "loop/sequence"], rows,
                "A Python loop over the step functions vs rnn_forward/backward and "
                f"lstm_forward/backward (float64, {threads})")


def main():
    rng = np.random.default_rng(0)
    print(f"nnutils.rnn benchmark -- Python {platform.python_version()}, numpy "
          f"{np.__version__}, {os.cpu_count()} CPU(s)")
    if torch is None:
        print("PyTorch is not installed: showing nnutils timings only (no comparison).")
    else:
        print(f"torch {torch.__version__}")
    print()

    judged_here = threadpool_limits is None  # no single-thread table: judge this one instead
    rows, missed = run_table(rng, judged=judged_here)
    print_results(rows, f"Default threads{'' if judged_here else ', for information'}"
                        f" ({thread_report()})")

    if threadpool_limits is None:
        print("threadpoolctl is not installed: single-thread table skipped; targets judged on"
              " the default-thread table above.\n")
        time_naive(rng, "default threads")
    else:
        saved = torch.get_num_threads() if torch is not None else None
        try:
            if torch is not None:
                torch.set_num_threads(1)
            with threadpool_limits(limits=1):
                rows, missed = run_table(rng, judged=True)
                print_results(rows, f"One thread each, targets judged here ({thread_report()})")
                time_naive(rng, "one thread")
        finally:
            if torch is not None:
                torch.set_num_threads(saved)

    if torch is not None:
        print("All targets met." if not missed else
              "Targets missed on this run: " + ", ".join(missed) +
              " (timings on a loaded machine vary; rerun to confirm).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
