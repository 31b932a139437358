"""What the dashboard's controls set, turned into a scenario and a model (no user interface here).

:class:`Settings` holds the scenario and every lever the dashboard offers; it is immutable, so a copy is
a snapshot (the saved baseline is one). :meth:`Settings.config` applies the levers to the scenario:

- the focal firm's list price is a plain override (it is revenue, not a cost);
- service quality above the scenario's is bought with a ``service`` measure for all the focal firm's
  customers, at the service lever's own cost model (:mod:`sim.measures.service`, as on the command
  line, in scenario files and in the game): quality is not free. Below the scenario's it is a plain
  override (the model books no saving for worse service);
- the contract, discount and nostalgia levers change the focal firm's measures of that type only once
  the user has moved them (``touched``), so a scenario is first shown exactly as written. Moved, a lever
  sets its own field in every focal measure of its type (an exit fee changes the fee of telecom's two
  segment contracts and leaves their terms and targets alone), adds a measure if the focal firm has
  none, and removes them when set to zero / off.

:class:`DashboardModel` is a :class:`sim.RetentionModel` built from settings that also keeps, period by
period, every firm's figures (read from ``model.firms``) for the live plots.
"""

from __future__ import annotations

import dataclasses
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..books import FIRM_STATS
from ..game import MAX_CUSTOMERS, MAX_MARKET
from ..model import RetentionModel
from ..params import Scenario
from ..population import arrival_group, arrival_id
from ..scenario import ScenarioError, load
from . import library

DEFAULT_CUSTOMERS = 10_000  # the dashboard's default size: large enough to be smooth, fast to replay
MIN_CUSTOMERS = 1_000  # the customers slider's range: MIN_CUSTOMERS to MAX_CUSTOMERS
TRACED = 40  # customers whose story is recorded (spread over the initial cohort and the arrivals)
GROUPS = ("contract", "discount", "nostalgia")
MEASURE_LEVERS = ("contract_term", "contract_terms", "exit_fee", "discount_rate", "discount_periods", "nostalgia_cohort",
                  "authenticity", "nostalgia_everyone")


def _focal(m, config: Scenario) -> bool:
    return m.firm is None or m.firm == config.firms[0].name


def cohorts(config: Scenario) -> list[str]:
    """Every cohort label of the scenario, in first-seen order."""
    names: list[str] = []
    for seg in config.segments:
        names += [c for c in seg.cohorts if c not in names]
    return names


def base_config(scenario: str) -> Scenario:
    """The scenario as written (an offered name or an upload's key, see :mod:`.library`), validated;
    raises ScenarioError."""
    return library.scenario(scenario)


def check_size(config: Scenario, source: str = "the scenario") -> Scenario:
    """``config`` if the dashboard can run it in a session's share of memory, else ScenarioError."""
    if config.simulation.customers > MAX_CUSTOMERS:
        raise ScenarioError(source, [("simulation.customers", f"the dashboard runs at most {MAX_CUSTOMERS:,} customers "
                                                              f"(got {config.simulation.customers:,})")])
    n = config.expected_customers()
    if n > MAX_MARKET:
        raise ScenarioError(source, [("firms.acquisition_spend",
                                      f"the firms' acquisition budgets would bring about {n:,.0f} "
                                      f"customers over the run; the dashboard runs at most {MAX_MARKET:,}")])
    return config


