"""The search: an Optuna study in a database, asked and told by this process, its trials run by the
workers.

Rules:

* **Common random numbers.** Every trial runs the same replication seeds
  (:func:`sim.compare.replication_seeds` of the study's seed), so trials differ only by their
  parameters and are compared customer by customer.
* **One seed, any number of workers.** At most ``batch`` trials are in flight: trial k is asked as
  soon as trial k - batch has been told, results are told in trial order, and the sampler of trial k
  is seeded from (seed, k). So what each trial is asked depends on the seed and the results alone,
  never on how many workers ran them or in what order they finished.
* **Each trial once.** A result that finishes before an earlier trial's is stored with its trial at
  once (user attribute ``result``) and told in its turn. A trial left RUNNING by a killed process is
  stale: in the study folder's own SQLite database (which one command at a time holds, by a lock) every
  RUNNING trial found at the start is stale; in a shared ``--storage`` database a trial is stale when
  its heartbeat stops. A stale trial with a stored result is told; one without is marked FAIL and
  run again once, as a new trial with the same parameters (user attribute ``retry_of``: the number of
  the trial it stands for). A trial's index in the outputs (``trial``) is the rank of the trial it
  stands for among the study's original trials, so every trial appears exactly once.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .spec import OptimiseSpec

HEARTBEAT_SECONDS = 10  # a trial in a shared database records that it is alive this often
GRACE_SECONDS = 60  # and counts as stale (its process dead) after this long without a heartbeat
RETRY_OF = "retry_of"
RESULT = "result"


def quiet_optuna() -> None:
    """Optuna logs every trial and warns about experimental options; the command shows its own progress."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", module=r"optuna(\.|$)")
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")


def sub_seed(seed: int, k: int) -> int:
    """The seed of trial k's sampler: 32 bits derived from (seed, k) by numpy's SeedSequence."""
    return int(np.random.SeedSequence([int(seed), 1, int(k)]).generate_state(1, np.uint32)[0])


