"""The optimisation file: what is searched, for what, under which constraints, and how.

::

    base = "telecom"                  # a shipped scenario or a path (relative to this file); `extends` semantics
    [set]                             # fixed dotted-key overrides of the base, for every run
    "simulation.customers" = 2000
    [objective]
    maximise = "profit"               # or minimise = "churn_per_year"; two metrics in all give a Pareto front
    [[constraints]]
    metric = "attached_only_share"
    max = 0.4                         # and/or min = ...
    [parameters]                      # dotted key = [low, high], a whole-number key stays whole
    "firms.0.price" = [20.0, 200.0]
    "measures.0.term" = [6, 24]
    "measures.1" = [false, true]      # a lever off or on: a choice
    "measures.0.targeting" = { choices = ["risk", "uplift"] }
    "firms.0.acquisition_spend" = { low = 1000.0, high = 100000.0, log = true }
    [budget]                          # optional: money per period split among levers (see sim.optimise.budget)
    per_period = 20000.0
    levers = ["service", "loyalty_programme"]
    at_most = false                   # true: a ceiling, part may stay unspent
    [search]
    trials = 50                       # trials of the search
    replications = 2                  # per trial, on the same seeds for every trial
    method = "tpe"                    # tpe | cmaes | nsga2 | random (default: tpe, nsga2 for two objectives)
    seed = 0
    batch = 4                         # trials in flight at once (results depend on it, not on --workers)
    [verify]
    top = 3                           # best trials re-run on fresh seeds
    replications = 20
    slices = 7                        # points per one-parameter slice through the recommendation (0: none)

Every problem is an :class:`OptimiseError` whose text is one line naming the file, the key and the reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import __version__

METHODS = ("tpe", "cmaes", "nsga2", "random")


class OptimiseError(ValueError):
    """An optimisation file cannot be used: one line naming the file, the key and the reason."""


class _Table(BaseModel):
    """A table of the file: unknown keys are errors, numbers finite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _metrics() -> tuple[str, ...]:
    """The metrics a study may use: those of :mod:`sim.metrics`, read when a file is checked, so that
    metrics added there are available here."""
    from ..metrics import METRICS

    return tuple(METRICS)


def _known(metric: str) -> str:
    if metric not in _metrics():
        raise ValueError(f"unknown metric {metric!r} (metrics: {', '.join(_metrics())})")
    return metric


class Objective(_Table):
    """One metric to maximise or minimise, or two (one each, or both the same way) for a Pareto front."""

    maximise: list[str] = Field(default_factory=list)
    minimise: list[str] = Field(default_factory=list)

    @field_validator("maximise", "minimise", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("maximise", "minimise")
    @classmethod
    def _metrics_known(cls, value: list[str]) -> list[str]:
        return [_known(m) for m in value]

    @model_validator(mode="after")
    def _one_or_two(self) -> Objective:
        n = len(self.maximise) + len(self.minimise)
        if n not in (1, 2):
            raise ValueError(f"name one metric to maximise or minimise, or two for a Pareto front (got {n})")
        if len(set(self.metrics)) < n:
            raise ValueError("the two objectives name the same metric")
        return self

    @property
    def metrics(self) -> list[str]:
        """The objective metrics, those to maximise first."""
        return [*self.maximise, *self.minimise]

    @property
    def directions(self) -> list[str]:
        """Optuna's direction of each objective metric."""
        return ["maximize"] * len(self.maximise) + ["minimize"] * len(self.minimise)


class Constraint(_Table):
    """A bound on the mean of a metric: ``min`` and/or ``max``."""

    metric: str
    min: float | None = None
    max: float | None = None

    _known_metric = field_validator("metric")(lambda cls, v: _known(v))

    @model_validator(mode="after")
    def _bounded(self) -> Constraint:
        if self.min is None and self.max is None:
            raise ValueError(f"a constraint on {self.metric} needs min, max or both")
        if self.min is not None and self.max is not None and not self.min <= self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g}), so no strategy can meet it")
        return self

    def violation(self, value: float) -> float:
        """How far ``value`` is outside the bound (<= 0 inside; Optuna's convention); a value that is
        not defined counts as violating by 1."""
        if not math.isfinite(value):
            return 1.0
        return max(
            (self.min - value) if self.min is not None else -math.inf, (value - self.max) if self.max is not None else -math.inf
        )

    def describe(self) -> str:
        """The bound in words, e.g. ``attached_only_share at most 0.4``."""
        parts = ([f"at least {self.min:g}"] if self.min is not None else []) + (
            [f"at most {self.max:g}"] if self.max is not None else []
        )
        return f"{self.metric} {' and '.join(parts)}"


