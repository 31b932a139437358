"""The engine's promises: exact common random numbers, results that do not depend on threads or
tracing, batched replications equal to single runs, and a run with the JIT disabled."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import sim
import sim.books
from sim import engine as engine_mod
from sim.engine import Engine
from sim.model import RetentionModel
from sim.scenario import load


def _relationships(res):
    return res.relationships.sort_values(["customer", "start"]).reset_index(drop=True)


def test_a_measure_aimed_at_one_segment_leaves_every_other_customer_exactly_as_before():
    """Exact common random numbers: a discount aimed at the twelve-month segment changes nothing for the
    customers of the other segment, whatever firm they are with: neither for the initial customers nor
    for the newcomers, although the discount draws more twelve-month newcomers (each firm's newcomers
    of one segment are their own stream, and a newcomer's id says which, see
    :func:`sim.population.arrival_id`)."""
    ov = {"simulation.customers": 4000, "simulation.periods": 48}
    base = sim.run("telecom", seed=11, overrides=ov)
    spec = sim.load("telecom").model_dump()
    spec["measures"].append({"type": "discount", "rate": 0.25, "target": {"segment": "twelve_month"}, "schedule": {"start": 6}})
    alt = sim.run(spec, seed=11, overrides=ov)
    a, b = _relationships(base), _relationships(alt)
    assert not a.equals(b)  # the discount does change the targeted segment
    newcomers = lambda r: set(r.loc[(r["customer"] >= 4000) & (r["segment"] == "twelve_month"), "customer"])
    assert newcomers(a) != newcomers(b)  # ... and which of its prospects arrive
    outside = lambda r: r[r["segment"] != "twelve_month"].reset_index(drop=True)
    assert (outside(a)["customer"] >= 4000).sum() > 500  # the newcomers of the other segment are compared too
    pd.testing.assert_frame_equal(outside(a), outside(b))
    ca, cb = base.customers.set_index("customer"), alt.customers.set_index("customer")
    keep = ca.index[ca["segment"] != "twelve_month"]
    assert set(cb.index[cb["segment"] != "twelve_month"]) == set(keep)
    pd.testing.assert_frame_equal(ca.loc[keep], cb.loc[keep])


def test_adding_customers_does_not_change_the_first_customers_lives():
    ov = {"simulation.periods": 36, "mechanisms.arrivals": False}
    small = _relationships(sim.run("telecom", seed=5, overrides={**ov, "simulation.customers": 2000}))
    large = _relationships(sim.run("telecom", seed=5, overrides={**ov, "simulation.customers": 3000}))
    pd.testing.assert_frame_equal(small, large[large["customer"] < 2000].reset_index(drop=True))


def test_results_are_bit_identical_for_any_number_of_threads(monkeypatch, tmp_path):
    monkeypatch.setattr(engine_mod, "PARALLEL_MIN_ROWS", 0)  # use threads even for this small run
    ov = {"simulation.customers": 40_000, "simulation.periods": 12}
    one = sim.run("telecom", seed=9, overrides=ov, threads=1)
    two = sim.run("telecom", seed=9, overrides=ov, threads=2)
    three = sim.run("telecom", seed=9, overrides=ov, threads=3)
    assert one.model.engine.threads_for(one.model.customers.n) == 1 and two.model.engine.threads_for(two.model.customers.n) == 2
    for res, name in ((one, "1"), (two, "2"), (three, "3")):
        (tmp_path / name).mkdir()
        res.write_files(tmp_path / name, plots=False)
    for f in ("periods.csv", "customers.parquet", "relationships.parquet", "summary.json"):
        assert (tmp_path / "1" / f).read_bytes() == (tmp_path / "2" / f).read_bytes() == (tmp_path / "3" / f).read_bytes(), f


@pytest.mark.parametrize("threads", [1, 2])
def test_the_pass_lists_exactly_the_rows_whose_firm_changes_in_row_order(threads, monkeypatch):
    """The rows the customers' pass lists for closing relationships (kernel.customers_pass, gathered by
    kernel.gather_changes) are the indexed rows whose next firm is not their firm, in the index's order, on one
    thread and on two (chunks spread over threads), every period of a run with leavers, switchers,
    newcomers and win-back."""
    monkeypatch.setattr(engine_mod, "PARALLEL_MIN_ROWS", 0)
    sc = load("telecom", overrides={"simulation.customers": 6000, "simulation.periods": 24})
    e = Engine(sc, [4, 5], threads=threads)
    seen = 0
    original = e.close_relationships

    def check(t, sums):
        nonlocal seen
        rows, _, _ = e.index.chunks()
        c = e.customers.cols
        expected = rows[c["next_firm"][rows] != c["firm"][rows]]  # in the index's order (by replication)
        assert e.changes[:e.n_changes].tolist() == expected.tolist()
        seen += e.n_changes
        original(t, sums)

    e.close_relationships = check
    e.run()
    assert seen > 1000


def test_gather_changes_moves_each_chunks_list_to_the_front_in_chunk_order():
    """Edge values of kernel.gather_changes: empty chunks, a full chunk, one chunk."""
    from sim.kernel import gather_changes

    changes = np.array([10, 11, -1, -1, 20, 21, 22, 23, 30, -1], dtype=np.int64)
    lo = np.array([0, 2, 4, 8, 10], dtype=np.int64)
    assert gather_changes(changes, lo, np.array([2, 0, 4, 1, 0], dtype=np.int64)) == 7
    assert changes[:7].tolist() == [10, 11, 20, 21, 22, 23, 30]
    one = np.array([5, 6], dtype=np.int64)
    assert gather_changes(one, np.array([0], dtype=np.int64), np.array([0], dtype=np.int64)) == 0


def test_threads_are_used_only_where_they_pay():
    e = Engine(load("telecom", {"simulation.customers": 100, "simulation.periods": 2}), [1], threads=4)
    assert e.threads_for(10_000) == 1
    assert e.threads_for(10_000_000) == 4
    assert Engine(load("telecom", {"simulation.customers": 100}), [1], threads=1).threads_for(10_000_000) == 1


def test_threads_setting_from_the_environment(monkeypatch):
    monkeypatch.setenv("RETENTION_SIM_THREADS", "3")
    assert engine_mod.default_threads() == 3
    monkeypatch.setenv("RETENTION_SIM_THREADS", "zero")
    with pytest.raises(ValueError):
        engine_mod.default_threads()


def test_traced_and_untraced_runs_give_identical_tables():
    kw = {"simulation.customers": 2000, "simulation.periods": 24}
    traced = RetentionModel("telecom", rng=3, trace=range(0, 2000, 7), **kw)
    plain = RetentionModel("telecom", rng=3, **kw)
    traced.run()
    plain.run()
    pd.testing.assert_frame_equal(traced.datacollector.get_agent_vars_dataframe(), plain.datacollector.get_agent_vars_dataframe())
    a, b = sim.RunResult(traced), sim.RunResult(plain)
    pd.testing.assert_frame_equal(a.relationships, b.relationships)
    pd.testing.assert_frame_equal(a.customers, b.customers)


@pytest.mark.parametrize("name,customers,periods", [("ecommerce", 700, 30), ("telecom", 20_000, 14)])
def test_batched_replications_equal_single_runs(name, customers, periods, monkeypatch):
    """Also for replications larger than a chunk, with arrivals interleaving the replications' rows,
    and with threads."""
    monkeypatch.setattr(engine_mod, "PARALLEL_MIN_ROWS", 0)
    sc = load(name, {"simulation.customers": customers, "simulation.periods": periods})
    seeds = [3, 99, 2**40 + 7]
    batch = Engine(sc, seeds, threads=2)
    batch.run()
    rel = batch.relationship_arrays()
    for r, seed in enumerate(seeds):
        single = Engine(sc, [seed], threads=1)
        single.run()
        np.testing.assert_array_equal(batch.books.ledger[:, r], single.books.ledger[:, 0])
        one = single.relationship_arrays()
        mine = rel["replication"] == r
        order_a = np.lexsort((rel["start"][mine], rel["customer"][mine]))
        order_b = np.lexsort((one["start"], one["customer"]))
        for k in ("customer", "firm", "start", "end", "reason", "loyalty_class", "clv", "censored"):
            np.testing.assert_array_equal(rel[k][mine][order_a], one[k][order_b], err_msg=k)


def test_no_relationship_has_zero_periods_and_arrivals_stop_at_the_horizon():
    for name in ("telecom", "ecommerce", "b2b_software"):
        res = sim.run(name, seed=4, overrides={"simulation.customers": 3000, "simulation.periods": 36})
        rel = res.relationships
        assert (rel["periods"] >= 1).all(), name
        assert rel["start"].max() <= 35 and rel["end"].max() == 35
        assert res.customers["joined"].max() <= 35


def test_the_model_runs_with_the_jit_disabled(tmp_path):
    """The per-row code as plain Python (debuggable): a small run completes and takes the same decisions
    as the compiled run; money and means agree to float rounding (Python and compiled code round
    float32 intermediates differently)."""
    code = textwrap.dedent("""
        import sys, numpy as np, sim
        res = sim.run("telecom", seed=2, overrides={"simulation.customers": 300, "simulation.periods": 6})
        np.save(sys.argv[1], res.model.engine.books.ledger)
        res.relationships.to_pickle(sys.argv[2])
    """)
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "nojit.npy"), str(tmp_path / "rel.pkl")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    res = sim.run("telecom", seed=2, overrides={"simulation.customers": 300, "simulation.periods": 6})
    plain = np.load(tmp_path / "nojit.npy")
    counts = [sim.books.STAT[k] for k in sim.books.COUNTS]
    np.testing.assert_array_equal(plain[..., counts], res.model.engine.books.ledger[..., counts])
    np.testing.assert_allclose(plain, res.model.engine.books.ledger, rtol=1e-6)
    rel = pd.read_pickle(tmp_path / "rel.pkl")
    cols = ["customer", "firm", "start", "end", "reason", "loyalty_class"]
    pd.testing.assert_frame_equal(rel[cols], res.relationships[cols])
