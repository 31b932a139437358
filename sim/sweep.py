"""Parameter sweeps with sensitivity analysis, on local processes or a Dask cluster.

A sweep file names a base scenario, fixed overrides, parameters with ranges (dotted keys), a design
(``grid``, ``lhs``, ``sobol`` or ``morris``; the last three from SALib), the number of samples,
replications and metrics::

    base = "telecom"
    design = "lhs"            # grid | lhs | sobol | morris
    samples = 8               # design points (sobol: base sample size N; morris: trajectories; grid: levels)
    replications = 2
    seed = 1
    metrics = ["retention_12", "profit"]
    [set]                     # fixed overrides for every run
    "simulation.customers" = 2000
    [parameters]              # dotted key = [low, high]
    "firms.0.price" = [27.0, 33.0]

Run r of every design point uses the same seed (common random numbers across the design, which
sharpens sensitivity estimates). Each design point's replications run as one batched population
(one by one with word of mouth) on one worker, single-threaded. Results go to ``runs.parquet`` as runs finish (one row per run:
``run_id, point, replication, seed``, one column per parameter, one per metric); the file is
replaced atomically, so a sweep killed at any moment keeps every run already stored, and running the
same command again skips them: every run ends up exactly once, and the results do not depend on
the number of workers or where they ran. Sobol (S1, ST) or Morris (mu*, sigma) indices with 95 %
confidence intervals go to ``indices.csv`` and a plot.

Cluster use (the same code path as local workers)::

    dask scheduler &                       # prints the scheduler's address, e.g. tcp://10.0.0.5:8786
    dask worker tcp://10.0.0.5:8786 --nworkers 4 --nthreads 1 &   # on every machine
    retention-sim sweep my_sweep.toml --scheduler tcp://10.0.0.5:8786
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import signal
import threading
import time
import tomllib
from collections import deque
from queue import SimpleQueue
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from . import __version__, outputs
from ._schema import Pair, Section
from .metrics import METRICS

DESIGNS = ("grid", "lhs", "sobol", "morris")
MORRIS_LEVELS = 4
RUNS = "runs.parquet"
SPEC = "sweep.json"
WRITE_EVERY = 1.0  # seconds between rewrites of runs.parquet while runs finish


class SweepSpec(Section):
    """A sweep: what varies, how it is sampled, and what is measured."""

    base: str = Field(..., min_length=1, description="Base scenario: a shipped name or a file path relative to the sweep file.")
    design: Literal["grid", "lhs", "sobol", "morris"] = Field("lhs", description="How the parameter space is sampled.")
    samples: int = Field(8, ge=1, le=1_000_000, description="Design points (lhs), base sample size N (sobol), trajectories (morris) or levels per parameter (grid).")
    replications: int = Field(1, ge=1, le=10_000, description="Runs per design point, on common seeds.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the design and of the replications' seeds.")
    metrics: list[str] = Field(default_factory=lambda: list(METRICS), min_length=1, description="Metrics recorded for every run.")
    second_order: bool = Field(False, description="Sobol only: also estimate second-order indices.")
    set: dict[str, Any] = Field(default_factory=dict, description="Fixed dotted-key overrides for every run.")
    parameters: dict[str, Pair] = Field(..., min_length=1, description="Dotted key = [low, high].")

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r} (metrics: {', '.join(METRICS)})")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> "SweepSpec":
        for key, (low, high) in self.parameters.items():
            if not low < high:
                raise ValueError(f"parameters.{key}: low must be below high (got [{low:g}, {high:g}])")
        return self

    def problem(self) -> dict:
        """The SALib problem definition."""
        return {"num_vars": len(self.parameters), "names": list(self.parameters), "bounds": [list(b) for b in self.parameters.values()]}

    def digest(self) -> str:
        """A hash of everything that determines the sweep's runs."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


class SweepError(ValueError):
    """A sweep file or its parameters cannot be used: one line naming the file, the key and the reason."""


def design_points(spec: SweepSpec) -> np.ndarray:
    """The design: one row per point, one column per parameter (in the order of ``spec.parameters``)."""
    problem = spec.problem()
    if spec.design == "grid":
        axes = [np.linspace(lo, hi, spec.samples) for lo, hi in problem["bounds"]]
        return np.array(list(itertools.product(*axes)), dtype=float)
    if spec.design == "lhs":
        from SALib.sample import latin

        return latin.sample(problem, spec.samples, seed=spec.seed)
    if spec.design == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, spec.samples, calc_second_order=spec.second_order, scramble=True, seed=spec.seed)
    from SALib.sample import morris

    return morris.sample(problem, spec.samples, num_levels=MORRIS_LEVELS, seed=spec.seed)


