"""Preloaded by the sweep's worker server process: the engine imported and its compiled code loaded
once, so that every worker forked from the server starts ready (see :func:`sim.sweep._context`)."""

import os

os.environ.setdefault("RETENTION_SIM_THREADS", "1")

from .sweep import ignore_interrupts, simulate_point  # noqa: E402,F401  (the default task)

ignore_interrupts()  # first: the server starts with SIGINT blocked, and loading the engine takes a second

from .engine import _ensure_compiled  # noqa: E402

_ensure_compiled()
