"""Figures, experiments and widgets of lecture 4: SGD and its variants.

The lecture's sections, and what this module gives each of them:

1. **Training protocols.** ``compare_protocols`` trains the same small MLP with batch,
   single-sample and mini-batch gradient descent; ``plot_protocols`` draws the training loss
   against epochs and against wall-clock seconds.
2. **Optimizers on 2-D surfaces.** ``race_paths`` runs several update rules of
   ``nnutils.optim`` across a surface of ``nnutils.surfaces``; ``race_summary`` says how far
   each got; ``plot_optimizer_race`` draws the paths over the contours and the loss gap
   f(w_t) − f_min per step (``plot_surface`` draws a surface alone);
   ``make_optimizer_race_app`` puts a surface dropdown, a checkbox per optimizer, a log slider
   for the learning rate, a β slider and a steps slider on top.
3. **The learning rate.** ``gradient_descent_run`` trains an MLP by full-batch gradient descent
   at one learning rate and ``lr_verdict`` says whether that rate was too low, good,
   oscillating (too high) or diverged; ``plot_lr_runs`` and ``make_learning_rate_app`` (a log
   slider) show the loss curves.
4. **Schedules and comparisons.** ``plot_schedules`` (the learning rate per epoch of each
   schedule) and ``plot_curves`` (any set of curves, e.g. the losses of several runs).
5. **Initialization.** ``hidden_unit_spread`` measures how different the hidden units of a
   layer are; ``layer_activations`` pushes data through a deep net initialized one way or
   another; ``plot_activation_statistics`` and ``plot_activation_histograms`` show the spread
   of the activations layer by layer.
6. **Feature normalization.** ``make_fish`` makes the Western deck's fish (length in metres,
   weight in grams, and a price to predict); ``standardize`` rescales features with the
   training mean and standard deviation.
7. **Hyperparameter search.** ``search_objective`` is a cheap stand-in for a validation error
   with one important and one unimportant hyperparameter; ``grid_points``, ``random_points``
   and ``search_regrets`` compare grid and random search on the same budget
   (``plot_grid_vs_random``, ``plot_search_regrets``); ``make_digits_objective`` and
   ``coarse_to_fine`` run a real two-stage random search (``plot_search_trials``).

Plot functions that draw one panel take ``ax=None`` and return the Axes; those that draw
several panels return the Figure. Every ``make_*_app`` returns an ipywidgets VBox with
``app.controls`` (a dict of the control widgets, whose ``.value`` a test may set),
``app.panel`` (the ``PlotPanel`` that is redrawn) and ``app.info`` (an HTML widget with the
numbers of the current drawing). matplotlib and ipywidgets are imported inside the functions.
"""

import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .._checks import as_float_array, check_finite, check_labels, check_scalar, check_shape
from .._threads import one_blas_thread
from ..initializers import he_normal, small_random, xavier_uniform
from ..layers import ACTIVATIONS, affine_forward
from ..models import MLP
from ..optim import sgd_step
from ..schedules import make_schedule
from ..surfaces import SURFACES, PathRunner, Surface, diverged_at, run_optimizer
from ..train import TrainingDivergedWarning, train
from . import PlotPanel, friendly

__all__ = [
    "INIT_CHOICES", "OPTIMIZER_COLOURS", "OPTIMIZER_NAMES", "PROTOCOLS", "SEARCH_BOX", "GDRun",
    "SearchTrials", "activation_std", "coarse_to_fine", "compare_protocols",
    "gradient_descent_run", "grid_points", "hidden_unit_spread", "layer_activations",
    "lr_verdict", "make_digits_objective", "make_fish", "make_learning_rate_app",
    "make_optimizer_race_app", "plot_activation_histograms", "plot_activation_statistics",
    "plot_curves", "plot_grid_vs_random", "plot_surface", "plot_lr_runs", "plot_optimizer_race",
    "plot_protocols", "plot_schedules", "plot_search_regrets", "plot_search_trials",
    "race_hyper", "race_paths", "race_summary", "random_points", "search_objective",
    "search_regrets", "standardize",
]


# --------------------------------------------------------------------------------------------
# Small shared helpers
# --------------------------------------------------------------------------------------------

def _new_axes(ax, figsize=(5.0, 4.0)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def _new_figure(ncols: int, panel=(5.0, 4.0), nrows: int = 1):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows),
                             squeeze=False)
    return fig, axes


def _check_xy(X, y, func: str):
    """X (N, D) finite floats and y (N,) integer class labels 0..K−1 with K = max(y) + 1 >= 2."""
    X = as_float_array(X, "X", func, ndim=2, dims="(N, D)")
    check_finite(X, "X", func)
    if X.shape[0] < 1:
        raise ValueError(f"{func}: X must hold at least one sample; got shape {X.shape}")
    y_arr = np.asarray(y)
    k = int(y_arr.max()) + 1 if y_arr.size and np.issubdtype(y_arr.dtype, np.number) else 2
    y_arr = check_labels(y, X.shape[0], max(k, 2), func)
    return X, y_arr, max(k, 2)


def _app(rows: list, controls: dict, panel: PlotPanel, info):
    import ipywidgets as widgets

    app = widgets.VBox([*rows, panel.widget, info])
    app.controls = controls
    app.panel = panel
    app.info = info
    return app


class _BlitPanel:
    """One Axes on its own Agg figure, redrawn by blitting: only what changes is drawn again.

    A full matplotlib draw spends its time on ticks, labels and (here) contour lines, which do
    not change when a slider moves. ``begin()`` removes the artists drawn by the last redraw and
    notes what is already on the Axes (the static part); the caller then sets the Axes up for
    ``key`` (limits, title) and draws the new artists; ``finish(key)`` draws the static part
    once per key into a saved background, and on later calls pastes that background and draws
    only the new artists over it. Returns the pixels as an (H, W, 3) uint8 array. The figure is
    not made by pyplot, so it never shows up on its own in a notebook.
    """

    def __init__(self, size=(5.0, 4.0), margins=None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=size, dpi=80)
        FigureCanvasAgg(self.figure)
        self.ax = self.figure.add_subplot()
        self.figure.subplots_adjust(**(margins or {}))
        self._backgrounds: dict = {}
        self._dynamic: list = []
        self._static: set = set()

    def _artists(self) -> list:
        ax = self.ax
        out = [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]
        if ax.legend_ is not None:
            out.append(ax.legend_)
        return out

    def begin(self):
        for artist in self._dynamic:
            artist.remove()
        self._dynamic = []
        self._static = {id(a) for a in self._artists()}
        return self.ax

    def finish(self, key) -> np.ndarray:
        new = [a for a in self._artists() if id(a) not in self._static]
        for artist in new:
            artist.set_animated(True)
        self._dynamic = new
        canvas = self.figure.canvas
        background = self._backgrounds.get(key)
        if background is None:
            canvas.draw()                       # the animated artists are left out
            if len(self._backgrounds) >= 32:
                self._backgrounds.clear()
            background = self._backgrounds[key] = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(background)
        for artist in sorted(new, key=lambda a: a.get_zorder()):
            self.ax.draw_artist(artist)
        return np.array(canvas.buffer_rgba())[:, :, :3]


# --------------------------------------------------------------------------------------------
# 1. Training protocols: batch, single sample, mini-batch
# --------------------------------------------------------------------------------------------

#: The three protocols of the Western deck: name -> (samples per update, learning rate). The
#: whole-set gradient is exact and the single-sample one very noisy, so each gets a rate that
#: suits it (found with ``gradient_descent_run`` and a few trial runs).
PROTOCOLS = {"batch": (None, 1.0), "single sample": (1, 0.02), "mini-batch (32)": (32, 0.3)}


