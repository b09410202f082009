"""Lecture 6 (convolutional networks): its plots and interactive parts.

- ``conv_by_hand`` computes a small convolution one output at a time and says how;
- ``FILTERS`` holds classic 3x3 kernels; ``draw_filter`` shows a digit, a kernel and the
  filtered image (``nnutils.conv.conv2d_forward``, padding 1); ``make_filter_app`` chooses a
  preset, edits the nine numbers and picks the digit;
- ``output_size`` is the arithmetic (W − K + 2P)/S + 1; ``draw_window`` draws the padded input,
  the window at one output position and the output grid; ``make_window_app`` slides it;
- ``shift_images`` and ``accuracy_under_shift`` test translation invariance;
  ``plot_shift_accuracy`` draws it;
- ``plot_imagenet_errors`` draws the ImageNet top-5 errors the decks quote.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_scalar
from ..conv import conv2d_forward
from . import PlotPanel, friendly

FILTERS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box blur": [[1 / 9] * 3] * 3,
    "Gaussian blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "vertical edges (Sobel)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "horizontal edges (Sobel)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "all edges (Laplacian)": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}


def conv_by_hand(x, k) -> tuple[np.ndarray, list[str]]:
    """Valid cross-correlation (what deep learning calls convolution) of a 2-D grid x (H, W) with
    a kernel k (KH, KW), one output at a time: out[i, j] = Σ_a Σ_b x[i + a, j + b]·k[a, b].
    Returns (out, lines), one line per output saying which products were summed."""
    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
    if x.ndim != 2 or k.ndim != 2 or k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]:
        raise ValueError(f"conv_by_hand: x must be a 2-D grid at least as large as the 2-D "
                         f"kernel k; got x {x.shape} and k {k.shape}")
    Ho, Wo = x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1
    out, lines = np.zeros((Ho, Wo)), []
    for i in range(Ho):
        for j in range(Wo):
            patch = x[i:i + k.shape[0], j:j + k.shape[1]]
            out[i, j] = float(np.sum(patch * k))
            terms = " + ".join(f"{a:g}·{b:g}" for a, b in zip(patch.ravel(), k.ravel()) if b)
            lines.append(f"out[{i},{j}] = {terms} = {out[i, j]:g}")
    return out, lines


def apply_filter(image, kernel) -> np.ndarray:
    """An image (H, W) filtered by a 3x3 kernel with zero padding 1: (H, W)."""
    image = np.asarray(image, dtype=np.float64)
    w = np.asarray(kernel, dtype=np.float64).reshape(1, 1, 3, 3)
    return conv2d_forward(image[None, None], w, np.zeros(1), stride=1, pad=1)[0][0, 0]


def draw_filter(image, kernel, name="custom"):
    """Three panels: the digit, the kernel with its numbers, the filtered digit."""
    import matplotlib.pyplot as plt

    kernel = np.asarray(kernel, dtype=np.float64).reshape(3, 3)
    out = apply_filter(image, kernel)
    fig, axes = plt.subplots(1, 3, figsize=(8.4, 2.9))
    axes[0].imshow(image, cmap="gray_r")
    axes[0].set_title("digit")
    limit = max(1e-9, float(np.abs(kernel).max()))
    axes[1].imshow(kernel, cmap="coolwarm", vmin=-limit, vmax=limit)
    for (r, c), v in np.ndenumerate(kernel):
        axes[1].text(c, r, f"{v:.2g}", ha="center", va="center", fontsize=10)
    axes[1].set_title(f"kernel: {name}")
    axes[2].imshow(out, cmap="gray_r")
    axes[2].set_title(f"filtered: {out.min():.2g} … {out.max():.2g}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("column")
    axes[0].set_ylabel("row")
    fig.tight_layout()
    return fig


def make_filter_app(images, index=0, preset="vertical edges (Sobel)"):
    """A preset dropdown, nine editable kernel entries and a digit slider over ``draw_filter``.
    images: (N, H, W). Choosing a preset fills in the entries; editing an entry makes it
    "custom". Returns a VBox with ``controls`` {"preset", "digit", "k00" .. "k22"}."""
    import ipywidgets as widgets

    images = np.asarray(images, dtype=np.float64)
    entries = {f"k{r}{c}": widgets.FloatText(value=float(FILTERS[preset][r][c]), step=0.1,
                                             layout={"width": "64px"})
               for r in range(3) for c in range(3)}
    controls = {
        "preset": widgets.Dropdown(options=list(FILTERS) + ["custom"], value=preset,
                                   description="kernel"),
        "digit": widgets.IntSlider(value=index, min=0, max=len(images) - 1, description="digit"),
        **entries,
    }
    panel = PlotPanel(lambda image, kernel, name: draw_filter(image, kernel, name),
                      width="640px")
    busy = [False]

    def kernel():
        return [[entries[f"k{r}{c}"].value for c in range(3)] for r in range(3)]

    def redraw(_=None):
        if not busy[0]:
            panel.update(image=images[controls["digit"].value], kernel=kernel(),
                         name=controls["preset"].value)

    def on_preset(change):
        if change["new"] == "custom":
            return
        busy[0] = True
        try:
            for r in range(3):
                for c in range(3):
                    entries[f"k{r}{c}"].value = float(FILTERS[change["new"]][r][c])
        finally:
            busy[0] = False
        redraw()

    def on_entry(_change):
        if not busy[0] and controls["preset"].value != "custom":
            busy[0] = True
            controls["preset"].value = "custom"
            busy[0] = False
        redraw()

    controls["preset"].observe(on_preset, "value")
    controls["digit"].observe(redraw, "value")
    for e in entries.values():
        e.observe(on_entry, "value")
    redraw()
    grid = widgets.VBox([widgets.HBox([entries[f"k{r}{c}"] for c in range(3)])
                         for r in range(3)])
    app = widgets.VBox([widgets.HBox([widgets.VBox([controls["preset"], controls["digit"]]),
                                      grid]), panel.widget])
    app.controls, app.panel = controls, panel
    return friendly(app)


# -- output size and the sliding window ---------------------------------------------------------

def output_size(size, kernel, stride=1, pad=0) -> int:
    """How many positions a kernel takes along one axis: (size − kernel + 2·pad) // stride + 1.
    Raises ValueError when the kernel does not fit in the padded input."""
    func = "output_size"
    size = int(check_scalar(size, "size", func, low=1, integer=True))
    kernel = int(check_scalar(kernel, "kernel", func, low=1, integer=True))
    stride = int(check_scalar(stride, "stride", func, low=1, integer=True))
    pad = int(check_scalar(pad, "pad", func, low=0, integer=True))
    if kernel > size + 2 * pad:
        raise ValueError(f"{func}: a {kernel}-wide kernel does not fit in {size} + 2·{pad} "
                         "padded positions")
    return (size - kernel + 2 * pad) // stride + 1


def draw_window(size=7, kernel=3, stride=1, pad=0, position=0):
    """The padded input (padding shaded), the kernel window at output ``position`` (counted
    row by row) and the output grid with that cell marked; the formula in the title."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = output_size(size, kernel, stride, pad)
    position = int(np.clip(position, 0, n * n - 1))
    r, c = divmod(position, n)
    full = size + 2 * pad
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 4.0),
                                      gridspec_kw={"width_ratios": [full, max(n, 3)]})
    shade = np.full((full, full), 0.85)                    # padding: grey
    shade[pad:pad + size, pad:pad + size] = 1.0             # the input itself: white
    left.imshow(shade, cmap="gray", vmin=0, vmax=1, extent=(0, full, full, 0))
    left.add_patch(Rectangle((c * stride, r * stride), kernel, kernel, facecolor="#1f77b4",
                             alpha=0.35, edgecolor="#1f77b4", lw=2))
    cells = np.zeros((n, n))
    cells[r, c] = 1.0
    right.imshow(cells, cmap="Blues", vmin=0, vmax=1.25, extent=(0, n, n, 0))
    for ax, m in ((left, full), (right, n)):
        ax.hlines(np.arange(m + 1), 0, m, color="#999", lw=0.6)
        ax.vlines(np.arange(m + 1), 0, m, color="#999", lw=0.6)
        ax.set(xticks=[], yticks=[], xlabel="column", ylabel="row")
    left.set_title(f"input {size}×{size}, padding {pad} (grey)")
    right.set_title(f"output {n}×{n}: cell ({r}, {c})")
    fig.suptitle(f"({size} − {kernel} + 2·{pad}) / {stride} + 1 = {n}   "
                 f"(kernel {kernel}×{kernel}, stride {stride})", fontsize=11)
    fig.tight_layout()
    return fig


