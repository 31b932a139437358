"""The ``retention-sim`` command.

Every failure is one line on stderr and an exit code: 2 for bad input (a scenario file, an option,
an output folder that is not ours to write), 1 for the environment (a folder we cannot write, a full
disk), 130 for Ctrl-C, 143 for SIGTERM. No traceback reaches a user unless RETENTION_SIM_DEBUG=1.
Heavy modules (the model, pandas, numba, matplotlib, solara) are imported only by ``run`` and ``dashboard``.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

# The command does no linear algebra worth threads. OpenBLAS (numpy's) and OpenMP start a pool of
# threads at import that spin before they sleep (0.1-0.25 s of CPU per command, measured): on a busy
# machine, or beside a sweep's workers, that is a core taken from the engine. One thread each, set
# before numpy loads (worker processes inherit it); an explicit setting of the user's wins.
for _pool in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")

from . import __version__, outputs  # noqa: E402

# sim.scenario (pydantic) is imported inside main, after the signal handlers are in place, so that
# even a Ctrl-C during start-up gives one line rather than a traceback.

PROG = "retention-sim"
EXIT_ENVIRONMENT = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


COMMANDS = ("run", "compare", "sweep", "optimise", "calibrate", "validate", "list", "patterns", "dashboard")
_CHOICES = "{" + ",".join(COMMANDS) + "}"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (exit 2) instead of the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = re.sub(r"^argument ([^:]+): ", r"\1: ", message)
        commands = ", ".join(COMMANDS[:-1]) + " or " + COMMANDS[-1]
        message = re.sub(rf"^{re.escape(_CHOICES)}: invalid choice: (\S+) .*", rf"unknown command \1; the commands are {commands}", message)
        message = re.sub(rf"^the following arguments are required: {re.escape(_CHOICES)}$", f"give a command: {commands}", message)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _count(name: str, minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {'a positive whole number' if minimum == 1 else f'a whole number >= {minimum}'} (got {value})")
        return value

    parse.__name__ = name
    return parse


_positive = _count("positive", 1)
_seed = _count("seed", 0)


def _assignment(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as a TOML value (``33.5``, ``true``, ``"x"``, ``[1, 2]``);
    a value that is not valid TOML is taken as text, so ``--set name=mine`` works."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE, e.g. --set firms.0.price=33.5 (got {text!r})")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


_assignment.__name__ = "KEY=VALUE"


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Simulate customer retention: bonded vs attached customers, measures, churn and CLV.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar=_CHOICES)
    set_help = ("override one scenario key, e.g. --set firms.0.price=33.5 or --set 'firms.0.name=\"x\"' "
                "(VALUE is read as TOML; repeatable)")
    run = sub.add_parser("run", help="run a scenario and write tables, summary, plots and a manifest",
                         description="Run a scenario and write its tables, summary, plots and manifest into a new folder. "
                                     "Runs are reproducible by default: without --seed the scenario's simulation.seed is used.")
    run.add_argument("scenario", nargs="?", default=None, help="scenario file or shipped name (default: telecom); see `retention-sim list`")
    run.add_argument("--seed", type=_seed, default=None,
                     help="seed for every random draw (default: the scenario's simulation.seed, so the same command gives the same results)")
    run.add_argument("--customers", type=_positive, default=None, help="initial customers (overrides simulation.customers); new customers still come from the firms' acquisition budgets, money per period, which do not shrink with it")
    run.add_argument("--periods", type=_positive, default=None, help="horizon in periods (overrides simulation.periods)")
    run.add_argument("--set", dest="set", action="append", type=_assignment, default=[], metavar="KEY=VALUE", help=set_help)
    run.add_argument("--out", type=Path, default=None,
                     help="output folder, new or empty (default: results/<scenario>-seed<N>); a folder with other files is refused")
    run.add_argument("--force", action="store_true", help="replace the --out folder if it holds the output of an earlier run")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary on screen")
    cmp = sub.add_parser("compare", help="compare strategies: paired replications, confidence intervals, an HTML report",
                         description="Run BASE and every OTHER scenario R times; replication r of every scenario uses the same "
                                     "seed, so differences are paired customer by customer. Writes replications, differences "
                                     "with 95 % paired intervals, plots and a self-contained report.html.")
    cmp.add_argument("base", help="the baseline scenario: file or shipped name")
    cmp.add_argument("others", nargs="+", metavar="OTHER", help="scenarios to compare with the baseline")
    cmp.add_argument("--replications", type=_count("replications", 2), default=20, help="runs per scenario (default 20)")
    cmp.add_argument("--seed", type=_seed, default=None, help="seed the replications' seeds derive from (default: the baseline's simulation.seed)")
    cmp.add_argument("--customers", type=_positive, default=None, help="initial customers in every scenario (arrivals still follow the acquisition budgets, which do not shrink with it)")
    cmp.add_argument("--periods", type=_positive, default=None, help="horizon in periods of every scenario")
    cmp.add_argument("--set", dest="set", action="append", type=_assignment, default=[], metavar="KEY=VALUE", help=set_help + "; applies to every scenario")
    cmp.add_argument("--out", type=Path, default=None, help="output folder, new or empty (default: results/compare-<base>-seed<N>)")
    cmp.add_argument("--force", action="store_true", help="replace the --out folder if it holds the output of an earlier run")
    cmp.add_argument("--no-plots", action="store_true", help="skip the PNG plots (the report then has no figures)")
    cmp.add_argument("--quiet", action="store_true", help="no progress bar or findings on screen")
    sw = sub.add_parser("sweep", help="a parameter sweep with sensitivity indices, on local cores or a Dask cluster",
                        description="Run a sweep file's design (grid, lhs, sobol or morris) with replications on common seeds. "
                                    "Runs are stored in runs.parquet as they finish; running the same command again after an "
                                    "interruption skips the finished runs. Sobol or Morris indices go to indices.csv.")
    sw.add_argument("sweep", type=Path, help="the sweep file (TOML); see docs/experiments.md")
    sw.add_argument("--workers", type=_positive, default=None, help="local worker processes, this one included, each single-threaded (default: the cores)")
    sw.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a dask.distributed scheduler, e.g. tcp://10.0.0.5:8786 (instead of local workers)")
    sw.add_argument("--out", type=Path, default=None, help="output folder (default: results/sweep-<file name>); an interrupted sweep's folder is resumed")
    sw.add_argument("--force", action="store_true", help="replace the --out folder if it holds an earlier, different retention-sim output")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    opt = sub.add_parser("optimise", help="find the best strategy within bounds and a budget, confirmed on fresh seeds",
                         description="Search an optimisation file's parameters (and budget split) with Optuna on common random "
                                     "numbers, then re-run the best trials on fresh seeds, paired with the base. The study is "
                                     "stored as it runs (DIR/study.db): the same command resumes it, every trial exactly once. "
                                     "Writes trials.parquet, verification.csv, best.toml, report.html and manifest.json.")
    opt.add_argument("file", type=Path, metavar="OPT.toml", help="the optimisation file (TOML); see docs/optimise.md")
    opt.add_argument("--out", type=Path, default=None, help="the study folder (default: results/optimise-<file name>); an interrupted study's folder is resumed")
    opt.add_argument("--workers", type=_positive, default=None, help="local worker processes, each single-threaded (default: the cores)")
    opt.add_argument("--storage", default=None, metavar="URL",
                     help="a database URL shared by the machines of a cluster, e.g. postgresql://host/db (default: SQLite in the --out folder)")
    opt.add_argument("--force", action="store_true", help="replace the --out folder if it holds an earlier, different retention-sim output")
    opt.add_argument("--quiet", action="store_true", help="no progress bars or recommendation on screen")
    cal = sub.add_parser("calibrate", help="fit parameters to an observed cohort's survival",
                         description="Fit the named parameters (bounds from the schema) so that the focal firm's simulated "
                                     "period-0 cohort survives like the observed one (maximum likelihood on common random "
                                     "numbers). Writes calibration.json (values with 95 %% intervals), fit.csv and fit.png.")
    cal.add_argument("scenario", help="scenario file or shipped name")
    cal.add_argument("--observed", type=Path, required=True, metavar="FILE.csv",
                     help="survivors of one cohort: columns period,active (optionally segment), periods from 0")
    cal.add_argument("--fit", action="append", required=True, metavar="KEY",
                     help="a numeric parameter to fit, e.g. segments.0.background_churn.alpha (repeatable)")
    cal.add_argument("--holdout-from", type=_count("holdout", 2), default=None, metavar="T",
                     help="fit periods before T only; later ones test the forecast")
    cal.add_argument("--seed", type=_seed, default=None, help="the fixed seed of every trial (default: the scenario's simulation.seed)")
    cal.add_argument("--customers", type=_positive, default=None, help="simulated customers (use many more than the observed cohort)")
    cal.add_argument("--set", dest="set", action="append", type=_assignment, default=[], metavar="KEY=VALUE", help=set_help)
    cal.add_argument("--out", type=Path, default=None, help="output folder, new or empty (default: results/calibrate-<scenario>)")
    cal.add_argument("--force", action="store_true", help="replace the --out folder if it holds the output of an earlier run")
    cal.add_argument("--quiet", action="store_true", help="no result on screen")
    check = sub.add_parser("validate", help="check a scenario file and print it with every default filled in")
    check.add_argument("scenario", help="scenario file or shipped name; see `retention-sim list`")
    check.add_argument("--set", dest="set", action="append", type=_assignment, default=[], metavar="KEY=VALUE", help=set_help)
    sub.add_parser("list", help="list the shipped scenarios and the question each answers")
    pat = sub.add_parser("patterns", help="check the model against the pattern suite (what the sources and public data say)",
                         description="Measure every pattern of the suite on the shipped scenarios with their shipped defaults "
                                     "and say whether it holds: a table on the screen and DIR/patterns.csv (pattern, source, "
                                     "target, value, ci_low, ci_high, holds). The full suite takes a while; --quick runs "
                                     "every pattern with fewer customers and replications, still with 95 %% intervals.")
    pat.add_argument("--out", type=Path, default=None, metavar="DIR", help="folder for patterns.csv (default: results/patterns)")
    pat.add_argument("--quick", action="store_true", help="fewer customers and replications (minutes, not tens of minutes)")
    pat.add_argument("--only", action="append", default=None, metavar="TEXT",
                     help="only the patterns whose name contains TEXT (repeatable)")
    pat.add_argument("--force", action="store_true", help="replace an earlier output in DIR")
    dash = sub.add_parser("dashboard", help="serve the interactive dashboard and the classroom game in the browser",
                          description="Serve the dashboard (live plots, levers, one customer's story, comparison with a "
                                      "baseline) and the classroom game at http://HOST:PORT/ until Ctrl-C. It opens no "
                                      "browser: open the printed address.")
    dash.add_argument("scenario", nargs="?", default=None, help="scenario file or shipped name to start with (default: telecom)")
    dash.add_argument("--port", type=_port, default=8765, help="port to listen on (default: 8765)")
    dash.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 lets the room's devices "
                           "connect, and anyone who can reach the port can use it)")
    dash.add_argument("--scenarios", type=Path, default=None, metavar="DIR",
                      help="a folder of scenario files (.toml) the browser may pick by name, beside the shipped ones "
                           "(a browser never names a path; it may also upload a file)")
    return p


def _port(text: str) -> int:
    value = _count("port", 1)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535 (got {value})")
    return value


_port.__name__ = "port"


# The overrides of the current command line; `load` below applies them, so every command that loads
# a scenario honours --set (and names the option, not the file, when an override is wrong).
_overrides: dict[str, Any] = {}
_labels: dict[str, str] = {}


def load(spec=None, overrides=None):
    """Load a scenario with this command line's --set/--customers/--periods overrides applied."""
    from .scenario import load as load_scenario

    merged = {**_overrides, **(overrides or {})}
    return load_scenario(spec, merged, override_labels=_labels)


