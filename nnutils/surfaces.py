"""Two-dimensional loss surfaces (lecture 4): where optimizers race and their paths can be seen.

A surface is a loss f(w) of two parameters w = (w1, w2) together with its gradient. Every
surface evaluates whole grids at once: ``f(w)`` takes points of shape (..., 2) and returns
values of shape (...), and ``grad(w)`` returns gradients of shape (..., 2), so the same code
draws a contour plot and takes one step of gradient descent.

    Quadratic       ½·(w − m)ᵀ H (w − m) + f_min: a bowl whose elliptic contours are as
                    elongated as the condition number λ_max / λ_min of the Hessian H
    Saddle          ½·w1² + ¼·w2⁴ − ½·w2²: a saddle point at the origin between two minima
                    at (0, ±1), where f = −¼
    Rosenbrock      (a − w1)² + b·(w2 − w1²)²: a curved, flat-bottomed banana valley, minimum
                    at (a, a²) (a = 1, b = 100)
    Beale           (1.5 − w1 + w1·w2)² + (2.25 − w1 + w1·w2²)² + (2.625 − w1 + w1·w2³)²:
                    flat plateaus and steep walls, minimum at (3, ½)

``least_squares(X, y)`` turns a regression with two weights into a ``Quadratic`` (the fish of
lecture 4 live there). ``SURFACES`` holds the lecture's ready-made surfaces, each with the
region to plot, a starting point and a learning rate that suits it.

``run_optimizer(name, surface, start, lr, steps, **hyper)`` follows one of the update rules of
``nnutils.optim`` (``sgd_step``, ``momentum_step``, ...) from ``start`` for ``steps`` steps and
returns the (steps + 1, 2) path of iterates. A path that runs off to infinity is cut: the rows
after the step where it left ``DIVERGED`` (or became NaN) are NaN, and ``diverged_at(path)``
says where that happened.
"""

import math

import numpy as np

from ._checks import as_float_array, check_finite, check_scalar, check_shape
from .optim import (
    OPTIMIZERS,
    adagrad_step,
    adam_step,
    momentum_step,
    nesterov_step,
    rmsprop_step,
    sgd_step,
)

__all__ = ["DIVERGED", "SURFACES", "Beale", "PathRunner", "Quadratic", "Rosenbrock", "Saddle",
           "Surface", "diverged_at", "least_squares", "run_optimizer"]

#: A path whose iterate gets farther than this from the origin (or whose gradient is no longer
#: finite) has diverged: ``run_optimizer`` stops it and fills the rest with NaN.
DIVERGED = 1e6


