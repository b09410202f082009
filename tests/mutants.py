"""Typical wrong versions of every graded function, per assignment: the tests of the hidden
tests (tests/test_mutants.py grades each and checks that it fails exactly its own function).

Each mutant rewrites the instructor's solution of one function with text replacements
(old -> new, each of which must match), or replaces it whole.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    function: str           # the graded function it breaks (the only one that may fail)
    why: str                # the mistake, as a student would make it
    edits: tuple = ()       # ((old, new), ...) applied to the solution's source
    source: str = ""        # or the whole answer cell


MUTANTS: dict[str, list[Mutant]] = {
    "01_perceptron": [
        Mutant("perceptron_predict", "a point on the line predicted -1",
               ((">= 0, 1.0, -1.0", "> 0, 1.0, -1.0"),)),
        Mutant("perceptron_predict", "labels 1/0 instead of +1/-1",
               (("np.where(X @ w + b >= 0, 1.0, -1.0)", "(X @ w + b >= 0).astype(float)"),)),
        Mutant("perceptron_predict", "a column (N, 1) instead of (N,)",
               (("np.where(X @ w + b >= 0, 1.0, -1.0)",
                 "np.where(X @ w + b >= 0, 1.0, -1.0).reshape(-1, 1)"),)),
        Mutant("perceptron_predict", "the bias forgotten",
               (("np.where(X @ w + b >= 0", "np.where(X @ w >= 0"),)),
        Mutant("perceptron_update", "a point on the line is not a mistake",
               (("if y * (x @ w + b) <= 0:", "if y * (x @ w + b) < 0:"),)),
        Mutant("perceptron_update", "the learning rate forgotten",
               (("return w + lr * y * x, b + lr * y", "return w + y * x, b + y"),)),
        Mutant("perceptron_update", "the bias never updated",
               (("return w + lr * y * x, b + lr * y", "return w + lr * y * x, b"),)),
        Mutant("perceptron_update", "w changed in place",
               (("return w + lr * y * x, b + lr * y",
                 "w += lr * y * x\n        return w, b + lr * y"),)),
        Mutant("perceptron_train", "does not stop after an epoch without mistakes",
               (("        if count == 0:\n            break\n", ""),)),
        Mutant("perceptron_train", "starts from ones",
               (("w, b = np.zeros(X.shape[1]), 0.0", "w, b = np.ones(X.shape[1]), 0.0"),)),
        Mutant("perceptron_train", "a point on the line is not a mistake",
               (("if yi * (xi @ w + b) <= 0:", "if yi * (xi @ w + b) < 0:"),)),
        Mutant("perceptron_cycle", "the period counted from the start",
               (("return seen[state], epoch - seen[state]", "return seen[state], epoch"),)),
        Mutant("perceptron_cycle", "the starting state not remembered",
               (("seen = {(tuple(w.tolist()), b): 0}", "seen = {}"),)),
        Mutant("xor_network", "AND and OR swapped",
               (("b1 = np.array([-0.5, -1.5])", "b1 = np.array([-1.5, -0.5])"),)),
        Mutant("xor_network", "thresholds exactly on the inputs (scores of 0)",
               (("b1 = np.array([-0.5, -1.5])", "b1 = np.array([-1.0, -2.0])"),)),
    ],
}
