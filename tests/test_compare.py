"""compare: paired differences on common seeds, their intervals, the tables and the report."""

import math
import re

import pandas as pd
import pytest

import sim
from sim.compare import DIFFERENCE_COLUMNS, compare, replication_seeds, run_replications
from sim.engine import Engine
from sim.metrics import METRICS, engine_metrics

SMALL = {"simulation.customers": 2000, "simulation.periods": 24}
ALL_OFF = {f"mechanisms.{k}": False for k in ("experience", "bonding", "attachment", "choice", "arrivals", "measures")}


def _price_up(factor=1.1):
    spec = sim.load("telecom").model_dump()
    spec["name"] = "price_up"
    spec["firms"][0]["price"] *= factor
    return spec


def test_a_planted_price_rise_is_found_with_the_right_sign_and_pairing_helps():
    cmp = compare(["telecom", _price_up()], replications=8, overrides=SMALL)
    d = cmp.differences.set_index("metric")
    assert list(cmp.differences.columns) == DIFFERENCE_COLUMNS
    r = d.loc["retention_12"]
    assert r["difference"] < 0 and r["ci_high"] < 0 and r["n"] == 8
    for metric in ("retention_12", "churn_per_year"):
        assert d.loc[metric, "se_paired"] < d.loc[metric, "se_unpaired"]
    assert d.loc["churn_per_year", "ci_low"] > 0


def test_a_scenario_compared_with_itself_differs_by_exactly_zero():
    cmp = compare(["telecom", "telecom"], replications=3, overrides=SMALL)
    defined = cmp.differences.dropna(subset=["difference"])
    assert (
        len(defined) > 5
        and (defined["difference"] == 0).all()
        and (defined["ci_low"] == 0).all()
        and (defined["ci_high"] == 0).all()
    )
    assert cmp.names == ["telecom", "telecom (2)"]


def test_a_parameter_without_effect_gives_no_difference_at_all():
    """With exact common random numbers a change that cannot matter (a campaign aimed at a cohort
    nobody belongs to reaches no one) changes nothing: every interval is [0, 0] and covers 0."""
    spec = sim.load("telecom").model_dump()
    spec["name"] = "no_effect"
    spec["segments"][0]["cohorts"] = {"1970s": 0.5, "1980s": 0.5, "nobody": 0.0}
    spec["measures"].append({"type": "discount", "rate": 0.3, "target": {"cohort": "nobody"}})
    cmp = compare(["telecom", spec], replications=4, overrides=SMALL)
    d = cmp.differences.dropna(subset=["difference"])
    assert ((d["ci_low"] <= 0) & (d["ci_high"] >= 0)).all() and (d["difference"] == 0).all()


def test_paired_intervals_cover_a_known_difference_at_their_stated_rate():
    """Coverage of the paired 95 % interval, measured where the truth is known in closed form: with
    every mechanism off and fixed background churn p, retention after 12 periods has expectation
    (1 - p)^12, so for p = 0.05 vs 0.06 the true difference is 0.94^12 - 0.95^12. Over 50 independent
    comparisons (seeds 0..49, chosen before running) at least 45 intervals must cover it: with a true
    coverage of 95 % that fails with probability 3.8 % (binomial), with 80 % coverage it passes with
    probability 4.8 %."""
    truth = 0.94**12 - 0.95**12

    def spec(p):
        return {
            "name": f"p{p}",
            "simulation": {"customers": 1000, "periods": 12},
            "firms": [{"name": "focal"}],
            "mechanisms": {k: False for k in ("experience", "bonding", "attachment", "choice", "arrivals", "measures")},
            "segments": [{"background_churn": {"distribution": "fixed", "p": p}}],
        }

    covered = 0
    for seed in range(50):
        row = compare([spec(0.05), spec(0.06)], replications=10, seed=seed, metrics=["retention_12"]).differences.iloc[0]
        covered += row["ci_low"] <= truth <= row["ci_high"]
    assert covered >= 45, covered


def test_batched_replications_equal_one_by_one_runs():
    sc = sim.load("telecom", SMALL)
    seeds = replication_seeds(7, 4)
    batched, _ = run_replications(sc, seeds)
    for r, seed in enumerate(seeds):
        engine = Engine(sc, [seed])
        engine.run()
        single = engine_metrics(engine).iloc[0]
        for metric in METRICS:
            a, b = batched.loc[r, metric], single[metric]
            assert (math.isnan(a) and math.isnan(b)) or a == b, (metric, a, b)


def test_replication_seeds_are_distinct_and_reproducible():
    a = replication_seeds(3, 20)
    assert a == replication_seeds(3, 20) and len(set(a)) == 20 and a != replication_seeds(4, 20)
    assert all(0 <= s < 2**63 for s in a)


