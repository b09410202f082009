"""Figures and widgets of lecture 3: backpropagation.

The lecture's sections, and what this module gives each of them:

1. **Computational graphs by hand.** ``GRAPH_EXAMPLES`` holds the Western deck's graphs
   ((x + y)·z, exp(1/x), the node h = w·x + v·y followed by c = u·h) and a sigmoid neuron, each
   built with ``nnutils.graph``. ``evaluate_graph_example`` runs the forward and backward pass at
   chosen inputs and checks every input's gradient against its closed form and against centred
   differences; ``plot_graph_example`` draws the graph; ``make_graph_app`` puts a dropdown (which
   graph) and a slider per input on top.
2. **Numerical gradients.** ``difference_errors`` measures how far forward differences
   (error O(h)) and centred differences (error O(h²)) land from the true derivative as the step h
   shrinks, until rounding takes over; ``plot_difference_errors`` draws it on log-log axes.
3. **Vanishing gradients.** ``depth_data`` (a batch of the 8x8 digits), ``layer_gradient_norms``
   (‖∂L/∂W_l‖ of every layer of a fresh ``MLP``), ``plot_depth_gradients`` and the widget
   ``make_depth_app`` (sliders for depth and width, dropdowns for activation and initialization).
4. **Weight-space symmetries.** ``two_layer_forward``, ``permute_hidden``, ``flip_hidden``,
   ``equivalent_parameters`` (all M!·2^M weight vectors of a tanh net with M hidden units that
   compute the same function) and ``loss_along_segment`` (the loss on the straight line between
   two of them: equal at both ends, higher in between, so the error surface is not convex).

Every ``make_*_app`` returns an ipywidgets VBox with ``app.controls`` (a dict of the control
widgets, whose ``.value`` a test may set), ``app.panel`` (the ``PlotPanel`` that is redrawn)
and ``app.info`` (an HTML widget with the numbers of the current drawing). matplotlib and
ipywidgets are imported inside the functions.
"""

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._checks import as_float_array, check_finite, check_labels, check_scalar, check_shape
from ..graph import Value, _figsize, _layout, _names, _node_strings, draw_graph
from ..layers import ACTIVATIONS
from ..losses import softmax_cross_entropy
from . import PlotPanel, friendly

__all__ = [
    "ACTIVATION_CHOICES", "GRAPH_EXAMPLES", "INIT_CHOICES", "GraphExample", "GraphResult",
    "depth_data", "difference_errors", "equivalent_parameters", "evaluate_graph_example",
    "flip_hidden", "layer_gradient_norms", "loss_along_segment", "make_depth_app",
    "make_graph_app", "permute_hidden", "plot_depth_gradients", "plot_difference_errors",
    "plot_graph_example", "plot_loss_along_segment", "two_layer_forward",
]

_WIDTH = "auto"     # PlotPanel shows the PNG at its own size


def _app(controls: dict, panel: PlotPanel, info, rows=None):
    import ipywidgets as widgets

    top = rows if rows is not None else [widgets.HBox(list(controls.values()))]
    app = widgets.VBox([*top, panel.widget, info])
    app.controls = controls
    app.panel = panel
    app.info = info
    return app


# --------------------------------------------------------------------------------------------
# 1. The deck's computational graphs
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GraphExample:
    """One small graph of the lecture.

    inputs: name -> (default, low, high) of every input (also the sliders' ranges).
    build: build(**inputs) -> the root Value, forward pass done (nothing else).
    upstream: the name of the input that is ∂L/∂root, the gradient arriving from a larger graph
        (None when the root is the loss itself, upstream 1).
    closed_form: input name -> function(**inputs) giving ∂L/∂input by hand.
    loss_name: what the gradients are derivatives of ("f", "L", ...).
    """

    inputs: dict
    build: Callable
    closed_form: dict
    loss_name: str
    upstream: str | None = None


def _build_xyz(x, y, z):
    x, y, z = Value(x, "x"), Value(y, "y"), Value(z, "z")
    q = (x + y).named("q")
    return (q * z).named("f")


def _build_exp_inverse(x):
    x = Value(x, "x")
    a = (1 / x).named("a")
    return a.exp().named("f")


def _build_wxvyu(w, x, v, y, u):
    w, x, v, y, u = (Value(t, n) for t, n in zip((w, x, v, y, u), "wxvyu"))
    i = (w * x).named("i")          # the deck's node h(i, j) = i + j, fed by i = w·x, j = v·y
    j = (v * y).named("j")
    h = (i + j).named("h")
    return (u * h).named("c")