def make_window_app(size=7, kernel=3, stride=1, pad=0):
    """Sliders for input size, kernel, stride, padding and the output position over
    ``draw_window``; impossible combinations say so instead of drawing."""
    import ipywidgets as widgets

    controls = {
        "size": widgets.IntSlider(value=size, min=3, max=12, description="input"),
        "kernel": widgets.IntSlider(value=kernel, min=1, max=7, description="kernel"),
        "stride": widgets.IntSlider(value=stride, min=1, max=4, description="stride"),
        "pad": widgets.IntSlider(value=pad, min=0, max=3, description="padding"),
        "position": widgets.IntSlider(value=0, min=0, max=24, description="position"),
    }
    note = widgets.HTML()
    panel = PlotPanel(draw_window, width="560px")

    def redraw(_=None):
        values = {k: c.value for k, c in controls.items()}
        try:
            n = output_size(values["size"], values["kernel"], values["stride"], values["pad"])
        except ValueError as exc:
            note.value = f"<b>{exc}</b>"
            return
        controls["position"].max = n * n - 1
        values["position"] = controls["position"].value
        note.value = f"{n * n} output positions"
        panel.update(**values)

    for c in controls.values():
        c.observe(redraw, "value")
    redraw()
    app = widgets.VBox([widgets.HBox([widgets.VBox(list(controls.values())[:3]),
                                      widgets.VBox([*list(controls.values())[3:], note])]),
                        panel.widget])
    app.controls, app.panel, app.note = controls, panel, note
    return friendly(app)


