"""Numerical gradient checking (lecture 3).

An analytic gradient (a backward pass written by hand) is checked against centred differences,

    df/dx_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / (2h),

whose error is O(h²). The two are compared with the relative error

    rel_error(a, b) = max_i |a_i − b_i| / max(1e-8, |a_i| + |b_i|),

which is about 1e-7 or smaller for a correct float64 gradient and 1e-2 or larger for a wrong
one. ``check_gradients`` does the whole check for a forward/backward pair and reports, for every
input, the relative error and the entry where analytic and numerical values disagree most.

Float32: x is perturbed in place in its own dtype (so functions that read x through a closure
see the change), the step actually taken (x_i + h rounded to float32, minus x_i − h rounded) is
used as the denominator, and every value of f is taken in float64. Even so, f itself computes
in float32 (about 7 digits), so expect relative errors near 1e-3, use a larger h (1e-3 or 1e-2),
and run gradient checks in float64 whenever you can.
"""

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, check_scalar

__all__ = ["GradientCheck", "GradientReport", "check_gradients", "numerical_gradient",
           "numerical_gradient_array", "rel_error"]


def _perturbable(x, func: str) -> np.ndarray:
    """x itself when it is a writable float array (so closures over x see each step), else a
    float64 copy that is passed to f instead."""
    if isinstance(x, np.ndarray) and x.dtype in (np.float64, np.float32) and x.flags.writeable:
        return x
    return np.array(as_float_array(x, "x", func), dtype=np.float64)


def _scalar_value(value, func: str) -> float:
    if np.ndim(value) != 0:
        raise ValueError(f"{func}: f must return a scalar; got a value of shape "
                         f"{np.shape(value)}")
    return float(value)


def _centred_differences(f, x: np.ndarray, h: float, value, func: str) -> np.ndarray:
    """Gradient of value(f(x)) at x by centred differences; x is restored entry by entry."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        try:
            x[i] = old + h
            up, plus = float(x[i]), value(f(x))
            x[i] = old - h
            down, minus = float(x[i]), value(f(x))
        finally:
            x[i] = old
        if up == down:
            raise ValueError(f"{func}: h = {h} is too small to change x[{i}] = {float(old)} "
                             f"in {x.dtype}; use a larger h")
        grad[i] = (plus - minus) / (up - down)
    return grad


def numerical_gradient(f, x, h=1e-5):
    """Numerical gradient of a scalar function f at the array x, by centred differences.

    f: callable taking x and returning a scalar (f may also ignore its argument and read x
       through a closure: x is perturbed in place, one entry at a time).
    x: array of any shape. A writable float32/float64 ndarray is perturbed in place and every
       entry is restored to exactly its old value (also if f raises); anything else (a list,
       an integer array) is first copied to float64 and the copy is passed to f.
    h: the step, > 0.
    Returns grad, a float64 array of x's shape: grad[i] = (f(x + h·e_i) − f(x − h·e_i)) / (2h),
    with 2h replaced by the step actually representable in x's dtype (see the module's note on
    float32).
    """
    func = "numerical_gradient"
    if not callable(f):
        raise TypeError(f"{func}: f must be a function of x; got {type(f).__name__}")
    h = check_scalar(h, "h", func, low=0, low_open=True)
    x = _perturbable(x, func)
    return _centred_differences(f, x, h, lambda v: _scalar_value(v, func), func)


def numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of sum(f(x)·df) with respect to x, for an array-valued f.

    f: callable taking x and returning an array of df's shape (a layer's output).
    x: array of any shape (perturbed in place and restored, as in ``numerical_gradient``).
    df: the upstream gradient, the shape of f(x).
    Returns a float64 array of x's shape: what a backward pass given ``dout = df`` must return.
    """
    func = "numerical_gradient_array"
    if not callable(f):
        raise TypeError(f"{func}: f must be a function of x; got {type(f).__name__}")
    h = check_scalar(h, "h", func, low=0, low_open=True)
    df = np.asarray(as_float_array(df, "df", func), dtype=np.float64)
    x = _perturbable(x, func)

    def value(out):
        out = np.asarray(out, dtype=np.float64)
        if out.shape != df.shape:
            raise ValueError(f"{func}: f(x) must have the shape of df {df.shape}; got "
                             f"{out.shape}")
        return float(np.vdot(out, df))

    return _centred_differences(f, x, h, value, func)


