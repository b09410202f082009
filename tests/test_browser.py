"""The student's experience in JupyterLab, in a real browser (Debian's Chromium via Playwright).

For every lecture: JupyterLab opens it, Run All finishes without an error output, and every
control of every interactive plot (sliders by keyboard, dropdowns, toggle buttons, checkboxes,
buttons, Play) is operated and must change its plot or readout. A screenshot of each lecture
after the interaction goes to ``build/screenshots`` (``NNCOURSE_ARTIFACTS`` moves it).

For assignment 1: a student fetches it from the Assignments tab, fills in every answer, runs the
visible tests, presses nbgrader's Validate button and submits; the submission lands in the
exchange. With the widget extension switched off, a lecture says how to turn it back on.

Skipped (with the reason) when Chromium or Playwright is missing, unless NNCOURSE_REQUIRE_BROWSER
is set, as it is in CI.
"""

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from nnutils.lab import COURSE_ID, LabServer, prepare_course, student_workspace

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))
ARTIFACTS = Path(os.environ.get("NNCOURSE_ARTIFACTS", ROOT / "build")) / "screenshots"

# Controls that change a setting for the next training step and, rightly, redraw nothing now.
SILENT = {
    "00_playground": {"Learning rate"},
    "01_perceptron": {"lr"},
}


def _browser_or_skip():
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install -e .[dev])"
    from nnutils.browser import chromium_path
    try:
        chromium_path()
    except FileNotFoundError as exc:
        reason = reason or str(exc)
    if reason:
        if os.environ.get("NNCOURSE_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)


pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    _browser_or_skip()
    from nnutils.browser import chromium
    with chromium() as context:
        yield context


@pytest.fixture(scope="module")
def lecture_lab(tmp_path_factory):
    """JupyterLab on a scratch copy of lectures/ (autosave must not touch the committed files)."""
    folder = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "lectures", folder / "lectures",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    with LabServer(folder, expose_app=True) as lab:
        yield lab


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_runs_and_every_control_changes_its_plot(browser, lecture_lab, path):
    from nnutils.browser import NotebookPage

    page = NotebookPage.open(browser, lecture_lab, f"lectures/{path.name}")
    try:
        page.run_all(timeout=150)
        assert page.errors() == [], f"{path.name} shows error output in JupyterLab"
        apps = page.apps()
        assert len(apps) >= (1 if "playground" in path.stem else 2), \
            f"{path.name}: expected interactive plots, found {len(apps)}"
        silent, operations = SILENT.get(path.stem, set()), []
        for app in apps:
            operations += page.operate_all(app)
        assert len(operations) >= 2, f"{path.name}: no controls found"
        dead = [f"{op.kind} '{op.label}'" for op in operations
                if not op.changed and op.label not in silent]
        assert not dead, f"{path.name}: operating these changed nothing on screen: {dead}"
        timings = [f"{op.kind} {op.label}: {op.milliseconds:.0f} ms" for op in operations
                   if op.milliseconds is not None]
        print(f"{path.stem}: {len(operations)} controls; " + "; ".join(timings))
        page.screenshot(ARTIFACTS / f"{path.stem}.png", focus=apps[-1])
    finally:
        page.close()


def test_playground_run_button_animates_the_heat_map(browser, lecture_lab):
    from nnutils.browser import NotebookPage

    page = NotebookPage.open(browser, lecture_lab, "lectures/00_playground.ipynb")
    try:
        page.run_all()
        app = page.apps()[0]
        epoch = app.locator(".widget-html:has-text('Epoch'), .widget-label:has-text('Epoch')")
        before = epoch.first.inner_text() if epoch.count() else ""
        run = app.locator("button[title='Run/pause']")
        run.first.click()
        fps = page.frames_per_second(app, seconds=2.0)
        page.screenshot(ARTIFACTS / "00_playground-playing.png", focus=app)
        run.first.click()
        assert fps > 2, f"the heat map redrew at {fps:.1f} frames per second while playing"
        if before:
            assert epoch.first.inner_text() != before, "the epoch counter did not advance"
    finally:
        page.close()


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory):
    """A student's JupyterLab whose nbgrader exchange holds assignment 1 (fresh, in tmp)."""
    tmp = tmp_path_factory.mktemp("nbgrader")
    exchange = tmp / "exchange"
    prepare_course(ROOT, ["01_perceptron"], exchange=exchange,
                   gradebook=f"sqlite:///{tmp / 'gradebook.db'}")
    folder = student_workspace(ROOT, "ada", folder=tmp / "ada", exchange=exchange)
    with LabServer(folder, expose_app=True) as lab:
        lab.exchange = exchange
        yield lab


