"""Price changes (DIM-Kommunikation; REVIERDIALOG): the firm's list price times ``factor`` while the
measure runs. It changes the price every customer of the firm is charged and compares against; and,
in the period it starts, it moves the trust of the firm's customers: an unexplained rise erodes trust
by ``trust_erosion`` times the relative rise, an explained one (REVIERDIALOG: explain the reason for a
price increase, be honest) adds ``honesty_trust`` instead."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .._jit import rule
from .base import Context, Measure, MeasureParams

TYPE = "price_change"


class PriceChangeParams(MeasureParams):
    """Set the firm's list price while active (for price-rise questions)."""

    type: Literal["price_change"]
    targeted: ClassVar[bool] = False
    factor: float = Field(1.1, gt=0, le=100, description="List price multiplier while active. Unit: none.")
    explained: bool = Field(False, description="Whether the firm explains a rise honestly to its customers.")
    trust_erosion: float = Field(0.25, ge=0, le=10, description=(
        "Trust lost per unit relative price rise when the rise is not explained (a 20 % rise: 0.05). Unit: trust. [invented]"))
    honesty_trust: float = Field(0.01, ge=0, le=1, description="Trust gained when a rise is explained. Unit: trust. [invented]")


START, FACTOR, EXPLAINED, EROSION, HONESTY, EVERY = range(6)


@rule
def starts(t, start, every):
    """Whether period ``t`` is the first period of the change (of a pulse, when the schedule repeats
    every ``every`` periods; ``every`` 0 = no repeat). ``t`` is an active period."""
    if every > 0.0:
        return (t - int(start)) % int(every) == 0
    return t == int(start)


@rule
def trust_after_price_change(trust, factor, explained, erosion, honesty):
    """Trust of a customer when her firm's price changes: an unexplained rise erodes it by ``erosion *
    (factor - 1)``, an explained change adds ``honesty`` (a cut changes nothing); kept in [0, 1]."""
    if factor <= 1.0:
        return trust
    t = trust + honesty if explained else trust - erosion * (factor - 1.0)
    return min(max(t, 0.0), 1.0)


class Lever(Measure):
    """Multiply the firm's list price while active (a firm-level effect), and move the trust of the
    firm's customers when it starts (in the customers' pass). The list price is the firm's, so the
    measure takes no target: every customer of the firm pays it and hears of it."""

    acts_on_customers = True
    acts_on_firm = True

    def kernel_params(self):
        p, sch = self.params, self.params.schedule
        return (sch.start, p.factor, 1.0 if p.explained else 0.0, p.trust_erosion, p.honesty_trust, sch.every or 0)

    def firm_effect(self, ctx: Context) -> None:
        ctx.list_price[self.firm] *= self.params.factor


Params = PriceChangeParams
