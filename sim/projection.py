"""Value beyond the horizon: what the customers a firm still holds after the last period are worth.

A run stops at its horizon, and so do its CLV and profit: a strategy that ends with more customers is
not credited for them. The projection values each customer held at the horizon from the firm's own
simulated retention, with one stated method:

1. **Retention curve.** A shifted-beta-geometric (sBG) model is fitted by maximum likelihood to the
   firm's relationships of the run (each lasted ``L`` periods if it ended, more than its periods so far
   if it was running at the horizon). Each customer's per-period churn probability ``theta`` is
   Beta(``a``, ``b``) across customers, so that

   .. math::  S(t) = P(L > t) = B(a, b + t) / B(a, b),

   and the retention of survivors rises with tenure (selection). Mean ``mu = a/(a+b)`` and polarisation
   ``phi = 1/(a+b+1)`` are fitted; ``phi -> 0`` is the geometric model with churn ``mu`` (no
   heterogeneity). The sBG replaces the geometric model only where its likelihood is significantly
   higher (likelihood-ratio test at 5 %), so that a homogeneous market is not given a fat tail by
   noise; with every mechanism off the projection reproduces both closed forms.
2. **Margin.** Each period a held customer pays the firm's margin per active customer-period over the
   final year of the run: (revenue + exit fees - serving costs - measure costs) / active customers.
   Fixed costs, acquisition costs and customers the firm would still win are not projected.
3. **Value.** A customer running at the horizon with ``n`` periods paid pays in period ``T`` (the first
   after the horizon) and in period ``T + k`` if she is still there, discounted to period 0:

   .. math::  V(n) = m \\sum_{k=0}^{K-1} \\frac{S(n+k)}{S(n)} (1+d)^{-(T+k)},

   over a projection window of ``K`` periods (:data:`PROJECTION_YEARS` years; the discounting makes
   the tail small).

``clv_projected`` is the mean over the firm's period-0 customers of their first relationship's CLV to
the horizon plus ``V`` for those still there; ``profit_projected`` is the discounted profit plus ``V``
summed over every customer the firm holds at the horizon. For a fixed churn ``p`` (geometric) the
former equals the closed form ``m (1+d) / (1+d-(1-p))`` within Monte-Carlo error.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln

PROJECTION_YEARS = 50  # window of the projection, in years (invented; beyond it discounting leaves little)
_EPS = 1e-9
_Z_PHI_MIN = math.log(1e-6 / (1 - 1e-6))


def _ab(z: np.ndarray) -> tuple[float, float]:
    """(a, b) of the sBG from its unconstrained parameters (logit of mean churn, logit of polarisation)."""
    mu = 1.0 / (1.0 + math.exp(-z[0]))
    # polarisation kept >= 1e-6: beyond, a + b > 1e6 and the differences of log-beta functions lose
    # their precision (the geometric model covers that limit exactly)
    phi = 1.0 / (1.0 + math.exp(-min(max(z[1], _Z_PHI_MIN), -_Z_PHI_MIN)))
    total = 1.0 / phi - 1.0
    return mu * total, (1.0 - mu) * total


def sbg_log_likelihood(a: float, b: float, ended: np.ndarray, running: np.ndarray) -> float:
    """Log-likelihood of the sBG for ``ended[L]`` relationships that lasted L periods and ``running[n]``
    still running after n periods paid:
    :math:`\\sum_L e_L \\log P(L) + \\sum_n r_n \\log S(n)`, with
    :math:`P(L) = B(a+1, b+L-1)/B(a,b)` and :math:`S(n) = B(a, b+n)/B(a,b)`."""
    L = np.nonzero(ended)[0]
    n = np.nonzero(running)[0]
    return _sbg_log_likelihood(a, b, L, ended[L], n, running[n])


def _sbg_log_likelihood(a: float, b: float, L: np.ndarray, ended: np.ndarray, n: np.ndarray, running: np.ndarray) -> float:
    """:func:`sbg_log_likelihood` from the durations that occur, ``L`` and ``n``, and their counts
    (found once per fit, not once per step of the optimiser)."""
    base = betaln(a, b)
    ll = float(np.sum(ended * (betaln(a + 1.0, b + L - 1.0) - base)))
    ll += float(np.sum(running * (betaln(a, b + n) - base)))
    return ll


class Retention(NamedTuple):
    """A fitted retention curve: the sBG with ``a``, ``b``, or the geometric model (``b`` infinite,
    churn ``a`` per period)."""

    a: float
    b: float

    @property
    def geometric(self) -> bool:
        return math.isinf(self.b)

    def log_survival_ratio(self, n: np.ndarray | int, k: np.ndarray) -> np.ndarray:
        """:math:`\\log S(n+k)/S(n)` for the periods k ahead of a customer with n periods paid (whole
        numbers, broadcast against each other)."""
        if self.geometric:
            return k * math.log1p(-self.a)
        return _betaln_shifted(self.a, self.b, n, k) - betaln(self.a, self.b + n)


def _betaln_shifted(a: float, b: float, n: np.ndarray | int, k: np.ndarray) -> np.ndarray:
    """``betaln(a, b + n + k)`` for whole numbers n and k, bit for bit, with one evaluation per distinct
    ``n + k`` where it can: the argument ``(b + n) + k`` is rounded twice, but mostly equals ``b + (n +
    k)``, whose log-beta is looked up in a table; the others are evaluated as they are. (A projection
    asks for every tenure times every period of its window, some 70,000 values, of a few hundred
    distinct sums.)"""
    x = b + n + k
    m = np.asarray(n + k).astype(np.int64)
    args = b + np.arange(int(m.max()) + 1 if m.size else 0)
    table = betaln(a, args)
    out = table[m]
    other = x != args[m]
    out[other] = betaln(a, x[other])
    return out


# the heterogeneity of the sBG is used only where the data support it: its likelihood-ratio statistic
# against the geometric model must exceed the 95 % point of the boundary mixture 0.5 chi2(0) + 0.5 chi2(1)
LR_CRITICAL = 2.71


def fit_retention(ended: np.ndarray, running: np.ndarray) -> Retention | None:
    """The retention curve of counts by duration (see :func:`sbg_log_likelihood`): the geometric model's
    maximum-likelihood churn ``ended / periods at risk``, replaced by the sBG's maximum-likelihood
    (a, b) where that fits significantly better (:data:`LR_CRITICAL`). None when nothing ended (no
    churn to learn from: the projection is then undefined)."""
    e = float(ended.sum())
    if e <= 0:
        return None
    exposure = float(np.sum(np.arange(len(ended)) * ended) + np.sum(np.arange(len(running)) * running))
    p = min(e / max(exposure, 1.0), 1 - 1e-12)
    geo_ll = e * math.log(p) + (exposure - e) * math.log1p(-p) if p < 1 else 0.0
    z0 = np.array([math.log(p / (1 - p)), -6.0])
    L = np.nonzero(ended)[0]
    n = np.nonzero(running)[0]
    counts = (L, ended[L], n, running[n])

    def nll(z):
        a, b = _ab(z)
        return -_sbg_log_likelihood(max(a, _EPS), max(b, _EPS), *counts)

    best = minimize(nll, z0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
    if 2.0 * (-best.fun - geo_ll) <= LR_CRITICAL:
        return Retention(p, math.inf)
    a, b = _ab(best.x)
    return Retention(max(a, _EPS), max(b, _EPS))


def value_factors(curve: Retention, tenures: np.ndarray, horizon: int, rate: float, window: int) -> np.ndarray:
    """``V(n) / m`` of :mod:`the module's method <sim.projection>` for each tenure n (periods paid by
    the horizon): :math:`\\sum_{k<K} S(n+k)/S(n) (1+d)^{-(T+k)}`."""
    k = np.arange(window, dtype=np.float64)
    disc = (1.0 + rate) ** -(horizon + k)
    tenures = np.asarray(tenures)  # a run's distinct tenures (held_value): at most horizon + 1 of them
    log_ratio = np.broadcast_to(curve.log_survival_ratio(tenures[:, None], k[None, :]), (tenures.size, window))
    return np.array([float(np.dot(row, disc)) for row in np.exp(log_ratio)], dtype=np.float64)


PROJECTION_BLOCK = 1 << 18  # relationships per block of :func:`tenure_counts` (bounds its temporary arrays)


def tenure_counts(rel: dict[str, np.ndarray], firm: int, replication: int, horizon: int,
                  n_initial: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Histograms of one firm's relationships in one replication of a run stopped after ``horizon``
    periods, by periods paid (an ended relationship through its end period, a running one through the
    last), each of length ``horizon + 1``: ``ended[L]``, ``running[n]``, and ``cohort[n]`` (the running
    first relationships of the period-0 customers, ids below ``n_initial``).

    Counted by blocks of :data:`PROJECTION_BLOCK` relationships in the log's own narrow types, so that
    a run's millions of relationships need no full-length masks or copies (the peak memory of its
    metrics); counts are whole numbers, the same in any order."""
    size = horizon + 1
    ended, running, cohort = np.zeros(size), np.zeros(size), np.zeros(size)
    for a in range(0, rel["firm"].size, PROJECTION_BLOCK):
        block = slice(a, a + PROJECTION_BLOCK)
        mine = (rel["firm"][block] == firm) & (rel["replication"][block] == replication)
        start = rel["start"][block][mine]
        paid = rel["end"][block][mine] - start + 1
        held = rel["censored"][block][mine].astype(bool)
        ended += np.bincount(paid[~held], minlength=size)[:size]
        running += np.bincount(paid[held], minlength=size)[:size]
        first = held & (start == 0) & (rel["customer"][block][mine] < n_initial)
        cohort += np.bincount(paid[first], minlength=size)[:size]
    return ended, running, cohort


