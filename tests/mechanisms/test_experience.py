"""Experience mechanism: one uniform decides incident, complaint and handling with the right odds."""

import numpy as np

from sim.mechanisms.experience import experience, price_feeling, service_events, update_reference, update_satisfaction


def test_service_events_joint_probabilities(rng):
    n = 400_000
    p, c, h = 0.3, 0.6, 0.25
    inc, comp, handled = service_events(rng.random(n), np.full(n, p), c, np.full(n, h))
    for got, want in ((inc.mean(), p), (comp.mean(), p * c), (handled.mean(), p * c * h)):
        assert abs(got - want) < 4 * np.sqrt(want * (1 - want) / n)
    assert not (handled & ~comp).any() and not (comp & ~inc).any()


def test_price_feeling_is_loss_averse():
    ref, sens = np.array([10.0, 10.0]), np.array([1.0, 1.0])
    gain, loss = price_feeling(np.array([9.0, 11.0]), ref, sens, weight=1.0, loss_aversion=2.0)
    assert np.isclose(gain, 0.1) and np.isclose(loss, -0.2)


def test_experience_rules():
    q = np.array([0.6, 0.6, 0.6])
    e = experience(q, np.zeros(3), 0.1, np.array([False, True, True]), np.array([False, False, True]),
                   incident_experience=0.1, recovery_bonus=0.05, felt_price=np.zeros(3), penalty=np.array([0.0, 0.0, 0.1]))
    assert np.allclose(e, [0.6, 0.1, 0.55])


def test_satisfaction_and_reference_are_ewma():
    assert np.isclose(update_satisfaction(np.array([0.5]), np.array([1.0]), 0.2), 0.6)
    assert np.isclose(update_reference(np.array([30.0]), np.array([24.0]), 0.5), 27.0)
