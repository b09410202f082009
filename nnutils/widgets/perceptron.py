"""Lecture 1's pictures and widgets: the decision line, one Rosenblatt step, training step by step.

Plain functions compute and draw; the ``make_..._app`` functions wrap them in ipywidgets.

Data and counting:

- ``make_dataset(name, seed, n)``: the lecture's three data sets, ``DATASETS`` =
  ("separable", "noisy separable", "XOR");
- ``data_bounds(X)``: a square plotting window around the points;
- ``count_mistakes(X, y, w, b)``: how many points sign(w·x + b) gets wrong;
- ``update_report(w, b, x, y, lr)``: one Rosenblatt step and what it did to y·(w·x + b);
- ``trace_state(steps, k)``: where training stands at frame k of ``perceptron_trace``.

Figures (each draws into ``ax`` or a new figure and returns the Axes):

- ``draw_neuron(w, b)``: the single neuron as a diagram;
- ``draw_decision_line(X, y, w, b)``: the half-planes f = +1 and f = -1 shaded, the line
  w·x + b = 0, the normal vector w, and the misclassified points ringed;
- ``draw_update(X, y, w, b, i, lr)``: the line before and after one step on sample i;
- ``draw_trace_step(X, y, steps, k)``: frame k of the training animation;
- ``plot_mistakes_per_epoch(runs)``: the mistakes of each epoch, for one run or several.

Widgets (each returns a box whose ``controls`` dict holds the control widgets, ``panel`` the
``PlotPanel`` drawn into and ``status`` an HTML readout):

- ``make_line_app(X, y)``: sliders for w1, w2 and b;
- ``make_update_app(X, y, w, b)``: choose the sample and the learning rate of one step;
- ``make_training_app()``: a data-set dropdown, Play (linked in the browser to the frame slider
  with ``jslink``), Step and Reset.

The two classes use the TensorFlow Playground's colours: blue for +1, orange for -1. Every plot
keeps equal scales on both axes, so that w really looks perpendicular to the line.
"""

import time

import numpy as np

from .._checks import as_float_array, check_finite, check_scalar, check_shape
from ..data import make_linearly_separable
from ..perceptron import (
    XOR_X,
    XOR_Y,
    PerceptronStep,
    _check_pm1,
    perceptron_predict,
    perceptron_trace,
    perceptron_train,
    perceptron_update,
)
from ..plotting import BLUE, ORANGE
from . import PlotPanel, friendly

DATASETS = ("separable", "noisy separable", "XOR")
RED = "#d62728"            # the ring around a misclassified point
_FIGSIZE = (6.2, 4.4)    # a square plot with the legend beside it, not on the points
_WIDTH = "496px"         # PlotPanel needs a width: the PNG's, 6.2 in × 80 dpi
_MARGINS = {"left": 0.1, "right": 0.66, "bottom": 0.11, "top": 0.87}


# --------------------------------------------------------------------------------------------
# Validation shared by the public functions
# --------------------------------------------------------------------------------------------

def _check_points(X, y, func: str) -> tuple[np.ndarray, np.ndarray]:
    X = as_float_array(X, "X", func, ndim=2, dims="(N, 2)")
    check_shape(X, (None, 2), "X", func, "(2-D points, one per row)")
    if X.shape[0] == 0:
        raise ValueError(f"{func}: X must hold at least one point; got shape {X.shape}")
    check_finite(X, "X", func)
    return X, _check_pm1(y, X.shape[0], func)


def _check_line(w, b, func: str) -> tuple[np.ndarray, float]:
    w = as_float_array(w, "w", func, ndim=1, dims="(2,)")
    check_shape(w, (2,), "w", func, "(one weight per input)")
    check_finite(w, "w", func)
    b = float(check_scalar(b, "b", func))
    if not np.isfinite(b):
        raise ValueError(f"{func}: b must be a finite number; got {b}")
    return w, b


def _check_bounds(bounds, X, func: str) -> tuple[float, float, float, float]:
    if bounds is None:
        return data_bounds(X)
    box = np.asarray(bounds, dtype=np.float64).ravel()
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[0] >= box[1] \
            or box[2] >= box[3]:
        raise ValueError(f"{func}: bounds must be (x_low, x_high, y_low, y_high) with low < "
                         f"high; got {bounds!r}")
    return tuple(float(v) for v in box)


