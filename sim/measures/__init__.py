"""Firm measures, one lever per module, listed once in :data:`LEVERS`.

Everything else is derived from that list: the scenario schema's union of measure types
(:data:`MeasureSpec`), the type names used in error messages (:data:`TYPES`), each lever's kind code in
the compiled engine (its position in the list, which is also the order in which levers act within a
period: firm-level prices first, then what sets the price paid, then the rest) and :func:`build`.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from . import (
    account_management,
    budget_split,
    complaint_handling,
    contract,
    discount,
    ecosystem,
    loyalty_programme,
    nostalgia,
    onboarding,
    price_change,
    price_reaction,
    proactive_retention,
    referral,
    service,
    switching_bonus,
    win_back,
)
from .base import Context, Measure, MeasureParams, Schedule, Target

if TYPE_CHECKING:  # pragma: no cover
    from ..params import Scenario

LEVERS = (
    # firm-level first (they set the prices and offers the customers see), then what sets the price
    # paid, then the rest
    price_change, price_reaction, switching_bonus, budget_split, discount, loyalty_programme, service,
    complaint_handling, onboarding, contract, nostalgia, proactive_retention, ecosystem, account_management,
    referral, win_back,
)
TYPES = tuple(lever.TYPE for lever in LEVERS)
CODE = {lever.TYPE: code for code, lever in enumerate(LEVERS)}
# the union of every lever's parameters (Params1 | Params2 | ...), told apart by their `type`
MeasureSpec = Annotated[reduce(operator.or_, (lever.Params for lever in LEVERS)), Field(discriminator="type")]

# kind codes as constants for the compiled engine
(PRICE_CHANGE, PRICE_REACTION, SWITCHING_BONUS, BUDGET_SPLIT, DISCOUNT, LOYALTY_PROGRAMME, SERVICE, COMPLAINT_HANDLING,
 ONBOARDING, CONTRACT, NOSTALGIA, PROACTIVE_RETENTION, ECOSYSTEM, ACCOUNT_MANAGEMENT, REFERRAL, WIN_BACK) = range(len(LEVERS))
assert [CODE[lever.TYPE] for lever in LEVERS] == list(range(len(LEVERS)))


def build(scenario: Scenario) -> list[Measure]:
    """Measure objects for every scenario entry, in acting order (by kind, then as listed)."""
    made = [LEVERS[CODE[p.type]].Lever(p, scenario, CODE[p.type]) for p in scenario.measures]
    return sorted(made, key=lambda m: m.code)


__all__ = ["CODE", "Context", "LEVERS", "Measure", "MeasureParams", "MeasureSpec", "Schedule", "TYPES", "Target", "build"]
