"""The model as a Mesa model: agents, data collection, batch_run, inspection, accounting identity."""

import mesa
import numpy as np

from conftest import ALL_OFF, run_model, scenario
from sim.model import RetentionModel
from sim.results import RunResult


def test_is_a_mesa_model_with_firm_agents_and_collected_data():
    m = RetentionModel("telecom", rng=1, **{"simulation.customers": 500, "simulation.periods": 4})
    assert isinstance(m, mesa.Model)
    assert all(isinstance(a, mesa.Agent) for a in m.agents) and len(m.agents) == 2
    m.run()
    assert not m.running
    df = m.datacollector.get_agent_vars_dataframe()
    assert len(df) == 4 * 2
    assert len(m.datacollector.get_model_vars_dataframe()) == 4


def test_mesa_batch_run_with_dotted_parameters():
    out = mesa.batch_run(RetentionModel, parameters={"scenario": "ecommerce", "simulation.customers": [300, 600], "simulation.periods": 3},
                         max_steps=10, display_progress=False, rng=[1])
    assert len(out) >= 2 and {r["simulation.customers"] for r in out} == {300, 600}


def test_one_customer_is_inspectable_with_history():
    m = RetentionModel("telecom", rng=3, trace=range(40), **{"simulation.customers": 2000, "simulation.periods": 30})
    m.run()
    events = [e["event"] for i in range(40) for e in m.history(i)]
    assert {"joined", "contract_signed"} <= set(events)
    assert {"switched", "left", "contract_expired", "contract_renewed", "complaint", "incident"} & set(events)
    state = m.customer(0)
    assert state["id"] == 0 and state["segment"] in {"twelve_month", "twenty_four_month"}
    for key in ("satisfaction", "trust", "commitment", "bond", "attachment", "contract_end", "exit_fee", "lockin",
                "economic", "no_alternative", "price_sensitivity", "reference_price", "cohort", "churn_p", "phase", "tenure"):
        assert key in state


def test_untraced_history_is_a_clear_error():
    m = RetentionModel("telecom", rng=3, **{"simulation.customers": 50, "simulation.periods": 1})
    try:
        m.history(5)
    except KeyError as err:
        assert "trace" in str(err)
    else:
        raise AssertionError("expected KeyError")


def test_clv_adds_up_to_firm_books_without_discounting():
    spec = scenario(simulation={"customers": 3000, "periods": 24, "discount_rate": 0.0},
                    firms=[{"name": "focal", "initial_share": 0.6, "acquisition_spend": 3000.0, "cost_per_acquisition": 100.0},
                           {"name": "rival", "initial_share": 0.4}],
                    measures=[{"type": "contract", "exit_fee": 40.0}, {"type": "service", "cost_per_customer": 1.5},
                              {"type": "discount", "rate": 0.1, "schedule": {"start": 6, "end": 12}}])
    res = RunResult(run_model(spec, seed=8))
    rel, p = res.relationships, res.periods
    for firm in ("focal", "rival"):
        fp = p[p["firm"] == firm]
        books = (fp["revenue"] + fp["exit_fees"] - fp["serving_costs"] - fp["measure_costs"] - fp["acquisition_costs"]).sum()
        # (customers acquired in the last period appear as relationships of 0 periods carrying their acquisition cost)
        assert np.isclose(rel.loc[rel["firm"] == firm, "clv"].sum(), books, rtol=1e-9)


def test_switched_off_choice_means_no_switching():
    m = run_model(scenario(mechanisms=ALL_OFF | {"experience": True, "bonding": True, "attachment": True}), seed=1)
    df = m.datacollector.get_agent_vars_dataframe()
    assert df["switched_out"].sum() == 0 and df["left_market"].sum() > 0


def test_loyalty_shares_sum_to_one_and_bonded_share_grows_with_service():
    def bonded(quality):
        m = run_model(scenario(simulation={"customers": 3000, "periods": 24}, firms=[{"name": "focal", "service_quality": quality}]), seed=2)
        f = m.firms[0]
        assert np.isclose(f.share_bonded_only + f.share_attached_only + f.share_both + f.share_neither, 1.0)
        return f.share_bonded_only + f.share_both

    assert bonded(0.9) > bonded(0.4) + 0.2
