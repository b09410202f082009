"""Red team: earning points without writing the function, by calling code the sandbox holds.

Each shortcut is a submission of a real assignment, correct everywhere but in one graded
function, which calls a private helper, a naive variant, the grading checks' own helpers or a
library that trains the model (scikit-learn). Graded together with ``grade_all``, each must earn
nothing for that function and keep every other function's points. Each also has a positive
control: the same code, run in a plain Python process with the full library, gives the right
answer, so a test cannot pass because the shortcut itself was broken.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from nnutils.grading.notebook import fill_answers, load_assignment, solution_answers
from nnutils.grading.runner import grade_all
from nnutils.grading.sandbox import detect_isolation

ROOT = Path(__file__).resolve().parent.parent

if not detect_isolation().full and (os.environ.get("CI")
                                    or os.environ.get("NNCOURSE_REQUIRE_ISOLATION")):
    raise RuntimeError(f"full isolation is required here: {detect_isolation().reason}")
pytestmark = pytest.mark.skipif(
    not detect_isolation().full,
    reason=f"needs bubblewrap, root and control groups: {detect_isolation().reason}")

# (name, assignment, graded function, the shortcut's code, a control run with the full library
# that must print "OK")
SHORTCUTS = [
    ("perceptron_epoch", "01_perceptron", "perceptron_train", """
def perceptron_train(X, y, lr=1.0, epochs=100):
    from nnutils.perceptron import _epoch
    w, b, mistakes = np.zeros(np.shape(X)[1]), 0.0, []
    for _ in range(epochs):
        w, b, count = _epoch(np.asarray(X, float), np.asarray(y, float), w, b, lr)
        mistakes.append(count)
        if count == 0:
            break
    return w, b, mistakes
""", """
from nnutils import perceptron_train as ref
from nnutils.data import make_linearly_separable
X, y, _, _ = make_linearly_separable(40, np.random.default_rng(3))
got, want = perceptron_train(X, y), ref(X, y)
assert np.allclose(got[0], want[0]) and got[1] == want[1] and got[2] == want[2]
"""),
    ("checks_numerical", "02_backprop", "numerical_gradient", """
def numerical_gradient(f, x, h=1e-05):
    from nnutils.grading.checks import _numerical
    return _numerical(f, np.array(x, dtype=float), np.ones(()), h)
""", """
from nnutils import numerical_gradient as ref
x = np.random.default_rng(0).standard_normal((3, 4))
f = lambda v: float(np.sum(np.sin(v) * v))
assert np.allclose(numerical_gradient(f, x), ref(f, x), rtol=1e-6)
"""),
    ("checks_relative_error", "02_backprop", "rel_error", """
def rel_error(a, b):
    from nnutils.grading import relative_error
    return relative_error(a, b)
""", """
from nnutils import rel_error as ref
rng = np.random.default_rng(0)
a, b = rng.standard_normal(5), rng.standard_normal(5)
assert np.isclose(rel_error(a, b), ref(a, b))
"""),
    ("private_softmax_loss", "02_backprop", "softmax_cross_entropy", """
def softmax_cross_entropy(scores, y):
    from nnutils.losses import _softmax_cross_entropy
    return _softmax_cross_entropy(np.asarray(scores, float), np.asarray(y))
""", """
from nnutils import softmax_cross_entropy as ref
s, y = np.random.default_rng(0).standard_normal((4, 3)), np.array([0, 2, 1, 1])
(l1, d1), (l2, d2) = softmax_cross_entropy(s, y), ref(s, y)
assert np.isclose(l1, l2) and np.allclose(d1, d2)
"""),
    ("optim_adam", "03_optimizers", "adam_step", """
def adam_step(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-08):
    from nnutils.optim import _adam
    return _adam(w, dw, m, v, t, lr, beta1, beta2, eps)
""", """
from nnutils import adam_step as ref
a = [np.random.default_rng(i).standard_normal(4) for i in range(3)]
args = (a[0], a[1], a[2], np.abs(a[2]), 3, 0.01)
assert all(np.allclose(p, q) for p, q in zip(adam_step(*args), ref(*args)))
"""),
    ("optim_sgd", "03_optimizers", "sgd_step", """
def sgd_step(w, dw, lr):
    from nnutils.optim import _sgd
    return _sgd(w, dw, lr)
""", """
from nnutils import sgd_step as ref
w, dw = np.ones(3), np.arange(3.0)
assert np.allclose(sgd_step(w, dw, 0.1), ref(w, dw, 0.1))
"""),
    ("sklearn_mlp", "04_regularization", "train_regularized", """
