"""BLAS threads: numpy's matrix products on one thread where that is faster.

OpenBLAS starts a thread per core for every product; on a shared 2-core machine the small
products of training and generation ran up to 13 times slower with them (74 s against
5.6 s for 50 generated images).
"""

from __future__ import annotations

import contextlib

__all__ = ["one_blas_thread"]


def one_blas_thread():
    """A context in which numpy's BLAS uses one thread (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                                     # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
