"""The course's data: Playground 2-D sets, feature maps, the 8x8 digits, a text, sequence tasks.

Five families, in the order the lectures meet them:

1. **The TensorFlow Playground's data sets** (lectures 1, 2 and the playground notebook). The
   generators follow the Playground's own code (``src/dataset.ts``): the same shapes, radii,
   margins, label rules and noise model. ``noise`` is the Playground's slider, a percentage from
   0 to 50, used internally as ``noise / 100`` exactly as the Playground does. Classification sets
   have labels +1/-1; regression sets have targets in [-1, 1]. Like the Playground, every set is
   returned shuffled.
2. **Feature maps** (``FEATURES``, ``feature_map``): the Playground's seven input features.
3. **Linearly separable data** for the perceptron, with the true separating line.
4. **scikit-learn's 8x8 digits** (shipped inside scikit-learn, nothing is downloaded), split
   stratified into train/validation/test and standardized with training statistics only.
5. **Text and sequences** (lecture 7): the course's own character corpus, a character vocabulary,
   mini-batches of windows, and three synthetic long-range tasks (adding, copy, parity over a
   gap) on which a plain RNN struggles and an LSTM does not.

Every random draw comes from the ``rng`` argument (a ``numpy.random.Generator``), so a data set
is a function of its arguments and the generator's state.
"""

import functools
import importlib.resources
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, check_finite, check_labels, check_scalar, check_shape

#: Sample counts the Playground uses for classification and for regression problems.
NUM_SAMPLES_CLASSIFY = 500
NUM_SAMPLES_REGRESS = 1200


def _check_rng(rng, func: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator, e.g."
                        f" np.random.default_rng(0); got {type(rng).__name__}")
    return rng


def _check_n_noise(n, noise, func: str) -> tuple[int, float]:
    n = check_scalar(n, "n", func, low=1, integer=True)
    noise = check_scalar(noise, "noise", func, low=0, high=50)
    return int(n), float(noise) / 100.0


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    order = rng.permutation(X.shape[0])
    return X[order], y[order]


# --------------------------------------------------------------------------------------------
# 1. The Playground's data sets
# --------------------------------------------------------------------------------------------

