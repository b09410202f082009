"""The grader against hostile and broken submissions (COURSE.md §6, issue 3).

Every submission here starts from the released student version of assignment 1 with correct
answers, then breaks or attacks one thing. All of them are graded together in one parallel run
(module fixture), and each test checks one row: the attack earns nothing, the fault costs only
its own function, and the run itself survives. `tests/test_nbgrader_baseline.py` shows that the
same attacks do raise the score under plain nbgrader.
"""

import json
import os
import socket
import threading
from pathlib import Path

import nbformat
import pytest

from nnutils.grading.notebook import fill_answers, load_assignment, solution_answers
from nnutils.grading.runner import grade_all
from nnutils.grading.sandbox import detect_isolation

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "01_perceptron"
FUNCTIONS = ["perceptron_predict", "perceptron_update", "perceptron_train", "perceptron_cycle",
             "xor_network"]
WRONG_PREDICT = "def perceptron_predict(X, w, b):\n    return np.zeros(len(X))\n"

if not detect_isolation().full and (os.environ.get("CI")
                                    or os.environ.get("NNCOURSE_REQUIRE_ISOLATION")):
    raise RuntimeError(f"full isolation is required here: {detect_isolation().reason}")
needs_isolation = pytest.mark.skipif(
    not detect_isolation().full,
    reason=f"needs bubblewrap, root and control groups: {detect_isolation().reason}")


