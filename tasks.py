#!/usr/bin/env python3
"""The course's two entry points, for a fresh machine with only Python 3.11 and pip.

    python3 tasks.py course   # set up, execute every notebook, release, grade the examples
    python3 tasks.py test     # set up with the test extra, run the whole test suite

Both create ``.venv/`` beside this file on first use and reinstall only when pyproject.toml
changes. Extra arguments after ``test`` go to pytest (``python3 tasks.py test -k conv``).
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"


def run(*cmd: str) -> None:
    print("+", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode:
        sys.exit(result.returncode)


def setup(extra: str = "") -> None:
    """Create .venv and install the package (with an extra) unless it is already current."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / f".installed{'-' + extra if extra else ''}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f".[{extra}]" if extra else "."
    run(str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q",
        "-e", target)
    stamp.write_text(digest)


def course() -> None:
    """The main job: what an instructor runs before a term starts."""
    setup()
    nncourse = str(BIN / "nncourse")
    run(nncourse, "check")
    run(nncourse, "release")
    for folder in sorted((ROOT / "examples" / "submissions").iterdir()):
        if folder.is_dir():
            run(nncourse, "grade", folder.name, str(folder),
                "--out", str(ROOT / "build" / "grades" / folder.name))


def test(args: list[str]) -> None:
    setup("dev")
    os.environ.setdefault("MPLBACKEND", "Agg")
    # one pytest worker per core, each with one BLAS thread (and so the kernels it starts):
    # several thread pools on the same two cores slow training-heavy notebooks many times over
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    if not any(a == "-n" or a.startswith("-n") or a.startswith("--numprocesses") for a in args):
        # one pytest worker per core; a module's tests stay together (they share fixtures)
        args = ["-n", "auto", "--dist", "loadfile", *args]
    run(str(BIN / "python"), "-m", "pytest", *args)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"course", "test", "setup"}:
        sys.exit(__doc__)
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "course":
        course()
    elif command == "test":
        test(rest)
    else:
        setup(rest[0] if rest else "")


if __name__ == "__main__":
    main()
