"""Calibration: fit scenario parameters so that the simulated survival of a cohort matches observed
counts.

The observed data are the survivors of one cohort that starts at period 0 (``period, active``; with
a ``segment`` column, one curve per segment). The model's counterpart is the focal firm's period-0
customers. For a parameter vector the model is run on a fixed seed (common random numbers: the same
customers with the same random numbers at every trial, so the objective changes smoothly with the
parameters instead of jumping with new draws), and the fit maximises the likelihood of the observed
counts under the simulated survival curve S(t), the standard likelihood for cohort survival data
(as in the shifted-beta-geometric model)::

    log L = sum_t d_t log(S(t-1) - S(t)) + n_T log S(T),     d_t = n_{t-1} - n_t

over the periods before the holdout. Parameters are searched in a transformed space that respects
their bounds in the schema (logit for bounded, log for positive ones) with the Nelder-Mead method
(scipy.optimize); their 95 % intervals come from the curvature of the log-likelihood at the optimum
(numerical Hessian, Wald intervals in the transformed space, mapped back, so they respect the bounds).
The simulated cohort should be much larger than the observed one (``customers``), so that the
simulation's own noise is small next to the data's.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from . import __version__
from .params import Scenario
from .scenario import ScenarioError, load, schema_field, whole_number

FLOOR = 0.5  # simulated deaths in a period are floored at half a customer, so log(0) cannot occur


class CalibrationError(ValueError):
    """Observed data or fit keys that cannot be used (one line: what, where, why)."""


# ------------------------------------------------------------------------------- observed data
MAX_COUNT = 10**12  # survivors of one cohort (far beyond any real one; exact in floating point)
MAX_PERIOD = 2400  # the schema's longest horizon (simulation.periods)
MAX_BYTES = 50_000_000  # an observed file has one row per period (and segment)
_WHOLE = re.compile(r"^[0-9]+(?:\.0*)?$")


def read_observed(path: str | Path) -> pd.DataFrame:
    """Read and check an observed-survival CSV: columns ``period`` and ``active`` (optionally ``segment``);
    at least one row; periods whole numbers from 0 (at most 2,400), survivors whole numbers (at most
    10^12, never true/false) that never increase within a curve. Only a regular file is read (not a
    FIFO, which would wait forever). The result's ``attrs`` hold the file's name (``source``) and the
    SHA-256 of its bytes (``sha256``), which ``calibration.json`` records. Every problem raises
    :class:`CalibrationError` naming the file (and the line)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as err:
        raise CalibrationError(f"{path}: cannot read: {err.strerror or err}") from None
    if stat.S_ISDIR(st.st_mode):
        raise CalibrationError(f"{path}: is a folder, not a CSV file")
    if not stat.S_ISREG(st.st_mode):
        raise CalibrationError(f"{path}: is not a regular file (a pipe, device or socket); give a CSV file")
    if st.st_size > MAX_BYTES:
        raise CalibrationError(f"{path}: is larger than {MAX_BYTES // 1_000_000} MB; an observed cohort has one row per period")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise CalibrationError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CalibrationError(f"{path}: is not UTF-8 text (a CSV file with columns period,active)") from None
    if not text.strip():
        raise CalibrationError(f"{path}: is empty; it needs the header period,active and one row per period from 0")
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as err:
        raise CalibrationError(f"{path}: cannot read as CSV: {' '.join(str(err).split())[:200]}") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = {"period", "active"} - set(df.columns)
    if missing:
        raise CalibrationError(f"{path}: needs the columns period and active (missing: {', '.join(sorted(missing))})")
    extra = set(df.columns) - {"period", "active", "segment"}
    if extra:
        raise CalibrationError(f"{path}: unknown column {sorted(extra)[0][:40]!r} (columns: period, active, optionally segment)")
    if df.empty:
        raise CalibrationError(f"{path}: has a header but no rows; give the survivors of the cohort at periods 0, 1, 2, ...")
    for col, most in (("period", MAX_PERIOD), ("active", MAX_COUNT)):
        values = []
        for i, text_value in enumerate(df[col].astype(str)):
            v = text_value.strip()
            if not _WHOLE.match(v):
                raise CalibrationError(f"{path}: line {i + 2}: {col} must be a whole number >= 0 (got {v[:30]!r})")
            number = int(v.split(".")[0])
            if number > most:
                raise CalibrationError(f"{path}: line {i + 2}: {col} must be at most {most:,} (got {v[:30]})")
            values.append(number)
        df[col] = np.array(values, dtype=np.int64)
    if "segment" not in df:
        df["segment"] = ""
    df["segment"] = df["segment"].astype(str).str.strip()
    for seg, g in df.groupby("segment", sort=False):
        g = g.sort_values("period")
        label = f" (segment {seg[:40]})" if seg else ""
        if g["period"].iloc[0] != 0 or g["period"].duplicated().any() or (np.diff(g["period"]) != 1).any():
            raise CalibrationError(f"{path}: period{label} must run 0, 1, 2, ... without gaps or repeats")
        if (np.diff(g["active"]) > 0).any():
            t = int(g["period"].iloc[int(np.flatnonzero(np.diff(g["active"]) > 0)[0]) + 1])
            raise CalibrationError(f"{path}: active{label} rises at period {t}: survivors of one cohort can only fall")
        if g["active"].iloc[0] == 0:
            raise CalibrationError(f"{path}: active{label} is 0 at period 0: the cohort is empty")
        if len(g) < 2:
            raise CalibrationError(f"{path}: period{label} has only period 0; at least two periods are needed to fit survival")
    out = df[["period", "active", "segment"]].sort_values(["segment", "period"]).reset_index(drop=True)
    out.attrs = {"source": str(path), "sha256": hashlib.sha256(raw).hexdigest()}
    return out


