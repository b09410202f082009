"""The example submissions that the main job grades: current, and graded as each deserves.
Also the grader without a sandbox: it still grades, and says loudly that it did not isolate."""

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nnutils.grading.runner import grade_all

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "submissions" / "01_perceptron"


def _load_maker():
    spec = importlib.util.spec_from_file_location("make_submissions",
                                                  ROOT / "examples" / "make_submissions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_match_the_current_student_version(tmp_path, monkeypatch):
    maker = _load_maker()
    monkeypatch.setattr(maker, "OUT", tmp_path)
    maker.main()
    committed_root = EXAMPLES.parent
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.ipynb"))
    committed = sorted(p.relative_to(committed_root) for p in committed_root.rglob("*.ipynb"))
    assert fresh == committed
    for rel in fresh:
        assert (tmp_path / rel).read_bytes() == (committed_root / rel).read_bytes(), \
            f"{rel} is stale: run python examples/make_submissions.py"


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    out = tmp_path_factory.mktemp("examples")
    results = grade_all(ROOT, "01_perceptron", EXAMPLES, out, jobs=2, timeout=5,
                        progress=False)
    return {r.student: r for r in results}


def _passed(result):
    return {t.function for nb in result.notebooks for t in nb.tests if t.passed}


ALL = {"perceptron_predict", "perceptron_update", "perceptron_train", "perceptron_cycle",
       "xor_network"}


@pytest.mark.parametrize("student,status,passes", [
    ("alice", "graded", ALL),
    ("bob", "graded", ALL - {"perceptron_predict", "perceptron_cycle"}),
    ("carol", "incomplete", ALL - {"perceptron_train", "perceptron_cycle"}),
    ("dave", "graded", set()),
    ("erin", "unreadable", set()),
    ("frank", "graded", ALL),
    ("grace", "graded", ALL - {"perceptron_predict", "perceptron_update"}),
    ("mallory", "incomplete", {"perceptron_update", "perceptron_train", "perceptron_cycle"}),
])
def test_each_example_earns_what_it_deserves(examples, student, status, passes):
    result = examples[student]
    assert result.status == status
    assert _passed(result) == passes


def test_grading_without_a_sandbox_warns_and_still_grades(tmp_path):
    subs = tmp_path / "subs"
    for student in ("alice", "dave"):
        (subs / student).mkdir(parents=True)
        nb = nbformat.read(EXAMPLES / student / "perceptron.ipynb", as_version=4)
        nbformat.write(nb, subs / student / "perceptron.ipynb")
    env = dict(os.environ, NNCOURSE_NO_SANDBOX="1")
    result = subprocess.run([sys.executable, "-m", "nnutils", "grade", "01_perceptron",
                             str(subs), "--out", str(tmp_path / "out"), "--quiet"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "WARNING: SUBMISSIONS ARE NOT FULLY ISOLATED" in result.stderr
    assert "can read every file" in result.stderr
    rows = {r["student_id"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert rows["alice"]["score"] == rows["alice"]["max_score"] and rows["dave"]["score"] == "0"
    assert "Isolation: none" in (tmp_path / "out" / "summary.html").read_text()


@pytest.mark.parametrize("name", ["02_backprop", "03_optimizers", "04_regularization",
                                  "05_convnets", "06_rnns"])
def test_later_examples_get_full_some_and_no_marks(name, tmp_path):
    results = {r.student: r for r in grade_all(ROOT, name, EXAMPLES.parent / name, tmp_path,
                                               jobs=2, progress=False)}
    assert results["ada"].score == results["ada"].max_score
    assert 0 < results["ben"].score < results["ben"].max_score
    assert results["cy"].score == 0