class Search(_Table):
    """How the search runs."""

    trials: int = Field(50, ge=1, le=100_000, description="Trials of the search.")
    replications: int = Field(
        2, ge=1, le=10_000, description="Replications per trial; replication r of every trial uses the same seed."
    )
    method: Literal["tpe", "cmaes", "nsga2", "random"] | None = Field(
        None, description="Sampler (default tpe; nsga2 for two objectives)."
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="The one seed of the study: sampler, search and verification seeds.")
    batch: int = Field(4, ge=1, le=1024, description="Trials in flight at once: trial k is asked once trial k - batch is told.")
    population: int | None = Field(
        None,
        ge=2,
        le=10_000,
        description="NSGA-II population (default: trials / 5, 4 to 50); CMA-ES population (default: its own).",
    )


class Verify(_Table):
    """How the best trials are confirmed."""

    top: int = Field(3, ge=1, le=100, description="Best trials re-run on fresh seeds.")
    replications: int = Field(20, ge=2, le=100_000, description="Replications of each on fresh seeds (paired with the base).")
    slices: int = Field(7, ge=0, le=100, description="Points of each one-parameter slice through the recommendation (0: none).")

    @field_validator("slices")
    @classmethod
    def _not_one(cls, value: int) -> int:
        if value == 1:
            raise ValueError("a slice needs at least 2 points (or 0 for none)")
        return value


class Budget(_Table):
    """Money per period split among levers (see :mod:`sim.optimise.budget`)."""

    per_period: float = Field(..., description="Money per period to split among the levers.")
    levers: list[str | dict[str, str]] = Field(
        ..., min_length=1, description="Measures of the base: by type, or 'measures.N'; or {lever = ..., dose = KEY}."
    )
    at_most: bool = Field(False, description="The budget is a ceiling: part of it may stay unspent.")

    @field_validator("per_period")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"must be a positive amount of money per period (got {value:g})")
        return value


class _File(_Table):
    base: str = Field(..., min_length=1)
    set: dict[str, Any] = Field(default_factory=dict)
    objective: Objective
    constraints: list[Constraint] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    budget: Budget | None = None
    search: Search = Field(default_factory=Search)
    verify: Verify = Field(default_factory=Verify)