# ---------------------------------------------------------------------------------- evaluation
def simulate_point(task: dict) -> list[dict]:
    """Run one design point: its replications as one batched population where they can share one
    (:func:`~sim.engine.replication_batches`), single-threaded. Returns one dict of metrics per
    replication."""
    from .engine import Engine, replication_batches
    from .metrics import engine_metrics
    from .scenario import load

    scenario = load(task["base"], task["values"])
    out = []
    for batch in replication_batches(scenario, task["seeds"]):
        engine = Engine(scenario, batch, threads=1)
        engine.run()
        table = engine_metrics(engine)
        out += [{m: float(table[m].iloc[r]) for m in task["metrics"]} for r in range(len(batch))]
    return out


def ignore_interrupts() -> None:
    """In a local worker process (and the server that forks them): a Ctrl-C, which a terminal sends
    to the whole process group, is the command's to handle; it stops its workers itself (see
    :func:`_local`), so a worker neither dies with a traceback nor stops half-way through a task.
    The handler is set first and the signal unblocked after, so that a Ctrl-C that arrived while the
    process started (it starts with SIGINT blocked, see :func:`_interrupts_blocked`) is dropped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _mask(signal.SIG_UNBLOCK)


def _mask(how: int) -> None:
    if hasattr(signal, "pthread_sigmask"):  # POSIX; elsewhere workers are spawned, without a group Ctrl-C
        signal.pthread_sigmask(how, {signal.SIGINT})


@contextlib.contextmanager
def _interrupts_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread while it starts worker processes: a new process inherits the
    blocked signal and so cannot be cut short by a Ctrl-C while Python starts and imports the engine
    (a traceback from a process the user never asked for); it ignores SIGINT and unblocks it once
    it can (:func:`ignore_interrupts`). In this thread a Ctrl-C that arrives meanwhile is held back,
    not lost: it takes effect when the block ends."""
    _mask(signal.SIG_BLOCK)
    try:
        yield
    finally:
        _mask(signal.SIG_UNBLOCK)


def _local_worker_init() -> None:
    ignore_interrupts()
    _worker_init()


def _stop_workers(pool) -> None:
    """End the worker processes now (the command was interrupted or failed): the results of their
    current tasks are not needed, a resumed sweep runs those points again. Python 3.14 has
    ``terminate_workers``; before it, the executor's own table of processes."""
    stop = getattr(pool, "terminate_workers", None)
    if stop is not None:
        stop()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def _worker_init() -> None:
    """Every worker runs single-threaded, and has the compiled engine loaded before its first task."""
    os.environ["RETENTION_SIM_THREADS"] = "1"
    os.environ["NUMBA_NUM_THREADS"] = "1"
    from .engine import _ensure_compiled

    _ensure_compiled()


def _ready() -> None:
    """An empty task: a worker process that returns it has started."""


def _run_task(evaluate: Callable, task: dict) -> tuple[int, list[dict]]:
    return task["point"], evaluate(task)


def _local(tasks: list[dict], evaluate: Callable, workers: int) -> Iterator[tuple[int, list[dict]]]:
    """Results as they come. With N workers this process is one of them, beside N - 1 worker
    processes: it works from the first second while they start (a thread waits for them). A
    worker holds one task at a time and is handed its next the moment it finishes one (from the
    pool's own thread), so it never waits for this process's task to end, and at the end no task
    sits queued behind a busy worker."""
    if workers <= 1:
        for task in tasks:
            yield _run_task(evaluate, task)
        return
    todo = deque(tasks)
    lock = threading.Lock()
    running: set = set()  # futures handed to a worker process
    finished: SimpleQueue = SimpleQueue()

    start_workers_early(workers)
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=_context(), initializer=_local_worker_init) as pool:
        def hand_out() -> None:
            with lock:
                if not todo:
                    return
                job = pool.submit(_run_task, evaluate, todo.popleft())
                running.add(job)
            job.add_done_callback(on_done)

        def on_done(job) -> None:
            if not job.cancelled():
                finished.put(job)  # before it leaves `running`: the loop below always sees it in one
            with lock:
                running.discard(job)
            if not job.cancelled():
                hand_out()

        def start_workers() -> None:
            # Starting a worker blocks until the server process has loaded the engine (about a second):
            # done here, off this process's own work, with empty tasks, so that handing out real ones
            # never waits under the lock. A pool that cannot start leaves every task to this process.
            # The worker processes are started from this thread, with SIGINT blocked in it for good.
            _mask(signal.SIG_BLOCK)
            try:
                for ready in [pool.submit(_ready) for _ in range(workers - 1)]:
                    ready.result()
                for _ in range(workers - 1):
                    hand_out()
            except Exception:  # noqa: BLE001  (shut down or broken: the loop below does the rest)
                return

        complete = False
        try:
            threading.Thread(target=start_workers, name="retention-sim-start-workers", daemon=True).start()
            while True:
                while not finished.empty():
                    yield finished.get().result()
                with lock:
                    task = todo.pop() if todo else None
                    busy = bool(running)
                if task is not None:
                    yield _run_task(evaluate, task)
                elif busy or not finished.empty():
                    yield finished.get().result()
                else:
                    break
            complete = True
        finally:
            with lock:
                todo.clear()
                unstarted = list(running)
            for job in unstarted:
                job.cancel()
            if not complete:
                _stop_workers(pool)


