"""Giving freed memory back to the system between the slices of a large delivery.

pandas, numpy and Arrow (system pool) free a validated slice's buffers with ``free``; glibc keeps
much of that memory mapped in its arenas for reuse, so the resident size of a long ingestion
ratchets up slice after slice (measured: +230 MiB over 31 slices of a 256 MiB file, flat with a
trim after each). ``malloc_trim(0)`` hands the free pages back. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_name = ctypes.util.find_library("c")
_libc = ctypes.CDLL(_name) if _name else None
_trim = getattr(_libc, "malloc_trim", None)


def release_freed_memory() -> None:
    """Return the C heap's free pages to the operating system (glibc), a no-op elsewhere."""
    if _trim is not None:
        _trim(0)