# -- translation invariance ---------------------------------------------------------------------

def shift_images(images, dx, dy=0) -> np.ndarray:
    """Images (N, H, W) moved dx pixels right and dy down, zeros coming in."""
    images = np.asarray(images, dtype=np.float64)
    out = np.zeros_like(images)
    H, W = images.shape[-2:]
    if abs(dx) >= W or abs(dy) >= H:
        return out
    src = images[..., max(0, -dy):H - max(0, dy), max(0, -dx):W - max(0, dx)]
    out[..., max(0, dy):H - max(0, -dy), max(0, dx):W - max(0, -dx)] = src
    return out


def accuracy_under_shift(predict, images, labels, shifts, to_inputs):
    """Accuracy of ``predict(to_inputs(shifted))`` for every horizontal shift in ``shifts``."""
    labels = np.asarray(labels)
    return [float(np.mean(predict(to_inputs(shift_images(images, s))) == labels))
            for s in shifts]


def plot_shift_accuracy(shifts, curves: dict, ax=None):
    """Accuracy against shift, one line per model."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5.5, 3.6))[1]
    for name, accs in curves.items():
        ax.plot(shifts, accs, "o-", label=name)
    ax.set(xlabel="shift to the right (pixels)", ylabel="test accuracy", ylim=(0, 1.02),
           title="Translation: conv net vs MLP")
    ax.legend(fontsize=8)
    return ax.figure


# The decks' ImageNet numbers (top-5 error, %): AlexNet from the CMU deck's AlexNet slide,
# GoogLeNet from its GoogLeNet slide, VGG and the ResNets from the table of He et al. (2015)
# that the same deck reproduces (single models, validation set), and the ResNet ensemble.
IMAGENET_TOP5 = {
    "AlexNet (2012)": 18.2,
    "VGG (2014)": 7.1,
    "GoogLeNet (2014)": 6.7,
    "ResNet-34": 5.71,
    "ResNet-152 (2015)": 4.49,
    "ResNet ensemble": 3.57,
}


def plot_imagenet_errors(errors=IMAGENET_TOP5, ax=None):
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6.5, 3.2))[1]
    names, values = list(errors), list(errors.values())
    ax.barh(names[::-1], values[::-1], color="#1f77b4")
    for k, v in enumerate(values[::-1]):
        ax.text(v, k, f" {v:g} %", va="center", fontsize=9)
    ax.set(xlabel="ImageNet top-5 error (%)", title="Deeper nets, fewer errors",
           xlim=(0, max(values) * 1.2))
    return ax.figure


__all__ = ["FILTERS", "IMAGENET_TOP5", "accuracy_under_shift", "apply_filter", "conv_by_hand",
           "draw_filter", "draw_window", "make_filter_app", "make_window_app", "output_size",
           "plot_imagenet_errors", "plot_shift_accuracy", "shift_images"]