def _context():
    """Worker processes start from a server process that has already imported the engine (forkserver,
    where the platform has it), so a worker is ready in a fraction of a second instead of importing
    numpy, pandas, numba and the compiled rules anew; never plain fork, which would copy the parent's
    threads' state."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["sim.sweep_worker"])
        return ctx
    return multiprocessing.get_context("spawn")


def start_workers_early(workers: int) -> None:
    """Start the server process that forks local workers now (``workers`` >= 2, forkserver only), so
    that it loads the engine while this process does the same, on another core, rather than after.
    The command calls it as soon as the sweep file is read, and :func:`_local` before it starts its
    pool (then it only checks that the server runs). The server starts with SIGINT blocked."""
    if workers >= 2 and _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver, resource_tracker

        resource_tracker.ensure_running()  # first: it unblocks SIGINT after starting its own process
        with _interrupts_blocked():
            forkserver.ensure_running()


def _dask(tasks: list[dict], evaluate: Callable, scheduler) -> Iterator[tuple[int, list[dict]]]:
    from dask.distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        client.run(_worker_init)
        futures = [client.submit(_run_task, evaluate, task, pure=False) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
    finally:
        if client is not scheduler:
            client.close()


# ---------------------------------------------------------------------------------- the sweep
def _runs_frame(spec: SweepSpec, points: np.ndarray, seeds: list[int], results: dict[int, list[dict]]):
    import pandas as pd

    names = list(spec.parameters)
    R = spec.replications
    rows = []
    for point in sorted(results):
        for r, metrics in enumerate(results[point]):
            rows.append({"run_id": point * R + r, "point": point, "replication": r, "seed": seeds[r],
                         **{k: float(points[point, j]) for j, k in enumerate(names)}, **metrics})
    columns = ["run_id", "point", "replication", "seed", *names, *spec.metrics]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"run_id": "int64", "point": "int64", "replication": "int64", "seed": "int64"})


def _write_atomic(frame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _read_done(path: Path, spec: SweepSpec) -> dict[int, list[dict]]:
    """Design points already complete in an earlier, interrupted run of the same sweep."""
    import pandas as pd

    if not path.is_file():
        return {}
    frame = pd.read_parquet(path)
    done = {}
    for point, g in frame.groupby("point"):
        if len(g) == spec.replications:
            g = g.sort_values("replication")
            done[int(point)] = [{m: float(v) for m, v in zip(spec.metrics, row)} for row in g[spec.metrics].to_numpy()]
    return done


def _prepare_folder(out: Path, spec: SweepSpec, force: bool) -> None:
    """Make ``out`` ready: new or empty, or an interrupted run of this very sweep (resumed), or (with
    ``force``) an earlier retention-sim output to replace. Anything else is refused."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    outputs.clean_stale(out.parent)
    if out.is_dir():
        for leftover in out.glob(f".{RUNS}.*.tmp"):
            leftover.unlink(missing_ok=True)  # a rewrite of ours cut short by a kill
        marker = outputs._read_marker(out)
        if marker is not None and marker.get("sweep") == spec.digest():
            return  # resume
        entries = [e for e in out.iterdir()]
        if entries:
            try:
                outputs._inspect(out, force)
            except outputs.OutputRefused as err:
                if marker is not None and marker.get("sweep"):
                    raise outputs.OutputRefused(out, "holds a different sweep (its file changed); add --force to replace it, "
                                                     "or choose another folder (nothing was touched)") from None
                raise err
            for name in marker.get("files", []):
                target = out / name
                if target.is_file():
                    target.unlink()
            for sub in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
                if not any(sub.iterdir()):
                    sub.rmdir()
    out.mkdir(exist_ok=True)
    probe = out / f".{RUNS}.{os.getpid()}.probe"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise outputs.OutputUnwritable(out, f"cannot write here: {err.strerror or err}") from None
    _write_marker(out, spec, [SPEC, RUNS])
    (out / SPEC).write_text(json.dumps({"sweep": spec.model_dump(mode="json"), "digest": spec.digest()}, indent=2) + "\n")


