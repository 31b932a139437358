"""The ``retention-sim`` command.

Every failure is one line on stderr and an exit code: 2 for bad input (a scenario file, an option,
an output folder that is not ours to write, input nested too deeply to read), 1 for the environment
(a folder we cannot write, a full disk, too little memory: the line says which setting to lower),
130 for Ctrl-C, 143 for SIGTERM (also when a library that the signal cut short fails after it). No
traceback reaches a user unless RETENTION_SIM_DEBUG=1. Options have upper bounds: --replications at
most 10,000, --seed below 2^63, --workers at most the cores this process may use (more are capped,
with a warning).
Heavy modules (the model, pandas, numba, matplotlib, solara) are imported only by ``run`` and ``dashboard``.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any, NoReturn

# The command does no linear algebra worth threads. OpenBLAS (numpy's) and OpenMP start a pool of
# threads at import that spin before they sleep (0.1-0.25 s of CPU per command, measured): on a busy
# machine, or beside a sweep's workers, that is a core taken from the engine. One thread each, set
# before numpy loads (worker processes inherit it); an explicit setting of the user's wins.
for _pool in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")

from . import __version__, outputs, signals  # noqa: E402

# sim.scenario (pydantic) is imported inside main, after the signal handlers are in place, so that
# even a Ctrl-C during start-up gives one line rather than a traceback.

PROG = "retention-sim"
EXIT_ENVIRONMENT = 1
EXIT_BAD_INPUT = 2
EFFECT_REPLICATIONS = 5  # run: paired replications behind the answer's effect (a t-interval with 4 degrees of freedom)
UNSCALED_HELP = ("with --customers: change the population alone and keep the market's money-per-period amounts "
                 "(acquisition budgets, fixed costs) as the scenario states them (simulation.scale = 1)")
EXIT_INTERRUPTED = 130
MAX_REPLICATIONS = 10_000  # sim.compare.MAX_REPLICATIONS (not imported: the command starts before pandas loads)
PRECISION_CAP = 200  # sim.compare.PRECISION_CAP
ENGINE_ADDRESS_SPACE = 1_100_000_000  # bytes of address space the engine needs to load (numba, llvmlite, scipy: ~1 GB measured)
BYTES_PER_CUSTOMER = 400  # least memory one customer row takes in a run with its outputs (370-570 measured)


COMMANDS = ("run", "compare", "sweep", "optimise", "calibrate", "validate", "list", "patterns", "dashboard")
_CHOICES = "{" + ",".join(COMMANDS) + "}"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (exit 2) instead of the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = re.sub(r"^argument ([^:]+): ", r"\1: ", message)
        commands = ", ".join(COMMANDS[:-1]) + " or " + COMMANDS[-1]
        message = re.sub(
            rf"^{re.escape(_CHOICES)}: invalid choice: (\S+) .*", rf"unknown command \1; the commands are {commands}", message
        )
        message = re.sub(
            rf"^the following arguments are required: {re.escape(_CHOICES)}$", f"give a command: {commands}", message
        )
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _count(name: str, minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number (got {text[:40]!r})") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be {'a positive whole number' if minimum == 1 else f'a whole number >= {minimum}'} (got {value})"
            )
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,} (got {str(value)[:40]})")
        return value

    parse.__name__ = name
    return parse


_positive = _count("positive", 1)
_seed = _count("seed", 0, 2**63 - 1)


def _precision(text: str) -> tuple[str, float]:
    """``METRIC=HALF_WIDTH`` for ``compare --precision``."""
    import math

    from .metrics import METRICS

    metric, sep, raw = text.partition("=")
    metric = metric.strip()
    if not sep or metric not in METRICS:
        raise argparse.ArgumentTypeError(f"must be METRIC=HALF_WIDTH with a metric of: {', '.join(METRICS)} (got {text[:60]!r})")
    try:
        width = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the half-width must be a number (got {raw[:40]!r})") from None
    if not (math.isfinite(width) and width > 0):
        raise argparse.ArgumentTypeError(f"the half-width must be a positive number (got {raw[:40]!r})")
    return metric, width


_precision.__name__ = "METRIC=HALF_WIDTH"


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
    except RecursionError:
        raise argparse.ArgumentTypeError(f"{key[:60]}: the value is nested too deeply") from None
    return key, value


_assignment.__name__ = "KEY=VALUE"


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Simulate customer retention: bonded vs attached customers, measures, churn and CLV.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar=_CHOICES)
    set_help = (
        "override one scenario key, e.g. --set firms.0.price=33.5 or --set 'firms.0.name=\"x\"' "
        "(VALUE is read as TOML; repeatable)"
    )
    run = sub.add_parser(
        "run",
        help="run a scenario and write tables, summary, plots and a manifest",
        description="Run a scenario and write its tables, summary, plots and manifest into a new folder. "
        "Runs are reproducible by default: without --seed the scenario's simulation.seed is used.",
    )
    run.add_argument(
        "scenario", nargs="?", default=None, help="scenario file or shipped name (default: telecom); see `retention-sim list`"
    )
    run.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="seed for every random draw (default: the scenario's simulation.seed, so the same command gives the same results)",
    )
    run.add_argument(
        "--customers",
        type=_positive,
        default=None,
        help="initial customers (overrides simulation.customers); the market scales with them (acquisition budgets, "
        "fixed costs: simulation.scale), so a smaller run is the same market; see --unscaled",
    )
    run.add_argument("--unscaled", action="store_true", help=UNSCALED_HELP)
    run.add_argument("--periods", type=_positive, default=None, help="horizon in periods (overrides simulation.periods)")
    run.add_argument("--set", dest="set", action="append", type=_assignment, default=[], metavar="KEY=VALUE", help=set_help)
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder, new or empty (default: results/<scenario>-seed<N>); a folder with other files is refused",
    )
    run.add_argument("--force", action="store_true", help="replace the --out folder if it holds the output of an earlier run")
    run.add_argument(
        "--replications",
        type=_count("replications", 0, 1000),
        default=EFFECT_REPLICATIONS,
        help=f"paired replications of the scenario and its counterfactual for the answer's effect and its 95 %% "
        f"interval (default {EFFECT_REPLICATIONS}; 0 skips the effect)",
    )
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary on screen")
    cmp = sub.add_parser(
        "compare",
        help="compare strategies: paired replications, confidence intervals, an HTML report",
        description="Run BASE and every OTHER scenario R times; replication r of every scenario uses the same "
        "seed, so differences are paired customer by customer. Writes replications, differences "
        "with 95 % paired intervals, plots and a self-contained report.html.",
    )
    cmp.add_argument("base", help="the baseline scenario: file or shipped name")
    cmp.add_argument("others", nargs="+", metavar="OTHER", help="scenarios to compare with the baseline")
    cmp.add_argument(
        "--replications",
        type=_count("replications", 2, MAX_REPLICATIONS),
        default=20,
        help=f"runs per scenario (default 20, at most {MAX_REPLICATIONS:,}); with --precision, the runs to start with",
    )
    cmp.add_argument(
        "--precision",
        type=_precision,
        default=None,
        metavar="METRIC=HALF_WIDTH",
        help="add replications until the paired 95 %% interval of METRIC has at most this half-width (in the "
        f"metric's own units: retention as a share, 0.005 = half a point) for every alternative, up to "
        f"{PRECISION_CAP} replications; it says if that cap stops it",
    )
    cmp.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="seed the replications' seeds derive from (default: the baseline's simulation.seed)",
    )
    cmp.add_argument(
        "--customers",
        type=_positive,
        default=None,
        help="initial customers in every scenario; the market scales with them (simulation.scale); see --unscaled",
    )
    cmp.add_argument("--unscaled", action="store_true", help=UNSCALED_HELP)
    cmp.add_argument(
        "--firm",
        default=None,
        metavar="NAME",
        help="compare this firm's metrics (default: the focal firm, each scenario's first)",
    )
    cmp.add_argument("--periods", type=_positive, default=None, help="horizon in periods of every scenario")
    cmp.add_argument(
        "--set",
        dest="set",
        action="append",
        type=_assignment,
        default=[],
        metavar="KEY=VALUE",
        help=set_help + "; applies to every scenario",
    )
    cmp.add_argument(
        "--out", type=Path, default=None, help="output folder, new or empty (default: results/compare-<base>-seed<N>)"
    )
    cmp.add_argument("--force", action="store_true", help="replace the --out folder if it holds the output of an earlier run")
    cmp.add_argument("--no-plots", action="store_true", help="skip the PNG plots (the report then has no figures)")
    cmp.add_argument("--quiet", action="store_true", help="no progress bar or findings on screen")
    sw = sub.add_parser(
        "sweep",
        help="a parameter sweep with sensitivity indices, on local cores or a Dask cluster",
        description="Run a sweep file's design (grid, lhs, sobol or morris) with replications on common seeds. "
        "Runs are stored in runs.parquet as they finish; running the same command again after an "
        "interruption skips the finished runs, if the sweep file, its base scenario and retention-sim "
        "are unchanged. Writes points.csv (each point's means with 95 % intervals), best.csv, "
        "response plots and manifest.json; Sobol or Morris indices go to indices.csv.",
    )
    sw.add_argument("sweep", type=Path, help="the sweep file (TOML); see docs/experiments.md")
    sw.add_argument(
        "--workers",
        type=_count("workers", 1, 1024),
        default=None,
        help="local worker processes, this one included, each single-threaded (default and most: the cores this "
        "process may use; more are capped with a warning)",
    )
    sw.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a dask.distributed scheduler, e.g. tcp://10.0.0.5:8786 (instead of local workers)",
    )
    sw.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: results/sweep-<file name>); an interrupted sweep's folder is resumed",
    )
    sw.add_argument(
        "--force",
        action="store_true",
        help="replace the --out folder if it holds an earlier, different retention-sim output, or a sweep whose "
        "stored runs are damaged",
    )
    sw.add_argument(
        "--restart",
        action="store_true",
        help="start the sweep in --out over, discarding its stored runs (needed when the sweep file, its base "
        "scenario or retention-sim changed since they were stored)",
    )
    sw.add_argument(
        "--firm",
        default=None,
        metavar="NAME",
        help="record this firm's metrics (default: the sweep file's firm, else the focal firm)",
    )
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    opt = sub.add_parser(
        "optimise",
        help="find the best strategy within bounds and a budget, confirmed on fresh seeds",
        description="Search an optimisation file's parameters (and budget split) with Optuna on common random "
        "numbers, then re-run the best trials on fresh seeds, paired with the base. The study is "
        "stored as it runs (DIR/study.db): the same command resumes it, every trial exactly once. "
        "Writes trials.parquet, verification.csv, best.toml, report.html and manifest.json.",
    )
    opt.add_argument("file", type=Path, metavar="OPT.toml", help="the optimisation file (TOML); see docs/optimise.md")
    opt.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the study folder (default: results/optimise-<file name>); an interrupted study's folder is resumed",
    )
    opt.add_argument(
        "--workers", type=_positive, default=None, help="local worker processes, each single-threaded (default: the cores)"
    )
    opt.add_argument(
        "--storage",
        default=None,
        metavar="URL",
        help="a database URL shared by the machines of a cluster, e.g. postgresql://host/db "
        "(default: SQLite in the --out folder)",
    )
    opt.add_argument(
        "--force", action="store_true", help="replace the --out folder if it holds an earlier, different retention-sim output"
    )
    opt.add_argument("--quiet", action="store_true", help="no progress bars or recommendation on screen")
    cal = sub.add_parser(
        "calibrate",
        help="fit parameters to observed patterns (survival curves, metrics) with a posterior",
        description="Find the parameters that reproduce what was observed, by approximate Bayesian computation "
        "(pyabc's ABC-SMC): every particle a fresh simulation, so the 95 % intervals account for the "
        "simulation's noise and the data's. Either one survival curve (--observed FILE.csv --fit KEY ...) or "
        "several targets with priors (--targets TARGETS.toml). Writes calibration.json (posterior medians with "
        "95 % intervals, identification, posterior predictive checks of every target and holdout), "
        "posterior.csv, abc.db (every generation), fit.csv and fit.png.",
    )
    cal.add_argument("scenario", help="scenario file or shipped name")
    cal.add_argument(
        "--observed",
        type=Path,
        default=None,
        metavar="FILE.csv",
        help="survivors of one cohort: columns period,active (optionally segment), periods from 0",
    )
    cal.add_argument(
        "--fit",
        action="append",
        default=None,
        metavar="KEY",
        help="with --observed: a numeric parameter to fit, e.g. segments.0.background_churn.alpha (repeatable; "
        "prior log-uniform over a factor 20 either side of its value, or uniform over its bounds)",
    )
    cal.add_argument(
        "--targets",
        type=Path,
        default=None,
        metavar="TARGETS.toml",
        help="instead of --observed and --fit: [parameters] with priors and [[targets]] (survival curves, metrics "
        "with observed value and se, each optionally under set = {...} or holdout = true); see docs/experiments.md",
    )
    cal.add_argument(
        "--holdout-from",
        type=_count("holdout", 2),
        default=None,
        metavar="T",
        help="with --observed: fit periods before T only; later ones test the forecast",
    )
    cal.add_argument(
        "--seed", type=_seed, default=None, help="seed of the whole calibration (default: the scenario's simulation.seed)"
    )
    cal.add_argument(
        "--customers",
        type=_positive,
        default=None,
        help="with --observed: simulated customers per particle (default: as many as the observed cohort has)",
    )
    cal.add_argument(
        "--population", type=_count("population", 20), default=None, help="particles per ABC generation (default 200)"
    )
    cal.add_argument(
        "--workers",
        type=_count("workers", 1),
        default=1,
        help="processes simulating particles (pyabc's multi-core sampler; default 1, the only bit-reproducible choice)",
    )
    cal.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a dask.distributed scheduler, e.g. tcp://10.0.0.5:8786: pyabc's Dask sampler simulates the particles on "
        "its workers (instead of --workers)",
    )
    cal.add_argument("--set", dest="set", action="append", type=_assignment, default=[], metavar="KEY=VALUE", help=set_help)
    cal.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the study folder (default: results/calibrate-<scenario>-seed<seed>): every finished generation is kept "
        "there (abc.db), and the same command resumes an interrupted calibration",
    )
    cal.add_argument(
        "--force", action="store_true", help="replace the --out folder if it holds an earlier, different retention-sim output"
    )
    cal.add_argument("--quiet", action="store_true", help="no result on screen")
    check = sub.add_parser("validate", help="check a scenario file and print it with every default filled in")
    check.add_argument("scenario", help="scenario file or shipped name; see `retention-sim list`")
    check.add_argument("--set", dest="set", action="append", type=_assignment, default=[], metavar="KEY=VALUE", help=set_help)
    sub.add_parser("list", help="list the shipped scenarios and the question each answers")
    pat = sub.add_parser(
        "patterns",
        help="check the model against the pattern suite (what the sources and public data say)",
        description="Measure every pattern of the suite on the shipped scenarios with their shipped defaults "
        "and say whether it holds: a table on the screen and DIR/patterns.csv (pattern, source, "
        "target, value, ci_low, ci_high, holds). The full suite takes a while; --quick runs "
        "every pattern with fewer customers and replications, still with 95 % intervals.",
    )
    pat.add_argument("--out", type=Path, default=None, metavar="DIR", help="folder for patterns.csv (default: results/patterns)")
    pat.add_argument("--quick", action="store_true", help="fewer customers and replications (minutes, not tens of minutes)")
    pat.add_argument(
        "--only", action="append", default=None, metavar="TEXT", help="only the patterns whose name contains TEXT (repeatable)"
    )
    pat.add_argument("--force", action="store_true", help="replace an earlier output in DIR")
    dash = sub.add_parser(
        "dashboard",
        help="serve the interactive dashboard and the classroom game in the browser",
        description="Serve the dashboard (live plots, levers, one customer's story, comparison with a "
        "baseline) and the classroom game at http://HOST:PORT/ until Ctrl-C. It opens no "
        "browser: open the printed address.",
    )
    dash.add_argument("scenario", nargs="?", default=None, help="scenario file or shipped name to start with (default: telecom)")
    dash.add_argument("--port", type=_port, default=8765, help="port to listen on (default: 8765)")
    dash.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 lets the room's devices "
        "connect, and anyone who can reach the port can use it)",
    )
    dash.add_argument(
        "--scenarios",
        type=Path,
        default=None,
        metavar="DIR",
        help="a folder of scenario files (.toml) the browser may pick by name, beside the shipped ones "
        "(a browser never names a path; it may also upload a file)",
    )
    dash.add_argument(
        "--projector",
        action="store_true",
        help="start every page in projector mode (large type, plots that fill the screen); each page can also switch it",
    )
    game = dash.add_argument_group(
        "classroom game",
        "start a game as the trainer's page (/game) does, with its set-up unless told otherwise, and print its join code "
        "and the trainer's address (the game's own rules judge the values, as on that page)",
    )
    game.add_argument("--game", default=None, metavar="SCENARIO",
                      help="start a classroom game on the market of SCENARIO (scenario file or shipped name)")
    game.add_argument("--teams", type=_count("teams", 1, 1000), default=None, metavar="N",
                      help="number of teams, named Team A, Team B, ... (default: as on the trainer's page)")
    game.add_argument("--rounds", type=_count("rounds", 1), default=None, metavar="R",
                      help="rounds of the game (default: as on the trainer's page)")
    game.add_argument("--round-periods", type=_count("round-periods", 1), default=None, metavar="P",
                      help="periods per round (default: as on the trainer's page)")
    game.add_argument("--customers", type=_count("customers", 1), default=None, metavar="N",
                      help="customers in the game's market (default: as on the trainer's page)")
    game.add_argument("--game-seed", type=_count("game-seed", 0), default=None, metavar="S",
                      help="the game's seed (default: as on the trainer's page)")
    game.add_argument("--budget", type=_amount("budget"), default=None, metavar="AMOUNT",
                      help="budget per team and round (default: 10 %% of a team's revenue in a round)")
    return p


GAME_OPTIONS = {"teams": "teams", "rounds": "rounds", "round_periods": "round-periods", "customers": "customers",
                "seed": "game-seed", "budget": "budget"}  # Game.new's set-up values and their options


def _amount(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an amount of money (got {text[:40]!r})") from None
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"must be a non-negative amount (got {text[:40]})")
        return value

    parse.__name__ = name
    return parse


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
    if getattr(args, "unscaled", False):
        _overrides["simulation.scale"] = 1.0
        _labels["simulation.scale"] = "--unscaled"


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


class _Progress:
    """What the current command has done, so an interruption can say it truthfully."""

    written: Path | None = None
    resumable: Path | None = None  # a sweep's folder, whose finished runs are kept on a stop
    memory_hint: str | None = None  # what to lower if memory runs out (see _memory_hint)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code. No traceback reaches the user (see module doc)."""
    _Progress.written = None
    _Progress.resumable = None
    _Progress.memory_hint = None
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
        _say(_out_of_memory())
        return EXIT_ENVIRONMENT
    except RecursionError:
        if os.environ.get("RETENTION_SIM_DEBUG"):
            raise
        _say(
            "the input is nested too deeply to be read (tables or lists inside one another, hundreds of levels); "
            "nothing was written"
        )
        return EXIT_BAD_INPUT
    except OSError as err:
        if os.environ.get("RETENTION_SIM_DEBUG"):
            raise
        if err.errno == errno.ENOMEM:
            _say(_out_of_memory())
            return EXIT_ENVIRONMENT
        where = f": {str(err.filename)[:200]}" if err.filename else ""
        _say(f"{err.strerror or err}{where}")
        return EXIT_ENVIRONMENT
    except Exception as err:
        stopped = signals.received()
        if stopped is not None:  # a library cut short by the signal failed after it: the stop is the cause
            _say(("interrupted (Ctrl-C); " if stopped == 2 else f"stopped by {outputs.Terminated(stopped)}; ") + _after_stop())
            return 128 + stopped
        if isinstance(err, ImportError) and "failed to map segment" in str(err):
            _say(_out_of_memory())
            return EXIT_ENVIRONMENT
        if os.environ.get("RETENTION_SIM_DEBUG"):
            raise
        text = " ".join(str(err).split())[:300]
        _say(f"internal error: {type(err).__name__}: {text} (set RETENTION_SIM_DEBUG=1 for the traceback)")
        return EXIT_ENVIRONMENT
    finally:
        outputs.discard_open()  # a staging folder a signal left unowned (see sim.outputs)
        _overrides.clear()
        _labels.clear()


