"""Bonding rules: trust follows satisfaction asymmetrically; commitment settles; bond decays."""

import numpy as np

from sim.mechanisms.bonding import PHASES, bond_score, decay, phase, phase_codes, update_commitment, update_trust


def test_trust_is_lost_faster_than_won():
    assert np.isclose(update_trust(0.5, 0.7, 0.05, 0.15), 0.51)
    assert np.isclose(update_trust(0.5, 0.3, 0.05, 0.15), 0.47)
    assert update_trust(0.5, 0.5, 0.05, 0.15) == 0.5


def test_commitment_settles_at_rate_over_rate_plus_decay():
    c = 0.0
    for _ in range(2000):
        c = update_commitment(c, 0.8, 0.04, 0.01)
    assert np.isclose(c, 0.04 * 0.8 / 0.05, atol=1e-6)
    assert update_commitment(0.5, 0.0, 0.0, 0.1) < 0.5  # decays without trust
    assert update_commitment(1.0, 1.0, 1.0, 0.0) == 1.0 and update_commitment(0.0, 0.0, 0.0, 1.0) == 0.0


def test_bond_is_weighted_mean_plus_nostalgia_clipped():
    assert np.isclose(bond_score(0.6, 0.3, 0.0, 0.0, 1, 1, 1), 0.3)
    assert bond_score(0.9, 0.9, 0.9, 0.5, 1, 1, 1) == 1.0
    assert bond_score(0.1, 0.1, 0.1, -0.5, 1, 1, 1) == 0.0
    assert np.isclose(decay(0.4, 0.25), 0.3)


def test_phases():
    tenure = [0, 2, 3, 5, 20, 20]
    trust = [0.9, 0.9, 0.9, 0.9, 0.9, 0.2]
    assert [phase(a, b, 3, 12) for a, b in zip(tenure, trust)] == [0, 1, 1, 2, 3, 2]
    assert phase_codes(np.array(tenure), np.array(trust), 3, 12).tolist() == [0, 1, 1, 2, 3, 2]
    assert len(PHASES) == 4