def observed_fingerprint(observed: pd.DataFrame) -> dict:
    """What ``calibration.json`` records of the observed data: the file and the SHA-256 of its bytes
    (from :func:`read_observed`), or for data given directly the SHA-256 of its canonical CSV; rows and
    segments."""
    if observed.attrs.get("sha256"):
        digest, of = observed.attrs["sha256"], "file"
    else:
        canonical = observed[["segment", "period", "active"]].to_csv(index=False).encode()
        digest, of = hashlib.sha256(canonical).hexdigest(), "data (segment,period,active as CSV)"
    return {
        "source": observed.attrs.get("source"),
        "sha256": digest,
        "sha256_of": of,
        "rows": int(len(observed)),
        "segments": [s for s in dict.fromkeys(observed["segment"]) if s],
    }


def check_observed(scenario: Scenario, observed: pd.DataFrame, holdout_from: int | None = None) -> None:
    """The observed data fit the scenario: its segments exist there, and a holdout leaves at least two
    fitted periods and one held out. Raises :class:`CalibrationError` naming the file or option."""
    source = observed.attrs.get("source") or "the observed data"
    names = [s.name for s in scenario.segments]
    for seg in dict.fromkeys(observed["segment"]):
        if seg != "" and seg not in names:
            raise CalibrationError(f"{source}: segment {seg[:40]!r} is not a segment of the scenario ({', '.join(names)})")
    if observed.empty:
        raise CalibrationError(f"{source}: has no rows")
    last_period = int(observed["period"].max())
    if holdout_from is not None and not 2 <= int(holdout_from) <= last_period:
        raise CalibrationError(
            f"--holdout-from {holdout_from}: must leave at least two fitted periods and one held out (2 to {last_period})"
        )


# ------------------------------------------------------------------------------- parameters
@dataclass
class Bound:
    """A fitted parameter: its key, start value, bounds (None = open) and whether it is whole."""

    key: str
    start: float
    low: float | None
    high: float | None
    integer: bool = False

    def to_z(self, x: float) -> float:
        """The unbounded search coordinate of value ``x``."""
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            p = min(max((x - lo) / (hi - lo), 1e-9), 1 - 1e-9)
            return math.log(p / (1 - p))
        if lo is not None:
            return math.log(max(x - lo, 1e-12))
        if hi is not None:
            return -math.log(max(hi - x, 1e-12))
        return x

    def from_z(self, z: float) -> float:
        lo, hi = self.low, self.high
        z = min(max(z, -700.0), 700.0)
        if lo is not None and hi is not None:
            return lo + (hi - lo) / (1 + math.exp(-z))
        if lo is not None:
            return lo + math.exp(z)
        if hi is not None:
            return hi - math.exp(-z)
        return z


