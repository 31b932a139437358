"""What every measure shares: a schedule, a target group, a firm and a cost model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..params import LOYALTY_CLASSES, Scenario
from ..population import cohort_names

if TYPE_CHECKING:  # pragma: no cover
    from ..model import RetentionModel


class Measure:
    """A lever one firm pulls. Subclasses implement :meth:`act`; contracts also :meth:`settle`.

    The constructor only stores and resolves names to indices; the work happens in :meth:`act`,
    which the model calls once per period (also when the measure is not scheduled, because some
    effects, like a running contract, outlive the campaign that created them).
    """

    order = 50  # measures act in ascending order: prices first, then discounts, then the rest

    def __init__(self, params, scenario: Scenario):
        self.params = params
        self.firm = scenario.firm_index(params.firm)
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
        s = self.params.schedule
        if period < s.start or (s.end is not None and period >= s.end):
            return False
        return s.every is None or (period - s.start) % s.every < s.duration

    def reach(self, model: "RetentionModel", rows: np.ndarray | None = None) -> np.ndarray:
        """The firm's current customers that match the target: a mask over all rows, or over
        ``rows`` (an index array) when given."""
        c = model.customers
        pick = (lambda col: col) if rows is None else (lambda col: col[rows])
        mask = pick(c.firm) == self.firm
        if self.segment is not None:
            mask &= pick(c.segment) == self.segment
        if self.loyalty_class is not None:
            mask &= pick(c.loyalty) == self.loyalty_class
        if self.cohort is not None:
            mask &= pick(c.cohort) == self.cohort
        return mask

    def act(self, model: "RetentionModel", period: int) -> np.ndarray | None:
        """Apply this period's effect; return the mask of reached customers (None if inactive)."""
        raise NotImplementedError

    def cost(self, reached: int) -> float:
        """This period's cost given how many customers were reached (fixed + per customer)."""
        return self.params.fixed_cost + self.per_customer_cost() * reached

    def per_customer_cost(self) -> float:
        """Cost attributed to each reached customer's relationship this period."""
        return 0.0
