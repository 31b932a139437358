"""Measures: schedules, targeting, the registry, and each lever's rule, effect and cost."""

import numpy as np
import pytest
from conftest import run_model, scenario

from sim import measures
from sim.codes import Event
from sim.measures import complaint_handling, contract, discount, nostalgia, price_change, service
from sim.measures.base import Schedule, targets
from sim.model import RetentionModel
from sim.params import Scenario


def test_schedule_windows_and_pulses():
    s = Schedule(start=2, end=10, every=4, duration=2)
    assert [t for t in range(12) if s.is_active(t)] == [2, 3, 6, 7]
    assert [t for t in range(4) if Schedule(start=1).is_active(t)] == [1, 2, 3]
    with pytest.raises(ValueError):
        Schedule(start=5, end=5)


def test_registry_derives_schema_types_and_codes():
    assert measures.TYPES == tuple(lever.TYPE for lever in measures.LEVERS)
    assert sorted(measures.CODE.values()) == list(range(len(measures.LEVERS)))
    for lever in measures.LEVERS:
        sc = Scenario.model_validate({"measures": [{"type": lever.TYPE, **({"cohort": "1980s"} if lever is nostalgia else {})}]})
        built = measures.build(sc)
        assert isinstance(built[0], lever.Lever) and built[0].kind == lever.TYPE


def test_targeting_rule():
    assert targets(-1, -1, -1, 3, 2, 1)
    assert targets(3, -1, -1, 3, 2, 1) and not targets(2, -1, -1, 3, 2, 1)
    assert not targets(-1, 1, -1, 3, 2, 1) and not targets(-1, -1, 0, 3, 2, 1)


def test_lever_rules():
    assert discount.discounted(30.0, 0.2) == 24.0
    assert discount.expected(30.0, 0.2, 1.0) == 24.0 and np.isclose(discount.expected(40.0, 0.4, 0.25), 36.0)
    assert discount.share_on(Schedule()) == 1.0 and discount.share_on(Schedule(every=12, duration=3)) == 0.25
    assert discount.share_on(Schedule(every=2, duration=5)) == 1.0  # pulses that overlap run all the time
    assert service.boosted(0.9, 0.3) == 1.0 and np.isclose(service.boosted(0.5, 0.3), 0.8)
    assert contract.can_sign(0, -1, 5) and not contract.can_sign(1, -1, 5) and not contract.can_sign(0, 12, 5)
    assert contract.expires(12, 11) and not contract.expires(12, 10)
    assert contract.renews(0.69, 0.7) and not contract.renews(0.7, 0.7)
    assert contract.fee_charged(100.0, True, False) == 0.0 and contract.fee_charged(100.0, True, True) == 100.0
    assert contract.fee_charged(100.0, False, False) == 100.0
    assert np.isclose(nostalgia.boost_level(0.5, 0.9, 0.5, 0.4, 0.0), 0.4 * 0.5 * 0.8)
    assert nostalgia.boost_level(0.5, 0.4, 0.5, 0.4, 0.0) == 0.0
    assert np.isclose(nostalgia.boost_level(0.5, 0.25, 0.5, 0.4, 0.2), -0.1)
    assert nostalgia.exposed(0.3, 0.1) == 0.3 and nostalgia.exposed(0.0, 0.1) == 0.1 and nostalgia.exposed(0.0, -0.1) == -0.1
    # complaint teams: capacity per 1,000 served against last period's complaints of those served
    assert complaint_handling.reachability(20.0, 1000.0, 0.0) == 1.0
    assert complaint_handling.reachability(20.0, 1000.0, 10.0) == 1.0
    assert np.isclose(complaint_handling.reachability(20.0, 1000.0, 40.0), 0.5)
    assert np.isclose(complaint_handling.handled_by_team(0.5, 0.2, 0.5), 0.35)
    assert complaint_handling.handled_by_team(0.9, 0.3, 1.0) == 1.0
    # price changes move trust when they start (each pulse's first period); a cut moves nothing
    assert price_change.starts(3, 3.0, 0.0) and not price_change.starts(4, 3.0, 0.0)
    assert price_change.starts(7, 3.0, 4.0) and not price_change.starts(8, 3.0, 4.0)
    assert np.isclose(price_change.trust_after_price_change(0.5, 1.2, False, 0.5, 0.01), 0.4)
    assert np.isclose(price_change.trust_after_price_change(0.5, 1.2, True, 0.5, 0.01), 0.51)
    assert price_change.trust_after_price_change(0.5, 0.8, False, 0.5, 0.01) == 0.5
    assert price_change.trust_after_price_change(0.1, 2.0, False, 0.5, 0.01) == 0.0


