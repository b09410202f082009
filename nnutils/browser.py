"""Drive the course in a real browser: JupyterLab in Debian's Chromium through Playwright.

Used by the browser tests (``tests/browser``), the responsiveness benchmark
(``benchmarks/bench_browser.py``) and nothing a student runs. Playwright is a test extra and is
imported only here, inside functions.

    with LabServer(folder, expose_app=True) as lab, chromium() as browser:
        page = NotebookPage.open(browser, lab, "lectures/01_perceptron.ipynb")
        page.run_all()
        assert page.errors() == []
        for app in page.apps():            # every output that holds a widget with a plot
            changed, ms = page.operate(app)

Chromium is never downloaded: the one from Debian (``apt-get install chromium``) is launched by
path. ``NNCOURSE_CHROMIUM`` overrides the path.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"]


def chromium_path() -> str:
    path = os.environ.get("NNCOURSE_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists():
        raise FileNotFoundError(f"no Chromium at {path}: install it with `apt-get install "
                                "chromium` (or set NNCOURSE_CHROMIUM to its path)")
    return path


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000):
    """A headless Chromium browser (Playwright); yields a fresh browser context."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("TMPDIR", tempfile.gettempdir())   # failed launches leave folders here
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                    args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            yield context
        finally:
            context.close()
            browser.close()


# JavaScript run in the page. A MutationObserver watches one output area: every time the src of
# one of its images changes (a new PNG) or the text a widget shows changes (an HTML or Label
# readout of state, not the slider's own readout), it stamps the time. Latencies are measured in
# the page, from the key press or click to the first new image, without polling delays.
WATCH_JS = """(area) => {
    window.__nn = window.__nn || {};
    const imgs = () => Array.from(area.querySelectorAll('img')).map(i => i.src).join('|');
    const text = () => Array.from(area.querySelectorAll('.widget-html, .widget-htmlmath'))
        .map(e => e.innerText).join('|');
    const state = {images: [], texts: [], img: imgs(), txt: text(), t0: null};
    const obs = new MutationObserver(() => {
        const now = performance.now(), i = imgs(), t = text();
        if (i !== state.img) { state.images.push(now); state.img = i; }
        if (t !== state.txt) { state.texts.push(now); state.txt = t; }
    });
    obs.observe(area, {subtree: true, attributes: true, childList: true, characterData: true});
    if (window.__nn.obs) window.__nn.obs.disconnect();
    window.__nn.obs = obs;
    window.__nn.watch = state;
    for (const kind of ['keydown', 'mousedown', 'change']) {
        document.addEventListener(kind, () => {
            if (state.t0 === null) state.t0 = performance.now();
        }, {capture: true, once: true});
    }
    return true;
}"""

ANIMATES = re.compile(r"run|play|start|animate|train", re.IGNORECASE)

CONTROLS = {
    "slider": ".widget-slider:not(.widget-play) .noUi-handle",
    "dropdown": ".widget-dropdown select",
    "toggle": ".widget-toggle-buttons button",
    "checkbox": ".widget-checkbox input",
    "play": ".widget-play",
    "button": ".jupyter-widgets > button.jupyter-button, .widget-box > button.jupyter-button",
}


@dataclass
class Operation:
    """What operating one widget did: its kind, whether the plot changed, and how fast."""

    kind: str
    label: str
    changed: bool
    milliseconds: float | None


