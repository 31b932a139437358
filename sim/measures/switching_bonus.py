"""Switching bonuses and waived exit fees (DIM-B2B: competitors poach with switching bonuses and
waived activation fees). The firm running it offers ``bonus`` (money) to customers of other firms
who switch to it, and with ``pay_exit_fee`` pays the exit fee they owe their old firm. Both lower
the switching barrier toward this firm only; both are costs of the firm, carried by the relationship
they win."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import Measure, MeasureParams

TYPE = "switching_bonus"


class SwitchingBonusParams(MeasureParams):
    """A competitor's offer to switchers."""

    type: Literal["switching_bonus"]
    targeted: ClassVar[bool] = False
    bonus: float = Field(50.0, ge=0, le=1e9, description="Money a switcher gets from this firm. Unit: money. [invented]")
    pay_exit_fee: bool = Field(False, description="Whether this firm pays the exit fee a switcher owes her old firm. [invented]")


class Lever(Measure):
    """Firm-level: lowers the barrier of switching to this firm while active."""

    acts_on_customers = False
    acts_on_firm = True

    def firm_effect(self, ctx) -> None:
        ctx.bonus[self.firm] += self.params.bonus
        if self.params.pay_exit_fee:
            ctx.pays_fee[self.firm] = 1.0


Params = SwitchingBonusParams
