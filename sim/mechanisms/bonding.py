"""Bonding (Verbundenheit): positive experiences -> satisfaction -> trust over time -> commitment
(000:356-368). Bond decays without reinforcement; nostalgia adds a decaying boost (000:924)."""

from __future__ import annotations

import numpy as np


def update_trust(trust: np.ndarray, satisfaction: np.ndarray, gain: float, loss: float) -> np.ndarray:
    """Trust follows satisfaction slowly: ``trust + k * (s - trust)`` with ``k = gain`` when
    satisfaction is above trust and ``k = loss`` when below (trust is lost faster than won)."""
    delta = satisfaction - trust
    return trust + np.where(delta > 0, gain, loss) * delta


def update_commitment(commitment: np.ndarray, trust: np.ndarray, rate: float, decay: float) -> np.ndarray:
    """Commitment grows toward trust and decays without it: ``c + rate * (trust - c) - decay * c``.
    With constant trust it settles at ``rate * trust / (rate + decay)``."""
    return np.clip(commitment + rate * (trust - commitment) - decay * commitment, 0.0, 1.0)


def bond_score(satisfaction, trust, commitment, nostalgia, w_s: float, w_t: float, w_c: float) -> np.ndarray:
    """Bond in [0, 1]: the weighted mean of satisfaction, trust and commitment, plus the nostalgia boost."""
    base = (w_s * satisfaction + w_t * trust + w_c * commitment) / (w_s + w_t + w_c)
    return np.clip(base + nostalgia, 0.0, 1.0)


def decay(x: np.ndarray, rate: float) -> np.ndarray:
    """Geometric decay of a boost without reinforcement: ``x * (1 - rate)``."""
    return x * (1.0 - rate)


def phase(tenure: np.ndarray, trust: np.ndarray, post_purchase: int, regular_tenure: int) -> np.ndarray:
    """Relationship phase (004:15-23): 0 first purchase (tenure 0), 1 post-purchase (tenure <=
    ``post_purchase``), 2 repeat, 3 regular (tenure >= ``regular_tenure`` and trust >= 0.5)."""
    p = np.where(tenure == 0, 0, np.where(tenure <= post_purchase, 1, 2))
    return np.where((tenure >= regular_tenure) & (trust >= 0.5), 3, p).astype(np.int8)
