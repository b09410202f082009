"""The course's grader and the checks its test cells are written with.

Test cells import from here (``from nnutils.grading import check_close, check_layer``); the
machinery (sandbox, kernel, engine, reports) lives in submodules that only the grader imports.
"""

import sys

# jsonschema (under nbformat and nbgrader) imports the optional IRI checker rfc3987_syntax when
# it is installed, which compiles a grammar for 1.4 s; notebooks never use IRI formats, so the
# grader's processes skip it. (setdefault: a process that already has it keeps it.)
sys.modules.setdefault("rfc3987_syntax", None)

from .checks import (  # noqa: E402
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
