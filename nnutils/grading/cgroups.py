"""Control groups: one per kernel, limiting its memory, processes and CPU as a whole.

A kernel and everything it starts live in one control group, so the limits hold for the group,
not per process: memory counts every page the submission makes the machine hold (processes,
``memfd`` files, shared memory, its tmpfs), processes are capped in number, and CPU time is
capped at one core, so that a submission's processes cannot slow down the one graded beside it.
When the kernel is shut down, every process in its group is killed and the group removed.

Both layouts Linux offers are handled: cgroup v2 (one tree, ``/sys/fs/cgroup``) and v1 (one
tree per controller, ``/sys/fs/cgroup/memory``, ``.../pids``, ``.../cpu``). Creating groups needs
root; :func:`probe` says whether this machine allows it and, if not, why.
"""

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
ACCOUNTING = "cpuacct"      # v1 only: CPU time used (v2 has it in cpu.stat)
CPU_PERIOD_US = 100_000


def _write(path: Path, value) -> None:
    with open(path, "w") as fh:
        fh.write(str(value))


def _v2_root() -> Path | None:
    controllers = ROOT / "cgroup.controllers"
    if controllers.is_file() and set(CONTROLLERS) <= set(controllers.read_text().split()):
        return ROOT
    return None


def _v1_roots() -> dict[str, Path] | None:
    roots = {c: ROOT / c for c in CONTROLLERS}
    if not all((p / "cgroup.procs").is_file() for p in roots.values()):
        return None
    accounting = ROOT / ACCOUNTING
    if (accounting / "cgroup.procs").is_file() and accounting.resolve() != roots["cpu"].resolve():
        roots[ACCOUNTING] = accounting          # mounted apart from cpu on some machines
    return roots


class Group:
    """One kernel's control group (in each hierarchy that holds one of its controllers)."""

    def __init__(self, paths: list[Path], version: int):
        self.paths, self.version = paths, version

    def add(self, pid: int) -> None:
        for path in self.paths:
            _write(path / "cgroup.procs", pid)

    def pids(self) -> list[int]:
        found = set()
        for path in self.paths:
            try:
                found |= {int(p) for p in (path / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return sorted(found)

    def cpu_seconds(self) -> float | None:
        """CPU time used by every process of the group, dead or alive; None if unknown."""
        for path in self.paths:
            try:
                if self.version == 2:
                    for line in (path / "cpu.stat").read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "usage_usec":
                            return int(value) / 1e6
                elif (path / "cpuacct.usage").exists():
                    return int((path / "cpuacct.usage").read_text()) / 1e9
            except (OSError, ValueError):
                return None
        return None

    def out_of_memory(self) -> bool:
        """Whether the kernel's memory limit made the system kill one of its processes."""
        for path in self.paths:
            for name in ("memory.events", "memory.oom_control"):
                try:
                    for line in (path / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
                except (OSError, ValueError):
                    pass
        return False

    def kill(self) -> None:
        """SIGKILL every process in the group until none is left, then remove the group."""
        if self.version == 2 and (self.paths[0] / "cgroup.kill").exists():
            try:
                _write(self.paths[0] / "cgroup.kill", 1)
            except OSError:
                pass
        for _ in range(500):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.002)
        for path in self.paths:
            for _ in range(200):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:         # processes still exiting
                    time.sleep(0.005)


class Hierarchy:
    """The groups of one grading process: ``nncourse/<unique id>/k<n>`` under each root."""

    def __init__(self):
        self.v2 = _v2_root()
        self.v1 = None if self.v2 else _v1_roots()
        if self.v2 is None and self.v1 is None:
            raise OSError("no cgroup hierarchy with the memory, pids and cpu controllers")
        self.name = f"nncourse/{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.count = 0
        for parent in self._parents():
            parent.mkdir(parents=True, exist_ok=True)
        if self.v2:
            # v2 allows controllers in a child only if its parent delegates them
            for folder in (self.v2, self.v2 / "nncourse", self.v2 / self.name):
                _write(folder / "cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))

    def _parents(self) -> list[Path]:
        if self.v2:
            return [self.v2 / self.name]
        return [root / self.name for root in self.v1.values()]

    def create(self, memory_bytes: int, max_pids: int, cpus: float = 1.0) -> Group:
        self.count += 1
        leaf = f"k{self.count}"
        if self.v2:
            path = self.v2 / self.name / leaf
            path.mkdir()
            _write(path / "memory.max", memory_bytes)
            if (path / "memory.swap.max").exists():
                _write(path / "memory.swap.max", 0)
            _write(path / "pids.max", max_pids)
            _write(path / "cpu.max", f"{int(cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")
            return Group([path], 2)
        paths = {c: root / self.name / leaf for c, root in self.v1.items()}
        for path in paths.values():
            path.mkdir()
        _write(paths["memory"] / "memory.limit_in_bytes", memory_bytes)
        if (paths["memory"] / "memory.memsw.limit_in_bytes").exists():
            _write(paths["memory"] / "memory.memsw.limit_in_bytes", memory_bytes)
        _write(paths["pids"] / "pids.max", max_pids)
        _write(paths["cpu"] / "cpu.cfs_period_us", CPU_PERIOD_US)
        _write(paths["cpu"] / "cpu.cfs_quota_us", int(cpus * CPU_PERIOD_US))
        return Group(list(paths.values()), 1)

    def remove(self) -> None:
        """Remove this grading process's folders (its kernels' groups must be gone)."""
        for parent in self._parents():
            for leftover in sorted(parent.glob("k*"), reverse=True):
                Group([leftover], 2 if self.v2 else 1).kill()
            try:
                parent.rmdir()
            except OSError:
                pass


def probe() -> str | None:
    """None if kernels can get control groups here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "not running as root, so kernels get no control groups"
    try:
        hierarchy = Hierarchy()
    except OSError as exc:
        return f"control groups are not available ({exc})"
    try:
        group = hierarchy.create(64 * 2**20, 8)
        group.kill()
    except OSError as exc:
        return f"control groups cannot be created here ({exc.strerror or exc})"
    finally:
        hierarchy.remove()
    return None
