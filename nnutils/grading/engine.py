"""Grade one submission: run the student's code in a sandboxed kernel, the tests in here.

For each submitted notebook the grader builds a plan (``notebook.build_plan``): student code
steps run in the kernel, in order, each with the per-cell timeout; test steps run in this (the
trusted) process. A test cell's free names that the student's notebook defines become
:class:`RemoteFunction` objects, so ``perceptron_predict(X, w, b)`` inside a test is a call into
the kernel whose return value comes back as plain arrays. Every comparison, every tolerance and
every verdict is computed here, out of the student's reach: redefining ``np.allclose``, patching
IPython or silencing tracebacks in the kernel changes nothing but the student's own outputs.

A crash or a hang costs the cell it happens in: the kernel is restarted, the cells before are run
again, and grading goes on. Points already earned are kept.
"""

import ast
import builtins
import contextlib
import io
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..contract import ALL_FUNCTIONS
from . import checks, protocol
from .checks import GradingFailure
from .kernel import SandboxedKernel, Zygote
from .notebook import (
    Assignment,
    AssignmentNotebook,
    NotebookUnreadable,
    Step,
    TestCell,
    build_plan,
    read_submission,
)

MAX_RESTARTS = 3
TRUSTED_FACTOR = 5      # a test may take this many times the student's time limit in all


class StudentCodeError(GradingFailure):
    """The student's function raised, hung, or crashed the kernel while a test called it.

    ``function`` is the student function that was running, when the grader knows it.
    """

    def __init__(self, message: str, summary: str | None = None, function: str | None = None):
        super().__init__(message, summary)
        self.function = function


class KernelLost(Exception):
    """The kernel died or hung during a test; it must be restarted before the next step."""


@dataclass
class Options:
    timeout: float = 30.0           # per cell, seconds
    memory_mb: int = 2048
    total_timeout: float | None = None

    @property
    def total(self) -> float:
        return self.total_timeout or max(300.0, 20 * self.timeout)


@dataclass
class TestResult:
    grade_id: str
    function: str
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass
class NotebookResult:
    notebook: str
    file: str | None = None
    tests: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)          # about the whole notebook
    cell_errors: list[str] = field(default_factory=list)    # errors in the student's cells
    status: str = "graded"      # "graded", "incomplete" (a crash or hang cost something),
    #                             "missing" (not submitted), "unreadable" (not a notebook)

    @property
    def score(self) -> float:
        return sum(t.points for t in self.tests)


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    notebooks: list[NotebookResult]
    max_score: float
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(nb.score for nb in self.notebooks)

    @property
    def status(self) -> str:
        statuses = [nb.status for nb in self.notebooks]
        for status in ("unreadable", "missing", "incomplete"):
            if status in statuses:
                return status
        return "graded"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["score"] = self.score
        data["status"] = self.status
        return data


def _signature_names(name: str) -> list[str]:
    sig = ALL_FUNCTIONS.get(name, "")
    return [part.split("=")[0].strip() for part in sig.strip("()").split(",") if part.strip()]


