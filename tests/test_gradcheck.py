"""Tests of nnutils.gradcheck: numerical gradients, relative error and the layer checker."""

import numpy as np
import pytest

from nnutils.gradcheck import (
    GradientReport,
    check_gradients,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
)
from nnutils.layers import affine_backward, affine_forward, tanh_backward, tanh_forward

# ---- numerical_gradient --------------------------------------------------------------------


def test_numerical_gradient_of_the_lecture_graph_x_plus_y_times_z():
    point = np.array([-2.0, 5.0, -4.0])
    grad = numerical_gradient(lambda v: (v[0] + v[1]) * v[2], point)
    np.testing.assert_allclose(grad, [-4.0, -4.0, 3.0], rtol=1e-9)


@pytest.mark.parametrize("shape", [(), (1,), (4,), (2, 3), (2, 1, 3)])
def test_numerical_gradient_works_for_any_shape(shape):
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape)
    grad = numerical_gradient(lambda v: np.sum(np.sin(v) * v), x)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, np.sin(x) + x * np.cos(x), rtol=1e-7, atol=1e-9)


def test_numerical_gradient_leaves_x_exactly_as_it_was():
    # values whose x + h − h would not round-trip to the same bits
    x = np.array([[0.1, 1 / 3, 1e8 + 0.7], [-2.7, np.pi, 1e-12]])
    saved = x.copy()
    numerical_gradient(lambda v: float(np.sum(v ** 2)), x)
    np.testing.assert_array_equal(x, saved)
    assert x.tobytes() == saved.tobytes()


def test_numerical_gradient_restores_x_even_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    saved = x.copy()
    calls = []

    def f(v):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, saved)


def test_numerical_gradient_perturbs_x_in_place_so_closures_work():
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    x = np.array([2.0, -1.0])

    def loss(_):                     # ignores its argument, reads w through the closure
        return float(np.sum((w @ x) ** 2))

    grad = numerical_gradient(loss, w)
    np.testing.assert_allclose(grad, 2 * np.outer(w @ x, x), rtol=1e-8)


def test_numerical_gradient_accepts_lists_and_integer_arrays():
    grad = numerical_gradient(lambda v: float(v[0] * v[1]), [3, 4])
    np.testing.assert_allclose(grad, [4.0, 3.0], rtol=1e-9)
    x = np.array([3, 4])
    numerical_gradient(lambda v: float(v[0] * v[1]), x)
    np.testing.assert_array_equal(x, [3, 4])


def test_numerical_gradient_of_float32_input_is_accurate_with_a_larger_step():
    x = np.array([0.3, -1.7, 2.2], dtype=np.float32)
    saved = x.copy()
    grad = numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 3)), x, h=1e-3)
    assert grad.dtype == np.float64 and x.dtype == np.float32
    np.testing.assert_array_equal(x, saved)
    np.testing.assert_allclose(grad, 3 * x.astype(np.float64) ** 2, rtol=1e-5)


def test_numerical_gradient_rejects_bad_arguments():
    with pytest.raises(ValueError, match="f must return a scalar; got a value of shape"):
        numerical_gradient(lambda v: v * 2, np.ones(3))
    with pytest.raises(ValueError, match="h must be > 0"):
        numerical_gradient(lambda v: float(v.sum()), np.ones(3), h=0.0)
    with pytest.raises(TypeError, match="f must be a function"):
        numerical_gradient(3.0, np.ones(3))
    with pytest.raises(ValueError, match="too small to change"):
        numerical_gradient(lambda v: float(v.sum()), np.array([1e12], dtype=np.float32))


def test_numerical_gradient_array_is_the_gradient_of_the_weighted_sum():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2))
    df = rng.standard_normal((3, 2))
    saved = x.copy()
    grad = numerical_gradient_array(lambda v: v ** 2, x, df)
    np.testing.assert_allclose(grad, 2 * x * df, rtol=1e-8)
    np.testing.assert_array_equal(x, saved)
    with pytest.raises(ValueError, match=r"f\(x\) must have the shape of df \(3, 2\)"):
        numerical_gradient_array(lambda v: v.sum(axis=0), x, df)


# ---- rel_error -----------------------------------------------------------------------------

def test_rel_error_follows_its_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert rel_error(np.array([1.0, -1.0]), np.array([1.0, 1.0])) == pytest.approx(1.0)
    # the 1e-8 floor: tiny differences between tiny numbers count against 1e-8
    assert rel_error(np.array([0.0]), np.array([1e-10])) == pytest.approx(1e-2)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    # the maximum over entries, not a ratio of norms
    assert rel_error(np.array([100.0, 1.0]), np.array([100.0, 2.0])) == pytest.approx(1 / 3)
    assert rel_error(2.0, 2.0) == 0.0


