"""The TensorFlow Playground in a notebook: ipywidgets around ``nnutils.playground``.

``make_playground_app()`` returns the whole app, laid out like the original: a top bar (reset,
play/pause, step, the epoch counter, learning rate, activation, regularization and its rate,
problem type, and a menu of presets that set up the lecture's experiments), then three columns:

- DATA: the data set, the ratio of training to test data, noise, batch size, "regenerate";
- FEATURES and the network: the seven input features as toggles, the number of hidden layers
  with + and − buttons, and one row per layer with + and − buttons for its neurons and a small
  heat map of what every neuron computes; lines between the rows are the weights (blue
  positive, orange negative, thicker when larger), as in the original;
- OUTPUT: test and training loss, their curves over the epochs, the output heat map over
  [-6, 6]² with the data drawn on it, "show test data" and "discretize output".

Everything drawn is an RGB array made by the plain functions below (``render_heatmap``,
``render_thumbnails``, ``render_links``, ``render_loss_chart``) and sent as PNG through
``nnutils.widgets.rgb_png``: no matplotlib, so a frame takes milliseconds.

Play starts a background thread that trains one epoch per frame and redraws, at most
``max_fps`` frames per second; the notebook stays responsive. Pause stops it within a frame.
Every access to the engine holds ``app.lock``, so changing a setting while playing is safe.
As in the original, a change that rebuilds the network (anything but the learning rate and the
two check boxes) pauses training and starts again from epoch 0. Nothing starts by itself:
building and displaying the app trains nothing until Play or Step is pressed.
"""

import threading
import time
from dataclasses import asdict

import numpy as np

from .._threads import one_blas_thread
from ..data import CLASSIFICATION_SETS, FEATURES, REGRESSION_SETS
from ..playground import (
    DOMAIN,
    LEARNING_RATES,
    MAX_LAYERS,
    MAX_NEURONS,
    PRESETS,
    REGULARIZATION_RATES,
    Playground,
    Settings,
)
from ..plotting import BLUE, ORANGE
from . import friendly, rgb_png

__all__ = ["PlaygroundApp", "make_playground_app", "render_colorbar", "render_heatmap",
           "render_links", "render_loss_chart", "render_thumbnails", "value_colors"]

# --------------------------------------------------------------------------------------------
# Colours: the original's scale, orange (-1) through grey (0) to blue (+1)
# --------------------------------------------------------------------------------------------

NEUTRAL = "#e8eaeb"
#: The original quantizes heat maps into 31 shades (NUM_SHADES = 30 steps).
NUM_SHADES = 30
#: The original paints heat maps with alpha 160/255 over a white page.
BACKGROUND_ALPHA = 160 / 255


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[k:k + 2], 16) for k in (1, 3, 5)], dtype=np.float64)


_STOPS = np.stack([_rgb(ORANGE), _rgb(NEUTRAL), _rgb(BLUE)])


def _linear_scale(a: np.ndarray) -> np.ndarray:
    """Colours (..., 3) float of a in [0, 1]: orange at 0, grey at 0.5, blue at 1."""
    a = np.clip(a, 0.0, 1.0)[..., None]
    low = _STOPS[0] + (_STOPS[1] - _STOPS[0]) * (2 * a)
    high = _STOPS[1] + (_STOPS[2] - _STOPS[1]) * (2 * a - 1)
    return np.where(a <= 0.5, low, high)


_SHADES = _linear_scale(np.linspace(0.0, 1.0, NUM_SHADES + 1))             # (31, 3)
_SHADES_U8 = np.round(_SHADES).astype(np.uint8)
_BACKGROUND_U8 = np.round(_SHADES * BACKGROUND_ALPHA
                          + 255 * (1 - BACKGROUND_ALPHA)).astype(np.uint8)
_WHITE, _BLACK = np.array([255, 255, 255], np.uint8), np.array([0, 0, 0], np.uint8)


def _shade_index(values: np.ndarray) -> np.ndarray:
    """Index into the 31 shades of values in [-1, 1] (the original's quantize scale); values
    outside are clamped and NaN (a diverged network) maps to the middle grey."""
    with np.errstate(invalid="ignore"):
        v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=1.0,
                          neginf=-1.0)
    idx = np.floor((v + 1.0) / 2.0 * (NUM_SHADES + 1))
    return np.clip(idx, 0, NUM_SHADES).astype(np.intp)