def make_circle(n, noise, rng):
    """The Playground's "circle": a blue disc inside an orange ring.

    n: number of points; ceil(n/2) are drawn in the disc and floor(n/2) in the ring.
    noise: the Playground's noise slider, 0 to 50 (percent); rng: numpy Generator.
    Disc points have radius r ~ U(0, 2.5), ring points r ~ U(3.5, 5), angles ~ U(0, 2*pi).
    Noise does not move the points: as in the Playground, each point is labelled by where a
    jittered copy p + e falls, e ~ U(-5, 5)^2 * noise/100, with label +1 if |p + e| < 2.5 and
    -1 otherwise. Without noise the classes are therefore separated by the radius.
    Returns X: (n, 2) float64 and y: (n,) float64 of +1/-1, shuffled.
    """
    func = "make_circle"
    n, noise = _check_n_noise(n, noise, func)
    rng = _check_rng(rng, func)
    radius = 5.0
    n_in = n - n // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, n_in),
                        rng.uniform(radius * 0.7, radius, n // 2)])
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise
    y = np.where(np.linalg.norm(X + jitter, axis=1) < radius * 0.5, 1.0, -1.0)
    return _shuffled(X, y, rng)


def make_xor(n, noise, rng):
    """The Playground's "exclusive or": the label is the sign of x1*x2.

    n: number of points; noise: 0 to 50 (percent); rng: numpy Generator.
    Each coordinate is drawn from U(-5, 5) and pushed 0.3 away from zero (the Playground's
    padding, which leaves a small empty margin along both axes). The label is +1 where
    (x1 + e1)(x2 + e2) >= 0 and -1 otherwise, with e ~ U(-5, 5)^2 * noise/100; noise flips labels
    near the axes but does not move the points.
    Returns X: (n, 2) float64 in [-5.3, 5.3]^2 and y: (n,) float64 of +1/-1, shuffled.
    """
    func = "make_xor"
    n, noise = _check_n_noise(n, noise, func)
    rng = _check_rng(rng, func)
    padding = 0.3
    X = rng.uniform(-5, 5, (n, 2))
    X += np.where(X > 0, padding, -padding)
    jitter = rng.uniform(-5, 5, (n, 2)) * noise
    moved = X + jitter
    y = np.where(moved[:, 0] * moved[:, 1] >= 0, 1.0, -1.0)
    return _shuffled(X, y, rng)


def make_gaussian(n, noise, rng):
    """The Playground's "Gaussian": two round blobs, +1 around (2, 2) and -1 around (-2, -2).

    n: number of points, ceil(n/2) labelled +1 and floor(n/2) labelled -1; noise: 0 to 50
    (percent); rng: numpy Generator.
    Here noise widens the blobs: the variance grows linearly from 0.5 at noise 0 to 4 at noise 50,
    variance = 0.5 + 7 * noise/100, and each coordinate is normal with that variance.
    Returns X: (n, 2) float64 and y: (n,) float64 of +1/-1, shuffled.
    """
    func = "make_gaussian"
    n, noise = _check_n_noise(n, noise, func)
    rng = _check_rng(rng, func)
    variance = 0.5 + (4.0 - 0.5) * noise / 0.5
    n_pos = n - n // 2
    centres = np.concatenate([np.full((n_pos, 2), 2.0), np.full((n // 2, 2), -2.0)])
    X = centres + np.sqrt(variance) * rng.standard_normal((n, 2))
    y = np.concatenate([np.ones(n_pos), -np.ones(n // 2)])
    return _shuffled(X, y, rng)


def _spiral_arm(m: int, delta: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    i = np.arange(m, dtype=np.float64)
    r = i / m * 5.0
    t = 1.75 * i / m * 2 * np.pi + delta
    xy = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return xy + rng.uniform(-1, 1, (m, 2)) * noise


def make_spiral(n, noise, rng):
    """The Playground's "spiral": two interleaved arms, the second the first turned by pi.

    n: number of points, ceil(n/2) on the +1 arm and floor(n/2) on the -1 arm; noise: 0 to 50
    (percent); rng: numpy Generator.
    Point i of an arm with m points sits at radius r = 5 i/m and angle t = 1.75 * 2*pi * i/m + d
    (d = 0 for +1, pi for -1), at (r sin t, r cos t), moved by U(-1, 1)^2 * noise/100.
    Returns X: (n, 2) float64 and y: (n,) float64 of +1/-1, shuffled.
    """
    func = "make_spiral"
    n, noise = _check_n_noise(n, noise, func)
    rng = _check_rng(rng, func)
    n_pos = n - n // 2
    arms = [_spiral_arm(n_pos, 0.0, noise, rng)]
    if n // 2:
        arms.append(_spiral_arm(n // 2, np.pi, noise, rng))
    X = np.concatenate(arms)
    y = np.concatenate([np.ones(n_pos), -np.ones(n // 2)])
    return _shuffled(X, y, rng)


def make_reg_plane(n, noise, rng):
    """The Playground's regression "plane": the target rises linearly along x1 + x2.

    n: number of points; noise: 0 to 50 (percent); rng: numpy Generator.
    Points are uniform in [-6, 6]^2. The target is (x1 + e1 + x2 + e2) / 10 with
    e ~ U(-6, 6)^2 * noise/100, the Playground's scale from [-10, 10] to [-1, 1]. The Playground
    lets the corners reach +-1.2 (more with noise); here targets are clipped to [-1, 1], the range
    its colour scale shows.
    Returns X: (n, 2) float64 and y: (n,) float64 in [-1, 1], shuffled.
    """
    func = "make_reg_plane"
    n, noise = _check_n_noise(n, noise, func)
    rng = _check_rng(rng, func)
    radius = 6.0
    X = rng.uniform(-radius, radius, (n, 2))
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise
    y = np.clip((X + jitter).sum(axis=1) / 10.0, -1.0, 1.0)
    return _shuffled(X, y, rng)


_REG_GAUSSIANS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                           [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=np.float64)


def make_reg_gauss(n, noise, rng):
    """The Playground's "multi Gaussian" regression: six bumps of alternating sign.

    n: number of points; noise: 0 to 50 (percent); rng: numpy Generator.
    Bumps sit at (-4, 2.5), (0, 2.5), (4, 2.5) with signs +, -, + and at (-4, -2.5), (0, -2.5),
    (4, -2.5) with signs -, +, -. Bump k contributes s_k * max(0, 1 - d_k / 2), d_k the distance
    to its centre; the target is the contribution of largest magnitude (the first on a tie, 0
    far from every bump). Points are uniform in [-6, 6]^2 and, as in the Playground, the target is
    taken at the jittered point x + e, e ~ U(-6, 6)^2 * noise/100.
    Returns X: (n, 2) float64 and y: (n,) float64 in [-1, 1], shuffled.
    """
    func = "make_reg_gauss"
    n, noise = _check_n_noise(n, noise, func)
    rng = _check_rng(rng, func)
    radius = 6.0
    X = rng.uniform(-radius, radius, (n, 2))
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise
    moved = X + jitter
    d = np.linalg.norm(moved[:, None, :] - _REG_GAUSSIANS[None, :, :2], axis=2)   # (n, 6)
    bumps = _REG_GAUSSIANS[None, :, 2] * np.clip(1.0 - d / 2.0, 0.0, 1.0)
    y = bumps[np.arange(n), np.argmax(np.abs(bumps), axis=1)]
    return _shuffled(X, y, rng)


#: The Playground's data sets by name: ``X, y = DATASETS[name](n, noise, rng)``.
DATASETS = {
    "circle": make_circle,
    "xor": make_xor,
    "gauss": make_gaussian,
    "spiral": make_spiral,
    "reg-plane": make_reg_plane,
    "reg-gauss": make_reg_gauss,
}
#: Which of ``DATASETS`` are classification problems and which are regression problems.
CLASSIFICATION_SETS = ("circle", "xor", "gauss", "spiral")
REGRESSION_SETS = ("reg-plane", "reg-gauss")


def train_test_split(X, y, train_ratio, rng):
    """Shuffle the rows of (X, y) and cut them into a training part and a test part.

    X: (N, ...) inputs; y: (N, ...) labels or targets; train_ratio: in (0, 1), the fraction that
    goes to training; rng: numpy Generator.
    The training part gets floor(N * train_ratio) rows, as in the Playground, and both parts must
    be non-empty. X and y keep their dtypes and are not modified.
    Returns (X_train, X_test, y_train, y_test), in scikit-learn's order.
    """
    func = "train_test_split"
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{func}: X and y must be arrays with one row per sample, X (N, ...) and"
                         f" y (N, ...); got shapes {X.shape} and {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{func}: X and y must have the same number of rows (N, ...); got"
                         f" X of shape {X.shape} and y of shape {y.shape}")
    for name, arr in (("X", X), ("y", y)):
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{func}: {name} must hold numbers; got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.inexact):
            check_finite(arr, name, func)
    train_ratio = check_scalar(train_ratio, "train_ratio", func, low=0, high=1,
                               low_open=True, high_open=True)
    rng = _check_rng(rng, func)
    n = X.shape[0]
    n_train = int(np.floor(n * train_ratio + 1e-9))
    if n_train < 1 or n_train > n - 1:
        raise ValueError(f"{func}: a train_ratio of {train_ratio} leaves {n_train} of {n} samples"
                         f" for training and {n - n_train} for testing; both parts must be"
                         f" non-empty")
    order = rng.permutation(n)
    train, test = order[:n_train], order[n_train:]
    return X[train], X[test], y[train], y[test]


# --------------------------------------------------------------------------------------------
# 2. Feature maps
# --------------------------------------------------------------------------------------------

#: The Playground's input features, each a function of the two coordinates (x1, x2).
FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}


def feature_map(X, names):
    """The Playground's input features of every point, as columns in the order asked for.

    X: (N, 2) points (x1, x2); names: a sequence of keys of ``FEATURES`` (one name alone is
    accepted too), e.g. ["x1", "x2", "x1x2"].
    Returns (N, len(names)) with column j = FEATURES[names[j]](x1, x2), in X's float dtype
    (float32 stays float32, everything else becomes float64).
    """
    func = "feature_map"
    X = as_float_array(X, "X", func, ndim=2, dims="(N, 2)")
    check_shape(X, (None, 2), "X", func, "(one row (x1, x2) per point)")
    check_finite(X, "X", func)
    if isinstance(names, str):
        names = [names]
    names = list(names) if isinstance(names, Sequence | np.ndarray) else names
    if not isinstance(names, list) or len(names) == 0:
        raise ValueError(f"{func}: names must be a non-empty list of feature names from"
                         f" {list(FEATURES)}; got {names!r}")
    unknown = [name for name in names if name not in FEATURES]
    if unknown:
        raise ValueError(f"{func}: unknown feature name(s) {unknown}; valid names are"
                         f" {list(FEATURES)}")
    x1, x2 = X[:, 0], X[:, 1]
    return np.stack([FEATURES[name](x1, x2) for name in names], axis=1).astype(X.dtype,
                                                                             copy=False)


# --------------------------------------------------------------------------------------------
# 3. Linearly separable data for the perceptron
# --------------------------------------------------------------------------------------------

def make_linearly_separable(n, rng, margin=0.5):
    """Points on both sides of a random line, none closer to it than ``margin``.

    n: number of points, ceil(n/2) labelled +1 and floor(n/2) labelled -1; rng: numpy
    Generator; margin: in [0, 2], the smallest distance of any point to the line.
    The line is w·x + b = 0 with w a random unit vector and b ~ U(-1, 1); points are uniform in
    [-5, 5]^2 (rejection sampling keeps those at distance >= margin), and y = sign(w·x + b).
    Because |w| = 1, w·x + b is the signed distance to the line, so y·(w·x + b) >= margin for
    every point: the data are separable with that margin, and the perceptron converges on them.
    Returns (X (n, 2) float64, y (n,) float64 of +1/-1 shuffled, w (2,) float64, b float).
    """
    func = "make_linearly_separable"
    n = int(check_scalar(n, "n", func, low=1, integer=True))
    rng = _check_rng(rng, func)
    margin = float(check_scalar(margin, "margin", func, low=0, high=2))
    angle = rng.uniform(0, 2 * np.pi)
    w = np.array([np.cos(angle), np.sin(angle)])
    b = float(rng.uniform(-1, 1))
    want = {1.0: n - n // 2, -1.0: n // 2}
    found: dict[float, list[np.ndarray]] = {1.0: [], -1.0: []}
    while any(sum(len(p) for p in found[s]) < want[s] for s in want):
        candidates = rng.uniform(-5, 5, (4 * n + 16, 2))
        score = candidates @ w + b
        found[1.0].append(candidates[score >= margin])
        found[-1.0].append(candidates[score <= -margin])
    X = np.concatenate([np.concatenate(found[s])[:want[s]] for s in (1.0, -1.0)])
    y = np.concatenate([np.ones(want[1.0]), -np.ones(want[-1.0])])
    X, y = _shuffled(X, y, rng)
    return X, y, w, b


# --------------------------------------------------------------------------------------------
# 4. scikit-learn's 8x8 digits
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Digits:
    """The digits split three ways (see ``load_digits``).

    X_*: (n, 64) flat images or (n, 1, 8, 8) images; y_*: (n,) int64 labels 0..9.
    mean: the training mean image subtracted, shaped like one image ((64,) or (1, 8, 8)), and
    std: the training standard deviation divided by (a float); both None when not normalized.
    To show a standardized image again: ``x * std + mean`` gives pixel values in [0, 1].
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray | None = None
    std: float | None = None


@functools.lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits once per process: images (1797, 8, 8) in [0, 1] and labels, read-only."""
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _stratified_indices(labels: np.ndarray, split: tuple[float, float, float],
                        rng: np.random.Generator) -> list[np.ndarray]:
    parts: list[list[np.ndarray]] = [[], [], []]
    cuts = np.cumsum(split)[:2]
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        a, b = (int(round(len(members) * cut)) for cut in cuts)
        for part, chunk in zip(parts, (members[:a], members[a:b], members[b:]), strict=True):
            part.append(chunk)
    return [rng.permutation(np.concatenate(part)) for part in parts]


def load_digits(split=(0.6, 0.2, 0.2), seed=0, flatten=True, normalize=True, dtype=np.float64):
    """scikit-learn's 1797 8x8 handwritten digits, split into train, validation and test.

    split: fractions (train, val, test), each >= 0, train > 0, summing to 1.
    seed: the split's seed (an int); the same seed gives the same split on every machine.
    flatten: True gives images as (n, 64) rows, False as (n, 1, 8, 8) for convolutions.
    normalize: standardize the pixels (see below); dtype: float64 or float32.
    The split is stratified: within each class, the first round(n_c * train) shuffled samples go to
    training and the next ones to validation, so every part holds the ten classes in (almost) the
    proportions of the whole. Each part is then shuffled.
    Pixels are first scaled from 0..16 to [0, 1]. With ``normalize``, x <- (x - mean) / std where
    mean is the mean TRAINING image (per pixel) and std the standard deviation of all training
    pixels after centring (one number): only training statistics are used, so nothing about the
    validation or test images leaks into training. (A per-pixel std would blow up the border
    pixels that are almost always 0.)
    The raw data are loaded once per process and cached; every call returns new arrays, so
    writing into them cannot change what later calls return.
    Returns a ``Digits`` with X_train, y_train, X_val, y_val, X_test, y_test, mean, std.
    """
    func = "load_digits"
    try:
        split = tuple(float(check_scalar(s, "split", func, low=0)) for s in split)
    except TypeError:
        raise TypeError(f"{func}: split must be three fractions (train, val, test); got"
                        f" {split!r}") from None
    if len(split) != 3 or split[0] <= 0 or abs(sum(split) - 1.0) > 1e-6:
        raise ValueError(f"{func}: split must be three fractions (train, val, test) >= 0 with"
                         f" train > 0, summing to 1; got {split!r}")
    seed = check_scalar(seed, "seed", func, low=0, integer=True)
    dtype = np.dtype(dtype)
    if dtype not in (np.float64, np.float32):
        raise TypeError(f"{func}: dtype must be float64 or float32; got {dtype}")
    images, labels = _raw_digits()
    rng = np.random.default_rng(seed)
    train, val, test = _stratified_indices(labels, split, rng)
    if len(train) < 2:
        raise ValueError(f"{func}: split={split!r} leaves {len(train)} training image(s); the"
                         f" training part needs at least 2 (standardization needs a spread)")
    X_all = images.reshape(len(images), 64) if flatten else images[:, None, :, :]
    X_train, X_val, X_test = (X_all[idx] for idx in (train, val, test))   # fancy index: copies
    mean = std = None
    if normalize:
        mean = X_train.mean(axis=0)
        std = float((X_train - mean).std())
        X_train, X_val, X_test = ((X - mean) / std for X in (X_train, X_val, X_test))
        mean = mean.astype(dtype)
    return Digits(X_train.astype(dtype, copy=False), labels[train].copy(),
                  X_val.astype(dtype, copy=False), labels[val].copy(),
                  X_test.astype(dtype, copy=False), labels[test].copy(), mean, std)


# --------------------------------------------------------------------------------------------
# 5. Text and long-range sequence tasks
# --------------------------------------------------------------------------------------------

def corrupt_labels(y, fraction, num_classes, rng):
    """A copy of the labels with a random ``fraction`` of them replaced by random classes.

    y: (N,) integer labels in 0..num_classes−1; fraction in [0, 1]; rng: numpy Generator.
    Each chosen label is redrawn uniformly from all classes, so about fraction·(1 − 1/K) of the
    labels end up wrong, as in a data set labelled in a hurry. Small training sets with noisy
    labels are where a network overfits most visibly (lecture 5, assignment 4).
    """
    func = "corrupt_labels"
    num_classes = check_scalar(num_classes, "num_classes", func, low=1, integer=True)
    y = check_labels(y, len(np.asarray(y)), num_classes, func)
    fraction = check_scalar(fraction, "fraction", func, low=0, high=1)
    rng = _check_rng(rng, func)
    out = y.copy()
    chosen = rng.random(len(out)) < fraction
    out[chosen] = rng.integers(0, num_classes, size=int(chosen.sum()))
    return out


def _corpus_dir():
    return importlib.resources.files("nnutils") / "corpus"


def load_corpus(name="course", lower=False):
    """The text of a corpus shipped in ``nnutils/corpus/<name>.txt``.

    name: the corpus ("course" is the course's own English text, about 12 KB of ASCII);
    lower: lower-case the text, which shrinks the vocabulary for a small character model.
    Returns the text as one str.
    """
    func = "load_corpus"
    available = sorted(p.name[:-4] for p in _corpus_dir().iterdir() if p.name.endswith(".txt"))
    if not isinstance(name, str) or name not in available:
        raise ValueError(f"{func}: name must be one of the shipped corpora {available}; got"
                         f" {name!r}")
    text = (_corpus_dir() / f"{name}.txt").read_text(encoding="ascii")
    return text.lower() if lower else text


class CharVocab:
    """A character vocabulary: each distinct character of a text gets an id 0..size-1.

    CharVocab(text): the characters of ``text``, sorted, so the ids do not depend on the order in
    which characters first appear. ``chars`` lists them (chars[i] has id i), ``stoi`` maps a
    character to its id, ``size`` (also ``len(vocab)``) counts them.
    """

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError(f"CharVocab: text must be a non-empty str; got {text!r:.40}")
        self.chars: tuple[str, ...] = tuple(sorted(set(text)))
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.chars)}

    @property
    def size(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharVocab(size={self.size}, chars={''.join(self.chars)!r})"

    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of ``text``: returns (len(text),) int64."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.encode: text must be a str; got {type(text).__name__}")
        unknown = sorted(set(text) - set(self.stoi))
        if unknown:
            raise ValueError(f"CharVocab.encode: text holds characters the vocabulary does not"
                             f" know: {unknown[:10]}; the vocabulary is {''.join(self.chars)!r}")
        return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        """The text spelled by ``ids``: (T,) integers in 0..size-1."""
        arr = np.asarray(ids)
        if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
            raise ValueError(f"CharVocab.decode: ids must be a 1-D array of integer ids (T,);"
                             f" got shape {arr.shape} and dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= self.size):
            raise ValueError(f"CharVocab.decode: ids must lie in 0..{self.size - 1}; got values"
                             f" from {arr.min()} to {arr.max()}")
        return "".join(self.chars[i] for i in arr.tolist())


def char_batches(ids, seq_len, batch_size, rng) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of mini-batches of windows of a text, for next-character prediction.

    ids: (L,) integer ids of the text; seq_len: T, the window length; batch_size: B;
    rng: numpy Generator.
    The text is cut into non-overlapping windows of T + 1 characters starting at a random offset
    in [0, T) (a new offset every epoch, so windows do not always start at the same places);
    the windows are shuffled and grouped B at a time, the last batch holding the rest.
    Yields (inputs (B, T), targets (B, T)) int64 with targets[:, t] = inputs[:, t + 1] within
    the text: each target is the character that follows its input.
    The arguments are checked when this function is called, before the first batch is asked for.
    """
    func = "char_batches"
    arr = np.asarray(ids)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{func}: ids must be a 1-D array of integer ids (L,); got shape"
                         f" {arr.shape} and dtype {arr.dtype}")
    T = int(check_scalar(seq_len, "seq_len", func, low=1, integer=True))
    B = int(check_scalar(batch_size, "batch_size", func, low=1, integer=True))
    rng = _check_rng(rng, func)
    if arr.shape[0] < T + 1:
        raise ValueError(f"{func}: ids must hold at least seq_len + 1 = {T + 1} ids for one"
                         f" window and its targets; got {arr.shape[0]}")
    arr = arr.astype(np.int64)

    def batches():
        offset = int(rng.integers(0, min(T - 1, arr.shape[0] - T - 1) + 1))
        starts = np.arange(offset, arr.shape[0] - T, T)
        starts = starts[rng.permutation(len(starts))]
        steps = np.arange(T + 1)
        for k in range(0, len(starts), B):
            windows = arr[starts[k:k + B, None] + steps[None, :]]
            yield windows[:, :-1], windows[:, 1:]

    return batches()


def _check_seq_args(n, T, rng, func: str, min_T: int = 2) -> tuple[int, int]:
    n = int(check_scalar(n, "n", func, low=1, integer=True))
    T = int(check_scalar(T, "T", func, low=min_T, integer=True))
    _check_rng(rng, func)
    return n, T


def make_adding_problem(n, T, rng):
    """The adding problem (Hochreiter and Schmidhuber, 1997): add two numbers seen long ago.

    n: number of sequences; T >= 2: their length; rng: numpy Generator.
    Each step carries two inputs: a value ~ U(0, 1) and a marker that is 1 at exactly two steps,
    one in the first half (t < T // 2) and one in the second half, and 0 elsewhere. The target
    is the sum of the two marked values, so the network must remember a value over about T/2
    steps while ignoring everything else. Always predicting 1 gives a mean squared error of
    1/6 ~ 0.167 (the variance of the sum): a model has learnt something only below that.
    Returns X: (n, T, 2) float64 (X[..., 0] values, X[..., 1] markers) and y: (n,) float64.
    """
    func = "make_adding_problem"
    n, T = _check_seq_args(n, T, rng, func)
    values = rng.uniform(0.0, 1.0, (n, T))
    first = rng.integers(0, T // 2, n)
    second = rng.integers(T // 2, T, n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=2), y


def make_copy_task(n, T, rng, n_symbols=8, length=10):
    """The copy-memory task: read a few symbols, wait T steps, then write them back.

    n: number of sequences; T >= 1: the delay; rng: numpy Generator; n_symbols: the alphabet
    size K; length: how many symbols to remember, S.
    Classes: 0 is "blank", 1..K the symbols, K + 1 the "go" marker. A sequence has T + 2S steps:
    S random symbols, T - 1 blanks, the go marker, then S blanks. The target is blank for the
    first T + S steps and then the S symbols in their original order.
    A model that guesses uniformly among the symbols after the marker, and blanks elsewhere, has
    cross-entropy S log(K) / (T + 2S) per step: the level to beat.
    Returns X: (n, T + 2S, K + 2) float64 one-hot inputs and y: (n, T + 2S) int64 target classes.
    """
    func = "make_copy_task"
    n, T = _check_seq_args(n, T, rng, func, min_T=1)
    K = int(check_scalar(n_symbols, "n_symbols", func, low=1, integer=True))
    S = int(check_scalar(length, "length", func, low=1, integer=True))
    symbols = rng.integers(1, K + 1, (n, S))
    steps = T + 2 * S
    inputs = np.zeros((n, steps), dtype=np.int64)
    inputs[:, :S] = symbols
    inputs[:, S + T - 1] = K + 1
    y = np.zeros((n, steps), dtype=np.int64)
    y[:, T + S:] = symbols
    X = np.eye(K + 2)[inputs]
    return X, y


def make_parity_over_gap(n, T, rng):
    """Parity over a gap: is the first bit of a sequence equal to its last bit?

    n: number of sequences; T >= 2: their length; rng: numpy Generator.
    Each step carries one random bit b_t, written as the input -1 or +1. The label is
    b_0 XOR b_(T-1): 1 where the first and last inputs differ, 0 where they agree. The T - 2 bits
    in between are noise, so the network must carry the first bit across the gap and combine it
    nonlinearly with the last one; the two classes are equally likely (accuracy 0.5 by guessing).
    Returns X: (n, T, 1) float64 of -1/+1 and y: (n,) int64 of 0/1.
    """
    func = "make_parity_over_gap"
    n, T = _check_seq_args(n, T, rng, func)
    bits = rng.integers(0, 2, (n, T))
    y = (bits[:, 0] ^ bits[:, -1]).astype(np.int64)
    X = (2.0 * bits - 1.0)[:, :, None]
    return X, y


__all__ = [
    "NUM_SAMPLES_CLASSIFY", "NUM_SAMPLES_REGRESS", "make_circle", "make_xor", "make_gaussian",
    "make_spiral", "make_reg_plane", "make_reg_gauss", "DATASETS", "CLASSIFICATION_SETS",
    "REGRESSION_SETS", "train_test_split", "FEATURES", "feature_map", "make_linearly_separable",
    "Digits", "load_digits", "load_corpus", "CharVocab", "char_batches", "make_adding_problem",
    "make_copy_task", "make_parity_over_gap",
]