def resolve_path(spec):
    """A scenario file's path, or a shipped scenario's (see :func:`sim.scenario.resolve_path`)."""
    from .scenario import resolve_path as resolve

    return resolve(spec)


def shipped_scenarios():
    from .scenario import shipped_scenarios as shipped

    return shipped()


def _collect_overrides(args) -> None:
    _overrides.clear()
    _labels.clear()
    for key, value in getattr(args, "set", None) or []:
        _overrides[key] = value
        _labels[key] = f"--set {key}"
    for option, key in (("customers", "simulation.customers"), ("periods", "simulation.periods")):
        value = getattr(args, option, None)
        if value is not None:
            _overrides.pop(key, None)  # the explicit option wins over --set
            _overrides[key] = value
            _labels[key] = f"--{option}"


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


class _Progress:
    """What the current command has done, so an interruption can say it truthfully."""

    written: Path | None = None
    resumable: Path | None = None  # a sweep's folder, whose finished runs are kept on a stop


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code. No traceback reaches the user (see module doc)."""
    _Progress.written = None
    _Progress.resumable = None
    try:
        with outputs.signal_handlers():
            return _main(argv)
    except KeyboardInterrupt:
        _say("interrupted (Ctrl-C); " + _after_stop())
        return EXIT_INTERRUPTED
    except outputs.Terminated as stop:
        _say(f"stopped by {stop}; " + _after_stop())
        return stop.exit_code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_ENVIRONMENT
    except MemoryError:
        _say("out of memory; try fewer customers (--customers) or a shorter horizon (--periods)")
        return EXIT_ENVIRONMENT
    except OSError as err:
        if os.environ.get("RETENTION_SIM_DEBUG"):
            raise
        where = f": {err.filename}" if err.filename else ""
        _say(f"{err.strerror or err}{where}")
        return EXIT_ENVIRONMENT
    except Exception as err:
        if os.environ.get("RETENTION_SIM_DEBUG"):
            raise
        text = " ".join(str(err).split())[:300]
        _say(f"internal error: {type(err).__name__}: {text} (set RETENTION_SIM_DEBUG=1 for the traceback)")
        return EXIT_ENVIRONMENT
    finally:
        _overrides.clear()
        _labels.clear()


def _after_stop() -> str:
    folder = _Progress.resumable
    if folder is not None and (folder / "runs.parquet").exists():
        return f"the finished runs are kept in {folder / 'runs.parquet'}; run the same command again to resume"
    if folder is not None and folder.is_dir():
        return f"no run had finished; {folder} holds the sweep's description, and the same command starts it again"
    if _Progress.written is not None:
        return f"the outputs in {_Progress.written} were already complete"
    return "nothing was written"


def _quiet_stdout() -> None:
    """After a closed pipe (``retention-sim list | head -1``) let Python exit without complaining."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _main(argv: list[str] | None) -> int:
    args = parser().parse_args(argv)
    from .scenario import ScenarioError

    _collect_overrides(args)
    try:
        return {"run": _run, "compare": _compare, "sweep": _sweep, "optimise": _optimise, "calibrate": _calibrate,
                "validate": _validate, "list": _list, "patterns": _patterns, "dashboard": _dashboard}[args.command](args)
    except ScenarioError as err:
        _say(err.one_line())
        return EXIT_BAD_INPUT
    except outputs.OutputError as err:
        label = f"--out {err.path}" if getattr(args, "out", None) is not None else f"output folder {err.path}"
        _say(f"{label}: {err.reason}")
        return err.exit_code


