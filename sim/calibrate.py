"""Calibration: find the scenario parameters that reproduce observed patterns, with honest uncertainty.

Targets are what was observed: the survivors of a cohort (a survival curve, ``period, active``, optionally
per ``segment``), metrics of :mod:`sim.metrics` and patterns of the suite (:mod:`sim.patterns`, measured
on the calibrated scenario) with an observed value and its standard error (or a tolerance), each possibly
under its own variant of the scenario (``set = {...}``). Parameters are dotted keys with priors (uniform
or log-uniform within bounds).

The method is approximate Bayesian computation by sequential Monte Carlo (ABC-SMC, Toni et al. 2009;
Beaumont et al. 2009) as implemented by pyabc (Schälte et al. 2022): particles drawn from the prior are
simulated, each on a fresh seed, and kept when their simulated targets are close to the observed ones;
generation by generation the tolerance shrinks (the median distance of the last generation) and the
particles are perturbed from the last accepted ones. The final, weighted population is a sample of the
posterior. Because every particle is a fresh simulation, the posterior accounts for the simulation's own
noise; because a survival curve is simulated with as many customers as were observed, the simulated
curve scatters as the observed one does, so the posterior's width reflects the data's sampling error.

The distance adds one term per fitted target, each in units of its own noise:

* a survival curve: Pearson's chi-square on the cells of the cohort (customers lost in each fitted period
  and those still active at its end), ``sum (sim - obs)^2 / max(obs, 1)``, the simulated cells scaled to
  the observed cohort's size;
* a metric: ``((sim - observed) / se)^2``.

With these summaries (the cells are sufficient for a cohort's survival), the ABC posterior tends to the
exact posterior as the tolerance falls; the run stops when the tolerance is below ``epsilon_per_df``
times the distance's degrees of freedom, or at the generation or simulation budget, and the final
tolerance is recorded. A tolerance of ``k`` degrees of freedom widens the intervals by about
``sqrt(1 + k/(d + 2))`` (d summaries), a widening measured in ``benchmarks/calibration.py``.

Every generation is stored (pyabc's History, ``abc.db`` in the calibration's folder) as it ends and
draws from its own seed, so an interrupted calibration resumes after its last stored generation and, on
one core, ends with the uninterrupted posterior; pyabc's multi-core and Dask samplers spread the
particles over processes or a cluster.

Posterior predictive checks simulate every target (and every holdout: periods of a curve after
``holdout_from`` and targets marked ``holdout = true``, which the fit never sees) at draws from the
posterior and report where the observed value falls. A parameter whose posterior is barely narrower
than its prior, or piles up at a bound of its prior, is reported as unidentifiable with the reason,
never as converged.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import stat
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .codes import METRICS
from .params import Scenario
from .scenario import ScenarioError, load, schema_field, whole_number


class CalibrationError(ValueError):
    """Observed data, targets or fit keys that cannot be used (one line: what, where, why)."""


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
    """A parameter's key, scenario value, schema bounds (None = open) and whether it is whole."""

    key: str
    start: float
    low: float | None
    high: float | None
    integer: bool = False


def parameter_bound(scenario: Scenario, key: str, where: str | None = None) -> Bound:
    """The schema's bounds and the scenario's current value of a numeric key (e.g.
    ``segments.0.background_churn.alpha``); errors name ``where`` (default: the --fit option)."""
    where = where or f"--fit {key[:80]}"
    try:
        node, info = schema_field(scenario, key)
    except ValueError as err:
        raise CalibrationError(f"{where}: {err}") from None
    except KeyError:
        raise CalibrationError(f"{where}: not a key of the scenario") from None
    if info is None or isinstance(node, bool) or not isinstance(node, (int, float)):
        raise CalibrationError(f"{where}: not a numeric parameter (got {str(node)[:40]!r})")
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


# ------------------------------------------------------------------------------- priors
PRIOR_FACTOR = 20.0  # a positive parameter's default prior: log-uniform from start/20 to start*20


@dataclass
class Prior:
    """A fitted parameter's prior: uniform or log-uniform from ``low`` to ``high``. Sampled by pyabc in
    the coordinate ``z`` (the value, or its logarithm), in which the prior is uniform."""

    key: str
    kind: str  # "uniform" | "loguniform"
    low: float
    high: float
    start: float
    integer: bool = False

    def to_z(self, x: float) -> float:
        return math.log(x) if self.kind == "loguniform" else float(x)

    def from_z(self, z: float) -> float:
        x = math.exp(z) if self.kind == "loguniform" else float(z)
        x = min(max(x, self.low), self.high)
        return int(round(x)) if self.integer else x

    @property
    def z_range(self) -> tuple[float, float]:
        return self.to_z(self.low), self.to_z(self.high)

    def describe(self) -> dict:
        return {"distribution": self.kind, "low": self.low, "high": self.high}


def default_prior(bound: Bound) -> Prior:
    """The prior of a parameter named without one: log-uniform over a factor of 20 either side of the
    scenario's value for a positive parameter with a wide or open upper bound, else uniform over the
    schema's bounds."""
    lo, hi, x = bound.low, bound.high, bound.start
    if x > 0 and (lo is None or lo >= 0) and (hi is None or hi > 100 * x):
        low = max(x / PRIOR_FACTOR, lo if lo is not None else 0.0)
        high = min(x * PRIOR_FACTOR, hi if hi is not None else math.inf)
        return Prior(bound.key, "loguniform", low, high, x, bound.integer)
    if lo is not None and hi is not None:
        return Prior(bound.key, "uniform", lo, hi, x, bound.integer)
    raise CalibrationError(
        f"--fit {bound.key[:80]}: no default prior for this parameter (value {x:g}, bounds {lo} to {hi}); "
        "give one under [parameters] in --targets"
    )