class Surface:
    """A loss of two parameters: ``f(w)`` (also ``surface(w)``), ``grad(w)`` and plot settings.

    Subclasses define ``_f(w1, w2)`` and ``_grad(w1, w2)`` on arrays of any (equal) shape.

    Attributes (set by the subclasses' constructors; every one can be overridden by keyword):
        name: short key, e.g. "rosenbrock"; title: a formula for plot titles.
        minimum: (2,) float64, the global minimum (one of them, for the saddle); f_min: f there.
        bounds: (w1_low, w1_high, w2_low, w2_high), the region to draw.
        start: (2,) float64, a starting point that shows the surface's difficulty.
        lr: a learning rate at which every optimizer of ``nnutils.optim`` makes progress.
    """

    name = "surface"
    title = "f(w)"

    def __init__(self, *, name=None, title=None, minimum=(0.0, 0.0), f_min=0.0,
                 bounds=(-2.0, 2.0, -2.0, 2.0), start=(-1.5, 1.5), lr=0.01):
        cls = type(self).__name__
        self.name = str(name or self.name)
        self.title = str(title or self.title)
        self.minimum = _point(minimum, "minimum", cls)
        self.f_min = float(check_scalar(f_min, "f_min", cls))
        b = as_float_array(bounds, "bounds", cls, ndim=1, dims="(w1_low, w1_high, w2_low,"
                           " w2_high)")
        check_shape(b, (4,), "bounds", cls, "= (w1_low, w1_high, w2_low, w2_high)")
        if not (np.all(np.isfinite(b)) and b[0] < b[1] and b[2] < b[3]):
            raise ValueError(f"{cls}: bounds must be finite with w1_low < w1_high and w2_low <"
                             f" w2_high; got {tuple(b)}")
        self.bounds = tuple(float(v) for v in b)
        self.start = _point(start, "start", cls)
        self.lr = float(check_scalar(lr, "lr", cls, low=0, low_open=True))
        self._grids: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, minimum={tuple(self.minimum)})"

    # ---- the loss and its gradient ---------------------------------------------------------

    def _f(self, w1, w2):
        raise NotImplementedError(f"{type(self).__name__} must define _f(w1, w2)")

    def _grad(self, w1, w2):
        raise NotImplementedError(f"{type(self).__name__} must define _grad(w1, w2)")

    def f(self, w):
        """The loss at w: (..., 2) -> (...), in w's dtype (float32 stays float32)."""
        w = _points(w, f"{type(self).__name__}.f")
        return np.asarray(self._f(w[..., 0], w[..., 1]), dtype=w.dtype)

    __call__ = f

    def grad(self, w):
        """The gradient (∂f/∂w1, ∂f/∂w2) at w: (..., 2) -> (..., 2), in w's dtype."""
        w = _points(w, f"{type(self).__name__}.grad")
        g1, g2 = self._grad(w[..., 0], w[..., 1])
        return np.stack(np.broadcast_arrays(g1, g2), axis=-1).astype(w.dtype, copy=False)

    def _gradient(self, w: np.ndarray) -> np.ndarray | None:
        """The gradient at one float64 point (2,) as a new (2,) array, or None where it is not
        finite; no input checks. Python floats make the arithmetic of one point fast."""
        g1, g2 = self._grad(float(w[0]), float(w[1]))
        if not (math.isfinite(g1) and math.isfinite(g2)):
            return None
        return np.array([g1, g2], dtype=np.float64)

    # ---- what a contour plot needs ---------------------------------------------------------

    def grid(self, resolution=120):
        """The surface on a grid over ``bounds``: (W1, W2, F), each (resolution, resolution).

        W1 varies along the columns and W2 along the rows (``numpy.meshgrid``), as
        ``matplotlib``'s ``contour(W1, W2, F)`` wants. Computed once per resolution and kept;
        the arrays returned are read-only.
        """
        resolution = int(check_scalar(resolution, "resolution", "Surface.grid", low=2,
                                      integer=True))
        if resolution not in self._grids:
            x0, x1, y0, y1 = self.bounds
            W1, W2 = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
            F = np.asarray(self._f(W1, W2), dtype=np.float64)
            for arr in (W1, W2, F):
                arr.setflags(write=False)
            self._grids[resolution] = (W1, W2, F)
        return self._grids[resolution]

    def levels(self, count=20, resolution=120):
        """``count`` contour levels, f_min + geometrically spaced gaps, increasing.

        The gaps run from the 0.5th to the 95th percentile of f − f_min over the grid, so that
        flat valleys (Rosenbrock's) and steep walls both get lines.
        """
        count = int(check_scalar(count, "count", "Surface.levels", low=2, integer=True))
        gap = self.grid(resolution)[2] - self.f_min
        gap = gap[np.isfinite(gap) & (gap > 0)]
        low, high = np.percentile(gap, [0.5, 95.0])
        low = max(low, high * 1e-6)
        return self.f_min + np.geomspace(low, high, count)


def _point(p, name: str, func: str) -> np.ndarray:
    arr = as_float_array(p, name, func, ndim=1, dims="(2,)")
    check_shape(arr, (2,), name, func, "(one point (w1, w2))")
    check_finite(arr, name, func)
    return np.array(arr, dtype=np.float64)


