"""The hidden tests catch every typical mistake, and charge it to the right function only.

For each assignment with mutants (tests/mutants.py), every mutant is submitted as a student's
notebook (the solution with one function broken), all are graded in one run, and each must fail
its own function's tests and pass every other function's.
"""

from pathlib import Path

import nbformat
import pytest
from mutants import MUTANTS

from nnutils.grading.notebook import fill_answers, load_assignment, solution_answers
from nnutils.grading.runner import grade_all

ROOT = Path(__file__).resolve().parent.parent
CASES = [(name, i, m) for name, mutants in MUTANTS.items() for i, m in enumerate(mutants)]


def _mutate(source: str, mutant) -> str:
    if mutant.source:
        return mutant.source
    for old, new in mutant.edits:
        assert old in source, f"mutant '{mutant.why}' no longer matches the solution: {old!r}"
        source = source.replace(old, new)
    return source


@pytest.fixture(scope="module", params=sorted(MUTANTS))
def graded(request, tmp_path_factory):
    name = request.param
    tmp = tmp_path_factory.mktemp(f"mutants-{name}")
    assignment = load_assignment(ROOT, name)
    for anb in assignment.notebooks:
        good = solution_answers(anb.source)
        for i, mutant in enumerate(MUTANTS[name]):
            if mutant.function not in anb.graded_functions:
                continue
            answers = dict(good, **{mutant.function: _mutate(good[mutant.function], mutant)})
            folder = tmp / "subs" / f"mutant{i:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(fill_answers(anb.release, answers), folder / f"{anb.name}.ipynb")
    results = grade_all(ROOT, name, tmp / "subs", tmp / "out", jobs=2, timeout=10,
                        progress=False)
    return name, {r.student: r for r in results}


def _block(message: str) -> str:
    """Which block of a test cell a failure came from, as the feedback tells it."""
    return "hidden" if message.startswith("hidden test: ") else "visible"


def test_every_mutant_fails_exactly_its_own_function(graded):
    name, results = graded
    wrong = []
    for i, mutant in enumerate(MUTANTS[name]):
        result = results[f"mutant{i:02d}"]
        failures = [t for nb in result.notebooks for t in nb.tests if not t.passed]
        failed = {t.function for t in failures}
        if failed != {mutant.function}:
            wrong.append(f"{mutant.function} / {mutant.why}: failed {sorted(failed) or 'nothing'}")
            continue
        first = failures[0].message
        if mutant.where and _block(first) != mutant.where:
            wrong.append(f"{mutant.function} / {mutant.why}: caught by the {_block(first)} "
                         f"tests, not the {mutant.where} ones: {first[:300]}")
        if mutant.says and mutant.says not in first:
            wrong.append(f"{mutant.function} / {mutant.why}: the message does not say "
                         f"{mutant.says!r}: {first[:300]}")
    assert not wrong, "\n".join(wrong)


def test_every_graded_function_has_mutants():
    for name, mutants in MUTANTS.items():
        functions = set(load_assignment(ROOT, name).graded_functions)
        assert functions <= {m.function for m in mutants}, name


def test_every_mutant_says_where_and_why_it_is_caught():
    vague = [f"{name}: {m.function} / {m.why}" for name, mutants in MUTANTS.items()
             for m in mutants if m.where not in ("visible", "hidden") or not m.says]
    assert not vague, "\n".join(vague)


def test_every_graded_function_has_a_mistake_only_the_hidden_tests_catch():
    """That is what hidden tests are for: a typical mistake that passes every visible check."""
    for name, mutants in MUTANTS.items():
        functions = set(load_assignment(ROOT, name).graded_functions)
        hidden = {m.function for m in mutants if m.where == "hidden"}
        assert functions <= hidden, f"{name}: {sorted(functions - hidden)}"
