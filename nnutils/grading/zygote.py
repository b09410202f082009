"""The kernel factory inside a worker's sandbox (``python -m nnutils.grading.zygote FD ...``).

Starting a Python kernel costs about a second of CPU, almost all of it importing IPython, NumPy
and matplotlib. The zygote pays that once per grading worker, then forks a fresh kernel for
every submission. It never runs student code itself.

The grader sends one JSON spec per kernel on the control socket (``FD``, a Unix SEQPACKET
socket), with the kernel's end of a fresh socket pair attached (SCM_RIGHTS). The forked child:

1. with ``private`` set (the sandbox gave the zygote CAP_SYS_ADMIN for this): enters new mount,
   IPC and network namespaces and mounts a fresh tmpfs, limited in size and inodes, as its
   folder (``home``, which also holds its TMPDIR; the sandbox's /tmp is read-only). Nothing
   an earlier submission left (files, a full disk, shared-memory segments, sockets) is
   visible, and everything it leaves dies with it;
2. drops to its own user id (no capabilities, no new privileges) and sets limits on address
   space, processes, file size and core dumps;
3. copies the assignment's data files into its folder and says hello on its socket, with its
   credentials attached, so the grader learns its process id as the host sees it;
4. serves the grader (``shim.py``) on that socket until the grader hangs up.
"""

import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import sys

PRELOAD = ["numpy", "matplotlib", "matplotlib.pyplot", "IPython",
           "IPython.core.interactiveshell", "nnutils", "nnutils.grading.checks",
           "nnutils.grading.shim", "nnutils.data"]

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x08000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
KERNEL_FD = 3

_libc = ctypes.CDLL(None, use_errno=True)


def _preload(extra: list[str]) -> None:
    """Import what every kernel needs, and the modules the assignment's notebooks import."""
    import importlib

    sys.modules.setdefault("rfc3987_syntax", None)      # see nnutils/grading/__init__.py
    import matplotlib
    matplotlib.use("Agg")
    for name in PRELOAD:
        importlib.import_module(name)
    for name in extra:
        try:
            importlib.import_module(name)
        except Exception:       # a module the notebooks import but this machine lacks
            pass


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(_libc.mount(source.encode(), target.encode(),
                       fstype.encode() if fstype else None, flags,
                       data.encode() if data else None), f"mount {target}")


def _private_filesystem(spec: dict) -> None:
    """New mount, IPC and network namespaces; a fresh limited tmpfs as the kernel's folder."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET), "unshare")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    uid = spec["uid"] if spec.get("uid") is not None else os.getuid()
    home = spec["home"]
    _mount("tmpfs", home, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={spec['disk_bytes']},nr_inodes={spec['inodes']},mode=0700,"
           f"uid={uid},gid={uid}")


def _drop_privileges(spec: dict) -> None:
    uid = spec.get("uid")
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)          # from root to another id: every capability is gone
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    memory = spec["memory_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (spec["fsize"], spec["fsize"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if spec.get("nproc"):
        resource.setrlimit(resource.RLIMIT_NPROC, (spec["nproc"], spec["nproc"]))


def _say_hello(sock: socket.socket, error: str | None) -> None:
    """Tell the grader we are ready (or why not), with our credentials attached."""
    creds = ctypes.c_int * 3
    ucred = bytes(creds(os.getpid(), os.getuid(), os.getgid()))
    sock.sendmsg([b"\x00\x00\x00\x00" if error is None else b"\x01\x00\x00\x00"],
                 [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, ucred)])
    if error is not None:
        sock.sendall(error.encode()[:2000])


def _become_kernel(spec: dict, fd: int) -> None:
    """In the forked child: isolate, drop privileges, then serve as a kernel (never returns)."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(devnull, target)
        os.dup2(fd, KERNEL_FD)
        os.closerange(KERNEL_FD + 1, 65536)
        sock = socket.socket(fileno=KERNEL_FD)
        try:
            if spec.get("private"):
                _private_filesystem(spec)
            _drop_privileges(spec)
            os.environ.clear()
            os.environ.update(spec["env"])
            os.chdir(spec["home"])
            for folder in (os.environ["HOME"], os.environ["MPLCONFIGDIR"],
                           os.environ["TMPDIR"]):
                os.makedirs(folder, exist_ok=True)
            if spec.get("extra") and os.path.isdir(spec["extra"]):
                for name in sorted(os.listdir(spec["extra"])):
                    shutil.copyfile(os.path.join(spec["extra"], name), name)
        except Exception as exc:
            _say_hello(sock, f"{type(exc).__name__}: {exc}")
            return
        _say_hello(sock, None)
        from nnutils.grading.shim import serve

        serve(KERNEL_FD)
    finally:
        os._exit(0)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    _preload(sys.argv[2:])
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # children are reaped automatically
    control.send(json.dumps({"ready": os.getpid()}).encode())
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 65536, 1)
        except OSError:
            return
        if not message:
            return                      # the grader is gone
        try:
            spec = json.loads(message)
        except ValueError:
            spec = None
        if spec is None or not fds:
            for fd in fds:
                os.close(fd)
            control.send(json.dumps({"error": "malformed request"}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            _become_kernel(spec, fds[0])
        os.close(fds[0])
        control.send(json.dumps({"pid": pid}).encode())


if __name__ == "__main__":
    main()
