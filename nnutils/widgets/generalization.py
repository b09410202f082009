"""Lecture 5 (regularization and generalization): its plots and interactive parts.

Plain functions compute and draw; the ``make_..._app`` builders wrap them in ipywidgets:

- ``fit_l2_family`` trains one 2-D classifier per weight-decay strength lambda, and
  ``draw_l2_boundary`` draws the decision boundary of one of them; ``make_l2_app`` puts a lambda
  slider on it (the networks are trained once, when the app is built, so the slider only draws);
- ``dropout_masks`` draws the masks of inverted dropout, ``draw_dropout`` a network with its
  dropped units crossed out and the kept ones scaled by 1/(1−p); ``make_dropout_app`` has the
  p slider and a "new mask" button;
- ``draw_elastic`` shows a digit and its elastic distortions; ``make_elastic_app`` has the
  strength alpha and smoothness sigma sliders;
- ``curves_with_stop`` draws training and validation curves with the early-stopping epoch
  marked; ``random_search`` runs and ``plot_random_search`` draws a hyperparameter search.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_scalar
from ..augment import elastic_distort
from ..models import MLP
from ..regularization import dropout_forward, early_stopping
from ..train import train
from . import PlotPanel, figure_png, friendly

L2_LAMBDAS = (0.0, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


def _axes(ax, figsize=(5.0, 4.0)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def to_classes(y) -> np.ndarray:
    """Playground labels ±1 as classes 1/0 (what a softmax MLP takes)."""
    return (np.asarray(y) > 0).astype(np.int64)


def fit_l2_family(X, y, lambdas=L2_LAMBDAS, hidden=(64, 64), epochs=300, seed=0):
    """Train one MLP (ReLU, ``hidden`` units) per lambda on 2-D points X (N, 2), labels y (N,)
    ±1, with the L2 penalty 0.5·lambda·Σ‖W‖²; every net starts from the same weights.
    Returns {lambda: model}."""
    X = np.asarray(X, dtype=np.float64)
    classes = to_classes(y)
    models = {}
    for lam in lambdas:
        lam = float(check_scalar(lam, "lambda", "fit_l2_family", low=0))
        model = MLP([2, *hidden, 2], activation="relu", rng=np.random.default_rng(seed))
        train(model, X, classes, epochs=epochs, batch_size=len(X), lr=0.01, reg=lam,
              progress=False, rng=np.random.default_rng(seed))
        models[lam] = model
    return models


def weight_norm(model) -> float:
    """‖W‖ over every weight matrix of an MLP (biases excluded)."""
    return float(np.sqrt(sum(np.vdot(v, v) for k, v in model.params.items() if k[0] == "W")))


def draw_l2_boundary(models, lam, X, y, X_test=None, y_test=None, ax=None):
    """The decision boundary of ``models[lam]`` (from ``fit_l2_family``) with train accuracy,
    test accuracy (if test points are given) and the weights' norm in the title."""
    from ..plotting import plot_decision_boundary

    if lam not in models:
        raise ValueError(f"draw_l2_boundary: lam must be one of {sorted(models)}; got {lam!r}")
    model = models[lam]
    ax = _axes(ax)
    title = f"λ = {lam:g}: train {model.accuracy(X, to_classes(y)):.0%}"
    if X_test is not None:
        title += f", test {model.accuracy(X_test, to_classes(y_test)):.0%}"
    title += f", ‖W‖ = {weight_norm(model):.1f}"
    plot_decision_boundary(lambda P: _prob1(model, P), X, y, ax=ax, X_test=X_test,
                           y_test=y_test, resolution=60, title=title)
    return ax.figure


def _prob1(model, P):
    s = model.scores(P)
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    return 2 * e[:, 1] / e.sum(axis=1) - 1          # in [-1, 1], the Playground's colours


def make_l2_app(models, X, y, X_test=None, y_test=None, value=0.0):
    """A lambda slider over the trained family ``models`` redrawing ``draw_l2_boundary``.
    Returns a VBox with ``controls`` {"lambda"} and ``panel``."""
    import ipywidgets as widgets

    options = sorted(models)
    slider = widgets.SelectionSlider(options=[(f"{v:g}", v) for v in options],
                                     value=value if value in models else options[0],
                                     description="λ (L2)", continuous_update=True)
    # every network is already trained: draw each boundary once, so the slider only swaps
    # pictures (a matplotlib redraw takes 0.1 s, a swap a millisecond)
    pictures = {lam: figure_png(draw_l2_boundary(models, lam, X, y, X_test, y_test))
                for lam in options}
    panel = PlotPanel(lambda lam: pictures[lam], width="420px")
    slider.observe(lambda change: panel.update(lam=change["new"]), "value")
    panel.update(lam=slider.value)
    app = widgets.VBox([slider, panel.widget])
    app.controls, app.panel = {"lambda": slider}, panel
    return friendly(app)


