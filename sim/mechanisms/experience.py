"""Experiences and satisfaction (satisfaction is the cumulative result of all purchase and consumption
experiences: DIM-B2B; complaints: DIM-B2B, REVIERDIALOG; reference prices and the false expectations of
constant discounts: DIM-B2B, Kaack)."""

from __future__ import annotations

from .._jit import rule


@rule
def service_events(u, p_incident, complaint_prob, handling):
    """Incident, complaint and well-handled complaint from one uniform ``u``.

    An incident happens iff ``u < p_incident``. Given an incident, ``v = u / p_incident`` is again
    uniform on [0, 1), so the customer complains iff ``v < complaint_prob``, and the complaint is
    resolved well iff ``v / complaint_prob < handling``. One draw thus decides all three events with the
    right joint probabilities: P(incident, complaint, handled well) = p * c * h.

    Returns ``(incident, complained, handled)``.
    """
    if not u < p_incident:
        return False, False, False
    v = u / p_incident
    complained = v < complaint_prob
    return True, complained, complained and v < complaint_prob * handling


@rule
def price_feeling(paid, reference, sensitivity, weight, loss_aversion):
    """Felt price: ``weight * sensitivity * g`` with relative gain ``g = (reference - paid) / reference``;
    losses (``g < 0``, paying more than expected) count ``loss_aversion`` (>= 1) times."""
    g = (reference - paid) / reference
    if g < 0.0:
        g *= loss_aversion
    return weight * sensitivity * g


@rule
def shielded_sensitivity(sensitivity, shield, bonded):
    """The price sensitivity a customer applies this period: ``sensitivity * (1 - shield * bonded)``,
    where ``bonded`` in [0, 1] is how bonded she is (:func:`sim.mechanisms.choice.bond_pull`): bonded
    regulars accept price rises and pay above the cheapest offer (REVIERDIALOG)."""
    return sensitivity * (1.0 - shield * bonded)


@rule
def experience(quality, noise, z, incident, handled, incident_experience, recovery_bonus, felt_price, penalty):
    """This period's experience in [0, 1].

    Normally ``quality + noise * z`` (``quality`` already includes the customer's fit with the firm). An
    incident that is not resolved well gives ``incident_experience``; a well-handled complaint gives
    ``quality + recovery_bonus`` (the service-recovery paradox when the bonus is > 0). The felt price
    is added and the forced-binding ``penalty`` subtracted, and the result is clipped to [0, 1].
    """
    e = quality + noise * z
    if incident and not handled:
        e = incident_experience
    elif handled:
        e = quality + recovery_bonus
    return min(max(e + felt_price - penalty, 0.0), 1.0)


@rule
def update_satisfaction(satisfaction, experience, rate):
    """Cumulative satisfaction as an exponentially weighted mean: ``s + rate * (e - s)``."""
    return satisfaction + rate * (experience - satisfaction)


@rule
def update_reference(reference, paid, rate):
    """The reference price adapts to what is paid: ``r + rate * (paid - r)``. A permanent discount drags
    it down, so the list price later feels like a loss (the discount-expectation trap)."""
    return reference + rate * (paid - reference)


@rule
def post_purchase_doubt(price, doubt, doubt_price, tenure, window, reassurance):
    """Experience lost to doubt in the ``window`` periods after a first purchase (tenure 1..window):
    ``doubt * price / (price + doubt_price)`` (larger for dearer products), less the share
    ``reassurance`` (0..1) a reassuring contact removes; 0 outside the window."""
    if tenure < 1 or tenure > window:
        return 0.0
    return doubt * price / (price + doubt_price) * (1.0 - reassurance)
