"""The shipped scenario library: every scenario validates, runs and answers its question with numbers
from its own run; variants extend their base; the calibrated defaults reproduce their targets.

Stochastic checks are seeded and state their tolerance in standard errors (4 SE, see
``conftest.z_tolerance``), computed from the counts of the run itself.
"""

from __future__ import annotations

import math
import re
import tomllib

import pytest

import sim
from sim.params import Scenario
from sim.scenario import load, shipped_scenarios

SHIPPED = shipped_scenarios()
NAMES = sorted(SHIPPED)
PLACEHOLDER = re.compile(r"\{([^{}:]+)(?::([^{}]*))?\}")  # {dotted.path:format}, as sim.results fills them
Z = 4.0  # tolerance in standard errors (two-sided false-alarm rate about 6e-5 per check)

# variant -> the scenario it varies (each must say so with `extends`)
VARIANTS = {
    "telecom_contract_types": "telecom",
    "contract_renewal_offer": "telecom",
    "discount_sale_service": "ecommerce",
    "b2b_software_weak": "b2b_software",
    "b2b_software_contact_turnover": "b2b_software",
    "nostalgia_young_brand": "nostalgia_established_brand",
    "monopoly_entry_bonded": "monopoly_entry",
}

# IBM Telco customer churn sample: customers and churned customers by contract type
IBM_TELCO = {"month_to_month": (3875, 1655), "twelve_month": (1473, 166), "twenty_four_month": (1695, 48)}
TELECOM_WINDOW = 24  # months: the chosen window (see telecom_contract_types.toml)


def _raw(name: str) -> dict:
    return tomllib.loads(SHIPPED[name].read_text(encoding="utf-8"))


def test_at_least_eleven_scenarios_are_shipped():
    assert len(SHIPPED) >= 11, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_file_opens_with_its_question_and_states_question_and_answer(name):
    text = SHIPPED[name].read_text(encoding="utf-8")
    assert text.startswith("# Question:")
    assert name == name.lower() and re.fullmatch(r"[a-z0-9_]+", name), "file names are lowercase_with_underscores"
    sc = load(name)
    assert sc.name == name
    assert sc.question.strip()
    assert len(PLACEHOLDER.findall(sc.answer)) >= 2, "the answer should quote numbers from the run"


@pytest.mark.parametrize("variant, base", sorted(VARIANTS.items()))
def test_variants_extend_their_base(variant, base):
    assert _raw(variant).get("extends") == base
    assert base in SHIPPED


def test_every_extends_names_a_shipped_scenario():
    for name in NAMES:
        base = _raw(name).get("extends")
        if base is not None:
            assert base in SHIPPED, f"{name} extends {base!r}, which is not shipped"


@pytest.mark.parametrize("name", NAMES)
def test_each_scenario_runs_small_and_answers_with_numbers(name):
    """2,000 customers over the scenario's own horizon (its measures' schedules need it); the answer
    names its counterfactual and states the lever's effect as a paired difference with a 95 % interval
    (as ``retention-sim run`` does, here over 3 replications)."""
    from sim.compare import effect

    res = sim.run(name, seed=1, overrides={"simulation.customers": 2000})
    assert res.scenario.counterfactual is not None, "every shipped scenario names its counterfactual"
    res.effect = effect(res.scenario, 3, seed=1)
    answer = res.answer
    assert f"without {res.scenario.counterfactual.lever}" in answer
    assert re.search(r"95 % CI -?[\d,.]+.* to -?[\d,.]+", answer), answer
    assert isinstance(answer, str) and answer
    assert "{" not in answer and "}" not in answer
    assert "n/a" not in answer, f"a placeholder is undefined at 2,000 customers: {answer}"
    n_numbers = len(re.findall(r"\d[\d,.]*%?", answer))
    assert n_numbers >= len(PLACEHOLDER.findall(res.scenario.answer))


@pytest.mark.parametrize("name", NAMES)
def test_no_answer_compares_loyalty_classes(name):
    """The class a relationship held longest is an outcome of how long it lasted, so its CLV is no
    evidence of what a bond or a barrier is worth: answers quote no CLV by loyalty class."""
    assert "by_loyalty_class" not in load(name).answer


@pytest.mark.parametrize("name", NAMES)
def test_each_answer_still_fills_on_a_short_horizon(name):
    """A user may cut the horizon (--periods): figures the run cannot give read "n/a", the answer
    never names a summary key that a shorter run lacks (such as a churn year that was not reached)."""
    shortest = 1 + max((m.schedule.start for m in load(name).measures), default=0)
    res = sim.run(name, seed=1, overrides={"simulation.customers": 300, "simulation.periods": shortest})
    assert "{" not in res.answer


def test_a_figure_beyond_the_horizon_reads_na():
    from sim.results import fill_answer

    summary = {"firms": {"focal": {"churn_per_year": {"year_1": 0.25}, "retention": {"12_months": None}}}}
    text = (
        "{firms.focal.churn_per_year.year_1:.0%}, {firms.focal.churn_per_year.year_5:.0%}, "
        "{firms.focal.retention.12_months:.0%}"
    )
    assert fill_answer(text, summary) == "25%, n/a, n/a"


