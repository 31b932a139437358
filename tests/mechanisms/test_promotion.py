"""Promotions: the firm-level rules and their per-period application (:func:`period_effects`)."""

from __future__ import annotations

import math

import numpy as np

from sim.mechanisms.promotion import (
    arrival_pull,
    attention,
    attention_boost,
    familiarity,
    period_effects,
    promotion_pull,
)


def _effects(offer, list_price, present, familiar, coef=(0.15, 0.5, 3.0, 2.0), sensitivity=None):
    offer = np.asarray(offer, dtype=np.float64)
    n_firms, n_seg = offer.shape
    present = np.asarray(present, dtype=np.float64)
    here = present > 0
    mean_offer = np.array([offer[here, s].mean() if here.any() else 0.0 for s in range(n_seg)])
    sens = np.ones(n_seg) if sensitivity is None else np.asarray(sensitivity, dtype=np.float64)
    pull = np.zeros((n_firms, n_seg))
    arrivals = np.ones((n_firms, n_seg))
    period_effects(offer, np.asarray(list_price, dtype=np.float64), present, familiar, mean_offer, sens, *coef, pull, arrivals)
    return pull, arrivals, mean_offer, sens


def test_no_promotion_anywhere_draws_nobody_and_changes_no_arrivals():
    familiar = np.zeros((2, 3))
    pull, arrivals, _, _ = _effects(np.full((2, 3), 10.0), [10.0, 10.0], [1.0, 1.0], familiar)
    assert np.all(pull == 0.0) and np.all(arrivals == 1.0) and np.all(familiar == 0.0)


def test_a_single_firm_has_no_rival_to_draw_its_customers_away():
    familiar = np.zeros((1, 1))
    pull, arrivals, _, _ = _effects([[5.0]], [10.0], [1.0], familiar)
    assert pull[0, 0] == 0.0
    assert arrivals[0, 0] == attention_boost(0.5, 3.0)  # alone, its offer is the mean: only the attention counts
    assert familiar[0, 0] == familiarity(0.0, True, 0.15)


def test_period_effects_apply_the_scalar_rules_firm_by_firm_and_segment_by_segment():
    offer = np.array([[8.0, 10.0], [10.0, 9.0], [10.0, 5.0]])
    list_price = np.array([10.0, 10.0, 10.0])
    present = np.array([1.0, 1.0, 0.0])  # the third firm has not entered: its promotion draws nobody
    familiar = np.array([[0.5, 0.0], [0.0, 0.2], [0.0, 0.0]])
    before = familiar.copy()
    coef = (0.15, 0.5, 3.0, 2.0)
    pull, arrivals, mean_offer, sens = _effects(offer, list_price, present, familiar, coef, sensitivity=[1.0, 2.0])
    for s in range(2):
        drawn = [attention(1.0 - offer[f, s] / list_price[f], before[f, s]) * present[f] for f in range(3)]
        for f in range(3):
            rival = max(drawn[j] for j in range(3) if j != f)
            assert pull[f, s] == promotion_pull(rival, coef[1])
            boost = attention_boost(drawn[f], coef[2])
            assert arrivals[f, s] == arrival_pull(offer[f, s], mean_offer[s], sens[s], coef[3]) * boost
            assert familiar[f, s] == familiarity(before[f, s], offer[f, s] < list_price[f], coef[0])
    assert math.isclose(pull[1, 0], promotion_pull(0.2 * 0.5, 0.5))  # the first firm's 20 % off, half familiar already
    assert math.isclose(mean_offer[1], 9.5)  # the absent firm's deep offer is not in the mean
