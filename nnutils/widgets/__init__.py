"""The interactive parts of the lectures, built on ipywidgets.

Every widget here is a thin shell around plain functions that compute what is drawn (the state
of a training run, a figure, an RGB heat map). Tests call those functions directly, and drive
the widgets by setting values: without a browser, observers run at once in the same thread.
Nothing blocks when no front end is attached: an animation advances only when its Play widget
ticks or its Step button is pressed, and a background thread starts only on Play.

Shared helpers:

- ``figure_png(fig)``: a matplotlib figure as PNG bytes (then closed), for ``widgets.Image``;
- ``rgb_png(rgb)``: an (H, W, 3) uint8 array as PNG bytes, in about a millisecond, for heat maps
  that must redraw ten times a second;
- ``PlotPanel``: an ``Image`` widget that a plot function redraws in place (no flicker, no
  growing output), with the time of the last redraw kept for the responsiveness benchmark.

ipywidgets and matplotlib are imported here, so ``import nnutils`` never pays for them.
"""

import io
import struct
import time
import zlib

import numpy as np


def figure_png(fig, dpi: int = 80) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})  # fast zlib
    plt.close(fig)
    return buf.getvalue()


def rgb_png(rgb: np.ndarray) -> bytes:
    """Encode an (H, W, 3) or (H, W, 4) uint8 image as PNG (no filtering, fast zlib level)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise ValueError(f"rgb_png: expected an (H, W, 3) or (H, W, 4) uint8 array; got shape "
                         f"{rgb.shape}")
    h, w, channels = rgb.shape
    raw = np.zeros((h, 1 + w * channels), np.uint8)      # filter byte 0 on every row
    raw[:, 1:] = rgb.reshape(h, w * channels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, 2 if channels == 3 else 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)) + chunk(b"IEND", b""))


class PlotPanel:
    """An Image widget redrawn by ``plot(**values) -> Figure | PNG bytes | (H, W, 3) array``.

    ``panel.update(**values)`` draws now; ``panel.widget`` goes into a layout;
    ``panel.last_seconds`` says how long the last redraw took; ``panel.draws`` counts them.
    """

    def __init__(self, plot, width: str | None = None, dpi: int = 80):
        import ipywidgets as widgets

        self.plot, self.dpi = plot, dpi
        self.widget = widgets.Image(format="png")
        if width:
            self.widget.layout.width = width
        self.last_seconds = 0.0
        self.draws = 0
        self.error = ""

    def update(self, **values) -> bytes:
        start = time.perf_counter()
        try:
            drawn = self.plot(**values)
        except Exception as exc:    # show the problem instead of swallowing it
            self.error = f"{type(exc).__name__}: {exc}"
            raise
        if isinstance(drawn, bytes):
            png = drawn
        elif isinstance(drawn, np.ndarray):
            png = rgb_png(drawn)
        else:
            png = figure_png(drawn, self.dpi)
        self.widget.value = png
        self.error = ""
        self.draws += 1
        self.last_seconds = time.perf_counter() - start
        return png


WIDGETS_MISSING = (
    "This is an nnutils widget, shown as text because JupyterLab's widget extension is not "
    "loaded in this browser. Fix: `pip install jupyterlab_widgets` in the environment that runs "
    "JupyterLab (or run `nncourse doctor` for a check), restart JupyterLab, reload the page, then "
    "run the notebook again. In the classic Notebook, use JupyterLab or Notebook 7 instead."
)


def friendly(app):
    """Give a displayed app a text fallback that says how to make the widgets appear.

    JupyterLab shows a widget's ``text/plain`` form only when it cannot render the widget (the
    ``@jupyter-widgets/jupyterlab-manager`` extension is missing or disabled); ipywidgets'
    default there is ``VBox(children=(...))``, which helps nobody. Returns ``app``.
    """
    plain = app._repr_mimebundle_

    def bundle(**kwargs):
        data = plain(**kwargs)
        if isinstance(data, tuple):        # (data, metadata)
            data[0]["text/plain"] = WIDGETS_MISSING
        elif isinstance(data, dict):
            data["text/plain"] = WIDGETS_MISSING
        return data

    app._repr_mimebundle_ = bundle
    return app
