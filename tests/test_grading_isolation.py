"""The grader under a red team that has read its code: no student reaches another, or the host.

Each attack below is a submission of assignment 1 written the way the red team wrote it. They are
graded in one run together with innocent submissions, in one worker, attackers first, so that
every innocent kernel is forked by the same zygote right after the attackers'. The innocents'
rows must come out exactly as when they are graded alone. A *spy*, graded last, looks for
anything an attacker left behind (files, shared memory, processes, links) and loses points on
purpose if it finds any, so leftovers show in its row.

Every attack is also run with the defence off (the grader without its sandbox: the same code,
``Isolation("none")``) and must then succeed: the host file is rewritten, the spy and the
innocents lose points, the leftovers are there. A broken attack therefore fails its test
instead of passing silently.

Attack classes (see the README, "How grading works, and why it cannot be fooled"):
links and FIFOs planted where a grader might write or read; leftovers (files filling the disk,
20,000 files, System V shared memory, memory in a memfd); a daemon that outlives its kernel and
attacks the kernels after it; forged and oversized protocol messages; feedback that would quote
hidden inputs or the course's code standing in for a failed function; CPU hogs beside a timed
submission.
"""

import json
import os
import signal
import stat
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from nnutils.grading import wire
from nnutils.grading.notebook import fill_answers, solution_answers
from nnutils.grading.runner import grade_all
from nnutils.grading.sandbox import INODE_LIMIT, Isolation, detect_isolation

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "01_perceptron"
DEFENCE_OFF = Isolation("none", "the defence is off for a positive control")
SHM_KEY = 0x4E4E4301

if not detect_isolation().full:
    if os.environ.get("CI") or os.environ.get("NNCOURSE_REQUIRE_ISOLATION"):
        raise RuntimeError(f"full isolation is required here: {detect_isolation().reason}")
    pytest.skip(f"needs full isolation: {detect_isolation().reason}", allow_module_level=True)


def _sources():
    source = nbformat.read(ROOT / "solutions" / ASSIGNMENT / "perceptron.ipynb", as_version=4)
    release = nbformat.read(ROOT / "assignments" / ASSIGNMENT / "perceptron.ipynb",
                            as_version=4)
    return release, solution_answers(source)


def _write(folder: Path, answers: dict, extra_cells: list[str] = ()) -> None:
    release, good = _sources()
    nb = fill_answers(release, dict(good, **answers))
    for code in extra_cells:
        nb.cells.insert(3, nbformat.v4.new_code_cell(code))
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "perceptron.ipynb")


# ---- the payloads ---------------------------------------------------------------------------
# Each attacker leaves its evidence in EVIDENCE; its xor_network raises it, so the visible test
# of xor_network shows what the attack could do.
EVIDENCE_XOR = "def xor_network():\n    raise RuntimeError('EVIDENCE ' + repr(EVIDENCE))\n"


def links_and_fifos(canary: Path) -> str:
    """Plant links to a host file and FIFOs wherever the grader used to write or read by name,
    and rewrite the host file directly (what it can do without a sandbox)."""
    return f"""
import os, glob
EVIDENCE = {{}}
canary = {str(canary)!r}
places = [os.getcwd(), os.environ.get('HOME', '.'), os.environ.get('TMPDIR', '/tmp'),
          os.path.join(os.getcwd(), 'io')]
planted = 0
for place in places:
    try:
        os.makedirs(place, exist_ok=True)
    except OSError:
        continue
    for name in ['req-1.json', 'req-1.npz', 'resp-1.json', 'resp-1.npz', 'kernel.json',
                 '.ipython', 'home', 'ipc-1']:
        try:
            os.symlink(canary, os.path.join(place, name)); planted += 1
        except OSError:
            pass
    for name in ['to-grader', 'to-kernel', 'resp-2.json', 'resp-2.npz', 'req-2.json']:
        try:
            os.mkfifo(os.path.join(place, name)); planted += 1
        except OSError:
            pass
    try:
        os.symlink('/', os.path.join(place, 'root-link')); planted += 1
    except OSError:
        pass
EVIDENCE['planted'] = planted
try:
    with open(canary, 'w') as fh:
        fh.write('rewritten by a student')
    EVIDENCE['host file'] = 'rewritten'
except OSError as exc:
    EVIDENCE['host file'] = type(exc).__name__
"""


