"""Every lever moves what its docstring says it moves, in the documented direction, and its cost is in
the books and in customer lifetime value.

Directional tests run one scenario twice with the same seed, the lever on and off (or at two
settings). A customer's random numbers depend only on (seed, customer, period, purpose), so the two
runs are compared customer by customer: the statistic is the mean of a per-customer difference over
the same initial customers, and it must exceed ``Z`` (4) standard errors of that paired mean (a
false-alarm rate near 6e-5 per test if the lever did nothing). Where a test compares counts of events
instead (complaints handled, win-back returns, acquisitions), the standard error is the binomial or
Poisson one of the counts, and the comment says why it is conservative. Sizes are small (5k-20k
customers, 1-24 periods) so that the whole file runs in well under a minute once the engine is
compiled.

Money: with ``simulation.discount_rate = 0`` the relationships' CLVs add up to every firm's profit
plus its fixed costs, exactly (:mod:`sim.books`); one test switches every lever on at once, and
``test_cost_of_each_lever_is_in_the_books`` checks each lever's cost model against its docstring.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_model, scenario, z_tolerance

from sim.codes import MEASURE_BIT, Event
from sim.measures import CODE
from sim.measures.proactive_retention import ProactiveRetentionParams
from sim.measures.win_back import WinBackParams
from sim.model import RetentionModel
from sim.results import RunResult

Z = z_tolerance()
NO_ARRIVALS = {"arrivals": False}
FOCAL_ONLY = [{"name": "focal", "initial_share": 1.0}, {"name": "rival", "initial_share": 0.0}]


# ------------------------------------------------------------------ helpers
def bit(lever: str) -> int:
    """The event bit saying that a lever of this type reached a customer in the period."""
    return 1 << (MEASURE_BIT + CODE[lever])


def spec(n: int, periods: int, measures=(), **sections) -> dict:
    """A scenario with ``n`` initial customers, all with the focal firm; no arrivals unless given."""
    sections.setdefault("mechanisms", NO_ARRIVALS)
    sections.setdefault("firms", FOCAL_ONLY)
    sim = {"customers": n, "periods": periods, "discount_rate": 0.0} | sections.pop("simulation", {})
    return scenario(simulation=sim, measures=list(measures), **sections)


def stepped(sc: dict, seed: int):
    """Run ``sc`` period by period; return the model and, per period, the firm each row had when the
    period began (rows that joined in the period are not in it) and every row's events in the period."""
    m = RetentionModel(sc, rng=seed)
    firms, events = [], []
    for _ in range(m.config.simulation.periods):
        before = m.customers.firm.copy()
        m.step()
        firms.append(before)
        events.append(m.customers.events.copy())
    return m, firms, events


def with_focal(m, n: int) -> np.ndarray:
    """1.0 for each of the first ``n`` customers who is a customer of the focal firm now."""
    return (m.customers.firm[:n] == 0).astype(float)


def same_relationship(n: int, *models) -> np.ndarray:
    """The initial customers who are still in their first relationship with the focal firm in every model."""
    keep = np.ones(n, dtype=bool)
    for m in models:
        keep &= (m.customers.firm[:n] == 0) & (m.customers.rel_start[:n] == 0)
    return keep


def assert_positive(d, what: str) -> None:
    """The mean of the paired differences ``d`` is more than Z standard errors above zero."""
    d = np.asarray(d, dtype=float)
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert d.mean() > Z * se and d.mean() > 0, f"{what}: mean {d.mean():.4g}, SE {se:.3g}, n {d.size}"


def assert_rate_higher(k1: float, n1: float, k0: float, n0: float, what: str) -> None:
    """Proportion k1/n1 exceeds k0/n0 by more than Z binomial standard errors of the difference."""
    p1, p0 = k1 / n1, k0 / n0
    se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    assert p1 - p0 > Z * se, f"{what}: {p1:.4f} vs {p0:.4f}, SE {se:.3g}"


def assert_count_higher(k1: float, k0: float, what: str) -> None:
    """Count k1 exceeds k0 by more than Z Poisson standard errors of the difference, sqrt(k1 + k0).
    (The two counts come from paired runs and are positively correlated, so the independent-counts
    standard error overstates the noise: the check is conservative.)"""
    assert k1 - k0 > Z * np.sqrt(k1 + k0), f"{what}: {k1} vs {k0}"


def focal_periods(m, firm: str = "focal"):
    p = RunResult(m).periods
    return p[p["firm"] == firm].reset_index(drop=True)


# ------------------------------------------------------------------ loyalty programme
LOYALTY = {"type": "loyalty_programme", "tier_thresholds": [5.0, 15.0]}


def test_loyalty_points_are_an_economic_barrier_that_raises_attachment_and_retention():
    n = 10_000
    off = run_model(spec(n, 24), seed=3)
    on = run_model(spec(n, 24, [LOYALTY]), seed=3)
    c = on.customers
    members = (c.firm[:n] == 0) & (c.rel_start[:n] < on.period)  # not those who come back only after the horizon
    assert (c.points[:n][members] > 0).all()  # every member holds a balance she would forfeit
    # 0 without any barrier; members redeem most of their points, so the balance at stake is a few periods of rebates
    assert on.firms[0].mean_attachment > off.firms[0].mean_attachment + 0.05
    assert_positive(with_focal(on, n) - with_focal(off, n), "retention with the programme - without")


def test_loyalty_rewards_bond_only_when_they_fit():
    n = 10_000
    off = run_model(spec(n, 24), seed=3)
    fits = run_model(spec(n, 24, [LOYALTY | {"fit_tenure": 0, "fit_quality": 0.0}]), seed=3)
    never = run_model(spec(n, 24, [LOYALTY | {"fit_quality": 1.0}]), seed=3)  # satisfaction never reaches 1
    keep = same_relationship(n, fits, never)
    assert keep.sum() > 1000
    gain = fits.customers.commitment[:n][keep] - never.customers.commitment[:n][keep]
    assert_positive(gain, "commitment, fitting rewards - rewards that never fit")
    # rewards that never fit add no commitment at all: each customer's commitment is what it would be
    # without the programme (the balance changes who stays, not how committed a stayer is)
    keep = same_relationship(n, never, off)
    assert np.array_equal(never.customers.commitment[:n][keep], off.customers.commitment[:n][keep])


