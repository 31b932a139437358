"""Attachment (Gebundenheit): barriers that make customers stay although they might not want to:
contractual, technical, economic, situational and market barriers (DIM-B2B; DIM-LockIn), and the 2 x 2
classification bonded x attached."""

from __future__ import annotations

import math

from .._jit import rule
from ..codes import ATTACHED_ONLY, BONDED_ONLY, BOTH, NEITHER


@rule
def exit_fee_due(contract_end, exit_fee, period, term, declining):
    """Fee owed by a customer who leaves at the end of ``period`` while her contract still runs after
    it (``left = contract_end - period - 1 > 0`` periods left): ``exit_fee * left / term`` for a
    declining (pro-rated) fee, ``exit_fee`` for a flat one; 0 once the contract ends with this period."""
    left = contract_end - period - 1
    if left <= 0:
        return 0.0
    if declining:
        return exit_fee * min(left, term) / term
    return exit_fee


@rule
def switching_cost(fee_due, lockin, economic):
    """Money a customer loses by leaving: exit fee due + technical lock-in + forfeited benefits."""
    return fee_due + lockin + economic


@rule
def grow_lockin(lockin, growth, cap):
    """Technical lock-in accumulates with tenure (specific investments, DIM-LockIn) by ``growth`` a
    period up to ``cap``: ``min(lockin + growth, cap)``. Lock-in above the cap, which only other
    sources add (an ecosystem's further products), is kept as it is, neither grown nor cut."""
    if lockin >= cap:
        return lockin
    return min(lockin + growth, cap)


@rule
def attachment_score(cost, price, scale, no_alternative):
    """Attachment in [0, 1]: ``1 - exp(-cost / (scale * price))``, so a switching cost of ``scale``
    periods of price gives 0.63; a customer with no reachable alternative is fully attached (1)."""
    if no_alternative:
        return 1.0
    return 1.0 - math.exp(-cost / (scale * price))


@rule
def classify(bond, attachment, bonded_threshold, attached_threshold):
    """Loyalty class: bonded iff ``bond >= bonded_threshold``, attached iff ``attachment >=
    attached_threshold``; codes of :class:`sim.codes.LoyaltyClass`."""
    if bond >= bonded_threshold:
        return BOTH if attachment >= attached_threshold else BONDED_ONLY
    return ATTACHED_ONLY if attachment >= attached_threshold else NEITHER