def _check_steps(steps, n: int, func: str) -> list:
    if not isinstance(steps, list | tuple) or not steps \
            or not all(isinstance(s, PerceptronStep) for s in steps):
        raise TypeError(f"{func}: steps must be the non-empty list of PerceptronStep that "
                        f"perceptron_trace returns; got {type(steps).__name__}")
    worst = max(s.index for s in steps)
    if worst >= n:
        raise ValueError(f"{func}: steps visit sample {worst}, but X has only {n} rows; pass "
                         f"the X and y the trace was made from")
    return list(steps)


def _check_frame(k, steps, func: str) -> int:
    return int(check_scalar(k, "k", func, low=0, high=len(steps) - 1, integer=True))


# --------------------------------------------------------------------------------------------
# Data and plain computations
# --------------------------------------------------------------------------------------------

def make_dataset(name, seed=0, n=30):
    """One of the lecture's data sets, reproducible from ``seed``.

    name: one of ``DATASETS``:
      - "separable": ``make_linearly_separable(n, rng, margin=0.3)``, points in [-5, 5]² on
        both sides of a random line, none closer to it than 0.3;
      - "noisy separable": the same points with the labels of n // 10 of them (at least one)
        flipped, so that (almost always) no line separates them any more;
      - "XOR": the four corners of the unit square, +1 on (0, 1) and (1, 0), -1 on (0, 0) and
        (1, 1) (``n`` and ``seed`` are ignored).
    seed: an int for ``np.random.default_rng``; n: number of points (>= 2).
    Returns (X (n, 2) float64, y (n,) float64 of +1/-1).
    """
    func = "make_dataset"
    if name not in DATASETS:
        raise ValueError(f"{func}: name must be one of {DATASETS}; got {name!r}")
    seed = check_scalar(seed, "seed", func, low=0, integer=True)
    n = int(check_scalar(n, "n", func, low=2, integer=True))
    if name == "XOR":
        return XOR_X.copy(), XOR_Y.copy()
    rng = np.random.default_rng(seed)
    X, y, _, _ = make_linearly_separable(n, rng, margin=0.3)
    if name == "noisy separable":
        flip = rng.choice(n, size=max(1, n // 10), replace=False)
        y = y.copy()
        y[flip] = -y[flip]
    return X, y


def data_bounds(X, pad=0.15):
    """A square window (x_low, x_high, y_low, y_high) around the points X: (N, 2).

    The window is centred on the points' bounding box; its side is the longer side of that box
    plus ``pad`` times it on each end (at least 0.5 on each end, so four corners of the unit
    square get room too).
    """
    func = "data_bounds"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, 2)")
    check_shape(X, (None, 2), "X", func)
    if X.shape[0] == 0:
        raise ValueError(f"{func}: X must hold at least one point; got shape {X.shape}")
    pad = float(check_scalar(pad, "pad", func, low=0))
    low, high = X.min(axis=0), X.max(axis=0)
    centre, side = (low + high) / 2, float(np.max(high - low))
    half = side / 2 + max(pad * side, 0.5)
    return (float(centre[0] - half), float(centre[0] + half),
            float(centre[1] - half), float(centre[1] + half))


def count_mistakes(X, y, w, b):
    """How many points the perceptron sign(w·x + b) misclassifies (sign(0) = +1).

    X: (N, 2) or (N, D) points; y: (N,) labels +1/-1; w: (D,); b: scalar. Returns an int.
    A point exactly on the line counts as +1 here; training is stricter and updates on it.
    """
    func = "count_mistakes"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, D)")
    y = _check_pm1(y, X.shape[0], func)
    return int(np.sum(perceptron_predict(X, w, b) != y))


def update_report(w, b, x, y, lr=1.0):
    """One Rosenblatt step on the sample (x, y), and what it does to the margin y·(w·x + b).

    w: (D,) weights; b: scalar; x: (D,) one sample; y: +1 or -1; lr > 0.
    On a mistake (y·(w·x + b) <= 0), w' = w + lr·y·x and b' = b + lr·y, so
    y·(w'·x + b') = y·(w·x + b) + lr·(‖x‖² + 1): the score moves towards the right sign by
    exactly lr·(‖x‖² + 1). Returns a dict with keys w, b (after), before, after (the values of
    y·(w·x + b)), gain (after − before) and updated (whether the sample was a mistake).
    """
    new_w, new_b = perceptron_update(w, b, x, y, lr)
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    before = float(y * (w @ x + b))
    after = float(y * (new_w @ x + new_b))
    return {"w": new_w, "b": float(new_b), "before": before, "after": after,
            "gain": after - before, "updated": bool(before <= 0)}


