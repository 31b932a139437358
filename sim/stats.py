"""The statistics of experiments, in one place: t-intervals over replications, Holm's step-down
procedure for a family of claims, and the share of a sweep's variance that is replication noise.

Every interval of ``compare``, ``sweep`` and the reports is a Student t-interval over independent
replications (``scipy.stats.t``), never a normal one: with 10 replications the 95 % quantile is
2.26, not 1.96, and a normal band would be 13 % too narrow.

>>> round(t_quantile(10), 3)
2.262
>>> mean_interval([1.0, 2.0, 3.0])["mean"]
2.0
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

LEVEL = 0.95


def t_quantile(n: int, level: float = LEVEL) -> float:
    """The two-sided ``level`` quantile of Student's t with ``n - 1`` degrees of freedom (NaN for n < 2)."""
    return float(stats.t.ppf(0.5 + level / 2, n - 1)) if n >= 2 else math.nan


def mean_interval(values, level: float = LEVEL) -> dict:
    """Mean of the finite ``values``, its t-interval at ``level`` and how many there are: ``mean,
    ci_low, ci_high, half_width, n`` (the interval is NaN for fewer than two values; zero-width when
    they are all equal)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = int(v.size)
    mean = float(v.mean()) if n else math.nan
    half = t_quantile(n, level) * float(v.std(ddof=1)) / math.sqrt(n) if n >= 2 else math.nan
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "half_width": half, "n": n}


def row_intervals(values: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`mean_interval` of every row of a 2-D array at once: the means, the half-widths (NaN for
    a row of fewer than two finite values) and the counts."""
    mean, half = band(np.asarray(values, dtype=float).T, level)
    n = np.isfinite(values).sum(axis=1)
    return mean, np.where(n >= 2, half, np.nan), n


def band(paths: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise mean of a (replication x time) array and the half-width of its t-interval, each
    column over its finite values (half-width 0 where a column has fewer than two)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        finite = np.isfinite(paths)
        n = finite.sum(axis=0)
        mean = np.where(n > 0, np.nansum(paths, axis=0) / np.maximum(n, 1), np.nan)
        dev = np.where(finite, paths - mean, 0.0)
        sd = np.sqrt((dev**2).sum(axis=0) / np.maximum(n - 1, 1))
        q = np.where(n >= 2, stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), 0.0)
        half = np.where(n >= 2, q * sd / np.sqrt(np.maximum(n, 1)), 0.0)
    return mean, half


def paired_p_value(differences) -> float:
    """Two-sided p-value of the paired t-test that the mean of ``differences`` is 0 (NaN for fewer
    than two finite values; 1 when they are all 0, 0 when all equal and not 0)."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return math.nan
    sd = float(d.std(ddof=1))
    if sd == 0:
        return 1.0 if float(d.mean()) == 0 else 0.0
    t = float(d.mean()) / (sd / math.sqrt(d.size))
    return float(2 * stats.t.sf(abs(t), d.size - 1))


def holm(p_values, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down procedure over a family of ``m`` claims with the given p-values (NaN ones
    are not part of the family). Returns the Holm-adjusted p-values and, per claim, the confidence
    level of its Holm-adjusted interval: the k-th smallest p-value is tested at ``alpha / (m - k + 1)``
    (``alpha = 1 - level``), and once a step fails every later claim keeps the level of that step.
    So a claim's adjusted interval excludes 0 exactly when Holm's procedure declares it, and the
    family's error rate is at most ``alpha`` however many claims it has.

    >>> p, lv = holm([0.01, 0.04, 0.03])
    >>> [round(float(x), 2) for x in p]
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    alpha = 1 - level
    adjusted = np.full(p.shape, np.nan)
    levels = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    failed_at: int | None = None
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        adjusted[i] = running
        step = k if failed_at is None else failed_at
        levels[i] = 1 - alpha / (m - step)
        if failed_at is None and p[i] > alpha / (m - k):
            failed_at = k
    return adjusted, levels


def noise_share(values: np.ndarray) -> dict:
    """How much of a sweep's variance is replication noise, from a (point x replication) array of one
    metric (common seeds: column r is replication r at every point).

    ``within`` is the mean over points of the variance between replications; ``of_runs`` its share of
    the variance of single runs, and ``of_point_means`` the share of the variance of the point means
    (what sensitivity indices decompose) that noise explains, ``within / R`` over that variance. A
    share near 1 means the indices describe noise: more customers or replications are needed. NaN
    with one replication (noise cannot be told from the design) or no variance at all."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v).all(axis=1)] if v.ndim == 2 else v
    nan = {"within": math.nan, "of_runs": math.nan, "of_point_means": math.nan}
    if v.ndim != 2 or v.shape[0] < 2 or v.shape[1] < 2:
        return nan
    within = float(v.var(axis=1, ddof=1).mean())
    runs = float(v.ravel().var(ddof=1))
    means = float(v.mean(axis=1).var(ddof=1))
    return {
        "within": within,
        "of_runs": within / runs if runs > 0 else math.nan,
        "of_point_means": min(1.0, within / v.shape[1] / means) if means > 0 else math.nan,
    }