def compare_protocols(X, y, protocols=None, epochs=8, hidden=32, seed=0):
    """Train the same MLP([D, hidden, K], relu) with plain SGD under several protocols.

    X: (N, D) training inputs; y: (N,) labels 0..K−1.
    protocols: dict name -> (batch size, learning rate); a batch size of None (or 0) means the
        whole training set. Default ``PROTOCOLS``.
    epochs: passes over the data, >= 1; hidden: hidden units, >= 1; seed: the initial weights
        (the same for every protocol) and the shuffling.
    Every run uses one BLAS thread, so the timings compare the protocols, not the machine's
    thread scheduling. Returns dict name -> ``nnutils.train.History`` (train_loss, train_acc
    and seconds per epoch).
    """
    func = "compare_protocols"
    X, y, k = _check_xy(X, y, func)
    protocols = PROTOCOLS if protocols is None else protocols
    if not isinstance(protocols, Mapping) or not protocols:
        raise TypeError(f"{func}: protocols must be a non-empty dict name -> (batch size,"
                        f" learning rate); got {type(protocols).__name__}")
    epochs = int(check_scalar(epochs, "epochs", func, low=1, integer=True))
    hidden = int(check_scalar(hidden, "hidden", func, low=1, integer=True))
    settings = {}
    for name, setting in protocols.items():
        if not isinstance(setting, tuple | list) or len(setting) != 2:
            raise ValueError(f"{func}: protocols[{name!r}] must be a pair (batch size,"
                             f" learning rate); got {setting!r}")
        size, lr = setting
        size = X.shape[0] if size is None or size == 0 else size
        settings[name] = (int(check_scalar(size, f"protocols[{name!r}] batch size", func,
                                           low=1, integer=True)),
                          float(check_scalar(lr, f"protocols[{name!r}] learning rate", func,
                                             low=0, low_open=True)))
    histories = {}
    with one_blas_thread():
        for name, (size, lr) in settings.items():
            model = MLP([X.shape[1], hidden, k], "relu", rng=np.random.default_rng(seed))
            histories[name] = train(model, X, y, epochs=epochs, batch_size=size,
                                    optimizer="sgd", lr=lr, rng=np.random.default_rng(seed),
                                    progress=False)
    return histories


def plot_protocols(histories):
    """Training loss against epochs (left) and against cumulative seconds (right).

    histories: dict name -> History (or anything with ``train_loss`` and ``seconds`` lists),
    as ``compare_protocols`` returns. The first point of each curve is the loss after its first
    epoch, drawn at the time that epoch ended. Returns the Figure.
    """
    func = "plot_protocols"
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError(f"{func}: histories must be a non-empty dict name -> History; got"
                        f" {type(histories).__name__}")
    fig, axes = _new_figure(2)
    ax_epoch, ax_time = axes[0]
    for i, (name, h) in enumerate(histories.items()):
        loss = np.asarray(h.train_loss, dtype=np.float64)
        seconds = np.cumsum(np.asarray(h.seconds, dtype=np.float64))
        if loss.size == 0 or seconds.size != loss.size:
            raise ValueError(f"{func}: histories[{name!r}] must have one train_loss and one"
                             f" seconds entry per epoch; got {loss.size} and {seconds.size}")
        ax_epoch.plot(np.arange(1, loss.size + 1), loss, "o-", color=f"C{i}", label=name)
        ax_time.plot(seconds, loss, "o-", color=f"C{i}", label=name)
    ax_epoch.set_title("Training loss per epoch")
    ax_epoch.set_xlabel("epoch")
    ax_time.set_title("Training loss against wall-clock time")
    ax_time.set_xlabel("seconds (cumulative)")
    ax_time.set_xscale("log")
    for ax in (ax_epoch, ax_time):
        ax.set_ylabel("training loss")
        ax.set_yscale("log")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# 2. Optimizers racing across 2-D surfaces
# --------------------------------------------------------------------------------------------

#: The update rules of ``nnutils.optim``, in the lecture's order.
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
#: One colour per optimizer, the same in every figure whichever optimizers are shown.
OPTIMIZER_COLOURS = dict(zip(OPTIMIZER_NAMES, ("C0", "C1", "C2", "C3", "C4", "C5"),
                             strict=True))


def _surface(surface, func: str) -> Surface:
    if isinstance(surface, Surface):
        return surface
    if isinstance(surface, str) and surface in SURFACES:
        return SURFACES[surface]
    raise ValueError(f"{func}: surface must be a Surface or one of {tuple(SURFACES)}; got"
                     f" {surface!r}")


def _names(names, func: str) -> tuple:
    if isinstance(names, str):
        names = (names,)
    names = tuple(names)
    bad = [n for n in names if n not in OPTIMIZER_NAMES]
    if bad:
        raise ValueError(f"{func}: unknown optimizer(s) {bad}; choose from {OPTIMIZER_NAMES}")
    return names


def race_hyper(name, beta=0.9) -> dict:
    """The hyperparameters the race gives optimizer ``name`` for the slider value ``beta``.

    β is the weight of the past in momentum and Nesterov (v ← β·v − lr·dw) and, in the same
    role, Adam's β1 (m ← β1·m + (1 − β1)·dw). SGD, Adagrad and RMSProp ignore it and keep the
    defaults of ``nnutils.optim`` (RMSProp's decay 0.9, Adam's β2 0.999).
    """
    func = "race_hyper"
    (name,) = _names(name, func)
    beta = float(check_scalar(beta, "beta", func, low=0, high=1, high_open=True))
    if name in ("momentum", "nesterov"):
        return {"beta": beta}
    if name == "adam":
        return {"beta1": beta}
    return {}


def race_paths(surface, names, lr, beta=0.9, steps=100, start=None) -> dict:
    """The path of every optimizer in ``names`` across a surface, all with the same settings.

    surface: a ``Surface`` or a name of ``nnutils.surfaces.SURFACES``; names: optimizer names
    (see ``OPTIMIZER_NAMES``); lr: the learning rate of all of them, > 0; beta: see
    ``race_hyper``; steps: updates per path, >= 0; start: (2,) or None for the surface's start.
    Returns dict name -> (steps + 1, 2) path (``nnutils.surfaces.run_optimizer``; rows after a
    divergence are NaN).
    """
    func = "race_paths"
    surface = _surface(surface, func)
    names = _names(names, func)
    lr = float(check_scalar(lr, "lr", func, low=0, low_open=True))
    return {n: run_optimizer(n, surface, start, lr, steps, **race_hyper(n, beta))
            for n in names}


def _gaps(surface: Surface, path: np.ndarray) -> np.ndarray:
    """f(w_t) − f_min per row of a path (NaN rows stay NaN), at least 1e-300 for log axes."""
    with np.errstate(over="ignore", invalid="ignore"):
        gap = surface.f(path) - surface.f_min
    return np.where(np.isnan(gap), np.nan, np.maximum(gap, 1e-300))


def race_summary(surface, paths) -> list:
    """How far each path got: a list of dicts, one per path, in the order of ``paths``.

    Each dict has name, steps (updates taken before any divergence), gap (f − f_min >= 0 at the
    last finite iterate), distance (from the last finite iterate to the surface's minimum) and
    diverged (the step that left the plane, or None).
    """
    func = "race_summary"
    surface = _surface(surface, func)
    if not isinstance(paths, Mapping):
        raise TypeError(f"{func}: paths must be a dict name -> (K, 2) path; got"
                        f" {type(paths).__name__}")
    rows = []
    for name, path in paths.items():
        path = as_float_array(path, f"paths[{name!r}]", func, ndim=2, dims="(K, 2)")
        check_shape(path, (None, 2), f"paths[{name!r}]", func)
        bad = diverged_at(path)
        last = path[(bad if bad is not None else len(path)) - 1]
        with np.errstate(over="ignore", invalid="ignore"):
            gap = max(float(surface.f(last)) - surface.f_min, 0.0)
        rows.append({"name": name, "steps": (bad if bad is not None else len(path)) - 1,
                     "gap": gap,
                     "distance": float(np.linalg.norm(last - surface.minimum)),
                     "diverged": bad})
    return rows