def _tier_cliff(penalty: float, discount: bool):
    # earning 5 % of 30 = 1.5 a period with 10 % lapsing (and nothing redeemed) settles at 15, above the
    # tier at 12 (reached in period 15); halving the price from period 18 halves the earnings, and the
    # balance falls back below 12
    measures = [{"type": "loyalty_programme", "earn_rate": 0.05, "lapse_rate": 0.1, "redemption_rate": 0.0,
                 "tier_thresholds": [12.0], "tier_loss_penalty": penalty}]
    if discount:
        measures.append({"type": "discount", "rate": 0.5, "schedule": {"start": 18}})
    m = RetentionModel(spec(5000, 24, measures), rng=4)
    lost_tier = np.zeros(5000, dtype=int)
    satisfaction = []
    for _ in range(24):
        m.step()
        lost_tier += (m.customers.events[:5000] & Event.TIER_LOST) != 0
        satisfaction.append(m.customers.satisfaction[:5000].copy())
    return m, lost_tier, satisfaction


def test_loyalty_tier_cliff_after_a_discount_lowers_satisfaction():
    m1, lost1, sat1 = _tier_cliff(0.3, discount=True)
    m0, lost0, sat0 = _tier_cliff(0.0, discount=True)
    _, lost_none, _ = _tier_cliff(0.3, discount=False)
    assert lost_none.sum() == 0  # without the discount the balance only grows: no cliff
    assert lost1.sum() > 1000 and lost1.max() == 1
    assert np.array_equal(lost1, lost0)  # the penalty does not change who falls, only how it feels
    fell = np.flatnonzero(lost1 > 0)
    keep = fell[(m1.customers.firm[fell] == 0) & (m0.customers.firm[fell] == 0)]
    period = 20  # shortly after the fall: the penalty is felt, then fades as satisfaction recovers
    assert_positive(sat0[period][keep] - sat1[period][keep], "satisfaction, no tier-loss penalty - penalty")


# ------------------------------------------------------------------ onboarding and post-purchase doubt
def _first_buyers(price: float, onboarding: bool, n: int = 10_000):
    # both firms' prices and unit costs scale together, so the only thing a dearer product changes is
    # the post-purchase doubt, doubt * price / (price + doubt_price); the initial customers are first
    # buyers (relationships starting in period 0), in their post-purchase periods 1..3
    firms = [{"name": "focal", "initial_share": 1.0, "price": price, "unit_cost": 0.6 * price},
             {"name": "rival", "initial_share": 0.0, "price": price, "unit_cost": 0.6 * price}]
    measures = [{"type": "onboarding"}] if onboarding else []
    return with_focal(run_model(spec(n, 4, measures, firms=firms, experience={"doubt": 0.4}), seed=5), n)


def test_onboarding_keeps_first_buyers_and_the_doubt_it_removes_grows_with_price():
    cheap, dear = _first_buyers(30.0, False), _first_buyers(300.0, False)
    dear_onboarded = _first_buyers(300.0, True)
    assert_positive(cheap - dear, "first buyers kept, cheap - dear product (no onboarding)")
    assert_positive(dear_onboarded - dear, "first buyers kept by onboarding (dear product)")


# ------------------------------------------------------------------ complaint handling
def _complaints(**lever):
    m, firms, events = stepped(spec(10_000, 6, [{"type": "complaint_handling", **lever}]), seed=6)
    # from period 1 on: capacity binds from the second period (it is measured against last period's complaints)
    complained = sum(int(((e & Event.COMPLAINT) != 0).sum()) for e in events[1:])
    well = sum(int(((e & Event.HANDLED_WELL) != 0).sum()) for e in events[1:])
    return well, complained


def test_complaint_capacity_and_resolution_quality_set_the_share_handled_well():
    # about 48 complaints per 1,000 customers a period (incident rate 0.2 * (1 - 0.6) * complaint 0.6)
    short, ample = _complaints(capacity=10.0), _complaints(capacity=200.0)
    assert_rate_higher(*ample, *short, "share handled well, ample - short capacity")
    better = _complaints(capacity=200.0, resolution_boost=0.4)
    plain = _complaints(capacity=200.0, resolution_boost=0.0)
    assert_rate_higher(*better, *plain, "share handled well, resolution boost 0.4 - 0")


# ------------------------------------------------------------------ win-back
ONE_FIRM = [{"name": "focal", "initial_share": 1.0}]
LEAVERS = {"outside_utility": 1.0}  # one firm and a tempting outside option: many leave the market by choice


def _win_back(seed: int = 7, **lever):
    measures = [{"type": "win_back", "coverage": 1.0, **lever}] if lever else []
    sc = spec(10_000, 24, measures, firms=ONE_FIRM, choice=LEAVERS)
    m, firms, events = stepped(sc, seed)
    contacts = sum(int(((e & bit("win_back")) != 0).sum()) for e in events)
    p = focal_periods(m)
    return m, p, contacts


