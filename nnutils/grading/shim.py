"""The grader's helper inside a student's kernel: it runs cells and calls functions on request.

This module runs in the sandboxed kernel process, beside the student's code, so it protects
nothing: a notebook can patch or replace any of it, and everything it sends back is checked by
the grader (``protocol.py``, ``wire.py``). It only has to be right for honest notebooks.

The kernel is IPython's own shell, driven over the one socket the grader handed to it (file
descriptor 3): no ZeroMQ, no connection file, no file at all that the grader reads or writes.
Requests (``kind``):

- ``execute``: run a cell with IPython (magics, ``get_ipython()``, tracebacks as in Jupyter);
  reply with the status, the error and its traceback (clipped) and the printed output (clipped);
- ``call``: call a function of the notebook on decoded arguments, reply with the encoded result;
- ``probe``: which names the notebook defines, and the values of those that are not functions;
- ``swap``/``unswap``: put stand-ins for graded functions in place. A stand-in runs nothing
  here: each call goes back to the grader as a ``callback`` and the course's version computes
  the answer there, so its code never enters the kernel.

SIGINT interrupts only the student's code: between requests it is ignored, and one that arrives
while a stand-in waits for the grader is delivered when the student's code resumes.
"""

import builtins
import copy
import math
import os
import signal
import socket
import sys
import traceback

import numpy as np

from . import wire

MAX_OUTPUT = 20_000         # characters of printed output kept per cell
MAX_MESSAGE = 2_000         # characters of an error message
MAX_TRACEBACK = 30          # lines of a traceback


class _Interrupts:
    """Turns SIGINT into KeyboardInterrupt only while the student's code runs."""

    def __init__(self):
        self.busy = False
        self.pending = False

    def handler(self, signum, frame):
        if self.busy:
            raise KeyboardInterrupt
        self.pending = True

    def enter(self):
        self.busy = True
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    def leave(self):
        self.busy = False


