"""Sweeps a referee and a test team can trust: a resume refuses a changed model, whole numbers are
simulated and stored as whole numbers, damaged state is named and --force clears it, a crafted
marker removes nothing outside its folder, every sweep ends with its points, best points, noise and
response plots, and indices warn when the design is too small. Most checks run the sweep's own code
path with toy evaluations (tests/sweep_toys.py); the command-line checks run a tiny real sweep."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sweep_toys import echo_price, ishigami, noisy_linear, record_values

from sim import outputs
from sim.scenario import load
from sim.sweep import (
    MAX_POINTS,
    SweepSpec,
    SweepStateError,
    design_points,
    load_spec,
    morris_indices,
    run_sweep,
    simulated_design,
)

HERE = Path(__file__).parent


def _telecom(price: float = 28.0):
    return load("telecom", {"firms.1.price": price, "simulation.customers": 200, "simulation.periods": 12})


def _spec(**kw) -> SweepSpec:
    args = {
        "base": "telecom",
        "design": "lhs",
        "samples": 6,
        "replications": 2,
        "seed": 1,
        "metrics": ["profit"],
        "parameters": {"firms.0.price": (25.0, 40.0)},
    } | kw
    return SweepSpec(**args)


# ------------------------------------------------------------------------------- the resume key
def test_a_changed_base_is_refused_naming_the_key_and_restart_redoes_every_run(tmp_path):
    spec = _spec()
    first = run_sweep(spec, tmp_path / "s", base=_telecom(28.0), evaluate=echo_price).runs
    with pytest.raises(outputs.OutputRefused) as err:
        run_sweep(spec, tmp_path / "s", base=_telecom(20.0), evaluate=echo_price)
    assert err.value.exit_code == 2 and "firms.1.price: 28.0 -> 20.0" in err.value.reason and "--restart" in err.value.reason
    assert "\n" not in str(err.value)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s" / "runs.parquet"), first)  # nothing touched
    redone = run_sweep(spec, tmp_path / "s", base=_telecom(20.0), evaluate=echo_price, restart=True).runs
    fresh = run_sweep(spec, tmp_path / "fresh", base=_telecom(20.0), evaluate=echo_price).runs
    pd.testing.assert_frame_equal(redone, fresh)
    assert (redone["profit"] - first["profit"]).eq(-8.0).all()


def test_a_changed_sweep_file_or_version_is_refused_naming_what_changed(tmp_path, monkeypatch):
    base = _telecom()
    run_sweep(_spec(), tmp_path / "s", base=base, evaluate=echo_price)
    with pytest.raises(outputs.OutputRefused, match=r"the sweep file changed \(parameters.firms.0.price.1: 40.0 -> 41.0\)"):
        run_sweep(_spec(parameters={"firms.0.price": (25.0, 41.0)}), tmp_path / "s", base=base, evaluate=echo_price)
    import sim.sweep

    monkeypatch.setattr(sim.sweep, "__version__", "9.9.9")
    with pytest.raises(outputs.OutputRefused, match="written by retention-sim 0.*this is 9.9.9"):
        run_sweep(_spec(), tmp_path / "s", base=base, evaluate=echo_price)


def test_an_interrupted_sweep_resumes_only_its_missing_points_and_writes_a_manifest(tmp_path):
    spec, base, calls = _spec(), _telecom(), []

    def interrupted(task):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(task["point"])
        return echo_price(task)

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, tmp_path / "s", base=base, evaluate=interrupted)
    assert len(pd.read_parquet(tmp_path / "s" / "runs.parquet")) == 3 * 2
    resumed = []

    def counting(task):
        resumed.append(task["point"])
        return echo_price(task)

    result = run_sweep(spec, tmp_path / "s", base=base, evaluate=counting)
    assert sorted(calls + resumed) == list(range(6)) and len(result.runs) == 12
    pd.testing.assert_frame_equal(result.runs, run_sweep(spec, tmp_path / "fresh", base=base, evaluate=echo_price).runs)
    run_sweep(spec, tmp_path / "s", base=base, evaluate=counting)
    assert len(resumed) == 3  # a finished sweep runs nothing again
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert (
        manifest["command"] == "sweep"
        and manifest["base_scenario_hash"] == json.loads((tmp_path / "s" / "sweep.json").read_text())["key"]["base"]
    )
    for key in ("python", "numpy", "numba", "pandas", "git_commit", "version", "replication_seeds", "base_scenario"):
        assert key in manifest, key


def test_a_finished_sweep_stopped_while_it_rewrites_its_analysis_still_resumes(tmp_path, monkeypatch):
    """Every file an earlier run listed stays listed until it is rewritten: a stop at that moment does
    not make the earlier analysis files look like the user's."""
    import sim.sweep

    spec, base = _spec(), _telecom()
    run_sweep(spec, tmp_path / "s", base=base, evaluate=echo_price)

    def stopped(self, folder):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(sim.sweep.SweepResult, "write_analysis", stopped)
        with pytest.raises(KeyboardInterrupt):
            run_sweep(spec, tmp_path / "s", base=base, evaluate=echo_price)
    assert len(run_sweep(spec, tmp_path / "s", base=base, evaluate=echo_price).runs) == 12