def test_win_back_brings_lapsed_customers_back_as_a_second_spell():
    m0, p0, contacts0 = _win_back()
    m, p, contacts = _win_back(delay_min=1, delay_max=1)
    assert contacts0 == 0 and p0["won_back"].sum() == 0
    assert p["won_back"].sum() > 100
    spell = m.relationships()["spell"]
    assert (spell == 1).sum() > 100
    per_contact = WinBackParams.model_fields["cost_per_contact"].default
    assert p["fixed_costs"].sum() == per_contact * contacts  # each contact costs cost_per_contact, carried by the firm
    rel = RunResult(m).relationships
    assert np.isclose(rel["clv"].sum(), (p["profit"] + p["fixed_costs"]).sum(), rtol=1e-9)
    # customers who left for a life event are not contacted
    sc = spec(5000, 12, [{"type": "win_back", "coverage": 1.0}], firms=ONE_FIRM,
              mechanisms=NO_ARRIVALS | {"choice": False})
    _, _, events = stepped(sc, 7)
    assert sum(int(((e & bit("win_back")) != 0).sum()) for e in events) == 0


def test_win_back_early_contact_wins_more_than_late_and_incentive_differs_from_dialogue():
    _, early, n_early = _win_back(delay_min=1, delay_max=1)
    _, late, n_late = _win_back(delay_min=4, delay_max=4)
    # return probability per contact: base * exp(-decay * (since - 1)), i.e. 0.47 times lower at 4 periods
    assert_rate_higher(early["won_back"].sum(), n_early, late["won_back"].sum(), n_late, "returns per contact, early - late")
    m_inc, inc, n_inc = _win_back(delay_min=1, delay_max=1, approach="incentive")
    m_dia, dia, n_dia = _win_back(delay_min=1, delay_max=1, approach="dialogue")
    assert_rate_higher(inc["won_back"].sum(), n_inc, dia["won_back"].sum(), n_dia, "returns per contact, incentive - dialogue")
    # an incentive costs discounts on the returners' first periods; a dialogue costs none ...
    assert inc["discounts"].sum() > 0 and dia["discounts"].sum() == 0
    # ... and a returner's trust starts at least at a new customer's (0.3) or her own when she left, raised
    # by dialogue_trust (0.2) after a dialogue and by incentive_trust (0.05) after an incentive
    back = {}
    for name, m, bonus in (("dialogue", m_dia, 0.2), ("incentive", m_inc, 0.05)):
        c = m.customers
        just_back = (c.spell > 0) & (c.rel_start == m.period)  # returned in the last period: not yet updated
        assert just_back.sum() > 0 and (c.trust[just_back] >= 0.3 + bonus - 1e-6).all(), name
        back[name] = c.trust[just_back].mean()
    assert back["dialogue"] > back["incentive"]


# ------------------------------------------------------------------ proactive retention
def _proactive(n, periods, measures, seed=9, **sections):
    m, firms, events = stepped(spec(n, periods, measures, **sections), seed)
    contacts = sum(((e[:n] & bit("proactive_retention")) != 0).astype(int) for e in events)
    considered = sum(((e[:n] & Event.CONSIDERED) != 0).astype(int) for e in events)
    return m, contacts, considered


def test_proactive_risk_targeting_with_a_good_model_keeps_contacted_at_risk_customers():
    n = 10_000
    at_risk = {"segments": [{"initial_satisfaction": 0.45, "fit_sd": 0.25}]}
    off, _, _ = _proactive(n, 6, [], **at_risk)
    lever = {"type": "proactive_retention", "prediction_quality": 0.95, "risk_threshold": 0.2, "save": 0.7, "coverage": 1.0}
    on, contacts, _ = _proactive(n, 6, [lever], **at_risk)
    contacted = contacts > 0
    assert contacted.sum() > 1000
    assert_positive((with_focal(on, n) - with_focal(off, n))[contacted], "contacted customers kept, lever - no lever")


def test_proactive_backfire_contacting_content_customers_with_no_save_raises_churn():
    n = 20_000
    everyone = {"type": "proactive_retention", "save": 0.0, "risk_threshold": 0.0, "coverage": 1.0}
    off, _, looked_off = _proactive(n, 1, [])
    on, contacts, looked_on = _proactive(n, 1, [everyone])
    assert (contacts == 1).all()
    # a contact adds `backfire` to the probability of looking around: on the same numbers it is exactly
    # the customers whose consideration draw falls in [p, p + backfire)
    backfire = ProactiveRetentionParams.model_fields["backfire"].default
    looked = looked_on - looked_off
    assert abs(looked.mean() - backfire) < Z * looked.std(ddof=1) / np.sqrt(n)
    assert_positive(with_focal(off, n) - with_focal(on, n), "churn of contacted content customers, contact - none")
    # churn itself rises by backfire * P(leave | looking around); where a customer who looks around
    # nearly always leaves (a strong outside option), churn rises by about the backfire
    leave = {"choice": {"outside_utility": 8.0}}
    off, _, _ = _proactive(n, 1, [], **leave)
    on, _, _ = _proactive(n, 1, [everyone], **leave)
    d = with_focal(off, n) - with_focal(on, n)
    assert abs(d.mean() - backfire) < Z * d.std(ddof=1) / np.sqrt(n) and d.mean() > 0.75 * backfire


def test_proactive_uplift_targeting_contacts_fewer_content_customers_than_risk_targeting():
    n = 10_000
    two = {"firms": [{"name": "focal", "initial_share": 1.0, "service_quality": 0.9}, {"name": "rival", "initial_share": 0.0}],
           "segments": [{"name": "content", "share": 0.5, "initial_satisfaction": 0.92, "fit_sd": 0.05},
                        {"name": "unhappy", "share": 0.5, "initial_satisfaction": 0.15, "fit_sd": 0.05}]}
    risk, by_risk, _ = _proactive(n, 3, [{"type": "proactive_retention", "risk_threshold": 0.03}], **two)
    _, by_uplift, _ = _proactive(n, 3, [{"type": "proactive_retention", "targeting": "uplift"}], **two)
    content = risk.customers.segment[:n] == 0
    assert_positive((by_risk - by_uplift)[content], "contacts of content customers, risk (threshold 0.03) - uplift")
    # both still reach the unhappy: uplift targeting those whose predicted risk exceeds backfire / save
    # (1/6 with the defaults), most of them
    assert by_uplift[~content].sum() > 0.6 * by_risk[~content].sum()


