"""Regenerate examples/submissions/ from the released student notebooks.

For assignment 1, eight students show every kind of submission the grader meets (right, wrong,
crashing, blank, broken, hostile); for each later assignment, three: right (ada), two typical
slips (ben) and the untouched student version (cy).

Each example student fills the answer cells of the student version with their own code (right,
wrong, crashing, or hostile), so that the examples always match the current release. Run after
`nncourse release` changes an assignment:

    python examples/make_submissions.py
"""

import shutil
from pathlib import Path

import nbformat

from nnutils.grading.notebook import fill_answers, solution_answers

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "examples" / "submissions"

PREDICT = '''def perceptron_predict(X, w, b):
    scores = X.dot(w) + b
    return np.where(scores >= 0, 1.0, -1.0)
'''
UPDATE = '''def perceptron_update(w, b, x, y, lr=1.0):
    if y * (np.dot(w, x) + b) <= 0:
        w = w + lr * y * x
        b = b + lr * y
    return w, b
'''
TRAIN = '''def perceptron_train(X, y, lr=1.0, epochs=100):
    w = np.zeros(X.shape[1])
    b = 0.0
    mistakes = []
    for epoch in range(epochs):
        wrong = 0
        for i in range(len(X)):
            if y[i] * (X[i] @ w + b) <= 0:
                w, b = perceptron_update(w, b, X[i], y[i], lr)
                wrong += 1
        mistakes.append(wrong)
        if wrong == 0:
            break
    return w, b, mistakes
'''
CYCLE = '''def perceptron_cycle(X, y, lr=1.0, max_epochs=1000):
    w, b = np.zeros(X.shape[1]), 0.0
    history = [(tuple(w), b)]
    for epoch in range(1, max_epochs + 1):
        wrong = 0
        for xi, yi in zip(X, y):
            if yi * (xi @ w + b) <= 0:
                w, b = w + lr * yi * xi, b + lr * yi
                wrong += 1
        if wrong == 0:
            return None
        state = (tuple(w), b)
        if state in history:
            first = history.index(state)
            return first, epoch - first
        history.append(state)
    raise RuntimeError("no cycle found")
'''
XOR = '''def xor_network():
    # hidden unit 1 is OR, hidden unit 2 is AND; the output is OR and not AND
    W1 = np.array([[1.0, 1.0], [1.0, 1.0]])
    b1 = np.array([-0.5, -1.5])
    W2 = np.array([[1.0], [-1.0]])
    b2 = np.array([-1.0])
    return W1, b1, W2, b2
'''
CORRECT = {"perceptron_predict": PREDICT, "perceptron_update": UPDATE,
           "perceptron_train": TRAIN, "perceptron_cycle": CYCLE, "xor_network": XOR}

STUDENTS = {
    # everything right, in a different style from the instructor's solution
    "alice": dict(CORRECT, explain_hidden_layer=(
        "(0,0) gives (-1,-1), (0,1) and (1,0) both give (+1,-1), (1,1) gives (+1,+1). The two "
        "positive inputs collapse onto one hidden point, and a line separates it from the other "
        "two, which no line could do in the input plane.")),
    # two typical slips: a point on the line predicted -1, and the cycle length off
    "bob": dict(CORRECT,
                perceptron_predict=PREDICT.replace(">= 0", "> 0"),
                perceptron_cycle=CYCLE.replace("return first, epoch - first",
                                               "return first, epoch")),
    # an endless loop in one function and a kernel crash in another
    "carol": dict(CORRECT,
                  perceptron_train=TRAIN.replace("for epoch in range(epochs):",
                                                 "epoch = 0\n    while epoch < epochs:"),
                  perceptron_cycle="import os\n\ndef perceptron_cycle(X, y, lr=1.0, "
                                   "max_epochs=1000):\n    os._exit(1)\n"),
    # the unmodified student version
    "dave": {},
    # calls the course library instead of writing two functions
    "grace": dict(CORRECT,
                  perceptron_predict="from nnutils.perceptron import perceptron_predict\n",
                  perceptron_update="import nnutils.perceptron\n\n"
                                    "def perceptron_update(w, b, x, y, lr=1.0):\n"
                                    "    return nnutils.perceptron.perceptron_update(w, b, x, y, "
                                    "lr)\n"),
    # tries to cheat: patches numpy's comparisons, silences tracebacks, reads the solutions
    "mallory": dict(
        CORRECT,
        perceptron_predict=(
            "import glob\nnp.allclose = lambda *a, **k: True\n"
            "np.isclose = lambda a, b, **k: np.ones(np.broadcast(a, b).shape, bool)\n"
            "get_ipython().showtraceback = lambda *a, **k: None\n"
            "leaked = glob.glob('/**/solutions/**/*.ipynb', recursive=True)\n"
            "def perceptron_predict(X, w, b):\n    return np.ones(len(X))\n"),
        xor_network="def xor_network():\n    big = np.ones((2**16, 2**16))  # 32 GB\n"
                    "    return big, big, big, big\n"),
}


