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

from . import __version__, outputs

# sim.scenario (pydantic) is imported inside main, after the signal handlers are in place, so that
# even a Ctrl-C during start-up gives one line rather than a traceback.

PROG = "retention-sim"
EXIT_ENVIRONMENT = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (exit 2) instead of the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = re.sub(r"^argument ([^:]+): ", r"\1: ", message)
        commands = "run, validate, list or dashboard"
        message = re.sub(r"^\{run,validate,list,dashboard\}: invalid choice: (\S+) .*", rf"unknown command \1; the commands are {commands}", message)
        message = re.sub(r"^the following arguments are required: \{run,validate,list,dashboard\}$", f"give a command: {commands}", message)
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
    sub = p.add_subparsers(dest="command", required=True, metavar="{run,validate,list,dashboard}")
    set_help = ("override one scenario key, e.g. --set firms.0.price=33.5 or --set 'firms.0.name=\"x\"' "
                "(VALUE is read as TOML; repeatable)")
    run = sub.add_parser("run", help="run a scenario and write tables, summary, plots and a manifest",
                         description="Run a scenario and write its tables, summary, plots and manifest into a new folder. "
                                     "Runs are reproducible by default: without --seed the scenario's simulation.seed is used.")
    run.add_argument("scenario", nargs="?", default=None, help="scenario file or shipped name (default: telecom); see `retention-sim list`")
    run.add_argument("--seed", type=_seed, default=None,
                     help="seed for every random draw (default: the scenario's simulation.seed, so the same command gives the same results)")
    run.add_argument("--customers", type=_positive, default=None, help="initial customers (overrides simulation.customers)")
    run.add_argument("--periods", type=_positive, default=None, help="horizon in periods (overrides simulation.periods)")
    run.add_argument("--set", dest="set", action="append", type=_assignment, default=[], metavar="KEY=VALUE", help=set_help)
    run.add_argument("--out", type=Path, default=None,
                     help="output folder, new or empty (default: results/<scenario>-seed<N>); a folder with other files is refused")
    run.add_argument("--force", action="store_true", help="replace the --out folder if it holds the output of an earlier run")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary on screen")
    check = sub.add_parser("validate", help="check a scenario file and print it with every default filled in")
    check.add_argument("scenario", help="scenario file or shipped name; see `retention-sim list`")
    check.add_argument("--set", dest="set", action="append", type=_assignment, default=[], metavar="KEY=VALUE", help=set_help)
    sub.add_parser("list", help="list the shipped scenarios and the question each answers")
    dash = sub.add_parser("dashboard", help="serve the interactive dashboard and the classroom game in the browser",
                          description="Serve the dashboard (live plots, levers, one customer's story, comparison with a "
                                      "baseline) and the classroom game at http://HOST:PORT/ until Ctrl-C. It opens no "
                                      "browser: open the printed address.")
    dash.add_argument("scenario", nargs="?", default=None, help="scenario file or shipped name to start with (default: telecom)")
    dash.add_argument("--port", type=_port, default=8765, help="port to listen on (default: 8765)")
    dash.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 lets the room's devices connect)")
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code. No traceback reaches the user (see module doc)."""
    _Progress.written = None
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
        return {"run": _run, "validate": _validate, "list": _list, "dashboard": _dashboard}[args.command](args)
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
        _print_summary(res.summary, out)
    return 0


def _print_summary(summary: dict, out: Path) -> None:
    question = f": {summary['question']}" if summary.get("question") else ""
    money = summary.get("currency", "")
    print(f"scenario {summary['scenario']} (seed {summary['seed']}){question}")
    for name, f in summary["firms"].items():
        ret = ", ".join(f"{k.replace('_months', ' mo')}: {v:.1%}" for k, v in f["retention"].items() if v is not None)
        clv = f["clv"]["initial_cohort"]
        clv_text = f"{clv['mean']:,.0f} {money} ({clv['n_censored']:,} of {clv['n']:,} censored)" if clv["mean"] is not None else "n/a"
        churn = f["mean_churn_per_period"]
        churn_text = f"{churn:.2%}" if churn is not None else "n/a"
        print(f"  {name:>14}: retention {ret or 'n/a'} | mean churn/period {churn_text} | "
              f"mean CLV of the initial customers {clv_text} | profit {f['profit_total']:,.0f} {money}")
    print(f"outputs in {out}/")


def _validate(args) -> int:
    from .reference import annotated_toml

    scenario = load(resolve_path(args.scenario))
    print(annotated_toml(scenario), end="")
    return 0


def _list(args) -> int:
    for name, path in sorted(shipped_scenarios().items()):
        print(f"{name:>14}: {load(path).question}")
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
        try:
            probe.bind((args.host, args.port))
        except OSError as err:
            reason = "is in use; choose another with --port" if err.errno == errno.EADDRINUSE else (err.strerror or str(err)).lower()
            _say(f"--port {args.port} on {args.host}: {reason}")
            return EXIT_BAD_INPUT
    from .dashboard import serve  # heavy: solara, mesa's visualisation, the model

    return serve(spec, host=args.host, port=args.port)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