class NotebookPage:
    """One notebook open in JupyterLab (in its own workspace, so no old tabs come back)."""

    def __init__(self, page, lab, path: str):
        self.page, self.lab, self.path = page, lab, path

    @classmethod
    def open(cls, context, lab, path: str, timeout: float = 60) -> NotebookPage:
        page = context.new_page()
        page.set_default_timeout(timeout * 1000)
        page.goto(lab.url(path))
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')")
        with contextlib.suppress(Exception):        # more room for the notebook
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        return cls(page, lab, path)

    def command(self, name: str, args: dict | None = None):
        return self.page.evaluate("([n, a]) => window.jupyterapp.commands.execute(n, a)",
                                  [name, args or {}])

    def code_cell_count(self) -> int:
        return self.page.locator(".jp-Notebook .jp-CodeCell").count()

    def run_all(self, timeout: float = 180) -> float:
        """Run every cell; wait until the last one has its execution number. Returns seconds."""
        start = time.perf_counter()
        self.command("notebook:run-all-cells")
        self.page.wait_for_function(
            """() => {
                const prompts = Array.from(document.querySelectorAll(
                    '.jp-Notebook .jp-CodeCell .jp-InputArea-prompt'));
                if (!prompts.length) return false;
                const idle = Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))
                    .some(e => e.textContent.includes('| Idle'));
                return idle && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""", timeout=timeout * 1000, polling=200)
        return time.perf_counter() - start

    def errors(self) -> list[str]:
        """Text of every error output (tracebacks and anything written to stderr)."""
        loc = self.page.locator(".jp-OutputArea-output[data-mime-type="
                                "'application/vnd.jupyter.stderr']")
        return [loc.nth(i).text_content()[:500] for i in range(loc.count())]

    def widget_texts(self) -> list[str]:
        """Outputs that show a widget as text: the widget extension did not load."""
        loc = self.page.locator(".jp-OutputArea-output:has-text('nnutils widget')")
        return [loc.nth(i).text_content()[:600] for i in range(loc.count())]

    def apps(self):
        """Every output area that holds a widget with at least one image (a plot panel)."""
        loc = self.page.locator(".jp-OutputArea-output:has(.jupyter-widgets):has(img)")
        return [loc.nth(i) for i in range(loc.count())]

    def _watch(self, area) -> None:
        area.evaluate(WATCH_JS)

    def _settle(self, timeout: float, text_counts: bool = True) -> tuple[bool, float | None]:
        """Wait for a new image (or, if ``text_counts``, new widget text) in the watched area."""
        condition = ("() => window.__nn.watch.images.length > 0"
                     + (" || window.__nn.watch.texts.length > 0" if text_counts else ""))
        try:
            self.page.wait_for_function(condition, timeout=timeout * 1000, polling="raf")
        except Exception:
            return False, None
        self.page.wait_for_timeout(50)      # let a redraw that follows a text change land
        state = self.page.evaluate("() => window.__nn.watch")
        if state["images"] and state["t0"] is not None:
            return True, state["images"][0] - state["t0"]
        return True, None

    def operate_all(self, area, timeout: float = 5.0) -> list[Operation]:
        """Operate every control inside ``area``, kind by kind, in page order. Controls are
        looked up afresh before each step: a button may add or remove others."""
        done = []
        for kind, selector in CONTROLS.items():
            i = 0
            while i < area.locator(selector).count():
                control = area.locator(selector).nth(i)
                if control.is_visible():              # a hidden panel's controls are not in play
                    done.append(self.operate(area, kind, control, timeout))
                i += 1
        return done

    def operate(self, area, kind: str, control, timeout: float = 5.0) -> Operation:
        """Operate one control in ``area`` as a student would; wait until its plot or readout
        changes.

        Sliders move one step with the keyboard (or back, at the right end); a dropdown takes its
        next option; toggle buttons, checkboxes and buttons are clicked; a Play widget plays and
        is paused again."""
        control.scroll_into_view_if_needed()
        label = _label(control, kind)
        if kind == "slider":
            control.focus()
            for key in ("ArrowRight", "ArrowLeft"):
                self._watch(area)
                self.page.keyboard.press(key)
                changed, ms = self._settle(timeout)
                if changed:
                    break
            return Operation(kind, label, changed, ms)
        self._watch(area)
        if kind == "dropdown":
            values = control.locator("option").evaluate_all("os => os.map(o => o.value)")
            current = control.input_value()
            options = values[values.index(current) + 1:] + values[:values.index(current)]
            control.select_option(options[0])
        elif kind == "play":
            control.locator("button").first.click()
            changed, ms = self._settle(timeout, text_counts=False)
            control.locator("button").nth(1).click()         # pause
            self.page.wait_for_timeout(300)                   # let the last frame land
            return Operation(kind, "Play", changed, ms)
        else:
            control.click()
        changed, ms = self._settle(timeout)
        if kind == "button" and changed and ANIMATES.search(label):
            # a Run button starts an animation: it keeps drawing, and a second click pauses it
            count = "() => window.__nn.watch.images.length"
            self.page.wait_for_timeout(300)
            settled = self.page.evaluate(count)
            self.page.wait_for_timeout(700)
            if self.page.evaluate(count) > settled:
                control.click()
                self.page.wait_for_timeout(300)
                kind = "play"
        return Operation(kind, label, changed, ms)

    def frames_per_second(self, area, seconds: float = 3.0) -> float:
        """New frames per second of the largest image inside ``area`` (the heat map, not its
        thumbnails) while something animates it."""
        changes = self.page.evaluate(
            """([area, ms]) => new Promise(resolve => {
                const imgs = Array.from(area.querySelectorAll('img'));
                const size = i => i.clientWidth * i.clientHeight;
                const main = imgs.reduce((a, b) => (size(b) > size(a) ? b : a));
                const times = [];
                let last = main.src;
                const obs = new MutationObserver(() => {
                    if (main.src !== last) { times.push(performance.now()); last = main.src; }
                });
                obs.observe(main, {attributes: true, attributeFilter: ['src']});
                setTimeout(() => { obs.disconnect(); resolve(times); }, ms);
            })""", [area.element_handle(), seconds * 1000])
        if len(changes) < 2:
            return 0.0
        return (len(changes) - 1) / ((changes[-1] - changes[0]) / 1000)

    def screenshot(self, path: Path, focus=None) -> Path:
        """Save what the page shows, with ``focus`` (a locator) scrolled to the top if given."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if focus is not None:
            focus.evaluate("e => e.scrollIntoView({block: 'start'})")
            self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def close(self) -> None:
        """Close the tab and shut its kernel down (through the REST API: no dialogs)."""
        self.page.close()
        self.lab.shutdown_kernels()


def _label(control, kind: str) -> str:
    """The description a student reads beside a control (or its text, for a button)."""
    with contextlib.suppress(Exception):
        if kind in ("button", "toggle"):
            return (control.inner_text(timeout=500).strip() or control.get_attribute("title")
                    or kind)
        return control.evaluate(
            """e => { const w = e.closest('.jupyter-widgets.widget-inline-hbox')
                         || e.closest('.widget-inline-hbox') || e.parentElement;
                     const l = w && w.querySelector('.widget-label');
                     const own = l && l.innerText.replace('\u200b', '').trim();
                     const before = w && w.previousElementSibling;
                     return own || (before && before.innerText.trim()) || ''; }""") or kind
    return kind
