"""What every measure shares: its parameters' common part (firm, schedule, target, fixed cost), the
row it fills in the measures table of the compiled engine, and its cost model.

A lever module (``sim/measures/<lever>.py``) holds, in one place: ``TYPE`` (the name used in scenario
files), ``Params`` (its pydantic parameters), its rules (small compiled functions) and ``Lever`` (a
:class:`Measure` subclass). The registry in ``sim/measures/__init__.py`` lists the levers once; the
scenario schema's union, the type names in error messages, the kind codes of the compiled engine and
:func:`~sim.measures.build` all come from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field, model_validator

from .._jit import rule
from .._schema import Section, _KeyError
from ..codes import LOYALTY_CLASSES

if TYPE_CHECKING:  # pragma: no cover
    from ..params import Scenario


class Schedule(Section):
    """When a measure is active: periods start <= t < end, optionally only every `every` periods for `duration`."""

    start: int = Field(0, ge=0, le=100_000, description="First active period. Unit: period.")
    end: int | None = Field(None, ge=1, le=100_000, description="First inactive period (None = never ends). Unit: period.")
    every: int | None = Field(None, ge=1, le=100_000, description=(
        "Repeat interval for pulsed measures (None = continuous). Unit: periods."))
    duration: int = Field(1, ge=1, le=100_000, description="Active periods per pulse when `every` is set. Unit: periods.")

    @model_validator(mode="after")
    def _order(self) -> Schedule:
        if self.end is not None and self.end <= self.start:
            raise _KeyError(("end",), (
                f"must be greater than start ({self.start}), or the measure is never active (got {self.end})"))
        return self

    def is_active(self, period: int) -> bool:
        """True if the schedule has the measure running in ``period``."""
        if period < self.start or (self.end is not None and period >= self.end):
            return False
        return self.every is None or (period - self.start) % self.every < self.duration


class Target(Section):
    """Which of the firm's customers a measure reaches; unset fields do not restrict."""

    segment: str | None = Field(None, description="Only this segment.")
    loyalty_class: str | None = Field(None, description=(
        f"Only customers in this loyalty class last period: one of {', '.join(LOYALTY_CLASSES)}."))
    cohort: str | None = Field(None, description="Only this birth-decade cohort.")

    @model_validator(mode="after")
    def _known_class(self) -> Target:
        if self.loyalty_class is not None and self.loyalty_class not in LOYALTY_CLASSES:
            raise ValueError(f"loyalty_class must be one of {', '.join(LOYALTY_CLASSES)} (got {self.loyalty_class!r})")
        return self


class MeasureParams(Section):
    """Parameters every measure has."""

    targeted: ClassVar[bool] = True  # False for levers that act on the whole firm or on lapsed customers

    firm: str | None = Field(None, description="Firm applying the measure (None = the focal firm).")
    schedule: Schedule = Field(default_factory=Schedule)
    target: Target = Field(default_factory=Target)
    fixed_cost: float = Field(0.0, ge=0, le=1e12, description=(
        "Cost per active period, not attributed to any customer. Unit: money/period."))

    @model_validator(mode="after")
    def _target_applies(self) -> MeasureParams:
        if not self.targeted and self.target.model_dump(exclude_none=True):
            raise _KeyError(("target",), f"a {self.type} measure acts on the whole firm, so it takes no target")
        return self


def dose_cost(price: float, share_at_reference: float, dose: float, reference_dose: float) -> float:
    """A lever's cost per reached customer and period for a dose (a quality boost, a campaign's
    intensity, a contact's reassurance): ``price * share_at_reference * (dose / reference_dose) ** 2``.
    It rises with the square of the dose, so that no lever buys large effects for a small fee: twice the
    service boost needs more and better-paid staff and costs four times as much. The share is of the
    firm's list price, so a lever costs alike in any currency and market."""
    return price * share_at_reference * (dose / reference_dose) ** 2


@rule
def targets(segment, loyalty, cohort, customer_segment, customer_loyalty, customer_cohort):
    """Whether a measure aimed at (segment, loyalty class, cohort) reaches a customer; a negative aim
    (:data:`ANY`) does not restrict."""
    return ((segment < 0 or segment == customer_segment) and (loyalty < 0 or loyalty == customer_loyalty)
            and (cohort < 0 or cohort == customer_cohort))


# columns of the measures table read by the compiled engine (one row per measure)
KIND, FIRM, ACTIVE, SEGMENT, LOYALTY, COHORT, COST, EVENT_COST = range(8)
P0 = 8  # first lever-specific parameter
N_PARAMS = 12
N_COLUMNS = P0 + N_PARAMS
ANY = -1.0  # target column value meaning "no restriction"


