"""The retention model as a ``mesa.Model``: customers live in the engine's arrays, firms are agents."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from functools import partial
from operator import attrgetter
from typing import Any

import mesa
import numpy as np

from .books import FIRM_STATS, STAT
from .codes import END_REASONS, LOYALTY_CLASSES, MEASURE_BIT, OUT, Event
from .engine import Engine
from .measures import LEVERS
from .measures import contract as contract_lever
from .measures.base import P0
from .mechanisms.bonding import PHASES, phase
from .metrics import METRICS, model_metric
from .params import Scenario
from .population import cohort_names
from .scenario import load


def fresh_seed() -> int:
    """A new seed from the operating system's entropy (63 bits, so it fits every table)."""
    return secrets.randbits(63)


class Firm(mesa.Agent):
    """A firm (the first in the scenario is the focal firm): its parameters and this period's figures,
    one attribute per entry of :data:`sim.books.FIRM_STATS` (read from the engine's books)."""

    def __init__(self, model: RetentionModel, index: int, params):
        super().__init__(model)
        self.index = index
        self.name = params.name
        self.params = params
        self.period = 0
        for key in FIRM_STATS:
            setattr(self, key, 0.0)

    def read_books(self, period: int, ledger_row: np.ndarray) -> None:
        """Take period ``period``'s figures from the books."""
        self.period = period
        self.__dict__.update(zip(FIRM_STATS, ledger_row.tolist()))


