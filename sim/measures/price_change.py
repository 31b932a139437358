"""Price changes (DIM-Kommunikation; REVIERDIALOG): the firm's list price times ``factor`` while the
measure runs. It changes the price every customer of the firm is charged and compares against; and,
in the period it starts, it moves the trust of the firm's customers: an unexplained rise erodes trust
by ``trust_erosion`` times the relative rise, an explained one (REVIERDIALOG: explain the reason for a
price increase, be honest) adds ``honesty_trust`` instead."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._jit import rule
from .base import Context, Measure, MeasureParams

TYPE = "price_change"


class PriceChangeParams(MeasureParams):
    """Set the firm's list price while active (for price-rise questions)."""

    type: Literal["price_change"]
    factor: float = Field(1.1, gt=0, le=100, description="List price multiplier while active. Unit: none.")
    explained: bool = Field(False, description="Whether the firm explains a rise honestly to its customers.")
    trust_erosion: float = Field(0.5, ge=0, le=10, description="Trust lost per unit relative price rise when the rise is not explained. Unit: trust. [invented]")
    honesty_trust: float = Field(0.01, ge=0, le=1, description="Trust gained when a rise is explained. Unit: trust. [invented]")


START, FACTOR, EXPLAINED, EROSION, HONESTY = range(5)


@rule
def trust_after_price_change(trust, factor, explained, erosion, honesty):
    """Trust of a customer when her firm's price changes: an unexplained rise erodes it by ``erosion *
    (factor - 1)``, an explained change adds ``honesty`` (a cut changes nothing); kept in [0, 1]."""
    if factor <= 1.0:
        return trust
    t = trust + honesty if explained else trust - erosion * (factor - 1.0)
    return min(max(t, 0.0), 1.0)


class Lever(Measure):
    """Multiply the firm's list price while active. Acts on the firm, so its target is ignored."""

    acts_on_customers = False
    acts_on_firm = True

    def firm_effect(self, ctx: Context) -> None:
        ctx.list_price[self.firm] *= self.params.factor


Params = PriceChangeParams