def _build_neuron(w1, x1, w2, x2, b):
    w1, x1, w2, x2, b = (Value(t, n) for t, n in
                         zip((w1, x1, w2, x2, b), ("w1", "x1", "w2", "x2", "b")))
    s = (w1 * x1 + w2 * x2 + b).named("s")
    return s.sigmoid().named("p")


def _sig(s):
    return 1 / (1 + math.exp(-s)) if s >= 0 else math.exp(s) / (1 + math.exp(s))


def _neuron_slope(w1, x1, w2, x2, b):
    p = _sig(w1 * x1 + w2 * x2 + b)
    return p * (1 - p)


#: The graphs of the lecture, by the name the dropdown shows.
GRAPH_EXAMPLES = {
    "(x + y)·z": GraphExample(
        inputs={"x": (-2.0, -5.0, 5.0), "y": (5.0, -5.0, 5.0), "z": (-4.0, -5.0, 5.0)},
        build=_build_xyz,
        closed_form={"x": lambda x, y, z: z, "y": lambda x, y, z: z,
                     "z": lambda x, y, z: x + y},
        loss_name="f"),
    "exp(1/x)": GraphExample(
        inputs={"x": (1.0, 0.3, 3.0)},
        build=_build_exp_inverse,
        closed_form={"x": lambda x: -math.exp(1 / x) / x ** 2},
        loss_name="f"),
    "c = u·(w·x + v·y)": GraphExample(
        inputs={"w": (1.0, -5.0, 5.0), "x": (2.0, -5.0, 5.0), "v": (3.0, -5.0, 5.0),
                "y": (4.0, -5.0, 5.0), "u": (2.0, -5.0, 5.0), "dL_dc": (3.0, -5.0, 5.0)},
        build=_build_wxvyu,
        closed_form={"w": lambda w, x, v, y, u, dL_dc: dL_dc * u * x,
                     "x": lambda w, x, v, y, u, dL_dc: dL_dc * u * w,
                     "v": lambda w, x, v, y, u, dL_dc: dL_dc * u * y,
                     "y": lambda w, x, v, y, u, dL_dc: dL_dc * u * v,
                     "u": lambda w, x, v, y, u, dL_dc: dL_dc * (w * x + v * y)},
        loss_name="L", upstream="dL_dc"),
    "σ(w1·x1 + w2·x2 + b)": GraphExample(
        inputs={"w1": (1.5, -3.0, 3.0), "x1": (-1.0, -3.0, 3.0), "w2": (-0.5, -3.0, 3.0),
                "x2": (2.0, -3.0, 3.0), "b": (0.5, -3.0, 3.0)},
        build=_build_neuron,
        closed_form={"w1": lambda w1, x1, w2, x2, b: _neuron_slope(w1, x1, w2, x2, b) * x1,
                     "x1": lambda w1, x1, w2, x2, b: _neuron_slope(w1, x1, w2, x2, b) * w1,
                     "w2": lambda w1, x1, w2, x2, b: _neuron_slope(w1, x1, w2, x2, b) * x2,
                     "x2": lambda w1, x1, w2, x2, b: _neuron_slope(w1, x1, w2, x2, b) * w2,
                     "b": lambda w1, x1, w2, x2, b: _neuron_slope(w1, x1, w2, x2, b)},
        loss_name="p"),
}


@dataclass
class GraphResult:
    """One example evaluated: the graph after its backward pass, and every check.

    name: the example's name; values: the inputs used; root: the output Value (its graph holds
    every value, local derivative and gradient); nodes: every named node by name;
    gradients: input name -> ∂L/∂input by backpropagation (upstream inputs excluded);
    closed_form: the same by the formula worked out by hand; numerical: the same by centred
    differences of L = upstream·root; max_rel_error: the largest relative error of backprop
    against the numerical gradients.
    """

    name: str
    values: dict
    root: Value
    nodes: dict
    gradients: dict
    closed_form: dict
    numerical: dict
    max_rel_error: float


def _example(name, func: str) -> GraphExample:
    if name not in GRAPH_EXAMPLES:
        raise ValueError(f"{func}: unknown example {name!r}; choose one of "
                         f"{', '.join(repr(k) for k in GRAPH_EXAMPLES)}")
    return GRAPH_EXAMPLES[name]


def _example_values(example: GraphExample, values: dict, func: str) -> dict:
    unknown = [k for k in values if k not in example.inputs]
    if unknown:
        raise ValueError(f"{func}: unknown input(s) {', '.join(unknown)}; this graph has "
                         f"{', '.join(example.inputs)}")
    out = {}
    for k, (default, _, _) in example.inputs.items():
        v = float(check_scalar(values.get(k, default), k, func))
        if not math.isfinite(v):
            raise ValueError(f"{func}: {k} must be finite; got {v}")
        out[k] = v
    return out


