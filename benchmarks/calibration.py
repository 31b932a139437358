"""Calibration coverage benchmark: do ``retention-sim calibrate``'s 95 % intervals cover the truth?

Twenty synthetic cohorts from the shifted-beta-geometric model (churn probability per customer drawn
from Beta(alpha = 0.8, beta = 1.6), 1,000 customers, survivors at periods 0..8, each from its own seed),
the case of ``../shared/acceptance/12-answers`` (a) on other seeds. Each is calibrated as a user would
(the single-curve form, default priors: log-uniform over a factor 20 either side of the scenario's 1.0,
one core, seed per dataset), and compared with the exact Bayesian posterior of the same model and prior
(the shifted-beta-geometric likelihood on a 400 x 400 grid of log alpha, log beta).

Reported per parameter: how many of the 20 ABC intervals cover the truth (the issue asks for at least
17), how many exact intervals do (the same data's own luck), and the median ratio of the ABC interval's
width to the exact one's (in log units: 1 would be the exact posterior; the ABC tolerance widens it by
design); per calibration the median CPU seconds, wall seconds and simulations.

The last printed line is one JSON object.

    python benchmarks/calibration.py [--datasets 20] [--first 0] [--jobs 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import betaln

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

ALPHA, BETA = "segments.0.background_churn.alpha", "segments.0.background_churn.beta"
TRUTH = {ALPHA: 0.8, BETA: 1.6}
N, PERIODS = 1000, 8
SCENARIO = {
    "name": "cohort",
    "simulation": {"customers": 20_000, "periods": 12},
    "mechanisms": {k: False for k in ("experience", "bonding", "attachment", "choice", "arrivals", "measures")},
    "firms": [{"name": "focal", "price": 1.0, "unit_cost": 0.0, "initial_share": 1.0, "acquisition_spend": 0.0}],
    "segments": [{"name": "all", "background_churn": {"distribution": "beta", "alpha": 1.0, "beta": 1.0}}],
}


def dataset(k: int) -> np.ndarray:
    rng = np.random.default_rng(8000 + k)
    life = rng.geometric(rng.beta(TRUTH[ALPHA], TRUTH[BETA], N))  # leaves at the end of period L
    return np.array([(life > t).sum() for t in range(PERIODS + 1)])


def exact_intervals(counts: np.ndarray, low: float = 0.05, high: float = 20.0, grid: int = 400) -> dict:
    """95 % intervals of the exact posterior under log-uniform priors on [low, high] for both."""
    z = np.linspace(np.log(low), np.log(high), grid)
    a, b = np.meshgrid(np.exp(z), np.exp(z), indexing="ij")
    S = np.array([np.exp(betaln(a, b + t) - betaln(a, b)) for t in range(len(counts))])
    d = counts[:-1] - counts[1:]
    ll = (d[:, None, None] * np.log(np.maximum(S[:-1] - S[1:], 1e-300))).sum(axis=0) + counts[-1] * np.log(S[-1])
    w = np.exp(ll - ll.max())
    out = {}
    for key, axis in ((ALPHA, 1), (BETA, 0)):
        m = w.sum(axis=axis)
        c = (np.cumsum(m) - 0.5 * m) / m.sum()
        out[key] = tuple(float(np.exp(v)) for v in np.interp([0.025, 0.975], c, z))
    return out


def one(k: int) -> dict:
    from sim.calibrate import calibrate

    counts = dataset(k)
    observed = pd.DataFrame({"period": np.arange(PERIODS + 1), "active": counts, "segment": ""})
    wall, cpu = time.perf_counter(), time.process_time()
    cal = calibrate(SCENARIO, observed, [ALPHA, BETA], seed=500 + k)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    exact = exact_intervals(counts)
    row = {
        "dataset": k,
        "seconds_cpu": cpu,
        "seconds_wall": wall,
        "simulations": cal.abc["simulations"],
        "final_epsilon": cal.abc["final_epsilon"],
        "status": cal.status,
    }
    for key, name in ((ALPHA, "alpha"), (BETA, "beta")):
        lo, hi = cal.intervals[key]
        elo, ehi = exact[key]
        row.update(
            {
                f"{name}_low": lo,
                f"{name}_high": hi,
                f"{name}_covered": bool(lo <= TRUTH[key] <= hi),
                f"{name}_exact_low": elo,
                f"{name}_exact_high": ehi,
                f"{name}_exact_covered": bool(elo <= TRUTH[key] <= ehi),
                f"{name}_width_ratio": float(np.log(hi / lo) / np.log(ehi / elo)),
            }
        )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", type=int, default=20)
    ap.add_argument("--first", type=int, default=0, help="the first dataset (to split the benchmark between machines)")
    ap.add_argument("--jobs", type=int, default=1, help="calibrations at once (each single-core)")
    args = ap.parse_args()
    rows = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for row in pool.map(one, range(args.first, args.first + args.datasets)):
            rows.append(row)
            print(
                f"dataset {row['dataset']:2d}: alpha {row['alpha_low']:.3f}-{row['alpha_high']:.3f} "
                f"(exact {row['alpha_exact_low']:.3f}-{row['alpha_exact_high']:.3f}), "
                f"beta {row['beta_low']:.3f}-{row['beta_high']:.3f} "
                f"(exact {row['beta_exact_low']:.3f}-{row['beta_exact_high']:.3f}); {row['simulations']} simulations, "
                f"{row['seconds_cpu']:.0f} s CPU, {row['seconds_wall']:.0f} s wall",
                flush=True,
            )
    df = pd.DataFrame(rows)
    out = {"datasets": len(df)}
    for name in ("alpha", "beta"):
        out[f"{name}_covered"] = int(df[f"{name}_covered"].sum())
        out[f"{name}_exact_covered"] = int(df[f"{name}_exact_covered"].sum())
        out[f"{name}_median_width_ratio"] = round(float(df[f"{name}_width_ratio"].median()), 3)
    out.update(
        median_seconds_cpu=round(float(df["seconds_cpu"].median()), 1),
        median_seconds_wall=round(float(df["seconds_wall"].median()), 1),
        median_simulations=int(df["simulations"].median()),
        identified=int((df["status"] == "identified").sum()),
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