def parameter_bound(scenario: Scenario, key: str) -> Bound:
    """The schema's bounds and the scenario's current value of a numeric key (e.g.
    ``segments.0.background_churn.alpha``)."""
    try:
        node, info = schema_field(scenario, key)
    except ValueError as err:
        raise CalibrationError(f"--fit {key[:80]}: {err}") from None
    except KeyError:
        raise CalibrationError(f"--fit {key[:80]}: not a key of the scenario") from None
    if info is None or isinstance(node, bool) or not isinstance(node, (int, float)):
        raise CalibrationError(f"--fit {key[:80]}: not a numeric parameter (got {str(node)[:40]!r})")
    low = high = None
    for m in info.metadata:
        for attr, is_low in (("ge", True), ("gt", True), ("le", False), ("lt", False)):
            v = getattr(m, attr, None)
            if v is not None:
                if is_low:
                    low = float(v)
                else:
                    high = float(v)
    return Bound(key, float(node), low, high, integer=whole_number(scenario, key))


# ------------------------------------------------------------------------------- simulation
def simulated_survival(scenario: Scenario, seed: int, periods: int, segments: list[str]) -> dict[str, np.ndarray]:
    """Survival S(t), t = 0 .. periods, of the focal firm's period-0 customers (per segment if named;
    ``""`` for all)."""
    from .engine import Engine

    engine = Engine(scenario, [seed], threads=1)
    engine.run()
    rel = engine.relationship_arrays()
    first = (rel["start"] == 0) & (rel["customer"] < engine.n_initial) & (rel["firm"] == 0)
    names = [s.name for s in scenario.segments]
    out = {}
    t = np.arange(periods + 1)
    for seg in segments:
        mine = first if seg == "" else first & (rel["segment"] == names.index(seg))
        ends, cens = rel["end"][mine], rel["censored"][mine]
        n = max(int(mine.sum()), 1)
        alive = (ends[None, :] >= t[:, None]) | cens[None, :]
        out[seg] = alive.sum(axis=1) / n, n
    return out


def log_likelihood(observed: np.ndarray, survival: np.ndarray, n_sim: int) -> float:
    """log L of observed survivor counts ``n_0 .. n_T`` under a simulated survival curve (see the
    module docstring); simulated period deaths are floored at ``FLOOR`` customers."""
    T = len(observed) - 1
    s = survival[: T + 1]
    deaths = np.maximum(s[:-1] - s[1:], FLOOR / n_sim)
    last = max(s[T], FLOOR / n_sim)
    d = observed[:-1] - observed[1:]
    return float((d * np.log(deaths)).sum() + observed[T] * math.log(last))


@dataclass
class Calibration:
    """The result of :func:`calibrate`: fitted values with 95 % intervals, the objective, the fit."""

    keys: list[str]
    values: dict[str, float]
    intervals: dict[str, tuple[float | None, float | None]]
    starts: dict[str, float]
    bounds: dict[str, tuple[float | None, float | None]]
    neg_log_likelihood: float
    evaluations: int
    converged: bool
    fit: pd.DataFrame  # period, [segment,] observed, fitted, holdout
    holdout_from: int | None
    seed: int
    customers: int
    scenario: Scenario = field(repr=False)
    holdout_error: dict[str, float | None] = field(default_factory=dict)
    observed: dict = field(default_factory=dict)  # observed_fingerprint: source, SHA-256, rows, segments
    method: str = (
        "maximum likelihood of the observed survivor counts under the simulated survival curve (common random numbers); "
        "Nelder-Mead in bound-respecting coordinates; 95 % Wald intervals from the numerical Hessian"
    )

    def summary(self) -> dict:
        return {
            "package": "retention-sim",
            "version": __version__,
            "method": self.method,
            "fitted": {
                k: {
                    "value": self.values[k],
                    "ci_low": self.intervals[k][0],
                    "ci_high": self.intervals[k][1],
                    "start": self.starts[k],
                    "bounds": list(self.bounds[k]),
                }
                for k in self.keys
            },
            "objective": {
                "neg_log_likelihood": self.neg_log_likelihood,
                "evaluations": self.evaluations,
                "converged": self.converged,
            },
            "holdout_from": self.holdout_from,
            "holdout_mean_absolute_percentage_error": self.holdout_error,
            "seed": self.seed,
            "customers_simulated": self.customers,
            "observed": self.observed,
            "scenario": self.scenario.model_dump(mode="json"),
            **_provenance(),
        }

    def write_files(self, folder: Path, plots: bool = True) -> None:
        folder = Path(folder)
        (folder / "calibration.json").write_text(json.dumps(_finite(self.summary()), indent=2) + "\n")
        fit = self.fit.copy()
        if (fit["segment"] == "").all():
            fit = fit.drop(columns="segment")
        fit.to_csv(folder / "fit.csv", index=False)
        if plots:
            _plot(self).savefig(folder / "fit.png", metadata={"Software": None})

    def write(self, out: str | Path, force: bool = False, plots: bool = True) -> Path:
        from .outputs import prepare

        with prepare(out, force=force) as staging:
            self.write_files(staging.path, plots)
            return staging.commit()