def _graph_inputs(example: GraphExample, vals: dict) -> dict:
    return {k: v for k, v in vals.items() if k != example.upstream}


def evaluate_graph_example(name, h=1e-6, **values):
    """Forward and backward pass of ``GRAPH_EXAMPLES[name]`` at the given inputs, checked.

    name: a key of ``GRAPH_EXAMPLES``; values: inputs by name (the defaults, the deck's
    numbers, for any left out); h: the centred-difference step.
    The loss is L = upstream·root (upstream = 1 unless the example has an upstream input), so
    ``root.backward(upstream)`` gives ∂L/∂node at every node. Returns a ``GraphResult``.
    """
    func = "evaluate_graph_example"
    example = _example(name, func)
    h = float(check_scalar(h, "h", func, low=0, low_open=True))
    vals = _example_values(example, values, func)
    upstream = vals[example.upstream] if example.upstream else 1.0
    inputs = _graph_inputs(example, vals)
    root = example.build(**inputs)
    root.backward(upstream)
    order = root.topological_order()
    nodes = {n.label: n for n in order if n.label and not n.constant}
    gradients = {k: nodes[k].grad for k in inputs}
    closed = {k: float(example.closed_form[k](**vals)) for k in inputs}
    numerical = {}
    for k in inputs:
        up = example.build(**{**inputs, k: inputs[k] + h}).data
        down = example.build(**{**inputs, k: inputs[k] - h}).data
        numerical[k] = upstream * (up - down) / (2 * h)
    worst = max((abs(gradients[k] - numerical[k])
                 / max(1e-8, abs(gradients[k]) + abs(numerical[k])) for k in inputs),
                default=0.0)
    return GraphResult(name, vals, root, nodes, gradients, closed, numerical, float(worst))


def plot_graph_example(name, ax=None, **values):
    """Draw ``GRAPH_EXAMPLES[name]`` at the given inputs after its backward pass.

    Every node shows its value (black) and gradient (red), every edge its local derivative
    (blue); see ``nnutils.graph.draw_graph``. Returns the Axes.
    """
    result = evaluate_graph_example(name, **values)
    example = GRAPH_EXAMPLES[name]
    return draw_graph(result.root, ax=ax, loss_name=example.loss_name,
                      title=f"{name}: forward values and gradients")


class _GraphCanvas:
    """One example's drawing, redrawn fast when only the numbers change.

    The graph's shape does not depend on the inputs, so everything but the numbers (nodes,
    arrows, symbols, title, legend) is drawn once into a cached background; a redraw pastes it
    and draws only the texts with numbers, updated in place (matplotlib's blitting).
    """

    def __init__(self, name: str):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.text import Text

        self.name = name
        self.example = GRAPH_EXAMPLES[name]
        root = evaluate_graph_example(name).root
        order = root.topological_order()
        self.figure = Figure(figsize=_figsize(_layout(order)), dpi=80)
        FigureCanvasAgg(self.figure)
        ax = self.figure.add_subplot()
        self.figure.subplots_adjust(left=0.04, right=0.98, top=0.92, bottom=0.14)
        draw_graph(root, ax=ax, loss_name=self.example.loss_name,
                   title=f"{name}: forward values and gradients")
        self.texts = {t.get_gid(): t for t in ax.findobj(Text) if t.get_gid()}
        for t in self.texts.values():
            t.set_animated(True)
        self.figure.canvas.draw()
        self.background = self.figure.canvas.copy_from_bbox(self.figure.bbox)

    def render(self, root: Value) -> np.ndarray:
        order = root.topological_order()
        strings = _node_strings(order, _names(order), self.example.loss_name, "{:.3g}")
        canvas = self.figure.canvas
        canvas.restore_region(self.background)
        for k, s in enumerate(strings):
            updates = [(f"value:{k}", s["value"]), (f"grad:{k}", s["grad"])]
            updates += [(f"local:{k}:{j}", text) for j, text in enumerate(s["local"])]
            for gid, text in updates:
                artist = self.texts.get(gid)
                if artist is not None and text is not None:
                    artist.set_text(text)
                    artist.axes.draw_artist(artist)
        return np.array(canvas.buffer_rgba())


