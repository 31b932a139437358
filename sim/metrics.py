"""The metrics that summarise a run for comparisons and sweeps: one number per replication each,
about the focal firm (the first of the scenario). ``compare``, ``sweep``, ``calibrate``, the Python
API and the model reporters of ``mesa.batch_run`` all use these definitions.

==================  ====================================================================================
metric              definition
==================  ====================================================================================
retention_12/60/120 share of the focal firm's period-0 customers still with it after 12 / 60 / 120 months
                    (empty when the horizon is shorter)
churn_per_year      customers the focal firm lost per customer-year: relationships ended over the run
                    divided by active customer-periods, times periods per year
choice_share        share of the focal firm's relationships ended over the run that did not end by a life
                    event: the customers switched or left the market by choice (empty if none ended)
ended_switched      why they ended, each a share of the focal firm's relationships ended over the run:
                    switched to a competitor,
ended_left_by_choice left the market by choice,
ended_life_event    a life event no firm influences (these three add up to 1),
ended_paid_exit_fee left early paying an exit fee,
ended_at_expiry     left in the period a contract expired (these two are kinds of the first two); empty
                    if none ended
clv_mean            mean CLV of the focal firm's period-0 customers' first relationships, from period 0
                    to their end or to the horizon (censored ones at their value so far), discounted
clv_bonded_only,    the same, for the relationships whose loyalty class held longest was bonded only,
clv_attached_only,  attached only, both, neither (empty when there is none)
clv_both,
clv_neither
profit              the focal firm's profit summed over the horizon (not discounted)
profit_discounted   the same, discounted to period 0 at ``simulation.discount_rate``
clv_projected       clv_mean plus the projected value, past the horizon, of the period-0 customers still
                    there (method in :mod:`sim.projection`: an sBG fitted to the firm's simulated
                    retention, the final year's margin per customer-period, discounted)
profit_projected    profit_discounted plus the projected value of every customer the firm holds at the
                    horizon (future acquisitions and fixed costs are not projected)
attached_only_share the focal firm's share of attached-only customers, averaged over the periods
cliff_ratio         churn among the focal firm's customers in the last period of a contract, over churn
                    among its other customers (empty without contracts)
customers_at_end    the focal firm's customers after the last period
==================  ====================================================================================
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from .books import STAT
from .codes import CAUSE_METRICS, LOYALTY_CLASSES, METRICS, RETENTION_MONTHS
from .projection import project

FOCAL = 0


def _over_periods(x: np.ndarray) -> np.ndarray:
    """Sum a (period x replication) table over periods, each replication on its own contiguous row, so
    that the result does not depend on how many replications ran together."""
    return np.ascontiguousarray(x.T).sum(axis=1)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def final_margin(ledger: np.ndarray, period_months: float) -> np.ndarray:
    """The firm's margin per active customer-period over the final year of a run (``ledger`` is period x
    replication x stat): (revenue + exit fees - serving costs - measure costs) / active customers, per
    replication (NaN without customers)."""
    last = ledger[-max(1, int(round(12.0 / period_months))):]
    money = last[:, :, STAT["revenue"]] + last[:, :, STAT["exit_fees"]] - last[:, :, STAT["serving_costs"]] \
        - last[:, :, STAT["measure_costs"]]
    return _ratio(_over_periods(money), _over_periods(last[:, :, STAT["active"]]))


def engine_metrics(engine, firm: int = FOCAL) -> pd.DataFrame:
    """Every metric for every replication of a finished engine, about ``firm`` (default the focal
    firm): one row per replication, one column per metric (NaN where a metric is undefined), plus
    ``replication`` and ``seed``."""
    return pd.DataFrame(metric_arrays(engine, firm))[["replication", "seed", *METRICS]]


def metric_arrays(engine, firm: int = FOCAL) -> dict[str, np.ndarray]:
    """The columns of :func:`engine_metrics` (one entry per replication each), without building the
    table."""
    sc = engine.scenario
    sim = sc.simulation
    T = engine.period
    R = engine.replications
    ledger = engine.books.ledger[:T, :, firm, :]  # period x replication x stat
    out = {"replication": np.arange(R), "seed": np.array(engine.seeds, dtype=np.int64)}

    rel = engine.relationship_arrays()
    # the projection first, while nothing else is held: its masks and tenures are the peak memory of a
    # run's metrics (the cohort's columns below are kept in the log's narrow types for the same reason)
    profit = ledger[:, :, STAT["profit"]]
    cohort_value, held_value = project(rel, firm, R, T, final_margin(ledger, sim.period_months), sim.discount_rate,
                                       sim.period_months, engine.n_initial)
    first = (rel["start"] == 0) & (rel["customer"] < engine.n_initial) & (rel["firm"] == firm)
    reps = rel["replication"][first]
    ends = rel["end"][first]
    censored = rel["censored"][first]
    cohort = np.bincount(reps, minlength=R).astype(float)
    for months in RETENTION_MONTHS:
        t = months / sim.period_months
        if t > T or abs(t - round(t)) > 1e-9:
            out[f"retention_{months}"] = np.full(R, np.nan)
            continue
        alive = (ends >= round(t)) | censored
        out[f"retention_{months}"] = _ratio(np.bincount(reps, weights=alive, minlength=R), cohort)

    active = _over_periods(ledger[:, :, STAT["active"]])
    churned = _over_periods(ledger[:, :, STAT["churned"]])
    out["churn_per_year"] = _ratio(churned, active) * (12.0 / sim.period_months)
    life = _over_periods(ledger[:, :, STAT["life_event"]])
    out["choice_share"] = _ratio(churned - life, churned)
    for name, stat in zip(CAUSE_METRICS, ("switched_out", "left_market", "life_event", "left_paying_fee", "churned_at_expiry")):
        out[name] = _ratio(_over_periods(ledger[:, :, STAT[stat]]), churned)

    clv = rel["clv"][first]
    classes = rel["loyalty_class"][first]
    out["clv_mean"] = _ratio(np.bincount(reps, weights=clv, minlength=R), cohort)
    for k, name in enumerate(LOYALTY_CLASSES):
        mine = classes == k
        members = np.bincount(reps[mine], minlength=R).astype(float)
        out[f"clv_{name}"] = _ratio(np.bincount(reps[mine], weights=clv[mine], minlength=R), members)

    out["profit"] = _over_periods(profit)
    out["profit_discounted"] = _over_periods(profit / (1.0 + sim.discount_rate) ** np.arange(T)[:, None])
    out["clv_projected"] = out["clv_mean"] + _ratio(cohort_value, cohort)
    out["profit_projected"] = out["profit_discounted"] + held_value
    shares = np.ascontiguousarray(ledger[:, :, STAT["share_attached_only"]].T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a replication whose firm never had customers: NaN
        out["attached_only_share"] = np.nanmean(shares, axis=1) if T else np.full(R, np.nan)
    expiring = _over_periods(ledger[:, :, STAT["contracts_expiring"]])
    at_expiry = _over_periods(ledger[:, :, STAT["churned_at_expiry"]])
    out["cliff_ratio"] = _ratio(_ratio(at_expiry, expiring), _ratio(churned - at_expiry, active - expiring))
    c = engine.customers
    out["customers_at_end"] = np.bincount(c.replication[c.firm == firm].astype(np.int64), minlength=R).astype(float)
    return out


def model_metric(model, name: str) -> float | None:
    """One metric of a finished ``RetentionModel`` (None while it is still running), for Mesa's
    model reporters, so that ``mesa.batch_run(..., data_collection_period=-1)`` returns the metrics."""
    if model.running:
        return None
    cache = model.__dict__.setdefault("_metrics", None)
    if cache is None:
        cache = model.__dict__["_metrics"] = metric_arrays(model.engine)
    value = float(cache[name][0])
    return None if math.isnan(value) else value