def _finite(o):
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def _mape(observed: np.ndarray, predicted: np.ndarray) -> float | None:
    ok = observed > 0
    return float(np.mean(np.abs(predicted[ok] - observed[ok]) / observed[ok]) * 100) if ok.any() else None


def constant_retention_fit(observed: np.ndarray) -> float:
    """The maximum-likelihood constant retention rate of a survivor series (geometric lifetimes): the
    reference a heterogeneous model should beat."""
    d = (observed[:-1] - observed[1:]).sum()
    exposure = observed[:-1].sum()
    return 1.0 - d / exposure


def calibrate(
    scenario,
    observed: pd.DataFrame,
    fit: list[str],
    holdout_from: int | None = None,
    seed: int | None = None,
    customers: int | None = None,
    overrides: dict | None = None,
    max_evaluations: int | None = None,
) -> Calibration:
    """Fit the parameters named in ``fit`` (dotted keys) to ``observed`` (see :func:`read_observed`)."""
    base = load(scenario, {**(overrides or {}), **({"simulation.customers": customers} if customers else {})})
    if not fit:
        raise CalibrationError("name at least one parameter to fit (--fit KEY)")
    if len(set(fit)) != len(fit):
        raise CalibrationError("each parameter may be named once in --fit")
    bounds = [parameter_bound(base, k) for k in fit]
    check_observed(base, observed, holdout_from)
    segments = list(dict.fromkeys(observed["segment"]))
    last_period = int(observed["period"].max())
    horizon = max(base.simulation.periods, last_period)
    if horizon != base.simulation.periods:
        base = load(base, {"simulation.periods": horizon})
    cut = last_period + 1 if holdout_from is None else int(holdout_from)
    seed = base.simulation.seed if seed is None else int(seed)
    series = {seg: observed[observed["segment"] == seg]["active"].to_numpy(np.int64) for seg in segments}
    evaluations = 0

    def run(zs: np.ndarray):
        values = {b.key: b.from_z(z) for b, z in zip(bounds, zs)}
        values = {k: (int(round(v)) if b.integer else v) for (k, v), b in zip(values.items(), bounds)}
        try:
            sc = load(base, values)
        except ScenarioError:
            return None, values
        return simulated_survival(sc, seed, horizon, segments), values

    def nll(zs: np.ndarray) -> float:
        nonlocal evaluations
        evaluations += 1
        sims, _ = run(zs)
        if sims is None:
            return 1e300
        return -sum(log_likelihood(series[seg][:cut], sims[seg][0], sims[seg][1]) for seg in segments)

    z0 = np.array([b.to_z(b.start) for b in bounds])
    limit = max_evaluations or 200 * len(bounds)
    res = optimize.minimize(
        nll, z0, method="Nelder-Mead", options={"maxfev": limit, "xatol": 1e-3, "fatol": 1e-4, "initial_simplex": _simplex(z0)}
    )
    z = res.x
    best = float(res.fun)
    cov = _covariance(nll, z)
    values, intervals = {}, {}
    for j, b in enumerate(bounds):
        v = b.from_z(z[j])
        values[b.key] = int(round(v)) if b.integer else v
        if cov is not None and cov[j, j] > 0:
            half = 1.96 * math.sqrt(cov[j, j])
            intervals[b.key] = (b.from_z(z[j] - half), b.from_z(z[j] + half))
        else:
            intervals[b.key] = (None, None)
    sims, _ = run(z)
    rows, errors = [], {}
    for seg in segments:
        s, _n = sims[seg]
        obs = series[seg]
        fitted = s * obs[0]
        for t in range(horizon + 1):
            rows.append(
                {
                    "period": t,
                    "segment": seg,
                    "observed": float(obs[t]) if t < len(obs) else np.nan,
                    "fitted": float(fitted[t]),
                    "holdout": bool(t >= cut),
                }
            )
        if cut <= last_period:
            held = np.arange(cut, len(obs))
            r = constant_retention_fit(obs[:cut])
            errors[seg or "all"] = {
                "model": _mape(obs[held], fitted[held]),
                "constant_retention": _mape(obs[held], obs[0] * r**held),
            }
    table = pd.DataFrame(rows)
    return Calibration(
        keys=list(fit),
        values=values,
        intervals=intervals,
        starts={b.key: b.start for b in bounds},
        bounds={b.key: (b.low, b.high) for b in bounds},
        neg_log_likelihood=best,
        evaluations=evaluations,
        converged=bool(res.success),
        fit=table,
        holdout_from=holdout_from,
        seed=seed,
        customers=base.simulation.customers,
        scenario=load(base, values),
        holdout_error=errors,
        observed=observed_fingerprint(observed),
    )


