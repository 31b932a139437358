"""Switching choice: who looks around, and what they pick (DIM-Kommunikation, DIM-B2B), plus background
churn from life events no firm influences (DIM-B2B: churn is never zero).

A customer first *considers* alternatives with a probability that rises with dissatisfaction, is high
when a contract expires, and rises when another firm's promotion draws attention. A considering
customer then picks, by multinomial logit, among staying, every reachable competitor and leaving the
market:

    U_stay = b_q * (q_cur + fit) + b_p * felt_price(paid) + b_bond * B(bond)
    U_j    = b_q * q_j   + b_p * felt_price(offer_j) - barrier_j
    U_out  = u_out - barrier,    barrier = S(b_sc * perceived switching cost / price_cur)

where ``q_cur + fit`` is the service she experiences with her firm (its quality and her fit with its
offer), ``q_j`` a competitor's reputation, ``felt_price`` compares each price with the customer's
reference price (loss-averse), and
``offer_j`` is what firm j charges a newcomer of her segment (its promotions included). The bond
enters only the stay option, and only as far as she is bonded: ``B(bond)`` is a logistic step around
the bonded threshold (:func:`bond_pull`), so a customer the loyalty classes call "not bonded" draws
little from it. Switching costs enter every exit: they are the must-stay. The felt barrier saturates
at ``barrier_max`` (:func:`felt_barrier`): a fee can hold a content customer, but strong
dissatisfaction or a competitor's buy-out can break it. The pick is ``argmax(U + Gumbel)``, which gives
the logit probabilities ``softmax(U)``.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import rule
from ..codes import OUT, P_CHOICE
from ..rng import draw, gumbel, uniform
from .experience import price_feeling


@rule
def consideration(satisfaction, expiring, base, dissatisfied, at_expiry, promotion_pull, content):
    """Probability of looking at alternatives: ``base + dissatisfied * pressure^2 + promotion_pull``,
    with the pressure of suffering (DIM-B2B: *Leidensdruck*) ``pressure = max(0, (content - s) /
    content)``, which rises from 0 at the satisfaction of a content customer to 1 at satisfaction 0;
    another firm's promotion that draws attention adds ``promotion_pull``; at least ``at_expiry`` in the
    period a contract expires; capped at 1."""
    pressure = max(0.0, (content - satisfaction) / content)
    p = base + dissatisfied * pressure * pressure + promotion_pull
    if expiring and p < at_expiry:
        p = at_expiry
    return min(p, 1.0)


@rule
def felt_barrier(perceived_cost, price_current, coef, cap):
    """Disutility of an exit with a perceived switching cost: ``cap * (1 - exp(-x / cap))`` with
    ``x = coef * perceived cost / current list price``: about ``x`` for small costs, never more than
    ``cap`` (a barrier that saturates)."""
    x = coef * max(perceived_cost, 0.0) / price_current
    return cap * (1.0 - math.exp(-x / cap))


@rule
def bond_pull(bond, threshold, softness):
    """How much of the bond's stay utility a customer draws: a logistic step ``1 / (1 + exp(-(bond -
    threshold) / softness))``, 0.5 at the bonded threshold, small below it, near 1 above it."""
    return 1.0 / (1.0 + math.exp(-(bond - threshold) / softness))


@rule
def stay_utility(quality, felt_price, bond, quality_coef, price_coef, bond_coef, threshold, softness):
    """Utility of staying: service received, price paid (as felt) and the bond (:func:`bond_pull`)."""
    return quality_coef * quality + price_coef * felt_price + bond_coef * bond_pull(bond, threshold, softness)


@rule
def switch_utility(quality, felt_price, barrier, quality_coef, price_coef):
    """Utility of a competitor: its service quality and offer price (as felt), minus the exit barrier."""
    return quality_coef * quality + price_coef * felt_price - barrier


@rule
def switch_barrier(perceived_cost, fee_perceived, bonus, pays_fee, price_current, coef, cap):
    """The barrier to switching to one competitor: the perceived switching cost, less a switching
    bonus it offers and, if it pays the exit fee, the fee (never below zero), felt as
    :func:`felt_barrier`."""
    cost = perceived_cost - bonus - (fee_perceived if pays_fee else 0.0)
    return felt_barrier(cost, price_current, coef, cap)


@rule(inline="always")
def choose(k0, k1, who, period, current, firm_quality, offer_price, present, bonus, pays_fee, reachable, u_stay, reference,
           sensitivity, loss_aversion, perceived_cost, fee_perceived, price_current, coef, cap, quality_coef, price_coef,
           outside_utility):
    """The option a considering customer picks: ``current`` (stay), another firm's index (switch) or
    ``OUT`` (leave the market). Option j (firms 0..n-1, then leaving) gets Gumbel noise from word j of
    the customer's CHOICE draws for this period, so the pick depends only on this customer's numbers.
    Competitors are options only if ``reachable`` and ``present`` (entered the market), at the price
    they offer her (``offer_price[j]``, promotions included); each exit is taxed by its barrier
    (:func:`switch_barrier`; leaving the market by the full perceived cost)."""
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
            util = outside_utility - felt_barrier(perceived_cost, price_current, coef, cap)
        elif reachable and present[j] > 0.0:
            felt = price_feeling(offer_price[j], reference, sensitivity, 1.0, loss_aversion)
            wall = switch_barrier(perceived_cost, fee_perceived, bonus[j], pays_fee[j] > 0.0, price_current, coef, cap)
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
