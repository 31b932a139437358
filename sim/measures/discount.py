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
    intro_periods: int = Field(0, ge=0, le=1200, description=(
        "An introductory offer: the discount reaches a customer only in her first intro_periods periods with the firm (0 = "
        "every customer it targets). She is told it is introductory, so it does not lower the price she expects afterwards; "
        "newcomers and other firms' customers see it. Unit: periods. [invented; DIM-LockIn: other suppliers' new-customer "
        "prices]"))


RATE, SHARE_ON, INTRO = range(3)  # kernel parameters: the rate, the share of the time it runs, the introductory periods


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


@rule
def reaches(tenure, intro_periods):
    """Whether a discount reaches a customer of this tenure: always, or for an introductory offer only
    in her first ``intro_periods`` periods with the firm."""
    return intro_periods <= 0 or tenure < intro_periods


class Lever(Measure):
    """Reached customers pay ``list price * (1 - rate)`` this period; their reference price moves toward
    :func:`expected` (an introductory offer leaves it at the list price)."""

    def kernel_params(self):
        p = self.params
        return (p.rate, 0.0 if p.intro_periods else share_on(p.schedule), p.intro_periods)

    def revenue_forgone_per_customer(self):
        return self.price * self.params.rate


Params = DiscountParams
