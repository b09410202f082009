"""Tests of nnutils.train: the training loop, its history, early stopping, divergence, schedules."""

import dataclasses
import re

import numpy as np
import pytest

from nnutils.data import CharVocab, load_corpus, load_digits
from nnutils.models import MLP, CharRNN, ConvNet
from nnutils.optim import Optimizer
from nnutils.train import History, TrainingDivergedWarning, train


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture
def one_blas_thread():
    """Run BLAS on one thread: on a busy 2-core machine OpenBLAS's second thread, waiting for a
    core, makes the many small matrix products of training several times slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield


def _blobs(n=120, d=4, k=3, seed=0, spread=1.0):
    """k Gaussian blobs in d dimensions: an easy classification problem."""
    rng = np.random.default_rng(seed)
    centres = 3 * rng.standard_normal((k, d))
    y = rng.integers(0, k, n)
    return centres[y] + spread * rng.standard_normal((n, d)), y


# --------------------------------------------------------------------------------------------
# Acceptance: the digits
# --------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.usefixtures("one_blas_thread")
def test_mlp_reaches_95_percent_test_accuracy_on_the_digits(digits):
    model = MLP([64, 128, 10], rng=np.random.default_rng(0))
    history = train(model, digits.X_train, digits.y_train, digits.X_val, digits.y_val,
                    epochs=10, batch_size=32, optimizer="adam", lr=3e-3,
                    rng=np.random.default_rng(0), progress=False)
    assert not history.diverged
    assert model.accuracy(digits.X_test, digits.y_test) >= 0.95


@pytest.mark.slow
@pytest.mark.usefixtures("one_blas_thread")
def test_convnet_reaches_97_percent_test_accuracy_on_the_digits():
    data = load_digits(flatten=False)
    model = ConvNet(channels=(16, 32), rng=np.random.default_rng(0))
    history = train(model, data.X_train, data.y_train, data.X_val, data.y_val,
                    epochs=12, batch_size=32, optimizer="adam", lr=3e-3,
                    rng=np.random.default_rng(0), progress=False)
    assert not history.diverged
    assert model.accuracy(data.X_test, data.y_test) >= 0.97


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------

def test_history_has_one_entry_per_epoch_and_the_final_losses_of_the_model():
    X, y = _blobs(seed=1)
    Xv, yv = _blobs(n=40, seed=1)
    model = MLP([4, 8, 3], rng=np.random.default_rng(0))
    history = train(model, X[:90], y[:90], Xv, yv, epochs=6, lr=1e-2, progress=False)
    assert isinstance(history, History)
    for name in ("train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds"):
        assert len(getattr(history, name)) == 6, name
    assert history.epochs == 6
    assert all(s > 0 for s in history.seconds)
    assert history.train_loss[-1] == pytest.approx(model.evaluate(X[:90], y[:90])[0])
    assert history.val_acc[-1] == pytest.approx(model.accuracy(Xv, yv))
    assert history.best_epoch == int(np.argmin(history.val_loss))
    assert not history.stopped_early and not history.diverged and history.message == ""
    assert history.train_loss[-1] < history.train_loss[0]


def test_history_without_validation_set_has_empty_validation_lists():
    X, y = _blobs(seed=2)
    history = train(MLP([4, 6, 3]), X, y, epochs=3, progress=False)
    assert history.val_loss == [] and history.val_acc == []
    assert len(history.train_loss) == len(history.train_acc) == 3
    assert history.best_epoch == int(np.argmin(history.train_loss))


def test_regression_history_has_losses_and_no_accuracy():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 2))
    t = X @ np.array([1.5, -2.0]) + 0.5
    model = MLP([2, 1], loss="squared", rng=rng)
    history = train(model, X, t, X, t, epochs=20, optimizer="sgd", lr=0.1, progress=False)
    assert history.train_acc == [] and history.val_acc == []
    assert history.train_loss[-1] < 1e-3 * history.train_loss[0]


def test_history_plots_as_loss_curves():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnutils.plotting import plot_loss_curves

    X, y = _blobs(seed=4)
    history = train(MLP([4, 5, 3]), X, y, X, y, epochs=3, progress=False)
    ax = plot_loss_curves(history)
    assert len(ax.lines) == 2 and len(ax.accuracy_ax.lines) == 2
    plt.close("all")


# --------------------------------------------------------------------------------------------
# Mini-batches, rng, optimizers, schedules, clipping, callback, progress bar
# --------------------------------------------------------------------------------------------

def test_the_same_rng_seed_reproduces_training_and_another_seed_shuffles_differently():
    X, y = _blobs(seed=5)

    def run(seed):
        model = MLP([4, 6, 3], dropout=0.2, rng=np.random.default_rng(0))
        train(model, X, y, epochs=2, batch_size=10, rng=np.random.default_rng(seed),
              progress=False)
        return model.params["W1"]

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


class _Recorder:
    """A model that learns nothing and records the samples of every mini-batch it is given."""

    def __init__(self):
        self.params = {"w": np.zeros(1)}
        self.batches = []

    def loss(self, X, y, reg=0.0, train=True, rng=None):
        self.batches.append(X[:, 0].astype(int).tolist())
        return 1.0, {"w": np.zeros(1)}

    def evaluate(self, X, y):
        return 1.0, None


def test_every_epoch_visits_each_sample_once_in_a_new_shuffled_order():
    X, y = np.arange(10.0).reshape(10, 1), np.zeros(10)
    model = _Recorder()
    train(model, X, y, epochs=3, batch_size=4, rng=np.random.default_rng(0), progress=False)
    assert [len(b) for b in model.batches] == [4, 4, 2] * 3
    epochs = [sum(model.batches[3 * e:3 * e + 3], []) for e in range(3)]
    assert all(sorted(order) == list(range(10)) for order in epochs)
    assert len({tuple(order) for order in epochs}) == 3
    assert epochs[0] != list(range(10))


def test_one_full_batch_sgd_epoch_is_one_gradient_step():
    X, y = _blobs(n=30, seed=6)
    model = MLP([4, 5, 3], rng=np.random.default_rng(0))
    W0 = {k: v.copy() for k, v in model.params.items()}
    _, grads = model.loss(X, y, reg=0.1)
    train(model, X, y, epochs=1, batch_size=30, optimizer="sgd", lr=0.5, reg=0.1, progress=False)
    for k in W0:
        np.testing.assert_allclose(model.params[k], W0[k] - 0.5 * grads[k], rtol=1e-12,
                                   atol=1e-15)


def test_an_optimizer_instance_keeps_its_hyperparameters_and_gets_the_lr():
    X, y = _blobs(seed=7)
    opt = Optimizer("momentum", 0.5, beta=0.5)
    history = train(MLP([4, 5, 3]), X, y, epochs=2, optimizer=opt, lr=0.01, progress=False)
    assert opt.lr == 0.01 and opt.hyper["beta"] == 0.5 and opt.state
    assert history.lr == [0.01, 0.01]


def test_a_named_schedule_sets_the_learning_rate_of_every_epoch():
    X, y = _blobs(seed=8)
    history = train(MLP([4, 5, 3]), X, y, epochs=5, optimizer="sgd", lr=0.1,
                    schedule=("step_decay", {"drop": 0.5, "every": 2}), progress=False)
    assert history.lr == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    history = train(MLP([4, 5, 3]), X, y, epochs=3, lr=0.2, schedule="step_decay",
                    progress=False)
    assert history.lr == pytest.approx([0.2, 0.2, 0.2])     # halves only every 5 epochs


def test_a_schedule_function_is_what_the_optimizer_uses():
    X, y = _blobs(seed=9)
    model = MLP([4, 5, 3], rng=np.random.default_rng(0))
    seen = []

    def frozen_after_first_epoch(epoch, history, model):
        seen.append({k: v.copy() for k, v in model.params.items()})

    history = train(model, X, y, epochs=3, optimizer="sgd", lr=0.1,
                    schedule=lambda epoch: 0.1 if epoch == 0 else 0.0,
                    callback=frozen_after_first_epoch, progress=False)
    assert history.lr == [0.1, 0.0, 0.0]
    for k in model.params:       # lr 0 from epoch 1 on: the weights stop moving
        np.testing.assert_array_equal(seen[2][k], seen[0][k])


def test_clipping_bounds_every_update_by_lr_times_max_norm():
    X, y = _blobs(n=40, seed=10)
    model = MLP([4, 5, 3], rng=np.random.default_rng(0))
    before = np.concatenate([v.ravel() for v in model.params.values()])
    train(model, X, y, epochs=1, batch_size=10, optimizer="sgd", lr=1.0, clip=1e-3,
          progress=False)
    after = np.concatenate([v.ravel() for v in model.params.values()])
    # four mini-batches, each moving the weights by at most lr * clip
    assert np.linalg.norm(after - before) <= 4 * 1e-3 * (1 + 1e-9)
    assert np.linalg.norm(after - before) > 3 * 1e-3    # the gradients were larger: clipped


def test_the_callback_sees_every_epoch_and_can_stop_training():
    X, y = _blobs(seed=11)
    calls = []

    def callback(epoch, history, model):
        calls.append((epoch, len(history.train_loss)))
        return epoch == 2

    history = train(MLP([4, 5, 3]), X, y, epochs=10, callback=callback, progress=False)
    assert calls == [(0, 1), (1, 2), (2, 3)]
    assert history.epochs == 3 and "callback" in history.message


def test_the_progress_bar_shows_the_loss_and_is_silent_when_disabled(capsys):
    X, y = _blobs(seed=12)
    train(MLP([4, 5, 3]), X, y, X, y, epochs=2, progress=True)
    err = capsys.readouterr().err
    assert "loss=" in err and "val_acc=" in err and "2/2" in err
    train(MLP([4, 5, 3]), X, y, epochs=2, progress=False)
    assert capsys.readouterr().err == ""


def test_float32_model_trains_in_float32():
    X, y = _blobs(seed=13)
    model = MLP([4, 6, 3], dtype=np.float32)
    history = train(model, X, y, epochs=3, lr=1e-2, progress=False)
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert history.train_loss[-1] < history.train_loss[0]


# --------------------------------------------------------------------------------------------
# Early stopping
# --------------------------------------------------------------------------------------------

def test_early_stopping_stops_after_patience_epochs_and_restores_the_best_weights(digits):
    # 60 training images and a large net: the validation loss soon turns up (overfitting)
    model = MLP([64, 256, 10], rng=np.random.default_rng(0))
    history = train(model, digits.X_train[:60], digits.y_train[:60], digits.X_val,
                    digits.y_val, epochs=200, batch_size=10, lr=1e-2, early_stopping=4,
                    rng=np.random.default_rng(0), progress=False)
    best = history.best_epoch
    assert history.stopped_early and history.epochs < 200
    assert history.epochs - 1 - best == 4
    # the message counts epochs from 1, as the plots do
    assert f"weights of epoch {best + 1} of {history.epochs} " in history.message
    assert best == int(np.argmin(history.val_loss))
    assert min(history.val_loss[best + 1:]) >= history.val_loss[best]
    # the model now holds the best epoch's weights, not the last epoch's
    assert model.evaluate(digits.X_val, digits.y_val)[0] == pytest.approx(
        history.val_loss[best], rel=1e-12)
    assert history.val_loss[-1] > history.val_loss[best]


def test_early_stopping_that_never_triggers_still_restores_the_best_epoch():
    X, y = _blobs(n=60, seed=14)
    Xv, yv = _blobs(n=60, seed=15)
    model = MLP([4, 6, 3], rng=np.random.default_rng(0))
    history = train(model, X, y, Xv, yv, epochs=8, lr=0.05, early_stopping=50,
                    progress=False)
    assert not history.stopped_early and history.epochs == 8
    assert model.evaluate(Xv, yv)[0] == pytest.approx(min(history.val_loss), rel=1e-12)


def test_early_stopping_needs_a_validation_set():
    X, y = _blobs()
    with pytest.raises(ValueError, match="early_stopping=3 needs a validation set"):
        train(MLP([4, 3]), X, y, early_stopping=3, progress=False)


# --------------------------------------------------------------------------------------------
# Divergence
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_divergence_at_a_huge_learning_rate_is_reported_not_raised(digits, optimizer):
    model = MLP([64, 32, 10], rng=np.random.default_rng(0))
    initial = {k: v.copy() for k, v in model.params.items()}
    with pytest.warns(TrainingDivergedWarning, match="learning rate"):
        history = train(model, digits.X_train, digits.y_train, digits.X_val, digits.y_val,
                        epochs=5, optimizer=optimizer, lr=1e3, progress=False)
    assert history.diverged and not history.stopped_early
    assert "diverged" in history.message and "1000" in history.message
    assert history.epochs == 0 and history.val_loss == [] and history.best_epoch is None
    for k, v in model.params.items():       # no epoch finished: back to the initial weights
        np.testing.assert_array_equal(v, initial[k])


class _Scripted:
    """A one-parameter model whose loss is scripted per call, to provoke each failure."""

    def __init__(self, losses):
        self.params = {"w": np.zeros(2)}
        self.losses = list(losses)
        self.calls = 0

    def loss(self, X, y, reg=0.0, train=True, rng=None):
        value = self.losses[min(self.calls, len(self.losses) - 1)]
        self.calls += 1
        if value == "overflow":
            return float(np.exp(np.array(1e3)).sum()), {"w": np.ones(2)}
        return value, {"w": np.ones(2)}

    def evaluate(self, X, y):
        return 1.0, None


@pytest.mark.parametrize("losses, match", [
    ([1.0, 1.0, float("nan")], "the loss became nan in epoch 1, mini-batch 0"),
    ([1.0, float("inf")], "the loss became inf in epoch 0, mini-batch 1"),
    ([2.0, 1.0, 1e4], "exploded to 1e\\+04 in epoch 1"),
    ([1.0, "overflow"], r"floating-point error in epoch 0, mini-batch 1 \(overflow"),
])
def test_nan_inf_exploding_and_overflowing_losses_stop_training(losses, match):
    model = _Scripted(losses)
    X, y = np.zeros((4, 1)), np.zeros(4)
    with pytest.warns(TrainingDivergedWarning):
        history = train(model, X, y, epochs=5, batch_size=2, optimizer="sgd", lr=0.1,
                        progress=False)
    assert history.diverged
    assert re.search(match, history.message), history.message
    # every completed epoch is recorded, and the weights are those of the last one
    assert len(history.train_loss) == len(history.lr) == len(history.seconds)
    np.testing.assert_allclose(model.params["w"], -0.1 * 2 * history.epochs * np.ones(2))


def test_divergence_under_early_stopping_restores_the_best_epoch():
    model = _Scripted([1.0] * 6 + [float("nan")])    # two batches per epoch: epoch 3 fails
    X, y = np.zeros((4, 1)), np.zeros(4)
    with pytest.warns(TrainingDivergedWarning, match="best epoch, 0"):
        history = train(model, X, y, X, y, epochs=10, batch_size=2, optimizer="sgd", lr=0.1,
                        early_stopping=5, progress=False)
    assert history.diverged and history.epochs == 3
    assert history.best_epoch == 0               # the scripted validation loss never improves
    np.testing.assert_allclose(model.params["w"], [-0.2, -0.2])


# --------------------------------------------------------------------------------------------
# Sequence models
# --------------------------------------------------------------------------------------------

def _corpus_windows(T):
    text = load_corpus()
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    windows = ids[: len(ids) // (T + 1) * (T + 1)].reshape(-1, T + 1)
    return vocab, windows[:, :-1], windows[:, 1:]


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.usefixtures("one_blas_thread")
def test_charrnn_loss_falls_on_the_course_corpus_within_a_few_hundred_steps(cell):
    vocab, X, y = _corpus_windows(T=20)
    model = CharRNN(vocab.size, 48, cell=cell, rng=np.random.default_rng(0))
    initial = model.evaluate(X, y)[0]
    assert initial == pytest.approx(np.log(vocab.size), abs=0.3)    # about uniform at first
    steps_per_epoch = -(-len(X) // 32)
    history = train(model, X, y, epochs=150 // steps_per_epoch, batch_size=32, lr=1e-2,
                    clip=5.0, rng=np.random.default_rng(0), progress=False)
    assert not history.diverged
    assert history.train_loss[-1] < initial - 1.0
    assert all(b < a + 0.05 for a, b in zip(history.train_loss, history.train_loss[1:]))
    sample = model.sample(vocab.encode("the "), 30, temperature=0.5,
                          rng=np.random.default_rng(0))
    assert sample.shape == (30,) and sample.max() < vocab.size


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    ({"y_train": np.zeros(7, int)}, ValueError,
     r"y_train must have one entry per sample of X_train, shape \(10, \.\.\.\); got \(7,\)"),
    ({"X_val": np.zeros((3, 4))}, ValueError, r"give both X_val and y_val"),
    ({"X_val": np.zeros((3, 4)), "y_val": np.zeros(2, int)}, ValueError,
     r"y_val must have one entry per sample of X_val, shape \(3, \.\.\.\)"),
    ({"epochs": 0}, ValueError, r"epochs must be >= 1"),
    ({"batch_size": 2.5}, TypeError, r"batch_size must be an integer"),
    ({"lr": -1.0}, ValueError, r"lr must be >= 0"),
    ({"optimizer": "adamw"}, ValueError, r"optimizer must be one of 'sgd'"),
    ({"schedule": 3}, TypeError, r"schedule must be None, a function"),
    ({"schedule": "cosine"}, ValueError, r"unknown schedule 'cosine'"),
    ({"clip": 0.0}, ValueError, r"clip must be > 0"),
    ({"rng": 0}, TypeError, r"rng must be a numpy.random.Generator"),
    ({"callback": "print"}, TypeError, r"callback must be a function"),
])
def test_train_errors_name_what_was_expected(kwargs, error, match):
    args = {"X_train": np.zeros((10, 4)), "y_train": np.zeros(10, int), **kwargs}
    with pytest.raises(error, match=match):
        train(MLP([4, 3]), progress=False, **args)


def test_train_rejects_an_object_that_is_not_a_model():
    with pytest.raises(TypeError, match=r"model must have a dict 'params'.*without evaluate"):
        train(dataclasses.make_dataclass("M", ["params", "loss"])({}, None),
              np.zeros((2, 1)), np.zeros(2), progress=False)


def test_model_errors_surface_with_the_models_message():
    with pytest.raises(ValueError, match=r"MLP.loss: X must have shape \(N, D\) = \(N, 5\)"):
        train(MLP([5, 3]), np.zeros((10, 4)), np.zeros(10, int), progress=False)
