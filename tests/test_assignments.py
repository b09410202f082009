"""Every assignment, discovered from solutions/: the instructor version earns full marks with
not a word of error (no cell error, no note, nothing on its feedback page that speaks of an
error: a read-only cell that reads a name only a test cell defines would fail in the kernel,
where test cells never run), answers that are right under the stated rules though unlike the
instructor's earn full marks too, the unmodified student version earns zero, the student
version is current, and every test cell is built so that the grader can be trusted with it."""

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

from nnutils.course import assignment_names
from nnutils.grading.engine import free_names
from nnutils.grading.notebook import (
    cell_kind,
    fill_answers,
    load_assignment,
    nbgrader_meta,
    solution_answers,
)
from nnutils.grading.runner import grade_all

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = assignment_names(ROOT)

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


def test_there_are_assignments():
    assert "01_perceptron" in ASSIGNMENTS


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """Grade the solution, the blank student version and the correct variants of one
    assignment together."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
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
    results = grade_all(ROOT, name, tmp / "subs", tmp / "out", jobs=2, progress=False)
    return assignment, {r.student: r for r in results}, tmp / "out"


def test_solution_earns_full_marks_without_a_word_of_error(graded):
    assignment, results, out = graded
    solution = results["solution"]
    failures = [f"{t.grade_id}: {t.message}" for nb in solution.notebooks
                for t in nb.tests if not t.passed]
    assert not failures
    assert solution.score == assignment.max_score > 0
    assert solution.status == "graded"
    for nb in solution.notebooks:
        assert nb.cell_errors == [], nb.cell_errors
        assert nb.notes == [], nb.notes
        assert all(not t.message for t in nb.tests), [t.message for t in nb.tests]
    records = json.loads((out / "results.json").read_text(encoding="utf-8"))
    page = next(r["feedback"] for r in records if r["student"] == "solution")
    text = (out / page).read_text(encoding="utf-8").lower()
    # a word starting with "error" (not a function name such as rel_error)
    assert not re.search(r"\berror", text), re.search(r".{0,200}\berror.{0,200}", text)[0]


def test_answers_right_under_the_stated_rules_earn_full_marks(graded):
    assignment, results, _ = graded
    for student in CORRECT_VARIANTS.get(assignment.name, {}):
        failures = [f"{t.grade_id}: {t.message}" for nb in results[student].notebooks
                    for t in nb.tests if not t.passed]
        assert not failures, student
        assert results[student].score == assignment.max_score


def test_blank_student_version_earns_zero(graded):
    _, results, _ = graded
    passed = [t.grade_id for nb in results["blank"].notebooks for t in nb.tests if t.passed]
    assert passed == [] and results["blank"].score == 0


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_graded_function_has_its_own_test_cell_with_hidden_tests(name):
    assignment = load_assignment(ROOT, name)
    for anb in assignment.notebooks:
        tested = {t.function for t in anb.tests}
        assert set(anb.graded_functions) <= tested, "a graded function has no test cell"
        for test in anb.tests:
            # without a hidden part, a student who sees the test could hard-code its answers
            assert test.hidden, f"{test.grade_id} has no hidden tests"
            assert test.function in anb.graded_functions, test.grade_id


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_test_cells_are_plain_python_that_names_only_graded_functions(name):
    """The grader runs test cells in its own process: no magics, and every name the cell reads
    without defining it must be numpy, a grading helper or a function the student writes."""
    import nnutils.grading as grading

    assignment = load_assignment(ROOT, name)
    for anb in assignment.notebooks:
        answers = {n for cell in anb.source.cells if cell_kind(cell) == "answer"
                   for n in _defined(cell.source)}
        for test in anb.tests:
            names = free_names(ast.parse(test.source))
            unknown = names - set(grading.__all__) - {"np", "numpy"} - answers
            assert not unknown, f"{test.grade_id} reads {unknown} from the student's kernel"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_answer_cells_raise_not_implemented_in_the_student_version(name):
    for anb in load_assignment(ROOT, name).notebooks:
        for cell in anb.release.cells:
            if cell_kind(cell) == "answer":
                assert "raise NotImplementedError()" in cell.source, \
                    nbgrader_meta(cell)["grade_id"]


def _defined(source):
    tree = ast.parse(source)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
