"""Checks that test cells are written with, visible and hidden alike.

Every check raises :class:`GradingFailure` with a message a student can act on: what was called,
what shape or value was expected, what came back, and for gradients the relative error. The same
code runs when a student executes the visible tests in their own notebook and when the grader
runs a test cell in its trusted process, where the student's functions are remote calls into the
sandboxed kernel (see ``nnutils.grading.protocol``). Nothing here depends on which of the two it
is.
"""

import numpy as np

from .protocol import KernelCode, RemoteObject

__all__ = ["GradingFailure", "KernelCode", "check", "check_array", "check_close",
           "check_equal", "check_gradient", "check_layer", "check_layer_gradients",
           "random_array", "relative_error"]


class GradingFailure(AssertionError):
    """A test failed; the message is written for the student.

    ``summary`` says the same without quoting any value, shape or label of the test's inputs
    or of what the student's function returned: it is what feedback shows for a failure in a
    hidden test, whose inputs stay hidden (a function could encode its inputs in what it
    returns). Without one, the message itself is the summary (the test writer's own words).
    """

    def __init__(self, message: str, summary: str | None = None):
        super().__init__(message)
        self.summary = summary or message


def check(condition, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise GradingFailure(message)


def _fmt(value, digits: int = 6) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return np.array2string(value, precision=max(4, digits - 2), separator=", ")
        return f"an array of shape {value.shape}"
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}g}"
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def _digits(expected, actual) -> int:
    """Enough significant digits (6 at least, 17 at most) for two different values to print
    differently: "expected -0.00137444, got -0.00137444" must never happen."""
    for digits in range(6, 18):
        try:
            if _fmt(expected, digits) != _fmt(actual, digits):
                return digits
        except (TypeError, ValueError):
            return 6
    return 17


def _fmt_pair(expected, actual) -> tuple[str, str]:
    digits = _digits(expected, actual)
    return _fmt(expected, digits), _fmt(actual, digits)


def _reject_non_real(arr: np.ndarray, expected, what: str) -> None:
    """Fail if a function returned complex values where real numbers are expected."""
    if np.iscomplexobj(arr) and not np.iscomplexobj(expected):
        raise GradingFailure(f"{what}: returned complex values; expected real numbers (a "
                             f"square root or a logarithm of a negative number, or np.fft?)",
                             "returned complex values where real numbers are expected")


