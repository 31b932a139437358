"""Tables, summary and plots of a finished run; writing them is :mod:`sim.outputs`."""

from __future__ import annotations

import platform
import sys
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .mechanisms.bonding import phase
from .model import END_REASONS, FIRM_STATS, RetentionModel
from .params import LOYALTY_CLASSES
from .population import COLUMNS, PHASES, cohort_names
from .scenario import scenario_hash

RETENTION_MONTHS = (12, 60, 120)
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


class RunResult:
    """The outputs of one run, as pandas DataFrames and a summary dict.

    Attributes are computed on first access from the finished model:
    ``periods`` (one row per period and firm), ``customers`` (one row per customer),
    ``relationships`` (one row per customer-firm relationship, running ones censored at the
    horizon), ``retention`` (initial-cohort survival per firm) and ``summary``.
    """

    def __init__(self, model: RetentionModel):
        self.model = model
        self.scenario = model.config
        self.seed = model.seed

    @cached_property
    def periods(self) -> pd.DataFrame:
        """Tidy per-period table: one row per (period, firm), from Mesa's DataCollector."""
        raw = self.model.datacollector.get_agent_vars_dataframe().reset_index()
        names = {f.unique_id: f.name for f in self.model.firms}
        df = raw.assign(firm=raw["AgentID"].map(names)).drop(columns=["Step", "AgentID"])
        df["period"] = df["period"].astype(int)
        counts = ["active", "cohort_active", "acquired", "switched_in", "switched_out", "left_market", "churned", "renewals"]
        df[counts] = df[counts].astype(np.int64)
        df["churn_rate"] = df["churned"] / df["active"].where(df["active"] > 0)
        df["month"] = df["period"] * self.scenario.simulation.period_months
        return df[["period", "month", "firm", *FIRM_STATS, "churn_rate"]].sort_values(["period", "firm"], ignore_index=True)

    @cached_property
    def customers(self) -> pd.DataFrame:
        """Per-customer table: final state and traits, names resolved."""
        c = self.model.customers
        data = {name: getattr(c, name) for name in COLUMNS if name != "class_periods"}
        df = pd.DataFrame(data)
        df.insert(0, "customer", np.arange(c.n))
        firms = [f.name for f in self.scenario.firms]
        df["firm"] = pd.Categorical.from_codes(np.where(c.firm >= 0, c.firm, -1), categories=firms)
        df["segment"] = pd.Categorical.from_codes(c.segment, categories=[s.name for s in self.scenario.segments])
        df["cohort"] = pd.Categorical.from_codes(c.cohort, categories=cohort_names(self.scenario))
        b = self.scenario.bonding
        df["phase"] = pd.Categorical.from_codes(phase(c.tenure, c.trust, b.post_purchase_periods, b.regular_tenure), categories=list(PHASES))
        df["loyalty"] = pd.Categorical.from_codes(c.loyalty, categories=list(LOYALTY_CLASSES))
        df.loc[df["firm"].isna(), ["phase", "loyalty"]] = None
        return df.rename(columns={"clv": "clv_current_relationship"})

    @cached_property
    def relationships(self) -> pd.DataFrame:
        """One row per relationship; ``clv`` is realised to its end (or to the horizon if censored)."""
        r = self.model.relationships()
        return pd.DataFrame({
            "customer": r["customer"],
            "firm": pd.Categorical.from_codes(r["firm"], categories=[f.name for f in self.scenario.firms]),
            "segment": pd.Categorical.from_codes(r["segment"], categories=[s.name for s in self.scenario.segments]),
            "start": r["start"].astype(int),
            "end": r["end"].astype(int),
            "periods": (r["end"].astype(int) - r["start"] + 1),
            "reason": pd.Categorical.from_codes(r["reason"], categories=list(END_REASONS)),
            "loyalty_class": pd.Categorical.from_codes(r["loyalty_class"], categories=list(LOYALTY_CLASSES)),
            "clv": r["clv"],
        })

    @cached_property
    def retention(self) -> pd.DataFrame:
        """Initial-cohort survival per firm: share of each firm's period-0 customers still with it at
        the start of period t, for t = 0 .. periods (from the relationships, so t = horizon is known)."""
        rel = self.relationships
        first = rel[(rel["start"] == 0) & (rel["customer"] < self.model.n_initial)]
        horizon = self.scenario.simulation.periods
        t = np.arange(horizon + 1)
        rows = []
        for firm, g in first.groupby("firm", observed=False):
            if len(g) == 0:
                continue
            end = g["end"].to_numpy()
            censored = (g["reason"] == "censored").to_numpy()
            alive = (end[None, :] >= t[:, None]) | censored[None, :]
            rows.append(pd.DataFrame({"period": t, "firm": firm, "retention": alive.mean(axis=1)}))
        out = pd.concat(rows, ignore_index=True)
        out["month"] = out["period"] * self.scenario.simulation.period_months
        return out

    @cached_property
    def summary(self) -> dict:
        """Headline figures: churn per year, retention at 12/60/120 months, CLV, profit, class shares."""
        sim = self.scenario.simulation
        per_year = 12.0 / sim.period_months
        p, rel, ret = self.periods, self.relationships, self.retention
        d = sim.discount_rate
        out: dict = {"scenario": self.scenario.name, "question": self.scenario.question, "seed": self.seed,
                     "periods": sim.periods, "period_months": sim.period_months, "firms": {}}
        for firm in self.scenario.firms:
            fp = p[p["firm"] == firm.name]
            year = (fp["period"] // per_year).astype(int)
            by_year = fp.groupby(year).agg(churned=("churned", "sum"), start=("active", "first"), periods=("period", "size"))
            full = by_year[by_year["periods"] >= per_year - 1e-9]
            fr = ret[ret["firm"] == firm.name].set_index("month")["retention"] if len(ret) else pd.Series(dtype=float)
            frel = rel[rel["firm"] == firm.name]
            last = fp.iloc[-1]
            out["firms"][firm.name] = {
                "churn_per_year": {f"year_{int(y) + 1}": round(float(r.churned / r.start), 6) if r.start else None for y, r in full.iterrows()},
                "mean_churn_per_period": float(fp["churn_rate"].mean()),
                "retention": {f"{m}_months": (float(fr.loc[float(m)]) if float(m) in fr.index else None) for m in RETENTION_MONTHS},
                "clv": {
                    "all": _stats(frel["clv"]),
                    "by_segment": {str(k): _stats(g["clv"]) for k, g in frel.groupby("segment", observed=False)},
                    "by_loyalty_class": {str(k): _stats(g["clv"]) for k, g in frel.groupby("loyalty_class", observed=False)},
                    "note": "realised CLV per relationship; relationships still running at the horizon are censored there",
                },
                "profit_total": float(fp["profit"].sum()),
                "profit_discounted": float((fp["profit"] / (1 + d) ** fp["period"]).sum()),
                "customers_at_end": int(last["active"] - last["churned"] + (last["acquired"] + last["switched_in"])),
                "loyalty_shares_last_period": {k: float(last[f"share_{k}"]) for k in LOYALTY_CLASSES},
            }
        return out

    def manifest(self) -> dict:
        """What produced this run: versions, seed, the scenario with every default, and its hash."""
        return {
            "package": "retention-sim",
            "version": __version__,
            "seed": self.seed,
            "scenario_hash": scenario_hash(self.scenario),
            "scenario": self.scenario.model_dump(mode="json"),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
        }

    def write(self, out_dir: str | Path, plots: bool = True, force: bool = False) -> Path:
        """Write every output into ``out_dir`` atomically and safely (see :mod:`sim.outputs`): a
        missing or empty folder is filled, an earlier output is replaced only with ``force``, and
        a folder holding anything retention-sim did not write is refused."""
        from .outputs import write_run

        return write_run(self, out_dir, plots=plots, force=force)


def _stats(x: pd.Series) -> dict:
    if len(x) == 0:
        return {"n": 0, "mean": None}
    q = np.quantile(x.to_numpy(), QUANTILES)
    sem = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else None
    return {"n": int(len(x)), "mean": float(x.mean()), "sem": sem, **{f"q{int(k * 100):02d}": float(v) for k, v in zip(QUANTILES, q)}}


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    raise TypeError(type(o))


def run(scenario=None, seed: int | None = None, overrides: dict | None = None, trace=(), progress: bool = False) -> RunResult:
    """Load a scenario (path, shipped name, dict or Scenario), apply dotted ``overrides``, run it.

    >>> res = run("telecom", seed=3, overrides={"simulation.customers": 300, "simulation.periods": 12})
    >>> sorted(res.periods["firm"].unique())
    ['focal', 'rival']
    """
    model = RetentionModel(scenario, rng=seed, trace=trace, **(overrides or {}))
    model.run(progress=progress and sys.stderr.isatty())
    return RunResult(model)
