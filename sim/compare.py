"""Paired comparison of strategies: every scenario runs R replications, and replication r of every
scenario uses the same seed, so differences are measured customer by customer (exact common random
numbers) and the confidence intervals are paired.

The differences table carries, per (scenario, metric): the paired 95 % t-interval; the paired
t-test's p-value; and, over the family of every paired metric of every alternative scenario, Holm's
adjusted p-value and interval (:func:`sim.stats.holm`), so that many claims at once keep a 95 %
joint guarantee. Subgroup metrics (:data:`SUBGROUP_METRICS`) are marked and left out of the family:
they condition on an outcome the strategy changes. The metrics that say why relationships ended
(``choice_share``, ``ended_*``) are paired but descriptive: they explain a difference rather than claim
one, and stay out of the family too. ``precision=(metric, half_width)`` adds
replications until that metric's paired interval is at most that wide for every alternative
(:func:`compare`).

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

from . import __version__
from .books import STAT
from .codes import DESCRIPTIVE_METRICS, LOYALTY_CLASSES
from .engine import Engine, replication_batches
from .metrics import METRICS, engine_metrics
from .params import Scenario
from .scenario import load, scenario_hash
from .stats import holm, paired_p_value, t_quantile

DEFAULT_REPLICATIONS = 20
MAX_REPLICATIONS = 10_000  # of one comparison
PRECISION_CAP = 200  # replications --precision adds up to, unless the caller gives another cap
DIFFERENCE_COLUMNS = [
    "scenario",
    "metric",
    "kind",
    "baseline_mean",
    "scenario_mean",
    "difference",
    "ci_low",
    "ci_high",
    "n",
    "se_paired",
    "se_unpaired",
    "p_value",
    "family",
    "holm_p",
    "holm_ci_low",
    "holm_ci_high",
]
# CLV by loyalty class: the class is an outcome the strategy changes, so the difference compares the
# mean CLV of different customers; it is reported apart, not as a paired effect, and not in the family.
SUBGROUP_METRICS = tuple(f"clv_{k}" for k in LOYALTY_CLASSES)
SUBGROUP = "subgroup (not paired: conditions on a loyalty class the strategy changes)"
# why relationships ended: paired, but a description of the difference, not a claim; outside the family
DESCRIPTIVE = "descriptive (paired: why relationships ended)"


def replication_seeds(seed: int, replications: int) -> list[int]:
    """The seed of each replication: a 63-bit number derived from (seed, r) by numpy's SeedSequence,
    so replications are independent and every scenario of a comparison gets the same ones."""
    return [
        int(np.random.SeedSequence([int(seed), r]).generate_state(1, np.uint64)[0] >> np.uint64(1)) for r in range(replications)
    ]


@dataclass
class Curves:
    """Per-period paths of one scenario's focal firm, one row per replication."""

    retention: np.ndarray  # replication x (periods + 1): initial-cohort survival
    churn: np.ndarray  # replication x periods: churned / active
    profit: np.ndarray  # replication x periods
    shares: np.ndarray  # replication x periods x 4 loyalty classes
    period_months: float


def engine_curves(engine: Engine, firm: int = 0) -> Curves:
    """One firm's paths (default the focal firm's) in every replication of a finished engine."""
    T, R = engine.period, engine.replications
    led = engine.books.ledger[:T, :, firm, :]
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


def run_replications(scenario: Scenario, seeds: list[int], threads: int | None = None,
                     firm: int = 0) -> tuple[pd.DataFrame, Curves]:
    """Run ``scenario`` once per seed, batching replications into one population where it pays;
    return the metrics (one row per replication) and the curves of ``firm`` (default the focal firm)."""
    frames, curves = [], []
    lo = 0
    for batch in replication_batches(scenario, seeds):
        engine = Engine(scenario, batch, threads=threads)
        engine.run()
        m = engine_metrics(engine, firm)
        m["replication"] += lo
        lo += len(batch)
        frames.append(m)
        curves.append(engine_curves(engine, firm))
    joined = Curves(
        *(np.concatenate([getattr(c, k) for c in curves]) for k in ("retention", "churn", "profit", "shares")),
        period_months=curves[0].period_months,
    )
    return pd.concat(frames, ignore_index=True), joined