def _graph_info(result: GraphResult, seconds: float) -> str:
    example = GRAPH_EXAMPLES[result.name]
    loss = example.loss_name
    rows = "".join(
        f"<tr><td>∂{loss}/∂{k}</td><td>{result.gradients[k]:.6g}</td>"
        f"<td>{result.closed_form[k]:.6g}</td><td>{result.numerical[k]:.6g}</td></tr>"
        for k in result.gradients)
    up = (f" The upstream gradient ∂L/∂{result.root.label} = {result.values[example.upstream]:g}"
          f" comes from the rest of a larger graph." if example.upstream else "")
    return (f"<p>{result.root.label} = {result.root.data:.6g}.{up} Largest relative error of"
            f" backprop against centred differences: {result.max_rel_error:.1e}"
            f" (drawn in {seconds * 1000:.0f} ms).</p>"
            f"<table><tr><th>gradient</th><th>backprop</th><th>by hand</th>"
            f"<th>numerical</th></tr>{rows}</table>")


def make_graph_app(example="(x + y)·z"):
    """A dropdown of ``GRAPH_EXAMPLES`` and a slider per input of the chosen graph.

    Every move runs the forward and backward pass and redraws the graph with every value,
    gradient and local derivative; the info line under it compares each gradient with its
    closed form and with centred differences.
    Returns the app (VBox) with ``app.controls["example"]`` (Dropdown), ``app.sliders`` (example
    name -> {input name -> FloatSlider}; only the chosen example's sliders are shown),
    ``app.panel``, ``app.info`` and ``app.result()`` returning the current ``GraphResult``.
    """
    import ipywidgets as widgets

    _example(example, "make_graph_app")
    dropdown = widgets.Dropdown(options=list(GRAPH_EXAMPLES), value=example,
                                description="graph")
    sliders = {}
    for name, ex in GRAPH_EXAMPLES.items():
        step = 0.05 if name == "exp(1/x)" else 0.25
        sliders[name] = {
            k: widgets.FloatSlider(value=d, min=lo, max=hi, step=step,
                                   description="∂L/∂c" if k == "dL_dc" else k,
                                   continuous_update=True, readout_format=".2f",
                                   layout=widgets.Layout(width="300px"))
            for k, (d, lo, hi) in ex.inputs.items()}
    slider_box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
    info = widgets.HTML()
    canvases = {name: _GraphCanvas(name) for name in GRAPH_EXAMPLES}   # ~0.1 s each, once
    current = {}

    def plot(name, values):
        current["result"] = evaluate_graph_example(name, **values)
        return canvases[name].render(current["result"].root)

    panel = PlotPanel(plot, width=_WIDTH)

    def redraw(_=None):
        name = dropdown.value
        panel.update(name=name, values={k: s.value for k, s in sliders[name].items()})
        info.value = _graph_info(current["result"], panel.last_seconds)

    def choose(_=None):
        slider_box.children = list(sliders[dropdown.value].values())
        redraw()

    dropdown.observe(choose, names="value")
    for group in sliders.values():
        for s in group.values():
            s.observe(redraw, names="value")
    choose()
    app = _app({"example": dropdown}, panel, info, rows=[dropdown, slider_box])
    app.sliders = sliders
    app.result = lambda: current["result"]
    return friendly(app)


# --------------------------------------------------------------------------------------------
# 2. Forward and centred differences
# --------------------------------------------------------------------------------------------

def difference_errors(f, dfdx, x, hs):
    """Errors of forward and centred differences of a scalar function, for each step h.

    f: a function of one float returning a float; dfdx: the true derivative f'(x) (a number);
    x: the point; hs: steps h > 0.
    forward  = (f(x + h) − f(x)) / h,          error ≈ h·|f''(x)|/2    (first order)
    centred  = (f(x + h) − f(x − h)) / (2h),   error ≈ h²·|f'''(x)|/6  (second order)
    Both also suffer rounding: f is known to about 1e-16·|f(x)|, an error that the division by
    h blows up, so for tiny h the errors grow again (like 1e-16/h).
    Returns (hs, forward_errors, centred_errors) as float arrays; an error of exactly 0 (lucky
    rounding) is reported as 1e-17 so that it can be drawn on a log scale.
    """
    func = "difference_errors"
    if not callable(f):
        raise TypeError(f"{func}: f must be a function of one number; got {type(f).__name__}")
    dfdx = float(check_scalar(dfdx, "dfdx", func))
    x = float(check_scalar(x, "x", func))
    hs = as_float_array(hs, "hs", func, ndim=1, dims="(K,)")
    if hs.size == 0 or not np.all(np.isfinite(hs)) or np.any(hs <= 0):
        raise ValueError(f"{func}: hs must be a non-empty list of finite steps > 0; got "
                         f"{hs.tolist()[:6]}")
    fx = float(f(x))
    forward = np.array([abs((float(f(x + h)) - fx) / h - dfdx) for h in hs])
    centred = np.array([abs((float(f(x + h)) - float(f(x - h))) / (2 * h) - dfdx) for h in hs])
    return hs.astype(np.float64), np.maximum(forward, 1e-17), np.maximum(centred, 1e-17)