def _points(w, func: str) -> np.ndarray:
    w = as_float_array(w, "w", func)
    if w.ndim == 0 or w.shape[-1] != 2:
        raise ValueError(f"{func}: w must have shape (..., 2), one point (w1, w2) in the last"
                         f" axis; got {w.shape}")
    return w


# --------------------------------------------------------------------------------------------
# The surfaces
# --------------------------------------------------------------------------------------------

class Quadratic(Surface):
    """f(w) = ½·(w − m)ᵀ H (w − m) + f_min, with a symmetric positive definite Hessian H.

    hessian: (2, 2) symmetric positive definite; minimum: m, (2,); f_min: the value there.
    The contours are ellipses with axes along H's eigenvectors, the long axis 1/√λ_min and the
    short one 1/√λ_max: the condition number κ = λ_max / λ_min says how elongated they are.
    Gradient descent converges for lr < 2 / λ_max and needs about κ steps to do so.
    ``rotated(angle, a, b)`` builds the Hessian with eigenvalues a and b rotated by ``angle``.
    """

    name = "quadratic"
    title = "½ (w − m)ᵀ H (w − m)"

    def __init__(self, hessian, minimum=(0.0, 0.0), f_min=0.0, **kw):
        H = as_float_array(hessian, "hessian", "Quadratic", ndim=2, dims="(2, 2)")
        check_shape(H, (2, 2), "hessian", "Quadratic")
        check_finite(H, "hessian", "Quadratic")
        if not np.allclose(H, H.T, rtol=1e-10, atol=1e-12 * float(np.abs(H).max())):
            raise ValueError(f"Quadratic: hessian must be symmetric; got {H.tolist()}")
        H = 0.5 * (H + H.T)                  # exactly symmetric (rounding in a rotation)
        eig = np.linalg.eigvalsh(H)
        if eig[0] <= 0:
            raise ValueError(f"Quadratic: hessian must be positive definite (a bowl with one"
                             f" minimum); its eigenvalues are {eig.tolist()}")
        self.hessian = np.array(H, dtype=np.float64)
        self.eigenvalues = eig
        super().__init__(minimum=minimum, f_min=f_min, **kw)

    @staticmethod
    def rotated(angle, a, b, **kw):
        """A Quadratic whose Hessian has eigenvalues a (along the direction at ``angle``
        radians from the w1 axis) and b (perpendicular to it)."""
        c, s = math.cos(angle), math.sin(angle)
        R = np.array([[c, -s], [s, c]])
        return Quadratic(R @ np.diag([float(a), float(b)]) @ R.T, **kw)

    @property
    def condition_number(self) -> float:
        """κ = λ_max / λ_min of the Hessian."""
        return float(self.eigenvalues[1] / self.eigenvalues[0])

    def _f(self, w1, w2):
        d1, d2 = w1 - self.minimum[0], w2 - self.minimum[1]
        (h11, h12), (_, h22) = self.hessian
        return 0.5 * (h11 * d1 * d1 + 2 * h12 * d1 * d2 + h22 * d2 * d2) + self.f_min

    def _grad(self, w1, w2):
        d1, d2 = w1 - self.minimum[0], w2 - self.minimum[1]
        (h11, h12), (_, h22) = self.hessian
        return h11 * d1 + h12 * d2, h12 * d1 + h22 * d2


class Saddle(Surface):
    """f(w) = ½·w1² + ¼·w2⁴ − ½·w2²: a saddle at the origin between minima at (0, ±1).

    Along w1 the surface curves up, along w2 it curves down at the origin (Hessian diag(1, −1))
    and then up again, so f = −¼ at the two minima (0, ±1). A start on or near the line w2 = 0
    rolls towards the saddle, where the gradient vanishes: plain gradient descent lingers
    there, and leaves only as fast as the tiny w2 offset grows.
    """

    name = "saddle"
    title = "½ w₁² + ¼ w₂⁴ − ½ w₂²"

    def __init__(self, **kw):
        kw = {"minimum": (0.0, 1.0), "f_min": -0.25, "bounds": (-2.5, 2.5, -1.6, 1.6),
              "start": (-2.2, 0.02), "lr": 0.05, **kw}
        super().__init__(**kw)

    def _f(self, w1, w2):
        w2sq = w2 * w2
        return 0.5 * w1 * w1 + 0.25 * w2sq * w2sq - 0.5 * w2sq

    def _grad(self, w1, w2):
        return w1 * 1.0, w2 * w2 * w2 - w2


