"""Tests of nnutils.optim (the update rules and Optimizer) and nnutils.schedules."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnutils.optim import (
    OPTIMIZERS,
    Optimizer,
    adagrad_step,
    adam_step,
    momentum_step,
    nesterov_step,
    rmsprop_step,
    sgd_step,
)
from nnutils.schedules import (
    SCHEDULES,
    constant,
    exponential_decay,
    inverse_time_decay,
    make_schedule,
    step_decay,
)

# ---- the step functions, one worked example each --------------------------------------------

W = np.array([1.0, -2.0, 0.5])
DW = np.array([0.5, -1.0, 2.0])
S = np.array([0.2, 0.1, -0.3])           # a previous velocity / cache / moment
S2 = np.array([0.04, 0.5, 1.0])          # a non-negative cache or second moment


def test_sgd_step_formula():
    np.testing.assert_allclose(sgd_step(W, DW, 0.1), [0.95, -1.9, 0.3])


def test_momentum_step_formula():
    w, v = momentum_step(W, DW, S, 0.1, beta=0.9)
    v_expected = 0.9 * S - 0.1 * DW
    np.testing.assert_allclose(v, v_expected)
    np.testing.assert_allclose(w, W + v_expected)


def test_nesterov_step_formula():
    w, v = nesterov_step(W, DW, S, 0.1, beta=0.8)
    v_new = 0.8 * S - 0.1 * DW
    np.testing.assert_allclose(v, v_new)
    np.testing.assert_allclose(w, W - 0.8 * S + 1.8 * v_new)


def test_adagrad_step_formula():
    w, cache = adagrad_step(W, DW, S2, 0.1, eps=1e-3)
    c = S2 + DW ** 2
    np.testing.assert_allclose(cache, c)
    np.testing.assert_allclose(w, W - 0.1 * DW / (np.sqrt(c) + 1e-3))


def test_rmsprop_step_formula():
    w, cache = rmsprop_step(W, DW, S2, 0.1, decay=0.8, eps=1e-3)
    c = 0.8 * S2 + 0.2 * DW ** 2
    np.testing.assert_allclose(cache, c)
    np.testing.assert_allclose(w, W - 0.1 * DW / (np.sqrt(c) + 1e-3))


@pytest.mark.parametrize("t", [1, 2, 10])
def test_adam_step_formula_with_bias_correction(t):
    w, m, v = adam_step(W, DW, S, S2, t, 0.1, beta1=0.8, beta2=0.9, eps=1e-3)
    m_exp = 0.8 * S + 0.2 * DW
    v_exp = 0.9 * S2 + 0.1 * DW ** 2
    np.testing.assert_allclose(m, m_exp)
    np.testing.assert_allclose(v, v_exp)
    m_hat, v_hat = m_exp / (1 - 0.8 ** t), v_exp / (1 - 0.9 ** t)
    np.testing.assert_allclose(w, W - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-3))


def test_adam_first_step_moves_every_coordinate_by_about_lr():
    z = np.zeros(3)
    w, _, _ = adam_step(W, DW, z, z, 1, 0.01)
    np.testing.assert_allclose(W - w, 0.01 * np.sign(DW), rtol=1e-6)


def test_momentum_with_a_constant_gradient_follows_its_closed_form():
    # v_t = −lr·g·(1 − βᵗ)/(1 − β), so w_T = w_0 − lr·g·Σ_{t=1..T} (1 − βᵗ)/(1 − β)
    lr, beta, g = 0.1, 0.9, np.array([1.0, -2.0])
    w, v = np.zeros(2), np.zeros(2)
    for _ in range(20):
        w, v = momentum_step(w, g, v, lr, beta)
    total = sum((1 - beta ** t) / (1 - beta) for t in range(1, 21))
    np.testing.assert_allclose(w, -lr * g * total, rtol=1e-12)
    np.testing.assert_allclose(v, -lr * g * (1 - beta ** 20) / (1 - beta), rtol=1e-12)


# ---- against torch.optim -------------------------------------------------------------------

def _grad(w):
    """Gradient of a fixed, non-quadratic test function, so each trajectory depends on its past."""
    return np.array([2.0, 0.5, 1.0, 3.0]) * w + np.sin(3 * w)


TORCH_CASES = {
    # ours: (name, hyper) ; torch: (class name, kwargs)
    "sgd": ({}, "SGD", {}),
    # torch: buf ← β·buf + g, w ← w − lr·buf. With constant lr, our v equals −lr·buf.
    "momentum": ({"beta": 0.8}, "SGD", {"momentum": 0.8}),
    # torch: buf ← β·buf + g, w ← w − lr·(g + β·buf). Writing g = buf − β·buf_old shows this is
    # our w − β·v + (1 + β)·v_new with v = −lr·buf (again for a constant lr).
    "nesterov": ({"beta": 0.8}, "SGD", {"momentum": 0.8, "nesterov": True}),
    # torch adds eps outside the square root, as we do; the accumulator must start at 0.
    "adagrad": ({"eps": 1e-6}, "Adagrad", {"eps": 1e-6, "initial_accumulator_value": 0.0}),
    # torch calls the decay alpha; eps outside the square root, as ours.
    "rmsprop": ({"decay": 0.85, "eps": 1e-6}, "RMSprop", {"alpha": 0.85, "eps": 1e-6}),
    "adam": ({"beta1": 0.8, "beta2": 0.95, "eps": 1e-6}, "Adam",
             {"betas": (0.8, 0.95), "eps": 1e-6}),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_step_functions_follow_torch_optim_trajectories(name):
    torch = pytest.importorskip("torch")
    hyper, cls, kwargs = TORCH_CASES[name]
    lr = 0.05
    w0 = np.array([1.0, -2.0, 0.3, 1.5])
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = getattr(torch.optim, cls)([tw], lr=lr, **kwargs)
    w, s1, s2 = w0.copy(), np.zeros(4), np.zeros(4)
    for t in range(1, 9):
        dw = _grad(w)
        tw.grad = torch.tensor(_grad(tw.detach().numpy()))
        topt.step()
        if name == "sgd":
            w = sgd_step(w, dw, lr)
        elif name == "momentum":
            w, s1 = momentum_step(w, dw, s1, lr, **hyper)
        elif name == "nesterov":
            w, s1 = nesterov_step(w, dw, s1, lr, **hyper)
        elif name == "adagrad":
            w, s1 = adagrad_step(w, dw, s1, lr, **hyper)
        elif name == "rmsprop":
            w, s1 = rmsprop_step(w, dw, s1, lr, **hyper)
        else:
            w, s1, s2 = adam_step(w, dw, s1, s2, t, lr, **hyper)
        np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=f"{name}, step {t}")


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_optimizer_class_follows_torch_optim_with_several_parameters(name):
    torch = pytest.importorskip("torch")
    hyper, cls, kwargs = TORCH_CASES[name]
    rng = np.random.default_rng(1)
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    tparams = [torch.tensor(params[k].copy(), requires_grad=True) for k in ("W", "b")]
    topt = getattr(torch.optim, cls)(tparams, lr=0.03, **kwargs)
    opt = Optimizer(name, 0.03, **hyper)
    for step in range(6):
        grads = {"W": np.cos(params["W"]) + params["W"], "b": params["b"] ** 3}
        for tp, k in zip(tparams, ("W", "b"), strict=True):
            tp.grad = torch.tensor(grads[k])
        topt.step()
        opt.step(params, grads)
        for tp, k in zip(tparams, ("W", "b"), strict=True):
            np.testing.assert_allclose(params[k], tp.detach().numpy(), rtol=1e-12, atol=1e-14,
                                       err_msg=f"{name} {k} step {step}")


# ---- properties ----------------------------------------------------------------------------

QUADRATIC_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.5,
                "rmsprop": 0.03, "adam": 0.1}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 5))
def test_every_optimizer_reduces_a_convex_quadratic_in_100_steps(seed, d):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 4.0, d)                               # f(w) = 0.5·Σ a·w²
    w0 = rng.uniform(1.0, 3.0, d) * rng.choice([-1.0, 1.0], d)
    f0 = 0.5 * np.sum(a * w0 ** 2)
    for name, lr in QUADRATIC_LR.items():
        opt = Optimizer(name, lr)
        params = {"w": w0}
        for _ in range(100):
            opt.step(params, {"w": a * params["w"]})
        assert 0.5 * np.sum(a * params["w"] ** 2) < 0.1 * f0, name


def test_step_functions_do_not_modify_their_inputs():
    w, dw, s, s2 = W.copy(), DW.copy(), S.copy(), S2.copy()
    sgd_step(w, dw, 0.1)
    momentum_step(w, dw, s, 0.1)
    nesterov_step(w, dw, s, 0.1)
    adagrad_step(w, dw, s2, 0.1)
    rmsprop_step(w, dw, s2, 0.1)
    adam_step(w, dw, s, s2, 3, 0.1)
    for a, b in ((w, W), (dw, DW), (s, S), (s2, S2)):
        np.testing.assert_array_equal(a, b)


def test_step_functions_keep_float32():
    w = W.astype(np.float32)
    z = np.zeros(3, dtype=np.float32)
    assert sgd_step(w, w, 0.1).dtype == np.float32
    assert all(a.dtype == np.float32 for a in momentum_step(w, w, z, 0.1))
    assert all(a.dtype == np.float32 for a in nesterov_step(w, w, z, 0.1))
    assert all(a.dtype == np.float32 for a in adagrad_step(w, w, z, 0.1))
    assert all(a.dtype == np.float32 for a in rmsprop_step(w, w, z, 0.1))
    assert all(a.dtype == np.float32 for a in adam_step(w, w, z, z, 1, 0.1))


def test_step_functions_reject_mismatched_shapes_and_bad_scalars():
    with pytest.raises(ValueError, match=r"sgd_step: dw must have the shape of w \(3,\); "
                                         r"got \(2,\)"):
        sgd_step(W, np.zeros(2), 0.1)
    with pytest.raises(ValueError, match=r"adam_step: v must have the shape of w \(3,\)"):
        adam_step(W, DW, S, np.zeros((3, 1)), 1, 0.1)
    with pytest.raises(ValueError, match="adam_step: t must be >= 1; got 0"):
        adam_step(W, DW, S, S2, 0, 0.1)
    with pytest.raises(TypeError, match="adam_step: t must be an integer"):
        adam_step(W, DW, S, S2, 1.5, 0.1)
    with pytest.raises(ValueError, match="momentum_step: beta must be < 1"):
        momentum_step(W, DW, S, 0.1, beta=1.0)
    with pytest.raises(ValueError, match="rmsprop_step: lr must be >= 0"):
        rmsprop_step(W, DW, S2, -0.1)
    with pytest.raises(ValueError, match="adagrad_step: eps must be > 0"):
        adagrad_step(W, DW, S2, 0.1, eps=0.0)


# ---- Optimizer -----------------------------------------------------------------------------

def test_optimizer_replaces_dict_values_and_leaves_old_arrays_alone():
    params = {"w": W.copy()}
    old = params["w"]
    Optimizer("sgd", 0.1).step(params, {"w": DW})
    np.testing.assert_allclose(params["w"], sgd_step(W, DW, 0.1))
    assert params["w"] is not old
    np.testing.assert_array_equal(old, W)


def test_optimizer_keeps_separate_state_per_parameter():
    opt = Optimizer("momentum", 0.1, beta=0.5)
    params = {"a": np.zeros(2), "b": np.zeros(3)}
    va, vb = np.zeros(2), np.zeros(3)
    wa, wb = np.zeros(2), np.zeros(3)
    for step in range(4):
        ga, gb = np.full(2, step + 1.0), np.full(3, -2.0)
        opt.step(params, {"a": ga, "b": gb})
        wa, va = momentum_step(wa, ga, va, 0.1, 0.5)
        wb, vb = momentum_step(wb, gb, vb, 0.1, 0.5)
    np.testing.assert_allclose(params["a"], wa)
    np.testing.assert_allclose(params["b"], wb)


def test_optimizer_counts_adam_steps_from_one():
    opt = Optimizer("adam", 0.01)
    params = {"w": W.copy()}
    w, m, v = W.copy(), np.zeros(3), np.zeros(3)
    for t in (1, 2, 3):
        opt.step(params, {"w": DW * t})
        w, m, v = adam_step(w, DW * t, m, v, t, 0.01)
    np.testing.assert_allclose(params["w"], w, rtol=1e-15)


def test_optimizer_learning_rate_can_be_changed_between_steps():
    opt = Optimizer("sgd", 0.1)
    params = {"w": W.copy()}
    opt.step(params, {"w": DW})
    opt.lr = 0.01
    opt.step(params, {"w": DW})
    np.testing.assert_allclose(params["w"], W - 0.11 * DW)
    assert opt.lr == 0.01
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.lr = -1.0


def test_optimizer_reset_forgets_the_state():
    opt = Optimizer("momentum", 0.1)
    params = {"w": W.copy()}
    opt.step(params, {"w": DW})
    opt.reset()
    start = params["w"].copy()
    opt.step(params, {"w": DW})
    np.testing.assert_allclose(params["w"], start - 0.1 * DW)      # velocity restarted at 0


def test_optimizer_default_hyperparameters_are_the_step_functions_defaults():
    params = {"w": W.copy()}
    Optimizer("rmsprop", 0.1).step(params, {"w": DW})
    np.testing.assert_allclose(params["w"], rmsprop_step(W, DW, np.zeros(3), 0.1)[0])
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}


def test_optimizer_rejects_unknown_names_hyperparameters_and_missing_grads():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'; choose one of 'sgd', "
                                         "'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'"):
        Optimizer("adamw", 0.1)
    with pytest.raises(TypeError, match="'sgd' takes no hyperparameter beta; its "
                                        "hyperparameters are: none"):
        Optimizer("sgd", 0.1, beta=0.9)
    with pytest.raises(TypeError, match="its hyperparameters are: beta1, beta2, eps"):
        Optimizer("adam", 0.1, decay=0.9)
    with pytest.raises(ValueError, match="beta must be < 1"):
        Optimizer("momentum", 0.1, beta=1.5)
    opt = Optimizer("adam", 0.1)
    with pytest.raises(ValueError, match="grads must have the keys of params; missing b"):
        opt.step({"w": W, "b": np.zeros(2)}, {"w": DW})
    with pytest.raises(ValueError, match="not in params: c"):
        opt.step({"w": W}, {"w": DW, "c": DW})
    with pytest.raises(ValueError, match=r"grads\['w'\] must have the shape of params\['w'\]"):
        opt.step({"w": W}, {"w": DW[:2]})


# ---- schedules -----------------------------------------------------------------------------

def test_step_decay_changes_exactly_at_multiples_of_every():
    assert step_decay(0.1, 0) == 0.1
    assert step_decay(0.1, 4) == 0.1
    assert step_decay(0.1, 5) == pytest.approx(0.05)
    assert step_decay(0.1, 9) == pytest.approx(0.05)
    assert step_decay(0.1, 10) == pytest.approx(0.025)
    assert step_decay(1.0, 2, drop=0.1, every=1) == pytest.approx(0.01)
    assert step_decay(1.0, 2.5, drop=0.5, every=2) == pytest.approx(0.5)


@settings(max_examples=50, deadline=None)
@given(lr0=st.floats(1e-5, 10.0), epoch=st.integers(0, 200), k=st.floats(0.0, 2.0),
       drop=st.floats(0.01, 1.0), every=st.integers(1, 20))
def test_schedules_equal_their_formulas(lr0, epoch, k, drop, every):
    assert step_decay(lr0, epoch, drop, every) == pytest.approx(
        lr0 * drop ** math.floor(epoch / every), rel=1e-12, abs=1e-300)
    assert exponential_decay(lr0, epoch, k) == pytest.approx(lr0 * math.exp(-k * epoch),
                                                             rel=1e-12, abs=1e-300)
    assert inverse_time_decay(lr0, epoch, k) == pytest.approx(lr0 / (1 + k * epoch), rel=1e-12)
    assert constant(lr0, epoch) == lr0
    for name, kw in (("step_decay", {"drop": drop, "every": every}),
                     ("exponential_decay", {"k": k}), ("inverse_time_decay", {"k": k}),
                     ("constant", {})):
        assert make_schedule(name, lr0, **kw)(epoch) == SCHEDULES[name](lr0, epoch, **kw)


def test_every_schedule_starts_at_lr0():
    assert exponential_decay(0.3, 0, 0.7) == 0.3
    assert inverse_time_decay(0.3, 0, 0.7) == 0.3
    assert make_schedule("constant", 0.3)(17) == 0.3


def test_make_schedule_reports_unknown_names_and_wrong_arguments():
    with pytest.raises(ValueError, match="unknown schedule 'cosine'; choose one of 'constant', "
                                         "'step_decay', 'exponential_decay', "
                                         "'inverse_time_decay'"):
        make_schedule("cosine", 0.1)
    with pytest.raises(TypeError, match=r"wrong arguments for 'exponential_decay'.*\(lr0, "
                                        r"epoch, k\)"):
        make_schedule("exponential_decay", 0.1)
    with pytest.raises(TypeError, match="wrong arguments for 'step_decay'"):
        make_schedule("step_decay", 0.1, k=0.5)
    with pytest.raises(ValueError, match="step_decay: every must be >= 1"):
        make_schedule("step_decay", 0.1, every=0)


def test_schedules_reject_out_of_range_arguments():
    with pytest.raises(ValueError, match="step_decay: epoch must be >= 0"):
        step_decay(0.1, -1)
    with pytest.raises(ValueError, match="step_decay: drop must be > 0"):
        step_decay(0.1, 3, drop=0.0)
    with pytest.raises(TypeError, match="step_decay: every must be an integer"):
        step_decay(0.1, 3, every=2.5)
    with pytest.raises(ValueError, match="exponential_decay: k must be >= 0"):
        exponential_decay(0.1, 3, -0.1)
    with pytest.raises(ValueError, match="inverse_time_decay: lr0 must be >= 0"):
        inverse_time_decay(-0.1, 3, 0.1)