# ------------------------------------------------------------------------------- whole numbers
def test_whole_number_parameters_are_rounded_simulated_and_stored_as_whole_numbers(tmp_path):
    """A contract term and a purchase cycle (declared int in the schema, one a measure's field) are
    rounded half up before they are simulated; the task gets ints, runs.parquet stores what ran."""
    spec = _spec(
        design="grid",
        samples=4,
        replications=1,
        metrics=["profit", "clv_mean", "retention_12"],
        parameters={"measures.0.term": (6.0, 13.0), "segments.0.purchase_cycle": (1.0, 8.0), "firms.0.price": (25.0, 40.0)},
    )
    seen = []

    def capture(task):
        seen.append(task["values"])
        return record_values(task)

    runs = run_sweep(spec, tmp_path / "s", base=_telecom(), evaluate=capture).runs
    assert all(
        isinstance(v["measures.0.term"], int)
        and isinstance(v["segments.0.purchase_cycle"], int)
        and isinstance(v["firms.0.price"], float)
        for v in seen
    )
    stored = pd.read_parquet(tmp_path / "s" / "runs.parquet")
    assert set(stored["measures.0.term"]) == {6, 8, 11, 13}  # 6, 8.33, 10.67, 13
    assert set(stored["segments.0.purchase_cycle"]) == {1, 3, 6, 8}  # 1, 3.33, 5.67, 8
    assert stored["measures.0.term"].dtype == np.int64 and (stored["profit"] == stored["measures.0.term"]).all()
    assert (stored["clv_mean"] == stored["segments.0.purchase_cycle"]).all()
    pd.testing.assert_frame_equal(stored, runs)
    points = pd.read_csv(tmp_path / "s" / "points.csv")
    assert (points["measures.0.term"] == points["measures.0.term"].round()).all()