def _draw_surface(ax, surface: Surface):
    """Contours (from the surface's cached grid), the start and the minimum; labels, limits.

    The contour lines go from dark grey (low, near the minimum) to light grey (high)."""
    W1, W2, F = surface.grid(200)           # fine enough for Rosenbrock's narrow valley
    levels = surface.levels(18, resolution=200)
    greys = [str(g) for g in np.linspace(0.2, 0.75, len(levels))]
    ax.contour(W1, W2, F, levels=levels, colors=greys, linewidths=0.7)
    ax.plot(*surface.start, "o", color="black", markersize=6, zorder=4)
    ax.plot(*surface.minimum, "*", color="gold", markeredgecolor="black", markersize=15,
            zorder=4)
    ax.set_xlim(surface.bounds[0], surface.bounds[1])
    ax.set_ylim(surface.bounds[2], surface.bounds[3])
    ax.set_title(f"{surface.name}: {surface.title}", fontsize="medium")
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")


def plot_surface(surface, ax=None):
    """A surface's contours with its start (black dot) and minimum (star). Returns the Axes.

    surface: a ``Surface`` or a name of ``nnutils.surfaces.SURFACES``.
    """
    surface = _surface(surface, "plot_surface")
    ax = _new_axes(ax, (5.0, 4.0))
    _draw_surface(ax, surface)
    return ax


def _draw_paths(ax, paths: dict):
    """Each path as a line with small dots; a cross where a path diverged. An optimizer's path
    gets its colour of ``OPTIMIZER_COLOURS``, any other name the colour cycle's."""
    for i, (name, path) in enumerate(paths.items()):
        colour = OPTIMIZER_COLOURS.get(name, f"C{i}")
        ax.plot(path[:, 0], path[:, 1], ".-", color=colour, markersize=3, linewidth=1.3,
                label=name, zorder=3)
        bad = diverged_at(path)
        if bad is not None and bad > 0:
            ax.plot(*path[bad - 1], "x", color=colour, markersize=11, markeredgewidth=2.5,
                    zorder=5)


#: The y range of every loss-gap panel: from "converged" to "far off" (larger gaps, on the
#: way to a divergence, are drawn at the top edge).
GAP_LIMITS = (1e-10, 1e3)


def _setup_gap_axes(ax, steps: int):
    """Log y axis with few ticks (a full draw of the panel stays cheap), x from 0 to steps."""
    from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(numticks=7))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    ax.set_xlim(0, max(steps, 1))
    ax.set_ylim(*GAP_LIMITS)
    ax.set_title("Distance to the lowest value", fontsize="medium")
    ax.set_xlabel("step t")
    ax.set_ylabel("$f(w_t) - f_{min}$")


def _draw_gaps(ax, surface: Surface, paths: dict):
    low, top = GAP_LIMITS
    for name, path in paths.items():
        gap = np.clip(_gaps(surface, path), low * 0.5, top * 2)
        ax.plot(np.arange(len(gap)), gap, "-", color=OPTIMIZER_COLOURS.get(name, "black"),
                linewidth=1.5, label=name)


