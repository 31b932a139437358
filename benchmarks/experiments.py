"""Experiment-layer benchmark: batched replications, sweep scaling and the sweep's own overhead.

* ``batched_speedup``: replications per second at 1,000 customers x 120 periods (telecom), running R
  replications as one batched population, over running them one by one through the same API (one
  engine per seed, metrics of each); both compute the same numbers (tested).
* ``sweep_scaling``: runs per second of a sweep with 2 worker processes over 1 (each worker
  single-threaded; 16 design points of a 10,000-customer, 60-period telecom run, so worker start-up is
  part of the cost, as it is for a user).
* ``per_run_overhead``: the sweep machinery's time per run (design, task, storage, bookkeeping) as a
  share of a 10,000-customer, 120-period run made directly: (sweep time per run - direct time per
  run) / direct time per run, with one worker, in-process.

The last printed line is one JSON object. Ratios, not absolute numbers, are the result.

    python benchmarks/experiments.py
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.compare import replication_seeds  # noqa: E402
from sim.engine import Engine  # noqa: E402
from sim.metrics import engine_metrics  # noqa: E402
from sim.scenario import load  # noqa: E402
from sim.sweep import SweepSpec, run_sweep  # noqa: E402


def _best(fn, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def batched_speedup(replications: int = 20) -> dict:
    sc = load("telecom", {"simulation.customers": 1000, "simulation.periods": 120})
    seeds = replication_seeds(1, replications)

    def one_by_one():
        for s in seeds:
            e = Engine(sc, [s], threads=1)
            e.run()
            engine_metrics(e)

    def batched():
        e = Engine(sc, seeds, threads=1)
        e.run()
        engine_metrics(e)

    Engine(sc, [1], threads=1).run()  # compile / load the cache first
    single, batch = _best(one_by_one), _best(batched)
    return {"replications": replications, "one_by_one_s": round(single, 3), "batched_s": round(batch, 3),
            "batched_speedup": round(single / batch, 2)}


def _spec(points: int, periods: int) -> SweepSpec:
    return SweepSpec(base="telecom", design="lhs", samples=points, replications=1, seed=1, metrics=["retention_12", "profit"],
                     set={"simulation.customers": 10_000, "simulation.periods": periods},
                     parameters={"firms.0.price": (27.0, 33.0), "firms.0.service_quality": (0.5, 0.8)})


def sweep_scaling(points: int = 16) -> dict:
    spec = _spec(points, 60)
    base = load("telecom", dict(spec.set))
    times = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_sweep(spec, Path(tmp) / "s", base=base, workers=workers)
            times[workers] = time.perf_counter() - start
    return {"sweep_points": points, "sweep_1_worker_s": round(times[1], 2), "sweep_2_workers_s": round(times[2], 2),
            "sweep_scaling": round(times[1] / times[2], 2)}


def per_run_overhead(points: int = 6) -> dict:
    spec = _spec(points, 120)
    base = load("telecom", dict(spec.set))
    from sim.sweep import _typed, design_points

    x = design_points(spec)
    seeds = replication_seeds(spec.seed, 1)
    scenarios = [load(base, {k: _typed(k, x[p, j], None) for j, k in enumerate(spec.parameters)}) for p in range(points)]

    def direct():
        for sc in scenarios:
            e = Engine(sc, seeds, threads=1)
            e.run()
            engine_metrics(e)

    def swept():
        with tempfile.TemporaryDirectory() as tmp:
            run_sweep(spec, Path(tmp) / "s", base=base, workers=1)

    direct()
    d, s = _best(direct), _best(swept)
    return {"direct_per_run_s": round(d / points, 4), "sweep_per_run_s": round(s / points, 4),
            "per_run_overhead": round((s - d) / d, 4)}


def main() -> None:
    os.environ.setdefault("RETENTION_SIM_THREADS", "1")
    result = {}
    for part in (batched_speedup, sweep_scaling, per_run_overhead):
        out = part()
        print(part.__name__, out, flush=True)
        result.update(out)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    result["machine"] = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cpus"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
