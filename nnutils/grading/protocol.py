"""How the trusted grader calls a student's function inside the sandboxed kernel.

The grader never trusts anything computed in the student's kernel except the return values of
the student's own functions. A test cell runs in the grader's process; every name in it that the
student's notebook defines becomes a :class:`RemoteFunction` (or a copied value). Calling it
writes the arguments to the kernel's scratch folder as JSON plus one ``.npz`` of arrays, runs the
kernel-side shim (:data:`SHIM_SOURCE`) that calls the student's function, and reads the results
back the same way, with ``allow_pickle=False``: nothing the kernel writes can execute code in the
grader. Objects that are not plain data (a student's layer cache, say) stay in the kernel and are
referred to by handle, so ``affine_backward(dout, cache)`` gets back exactly the object that the
student's ``affine_forward`` returned.

Value encoding (both directions)::

    None, bool, int, float, str      -> themselves in JSON (floats may be NaN or infinite)
    ndarray / NumPy scalar           -> {"t": "nd" | "np", "k": key in the .npz}
    tuple / list / dict              -> {"t": "tuple" | "list" | "dict", "v": [...]}
    numpy.random.Generator (PCG64)   -> {"t": "rng", "state": bit generator state}; after the
                                        call the caller's generator takes the state the
                                        student's function left it in, as if called locally
    KernelCode (trusted source)      -> {"t": "code", "src": "lambda x: ..."}
    kernel object by reference       -> {"t": "ref", "h": handle}

Besides calls, the shim answers "probe" (which names the notebook defines, and the values of the
non-functions) and "swap"/"unswap": while one graded function is tested, another graded function
that already failed its own tests is replaced by the course's version, so that one mistake costs
points in one function only.
    anything else (kernel -> grader) -> {"t": "obj", "h": handle, "type": name, "repr": short repr}
"""

import json
import math
from pathlib import Path

import numpy as np

MAX_ARRAY_BYTES = 256 * 2**20   # the most array data one call may return
MAX_JSON_BYTES = 16 * 2**20
MAX_DEPTH = 20


class ProtocolError(Exception):
    """The kernel's answer could not be read (missing, malformed, or too large)."""


class KernelCode:
    """A small trusted function given as source, evaluated both in the grader and the kernel.

    Tests use it to hand a function to a student's function, as in
    ``numerical_gradient(KernelCode("lambda x: np.sum(x ** 3)"), x)``. In the grader (and when a
    student runs the tests locally) it is an ordinary callable.
    """

    def __init__(self, src: str):
        self.src = src
        self._fn = eval(src, {"np": np, "numpy": np, "math": math})

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def __repr__(self):
        return f"KernelCode({self.src!r})"


class RemoteObject:
    """A student's object that could not be copied out of the kernel (used by reference)."""

    def __init__(self, handle: int, type_name: str, text: str):
        self.handle, self.type_name, self.text = handle, type_name, text

    def __repr__(self):
        return f"<{self.type_name} in the student's kernel: {self.text}>"


class Encoder:
    """Trusted side: turn call arguments into JSON plus arrays."""

    def __init__(self, handles: dict[int, tuple[object, int]]):
        self.handles = handles
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ProtocolError("arguments nested too deeply")
        known = self.handles.get(id(value))
        if known is not None and known[0] is value:
            return {"t": "ref", "h": known[1]}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, RemoteObject):
            return {"t": "ref", "h": value.handle}
        if isinstance(value, KernelCode):
            return {"t": "code", "src": value.src}
        if isinstance(value, np.generic):
            key = f"a{len(self.arrays)}"
            self.arrays[key] = np.asarray(value)
            return {"t": "np", "k": key}
        if isinstance(value, np.ndarray):
            key = f"a{len(self.arrays)}"
            self.arrays[key] = value
            return {"t": "nd", "k": key}
        if isinstance(value, (tuple, list)):
            kind = "tuple" if isinstance(value, tuple) else "list"
            return {"t": kind, "v": [self.encode(v, depth + 1) for v in value]}
        if isinstance(value, dict):
            return {"t": "dict", "v": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                                       for k, v in value.items()]}
        if isinstance(value, np.random.Generator):
            return {"t": "rng", "state": value.bit_generator.state}
        raise ProtocolError(f"cannot send a {type(value).__name__} to the student's kernel")


def _registrable(value) -> bool:
    return isinstance(value, (np.ndarray, list, dict, RemoteObject)) or (
        isinstance(value, tuple) and len(value) > 0)


