"""Lecture 7 (recurrent networks): its plots and interactive parts.

- ``draw_unrolled`` draws a recurrent network with its loop, and the same network unrolled
  over T steps into a feed-forward graph with shared weights;
- ``draw_gradient_over_time`` plots ‖∂L/∂h_t‖ against t for a random RNN whose recurrent
  weights have a given scale (``nnutils.rnn.random_rnn_gradient_norms``), with the pure power
  law scale^(T−1−t) for reference; ``make_vanishing_app`` has the scale slider and the
  activation dropdown;
- ``windows`` cuts a text into next-character training pairs;
- ``next_char_distribution`` and ``draw_sampling`` show what a character model would write next
  at a temperature; ``make_sampling_app`` has the temperature slider, the checkpoint dropdown
  and a "sample again" button, and writes a sample below the plot.
"""

from __future__ import annotations

import html

import numpy as np

from .._checks import check_scalar
from ..losses import softmax
from ..rnn import random_rnn_gradient_norms
from . import PlotPanel, friendly


def draw_unrolled(T=4):
    """Left: x → [RNN] → y with the loop h → h. Right: the same net unrolled over T steps —
    one box per step, the same weights Wx, Wh, Wy in every copy, h flowing left to right."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    T = int(check_scalar(T, "T", "draw_unrolled", low=1, high=12, integer=True))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4),
                                      gridspec_kw={"width_ratios": [1, 2.6]})

    def box(ax, x, y, text, color="#dbe9f6"):
        ax.add_patch(FancyBboxPatch((x - 0.35, y - 0.25), 0.7, 0.5,
                                    boxstyle="round,pad=0.05", fc=color, ec="#345"))
        ax.text(x, y, text, ha="center", va="center", fontsize=10)

    def arrow(ax, a, b, text="", style="-|>", rad=0.0):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle=style, mutation_scale=12, color="#345",
                                     connectionstyle=f"arc3,rad={rad}"))
        if text:
            ax.text((a[0] + b[0]) / 2 + 0.08, (a[1] + b[1]) / 2, text, fontsize=9, color="#345")

    box(left, 0, 0, "h")
    box(left, 0, -1.2, "x", "#f6e7d8")
    box(left, 0, 1.2, "y", "#e0f0da")
    arrow(left, (0, -0.95), (0, -0.3), "Wx")
    arrow(left, (0, 0.3), (0, 0.95), "Wy")
    arrow(left, (0.38, 0.1), (0.38, -0.1), style="-|>", rad=-2.2)
    left.text(0.75, 0, "Wh", fontsize=9, color="#345")
    left.set(xlim=(-1, 1.3), ylim=(-1.6, 1.6), title="a network with a loop")
    for t in range(T):
        box(right, t, 0, f"h{t + 1}")
        box(right, t, -1.2, f"x{t + 1}", "#f6e7d8")
        box(right, t, 1.2, f"y{t + 1}", "#e0f0da")
        arrow(right, (t, -0.95), (t, -0.3), "Wx" if t == 0 else "")
        arrow(right, (t, 0.3), (t, 0.95), "Wy" if t == 0 else "")
        arrow(right, (t - 0.62, 0), (t - 0.38, 0))
    right.text(-0.5, 0.14, "Wh", ha="center", fontsize=9, color="#345")
    box(right, -1, 0, "h0", "#eee")
    right.set(xlim=(-1.5, T - 0.4), ylim=(-1.6, 1.6),
              title=f"unrolled over {T} steps: a deep feed-forward net, weights shared")
    for ax in (left, right):
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout()
    return fig


def draw_gradient_over_time(scale=1.0, activation="tanh", T=50, seed=0, ax=None):
    """‖∂L/∂h_t‖ against t (log scale) for a random RNN with recurrent weights scale·Q (Q
    orthogonal), the loss read at the last step; and the power law scale^(T−1−t) dashed."""
    import matplotlib.pyplot as plt

    norms = random_rnn_gradient_norms(scale, np.random.default_rng(seed), activation=activation,
                                      T=T)
    ax = ax or plt.subplots(figsize=(6, 3.6))[1]
    t = np.arange(T)
    finite = np.isfinite(norms)
    # log10 on a linear axis: the same picture as a log axis, drawn several times faster
    with np.errstate(divide="ignore"):
        ax.plot(t[finite], np.log10(norms[finite]), "o-", ms=3, label=f"{activation} RNN")
    ax.plot(t, (T - 1.0 - t) * np.log10(float(scale)), "--", color="grey",
            label=f"scale^(T−1−t) = {scale:g}^(T−1−t)")
    first = norms[0]
    verdict = ("explodes" if first > 1e3 else "vanishes" if first < 1e-3 else "survives")
    ax.set(xlabel="time step t", ylabel="log10 ‖∂L/∂h_t‖", ylim=(-12, 12),
           title=f"scale {scale:g}, {activation}: the gradient {verdict} "
                 f"(‖∂L/∂h_0‖ = {first:.1e})")
    ax.legend(fontsize=8, loc="lower right")
    return ax.figure


def make_vanishing_app(scale=1.0, activation="tanh", T=50):
    """A recurrent-weight-scale slider and an activation dropdown over
    ``draw_gradient_over_time``."""
    import ipywidgets as widgets

    controls = {
        "scale": widgets.FloatSlider(value=scale, min=0.5, max=1.5, step=0.05,
                                     description="Wh scale"),
        "activation": widgets.Dropdown(options=["tanh", "relu", "linear"], value=activation,
                                       description="activation"),
    }
    panel = PlotPanel(lambda scale, activation: draw_gradient_over_time(scale, activation, T),
                      width="520px")

    def redraw(_=None):
        panel.update(scale=controls["scale"].value, activation=controls["activation"].value)

    for c in controls.values():
        c.observe(redraw, "value")
    redraw()
    app = widgets.VBox([widgets.HBox(list(controls.values())), panel.widget])
    app.controls, app.panel = controls, panel
    return friendly(app)


# -- character models ---------------------------------------------------------------------------

def windows(ids, T):
    """Cut a text's ids (L,) into consecutive windows: inputs (n, T) and targets (n, T), the
    targets being the inputs shifted one character on."""
    ids = np.asarray(ids)
    T = int(check_scalar(T, "T", "windows", low=1, integer=True))
    n = (len(ids) - 1) // T
    if n < 1:
        raise ValueError(f"windows: the text needs at least T + 1 = {T + 1} characters; got "
                         f"{len(ids)}")
    return ids[:n * T].reshape(n, T), ids[1:n * T + 1].reshape(n, T)


def next_char_distribution(model, vocab, prompt, temperature):
    """The model's distribution of the character after ``prompt`` at ``temperature`` (> 0):
    softmax(scores / temperature) of the last step. Returns (V,) probabilities."""
    temperature = float(check_scalar(temperature, "temperature", "next_char_distribution",
                                     low=0, low_open=True))
    scores = model.scores(vocab.encode(prompt)[None])[0, -1]
    return softmax(scores / temperature)


def draw_sampling(model, vocab, prompt, temperature, top=12, title=""):
    """The ``top`` most likely next characters after ``prompt`` at ``temperature``, as bars."""
    import matplotlib.pyplot as plt

    probs = next_char_distribution(model, vocab, prompt, temperature)
    order = np.argsort(probs)[::-1][:top]
    labels = [repr(vocab.chars[i])[1:-1].replace(" ", "␣") for i in order]
    fig, ax = plt.subplots(figsize=(6, 2.6))
    ax.bar(range(len(order)), probs[order], color="#1f77b4")
    ax.set_xticks(range(len(order)), labels)
    ax.set(ylim=(0, 1), xlabel=f"next character after “…{prompt[-20:]}”", ylabel="probability",
           title=f"{title}temperature {temperature:g}")
    fig.tight_layout()
    return fig


def make_sampling_app(models, vocab, prompt="the network ", length=160, temperature=1.0):
    """Sample text from a character model. models: {label: model}, e.g. checkpoints of one
    training run ("after epoch 1", ...). Controls: the checkpoint, the temperature (0.1..2),
    "sample again". The plot shows the next-character distribution; the text below is a fresh
    sample of ``length`` characters after ``prompt``."""
    import ipywidgets as widgets

    labels = list(models)
    controls = {
        "model": widgets.Dropdown(options=labels, value=labels[-1], description="model"),
        "temperature": widgets.FloatSlider(value=temperature, min=0.1, max=2.0, step=0.1,
                                           description="temperature"),
        "again": widgets.Button(description="sample again", tooltip="draw another sample"),
    }
    text = widgets.HTML()
    state = {"seed": 0}
    panel = PlotPanel(lambda label, temperature: draw_sampling(
        models[label], vocab, prompt, temperature, title=f"{label}: "), width="520px")

    def redraw(_=None):
        label, temp = controls["model"].value, controls["temperature"].value
        panel.update(label=label, temperature=temp)
        ids = models[label].sample(vocab.encode(prompt), length, temperature=temp,
                                   rng=np.random.default_rng(state["seed"]))
        text.value = (f"<pre style='white-space: pre-wrap'><b>{html.escape(prompt)}</b>"
                      f"{html.escape(vocab.decode(ids))}</pre>")

    def again(_button=None):
        state["seed"] += 1
        redraw()

    controls["model"].observe(redraw, "value")
    controls["temperature"].observe(redraw, "value")
    controls["again"].on_click(again)
    redraw()
    app = widgets.VBox([widgets.HBox(list(controls.values())), panel.widget, text])
    app.controls, app.panel, app.text, app.state = controls, panel, text, state
    return friendly(app)


__all__ = ["draw_gradient_over_time", "draw_sampling", "draw_unrolled", "make_sampling_app",
           "make_vanishing_app", "next_char_distribution", "windows"]