class Session:
    """The trusted side of one kernel during one test: remote calls, handles to kernel objects.

    ``timeout`` bounds the time the student's code runs in the test, all calls together; the
    grader's own work (the test's checks, the course's versions standing in) is not counted.
    """

    def __init__(self, kernel: SandboxedKernel, timeout: float):
        self.kernel = kernel
        self.timeout = timeout
        self.used = 0.0         # seconds the student's code has run in this test
        self.handles: dict[int, tuple[object, int]] = {}
        self.stand_ins: set[str] = set()
        self.lost = False
        self.called: list[str] = []         # the student functions this test called, in order
        self.returned_none: str | None = None   # the last one, if it returned None

    def _send(self, payload: dict, arrays: list, what: str):
        remaining = self.timeout - self.used
        if remaining <= 0:
            raise StudentCodeError(f"the notebook's code used up this test's time "
                                   f"({self.timeout:g} s) before {what} could be called")
        result, meta, data = self.kernel.request(payload, arrays, remaining,
                                                 on_callback=self._callback)
        self.used += result.seconds
        if result.status == "timeout":
            if not self.kernel.alive():
                self.lost = True
                raise KernelLost(f"{what} did not stop within {self.timeout:g} s, even when "
                                 f"interrupted, so the kernel was restarted")
            raise StudentCodeError(f"{what} did not finish within {self.timeout:g} s (an "
                                   f"endless loop, or much slower than needed?)")
        if result.status == "dead":
            self.lost = True
            if self.kernel.out_of_memory:
                raise KernelLost(f"the kernel ran out of memory while {what} was running (the "
                                 f"limit is {self.kernel.memory_mb} MB for everything the "
                                 f"notebook holds)")
            if result.error and result.error != "the kernel died":
                raise KernelLost(f"the kernel sent something the grader cannot read while "
                                 f"{what} was running ({result.error})")
            raise KernelLost(f"the kernel crashed while {what} was running (it ran out of "
                             f"memory, or the code ended the Python process)")
        if result.status != "ok":
            raise StudentCodeError(f"{what} could not be called: {result.error}")
        return meta, data

    def _callback(self, header: dict, arrays: list) -> tuple[dict, list]:
        """Run the course's version of a graded function for a stand-in in the kernel.

        The stand-in's code never enters the kernel: the student's code calls it there, the
        arguments come here, and only the result goes back.
        """
        began = time.monotonic()
        try:
            return self._stand_in(header, arrays)
        finally:        # the grader's own work does not count against the student's time
            _extend_alarm(time.monotonic() - began)

    def _stand_in(self, header: dict, arrays: list) -> tuple[dict, list]:
        name = header.get("name")
        fn = _reference(name) if name in self.stand_ins else None
        if fn is None:
            return {"error": {"type": "NameError",
                              "message": f"{name!r} has no stand-in here"}}, []
        try:
            decoder = protocol.Decoder(arrays, {})
            args = [decoder.decode(a) for a in header.get("args", [])]
            kwargs = {str(k): decoder.decode(v) for k, v in header.get("kwargs", {}).items()}
        except (protocol.ProtocolError, AttributeError, TypeError):
            return {"error": {"type": "TypeError", "message": f"the arguments given to the "
                              f"course's {name} could not be read"}}, []
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            return {"error": {"type": type(exc).__name__, "message": str(exc)[:500]}}, []
        encoder = protocol.Encoder({})
        try:
            node = encoder.encode(result)
        except protocol.ProtocolError as exc:
            return {"error": {"type": "TypeError", "message": str(exc)}}, []
        rngs = [[k, v.bit_generator.state] for k, v in
                list(enumerate(args)) + list(kwargs.items())
                if isinstance(v, np.random.Generator)]
        return {"result": node, "rngs": rngs}, encoder.arrays

    def call(self, name: str, args: tuple, kwargs: dict):
        try:
            result = self._call(name, args, kwargs)
        except StudentCodeError as exc:
            if exc.function is None:
                exc.function = name
            raise
        self.returned_none = name if result is None else None
        return result

    def _call(self, name: str, args: tuple, kwargs: dict):
        self.called.append(name)
        self.returned_none = None
        encoder = protocol.Encoder(self.handles)
        payload = {"kind": "call", "name": name,
                   "args": [encoder.encode(a) for a in args],
                   "kwargs": {k: encoder.encode(v) for k, v in kwargs.items()}}
        try:
            meta, data = self._send(payload, encoder.arrays, name)
        except protocol.ProtocolError as exc:
            raise StudentCodeError(f"the grader could not read what {name} returned: {exc}") \
                from None
        if "error" in meta:
            err = meta["error"]
            if err.get("type") == "NotImplementedError" and not err.get("message"):
                raise StudentCodeError(f"{name} is not written yet (it raises "
                                       f"NotImplementedError)", function=name)
            lines = err.get("traceback") if isinstance(err.get("traceback"), list) else []
            where = "\n".join(str(line)[:300] for line in lines[-4:])
            kind = str(err.get("type"))[:100]
            text = str(err.get("message") or "")[:2000]
            raise StudentCodeError(
                f"{name} raised {kind}" + (f": {text}" if text.strip() else " (with no "
                                           "message)") + (f"\n{where}" if where else ""),
                f"{name} raised {kind}" + (f"\n{where}" if where else ""), name)
        for key, state in meta.get("rngs") or []:
            arg = args[key] if isinstance(key, int) and key < len(args) else kwargs.get(key)
            if isinstance(arg, np.random.Generator) and isinstance(state, dict):
                try:
                    arg.bit_generator.state = state     # draws made in the kernel count here too
                except (TypeError, ValueError, KeyError):
                    raise StudentCodeError(f"{name} left its random generator in a state the "
                                           f"grader cannot read") from None
        mutated = meta.get("mutated") or []
        if mutated:
            names = _signature_names(name)
            which = ", ".join(names[i] if i < len(names) else f"argument {i + 1}"
                              for i in mutated if isinstance(i, int))
            raise GradingFailure(f"{name} changed its input {which} in place; graded functions "
                                 f"must not modify their inputs (work on a copy, or build new "
                                 f"arrays with w = w + ... instead of w += ...)")
        try:
            return protocol.Decoder(data, self.handles).decode(meta.get("result"))
        except protocol.ProtocolError as exc:
            raise StudentCodeError(f"the grader could not read what {name} returned: {exc}") \
                from None

    def swap(self, names: list[str], direct: set[str] = frozenset()) -> list[str]:
        """Put the course's version of ``names`` in place of the student's; return those done.

        A stand-in serves the student's code; the test's own calls still reach the student's
        function, except for the names in ``direct``, which the test gets too. The course's
        version runs here, in the grader (see ``_callback``).
        """
        functions = [{"name": n, "direct": n in direct} for n in names if _reference(n)]
        if functions:
            meta, _ = self._send({"kind": "swap", "functions": functions}, [], "the notebook")
            if "error" in meta:
                return []
            self.stand_ins |= {f["name"] for f in functions}
        return [f["name"] for f in functions]

    def unswap(self) -> list[str]:
        """Restore the student's functions; return the stand-ins that were actually called."""
        meta, _ = self._send({"kind": "unswap"}, [], "the notebook")
        self.stand_ins.clear()
        used = meta.get("used", [])
        return [str(n) for n in used] if isinstance(used, list) else []

    def probe(self, names: list[str]) -> tuple[dict, dict]:
        try:
            meta, data = self._send({"kind": "probe", "names": names}, [], "the notebook")
            if "error" in meta:
                raise protocol.ProtocolError(meta["error"].get("message", ""))
            decoder = protocol.Decoder(data, self.handles)
            values = {k: decoder.decode(v) for k, v in (meta.get("values") or {}).items()}
            kinds = meta.get("kinds") or {}
        except protocol.ProtocolError as exc:
            raise StudentCodeError(f"the grader could not look into the notebook's variables: "
                                   f"{exc}") from None
        return kinds, values


