"""The model as a Mesa model: agents, data collection, batch_run and its seeds, inspection, and the
accounting identity."""

import collections
import warnings

import mesa
import numpy as np
import pytest
from conftest import ALL_OFF, run_model, scenario

from sim.model import RetentionModel
from sim.population import arrival_id, arrival_parts
from sim.results import RunResult

SMALL = {"scenario": "telecom", "simulation.customers": 300, "simulation.periods": 4}


def test_is_a_mesa_model_with_firm_agents_and_collected_data():
    m = RetentionModel("telecom", rng=1, **{"simulation.customers": 500, "simulation.periods": 4})
    assert isinstance(m, mesa.Model)
    assert all(isinstance(a, mesa.Agent) for a in m.agents) and len(m.agents) == 2
    m.run()
    assert not m.running
    df = m.datacollector.get_agent_vars_dataframe()
    assert len(df) == 4 * 2
    model_vars = m.datacollector.get_model_vars_dataframe()
    assert len(model_vars) == 4 and (model_vars["seed"] == 1).all()


def test_mesa_batch_run_with_dotted_parameters():
    out = mesa.batch_run(RetentionModel,
                         parameters={"scenario": "ecommerce", "simulation.customers": [300, 600], "simulation.periods": 3},
                         max_steps=10, display_progress=False, rng=[1])
    assert len(out) >= 2 and {r["simulation.customers"] for r in out} == {300, 600}


def _runs(rows):
    by_run = collections.defaultdict(list)
    for r in rows:
        by_run[r["RunId"]].append((r["Step"], r["AgentID"], r["profit"], r["seed"]))
    return [tuple(sorted(v)) for v in by_run.values()]


def test_batch_run_without_seeds_gives_different_recorded_runs_and_equal_seeds_agree():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Mesa deprecates `iterations` in favour of rng=[None]*n
        a = mesa.batch_run(RetentionModel, SMALL, iterations=3, number_processes=1, display_progress=False,
                           data_collection_period=-1)
    b = mesa.batch_run(RetentionModel, SMALL, rng=[None] * 3, number_processes=1, display_progress=False,
                       data_collection_period=-1)
    for rows in (a, b):
        runs = _runs(rows)
        assert len(runs) == 3 and len(set(runs)) == 3
        assert len({r["seed"] for r in rows}) == 3  # the fresh seeds are recorded in the rows
    c = mesa.batch_run(RetentionModel, SMALL, rng=[5, 5], number_processes=1, display_progress=False, data_collection_period=-1)
    runs = _runs(c)
    assert len(runs) == 2 and runs[0] == runs[1]


def test_fresh_seed_reproduces_when_given_back():
    m = RetentionModel(**SMALL)
    m.run()
    again = RetentionModel(rng=m.seed, **SMALL)
    again.run()
    assert np.array_equal(m.engine.books.ledger, again.engine.books.ledger)


def test_one_customer_is_inspectable_with_history():
    m = RetentionModel("telecom", rng=3, trace=range(40), **{"simulation.customers": 2000, "simulation.periods": 30})
    m.run()
    events = [e["event"] for i in range(40) for e in m.history(i)]
    assert {"contract_signed"} <= set(events)
    assert ({"switched", "left_market", "life_event", "contract_expired", "contract_renewed", "complaint", "incident"}
            & set(events))
    state = m.customer(0)
    assert state["id"] == 0 and state["segment"] in {"twelve_month", "twenty_four_month"}
    for key in ("satisfaction", "trust", "commitment", "bond", "attachment", "contract_end", "exit_fee", "lockin",
                "economic", "no_alternative", "price_sensitivity", "reference_price", "cohort", "churn_p", "phase", "tenure"):
        assert key in state
    assert state["loyalty"] in (None, "bonded_only", "attached_only", "both", "neither")  # names, not codes


def test_arrivals_have_a_joined_event():
    """A newcomer is traced by her id (period, firm and segment stream, place): she joins in her period."""
    ids = [arrival_id(t, group, place) for t in range(1, 5) for group in range(6) for place in range(3)]
    m = RetentionModel("telecom", rng=3, trace=ids, **{"simulation.customers": 2000, "simulation.periods": 5})
    m.run()
    entered = set(m.customers.customer.tolist())
    assert len(entered & set(ids)) >= 20  # telecom buys several newcomers of each segment a period
    for i in ids:
        joined = [e["period"] for e in m.history(i) if e["event"] == "joined"]
        assert joined == ([arrival_parts(i, 2)[0]] if i in entered else [])
        if i in entered:
            assert m.customer(i)["id"] == i and m.customer(i)["joined"] == arrival_parts(i, 2)[0]


def test_asking_for_a_customer_who_has_not_entered_is_a_clear_error():
    m = RetentionModel("telecom", rng=3, **{"simulation.customers": 50, "simulation.periods": 1})
    m.run()
    with pytest.raises(IndexError, match="no customer 77 has entered"):
        m.customer(77)


def test_untraced_history_is_a_clear_error():
    m = RetentionModel("telecom", rng=3, **{"simulation.customers": 50, "simulation.periods": 1})
    try:
        m.history(5)
    except KeyError as err:
        assert "trace" in str(err)
    else:
        raise AssertionError("expected KeyError")


def test_clv_adds_up_to_firm_books_plus_fixed_costs_without_discounting():
    spec = scenario(simulation={"customers": 3000, "periods": 24, "discount_rate": 0.0},
                    firms=[{"name": "focal", "initial_share": 0.6, "acquisition_spend": 3000.0, "cost_per_acquisition": 100.0},
                           {"name": "rival", "initial_share": 0.4}],
                    measures=[{"type": "contract", "exit_fee": 40.0, "life_event_fee": True},
                              {"type": "service", "cost_per_customer": 1.5, "fixed_cost": 50.0},
                              {"type": "discount", "rate": 0.1, "schedule": {"start": 6, "end": 12}},
                              {"type": "nostalgia", "cohort": "1980s", "firm": "rival", "cost_per_customer": 0.5}])
    res = RunResult(run_model(spec, seed=8))
    rel, p = res.relationships, res.periods
    for firm in ("focal", "rival"):
        fp = p[p["firm"] == firm]
        assert np.isclose(rel.loc[rel["firm"] == firm, "clv"].sum(), (fp["profit"] + fp["fixed_costs"]).sum(), rtol=1e-9)
    assert p["exit_fees"].sum() > 0 and p["acquisition_costs"].sum() > 0 and p["fixed_costs"].sum() == 50.0 * 24


def test_switched_off_choice_means_no_switching():
    m = run_model(scenario(mechanisms=ALL_OFF | {"experience": True, "bonding": True, "attachment": True}), seed=1)
    df = m.datacollector.get_agent_vars_dataframe()
    assert df["switched_out"].sum() == 0 and df["left_market"].sum() == 0 and df["life_event"].sum() > 0


def test_loyalty_shares_sum_to_one_and_bonded_share_grows_with_service():
    def bonded(quality):
        m = run_model(scenario(simulation={"customers": 3000, "periods": 24},
                               firms=[{"name": "focal", "service_quality": quality}]), seed=2)
        f = m.firms[0]
        assert np.isclose(f.share_bonded_only + f.share_attached_only + f.share_both + f.share_neither, 1.0)
        return f.share_bonded_only + f.share_both

    assert bonded(0.9) > bonded(0.4) + 0.2