def relative_error(a, b) -> float:
    """max |a − b| / max(1e-8, |a| + |b|), the course's measure for gradient checks."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _as_array(value, what: str) -> np.ndarray:
    if isinstance(value, RemoteObject):
        raise GradingFailure(f"{what}: expected a NumPy array, got {value!r}",
                             f"returned a {value.type_name} where an array is expected")
    if value is None:
        raise GradingFailure(f"{what}: expected a NumPy array, got None (did you forget to "
                             f"return it?)", "returned None where an array is expected (did "
                                             "you forget to return it?)")
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        raise GradingFailure(f"{what}: expected one NumPy array, got a {type(value).__name__} "
                             f"of {len(value)} items", f"returned a {type(value).__name__} "
                                                       f"where one array is expected")
    try:
        arr = np.asarray(value)
    except Exception:
        raise GradingFailure(f"{what}: expected a NumPy array, got "
                             f"{type(value).__name__}", "returned something that is not an "
                                                        "array") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        kind = ("text" if arr.dtype.kind in "US" else "Python objects"
                if arr.dtype == object else f"values of dtype {arr.dtype}")
        raise GradingFailure(f"{what}: expected an array of numbers, got {kind}: "
                             f"{type(value).__name__} {_fmt(value)}",
                             f"returned {kind} where an array of numbers is expected")
    return arr


def check_array(actual, what: str, shape: tuple | None = None) -> np.ndarray:
    """Fail unless ``actual`` is a numeric array (of ``shape`` if given); return it."""
    arr = _as_array(actual, what)
    if shape is not None and arr.shape != tuple(shape):
        hint = ""
        if arr.size == int(np.prod(shape)) and arr.size > 0:
            hint = " (the right number of entries in the wrong shape: a missing reshape, " \
                   "an extra axis, or a transpose?)"
        raise GradingFailure(f"{what}: expected shape {tuple(shape)}, got {arr.shape}{hint}",
                             f"returned an array of the wrong shape{hint}")
    return arr


def check_close(actual, expected, what: str, rtol: float = 1e-6, atol: float = 1e-9):
    """Fail unless ``actual`` has the shape of ``expected`` and the same values within tolerance."""
    expected = np.asarray(expected)
    arr = check_array(actual, what, expected.shape)
    _reject_non_real(arr, expected, what)
    if np.issubdtype(expected.dtype, np.floating) and arr.dtype == np.float32 \
            and expected.dtype == np.float64:
        raise GradingFailure(f"{what}: expected float64 values, got float32 (work in float64)",
                             "returned float32 values where float64 is expected")
    with np.errstate(all="ignore"):
        bad_nan = np.isnan(arr) & ~np.isnan(expected)
        if bad_nan.any():
            index = tuple(int(i) for i in np.argwhere(bad_nan)[0])
            raise GradingFailure(f"{what}: got NaN at index {index}, expected "
                                 f"{_fmt(expected[index])} ({int(bad_nan.sum())} NaN in all)",
                                 f"returned NaN where a number is expected "
                                 f"({int(bad_nan.sum())} of {bad_nan.size} values)")
        close = np.isclose(arr, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not close.all():
        with np.errstate(all="ignore"):
            err = np.abs(arr.astype(np.float64) - expected) / np.maximum(
                1e-12, np.abs(expected).astype(np.float64))
        err = np.where(close, 0, np.nan_to_num(err, nan=np.inf))
        index = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
        where = f" at index {index}" if arr.ndim else ""
        want, got = _fmt_pair(expected[index], arr[index])
        raise GradingFailure(
            f"{what}: {int((~close).sum())} of {close.size} values are wrong; the worst is"
            f"{where}: expected {want}, got {got} (relative error {float(err[index]):.1e}; "
            f"the tolerance is {rtol:.0e})",
            f"{int((~close).sum())} of {close.size} values are wrong (the worst relative error "
            f"is {float(err[index]):.1e})")
    return arr


def check_equal(actual, expected, what: str) -> None:
    """Fail unless ``actual == expected`` (numbers, lists, tuples, strings)."""
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        arr = check_array(actual, what, np.shape(expected))
        _reject_non_real(arr, np.asarray(expected), what)
        if not np.array_equal(arr, expected):
            want, got = _fmt_pair(np.asarray(expected), arr)
            raise GradingFailure(f"{what}: expected {want}, got {got}",
                                 "returned different values")
        return
    if isinstance(actual, (complex, np.complexfloating)) and not isinstance(
            expected, (complex, np.complexfloating)):
        raise GradingFailure(f"{what}: returned a complex value; expected a real number",
                             "returned a complex value where a real number is expected")
    try:
        same = bool(actual == expected)
    except Exception:
        same = False
    if not same:
        want, got = _fmt_pair(expected, actual)
        raise GradingFailure(f"{what}: expected {want}, got {got}",
                             "returned a different value")


def check_gradient(actual, expected, what: str, tol: float = 1e-6) -> float:
    """Fail unless the relative error between two gradients is below ``tol``; return it."""
    expected = np.asarray(expected, dtype=np.float64)
    arr = check_array(actual, f"the gradient {what}", expected.shape)
    _reject_non_real(arr, expected, f"the gradient {what}")
    if not np.all(np.isfinite(arr)):
        raise GradingFailure(f"the gradient {what} holds NaN or infinite values",
                             "a gradient holds NaN or infinite values")
    err = relative_error(arr, expected)
    if err > tol:
        advice = (f"(it must be below {tol:.0e}; around 1e-1 or more usually means a wrong "
                  f"formula, a missing transpose or a missing sum)")
        raise GradingFailure(f"gradient check of {what} failed: relative error {err:.2e} "
                             f"{advice}", f"a gradient check failed: relative error {err:.2e} "
                                          f"{advice}")
    return err


def random_array(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    """Standard normal entries times ``scale``, float64."""
    return scale * rng.standard_normal(shape)


def _numerical(f, x: np.ndarray, df: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Gradient of sum(f(x) * df) with respect to x, by centred differences (x restored)."""
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = np.sum(np.asarray(f(x), dtype=np.float64) * df)
        x[i] = old - h
        minus = np.sum(np.asarray(f(x), dtype=np.float64) * df)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def _unpack_forward(result, name: str):
    if not isinstance(result, tuple) or len(result) != 2:
        raise GradingFailure(f"{name} must return a pair (out, cache); got "
                             f"{type(result).__name__}"
                             + (f" of length {len(result)}" if isinstance(result, tuple) else ""))
    return result