def test_proactive_contacts_do_not_open_decisions_outside_the_purchase_cycle():
    lever = {"type": "proactive_retention", "risk_threshold": 0.0, "coverage": 1.0}
    _, firms, events = stepped(spec(5000, 6, [lever], segments=[{"purchase_cycle": 6}]), 13)
    off_cycle = sum(int(((e & Event.CONSIDERED) != 0).sum()) for e in events[:5])
    assert off_cycle == 0


# ------------------------------------------------------------------ price changes, explained or not
def test_an_explained_price_rise_keeps_more_trust_and_customers_than_an_unexplained_one():
    n = 30_000  # an unexplained 20 % rise costs 0.05 of trust: a small effect on retention, so many customers

    def run(explained):
        lever = {"type": "price_change", "factor": 1.2, "explained": explained, "schedule": {"start": 2}}
        return run_model(spec(n, 12, [lever]), seed=14)

    told, untold = run(True), run(False)
    keep = same_relationship(n, told, untold)
    assert_positive(told.customers.trust[:n][keep] - untold.customers.trust[:n][keep], "trust, explained - unexplained")
    assert_positive(with_focal(told, n) - with_focal(untold, n), "retention, explained - unexplained")


def test_a_price_rise_loses_customers():
    n = 10_000
    base = run_model(spec(n, 12), seed=14)
    rise = run_model(spec(n, 12, [{"type": "price_change", "factor": 1.2, "schedule": {"start": 2}}]), seed=14)
    assert_positive(with_focal(base, n) - with_focal(rise, n), "retention, no rise - rise")


# ------------------------------------------------------------------ referrals and word of mouth
SATISFIED = {"firms": [{"name": "focal", "initial_share": 1.0, "service_quality": 0.9},
                       {"name": "rival", "initial_share": 0.0, "price": 26.0}],
             "segments": [{"initial_satisfaction": 0.85}]}


def _referral(n=10_000, periods=24, **lever):
    return run_model(spec(n, periods, [{"type": "referral", **lever}], **SATISFIED), seed=11)


def test_referred_customers_arrive_and_cost_the_reward():
    # arrivals on (referrals are arrivals), no acquisition budget: every new customer is referred
    m = run_model(spec(5000, 12, [{"type": "referral", "referrals_per_promoter": 0.01, "referral_reward": 20.0}],
                       mechanisms={}, **SATISFIED), seed=11)
    p = focal_periods(m)
    assert p["referred"].sum() > 100 and (p["referred"] == p["acquired"]).all()
    assert np.allclose(p["acquisition_costs"], 20.0 * p["referred"])
    rel = RunResult(m).relationships
    assert np.isclose(rel.loc[rel["firm"] == "focal", "clv"].sum(), (p["profit"] + p["fixed_costs"]).sum(), rtol=1e-9)


def test_word_of_mouth_from_satisfied_customers_lowers_churn():
    n = 10_000
    silent, heard = _referral(word_weight=0.0, referrals_per_promoter=0.0), _referral(word_weight=0.3, referrals_per_promoter=0.0)
    assert silent.firms[0].nps > 50  # most customers are promoters
    assert_positive(with_focal(heard, n) - with_focal(silent, n), "retention, word weight 0.3 - 0")


def test_referrals_leave_the_initial_customers_lives_unchanged():
    # common random numbers hold per customer: referred customers listen to the customers already there,
    # but nobody who was there listens to them, so adding referrals changes nothing for the initial customers
    n = 5000
    sc = lambda rate: spec(n, 12, [{"type": "referral", "word_weight": 0.3, "referrals_per_promoter": rate}],
                           mechanisms={}, **SATISFIED)
    a, b = run_model(sc(0.0), seed=11), run_model(sc(0.02), seed=11)
    assert b.customers.n > a.customers.n
    for col in ("firm", "satisfaction", "trust", "clv"):
        assert np.array_equal(getattr(a.customers, col)[:n], getattr(b.customers, col)[:n]), col


def test_compare_runs_a_scenario_with_word_of_mouth():
    from sim.compare import compare

    base = spec(1000, 4, mechanisms={})
    with_word = spec(1000, 4, [{"type": "referral"}], mechanisms={})
    assert compare([base, with_word], replications=2) is not None


# ------------------------------------------------------------------ ecosystem lock-in
ECOSYSTEM = {"type": "ecosystem", "cross_sell": 0.2}


def test_ecosystem_cross_selling_raises_lockin_attachment_revenue_and_retention():
    n = 10_000
    off = run_model(spec(n, 24), seed=12)
    on = run_model(spec(n, 24, [ECOSYSTEM]), seed=12)
    c = on.customers
    assert (c.products[:n][c.firm[:n] == 0] > 0).mean() > 0.5
    assert c.lockin[:n][c.firm[:n] == 0].mean() > 40.0 and off.customers.lockin.max() == 0.0
    assert on.firms[0].mean_attachment > off.firms[0].mean_attachment + 0.2
    assert on.firms[0].revenue / on.firms[0].active > off.firms[0].revenue / off.firms[0].active + 4.0
    assert_positive(with_focal(on, n) - with_focal(off, n), "retention, ecosystem - none")


def test_ecosystem_ageing_erodes_lockin():
    n = 10_000
    young = run_model(spec(n, 24, [ECOSYSTEM]), seed=12)
    aged = run_model(spec(n, 24, [ECOSYSTEM | {"ageing_from": 12, "erosion": 0.1}]), seed=12)
    keep = same_relationship(n, young, aged)
    assert_positive(young.customers.lockin[:n][keep] - aged.customers.lockin[:n][keep], "lock-in, young - aged technology")
    assert_positive(with_focal(young, n) - with_focal(aged, n), "retention, young - aged technology")