def program() -> NoReturn:
    """The ``retention-sim`` program: :func:`main`, then :func:`sim.signals.end_program` with its exit
    code (a signal while the process ends is as quiet as during the command)."""
    signals.end_program(main())


def _out_of_memory() -> str:
    return "out of memory; " + (_Progress.memory_hint or "try fewer customers (--customers) or a shorter horizon (--periods)")


def _memory_hint(scenario) -> str:
    """What to lower when a run of ``scenario`` does not fit: the initial customers, or the arrivals
    that the acquisition budgets buy, whichever the population mostly consists of."""
    total = scenario.expected_customers()
    arrivals = total - scenario.simulation.customers
    if arrivals > scenario.simulation.customers:
        per_period = arrivals / max(scenario.simulation.periods, 1)
        firm = max(range(len(scenario.firms)), key=scenario.bought_per_period)
        return (
            f"the firms acquire about {per_period:,.0f} customers a period ({arrivals:,.0f} over the horizon); lower "
            f"firms.{firm}.acquisition_spend or raise firms.{firm}.cost_per_acquisition (--set), "
            "or shorten the horizon (--periods)"
        )
    return "try fewer customers (--customers) or a shorter horizon (--periods)"


def _available_memory() -> tuple[float, str] | None:
    """The memory this process may still take, and what limits it: the smallest of the address-space
    limit (``ulimit -v``) beyond what the engine needs, the control group's limit beyond its use, and
    the memory the system reports available. None where none can be read."""
    import resource

    found: list[tuple[float, str]] = []
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        found.append((soft - ENGINE_ADDRESS_SPACE, f"the address-space limit (ulimit -v) of {soft / 1e9:.1f} GB"))
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            found.append(
                (int(limit) - int(used), f"the memory limit of this process's control group ({int(limit) / 1e9:.1f} GB)")
            )
    except OSError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
                swap = sum(
                    int(x.split()[1]) * 1024 for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("SwapFree:")
                )
                found.append((free + swap, "the memory available on this machine"))
    except (OSError, ValueError, IndexError):
        pass
    return min(found) if found else None