# ------------------------------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class Parameter:
    """One searched key: ``kind`` is ``float``, ``int`` or ``choice``; a range has ``low`` and
    ``high`` (``log`` for a log scale), a choice its ``choices``. ``lever`` is set when the key names a
    measure (``measures.N``) that the choice switches off (False) or on (True)."""

    key: str
    kind: Literal["float", "int", "choice"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    lever: int | None = None

    def distribution(self):
        """The Optuna distribution of this parameter."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "choice":
            return CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def grid(self, points: int) -> list:
        """``points`` values spread over the range (whole numbers: distinct ones), or every choice."""
        if self.kind == "choice":
            return list(self.choices)
        lo, hi = float(self.low), float(self.high)
        if self.log:
            values = [math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * i / (points - 1)) for i in range(points)]
        else:
            values = [lo + (hi - lo) * i / (points - 1) for i in range(points)]
        if self.kind == "int":
            return sorted({int(round(v)) for v in values})
        return values


def _flatten(table: dict, prefix: str = "", leaf=lambda v: not isinstance(v, dict)) -> dict[str, Any]:
    """Dotted keys from a table: quoted keys (``"firms.0.price"``) are dotted already, unquoted ones
    (``firms.0.price``) arrive as nested tables and are joined back; ``leaf`` says where to stop."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if leaf(value) or not value:
            out[name] = value
        else:
            out.update(_flatten(value, name + ".", leaf))
    return out


def _is_spec(value: Any) -> bool:
    """A parameter's value: a list, or a table with low/high or choices."""
    return not isinstance(value, dict) or bool({"low", "high", "choices", "log"} & set(value))


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def parse_parameter(key: str, value: Any, current: Any) -> Parameter:
    """A :class:`Parameter` from its file entry; ``current`` is the key's value in the base scenario
    (its type decides whether a range is whole numbers). Raises ValueError with the reason."""
    if key.split(".")[0] == "measures" and key.count(".") == 1:
        if value != [False, True] and value != [True, False] and value != {"choices": [False, True]}:
            raise ValueError("a measure as a whole is switched off or on: write [false, true]")
        return Parameter(key, "choice", choices=(False, True), lever=int(key.split(".")[1]))
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, bool) for v in value):
        value = {"choices": value}
    if isinstance(value, list):
        if len(value) != 2 or not all(_number(v) for v in value):
            raise ValueError("must be [low, high] (two numbers), [false, true], or a table with choices = [...]")
        value = {"low": value[0], "high": value[1]}
    if not isinstance(value, dict):
        raise ValueError("must be [low, high], [false, true], or a table with low/high or choices")
    unknown = set(value) - {"low", "high", "log", "choices"}
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} (a parameter takes low, high, log, or choices)")
    if "choices" in value:
        choices = value["choices"]
        if set(value) != {"choices"}:
            raise ValueError("a choice takes only choices = [...]")
        if not isinstance(choices, list) or len(choices) < 2 or any(isinstance(c, (list, dict)) for c in choices):
            raise ValueError("choices must list at least two values")
        if len({json.dumps(c) for c in choices}) < len(choices):
            raise ValueError("choices are listed twice")
        return Parameter(key, "choice", choices=tuple(choices))
    if "low" not in value or "high" not in value:
        raise ValueError("a range needs both low and high")
    low, high, log = value["low"], value["high"], value.get("log", False)
    if not (_number(low) and _number(high)) or not all(math.isfinite(v) for v in (low, high)):
        raise ValueError(f"low and high must be finite numbers (got [{low!r}, {high!r}])")
    if not isinstance(log, bool):
        raise ValueError("log must be true or false")
    if low == high:
        raise ValueError(f"the range [{low:g}, {high:g}] is empty: low must be below high (to fix the value, put it in [set])")
    if low > high:
        raise ValueError(f"the bounds are inverted: low must be below high (got [{low:g}, {high:g}])")
    if log and low <= 0:
        raise ValueError(f"a log scale needs a positive low bound (got {low:g})")
    whole = (
        isinstance(current, int)
        and not isinstance(current, bool)
        or (current is None and isinstance(low, int) and isinstance(high, int))
    )
    if isinstance(current, bool) or isinstance(current, str):
        raise ValueError(
            f"is {'true or false' if isinstance(current, bool) else 'text'} in the scenario: give choices, not a range"
        )
    if whole:
        if not (float(low).is_integer() and float(high).is_integer()):
            raise ValueError(f"is a whole number in the scenario, so its bounds must be whole numbers (got [{low:g}, {high:g}])")
        return Parameter(key, "int", low=int(low), high=int(high), log=log)
    return Parameter(key, "float", low=float(low), high=float(high), log=log)


# ------------------------------------------------------------------------------------------ the spec
@dataclass
class OptimiseSpec:
    """A checked optimisation file: the fixed part (``file``: the parsed tables), the base scenario with
    the fixed overrides applied (``base``: a Scenario), the searched ``parameters``, the budget
    (``budget``: a :class:`~sim.optimise.budget.BudgetPlan` or None) and where it came from."""

    file: _File
    base: Any
    parameters: list[Parameter]
    budget: Any
    path: str
    base_ref: str  # how best.toml names the base: a shipped name, or the base file's absolute path
    overrides: dict[str, Any]

    @property
    def objective(self) -> Objective:
        return self.file.objective

    @property
    def search(self) -> Search:
        return self.file.search

    @property
    def verify(self) -> Verify:
        return self.file.verify

    @property
    def constraints(self) -> list[Constraint]:
        return self.file.constraints

    @property
    def method(self) -> str:
        """The sampler: as given, else TPE for one objective and NSGA-II for two."""
        return self.search.method or ("nsga2" if len(self.objective.metrics) == 2 else "tpe")

    def digest(self) -> str:
        """A hash of everything that decides the study's trials: the file's tables, the base scenario
        as resolved (every default filled in) and the package version."""
        from ..scenario import scenario_hash

        data = {"file": self.file.model_dump(mode="json"), "base": scenario_hash(self.base), "version": __version__}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _fail(path: Path, key: str | None, reason: str) -> OptimiseError:
    return OptimiseError(f"{path}: {key}: {reason}" if key else f"{path}: {reason}")


