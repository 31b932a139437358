"""optimise: a study end to end, resumed after Ctrl-C and SIGKILL with every trial exactly once, the same
study for the same seed whatever the number of workers, trials equal to direct runs, constraints kept
by the recommendation, the budget's money turned into doses, and bad input refused before anything is
written."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.compare import compare, replication_seeds
from sim.metrics import METRICS, engine_metrics
from sim.optimise import load_spec
from sim.optimise.budget import dose_for_money
from sim.optimise.core import scenario_for
from sim.scenario import load

STUDY = """
base = "telecom"
[set]
"simulation.customers" = {customers}
"simulation.periods" = {periods}
[objective]
maximise = "profit"
{constraints}
[parameters]
"firms.0.price" = [20.0, 120.0]
"firms.0.service_quality" = [0.4, 0.9]
[search]
trials = {trials}
replications = 2
seed = {seed}
batch = 3
[verify]
top = 3
replications = 6
slices = 3
"""


def _file(tmp_path: Path, name: str = "opt.toml", customers=1000, periods=24, trials=12, seed=3, constraints="") -> Path:
    path = tmp_path / name
    path.write_text(STUDY.format(customers=customers, periods=periods, trials=trials, seed=seed, constraints=constraints))
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """One small study with one worker, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("optimise")
    path = _file(folder)
    return path, sim.optimise(path, folder / "one", workers=1)


