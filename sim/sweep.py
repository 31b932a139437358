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

Rules:

* **Whole numbers.** A parameter the schema declares a whole number (:func:`sim.scenario.whole_number`:
  a horizon, a contract's term, a purchase cycle) is rounded to the nearest whole number (halves up)
  before it is simulated; ``runs.parquet``, ``points.csv`` and the Morris elementary effects use the
  values simulated, never the nominal design values.
* **Common seeds.** Run r of every design point uses the same seed (common random numbers across the
  design, which sharpens sensitivity estimates). Each design point's replications run as one batched
  population (one by one with word of mouth) on one worker, single-threaded.
* **Resumable, and only the same sweep.** Results go to ``runs.parquet`` as runs finish (one row per
  run: ``run_id, point, replication, seed``, one column per parameter, one per metric); the file is
  replaced atomically, so a sweep killed at any moment keeps every run already stored, and running the
  same command again skips them. A sweep resumes only what the same sweep wrote: its key covers the
  sweep file's settings, the fully resolved base scenario with the file's ``[set]`` applied (its
  content, wherever it came from: a shipped name, a file, the files it extends) and the package
  version. Anything else is refused with one line naming what changed (``--restart`` starts over).
  The stored runs are checked before they are resumed: the file's hash as written, and its design
  columns, replication indices, seeds and run ids; a damaged file is named, and ``--force`` starts over.
* **Outputs.** ``manifest.json`` (like a run's), ``points.csv`` (one row per design point: each metric's
  mean over the replications with its 95 % t-interval), ``best.csv`` (the best point for each metric,
  and how it compares with the runner-up on common seeds), ``noise.csv`` (the share of the variance that
  is replication noise), ``plots/response-<parameter>-<metric>.png``, and for Sobol (S1, ST) or Morris
  (mu*, sigma) designs ``indices.csv`` and ``indices.png``, with warnings (``warnings.txt``) where the
  design is too small for the indices to be trusted. The results do not depend on the number of
  workers or where they ran.
* **Worker processes die with the command**, however it ends (SIGKILL included): see
  :func:`sim.signals.die_with_parent`.

Cluster use (the same code path as local workers)::

    dask scheduler &                       # prints the scheduler's address, e.g. tcp://10.0.0.5:8786
    dask worker tcp://10.0.0.5:8786 --nworkers 4 --nthreads 1 &   # on every machine
    retention-sim sweep my_sweep.toml --scheduler tcp://10.0.0.5:8786
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import threading
import time
import tomllib
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from . import __version__, outputs, signals
from ._schema import Pair, Section
from .codes import DESCRIPTIVE_METRICS
from .metrics import METRICS

DESIGNS = ("grid", "lhs", "sobol", "morris")
MORRIS_LEVELS = 4
RUNS = "runs.parquet"
SPEC = "sweep.json"
MANIFEST = "manifest.json"
ANALYSIS = ("points.csv", "best.csv", "noise.csv", "indices.csv", "indices.png", "warnings.txt")
PLOTS = "plots"
_RESPONSE = re.compile(r"^plots/response-[A-Za-z0-9._-]+\.png$")
WRITE_EVERY = 1.0  # seconds between rewrites of runs.parquet while runs finish
MAX_POINTS = 1_000_000  # design points of one sweep
MAX_RUNS = 10_000_000  # design points x replications
# Which way is better, per metric (for the best point): retention, CLV, profit and customers up;
# churn, the share held only by barriers and the contract-expiry cliff down. A metric that only
# describes (why relationships ended: choice_share, ended_*) has no best point.
LOWER_IS_BETTER = ("churn_per_year", "attached_only_share", "cliff_ratio")
DESCRIPTIVE = DESCRIPTIVE_METRICS
BETTER = {m: ("lower" if m in LOWER_IS_BETTER else "higher") for m in METRICS if m not in DESCRIPTIVE}
SOBOL_PRECISION = 0.1  # widest acceptable 95 % half-width of a Sobol index (a share of variance)
MORRIS_TRAJECTORIES = 10  # fewest trajectories for a Morris screening (Campolongo et al. 2007 use 10-50)


class SweepSpec(Section):
    """A sweep: what varies, how it is sampled, and what is measured."""

    base: str = Field(
        ..., min_length=1, max_length=4096, description="Base scenario: a shipped name or a file path relative to the sweep file."
    )
    design: Literal["grid", "lhs", "sobol", "morris"] = Field("lhs", description="How the parameter space is sampled.")
    samples: int = Field(
        8,
        ge=1,
        le=MAX_POINTS,
        description="Design points (lhs), base sample size N (sobol), trajectories (morris) or levels per parameter (grid).",
    )
    replications: int = Field(1, ge=1, le=10_000, description="Runs per design point, on common seeds.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the design and of the replications' seeds.")
    metrics: list[str] = Field(default_factory=lambda: list(METRICS), min_length=1, description="Metrics recorded for every run.")
    second_order: bool = Field(False, description="Sobol only: also estimate second-order indices.")
    set: dict[str, Any] = Field(default_factory=dict, description="Fixed dotted-key overrides for every run.")
    firm: str | None = Field(
        None,
        max_length=200,
        description="Whose metrics are recorded: a firm's name (default the focal firm, the base's first); --firm sets it.",
    )
    parameters: dict[str, Pair] = Field(..., min_length=1, max_length=100, description="Dotted key = [low, high].")

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r} (metrics: {', '.join(METRICS)})")
        if len(set(value)) != len(value):
            raise ValueError("each metric may be named once")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> SweepSpec:
        for key, (low, high) in self.parameters.items():
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError(f"parameters.{key}: the bounds must be finite numbers (got [{low:g}, {high:g}])")
            if not low < high:
                raise ValueError(f"parameters.{key}: low must be below high (got [{low:g}, {high:g}])")
        points = self.n_points()
        if points > MAX_POINTS:
            raise ValueError(
                f"samples: the {self.design} design would have {points:,} points; a sweep has at most "
                f"{MAX_POINTS:,} (fewer samples or parameters)"
            )
        if points * self.replications > MAX_RUNS:
            raise ValueError(
                f"replications: {points:,} points x {self.replications:,} replications is "
                f"{points * self.replications:,} runs; a sweep has at most {MAX_RUNS:,}"
            )
        return self

    def n_points(self) -> int:
        """How many design points the design has."""
        d = len(self.parameters)
        if self.design == "grid":
            return self.samples**d if d * math.log10(max(self.samples, 1)) < 18 else 10**18
        if self.design == "sobol":
            return self.samples * (2 * d + 2 if self.second_order else d + 2)
        if self.design == "morris":
            return self.samples * (d + 1)
        return self.samples

    def problem(self) -> dict:
        """The SALib problem definition."""
        return {
            "num_vars": len(self.parameters),
            "names": list(self.parameters),
            "bounds": [list(b) for b in self.parameters.values()],
        }

    def digest(self) -> str:
        """A hash of the sweep file's settings."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


class SweepError(ValueError):
    """A sweep file or its parameters cannot be used: one line naming the file, the key and the reason."""


class SweepStateError(outputs.OutputRefused):
    """A sweep's stored state is damaged (``path`` names the file): it cannot be resumed."""


