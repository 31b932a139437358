"""Preloaded by the sweep's worker server process: the engine imported and its compiled code loaded
once, so that every worker forked from the server starts ready (see :func:`sim.sweep._context`).

The server ends when the command that started it ends, however it ends (Linux's parent-death
signal; :func:`sim.signals.die_with_parent`), and each worker it forks ends with the server and with
the command (:func:`sim.sweep._local_worker_init`): a SIGKILL of the command leaves no process behind.
"""

import os

from . import signals

signals.die_with_parent(expected_parent=signals.command_pid())  # no watching thread: this process forks

os.environ.setdefault("RETENTION_SIM_THREADS", "1")

from .sweep import simulate_point  # noqa: E402,F401  (the default task)

signals.ignore_interrupts()  # first: the server starts with SIGINT blocked, and loading the engine takes a second

from .engine import _ensure_compiled  # noqa: E402

_ensure_compiled()