class RemoteFunction:
    """Stands in a test cell for a function defined in the student's notebook."""

    def __init__(self, session: Session, name: str):
        self._session = session
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        return self._session.call(self.__name__, args, kwargs)

    def __repr__(self):
        return f"<student function {self.__name__}>"


def _reference(name) -> object | None:
    """The course library's version of a graded function, if it has one."""
    import nnutils
    obj = getattr(nnutils, name, None) if isinstance(name, str) else None
    if callable(obj) and getattr(obj, "__module__", "").startswith("nnutils."):
        return obj
    return None


def reference_dependencies(name: str, disabled: set[str]) -> list[str]:
    """The functions of ``disabled`` that the course's version of ``name`` calls, directly or
    not, callees first (so that a stand-in would need them too)."""
    import nnutils

    order: list[str] = []

    def names_in(code) -> set[str]:
        found = set(code.co_names)
        for const in code.co_consts:
            if hasattr(const, "co_names"):
                found |= names_in(const)
        return found

    def visit(n: str, stack: tuple) -> None:
        fn = getattr(nnutils, n, None)
        code = getattr(fn, "__code__", None)
        if code is None:
            return
        for dep in sorted(names_in(code) & set(disabled)):
            if dep != name and dep not in stack and dep not in order:
                visit(dep, stack + (dep,))
                order.append(dep)
    visit(name, (name,))
    return order


def free_names(tree: ast.AST) -> set[str]:
    """Names a piece of code reads but never binds (builtins excluded)."""
    loads, stores = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
        elif isinstance(node, ast.arg):
            stores.add(node.arg)
        elif isinstance(node, ast.alias):
            stores.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            stores.add(node.name)
    return loads - stores - set(dir(builtins))


class _TrustedTimeout(Exception):
    pass


