"""Run a student's kernel where it can see nothing but its own scratch folder.

With bubblewrap (Debian's ``bubblewrap`` package) and root, each kernel gets:

- a private mount namespace holding only the system (``/usr``, ``/etc``), the Python installation,
  a copy of ``nnutils`` with the assignment's graded functions removed, and the scratch folder;
  the repository, ``solutions/``, the gradebook, other submissions and the output folder do not
  exist in it;
- no network (a private network namespace with nothing in it but a loopback that is down);
- a private PID namespace, so the whole tree of processes dies with the sandbox;
- its own unprivileged user id (one per grading process) with no capabilities;
- limits: address space (``--memory``), processes (``nproc``), file size, no core dumps.

Without root, bubblewrap still gives the namespaces, but the process limit would count the
grader's own processes too, so it is left out. Without bubblewrap, only the resource limits
apply and the grader says loudly that submissions are not isolated.
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

# A sandbox runs as user id BASE_UID + the pid of the grading process that started it: no two
# live sandboxes share a user id, so no two share a process limit, even across grading runs.
BASE_UID = 100000
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
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return Isolation("bwrap", "not running as root, so submissions share the grader's user"
                                  " id and have no process limit")
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


def bwrap_command(isolation: Isolation, scratch: Path, lib: Path, slot: int, memory_mb: int,
                  env: dict[str, str]) -> list[str]:
    """The command prefix that starts a process inside the sandbox."""
    limits = ["prlimit", f"--as={memory_mb * 2**20}", f"--fsize={FSIZE_LIMIT}", "--core=0"]
    if isolation.mode == "none":
        return limits + ["env", "-i"] + [f"{k}={v}" for k, v in env.items()] + ["--"]
    if isolation.full:
        limits.append(f"--nproc={NPROC_LIMIT}")
    args = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
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
    _bind_with_parents(args, made, scratch, "--bind")
    args += ["--chdir", str(scratch)]
    for key, value in env.items():
        args += ["--setenv", key, value]
    if isolation.full:
        uid = sandbox_uid(isolation, slot)
        args += ["--cap-add", "CAP_SETUID,CAP_SETGID", "--", "setpriv", f"--reuid={uid}",
                 f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
    else:
        args += ["--unshare-user", "--"]
    return limits + args


def sandbox_uid(isolation: Isolation, slot: int = 0) -> int | None:
    """The user id for sandboxes started by this process (None without full isolation)."""
    return BASE_UID + os.getpid() if isolation.full else None


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
                                                                 "protocol.py"):
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
