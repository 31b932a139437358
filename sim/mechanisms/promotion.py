"""Promotions beyond a firm's own customers (REVIERDIALOG: discount campaigns must not be too many, a
weekly catalogue does not reach as far as a summer sale; DIM-B2B: discount campaigns serve acquisition
as well as retention; Kaack: hardly anyone stays the cheapest for long).

Firm-level rules, applied once a period before the customers' pass (:meth:`sim.engine.Engine.plan`):

- A firm's **offer price** to a newcomer of a segment is its list price after the discounts that would
  reach her (those not aimed at a loyalty class or cohort). Customers of other firms who look around
  see it (:func:`sim.mechanisms.choice.choose`), and prospects pick firms by it (:func:`arrival_pull`).
- Per segment (a promotion aimed at one segment is that segment's news only), a promotion's **depth**
  is its share off the list price; its **familiarity** is an exponentially weighted share of the recent
  periods in which the firm promoted to the segment (:func:`familiarity`). Its **attention** is ``depth * (1 - familiarity)``
  (:func:`attention`): a deep, rare sale draws it, a standing discount wears out until nobody notices
  it. Attention brings extra prospects (:func:`attention_boost`) and makes other firms' customers look
  around (:func:`promotion_pull`).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import rule


@rule
def familiarity(previous, promoting, wearout):
    """Familiarity after a period: ``f + wearout * (on - f)``, ``on`` = 1 if the firm promoted."""
    return previous + wearout * ((1.0 if promoting else 0.0) - previous)


@rule
def attention(depth, familiar):
    """Attention a promotion draws this period: its depth times its novelty, ``depth * (1 - f)``, with
    the familiarity ``f`` from before this period."""
    return depth * (1.0 - familiar)


@rule
def arrival_pull(offer, mean_offer, sensitivity, coef):
    """Multiplier of a firm's arrivals of one segment for its offer price against the mean offer of the
    firms present: ``exp(coef * sensitivity * (mean - offer) / mean)``; 1 when all offer the same."""
    if offer == mean_offer:
        return 1.0
    return math.exp(coef * sensitivity * (mean_offer - offer) / mean_offer)


@rule
def attention_boost(attention_level, coef):
    """Multiplier of a firm's arrivals for the attention its promotion draws: ``1 + coef * attention``."""
    return 1.0 + coef * attention_level


@rule
def promotion_pull(rival_attention, coef):
    """Added probability that a customer looks around while another firm's promotion draws attention:
    ``coef * (largest attention among the other firms)``."""
    return coef * rival_attention


@rule
def period_effects(offer, list_price, present, familiar, mean_offer, sensitivity, wearout, attention_consideration,
                   attention_arrivals, arrival_price_coef, pull, arrivals):
    """The period's effects of every firm's promotion, segment by segment (``offer[f, s]``: what firm f
    charges a newcomer of segment s; ``mean_offer[s]``: the mean offer of the firms present): the
    pull on the customers of each firm (:func:`promotion_pull` of the largest attention among the
    other firms) into ``pull[f, s]``, the multiplier of its arrivals (:func:`arrival_pull` times
    :func:`attention_boost`) into ``arrivals[f, s]``, and each promotion's familiarity after the
    period (:func:`familiarity`, in place). One compiled call a period instead of five calls per firm
    and segment from Python."""
    n_firms, n_seg = offer.shape
    drawn = np.zeros(n_firms)
    for seg in range(n_seg):
        for f in range(n_firms):
            depth = 1.0 - offer[f, seg] / list_price[f]
            drawn[f] = attention(depth, familiar[f, seg]) * present[f]
            familiar[f, seg] = familiarity(familiar[f, seg], depth > 0.0, wearout)
        for f in range(n_firms):
            rival = 0.0 if n_firms == 1 else -math.inf
            for j in range(n_firms):
                if j != f and drawn[j] > rival:
                    rival = drawn[j]
            pull[f, seg] = promotion_pull(rival, attention_consideration)
            arrivals[f, seg] = (arrival_pull(offer[f, seg], mean_offer[seg], sensitivity[seg], arrival_price_coef)
                                * attention_boost(drawn[f], attention_arrivals))
