"""With every mechanism off, only background churn remains and the model reduces to closed forms:
geometric retention for a fixed churn probability, shifted-beta-geometric (sBG) survival when each
customer's probability is drawn from Beta(alpha, beta). Tolerances are stated in Monte-Carlo SEs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_OFF, scenario, z_tolerance
from scipy.special import betaln

from sim.books import expected_clv
from sim.results import run

Z = z_tolerance()


def test_geometric_survival_and_clv():
    p, price, cost, d, T, n = 0.05, 30.0, 18.0, 0.01, 300, 20_000
    spec = scenario(
        mechanisms=ALL_OFF,
        simulation={"customers": n, "periods": T, "discount_rate": d},
        firms=[{"name": "focal", "price": price, "unit_cost": cost}],
        segments=[{"background_churn": {"distribution": "fixed", "p": p}}],
    )
    res = run(spec, seed=7)
    # survival: S(t) = (1 - p)^t for every t, each within Z binomial SEs
    ret = res.retention.set_index("period")["retention"]
    for t in (1, 5, 10, 20, 40, 80):
        s = (1 - p) ** t
        assert abs(ret[t] - s) < Z * np.sqrt(s * (1 - s) / n), t
    # CLV: mean over customers = m (1+d) / (1+d-r), truncated at the horizon (r^T ~ 2e-7)
    clv = res.relationships["clv"].to_numpy()
    expected = expected_clv(price - cost, 1 - p, d, horizon=T)
    assert abs(expected - expected_clv(price - cost, 1 - p, d)) < 1e-3  # the horizon does not matter
    assert abs(clv.mean() - expected) < Z * clv.std(ddof=1) / np.sqrt(n)


@pytest.mark.parametrize("alpha,beta", [(1.0, 3.0), (2.5, 20.0)])
def test_shifted_beta_geometric_survival(alpha, beta):
    n, T = 40_000, 36
    spec = scenario(
        mechanisms=ALL_OFF,
        simulation={"customers": n, "periods": T},
        firms=[{"name": "focal"}],
        segments=[{"background_churn": {"distribution": "beta", "alpha": alpha, "beta": beta}}],
    )
    res = run(spec, seed=11)
    ret = res.retention.set_index("period")["retention"].to_numpy()
    t = np.arange(T + 1)
    sbg = np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))
    se = np.sqrt(sbg * (1 - sbg) / n)
    for k in (1, 2, 3, 6, 12, 24, 36):
        assert abs(ret[k] - sbg[k]) < Z * se[k], (k, ret[k], sbg[k])
    # aggregate retention rate rises with tenure (sorting), though no individual probability changes
    rate = ret[1:] / ret[:-1]
    assert rate[:3].mean() < rate[-6:].mean()
    closed = sbg[1:] / sbg[:-1]
    assert np.all(np.diff(closed) > 0)
    churn_p = res.customers["churn_p"].to_numpy()
    assert abs(churn_p.mean() - alpha / (alpha + beta)) < Z * churn_p.std() / np.sqrt(n)