@dataclass(frozen=True)
class Settings:
    """The scenario and every lever of the dashboard (money in the scenario's currency, time in periods)."""

    scenario: str = "telecom"
    customers: int = DEFAULT_CUSTOMERS
    seed: int = 0
    price: float = 30.0
    service_quality: float = 0.6
    contract_term: int = 0  # 0: no contract; moved, it sets the term of every focal contract
    contract_terms: tuple[int, ...] = ()  # the term of each focal contract of the scenario, in order (0: dropped)
    exit_fee: float = 100.0
    discount_rate: float = 0.0  # 0: no discount
    discount_periods: int = 0  # how long the discount runs from its start; >= the horizon: for good
    nostalgia_cohort: str = ""  # "": no campaign
    authenticity: float = 0.8
    nostalgia_everyone: bool = False  # show the campaign to every customer, not only the evoked cohort
    touched: frozenset = field(default_factory=frozenset)  # measure levers the user has moved

    @classmethod
    def from_scenario(cls, scenario: str = "telecom", customers: int | None = None, seed: int | None = None) -> Settings:
        """Settings that reproduce the scenario as written: each lever starts at the scenario's value
        (its first focal measure of that type, if any)."""
        sc = base_config(scenario)
        customers = min(sc.simulation.customers, DEFAULT_CUSTOMERS) if customers is None else customers
        f = sc.firms[0]
        kw: dict[str, Any] = dict(scenario=str(scenario), price=f.price, service_quality=f.service_quality,
                                  customers=min(max(int(customers), MIN_CUSTOMERS), MAX_CUSTOMERS),
                                  seed=sc.simulation.seed if seed is None else seed, exit_fee=round(3 * f.price))
        focal = [m for m in sc.measures if _focal(m, sc)] if sc.mechanisms.measures else []
        first = {t: next((m for m in focal if m.type == t), None) for t in GROUPS}
        if (c := first["contract"]) is not None:
            kw.update(contract_term=c.term, exit_fee=c.exit_fee,
                      contract_terms=tuple(m.term for m in focal if m.type == "contract"))
        if (d := first["discount"]) is not None:
            end = d.schedule.end if d.schedule.end is not None else sc.simulation.periods
            kw.update(discount_rate=d.rate, discount_periods=min(end, sc.simulation.periods) - d.schedule.start)
        if (n := first["nostalgia"]) is not None:
            kw.update(nostalgia_cohort=n.cohort, authenticity=n.authenticity, nostalgia_everyone=n.target.cohort is None)
        return cls(**kw)

    def base(self) -> Scenario:
        return base_config(self.scenario)

    def replace(self, **changes) -> Settings:
        """A copy with ``changes``; a changed lever of a measure is marked as touched."""
        touched = self.touched | {k for k in changes if k in MEASURE_LEVERS}
        return dataclasses.replace(self, **changes, touched=frozenset(touched))

    # ------------------------------------------------------------------ the scenario
    def config(self) -> Scenario:
        """The scenario with these settings applied (validated; raises ScenarioError). A touched lever
        changes only its own field of the focal measures of its type (an exit fee leaves each contract's
        term as it is); a lever set to zero or off removes them; a lever moved where the focal firm has
        no such measure adds one, from period 0, for all its customers."""
        base = self.base()
        d = base.model_dump(mode="json")
        horizon = base.simulation.periods
        customers = min(max(int(self.customers), MIN_CUSTOMERS), MAX_CUSTOMERS)
        d["simulation"]["customers"] = customers
        d["simulation"]["scale"] = base.simulation.scale * customers / base.simulation.customers  # the same market, smaller
        d["firms"][0]["price"] = float(self.price)
        boost = self.service_boost(base)
        if boost is None:
            d["firms"][0]["service_quality"] = float(self.service_quality)
        t = self.touched
        measures = [(m, _focal(spec, base)) for m, spec in zip(d["measures"], base.measures)]

        def apply(kind: str, fields: tuple[str, ...], off: bool, update, new: dict) -> None:
            nonlocal measures
            if not t & set(fields):
                return
            mine = [m for m, is_focal in measures if is_focal and m["type"] == kind]
            if off:
                measures = [(m, f) for m, f in measures if not (f and m["type"] == kind)]
                return
            if not mine:
                m = {"type": kind, "firm": base.firms[0].name, **new}
                measures.append((m, True))
                update(m, set(fields))
                return
            for m in mine:
                update(m, t)

        def contract(m, changed):
            if "contract_term" in changed:
                m["term"] = int(self.contract_term)
            if "exit_fee" in changed:
                m["exit_fee"] = float(self.exit_fee)

        def discount(m, changed):
            if "discount_rate" in changed:
                m["rate"] = float(self.discount_rate)
            if "discount_periods" in changed:
                start = m.get("schedule", {}).get("start", 0)
                end = start + int(self.discount_periods)
                m["schedule"] = {**m.get("schedule", {}), "start": start, "end": end if end < horizon else None}

        def nostalgia(m, changed):
            if "nostalgia_cohort" in changed:
                m["cohort"] = self.nostalgia_cohort
            if "authenticity" in changed:
                m["authenticity"] = float(self.authenticity)
            if changed & {"nostalgia_cohort", "nostalgia_everyone"}:
                m["target"] = {**m.get("target", {}), "cohort": None if self.nostalgia_everyone else m["cohort"]}

        apply("contract", ("contract_term", "exit_fee"), self.contract_term <= 0, contract, {})
        if "contract_terms" in t:  # one term per focal contract of the scenario (telecom's 12- and 24-month segments)
            mine = [m for m, is_focal in measures if is_focal and m["type"] == "contract"]
            dropped = []
            for m, term in zip(mine, self.contract_terms):
                if term > 0:
                    m["term"] = int(term)
                else:
                    dropped.append(id(m))
            measures = [(m, f) for m, f in measures if id(m) not in dropped]
        apply("discount", ("discount_rate", "discount_periods"), self.discount_rate <= 0 or self.discount_periods <= 0,
              discount, {"schedule": {"start": 0}})
        apply("nostalgia", ("nostalgia_cohort", "authenticity", "nostalgia_everyone"), not self.nostalgia_cohort, nostalgia, {})
        if boost is not None:
            measures.append(
                ({"type": "service", "firm": base.firms[0].name, "quality_boost": boost, "handling_boost": 0.0}, True)
            )
        d["measures"] = [m for m, _ in measures]
        if t or boost is not None:  # the levers moved change the measures the scenario's counterfactual names by their place
            d["counterfactual"] = None
        return check_size(load(d, source=library.label(self.scenario), bases={}), library.label(self.scenario))

    def contract_labels(self) -> list[str]:
        """What each focal contract of the scenario is for (its target), in the order of :attr:`contract_terms`."""
        base = self.base()
        out = []
        for m in base.measures:
            if m.type == "contract" and _focal(m, base):
                aim = [f"{k.replace('_', ' ')} {v}" for k, v in m.target.model_dump(exclude_none=True).items()]
                out.append(", ".join(aim) or "every customer")
        return out

    def with_discount(self, rate: float) -> Settings:
        """The discount lever moved to ``rate``: a discount that had no duration runs for good (until its
        duration is shortened), since one that runs for no period would do nothing."""
        more = {"discount_periods": self.base().simulation.periods} if rate > 0 and self.discount_periods <= 0 else {}
        return self.replace(discount_rate=float(rate), **more)

    def service_boost(self, base: Scenario | None = None) -> float | None:
        """The quality boost the service lever buys over the scenario's service quality (None when it
        buys none: at or below the scenario's quality, or in a scenario that runs no measures)."""
        base = self.base() if base is None else base
        boost = round(float(self.service_quality) - base.firms[0].service_quality, 9)
        return boost if boost > 0 and base.mechanisms.measures else None

    def service_cost(self) -> float:
        """What the service lever costs per customer and period (the service lever's cost model)."""
        from ..measures import CODE, service

        boost = self.service_boost()
        if boost is None:
            return 0.0
        cfg = self.config()
        spec = cfg.measures[-1]
        return service.Lever(spec, cfg, CODE["service"]).per_customer_cost()

    def label(self) -> str:
        """A one-line description, e.g. for the baseline."""
        cur = self.base().simulation.currency
        parts = [library.label(self.scenario), f"price {self.price:,.2f} {cur}", f"service {self.service_quality:.2f}"]
        if "contract_terms" in self.touched and len(self.contract_terms) > 1:
            terms = " and ".join(str(t) if t else "none" for t in self.contract_terms)
            parts.append(f"contracts of {terms} periods, exit fee {self.exit_fee:,.0f} {cur}")
        elif self.contract_term:
            parts.append(f"contract {self.contract_term} periods, exit fee {self.exit_fee:,.0f} {cur}")
        if self.discount_rate and self.discount_periods:
            parts.append(f"discount {self.discount_rate:.0%} for {self.discount_periods} periods")
        if self.nostalgia_cohort:
            parts.append(f"nostalgia {self.nostalgia_cohort} (authenticity {self.authenticity:.2f})")
        parts.append(f"{self.customers:,} customers, seed {self.seed}")
        return ", ".join(parts)


