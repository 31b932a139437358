"""The study from end to end: the folder, the search, the confirmation, the slices and the outputs."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, outputs
from .spec import OptimiseSpec, load_spec

DB = "study.db"
DB_LOG = ("study.db-wal", "study.db-shm")  # SQLite's write-ahead log, beside the database while it is open
LOCK = ".optimise.lock"
IMPORTANCE_QUANTILE = 0.2  # importances say what it takes to reach the best fifth of the trials
OUTPUTS = ("trials.parquet", "verification.csv", "best.toml", "report.html", "manifest.json")


# ------------------------------------------------------------------------------------------ scenarios
def scenario_for(spec: OptimiseSpec, params: dict) -> tuple[dict, dict]:
    """A trial's scenario (a dict, every default filled in) from its parameters, and what it derived:
    the budget's money per lever (``budget.<lever>``), each lever's dose and cost keys. Levers switched
    off (or whose money does not cover their fixed cost) are removed from the measures, after every
    dotted key has been applied by the measures' original numbers. Raises ValueError (a
    ``ScenarioError``) if a combination is not a valid scenario."""
    from ..scenario import load

    overrides = {p.key: params[p.key] for p in spec.parameters if p.lever is None}
    off = {p.lever for p in spec.parameters if p.lever is not None and not params[p.key]}
    derived: dict[str, Any] = {}
    if spec.budget is not None:
        money = spec.budget.split(params)
        settings, budget_off, _ = spec.budget.settings(money)
        overrides.update(settings)
        off |= budget_off
        derived.update({f"budget.{name}": value for name, value in money.items()})  # unspent too, if a ceiling
        derived.update({k: v for k, v in settings.items() if not k.rsplit(".", 1)[-1].startswith("cost_per_")})
        for lv in spec.budget.levers:
            if lv.index in budget_off:
                derived[f"measures.{lv.index}.{lv.dose}"] = 0.0
    data = load(spec.base, overrides).model_dump(mode="json")
    if off:
        data["measures"] = [m for j, m in enumerate(data["measures"]) if j not in off]
        data = load(data).model_dump(mode="json")
    return data, derived


def base_scenario(spec: OptimiseSpec) -> dict:
    """The base scenario with the file's fixed overrides, as a dict."""
    return spec.base.model_dump(mode="json")


# ------------------------------------------------------------------------------------------ the folder
def prepare_folder(out: Path, spec: OptimiseSpec, force: bool, local_db: bool) -> bool:
    """Make ``out`` ready (:func:`sim.outputs.prepare_study`): new or empty, or this very study
    interrupted (resumed: returns True), or with ``force`` an earlier retention-sim output to replace."""
    return outputs.prepare_study(out, "optimise", spec.digest(), force, ([DB, *DB_LOG] if local_db else []) + [LOCK], OUTPUTS)