def plot_difference_errors(hs, forward, centred, ax=None,
                           title="Finite differences: error against step h"):
    """Log-log plot of ``difference_errors``, with guide lines of slope 1 and 2.

    hs, forward, centred: (K,) arrays. Where the truncation error rules, forward differences
    run parallel to the slope-1 guide (error ∝ h) and centred ones to the slope-2 guide
    (error ∝ h²); left of the best h rounding error takes over and both climb like 1/h.
    Returns the Axes.
    """
    func = "plot_difference_errors"
    hs = as_float_array(hs, "hs", func, ndim=1, dims="(K,)")
    forward = as_float_array(forward, "forward", func, ndim=1, dims="(K,)")
    centred = as_float_array(centred, "centred", func, ndim=1, dims="(K,)")
    check_shape(forward, hs.shape, "forward", func, "(one error per h)")
    check_shape(centred, hs.shape, "centred", func, "(one error per h)")
    if np.any(hs <= 0) or np.any(forward <= 0) or np.any(centred <= 0):
        raise ValueError(f"{func}: steps and errors must be > 0 to be drawn on log axes")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog(hs, forward, "o-", color="C1", markersize=4, label="forward (f(x+h) − f(x)) / h")
    ax.loglog(hs, centred, "s-", color="C0", markersize=4,
              label="centred (f(x+h) − f(x−h)) / 2h")
    big = hs >= np.sqrt(hs.min() * hs.max())          # the guides span the right half,
    i = int(np.argmax(np.where(big, hs, -np.inf)))     # beside (not on) the curves they explain
    for slope, style, anchor, shift in ((1, ":", forward, 4.0), (2, "--", centred, 0.25)):
        c = shift * anchor[i] / hs[i] ** slope
        ax.loglog(hs[big], c * hs[big] ** slope, style, color="gray",
                  label=f"slope {slope}: error ∝ h{'²' if slope == 2 else ''}")
    ax.set_title(title)
    ax.set_xlabel("step h")
    ax.set_ylabel("|numerical − true derivative|")
    ax.legend(fontsize="small", loc="upper center")
    return ax


# --------------------------------------------------------------------------------------------
# 3. Vanishing gradients in deep networks
# --------------------------------------------------------------------------------------------

ACTIVATION_CHOICES = ("sigmoid", "tanh", "relu")
INIT_CHOICES = ("xavier_uniform", "he_normal", "small_random")


def depth_data(n=200, seed=0):
    """A fixed batch of the 8x8 digits for the gradient-norm experiments.

    n: how many training images (1 to 1000); seed: the split's seed. Returns (X (n, 64), y (n,)):
    standardized pixels and labels 0..9, the same on every call.
    """
    from ..data import load_digits

    func = "depth_data"
    n = int(check_scalar(n, "n", func, low=1, high=1000, integer=True))
    seed = int(check_scalar(seed, "seed", func, low=0, integer=True))
    digits = load_digits(seed=seed)
    return digits.X_train[:n], digits.y_train[:n]


def _check_net_choice(activation, init, func: str):
    if activation not in ACTIVATION_CHOICES:
        raise ValueError(f"{func}: activation must be one of {', '.join(ACTIVATION_CHOICES)};"
                         f" got {activation!r}")
    if init not in INIT_CHOICES:
        raise ValueError(f"{func}: init must be one of {', '.join(INIT_CHOICES)}; got {init!r}")


