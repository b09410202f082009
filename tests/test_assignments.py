"""Every assignment, discovered from solutions/: the instructor version earns full marks, the
unmodified student version earns zero, the student version is current, and every test cell is
built so that the grader can be trusted with it."""

import ast
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


def test_there_are_assignments():
    assert "01_perceptron" in ASSIGNMENTS


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """Grade the solution and the blank student version of one assignment together."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    assignment = load_assignment(ROOT, name)
    for anb in assignment.notebooks:
        for student, nb in (("solution", fill_answers(anb.release, solution_answers(anb.source))),
                            ("blank", anb.release)):
            folder = tmp / "subs" / student
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / f"{anb.name}.ipynb")
    results = grade_all(ROOT, name, tmp / "subs", tmp / "out", jobs=2, progress=False)
    return assignment, {r.student: r for r in results}


def test_solution_earns_full_marks(graded):
    assignment, results = graded
    failures = [f"{t.grade_id}: {t.message}" for nb in results["solution"].notebooks
                for t in nb.tests if not t.passed]
    assert not failures
    assert results["solution"].score == assignment.max_score > 0


def test_blank_student_version_earns_zero(graded):
    _, results = graded
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