def test_firm_wide_levers_take_no_target():
    for lever in ("price_change", "price_reaction", "switching_bonus", "win_back"):
        with pytest.raises(ValueError, match="takes no target"):
            Scenario.model_validate({"measures": [{"type": lever, "target": {"segment": "x"}}]})


def _two_segments(measure_list, **sim):
    return scenario(
        simulation={"customers": 3000, "periods": 6, **sim},
        segments=[{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}],
        mechanisms={"arrivals": False},
        measures=measure_list,
    )


def test_discount_lowers_price_paid_for_the_target_only_and_is_reported_as_foregone_revenue():
    m = RetentionModel(_two_segments([{"type": "discount", "rate": 0.2, "target": {"segment": "a"}}]), rng=1)
    c = m.customers
    on, off = (c.firm == 0) & (c.segment == 0), (c.firm == 0) & (c.segment == 1)
    m.step()
    assert np.allclose(c.price_paid[on], 24.0) and np.allclose(c.price_paid[off], 30.0)
    f = m.firms[0]
    assert np.isclose(f.discounts, 6.0 * on.sum(), rtol=1e-5) and f.measure_costs == 0.0


def test_a_sale_moves_the_reference_price_by_its_share_of_the_time_a_standing_discount_fully():
    """Reached customers' reference price moves toward list x (1 - rate x share of the time on): the
    whole discount for a standing one, a quarter of it for a sale that runs 3 periods in 12; both pay
    the same discounted price while they run."""
    def after_one(schedule):
        m = RetentionModel(_two_segments([{"type": "discount", "rate": 0.4, "target": {"segment": "a"}, "schedule": schedule}]),
                           rng=1)
        c = m.customers
        on = (c.firm == 0) & (c.segment == 0)
        before = c.reference_price[on].copy()
        m.step()
        return before, c.reference_price[on], c.price_paid[on]
    rate = Scenario.model_validate({}).experience.reference_rate
    for schedule, share in (({"start": 0}, 1.0), ({"start": 0, "every": 12, "duration": 3}, 0.25)):
        before, after, paid = after_one(schedule)
        assert np.allclose(paid, 18.0)
        assert np.allclose(after, before + rate * (30.0 * (1 - 0.4 * share) - before), rtol=1e-5)


def test_service_lowers_incidents_and_costs_per_customer_plus_fixed():
    def run(with_service):
        ms = ([{"type": "service", "quality_boost": 0.3, "handling_boost": 0.3, "cost_per_customer": 2.0, "fixed_cost": 100.0}]
              if with_service else [])
        m = RetentionModel(_two_segments(ms, customers=20000), rng=1)
        m.step()
        return m
    on, off = run(True), run(False)
    f = on.firms[0]
    assert np.isclose(f.measure_costs, 2.0 * f.active) and f.fixed_costs == 100.0
    assert np.isclose(f.profit, f.revenue - f.serving_costs - f.measure_costs - f.fixed_costs)
    def incidents(m):
        return int(((m.customers.events & Event.INCIDENT) != 0)[m.customers.firm == 0].sum())
    assert incidents(on) < 0.6 * incidents(off)  # incident risk scales with 1 - quality: 0.3/0.4 of before, same draws


