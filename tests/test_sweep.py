"""sweep: designs, resumable storage, identical results for any number of workers or a Dask cluster,
and sensitivity indices recovered for a function with known ones."""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_toys import ishigami

from sim.engine import _ensure_compiled
from sim.sweep import SweepSpec, design_points, load_spec, run_sweep

SWEEP = """
base = "telecom"
design = "{design}"
samples = {samples}
replications = 2
seed = 1
metrics = ["retention_12", "profit"]
[set]
"simulation.customers" = {customers}
"simulation.periods" = {periods}
[parameters]
"firms.0.price" = [27.0, 33.0]
"firms.0.service_quality" = [0.5, 0.8]
"""


def _spec(tmp_path, design="lhs", samples=4, customers=1500, periods=13):
    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(design=design, samples=samples, customers=customers, periods=periods))
    return path


@pytest.mark.parametrize("design,points", [("grid", 9), ("lhs", 3), ("sobol", 4 * 4), ("morris", 3 * 3)])
def test_designs_cover_the_bounds(design, points):
    spec = SweepSpec(
        base="telecom", design=design, samples=3 if design != "sobol" else 4, parameters={"a": (0.0, 1.0), "b": (10.0, 20.0)}
    )
    x = design_points(spec)
    assert x.shape == (points, 2)
    assert (x[:, 0] >= 0).all() and (x[:, 0] <= 1).all() and (x[:, 1] >= 10).all() and (x[:, 1] <= 20).all()


def test_one_and_two_workers_and_a_dask_cluster_give_identical_runs(tmp_path):
    spec, base = load_spec(_spec(tmp_path))
    one = run_sweep(spec, tmp_path / "one", base=base, workers=1).runs
    two = run_sweep(spec, tmp_path / "two", base=base, workers=2).runs
    pd.testing.assert_frame_equal(one, two)
    assert len(one) == 8 and one["run_id"].tolist() == list(range(8)) and one["seed"].nunique() == 2
    assert {"firms.0.price", "firms.0.service_quality", "retention_12", "profit"} <= set(one.columns)
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        dask = run_sweep(spec, tmp_path / "dask", base=base, scheduler=client).runs
    pd.testing.assert_frame_equal(one, dask)
    stored = pd.read_parquet(tmp_path / "two" / "runs.parquet")
    pd.testing.assert_frame_equal(stored, two)


def test_replications_share_seeds_across_design_points(tmp_path):
    spec, base = load_spec(_spec(tmp_path))
    runs = run_sweep(spec, tmp_path / "o", base=base).runs
    assert runs.groupby("replication")["seed"].nunique().eq(1).all()


def test_a_killed_sweep_resumes_with_every_run_exactly_once(tmp_path):
    path = _spec(tmp_path, samples=6, customers=20_000, periods=36)
    cmd = [sys.executable, "-m", "sim.cli", "sweep", str(path), "--workers", "1", "--out", str(tmp_path / "s"), "--quiet"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    runs = tmp_path / "s" / "runs.parquet"
    stored = 0
    for _ in range(600):
        time.sleep(0.1)
        if runs.exists():
            try:
                stored = len(pd.read_parquet(runs))
            except Exception:
                continue
            if stored:
                break
        if proc.poll() is not None:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < stored < 12, f"stored {stored} runs before the kill (the test needs a partial sweep)"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    final = pd.read_parquet(runs)
    assert len(final) == 12 and sorted(final["run_id"]) == list(range(12))
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)  # a finished sweep is not rerun
    assert again.returncode == 0
    pd.testing.assert_frame_equal(pd.read_parquet(runs), final)


