"""Input checks shared by every module: clear errors that say what was expected and what came.

Each check names the calling function and the argument, so a student reads, for example::

    affine_forward: w must have shape (D, M) = (4, M) to match x of shape (2, 4); got (5, 3)

The checks are cheap (shapes and dtypes only) so that they can stay on in training loops;
``check_finite`` is the one that looks at values and is used where data enters.
"""

import numbers

import numpy as np


def as_float_array(x, name: str, func: str, ndim: int | None = None, dims: str = ""):
    """Return ``x`` as a floating ndarray (float32 stays float32, everything else becomes float64).

    x: anything array-like with numbers in it.
    ndim: the number of axes required, if any; ``dims`` names them for the message, e.g. "(N, D)".
    Never copies a float array, so callers must not write into the result.
    """
    if isinstance(x, np.ndarray) and x.dtype in (np.float64, np.float32):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{func}: {name} must be a numeric array; got {type(x).__name__}"
                            f" that NumPy cannot read as one ({exc})") from None
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) \
                or np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{func}: {name} must hold real numbers; got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{func}: {name} must be a {ndim}-D array {dims}".rstrip()
                         + f"; got shape {arr.shape}")
    return arr


def check_shape(arr: np.ndarray, expected: tuple, name: str, func: str, why: str = "") -> None:
    """Raise unless ``arr.shape`` matches ``expected``; None in ``expected`` matches any size."""
    ok = arr.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, arr.shape))
    if not ok:
        shown = "(" + ", ".join("?" if e is None else str(e) for e in expected) \
            + ("," if len(expected) == 1 else "") + ")"
        raise ValueError(f"{func}: {name} must have shape {shown}{' ' + why if why else ''};"
                         f" got {arr.shape}")


def check_labels(y, n: int, num_classes: int, func: str, name: str = "y") -> np.ndarray:
    """Integer class labels of shape (n,) with values in [0, num_classes)."""
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{func}: {name} must have shape ({n},), one label per row of the"
                         f" scores; got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{func}: {name} must hold integer class labels; got dtype"
                            f" {arr.dtype}")
    if n and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(f"{func}: {name} must hold labels in 0..{num_classes - 1} for"
                         f" {num_classes} classes; got values from {arr.min()} to {arr.max()}")
    return arr


def check_finite(arr: np.ndarray, name: str, func: str) -> None:
    """Raise if ``arr`` holds NaN or infinity, saying how many entries and where the first is."""
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{func}: {name} holds {int(bad.sum())} NaN or infinite value(s),"
                         f" the first at index {first}")


def check_scalar(x, name: str, func: str, low: float | None = None, high: float | None = None,
                 integer: bool = False, low_open: bool = False, high_open: bool = False):
    """A real number (an integer if asked) inside [low, high]; open ends when asked."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x.item()
    if isinstance(x, bool) or not isinstance(x, kind):
        raise TypeError(f"{func}: {name} must be {'an integer' if integer else 'a number'};"
                        f" got {type(x).__name__}")
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{func}: {name} must be {'>' if low_open else '>='} {low}; got {x}")
    if high is not None and (x > high or (high_open and x == high)):
        raise ValueError(f"{func}: {name} must be {'<' if high_open else '<='} {high}; got {x}")
    return x
