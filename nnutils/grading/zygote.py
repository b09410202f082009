"""The kernel factory that runs inside a worker's sandbox (``python -m nnutils.grading.zygote``).

Starting a Python kernel costs about a second of CPU, almost all of it importing IPython,
ipykernel, NumPy and matplotlib. The zygote pays that once per grading worker: it imports them,
then forks a fresh kernel for every submission. Each child:

- drops to its own user id (given by the grader; no capabilities, no new privileges), so that
  submissions cannot signal, read or outlive one another, and the process limit is per child;
- gets limits on address space, processes and file size;
- moves into the submission's scratch folder with a clean environment;
- becomes an ordinary IPython kernel serving the given connection file.

The zygote reads one JSON command per line on stdin and answers on stdout. It never runs student
code itself, and a child shares nothing writable with it.
"""

import json
import os
import resource
import signal
import sys

PRELOAD = ["numpy", "matplotlib", "matplotlib.pyplot", "IPython", "ipykernel.kernelapp",
           "ipykernel.ipkernel", "ipykernel.zmqshell", "jupyter_client.session", "zmq",
           "tornado.ioloop", "nnutils", "nnutils.grading.checks", "nnutils.data"]


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


def _become_kernel(spec: dict) -> None:
    """In the forked child: drop privileges, set limits, then serve as a kernel (never returns)."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 1024)
        uid = spec.get("uid")
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)   # PR_SET_NO_NEW_PRIVS
        except OSError:
            pass
        memory = spec["memory_mb"] * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (spec["fsize"], spec["fsize"]))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if spec.get("nproc"):
            resource.setrlimit(resource.RLIMIT_NPROC, (spec["nproc"], spec["nproc"]))
        os.environ.clear()
        os.environ.update(spec["env"])
        os.chdir(spec["cwd"])
        sys.argv = ["ipykernel_launcher", "-f", spec["connection_file"],
                    "--HistoryManager.hist_file=:memory:"]
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(sys.argv[1:])
        app.start()
    finally:
        os._exit(0)


def main() -> None:
    _preload(sys.argv[1:])
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # children are reaped automatically
    out = sys.stdout
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            spec = json.loads(line)
        except ValueError:
            continue
        pid = os.fork()
        if pid == 0:
            _become_kernel(spec)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
