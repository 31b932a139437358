"""Tables, summary and plots of a finished run; writing them safely is :mod:`sim.outputs`."""

from __future__ import annotations

import json
import math
import re
import sys
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .books import COUNTS, FIRM_STATS
from .codes import END_REASONS, LOYALTY_CLASSES, OUT
from .measures import contract as contract_lever
from .measures.base import P0
from .mechanisms.bonding import PHASES, phase_codes
from .metrics import FOCAL, METRICS, RETENTION_MONTHS, engine_metrics
from .model import RetentionModel
from .params import ANSWER_PLACEHOLDER
from .population import cohort_names
from .scenario import scenario_hash

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
CLV_DEFINITION = (
    "CLV of the period-0 customers' first relationships, discounted to the start of the relationship: "
    "margin minus attributed costs plus exit fees, from period 0 to the end of the relationship, or to the "
    "horizon if it is still running (censored: its value so far, a lower bound of its full CLV; counted in "
    "n_censored). Class and segment figures use the same definition, so they compare like with like."
)


# periods, period counts and tenures in the tables: 32-bit (the schema allows 2,400 periods; 64-bit
# columns took 20 more bytes a relationship and 16 a customer row, the largest part of a 1M-customer
# run's tables)
PERIOD = np.int32

class RunResult:
    """The outputs of one run, as pandas DataFrames and a summary dict.

    Attributes are computed on first access from the finished model: ``periods`` (one row per period
    and firm), ``customers`` (one row per customer), ``relationships`` (one row per customer-firm
    relationship; those running at the horizon are censored there), ``retention`` (initial-cohort
    survival per firm) and ``summary``.
    """

    def __init__(self, model: RetentionModel):
        self.model = model
        self.scenario = model.config
        self.seed = model.seed
        # the scenario's effect against its counterfactual, paired over replications
        # (:func:`sim.compare.effect`); set by ``retention-sim run`` or by the caller, None otherwise
        self.effect: dict | None = None

    @cached_property
    def periods(self) -> pd.DataFrame:
        """Tidy per-period table: one row per (period, firm), from the firms' books."""
        ledger = self.model.engine.books.ledger[: self.model.period, 0]  # period x firm x stat
        periods, firms = ledger.shape[:2]
        names = [f.name for f in self.scenario.firms]
        df = pd.DataFrame(ledger.reshape(periods * firms, -1), columns=list(FIRM_STATS))
        df.insert(0, "firm", np.tile(names, periods))
        df.insert(0, "month", np.repeat(np.arange(periods), firms) * self.scenario.simulation.period_months)
        df.insert(0, "period", np.repeat(np.arange(periods), firms))
        df[list(COUNTS)] = df[list(COUNTS)].round().astype(np.int64)
        df["churn_rate"] = df["churned"] / df["active"].where(df["active"] > 0)
        return df

    @cached_property
    def customers(self) -> pd.DataFrame:
        """Per-customer table: traits and final state, names instead of codes; values that do not apply
        (a departed customer's phase, price, loyalty class; no contract) are empty (null)."""
        engine, sc = self.model.engine, self.scenario
        c = engine.customers
        active = c.firm != OUT
        firms = [f.name for f in sc.firms]
        b = sc.bonding
        held = c.contract >= 0
        fees = engine.table[:, P0 + contract_lever.EXIT_FEE] if len(engine.table) else np.zeros(1)
        exit_fee = np.where(held, fees[np.maximum(c.contract, 0)], 0.0)
        tenure = np.where(active, self.model.period - c.rel_start, 0)
        # a finished run's state never changes again: its columns are shared read-only, not copied
        own = _read_only if self.model.period >= engine.horizon else np.copy
        df = pd.DataFrame({
            "customer": own(c.customer),
            "firm": pd.Categorical.from_codes(np.where(active, c.firm, -1), categories=firms),
            "segment": pd.Categorical.from_codes(own(c.segment), categories=[s.name for s in sc.segments]),
            "cohort": pd.Categorical.from_codes(own(c.cohort), categories=cohort_names(sc)),
            "joined": c.joined.astype(PERIOD),
            "relationship_start": _nullable(c.rel_start, ~active),
            "tenure": _nullable(tenure, ~active),
            "phase": pd.Categorical.from_codes(
                np.where(active, phase_codes(tenure, c.trust, b.post_purchase_periods, b.regular_tenure), -1),
                categories=list(PHASES),
            ),
            "loyalty": pd.Categorical.from_codes(np.where(active, c.loyalty, -1), categories=list(LOYALTY_CLASSES)),
            "satisfaction": own(c.satisfaction), "trust": own(c.trust), "commitment": own(c.commitment),
            "nostalgia": own(c.nostalgia),
            "bond": own(c.bond), "attachment": own(c.attachment),
            "contract_end": _nullable(c.contract_end, ~held),
            "exit_fee": exit_fee,
            "lockin": own(c.lockin),
            "economic_barrier": np.array([s.economic_barrier for s in sc.segments], dtype=np.float32)[c.segment],
            "no_alternative": own(c.no_alternative),
            "affinity": own(c.affinity), "fit": own(c.fit), "price_sensitivity": own(c.price_sensitivity),
            "reference_price": own(c.reference_price), "churn_p": own(c.churn_p),
            "price_paid": np.where(active, c.price_paid, np.float32(np.nan)),  # float32, as the state
            "clv_current_relationship": np.where(active, c.clv, np.nan),
        }, copy=False)  # each column its own array: no second copy into 2-D blocks
        return df

    @cached_property
    def relationships(self) -> pd.DataFrame:
        """One row per relationship: its firm and segment, the first and last period, why it ended,
        the loyalty class it held longest, and its CLV (``censored``: still running at the horizon, the
        CLV so far)."""
        r = self.model.relationships()
        sc = self.scenario
        return pd.DataFrame({
            "customer": r["customer"].astype(np.int64, copy=False),
            "firm": pd.Categorical.from_codes(r["firm"], categories=[f.name for f in sc.firms]),
            "segment": pd.Categorical.from_codes(r["segment"], categories=[s.name for s in sc.segments]),
            "start": r["start"].astype(PERIOD),
            "end": r["end"].astype(PERIOD),
            "periods": (r["end"] - r["start"] + 1).astype(PERIOD),
            "reason": pd.Categorical.from_codes(r["reason"], categories=list(END_REASONS)),
            "censored": r["censored"],
            "loyalty_class": pd.Categorical.from_codes(r["loyalty_class"], categories=list(LOYALTY_CLASSES)),
            "clv": r["clv"],
            "paid_exit_fee": r["paid_exit_fee"],
            "at_expiry": r["at_expiry"],
        }, copy=False)

    @cached_property
    def first_relationships(self) -> pd.DataFrame:
        """The period-0 customers' first relationships (the initial cohort)."""
        return self.relationships[self._first]

    @cached_property
    def _first(self) -> np.ndarray:
        """Which rows of :attr:`relationships` are the initial cohort's first relationships."""
        rel = self.relationships
        return ((rel["start"] == 0) & (rel["customer"] < self.model.n_initial)).to_numpy()

    @cached_property
    def retention(self) -> pd.DataFrame:
        """Initial-cohort survival per firm: share of each firm's period-0 customers still with it at
        the start of period t, for t = 0 .. horizon (a firm without initial customers has no rows)."""
        rel, first = self.relationships, self._first
        firm, end_all, censored = rel["firm"].cat.codes.to_numpy(), rel["end"].to_numpy(), rel["censored"].to_numpy()
        t = np.arange(self.model.period + 1)
        rows = []
        for code, name in enumerate(f.name for f in self.scenario.firms):
            cohort = first & (firm == code)
            if not cohort.any():
                continue
            end = end_all[cohort]
            ended = end[~censored[cohort]]
            # ended before t: the relationships whose last period end < t (counted, not a t x n matrix)
            gone = np.cumsum(np.bincount(ended + 1, minlength=t.size))[: t.size]
            rows.append(pd.DataFrame({"period": t, "firm": name, "retention": (end.size - gone) / end.size}))
        out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame({"period": [], "firm": [], "retention": []})
        out["firm"] = pd.Categorical(out["firm"], categories=[f.name for f in self.scenario.firms])
        out["month"] = out["period"] * self.scenario.simulation.period_months
        return out

    @cached_property
    def summary(self) -> dict:
        """Headline figures per firm: churn per year, retention at 12/60/120 months, CLV (one stated
        definition, censoring counted), profit, loyalty-class shares. Undefined figures are null."""
        sim = self.scenario.simulation
        per_year = 12.0 / sim.period_months
        p, ret, rel, first = self.periods, self.retention, self.relationships, self._first
        # CLV statistics from the columns under boolean masks (no per-firm copies of the table)
        firm, clv, censored = rel["firm"].cat.codes.to_numpy(), rel["clv"].to_numpy(), rel["censored"].to_numpy()
        loyalty, segment = rel["loyalty_class"].cat.codes.to_numpy(), rel["segment"].cat.codes.to_numpy()
        d = sim.discount_rate
        c = self.model.engine.customers
        end, horizon = rel["end"].to_numpy(), self.model.period
        out: dict = {"scenario": self.scenario.name, "question": self.scenario.question, "seed": self.seed,
                     "periods": self.model.period, "period_months": sim.period_months, "currency": sim.currency,
                     "firms": {}}
        projected = {index: engine_metrics(self.model.engine, firm=index).iloc[0]
                     for index in range(len(self.scenario.firms))}
        out["horizon_note"] = HORIZON_NOTE
        for index, f in enumerate(self.scenario.firms):
            fp = p[p["firm"] == f.name]
            year = (fp["period"] // per_year).astype(int)
            by_year = fp.groupby(year).agg(churned=("churned", "sum"), start=("active", "first"), periods=("period", "size"))
            full = by_year[by_year["periods"] >= per_year - 1e-9]
            fr = ret[ret["firm"] == f.name].set_index("month")["retention"]
            of_firm = firm == index
            cohort = first & of_firm
            last = fp.iloc[-1]
            out["firms"][f.name] = {
                "churn_per_year": {
                    f"year_{int(y) + 1}": (float(r.churned / r.start) if r.start else None) for y, r in full.iterrows()
                },
                "mean_churn_per_period": _num(fp["churn_rate"].mean()),
                "retention": {
                    f"{m}_months": (float(fr.loc[float(m)]) if float(m) in fr.index else None) for m in RETENTION_MONTHS
                },
                "retention_by_segment": {s.name: _retention_at(end[sel], censored[sel], horizon, per_year)
                                         for j, s in enumerate(self.scenario.segments) for sel in [cohort & (segment == j)]},
                "clv": {
                    "definition": CLV_DEFINITION,
                    "initial_cohort": _stats(clv, censored, cohort),
                    "by_loyalty_class": {k: _stats(clv, censored, sel)
                                         for j, k in enumerate(LOYALTY_CLASSES) for sel in [cohort & (loyalty == j)]},
                    "by_segment": {s.name: _stats(clv, censored, sel)
                                   for j, s in enumerate(self.scenario.segments) for sel in [cohort & (segment == j)]},
                    "all_relationships": _stats(clv, censored, of_firm),
                    "initial_cohort_projected": _num(projected[index]["clv_projected"]),
                },
                "totals": {k: int(fp[k].sum()) for k in FLOWS},
                "ended_by_cause": _causes(fp),
                "profit_total": float(fp["profit"].sum()),
                "profit_discounted": float((fp["profit"] / (1 + d) ** fp["period"]).sum()),
                "profit_projected": _num(projected[index]["profit_projected"]),
                "customers_at_end": int((c.firm == index).sum()),
                "loyalty_shares_last_period": {k: _num(last[f"share_{k}"]) for k in LOYALTY_CLASSES},
            }
        # the focal firm's figures under the names and definitions that compare, sweep and calibrate use
        row = projected[FOCAL]
        out["metrics"] = {"firm": self.scenario.firms[FOCAL].name, **{k: _num(row[k]) for k in METRICS}}
        return out

    @cached_property
    def answer(self) -> str | None:
        """The scenario's ``answer`` sentence with its placeholders filled from :attr:`summary` (None if
        the scenario states none)."""
        text = fill_answer(self.scenario.answer, self.summary) if self.scenario.answer else None
        if self.effect is not None:
            from .report import effect_sentence

            said = effect_sentence(self.effect, self.scenario.simulation.currency)
            text = f"{text} {said}" if text else said
        return text

    def manifest(self) -> dict:
        """What produced this run: versions (and the code's commit where there is a git checkout), seed,
        the scenario with every default, and its hash."""
        from .outputs import provenance

        return {
            "package": "retention-sim",
            "version": __version__,
            "seed": self.seed,
            "scale": self.scenario.simulation.scale,
            "scenario_hash": scenario_hash(self.scenario),
            "scenario": self.scenario.model_dump(mode="json"),
            **provenance(),
        }

    def write(self, out_dir: str | Path, plots: bool = True, force: bool = False) -> Path:
        """Write every output into ``out_dir`` atomically and safely (see :mod:`sim.outputs`): a
        missing or empty folder is filled, an earlier output is replaced only with ``force``, and
        a folder holding anything retention-sim did not write is refused."""
        from .outputs import write_run

        return write_run(self, out_dir, plots=plots, force=force)

    def write_files(self, folder: Path, plots: bool = True) -> None:
        """Write the tables, summary, manifest and (optionally) plots into an existing ``folder``."""
        folder = Path(folder)
        self.periods.to_parquet(folder / "periods.parquet", index=False)
        self.periods.to_csv(folder / "periods.csv", index=False)
        self.customers.to_parquet(folder / "customers.parquet", index=False)
        self.relationships.to_parquet(folder / "relationships.parquet", index=False)
        summary = dict(self.summary)
        if self.effect is not None:
            summary["effect"] = self.effect
        if self.answer is not None:
            summary["answer"] = self.answer
        (folder / "summary.json").write_text(json.dumps(_finite(summary), indent=2, allow_nan=False) + "\n")
        (folder / "manifest.json").write_text(json.dumps(self.manifest(), indent=2, sort_keys=True) + "\n")
        if plots:
            from .plots import save_all

            save_all(self, folder / "plots")



HORIZON_NOTE = (
    "CLV and profit stop at the horizon; clv.initial_cohort_projected and profit_projected add the projected "
    "value of the customers still held there (an sBG fitted to the firm's simulated retention, the final "
    "year's margin per customer-period, discounted; future acquisitions and fixed costs are not projected)."
)


def fill_answer(template: str, summary: dict) -> str:
    """``template`` with every ``{dotted.path:format}`` replaced by that value of ``summary``. A value
    the run does not define reads "n/a": undefined (null), not in this run's summary (a year or month
    beyond its horizon) or not a number. (Firm names and formats are checked when the scenario loads.)"""

    def value(match: re.Match) -> str:
        node = summary
        for part in match.group(1).strip().split("."):
            if not isinstance(node, dict) or part not in node:
                return "n/a"
            node = node[part]
        if node is None or isinstance(node, bool) or not isinstance(node, (int, float)):
            return "n/a"
        return format(node, match.group(2) or "")

    return ANSWER_PLACEHOLDER.sub(value, template)


# customer flows summed over the run in the summary (per firm): who came, came back, went and why
FLOWS = ("acquired", "referred", "won_back", "switched_in", "switched_out", "left_market", "life_event", "churned",
         "left_paying_fee", "renewals", "contracts_signed", "contracts_expiring", "churned_at_expiry", "complaints")


def _causes(fp: pd.DataFrame) -> dict:
    """Why a firm's relationships ended over the run: switched to a competitor, left the market by
    choice, life event (no firm influences it); of these, how many paid an exit fee and how many left as
    their contract expired; and ``choice_share``, the share that did not end by a life event (the
    metric of the same name)."""
    kinds = ("switched_out", "left_market", "life_event", "churned", "left_paying_fee", "churned_at_expiry")
    n = {k: int(fp[k].sum()) for k in kinds}
    return {"switched": n["switched_out"], "left_by_choice": n["left_market"], "life_event": n["life_event"],
            "paid_exit_fee": n["left_paying_fee"], "at_expiry": n["churned_at_expiry"],
            "choice_share": (n["churned"] - n["life_event"]) / n["churned"] if n["churned"] else None}


def _retention_at(end: np.ndarray, censored: np.ndarray, horizon: int, per_year: float) -> dict:
    """Share of a group of initial relationships still running at the start of the period of 12, 60
    and 120 months (as :attr:`RunResult.retention`: ended in that period or later, or censored); None
    beyond the horizon, for a month that is not a whole period, or for an empty group."""
    out = {}
    for months in RETENTION_MONTHS:
        t = months * per_year / 12.0
        ok = end.size > 0 and t <= horizon and abs(t - round(t)) < 1e-9
        out[f"{months}_months"] = float(np.mean(censored | (end >= round(t)))) if ok else None
    return out


def _num(x) -> float | None:
    """A float, or None where it is undefined (NaN)."""
    x = float(x)
    return None if math.isnan(x) else x


def _finite(o):
    """``o`` with every NaN or infinity replaced by None (JSON has no NaN)."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, (float, np.floating)):
        return None if not math.isfinite(float(o)) else float(o)
    if isinstance(o, np.integer):
        return int(o)
    return o


def _read_only(values: np.ndarray) -> np.ndarray:
    """A read-only view of ``values`` (a finished run's state, shared by its tables)."""
    view = values.view()
    view.flags.writeable = False
    return view


def _nullable(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    """A nullable Int32 column of periods: ``values`` where ``missing`` is False, null where it is True."""
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(PERIOD), missing.copy())


STATS_BLOCK = 1 << 16  # values per block of the squared deviations (:func:`_stats`)


def _stats(values: np.ndarray, censored: np.ndarray, sel: np.ndarray) -> dict:
    """CLV statistics of the relationships ``sel`` selects (their CLVs in ``values``, which are
    ``censored``): n, how many are censored, mean and its standard error, quantiles, and the mean of
    the complete (ended) ones.

    One copy of the selected CLVs is made, the one the quantiles partition in place; the means are
    sums under masks and the squared deviations are summed by blocks of :data:`STATS_BLOCK`, so that a
    summary of millions of relationships does not hold three more copies at once (its peak memory)."""
    x = values[sel]
    n = len(x)
    if n == 0:
        quantiles = {f"q{int(k * 100):02d}": None for k in QUANTILES}
        return {"n": 0, "n_censored": 0, "mean": None, "sem": None, **quantiles, "mean_complete": None}
    complete = ~censored[sel]
    n_complete = int(np.count_nonzero(complete))
    mean = float(x.mean())
    mean_complete = float(x.mean(where=complete)) if n_complete else None
    squares = math.fsum(float(np.square(x[a:a + STATS_BLOCK] - mean).sum()) for a in range(0, n, STATS_BLOCK))
    q = np.quantile(x, QUANTILES, overwrite_input=True)  # last: it reorders x
    return {"n": n, "n_censored": n - n_complete, "mean": mean,
            "sem": math.sqrt(squares / (n - 1)) / math.sqrt(n) if n > 1 else None,
            **{f"q{int(k * 100):02d}": float(v) for k, v in zip(QUANTILES, q)},
            "mean_complete": mean_complete}


def run(scenario=None, seed: int | None = None, overrides: dict | None = None, trace=(), progress: bool = False,
        threads: int | None = None) -> RunResult:
    """Load a scenario (path, shipped name, dict or Scenario), apply dotted ``overrides``, run it.

    ``seed=None`` uses the scenario's ``simulation.seed``, so that a run is reproducible by default
    (unlike ``RetentionModel(rng=None)``, which draws a fresh seed, as Mesa's batch runs expect).

    >>> res = run("telecom", seed=3, overrides={"simulation.customers": 300, "simulation.periods": 12})
    >>> sorted(res.periods["firm"].unique())
    ['focal', 'rival']
    """
    from .scenario import load

    config = load(scenario, overrides)
    model = RetentionModel(config, rng=config.simulation.seed if seed is None else seed, trace=trace, threads=threads)
    model.run(progress=progress and sys.stderr.isatty())
    return RunResult(model)
