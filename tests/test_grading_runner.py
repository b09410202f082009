"""The runner when its own grading workers die (a red-team finding).

The workers are real processes. A submission (the "victim") names its kernel ``nnvictim`` and
sleeps; a thread here finds that kernel, walks up to the grading worker that drives it and
SIGKILLs the worker, as the out-of-memory killer would. The runner must retry the victim once,
then mark it, charge nobody else, give every student exactly one row, write the reports, and
leave no process behind. `_old_run_pool` is the previous runner (a ProcessPoolExecutor), kept
here only to show that the same kill cost an innocent student (or the whole run) with it.
"""

import multiprocessing
import os
import shutil
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import nbformat
import pytest

from nnutils.grading import runner
from nnutils.grading.notebook import fill_answers, solution_answers
from nnutils.grading.runner import GradingError, grade_all
from nnutils.grading.sandbox import BASE_UID, detect_isolation

pytestmark = pytest.mark.skipif(
    not detect_isolation().full,
    reason=f"needs bubblewrap and root for full isolation: {detect_isolation().reason}")

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "01_perceptron"
VICTIM = "c_victim"
INNOCENTS = ["a_slow", "b_missing", "d_correct", "e_wrong", "f_blank"]
STUDENTS = sorted([VICTIM, *INNOCENTS])
NAME_ITSELF = ("import ctypes, time\n"
               "ctypes.CDLL(None).prctl(15, b'nnvictim', 0, 0, 0)  # PR_SET_NAME\n"
               "time.sleep(1)\n")
ZYGOTE = b"nnutils.grading.zygote"


# ---- submissions and rows -------------------------------------------------------------------

def _write(folder: Path, release, answers: dict) -> None:
    folder.mkdir(parents=True)
    nbformat.write(fill_answers(release, answers), folder / "perceptron.ipynb")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """``all``: the six students, the victim among them; ``innocents``: the five others alone."""
    tmp = tmp_path_factory.mktemp("runner")
    source = nbformat.read(ROOT / "solutions" / ASSIGNMENT / "perceptron.ipynb", as_version=4)
    release = nbformat.read(ROOT / "assignments" / ASSIGNMENT / "perceptron.ipynb", as_version=4)
    good = solution_answers(source)
    first = "perceptron_predict"
    answers = {
        # still grading (asleep) when the victim's worker is killed: the old runner blamed it
        "a_slow": dict(good, **{first: "import time\ntime.sleep(2.5)\n" + good[first]}),
        "c_victim": dict(good, **{first: NAME_ITSELF + good[first]}),
        "d_correct": good,
        "e_wrong": dict(good, **{first: "def perceptron_predict(X, w, b):\n"
                                        "    return np.zeros(len(X))\n"}),
        "f_blank": {},
    }
    for group in ("all", "innocents"):
        (tmp / group / "b_missing").mkdir(parents=True)     # submitted nothing
        for student, given in answers.items():
            if group == "all" or student != VICTIM:
                _write(tmp / group / student, release, given)
    return tmp


def _grade(subs: Path, out: Path) -> list:
    return grade_all(ROOT, ASSIGNMENT, subs, out, jobs=2, timeout=10, progress=False)


def row(result) -> tuple:
    """Everything a student sees of a row (not their name, not the time it took)."""
    return (result.score, result.status, result.max_score,
            [(nb.notebook, nb.file, nb.status, nb.notes, nb.cell_errors,
              [(t.grade_id, t.points, t.passed, t.message) for t in nb.tests])
             for nb in result.notebooks])


def notes(result) -> str:
    return " ".join(n for nb in result.notebooks for n in nb.notes)


@pytest.fixture(scope="module")
def alone(folders, tmp_path_factory):
    """The innocent students' rows, graded without the victim (and without any kill)."""
    results = _grade(folders / "innocents", tmp_path_factory.mktemp("alone-out"))
    rows = {r.student: r for r in results}
    assert rows["a_slow"].score == rows["d_correct"].score == rows["d_correct"].max_score
    assert rows["e_wrong"].score < rows["d_correct"].score
    assert rows["b_missing"].status == "missing" and rows["f_blank"].score == 0
    return rows