def paired(base: np.ndarray, other: np.ndarray) -> dict:
    """Mean difference ``other - base`` over the replications where both are defined, its paired 95 %
    t-interval, and the standard errors with and without pairing."""
    ok = np.isfinite(base) & np.isfinite(other)
    a, b = base[ok], other[ok]
    n = int(ok.sum())
    out = {"baseline_mean": float(a.mean()) if n else math.nan, "scenario_mean": float(b.mean()) if n else math.nan, "n": n}
    if n == 0:
        return out | {
            "difference": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "se_paired": math.nan,
            "se_unpaired": math.nan,
            "p_value": math.nan,
        }
    d = b - a
    diff = float(d.mean())
    if n < 2:
        return out | {
            "difference": diff,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "se_paired": math.nan,
            "se_unpaired": math.nan,
            "p_value": math.nan,
        }
    se = float(d.std(ddof=1) / math.sqrt(n))
    half = t_quantile(n) * se
    se_unpaired = float(math.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n))
    return out | {
        "difference": diff,
        "ci_low": diff - half,
        "ci_high": diff + half,
        "se_paired": se,
        "se_unpaired": se_unpaired,
        "p_value": paired_p_value(d),
    }


def adjust(differences: pd.DataFrame) -> pd.DataFrame:
    """``differences`` with ``kind`` and, over the family of its paired rows with a p-value, Holm's
    adjusted p-value and interval and the family's size (``family``); subgroup rows get none."""
    d = differences.copy()
    d["kind"] = np.select([d["metric"].isin(SUBGROUP_METRICS), d["metric"].isin(DESCRIPTIVE_METRICS)],
                          [SUBGROUP, DESCRIPTIVE], "paired")
    family = (d["kind"] == "paired") & d["p_value"].notna()
    p, levels = holm(d.loc[family, "p_value"].to_numpy(float))
    d["family"], d["holm_p"], d["holm_ci_low"], d["holm_ci_high"] = math.nan, math.nan, math.nan, math.nan
    d.loc[family, "family"] = float(family.sum())
    d.loc[family, "holm_p"] = p
    n = d.loc[family, "n"].to_numpy(int)
    q = np.array([t_quantile(int(k), float(lv)) for k, lv in zip(n, levels)])
    half = q * d.loc[family, "se_paired"].to_numpy(float)
    d.loc[family, "holm_ci_low"] = d.loc[family, "difference"].to_numpy(float) - half
    d.loc[family, "holm_ci_high"] = d.loc[family, "difference"].to_numpy(float) + half
    return d[DIFFERENCE_COLUMNS]