def leftovers(tmp_marker: str) -> str:
    """Fill the disk and the inode table, leave a System V segment and files behind."""
    return f"""
import ctypes, os, time
EVIDENCE = {{}}
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
shmid = libc.shmget({SHM_KEY}, 64 * 2**20, 0o1000 | 0o666)
if shmid >= 0:
    addr = libc.shmat(shmid, None, 0)
    if addr not in (None, ctypes.c_void_p(-1).value):
        ctypes.memset(addr, 1, 64 * 2**20)
        libc.shmdt(ctypes.c_void_p(addr))
EVIDENCE['segment'] = shmid >= 0
files = 0
for place in ('/tmp', os.environ['TMPDIR']):
    folder = os.path.join(place, {tmp_marker!r})
    try:
        os.makedirs(folder, exist_ok=True)
        break
    except OSError:
        pass
try:
    for i in range(20000):
        open(os.path.join(folder, str(i)), 'w').close()
        files += 1
except OSError:
    pass
EVIDENCE['files'] = files
written = 0
try:
    for part in range(2):       # two files of 300 MB: each under the 512 MB file-size limit
        with open(os.path.join(os.getcwd(), 'filler%d' % part), 'wb') as fh:
            block = b'x' * 2**20
            for _ in range(300):
                fh.write(block)
                fh.flush()
                written += 1
except OSError:
    pass
EVIDENCE['disk MB'] = written
"""


MEMFD = """
import os
EVIDENCE = {}
block = b'x' * 2**20
written, hoard = 0, []
for _ in range(6):              # six files of 256 MB: each under the 512 MB file-size limit
    fd = os.memfd_create('hoard')
    hoard.append(fd)
    for _ in range(256):
        os.write(fd, block)
        written += 1
EVIDENCE['memfd MB'] = written
"""


def daemon(pid_file: Path) -> str:
    """A process that outlives its kernel and kills the kernels graded after it."""
    return f"""
import os, signal, time
EVIDENCE = {{}}
mine = os.path.realpath(os.getcwd())
grading = os.path.dirname(os.path.dirname(mine))
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        try:
            with open({str(pid_file)!r}, 'w') as fh:
                fh.write(str(os.getpid()))
        except OSError:
            pass
        end = time.time() + 25
        while time.time() < end:
            for pid in os.listdir('/proc'):
                if not pid.isdigit() or int(pid) == os.getpid():
                    continue
                try:
                    cwd = os.readlink('/proc/' + pid + '/cwd')
                except OSError:
                    continue
                if cwd.startswith(grading) and not cwd.startswith(mine):
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.02)
    os._exit(0)
time.sleep(0.2)
EVIDENCE['daemon'] = 'started'
"""


def spy(tmp_marker: str, pid_file: Path) -> str:
    """Looks for what the attackers before it left; loses points on purpose if it finds any."""
    return f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
seen = []
if libc.shmget({SHM_KEY}, 0, 0) >= 0:
    seen.append('shared memory segment')
if os.path.exists(os.path.join('/tmp', {tmp_marker!r})):
    seen.append('files in /tmp')
for place in [os.getcwd(), os.environ.get('HOME', '.'), os.environ.get('TMPDIR', '/tmp')]:
    try:
        names = set(os.listdir(place))
    except OSError:
        continue
    if names & {{'filler0', 'to-grader', 'kernel.json', 'root-link'}}:
        seen.append('files in ' + place)
if os.path.exists({str(pid_file)!r}):
    seen.append('a daemon')
if seen:
    def perceptron_predict(X, w, b):
        raise RuntimeError('the spy saw: ' + ', '.join(seen))