def test_rel_error_refuses_to_broadcast_shapes():
    with pytest.raises(ValueError, match=r"rel_error: a and b must have the same shape; got "
                                         r"\(3,\) and \(3, 1\)"):
        rel_error(np.zeros(3), np.zeros((3, 1)))


def test_rel_error_does_not_modify_its_inputs():
    a, b = np.array([1.0, 2.0]), np.array([1.5, 2.0])
    rel_error(a, b)
    np.testing.assert_array_equal(a, [1.0, 2.0])
    np.testing.assert_array_equal(b, [1.5, 2.0])


# ---- check_gradients -----------------------------------------------------------------------

def _affine_inputs(seed=0, n=3, d=4, m=2):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((n, d)), "w": rng.standard_normal((d, m)),
            "b": rng.standard_normal(m)}


def test_check_gradients_passes_a_correct_layer_and_reports_every_input():
    report = check_gradients(affine_forward, affine_backward, _affine_inputs())
    assert isinstance(report, GradientReport)
    assert [c.name for c in report] == ["x", "w", "b"]
    assert report.passed(1e-6)
    assert report.max_error < 1e-8
    assert report["w"].shape == (4, 2)
    assert set(report.errors) == {"x", "w", "b"}


def test_check_gradients_finds_the_wrong_gradient_and_its_worst_entry():
    def bad_backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        dw = dw.copy()
        dw[2, 1] += 1.0                        # one wrong entry
        return dx, dw, 2 * db                  # and a wrong bias gradient
    report = check_gradients(affine_forward, bad_backward, _affine_inputs())
    assert not report.passed(1e-6)
    assert report["x"].rel_error < 1e-8
    assert report["w"].index == (2, 1)
    assert report["w"].rel_error > 1e-3
    assert report["w"].analytic - report["w"].numerical == pytest.approx(1.0, rel=1e-6)
    assert report["b"].rel_error == pytest.approx(1 / 3, rel=1e-6)   # |2g − g| / (|2g| + |g|)


def test_check_gradients_report_prints_a_table():
    text = str(check_gradients(affine_forward, affine_backward, _affine_inputs()))
    lines = text.splitlines()
    assert lines[0].startswith("gradient check of affine_forward(x (3, 4), w (4, 2), b (2,))")
    assert lines[1].split() == ["input", "shape", "rel.", "error", "worst", "entry", "analytic",
                                "numerical"]
    assert [line.split()[0] for line in lines[3:]] == ["dx", "dw", "db"]


def test_check_gradients_uses_the_given_upstream_gradient():
    x = np.array([[0.3, -0.2]])
    seen = []

    def backward(dout, cache):
        seen.append(dout.copy())
        return tanh_backward(dout, cache)

    report = check_gradients(tanh_forward, backward, {"x": x}, dout=np.array([[2.0, -1.0]]))
    assert report.passed(1e-7)
    np.testing.assert_array_equal(seen[0], [[2.0, -1.0]])


def test_check_gradients_passes_keyword_arguments_to_the_forward():
    def scaled_forward(x, scale=1.0):
        return x * scale, scale

    def scaled_backward(dout, cache):
        return dout * cache

    report = check_gradients(scaled_forward, scaled_backward, {"x": np.ones((2, 2))},
                             kwargs={"scale": 3.0})
    assert report.passed(1e-8)
    report = check_gradients(scaled_forward, lambda d, c: d, {"x": np.ones((2, 2))},
                             kwargs={"scale": 3.0})
    assert report["x"].rel_error == pytest.approx(0.5, rel=1e-6)


def test_check_gradients_does_not_modify_the_inputs():
    inputs = _affine_inputs(seed=4)
    saved = {k: v.copy() for k, v in inputs.items()}
    check_gradients(affine_forward, affine_backward, inputs)
    for k in inputs:
        np.testing.assert_array_equal(inputs[k], saved[k])


def test_check_gradients_explains_a_backward_of_the_wrong_form():
    inputs = _affine_inputs()
    with pytest.raises(ValueError, match=r"the backward must return 3 gradient\(s\) \(dx, dw, "
                                         r"db\); got a tuple of 2"):
        check_gradients(affine_forward, lambda d, c: affine_backward(d, c)[:2], inputs)
    with pytest.raises(ValueError, match=r"gradient dw must have the shape of w \(4, 2\); "
                                         r"got \(2, 4\)"):
        check_gradients(affine_forward,
                        lambda d, c: (lambda g: (g[0], g[1].T, g[2]))(affine_backward(d, c)),
                        inputs)
    with pytest.raises(ValueError, match="returned None for db"):
        check_gradients(affine_forward, lambda d, c: affine_backward(d, c)[:2] + (None,), inputs)
    with pytest.raises(ValueError, match=r"must return a pair \(out, cache\)"):
        check_gradients(lambda x, w, b: x @ w + b, affine_backward, inputs)
    with pytest.raises(TypeError, match="inputs must be a non-empty dict"):
        check_gradients(affine_forward, affine_backward, [inputs["x"]])