def traced_sample(config: Scenario, k: int = TRACED) -> list[int]:
    """Customer ids to trace: three quarters spread evenly over the initial cohort, the rest the first
    newcomers of periods spread over the first four fifths of the run, taking in turn each firm's
    segments that buy at least one newcomer a period on average (:func:`sim.population.arrival_id`)."""
    n = config.simulation.customers
    initial = np.unique(np.linspace(0, n - 1, min(n, k - k // 4)).astype(np.int64)).tolist()
    if not config.mechanisms.arrivals or config.simulation.periods < 2:
        return initial
    shares = np.array([s.share for s in config.segments]) / sum(s.share for s in config.segments)
    groups = [arrival_group(f, s, len(shares)) for f in range(len(config.firms)) for s in range(len(shares))
              if config.bought_per_period(f) * shares[s] >= 1.0]
    last = max(1, int(config.simulation.periods * 0.8))
    periods = np.linspace(1, last, k // 4).astype(np.int64)
    later = sorted({int(arrival_id(int(t), groups[j % len(groups)], 0)) for j, t in enumerate(periods)}) if groups else []
    return initial + later


class DashboardModel(RetentionModel):
    """A :class:`~sim.RetentionModel` built from :class:`Settings` that keeps every firm's figures per
    period for the live plots (``series(stat)``: periods x firms). It traces :func:`traced_sample`.

    Read it under ``model.lock`` while it may be playing.

    Mesa's *Reset* button rebuilds the model as ``DashboardModel(settings=..., scenario=<mesa
    Scenario>)``: Mesa's own ``scenario`` argument is not ours and is ignored."""

    def __init__(self, settings: Settings, scenario: Any = None, render_lock: Any = None, **_ignored: Any):
        if hasattr(settings, "value"):  # a holder of the current settings (see app.py)
            settings = settings.value
        config = settings.config()
        self.settings = settings
        super().__init__(config, rng=settings.seed, trace=traced_sample(config))
        self._rows: list[list[list[float]]] = []
        self._series: dict[str, np.ndarray] = {}
        # Mesa's play loop steps the model in one thread while the page may be drawn from another:
        # hold this lock to read a consistent state
        self.lock = threading.RLock()
        # the page's render lock (see app.py): a step waits while another thread draws the page, so
        # that the drawing never chases a model that changes under it
        self.render_lock = render_lock

    def step(self) -> None:
        with self.render_lock or nullcontext(), self.lock:
            super().step()
            self._rows.append([[float(getattr(f, k)) for k in FIRM_STATS] for f in self.firms])
            self._series = {}

    def series(self, stat: str) -> np.ndarray:
        """``stat`` (one of :data:`sim.books.FIRM_STATS`) for every period so far and firm."""
        if stat not in self._series:
            rows = np.asarray(self._rows, dtype=np.float64).reshape(len(self._rows), len(self.firms), len(FIRM_STATS))
            self._series = {k: rows[:, :, j] for j, k in enumerate(FIRM_STATS)}
        return self._series[stat]

    @property
    def horizon(self) -> int:
        return self.config.simulation.periods

    def replay(self, periods: int) -> DashboardModel:
        """Step to ``periods`` (at most the horizon); returns self."""
        while self.period < min(periods, self.horizon):
            self.step()
        return self

    def story_ids(self) -> list[int]:
        """Traced customers who have entered the market so far."""
        n = self.config.simulation.customers
        return [i for i in traced_sample(self.config) if i < n or self.history(i)]


def run_to_end(settings: Settings, seed: int | None = None, stop: threading.Event | None = None) -> DashboardModel | None:
    """A full run of ``settings`` (on ``seed`` if given), for the baseline comparison; None if ``stop``
    is set before it ends (the comparison is no longer wanted)."""
    if seed is not None and seed != settings.seed:
        settings = dataclasses.replace(settings, seed=seed)
    m = DashboardModel(settings)
    while m.period < m.horizon:
        if stop is not None and stop.is_set():
            return None
        m.step()
    return m