def test_ecosystem_adds_lockin_with_default_segments():
    on = run_model(spec(5000, 12, [ECOSYSTEM]), seed=12)
    c = on.customers
    assert (c.products[c.firm == 0] > 0).any()
    assert c.lockin[c.firm == 0].mean() > 0.0


# ------------------------------------------------------------------ switching bonus, paid exit fees, late entry
COMPETITION = [{"name": "focal", "initial_share": 1.0}, {"name": "rival", "initial_share": 0.0, "price": 28.0}]
CONTRACT = {"type": "contract", "exit_fee": 100.0, "term": 24}


def _poached(*offer):
    m = run_model(spec(10_000, 12, [CONTRACT, *offer], firms=COMPETITION), seed=12)
    return m, focal_periods(m), focal_periods(m, "rival")


def test_a_rivals_switching_bonus_and_paid_exit_fee_raise_the_focal_firms_switching_out():
    m0, f0, r0 = _poached()
    bonus = {"type": "switching_bonus", "firm": "rival", "bonus": 50.0}
    m1, f1, r1 = _poached(bonus)
    m2, f2, r2 = _poached(bonus | {"pay_exit_fee": True})
    assert_count_higher(f1["switched_out"].sum(), f0["switched_out"].sum(), "switched out, bonus - none")
    assert_count_higher(f2["switched_out"].sum(), f1["switched_out"].sum(), "switched out, bonus and fee paid - bonus")
    assert_positive(with_focal(m0, 10_000) - with_focal(m1, 10_000), "retention, no offer - bonus")
    # the offer's cost is the rival's: the bonus per switcher, plus the exit fee it pays for her; the
    # last period's switchers start (and are paid) after the run
    assert r0["measure_costs"].sum() == 0.0
    assert np.allclose(r1["measure_costs"][:-1], 50.0 * r1["switched_in"][:-1]) and r1["measure_costs"].iloc[-1] == 0.0
    # all switch within the term; the fee declines with the periods left: 100 * (23 - t) / 24 after period t
    # of the contract signed at 0 (from period 4 on, a few switchers are back from the rival on a later
    # contract, whose fee is higher: never more than the whole fee)
    t = np.arange(4)
    assert np.allclose(r2["measure_costs"][:4], (50.0 + 100.0 * (23 - t) / 24) * r2["switched_in"][:4])
    per_switcher = r2["measure_costs"][:-1] / r2["switched_in"][:-1]
    assert ((per_switcher >= 50.0 + 100.0 * (23 - np.arange(len(per_switcher))) / 24 - 1e-9).all()
            and (per_switcher <= 150.0).all())


def test_a_competitor_entering_late_is_no_option_before_it_enters():
    firms = [{"name": "focal", "initial_share": 1.0}, {"name": "rival", "initial_share": 0.0, "price": 24.0, "enters_at": 4}]
    m = run_model(spec(5000, 8, firms=firms), seed=2)
    r = focal_periods(m, "rival")
    assert (r["switched_in"][:4] == 0).all() and r["switched_in"][4:].sum() > 50


# ------------------------------------------------------------------ price reaction
def test_a_rivals_price_follows_the_focal_price_with_lag_and_ratio():
    firms = [{"name": "focal", "initial_share": 0.5}, {"name": "rival", "initial_share": 0.5}]
    sc = spec(2000, 10, [{"type": "price_change", "factor": 1.5, "schedule": {"start": 4}},
                         {"type": "price_reaction", "firm": "rival", "ratio": 0.9, "lag": 2}], firms=firms)
    m = RetentionModel(sc, rng=1)
    focal, rival = [], []
    for _ in range(10):
        m.step()
        focal.append(m.engine.firms.list_price[0])
        rival.append(m.engine.firms.list_price[1])
        assert np.isclose(m.firms[1].revenue / m.firms[1].active, rival[-1])  # what its customers pay
    for t in range(2, 10):
        assert np.isclose(rival[t], 0.9 * focal[t - 2])
    assert rival[5] == pytest.approx(27.0) and rival[6] == pytest.approx(40.5)


# ------------------------------------------------------------------ account management and B2B accounts
TURNOVER = {"segments": [{"contact_turnover": 0.15, "personal_share": 0.8}]}


def test_account_management_keeps_trust_and_accounts_when_contacts_change():
    n = 10_000
    off = run_model(spec(n, 24, **TURNOVER), seed=12)
    on = run_model(spec(n, 24, [{"type": "account_management", "handover": 0.9}], **TURNOVER), seed=12)
    keep = same_relationship(n, on, off)
    assert_positive(on.customers.trust[:n][keep] - off.customers.trust[:n][keep], "trust, managed - unmanaged")
    assert_positive(with_focal(on, n) - with_focal(off, n), "retention, managed - unmanaged")


def test_b2b_contact_turnover_lowers_trust():
    n = 10_000
    steady = run_model(spec(n, 24), seed=12)
    turnover = run_model(spec(n, 24, **TURNOVER), seed=12)
    keep = same_relationship(n, steady, turnover)
    assert_positive(steady.customers.trust[:n][keep] - turnover.customers.trust[:n][keep], "trust, no turnover - turnover")


def test_b2b_buying_centre_of_five_considers_less_often_than_one_person():
    n = 5000
    _, _, one = stepped(spec(n, 12), 13)
    _, _, five = stepped(spec(n, 12, segments=[{"buying_centre": 5}]), 13)
    looked = lambda events: sum(((e[:n] & Event.CONSIDERED) != 0).astype(int) for e in events)
    assert_positive(looked(one) - looked(five), "periods considering alternatives, 1 person - 5")
    # in period 0 (same state, same numbers) a majority of five looks around only if one person would
    assert not ((five[0][:n] & Event.CONSIDERED) & ~(one[0][:n] & Event.CONSIDERED)).any()


