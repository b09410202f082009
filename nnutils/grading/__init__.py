"""The course's grader and the checks its test cells are written with.

Test cells import from here (``from nnutils.grading import check_close, check_layer``); the
machinery (sandbox, kernel, engine, reports) lives in submodules that only the grader imports.
"""

from .checks import (
                     GradingFailure,
                     KernelCode,
                     check,
                     check_array,
                     check_close,
                     check_equal,
                     check_gradient,
                     check_layer,
                     check_layer_gradients,
                     random_array,
                     relative_error,
)

__all__ = ["GradingFailure", "KernelCode", "check", "check_array", "check_close", "check_equal",
           "check_gradient", "check_layer", "check_layer_gradients", "random_array",
           "relative_error"]
