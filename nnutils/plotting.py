"""The course's figures: decision boundaries, loss curves, weights, gradient norms, optimizer paths.

Every function draws into the Axes ``ax`` it is given (or a new figure when ax is None) and returns
that Axes, so a notebook can arrange several panels and a widget callback can clear and redraw one.
Every figure gets a title and labelled axes, and a legend wherever it shows more than one line or
class. Nothing here calls ``plt.show()``, and matplotlib is imported only inside the functions, so
``import nnutils`` stays cheap.

The two-class colours are the TensorFlow Playground's: orange for -1 (or class 0) and blue for +1.
"""

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ._checks import as_float_array, check_finite, check_scalar

ORANGE = "#f59322"
BLUE = "#0877bd"
_NEUTRAL = "#e8eaeb"


def _playground_cmap():
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("playground", [ORANGE, _NEUTRAL, BLUE])


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _bounds4(bounds, func: str) -> tuple[float, float, float, float]:
    b = np.asarray(bounds, dtype=np.float64).ravel()
    if b.size == 2:
        b = np.concatenate([b, b])
    if b.size != 4 or not np.all(np.isfinite(b)) or b[0] >= b[1] or b[2] >= b[3]:
        raise ValueError(f"{func}: bounds must be (low, high) for both axes or (x_low, x_high,"
                         f" y_low, y_high), with low < high; got {bounds!r}")
    return tuple(float(v) for v in b)