class Rosenbrock(Surface):
    """f(w) = (a − w1)² + b·(w2 − w1²)², minimum 0 at (a, a²); a = 1 and b = 100 by default.

    The valley w2 = w1² is easy to find and hard to follow: across it the surface is steep
    (curvature about 2b·(1 + 4w1²)), along it almost flat.
        ∂f/∂w1 = −2(a − w1) − 4b·w1·(w2 − w1²),    ∂f/∂w2 = 2b·(w2 − w1²)
    """

    name = "rosenbrock"
    title = "(1 − w₁)² + 100 (w₂ − w₁²)²"

    def __init__(self, a=1.0, b=100.0, **kw):
        self.a = float(check_scalar(a, "a", "Rosenbrock"))
        self.b = float(check_scalar(b, "b", "Rosenbrock", low=0, low_open=True))
        kw = {"minimum": (self.a, self.a ** 2), "f_min": 0.0, "bounds": (-2.0, 2.0, -1.0, 3.0),
              "start": (-1.2, 1.0), "lr": 1e-3, **kw}
        if (self.a, self.b) != (1.0, 100.0) and "title" not in kw:
            kw["title"] = f"({self.a:g} − w₁)² + {self.b:g} (w₂ − w₁²)²"
        super().__init__(**kw)

    def _f(self, w1, w2):
        valley = w2 - w1 * w1
        return (self.a - w1) * (self.a - w1) + self.b * valley * valley

    def _grad(self, w1, w2):
        valley = w2 - w1 * w1
        return -2 * (self.a - w1) - 4 * self.b * w1 * valley, 2 * self.b * valley


class Beale(Surface):
    """f(w) = Σ_k (c_k − w1 + w1·w2^k)² for k = 1, 2, 3 and c = (1.5, 2.25, 2.625).

    Minimum 0 at (3, ½). Large flat regions where the gradient is tiny sit next to steep walls
    where it is huge (f reaches about 10⁵ in the corners of [−4.5, 4.5]²): a test of how an
    optimizer copes with gradients of very different sizes.
        ∂f/∂w1 = Σ_k 2 r_k·(w2^k − 1),   ∂f/∂w2 = Σ_k 2 r_k·k·w1·w2^(k−1),
    with the residuals r_k = c_k − w1 + w1·w2^k.
    """

    name = "beale"
    title = "Beale's function"
    _C = (1.5, 2.25, 2.625)

    def __init__(self, **kw):
        kw = {"minimum": (3.0, 0.5), "f_min": 0.0, "bounds": (-4.5, 4.5, -4.5, 4.5),
              "start": (-1.0, -1.5), "lr": 3e-3, **kw}
        super().__init__(**kw)

    def _f(self, w1, w2):
        total = 0.0
        power = 1.0
        for c in self._C:
            power = power * w2
            r = c - w1 + w1 * power
            total = total + r * r
        return total

    def _grad(self, w1, w2):
        g1 = g2 = 0.0
        power_before = 1.0                        # w2^(k-1)
        for k, c in enumerate(self._C, start=1):
            power = power_before * w2             # w2^k
            r = c - w1 + w1 * power
            g1 = g1 + 2 * r * (power - 1)
            g2 = g2 + 2 * r * k * w1 * power_before
            power_before = power
        return g1, g2