def test_sobol_indices_of_the_ishigami_function_are_recovered(tmp_path):
    """Through the sweep's own path (design, storage, analysis): Ishigami (a = 7, b = 0.1) has
    S1 = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244). With N = 1024 the estimates must be within
    0.05 of them and inside 3 times their reported 95 % half-width of them."""
    spec = SweepSpec(
        base="telecom",
        design="sobol",
        samples=1024,
        seed=3,
        metrics=["profit"],
        parameters={f"x{i}": (-math.pi, math.pi) for i in (1, 2, 3)},
    )
    result = run_sweep(spec, tmp_path / "ishigami", base={"name": "toy"}, evaluate=ishigami)
    ind = result.indices().set_index(["index", "parameter"])["value"]
    conf = result.indices().assign(half=lambda d: d["value"] - d["ci_low"]).set_index(["index", "parameter"])["half"]
    truth = {
        ("S1", "x1"): 0.3139,
        ("S1", "x2"): 0.4424,
        ("S1", "x3"): 0.0,
        ("ST", "x1"): 0.5576,
        ("ST", "x2"): 0.4424,
        ("ST", "x3"): 0.2437,
    }
    for key, want in truth.items():
        assert abs(ind[key] - want) < 0.05, (key, ind[key])
        assert abs(ind[key] - want) < 3 * max(conf[key], 1e-3), (key, ind[key], conf[key])
    assert (tmp_path / "ishigami" / "indices.csv").is_file() and (tmp_path / "ishigami" / "indices.png").is_file()


def test_morris_screening_ranks_the_influential_parameter_first(tmp_path):
    spec = SweepSpec(
        base="telecom",
        design="morris",
        samples=20,
        seed=3,
        metrics=["profit"],
        parameters={f"x{i}": (-math.pi, math.pi) for i in (1, 2, 3)},
    )
    ind = run_sweep(spec, tmp_path / "m", base={"name": "toy"}, evaluate=ishigami).indices()
    mu = ind[ind["index"] == "mu_star"].set_index("parameter")["value"]
    assert mu.idxmax() in ("x1", "x2") and mu["x3"] < mu[["x1", "x2"]].max()


@pytest.mark.parametrize(
    "text,message",
    [
        ('base = "telecom"\n[parameters]\n"firms.0.price" = [33.0, 27.0]\n', "low must be below high"),
        ('base = "telecom"\nmetrics = ["nps"]\n[parameters]\n"firms.0.price" = [27.0, 33.0]\n', "unknown metric 'nps'"),
        ('base = "telecom"\n[parameters]\n"firms.0.prize" = [27.0, 33.0]\n', "prize"),
        ('base = "telecom"\ndesign = "magic"\n[parameters]\n"firms.0.price" = [27.0, 33.0]\n', "design"),
        ('base = "telecom"\n', "parameters"),
    ],
)
def test_bad_sweep_files_exit_2_with_one_line(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "sweep", str(path), "--out", str(tmp_path / "o")], capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "o").exists()


