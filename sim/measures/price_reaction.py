"""Competitors that react to the focal firm's price with a rule (DIM-B2B: loss to cheaper competitors
is a constant danger). While active the firm sets its list price to ``ratio`` times the focal firm's
list price of ``lag`` periods before (undercutting with a ratio below 1, following with 1); with
fewer periods of history, to the focal firm's first list price. In period 0 there is no history yet,
so the firm starts at its own price."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import Measure, MeasureParams

TYPE = "price_reaction"


class PriceReactionParams(MeasureParams):
    """A pricing rule that follows the focal firm."""

    type: Literal["price_reaction"]
    targeted: ClassVar[bool] = False
    ratio: float = Field(0.95, gt=0, le=100, description="List price as a multiple of the focal firm's. Unit: none. [invented]")
    lag: int = Field(1, ge=1, le=120, description="Periods it takes the firm to react. Unit: periods. [invented]")


class Lever(Measure):
    """Firm-level: sets the firm's list price from the focal firm's earlier price."""

    acts_on_customers = False
    acts_on_firm = True

    def firm_effect(self, ctx) -> None:
        history = ctx.focal_price_history
        if history:
            lagged = history[max(0, len(history) - self.params.lag)]
            ctx.list_price[self.firm] = self.params.ratio * lagged


Params = PriceReactionParams
