"""Customer column store and traits: growth keeps data; traits are drawn per customer from her own
numbers, with the stated distributions."""

import numpy as np
from conftest import scenario, z_tolerance
from scipy import stats

from sim.engine import Engine
from sim.params import Scenario
from sim.population import Customers, cumulative

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
