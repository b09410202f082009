"""Grading speed: `nncourse grade` against plain `nbgrader autograde` on the same submissions.

    python benchmarks/bench_grading.py [--students 24] [--jobs N]

Builds a scratch nbgrader course from solutions/01_perceptron, makes N realistic submissions
(half correct, a third with one or two wrong functions, the rest blank), then times

1. `nbgrader autograde 01_perceptron` (one CLI call, the way an instructor runs it), and
2. `nncourse grade 01_perceptron SUBMISSIONS --out DIR --jobs N` (sandboxed, parallel),

and prints both, the speed-up, and seconds per submission. Goals (issue 3): at least 3x faster
than nbgrader and under 1.5 s per submission on 2 cores. Both graders must agree on every score.
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nnutils.grading.notebook import fill_answers, load_assignment, solution_answers  # noqa: E402

ASSIGNMENT = "01_perceptron"
BIN = Path(sys.executable).parent


def make_submissions(anb, n: int) -> dict[str, nbformat.NotebookNode]:
    good = solution_answers(anb.source)
    slips = [
        {"perceptron_predict": good["perceptron_predict"].replace(">= 0", "> 0")},
        {"perceptron_train": good["perceptron_train"].replace("<= 0", "< 0")},
        {"perceptron_cycle": good["perceptron_cycle"].replace("epoch - seen[state]", "epoch"),
         "xor_network": good["xor_network"].replace("-0.5", "0.5")},
    ]
    subs = {}
    for i in range(n):
        if i % 6 in (0, 1, 2):
            answers = good
        elif i % 6 in (3, 4):
            answers = dict(good, **slips[i % 3])
        else:
            answers = {}
        subs[f"student{i:02d}"] = fill_answers(anb.release, answers)
    return subs


def run_nbgrader(course: Path, subs: dict) -> tuple[float, dict[str, float]]:
    for student, nb in subs.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "perceptron.ipynb")
        (folder / "timestamp.txt").write_text("2026-11-23 12:00:00.000000 UTC")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    result = subprocess.run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--force"],
                            cwd=course, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit("nbgrader autograde failed:\n" + result.stderr[-3000:])
    export = course / "grades.csv"
    subprocess.run([str(BIN / "nbgrader"), "export", "--to", str(export)], cwd=course, env=env,
                   capture_output=True, check=True)
    scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(open(export))}
    return seconds, scores


def run_nncourse(subs: dict, tmp: Path, jobs: int) -> tuple[float, dict[str, float]]:
    folder = tmp / "ours"
    for student, nb in subs.items():
        (folder / student).mkdir(parents=True)
        nbformat.write(nb, folder / student / "perceptron.ipynb")
    out = tmp / "ours-out"
    start = time.perf_counter()
    result = subprocess.run([str(BIN / "nncourse"), "grade", ASSIGNMENT, str(folder), "--out",
                             str(out), "--jobs", str(jobs), "--quiet"], cwd=ROOT,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit("nncourse grade failed:\n" + result.stderr[-3000:])
    scores = {row["student_id"]: float(row["score"])
              for row in csv.DictReader(open(out / "grades.csv"))}
    return seconds, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args()
    anb = load_assignment(ROOT, ASSIGNMENT).notebooks[0]
    subs = make_submissions(anb, args.students)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        course = tmp / "nbgrader-course"
        shutil.copytree(ROOT / "solutions", course / "source")
        (course / "nbgrader_config.py").write_text(
            "c = get_config()\nc.CourseDirectory.course_id = 'bench'\n"
            "c.Execute.timeout = 30\n")
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
                       cwd=course, env=env, capture_output=True, check=True)
        subprocess.run([str(BIN / "nbgrader"), "db", "student", "import", "/dev/null"],
                       cwd=course, env=env, capture_output=True)
        print(f"grading {len(subs)} submissions of {ASSIGNMENT} on {os.cpu_count()} cores")
        nb_seconds, nb_scores = run_nbgrader(course, subs)
        our_seconds, our_scores = run_nncourse(subs, tmp, args.jobs)
    n = len(subs)
    print(f"{'grader':<34}{'seconds':>9}{'s/submission':>14}")
    print(f"{'nbgrader autograde (reference)':<34}{nb_seconds:>9.1f}{nb_seconds / n:>14.2f}")
    print(f"{'nncourse grade --jobs ' + str(args.jobs):<34}{our_seconds:>9.1f}"
          f"{our_seconds / n:>14.2f}")
    print(f"speed-up: {nb_seconds / our_seconds:.2f}x (goal >= 3x); "
          f"{our_seconds / n:.2f} s per submission (goal < 1.5 s)")
    disagree = {s: (nb_scores.get(s), our_scores.get(s)) for s in subs
                if nb_scores.get(s) != our_scores.get(s)}
    print("scores agree for every submission" if not disagree else
          f"scores differ (nbgrader, nncourse): {disagree}")


if __name__ == "__main__":
    main()