"""


def leak_inputs() -> dict:
    """Functions that raise their inputs: right on the visible cases, leaking on hidden ones."""
    return {
        "perceptron_predict": (
            "def perceptron_predict(X, w, b):\n"
            "    if np.shape(X) == (3, 2):\n"
            "        return np.where(X @ w + b >= 0, 1.0, -1.0)\n"
            "    raise ValueError('LEAK ' + repr((X.tolist(), w.tolist(), b)))\n"),
        # always wrong, so that a stand-in replaces it while perceptron_train is tested
        "perceptron_update": (
            "def perceptron_update(w, b, x, y, lr=1.0):\n"
            "    raise ValueError('LEAK ' + repr((w.tolist(), b, x.tolist(), y, lr)))\n"),
        "perceptron_train": (
            "def _names(fn, seen=None):\n"
            "    seen = set() if seen is None else seen\n"
            "    code = getattr(fn, '__code__', None)\n"
            "    if code is None or code in seen:\n"
            "        return set()\n"
            "    seen.add(code)\n"
            "    names = set(code.co_varnames) | set(code.co_names)\n"
            "    for const in code.co_consts:\n"
            "        if hasattr(const, 'co_varnames'):\n"
            "            names |= set(const.co_varnames) | set(const.co_names)\n"
            "    for cell in getattr(fn, '__closure__', None) or ():\n"
            "        try:\n"
            "            names |= _names(cell.cell_contents, seen)\n"
            "        except ValueError:\n"
            "            pass\n"
            "    return names\n"
            "def perceptron_train(X, y, lr=1.0, epochs=100):\n"
            "    import inspect, nnutils.data\n"
            "    try:\n"
            "        text = inspect.getsource(perceptron_update)\n"
            "    except (OSError, TypeError):\n"
            "        text = ''\n"
            "    control = sorted(_names(nnutils.data.make_linearly_separable))\n"
            "    raise ValueError('CONTROL ' + repr(control) + ' SOURCE ' +\n"
            "                     repr(sorted(_names(perceptron_update))) + text)\n"),
    }


PROTOCOL = {
    # a header that announces 2 GB of JSON
    "perceptron_update": (
        "import os, struct\n"
        "def perceptron_update(w, b, x, y, lr=1.0):\n"
        "    os.write(3, struct.pack('<I', 2**31 - 1) + b'{')\n"
        "    return w, b\n"),
    # a reply that announces 2 GB of arrays (a compressed .npz could inflate like this)
    "xor_network": (
        "import json, os, struct\n"
        "def xor_network():\n"
        "    body = json.dumps({'id': 0, 'kind': 'reply', 'arrays': [{'dtype': '<f8',\n"
        "                       'shape': [2**28]}]}).encode()\n"
        "    os.write(3, struct.pack('<I', len(body)) + body + b'x' * 1000)\n"
        "    for n in range(1, 1000):\n"
        "        body = json.dumps({'id': n, 'kind': 'reply', 'arrays': [{'dtype': '<f8',\n"
        "                           'shape': [2**28]}]}).encode()\n"
        "        os.write(3, struct.pack('<I', len(body)) + body)\n"
        "    return None\n"),
}


# ---- grading runs ---------------------------------------------------------------------------

def _row(result) -> tuple:
    """Everything a student sees of their grade."""
    return (result.score, result.status,
            tuple((nb.notes and tuple(nb.notes), tuple(nb.cell_errors),
                   tuple((t.grade_id, t.points, t.message) for t in nb.tests))
                  for nb in result.notebooks))


def _innocents(subs: Path, marker: str, pid_file: Path) -> None:
    release, good = _sources()
    _write(subs / "z1_innocent", {})
    _write(subs / "z2_wrong", {"perceptron_predict": "def perceptron_predict(X, w, b):\n"
                                                     "    return np.sign(X @ w + b)\n"})
    (subs / "z3_blank").mkdir()
    nbformat.write(release, subs / "z3_blank" / "perceptron.ipynb")
    # the spy's check runs after its own right perceptron_predict, and may replace it
    _write(subs / "z4_spy", {"perceptron_predict": good["perceptron_predict"] + "\n" +
                             spy(marker, pid_file)})


def _attackers(subs: Path, canary: Path, marker: str, pid_file: Path) -> None:
    _write(subs / "a1_links", {"xor_network": EVIDENCE_XOR}, [links_and_fifos(canary)])
    _write(subs / "a2_leftovers", {"xor_network": EVIDENCE_XOR}, [leftovers(marker)])
    _write(subs / "a3_memfd", {"xor_network": EVIDENCE_XOR}, [MEMFD])
    _write(subs / "a4_daemon", {"xor_network": EVIDENCE_XOR}, [daemon(pid_file)])
    _write(subs / "a5_protocol", PROTOCOL)
    _write(subs / "a6_leak", leak_inputs())


def _leftover_processes(tmp: Path) -> list[str]:
    """Processes of the grading runs whose work folder is under ``tmp`` (sandboxes, zygotes,
    kernels and whatever they started all carry the run's library path in their environment);
    other test modules may be grading at the same time."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                environ = fh.read()
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(tmp).encode() in environ and int(pid) != os.getpid():
            found.append(f"{pid}: {cmd[:80]}")
    return found


def _grade(tmp: Path, subs: Path, out: Path, **kwargs):
    """grade_all with its work folder under ``tmp``, so that its processes can be found."""
    import tempfile
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp)
    try:
        return grade_all(ROOT, ASSIGNMENT, subs, out, progress=False, **kwargs)
    finally:
        tempfile.tempdir = saved