class Decoder:
    """Trusted side: read the kernel's JSON and arrays back, never unpickling anything."""

    def __init__(self, arrays, handles: dict[int, tuple[object, int]]):
        self.arrays = arrays
        self.handles = handles

    def decode(self, node, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ProtocolError("result nested too deeply")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or "t" not in node:
            raise ProtocolError("malformed result")
        kind = node["t"]
        if kind in ("nd", "np"):
            try:
                arr = self.arrays[node["k"]]
            except KeyError:
                raise ProtocolError("a result array is missing") from None
            value = arr[()] if kind == "np" else arr
        elif kind in ("tuple", "list"):
            items = [self.decode(v, depth + 1) for v in node["v"]]
            value = tuple(items) if kind == "tuple" else items
        elif kind == "dict":
            value = {self._key(self.decode(k, depth + 1)): self.decode(v, depth + 1)
                     for k, v in node["v"]}
        elif kind == "obj":
            value = RemoteObject(int(node["h"]), str(node.get("type", "object"))[:100],
                                 str(node.get("repr", ""))[:200])
        else:
            raise ProtocolError(f"unknown result kind {kind!r}")
        handle = node.get("h")
        if handle is not None and _registrable(value):
            self.handles[id(value)] = (value, int(handle))
        return value

    @staticmethod
    def _key(key):
        if isinstance(key, (str, int, float, bool, tuple)) or key is None:
            return key
        raise ProtocolError("a result dictionary has a key that is not a plain value")


def write_request(folder: Path, n: int, payload: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write request ``n`` for the kernel: ``req-n.npz`` first, then ``req-n.json``."""
    np.savez(folder / f"req-{n}.npz", **arrays)
    (folder / f"req-{n}.json").write_text(json.dumps(payload))


def read_response(folder: Path, n: int) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and check the kernel's answer to request ``n``."""
    meta_path, data_path = folder / f"resp-{n}.json", folder / f"resp-{n}.npz"
    if not meta_path.is_file():
        raise ProtocolError("the student's kernel gave no answer")
    if meta_path.stat().st_size > MAX_JSON_BYTES:
        raise ProtocolError("the answer was too large")
    try:
        meta = json.loads(meta_path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("the answer was not valid JSON") from None
    arrays: dict[str, np.ndarray] = {}
    if data_path.is_file():
        if data_path.stat().st_size > MAX_ARRAY_BYTES + 2**20:
            raise ProtocolError(f"the returned arrays are larger than "
                                f"{MAX_ARRAY_BYTES // 2**20} MB")
        try:
            with np.load(data_path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except Exception as exc:
            raise ProtocolError(f"the returned arrays could not be read ({exc})") from None
    if not isinstance(meta, dict):
        raise ProtocolError("malformed answer")
    return meta, arrays


# The kernel side. It runs in the student's kernel, so it protects nothing: whatever it writes
# is checked by the grader. It only has to be correct for honest notebooks. It is compiled with
# the file name "<nncourse>" so that its frames can be left out of tracebacks shown to students.
SHIM_SOURCE = r'''
def __nncourse_make_shim(folder):
    import copy as _copy, json as _json, math as _math, os as _os, traceback as _tb
    import numpy as _np
    _ns = get_ipython().user_ns
    _objects = {}
    _state = {"arrays": {}}
    _saved, _swapped, _used = [], {}, {}    # course versions standing in during a test
    _originals = {}                         # the student's functions they stand in for

    def _counting(name, fn):
        _used[name] = 0

        def stand_in(*args, **kwargs):
            _used[name] += 1
            return fn(*args, **kwargs)
        stand_in.__name__ = name
        return stand_in

    def _decode(node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        t = node["t"]
        if t in ("nd", "np"):
            arr = _state["arrays"][node["k"]]
            return arr[()] if t == "np" else arr.copy()
        if t in ("tuple", "list"):
            items = [_decode(v) for v in node["v"]]
            return tuple(items) if t == "tuple" else items
        if t == "dict":
            return {_decode(k): _decode(v) for k, v in node["v"]}
        if t == "rng":
            bitgen = getattr(_np.random, node["state"]["bit_generator"])()
            bitgen.state = node["state"]
            return _np.random.Generator(bitgen)
        if t == "code":
            return eval(node["src"], {"np": _np, "numpy": _np, "math": _math})
        if t == "ref":
            return _objects[node["h"]]
        raise ValueError(t)

    def _encode(value, out, depth=0, register=True):
        h = None
        if register and not (value is None or isinstance(value, (bool, int, float, str))):
            h = len(_objects) + 1
            _objects[h] = value
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value
        if depth > 10:
            return {"t": "obj", "h": h, "type": type(value).__name__, "repr": "..."}
        node = None
        if isinstance(value, _np.ndarray) and value.dtype.kind in "biufc":
            key = "a%d" % len(out)
            out[key] = value
            node = {"t": "nd", "k": key}
        elif isinstance(value, _np.generic) and _np.asarray(value).dtype.kind in "biufc":
            key = "a%d" % len(out)
            out[key] = _np.asarray(value)
            node = {"t": "np", "k": key}
        elif type(value) in (tuple, list):
            node = {"t": type(value).__name__,
                    "v": [_encode(v, out, depth + 1, register=depth == 0) for v in value]}
        elif type(value) is dict and all(isinstance(k, (str, int)) for k in value):
            node = {"t": "dict", "v": [[k, _encode(v, out, depth + 1, register=False)]
                                       for k, v in value.items()]}
        if node is None:
            try:
                text = repr(value)[:200]
            except BaseException:
                text = "?"
            return {"t": "obj", "h": h, "type": type(value).__name__, "repr": text}
        if h is not None:
            node["h"] = h
        return node

    def _student_traceback(exc):
        lib = _os.environ.get("PYTHONPATH", "\0")
        frames = [f for f in _tb.extract_tb(exc.__traceback__)
                  if f.filename != "<nncourse>" and not f.filename.startswith(lib)]
        lines = []
        for f in frames[-4:]:
            where = "cell" if ("ipykernel" in f.filename or f.filename.startswith("<ipython")) \
                else _os.path.basename(f.filename)
            lines.append("  in %s (%s, line %d): %s" % (f.name, where, f.lineno,
                                                       (f.line or "").strip()))
        return lines

    def _same(a, b):
        try:
            if isinstance(a, _np.ndarray):
                return isinstance(b, _np.ndarray) and a.shape == b.shape and \
                    a.dtype == b.dtype and bool(_np.array_equal(a, b, equal_nan=True))
            if isinstance(a, (list, tuple)):
                return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
            if isinstance(a, dict):
                return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
        except BaseException:
            return False
        return True

    def call(n):
        with open(_os.path.join(folder, "req-%d.json" % n)) as fh:
            req = _json.load(fh)
        with _np.load(_os.path.join(folder, "req-%d.npz" % n), allow_pickle=False) as data:
            _state["arrays"] = {k: data[k] for k in data.files}
        resp, out = {}, {}
        try:
            if req["kind"] == "call":
                # a test calls the student's own function even while a stand-in replaces it
                fn = _originals.get(req["name"]) or _ns.get(req["name"])
                if fn is None:
                    raise NameError("name %r is not defined" % req["name"])
                args = [_decode(a) for a in req["args"]]
                kwargs = {k: _decode(v) for k, v in req["kwargs"].items()}
                before = [_copy.deepcopy(a) if isinstance(a, (_np.ndarray, list, tuple, dict))
                          else None for a in args]
                result = fn(*args, **kwargs)
                # random generators come back in the state the function left them in
                resp["rngs"] = [[k, v.bit_generator.state] for k, v in
                                list(enumerate(args)) + list(kwargs.items())
                                if isinstance(v, _np.random.Generator)]
                resp["mutated"] = [i for i, (a, b) in enumerate(zip(before, args))
                                   if b is not None and not _same(b, a)]
                resp["result"] = _encode(result, out)
            elif req["kind"] == "probe":
                kinds = {}
                for name in req["names"]:
                    if name not in _ns:
                        kinds[name] = "absent"
                    elif callable(_ns[name]) and not isinstance(_ns[name], type):
                        kinds[name] = "function"
                    else:
                        kinds[name] = "value"
                        resp.setdefault("values", {})[name] = _encode(_ns[name], out)
                resp["kinds"] = kinds
            elif req["kind"] == "swap":
                import importlib as _importlib
                for item in req["functions"]:
                    name = item["name"]
                    _saved.append((name, _ns.get(name, _saved)))
                    if name in _ns and not item.get("direct"):
                        _originals[name] = _ns[name]
                    scope = dict(_importlib.import_module(item["module"]).__dict__)
                    scope.update(_swapped)
                    exec(compile(item["source"], "<nncourse>", "exec"), scope)
                    _swapped[name] = _ns[name] = _counting(name, scope[name])
            elif req["kind"] == "unswap":
                resp["used"] = sorted(n for n, c in _used.items() if c)
                _used.clear()
                while _saved:
                    name, old = _saved.pop()
                    if old is _saved:
                        _ns.pop(name, None)
                    else:
                        _ns[name] = old
                _swapped.clear()
                _originals.clear()
        except BaseException as exc:
            resp = {"error": {"type": type(exc).__name__, "message": str(exc)[:2000],
                              "traceback": _student_traceback(exc)}}
            out = {}
        try:
            _np.savez(_os.path.join(folder, "resp-%d.npz" % n), **out)
        except BaseException as exc:
            resp = {"error": {"type": type(exc).__name__,
                              "message": "the result could not be saved: %s" % exc,
                              "traceback": []}}
        with open(_os.path.join(folder, "resp-%d.json" % n), "w") as fh:
            _json.dump(resp, fh)

    def serve():
        """Answer requests named on the "to-kernel" pipe until told to stop.

        One execute request then carries all the calls of a test cell, each costing a pipe
        round trip instead of a full cell execution.
        """
        with open(_os.path.join(folder, "to-kernel"), "r") as inbox, \
                open(_os.path.join(folder, "to-grader"), "w") as outbox:
            while True:
                try:
                    line = inbox.readline()
                except KeyboardInterrupt:       # a late interrupt between two calls
                    continue
                if not line or line.strip() == "stop":
                    return
                n = int(line)
                try:
                    call(n)
                except BaseException:
                    pass
                outbox.write("%d\n" % n)
                outbox.flush()

    call.serve = serve
    return call
'''


def shim_install_code(folder: str) -> str:
    """Code that defines ``__nncourse_call__(n)`` (and ``__nncourse_call__.serve()``)."""
    return (f"exec(compile({SHIM_SOURCE!r}, '<nncourse>', 'exec'))\n"
            f"__nncourse_call__ = __nncourse_make_shim({folder!r})\n"
            f"del __nncourse_make_shim\n")
