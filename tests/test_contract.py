"""Every graded function of COURSE.md §5 is exported by nnutils with its exact signature."""

import inspect
import subprocess
import sys

import pytest

import nnutils
from nnutils.contract import ALL_FUNCTIONS, CONTRACT


@pytest.mark.parametrize("name", sorted(ALL_FUNCTIONS))
def test_contract_function_is_exported_with_its_signature(name):
    fn = getattr(nnutils, name, None)
    assert callable(fn), f"nnutils.{name} is missing"
    assert str(inspect.signature(fn)) == ALL_FUNCTIONS[name]


@pytest.mark.parametrize("name", sorted(ALL_FUNCTIONS))
def test_contract_function_documents_its_shapes(name):
    doc = inspect.getdoc(getattr(nnutils, name)) or ""
    assert len(doc) > 40, f"nnutils.{name} needs a docstring with shapes and the formula"


def test_contract_lists_the_six_topics():
    assert list(CONTRACT) == ["perceptron", "backprop", "optimizers", "regularization",
                              "convnets", "rnns"]
    assert len(ALL_FUNCTIONS) == sum(len(t) for t in CONTRACT.values())


def test_importing_nnutils_loads_no_heavy_packages():
    code = ("import sys, nnutils; heavy = [m for m in ('matplotlib', 'sklearn', 'torch', "
            "'scipy', 'nbgrader', 'jupyter_client') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_reference_versions_call_no_other_graded_function():
    """While grading, the course's version of a failed function stands in for the student's
    (nnutils/grading/engine.py). That works only if it needs no other graded function, which
    are all switched off in the sandbox."""
    from nnutils.grading.engine import reference_dependencies

    graded = set(ALL_FUNCTIONS) | {"perceptron_cycle", "three_layer_convnet", "char_rnn_loss"}
    for name in sorted(graded):
        assert reference_dependencies(name, graded) == [], name


def test_dependency_finder_sees_calls(monkeypatch):
    from nnutils.grading.engine import reference_dependencies

    def composite(x):
        return nnutils.relu_forward(nnutils.affine_forward(x, 1, 2)[0])

    monkeypatch.setattr(nnutils, "composite", composite, raising=False)
    assert reference_dependencies("composite", {"affine_forward", "relu_forward",
                                                "tanh_forward"}) == ["affine_forward",
                                                                     "relu_forward"]