def rel_error(a, b):
    """Relative error max_i |a_i − b_i| / max(1e-8, |a_i| + |b_i|) of two same-shape arrays.

    a, b: arrays (or scalars) of the same shape; different shapes raise ValueError rather than
    broadcast, because a (N,) against (N, 1) mix-up is exactly the bug a check should catch.
    Returns a float; 0.0 for empty arrays.
    """
    func = "rel_error"
    a = np.asarray(as_float_array(a, "a", func), dtype=np.float64)
    b = np.asarray(as_float_array(b, "b", func), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{func}: a and b must have the same shape; got {a.shape} and "
                         f"{b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


@dataclass(frozen=True)
class GradientCheck:
    """The check of one input: its relative error and the entry where it is worst."""

    name: str
    shape: tuple
    rel_error: float
    index: tuple        # the worst entry
    analytic: float     # the backward's value there
    numerical: float    # the centred-difference value there


class GradientReport:
    """What ``check_gradients`` found: one ``GradientCheck`` per input, in the forward's order.

    ``report[name]`` gives one check, ``report.errors`` maps names to relative errors,
    ``report.passed(tol)`` says whether every error is below tol, ``str(report)`` is a table.
    """

    def __init__(self, checks: list[GradientCheck], label: str = ""):
        self.checks = list(checks)
        self.label = label

    def __iter__(self):
        return iter(self.checks)

    def __len__(self):
        return len(self.checks)

    def __getitem__(self, name: str) -> GradientCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no gradient of {name!r} in this report; it has "
                       f"{', '.join(c.name for c in self.checks)}")

    @property
    def errors(self) -> dict[str, float]:
        return {c.name: c.rel_error for c in self.checks}

    @property
    def max_error(self) -> float:
        return max((c.rel_error for c in self.checks), default=0.0)

    def passed(self, tol: float = 1e-6) -> bool:
        """True when every input's relative error is below ``tol``."""
        return all(c.rel_error < tol for c in self.checks)

    def __str__(self):
        head = f"gradient check of {self.label}\n" if self.label else ""
        rows = [("input", "shape", "rel. error", "worst entry", "analytic", "numerical")]
        for c in self.checks:
            rows.append((f"d{c.name}", str(c.shape), f"{c.rel_error:.2e}", str(c.index),
                         f"{c.analytic:.6g}", f"{c.numerical:.6g}"))
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return head + "\n".join(lines)

    def __repr__(self):
        return f"GradientReport({self.errors})"


def _compare(name: str, analytic: np.ndarray, numerical: np.ndarray, func: str) -> GradientCheck:
    if analytic.shape != numerical.shape:
        raise ValueError(f"{func}: the backward's gradient d{name} must have the shape of "
                         f"{name} {numerical.shape}; got {analytic.shape}")
    if analytic.size == 0:
        return GradientCheck(name, analytic.shape, 0.0, (), 0.0, 0.0)
    errors = np.abs(analytic - numerical) / np.maximum(1e-8, np.abs(analytic) + np.abs(numerical))
    worst = np.unravel_index(int(np.argmax(errors)), errors.shape)
    worst = tuple(int(i) for i in worst)
    return GradientCheck(name, analytic.shape, float(errors[worst]), worst,
                         float(analytic[worst]), float(numerical[worst]))


def check_gradients(forward, backward, inputs, dout=None, rng=None, h=1e-5, kwargs=None):
    """Check a layer's backward pass against numerical gradients of its forward pass.

    forward: called as forward(*inputs.values(), **kwargs) -> (out, cache).
    backward: called as backward(dout, cache) -> the gradients of every input, in the order of
              ``inputs`` (a tuple, or one array when there is a single input).
    inputs: dict name -> array, the forward's positional arguments in order, every one of them
            differentiable (put anything else, such as a mode flag, in ``kwargs``). They are
            copied to float64, so the caller's arrays are never touched.
    dout: the upstream gradient (the shape of out); by default standard normal from ``rng``
          (default ``numpy.random.default_rng(0)``).
    h: the step of the centred differences.
    The numerical gradient of input v is that of sum(forward(...)[0]·dout) with respect to v,
    which is what backward(dout, cache) must return. Returns a ``GradientReport``.
    """
    func = "check_gradients"
    if not callable(forward) or not callable(backward):
        raise TypeError(f"{func}: forward and backward must be functions; got "
                        f"{type(forward).__name__} and {type(backward).__name__}")
    if not isinstance(inputs, dict) or not inputs:
        raise TypeError(f"{func}: inputs must be a non-empty dict name -> array, in the order of "
                        f"the forward's arguments; got {type(inputs).__name__}")
    kwargs = {} if kwargs is None else dict(kwargs)
    values = {k: np.array(as_float_array(v, k, func), dtype=np.float64)
              for k, v in inputs.items()}
    label = getattr(forward, "__name__", "forward")

    def run(vals):
        result = forward(*vals.values(), **kwargs)
        if not isinstance(result, tuple) or len(result) != 2:
            raise ValueError(f"{func}: {label} must return a pair (out, cache); got "
                             f"{type(result).__name__}")
        return result

    out, cache = run(values)
    out = np.asarray(out, dtype=np.float64)
    if dout is None:
        rng = np.random.default_rng(0) if rng is None else rng
        dout = rng.standard_normal(out.shape)
    dout = np.asarray(as_float_array(dout, "dout", func), dtype=np.float64)
    if dout.shape != out.shape:
        raise ValueError(f"{func}: dout must have the shape of {label}'s output {out.shape}; got "
                         f"{dout.shape}")
    grads = backward(dout.copy(), cache)
    names = list(values)
    if len(names) == 1 and not isinstance(grads, tuple):
        grads = (grads,)
    if not isinstance(grads, tuple) or len(grads) != len(names):
        got = f"a tuple of {len(grads)}" if isinstance(grads, tuple) else type(grads).__name__
        raise ValueError(f"{func}: the backward must return {len(names)} gradient(s) "
                         f"({', '.join('d' + n for n in names)}); got {got}")
    # copy the analytic gradients first: a backward may return views of its cache
    if any(g is None for g in grads):
        missing = [n for n, g in zip(names, grads, strict=True) if g is None]
        raise ValueError(f"{func}: the backward returned None for "
                         f"{', '.join('d' + n for n in missing)}")
    grads = [np.array(g, dtype=np.float64) for g in grads]
    checks = []
    for name, analytic in zip(names, grads, strict=True):
        def f(v, name=name):
            return run({**values, name: v})[0]
        numerical = numerical_gradient_array(f, values[name], dout, h)
        checks.append(_compare(name, analytic, numerical, func))
    shapes = ", ".join(f"{k} {v.shape}" for k, v in values.items())
    return GradientReport(checks, f"{label}({shapes})")
