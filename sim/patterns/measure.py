"""How the patterns measure: runs on common seeds, and estimates with 95 % intervals.

Every interval here is a 95 % interval: a t interval over replications (:func:`mean_interval`,
:func:`paired_interval`), a Wilson interval for a share of customers (:func:`share_interval`), or,
for a ratio of two sums over the same customers, the linearised (delta-method) interval of a ratio
estimator (:func:`ratio_interval`). Customers of different replications are independent, so pooling
them is valid; customers of one replication share a market, and the patterns that pool them say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..compare import replication_seeds
from ..engine import Engine, replication_batches
from ..metrics import engine_metrics
from ..params import Scenario
from ..scenario import load

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Size:
    """How large the runs of a pattern are: initial customers, replications (seeds) and the base seed.
    ``base``, if given, stands in for the shipped scenario of its name wherever the pattern loads that
    scenario (a calibration measures a pattern on its candidate parameters this way)."""

    customers: int
    replications: int
    seed: int = 2026
    base: Scenario | None = field(default=None, compare=False, repr=False)

    def seeds(self) -> list[int]:
        return replication_seeds(self.seed, self.replications)


QUICK = Size(customers=4000, replications=4)
FULL = Size(customers=20000, replications=10)


@dataclass(frozen=True)
class Estimate:
    """A measured value with its 95 % interval and a few words on what it is."""

    value: float
    ci_low: float
    ci_high: float
    detail: str = ""


def scenario(name_or_spec, size: Size, **overrides) -> Scenario:
    """A shipped scenario (or path, dict) at ``size.customers`` customers, with dotted ``overrides``;
    ``size.base`` instead of the shipped scenario of its name."""
    if size.base is not None and name_or_spec == size.base.name:
        name_or_spec = size.base
    return load(name_or_spec, {"simulation.customers": size.customers, **overrides})


def engines(sc: Scenario, seeds: list[int]) -> list[Engine]:
    """``sc`` run to its horizon once per seed (batched into engines where that pays)."""
    out = []
    for batch in replication_batches(sc, seeds):
        e = Engine(sc, batch, threads=1)
        e.run()
        out.append(e)
    return out


def metric(sc: Scenario, seeds: list[int], name: str, firm: int = 0) -> np.ndarray:
    """One metric of ``firm`` per seed (in seed order)."""
    return np.concatenate([engine_metrics(e, firm)[name].to_numpy(float) for e in engines(sc, seeds)])


def mean_interval(x, detail: str = "") -> Estimate:
    """The mean of replication values and its t interval."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    m = float(x.mean()) if x.size else math.nan
    if x.size < 2:
        return Estimate(m, math.nan, math.nan, detail)
    half = float(stats.t.ppf(0.975, x.size - 1)) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return Estimate(m, m - half, m + half, detail)


def paired_interval(with_lever, without_lever, detail: str = "") -> Estimate:
    """The mean paired difference ``with - without`` over replications run on the same seeds, with its
    t interval (common random numbers: each pair is the same customers with the same luck)."""
    return mean_interval(np.asarray(with_lever, dtype=float) - np.asarray(without_lever, dtype=float), detail)


def share_interval(k: float, n: float, detail: str = "") -> Estimate:
    """A share ``k / n`` of customers with its Wilson interval."""
    if n <= 0:
        return Estimate(math.nan, math.nan, math.nan, detail)
    p = k / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Estimate(p, centre - half, centre + half, detail)


def ratio_interval(a, b, detail: str = "") -> Estimate:
    """The ratio ``sum(a) / sum(b)`` of two quantities measured on the same units (customers), with the
    linearised interval of a ratio estimator: var(R) = sum((a_i - R b_i)^2) / sum(b)^2."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    sb = b.sum()
    if sb <= 0:
        return Estimate(math.nan, math.nan, math.nan, detail)
    r = a.sum() / sb
    se = math.sqrt(float(((a - r * b) ** 2).sum())) / sb
    return Estimate(float(r), float(r - Z95 * se), float(r + Z95 * se), detail)


def risk_ratio_interval(k1: float, n1: float, k2: float, n2: float, detail: str = "") -> Estimate:
    """The ratio of two independent shares ``(k1/n1) / (k2/n2)`` with the usual log-scale interval."""
    if min(k1, k2, n1, n2) <= 0:
        return Estimate(math.nan, math.nan, math.nan, detail)
    r = (k1 / n1) / (k2 / n2)
    se = math.sqrt(1 / k1 - 1 / n1 + 1 / k2 - 1 / n2)
    return Estimate(r, r * math.exp(-Z95 * se), r * math.exp(Z95 * se), detail)


def ratio_of_means_interval(a, b, detail: str = "") -> Estimate:
    """The ratio ``mean(a) / mean(b)`` of two independent samples, with the delta-method interval
    ``se(R)^2 = R^2 (se_a^2 / mean_a^2 + se_b^2 / mean_b^2)``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ma, mb = a.mean(), b.mean()
    if a.size < 2 or b.size < 2 or mb == 0 or ma == 0:
        return Estimate(float(ma / mb) if mb else math.nan, math.nan, math.nan, detail)
    r = ma / mb
    se = abs(r) * math.sqrt(a.var(ddof=1) / a.size / ma**2 + b.var(ddof=1) / b.size / mb**2)
    return Estimate(float(r), float(r - Z95 * se), float(r + Z95 * se), detail)


def difference_of_shares(k1: float, n1: float, k2: float, n2: float, detail: str = "") -> Estimate:
    """``k1/n1 - k2/n2`` for two independent groups, with the Wald interval."""
    if n1 <= 0 or n2 <= 0:
        return Estimate(math.nan, math.nan, math.nan, detail)
    p1, p2 = k1 / n1, k2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = p1 - p2
    return Estimate(d, d - Z95 * se, d + Z95 * se, detail)


def stepped(sc: Scenario, seed: int, on_period) -> Engine:
    """Run one replication of ``sc`` period by period, calling ``on_period(engine, t, firm_before)``
    after each period ``t``: the customer columns then hold the period's outcome (its events, loyalty
    classes, recommendation scores), and ``firm_before`` is each row's firm during the period (a row
    that joined in it has its new firm there)."""
    e = Engine(sc, [seed], threads=1)
    for t in range(sc.simulation.periods):
        before = e.customers.firm.copy()
        e.step()
        during = e.customers.firm.copy()
        during[: before.size] = before
        on_period(e, t, during)
    return e