def _listener():
    """A TCP server on loopback that records whether anyone connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    seen, stop = [], threading.Event()

    def loop():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                seen.append(conn.recv(100))
                conn.close()
            except OSError:
                continue
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return server, seen, stop


def _submissions(tmp: Path, port: int, out: Path) -> dict[str, object]:
    src = ROOT / "solutions" / ASSIGNMENT / "perceptron.ipynb"
    rel = ROOT / "assignments" / ASSIGNMENT / "perceptron.ipynb"
    source = nbformat.read(src, as_version=4)
    release = nbformat.read(rel, as_version=4)
    good = solution_answers(source)
    solution_text = str(src)
    subs: dict[str, object] = {}

    def add(name, answers=None, mutate=None, layout="flat", raw=None):
        folder = tmp / name
        if layout == "nbgrader":
            folder = folder / ASSIGNMENT
        folder.mkdir(parents=True)
        if raw is not None:
            (folder / "perceptron.ipynb").write_bytes(raw)
            return
        nb = fill_answers(release, dict(good, **(answers or {})))
        if mutate:
            mutate(nb)
        nbformat.write(nb, folder / "perceptron.ipynb")

    def cells(nb, grade_id):
        return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]

    add("correct")
    add("nbgrader_layout", layout="nbgrader")
    add("wrong_predict", {"perceptron_predict": WRONG_PREDICT})
    # --- tampering with the checks -----------------------------------------------------------
    add("patch_numpy", {"perceptron_predict": (
        "np.allclose = lambda *a, **k: True\n"
        "np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)\n"
        "np.array_equal = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n" + WRONG_PREDICT)})
    add("patch_helpers", {"perceptron_predict": (
        "import nnutils.grading, nnutils.grading.checks as c\n"
        "for m in (nnutils.grading, c):\n"
        "    m.check_close = m.check_equal = m.check = lambda *a, **k: None\n"
        "check_close = check_equal = check = lambda *a, **k: None\n" + WRONG_PREDICT)})
    add("silence_tracebacks", {"perceptron_predict": (
        "import sys\nip = get_ipython()\n"
        "ip.showtraceback = lambda *a, **k: None\n"
        "ip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
        "sys.excepthook = lambda *a: None\nsys.stderr = open('/dev/null', 'w')\n"
        + WRONG_PREDICT)})
    add("patch_shell", {"perceptron_predict": (
        "ip = get_ipython()\n_orig = ip.run_cell\n"
        "def run_cell(raw_cell, *a, **k):\n"
        "    return _orig('pass' if 'check' in raw_cell else raw_cell, *a, **k)\n"
        "ip.run_cell = run_cell\n"
        "def wrap(lines):\n"
        "    return ['try:\\n'] + ['    ' + l for l in lines] + ['\\nexcept BaseException:\\n"
        "    pass\\n']\n"
        "ip.input_transformers_post.append(wrap)\n"
        + WRONG_PREDICT)})
    add("fake_answers", {"perceptron_predict": (
        "import json, os\n"
        "def __nncourse_call__(n):\n"
        "    folder = [p for p in os.listdir('.') if p == 'io'] and 'io'\n"
        "    json.dump({'result': {'t': 'list', 'v': [1.0, -1.0, 1.0]}, 'mutated': []},\n"
        "              open(os.path.join('io', 'resp-%d.json' % n), 'w'))\n"
        + WRONG_PREDICT)})

    def edit_test(nb):
        for c in cells(nb, "test_perceptron_predict"):
            c.source = "pass"
    add("edited_test", {"perceptron_predict": WRONG_PREDICT}, mutate=edit_test)

    def delete_test(nb):
        nb.cells = [c for c in nb.cells if c not in cells(nb, "test_perceptron_predict")]
    add("deleted_test", {"perceptron_predict": WRONG_PREDICT}, mutate=delete_test)

    def forged_points(nb):
        for c in nb.cells:
            meta = c.metadata.get("nbgrader", {})
            if meta.get("grade"):
                meta["points"] = 1000
    add("forged_points", {"perceptron_predict": WRONG_PREDICT}, mutate=forged_points)

    def duplicate_test(nb):
        for copy in range(3):
            for c in cells(nb, "test_xor_network")[:1]:
                twin = nbformat.from_dict(json.loads(json.dumps(c)))
                twin.id = f"copy-{copy}"
                nb.cells.append(twin)
    add("duplicated_tests", mutate=duplicate_test)
    # --- reading what is not theirs ------------------------------------------------------------
    add("read_solutions", {"perceptron_predict": (
        f"import glob, os, itertools\n"
        # the known path first; only if it is not there, search (lazily) where it could be
        f"paths = itertools.chain([{solution_text!r}],\n"
        "    glob.iglob('/work*/**/solutions/**/*.ipynb', recursive=True),\n"
        "    glob.iglob('/tmp/**/solutions/**/*.ipynb', recursive=True))\n"
        "src = None\n"
        "for p in paths:\n"
        "    try:\n"
        "        src = open(p).read()\n"
        "        break\n"
        "    except OSError:\n"
        "        src = None\n"
        "if src:\n"
        "    def perceptron_predict(X, w, b):\n"
        "        return np.where(X @ w + b >= 0, 1.0, -1.0)\n"
        "else:\n" + "    " + WRONG_PREDICT.replace("\n    ", "\n        "))})
    add("read_others", {"perceptron_predict": (
        f"import os\ntry:\n"
        f"    stolen = open({str(tmp / 'correct' / 'perceptron.ipynb')!r}).read()\n"
        "except OSError:\n    stolen = None\n"
        "if stolen:\n"
        "    def perceptron_predict(X, w, b):\n"
        "        return np.where(X @ w + b >= 0, 1.0, -1.0)\n"
        "else:\n" + "    " + WRONG_PREDICT.replace("\n    ", "\n        "))})
    add("write_outputs", {"perceptron_predict": (
        "import os\n"
        f"for target in [{str(out / 'pwned.txt')!r}, {str(ROOT / 'build' / 'pwned.txt')!r},"
        f" {str(tmp / 'correct' / 'perceptron.ipynb')!r}]:\n"
        "    try:\n"
        "        os.makedirs(os.path.dirname(target), exist_ok=True)\n"
        "        open(target, 'w').write('student_id,score\\nwrite_outputs,1000\\n')\n"
        "    except OSError:\n"
        "        pass\n" + WRONG_PREDICT)})
    add("network", {"perceptron_predict": (
        "import socket\ntry:\n"
        f"    s = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "    s.sendall(b'leak')\n    s.close()\n"
        "except OSError:\n    pass\n" + WRONG_PREDICT)})
    add("library_call", {"perceptron_predict": "from nnutils import perceptron_predict\n"})
    add("library_source", {"perceptron_predict": (
        "import inspect, nnutils.perceptron as p\n"
        "src = inspect.getsource(p)\n"
        "exec(src.replace('raise RuntimeError', 'pass  #'), globals())\n")})
    add("lying_array", {"perceptron_predict": (
        "class Always(np.ndarray):\n"
        "    def __eq__(self, other): return np.ones(self.shape, bool)\n"
        "    def __array_finalize__(self, obj): pass\n"
        "def perceptron_predict(X, w, b):\n"
        "    return np.zeros(len(X)).view(Always)\n")})
    # --- faults --------------------------------------------------------------------------------
    add("endless_loop", {"perceptron_train": "def perceptron_train(X, y, lr=1.0, epochs=100):\n"
                                             "    while True:\n        pass\n"})
    add("ignores_interrupt", {"perceptron_train": (
        "import signal\n"
        "def perceptron_train(X, y, lr=1.0, epochs=100):\n"
        "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "    while True:\n        pass\n")})
    add("kernel_crash", {"perceptron_update": "import os\n"
                                              "def perceptron_update(w, b, x, y, lr=1.0):\n"
                                              "    os._exit(3)\n"})
    add("crash_at_import", {"perceptron_cycle": "import os\nos._exit(1)\n"})
    add("memory_bomb", {"xor_network": "def xor_network():\n"
                                       "    hog = [np.ones(2**27) for _ in range(64)]  # 64 GB\n"
                                       "    return hog\n"})
    add("fork_bomb", {"xor_network": (
        "import os\n"
        "def xor_network():\n"
        "    children = 0\n"
        "    for _ in range(10000):\n"
        "        try:\n"
        "            if os.fork() == 0:\n"
        "                os.execv('/bin/sleep', ['sleep', '600'])\n"
        "            children += 1\n"
        "        except OSError:\n"
        "            break\n"
        "    raise RuntimeError(f'forked {children} children')\n")})
    add("huge_output", {"perceptron_predict": "print('x' * 50_000_000)\n" +
                        good["perceptron_predict"]})
    add("huge_return", {"xor_network": "def xor_network():\n"
                                       "    big = np.zeros((6000, 6000))  # 288 MB\n"
                                       "    return big, big, big, big\n"})
    add("not_json", raw=b'{"cells": [ {"cell_type": "code", "sou')
    add("not_a_notebook", raw=b'{"hello": "world"}')
    add("binary_file", raw=bytes(range(256)) * 10)
    (tmp / "empty_folder").mkdir()
    folder = tmp / "renamed"
    folder.mkdir()
    nbformat.write(fill_answers(release, good), folder / "perceptron (1).ipynb")
    folder = tmp / "symlink_to_solution"
    folder.mkdir()
    (folder / "perceptron.ipynb").symlink_to(src)
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    subs_dir, out = tmp / "submissions", tmp / "out"
    subs_dir.mkdir()
    server, seen, stop = _listener()
    try:
        _submissions(subs_dir, server.getsockname()[1], out)
        before = {p: p.read_bytes() for p in subs_dir.rglob("*") if p.is_file()}
        results = grade_all(ROOT, ASSIGNMENT, subs_dir, out, jobs=2, timeout=4, memory_mb=1024,
                            progress=False)
        after = {p: p.read_bytes() for p in subs_dir.rglob("*") if p.is_file()}
    finally:
        stop.set()
        server.close()
    by_student = {r.student: r for r in results}
    return {"results": by_student, "out": out, "seen": seen, "before": before, "after": after}


SANDBOXED = ["correct", "read_solutions", "read_others", "write_outputs", "network"]


@pytest.fixture(scope="module")
def defence_off(tmp_path_factory):
    """The attacks that only the sandbox stops, graded without it: they must then succeed (a
    broken attack would otherwise pass its test silently)."""
    import shutil

    from nnutils.grading.sandbox import Isolation

    tmp = tmp_path_factory.mktemp("attacks-off")
    subs_dir, out = tmp / "submissions", tmp / "out"
    subs_dir.mkdir()
    server, seen, stop = _listener()
    pwned = ROOT / "build" / "pwned.txt"
    try:
        _submissions(subs_dir, server.getsockname()[1], out)
        for folder in subs_dir.iterdir():
            if folder.name not in SANDBOXED:
                shutil.rmtree(folder) if folder.is_dir() else folder.unlink()
        with pytest.warns(UserWarning, match="NOT FULLY ISOLATED"):
            # (a generous limit: without a sandbox the attacks' globs walk the whole disk)
            results = grade_all(ROOT, ASSIGNMENT, subs_dir, out, jobs=1, timeout=60,
                                memory_mb=1024, progress=False,
                                isolation=Isolation("none", "positive control"))
        written = [p for p in (pwned, out / "pwned.txt") if p.exists()]
    finally:
        stop.set()
        server.close()
        pwned.unlink(missing_ok=True)
    return {"results": {r.student: r for r in results}, "seen": seen, "written": written}


def test_positive_control_without_the_sandbox_these_attacks_succeed(defence_off):
    results = defence_off["results"]
    assert passed(results["read_solutions"], "perceptron_predict")    # read the solution
    assert passed(results["read_others"], "perceptron_predict")       # read another's notebook
    assert len(defence_off["written"]) == 2                           # wrote the outputs
    assert defence_off["seen"] == [b"leak"]                           # reached the network


def passed(result, function):
    return all(t.passed for nb in result.notebooks for t in nb.tests if t.function == function)


def messages(result, function=None):
    return " ".join(t.message for nb in result.notebooks for t in nb.tests
                    if function is None or t.function == function)


def test_correct_submission_scores_full_marks(graded):
    r = graded["results"]["correct"]
    assert r.score == r.max_score == load_assignment(ROOT, ASSIGNMENT).max_score
    assert r.status == "graded"


def test_nbgrader_layout_is_found(graded):
    r = graded["results"]["nbgrader_layout"]
    assert r.score == r.max_score


def test_wrong_function_costs_only_its_own_points(graded):
    r = graded["results"]["wrong_predict"]
    assert not passed(r, "perceptron_predict")
    assert all(passed(r, f) for f in FUNCTIONS[1:])


@pytest.mark.parametrize("student", ["patch_numpy", "patch_helpers", "silence_tracebacks",
                                     "patch_shell", "fake_answers", "edited_test",
                                     "deleted_test", "lying_array"])
def test_tampering_does_not_raise_the_score(graded, student):
    r = graded["results"][student]
    assert not passed(r, "perceptron_predict"), messages(r, "perceptron_predict")
    assert all(passed(r, f) for f in FUNCTIONS[1:]), messages(r)


def test_forged_points_are_ignored(graded):
    r = graded["results"]["forged_points"]
    assert r.max_score == graded["results"]["correct"].max_score
    assert r.score == r.max_score - 2      # perceptron_predict is worth 2


def test_duplicated_test_cells_count_once(graded):
    r = graded["results"]["duplicated_tests"]
    assert r.score == r.max_score
    assert len([t for nb in r.notebooks for t in nb.tests]) == 5


@needs_isolation
def test_solutions_cannot_be_read(graded):
    assert not passed(graded["results"]["read_solutions"], "perceptron_predict")


@needs_isolation
def test_other_submissions_cannot_be_read(graded):
    assert not passed(graded["results"]["read_others"], "perceptron_predict")


@needs_isolation
def test_outputs_and_other_submissions_cannot_be_written(graded):
    # (a file the grader itself never writes: grades.csv would be overwritten at the end and
    # hide a successful write; tests/test_grading_isolation.py shows such writes succeeding
    # without the sandbox)
    assert not (ROOT / "build" / "pwned.txt").exists()
    assert not (graded["out"] / "pwned.txt").exists()
    assert graded["before"] == graded["after"], "grading changed the submissions folder"


@needs_isolation
def test_network_is_unreachable(graded):
    assert graded["seen"] == []


def test_calling_the_library_earns_nothing_and_says_why(graded):
    for student in ("library_call", "library_source"):
        r = graded["results"][student]
        assert not passed(r, "perceptron_predict")
        assert all(passed(r, f) for f in FUNCTIONS[1:])
    assert "switched off while your work is graded" in messages(
        graded["results"]["library_call"], "perceptron_predict")


def test_endless_loop_costs_only_its_cell(graded):
    for student in ("endless_loop", "ignores_interrupt"):
        r = graded["results"][student]
        assert not passed(r, "perceptron_train")
        assert all(passed(r, f) for f in FUNCTIONS if f != "perceptron_train"), messages(r)
        assert "did not" in messages(r, "perceptron_train")


def test_kernel_crash_keeps_points_earned_before_and_after(graded):
    r = graded["results"]["kernel_crash"]
    assert passed(r, "perceptron_predict")          # before the crash
    assert not passed(r, "perceptron_update")
    assert all(passed(r, f) for f in FUNCTIONS[2:])  # after the restart
    assert "crashed" in messages(r, "perceptron_update")
    assert r.status == "incomplete"


def test_crash_at_import_costs_only_that_function(graded):
    r = graded["results"]["crash_at_import"]
    assert not passed(r, "perceptron_cycle")
    assert all(passed(r, f) for f in FUNCTIONS if f != "perceptron_cycle")


def test_memory_bomb_is_contained(graded):
    r = graded["results"]["memory_bomb"]
    assert not passed(r, "xor_network")
    assert all(passed(r, f) for f in FUNCTIONS[:-1])
    assert "MemoryError" in messages(r, "xor_network") or "memory" in messages(r, "xor_network")


@needs_isolation
def test_fork_bomb_is_contained_and_cleaned_up(graded):
    r = graded["results"]["fork_bomb"]
    assert not passed(r, "xor_network")
    assert all(passed(r, f) for f in FUNCTIONS[:-1])
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read()
            if os.stat(f"/proc/{pid}").st_uid >= 100000 and cmdline.startswith(b"sleep\x00600"):
                leftovers.append(pid)
        except OSError:
            pass
    assert leftovers == [], "sandboxed processes outlived grading"


def test_huge_output_and_huge_return_are_handled(graded):
    assert graded["results"]["huge_output"].score == graded["results"]["huge_output"].max_score
    r = graded["results"]["huge_return"]
    assert not passed(r, "xor_network")
    assert all(passed(r, f) for f in FUNCTIONS[:-1])


@pytest.mark.parametrize("student,status,words", [
    ("not_json", "unreadable", "not valid JSON"),
    ("not_a_notebook", "unreadable", "not a Jupyter notebook"),
    ("binary_file", "unreadable", "not"),
    ("empty_folder", "missing", "holds no notebook"),
    ("symlink_to_solution", "missing", "symbolic link"),
])
def test_unusable_submissions_get_a_row_and_a_reason(graded, student, status, words):
    r = graded["results"][student]
    assert r.score == 0 and r.status == status
    notes = " ".join(n for nb in r.notebooks for n in nb.notes)
    assert words in notes
    rows = (graded["out"] / "grades.csv").read_text().splitlines()
    assert any(row.startswith(f"{student},{ASSIGNMENT},0,") for row in rows)


def test_renamed_notebook_is_graded_with_a_note(graded):
    r = graded["results"]["renamed"]
    assert r.score == r.max_score
    assert "perceptron (1).ipynb" in " ".join(r.notebooks[0].notes)


def test_every_student_has_a_row_and_a_feedback_page(graded):
    rows = (graded["out"] / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("student_id,assignment,score,max_score")
    assert len(rows) - 1 == len(graded["results"])
    for student in graded["results"]:
        assert (graded["out"] / "feedback" / f"{student}.html").is_file()


def test_stand_ins_keep_forward_backward_pairs_together():
    from nnutils.grading.engine import stand_ins

    graded = ["affine_forward", "affine_backward", "relu_forward", "relu_backward",
              "two_layer_net"]
    done = dict.fromkeys(graded, 0)
    # a failed backward brings its (passing) forward along: the cache formats must match
    assert stand_ins(graded, "two_layer_net", {"affine_backward"}, done) == [
        "affine_forward", "affine_backward"]
    # never the function under test, nor a pair whose other half is under test
    assert stand_ins(graded, "affine_backward", {"affine_forward"}, done) == []
    # nothing whose tests have not all run yet
    assert stand_ins(graded, "two_layer_net", {"relu_forward"},
                     dict(done, relu_backward=1)) == []