def _check_memory(scenario, copies: int = 1) -> None:
    """Refuse, before anything is written, a run that cannot fit (exit 1 with the out-of-memory line
    naming what to lower): the engine's address space under ``ulimit -v``, and ``copies`` populations
    of the customers the scenario is expected to hold (initial plus arrivals) at a lower bound of
    :data:`BYTES_PER_CUSTOMER` each."""
    import resource

    _Progress.memory_hint = _memory_hint(scenario)
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and soft < ENGINE_ADDRESS_SPACE:
        raise _OutOfMemory(
            f"the address-space limit (ulimit -v) of {soft / 1e6:,.0f} MB is below the "
            f"{ENGINE_ADDRESS_SPACE / 1e6:,.0f} MB retention-sim needs to load its engine; raise it"
        )
    need = scenario.expected_customers() * BYTES_PER_CUSTOMER * copies
    available = _available_memory()
    if available is not None and need > available[0]:
        raise _OutOfMemory(
            f"this run needs at least {need / 1e9:,.1f} GB for about {scenario.expected_customers() * copies:,.0f} "
            f"customers, beyond {available[1]}; {_Progress.memory_hint}; nothing was written"
        )


class _OutOfMemory(Exception):
    """A run that cannot fit in the memory it may use (exit 1)."""