def make_sampler(spec: OptimiseSpec, k: int):
    """The sampler that asks trial k (see the module docstring): TPE (multivariate, its first
    ``max(2, min(10, trials // 3))`` trials at random), CMA-ES, NSGA-II (population ``search.population``,
    default trials / 5 within 4-50) or random, each seeded from (seed, k). Constraint values are set on
    each trial when it is told (:func:`_tell`); TPE and NSGA-II take them into account, CMA-ES and
    random search do not (the recommendation respects them whatever the sampler)."""
    import optuna

    seed = sub_seed(spec.search.seed, k)
    trials = spec.search.trials
    if spec.method == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=max(2, min(10, trials // 3)))
    if spec.method == "cmaes":
        return optuna.samplers.CmaEsSampler(
            seed=seed,
            popsize=spec.search.population,
            warn_independent_sampling=False,
            independent_sampler=optuna.samplers.RandomSampler(seed=seed),
        )
    if spec.method == "nsga2":
        population = spec.search.population or int(min(50, max(4, trials // 5)))
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=population)
    return optuna.samplers.RandomSampler(seed=seed)


def search_space(spec: OptimiseSpec) -> dict:
    """Optuna's distributions of the study: each parameter, and one weight (0 to 1) per budget lever."""
    from optuna.distributions import FloatDistribution

    space = {p.key: p.distribution() for p in spec.parameters}
    if spec.budget is not None:
        space.update({key: FloatDistribution(0.0, 1.0) for key in spec.budget.keys})
    return space


# ------------------------------------------------------------------------------------------ storage
def _retry(study, trial) -> None:
    """Run a stale trial again once: a new trial with its parameters, standing for the same original."""
    root = trial.user_attrs.get(RETRY_OF, trial.number)
    study.enqueue_trial(trial.params, user_attrs={RETRY_OF: root})


def open_study(spec: OptimiseSpec, url: str, shared: bool):
    """Create or load the study (named after the spec's digest) in the database at ``url``. A
    ``shared`` database gets heartbeats, so that the trials of a killed process are found stale."""
    import optuna

    quiet_optuna()
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    if shared:
        kwargs.update(heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS, heartbeat_stale_trial_callback=_retry)
    storage = optuna.storages.RDBStorage(url, **kwargs)
    if url.startswith("sqlite"):
        _fast_sqlite(storage.engine)
    study = optuna.create_study(
        storage=storage,
        study_name=f"retention-sim-optimise-{spec.digest()}",
        directions=spec.objective.directions,
        load_if_exists=True,
        sampler=make_sampler(spec, 0),
    )
    study.set_user_attr("digest", spec.digest())
    return study


def _fast_sqlite(engine) -> None:
    """SQLite in write-ahead-log mode, synchronised at checkpoints rather than at every commit: Optuna
    commits about a dozen times per trial, and an fsync each (about 9 ms here) made the database most of
    the optimiser's own time. A killed process loses nothing (its writes are in the log, which the next
    connection replays); a power cut may lose the last trials, never the database's consistency."""
    from sqlalchemy import event

    def pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(engine, "connect", pragmas)
    engine.dispose()  # connections opened before the listener are replaced


def recover(study, shared: bool) -> int:
    """Deal with the trials a killed process left RUNNING (see the module docstring); returns how many
    are run again. Those with a stored result stay RUNNING, to be told in their turn."""
    import optuna
    from optuna.trial import TrialState

    if shared:
        before = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
        optuna.storages.fail_stale_trials(study)
        return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,))) - before
    again = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if RESULT in trial.user_attrs:
            continue
        if study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            _retry(study, trial)
            again += 1
    return again


# ------------------------------------------------------------------------------------------ trials
@dataclass
class Evaluated:
    """A trial's outcome: metric means, per-replication values, objective values, constraint
    violations, budget money and derived settings, or why it failed."""

    metrics: dict[str, float] = field(default_factory=dict)
    replications: list[dict] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    violations: list[float] = field(default_factory=list)
    derived: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None

    def as_attr(self) -> dict:
        return {
            "metrics": self.metrics,
            "replications": self.replications,
            "values": self.values,
            "violations": self.violations,
            "derived": self.derived,
            "failure": self.failure,
        }


def summarise(spec: OptimiseSpec, replications: list[dict], derived: dict) -> Evaluated:
    """A trial's outcome from its replications' metrics: means (over the replications where a metric is
    defined), objective values, constraint violations; undefined objectives make it a failure."""
    names = list(replications[0]) if replications else []
    metrics = {}
    for m in names:
        x = np.array([r[m] for r in replications], dtype=float)
        x = x[np.isfinite(x)]
        metrics[m] = float(x.mean()) if x.size else math.nan
    values = [metrics.get(m, math.nan) for m in spec.objective.metrics]
    violations = [c.violation(metrics.get(c.metric, math.nan)) for c in spec.constraints]
    failure = None
    bad = [m for m, v in zip(spec.objective.metrics, values) if not math.isfinite(v)]
    if bad:
        failure = f"{bad[0]} is undefined for this strategy"
    return Evaluated(metrics, replications, values, violations, derived, failure)


def _nan_to_none(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    return x


def _none_to_nan(x):
    if x is None:
        return math.nan
    if isinstance(x, dict):
        return {k: _none_to_nan(v) if k != "failure" else v for k, v in x.items()}
    if isinstance(x, list):
        return [_none_to_nan(v) for v in x]
    return x


def stored(trial) -> Evaluated | None:
    """The outcome stored with a trial (None if it has none)."""
    data = trial.user_attrs.get(RESULT)
    if data is None:
        return None
    data = _none_to_nan({k: v for k, v in data.items()})
    return Evaluated(**data)


def _tell(study, trial, outcome: Evaluated) -> None:
    """Store a trial's outcome and tell it: complete with its objective values and constraint values
    (``constraint<i>`` = the violation of constraint i, <= 0 inside), or failed."""
    from optuna.trial import Trial, TrialState

    study._storage.set_trial_user_attr(trial._trial_id, RESULT, _nan_to_none(outcome.as_attr()))
    if outcome.failure is None:
        handle = trial if isinstance(trial, Trial) else Trial(study, trial._trial_id)
        for i, violation in enumerate(outcome.violations):
            handle.set_constraint(f"constraint{i}", violation)
        study.tell(trial.number, outcome.values, skip_if_finished=True)
    else:
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)


class _Heartbeat:
    """Records a heartbeat for every trial in flight, every HEARTBEAT_SECONDS (shared databases only)."""

    def __init__(self, study, inflight: dict):
        self.study, self.inflight = study, inflight
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="retention-sim-heartbeat", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(HEARTBEAT_SECONDS):
            for trial in list(self.inflight.values()):
                try:
                    self.study._storage.record_heartbeat(trial._trial_id)
                except Exception:  # noqa: BLE001  (a missed heartbeat only risks a duplicate run)
                    pass

    def close(self) -> None:
        self.stop.set()


def originals(study) -> list:
    """The study's original trials (not reruns), in number order."""
    return [t for t in study.get_trials(deepcopy=False) if RETRY_OF not in t.user_attrs]


def run_search(
    spec: OptimiseSpec,
    study,
    pool,
    scenario_for: Callable,
    seeds: list[int],
    shared: bool,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Ask, run and tell trials until the study holds ``search.trials`` original trials, each told once
    (see the module docstring). ``scenario_for(params)`` gives a trial's scenario (a dict) and its
    derived settings, or raises ValueError (the trial fails with that reason). Returns counts: trials
    run here and trials run again after a kill. In a shared database the count of original trials is
    read again before each new one, so machines that start together may exceed it by a batch each."""
    from optuna.trial import TrialState

    from ..metrics import METRICS

    space = search_space(spec)
    rerun = recover(study, shared)
    inflight: dict[int, Any] = {}  # trial number -> trial asked and not yet told, in ask order
    done: dict[int, Evaluated] = {}
    derived_of: dict[int, dict] = {}
    if not shared:  # stale trials whose result was stored: told first
        for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            done[frozen.number] = stored(frozen)
            inflight[frozen.number] = frozen
    asked = len(study.get_trials(deepcopy=False))
    left = spec.search.trials - len(originals(study))
    waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    heartbeat = _Heartbeat(study, inflight) if shared else None
    ran = 0
    try:
        while True:
            while len(inflight) < spec.search.batch and (waiting > 0 or left > 0):
                if shared and waiting == 0:
                    left = spec.search.trials - len(originals(study))
                    if left <= 0:
                        break
                study.sampler = make_sampler(spec, asked)
                trial = study.ask(space)
                asked += 1
                if RETRY_OF in trial.user_attrs:
                    waiting -= 1
                else:
                    left -= 1
                inflight[trial.number] = trial
                try:
                    data, derived_of[trial.number] = scenario_for(trial.params)
                except ValueError as err:
                    done[trial.number] = Evaluated(failure=" ".join(str(err).split())[:300])
                    continue
                pool.submit(trial.number, {"base": data, "values": {}, "seeds": seeds, "metrics": list(METRICS)})
            if not inflight:
                break
            first = next(iter(inflight))
            if first in done:  # told before anything else is asked: trial k is asked right after trial k - batch
                _tell(study, inflight.pop(first), done.pop(first))
                if progress is not None:
                    progress(1)
                continue
            number, result, error = pool.next()
            derived = derived_of.pop(number, {})
            outcome = Evaluated(derived=derived, failure=error) if error else summarise(spec, result["metrics"], derived)
            done[number] = outcome
            ran += 1
            if number != first:  # finished before an earlier trial: stored now, told in its turn
                study._storage.set_trial_user_attr(inflight[number]._trial_id, RESULT, _nan_to_none(outcome.as_attr()))
    finally:
        if heartbeat is not None:
            heartbeat.close()
    return {"ran": ran, "rerun": rerun}


def logical_trials(study) -> list[tuple[int, Any]]:
    """``(trial index, frozen trial)`` for every trial of the study, each once: the index is the rank of
    the original it stands for; a rerun replaces its stale original (see the module docstring)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    index = {t.number: i for i, t in enumerate(t for t in trials if RETRY_OF not in t.user_attrs)}
    best: dict[int, Any] = {}
    rank = {TrialState.COMPLETE: 0, TrialState.FAIL: 1, TrialState.RUNNING: 2, TrialState.WAITING: 3, TrialState.PRUNED: 1}
    for t in trials:
        i = index[t.user_attrs.get(RETRY_OF, t.number)]
        stale = t.state == TrialState.FAIL and RESULT not in t.user_attrs  # failed as stale: its rerun stands for it
        key = (rank.get(t.state, 4) + (5 if stale else 0), t.number)
        if i not in best or key < best[i][0]:
            best[i] = (key, t)
    return [(i, best[i][1]) for i in sorted(best)]
