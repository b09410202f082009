"""DeepMLP, plain and residual: gradients checked numerically and against PyTorch, training."""

import numpy as np
import pytest

from nnutils.data import load_digits
from nnutils.gradcheck import numerical_gradient, rel_error
from nnutils.residual import DeepMLP
from nnutils.train import train


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("n", [1, 5])
def test_deep_mlp_gradients_match_numerical_ones(residual, n):
    rng = np.random.default_rng(3)
    model = DeepMLP((6, 4), depth=3, width=5, residual=residual, rng=rng)
    X, y = rng.standard_normal((n, 6)), rng.integers(0, 4, n)
    _, grads = model.loss(X, y, reg=0.1)
    for name, param in model.params.items():
        def f(p, name=name):
            saved = model.params[name]
            model.params[name] = p
            try:
                return model.loss(X, y, reg=0.1)[0]
            finally:
                model.params[name] = saved
        assert rel_error(grads[name], numerical_gradient(f, param.copy())) < 1e-6, name


@pytest.mark.torch
def test_residual_forward_and_backward_agree_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    model = DeepMLP((6, 3), depth=4, width=5, residual=True, rng=rng)
    X, y = rng.standard_normal((7, 6)), rng.integers(0, 3, 7)
    loss, grads = model.loss(X, y)
    p = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    h = torch.relu(torch.tensor(X) @ p["W_in"] + p["b_in"])
    for k in range(1, 5):
        h = h + torch.relu(h @ p[f"W{k}"] + p[f"b{k}"])
    out = torch.nn.functional.cross_entropy(h @ p["W_out"] + p["b_out"], torch.tensor(y))
    out.backward()
    assert loss == pytest.approx(out.item(), rel=1e-12)
    for k, v in p.items():
        np.testing.assert_allclose(grads[k], v.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_glorot_plain_net_vanishes_and_the_residual_one_trains():
    d = load_digits()
    X, Xv = d.X_train, d.X_val
    plain = DeepMLP((64, 10), depth=30, width=32, block_scale=0.5 ** 0.5,
                    rng=np.random.default_rng(0))
    res = DeepMLP((64, 10), depth=30, width=32, residual=True,
                  block_scale=0.5 ** 0.5 / 30 ** 0.5, rng=np.random.default_rng(0))
    assert plain.gradient_norms(X[:256], d.y_train[:256])[0] < 1e-3
    assert res.gradient_norms(X[:256], d.y_train[:256])[0] > 1e-1
    for model in (plain, res):
        train(model, X, d.y_train, epochs=4, batch_size=64, optimizer="sgd", lr=0.02,
              progress=False)
    assert res.accuracy(Xv, d.y_val) > 0.7 > 0.2 > plain.accuracy(Xv, d.y_val)


def test_deep_mlp_checks_its_arguments():
    with pytest.raises(ValueError, match="sizes must be"):
        DeepMLP((64,))
    with pytest.raises(ValueError, match="depth"):
        DeepMLP((64, 10), depth=0)
    model = DeepMLP((4, 3), depth=2, width=3)
    with pytest.raises(ValueError, match="4 columns"):
        model.scores(np.zeros((2, 5)))
    assert model.scores(np.zeros((2, 4))).shape == (2, 3) and "plain" in repr(model)
