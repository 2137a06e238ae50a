"""The one place that configures numba: a typed ``njit`` for kernels and scalar helpers.

Kernels compile on first call and are cached on disk (``cache=True``). With
``NUMBA_DISABLE_JIT=1`` every kernel runs as the plain Python it is written in, which the
tests use to check that results do not depend on compilation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

__all__ = ["njit"]

F = TypeVar("F", bound=Callable[..., Any])


def njit(func: F) -> F:
    """Compile ``func`` with numba in nopython mode, caching the machine code on disk."""
    return cast(F, numba.njit(cache=True, nogil=True)(func))
