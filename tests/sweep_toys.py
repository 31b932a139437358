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


def noisy_linear(task: dict) -> list[dict]:
    """y = 3 x1 + 2 x2 (the parameters named in the task, in order) plus normal noise of SD
    ``task['base']['noise_sd']`` drawn from the replication's seed and the point, so that noise is
    independent between points and replications; every metric gets the same value."""
    import numpy as np

    coefficients = (3.0, 2.0, 1.0, 0.5)
    x = list(task["values"].values())
    signal = sum(c * float(v) for c, v in zip(coefficients, x))
    sd = float(task["base"].get("noise_sd", 0.0)) if isinstance(task["base"], dict) else 0.0
    out = []
    for seed in task["seeds"]:
        noise = np.random.default_rng([seed, task["point"]]).normal(0.0, sd) if sd else 0.0
        out.append({m: signal + noise for m in task["metrics"]})
    return out


def echo_price(task: dict) -> list[dict]:
    """The base scenario's second firm's price plus the first parameter's value: tells runs of two
    bases apart."""
    base = task["base"]
    price = float(base["firms"][1]["price"]) if isinstance(base, dict) and "firms" in base else 0.0
    first = float(next(iter(task["values"].values())))
    return [{m: price + first for m in task["metrics"]} for _ in task["seeds"]]


def record_values(task: dict) -> list[dict]:
    """Each metric is the value of the parameter of the same position (to see what was simulated)."""
    values = [float(v) for v in task["values"].values()]
    return [{m: values[i % len(values)] for i, m in enumerate(task["metrics"])} for _ in task["seeds"]]