def train_regularized(X, y, X_val, y_val, seed=0):
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(256,), alpha=20.0, max_iter=400,
                        random_state=seed).fit(X, y)
    return {"W1": clf.coefs_[0], "b1": clf.intercepts_[0],
            "W2": clf.coefs_[1], "b2": clf.intercepts_[1]}
""", """
from nnutils.data import corrupt_labels, load_digits
digits = load_digits()
pick = np.random.default_rng(42).choice(len(digits.X_train), size=300, replace=False)
y = corrupt_labels(digits.y_train[pick], 0.3, 10, np.random.default_rng(42))
p = train_regularized(digits.X_train[pick], y, digits.X_val, digits.y_val)
h = np.maximum(digits.X_val @ p["W1"] + p["b1"], 0)
assert np.mean((h @ p["W2"] + p["b2"]).argmax(axis=1) == digits.y_val) >= 0.85
"""),
    ("conv_naive", "05_convnets", "conv2d_forward", """
def conv2d_forward(x, w, b, stride=1, pad=0):
    from nnutils.conv import conv2d_forward_naive
    return conv2d_forward_naive(x, w, b, stride, pad)
""", """
from nnutils import conv2d_forward as ref
rng = np.random.default_rng(0)
x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), np.zeros(4)
assert np.allclose(conv2d_forward(x, w, b, 2, 1)[0], ref(x, w, b, 2, 1)[0])
"""),
    ("pool_naive", "05_convnets", "maxpool2d_forward", """
def maxpool2d_forward(x, size=2, stride=2):
    from nnutils.conv import maxpool2d_forward_naive
    return maxpool2d_forward_naive(x, size, stride)
""", """
from nnutils import maxpool2d_forward as ref
x = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
assert np.allclose(maxpool2d_forward(x)[0], ref(x)[0])
"""),
]


def _answer_id(anb, function: str) -> str:
    for cell in anb.source.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and f"def {function}(" in cell.source:
            return meta["grade_id"]
    raise LookupError(function)


@pytest.mark.parametrize("name, assignment, function, code, control", SHORTCUTS,
                         ids=[s[0] for s in SHORTCUTS])
def test_shortcut_works_with_the_full_library(name, assignment, function, code, control):
    """Positive control: outside the sandbox, the shortcut computes the right answer."""
    script = "import numpy as np\n" + textwrap.dedent(code) + textwrap.dedent(control) + \
        "print('OK')\n"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert run.stdout.strip().endswith("OK"), run.stderr[-2000:]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every shortcut, and a correct submission, graded per assignment in one run each."""
    results = {}
    for assignment in sorted({s[1] for s in SHORTCUTS}):
        tmp = tmp_path_factory.mktemp(assignment)
        loaded = load_assignment(ROOT, assignment)
        for anb in loaded.notebooks:
            good = solution_answers(anb.source)
            subs = [("correct", None, None)] + [(s[0], s[2], s[3]) for s in SHORTCUTS
                                                if s[1] == assignment]
            for student, function, code in subs:
                answers = dict(good)
                if function in anb.graded_functions:
                    answers[_answer_id(anb, function)] = textwrap.dedent(code).strip() + "\n"
                folder = tmp / "subs" / student
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(fill_answers(anb.release, answers), folder / f"{anb.name}.ipynb")
        rows = grade_all(ROOT, assignment, tmp / "subs", tmp / "out", jobs=2, progress=False)
        results[assignment] = ({r.student: r for r in rows}, loaded)
    return results


@pytest.mark.parametrize("name, assignment, function, code, control", SHORTCUTS,
                         ids=[s[0] for s in SHORTCUTS])
def test_shortcut_earns_nothing(graded, name, assignment, function, code, control):
    rows, loaded = graded[assignment]
    assert rows["correct"].score == loaded.max_score
    tests = [t for nb in rows[name].notebooks for t in nb.tests]
    own = [t for t in tests if t.function == function]
    assert own and all(not t.passed and t.points == 0 for t in own), \
        [t.message for t in own]
    assert any("switched off" in t.message or "ImportError" in t.message for t in own), \
        [t.message for t in own]
    # a forward's shortcut may cost its backward too: the backward is judged on the forward's
    # cache (README, "One mistake is counted once": the one limit that remains)
    partner = function.replace("_forward", "_backward")
    others = [t.grade_id for t in tests if t.function not in (function, partner)
              and not t.passed]
    assert not others, others
