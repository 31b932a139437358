"""Bonding (Verbundenheit): positive experiences -> satisfaction -> trust over time -> commitment
(DIM-B2B). Bond decays without reinforcement; nostalgia adds a decaying boost (DIM-Nostalgie). The
relationship phases follow Kaack."""

from __future__ import annotations

import numpy as np

from .._jit import rule

PHASES = ("first_purchase", "post_purchase", "repeat", "regular")


@rule
def update_trust(trust, satisfaction, gain, loss):
    """Trust follows satisfaction slowly: ``trust + k * (s - trust)`` with ``k = gain`` when satisfaction
    is above trust and ``k = loss`` when below (trust is lost faster than it is won)."""
    delta = satisfaction - trust
    return trust + (gain if delta > 0.0 else loss) * delta


@rule
def update_commitment(commitment, trust, rate, decay):
    """Commitment grows toward trust and decays without it: ``c + rate * (trust - c) - decay * c``,
    clipped to [0, 1]. With constant trust it settles at ``rate * trust / (rate + decay)``."""
    c = commitment + rate * (trust - commitment) - decay * commitment
    return min(max(c, 0.0), 1.0)


@rule
def bond_score(satisfaction, trust, commitment, nostalgia, w_s, w_t, w_c):
    """Bond in [0, 1]: the weighted mean of satisfaction, trust and commitment, plus the nostalgia boost."""
    base = (w_s * satisfaction + w_t * trust + w_c * commitment) / (w_s + w_t + w_c)
    return min(max(base + nostalgia, 0.0), 1.0)


@rule
def decay(x, rate):
    """Geometric decay of a boost without reinforcement: ``x * (1 - rate)``."""
    return x * (1.0 - rate)


@rule
def phase(tenure, trust, post_purchase, regular_tenure):
    """Relationship phase: 0 first purchase (tenure 0), 1 post-purchase (tenure <= ``post_purchase``),
    2 repeat, 3 regular (tenure >= ``regular_tenure`` and trust >= 0.5); names in :data:`PHASES`."""
    if tenure >= regular_tenure and trust >= 0.5:
        return 3
    if tenure == 0:
        return 0
    return 1 if tenure <= post_purchase else 2


@rule
def phases(tenure, trust, post_purchase, regular_tenure, out):
    """:func:`phase` for every row of the arrays (for tables)."""
    for i in range(tenure.shape[0]):
        out[i] = phase(tenure[i], trust[i], post_purchase, regular_tenure)
    return out


def phase_codes(tenure: np.ndarray, trust: np.ndarray, post_purchase: int, regular_tenure: int) -> np.ndarray:
    """Phase codes of many customers at once."""
    out = np.empty(tenure.shape[0], dtype=np.int8)
    return phases(tenure.astype(np.int64), trust.astype(np.float64), post_purchase, regular_tenure, out)
