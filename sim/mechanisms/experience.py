"""Experiences and satisfaction (Keller & Stolper: satisfaction is the cumulative result of all
purchase and consumption experiences, 000:358; complaints 000:446, 003:63-69; reference prices and
the false expectations of constant discounts, 000:509)."""

from __future__ import annotations

import numpy as np


def service_events(u: np.ndarray, p_incident: np.ndarray, complaint_prob: float, handling: np.ndarray):
    """Incidents, complaints and well-handled complaints from one uniform draw per customer.

    An incident happens iff ``u < p_incident``. Given an incident, ``v = u / p_incident`` is again
    uniform on [0, 1), so the customer complains iff ``v < complaint_prob``, and the complaint is
    resolved well iff ``v / complaint_prob < handling``. One draw thus decides all three events with
    the right joint probabilities: P(incident, complaint, handled) = p * c * h.

    Returns boolean arrays ``(incident, complained, handled)``.
    """
    incident = u < p_incident
    v = np.divide(u, p_incident, out=np.ones_like(u), where=incident)
    complained = incident & (v < complaint_prob)
    handled = complained & (v < complaint_prob * handling)
    return incident, complained, handled


def price_feeling(paid: np.ndarray, reference: np.ndarray, sensitivity: np.ndarray, weight: float, loss_aversion: float) -> np.ndarray:
    """Felt price: ``weight * sensitivity * g`` with relative gain ``g = (reference - paid) / reference``;
    losses (``g < 0``, paying more than expected) are multiplied by ``loss_aversion`` (>= 1)."""
    g = (reference - paid) / reference
    return weight * sensitivity * np.where(g < 0, loss_aversion * g, g)


def experience(
    quality: np.ndarray,
    z: np.ndarray,
    noise: float,
    incident: np.ndarray,
    handled: np.ndarray,
    incident_experience: float,
    recovery_bonus: float,
    felt_price: np.ndarray,
    penalty: np.ndarray,
) -> np.ndarray:
    """This period's experience in [0, 1].

    Normally ``quality + noise * z`` (``quality`` already includes the customer's fit with the firm). An incident that is not resolved well gives
    ``incident_experience``; a well-handled complaint gives ``quality + recovery_bonus`` (the
    service-recovery paradox of 000:17 when the bonus is > 0). The felt price and minus the
    forced-binding ``penalty`` are added, and the result is clipped to [0, 1].
    """
    e = quality + noise * z
    e = np.where(incident & ~handled, incident_experience, e)
    e = np.where(handled, quality + recovery_bonus, e)
    return np.clip(e + felt_price - penalty, 0.0, 1.0)


def update_satisfaction(satisfaction: np.ndarray, experience: np.ndarray, rate: float) -> np.ndarray:
    """Cumulative satisfaction as an exponentially weighted mean: ``s + rate * (e - s)``."""
    return satisfaction + rate * (experience - satisfaction)


def update_reference(reference: np.ndarray, paid: np.ndarray, rate: float) -> np.ndarray:
    """Reference price adapts to what is paid: ``r + rate * (paid - r)``. A permanent discount drags
    it down, so the list price later feels like a loss (the discount-expectation trap)."""
    return reference + rate * (paid - reference)
