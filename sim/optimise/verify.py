"""Confirmation on fresh seeds: the winner's curse undone.

The best trials on the search seeds are biased upward: among many noisy estimates, the largest is
likely too large. The top ``verify.top`` trials (feasible ones first, distinct parameters; for two
objectives, points spread along the search's Pareto front) are run again with ``verify.replications``
replications on fresh seeds (replications ``search.replications`` onwards of the study's seed: never
the search's), together with the base scenario on the same seeds, and compared paired:

* each strategy's mean of every metric with its 95 % t-interval, and its paired difference from the
  base with its 95 % interval (:func:`sim.compare.paired`): ``verification.csv``;
* the recommendation: among the candidates whose confirmed means meet every constraint, the best
  confirmed mean (one objective), or the knee of their confirmed Pareto front (two objectives: the
  point farthest from the line through the front's ends, each objective scaled to [0, 1]);
* the candidates that cannot be told apart from it: those whose paired difference from it has a 95 %
  interval that includes 0 (one objective), or that no other candidate dominates (two).

The intervals are per comparison (95 % each, not adjusted for several comparisons); the report says so.
Results of these runs are stored in the study (user attributes), so a resumed command does not repeat them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .spec import OptimiseSpec

COLUMNS = ["strategy", "metric", "mean", "ci_low", "ci_high", "n", "difference_vs_base", "diff_ci_low", "diff_ci_high"]
BASE = "base"


def strategy_name(trial: int) -> str:
    """How outputs name the strategy of trial ``trial``."""
    return f"trial_{trial}"


def mean_interval(x: np.ndarray) -> tuple[float, float, float, int]:
    """Mean, 95 % t-interval and n over the finite values (NaN where undefined)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(x.mean())
    if n < 2:
        return m, math.nan, math.nan, n
    half = float(stats.t.ppf(0.975, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return m, m - half, m + half, n


@dataclass
class Candidate:
    """A strategy re-run on fresh seeds: its trial index (None for the base), parameters, scenario,
    derived settings and per-replication metrics."""

    name: str
    trial: int | None
    params: dict
    scenario: dict
    derived: dict
    replications: list[dict] = field(default_factory=list)

    def values(self, metric: str) -> np.ndarray:
        return np.array([r.get(metric, math.nan) for r in self.replications], dtype=float)


def pick(spec: OptimiseSpec, table) -> list[int]:
    """The trial indices to confirm (see the module docstring), from ``trials`` (complete trials)."""
    done = table[table["state"] == "COMPLETE"].copy()
    if done.empty:
        return []
    keys = [p.key for p in spec.parameters] + (spec.budget.keys if spec.budget is not None else [])
    done = done.drop_duplicates(subset=keys) if keys else done
    feasible = done[done["feasible"]] if done["feasible"].any() else done.assign(_v=done["violation"]).sort_values("_v")
    k = spec.verify.top
    metrics, directions = spec.objective.metrics, spec.objective.directions
    if len(metrics) == 1:
        ascending = directions[0] == "minimize"
        if not done["feasible"].any():
            return feasible.head(k)["trial"].astype(int).tolist()
        return feasible.sort_values([metrics[0], "trial"], ascending=[ascending, True]).head(k)["trial"].astype(int).tolist()
    front = feasible.iloc[pareto_front(feasible[metrics].to_numpy(float), directions)]
    front = front.sort_values([metrics[0], "trial"])
    if len(front) <= k:
        return front["trial"].astype(int).tolist()
    at = np.unique(np.round(np.linspace(0, len(front) - 1, k)).astype(int))
    return front.iloc[at]["trial"].astype(int).tolist()


def pareto_front(values: np.ndarray, directions: list[str]) -> list[int]:
    """Row positions of the non-dominated rows of ``values`` (objectives in columns)."""
    sign = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    v = values * sign
    out = []
    for i in range(len(v)):
        if not np.isfinite(v[i]).all():
            continue
        dominated = np.any(np.all(v >= v[i], axis=1) & np.any(v > v[i], axis=1))
        if not dominated:
            out.append(i)
    return out


def task_key(scenario: dict, seeds: list[int]) -> str:
    """The study attribute under which a run of ``scenario`` on ``seeds`` is stored."""
    text = json.dumps({"scenario": scenario, "seeds": seeds}, sort_keys=True)
    return "runs:" + hashlib.sha256(text.encode()).hexdigest()[:24]


def run_all(study, pool, jobs: list[tuple[dict, list[int]]], progress=None) -> list[list[dict]]:
    """Per-replication metrics of every ``(scenario, seeds)`` job, from the study where stored, else
    run on the workers (each job in chunks of seeds, so that every worker has work) and stored."""
    from ..metrics import METRICS

    out: list[list[dict] | None] = [None] * len(jobs)
    attrs = study.user_attrs
    chunks: dict[int, list] = {}
    pieces = max(1, pool.workers)
    for j, (scenario, seeds) in enumerate(jobs):
        key = task_key(scenario, seeds)
        if key in attrs:
            out[j] = [{m: (math.nan if v is None else v) for m, v in r.items()} for r in attrs[key]]
            if progress is not None:
                progress(len(seeds))
            continue
        size = max(1, math.ceil(len(seeds) / pieces)) if len(jobs) < pieces else len(seeds)
        parts = [seeds[i : i + size] for i in range(0, len(seeds), size)]
        chunks[j] = [None] * len(parts)
        for c, part in enumerate(parts):
            pool.submit((j, c), {"base": scenario, "values": {}, "seeds": part, "metrics": list(METRICS)})
    while pool.pending:
        (j, c), result, error = pool.next()
        if error:
            raise RuntimeError(f"a confirmation run failed: {error}")
        chunks[j][c] = result["metrics"]
        if progress is not None:
            progress(len(result["metrics"]))
        if all(part is not None for part in chunks[j]):
            out[j] = [r for part in chunks[j] for r in part]
            clean = [{m: (None if isinstance(v, float) and not math.isfinite(v) else v) for m, v in r.items()} for r in out[j]]
            study.set_user_attr(task_key(*jobs[j]), clean)
    return out  # type: ignore[return-value]


def table(candidates: list[Candidate], metrics: list[str]) -> Any:
    """``verification.csv``: one row per strategy and metric (the base first), see :data:`COLUMNS`."""
    import pandas as pd

    from ..compare import paired

    base = candidates[0]
    rows = []
    for c in candidates:
        for metric in metrics:
            mean, lo, hi, n = mean_interval(c.values(metric))
            d = paired(base.values(metric), c.values(metric))
            rows.append(
                {
                    "strategy": c.name,
                    "metric": metric,
                    "mean": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n": n,
                    "difference_vs_base": d["difference"],
                    "diff_ci_low": d["ci_low"],
                    "diff_ci_high": d["ci_high"],
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


@dataclass
class Recommendation:
    """The confirmed choice: the recommended candidate (None if no candidate met the constraints),
    the candidates it cannot be told apart from, the pairwise differences from it, and why."""

    best: Candidate | None
    ties: list[Candidate]
    pairwise: list[dict]
    feasible: list[Candidate]
    note: str = ""


def recommend(spec: OptimiseSpec, candidates: list[Candidate]) -> Recommendation:
    """The recommendation from the confirmed candidates (the base excluded); see the module docstring."""
    from ..compare import paired

    others = [c for c in candidates if c.trial is not None]
    feasible = [c for c in others if all(con.violation(mean_interval(c.values(con.metric))[0]) <= 0 for con in spec.constraints)]
    if not feasible:
        return Recommendation(None, [], [], [], "no candidate met every constraint on the fresh seeds")
    metrics, directions = spec.objective.metrics, spec.objective.directions
    means = np.array([[mean_interval(c.values(m))[0] for m in metrics] for c in feasible])
    if len(metrics) == 1:
        sign = 1.0 if directions[0] == "maximize" else -1.0
        order = np.argsort(-sign * means[:, 0], kind="stable")
        best = feasible[int(order[0])]
        pairwise, ties = [], []
        for c in feasible:
            if c is best:
                continue
            d = paired(best.values(metrics[0]), c.values(metrics[0]))
            pairwise.append({"strategy": c.name, "metric": metrics[0], **d})
            if not (d["ci_low"] > 0 or d["ci_high"] < 0) or not math.isfinite(d["ci_low"]):
                ties.append(c)
        return Recommendation(best, ties, pairwise, feasible)
    front = pareto_front(means, directions)
    pts = means[front]
    best = feasible[front[_knee(pts, directions)]]
    pairwise = []
    for c in feasible:
        if c is not best:
            for m in metrics:
                pairwise.append({"strategy": c.name, "metric": m, **paired(best.values(m), c.values(m))})
    ties = [feasible[i] for i in front if feasible[i] is not best]
    return Recommendation(best, ties, pairwise, feasible, "two objectives: the knee of the confirmed front")


def _knee(points: np.ndarray, directions: list[str]) -> int:
    """The point of a front farthest from the line through its two ends (objectives scaled to [0, 1],
    larger better); the first if the front has fewer than three points."""
    if len(points) < 3:
        sign = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
        return int(np.argmax((points * sign)[:, 0]))
    sign = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    v = points * sign
    span = np.ptp(v, axis=0)
    v = (v - v.min(axis=0)) / np.where(span > 0, span, 1.0)
    a, b = v[np.argmax(v[:, 0])], v[np.argmax(v[:, 1])]
    line = b - a
    norm = np.linalg.norm(line)
    if norm == 0:
        return 0
    dist = np.abs(line[0] * (v[:, 1] - a[1]) - line[1] * (v[:, 0] - a[0])) / norm
    return int(np.argmax(dist))


__all__ = [
    "BASE",
    "COLUMNS",
    "Candidate",
    "Recommendation",
    "mean_interval",
    "pareto_front",
    "pick",
    "recommend",
    "run_all",
    "strategy_name",
    "table",
]
