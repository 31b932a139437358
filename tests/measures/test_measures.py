"""Measures: schedules, targeting, and each lever's direct effect and cost."""

import numpy as np
import pytest

from conftest import run_model, scenario
from sim.model import RetentionModel
from sim.params import Scenario, Schedule


def _measure(schedule):
    from sim.measures.base import Measure

    sc = Scenario.model_validate({"measures": [{"type": "discount", "schedule": schedule}]})
    return Measure(sc.measures[0], sc)


def test_schedule_windows_and_pulses():
    m = _measure({"start": 2, "end": 10, "every": 4, "duration": 2})
    assert [t for t in range(12) if m.is_active(t)] == [2, 3, 6, 7]
    assert [t for t in range(4) if _measure({"start": 1}).is_active(t)] == [1, 2, 3]
    with pytest.raises(ValueError):
        Schedule(start=5, end=5)


def _two_segments(measures, **sim):
    return scenario(
        simulation={"customers": 3000, "periods": 6, **sim},
        segments=[{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}],
        mechanisms={"arrivals": False},
        measures=measures,
    )


def test_discount_lowers_price_paid_for_the_target_only_and_is_reported_as_foregone_revenue():
    m = RetentionModel(_two_segments([{"type": "discount", "rate": 0.2, "target": {"segment": "a"}}]), rng=1)
    c = m.customers
    on, off = (c.firm == 0) & (c.segment == 0), (c.firm == 0) & (c.segment == 1)
    m.step()
    assert np.allclose(c.price_paid[on], 24.0) and np.allclose(c.price_paid[off], 30.0)
    f = m.firms[0]
    assert np.isclose(f.discounts, 6.0 * on.sum(), rtol=1e-5) and f.measure_costs == 0.0


def test_service_raises_quality_and_handling_and_costs_per_customer():
    m = RetentionModel(_two_segments([{"type": "service", "quality_boost": 0.2, "handling_boost": 0.3, "cost_per_customer": 2.0, "fixed_cost": 100.0}]), rng=1)
    m.step()
    assert np.allclose(m.quality[m.customers.firm == 0], 0.8) and np.allclose(m.handling[m.customers.firm == 0], 0.8)
    assert np.isclose(m.firms[0].measure_costs, 100.0 + 2.0 * m.firms[0].active)


def test_loyalty_class_targeting_reaches_only_that_class():
    m = RetentionModel(_two_segments([{"type": "discount", "rate": 0.5, "target": {"loyalty_class": "neither"}}]), rng=1)
    before = m.customers.loyalty.copy()
    m.step()
    paid = m.customers.price_paid
    assert np.allclose(paid[(before == 3) & (m.customers.firm == 0)], 15.0)
    assert np.allclose(paid[(before != 3) & (m.customers.firm == 0)], 30.0)


def test_contracts_sign_new_customers_charge_exit_fees_and_renew_at_the_stated_rate():
    spec = scenario(simulation={"customers": 20000, "periods": 13}, mechanisms={"arrivals": False},
                    measures=[{"type": "contract", "term": 12, "exit_fee": 50.0, "renewal_prob": 0.7}])
    m = RetentionModel(spec, rng=2)
    m.step()
    c = m.customers
    assert (c.contract_end[c.firm == 0] == 12).all()
    fees = m.firms[0].exit_fees
    left_early = m.firms[0].churned
    assert np.isclose(fees, 50.0 * left_early)  # everybody who left in period 0 paid the fee
    for _ in range(11):
        m.step()
    f = m.firms[0]
    stayed = f.active - f.churned
    p = f.renewals / stayed
    assert abs(p - 0.7) < 4 * np.sqrt(0.21 / stayed)


def test_forced_contract_lowers_satisfaction():
    def sat(penalty):
        m = run_model(scenario(simulation={"customers": 3000, "periods": 10}, mechanisms={"arrivals": False},
                               measures=[{"type": "contract", "forced_penalty": penalty}]), seed=4)
        return m.customers.satisfaction[m.customers.firm == 0].mean()

    assert sat(0.1) < sat(0.0) - 0.05


def test_price_change_sets_list_price_while_active():
    m = RetentionModel(_two_segments([{"type": "price_change", "factor": 1.5, "schedule": {"start": 1}}]), rng=1)
    m.step()
    assert m.list_price[0] == 30.0
    m.step()
    assert np.isclose(m.list_price[0], 45.0) and np.allclose(m.customers.price_paid[m.customers.firm == 0], 45.0)
