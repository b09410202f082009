"""Benchmark: widget responsiveness in a real browser (JupyterLab in Debian's Chromium).

    python benchmarks/bench_browser.py [LECTURE ...]    (about 3 minutes for every lecture)

For each lecture: JupyterLab opens a scratch copy, runs all cells, then every control of every
interactive plot is operated as a student would (a slider moved one step with the keyboard, the
next option of a dropdown, a click on a button, toggle or checkbox). The latency is measured in
the page: from the key press or click (a capturing event listener stamps it) to the moment the
plot's new PNG is in the page (a MutationObserver stamps that), so it holds the whole round
trip: the browser sends the new value to the kernel, the callback computes and draws, the PNG
comes back and is shown. Per lecture: the median and the slowest control, against the goal of
200 ms.

The reference, measured in the same run, is the round trip alone: a notebook whose slider
callback only assigns a ready-made PNG to an Image widget. ``ratio`` = a lecture's median /
the reference median: what the lecture's own computing and drawing adds to the round trip.

Then the Playground: Run is pressed and the new heat maps that reach the page are counted for
3 s (default settings, and the heavy spiral 6 x 8 batch-1 setting): frames per second as the
student sees them, against the goal of 10.
"""

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import nbformat

try:
    from nnutils.browser import NotebookPage, chromium
except ImportError:  # a checkout that was never pip-installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from nnutils.browser import NotebookPage, chromium
from _timing import print_table

from nnutils.lab import LabServer

ROOT = Path(__file__).resolve().parents[1]
GOAL_MS, GOAL_FPS = 200.0, 10.0

REFERENCE = [
    "import ipywidgets as w\nfrom nnutils.widgets import rgb_png\nimport numpy as np",
    "pngs = [rgb_png(np.full((300, 300, 3), v, np.uint8)) for v in range(0, 256, 8)]\n"
    "image = w.Image(value=pngs[0], format='png')\n"
    "slider = w.IntSlider(0, 0, len(pngs) - 1, description='v')\n"
    "slider.observe(lambda change: setattr(image, 'value', pngs[change['new']]), 'value')\n"
    "w.VBox([slider, image])",
]


def write_reference(folder: Path) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in REFERENCE])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, folder / "reference.ipynb")
    return "reference.ipynb"


def latencies(context, lab, path: str, repeat: int = 1) -> list[tuple[str, float]]:
    page = NotebookPage.open(context, lab, path)
    try:
        page.run_all()
        found = []
        for _ in range(repeat):
            for app in page.apps():
                for op in page.operate_all(app):
                    if op.changed and op.milliseconds is not None and op.milliseconds > 0:
                        found.append((f"{op.kind} {op.label}", op.milliseconds))
        return found
    finally:
        page.close()


def playground_fps(context, lab, path: str) -> list[tuple[str, float]]:
    page = NotebookPage.open(context, lab, path)
    rows = []
    try:
        page.run_all()
        app = page.apps()[0]
        run = app.locator("button[title='Run/pause']").first
        run.click()
        rows.append(("default (circle, [4, 2], batch 10)", page.frames_per_second(app, 3.0)))
        run.click()
        # the heavy case: spiral, 6 hidden layers of 8, batch size 1, through the kernel
        page.command("notebook:insert-cell-below")
        page.page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel
                 .setSource("app.app.apply(dataset='spiral', hidden_layers=(8,) * 6, "
                            + "batch_size=1)")""")
        page.command("notebook:run-cell")
        page.page.wait_for_timeout(1500)
        run.click()
        rows.append(("spiral, 6 x 8, batch 1", page.frames_per_second(app, 3.0)))
        run.click()
    finally:
        page.close()
    return rows


def main(names: list[str]) -> None:
    lectures = sorted((ROOT / "lectures").glob("*.ipynb"))
    if names:
        lectures = [p for p in lectures if any(n in p.stem for n in names)]
    with tempfile.TemporaryDirectory(prefix="nncourse-bench-") as tmp:
        folder = Path(tmp)
        for p in lectures:
            shutil.copy(p, folder / p.name)
        reference = write_reference(folder)
        with LabServer(folder, expose_app=True) as lab, chromium() as context:
            ref = [ms for _, ms in latencies(context, lab, reference, repeat=15)]
            ref_median = statistics.median(ref)
            rows = [("reference: slider -> ready PNG", len(ref), f"{ref_median:.0f}",
                     f"{max(ref):.0f}", "", "1.00", "ok" if max(ref) < GOAL_MS else "SLOW")]
            worst_overall = []
            for p in lectures:
                found = latencies(context, lab, p.name)
                if not found:
                    rows.append((p.stem, 0, "-", "-", "", "-", "no plots changed"))
                    continue
                values = [ms for _, ms in found]
                slowest = max(found, key=lambda item: item[1])
                worst_overall.append((p.stem, *slowest))
                median = statistics.median(values)
                rows.append((p.stem, len(values), f"{median:.0f}", f"{slowest[1]:.0f}",
                             slowest[0][:28], f"{median / ref_median:.2f}",
                             "ok" if slowest[1] < GOAL_MS else "SLOW"))
            print_table(["notebook", "controls", "median ms", "max ms", "slowest control",
                         "ratio", f"goal < {GOAL_MS:.0f} ms"], rows,
                        title="Slider/button to new plot, in Chromium (ratio = median / "
                              "reference median)")
            playground = [p.name for p in lectures if "playground" in p.stem]
            if playground:
                fps = playground_fps(context, lab, playground[0])
                print()
                print_table(["Playground while playing", "frames/s", f"goal >= {GOAL_FPS:.0f}"],
                            [(name, f"{value:.1f}", "ok" if value >= GOAL_FPS else "SLOW")
                             for name, value in fps],
                            title="Heat-map frames reaching the page per second")


if __name__ == "__main__":
    main(sys.argv[1:])