def test_a_sweep_file_may_sweep_a_contract_term(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('base = "telecom"\ndesign = "grid"\nsamples = 2\n[parameters]\n"measures.0.term" = [6, 13]\n')
    spec, base = load_spec(path)
    assert simulated_design(spec, [True]).ravel().tolist() == [6.0, 13.0]


def test_morris_uses_the_steps_simulated_and_equals_salib_without_rounding():
    from SALib.analyze import morris as salib_morris

    spec = SweepSpec(
        base="telecom", design="morris", samples=12, seed=4, metrics=["profit"], parameters={"a": (0.0, 1.0), "b": (1.0, 8.0)}
    )
    x = design_points(spec)
    y = np.sin(3 * x[:, 0]) + 0.3 * x[:, 1] ** 2
    ours, theirs = morris_indices(spec.problem(), x, y, seed=4), salib_morris.analyze(spec.problem(), x, y, num_levels=4, seed=4)
    for key in ("mu", "mu_star", "sigma", "mu_star_conf"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-12, atol=1e-12)
    # b is a whole number: 1, 3.33, 5.67, 8 are simulated as 1, 3, 6, 8; y = 2 b is linear, so every
    # elementary effect over the steps taken is 2 x range = 14, while the nominal step would give 15
    xs = simulated_design(spec, [False, True])
    ee = morris_indices(spec.problem(), xs, 2.0 * xs[:, 1], seed=4)
    assert ee["mu_star"][1] == pytest.approx(14.0, rel=1e-12) and ee["sigma"][1] == pytest.approx(0.0, abs=1e-9)
    nominal = salib_morris.analyze(spec.problem(), x, 2.0 * xs[:, 1], num_levels=4, seed=4)["mu_star"][1]
    assert abs(nominal - 14.0) > 0.5


# ------------------------------------------------------------------------------- damaged state
def _damage_cases():
    def truncate(p):
        p.write_bytes(p.read_bytes()[:40])

    def empty(p):
        p.write_bytes(b"")

    def drop_metric(p):
        pd.read_parquet(p).drop(columns="profit").to_parquet(p, index=False)

    def foreign_point(p):
        f = pd.read_parquet(p)
        f.loc[0, "point"] = 99
        f.to_parquet(p, index=False)

    def edited(p):
        f = pd.read_parquet(p)
        f.loc[0, "firms.0.price"] += 1.0
        f.to_parquet(p, index=False)

    def duplicated(p):
        f = pd.read_parquet(p)
        pd.concat([f, f.iloc[:1]]).to_parquet(p, index=False)

    def nan_metric(p):
        f = pd.read_parquet(p)
        f.loc[0, "profit"] = math.nan
        f.to_parquet(p, index=False)

    return [truncate, empty, drop_metric, foreign_point, edited, duplicated, nan_metric]


@pytest.mark.parametrize("damage", _damage_cases(), ids=lambda f: f.__name__)
def test_damaged_sweep_state_is_named_and_force_starts_over(tmp_path, damage):
    spec, base = _spec(), _telecom()
    first = run_sweep(spec, tmp_path / "s", base=base, evaluate=echo_price).runs
    damage(tmp_path / "s" / "runs.parquet")
    with pytest.raises(SweepStateError) as err:
        run_sweep(spec, tmp_path / "s", base=base, evaluate=echo_price)
    assert err.value.exit_code == 2 and "runs.parquet" in err.value.path and "--force" in err.value.reason
    again = run_sweep(spec, tmp_path / "s", base=base, evaluate=echo_price, force=True).runs
    pd.testing.assert_frame_equal(again, first)


def test_resumed_rows_are_checked_even_without_a_recorded_hash(tmp_path):
    """A folder whose marker recorded no hash (an older version) is still checked row by row."""
    spec, base = _spec(), _telecom()
    run_sweep(spec, tmp_path / "s", base=base, evaluate=echo_price)
    marker = tmp_path / "s" / outputs.MARKER
    data = json.loads(marker.read_text())
    data["runs_sha256"] = []
    marker.write_text(json.dumps(data))
    f = pd.read_parquet(tmp_path / "s" / "runs.parquet")
    f.loc[1, "seed"] += 1
    f.to_parquet(tmp_path / "s" / "runs.parquet", index=False)
    with pytest.raises(SweepStateError, match="seed"):
        run_sweep(spec, tmp_path / "s", base=base, evaluate=echo_price)


# ------------------------------------------------------------------------------- the folder
def test_a_crafted_marker_never_removes_a_file_outside_its_folder(tmp_path):
    spec, base = _spec(), _telecom()
    run_sweep(spec, tmp_path / "s", base=base, evaluate=echo_price)
    victim, absolute = tmp_path / "victim.txt", tmp_path / "abs_victim.txt"
    victim.write_text("keep")
    absolute.write_text("keep")
    (tmp_path / "s" / "notes.txt").write_text("mine")
    marker = tmp_path / "s" / outputs.MARKER
    data = json.loads(marker.read_text())
    data["files"] += ["../victim.txt", str(absolute), "notes.txt", "./points.csv", "plots/../../victim.txt"]
    marker.write_text(json.dumps(data))
    run_sweep(_spec(parameters={"firms.0.price": (26.0, 40.0)}), tmp_path / "s", base=base, evaluate=echo_price, force=True)
    assert victim.read_text() == "keep" and absolute.read_text() == "keep"
    assert (tmp_path / "s" / "notes.txt").read_text() == "mine"  # listed, but not a name a sweep writes


def test_remove_listed_takes_plain_names_inside_the_folder_with_their_recorded_content(tmp_path):
    folder = tmp_path / "out"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.csv", "sub/b.csv", "changed.csv"):
        (folder / name).write_text(name)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    (folder / "link").symlink_to(tmp_path, target_is_directory=True)
    marker = {
        "files": [
            "a.csv",
            "sub/b.csv",
            "changed.csv",
            "../outside.txt",
            str(outside),
            "link/outside.txt",
            "",
            ".",
            "sub/../a.csv",
        ],
        "sha256": {"changed.csv": "0" * 64},
    }
    removed = outputs.remove_listed(folder, marker)
    assert sorted(removed) == ["a.csv", "sub/b.csv"] and not (folder / "sub").exists()
    assert outside.read_text() == "keep" and (folder / "changed.csv").exists()


def test_force_over_a_sweep_folder_with_a_user_file_says_what_to_do(tmp_path):
    spec, base = _spec(), _telecom()
    run_sweep(spec, tmp_path / "s", base=base, evaluate=echo_price)
    (tmp_path / "s" / "mine.txt").write_text("x")
    with pytest.raises(outputs.OutputRefused) as err:
        run_sweep(_spec(seed=2), tmp_path / "s", base=base, evaluate=echo_price, force=True)
    assert "mine.txt" in err.value.reason and "did not write" in err.value.reason and "add --force" not in err.value.reason


def test_an_existing_file_as_out_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(outputs.OutputRefused, match="is a file"):
        run_sweep(_spec(), tmp_path / "f", base=_telecom(), evaluate=echo_price)
    assert (tmp_path / "f").read_text() == "x"


def test_a_grid_too_large_to_run_is_refused_at_validation():
    with pytest.raises(ValueError, match=r"10,000,000,000 points"):
        SweepSpec(base="telecom", design="grid", samples=10, parameters={f"k{i}": (0.0, 1.0) for i in range(10)})
    assert (
        SweepSpec(base="telecom", design="grid", samples=10, parameters={f"k{i}": (0.0, 1.0) for i in range(6)}).n_points()
        <= MAX_POINTS
    )


# ------------------------------------------------------------------------------- what a sweep ends with
def test_points_best_and_noise_tables_follow_from_the_runs(tmp_path):
    spec = _spec(
        design="grid",
        samples=3,
        replications=5,
        metrics=["profit", "churn_per_year"],
        parameters={"a": (0.0, 1.0), "b": (0.0, 2.0)},
    )
    result = run_sweep(spec, tmp_path / "s", base={"name": "toy", "noise_sd": 0.5}, evaluate=noisy_linear)
    points = pd.read_csv(tmp_path / "s" / "points.csv")
    assert len(points) == 9 and list(points.columns[:3]) == ["point", "a", "b"]
    runs = result.runs
    for p in (0, 4, 8):
        v = runs[runs["point"] == p].sort_values("replication")["profit"].to_numpy()
        half = stats.t.ppf(0.975, 4) * v.std(ddof=1) / math.sqrt(5)
        row = points[points["point"] == p].iloc[0]
        assert row["profit"] == pytest.approx(v.mean()) and row["profit_ci_high"] - row["profit"] == pytest.approx(half)
    best = pd.read_csv(tmp_path / "s" / "best.csv").set_index("metric")
    assert best.loc["profit", "better"] == "higher" and best.loc["churn_per_year", "better"] == "lower"
    assert (
        best.loc["profit", "point"] == points["profit"].idxmax()
        and best.loc["churn_per_year", "point"] == points["churn_per_year"].idxmin()
    )
    noise = pd.read_csv(tmp_path / "s" / "noise.csv").set_index("metric")
    # within-point variance estimates 0.25 from 9 x 4 degrees of freedom: SE = 0.25 sqrt(2/36)
    assert abs(noise.loc["profit", "within_point_variance"] - 0.25) < 4 * 0.25 * math.sqrt(2 / 36)
    plots = sorted(p.name for p in (tmp_path / "s" / "plots").iterdir())
    assert plots == [
        "response-a-churn_per_year.png",
        "response-a-profit.png",
        "response-b-churn_per_year.png",
        "response-b-profit.png",
    ]
    marker = json.loads((tmp_path / "s" / outputs.MARKER).read_text())
    assert set(marker["files"]) == {
        "sweep.json",
        "manifest.json",
        "runs.parquet",
        "points.csv",
        "best.csv",
        "noise.csv",
        *(f"plots/{p}" for p in plots),
    }


def test_sobol_warns_when_n_is_too_small_and_not_when_it_is_large(tmp_path):
    small = SweepSpec(
        base="telecom",
        design="sobol",
        samples=6,
        seed=3,
        metrics=["profit"],
        parameters={f"x{i}": (-math.pi, math.pi) for i in (1, 2, 3)},
    )
    result = run_sweep(small, tmp_path / "small", base={"name": "toy"}, evaluate=ishigami)
    text = " ".join(result.warnings)
    assert "not a power of 2" in text and "too small" in text and ("S1 > ST" in text or "outside [0, 1]" in text)
    assert (tmp_path / "small" / "warnings.txt").read_text().count("warning:") == len(result.warnings)
    large = small.model_copy(update={"samples": 1024, "replications": 2})
    result = run_sweep(large, tmp_path / "large", base={"name": "toy"}, evaluate=ishigami)
    assert not [w for w in result.warnings if "too small" in w or "noise" in w], result.warnings


def test_indices_of_mostly_noise_are_flagged_with_the_noise_share(tmp_path):
    """y = 3 a + 2 b + noise of SD 20 over a, b in [0, 1]: the point means' variance (about 1.1 from the
    design) is far below the noise's (400 / 2 replications), so the noise share is near 1."""
    spec = SweepSpec(
        base="telecom",
        design="morris",
        samples=12,
        replications=2,
        seed=3,
        metrics=["profit"],
        parameters={"a": (0.0, 1.0), "b": (0.0, 1.0)},
    )
    result = run_sweep(spec, tmp_path / "m", base={"name": "toy", "noise_sd": 20.0}, evaluate=noisy_linear)
    share = pd.read_csv(tmp_path / "m" / "noise.csv").set_index("metric").loc["profit", "share_of_point_mean_variance"]
    assert share > 0.9
    assert any("replication noise" in w for w in result.warnings)
    from sim.cli import summarise_sweep

    printed = summarise_sweep(result, tmp_path / "m")
    assert f"replication noise in profit: {share:.0%} of the variance of the point means" in printed


# ------------------------------------------------------------------------------- processes
KILLED = """
import sys
sys.path.insert(0, sys.argv[1])
from sim.sweep import SweepSpec, run_sweep
from sweep_toys import sleepy
spec = SweepSpec(base="telecom", design="lhs", samples=6, replications=1, seed=1, metrics=["profit"],
                 parameters={"firms.0.price": (27.0, 33.0)})
run_sweep(spec, sys.argv[2] + "/out", base=sys.argv[2], workers=2, evaluate=sleepy)
"""


def _group(pgid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                out.append(int(entry.name))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_sigkill_of_a_two_worker_sweep_leaves_no_process_alive(tmp_path):
    """The command, its worker server, a worker in the middle of a point (a minute long) and the
    resource tracker: after a SIGKILL of the command, none of them is alive 15 s later."""
    from sim.engine import _ensure_compiled

    _ensure_compiled()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(HERE), str(tmp_path)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.monotonic()
    while not [p for p in tmp_path.iterdir() if p.name.isdigit() and int(p.name) != proc.pid] and time.monotonic() - started < 60:
        time.sleep(0.1)
    members = _group(proc.pid)
    assert len(members) >= 3, members  # command, server, worker (and the resource tracker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while _group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = _group(proc.pid)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"still alive 15 s after the command was killed: {alive}"


# ------------------------------------------------------------------------------- the command
TINY = """
base = "telecom"
design = "grid"
samples = 2
replications = 2
seed = 1
metrics = ["retention_12", "profit"]
[set]
"simulation.customers" = 300
"simulation.periods" = 12
[parameters]
"measures.0.term" = [6, 13]
"""


def _cli(*args, cwd=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def test_the_command_prints_a_table_best_points_caps_workers_and_refuses_a_changed_base(tmp_path):
    (tmp_path / "base.toml").write_text('extends = "telecom"\nname = "mybase"\n[set]\n"firms.1.price" = 28.0\n')
    (tmp_path / "sw.toml").write_text(TINY.replace('base = "telecom"', 'base = "base.toml"'))
    done = _cli("sweep", tmp_path / "sw.toml", "--workers", "999", "--out", tmp_path / "s")
    assert done.returncode == 0, done.stderr
    assert "warning: --workers 999 is more than the" in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("2 design points") and "measures.0.term" in lines[1] and lines[2].split()[:2] == ["0", "6"]
    assert any(line.strip().startswith("profit (higher is better): point") for line in lines)
    assert "e+0" not in done.stdout
    (tmp_path / "base.toml").write_text('extends = "telecom"\nname = "mybase"\n[set]\n"firms.1.price" = 20.0\n')
    again = _cli("sweep", tmp_path / "sw.toml", "--out", tmp_path / "s")  # not quiet: the refusal is still its one line
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert "firms.1.price: 28.0 -> 20.0" in again.stderr and "--restart" in again.stderr
    restarted = _cli("sweep", tmp_path / "sw.toml", "--out", tmp_path / "s", "--quiet", "--restart")
    assert restarted.returncode == 0, restarted.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["--scheduler", "not an address"], "--scheduler not an address: not a scheduler address"),
        (["--workers", "100000"], "workers: must be at most 1,024"),
    ],
)
def test_bad_sweep_options_exit_2_and_leave_nothing(tmp_path, args, message):
    (tmp_path / "sw.toml").write_text(TINY)
    done = _cli("sweep", tmp_path / "sw.toml", "--out", tmp_path / "s", *args)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "s").exists()


def test_a_sweep_whose_base_is_itself_names_the_file(tmp_path):
    (tmp_path / "sw.toml").write_text(TINY.replace('base = "telecom"', 'base = "sw.toml"'))
    done = _cli("sweep", tmp_path / "sw.toml", "--out", tmp_path / "s")
    assert done.returncode == 2 and "sw.toml: base: names this sweep file itself" in done.stderr and "<dict>" not in done.stderr
