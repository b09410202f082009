"""`nncourse` from the outside: help, one-line errors, release --check, check, and the full
release → submit → grade → feedback round trip in a copy of the course."""

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nnutils.grading.notebook import (
    fill_answers,
    hidden_line_ranges,
    load_assignment,
    solution_answers,
)

ROOT = Path(__file__).resolve().parent.parent


def nncourse(*args, cwd=ROOT, timeout=600):
    return subprocess.run([sys.executable, "-m", "nnutils", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def test_help_lists_the_three_commands():
    out = nncourse("--help").stdout
    for command in ("check", "release", "grade"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command


def test_grade_help_documents_the_options():
    out = nncourse("grade", "--help").stdout
    for option in ("--out", "--jobs", "--timeout", "--memory"):
        assert option in out


@pytest.mark.parametrize("args,words", [
    (["grade", "no_such_assignment", "examples/submissions/01_perceptron", "--out", "/tmp/x"],
     "unknown assignment 'no_such_assignment'"),
    (["grade", "01_perceptron", "/no/such/folder", "--out", "/tmp/x"], "does not exist"),
    (["grade", "01_perceptron", "examples/submissions/01_perceptron", "--out",
      "examples/submissions/01_perceptron/out"], "must not be inside the submissions"),
    (["release", "no_such_assignment"], "unknown assignment"),
    (["grade", "01_perceptron", "examples/submissions/01_perceptron", "--out",
      "/proc/nncourse-out"], "cannot write to the output folder"),
    (["grade", "01_perceptron", "README.md", "--out", "/tmp/x"], "is not a folder"),
    (["check", "no/such.ipynb"], "is not a notebook or a folder"),
    (["grade", "01_perceptron", "examples/submissions/01_perceptron", "--out", "/tmp/x",
      "--jobs", "0"], "--jobs must be at least 1"),
])
def test_bad_requests_fail_with_one_line_and_no_traceback(args, words):
    result = nncourse(*args)
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_release_check_passes_on_the_committed_course():
    result = nncourse("release", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory):
    """A copy of the course with solutions/ and an empty lectures/ folder."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "solutions", root / "solutions")
    (root / "lectures").mkdir()
    return root


def test_release_check_notices_a_stale_student_version(course_copy):
    assert nncourse("release", "01_perceptron", cwd=course_copy).returncode == 0
    assert nncourse("release", "--check", "01_perceptron", cwd=course_copy).returncode == 0
    path = course_copy / "solutions" / "01_perceptron" / "perceptron.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n\nOne more sentence."
    nbformat.write(nb, path)
    result = nncourse("release", "--check", "01_perceptron", cwd=course_copy)
    assert result.returncode == 1
    assert "01_perceptron is out of date" in result.stdout
    assert nncourse("release", "01_perceptron", cwd=course_copy).returncode == 0
    assert nncourse("release", "--check", "01_perceptron", cwd=course_copy).returncode == 0


def test_round_trip_release_submit_grade_feedback(course_copy, tmp_path):
    assert nncourse("release", "01_perceptron", cwd=course_copy).returncode == 0
    assignment = load_assignment(course_copy, "01_perceptron")
    anb = assignment.notebooks[0]
    answers = solution_answers(anb.source)
    subs = tmp_path / "subs"
    half = dict(answers, perceptron_train=answers["perceptron_train"].replace("<= 0", "< 0"))
    for student, filled in (("ada", answers), ("ben", half), ("cy", {})):
        (subs / student).mkdir(parents=True)
        nbformat.write(fill_answers(anb.release, filled), subs / student / "perceptron.ipynb")
    out = tmp_path / "out"
    result = nncourse("grade", "01_perceptron", str(subs), "--out", str(out), "--jobs", "2",
                      "--quiet", cwd=course_copy)
    assert result.returncode == 0, result.stderr
    rows = {r["student_id"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    maximum = assignment.max_score
    assert float(rows["ada"]["score"]) == maximum
    assert float(rows["ben"]["score"]) == maximum - 3      # perceptron_train is worth 3
    assert float(rows["cy"]["score"]) == 0
    assert rows["ben"]["test_perceptron_train"] == "0" and rows["ben"]["test_xor_network"] == "2"
    # the table is printed
    assert re.search(r"^ada\s+13\s+13\s+graded", result.stdout, re.M)
    # feedback: per function, with the reason, and never the hidden test code
    ben = (out / "feedback" / "ben.html").read_text()
    assert "perceptron_train" in ben and "failed" in ben
    assert "w after training on the four points" in ben
    hidden = set()
    for test in anb.tests:
        lines = test.source.splitlines()
        for a, b in hidden_line_ranges(test.source):
            hidden |= {line.strip() for line in lines[a:b - 1] if len(line.strip()) > 25}
    for page in (out / "feedback").glob("*.html"):
        text = page.read_text()
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{page.name} shows hidden test code: {leaked[:2]}"
    summary = (out / "summary.html").read_text()
    assert "data:image/png;base64," in summary and "Pass rate per test" in summary
    assert "1 of 3" in summary or "2 of 3" in summary


def test_check_runs_notebooks_and_reports_failures(course_copy):
    broken = course_copy / "lectures" / "broken.ipynb"
    fine = course_copy / "lectures" / "fine.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")]), broken)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), fine)
    result = nncourse("check", "--quiet", str(broken), str(fine), cwd=course_copy)
    assert result.returncode == 1
    assert re.search(r"lectures/broken.ipynb\s+lecture\s+FAILED", result.stdout)
    assert re.search(r"lectures/fine.ipynb\s+lecture\s+ok", result.stdout)
    assert "ZeroDivisionError" in result.stdout


def test_check_accepts_the_assignment_notebooks():
    result = nncourse("check", "--quiet", "solutions/01_perceptron", "assignments/01_perceptron")
    assert result.returncode == 0, result.stdout
    assert re.search(r"solutions/01_perceptron/perceptron.ipynb\s+solution\s+ok", result.stdout)
    assert re.search(r"assignments/01_perceptron/perceptron.ipynb\s+assignment\s+ok",
                     result.stdout)
