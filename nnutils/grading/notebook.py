"""Assignments as the grader sees them, and the plan of steps for one submitted notebook.

An assignment is a folder ``solutions/<name>/`` of instructor notebooks (with solutions and
hidden tests) and its generated student version ``assignments/<name>/``. Cells carry nbgrader's
metadata (schema 3). The grader trusts only the instructor's copies: a test cell always runs as
the instructor wrote it, whatever the student did to it (edited, deleted, moved its metadata),
and read-only cells run as released. From the student's notebook it takes the code of the
answer cells and of any cells the student added.
"""

import ast
import json
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..contract import ALL_FUNCTIONS

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


class AssignmentError(Exception):
    """The assignment itself is broken or missing (not the student's fault)."""


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def cell_kind(cell) -> str:
    """One of "answer", "manual", "test", "locked", "task", "plain"."""
    meta = nbgrader_meta(cell)
    if meta.get("task"):
        return "task"
    if meta.get("solution") and meta.get("grade"):
        return "manual"
    if meta.get("solution"):
        return "answer"
    if meta.get("grade"):
        return "test" if cell.get("cell_type") == "code" else "manual"
    if meta.get("locked"):
        return "locked"
    return "plain"


def hidden_line_ranges(source: str) -> list[tuple[int, int]]:
    """1-based inclusive line ranges between the hidden-test markers."""
    ranges, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip().startswith(HIDDEN_BEGIN):
            start = number
        elif line.strip().startswith(HIDDEN_END) and start is not None:
            ranges.append((start, number))
            start = None
    if start is not None:
        ranges.append((start, len(source.splitlines())))
    return ranges


