"""Where students' kernels run: a sandbox in which they can see nothing but their own folder.

With bubblewrap (Debian's ``bubblewrap`` package) and root, each grading worker gets a sandbox
(see ``zygote.py``) with:

- a private mount namespace holding only the system (``/usr``, ``/etc``), the Python installation,
  a copy of ``nnutils`` with the assignment's graded functions removed, and the worker's folder;
  the repository, ``solutions/``, the gradebook, other workers' submissions and the output folder
  do not exist in it, and /tmp is read-only;
- no network (a private network namespace with nothing in it but a loopback that is down);
- a private PID namespace, so every process in it dies with the sandbox;

and each submission's kernel, forked inside it, gets its own unprivileged user id (no
capabilities, no new privileges), a folder only that id can enter, and limits on address space
(``--memory``), processes, file size and core dumps.

Without root, bubblewrap still gives the namespaces, but kernels cannot get user ids of their
own, so the process limit is left out. Without bubblewrap, only the resource limits apply and
the grader says loudly that submissions are not isolated.
"""

import ast
import functools
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import nnutils

BASE_UID = 100000    # kernels run as BASE_UID + 64 * (grading process id) + n
NPROC_LIMIT = 128     # processes and threads per sandbox user
FSIZE_LIMIT = 512 * 2**20


class IsolationWarning(UserWarning):
    """Submissions run without (part of) the isolation the grader wants."""


@dataclass(frozen=True)
class Isolation:
    mode: str           # "bwrap-root", "bwrap" or "none"
    reason: str = ""    # why isolation is partial or missing

    @property
    def full(self) -> bool:
        return self.mode == "bwrap-root"


@functools.cache
def detect_isolation() -> Isolation:
    """Find out once which isolation this machine allows."""
    if os.environ.get("NNCOURSE_NO_SANDBOX"):
        return Isolation("none", "NNCOURSE_NO_SANDBOX is set")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Isolation("none", "bubblewrap is not installed (Debian/Ubuntu: apt-get install "
                                 "bubblewrap)")
    probe = [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        return Isolation("none", "bubblewrap cannot create namespaces here (unprivileged user "
                                 "namespaces are disabled?)")
    if os.geteuid() != 0:
        return Isolation("bwrap", "not running as root, so submissions share one user id and "
                                  "have no process limit")
    return Isolation("bwrap-root")


def warn_if_partial(isolation: Isolation) -> None:
    if not isolation.full:
        warnings.warn(
            f"SUBMISSIONS ARE NOT FULLY ISOLATED: {isolation.reason}. "
            + ("Student code can read every file this user can read, including solutions/, "
               "and can use the network." if isolation.mode == "none" else ""),
            IsolationWarning, stacklevel=2)


def _bind_with_parents(args: list[str], made: set[str], path: Path, flag: str) -> None:
    """Bind ``path`` at the same place, first creating its parents world-readable."""
    for parent in reversed(path.parents):
        p = str(parent)
        if p != "/" and p not in made:
            args += ["--perms", "0755", "--dir", p]
            made.add(p)
    args += [flag, str(path), str(path)]
    made.add(str(path))


def python_roots() -> list[Path]:
    """Folders the kernel's Python needs: the environment, its base, site-packages."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
             Path(sys.executable).resolve().parent.parent}
    for entry in sys.path:
        p = Path(entry).resolve() if entry else None
        if p and p.is_dir() and "site-packages" in p.parts:
            roots.add(p)
    repo = Path(nnutils.__file__).resolve().parent.parent
    kept = sorted(r for r in roots if not str(r).startswith("/usr/") and r != repo)
    # drop folders inside others
    return [r for r in kept if not any(o != r and o in r.parents for o in kept)]


def zygote_command(isolation: Isolation, home: Path, lib: Path, env: dict[str, str]) -> list[str]:
    """The command prefix that starts a worker's zygote inside its sandbox.

    The sandbox sees the system, the Python installation, the stripped library (read-only) and
    the worker's folder ``home``, where each submission gets a folder of its own. /tmp is
    read-only: kernels get their own TMPDIR.
    """
    if isolation.mode == "none":
        return ["env", "-i"] + [f"{k}={v}" for k, v in env.items()]
    args = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--clearenv",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "0755", "--tmpfs", "/tmp",
            "--perms", "0755", "--tmpfs", "/dev/shm", "--remount-ro", "/dev/shm"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        target = Path("/") / name
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            args += ["--ro-bind", str(target), str(target)]
    made = {"/usr", "/etc", "/proc", "/dev", "/tmp", "/bin", "/sbin", "/lib", "/lib64"}
    for root in python_roots():
        _bind_with_parents(args, made, root, "--ro-bind")
    _bind_with_parents(args, made, lib, "--ro-bind")
    _bind_with_parents(args, made, home, "--bind")
    args += ["--remount-ro", "/tmp", "--chdir", str(home)]
    for key, value in env.items():
        args += ["--setenv", key, value]
    if isolation.full:
        args += ["--cap-add", "CAP_SETUID,CAP_SETGID"]
    else:
        args += ["--unshare-user"]
    return args + ["--"]


def sandbox_uid(isolation: Isolation, n: int = 0) -> int | None:
    """The user id of this process's n-th kernel (None without full isolation).

    Blocks of 64 ids per grading process: no two live kernels share an id, even across runs.
    """
    return BASE_UID + 64 * os.getpid() + n % 64 if isolation.full else None


class _DisableFunctions(ast.NodeTransformer):
    """Replace the body of each named top-level function with a clear error."""

    def __init__(self, names: set[str], module: str):
        self.names, self.module = names, module
        self.disabled: list[str] = []

    def visit_Module(self, node):
        for i, stmt in enumerate(node.body):
            if isinstance(stmt, ast.FunctionDef) and stmt.name in self.names:
                message = (f"nnutils.{stmt.name} is the course library's reference "
                           f"implementation; it is switched off while your work is graded. "
                           f"Write {stmt.name} yourself.")
                doc = ast.get_docstring(stmt)
                body = [ast.Expr(ast.Constant(doc))] if doc else []
                body.append(ast.Raise(ast.Call(ast.Name("RuntimeError", ast.Load()),
                                               [ast.Constant(message)], []), None))
                stmt.body = body
                node.body[i] = stmt
                self.disabled.append(stmt.name)
        return node


def build_library(dest: Path, disabled: set[str]) -> list[str]:
    """Copy nnutils to ``dest/nnutils`` with the ``disabled`` functions' code removed.

    The grading machinery itself is left out (only the public checks that visible tests use are
    kept), and so is the reference code of every disabled function, so a submission cannot call
    it or read it. Returns the names actually disabled.
    """
    source = Path(nnutils.__file__).resolve().parent
    target = dest / "nnutils"
    if target.exists():
        shutil.rmtree(target)
    done: list[str] = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if "__pycache__" in rel.parts or path.is_dir():
            continue
        if rel.parts[0] == "grading" and rel.name not in ("__init__.py", "checks.py",
                                                                 "protocol.py", "zygote.py"):
            continue
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            tree = ast.parse(path.read_text(), filename=str(path))
            transformer = _DisableFunctions(disabled, str(rel))
            tree = transformer.visit(tree)
            done += transformer.disabled
            out.write_text(ast.unparse(tree) + "\n")
        elif path.suffix in (".txt", ".md"):
            shutil.copyfile(path, out)
    for folder in [dest, *dest.rglob("*")]:
        folder.chmod(0o755 if folder.is_dir() else 0o644)
    return sorted(set(done))