# -- dropout ------------------------------------------------------------------------------------

def dropout_masks(sizes, p, seed=0) -> list[np.ndarray]:
    """One inverted-dropout mask per hidden layer of widths ``sizes``: entries 0 (dropped) or
    1/(1−p) (kept), drawn by ``dropout_forward`` on a vector of ones."""
    rng = np.random.default_rng(seed)
    return [dropout_forward(np.ones(n), p, True, rng)[0] for n in sizes]


def draw_dropout(p, seed=0, sizes=(6, 8, 8, 6, 3), ax=None):
    """A network (input, hidden layers, output) with one dropout mask: dropped hidden units
    crossed out and their connections removed; kept units labelled with their scale 1/(1−p)."""
    ax = _axes(ax, (6.0, 4.0))
    p = float(check_scalar(p, "p", "draw_dropout", low=0, high=1, high_open=True))
    hidden = sizes[1:-1]
    masks = [np.ones(sizes[0])] + dropout_masks(hidden, p, seed) + [np.ones(sizes[-1])]
    xs = np.arange(len(sizes))
    ys = [np.linspace(-1, 1, n) if n > 1 else np.zeros(1) for n in sizes]
    from matplotlib.collections import LineCollection

    segments = [[(xs[k], a), (xs[k + 1], b)] for k in range(len(sizes) - 1)
                for i, a in enumerate(ys[k]) for j, b in enumerate(ys[k + 1])
                if masks[k][i] and masks[k + 1][j]]
    ax.add_collection(LineCollection(segments, colors="#9bb", linewidths=0.6, zorder=1))
    px = np.concatenate([np.full(len(layer), xs[k]) for k, layer in enumerate(ys)])
    py = np.concatenate(ys)
    kept = np.concatenate(masks) > 0
    ax.scatter(px, py, s=180, zorder=2, c=np.where(kept, "#1f77b4", "white"), edgecolors="#444")
    ax.scatter(px[~kept], py[~kept], s=120, marker="x", color="#d62728", linewidths=2, zorder=3)
    dropped = int(sum((m == 0).sum() for m in masks[1:-1]))
    total = int(sum(hidden))
    ax.set_title(f"p = {p:.2f}: {dropped} of {total} hidden units dropped; kept ones × "
                 f"{1 / (1 - p):.2f}")
    ax.set_xticks(xs, ["input"] + [f"hidden {k}" for k in range(1, len(hidden) + 1)]
                  + ["output"])
    ax.set_yticks([])
    ax.set_xlabel("layer")
    ax.set_ylabel("units")
    return ax.figure


def make_dropout_app(p=0.5, seed=0):
    """A drop-probability slider and a "new mask" button over ``draw_dropout``."""
    import ipywidgets as widgets

    slider = widgets.FloatSlider(value=p, min=0.0, max=0.9, step=0.05, description="p (drop)")
    button = widgets.Button(description="new mask", tooltip="draw another dropout mask")
    state = {"seed": seed}
    panel = PlotPanel(lambda p, seed: draw_dropout(p, seed), width="480px")

    def redraw(_=None):
        panel.update(p=slider.value, seed=state["seed"])

    def new_mask(_button=None):
        state["seed"] += 1
        redraw()

    slider.observe(redraw, "value")
    button.on_click(new_mask)
    redraw()
    app = widgets.VBox([widgets.HBox([slider, button]), panel.widget])
    app.controls, app.panel, app.state = {"p": slider, "new mask": button}, panel, state
    return friendly(app)


# -- data augmentation --------------------------------------------------------------------------

