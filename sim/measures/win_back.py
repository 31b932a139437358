"""Win-back (DIM-Rückgewinnung; DIM-B2B): offers to customers who left the market by choice.

The firm contacts a share ``coverage`` of the customers who left it between ``delay_min`` and
``delay_max`` periods ago (early or late). A contacted customer comes back with probability

    p = base_return * exp(-decay * (periods since leaving - 1)) * (incentive_factor if approach is
        "incentive") * (0.5 + satisfaction when she left)

(win-back works better early, the chance is higher than acquiring a stranger, DIM-B2B; an incentive
buys returns, a dialogue is cheaper and, when it works, bonds: DIM-B2B "the size of the concession
may be smaller if transparent dialogue already succeeded"). A returner starts a second lifetime with
the firm (the relationship's ``spell`` counts it; CLV is tracked per lifetime). She knows the firm: her trust
starts at least where it was when she left, raised by ``dialogue_trust`` after a dialogue or by
``incentive_trust`` after an incentive (DIM-B2B: loyalty and trust rise further when a customer is
moved to return), and she has no post-purchase doubt; after an incentive her first periods are also
discounted (``incentive_discount`` for ``incentive_periods``). Cost: ``cost_per_contact`` per contact (carried
by the firm; a lapsed customer has no open relationship to carry it) and the incentive's discount.
Customers who left for a life event or switched to a competitor are not contacted."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .._jit import rule
from .._schema import Probability, Unit
from .base import Measure, MeasureParams

TYPE = "win_back"


class WinBackParams(MeasureParams):
    """Offers to customers who left."""

    type: Literal["win_back"]
    targeted: ClassVar[bool] = False
    approach: Literal["incentive", "dialogue"] = Field("dialogue", description=(
        "An incentive (a discount on return) or a dialogue about why she left."))
    delay_min: int = Field(1, ge=1, le=1200, description="Earliest contact after leaving. Unit: periods. [invented]")
    delay_max: int = Field(3, ge=1, le=1200, description="Latest contact after leaving. Unit: periods. [invented]")
    coverage: Probability = Field(0.8, description=(
        "Share of the lapsed customers in the window contacted each period. Unit: fraction. [invented]"))
    base_return: Probability = Field(0.12, description=(
        "Return probability of a contacted customer one period after leaving, at average satisfaction, by dialogue. Unit: "
        "probability. [invented]"))
    decay: float = Field(0.25, ge=0, le=10, description=(
        "How fast the chance falls with time since leaving. Unit: 1/period. [invented]"))
    incentive_factor: float = Field(1.6, ge=1, le=10, description=(
        "Return probability multiplier of an incentive over a dialogue. Unit: none. [invented]"))
    incentive_discount: Probability = Field(0.3, description=(
        "Discount a returner gets under the incentive approach. Unit: fraction of price. [invented]"))
    incentive_periods: int = Field(3, ge=0, le=120, description="Periods the incentive discount lasts. Unit: periods. [invented]")
    dialogue_trust: Unit = Field(0.2, description=(
        "Trust a returner gains over what she had when she left (or a new customer's, if more), after a dialogue (DIM-B2B: "
        "loyalty and trust rise further when a customer is won back). Unit: [0,1]. [invented]"))
    incentive_trust: Unit = Field(0.05, description=(
        "The same after an incentive: bought returns bond less than a dialogue that solved the problem (DIM-B2B). Unit: [0,1]. "
        "[invented]"))
    cost_per_contact: float = Field(2.0, ge=0, le=1e7, description=(
        "Cost of one win-back contact (an e-mail or a call to a customer the firm knows). Unit: money/contact. [invented; "
        "DIM-Rückgewinnung: winning back is cheaper than acquiring]"))

    @model_validator(mode="after")
    def _window(self) -> WinBackParams:
        if self.delay_max < self.delay_min:
            raise ValueError(f"delay_max ({self.delay_max}) must not be below delay_min ({self.delay_min})")
        return self


(DELAY_MIN, DELAY_MAX, COVERAGE, BASE, DECAY, FACTOR, DISCOUNT, DISCOUNT_PERIODS, TRUST, INCENTIVE, COST,
 INCENTIVE_TRUST) = range(12)


@rule
def return_probability(since, satisfaction, base, decay, factor, incentive):
    """Probability that a contacted lapsed customer comes back (see the module docstring)."""
    p = base * (2.718281828459045 ** (-decay * (since - 1))) * (0.5 + satisfaction)
    if incentive:
        p *= factor
    return min(p, 1.0)


@rule
def trust_on_return(trust_when_left, new_customer_trust, bonus):
    """A returner's trust: the higher of what she had when she left and a new customer's, plus the
    approach's ``bonus``, at most 1."""
    return min(max(trust_when_left, new_customer_trust) + bonus, 1.0)


@rule
def in_window(since, delay_min, delay_max):
    """Whether a customer who left ``since`` periods ago is in the contact window."""
    return delay_min <= since <= delay_max


class Lever(Measure):
    """Contacts the firm's lapsed customers (not its current ones: targets do not apply)."""

    acts_on_customers = False   # not in the current customers' loop; lapsed rows are handled apart
    reaches_lapsed = True

    def kernel_params(self):
        p = self.params
        return (p.delay_min, p.delay_max, p.coverage, p.base_return, p.decay, p.incentive_factor, p.incentive_discount,
                p.incentive_periods, p.dialogue_trust, float(p.approach == "incentive"), p.cost_per_contact, p.incentive_trust)

    def event_cost(self):
        return self.params.cost_per_contact


Params = WinBackParams
