"""Customer column store and traits: growth keeps data; traits are drawn per customer from her own
numbers, with the stated distributions."""

import numpy as np
from conftest import scenario, z_tolerance
from scipy import stats

from sim.engine import Engine
from sim.params import Scenario
from sim.population import ARRIVAL_GROUP, Customers, arrival_counts, arrival_group, arrival_id, arrival_parts, cumulative

Z = z_tolerance()


def test_grow_keeps_rows_and_extends_capacity():
    c = Customers(capacity=4)
    rows = c.grow(3)
    c.cols["satisfaction"][rows] = [0.1, 0.2, 0.3]
    c.grow(10)
    assert c.n == 13 and c.capacity >= 13
    assert np.allclose(c.satisfaction[:3], [0.1, 0.2, 0.3]) and (c.satisfaction[3:] == 0).all()
    assert c.cols["class_periods"].shape == (c.capacity, 4)
    assert c.view().satisfaction is c.cols["satisfaction"]


def test_state_bytes_per_customer_within_budget():
    assert Customers(capacity=1).state_bytes() <= 120


def test_traits_follow_their_distributions():
    n = 40_000
    sc = Scenario.model_validate(scenario(
        simulation={"customers": n, "periods": 1},
        segments=[{"name": "a", "share": 0.3, "price_sensitivity": 1.5, "nostalgia_affinity": [2.0, 5.0],
                   "background_churn": {"distribution": "beta", "alpha": 1.0, "beta": 20.0}},
                  {"name": "b", "share": 0.7, "no_alternative_share": 0.2, "cohorts": {"x": 0.1, "y": 0.9}}]))
    c = Engine(sc, [17]).customers
    seg = c.segment
    assert abs((seg == 0).mean() - 0.3) < Z * np.sqrt(0.21 / n)
    a = seg == 0
    sens = c.price_sensitivity[a]
    assert abs(sens.mean() - 1.5) < Z * 1.5 * 0.3 / np.sqrt(a.sum())
    assert stats.kstest(sens / 1.5, stats.gamma(1 / 0.09, scale=0.09).cdf).pvalue > 1e-4
    assert stats.kstest(c.affinity[a], stats.beta(2.0, 5.0).cdf).pvalue > 1e-4
    assert stats.kstest(c.churn_p[a], stats.beta(1.0, 20.0).cdf).pvalue > 1e-4
    b = ~a
    assert abs(c.no_alternative[b].mean() - 0.2) < Z * np.sqrt(0.16 / b.sum())
    names = ["1970s", "1980s", "1990s", "2000s", "x", "y"]  # cohort codes follow first-seen order
    assert abs((c.cohort[b] == names.index("y")).mean() - 0.9) < Z * np.sqrt(0.09 / b.sum())
    assert (c.no_alternative[a] == 0).all() and np.isin(c.cohort[b], [4, 5]).all()
    assert abs(c.fit[b].std() - 0.12) < 0.01


def test_a_customers_traits_do_not_depend_on_the_population():
    small = Engine(Scenario.model_validate(scenario(simulation={"customers": 100, "periods": 1})), [5]).customers
    large = Engine(Scenario.model_validate(scenario(simulation={"customers": 1000, "periods": 1})), [5]).customers
    for name in ("segment", "cohort", "affinity", "fit", "price_sensitivity", "satisfaction", "trust", "churn_p", "firm"):
        assert np.array_equal(small.cols[name][:100], large.cols[name][:100]), name


def test_cumulative_probabilities_end_at_exactly_one_and_a_table_gives_each_rows_own():
    one = cumulative([1.0, 2.0, 7.0])
    assert one.tolist() == np.cumsum(np.array([0.1, 0.2, 0.7])).tolist()[:2] + [1.0]
    table = np.array([[1.0, 2.0, 7.0], [0.3, 0.3, 0.3], [5.0, 0.0, 1e-9]])
    rows = cumulative(table)
    assert rows.shape == (3, 3) and (rows[:, -1] == 1.0).all()
    assert all(rows[k].tobytes() == cumulative(table[k]).tobytes() for k in range(3))  # bit for bit, row by row


def test_a_newcomers_id_reads_as_period_group_and_place_and_grows_with_them():
    """Edge values of :func:`arrival_id`: the schema's first and last period (1, 2,400), group (0 and
    100 firms x 101 streams - 1) and place (0 and ARRIVAL_GROUP - 1); every id above the largest
    initial population (50 million); ids in (period, group, place) order; arrival_parts inverts it."""
    periods, groups, places = (1, 2, 2400), (0, 1, 100 * 101 - 1), (0, 1, ARRIVAL_GROUP - 1)
    keys = [(t, g, k) for t in periods for g in groups for k in places]
    ids = [arrival_id(t, g, k) for t, g, k in keys]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and min(ids) > 50_000_000
    for (t, g, k), i in zip(keys, ids):
        assert arrival_parts(i, 100) == (t, g // 101, g % 101, k)
    for firm, stream in ((0, 0), (0, 100), (1, 0), (99, 100)):  # arrival_group's layout, inverted by arrival_parts
        assert arrival_parts(arrival_id(7, arrival_group(firm, stream, 100), 5), 100) == (7, firm, stream, 5)
    assert arrival_group(99, 100, 100) == 100 * 101 - 1
    assert arrival_id(1, 3, 42) == 1_000_030_000_042
    assert arrival_parts(49_999_999, 100) is None


def test_each_firm_and_segment_draws_its_own_newcomers():
    """Newcomers per (firm, segment) are Poisson(rate) (mean within Z standard errors, dispersion index
    within Z of its SE sqrt(2 / n)), and a changed rate of one segment leaves every other count as it was."""
    keys = np.array([[3, 4]], dtype=np.uint64)
    rates = np.array([[30.0, 5.0], [0.0, 12.0]])
    n = 2000
    counts = np.stack([arrival_counts(t, keys, rates, np.zeros((1, 2, 2), dtype=np.int64))[0] for t in range(1, n + 1)])
    total = counts[:, 0].sum(axis=1)  # firm 0's newcomers: Poisson(35) by superposition
    assert abs(total.mean() - 35.0) < Z * np.sqrt(35.0 / n)
    assert abs(total.var() / 35.0 - 1) < Z * np.sqrt(2 / n)
    assert (counts[:, 1, 0] == 0).all()
    more = rates.copy()
    more[0, 0] = 45.0  # a promotion draws more newcomers of firm 0's first segment
    again = np.stack([arrival_counts(t, keys, more, np.zeros((1, 2, 2), dtype=np.int64))[0] for t in range(1, n + 1)])
    assert (again[:, 0, 1] == counts[:, 0, 1]).all() and (again[:, 1] == counts[:, 1]).all()
    assert again[:, 0, 0].mean() > counts[:, 0, 0].mean() + Z * np.sqrt(75.0 / n)
