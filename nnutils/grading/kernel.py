"""Students' kernels, as the grader drives them: start, run a cell, call a function, stop.

Each grading worker starts one sandbox holding a zygote (``zygote.py``) that has imported
IPython, NumPy and matplotlib once; every kernel is forked from it. The grader talks to a kernel
over a socket pair it creates itself and hands to the zygote as a file descriptor, so no path
is involved at all: the kernel has no file the grader reads, writes, chowns or opens, and no name
a student chooses (folder names, e-mail addresses) reaches a path or a socket address.

Every wait has a deadline. A cell or call that runs past it is interrupted with SIGINT; one that
ignores the interrupt, or a kernel that dies or sends what the grader cannot read, is reported as
such, the kernel is killed with every process it started (its control group), and the caller
decides whether to restart.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import wire
from .cgroups import Group, Hierarchy
from .sandbox import (
    DATA_DIR,
    DISK_LIMIT,
    FSIZE_LIMIT,
    INODE_LIMIT,
    KERNEL_HOME,
    NPROC_LIMIT,
    Isolation,
    sandbox_uid,
    zygote_command,
)

MAX_STDOUT = 20_000
MAX_ERROR = 2_000
MAX_TRACEBACK_LINES = 30
WALL_FACTOR = 5         # a request may take this many times its CPU limit in wall time
START_TIMEOUT = 60.0


@dataclass
class ExecResult:
    status: str                     # "ok", "error", "timeout", "dead"
    seconds: float = 0.0
    stdout: str = ""
    error: str = ""                 # "ExcType: message" for status "error"
    traceback: list[str] = field(default_factory=list)


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


def _clip(text, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more " \
                                                          f"characters cut]"


class _Clock:
    """The time limit of one request, as the student's code uses it.

    What counts is CPU time, of the kernel and of every process it started, as the system
    accounts it: machine load does not change it, the student cannot fake it, and the kernel
    waiting for the grader (a stand-in's answer) costs it nothing. Code that waits without
    computing (``time.sleep``, a blocked read) is stopped by the wall-clock backstop,
    ``WALL_FACTOR`` times the limit, the grader's own time left out.
    """

    def __init__(self, kernel: "SandboxedKernel", limit: float):
        self.kernel, self.limit = kernel, limit
        self.cpu0, self.wall0 = kernel.cpu_seconds(), time.monotonic()
        self.trusted = 0.0          # seconds the grader spent answering the kernel

    def used(self) -> float:
        return max(0.0, self.kernel.cpu_seconds() - self.cpu0)

    def wall(self) -> float:
        return time.monotonic() - self.wall0 - self.trusted

    def over(self) -> bool:
        return self.used() > self.limit or self.wall() > WALL_FACTOR * self.limit

    def send_deadline(self) -> float:
        return time.monotonic() + WALL_FACTOR * self.limit


class Zygote:
    """A worker's sandbox holding a pre-warmed Python that forks one kernel per submission.

    ``home`` is a folder of the grader's own; only without a sandbox do kernels get folders in
    it (with a sandbox each kernel gets a tmpfs instead). ``data`` holds the assignment's data
    files, copied into every kernel's folder.
    """

    def __init__(self, home: Path, lib: Path, isolation: Isolation, preload: list[str] = (),
                 data: Path | None = None):
        self.home, self.lib, self.isolation = home, lib, isolation
        self.preload, self.data = list(preload), data
        self.proc: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.spawned = 0
        self.cgroups = Hierarchy() if isolation.cgroups else None

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o711)          # kernels may enter their own folder in it, not list it
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "PYTHONPATH": str(self.lib), "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp",
               "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(self.lib.parent / "mplcache"),
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        os.set_inheritable(theirs.fileno(), True)
        cmd = zygote_command(self.isolation, self.lib, self.data, self.home, env)
        cmd += [sys.executable, "-m", "nnutils.grading.zygote", str(theirs.fileno()),
                *self.preload]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, pass_fds=[theirs.fileno()],
                                     start_new_session=True)
        theirs.close()
        self.control = mine
        if "ready" not in self._read(timeout=120):
            self.stop()
            raise RuntimeError("the grading sandbox did not start")

    def _read(self, timeout: float) -> dict:
        self.control.settimeout(timeout)
        try:
            data = self.control.recv(65536)
            return json.loads(data) if data else {}
        except (OSError, ValueError):
            return {}

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self, spec: dict, kernel_end: socket.socket) -> bool:
        """Fork a kernel that will serve on ``kernel_end``; False if the zygote failed."""
        if not self.alive():
            self.start()
        self.spawned += 1
        try:
            socket.send_fds(self.control, [json.dumps(spec).encode()], [kernel_end.fileno()])
        except OSError:
            return False
        return "pid" in self._read(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        self.proc = None
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.cgroups is not None:
            self.cgroups.remove()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class SandboxedKernel:
    """One student's kernel, forked by the worker's zygote. ``execute`` runs one cell."""

    def __init__(self, zygote: Zygote, memory_mb: int = 2048):
        self.zygote, self.memory_mb = zygote, memory_mb
        self.channel: wire.Channel | None = None
        self.pid: int | None = None
        self.uid: int | None = None
        self.group: Group | None = None
        self.folder: str | None = None          # without a sandbox only
        self.requests = 0
        self.starts = 0
        self.out_of_memory = False
        self.busy = False       # a request is under way (left True if one was abandoned)

    def _environment(self, home: str) -> dict[str, str]:
        dot = os.path.join(home, ".home")
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
            "HOME": dot, "TMPDIR": os.path.join(home, ".tmp"),
            "PYTHONPATH": str(self.zygote.lib), "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": os.path.join(dot, ".matplotlib"),
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "NBGRADER_EXECUTION": "autograde", "NNCOURSE_GRADING": "1", "TQDM_DISABLE": "1",
        }

    def _spec(self) -> dict:
        isolation = self.zygote.isolation
        if isolation.private:
            home = KERNEL_HOME
        else:
            self.folder = tempfile.mkdtemp(prefix="k", dir=self.zygote.home)
            if self.uid is not None:        # new and empty: nothing in it is the student's yet
                os.chown(self.folder, self.uid, self.uid)
            home = self.folder
        data = self.zygote.data
        return {"uid": self.uid, "private": isolation.private, "home": home,
                "disk_bytes": DISK_LIMIT, "inodes": INODE_LIMIT,
                "memory_mb": self.memory_mb, "fsize": FSIZE_LIMIT,
                "nproc": NPROC_LIMIT if self.uid is not None else None,
                "extra": (DATA_DIR if isolation.mode != "none" else str(data)) if data else None,
                "env": self._environment(home)}

    def start(self) -> None:
        self.starts += 1
        self.out_of_memory = False
        self.uid = sandbox_uid(self.zygote.isolation, self.zygote.spawned)
        if not self.zygote.alive():
            self.zygote.start()
        mine, theirs = wire.socketpair()
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        try:
            spawned = self.zygote.spawn(self._spec(), theirs)
        finally:
            theirs.close()
        if not spawned:
            mine.close()
            raise RuntimeError("the grading sandbox could not start a kernel")
        error = self._hello(mine)
        if error is not None:
            mine.close()
            self._kill()
            raise RuntimeError(f"the kernel could not start: {error}")
        if self.zygote.cgroups is not None:
            self.group = self.zygote.cgroups.create(self.memory_mb * 2**20, NPROC_LIMIT)
            self.group.add(self.pid)
        self.channel = wire.Channel(mine)

    def _hello(self, sock: socket.socket) -> str | None:
        """Wait for the kernel's hello; learn its process id from the credentials attached."""
        sock.settimeout(START_TIMEOUT)
        try:
            data, ancillary, _, _ = sock.recvmsg(4, socket.CMSG_SPACE(12))
        except OSError:
            return "it did not answer"
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                self.pid = int.from_bytes(payload[:4], sys.byteorder, signed=True)
        if self.pid is None or len(data) != 4:
            return "it did not say who it is"
        if data != b"\x00\x00\x00\x00":
            try:
                return sock.recv(2000).decode(errors="replace") or "unknown error"
            except OSError:
                return "unknown error"
        return None

    def _kill(self) -> None:
        if self.group is not None:
            self.out_of_memory = self.out_of_memory or self.group.out_of_memory()
            self.group.kill()
            self.group = None
        if self.uid is not None:
            _kill_user(self.uid)
        elif self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self.pid = None
        if self.folder is not None:
            import shutil
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def shutdown(self) -> None:
        self.busy = False
        if self.channel is not None:
            self.channel.close()
            self.channel = None
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
        return self.channel is not None and self.pid is not None and _running(self.pid)

    def interrupt(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGINT)
            except OSError:
                pass

    # ---- requests ---------------------------------------------------------------------------
    def request(self, header: dict, arrays: list, timeout: float, on_callback=None,
                grace: float = 3.0):
        """Send one request; return (result, reply header, reply arrays).

        Past ``timeout`` the kernel is interrupted; ``grace`` seconds later it is killed.
        ``timeout`` is measured in the CPU time of the kernel and everything it started (see
        ``_Clock``), so that a loaded machine does not make a student's code time out and the
        grader's own work (``on_callback(header, arrays) -> (reply, arrays)`` answering the
        kernel's stand-ins) is not charged to the student. A kernel that dies, or sends a
        message the grader cannot read, is killed and reported as "dead".
        """
        if not self.alive():
            return ExecResult("dead", error="the kernel is not running"), None, None
        self.busy = True
        result = self._exchange(header, arrays, timeout, on_callback, grace)
        self.busy = False
        return result

    def _exchange(self, header, arrays, timeout, on_callback, grace):
        self.requests += 1
        n = self.requests
        clock = _Clock(self, timeout)
        grace_end = None                        # set once the kernel has been interrupted
        try:
            self.channel.send(dict(header, id=n), arrays, clock.send_deadline())
            while True:
                try:
                    reply, data = self.channel.receive(time.monotonic() + 0.1)
                except wire.WireTimeout:
                    if not self.alive():
                        raise wire.WireClosed() from None
                    if grace_end is None and clock.over():
                        self.interrupt()
                        grace_end = time.monotonic() + grace
                    elif grace_end is not None and time.monotonic() > grace_end:
                        self.shutdown()
                        return ExecResult("timeout", clock.used(),
                                          error="it ignored the interrupt"), None, None
                    continue
                if reply.get("id") != n:
                    continue                    # stale, or sent by the student's own code
                if reply.get("kind") == "callback" and on_callback is not None:
                    self._answer_callback(n, reply, data, on_callback, clock)
                    continue
                if reply.get("kind") != "reply":
                    continue
                status = "timeout" if grace_end is not None else "ok"
                return ExecResult(status, clock.used()), reply, data
        except wire.WireTimeout:                 # the kernel stopped reading
            self.shutdown()
            return ExecResult("timeout", clock.used(), error="it stopped reading"), None, None
        except (wire.WireClosed, wire.WireError) as exc:
            self.shutdown()
            error = str(exc) if isinstance(exc, wire.WireError) else "the kernel died"
            return ExecResult("dead", clock.used(), error=error), None, None

    def _answer_callback(self, n, reply, data, on_callback, clock) -> None:
        """Answer a stand-in's call with the course's version, on the grader's time."""
        received = time.monotonic()
        answer, out = on_callback(reply, data)
        self.channel.send(dict(answer, id=n, kind="callback-reply"), out,
                          time.monotonic() + 30)
        clock.trusted += time.monotonic() - received

    def cpu_seconds(self) -> float:
        """CPU time used so far by the kernel and everything it started, as the system counts
        it (the student cannot fake it)."""
        if self.group is not None:
            used = self.group.cpu_seconds()
            if used is not None:
                return used
        try:
            with open(f"/proc/{self.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, TypeError):
            return 0.0

    def execute(self, code: str, timeout: float, grace: float = 3.0) -> ExecResult:
        """Run a cell; interrupt after ``timeout`` s, give up ``grace`` s after that."""
        result, reply, _ = self.request({"kind": "execute", "code": code}, [], timeout,
                                        grace=grace)
        if result.status == "timeout" and reply is None:
            result.error = "the cell ignored the interrupt"
            return result
        if reply is None:
            return result
        result.stdout = _clip(reply.get("stdout", ""), MAX_STDOUT)
        error = reply.get("error")
        if isinstance(error, dict):
            if result.status == "ok":
                result.status = "error"
            result.error = _clip(f"{error.get('type')}: {error.get('message')}", MAX_ERROR)
            lines = error.get("traceback")
            result.traceback = [_clip(line, 500) for line in lines[-MAX_TRACEBACK_LINES:]] \
                if isinstance(lines, list) else []
        if result.status == "timeout":
            result.error = f"stopped after {timeout:g} s (an endless loop?)"
        return result
