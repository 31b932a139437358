"""Onboarding / post-purchase reassurance (Kaack: "Erstkäufer wollen gelobt werden"). After a first
purchase customers doubt their decision, the more so the dearer the product (the experience
mechanism's ``doubt``); without reassurance many first buyers never buy again. A contact in the
post-purchase periods removes the share ``reassurance`` of that doubt for the customers it reaches."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._schema import Unit
from .base import Measure, MeasureParams, dose_cost

TYPE = "onboarding"


class OnboardingParams(MeasureParams):
    """Contact with new customers in their post-purchase periods."""

    type: Literal["onboarding"]
    reassurance: Unit = Field(0.7, description="Share of the post-purchase doubt a contact removes. Unit: fraction. [invented]")
    cost_per_customer: float | None = Field(None, ge=0, le=1e7, description=(
        "Cost of one period's contact (a call, a welcome pack); unset: the cost model, list price * cost_share * (reassurance "
        "/ 0.7)^2. Unit: money/contact."))
    cost_share: float = Field(0.1, ge=0, le=10, description=(
        "Cost of a contact of reassurance 0.7 as a share of the firm's list price. Unit: fraction of price. [invented]"))


REASSURANCE = 0


class Lever(Measure):
    """Reaches the firm's targeted customers while they are in their post-purchase periods."""

    def kernel_params(self):
        return (self.params.reassurance,)

    def per_customer_cost(self):
        p = self.params
        return p.cost_per_customer if p.cost_per_customer is not None else dose_cost(self.price, p.cost_share, p.reassurance, 0.7)


Params = OnboardingParams
