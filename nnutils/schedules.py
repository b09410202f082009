"""Learning-rate schedules (lecture 4): the learning rate as a function of the epoch.

    step_decay           lr0·drop^⌊epoch / every⌋   (halve every 5 epochs by default)
    exponential_decay    lr0·e^(−k·epoch)
    inverse_time_decay   lr0 / (1 + k·epoch)        ("1/t" decay)

Epochs count from 0, where every schedule gives lr0. ``make_schedule(name, lr0, **kw)`` fixes
everything but the epoch, for a training loop: ``opt.lr = schedule(epoch)`` at each epoch.
"""

import inspect
import math

from ._checks import check_scalar

__all__ = ["SCHEDULES", "constant", "exponential_decay", "inverse_time_decay", "make_schedule",
           "step_decay"]


def _common(lr0, epoch, func):
    return check_scalar(lr0, "lr0", func, low=0), check_scalar(epoch, "epoch", func, low=0)


def constant(lr0, epoch):
    """No schedule: lr0 at every epoch (epoch >= 0)."""
    lr0, _ = _common(lr0, epoch, "constant")
    return float(lr0)


def step_decay(lr0, epoch, drop=0.5, every=5):
    """Step decay: lr0·drop^floor(epoch / every).

    lr0 >= 0: the initial learning rate; epoch >= 0; drop in (0, 1]: the factor applied at each
    step; every >= 1: epochs between steps (an integer). With every = 5, epochs 0..4 use lr0 and
    epoch 5 is the first to use lr0·drop.
    """
    func = "step_decay"
    lr0, epoch = _common(lr0, epoch, func)
    drop = check_scalar(drop, "drop", func, low=0, high=1, low_open=True)
    every = check_scalar(every, "every", func, low=1, integer=True)
    return float(lr0 * drop ** math.floor(epoch / every))


def exponential_decay(lr0, epoch, k):
    """Exponential decay: lr0·e^(−k·epoch), with lr0 >= 0, epoch >= 0 and rate k >= 0."""
    func = "exponential_decay"
    lr0, epoch = _common(lr0, epoch, func)
    k = check_scalar(k, "k", func, low=0)
    return float(lr0 * math.exp(-k * epoch))


def inverse_time_decay(lr0, epoch, k):
    """Inverse-time ("1/t") decay: lr0 / (1 + k·epoch), with lr0 >= 0, epoch >= 0 and k >= 0."""
    func = "inverse_time_decay"
    lr0, epoch = _common(lr0, epoch, func)
    k = check_scalar(k, "k", func, low=0)
    return float(lr0 / (1 + k * epoch))


# name -> schedule function (lr0, epoch, **kw) -> lr
SCHEDULES = {
    "constant": constant,
    "step_decay": step_decay,
    "exponential_decay": exponential_decay,
    "inverse_time_decay": inverse_time_decay,
}


def make_schedule(name: str, lr0, **kw):
    """The schedule ``name`` with lr0 and its parameters fixed: a function epoch -> lr.

    name: a key of ``SCHEDULES``; kw: that schedule's other arguments (drop, every for
    "step_decay"; k for "exponential_decay" and "inverse_time_decay"; none for "constant").
    The arguments are checked here, by computing the rate at epoch 0, so a mistake shows up
    before training starts.
    """
    if name not in SCHEDULES:
        raise ValueError(f"make_schedule: unknown schedule {name!r}; choose one of "
                         f"{', '.join(repr(k) for k in SCHEDULES)}")
    fn = SCHEDULES[name]
    try:
        inspect.signature(fn).bind(lr0, 0, **kw)
    except TypeError as exc:
        raise TypeError(f"make_schedule: wrong arguments for {name!r}, which takes "
                        f"{name}{inspect.signature(fn)}: {exc}") from None
    fn(lr0, 0, **kw)

    def schedule(epoch):
        return fn(lr0, epoch, **kw)

    schedule.__name__ = name
    schedule.__doc__ = f"{name}(lr0={lr0}{''.join(f', {k}={v}' for k, v in kw.items())}, epoch)"
    return schedule