def _after_stop() -> str:
    folder = _Progress.resumable
    from .calibrate import DATABASE

    if folder is not None and (folder / DATABASE).exists():
        from .calibrate import stored_generations

        done = stored_generations(folder / DATABASE)
        if done:
            return (
                f"the {done} finished generation{'s' if done > 1 else ''} of the calibration {'are' if done > 1 else 'is'} "
                f"kept in {folder / DATABASE}; run the same command again to resume"
            )
        return f"no generation had finished; {folder} is kept and the same command starts the calibration again"
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
        return {
            "run": _run,
            "compare": _compare,
            "sweep": _sweep,
            "optimise": _optimise,
            "calibrate": _calibrate,
            "validate": _validate,
            "list": _list,
            "patterns": _patterns,
            "dashboard": _dashboard,
        }[args.command](args)
    except ScenarioError as err:
        _say(err.one_line())
        return EXIT_BAD_INPUT
    except outputs.OutputError as err:
        label = f"--out {err.path}" if getattr(args, "out", None) is not None else f"output folder {err.path}"
        _say(f"{label[:300]}: {err.reason}")
        return err.exit_code
    except _OutOfMemory as err:
        _say(f"out of memory: {err}")
        return EXIT_ENVIRONMENT
    except _BadOption as err:
        _say(str(err))
        return EXIT_BAD_INPUT