def _write_marker(out: Path, spec: SweepSpec, files: list[str]) -> None:
    data = {"written_by": outputs.WRITTEN_BY, "version": __version__, "files": sorted(files), "sweep": spec.digest()}
    tmp = out / f"{outputs.MARKER}.tmp"
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, out / outputs.MARKER)


def run_sweep(spec: SweepSpec, out: str | Path, base: Any = None, workers: int = 1, scheduler=None, force: bool = False,
              evaluate: Callable[[dict], list[dict]] = simulate_point, progress: bool = False) -> "SweepResult":
    """Run (or resume) a sweep into ``out``; see the module docstring. ``base`` is the loaded base
    scenario (a Scenario or dict); ``evaluate`` maps a task (``values``, ``seeds``, ``metrics``, ...) to
    one dict of metrics per replication — the simulation by default, a test function for checks.
    ``base`` already carries the sweep's fixed overrides (see :func:`load_spec`)."""
    from .compare import replication_seeds

    out = Path(out)
    points = design_points(spec)
    seeds = replication_seeds(spec.seed, spec.replications)
    _prepare_folder(out, spec, force)
    results = _read_done(out / RUNS, spec)
    base_data = base.model_dump(mode="json") if hasattr(base, "model_dump") else (base if base is not None else spec.base)
    names = list(spec.parameters)
    tasks = [{"point": p, "base": base_data, "seeds": seeds, "metrics": list(spec.metrics),
              "values": {k: _typed(k, points[p, j], base_data) for j, k in enumerate(names)}}
             for p in range(len(points)) if p not in results]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(points) * spec.replications, initial=len(results) * spec.replications, unit="run", desc="sweep")
    stream = _dask(tasks, evaluate, scheduler) if scheduler is not None else _local(tasks, evaluate, workers)
    last = 0.0
    try:
        for point, metrics in stream:
            results[point] = metrics
            if bar is not None:
                bar.update(spec.replications)
            if time.monotonic() - last >= WRITE_EVERY:
                _write_atomic(_runs_frame(spec, points, seeds, results), out / RUNS)
                last = time.monotonic()
    finally:
        stream.close()  # stops the workers at once if the loop was left early (a Ctrl-C)
        if results:
            _write_atomic(_runs_frame(spec, points, seeds, results), out / RUNS)
        if bar is not None:
            bar.close()
    result = SweepResult(spec, points, _runs_frame(spec, points, seeds, results))
    files = result.write_analysis(out)
    _write_marker(out, spec, [SPEC, RUNS, *files])
    return result


_INTEGER_KEYS: dict[str, bool] = {}


def _typed(key: str, value: float, base: Any) -> Any:
    """A design value for ``key``: rounded to a whole number where the schema wants one."""
    if key not in _INTEGER_KEYS:
        from .scenario import _parse_key, _walk

        kind = _walk(_parse_key(key))[1]
        _INTEGER_KEYS[key] = kind is int
    return int(round(float(value))) if _INTEGER_KEYS[key] else float(value)