def make_prior(bound: Bound, spec, where: str) -> Prior:
    """A prior from a targets file's ``[parameters]`` entry: ``{ low = .., high = .. }`` with optional
    ``prior = "uniform" | "loguniform"``, or ``{}`` / ``true`` for the default prior. It must lie within
    the schema's bounds."""
    if spec is True or spec == {}:
        return default_prior(bound)
    if not isinstance(spec, dict):
        raise CalibrationError(f'{where}: must be a table {{ low = .., high = .. }} (optionally prior = "loguniform")')
    unknown = set(spec) - {"low", "high", "prior"}
    if unknown:
        raise CalibrationError(f"{where}: unknown field {sorted(unknown)[0]!r} (fields: low, high, prior)")
    kind = spec.get("prior", "uniform")
    if kind not in ("uniform", "loguniform"):
        raise CalibrationError(f'{where}: prior must be "uniform" or "loguniform" (got {str(kind)[:30]!r})')
    if "low" not in spec or "high" not in spec:
        raise CalibrationError(f"{where}: needs low and high")
    low, high = spec["low"], spec["high"]
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in (low, high)):
        raise CalibrationError(f"{where}: low and high must be finite numbers")
    low, high = float(low), float(high)
    if not low < high:
        raise CalibrationError(f"{where}: low must be below high (got {low:g} and {high:g})")
    if kind == "loguniform" and low <= 0:
        raise CalibrationError(f"{where}: a log-uniform prior needs low > 0 (got {low:g})")
    if (bound.low is not None and low < bound.low) or (bound.high is not None and high > bound.high):
        raise CalibrationError(f"{where}: {low:g} to {high:g} leaves the parameter's bounds ({bound.low} to {bound.high})")
    return Prior(bound.key, kind, low, high, bound.start, bound.integer)


# ------------------------------------------------------------------------------- targets
@dataclass
class Target:
    """One observed pattern: a survival curve (``observed`` holds the counts), a metric or a pattern of
    the suite (:mod:`sim.patterns`; ``value`` and ``se`` each), under the scenario with ``overrides`` (a
    variant), simulated with ``customers`` customers (None: the scenario's, or for a curve as many as
    were observed). A holdout target is only checked, never fitted; a curve's periods from
    ``holdout_from`` on are its holdout."""

    name: str
    kind: str  # "survival" | "metric" | "pattern"
    observed: pd.DataFrame | None = None
    metric: str | None = None
    pattern: str | None = None  # a pattern's id (sim.patterns): its value is compared like a metric's
    replications: int = 1  # a pattern's replications per simulation
    value: float | None = None
    se: float | None = None
    overrides: dict = field(default_factory=dict)
    customers: int | None = None
    holdout: bool = False
    holdout_from: int | None = None
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def describe(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "holdout": self.holdout, "set": self.overrides}
        if self.kind == "survival":
            out.update(observed=observed_fingerprint(self.observed), holdout_from=self.holdout_from)
        elif self.kind == "pattern":
            out.update(pattern=self.pattern, observed=self.value, se=self.se, replications=self.replications)
        else:
            out.update(metric=self.metric, observed=self.value, se=self.se)
        if self.customers:
            out["customers"] = self.customers
        return out


TARGET_FIELDS = {"name", "survival", "metric", "pattern", "observed", "se", "set", "customers", "replications", "holdout",
                 "holdout_from"}
ABC_FIELDS = {"population", "generations", "simulations", "epsilon_per_df", "predictive_draws"}