def value_colors(values, background=False, discretize=False) -> np.ndarray:
    """The Playground's colour of every value: orange for -1, grey for 0, blue for +1.

    values: any shape; background: paint as the original paints heat maps (alpha 160/255 over
    white, paler), else at full strength (data points); discretize: colour only the sign
    (value >= 0 is +1, else -1), the "discretize output" check box.
    Returns (..., 3) uint8. Values are quantized into 31 shades, as in the original.
    """
    v = np.asarray(values, dtype=np.float64)
    if discretize:
        v = np.where(v >= 0, 1.0, -1.0)
    return (_BACKGROUND_U8 if background else _SHADES_U8)[_shade_index(v)]


# --------------------------------------------------------------------------------------------
# Rendering: plain functions returning RGB arrays
# --------------------------------------------------------------------------------------------

_RESIZE_CACHE = {}


def _resize_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) matrix of bilinear interpolation weights from src samples to dst pixels,
    both spanning the same interval (sample k of src sits at pixel (k + 0.5)·dst/src − 0.5)."""
    key = (src, dst)
    if key not in _RESIZE_CACHE:
        pos = np.clip((np.arange(dst) + 0.5) * src / dst - 0.5, 0, src - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, src - 1)
        frac = pos - lo
        M = np.zeros((dst, src))
        M[np.arange(dst), lo] += 1 - frac
        M[np.arange(dst), hi] += frac
        _RESIZE_CACHE[key] = M
    return _RESIZE_CACHE[key]


def _resize(values: np.ndarray, size: int) -> np.ndarray:
    """(..., R, R) values resampled bilinearly to (..., size, size)."""
    M = _resize_matrix(values.shape[-1], size)
    with np.errstate(invalid="ignore", over="ignore"):
        return M @ np.nan_to_num(values, nan=0.0, posinf=1e6, neginf=-1e6) @ M.T


def _disc(radius: float) -> tuple[np.ndarray, np.ndarray]:
    r = int(np.ceil(radius))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    keep = dx * dx + dy * dy <= radius * radius
    return dy[keep], dx[keep]


def _paint(canvas: np.ndarray, rows, cols, colours) -> None:
    """Paint pixels (rows, cols) of canvas (H, W, 3) with colours (n, 3), in the order given:
    where several land on one pixel the last one wins, as when drawing shapes one by one."""
    h, w = canvas.shape[:2]
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    flat, colours = rows[inside] * w + cols[inside], colours[inside]
    if flat.size == 0:
        return
    last = np.full(h * w, -1)
    np.maximum.at(last, flat, np.arange(flat.size))       # the last stroke on every pixel
    painted = np.flatnonzero(last >= 0)
    canvas.reshape(-1, 3)[painted] = colours[last[painted]]


def _points_strokes(X, y, size: int, stroke: np.ndarray, radius: float):
    """Pixels and colours of the discs of points X (N, 2) with labels y, one point after the
    other, each an outline ``stroke`` of radius + 1 then a fill of its label's colour."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    keep = np.all(np.abs(X) <= DOMAIN, axis=1)                  # the original hides the rest
    X, y = X[keep], y[keep]
    cx = np.floor((X[:, 0] + DOMAIN) / (2 * DOMAIN) * size).astype(int)
    cy = np.floor((DOMAIN - X[:, 1]) / (2 * DOMAIN) * size).astype(int)
    (dy_out, dx_out), (dy_in, dx_in) = _disc(radius + 1), _disc(radius)
    dy, dx = np.r_[dy_out, dy_in], np.r_[dx_out, dx_in]
    rows = cy[:, None] + dy[None, :]                            # (N, K), point after point
    cols = cx[:, None] + dx[None, :]
    colours = np.empty(rows.shape + (3,), np.uint8)
    colours[:, :dy_out.size] = stroke
    colours[:, dy_out.size:] = value_colors(y)[:, None, :]
    return rows.ravel(), cols.ravel(), colours.reshape(-1, 3)


