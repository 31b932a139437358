"""The source documents' stylized facts, reproduced (tolerances in standard errors, fixed seeds)."""

from __future__ import annotations

import numpy as np
from conftest import run_model, scenario, z_tolerance

from sim.codes import ATTACHED_ONLY, BONDED_ONLY

Z = z_tolerance()
NO_ARRIVALS = {"arrivals": False}
TWO_FIRMS = [{"name": "focal", "initial_share": 1.0, "service_quality": 0.6},
             {"name": "rival", "initial_share": 0.0, "service_quality": 0.6, "price": 28.0}]


def focal_series(model, column):
    p = model.datacollector.get_agent_vars_dataframe().reset_index()
    return p[p["AgentID"] == model.firms[0].unique_id].set_index("period")[column]


def _cliff(quality: float, trust: float):
    spec = scenario(
        simulation={"customers": 8000, "periods": 14},
        mechanisms=NO_ARRIVALS,
        firms=[dict(TWO_FIRMS[0], service_quality=quality), TWO_FIRMS[1]],
        segments=[{"initial_trust": trust, "initial_satisfaction": quality}],
        measures=[{"type": "contract", "term": 12, "exit_fee": 150.0}],
    )
    m = run_model(spec, seed=3)
    churned, active = focal_series(m, "churned"), focal_series(m, "active")
    rate = churned / active
    between = churned.loc[2:9].sum() / active.loc[2:9].sum()
    return rate, between, active


def test_contract_expiry_cliff_is_several_times_churn_between_and_shrinks_with_bond():
    weak_rate, weak_between, weak_active = _cliff(quality=0.35, trust=0.1)
    strong_rate, strong_between, strong_active = _cliff(quality=0.9, trust=0.85)
    # contracts signed at period 0 with term 12 expire in period 11
    assert weak_rate[11] > 3 * weak_between
    assert weak_rate.loc[2:9].max() < weak_rate[11] / 2  # a spike, not a drift
    weak_excess = weak_rate[11] - weak_between
    strong_excess = strong_rate[11] - strong_between
    se = np.sqrt(weak_rate[11] * (1 - weak_rate[11]) / weak_active[11]
                 + strong_rate[11] * (1 - strong_rate[11]) / strong_active[11])
    assert weak_excess - strong_excess > Z * se
    assert strong_excess < weak_excess / 2


def _price_rise_run(factor: float):
    spec = scenario(
        simulation={"customers": 30000, "periods": 36},
        mechanisms=NO_ARRIVALS,
        firms=TWO_FIRMS,
        segments=[{"fit_sd": 0.25, "initial_trust": 0.4}],
        measures=[{"type": "contract", "term": 12, "exit_fee": 150.0, "renewal_prob": 0.6},
                  {"type": "price_change", "factor": factor, "schedule": {"start": 24}}],
    )
    m = run_model(spec, seed=5, until=24)
    c = m.customers
    snapshot = {k: np.flatnonzero((c.firm == 0) & (c.loyalty == k)) for k in (BONDED_ONLY, ATTACHED_ONLY)}
    for _ in range(12):
        m.step()
    lost = {k: (m.customers.firm[idx] != 0) for k, idx in snapshot.items()}
    return lost


def test_price_rise_loses_fewer_bonded_than_attached_only_customers():
    rise, base = _price_rise_run(1.25), _price_rise_run(1.0)
    share = {k: v.mean() for k, v in rise.items()}
    n = {k: v.size for k, v in rise.items()}
    assert min(n.values()) > 500  # both classes are well represented
    se = np.sqrt(sum(share[k] * (1 - share[k]) / n[k] for k in share))
    assert share[ATTACHED_ONLY] - share[BONDED_ONLY] > Z * se
    # and the loss *caused* by the rise (same customers, same seed, no rise) is smaller for the bonded
    caused = {k: rise[k].astype(float) - base[k] for k in rise}
    diff = caused[ATTACHED_ONLY].mean() - caused[BONDED_ONLY].mean()
    se_caused = np.sqrt(sum(caused[k].var(ddof=1) / caused[k].size for k in caused))
    assert diff > Z * se_caused


def _discount_run(with_discount: bool):
    measures = [{"type": "discount", "rate": 0.2, "schedule": {"start": 0, "end": 24}}] if with_discount else []
    spec = scenario(simulation={"customers": 20000, "periods": 36}, mechanisms=NO_ARRIVALS, firms=TWO_FIRMS, measures=measures)
    m = run_model(spec, seed=9)
    churned, active = focal_series(m, "churned"), focal_series(m, "active")
    return churned.loc[24:35].sum(), active.loc[24:35].sum(), m


def test_withdrawing_a_permanent_discount_raises_churn_above_never_discounted_baseline():
    c1, a1, m1 = _discount_run(True)
    c0, a0, _ = _discount_run(False)
    r1, r0 = c1 / a1, c0 / a0
    se = np.sqrt(r1 * (1 - r1) / a1 + r0 * (1 - r0) / a0)
    assert r1 - r0 > Z * se
    # the mechanism: customers' reference price was dragged below the list price
    ref = m1.customers.reference_price[m1.customers.firm == 0]
    assert ref.mean() < 30.0


def _nostalgia_run(**campaign):
    measures = ([{"type": "nostalgia", "schedule": {"start": 0, "end": 24}, "cost_per_customer": 0.5, **campaign}]
                if campaign else [])
    spec = scenario(
        simulation={"customers": 20000, "periods": 24},
        mechanisms=NO_ARRIVALS,
        firms=TWO_FIRMS,
        segments=[{"cohorts": {"1980s": 0.5, "2000s": 0.5}, "nostalgia_affinity": [6.0, 2.0]}],
        measures=measures,
    )
    m = run_model(spec, seed=21, until=12)
    c = m.customers
    eighties = (c.cohort == 0)
    bond12 = c.bond[eighties & (c.firm == 0)].mean()
    for _ in range(12):
        m.step()
    lost = (m.customers.firm[eighties] != 0).astype(float)
    return bond12, lost


def test_authentic_targeted_nostalgia_raises_bond_and_lowers_churn_others_do_not():
    bond0, lost0 = _nostalgia_run()
    bond_a, lost_a = _nostalgia_run(cohort="1980s", authenticity=0.95, intensity=0.4)
    bond_kitsch, lost_kitsch = _nostalgia_run(cohort="1980s", authenticity=0.3, intensity=0.4)
    bond_miss, lost_miss = _nostalgia_run(cohort="1980s", authenticity=0.95, intensity=0.4, target={"cohort": "2000s"})
    assert bond_a > bond0 + 0.05
    d = lost0 - lost_a  # paired: same customers, same random numbers
    assert d.mean() > Z * d.std(ddof=1) / np.sqrt(d.size)
    # below the authenticity threshold, or reaching a cohort the campaign does not evoke: no effect at all
    assert bond_kitsch == bond0 and np.array_equal(lost_kitsch, lost0)
    assert bond_miss == bond0 and np.array_equal(lost_miss, lost0)
