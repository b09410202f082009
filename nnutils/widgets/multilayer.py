"""Figures and widgets of lecture 2: XOR and multilayer networks.

The lecture's sections, and what this module gives each of them:

1. **XOR.** ``plot_xor_points`` (the four points no line separates) and
   ``plot_xor_feature_space`` (a 2-2-1 sign network's hidden layer as a new plane, in which
   the four points land on three spots that one line separates).
2. **The Western deck's sign networks.** ``SMALL_NETWORK`` and ``VECTOR_NETWORK`` in the deck's
   column-vector notation, ``sign_network_trace`` (every layer's pre-activation and output),
   ``hidden_pattern_outputs`` (the output for every possible first hidden layer, which proves
   that both networks say +1 everywhere), ``plot_sign_network_regions`` and ``draw_network``.
3. **Activation functions.** ``plot_activation``, ``plot_activations`` and the dropdown
   ``make_activation_app``.
4. **Decision boundaries as hidden units grow.** ``train_boundary_models`` trains one tanh MLP
   per width once; ``plot_hidden_units_boundary`` draws one of them; ``make_hidden_units_app``
   puts a slider (and a data-set dropdown) on top, so that moving it only draws.
5. **Universal approximation in 1-D.** ``tanh_feature_bank``, ``fit_output_layer`` and
   ``approximate`` build a one-hidden-layer tanh network whose hidden weights are random and
   whose output layer is solved by least squares; ``plot_approximation`` and
   ``make_approximation_app`` show the fit as the number of hidden units grows.
6. **Softmax over several classes.** ``plot_class_probabilities`` colours the plane by the
   mixture of the class colours weighted by their probabilities.

Conventions. The deck writes a layer as h = φ(W h_prev + b) with column vectors and W of shape
(out, in); the library's code writes a batch as H = φ(X W + b) with one row per sample and W of
shape (in, out). The sign-network functions here take the deck's (W, b) pairs, as
``nnutils.perceptron.sign_network_forward`` does; ``plot_xor_feature_space`` takes the
row-vector weights of ``nnutils.perceptron.xor_network``.

Plot functions that draw one panel take ``ax=None`` and return the Axes (like
``nnutils.plotting``); those that draw several panels return the Figure. Every ``make_*_app``
returns an ipywidgets VBox with ``app.controls`` (a dict of the control widgets, whose
``.value`` a test may set), ``app.panel`` (the ``PlotPanel`` that is redrawn) and ``app.info``
(an HTML widget with the numbers of the current drawing). matplotlib and ipywidgets are imported
inside the functions.
"""

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._checks import as_float_array, check_finite, check_scalar, check_shape
from ..data import CLASSIFICATION_SETS, DATASETS
from ..layers import ACTIVATIONS, activation_derivative
from ..losses import softmax
from ..perceptron import XOR_X, XOR_Y, sign
from ..plotting import BLUE, ORANGE, plot_decision_boundary
from . import PlotPanel, friendly

__all__ = [
    "ACTIVATION_NOTES", "ACTIVATION_ORDER", "APPROX_INTERVAL", "APPROX_TARGETS",
    "BOUNDARY_RECIPES", "MAX_APPROX_UNITS", "SMALL_NETWORK", "VECTOR_NETWORK",
    "ApproximationFit", "BoundaryModels", "approximate", "draw_network", "fit_output_layer",
    "hidden_pattern_outputs", "make_activation_app", "make_approximation_app",
    "make_hidden_units_app", "plot_activation", "plot_activations", "plot_approximation",
    "plot_class_probabilities", "plot_hidden_units_boundary", "plot_sign_network_regions",
    "plot_xor_feature_space", "plot_xor_points", "sign_network_trace", "tanh_feature_bank",
    "tanh_network_1d", "train_boundary_models",
]


# --------------------------------------------------------------------------------------------
# Small shared helpers
# --------------------------------------------------------------------------------------------

def _new_figure(ncols: int, panel=(5.0, 4.0)):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(panel[0] * ncols, panel[1]), squeeze=False)
    return fig, list(axes[0])