def _default_out(name: str, seed: int) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".") or "scenario"
    return Path("results") / f"{safe}-seed{seed}"


def _run(args) -> int:
    scenario = load(args.scenario)
    seed = scenario.simulation.seed if args.seed is None else args.seed
    out = args.out if args.out is not None else _default_out(scenario.name, seed)
    with outputs.prepare(out, force=args.force) as staging:  # refuses or fails before simulating
        from .results import run  # heavy: pandas, mesa, numba

        res = run(scenario, seed=seed, progress=not args.quiet)
        try:
            outputs.write_run_files(res, staging.path, plots=not args.no_plots)
        except OSError as err:
            raise outputs.OutputUnwritable(out, f"cannot write the outputs: {err.strerror or err}; nothing was written") from None
        staging.commit()
        _Progress.written = Path(out)
    if not args.quiet:
        _print_summary(res.summary, out, res.answer)
    return 0


def _compare(args) -> int:
    scenarios = [load(spec) for spec in (args.base, *args.others)]  # every input checked before any work
    seed = scenarios[0].simulation.seed if args.seed is None else args.seed
    out = args.out if args.out is not None else _default_out(f"compare-{scenarios[0].name}", seed)
    with outputs.prepare(out, force=args.force) as staging:
        from .compare import compare  # heavy
        from .report import sentence

        result = compare(scenarios, replications=args.replications, seed=seed, progress=not args.quiet and sys.stderr.isatty())
        try:
            result.write_files(staging.path, plots=not args.no_plots)
        except OSError as err:
            raise outputs.OutputUnwritable(out, f"cannot write the outputs: {err.strerror or err}; nothing was written") from None
        staging.commit()
        _Progress.written = Path(out)
    if not args.quiet:
        money = scenarios[0].simulation.currency
        print(f"baseline {result.baseline}; {args.replications} paired replications (seed {seed})")
        for _, row in result.differences.iterrows():
            text = sentence(row, money)
            if text:
                print(f"  {text}")
        print(f"outputs in {out}/ (open report.html)")
    return 0


