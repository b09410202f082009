"""How values travel between the trusted grader and a student's kernel.

The grader never trusts anything computed in the student's kernel except the return values of
the student's own functions. A test cell runs in the grader's process; every name in it that the
student's notebook defines becomes a remote function (or a copied value). Calling it sends the
arguments to the kernel as one message (``wire.py``: a JSON header plus raw arrays), the
kernel's helper (``shim.py``) calls the student's function, and the result comes back the same
way: nothing the kernel sends can execute code in the grader or make it allocate more than the
wire's limits. Objects that are not plain data (a student's layer cache, say) stay in the
kernel and are referred to by handle, so ``affine_backward(dout, cache)`` gets back exactly the
object that the student's ``affine_forward`` returned.

Value encoding (both directions)::

    None, bool, int, float, str      -> themselves in JSON (floats may be NaN or infinite)
    ndarray / NumPy scalar           -> {"t": "nd" | "np", "k": index of the message's array}
    tuple / list / dict              -> {"t": "tuple" | "list" | "dict", "v": [...]}
    numpy.random.Generator (PCG64)   -> {"t": "rng", "state": bit generator state}; after the
                                        call the caller's generator takes the state the
                                        student's function left it in, as if called locally
    KernelCode (trusted source)      -> {"t": "code", "src": "lambda x: ..."}
    kernel object by reference       -> {"t": "ref", "h": handle}

    anything else (kernel -> grader) -> {"t": "obj", "h": handle, "type": name, "repr": short repr}
"""

import math

import numpy as np

MAX_DEPTH = 20
MAX_ITEMS = 100_000     # values in one result, all levels together


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
        self.arrays: list[np.ndarray] = []

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
            self.arrays.append(np.asarray(value))
            return {"t": "np", "k": len(self.arrays) - 1}
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biufc":
                raise ProtocolError(f"cannot send an array of {value.dtype} to the kernel")
            self.arrays.append(value)
            return {"t": "nd", "k": len(self.arrays) - 1}
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

    def __init__(self, arrays: list[np.ndarray], handles: dict[int, tuple[object, int]]):
        self.arrays = arrays
        self.handles = handles
        self.items = 0

    def decode(self, node, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ProtocolError("result nested too deeply")
        self.items += 1
        if self.items > MAX_ITEMS:
            raise ProtocolError(f"the result holds more than {MAX_ITEMS} values")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or "t" not in node:
            raise ProtocolError("malformed result")
        kind = node["t"]
        if kind in ("nd", "np"):
            key = node.get("k")
            if not isinstance(key, int) or not 0 <= key < len(self.arrays):
                raise ProtocolError("a result array is missing")
            arr = self.arrays[key]
            value = arr[()] if kind == "np" else arr
        elif kind in ("tuple", "list"):
            if not isinstance(node.get("v"), list):
                raise ProtocolError("malformed result")
            items = [self.decode(v, depth + 1) for v in node["v"]]
            value = tuple(items) if kind == "tuple" else items
        elif kind == "dict":
            pairs = node.get("v")
            if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2
                                                      for p in pairs):
                raise ProtocolError("malformed result")
            value = {self._key(self.decode(k, depth + 1)): self.decode(v, depth + 1)
                     for k, v in pairs}
        elif kind == "rng":
            value = _generator(node.get("state"))
        elif kind == "obj":
            if not isinstance(node.get("h"), int):
                raise ProtocolError("malformed result")
            value = RemoteObject(node["h"], str(node.get("type", "object"))[:100],
                                 str(node.get("repr", ""))[:200])
        else:
            raise ProtocolError(f"unknown result kind {kind!r}")
        handle = node.get("h")
        if isinstance(handle, int) and _registrable(value):
            self.handles[id(value)] = (value, handle)
        return value

    @staticmethod
    def _key(key):
        if isinstance(key, (str, int, float, bool, tuple)) or key is None:
            return key
        raise ProtocolError("a result dictionary has a key that is not a plain value")


def _generator(state) -> np.random.Generator:
    """A generator in ``state`` (a student's function passed its generator to a stand-in)."""
    try:
        bitgen = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM,
                  "Philox": np.random.Philox, "SFC64": np.random.SFC64,
                  "MT19937": np.random.MT19937}[state["bit_generator"]]()
        bitgen.state = state
    except (KeyError, TypeError, ValueError):
        raise ProtocolError("a random generator in a state the grader cannot read") from None
    return np.random.Generator(bitgen)