def design_points(spec: SweepSpec) -> np.ndarray:
    """The nominal design: one row per point, one column per parameter (in the order of
    ``spec.parameters``). See :func:`simulated_design` for the values that are simulated."""
    problem = spec.problem()
    if spec.design == "grid":
        axes = [np.linspace(lo, hi, spec.samples) for lo, hi in problem["bounds"]]
        return np.array(list(itertools.product(*axes)), dtype=float)
    if spec.design == "lhs":
        from SALib.sample import latin

        return latin.sample(problem, spec.samples, seed=spec.seed)
    if spec.design == "sobol":
        from SALib.sample import sobol

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # not a power of 2: said once, by sensitivity_warnings
            return sobol.sample(problem, spec.samples, calc_second_order=spec.second_order, scramble=True, seed=spec.seed)
    from SALib.sample import morris

    return morris.sample(problem, spec.samples, num_levels=MORRIS_LEVELS, seed=spec.seed)


def whole_numbers(spec: SweepSpec, base: Any) -> list[bool]:
    """Which parameters the schema declares whole numbers (:func:`sim.scenario.whole_number`), in the
    order of ``spec.parameters``. All False when ``base`` is not a scenario (a test's toy base)."""
    from .params import Scenario
    from .scenario import load, whole_number

    scenario = base
    if not isinstance(base, Scenario):
        try:
            scenario = load(base if base is not None else spec.base)
        except Exception:  # noqa: BLE001  (not a scenario: nothing is a whole number)
            return [False] * len(spec.parameters)
    return [whole_number(scenario, key) for key in spec.parameters]


def round_half_up(x: np.ndarray) -> np.ndarray:
    """To the nearest whole number, halves up (2.5 -> 3; NumPy's round would give 2)."""
    return np.floor(np.asarray(x, dtype=float) + 0.5)


def simulated_design(spec: SweepSpec, whole: list[bool]) -> np.ndarray:
    """The design as simulated: :func:`design_points` with whole-number parameters rounded."""
    points = design_points(spec).copy()
    for j, is_whole in enumerate(whole):
        if is_whole:
            points[:, j] = round_half_up(points[:, j])
    return points


def _value(x: float, is_whole: bool) -> Any:
    return int(x) if is_whole else float(x)


# ---------------------------------------------------------------------------------- evaluation
def simulate_point(task: dict) -> list[dict]:
    """Run one design point: its replications as one batched population where they can share one
    (:func:`~sim.engine.replication_batches`), single-threaded. Returns one dict of metrics per
    replication."""
    from .engine import Engine, replication_batches
    from .metrics import engine_metrics
    from .scenario import load

    scenario = load(task["base"], task["values"])
    firm = scenario.firm_index(task.get("firm"))
    out = []
    for batch in replication_batches(scenario, task["seeds"]):
        engine = Engine(scenario, batch, threads=1)
        engine.run()
        table = engine_metrics(engine, firm)
        out += [{m: float(table[m].iloc[r]) for m in task["metrics"]} for r in range(len(batch))]
    return out


def _local_worker_init() -> None:
    """A local worker: dies with the worker server (its parent) and with the command (which it
    watches), ignores the group's Ctrl-C, and loads the engine."""
    signals.die_with_parent(watch=signals.command_pid())
    signals.ignore_interrupts()
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
    if workers <= 1 or len(tasks) <= 1:
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
            signals.block_interrupts()
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
    pool (then it only checks that the server runs). The server starts with SIGINT blocked, and
    learns this process's id (:data:`sim.signals.PARENT_ENV`) so that it and its workers end with it."""
    if workers >= 2 and _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        os.environ[signals.PARENT_ENV] = str(os.getpid())
        with signals.interrupts_blocked():
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


# ---------------------------------------------------------------------------------- the sweep's key
def _canonical_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _base_content(base: Any) -> tuple[str, Any]:
    """The resolved base scenario as data, and its hash (:func:`sim.scenario.scenario_hash` for a
    loaded scenario)."""
    if hasattr(base, "model_dump"):
        from .scenario import scenario_hash

        return scenario_hash(base), base.model_dump(mode="json")
    return _canonical_hash(base), base