def trace_state(steps, k):
    """Where training stands at frame k of ``perceptron_trace``.

    steps: the list ``perceptron_trace`` returns (frame 0 is the start, w = 0 and b = 0; frame
    k >= 1 is the k-th sample visit); k: 0 <= k < len(steps).
    Returns a dict: k, epoch (counted from 1), index (the sample visited, -1 at the start),
    mistake (whether that visit updated the weights), w and b (after the visit), updates (all
    updates in frames 1..k), epoch_updates (those of the current epoch), last (k is the final
    frame) and converged (the final frame closes an epoch without a mistake).
    """
    func = "trace_state"
    if not isinstance(steps, list | tuple) or not steps \
            or not all(isinstance(s, PerceptronStep) for s in steps):
        raise TypeError(f"{func}: steps must be the non-empty list of PerceptronStep that "
                        f"perceptron_trace returns; got {type(steps).__name__}")
    k = _check_frame(k, steps, func)
    step = steps[k]
    done = steps[1:k + 1]
    epoch_updates = sum(s.mistake for s in done if s.epoch == step.epoch)
    last = k == len(steps) - 1
    return {"k": k, "epoch": step.epoch + 1, "index": step.index, "mistake": step.mistake,
            "w": step.w, "b": float(step.b), "updates": sum(s.mistake for s in done),
            "epoch_updates": epoch_updates, "last": last,
            "converged": last and k > 0 and epoch_updates == 0}


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------

def _new_axes(ax, figsize=_FIGSIZE, margins=_MARGINS):
    """``ax`` itself, or the Axes of a new pyplot figure (which the notebook then shows)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize)
    if margins:
        fig.subplots_adjust(**margins)
    return fig.add_subplot()


def _widget_axes():
    """A figure outside pyplot (nothing left for the notebook to show), with one Axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIGSIZE, dpi=80)
    fig.subplots_adjust(**_MARGINS)
    return fig.add_subplot()


