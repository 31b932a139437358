"""Service investment (DIM-B2B, DIM-LockIn, REVIERDIALOG): better service quality (fewer incidents,
better experiences) and better complaint handling for reached customers, at a cost per customer and
period that rises with the square of the boosts (:func:`~sim.measures.base.dose_cost`): a quality boost
of 0.1 costs ``quality_cost_share`` of the list price, a handling boost of 0.3 ``handling_cost_share``,
unless the scenario states the cost itself (``cost_per_customer``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._jit import rule
from .base import Measure, MeasureParams, dose_cost

TYPE = "service"


class ServiceParams(MeasureParams):
    """Investment in service quality and complaint handling."""

    type: Literal["service"]
    quality_boost: float = Field(0.15, ge=0, le=1, description="Added service quality (capped at 1). Unit: [0,1]. [invented]")
    handling_boost: float = Field(0.3, ge=0, le=1, description=(
        "Added probability of resolving a complaint well (capped at 1). Unit: probability. [invented]"))
    cost_per_customer: float | None = Field(None, ge=0, le=1e7, description=(
        "Cost per reached customer and period; unset: the cost model, list price * (quality_cost_share * (quality_boost / "
        "0.1)^2 + handling_cost_share * (handling_boost / 0.3)^2). Unit: money/period."))
    quality_cost_share: float = Field(0.04, ge=0, le=10, description=(
        "Cost of a quality boost of 0.1 per reached customer and period, as a share of the firm's list price. Unit: fraction "
        "of price. [invented; calibrated to the pattern that keeping a customer costs a fifth to a seventh of acquiring one]"))
    handling_cost_share: float = Field(0.01, ge=0, le=10, description=(
        "Cost of a handling boost of 0.3 likewise. Unit: fraction of price. [invented]"))


@rule
def boosted(level, boost):
    """A service level raised by ``boost``, capped at 1."""
    return min(level + boost, 1.0)


class Lever(Measure):
    """Raise quality and complaint handling of reached customers this period."""

    def kernel_params(self):
        return (self.params.quality_boost, self.params.handling_boost)

    def per_customer_cost(self):
        p = self.params
        if p.cost_per_customer is not None:
            return p.cost_per_customer
        return (dose_cost(self.price, p.quality_cost_share, p.quality_boost, 0.1)
                + dose_cost(self.price, p.handling_cost_share, p.handling_boost, 0.3))


Params = ServiceParams
