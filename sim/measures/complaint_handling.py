"""Complaint handling and service capacity (DIM-Kommunikation: "be reachable", hours in a hotline
queue make dissatisfied customers; DIM-B2B: react fast and adequately; REVIERDIALOG).

The firm's team can handle ``capacity`` complaints per 1,000 customers it serves per period well.
When last period's complaints of the customers it serves exceeded what the team can handle, customers
wait and the share of their complaints resolved well falls in proportion (the handling probability
times capacity / demand). Customers outside the team's target keep the firm's usual handling. The lever
also raises the resolution quality (``resolution_boost`` on the handling probability). Its cost is
the team: ``cost_per_slot`` per complaint it can handle, spread over the firm's customers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._jit import rule
from .._schema import Probability
from .base import Measure, MeasureParams
from .service import boosted

TYPE = "complaint_handling"


class ComplaintHandlingParams(MeasureParams):
    """A complaint-handling team of a given capacity and quality."""

    type: Literal["complaint_handling"]
    capacity: float = Field(60.0, ge=0, le=1000, description=(
        "Complaints the team handles well per 1,000 customers it serves per period. Unit: complaints/(1,000 customers * "
        "period). [invented: a quarter above the default firm's load of about 48]"))
    resolution_boost: Probability = Field(0.2, description=(
        "Added probability that a complaint within capacity is resolved well. Unit: probability. [invented]"))
    cost_per_slot: float = Field(25.0, ge=0, le=1e7, description=(
        "Cost of the capacity to handle one complaint. Unit: money/complaint. [invented]"))


CAPACITY, BOOST = range(2)


@rule
def reachability(capacity_per_1000, customers, complaints):
    """Share of complaints the team can take well: ``min(1, capacity / complaints)``, with capacity
    scaled to the firm's customers (1 when there were no complaints)."""
    if complaints <= 0.0:
        return 1.0
    return min(1.0, capacity_per_1000 * customers / 1000.0 / complaints)


@rule
def handled_by_team(handling, boost, reach):
    """Probability that a complaint of a customer the team serves is resolved well: the firm's
    handling raised by ``boost`` (:func:`~sim.measures.service.boosted`, capped at 1), times the share
    of complaints the team can take well (:func:`reachability`). Customers the team does not serve
    keep the firm's handling."""
    return boosted(handling, boost) * reach


class Lever(Measure):
    """Every customer the measure targets is served by the team (and carries her share of its cost);
    the team's load is counted from their complaints (the kernel's EVENTS counter)."""

    def kernel_params(self):
        return (self.params.capacity, self.params.resolution_boost)

    def per_customer_cost(self):
        return self.params.capacity * self.params.cost_per_slot / 1000.0


Params = ComplaintHandlingParams
