"""nnutils: the shared library of the neural-networks course (see nnutils/README.md)."""

__version__ = "0.1.0"