def layer_gradient_norms(X, y, depth, activation="sigmoid", init="xavier_uniform", width=32,
                         seed=0):
    """‖∂L/∂W_l‖ of every layer of a freshly initialized deep network, input layer first.

    X: (N, D) inputs; y: (N,) integer labels 0..C−1 (C = max(y) + 1, at least 2).
    depth: the number of hidden layers (1 to 50), each ``width`` units wide (1 to 512), so the
    net ``MLP([D, width, ..., width, C])`` has depth + 1 weight matrices.
    activation: "sigmoid", "tanh" or "relu"; init: "xavier_uniform", "he_normal" or
    "small_random"; seed: the initial weights' seed.
    The loss is softmax cross-entropy without regularization; no training happens. Returns a
    float64 array (depth + 1,): the Frobenius norm of each layer's weight gradient.
    """
    from ..models import MLP

    func = "layer_gradient_norms"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, D)")
    check_finite(X, "X", func)
    if X.shape[0] == 0:
        raise ValueError(f"{func}: X must hold at least one sample; got shape {X.shape}")
    y_arr = np.asarray(y)
    classes = max(2, int(y_arr.max()) + 1) if y_arr.size and np.issubdtype(
        y_arr.dtype, np.number) else 2
    y = check_labels(y, X.shape[0], classes, func)
    depth = int(check_scalar(depth, "depth", func, low=1, high=50, integer=True))
    width = int(check_scalar(width, "width", func, low=1, high=512, integer=True))
    seed = int(check_scalar(seed, "seed", func, low=0, integer=True))
    _check_net_choice(activation, init, func)
    model = MLP([X.shape[1]] + [width] * depth + [classes], activation=activation, init=init,
                rng=np.random.default_rng(seed))
    return np.array(model.gradient_norms(X, y))


def plot_depth_gradients(X, y, depth, activation="sigmoid", init="xavier_uniform", width=32,
                         seed=0, reference=("relu", "he_normal"), ax=None):
    """Gradient norm per layer (log scale) of a deep net, next to a reference net.

    X, y, depth, activation, init, width, seed: as ``layer_gradient_norms``.
    reference: (activation, init) of a second net of the same shape drawn for comparison (gray,
    dashed), or None; it is left out when it equals the first net.
    ax: an Axes to draw into (its lines and legend are replaced, its scales kept), or None for
    a new figure. Returns the Axes; its title gives the ratio of the first layer's gradient norm
    to the last one's, and ``ax.lines[0]`` holds the net's norms.
    """
    func = "plot_depth_gradients"
    norms = layer_gradient_norms(X, y, depth, activation, init, width, seed)
    ref = None
    if reference is not None:
        if not isinstance(reference, (tuple, list)) or len(reference) != 2:
            raise ValueError(f"{func}: reference must be a pair (activation, init) or None; got"
                             f" {reference!r}")
        _check_net_choice(reference[0], reference[1], func)
        if tuple(reference) != (activation, init):
            ref = layer_gradient_norms(X, y, depth, reference[0], reference[1], width, seed)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

    for line in list(ax.lines):
        line.remove()
    if ax.get_yscale() != "log":
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=7))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    layers = np.arange(1, depth + 2)
    ax.plot(layers, np.maximum(norms, 1e-300), "o-", color="C0", markersize=4,
            label=f"{activation}, {init}")
    shown = [norms]
    if ref is not None:
        ax.plot(layers, np.maximum(ref, 1e-300), "s--", color="gray", markersize=3,
                label=f"{reference[0]}, {reference[1]} (reference)")
        shown.append(ref)
    low = min(float(np.min(v)) for v in shown)
    high = max(float(np.max(v)) for v in shown)
    low = max(low, 1e-300)
    ax.set_ylim(low / 4, max(high, low) * 4)
    ax.set_xlim(0.5, depth + 1.5)
    ratio = norms[0] / norms[-1] if norms[-1] > 0 else float("nan")
    ax.set_title(f"{depth} hidden layers: ‖∂L/∂W₁‖ / ‖∂L/∂W_last‖ = {ratio:.1e}")
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel("‖∂L/∂W‖ (log scale)")
    ax.legend(fontsize="small", loc="lower right")
    return ax


