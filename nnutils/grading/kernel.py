"""Jupyter kernels in the sandbox, driven one cell at a time with a deadline per cell.

Each grading worker starts one sandbox holding a zygote (``zygote.py``) that has imported
IPython, NumPy and matplotlib once; every submission gets a kernel forked from it, running as its
own user. The kernel talks to the grader over ZeroMQ ``ipc`` sockets (files in the scratch
folder), so it needs no network at all. A cell that runs past its deadline is interrupted with
SIGINT; a cell that ignores the interrupt, or a kernel that dies, is reported as such and the
caller decides whether to restart.
"""

import json
import os
import queue
import re
import secrets
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from . import protocol
from .sandbox import FSIZE_LIMIT, NPROC_LIMIT, Isolation, sandbox_uid, zygote_command

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Run by IPython in every grading kernel before the notebook. Figures are never looked at while
# grading, so `%matplotlib inline` selects the non-drawing Agg backend, `plt.show()` draws
# nothing, and figures are closed after each cell. This saves a third of a second per plot.
STARTUP = """
import warnings as _w
_w.filterwarnings("ignore", message=".*non-interactive.*")


def _nncourse_matplotlib(line=""):
    import matplotlib
    matplotlib.use("Agg")


def _nncourse_close_figures(*args):
    import sys
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


get_ipython().register_magic_function(_nncourse_matplotlib, "line", "matplotlib")
get_ipython().events.register("post_run_cell", _nncourse_close_figures)
del _w, _nncourse_matplotlib, _nncourse_close_figures
"""


@dataclass
class ExecResult:
    status: str                     # "ok", "error", "timeout", "dead"
    seconds: float = 0.0
    stdout: str = ""
    error: str = ""                 # "ExcType: message" for status "error"
    traceback: list[str] = field(default_factory=list)


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                for child in fh.read().split():
                    found.append(int(child))
                    found += _descendants(int(child))
    except OSError:
        pass
    return found


def _namespace_pid(host_pid: int) -> int | None:
    """The pid a process has inside its own PID namespace (the last NSpid field)."""
    try:
        with open(f"/proc/{host_pid}/status") as fh:
            for line in fh:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except OSError:
        pass
    return None


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _kill_user(uid: int) -> None:
    """SIGKILL every process of a sandbox user id, until none is left."""
    for _ in range(50):
        found = False
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.stat(f"/proc/{entry}").st_uid == uid:
                        os.kill(int(entry), signal.SIGKILL)
                        found = True
                except OSError:
                    pass
        if not found:
            return
        time.sleep(0.02)


