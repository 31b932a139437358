"""Experiment-layer benchmark: batched replications, sweep scaling and the sweep's own overhead.

* ``batched_speedup``: replications per second at 1,000 customers x 120 periods (telecom), running R
  replications as one batched population, over running them one by one through the same API (one
  engine per seed, metrics of each); both compute the same numbers (tested). The telecom firms'
  acquisition budgets are money per period, so ``--customers 1000`` alone would keep ~200 arrivals a
  period and grow the population to ~25,000 rows: the budgets are scaled with the population
  (x 1,000 / 20,000) so that the run is the 1,000-customer market the figure is about.
  The two alternate, best of 3 each.
  ``batched_speedup_shipped_budgets`` is the same with the budgets as shipped. Batching shares what
  a replication costs outside the customers' pass (``rest``), or some of it, and nothing of the pass;
  one replication and the batch are timed by phase (``benchmarks/phases.py``) to give two bounds:
  ``batched_ceiling``, the gain if batching removed the whole rest, and ``batched_if_pass_free``, the
  gain if the pass cost nothing; and what the pass may cost per customer-period for a gain of 5
  (``pass_ns_for_target``) beside what it costs (``pass_ns``).
* ``sweep_scaling``: runs per second of ``retention-sim sweep`` with ``--workers 2`` over
  ``--workers 1``, each a fresh command as a user starts it (so start-up, including the workers'
  loading of the compiled engine, is part of the cost; each worker single-threaded): 32 design points
  x 2 replications of a 10,000-customer, 120-period telecom run; the two alternate, best of 2 each.
  ``sweep_scaling_short`` is the same in-process for a sweep of 16 points of 60 periods (about 3 s of
  work), where starting workers costs as much as the work: it shows where parallel workers stop paying.
* ``pair_ceiling``: the same engine runs in one process alone and in two processes side by side, with
  no sweep machinery: what two workers can reach on this machine at best, the bound on
  ``sweep_scaling``.
* ``per_run_overhead``: the sweep machinery's time per run (design, scenario per point, task,
  storage, analysis files) as a share of the runs themselves (10,000 customers, 120 periods; building
  each engine, running it and its metrics), with one worker, in-process. Both parts are timed within
  the same sweep (the engine's calls as they happen, the rest is the sweep's wall time minus
  them), so the shared machine's drift, which moves two runs of the same work by 10-30 %, cancels;
  the median of 5 sweeps. (Timing direct runs and sweeps one after the other gave anything from
  -1 % to +7.5 % on the same code.)

The last printed line is one JSON object. Ratios, not absolute numbers, are the result.

    python benchmarks/experiments.py
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.phases import engine_phases  # noqa: E402
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


def batched_speedup(replications: int = 20, scale_budgets: bool = True) -> dict:
    customers = 1000
    overrides = {"simulation.customers": customers, "simulation.periods": 120}
    if scale_budgets:
        shipped = load("telecom")
        factor = customers / shipped.simulation.customers
        overrides |= {f"firms.{i}.acquisition_spend": f.acquisition_spend * factor for i, f in enumerate(shipped.firms)}
    sc = load("telecom", overrides)
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
    single, batch = float("inf"), float("inf")
    for _ in range(3):  # alternating, so drifting machine speed hits both alike
        single, batch = min(single, _best(one_by_one, 1)), min(batch, _best(batched, 1))
    key = "" if scale_budgets else "_shipped_budgets"
    out = {f"replications{key}": replications, f"one_by_one_s{key}": round(single, 3), f"batched_s{key}": round(batch, 3),
           f"batched_speedup{key}": round(single / batch, 2)}
    if scale_budgets:
        out |= batching_ceiling(sc, seeds)
    return out


def batching_ceiling(scenario, seeds: list[int], target: float = 5.0) -> dict:
    """What batching can gain at most, from one replication and from the batch, each timed by phase
    (``benchmarks/phases.py``; per replication and period). Batching shares a replication's costs
    outside the customers' pass (``rest``: building the engine, planning, the books, the metrics)
    among the replications, though not all of them (arrivals and leavers are work per customer), and
    nothing of the pass itself. So ``batched_ceiling`` = (pass + rest) / batched pass: the gain if
    batching removed the whole rest; and ``batched_if_pass_free`` = rest / batched rest: the gain
    if the pass cost nothing. With the pass costing P in both, the gain (P + rest) / (P + batched
    rest) reaches ``target`` only if P <= (rest - target x batched rest) / (target - 1):
    ``pass_ns_for_target`` per customer-period (0: not even a free pass), against ``pass_ns``."""
    one = engine_phases(scenario, seeds[:1], repeats=10)
    batch = engine_phases(scenario, seeds, repeats=3)
    n = len(seeds)
    pass_one = one["customers_pass_us_per_period"]
    rest_one = one["total_us_per_period"] - pass_one
    pass_batch = batch["customers_pass_us_per_period"] / n  # per replication
    rest_batch = batch["total_us_per_period"] / n - pass_batch
    return {"pass_us_per_period": pass_one, "rest_us_per_period": round(rest_one, 1),
            "batched_pass_us_per_replication": round(pass_batch, 1),
            "batched_rest_us_per_replication": round(rest_batch, 1),
            "batched_ceiling": round((pass_one + rest_one) / pass_batch, 2),
            "batched_if_pass_free": round(rest_one / rest_batch, 2),
            "pass_ns": one["customers_pass_ns"],
            "pass_ns_for_target": round(max(0.0, (rest_one - target * rest_batch) / (target - 1))
                                        / (one["customer_periods"] / one["periods"]) * 1e3, 1)}


def batched_speedup_shipped_budgets() -> dict:
    return batched_speedup(scale_budgets=False)


def _spec(points: int, periods: int, replications: int = 1) -> SweepSpec:
    return SweepSpec(base="telecom", design="lhs", samples=points, replications=replications, seed=1,
                     metrics=["retention_12", "profit"],
                     set={"simulation.customers": 10_000, "simulation.periods": periods},
                     parameters={"firms.0.price": (27.0, 33.0), "firms.0.service_quality": (0.5, 0.8)})


def sweep_scaling(points: int = 32, replications: int = 2, repeats: int = 2) -> dict:
    """The sweep command, started afresh for each worker count; 1 and 2 workers alternate and the best
    of ``repeats`` of each is used (the shared machine's speed drifts by 10-20 % over a minute)."""
    spec = _spec(points, 120, replications)
    lines = [f'base = "{spec.base}"', f'design = "{spec.design}"', f"samples = {spec.samples}",
             f"replications = {spec.replications}", f"seed = {spec.seed}", f"metrics = {json.dumps(list(spec.metrics))}", "[set]"]
    lines += [f'"{k}" = {v}' for k, v in spec.set.items()] + ["[parameters]"]
    lines += [f'"{k}" = [{lo}, {hi}]' for k, (lo, hi) in spec.parameters.items()]
    cli = [sys.executable, "-m", "sim.cli", "sweep"]
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp, "sweep.toml")
        file.write_text("\n".join(lines) + "\n")
        subprocess.run(cli + [str(file), "--workers", "1", "--out", str(Path(tmp, "warm"))], check=True, capture_output=True,
                       env=_env(), timeout=3600)  # the disk cache of compiled code is warm for both
        for attempt in range(repeats):
            for workers in (1, 2):
                start = time.perf_counter()
                subprocess.run(cli + [str(file), "--workers", str(workers), "--out", str(Path(tmp, f"w{workers}-{attempt}"))],
                               check=True, capture_output=True, env=_env(), timeout=3600)
                times[workers] = min(times.get(workers, float("inf")), time.perf_counter() - start)
    return {"sweep_runs": points * replications, "sweep_1_worker_s": round(times[1], 2), "sweep_2_workers_s": round(times[2], 2),
            "sweep_scaling": round(times[1] / times[2], 2)}


