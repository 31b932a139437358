"""Attachment (Gebundenheit): barriers that make customers stay although they might not want to
(contractual, technical, economic, situational/market; 000:304-334, 000:562-584), and the 2x2
classification bonded x attached."""

from __future__ import annotations

import numpy as np

BONDED_ONLY, ATTACHED_ONLY, BOTH, NEITHER = 0, 1, 2, 3


def exit_fee_due(contract_end: np.ndarray, exit_fee: np.ndarray, period: int) -> np.ndarray:
    """Fee owed by a customer who leaves at the end of ``period``: the exit fee while the contract
    still runs after this period (``contract_end > period + 1``), else 0."""
    return np.where(contract_end > period + 1, exit_fee, 0.0).astype(np.float32)


def switching_cost(fee_due: np.ndarray, lockin: np.ndarray, economic: np.ndarray) -> np.ndarray:
    """Money a customer loses by leaving: exit fee due + technical lock-in + forfeited benefits."""
    return fee_due + lockin + economic


def grow_lockin(lockin: np.ndarray, growth: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Technical lock-in accumulates with tenure (specific investments, 000:584) up to a cap."""
    return np.minimum(lockin + growth, cap)


def attachment_score(cost: np.ndarray, price: np.ndarray, scale: float, no_alternative: np.ndarray) -> np.ndarray:
    """Attachment in [0, 1]: ``1 - exp(-cost / (scale * price))``, so a switching cost of ``scale``
    periods of price gives 0.63; a customer with no reachable alternative is fully attached (1)."""
    a = 1.0 - np.exp(-cost / (scale * price))
    return np.where(no_alternative, 1.0, a).astype(np.float32)


def classify(bond: np.ndarray, attachment: np.ndarray, bonded_threshold: float, attached_threshold: float) -> np.ndarray:
    """Loyalty class: bonded iff ``bond >= bonded_threshold``, attached iff ``attachment >=
    attached_threshold``; codes BONDED_ONLY=0, ATTACHED_ONLY=1, BOTH=2, NEITHER=3."""
    b = bond >= bonded_threshold
    a = attachment >= attached_threshold
    return np.where(b, np.where(a, BOTH, BONDED_ONLY), np.where(a, ATTACHED_ONLY, NEITHER)).astype(np.int8)
