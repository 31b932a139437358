"""Onboarding / post-purchase reassurance (Kaack: "Erstkäufer wollen gelobt werden"). After a first
purchase customers doubt their decision, the more so the dearer the product (the experience
mechanism's ``doubt``); without reassurance many first buyers never buy again. A contact in the
post-purchase periods removes the share ``reassurance`` of that doubt for the customers it reaches."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._schema import Unit
from .base import Measure, MeasureParams

TYPE = "onboarding"


class OnboardingParams(MeasureParams):
    """Contact with new customers in their post-purchase periods."""

    type: Literal["onboarding"]
    reassurance: Unit = Field(0.7, description="Share of the post-purchase doubt a contact removes. Unit: fraction. [invented]")
    cost_per_customer: float = Field(3.0, ge=0, le=1e7, description="Cost of one contact (a call, a welcome pack). Unit: money/contact. [invented]")


REASSURANCE = 0


class Lever(Measure):
    """Reaches the firm's targeted customers while they are in their post-purchase periods."""

    def kernel_params(self):
        return (self.params.reassurance,)

    def per_customer_cost(self):
        return self.params.cost_per_customer


Params = OnboardingParams
