"""The benchmarks' instruments (not their figures: speed is measured in ``benchmarks/``, never in a
timed test). Timing a run by phase must not change what it computes, and its parts must add up."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for ``benchmarks``

from benchmarks.phases import MECHANISMS, PHASES, engine_phases, instrument, mechanism_costs  # noqa: E402
from sim.engine import Engine  # noqa: E402
from sim.scenario import load  # noqa: E402

SMALL = {"simulation.customers": 300, "simulation.periods": 6}


def test_timing_the_phases_leaves_the_run_unchanged_and_times_every_phase():
    sc = load("telecom", SMALL)
    plain, timed = Engine(sc, [3], threads=1), Engine(sc, [3], threads=1)
    seconds = instrument(timed)
    plain.run()
    timed.run()
    assert np.array_equal(plain.books.ledger, timed.books.ledger)
    assert np.array_equal(plain.customers.view().clv, timed.customers.view().clv)
    assert set(seconds) == set(PHASES)
    assert all(s > 0 for s in seconds.values())


def test_the_phases_and_the_rest_add_up_to_the_run():
    out = engine_phases(load("telecom", SMALL), [1, 2], repeats=1)
    per_period = out["total_s"] / out["periods"] * 1e6
    parts = sum(out[f"{p}_us_per_period"] for p in (*PHASES, "other"))
    assert abs(parts - per_period) < 0.5  # each part rounded to 0.1 us
    assert out["other_us_per_period"] > 0
    assert 0 < out["pass_share"] < 1


def test_the_mechanism_profile_times_the_pass_with_each_mechanism_switched_off():
    out = mechanism_costs(customers=200, periods=3, repeats=1)
    assert set(out) == {"None", *MECHANISMS}
    assert all(0 < v["pass_ns"] < v["total_ns"] for v in out.values())


def test_the_baselines_run_the_engines_core_rules():
    """The speed comparisons mean something only if the Mesa model and the numpy script run the engine's
    core rules: their constants are the schema's defaults, and churn per period of the three agrees
    within Monte-Carlo error (``benchmarks.baselines.agree``: |z| < 4 per period and pooled, chi-square
    p >= 0.001; a false alarm at most 0.3 % for 12 periods). At 10,000 customers x 12 periods the rules
    of before ca43102 (no logistic bond pull, consideration from satisfaction 1 down) give pooled z of
    9.9 (numpy) and 9.5 (Mesa) against the engine here: the baselines had gone out of date unnoticed."""
    from benchmarks.baselines import agree, core

    assert core.check_constants() == []
    result = agree.check(10_000, 12, verbose=False)
    assert result["agree"], {k: (v["max_abs_z"], v["chi2_p"]) for k, v in result["pairs"].items()}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM and the inherited ru_maxrss are Linux's")
def test_the_peak_memory_is_the_measuring_processs_own_not_its_parents():
    """A process started by another inherits its parent's ``ru_maxrss`` across ``exec``: the peak-RSS
    benchmark, whose parent runs 1M-customer engines, reported the parent's peak. Its peak is the
    child's own high-water mark, far below a parent's 300 MB."""
    import subprocess

    held = np.ones(300 * 2**20 // 8)  # 300 MB resident in this process
    held[::512] += 1.0
    code = (  # a child that loads nothing else (its own peak is some 10 MB)
        "import resource, sys; sys.path.insert(0, sys.argv[1]); from benchmarks.memory import peak_rss; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, peak_rss())"
    )
    root = str(Path(__file__).resolve().parents[1])
    inherited, own = map(int, subprocess.run([sys.executable, "-c", code, root], capture_output=True, text=True,
                                             check=True).stdout.split())
    del held
    assert inherited >= 300 * 2**20, "this platform does not pass the parent's peak on: the test shows nothing here"
    assert own < 100 * 2**20, own
