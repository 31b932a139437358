"""The ``retention-sim`` command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .scenario import ScenarioError, load, resolve_path, shipped_scenarios

EXIT_BAD_INPUT = 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="retention-sim", description="Simulate customer retention: bonded vs attached customers, measures, churn and CLV.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write tables, summary, plots and a manifest")
    run.add_argument("scenario", nargs="?", default=None, help="scenario file or shipped name (default: telecom); see `retention-sim list`")
    run.add_argument("--seed", type=_seed, default=None, help="seed for every random draw (default: the scenario's)")
    run.add_argument("--customers", type=_positive, default=None, help="initial customers (overrides simulation.customers)")
    run.add_argument("--periods", type=_positive, default=None, help="horizon in periods (overrides simulation.periods)")
    run.add_argument("--out", type=Path, default=None, help="output folder (default: results/<scenario>-seed<N>)")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary on screen")
    check = sub.add_parser("validate", help="check a scenario file and print it with every default filled in")
    check.add_argument("scenario")
    sub.add_parser("list", help="list the shipped scenarios and the question each answers")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return {"run": _run, "validate": _validate, "list": _list}[args.command](args)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _overrides(args) -> dict:
    out = {}
    if args.customers is not None:
        out["simulation.customers"] = args.customers
    if args.periods is not None:
        out["simulation.periods"] = args.periods
    return out


def _run(args) -> int:
    from .results import run

    scenario = load(args.scenario, _overrides(args))
    seed = scenario.simulation.seed if args.seed is None else args.seed
    out = args.out or Path("results") / f"{scenario.name}-seed{seed}"
    if out.exists() and not out.is_dir():
        print(f"error: --out {out}: exists and is not a folder", file=sys.stderr)
        return EXIT_BAD_INPUT
    res = run(scenario, seed=seed, progress=not args.quiet)
    res.write(out, plots=not args.no_plots)
    if not args.quiet:
        _print_summary(res.summary, out)
    return 0


def _print_summary(summary: dict, out: Path) -> None:
    print(f"scenario {summary['scenario']} (seed {summary['seed']}): {summary['question']}")
    for name, f in summary["firms"].items():
        ret = ", ".join(f"{k.replace('_months', ' mo')}: {v:.1%}" for k, v in f["retention"].items() if v is not None)
        clv = f["clv"]["all"]
        clv_text = f"{clv['mean']:.0f}" if clv["mean"] is not None else "n/a"
        print(f"  {name:>14}: retention {ret or 'n/a'} | mean churn/period {f['mean_churn_per_period']:.2%} | "
              f"mean CLV {clv_text} | profit {f['profit_total']:.0f}")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
