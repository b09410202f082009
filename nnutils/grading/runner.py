"""Grade a folder of submissions in parallel and write the grade table, feedback and summary.

How a run works:

- The runner starts ``jobs`` worker processes itself (multiprocessing, forkserver). Each owns one
  sandbox slot (its folder and its zygote, see ``kernel.py``) and grades one submission at a
  time, sent to it over its own pipe, so the runner always knows which submission each worker
  holds.
- If grading raises inside a live worker, that submission gets a row saying so; the worker goes
  on with the next one.
- A worker that dies (a signal, the out-of-memory killer: the grader's trouble, never the
  student's, whose code runs in the kernel) is replaced by a fresh worker in the same slot, and
  the submission it held is graded again, once, by whichever worker is free. If that worker dies
  too, the submission gets an "incomplete" row saying why. No other submission is touched.
- A worker that holds one submission for longer than the notebook's whole time budget allows
  (the grader itself is stuck) is killed and treated as dead.
- A worker that stops while it holds no submission (as a rule: before it was ready) counts as a
  failed start. After ``MAX_FAILED_STARTS`` of them no new worker is started; once none is left,
  every submission not yet graded gets a row giving the reason.
- So a run always ends with one row per student folder, in folder-name order, and writes the
  reports. Only bad arguments raise ``GradingError``, before anything starts.
- Nothing the runner starts outlives it. However the run ends (normally, by an exception, Ctrl-C
  or SIGTERM) the runner stops and joins its workers; a worker's sandbox stops with the worker
  (``Finalize`` in ``_init_worker``, or bubblewrap's ``--die-with-parent`` if it is killed); a
  worker stops itself if its runner disappears; and a last sweep kills anything still running in
  the run's folder.
"""

import contextlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from .engine import NotebookResult, Options, SubmissionResult, TestResult, grade_submission
from .kernel import Zygote
from .notebook import Assignment, AssignmentError, load_assignment
from .report import write_reports
from .sandbox import Isolation, build_library, detect_isolation, warn_if_partial

MAX_FAILED_STARTS = 5           # worker starts that may fail in one run before the runner gives up
_START_METHOD = "forkserver"    # a test uses "fork", whose workers inherit its monkeypatching


class GradingError(Exception):
    """Grading cannot run at all (bad arguments, unknown assignment, unreadable folder)."""


class _Slot:
    """The sandbox slot a new worker takes (``_init_worker`` asks for it with ``slots.get()``)."""

    def __init__(self, number: int):
        self.number = number

    def get(self) -> int:
        return self.number


# ---- the seam to the rest of the grader: a worker's state, and grading one submission -------

_worker: dict = {}


def _init_worker(slots, assignment: Assignment, workdir: Path, lib: Path, options: Options,
                 isolation: Isolation) -> None:
    from multiprocessing.util import Finalize

    slot = slots.get()
    data = workdir / "data"
    zygote = Zygote(workdir / f"worker{slot}", lib, isolation, assignment.imported_modules(),
                    data if data.is_dir() else None)
    Finalize(zygote, zygote.stop, exitpriority=10)
    _worker.update(assignment=assignment, options=options, zygote=zygote)


def _grade_in_worker(student_dir: Path) -> SubmissionResult:
    w = _worker
    return grade_submission(w["assignment"], student_dir, w["zygote"], w["options"])


# ---- in a worker process ----------------------------------------------------------------------