def _provenance() -> dict:
    from .outputs import provenance

    return provenance()


def _simplex(z0: np.ndarray, step: float = 0.5) -> np.ndarray:
    """A starting simplex of a fixed size in the search coordinates (half a unit: about a factor 1.6 for
    positive parameters)."""
    k = len(z0)
    s = np.tile(z0, (k + 1, 1))
    for j in range(k):
        s[j + 1, j] += step
    return s


def _covariance(f, z: np.ndarray, h: float = 0.05) -> np.ndarray | None:
    """Inverse of the numerical Hessian of ``f`` at ``z`` (central differences of step ``h``), or None
    if it is not positive definite."""
    k = len(z)
    H = np.empty((k, k))
    f0 = f(z)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                e = np.zeros(k)
                e[i] = h
                H[i, i] = (f(z + e) - 2 * f0 + f(z - e)) / h**2
            else:
                ei, ej = np.zeros(k), np.zeros(k)
                ei[i], ej[j] = h, h
                H[i, j] = H[j, i] = (f(z + ei + ej) - f(z + ei - ej) - f(z - ei + ej) + f(z - ei - ej)) / (4 * h**2)
    try:
        np.linalg.cholesky(H)
        return np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return None


def _plot(cal: Calibration):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import DPI, FIRM_PALETTE, STYLE, WIDTH

    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(WIDTH, round(5.5 * DPI) / DPI), dpi=DPI, layout="constrained")
        ax = fig.subplots()
        pm = cal.scenario.simulation.period_months
        for k, (seg, g) in enumerate(cal.fit.groupby("segment", sort=False)):
            c = FIRM_PALETTE[k % len(FIRM_PALETTE)]
            label = f" ({seg})" if seg else ""
            ax.plot(g["period"] * pm, g["fitted"], color=c, linewidth=2, label=f"fitted{label}")
            ax.plot(g["period"] * pm, g["observed"], "o", color=c, markersize=6, label=f"observed{label}")
        if cal.holdout_from is not None:
            ax.axvspan(
                cal.holdout_from * pm, cal.fit["period"].max() * pm, color="#999999", alpha=0.15, label="holdout (not fitted)"
            )
        ax.set(xlabel="month", ylabel="customers of the cohort still active", ylim=(0, None))
        fitted = ", ".join(f"{k} = {v:.4g}" for k, v in cal.values.items())
        ax.set_title(f"Calibration of {cal.scenario.name}: observed vs fitted survival of the cohort", loc="left")
        fig.supxlabel(f"Fitted: {fitted}", x=0.005, ha="left", fontsize=11, color="#333333")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig
