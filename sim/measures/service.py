"""Service investment (DIM-B2B, DIM-LockIn, REVIERDIALOG): better service quality (fewer incidents,
better experiences) and better complaint handling for reached customers, at a cost per customer and
period."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._jit import rule
from .base import Measure, MeasureParams

TYPE = "service"


class ServiceParams(MeasureParams):
    """Investment in service quality and complaint handling."""

    type: Literal["service"]
    quality_boost: float = Field(0.15, ge=0, le=1, description="Added service quality (capped at 1). Unit: [0,1]. [invented]")
    handling_boost: float = Field(0.3, ge=0, le=1, description="Added probability of resolving a complaint well (capped at 1). Unit: probability. [invented]")
    cost_per_customer: float = Field(2.0, ge=0, le=1e7, description="Cost per reached customer. Unit: money/period. [invented]")


@rule
def boosted(level, boost):
    """A service level raised by ``boost``, capped at 1."""
    return min(level + boost, 1.0)


class Lever(Measure):
    """Raise quality and complaint handling of reached customers this period."""

    def kernel_params(self):
        return (self.params.quality_boost, self.params.handling_boost)

    def per_customer_cost(self):
        return self.params.cost_per_customer


Params = ServiceParams
