"""Switching choice: who looks around, and what they pick (DIM-Kommunikation, DIM-B2B), plus background
churn from life events no firm influences (DIM-B2B: churn is never zero).

A customer first *considers* alternatives with a probability that rises with dissatisfaction and is high
when a contract expires. A considering customer then picks, by multinomial logit, among staying, every
reachable competitor and leaving the market:

    U_stay = b_q * q_cur + b_p * felt_price(paid) + b_bond * bond
    U_j    = b_q * q_j   + b_p * felt_price(p_j)  - barrier
    U_out  = u_out - barrier,        barrier = b_sc * perceived switching cost / price_cur

where ``felt_price`` compares each price with the customer's reference price (loss-averse). The bond
enters only the stay option: it is the wish to stay. Switching costs enter every exit: they are the
must-stay. The pick is ``argmax(U + Gumbel)``, which gives the logit probabilities ``softmax(U)``.
"""

from __future__ import annotations

import numpy as np

from .._jit import rule
from ..codes import OUT, P_CHOICE
from ..rng import draw, gumbel, uniform
from .experience import price_feeling


@rule
def consideration(satisfaction, expiring, base, dissatisfied, at_expiry):
    """Probability of looking at alternatives: ``base + dissatisfied * (1 - s)^2``, at least
    ``at_expiry`` in the period a contract expires; capped at 1."""
    p = base + dissatisfied * (1.0 - satisfaction) ** 2
    if expiring and p < at_expiry:
        p = at_expiry
    return min(p, 1.0)


@rule
def barrier(perceived_cost, price_current, coef):
    """Disutility of any exit: ``coef * perceived switching cost / current list price``."""
    return coef * perceived_cost / price_current


@rule
def stay_utility(quality, felt_price, bond, quality_coef, price_coef, bond_coef):
    """Utility of staying: service received, price paid (as felt) and the bond."""
    return quality_coef * quality + price_coef * felt_price + bond_coef * bond


@rule
def switch_utility(quality, felt_price, barrier, quality_coef, price_coef):
    """Utility of a competitor: its service quality and list price (as felt), minus the exit barrier."""
    return quality_coef * quality + price_coef * felt_price - barrier


@rule
def switch_barrier(perceived_cost, fee_perceived, bonus, pays_fee, price_current, coef):
    """The barrier to switching to one competitor: the perceived switching cost, less a switching
    bonus it offers and, if it pays the exit fee, the fee (never below zero), per current list price."""
    cost = perceived_cost - bonus - (fee_perceived if pays_fee else 0.0)
    return coef * max(cost, 0.0) / price_current


@rule
def choose(k0, k1, who, period, current, firm_quality, list_price, present, bonus, pays_fee, reachable, u_stay, reference,
           sensitivity, loss_aversion, perceived_cost, fee_perceived, price_current, coef, quality_coef, price_coef,
           outside_utility):
    """The option a considering customer picks: ``current`` (stay), another firm's index (switch) or
    ``OUT`` (leave the market). Option j (firms 0..n-1, then leaving) gets Gumbel noise from word j of
    the customer's CHOICE draws for this period, so the pick depends only on this customer's numbers.
    Competitors are options only if ``reachable`` and ``present`` (entered the market); each exit is
    taxed by its barrier (:func:`switch_barrier`; leaving the market by the full perceived cost)."""
    n = firm_quality.shape[0]
    best = -1e300
    pick = current
    w0 = w1 = w2 = w3 = np.uint64(0)
    for j in range(n + 1):
        if j % 4 == 0:
            w0, w1, w2, w3 = draw(k0, k1, who, period, P_CHOICE, j // 4)
        word = w0 if j % 4 == 0 else (w1 if j % 4 == 1 else (w2 if j % 4 == 2 else w3))
        if j == current:
            util = u_stay
        elif j == n:
            util = outside_utility - barrier(perceived_cost, price_current, coef)
        elif reachable and present[j] > 0.0:
            felt = price_feeling(list_price[j], reference, sensitivity, 1.0, loss_aversion)
            wall = switch_barrier(perceived_cost, fee_perceived, bonus[j], pays_fee[j] > 0.0, price_current, coef)
            util = switch_utility(firm_quality[j], felt, wall, quality_coef, price_coef)
        else:
            continue
        util += gumbel(uniform(word))
        if util > best:
            best = util
            pick = j
    return OUT if pick == n else pick


@rule
def background_leave(u, churn_p):
    """Background churn: a life event ends the relationship iff ``u < churn_p`` (geometric lifetime for
    a fixed probability)."""
    return u < churn_p