@dataclass
class Comparison:
    """The result of :func:`compare`: tables as DataFrames, curves for the plots, and what produced them."""

    names: list[str]
    scenarios: list[Scenario]
    seed: int
    seeds: list[int]
    replications: pd.DataFrame  # scenario, replication, seed, metric, value (one row each)
    differences: pd.DataFrame  # DIFFERENCE_COLUMNS: one row per (scenario other than the baseline, metric)
    curves: dict[str, Curves] = field(repr=False)
    precision: dict | None = None  # what --precision asked and reached (metric, target, achieved, reached, cap)
    firm: str = ""  # whose metrics (the focal firm unless --firm named another)

    @property
    def baseline(self) -> str:
        return self.names[0]

    def wide(self) -> pd.DataFrame:
        """One row per (scenario, replication), one column per metric."""
        index = ["scenario", "replication", "seed"]
        rows = self.replications[index].drop_duplicates()
        metrics = list(dict.fromkeys(self.replications["metric"]))
        # pivot, not pivot_table(dropna=False), which would cross every scenario with every seed
        table = self.replications.pivot(index=index, columns="metric", values="value")
        table = table.reindex(pd.MultiIndex.from_frame(rows))[metrics]
        table.columns.name = None
        return table.reset_index()

    def manifest(self) -> dict:
        """What produced the comparison: versions and provenance (:func:`sim.outputs.provenance`), the
        seeds, and every scenario with every default filled in and its hash."""
        from .outputs import provenance

        return {
            "package": "retention-sim",
            "version": __version__,
            "command": "compare",
            "seed": self.seed,
            "replications": len(self.seeds),
            "replication_seeds": self.seeds,
            "baseline": self.baseline,
            "firm": self.firm,
            "scale": [s.simulation.scale for s in self.scenarios],
            "precision": self.precision,
            "scenarios": [
                {"label": n, "scenario_hash": scenario_hash(s), "scenario": s.model_dump(mode="json")}
                for n, s in zip(self.names, self.scenarios)
            ],
            **provenance(),
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


def compare(
    scenarios,
    replications: int = DEFAULT_REPLICATIONS,
    seed: int | None = None,
    overrides: dict | None = None,
    metrics=METRICS,
    threads: int | None = None,
    progress: bool = False,
    precision: tuple[str, float] | None = None,
    max_replications: int = PRECISION_CAP,
    firm: str | None = None,
) -> Comparison:
    """Run the baseline (first) and every other scenario ``replications`` times on common seeds.

    ``scenarios`` are paths, shipped names, dicts or Scenario objects; ``overrides`` (dotted keys)
    apply to every one. ``seed`` (default: the baseline's ``simulation.seed``) derives the
    replications' seeds (:func:`replication_seeds`).

    ``precision=(metric, half_width)``: after the first ``replications``, add replications (on the
    next seeds of the same sequence) until the paired 95 % interval of ``metric`` has a half-width of
    at most ``half_width`` (in the metric's own units) for every alternative, or ``max_replications``
    are reached; the comparison's :attr:`Comparison.precision` says which.

    ``firm``: whose metrics are compared (a firm's name, present in every scenario; default the
    focal firm, the first of each scenario).
    """
    if len(scenarios) < 2:
        raise ValueError("compare needs a baseline and at least one other scenario")
    if not 2 <= replications <= MAX_REPLICATIONS:
        raise ValueError(f"compare needs 2 to {MAX_REPLICATIONS:,} replications (got {replications})")
    loaded = [load(s, overrides) for s in scenarios]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r} (metrics: {', '.join(METRICS)})")
    if precision is not None:
        metric, target = precision
        if metric not in metrics:
            raise ValueError(f"--precision: unknown metric {metric!r} (metrics: {', '.join(metrics)})")
        if not (math.isfinite(target) and target > 0):
            raise ValueError(f"--precision: the half-width must be a positive number (got {target})")
        if max_replications < replications:
            raise ValueError(f"--precision: the cap of {max_replications} replications is below the {replications} to start with")
    firms = [sc.firm_index(firm) for sc in loaded]
    base_seed = loaded[0].simulation.seed if seed is None else int(seed)
    names = _labels(loaded)
    tables: list[pd.DataFrame] = []
    curves: dict[str, list[Curves]] = {n: [] for n in names}
    done = 0
    want = replications
    while True:
        seeds = replication_seeds(base_seed, want)
        _run_more(names, loaded, seeds[done:], done, metrics, threads, progress, tables, curves, firms)
        done = want
        table = pd.concat(tables, ignore_index=True)
        differences = _differences(table, names, metrics)
        if precision is None:
            break
        half = _widest(differences, precision[0])
        if not math.isfinite(half):
            raise ValueError(f"--precision: {precision[0]} is undefined in these scenarios (no interval to narrow)")
        if half <= precision[1] or done >= max_replications:
            break
        # the half-width falls as 1/sqrt(R); aim a little beyond, as the t quantile also falls
        want = min(max_replications, max(done + 1, math.ceil(done * (half / precision[1]) ** 2 * 1.05)))
    if len(tables) > len(names):  # more than one round: order as one round would (scenario, metric, replication)
        order = {**{n: i for i, n in enumerate(names)}, **{m: i for i, m in enumerate(metrics)}}
        table = table.sort_values(
            ["scenario", "metric", "replication"], key=lambda c: c.map(order) if c.name != "replication" else c, kind="stable"
        )
    joined = {n: _join(cs) for n, cs in curves.items()}
    info = None
    if precision is not None:
        half = _widest(differences, precision[0])
        info = {
            "metric": precision[0],
            "target": float(precision[1]),
            "achieved": half,
            "replications": done,
            "reached": bool(half <= precision[1]),
            "cap": max_replications,
        }
    return Comparison(
        names, loaded, base_seed, replication_seeds(base_seed, done), table.reset_index(drop=True), differences, joined, info,
        firm=loaded[0].firms[firms[0]].name,
    )


