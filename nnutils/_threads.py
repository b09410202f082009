"""Thread settings for NumPy's BLAS, shared by the modules with tight loops of small products."""

import contextlib

_BLAS = None  # threadpoolctl's controller of NumPy's BLAS, found on first use (False: none)


def one_blas_thread():
    """A context in which NumPy's BLAS runs single-threaded (if threadpoolctl is installed).

    Loops of small matrix products (an RNN's time steps, the Playground's mini-batches) gain
    nothing from a second thread: the threads must meet after every product, and when another
    program holds a core that meeting can wait for milliseconds (measured: a 10x slower LSTM
    on 2 busy cores).
    The limit is process-wide while the context lasts and is undone when it ends.
    """
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _BLAS = False
        else:
            _BLAS = ThreadpoolController()
    if _BLAS is False:
        return contextlib.nullcontext()
    return _BLAS.limit(limits=1, user_api="blas")
