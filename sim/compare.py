"""Paired comparison of strategies: every scenario runs R replications, and replication r of every
scenario uses the same seed, so differences are measured customer by customer (exact common random
numbers) and the confidence intervals are paired.

>>> cmp = compare(["telecom", "telecom"], replications=3, overrides={"simulation.customers": 300, "simulation.periods": 12})
>>> float(cmp.differences["difference"].abs().max())
0.0
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from . import __version__
from .books import STAT
from .codes import LOYALTY_CLASSES
from .engine import Engine, replication_batches
from .metrics import METRICS, engine_metrics
from .params import Scenario
from .scenario import load, scenario_hash

DEFAULT_REPLICATIONS = 20
DIFFERENCE_COLUMNS = ["scenario", "metric", "baseline_mean", "scenario_mean", "difference", "ci_low", "ci_high", "n",
                      "se_paired", "se_unpaired"]


def replication_seeds(seed: int, replications: int) -> list[int]:
    """The seed of each replication: a 63-bit number derived from (seed, r) by numpy's SeedSequence,
    so replications are independent and every scenario of a comparison gets the same ones."""
    return [int(np.random.SeedSequence([int(seed), r]).generate_state(1, np.uint64)[0] >> np.uint64(1))
            for r in range(replications)]


@dataclass
class Curves:
    """Per-period paths of one scenario's focal firm, one row per replication."""

    retention: np.ndarray      # replication x (periods + 1): initial-cohort survival
    churn: np.ndarray          # replication x periods: churned / active
    profit: np.ndarray         # replication x periods
    shares: np.ndarray         # replication x periods x 4 loyalty classes
    period_months: float


def engine_curves(engine: Engine) -> Curves:
    """The focal firm's paths in every replication of a finished engine."""
    T, R = engine.period, engine.replications
    led = engine.books.ledger[:T, :, 0, :]
    rel = engine.relationship_arrays()
    first = (rel["start"] == 0) & (rel["customer"] < engine.n_initial) & (rel["firm"] == 0)
    reps, ends, cens = rel["replication"][first].astype(np.int64), rel["end"][first].astype(np.int64), rel["censored"][first]
    cohort = np.maximum(np.bincount(reps, minlength=R), 1)
    retention = np.empty((R, T + 1))
    for t in range(T + 1):
        retention[:, t] = np.bincount(reps, weights=(ends >= t) | cens, minlength=R) / cohort
    with np.errstate(invalid="ignore", divide="ignore"):
        churn = (led[:, :, STAT["churned"]] / led[:, :, STAT["active"]]).T
    shares = np.stack([led[:, :, STAT[f"share_{k}"]] for k in LOYALTY_CLASSES], axis=-1).transpose(1, 0, 2)
    return Curves(retention, churn, led[:, :, STAT["profit"]].T.copy(), shares, engine.scenario.simulation.period_months)


def run_replications(scenario: Scenario, seeds: list[int], threads: int | None = None) -> tuple[pd.DataFrame, Curves]:
    """Run ``scenario`` once per seed, batching replications into one population where it pays;
    return the metrics (one row per replication) and the focal firm's curves."""
    frames, curves = [], []
    lo = 0
    for batch in replication_batches(scenario, seeds):
        engine = Engine(scenario, batch, threads=threads)
        engine.run()
        m = engine_metrics(engine)
        m["replication"] += lo
        lo += len(batch)
        frames.append(m)
        curves.append(engine_curves(engine))
    joined = Curves(*(np.concatenate([getattr(c, k) for c in curves]) for k in ("retention", "churn", "profit", "shares")),
                    period_months=curves[0].period_months)
    return pd.concat(frames, ignore_index=True), joined


def paired(base: np.ndarray, other: np.ndarray) -> dict:
    """Mean difference ``other - base`` over the replications where both are defined, its paired 95 %
    t-interval, and the standard errors with and without pairing."""
    ok = np.isfinite(base) & np.isfinite(other)
    a, b = base[ok], other[ok]
    n = int(ok.sum())
    out = {"baseline_mean": float(a.mean()) if n else math.nan, "scenario_mean": float(b.mean()) if n else math.nan, "n": n}
    if n == 0:
        return out | {"difference": math.nan, "ci_low": math.nan, "ci_high": math.nan, "se_paired": math.nan, "se_unpaired": math.nan}
    d = b - a
    diff = float(d.mean())
    if n < 2:
        return out | {"difference": diff, "ci_low": math.nan, "ci_high": math.nan, "se_paired": math.nan, "se_unpaired": math.nan}
    se = float(d.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.975, n - 1)) * se
    se_unpaired = float(math.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n))
    return out | {"difference": diff, "ci_low": diff - half, "ci_high": diff + half, "se_paired": se, "se_unpaired": se_unpaired}