# Later assignments: three students each, built from the instructor's solution with typical
# slips ({function: [(old, new), ...]}), plus the unmodified student version.
SLIPS = {
    "02_backprop": {
        "ben": {"affine_backward": [("dx = dout @ w.T", "dx = dout @ w")],
                "softmax_cross_entropy": [("shifted = scores - scores.max(axis=1, keepdims=True)",
                                           "shifted = scores")]},
    },
    "03_optimizers": {
        "ben": {"adam_step": [("m_hat = m / (1 - beta1 ** t)", "m_hat = m"),
                              ("v_hat = v / (1 - beta2 ** t)", "v_hat = v")],
                "adagrad_step": [("cache = cache + dw ** 2", "cache = dw ** 2")]},
    },
    "05_convnets": {
        "ben": {"conv2d_backward": [("dout.sum(axis=(0, 2, 3))", "dout.mean(axis=(0, 2, 3))")],
                "maxpool2d_backward": [
                    ("np.put_along_axis(mask, window.argmax(axis=2)[..., None], 1.0, axis=2)",
                     "mask += 1.0 / window.shape[2]")]},
    },
    "06_rnns": {
        "ben": {"rnn_backward": [("rnn_step_backward(dh[:, t] + carry, cache[t])",
                                  "rnn_step_backward(dh[:, t], cache[t])")],
                "clip_gradients": [("scale = max_norm / norm if norm > max_norm else 1.0",
                                    "scale = max_norm / norm")]},
    },
    "04_regularization": {
        "ben": {"dropout_forward": [("mask = (rng.random(x.shape) >= p) / (1 - p)",
                                     "mask = (rng.random(x.shape) >= p) * 1.0")],
                "early_stopping": [("if val_losses[epoch] < val_losses[best]:",
                                    "if val_losses[epoch] <= val_losses[best]:")]},
    },
}


def slipped(answers: dict, slips: dict) -> dict:
    out = dict(answers)
    for function, edits in slips.items():
        for old, new in edits:
            assert old in out[function], f"{function}: {old!r} is not in the solution any more"
            out[function] = out[function].replace(old, new)
    return out


def later_assignments() -> int:
    written = 0
    for name, students in SLIPS.items():
        target = OUT / name
        if target.exists():
            shutil.rmtree(target)
        for source in sorted((ROOT / "solutions" / name).glob("*.ipynb")):
            release = nbformat.read(ROOT / "assignments" / name / source.name, as_version=4)
            good = solution_answers(nbformat.read(source, as_version=4))
            cases = {"ada": good, "cy": {}, **{s: slipped(good, e) for s, e in students.items()}}
            for student, answers in cases.items():
                (target / student).mkdir(parents=True, exist_ok=True)
                nbformat.write(fill(release, answers), target / student / source.name)
                written += 1
    return written


def fill(release: nbformat.NotebookNode, answers: dict) -> nbformat.NotebookNode:
    return fill_answers(release, {k: v.rstrip("\n") for k, v in answers.items()})


def main() -> None:
    release = nbformat.read(ROOT / "assignments" / "01_perceptron" / "perceptron.ipynb",
                            as_version=4)
    target = OUT / "01_perceptron"
    if target.exists():
        shutil.rmtree(target)
    for student, answers in STUDENTS.items():
        (target / student).mkdir(parents=True)
        nbformat.write(fill(release, answers), target / student / "perceptron.ipynb")
    # frank submits in nbgrader's layout, deletes one test cell and empties another
    nb = fill(release, CORRECT)
    nb.cells = [c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") != "test_perceptron_train"]
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_xor_network":
            cell.source = "pass"
    (target / "frank" / "01_perceptron").mkdir(parents=True)
    nbformat.write(nb, target / "frank" / "01_perceptron" / "perceptron.ipynb")
    # erin's upload was cut off half way: not valid JSON
    text = nbformat.writes(fill(release, CORRECT))
    (target / "erin").mkdir()
    (target / "erin" / "perceptron.ipynb").write_text(text[: len(text) // 2])
    print(f"wrote {len(STUDENTS) + 2} submissions in {target}")
    print(f"wrote {later_assignments()} submissions for {', '.join(SLIPS)}")


if __name__ == "__main__":
    main()