def test_ctrl_c_with_two_workers_stops_cleanly_and_the_sweep_resumes(tmp_path):
    """Ctrl-C reaches the command (and its worker, as a terminal sends it to the whole group) while
    this process may be inside the compiled engine: one line, exit 130, no traceback or crash, the
    finished runs kept; the same command then completes every run exactly once."""
    path = _spec(tmp_path, samples=8, customers=20_000, periods=36)
    cmd = [sys.executable, "-m", "sim.cli", "sweep", str(path), "--workers", "2", "--out", str(tmp_path / "s"), "--quiet"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    runs = tmp_path / "s" / "runs.parquet"
    for _ in range(600):
        time.sleep(0.1)
        if runs.exists() or proc.poll() is not None:
            break
    os.killpg(proc.pid, signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "resume" in err, err
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    final = pd.read_parquet(runs)
    assert sorted(final["run_id"]) == list(range(16))


def test_with_two_workers_the_command_works_as_one_of_them(tmp_path):
    """--workers 2 is this process and one worker process: both run points (the parent starts at once
    while the worker loads the engine), every point runs exactly once."""
    from sweep_toys import slow_pid

    spec = SweepSpec(
        base="telecom",
        design="lhs",
        samples=24,
        replications=1,
        seed=1,
        metrics=["profit"],
        parameters={"firms.0.price": (27.0, 33.0)},
    )
    result = run_sweep(spec, tmp_path / "s", workers=2, evaluate=slow_pid)
    ran = result.runs["profit"].astype(int)
    assert len(ran) == 24 and sorted(result.runs["point"]) == list(range(24))
    assert os.getpid() in set(ran) and len(set(ran)) == 2, ran.value_counts()


GROUP_CTRL_C = """
import os, sys, time
sys.path.insert(0, sys.argv[2])
from sim import outputs
from sim.sweep import SweepSpec, run_sweep, start_workers_early
from sweep_toys import sleepy

try:
    with outputs.signal_handlers():
        if sys.argv[1] == "start":
            start_workers_early(2)
            print("started", flush=True)
            time.sleep(30)
        else:
            spec = SweepSpec(base="telecom", design="lhs", samples=4, replications=1, seed=1, metrics=["profit"],
                             parameters={"firms.0.price": (27.0, 33.0)})
            run_sweep(spec, sys.argv[3] + "/out", base=sys.argv[3], workers=2, evaluate=sleepy)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_a_ctrl_c_while_the_worker_server_starts_is_the_commands_alone(tmp_path):
    """The server that forks local workers starts with SIGINT blocked and ignores it once it can: a
    Ctrl-C while it starts (about a second of imports) stops the command, with no traceback from a
    process the user never asked for (the terminal sends Ctrl-C to the whole process group)."""
    _ensure_compiled()  # the server loads the cached engine (a second), not a first compilation (a minute)
    proc = subprocess.Popen(
        [sys.executable, "-c", GROUP_CTRL_C, "start", str(Path(__file__).parent)],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.4)  # the server has its signal handlers and is importing the engine
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    time.sleep(1.0)  # the server's own output, if it had any, would follow its parent's exit
    assert out.strip() == "interrupted" and err == "", err


def test_a_ctrl_c_stops_the_workers_at_once(tmp_path):
    """Workers ignore the group's Ctrl-C; the command stops them rather than waiting for their
    current points (a minute each here), so an interrupted sweep ends within seconds."""
    _ensure_compiled()
    proc = subprocess.Popen(
        [sys.executable, "-c", GROUP_CTRL_C, "sweep", str(Path(__file__).parent), str(tmp_path)],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def workers() -> list[int]:  # the process ids that started a point, other than the command's own
        return [int(p.name) for p in tmp_path.iterdir() if p.name.isdigit() and int(p.name) != proc.pid]

    started = time.monotonic()
    while not workers() and time.monotonic() - started < 60:
        time.sleep(0.05)
    pids = workers()
    assert pids, "no worker process started a point"
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 15 and out.strip() == "interrupted" and err == "", (out, err)
    for pid in pids:
        for _ in range(100):
            if not _running(pid):
                break
            time.sleep(0.05)
        assert not _running(pid), f"worker {pid} still runs"


def _running(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not: whoever reaps it, init or not, is not ours)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_a_sweep_records_the_firm_it_names():
    """simulate_point with a firm: the metrics are that firm's (as engine_metrics computes them)."""
    import sim
    from sim.compare import replication_seeds, run_replications
    from sim.sweep import simulate_point

    base = sim.load("telecom", {"simulation.customers": 800, "simulation.periods": 12}).model_dump(mode="json")
    seeds = replication_seeds(1, 2)
    task = {"base": base, "values": {"firms.0.price": 30.0}, "seeds": seeds, "metrics": ["retention_12"], "firm": "rival"}
    got = [r["retention_12"] for r in simulate_point(task)]
    want, _ = run_replications(sim.load(base, {"firms.0.price": 30.0}), seeds, threads=1, firm=1)
    assert got == pytest.approx(want["retention_12"].tolist())