def _optimizer_legend(ax, names):
    """A legend with one coloured line per optimizer name (drawn whether or not it raced)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=OPTIMIZER_COLOURS.get(n, "black"), linewidth=1.5, label=n)
               for n in names]
    return ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.85)


def plot_optimizer_race(surface, paths):
    """Paths over the surface's contours (left) and f(w_t) − f_min per step (right, log scale).

    surface: a ``Surface`` or a name of ``SURFACES``; paths: dict optimizer name -> (K, 2) path
    (``race_paths``). The black dot is the start, the star the minimum, a cross the last point
    of a path that diverged. Returns the Figure.
    """
    func = "plot_optimizer_race"
    surface = _surface(surface, func)
    if not isinstance(paths, Mapping):
        raise TypeError(f"{func}: paths must be a dict name -> (K, 2) path; got"
                        f" {type(paths).__name__}")
    checked = {}
    for name, path in paths.items():
        arr = as_float_array(path, f"paths[{name!r}]", func, ndim=2, dims="(K, 2)")
        check_shape(arr, (None, 2), f"paths[{name!r}]", func, "(one iterate per row)")
        checked[name] = arr
    fig, axes = _new_figure(2, panel=(5.0, 4.0))
    ax_path, ax_gap = axes[0]
    _draw_surface(ax_path, surface)
    _draw_paths(ax_path, checked)
    steps = max((len(p) - 1 for p in checked.values()), default=1)
    _setup_gap_axes(ax_gap, steps)
    _draw_gaps(ax_gap, surface, checked)
    if checked:
        _optimizer_legend(ax_gap, checked)
    fig.tight_layout()
    return fig


def _summary_html(rows: list, lr: float) -> str:
    cells = []
    for r in rows:
        colour = OPTIMIZER_COLOURS[r["name"]] if r["name"] in OPTIMIZER_COLOURS else "black"
        swatch = f"<span style='color:{_css_colour(colour)}'>&#9632;</span> {r['name']}"
        if r["diverged"] is not None:
            what = f"<b>diverged</b> at step {r['diverged']}"
        else:
            what = f"f − f<sub>min</sub> = {r['gap']:.2e}, {r['distance']:.3f} from the minimum"
        cells.append(f"<tr><td>{swatch}</td><td>{what}</td></tr>")
    if not rows:
        cells.append("<tr><td>tick an optimizer to start the race</td></tr>")
    return (f"<p>learning rate {lr:.3g}</p><table style='font-size:90%'>" + "".join(cells)
            + "</table>")


def _css_colour(colour: str) -> str:
    from matplotlib.colors import to_hex

    return to_hex(colour)


class _RaceDrawing:
    """The race picture for the widget: one blitted contour panel per surface beside one
    blitted panel of loss gaps, stitched side by side.

    What never changes is drawn once into a background: a surface's contours, start and
    minimum; the gap panel's axes for a number of steps, and its legend, which lists all six
    optimizers (each keeps its colour, so unticked ones simply have no line). A redraw draws
    only the paths and the gap curves. ``prepare(surfaces)`` draws the backgrounds ahead.
    """

    def __init__(self):
        self._paths: dict[int, _BlitPanel] = {}
        self._gap = _BlitPanel((4.6, 4.0), dict(left=0.17, right=0.96, bottom=0.12, top=0.92))
        _setup_gap_axes(self._gap.ax, 100)
        _optimizer_legend(self._gap.ax, OPTIMIZER_NAMES)

    def _path_panel(self, surface: Surface) -> _BlitPanel:
        key = id(surface)
        panel = self._paths.get(key)
        if panel is None:
            panel = _BlitPanel((5.0, 4.0), dict(left=0.13, right=0.97, bottom=0.12,
                                                top=0.92))
            _draw_surface(panel.ax, surface)
            self._paths[key] = panel
        return panel

    def prepare(self, surfaces, steps: int):
        """Draw the backgrounds of these surfaces and of the gap panel for ``steps`` now."""
        for surface in surfaces:
            panel = self._path_panel(surface)
            panel.begin()
            panel.finish("surface")
        ax = self._gap.begin()
        _setup_gap_axes(ax, steps)
        self._gap.finish(steps)

    def render(self, surface: Surface, paths: dict, steps: int) -> np.ndarray:
        left = self._path_panel(surface)
        _draw_paths(left.begin(), paths)
        rgb_left = left.finish("surface")
        ax = self._gap.begin()
        ax.set_xlim(0, max(steps, 1))
        _draw_gaps(ax, surface, paths)
        rgb_right = self._gap.finish(steps)
        return np.concatenate([rgb_left, rgb_right], axis=1)


def make_optimizer_race_app(surface="rosenbrock", optimizers=("sgd", "momentum", "adam"),
                            lr=None, beta=0.9, steps=150, max_steps=300):
    """Optimizers racing across a 2-D surface: choose the surface, who races and the settings.

    surface: the first surface shown, a name of ``nnutils.surfaces.SURFACES``; optimizers: the
    ones ticked at first; lr: the first learning rate (None: the surface's ``lr``); beta: see
    ``race_hyper``; steps: updates per path (10..max_steps). Choosing another surface moves the
    learning-rate slider to that surface's suggested rate. Each redraw computes the paths
    (kept, so moving only the steps or β slider recomputes only what changed) and blits them
    over the surface's contours, which are drawn once per surface.
    Returns a VBox with ``controls`` {"surface", "lr", "beta", "steps", and one Checkbox per
    name of ``OPTIMIZER_NAMES``}, ``panel``, ``info`` (each optimizer's result) and
    ``state()``: a dict with the current surface, settings and paths.
    """
    import ipywidgets as widgets

    func = "make_optimizer_race_app"
    surface_obj = _surface(surface, func)
    chosen = _names(optimizers, func)
    max_steps = int(check_scalar(max_steps, "max_steps", func, low=10, integer=True))
    steps = int(check_scalar(steps, "steps", func, low=1, high=max_steps, integer=True))
    beta = float(check_scalar(beta, "beta", func, low=0, high=0.99))
    lr = surface_obj.lr if lr is None else float(check_scalar(lr, "lr", func, low=1e-4,
                                                              high=10 ** 0.5))
    wide = {"layout": widgets.Layout(width="330px"), "style": {"description_width": "90px"}}
    controls = {
        "surface": widgets.Dropdown(options=list(SURFACES), value=surface_obj.name,
                                    description="surface", **wide),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0.5, step=0.05,
                                     description="learning rate", readout_format=".2g", **wide),
        "beta": widgets.FloatSlider(value=beta, min=0.0, max=0.99, step=0.01,
                                    description="β (momentum)", **wide),
        "steps": widgets.IntSlider(value=steps, min=10, max=max_steps, step=10,
                                   description="steps", **wide),
    }
    for name in OPTIMIZER_NAMES:
        controls[name] = widgets.Checkbox(value=name in chosen, description=name, indent=False,
                                          layout=widgets.Layout(width="105px"))
    info = widgets.HTML()
    drawing = _RaceDrawing()
    drawing.prepare(SURFACES.values(), steps)
    cache: dict = {}
    current: dict = {}

    def path_of(surf, name, lr, beta, steps):
        hyper = race_hyper(name, beta)
        key = (surf.name, name, lr, tuple(sorted(hyper.items())))
        runner = cache.get(key)
        if runner is None:
            if len(cache) > 256:
                cache.clear()
            runner = cache[key] = PathRunner(name, surf, None, lr, **hyper)
        return runner.extend(steps)

    def plot(surface_name, names, lr, beta, steps):
        surf = SURFACES[surface_name]
        paths = {n: path_of(surf, n, lr, beta, steps) for n in names}
        current.update(surface=surf, names=names, lr=lr, beta=beta, steps=steps, paths=paths)
        return drawing.render(surf, paths, steps)

    panel = PlotPanel(plot, width="auto")
    hold = [False]

    def redraw(change=None):
        if hold[0]:
            return
        names = tuple(n for n in OPTIMIZER_NAMES if controls[n].value)
        panel.update(surface_name=controls["surface"].value, names=names,
                     lr=float(controls["lr"].value), beta=float(controls["beta"].value),
                     steps=int(controls["steps"].value))
        info.value = _summary_html(race_summary(current["surface"], current["paths"]),
                                   current["lr"])

    def surface_changed(change):
        hold[0] = True
        try:
            controls["lr"].value = SURFACES[change["new"]].lr
        finally:
            hold[0] = False
        redraw()

    controls["surface"].observe(surface_changed, names="value")
    for key, widget in controls.items():
        if key != "surface":
            widget.observe(redraw, names="value")
    redraw()
    rows = [widgets.HBox([controls["surface"], controls["lr"]]),
            widgets.HBox([controls["beta"], controls["steps"]]),
            widgets.HBox([controls[n] for n in OPTIMIZER_NAMES])]
    app = _app(rows, controls, panel, info)
    app.state = lambda: dict(current)
    return friendly(app)


# --------------------------------------------------------------------------------------------
# 3. The learning rate: too low, good, too high
# --------------------------------------------------------------------------------------------

@dataclass
class GDRun:
    """One run of full-batch gradient descent (``gradient_descent_run``).

    lr: the learning rate; loss: (T,) the training loss before each update, T <= steps + 1
    (shorter when the run diverged); diverged_at: the step whose loss was not finite or over
    ``explode`` times the first, or None; accuracy: training accuracy at the end (of the last
    finite weights); seconds: the time the run took.
    """

    lr: float
    loss: np.ndarray
    diverged_at: int | None
    accuracy: float
    seconds: float


def gradient_descent_run(X, y, lr, steps=50, hidden=32, seed=0, explode=10.0):
    """Full-batch gradient descent on MLP([D, hidden, K], relu) with softmax cross-entropy.

    X: (N, D) inputs; y: (N,) labels 0..K−1; lr > 0; steps >= 1 updates, each
    W ← W − lr·∂L/∂W for every parameter (``nnutils.optim.sgd_step``) with the gradient of the
    mean loss over all N samples; hidden >= 1; seed: the initial weights, so that every learning
    rate starts from the same point. The run stops early when the loss becomes NaN, infinite or
    larger than ``explode`` times the first loss (it diverged). Runs with one BLAS thread.
    Returns a ``GDRun``.
    """
    func = "gradient_descent_run"
    X, y, k = _check_xy(X, y, func)
    lr = float(check_scalar(lr, "lr", func, low=0, low_open=True))
    steps = int(check_scalar(steps, "steps", func, low=1, integer=True))
    hidden = int(check_scalar(hidden, "hidden", func, low=1, integer=True))
    explode = float(check_scalar(explode, "explode", func, low=1, low_open=True))
    start = time.perf_counter()
    model = MLP([X.shape[1], hidden, k], "relu", rng=np.random.default_rng(seed))
    losses, bad = [], None
    previous = model.params
    with one_blas_thread(), np.errstate(all="ignore"):  # divergence is detected, not warned
        for t in range(steps + 1):
            loss, grads = model.loss(X, y)
            if not math.isfinite(loss) or (losses and loss > explode * losses[0]):
                bad = t
                break
            losses.append(loss)
            if t == steps:
                break
            previous = model.params
            model.params = {name: sgd_step(w, grads[name], lr) for name, w in previous.items()}
        if bad is not None:
            model.params = previous
        accuracy = float(np.mean(model.predict(X) == y))
    return GDRun(lr, np.array(losses), bad, accuracy, time.perf_counter() - start)


def lr_verdict(run: GDRun, slow=0.5, rises=2) -> str:
    """A word on a run's learning rate: "diverged", "oscillating", "too low" or "good".

    diverged: the run stopped on an exploding loss. oscillating: the loss went up at ``rises``
    or more steps (the steps overshoot the valley; a little higher and the run diverges). too
    low: the final loss is still above ``slow`` times the first. good: none of these.
    """
    if not isinstance(run, GDRun):
        raise TypeError(f"lr_verdict: run must be a GDRun (from gradient_descent_run); got"
                        f" {type(run).__name__}")
    if run.diverged_at is not None:
        return "diverged"
    if int(np.sum(np.diff(run.loss) > 0)) >= rises:
        return "oscillating"
    if run.loss[-1] > slow * run.loss[0]:
        return "too low"
    return "good"


_VERDICT_COLOURS = {"diverged": "#d62728", "oscillating": "#ff7f0e", "too low": "#1f77b4",
                    "good": "#2ca02c"}


def plot_lr_runs(runs, highlight=None, ax=None, steps=None):
    """Loss curves of full-batch gradient descent at several learning rates (log scale).

    runs: a list of ``GDRun``; each is drawn thin and faded, coloured by ``lr_verdict``, with
    its learning rate in the legend; highlight: one more ``GDRun`` drawn thick on top (the
    slider's), or None; steps: the x range (default: the longest run). A run that diverged
    ends in a cross. Returns the Axes.
    """
    func = "plot_lr_runs"
    runs = list(runs)
    for r in runs + ([highlight] if highlight is not None else []):
        if not isinstance(r, GDRun):
            raise TypeError(f"{func}: runs must be GDRun objects (gradient_descent_run); got"
                            f" {type(r).__name__}")
    ax = _new_axes(ax)
    _draw_lr_runs(ax, runs, highlight)
    longest = max((len(r.loss) for r in runs + ([highlight] if highlight else [])), default=2)
    _setup_lr_axes(ax, steps if steps is not None else longest - 1, runs, highlight)
    return ax


def _setup_lr_axes(ax, steps, runs, highlight):
    """Log y from 1e-3 to a decade above the first loss (exploding losses are cut off)."""
    first = max((float(r.loss[0]) for r in runs + ([highlight] if highlight else [])),
                default=1.0)
    ax.set_yscale("log")
    ax.set_xlim(0, max(int(steps), 1))
    ax.set_ylim(1e-3, 10.0 ** math.ceil(math.log10(first) + 0.5))
    ax.set_title("Full-batch gradient descent on the digits", fontsize="medium")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")


def _draw_lr_runs(ax, runs, highlight, legend=True):
    for r in runs:
        colour = _VERDICT_COLOURS[lr_verdict(r)]
        ax.plot(r.loss, "-", color=colour, alpha=0.45, linewidth=1.2,
                label=f"lr = {r.lr:g} ({lr_verdict(r)})")
        if r.diverged_at is not None:
            ax.plot(len(r.loss) - 1, r.loss[-1], "x", color=colour, alpha=0.6, markersize=9)
    if highlight is not None:
        verdict = lr_verdict(highlight)
        colour = _VERDICT_COLOURS[verdict]
        ax.plot(highlight.loss, "-", color="black", linewidth=3.2, zorder=4)
        ax.plot(highlight.loss, "-", color=colour, linewidth=2.2, zorder=5,
                label=f"lr = {highlight.lr:.3g}: {verdict}")
        if highlight.diverged_at is not None:
            ax.plot(len(highlight.loss) - 1, highlight.loss[-1], "X", color=colour,
                    markeredgecolor="black", markersize=13, zorder=6)
        if not legend:          # the widget: say it in a corner instead of a new legend
            ax.text(0.98, 0.97, f"lr = {highlight.lr:.3g}: {verdict}", color=colour,
                    transform=ax.transAxes, ha="right", va="top", fontweight="bold",
                    zorder=6, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    if legend and (runs or highlight is not None):
        ax.legend(loc="lower left", fontsize="small", framealpha=0.85)


def make_learning_rate_app(X, y, lr=0.3, steps=50, hidden=32, reference=(0.01, 0.1, 1.0, 5.0),
                           seed=0):
    """A log slider for the learning rate of full-batch gradient descent on (X, y).

    X: (N, D), y: (N,) labels (a few hundred digits keep a run under 0.1 s); lr: the first
    rate (1e-3..30); steps, hidden, seed: passed to ``gradient_descent_run``; reference: rates
    whose runs are computed once and drawn faded behind the slider's run. Each slider move
    runs gradient descent at the new rate (runs are kept, so going back is instant) and redraws
    with blitting. Returns a VBox with ``controls`` {"lr"}, ``panel``, ``info`` (the verdict,
    final loss and accuracy) and ``state()``: a dict with the current ``run``.
    """
    import ipywidgets as widgets

    func = "make_learning_rate_app"
    X, y, _ = _check_xy(X, y, func)
    lr = float(check_scalar(lr, "lr", func, low=1e-3, high=30))
    steps = int(check_scalar(steps, "steps", func, low=1, integer=True))
    runs = {}

    def run_at(rate):
        key = round(math.log10(rate), 6)
        if key not in runs:
            if len(runs) > 128:
                runs.clear()
            runs[key] = gradient_descent_run(X, y, rate, steps=steps, hidden=hidden, seed=seed)
        return runs[key]

    refs = [gradient_descent_run(X, y, float(r), steps=steps, hidden=hidden, seed=seed)
            for r in reference]
    controls = {"lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=math.log10(30),
                                             step=0.05, description="learning rate",
                                             readout_format=".3g",
                                             layout=widgets.Layout(width="420px"),
                                             style={"description_width": "90px"})}
    info = widgets.HTML()
    canvas = _BlitPanel((6.0, 4.0), dict(left=0.12, right=0.97, bottom=0.12, top=0.92))
    # the faded reference runs and their legend are drawn once, into the background
    _setup_lr_axes(canvas.ax, steps, refs, None)
    _draw_lr_runs(canvas.ax, refs, None, legend=True)
    current = {}

    def plot(lr):
        run = run_at(lr)
        current["run"] = run
        _draw_lr_runs(canvas.begin(), [], run, legend=False)
        return canvas.finish("axes")

    panel = PlotPanel(plot, width="auto")

    def redraw(change=None):
        panel.update(lr=float(controls["lr"].value))
        run = current["run"]
        verdict = lr_verdict(run)
        colour = _VERDICT_COLOURS[verdict]
        if run.diverged_at is not None:
            detail = f"the loss exploded at step {run.diverged_at}"
        else:
            detail = (f"loss {run.loss[0]:.3f} → {run.loss[-1]:.3f} in {steps} steps,"
                      f" training accuracy {run.accuracy:.1%}")
        info.value = (f"<p>lr = {run.lr:.3g}: <b style='color:{colour}'>{verdict}</b>"
                      f" &nbsp;·&nbsp; {detail}</p>")

    controls["lr"].observe(redraw, names="value")
    redraw()
    app = _app([controls["lr"]], controls, panel, info)
    app.state = lambda: dict(current)
    return friendly(app)


# --------------------------------------------------------------------------------------------
# 4. Schedules, and curves of several runs
# --------------------------------------------------------------------------------------------

def plot_schedules(lr0=0.1, epochs=30, schedules=None, ax=None):
    """The learning rate of each schedule at epochs 0..epochs−1.

    lr0 > 0: the rate at epoch 0; epochs >= 1; schedules: dict label -> (name, kwargs) for
    ``nnutils.schedules.make_schedule``; default: constant, step decay (×0.5 every 5
    epochs), exponential (k = 0.1) and 1/t (k = 0.3). Returns the Axes.
    """
    func = "plot_schedules"
    lr0 = float(check_scalar(lr0, "lr0", func, low=0, low_open=True))
    epochs = int(check_scalar(epochs, "epochs", func, low=1, integer=True))
    if schedules is None:
        schedules = {"constant": ("constant", {}),
                     "step: ×0.5 every 5 epochs": ("step_decay", {"drop": 0.5, "every": 5}),
                     "exponential: k = 0.1": ("exponential_decay", {"k": 0.1}),
                     "1/t: k = 0.3": ("inverse_time_decay", {"k": 0.3})}
    ax = _new_axes(ax)
    t = np.arange(epochs)
    for i, (label, (name, kw)) in enumerate(schedules.items()):
        schedule = make_schedule(name, lr0, **kw)
        ax.plot(t, [schedule(int(e)) for e in t], ".-", color=f"C{i}", label=label,
                drawstyle="steps-post" if name == "step_decay" else "default")
    ax.set_title("Learning-rate schedules")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.legend(fontsize="small")
    return ax


def plot_curves(curves, ax=None, title="Curves", xlabel="epoch", ylabel="loss", log=False,
                start=1):
    """Several curves on one Axes: curves is a dict label -> 1-D values (or (x, y) pair).

    Values without x are drawn at x = start, start + 1, ...; log: a logarithmic y axis.
    NaN values leave gaps. Returns the Axes.
    """
    func = "plot_curves"
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError(f"{func}: curves must be a non-empty dict label -> values; got"
                        f" {type(curves).__name__}")
    ax = _new_axes(ax)
    for i, (label, values) in enumerate(curves.items()):
        if isinstance(values, tuple) and len(values) == 2:
            x = as_float_array(values[0], f"curves[{label!r}][0]", func, ndim=1, dims="(T,)")
            v = as_float_array(values[1], f"curves[{label!r}][1]", func, ndim=1, dims="(T,)")
            check_shape(v, x.shape, f"curves[{label!r}][1]", func, "(the shape of its x)")
        else:
            v = as_float_array(values, f"curves[{label!r}]", func, ndim=1, dims="(T,)")
            x = np.arange(start, start + v.size)
        ax.plot(x, v, "-", color=f"C{i}", label=str(label), linewidth=1.6)
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(curves) > 1:
        ax.legend(fontsize="small")
    return ax


# --------------------------------------------------------------------------------------------
# 5. Initialization
# --------------------------------------------------------------------------------------------

def _unit_normal(fan_in, fan_out, rng):
    """N(0, 1) weights whatever the layer's size: too large for a deep net."""
    return rng.standard_normal((fan_in, fan_out))


#: The initializations compared layer by layer: label -> function (fan_in, fan_out, rng).
INIT_CHOICES = {
    "small random, std 0.01": small_random,
    "N(0, 1)": _unit_normal,
    "Xavier uniform": xavier_uniform,
    "He normal": he_normal,
}


def hidden_unit_spread(W) -> float:
    """How different the hidden units fed by W (D, H) are: max over inputs d of
    (max_j W[d, j] − min_j W[d, j]). Zero exactly when all H columns (units) are equal."""
    W = as_float_array(W, "W", "hidden_unit_spread", ndim=2, dims="(D, H)")
    return float(np.max(np.ptp(W, axis=1))) if W.size else 0.0


def layer_activations(init, activation="tanh", depth=10, width=256, n=500, seed=0):
    """The activations of every hidden layer of a deep, untrained net at initialization.

    init: a label of ``INIT_CHOICES`` or a function (fan_in, fan_out, rng) -> weights;
    activation: "tanh", "relu", "sigmoid" or "linear"; depth >= 1 layers of ``width`` units,
    each h ← φ(h·W + 0) with W from ``init`` and zero biases; the input is n samples of
    N(0, 1)^width. seed: the input and the weights. Returns a list of ``depth`` arrays (n, width).
    """
    func = "layer_activations"
    if isinstance(init, str):
        if init not in INIT_CHOICES:
            raise ValueError(f"{func}: init must be one of {tuple(INIT_CHOICES)} or a function"
                             f" (fan_in, fan_out, rng) -> weights; got {init!r}")
        init = INIT_CHOICES[init]
    elif not callable(init):
        raise TypeError(f"{func}: init must be a name or a function; got {type(init).__name__}")
    if activation not in ACTIVATIONS or activation == "sign":
        raise ValueError(f"{func}: activation must be 'tanh', 'relu', 'sigmoid' or 'linear';"
                         f" got {activation!r}")
    depth = int(check_scalar(depth, "depth", func, low=1, integer=True))
    width = int(check_scalar(width, "width", func, low=1, integer=True))
    n = int(check_scalar(n, "n", func, low=1, integer=True))
    rng = np.random.default_rng(seed)
    forward = ACTIVATIONS[activation][0]
    h = rng.standard_normal((n, width))
    out = []
    bias = np.zeros(width)
    with one_blas_thread():
        for _ in range(depth):
            W = np.asarray(init(width, width, rng), dtype=np.float64)
            h = forward(affine_forward(h, W, bias)[0])[0]
            out.append(h)
    return out


def activation_std(activations) -> np.ndarray:
    """The standard deviation of each layer's activations: a list of arrays -> (depth,)."""
    return np.array([float(np.std(as_float_array(a, "activations", "activation_std")))
                     for a in activations])


def plot_activation_statistics(results, ax=None, title="Activations layer by layer"):
    """Standard deviation of the activations per layer, one line per initialization (log y).

    results: dict label -> list of per-layer activations (``layer_activations``).
    Returns the Axes.
    """
    func = "plot_activation_statistics"
    if not isinstance(results, Mapping) or not results:
        raise TypeError(f"{func}: results must be a non-empty dict label -> list of"
                        f" activations; got {type(results).__name__}")
    ax = _new_axes(ax)
    for i, (label, acts) in enumerate(results.items()):
        std = activation_std(acts)
        ax.plot(np.arange(1, std.size + 1), np.maximum(std, 1e-30), "o-", color=f"C{i}",
                label=label)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("std of the activations")
    ax.legend(fontsize="small")
    return ax


def plot_activation_histograms(results, layers=(1, 4, 7, 10), bins=40, value_range=None):
    """Histograms of the activations: one row per initialization, one column per layer.

    results: dict label -> list of per-layer activations; layers: 1-based layer numbers;
    value_range: (low, high) of the bins (default: the activations' own range per row).
    Returns the Figure.
    """
    func = "plot_activation_histograms"
    if not isinstance(results, Mapping) or not results:
        raise TypeError(f"{func}: results must be a non-empty dict label -> list of"
                        f" activations; got {type(results).__name__}")
    layers = [int(check_scalar(k, "layers", func, low=1, integer=True)) for k in layers]
    fig, axes = _new_figure(len(layers), panel=(2.4, 1.9), nrows=len(results))
    for row, (label, acts) in enumerate(results.items()):
        if max(layers) > len(acts):
            raise ValueError(f"{func}: results[{label!r}] has {len(acts)} layers; layer"
                             f" {max(layers)} was asked for")
        low_high = value_range
        if low_high is None:
            every = np.concatenate([acts[k - 1].ravel() for k in layers])
            low_high = (float(every.min()), float(every.max()))
            if low_high[0] == low_high[1]:
                low_high = (low_high[0] - 1, low_high[1] + 1)
        for col, k in enumerate(layers):
            ax = axes[row][col]
            values = acts[k - 1].ravel()
            counts, edges = np.histogram(values, bins=bins, range=low_high)
            ax.stairs(counts, edges, fill=True, color=f"C{row}")
            ax.set_yticks([])
            ax.set_title(f"{label}: layer {k}" if col == 0 else f"layer {k}",
                         fontsize="small")
            ax.set_xlabel(f"activation (std {np.std(values):.2g})", fontsize="small")
            if col == 0:
                ax.set_ylabel("count")
            ax.tick_params(labelsize="x-small")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# 6. Feature normalization: the fish
# --------------------------------------------------------------------------------------------

def make_fish(n, rng):
    """The Western deck's fish: length in metres, weight in grams, and a price to predict.

    n >= 2 fish; rng: a numpy Generator. Lengths are uniform in 0.3..0.7 m; the weight grows
    like length^1.5 (3000 g at 0.5 m) times a random build factor (lognormal, σ = 0.35), so
    that length and weight are correlated (about 0.6) but far from redundant;
    the price in dollars is 8·length + 0.002·weight plus N(0, 0.5²) noise: both features matter
    (a 0.5 m, 3000 g fish is worth 4 $ for its length and 6 $ for its weight).
    Returns (X (n, 2) float64 [length_m, weight_g], price (n,)).
    """
    func = "make_fish"
    n = int(check_scalar(n, "n", func, low=2, integer=True))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator, e.g."
                        f" numpy.random.default_rng(0); got {type(rng).__name__}")
    length = rng.uniform(0.3, 0.7, n)
    weight = 3000.0 * (length / 0.5) ** 1.5 * rng.lognormal(0.0, 0.35, n)
    price = 8.0 * length + 0.002 * weight + rng.normal(0.0, 0.5, n)
    return np.stack([length, weight], axis=1), price


def standardize(X_train, X=None):
    """Rescale features to mean 0 and standard deviation 1 with the TRAINING statistics.

    X_train: (N, D); X: (M, D) other data to transform the same way (default X_train).
    Returns (Z, mean (D,), std (D,)) with Z = (X − mean) / std; a constant feature keeps std 1.
    Test data must be transformed with the training mean and std, never its own.
    """
    func = "standardize"
    X_train = as_float_array(X_train, "X_train", func, ndim=2, dims="(N, D)")
    check_finite(X_train, "X_train", func)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    if X is None:
        X = X_train
    else:
        X = as_float_array(X, "X", func, ndim=2, dims="(M, D)")
        check_shape(X, (None, X_train.shape[1]), "X", func, "(the features of X_train)")
    return (X - mean) / std, mean, std


# --------------------------------------------------------------------------------------------
# 7. Hyperparameter search: grid against random, and coarse to fine
# --------------------------------------------------------------------------------------------

#: The synthetic search's box: log10 of the learning rate in [−5, 0] (important) and a second
#: hyperparameter in [0, 1] that hardly matters.
SEARCH_BOX = ((-5.0, 0.0), (0.0, 1.0))


def _box(box, func: str) -> np.ndarray:
    b = as_float_array(box, "box", func, ndim=2, dims="((low1, high1), (low2, high2))")
    check_shape(b, (2, 2), "box", func, "= ((low1, high1), (low2, high2))")
    if not (np.all(np.isfinite(b)) and np.all(b[:, 0] < b[:, 1])):
        raise ValueError(f"{func}: box must hold finite (low, high) pairs with low < high; got"
                         f" {b.tolist()}")
    return b


def search_objective(p, best=-2.3, width=0.45):
    """A stand-in for a validation error: p (..., 2) -> (...), lower is better.

    p[..., 0] is important (think log10 of the learning rate): the error is a valley of
    ``width`` around ``best``, from 0.1 at the bottom to 0.9 far away. p[..., 1] hardly
    matters: it adds at most 0.02.
        error = 0.9 − 0.8·exp(−((p0 − best) / width)²) + 0.08·(p1 − 0.5)²
    """
    func = "search_objective"
    p = as_float_array(p, "p", func)
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"{func}: p must have shape (..., 2): (important, unimportant); got"
                         f" {p.shape}")
    best = float(check_scalar(best, "best", func))
    width = float(check_scalar(width, "width", func, low=0, low_open=True))
    return _objective(p[..., 0], p[..., 1], best, width)


def _objective(important, other, best, width=0.45):
    """``search_objective`` without checks; ``best`` may be an array broadcast with the rest."""
    valley = np.exp(-(((important - best) / width) ** 2))
    return 0.9 - 0.8 * valley + 0.08 * (other - 0.5) ** 2


def grid_points(budget, box=SEARCH_BOX):
    """A k × k grid with k = ⌊√budget⌋: (k², 2) points, the centres of k × k equal cells.

    Each hyperparameter gets only k distinct values, however many points are tried.
    """
    func = "grid_points"
    budget = int(check_scalar(budget, "budget", func, low=1, integer=True))
    b = _box(box, func)
    k = math.isqrt(budget)
    centres = (np.arange(k) + 0.5) / k
    axes = [lo + (hi - lo) * centres for lo, hi in b]
    A, B = np.meshgrid(*axes, indexing="ij")
    return np.stack([A.ravel(), B.ravel()], axis=1)


def random_points(budget, box=SEARCH_BOX, rng=None):
    """``budget`` points drawn uniformly in the box: (budget, 2). Every point tries new values
    of both hyperparameters. rng: a numpy Generator (default ``default_rng(0)``)."""
    func = "random_points"
    budget = int(check_scalar(budget, "budget", func, low=1, integer=True))
    b = _box(box, func)
    rng = np.random.default_rng(0) if rng is None else rng
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator; got"
                        f" {type(rng).__name__}")
    return b[:, 0] + (b[:, 1] - b[:, 0]) * rng.random((budget, 2))


