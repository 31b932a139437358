"""Value beyond the horizon (sim.projection, metrics clv_projected and profit_projected): the sBG fit
recovers its parameters, the value factors equal the closed forms, and on scenarios that reduce to the
geometric and shifted-beta-geometric models the projected CLV equals the infinite-horizon closed form
within Monte-Carlo error (tolerance in standard errors over replications)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_OFF, scenario, z_tolerance
from scipy.special import betaln

from sim import projection
from sim.books import expected_clv
from sim.compare import replication_seeds, run_replications
from sim.projection import Retention, _betaln_shifted, fit_retention, held_value, sbg_log_likelihood, tenure_counts, value_factors
from sim.scenario import load

Z = z_tolerance()


def test_the_shifted_log_beta_is_the_log_beta_of_its_arguments_bit_for_bit():
    n = np.array([[0], [1], [7], [120]])
    k = np.arange(600, dtype=np.float64)[None, :]
    for a, b in ((0.81, 3.7123456789), (0.5, 0.37), (2.0, 12.345678), (1.3, 1e5 / 7), (1e-9, 1e-9)):
        assert _betaln_shifted(a, b, n, k).tobytes() == betaln(a, b + n + k).tobytes()
    assert _betaln_shifted(0.8, 3.3, 5, np.arange(4.0)).tobytes() == betaln(0.8, 3.3 + 5 + np.arange(4.0)).tobytes()
    assert _betaln_shifted(0.8, 3.3, 5, np.arange(0.0)).size == 0


def _sbg_counts(a: float, b: float, n: float, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts of a cohort of n: ended after L = 1..horizon periods, running after horizon."""
    t = np.arange(horizon + 1)
    S = np.exp(betaln(a, b + t) - betaln(a, b))
    ended = np.zeros(horizon + 1)
    ended[1:] = n * (S[:-1] - S[1:])
    running = np.zeros(horizon + 1)
    running[horizon] = n * S[horizon]
    return ended, running


@pytest.mark.parametrize("a,b", [(0.8, 1.6), (2.0, 8.0), (1.0, 3.0)])
def test_the_sbg_fit_recovers_its_parameters_from_expected_counts(a, b):
    est = fit_retention(*_sbg_counts(a, b, 1e6, 24))
    assert est is not None and not est.geometric
    assert abs(est.a / a - 1) < 0.02 and abs(est.b / b - 1) < 0.02, est


def test_the_sbg_fit_of_a_geometric_cohort_is_geometric():
    p, T = 0.05, 24
    t = np.arange(T + 1)
    ended = np.zeros(T + 1)
    ended[1:] = 1e6 * ((1 - p) ** t[:-1] - (1 - p) ** t[1:])
    running = np.zeros(T + 1)
    running[T] = 1e6 * (1 - p) ** T
    est = fit_retention(ended, running)
    assert est.geometric and abs(est.a - p) < 1e-6  # no heterogeneity to find: the geometric MLE
    # the sBG's likelihood near the geometric limit is higher than that of a heterogeneous alternative
    assert sbg_log_likelihood(p * 1e8, (1 - p) * 1e8, ended, running) > sbg_log_likelihood(0.5, 9.5, ended, running)


def test_nothing_ended_means_no_fit():
    assert fit_retention(np.zeros(5), np.array([0, 0, 0, 0, 10.0])) is None


def test_value_factors_equal_the_geometric_closed_form():
    # a, b large with a/(a+b) = p is the geometric model; V/m after T periods = (1+d)^-T (1+d)/(1+d-r)
    p, d, T = 0.05, 0.01, 24
    want = (1 + d) ** -T * expected_clv(1.0, 1 - p, d)
    got = value_factors(Retention(p, float("inf")), np.array([T, 3]), T, d, window=3000)
    assert got == pytest.approx([want, want], rel=1e-9)  # memoryless: the tenure does not matter
    near = value_factors(Retention(p * 1e9, (1 - p) * 1e9), np.array([T]), T, d, window=3000)
    assert near == pytest.approx([want], rel=1e-5)  # the sBG's limit


def test_value_factors_of_the_sbg_rise_with_tenure():
    # survivors of a heterogeneous cohort are the loyal ones: a longer tenure is worth more
    v = value_factors(Retention(1.0, 3.0), np.array([1, 12, 24]), 24, 0.01, window=600)
    assert v[0] < v[1] < v[2]


