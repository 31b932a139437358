"""Toy evaluation functions for sweep tests (importable by worker processes)."""

import math


def ishigami(task: dict) -> list[dict]:
    """The Ishigami function (a = 7, b = 0.1) on x1, x2, x3 in [-pi, pi]; the same value for every
    replication. Its Sobol indices are known in closed form."""
    x = task["values"]
    y = math.sin(x["x1"]) + 7.0 * math.sin(x["x2"]) ** 2 + 0.1 * x["x3"] ** 4 * math.sin(x["x1"])
    return [{m: y for m in task["metrics"]} for _ in task["seeds"]]


def slow_pid(task: dict) -> list[dict]:
    """Which process ran the point (its pid), after a tenth of a second of 'work'."""
    import os
    import time

    time.sleep(0.1)
    return [{m: float(os.getpid()) for m in task["metrics"]} for _ in task["seeds"]]


def sleepy(task: dict) -> list[dict]:
    """A point that takes a minute; it writes its process id to ``<task base>/<pid>`` as it starts."""
    import os
    import time
    from pathlib import Path

    (Path(task["base"]) / str(os.getpid())).touch()
    time.sleep(60)
    return [{m: 0.0 for m in task["metrics"]} for _ in task["seeds"]]
