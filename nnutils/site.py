"""The lectures as a static HTML site, for students browsing without a kernel (``nncourse site``).

Each lecture is executed in a fresh kernel (outputs and ipywidgets state kept, as nbclient
stores it), then exported with nbconvert's lab template extended by ``site_template/nncourse``:

- the widget state is embedded, so where the Jupyter widgets HTML manager loads (from unpkg, on
  the internet) every widget shows as it was after the run: its controls, readouts and plots;
- every interactive plot also gets a snapshot: the PNG its plot panel held, as a plain image
  beside the widget, so the plots show offline too. A style rule hides the snapshot once the
  live widget has rendered, so nothing shows twice.

``build_site(root, out)`` writes ``out/index.html`` (the lectures, with their titles) and
``out/<lecture>.html``; ``snapshots(nb)`` is the plain function behind the snapshots.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from pathlib import Path

VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
TEMPLATES = Path(__file__).resolve().parent / "site_template"


def _descendant_images(state: dict, model_id: str, seen: set) -> list[str]:
    """Base64 PNGs of every Image model reachable from ``model_id`` through its children."""
    if model_id in seen or model_id not in state:
        return []
    seen.add(model_id)
    model = state[model_id]
    images = []
    if model.get("model_name") == "ImageModel":
        for buffer in model.get("buffers", []):
            if buffer.get("path") == ["value"] and buffer.get("data"):
                images.append(buffer["data"] if buffer.get("encoding") == "base64"
                              else base64.b64encode(bytes.fromhex(buffer["data"])).decode())
    refs = []
    for value in model.get("state", {}).values():
        values = value if isinstance(value, list) else [value]
        refs += [v[len("IPY_MODEL_"):] for v in values
                 if isinstance(v, str) and v.startswith("IPY_MODEL_")]
    for ref in refs:
        images += _descendant_images(state, ref, seen)
    return images


def snapshots(nb) -> int:
    """Attach to every widget output of ``nb`` the PNGs its plots held, as
    ``output.metadata['nncourse']['snapshots']`` (base64). Returns how many outputs got some."""
    state = (nb.metadata.get("widgets", {}).get(STATE) or {}).get("state", {})
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(VIEW)
            if not view:
                continue
            images = _descendant_images(state, view.get("model_id", ""), set())
            if images:
                output.setdefault("metadata", {}).setdefault("nncourse", {})["snapshots"] = images
                count += 1
    return count


def title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


@dataclass
class Page:
    lecture: str
    title: str
    ok: bool
    message: str
    snapshots: int


def _build_one(args) -> tuple[Page, str]:
    path, timeout, threads = args
    from nbconvert import HTMLExporter

    from .course import BLAS_THREAD_VARIABLES, run_notebook

    for name in BLAS_THREAD_VARIABLES:          # lectures run side by side: share the cores
        os.environ[name] = str(threads)

    ok, message, nb = run_notebook(Path(path), "lecture", timeout)
    count = snapshots(nb)
    exporter = HTMLExporter(template_name="nncourse", extra_template_basedirs=[str(TEMPLATES)])
    body, _ = exporter.from_notebook_node(nb)
    return Page(Path(path).stem, title(nb, Path(path).stem), ok, message, count), body


INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Neural networks: the lectures</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;
line-height:1.5}} li{{margin:.4rem 0}} small{{color:#666}}</style></head><body>
<h1>Neural networks, from the perceptron to recurrent networks</h1>
<p>The course's lectures, executed, with the plots of every interactive widget as they were
after the run. To move the sliders yourself, run the notebooks in JupyterLab
(<code>nncourse lab</code>).</p>
<ol>
{items}
</ol></body></html>
"""


def build_site(root: Path, out: Path, paths: list[Path] | None = None, jobs: int | None = None,
               timeout: float = 180, progress: bool = True) -> list[Page]:
    """Execute the lectures in parallel and write the site into ``out``. Returns one Page per
    lecture; a lecture that fails to execute is still written (with its error), and reported."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    from .course import CourseError

    root, out = Path(root), Path(out)
    paths = paths or sorted((root / "lectures").glob("*.ipynb"))
    if not paths:
        raise CourseError(f"no lecture notebooks in {root / 'lectures'}")
    out.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(paths)))
    pages = []
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("forkserver")) as pool:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        results = pool.map(_build_one, [(str(p), timeout, threads) for p in paths])
        for page, body in tqdm(results, total=len(paths), desc="building the site",
                               unit="lecture", disable=not progress):
            (out / f"{page.lecture}.html").write_text(body, encoding="utf-8")
            pages.append(page)
    items = "\n".join(
        f'<li><a href="{html.escape(p.lecture)}.html">{html.escape(p.title)}</a>'
        + ("" if p.ok else f" <small>(did not run to the end: {html.escape(p.message)})</small>")
        + "</li>" for p in pages)
    (out / "index.html").write_text(INDEX.format(items=items), encoding="utf-8")
    return pages