def _validation_error(path: Path, err: ValidationError) -> OptimiseError:
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-"))
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        msg = "unknown key"
    elif e["type"] == "missing":
        msg = "is required but not set"
    elif e["type"] not in ("value_error",) and not isinstance(e.get("input"), (dict, list)):
        msg += f" (got {e['input']!r})"
    return _fail(path, loc or None, msg)


def _read(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise OptimiseError(f"{path}: is a folder, not an optimisation file") from None
    except OSError as err:
        raise OptimiseError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise OptimiseError(f"{path}: not a valid TOML text file: {err}") from None


def _value_at(data: Any, key: str) -> Any:
    """The value at a dotted key of a scenario's dump (None if there is none)."""
    for part in key.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


def load_spec(path: str | Path) -> OptimiseSpec:
    """Read and check an optimisation file before anything runs or is written: the tables, every
    metric, the base scenario with its fixed overrides, every parameter at both ends of its range (or
    at each choice), and the budget. Raises :class:`OptimiseError` or ``ScenarioError`` (one line)."""
    from ..scenario import ScenarioError, load, resolve_path
    from .budget import plan_budget

    path = Path(path)
    data = _read(path)
    try:
        file = _File.model_validate(data)
    except ValidationError as err:
        raise _validation_error(path, err) from None
    base_file = path.parent / file.base
    base_path = base_file if base_file.is_file() else resolve_path(file.base)
    base_ref = file.base if not base_file.is_file() else str(base_path.resolve())
    overrides = _flatten(file.set)
    base = load(base_path, overrides, override_labels={k: f"{path}: set.{k}" for k in overrides})
    dumped = base.model_dump(mode="json")
    _check_horizon(path, file, base)

    parameters = []
    for key, value in _flatten(file.parameters, leaf=_is_spec).items():
        label = f"parameters.{key}"
        current = _value_at(dumped, key)
        try:
            parameter = parse_parameter(key, value, current)
        except ValueError as err:
            raise _fail(path, label, str(err)) from None
        if parameter.lever is not None:
            if not 0 <= parameter.lever < len(base.measures):
                raise _fail(
                    path,
                    label,
                    f"the base scenario has {len(base.measures)} measure(s), so there is no measure {parameter.lever}",
                )
        else:
            ends = parameter.choices if parameter.kind == "choice" else (parameter.low, parameter.high)
            for end in ends:
                try:
                    load(base, {key: end}, override_labels={key: f"{path}: {label}"})
                except ScenarioError:
                    raise
                except (ValueError, KeyError):
                    raise _fail(path, label, "not a key of the scenario") from None
            if current is None and not _exists(dumped, key):
                raise _fail(path, label, "not a key of the scenario")
        parameters.append(parameter)
    budget = (
        plan_budget(file.budget, base, path, {p.key for p in parameters}, file.search.seed) if file.budget is not None else None
    )
    if not parameters and budget is None:
        raise _fail(path, "parameters", "nothing to optimise: give [parameters] (dotted key = [low, high]) or a [budget]")
    if file.search.method == "cmaes" and len(file.objective.metrics) == 2:
        raise _fail(path, "search.method", "cmaes optimises one objective; use nsga2 or tpe for two")
    return OptimiseSpec(file, base, parameters, budget, str(path), base_ref, overrides)


def _exists(data: Any, key: str) -> bool:
    """Whether a dotted key names an entry of a scenario's dump (its value may be None)."""
    *head, last = key.split(".")
    parent = _value_at(data, ".".join(head)) if head else data
    return isinstance(parent, dict) and last in parent


def _check_horizon(path: Path, file: _File, base) -> None:
    """A retention metric needs a horizon at least as long as its months (else it is undefined)."""
    months = base.simulation.periods * base.simulation.period_months
    named = [("objective", m) for m in file.objective.metrics] + [
        (f"constraints.{i}.metric", c.metric) for i, c in enumerate(file.constraints)
    ]
    for key, metric in named:
        if metric.startswith("retention_") and metric.removeprefix("retention_").isdigit():
            need = int(metric.removeprefix("retention_"))
            if months < need:
                raise _fail(path, key, f"{metric} is undefined with a horizon of {months:g} months (it needs {need})")


__all__ = [
    "Budget",
    "Constraint",
    "METHODS",
    "Objective",
    "OptimiseError",
    "OptimiseSpec",
    "Parameter",
    "Search",
    "Verify",
    "load_spec",
    "parse_parameter",
]
