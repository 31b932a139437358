"""Switching choice: who looks around, and what they pick (000:101, 000:334, 000:318), plus
background churn from life events no firm influences (000:523).

A customer first *considers* alternatives with a probability that rises with dissatisfaction and is
high when a contract expires. A considering customer then picks, by multinomial logit, among staying,
every reachable competitor and leaving the market:

    U_stay = q_cur * b_q + felt_price(paid) * b_p + bond * b_bond
    U_j    = q_j * b_q + felt_price(p_j) * b_p - b_sc * perceived_cost / price_cur
    U_out  = u_out - b_sc * perceived_cost / price_cur

where ``felt_price`` compares each price with the customer's reference price (loss-averse). The bond
enters only the stay option: it is the wish to stay. Switching costs enter every exit: they are the
must-stay. Logit draws use the Gumbel trick, ``argmax(U + G)``.
"""

from __future__ import annotations

import numpy as np


def consideration(satisfaction: np.ndarray, expiring: np.ndarray, base: float, dissatisfied: float, at_expiry: float) -> np.ndarray:
    """Probability of looking at alternatives: ``base + dissatisfied * (1 - s)^2``, at least
    ``at_expiry`` in the period a contract expires; capped at 1."""
    p = base + dissatisfied * (1.0 - satisfaction) ** 2
    return np.minimum(np.where(expiring, np.maximum(p, at_expiry), p), 1.0)


def logit_pick(utilities: np.ndarray, available: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the chosen option per row: ``argmax(U + Gumbel)`` over available options.

    ``u`` holds uniforms of the same shape, turned into Gumbel noise ``-log(-log(u))``, so the
    choice probabilities are ``softmax(U)`` over the available options.
    """
    g = -np.log(-np.log(np.clip(u, 1e-12, 1 - 1e-12)))
    return np.argmax(np.where(available, utilities + g, -np.inf), axis=1)


def background_leave(u: np.ndarray, churn_p: np.ndarray) -> np.ndarray:
    """Background churn: leave the market iff ``u < churn_p`` (geometric lifetime for fixed p)."""
    return u < churn_p
