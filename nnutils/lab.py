"""JupyterLab for a course on one machine: ``nncourse lab`` and ``nncourse doctor``.

nbgrader's assignment list, validate button and formgrader normally assume a shared exchange
folder in ``/srv`` (which needs root) and a gradebook beside the instructor's notes. On a laptop
the whole course lives in this repository instead:

    build/exchange/nncourse/outbound/<assignment>/   what students fetch (released by ``prepare``)
    build/exchange/nncourse/inbound/                 what students submit
    build/gradebook.db                               the formgrader's gradebook
    build/lab/<student>/                             a student's workspace (``--student NAME``)

``prepare_course`` fills the exchange and the gradebook from ``solutions/`` (through nbgrader's
own generate and release, so the formgrader knows every cell). ``student_workspace`` writes an
``nbgrader_config.py`` that points a student's JupyterLab at the same exchange. ``LabServer``
starts and stops JupyterLab on loopback (used by ``nncourse lab``, the browser tests and the
responsiveness benchmark). ``doctor`` checks what a student's browser session needs and says how
to fix what is missing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

COURSE_ID = "nncourse"


def exchange_root(root: Path) -> Path:
    return Path(root) / "build" / "exchange"


def gradebook_url(root: Path) -> str:
    return f"sqlite:///{Path(root) / 'build' / 'gradebook.db'}"


def prepare_course(root: Path, names: list[str] | None = None, exchange: Path | None = None,
                   gradebook: str | None = None) -> list[str]:
    """Register every assignment in the course gradebook and release it to the course's
    exchange (``build/exchange`` and ``build/gradebook.db`` unless given); return the names.

    The student versions are generated afresh from ``solutions/`` in a scratch folder, so the
    committed ``assignments/`` folder is not touched (``nncourse release --check`` says whether it
    is current). An assignment whose ``solutions/`` folder has not changed since it was last
    prepared into the same exchange and gradebook is skipped (a stamp file in the exchange).
    """
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    from .course import RELEASE_DIR, SOURCE_DIR, _check_names

    root = Path(root)
    names = _check_names(root, names)
    (root / "build").mkdir(exist_ok=True)
    exchange = Path(exchange or exchange_root(root))
    gradebook = gradebook or gradebook_url(root)
    stamp_file = exchange / ".nncourse-prepared.json"
    stamps = json.loads(stamp_file.read_text()) if stamp_file.exists() else {}
    digests = {name: f"{gradebook}|{_digest(root / SOURCE_DIR / name)}" for name in names}
    todo = [name for name in names if stamps.get(name) != digests[name]
            or not (exchange / COURSE_ID / "outbound" / name).is_dir()]
    if not todo:
        return names
    bindir = str(Path(sys.executable).parent)     # nbgrader calls its environment's `alembic`
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="nncourse-lab-") as tmp:
        for name in todo:
            shutil.copytree(root / SOURCE_DIR / name, Path(tmp) / SOURCE_DIR / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        config = Config()
        config.CourseDirectory.root = tmp
        config.CourseDirectory.source_directory = SOURCE_DIR
        config.CourseDirectory.release_directory = RELEASE_DIR
        config.CourseDirectory.db_url = gradebook
        config.CourseDirectory.course_id = COURSE_ID
        config.Exchange.root = str(exchange)
        config.ExchangeReleaseAssignment.force = True      # re-releasing replaces the old copy
        api = NbGraderAPI(config=config)
        for name in todo:
            for step in (api.generate_assignment, api.release_assignment):
                kwargs = {"force": True} if step is api.generate_assignment else {}
                result = step(name, **kwargs)
                if not result.get("success"):
                    from .course import CourseError
                    raise CourseError(f"nbgrader could not {step.__name__.replace('_', ' ')} "
                                      f"{name}: {(result.get('error') or '').strip()[-300:]}")
            stamps[name] = digests[name]
            stamp_file.write_text(json.dumps(stamps, indent=1))
    return names


def _digest(folder: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts \
                and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


NBGRADER_CONFIG = """\
# Written by `nncourse lab --student`: this workspace fetches from and submits to the course's
# exchange folder on this machine.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course!r}
c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = False
"""


def student_workspace(root: Path, student: str, folder: Path | None = None,
                      exchange: Path | None = None) -> Path:
    """Create ``build/lab/<student>/`` (or ``folder``) with an nbgrader config pointing at the
    course exchange (or ``exchange``)."""
    if not student or not student.replace("-", "").replace("_", "").isalnum():
        from .course import CourseError
        raise CourseError(f"a student name is letters, digits, '-' and '_' only; got {student!r}")
    folder = Path(folder or Path(root) / "build" / "lab" / student)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(
        course=COURSE_ID, exchange=str(exchange or exchange_root(root))))
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NO_NEWS = {"fetchNews": "false", "checkForUpdates": False}


@dataclass
class LabServer:
    """JupyterLab on 127.0.0.1 serving ``root_dir``, with its runtime files in a scratch folder.

    ``with LabServer(folder) as lab: page.goto(lab.url("lectures/01_perceptron.ipynb"))``.
    ``expose_app`` exposes ``window.jupyterapp`` (the browser tests run commands through it).
    """

    root_dir: Path
    port: int = 0
    token: str = ""
    expose_app: bool = False
    extra_args: tuple = ()
    env: dict | None = None
    ready_timeout: float = 60.0

    def __post_init__(self):
        self.root_dir = Path(self.root_dir).resolve()
        self.port = self.port or free_port()
        self.token = self.token or secrets.token_hex(16)
        self.process = None
        self._scratch = None

    def command(self, scratch: Path) -> list[str]:
        args = [sys.executable, "-m", "jupyterlab", "--no-browser",
                f"--IdentityProvider.token={self.token}", "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                f"--ServerApp.root_dir={self.root_dir}",
                f"--LabApp.workspaces_dir={scratch / 'workspaces'}",
                f"--LabApp.user_settings_dir={scratch / 'settings'}"]
        if os.geteuid() == 0:
            args.append("--allow-root")
        if self.expose_app:
            args.append("--LabApp.expose_app_in_browser=True")
        return args + list(self.extra_args)

    def start(self) -> LabServer:
        self._scratch = Path(tempfile.mkdtemp(prefix="nncourse-lab-server-"))
        settings = self._scratch / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(json.dumps(NO_NEWS))
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(self._scratch / "runtime"),
                   **(self.env or {}))
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        self.log = open(self._scratch / "server.log", "w+b")
        self.process = subprocess.Popen(self.command(self._scratch), cwd=self.root_dir, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n"
                                   + self.server_log()[-2000:])
            try:
                with urllib.request.urlopen(self.api("status"), timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {self.ready_timeout:.0f} s")

    def server_log(self) -> str:
        self.log.flush()
        return (self._scratch / "server.log").read_text(errors="replace")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str) -> str:
        return f"{self.base}/api/{path}?token={self.token}"

    def url(self, path: str = "", workspace: str | None = None) -> str:
        """The URL that opens ``path`` (relative to root_dir) in a fresh workspace."""
        workspace = workspace or f"w{secrets.token_hex(4)}"
        tree = f"/tree/{path}" if path else ""
        return f"{self.base}/lab/workspaces/{workspace}{tree}?token={self.token}"

    def request(self, method: str, path: str) -> object:
        """Call the server's REST API; returns the decoded JSON (or None)."""
        req = urllib.request.Request(self.api(path), method=method)
        with urllib.request.urlopen(req, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for kernel in self.request("GET", "kernels") or []:
            self.request("DELETE", f"kernels/{kernel['id']}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._scratch:
            self.log.close()
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- doctor -------------------------------------------------------------------------------------

@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _version(module: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(module)
    except PackageNotFoundError:
        return None


def doctor(root: Path | None = None) -> list[Check]:
    """What a working course session needs, each with the command that fixes it."""
    checks = []
    py = sys.version_info
    checks.append(Check("Python 3.11+", py >= (3, 11), sys.version.split()[0],
                        "install Python 3.11 or newer and run `python3 tasks.py setup`"))
    for package, minimum in [("numpy", "1.26"), ("matplotlib", "3.8"), ("ipywidgets", "8"),
                             ("jupyterlab", "4"), ("jupyterlab_widgets", "3"),
                             ("ipykernel", "6"), ("nbgrader", "0.9"), ("scikit-learn", "1.3"),
                             ("tqdm", "4")]:
        found = _version(package)
        ok = found is not None and _at_least(found, minimum)
        checks.append(Check(f"{package} >= {minimum}", ok, found or "missing",
                            f"pip install -e {root or '.'}   (installs {package})"))
    checks.append(_kernel_check())
    checks.append(_labextension_check("@jupyter-widgets/jupyterlab-manager", "widget extension",
                                      "jupyterlab_widgets"))
    checks.append(_labextension_check("@jupyter/nbgrader", "nbgrader extension (Validate)",
                                      "nbgrader==0.9.6"))
    if root is not None:                 # information only: `nncourse lab` prepares it itself
        prepared = (exchange_root(root) / COURSE_ID / "outbound").is_dir()
        checks.append(Check("course exchange", True, f"{exchange_root(root)} " + (
            "(assignments released)" if prepared else "(not prepared yet: `nncourse lab` "
                                                      "releases the assignments into it)")))
    return checks


def _at_least(found: str, minimum: str) -> bool:
    def parts(v):
        out = []
        for piece in v.split("."):
            digits = "".join(ch for ch in piece if ch.isdigit())
            out.append(int(digits) if digits else 0)
        return out
    return parts(found)[:len(parts(minimum))] >= parts(minimum)


def _kernel_check() -> Check:
    """The python3 kernel JupyterLab starts must be able to import nnutils."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager
        spec = KernelSpecManager().get_kernel_spec("python3")
    except Exception as exc:
        return Check("python3 kernel", False, f"no python3 kernel ({exc})",
                     f"{sys.executable} -m ipykernel install --user --name python3")
    python = spec.argv[0]
    if python in ("python", "python3") or not os.path.isabs(python):
        python = sys.executable                  # the kernel of this environment (ipykernel's own)
    result = subprocess.run([python, "-c", "import nnutils, ipywidgets"], capture_output=True,
                            text=True, timeout=60)
    return Check("python3 kernel can import nnutils", result.returncode == 0, python,
                 f"pip install -e . with {python}, or `{sys.executable} -m ipykernel install "
                 "--user --name python3` so the kernel uses this environment")


def _labextension_check(name: str, label: str, package: str) -> Check:
    """Is the JupyterLab extension ``name`` (from the pip package ``package``) installed and on?"""
    try:
        from jupyter_core.paths import jupyter_path
        from jupyterlab.commands import AppOptions, get_app_info
        options = AppOptions(labextensions_path=jupyter_path("labextensions"))
        info = get_app_info(app_options=options)
        federated = info.get("federated_extensions", {})
        disabled = info.get("disabled", {})
    except Exception as exc:
        return Check(label, False, f"cannot ask JupyterLab: {exc}", f"pip install {package}")
    if name not in federated:
        return Check(label, False, "not installed",
                     f"pip install {package}  (in the environment that runs JupyterLab), "
                     "then restart JupyterLab and reload the page")
    if disabled.get(name):
        return Check(label, False, "installed but disabled",
                     f"jupyter labextension enable {name}, then reload the page")
    return Check(label, True, f"{name} {federated[name].get('version', '')}".strip())


def doctor_table(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        mark = "ok  " if c.ok else "FIX "
        lines.append(f"{mark} {c.name:<34} {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"       -> {c.fix}")
    return "\n".join(lines)


# -- the first cell of every lecture ---------------------------------------------------------------

KERNEL_NEEDS = [("numpy", "numpy", "1.26"), ("matplotlib", "matplotlib", "3.8"),
                ("ipywidgets", "ipywidgets", "8"), ("sklearn", "scikit-learn", "1.3"),
                ("tqdm", "tqdm", "4")]


def check_kernel(needs=KERNEL_NEEDS) -> None:
    """Run by the first cell of every lecture: is everything the lecture imports here, in
    versions that work with the course? Raises ImportError saying what to install and how to
    pick the right kernel; prints a one-line summary otherwise."""
    import importlib

    problems = []
    for module, package, minimum in needs:
        try:
            imported = importlib.import_module(module)
        except ImportError:
            problems.append(f"{package} is missing")
            continue
        found = getattr(imported, "__version__", "0")
        if not _at_least(found, minimum):
            problems.append(f"{package} {found} is too old (the course needs {minimum} or newer)")
    if problems:
        course = Path(__file__).resolve().parent.parent
        raise ImportError(
            f"this kernel ({sys.executable}) cannot run the lectures: " + "; ".join(problems)
            + f". Fix: in a terminal, run `python3 tasks.py setup` in {course} (or "
            f"`pip install -e {course}` in the environment this kernel uses), then choose "
            "Kernel > Change Kernel... > the course's Python and run the notebook again.")
    print(f"ready: Python {sys.version.split()[0]} at {sys.executable}")
