"""Bonding mechanism: trust follows satisfaction asymmetrically; commitment settles; bond decays."""

import numpy as np

from sim.mechanisms.bonding import bond_score, decay, phase, update_commitment, update_trust


def test_trust_is_lost_faster_than_won():
    t = np.array([0.5, 0.5])
    new = update_trust(t, np.array([0.7, 0.3]), gain=0.05, loss=0.15)
    assert np.allclose(new, [0.51, 0.47])


def test_commitment_settles_at_rate_over_rate_plus_decay():
    c = np.zeros(1)
    for _ in range(2000):
        c = update_commitment(c, np.array([0.8]), rate=0.04, decay=0.01)
    assert np.isclose(c[0], 0.04 * 0.8 / 0.05, atol=1e-6)
    assert update_commitment(np.array([0.5]), np.array([0.0]), 0.0, 0.1)[0] < 0.5  # decays without trust


def test_bond_is_weighted_mean_plus_nostalgia_clipped():
    b = bond_score(np.array([0.6, 0.9]), np.array([0.3, 0.9]), np.array([0.0, 0.9]), np.array([0.0, 0.5]), 1, 1, 1)
    assert np.allclose(b, [0.3, 1.0])
    assert np.allclose(decay(np.array([0.4]), 0.25), 0.3)


def test_phases():
    tenure = np.array([0, 2, 5, 20, 20])
    trust = np.array([0.9, 0.9, 0.9, 0.9, 0.2])
    assert phase(tenure, trust, post_purchase=3, regular_tenure=12).tolist() == [0, 1, 2, 3, 2]