def sweep_scaling_short(points: int = 16) -> dict:
    """A short sweep in-process (the parent's engine already loaded; workers load theirs)."""
    spec = _spec(points, 60)
    base = load("telecom", dict(spec.set))
    times = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_sweep(spec, Path(tmp) / "s", base=base, workers=workers)
            times[workers] = time.perf_counter() - start
    return {"sweep_short_points": points, "sweep_short_1_worker_s": round(times[1], 2),
            "sweep_short_2_workers_s": round(times[2], 2),
            "sweep_scaling_short": round(times[1] / times[2], 2)}


PAIR_JOB = """
import sys, time
import sim
sim.RetentionModel("telecom", rng=1, **{"simulation.customers": 200, "simulation.periods": 3}).run()
print("ready", flush=True)
sys.stdin.readline()
start = time.perf_counter()
for r in range(%d):
    sim.RetentionModel("telecom", rng=r, **{"simulation.customers": 10_000, "simulation.periods": 120}).run()
print(time.perf_counter() - start, flush=True)
"""


def pair_ceiling(runs: int = 16, repeats: int = 3) -> dict:
    """What two processes can do side by side on this machine, without any sweep machinery: the same
    single-threaded engine runs (10,000 customers, 120 periods) in one process alone, then in two
    processes at once, started together once both are loaded. ``pair_ceiling`` = 2 x time alone /
    time of the slower of the pair: the most ``sweep_scaling`` could reach here (shared caches, memory
    bandwidth and the host's other guests cost the pair). Best of ``repeats``."""
    env = {**_env(), "RETENTION_SIM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}

    def timed(count: int) -> float:
        procs = [subprocess.Popen([sys.executable, "-c", PAIR_JOB % runs], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, env=env) for _ in range(count)]
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        seconds = [float(p.stdout.readline()) for p in procs]
        for p in procs:
            p.wait()
        return max(seconds)

    alone, pair = float("inf"), float("inf")
    for _ in range(repeats):  # alternating, so drifting machine speed hits both alike
        alone, pair = min(alone, timed(1)), min(pair, timed(2))
    return {"pair_alone_s": round(alone, 2), "pair_together_s": round(pair, 2), "pair_ceiling": round(2 * alone / pair, 2)}


def _env() -> dict:
    """The environment of the sweep commands: no thread cap from this process, the repository importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("RETENTION_SIM_THREADS", "NUMBA_NUM_THREADS")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def per_run_overhead(points: int = 6, repeats: int = 5) -> dict:
    """The sweep's own cost, measured within each sweep: the engine's share of the sweep (building
    each engine, running it, its metrics) is timed as it happens, and the rest of the sweep's wall
    time (design, scenario per point, tasks, storage, analysis files) is its overhead. Measured so,
    both parts come from the same seconds, and the machine's drift (10-30 % between two runs here)
    cancels; the median of ``repeats`` sweeps."""
    import sim.engine
    import sim.metrics

    spec = _spec(points, 120)
    base = load("telecom", dict(spec.set))
    engine_s = [0.0]

    class TimedEngine(Engine):
        def __init__(self, *args, **kwargs):
            start = time.perf_counter()
            super().__init__(*args, **kwargs)
            engine_s[0] += time.perf_counter() - start

        def run(self):
            start = time.perf_counter()
            super().run()
            engine_s[0] += time.perf_counter() - start

    def timed_metrics(engine, *args, **kwargs):  # the sweep passes the firm to report on
        start = time.perf_counter()
        table = engine_metrics(engine, *args, **kwargs)
        engine_s[0] += time.perf_counter() - start
        return table

    Engine(base, [1], threads=1).run()  # compiled code loaded
    shares, walls, engines = [], [], []
    sim.engine.Engine, sim.metrics.engine_metrics = TimedEngine, timed_metrics  # what simulate_point imports
    try:
        for _ in range(repeats):
            engine_s[0] = 0.0
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                run_sweep(spec, Path(tmp) / "s", base=base, workers=1)
                wall = time.perf_counter() - start
            walls.append(wall)
            engines.append(engine_s[0])
            shares.append((wall - engine_s[0]) / engine_s[0])
    finally:
        sim.engine.Engine, sim.metrics.engine_metrics = Engine, engine_metrics
    k = int(np.argsort(shares)[len(shares) // 2])
    return {"direct_per_run_s": round(engines[k] / points, 4), "sweep_per_run_s": round(walls[k] / points, 4),
            "per_run_overhead": round(shares[k], 4)}


def main() -> None:
    os.environ.setdefault("RETENTION_SIM_THREADS", "1")
    result = {}
    for part in (batched_speedup, batched_speedup_shipped_budgets, sweep_scaling, pair_ceiling, sweep_scaling_short,
                 per_run_overhead):
        out = part()
        print(part.__name__, out, flush=True)
        result.update(out)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    result["machine"] = (f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}, "
                         f"{os.cpu_count()} cpus")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