def _grid(bounds4, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    xs = np.linspace(bounds4[0], bounds4[1], resolution)
    ys = np.linspace(bounds4[2], bounds4[3], resolution)
    return np.meshgrid(xs, ys)                      # each (resolution, resolution), rows along y


def _mosaic(tiles: np.ndarray, ncols: int, pad: int = 1, fill=np.nan) -> np.ndarray:
    """Arrange tiles (K, h, w) or (K, h, w, 3) into one image, ``pad`` pixels of ``fill`` apart."""
    K, h, w = tiles.shape[:3]
    ncols = max(1, min(ncols, K))
    nrows = -(-K // ncols)
    shape = (nrows * (h + pad) - pad, ncols * (w + pad) - pad) + tiles.shape[3:]
    out = np.full(shape, fill, dtype=np.float64)
    for k in range(K):
        r, c = divmod(k, ncols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = tiles[k]
    return out


def _class_colours(count: int) -> list:
    """Orange and blue for two classes (the Playground's), matplotlib's cycle for more."""
    if count == 1:
        return [BLUE]
    if count == 2:
        return [ORANGE, BLUE]
    return [f"C{k % 10}" for k in range(count)]


def _scatter_labelled(ax, X, y, marker, edge, suffix, vmin, vmax):
    """Scatter X (M, 2) coloured by y: one artist per class for labels, one for real targets."""
    y = np.asarray(y)
    is_labels = np.issubdtype(y.dtype, np.integer) or (
        np.all(np.mod(y, 1) == 0) and len(np.unique(y)) <= 10)
    if len(y) == 0:
        return []
    if not is_labels:
        return [ax.scatter(X[:, 0], X[:, 1], c=y, cmap=_playground_cmap(), vmin=vmin, vmax=vmax,
                           marker=marker, edgecolors=edge, s=18, linewidths=0.6,
                           label=f"targets{suffix}")]
    classes = np.unique(y)
    artists = []
    for colour, c in zip(_class_colours(len(classes)), classes, strict=True):
        mask = y == c
        name = f"{c:+g}" if classes.min() < 0 else f"{c:g}"
        artists.append(ax.scatter(X[mask, 0], X[mask, 1], color=colour, marker=marker,
                                  edgecolors=edge, s=18, linewidths=0.6,
                                  label=f"class {name}{suffix}"))
    return artists


def plot_decision_boundary(predict_fn: Callable, X, y, ax=None, bounds=(-6, 6), resolution=100,
                           X_test=None, y_test=None, discretize=False, vmin=None, vmax=None,
                           colorbar=False, title="Decision boundary", xlabel="$x_1$",
                           ylabel="$x_2$"):
    """A heat map of the model's output over the plane, with the data drawn on top.

    predict_fn: maps points (M, 2) to outputs (M,) or (M, 1), a score per point (a tanh output
    in [-1, 1] as in the Playground, a probability in [0, 1], or a regression value), or (M, C)
    class scores, of which the arg-max class is shown (class k in the colour of label k).
    X: (N, 2) points; y: (N,) their labels (+1/-1 or 0..C-1) or real targets.
    bounds: (low, high) for both axes or (x_low, x_high, y_low, y_high); resolution: grid points
    per axis (the model is evaluated resolution**2 times, in one call).
    X_test, y_test: optional test points, drawn with white-edged triangles ("show test data").
    discretize: show only the side of the threshold each grid point is on (the Playground's
    "discretize output"); the threshold is the middle of the colour range.
    vmin, vmax: the colour range of a score; by default [-1, 1] when the scores go negative and
    [0, 1] otherwise, widened if the scores go beyond.
    colorbar: add a colour bar (off by default: a widget that clears and redraws the Axes would
    add a new bar on every redraw).
    Draws one image (``ax.images``) and one scatter per class (``ax.collections``), test classes
    after training classes. Returns the Axes.
    """
    func = "plot_decision_boundary"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, 2)")
    if X.shape[1] != 2:
        raise ValueError(f"{func}: X must have shape (N, 2); got {X.shape}")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"{func}: y must have shape (N,) = ({X.shape[0]},), one label per row"
                         f" of X; got {y.shape}")
    check_finite(X, "X", func)
    check_finite(as_float_array(y, "y", func), "y", func)
    b = _bounds4(bounds, func)
    resolution = int(check_scalar(resolution, "resolution", func, low=2, integer=True))
    XX, YY = _grid(b, resolution)
    grid = np.stack([XX.ravel(), YY.ravel()], axis=1)
    out = np.asarray(predict_fn(grid), dtype=np.float64)
    M = grid.shape[0]
    if out.shape == (M, 1):
        out = out[:, 0]
    if out.ndim == 2 and out.shape[0] == M and out.shape[1] > 1:
        from matplotlib.colors import ListedColormap

        C = out.shape[1]
        Z = np.argmax(out, axis=1).astype(np.float64)
        cmap = ListedColormap(_class_colours(C))
        lo, hi = -0.5, C - 0.5
    elif out.shape == (M,):
        Z = out
        cmap = _playground_cmap()
        finite = Z[np.isfinite(Z)]
        zmin = float(finite.min()) if finite.size else 0.0
        zmax = float(finite.max()) if finite.size else 1.0
        if zmin < 0:
            lim = max(1.0, abs(zmin), abs(zmax))
            lo, hi = -lim, lim
        else:
            lo, hi = 0.0, max(1.0, zmax)
        lo = lo if vmin is None else float(vmin)
        hi = hi if vmax is None else float(vmax)
        if discretize:
            Z = np.where(Z >= 0.5 * (lo + hi), hi, lo)
    else:
        raise ValueError(f"{func}: predict_fn must map points (M, 2) to outputs (M,), (M, 1) or"
                         f" (M, C); for M = {M} it returned shape {out.shape}")
    ax = _new_axes(ax, (5, 5))
    image = ax.imshow(Z.reshape(resolution, resolution), origin="lower", extent=b, cmap=cmap,
                      vmin=lo, vmax=hi, alpha=0.75, aspect="auto", interpolation="bilinear")
    _scatter_labelled(ax, X, y, "o", "white", "", lo, hi)
    if X_test is not None:
        X_test = as_float_array(X_test, "X_test", func, ndim=2, dims="(N_test, 2)")
        if y_test is None or np.shape(y_test) != (X_test.shape[0],):
            raise ValueError(f"{func}: y_test must have shape ({X_test.shape[0]},), one label"
                             f" per row of X_test; got {np.shape(y_test)}")
        _scatter_labelled(ax, X_test, y_test, "^", "black", " (test)", lo, hi)
    ax.set_xlim(b[0], b[1])
    ax.set_ylim(b[2], b[3])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="model output")
    ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
    return ax


def _history_dict(history, func: str) -> dict[str, np.ndarray]:
    if not isinstance(history, Mapping):
        if hasattr(history, "history") and isinstance(history.history, Mapping):
            history = history.history               # a Keras-style object
        elif hasattr(history, "__dict__"):
            history = vars(history)                 # a dataclass or a plain object
        else:
            raise TypeError(f"{func}: history must be a dict of lists such as {{'train_loss':"
                            f" [...], 'val_loss': [...]}}; got {type(history).__name__}")
    series = {}
    for key, values in history.items():
        if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
            continue
        try:                                        # None (an epoch without a value) -> NaN
            arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        except (TypeError, ValueError):             # nested or non-numeric lists: not a curve
            continue
        if arr.ndim == 1 and arr.size:
            series[str(key)] = arr
    return series


