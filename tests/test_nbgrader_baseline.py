"""The attacks of test_grading_attacks.py are real: under plain `nbgrader autograde` they raise a
wrong submission's score. (Our grader gives each of them nothing; see that module.)"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nnutils.grading.notebook import fill_answers, solution_answers

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "01_perceptron"
BIN = Path(sys.executable).parent
WRONG = "def perceptron_predict(X, w, b):\n    return np.zeros(len(X))\n"

ATTACKS = {
    "honest_wrong": WRONG,
    "patch_numpy": ("np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)\n"
                    + WRONG),
    "swallow_errors": ("def wrap(lines):\n"
                       "    return ['try:\\n'] + ['    ' + l for l in lines] + "
                       "['\\nexcept BaseException:\\n    pass\\n']\n"
                       "get_ipython().input_transformers_post.append(wrap)\n" + WRONG),
    "read_solutions": (
        "import glob, json\n"
        "path = glob.glob('../../../source/**/perceptron.ipynb', recursive=True)[0]\n"
        "cells = json.load(open(path))['cells']\n"
        "src = [''.join(c['source']) for c in cells if 'def perceptron_predict' in "
        "''.join(c['source'])][0]\n"
        "exec(src, globals())\n"),
}


@pytest.mark.slow
def test_attacks_raise_the_score_under_plain_nbgrader(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions", course / "source")
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id "
                                               "= 'baseline'\n")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    run = dict(cwd=course, env=env, capture_output=True, text=True)
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
                   check=True, **run)
    release = nbformat.read(course / "release" / ASSIGNMENT / "perceptron.ipynb", as_version=4)
    good = solution_answers(nbformat.read(course / "source" / ASSIGNMENT / "perceptron.ipynb",
                                          as_version=4))
    for student, predict in ATTACKS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nb = fill_answers(release, dict(good, perceptron_predict=predict))
        nbformat.write(nb, folder / "perceptron.ipynb")
    result = subprocess.run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--force"], **run)
    assert result.returncode == 0, result.stderr[-2000:]
    subprocess.run([str(BIN / "nbgrader"), "export", "--to", str(tmp_path / "g.csv")],
                   check=True, **run)
    scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(open(tmp_path / "g.csv"))}
    honest = scores["honest_wrong"]
    for attack in ATTACKS:
        if attack != "honest_wrong":
            assert scores[attack] > honest, f"{attack} did not help under nbgrader: {scores}"