def held_value(curve: Retention, counts: np.ndarray, horizon: int, rate: float, window: int) -> float:
    """``sum_n counts[n] V(n) / m``: the value of ``counts[n]`` customers held with ``n`` periods paid,
    per unit of margin (:func:`value_factors`)."""
    tenures = np.flatnonzero(counts)
    if not tenures.size:
        return 0.0
    return float(np.dot(counts[tenures], value_factors(curve, tenures, horizon, rate, window)))


def project(rel: dict[str, np.ndarray], firm: int, replications: int, horizon: int, margin: np.ndarray,
            rate: float, period_months: float, n_initial: int) -> tuple[np.ndarray, np.ndarray]:
    """Per replication: (the projected value of the firm's period-0 cohort at the horizon, summed over
    its members still running; the projected value of every customer the firm holds at the horizon),
    each discounted to period 0, from the relationships table ``rel`` of the run (columns start, end,
    censored, replication, firm, customer) and the firm's margin per customer-period ``margin[r]``.
    NaN where the firm's retention cannot be fitted (no relationship ended) or it has no margin."""
    window = int(round(PROJECTION_YEARS * 12.0 / period_months))
    cohort_value = np.full(replications, np.nan)
    firm_value = np.full(replications, np.nan)
    for r in range(replications):
        if not np.isfinite(margin[r]):
            continue
        ended, running, cohort = tenure_counts(rel, firm, r, horizon, n_initial)
        curve = fit_retention(ended, running)
        if curve is None:
            continue
        firm_value[r] = margin[r] * held_value(curve, running, horizon, rate, window)
        cohort_value[r] = margin[r] * held_value(curve, cohort, horizon, rate, window)
    return cohort_value, firm_value