def _new_axes(ax, figsize=(5.0, 4.0)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def _draw_line(ax, w, b, **style):
    """Draw the line w·x + b = 0 of the plane (w: (2,)); nothing when w = 0 (no line)."""
    w = np.asarray(w, dtype=np.float64)
    norm2 = float(w @ w)
    if norm2 == 0:
        return None
    p0 = -b * w / norm2                        # the point of the line closest to the origin
    direction = np.array([-w[1], w[0]]) / np.sqrt(norm2)
    return ax.axline(tuple(p0), tuple(p0 + direction), **style)


def _check_layers(layers, func: str, n_inputs: int | None = None):
    """The deck's layers [(W (out, in), b (out,)), ...] as float arrays whose sizes chain."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__") or len(layers) == 0:
        raise ValueError(f"{func}: layers must be a non-empty list of (W, b) pairs, W (out, in)"
                         f" and b (out,); got {layers!r}")
    checked = []
    size = n_inputs
    for depth, pair in enumerate(layers, start=1):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"{func}: layers[{depth - 1}] must be a pair (W, b) with W (out,"
                             f" in) and b (out,); got {type(pair).__name__}")
        W = as_float_array(pair[0], f"W{depth}", func, ndim=2, dims="(out, in)")
        b = as_float_array(pair[1], f"b{depth}", func, ndim=1, dims="(out,)")
        if size is not None and W.shape[1] != size:
            check_shape(W, (None, size), f"W{depth}", func,
                        f"= (out, in) with in = {size}, the size of the layer before")
        check_shape(b, (W.shape[0],), f"b{depth}", func, f"= (out,) to match W{depth} of shape"
                    f" {W.shape}")
        check_finite(W, f"W{depth}", func)
        check_finite(b, f"b{depth}", func)
        checked.append((W, b))
        size = W.shape[0]
    return checked


def _check_points(X, func: str, name: str = "X") -> np.ndarray:
    X = as_float_array(X, name, func, ndim=2, dims="(N, 2)")
    check_shape(X, (None, 2), name, func, "(one 2-D point per row)")
    check_finite(X, name, func)
    return X


def _bounds(bounds, func: str) -> tuple[float, float]:
    b = np.asarray(bounds, dtype=np.float64).ravel()
    if b.size != 2 or not np.all(np.isfinite(b)) or b[0] >= b[1]:
        raise ValueError(f"{func}: bounds must be (low, high) with low < high; got {bounds!r}")
    return float(b[0]), float(b[1])


def _grid(low: float, high: float, resolution: int) -> np.ndarray:
    """(resolution², 2) points of a square grid, rows along x2 (as imshow with origin lower)."""
    xs = np.linspace(low, high, resolution)
    XX, YY = np.meshgrid(xs, xs)
    return np.stack([XX.ravel(), YY.ravel()], axis=1)


def _scatter_pm1(ax, X, y, labels=("class −1", "class +1"), size=60):
    for value, colour, label in ((-1, ORANGE, labels[0]), (1, BLUE, labels[1])):
        mask = y == value
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], color=colour, s=size, edgecolors="black",
                       linewidths=0.8, label=label, zorder=3)


# The CSS width of every plot: "auto" shows the PNG at its own size.
_WIDTH = "auto"


class _Canvas:
    """One matplotlib Figure that a widget redraws again and again, fast.

    A full matplotlib draw spends most of its time on the axes' ticks and labels, which do not
    change when a slider moves. So ``render()`` draws the axes once into a cached background
    (everything except what the plot function drew), and on later redraws with the same axis
    limits and labels it pastes that background and draws only the plot's own artists (images,
    lines, collections, texts, legends, titles) on top: matplotlib's blitting. Backgrounds are
    kept per set of limits and labels, so a dropdown that switches between a few of them pays
    for the full draw only the first time. ``clear()`` removes the plot's artists before the plot
    function draws again. The figure is not made by
    pyplot, so it never shows up on its own in a notebook and is never leaked. ``render()``
    returns the pixels as an (H, W, 3) uint8 array, which ``PlotPanel`` turns into a PNG.
    """

    def __init__(self, ncols=1, panel=(5.0, 4.0), margins=None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(panel[0] * ncols, panel[1]), dpi=80)
        FigureCanvasAgg(self.figure)
        self.axes = [self.figure.add_subplot(1, ncols, k + 1) for k in range(ncols)]
        self.figure.subplots_adjust(**(margins or {}))
        self._backgrounds = {}

    @staticmethod
    def _drawn(ax) -> list:
        artists = [*ax.images, *ax.collections, *ax.lines, *ax.patches, *ax.texts]
        if ax.legend_ is not None:
            artists.append(ax.legend_)
        return artists

    def clear(self):
        for ax in self.axes:
            for artist in self._drawn(ax):
                artist.remove()
            ax.relim()
            ax.set_autoscale_on(True)
        return self.axes

    def render(self) -> np.ndarray:
        canvas = self.figure.canvas
        layers = []
        for ax in self.axes:
            artists = sorted(self._drawn(ax), key=lambda a: a.get_zorder()) + [ax.title]
            for artist in artists:
                artist.set_animated(True)
            layers.append((ax, artists))
        key = tuple((ax.get_xlim(), ax.get_ylim(), ax.get_xlabel(), ax.get_ylabel(),
                     ax.get_xscale(), ax.get_yscale()) for ax in self.axes)
        if key in self._backgrounds:
            canvas.restore_region(self._backgrounds[key])
        else:
            canvas.draw()                       # animated artists are left out: the background
            if len(self._backgrounds) >= 32:
                self._backgrounds.clear()
            self._backgrounds[key] = canvas.copy_from_bbox(self.figure.bbox)
        for ax, artists in layers:
            for artist in artists:
                ax.draw_artist(artist)
        return np.array(canvas.buffer_rgba())[:, :, :3]         # opaque: RGB is enough


def _app(controls: dict, panel: PlotPanel, info):
    import ipywidgets as widgets

    app = widgets.VBox([widgets.HBox(list(controls.values())), panel.widget, info])
    app.controls = controls
    app.panel = panel
    app.info = info
    return friendly(app)


# --------------------------------------------------------------------------------------------
# 1. XOR
# --------------------------------------------------------------------------------------------

def plot_xor_points(ax=None):
    """The four XOR points: (0, 1) and (1, 0) are +1 (blue), (0, 0) and (1, 1) are −1 (orange).

    ax: an Axes to draw into, or None for a new (5, 4) figure. Returns the Axes.
    """
    ax = _new_axes(ax)
    _scatter_pm1(ax, XOR_X, XOR_Y, labels=("XOR = 0 (label −1)", "XOR = 1 (label +1)"),
                 size=120)
    for (x1, x2) in XOR_X:
        ax.annotate(f"({x1:g}, {x2:g})", (x1, x2), textcoords="offset points", xytext=(8, 8))
    ax.set_xlim(-0.5, 1.6)
    ax.set_ylim(-0.5, 1.6)
    ax.set_title("XOR: which line puts both blue points on one side?")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="center right", fontsize="small")
    return ax


def plot_xor_feature_space(W1, b1, W2, b2):
    """A 2-2-1 sign network on XOR, before and after its hidden layer (row-vector weights).

    W1: (2, 2), b1: (2,), W2: (2, 1), b2: (1,), as returned by
    ``nnutils.perceptron.xor_network``: h = sign(x·W1 + b1), out = sign(h·W2 + b2).
    Left panel: the input plane with the four points, the network's output as a faint
    background and the line x·W1[:, j] + b1[j] = 0 of each hidden unit j. Right panel: the
    hidden plane (h1, h2) where the four points land (each spot annotated with the inputs that
    landed there) and the output unit's line h·W2 + b2 = 0. Returns the Figure.
    """
    func = "plot_xor_feature_space"
    W1 = as_float_array(W1, "W1", func, ndim=2, dims="(2, 2)")
    check_shape(W1, (2, 2), "W1", func, "(two inputs, two hidden units)")
    b1 = as_float_array(b1, "b1", func, ndim=1, dims="(2,)")
    check_shape(b1, (2,), "b1", func)
    W2 = as_float_array(W2, "W2", func, ndim=2, dims="(2, 1)")
    check_shape(W2, (2, 1), "W2", func, "(two hidden units, one output)")
    b2 = as_float_array(b2, "b2", func, ndim=1, dims="(1,)")
    check_shape(b2, (1,), "b2", func)
    fig, (ax_in, ax_h) = _new_figure(2)

    grid = _grid(-0.5, 1.5, 81)
    out = sign(sign(grid @ W1 + b1) @ W2 + b2)[:, 0]
    _background(ax_in, out.reshape(81, 81), (-0.5, 1.5, -0.5, 1.5))
    _scatter_pm1(ax_in, XOR_X, XOR_Y, labels=("label −1", "label +1"), size=90)
    for j, style in enumerate(("--", ":")):
        _draw_line(ax_in, W1[:, j], b1[j], color="black", linestyle=style,
                   label=f"hidden unit {j + 1}: $h_{j + 1}$ switches")
    ax_in.set_xlim(-0.5, 1.5)
    ax_in.set_ylim(-0.5, 1.5)
    ax_in.set_title("Input space: two lines, three regions")
    ax_in.set_xlabel("$x_1$")
    ax_in.set_ylabel("$x_2$")
    ax_in.legend(loc="upper right", fontsize="small", framealpha=0.9)

    H = sign(XOR_X @ W1 + b1)
    hgrid = _grid(-1.6, 1.6, 81)
    _background(ax_h, sign(hgrid @ W2 + b2)[:, 0].reshape(81, 81), (-1.6, 1.6, -1.6, 1.6))
    _scatter_pm1(ax_h, H, XOR_Y, labels=("label −1", "label +1"), size=140)
    for spot in np.unique(H, axis=0):
        names = [f"({x1:g},{x2:g})" for (x1, x2), h in zip(XOR_X, H) if np.all(h == spot)]
        ax_h.annotate(" and ".join(names), spot, textcoords="offset points", xytext=(-40, 12),
                      fontsize="small")
    _draw_line(ax_h, W2[:, 0], b2[0], color="black", label="output unit's line")
    ax_h.set_xlim(-1.6, 1.6)
    ax_h.set_ylim(-1.6, 1.6)
    ax_h.set_title("Hidden space: one line separates")
    ax_h.set_xlabel("$h_1$")
    ax_h.set_ylabel("$h_2$")
    ax_h.legend(loc="upper left", fontsize="small", framealpha=0.9)
    fig.tight_layout()
    return fig


def _background(ax, values, extent, alpha=0.25):
    """A faint orange (−1) / blue (+1) image of a ±1 map, origin lower."""
    from matplotlib.colors import ListedColormap

    ax.imshow(values, origin="lower", extent=extent, cmap=ListedColormap([ORANGE, BLUE]),
              vmin=-1, vmax=1, alpha=alpha, aspect="auto", interpolation="nearest")


# --------------------------------------------------------------------------------------------
# 2. The Western deck's sign networks (column-vector notation, W of shape (out, in))
# --------------------------------------------------------------------------------------------

#: f(x) = sign(4·sign(3x1 + 5x2) + 2·sign(6 + 3x2) + 7): two hidden units, one output.
SMALL_NETWORK = [
    (np.array([[3.0, 5.0], [0.0, 3.0]]), np.array([0.0, 6.0])),
    (np.array([[4.0, 2.0]]), np.array([7.0])),
]

#: The deck's vector-notation example: 2 inputs, hidden layers of 3 and 2 units, 1 output.
VECTOR_NETWORK = [
    (np.array([[3.0, 4.0], [1.0, 2.0], [9.0, 7.0]]), np.array([5.0, 8.0, 6.0])),
    (np.array([[3.0, 4.0, 1.0], [5.0, 2.0, 7.0]]), np.array([9.0, 1.0])),
    (np.array([[5.0, 3.0]]), np.array([6.0])),
]


def sign_network_trace(x, layers):
    """Feed one input through a sign network and keep every layer's numbers.

    x: (D,) one input; layers: [(W (out, in), b (out,)), ...] in the deck's notation.
    For every layer l: a^l = W^l h^{l−1} + b^l (with h^0 = x) and h^l = sign(a^l), sign(0) = +1.
    Returns a list with one pair (a^l, h^l) of (out,) arrays per layer; h of the last layer is
    the network's output f(x).
    """
    func = "sign_network_trace"
    h = as_float_array(x, "x", func, ndim=1, dims="(D,)")
    check_finite(h, "x", func)
    trace = []
    for W, b in _check_layers(layers, func, n_inputs=h.shape[0]):
        a = W @ h + b
        h = sign(a)
        trace.append((a, h))
    return trace


def hidden_pattern_outputs(layers):
    """The network's output for every possible output of its first layer.

    layers: [(W (out, in), b (out,)), ...], at least two layers, in the deck's notation.
    A first layer of H sign units can only output one of the 2^H vectors of ±1, whatever x is.
    Feeding each of them through the remaining layers therefore lists every output the network
    can ever give: if all are +1, the network says +1 for every input in the plane.
    Returns (patterns (2^H, H), outputs (2^H, K)), patterns in the order of
    itertools.product((−1, +1), repeat=H).
    """
    func = "hidden_pattern_outputs"
    layers = _check_layers(layers, func)
    if len(layers) < 2:
        raise ValueError(f"{func}: layers must hold at least two layers (a hidden layer and an"
                         f" output layer); got {len(layers)}")
    H = layers[0][0].shape[0]
    if H > 16:
        raise ValueError(f"{func}: the first layer must have at most 16 units (2^16 patterns);"
                         f" got {H}")
    patterns = np.array(list(itertools.product((-1.0, 1.0), repeat=H)))
    h = patterns
    for W, b in layers[1:]:
        h = sign(h @ W.T + b)
    return patterns, h


def _pattern_name(pattern) -> str:
    return "(" + ", ".join("+" if v > 0 else "−" for v in pattern) + ")"


def _line_equation(w, b) -> str:
    """'3$x_1$ − 4$x_2$ + 5 = 0' for w = (3, −4), b = 5 (terms with weight 0 left out)."""
    terms = [(w[0], "$x_1$"), (w[1], "$x_2$"), (b, "")]
    text = ""
    for value, name in terms:
        if value == 0:
            continue
        if not text:
            text = f"{'−' if value < 0 else ''}{abs(value):g}{name}"
        else:
            text += f" {'−' if value < 0 else '+'} {abs(value):g}{name}"
    return (text or "0") + " = 0"


def plot_sign_network_regions(layers, bounds=(-10, 10), resolution=200):
    """The plane carved by a sign network's first layer, and the network's output over it.

    layers: [(W (out, in), b (out,)), ...] with 2 inputs, in the deck's notation; the first
    output unit is shown. bounds: (low, high) for both axes; resolution: grid points per axis.
    Left panel: each region where the first hidden layer outputs the same ±1 pattern gets its
    own colour (legend: the pattern), with the line W1[j]·x + b1[j] = 0 of every first-layer
    unit. Right panel: the output, orange where −1 and blue where +1; the title says when it is
    the same everywhere in the window. Returns the Figure.
    """
    func = "plot_sign_network_regions"
    layers = _check_layers(layers, func, n_inputs=2)
    low, high = _bounds(bounds, func)
    resolution = int(check_scalar(resolution, "resolution", func, low=2, high=2000,
                                  integer=True))
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    grid = _grid(low, high, resolution)
    first = sign(grid @ layers[0][0].T + layers[0][1])
    out = first
    for W, b in layers[1:]:
        out = sign(out @ W.T + b)
    out = out[:, 0]
    codes = ((first > 0) * (2 ** np.arange(first.shape[1]))).sum(axis=1)
    present, index = np.unique(codes, return_inverse=True)
    palette = [f"C{k % 10}" for k in range(len(present))]
    extent = (low, high, low, high)

    fig, (ax_h, ax_out) = _new_figure(2, panel=(5.5, 4.5))
    ax_h.imshow(index.reshape(resolution, resolution), origin="lower", extent=extent,
                cmap=ListedColormap(palette), vmin=-0.5, vmax=len(present) - 0.5, alpha=0.45,
                aspect="auto", interpolation="nearest")
    for code in present:         # regions of lines are convex: the centre lies inside
        inside = codes == code
        pattern = first[np.argmax(inside)]
        cx, cy = grid[inside].mean(axis=0)
        ax_h.text(cx, cy, _pattern_name(pattern), ha="center", va="center", fontsize=8,
                  bbox=dict(boxstyle="round,pad=0.15", facecolor="white", alpha=0.7,
                            edgecolor="none"))
    W1, b1 = layers[0]
    for j in range(W1.shape[0]):
        _draw_line(ax_h, W1[j], b1[j], color="black", linewidth=1.5,
                   linestyle=("-", "--", ":", "-.")[j % 4],
                   label=f"unit {j + 1}: {_line_equation(W1[j], b1[j])}")
    ax_h.set_xlim(low, high)
    ax_h.set_ylim(low, high)
    ax_h.set_title(f"First layer: {len(present)} regions, each with its pattern $h^1$")
    ax_h.set_xlabel("$x_1$")
    ax_h.set_ylabel("$x_2$")
    ax_h.legend(loc="best", fontsize=7, framealpha=0.85)

    _background(ax_out, out.reshape(resolution, resolution), extent, alpha=0.6)
    values = np.unique(out)
    out_handles = [Patch(color=ORANGE if v < 0 else BLUE, alpha=0.6, label=f"output {v:+g}")
                   for v in values]
    ax_out.set_xlim(low, high)
    ax_out.set_ylim(low, high)
    ax_out.set_title(f"Output: {values[0]:+g} everywhere in this window" if len(values) == 1
                     else "Output: −1 (orange) and +1 (blue) regions")
    ax_out.set_xlabel("$x_1$")
    ax_out.set_ylabel("$x_2$")
    ax_out.legend(handles=out_handles, loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def draw_network(layers, ax=None, input_names=None, activation="sign", title="Network diagram",
                 weight_format="{:g}"):
    """Draw a fully connected network: nodes, bias nodes and edges labelled with their weights.

    layers: [(W (out, in), b (out,)), ...] in the deck's column notation, h = φ(W h_prev + b):
        W[r, c] is the weight of the edge from unit c of the layer before to unit r. (For the
        row-vector weights of the code, x·W + b, pass W.T.)
    ax: an Axes, or None for a new figure sized to the network.
    input_names: labels of the input nodes; default $x_1$, ..., $x_D$.
    activation: the name written under the title (the function every non-input node applies).
    weight_format: how to print each weight, e.g. "{:.2f}".
    Edges of weight 0 are left out; positive weights are drawn blue, negative orange, the width
    growing with |w|. A square "1" under each layer but the last is the bias unit feeding the
    next layer. Returns the Axes.
    """
    func = "draw_network"
    layers = _check_layers(layers, func)
    sizes = [layers[0][0].shape[1]] + [W.shape[0] for W, _ in layers]
    if input_names is None:
        input_names = [f"$x_{{{i + 1}}}$" for i in range(sizes[0])]
    elif len(input_names) != sizes[0]:
        raise ValueError(f"{func}: input_names must give one name per input, {sizes[0]} for W1"
                         f" of shape {layers[0][0].shape}; got {len(input_names)}")
    from matplotlib.lines import Line2D

    own_figure = ax is None
    if own_figure:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(2.0 + 2.2 * len(layers), 2.0 + 0.9 * max(sizes)))
    L = len(layers)
    ys = [(n - 1) / 2 - np.arange(n) for n in sizes]
    bias_y = min(float(y.min()) for y in ys) - 1.0
    top = max(np.abs(W).max() for W, _ in layers)
    top = max(top, max(np.abs(b).max() for _, b in layers), 1e-12)

    def edge(x0, y0, x1, y1, w, t):
        colour = BLUE if w > 0 else ORANGE
        ax.plot([x0, x1], [y0, y1], color=colour, linewidth=0.8 + 2.2 * abs(w) / top,
                zorder=1)
        ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), weight_format.format(w), fontsize=8,
                ha="center", va="center", zorder=4,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor=colour,
                          linewidth=0.6))

    for layer, (W, b) in enumerate(layers):
        n_src = W.shape[1]
        for r in range(W.shape[0]):
            for c in range(n_src):
                if W[r, c] != 0:
                    edge(layer, ys[layer][c], layer + 1, ys[layer + 1][r], W[r, c],
                         0.3 + 0.4 * c / n_src)
            if b[r] != 0:
                edge(layer, bias_y, layer + 1, ys[layer + 1][r], b[r], 0.7)
    for layer, n in enumerate(sizes):
        for i in range(n):
            if layer == 0:
                name = input_names[i]
            elif layer == L:
                name = "$f$" if n == 1 else f"$f_{{{i + 1}}}$"
            else:
                name = f"$h^{{{layer}}}_{{{i + 1}}}$"
            ax.scatter(layer, ys[layer][i], s=900, color="white", edgecolors="black",
                       linewidths=1.2, zorder=2)
            ax.text(layer, ys[layer][i], name, ha="center", va="center", fontsize=11, zorder=3)
        if layer < L:
            ax.scatter(layer, bias_y, s=500, marker="s", color="#eeeeee", edgecolors="black",
                       zorder=2)
            ax.text(layer, bias_y, "1", ha="center", va="center", fontsize=10, zorder=3)
    ax.set_xticks(range(L + 1), ["input"] + [f"hidden {k}" for k in range(1, L)] + ["output"])
    ax.set_yticks([])
    ax.set_xlim(-0.5, L + 0.5)
    ax.set_ylim(bias_y - 0.7, float(max(y.max() for y in ys)) + 0.7)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{title}\n(every unit applies {activation}; squares are bias units)",
                 fontsize=10)
    ax.set_xlabel("layer")
    ax.set_ylabel("units")
    ax.legend(handles=[Line2D([], [], color=BLUE, label="positive weight"),
                       Line2D([], [], color=ORANGE, label="negative weight")],
              loc="lower right", fontsize="small", framealpha=0.9)
    if own_figure:
        ax.figure.tight_layout()
    return ax


# --------------------------------------------------------------------------------------------
# 3. Activation functions and their derivatives
# --------------------------------------------------------------------------------------------

#: The activations in the order the lecture shows them (keys of ``nnutils.layers.ACTIVATIONS``).
ACTIVATION_ORDER = ("sign", "sigmoid", "tanh", "relu", "linear")

#: One sentence per activation, shown under the dropdown's plot.
ACTIVATION_NOTES = {
    "sign": "The derivative is 0 wherever it exists and undefined at 0: a small change of a"
            " weight never changes the output, so gradient descent gets no signal at all.",
    "sigmoid": "Smooth, with outputs in (0, 1). Its slope is at most 0.25 (at 0) and almost 0"
               " for |x| > 5: a saturated unit passes back almost no gradient.",
    "tanh": "A sigmoid stretched to (−1, 1) and centred at 0: tanh(x) = 2σ(2x) − 1. Its slope"
            " is at most 1 (at 0) and also vanishes where the unit saturates.",
    "relu": "max(0, x): slope 1 for every positive input (no saturation), 0 for negative ones."
            " A unit whose input is always negative never learns again (a dead ReLU).",
    "linear": "Slope 1 everywhere. A network of linear units is one linear map, however many"
              " layers it has: it cannot do XOR.",
}


def plot_activation(name, ax=None, bounds=(-4, 4)):
    """One activation function f and its derivative f′ over an interval.

    name: one of ``ACTIVATION_ORDER``; ax: an Axes or None; bounds: (low, high) of x.
    f comes from the layer's forward pass and f′ from ``nnutils.layers.activation_derivative``
    (the backward pass with an upstream gradient of ones). Jumps (sign, and ReLU's derivative)
    are drawn as gaps; for sign the value f(0) = +1 is marked and f′(0), which does not exist,
    is drawn as a hollow circle. Returns the Axes.
    """
    func = "plot_activation"
    if name not in ACTIVATIONS:
        raise ValueError(f"{func}: unknown activation {name!r}; choose one of "
                         f"{', '.join(repr(k) for k in ACTIVATION_ORDER)}")
    low, high = _bounds(bounds, func)
    x = np.linspace(low, high, 801)
    if low < 0 < high:
        x = np.union1d(x, [0.0])    # so that the jumps at 0 are drawn exactly there
    f = ACTIVATIONS[name][0](x)[0].astype(np.float64)          # (copies: safe to edit)
    df = activation_derivative(name, x).astype(np.float64)
    ax = _new_axes(ax)
    if name in ("sign", "relu"):
        df[x == 0] = np.nan         # leave a gap at the jump instead of a vertical segment
    if name == "sign":
        f[x == 0] = np.nan
    ax.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.plot(x, f, color=BLUE, linewidth=2, label="$f(x)$")
    ax.plot(x, df, color=ORANGE, linewidth=2, linestyle="--",
            label=f"$f'(x)$ (largest: {np.nanmax(df):.3g})")
    if name == "sign" and low <= 0 <= high:
        ax.plot([0], [1], "o", color=BLUE, markersize=6)
        ax.plot([0], [0], "o", markerfacecolor="white", markeredgecolor=ORANGE, markersize=7,
                label="$f'(0)$ does not exist")
    ax.set_title(f"{name}: $f$ and its derivative $f'$")
    ax.set_xlabel("$x$")
    ax.set_ylabel("value")
    ax.legend(loc="upper left", fontsize="small")     # empty there for every activation
    return ax


def plot_activations(names=ACTIVATION_ORDER):
    """Every activation in ``names`` with its derivative, one small panel each. Returns the
    Figure."""
    names = list(names)
    if not names:
        raise ValueError("plot_activations: names must list at least one activation; got none")
    fig, axes = _new_figure(len(names), panel=(3.3, 3.0))
    for name, ax in zip(names, axes):
        plot_activation(name, ax=ax)
        ax.set_title(name)
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return fig


def make_activation_app(value="tanh"):
    """A dropdown of activations and the plot of the chosen one with its derivative.

    Returns the app (VBox) with ``app.controls["activation"]`` (Dropdown), ``app.panel``
    (PlotPanel) and ``app.info`` (HTML: the note on the chosen activation).
    """
    import ipywidgets as widgets

    if value not in ACTIVATION_ORDER:
        raise ValueError(f"make_activation_app: value must be one of {ACTIVATION_ORDER}; got"
                         f" {value!r}")
    dropdown = widgets.Dropdown(options=list(ACTIVATION_ORDER), value=value,
                                description="activation")
    info = widgets.HTML()
    canvas = _Canvas(margins=dict(left=0.12, right=0.97, bottom=0.12, top=0.92))

    def plot(name):
        plot_activation(name, ax=canvas.clear()[0])
        return canvas.render()

    panel = PlotPanel(plot, width=_WIDTH)

    def redraw(_=None):
        panel.update(name=dropdown.value)
        info.value = f"<p><b>{dropdown.value}</b>: {ACTIVATION_NOTES[dropdown.value]}</p>"

    dropdown.observe(redraw, names="value")
    redraw()
    return _app({"activation": dropdown}, panel, info)


# --------------------------------------------------------------------------------------------
# 4. Decision boundaries as the hidden layer grows
# --------------------------------------------------------------------------------------------

#: How each data set is made and trained for the hidden-units slider: n points (noise 0),
#: then Adam with this learning rate for this many epochs of mini-batches. Chosen so that all
#: 16 widths of the three sets train in about three seconds on two cores.
BOUNDARY_RECIPES = {
    "circle": {"n": 200, "epochs": 40, "batch_size": 50, "lr": 0.1},
    "xor": {"n": 200, "epochs": 40, "batch_size": 50, "lr": 0.1},
    "spiral": {"n": 150, "epochs": 150, "batch_size": 50, "lr": 0.1},
}


@dataclass
class BoundaryModels:
    """One trained one-hidden-layer tanh MLP per width, on one data set.

    dataset: the name in ``nnutils.data.DATASETS``; X: (N, 2) points; y: (N,) labels ±1 (the
    models were trained on the 0/1 labels (y > 0) with a softmax over two outputs);
    models: width -> MLP([2, width, 2], "tanh"); accuracy: width -> training accuracy;
    seconds: the time all the training took.
    """

    dataset: str
    X: np.ndarray
    y: np.ndarray
    models: dict = field(default_factory=dict)
    accuracy: dict = field(default_factory=dict)
    seconds: float = 0.0


def train_boundary_models(dataset, max_hidden=16, recipe=None, seed=0):
    """Train MLP([2, h, 2], tanh) for h = 1, ..., max_hidden on one Playground data set.

    dataset: "circle", "xor", "spiral" or another classification set of
    ``nnutils.data.DATASETS``; max_hidden: the largest width, >= 1; recipe: a dict with n,
    epochs, batch_size and lr (default ``BOUNDARY_RECIPES[dataset]``); seed: draws the data
    (``default_rng(seed)``), the initial weights of width h (``default_rng(seed + h)``) and the
    mini-batch order. Every width gets the same data, recipe and shuffling, so the widths differ
    only in their number of hidden units. Returns a ``BoundaryModels``.
    """
    from ..models import MLP
    from ..train import train

    func = "train_boundary_models"
    if dataset not in CLASSIFICATION_SETS:
        raise ValueError(f"{func}: dataset must be a classification set of"
                         f" nnutils.data.DATASETS such as 'circle', 'xor' or 'spiral'; got"
                         f" {dataset!r}")
    max_hidden = int(check_scalar(max_hidden, "max_hidden", func, low=1, high=256, integer=True))
    seed = int(check_scalar(seed, "seed", func, low=0, integer=True))
    if recipe is None:
        recipe = BOUNDARY_RECIPES.get(dataset, BOUNDARY_RECIPES["circle"])
    missing = {"n", "epochs", "batch_size", "lr"} - set(recipe)
    if missing:
        raise ValueError(f"{func}: recipe must give n, epochs, batch_size and lr; missing"
                         f" {', '.join(sorted(missing))}")
    start = time.perf_counter()
    X, y = DATASETS[dataset](recipe["n"], recipe.get("noise", 0), np.random.default_rng(seed))
    labels = (y > 0).astype(np.int64)
    result = BoundaryModels(dataset, X, y)
    for h in range(1, max_hidden + 1):
        model = MLP([2, h, 2], activation="tanh", rng=np.random.default_rng(seed + h))
        history = train(model, X, labels, epochs=recipe["epochs"],
                        batch_size=recipe["batch_size"], optimizer="adam", lr=recipe["lr"],
                        rng=np.random.default_rng(seed), progress=False)
        result.models[h] = model
        result.accuracy[h] = history.train_acc[-1]
    result.seconds = time.perf_counter() - start
    return result


def plot_hidden_units_boundary(result, hidden, ax=None, resolution=60, show_units=True):
    """The decision boundary of the width-``hidden`` model of a ``BoundaryModels``.

    result: from ``train_boundary_models``; hidden: a width it holds; ax: an Axes or None;
    resolution: grid points per axis of the heat map (60 redraws in a few tens of ms).
    The heat map is the model's probability of class +1 (softmax of its two outputs) from
    orange (0) to blue (1), drawn by ``nnutils.plotting.plot_decision_boundary``. With
    show_units, the line where each hidden unit's input W1[:, j]·x + b1[j] is 0 (where the tanh
    changes sign) is drawn dashed: the boundary is built out of these h bends. Returns the Axes.
    """
    func = "plot_hidden_units_boundary"
    if not isinstance(result, BoundaryModels):
        raise TypeError(f"{func}: result must be a BoundaryModels from train_boundary_models;"
                        f" got {type(result).__name__}")
    if hidden not in result.models:
        raise ValueError(f"{func}: hidden must be one of the trained widths"
                         f" {min(result.models)}..{max(result.models)}; got {hidden!r}")
    resolution = int(check_scalar(resolution, "resolution", func, low=2, high=400, integer=True))
    model = result.models[hidden]
    ax = _new_axes(ax, (5.0, 4.5))
    plot_decision_boundary(lambda G: softmax(model.scores(G))[:, 1], result.X, result.y, ax=ax,
                           bounds=(-6, 6), resolution=resolution, vmin=0, vmax=1,
                           title=f"{result.dataset}: {hidden} hidden tanh unit"
                                 f"{'s' if hidden > 1 else ''}, training accuracy"
                                 f" {result.accuracy[hidden]:.0%}")
    if show_units:
        W1, b1 = model.params["W1"], model.params["b1"]
        for j in range(hidden):
            _draw_line(ax, W1[:, j], b1[j], color="0.25", linewidth=0.8, linestyle="--",
                       label="hidden units' lines" if j == 0 else None)
        ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
    return ax


def make_hidden_units_app(datasets=("circle", "xor", "spiral"), max_hidden=16, value=2,
                          recipes=None, seed=0):
    """A slider for the number of hidden units and a data-set dropdown over trained boundaries.

    Every (data set, width) model is trained once, here (``train_boundary_models``), so that
    moving a control only draws. datasets: names of classification sets; max_hidden: the
    slider's largest value; value: its first value; recipes: optional dict name -> recipe;
    seed: as in ``train_boundary_models``. Returns the app (VBox) with
    ``app.controls["hidden"]`` (IntSlider), ``app.controls["dataset"]`` (Dropdown),
    ``app.panel``, ``app.info`` (HTML with the accuracy) and ``app.results`` (name ->
    ``BoundaryModels``).
    """
    import ipywidgets as widgets

    func = "make_hidden_units_app"
    datasets = list(datasets)
    if not datasets:
        raise ValueError(f"{func}: datasets must name at least one data set; got none")
    max_hidden = int(check_scalar(max_hidden, "max_hidden", func, low=1, integer=True))
    value = int(check_scalar(value, "value", func, low=1, high=max_hidden, integer=True))
    recipes = recipes or {}
    results = {name: train_boundary_models(name, max_hidden, recipes.get(name), seed)
               for name in datasets}
    slider = widgets.IntSlider(value=value, min=1, max=max_hidden, description="hidden units",
                               continuous_update=True)
    dropdown = widgets.Dropdown(options=datasets, value=datasets[0], description="data set")
    info = widgets.HTML()
    canvas = _Canvas(panel=(5.0, 4.5), margins=dict(left=0.11, right=0.97, bottom=0.1,
                                                    top=0.92))

    def plot(dataset, hidden):
        plot_hidden_units_boundary(results[dataset], hidden, ax=canvas.clear()[0])
        return canvas.render()

    panel = PlotPanel(plot, width=_WIDTH)

    def redraw(_=None):
        result = results[dropdown.value]
        panel.update(dataset=dropdown.value, hidden=slider.value)
        info.value = (f"<p>{slider.value} hidden units on <b>{dropdown.value}</b>: training"
                      f" accuracy {result.accuracy[slider.value]:.1%}. (All"
                      f" {len(result.models)} widths were trained in {result.seconds:.1f} s"
                      f" when the app was built; this drawing took"
                      f" {panel.last_seconds * 1000:.0f} ms.)</p>")

    slider.observe(redraw, names="value")
    dropdown.observe(redraw, names="value")
    redraw()
    app = _app({"dataset": dropdown, "hidden": slider}, panel, info)
    app.results = results
    return friendly(app)


# --------------------------------------------------------------------------------------------
# 5. Universal approximation of a 1-D function
# --------------------------------------------------------------------------------------------

def _x_sin_3x(x):
    return x * np.sin(3 * x)


def _step(x):
    return np.where(x >= 0, 1.0, 0.0)


def _abs(x):
    return np.abs(x)


#: Target functions of the approximation slider, name -> f(x) (vectorised).
APPROX_TARGETS = {"x·sin(3x)": _x_sin_3x, "step": _step, "|x|": _abs}
#: The interval on which the targets are approximated.
APPROX_INTERVAL = (-3.0, 3.0)
#: The most hidden units ``approximate`` can use (the size of the random feature bank).
MAX_APPROX_UNITS = 64


def tanh_feature_bank(num_units, rng, interval=APPROX_INTERVAL, slopes=(0.5, 8.0)):
    """A random first layer of tanh units for 1-D inputs: h_j(x) = tanh(W1[0, j]·x + b1[j]).

    num_units: H >= 1; rng: numpy Generator; interval: (low, high) where the units should bend;
    slopes: (smallest, largest) |slope|.
    Unit j gets a slope a_j with |a_j| log-uniform in ``slopes`` and a random sign, and a
    centre c_j ~ U(interval), the x where it crosses 0: W1[0, j] = a_j, b1[j] = −a_j·c_j.
    The three numbers of unit j come from row j of one (H, 3) array of uniform draws, so the
    first k units of a bank of H are the same for any H >= k drawn from the same seed.
    Returns (W1 (1, H), b1 (H,)).
    """
    func = "tanh_feature_bank"
    num_units = int(check_scalar(num_units, "num_units", func, low=1, integer=True))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator, e.g."
                        f" numpy.random.default_rng(0); got {type(rng).__name__}")
    low, high = _bounds(interval, func)
    s_low, s_high = _bounds(slopes, func)
    if s_low <= 0:
        raise ValueError(f"{func}: slopes must be positive (smallest, largest); got {slopes!r}")
    u = rng.uniform(size=(num_units, 3))
    magnitude = np.exp(np.log(s_low) + u[:, 0] * (np.log(s_high) - np.log(s_low)))
    a = np.where(u[:, 1] < 0.5, -magnitude, magnitude)
    centres = low + u[:, 2] * (high - low)
    return a[None, :], -a * centres


def tanh_network_1d(x, W1, b1, W2, b2):
    """A one-hidden-layer tanh network on 1-D inputs: f(x) = tanh(x·W1 + b1)·W2 + b2.

    x: (N,) inputs; W1: (1, H); b1: (H,); W2: (H, 1); b2: (1,). Returns (N,) outputs.
    """
    func = "tanh_network_1d"
    x = as_float_array(x, "x", func, ndim=1, dims="(N,)")
    W1 = as_float_array(W1, "W1", func, ndim=2, dims="(1, H)")
    check_shape(W1, (1, None), "W1", func, "= (1, H)")
    H = W1.shape[1]
    b1 = as_float_array(b1, "b1", func, ndim=1, dims="(H,)")
    check_shape(b1, (H,), "b1", func, f"= (H,) with H = {H} from W1")
    W2 = as_float_array(W2, "W2", func, ndim=2, dims="(H, 1)")
    check_shape(W2, (H, 1), "W2", func, f"= (H, 1) with H = {H} from W1")
    b2 = as_float_array(b2, "b2", func, ndim=1, dims="(1,)")
    check_shape(b2, (1,), "b2", func)
    return (np.tanh(x[:, None] @ W1 + b1) @ W2 + b2)[:, 0]


def fit_output_layer(x, target, W1, b1, reg=1e-4):
    """The output layer that fits a 1-D target best, by (slightly regularised) least squares.

    x: (N,) inputs; target: (N,) values to fit; W1: (1, H), b1: (H,) the fixed hidden layer;
    reg: L2 strength >= 0 on the output weights (not the bias).
    With the hidden outputs A = tanh(x·W1 + b1) (N, H), solve
        min over (W2, b2) of  Σ_n (A[n]·W2 + b2 − target[n])² + reg·‖W2‖².
    A tiny reg changes the error very little but keeps the weights moderate: with reg = 0,
    least squares on many units gets a slightly smaller error out of weights in the thousands
    or millions that cancel each other. With reg > 0 the (H + 1)² normal equations
    (AᵀA + reg·D) v = Aᵀ·target are solved, D = diag(1, ..., 1, 0) (the penalty keeps them
    well conditioned, and it takes a fraction of a millisecond); with reg = 0, ``lstsq`` finds
    the minimum-norm solution. Returns (W2 (H, 1), b2 (1,)).
    """
    func = "fit_output_layer"
    x = as_float_array(x, "x", func, ndim=1, dims="(N,)")
    target = as_float_array(target, "target", func, ndim=1, dims="(N,)")
    check_shape(target, x.shape, "target", func, "(one value per x)")
    check_finite(x, "x", func)
    check_finite(target, "target", func)
    W1 = as_float_array(W1, "W1", func, ndim=2, dims="(1, H)")
    check_shape(W1, (1, None), "W1", func, "= (1, H)")
    H = W1.shape[1]
    b1 = as_float_array(b1, "b1", func, ndim=1, dims="(H,)")
    check_shape(b1, (H,), "b1", func, f"= (H,) with H = {H} from W1")
    reg = float(check_scalar(reg, "reg", func, low=0))
    A = np.hstack([np.tanh(x[:, None] @ W1 + b1), np.ones((x.shape[0], 1))])
    if reg > 0:
        gram = A.T @ A
        gram[np.arange(H), np.arange(H)] += reg
        coef = np.linalg.solve(gram, A.T @ target)
    else:
        coef = np.linalg.lstsq(A, target, rcond=None)[0]
    return coef[:-1, None], coef[-1:]


@dataclass
class ApproximationFit:
    """A least-squares tanh network fitted to a target, evaluated on a fine grid.

    target: its name; units: the number of hidden units H; x: (M,) evaluation points;
    y: (M,) the target there; fit: (M,) the network there; hidden: (M, H) the hidden units'
    outputs; params: (W1 (1, H), b1 (H,), W2 (H, 1), b2 (1,)); rms: the root mean squared
    error on x; max_error: the largest |fit − y| on x.
    """

    target: str
    units: int
    x: np.ndarray
    y: np.ndarray
    fit: np.ndarray
    hidden: np.ndarray
    params: tuple
    rms: float
    max_error: float


def approximate(target="x·sin(3x)", units=8, seed=0, n_fit=400, n_eval=1001, reg=1e-4):
    """Fit a one-hidden-layer tanh network with ``units`` random hidden units to a target.

    target: a name of ``APPROX_TARGETS`` or a function f(x) of an (N,) array; units: H, 1 to
    ``MAX_APPROX_UNITS``; seed: the random hidden layer is the first H units of
    ``tanh_feature_bank(MAX_APPROX_UNITS, default_rng(seed))``, so adding units keeps the old
    ones; n_fit: evenly spaced points of ``APPROX_INTERVAL`` where the output layer is fitted
    (``fit_output_layer`` with L2 strength reg); n_eval: evenly spaced points where the error
    is measured. Because the hidden units of H + 1 include those of H, the minimised objective
    (squared error on the n_fit points plus reg·‖W2‖²) can only go down as H grows.
    Returns an ``ApproximationFit``.
    """
    func = "approximate"
    if isinstance(target, str):
        if target not in APPROX_TARGETS:
            raise ValueError(f"{func}: unknown target {target!r}; choose one of "
                             f"{', '.join(repr(k) for k in APPROX_TARGETS)} or pass a function")
        name, f = target, APPROX_TARGETS[target]
    elif callable(target):
        name, f = getattr(target, "__name__", "target"), target
    else:
        raise TypeError(f"{func}: target must be a name of APPROX_TARGETS or a function f(x);"
                        f" got {type(target).__name__}")
    units = int(check_scalar(units, "units", func, low=1, high=MAX_APPROX_UNITS, integer=True))
    seed = int(check_scalar(seed, "seed", func, low=0, integer=True))
    n_fit = int(check_scalar(n_fit, "n_fit", func, low=2, integer=True))
    n_eval = int(check_scalar(n_eval, "n_eval", func, low=2, integer=True))
    W1, b1 = tanh_feature_bank(MAX_APPROX_UNITS, np.random.default_rng(seed))
    W1, b1 = W1[:, :units], b1[:units]
    x_fit = np.linspace(*APPROX_INTERVAL, n_fit)
    y_fit = np.asarray(f(x_fit), dtype=np.float64)
    if y_fit.shape != x_fit.shape:
        raise ValueError(f"{func}: target must map an (N,) array to an (N,) array; for N ="
                         f" {n_fit} it returned shape {y_fit.shape}")
    W2, b2 = fit_output_layer(x_fit, y_fit, W1, b1, reg=reg)
    x = np.linspace(*APPROX_INTERVAL, n_eval)
    y = np.asarray(f(x), dtype=np.float64)
    hidden = np.tanh(x[:, None] @ W1 + b1)
    fit = (hidden @ W2 + b2)[:, 0]
    err = np.abs(fit - y)
    return ApproximationFit(name, units, x, y, fit, hidden, (W1, b1, W2, b2),
                            float(np.sqrt(np.mean(err ** 2))), float(err.max()))


def plot_approximation(fit, axes=None):
    """Two panels for an ``ApproximationFit``: the hidden units' outputs, and the fit.

    Left: every hidden unit's output tanh(W1[0, j]·x + b1[j]), the bends the network has to work
    with. Right: the target and the network's output, their RMS error in the title.
    axes: two Axes to draw into, or None for a new figure. Returns the Figure.
    """
    func = "plot_approximation"
    if not isinstance(fit, ApproximationFit):
        raise TypeError(f"{func}: fit must be an ApproximationFit from approximate; got"
                        f" {type(fit).__name__}")
    own_figure = axes is None
    if own_figure:
        fig, (ax_h, ax_f) = _new_figure(2, panel=(5.0, 3.8))
    elif len(axes) != 2:
        raise ValueError(f"{func}: axes must be two Axes (hidden units, fit); got {len(axes)}")
    else:
        ax_h, ax_f = axes
        fig = ax_h.figure
    step = max(1, len(fit.x) // 250)          # 250 points per curve are plenty to see them
    for j in range(fit.units):
        ax_h.plot(fit.x[::step], fit.hidden[::step, j], color=f"C{j % 10}", linewidth=1,
                  label=f"{fit.units} hidden unit outputs" if j == 0 else None)
    ax_h.set_title(f"The {fit.units} hidden unit{'s' if fit.units > 1 else ''} (random)")
    ax_h.set_xlabel("x")
    ax_h.set_ylabel("unit output tanh(w·x + b)")
    ax_h.set_ylim(-1.1, 1.1)
    ax_h.legend(loc="lower right", fontsize="small")

    ax_f.plot(fit.x, fit.y, color="black", linewidth=2, label=f"target {fit.target}")
    ax_f.plot(fit.x, fit.fit, color=BLUE, linewidth=2, linestyle="--",
              label="network (Σ v·unit output + c)")
    span = float(fit.y.max() - fit.y.min()) or 1.0
    ax_f.set_ylim(fit.y.min() - 0.25 * span, fit.y.max() + 0.25 * span)
    ax_f.set_title(f"{fit.units} units: RMS error {fit.rms:.3f}, max error {fit.max_error:.3f}")
    ax_f.set_xlabel("x")
    ax_f.set_ylabel("f(x)")
    ax_f.legend(loc="best", fontsize="small")
    if own_figure:
        fig.tight_layout()
    return fig


def make_approximation_app(value=4, target="x·sin(3x)", max_units=48, seed=0):
    """A slider for the number of hidden units and a dropdown of targets, over least-squares
    fits (``approximate``; each takes about a millisecond, so nothing is precomputed).

    Returns the app (VBox) with ``app.controls["units"]`` (IntSlider),
    ``app.controls["target"]`` (Dropdown), ``app.panel``, ``app.info`` (HTML with the errors)
    and ``app.fit()`` returning the current ``ApproximationFit``.
    """
    import ipywidgets as widgets

    func = "make_approximation_app"
    max_units = int(check_scalar(max_units, "max_units", func, low=1, high=MAX_APPROX_UNITS,
                                 integer=True))
    value = int(check_scalar(value, "value", func, low=1, high=max_units, integer=True))
    if target not in APPROX_TARGETS:
        raise ValueError(f"{func}: target must be one of {list(APPROX_TARGETS)}; got {target!r}")
    slider = widgets.IntSlider(value=value, min=1, max=max_units, description="hidden units")
    dropdown = widgets.Dropdown(options=list(APPROX_TARGETS), value=target, description="target")
    info = widgets.HTML()
    current = {}

    canvas = _Canvas(ncols=2, panel=(5.0, 3.8), margins=dict(left=0.08, right=0.98,
                                                              bottom=0.13, top=0.91,
                                                              wspace=0.25))

    def plot(target, units):
        current["fit"] = approximate(target, units, seed=seed)
        plot_approximation(current["fit"], axes=canvas.clear())
        return canvas.render()

    panel = PlotPanel(plot, width=_WIDTH)

    def redraw(_=None):
        panel.update(target=dropdown.value, units=slider.value)
        fit = current["fit"]
        info.value = (f"<p>{fit.units} hidden units fitted to <b>{fit.target}</b>: RMS error"
                      f" {fit.rms:.4f}, largest error {fit.max_error:.4f}"
                      f" (drawn in {panel.last_seconds * 1000:.0f} ms).</p>")

    slider.observe(redraw, names="value")
    dropdown.observe(redraw, names="value")
    redraw()
    app = _app({"target": dropdown, "units": slider}, panel, info)
    app.fit = lambda: current["fit"]
    return friendly(app)


# --------------------------------------------------------------------------------------------
# 6. Softmax over several classes in the plane
# --------------------------------------------------------------------------------------------

def plot_class_probabilities(proba_fn: Callable, X, y, ax=None, bounds=(-5, 5), resolution=100,
                             title="Class probabilities"):
    """Colour the plane by a classifier's class probabilities, and draw the data on top.

    proba_fn: maps points (M, 2) to probabilities (M, C), each row summing to 1 (e.g. the
    softmax of an MLP's scores); X: (N, 2) points; y: (N,) integer labels 0..C−1.
    bounds: (low, high) for both axes; resolution: grid points per axis.
    Each pixel's colour is Σ_k p_k·colour_k (colour k = matplotlib's "C{k}"), so a confident
    region shows its class's colour and an uncertain one a mixture; thin black lines mark where
    the most probable class changes. Returns the Axes.
    """
    func = "plot_class_probabilities"
    X = _check_points(X, func)
    y = np.asarray(y)
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{func}: y must be an integer array of shape ({X.shape[0]},), one"
                         f" label per row of X; got shape {y.shape} and dtype {y.dtype}")
    low, high = _bounds(bounds, func)
    resolution = int(check_scalar(resolution, "resolution", func, low=2, high=1000,
                                  integer=True))
    from matplotlib.colors import to_rgb

    grid = _grid(low, high, resolution)
    P = np.asarray(proba_fn(grid), dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != grid.shape[0] or P.shape[1] < 2:
        raise ValueError(f"{func}: proba_fn must map (M, 2) points to (M, C) probabilities"
                         f" with C >= 2; for M = {grid.shape[0]} it returned shape {P.shape}")
    C = P.shape[1]
    if y.size and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"{func}: y must hold labels in 0..{C - 1}; got values from {y.min()}"
                         f" to {y.max()}")
    colours = np.array([to_rgb(f"C{k % 10}") for k in range(C)])
    image = np.clip(P @ colours, 0, 1).reshape(resolution, resolution, 3)
    ax = _new_axes(ax, (5.0, 4.5))
    ax.imshow(0.45 * image + 0.55, origin="lower", extent=(low, high, low, high),
              aspect="auto", interpolation="bilinear")
    xs = np.linspace(low, high, resolution)
    for k in range(C):          # class k wins where p_k − max_{j≠k} p_j > 0: a smooth edge
        margin = P[:, k] - np.delete(P, k, axis=1).max(axis=1)
        if margin.min() < 0 < margin.max():
            ax.contour(xs, xs, margin.reshape(resolution, resolution), levels=[0.0],
                       colors="black", linewidths=0.8)
    for k in range(C):
        mask = y == k
        ax.scatter(X[mask, 0], X[mask, 1], color=colours[k], edgecolors="white", s=22,
                   linewidths=0.6, label=f"class {k}")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
    return ax
