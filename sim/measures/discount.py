"""Discounts (DIM-B2B, REVIERDIALOG, Kaack): lower the price paid now, which costs margin, and drag the
customer's reference price down by as much as the discount runs of the time, so that constant
discounts create false expectations and their withdrawal feels like a price rise, while an occasional
sale mostly pleases. The foregone revenue is reported as ``discounts``; it is not a
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


RATE, SHARE_ON = range(2)  # kernel parameters: the rate, and the share of the time the discount runs


@rule
def discounted(price, rate):
    """The price a reached customer pays: ``price * (1 - rate)`` (several discounts multiply)."""
    return price * (1.0 - rate)


@rule
def expected(price, rate, share_on):
    """The price the discount teaches a reached customer to expect, toward which her reference price
    moves: ``price * (1 - rate * share_on)``, where ``share_on`` is the share of the time the discount
    runs (``duration / every`` for a pulsed schedule, 1 for a standing one). A standing discount
    becomes the expected price (constant discounts create false expectations, DIM-B2B); a sale that
    runs three months a year is expected a quarter as much, so it pleases while it runs and its end
    hurts less (a summer sale reaches further than a weekly catalogue, REVIERDIALOG)."""
    return price * (1.0 - rate * share_on)


def share_on(schedule) -> float:
    """The share of the time a schedule runs while it runs: ``min(duration, every) / every`` for a
    pulsed one, 1 for a continuous one."""
    return 1.0 if schedule.every is None else min(schedule.duration, schedule.every) / schedule.every


class Lever(Measure):
    """Reached customers pay ``list price * (1 - rate)`` this period; their reference price moves toward
    :func:`expected`."""

    def kernel_params(self):
        return (self.params.rate, share_on(self.params.schedule))


Params = DiscountParams