def render_heatmap(values, train=None, test=None, discretize=False, size=300, radius=3.0):
    """The output heat map with the data on it, as the Playground draws it.

    values: (R, R) network outputs on ``nnutils.playground.grid_points(R)`` (row 0 at x2 = 6,
        column 0 at x1 = -6); resampled bilinearly to size × size pixels.
    train, test: (X (N, 2), y (N,)) points to draw, or None. Points are discs of ``radius``
        pixels filled with their label's colour, outlined white (training) or black (test),
        test points on top; points outside [-6, 6]² are left out, as in the original.
    discretize: paint only the sign of the output.
    Returns (size, size, 3) uint8.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] < 2:
        raise ValueError(f"render_heatmap: values must be a square (R, R) array with R >= 2; "
                         f"got shape {values.shape}")
    image = value_colors(_resize(values, size), background=True, discretize=discretize)
    strokes = [_points_strokes(points[0], points[1], size, edge, radius)
               for points, edge in ((train, _WHITE), (test, _BLACK)) if points is not None]
    if strokes:
        _paint(image, *[np.concatenate(parts) for parts in zip(*strokes)])
    return image


def _slot_centres(count: int, slot: int) -> np.ndarray:
    return slot / 2 + slot * np.arange(count)


def render_thumbnails(maps, thumb=36, slot=48, width=None, discretize=False, faded=None):
    """A row of small heat maps, one per neuron (or feature), left to right.

    maps: (K, r, r) values, each resampled to thumb × thumb pixels and centred in its own slot
        of ``slot`` pixels; width: of the image (default K·slot); discretize: paint the sign;
    faded: (K,) bool, thumbnails to draw pale (inactive features).
    Returns (thumb, width, 3) uint8, white between thumbnails.
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or maps.shape[1] != maps.shape[2]:
        raise ValueError(f"render_thumbnails: maps must be (K, r, r); got shape {maps.shape}")
    K = maps.shape[0]
    width = K * slot if width is None else width
    image = np.full((thumb, width, 3), 255, np.uint8)
    if K == 0:
        return image
    tiles = value_colors(_resize(maps, thumb), background=True, discretize=discretize)
    if faded is not None:
        pale = np.asarray(faded, bool)
        tiles[pale] = (tiles[pale] * 0.3 + 255 * 0.7).astype(np.uint8)
    for k, centre in enumerate(_slot_centres(K, slot)):
        left = int(centre - thumb / 2)
        if left + thumb <= width:
            image[:, left:left + thumb] = tiles[k]
    return image


def render_links(weights, x_in, x_out, width, height=28, max_width=5.0):
    """The weights between two rows of neurons, drawn as lines (the original's links).

    weights: (n_in, n_out), the weight from neuron i above to neuron j below; x_in: (n_in,)
    and x_out: (n_out,) horizontal pixel centres of the neurons; width, height: of the image.
    A line's colour is the weight on the orange-grey-blue scale (clamped at ±1); its thickness
    grows from 1 pixel with |w| up to ``max_width`` at |w| >= 5 (the original's scale, halved);
    thicker lines are drawn over thinner ones.
    Returns (height, width, 3) uint8 on white.
    """
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0)
    x_in, x_out = np.asarray(x_in, float), np.asarray(x_out, float)
    if w.shape != (x_in.size, x_out.size):
        raise ValueError(f"render_links: weights must be (n_in, n_out) = ({x_in.size}, "
                         f"{x_out.size}); got {w.shape}")
    image = np.full((height, width, 3), 255, np.uint8)
    if w.size == 0:
        return image
    order = np.argsort(np.abs(w).ravel(), kind="stable")         # thick lines drawn last
    src = np.repeat(x_in, x_out.size)[order]
    dst = np.tile(x_out, x_in.size)[order]
    w = w.ravel()[order]
    thick = 1 + (max_width - 1) * np.minimum(np.abs(w), 5.0) / 5.0
    # Row by row, a line covers the columns its centre sweeps through within the row, widened
    # by half its thickness measured across the line (more columns where it is slanted).
    run = (dst - src) / height                                     # columns per row
    half = thick * np.sqrt(1 + run ** 2) / 2
    middle = src[:, None] + run[:, None] * (np.arange(height) + 0.5)[None, :]   # (L, H)
    reach = (np.abs(run) / 2 + half)[:, None]
    start = np.floor(middle - reach + 0.5).astype(int)
    count = np.maximum(np.floor(middle + reach + 0.5).astype(int) - start, 1).ravel()
    first = np.repeat(np.cumsum(count) - count, count)
    cols = np.repeat(start.ravel(), count) + (np.arange(count.sum()) - first)
    rows = np.repeat(np.tile(np.arange(height), w.size), count)
    colours = np.round(_linear_scale((np.clip(w, -1, 1) + 1) / 2)).astype(np.uint8)
    _paint(image, rows, cols, np.repeat(np.repeat(colours, height, axis=0), count, axis=0))
    return image


