"""The training loop (lectures 4 and 5): mini-batch gradient descent on any model of this library.

One call trains a model and returns its ``History``::

    history = train(model, data.X_train, data.y_train, data.X_val, data.y_val,
                    epochs=30, batch_size=32, optimizer="adam", lr=1e-3,
                    schedule=("step_decay", {"drop": 0.5, "every": 10}), reg=1e-4,
                    early_stopping=5, rng=np.random.default_rng(0))

Each epoch: set the learning rate from the schedule; shuffle the training set with ``rng``; for
every mini-batch compute ``model.loss`` (with dropout, with the L2 term), clip the gradients'
global norm if asked, and let the optimizer update ``model.params``; then evaluate the model in
test mode on the whole training set and the validation set, record everything in the history,
update the progress bar and call ``callback``.

What can stop training before ``epochs``:

- early stopping (``early_stopping=patience``): no new lowest validation loss for ``patience``
  epochs in a row. The weights of the best epoch are restored at the end (whenever early
  stopping is on, also when training ran to the last epoch).
- divergence: a loss that is NaN or infinite, a floating-point overflow anywhere in the
  computation, or a mini-batch loss above ``EXPLODE_FACTOR`` times the first one (at least
  ``EXPLODE_FACTOR``). Training stops with ``history.diverged = True``, a message saying what
  happened and what to try, and a ``TrainingDivergedWarning``; never an exception from deep
  inside NumPy. The model keeps the weights of the last epoch that ended with finite losses
  (the best epoch's under early stopping, the initial ones if no epoch finished).
- the callback returning True.

Models. ``train`` needs only this of a model (``MLP``, ``ConvNet`` and ``CharRNN`` of
``nnutils.models`` have it, and so can any class written in a notebook):

    model.params                     dict name -> array (replaced by the optimizer, never
                                     written into)
    model.loss(Xb, yb, reg=, train=True, rng=)  -> (loss, grads keyed like params)
    model.evaluate(X, y)             -> (data loss, accuracy or None), test mode

Sequence models use the same function: for a ``CharRNN``, X and y are (N, T) int arrays of
input windows and their next-character targets, and mini-batches are N-slices of them. Cut a
text of ids into such windows with::

    windows = ids[: len(ids) // (T + 1) * (T + 1)].reshape(-1, T + 1)
    X, y = windows[:, :-1], windows[:, 1:]

and pass ``clip=5.0`` (say) to clip the gradients that backpropagation through time can blow up.
"""

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_scalar
from .optim import OPTIMIZERS, Optimizer
from .regularization import early_stopping as _best_epoch_to_keep
from .rnn import clip_gradients, global_norm
from .schedules import SCHEDULES, make_schedule

__all__ = ["EXPLODE_FACTOR", "History", "TrainingDivergedWarning", "train"]

# A mini-batch loss this many times the first mini-batch's loss (and at least this large)
# counts as exploding: a healthy run never climbs so far above where it started.
EXPLODE_FACTOR = 100.0


class TrainingDivergedWarning(UserWarning):
    """Issued by ``train`` when the loss becomes NaN, infinite or explodes."""


@dataclass
class History:
    """What happened in each epoch of ``train``; lists have one entry per completed epoch.

    train_loss, val_loss: the data loss (no L2 term, no dropout) on the whole training and
        validation sets after each epoch. val_loss is empty without a validation set.
    train_acc, val_acc: accuracies after each epoch; empty when the model reports none
        (regression) or there is no validation set.
    lr: the learning rate used in each epoch. seconds: wall time of each epoch (training and
        evaluation).
    best_epoch: index (0-based) of the epoch with the lowest validation loss (training loss
        without a validation set); with early stopping, the epoch whose weights were restored.
        None if no epoch completed. In plots, where epoch k is drawn at k + 1, it is at
        best_epoch + 1.
    stopped_early: True when early stopping ended training before the last epoch.
    diverged: True when training stopped on a NaN, infinite or exploding loss.
    message: why training stopped early, or "" when it ran all its epochs.
    """

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    diverged: bool = False
    message: str = ""

    @property
    def epochs(self) -> int:
        """Number of completed epochs (the length of every per-epoch list)."""
        return len(self.train_loss)