def _legend(ax):
    """The legend beside the square plot, where it hides no point."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.03, 1.0), borderaxespad=0,
              fontsize="small", frameon=False)


def _half_plane(box, w, b) -> np.ndarray:
    """The corners (M, 2) of the part of the box where w·x + b >= 0 (M = 0 when empty).

    The box is convex, so one pass of Sutherland–Hodgman clipping does it: walk round the four
    corners, keep those inside, and add the crossing point wherever an edge crosses the line.
    """
    x0, x1, y0, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    score = corners @ w + b
    kept = []
    for j in range(4):
        p, q, sp, sq = corners[j], corners[(j + 1) % 4], score[j], score[(j + 1) % 4]
        if sp >= 0:
            kept.append(p)
        if (sp >= 0) != (sq >= 0):
            kept.append(p + sp / (sp - sq) * (q - p))
    return np.array(kept).reshape(-1, 2)


def _line_points(box, w, b):
    """Two far-apart points on w·x + b = 0 around the box (the axes clip the rest), or None."""
    norm2 = float(w @ w)
    if norm2 == 0:
        return None
    centre = np.array([(box[0] + box[1]) / 2, (box[2] + box[3]) / 2])
    foot = centre - (w @ centre + b) / norm2 * w          # the line's point nearest the centre
    along = np.array([-w[1], w[0]]) / np.sqrt(norm2)
    reach = 2 * max(box[1] - box[0], box[3] - box[2])
    return foot, foot - reach * along, foot + reach * along


def _draw_line(ax, box, w, b, **style):
    ends = _line_points(box, w, b)
    if ends is not None:
        ax.plot([ends[1][0], ends[2][0]], [ends[1][1], ends[2][1]], **style)
    return ends


def _draw_scene(ax, X, y, w, b, box, normal=True, rings=True) -> int:
    """Shaded half-planes, the line, the data and rings on mistakes; returns the mistakes."""
    if w.any():
        sides = [(BLUE, _half_plane(box, w, b)), (ORANGE, _half_plane(box, -w, -b))]
    else:                       # no line: the whole plane is sign(b), and sign(0) = +1
        sides = [(BLUE if b >= 0 else ORANGE, _half_plane(box, w, 1.0))]
    for colour, poly in sides:
        if len(poly):
            ax.fill(poly[:, 0], poly[:, 1], color=colour, alpha=0.16, linewidth=0)
    ends = _draw_line(ax, box, w, b, color="black", lw=2, label="decision line w·x + b = 0")
    size = 40 if len(y) > 10 else 110                   # XOR's four corners get big dots
    for label, colour in ((1.0, BLUE), (-1.0, ORANGE)):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], color=colour, edgecolors="white", s=size,
                   linewidths=0.8, zorder=3, label=f"class {label:+g}")
    wrong = np.where(X @ w + b >= 0, 1.0, -1.0) != y
    if rings and wrong.any():
        ax.scatter(X[wrong, 0], X[wrong, 1], facecolors="none", edgecolors=RED, s=3.5 * size,
                   linewidths=1.8, zorder=4, label=f"misclassified ({int(wrong.sum())})")
    if normal and ends is not None:
        foot = ends[0]
        if box[0] < foot[0] < box[1] and box[2] < foot[1] < box[3]:
            tip = foot + 0.18 * (box[1] - box[0]) * w / np.linalg.norm(w)
            ax.annotate("", xy=tip, xytext=foot, zorder=5,
                        arrowprops={"arrowstyle": "-|>", "lw": 2, "color": "black"})
            from matplotlib.patheffects import withStroke

            ax.text(tip[0], tip[1], "  w", fontsize=12, fontweight="bold", zorder=5,
                    path_effects=[withStroke(linewidth=3, foreground="white")])
    from matplotlib.ticker import MaxNLocator

    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])
    ax.set_aspect("equal", adjustable="box")
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return int(wrong.sum())


def draw_decision_line(X, y, w, b, ax=None, bounds=None, title=None, normal=True):
    """The perceptron sign(w·x + b) over the plane, with the data on top.

    X: (N, 2) points; y: (N,) labels +1/-1; w: (2,) weights; b: scalar bias.
    Draws the half-plane w·x + b >= 0 (predicted +1) shaded blue and the rest orange, the
    decision line w·x + b = 0 (none when w = 0: then the whole plane is one class), the normal
    vector w as an arrow starting on the line (when ``normal`` and the arrow fits), and a red
    ring around every misclassified point. bounds: (x_low, x_high, y_low, y_high), by default
    ``data_bounds(X)``; title: by default "k of N points misclassified".
    Returns the Axes.
    """
    func = "draw_decision_line"
    X, y = _check_points(X, y, func)
    w, b = _check_line(w, b, func)
    box = _check_bounds(bounds, X, func)
    ax = _new_axes(ax)
    mistakes = _draw_scene(ax, X, y, w, b, box, normal=normal)
    ax.set_title(title if title is not None
                 else f"{mistakes} of {len(y)} points misclassified")
    _legend(ax)
    return ax


def draw_neuron(w, b, ax=None):
    """The single artificial neuron as a diagram: inputs x1, x2 and a constant 1, the weights
    w1, w2 and the bias b on the wires, a summing node and the sign activation.

    w: (2,) weights; b: scalar bias (their values are written on the wires). Returns the Axes.
    """
    from matplotlib.patches import Circle, FancyBboxPatch

    w, b = _check_line(w, b, "draw_neuron")
    ax = _new_axes(ax, figsize=(6.0, 2.6), margins={"left": 0.02, "right": 0.98,
                                                    "bottom": 0.02, "top": 0.88})
    inputs = {"$x_1$": 2.0, "$x_2$": 1.0, "1": 0.0}
    weights = [f"$w_1 = {w[0]:g}$", f"$w_2 = {w[1]:g}$", f"$b = {b:g}$"]
    sum_at = np.array([3.0, 1.0])
    for (name, height), label in zip(inputs.items(), weights):
        start, end = np.array([0.3, height]), sum_at + [-0.42, 0.4 * (height - 1)]
        ax.add_patch(Circle((0, height), 0.28, facecolor="#e8eaeb", edgecolor="black"))
        ax.text(0, height, name, ha="center", va="center", fontsize=12)
        ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": "black"})
        middle = (start + end) / 2                          # the weight sits above its wire
        ax.text(middle[0], middle[1] + 0.14, label, ha="center", va="bottom", fontsize=10)
    ax.add_patch(Circle(sum_at, 0.42, facecolor="#fdf0dc", edgecolor="black"))
    ax.text(*sum_at, r"$\Sigma$", ha="center", va="center", fontsize=15)
    ax.add_patch(FancyBboxPatch((4.1, 0.65), 1.1, 0.7, boxstyle="round,pad=0.05",
                                facecolor="#dcebf7", edgecolor="black"))
    ax.text(4.65, 1.0, "sign", ha="center", va="center", fontsize=12)
    ax.annotate("", xy=(4.05, 1.0), xytext=(3.45, 1.0),
                arrowprops={"arrowstyle": "-|>", "color": "black"})
    ax.annotate("", xy=(6.1, 1.0), xytext=(5.3, 1.0),
                arrowprops={"arrowstyle": "-|>", "color": "black"})
    ax.text(6.2, 1.0, r"$\hat y = \pm 1$", va="center", fontsize=12)
    ax.text(3.0, 1.6, "$s = w \\cdot x + b$", ha="center", fontsize=10)
    ax.set_xlim(-0.5, 7.6)
    ax.set_ylim(-0.45, 2.45)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(r"One neuron: $\hat y = \mathrm{sign}(w_1 x_1 + w_2 x_2 + b)$")
    return ax


def draw_update(X, y, w, b, i, lr=1.0, ax=None, bounds=None):
    """One Rosenblatt step on sample i: the line before (dashed) and after (solid, shaded).

    X: (N, 2); y: (N,) labels +1/-1; w: (2,), b: the weights before the step; i: the sample,
    0 <= i < N; lr > 0. The title gives y·(w·x + b) before and after; a correctly classified
    sample leaves the line where it was. Returns the Axes.
    """
    func = "draw_update"
    X, y = _check_points(X, y, func)
    w, b = _check_line(w, b, func)
    i = int(check_scalar(i, "i", func, low=0, high=len(y) - 1, integer=True))
    box = _check_bounds(bounds, X, func)
    report = update_report(w, b, X[i], y[i], lr)
    ax = _new_axes(ax)
    _draw_scene(ax, X, y, report["w"], report["b"], box)
    if report["updated"]:
        _draw_line(ax, box, w, b, color="0.35", lw=1.5, ls="--", label="line before the step")
    ax.scatter(*X[i], s=330, facecolors="none", edgecolors="black", linewidths=2.2, zorder=4,
               label=f"sample {i}")
    if report["updated"]:
        ax.set_title(f"sample {i} was a mistake: one update\n"
                     f"y·(w·x + b) went from {report['before']:.2f} to {report['after']:.2f}")
    else:
        ax.set_title(f"sample {i} is already right: no change\n"
                     f"y·(w·x + b) = {report['before']:.2f} > 0")
    _legend(ax)
    return ax


def draw_trace_step(X, y, steps, k, ax=None, bounds=None):
    """Frame k of the training animation.

    X: (N, 2); y: (N,) labels +1/-1; steps: ``perceptron_trace(X, y, ...)``; k: the frame,
    0 <= k < len(steps). Shows the data and the line after visit k, a ring round the visited
    sample (red when it was a mistake and caused an update, black when it was already right),
    the line before the update dashed, and in the title the epoch, the sample visited, the
    updates so far and those of this epoch. Returns the Axes.
    """
    func = "draw_trace_step"
    X, y = _check_points(X, y, func)
    steps = _check_steps(steps, len(y), func)
    state = trace_state(steps, k)
    box = _check_bounds(bounds, X, func)
    ax = _new_axes(ax)
    _draw_scene(ax, X, y, np.asarray(state["w"], dtype=np.float64), state["b"], box,
                normal=False)
    i = state["index"]
    if state["mistake"]:
        before = steps[state["k"] - 1]
        _draw_line(ax, box, np.asarray(before.w, dtype=np.float64), float(before.b),
                   color="0.35", lw=1.5, ls="--", label="line before the update")
    if i >= 0:
        ax.scatter(*X[i], s=330, facecolors="none", linewidths=2.4, zorder=4,
                   edgecolors=RED if state["mistake"] else "black",
                   label="visited: mistake, update" if state["mistake"] else "visited: correct")
    if i < 0:
        head = "start: w = 0, b = 0 (every point predicted +1)"
    else:
        head = (f"epoch {state['epoch']}, sample {i}: "
                + ("mistake → update" if state["mistake"] else "correct, no change"))
    tail = f"updates so far {state['updates']} (this epoch {state['epoch_updates']})"
    if state["converged"]:
        tail += ": converged"
    ax.set_title(f"{head}\n{tail}", fontsize="medium")
    _legend(ax)
    return ax


def plot_mistakes_per_epoch(runs, ax=None, title="Mistakes per epoch", log=False):
    """The number of mistakes (= updates) in each epoch, for one run or several.

    runs: a list of counts (``perceptron_train``'s third output) or a dict name -> list of
    counts; epoch e is drawn at x = e + 1. log: a logarithmic y axis (zeros are then left out).
    Returns the Axes; a legend appears when there is more than one run.
    """
    func = "plot_mistakes_per_epoch"
    if not isinstance(runs, dict):
        runs = {"mistakes": runs}
    ax = _new_axes(ax, figsize=(5.0, 3.6), margins=None)
    for name, counts in runs.items():
        counts = as_float_array(counts, f"runs[{name!r}]", func, ndim=1, dims="(epochs,)")
        if counts.size == 0 or np.any(counts < 0):
            raise ValueError(f"{func}: runs[{name!r}] must be a non-empty list of mistake "
                             f"counts >= 0; got {counts.tolist()}")
        epochs = np.arange(1, counts.size + 1)
        shown = counts if not log else np.where(counts > 0, counts, np.nan)
        ax.plot(epochs, shown, "o-", ms=4, label=str(name))
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("mistakes (updates) in the epoch")
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_title(title)
    if len(runs) > 1:
        ax.legend(fontsize="small")
    return ax


# --------------------------------------------------------------------------------------------
# Widgets
# --------------------------------------------------------------------------------------------

def _app(children, controls, panel, status, **extra):
    import ipywidgets as widgets

    box = widgets.VBox(children)
    box.controls, box.panel, box.status = controls, panel, status
    for name, value in extra.items():
        setattr(box, name, value)
    return friendly(box)


def make_line_app(X, y, w=(1.0, -1.0), b=0.0, bounds=None, w_max=3.0, b_max=6.0):
    """Sliders for w1, w2 and b over ``draw_decision_line`` on a fixed data set.

    X: (N, 2); y: (N,) labels +1/-1; w, b: where the sliders start; w_max, b_max: the slider
    ranges [-w_max, w_max] and [-b_max, b_max]. The readout gives the mistakes, ‖w‖ and the
    signed distance b/‖w‖ of the origin from the line. The button "perceptron's answer" trains
    a perceptron on the data and sets the sliders to its (w, b), scaled down by a positive
    factor to fit the ranges (scaling by c > 0 leaves the line and every prediction unchanged).
    Returns a VBox with ``controls`` {"w1", "w2", "b", "answer"}, ``panel`` and ``status``.
    """
    import ipywidgets as widgets

    func = "make_line_app"
    X, y = _check_points(X, y, func)
    w, b = _check_line(w, b, func)
    box = _check_bounds(bounds, X, func)
    w_max = float(check_scalar(w_max, "w_max", func, low=0, low_open=True))
    b_max = float(check_scalar(b_max, "b_max", func, low=0, low_open=True))

    def slider(name, value, top):
        return widgets.FloatSlider(value=float(np.clip(value, -top, top)), min=-top, max=top,
                                   step=0.1, description=name, readout_format=".2f",
                                   continuous_update=True)

    controls = {"w1": slider("w1", w[0], w_max), "w2": slider("w2", w[1], w_max),
                "b": slider("b", b, b_max),
                "answer": widgets.Button(description="perceptron's answer",
                                         tooltip="train a perceptron and show its line",
                                         layout={"width": "190px"})}
    status = widgets.HTML()

    def plot(w1, w2, b):
        return draw_decision_line(X, y, [w1, w2], b, ax=_widget_axes(), bounds=box).figure

    panel = PlotPanel(plot, width=_WIDTH)
    hold = [False]

    def redraw(change=None):
        if hold[0]:
            return
        w_now = np.array([controls["w1"].value, controls["w2"].value])
        b_now = controls["b"].value
        panel.update(w1=w_now[0], w2=w_now[1], b=b_now)
        norm = float(np.linalg.norm(w_now))
        where = (f"signed distance of the origin from the line b/‖w‖ = {b_now / norm:.2f}"
                 if norm > 0 else "w = 0: no line, every point gets sign(b)")
        status.value = (f"<b>{count_mistakes(X, y, w_now, b_now)} of {len(y)} misclassified"
                        f"</b> &nbsp;·&nbsp; ‖w‖ = {norm:.2f} &nbsp;·&nbsp; {where}")

    def answer(_button=None):
        w_fit, b_fit, _ = perceptron_train(X, y)
        scale = max(np.max(np.abs(w_fit)) / w_max, abs(b_fit) / b_max, 1e-12)
        hold[0] = True
        try:
            controls["w1"].value = float(w_fit[0] / scale)
            controls["w2"].value = float(w_fit[1] / scale)
            controls["b"].value = float(b_fit / scale)
        finally:
            hold[0] = False
        redraw()

    for name in ("w1", "w2", "b"):
        controls[name].observe(redraw, names="value")
    controls["answer"].on_click(answer)
    redraw()
    sliders = widgets.VBox([controls["w1"], controls["w2"], controls["b"], controls["answer"]])
    return _app([widgets.HBox([sliders, panel.widget]), status], controls, panel, status)


def make_update_app(X, y, w, b, i=0, lr=1.0, bounds=None):
    """Choose a sample and a learning rate and watch one Rosenblatt step (``draw_update``).

    X: (N, 2); y: (N,) labels +1/-1; w: (2,), b: the weights before the step (kept fixed);
    i: the first sample shown; lr: the first learning rate (the slider spans 0.1 to 2).
    The readout gives y·(w·x + b) before and after and the gain lr·(‖x‖² + 1).
    Returns a VBox with ``controls`` {"sample", "lr"}, ``panel`` and ``status``.
    """
    import ipywidgets as widgets

    func = "make_update_app"
    X, y = _check_points(X, y, func)
    w, b = _check_line(w, b, func)
    i = int(check_scalar(i, "i", func, low=0, high=len(y) - 1, integer=True))
    lr = float(check_scalar(lr, "lr", func, low=0.1, high=2.0))
    box = _check_bounds(bounds, X, func)
    controls = {"sample": widgets.IntSlider(value=i, min=0, max=len(y) - 1,
                                            description="sample i"),
                "lr": widgets.FloatSlider(value=lr, min=0.1, max=2.0, step=0.1,
                                          description="lr", readout_format=".1f")}
    status = widgets.HTML()
    panel = PlotPanel(lambda i, lr: draw_update(X, y, w, b, i, lr, ax=_widget_axes(),
                                                bounds=box).figure, width=_WIDTH)

    def redraw(change=None):
        i_now, lr_now = controls["sample"].value, controls["lr"].value
        panel.update(i=i_now, lr=lr_now)
        r = update_report(w, b, X[i_now], y[i_now], lr_now)
        x = X[i_now]
        if r["updated"]:
            status.value = (f"y = {y[i_now]:+g}, x = ({x[0]:.2f}, {x[1]:.2f}): y·(w·x + b) "
                            f"goes from {r['before']:.2f} to {r['after']:.2f}, up by "
                            f"lr·(‖x‖² + 1) = {lr_now:.1f}·{x @ x + 1:.2f} = {r['gain']:.2f}"
                            f"<br>new w = ({r['w'][0]:.2f}, {r['w'][1]:.2f}), "
                            f"new b = {r['b']:.2f}")
        else:
            status.value = (f"y·(w·x + b) = {r['before']:.2f} > 0: sample {i_now} is already "
                            f"on its side, so the rule changes nothing")

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return _app([widgets.HBox([controls["sample"], controls["lr"]]), status, panel.widget],
                controls, panel, status)


def make_training_app(dataset="separable", lr=1.0, epochs=20, seed=0, n=30, interval=300):
    """Rosenblatt training, one sample visit per frame, on a data set chosen from a dropdown.

    dataset: the first data set shown, one of ``DATASETS``; lr, epochs: passed to
    ``perceptron_trace`` (training stops after the first epoch without a mistake or after
    ``epochs`` epochs); seed, n: passed to ``make_dataset``; interval: milliseconds between
    Play ticks. The Play widget and the frame slider are tied together in the browser with
    ``jslink``; Step pauses and moves one frame on, Reset stops and goes back to frame 0. Changing
    the data set retraces and starts again at frame 0. Every redraw is ``draw_trace_step``.
    Returns a VBox with ``controls`` {"dataset", "play", "frame", "step", "reset"}, ``panel``,
    ``status`` and ``state`` (a dict with the current X, y, steps and bounds).
    """
    import ipywidgets as widgets

    func = "make_training_app"
    if dataset not in DATASETS:
        raise ValueError(f"{func}: dataset must be one of {DATASETS}; got {dataset!r}")
    lr = float(check_scalar(lr, "lr", func, low=0, low_open=True))
    epochs = int(check_scalar(epochs, "epochs", func, low=1, integer=True))
    interval = int(check_scalar(interval, "interval", func, low=10, integer=True))
    state = {}

    def retrace(name):
        X, y = make_dataset(name, seed=seed, n=n)
        state.update(X=X, y=y, steps=perceptron_trace(X, y, lr=lr, epochs=epochs),
                     bounds=data_bounds(X))

    retrace(dataset)
    last = len(state["steps"]) - 1
    controls = {
        "dataset": widgets.Dropdown(options=list(DATASETS), value=dataset,
                                    description="data set", layout={"width": "230px"}),
        "play": widgets.Play(value=0, min=0, max=last, step=1, interval=interval,
                             show_repeat=False, description="play"),
        "frame": widgets.IntSlider(value=0, min=0, max=last, description="frame",
                                   continuous_update=True),
        "step": widgets.Button(description="step", tooltip="visit the next sample",
                               layout={"width": "70px"}),
        "reset": widgets.Button(description="reset", tooltip="back to w = 0, b = 0",
                                layout={"width": "70px"}),
    }
    link = widgets.jslink((controls["play"], "value"), (controls["frame"], "value"))
    status = widgets.HTML()
    panel = PlotPanel(lambda k: draw_trace_step(state["X"], state["y"], state["steps"], k,
                                                ax=_widget_axes(),
                                                bounds=state["bounds"]).figure, width=_WIDTH)
    hold = [False]
    guard = {"until": 0.0}      # see reset

    def redraw(change=None):
        if hold[0]:
            return
        k = controls["frame"].value
        panel.update(k=k)
        s = trace_state(state["steps"], k)
        where = ("the start" if s["index"] < 0
                 else f"epoch {s['epoch']}, sample {s['index']}")
        ending = ""
        if s["converged"]:
            ending = " &nbsp;·&nbsp; <b>converged</b>: a whole epoch without a mistake"
        elif s["last"]:
            ending = f" &nbsp;·&nbsp; <b>stopped after {epochs} epochs</b>, still making mistakes"
        status.value = (f"frame {k} of {len(state['steps']) - 1} ({where}) &nbsp;·&nbsp; "
                        f"w = ({s['w'][0]:.2f}, {s['w'][1]:.2f}), b = {s['b']:.2f} &nbsp;·&nbsp;"
                        f" updates so far {s['updates']}{ending}")

    def on_dataset(change):
        retrace(change["new"])
        last = len(state["steps"]) - 1
        guard["until"] = time.monotonic() + 1.0 if controls["play"].playing else 0.0
        hold[0] = True
        try:
            controls["play"].playing = False
            for name in ("frame", "play"):
                controls[name].value = 0
                controls[name].max = last
        finally:
            hold[0] = False
        redraw()

    def step(_button=None):
        controls["play"].playing = False
        controls["frame"].value = min(controls["frame"].value + 1, controls["frame"].max)

    def reset(_button=None):
        # A tick the browser sent before it heard "stop" can still be on its way, and would
        # undo the reset; for a moment, such a late frame is sent back to 0 (see on_frame).
        guard["until"] = time.monotonic() + 1.0 if controls["play"].playing else 0.0
        controls["play"].playing = False
        controls["play"].value = 0
        controls["frame"].value = 0

    def on_frame(change):
        late_tick = change["new"] != 0 and time.monotonic() < guard["until"] \
            and not controls["play"].playing
        if late_tick:
            controls["play"].value = 0
            controls["frame"].value = 0                     # which redraws frame 0
        else:
            redraw()

    controls["frame"].observe(on_frame, names="value")
    controls["dataset"].observe(on_dataset, names="value")
    controls["step"].on_click(step)
    controls["reset"].on_click(reset)
    redraw()
    bar = widgets.HBox([controls["dataset"], controls["play"], controls["frame"],
                        controls["step"], controls["reset"]], layout={"flex_flow": "row wrap"})
    return _app([bar, status, panel.widget], controls, panel, status, state=state, link=link)