def defined_functions(source: str) -> list[str]:
    """Top-level function names a cell defines (empty when it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


@dataclass
class TestCell:
    grade_id: str
    points: float
    source: str                     # the instructor's source, hidden tests included
    function: str                   # which graded function (or task) it scores
    hidden: list[tuple[int, int]]
    position: int                   # index in the instructor's notebook


@dataclass
class AssignmentNotebook:
    name: str                       # file stem, e.g. "perceptron"
    source_path: Path
    release_path: Path
    source: nbformat.NotebookNode
    release: nbformat.NotebookNode
    tests: list[TestCell] = field(default_factory=list)
    graded_functions: list[str] = field(default_factory=list)
    manual: list[tuple[str, float]] = field(default_factory=list)   # (grade_id, points) by hand

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)


def _function_of(grade_id: str, cell, answers: list[str]) -> str:
    declared = cell.get("metadata", {}).get("nncourse", {}).get("function")
    if declared:
        return declared
    stem = re.sub(r"^(tests?_)|(_tests?|_hidden|_visible|_\d+)+$", "", grade_id)
    for candidate in (stem, grade_id):
        if candidate in answers or candidate in ALL_FUNCTIONS:
            return candidate
    return stem


def load_assignment_notebook(source_path: Path, release_path: Path) -> AssignmentNotebook:
    try:
        source = nbformat.read(source_path, as_version=4)
    except Exception as exc:
        raise AssignmentError(f"cannot read the instructor notebook {source_path}: {exc}") \
            from None
    if not release_path.is_file():
        raise AssignmentError(f"the student version {release_path} is missing: run "
                              f"`nncourse release`")
    release = nbformat.read(release_path, as_version=4)
    anb = AssignmentNotebook(source_path.stem, source_path, release_path, source, release)
    answers = [name for cell in source.cells if cell_kind(cell) == "answer"
               for name in defined_functions(cell.source)]
    anb.graded_functions = answers
    seen = set()
    for position, cell in enumerate(source.cells):
        meta, kind = nbgrader_meta(cell), cell_kind(cell)
        grade_id = meta.get("grade_id")
        if kind != "plain" and not grade_id:
            raise AssignmentError(f"{source_path.name}: cell {position} has nbgrader metadata "
                                  f"but no grade_id")
        if grade_id is not None and grade_id in seen:
            raise AssignmentError(f"{source_path.name}: grade_id {grade_id!r} is used twice")
        seen.add(grade_id)
        if kind == "test":
            points = float(meta.get("points", 0))
            if points <= 0:
                raise AssignmentError(f"{source_path.name}: test cell {grade_id!r} has no "
                                      f"points")
            anb.tests.append(TestCell(grade_id, points, cell.source,
                                      _function_of(grade_id, cell, answers),
                                      hidden_line_ranges(cell.source), position))
        elif kind in ("manual", "task"):
            anb.manual.append((grade_id, float(meta.get("points", 0))))
    return anb


@dataclass
class Assignment:
    name: str
    notebooks: list[AssignmentNotebook]

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks)

    @property
    def graded_functions(self) -> list[str]:
        return [f for nb in self.notebooks for f in nb.graded_functions]

    def imported_modules(self) -> list[str]:
        """Modules the notebooks import (for kernels to have them loaded in advance)."""
        found: set[str] = set()
        for anb in self.notebooks:
            for cell in anb.release.cells:
                if cell.cell_type != "code":
                    continue
                for match in re.finditer(r"^\s*(?:from|import)\s+([\w.]+)", cell.source, re.M):
                    found.add(match.group(1))
                if "load_digits" in cell.source:
                    found.add("sklearn.datasets")
        return sorted(found)


def load_assignment(course_root: Path, name: str, source_dir: str = "solutions",
                    release_dir: str = "assignments") -> Assignment:
    folder = course_root / source_dir / name
    if not folder.is_dir():
        known = sorted(p.name for p in (course_root / source_dir).iterdir() if p.is_dir()) \
            if (course_root / source_dir).is_dir() else []
        raise AssignmentError(f"unknown assignment {name!r}; known: {', '.join(known) or 'none'}")
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise AssignmentError(f"{folder} holds no notebook")
    notebooks = [load_assignment_notebook(p, course_root / release_dir / name / p.name)
                 for p in paths]
    return Assignment(name, notebooks)


# ---- the plan for one submitted notebook ---------------------------------------------------

def ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd": cells counted from 1, as people do."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass
class Step:
    kind: str                   # "code" (runs in the kernel) or "test" (runs in the grader)
    source: str
    label: str                  # where it came from, for messages
    test: TestCell | None = None


class NotebookUnreadable(Exception):
    """The submitted file is not a notebook; the message says why."""


MAX_NOTEBOOK_BYTES = 50 * 2**20


def _read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file, never following a link or waiting on a FIFO or device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise NotebookUnreadable(f"could not read {path.name}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotebookUnreadable(f"{path.name} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise NotebookUnreadable(f"could not read {path.name}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise NotebookUnreadable(f"{path.name} is larger than {limit // 2**20} MB")
    return raw


def read_submission(path: Path) -> nbformat.NotebookNode:
    raw = _read_regular_file(path, MAX_NOTEBOOK_BYTES)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotebookUnreadable(f"{path.name} is not a text file") from None
    except json.JSONDecodeError as exc:
        raise NotebookUnreadable(f"{path.name} is not valid JSON (line {exc.lineno}, column "
                                 f"{exc.colno}: {exc.msg}); was it saved completely?") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookUnreadable(f"{path.name} is JSON but not a Jupyter notebook (no list of "
                                 f"cells)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # nbformat fixes duplicate cell ids noisily
            nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:
        raise NotebookUnreadable(f"{path.name} is not a valid notebook: {exc}") from None
    return nb


def build_plan(anb: AssignmentNotebook, student: nbformat.NotebookNode) -> list[Step]:
    """Steps in the student's order, with trusted test and read-only cells put back."""
    trusted = {}
    for position, cell in enumerate(anb.release.cells):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id:
            trusted[grade_id] = (position, cell)
    tests = {t.grade_id: t for t in anb.tests}
    steps: list[tuple[int | None, Step]] = []     # (trusted position or None, step)
    used: set[str] = set()
    for index, cell in enumerate(student.cells):
        if cell.get("cell_type") != "code":
            continue
        grade_id = nbgrader_meta(cell).get("grade_id")
        label = f"the {ordinal(index + 1)} cell"
        match = trusted.get(grade_id) if isinstance(grade_id, str) else None
        if match is None or grade_id in used:
            if grade_id in tests:           # a copy of a test cell: never run twice
                continue
            steps.append((None, Step("code", cell.source, label)))
            continue
        used.add(grade_id)
        position, tcell = match
        kind = cell_kind(tcell)
        if grade_id in tests:
            steps.append((position, Step("test", tests[grade_id].source, label,
                                         tests[grade_id])))
        elif kind in ("answer", "manual") and tcell.cell_type == "code":
            steps.append((position, Step("code", cell.source, label)))
        elif tcell.cell_type == "code":
            steps.append((position, Step("code", tcell.source, label)))
    # put back what the student deleted: tests and read-only code, after their predecessor
    for position, cell in sorted(trusted.values(), key=lambda item: item[0]):
        grade_id = nbgrader_meta(cell)["grade_id"]
        if grade_id in used or cell.cell_type != "code":
            continue
        if grade_id in tests:
            step = Step("test", tests[grade_id].source, "a test cell missing from the notebook",
                        tests[grade_id])
        elif cell_kind(cell) == "locked":
            step = Step("code", cell.source, "a read-only cell missing from the notebook")
        else:
            continue
        after = max((i for i, (p, _) in enumerate(steps) if p is not None and p < position),
                    default=-1)
        steps.insert(after + 1, (position, step))
        used.add(grade_id)
    return [step for _, step in steps]


# ---- building submissions (tests, examples) -------------------------------------------------

def solution_answers(source: nbformat.NotebookNode) -> dict[str, str]:
    """{grade_id: code} of the instructor's answer cells, solution markers removed."""
    answers = {}
    for cell in source.cells:
        if cell_kind(cell) in ("answer", "manual"):
            lines = [line for line in cell.source.splitlines()
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line]
            answers[nbgrader_meta(cell)["grade_id"]] = "\n".join(lines)
    return answers


def fill_answers(release: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of the student version with the given answer cells replaced, as a student would."""
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb
