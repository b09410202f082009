"""The 2-D loss surfaces of lecture 4 and the optimizer paths across them (nnutils.surfaces)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnutils.gradcheck import numerical_gradient, rel_error
from nnutils.optim import adam_step, momentum_step, nesterov_step
from nnutils.surfaces import (
    DIVERGED,
    SURFACES,
    Beale,
    PathRunner,
    Quadratic,
    Rosenbrock,
    Saddle,
    diverged_at,
    least_squares,
    run_optimizer,
)

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")

# Every kind of surface, with settings other than the defaults too.
ALL_SURFACES = {
    **SURFACES,
    "rosenbrock a=0.5 b=10": Rosenbrock(a=0.5, b=10.0),
    "quadratic off-centre": Quadratic([[3.0, 1.0], [1.0, 2.0]], minimum=(0.5, -1.0), f_min=2.0),
    "least squares": least_squares(np.random.default_rng(3).normal(size=(30, 2)),
                                   np.random.default_rng(4).normal(size=30)),
}


def _points(seed, n=6, scale=1.5):
    return np.random.default_rng(seed).uniform(-scale, scale, size=(n, 2))


# --------------------------------------------------------------------------------------------
# Values and gradients
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ALL_SURFACES))
def test_surface_gradient_matches_numerical_gradient(name):
    surface = ALL_SURFACES[name]
    for w in _points(hash(name) % 1000):
        numeric = numerical_gradient(lambda v: float(surface.f(v)), w.copy(), h=1e-5)
        assert rel_error(surface.grad(w), numeric) < 1e-6, (name, w)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(ALL_SURFACES))
def test_surface_gradient_matches_torch_autograd(name):
    torch = pytest.importorskip("torch")
    surface = ALL_SURFACES[name]
    for w in _points(7):
        t = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        value = surface._f(t[0], t[1])          # the same formula, on torch scalars
        value.backward()
        np.testing.assert_allclose(surface.grad(w), t.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(float(surface.f(w)), value.item(), rtol=1e-12)


@pytest.mark.parametrize("name", list(ALL_SURFACES))
def test_surface_evaluates_a_grid_like_each_point(name):
    surface = ALL_SURFACES[name]
    grid = np.random.default_rng(1).uniform(-1, 1, size=(3, 4, 2))
    values, grads = surface.f(grid), surface.grad(grid)
    assert values.shape == (3, 4) and grads.shape == (3, 4, 2)
    for i in range(3):
        for j in range(4):
            assert values[i, j] == pytest.approx(float(surface.f(grid[i, j])), rel=1e-12)
            np.testing.assert_allclose(grads[i, j], surface.grad(grid[i, j]), rtol=1e-12)


@pytest.mark.parametrize("name", list(ALL_SURFACES))
def test_surface_is_lowest_with_zero_gradient_at_its_minimum(name):
    surface = ALL_SURFACES[name]
    assert float(surface.f(surface.minimum)) == pytest.approx(surface.f_min, abs=1e-9)
    np.testing.assert_allclose(surface.grad(surface.minimum), 0.0, atol=1e-8)
    others = _points(5, n=50, scale=3.0)
    assert np.all(surface.f(others) >= surface.f_min - 1e-9)


def test_saddle_has_zero_gradient_and_mixed_curvature_at_the_origin():
    s = Saddle()
    np.testing.assert_array_equal(s.grad(np.zeros(2)), [0.0, 0.0])
    h = 1e-3
    assert s.f(np.array([h, 0.0])) > 0 > s.f(np.array([0.0, h]))      # up along w1, down along w2
    np.testing.assert_allclose(s.f(np.array([[0.0, 1.0], [0.0, -1.0]])), [-0.25, -0.25])


def test_beale_matches_its_formula_and_minimum():
    w1, w2 = 1.3, -0.7
    expected = ((1.5 - w1 + w1 * w2) ** 2 + (2.25 - w1 + w1 * w2 ** 2) ** 2
                + (2.625 - w1 + w1 * w2 ** 3) ** 2)
    assert float(Beale().f(np.array([w1, w2]))) == pytest.approx(expected, rel=1e-14)
    assert float(Beale().f(np.array([3.0, 0.5]))) == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_surface_keeps_float_dtype_and_leaves_input_alone(dtype):
    w = np.array([[0.3, -0.2], [1.0, 0.5]], dtype=dtype)
    before = w.copy()
    for surface in SURFACES.values():
        assert surface.f(w).dtype == dtype
        assert surface.grad(w).dtype == dtype
    np.testing.assert_array_equal(w, before)
    assert SURFACES["saddle"].f([[1, 2]]).dtype == np.float64          # ints become float64


def test_quadratic_rotated_has_the_requested_eigenvalues_and_condition_number():
    q = Quadratic.rotated(0.3, 2.0, 50.0)
    np.testing.assert_allclose(q.eigenvalues, [2.0, 50.0])
    assert q.condition_number == pytest.approx(25.0)
    direction = np.array([math.cos(0.3), math.sin(0.3)])
    np.testing.assert_allclose(q.hessian @ direction, 2.0 * direction)


def test_least_squares_is_half_the_mean_squared_error_with_the_lstsq_minimum():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)) * [1.0, 100.0], rng.normal(size=40)
    surface = least_squares(X, y)
    expected_min = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(surface.minimum, expected_min, rtol=1e-10)
    for w in rng.normal(size=(5, 2)):
        assert float(surface.f(w)) == pytest.approx(0.5 * np.mean((X @ w - y) ** 2), rel=1e-10)
        np.testing.assert_allclose(surface.grad(w), X.T @ (X @ w - y) / 40, rtol=1e-9)
    assert surface.condition_number > 1e3          # the feature scales differ by 100


def test_grid_is_computed_once_and_read_only_and_levels_increase():
    s = SURFACES["rosenbrock"]
    W1, W2, F = s.grid(50)
    assert s.grid(50)[2] is F
    assert W1.shape == W2.shape == F.shape == (50, 50)
    assert W1[0, 0] == s.bounds[0] and W2[-1, 0] == s.bounds[3]
    with pytest.raises(ValueError):
        F[0, 0] = 1.0
    levels = s.levels(12)
    assert len(levels) == 12 and np.all(np.diff(levels) > 0) and levels[0] > s.f_min


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------

# A learning rate at which each rule settles in the bowl ½(w1² + 20 w2²) within 300 steps.
QUADRATIC_LR = {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.5,
                "rmsprop": 0.01, "adam": 0.05}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_path_decreases_the_loss_on_the_convex_quadratic(name):
    bowl = SURFACES["quadratic"]
    path = run_optimizer(name, bowl, None, QUADRATIC_LR[name], 300)
    assert path.shape == (301, 2) and diverged_at(path) is None
    gaps = bowl.f(path) - bowl.f_min
    assert gaps[-1] < 1e-2 * gaps[0]
    assert np.linalg.norm(path[-1]) < 0.1 * np.linalg.norm(path[0])
    # on average over windows of 20 steps the loss goes down (momentum may oscillate inside)
    window_means = gaps[:300].reshape(15, 20).mean(axis=1)
    assert np.all(np.diff(window_means) < 0)


@settings(max_examples=40, deadline=None)
@given(angle=st.floats(0, math.pi), small=st.floats(0.1, 2.0), ratio=st.floats(1.0, 100.0),
       fraction=st.floats(0.05, 0.99), start=st.tuples(st.floats(-3, 3), st.floats(-3, 3)))
def test_sgd_below_one_over_the_largest_curvature_never_increases_a_quadratic(
        angle, small, ratio, fraction, start):
    bowl = Quadratic.rotated(angle, small, small * ratio)
    lr = fraction / bowl.eigenvalues[1]
    values = bowl.f(run_optimizer("sgd", bowl, start, lr, 40))
    assert np.all(np.diff(values) <= 1e-12 * (1 + values[:-1]))


def test_adam_on_rosenbrock_moves_towards_one_one():
    rosen = SURFACES["rosenbrock"]
    path = run_optimizer("adam", rosen, (-1.2, 1.0), 0.05, 1000)
    target = np.array([1.0, 1.0])
    distances = np.linalg.norm(path - target, axis=1)
    assert diverged_at(path) is None
    assert distances[-1] < 0.25 * distances[0]
    assert rosen.f(path[-1]) < 0.01 * rosen.f(path[0])


TORCH_OPTIMIZERS = {            # our rule -> (torch.optim class name, its arguments)
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {"eps": 1e-8}),
    "rmsprop": ("RMSprop", {"alpha": 0.9, "eps": 1e-8}),
    "adam": ("Adam", {"betas": (0.9, 0.999), "eps": 1e-8}),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_path_matches_torch_optim_on_rosenbrock(name):
    torch = pytest.importorskip("torch")
    rosen = SURFACES["rosenbrock"]
    lr = 1e-3 if name in ("sgd", "momentum", "nesterov") else 1e-2
    ours = run_optimizer(name, rosen, (-1.2, 1.0), lr, 25)
    w = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    cls, kwargs = TORCH_OPTIMIZERS[name]
    optimizer = getattr(torch.optim, cls)([w], lr=lr, **kwargs)
    theirs = [w.detach().numpy().copy()]
    for _ in range(25):
        optimizer.zero_grad()
        rosen._f(w[0], w[1]).backward()
        optimizer.step()
        theirs.append(w.detach().numpy().copy())
    np.testing.assert_allclose(ours, np.array(theirs), rtol=1e-9, atol=1e-12)


def test_path_starts_at_start_and_follows_the_contract_step_functions():
    s = SURFACES["rosenbrock"]
    start = np.array([-0.5, 0.5])
    kept = start.copy()
    lr, beta = 1e-3, 0.8
    for name, step in (("momentum", momentum_step), ("nesterov", nesterov_step)):
        path = run_optimizer(name, s, start, lr, 3, beta=beta)
        w, v = start.copy(), np.zeros(2)
        np.testing.assert_array_equal(path[0], start)
        for t in range(1, 4):
            w, v = step(w, s.grad(w), v, lr, beta)
            np.testing.assert_allclose(path[t], w, rtol=1e-15)
    path = run_optimizer("adam", s, start, 0.01, 2, beta1=0.5)
    w, m, v = start.copy(), np.zeros(2), np.zeros(2)
    for t in (1, 2):                                     # Adam's t counts from 1
        w, m, v = adam_step(w, s.grad(w), m, v, t, 0.01, beta1=0.5)
        np.testing.assert_allclose(path[t], w, rtol=1e-15)
    np.testing.assert_array_equal(start, kept)


def test_adams_first_step_has_length_lr_in_every_coordinate():
    path = run_optimizer("adam", SURFACES["beale"], (0.5, 1.5), 0.1, 1)
    np.testing.assert_allclose(np.abs(path[1] - path[0]), [0.1, 0.1], rtol=1e-6)


def test_start_none_uses_the_surfaces_start_and_zero_steps_gives_one_row():
    s = SURFACES["saddle"]
    path = run_optimizer("sgd", s, None, 0.1, 0)
    assert path.shape == (1, 2)
    np.testing.assert_array_equal(path[0], s.start)


def test_diverging_path_is_cut_with_nan_and_raises_no_warning():
    bowl = SURFACES["quadratic"]
    path = run_optimizer("sgd", bowl, None, 0.2, 200)     # factor 1 − 0.2·20 = −3 per step
    k = diverged_at(path)
    assert k is not None and 5 < k < 200
    assert np.all(np.isnan(path[k:])) and np.all(np.isfinite(path[:k]))
    assert np.abs(path[k - 1]).max() < DIVERGED
    rosen = run_optimizer("momentum", SURFACES["rosenbrock"], None, 0.05, 100)
    assert diverged_at(rosen) is not None             # overflow in the gradient, caught


def test_path_runner_extends_to_the_same_numbers_as_one_long_run():
    s = SURFACES["beale"]
    runner = PathRunner("adam", s, None, 0.01, beta1=0.8)
    short = runner.extend(30)
    longer = runner.extend(120)
    again = runner.extend(50)
    full = run_optimizer("adam", s, None, 0.01, 120, beta1=0.8)
    np.testing.assert_array_equal(longer, full)
    np.testing.assert_array_equal(short, full[:31])
    np.testing.assert_array_equal(again, full[:51])


def test_diverged_at_is_none_for_a_finite_path():
    assert diverged_at(np.zeros((4, 2))) is None
    assert diverged_at([[0.0, 0.0], [np.inf, 0.0], [np.nan, np.nan]]) == 1


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------

def test_surface_rejects_points_without_two_coordinates():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        SURFACES["quadratic"].f(np.zeros(3))
    with pytest.raises(TypeError, match="real numbers"):
        SURFACES["quadratic"].grad(np.array(["a", "b"]))


def test_quadratic_rejects_asymmetric_and_indefinite_hessians():
    with pytest.raises(ValueError, match="symmetric"):
        Quadratic([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="positive definite"):
        Quadratic([[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        Quadratic(np.eye(3))


def test_least_squares_rejects_wrong_shapes_and_collinear_features():
    with pytest.raises(ValueError, match=r"X must have shape \(\?, 2\) \(N samples"):
        least_squares(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match=r"\(5,\)"):
        least_squares(np.ones((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="proportional"):
        least_squares(np.outer(np.arange(1, 6), [1.0, 2.0]), np.zeros(5))


def test_run_optimizer_rejects_bad_arguments_with_clear_messages():
    s = SURFACES["quadratic"]
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        run_optimizer("lbfgs", s, None, 0.1, 5)
    with pytest.raises(TypeError, match="takes no hyperparameter beta"):
        run_optimizer("adam", s, None, 0.1, 5, beta=0.9)
    with pytest.raises(TypeError, match="must be an nnutils.surfaces.Surface"):
        run_optimizer("sgd", lambda w: w, None, 0.1, 5)
    with pytest.raises(ValueError, match=r"start must have shape \(2,\)"):
        run_optimizer("sgd", s, [1.0, 2.0, 3.0], 0.1, 5)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        run_optimizer("sgd", s, None, -0.1, 5)
    with pytest.raises(ValueError, match="beta must be < 1"):
        run_optimizer("momentum", s, None, 0.1, 5, beta=1.0)
    with pytest.raises(TypeError, match="steps must be an integer"):
        run_optimizer("sgd", s, None, 0.1, 2.5)


def test_surface_constructor_rejects_bad_bounds():
    with pytest.raises(ValueError, match="w1_low < w1_high"):
        Saddle(bounds=(1.0, -1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="bounds must have shape"):
        Saddle(bounds=(0.0, 1.0))