def test_a_small_study_writes_every_output_and_its_best_toml_runs(study, tmp_path):
    path, result = study
    out = result.out
    for name in ("trials.parquet", "verification.csv", "best.toml", "report.html", "manifest.json", "study.db"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    trials = pd.read_parquet(out / "trials.parquet")
    assert sorted(trials["trial"]) == list(range(12)) and (trials["state"] == "COMPLETE").all()
    assert {"firms.0.price", "firms.0.service_quality", *METRICS} <= set(trials.columns)
    assert trials["firms.0.price"].between(20, 120).all() and trials["firms.0.service_quality"].between(0.4, 0.9).all()
    v = pd.read_csv(out / "verification.csv")
    assert list(v.columns) == [
        "strategy",
        "metric",
        "mean",
        "ci_low",
        "ci_high",
        "n",
        "difference_vs_base",
        "diff_ci_low",
        "diff_ci_high",
    ]
    assert set(v["strategy"]) == {"base", *(c.name for c in result.candidates[1:])} and len(result.candidates) == 4
    assert (v[v["metric"] == "profit"]["n"] == 6).all()
    page = (out / "report.html").read_text()
    assert "Recommended:" in page and "data:image/png;base64," in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page, "the report loads from the network"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["recommendation"]["strategy"] == result.best.name and manifest["search"]["seeds"] == replication_seeds(3, 2)
    # best.toml extends the base, holds the recommended values, and runs and compares as it is
    text = (out / "best.toml").read_text()
    assert 'extends = "telecom"' in text
    best = load(out / "best.toml")
    assert best.firms[0].price == result.best.params["firms.0.price"] and best.simulation.customers == 1000
    assert sim.run(out / "best.toml", seed=5).summary["firms"]["focal"]["profit_total"] is not None
    cmp = compare(
        ["telecom", str(out / "best.toml")], replications=2, overrides={"simulation.customers": 500, "simulation.periods": 12}
    )
    assert len(cmp.differences) > 0


def test_the_recommendation_is_the_best_confirmed_mean_and_names_its_ties(study):
    _, result = study
    v = result.verification
    profit = v[(v["metric"] == "profit") & (v["strategy"] != "base")].set_index("strategy")["mean"]
    assert profit.idxmax() == result.best.name
    # a tie is a candidate whose paired difference from the best has an interval containing 0
    for row in result.recommendation.pairwise:
        tied = row["ci_low"] <= 0 <= row["ci_high"]
        assert tied == any(c.name == row["strategy"] for c in result.recommendation.ties)


def test_the_same_seed_gives_the_same_study_with_one_or_two_workers(study, tmp_path):
    path, first = study
    again = sim.optimise(path, tmp_path / "again", workers=1)
    two = sim.optimise(path, tmp_path / "two", workers=2)
    for other in (again, two):
        for name in ("trials.parquet", "verification.csv", "best.toml"):
            assert (first.out / name).read_bytes() == (other.out / name).read_bytes(), name
    other_seed = sim.optimise(_file(tmp_path, "seed4.toml", seed=4), tmp_path / "seed4", workers=1)
    assert not np.array_equal(other_seed.trials["firms.0.price"], first.trials["firms.0.price"])


def test_with_two_workers_every_trial_is_stored_once_and_equals_a_direct_run(study, tmp_path):
    path, _ = study
    result = sim.optimise(path, tmp_path / "two", workers=2)
    with sqlite3.connect(result.out / "study.db") as db:
        states = db.execute("select state, count(*) from trials group by state").fetchall()
    assert states == [("COMPLETE", 12)]
    trials = result.trials
    assert trials["trial"].is_unique and trials["number"].is_unique and len(trials) == 12
    seeds = replication_seeds(3, 2)
    for _, row in trials.iloc[[0, 5, 11]].iterrows():
        scenario = load(
            "telecom",
            {
                "simulation.customers": 1000,
                "simulation.periods": 24,
                "firms.0.price": row["firms.0.price"],
                "firms.0.service_quality": row["firms.0.service_quality"],
            },
        )
        direct = pd.concat([engine_metrics(sim.run(scenario, seed=s).model.engine) for s in seeds])
        for metric in ("profit", "retention_12", "churn_per_year", "clv_mean", "customers_at_end"):
            assert row[metric] == pytest.approx(direct[metric].mean(), rel=1e-12, abs=1e-12), metric


def _complete(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("select count(*) from trials where state='COMPLETE'").fetchone()[0]
    except sqlite3.Error:
        return 0


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _start(cmd: list[str], db: Path, at_least: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = 0
    for _ in range(1200):
        time.sleep(0.05)
        done = _complete(db) if db.exists() else 0
        if done >= at_least or proc.poll() is not None:
            break
    return proc, done


def test_a_study_resumes_after_ctrl_c_and_after_sigkill_with_every_trial_exactly_once(tmp_path):
    """Ctrl-C (to the whole group, as a terminal sends it): one line, exit 130. SIGKILL of the command
    alone: its two workers die with it. Each time the same command resumes: the trials told before the
    stop are neither lost nor run again, and the finished study holds every trial exactly once."""
    path = _file(tmp_path, customers=10_000, periods=36, trials=24)
    out = tmp_path / "s"
    db = out / "study.db"
    cmd = [sys.executable, "-m", "sim.cli", "optimise", str(path), "--out", str(out), "--workers", "2", "--quiet"]
    proc, done = _start(cmd, db, 4)
    os.killpg(proc.pid, signal.SIGINT)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130 and len(err.strip().splitlines()) == 1 and "resume" in err and "Traceback" not in err, err
    assert 4 <= done < 24, f"{done} trials finished before Ctrl-C (the test needs a partial study)"

    proc, done2 = _start(cmd, db, done + 4)
    workers = _children(proc.pid)
    assert done2 < 24, "the study finished before the kill (the test needs a partial study)"
    os.kill(proc.pid, signal.SIGKILL)  # the command alone: its workers must die with it
    proc.wait(timeout=30)
    for _ in range(100):
        if not any(_alive(w) for w in workers):
            break
        time.sleep(0.1)
    assert workers and not any(_alive(w) for w in workers), "a worker outlived its killed command"
    told = pd.read_sql(
        "select t.number, v.value from trials t join trial_values v using (trial_id) where t.state='COMPLETE'",
        sqlite3.connect(db),
    )

    final = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    trials = pd.read_parquet(out / "trials.parquet")
    assert sorted(trials["trial"]) == list(range(24)) and (trials["state"] == "COMPLETE").all()
    assert not trials.duplicated(subset=["firms.0.price", "firms.0.service_quality"]).any()
    after = pd.read_sql(
        "select t.number, v.value from trials t join trial_values v using (trial_id) where t.state='COMPLETE'",
        sqlite3.connect(db),
    )
    kept = told.merge(after, on="number", suffixes=("_before", "_after"))
    assert len(kept) == len(told) and (kept["value_before"] == kept["value_after"]).all(), "a told trial was lost or changed"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["trials"]["run_by_this_command"] <= 24 - len(told), "a trial told before the kill ran again"
    with sqlite3.connect(db) as con:
        states = dict(con.execute("select state, count(*) from trials group by state").fetchall())
    assert states["COMPLETE"] == 24, "the database holds a trial twice"
    assert states.get("FAIL", 0) >= trials["rerun"].sum() > 0, "a rerun without a stale trial marked FAIL"


def test_a_ctrl_c_while_the_workers_start_is_one_line(tmp_path):
    """The terminal sends Ctrl-C to the whole group: the workers, still starting (Python importing the
    package, a second or two), hold it blocked from their first instruction and drop it, so the user sees the command's
    one line and no worker's traceback. (Blocking the signal while starting them did not reach them:
    multiprocessing's resource tracker, started with the first worker, unblocked it; this test then
    failed every time, and 3 in 30 Ctrl-Cs at random times showed the workers' tracebacks.)"""
    path = _file(tmp_path, customers=10_000, periods=36, trials=24)
    cmd = [sys.executable, "-m", "sim.cli", "optimise", str(path), "--out", str(tmp_path / "s"), "--workers", "2", "--quiet"]

    def importing(pid: int) -> bool:  # a worker (not the resource tracker) importing the package (before its own code runs)
        try:
            worker = b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            return worker and "pydantic_core" in Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            return False

    for attempt in range(3):
        proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(4000):
            if any(importing(p) for p in _children(proc.pid)) or proc.poll() is not None:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the command ended before its workers started"
        os.killpg(proc.pid, signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
        assert proc.returncode == 130 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (attempt, err)


CTRL_C_WHILE_STARTING = """
import os, signal, threading, time
import multiprocessing.popen_spawn_posix as popen
from sim import outputs
from sim.optimise.pool import Pool

launch = popen.Popen._launch
go = threading.Event()

def ctrl_c():  # a thread started before the pool blocks SIGINT, so it can receive the signal
    go.wait()
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=ctrl_c, daemon=True).start()

def interrupted_launch(self, process_obj):  # a Ctrl-C while the second worker starts
    if len(started) == 1:
        go.set()
        time.sleep(0.2)
    return launch(self, process_obj)

popen.Popen._launch = interrupted_launch
started = []
Process = popen.Popen.__init__
def init(self, process_obj):
    Process(self, process_obj)
    started.append(self)
popen.Popen.__init__ = init
try:
    with outputs.signal_handlers():
        Pool(2)
        print("not interrupted")
except KeyboardInterrupt:
    time.sleep(3)  # a worker cut short would print its traceback by now
    print(f"interrupted after {len(started)} workers started; running: {sum(p.poll() is None for p in started)}")
"""


def test_a_ctrl_c_while_a_worker_is_being_started_waits_until_all_have_started_then_stops_them(tmp_path):
    """Cut short while the pool hands a new process its start-up data, the process died with a
    traceback ("Ran out of input", once in 40 Ctrl-Cs at random times), and the workers already
    started ran on after the exception left the pool: the Ctrl-C takes effect once every worker has
    started, and the pool stops them before the exception leaves it."""
    done = subprocess.run([sys.executable, "-c", CTRL_C_WHILE_STARTING], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "interrupted after 2 workers started; running: 0", done
    assert done.stderr == "", done


def test_the_recommendation_respects_the_constraints(tmp_path):
    """Profit rises with the price and 12-month retention falls with it: a floor on retention binds.
    Every trial marked feasible meets it on the search seeds, and the recommendation meets it on the
    fresh seeds, at a lower price than the best trial without the constraint."""
    constraints = '[[constraints]]\nmetric = "retention_12"\nmin = 0.55\n'
    result = sim.optimise(_file(tmp_path, "c.toml", trials=15, constraints=constraints), tmp_path / "c", workers=1)
    t = result.trials
    assert (t.loc[t["feasible"], "retention_12"] >= 0.55).all() and (t.loc[~t["feasible"], "retention_12"] < 0.55).all()
    assert t["feasible"].any() and (~t["feasible"]).any(), "the constraint does not bind in this study"
    v = result.verification.set_index(["strategy", "metric"])
    assert v.loc[(result.best.name, "retention_12"), "mean"] >= 0.55
    unconstrained = t.loc[t["profit"].idxmax()]
    assert result.best.params["firms.0.price"] < unconstrained["firms.0.price"]


BUDGET_BASE = """
extends = "telecom"
name = "budgeted"
[set]
"simulation.customers" = 1000
"simulation.periods" = 24
[[add.measures]]
type = "service"
quality_boost = 0.1
cost_per_customer = 2.0
[[add.measures]]
type = "complaint_handling"
capacity = 60.0
cost_per_slot = 25.0
"""


def test_the_budget_buys_doses_through_each_levers_cost_model(tmp_path):
    (tmp_path / "base.toml").write_text(BUDGET_BASE)
    (tmp_path / "b.toml").write_text(
        'base = "base.toml"\n[objective]\nmaximise = "profit"\n'
        '[budget]\nper_period = 2000.0\nlevers = ["service", "complaint_handling"]\n'
    )
    spec = load_spec(tmp_path / "b.toml")
    service, complaints = spec.budget.levers
    assert service.dose == "quality_boost" and complaints.dose == "capacity"
    # the pilot priced the reference dose: service reaches every customer of the firm each period at its
    # cost_per_customer, so its spend per period is 2.0 times the firm's mean customers in that run
    pilot = spec.base.model_dump(mode="json")
    pilot["measures"] = [m for m in pilot["measures"] if m["type"] != "complaint_handling"]
    periods = sim.run(pilot, seed=replication_seeds(0, 1)[0]).periods
    active = periods.loc[periods["firm"] == "focal", "active"].mean()
    assert service.variable / 2.0 == pytest.approx(active, rel=0.02)
    ref = service.fixed + service.variable
    dose, costs, spent = dose_for_money(service, ref)
    assert dose == pytest.approx(0.1) and costs["cost_per_customer"] == pytest.approx(2.0) and spent == pytest.approx(ref)
    dose, costs, spent = dose_for_money(service, 2 * ref)  # a flat fee: twice the money, twice the dose and the fee
    assert dose == pytest.approx(0.2) and costs["cost_per_customer"] == pytest.approx(4.0) and spent == pytest.approx(2 * ref)
    assert dose_for_money(service, 1e9)[0] == 1.0  # at most the key's bound
    assert dose_for_money(service, 0.0)[0] is None  # no money: the lever is off
    dose, costs, spent = dose_for_money(complaints, 0.5 * (complaints.fixed + complaints.variable))  # grows with capacity
    assert dose == pytest.approx(30.0, rel=1e-6) and costs == {}
    data, derived = scenario_for(spec, {"budget.service": 1.0, "budget.complaint_handling": 0.0})
    assert derived["budget.service"] == pytest.approx(2000.0) and derived["budget.complaint_handling"] == 0.0
    assert [m["type"] for m in data["measures"]] == [m.type for m in spec.base.measures if m.type != "complaint_handling"]


@pytest.mark.parametrize(
    "text,key,reason",
    [
        (
            '[objective]\nmaximise = "profitt"\n[parameters]\n"firms.0.price" = [20.0, 60.0]\n',
            "objective.maximise",
            "unknown metric 'profitt'",
        ),
        ('[objective]\nmaximise = "profit"\n[parameters]\n"firms.0.prize" = [20.0, 60.0]\n', "firms.0.prize", "prize"),
        ('[objective]\nmaximise = "profit"\n[parameters]\n"firms.0.price" = [30.0, 30.0]\n', "parameters.firms.0.price", "empty"),
        (
            '[objective]\nmaximise = "profit"\n[parameters]\n"firms.0.price" = [60.0, 20.0]\n',
            "parameters.firms.0.price",
            "inverted",
        ),
        (
            '[objective]\nmaximise = "profit"\n[parameters]\n"segments.0.purchase_cycle" = [1.5, 4]\n',
            "parameters.segments.0.purchase_cycle",
            "whole",
        ),
        (
            '[objective]\nmaximise = "profit"\n[serach]\ntrials = 3\n[parameters]\n"firms.0.price" = [20.0, 60.0]\n',
            "serach",
            "unknown key",
        ),
        (
            '[objective]\nmaximise = "profit"\n[[constraints]]\nmetric = "retention_12"\nmin = 0.9\nmax = 0.5\n'
            '[parameters]\n"firms.0.price" = [20.0, 60.0]\n',
            "constraints.0",
            "above max",
        ),
        (
            '[objective]\nmaximise = "profit"\n[budget]\nper_period = 1e9\nlevers = ["service"]\n',
            "budget.per_period",
            "more than the levers can spend",
        ),
        (
            '[objective]\nmaximise = "profit"\n[budget]\nper_period = 500.0\nlevers = ["loyalty_programme"]\n',
            "budget.levers.0",
            "no 'loyalty_programme' measure",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, text, key, reason):
    (tmp_path / "base.toml").write_text(BUDGET_BASE)
    path = tmp_path / "bad.toml"
    path.write_text('base = "base.toml"\n' + text)
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "optimise", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert str(path) in lines[0] and key in lines[0] and reason in lines[0], lines[0]
    assert not (tmp_path / "o").exists()


def test_sim_optimise_is_the_function_however_it_was_reached():
    import sim.optimise.core  # noqa: F401  (importing a submodule must not replace sim.optimise)

    assert callable(sim.optimise) and callable(sim.optimise.optimise)


def test_two_objectives_give_a_pareto_front_and_levers_switch_off_in_best_toml(tmp_path):
    """NSGA-II on profit against the share held only by barriers (the bonding-versus-attaching frontier),
    with a whole-number key and a lever on/off among the parameters: whole numbers stay whole, the
    confirmed candidates are not dominated by one another's means, and a recommendation that switches
    a lever off is written as a full measures list that `load` takes."""
    (tmp_path / "opt.toml").write_text("""
base = "telecom"
[set]
"simulation.customers" = 800
"simulation.periods" = 24
[objective]
maximise = "profit"
minimise = "attached_only_share"
[parameters]
"firms.0.price" = [25.0, 60.0]
"measures.0.term" = [3, 24]
"measures.1" = [false, true]
[search]
trials = 16
replications = 2
seed = 2
[verify]
top = 3
replications = 4
slices = 2
""")
    result = sim.optimise(tmp_path / "opt.toml", tmp_path / "o", workers=1)
    t = result.trials
    assert result.spec.method == "nsga2" and (t["state"] == "COMPLETE").all()
    assert (t["measures.0.term"] == t["measures.0.term"].round()).all() and t["measures.0.term"].between(3, 24).all()
    assert set(t["measures.1"]) <= {True, False}
    assert result.best is not None and "Pareto front" in (result.out / "report.html").read_text()
    best = load(result.out / "best.toml")
    kept = len(best.measures) == len(result.spec.base.measures)
    assert kept == bool(result.best.params["measures.1"])
    assert best.measures[0].term == result.best.params["measures.0.term"]