def effect(scenario: Scenario, replications: int, seed: int, threads: int | None = None) -> dict | None:
    """The scenario's effect as its question states it: the paired difference of its counterfactual's
    headline metric (:class:`sim.params.Counterfactual`) between the scenario and the counterfactual,
    a :func:`compare` of the two on ``replications`` common seeds, with its 95 % t-interval; None if
    the scenario names no counterfactual. Keys: lever, metric, firm, replications, seed and those of
    :func:`paired` (``baseline_mean`` is the counterfactual's, ``scenario_mean`` the scenario's)."""
    from .scenario import counterfactual

    cf = scenario.counterfactual
    if cf is None:
        return None
    cmp = compare([counterfactual(scenario), scenario], replications=replications, seed=seed, metrics=[cf.metric],
                  threads=threads, firm=cf.firm)
    row = cmp.differences.iloc[0]
    keys = ("baseline_mean", "scenario_mean", "n", "difference", "ci_low", "ci_high", "se_paired", "se_unpaired", "p_value")
    return {"lever": cf.lever, "metric": cf.metric, "firm": cmp.firm, "replications": replications, "seed": int(seed),
            **{k: int(row[k]) if k == "n" else float(row[k]) for k in keys}}


def _run_more(names, loaded, seeds, first, metrics, threads, progress, tables, curves, firms) -> None:
    """Run every scenario on ``seeds`` (replications ``first``, ``first + 1``, ...), appending to
    ``tables`` (long form) and ``curves``."""
    todo = list(zip(names, loaded, firms))
    if progress:
        from tqdm import tqdm

        todo = tqdm(todo, desc=f"scenarios, replications {first + 1}-{first + len(seeds)}", unit="scenario")
    for name, sc, firm in todo:
        m, c = run_replications(sc, seeds, threads=threads, firm=firm)
        m["replication"] += first
        curves[name].append(c)
        long = m.melt(id_vars=["replication", "seed"], value_vars=list(metrics), var_name="metric", value_name="value")
        long.insert(0, "scenario", name)
        tables.append(long)


def _join(parts: list[Curves]) -> Curves:
    if len(parts) == 1:
        return parts[0]
    return Curves(
        *(np.concatenate([getattr(c, k) for c in parts]) for k in ("retention", "churn", "profit", "shares")),
        period_months=parts[0].period_months,
    )


def _differences(table: pd.DataFrame, names: list[str], metrics) -> pd.DataFrame:
    diffs = []
    for name in names[1:]:
        for metric in metrics:
            a = (
                table[(table["scenario"] == names[0]) & (table["metric"] == metric)]
                .sort_values("replication")["value"]
                .to_numpy(float)
            )
            b = (
                table[(table["scenario"] == name) & (table["metric"] == metric)]
                .sort_values("replication")["value"]
                .to_numpy(float)
            )
            diffs.append({"scenario": name, "metric": metric, **paired(a, b)})
    return adjust(pd.DataFrame(diffs))


def _widest(differences: pd.DataFrame, metric: str) -> float:
    """The largest half-width of ``metric``'s paired intervals over the alternatives (NaN if any is undefined)."""
    rows = differences[differences["metric"] == metric]
    half = ((rows["ci_high"] - rows["ci_low"]) / 2).to_numpy(float)
    return float(half.max()) if half.size and np.isfinite(half).all() else math.nan