def _projected(spec: dict, replications: int = 8):
    sc = load(spec)
    table, _ = run_replications(sc, replication_seeds(11, replications))
    return table


def _within(values: np.ndarray, want: float) -> None:
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert abs(values.mean() - want) < Z * se, (values.mean(), want, se)


def test_tenure_counts_by_blocks_are_the_histograms_of_the_relationships(monkeypatch):
    """The block-wise histograms of a firm's relationships in one replication equal the histograms of
    its relationships picked out whole (with blocks of 7 rows, so that every histogram spans blocks),
    and the value of the held customers summed by tenure equals the sum over the customers."""
    rng = np.random.default_rng(5)
    n, horizon, n_initial = 1000, 30, 400
    start = np.where(rng.random(n) < 0.5, 0, rng.integers(0, horizon, n)).astype(np.int16)
    end = np.minimum(start + rng.geometric(0.1, n) - 1, horizon - 1).astype(np.int16)
    rel = {"firm": rng.integers(0, 2, n).astype(np.int16), "replication": rng.integers(0, 3, n).astype(np.int16),
           "start": start, "end": end, "censored": end == horizon - 1, "customer": rng.integers(0, 2 * n_initial, n)}
    monkeypatch.setattr(projection, "PROJECTION_BLOCK", 7)
    ended, running, cohort = tenure_counts(rel, 1, 2, horizon, n_initial)
    mine = (rel["firm"] == 1) & (rel["replication"] == 2)
    paid, held = (end - start + 1)[mine], rel["censored"][mine]
    first = held & (start[mine] == 0) & (rel["customer"][mine] < n_initial)
    assert ended.tolist() == np.bincount(paid[~held], minlength=horizon + 1).tolist()
    assert running.tolist() == np.bincount(paid[held], minlength=horizon + 1).tolist()
    assert cohort.tolist() == np.bincount(paid[first], minlength=horizon + 1).tolist()
    assert 0 < cohort.sum() < running.sum() and ended.sum() + running.sum() == mine.sum()
    curve = fit_retention(ended, running) or Retention(0.1, 0.9)
    each = value_factors(curve, paid[held], horizon, 0.01, 600)
    assert held_value(curve, running, horizon, 0.01, 600) == pytest.approx(float(each.sum()), rel=1e-12)
    assert held_value(curve, cohort, horizon, 0.01, 600) == pytest.approx(float(each[first[held]].sum()), rel=1e-12)
    assert held_value(curve, np.zeros(horizon + 1), horizon, 0.01, 600) == 0.0


def test_projected_clv_of_a_geometric_scenario_is_the_closed_form():
    p, price, d, T = 0.05, 12.0, 0.01, 24
    spec = scenario(mechanisms=ALL_OFF, simulation={"customers": 5000, "periods": T, "discount_rate": d},
                    firms=[{"name": "focal", "price": price, "unit_cost": 0.0, "initial_share": 1.0,
                            "acquisition_spend": 0.0}],
                    segments=[{"background_churn": {"distribution": "fixed", "p": p}}])
    t = _projected(spec)
    want = expected_clv(price, 1 - p, d)  # infinite horizon: m (1+d) / (1+d-r)
    assert t["clv_mean"].mean() < 0.8 * want  # the horizon figure falls well short ...
    _within(t["clv_projected"].to_numpy(), want)  # ... the projected one does not
    # every customer is a period-0 customer and nobody arrives: profit projected = customers x CLV projected
    _within(t["profit_projected"].to_numpy() / 5000, want)


def test_projected_clv_of_a_shifted_beta_geometric_scenario_is_the_closed_form():
    a, b, price, d, T = 1.0, 3.0, 12.0, 0.01, 24
    spec = scenario(mechanisms=ALL_OFF, simulation={"customers": 5000, "periods": T, "discount_rate": d},
                    firms=[{"name": "focal", "price": price, "unit_cost": 0.0, "initial_share": 1.0,
                            "acquisition_spend": 0.0}],
                    segments=[{"background_churn": {"distribution": "beta", "alpha": a, "beta": b}}])
    t = _projected(spec)
    k = np.arange(20_000)
    want = price * float(np.sum(np.exp(betaln(a, b + k) - betaln(a, b)) / (1 + d) ** k))
    # a geometric projection of the final year's retention would undervalue the survivors, whose
    # retention keeps rising; the sBG projection matches the closed form
    _within(t["clv_projected"].to_numpy(), want)
