"""Price changes (DIM-Kommunikation; REVIERDIALOG): the firm's list price times ``factor`` while the
measure runs. A firm-level lever: it changes the price every customer of the firm is charged and
compares against, so it has no per-customer rule."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Context, Measure, MeasureParams

TYPE = "price_change"


class PriceChangeParams(MeasureParams):
    """Set the firm's list price while active (for price-rise questions)."""

    type: Literal["price_change"]
    factor: float = Field(1.1, gt=0, le=100, description="List price multiplier while active. Unit: none.")


class Lever(Measure):
    """Multiply the firm's list price while active. Acts on the firm, so its target is ignored."""

    acts_on_customers = False
    acts_on_firm = True

    def firm_effect(self, ctx: Context) -> None:
        ctx.list_price[self.firm] *= self.params.factor


Params = PriceChangeParams