def test_b2b_purchase_cycle_concentrates_decisions_at_cycle_ends():
    _, firms, events = stepped(spec(5000, 18, segments=[{"purchase_cycle": 6}]), 13)
    choices = Event.CONSIDERED | Event.SWITCHED | Event.LEFT_MARKET
    per_period = [int(((e & choices) != 0).sum()) for e in events]
    ends = {5, 11, 17}  # tenure + 1 divisible by 6 for relationships starting in period 0
    assert all(per_period[t] == 0 for t in range(18) if t not in ends)
    # at a decision point about 5.5 % of 5,000 look around (base consideration 0.04 plus the unhappy few):
    # about 275, whose Poisson SE is 17; 200 is more than 4 SE below
    assert all(per_period[t] > 200 for t in ends)
    # life events still happen in any period
    assert all(((e & Event.LIFE_EVENT) != 0).any() for e in events)


# ------------------------------------------------------------------ budget split
def test_budget_split_more_retention_means_lower_churn_and_fewer_acquisitions():
    n = 10_000

    def run(share):
        lever = {"type": "budget_split", "budget": 20000.0, "retention_share": share}
        return run_model(spec(n, 24, [lever], mechanisms={}), seed=12)

    acquiring, keeping = run(0.1), run(0.9)
    a, k = focal_periods(acquiring), focal_periods(keeping)
    assert_count_higher(a["acquired"].sum(), k["acquired"].sum(), "acquisitions, retention share 0.1 - 0.9")
    assert_positive(with_focal(keeping, n) - with_focal(acquiring, n), "initial customers kept, share 0.9 - 0.1")
    assert k["measure_costs"].sum() > a["measure_costs"].sum() and a["acquisition_costs"].sum() > k["acquisition_costs"].sum()


# ------------------------------------------------------------------ the older levers, on common random numbers
@pytest.mark.parametrize("lever", [
    {"type": "service", "quality_boost": 0.2},
    {"type": "discount", "rate": 0.15},
    {"type": "contract", "exit_fee": 150.0, "term": 24, "forced_penalty": 0.0},
    {"type": "nostalgia", "cohort": "1980s", "authenticity": 0.95, "intensity": 0.4},
], ids=lambda d: d["type"])
def test_older_levers_keep_customers(lever):
    n = 10_000
    off = run_model(spec(n, 12), seed=15)
    on = run_model(spec(n, 12, [lever]), seed=15)
    reached = on.customers.cohort[:n] == 1 if lever["type"] == "nostalgia" else np.ones(n, dtype=bool)  # 1980s
    assert_positive((with_focal(on, n) - with_focal(off, n))[reached], f"retention with {lever['type']} - without")


# ------------------------------------------------------------------ targeting: a lever reaches only its target
@pytest.mark.parametrize("lever", [
    {"type": "budget_split"}, {"type": "discount"}, {"type": "loyalty_programme"}, {"type": "service"},
    {"type": "complaint_handling", "capacity": 500.0},
    pytest.param({"type": "complaint_handling", "capacity": 5.0}, id="complaint_handling-short"),
    {"type": "onboarding"}, {"type": "contract"}, {"type": "nostalgia", "cohort": "1980s"}, {"type": "proactive_retention"},
    {"type": "ecosystem", "ageing_from": 3}, {"type": "account_management"}, {"type": "referral"},
], ids=lambda d: d["type"])
def test_a_lever_aimed_at_one_segment_leaves_the_other_exactly_as_before(lever):
    segment = {"contact_turnover": 0.1, "lockin_max": 100.0}
    sc = lambda measures: spec(4000, 8, measures, segments=[{"name": "a", "share": 0.5, **segment},
                                                            {"name": "b", "share": 0.5, **segment}])
    off = run_model(sc([]), seed=3)
    on = run_model(sc([lever | {"target": {"segment": "a"}}]), seed=3)
    b = off.customers.segment == 1
    columns = ("firm", "satisfaction", "trust", "commitment", "lockin", "clv")
    assert any(not np.array_equal(getattr(off.customers, k)[~b], getattr(on.customers, k)[~b]) for k in columns)
    for k in columns:
        assert np.array_equal(getattr(off.customers, k)[b], getattr(on.customers, k)[b]), k


# ------------------------------------------------------------------ costs: every lever's cost in the books
PER_CUSTOMER = [  # (lever, cost per reached customer and period, as its docstring says)
    # points cost when redeemed (tests/test_books.py): with nothing redeemed, a member costs cost_per_member
    ({"type": "loyalty_programme", "cost_per_member": 0.3, "earn_rate": 0.03, "redemption_rate": 0.0}, 0.3),
    ({"type": "onboarding", "cost_per_customer": 3.0}, 3.0),
    ({"type": "complaint_handling", "capacity": 40.0, "cost_per_slot": 25.0}, 40.0 * 25.0 / 1000.0),
    ({"type": "proactive_retention", "cost_per_contact": 2.0}, 2.0),
    ({"type": "ecosystem", "cost_per_offer": 1.0}, 1.0),
    ({"type": "account_management", "cost_per_account": 20.0}, 20.0),
    ({"type": "budget_split", "budget": 5000.0, "retention_share": 0.5, "cost_per_customer": 2.0}, 2.0),
    ({"type": "service", "cost_per_customer": 2.0}, 2.0),
    ({"type": "nostalgia", "cohort": "1980s", "cost_per_customer": 1.0}, 1.0),
    # the dose cost models (no cost stated): list price 30 x share at the reference dose x (dose / reference)^2
    pytest.param({"type": "service", "quality_boost": 0.2, "handling_boost": 0.3}, 30.0 * (0.04 * 4 + 0.01), id="service-dose"),
    pytest.param({"type": "nostalgia", "cohort": "1980s", "intensity": 0.6}, 30.0 * 0.03 * 4, id="nostalgia-dose"),
    pytest.param({"type": "onboarding", "reassurance": 0.35}, 30.0 * 0.1 / 4, id="onboarding-dose"),
    pytest.param({"type": "account_management", "handover": 0.6}, 30.0 * 0.02, id="account_management-dose"),
]


