"""The run metrics (sim/metrics.py): why relationships ended, and how compare and sweep treat the
metrics that describe rather than judge."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.codes import CAUSE_METRICS, DESCRIPTIVE_METRICS, METRICS
from sim.compare import DESCRIPTIVE, compare
from sim.metrics import engine_metrics, metric_arrays
from sim.sweep import BETTER

SMALL = {"simulation.customers": 2000, "simulation.periods": 36}


@pytest.fixture(scope="module")
def telecom():
    return sim.run("telecom", seed=4, overrides=SMALL)


def test_the_causes_of_ending_add_up_and_agree_with_the_summary(telecom):
    row = engine_metrics(telecom.model.engine).iloc[0]
    exclusive = row["ended_switched"] + row["ended_left_by_choice"] + row["ended_life_event"]
    assert exclusive == pytest.approx(1.0, abs=1e-12)
    assert row["choice_share"] == pytest.approx(1.0 - row["ended_life_event"], abs=1e-12)
    assert 0 < row["ended_paid_exit_fee"] < row["ended_switched"] + row["ended_left_by_choice"]  # telecom has contracts
    assert 0 < row["ended_at_expiry"] < 1
    causes = telecom.summary["firms"]["focal"]["ended_by_cause"]
    ended = causes["switched"] + causes["left_by_choice"] + causes["life_event"]
    for name in ("switched", "left_by_choice", "life_event", "paid_exit_fee", "at_expiry"):
        assert row[f"ended_{name}"] == pytest.approx(causes[name] / ended, abs=1e-12), name


def test_with_only_life_events_every_ending_is_a_life_event():
    off = {f"mechanisms.{k}": False
           for k in ("experience", "bonding", "attachment", "choice", "arrivals", "promotion", "measures")}
    res = sim.run("telecom", seed=2, overrides={**SMALL, **off})
    row = engine_metrics(res.model.engine).iloc[0]
    assert row["ended_life_event"] == 1.0 and row["choice_share"] == 0.0
    assert row["ended_switched"] == row["ended_left_by_choice"] == row["ended_paid_exit_fee"] == 0.0


def test_descriptive_metrics_are_paired_but_outside_the_family_and_have_no_best_point():
    assert set(CAUSE_METRICS) < set(DESCRIPTIVE_METRICS) <= set(METRICS)
    assert not set(DESCRIPTIVE_METRICS) & set(BETTER)
    cmp = compare(["telecom", "telecom_contract_types"], replications=3,
                  overrides={"simulation.customers": 800, "simulation.periods": 24})
    d = cmp.differences.set_index("metric")
    desc = d.loc[list(DESCRIPTIVE_METRICS)]
    assert (desc["kind"] == DESCRIPTIVE).all()
    assert desc["holm_p"].isna().all() and desc["family"].isna().all()
    assert np.isfinite(desc.loc["ended_switched", ["ci_low", "ci_high"]].to_numpy(float)).all()  # paired intervals kept
    paired = d[d["kind"] == "paired"]
    assert (paired["family"].dropna() == paired["p_value"].notna().sum()).all()


def test_the_metric_columns_are_the_tables_and_the_model_reporters_read_them(telecom):
    columns = metric_arrays(telecom.model.engine)
    table = engine_metrics(telecom.model.engine)
    assert list(table.columns) == ["replication", "seed", *METRICS]
    for name in table.columns:
        assert np.asarray(columns[name]).tobytes() == table[name].to_numpy().tobytes(), name
    reported = telecom.model.datacollector.get_model_vars_dataframe().iloc[-1]
    for name in METRICS:
        value = float(columns[name][0])
        if np.isnan(value):  # undefined: None in the reporter (NaN once pandas has it)
            assert reported[name] is None or np.isnan(reported[name]), name
        else:
            assert reported[name] == value, name