def search_regrets(budgets=(4, 9, 16, 25, 36), repeats=200, seed=0, box=SEARCH_BOX):
    """Mean regret of grid and random search over many objectives, for each budget.

    For each of ``repeats`` objectives ``search_objective`` with its ``best`` drawn uniformly
    in the important range, both searches spend the same budget (square budgets give the grid
    all of it); the regret is the best error found minus the objective's true minimum (0.1).
    Returns dict {"budgets": (B,), "grid": (B,), "random": (B,), "repeats": repeats} with the
    mean regrets.
    """
    func = "search_regrets"
    budgets = [int(check_scalar(b, "budgets", func, low=1, integer=True)) for b in budgets]
    repeats = int(check_scalar(repeats, "repeats", func, low=1, integer=True))
    b = _box(box, func)
    rng = np.random.default_rng(seed)
    bests = rng.uniform(b[0, 0], b[0, 1], repeats)
    truth = 0.1                                  # the minimum, at (best, 0.5)
    grid_regret, random_regret = [], []
    for budget in budgets:
        grid = grid_points(budget, b)                                   # (G, 2)
        found = _objective(grid[None, :, 0], grid[None, :, 1], bests[:, None]).min(axis=1)
        grid_regret.append(float(np.mean(found - truth)))
        pts = b[:, 0] + (b[:, 1] - b[:, 0]) * rng.random((repeats, budget, 2))
        found = _objective(pts[..., 0], pts[..., 1], bests[:, None]).min(axis=1)
        random_regret.append(float(np.mean(found - truth)))
    return {"budgets": np.array(budgets), "grid": np.array(grid_regret),
            "random": np.array(random_regret), "repeats": repeats}