def plot_loss_curves(history, ax=None, log=False, title="Loss curves", xlabel="epoch"):
    """Training and validation loss per epoch, and accuracy on a second y axis if present.

    history: a dict of lists (or an object holding one, e.g. the history that ``train`` returns);
    every key containing "loss" is drawn on the left axis, every key containing "acc" on a twin
    axis at the right; other keys (learning rates, times) are ignored. Keys may have different
    lengths; entry k is drawn at epoch k + 1. An "epoch" key, if present, gives the x values of
    the series of the same length.
    log: a logarithmic loss axis (useful when the loss falls by orders of magnitude).
    Train curves are solid, validation and test curves dashed; one legend lists all curves.
    Returns the loss Axes; the twin accuracy Axes, if any, is its attribute ``accuracy_ax``
    (None without accuracy).
    """
    func = "plot_loss_curves"
    series = _history_dict(history, func)
    epochs = series.pop("epoch", None)
    losses = {k: v for k, v in series.items() if "loss" in k.lower()}
    accuracies = {k: v for k, v in series.items() if "acc" in k.lower()}
    if not losses:
        raise ValueError(f"{func}: history must hold at least one list of losses under a key"
                         f" containing 'loss' (e.g. 'train_loss', 'val_loss'); got keys"
                         f" {sorted(series)}")

    def x_of(values):
        if epochs is not None and len(epochs) == len(values):
            return epochs
        return np.arange(1, len(values) + 1)

    def style(key):
        return "--" if any(w in key.lower() for w in ("val", "test")) else "-"

    ax = _new_axes(ax, (6, 4))
    lines = []
    for i, (key, values) in enumerate(losses.items()):
        lines += ax.plot(x_of(values), values, style(key), color=f"C{i}", label=key)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.accuracy_ax = None
    if accuracies:
        acc_ax = ax.twinx()
        for i, (key, values) in enumerate(accuracies.items(), start=len(losses)):
            lines += acc_ax.plot(x_of(values), values, style(key), color=f"C{i}", label=key,
                                 alpha=0.8)
        acc_ax.set_ylabel("accuracy")
        ax.accuracy_ax = acc_ax
    if len(lines) > 1:
        ax.legend(lines, [line.get_label() for line in lines], loc="best", fontsize="small")
    return ax


def _scaled_tiles(tiles: np.ndarray) -> np.ndarray:
    """Min-max scale every tile (K, ...) to [0, 1] on its own; a constant tile becomes 0.5."""
    flat = tiles.reshape(len(tiles), -1)
    lo = flat.min(axis=1)
    span = flat.max(axis=1) - lo
    safe = np.where(span > 0, span, 1.0)
    scaled = (flat - lo[:, None]) / safe[:, None]
    scaled[span == 0] = 0.5
    return scaled.reshape(tiles.shape)