def _alarm(seconds: float):
    """Raise _TrustedTimeout in this thread after ``seconds`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise _TrustedTimeout()
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, seconds))
    return old


def _extend_alarm(seconds: float) -> None:
    """Move a pending _alarm later by ``seconds``."""
    if threading.current_thread() is threading.main_thread():
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        if remaining > 0:
            signal.setitimer(signal.ITIMER_REAL, remaining + seconds)


def _cancel_alarm(old) -> None:
    if old is not None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _failure_message(exc: BaseException, test: TestCell, session: Session | None = None) -> str:
    """What the student reads: the failure, and the failing line only if it is visible.

    A failure in a hidden test is described without its inputs: no value, shape or label the
    checks would quote, no message the student's own code raised (it could carry the inputs
    it was given), only what kind of check failed and the student's own lines.

    The message names the function under test first. When another student function that the
    test calls (a backward's test calls its forward to make the cache) is what failed, it says
    so: "affine_backward could not be tested: this test calls affine_forward first, and
    affine_forward is not written yet". A TypeError or AttributeError on None right after a
    student function returned None is reported as that function's missing return.
    """
    lines = []
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<test cell>":
            lines.append(tb.tb_lineno)
        tb = tb.tb_next
    hidden = any(a <= n <= b for n in lines for a, b in test.hidden)
    none_from = session.returned_none if session is not None else None
    if (none_from and isinstance(exc, (TypeError, AttributeError))
            and "NoneType" in str(exc)):
        text = (f"{none_from} returned None: did you forget to return its result (a return "
                f"statement at the end of {none_from})?")
    elif isinstance(exc, NameError):
        name = getattr(exc, "name", None) or str(exc)
        text = (f"{name} is not defined when this test runs: define it in its answer cell "
                f"(did that cell raise an error?)")
    elif isinstance(exc, GradingFailure):
        text = exc.summary if hidden else str(exc)
        other = getattr(exc, "function", None)
        if other and other != test.function and test.function not in ("", other):
            calls = session.called if session is not None else []
            when = "first" if test.function not in calls[:-1] else "too"
            text = f"{test.function} could not be tested: this test calls {other} {when}, " \
                   f"and {text}"
    elif isinstance(exc, KernelLost):
        text = str(exc)
    elif isinstance(exc, AssertionError):
        text = str(exc) or "a check failed"
    elif isinstance(exc, _TrustedTimeout):
        text = "the test took too long"
    elif hidden:
        text = f"{type(exc).__name__} while checking what {test.function} returned"
    else:
        text = f"{type(exc).__name__}: {exc}"
    if hidden:
        return "hidden test: " + text
    if lines and not isinstance(exc, StudentCodeError):
        code = test.source.splitlines()[lines[-1] - 1].strip()
        text += f"\n  (in the visible test, line {lines[-1]}: {code})"
    return text


def run_test(test: TestCell, kernel: SandboxedKernel, timeout: float,
             substitute: list[str] = (), failed: set[str] = frozenset(),
             direct: set[str] = frozenset()) -> TestResult:
    """Run one instructor test cell here, calling into the student's kernel.

    ``substitute`` names graded functions that already failed their own tests: the course's
    version stands in for them during this test, and the message says so.
    """
    session = Session(kernel, timeout)
    swapped: list[str] = []
    used: list[str] = []
    # the helpers a test cell uses come from here, never from the student's kernel
    namespace = {name: getattr(checks, name) for name in checks.__all__}
    namespace.update(np=np, numpy=np, __name__="__nncourse_test__", __builtins__=builtins)
    result = TestResult(test.grade_id, test.function, 0.0, test.points, False)
    # a bound on the whole test, the grader's own work included; armed before the first request
    old = _alarm(TRUSTED_FACTOR * timeout + 30)
    try:
        try:
            tree = ast.parse(test.source)
            unknown = sorted(n for n in free_names(tree) if n not in namespace)
            if unknown:
                kinds, values = session.probe(unknown)
                for name in unknown:
                    if kinds.get(name) == "function":
                        namespace[name] = RemoteFunction(session, name)
                    elif kinds.get(name) == "value" and name in values:
                        namespace[name] = values[name]
            swapped = session.swap(list(substitute), set(direct)) if substitute else []
            code = compile(tree, "<test cell>", "exec")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, namespace)
        finally:
            _cancel_alarm(old)
            if swapped and not session.lost and kernel.alive() and not kernel.busy:
                used = session.unswap()
        result.passed, result.points = True, test.points
    except (Exception, _TrustedTimeout) as exc:
        _cancel_alarm(old)
        if kernel.busy:                 # stopped halfway through a request: start afresh
            kernel.shutdown()
        if not kernel.alive():
            session.lost = True
        result.message = _failure_message(exc, test, session)
        if isinstance(exc, KernelLost) or session.lost:
            result.message += " [kernel restarted]"
            raise _Lost(result) from None
    if direct and result.passed:
        names = " and ".join(sorted(direct))
        result.message = (f"(Your {names} failed {'its' if len(direct) == 1 else 'their'} own "
                          f"tests and its cache misled this function; with the course's {names} "
                          f"making the cache, {test.function} is right, so it keeps its points.)")
        return result
    if used:
        wrong = [n for n in used if n in failed] or used
        partners = [n for n in used if n not in wrong]
        names, its = " and ".join(wrong), "its" if len(wrong) == 1 else "their"
        also = (f", together with the course's {' and '.join(partners)}, which must understand "
                f"the same cache" if partners else "")
        result.message = (result.message + "\n" if result.message else "") + (
            f"(Your {names} failed {its} own tests, so this test used the course's version in "
            f"{its} place{also}: a mistake is counted only once.)")
    return result


class _Lost(Exception):
    """Carries the result of a test during which the kernel was lost."""

    def __init__(self, result: TestResult):
        super().__init__(result.message)
        self.result = result


def _partner(name: str) -> str | None:
    """The other half of a forward/backward pair (they share the format of their cache)."""
    for a, b in (("_forward", "_backward"), ("_backward", "_forward")):
        if name.endswith(a):
            return name[: -len(a)] + b
    return None


def stand_ins(graded: list[str], tested: str, failed: set[str],
              remaining: dict[str, int]) -> list[str]:
    """Which course versions stand in while ``tested`` is tested: every other graded function
    that failed its own tests, all of which have run. A forward/backward pair stands in
    together or not at all, since the backward must understand the forward's cache."""
    def done(f: str) -> bool:
        return remaining.get(f, 0) == 0

    chosen = []
    for f in graded:
        if f == tested or f not in failed or not done(f):
            continue
        partner = _partner(f)
        if partner in graded:
            if partner == tested or not done(partner):
                continue
            chosen.append(partner)
        chosen.append(f)
    return sorted(set(chosen), key=graded.index)


MAX_CELL_ERRORS = 100


def _cell_error(result: NotebookResult, text: str) -> None:
    """Keep the first MAX_CELL_ERRORS errors of the student's cells, and count the rest."""
    if len(result.cell_errors) < MAX_CELL_ERRORS:
        result.cell_errors.append(text)
    elif len(result.cell_errors) == MAX_CELL_ERRORS:
        result.cell_errors.append("and more errors (only the first "
                                  f"{MAX_CELL_ERRORS} are kept)")


def grade_notebook(anb: AssignmentNotebook, path: Path | None, note: str | None,
                   zygote: Zygote, options: Options) -> NotebookResult:
    result = NotebookResult(anb.name)
    zero = [TestResult(t.grade_id, t.function, 0.0, t.points, False) for t in anb.tests]
    if note:
        result.notes.append(note)
    if path is None:
        result.status = "missing"
        result.tests = zero
        for t in result.tests:
            t.message = "not graded: the notebook was not submitted"
        return result
    result.file = path.name
    try:
        student = read_submission(path)
    except NotebookUnreadable as exc:
        result.notes.append(str(exc))
        result.status = "unreadable"
        result.tests = zero
        for t in result.tests:
            t.message = "not graded: the notebook could not be read"
        return result
    plan = build_plan(anb, student)
    missing = {t.grade_id for t in anb.tests} - {s.test.grade_id for s in plan if s.test}
    assert not missing, missing
    kernel = SandboxedKernel(zygote, options.memory_mb)
    remaining: dict[str, int] = {}
    for step in plan:
        if step.test:
            remaining[step.test.function] = remaining.get(step.test.function, 0) + 1
    failed_functions: set[str] = set()
    started = time.monotonic()
    done: list[Step] = []           # code steps that ran without killing the kernel
    restarts = 0
    try:
        kernel.start()
        for step in plan:
            if time.monotonic() - started > options.total:
                result.status = "incomplete"
                if step.test:
                    result.tests.append(TestResult(
                        step.test.grade_id, step.test.function, 0.0, step.test.points, False,
                        f"not run: the notebook used more than {options.total:g} s in all"))
                continue
            if step.kind == "code":
                res = kernel.execute(step.source, options.timeout)
                if res.status == "ok":
                    done.append(step)
                    continue
                if res.status == "error":
                    done.append(step)
                    _cell_error(result, f"{step.label} raised "
                                        f"{str(res.error).rstrip().rstrip(':')}")
                    continue
                if res.status == "timeout" and kernel.alive():
                    result.status = "incomplete"
                    _cell_error(result, f"{step.label} was stopped after "
                                              f"{options.timeout:g} s (an endless loop?)")
                    done.append(step)
                    continue
                result.status = "incomplete"
                why = (f"ran out of memory (the limit is {options.memory_mb} MB)"
                       if kernel.out_of_memory else
                       "crashed the kernel (out of memory, or the process was ended)"
                       if res.status == "dead" else
                       f"ran past {options.timeout:g} s and ignored the interrupt")
                _cell_error(result, f"{step.label} {why}; the kernel was restarted and "
                                          f"the cells before it run again")
            else:
                function = step.test.function
                substitute = stand_ins(anb.graded_functions, function, failed_functions,
                                       remaining)
                try:
                    outcome = run_test(step.test, kernel, options.timeout, substitute,
                                       failed_functions)
                except _Lost as lost:
                    result.status = "incomplete"
                    outcome = lost.result
                partner = _partner(function)
                if (not outcome.passed and kernel.alive() and function.endswith("_backward")
                        and partner in failed_functions and remaining.get(partner, 0) == 0):
                    # a wrong forward may have cached wrong values: judge the backward again
                    # on the cache of the course's forward
                    try:
                        retry = run_test(step.test, kernel, options.timeout,
                                         sorted({*substitute, partner}), failed_functions,
                                         {partner})
                        if retry.passed:
                            outcome = retry
                    except _Lost:
                        result.status = "incomplete"
                result.tests.append(outcome)
                remaining[function] -= 1
                if not outcome.passed:
                    failed_functions.add(function)
                if kernel.alive():
                    continue
            # the kernel is gone: start a new one and replay what ran before
            restarts += 1
            if restarts > MAX_RESTARTS:
                raise KernelLost(f"the kernel crashed {restarts} times")
            kernel.restart()
            for old in done:
                kernel.execute(old.source, options.timeout)
    except KernelLost as exc:
        result.status = "incomplete"
        result.notes.append(f"grading stopped early: {exc}")
    except Exception as exc:   # the grader's own failure must not lose the other points
        result.status = "incomplete"
        result.notes.append(f"grading stopped early: internal error {type(exc).__name__}: "
                            f"{exc}")
    finally:
        kernel.shutdown()
    graded = {t.grade_id for t in result.tests}
    for t in anb.tests:
        if t.grade_id not in graded:
            result.tests.append(TestResult(t.grade_id, t.function, 0.0, t.points, False,
                                           "not run: grading of this notebook stopped early"))
    order = {t.grade_id: i for i, t in enumerate(anb.tests)}
    result.tests.sort(key=lambda t: order[t.grade_id])
    return result


def find_notebook(student_dir: Path, assignment: str, notebook: str, only_one: bool):
    """Return (path or None, note). Symbolic links are never followed."""
    def safe(p: Path) -> bool:
        try:
            rel = p.relative_to(student_dir)
        except ValueError:
            return False
        parts = [student_dir.joinpath(*rel.parts[:i + 1]) for i in range(len(rel.parts))]
        return not any(q.is_symlink() for q in parts) and p.is_file()

    for candidate in (student_dir / f"{notebook}.ipynb",
                      student_dir / assignment / f"{notebook}.ipynb"):
        if candidate.is_symlink():
            return None, f"{candidate.relative_to(student_dir)} is a symbolic link; submit " \
                         f"the notebook file itself"
        if safe(candidate):
            return candidate, None
    found = sorted(p for p in student_dir.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts and safe(p))
    if only_one and len(found) == 1:
        rel = found[0].relative_to(student_dir)
        return found[0], f"graded {rel} (the expected name is {notebook}.ipynb)"
    if found:
        names = ", ".join(str(p.relative_to(student_dir)) for p in found[:5])
        return None, f"no notebook named {notebook}.ipynb (found: {names})"
    return None, f"no notebook named {notebook}.ipynb; the folder holds no notebook"


def grade_submission(assignment: Assignment, student_dir: Path, zygote: Zygote,
                     options: Options) -> SubmissionResult:
    """Grade one student's folder with kernels forked by ``zygote``."""
    start = time.monotonic()
    notebooks = []
    for anb in assignment.notebooks:
        path, note = find_notebook(student_dir, assignment.name, anb.name,
                                   len(assignment.notebooks) == 1)
        notebooks.append(grade_notebook(anb, path, note, zygote, options))
    return SubmissionResult(student_dir.name, assignment.name, notebooks,
                            assignment.max_score, time.monotonic() - start)
