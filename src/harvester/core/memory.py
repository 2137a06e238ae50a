"""Returning freed memory to the operating system after a large transient allocation.

Reading a big file builds temporaries (a long frame, parsed columns) several times the size
of the panel that remains. glibc's allocator keeps freed heap pages for reuse, so the
process's resident size stays at the peak; ``malloc_trim(0)`` hands them back. Arrow's own
pool (mimalloc) keeps the blocks of freed Arrow-backed columns (text columns of pandas
frames) the same way; its ``release_unused`` hands those back. On other C libraries and
platforms this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

__all__ = ["release_freed_memory"]


@cache
def _malloc_trim() -> ctypes._NamedFuncPointer | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> bool:
    """Give freed heap memory back to the OS where the C library allows it; True if it did."""
    arrow = sys.modules.get("pyarrow")  # never imported just for this
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
