"""The `retention-sim` command: what a run writes, and that writes are atomic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim import results as results_mod
from sim.cli import main
from sim.params import LOYALTY_CLASSES


def test_run_writes_tables_summary_plots_and_manifest(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "telecom", "--customers", "2000", "--periods", "30", "--seed", "2", "--out", str(out), "--quiet"]) == 0
    periods = pd.read_parquet(out / "periods.parquet")
    csv = pd.read_csv(out / "periods.csv")
    assert list(csv.columns) == list(periods.columns) and len(csv) == len(periods)
    pd.testing.assert_frame_equal(csv.drop(columns="firm"), periods.drop(columns="firm"), check_dtype=False)
    assert set(periods["firm"]) == {"focal", "rival"} and periods["period"].max() == 29
    for col in (
        "active",
        "churned",
        "switched_out",
        "switched_in",
        "revenue",
        "measure_costs",
        "profit",
        *(f"share_{k}" for k in LOYALTY_CLASSES),
    ):
        assert col in periods
    shares = periods[[f"share_{k}" for k in LOYALTY_CLASSES]].sum(axis=1)
    assert ((shares - 1).abs() < 1e-9).all()
    customers = pd.read_parquet(out / "customers.parquet")
    assert len(customers) >= 2000 and {"bond", "attachment", "loyalty", "churn_p", "reference_price"} <= set(customers)
    summary = json.loads((out / "summary.json").read_text())
    focal = summary["firms"]["focal"]
    assert focal["retention"]["12_months"] is not None and focal["retention"]["60_months"] is None
    assert set(focal["clv"]["by_loyalty_class"]) == set(LOYALTY_CLASSES)
    assert set(focal["clv"]["by_segment"]) == {"twelve_month", "twenty_four_month"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"]["simulation"]["customers"] == 2000 and len(manifest["scenario_hash"]) == 64
    assert manifest["scenario"]["experience"]["loss_aversion"] == 2.0  # defaults filled in
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "churn.png",
        "clv.png",
        "loyalty_classes.png",
        "profit.png",
        "retention.png",
    ]


def test_interrupted_write_leaves_no_partial_output(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("sim.plots.save_all", boom)
    assert main(["run", "telecom", "--customers", "300", "--periods", "5", "--out", str(out), "--quiet"]) == 130
    assert capsys.readouterr().err == "retention-sim: interrupted (Ctrl-C); nothing was written\n"
    assert list(tmp_path.iterdir()) == []


def test_rerun_replaces_previous_output_whole_only_with_force(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "telecom", "--customers", "300", "--periods", "5", "--out", str(out), "--quiet"]
    assert main(args) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(args + ["--no-plots"]) == 2  # an earlier output is kept unless --force
    assert "--force" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    (out / "notes.txt").write_text("mine")  # a file the program did not write: never deleted, even with --force
    assert main(args + ["--no-plots", "--force"]) == 2
    assert "notes.txt" in capsys.readouterr().err and (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    assert main(args + ["--no-plots", "--force"]) == 0
    assert not (out / "plots").exists() and (out / "summary.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_console_script_list_and_validate():
    done = subprocess.run([sys.executable, "-m", "sim.cli", "list"], capture_output=True, text=True, check=True)
    assert "telecom" in done.stdout and "ecommerce" in done.stdout and "b2b_software" in done.stdout
    lines = done.stdout.splitlines()
    starts = {len(line) - len(line.split(None, 1)[1]) for line in lines}
    assert len(starts) == 1, "every question starts in the same column, whatever the name's length"
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "validate", "b2b_software"], capture_output=True, text=True, check=True
    )
    assert tomllib.loads(done.stdout)["name"] == "b2b_software"  # annotated TOML, every default filled in


def test_api_result_tables_are_dataframes():
    res = results_mod.run("b2b_software", seed=1, overrides={"simulation.customers": 400, "simulation.periods": 30})
    assert isinstance(res.periods, pd.DataFrame) and isinstance(res.customers, pd.DataFrame)
    assert res.summary["firms"]["vendor"]["retention"]["12_months"] is not None


def test_default_scenario_runs_outside_the_repository(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", "--customers", "300", "--periods", "3", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results" / "telecom-seed0" / "summary.json").is_file()


def test_version_prints_the_package_version():
    done = subprocess.run([sys.executable, "-m", "sim.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == f"retention-sim {sim.__version__}\n"


def test_set_overrides_keys_on_validate_and_run(tmp_path, capsys):
    sets = [
        "--set",
        "firms.0.price=33.5",
        "--set",
        "firms.1.unit_cost=16",
        "--set",
        "mechanisms.arrivals=false",
        "--set",
        "question=plain text, not TOML",
    ]
    assert main(["validate", "telecom", *sets]) == 0
    shown = tomllib.loads(capsys.readouterr().out)
    assert shown["firms"][0]["price"] == 33.5 and shown["firms"][1]["unit_cost"] == 16.0
    assert shown["mechanisms"]["arrivals"] is False and shown["question"] == "plain text, not TOML"
    out = tmp_path / "o"
    assert (
        main(
            [
                "run",
                "telecom",
                "--customers",
                "300",
                "--periods",
                "3",
                "--quiet",
                "--out",
                str(out),
                *sets,
                "--set",
                "simulation.customers=999",
            ]
        )
        == 0
    )  # --customers wins over --set
    manifest = json.loads((out / "manifest.json").read_text())["scenario"]
    assert manifest["firms"][0]["price"] == 33.5 and manifest["mechanisms"]["arrivals"] is False
    assert manifest["simulation"]["customers"] == 300


def test_package_attributes_are_lazy_but_present():
    code = (
        "import sys, sim; assert 'pandas' not in sys.modules and 'mesa' not in sys.modules; "
        "import sim.cli; assert 'pandas' not in sys.modules and 'numba' not in sys.modules; "
        "assert callable(sim.run) and sim.RetentionModel and sim.RunResult and sim.Scenario and sim.ScenarioError; "
        "assert sim.load and sim.shipped_scenarios and sim.__version__"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2,
    reason="counts the process's threads under /proc; a library pool needs two cores to show",
)
def test_the_command_keeps_numpys_blas_pool_at_one_thread_unless_the_user_asks():
    """Importing the command before numpy leaves OpenBLAS without its spinning pool; a user's own
    OPENBLAS_NUM_THREADS is kept (and then the pool starts, which shows the count can tell)."""
    code = "import os, sim.cli, numpy; print(len(os.listdir('/proc/self/task')), os.environ['OPENBLAS_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    ours = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    theirs = subprocess.run(
        [sys.executable, "-c", code], env={**env, "OPENBLAS_NUM_THREADS": "2"}, capture_output=True, text=True, check=True
    ).stdout.split()
    assert ours[1] == "1" and theirs[1] == "2"
    assert int(ours[0]) < int(theirs[0])


def test_run_answers_with_the_levers_paired_effect(tmp_path, capsys):
    """run: the answer ends with the lever's effect against the counterfactual, a paired difference
    with its 95 % interval over --replications, kept in summary.json; 0 replications skip it."""
    out = tmp_path / "run"
    args = ["run", "telecom", "--customers", "1500", "--seed", "2", "--replications", "3", "--no-plots", "--out", str(out)]
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "without the operator's contracts" in said and "95 % CI" in said
    assert "with the value beyond the horizon" in said
    summary = json.loads((out / "summary.json").read_text())
    e = summary["effect"]
    assert e["n"] == 3 and e["metric"] == "retention_60" and e["ci_low"] <= e["difference"] <= e["ci_high"]
    clv = summary["firms"]["focal"]["clv"]
    assert clv["initial_cohort_projected"] > clv["initial_cohort"]["mean"]
    assert "stop at the horizon" in summary["horizon_note"]
    r0 = tmp_path / "r0"
    assert main(["run", "telecom", "--customers", "1500", "--replications", "0", "--no-plots", "--out", str(r0)]) == 0
    assert "effect" not in json.loads((r0 / "summary.json").read_text())


def test_unscaled_and_firm_options(tmp_path, capsys):
    """--unscaled keeps the market's budgets (scale 1, recorded in the manifest); an unknown --firm is
    one line and exit 2, nothing written."""
    out = tmp_path / "u"
    assert main(["run", "telecom", "--customers", "1000", "--periods", "3", "--unscaled", "--replications", "0", "--no-plots",
                 "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "manifest.json").read_text())["scale"] == 1.0
    assert main(["run", "telecom", "--customers", "1000", "--periods", "3", "--replications", "0", "--no-plots",
                 "--out", str(tmp_path / "s"), "--quiet"]) == 0
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["scale"] == pytest.approx(1000 / 20000)
    capsys.readouterr()
    assert main(["compare", "telecom", "telecom", "--firm", "nobody", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--firm" in err[0] and "nobody" in err[0] and not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    "command", [None, "run", "compare", "sweep", "optimise", "calibrate", "validate", "list", "patterns", "dashboard"]
)
def test_help_shows_percent_signs_as_written(command, capsys):
    """argparse %-formats help strings but not descriptions: a '%%' in a description reaches the screen."""
    with pytest.raises(SystemExit):
        main([command, "--help"] if command else ["--help"])
    assert "%%" not in capsys.readouterr().out


def test_the_memory_hint_names_what_the_population_mostly_consists_of():
    """Out of memory, the command says what to lower: the firm whose budget buys the most newcomers
    when arrivals outnumber the initial customers (Scenario.bought_per_period), else the customers."""
    from sim.cli import _memory_hint
    from sim.scenario import load

    sc = load("telecom")
    firms = [f.model_copy(update={"acquisition_spend": spend}) for f, spend in zip(sc.firms, (1e3, 1e6))]
    busy = sc.model_copy(update={"firms": firms})
    assert busy.bought_per_period(1) > busy.bought_per_period(0)
    assert "firms.1.acquisition_spend" in _memory_hint(busy)
    quiet = sc.model_copy(update={"mechanisms": sc.mechanisms.model_copy(update={"arrivals": False})})
    assert quiet.bought_per_period(1) == 0.0 and "--customers" in _memory_hint(quiet)
