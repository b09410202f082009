"""Ensembles of classifiers, the three kinds lecture 5 compares with a single model.

- ``independent``: the same network trained from several random initializations; its
  prediction averages the members' class probabilities.
- snapshots (``Snapshots``): the weights of one training run saved at several epochs (a
  ``train`` callback), used as members.
- a running average of the weights (``WeightAverage``, Polyak averaging): one set of weights,
  w_avg ← w_avg + (w − w_avg)/k after every epoch k from ``start`` on, which often generalizes
  better than the last weights.

Members are any models with ``params`` (a dict of arrays) and ``scores(X) -> (N, K)``, such as
``nnutils.models.MLP``. Averaging probabilities (not votes) keeps the members' confidence.
"""

from __future__ import annotations

import copy

import numpy as np

from ._checks import check_labels, check_scalar
from .losses import softmax


def average_probabilities(models, X) -> np.ndarray:
    """Mean of the members' softmax probabilities: (N, K) for inputs X."""
    models = list(models)
    if not models:
        raise ValueError("average_probabilities: models must hold at least one model; got none")
    return sum(softmax(np.asarray(m.scores(X), dtype=np.float64)) for m in models) / len(models)


def ensemble_accuracy(models, X, y) -> float:
    """Fraction of X whose averaged prediction is the label y (N,) in 0..K−1."""
    probs = average_probabilities(models, X)
    y = check_labels(y, probs.shape[0], probs.shape[1], "ensemble_accuracy")
    return float(np.mean(probs.argmax(axis=1) == y))


def with_params(model, params: dict):
    """A copy of ``model`` holding copies of ``params`` (same names and shapes)."""
    missing = set(model.params) ^ set(params)
    if missing:
        raise ValueError(f"with_params: params must have the model's names {sorted(model.params)};"
                         f" these differ: {sorted(missing)}")
    twin = copy.copy(model)
    twin.params = {k: np.array(v, dtype=model.params[k].dtype, copy=True)
                   for k, v in params.items()}
    for k, v in twin.params.items():
        if v.shape != model.params[k].shape:
            raise ValueError(f"with_params: {k} must have shape {model.params[k].shape}; got "
                             f"{v.shape}")
    return twin


def independent(make_model, count, fit):
    """Train ``count`` models, each from ``make_model(seed)`` with seed = 0..count−1, by
    ``fit(model)``; return the trained models."""
    count = int(check_scalar(count, "count", "independent", low=1, integer=True))
    models = []
    for seed in range(count):
        model = make_model(seed)
        fit(model)
        models.append(model)
    return models


class Snapshots:
    """A ``train`` callback that keeps copies of the weights at chosen epochs.

    epochs: the epochs (0-based, as ``train`` counts them) whose weights to keep.
    After training, ``members(model)`` gives one model per kept snapshot.
    """

    def __init__(self, epochs):
        self.epochs = sorted({int(e) for e in epochs})
        if not self.epochs or self.epochs[0] < 0:
            raise ValueError(f"Snapshots: epochs must be non-negative integers; got {epochs!r}")
        self.saved: list[dict] = []

    def __call__(self, epoch, history, model):
        if epoch in self.epochs:
            self.saved.append({k: v.copy() for k, v in model.params.items()})
        return False

    def members(self, model) -> list:
        if not self.saved:
            raise ValueError("Snapshots.members: no snapshot was taken (did training reach the "
                             f"epochs {self.epochs}?)")
        return [with_params(model, p) for p in self.saved]


class WeightAverage:
    """A ``train`` callback keeping a running average of the weights from epoch ``start`` on.

    decay None: the plain mean of the weights seen, avg ← avg + (w − avg)/k after the k-th
    averaged epoch (Polyak averaging). decay in (0, 1): an exponentially decaying average,
    avg ← decay·avg + (1 − decay)·w, which forgets old weights (the Western deck's version).
    ``model_of(model)`` gives a model with the averaged weights."""

    def __init__(self, start=0, decay=None):
        self.start = int(check_scalar(start, "start", "WeightAverage", low=0, integer=True))
        self.decay = None if decay is None else float(
            check_scalar(decay, "decay", "WeightAverage", low=0, high=1, low_open=True,
                         high_open=True))
        self.count = 0
        self.average: dict | None = None

    def __call__(self, epoch, history, model):
        if epoch < self.start:
            return False
        self.count += 1
        if self.average is None:
            self.average = {k: v.astype(np.float64) for k, v in model.params.items()}
        else:
            rate = 1.0 / self.count if self.decay is None else 1.0 - self.decay
            for k, v in model.params.items():
                self.average[k] += rate * (v - self.average[k])
        return False

    def model_of(self, model):
        if self.average is None:
            raise ValueError(f"WeightAverage.model_of: no epoch reached start={self.start}")
        return with_params(model, self.average)


class Callbacks:
    """Several ``train`` callbacks as one (training stops if any of them returns True)."""

    def __init__(self, *callbacks):
        self.callbacks = callbacks

    def __call__(self, epoch, history, model):
        return any([c(epoch, history, model) for c in self.callbacks])


__all__ = ["Callbacks", "Snapshots", "WeightAverage", "average_probabilities",
           "ensemble_accuracy", "independent", "with_params"]