def _sweep(args) -> int:
    from .sweep import SweepError, load_spec, run_sweep, start_workers_early

    try:
        spec, base = load_spec(args.sweep)
    except SweepError as err:
        _say(str(err))
        return EXIT_BAD_INPUT
    out = args.out if args.out is not None else Path("results") / f"sweep-{re.sub(r'[^A-Za-z0-9._-]+', '_', args.sweep.stem)}"
    workers = args.workers or len(os.sched_getaffinity(0))
    if args.scheduler is None:
        start_workers_early(workers)
    _Progress.resumable = Path(out)
    result = run_sweep(spec, out, base=base, workers=workers, scheduler=args.scheduler, force=args.force,
                       progress=not args.quiet and sys.stderr.isatty())
    _Progress.written = Path(out)
    if not args.quiet:
        print(f"{len(result.runs):,} runs in {out}/runs.parquet" + (" and indices in indices.csv" if (Path(out) / "indices.csv").exists() else ""))
    return 0


def _optimise(args) -> int:
    """The optimise command: every input checked before anything is written; a stop says where the study is kept."""
    from .optimise import OptimiseError, load_spec

    try:
        spec = load_spec(args.file)
    except OptimiseError as err:
        _say(str(err))
        return EXIT_BAD_INPUT
    out = args.out if args.out is not None else Path("results") / f"optimise-{re.sub(r'[^A-Za-z0-9._-]+', '_', args.file.stem)}"
    store = args.storage or f"{out}/study.db"
    if args.storage is not None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(args.storage)
        except ArgumentError:
            _say(f"--storage {args.storage}: not a database URL (e.g. postgresql://user@host/db or sqlite:///study.db)")
            return EXIT_BAD_INPUT
        store = "the --storage database"
    workers = args.workers or len(os.sched_getaffinity(0))
    from .optimise.core import StorageUnavailable, optimise
    from .optimise.report import paragraph

    try:
        result = optimise(spec, out, workers=workers, storage=args.storage, force=args.force,
                          progress=not args.quiet and sys.stderr.isatty())
    except StorageUnavailable as err:
        _say(str(err))
        return EXIT_ENVIRONMENT
    except (KeyboardInterrupt, outputs.Terminated) as stop:
        what = "interrupted (Ctrl-C)" if isinstance(stop, KeyboardInterrupt) else f"stopped by {stop}"
        kept = f"the finished trials are kept in {store}; run the same command again to resume" if (out / "study.db").exists() or args.storage else "nothing was written"
        _say(f"{what}; {kept}")
        return EXIT_INTERRUPTED if isinstance(stop, KeyboardInterrupt) else stop.exit_code
    _Progress.written = Path(out)
    if not args.quiet:
        print(paragraph(result))
        print(f"outputs in {out}/ (open report.html; best.toml runs with `{PROG} run`)" if result.best_toml else f"outputs in {out}/ (open report.html)")
    return 0