@dataclass
class Comparison:
    """The result of :func:`compare`: tables as DataFrames, curves for the plots, and what produced them."""

    names: list[str]
    scenarios: list[Scenario]
    seed: int
    seeds: list[int]
    replications: pd.DataFrame     # scenario, replication, seed, metric, value (one row each)
    differences: pd.DataFrame      # DIFFERENCE_COLUMNS: one row per (scenario other than the baseline, metric)
    curves: dict[str, Curves] = field(repr=False)

    @property
    def baseline(self) -> str:
        return self.names[0]

    def wide(self) -> pd.DataFrame:
        """One row per (scenario, replication), one column per metric."""
        return self.replications.pivot_table(index=["scenario", "replication", "seed"], columns="metric", values="value",
                                             dropna=False, sort=False).reset_index()

    def manifest(self) -> dict:
        import numba

        return {
            "package": "retention-sim", "version": __version__, "command": "compare", "seed": self.seed,
            "replications": len(self.seeds), "replication_seeds": self.seeds, "baseline": self.baseline,
            "scenarios": [{"label": n, "scenario_hash": scenario_hash(s), "scenario": s.model_dump(mode="json")}
                          for n, s in zip(self.names, self.scenarios)],
            "numpy": np.__version__, "numba": numba.__version__, "pandas": pd.__version__,
        }

    def write_files(self, folder: Path, plots: bool = True) -> None:
        """Write the tables, report, plots and manifest into an existing ``folder``."""
        from .report import write_report

        folder = Path(folder)
        self.replications.to_parquet(folder / "replications.parquet", index=False)
        self.replications.to_csv(folder / "replications.csv", index=False)
        self.differences.to_csv(folder / "differences.csv", index=False)
        (folder / "manifest.json").write_text(json.dumps(self.manifest(), indent=2, sort_keys=True) + "\n")
        write_report(self, folder, plots=plots)

    def write(self, out: str | Path, force: bool = False, plots: bool = True) -> Path:
        """Write every output into ``out`` atomically, under the folder rules of :mod:`sim.outputs`."""
        from .outputs import prepare

        with prepare(out, force=force) as staging:
            self.write_files(staging.path, plots=plots)
            return staging.commit()


def _labels(scenarios: list[Scenario]) -> list[str]:
    names, seen = [], {}
    for sc in scenarios:
        name = sc.name
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def compare(scenarios, replications: int = DEFAULT_REPLICATIONS, seed: int | None = None, overrides: dict | None = None,
            metrics=METRICS, threads: int | None = None, progress: bool = False) -> Comparison:
    """Run the baseline (first) and every other scenario ``replications`` times on common seeds.

    ``scenarios`` are paths, shipped names, dicts or Scenario objects; ``overrides`` (dotted keys)
    apply to every one. ``seed`` (default: the baseline's ``simulation.seed``) derives the
    replications' seeds (:func:`replication_seeds`).
    """
    if len(scenarios) < 2:
        raise ValueError("compare needs a baseline and at least one other scenario")
    if replications < 2:
        raise ValueError(f"compare needs at least 2 replications for its intervals (got {replications})")
    loaded = [load(s, overrides) for s in scenarios]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r} (metrics: {', '.join(METRICS)})")
    base_seed = loaded[0].simulation.seed if seed is None else int(seed)
    seeds = replication_seeds(base_seed, replications)
    names = _labels(loaded)
    rows, curves = [], {}
    todo = list(zip(names, loaded))
    if progress:
        from tqdm import tqdm

        todo = tqdm(todo, desc="scenarios", unit="scenario")
    for name, sc in todo:
        m, curves[name] = run_replications(sc, seeds, threads=threads)
        long = m.melt(id_vars=["replication", "seed"], value_vars=list(metrics), var_name="metric", value_name="value")
        long.insert(0, "scenario", name)
        rows.append(long)
    table = pd.concat(rows, ignore_index=True)  # ordered by scenario (baseline first), metric, replication
    diffs = []
    for name in names[1:]:
        for metric in metrics:
            a = table[(table["scenario"] == names[0]) & (table["metric"] == metric)].sort_values("replication")["value"].to_numpy(float)
            b = table[(table["scenario"] == name) & (table["metric"] == metric)].sort_values("replication")["value"].to_numpy(float)
            diffs.append({"scenario": name, "metric": metric, **paired(a, b)})
    differences = pd.DataFrame(diffs)[DIFFERENCE_COLUMNS]
    return Comparison(names, loaded, base_seed, seeds, table, differences, curves)