# ------------------------------------------------------------------ B2B: DIM-B2B's five-year loss
def _five_year_loss(name: str, seed: int = 3) -> tuple[float, float]:
    """The focal firm's loss of its period-0 customers over 60 periods, as the acceptance check reads
    it (1 - cohort_active[last] / cohort_active[first]), and its binomial standard error."""
    res = sim.run(name, seed=seed, overrides={"simulation.customers": 10000, "simulation.periods": 60})
    p = res.periods
    cohort = p[p["firm"] == res.scenario.firms[0].name].sort_values("period")["cohort_active"].to_numpy()
    loss = 1 - cohort[-1] / cohort[0]
    return loss, math.sqrt(loss * (1 - loss) / cohort[0])


def test_b2b_software_is_the_first_b2b_scenario():
    assert [n for n in NAMES if "b2b" in n][0] == "b2b_software"


def test_b2b_typical_firm_loses_30_to_50_percent_in_five_years():
    loss, se = _five_year_loss("b2b_software")
    assert se < 0.008
    assert 0.30 + Z * se <= loss <= 0.50 - Z * se, (loss, se)


def test_b2b_weak_variant_loses_more_than_half_in_five_years():
    loss, se = _five_year_loss("b2b_software_weak")
    assert loss >= 0.50 + Z * se, (loss, se)


# ------------------------------------------------------------------ telecom: churn by contract type
# (the ratios the scenario is fitted to are the pattern suite's "contract types" patterns, tests/test_patterns.py)
@pytest.fixture(scope="module")
def telecom_churn_by_contract() -> dict[str, tuple[float, float]]:
    """Churned share of the focal firm's period-0 customers in the first 24 months, by contract type,
    pooled over four seeds at the scenario's 20,000 customers: (share, standard error)."""
    counts = {seg: [0, 0] for seg in IBM_TELCO}
    for seed in (1, 2, 3, 4):
        res = sim.run("telecom_contract_types", seed=seed)
        first = res.first_relationships
        mine = first[first["firm"] == res.scenario.firms[0].name]
        for seg, g in mine.groupby("segment", observed=True):
            counts[str(seg)][0] += len(g)
            counts[str(seg)][1] += int(((g["end"] < TELECOM_WINDOW) & ~g["censored"]).sum())
    out = {}
    for seg, (n, churned) in counts.items():
        share = churned / n
        out[seg] = (share, math.sqrt(share * (1 - share) / n))
    return out


def test_telecom_contract_types_window_is_the_horizon():
    sc = load("telecom_contract_types")
    assert sc.simulation.periods == TELECOM_WINDOW
    assert [s.name for s in sc.segments] == list(IBM_TELCO)
    assert _raw("telecom_contract_types")["extends"] == "telecom"


def test_telecom_two_year_churn_is_not_fitted_below_the_life_event_floor(telecom_churn_by_contract):
    """The sample's two-year churn (2.8 %) is below what life events alone take in 24 months (about 5 %);
    the scenario fits the ratios, not the levels, and never fits life events: its two-year churn stays
    at or above the floor."""
    floor = 1 - (1 - load("telecom_contract_types").segments[2].background_churn.p) ** TELECOM_WINDOW
    share, se = telecom_churn_by_contract["twenty_four_month"]
    assert share >= floor - Z * se, (share, floor, se)


def test_telecom_stays_the_focal_price_scenario_that_compare_expects():
    text = SHIPPED["telecom"].read_text(encoding="utf-8")
    first_firm = text[text.index("[[firms]]"):]
    assert re.search(r"^price\s*=", first_firm.split("[[firms]]")[1], re.M), "the first [[firms]] entry sets a price"
    assert load("telecom").firms[0].name == "focal"
    assert {"twelve_month", "twenty_four_month"} <= {s.name for s in load("telecom").segments}


# ------------------------------------------------------------------ the complaint recovery effect
def test_recovery_bonus_is_on_by_default_and_modest():
    bonus = Scenario().experience.recovery_bonus
    assert bonus == pytest.approx(0.05)
    assert bonus <= Scenario().experience.noise  # within one SD of an ordinary month's experience
    for name in NAMES:
        assert load(name).experience.recovery_bonus == pytest.approx(bonus), f"{name} changes the recovery bonus"


def test_recovery_bonus_moves_satisfaction_a_little():
    """Common random numbers: the same customers with and without the bonus. It raises mean
    satisfaction, but by less than a hundredth, and 60-month retention by less than a point."""
    runs = {}
    for b in (0.0, 0.05):
        res = sim.run("telecom", seed=1, overrides={"experience.recovery_bonus": b, "simulation.customers": 5000})
        focal = res.periods[res.periods["firm"] == "focal"]
        runs[b] = (float(focal["mean_satisfaction"].mean()), res.summary["firms"]["focal"]["retention"]["60_months"])
    gain = runs[0.05][0] - runs[0.0][0]
    assert 0 < gain < 0.01
    assert abs(runs[0.05][1] - runs[0.0][1]) < 0.01
