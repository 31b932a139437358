"""calibrate: recovers parameters from data the model generated, reproduces the shifted-beta-geometric
fit of a published survival table and forecasts its later years as well as that model, and refuses
bad input."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.special import betaln

import sim
from sim.calibrate import calibrate, constant_retention_fit, read_observed

ALL_OFF = {k: False for k in ("experience", "bonding", "attachment", "choice", "arrivals", "measures")}
ALPHA, BETA = "segments.0.background_churn.alpha", "segments.0.background_churn.beta"

# Fader and Hardie (2007), "How to project customer retention", Journal of Interactive Marketing 21(1):
# survivors of 1,000 customers at the start of years 0..12.
REGULAR = np.array([1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173])
HIGH_END = np.array([1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394])


def sbg_spec(alpha=1.0, beta=1.0, customers=40_000, periods=12):
    return {
        "name": "sbg",
        "simulation": {"customers": customers, "periods": periods},
        "mechanisms": ALL_OFF,
        "firms": [{"name": "focal"}],
        "segments": [{"background_churn": {"distribution": "beta", "alpha": alpha, "beta": beta}}],
    }


def sbg_mle(survivors: np.ndarray) -> tuple[float, float]:
    """The shifted-beta-geometric maximum-likelihood fit in closed form."""
    T = len(survivors) - 1

    def nll(p):
        a, b = np.exp(p)
        S = np.exp(betaln(a, b + np.arange(T + 1)) - betaln(a, b))
        d = survivors[:-1] - survivors[1:]
        return -((d * np.log(S[:-1] - S[1:])).sum() + survivors[T] * np.log(S[T]))

    return tuple(np.exp(optimize.minimize(nll, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10}).x))


def sbg_curve(a, b, periods):
    return np.exp(betaln(a, b + np.arange(periods + 1)) - betaln(a, b))


def _observed(counts):
    return pd.DataFrame({"period": np.arange(len(counts)), "active": counts, "segment": ""})


@pytest.mark.parametrize("table,name", [(REGULAR, "regular"), (HIGH_END, "high end")])
def test_published_table_fits_like_the_sbg_model_and_forecasts_as_well(table, name):
    cal = calibrate(sbg_spec(), _observed(table), [ALPHA, BETA], holdout_from=8, seed=1)
    a, b = sbg_mle(table[:8])
    for key, mle in ((ALPHA, a), (BETA, b)):
        lo, hi = cal.intervals[key]
        assert lo < mle < hi, (name, key, cal.values[key], mle, (lo, hi))
    fitted = cal.fit.set_index("period")["fitted"].to_numpy()
    held = np.arange(8, 13)
    model_error = np.mean(np.abs(fitted[held] - table[held]) / table[held])
    sbg_error = np.mean(np.abs(sbg_curve(a, b, 12)[held] * 1000 - table[held]) / table[held])
    geometric = np.mean(np.abs(1000 * constant_retention_fit(table[:8]) ** held - table[held]) / table[held])
    # "as well as that model does": within one percentage point of its holdout error (the simulated
    # curve carries the sampling noise of 40,000 simulated customers), and far better than constant retention
    assert model_error < sbg_error + 0.01, (model_error, sbg_error)
    assert model_error < geometric / 3, (model_error, geometric)
    assert cal.holdout_error["all"]["model"] == pytest.approx(model_error * 100)


def test_recovers_the_parameters_that_generated_the_data():
    """Data: the model's own cohort of 3,000 customers with alpha = 2, beta = 8 (seed 99); fit on 60,000
    simulated customers with another seed. The true values must lie in the reported 95 % intervals."""
    truth = {ALPHA: 2.0, BETA: 8.0}
    res = sim.run(sbg_spec(2.0, 8.0, customers=3000, periods=24), seed=99)
    counts = (res.retention[res.retention["firm"] == "focal"]["retention"].to_numpy() * 3000).round().astype(int)
    cal = calibrate(sbg_spec(customers=60_000, periods=24), _observed(counts), [ALPHA, BETA], seed=5)
    for key, value in truth.items():
        lo, hi = cal.intervals[key]
        assert lo < value < hi, (key, cal.values[key], (lo, hi))
    assert cal.converged


def test_recovers_a_behavioural_parameter_with_mechanisms_on():
    """A mechanism's parameter, not only background churn: the focal firm's service quality, from a
    telecom-like cohort without arrivals."""
    over = {"simulation.customers": 4000, "simulation.periods": 36, "mechanisms.arrivals": False}
    res = sim.run("telecom", seed=42, overrides={**over, "firms.0.service_quality": 0.45})
    cohort = int((res.first_relationships["firm"] == "focal").sum())
    counts = (res.retention[res.retention["firm"] == "focal"]["retention"].to_numpy() * cohort).round().astype(int)
    cal = calibrate(
        "telecom", _observed(counts), ["firms.0.service_quality"], seed=3, overrides={**over, "simulation.customers": 40_000}
    )
    lo, hi = cal.intervals["firms.0.service_quality"]
    assert lo < 0.45 < hi, (cal.values, (lo, hi))


def test_writes_calibration_json_fit_csv_and_plot(tmp_path):
    csv = tmp_path / "obs.csv"
    pd.DataFrame({"period": range(13), "active": REGULAR}).to_csv(csv, index=False)
    spec = tmp_path / "sbg.toml"
    spec.write_text(
        'name = "sbg"\n[simulation]\ncustomers = 20000\nperiods = 15\n[mechanisms]\n'
        + "".join(f"{k} = false\n" for k in ALL_OFF)
        + '[[firms]]\nname = "focal"\n[[segments]]\nbackground_churn = { distribution = "beta", alpha = 1.0, beta = 1.0 }\n'
    )
    out = tmp_path / "cal"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "calibrate",
            str(spec),
            "--observed",
            str(csv),
            "--fit",
            ALPHA,
            "--fit",
            BETA,
            "--holdout-from",
            "8",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "calibration.json").read_text())
    assert set(result["fitted"]) == {ALPHA, BETA} and result["objective"]["neg_log_likelihood"] > 0
    assert all(v["ci_low"] < v["value"] < v["ci_high"] for v in result["fitted"].values())
    fit = pd.read_csv(out / "fit.csv")
    assert list(fit.columns) == ["period", "observed", "fitted", "holdout"]
    assert fit["period"].tolist() == list(range(16))  # to the scenario's horizon
    assert fit["observed"].isna().tolist() == [False] * 13 + [True] * 3
    assert fit["holdout"].tolist() == [False] * 8 + [True] * 8
    assert fit.loc[0, "fitted"] == 1000
    assert (out / "fit.png").is_file()


@pytest.mark.parametrize(
    "csv,message",
    [
        ("period,active\n0,100\n1,120\n", "rises at period 1"),
        ("period,active\n1,100\n2,90\n", "must run 0, 1, 2"),
        ("period,survivors\n0,100\n", "needs the columns period and active"),
        ("period,active\n0,100\n1,abc\n", "line 3: active must be a whole number"),
    ],
)
def test_bad_observed_data_is_one_line_and_exit_2(tmp_path, csv, message):
    path = tmp_path / "obs.csv"
    path.write_text(csv)
    with pytest.raises(Exception) as err:
        read_observed(path)
    assert message in str(err.value)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "calibrate",
            "telecom",
            "--observed",
            str(path),
            "--fit",
            "firms.0.price",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_fit_key_must_be_a_numeric_parameter(tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text("period,active\n0,100\n1,90\n2,80\n")
    for key in ("firms.0.name", "firms.7.price", "simulation.nonsense"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "sim.cli",
                "calibrate",
                "telecom",
                "--observed",
                str(path),
                "--fit",
                key,
                "--out",
                str(tmp_path / "o"),
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2 and key in done.stderr and "Traceback" not in done.stderr, done.stderr