def test_outputs_and_report_sentences_quote_the_differences(tmp_path):
    cmp = compare(["telecom", _price_up()], replications=4, overrides=SMALL)
    out = cmp.write(tmp_path / "cmp")
    for name in (
        "replications.parquet",
        "replications.csv",
        "differences.csv",
        "report.html",
        "manifest.json",
        "plots/retention.png",
        "plots/difference.png",
        "plots/churn.png",
        "plots/loyalty_classes.png",
        "plots/clv_by_class.png",
        "plots/profit.png",
    ):
        assert (out / name).is_file(), name
    reps = pd.read_parquet(out / "replications.parquet")
    assert list(reps.columns) == ["scenario", "replication", "seed", "metric", "value"]
    assert len(reps) == 2 * 4 * len(METRICS)
    diffs = pd.read_csv(out / "differences.csv")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html and html.count("data:image/png;base64,") == 6
    found = re.findall(
        r"price_up (raises|lowers) the 12-month retention of its initial customers by ([0-9.]+) points "
        r"\(95 % CI (-?[0-9.]+) to (-?[0-9.]+)[;)]",
        html,
    )
    assert found, "no retention sentence"
    verb, diff, lo, hi = found[0]
    row = diffs[diffs.metric == "retention_12"].iloc[0]
    assert verb == ("raises" if row.difference > 0 else "lowers")
    decimals = len(diff.split(".")[1]) if "." in diff else 0
    assert float(diff) == round(abs(row.difference) * 100, decimals)
    assert float(lo) == round(row.ci_low * 100, decimals) and float(hi) == round(row.ci_high * 100, decimals)
    assert "How large is the contract-expiry cliff" in html  # the scenario's question


def test_compare_needs_two_scenarios_and_two_replications():
    with pytest.raises(ValueError):
        compare(["telecom"], replications=3)
    with pytest.raises(ValueError):
        compare(["telecom", "telecom"], replications=1)


def test_firm_names_whose_metrics_are_compared():
    """--firm: the metrics are the named firm's, as engine_metrics computes them for that firm."""
    cmp = compare(["telecom", _price_up()], replications=2, overrides=SMALL, firm="rival")
    assert cmp.firm == "rival" and cmp.manifest()["firm"] == "rival"
    engine = Engine(sim.load("telecom", SMALL), cmp.seeds)
    engine.run()
    rival = engine_metrics(engine, 1)
    assert len(rival) == 2 == len(cmp.seeds), (len(rival), cmp.seeds)
    got = cmp.wide()
    got = got[got["scenario"] == "telecom"].sort_values("replication")
    assert got["retention_12"].to_numpy() == pytest.approx(rival["retention_12"].to_numpy())
    # the focal firm's price rise helps its rival: more of the rival's customers stay
    assert cmp.differences.set_index("metric").loc["customers_at_end", "difference"] > 0
    with pytest.raises(ValueError, match="no firm named 'nobody'"):
        compare(["telecom", "telecom"], replications=2, overrides=SMALL, firm="nobody")


def test_the_answer_effect_is_the_paired_difference_against_the_counterfactual():
    """effect(): the scenario and its counterfactual on the same seeds; a price rise as the lever
    lowers retention, and the interval is the paired one of compare."""
    from sim.compare import effect

    spec = _price_up(1.3)
    before = spec["firms"][0]["price"] / 1.3
    spec["counterfactual"] = {"lever": "the price rise", "metric": "retention_12", "set": {"firms.0.price": before}}
    sc = sim.load(spec, SMALL)
    e = effect(sc, 4, seed=3)
    assert e["lever"] == "the price rise" and e["firm"] == "focal" and e["n"] == 4
    assert e["ci_high"] < 0 < e["baseline_mean"]
    cmp = compare([sim.load("telecom", SMALL), sc], replications=4, seed=3, metrics=["retention_12"])
    d = cmp.differences.iloc[0]
    assert (d["difference"], d["ci_low"], d["ci_high"]) == pytest.approx((e["difference"], e["ci_low"], e["ci_high"]))


def test_a_smaller_run_is_the_same_market():
    """--customers scales the market (simulation.scale): the telecom shares held by barriers alone and
    the retention agree at 3,000 and 20,000 customers within 4 standard errors of their difference
    (3 replications each); unscaled, the budgets bought for 20,000 flood a market of 3,000."""
    def metrics(n, **extra):
        t, _ = run_replications(sim.load("telecom", {"simulation.customers": n, **extra}), replication_seeds(5, 3))
        return t

    small, large = metrics(3000), metrics(20_000)
    for m in ("attached_only_share", "retention_12", "retention_60"):
        a, b = small[m].to_numpy(), large[m].to_numpy()
        se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert abs(a.mean() - b.mean()) < 4 * se + 1e-3, (m, a.mean(), b.mean(), se)
    unscaled = metrics(3000, **{"simulation.scale": 1.0})
    a, b = unscaled["attached_only_share"].to_numpy(), large["attached_only_share"].to_numpy()
    assert abs(a.mean() - b.mean()) > 0.03  # the unscaled market is another market


def test_a_metric_undefined_in_every_replication_is_compared_as_undefined():
    """60-month retention on a 24-period horizon: no replication defines it, so its difference, interval
    and p-value are undefined (NaN), and the comparison still completes."""
    cmp = compare(["telecom", _price_up()], replications=2, overrides=SMALL, metrics=["retention_60"])
    row = cmp.differences.iloc[0]
    assert row["n"] == 0 and all(math.isnan(float(row[k])) for k in ("difference", "ci_low", "ci_high", "p_value"))


def test_the_report_names_the_firm_it_is_about(tmp_path):
    """With --firm the report's header and plot titles name that firm, not "the focal firm"."""
    from sim.report import _whose, figures

    cmp = compare(["telecom", "telecom"], replications=2, overrides=SMALL, firm="rival")
    assert _whose(cmp) == "the firm rival"
    titles = [ax.get_title(loc="left") for fig in figures(cmp).values() for ax in fig.axes]
    assert any("the firm rival" in t for t in titles) and not any("focal" in t for t in titles)