def _remove_segment() -> None:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    shmid = libc.shmget(SHM_KEY, 0, 0)
    if shmid >= 0:
        libc.shmctl(shmid, 0, None)         # IPC_RMID


def _run(tmp: Path, isolation: Isolation | None, with_attackers: bool) -> dict:
    subs, out = tmp / "subs", tmp / "out"
    marker = f"nncourse-leftover-{tmp.name}"
    canary, pid_file = tmp / "canary.txt", tmp / "daemon.pid"
    canary.write_text("canary")
    canary.chmod(0o600)
    _innocents(subs, marker, pid_file)
    if with_attackers:
        _attackers(subs, canary, marker, pid_file)
    try:
        results = _grade(tmp, subs, out, jobs=1, timeout=6, memory_mb=1024,
                         isolation=isolation)
        time.sleep(0.3)
        daemon_alive = False
        if pid_file.exists():
            pid = int(pid_file.read_text() or 0)
            daemon_alive = pid > 0 and Path(f"/proc/{pid}").exists()
        state = {
            "results": {r.student: r for r in results},
            "canary": (canary.read_text(), stat.S_IMODE(canary.stat().st_mode),
                       canary.stat().st_uid),
            "segment": _segment_exists(),
            "tmp files": Path("/tmp", marker).exists(),
            "daemon alive": daemon_alive,
            "processes": _leftover_processes(tmp),
            "out": out,
        }
    finally:
        _clean_up(pid_file, marker)
    return state


def _segment_exists() -> bool:
    return any(line.split()[0] == str(SHM_KEY)
               for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:])


def _clean_up(pid_file: Path, marker: str) -> None:
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    _remove_segment()
    import shutil
    shutil.rmtree(Path("/tmp", marker), ignore_errors=True)


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("alone"), None, with_attackers=False)


@pytest.fixture(scope="module")
def together(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("together"), None, with_attackers=True)


@pytest.fixture(scope="module")
def defence_off(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("off"), DEFENCE_OFF, with_attackers=True)


def _evidence(result) -> dict:
    for nb in result.notebooks:
        for t in nb.tests:
            if "EVIDENCE {" in t.message:
                text = "{" + t.message.split("EVIDENCE {", 1)[1].split("\n")[0]
                import ast
                return ast.literal_eval(text)
    return {}


def _messages(result, function=None) -> str:
    return "\n".join(t.message for nb in result.notebooks for t in nb.tests
                     if function is None or t.function == function)


# ---- innocents ------------------------------------------------------------------------------

def test_innocent_rows_are_identical_with_the_attackers_in_the_same_worker(alone, together):
    for student in ("z1_innocent", "z2_wrong", "z3_blank", "z4_spy"):
        assert _row(together["results"][student]) == _row(alone["results"][student]), student
    assert alone["results"]["z4_spy"].score == alone["results"]["z4_spy"].max_score