def test_student_fetches_fills_validates_and_submits_assignment_one(browser, student_lab):
    from nnutils.browser import NotebookPage
    from nnutils.grading.notebook import solution_answers

    lab = student_lab
    page = browser.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(lab.url())
        page.wait_for_selector(".jp-StatusBar-TextItem, .jp-LauncherCard")
        page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
        row = page.locator(".list_item:has-text('01_perceptron')").first
        row.get_by_role("button", name="Fetch").click()
        page.wait_for_function("() => true")
        nb_path = Path(lab.root_dir) / "01_perceptron" / "perceptron.ipynb"
        page.wait_for_timeout(500)
        for _ in range(40):
            if nb_path.exists():
                break
            page.wait_for_timeout(250)
        assert nb_path.exists(), "Fetch did not copy the assignment into the workspace"
        page.close()

        notebook = NotebookPage.open(browser, lab, "01_perceptron/perceptron.ipynb")
        answers = solution_answers(nbformat.read(
            ROOT / "solutions" / "01_perceptron" / "perceptron.ipynb", as_version=4))
        filled = notebook.page.evaluate(
            """(answers) => {
                const panel = window.jupyterapp.shell.currentWidget;
                let n = 0;
                for (const cell of panel.content.widgets) {
                    const meta = cell.model.getMetadata('nbgrader');
                    const id = meta && meta.grade_id;
                    if (id && answers[id] !== undefined) {
                        cell.model.sharedModel.setSource(answers[meta.grade_id]);
                        n += 1;
                    }
                }
                return n;
            }""", answers)
        assert filled >= 4, f"filled {filled} answer cells"
        notebook.run_all()
        assert notebook.errors() == [], "the visible tests failed on the solution's answers"
        notebook.command("docmanager:save")
        notebook.page.locator("button:has-text('Validate'), .validate-button").first.click()
        dialog = notebook.page.locator(".validation-success, .validation-failed").first
        dialog.wait_for(timeout=120_000)
        assert "passes all the tests" in dialog.inner_text()
        notebook.page.keyboard.press("Escape")
        notebook.page.screenshot(path=str(ARTIFACTS / "assignment-validated.png"))
        notebook.page.evaluate(
            "() => window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
        fetched = notebook.page.locator(".list_item:has-text('01_perceptron')").first
        fetched.get_by_role("button", name="Submit").click()
        inbound = lab.exchange / COURSE_ID / "inbound"
        for _ in range(60):
            if any(inbound.glob("*+01_perceptron+*/perceptron.ipynb")):
                break
            notebook.page.wait_for_timeout(250)
        submitted = list(inbound.glob("*+01_perceptron+*/perceptron.ipynb"))
        assert submitted, "Submit did not put the notebook in the exchange's inbound folder"
        nb = nbformat.read(submitted[0], as_version=4)
        assert any(answers["xor_network"].strip() in c.source for c in nb.cells)
        notebook.close()
    finally:
        if not page.is_closed():
            page.close()


def test_lecture_says_how_to_fix_a_missing_widget_extension(browser, tmp_path):
    """With @jupyter-widgets/jupyterlab-manager disabled, the plots cannot appear; the student
    must read what to do instead of a bare `VBox(children=...)`."""
    from nnutils.browser import NotebookPage

    config = tmp_path / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyter-widgets/jupyterlab-manager": True}}))
    shutil.copy(ROOT / "lectures" / "01_perceptron.ipynb", tmp_path / "lecture.ipynb")
    with LabServer(tmp_path, expose_app=True, env={"JUPYTER_CONFIG_DIR": str(config)}) as lab:
        page = NotebookPage.open(browser, lab, "lecture.ipynb")
        try:
            page.run_all()
            texts = page.widget_texts()
            assert texts, "no explanation where the widget should be"
            assert "jupyterlab_widgets" in texts[0] and "reload" in texts[0].lower()
        finally:
            page.close()
