"""Discounts (DIM-B2B, REVIERDIALOG, Kaack): lower the price paid now, which costs margin, and drag the
customer's reference price down, so that constant discounts create false expectations and their
withdrawal feels like a price rise. The foregone revenue is reported as ``discounts``; it is not a
separate cost because revenue is booked at the price actually paid."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._jit import rule
from .._schema import Probability
from .base import Measure, MeasureParams

TYPE = "discount"


class DiscountParams(MeasureParams):
    """A price discount; costs margin now and lowers the reference price (DIM-B2B; REVIERDIALOG)."""

    type: Literal["discount"]
    rate: Probability = Field(0.1, description="Discount as a fraction of list price. Unit: fraction. [invented]")


@rule
def discounted(price, rate):
    """The price a reached customer pays: ``price * (1 - rate)`` (several discounts multiply)."""
    return price * (1.0 - rate)


class Lever(Measure):
    """Reached customers pay ``list price * (1 - rate)`` this period."""

    def kernel_params(self):
        return (self.params.rate,)


Params = DiscountParams
