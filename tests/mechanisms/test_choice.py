"""Choice rules: the logit pick reproduces softmax probabilities from a customer's own numbers;
consideration with the pressure of suffering; the saturating barrier; the bond's stay utility that follows
the loyalty classes; background churn."""

import math

import numpy as np
from conftest import z_tolerance

from sim.codes import OUT
from sim.mechanisms.choice import (
    background_leave,
    bond_pull,
    choose,
    consideration,
    felt_barrier,
    stay_utility,
    switch_barrier,
    switch_utility,
)
from sim.rng import key

Z = z_tolerance()
K0, K1 = key(20261123)


def _pick(who, current=0, reachable=True, u_stay=1.0, quality=(0.5, 0.5), prices=(30.0, 30.0), cost=0.0, outside=-1.0,
          bonus=(0.0, 0.0), present=(1.0, 1.0), fee=0.0, pays=(0.0, 0.0)):
    return choose(K0, K1, who, 7, current, np.array(quality), np.array(prices), np.array(present), np.array(bonus),
                  np.array(pays), reachable, u_stay, 30.0, 1.0, 2.0, cost, fee, 30.0, 1.0, CAP, 2.0, 4.0, outside)


CAP = 50.0  # a cap far above the barriers of these tests: the felt barrier is then nearly linear


def test_logit_pick_matches_softmax():
    # utilities: stay 1.0, rival 2 * 0.5 = 1.0 ... make them distinct: rival quality 0 -> 0, leave -1
    n = 60_000
    picks = np.array([_pick(i, quality=(0.5, 0.0)) for i in range(n)])
    u = np.array([1.0, 0.0, -1.0])
    want = np.exp(u) / np.exp(u).sum()
    got = np.array([(picks == 0).mean(), (picks == 1).mean(), (picks == OUT).mean()])
    assert np.all(np.abs(got - want) < Z * np.sqrt(want * (1 - want) / n)), (got, want)


def test_unreachable_competitors_are_never_picked_and_the_pick_is_a_pure_function():
    picks = {_pick(i, reachable=False) for i in range(5000)}
    assert picks == {0, OUT}
    assert [_pick(i) for i in range(50)] == [_pick(i) for i in range(50)]


def test_barrier_lowers_every_exit_and_a_bonus_or_paid_fee_lowers_it_toward_one_firm():
    n = 20_000
    free = np.mean([_pick(i) != 0 for i in range(n)])
    held = np.mean([_pick(i, cost=90.0) != 0 for i in range(n)])
    assert held < free / 5
    to_rival = lambda **kw: np.mean([_pick(i, cost=90.0, **kw) == 1 for i in range(n)])
    assert to_rival(bonus=(0.0, 60.0)) > 3 * to_rival()
    assert to_rival(fee=80.0, pays=(0.0, 1.0)) > 3 * to_rival()
    assert np.isclose(felt_barrier(90.0, 30.0, 1.0, CAP), CAP * (1 - math.exp(-3.0 / CAP)))
    assert switch_barrier(90.0, 80.0, 20.0, True, 30.0, 1.0, CAP) == 0.0


def test_the_felt_barrier_saturates_so_a_large_fee_can_be_overcome():
    """About linear for small costs, never above the cap: a fee of 100 months' price is felt as the cap,
    so a customer at the cap's worth of dissatisfaction leaves even under contract."""
    assert np.isclose(felt_barrier(3.0, 30.0, 1.0, 4.0), 0.1, rtol=0.02)
    assert felt_barrier(3000.0, 30.0, 1.0, 4.0) < 4.0 and np.isclose(felt_barrier(3000.0, 30.0, 1.0, 4.0), 4.0)
    assert felt_barrier(-10.0, 30.0, 1.0, 4.0) == 0.0  # a bonus larger than the cost is no negative barrier
    n = 20_000
    held = lambda cost: np.mean([choose(K0, K1, i, 7, 0, np.array([0.5, 0.5]), np.array([30.0, 30.0]), np.ones(2), np.zeros(2),
                                        np.zeros(2), True, -3.0, 30.0, 1.0, 2.0, cost, 0.0, 30.0, 1.0, 4.0, 2.0, 4.0, -1.0) != 0
                                 for i in range(n)])
    assert held(3000.0) > 0.3  # a very unhappy customer (stay utility -3) leaves despite a huge fee


def test_a_firm_not_yet_in_the_market_is_no_option():
    assert {_pick(i, present=(1.0, 0.0)) for i in range(3000)} <= {0, OUT}


def test_utilities():
    pull = 1 / (1 + math.exp(-(0.4 - 0.5) / 0.05))
    assert np.isclose(stay_utility(0.5, -0.1, 0.4, 2.0, 4.0, 6.0, 0.5, 0.05), 2.0 * 0.5 + 4.0 * -0.1 + 6.0 * pull)
    assert switch_utility(0.5, 0.1, 1.0, 2.0, 4.0) == 2.0 * 0.5 + 4.0 * 0.1 - 1.0


def test_the_bond_pulls_only_as_far_as_she_is_bonded():
    """The stay utility's bond term agrees with the loyalty classes: a half at the bonded threshold,
    little below it (a customer called 'not bonded' draws under a fifth of it 0.05 below), nearly all
    above."""
    assert bond_pull(0.5, 0.5, 0.03) == 0.5
    assert bond_pull(0.45, 0.5, 0.03) < 0.2 and bond_pull(0.3, 0.5, 0.03) < 0.002
    assert bond_pull(0.6, 0.5, 0.03) > 0.95


def test_consideration_rises_with_dissatisfaction_below_content_and_at_expiry():
    assert np.isclose(consideration(1.0, False, 0.05, 0.5, 0.9, 0.0, 0.6), 0.05)
    assert np.isclose(consideration(0.6, False, 0.05, 0.5, 0.9, 0.0, 0.6), 0.05)  # a content customer: no pressure
    assert np.isclose(consideration(0.3, False, 0.05, 0.5, 0.9, 0.0, 0.6), 0.05 + 0.5 * 0.25)
    assert np.isclose(consideration(0.0, False, 0.05, 0.5, 0.9, 0.0, 0.6), 0.55)
    assert np.isclose(consideration(1.0, True, 0.05, 0.5, 0.9, 0.0, 0.6), 0.9)
    assert np.isclose(consideration(1.0, False, 0.05, 0.5, 0.9, 0.1, 0.6), 0.15)  # another firm's promotion draws her
    assert consideration(0.0, True, 0.9, 0.9, 0.9, 0.0, 0.6) == 1.0


def test_background_leave():
    assert background_leave(0.01, 0.05) and not background_leave(0.5, 0.05) and not background_leave(0.05, 0.05)