def _default_out(name: str, seed: int | None = None) -> Path:
    """``results/<name>-seed<N>``, the name made safe for a file name and at most 80 characters (a
    longer one is cut and marked with a short hash, so two long names stay apart)."""
    import hashlib

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".") or "scenario"
    if len(safe) > 80:
        safe = safe[:71] + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return Path("results") / (f"{safe}-seed{seed}" if seed is not None else safe)


def _run(args) -> int:
    scenario = load(args.scenario)
    seed = scenario.simulation.seed if args.seed is None else args.seed
    out = args.out if args.out is not None else _default_out(scenario.name, seed)
    _check_memory(scenario)
    with outputs.prepare(out, force=args.force) as staging:  # refuses or fails before simulating
        from .results import run  # heavy: pandas, mesa, numba

        res = run(scenario, seed=seed, progress=not args.quiet)
        if args.replications >= 2 and scenario.counterfactual is not None:
            from .compare import effect

            if not args.quiet:
                _say(f"the answer's effect: {args.replications} paired replications of the scenario and its counterfactual")
            res.effect = effect(scenario, args.replications, seed)
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
    if args.precision is not None and args.replications > PRECISION_CAP:
        _say(f"--replications {args.replications}: with --precision, start with at most {PRECISION_CAP} replications (its cap)")
        return EXIT_BAD_INPUT
    for scenario in scenarios:
        try:
            scenario.firm_index(args.firm)
        except ValueError as err:
            _say(f"--firm: {err}")
            return EXIT_BAD_INPUT
        _check_memory(scenario)
    with outputs.prepare(out, force=args.force) as staging:
        from .compare import compare  # heavy
        from .report import readable, sentence

        if not args.quiet and not sys.stderr.isatty():
            _say(
                f"comparing {len(scenarios)} scenarios, {args.replications} replications each"
                + (f", more until the {args.precision[0]} interval is +/-{args.precision[1]:g}" if args.precision else "")
            )
        result = compare(
            scenarios,
            replications=args.replications,
            seed=seed,
            progress=not args.quiet and sys.stderr.isatty(),
            precision=args.precision,
            max_replications=PRECISION_CAP,
            firm=args.firm,
        )
        try:
            result.write_files(staging.path, plots=not args.no_plots)
        except OSError as err:
            raise outputs.OutputUnwritable(out, f"cannot write the outputs: {err.strerror or err}; nothing was written") from None
        staging.commit()
        _Progress.written = Path(out)
    if result.precision is not None and not result.precision["reached"]:
        p = result.precision
        _say(
            f"warning: --precision {p['metric']}={p['target']:g} not reached: the cap of {p['cap']} replications stopped it "
            f"at a half-width of {readable(p['achieved'])}"
        )
    if not args.quiet:
        money = scenarios[0].simulation.currency
        print(f"baseline {result.baseline}; {len(result.seeds)} paired replications (seed {seed})")
        for _, row in result.differences.iterrows():
            text = sentence(row, money)
            if text:
                print(f"  {text}")
        print(f"outputs in {out}/ (open report.html)")
    return 0


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _connect(address: str):
    """A client of the Dask scheduler at ``address``, connected before any folder is made."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise _BadOption("--scheduler", "needs the distributed package (pip install distributed)") from None
    import logging

    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # its own connection log lines; ours is the one line
    try:
        return Client(address, timeout="10s")
    except (ValueError, TypeError) as err:
        raise _BadOption(f"--scheduler {address[:80]}", f"not a scheduler address, e.g. tcp://10.0.0.5:8786 ({err})") from None
    except (OSError, TimeoutError) as err:
        raise outputs.OutputUnwritable(
            f"--scheduler {address[:80]}", f"cannot connect: {' '.join(str(err).split())[:200]}"
        ) from None


class _BadOption(Exception):
    def __init__(self, option: str, reason: str):
        super().__init__(f"{option}: {reason}")


def _sweep(args) -> int:
    from .sweep import SweepError, check_firm, load_spec, run_sweep, start_workers_early

    try:
        spec, base = load_spec(args.sweep)
        if args.firm is not None:
            spec = spec.model_copy(update={"firm": args.firm})
            check_firm(spec, base, "--firm")
    except SweepError as err:
        _say(str(err))
        return EXIT_BAD_INPUT
    out = args.out if args.out is not None else _default_out(f"sweep-{args.sweep.stem}")
    cores = _cores()
    workers = args.workers or cores
    if workers > cores:
        _say(
            f"warning: --workers {workers} is more than the {cores} core{'s' if cores > 1 else ''} this process may use; "
            f"using {cores}"
        )
        workers = cores
    _check_memory(base, copies=workers)
    scheduler = None
    if args.scheduler is not None:
        try:
            scheduler = _connect(args.scheduler)
        except _BadOption as err:
            _say(str(err))
            return EXIT_BAD_INPUT
    try:
        if scheduler is None:
            start_workers_early(workers)
        _Progress.resumable = Path(out)
        where = (
            f"on the Dask cluster at {args.scheduler}"
            if scheduler is not None
            else f"on {workers} worker{'s' if workers > 1 else ''}"
        )

        def announce(left: int, total: int) -> None:  # once the folder is accepted: a refusal stays one line
            if not args.quiet:
                resumed = f" ({left:,} left, the others resumed)" if left < total else ""
                _say(f"sweep: {total:,} runs ({spec.n_points():,} points x {spec.replications:,}){resumed} {where} into {out}/")

        result = run_sweep(
            spec,
            out,
            base=base,
            workers=workers,
            scheduler=scheduler,
            force=args.force,
            restart=args.restart,
            progress=not args.quiet and sys.stderr.isatty(),
            announce=announce,
        )
    finally:
        if scheduler is not None:
            scheduler.close()
    _Progress.written = Path(out)
    for warning in result.warnings:
        _say(f"warning: {warning}")
    if not args.quiet:
        print(summarise_sweep(result, out))
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
        result = optimise(
            spec, out, workers=workers, storage=args.storage, force=args.force, progress=not args.quiet and sys.stderr.isatty()
        )
    except StorageUnavailable as err:
        _say(str(err))
        return EXIT_ENVIRONMENT
    except (KeyboardInterrupt, outputs.Terminated) as stop:
        what = "interrupted (Ctrl-C)" if isinstance(stop, KeyboardInterrupt) else f"stopped by {stop}"
        kept = (
            f"the finished trials are kept in {store}; run the same command again to resume"
            if (out / "study.db").exists() or args.storage
            else "nothing was written"
        )
        _say(f"{what}; {kept}")
        return EXIT_INTERRUPTED if isinstance(stop, KeyboardInterrupt) else stop.exit_code
    _Progress.written = Path(out)
    if not args.quiet:
        print(paragraph(result))
        print(
            f"outputs in {out}/ (open report.html; best.toml runs with `{PROG} run`)"
            if result.best_toml
            else f"outputs in {out}/ (open report.html)"
        )
    return 0


def summarise_sweep(result, out) -> str:
    """What a finished sweep prints: for a grid (or any design of at most 30 points) the table of
    points, each metric's mean with its 95 % interval; the best point for each metric; and where
    everything is."""
    from .report import readable

    lines = []
    table = result.point_table()
    metrics = list(result.spec.metrics)
    names = result.names

    def cell(row, m) -> str:
        lo, hi = row[f"{m}_ci_low"], row[f"{m}_ci_high"]
        ci = f" ({readable(lo)} to {readable(hi)})" if lo == lo and hi == hi else ""
        return readable(row[m]) + ci if row[m] == row[m] else "n/a"

    if result.spec.design == "grid" or len(table) <= 30:
        shown = table.head(50)
        header = ["point", *names, *metrics]
        rows = [
            [str(int(r["point"])), *[_setting(r[n]) for n in names], *[cell(r, m) for m in metrics]] for _, r in shown.iterrows()
        ]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        lines.append(
            f"{len(table):,} design points, mean over {result.spec.replications} replication"
            f"{'s' if result.spec.replications > 1 else ''} (95 % interval):"
        )
        lines.append("  " + "  ".join(h.rjust(w) for h, w in zip(header, widths)))
        lines += ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
        if len(table) > len(shown):
            lines.append(f"  ... {len(table) - len(shown):,} more in {out}/points.csv")
    best = result.best()
    if not best.empty:
        lines.append("best point per metric:")
        for _, b in best.iterrows():
            at = ", ".join(f"{n} = {_setting(b[n])}" for n in names)
            tie = ""
            if b["runner_up"] == b["runner_up"] and b["difference_ci_low"] <= 0 <= b["difference_ci_high"]:
                tie = (
                    f"; not distinguishable from point {int(b['runner_up'])} (paired difference {readable(b['difference'])}, "
                    f"95 % CI {readable(b['difference_ci_low'])} to {readable(b['difference_ci_high'])})"
                )
            lines.append(f"  {b['metric']} ({b['better']} is better): point {int(b['point'])} ({at}): {cell_best(b)}{tie}")
    if result.spec.design in ("sobol", "morris"):
        for _, row in result.noise().iterrows():
            share = row["share_of_point_mean_variance"]
            if share == share:
                lines.append(f"replication noise in {row['metric']}: {share:.0%} of the variance of the point means")
    extra = " and indices in indices.csv" if (Path(out) / "indices.csv").exists() else ""
    lines.append(f"{len(result.runs):,} runs in {out}/runs.parquet; points.csv, best.csv and plots/{extra}")
    return "\n".join(lines)


def _setting(value) -> str:
    """A parameter's value as set: whole numbers without decimals, others in :func:`readable` form."""
    from .report import readable

    v = float(value)
    return f"{int(v):,}" if v.is_integer() and abs(v) < 1e15 else readable(v)


