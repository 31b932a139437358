"""sim.stats: t-intervals (not 1.96), Holm's step-down procedure and its intervals, and the share of
a sweep's variance that is replication noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import z_tolerance
from scipy import stats as sp

from sim.stats import band, holm, mean_interval, noise_share, paired_p_value, t_quantile


def test_intervals_use_the_t_quantile():
    v = np.array([1.0, 2.0, 4.0, 7.0, 11.0, 16.0, 22.0, 29.0, 37.0, 46.0])
    est = mean_interval(v)
    half = sp.t.ppf(0.975, 9) * v.std(ddof=1) / math.sqrt(10)
    assert est["half_width"] == pytest.approx(half) and est["mean"] == pytest.approx(v.mean())
    assert half / (1.96 * v.std(ddof=1) / math.sqrt(10)) == pytest.approx(t_quantile(10) / 1.96)
    assert t_quantile(10) / 1.96 > 1.15  # 1.96 would be 13 % too narrow
    assert math.isnan(mean_interval([3.0])["half_width"]) and mean_interval([np.nan, 1.0, 3.0])["n"] == 2


def test_band_is_the_column_wise_t_interval():
    rng = np.random.default_rng(1)
    paths = rng.normal(size=(7, 5))
    paths[2, 3] = np.nan
    mean, half = band(paths)
    for j in range(5):
        est = mean_interval(paths[:, j])
        assert mean[j] == pytest.approx(est["mean"]) and half[j] == pytest.approx(est["half_width"])


def test_t_intervals_cover_the_mean_95_times_in_100():
    """2,000 samples of 8 normal values: coverage of the 95 % interval within 4 standard errors."""
    rng = np.random.default_rng(7)
    samples = rng.normal(3.0, 2.0, (2000, 8))
    hits = sum((lambda e: e["ci_low"] <= 3.0 <= e["ci_high"])(mean_interval(s)) for s in samples)
    se = math.sqrt(0.95 * 0.05 / 2000)
    assert abs(hits / 2000 - 0.95) < z_tolerance() * se


def _holm_by_definition(p: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Which hypotheses Holm's procedure rejects, straight from its definition."""
    order = np.argsort(p)
    rejected = np.zeros(len(p), bool)
    for k, i in enumerate(order):
        if p[i] > alpha / (len(p) - k):
            break
        rejected[i] = True
    return rejected


def test_holm_adjusted_p_values_and_levels_agree_with_the_procedure():
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = rng.uniform(0, 0.08, rng.integers(1, 12))
        adjusted, levels = holm(p)
        rejected = _holm_by_definition(p)
        assert ((adjusted <= 0.05) == rejected).all()
        # the adjusted interval excludes 0 exactly when Holm rejects: |t| > t-quantile at the level,
        # i.e. the two-sided p-value below 1 - level
        assert ((p < 1 - levels) == rejected).all()
        assert (levels >= 0.95).all() and (adjusted >= p).all()
    adjusted, levels = holm([0.01, np.nan, 0.04])
    assert math.isnan(adjusted[1]) and adjusted[0] == pytest.approx(0.02) and levels[0] == pytest.approx(0.975)


def test_paired_p_value_is_the_paired_t_test():
    rng = np.random.default_rng(5)
    d = rng.normal(0.3, 1.0, 15)
    assert paired_p_value(d) == pytest.approx(sp.ttest_1samp(d, 0.0).pvalue)
    assert paired_p_value(np.zeros(5)) == 1.0 and math.isnan(paired_p_value([1.0]))


def test_noise_share_estimates_the_share_of_replication_noise():
    """Points with spread 1 (variance of the true means) and replication noise of variance 4 over R
    = 4 replications: noise is 4 / 4 = 1 of the point means' variance 1 + 1, a share of 0.5; of single
    runs 4 / 5. With 400 points the estimates are within 4 standard errors (from 200 repetitions), plus
    0.01 for the bias of a ratio of two estimates."""
    rng = np.random.default_rng(11)
    shares = []
    for _ in range(200):
        truth = rng.normal(0.0, 1.0, (400, 1))
        shares.append(noise_share(truth + rng.normal(0.0, 2.0, (400, 4))))
    of_means = np.array([s["of_point_means"] for s in shares])
    of_runs = np.array([s["of_runs"] for s in shares])
    assert abs(of_means.mean() - 0.5) < z_tolerance() * of_means.std(ddof=1) / math.sqrt(200) + 0.01
    assert abs(of_runs.mean() - 0.8) < z_tolerance() * of_runs.std(ddof=1) / math.sqrt(200) + 0.01
    assert math.isnan(noise_share(np.ones((5, 1)))["of_runs"])
