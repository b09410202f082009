"""Assignments 4-6 tell a correct notebook that it is correct, and only that.

A notebook holding the instructor's answers must earn full marks with no cell error, no note and
a feedback page that mentions no error (a read-only cell that reads a name only a test cell
defines fails in the student's kernel, where test cells never run); the blank student version
earns nothing.
"""

from pathlib import Path

import nbformat
import pytest

from nnutils.grading.notebook import fill_answers, load_assignment, solution_answers
from nnutils.grading.runner import grade_all

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ["04_regularization", "05_convnets", "06_rnns"]


@pytest.fixture(scope="module", params=ASSIGNMENTS)
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
    results = grade_all(ROOT, name, tmp / "subs", tmp / "out", jobs=2, progress=False)
    return assignment, {r.student: r for r in results}, tmp / "out"


def test_the_solution_earns_full_marks_without_a_word_of_error(graded):
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
    pages = list((out / "feedback").glob("solution*.html"))
    assert len(pages) == 1
    assert "error" not in pages[0].read_text().lower()


def test_the_blank_student_version_earns_zero(graded):
    _, results, _ = graded
    blank = results["blank"]
    assert [t.grade_id for nb in blank.notebooks for t in nb.tests if t.passed] == []
    assert blank.score == 0