class _Diverged(Exception):
    """Raised inside an epoch to leave it; ``train`` turns it into the history's message."""


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------

def _check_model(model, func: str) -> None:
    missing = [name for name in ("params", "loss", "evaluate") if not hasattr(model, name)]
    if missing or not isinstance(model.params, dict):
        raise TypeError(f"{func}: model must have a dict 'params' and the methods 'loss' and"
                        f" 'evaluate' (like nnutils.models.MLP, ConvNet, CharRNN); got"
                        f" {type(model).__name__}" + (f" without {', '.join(missing)}"
                                                      if missing else ""))


def _check_data(X, y, xname: str, yname: str, func: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or X.shape[0] == 0:
        raise ValueError(f"{func}: {xname} must be an array (N, ...) with N >= 1 samples; got"
                         f" shape {X.shape}")
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{func}: {yname} must have one entry per sample of {xname}, shape"
                         f" ({X.shape[0]}, ...); got {y.shape}")
    return X, y


def _make_optimizer(optimizer, lr, func: str) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        optimizer.lr = lr
        return optimizer
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:
        raise ValueError(f"{func}: optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}"
                         f" or an nnutils.optim.Optimizer; got {optimizer!r}")
    return Optimizer(optimizer, lr)


def _make_schedule(schedule, lr, func: str):
    """schedule as a function epoch -> lr, or None for a constant rate."""
    if schedule is None or callable(schedule):
        return schedule
    if isinstance(schedule, str):
        name, kw = schedule, {}
    elif isinstance(schedule, tuple) and len(schedule) == 2 and isinstance(schedule[1], dict):
        name, kw = schedule
    else:
        raise TypeError(f"{func}: schedule must be None, a function epoch -> lr, a schedule"
                        f" name ({', '.join(map(repr, SCHEDULES))}) or a pair (name, dict of its"
                        f" arguments) such as ('exponential_decay', {{'k': 0.1}}); got"
                        f" {schedule!r}")
    return make_schedule(name, lr, **kw)


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------

def _snapshot(params: dict) -> dict:
    return {k: np.array(v, copy=True) for k, v in params.items()}


def _run_epoch(model, opt, X, y, batch_size, reg, clip, rng, first_loss, epoch):
    """One pass over the shuffled training set; returns the first mini-batch loss seen so far.

    Raises _Diverged with a message when a loss or gradient is unusable.
    """
    n = X.shape[0]
    order = rng.permutation(n)
    limit = None if first_loss is None else EXPLODE_FACTOR * max(first_loss, 1.0)
    for batch, start in enumerate(range(0, n, batch_size)):
        idx = order[start:start + batch_size]
        try:
            loss, grads = model.loss(X[idx], y[idx], reg=reg, train=True, rng=rng)
        except FloatingPointError as exc:
            raise _Diverged(f"a floating-point error in epoch {epoch}, mini-batch {batch}"
                            f" ({exc})") from None
        if not math.isfinite(loss):
            raise _Diverged(f"the loss became {loss} in epoch {epoch}, mini-batch {batch}")
        if first_loss is None:
            first_loss = loss
            limit = EXPLODE_FACTOR * max(first_loss, 1.0)
        elif loss > limit:
            raise _Diverged(f"the loss exploded to {loss:.4g} in epoch {epoch}, mini-batch"
                            f" {batch} (it started at {first_loss:.4g})")
        if clip is not None:
            names = list(grads)
            arrays = [grads[k] for k in names]
            norm = global_norm(arrays)
            if not math.isfinite(norm):
                raise _Diverged(f"the gradient became {norm} in epoch {epoch}, mini-batch"
                                f" {batch}")
            if norm > clip:
                grads = dict(zip(names, clip_gradients(arrays, clip), strict=True))
        try:
            opt.step(model.params, grads)
        except FloatingPointError as exc:
            raise _Diverged(f"a floating-point error in the update of epoch {epoch},"
                            f" mini-batch {batch} ({exc})") from None
    return first_loss