def plot_grid_vs_random(budget=9, best=-2.3, seed=0, box=SEARCH_BOX):
    """Grid and random search with the same budget on ``search_objective``, side by side.

    Each panel shows the objective as a heat map, the points tried, the best of them (ringed),
    and along the top edge the distinct values of the important hyperparameter that were
    tried (ticks). Returns the Figure.
    """
    func = "plot_grid_vs_random"
    b = _box(box, func)
    points = {"grid search": grid_points(budget, b),
              "random search": random_points(budget, b, np.random.default_rng(seed))}
    fig, axes = _new_figure(2, panel=(5.0, 4.0))
    xs = np.linspace(b[0, 0], b[0, 1], 200)
    ys = np.linspace(b[1, 0], b[1, 1], 100)
    A, B = np.meshgrid(xs, ys)
    Z = search_objective(np.stack([A, B], axis=-1), best)
    for ax, (name, pts) in zip(axes[0], points.items(), strict=True):
        ax.imshow(Z, origin="lower", extent=(b[0, 0], b[0, 1], b[1, 0], b[1, 1]),
                  aspect="auto", cmap="viridis_r", vmin=0.1, vmax=0.9)
        values = search_objective(pts, best)
        i = int(np.argmin(values))
        ax.scatter(pts[:, 0], pts[:, 1], color="white", edgecolors="black", s=45, zorder=3,
                   label=f"{len(pts)} trials")
        ax.scatter(pts[i, 0], pts[i, 1], facecolors="none", edgecolors="red", s=220,
                   linewidths=2, zorder=4, label=f"best: error {values[i]:.3f}")
        distinct = np.unique(np.round(pts[:, 0], 9))
        for v in distinct:
            ax.axvline(v, ymin=0.94, ymax=1.0, color="red", linewidth=2)
        ax.set_title(f"{name}: {len(distinct)} distinct learning rates", fontsize="medium")
        ax.set_xlabel("log10 learning rate (important)")
        ax.set_ylabel("other hyperparameter (unimportant)")
        ax.legend(loc="lower left", fontsize="small", framealpha=0.9)
    fig.tight_layout()
    return fig


