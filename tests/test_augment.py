"""Tests for nnutils.augment: random shifts and elastic distortions."""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnutils import augment
from nnutils.augment import elastic_distort, random_shift


def rng(seed=0):
    return np.random.default_rng(seed)


def shifted(img, dy, dx):
    """Reference: img (H, W) moved down by dy and right by dx, zero-filled, by explicit loops."""
    H, W = img.shape
    out = np.zeros_like(img)
    for i in range(H):
        for j in range(W):
            if 0 <= i - dy < H and 0 <= j - dx < W:
                out[i, j] = img[i - dy, j - dx]
    return out


def digit():
    """A real 8x8 digit from scikit-learn, pixel values in [0, 1]."""
    from nnutils.data import _raw_digits

    return np.array(_raw_digits()[0][0])


# ---------------------------------------------------------------- random_shift

@pytest.mark.parametrize("max_shift", [0, 1, 2, 3])
def test_random_shift_moves_a_bright_pixel_by_offsets_within_range(max_shift):
    N = 300
    images = np.zeros((N, 9, 9))
    images[:, 4, 4] = 1.0
    out = random_shift(images, max_shift, rng())
    assert out.shape == images.shape
    np.testing.assert_array_equal(out.reshape(N, -1).sum(axis=1), 1)   # 9x9 leaves room
    rows, cols = np.unravel_index(out.reshape(N, -1).argmax(axis=1), (9, 9))
    dy, dx = rows - 4, cols - 4
    assert np.abs(dy).max() <= max_shift and np.abs(dx).max() <= max_shift
    # offsets are drawn per image and per axis: every value occurs, on both axes
    assert set(dy) == set(dx) == set(range(-max_shift, max_shift + 1))
    if max_shift:
        assert np.mean(dy == dx) < 0.6


def test_random_shift_output_is_a_zero_filled_shift_of_each_image():
    images = rng(1).uniform(1, 2, (40, 5, 6))          # no zeros, so zero fill is visible
    out = random_shift(images, 2, rng(2))
    for img, res in zip(images, out, strict=True):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(res, shifted(img, dy, dx))]
        assert len(matches) == 1
        dy, dx = matches[0]
        assert np.sum(res == 0) == abs(dy) * 6 + abs(dx) * 5 - abs(dy * dx)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_random_shift_keeps_dtype_and_leaves_input_alone(dtype):
    images = (rng().uniform(0, 100, (10, 6, 6))).astype(dtype)
    before = images.copy()
    out = random_shift(images, 2, rng())
    assert out.dtype == dtype and out.shape == images.shape
    np.testing.assert_array_equal(images, before)


def test_random_shift_zero_is_an_identical_copy():
    images = rng().normal(size=(4, 7, 5))
    out = random_shift(images, 0, rng())
    np.testing.assert_array_equal(out, images)
    assert not np.shares_memory(out, images)


def test_random_shift_beyond_the_image_size_gives_zeros_not_errors():
    images = np.ones((200, 3, 3))
    out = random_shift(images, 10, rng())
    empty = np.all(out == 0, axis=(1, 2))
    assert empty.any() and not empty.all()
    for img, res in zip(images, out, strict=True):      # every result is still a valid shift
        assert any(np.array_equal(res, shifted(img, dy, dx))
                   for dy in range(-3, 4) for dx in range(-3, 4))


def test_random_shift_is_deterministic_for_a_seed():
    images = rng().normal(size=(20, 8, 8))
    np.testing.assert_array_equal(random_shift(images, 2, rng(5)), random_shift(images, 2, rng(5)))
    assert not np.array_equal(random_shift(images, 2, rng(5)), random_shift(images, 2, rng(6)))


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=3, max_dims=3, max_side=6),
                  elements=st.floats(0, 10)),
       st.integers(0, 8), st.integers(0, 2**32 - 1))
def test_random_shift_never_creates_mass_and_keeps_the_pixel_values(images, max_shift, seed):
    out = random_shift(images, max_shift, rng(seed))
    assert np.all(out.reshape(len(out), -1).sum(axis=1)
                  <= images.reshape(len(images), -1).sum(axis=1) + 1e-9)
    for img, res in zip(images, out, strict=True):
        assert set(np.unique(res)) <= set(np.unique(img)) | {0.0}


def test_random_shift_bad_input_names_the_expected_shape_and_types():
    with pytest.raises(ValueError, match=r"random_shift: images must be a 3-D array \(N, H, W\)"):
        random_shift(np.zeros((8, 8)), 1, rng())
    with pytest.raises(ValueError, match=r"max_shift must be >= 0"):
        random_shift(np.zeros((1, 8, 8)), -1, rng())
    with pytest.raises(TypeError, match=r"max_shift must be an integer"):
        random_shift(np.zeros((1, 8, 8)), 1.5, rng())
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        random_shift(np.zeros((1, 8, 8)), 1, 0)
    with pytest.raises(TypeError, match=r"images must hold real numbers"):
        random_shift(np.zeros((1, 8, 8), dtype=complex), 1, rng())