class _CappedText:
    """A write-only text stream that keeps the first ``limit`` characters."""

    def __init__(self, limit: int):
        self.parts, self.size, self.limit = [], 0, limit

    def write(self, text):
        text = str(text)
        if self.size < self.limit:
            self.parts.append(text[: self.limit - self.size])
        self.size += len(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def getvalue(self) -> str:
        return "".join(self.parts)


def _make_shell():
    from IPython.core.interactiveshell import InteractiveShell

    class GradingShell(InteractiveShell):
        last_error = None

        def _showtraceback(self, etype, evalue, stb):
            lines = [str(line)[:500] for line in stb][-MAX_TRACEBACK:]
            self.last_error = (getattr(etype, "__name__", "Error"), str(evalue)[:MAX_MESSAGE],
                               lines)

    shell = GradingShell.instance(colors="nocolor", history_length=0)

    def use_agg(line=""):
        import matplotlib
        matplotlib.use("Agg")

    def close_figures(*args):
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")

    # figures are never looked at while grading: %matplotlib selects the non-drawing backend
    shell.register_magic_function(use_agg, "line", "matplotlib")
    shell.events.register("post_run_cell", close_figures)
    import warnings
    warnings.filterwarnings("ignore", message=".*non-interactive.*")
    return shell


class Kernel:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.interrupts = _Interrupts()
        self.shell = _make_shell()
        self.ns = self.shell.user_ns
        self.objects: dict[int, object] = {}
        self.saved: list[tuple[str, object]] = []       # names replaced by stand-ins
        self.originals: dict[str, object] = {}          # the student's functions behind them
        self.used: set[str] = set()
        self.arrays: list[np.ndarray] = []
        self.request_id = None

    # ---- values -----------------------------------------------------------------------------
    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        t = node["t"]
        if t in ("nd", "np"):
            arr = self.arrays[node["k"]]
            return arr[()] if t == "np" else arr.copy()
        if t in ("tuple", "list"):
            items = [self.decode(v) for v in node["v"]]
            return tuple(items) if t == "tuple" else items
        if t == "dict":
            return {self.decode(k): self.decode(v) for k, v in node["v"]}
        if t == "rng":
            bitgen = getattr(np.random, node["state"]["bit_generator"])()
            bitgen.state = node["state"]
            return np.random.Generator(bitgen)
        if t == "code":
            return eval(node["src"], {"np": np, "numpy": np, "math": math})
        if t in ("ref", "obj"):
            return self.objects[node["h"]]
        raise ValueError(t)

    def encode(self, value, out: list, depth: int = 0, register: bool = True):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        h = None
        if register:
            h = len(self.objects) + 1
            self.objects[h] = value
        node = None
        if depth > 10:
            pass
        elif isinstance(value, np.ndarray) and value.dtype.kind in wire.DTYPE_KINDS:
            out.append(value)
            node = {"t": "nd", "k": len(out) - 1}
        elif isinstance(value, np.generic) and np.asarray(value).dtype.kind in wire.DTYPE_KINDS:
            out.append(np.asarray(value))
            node = {"t": "np", "k": len(out) - 1}
        elif type(value) in (tuple, list):
            node = {"t": type(value).__name__,
                    "v": [self.encode(v, out, depth + 1, register=depth == 0) for v in value]}
        elif type(value) is dict and all(isinstance(k, (str, int)) for k in value):
            node = {"t": "dict", "v": [[k, self.encode(v, out, depth + 1, register=False)]
                                       for k, v in value.items()]}
        elif isinstance(value, np.random.Generator):
            node = {"t": "rng", "state": value.bit_generator.state}
        if node is None:
            try:
                text = repr(value)[:200]
            except BaseException:
                text = "?"
            return {"t": "obj", "h": h, "type": type(value).__name__, "repr": text}
        if h is not None:
            node["h"] = h
        return node

    # ---- requests ---------------------------------------------------------------------------
    def serve(self) -> None:
        signal.signal(signal.SIGINT, self.interrupts.handler)
        while True:
            try:
                header, self.arrays = wire.receive(self.sock)
            except (wire.WireClosed, wire.WireError, OSError):
                return
            self.interrupts.pending = False         # an interrupt meant for an earlier request
            self.request_id = header.get("id")
            out: list = []
            try:
                reply = getattr(self, "do_" + str(header.get("kind")))(header, out)
            except BaseException as exc:
                reply, out = {"error": self._error(exc)}, []
            try:
                wire.send(self.sock, dict(reply, id=header.get("id"), kind="reply"), out)
            except wire.WireError as exc:       # an array that cannot travel
                wire.send(self.sock, {"id": header.get("id"), "kind": "reply",
                                      "error": {"type": "TypeError", "message": str(exc),
                                                "traceback": []}})

    def _error(self, exc: BaseException) -> dict:
        lib = os.path.dirname(os.path.dirname(wire.__file__))
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if not f.filename.startswith(lib)]
        lines = []
        for f in frames[-4:]:
            where = "cell" if f.filename.startswith("<ipython") or "ipykernel" in f.filename \
                else os.path.basename(f.filename)
            code = (f.line or "").strip()[:200]
            lines.append(f"  in {f.name} ({where}, line {f.lineno}): {code}")
        return {"type": type(exc).__name__, "message": str(exc)[:MAX_MESSAGE],
                "traceback": lines}

    def do_execute(self, header, out):
        stream = _CappedText(MAX_OUTPUT)
        saved = sys.stdout, sys.stderr
        self.shell.last_error = None
        sys.stdout = sys.stderr = stream
        try:
            self.interrupts.enter()
            try:
                result = self.shell.run_cell(header["code"], store_history=True)
            finally:
                self.interrupts.leave()
        finally:
            sys.stdout, sys.stderr = saved
        reply = {"stdout": stream.getvalue()}
        if not result.success:
            name, message, lines = self.shell.last_error or (
                type(result.error_in_exec or result.error_before_exec).__name__, "", [])
            reply["error"] = {"type": name, "message": message, "traceback": lines}
        return reply

    def do_call(self, header, out):
        name = header["name"]
        fn = self.originals.get(name) or self.ns.get(name)
        if fn is None:
            raise NameError(f"name {name!r} is not defined")
        args = [self.decode(a) for a in header["args"]]
        kwargs = {k: self.decode(v) for k, v in header["kwargs"].items()}
        before = [copy.deepcopy(a) if isinstance(a, (np.ndarray, list, tuple, dict)) else None
                  for a in args]
        self.interrupts.enter()
        try:
            result = fn(*args, **kwargs)
        finally:
            self.interrupts.leave()
        return {"result": self.encode(result, out),
                "rngs": _rng_states(args, kwargs),
                "mutated": [i for i, (a, b) in enumerate(zip(before, args))
                            if a is not None and not _same(b, a)]}

    def do_probe(self, header, out):
        kinds, values = {}, {}
        for name in header["names"]:
            if name not in self.ns:
                kinds[name] = "absent"
            elif callable(self.ns[name]) and not isinstance(self.ns[name], type):
                kinds[name] = "function"
            else:
                kinds[name] = "value"
                values[name] = self.encode(self.ns[name], out)
        return {"kinds": kinds, "values": values}

    def do_swap(self, header, out):
        for item in header["functions"]:
            name = item["name"]
            self.saved.append((name, self.ns.get(name, self.saved)))
            if name in self.ns and not item.get("direct"):
                self.originals[name] = self.ns[name]
            self.ns[name] = self._stand_in(name)
        return {}

    def do_unswap(self, header, out):
        used = sorted(self.used)
        self.used.clear()
        while self.saved:
            name, old = self.saved.pop()
            if old is self.saved:
                self.ns.pop(name, None)
            else:
                self.ns[name] = old
        self.originals.clear()
        return {"used": used}

    # ---- stand-ins --------------------------------------------------------------------------
    def _stand_in(self, name: str):
        kernel = self

        def stand_in(*args, **kwargs):
            kernel.used.add(name)
            return kernel.callback(name, args, kwargs)
        stand_in.__name__ = stand_in.__qualname__ = name
        stand_in.__doc__ = (f"The course's {name}, standing in for yours while another "
                            f"function is graded; it runs in the grader.")
        return stand_in

    def callback(self, name, args, kwargs):
        """Ask the grader to run the course's version of ``name`` on these arguments."""
        out: list = []
        header = {"kind": "callback", "id": self.request_id, "name": name,
                  "args": [self.encode(a, out, register=False) for a in args],
                  "kwargs": {k: self.encode(v, out, register=False) for k, v in kwargs.items()}}
        self.interrupts.leave()
        try:
            wire.send(self.sock, header, out)
            reply, self.arrays = wire.receive(self.sock)
        finally:
            self.interrupts.enter()
        for key, state in reply.get("rngs", []):
            generator = args[key] if isinstance(key, int) else kwargs.get(key)
            if isinstance(generator, np.random.Generator):
                generator.bit_generator.state = state
        if "error" in reply:
            err = reply["error"]
            kind = getattr(builtins, str(err.get("type")), None)
            if not (isinstance(kind, type) and issubclass(kind, Exception)):
                kind = RuntimeError
            raise kind(err.get("message", ""))
        return self.decode(reply.get("result"))


def _rng_states(args, kwargs) -> list:
    """Random generators go back in the state the function left them in."""
    return [[k, v.bit_generator.state] for k, v in list(enumerate(args)) + list(kwargs.items())
            if isinstance(v, np.random.Generator)]


def _same(a, b) -> bool:
    try:
        if isinstance(a, np.ndarray):
            return isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype \
                and bool(np.array_equal(a, b, equal_nan=True))
        if isinstance(a, (list, tuple)):
            return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    except BaseException:
        return False
    return True


def serve(fd: int) -> None:
    """Serve the grader on the socket ``fd`` until it hangs up."""
    Kernel(socket.socket(fileno=fd)).serve()