@pytest.mark.parametrize("lever,cost", PER_CUSTOMER, ids=lambda v: v["type"] if isinstance(v, dict) else None)
def test_cost_of_each_lever_is_in_the_books(lever, cost):
    """Measure costs = cost per reached customer x customers reached (the lever's event bit), every
    period; a fixed cost is in fixed_costs; and CLV still adds up to profit + fixed costs."""
    sc = spec(3000, 6, [lever | {"fixed_cost": 7.0}], mechanisms={})
    m, firms, events = stepped(sc, 16)
    p = focal_periods(m)
    # only the focal firm runs the lever, so every row with its bit (arrivals included) is one it reached
    reached = [int(((e & bit(lever["type"])) != 0).sum()) for e in events]
    assert sum(reached) > 0
    assert np.allclose(p["measure_costs"], cost * np.array(reached), rtol=1e-6)
    assert np.allclose(p["fixed_costs"], 7.0)
    rel = RunResult(m).relationships
    assert np.isclose(rel.loc[rel["firm"] == "focal", "clv"].sum(), (p["profit"] + p["fixed_costs"]).sum(), rtol=1e-9)


def test_costs_of_levers_without_a_per_customer_cost():
    # onboarding reaches (and costs) only customers in their post-purchase periods, tenure 1..3
    m = RetentionModel(spec(3000, 6, [{"type": "onboarding", "cost_per_customer": 3.0}]), rng=16)
    due = []
    for t in range(6):
        c = m.customers
        tenure = t - c.rel_start
        due.append(int(((c.firm == 0) & (tenure >= 1) & (tenure <= 3)).sum()))
        m.step()
        assert m.firms[0].measure_costs == 3.0 * due[-1]
    # the initial cohort is in its post-purchase periods in 1..3; later only the few who came back from the rival
    assert due[0] == 0 and min(due[1:4]) > 2000 and max(due[4:]) < 100
    # price rules change revenue, not costs
    sc = spec(3000, 4, [{"type": "price_change", "factor": 1.2}, {"type": "price_reaction", "firm": "rival", "ratio": 0.9}],
              firms=[{"name": "focal", "initial_share": 0.5}, {"name": "rival", "initial_share": 0.5}])
    m = run_model(sc, seed=16)
    for firm in ("focal", "rival"):
        p = focal_periods(m, firm)
        assert (p["measure_costs"] == 0).all() and (p["fixed_costs"] == 0).all()


# ------------------------------------------------------------------ the books identity with every lever on
def every_lever(periods: int) -> list[dict]:
    return [
        {"type": "price_change", "factor": 1.1, "explained": True, "schedule": {"start": 6}},
        {"type": "price_reaction", "firm": "rival", "ratio": 0.95, "lag": 2},
        {"type": "switching_bonus", "firm": "rival", "bonus": 30.0, "pay_exit_fee": True},
        {"type": "budget_split", "budget": 3000.0, "retention_share": 0.3},
        {"type": "discount", "rate": 0.1, "schedule": {"start": 3, "end": 9}},
        {"type": "loyalty_programme", "fixed_cost": 10.0},
        {"type": "service", "firm": "rival", "cost_per_customer": 1.0},
        {"type": "complaint_handling"},
        {"type": "onboarding"},
        {"type": "contract", "exit_fee": 60.0, "term": 6},
        {"type": "nostalgia", "cohort": "1980s"},
        {"type": "proactive_retention"},
        {"type": "ecosystem", "ageing_from": 10},
        {"type": "account_management", "cost_per_account": 1.0},
        {"type": "referral", "referrals_per_promoter": 0.05},
        {"type": "win_back", "approach": "incentive"},
        {"type": "win_back", "firm": "rival"},
    ]


def _every_lever_run(measures, periods=24, seed=8):
    sc = scenario(simulation={"customers": 3000, "periods": periods, "discount_rate": 0.0},
                  firms=[{"name": "focal", "initial_share": 0.6, "acquisition_spend": 3000.0, "cost_per_acquisition": 100.0},
                         {"name": "rival", "initial_share": 0.4, "acquisition_spend": 1000.0}],
                  segments=[{"contact_turnover": 0.05, "lockin_max": 200.0, "buying_centre": 3}],
                  measures=measures)
    return RunResult(run_model(sc, seed=seed))


def test_clv_adds_up_to_profit_plus_fixed_costs_with_every_lever_on():
    measures = every_lever(24)
    assert {m["type"] for m in measures} == set(CODE)
    res = _every_lever_run(measures)
    rel, p = res.relationships, res.periods
    for firm in ("focal", "rival"):
        fp = p[p["firm"] == firm]
        assert np.isclose(rel.loc[rel["firm"] == firm, "clv"].sum(), (fp["profit"] + fp["fixed_costs"]).sum(), rtol=1e-9), firm
    total = p.groupby("firm", observed=True)[["measure_costs", "fixed_costs", "acquisition_costs", "referred", "won_back",
                                              "discounts", "exit_fees"]].sum()
    assert (total.loc["focal"] > 0).all(), total  # every kind of lever money shows at the focal firm
    assert total.loc["rival", "won_back"] > 0 and total.loc["rival", "measure_costs"] > 0


def test_switching_offer_costs_of_last_period_switchers_are_in_some_clv():
    sc = spec(2000, 3, [{"type": "switching_bonus", "firm": "rival", "bonus": 50.0}])
    res = RunResult(run_model(sc, seed=1))
    rel, p = res.relationships, res.periods
    r = p[p["firm"] == "rival"]
    assert r["switched_in"].iloc[-1] > 0
    assert np.isclose(rel.loc[rel["firm"] == "rival", "clv"].sum(), (r["profit"] + r["fixed_costs"]).sum(), rtol=1e-9)


