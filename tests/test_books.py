"""Books: discount factors, margins and the closed-form expected CLV."""

import numpy as np

from sim.books import FIRM_STATS, SUMS, Books, discount_factors, expected_clv, margin


def test_expected_clv_closed_form_matches_series():
    m, r, d = 12.0, 0.95, 0.01
    series = sum(m * r**k / (1 + d) ** k for k in range(5000))
    assert np.isclose(expected_clv(m, r, d), series)
    assert np.isclose(expected_clv(m, r, d), m * (1 + d) / (1 + d - r))
    assert np.isclose(expected_clv(m, r, d, horizon=1), m)


def test_discount_factors_and_margin():
    assert np.allclose(discount_factors(2, 0.1), [1, 1 / 1.1, 1 / 1.21])
    assert margin(30.0, 18.0, 2.0) == 10.0


def test_profit_and_undefined_means_for_a_firm_without_customers():
    b = Books(periods=1, replications=1, firms=2)
    sums = np.zeros((1, 2, len(SUMS)))
    sums[0, 0, SUMS.index("active")] = 10
    sums[0, 0, SUMS.index("revenue")] = 300.0
    sums[0, 0, SUMS.index("list_revenue")] = 330.0
    sums[0, 0, SUMS.index("serving_costs")] = 180.0
    sums[0, 0, SUMS.index("satisfaction")] = 6.0
    b.acquire(0, np.array([[2, 0]]), np.array([50.0, 50.0]))
    b.close(0, sums, fixed_costs=np.array([5.0, 0.0]))
    row = dict(zip(FIRM_STATS, b.ledger[0, 0, 0]))
    assert row["profit"] == 300.0 - 180.0 - 5.0 - 100.0 and row["discounts"] == 30.0 and row["mean_satisfaction"] == 0.6
    ghost = dict(zip(FIRM_STATS, b.ledger[0, 0, 1]))
    assert np.isnan(ghost["mean_satisfaction"]) and np.isnan(ghost["share_neither"]) and ghost["profit"] == 0.0


def test_loyalty_points_earned_are_redeemed_broken_or_still_held():
    """Points are a liability: every point earned is redeemed (a cost, in the measure costs), lapses or
    is forfeited by a leaver (breakage, no cost), or is still in a member's balance at the end."""
    import sim
    from sim.books import STAT

    res = sim.run("loyalty_tiers", seed=3, overrides={"simulation.customers": 3000, "simulation.periods": 36})
    engine = res.model.engine
    c = engine.customers
    for f, firm in enumerate(res.scenario.firms):
        led = engine.books.ledger[:, 0, f]
        earned, redeemed, broken = (led[:, STAT[k]].sum() for k in ("points_earned", "points_redeemed", "points_breakage"))
        held = c.points[c.firm == f].astype(np.float64).sum()
        assert np.isclose(earned, redeemed + broken + held, rtol=1e-4), firm.name  # float32 balances
        if firm.name == "no_programme":
            assert earned == 0
        else:
            assert earned > 0 and redeemed > 0 and broken > 0


def test_exit_fees_are_revenue_in_profit_and_clv():
    """Exit fees are booked for the firm that is left: in its profit and in the leavers' CLV, so that
    with d = 0 the CLVs add up to profit plus fixed costs, fees included."""
    import sim

    res = sim.run("telecom", seed=2,
                  overrides={"simulation.customers": 3000, "simulation.periods": 24, "simulation.discount_rate": 0.0})
    p = res.periods
    assert p["exit_fees"].sum() > 0 and p["left_paying_fee"].sum() > 0
    rel = res.relationships
    for name in ("focal", "rival"):
        f = p[p["firm"] == name]
        assert np.isclose(rel[rel["firm"] == name]["clv"].sum(), (f["profit"] + f["fixed_costs"]).sum(), rtol=1e-9)
    paid = rel[rel["paid_exit_fee"]]
    assert len(paid) == p["left_paying_fee"].sum() and not paid["censored"].any()