def _grads_tuple(grads, names: list[str], backward_name: str) -> tuple:
    if len(names) == 1 and not isinstance(grads, tuple):
        return (grads,)
    if not isinstance(grads, tuple) or len(grads) != len(names):
        raise GradingFailure(f"{backward_name} must return {len(names)} gradients "
                             f"({', '.join('d' + n for n in names)}); got "
                             f"{type(grads).__name__}"
                             + (f" of length {len(grads)}" if isinstance(grads, tuple) else ""))
    return grads


def check_layer_gradients(forward, backward, inputs: dict, rng=None, tol: float = 1e-6,
                          kwargs: dict | None = None, what: str = "") -> dict:
    """Gradient-check a layer's backward against numerical gradients of its own forward.

    forward(*inputs.values(), **kwargs) -> (out, cache); backward(dout, cache) -> gradients in
    the order of ``inputs``. Returns {name: relative error}; fails on the first too large.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    kwargs = kwargs or {}
    names = list(inputs)
    label = what or getattr(forward, "__name__", "the layer")
    values = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}
    out, cache = _unpack_forward(forward(*values.values(), **kwargs), label)
    out = check_array(out, f"the output of {label}")
    dout = rng.standard_normal(out.shape)
    grads = _grads_tuple(backward(dout, cache), names, getattr(backward, "__name__", "backward"))
    errors = {}
    for name, grad in zip(names, grads):
        def f(v, name=name):
            args = dict(values, **{name: v})
            return _unpack_forward(forward(*args.values(), **kwargs), label)[0]
        num = _numerical(f, values[name].copy(), dout)
        errors[name] = check_gradient(grad, num, f"d{name} ({label})", tol)
    return errors


def check_layer(student_forward, student_backward, reference_forward, reference_backward,
                inputs: dict, rng: np.random.Generator, kwargs: dict | None = None,
                case: str = "", tol: float = 1e-6, check_out: bool = True) -> None:
    """Compare a student's forward/backward pair with the reference on the same inputs.

    The forward output must match the reference; the backward, fed the student's own cache and a
    random upstream gradient, must return the reference gradients (relative error below tol).
    """
    kwargs = kwargs or {}
    names = list(inputs)
    fname = getattr(student_forward, "__name__", "forward")
    bname = getattr(student_backward, "__name__", "backward")
    shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in inputs.items())
    extra = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    label = f"{fname}({shapes}{', ' + extra if extra else ''})" + (f" [{case}]" if case else "")
    ref_out, ref_cache = reference_forward(*inputs.values(), **kwargs)
    out, cache = _unpack_forward(student_forward(*inputs.values(), **kwargs), fname)
    if check_out:
        check_close(out, ref_out, f"the output of {label}")
    dout = rng.standard_normal(np.shape(ref_out))
    ref_grads = _grads_tuple(reference_backward(dout, ref_cache), names, "reference")
    grads = _grads_tuple(student_backward(dout, cache), names, bname)
    for name, grad, ref in zip(names, grads, ref_grads):
        check_gradient(grad, ref, f"d{name} from {bname} for {label}", tol)