def plot_search_regrets(regrets, ax=None):
    """Mean regret against budget for grid and random search (``search_regrets``), log y."""
    func = "plot_search_regrets"
    if not isinstance(regrets, Mapping) or not {"budgets", "grid", "random"} <= set(regrets):
        raise TypeError(f"{func}: regrets must be the dict of search_regrets, with keys"
                        f" budgets, grid and random")
    ax = _new_axes(ax)
    for i, name in enumerate(("grid", "random")):
        ax.plot(regrets["budgets"], np.maximum(regrets[name], 1e-6), "o-", color=f"C{i}",
                label=f"{name} search")
    ax.set_yscale("log")
    ax.set_title(f"Same budget, mean over {regrets.get('repeats', 'many')} objectives")
    ax.set_xlabel("budget (trials)")
    ax.set_ylabel("regret: best error found − true minimum")
    ax.legend(fontsize="small")
    return ax


def make_digits_objective(X_train, y_train, X_val, y_val, epochs=4, hidden=32, batch_size=32,
                          seed=0):
    """A real objective for hyperparameter search: p = (log10 lr, log10 reg) -> val accuracy.

    Each call trains MLP([D, hidden, K], relu) with plain SGD, mini-batches of ``batch_size``,
    for ``epochs`` epochs, learning rate 10^p[0] and L2 strength 10^p[1], from the same
    initial weights (``seed``), and returns the validation accuracy (higher is better). A run
    that diverges keeps its last good weights (``nnutils.train``), so it scores what those
    weights are worth; its warning is silenced.
    """
    func = "make_digits_objective"
    X_train, y_train, k = _check_xy(X_train, y_train, func)
    X_val, y_val, _ = _check_xy(X_val, y_val, func)
    check_shape(X_val, (None, X_train.shape[1]), "X_val", func, "(the features of X_train)")

    def objective(p):
        p = as_float_array(p, "p", "objective", ndim=1, dims="(2,)")
        model = MLP([X_train.shape[1], hidden, k], "relu", rng=np.random.default_rng(seed))
        with one_blas_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore", TrainingDivergedWarning)
            train(model, X_train, y_train, epochs=epochs, batch_size=batch_size,
                  optimizer="sgd", lr=10.0 ** float(p[0]), reg=10.0 ** float(p[1]),
                  rng=np.random.default_rng(seed), progress=False)
        return float(model.accuracy(X_val, y_val))

    return objective