def _evaluate(model, X, y, what: str, epoch: int):
    try:
        loss, acc = model.evaluate(X, y)
    except FloatingPointError as exc:
        raise _Diverged(f"a floating-point error while evaluating on the {what} set after"
                        f" epoch {epoch} ({exc})") from None
    if not math.isfinite(loss):
        raise _Diverged(f"the {what} loss became {loss} after epoch {epoch}")
    return float(loss), None if acc is None else float(acc)


def _divergence_message(reason: str, lr: float, clip, kept: str) -> str:
    advice = "try a smaller one" if clip is not None else \
        "try a smaller one, or clip the gradients (clip=5.0)"
    return (f"training diverged: {reason}. The learning rate was {lr:g}; {advice}. The model"
            f" keeps the weights of {kept}.")


def train(model, X_train, y_train, X_val=None, y_val=None, epochs=10, batch_size=32,
          optimizer="adam", lr=1e-3, schedule=None, reg=0.0, early_stopping=None, clip=None,
          rng=None, progress=True, callback=None):
    """Train ``model`` by mini-batch gradient descent and return its ``History``.

    model: an ``MLP``, ``ConvNet`` or ``CharRNN`` (or anything with ``params``, ``loss`` and
        ``evaluate``, see the module docstring). Its ``params`` are updated in place.
    X_train: (N, ...) inputs; y_train: (N, ...) targets, in the forms ``model.loss`` takes
        ((N, D) and (N,) labels for an MLP, (N, C, H, W) for a ConvNet, (N, T) int ids and
        (N, T) next ids for a CharRNN).
    X_val, y_val: an optional validation set of the same kinds (both or neither).
    epochs: number of passes over the training set, >= 1.
    batch_size: samples per mini-batch, >= 1 (the last batch of an epoch holds the rest).
    optimizer: "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", or an
        ``nnutils.optim.Optimizer`` (to set hyperparameters such as beta; its lr is set to lr).
    lr: the learning rate, >= 0 (the rate at epoch 0 when there is a schedule).
    schedule: None (constant lr); a function epoch -> lr (epochs count from 0); a name of
        ``nnutils.schedules.SCHEDULES`` with its default arguments; or a pair (name, dict),
        e.g. ("step_decay", {"drop": 0.5, "every": 10}). Set before every epoch.
    reg: L2 strength >= 0 passed to ``model.loss`` (0.5·reg·Σ‖W‖², weights only).
    early_stopping: None, or the patience: an integer >= 1 of epochs without a new lowest
        validation loss after which training stops; needs a validation set. The best epoch's
        weights are restored at the end. The rule is ``nnutils.regularization.early_stopping``.
    clip: None, or max_norm > 0: gradients whose global L2 norm exceeds it are scaled down to
        it (``nnutils.rnn.clip_gradients``) before each update.
    rng: Generator for shuffling and dropout masks; default ``numpy.random.default_rng(0)``.
    progress: show a tqdm progress bar (one step per epoch, the losses in its postfix).
    callback: None, or a function callback(epoch, history, model) called after every epoch
        (epoch counts from 0) for live plots; if it returns True, training stops there.
    Returns a ``History``. Divergence is reported in it (and by a TrainingDivergedWarning),
    not raised.
    """
    func = "train"
    _check_model(model, func)
    X_train, y_train = _check_data(X_train, y_train, "X_train", "y_train", func)
    if (X_val is None) != (y_val is None):
        raise ValueError(f"{func}: give both X_val and y_val for a validation set, or neither;"
                         f" got only {'X_val' if y_val is None else 'y_val'}")
    has_val = X_val is not None
    if has_val:
        X_val, y_val = _check_data(X_val, y_val, "X_val", "y_val", func)
    epochs = int(check_scalar(epochs, "epochs", func, low=1, integer=True))
    batch_size = int(check_scalar(batch_size, "batch_size", func, low=1, integer=True))
    lr = float(check_scalar(lr, "lr", func, low=0))
    reg = float(check_scalar(reg, "reg", func, low=0))
    if early_stopping is not None:
        early_stopping = int(check_scalar(early_stopping, "early_stopping", func, low=1,
                                          integer=True))
        if not has_val:
            raise ValueError(f"{func}: early_stopping={early_stopping} needs a validation set"
                             f" to watch; pass X_val and y_val")
    if clip is not None:
        clip = float(check_scalar(clip, "clip", func, low=0, low_open=True))
    if rng is None:
        rng = np.random.default_rng(0)
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator, e.g."
                        f" numpy.random.default_rng(0); got {type(rng).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"{func}: callback must be a function (epoch, history, model); got"
                        f" {type(callback).__name__}")
    dtype = getattr(model, "dtype", None)    # convert float data once, not every mini-batch
    if dtype in (np.float32, np.float64):
        X_train = X_train.astype(dtype, copy=False) if X_train.dtype.kind == "f" else X_train
        if has_val and X_val.dtype.kind == "f":
            X_val = X_val.astype(dtype, copy=False)
    opt = _make_optimizer(optimizer, lr, func)
    lr_of = _make_schedule(schedule, lr, func)

    history = History()
    last_good = _snapshot(model.params)      # weights after the last epoch with finite losses
    best = None                              # weights of the best epoch, under early stopping
    first_loss = None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"train {type(model).__name__}", unit="epoch")
    try:
        for epoch in range(epochs):
            start = time.perf_counter()
            rate = opt.lr if lr_of is None else lr_of(epoch)
            opt.lr = check_scalar(rate, f"schedule({epoch})", func, low=0)
            try:
                with np.errstate(over="raise", divide="raise", invalid="raise"):
                    first_loss = _run_epoch(model, opt, X_train, y_train, batch_size, reg, clip,
                                            rng, first_loss, epoch)
                    train_loss, train_acc = _evaluate(model, X_train, y_train, "training",
                                                      epoch)
                    if has_val:
                        val_loss, val_acc = _evaluate(model, X_val, y_val, "validation", epoch)
            except (_Diverged, FloatingPointError) as exc:
                reason = str(exc) if isinstance(exc, _Diverged) else \
                    f"a floating-point error in epoch {epoch} ({exc})"
                if best is not None:
                    kept = f"its best epoch, {history.best_epoch}"
                else:
                    kept = f"epoch {epoch - 1}" if epoch else "its initialization"
                history.diverged = True
                history.message = _divergence_message(reason, opt.lr, clip, kept)
                break
            history.train_loss.append(train_loss)
            history.lr.append(opt.lr)
            if train_acc is not None:
                history.train_acc.append(train_acc)
            if has_val:
                history.val_loss.append(val_loss)
                if val_acc is not None:
                    history.val_acc.append(val_acc)
            history.seconds.append(time.perf_counter() - start)
            last_good = _snapshot(model.params)

            watched = history.val_loss if has_val else history.train_loss
            history.best_epoch = int(np.argmin(watched))   # the first of equal minima
            if early_stopping is not None:
                keep = _best_epoch_to_keep(history.val_loss, early_stopping)
                history.best_epoch = keep
                if keep == epoch:
                    best = last_good
            if bar is not None:
                post = {"loss": f"{train_loss:.4g}"}
                if has_val:
                    post["val_loss"] = f"{val_loss:.4g}"
                    if val_acc is not None:
                        post["val_acc"] = f"{val_acc:.3f}"
                bar.set_postfix(post, refresh=False)
                bar.update(1)
            if callback is not None and callback(epoch, history, model) is True:
                if epoch < epochs - 1:
                    history.message = f"stopped by the callback after epoch {epoch}"
                break
            if early_stopping is not None and epoch - history.best_epoch >= early_stopping:
                if epoch < epochs - 1:
                    history.stopped_early = True
                    history.message = (f"early stopping: the validation loss has not improved"
                                       f" for {early_stopping} epochs; restored the weights of"
                                       f" epoch {history.best_epoch + 1} of {epoch + 1}"
                                       f" (validation loss"
                                       f" {history.val_loss[history.best_epoch]:.4g})")
                break
    finally:
        if bar is not None:
            bar.close()

    if best is not None:
        model.params.update(_snapshot(best))
    elif history.diverged:
        model.params.update(last_good)
    if history.diverged:
        warnings.warn(history.message, TrainingDivergedWarning, stacklevel=2)
    return history
