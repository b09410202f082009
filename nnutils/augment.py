"""Data augmentation for images: random shifts and elastic distortions (lecture 5).

A convolutional network is built to be (nearly) indifferent to where a pattern sits, but not to
how it is bent. Augmentation teaches both by showing the network transformed copies of its
training images, labelled like the originals:

- ``random_shift`` moves every image by a few whole pixels, filling the uncovered border with 0.
- ``elastic_distort`` bends every image a little, like a hand writing the same digit twice
  (Simard, Steinkraus and Platt, "Best practices for convolutional neural networks applied to
  visual document analysis", ICDAR 2003). A random displacement field is drawn for every pixel,
  smoothed so that neighbouring pixels move together, scaled, and the image is resampled at the
  displaced positions with bilinear interpolation. sigma (the smoothing, in pixels) sets how
  elastic the distortion is; alpha (the scale, in pixels) sets how strong it is.

Both work on batches and use only NumPy: the Gaussian smoothing is a separable convolution written
as two small matrix products, and the bilinear sampling is four gathers.
"""

import functools

import numpy as np

from ._checks import as_float_array, check_finite, check_scalar


def _check_rng(rng, func: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator, e.g."
                        f" np.random.default_rng(0); got {type(rng).__name__}")
    return rng


def random_shift(images, max_shift, rng):
    """Shift every image by its own random whole-pixel offset, filling the border with zeros.

    images: (N, H, W) any real dtype; max_shift: integer >= 0; rng: numpy Generator.
    For each image n, offsets (dy_n, dx_n) are drawn independently and uniformly from the
    integers in [-max_shift, max_shift] (``rng.integers(-max_shift, max_shift + 1, (N, 2))``)
    and out[n, i, j] = images[n, i - dy_n, j - dx_n] where that pixel exists, else 0: a positive
    dy moves the content down, a positive dx to the right.
    max_shift may be as large as you like: an offset of H or more rows (W or more columns)
    pushes the whole image out of the frame and leaves zeros. max_shift = 0 returns a copy.
    Returns (N, H, W) of the same dtype; ``images`` is not modified.
    """
    func = "random_shift"
    arr = np.asarray(images)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{func}: images must hold real numbers; got dtype {arr.dtype}")
    if arr.ndim != 3:
        raise ValueError(f"{func}: images must be a 3-D array (N, H, W); got shape {arr.shape}")
    max_shift = int(check_scalar(max_shift, "max_shift", func, low=0, integer=True))
    rng = _check_rng(rng, func)
    N, H, W = arr.shape
    offsets = rng.integers(-max_shift, max_shift + 1, (N, 2))
    rows = np.arange(H)[None, :] - offsets[:, :1]          # (N, H): source row of each output row
    cols = np.arange(W)[None, :] - offsets[:, 1:]          # (N, W)
    inside = ((rows >= 0) & (rows < H))[:, :, None] & ((cols >= 0) & (cols < W))[:, None, :]
    gathered = arr[np.arange(N)[:, None, None],
                   np.clip(rows, 0, H - 1)[:, :, None],
                   np.clip(cols, 0, W - 1)[:, None, :]]
    return np.where(inside, gathered, np.zeros((), dtype=arr.dtype))


@functools.lru_cache(maxsize=32)
def _gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    """(n, n) matrix G with (G @ v)[i] = sum_j g(i - j) v[j]: 1-D Gaussian smoothing, zero padded.

    g is the Gaussian of standard deviation sigma truncated at 4 sigma and normalized to sum 1;
    sigma = 0 gives the identity. Read-only, because it is cached.
    """
    if sigma == 0:
        G = np.eye(n)
    else:
        radius = int(np.ceil(4 * sigma))
        taps = np.arange(-radius, radius + 1)
        kernel = np.exp(-0.5 * (taps / sigma) ** 2)
        kernel /= kernel.sum()
        d = np.arange(n)[:, None] - np.arange(n)[None, :]     # i - j
        G = np.where(np.abs(d) <= radius, kernel[np.clip(d + radius, 0, 2 * radius)], 0.0)
    G.setflags(write=False)
    return G


def _bilinear_sample(img: np.ndarray, sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
    """Sample img (N, H, W) at real positions sy, sx (N, H, W), zero outside the image."""
    N, H, W = img.shape
    padded = np.zeros((N, H + 2, W + 2), dtype=img.dtype)   # one ring of zeros around each image
    padded[:, 1:-1, 1:-1] = img
    y0 = np.floor(sy)
    x0 = np.floor(sx)
    wy = (sy - y0).astype(img.dtype)
    wx = (sx - x0).astype(img.dtype)
    # Positions beyond the ring all read the ring: clip to [-1, H] and shift by one for the pad.
    y0i = np.clip(y0, -1, H).astype(np.intp) + 1
    y1i = np.clip(y0 + 1, -1, H).astype(np.intp) + 1
    x0i = np.clip(x0, -1, W).astype(np.intp) + 1
    x1i = np.clip(x0 + 1, -1, W).astype(np.intp) + 1
    n = np.arange(N)[:, None, None]
    top = (1 - wx) * padded[n, y0i, x0i] + wx * padded[n, y0i, x1i]
    bottom = (1 - wx) * padded[n, y1i, x0i] + wx * padded[n, y1i, x1i]
    return (1 - wy) * top + wy * bottom


def elastic_distort(images, alpha, sigma, rng):
    """Elastic distortions of Simard et al. (2003): bend each image by a smooth random field.

    images: (H, W) one image or (N, H, W) a batch; alpha >= 0: the strength, in pixels;
    sigma >= 0: the smoothness, in pixels; rng: numpy Generator.
    For each image, two fields u, v (H, W) are drawn uniformly in [-1, 1], smoothed by a
    Gaussian of standard deviation sigma (separably, rows then columns, zero padded, truncated at
    4 sigma) and scaled by alpha: dy = alpha * G * u, dx = alpha * G * v. The output pixel (i, j)
    is the input read by bilinear interpolation at (i + dy[i, j], j + dx[i, j]), with zeros
    outside the image. A small sigma gives jittery, noise-like displacements; a large sigma moves
    whole strokes; Simard et al. used sigma = 4 and alpha = 34 on 28x28 MNIST digits. Because
    smoothing averages the [-1, 1] noise, the displacements are much smaller than alpha.
    alpha = 0 returns the images unchanged (as a copy).
    Returns the same shape; float32 stays float32, every other dtype becomes float64.
    """
    func = "elastic_distort"
    arr = as_float_array(images, "images", func)
    if arr.ndim not in (2, 3):
        raise ValueError(f"{func}: images must be one image (H, W) or a batch (N, H, W); got"
                         f" shape {arr.shape}")
    check_finite(arr, "images", func)
    alpha = float(check_scalar(alpha, "alpha", func, low=0))
    sigma = float(check_scalar(sigma, "sigma", func, low=0))
    rng = _check_rng(rng, func)
    batch = arr if arr.ndim == 3 else arr[None]
    N, H, W = batch.shape
    field = rng.uniform(-1.0, 1.0, (2, N, H, W))
    field = _gaussian_matrix(H, sigma) @ field @ _gaussian_matrix(W, sigma).T   # smooth
    dy, dx = alpha * field[0], alpha * field[1]
    rows = np.arange(H, dtype=np.float64)[None, :, None]
    cols = np.arange(W, dtype=np.float64)[None, None, :]
    out = _bilinear_sample(batch, rows + dy, cols + dx)
    return out if arr.ndim == 3 else out[0]


__all__ = ["random_shift", "elastic_distort"]