def _worker_main(conn: Connection, init_args: tuple) -> None:
    """Set up, say "ready", then grade each submission the runner sends until it sends None."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)        # Ctrl-C in the terminal reaches only the runner, which stops us
    signal.signal(signal.SIGTERM, _exit_on_signal)
    threading.Thread(target=_stop_with_runner, daemon=True).start()
    try:
        _init_worker(*init_args)
    except Exception as exc:
        conn.send(("failed", _describe(exc)))
        sys.exit(1)
    conn.send(("ready", None))
    while (student := _next_request(conn)) is not None:
        try:
            reply = ("done", _grade_in_worker(student))
        except Exception as exc:
            reply = ("error", _describe(exc))
        conn.send(reply)


def _next_request(conn: Connection) -> Path | None:
    try:
        return conn.recv()
    except (EOFError, OSError):         # the runner is gone
        return None


def _exit_on_signal(signum, frame) -> None:
    """Unwind (kernels shut down, ``Finalize`` stops the sandbox) instead of dying on the spot."""
    sys.exit(128 + signum)


def _stop_with_runner() -> None:
    """A thread in each worker: if the runner disappears, stop as on SIGTERM."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {-exitcode}, {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


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
              progress: bool = True,
              isolation: Isolation | None = None) -> list[SubmissionResult]:
    """Grade every student folder in ``submissions``; write reports into ``out``.

    ``isolation`` defaults to the best this machine allows (tests pass a weaker one to show
    an attack succeeding with a defence off).
    """
    try:
        assignment = load_assignment(course_root, assignment_name)
    except AssignmentError as exc:
        raise GradingError(str(exc)) from None
    students = _check_folders(course_root, submissions, out)
    jobs = max(1, jobs or os.cpu_count() or 1)
    options = Options(timeout=timeout, memory_mb=memory_mb)
    isolation = isolation or detect_isolation()
    warn_if_partial(isolation)
    workdir = Path(tempfile.mkdtemp(prefix="nncourse-grade-"))
    workdir.chmod(0o755)
    results: dict[str, SubmissionResult] = {}
    start = time.monotonic()
    with _sigterm_unwinds():
        try:
            build_library(workdir / "lib", set(assignment.graded_functions))
            _stage_data(course_root / "assignments" / assignment.name, workdir / "data")
            _warm_matplotlib(workdir / "mplcache")
            _run_pool(assignment, students, workdir, options, isolation, jobs, results,
                      progress)
        finally:
            _kill_leftovers(workdir)
            shutil.rmtree(workdir, ignore_errors=True)
    ordered = [results[s.name] for s in students]
    write_reports(ordered, assignment, out, time.monotonic() - start, isolation)
    return ordered


@contextlib.contextmanager
def _sigterm_unwinds():
    """While grading, SIGTERM unwinds the runner as Ctrl-C does, so that it stops its workers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _stage_data(release_dir: Path, target: Path) -> None:
    """Copy the assignment's data files (all but notebooks) where every kernel can read them."""
    files = sorted(p for p in release_dir.iterdir() if p.is_file() and p.suffix != ".ipynb") \
        if release_dir.is_dir() else []
    if files:
        target.mkdir()
        for path in files:
            shutil.copyfile(path, target / path.name)
            (target / path.name).chmod(0o644)
        target.chmod(0o755)