def _check_reports(results, out: Path) -> None:
    assert [r.student for r in results] == STUDENTS, "one row per student, in folder order"
    lines = (out / "grades.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == STUDENTS
    assert all((out / "feedback" / f"{s}.html").is_file() for s in STUDENTS)


def _innocent_rows_unchanged(results, alone) -> None:
    by_student = {r.student: r for r in results}
    for student in INNOCENTS:
        assert row(by_student[student]) == row(alone[student]), student


# ---- killing a worker as the out-of-memory killer would -------------------------------------

def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _stat(pid: int) -> list[bytes]:
    """The fields of /proc/PID/stat after the command name: state, ppid, ..."""
    text = _read(f"/proc/{pid}/stat")
    return text.rsplit(b")", 1)[1].split() if text else [b"X", b"0"]


def _ppid(pid: int) -> int:
    return int(_stat(pid)[1])


def _alive(pid: int) -> bool:
    return _stat(pid)[0] not in (b"Z", b"X")


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _under_this_test(pid: int) -> bool:
    while pid > 1:
        pid = _ppid(pid)
        if pid == os.getpid():
            return True
    return False


def _grading_worker(kernel: int) -> int | None:
    """The worker process driving ``kernel``: its nearest ancestor that is neither bubblewrap
    nor the zygote (whose command line the forked kernel shares), if it runs under this test."""
    pid = _ppid(kernel)
    while pid > 1 and (_read(f"/proc/{pid}/comm").strip() == b"bwrap"
                       or ZYGOTE in _read(f"/proc/{pid}/cmdline")):
        pid = _ppid(pid)
    if pid > 1 and pid != os.getpid() and _under_this_test(pid):
        return pid
    return None


class Killer(threading.Thread):
    """Does ``act(worker)`` to the grading worker of each new ``nnvictim`` kernel, ``times``
    times at most. By default, SIGKILLs the worker."""

    def __init__(self, times: int, act=lambda pid: os.kill(pid, signal.SIGKILL)):
        super().__init__(daemon=True)
        self.times, self.act = times, act
        self.done: list[int] = []           # the workers acted upon
        self.seen: set[int] = set()
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set() and len(self.done) < self.times:
            for pid in _pids():
                if pid not in self.seen and _read(f"/proc/{pid}/comm").strip() == b"nnvictim":
                    worker = _grading_worker(pid)
                    if worker is not None:
                        self.seen.add(pid)
                        self.act(worker)
                        self.done.append(worker)
            time.sleep(0.03)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.halt.set()
        self.join()


@pytest.fixture
def workdirs(monkeypatch):
    """Records the folder of each run (where its sandboxes live), via the library it builds."""
    seen: list[Path] = []
    build = runner.build_library

    def recording(dest, disabled):
        seen.append(dest.parent)
        return build(dest, disabled)
    monkeypatch.setattr(runner, "build_library", recording)
    return seen


def _is_worker(pid: int) -> bool:
    """A grading worker: a child of the forkserver this test started."""
    parent = _ppid(pid)
    return b"multiprocessing.forkserver" in _read(f"/proc/{parent}/cmdline") and \
        _under_this_test(parent)


def _leftovers(workdir: Path, killed_workers=()) -> list[str]:
    """Live processes a run left: grading workers, anything naming the run's folder (bubblewrap,
    the zygote, kernels), and any process with a sandbox user id of a killed worker."""
    found = []
    mark = str(workdir).encode() + b"/"
    blocks = [range(BASE_UID + 64 * w, BASE_UID + 64 * w + 64) for w in killed_workers]
    for pid in _pids():
        if pid == os.getpid() or not _alive(pid):
            continue
        cmdline = _read(f"/proc/{pid}/cmdline")
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if _is_worker(pid) or mark in cmdline + _read(f"/proc/{pid}/environ") or \
                any(uid in block for block in blocks):
            found.append(f"{pid} uid {uid}: {cmdline[:100]!r}")
    return found


# ---- the tests ----------------------------------------------------------------------------------

def test_a_worker_killed_once_costs_nobody_anything(folders, alone, tmp_path):
    sandboxes = []

    def kill_and_watch(worker):
        kids = [p for p in _pids() if _ppid(p) == worker]       # its bubblewrap
        os.kill(worker, signal.SIGKILL)
        time.sleep(1.0)
        sandboxes.extend(p for p in kids if _alive(p))
    with Killer(times=1, act=kill_and_watch) as killer:
        results = _grade(folders / "all", tmp_path)
    assert len(killer.done) == 1, "the victim's worker was not killed: the test proves nothing"
    # bubblewrap's --die-with-parent stopped the sandbox long before the runner's last sweep
    assert sandboxes == [], "a killed worker's sandbox was still running a second later"
    _check_reports(results, tmp_path)
    _innocent_rows_unchanged(results, alone)
    victim = results[STUDENTS.index(VICTIM)]
    assert row(victim) == row(alone["d_correct"])      # graded again, in full


def test_a_submission_whose_worker_always_dies_is_marked_and_the_run_survives(
        folders, alone, tmp_path, workdirs):
    with Killer(times=10) as killer:
        results = _grade(folders / "all", tmp_path)
    assert len(killer.done) == 2, killer.done           # first try, and one retry
    _check_reports(results, tmp_path)
    _innocent_rows_unchanged(results, alone)
    victim = results[STUDENTS.index(VICTIM)]
    assert victim.status == "incomplete" and victim.score == 0
    assert ("grading failed: the grader's worker process died twice while grading this "
            "submission (killed by signal 9, SIGKILL); it was not graded") in notes(victim)
    assert f"{VICTIM},{ASSIGNMENT},0," in (tmp_path / "grades.csv").read_text()
    assert _leftovers(workdirs[-1], killer.done) == []
    assert not workdirs[-1].exists()


def _old_run_pool(assignment, students, workdir, options, extra, jobs, results, progress):
    """The runner's previous `_run_pool`, unchanged but for the module prefixes."""
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
        pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=runner._init_worker,
                                   initargs=(slots, assignment, workdir, workdir / "lib",
                                             options, extra))
        futures = {pool.submit(runner._grade_in_worker, s): s for s in pending}
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
                        result = runner._failed(assignment, student.name,
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
            results[victim.name] = runner._failed(assignment, victim.name,
                                                  "a grading worker died")
            failed += 1
            bar.update(1)
    bar.close()


def test_positive_control_the_old_runner_charged_an_innocent_student(
        folders, alone, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_run_pool", _old_run_pool)
    with Killer(times=1) as killer:
        try:
            results = _grade(folders / "all", tmp_path)
        except GradingError:
            results = None                  # the whole run was lost: also what we fixed
    assert len(killer.done) == 1
    if results is not None:
        by_student = {r.student: r for r in results}
        charged = [s for s in INNOCENTS if row(by_student[s]) != row(alone[s])]
        assert charged == ["a_slow"], charged   # blamed for the victim's dead worker
        assert notes(by_student["a_slow"]) == "grading failed: a grading worker died"


def _break_worker_start(monkeypatch, tmp_path, how: str) -> Path:
    """Make every worker fail while it sets up. Workers are forked for this, so that they inherit
    the patched ``_init_worker`` (a forkserver child imports the runner afresh)."""
    starts = tmp_path / "starts"

    def broken(*args):
        with open(starts, "a") as fh:
            fh.write("start\n")
        if how == "raises":
            raise RuntimeError("the grading sandbox did not start")
        os.kill(os.getpid(), signal.SIGKILL)
    monkeypatch.setattr(runner, "_START_METHOD", "fork")
    monkeypatch.setattr(runner, "_init_worker", broken)
    return starts


@pytest.mark.parametrize("how,reason", [
    ("raises", "RuntimeError: the grading sandbox did not start"),
    ("killed", "a grading worker process stopped (killed by signal 9, SIGKILL)"),
])
def test_workers_that_cannot_start_give_every_student_a_row_with_the_reason(
        folders, tmp_path, monkeypatch, how, reason):
    starts = _break_worker_start(monkeypatch, tmp_path, how)
    out = tmp_path / "out"
    results = _grade(folders / "all", out)
    _check_reports(results, out)
    for r in results:
        assert r.status == "incomplete" and r.score == 0, r.student
        assert notes(r) == (f"grading failed: the grader's worker processes could not start "
                            f"({reason}); it was not graded")
    tries = len(starts.read_text().splitlines())
    assert runner.MAX_FAILED_STARTS <= tries < runner.MAX_FAILED_STARTS + 2   # jobs=2


def test_a_sandbox_that_cannot_start_gives_every_student_a_row_with_the_reason(
        folders, tmp_path, monkeypatch):
    build = runner.build_library

    def build_then_lose(dest, disabled):
        build(dest, disabled)
        shutil.rmtree(dest)                 # bubblewrap cannot mount it: no sandbox starts
    monkeypatch.setattr(runner, "build_library", build_then_lose)
    results = _grade(folders / "all", tmp_path)
    _check_reports(results, tmp_path)
    for r in results:
        assert r.score == 0
        if r.student != "b_missing":
            assert r.status == "incomplete"
            assert "the grading sandbox did not start" in notes(r), r.student


def test_sigterm_stops_every_process_the_run_started(folders, tmp_path, workdirs):
    """SIGTERM to the grading command (here: this process) while a kernel is busy."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)   # in case it came too late
    try:
        with Killer(times=1, act=lambda worker: os.kill(os.getpid(), signal.SIGTERM)) as killer:
            with pytest.raises(SystemExit) as stopped:
                _grade(folders / "all", tmp_path)
        assert len(killer.done) == 1
        assert stopped.value.code == 128 + signal.SIGTERM
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN     # restored
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert _leftovers(workdirs[-1]) == []
    assert not workdirs[-1].exists()


def test_a_stuck_worker_is_killed_and_costs_only_its_submission(folders, tmp_path, monkeypatch):
    """The grader itself hangs on one submission (its own fault, say a deadlock): the worker is
    killed after the patience runs out, the submission is retried once and then marked."""
    grade = runner._grade_in_worker

    def stuck_on_victim(student_dir):
        if student_dir.name == VICTIM:
            time.sleep(3600)
        return grade(student_dir)
    monkeypatch.setattr(runner, "_START_METHOD", "fork")
    monkeypatch.setattr(runner, "_grade_in_worker", stuck_on_victim)
    monkeypatch.setattr(runner, "_patience", lambda options, assignment: 8.0)
    start = time.monotonic()
    results = _grade(folders / "all", tmp_path)
    assert time.monotonic() - start < 120
    by_student = {r.student: r for r in results}
    assert by_student[VICTIM].status == "incomplete"
    assert "stopped answering for 8 s" in notes(by_student[VICTIM])
    for name, r in by_student.items():
        if name != VICTIM:
            assert "grading failed" not in notes(r), name
