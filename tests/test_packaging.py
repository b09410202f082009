"""The package as installed: dependencies declared twice agree, the entry points work."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement[len(_name(requirement)):]).replace("==", "=")


def test_environment_yml_lists_the_runtime_dependencies_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = {name: _spec(d) for d in project["dependencies"] for name in [_name(d)]}
    from_conda = {_name(d): _spec(d) for d in conda if _name(d) not in ("python", "pip")}
    assert from_conda == pip
    assert "python=3.11" in conda
    assert ["-e ."] in [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert project["requires-python"] == ">=3.11"


def test_dev_extra_pins_the_torch_build_on_disk():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["dev"]
    assert "torch==2.13.0" in extras
    assert {_name(d) for d in extras} >= {"pytest", "pytest-xdist", "hypothesis", "nbformat",
                                          "nbclient", "ruff", "torch", "playwright"}


def test_console_script_and_module_agree():
    by_module = subprocess.run([sys.executable, "-m", "nnutils", "--help"], capture_output=True,
                               text=True, check=True).stdout
    script = Path(sys.executable).parent / "nncourse"
    by_script = subprocess.run([str(script), "--help"], capture_output=True, text=True,
                               check=True).stdout
    assert by_module == by_script and "release" in by_script


def test_corpus_ships_with_the_package():
    import nnutils.data
    assert len(nnutils.data.load_corpus()) > 5000


def test_code_and_notebooks_pass_ruff():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "--quiet", str(ROOT)], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