class SweepKey:
    """What a sweep's stored runs depend on: the sweep file's settings, the resolved base scenario
    (with the file's ``[set]`` applied) and the package version. Stored in ``sweep.json``; a folder
    is resumed only under an equal key."""

    def __init__(self, spec: SweepSpec, base: Any):
        self.spec = spec
        self.base_hash, self.base_data = _base_content(base)
        self.parts = {"sweep": spec.digest(), "base": self.base_hash, "version": __version__}
        self.digest = _canonical_hash(self.parts)[:16]

    def state(self) -> dict:
        """The content of ``sweep.json``."""
        return {
            "sweep": self.spec.model_dump(mode="json"),
            "key": self.parts,
            "digest": self.digest,
            "base_scenario": self.base_data,
        }

    def what_changed(self, stored: dict | None) -> str:
        """What differs between this key and a stored ``sweep.json`` (one phrase)."""
        if not isinstance(stored, dict) or not isinstance(stored.get("key"), dict):
            return "its description (sweep.json) is missing or unreadable"
        old = stored["key"]
        if old.get("version") != __version__:
            return f"it was written by retention-sim {old.get('version')} (this is {__version__})"
        if old.get("base") != self.base_hash:
            where = _first_difference(stored.get("base_scenario"), self.base_data)
            return f"its base scenario {self.spec.base!r} changed" + (f" ({where})" if where else "")
        where = _first_difference(stored.get("sweep"), self.spec.model_dump(mode="json"))
        return "the sweep file changed" + (f" ({where})" if where else "")


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The first dotted key where two JSON-like values differ, as ``key: old -> new``."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            found = _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{path}.{i}" if path else str(i))
            if found:
                return found
        return None
    if a == b:
        return None
    show = lambda v: (json.dumps(v) if not isinstance(v, (dict, list)) else ("a table" if isinstance(v, dict) else "a list"))[:40]
    return f"{path or 'the whole file'}: {show(a)} -> {show(b)}"


# ---------------------------------------------------------------------------------- the folder
def _ours(name: str) -> bool:
    """A name a sweep writes (the only names a sweep ever removes from its folder)."""
    return name in (SPEC, MANIFEST, RUNS) or name in ANALYSIS or bool(_RESPONSE.match(name))


