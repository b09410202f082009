"""Tests for nnutils.data: Playground sets, feature maps, digits, corpus, sequence tasks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnutils import data
from nnutils.data import (
    CLASSIFICATION_SETS,
    DATASETS,
    FEATURES,
    REGRESSION_SETS,
    CharVocab,
    char_batches,
    feature_map,
    load_corpus,
    load_digits,
    make_adding_problem,
    make_circle,
    make_copy_task,
    make_gaussian,
    make_linearly_separable,
    make_parity_over_gap,
    make_reg_gauss,
    make_reg_plane,
    make_spiral,
    make_xor,
    train_test_split,
)


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- Playground data sets

def test_datasets_dict_names_the_six_playground_sets():
    assert set(DATASETS) == {"circle", "xor", "gauss", "spiral", "reg-plane", "reg-gauss"}
    assert set(CLASSIFICATION_SETS) | set(REGRESSION_SETS) == set(DATASETS)
    assert DATASETS["gauss"] is make_gaussian and DATASETS["reg-gauss"] is make_reg_gauss


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("n", [1, 2, 101, 500])
@pytest.mark.parametrize("noise", [0, 25, 50])
def test_dataset_shapes_dtypes_and_label_ranges(name, n, noise):
    X, y = DATASETS[name](n, noise, rng())
    assert X.shape == (n, 2) and y.shape == (n,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))
    if name in CLASSIFICATION_SETS:
        assert set(np.unique(y)) <= {-1.0, 1.0}
    else:
        assert np.all((y >= -1) & (y <= 1))
    # "roughly [-6, 6]^2": uniform sets exactly, the Gaussian blobs almost always
    limit = 6.0 if name != "gauss" else 12.0
    assert np.abs(X).max() <= limit


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dataset_is_deterministic_for_a_seed_and_changes_with_it(name):
    X1, y1 = DATASETS[name](200, 20, rng(7))
    X2, y2 = DATASETS[name](200, 20, rng(7))
    X3, _ = DATASETS[name](200, 20, rng(8))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", ["circle", "xor", "reg-plane", "reg-gauss"])
def test_noise_flips_labels_without_moving_points_as_in_the_playground(name):
    X0, y0 = DATASETS[name](400, 0, rng(3))
    X1, y1 = DATASETS[name](400, 50, rng(3))
    np.testing.assert_array_equal(X0, X1)
    assert np.mean(y0 != y1) > 0.05


@pytest.mark.parametrize("name", ["gauss", "spiral"])
def test_noise_moves_points_of_gauss_and_spiral(name):
    X0, y0 = DATASETS[name](400, 0, rng(3))
    X1, y1 = DATASETS[name](400, 50, rng(3))
    assert np.abs(X0 - X1).mean() > 0.05
    assert (y0 == 1).sum() == (y1 == 1).sum() == 200


@pytest.mark.parametrize("name", ["gauss", "spiral"])
def test_classes_are_balanced_ceil_and_floor_of_half(name):
    _, y = DATASETS[name](101, 30, rng())
    assert (y == 1).sum() == 51 and (y == -1).sum() == 50


def test_datasets_come_shuffled_not_sorted_by_class():
    _, y = make_gaussian(200, 0, rng())
    assert 0 < np.sum(y[:100] == 1) < 100


def test_circle_without_noise_is_separated_by_the_radius():
    X, y = make_circle(1000, 0, rng())
    r = np.linalg.norm(X, axis=1)
    assert r[y == 1].max() < 2.5 <= 3.5 <= r[y == -1].min()
    assert r[y == -1].max() <= 5.0
    assert (y == 1).sum() == 500


def test_xor_without_noise_has_the_sign_of_x1_x2_and_a_margin_around_the_axes():
    X, y = make_xor(1000, 0, rng())
    np.testing.assert_array_equal(y, np.where(X[:, 0] * X[:, 1] >= 0, 1.0, -1.0))
    assert np.abs(X).min() >= 0.3 and np.abs(X).max() <= 5.3
    assert 0.35 < np.mean(y == 1) < 0.65


def test_gaussian_blob_centres_and_variance_follow_the_playground():
    X, y = make_gaussian(4000, 0, rng())
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(X[y == -1].mean(axis=0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(X[y == 1].var(axis=0), [0.5, 0.5], rtol=0.1)
    X, y = make_gaussian(4000, 50, rng())
    np.testing.assert_allclose(X[y == -1].var(axis=0), [4.0, 4.0], rtol=0.1)


def test_spiral_without_noise_lies_on_two_arms_turned_by_pi():
    X, y = make_spiral(200, 0, rng())
    for label in (1.0, -1.0):
        arm = X[y == label]
        r = np.linalg.norm(arm, axis=1)
        order = np.argsort(r)
        np.testing.assert_allclose(r[order], np.arange(100) / 100 * 5, atol=1e-12)
        i = np.arange(100)
        t = 1.75 * i / 100 * 2 * np.pi + (0 if label == 1 else np.pi)
        np.testing.assert_allclose(arm[order], np.stack([r[order] * np.sin(t),
                                                         r[order] * np.cos(t)], 1), atol=1e-12)


def test_reg_plane_without_noise_is_the_clipped_plane():
    X, y = make_reg_plane(500, 0, rng())
    np.testing.assert_allclose(y, np.clip((X[:, 0] + X[:, 1]) / 10, -1, 1))
    assert np.abs(X).max() <= 6


def test_reg_gauss_without_noise_matches_the_largest_bump():
    X, y = make_reg_gauss(300, 0, rng())
    centres = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1),
               (4, -2.5, -1)]
    for (x1, x2), target in zip(X, y, strict=True):
        best = 0.0
        for cx, cy, s in centres:
            value = s * min(1.0, max(0.0, 1 - np.hypot(x1 - cx, x2 - cy) / 2))
            if abs(value) > abs(best):
                best = value
        assert target == pytest.approx(best, abs=1e-12)
    assert y.min() < -0.5 and y.max() > 0.5


@pytest.mark.parametrize("make", [make_circle, make_xor, make_gaussian, make_spiral,
                                  make_reg_plane, make_reg_gauss])
def test_dataset_bad_arguments_name_what_was_expected(make):
    with pytest.raises(ValueError, match=r"noise must be <= 50"):
        make(10, 60, rng())
    with pytest.raises(ValueError, match=r"n must be >= 1"):
        make(0, 10, rng())
    with pytest.raises(TypeError, match=r"n must be an integer"):
        make(10.5, 10, rng())
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        make(10, 10, 0)


# ---------------------------------------------------------------- train_test_split

@pytest.mark.parametrize("n, ratio, n_train", [(10, 0.5, 5), (10, 0.7, 7), (100, 0.29, 29),
                                                (3, 0.5, 1), (500, 0.9, 450)])
def test_train_test_split_sizes_are_floor_of_ratio(n, ratio, n_train):
    X = np.arange(2 * n, dtype=float).reshape(n, 2)
    y = np.arange(n)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, ratio, rng())
    assert X_tr.shape == (n_train, 2) and X_te.shape == (n - n_train, 2)
    assert y_tr.shape == (n_train,) and y_te.shape == (n - n_train,)


def test_train_test_split_keeps_pairs_partitions_and_shuffles():
    X = np.arange(200, dtype=float).reshape(100, 2)
    y = np.arange(100)
    X_before, y_before = X.copy(), y.copy()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, 0.8, rng())
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)          # rows stay with their labels
    np.testing.assert_array_equal(X_te[:, 0], 2 * y_te)
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_te])), y)
    assert not np.array_equal(y_tr, np.arange(80))
    assert y_tr.dtype == y.dtype and X_tr.dtype == X.dtype


def test_train_test_split_is_deterministic_for_a_seed():
    X, y = make_xor(50, 0, rng())
    a = train_test_split(X, y, 0.5, rng(4))
    b = train_test_split(X, y, 0.5, rng(4))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("ratio", [0, 1, 1.5, -0.2])
def test_train_test_split_rejects_ratios_outside_the_open_interval(ratio):
    X, y = make_xor(10, 0, rng())
    with pytest.raises(ValueError, match="train_ratio"):
        train_test_split(X, y, ratio, rng())


def test_train_test_split_needs_both_parts_non_empty():
    X, y = make_xor(10, 0, rng())
    with pytest.raises(ValueError, match="both parts must be non-empty"):
        train_test_split(X, y, 0.05, rng())
    with pytest.raises(ValueError, match="both parts must be non-empty"):
        train_test_split(X[:1], y[:1], 0.5, rng())


def test_train_test_split_rejects_mismatched_rows_and_non_finite_data():
    X, y = make_xor(10, 0, rng())
    with pytest.raises(ValueError, match=r"same number of rows"):
        train_test_split(X, y[:9], 0.5, rng())
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"train_test_split: X holds 1 NaN"):
        train_test_split(X, y, 0.5, rng())
    y_bad = y.copy()
    y_bad[0] = np.inf
    with pytest.raises(ValueError, match=r"y holds 1 NaN or infinite"):
        train_test_split(np.zeros((10, 2)), y_bad, 0.5, rng())


# ---------------------------------------------------------------- feature maps

def test_feature_map_columns_follow_the_playground_formulas_in_order():
    X = np.array([[1.0, 2.0], [-0.5, 3.0], [0.0, -1.5]])
    names = ["sin(x2)", "x1x2", "x1", "x2^2", "x1^2", "x2", "sin(x1)"]
    F = feature_map(X, names)
    x1, x2 = X[:, 0], X[:, 1]
    expected = np.stack([np.sin(x2), x1 * x2, x1, x2 ** 2, x1 ** 2, x2, np.sin(x1)], axis=1)
    assert F.shape == (3, 7)
    np.testing.assert_allclose(F, expected, rtol=0, atol=1e-15)
    assert set(FEATURES) == set(names)


def test_feature_map_keeps_float32_and_accepts_one_name():
    X = np.ones((4, 2), dtype=np.float32)
    assert feature_map(X, ["x1x2", "x1"]).dtype == np.float32
    assert feature_map(X.astype(int), "x1").shape == (4, 1)
    assert feature_map(X.astype(int), "x1").dtype == np.float64


def test_feature_map_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown feature name\(s\) \['x3'\].*'x1x2'"):
        feature_map(np.zeros((2, 2)), ["x1", "x3"])


def test_feature_map_rejects_bad_shapes_empty_names_and_non_finite_points():
    with pytest.raises(ValueError, match=r"X must have shape \(\?, 2\)"):
        feature_map(np.zeros((3, 3)), ["x1"])
    with pytest.raises(ValueError, match=r"non-empty list"):
        feature_map(np.zeros((3, 2)), [])
    X = np.zeros((3, 2))
    X[1, 0] = np.inf
    with pytest.raises(ValueError, match=r"feature_map: X holds 1 NaN or infinite"):
        feature_map(X, ["x1"])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-6, 6), min_size=2, max_size=20))
def test_feature_map_product_column_equals_product_of_coordinate_columns(values):
    X = np.array(values[: len(values) // 2 * 2]).reshape(-1, 2)
    F = feature_map(X, ["x1", "x2", "x1x2"])
    np.testing.assert_array_equal(F[:, 2], F[:, 0] * F[:, 1])


# ---------------------------------------------------------------- linearly separable data

@pytest.mark.parametrize("margin", [0.0, 0.5, 1.5])
def test_linearly_separable_points_respect_the_margin_of_the_true_line(margin):
    X, y, w, b = make_linearly_separable(101, rng(2), margin=margin)
    assert X.shape == (101, 2) and y.shape == (101,) and w.shape == (2,)
    assert isinstance(b, float)
    assert np.linalg.norm(w) == pytest.approx(1.0)
    assert np.all(y * (X @ w + b) >= margin)
    assert (y == 1).sum() == 51 and (y == -1).sum() == 50


def test_perceptron_converges_on_linearly_separable_data():
    from nnutils.perceptron import perceptron_predict, perceptron_train

    X, y, _, _ = make_linearly_separable(60, rng(5), margin=0.5)
    w, b, mistakes = perceptron_train(X, y, epochs=1000)
    assert mistakes[-1] == 0
    np.testing.assert_array_equal(perceptron_predict(X, w, b), y)


def test_linearly_separable_rejects_a_margin_out_of_range():
    with pytest.raises(ValueError, match=r"margin must be <= 2"):
        make_linearly_separable(10, rng(), margin=3)


# ---------------------------------------------------------------- digits

def test_digits_split_sizes_cover_the_whole_set():
    d = load_digits()
    sizes = [len(d.y_train), len(d.y_val), len(d.y_test)]
    assert sum(sizes) == 1797
    assert abs(sizes[0] - 0.6 * 1797) <= 10 and abs(sizes[1] - 0.2 * 1797) <= 10
    assert d.X_train.shape == (sizes[0], 64) and d.X_val.shape == (sizes[1], 64)
    assert d.y_train.dtype == np.int64 and d.X_train.dtype == np.float64
    assert set(np.unique(d.y_test)) == set(range(10))


def test_digits_parts_are_a_partition_of_the_raw_images():
    from sklearn.datasets import load_digits as sklearn_digits

    raw = sklearn_digits()
    d = load_digits(normalize=False)
    parts = np.concatenate([d.X_train, d.X_val, d.X_test]) * 16
    labels = np.concatenate([d.y_train, d.y_val, d.y_test])
    ours = np.column_stack([parts, labels])
    theirs = np.column_stack([raw.data, raw.target])
    np.testing.assert_array_equal(ours[np.lexsort(ours.T)], theirs[np.lexsort(theirs.T)])
    assert parts.min() == 0 and d.X_train.max() == 1.0


def test_digits_split_is_stratified():
    d = load_digits(split=(0.5, 0.25, 0.25))
    overall = np.bincount(np.concatenate([d.y_train, d.y_val, d.y_test]), minlength=10)
    for part, frac in ((d.y_train, 0.5), (d.y_val, 0.25), (d.y_test, 0.25)):
        counts = np.bincount(part, minlength=10)
        assert np.all(np.abs(counts - frac * overall) <= 1)


def test_digits_are_standardized_with_training_statistics_only():
    d = load_digits(seed=3)
    raw = load_digits(seed=3, normalize=False)
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0, atol=1e-12)
    assert d.X_train.std() == pytest.approx(1.0)
    np.testing.assert_allclose(d.mean, raw.X_train.mean(axis=0))
    assert d.std == pytest.approx((raw.X_train - raw.X_train.mean(axis=0)).std())
    np.testing.assert_allclose(d.X_val, (raw.X_val - d.mean) / d.std)
    np.testing.assert_allclose(d.X_test, (raw.X_test - d.mean) / d.std)
    assert abs(d.X_val.mean()) > 1e-6      # the validation images were not centred on their own
    np.testing.assert_allclose(d.X_test * d.std + d.mean, raw.X_test, atol=1e-12)


def test_digits_are_deterministic_for_a_seed_and_change_with_it():
    a, b, c = load_digits(seed=1), load_digits(seed=1), load_digits(seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


def test_digits_images_for_convolutions_and_float32():
    d = load_digits(flatten=False, dtype=np.float32)
    assert d.X_train.shape[1:] == (1, 8, 8) and d.X_train.dtype == np.float32
    assert d.mean.shape == (1, 8, 8)
    flat = load_digits(dtype=np.float32)
    np.testing.assert_array_equal(d.X_train.reshape(-1, 64), flat.X_train)


@pytest.mark.parametrize("kwargs", [{}, {"normalize": False}, {"flatten": False},
                                    {"normalize": False, "flatten": False}])
def test_writing_into_returned_digits_cannot_corrupt_the_cache(kwargs):
    before = load_digits(**kwargs)
    first = load_digits(**kwargs)
    for arr in (first.X_train, first.X_val, first.X_test, first.y_train, first.y_val,
                first.y_test):
        arr[...] = 7
    after = load_digits(**kwargs)
    np.testing.assert_array_equal(after.X_train, before.X_train)
    np.testing.assert_array_equal(after.X_test, before.X_test)
    np.testing.assert_array_equal(after.y_val, before.y_val)


def test_digits_cached_raw_arrays_are_read_only():
    images, labels = data._raw_digits()
    assert images.shape == (1797, 8, 8)
    with pytest.raises(ValueError, match="read-only"):
        images[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        labels[0] = 1


@pytest.mark.parametrize("split", [(0.5, 0.5), (0.6, 0.3, 0.3), (0.0, 0.5, 0.5),
                                   (0.7, -0.1, 0.4)])
def test_digits_bad_split_says_what_is_expected(split):
    with pytest.raises(ValueError, match=r"split must be|split must be >="):
        load_digits(split=split)


# ---------------------------------------------------------------- corpus and vocabulary

def test_course_corpus_is_ascii_of_the_promised_size_with_both_phrases():
    text = load_corpus()
    assert 8_000 <= len(text) <= 15_000
    assert text.isascii()
    assert text.count("recognize speech") >= 3
    assert text.count("wreck a nice beach") >= 3
    assert load_corpus("course", lower=True) == text.lower()


def test_load_corpus_unknown_name_lists_the_shipped_ones():
    with pytest.raises(ValueError, match=r"one of the shipped corpora \['course'"):
        load_corpus("../pyproject")


def test_vocab_round_trips_the_corpus():
    text = load_corpus()
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ids.min() == 0 and ids.max() == len(vocab) - 1 == vocab.size - 1
    assert vocab.decode(ids) == text
    assert list(vocab.chars) == sorted(set(text))
    assert vocab.stoi[vocab.chars[5]] == 5


def test_vocab_rejects_unknown_characters_and_out_of_range_ids():
    vocab = CharVocab("abc")
    with pytest.raises(ValueError, match=r"does not know: \['z'\]"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match=r"ids must lie in 0..2"):
        vocab.decode([0, 3])
    with pytest.raises(ValueError, match=r"1-D array of integer ids"):
        vocab.decode([[0, 1]])
    with pytest.raises(ValueError, match="non-empty str"):
        CharVocab("")


@pytest.mark.parametrize("seq_len, batch_size", [(1, 1), (8, 4), (25, 16), (100, 3)])
def test_char_batches_targets_are_inputs_shifted_by_one(seq_len, batch_size):
    text = load_corpus()[:1000]
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    windows = 0
    for inputs, targets in char_batches(ids, seq_len, batch_size, rng()):
        assert inputs.shape == targets.shape and inputs.shape[1] == seq_len
        assert 1 <= inputs.shape[0] <= batch_size
        assert inputs.dtype == np.int64
        np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
        for row_in, row_t in zip(inputs, targets, strict=True):
            assert vocab.decode(np.append(row_in, row_t[-1])) in text
        windows += inputs.shape[0]
    # non-overlapping windows of seq_len + 1 characters starting at an offset below seq_len
    assert (len(ids) - seq_len - 1) // seq_len <= windows <= (len(ids) - 1) // seq_len


def test_char_batches_cover_each_position_at_most_once_and_are_deterministic():
    ids = np.arange(1000)
    first = [x.copy() for x, _ in char_batches(ids, 10, 7, rng(1))]
    again = [x.copy() for x, _ in char_batches(ids, 10, 7, rng(1))]
    starts = np.concatenate([x[:, 0] for x in first])
    assert len(np.unique(starts)) == len(starts)
    assert np.all(np.diff(np.sort(starts)) == 10)
    assert starts.min() < 10                        # the random offset lies in [0, seq_len)
    offsets = {next(char_batches(ids, 10, 200, rng(s)))[0][:, 0].min() for s in range(30)}
    assert len(offsets) > 3 and max(offsets) <= 9
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_char_batches_checks_arguments_when_called():
    with pytest.raises(ValueError, match=r"at least seq_len \+ 1 = 11 ids"):
        char_batches(np.arange(10), 10, 2, rng())
    with pytest.raises(ValueError, match=r"1-D array of integer ids \(L,\)"):
        char_batches(np.zeros(50), 10, 2, rng())
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        char_batches(np.arange(50), 10, 2, None)


# ---------------------------------------------------------------- sequence tasks

@pytest.mark.parametrize("T", [2, 3, 10, 50])
def test_adding_problem_target_is_the_sum_of_the_two_marked_values(T):
    X, y = make_adding_problem(64, T, rng())
    assert X.shape == (64, T, 2) and y.shape == (64,) and X.dtype == np.float64
    values, markers = X[..., 0], X[..., 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) <= {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(axis=1), 2)
    np.testing.assert_array_equal(markers[:, : T // 2].sum(axis=1), 1)   # one in each half
    np.testing.assert_allclose(y, (values * markers).sum(axis=1))


def test_adding_problem_is_deterministic_for_a_seed():
    a = make_adding_problem(5, 20, rng(9))
    b = make_adding_problem(5, 20, rng(9))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("T, K, S", [(1, 8, 10), (5, 3, 2), (20, 8, 4)])
def test_copy_task_target_repeats_the_symbols_after_the_delay(T, K, S):
    X, y = make_copy_task(16, T, rng(), n_symbols=K, length=S)
    steps = T + 2 * S
    assert X.shape == (16, steps, K + 2) and y.shape == (16, steps) and y.dtype == np.int64
    np.testing.assert_array_equal(X.sum(axis=2), 1)                     # one-hot
    inputs = X.argmax(axis=2)
    assert np.all((inputs[:, :S] >= 1) & (inputs[:, :S] <= K))
    np.testing.assert_array_equal(inputs[:, S + T - 1], K + 1)           # the go marker
    np.testing.assert_array_equal(np.delete(inputs, [*range(S), S + T - 1], axis=1), 0)
    np.testing.assert_array_equal(y[:, T + S:], inputs[:, :S])
    np.testing.assert_array_equal(y[:, : T + S], 0)


def test_parity_over_gap_label_compares_first_and_last_bit():
    X, y = make_parity_over_gap(500, 12, rng())
    assert X.shape == (500, 12, 1) and y.shape == (500,) and y.dtype == np.int64
    assert set(np.unique(X)) == {-1.0, 1.0}
    np.testing.assert_array_equal(y, (X[:, 0, 0] != X[:, -1, 0]).astype(int))
    assert 0.4 < y.mean() < 0.6


@pytest.mark.parametrize("make", [make_adding_problem, make_parity_over_gap])
def test_sequence_tasks_reject_too_short_sequences(make):
    with pytest.raises(ValueError, match=r"T must be >= 2"):
        make(4, 1, rng())
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        make(4, 5, 42)


def test_corrupt_labels_changes_about_the_right_fraction_and_keeps_the_input():
    from nnutils.data import corrupt_labels

    y = np.repeat(np.arange(10), 500)
    before = y.copy()
    noisy = corrupt_labels(y, 0.3, 10, np.random.default_rng(0))
    assert np.array_equal(y, before) and noisy.shape == y.shape
    assert abs(np.mean(noisy != y) - 0.3 * 0.9) < 0.02      # a redrawn label may hit its class
    assert noisy.min() >= 0 and noisy.max() <= 9
    assert np.array_equal(corrupt_labels(y, 0.0, 10, np.random.default_rng(1)), y)
    with pytest.raises(ValueError, match="labels in 0..9"):
        corrupt_labels(np.array([0, 12]), 0.1, 10, np.random.default_rng(0))
