"""The core rules shared by the benchmark baselines, their constants, and the engine scenario that
reduces the engine to exactly these rules.

Core rules, per active customer and period (in this order; the engine's order, see
``RetentionModel.step``):

1. Experience. One uniform ``u`` decides the service events: incident iff ``u < p_inc`` with
   ``p_inc = INCIDENT_RATE * (1 - q)`` (``q`` the firm's service quality); given an incident,
   ``v = u / p_inc`` is again uniform, the customer complains iff ``v < COMPLAINT_PROB`` and the
   complaint is handled well iff ``v < COMPLAINT_PROB * HANDLING``, i.e. iff ``u < p_inc *
   COMPLAINT_PROB * HANDLING``. Experience ``e = q + fit + NOISE * z`` (``z`` standard normal);
   an incident not handled well gives ``INCIDENT_EXPERIENCE``, a well-handled one gives
   ``q + fit + RECOVERY_BONUS``; ``e`` is clipped to [0, 1]. There is no price feeling: every price
   equals the customer's reference price, so the felt price is 0.
2. Satisfaction ``s += SAT_RATE * (e - s)``.
3. Trust ``tr += k * (s - tr)`` with ``k = TRUST_GAIN`` if ``s > tr`` else ``TRUST_LOSS``.
4. Commitment ``c = clip(c + COMMIT_RATE * (tr - c) - COMMIT_DECAY * c, 0, 1)``.
5. Bond ``b = clip((W_S * s + W_T * tr + W_C * c) / (W_S + W_T + W_C), 0, 1)`` (the clip never binds:
   the three are in [0, 1]).
6. Consideration with probability ``min(BASE_CONS + DISSAT_CONS * pressure ** 2, 1)``, the pressure of
   suffering ``pressure = max(0, (CONTENT_SAT - s) / CONTENT_SAT)`` (0 for a content customer).
7. A considering customer picks by multinomial logit among staying (utility
   ``QUALITY_COEF * q_cur + BOND_COEF * pull(b)``, the bond's pull a logistic step
   ``pull(b) = 1 / (1 + exp(-(b - BONDED_THRESHOLD) / BOND_SOFTNESS))``), switching to each other firm
   ``j`` (``QUALITY_COEF * q_j``) and leaving the market (``OUTSIDE_UTILITY``).
8. A customer who stays (whether or not they considered) leaves the market with probability
   ``CHURN_P`` (background churn).
9. A switcher starts a new relationship next period: trust is reset to ``INITIAL_TRUST``,
   commitment to 0, the fit is redrawn from ``N(0, FIT_SD)``; satisfaction is kept.

Initial state: firm drawn with the initial shares (here equal), ``s ~ clip(N(INITIAL_SAT, 0.1), 0,
1)``, ``tr ~ clip(N(INITIAL_TRUST, 0.1), 0, 1)``, ``c = 0``, ``fit ~ N(0, FIT_SD)``.

Churn of a period (the quantity compared across implementations) is the number of relationships that
end in the period (switches out plus leaving the market, by choice or background churn) over the
number of active customers at its start, both summed over the firms.

The constants are the defaults of :mod:`sim.params` with two firms of quality 0.65 and 0.55, equal
prices and equal initial shares; :func:`check_constants` verifies them against the schema.
"""

from __future__ import annotations

# --- firms (equal prices, so no price terms anywhere)
QUALITY = (0.65, 0.55)            # firms' service quality
HANDLING = (0.5, 0.5)             # probability that a complaint is handled well (schema default)
PRICE = 30.0                      # both firms (schema default)
SHARES = (0.5, 0.5)               # initial shares
# --- experience
INCIDENT_RATE = 0.2
COMPLAINT_PROB = 0.6
INCIDENT_EXPERIENCE = 0.1
RECOVERY_BONUS = 0.05
NOISE = 0.1
SAT_RATE = 0.25
# --- bonding
TRUST_GAIN = 0.05
TRUST_LOSS = 0.15
COMMIT_RATE = 0.04
COMMIT_DECAY = 0.01
W_S, W_T, W_C = 0.3, 0.35, 0.35
# --- choice
BASE_CONS = 0.04
DISSAT_CONS = 0.5
CONTENT_SAT = 0.6                 # satisfaction of a content customer: below it the pressure of suffering
QUALITY_COEF = 2.0
BOND_COEF = 6.0
BONDED_THRESHOLD = 0.5            # the bond's pull is 0.5 here (a logistic step) ...
BOND_SOFTNESS = 0.035             # ... of this width
OUTSIDE_UTILITY = -1.5
# --- customers
CHURN_P = 0.0022                  # background churn per period (the schema default: households' life events)
INITIAL_SAT = 0.6                 # mean; sd 0.1, clipped to [0, 1]
INITIAL_TRUST = 0.3               # mean; sd 0.1, clipped; switchers restart at exactly this value
INITIAL_SD = 0.1
FIT_SD = 0.12

N_FIRMS = len(QUALITY)
# derived per-firm thresholds on the experience uniform
P_INCIDENT = tuple(INCIDENT_RATE * (1.0 - q) for q in QUALITY)
P_HANDLED = tuple(p * COMPLAINT_PROB * h for p, h in zip(P_INCIDENT, HANDLING))