def make_depth_app(depth=10, activation="sigmoid", init="xavier_uniform", width=32, n=200):
    """Sliders for depth and width and dropdowns for activation and initialization, redrawing
    the gradient norm of every layer of a fresh net on a fixed batch of digits (the ReLU/He net
    of the same shape drawn as a reference).

    Returns the app (VBox) with ``app.controls`` = {"depth", "width" (IntSliders),
    "activation", "init" (Dropdowns)}, ``app.panel``, ``app.info`` and ``app.norms()``, the
    current net's norms (depth + 1,).
    """
    import ipywidgets as widgets
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    func = "make_depth_app"
    depth = int(check_scalar(depth, "depth", func, low=1, high=30, integer=True))
    width = int(check_scalar(width, "width", func, low=4, high=64, integer=True))
    _check_net_choice(activation, init, func)
    X, y = depth_data(n)
    controls = {
        "depth": widgets.IntSlider(value=depth, min=1, max=30, description="hidden layers"),
        "width": widgets.IntSlider(value=width, min=4, max=64, step=4, description="width"),
        "activation": widgets.Dropdown(options=ACTIVATION_CHOICES, value=activation,
                                       description="activation"),
        "init": widgets.Dropdown(options=INIT_CHOICES, value=init, description="init"),
    }
    info = widgets.HTML()
    current = {}
    fig = Figure(figsize=(6.4, 4.2), dpi=80)      # one figure, redrawn: its ticks are reused
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.13, right=0.97, top=0.9, bottom=0.13)

    def plot(depth, width, activation, init):
        plot_depth_gradients(X, y, depth, activation, init, width, ax=ax)
        current["norms"] = np.asarray(ax.lines[0].get_ydata(), dtype=np.float64)
        fig.canvas.draw()
        return np.array(fig.canvas.buffer_rgba())

    panel = PlotPanel(plot, width=_WIDTH)

    def redraw(_=None):
        values = {k: c.value for k, c in controls.items()}
        panel.update(**values)
        norms = current["norms"]
        info.value = (f"<p>{values['activation']} units, {values['init']} weights:"
                      f" the first layer's gradient norm is {norms[0]:.2e}, the last one's"
                      f" {norms[-1]:.2e} (drawn in {panel.last_seconds * 1000:.0f} ms).</p>")

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    app = _app(controls, panel, info)
    app.norms = lambda: current["norms"].copy()
    return friendly(app)


# --------------------------------------------------------------------------------------------
# 4. Weight-space symmetries
# --------------------------------------------------------------------------------------------

_KEYS = ("W1", "b1", "W2", "b2")


def _check_two_layer(params, func: str) -> dict:
    if not isinstance(params, dict) or set(params) != set(_KEYS):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"{func}: params must be a dict with keys W1 (D, M), b1 (M,),"
                         f" W2 (M, K), b2 (K,); got {got}")
    W1 = as_float_array(params["W1"], "params['W1']", func, ndim=2, dims="(D, M)")
    m = W1.shape[1]
    b1 = as_float_array(params["b1"], "params['b1']", func, ndim=1, dims="(M,)")
    check_shape(b1, (m,), "params['b1']", func, f"= (M,) to match W1 of shape {W1.shape}")
    W2 = as_float_array(params["W2"], "params['W2']", func, ndim=2, dims="(M, K)")
    check_shape(W2, (m, None), "params['W2']", func, f"= (M, K) to match W1 of shape {W1.shape}")
    b2 = as_float_array(params["b2"], "params['b2']", func, ndim=1, dims="(K,)")
    check_shape(b2, (W2.shape[1],), "params['b2']", func,
                f"= (K,) to match W2 of shape {W2.shape}")
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def two_layer_forward(X, params, activation="tanh"):
    """Outputs of a two-layer net: φ(X·W1 + b1)·W2 + b2.

    X: (N, D); params: W1 (D, M), b1 (M,), W2 (M, K), b2 (K,); activation: a name of
    ``nnutils.layers.ACTIVATIONS`` except "sign" ("tanh" by default). Returns (N, K) scores.
    """
    func = "two_layer_forward"
    p = _check_two_layer(params, func)
    X = as_float_array(X, "X", func, ndim=2, dims="(N, D)")
    check_shape(X, (None, p["W1"].shape[0]), "X", func, "= (N, D) to match W1")
    if activation not in ACTIVATIONS or activation == "sign":
        raise ValueError(f"{func}: activation must be 'tanh', 'sigmoid', 'relu' or 'linear';"
                         f" got {activation!r}")
    hidden = ACTIVATIONS[activation][0](X @ p["W1"] + p["b1"])[0]
    return hidden @ p["W2"] + p["b2"]


def permute_hidden(params, perm):
    """The same network with its hidden units reordered: unit j of the new net is unit perm[j].

    params: W1 (D, M), b1 (M,), W2 (M, K), b2 (K,); perm: a permutation of 0..M−1.
    The columns of W1, the entries of b1 and the rows of W2 move together, so every hidden unit
    keeps its incoming and outgoing weights. Returns a new dict (params are not modified).
    """
    func = "permute_hidden"
    p = _check_two_layer(params, func)
    m = p["W1"].shape[1]
    perm = np.asarray(perm)
    if perm.shape != (m,) or not np.issubdtype(perm.dtype, np.integer) \
            or sorted(perm.tolist()) != list(range(m)):
        raise ValueError(f"{func}: perm must be a permutation of 0..{m - 1} (one entry per"
                         f" hidden unit); got {perm.tolist()}")
    return {"W1": p["W1"][:, perm].copy(), "b1": p["b1"][perm].copy(),
            "W2": p["W2"][perm, :].copy(), "b2": p["b2"].copy()}