def render_loss_chart(history, width=300, height=60):
    """Training (grey) and test (black) loss over the epochs, as a small line chart.

    history: sequence of (train_loss, test_loss), one per epoch from epoch 0.
    The x axis spans the epochs so far, the y axis the smallest to the largest loss seen (the
    original's appending line chart). Returns (height, width, 3) uint8 on white.
    """
    image = np.full((height, width, 3), 255, np.uint8)
    h = np.asarray(history, dtype=np.float64).reshape(-1, 2)
    h = h[np.all(np.isfinite(h), axis=1)]
    if h.shape[0] == 0:
        return image
    low, high = h.min(), h.max()
    span = high - low if high > low else 1.0
    x = np.linspace(0, h.shape[0] - 1, width)
    rows = np.arange(height)[:, None]
    for column, colour in ((0, (119, 119, 119)), (1, (0, 0, 0))):
        v = np.interp(x, np.arange(h.shape[0]), h[:, column])
        y = (height - 2) - (v - low) / span * (height - 3)            # 1 pixel margin
        prev = np.r_[y[0], y[:-1]]
        top = np.floor(np.minimum(y, prev))
        bottom = np.ceil(np.maximum(y, prev))
        image[(rows >= top[None, :]) & (rows <= bottom[None, :])] = colour
    return image


def render_colorbar(width=144, height=10):
    """The colour scale from -1 (orange) through 0 to +1 (blue), (height, width, 3) uint8."""
    strip = value_colors(np.linspace(-1, 1, width), background=True)
    return np.broadcast_to(strip[None], (height, width, 3)).copy()


# --------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------

DATASET_LABELS = {"circle": "Circle", "xor": "XOR", "gauss": "Gaussian", "spiral": "Spiral",
                  "reg-plane": "Plane", "reg-gauss": "Multi-Gauss"}
DATASET_NAMES = {"circle": "Circle", "xor": "Exclusive or", "gauss": "Gaussian",
                 "spiral": "Spiral", "reg-plane": "Plane", "reg-gauss": "Multi Gaussian"}
FEATURE_LABELS = {"x1": "X₁", "x2": "X₂", "x1^2": "X₁²", "x2^2": "X₂²", "x1x2": "X₁X₂",
                  "sin(x1)": "sin(X₁)", "sin(x2)": "sin(X₂)"}
ACTIVATION_LABELS = (("ReLU", "relu"), ("Tanh", "tanh"), ("Sigmoid", "sigmoid"),
                     ("Linear", "linear"))

# Pixel sizes: the big heat map and the node thumbnails are the original's (300 and 30).
_HEATMAP_SIZE, _THUMB, _SLOT, _LINK_HEIGHT, _LABEL_WIDTH = 300, 30, 42, 24, "96px"
_ROW_WIDTH = MAX_NEURONS * _SLOT


