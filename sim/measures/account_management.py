"""Account management for B2B accounts (DIM-B2B: personal care and advice are especially binding
instruments; when the contact person changes, binding is back at zero unless the relationship is
carried over). A dedicated account manager hands a changing contact over: the share
``handover`` of the personal part of trust and commitment survives a contact change of a reached
account. Cost per account and period."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._schema import Unit
from .base import Measure, MeasureParams

TYPE = "account_management"


class AccountManagementParams(MeasureParams):
    """A dedicated account manager per account."""

    type: Literal["account_management"]
    handover: Unit = Field(0.6, description="Share of the personal bond an account manager carries over when the contact changes. Unit: fraction. [invented]")
    cost_per_account: float = Field(20.0, ge=0, le=1e9, description="Cost of managing one account. Unit: money/period. [invented]")


HANDOVER = 0


class Lever(Measure):
    """Reaches the firm's targeted accounts."""

    def kernel_params(self):
        return (self.params.handover,)

    def per_customer_cost(self):
        return self.params.cost_per_account


Params = AccountManagementParams