class _Folder:
    """A sweep's output folder: its marker (which files are ours, their hashes, the accepted hashes
    of ``runs.parquet``), atomic writes, and the one way files are removed from it."""

    def __init__(self, path: Path, key: SweepKey):
        self.path, self.key = path, key
        self.files: list[str] = [SPEC, MANIFEST, RUNS]
        self.hashes: dict[str, str] = {}
        self.runs_hashes: list[str] = []

    def write_marker(self) -> None:
        data = {
            "written_by": outputs.WRITTEN_BY,
            "version": __version__,
            "files": sorted(set(self.files)),
            "sweep": self.key.digest,
            "sha256": self.hashes,
            "runs_sha256": self.runs_hashes,
        }
        self._replace_text(outputs.MARKER, json.dumps(data, indent=1, sort_keys=True) + "\n")

    def _tmp(self, name: str) -> Path:
        return self.path / f".{Path(name).name}.{os.getpid()}.tmp"

    def _replace_text(self, name: str, text: str) -> None:
        tmp = self._tmp(name)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path / name)

    def write(self, name: str, write: Callable[[Path], None], record: bool = True) -> None:
        """Write file ``name`` through ``write(tmp_path)`` and put it in place atomically."""
        target = self.path / name
        target.parent.mkdir(exist_ok=True)
        tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
        try:
            write(tmp)
            if record:
                self.hashes[name] = outputs.file_sha256(tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def store_runs(self, frame) -> None:
        """Replace ``runs.parquet`` atomically; the marker accepts the old and the new hash while the
        file is swapped, so a kill at any moment leaves a file the marker vouches for."""
        tmp = self._tmp(RUNS)
        try:
            frame.to_parquet(tmp, index=False)
            new = outputs.file_sha256(tmp)
            self.runs_hashes = [*self.runs_hashes[-1:], new]
            self.write_marker()
            os.replace(tmp, self.path / RUNS)
        finally:
            tmp.unlink(missing_ok=True)
        self.runs_hashes = [new]
        self.write_marker()

    def remove_leftovers(self) -> None:
        """Temporary files of ours that a kill left (``.<name>.<pid>.tmp``), whose process is gone."""
        for folder in (self.path, self.path / PLOTS):
            if not folder.is_dir() or folder.is_symlink():
                continue
            for entry in folder.iterdir():
                m = re.match(r"^\.(.+)\.(\d+)\.tmp$", entry.name)
                if (
                    m
                    and entry.is_file()
                    and not entry.is_symlink()
                    and (m.group(1) in (*ANALYSIS, RUNS, SPEC, MANIFEST, outputs.MARKER) or m.group(1).startswith("response-"))
                ):
                    if not outputs._pid_alive(int(m.group(2))):
                        entry.unlink(missing_ok=True)

    def clear(self, marker: dict) -> None:
        """Remove what an earlier sweep wrote here: names the marker lists that are names a sweep
        writes and plain paths inside the folder (:func:`sim.outputs.remove_listed`), then the marker."""
        outputs.remove_listed(self.path, marker, only=_ours)
        (self.path / outputs.MARKER).unlink(missing_ok=True)


def _prepare_folder(out: Path, key: SweepKey, force: bool, restart: bool) -> tuple[_Folder, dict | None]:
    """Decide what to do with ``out`` before anything is written, and make it ready: new or empty
    (start), this very sweep (resume: returns its marker), or with ``restart`` / ``force`` an earlier
    sweep or retention-sim output to replace. Everything else is refused with one line."""
    out = Path(out)
    if out.is_symlink() and not out.exists():
        raise outputs.OutputRefused(out, "is a broken symbolic link; choose a folder name for the outputs")
    if out.exists() and not out.is_dir():
        raise outputs.OutputRefused(out, "exists and is a file, not a folder; choose a folder name for the outputs")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise outputs.OutputRefused(out, f"{out.parent} is a file, not a folder; choose another place for the outputs") from None
    except OSError as err:
        raise outputs.OutputUnwritable(out, f"cannot create its parent folder: {err.strerror or err}") from None
    outputs.clean_stale(out.parent)
    folder = _Folder(out, key)
    resume: dict | None = None
    if out.is_dir():
        folder.remove_leftovers()
        marker = outputs._read_marker(out)
        if marker is not None and marker.get("sweep") is not None and isinstance(marker.get("files"), list):
            foreign = outputs._foreign_entries(out, marker)
            if foreign:
                raise outputs.OutputRefused(
                    out,
                    f"holds a sweep's outputs plus files retention-sim did not write "
                    f"({outputs._short_list(foreign)}); move those away or choose another "
                    f"folder (nothing was touched)",
                )
            if marker["sweep"] == key.digest and not restart:
                resume = marker
            elif not (restart or force):
                stored = _read_json(out / SPEC)
                done = _count_runs(out / RUNS)
                raise outputs.OutputRefused(
                    out,
                    f"holds a sweep that does not match this one: {key.what_changed(stored)}; "
                    f"add --restart to start over (its {done} stored run"
                    f"{'' if done == '1' else 's'} are discarded), or choose another "
                    f"folder (nothing was touched)",
                )
            else:
                folder.clear(marker)
        elif any(out.iterdir()):
            outputs._inspect(out, force)  # refuses anything but an earlier output of ours, without --force
            outputs.remove_listed(out, marker)
            (out / outputs.MARKER).unlink(missing_ok=True)
    if resume is not None:  # what the earlier run listed stays listed until this one has rewritten it
        folder.files = list(dict.fromkeys([*folder.files, *(f for f in resume["files"] if outputs.plain_name(f) and _ours(f))]))
        folder.runs_hashes = [h for h in resume.get("runs_sha256", []) if isinstance(h, str)]
        folder.hashes = {k: v for k, v in (resume.get("sha256") or {}).items() if isinstance(k, str) and isinstance(v, str)}
    return folder, resume


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _count_runs(path: Path) -> str:
    try:
        import pyarrow.parquet as pq

        return f"{pq.ParquetFile(path).metadata.num_rows:,}"
    except Exception:  # noqa: BLE001  (missing or damaged: the count is only for the message)
        return "0" if not path.exists() else "unknown number of"


def _damaged(path: Path, reason: str) -> SweepStateError:
    return SweepStateError(
        path, f"is damaged ({reason}); add --force to start the sweep over (its stored runs are discarded), or restore the file"
    )


def _read_done(path: Path, spec: SweepSpec, points: np.ndarray, seeds: list[int], accepted: list[str]) -> dict[int, list[dict]]:
    """The design points an earlier, interrupted run of the same sweep completed, each checked: the
    file's hash is one the sweep recorded, and every row belongs to the design (its point, parameter
    values as simulated, replication, seed and run id), once, with no infinite metric. Raises
    :class:`SweepStateError` naming the file otherwise."""
    import pandas as pd

    if not path.exists() and not path.is_symlink():
        return {}
    if path.is_symlink() or not path.is_file():
        raise _damaged(path, "not a regular file")
    if accepted and outputs.file_sha256(path) not in accepted:
        raise _damaged(path, "its content differs from what the sweep wrote")
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001  (pyarrow raises many kinds for a damaged file)
        raise _damaged(path, f"not a readable Parquet file: {type(err).__name__}") from None
    names, R = list(spec.parameters), spec.replications
    missing = [c for c in ("run_id", "point", "replication", "seed", *names, *spec.metrics) if c not in frame.columns]
    if missing:
        raise _damaged(path, f"the column {missing[0]!r} is missing")
    try:
        ids = frame[["run_id", "point", "replication", "seed"]].to_numpy(dtype=np.int64)
        values = frame[names].to_numpy(dtype=float)
        metrics = frame[list(spec.metrics)].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise _damaged(path, "a column has values of the wrong type") from None
    point, rep = ids[:, 1], ids[:, 2]
    if len(frame) and ((point < 0) | (point >= len(points))).any():
        raise _damaged(
            path, f"a row belongs to point {int(point[(point < 0) | (point >= len(points))][0])}, which the design does not have"
        )
    if len(frame) and ((rep < 0) | (rep >= R)).any():
        raise _damaged(path, f"a row has replication {int(rep[(rep < 0) | (rep >= R)][0])} (the sweep has {R})")
    if pd.Series(point * R + rep).duplicated().any():
        raise _damaged(path, "a run is stored twice")
    if (ids[:, 0] != point * R + rep).any() or (ids[:, 3] != np.asarray(seeds, dtype=np.int64)[rep]).any():
        raise _damaged(path, "a run id or seed does not match its point and replication")
    if len(frame) and not np.array_equal(values, points[point]):
        raise _damaged(path, "a parameter value differs from the design")
    if np.isinf(metrics).any():
        raise _damaged(path, "a metric is infinite")
    counts = np.bincount(point, minlength=len(points))
    if ((counts > 0) & (counts < R)).any():
        raise _damaged(path, f"point {int(np.flatnonzero((counts > 0) & (counts < R))[0])} has only some of its replications")
    done: dict[int, list[dict]] = {}
    order = np.lexsort((rep, point))
    for i in order:
        done.setdefault(int(point[i]), []).append({m: float(v) for m, v in zip(spec.metrics, metrics[i])})
    return done


def _runs_frame(spec: SweepSpec, points: np.ndarray, whole: list[bool], seeds: list[int], results: dict[int, list[dict]]):
    import pandas as pd

    names = list(spec.parameters)
    R = spec.replications
    rows = []
    for point in sorted(results):
        for r, metrics in enumerate(results[point]):
            rows.append(
                {
                    "run_id": point * R + r,
                    "point": point,
                    "replication": r,
                    "seed": seeds[r],
                    **{k: points[point, j] for j, k in enumerate(names)},
                    **metrics,
                }
            )
    columns = ["run_id", "point", "replication", "seed", *names, *spec.metrics]
    frame = pd.DataFrame(rows, columns=columns)
    types = {"run_id": "int64", "point": "int64", "replication": "int64", "seed": "int64"}
    types |= {k: ("int64" if is_whole else "float64") for k, is_whole in zip(names, whole)}
    return frame.astype(types | {m: "float64" for m in spec.metrics})


def manifest(spec: SweepSpec, key: SweepKey, seeds: list[int], points: int) -> dict:
    """What produced a sweep (``manifest.json``): versions and provenance, the sweep's settings and
    key, the resolved base scenario and its hash, the replications' seeds."""
    return {
        "package": "retention-sim",
        "version": __version__,
        "command": "sweep",
        "sweep": spec.model_dump(mode="json"),
        "key": key.parts,
        "base_scenario_hash": key.base_hash,
        "base_scenario": key.base_data,
        "design_points": points,
        "replications": spec.replications,
        "replication_seeds": seeds,
        **outputs.provenance(),
    }


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    base: Any = None,
    workers: int = 1,
    scheduler=None,
    force: bool = False,
    evaluate: Callable[[dict], list[dict]] = simulate_point,
    progress: bool = False,
    restart: bool = False,
    announce: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run (or resume) a sweep into ``out``; see the module docstring. ``base`` is the loaded base
    scenario (a Scenario or dict; it already carries the sweep's fixed overrides, see
    :func:`load_spec`); ``evaluate`` maps a task (``values``, ``seeds``, ``metrics``, ...) to one dict
    of metrics per replication — the simulation by default, a test function for checks. ``restart``
    discards the stored runs of an earlier sweep in ``out``; ``force`` also replaces another
    retention-sim output there, and a damaged one. ``announce(runs_left, runs_in_all)`` is called once
    the folder has been accepted, before the first run."""
    from .compare import replication_seeds

    out = Path(out)
    whole = whole_numbers(spec, base)
    points = simulated_design(spec, whole)
    seeds = replication_seeds(spec.seed, spec.replications)
    key = SweepKey(spec, base if base is not None else spec.base)
    folder, resume = _prepare_folder(out, key, force, restart)
    results: dict[int, list[dict]] = {}
    if resume is not None:
        try:
            results = _read_done(out / RUNS, spec, points, seeds, folder.runs_hashes)
        except SweepStateError:
            if not force:
                raise
            folder.clear(resume)
            folder.files, folder.hashes, folder.runs_hashes = [SPEC, MANIFEST, RUNS], {}, []
    try:
        out.mkdir(exist_ok=True)
        folder.write_marker()
        folder.write(SPEC, lambda p: p.write_text(json.dumps(key.state(), indent=2) + "\n", encoding="utf-8"))
        folder.write(
            MANIFEST,
            lambda p: p.write_text(
                json.dumps(outputs._json_safe(manifest(spec, key, seeds, len(points))), indent=2, sort_keys=True) + "\n",
                encoding="utf-8",
            ),
        )
        folder.write_marker()
    except OSError as err:
        raise outputs.OutputUnwritable(out, f"cannot write here: {err.strerror or err}") from None
    base_data = base.model_dump(mode="json") if hasattr(base, "model_dump") else (base if base is not None else spec.base)
    names = list(spec.parameters)
    tasks = [
        {
            "point": p,
            "base": base_data,
            "seeds": seeds,
            "metrics": list(spec.metrics),
            "firm": spec.firm,
            "values": {k: _value(points[p, j], whole[j]) for j, k in enumerate(names)},
        }
        for p in range(len(points))
        if p not in results
    ]
    if announce is not None:
        announce(len(tasks) * spec.replications, len(points) * spec.replications)
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
                folder.store_runs(_runs_frame(spec, points, whole, seeds, results))
                last = time.monotonic()
    finally:
        stream.close()  # stops the workers at once if the loop was left early (a Ctrl-C)
        if results:
            folder.store_runs(_runs_frame(spec, points, whole, seeds, results))
        if bar is not None:
            bar.close()
    result = SweepResult(spec, points, _runs_frame(spec, points, whole, seeds, results), whole)
    result.write_analysis(folder)
    return result


# ---------------------------------------------------------------------------------- analysis
class SweepResult:
    """A finished sweep: the design as simulated, one row per run, and what follows from them: the
    table of points, the best points, the replication noise and the sensitivity indices."""

    def __init__(self, spec: SweepSpec, points: np.ndarray, runs, whole: list[bool] | None = None):
        self.spec, self.points, self.runs = spec, points, runs
        self.whole = whole if whole is not None else [False] * len(spec.parameters)

    @property
    def names(self) -> list[str]:
        return list(self.spec.parameters)

    def point_means(self, metric: str) -> np.ndarray:
        """The metric averaged over replications, one value per design point (design order)."""
        return self.runs.groupby("point")[metric].mean().reindex(range(len(self.points))).to_numpy(float)

    def matrix(self, metric: str) -> np.ndarray:
        """The metric as a (point x replication) array (design order; NaN where undefined)."""
        R = self.spec.replications
        out = np.full((len(self.points), R), np.nan)
        out[self.runs["point"].to_numpy(), self.runs["replication"].to_numpy()] = self.runs[metric].to_numpy(float)
        return out

    def point_table(self):
        """``points.csv``: one row per design point, its parameter values as simulated, and per metric
        the mean over replications with its 95 % t-interval (``<metric>``, ``<metric>_ci_low``,
        ``<metric>_ci_high``; over the replications where the metric is defined, no interval with fewer
        than two) and ``n``, the replications run."""
        import pandas as pd

        from .stats import row_intervals

        table = pd.DataFrame({"point": np.arange(len(self.points))})
        for j, name in enumerate(self.names):
            table[name] = self.points[:, j].astype(np.int64) if self.whole[j] else self.points[:, j]
        for metric in self.spec.metrics:
            mean, half, _n = row_intervals(self.matrix(metric))
            table[metric] = mean
            table[f"{metric}_ci_low"] = mean - half
            table[f"{metric}_ci_high"] = mean + half
        table["n"] = self.runs.groupby("point").size().reindex(range(len(self.points)), fill_value=0).to_numpy(np.int64)
        return table

    def best(self):
        """``best.csv``: for each metric the design point with the best mean (higher or lower is
        better, :data:`BETTER`; none for a descriptive metric), its parameter values and interval,
        and the runner-up with the paired 95 % interval of the difference (the replications share
        seeds across points): where that interval holds 0, the best point is not distinguishable from
        the runner-up."""
        import pandas as pd

        from .stats import mean_interval

        table = self.point_table()
        rows = []
        for metric in self.spec.metrics:
            means = table[metric].to_numpy(float)
            if metric not in BETTER or not np.isfinite(means).any():
                continue
            sign = 1.0 if BETTER[metric] == "higher" else -1.0
            order = np.argsort(-sign * np.where(np.isfinite(means), means, -sign * np.inf), kind="stable")
            top = int(order[0])
            row = {
                "metric": metric,
                "better": BETTER[metric],
                "point": top,
                **{n: table.loc[top, n] for n in self.names},
                "mean": means[top],
                "ci_low": table.loc[top, f"{metric}_ci_low"],
                "ci_high": table.loc[top, f"{metric}_ci_high"],
                "runner_up": math.nan,
                "difference": math.nan,
                "difference_ci_low": math.nan,
                "difference_ci_high": math.nan,
            }
            if len(order) > 1 and np.isfinite(means[order[1]]):
                second = int(order[1])
                m = self.matrix(metric)
                d = mean_interval(m[top] - m[second])
                row |= {
                    "runner_up": second,
                    "difference": d["mean"],
                    "difference_ci_low": d["ci_low"],
                    "difference_ci_high": d["ci_high"],
                }
            rows.append(row)
        columns = [
            "metric",
            "better",
            "point",
            *self.names,
            "mean",
            "ci_low",
            "ci_high",
            "runner_up",
            "difference",
            "difference_ci_low",
            "difference_ci_high",
        ]
        return pd.DataFrame(rows, columns=columns)

    def noise(self):
        """``noise.csv``: per metric, the variance between replications at a point and the share of
        the variance it explains (:func:`sim.stats.noise_share`); empty with one replication."""
        import pandas as pd

        from .stats import noise_share

        rows = []
        if self.spec.replications >= 2:
            for metric in self.spec.metrics:
                share = noise_share(self.matrix(metric))
                rows.append(
                    {
                        "metric": metric,
                        "replications": self.spec.replications,
                        "within_point_variance": share["within"],
                        "share_of_run_variance": share["of_runs"],
                        "share_of_point_mean_variance": share["of_point_means"],
                    }
                )
        return pd.DataFrame(
            rows,
            columns=["metric", "replications", "within_point_variance", "share_of_run_variance", "share_of_point_mean_variance"],
        )

    def indices(self):
        """Sobol (S1, ST[, S2]) or Morris (mu_star, sigma) indices per metric with 95 % intervals, as a
        DataFrame (empty for grid and lhs designs, or a metric undefined at some point). Morris
        elementary effects divide by the steps simulated (:func:`morris_indices`)."""
        import pandas as pd

        spec, names, rows = self.spec, self.names, []
        columns = ["metric", "parameter", "index", "value", "ci_low", "ci_high"]
        if spec.design not in ("sobol", "morris"):
            return pd.DataFrame(columns=columns)
        for metric in spec.metrics:
            y = self.point_means(metric)
            if not np.isfinite(y).all() or np.ptp(y) == 0:
                continue
            if spec.design == "sobol":
                from SALib.analyze import sobol

                res = sobol.analyze(spec.problem(), y, calc_second_order=spec.second_order, conf_level=0.95, seed=spec.seed)
                pairs = (("S1", "S1_conf"), ("ST", "ST_conf"))
            else:
                res = morris_indices(spec.problem(), self.points, y, seed=spec.seed)
                pairs = (("mu_star", "mu_star_conf"), ("sigma", None))
            for key, conf in pairs:
                for j, name in enumerate(names):
                    v = float(res[key][j])
                    c = float(res[conf][j]) if conf else math.nan
                    rows.append(
                        {"metric": metric, "parameter": name, "index": key, "value": v, "ci_low": v - c, "ci_high": v + c}
                    )
        return pd.DataFrame(rows, columns=columns)

    def sensitivity_warnings(self, indices=None, noise=None) -> list[str]:
        """Why the indices may not be trusted, one sentence each: a Sobol design with N not a power of
        2; Sobol indices whose 95 % half-width exceeds :data:`SOBOL_PRECISION`, with the symptoms of too
        small an N (S1 above ST, intervals outside [0, 1]); a Morris screening with fewer than
        :data:`MORRIS_TRAJECTORIES` trajectories or a top mu* less than twice its half-width; and
        indices of a metric whose point means are mostly replication noise (over half their variance)."""
        spec = self.spec
        out: list[str] = []
        if spec.design not in ("sobol", "morris"):
            return out
        indices = self.indices() if indices is None else indices
        noise = self.noise() if noise is None else noise
        if spec.design == "sobol" and spec.samples & (spec.samples - 1):
            out.append(
                f"sobol: samples = {spec.samples} is not a power of 2, which the balance of the Sobol' sequence "
                f"needs (use {1 << spec.samples.bit_length()})"
            )
        for metric, sub in indices.groupby("metric", sort=False):
            half = (sub["value"] - sub["ci_low"]).abs()
            if spec.design == "sobol":
                s1 = sub[sub["index"] == "S1"].set_index("parameter")["value"]
                st = sub[sub["index"] == "ST"].set_index("parameter")["value"]
                symptoms = []
                above = [p for p in s1.index if s1[p] > st[p]]
                if above:
                    symptoms.append(f"S1 > ST for {', '.join(above[:3])}")
                outside = sub[(sub["ci_low"] < 0) | (sub["ci_high"] > 1)]
                if not outside.empty:
                    symptoms.append(f"{len(outside)} interval{'s' if len(outside) > 1 else ''} outside [0, 1]")
                if half.max() > SOBOL_PRECISION:
                    out.append(
                        f"{metric}: Sobol indices are uncertain by up to +/-{half.max():.2f} (95 %)"
                        + (f"; {'; '.join(symptoms)}" if symptoms else "")
                        + f": N = {spec.samples} is too small, about {_grow(half.max(), SOBOL_PRECISION)}x the samples "
                        f"would bring them within +/-{SOBOL_PRECISION}"
                    )
            else:
                mu = sub[sub["index"] == "mu_star"]
                top = mu.loc[mu["value"].idxmax()] if not mu.empty else None
                if spec.samples < MORRIS_TRAJECTORIES:
                    out.append(
                        f"{metric}: Morris screening with {spec.samples} trajectories; use at least {MORRIS_TRAJECTORIES} "
                        f"for a ranking to rely on"
                    )
                elif top is not None and top["value"] - top["ci_low"] > top["value"] / 2:
                    out.append(
                        f"{metric}: the largest mu* ({top['parameter']}) is less than twice its 95 % half-width; "
                        f"more trajectories are needed to rank the parameters"
                    )
        for _, row in noise.iterrows():
            if row["metric"] in set(indices["metric"]) and row["share_of_point_mean_variance"] > 0.5:
                out.append(
                    f"{row['metric']}: replication noise is {row['share_of_point_mean_variance']:.0%} of the variance of "
                    f"the point means, so the indices mostly describe noise; use more customers or replications"
                )
        if spec.replications < 2:
            out.append(
                "one replication per point: the share of replication noise in the indices cannot be estimated "
                "(use replications = 2 or more)"
            )
        return out

    def write_analysis(self, folder: _Folder) -> list[str]:
        """Write ``points.csv``, ``best.csv``, ``noise.csv``, the response plots, and for Sobol or
        Morris designs ``indices.csv``, ``indices.png`` and ``warnings.txt``, each atomically; the
        marker lists them before they are written, so a kill leaves nothing that is not ours. Returns
        the files written."""
        indices, noise = self.indices(), self.noise()
        sens = self.sensitivity_warnings(indices, noise)
        plots = response_plot_names(self.names, list(self.spec.metrics))
        planned = ["points.csv", "best.csv", "noise.csv", *plots.values()]
        if not indices.empty:
            planned += ["indices.csv", "indices.png"]
        if sens:
            planned.append("warnings.txt")
        old = [f for f in folder.files if f not in (SPEC, MANIFEST, RUNS)]
        folder.files = [SPEC, MANIFEST, RUNS, *planned, *old]
        folder.write_marker()
        table = self.point_table()
        folder.write("points.csv", lambda p: table.to_csv(p, index=False))
        folder.write("best.csv", lambda p: self.best().to_csv(p, index=False))
        folder.write("noise.csv", lambda p: noise.to_csv(p, index=False))
        if not indices.empty:
            folder.write("indices.csv", lambda p: indices.to_csv(p, index=False))
            folder.write("indices.png", lambda p: _save(_plot_indices(indices, self.spec), p))
        if sens:
            folder.write("warnings.txt", lambda p: p.write_text("".join(f"warning: {w}\n" for w in sens), encoding="utf-8"))
        for (name, metric), file in plots.items():
            folder.write(file, lambda p, n=name, m=metric: _save(self.response_figure(table, n, m), p))
        for stale in old:
            if stale not in planned and _ours(stale):
                outputs.remove_listed(folder.path, {"files": [stale], "sha256": folder.hashes}, only=_ours)
        folder.files = [SPEC, MANIFEST, RUNS, *planned]
        folder.write_marker()
        self.warnings = sens
        return planned

    def response_figure(self, table, name: str, metric: str):
        """One parameter against one metric: each point's mean with its 95 % t-interval, and for a
        grid the mean over the other parameters at each level (the main effect)."""
        import matplotlib
        from matplotlib import rc_context

        from .plots import DPI, FIRM_PALETTE, STYLE, WIDTH, canvas_figure
        from .report import readable

        x = table[name].to_numpy(float)
        y = table[metric].to_numpy(float)
        lo, hi = table[f"{metric}_ci_low"].to_numpy(float), table[f"{metric}_ci_high"].to_numpy(float)
        with rc_context(STYLE):
            fig = canvas_figure((WIDTH * 0.7, round(5.0 * DPI) / DPI))
            ax = fig.subplots()
            err = np.vstack([y - lo, hi - y])
            ok = np.isfinite(err).all(axis=0)
            ax.errorbar(x[ok], y[ok], yerr=err[:, ok], fmt="none", ecolor=FIRM_PALETTE[0], alpha=0.45, capsize=2)
            ax.plot(x, y, "o", color=FIRM_PALETTE[0], markersize=4, label="design point (mean, 95 % t-interval)")
            if self.spec.design == "grid" and len(self.names) > 1:
                levels = np.unique(x)
                main = [np.nanmean(y[x == v]) for v in levels]
                ax.plot(levels, main, "-", color=FIRM_PALETTE[1], linewidth=2.5, label="mean over the other parameters")
            ax.set_xlabel(name + (" (whole numbers, as simulated)" if self.whole[self.names.index(name)] else ""))
            ax.set_ylabel(metric)
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: readable(v)))
            ax.set_title(
                f"{metric} against {name} ({self.spec.design}, {self.spec.replications} replication"
                f"{'s' if self.spec.replications > 1 else ''} per point)",
                loc="left",
            )
            ax.legend(loc="best", frameon=False)
        return fig


def _grow(half: float, target: float) -> int:
    """How many times the samples narrow a half-width ``half`` to ``target`` (as 1/sqrt(N))."""
    return max(2, math.ceil((half / target) ** 2))


def response_plot_names(names: list[str], metrics: list[str]) -> dict[tuple[str, str], str]:
    """The file of each (parameter, metric) response plot: ``plots/response-<parameter>-<metric>.png``
    with characters other than letters, digits, ``.``, ``_`` and ``-`` replaced (a clash gets a number)."""
    out: dict[tuple[str, str], str] = {}
    for name in names:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "parameter"
        for metric in metrics:
            file = f"{PLOTS}/response-{safe}-{metric}.png"
            k = 2
            while file in out.values():
                file = f"{PLOTS}/response-{safe}-{k}-{metric}.png"
                k += 1
            out[(name, metric)] = file
    return out


def _save(fig, path: Path) -> None:
    fig.savefig(path, format="png", metadata={"Software": None})


def morris_indices(
    problem: dict, x: np.ndarray, y: np.ndarray, seed: int | None = None, num_resamples: int = 100, conf_level: float = 0.95
) -> dict:
    """Morris's mu, mu*, sigma and the bootstrap 95 % half-width of mu*, from a Morris design ``x``
    (the values simulated) and its outputs ``y``. An elementary effect is the change in ``y`` over
    the step actually taken, in units of the parameter's range: ``(y' - y) / ((x'_j - x_j) / (high_j -
    low_j))``. For unrounded designs this is SALib's ``morris.analyze`` (identical numbers, the same
    bootstrap); for rounded whole-number parameters SALib would divide by the nominal step. A step
    that rounding reduced to nothing has no effect to measure and is left out."""
    from scipy.stats import norm

    d = problem["num_vars"]
    bounds = np.asarray(problem["bounds"], dtype=float)
    span = bounds[:, 1] - bounds[:, 0]
    traj = x.reshape(-1, d + 1, d)
    out = y.reshape(-1, d + 1)
    ee = np.full((d, traj.shape[0]), np.nan)
    for t in range(traj.shape[0]):
        for k in range(d):
            step = traj[t, k + 1] - traj[t, k]
            moved = np.flatnonzero(step != 0)
            if moved.size == 1:  # none: rounding removed the step, which is left out
                j = moved[0]
                ee[j, t] = (out[t, k + 1] - out[t, k]) / (step[j] / span[j])
    rng = np.random.default_rng(seed)
    mu, mu_star, sigma, conf = (np.full(d, np.nan) for _ in range(4))
    for j in range(d):
        e = ee[j][np.isfinite(ee[j])]
        if e.size == 0:
            continue
        mu[j], mu_star[j] = np.average(e), np.average(np.abs(e))
        sigma[j] = np.std(e, ddof=1) if e.size > 1 else np.nan
        resampled = e[rng.integers(len(e), size=(num_resamples, len(e)))]
        conf[j] = norm.ppf(0.5 + conf_level / 2) * np.average(np.abs(resampled), axis=1).std(ddof=1)
    return {"names": problem["names"], "mu": mu, "mu_star": mu_star, "sigma": sigma, "mu_star_conf": conf}


def _plot_indices(table, spec: SweepSpec):
    from matplotlib import rc_context

    from .plots import DPI, FIRM_PALETTE, STYLE, WIDTH, canvas_figure

    metrics = list(dict.fromkeys(table["metric"]))
    kinds = list(dict.fromkeys(table["index"]))
    names = list(spec.parameters)
    with rc_context(STYLE):
        fig = canvas_figure((WIDTH, round((2.2 + 0.5 * len(names)) * len(metrics) * DPI) / DPI))
        axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
        for ax, metric in zip(axes, metrics):
            sub = table[table["metric"] == metric]
            y = np.arange(len(names))
            h = 0.8 / len(kinds)
            for k, kind in enumerate(kinds):
                rows = sub[sub["index"] == kind].set_index("parameter").reindex(names)
                err = (rows["value"] - rows["ci_low"]).to_numpy(float)
                ax.barh(
                    y + (k - (len(kinds) - 1) / 2) * h,
                    rows["value"],
                    height=h * 0.95,
                    color=FIRM_PALETTE[k],
                    xerr=np.where(np.isfinite(err), err, 0),
                    capsize=3,
                    label=kind,
                )
            ax.set_yticks(y, names)
            ax.invert_yaxis()
            ax.set_title(f"{metric}", loc="left")
            ax.axvline(0, color="#333333", linewidth=0.8)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        label = (
            "Sobol indices: S1 = first-order share of variance, ST = total (with interactions)"
            if spec.design == "sobol"
            else "Morris screening: mu* = mean absolute elementary effect, sigma = its spread (non-linearity, interactions)"
        )
        fig.suptitle(f"Sensitivity ({spec.design}, 95 % intervals): {label}", x=0.005, ha="left", fontsize=12)
    return fig


def load_spec(path: str | Path) -> tuple[SweepSpec, Any]:
    """Read and check a sweep file: the spec and the loaded base scenario (with the fixed overrides
    and every parameter at its low and high end validated, whole numbers rounded as they will be
    simulated, so a typo stops the sweep before any run). Problems raise :class:`SweepError` (one
    line: file, key, reason) or ``ScenarioError``."""
    from .scenario import TOO_DEEP, ScenarioError, _read, load, resolve_path, resolve_variant, whole_number

    path = Path(path)
    try:
        if path.exists() and not path.is_dir() and not path.is_file():
            raise SweepError(f"{path}: is not a regular file; a sweep file is a TOML text file")
        raw = path.read_bytes()
    except IsADirectoryError:
        raise SweepError(f"{path}: is a folder, not a sweep file") from None
    except OSError as err:
        raise SweepError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SweepError(f"{path}: not a valid TOML text file: {err}") from None
    except RecursionError:
        raise SweepError(f"{path}: nested too deeply to be a sweep file") from None
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        msg = e["msg"].removeprefix("Value error, ")
        if not e["loc"]:
            raise SweepError(f"{path}: {msg}") from None
        key = ".".join(str(p) for p in e["loc"])
        shown = e.get("input")
        got = (
            f" (got {str(shown)[:60]!r})"
            if e["type"] not in ("missing", "value_error") and not isinstance(shown, (dict, list))
            else ""
        )
        raise SweepError(f"{path}: {key}: {msg}{got}") from None
    base_file = path.parent / spec.base
    try:
        base_path = base_file if base_file.is_file() else resolve_path(spec.base)
    except ScenarioError as err:
        raise SweepError(f"{path}: base: {spec.base[:80]!r}: {err.items[0][2]}") from None
    except OSError as err:
        raise SweepError(f"{path}: base: cannot be read: {err.strerror or err}") from None
    if base_path.resolve() == path.resolve():
        raise SweepError(f"{path}: base: names this sweep file itself; name a scenario (a shipped name or a scenario file)")
    try:
        base_data = resolve_variant(_read(base_path), str(base_path), base_path.parent, (str(base_path.resolve()),))
    except RecursionError:
        raise SweepError(f"{base_path}: {TOO_DEEP}") from None
    labels = {k: f"{path}: set.{k}" for k in spec.set}
    base = load(base_data, dict(spec.set), override_labels=labels, source=str(base_path))
    for key, (low, high) in spec.parameters.items():
        whole = whole_number(base, key)
        for value in (low, high):
            try:
                load(
                    base,
                    {key: _value(round_half_up(value), True) if whole else float(value)},
                    override_labels={key: f"{path}: parameters.{key}"},
                )
            except ScenarioError as err:
                raise err from None
            except (ValueError, KeyError):
                raise SweepError(f"{path}: parameters.{key}: not a key of the scenario") from None
    check_firm(spec, base, f"{path}: firm")
    return spec, base


def check_firm(spec: SweepSpec, base, where: str) -> None:
    """SweepError naming ``where`` unless the sweep's ``firm`` is a firm of the base scenario."""
    try:
        base.firm_index(spec.firm)
    except ValueError as err:
        raise SweepError(f"{where}: {err}") from None