def redact(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<unparsable URL>"


# ------------------------------------------------------------------------------------------ the result
@dataclass
class StudyResult:
    """A finished study: ``trials`` (one row per trial), ``verification`` (as verification.csv), the
    :class:`~sim.optimise.verify.Recommendation`, the slices, ``best_toml`` (text, or None when no
    candidate met the constraints), the manifest and the output folder."""

    spec: OptimiseSpec
    trials: Any
    verification: Any
    recommendation: Any
    candidates: list
    slices: list
    importances: dict
    best_toml: str | None
    manifest: dict
    out: Path
    files: list[str] = field(default_factory=list)

    @property
    def best(self):
        """The recommended strategy (a :class:`~sim.optimise.verify.Candidate`), or None."""
        return self.recommendation.best

    @property
    def text(self) -> str:
        """The recommendation in one paragraph, with its interval (as in report.html)."""
        from .report import paragraph

        return paragraph(self)


def optimise(
    spec: OptimiseSpec | str | Path,
    out: str | Path,
    workers: int = 1,
    storage: str | None = None,
    force: bool = False,
    progress: bool = False,
) -> StudyResult:
    """Run (or resume) the study of an optimisation file into the folder ``out``; see :mod:`sim.optimise`.

    ``workers`` local processes run trials (1: this process); ``storage`` is a database URL shared by
    the machines of a cluster (default: SQLite ``out/study.db``); ``force`` replaces an earlier,
    different retention-sim output in ``out``; ``progress`` shows progress bars.
    """
    from . import study as st
    from .pool import Pool

    if not isinstance(spec, OptimiseSpec):
        spec = load_spec(spec)
    out = Path(out)
    clock = time.perf_counter()
    pool = Pool(workers)  # the workers start while the folder and the study are prepared
    try:
        study = _open_shared(spec, storage) if storage is not None else None  # before anything is written
        resumed = prepare_folder(out, spec, force, local_db=storage is None)
        with outputs.study_lock(out, LOCK, "optimise"):
            url = storage or f"sqlite:///{(out / DB).resolve()}"
            if study is None:
                study = st.open_study(spec, url, shared=False)
            seeds = search_seeds(spec)
            searching = time.perf_counter()
            counts = _search(spec, study, pool, seeds, storage is not None, progress)
            counts["search_seconds"] = time.perf_counter() - searching
            counts["search_simulation_seconds"] = pool.seconds
            counts["search_runs"] = pool.runs
            result = _confirm(spec, study, pool, out, progress)
            result.manifest.update(_manifest(spec, study, url, seeds, counts, resumed, pool, time.perf_counter() - clock))
            write_outputs(result)
            return result
    finally:
        pool.close()


class StorageUnavailable(Exception):
    """The ``--storage`` database cannot be opened (no driver, unreachable, refused): one line, password hidden."""


def _open_shared(spec: OptimiseSpec, url: str):
    from . import study as st

    try:
        return st.open_study(spec, url, shared=True)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # noqa: BLE001  (a driver's or database's own error, said in one line)
        reason = " ".join(str(err).split())[:200].replace(url, redact(url))
        raise StorageUnavailable(f"--storage {redact(url)}: cannot open the database: {reason}") from None


def search_seeds(spec: OptimiseSpec) -> list[int]:
    """The seeds every trial runs (common random numbers)."""
    from ..compare import replication_seeds

    return replication_seeds(spec.search.seed, spec.search.replications)


def verify_seeds(spec: OptimiseSpec) -> list[int]:
    """Fresh seeds for the confirmation: replications after the search's of the same seed."""
    from ..compare import replication_seeds

    r = spec.search.replications
    return replication_seeds(spec.search.seed, r + spec.verify.replications)[r:]


def _bar(progress: bool, total: int, initial: int, desc: str, unit: str):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True, leave=True)


