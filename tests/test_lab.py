"""`nncourse lab`, `doctor` and `site` without a browser: the course exchange and gradebook, a
student's workspace, the server, the checks and their fixes, the static pages."""

import base64
import json
import sqlite3
import urllib.request
from pathlib import Path

import nbformat
import pytest

from nnutils import lab
from nnutils.cli import main
from nnutils.course import CourseError
from nnutils.site import build_site, snapshots, title

ROOT = Path(__file__).resolve().parent.parent


def test_prepare_course_releases_to_the_exchange_and_fills_the_gradebook(tmp_path):
    exchange, db = tmp_path / "exchange", tmp_path / "gradebook.db"
    assert lab.prepare_course(ROOT, ["01_perceptron"], exchange=exchange,
                              gradebook=f"sqlite:///{db}") == ["01_perceptron"]
    released = exchange / lab.COURSE_ID / "outbound" / "01_perceptron" / "perceptron.ipynb"
    student = nbformat.read(released, as_version=4)
    committed = nbformat.read(ROOT / "assignments" / "01_perceptron" / "perceptron.ipynb", 4)
    assert [c.source for c in student.cells] == [c.source for c in committed.cells]
    assert (exchange / lab.COURSE_ID / "inbound").is_dir()
    with sqlite3.connect(db) as con:
        names = {row[0] for row in con.execute("select name from assignment")}
        cells = con.execute("select count(*) from grade_cells").fetchone()[0]
    assert names == {"01_perceptron"} and cells >= 5
    # releasing again replaces the copy instead of failing
    lab.prepare_course(ROOT, ["01_perceptron"], exchange=exchange, gradebook=f"sqlite:///{db}")


def test_prepare_course_names_an_unknown_assignment(tmp_path):
    with pytest.raises(CourseError, match="99_nothing"):
        lab.prepare_course(ROOT, ["99_nothing"], exchange=tmp_path / "x")


def test_student_workspace_points_nbgrader_at_the_course_exchange(tmp_path):
    folder = lab.student_workspace(ROOT, "ada", folder=tmp_path / "ada",
                                   exchange=tmp_path / "exchange")
    namespace = {"get_config": lambda: Config()}

    class Config(dict):
        def __getattr__(self, name):
            return self.setdefault(name, type(self)())

        def __setattr__(self, name, value):
            self[name] = value

    config = Config()
    namespace["get_config"] = lambda: config
    exec((folder / "nbgrader_config.py").read_text(), namespace)
    assert config["Exchange"]["root"] == str(tmp_path / "exchange")
    assert config["CourseDirectory"]["course_id"] == lab.COURSE_ID


@pytest.mark.parametrize("name", ["", "../evil", "a b", "x;rm"])
def test_student_workspace_refuses_names_that_are_not_plain(tmp_path, name):
    with pytest.raises(CourseError, match="letters, digits"):
        lab.student_workspace(ROOT, name, folder=tmp_path / "w")


def test_lab_server_answers_on_loopback_and_stops(tmp_path):
    server = lab.LabServer(tmp_path)
    with server:
        with urllib.request.urlopen(server.api("status"), timeout=10) as response:
            assert json.loads(response.read())["started"]
        assert server.url("x.ipynb").startswith(f"http://127.0.0.1:{server.port}/lab/workspaces/")
        assert f"token={server.token}" in server.url()
    assert server.process.poll() is not None


def test_doctor_passes_in_the_course_environment():
    checks = lab.doctor()
    assert [c.name for c in checks if not c.ok] == []
    names = " ".join(c.name for c in checks)
    assert "widget extension" in names and "kernel" in names and "nbgrader" in names


def test_doctor_says_how_to_install_a_missing_package(monkeypatch):
    real = lab._version
    monkeypatch.setattr(lab, "_version", lambda m: None if m == "ipywidgets" else real(m))
    bad = [c for c in lab.doctor() if not c.ok]
    assert [c.name for c in bad] == ["ipywidgets >= 8"]
    assert "pip install" in bad[0].fix and bad[0].detail == "missing"
    assert "FIX" in lab.doctor_table(bad) and "-> pip install" in lab.doctor_table(bad)


def test_doctor_sees_a_disabled_widget_extension(monkeypatch, tmp_path):
    (tmp_path / "labconfig").mkdir()
    (tmp_path / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyter-widgets/jupyterlab-manager": True}}))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    check = lab._labextension_check("@jupyter-widgets/jupyterlab-manager", "widget extension",
                                    "jupyterlab_widgets")
    assert not check.ok and "disabled" in check.detail
    assert "jupyter labextension enable @jupyter-widgets/jupyterlab-manager" in check.fix


def test_doctor_command_prints_the_table_and_exits_zero(capsys, tmp_path):
    # a fresh course, never prepared: that is not a problem (nncourse lab prepares it)
    (tmp_path / "solutions").mkdir()
    (tmp_path / "lectures").mkdir()
    assert main(["--course", str(tmp_path), "doctor"]) == 0
    out = capsys.readouterr().out
    assert "widget extension" in out and "FIX" not in out and "not prepared yet" in out


def test_at_least_compares_versions_by_number():
    assert lab._at_least("8.1.9", "8") and lab._at_least("3.11.2", "3.8")
    assert not lab._at_least("3.7.5", "3.8") and not lab._at_least("0.8", "0.9")


def test_widget_apps_explain_themselves_when_the_extension_is_missing():
    from nnutils.widgets import WIDGETS_MISSING
    from nnutils.widgets.perceptron import make_line_app

    X = [[0.0, 1.0], [1.0, 0.0]]
    app = make_line_app(__import__("numpy").array(X), __import__("numpy").array([1.0, -1.0]))
    data = app._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert data["text/plain"] == WIDGETS_MISSING
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "pip install jupyterlab_widgets" in WIDGETS_MISSING


