"""The course folder: where things are, releasing assignments, executing notebooks.

``release`` runs nbgrader's generate_assignment into a temporary course folder (so no gradebook
or log lands in the repository) and copies the student version into ``assignments/``;
``release_is_current`` does the same and compares. ``check_notebooks`` executes notebooks in
fresh kernels, in parallel, and says which failed.
"""

import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nnutils
import nnutils.grading  # noqa: F401  (skips a slow optional import of jsonschema)

SOURCE_DIR, RELEASE_DIR = "solutions", "assignments"


class CourseError(Exception):
    """Something about the course folder or the request is wrong; the message says what."""


def find_root(start: Path | None = None) -> Path:
    """The course folder: NNCOURSE_ROOT, else the nearest folder up from ``start`` (default the
    working folder) that holds solutions/ and lectures/, else the one holding this package."""
    env = os.environ.get("NNCOURSE_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SOURCE_DIR).is_dir() and (folder / "lectures").is_dir():
            return folder
    package_root = Path(nnutils.__file__).resolve().parent.parent
    if (package_root / SOURCE_DIR).is_dir():
        return package_root
    raise CourseError(f"no course folder found at or above {here} (one that holds solutions/ "
                      f"and lectures/); run from inside the course or set NNCOURSE_ROOT")


def assignment_names(root: Path) -> list[str]:
    folder = root / SOURCE_DIR
    return sorted(p.name for p in folder.iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb"))) if folder.is_dir() else []


def _check_names(root: Path, names: list[str] | None) -> list[str]:
    known = assignment_names(root)
    if not names:
        return known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CourseError(f"unknown assignment(s) {', '.join(unknown)}; known: "
                          f"{', '.join(known) or 'none'}")
    return list(names)


def _generate(root: Path, names: list[str], into: Path) -> dict[str, Path]:
    """Run nbgrader generate_assignment for ``names`` in one scratch course; return the folder
    of each student version."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    for name in names:
        shutil.copytree(root / SOURCE_DIR / name, into / SOURCE_DIR / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    config = Config()
    config.CourseDirectory.root = str(into)
    config.CourseDirectory.source_directory = SOURCE_DIR
    config.CourseDirectory.release_directory = RELEASE_DIR
    config.CourseDirectory.db_url = f"sqlite:///{into / 'gradebook.db'}"
    config.CourseDirectory.course_id = "nncourse"
    config.Exchange.root = str(into / "exchange")
    # nbgrader runs the `alembic` command of its own environment to set up the gradebook
    bindir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    api = NbGraderAPI(config=config)
    for name in names:
        result = api.generate_assignment(name, force=True)
        if not result.get("success"):
            log = (result.get("log") or "") + (result.get("error") or "")
            lines = [line.strip() for line in log.splitlines()
                     if re.match(r"\s*(\[ERROR\]|\w+(Error|Exception):)", line)]
            raise CourseError(f"nbgrader could not generate {name}: "
                              + (" | ".join(dict.fromkeys(lines)) if lines else "no log"))
    return {name: into / RELEASE_DIR / name for name in names}


def release(root: Path, names: list[str] | None = None) -> list[str]:
    """Regenerate assignments/<name>/ from solutions/<name>/ for each name; return the names."""
    names = _check_names(root, names)
    with tempfile.TemporaryDirectory(prefix="nncourse-release-") as tmp:
        for name, generated in _generate(root, names, Path(tmp)).items():
            target = root / RELEASE_DIR / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(generated, target)
    return names


def _differences(a: Path, b: Path) -> list[str]:
    if not b.is_dir():
        return ["(the student version is missing)"]
    cmp = filecmp.dircmp(a, b, ignore=[".ipynb_checkpoints", "__pycache__"])
    out = []

    def walk(c, prefix=""):
        out.extend(f"{prefix}{n} (only in the fresh release)" for n in c.left_only)
        out.extend(f"{prefix}{n} (not in the fresh release)" for n in c.right_only)
        for n in c.common_files:
            if not filecmp.cmp(Path(c.left) / n, Path(c.right) / n, shallow=False):
                out.append(f"{prefix}{n} (differs)")
        for n, sub in c.subdirs.items():
            walk(sub, f"{prefix}{n}/")
    walk(cmp)
    return out


def stale_releases(root: Path, names: list[str] | None = None) -> dict[str, list[str]]:
    """{assignment: differences} for each committed student version that is out of date."""
    asked = names
    names = _check_names(root, names)
    stale = {}
    with tempfile.TemporaryDirectory(prefix="nncourse-release-") as tmp:
        for name, generated in _generate(root, names, Path(tmp)).items():
            diffs = _differences(generated, root / RELEASE_DIR / name)
            if diffs:
                stale[name] = diffs
    extra = sorted(p.name for p in (root / RELEASE_DIR).iterdir() if p.is_dir()
                   and not (root / SOURCE_DIR / p.name).is_dir()) \
        if (root / RELEASE_DIR).is_dir() and not asked else []
    for name in extra:
        stale[name] = ["(a student version with no instructor version in solutions/)"]
    return stale


# ---- executing notebooks -----------------------------------------------------------------

@dataclass
class CheckResult:
    path: str
    kind: str          # "lecture", "solution" or "assignment"
    ok: bool
    seconds: float
    message: str = ""


def notebook_kind(root: Path, path: Path) -> str:
    rel = path.resolve().relative_to(root)
    return {"lectures": "lecture", SOURCE_DIR: "solution", RELEASE_DIR: "assignment"}.get(
        rel.parts[0], "lecture")


def all_notebooks(root: Path) -> list[Path]:
    found = []
    for folder, pattern in (("lectures", "*.ipynb"), (SOURCE_DIR, "*/*.ipynb"),
                            (RELEASE_DIR, "*/*.ipynb")):
        found += sorted(p for p in (root / folder).glob(pattern)
                        if ".ipynb_checkpoints" not in p.parts)
    return found


def execute_notebook(path: Path, kind: str, timeout: float = 120) -> tuple[bool, str]:
    """Run a notebook top to bottom in a fresh kernel.

    Lectures and solutions must run without any error. A student version must stop only at
    the functions left for the student: every error must be a NotImplementedError.
    Returns (ok, message).
    """
    ok, message, _ = run_notebook(path, kind, timeout)
    return ok, message


def run_notebook(path: Path, kind: str, timeout: float = 120):
    """``execute_notebook`` that also returns the executed notebook, outputs and widget state
    included: (ok, message, notebook)."""
    import nbformat
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="nncourse-kernel-") as sockets:
        # ipc sockets: no TCP port to open, nothing to encrypt
        km = KernelManager(kernel_name="python3", transport="ipc",
                           ip=str(Path(sockets) / "kernel"))
        client = NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3",
                                allow_errors=(kind == "assignment"),
                                resources={"metadata": {"path": str(path.parent)}},
                                store_widget_state=True)
        ok, message = _run_client(client, nb, kind, timeout)
        return ok, message, nb


def _run_client(client, nb, kind: str, timeout: float) -> tuple[bool, str]:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        # the kernel's own log (start-up notices, shutdown chatter) is not the notebook's output
        client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except CellExecutionError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return False, lines[-1][:300] if lines else "a cell raised an error"
    except CellTimeoutError:
        return False, f"a cell ran longer than {timeout:g} s"
    except DeadKernelError:
        return False, "the kernel died"
    if kind == "assignment":
        for index, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error" and out.get("ename") != \
                        "NotImplementedError":
                    return False, (f"cell {index + 1} raised {out.get('ename')}: "
                                   f"{out.get('evalue')} (a blank student version may only "
                                   f"raise NotImplementedError)")
    return True, ""


BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _check_one(args) -> CheckResult:
    root, path, timeout, threads = args
    # notebooks run side by side: give each kernel its share of the cores, or their BLAS
    # thread pools fight over them (measured: a training-heavy lecture 8x slower)
    for name in BLAS_THREAD_VARIABLES:
        os.environ[name] = str(threads)
    kind = notebook_kind(root, path)
    start = time.monotonic()
    try:
        ok, message = execute_notebook(path, kind, timeout)
    except Exception as exc:
        ok, message = False, f"{type(exc).__name__}: {exc}"
    return CheckResult(str(path.relative_to(root)), kind, ok, time.monotonic() - start,
                       message)


def check_notebooks(root: Path, paths: list[Path], jobs: int | None = None,
                    timeout: float = 120, progress: bool = True) -> list[CheckResult]:
    """Execute the notebooks in parallel worker processes; results in the order given."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    jobs = max(1, min(jobs or os.cpu_count() or 1, len(paths) or 1))
    results: dict[Path, CheckResult] = {}
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        futures = {pool.submit(_check_one, (root, p, timeout, threads)): p for p in paths}
        bar = tqdm(total=len(paths), desc="executing notebooks", unit="notebook",
                   disable=not progress, dynamic_ncols=True)
        failed = 0
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            failed += not result.ok
            bar.update(1)
            bar.set_postfix(failed=failed)
        bar.close()
    return [results[p] for p in paths]


def check_table(results: list[CheckResult]) -> str:
    rows = [("notebook", "kind", "status", "seconds")]
    rows += [(r.path, r.kind, "ok" if r.ok else "FAILED", f"{r.seconds:.1f}") for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    for r in results:
        if not r.ok:
            lines.append(f"{r.path}: {r.message}")
    return "\n".join(lines)
