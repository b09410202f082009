"""Messages between the grader and a student's kernel, over one socket the grader created.

A message is a JSON header followed by the raw bytes of the arrays it lists::

    u32 little-endian: length of the JSON header
    JSON header:       {..., "arrays": [{"dtype": "<f8", "shape": [3, 4]}, ...]}
    raw bytes of each array, C order, exactly prod(shape) * itemsize bytes

The receiver knows every size from the header before it allocates anything, and refuses a
message whose header or arrays exceed its :class:`Limits` (so a 2 MB message cannot become 2 GB
in the grader, as a compressed ``.npz`` could). Only plain numeric dtypes travel: booleans,
integers, floats and complex numbers, never objects, strings or structured records, and nothing
is ever unpickled.

Both sides import this module: the grader through :class:`Channel` (non-blocking, every wait
bounded by a deadline, partial messages kept across waits) and the kernel through
:func:`send` and :func:`receive` (blocking).
"""

import json
import math
import os
import select
import socket
import struct
import time
from dataclasses import dataclass

import numpy as np

HEADER = struct.Struct("<I")
DTYPE_KINDS = "biufc"
MAX_NDIM = 32


class WireError(Exception):
    """The other side sent something that is not a well-formed message within the limits."""


class WireTimeout(Exception):
    """Nothing complete arrived before the deadline."""


class WireClosed(Exception):
    """The other side closed the connection (the kernel is gone)."""


@dataclass(frozen=True)
class Limits:
    json_bytes: int = 16 * 2**20        # one header
    array_bytes: int = 256 * 2**20      # all arrays of one message together
    arrays: int = 10_000                # how many arrays one message may carry


def _array_spec(arr: np.ndarray) -> dict:
    return {"dtype": arr.dtype.str, "shape": list(arr.shape)}


