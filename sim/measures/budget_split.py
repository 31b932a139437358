"""Acquisition and retention budgets (DIM-B2B: acquiring a customer costs 5-7 times, up to 20 times,
retaining one; IBM citing McKinsey: a lost customer takes three new ones to replace).

While active the firm spends ``budget`` per period: ``1 - retention_share`` of it on acquisition (it
replaces the firm's ``acquisition_spend``: new customers at the cost per acquisition) and
``retention_share`` on retention care for its customers: better service (``quality_boost``,
``handling_boost``) at ``cost_per_customer`` for as many customers as the money reaches, chosen at
random each period (each customer's own draw against the share reached, computed from last period's
customers)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._schema import Probability
from .base import Measure, MeasureParams

TYPE = "budget_split"


class BudgetSplitParams(MeasureParams):
    """One budget, split between winning and keeping customers."""

    type: Literal["budget_split"]
    budget: float = Field(20000.0, ge=0, le=1e12, description=(
        "Money spent per period on acquisition and retention together. Unit: money/period. [invented]"))
    retention_share: Probability = Field(0.3, description=(
        "Share of the budget spent on retention care. Unit: fraction. [invented]"))
    quality_boost: float = Field(0.15, ge=0, le=1, description=(
        "Added service quality for a customer the care reaches. Unit: [0,1]. [invented]"))
    handling_boost: float = Field(0.3, ge=0, le=1, description=(
        "Added probability of resolving her complaint well. Unit: probability. [invented]"))
    cost_per_customer: float = Field(2.0, gt=0, le=1e7, description=(
        "Cost of caring for one customer for a period. Unit: money/period. [invented]"))


QUALITY, HANDLING = range(2)


class Lever(Measure):
    """Sets the firm's acquisition and reaches a share of its customers with care."""

    acts_on_firm = True

    def kernel_params(self):
        return (self.params.quality_boost, self.params.handling_boost)

    def per_customer_cost(self):
        return self.params.cost_per_customer

    def firm_effect(self, ctx) -> None:
        p = self.params
        budget = p.budget * self.scale  # a budget for the scenario's market, scaled with it
        ctx.acquisition_spend[self.firm] = (1.0 - p.retention_share) * budget
        customers = ctx.last_active[:, self.firm]
        with_money = p.retention_share * budget / p.cost_per_customer
        ctx.care_share[:, self.firm] = [min(1.0, with_money / c) if c > 0 else 1.0 for c in customers]


Params = BudgetSplitParams