def _search(spec: OptimiseSpec, study, pool, seeds: list[int], shared: bool, progress: bool) -> dict:
    from optuna.trial import TrialState

    from . import study as st

    complete = sum(1 for _, t in st.logical_trials(study) if t.state in (TrialState.COMPLETE, TrialState.FAIL))
    bar = _bar(progress, spec.search.trials, min(complete, spec.search.trials), "search", "trial")
    try:
        return st.run_search(
            spec,
            study,
            pool,
            lambda params: scenario_for(spec, params),
            seeds,
            shared,
            progress=bar.update if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()


def trials_table(spec: OptimiseSpec, study):
    """``trials.parquet``: one row per trial (its index ``trial``, Optuna's ``number``, ``state``,
    whether it was run again after a kill), each parameter by its dotted key (budget levers: their money
    per period; their doses too), each metric's mean over the search replications, ``feasible`` and the
    largest constraint ``violation`` (<= 0 inside every bound)."""
    import pandas as pd

    from ..metrics import METRICS
    from . import study as st

    rows = []
    params = [p.key for p in spec.parameters]
    for index, trial in st.logical_trials(study):
        outcome = st.stored(trial)
        row = {"trial": index, "number": trial.number, "state": trial.state.name, "rerun": st.RETRY_OF in trial.user_attrs}
        row.update({k: trial.params.get(k) for k in params})
        if outcome is not None:
            row.update(outcome.derived)
            row.update({m: outcome.metrics.get(m, math.nan) for m in METRICS})
            violation = max(outcome.violations) if outcome.violations else -math.inf
            row["violation"] = violation if math.isfinite(violation) else (0.0 if not spec.constraints else violation)
            row["feasible"] = outcome.failure is None and (not spec.constraints or violation <= 0)
            row["failure"] = outcome.failure
        rows.append(row)
    frame = pd.DataFrame(rows)
    for m in METRICS:
        if m not in frame:
            frame[m] = math.nan
    for col, default in (("feasible", False), ("violation", math.nan), ("failure", None)):
        if col not in frame:
            frame[col] = default
    frame["feasible"] = frame["feasible"].fillna(False).astype(bool)
    if not spec.constraints:
        frame["violation"] = frame["violation"].where(frame["state"] != "COMPLETE", 0.0)
    return frame


def _confirm(spec: OptimiseSpec, study, pool, out: Path, progress: bool) -> StudyResult:
    from ..metrics import METRICS
    from . import study as st
    from . import verify as vf

    trials = trials_table(spec, study)
    chosen = vf.pick(spec, trials)
    seeds = verify_seeds(spec)
    by_index = dict(st.logical_trials(study))
    candidates = [vf.Candidate(vf.BASE, None, {}, base_scenario(spec), {})]
    for i in chosen:
        data, derived = scenario_for(spec, by_index[i].params)
        candidates.append(vf.Candidate(vf.strategy_name(i), i, dict(by_index[i].params), data, derived))
    bar = _bar(progress, len(candidates) * len(seeds), 0, "confirm", "run")
    try:
        runs = vf.run_all(study, pool, [(c.scenario, seeds) for c in candidates], progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    for c, reps in zip(candidates, runs):
        c.replications = reps
    verification = vf.table(candidates, list(METRICS))
    recommendation = vf.recommend(spec, candidates)
    slices = _slices(spec, study, pool, recommendation, progress)
    importances = _importances(spec, study)
    best = best_toml(spec, recommendation, out) if recommendation.best is not None else None
    return StudyResult(spec, trials, verification, recommendation, candidates, slices, importances, best, {}, out)


def _slices(spec: OptimiseSpec, study, pool, recommendation, progress: bool) -> list[dict]:
    """One-parameter slices through the recommended point on the search seeds: for each parameter (and
    each budget lever's share, the others keeping their proportions), ``verify.slices`` values with the
    rest held at the recommendation; each point's per-replication metrics."""
    from . import verify as vf

    best = recommendation.best
    if best is None or spec.verify.slices == 0:
        return []
    seeds = search_seeds(spec)
    points = []
    for p in spec.parameters:
        values = p.grid(spec.verify.slices)
        if p.kind != "choice" and best.params[p.key] not in values:
            values = sorted([*values, best.params[p.key]])  # the slice passes through the recommendation
        for value in values:
            points.append({"parameter": p.key, "value": value, "params": {**best.params, p.key: value}})
    if spec.budget is not None and spec.budget.keys:
        keys = spec.budget.keys
        for key in keys:
            rest = sum(best.params[k] for k in keys if k != key)
            total = sum(best.params[k] for k in keys)
            own = best.params[key] / total if total > 0 else 1 / len(keys)
            for share in sorted({i / (spec.verify.slices - 1) for i in range(spec.verify.slices)} | {own}):
                weights = {
                    k: (share if k == key else (1 - share) * (best.params[k] / rest if rest > 0 else 1 / (len(keys) - 1)))
                    for k in keys
                }
                points.append({"parameter": key, "value": share, "params": {**best.params, **weights}})
    jobs, kept = [], []
    for point in points:
        try:
            data, _ = scenario_for(spec, point["params"])
        except ValueError:
            continue
        jobs.append((data, seeds))
        kept.append(point)
    bar = _bar(progress, len(jobs) * len(seeds), 0, "slices", "run")
    try:
        runs = vf.run_all(study, pool, jobs, progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    for point, reps in zip(kept, runs):
        point["replications"] = reps
    return kept


def _importances(spec: OptimiseSpec, study) -> dict[str, dict[str, float]]:
    """PED-ANOVA importances of the searched parameters for each objective: how much each one matters
    for reaching the best fifth of the trials (deterministic); empty when fewer than five trials
    completed or nothing varies."""
    import optuna
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 5:
        return {}
    out = {}
    for i, (metric, direction) in enumerate(zip(spec.objective.metrics, spec.objective.directions)):
        sign = -1.0 if direction == "maximize" else 1.0  # PED-ANOVA looks at the lowest values
        try:
            evaluator = optuna.importance.PedAnovaImportanceEvaluator(target_quantile=IMPORTANCE_QUANTILE)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its reminder that it looks at low values: the sign handles that
                out[metric] = {
                    k: float(v)
                    for k, v in optuna.importance.get_param_importances(
                        study, evaluator=evaluator, target=lambda t, i=i, sign=sign: sign * t.values[i]
                    ).items()
                }
        except (RuntimeError, ValueError, ZeroDivisionError, ImportError):
            continue
    return {m: v for m, v in out.items() if v}


# ------------------------------------------------------------------------------------------ best.toml
def _toml(value: Any) -> str:
    """A value in TOML (inline tables for tables; None values are left out by the caller)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "nan"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def best_toml(spec: OptimiseSpec, recommendation, out: Path) -> str:
    """``best.toml``: a scenario that extends the base and sets the file's fixed overrides and the
    recommended values (as ``[set]`` dotted keys; when levers are switched off, the whole ``measures``
    list, which replaces the base's). ``run`` and ``compare`` take it as it is."""
    best = recommendation.best
    base = spec.base_ref
    if Path(base).is_absolute():
        try:
            base = os.path.relpath(base, out.resolve())
        except ValueError:
            pass
    values = {p.key: best.params[p.key] for p in spec.parameters if p.lever is None}
    if spec.budget is not None:
        values.update(spec.budget.settings(spec.budget.split(best.params))[0])
    removed = any(p.lever is not None and not best.params[p.key] for p in spec.parameters) or len(
        best.scenario["measures"]
    ) != len(spec.base.measures)
    sets = {**spec.overrides, **values}
    lines = [
        f"# The strategy `retention-sim optimise {Path(spec.path).name}` recommends ({best.name}); "
        "the evidence is in report.html.",
        f"extends = {_toml(base)}",
        f"name = {_toml(spec.base.name + '-optimised')}",
    ]
    if removed:
        sets = {k: v for k, v in sets.items() if not k.startswith("measures.")}
        lines.append("# some levers are switched off, so the measures are listed in full (they replace the base's)")
        lines.append(f"measures = {_toml(best.scenario['measures'])}")
    if spec.budget is not None:
        money = spec.budget.split(best.params)
        lines.append("# budget per period: " + ", ".join(f"{name} {m:,.2f}" for name, m in money.items()))
    if sets:
        lines.append("[set]")
        lines += [f"{json.dumps(k)} = {_toml(v)}" for k, v in sets.items()]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ outputs
def _manifest(spec, study, url, seeds, counts, resumed, pool, seconds) -> dict:
    import numba
    import numpy as np
    import optuna
    import pandas as pd
    from optuna.trial import TrialState

    from ..scenario import scenario_hash
    from . import study as st

    trials = st.logical_trials(study)
    return {
        "package": "retention-sim",
        "version": __version__,
        "command": "optimise",
        "file": str(spec.path),
        "digest": spec.digest(),
        "seed": spec.search.seed,
        "method": spec.method,
        "batch": spec.search.batch,
        "objective": dict(zip(spec.objective.metrics, spec.objective.directions)),
        "constraints": [c.model_dump() for c in spec.constraints],
        "parameters": [
            {"key": p.key, "kind": p.kind, "low": p.low, "high": p.high, "log": p.log, "choices": list(p.choices)}
            for p in spec.parameters
        ],
        "budget": None
        if spec.budget is None
        else {
            "per_period": spec.budget.per_period,
            "levers": [
                {
                    "name": lv.name,
                    "measure": lv.index,
                    "dose": lv.dose,
                    "reference_dose": lv.d0,
                    "fixed_per_period": lv.fixed,
                    "variable_per_period_at_reference": lv.variable,
                }
                for lv in spec.budget.levers
            ],
        },
        "base": {
            "ref": spec.base_ref,
            "overrides": spec.overrides,
            "scenario_hash": scenario_hash(spec.base),
            "scenario": spec.base.model_dump(mode="json"),
        },
        "search": {"trials": spec.search.trials, "replications": spec.search.replications, "seeds": seeds},
        "verify": {
            "top": spec.verify.top,
            "replications": spec.verify.replications,
            "seeds": verify_seeds(spec),
            "slice_points": spec.verify.slices,
        },
        "trials": {
            "complete": sum(t.state == TrialState.COMPLETE for _, t in trials),
            "failed": sum(t.state == TrialState.FAIL for _, t in trials),
            "rerun_after_a_kill": sum(st.RETRY_OF in t.user_attrs for _, t in trials),
            "run_by_this_command": counts["ran"],
        },
        "resumed": resumed,
        "storage": redact(url),
        "workers": pool.workers,
        "seconds": {
            "total": round(seconds, 3),
            "simulation_in_this_command": round(pool.seconds, 3),
            "search": round(counts["search_seconds"], 3),
            "search_simulation": round(counts["search_simulation_seconds"], 3),
        },
        "runs_by_this_command": {
            "search": counts["search_runs"],
            "confirmation_and_slices": pool.runs - counts["search_runs"],
            "budget_pilots": 0 if spec.budget is None else len(spec.budget.levers) + 1,
        },
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "pandas": pd.__version__,
        "optuna": optuna.__version__,
        "platform": sys.platform,
    }


def write_outputs(result: StudyResult) -> None:
    """Write the outputs into the study folder, each file atomically; the marker lists them first."""
    from .report import render

    out = result.out
    files = ["trials.parquet", "verification.csv", "report.html", "manifest.json"] + (["best.toml"] if result.best_toml else [])
    shared = not (out / DB).exists()
    outputs.write_study_marker(out, "optimise", result.spec.digest(), files + ([] if shared else [DB, *DB_LOG]) + [LOCK])
    rec = result.recommendation
    result.manifest["recommendation"] = (
        None
        if rec.best is None
        else {
            "strategy": rec.best.name,
            "trial": rec.best.trial,
            "params": rec.best.params,
            "derived": rec.best.derived,
            "cannot_be_told_apart_from": [c.name for c in rec.ties],
            "note": rec.note,
        }
    )
    outputs.write_atomically(out / "trials.parquet", lambda p: result.trials.to_parquet(p, index=False))
    outputs.write_atomically(out / "verification.csv", lambda p: result.verification.to_csv(p, index=False))
    if result.best_toml:
        outputs.write_atomically(out / "best.toml", lambda p: p.write_text(result.best_toml, encoding="utf-8"))
    elif (out / "best.toml").exists():
        (out / "best.toml").unlink()
    outputs.write_atomically(
        out / "manifest.json", lambda p: p.write_text(json.dumps(result.manifest, indent=2, sort_keys=True, default=str) + "\n")
    )
    outputs.write_atomically(out / "report.html", lambda p: p.write_text(render(result), encoding="utf-8"))
    result.files = files