def test_loyalty_class_targeting_reaches_only_that_class():
    m = RetentionModel(_two_segments([{"type": "discount", "rate": 0.5, "target": {"loyalty_class": "neither"}}]), rng=1)
    before = m.customers.loyalty.copy()
    m.step()
    paid = m.customers.price_paid
    focal = m.customers.firm[: before.size] == 0
    assert np.allclose(paid[(before == 3) & focal], 15.0)
    assert np.allclose(paid[(before != 3) & focal], 30.0)


def test_contracts_sign_new_customers_charge_exit_fees_and_renew_at_the_stated_rate():
    spec = scenario(simulation={"customers": 20000, "periods": 13}, mechanisms={"arrivals": False},
                    measures=[{"type": "contract", "term": 12, "exit_fee": 50.0, "renewal_prob": 0.7, "cost_per_contract": 4.0}])
    m = RetentionModel(spec, rng=2)
    m.step()
    c = m.customers
    f = m.firms[0]
    assert (c.contract_end[c.firm == 0] == 12).all() and f.contracts_signed == f.active
    assert np.isclose(f.measure_costs, 4.0 * f.active)
    # everybody who left by choice in period 0 paid the fee, 11 / 12 of it (the fee declines with the
    # periods left); life-event leavers are released by default
    assert f.left_paying_fee == f.switched_out + f.left_market > 0 and f.life_event > 0
    assert np.isclose(f.exit_fees, 50.0 * 11 / 12 * f.left_paying_fee)
    for _ in range(11):
        m.step()
    f = m.firms[0]
    stayed = f.contracts_expiring - f.churned_at_expiry  # those whose contract ran out and who stayed
    p = f.renewals / stayed
    assert abs(p - 0.7) < 4 * np.sqrt(0.21 / stayed)


def test_a_one_period_contract_expires_in_the_period_it_is_signed():
    spec = scenario(simulation={"customers": 500, "periods": 3}, mechanisms={"arrivals": False},
                    measures=[{"type": "contract", "term": 1, "renewal_prob": 1.0}])
    m = RetentionModel(spec, rng=2)
    m.step()
    f = m.firms[0]
    assert f.contracts_signed == f.active and f.contracts_expiring == f.active
    assert f.renewals == f.active - f.churned  # every stayer renews, for one more period
    m.step()
    f = m.firms[0]
    assert f.contracts_expiring == f.active and f.renewals == f.active - f.churned


def test_life_event_leavers_pay_the_exit_fee_only_when_the_contract_says_so():
    def fees(life_event_fee):
        spec = scenario(simulation={"customers": 5000, "periods": 3}, mechanisms={"arrivals": False, "choice": False},
                        measures=[{"type": "contract", "exit_fee": 1e6, "life_event_fee": life_event_fee,
                                   "fee_schedule": "flat"}])
        f = run_model(spec, seed=3).firms[0]
        return f.exit_fees, f.life_event
    assert fees(False)[0] == 0.0
    paid, leavers = fees(True)
    assert leavers > 0 and paid == 1e6 * leavers


def test_forced_contract_lowers_satisfaction():
    def sat(penalty):
        m = run_model(scenario(simulation={"customers": 3000, "periods": 10}, mechanisms={"arrivals": False},
                               measures=[{"type": "contract", "forced_penalty": penalty}]), seed=4)
        return m.customers.satisfaction[m.customers.firm == 0].mean()

    assert sat(0.1) < sat(0.0) - 0.05


def test_price_change_sets_list_price_while_active():
    m = RetentionModel(_two_segments([{"type": "price_change", "factor": 1.5, "schedule": {"start": 1}}]), rng=1)
    m.step()
    assert m.engine.firms.list_price[0] == 30.0
    m.step()
    assert np.isclose(m.engine.firms.list_price[0], 45.0)
    assert np.allclose(m.customers.price_paid[m.customers.firm == 0], 45.0)