def plot_weight_grid(W, ax=None, shape=(8, 8), ncols=None, cmap="gray",
                     title="Weights as images"):
    """The columns of a weight matrix, or the filters of a convolution, as a grid of images.

    W: (D, M) a weight matrix whose M columns are images of ``shape`` (D = shape[0]*shape[1]),
    e.g. the first layer of an MLP on 8x8 digits; or (F, C, HH, WW) convolution filters: one
    colour tile per filter when C = 3, one grey tile per filter when C = 1, and otherwise one
    tile per (filter, channel), a row per filter.
    Each tile is scaled to [0, 1] on its own (light = large weight), as in CS231n's grids.
    ncols: tiles per row (default: C for the per-channel grid, else about sqrt of the count).
    Returns the Axes (one image; ticks hidden).
    """
    func = "plot_weight_grid"
    W = as_float_array(W, "W", func)
    if W.ndim == 2:
        h, w = (int(check_scalar(s, "shape", func, low=1, integer=True)) for s in shape)
        if W.shape[0] != h * w:
            raise ValueError(f"{func}: W of shape (D, M) must have D = {h}*{w} = {h * w} rows to"
                             f" show its columns as {h}x{w} images; got {W.shape}")
        tiles = W.T.reshape(W.shape[1], h, w)
        what = f"{W.shape[1]} columns of W, each a {h}x{w} image"
        default_cols = int(np.ceil(np.sqrt(len(tiles))))
    elif W.ndim == 4:
        F, C, HH, WW = W.shape
        if C == 3:
            tiles = W.transpose(0, 2, 3, 1)
            what = f"{F} filters, {HH}x{WW} RGB"
            default_cols = int(np.ceil(np.sqrt(F)))
        else:
            tiles = W.reshape(F * C, HH, WW)
            what = f"{F} filters, {HH}x{WW}" + (f", one row of {C} channels each" if C > 1 else "")
            default_cols = C if C > 1 else int(np.ceil(np.sqrt(F)))
    else:
        raise ValueError(f"{func}: W must be a weight matrix (D, M) or conv filters"
                         f" (F, C, HH, WW); got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError(f"{func}: W holds NaN or infinite values; cannot draw them")
    ncols = default_cols if ncols is None else int(check_scalar(ncols, "ncols", func, low=1,
                                                                   integer=True))
    rgb = tiles.ndim == 4
    mosaic = _mosaic(_scaled_tiles(tiles), ncols, fill=1.0 if rgb else np.nan)
    ax = _new_axes(ax, (5, 5))
    import matplotlib

    colours = matplotlib.colormaps[cmap].with_extremes(bad="white")
    ax.imshow(mosaic, cmap=None if rgb else colours, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.set_xlabel(what)
    ax.set_ylabel("tiles, left to right, top to bottom")
    return ax


def plot_gradient_norms(norms_per_layer, ax=None, log=True, title="Gradient norm per layer",
                        xlabel="layer", ylabel="gradient norm"):
    """How large the gradient is in each layer: the picture of vanishing (or exploding) gradients.

    norms_per_layer: one of
      - a list (L,) of norms, layer 1 first: drawn as L bars;
      - a dict layer name -> norm: L bars labelled by the names;
      - a dict series name -> list (L,) of norms, e.g. {"sigmoid": [...], "ReLU": [...]}: one
        line with markers per series, to compare networks (the lists may differ in length).
    log: a logarithmic y axis, on which a gradient that shrinks by a constant factor per layer
    is a straight line. xlabel: "layer" by default ("time step" for an unrolled RNN).
    Norms must be finite and >= 0. Returns the Axes.
    """
    func = "plot_gradient_norms"

    def as_norms(values, name):
        arr = as_float_array(values, name, func, ndim=1, dims="(L,)")
        if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{func}: {name} must be a non-empty list of finite norms >= 0;"
                             f" got {arr.tolist()[:8]}")
        return arr

    ax = _new_axes(ax, (6, 4))
    if isinstance(norms_per_layer, Mapping) and norms_per_layer and all(
            np.ndim(v) == 1 for v in norms_per_layer.values()):
        for i, (name, values) in enumerate(norms_per_layer.items()):
            arr = as_norms(values, f"norms_per_layer[{name!r}]")
            ax.plot(np.arange(1, arr.size + 1), arr, "o-", color=f"C{i}", label=str(name))
        ax.legend(fontsize="small")
        longest = max(len(v) for v in norms_per_layer.values())
        ax.set_xticks(np.arange(1, longest + 1))
    else:
        if isinstance(norms_per_layer, Mapping):
            names = [str(k) for k in norms_per_layer]
            arr = as_norms(list(norms_per_layer.values()), "norms_per_layer")
        else:
            arr = as_norms(norms_per_layer, "norms_per_layer")
            names = [str(i) for i in range(1, arr.size + 1)]
        positions = np.arange(1, arr.size + 1)
        ax.bar(positions, arr, color=BLUE)
        ax.set_xticks(positions, names)
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_optimizer_paths(f: Callable, paths, ax=None, bounds=(-2, 2), levels=30, resolution=150,
                         minimum=None, title="Optimizer paths", xlabel="$w_1$", ylabel="$w_2$"):
    """Contours of a 2-D loss surface with the path each optimizer took across it.

    f: the loss, taking points w of shape (..., 2) and returning values of shape (...); write it
    with w[..., 0] and w[..., 1] so it works on one point and on a whole grid.
    paths: a dict name -> (K, 2) array of the iterates w_0, ..., w_(K-1); each is a line with
    markers (``ax.lines``), its start marked by a larger dot (``ax.collections``). Diverged
    iterates (inf, NaN) are left out; iterates beyond ``bounds`` are clipped by the view.
    bounds: (low, high) for both axes or (x_low, x_high, y_low, y_high); levels: the number of
    contour levels or their values (pass e.g. np.geomspace(...) for a surface like Rosenbrock's);
    minimum: optional (2,) point drawn as a star.
    Returns the Axes.
    """
    func = "plot_optimizer_paths"
    if not isinstance(paths, Mapping):
        raise TypeError(f"{func}: paths must be a dict name -> (K, 2) array of iterates; got"
                        f" {type(paths).__name__}")
    b = _bounds4(bounds, func)
    resolution = int(check_scalar(resolution, "resolution", func, low=2, integer=True))
    XX, YY = _grid(b, resolution)
    Z = np.asarray(f(np.stack([XX, YY], axis=-1)), dtype=np.float64)
    if Z.shape != XX.shape:
        raise ValueError(f"{func}: f must map points of shape (..., 2) to values of shape (...);"
                         f" on a grid of shape {XX.shape + (2,)} it returned shape {Z.shape}."
                         f" Write f with w[..., 0] and w[..., 1]")
    checked = {}
    for name, path in paths.items():
        arr = as_float_array(path, f"paths[{name!r}]", func, ndim=2, dims="(K, 2)")
        if arr.shape[1] != 2 or arr.shape[0] == 0:
            raise ValueError(f"{func}: paths[{name!r}] must have shape (K, 2) with K >= 1; got"
                             f" {arr.shape}")
        checked[name] = np.where(np.isfinite(arr), arr, np.nan)
    ax = _new_axes(ax, (6, 5))
    ax.contour(XX, YY, np.where(np.isfinite(Z), Z, np.nan), levels=levels, cmap="Greys",
               linewidths=0.7)
    for i, (name, arr) in enumerate(checked.items()):
        ax.plot(arr[:, 0], arr[:, 1], ".-", color=f"C{i}", markersize=4, linewidth=1.2,
                label=f"{name}")
        ax.scatter(arr[:1, 0], arr[:1, 1], color=f"C{i}", s=40, zorder=3)
    if minimum is not None:
        m = as_float_array(minimum, "minimum", func, ndim=1, dims="(2,)")
        ax.plot(m[0], m[1], "*", color="black", markersize=14, label="minimum")
    ax.set_xlim(b[0], b[1])
    ax.set_ylim(b[2], b[3])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if checked or minimum is not None:
        ax.legend(fontsize="small", loc="best")
    return ax


def plot_images(images, labels=None, ax=None, ncols=10, predictions=None, cmap="gray_r",
                title="Images"):
    """A grid of small images, e.g. digits, with their labels.

    images: (N, H, W), (N, 1, H, W), or (N, D) flat square images (D = 64 gives 8x8).
    labels: optional (N,) labels written in the corner of each image; predictions: optional
    (N,) predicted labels, written as "label/prediction" and in red where they differ from
    the labels.
    All images share one grey scale (the smallest to the largest pixel of the whole batch), so
    brightness can be compared between them. ncols: images per row.
    Returns the Axes (one image; ticks hidden).
    """
    func = "plot_images"
    arr = as_float_array(images, "images", func)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2:
        side = int(round(np.sqrt(arr.shape[1])))
        if side * side != arr.shape[1]:
            raise ValueError(f"{func}: flat images (N, D) must be square, D = side**2; got"
                             f" shape {arr.shape}")
        arr = arr.reshape(arr.shape[0], side, side)
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValueError(f"{func}: images must have shape (N, H, W), (N, 1, H, W) or (N, D) with"
                         f" N >= 1; got {np.shape(images)}")
    N, H, W = arr.shape
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values is not None and np.shape(values) != (N,):
            raise ValueError(f"{func}: {name} must have shape ({N},), one per image; got"
                             f" {np.shape(values)}")
    ncols = int(check_scalar(ncols, "ncols", func, low=1, integer=True))
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    ax = _new_axes(ax, (min(ncols, N) * 0.9 + 0.5, (-(-N // ncols)) * 0.9 + 0.6))
    import matplotlib

    colours = matplotlib.colormaps[cmap].with_extremes(bad="white")
    ax.imshow(_mosaic(arr, ncols), cmap=colours, vmin=lo, vmax=hi if hi > lo else lo + 1,
              interpolation="nearest")
    if labels is not None or predictions is not None:
        ncols_used = min(ncols, N)
        for k in range(N):
            r, c = divmod(k, ncols_used)
            shown = [v[k] for v in (labels, predictions) if v is not None]
            text = "/".join(f"{v}" for v in shown)
            wrong = len(shown) == 2 and shown[0] != shown[1]
            ax.text(c * (W + 1) - 0.4, r * (H + 1) - 0.4, text, fontsize=8, va="top",
                    ha="left", color="red" if wrong else BLUE,
                    bbox={"facecolor": "white", "alpha": 0.6, "pad": 0.3, "linewidth": 0})
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    corner = {(True, True): " (label/prediction)", (True, False): " (label in the corner)",
              (False, True): " (prediction in the corner)", (False, False): ""}
    ax.set_xlabel(f"{N} images of {H}x{W} pixels"
                  + corner[labels is not None, predictions is not None])
    ax.set_ylabel(f"{-(-N // ncols)} row(s) of up to {ncols}")
    return ax


__all__ = ["ORANGE", "BLUE", "plot_decision_boundary", "plot_loss_curves", "plot_weight_grid",
           "plot_gradient_norms", "plot_optimizer_paths", "plot_images"]
