"""B2B accounts (DIM-B2B): a buying centre of several people decides, purchase decisions come at the
end of long cycles, and when the account's contact person changes the personal part of the
relationship is back at zero ("im Prinzip steht die bisherige Kundenbindung dann wieder bei Null")."""

from __future__ import annotations

from .._jit import rule


@rule
def majority_considers(p, people):
    """Probability that a majority (more than half) of ``people`` look around, each independently with
    probability ``p``: the account considers alternatives only then. One person: ``p``."""
    if people <= 1:
        return p
    need = people // 2 + 1
    total = 0.0
    ways = 1.0  # people choose k, built up as k grows
    for k in range(people + 1):
        if k >= need:
            total += ways * p**k * (1.0 - p) ** (people - k)
        ways = ways * (people - k) / (k + 1)
    return total


@rule
def decision_point(tenure, cycle):
    """Whether this period ends a purchase cycle of ``cycle`` periods (every period for cycle 1)."""
    return (tenure + 1) % cycle == 0


@rule
def contact_changes(u, turnover):
    """The account's contact person changes this period iff ``u < turnover``."""
    return u < turnover


@rule
def personal_part_lost(personal_share, handover):
    """Share of trust and commitment lost when the contact person changes: the personal share, less
    what a good handover (0..1, an account manager's) carries over."""
    return personal_share * (1.0 - handover)


@rule
def trust_after_change(trust, initial_trust, lost):
    """Trust falls back toward where a new relationship starts, by the lost share: ``trust - lost *
    (trust - initial)`` (never below the starting level when trust was above it)."""
    return trust - lost * (trust - initial_trust) if trust > initial_trust else trust