def encode(header: dict, arrays: list[np.ndarray]) -> list[bytes | memoryview]:
    """The pieces of one message, ready to be written in order."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    for a in arrays:
        if a.dtype.kind not in DTYPE_KINDS:
            raise WireError(f"cannot send an array of dtype {a.dtype}")
    body = json.dumps(dict(header, arrays=[_array_spec(a) for a in arrays])).encode()
    return [HEADER.pack(len(body)), body] + [memoryview(a).cast("B") for a in arrays if a.size]


def parse_specs(header: dict, limits: Limits) -> list[tuple[np.dtype, tuple[int, ...]]]:
    """Check the arrays a header announces against ``limits``, before anything is allocated."""
    specs = header.get("arrays", [])
    if not isinstance(specs, list) or len(specs) > limits.arrays:
        raise WireError("a message announced too many arrays")
    total, out = 0, []
    for spec in specs:
        try:
            dtype = np.dtype(str(spec["dtype"]))
            shape = tuple(int(n) for n in spec["shape"])
        except (KeyError, TypeError, ValueError):
            raise WireError("a message announced an array it does not describe") from None
        if dtype.kind not in DTYPE_KINDS or dtype.fields is not None or dtype.itemsize > 32:
            raise WireError(f"a message announced an array of dtype {dtype}")
        if len(shape) > MAX_NDIM or any(n < 0 for n in shape):
            raise WireError("a message announced an array of impossible shape")
        total += math.prod(shape) * dtype.itemsize
        if total > limits.array_bytes:
            raise WireError(f"the arrays are larger than {limits.array_bytes // 2**20} MB")
        out.append((dtype, shape))
    return out


def parse_header(raw: bytes) -> dict:
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise WireError("a message header is not valid JSON") from None
    if not isinstance(header, dict):
        raise WireError("a message header is not a JSON object")
    return header


# ---- the kernel's side: blocking ---------------------------------------------------------------

def send(sock: socket.socket, header: dict, arrays: list[np.ndarray] = ()) -> None:
    for piece in encode(header, list(arrays)):
        sock.sendall(piece)


def _read_exact(sock: socket.socket, view: memoryview) -> None:
    while len(view):
        n = sock.recv_into(view)
        if n == 0:
            raise WireClosed()
        view = view[n:]


def receive(sock: socket.socket, limits: Limits = Limits()) -> tuple[dict, list[np.ndarray]]:
    size = bytearray(HEADER.size)
    _read_exact(sock, memoryview(size))
    (length,) = HEADER.unpack(size)
    if length > limits.json_bytes:
        raise WireError("a message header is too large")
    raw = bytearray(length)
    _read_exact(sock, memoryview(raw))
    header = parse_header(bytes(raw))
    arrays = []
    for dtype, shape in parse_specs(header, limits):
        arr = np.empty(shape, dtype)
        if arr.size:
            _read_exact(sock, memoryview(arr).cast("B"))
        arrays.append(arr)
    return header, arrays


# ---- the grader's side: non-blocking, with deadlines ------------------------------------------

class Channel:
    """The grader's end of a kernel's socket. Every wait ends at a deadline."""

    def __init__(self, sock: socket.socket, limits: Limits = Limits()):
        self.sock, self.limits = sock, limits
        sock.setblocking(False)
        self._reset()

    def _reset(self) -> None:
        self._stage = "size"                # size -> header -> arrays
        self._buffer = bytearray(HEADER.size)
        self._filled = 0
        self._header: dict = {}
        self._pending: list[tuple[np.dtype, tuple]] = []
        self._arrays: list[np.ndarray] = []

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def _wait(self, deadline: float, write: bool = False) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WireTimeout()
        poller = select.poll()
        poller.register(self.sock, select.POLLOUT if write else select.POLLIN)
        if not poller.poll(max(1, math.ceil(remaining * 1000))):
            raise WireTimeout()

    def send(self, header: dict, arrays: list[np.ndarray] = (), deadline: float = math.inf):
        for piece in encode(header, list(arrays)):
            view = memoryview(piece).cast("B")
            while len(view):
                try:
                    view = view[self.sock.send(view):]
                except BlockingIOError:
                    self._wait(deadline, write=True)
                except (BrokenPipeError, ConnectionResetError):
                    raise WireClosed() from None

    def _fill(self, deadline: float) -> None:
        """Read into the current buffer until it is full."""
        view = memoryview(self._buffer).cast("B")
        while self._filled < len(view):
            try:
                n = self.sock.recv_into(view[self._filled:])
            except BlockingIOError:
                self._wait(deadline)
                continue
            except ConnectionResetError:
                raise WireClosed() from None
            if n == 0:
                raise WireClosed()
            self._filled += n

    def _next_buffer(self, buffer) -> None:
        self._buffer, self._filled = buffer, 0

    def receive(self, deadline: float) -> tuple[dict, list[np.ndarray]]:
        """The next whole message; raises WireTimeout (keeping what has arrived so far)."""
        while True:
            self._fill(deadline)
            if self._stage == "size":
                (length,) = HEADER.unpack(self._buffer)
                if length > self.limits.json_bytes:
                    raise WireError(f"a message header is larger than "
                                    f"{self.limits.json_bytes // 2**20} MB")
                self._stage = "header"
                self._next_buffer(bytearray(length))
                continue
            if self._stage == "header":
                self._header = parse_header(bytes(self._buffer))
                self._pending = parse_specs(self._header, self.limits)
                self._stage = "arrays"
            else:
                self._arrays.append(self._current)
            while self._pending:
                dtype, shape = self._pending.pop(0)
                self._current = np.empty(shape, dtype)
                if self._current.size:
                    self._next_buffer(self._current)
                    break
                self._arrays.append(self._current)
            else:
                message = (self._header, self._arrays)
                self._reset()
                return message


def socketpair() -> tuple[socket.socket, socket.socket]:
    """(grader's end, kernel's end): a connected pair of Unix stream sockets."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    os.set_inheritable(b.fileno(), True)
    return a, b