def least_squares(X, y, **kw):
    """The mean squared error of a linear model with two weights, as a ``Quadratic``.

    X: (N, 2) inputs, y: (N,) targets. f(w) = ½·mean((X w − y)²), so the Hessian is XᵀX / N,
    the minimum is the least-squares solution m = (XᵀX)⁻¹ Xᵀy and f_min = f(m). No bias: centre
    X and y first if the model needs one. kw: ``Surface`` settings (name, bounds, start, lr...);
    by default the bounds reach three times the distance of the minimum from the origin.
    """
    func = "least_squares"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, 2)")
    check_shape(X, (None, 2), "X", func, "(N samples, 2 features)")
    y = as_float_array(y, "y", func, ndim=1, dims="(N,)")
    check_shape(y, (X.shape[0],), "y", func, "(one target per row of X)")
    check_finite(X, "X", func)
    check_finite(y, "y", func)
    X = X.astype(np.float64, copy=False)
    y = y.astype(np.float64, copy=False)
    n = X.shape[0]
    H = X.T @ X / n
    if np.linalg.matrix_rank(H) < 2:
        raise ValueError(f"{func}: the two columns of X must not be proportional (XᵀX must be"
                         f" invertible) for the loss to have one minimum")
    m = np.linalg.solve(H, X.T @ y / n)
    residual = X @ m - y
    f_min = 0.5 * float(residual @ residual) / n
    reach = 3 * np.maximum(np.abs(m), 1e-12)
    kw = {"name": "least squares", "title": "½ mean((Xw − y)²)",
          "bounds": (-reach[0], reach[0], -reach[1], reach[1]), "start": (0.0, 0.0),
          "lr": 1.0 / float(np.linalg.eigvalsh(H)[1]), **kw}
    return Quadratic(H, minimum=m, f_min=f_min, **kw)


#: The lecture's surfaces: the ill-conditioned quadratic (κ = 20) axis-aligned and rotated by
#: 45°, the saddle, Rosenbrock's valley and Beale's function.
SURFACES = {
    "quadratic": Quadratic(np.diag([1.0, 20.0]), name="quadratic",
                           title="½ (w₁² + 20 w₂²)", bounds=(-3.0, 3.0, -1.5, 1.5),
                           start=(-2.6, 1.0), lr=0.05),
    "rotated quadratic": Quadratic.rotated(math.pi / 4, 1.0, 20.0, name="rotated quadratic",
                                           title="the same bowl, turned by 45°",
                                           bounds=(-3.0, 3.0, -3.0, 3.0), start=(-2.4, 1.0),
                                           lr=0.05),
    "saddle": Saddle(),
    "rosenbrock": Rosenbrock(),
    "beale": Beale(),
}


# --------------------------------------------------------------------------------------------
# Following an update rule across a surface
# --------------------------------------------------------------------------------------------

def run_optimizer(name, surface, start, lr, steps, **hyper):
    """The path of one update rule of ``nnutils.optim`` on a surface: (steps + 1, 2) float64.

    name: "sgd", "momentum", "nesterov", "adagrad", "rmsprop" or "adam".
    surface: a ``Surface`` (its ``grad`` is evaluated at each iterate).
    start: (2,) the first iterate w_0 (None: the surface's ``start``).
    lr: learning rate >= 0; steps: number of updates >= 0.
    hyper: the rule's hyperparameters (beta; eps; decay, eps; beta1, beta2, eps), with the
        defaults of ``nnutils.optim.OPTIMIZERS``.
    Row t of the result is w_t, the iterate after t updates, each made by the rule's contract
    step function (``sgd_step``, ``momentum_step``, ...) from the gradient at w_(t−1), its state
    (velocity, cache, moments) starting at zeros and Adam's t at 1. If an iterate gets farther
    than ``DIVERGED`` from the origin or a gradient is not finite, that row and all later ones
    are NaN (``diverged_at`` finds the first).
    """
    func = "run_optimizer"
    steps = int(check_scalar(steps, "steps", func, low=0, integer=True))
    return PathRunner(name, surface, start, lr, **hyper).extend(steps)


