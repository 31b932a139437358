"""Accounting: margin and CLV per customer relationship.

Timing convention: margin is booked at the *start* of every period in which the customer is active
(period 0 of the relationship included), leaving happens at the *end* of a period, and the discount
rate ``d`` is per period. CLV of a relationship = sum over its periods k = 0, 1, ... of
``(margin_k - attributed costs_k) / (1 + d)^k`` minus its acquisition cost. With constant survival
probability r and margin m, E[CLV] = sum_k m r^k / (1+d)^k = m (1 + d) / (1 + d - r).
"""

from __future__ import annotations

import numpy as np


def discount_factor(age: np.ndarray, rate: float) -> np.ndarray:
    """``(1 + rate) ** -age`` for relationship age ``age`` in periods."""
    return np.power(1.0 + rate, -age.astype(np.float64))


def expected_clv(margin: float, survival: float, rate: float, horizon: int | None = None) -> float:
    """Closed form E[CLV] = m * sum_{k<T} (r/(1+d))^k; T = None gives m (1+d) / (1+d-r)."""
    q = survival / (1.0 + rate)
    if horizon is None:
        return margin / (1.0 - q)
    return margin * (1.0 - q**horizon) / (1.0 - q)