class RetentionModel(mesa.Model):
    """Customers who stay because they want to (bonded) or because they must (attached).

    One step is one period (``simulation.period_months`` months). Customers are rows of the engine's
    column store (:mod:`sim.population`); firms are :class:`Firm` agents. Every random number comes
    from a counter-based generator keyed by the seed (:mod:`sim.rng`): a customer's numbers depend only
    on (seed, customer, period, purpose), so two scenarios run with one seed are compared customer by
    customer (exact common random numbers). Mesa's own ``model.random`` and ``model.rng`` are seeded
    with the same seed; the model itself does not use them.

    Parameters
    ----------
    scenario : path, shipped scenario name, dict or :class:`~sim.params.Scenario`
        The scenario; ``None`` is the shipped default.
    rng : int, optional
        The seed (Mesa's name for it, so ``mesa.batch_run`` works). ``None`` draws a fresh seed from the
        operating system, recorded as ``model.seed``, so ``batch_run(..., rng=[None] * 5)`` gives five
        different runs; pass an int to reproduce a run exactly. (``sim.run`` and the command line use
        the scenario's ``simulation.seed`` instead, so that they are reproducible by default.)
    trace : iterable of int
        Customer ids whose history is recorded (see :meth:`history`).
    threads : int, optional
        Cap on worker threads (default: ``RETENTION_SIM_THREADS`` or the available cores); results do
        not depend on it.
    **overrides
        Dotted scenario keys, e.g. ``**{"simulation.customers": 1000}``.

    Example
    -------
    >>> m = RetentionModel("telecom", rng=1, **{"simulation.customers": 200, "simulation.periods": 3})
    >>> m.run()
    >>> m.period
    3
    """

    def __init__(self, scenario: Any = None, rng: int | None = None, trace: Iterable[int] = (), threads: int | None = None,
                 **overrides: Any):
        self.config: Scenario = load(scenario, overrides)
        self.seed = fresh_seed() if rng is None else int(rng)
        super().__init__(rng=self.seed)
        self.engine = Engine(self.config, [self.seed], threads=threads)
        self.firms = [Firm(self, i, f) for i, f in enumerate(self.config.firms)]
        self._traced = np.unique(np.asarray(list(trace), dtype=np.int64))
        self._events: dict[int, list[dict]] = {int(i): [] for i in self._traced}
        # model reporters: the seed, and every metric of sim.metrics once the run is finished (None
        # before), so mesa.batch_run(..., data_collection_period=-1) returns the summary metrics
        self.datacollector = mesa.DataCollector(
            model_reporters={"customers": lambda m: int(m.firms_active()), "seed": "seed",
                             **{name: partial(model_metric, name=name) for name in METRICS}},
            # each firm's attributes, read by attrgetter (Mesa wraps a name in a Python function of its own)
            agent_reporters={k: attrgetter(k) for k in ("period", *FIRM_STATS)},
        )

    @property
    def period(self) -> int:
        """Periods completed so far."""
        return self.engine.period

    @property
    def customers(self):
        """The customers' column store (one row per customer who ever entered)."""
        return self.engine.customers

    @property
    def n_initial(self) -> int:
        return self.engine.n_initial

    def firms_active(self) -> float:
        return sum(f.active for f in self.firms)

    # ------------------------------------------------------------------ the period
    def step(self) -> None:
        """One period: measures are planned, new customers arrive, every customer lives the period
        (:mod:`sim.kernel`), ended relationships close, and the firms' books close."""
        t = self.engine.period
        self.engine.step()
        ledger = self.engine.books.ledger[t, 0]
        for f in self.firms:
            f.read_books(t, ledger[f.index])
        if self._traced.size:
            self._record_history(t)
        if self.engine.period >= self.engine.horizon:
            self.running = False
        self.datacollector.collect(self)

    def run(self, progress: bool = False) -> None:
        """Run to the scenario's horizon (optionally with a progress bar)."""
        periods = range(self.engine.period, self.engine.horizon)
        if progress:
            from tqdm import tqdm

            periods = tqdm(periods, desc=self.config.name, unit="period")
        for _ in periods:
            self.step()

    # ------------------------------------------------------------------ inspection
    @property
    def tracing(self) -> bool:
        """True if some customers' histories are being recorded."""
        return bool(self._traced.size)

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """The rows of the customers with these ids (-1 for an id no one has had yet): rows are in
        increasing id (:mod:`sim.population`)."""
        have = self.engine.customers.customer
        if not have.size:
            return np.full(len(ids), -1)
        rows = np.minimum(np.searchsorted(have, ids), have.size - 1)
        return np.where(have[rows] == ids, rows, -1)

    def _record_history(self, t: int) -> None:
        c = self.engine.customers
        names = [f.name for f in self.config.firms]
        rows = self.rows_of(self._traced)
        for who, i in zip(self._traced[rows >= 0], rows[rows >= 0]):
            ev = Event(int(c.cols["events"][i]) & ((1 << MEASURE_BIT) - 1))
            kinds = int(c.cols["events"][i]) >> MEASURE_BIT
            nxt = int(c.cols["next_firm"][i])
            out = []
            if Event.JOINED in ev:
                out.append(("joined", names[int(c.cols["firm"][i])] if nxt == int(c.cols["firm"][i]) or nxt == OUT else ""))
            for code, lever in enumerate(LEVERS):
                if kinds >> code & 1 and lever.TYPE != "contract":
                    out.append((f"{lever.TYPE}_received", ""))
            if Event.CONTRACT_SIGNED in ev:
                m = int(c.cols["contract"][i])
                out.append(("contract_signed",
                            f"{int(self.engine.table[m, P0 + contract_lever.TERM])} periods" if m >= 0 else ""))
            if Event.INCIDENT in ev and Event.COMPLAINT not in ev:
                out.append(("incident", ""))
            if Event.COMPLAINT in ev:
                out.append(("complaint", "handled well" if Event.HANDLED_WELL in ev else "handled badly"))
            if Event.CONTRACT_RENEWED in ev:
                out.append(("contract_renewed", ""))
            if Event.CONTRACT_EXPIRED in ev:
                out.append(("contract_expired", ""))
            if Event.CONSIDERED in ev and not ev & (Event.SWITCHED | Event.LEFT_MARKET):
                out.append(("considered_and_stayed", ""))
            if Event.EXIT_FEE_PAID in ev:
                out.append(("exit_fee_paid", ""))
            if Event.SWITCHED in ev:
                out.append(("switched", names[nxt]))
            if Event.LEFT_MARKET in ev:
                out.append(("left_market", "chose to stop buying"))
            if Event.LIFE_EVENT in ev:
                out.append(("life_event", "left the market for a reason no firm influences"))
            self._events[int(who)] += [dict(period=t, event=event, detail=detail) for event, detail in out]

    def customer(self, i: int) -> dict:
        """Customer ``i``'s current state, with names instead of codes (``i`` her id: the initial
        customers are 0 .., newcomers see :func:`sim.population.arrival_id`)."""
        c, sc = self.engine.customers, self.config
        row = int(self.rows_of(np.array([i], dtype=np.int64))[0])
        if row < 0:
            raise IndexError(f"no customer {i} has entered the market (yet)")
        i = row
        out = c.row(i)
        b = sc.bonding
        firm = out["firm"]
        out["id"] = out.pop("customer")
        out["tenure"] = self.engine.period - out["rel_start"] if firm != OUT else None
        out["phase"] = (PHASES[phase(out["tenure"], out["trust"], b.post_purchase_periods, b.regular_tenure)]
                        if firm != OUT else None)
        out["firm"] = None if firm == OUT else sc.firms[firm].name
        out["segment"] = sc.segments[out["segment"]].name
        out["cohort"] = cohort_names(sc)[out["cohort"]]
        out["loyalty"] = LOYALTY_CLASSES[out["loyalty"]] if firm != OUT else None
        out["economic"] = sc.segments[c.cols["segment"][i]].economic_barrier
        m = out.pop("contract")
        out["exit_fee"] = float(self.engine.table[m, P0 + contract_lever.EXIT_FEE]) if m >= 0 else 0.0
        out["price_paid"] = out["price_paid"] if firm != OUT else None
        for key in ("next_firm", "events", "replication"):
            out.pop(key)
        return out

    def history(self, i: int) -> list[dict]:
        """What happened to customer ``i``, in time order (only for customers passed in ``trace``)."""
        if i not in self._events:
            raise KeyError(f"customer {i} was not traced; pass trace=[{i}] when building the model")
        return list(self._events[i])

    def relationships(self) -> dict[str, np.ndarray]:
        """All relationships: the ended ones and, censored at the horizon, the running ones."""
        return self.engine.relationship_arrays()


__all__ = ["END_REASONS", "FIRM_STATS", "Firm", "RetentionModel", "STAT"]