# ---------------------------------------------------------------- elastic_distort

@pytest.mark.parametrize("shape", [(8, 8), (3, 8, 8), (2, 28, 20)])
def test_elastic_alpha_zero_is_the_identity(shape):
    images = rng().uniform(size=shape)
    out = elastic_distort(images, 0.0, 4.0, rng())
    np.testing.assert_array_equal(out, images)
    assert not np.shares_memory(out, images)


@pytest.mark.parametrize("dtype, out_dtype", [(np.float32, np.float32), (np.float64, np.float64),
                                              (np.int64, np.float64), (np.uint8, np.float64)])
@pytest.mark.parametrize("shape", [(8, 8), (5, 8, 8), (1, 28, 28)])
def test_elastic_keeps_shape_and_float_dtype_and_leaves_input_alone(dtype, out_dtype, shape):
    images = (rng().uniform(0, 16, shape)).astype(dtype)
    before = images.copy()
    out = elastic_distort(images, 5.0, 2.0, rng())
    assert out.shape == shape and out.dtype == out_dtype
    np.testing.assert_array_equal(images, before)


def test_elastic_is_deterministic_for_a_seed_and_changes_with_it():
    img = digit()
    a = elastic_distort(img, 8.0, 2.0, rng(3))
    b = elastic_distort(img, 8.0, 2.0, rng(3))
    c = elastic_distort(img, 8.0, 2.0, rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_elastic_large_alpha_changes_the_image():
    img = digit()
    out = elastic_distort(img, 30.0, 1.5, rng())
    assert np.abs(out - img).sum() > 0.2 * img.sum()


@pytest.mark.parametrize("sigma", [2.0, 4.0])
def test_elastic_small_alpha_roughly_preserves_mass_and_looks_alike(sigma):
    img = np.zeros((28, 28))
    img[6:22, 12:17] = 1.0                                     # a thick "1"
    out = elastic_distort(img, 2.0, sigma, rng())
    assert out.sum() == pytest.approx(img.sum(), rel=0.05)
    assert np.abs(out - img).sum() < 0.5 * img.sum()
    assert out.min() >= 0 and out.max() <= 1 + 1e-12          # bilinear: a convex combination


def test_elastic_distorts_each_image_of_a_batch_differently():
    batch = np.repeat(digit()[None], 4, axis=0)
    out = elastic_distort(batch, 10.0, 2.0, rng())
    assert not np.allclose(out[0], out[1])


def test_gaussian_smoothing_matrix_matches_scipy_gaussian_filter():
    ndimage = pytest.importorskip("scipy.ndimage")
    v = rng().uniform(-1, 1, (28, 20))
    for sigma in (0.7, 2.0, 4.0, 9.0):
        ours = augment._gaussian_matrix(28, sigma) @ v @ augment._gaussian_matrix(20, sigma).T
        ref = ndimage.gaussian_filter(v, sigma, mode="constant", cval=0.0, truncate=4.0)
        np.testing.assert_allclose(ours, ref, atol=1e-12)
    np.testing.assert_array_equal(augment._gaussian_matrix(5, 0.0), np.eye(5))


def test_bilinear_sampling_matches_scipy_map_coordinates():
    ndimage = pytest.importorskip("scipy.ndimage")
    img = rng().uniform(size=(1, 7, 9))
    sy = rng(1).uniform(-3, 10, (1, 7, 9))
    sx = rng(2).uniform(-3, 12, (1, 7, 9))
    ours = augment._bilinear_sample(img, sy, sx)
    ref = ndimage.map_coordinates(img[0], [sy[0], sx[0]], order=1, mode="grid-constant", cval=0)
    np.testing.assert_allclose(ours[0], ref, atol=1e-12)


def test_elastic_is_fast_enough_for_a_slider():
    img8, img28 = digit(), rng().uniform(size=(28, 28))
    for img in (img8, img28):
        elastic_distort(img, 34.0, 4.0, rng())
        times = []
        for _ in range(15):
            start = time.perf_counter()
            elastic_distort(img, 34.0, 4.0, rng())
            times.append(time.perf_counter() - start)
        assert np.median(times) < 0.010


def test_elastic_bad_input_names_the_expected_shape_and_ranges():
    with pytest.raises(ValueError, match=r"elastic_distort: images must be one image \(H, W\) or"
                                         r" a batch \(N, H, W\)"):
        elastic_distort(np.zeros((1, 1, 8, 8)), 1.0, 1.0, rng())
    with pytest.raises(ValueError, match=r"alpha must be >= 0"):
        elastic_distort(np.zeros((8, 8)), -1.0, 1.0, rng())
    with pytest.raises(ValueError, match=r"sigma must be >= 0"):
        elastic_distort(np.zeros((8, 8)), 1.0, -1.0, rng())
    with pytest.raises(ValueError, match=r"images holds 1 NaN"):
        elastic_distort(np.where(np.eye(8) * np.arange(8) == 3, np.nan, 0.0), 1.0, 1.0, rng())
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        elastic_distort(np.zeros((8, 8)), 1.0, 1.0, None)
