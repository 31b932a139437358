"""Choice mechanism: Gumbel-max draws reproduce logit probabilities; consideration rules."""

import numpy as np

from sim.mechanisms.choice import background_leave, consideration, logit_pick


def test_gumbel_pick_matches_softmax(rng):
    n = 200_000
    u = np.tile(np.array([[1.0, 0.0, -1.0]]), (n, 1))
    avail = np.ones_like(u, dtype=bool)
    pick = logit_pick(u, avail, rng.random(u.shape))
    want = np.exp([1.0, 0.0, -1.0]) / np.exp([1.0, 0.0, -1.0]).sum()
    got = np.bincount(pick, minlength=3) / n
    assert np.all(np.abs(got - want) < 4 * np.sqrt(want * (1 - want) / n))
    avail[:, 0] = False
    assert not (logit_pick(u, avail, rng.random(u.shape)) == 0).any()


def test_consideration_rises_with_dissatisfaction_and_at_expiry():
    p = consideration(np.array([1.0, 0.0, 1.0]), np.array([False, False, True]), 0.05, 0.5, 0.9)
    assert np.allclose(p, [0.05, 0.55, 0.9])


def test_background_leave():
    assert background_leave(np.array([0.01, 0.5]), np.array([0.05, 0.05])).tolist() == [True, False]
