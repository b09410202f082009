"""LastStepModel: gradients (numerical, both cells, both losses), the long-range race."""

import numpy as np
import pytest

from nnutils.data import make_adding_problem, make_parity_over_gap
from nnutils.gradcheck import numerical_gradient, rel_error
from nnutils.sequence_models import LastStepModel
from nnutils.train import train


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("loss, outputs", [("squared", 1), ("squared", 2), ("softmax", 3)])
@pytest.mark.parametrize("n", [1, 4])
def test_last_step_model_gradients_match_numerical_ones(cell, loss, outputs, n):
    rng = np.random.default_rng(5)
    model = LastStepModel(3, 4, outputs, cell=cell, loss=loss, rng=rng)
    X = rng.standard_normal((n, 5, 3))
    y = rng.integers(0, outputs, n) if loss == "softmax" else rng.standard_normal((n, outputs))
    _, grads = model.loss(X, y, reg=0.05)
    for name, param in model.params.items():
        def f(p, name=name):
            saved = model.params[name]
            model.params[name] = p
            try:
                return model.loss(X, y, reg=0.05)[0]
            finally:
                model.params[name] = saved
        assert rel_error(grads[name], numerical_gradient(f, param.copy())) < 1e-6, name


def test_input_gradient_norms_are_the_input_gradient_per_step():
    rng = np.random.default_rng(0)
    model = LastStepModel(2, 3, 1, cell="rnn", rng=rng)
    X, y = rng.standard_normal((2, 4, 2)), rng.standard_normal(2)
    norms = model.input_gradient_norms(X, y)
    numerical = numerical_gradient(lambda x: model.loss(x, y)[0], X.copy())
    np.testing.assert_allclose(norms, np.linalg.norm(numerical, axis=(0, 2)), rtol=1e-6)


def test_lstm_learns_the_adding_problem_and_the_rnn_does_not():
    rng = np.random.default_rng(0)
    X, y = make_adding_problem(1000, 30, rng)
    Xv, yv = make_adding_problem(300, 30, rng)
    losses = {}
    for cell in ("rnn", "lstm"):
        model = LastStepModel(2, 16, 1, cell=cell, rng=np.random.default_rng(0))
        losses[cell] = train(model, X, y, Xv, yv, epochs=15, batch_size=20, lr=1e-2, clip=1.0,
                             progress=False).val_loss[-1]
    assert losses["lstm"] < 0.01 < 0.07 < losses["rnn"]


def test_softmax_model_reports_accuracy_on_parity():
    X, y = make_parity_over_gap(50, 6, np.random.default_rng(0))
    model = LastStepModel(1, 4, 2, cell="lstm", loss="softmax")
    loss, acc = model.evaluate(X, y)
    assert loss > 0 and 0 <= acc <= 1 and model.predict(X).shape == (50,)


def test_last_step_model_checks_its_arguments():
    with pytest.raises(ValueError, match="cell"):
        LastStepModel(2, 3, 1, cell="gru")
    with pytest.raises(ValueError, match="outputs >= 2"):
        LastStepModel(2, 3, 1, loss="softmax")
    model = LastStepModel(2, 3, 1)
    with pytest.raises(ValueError, match="2 features per step"):
        model.predict(np.zeros((1, 4, 3)))
    with pytest.raises(ValueError, match=r"y must have shape \(1,\)"):
        model.loss(np.zeros((1, 4, 2)), np.zeros((1, 3)))