class SweepResult:
    """A finished sweep: the design, one row per run, and the sensitivity indices."""

    def __init__(self, spec: SweepSpec, points: np.ndarray, runs):
        self.spec, self.points, self.runs = spec, points, runs

    def point_means(self, metric: str) -> np.ndarray:
        """The metric averaged over replications, one value per design point (design order)."""
        return self.runs.groupby("point")[metric].mean().reindex(range(len(self.points))).to_numpy(float)

    def indices(self):
        """Sobol (S1, ST[, S2]) or Morris (mu_star, sigma) indices per metric with 95 % intervals, as a
        DataFrame (empty for grid and lhs designs, or a metric undefined at some point)."""
        import pandas as pd

        spec, names, rows = self.spec, list(self.spec.parameters), []
        if spec.design not in ("sobol", "morris"):
            return pd.DataFrame(columns=["metric", "parameter", "index", "value", "ci_low", "ci_high"])
        for metric in spec.metrics:
            y = self.point_means(metric)
            if not np.isfinite(y).all() or np.ptp(y) == 0:
                continue
            if spec.design == "sobol":
                from SALib.analyze import sobol

                res = sobol.analyze(spec.problem(), y, calc_second_order=spec.second_order, conf_level=0.95, seed=spec.seed)
                pairs = (("S1", "S1_conf"), ("ST", "ST_conf"))
            else:
                from SALib.analyze import morris

                res = morris.analyze(spec.problem(), self.points, y, conf_level=0.95, num_levels=MORRIS_LEVELS, seed=spec.seed)
                pairs = (("mu_star", "mu_star_conf"), ("sigma", None))
            for key, conf in pairs:
                for j, name in enumerate(names):
                    v = float(res[key][j])
                    c = float(res[conf][j]) if conf else math.nan
                    rows.append({"metric": metric, "parameter": name, "index": key, "value": v, "ci_low": v - c, "ci_high": v + c})
        return pd.DataFrame(rows, columns=["metric", "parameter", "index", "value", "ci_low", "ci_high"])

    def write_analysis(self, out: Path) -> list[str]:
        """``indices.csv`` and ``indices.png`` (Sobol or Morris designs); returns the files written."""
        table = self.indices()
        if table.empty:
            return []
        table.to_csv(out / "indices.csv", index=False)
        _plot_indices(table, self.spec).savefig(out / "indices.png", metadata={"Software": None})
        return ["indices.csv", "indices.png"]


def _plot_indices(table, spec: SweepSpec):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import DPI, FIRM_PALETTE, STYLE, WIDTH

    metrics = list(dict.fromkeys(table["metric"]))
    kinds = list(dict.fromkeys(table["index"]))
    names = list(spec.parameters)
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(WIDTH, round((2.2 + 0.5 * len(names)) * len(metrics) * DPI) / DPI), dpi=DPI, layout="constrained")
        axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
        for ax, metric in zip(axes, metrics):
            sub = table[table["metric"] == metric]
            y = np.arange(len(names))
            h = 0.8 / len(kinds)
            for k, kind in enumerate(kinds):
                rows = sub[sub["index"] == kind].set_index("parameter").reindex(names)
                err = (rows["value"] - rows["ci_low"]).to_numpy(float)
                ax.barh(y + (k - (len(kinds) - 1) / 2) * h, rows["value"], height=h * 0.95, color=FIRM_PALETTE[k],
                        xerr=np.where(np.isfinite(err), err, 0), capsize=3, label=kind)
            ax.set_yticks(y, names)
            ax.invert_yaxis()
            ax.set_title(f"{metric}", loc="left")
            ax.axvline(0, color="#333333", linewidth=0.8)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        label = "Sobol indices: S1 = first-order share of variance, ST = total (with interactions)" if spec.design == "sobol" else \
            "Morris screening: mu* = mean absolute elementary effect, sigma = its spread (non-linearity, interactions)"
        fig.suptitle(f"Sensitivity ({spec.design}, 95 % intervals): {label}", x=0.005, ha="left", fontsize=12)
    return fig


def load_spec(path: str | Path) -> tuple[SweepSpec, Any]:
    """Read and check a sweep file: the spec and the loaded base scenario (with the fixed overrides
    and every parameter at its low and high end validated, so a typo stops the sweep before any run).
    Problems raise :class:`SweepError` (one line: file, key, reason) or ``ScenarioError``."""
    from .scenario import ScenarioError, _read, load, resolve_path, resolve_variant

    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise SweepError(f"{path}: is a folder, not a sweep file") from None
    except OSError as err:
        raise SweepError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SweepError(f"{path}: not a valid TOML text file: {err}") from None
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        raise SweepError(f"{path}: {key}: {msg}" + (f" (got {e['input']!r})" if e["type"] not in ("missing", "value_error") and not isinstance(e.get("input"), (dict, list)) else "")) from None
    base_file = path.parent / spec.base
    base_path = base_file if base_file.is_file() else resolve_path(spec.base)
    base_data = resolve_variant(_read(base_path), str(base_path), base_path.parent, (str(base_path.resolve()),))
    labels = {k: f"{path}: set.{k}" for k in spec.set}
    base = load(base_data, dict(spec.set), override_labels=labels)
    for key, (low, high) in spec.parameters.items():
        for value in (low, high):
            try:
                load(base, {key: _typed(key, value, None)}, override_labels={key: f"{path}: parameters.{key}"})
            except ScenarioError as err:
                raise err from None
            except (ValueError, KeyError):
                raise SweepError(f"{path}: parameters.{key}: not a key of the scenario") from None
    return spec, base