def test_positive_control_without_the_sandbox_the_attackers_change_innocent_rows(alone,
                                                                                  defence_off):
    changed = [s for s in ("z1_innocent", "z2_wrong", "z3_blank", "z4_spy")
               if _row(defence_off["results"][s]) != _row(alone["results"][s])]
    assert "z4_spy" in changed and "z1_innocent" in changed, changed


# ---- links, FIFOs and the host --------------------------------------------------------------

def test_links_and_fifos_reach_nothing_outside(together):
    assert together["canary"][0] == "canary"
    assert together["canary"][1:] == (0o600, 0)
    evidence = _evidence(together["results"]["a1_links"])
    assert evidence["planted"] > 10, evidence          # the attack ran
    assert evidence["host file"] != "rewritten"


def test_positive_control_links_rewrite_the_host_file_without_the_sandbox(defence_off):
    assert defence_off["canary"][0] == "rewritten by a student"


def test_a_fifo_where_the_grader_reads_would_block_a_naive_reader(tmp_path):
    """Positive control for the FIFO attack: reading by name, as the grader once did, hangs."""
    fifo = tmp_path / "resp-1.json"
    os.mkfifo(fifo)
    done = threading.Event()

    def naive_read():
        try:
            fifo.read_text()
        finally:
            done.set()
    threading.Thread(target=naive_read, daemon=True).start()
    assert not done.wait(1.0), "reading a FIFO by name returned: the attack would not hang it"
    with open(fifo, "w"):           # release the reader
        pass