# -- the static site ----------------------------------------------------------------------------

def _png(color: int) -> str:
    import numpy as np

    from nnutils.widgets import rgb_png
    return base64.b64encode(rgb_png(np.full((2, 2, 3), color, np.uint8))).decode()


def test_snapshots_collect_the_images_below_each_displayed_widget():
    nb = nbformat.v4.new_notebook()
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "box", "version_major": 2}}
    nb.cells = [nbformat.v4.new_code_cell("app", outputs=[
        nbformat.v4.new_output("display_data", data=view)])]
    image = {"model_name": "ImageModel", "state": {},
             "buffers": [{"path": ["value"], "encoding": "base64", "data": _png(9)}]}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_row",
                                                                  "IPY_MODEL_img2"]}},
        "row": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_img1"]}},
        "img1": image, "img2": {**image, "buffers": [{**image["buffers"][0], "data": _png(200)}]},
        "loose": image}}}
    assert snapshots(nb) == 1
    shots = nb.cells[0].outputs[0].metadata["nncourse"]["snapshots"]
    assert shots == [_png(9), _png(200)]          # in layout order; an unreachable image is not


def test_title_is_the_first_heading():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("intro\n# Lecture 9 — x")])
    assert title(nb, "fallback") == "Lecture 9 — x"
    assert title(nbformat.v4.new_notebook(), "fallback") == "fallback"


@pytest.mark.slow
def test_site_page_embeds_widget_state_and_a_snapshot_per_widget(tmp_path):
    lecture = ROOT / "lectures" / "01_perceptron.ipynb"
    pages = build_site(ROOT, tmp_path, [lecture], progress=False)
    assert [(p.lecture, p.ok) for p in pages] == [("01_perceptron", True)]
    page = (tmp_path / "01_perceptron.html").read_text()
    assert 'application/vnd.jupyter.widget-state+json' in page
    views = page.count('<script type="application/vnd.jupyter.widget-view+json">')
    assert views >= 2 and page.count('class="nn-snapshot"') == views == pages[0].snapshots
    assert "data:image/png;base64,iVBOR" in page
    index = (tmp_path / "index.html").read_text()
    assert 'href="01_perceptron.html"' in index and pages[0].title in index


def test_check_kernel_is_quiet_but_for_one_line_when_all_is_there(capsys):
    assert lab.check_kernel() is None
    assert capsys.readouterr().out.startswith("ready: Python 3.")


def test_check_kernel_names_what_is_missing_and_how_to_fix_it():
    needs = [("numpy", "numpy", "1.26"), ("surely_not_a_module", "surely-not", "1"),
             ("tqdm", "tqdm", "999")]
    with pytest.raises(ImportError) as info:
        lab.check_kernel(needs)
    message = str(info.value)
    assert "surely-not is missing" in message and "tqdm" in message and "too old" in message
    assert "numpy" not in message.split("Fix:")[0].split(":", 1)[1]
    assert "tasks.py setup" in message and "Change Kernel" in message


def test_every_lecture_starts_by_checking_its_kernel():
    for path in sorted((ROOT / "lectures").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert "check_kernel()" in first.source and "tasks.py setup" in first.source, path.name


def test_prepare_course_skips_what_is_already_prepared_and_redoes_what_changed(tmp_path):
    import shutil
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / "01_perceptron", course / "solutions" / "01_perceptron")
    (course / "assignments").mkdir()
    exchange, db = tmp_path / "exchange", f"sqlite:///{tmp_path / 'gradebook.db'}"
    lab.prepare_course(course, exchange=exchange, gradebook=db)
    released = exchange / lab.COURSE_ID / "outbound" / "01_perceptron" / "perceptron.ipynb"
    first = released.stat().st_mtime_ns
    lab.prepare_course(course, exchange=exchange, gradebook=db)
    assert released.stat().st_mtime_ns == first                 # nothing changed: skipped
    source = course / "solutions" / "01_perceptron" / "perceptron.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells[0].source += "\n\nA new sentence."
    nbformat.write(nb, source)
    lab.prepare_course(course, exchange=exchange, gradebook=db)
    assert "A new sentence." in released.read_text()


def test_lab_prepare_only_fills_the_exchange_of_the_given_course(tmp_path, capsys):
    import shutil
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / "01_perceptron", course / "solutions" / "01_perceptron")
    (course / "lectures").mkdir()
    (course / "assignments").mkdir()
    assert main(["--course", str(course), "lab", "--prepare-only"]) == 0
    assert "released 01_perceptron" in capsys.readouterr().out
    assert (course / "build" / "exchange" / lab.COURSE_ID / "outbound" / "01_perceptron"
            / "perceptron.ipynb").is_file()
    assert (course / "build" / "gradebook.db").is_file()


def test_instructor_lab_formgrader_lists_the_prepared_assignments(tmp_path):
    """`nncourse lab` on a course: the formgrader reads the repository's nbgrader_config.py and
    finds the assignment in the gradebook, released to the course's exchange."""
    import shutil
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / "01_perceptron", course / "solutions" / "01_perceptron")
    shutil.copytree(ROOT / "assignments" / "01_perceptron",
                    course / "assignments" / "01_perceptron")
    (course / "lectures").mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    lab.prepare_course(course)
    with lab.LabServer(course) as server:
        url = f"{server.base}/formgrader/api/assignments?token={server.token}"
        with urllib.request.urlopen(url, timeout=60) as response:
            listed = {a["name"]: a for a in json.loads(response.read())}
    assert listed["01_perceptron"]["status"] == "released"
    assert listed["01_perceptron"]["max_score"] > 0
