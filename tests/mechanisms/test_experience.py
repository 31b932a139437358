"""Experience rules: one uniform decides incident, complaint and handling with the right odds."""

import numpy as np
import pytest
from conftest import z_tolerance

from sim.mechanisms.experience import experience, price_feeling, service_events, update_reference, update_satisfaction

Z = z_tolerance()


def test_service_events_joint_probabilities(rng):
    n = 200_000
    p, c, h = 0.3, 0.6, 0.25
    events = np.array([service_events(u, p, c, h) for u in rng.random(n)])
    inc, comp, handled = events.T
    for got, want in ((inc.mean(), p), (comp.mean(), p * c), (handled.mean(), p * c * h)):
        assert abs(got - want) < Z * np.sqrt(want * (1 - want) / n)
    assert not (handled & ~comp).any() and not (comp & ~inc).any()


@pytest.mark.parametrize("u,expected", [(0.0, (True, True, True)), (0.299, (True, False, False)), (0.3, (False, False, False)),
                                        (0.0449, (True, True, True)), (0.0451, (True, True, False))])
def test_service_events_edges(u, expected):
    # p = 0.3, complaint 0.6, handling 0.25: incident iff u < 0.3; complaint iff u < 0.18; handled iff u < 0.045
    assert service_events(u, 0.3, 0.6, 0.25) == expected


def test_no_incidents_at_zero_risk():
    assert service_events(0.0, 0.0, 0.6, 0.25) == (False, False, False)


def test_price_feeling_is_loss_averse():
    assert np.isclose(price_feeling(9.0, 10.0, 1.0, 1.0, 2.0), 0.1)
    assert np.isclose(price_feeling(11.0, 10.0, 1.0, 1.0, 2.0), -0.2)
    assert price_feeling(10.0, 10.0, 3.0, 1.0, 2.0) == 0.0


def test_experience_rules():
    args = dict(incident_experience=0.1, recovery_bonus=0.05, felt_price=0.0)
    assert np.isclose(experience(0.6, 0.1, 0.0, False, False, penalty=0.0, **args), 0.6)
    assert np.isclose(experience(0.6, 0.1, 1.0, False, False, penalty=0.0, **args), 0.7)
    assert np.isclose(experience(0.6, 0.1, 0.0, True, False, penalty=0.0, **args), 0.1)
    assert np.isclose(experience(0.6, 0.1, 0.0, True, True, penalty=0.1, **args), 0.55)
    assert experience(0.95, 0.1, 3.0, False, False, 0.1, 0.0, 0.2, 0.0) == 1.0  # clipped
    assert experience(0.05, 0.1, -3.0, False, False, 0.1, 0.0, -0.2, 0.3) == 0.0


def test_satisfaction_and_reference_are_ewma():
    assert np.isclose(update_satisfaction(0.5, 1.0, 0.2), 0.6)
    assert np.isclose(update_reference(30.0, 24.0, 0.5), 27.0)
    assert update_satisfaction(0.5, 1.0, 0.0) == 0.5