def draw_elastic(image, alpha, sigma, count=5, seed=0):
    """A digit (H, W) and ``count`` elastic distortions of it (``elastic_distort`` with strength
    alpha and smoothness sigma, in pixels), side by side, one grey scale."""
    import matplotlib.pyplot as plt

    image = np.asarray(image, dtype=np.float64)
    rng = np.random.default_rng(seed)
    bent = elastic_distort(np.repeat(image[None], count, axis=0), alpha, sigma, rng)
    fig, axes = plt.subplots(1, count + 1, figsize=(1.3 * (count + 1), 1.9))
    low, high = image.min(), image.max()
    for k, ax in enumerate(axes):
        ax.imshow(image if k == 0 else bent[k - 1], cmap="gray_r", vmin=low, vmax=high)
        ax.set_title("original" if k == 0 else f"#{k}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"elastic distortions: α = {alpha:g} px, σ = {sigma:g} px", fontsize=10)
    fig.supxlabel("column", fontsize=8)
    fig.supylabel("row", fontsize=8)
    fig.tight_layout()
    return fig


def make_elastic_app(image, alpha=8.0, sigma=2.0):
    """Strength alpha and smoothness sigma sliders over ``draw_elastic`` of ``image``."""
    import ipywidgets as widgets

    controls = {
        "alpha": widgets.FloatSlider(value=alpha, min=0.0, max=30.0, step=1.0,
                                     description="α strength"),
        "sigma": widgets.FloatSlider(value=sigma, min=0.5, max=6.0, step=0.25,
                                     description="σ smooth"),
    }
    panel = PlotPanel(lambda alpha, sigma: draw_elastic(image, alpha, sigma), width="620px")

    def redraw(_=None):
        panel.update(alpha=controls["alpha"].value, sigma=controls["sigma"].value)

    for c in controls.values():
        c.observe(redraw, "value")
    redraw()
    app = widgets.VBox([widgets.HBox(list(controls.values())), panel.widget])
    app.controls, app.panel = controls, panel
    return friendly(app)


# -- curves, early stopping, search -------------------------------------------------------------

def curves_with_stop(history, patience, ax=None, title="Early stopping"):
    """Training and validation loss per epoch, with the epoch ``early_stopping`` picks for this
    patience marked, and where training would have stopped. Returns (figure, best epoch)."""
    ax = _axes(ax)
    val = np.asarray(history.val_loss)
    best = early_stopping(val, patience)
    epochs = np.arange(1, len(val) + 1)
    ax.plot(epochs, history.train_loss, label="training loss")
    ax.plot(epochs, val, "--", label="validation loss")
    ax.axvline(best + 1, color="green", lw=1, label=f"kept: epoch {best + 1}")
    stop = min(best + patience, len(val) - 1)
    ax.axvline(stop + 1, color="grey", lw=1, ls=":", label=f"stopped: epoch {stop + 1}")
    ax.set(xlabel="epoch", ylabel="cross-entropy", title=f"{title} (patience {patience})",
           yscale="log")
    ax.legend(fontsize=8)
    return ax.figure, best


def random_search(objective, trials, box, seed=0):
    """Draw ``trials`` points log-uniformly in ``box`` {name: (low, high)} and evaluate
    ``objective(**point) -> score`` (higher is better). Returns a list of (point, score),
    best first."""
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(int(trials)):
        point = {k: float(10 ** rng.uniform(np.log10(lo), np.log10(hi)))
                 for k, (lo, hi) in box.items()}
        results.append((point, float(objective(**point))))
    return sorted(results, key=lambda r: -r[1])


def plot_random_search(results, x, y, ax=None, title="Random search"):
    """Each trial at its (x, y) hyperparameters (log axes), coloured by its score; the best
    one ringed."""
    ax = _axes(ax)
    xs = [p[x] for p, _ in results]
    ys = [p[y] for p, _ in results]
    scores = [s for _, s in results]
    points = ax.scatter(xs, ys, c=scores, cmap="viridis", s=50, edgecolors="k")
    ax.scatter([xs[0]], [ys[0]], s=220, facecolors="none", edgecolors="red", lw=2,
               label=f"best: {scores[0]:.1%}")
    ax.set(xscale="log", yscale="log", xlabel=x, ylabel=y, title=title)
    ax.figure.colorbar(points, ax=ax, label="validation accuracy")
    ax.legend(fontsize=8)
    return ax.figure


__all__ = ["L2_LAMBDAS", "curves_with_stop", "draw_dropout", "draw_elastic", "draw_l2_boundary",
           "dropout_masks", "fit_l2_family", "make_dropout_app", "make_elastic_app",
           "make_l2_app", "plot_random_search", "random_search", "to_classes", "weight_norm"]
