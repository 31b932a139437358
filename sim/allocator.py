"""Large arrays go back to the operating system when they are freed (glibc only).

glibc's ``malloc`` serves a request of at least its *mmap threshold* with a fresh memory mapping, which
``free`` returns to the system at once; smaller requests come from its heap, whose freed space stays
with the process. The threshold is dynamic: every time a mapped block is freed, glibc raises it to that
block's size (up to 32 MiB on 64-bit systems). A run of a million customers frees arrays of 4-30 MiB
(the relationship log growing, the period's temporaries, the tables' intermediate columns), so after
the first of them such arrays come from the heap, and their space, once freed, is kept by the process:
its peak memory then depends on the order in which arrays of similar sizes happened to be freed and
allocated before, not only on what it holds. Measured on the benchmark's 1M-customer telecom run with
its tables: about 40 MiB of freed heap held at the end, and figures that moved between runs.

:func:`return_freed_memory` fixes the threshold (``mallopt(M_MMAP_THRESHOLD, 1 MiB)``; setting it
switches the dynamic adjustment off), so that every array of 1 MiB or more is mapped and returned when
freed, and a process holds what it uses. Arrays below 1 MiB, every array of a small run, are served as
before. A ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or ``GLIBC_TUNABLES`` set in the
environment (glibc's own tunables) is the user's choice and left alone; elsewhere (macOS, musl, Windows) nothing changes.
"""

from __future__ import annotations

import ctypes
import os

MMAP_THRESHOLD = 1 << 20  # bytes: a freed array this large or larger is returned to the system
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)
_done = False


def return_freed_memory() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` once per process; True if it is set (by
    this call or an earlier one), False where it does not apply (not glibc, or the environment sets
    glibc's own tunables)."""
    global _done
    if _done:
        return True
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        libc = ctypes.CDLL(None)
        _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (ValueError, OSError, AttributeError):  # no such name, no libc, no mallopt
        return False
    return _done