def _run_pool(assignment, students, workdir, options, isolation, jobs, results, progress):
    """Grade ``students`` with ``jobs`` workers, putting one row per student into ``results``."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(students), desc=f"grading {assignment.name}", unit="student",
               disable=not progress, dynamic_ncols=True)
    try:
        _Pool(assignment, students, workdir, (options, isolation), jobs, results, bar).run()
    finally:
        bar.close()


@dataclass
class _Worker:
    """What the runner knows of one worker process."""
    slot: int
    process: multiprocessing.process.BaseProcess
    conn: Connection
    ready: bool = False
    student: Path | None = None     # the submission it is grading
    since: float = 0.0              # when it got it
    hung: bool = False              # killed for holding it too long
    why: str = ""                   # why it could not start, as it said before stopping


class _Pool:
    """Keeps one worker per slot grading one submission at a time until every row is in."""

    def __init__(self, assignment, students, workdir, settings, jobs, results, bar):
        self.ctx = multiprocessing.get_context(_START_METHOD)
        self.assignment, self.workdir, self.jobs = assignment, workdir, jobs
        self.init_args = (assignment, workdir, workdir / "lib", *settings)
        self.todo = deque(students)
        self.total, self.results, self.bar, self.failed = len(students), results, bar, 0
        self.workers: dict[int, _Worker] = {}
        self.deaths: dict[str, list[str]] = {}      # student -> how the workers grading it died
        self.failed_starts, self.start_failure = 0, ""
        self.patience = _patience(settings[0], assignment)

    def run(self) -> None:
        finished = False
        try:
            while len(self.results) < self.total:
                self._fill_slots()
                if not self.workers:
                    self._give_up()
                    break
                self._hand_out()
                self._wait()
            finished = True
        finally:
            self._stop_all(politely=finished)

    # ---- workers ----------------------------------------------------------------------------
    def _fill_slots(self) -> None:
        """Start a worker in each empty slot, while there is work and starts do not keep failing."""
        for slot in range(self.jobs):
            if slot not in self.workers and self.todo and \
                    self.failed_starts < MAX_FAILED_STARTS:
                self._start(slot)

    def _start(self, slot: int) -> None:
        shutil.rmtree(self.workdir / f"worker{slot}", ignore_errors=True)   # a dead worker's
        here, there = self.ctx.Pipe()
        process = self.ctx.Process(target=_worker_main, name=f"grading worker {slot}",
                                   args=(there, (_Slot(slot), *self.init_args)), daemon=True)
        try:
            process.start()
        except Exception as exc:
            here.close()
            self._start_failed(f"a grading worker could not be started: {_describe(exc)}")
            return
        finally:
            there.close()
        self.workers[slot] = _Worker(slot, process, here)

    def _start_failed(self, why: str) -> None:
        self.failed_starts += 1
        self.start_failure = why

    def _hand_out(self) -> None:
        for w in self.workers.values():
            if w.ready and w.student is None and self.todo:
                w.student, w.since = self.todo.popleft(), time.monotonic()
                try:
                    w.conn.send(w.student)
                except OSError:             # it has just died: that is handled when we wait
                    self.todo.appendleft(w.student)
                    w.student = None

    def _wait(self) -> None:
        """Wait until some worker says something or stops, and deal with it."""
        owners: dict = {}
        for w in self.workers.values():
            owners[w.conn] = owners[w.process.sentinel] = w
        for ready in wait(list(owners), timeout=1.0):
            w = owners[ready]
            if self.workers.get(w.slot) is not w:
                continue                # already dealt with: its pipe and its exit both woke us
            if ready is w.conn and self._receive(w):
                continue
            self._lost(w)
        for w in self.workers.values():
            if w.student is not None and not w.hung and \
                    time.monotonic() - w.since > self.patience:
                w.hung = True           # the grader itself is stuck: treated as a death
                w.process.kill()

    def _receive(self, w: _Worker) -> bool:
        """Handle one message from ``w``; False if its pipe is closed (it has stopped)."""
        try:
            kind, value = w.conn.recv()
        except (EOFError, OSError):
            return False
        if kind == "ready":
            w.ready = True
        elif kind == "failed":
            w.why = value
        else:
            if kind == "error":
                value = _failed(self.assignment, w.student.name, value)
            self._record(w.student, value)
            w.student = None
        return True

    def _lost(self, w: _Worker) -> None:
        """``w`` has stopped: read what it said last, reap it, and retry or mark its submission."""
        while w.conn.poll() and self._receive(w):
            pass
        how = _reap(w.process)
        if w.hung:
            how = f"it stopped answering for {self.patience:g} s and was killed"
        w.conn.close()
        del self.workers[w.slot]
        if w.student is not None:
            self._died_grading(w.student, how)
        else:
            self._start_failed(w.why or f"a grading worker process stopped ({how})")

    def _died_grading(self, student: Path, how: str) -> None:
        deaths = self.deaths.setdefault(student.name, [])
        deaths.append(how)
        if len(deaths) < 2:
            self.todo.appendleft(student)   # graded again, by the next free worker
            return
        causes = deaths[0] if deaths[0] == deaths[1] else " and then ".join(deaths)
        self._record(student, _failed(
            self.assignment, student.name,
            f"the grader's worker process died twice while grading this submission ({causes}); "
            "it was not graded"))

    def _give_up(self) -> None:
        why = (f"the grader's worker processes could not start ({self.start_failure}); "
               "it was not graded")
        while self.todo:
            student = self.todo.popleft()
            self._record(student, _failed(self.assignment, student.name, why))

    def _record(self, student: Path, result: SubmissionResult) -> None:
        self.results[student.name] = result
        self.failed += result.status != "graded"
        self.bar.update(1)
        self.bar.set_postfix(done=len(self.results), failed=self.failed,
                             remaining=self.total - len(self.results))

    def _stop_all(self, politely: bool) -> None:
        """Stop every worker: ask (after a normal end) or terminate; kill what lingers."""
        workers = list(self.workers.values())
        self.workers.clear()
        for w in workers:
            if politely:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
            else:
                w.process.terminate()
        deadline = time.monotonic() + 10
        for w in workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
        for w in workers:
            _reap(w.process, grace=0)
            w.conn.close()


def _patience(options: Options, assignment: Assignment) -> float:
    """How long a worker may hold one submission before it is taken for stuck: every notebook
    may use its whole time budget, plus a minute for starting kernels and writing results."""
    return options.total * len(assignment.notebooks) + 60.0


def _reap(process, grace: float = 5.0) -> str:
    """Wait for a worker that is stopping (kill it if it lingers); say how it ended."""
    process.join(grace)
    if process.exitcode is None:
        process.kill()
        process.join()
    how = _exit_reason(process.exitcode)
    process.close()
    return how


def _kill_leftovers(workdir: Path) -> None:
    """SIGKILL what still runs in the run's folder (a killed worker's sandbox) until none does."""
    mark = str(workdir).encode() + b"/"
    for _ in range(250):
        found = [pid for pid in _pids() if _mentions(pid, mark)]
        if not found:
            return
        for pid in found:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]


def _mentions(pid: int, mark: bytes) -> bool:
    """Does the process's command line or environment name ``mark``? (Not for zombies.)"""
    for what in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as fh:
                if mark in fh.read():
                    return True
        except OSError:
            pass
    return False
