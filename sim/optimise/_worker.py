"""The body of a worker process (kept free of heavy imports at module level: the process makes itself
single-threaded before numba and numpy load)."""

from __future__ import annotations

import os
import signal
import sys
import time


def _die_with(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux), and exit now if it already
    has. The pipe to the parent closing ends the serve loop too; this also covers a worker busy in a
    long simulation when its parent is killed."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the closed pipe still ends the loop
        pass
    if os.getppid() != parent:
        os._exit(1)


def evaluate(task: dict) -> dict:
    """Run one task (a scenario as a dict, the replication seeds, the metrics) single-threaded through
    :func:`sim.sweep.simulate_point`: one dict of metrics per replication, and the seconds it took."""
    from ..sweep import simulate_point

    start = time.perf_counter()
    metrics = simulate_point(task)
    return {"metrics": metrics, "seconds": time.perf_counter() - start}


def serve(conn, parent: int) -> None:
    """A worker's life: single-threaded, deaf to the terminal's Ctrl-C (its command stops it), dead
    with its parent; then one task at a time from ``conn`` until the pipe closes. A task that fails
    returns its error as one line."""
    os.environ["RETENTION_SIM_THREADS"] = "1"
    os.environ["NUMBA_NUM_THREADS"] = "1"
    from ..signals import ignore_interrupts

    ignore_interrupts()  # started with SIGINT blocked, see pool.Pool
    _die_with(parent)
    from ..engine import _ensure_compiled

    _ensure_compiled()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            key, task = conn.recv()
        except (EOFError, OSError):
            break
        try:
            reply = ("ok", key, evaluate(task))
        except Exception as err:  # noqa: BLE001  (reported by the coordinator as a failed trial)
            reply = ("error", key, f"{type(err).__name__}: {' '.join(str(err).split())[:300]}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            break
    sys.exit(0)
