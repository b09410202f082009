"""Where students' kernels run: a sandbox in which each sees nothing but its own fresh folder.

With bubblewrap (Debian's ``bubblewrap`` package) and root, each grading worker gets a sandbox
(see ``zygote.py``) with:

- a private mount namespace holding only the system (``/usr``, ``/etc``), the Python installation,
  a copy of ``nnutils`` with the assignment's graded functions removed and the assignment's data
  files, all read-only; the repository, ``solutions/``, the gradebook, the submissions, the
  output folder and the grader's own files do not exist in it, and nothing in it is writable;
- no network (a private network namespace with nothing in it but a loopback that is down);
- a private PID namespace, so every process in it dies with the sandbox;

and each submission's kernel, forked inside it, gets new mount, IPC and network namespaces of
its own with a fresh tmpfs as its folder and TMPDIR (limited in bytes and inodes), its own
unprivileged user id (no capabilities, no new privileges), a control group limiting its memory
as a whole, its processes and its CPU (``cgroups.py``), and limits on address space, file size
and core dumps. The grader shares no file with it: they talk over a socket the grader created.

Without root, bubblewrap still gives the namespaces, but kernels share one user id and get no
control groups. Without bubblewrap, only the resource limits apply. In both cases the grader
says loudly what is missing.
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

from ..contract import SHORTCUTS, TRAINING_FUNCTIONS, TRAINING_MODULES, shortcuts_for
from . import cgroups

BASE_UID = 100000    # kernels run as BASE_UID + 64 * (grading process id) + n
NPROC_LIMIT = 128     # processes and threads per kernel
FSIZE_LIMIT = 512 * 2**20
DISK_LIMIT = 512 * 2**20     # bytes a kernel may store in its folder and /tmp together
INODE_LIMIT = 10_000         # files and folders it may create there
KERNEL_HOME = "/submission"  # the kernel's folder, inside the sandbox
DATA_DIR = "/assignment-files"   # the assignment's data files, read-only, inside the sandbox
CAPABILITIES = "CAP_SETUID,CAP_SETGID,CAP_SYS_ADMIN"   # the zygote's, never a kernel's


class IsolationWarning(UserWarning):
    """Submissions run without (part of) the isolation the grader wants."""


@dataclass(frozen=True)
class Isolation:
    mode: str               # "bwrap-root", "bwrap" or "none"
    reason: str = ""        # what is missing, if anything
    cgroups: bool = False   # kernels get control groups (memory, processes, CPU)
    private: bool = False   # kernels get their own mount/IPC/network namespaces and tmpfs

    @property
    def full(self) -> bool:
        return self.mode == "bwrap-root" and self.cgroups and self.private


_PRIVATE_PROBE = (
    "import ctypes, os, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "ok = libc.unshare(0x00020000 | 0x08000000 | 0x40000000) == 0\n"
    "ok = ok and libc.mount(b'none', b'/', None, 16384 | (1 << 18), None) == 0\n"
    "ok = ok and libc.mount(b'tmpfs', sys.argv[1].encode(), b'tmpfs', 6,\n"
    "                       b'size=1m,nr_inodes=16') == 0\n"
    "sys.exit(0 if ok else 1)\n")


def _probe_bwrap(bwrap: str, root: bool) -> tuple[bool, bool]:
    """(bubblewrap works, a zygote in it can give each kernel private namespaces).

    The second is tried in the very sandbox a zygote gets (``zygote_command``), wherever the
    Python installation lives (under /tmp in a fresh clone, say).
    """
    try:
        plain = [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]
        if subprocess.run(plain, capture_output=True, timeout=20).returncode:
            return False, False
        trial = Isolation("bwrap-root" if root else "bwrap", private=True)
        library = Path(nnutils.__file__).resolve().parent
        probe = zygote_command(trial, library, None, None, {}) + [
            sys.executable, "-c", _PRIVATE_PROBE, KERNEL_HOME]
        return True, subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False, False


@functools.cache
def detect_isolation() -> Isolation:
    """Find out once which isolation this machine allows."""
    if os.environ.get("NNCOURSE_NO_SANDBOX"):
        return Isolation("none", "NNCOURSE_NO_SANDBOX is set")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Isolation("none", "bubblewrap is not installed (Debian/Ubuntu: apt-get install "
                                 "bubblewrap)")
    root = os.geteuid() == 0
    works, private = _probe_bwrap(bwrap, root)
    if not works:
        return Isolation("none", "bubblewrap cannot create namespaces here (unprivileged user "
                                 "namespaces are disabled?)")
    gaps = []
    if not private:
        gaps.append("kernels cannot get private mount/IPC namespaces, so one submission's "
                    "files and shared memory are visible to the next in the same worker")
    if not root:
        gaps.append("not running as root, so submissions share one user id, have no process "
                    "limit and no control groups (memory is limited per process only)")
        return Isolation("bwrap", "; ".join(gaps), cgroups=False, private=private)
    problem = cgroups.probe()
    if problem:
        gaps.append(f"{problem}: memory is limited per process only (memfd files and shared "
                    f"memory are not counted) and CPU is not shared fairly")
    return Isolation("bwrap-root", "; ".join(gaps), cgroups=problem is None, private=private)


def warn_if_partial(isolation: Isolation) -> None:
    if not isolation.full:
        warnings.warn(
            f"SUBMISSIONS ARE NOT FULLY ISOLATED: {isolation.reason}. "
            + ("Student code can read every file this user can read, including solutions/, "
               "and can use the network." if isolation.mode == "none" else ""),
            IsolationWarning, stacklevel=2)


def _bind_with_parents(args: list[str], made: set[str], path: Path, flag: str,
                       target: Path | None = None) -> None:
    """Bind ``path`` (at ``target``, default the same place), creating its parents first."""
    target = target or path
    for parent in reversed(target.parents):
        p = str(parent)
        if p != "/" and p not in made:
            args += ["--perms", "0755", "--dir", p]
            made.add(p)
    args += [flag, str(path), str(target)]
    made.add(str(target))


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


def zygote_command(isolation: Isolation, lib: Path, data: Path | None, home: Path | None,
                   env: dict[str, str]) -> list[str]:
    """The command prefix that starts a worker's zygote inside its sandbox.

    The sandbox sees the system, the Python installation, the stripped library and the
    assignment's data files, all read-only, and an empty ``KERNEL_HOME`` on which each kernel
    mounts its own tmpfs. Only where kernels cannot mount their own does the sandbox also
    hold the worker's folder ``home`` (writable), in which each kernel gets a folder.
    """
    if isolation.mode == "none":
        return ["env", "-i"] + [f"{k}={v}" for k, v in env.items()]
    args = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--clearenv",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "0755", "--tmpfs", "/tmp",
            "--perms", "0755", "--tmpfs", "/dev/shm", "--remount-ro", "/dev/shm",
            "--perms", "0755", "--dir", KERNEL_HOME]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        target = Path("/") / name
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            args += ["--ro-bind", str(target), str(target)]
    made = {"/usr", "/etc", "/proc", "/dev", "/tmp", "/bin", "/sbin", "/lib", "/lib64",
            KERNEL_HOME}
    for root in python_roots():
        _bind_with_parents(args, made, root, "--ro-bind")
    _bind_with_parents(args, made, lib, "--ro-bind")
    if data is not None:
        _bind_with_parents(args, made, data, "--ro-bind", Path(DATA_DIR))
    if home is not None and not isolation.private:
        _bind_with_parents(args, made, home, "--bind")
    for package, target in masked_modules(lib):     # over the read-only Python installation
        args += ["--ro-bind", str(package), str(target)]
    args += ["--remount-ro", "/tmp", "--chdir", "/"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    if isolation.mode == "bwrap-root":
        args += ["--cap-add", CAPABILITIES]
    else:
        args += ["--unshare-user", "--uid", "0", "--gid", "0"]
        if isolation.private:
            args += ["--cap-add", "CAP_SYS_ADMIN"]
    return args + ["--"]


def sandbox_uid(isolation: Isolation, n: int = 0) -> int | None:
    """The user id of this process's n-th kernel (None without root in a sandbox).

    Blocks of 64 ids per grading process: no two live kernels share an id, even across runs.
    """
    return BASE_UID + 64 * os.getpid() + n % 64 if isolation.mode == "bwrap-root" else None


# the parts of the grader a kernel imports: the checks visible tests use, and its own side
KERNEL_MODULES = ("__init__.py", "checks.py", "protocol.py", "shim.py", "wire.py", "zygote.py")


# Switched-off helpers that read-only cells still reach (check_layer_gradients runs in the kernel
# for the student's own gradient checks): in the sandbox they call the student's version.
STUDENT_VERSIONS = {
    ("grading.checks", "_numerical"): (
        "numerical_gradient",
        "return np.asarray(student(lambda v: float(np.sum(np.asarray(f(v), dtype=np.float64) * "
        "df)), x.copy(), h), dtype=np.float64)"),
    ("grading.checks", "relative_error"): (
        "rel_error", "return float(student(np.asarray(a, dtype=np.float64), "
                     "np.asarray(b, dtype=np.float64)))"),
}


def _student_version(module: str, qualname: str, graded: str) -> list[ast.stmt] | None:
    found = STUDENT_VERSIONS.get((module, qualname))
    if found is None or found[0] != graded:
        return None
    message = (f"while your work is graded, the course's {graded} is switched off and this check "
               f"uses yours; define {graded} first")
    off = (f"nnutils.{module}.{qualname} computes {graded}, which you are writing; it is "
           f"switched off while your work is graded. Write {graded} yourself.")
    # the student's version calling this helper back would only recurse: say why instead
    return ast.parse(
        "import __main__\n"
        f"student = getattr(__main__, {graded!r}, None)\n"
        f"if not callable(student):\n    raise RuntimeError({message!r})\n"
        f"if getattr({qualname}, '_busy', False):\n    raise RuntimeError({off!r})\n"
        f"{qualname}._busy = True\n"
        "try:\n    " + found[1] + f"\nfinally:\n    {qualname}._busy = False\n").body


def _switched_off(qualname: str, module: str, graded: str | None) -> ast.Raise:
    if graded is None:
        message = (f"nnutils.{qualname} is the course library's reference implementation; it "
                   f"is switched off while your work is graded. Write {qualname} yourself.")
    else:
        message = (f"nnutils.{module}.{qualname} computes {graded}, which you are writing; it "
                   f"is switched off while your work is graded. Write {graded} yourself.")
    return ast.Raise(ast.Call(ast.Name("RuntimeError", ast.Load()), [ast.Constant(message)],
                              []), None)


class _DisableFunctions(ast.NodeTransformer):
    """Replace the body of each named function with a clear error.

    ``names`` are graded functions, switched off wherever a module defines them at top level;
    ``extra`` maps qualified names of this module ("_adam", "MLP.loss") to the graded function
    they compute (``contract.SHORTCUTS``).
    """

    def __init__(self, names: set[str], module: str, extra: dict[str, str] | None = None):
        self.names, self.module, self.extra = names, module, extra or {}
        self.disabled: list[str] = []

    def _disable(self, stmt, qualname: str, graded: str | None) -> None:
        doc = ast.get_docstring(stmt)
        own = _student_version(self.module, qualname, graded) if graded else None
        stmt.body = ([ast.Expr(ast.Constant(doc))] if doc else []) + (
            own or [_switched_off(qualname, self.module, graded)])
        self.disabled.append(qualname if graded is None else f"{self.module}:{qualname}")

    def _visit_body(self, body, prefix: str) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = prefix + stmt.name
                if not prefix and stmt.name in self.names:
                    self._disable(stmt, qualname, None)
                elif qualname in self.extra:
                    self._disable(stmt, qualname, self.extra[qualname])
            elif isinstance(stmt, ast.ClassDef):
                self._visit_body(stmt.body, f"{prefix}{stmt.name}.")

    def visit_Module(self, node):
        self._visit_body(node.body, "")
        return node


def _module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MASK_FOLDER = ".masked"     # inside the library folder: dotted module name -> a stand-in package


def _write_masks(dest: Path, disabled: set[str]) -> list[str]:
    """Stand-in packages for the modules that would train a model for the student."""
    folder = dest / MASK_FOLDER
    if folder.exists():
        shutil.rmtree(folder)
    trained = sorted(disabled & TRAINING_FUNCTIONS)
    if not trained:
        return []
    for module in TRAINING_MODULES:
        package = folder / module
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(
            f"raise ImportError({module!r} + ' is switched off while this assignment is graded: '"
            f" 'it would train the model for you. Write {trained[0]} and the other graded "
            f"functions with NumPy.')\n")
    return list(TRAINING_MODULES)


def _module_path(module: str) -> Path | None:
    """Where a module of the Python installation lives, without importing it."""
    import importlib.util

    top, _, rest = module.partition(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(list(spec.submodule_search_locations)[0])
    path = base.joinpath(*rest.split(".")) if rest else base
    if path.is_dir():
        return path.resolve()
    return path.with_suffix(".py").resolve() if path.with_suffix(".py").is_file() else None


def masked_modules(lib: Path) -> list[tuple[Path, Path]]:
    """(stand-in package, the module's folder) for each module the sandbox hides."""
    folder = lib / MASK_FOLDER
    if not folder.is_dir():
        return []
    pairs = []
    for package in sorted(folder.iterdir()):
        target = _module_path(package.name)
        if target is not None:      # a package's folder, or a module's file
            pairs.append((package if target.is_dir() else package / "__init__.py", target))
    return pairs


def build_library(dest: Path, disabled: set[str]) -> list[str]:
    """Copy nnutils to ``dest/nnutils`` with the ``disabled`` functions' code removed.

    The grading machinery itself is left out (only the public checks that visible tests use are
    kept), and so is the reference code of every disabled function and of every other function
    that computes one of them (``contract.SHORTCUTS``: private helpers, naive versions, model
    methods, the checks' numerical gradient), so a submission cannot call it or read it. When
    a graded function trains a model, the modules that would train one for the student
    (``contract.TRAINING_MODULES``) get stand-ins that raise ImportError, which
    ``zygote_command`` binds over them. Returns the names actually disabled.
    """
    source = Path(nnutils.__file__).resolve().parent
    target = dest / "nnutils"
    if target.exists():
        shutil.rmtree(target)
    done: list[str] = []
    extra = shortcuts_for(disabled)
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if "__pycache__" in rel.parts or path.is_dir():
            continue
        if rel.parts[0] == "grading" and rel.name not in KERNEL_MODULES:
            continue
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            tree = ast.parse(path.read_text(), filename=str(path))
            module = _module_name(rel)
            graded_by = {q: g for g in sorted(disabled) for e in SHORTCUTS.get(g, ())
                         for m, q in [e.split(":")] if m == module}
            transformer = _DisableFunctions(disabled, module, graded_by)
            tree = transformer.visit(tree)
            done += transformer.disabled
            out.write_text(ast.unparse(tree) + "\n")
        elif path.suffix in (".txt", ".md"):
            shutil.copyfile(path, out)
    unknown = {f"{m}:{q}" for m, qs in extra.items() for q in qs} - set(done)
    if unknown:     # a stale entry in contract.SHORTCUTS must not pass silently
        raise RuntimeError(f"contract.SHORTCUTS names functions the library does not define: "
                           f"{', '.join(sorted(unknown))}")
    _write_masks(dest, disabled)
    for folder in [dest, *dest.rglob("*")]:
        folder.chmod(0o755 if folder.is_dir() else 0o644)
    return sorted(set(done))