class PlaygroundApp:
    """The Playground's controls and pictures around a ``Playground`` engine.

    PlaygroundApp(settings=None, max_fps=20, resolution=100, thumb_resolution=20, **changes):
    settings/changes as for ``Playground``; max_fps: the most frames per second while playing;
    resolution: grid of the output heat map (the original's 100); thumb_resolution: grid of
    the neuron thumbnails.

    ``container`` is the widget to display; ``controls`` maps names to the control widgets
    ("reset", "play", "step", "learning_rate", "activation", "regularization",
    "regularization_rate", "problem", "preset", "dataset", "train_percent", "noise",
    "batch_size", "regenerate", "features" (a dict feature name -> toggle), "add_layer",
    "remove_layer", "add_neuron" and "remove_neuron" (lists, one button per hidden layer),
    "show_test_data", "discretize"); ``images`` maps names to the Image widgets ("heatmap",
    "loss_chart", "features", "layers" (a list), "output"). ``engine`` is the Playground and
    ``lock`` guards it. ``play()``, ``pause()``, ``step()``, ``reset()`` do what the buttons
    do; ``is_playing``, ``frames`` (frames drawn while playing), ``last_frame_seconds``.
    """

    def __init__(self, settings=None, max_fps=20, resolution=100, thumb_resolution=20,
                 **changes):
        import ipywidgets as widgets

        self._w = widgets
        self.engine = Playground(settings, **changes)
        self.lock = threading.RLock()
        self.max_fps = max_fps
        self.resolution, self.thumb_resolution = resolution, thumb_resolution
        self.frames, self.last_frame_seconds, self.error = 0, 0.0, ""
        self._thread, self._stop = None, threading.Event()
        self._syncing = False
        self._last_dataset = {"classification": "circle", "regression": "reg-plane"}
        self._last_dataset[self.engine.settings.problem] = self.engine.settings.dataset
        self.controls, self.images = {}, {}
        self._build()
        self._sync_controls()
        self.redraw()

    # ---- building the widgets ---------------------------------------------------------------

    def _image(self, width, height):
        w = self._w
        return w.Image(format="png", layout=w.Layout(width=f"{width}px", height=f"{height}px",
                                                     margin="0", object_fit="none"))

    def _button(self, description, icon, tooltip, width="auto"):
        return self._w.Button(description=description, icon=icon, tooltip=tooltip,
                              layout=self._w.Layout(width=width))

    def _build(self):
        w, c = self._w, self.controls
        c["reset"] = self._button("", "refresh", "Reset the network", "40px")
        c["play"] = self._button("", "play", "Run/pause", "48px")
        c["step"] = self._button("", "step-forward", "One epoch", "40px")
        c["reset"].on_click(lambda _: self.reset())
        c["play"].on_click(lambda _: self.pause() if self.is_playing else self.play())
        c["step"].on_click(lambda _: self.step())
        self._epoch = w.HTML()
        menus = {
            "learning_rate": ("Learning rate", [(f"{v:g}", v) for v in LEARNING_RATES]),
            "activation": ("Activation", list(ACTIVATION_LABELS)),
            "regularization": ("Regularization", [("None", "none"), ("L1", "L1"),
                                                  ("L2", "L2")]),
            "regularization_rate": ("Regularization rate",
                                    [(f"{v:g}", v) for v in REGULARIZATION_RATES]),
            "problem": ("Problem type", [("Classification", "classification"),
                                         ("Regression", "regression")]),
        }
        labelled = []
        for name, (label, options) in menus.items():
            c[name] = w.Dropdown(options=options, layout=w.Layout(width="128px"))
            labelled.append(w.VBox([w.HTML(f"<small>{label}</small>"), c[name]]))
            if name != "problem":
                c[name].observe(self._setting_observer(name), "value")
        c["problem"].observe(self._on_problem, "value")
        c["preset"] = w.Dropdown(options=[("Presets…", "")] + [(k, k) for k in PRESETS],
                                 layout=w.Layout(width="290px"))
        c["preset"].observe(self._on_preset, "value")
        self._lesson = w.HTML()
        self._epoch.layout = w.Layout(width="96px", margin="0 8px")
        top = w.HBox([c["reset"], c["play"], c["step"], self._epoch, *labelled],
                     layout=w.Layout(flex_flow="row wrap", align_items="center"))

        # DATA column
        c["dataset"] = w.ToggleButtons(options=[("Circle", "circle")],
                                       style={"button_width": "84px"})
        c["dataset"].observe(self._setting_observer("dataset"), "value")
        slider = {"layout": w.Layout(width="186px"), "continuous_update": False}
        c["train_percent"] = w.IntSlider(min=10, max=90, step=10, **slider)
        c["noise"] = w.IntSlider(min=0, max=50, step=5, **slider)
        c["batch_size"] = w.IntSlider(min=1, max=30, step=1, **slider)
        for name in ("train_percent", "noise", "batch_size"):
            c[name].observe(self._setting_observer(name), "value")
        c["regenerate"] = self._button("Regenerate", "", "New data, same network")
        c["regenerate"].on_click(lambda _: self.regenerate())
        data = w.VBox([w.HTML("<b>DATA</b><br>Which dataset do you want to use?"),
                       c["dataset"],
                       w.HTML("<small>Ratio of training to test data (%)</small>"),
                       c["train_percent"], w.HTML("<small>Noise</small>"), c["noise"],
                       w.HTML("<small>Batch size</small>"), c["batch_size"],
                       c["regenerate"]], layout=w.Layout(width="190px"))

        # FEATURES and the network
        c["features"] = {}
        for name in FEATURES:
            toggle = w.ToggleButton(description=FEATURE_LABELS[name], tooltip=name,
                                    layout=w.Layout(width=f"{_SLOT - 2}px", height="24px",
                                                    margin="0 1px", padding="0"),
                                    style={"font_size": "10px"})
            toggle.observe(self._on_feature, "value")
            c["features"][name] = toggle
        c["add_layer"] = self._button("", "plus", "Add a hidden layer", "32px")
        c["remove_layer"] = self._button("", "minus", "Remove a hidden layer", "32px")
        c["add_layer"].on_click(lambda _: self._change_layers(+1))
        c["remove_layer"].on_click(lambda _: self._change_layers(-1))
        self._layers_label = w.HTML()
        c["add_neuron"], c["remove_neuron"] = [], []
        self.images["features"] = self._image(_ROW_WIDTH, _THUMB)
        self.images["output"] = self._image(_ROW_WIDTH, _LINK_HEIGHT + _THUMB)
        self.images["layers"] = []
        self._feature_row = w.HBox([
            self._row_label([w.HTML("<b>FEATURES</b>", layout=w.Layout(margin="0")),
                             w.HTML("<small>inputs to feed in</small>",
                                    layout=w.Layout(margin="0"))], 24 + _THUMB),
            w.VBox([w.HBox(list(c["features"].values()), layout=w.Layout(height="24px")),
                    self.images["features"]], layout=w.Layout(margin="0"))])
        self._output_row = w.HBox([
            self._row_label([w.HTML("<b>OUTPUT</b>", layout=w.Layout(margin="0"))],
                            _LINK_HEIGHT + _THUMB), self.images["output"]])
        self._layer_rows = w.VBox()
        network = w.VBox([
            w.HBox([c["add_layer"], c["remove_layer"], self._layers_label],
                   layout=w.Layout(align_items="center")),
            self._feature_row, self._layer_rows, self._output_row],
            layout=w.Layout(margin="0 8px"))

        # OUTPUT column
        self._losses = w.HTML()
        self.images["loss_chart"] = self._image(_HEATMAP_SIZE, 60)
        self.images["heatmap"] = self._image(_HEATMAP_SIZE, _HEATMAP_SIZE)
        colorbar = self._image(144, 10)
        colorbar.value = rgb_png(render_colorbar())
        c["show_test_data"] = w.Checkbox(description="Show test data", indent=False)
        c["discretize"] = w.Checkbox(description="Discretize output", indent=False)
        c["show_test_data"].observe(lambda _: self._on_view(), "value")
        c["discretize"].observe(lambda _: self._on_view(), "value")
        self._status = w.HTML()
        output = w.VBox([w.HTML("<b>OUTPUT</b>"), self._losses, self.images["loss_chart"],
                         self.images["heatmap"],
                         w.HTML("<small>x₁ from −6 (left) to 6, x₂ from −6 (bottom) to 6. "
                                "Colours show data, neuron and weight values:</small>"),
                         w.HBox([w.HTML("<small>−1&nbsp;</small>"), colorbar,
                                 w.HTML("<small>&nbsp;+1</small>")]),
                         w.HBox([c["show_test_data"], c["discretize"]]), self._status],
                        layout=w.Layout(width=f"{_HEATMAP_SIZE + 6}px"))

        self.container = w.VBox([
            top, w.HBox([c["preset"], self._lesson], layout=w.Layout(align_items="center")),
            w.HBox([data, network, output], layout=w.Layout(flex_flow="row wrap"))])

    def _row_label(self, children, height):
        """The left part of a network row, exactly as tall as the row's image, so that the
        lines of one row's image meet the thumbnails of the row above."""
        return self._w.VBox(children, layout=self._w.Layout(
            width=_LABEL_WIDTH, height=f"{height}px", justify_content="flex-end",
            overflow="hidden", margin="0"))

    def _build_layer_rows(self):
        """One row per hidden layer: +/- buttons, the neuron count, the links and thumbnails."""
        w, c = self._w, self.controls
        layers = self.engine.settings.hidden_layers
        rows, images = [], []
        c["add_neuron"].clear()
        c["remove_neuron"].clear()
        for i, count in enumerate(layers):
            add = self._button("", "plus", f"Add a neuron to layer {i + 1}", "34px")
            remove = self._button("", "minus", f"Remove a neuron from layer {i + 1}", "34px")
            for button in (add, remove):
                button.layout.height, button.layout.padding = "26px", "0"
            add.on_click(lambda _, i=i: self._change_neurons(i, +1))
            remove.on_click(lambda _, i=i: self._change_neurons(i, -1))
            add.disabled, remove.disabled = count >= MAX_NEURONS, count <= 1
            c["add_neuron"].append(add)
            c["remove_neuron"].append(remove)
            image = self._image(_ROW_WIDTH, _LINK_HEIGHT + _THUMB)
            images.append(image)
            text = w.HTML(f"<small>{count} neuron{'s' if count > 1 else ''}</small>",
                          layout=w.Layout(margin="0"))
            rows.append(w.HBox([self._row_label([text, w.HBox([add, remove])],
                                                _LINK_HEIGHT + _THUMB), image]))
        self.images["layers"] = images
        self._layer_rows.children = rows
        n = len(layers)
        self._layers_label.value = f"<b>{n} HIDDEN LAYER{'S' if n != 1 else ''}</b>"
        c["add_layer"].disabled, c["remove_layer"].disabled = n >= MAX_LAYERS, n == 0
        self._row_layers = layers

    # ---- keeping widgets and settings in step -----------------------------------------------

    def _sync_controls(self):
        """Show the engine's settings on every control, without triggering the callbacks."""
        s, c = self.engine.settings, self.controls
        self._syncing = True
        try:
            offered = CLASSIFICATION_SETS if s.problem == "classification" else REGRESSION_SETS
            options = [(DATASET_LABELS[k], k) for k in offered]
            if list(c["dataset"].options) != options:
                c["dataset"].options = options
                c["dataset"].tooltips = [DATASET_NAMES[k] for k in offered]
            for name in ("learning_rate", "regularization_rate"):     # a value off the menu
                if getattr(s, name) not in [v for _, v in c[name].options]:
                    c[name].options = sorted([*c[name].options,
                                              (f"{getattr(s, name):g}", getattr(s, name))],
                                             key=lambda option: option[1])
            for name in ("problem", "dataset", "train_percent", "batch_size", "learning_rate",
                         "activation", "regularization", "regularization_rate"):
                c[name].value = getattr(s, name)
            c["noise"].value = int(round(s.noise))
            for name, toggle in c["features"].items():
                toggle.value = name in s.features
                toggle.button_style = "info" if toggle.value else ""
        finally:
            self._syncing = False
        if getattr(self, "_row_layers", None) != s.hidden_layers:
            self._build_layer_rows()

    def _setting_observer(self, name):
        def observe(change):
            if not self._syncing:
                self.apply(**{name: change["new"]})
        return observe

    def _on_problem(self, change):
        if self._syncing:
            return
        problem = change["new"]
        self.apply(problem=problem, dataset=self._last_dataset[problem])

    def _on_feature(self, change):
        if self._syncing:
            return
        chosen = tuple(name for name, toggle in self.controls["features"].items()
                       if toggle.value)
        self.apply(features=chosen)

    def _change_layers(self, delta):
        layers = list(self.engine.settings.hidden_layers)
        if delta > 0 and len(layers) < MAX_LAYERS:
            self.apply(hidden_layers=(*layers, 2))          # the original adds 2 neurons
        elif delta < 0 and layers:
            self.apply(hidden_layers=tuple(layers[:-1]))

    def _change_neurons(self, layer, delta):
        layers = list(self.engine.settings.hidden_layers)
        if 0 <= layer < len(layers) and 1 <= layers[layer] + delta <= MAX_NEURONS:
            layers[layer] += delta
            self.apply(hidden_layers=tuple(layers))

    def _on_preset(self, change):
        if self._syncing or not change["new"]:
            return
        name = change["new"]
        self.load_preset(name)
        self._syncing = True
        try:
            self.controls["preset"].value = ""
        finally:
            self._syncing = False

    def _on_view(self):
        if self._syncing:
            return
        with self.lock:
            self.redraw()

    # ---- actions ----------------------------------------------------------------------------

    def apply(self, **changes) -> str:
        """Change settings as the controls do; returns what the engine did ("new data",
        "reset" or "kept"). A change that rebuilds the network pauses training first, as in
        the original. Bad values raise ValueError and change nothing."""
        current = self.engine.settings
        if any(getattr(current, k, v) != v for k, v in changes.items()
               if k != "learning_rate"):
            self.pause()
        with self.lock:
            try:
                result = self.engine.update(**changes)
            except (TypeError, ValueError) as exc:
                self._status.value = f"<span style='color:#b00'>{exc}</span>"
                self._sync_controls()
                raise
            s = self.engine.settings
            self._last_dataset[s.problem] = s.dataset
            self._status.value = ""
            self._sync_controls()
            self.redraw()
        return result

    def load_preset(self, name: str) -> None:
        """Load one of ``nnutils.playground.PRESETS`` (all its settings) and show its lesson."""
        if name not in PRESETS:
            raise ValueError(f"load_preset: unknown preset {name!r}; choose one of "
                             f"{list(PRESETS)}")
        preset = PRESETS[name]
        self.apply(**asdict(preset.settings))
        self._lesson.value = (f"<b>{name}</b>: {preset.lesson} "
                              f"<i>(about {preset.epochs} epochs)</i>")

    def reset(self) -> None:
        """The reset button: pause, new random weights, epoch 0."""
        self.pause()
        with self.lock:
            self.engine.reset()
            self.redraw()

    def regenerate(self) -> None:
        """The regenerate button: new data, same network."""
        with self.lock:
            self.engine.regenerate()
            self.redraw()

    def step(self) -> None:
        """The step button: pause, then train one epoch and redraw."""
        self.pause()
        with self.lock:
            self._frame()

    def _frame(self) -> None:
        start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):
            self.engine.step()
        self.redraw()
        self.last_frame_seconds = time.perf_counter() - start

    # ---- playing ----------------------------------------------------------------------------

    @property
    def is_playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def play(self) -> None:
        """Start training in a background thread: one epoch and one redraw per frame."""
        if self.is_playing:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="playground", daemon=True)
        self.controls["play"].icon = "pause"
        self._thread.start()

    def pause(self, timeout: float = 5.0) -> None:
        """Stop the background thread and wait for it (at most one frame)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.controls["play"].icon = "play"

    def _run(self) -> None:
        period = 1.0 / self.max_fps if self.max_fps else 0.0
        while not self._stop.is_set():
            start = time.perf_counter()
            with self.lock:
                if self._stop.is_set():
                    break
                try:
                    self._frame()
                except Exception as exc:    # show the problem and stop, never die silently
                    self.error = f"{type(exc).__name__}: {exc}"
                    self._status.value = f"<span style='color:#b00'>{self.error}</span>"
                    break
                self.frames += 1
            # Waiting on the event (not sleeping) lets pause() wake us at once; the short
            # minimum lets the kernel's main thread take the GIL between frames.
            self._stop.wait(max(period - (time.perf_counter() - start), 0.002))
        self.controls["play"].icon = "play"

    # ---- drawing ----------------------------------------------------------------------------

    def redraw(self) -> None:
        """Redraw every picture and number from the engine's current state."""
        with one_blas_thread():        # small products: one BLAS thread is much faster
            self._redraw()

    def _redraw(self) -> None:
        e, s, c = self.engine, self.engine.settings, self.controls
        discretize = c["discretize"].value
        with np.errstate(over="ignore", invalid="ignore"):
            out = e.heatmap(self.resolution)
            neurons = e.neuron_heatmaps(self.thumb_resolution)
            out_small = e.heatmap(self.thumb_resolution)
        test = (e.X_test, e.y_test) if c["show_test_data"].value else None
        self.images["heatmap"].value = rgb_png(
            render_heatmap(out, (e.X_train, e.y_train), test, discretize, _HEATMAP_SIZE))
        self.images["loss_chart"].value = rgb_png(render_loss_chart(e.history,
                                                                    _HEATMAP_SIZE, 60))
        self._losses.value = (f"Test loss <b>{e.test_loss:.3f}</b><br>"
                              f"Training loss <b>{e.train_loss:.3f}</b>")
        self._epoch.value = f"Epoch<br><b style='font-size:1.3em'>{e.epoch:07,d}</b>"

        # The feature row: all seven, the unused ones pale, as the original shows them.
        key = (s.features, discretize)
        if getattr(self, "_features_key", None) != key:
            maps = e.feature_heatmaps(self.thumb_resolution)
            faded = [name not in s.features for name in FEATURES]
            self.images["features"].value = rgb_png(render_thumbnails(
                np.stack(list(maps.values())), _THUMB, _SLOT, _ROW_WIDTH, discretize, faded))
            self._features_key = key
        x_prev = _slot_centres(len(FEATURES), _SLOT)[[list(FEATURES).index(f)
                                                      for f in s.features]]
        for layer, image in enumerate(self.images["layers"] + [self.images["output"]]):
            maps = neurons[layer] if layer < len(neurons) else out_small[None]
            x_here = _slot_centres(maps.shape[0], _SLOT)
            links = render_links(e.weights[layer], x_prev, x_here, _ROW_WIDTH, _LINK_HEIGHT)
            thumbs = render_thumbnails(maps, _THUMB, _SLOT, _ROW_WIDTH, discretize)
            image.value = rgb_png(np.concatenate([links, thumbs]))
            x_prev = x_here


def make_playground_app(settings=None, max_fps=20, **changes):
    """Build the Playground app and return its container (an ipywidgets VBox) to display.

    settings: a ``nnutils.playground.Settings`` (default: the Playground's defaults);
    changes: settings to override, e.g. ``make_playground_app(dataset="xor")``;
    max_fps: the most frames per second while playing.
    The container carries ``.app`` (the ``PlaygroundApp``: play, pause, step, reset, apply,
    load_preset), ``.controls`` (name -> widget) and ``.engine`` (the ``Playground``).
    Nothing trains until Play or Step is pressed.
    """
    if settings is not None and not isinstance(settings, Settings):
        raise TypeError(f"make_playground_app: settings must be a Settings or None; got "
                        f"{type(settings).__name__}")
    app = PlaygroundApp(settings, max_fps=max_fps, **changes)
    box = app.container
    box.app, box.controls, box.engine, box.images = app, app.controls, app.engine, app.images
    return friendly(box)
