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
    "02_backprop": [
        Mutant("affine_forward", "the bias forgotten", (("out = x @ w + b", "out = x @ w"),)),
        Mutant("affine_backward", "a missing transpose in dx",
               (("dx = dout @ w.T", "dx = dout @ w"),)),
        Mutant("affine_backward", "db averaged instead of summed",
               (("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"),)),
        Mutant("affine_backward", "dw divided by N",
               (("dw = x.T @ dout", "dw = x.T @ dout / x.shape[0]"),)),
        Mutant("relu_forward", "a leaky ReLU",
               (("np.maximum(x, 0), x", "np.maximum(x, 0.01 * x), x"),)),
        Mutant("relu_backward", "dout forgotten",
               (("return dout * (x > 0)", "return 1.0 * (x > 0)"),)),
        Mutant("sigmoid_forward", "the sign of the exponent flipped",
               source="def sigmoid_forward(x):\n"
                      "    out = 1 / (1 + np.exp(x))\n    return out, out"),
        Mutant("sigmoid_backward", "(1 - s) forgotten",
               (("return dout * s * (1 - s)", "return dout * s"),)),
        Mutant("tanh_forward", "tanh(x/2) written as 2·sigmoid(x) − 1",
               (("out = np.tanh(x)", "out = 2 / (1 + np.exp(-x)) - 1"),)),
        Mutant("tanh_backward", "the square forgotten in 1 − tanh²",
               (("return dout * (1 - t ** 2)", "return dout * (1 - t)"),)),
        Mutant("softmax_cross_entropy", "unstable: no shift by the row maximum",
               (("shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores"),)),
        Mutant("softmax_cross_entropy", "the gradient not divided by N",
               (("return loss, dscores / n", "return loss, dscores"),)),
        Mutant("softmax_cross_entropy", "the loss summed instead of averaged",
               (("loss = -log_probs[np.arange(n), y].mean()",
                 "loss = -log_probs[np.arange(n), y].sum()"),)),
        Mutant("squared_loss", "the 1/2 forgotten",
               (("return 0.5 * np.sum(diff ** 2) / n", "return np.sum(diff ** 2) / n"),)),
        Mutant("squared_loss", "not divided by N",
               (("return 0.5 * np.sum(diff ** 2) / n, diff / n",
                 "return 0.5 * np.sum(diff ** 2), diff"),)),
        Mutant("numerical_gradient", "a forward difference instead of a centred one",
               (("x[i] = old - h", "x[i] = old"),
                ("grad[i] = (plus - minus) / (2 * h)", "grad[i] = (plus - minus) / h"))),
        Mutant("numerical_gradient", "x left perturbed",
               (("        x[i] = old\n        grad[i]", "        grad[i]"),)),
        Mutant("rel_error", "the mean instead of the max", (("np.max(", "np.mean("),)),
        Mutant("rel_error", "max(|a|, |b|) instead of |a| + |b|",
               (("np.abs(a) + np.abs(b)", "np.maximum(np.abs(a), np.abs(b))"),)),
        Mutant("two_layer_net", "the regularization gradient forgotten",
               (('"W1": dW1 + reg * W1', '"W1": dW1'), ('"W2": dW2 + reg * W2', '"W2": dW2'))),
        Mutant("two_layer_net", "the 1/2 of the penalty forgotten",
               (("loss += 0.5 * reg", "loss += reg"),)),
        Mutant("two_layer_net", "the biases regularized too",
               (('"b1": db1,', '"b1": db1 + reg * b1,'),)),
        Mutant("train_two_layer_net", "a learning rate too small and too few epochs",
               (("lr, batch, epochs, reg = 0.1, 32, 15, 1e-4",
                 "lr, batch, epochs, reg = 0.001, 32, 2, 1e-4"),)),
    ],
}