def engine_scenario(customers: int, periods: int, seed: int = 0) -> dict:
    """The scenario dict under which ``sim.RetentionModel`` runs exactly the core rules.

    Mechanisms off: attachment (no contracts, exit fees, lock-in, barriers; attachment is 0 and does
    not enter the choice), arrivals, measures, and post-purchase doubt (``experience.doubt = 0``). On: experience,
    bonding, choice, background churn.
    Both firms charge the schema's default price, which is every customer's reference price, so the
    felt price and the price terms of the logit are 0.
    """
    return {
        "name": "bench_core",
        "question": "core rules only (benchmark baseline agreement)",
        "simulation": {"customers": int(customers), "periods": int(periods), "seed": int(seed)},
        "mechanisms": {"experience": True, "bonding": True, "attachment": False, "choice": True,
                       "background_churn": True, "arrivals": False, "measures": False},
        "segments": [{"name": "all", "share": 1.0, "fit_sd": FIT_SD, "initial_satisfaction": INITIAL_SAT,
                      "initial_trust": INITIAL_TRUST, "no_alternative_share": 0.0,
                      "background_churn": {"distribution": "fixed", "p": CHURN_P}}],
        "firms": [{"name": name, "price": PRICE, "service_quality": q, "complaint_handling": h,
                   "initial_share": s, "acquisition_spend": 0.0}
                  for name, q, h, s in zip(("focal", "rival"), QUALITY, HANDLING, SHARES)],
        "experience": {"incident_rate": INCIDENT_RATE, "complaint_prob": COMPLAINT_PROB,
                       "incident_experience": INCIDENT_EXPERIENCE, "recovery_bonus": RECOVERY_BONUS,
                       "noise": NOISE, "satisfaction_rate": SAT_RATE, "doubt": 0.0},
        "bonding": {"trust_gain": TRUST_GAIN, "trust_loss": TRUST_LOSS, "commitment_rate": COMMIT_RATE,
                    "commitment_decay": COMMIT_DECAY, "weight_satisfaction": W_S, "weight_trust": W_T,
                    "weight_commitment": W_C, "bonded_threshold": BONDED_THRESHOLD},
        "choice": {"base_consideration": BASE_CONS, "dissatisfaction_consideration": DISSAT_CONS,
                   "content_satisfaction": CONTENT_SAT, "quality_coef": QUALITY_COEF, "bond_coef": BOND_COEF,
                   "bond_softness": BOND_SOFTNESS, "outside_utility": OUTSIDE_UTILITY},
        "measures": [],
    }


def check_constants() -> list[str]:
    """Differences between these constants and the schema defaults of ``sim`` (empty if none).

    Builds the scenario with only the firms' names, qualities and shares set and compares every
    value this module fixes, so a change of a default in :mod:`sim.params` is noticed.
    """
    import sim

    sc = sim.load({"firms": [{"name": "focal", "service_quality": QUALITY[0], "initial_share": SHARES[0]},
                             {"name": "rival", "service_quality": QUALITY[1], "initial_share": SHARES[1]}]})
    x, b, ch, seg = sc.experience, sc.bonding, sc.choice, sc.segments[0]
    pairs = {
        "HANDLING": (HANDLING, tuple(f.complaint_handling for f in sc.firms)),
        "PRICE": ((PRICE, PRICE), tuple(f.price for f in sc.firms)),
        "INCIDENT_RATE": (INCIDENT_RATE, x.incident_rate), "COMPLAINT_PROB": (COMPLAINT_PROB, x.complaint_prob),
        "INCIDENT_EXPERIENCE": (INCIDENT_EXPERIENCE, x.incident_experience),
        "RECOVERY_BONUS": (RECOVERY_BONUS, x.recovery_bonus), "NOISE": (NOISE, x.noise),
        "SAT_RATE": (SAT_RATE, x.satisfaction_rate), "TRUST_GAIN": (TRUST_GAIN, b.trust_gain),
        "TRUST_LOSS": (TRUST_LOSS, b.trust_loss), "COMMIT_RATE": (COMMIT_RATE, b.commitment_rate),
        "COMMIT_DECAY": (COMMIT_DECAY, b.commitment_decay),
        "W": ((W_S, W_T, W_C), (b.weight_satisfaction, b.weight_trust, b.weight_commitment)),
        "BASE_CONS": (BASE_CONS, ch.base_consideration), "DISSAT_CONS": (DISSAT_CONS, ch.dissatisfaction_consideration),
        "QUALITY_COEF": (QUALITY_COEF, ch.quality_coef), "BOND_COEF": (BOND_COEF, ch.bond_coef),
        "CONTENT_SAT": (CONTENT_SAT, ch.content_satisfaction), "BOND_SOFTNESS": (BOND_SOFTNESS, ch.bond_softness),
        "BONDED_THRESHOLD": (BONDED_THRESHOLD, b.bonded_threshold),
        "OUTSIDE_UTILITY": (OUTSIDE_UTILITY, ch.outside_utility),
        "CHURN_P": (CHURN_P, seg.background_churn.p), "INITIAL_SAT": (INITIAL_SAT, seg.initial_satisfaction),
        "INITIAL_TRUST": (INITIAL_TRUST, seg.initial_trust), "FIT_SD": (FIT_SD, seg.fit_sd),
    }
    return [f"{k}: benchmark {mine!r} vs schema default {theirs!r}" for k, (mine, theirs) in pairs.items() if mine != theirs]
