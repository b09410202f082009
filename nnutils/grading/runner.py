"""Grade a folder of submissions in parallel and write the grade table, feedback and summary.

Each worker process owns one sandbox slot (its own user id) for its lifetime and grades one
submission at a time. A worker that dies (the grader's own fault, never the student's: student
code runs in the kernel) costs only the submission it was grading, which gets a row saying so.
"""

import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .engine import NotebookResult, Options, SubmissionResult, TestResult, grade_submission
from .kernel import Zygote
from .notebook import Assignment, AssignmentError, load_assignment
from .report import write_reports
from .sandbox import build_library, detect_isolation, warn_if_partial


class GradingError(Exception):
    """Grading cannot run at all (bad arguments, unknown assignment, unreadable folder)."""


_worker: dict = {}


def _init_worker(slots, assignment: Assignment, workdir: Path, lib: Path, options: Options,
                 extra: list[Path]) -> None:
    from multiprocessing.util import Finalize

    slot = slots.get()
    zygote = Zygote(workdir / f"worker{slot}", lib, detect_isolation(),
                    assignment.imported_modules())
    Finalize(zygote, zygote.stop, exitpriority=10)
    _worker.update(assignment=assignment, options=options, extra=extra, zygote=zygote)


def _grade_in_worker(student_dir: Path) -> SubmissionResult:
    w = _worker
    return grade_submission(w["assignment"], student_dir, w["zygote"], w["options"],
                            w["extra"])


def _failed(assignment: Assignment, student: str, why: str) -> SubmissionResult:
    notebooks = []
    for anb in assignment.notebooks:
        nb = NotebookResult(anb.name, status="incomplete")
        nb.notes.append(f"grading failed: {why}")
        nb.tests = [TestResult(t.grade_id, t.function, 0.0, t.points, False,
                               "not graded: the grader failed on this submission")
                    for t in anb.tests]
        notebooks.append(nb)
    return SubmissionResult(student, assignment.name, notebooks, assignment.max_score)


def _warm_matplotlib(target: Path) -> None:
    """Build matplotlib's font cache once, so that no kernel spends seconds on it."""
    target.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MPLCONFIGDIR=str(target), MPLBACKEND="Agg")
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                   capture_output=True, timeout=120)


def _check_folders(course_root: Path, submissions: Path, out: Path) -> list[Path]:
    if not submissions.exists():
        raise GradingError(f"the submissions folder {submissions} does not exist")
    if not submissions.is_dir():
        raise GradingError(f"{submissions} is not a folder (expected one folder per student)")
    try:
        students = sorted(p for p in submissions.iterdir()
                          if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    except PermissionError:
        raise GradingError(f"the submissions folder {submissions} cannot be read") from None
    out_r, sub_r = out.resolve(), submissions.resolve()
    if out_r == sub_r or sub_r in out_r.parents:
        raise GradingError("the output folder must not be inside the submissions folder "
                           "(grading never writes there)")
    for protected in ("solutions", "assignments"):
        p = (course_root / protected).resolve()
        if out_r == p or p in out_r.parents:
            raise GradingError(f"the output folder must not be inside {protected}/")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".nncourse-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise GradingError(f"cannot write to the output folder {out}: {exc.strerror}") from None
    return students


def grade_all(course_root: Path, assignment_name: str, submissions: Path, out: Path,
              jobs: int | None = None, timeout: float = 30.0, memory_mb: int = 2048,
              progress: bool = True) -> list[SubmissionResult]:
    """Grade every student folder in ``submissions``; write reports into ``out``."""
    try:
        assignment = load_assignment(course_root, assignment_name)
    except AssignmentError as exc:
        raise GradingError(str(exc)) from None
    students = _check_folders(course_root, submissions, out)
    jobs = max(1, jobs or os.cpu_count() or 1)
    options = Options(timeout=timeout, memory_mb=memory_mb)
    isolation = detect_isolation()
    warn_if_partial(isolation)
    release_dir = course_root / "assignments" / assignment.name
    extra = sorted(p for p in release_dir.iterdir()
                   if p.is_file() and p.suffix != ".ipynb") if release_dir.is_dir() else []
    workdir = Path(tempfile.mkdtemp(prefix="nncourse-grade-"))
    workdir.chmod(0o755)
    results: dict[str, SubmissionResult] = {}
    start = time.monotonic()
    try:
        build_library(workdir / "lib", set(assignment.graded_functions))
        _warm_matplotlib(workdir / "mplcache")
        _run_pool(assignment, students, workdir, options, extra, jobs, results, progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ordered = [results[s.name] for s in students]
    write_reports(ordered, assignment, out, time.monotonic() - start, isolation)
    return ordered


def _run_pool(assignment, students, workdir, options, extra, jobs, results, progress):
    from tqdm.auto import tqdm

    ctx = multiprocessing.get_context("forkserver")
    pending = list(students)
    bar = tqdm(total=len(students), desc=f"grading {assignment.name}", unit="student",
               disable=not progress, dynamic_ncols=True)
    failed = 0
    while pending:
        before = len(pending)
        slots = ctx.Queue()
        for slot in range(jobs):
            slots.put(slot)
        pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                                   initargs=(slots, assignment, workdir, workdir / "lib",
                                             options, extra))
        futures = {pool.submit(_grade_in_worker, s): s for s in pending}
        broken = False
        try:
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    student = futures[future]
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    except Exception as exc:
                        result = _failed(assignment, student.name,
                                         f"{type(exc).__name__}: {exc}")
                    results[student.name] = result
                    pending.remove(student)
                    failed += result.status != "graded"
                    bar.update(1)
                    bar.set_postfix(done=len(results), failed=failed,
                                    remaining=len(students) - len(results))
                if broken:
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if broken and pending:
            if len(pending) == before:
                bar.close()
                raise GradingError("the grading workers stopped before grading anything (see "
                                   "the errors above); nothing was written")
            # a worker died mid-way: the first submission still pending is blamed and skipped
            victim = pending.pop(0)
            results[victim.name] = _failed(assignment, victim.name, "a grading worker died")
            failed += 1
            bar.update(1)
    bar.close()