class Zygote:
    """A worker's sandbox holding a pre-warmed Python that forks one kernel per submission.

    ``home`` is the worker's folder; every submission's scratch folder is made inside it.
    """

    def __init__(self, home: Path, lib: Path, isolation: Isolation,
                 preload: list[str] = ()):
        self.home, self.lib, self.isolation = home, lib, isolation
        self.preload = list(preload)
        self.proc: subprocess.Popen | None = None
        self.spawned = 0

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o755)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "PYTHONPATH": str(self.lib), "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp",
               "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(self.lib.parent / "mplcache"),
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        cmd = zygote_command(self.isolation, self.home, self.lib, env)
        cmd += [sys.executable, "-m", "nnutils.grading.zygote", *self.preload]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1,
                                     start_new_session=True)
        reply = self._read(timeout=120)
        if "ready" not in reply:
            self.stop()
            raise RuntimeError("the grading sandbox did not start")
        self.host_pid = self._host_pid(reply["ready"], zygote=True)

    def _read(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        try:
            return json.loads(line) if line else {}
        except ValueError:
            return {}

    def _host_pid(self, ns_pid: int, zygote: bool = False) -> int | None:
        if self.isolation.mode == "none":
            return ns_pid
        root = self.proc.pid if zygote else self.host_pid
        for _ in range(100):
            for pid in _descendants(root):
                if _namespace_pid(pid) == ns_pid:
                    return pid
            time.sleep(0.005)
        return None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self, spec: dict) -> int | None:
        """Fork a kernel as described by ``spec``; return its pid as this machine sees it."""
        if not self.alive():
            self.start()
        self.spawned += 1
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        reply = self._read(timeout=30)
        return self._host_pid(reply["pid"]) if "pid" in reply else None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class SandboxedKernel:
    """One student's kernel, forked by the worker's zygote. ``execute`` runs one cell."""

    def __init__(self, scratch: Path, zygote: Zygote, memory_mb: int = 2048):
        self.scratch, self.zygote, self.memory_mb = scratch, zygote, memory_mb
        self.io = scratch / "io"
        self.kc = None
        self.pid: int | None = None
        self.uid: int | None = None
        self.calls = 0
        self.starts = 0

    def _environment(self) -> dict[str, str]:
        home = self.scratch / "home"
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
            "HOME": str(home), "TMPDIR": str(self.scratch / "tmp"),
            "PYTHONPATH": str(self.zygote.lib), "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home / ".matplotlib"),
            "IPYTHONDIR": str(home / ".ipython"), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
            "JUPYTER_DATA_DIR": str(home / ".local"), "JUPYTER_RUNTIME_DIR": str(home / "rt"),
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "NBGRADER_EXECUTION": "autograde", "NNCOURSE_GRADING": "1", "TQDM_DISABLE": "1",
        }

    def start(self) -> None:
        self.starts += 1
        self.uid = sandbox_uid(self.zygote.isolation, self.zygote.spawned)
        home = self.scratch / "home"
        startup = home / ".ipython" / "profile_default" / "startup"
        for folder in (self.io, startup, home / ".matplotlib", self.scratch / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        (startup / "00-nncourse-grading.py").write_text(STARTUP)
        connection = str(self.scratch / "kernel.json")
        write_connection_file(connection, ip=str(self.scratch / "ipc"), transport="ipc",
                              key=secrets.token_hex(16).encode())
        if self.uid is not None:
            for path in [self.scratch, *self.scratch.rglob("*")]:
                os.chown(path, self.uid, self.uid)
        self.scratch.chmod(0o700)
        spec = {"uid": self.uid, "cwd": str(self.scratch), "connection_file": connection,
                "memory_mb": self.memory_mb, "fsize": FSIZE_LIMIT,
                "nproc": NPROC_LIMIT if self.uid is not None else None,
                "env": self._environment()}
        self.pid = self.zygote.spawn(spec)
        if self.pid is None:
            raise RuntimeError("the grading sandbox could not start a kernel")
        kc = BlockingKernelClient(connection_file=connection)
        kc.load_connection_file()
        kc.start_channels()
        if not self._wait_ready(kc, timeout=60):
            kc.stop_channels()
            self._kill()
            raise RuntimeError("the kernel did not start")
        self.kc = kc
        if self.install_shim().status != "ok":
            raise RuntimeError("could not prepare the kernel for grading")

    def _wait_ready(self, kc, timeout: float) -> bool:
        """Ask for kernel_info until both the shell and the IOPub channel answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid is None or not _running(self.pid):
                return False
            kc.kernel_info()
            try:
                if kc.get_shell_msg(timeout=0.1)["msg_type"] != "kernel_info_reply":
                    continue
                kc.get_iopub_msg(timeout=0.1)
                return True
            except queue.Empty:
                continue
        return False

    def install_shim(self) -> ExecResult:
        """(Re)define the grader's helper in the kernel, undoing whatever a cell did to it."""
        return self.execute(protocol.shim_install_code(str(self.io)), timeout=30, silent=True)

    def _kill(self) -> None:
        if self.uid is not None:
            _kill_user(self.uid)
        elif self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self.pid = None

    def shutdown(self) -> None:
        for name in ("_requests", "_answers"):
            fd = getattr(self, name, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)
        self._serve_id = None
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        self._kill()

    def restart(self) -> None:
        self.shutdown()
        self.start()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()

    def alive(self) -> bool:
        return self.kc is not None and self.pid is not None and _running(self.pid)

    def interrupt(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGINT)
            except OSError:
                pass

    # ---- running code -------------------------------------------------------------------
    def execute(self, code: str, timeout: float, grace: float = 3.0,
                silent: bool = False) -> ExecResult:
        """Run ``code``; interrupt after ``timeout`` s, give up ``grace`` s after that.

        ``silent`` skips IPython's history, display hook and cell events: the grader's own
        requests use it (4 ms instead of 12 per round trip); students' cells never do.
        """
        if not self.alive():
            return ExecResult("dead", error="the kernel is not running")
        start = time.monotonic()
        msg_id = self.kc.execute(code, silent=silent, store_history=False, allow_stdin=False,
                                 stop_on_error=False)
        deadline, interrupted = start + timeout, False
        result = ExecResult("ok")
        out: list[str] = []
        while True:
            wait = min(0.5, max(0.01, deadline - time.monotonic()))
            try:
                msg = self.kc.get_iopub_msg(timeout=wait)
            except queue.Empty:
                if not self.alive():
                    result.status, result.error = "dead", "the kernel died"
                    break
                if time.monotonic() >= deadline:
                    if interrupted:
                        result.status = "timeout"
                        result.error = "the cell ignored the interrupt"
                        self.shutdown()
                        break
                    self.interrupt()
                    interrupted, deadline = True, time.monotonic() + grace
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and len("".join(out)) < 20000:
                out.append(content.get("text", ""))
            elif kind == "error":
                result.status = "error"
                result.error = f"{content.get('ename')}: {content.get('evalue')}"
                result.traceback = [ANSI.sub("", line) for line in content.get("traceback", [])]
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        if interrupted and result.status in ("error", "ok"):
            result.status = "timeout"
            result.error = f"stopped after {timeout:g} s (an endless loop?)"
        result.seconds = time.monotonic() - start
        result.stdout = "".join(out)
        return result

    # ---- requests to the shim ------------------------------------------------------------
    # While a test cell runs, the kernel executes one long request, the shim's serve loop, and
    # each call is named on a pipe ("to-kernel") and acknowledged on another ("to-grader").
    # Arrays travel in files next to the pipes.

    def begin_serving(self, timeout: float = 10.0) -> bool:
        """Start the shim's serve loop for a series of requests; False if it did not start."""
        self.end_serving()
        for name in ("to-kernel", "to-grader"):
            path = self.io / name
            path.unlink(missing_ok=True)
            os.mkfifo(path, 0o600)
            if self.uid is not None:
                os.chown(path, self.uid, self.uid)
        self._serve_id = self.kc.execute("__nncourse_call__.serve()", silent=True,
                                         store_history=False, allow_stdin=False)
        self._answers = os.open(self.io / "to-grader", os.O_RDONLY | os.O_NONBLOCK)
        self._answer_buffer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._requests = os.open(self.io / "to-kernel", os.O_WRONLY | os.O_NONBLOCK)
                os.set_blocking(self._requests, True)
                return True
            except OSError:         # nobody reading yet
                if not self.alive():
                    break
                time.sleep(0.001)
        self.end_serving()
        return False

    def end_serving(self, grace: float = 3.0) -> None:
        """Stop the serve loop and wait until the kernel is idle again."""
        requests = getattr(self, "_requests", None)
        if requests is not None:
            try:
                os.write(requests, b"stop\n")
                os.close(requests)
            except OSError:
                pass
            self._requests = None
        answers = getattr(self, "_answers", None)
        if answers is not None:
            os.close(answers)
            self._answers = None
        serve_id = getattr(self, "_serve_id", None)
        self._serve_id = None
        if serve_id is None or not self.alive():
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                if not self.alive():
                    return
                continue
            if msg["parent_header"].get("msg_id") == serve_id and \
                    msg["msg_type"] == "status" and \
                    msg["content"].get("execution_state") == "idle":
                return
        self.interrupt()

    def _await_answer(self, n: int, timeout: float) -> str:
        """Wait for the shim to acknowledge request n: "ok", "timeout" or "dead"."""
        deadline, interrupted = time.monotonic() + timeout, False
        while True:
            wait = max(0.0, min(0.2, deadline - time.monotonic()))
            ready, _, _ = select.select([self._answers], [], [], wait)
            if ready:
                chunk = os.read(self._answers, 4096)
                if not chunk:                   # the serve loop ended: the kernel is gone
                    return "dead"
                self._answer_buffer += chunk
                while b"\n" in self._answer_buffer:
                    line, self._answer_buffer = self._answer_buffer.split(b"\n", 1)
                    if line.strip() == str(n).encode():
                        return "timeout" if interrupted else "ok"
                continue
            if not self.alive():
                return "dead"
            if time.monotonic() >= deadline:
                if interrupted:
                    self.shutdown()
                    return "timeout"
                self.interrupt()
                interrupted, deadline = True, time.monotonic() + 3.0

    def request(self, payload: dict, arrays: dict, timeout: float):
        """Send one request to the shim and return (result, response, response arrays)."""
        self.calls += 1
        n = self.calls
        protocol.write_request(self.io, n, payload, arrays)
        for path in (self.io / f"req-{n}.json", self.io / f"req-{n}.npz"):
            path.chmod(0o644)
        start = time.monotonic()
        if getattr(self, "_requests", None) is not None:
            try:
                os.write(self._requests, f"{n}\n".encode())
                status = self._await_answer(n, timeout)
            except OSError:
                status = "dead" if not self.alive() else "error"
            result = ExecResult(status, time.monotonic() - start,
                                error="the grader's helper in the kernel stopped answering"
                                if status == "error" else "")
        else:
            result = self.execute(f"__nncourse_call__({n})", timeout=timeout, silent=True)
        if result.status != "ok":
            return result, None, None
        meta, data = protocol.read_response(self.io, n)
        for suffix in (".json", ".npz"):
            for prefix in ("req", "resp"):
                (self.io / f"{prefix}-{n}{suffix}").unlink(missing_ok=True)
        return result, meta, data
