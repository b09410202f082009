"""Assignments 1-3 give the right verdicts: a notebook holding the instructor's answers earns
full marks with no cell error, no note and nothing on its feedback page that speaks of an error;
the unmodified student version earns zero."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from nnutils.grading.notebook import fill_answers, load_assignment, solution_answers
from nnutils.grading.runner import grade_all

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["01_perceptron", "02_backprop", "03_optimizers"]

# Answers that are right under the rules the notebook states, though unlike the instructor's:
# each must earn its function's full points. {assignment: {student: {function: answer cell}}}
CORRECT_VARIANTS = {
    "01_perceptron": {
        # sign(0) = +1: the OR unit scores exactly 0 on (0, 1) and (1, 0), AND on (1, 1)
        "xor_scores_of_zero": {"xor_network": (
            "def xor_network():\n"
            "    W1 = np.array([[1.0, 1.0], [1.0, 1.0]])\n"
            "    b1 = np.array([-1.0, -2.0])\n"
            "    return W1, b1, np.array([[1.0], [-1.0]]), np.array([-1.0])\n")},
        "xor_flat_output_weights": {"xor_network": (
            "def xor_network():\n"
            "    W1 = np.array([[1.0, 1.0], [1.0, 1.0]])\n"
            "    return W1, np.array([-0.5, -1.5]), np.array([1.0, -1.0]), -1.0\n")},
    },
}


@pytest.fixture(scope="module", params=NAMES)
def graded(request, tmp_path_factory):
    name = request.param
    tmp = tmp_path_factory.mktemp(f"verdicts-{name}")
    assignment = load_assignment(ROOT, name)
    for anb in assignment.notebooks:
        for student, nb in (("solution", fill_answers(anb.release, solution_answers(anb.source))),
                            ("blank", anb.release)):
            folder = tmp / "subs" / student
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / f"{anb.name}.ipynb")
        for student, answers in CORRECT_VARIANTS.get(name, {}).items():
            folder = tmp / "subs" / student
            folder.mkdir(parents=True, exist_ok=True)
            nb = fill_answers(anb.release, dict(solution_answers(anb.source), **answers))
            nbformat.write(nb, folder / f"{anb.name}.ipynb")
    out = tmp / "out"
    results = grade_all(ROOT, name, tmp / "subs", out, jobs=2, progress=False)
    return assignment, {r.student: r for r in results}, out


def test_solution_full_marks_without_errors_or_notes(graded):
    assignment, results, out = graded
    solution = results["solution"]
    failures = [f"{t.grade_id}: {t.message}" for nb in solution.notebooks
                for t in nb.tests if not t.passed]
    assert not failures
    assert solution.score == assignment.max_score > 0
    for nb in solution.notebooks:
        assert nb.cell_errors == [], nb.cell_errors
        assert nb.notes == [], nb.notes
        assert nb.status == "graded"


def test_solution_feedback_page_speaks_of_no_error(graded):
    _, _, out = graded
    records = json.loads((out / "results.json").read_text(encoding="utf-8"))
    records = records if isinstance(records, list) else records.get("students", records)
    page = next(r["feedback"] for r in records if r["student"] == "solution")
    text = (out / page).read_text(encoding="utf-8").lower()
    # a word starting with "error" (not a function name such as rel_error)
    assert not re.search(r"\berror", text), re.search(r".{0,200}\berror.{0,200}", text)[0]


def test_blank_version_earns_zero(graded):
    _, results, _ = graded
    blank = results["blank"]
    assert [t.grade_id for nb in blank.notebooks for t in nb.tests if t.passed] == []
    assert blank.score == 0


def test_answers_right_under_the_stated_rules_earn_full_marks(graded):
    assignment, results, _ = graded
    for student in CORRECT_VARIANTS.get(assignment.name, {}):
        failures = [f"{t.grade_id}: {t.message}" for nb in results[student].notebooks
                    for t in nb.tests if not t.passed]
        assert not failures, student
        assert results[student].score == assignment.max_score
