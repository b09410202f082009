"""Ensembles: probability averaging, snapshots and running averages of the weights."""

import numpy as np
import pytest

from nnutils.data import load_digits
from nnutils.ensembles import (
    Callbacks,
    Snapshots,
    WeightAverage,
    average_probabilities,
    ensemble_accuracy,
    independent,
    with_params,
)
from nnutils.losses import softmax
from nnutils.models import MLP
from nnutils.train import train


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_average_probabilities_is_the_mean_of_the_softmaxes():
    models = [MLP([3, 4, 5], rng=np.random.default_rng(s)) for s in range(3)]
    X = np.random.default_rng(9).standard_normal((6, 3))
    expected = np.mean([softmax(m.scores(X)) for m in models], axis=0)
    np.testing.assert_allclose(average_probabilities(models, X), expected, rtol=1e-12)
    np.testing.assert_allclose(average_probabilities(models, X).sum(axis=1), 1.0)


def test_ensemble_of_one_has_the_model_accuracy(digits):
    model = MLP([64, 10], rng=np.random.default_rng(0))
    assert ensemble_accuracy([model], digits.X_val, digits.y_val) == pytest.approx(
        model.accuracy(digits.X_val, digits.y_val))


def test_ensemble_refuses_no_models_and_bad_labels(digits):
    with pytest.raises(ValueError, match="at least one model"):
        average_probabilities([], digits.X_val)
    with pytest.raises(ValueError):
        ensemble_accuracy([MLP([64, 10])], digits.X_val, digits.y_val + 10)


def test_independent_members_differ_and_their_average_beats_the_typical_member(digits):
    X, y = digits.X_train[:200], digits.y_train[:200]
    members = independent(lambda s: MLP([64, 64, 10], rng=np.random.default_rng(s)), 5,
                          lambda m: train(m, X, y, epochs=30, batch_size=50, lr=3e-3,
                                          progress=False))
    assert not np.allclose(members[0].params["W1"], members[1].params["W1"])
    singles = [m.accuracy(digits.X_test, digits.y_test) for m in members]
    assert ensemble_accuracy(members, digits.X_test, digits.y_test) >= np.median(singles)


def test_snapshots_keep_the_weights_of_the_chosen_epochs(digits):
    model = MLP([64, 10], rng=np.random.default_rng(0))
    kept, every = Snapshots([1, 3]), Snapshots(range(5))
    train(model, digits.X_train, digits.y_train, epochs=5, lr=1e-2, progress=False,
          callback=Callbacks(kept, every))
    assert len(kept.saved) == 2 and len(every.saved) == 5
    np.testing.assert_array_equal(kept.saved[1]["W1"], every.saved[3]["W1"])
    np.testing.assert_array_equal(every.saved[4]["W1"], model.params["W1"])
    members = kept.members(model)
    np.testing.assert_array_equal(members[0].params["W1"], every.saved[1]["W1"])
    assert members[0].params["W1"] is not kept.saved[0]["W1"]          # copies
    with pytest.raises(ValueError, match="no snapshot"):
        Snapshots([99]).members(model)


def test_weight_average_is_the_mean_or_the_decaying_mean_of_the_epochs(digits):
    model = MLP([64, 10], rng=np.random.default_rng(0))
    every, mean, ema = Snapshots(range(6)), WeightAverage(start=2), WeightAverage(decay=0.5)
    train(model, digits.X_train, digits.y_train, epochs=6, lr=1e-2, progress=False,
          callback=Callbacks(every, mean, ema))
    W = [s["W1"] for s in every.saved]
    np.testing.assert_allclose(mean.model_of(model).params["W1"], np.mean(W[2:], axis=0),
                               rtol=1e-12)
    expected = W[0]
    for w in W[1:]:
        expected = 0.5 * expected + 0.5 * w
    np.testing.assert_allclose(ema.model_of(model).params["W1"], expected, rtol=1e-12)
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(decay=1.0)
    with pytest.raises(ValueError, match="no epoch reached"):
        WeightAverage(start=50).model_of(model)


def test_with_params_copies_and_checks_names_and_shapes():
    model = MLP([3, 2], rng=np.random.default_rng(0))
    twin = with_params(model, {"W1": np.ones((3, 2)), "b1": np.zeros(2)})
    assert twin is not model and np.all(twin.params["W1"] == 1) and model.params["W1"][0, 0] != 1
    with pytest.raises(ValueError, match="names"):
        with_params(model, {"W1": np.ones((3, 2))})
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        with_params(model, {"W1": np.ones((2, 2)), "b1": np.zeros(2)})
