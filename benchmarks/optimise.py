"""Optimiser benchmark: quality against a dense grid, the optimiser's own overhead, two-worker scaling.

* ``planted``: a budget split whose optimum a dense grid finds. The telecom market at 3,000 customers
  and 48 months (acquisition scaled with it), with a service programme added; the budget is what the
  base's three retention levers cost at their reference doses (service, the 12-month and the 24-month
  contract; measured by the pilots), to be split among them. The grid: every split in steps of 1/20
  (231 points), each on the study's 2 search seeds, through the same scenario mapping and workers.
  The optimiser: TPE, 34 trials of 2 replications, the top 3 confirmed on 10 fresh seeds (no slices).
  The grid's best point then runs on the same fresh seeds: the optimiser's confirmed best must lie
  within (or above) the grid optimum's 95 % interval, with at most a quarter of the grid's runs
  (``runs_ratio``; the optimiser's runs count the search, the confirmation and the budget's pilots).
* ``overhead``: the optimiser's own time (the study's database, the sampler, the scenario per trial,
  the confirmation's bookkeeping, importances, the report) as a share of the simulation time, in one
  process (``workers=1``), for the search alone and for the whole command; on the planted problem
  (short runs, 0.05 s) and on the scaling problem (long runs): the share depends on the run's length.
* ``scaling``: wall time of ``retention-sim optimise --workers 1`` over ``--workers 2``, each a fresh
  command as a user starts it (so start-up and the workers' loading of the engine count): 32 trials of
  2 replications of a 40,000-customer, 120-month telecom market, batch 4, the best confirmed on 2
  fresh seeds, no slices; and the same for the search alone (from the manifests, without start-up,
  confirmation and report). The two alternate, best of 2 each. Then ``pair_ceiling`` (from
  ``benchmarks/experiments.py``): plain engine runs in one process alone and in two side by side, the
  most two workers can reach on the machine as loaded at that moment.

The machine's load (1-minute average, before and after) is recorded with every figure: it is shared.
The last printed line is one JSON object.

    python benchmarks/optimise.py                  # everything (about 10 minutes)
    python benchmarks/optimise.py --only scaling   # one part
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

import sim  # noqa: E402
from sim.compare import paired  # noqa: E402
from sim.metrics import METRICS  # noqa: E402
from sim.optimise import load_spec  # noqa: E402
from sim.optimise.core import optimise, scenario_for, search_seeds, verify_seeds  # noqa: E402
from sim.optimise.pool import Pool  # noqa: E402
from sim.optimise.verify import mean_interval  # noqa: E402

MARKET = """
extends = "telecom"
name = "planted"
[set]
"simulation.customers" = 3000
"simulation.periods" = 48
"firms.0.acquisition_spend" = 2250.0
"firms.1.acquisition_spend" = 2250.0
[[add.measures]]
type = "service"
quality_boost = 0.1
handling_boost = 0.2
cost_per_customer = 1.0
"""
PLANTED = """
base = "market.toml"
[objective]
maximise = "profit"
[budget]
per_period = {budget}
levers = ["service", "measures.0", "measures.1"]
[search]
trials = 34
replications = 2
seed = 5
batch = 4
[verify]
top = 3
replications = 10
slices = 0
"""
SCALING = """
base = "telecom"
[set]
"simulation.customers" = 40000
"simulation.periods" = 120
[objective]
maximise = "profit"
[parameters]
"firms.0.price" = [25.0, 40.0]
"measures.0.exit_fee" = [0.0, 300.0]
[search]
trials = 32
replications = 2
seed = 1
batch = 4
[verify]
top = 1
replications = 2
slices = 0
"""
STEPS = 20


def load() -> float:
    return round(os.getloadavg()[0], 2)


def _planted_spec(folder: Path):
    (folder / "market.toml").write_text(MARKET)
    (folder / "probe.toml").write_text(PLANTED.format(budget=1e6).replace("[budget]", "[budget]\nat_most = true"))
    probe = load_spec(folder / "probe.toml")
    budget = round(sum(lv.fixed + lv.variable for lv in probe.budget.levers), 2)  # what the base spends on them
    (folder / "planted.toml").write_text(PLANTED.format(budget=budget))
    return load_spec(folder / "planted.toml"), budget


def planted() -> dict:
    folder = Path(tempfile.mkdtemp(prefix="optimise-bench-"))
    spec, budget = _planted_spec(folder)
    keys = spec.budget.keys
    seeds = search_seeds(spec)
    points = [(i, j) for i in range(STEPS + 1) for j in range(STEPS + 1 - i)]
    started = load()
    clock = time.perf_counter()
    with Pool(2) as pool:
        for p, (i, j) in enumerate(points):
            weights = dict(zip(keys, (i / STEPS, j / STEPS, (STEPS - i - j) / STEPS)))
            data, _ = scenario_for(spec, weights)
            pool.submit(p, {"base": data, "values": {}, "seeds": seeds, "metrics": ["profit"]})
        grid = {}
        while pool.pending:
            p, result, error = pool.next()
            assert error is None, error
            grid[p] = float(np.mean([r["profit"] for r in result["metrics"]]))
    grid_seconds = time.perf_counter() - clock
    best_point = max(grid, key=grid.get)
    grid_weights = dict(
        zip(keys, (points[best_point][0] / STEPS, points[best_point][1] / STEPS, (STEPS - sum(points[best_point])) / STEPS))
    )
    clock = time.perf_counter()
    result = optimise(spec, folder / "study", workers=2)
    opt_seconds = time.perf_counter() - clock
    fresh = verify_seeds(spec)
    with Pool(1) as pool:
        data, _ = scenario_for(spec, grid_weights)
        pool.submit(0, {"base": data, "values": {}, "seeds": fresh, "metrics": list(METRICS)})
        _, grid_fresh, _ = pool.next()
    grid_profit = np.array([r["profit"] for r in grid_fresh["metrics"]])
    best_profit = result.best.values("profit")
    g_mean, g_lo, g_hi, _ = mean_interval(grid_profit)
    b_mean, b_lo, b_hi, _ = mean_interval(best_profit)
    diff = paired(grid_profit, best_profit)
    m = result.manifest["runs_by_this_command"]
    opt_runs = m["search"] + m["confirmation_and_slices"] + m["budget_pilots"]
    grid_runs = len(points) * len(seeds)
    share = lambda w: {k.removeprefix("budget."): round(v / sum(w.values()), 3) for k, v in w.items()}  # noqa: E731
    return {
        "budget_per_period": budget,
        "grid_points": len(points),
        "grid_runs": grid_runs,
        "grid_seconds": round(grid_seconds, 1),
        "grid_best_split": share(grid_weights),
        "grid_best_search_profit": round(grid[best_point]),
        "grid_best_fresh_profit": round(g_mean),
        "grid_best_fresh_ci": [round(g_lo), round(g_hi)],
        "optimiser_runs": opt_runs,
        "runs_ratio": round(opt_runs / grid_runs, 3),
        "optimiser_seconds": round(opt_seconds, 1),
        "optimiser_best_split": share({k: result.best.derived[k] for k in keys}),  # money, after the dead zone
        "optimiser_best_fresh_profit": round(b_mean),
        "optimiser_best_fresh_ci": [round(b_lo), round(b_hi)],
        "optimiser_minus_grid": round(diff["difference"]),
        "optimiser_minus_grid_ci": [round(diff["ci_low"]), round(diff["ci_high"])],
        "within_grid_interval": bool(b_mean >= g_lo),
        "quarter_of_grid_runs": bool(opt_runs <= grid_runs / 4),
        "load_before": started,
        "load_after": load(),
    }


def _overhead(spec, folder: Path) -> dict:
    clock = time.perf_counter()
    result = optimise(spec, folder, workers=1)
    wall = time.perf_counter() - clock
    s = result.manifest["seconds"]
    return {
        "run_seconds": round(s["search_simulation"] / max(1, result.manifest["runs_by_this_command"]["search"]), 3),
        "search_overhead": round((s["search"] - s["search_simulation"]) / s["search_simulation"], 4),
        "command_overhead": round((wall - s["simulation_in_this_command"]) / s["simulation_in_this_command"], 4),
        "search_seconds": round(s["search"], 1),
        "command_seconds": round(wall, 1),
    }


def overhead() -> dict:
    out = {"load_before": load()}
    folder = Path(tempfile.mkdtemp(prefix="optimise-overhead-"))
    spec, _ = _planted_spec(folder)
    out["planted"] = _overhead(spec, folder / "planted")
    (folder / "scaling.toml").write_text(SCALING)
    out["long_runs"] = _overhead(load_spec(folder / "scaling.toml"), folder / "long")
    out["load_after"] = load()
    return out


def scaling(repeats: int = 2) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="optimise-scaling-"))
    (folder / "scaling.toml").write_text(SCALING)
    times = {1: [], 2: []}
    search = {1: [], 2: []}
    loads = []
    for r in range(repeats):
        for workers in (1, 2):
            out = folder / f"w{workers}-{r}"
            loads.append(load())
            clock = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sim.cli",
                    "optimise",
                    str(folder / "scaling.toml"),
                    "--out",
                    str(out),
                    "--workers",
                    str(workers),
                    "--quiet",
                ],
                check=True,
            )
            times[workers].append(time.perf_counter() - clock)
            search[workers].append(json.loads((out / "manifest.json").read_text())["seconds"]["search"])
    same = (folder / "w1-0" / "trials.parquet").read_bytes() == (folder / "w2-0" / "trials.parquet").read_bytes()
    from benchmarks.experiments import pair_ceiling

    ceiling = pair_ceiling(repeats=2)  # what two processes reach side by side now, with no optimiser at all
    return {
        **ceiling,
        "seconds_1_worker": [round(t, 1) for t in times[1]],
        "seconds_2_workers": [round(t, 1) for t in times[2]],
        "speedup": round(min(times[1]) / min(times[2]), 3),
        "search_seconds_1_worker": search[1],
        "search_seconds_2_workers": search[2],
        "search_speedup": round(min(search[1]) / min(search[2]), 3),
        "same_trials_for_1_and_2_workers": same,
        "load_during": loads + [load()],
    }


def main() -> None:
    import argparse

    parts = {"planted": planted, "overhead": overhead, "scaling": scaling}
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=list(parts), action="append", help="run only this part (repeatable)")
    args = ap.parse_args()
    sim.run("telecom", overrides={"simulation.customers": 200, "simulation.periods": 2})  # compile outside the clock
    results = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cores": len(os.sched_getaffinity(0)),
        "date": time.strftime("%Y-%m-%d"),
    }
    for name in args.only or list(parts):
        results[name] = parts[name]()
        print(json.dumps({name: results[name]}), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