def _calibrate(args) -> int:
    from .calibrate import CalibrationError, calibrate, read_observed, parameter_bound

    scenario = load(args.scenario)
    try:
        observed = read_observed(args.observed)
        for key in args.fit:
            parameter_bound(scenario, key)
    except CalibrationError as err:
        _say(str(err))
        return EXIT_BAD_INPUT
    out = args.out if args.out is not None else _default_out(f"calibrate-{scenario.name}", scenario.simulation.seed if args.seed is None else args.seed)
    with outputs.prepare(out, force=args.force) as staging:
        try:
            result = calibrate(scenario, observed, args.fit, holdout_from=args.holdout_from, seed=args.seed)
        except CalibrationError as err:
            _say(str(err))
            return EXIT_BAD_INPUT
        result.write_files(staging.path)
        staging.commit()
        _Progress.written = Path(out)
    if not args.quiet:
        for key in result.keys:
            lo, hi = result.intervals[key]
            ci = f"95 % CI {lo:.4g} to {hi:.4g}" if lo is not None else "no interval (flat likelihood)"
            print(f"  {key} = {result.values[key]:.4g} ({ci})")
        for seg, err in result.holdout_error.items():
            print(f"  holdout error ({seg}): model {err['model']:.1f} %, constant retention {err['constant_retention']:.1f} % (mean absolute percentage)")
        print(f"outputs in {out}/")
    return 0


