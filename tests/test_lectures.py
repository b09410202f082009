"""Every lecture notebook, discovered from lectures/, runs top to bottom in a fresh kernel, and is
committed without outputs."""

from pathlib import Path

import nbformat
import pytest

from nnutils.course import execute_notebook

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_runs_top_to_bottom(path):
    ok, message = execute_notebook(path, "lecture", timeout=120)
    assert ok, message


@pytest.mark.parametrize("path", LECTURES + sorted((ROOT / "solutions").glob("*/*.ipynb"))
                         + sorted((ROOT / "assignments").glob("*/*.ipynb")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name} holds outputs: clear them before committing"