def cell_best(b) -> str:
    from .report import readable

    ci = f" (95 % CI {readable(b['ci_low'])} to {readable(b['ci_high'])})" if b["ci_low"] == b["ci_low"] else ""
    return readable(b["mean"]) + ci


def _calibrate(args) -> int:
    """The calibrate command: every input checked before anything is written; the study folder keeps
    every finished generation, so the same command resumes an interrupted calibration."""
    from .calibrate import (
        DATABASE,
        LOCK,
        OUTPUTS,
        CalibrationError,
        calibrate_targets,
        read_observed,
        read_targets,
        single_curve,
        study_digest,
    )

    scenario = load(args.scenario)
    try:
        if (args.observed is None) == (args.targets is None):
            raise CalibrationError("give either --observed FILE.csv with --fit KEY, or --targets TARGETS.toml")
        if args.targets is not None:
            for option, value in (("--fit", args.fit), ("--holdout-from", args.holdout_from), ("--customers", args.customers)):
                if value is not None:
                    raise CalibrationError(f"{option}: belongs to --observed; with --targets, say it in {args.targets}")
            targets, priors, settings = read_targets(args.targets, scenario)
        else:
            if not args.fit:
                raise CalibrationError("--observed needs at least one --fit KEY (the parameters to fit)")
            observed = read_observed(args.observed)
            scenario, targets, priors = single_curve(scenario, observed, args.fit, args.holdout_from, args.customers)
            settings = {}
    except CalibrationError as err:
        _say(str(err))
        return EXIT_BAD_INPUT
    if args.population is not None:
        settings["population"] = args.population
    seed = scenario.simulation.seed if args.seed is None else args.seed
    out = Path(args.out if args.out is not None else _default_out(f"calibrate-{scenario.name}", seed))
    _check_memory(scenario, copies=args.workers)
    scheduler = None
    if args.scheduler is not None:
        try:
            scheduler = _connect(args.scheduler)
        except _BadOption as err:
            _say(str(err))
            return EXIT_BAD_INPUT
    try:
        digest = study_digest(scenario, targets, priors, settings, seed)
        study = [DATABASE, f"{DATABASE}-journal", LOCK]
        resumed = outputs.prepare_study(out, "calibrate", digest, args.force, study, OUTPUTS)
        _Progress.resumable = out
        with outputs.study_lock(out, LOCK, "calibrate"):
            if resumed and not args.quiet:
                _say(f"calibrate: resuming the calibration kept in {out}/")
            try:
                result = calibrate_targets(
                    scenario, targets, priors, seed=seed, workers=args.workers, folder=out, scheduler=scheduler, **settings
                )
            except CalibrationError as err:
                _say(str(err))
                return EXIT_BAD_INPUT
            files = result.write_files(out)
            outputs.write_study_marker(out, "calibrate", digest, [*study, *files])
    finally:
        if scheduler is not None:
            scheduler.close()
    _Progress.resumable = None
    _Progress.written = out
    if not args.quiet:
        for key in result.keys:
            lo, hi = result.intervals[key]
            ident = result.identification[key]
            note = "" if ident["status"] == "identified" else f" - unidentifiable: {ident['reason']}"
            print(f"  {key} = {result.values[key]:.4g} (posterior median, 95 % interval {lo:.4g} to {hi:.4g}){note}")
        for check in result.checks:
            kind = "holdout " if check["holdout"] else ""
            if check["kind"] in ("metric", "pattern"):
                band = (
                    f"; the pattern's band ({check['pattern_band']}) holds in {check['share_in_pattern_band']:.0%} of the draws"
                    if check["kind"] == "pattern" and check["share_in_pattern_band"] is not None
                    else ""
                )
                print(
                    f"  {kind}check {check['target']}: observed {check['observed']:.4g}, posterior predictive "
                    f"{check['predictive_low']:.4g} to {check['predictive_high']:.4g}{band}"
                )
            else:
                text = f"{check['periods_within_95']} of {check['periods']} fitted periods"
                if "holdout_periods" in check:
                    text += f", {check['holdout_periods_within_95']} of {check['holdout_periods']} held-out periods"
                print(f"  {kind}check {check['target']}: {text} within the posterior predictive 95 % band")
        for seg, err in result.holdout_error.items():
            print(
                f"  holdout error ({seg}): model {err['model']:.1f} %, constant retention {err['constant_retention']:.1f} % "
                f"(mean absolute percentage)"
            )
        abc = result.abc
        df = abc["degrees_of_freedom"]
        print(
            f"  ABC-SMC: {abc['generations']} generations of {abc['population']} particles, {abc['simulations']:,} simulations, "
            f"final tolerance {abc['final_epsilon']:.3g} ({df} degree{'s' if df != 1 else ''} of freedom)"
        )
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
        clv_text = (
            f"{clv['mean']:,.0f} {money} ({clv['n_censored']:,} of {clv['n']:,} censored)" if clv["mean"] is not None else "n/a"
        )
        projected = f["clv"].get("initial_cohort_projected")
        if projected is not None:
            clv_text += f", {projected:,.0f} {money} with the value beyond the horizon"
        churn = f["mean_churn_per_period"]
        churn_text = f"{churn:.2%}" if churn is not None else "n/a"
        profit_text = f"{f['profit_total']:,.0f} {money}"
        if f.get("profit_projected") is not None:
            profit_text += f" ({f['profit_projected']:,.0f} {money} discounted, with the customers held at the horizon)"
        print(
            f"  {name:<{width}}  retention {ret or 'n/a'} | mean churn/period {churn_text} | "
            f"mean CLV of the initial customers {clv_text} | profit to the horizon {profit_text}"
        )
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
        print(
            f"{'holds' if o.holds else 'FAILS':>5}  {o.pattern.name}\n       {fmt(e.value)} [{fmt(e.ci_low)}, {fmt(e.ci_high)}]"
            f"  target {o.pattern.target.describe()}  ({e.detail}; {o.seconds:.0f} s)",
            flush=True,
        )

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
    game = _new_game(args)
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
            reason = (
                "is in use; choose another with --port" if err.errno == errno.EADDRINUSE else (err.strerror or str(err)).lower()
            )
            _say(f"--port {args.port} on {args.host}: {reason}")
            return EXIT_BAD_INPUT
    scenarios = None
    if args.scenarios is not None:
        if not args.scenarios.is_dir():
            _say(f"--scenarios {args.scenarios}: {'no such folder' if not args.scenarios.exists() else 'not a folder'}")
            return EXIT_BAD_INPUT
        scenarios = str(args.scenarios.resolve())
    from .dashboard import serve  # heavy: solara, mesa's visualisation, the model

    return serve(spec, host=args.host, port=args.port, scenarios=scenarios, projector=args.projector, game=game)


