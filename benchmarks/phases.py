"""Where a run's time goes: the seconds of each phase of a period, from a timed run.

The engine's period (:meth:`sim.engine.Engine._step`) calls four phase methods in turn: ``plan``
(which measures run), ``arrive`` (new customers and their traits), ``customers_pass`` (the compiled
pass over every customer: every rule of the model) and ``close_relationships`` (the log of the
period's leavers and switchers). :func:`instrument` wraps these methods on one engine so that each
call adds its wall time to a counter; whatever the run spends outside them (the firms' books, the
Mesa model step and its DataCollector, the Python between phases) is ``other``.

The pass is the only part whose work grows with the number of customers in a period; the other
phases cost a roughly fixed amount per period (arrivals and leavers number a few hundred a period in
the telecom scenario, whatever its size). Hence ``outside_pass_ns``: what the rest costs, spread over
the period's customers, the part of a customer-period's cost that no faster pass can remove.

    python benchmarks/phases.py                  # telecom, 10k customers, 120 periods
    python benchmarks/phases.py 1000 --engine    # the bare engine (no Mesa model), as replications run
    python benchmarks/phases.py --mechanisms     # the pass with each mechanism switched off in turn

``--mechanisms`` times the pass of the telecom scenario with every mechanism on and then with each
one switched off (``mechanisms.<name> = false``), so that the difference is what that mechanism costs
per customer-period (best of 3 each; switching one off also changes who is active, so the figures
are per active customer-period).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sim  # noqa: E402
from sim.books import STAT  # noqa: E402
from sim.engine import Engine  # noqa: E402
from sim.metrics import engine_metrics  # noqa: E402
from sim.scenario import load  # noqa: E402

PHASES = ("plan", "arrive", "customers_pass", "close_relationships")


def instrument(engine: Engine) -> Counter:
    """Time every call of the engine's phase methods; returns the counter of seconds by phase."""
    seconds: Counter = Counter()
    for name in PHASES:
        method = getattr(engine, name)

        def timed(*args, _method=method, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                seconds[_name] += time.perf_counter() - start

        setattr(engine, name, timed)  # an instance attribute: _step's self.<phase>(...) finds it first
    return seconds


def _summary(seconds: Counter, total: float, customer_periods: int, periods: int) -> dict:
    out = {"customer_periods": customer_periods, "periods": periods, "total_s": round(total, 6),
           "total_us_per_period": round(total / periods * 1e6, 1)}
    other = total - sum(seconds[p] for p in PHASES)
    for name, s in [*((p, seconds[p]) for p in PHASES), ("other", other)]:
        out[f"{name}_us_per_period"] = round(s / periods * 1e6, 1)
        out[f"{name}_ns"] = round(s / customer_periods * 1e9, 1)
    outside = total - seconds["customers_pass"]
    out["outside_pass_ns"] = round(outside / customer_periods * 1e9, 1)
    out["pass_share"] = round(seconds["customers_pass"] / total, 3)
    return out


def model_phases(scenario="telecom", customers: int = 10_000, periods: int = 120, repeats: int = 3, seed: int = 1) -> dict:
    """A run of ``sim.RetentionModel`` (the Mesa model, as ``throughput.py`` times it), best of
    ``repeats`` by total time; per phase: microseconds per period and nanoseconds per customer-period."""
    sim.RetentionModel(scenario, rng=seed, **{"simulation.customers": 100, "simulation.periods": 2}).run()  # compiled code loaded
    best = None
    for r in range(repeats):
        model = sim.RetentionModel(scenario, rng=seed + r, **{"simulation.customers": customers, "simulation.periods": periods})
        seconds = instrument(model.engine)
        start = time.perf_counter()
        model.run()
        total = time.perf_counter() - start
        active = int(model.datacollector.get_agent_vars_dataframe()["active"].sum())
        if best is None or total < best[1]:
            best = (seconds, total, active)
    return {"customers": customers, **_summary(best[0], best[1], best[2], periods)}


def engine_phases(scenario, seeds: list[int], repeats: int = 3) -> dict:
    """A run of the bare engine over ``seeds`` (one replication each, batched), from its construction
    to the metrics computed at the end, as ``compare`` and ``sweep`` run replications (and as
    ``experiments.py`` times them); best of ``repeats`` by total time."""
    Engine(scenario, seeds[:1], threads=1).run()
    best = None
    for _ in range(repeats):
        start = time.perf_counter()
        engine = Engine(scenario, seeds, threads=1)
        seconds = instrument(engine)
        engine.run()
        engine_metrics(engine)
        total = time.perf_counter() - start
        active = int(engine.books.ledger[..., STAT["active"]].sum())
        if best is None or total < best[1]:
            best = (seconds, total, active)
    return {"replications": len(seeds), **_summary(best[0], best[1], best[2], scenario.simulation.periods)}


MECHANISMS = ("measures", "experience", "bonding", "attachment", "choice", "promotion", "background_churn")


def mechanism_costs(customers: int = 10_000, periods: int = 120, repeats: int = 3, seed: int = 1) -> dict:
    """Pass and total nanoseconds per customer-period of the telecom scenario with every mechanism on
    (``None``) and with each of :data:`MECHANISMS` switched off in turn."""
    out = {}
    for off in (None, *MECHANISMS):
        switch = {} if off is None else {f"mechanisms.{off}": False}
        sim.RetentionModel("telecom", rng=seed, **{"simulation.customers": 100, "simulation.periods": 2}, **switch).run()
        best = None
        for r in range(repeats):
            model = sim.RetentionModel("telecom", rng=seed + r, **{"simulation.customers": customers,
                                                                    "simulation.periods": periods}, **switch)
            seconds = instrument(model.engine)
            start = time.perf_counter()
            model.run()
            total = time.perf_counter() - start
            active = int(model.engine.books.ledger[..., STAT["active"]].sum())
            if best is None or seconds["customers_pass"] / active < best[0]:
                best = (seconds["customers_pass"] / active, total / active)
        out[str(off)] = {"pass_ns": round(best[0] * 1e9, 1), "total_ns": round(best[1] * 1e9, 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("customers", nargs="?", type=int, default=10_000)
    ap.add_argument("--periods", type=int, default=120)
    ap.add_argument("--engine", action="store_true", help="time the bare engine (one replication), not the Mesa model")
    ap.add_argument("--mechanisms", action="store_true", help="the pass with each mechanism switched off in turn")
    a = ap.parse_args()
    if a.mechanisms:
        print(json.dumps(mechanism_costs(a.customers, a.periods)))
    elif a.engine:
        sc = load("telecom", {"simulation.customers": a.customers, "simulation.periods": a.periods})
        print(json.dumps(engine_phases(sc, [1])))
    else:
        print(json.dumps(model_phases(customers=a.customers, periods=a.periods)))


if __name__ == "__main__":
    main()
