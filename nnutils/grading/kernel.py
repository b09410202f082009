"""A Jupyter kernel in the sandbox, driven one cell at a time with a deadline per cell.

The kernel talks to the grader over ZeroMQ ``ipc`` sockets (files in the scratch folder), so it
needs no network at all. A cell that runs past its deadline is interrupted with SIGINT; a cell
that ignores the interrupt, or a kernel that dies, is reported as such and the caller decides
whether to restart.
"""

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client import KernelManager

from . import protocol
from .sandbox import Isolation, bwrap_command, sandbox_uid

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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


class _SandboxedKernelManager(KernelManager):
    """A KernelManager whose kernel command starts inside the sandbox."""

    prefix: list[str] = []
    owner: int | None = None

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        cmd[0] = sys.executable
        return self.prefix + cmd

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.owner is not None:
            os.chown(self.connection_file, self.owner, self.owner)


class SandboxedKernel:
    """One student's kernel. Use as a context manager; ``execute`` runs one cell."""

    def __init__(self, scratch: Path, lib: Path, isolation: Isolation, slot: int = 0,
                 memory_mb: int = 2048):
        self.scratch, self.lib, self.isolation = scratch, lib, isolation
        self.slot, self.memory_mb = slot, memory_mb
        self.uid = sandbox_uid(isolation, slot)
        self.io = scratch / "io"
        self.km: _SandboxedKernelManager | None = None
        self.kc = None
        self.calls = 0
        self.starts = 0

    # ---- life cycle -------------------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        home = self.scratch / "home"
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home), "LANG": "C.UTF-8", "TMPDIR": "/tmp",
            "PYTHONPATH": str(self.lib), "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home / ".matplotlib"),
            "IPYTHONDIR": str(home / ".ipython"), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
            "JUPYTER_DATA_DIR": str(home / ".local"), "JUPYTER_RUNTIME_DIR": str(home / "rt"),
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "NBGRADER_EXECUTION": "autograde", "NNCOURSE_GRADING": "1",
            "TQDM_DISABLE": "1",
        }

    def start(self) -> None:
        self.starts += 1
        self.io.mkdir(parents=True, exist_ok=True)
        home = self.scratch / "home"
        (home / ".matplotlib").mkdir(parents=True, exist_ok=True)
        fonts = self.lib.parent / "mplcache"
        if fonts.is_dir():
            for f in fonts.glob("fontlist*.json"):
                shutil.copy(f, home / ".matplotlib" / f.name)
        if self.uid is not None:
            for path in [self.scratch, *self.scratch.rglob("*")]:
                os.chown(path, self.uid, self.uid)
        km = _SandboxedKernelManager(kernel_name="python3", transport="ipc",
                                     ip=str(self.scratch / "ipc"))
        km.connection_file = str(self.scratch / "kernel.json")
        km.prefix = bwrap_command(self.isolation, self.scratch, self.lib, self.slot,
                                  self.memory_mb, self._environment())
        km.owner = self.uid
        km.start_kernel(cwd=str(self.scratch), env={"PATH": os.environ.get("PATH", "")},
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
        except RuntimeError:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            raise
        self.km, self.kc = km, kc
        if self.install_shim().status != "ok":
            raise RuntimeError("could not prepare the kernel for grading")

    def install_shim(self) -> ExecResult:
        """(Re)define the grader's helper in the kernel, undoing whatever a cell did to it."""
        return self.execute(protocol.shim_install_code(str(self.io)), timeout=30)

    def shutdown(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            process = getattr(self.km.provisioner, "process", None)
            pids = _descendants(process.pid) if process is not None else []
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:
                pass
            for pid in pids:            # with no PID namespace, leave nothing behind
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.km.cleanup_resources()
        self.km = self.kc = None

    def restart(self) -> None:
        self.shutdown()
        self.start()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()

    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    def interrupt(self) -> None:
        process = getattr(self.km.provisioner, "process", None) if self.km else None
        if process is None:
            return
        for pid in [process.pid, *_descendants(process.pid)]:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if b"ipykernel_launcher" not in fh.read():
                        continue
                if not os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("python"):
                    continue
                os.kill(pid, signal.SIGINT)
            except OSError:
                pass

    # ---- running code -------------------------------------------------------------------
    def execute(self, code: str, timeout: float, grace: float = 3.0) -> ExecResult:
        """Run ``code``; interrupt after ``timeout`` s, give up ``grace`` s after that."""
        if not self.alive():
            return ExecResult("dead", error="the kernel is not running")
        start = time.monotonic()
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False,
                                 stop_on_error=False)
        deadline, interrupted = start + timeout, False
        result = ExecResult("ok")
        out: list[str] = []
        while True:
            wait = min(0.5, max(0.01, deadline - time.monotonic()))
            try:
                msg = self.kc.get_iopub_msg(timeout=wait)
            except queue.Empty:
                if not self.km.is_alive():
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

    def request(self, payload: dict, arrays: dict, timeout: float):
        """Send one request to the shim and return (status, response, response arrays)."""
        self.calls += 1
        n = self.calls
        protocol.write_request(self.io, n, payload, arrays)
        for path in (self.io / f"req-{n}.json", self.io / f"req-{n}.npz"):
            path.chmod(0o644)
        result = self.execute(f"__nncourse_call__({n})", timeout=timeout)
        if result.status != "ok":
            return result, None, None
        meta, data = protocol.read_response(self.io, n)
        for suffix in (".json", ".npz"):
            for prefix in ("req", "resp"):
                (self.io / f"{prefix}-{n}{suffix}").unlink(missing_ok=True)
        return result, meta, data