class PathRunner:
    """A path that can be made longer: ``run_optimizer`` one piece at a time.

    ``PathRunner(name, surface, start, lr, **hyper)`` checks its arguments like
    ``run_optimizer`` and holds the iterate and the rule's state; ``extend(steps)`` takes
    updates until the path has ``steps`` of them and returns the (steps + 1, 2) path so far
    (the same numbers ``run_optimizer`` gives). A widget keeps one per setting, so that moving
    a "steps" slider computes only the new steps.
    """

    def __init__(self, name, surface, start, lr, **hyper):
        func = "run_optimizer"
        if name not in OPTIMIZERS:
            raise ValueError(f"{func}: unknown optimizer {name!r}; choose one of "
                             f"{', '.join(repr(k) for k in OPTIMIZERS)}")
        unknown = [k for k in hyper if k not in OPTIMIZERS[name]]
        if unknown:
            allowed = ", ".join(OPTIMIZERS[name]) or "none"
            raise TypeError(f"{func}: {name!r} takes no hyperparameter {', '.join(unknown)};"
                            f" its hyperparameters are: {allowed}")
        if not isinstance(surface, Surface):
            raise TypeError(f"{func}: surface must be an nnutils.surfaces.Surface (e.g."
                            f" SURFACES['rosenbrock']); got {type(surface).__name__}")
        w = surface.start.copy() if start is None else _point(start, "start", func)
        self.lr = float(check_scalar(lr, "lr", func, low=0))
        hp = {**OPTIMIZERS[name], **hyper}
        for key, value in hp.items():      # the step functions check them too, but later
            if key == "eps":
                hp[key] = float(check_scalar(value, key, func, low=0, low_open=True))
            else:
                hp[key] = float(check_scalar(value, key, func, low=0, high=1,
                                             high_open=True))
        self.name, self.surface, self.hyper = name, surface, hp
        self._rows = [w]
        self._w = w
        self._state = np.zeros(2)
        self._second = np.zeros(2)
        self._stopped = False         # diverged: every later row is NaN

    def extend(self, steps) -> np.ndarray:
        """Take updates until there are ``steps`` of them; return the (steps + 1, 2) path."""
        steps = int(check_scalar(steps, "steps", "PathRunner.extend", low=0, integer=True))
        rows, name, hp, lr = self._rows, self.name, self.hyper, self.lr
        w, state, second = self._w, self._state, self._second
        gradient = self.surface._gradient
        with np.errstate(over="ignore", invalid="ignore"):   # a diverging path is cut
            while len(rows) <= steps and not self._stopped:
                t = len(rows)
                dw = gradient(w)
                if dw is None:
                    self._stopped = True
                    break
                if name == "sgd":
                    w = sgd_step(w, dw, lr)
                elif name == "momentum":
                    w, state = momentum_step(w, dw, state, lr, hp["beta"])
                elif name == "nesterov":
                    w, state = nesterov_step(w, dw, state, lr, hp["beta"])
                elif name == "adagrad":
                    w, state = adagrad_step(w, dw, state, lr, hp["eps"])
                elif name == "rmsprop":
                    w, state = rmsprop_step(w, dw, state, lr, hp["decay"], hp["eps"])
                else:
                    w, state, second = adam_step(w, dw, state, second, t, lr, hp["beta1"],
                                                 hp["beta2"], hp["eps"])
                if not (abs(w[0]) < DIVERGED and abs(w[1]) < DIVERGED):   # NaN too
                    self._stopped = True
                    break
                rows.append(w)
        self._w, self._state, self._second = w, state, second
        path = np.full((steps + 1, 2), np.nan)
        done = min(len(rows), steps + 1)
        path[:done] = rows[:done]
        return path


def diverged_at(path):
    """The first step t whose row of ``path`` (K, 2) is not finite, or None if none is."""
    arr = as_float_array(path, "path", "diverged_at", ndim=2, dims="(K, 2)")
    bad = np.flatnonzero(~np.all(np.isfinite(arr), axis=1))
    return int(bad[0]) if bad.size else None