# ------------------------------------------------------------------ docs/levers.md
def test_every_lever_has_a_section_and_a_valid_example_in_the_docs():
    import re
    import tomllib
    from pathlib import Path

    from sim.params import Scenario

    text = (Path(__file__).resolve().parents[2] / "docs" / "levers.md").read_text(encoding="utf-8")
    shown = set()
    for block in re.findall(r"```toml\n(.*?)```", text, flags=re.S):
        sc = Scenario.model_validate(tomllib.loads(block))  # every example is a valid scenario on its own
        shown |= {m.type for m in sc.measures}
    assert shown == set(CODE)
    tests = Path(__file__).resolve().parents[1]
    defined = set(re.findall(r"^def (test_\w+)", "\n".join(p.read_text(encoding="utf-8") for p in tests.rglob("test_*.py")),
                             flags=re.M))
    for name in set(re.findall(r"(test_\w+)", text)) - {"test_levers", "test_measures", "test_stylized_facts"}:
        assert any(d.startswith(name) for d in defined), f"docs/levers.md names {name}, which is no test"  # "…" abbreviates


# ------------------------------------------------------------------ contracts that bind as contracts do
def _held(fee_schedule: str, exit_fee: float, quality: float = 0.6):
    """Churn of the focal firm's customers in the 11 periods of a 12-period contract (the expiry period
    left out), and the model."""
    c = {"type": "contract", "term": 12, "exit_fee": exit_fee, "fee_schedule": fee_schedule, "renewal_prob": 0.0}
    firms = [dict(COMPETITION[0], service_quality=quality), COMPETITION[1]]
    m = run_model(spec(10_000, 12, [c], firms=firms), seed=14)
    f = focal_periods(m)
    return f["churned"][:11].sum(), f["active"][:11].sum(), m


def test_a_declining_fee_holds_less_late_in_the_term_than_a_flat_one():
    """The same fee, flat or declining with the months left: customers leave more under the declining
    fee, and pay less when they do."""
    k_flat, n_flat, m_flat = _held("flat", 360.0)
    k_decl, n_decl, m_decl = _held("declining", 360.0)
    assert_rate_higher(k_decl, n_decl, k_flat, n_flat, "in-contract churn, declining - flat fee")
    fees = {name: focal_periods(m) for name, m in (("flat", m_flat), ("declining", m_decl))}
    per_payer = {k: f["exit_fees"].sum() / f["left_paying_fee"].sum() for k, f in fees.items()}
    assert per_payer["flat"] == pytest.approx(360.0) and per_payer["declining"] < 300.0


def test_no_fee_is_a_wall_unhappy_customers_leave_under_contract_and_pay():
    """A fee of 100 months' price holds content customers, but the felt barrier saturates: customers of
    a firm with poor service still leave under contract, and they pay the fee."""
    k, n, m = _held("flat", 3000.0, quality=0.1)
    f = focal_periods(m)
    assert (k / n > 0.002 and f["left_paying_fee"].sum() > 50
            and f["exit_fees"].sum() == pytest.approx(3000.0 * f["left_paying_fee"].sum()))


# ------------------------------------------------------------------ promotions reach beyond the firm's customers
PROMO_FIRMS = [{"name": "focal", "initial_share": 0.5, "acquisition_spend": 3000.0},
               {"name": "rival", "initial_share": 0.5, "acquisition_spend": 3000.0}]
SALE = {"type": "discount", "firm": "rival", "rate": 0.25}


def _promo(*measures, periods: int = 12, customers: int = 10_000, **sections):
    """Two equal firms with arrivals; returns the model and the focal firm's and the rival's periods."""
    sections.setdefault("mechanisms", {})  # arrivals on
    m = run_model(spec(customers, periods, list(measures), firms=PROMO_FIRMS, **sections), seed=21)
    return m, focal_periods(m), focal_periods(m, "rival")


def test_a_promotion_draws_prospects_and_the_rivals_customers():
    """A rival's discount raises its arrivals, deal-seekers most, and the focal firm's customers, who see
    its offer when they look around, switch to it more."""
    segs = [{"name": "deal_seekers", "share": 0.5, "price_sensitivity": 2.5},
            {"name": "regulars", "share": 0.5, "price_sensitivity": 0.5}]
    _, f0, r0 = _promo(segments=segs)
    m, f1, r1 = _promo(SALE, segments=segs)
    assert_count_higher(r1["acquired"].sum(), r0["acquired"].sum(), "rival's arrivals, sale - none")
    assert_count_higher(f1["switched_out"].sum(), f0["switched_out"].sum(), "focal customers switching out, rival's sale - none")
    c = m.customers
    new = (c.firm == 1) & (c.joined > 0)
    share_deal = (c.segment[new] == 0).mean()
    assert share_deal > 0.5 + Z * np.sqrt(0.25 / new.sum())  # deal-seekers are over-represented among its newcomers


def test_without_the_promotion_mechanism_a_rivals_discount_reaches_only_its_own_customers():
    _, _, r_on = _promo(SALE)
    _, _, r_off = _promo(SALE, mechanisms={"promotion": False})
    _, _, r_none = _promo(mechanisms={"promotion": False})
    assert (r_off["acquired"] == r_none["acquired"]).all()  # arrivals exactly as bought
    assert r_on["acquired"].sum() > r_off["acquired"].sum()


def test_an_introductory_offer_reaches_only_new_customers_and_sets_no_false_expectation():
    intro = {"type": "discount", "rate": 0.2, "intro_periods": 3}
    m, f, _ = _promo(intro, periods=8, customers=5000)
    c = m.customers
    assert f["discounts"][:3].min() > 0 and f["discounts"][3] < f["discounts"][:3].mean() / 3  # the cohort paid less in 0-2
    old = (c.firm == 0) & (c.joined == 0) & (c.rel_start == 0)
    assert np.allclose(c.reference_price[old], 30.0, atol=0.5)  # the list price is still what they expect