def _print_summary(summary: dict, out: Path, answer: str | None = None) -> None:
    question = f": {summary['question']}" if summary.get("question") else ""
    money = summary.get("currency", "")
    print(f"scenario {summary['scenario']} (seed {summary['seed']}){question}")
    width = max(len(name) for name in summary["firms"])
    for name, f in summary["firms"].items():
        ret = ", ".join(f"{k.replace('_months', ' mo')}: {v:.1%}" for k, v in f["retention"].items() if v is not None)
        clv = f["clv"]["initial_cohort"]
        clv_text = f"{clv['mean']:,.0f} {money} ({clv['n_censored']:,} of {clv['n']:,} censored)" if clv["mean"] is not None else "n/a"
        churn = f["mean_churn_per_period"]
        churn_text = f"{churn:.2%}" if churn is not None else "n/a"
        print(f"  {name:<{width}}  retention {ret or 'n/a'} | mean churn/period {churn_text} | "
              f"mean CLV of the initial customers {clv_text} | profit {f['profit_total']:,.0f} {money}")
    if answer:
        print(f"answer: {answer}")
    print(f"outputs in {out}/")


def _validate(args) -> int:
    from .reference import annotated_toml

    scenario = load(resolve_path(args.scenario))
    print(annotated_toml(scenario), end="")
    return 0


def _list(args) -> int:
    scenarios = sorted(shipped_scenarios().items())
    width = max(len(name) for name, _ in scenarios)
    for name, path in scenarios:
        print(f"{name:<{width}}  {load(path).question}")
    return 0


def _patterns(args) -> int:
    import math

    from . import patterns

    chosen = [p for p in patterns.catalogue() if not args.only or any(o.lower() in p.name.lower() for o in args.only)]
    if not chosen:
        _say(f"--only {' '.join(args.only or [])}: no pattern's name contains it (see docs/validation.md for the names)")
        return EXIT_BAD_INPUT
    out = args.out if args.out is not None else Path("results") / ("patterns-quick" if args.quick else "patterns")
    size = "quick" if args.quick else "full"

    def fmt(x: float) -> str:
        return "n/a" if not math.isfinite(x) else (f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}")

    def show(o) -> None:
        e = o.estimate
        print(f"{'holds' if o.holds else 'FAILS':>5}  {o.pattern.name}\n       {fmt(e.value)} [{fmt(e.ci_low)}, {fmt(e.ci_high)}]"
              f"  target {o.pattern.target.describe()}  ({e.detail}; {o.seconds:.0f} s)", flush=True)

    with outputs.prepare(out, force=args.force) as staging:
        print(f"{len(chosen)} patterns, {size} size", flush=True)
        results = patterns.run(quick=args.quick, only=args.only, progress=show)
        patterns.table(results).to_csv(staging.path / "patterns.csv", index=False)
        staging.commit()
        _Progress.written = Path(out)
    held = sum(o.holds for o in results)
    print(f"{held} of {len(results)} patterns hold; table in {out}/patterns.csv")
    return 0


def _dashboard(args) -> int:
    import socket

    path = resolve_path(args.scenario)  # a bad name or path stops here, before anything starts
    load(path)
    spec = args.scenario if args.scenario is not None and not Path(args.scenario).is_file() else str(path.resolve())
    try:
        socket.getaddrinfo(args.host, args.port)
    except (socket.gaierror, UnicodeError):
        _say(f"--host {args.host}: not an address of this machine")
        return EXIT_BAD_INPUT
    with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as probe:
        # as the server will: a port whose last connections are still closing (TIME_WAIT, for a minute
        # after the dashboard stopped) is free; one with a listener is not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((args.host, args.port))
        except OSError as err:
            reason = "is in use; choose another with --port" if err.errno == errno.EADDRINUSE else (err.strerror or str(err)).lower()
            _say(f"--port {args.port} on {args.host}: {reason}")
            return EXIT_BAD_INPUT
    scenarios = None
    if args.scenarios is not None:
        if not args.scenarios.is_dir():
            _say(f"--scenarios {args.scenarios}: {'no such folder' if not args.scenarios.exists() else 'not a folder'}")
            return EXIT_BAD_INPUT
        scenarios = str(args.scenarios.resolve())
    from .dashboard import serve  # heavy: solara, mesa's visualisation, the model

    return serve(spec, host=args.host, port=args.port, scenarios=scenarios)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