@dataclass
class SearchTrials:
    """The trials of ``coarse_to_fine``: points (n, 2), scores (n,), stage (n,) (0 coarse,
    1 fine), and the two boxes ((2, 2) each) the stages drew from."""

    points: np.ndarray
    scores: np.ndarray
    stage: np.ndarray
    coarse_box: np.ndarray
    fine_box: np.ndarray

    @property
    def best(self) -> tuple[np.ndarray, float]:
        """(point, score) of the best trial."""
        i = int(np.argmax(self.scores))
        return self.points[i], float(self.scores[i])


def coarse_to_fine(objective: Callable, box, n_coarse=10, n_fine=10, shrink=0.25, rng=None,
                   fine_objective=None):
    """Two-stage random search that maximizes ``objective``.

    objective: p (2,) -> score (higher is better); box: ((low1, high1), (low2, high2)), e.g.
    in log10 units; n_coarse, n_fine >= 1 trials per stage; shrink in (0, 1]: the fine box is
    the coarse box scaled by ``shrink`` and centred on the best coarse trial (moved inside the
    coarse box where needed). rng: a numpy Generator (default ``default_rng(0)``).
    fine_objective: the score of the fine stage, e.g. the same model trained for more epochs
    (default: ``objective``).
    Returns ``SearchTrials``.
    """
    func = "coarse_to_fine"
    fine_objective = objective if fine_objective is None else fine_objective
    if not callable(objective) or not callable(fine_objective):
        raise TypeError(f"{func}: objective and fine_objective must be functions p -> score;"
                        f" got {type(objective).__name__} and"
                        f" {type(fine_objective).__name__}")
    b = _box(box, func)
    n_coarse = int(check_scalar(n_coarse, "n_coarse", func, low=1, integer=True))
    n_fine = int(check_scalar(n_fine, "n_fine", func, low=1, integer=True))
    shrink = float(check_scalar(shrink, "shrink", func, low=0, high=1, low_open=True))
    rng = np.random.default_rng(0) if rng is None else rng
    coarse = random_points(n_coarse, b, rng)
    coarse_scores = np.array([float(objective(p)) for p in coarse])
    centre = coarse[int(np.argmax(coarse_scores))]
    half = (b[:, 1] - b[:, 0]) * shrink / 2
    low = np.clip(centre - half, b[:, 0], b[:, 1] - 2 * half)
    fine_box = np.stack([low, low + 2 * half], axis=1)
    fine = random_points(n_fine, fine_box, rng)
    fine_scores = np.array([float(fine_objective(p)) for p in fine])
    return SearchTrials(np.concatenate([coarse, fine]),
                        np.concatenate([coarse_scores, fine_scores]),
                        np.repeat([0, 1], [n_coarse, n_fine]), b, fine_box)


def plot_search_trials(trials: SearchTrials, ax=None, labels=("log10 learning rate",
                                                                "log10 L2 strength")):
    """The trials of ``coarse_to_fine`` coloured by score, the fine box drawn, the best ringed.

    Coarse trials are circles, fine trials triangles. The colour scale runs from the median
    score to the best, so that the good trials can be told apart (worse ones share the darkest
    colour). Returns the Axes.
    """
    from matplotlib.patches import Rectangle

    if not isinstance(trials, SearchTrials):
        raise TypeError(f"plot_search_trials: trials must be SearchTrials (coarse_to_fine);"
                        f" got {type(trials).__name__}")
    ax = _new_axes(ax, (5.6, 4.2))
    lo, hi = float(np.median(trials.scores)), float(trials.scores.max())
    for stage, marker, name in ((0, "o", "coarse"), (1, "^", "fine")):
        mask = trials.stage == stage
        sc = ax.scatter(trials.points[mask, 0], trials.points[mask, 1], c=trials.scores[mask],
                        cmap="viridis", vmin=lo, vmax=max(hi, lo + 1e-9), marker=marker,
                        s=60, edgecolors="black", label=f"{name} trials", zorder=3)
    fb = trials.fine_box
    ax.add_patch(Rectangle((fb[0, 0], fb[1, 0]), fb[0, 1] - fb[0, 0], fb[1, 1] - fb[1, 0],
                           fill=False, linestyle="--", edgecolor="black", label="fine box"))
    point, score = trials.best
    ax.scatter(*point, facecolors="none", edgecolors="red", s=260, linewidths=2, zorder=4,
               label=f"best: {score:.3f}")
    cb = ax.figure.colorbar(sc, ax=ax)
    cb.set_label("validation accuracy")
    cbox = trials.coarse_box
    ax.set_xlim(*cbox[0])
    ax.set_ylim(*cbox[1])
    ax.set_title("Coarse-to-fine random search")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.legend(loc="lower left", fontsize="small", framealpha=0.9)
    return ax
