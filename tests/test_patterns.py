"""The pattern suite (sim/patterns): its rules, its intervals, a fast subset of the patterns measured
on the shipped scenarios, and the command. The whole suite at its full size is a benchmark
(``benchmarks/patterns.py``); ``retention-sim patterns --quick`` runs all of it small."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim import patterns
from sim.patterns import Target
from sim.patterns.measure import Estimate, Size, mean_interval, ratio_interval, risk_ratio_interval, scenario, share_interval

SMALL = Size(customers=3000, replications=3)
# patterns that take a few seconds each at SMALL: the tests' subset (every kind of measure is in it)
FAST = ("contract types: month-to-month", "contract types: one-year", "in-contract churn", "pay the exit fee",
        "B2B: a typical vendor", "NPS", "discount trap", "win-back: winning", "price rise",
        # both follow newcomers by id (a newcomer's id is not her row): the first once read rows as ids
        "established:", "win-back: customers who come back")


def test_the_suite_has_at_least_14_patterns_with_sources_scenarios_and_targets():
    cat = patterns.catalogue()
    assert len(cat) >= 14 and len({p.name for p in cat}) == len(cat)
    for p in cat:
        assert p.source and p.measured and p.target.text, p.name
        assert p.scenario == "every shipped scenario" or p.scenario in __import__("sim").shipped_scenarios(), p.name
    words = " ".join(p.name.lower() for p in cat)
    for kw in ("contract", "b2b", "choice", "acqui", "establish", "satisf", "nps", "sale", "price", "proactive", "win-back",
               "doubt", "nostalgia"):
        assert kw in words, kw


@pytest.mark.parametrize("estimate, target, holds", [
    (Estimate(0.4, 0.35, 0.45), Target(0.3, 0.5), True),
    (Estimate(0.55, 0.5, 0.6), Target(0.3, 0.5), False),                     # the estimate outside the band
    (Estimate(0.02, -0.01, 0.05), Target(0.0, beyond=0.0), False),           # an effect within noise
    (Estimate(0.02, 0.01, 0.03), Target(0.0, beyond=0.0), True),
    (Estimate(-0.02, -0.03, -0.01), Target(hi=0.0, beyond=0.0), True),
    (Estimate(math.nan, math.nan, math.nan), Target(0.0, 1.0), False),       # not measured: does not hold
    (Estimate(0.02, math.nan, math.nan), Target(0.0, beyond=0.0), False),     # an effect needs an interval
])
def test_a_pattern_holds_when_its_estimate_is_in_the_band_and_its_effect_beyond_noise(estimate, target, holds):
    assert target.holds(estimate) is holds


def test_intervals_cover_their_truth_at_the_stated_rate():
    """Each interval helper, on 400 simulated samples with a known truth: coverage within 4 standard
    errors of 95 % (the SE of a coverage over 400 is 1.1 points)."""
    rng = np.random.default_rng(7)
    n_sim, cover = 400, {"mean": 0, "share": 0, "ratio": 0, "risk": 0}
    for _ in range(n_sim):
        x = rng.normal(2.0, 1.0, 10)
        e = mean_interval(x)
        cover["mean"] += e.ci_low <= 2.0 <= e.ci_high
        k = rng.binomial(500, 0.3)
        e = share_interval(k, 500)
        cover["share"] += e.ci_low <= 0.3 <= e.ci_high
        b = rng.binomial(1, 0.5, 2000).astype(float)
        a = b * rng.binomial(1, 0.4, 2000)
        e = ratio_interval(a, b)
        cover["ratio"] += e.ci_low <= 0.4 <= e.ci_high
        e = risk_ratio_interval(rng.binomial(800, 0.3), 800, rng.binomial(800, 0.1), 800)
        cover["risk"] += e.ci_low <= 3.0 <= e.ci_high
    se = math.sqrt(0.95 * 0.05 / n_sim)
    for kind, c in cover.items():
        assert abs(c / n_sim - 0.95) < 4 * se, (kind, c / n_sim)


def test_a_smaller_pattern_run_is_the_same_market_scaled():
    small, full = scenario("telecom", SMALL), scenario("telecom", Size(20000, 1))
    assert small.simulation.scale == pytest.approx(3000 / 20000) and full.simulation.scale == pytest.approx(1.0)
    assert small.expected_customers() / small.simulation.customers == pytest.approx(full.expected_customers() / 20000)


@pytest.fixture(scope="module")
def fast_outcomes():
    return {o.pattern.name: o for o in _run_fast()}


def _run_fast():
    out = []
    for p in patterns.catalogue():
        if any(f.lower() in p.name.lower() for f in FAST):
            out.append(patterns.Outcome(p, p.measure(SMALL), 0.0))
    return out


def test_the_fast_subset_holds(fast_outcomes):
    assert len(fast_outcomes) == len(FAST)
    failing = {n: o.estimate for n, o in fast_outcomes.items() if not o.holds}
    assert not failing, failing


def test_contract_types_have_the_markets_life_event_rate():
    """The contract-type ordering comes from contracts and the customers who choose them, not from a
    life-event rate fitted per contract type."""
    sc = scenario("telecom_contract_types", SMALL)
    rates = {s.background_churn.p for s in sc.segments}
    assert rates == {0.0022}


def test_no_shipped_scenario_sets_its_own_life_events():
    import sim

    for name in sim.shipped_scenarios():
        sc = sim.load(name)
        assert all(s.background_churn.distribution == "fixed" and s.background_churn.p == {"households": 0.0022,
                   "businesses": 0.0025}[sc.simulation.market] for s in sc.segments), name


def test_every_shipped_scenario_names_its_counterfactual():
    import sim
    from sim.scenario import counterfactual

    for name in sim.shipped_scenarios():
        sc = sim.load(name)
        assert sc.counterfactual is not None, name
        cf = counterfactual(sc)
        assert cf.measures != sc.measures or cf.model_dump() != sc.model_dump(), name


def test_the_command_writes_the_table_with_exactly_its_columns(tmp_path):
    out = tmp_path / "pat"
    p = subprocess.run([sys.executable, "-m", "sim.cli", "patterns", "--quick", "--only", "NPS", "--only", "pay the exit fee",
                        "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    df = pd.read_csv(out / "patterns.csv")
    assert list(df.columns) == ["pattern", "source", "target", "value", "ci_low", "ci_high", "holds"]
    assert len(df) == 2 and df["holds"].all()
    assert "2 of 2 patterns hold" in p.stdout


def test_the_command_refuses_an_unknown_pattern_in_one_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "sim.cli", "patterns", "--only", "no such pattern", "--out", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "no pattern's name contains it" in p.stderr
    assert not (tmp_path / "x").exists()
