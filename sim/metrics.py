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
clv_mean            mean CLV of the focal firm's period-0 customers' first relationships, from period 0
                    to their end or to the horizon (censored ones at their value so far), discounted
clv_bonded_only,    the same, for the relationships whose loyalty class held longest was bonded only,
clv_attached_only,  attached only, both, neither (empty when there is none)
clv_both,
clv_neither
profit              the focal firm's profit summed over the horizon (not discounted)
profit_discounted   the same, discounted to period 0 at ``simulation.discount_rate``
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
from .codes import LOYALTY_CLASSES, METRICS, RETENTION_MONTHS

FOCAL = 0


def _over_periods(x: np.ndarray) -> np.ndarray:
    """Sum a (period x replication) table over periods, each replication on its own contiguous row, so
    that the result does not depend on how many replications ran together."""
    return np.ascontiguousarray(x.T).sum(axis=1)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def engine_metrics(engine, firm: int = FOCAL) -> pd.DataFrame:
    """Every metric for every replication of a finished engine, about ``firm`` (default the focal
    firm): one row per replication, one column per metric (NaN where a metric is undefined), plus
    ``replication`` and ``seed``."""
    sc = engine.scenario
    sim = sc.simulation
    T = engine.period
    R = engine.replications
    ledger = engine.books.ledger[:T, :, firm, :]  # period x replication x stat
    out = {"replication": np.arange(R), "seed": np.array(engine.seeds, dtype=np.int64)}

    rel = engine.relationship_arrays()
    first = (rel["start"] == 0) & (rel["customer"] < engine.n_initial) & (rel["firm"] == firm)
    reps = rel["replication"][first].astype(np.int64)
    ends = rel["end"][first].astype(np.int64)
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

    clv = rel["clv"][first]
    classes = rel["loyalty_class"][first].astype(np.int64)
    out["clv_mean"] = _ratio(np.bincount(reps, weights=clv, minlength=R), cohort)
    for k, name in enumerate(LOYALTY_CLASSES):
        mine = classes == k
        out[f"clv_{name}"] = _ratio(np.bincount(reps[mine], weights=clv[mine], minlength=R), np.bincount(reps[mine], minlength=R).astype(float))

    profit = ledger[:, :, STAT["profit"]]
    out["profit"] = _over_periods(profit)
    out["profit_discounted"] = _over_periods(profit / (1.0 + sim.discount_rate) ** np.arange(T)[:, None])
    shares = np.ascontiguousarray(ledger[:, :, STAT["share_attached_only"]].T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a replication whose firm never had customers: NaN
        out["attached_only_share"] = np.nanmean(shares, axis=1) if T else np.full(R, np.nan)
    expiring = _over_periods(ledger[:, :, STAT["contracts_expiring"]])
    at_expiry = _over_periods(ledger[:, :, STAT["churned_at_expiry"]])
    out["cliff_ratio"] = _ratio(_ratio(at_expiry, expiring), _ratio(churned - at_expiry, active - expiring))
    c = engine.customers
    out["customers_at_end"] = np.bincount(c.replication[c.firm == firm].astype(np.int64), minlength=R).astype(float)
    return pd.DataFrame(out)[["replication", "seed", *METRICS]]


def model_metric(model, name: str) -> float | None:
    """One metric of a finished ``RetentionModel`` (None while it is still running), for Mesa's
    model reporters, so that ``mesa.batch_run(..., data_collection_period=-1)`` returns the metrics."""
    if model.running:
        return None
    cache = model.__dict__.setdefault("_metrics", None)
    if cache is None:
        cache = model.__dict__["_metrics"] = engine_metrics(model.engine).iloc[0].to_dict()
    value = float(cache[name])
    return None if math.isnan(value) else value