def _new_game(args):
    """The game ``dashboard --game`` starts (None without --game); _BadOption naming the option that
    is wrong and why (the game's own rules, :meth:`sim.game.Game.new`, judge, as on the trainer's page)."""
    from .game import NEW_GAME, TEAM_NAMES, Game, GameError
    from .scenario import ScenarioError

    given = {key: getattr(args, key if key != "seed" else "game_seed") for key in GAME_OPTIONS}
    if args.game is None:
        extra = next((key for key, value in given.items() if value is not None), None)
        if extra is not None:
            raise _BadOption(f"--{GAME_OPTIONS[extra]}", "sets up a classroom game; give its market with --game SCENARIO")
        return None
    try:
        market = load(resolve_path(args.game))
    except ScenarioError as err:
        raise _BadOption("--game", err.one_line()) from None
    setup = {**NEW_GAME, "budget": None, **{key: value for key, value in given.items() if value is not None}}
    names = [TEAM_NAMES[k] if k < len(TEAM_NAMES) else f"Team {k + 1}" for k in range(setup["teams"])]
    try:
        return Game.new(market, names, seed=setup["seed"], round_periods=setup["round_periods"], rounds=setup["rounds"],
                        customers=setup["customers"], budget=setup["budget"])
    except GameError as err:
        if err.key in GAME_OPTIONS:
            raise _BadOption(f"--{GAME_OPTIONS[err.key]} {setup[err.key]}", str(err)) from None
        raise _BadOption(f"--game {args.game}", str(err)) from None


if __name__ == "__main__":  # pragma: no cover
    program()