def test_fifos_in_the_submission_folder_do_not_hang_the_run(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    _write(subs / "good", {})
    for name, path in [("fifo_flat", "perceptron.ipynb"),
                       ("fifo_nbgrader", f"{ASSIGNMENT}/perceptron.ipynb"),
                       ("fifo_other", "other.ipynb")]:
        (subs / name / path).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(subs / name / path)
    start = time.monotonic()
    results = {r.student: r for r in grade_all(ROOT, ASSIGNMENT, subs, out, jobs=1,
                                               timeout=6, progress=False)}
    assert time.monotonic() - start < 60
    assert results["good"].score == results["good"].max_score
    for name in ("fifo_flat", "fifo_nbgrader", "fifo_other"):
        assert results[name].status == "missing" and results[name].score == 0


# ---- leftovers ------------------------------------------------------------------------------

def test_leftovers_die_with_the_kernel_and_the_disk_is_limited(together):
    evidence = _evidence(together["results"]["a2_leftovers"])
    assert evidence["segment"] is True              # the segment was made...
    assert not together["segment"]                  # ...and died with the kernel's namespace
    assert not together["tmp files"]
    assert evidence["files"] < INODE_LIMIT          # 20,000 files did not fit
    assert evidence["disk MB"] < 600                # nor did 600 MB


def test_positive_control_leftovers_stay_without_the_sandbox(defence_off):
    evidence = _evidence(defence_off["results"]["a2_leftovers"])
    assert evidence["files"] == 20000 and evidence["disk MB"] == 600
    assert defence_off["segment"] and defence_off["tmp files"]


def test_memory_in_a_memfd_counts_against_the_limit(together):
    r = together["results"]["a3_memfd"]
    assert "memfd MB" not in _evidence(r)
    assert "ran out of memory" in " ".join(nb.notes[-1] if nb.notes else "" for nb in
                                           r.notebooks) + " ".join(
        e for nb in r.notebooks for e in nb.cell_errors)


def test_positive_control_a_memfd_escapes_the_address_space_limit(defence_off):
    # without the control group, 1.5 GB lands in memfds although RLIMIT_AS is 1 GB
    assert _evidence(defence_off["results"]["a3_memfd"])["memfd MB"] == 1536


# ---- processes ------------------------------------------------------------------------------

def test_a_daemon_dies_with_its_kernel(together):
    assert _evidence(together["results"]["a4_daemon"])["daemon"] == "started"
    assert not together["daemon alive"]
    assert together["processes"] == []


def test_positive_control_a_daemon_outlives_its_kernel_without_the_sandbox(defence_off):
    assert defence_off["daemon alive"]
    assert defence_off["results"]["z1_innocent"].status == "incomplete"


# ---- the protocol ---------------------------------------------------------------------------

def test_forged_and_oversized_messages_cost_only_their_function(together):
    r = together["results"]["a5_protocol"]
    update, xor = _messages(r, "perceptron_update"), _messages(r, "xor_network")
    assert "cannot read" in update and "header is larger than" in update, update
    assert "larger than 256 MB" in xor, xor
    for function in ("perceptron_predict", "perceptron_train", "perceptron_cycle"):
        assert all(t.passed for nb in r.notebooks for t in nb.tests
                   if t.function == function), _messages(r)


def test_positive_control_without_the_cap_a_forged_announcement_is_believed():
    """The 2 GB announcement is refused before allocation only because of the limit."""
    body = json.dumps({"id": 1, "kind": "reply",
                       "arrays": [{"dtype": "<f8", "shape": [2**28]}]}).encode()
    for limits, refused in ((wire.Limits(), True), (wire.Limits(array_bytes=2**40), False)):
        a, b = wire.socketpair()
        b.sendall(wire.HEADER.pack(len(body)) + body + b"x" * 100)
        channel = wire.Channel(a, limits)
        with pytest.raises(wire.WireError if refused else wire.WireTimeout):
            channel.receive(time.monotonic() + 0.3)
        a.close()
        b.close()


def test_the_wire_refuses_what_is_not_plain_numbers():
    a, b = wire.socketpair()
    channel = wire.Channel(a)
    for spec in ({"dtype": "|O", "shape": [1]}, {"dtype": "<U4", "shape": [1]},
                 {"dtype": "[('a', '<f8')]", "shape": [1]}, {"dtype": "<f8", "shape": [-1]},
                 {"dtype": "<f8", "shape": [1] * 40}):
        body = json.dumps({"arrays": [spec]}).encode()
        b.sendall(wire.HEADER.pack(len(body)) + body)
        with pytest.raises(wire.WireError):
            channel.receive(time.monotonic() + 1)
        channel._reset()
        a.setblocking(True)
        a.settimeout(0.1)
        try:
            while a.recv(65536):
                pass
        except OSError:
            pass
        a.setblocking(False)
    for dtype in (np.bool_, np.int8, np.uint16, np.int64, np.float32, np.float64,
                  np.complex128):
        sent = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
        wire.send(b, {"k": 1}, [sent, np.zeros((0, 5), dtype)])
        header, arrays = channel.receive(time.monotonic() + 1)
        assert header["k"] == 1 and arrays[0].dtype == dtype
        assert np.array_equal(arrays[0], sent) and arrays[1].shape == (0, 5)
    a.close()
    b.close()


# ---- what feedback gives away ---------------------------------------------------------------

def test_feedback_never_quotes_hidden_inputs(together):
    r = together["results"]["a6_leak"]
    predict = _messages(r, "perceptron_predict")
    assert predict.startswith("hidden test: perceptron_predict raised ValueError"), predict
    assert "LEAK (" not in predict          # the student's own line is shown, not its message
    feedback = (together["out"] / "feedback" / "a6_leak.html").read_text()
    hidden = [t.message for nb in r.notebooks for t in nb.tests
              if t.message.startswith("hidden test")]
    assert hidden and not any("LEAK (" in m for m in hidden)
    # positive control: the same channel carries a visible test's inputs (that is allowed)
    assert "LEAK ([1.0, 0.0], 0.0, [-1.0, 2.0], 1.0, 1.0)" in feedback


def test_stand_ins_carry_no_course_code_into_the_kernel(together):
    train = _messages(together["results"]["a6_leak"], "perceptron_train")
    assert "SOURCE" in train and "CONTROL" in train, train
    control, source = train.split("CONTROL ", 1)[1].split(" SOURCE ", 1)
    # positive control: the probe reads a library function's names through the same channel
    assert "'rng'" in control
    # the stand-in is a proxy: none of the course's perceptron_update is in the kernel
    assert "'lr'" not in source and "x @ w" not in source, source


# ---- CPU ------------------------------------------------------------------------------------

HOG = """
import os, time
for _ in range(24):
    if os.fork() == 0:
        os.setsid()             # a session each: each its own share of the scheduler
        end = time.time() + 25
        while time.time() < end:
            pass
        os._exit(0)
"""
# keeps the hog's kernel (and so its processes) alive while the other submission is graded
WAIT = "import time\ntime.sleep(7)\n"

TIMED_TRAIN = (
    "import time\n"
    "def _burn(seconds):\n"
    "    end = time.process_time() + seconds\n"
    "    while time.process_time() < end:\n"
    "        pass\n"
    "def perceptron_train(X, y, lr=1.0, epochs=100):\n"
    "    _burn(0.3)\n"
    "    w, b, mistakes = np.zeros(X.shape[1]), 0.0, []\n"
    "    for _ in range(epochs):\n"
    "        count = 0\n"
    "        for x, t in zip(X, y):\n"
    "            if t * (x @ w + b) <= 0:\n"
    "                w, b, count = w + lr * t * x, b + lr * t, count + 1\n"
    "        mistakes.append(count)\n"
    "        if count == 0:\n"
    "            break\n"
    "    return w, b, mistakes\n")


def _cpu_run(tmp: Path, isolation) -> dict:
    tmp.mkdir()
    subs, out = tmp / "subs", tmp / "out"
    _write(subs / "a_hog", {}, [WAIT, WAIT, WAIT, HOG])
    # the timed submission starts its tests once the hog is surely spinning
    _write(subs / "b_timed", {"perceptron_train": TIMED_TRAIN}, ["import time\ntime.sleep(3)\n"])
    results = _grade(tmp, subs, out, jobs=2, timeout=8, memory_mb=1024, isolation=isolation)
    return {r.student: r for r in results}


def test_a_cpu_hog_beside_a_timed_submission_takes_at_most_its_core(tmp_path):
    """24 spinning processes beside a submission whose test computes for 1.5 s.

    Time limits count the CPU time of the student's own processes, so the hog cannot make the
    timed submission fail, with or without control groups; and its control group holds the
    hog to one core, so the timed submission is not slowed down either. Positive control: the
    same pair without control groups, where the timed submission takes several times as long
    (measured in the same test, so that the machine's load cancels out)."""
    capped = _cpu_run(tmp_path / "capped", None)
    uncapped = _cpu_run(tmp_path / "uncapped", DEFENCE_OFF)
    for results in (capped, uncapped):
        timed = results["b_timed"]
        assert timed.score == timed.max_score, _messages(timed)
    assert uncapped["b_timed"].seconds > 2 * capped["b_timed"].seconds, (
        capped["b_timed"].seconds, uncapped["b_timed"].seconds)
    assert _leftover_processes(tmp_path / "capped") == []


# ---- weaker machines ------------------------------------------------------------------------

@pytest.mark.parametrize("isolation", [
    Isolation("bwrap-root", "test: no private namespaces", cgroups=True, private=False),
    Isolation("bwrap-root", "test: no control groups", cgroups=False, private=True),
    Isolation("bwrap", "test: not root", private=True),
    Isolation("bwrap", "test: not root, no private namespaces", private=False),
    Isolation("none", "test: no sandbox"),
], ids=lambda i: i.reason.removeprefix("test: "))
def test_every_weaker_isolation_still_grades_right(tmp_path, alone, isolation):
    """Where the machine gives less, grading still works and gives the same rows."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    marker = f"nncourse-leftover-{tmp_path.name}"
    _innocents(subs, marker, tmp_path / "daemon.pid")
    with pytest.warns(UserWarning, match="NOT FULLY ISOLATED"):
        results = _grade(tmp_path, subs, out, jobs=2, timeout=6, memory_mb=1024,
                         isolation=isolation)
    for r in results:
        assert _row(r) == _row(alone["results"][r.student]), r.student
    assert _leftover_processes(tmp_path) == []