def flip_hidden(params, signs):
    """The same tanh network with some hidden units' signs flipped.

    params: W1 (D, M), b1 (M,), W2 (M, K), b2 (K,); signs: (M,) entries +1 or −1.
    Unit j's incoming weights and bias and its outgoing weights are multiplied by signs[j].
    Because tanh(−a) = −tanh(a), the two sign changes cancel and a tanh net computes the same
    function; a ReLU or sigmoid net does not. Returns a new dict.
    """
    func = "flip_hidden"
    p = _check_two_layer(params, func)
    m = p["W1"].shape[1]
    s = as_float_array(signs, "signs", func, ndim=1, dims="(M,)")
    check_shape(s, (m,), "signs", func, "(one sign per hidden unit)")
    if not np.all(np.abs(s) == 1):
        raise ValueError(f"{func}: signs must hold only +1 and −1; got {s.tolist()}")
    return {"W1": p["W1"] * s, "b1": p["b1"] * s, "W2": p["W2"] * s[:, None],
            "b2": p["b2"].copy()}


def equivalent_parameters(params):
    """Every weight vector that the hidden-unit symmetries of a tanh net reach from params.

    params: W1 (D, M), b1 (M,), W2 (M, K), b2 (K,), with M <= 6 hidden units.
    Returns a list of M!·2^M parameter dicts, one per (permutation, sign pattern), the identity
    first. All compute the same function with tanh units; they are distinct weight vectors
    unless some hidden units coincide (or are zero).
    """
    func = "equivalent_parameters"
    p = _check_two_layer(params, func)
    m = p["W1"].shape[1]
    if m > 6:
        raise ValueError(f"{func}: {m} hidden units give {math.factorial(m) * 2 ** m} weight"
                         f" vectors; use at most 6")
    out = []
    for perm in itertools.permutations(range(m)):
        permuted = permute_hidden(p, np.array(perm))
        for signs in itertools.product((1.0, -1.0), repeat=m):
            out.append(flip_hidden(permuted, np.array(signs)))
    return out


def loss_along_segment(params_a, params_b, X, y, steps=41, activation="tanh"):
    """Softmax cross-entropy of a two-layer net along the straight line from params_a to params_b.

    params_a, params_b: two parameter dicts of the same shapes; X: (N, D); y: (N,) labels;
    steps: how many points t in [0, 1], at least 2. The net at t has every weight equal to
    (1 − t)·a + t·b. Returns (ts (steps,), losses (steps,)). For two equivalent weight vectors
    the losses at t = 0 and t = 1 are equal; a convex loss could not rise in between.
    """
    func = "loss_along_segment"
    a = _check_two_layer(params_a, func)
    b = _check_two_layer(params_b, func)
    for k in _KEYS:
        if a[k].shape != b[k].shape:
            raise ValueError(f"{func}: params_b[{k!r}] must have the shape of params_a[{k!r}]"
                             f" {a[k].shape}; got {b[k].shape}")
    steps = int(check_scalar(steps, "steps", func, low=2, high=10_000, integer=True))
    ts = np.linspace(0.0, 1.0, steps)
    losses = np.empty(steps)
    for i, t in enumerate(ts):
        mix = {k: (1 - t) * a[k] + t * b[k] for k in _KEYS}
        losses[i] = softmax_cross_entropy(two_layer_forward(X, mix, activation), y)[0]
    return ts, losses


def plot_loss_along_segment(ts, losses, ax=None, label="loss on the segment",
                            title="Between two equivalent weight vectors"):
    """Draw ``loss_along_segment``'s output, with the chord between its two ends.

    A convex function lies on or below every chord; where the curve rises above the dashed
    chord the loss is not convex. Returns the Axes.
    """
    func = "plot_loss_along_segment"
    ts = as_float_array(ts, "ts", func, ndim=1, dims="(S,)")
    losses = as_float_array(losses, "losses", func, ndim=1, dims="(S,)")
    check_shape(losses, ts.shape, "losses", func, "(one loss per t)")
    if ts.size < 2:
        raise ValueError(f"{func}: need at least two points; got {ts.size}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(ts, losses, color="C0", linewidth=2, label=label)
    ax.plot([ts[0], ts[-1]], [losses[0], losses[-1]], "--", color="gray",
            label="chord (a convex loss stays below it)")
    ax.set_title(title)
    ax.set_xlabel("t: weights (1 − t)·θ + t·θ'")
    ax.set_ylabel("cross-entropy loss")
    ax.legend(fontsize="small", loc="upper left")
    return ax