def read_targets(path: str | Path, scenario: Scenario) -> tuple[list[Target], list[Prior], dict]:
    """Read a targets file (TOML): ``[parameters]`` (dotted key = prior), ``[[targets]]`` (each with
    ``survival = "FILE.csv"``, ``metric = NAME`` or ``pattern = ID`` with ``observed = X, se = S``;
    optional ``name``, ``set``, ``customers``, ``holdout``, ``holdout_from``, for a pattern
    ``replications``) and optional ``[abc]`` settings. A pattern must be measured on the calibrated
    scenario (its ``name``). Every problem raises :class:`CalibrationError` naming the file, the key and
    the reason."""
    path = Path(path)
    try:
        if not path.is_file():
            raise CalibrationError(f"{path}: not a file")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except CalibrationError:
        raise
    except (OSError, UnicodeDecodeError) as err:
        raise CalibrationError(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise CalibrationError(f"{path}: not valid TOML: {' '.join(str(err).split())[:160]}") from None
    unknown = set(data) - {"parameters", "targets", "abc"}
    if unknown:
        raise CalibrationError(f"{path}: unknown table {sorted(unknown)[0][:40]!r} (tables: parameters, targets, abc)")
    params = data.get("parameters")
    if not isinstance(params, dict) or not params:
        raise CalibrationError(
            f'{path}: [parameters] must name at least one parameter to fit, e.g. "firms.0.price" = {{ low = 10, high = 50 }}'
        )
    priors = []
    for key, spec in params.items():
        bound = parameter_bound(scenario, key, where=f"{path}: parameters.{key}")
        priors.append(make_prior(bound, spec, f"{path}: parameters.{key[:80]}"))
    raw_targets = data.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        raise CalibrationError(f"{path}: needs at least one [[targets]] (a survival curve or a metric)")
    targets, names = [], set()
    for i, t in enumerate(raw_targets):
        where = f"{path}: targets[{i}]"
        if not isinstance(t, dict):
            raise CalibrationError(f"{where}: must be a table")
        unknown = set(t) - TARGET_FIELDS
        if unknown:
            raise CalibrationError(
                f"{where}: unknown field {sorted(unknown)[0][:40]!r} (fields: {', '.join(sorted(TARGET_FIELDS))})"
            )
        if sum(k in t for k in ("survival", "metric", "pattern")) != 1:
            raise CalibrationError(f'{where}: give one of survival = "FILE.csv", metric = NAME or pattern = ID')
        name = t.get("name", t.get("metric") or t.get("pattern") or Path(str(t.get("survival"))).stem)
        if not isinstance(name, str) or not name or name in names:
            raise CalibrationError(f"{where}: name must be a text unique among the targets (got {str(name)[:40]!r})")
        names.add(name)
        overrides = t.get("set", {})
        if not isinstance(overrides, dict):
            raise CalibrationError(f"{where}.set: must be a table of dotted keys and values")
        overrides = _flatten(overrides)
        try:
            variant = load(scenario, overrides)
        except ScenarioError as err:
            raise CalibrationError(f"{where}.set: {' '.join(str(err).split())[:200]}") from None
        customers = t.get("customers")
        if customers is not None and (isinstance(customers, bool) or not isinstance(customers, int) or customers < 1):
            raise CalibrationError(f"{where}.customers: must be a whole number >= 1")
        holdout = t.get("holdout", False)
        if not isinstance(holdout, bool):
            raise CalibrationError(f"{where}.holdout: must be true or false")
        if "survival" in t:
            if "observed" in t or "se" in t or "replications" in t:
                raise CalibrationError(
                    f"{where}: observed, se and replications belong to a metric or pattern target; "
                    "a survival target reads its file"
                )
            file = Path(str(t["survival"]))
            file = file if file.is_absolute() else path.parent / file
            observed = read_observed(file)
            hf = t.get("holdout_from")
            if hf is not None and (isinstance(hf, bool) or not isinstance(hf, int)):
                raise CalibrationError(f"{where}.holdout_from: must be a whole number")
            try:
                check_observed(variant, observed, hf)
            except CalibrationError as err:
                raise CalibrationError(f"{where}: {err}") from None
            targets.append(
                Target(
                    name,
                    "survival",
                    observed=observed,
                    overrides=overrides,
                    customers=customers,
                    holdout=holdout,
                    holdout_from=hf,
                )
            )
        else:
            kind = "metric" if "metric" in t else "pattern"
            metric = t.get("metric")
            if kind == "pattern":
                _pattern(t["pattern"], scenario, f"{where}.pattern")
            elif metric not in METRICS:
                raise CalibrationError(f"{where}.metric: {str(metric)[:40]!r} is not a metric (one of {', '.join(METRICS)})")
            for k in ("observed", "se"):
                v = t.get(k)
                if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise CalibrationError(f"{where}.{k}: must be a finite number (the observed value and its standard error)")
            if t["se"] <= 0:
                raise CalibrationError(f"{where}.se: must be > 0 (the observed value's standard error or tolerance)")
            if "holdout_from" in t:
                raise CalibrationError(f"{where}.holdout_from: belongs to a survival target; mark a {kind} holdout = true")
            replications = t.get("replications", 1)
            if kind == "metric" and "replications" in t:
                raise CalibrationError(f"{where}.replications: belongs to a pattern target (a metric is one simulation's)")
            if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
                raise CalibrationError(f"{where}.replications: must be a whole number >= 1 (the pattern's replications)")
            targets.append(
                Target(
                    name,
                    kind,
                    metric=metric,
                    pattern=t.get("pattern"),
                    replications=replications,
                    value=float(t["observed"]),
                    se=float(t["se"]),
                    overrides=overrides,
                    customers=customers,
                    holdout=holdout,
                )
            )
    if all(t.holdout for t in targets):
        raise CalibrationError(f"{path}: every target is a holdout; at least one must be fitted")
    settings = data.get("abc", {})
    if not isinstance(settings, dict):
        raise CalibrationError(f"{path}: [abc] must be a table")
    unknown = set(settings) - ABC_FIELDS
    if unknown:
        raise CalibrationError(
            f"{path}: abc.{sorted(unknown)[0][:40]}: unknown setting (settings: {', '.join(sorted(ABC_FIELDS))})"
        )
    for k, v in settings.items():
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
        if not ok or (k != "epsilon_per_df" and not isinstance(v, int)):
            raise CalibrationError(f"{path}: abc.{k}: must be a positive {'number' if k == 'epsilon_per_df' else 'whole number'}")
    return targets, priors, settings


def _pattern(ident, scenario: Scenario, where: str):
    """The pattern of the suite called ``ident``, if it is measured on ``scenario`` (else one-line error)."""
    from . import patterns

    found = {p.id: p for p in patterns.catalogue()}
    if not isinstance(ident, str) or ident not in found:
        raise CalibrationError(f"{where}: {str(ident)[:40]!r} is not a pattern (one of {', '.join(found)})")
    p = found[ident]
    if p.scenario != scenario.name:
        mine = [i for i, q in found.items() if q.scenario == scenario.name]
        raise CalibrationError(
            f"{where}: {ident} is measured on the scenario {p.scenario!r}, not on {scenario.name!r} which is calibrated"
            + (f" (its patterns: {', '.join(mine)})" if mine else " (no pattern is measured on it)")
        )
    return p


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not any(isinstance(x, (int, float, str, bool)) for x in v.values()):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


# ------------------------------------------------------------------------------- simulation
def simulated_survival(scenario: Scenario, seed: int, periods: int, segments: list[str]) -> dict[str, tuple[np.ndarray, int]]:
    """Survival S(t), t = 0 .. periods, of the focal firm's period-0 customers (per segment if named;
    ``""`` for all), with the cohort's size."""
    from .engine import Engine

    engine = Engine(scenario, [seed], threads=1)
    engine.run()
    return _survival(engine, periods, segments)


def _survival(engine, periods: int, segments: list[str]) -> dict[str, tuple[np.ndarray, int]]:
    rel = engine.relationship_arrays()
    first = (rel["start"] == 0) & (rel["customer"] < engine.n_initial) & (rel["firm"] == 0)
    names = [s.name for s in engine.scenario.segments]
    out = {}
    t = np.arange(periods + 1)
    for seg in segments:
        mine = first if seg == "" else first & (rel["segment"] == names.index(seg))
        ends, cens = rel["end"][mine], rel["censored"][mine]
        n = max(int(mine.sum()), 1)
        alive = (ends[None, :] >= t[:, None]) | cens[None, :]
        out[seg] = alive.sum(axis=1) / n, n
    return out


def _cells(counts: np.ndarray) -> np.ndarray:
    """The cells of a cohort's survival: customers lost in each period, and those still active at the end."""
    return np.append(counts[:-1] - counts[1:], counts[-1])


class _Simulator:
    """Runs the targets' variants for a parameter vector: one simulation per variant (targets under the
    same ``set`` and customers share it), each on its own seed."""

    def __init__(self, base: Scenario, targets: list[Target], priors: list[Prior], fit_periods: bool):
        self.base, self.targets, self.priors = base, targets, priors
        self.variants: dict[str, dict] = {}
        self.target_variant = []
        self.patterns = [t for t in targets if t.kind == "pattern"]  # each measured by its own runs
        self.pattern_of = {t.name: _pattern(t.pattern, base, t.name) for t in self.patterns}  # looked up once
        for t in targets:
            if t.kind == "pattern":
                continue
            key = json.dumps([t.overrides, t.customers], sort_keys=True, default=str)
            v = self.variants.setdefault(
                key,
                {
                    "overrides": t.overrides,
                    "customers": t.customers,
                    "targets": [],
                    "survival": False,
                    "metric": False,
                    "periods": 0,
                },
            )
            v["targets"].append(t)
            self.target_variant.append(key)
        for v in self.variants.values():
            sc = load(base, v["overrides"])
            v["scenario_periods"] = sc.simulation.periods
            v["scenario_customers"] = sc.simulation.customers
            for t in v["targets"]:
                if t.kind == "survival":
                    v["survival"] = True
                    v["periods"] = max(v["periods"], int(t.observed["period"].max()))
                else:
                    v["metric"] = True
            if v["metric"]:
                v["periods"] = max(v["periods"], sc.simulation.periods)
            v["horizon"] = max(v["periods"], sc.simulation.periods)
            if v["customers"] is None:
                v["customers"] = self._matched_customers(sc, v) if v["survival"] and not v["metric"] else sc.simulation.customers
        self.fit_periods = fit_periods

    def _matched_customers(self, sc: Scenario, v: dict) -> int:
        """As many simulated customers as the observed cohort has: the focal firm's share of period-0
        customers is found with one pilot run, so a curve's simulated cohort matches the observed size."""
        n_obs = max(int(t.observed.groupby("segment")["active"].first().sum()) for t in v["targets"] if t.kind == "survival")
        pilot_n = min(sc.simulation.customers, max(2000, 4 * n_obs))
        pilot = load(sc, {"simulation.customers": pilot_n, "simulation.periods": 1})
        from .engine import Engine

        engine = Engine(pilot, [pilot.simulation.seed], threads=1)
        engine.run()
        _s, cohort = _survival(engine, 0, [""])[""]
        share = cohort / pilot_n
        return max(1, int(math.ceil(n_obs / max(share, 1e-9))))

    def values(self, zs) -> dict:
        return {p.key: p.from_z(z) for p, z in zip(self.priors, zs)}

    def simulate(self, values: dict, seed: int, predictive: bool = False, large: bool = False) -> dict[str, object] | None:
        """Each target's simulated counterpart: a curve's survival per segment (to its horizon when
        ``predictive``) or a metric's value; None if the values make an invalid scenario. ``large``:
        with the scenario's own customers where a curve would be simulated at the observed size."""
        from .engine import Engine
        from .metrics import engine_metrics

        out = {}
        for k, (_key, v) in enumerate(self.variants.items()):
            periods = v["horizon"] if predictive else v["periods"]
            try:
                n = max(v["customers"], v["scenario_customers"]) if large else v["customers"]
                sc = load(self.base, {**v["overrides"], **values, "simulation.customers": n, "simulation.periods": periods})
            except ScenarioError:
                return None
            engine = Engine(sc, [int(seed) + 7919 * k], threads=1)
            engine.run()
            metrics = engine_metrics(engine).iloc[0] if v["metric"] else None
            for t in v["targets"]:
                if t.kind == "survival":
                    out[t.name] = _survival(engine, periods, list(dict.fromkeys(t.observed["segment"])))
                else:
                    out[t.name] = float(metrics[t.metric])
        for j, t in enumerate(self.patterns):
            out[t.name] = self.measure_pattern(t, values, int(seed) + 7919 * (len(self.variants) + j))
            if out[t.name] is None:
                return None
        return out

    def measure_pattern(self, t: Target, values: dict, seed: int) -> float | None:
        """A pattern's value at ``values``: the suite's own measurement, on the calibrated scenario with
        the target's ``set`` and the candidate values standing in for the shipped scenario, at the
        target's customers (default: the scenario's) and replications; None if the values make an
        invalid scenario."""
        from .patterns.measure import Size

        try:
            candidate = load(self.base, {**t.overrides, **values})
        except ScenarioError:
            return None
        size = Size(t.customers or candidate.simulation.customers, t.replications, seed, base=candidate)
        return float(self.pattern_of[t.name].measure(size).value)


def _curve_distance(t: Target, sims: dict) -> float:
    """Pearson's chi-square of a curve's fitted cells (see the module docstring)."""
    total = 0.0
    for seg, obs, cells in _observed_cells(t):
        s, _n = sims[seg]
        total += float(((_cells(s[: len(obs)] * obs[0]) - cells) ** 2 / np.maximum(cells, 1.0)).sum())
    return total


def _observed_cells(t: Target) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Per segment: the fitted part of an observed curve and its cells (computed once per target)."""
    if "cells" not in t.cache:
        cut = _cut(t)
        t.cache["cells"] = [
            (seg, obs, _cells(obs))
            for seg, g in t.observed.groupby("segment", sort=False)
            for obs in [g["active"].to_numpy(np.float64)[:cut]]
        ]
    return t.cache["cells"]


def _cut(t: Target) -> int:
    return int(t.observed["period"].max()) + 1 if t.holdout_from is None else int(t.holdout_from)


def _degrees_of_freedom(targets: list[Target]) -> int:
    df = 0
    for t in targets:
        if t.holdout:
            continue
        if t.kind == "survival":
            df += (_cut(t) - 1) * t.observed["segment"].nunique()
        else:
            df += 1
    return max(df, 1)


def _distance(targets: list[Target], sims: dict | None) -> float:
    if sims is None:
        return math.inf
    d = 0.0
    for t in targets:
        if t.holdout:
            continue
        if t.kind == "survival":
            d += _curve_distance(t, sims[t.name])
        else:
            x = sims[t.name]
            d += math.inf if not math.isfinite(x) else ((x - t.value) / t.se) ** 2
    return d


# ------------------------------------------------------------------------------- the result
@dataclass
class Calibration:
    """The result of :func:`calibrate`: the posterior (weighted particles), each parameter's median and
    95 % interval with its identification, the posterior predictive checks, and how the ABC ran."""

    keys: list[str]
    values: dict[str, float]
    intervals: dict[str, tuple[float | None, float | None]]
    priors: dict[str, Prior]
    identification: dict[str, dict]
    posterior: pd.DataFrame  # one row per particle: the parameters and its weight
    checks: list[dict]  # one per target: the posterior predictive check
    fit: pd.DataFrame  # the survival curves: [target,] period, [segment,] observed, fitted, low, high, holdout
    targets: list[Target]
    abc: dict
    seed: int
    scenario: Scenario = field(repr=False)
    holdout_from: int | None = None
    holdout_error: dict = field(default_factory=dict)
    database: Path | None = None
    method: str = (
        "approximate Bayesian computation by sequential Monte Carlo (pyabc ABC-SMC): a fresh simulation per particle, "
        "curves simulated at the observed cohort's size, Pearson chi-square distance on the cohort's cells and "
        "standard-error-scaled distance on metrics; value = posterior median, 95 % interval = 2.5 and 97.5 % posterior quantiles"
    )

    @property
    def status(self) -> str:
        return "identified" if all(i["status"] == "identified" for i in self.identification.values()) else "unidentifiable"

    def summary(self) -> dict:
        survival = [t for t in self.targets if t.kind == "survival"]
        return {
            "package": "retention-sim",
            "version": __version__,
            "method": self.method,
            "status": self.status,
            "fitted": {
                k: {
                    "value": self.values[k],
                    "ci_low": self.intervals[k][0],
                    "ci_high": self.intervals[k][1],
                    "start": self.priors[k].start,
                    "prior": self.priors[k].describe(),
                    **self.identification[k],
                }
                for k in self.keys
            },
            "posterior": {
                "file": "posterior.csv",
                "particles": int(len(self.posterior)),
                "effective_sample_size": _ess(self.posterior["weight"].to_numpy()),
                "sample": self.posterior.to_dict(orient="list"),
            },
            "abc": self.abc,
            "targets": [t.describe() for t in self.targets],
            "checks": self.checks,
            "holdout_from": self.holdout_from,
            "holdout_mean_absolute_percentage_error": self.holdout_error,
            "seed": self.seed,
            "observed": observed_fingerprint(survival[0].observed) if len(survival) == 1 else None,
            "scenario": self.scenario.model_dump(mode="json"),
            **_provenance(),
        }

    def write_files(self, folder: Path, plots: bool = True) -> list[str]:
        """Write the outputs into ``folder``, each file atomically; returns their names."""
        from .outputs import write_atomically

        folder = Path(folder)
        summary = json.dumps(_finite(self.summary()), indent=2) + "\n"
        write_atomically(folder / "calibration.json", lambda p: p.write_text(summary))
        write_atomically(folder / "posterior.csv", lambda p: self.posterior.to_csv(p, index=False))
        written = ["calibration.json", "posterior.csv"]
        if not self.fit.empty:
            fit = self.fit.copy()
            if (fit["segment"] == "").all():
                fit = fit.drop(columns="segment")
            if fit["target"].nunique() == 1:
                fit = fit.drop(columns="target")
            write_atomically(folder / "fit.csv", lambda p: fit.to_csv(p, index=False))
            written.append("fit.csv")
            if plots:
                figure = _plot(self)
                write_atomically(folder / "fit.png", lambda p: figure.savefig(p, format="png", metadata={"Software": None}))
                written.append("fit.png")
        target = folder / DATABASE
        if self.database is not None and Path(self.database).is_file():
            if not target.exists() or not os.path.samefile(self.database, target):
                write_atomically(target, lambda p: shutil.copyfile(self.database, p))
            written.append(DATABASE)
        return written

    def write(self, out: str | Path, force: bool = False, plots: bool = True) -> Path:
        from .outputs import prepare

        with prepare(out, force=force) as staging:
            self.write_files(staging.path, plots)
            return staging.commit()


def _ess(w: np.ndarray) -> float:
    w = w / w.sum()
    return float(1.0 / (w**2).sum())


def _finite(o):
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, (float, np.floating)):
        return float(o) if math.isfinite(o) else None
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.bool_):
        return bool(o)
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


def weighted_quantile(x: np.ndarray, w: np.ndarray, q) -> np.ndarray:
    order = np.argsort(x)
    x, w = np.asarray(x, float)[order], np.asarray(w, float)[order]
    c = np.cumsum(w) - 0.5 * w
    c /= w.sum()
    return np.interp(q, c, x)


# ------------------------------------------------------------------------------- calibrate
DEFAULTS = {"population": 200, "generations": 12, "simulations": 15_000, "epsilon_per_df": 1.0, "predictive_draws": 100}
DATABASE = "abc.db"  # pyabc's History of the calibration, in its folder
LOCK = ".calibrate.lock"  # one calibrate command at a time on a folder
OUTPUTS = ("calibration.json", "posterior.csv", "fit.csv", "fit.png", DATABASE)  # what write_files may write


def settings_with_defaults(settings: dict) -> dict:
    """The ABC settings: ``settings`` (None means the default) over :data:`DEFAULTS`."""
    return {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}}


def generation_seed(seed: int, t: int) -> int:
    """The seed of generation ``t``'s draws (particles, perturbations, simulation seeds): a function of
    the calibration's seed and the generation only."""
    return int(np.random.SeedSequence([int(seed) % 2**63, 2, int(t) + 1]).generate_state(1)[0])


_GUARDED: set[int] = set()


def _die_with_command(command: int) -> None:
    """Once per worker process of pyabc's multi-core sampler (forked by the command): end it when the
    command ends (:func:`sim.signals.die_with_parent`)."""
    if os.getpid() not in _GUARDED:
        from .signals import die_with_parent

        _GUARDED.add(os.getpid())
        die_with_parent(expected_parent=command)


def stored_generations(db: Path) -> int:
    """How many generations a calibration's database holds (0 if it holds none or is not there)."""
    if not Path(db).is_file():
        return 0
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            row = con.execute("SELECT MAX(t) FROM populations WHERE t >= 0").fetchone()
    except sqlite3.Error:
        return 0
    return 0 if row is None or row[0] is None else int(row[0]) + 1


def _finished(history, minimum: float, opts: dict) -> bool:
    """pyabc's stopping rules, checked between generations: the tolerance reached, the generations or
    the simulation budget spent."""
    if history.max_t < 0:
        return False
    populations = history.get_all_populations()
    last = populations[populations["t"] == history.max_t]
    return (
        float(last["epsilon"].iloc[0]) <= minimum
        or history.max_t + 1 >= int(opts["generations"])
        or int(populations["samples"].sum()) >= int(opts["simulations"])
    )


def study_digest(base: Scenario, targets: list[Target], priors: list[Prior], settings: dict, seed: int) -> str:
    """The resume key of a calibration's folder: everything that decides its result (the package
    version, the scenario, the targets with their observed data's hashes, the priors, the ABC settings
    and the seed; not the workers)."""
    data = {
        "version": __version__,
        "scenario": base.model_dump(mode="json"),
        "targets": [t.describe() for t in targets],
        "priors": [p.describe() | {"key": p.key} for p in priors],
        "abc": settings_with_defaults(settings),
        "seed": int(seed),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
UNIDENTIFIED_WIDTH = 0.8  # a posterior 95 % interval at least this share of the prior's: the data hardly inform it
AT_BOUND = 0.02  # a posterior quantile within 2 % of the prior's range from its edge


def calibrate(
    scenario,
    observed: pd.DataFrame,
    fit: list[str],
    holdout_from: int | None = None,
    seed: int | None = None,
    customers: int | None = None,
    overrides: dict | None = None,
    workers: int = 1,
    **settings,
) -> Calibration:
    """Fit the parameters named in ``fit`` (dotted keys, default priors) to one observed survival curve
    (see :func:`read_observed`); the single-curve form of :func:`calibrate_targets`, whose keywords
    (``folder``, ``scheduler``, the ABC settings) it passes on."""
    base, targets, priors = single_curve(scenario, observed, fit, holdout_from, customers, overrides)
    return calibrate_targets(base, targets, priors, seed=seed, workers=workers, **settings)


def single_curve(
    scenario, observed: pd.DataFrame, fit: list[str], holdout_from: int | None = None, customers: int | None = None,
    overrides: dict | None = None,
) -> tuple[Scenario, list[Target], list[Prior]]:
    """The scenario, target and priors of a single-curve calibration (``--observed FILE --fit KEY``),
    every input checked (:class:`CalibrationError`)."""
    base = load(scenario, overrides or {})
    if not fit:
        raise CalibrationError("name at least one parameter to fit (--fit KEY)")
    if len(set(fit)) != len(fit):
        raise CalibrationError("each parameter may be named once in --fit")
    priors = [default_prior(parameter_bound(base, k)) for k in fit]
    check_observed(base, observed, holdout_from)
    name = Path(observed.attrs["source"]).stem if observed.attrs.get("source") else "observed"
    return base, [Target(name, "survival", observed=observed, customers=customers, holdout_from=holdout_from)], priors


def calibrate_targets(
    scenario,
    targets: list[Target],
    priors: list[Prior],
    seed: int | None = None,
    workers: int = 1,
    progress=None,
    folder: str | Path | None = None,
    scheduler=None,
    **settings,
) -> Calibration:
    """ABC-SMC of ``priors`` on ``targets`` (see the module docstring). ``settings``: population,
    generations, simulations (the budget), epsilon_per_df, predictive_draws.

    Every generation is stored in ``folder/abc.db`` (pyabc's History; a temporary folder if None) as it
    ends, and a calibration whose folder already holds generations continues after the last of them:
    with one worker the resumed calibration is the uninterrupted one, bit for bit, because each
    generation draws from its own seed (``seed``, generation). ``workers`` > 1 uses pyabc's multi-core
    sampler, ``scheduler`` (a ``dask.distributed.Client``) its Dask sampler on a cluster; neither is
    bit-reproducible (the particles are drawn in the workers, in the order they finish)."""
    import pyabc

    for name in ("ABC", "History", "Sampler", "Epsilon", "Distance", "Acceptor", "Transition", "Population", "pyabc"):
        logging.getLogger(name).setLevel(logging.WARNING if progress is None else logging.INFO)
    base = load(scenario)
    opts = settings_with_defaults(settings)
    seed = base.simulation.seed if seed is None else int(seed)
    keys = [p.key for p in priors]
    if len(set(keys)) != len(keys):
        raise CalibrationError("each parameter may be named once")
    simulator = _Simulator(base, targets, priors, fit_periods=True)
    names = [f"p{j}" for j in range(len(priors))]
    command, forked = os.getpid(), workers > 1 and scheduler is None

    def model(par):
        if forked and os.getpid() != command:
            _die_with_command(command)  # a multi-core worker process ends with the command, however it ends
        s = int(np.random.randint(0, 2**31 - 1))
        sims = simulator.simulate(simulator.values([par[n] for n in names]), s)
        return {"distance": _distance(targets, sims)}

    prior = pyabc.Distribution(
        **{n: pyabc.RV("uniform", p.z_range[0], p.z_range[1] - p.z_range[0]) for n, p in zip(names, priors)}
    )
    if scheduler is not None:
        sampler = pyabc.sampler.DaskDistributedSampler(dask_client=scheduler)
    elif workers > 1:
        sampler = pyabc.sampler.MulticoreEvalParallelSampler(n_procs=int(workers))
    else:
        sampler = pyabc.sampler.SingleCoreSampler()
    df = _degrees_of_freedom(targets)

    def generation():  # one generation's ABC-SMC, fresh: pyabc caches the population it starts from per object
        return pyabc.ABCSMC(
            model,
            prior,
            distance_function=lambda x, x0: x["distance"],
            population_size=int(opts["population"]),
            eps=pyabc.QuantileEpsilon(alpha=0.5),
            sampler=sampler,
        )

    folder = Path(tempfile.mkdtemp(prefix="retention-sim-abc-")) if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / DATABASE
    url = f"sqlite:///{db.resolve()}"
    resumed_at = stored_generations(db)
    if not resumed_at:
        db.unlink(missing_ok=True)  # a database without a finished generation: start it again
        history = generation().new(url, {"distance": 0.0})
    else:
        history = pyabc.History(url, _id=1)
    minimum = float(opts["epsilon_per_df"]) * df
    while not _finished(history, minimum, opts):
        # every generation is a resumption of the stored ones with its own random stream, so an
        # interrupted calibration, resumed, is the uninterrupted one
        abc = generation()
        abc.load(url, 1)
        np.random.seed(generation_seed(seed, history.max_t + 1))
        history = abc.run(minimum_epsilon=minimum, max_nr_populations=1, max_total_nr_simulations=int(opts["simulations"]))
    particles, weights = history.get_distribution(m=0, t=history.max_t)
    weights = np.asarray(weights, float)
    weights = weights / weights.sum()
    populations = history.get_all_populations()
    final_eps = float(populations["epsilon"].iloc[-1])
    sims_total = int(populations["samples"].sum())
    post = pd.DataFrame({p.key: [p.from_z(z) for z in particles[n].to_numpy()] for n, p in zip(names, priors)})
    zpost = {n: particles[n].to_numpy(float) for n in names}
    post["weight"] = weights
    values, intervals, ident = {}, {}, {}
    for n, p in zip(names, priors):
        z = zpost[n]
        q = weighted_quantile(z, weights, [0.025, 0.5, 0.975])
        values[p.key] = p.from_z(q[1])
        intervals[p.key] = (p.from_z(q[0]), p.from_z(q[2]))
        ident[p.key] = _identification(p, q)
    abc_info = {
        "library": f"pyabc {pyabc.__version__}",
        "population": int(opts["population"]),
        "generations": int(history.max_t + 1),
        "simulations": sims_total,
        "final_epsilon": final_eps,
        "minimum_epsilon": minimum,
        "degrees_of_freedom": df,
        "stopped_by": "tolerance"
        if final_eps <= minimum
        else "budget (generations or simulations); the intervals may be wider than the data imply",
        "epsilon_by_generation": [float(e) for e in populations["epsilon"].iloc[1:]]
        if populations["t"].iloc[0] < 0
        else [float(e) for e in populations["epsilon"]],
        "workers": int(workers),
        "sampler": type(sampler).__name__,
        "resumed_after_generations": resumed_at,
        "database": "abc.db (pyabc History: every generation's particles)",
    }
    rng = np.random.default_rng([seed, 1])
    draws = rng.choice(len(post), size=int(opts["predictive_draws"]), p=weights)
    best = {p.key: values[p.key] for p in priors}
    checks, fit_table, holdout_error = _predictive(simulator, targets, priors, names, particles, draws, rng, best)
    return Calibration(
        keys=keys,
        values=values,
        intervals=intervals,
        priors={p.key: p for p in priors},
        identification=ident,
        posterior=post,
        checks=checks,
        fit=fit_table,
        targets=targets,
        abc=abc_info,
        seed=seed,
        scenario=load(base, best),
        holdout_from=next((t.holdout_from for t in targets if t.kind == "survival"), None),
        holdout_error=holdout_error,
        database=db,
    )


def _identification(p: Prior, q: np.ndarray) -> dict:
    """Whether the data inform a parameter: its posterior 95 % interval against the prior's (in the
    prior's uniform coordinate), and whether the posterior piles up at an edge of the prior."""
    lo, hi = p.z_range
    width = (q[2] - q[0]) / (0.95 * (hi - lo))
    out = {"posterior_to_prior_width": float(width)}
    if width >= UNIDENTIFIED_WIDTH:
        out.update(
            status="unidentifiable",
            reason=f"the posterior's 95 % interval is {width:.0%} as wide as the prior's: "
            "the targets hardly inform this parameter",
        )
    elif q[0] - lo < AT_BOUND * (hi - lo) or hi - q[2] < AT_BOUND * (hi - lo):
        edge = "lower" if q[0] - lo < AT_BOUND * (hi - lo) else "upper"
        value = p.low if edge == "lower" else p.high
        out.update(
            status="unidentifiable",
            reason=f"the posterior piles up at the {edge} edge of the prior ({value:g}): the targets put it at or beyond "
            "that edge, not inside the prior (widen the prior if the parameter may go further, or read it as a bound)",
        )
    else:
        out.update(status="identified", reason=None)
    return out


def _predictive(simulator: _Simulator, targets, priors, names, particles, draws, rng, best: dict):
    """Posterior predictive checks: every target simulated at ``draws`` (indices of posterior particles)
    to its horizon; for a curve, per period the 95 % predictive interval of the counts; for a metric, its
    predictive mean, 95 % interval and the share of draws below the observed value. A curve's ``fitted``
    values (and the holdout errors) are the survival at the posterior medians ``best``, simulated with
    the scenario's own customers (or the target's), so that the point forecast carries little
    simulation noise."""
    point = simulator.simulate(best, int(rng.integers(2**31 - 1)), predictive=True, large=True)
    runs = []
    for j in draws:
        values = simulator.values([float(particles[n].iloc[j]) for n in names])
        sims = simulator.simulate(values, int(rng.integers(2**31 - 1)), predictive=True)
        if sims is not None:
            runs.append(sims)
    checks, rows, errors = [], [], {}
    for t in targets:
        if t.kind in ("metric", "pattern"):
            x = np.array([r[t.name] for r in runs], float)
            x = x[np.isfinite(x)]
            lo, hi = np.quantile(x, [0.025, 0.975]) if len(x) else (math.nan, math.nan)
            if t.kind == "pattern":
                band = simulator.pattern_of[t.name].target
                extra = {
                    "pattern": t.pattern,
                    "pattern_band": band.describe(),
                    "share_in_pattern_band": float(((x >= band.lo) & (x <= band.hi)).mean()) if len(x) else None,
                }
            else:
                extra = {"metric": t.metric}
            checks.append(
                {
                    "target": t.name,
                    "kind": t.kind,
                    **extra,
                    "holdout": t.holdout,
                    "observed": t.value,
                    "se": t.se,
                    "predictive_mean": float(x.mean()) if len(x) else None,
                    "predictive_low": float(lo),
                    "predictive_high": float(hi),
                    "within_95": bool(len(x) and lo <= t.value <= hi),
                    "share_below_observed": float((x < t.value).mean()) if len(x) else None,
                }
            )
            continue
        cut = _cut(t)
        horizon = len(runs[0][t.name][next(iter(runs[0][t.name]))][0]) - 1 if runs else 0
        for seg, g in t.observed.groupby("segment", sort=False):
            obs = g["active"].to_numpy(np.int64)
            curves = np.array([r[t.name][seg][0] for r in runs]) * obs[0]
            mean = point[t.name][seg][0] * obs[0]
            lo, hi = np.quantile(curves, [0.025, 0.975], axis=0)
            for k in range(horizon + 1):
                rows.append(
                    {
                        "target": t.name,
                        "period": k,
                        "segment": seg,
                        "observed": float(obs[k]) if k < len(obs) else np.nan,
                        "fitted": float(mean[k]),
                        "low": float(lo[k]),
                        "high": float(hi[k]),
                        "holdout": bool(t.holdout or k >= cut),
                    }
                )
            n = min(len(obs), horizon + 1)
            inside = (obs[:n] >= lo[:n]) & (obs[:n] <= hi[:n])
            fitted_part = np.arange(n) < cut
            check = {
                "target": t.name + (f" ({seg})" if seg else ""),
                "kind": "survival",
                "holdout": t.holdout,
                "periods_within_95": int(inside[fitted_part].sum()),
                "periods": int(fitted_part.sum()),
            }
            if cut < n:
                check.update(holdout_periods_within_95=int(inside[~fitted_part].sum()), holdout_periods=int((~fitted_part).sum()))
                held = np.arange(cut, n)
                r = constant_retention_fit(obs[:cut])
                errors[(seg or "all") if len(targets) == 1 else f"{t.name}{'/' + seg if seg else ''}"] = {
                    "model": _mape(obs[held], mean[held]),
                    "constant_retention": _mape(obs[held], obs[0] * r**held),
                }
            checks.append(check)
    return (
        checks,
        pd.DataFrame(rows, columns=["target", "period", "segment", "observed", "fitted", "low", "high", "holdout"]),
        errors,
    )


def _provenance() -> dict:
    from .outputs import provenance

    return provenance()


def _plot(cal: Calibration):
    import matplotlib

    from .plots import DPI, FIRM_PALETTE, STYLE, WIDTH, canvas_figure

    # a figure with its own canvas: writing fit.png neither needs nor changes pyplot's backend
    with matplotlib.rc_context(STYLE):
        fig = canvas_figure((WIDTH, round(5.5 * DPI) / DPI))
        ax = fig.subplots()
        pm = cal.scenario.simulation.period_months
        several = cal.fit["target"].nunique() > 1
        for k, ((target, seg), g) in enumerate(cal.fit.groupby(["target", "segment"], sort=False)):
            c = FIRM_PALETTE[k % len(FIRM_PALETTE)]
            label = ", ".join(x for x in (target if several else "", seg) if x)
            label = f" ({label})" if label else ""
            ax.fill_between(g["period"] * pm, g["low"], g["high"], color=c, alpha=0.18, linewidth=0)
            ax.plot(g["period"] * pm, g["fitted"], color=c, linewidth=2, label=f"at the posterior medians{label}")
            ax.plot([], [], color=c, alpha=0.3, linewidth=8, label=f"95 % posterior predictive band{label}")
            ax.plot(g["period"] * pm, g["observed"], "o", color=c, markersize=6, label=f"observed{label}")
        if cal.holdout_from is not None:
            ax.axvspan(
                cal.holdout_from * pm, cal.fit["period"].max() * pm, color="#999999", alpha=0.15, label="holdout (not fitted)"
            )
        ax.set(xlabel="month", ylabel="customers of the cohort still active", ylim=(0, None))
        fitted = ", ".join(
            f"{k} = {v:.4g} ({cal.intervals[k][0]:.3g} to {cal.intervals[k][1]:.3g})" for k, v in cal.values.items()
        )
        ax.set_title(f"Calibration of {cal.scenario.name}: observed vs posterior predictive survival of the cohort", loc="left")
        fig.supxlabel(f"Posterior median (95 % interval): {fitted}", x=0.005, ha="left", fontsize=11, color="#333333")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig
