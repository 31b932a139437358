"""Account management for B2B accounts (DIM-B2B: personal care and advice are especially binding
instruments; when the contact person changes, binding is back at zero unless the relationship is
carried over). A dedicated account manager hands a changing contact over: the share
``handover`` of the personal part of trust and commitment survives a contact change of a reached
account. Cost per account and period."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._schema import Unit
from .base import Measure, MeasureParams, dose_cost

TYPE = "account_management"


class AccountManagementParams(MeasureParams):
    """A dedicated account manager per account."""

    type: Literal["account_management"]
    handover: Unit = Field(0.6, description=(
        "Share of the personal bond an account manager carries over when the contact changes. Unit: fraction. [invented]"))
    cost_per_account: float | None = Field(None, ge=0, le=1e9, description=(
        "Cost of managing one account per period; unset: the cost model, list price * cost_share * (handover / 0.6)^2 (a "
        "manager who carries more of the relationship over sees her accounts more often). Unit: money/period."))
    cost_share: float = Field(0.02, ge=0, le=10, description=(
        "Cost of an account manager with handover 0.6 per account and period, as a share of the list price. Unit: fraction of "
        "price. [invented]"))


HANDOVER = 0


class Lever(Measure):
    """Reaches the firm's targeted accounts."""

    def kernel_params(self):
        return (self.params.handover,)

    def per_customer_cost(self):
        p = self.params
        return p.cost_per_account if p.cost_per_account is not None else dose_cost(self.price, p.cost_share, p.handover, 0.6)


Params = AccountManagementParams