@dataclass
class Context:
    """What a measure may read and change in a period, outside the per-customer pass: the period, the
    firm-level prices, service levels and offers the engine will use for it (one entry per firm;
    ``care_share`` and ``last_active`` per replication and firm), and the focal firm's past prices."""

    period: int
    list_price: np.ndarray
    quality: np.ndarray
    handling: np.ndarray
    bonus: np.ndarray
    pays_fee: np.ndarray
    acquisition_spend: np.ndarray
    care_share: np.ndarray
    last_active: np.ndarray
    focal_price_history: list


class Measure:
    """A lever one firm pulls. The constructor stores the parameters and resolves names to indices;
    the work happens in :meth:`firm_effect` (firm-level, before the customers' pass), in the lever's
    compiled rules (per customer, dispatched by kind code in :mod:`sim.kernel`), and in :meth:`settle`
    (its costs, after the pass)."""

    acts_on_customers = True  # False for firm-level levers (no row in the customers' pass)
    acts_on_firm = False      # True for levers with a firm_effect (a list price, a service level)
    new_customers_only = False  # True for levers that reach only relationships in their first period
    reaches_lapsed = False      # True for levers that reach customers who left the firm (win-back)

    def __init__(self, params: MeasureParams, scenario: Scenario, code: int):
        from ..population import cohort_names

        self.params = params
        self.code = code
        self.firm = scenario.firm_index(params.firm)
        self.price = scenario.firms[self.firm].price  # the firm's list price, the scale of dose costs
        self.scale = scenario.simulation.scale  # the market's scale: fixed costs and budgets grow with it
        t = params.target
        self.segment = None if t.segment is None else [s.name for s in scenario.segments].index(t.segment)
        self.loyalty_class = None if t.loyalty_class is None else LOYALTY_CLASSES.index(t.loyalty_class)
        self.cohort = None if t.cohort is None else cohort_names(scenario).index(t.cohort)

    @property
    def kind(self) -> str:
        """The measure's type name as written in scenario files."""
        return self.params.type

    def is_active(self, period: int) -> bool:
        """True if the schedule has the measure running in ``period``."""
        return self.params.schedule.is_active(period)

    def encode(self, row: np.ndarray) -> None:
        """Fill this measure's row of the engine's measures table (the ACTIVE column is set per period)."""
        row[:] = 0.0
        row[KIND] = self.code
        row[FIRM] = self.firm
        row[SEGMENT] = ANY if self.segment is None else self.segment
        row[LOYALTY] = ANY if self.loyalty_class is None else self.loyalty_class
        row[COHORT] = ANY if self.cohort is None else self.cohort
        row[COST] = self.per_customer_cost()
        row[EVENT_COST] = self.event_cost()
        values = self.kernel_params()
        row[P0 : P0 + len(values)] = values

    def kernel_params(self) -> tuple[float, ...]:
        """The lever's own numbers for its compiled rules (columns P0, P0 + 1, ...)."""
        return ()

    def firm_effect(self, ctx: Context) -> None:
        """Firm-level effect while active (e.g. a new list price); none by default."""

    def per_customer_cost(self) -> float:
        """Cost of reaching one customer for one period, attributed to that customer's CLV."""
        return 0.0

    def event_cost(self) -> float:
        """Cost of one lever-specific event (a contract signed or renewed), attributed likewise."""
        return 0.0

    def revenue_forgone_per_customer(self) -> float:
        """Revenue a reached customer does not pay for one period because of the measure (a discount's);
        the books show it as lower revenue (``discounts``), not as a cost."""
        return 0.0

    def expected_events(self, joining: Sequence[float]) -> float:
        """Expected events (see :meth:`event_cost`) over the measure's active periods, when ``joining[k]``
        of the customers it reaches start their relationship in its k-th active period; none by default."""
        return 0.0

    def expected_cost(self, reached: float, joining: Sequence[float]) -> float:
        """What the measure is expected to take from the firm's profit over ``len(joining)`` active
        periods, by the cost model the run books: it reaches ``reached`` customers a period, of whom
        ``joining[k]`` start their relationship in its k-th active period. Its cost per reached customer
        and period, its events (:meth:`expected_events`) at :meth:`event_cost`, its fixed cost as
        :meth:`settle` books it, and the revenue it gives away (:meth:`revenue_forgone_per_customer`)."""
        periods = len(joining)
        return ((self.per_customer_cost() + self.revenue_forgone_per_customer()) * reached * periods
                + self.event_cost() * self.expected_events(joining) + self.params.fixed_cost * self.scale * periods)

    def settle(self, period: int, reached: np.ndarray, events: np.ndarray) -> float:
        """Costs this period that no customer carries (the fixed cost while active). ``reached`` and
        ``events`` count, per replication, the customers reached and the lever's events; their
        per-customer costs are already in the books through the customers' pass."""
        return self.params.fixed_cost * self.scale if self.is_active(period) else 0.0
