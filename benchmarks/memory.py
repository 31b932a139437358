"""Peak memory of the measuring process, kept free of heavy imports so that a test can start a process
that loads nothing else."""

from __future__ import annotations

import resource
import sys


def peak_rss() -> int:
    """Peak resident set size of this process in bytes: on Linux the high-water mark of its own memory
    (``VmHWM``), not ``ru_maxrss``, which a process started by another inherits across ``exec`` from
    its parent's memory (a fresh child of a parent that had 400 MB resident reports 407 MB while its
    own peak is 12): inside `throughput.py`, whose process runs 1M-customer engines, its child's
    figure was the parent's peak (749-755 bytes per customer against 668 measured from a small parent).
    Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024
