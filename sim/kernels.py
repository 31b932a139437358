"""A fused, compiled per-row kernel for the array-heavy middle of a period.

The rules live in :mod:`sim.mechanisms` (small numpy functions, the *reference* implementation).
This module applies the same rules row by row in one pass, compiled with numba, because a period made
of ~100 numpy passes over every column is bound by memory traffic and call overhead
(``docs/performance.md``). ``tests/test_kernels.py`` checks that both give the same state.

It covers, for every row: booking the margin (accounting), experience and satisfaction, reference
price, trust, commitment and nostalgia decay (bonding), lock-in growth, attachment and the loyalty
class (attachment), and whether the customer considers alternatives (choice). Random numbers are
drawn by the caller from the model's Generators, in the same order as the numpy path, so the kernel
consumes exactly the same draws.
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba is a dependency; the numpy path remains as reference and fallback
    from numba import njit, prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False
    prange = range

    def njit(*args, **kwargs):
        return (lambda f: f) if not args or not callable(args[0]) else args[0]

CHUNKS = 8  # rows are processed in this many chunks in parallel; per-chunk sums are added in order


# positions in the parameter vector ``p``
PARAMS = (
    "incident_rate", "complaint_prob", "incident_experience", "recovery_bonus", "noise", "price_weight",
    "loss_aversion", "satisfaction_rate", "reference_rate", "trust_gain", "trust_loss", "commitment_rate",
    "commitment_decay", "w_s", "w_t", "w_c", "nostalgia_decay", "bonded_threshold", "barrier_scale",
    "attached_threshold", "base_consideration", "dissatisfaction_consideration", "expiry_consideration",
)
(INCIDENT_RATE, COMPLAINT_PROB, INCIDENT_EXPERIENCE, RECOVERY_BONUS, NOISE, PRICE_WEIGHT, LOSS_AVERSION,
 SAT_RATE, REF_RATE, TRUST_GAIN, TRUST_LOSS, COMMIT_RATE, COMMIT_DECAY, W_S, W_T, W_C, NOSTALGIA_DECAY,
 BONDED_THRESHOLD, BARRIER_SCALE, ATTACHED_THRESHOLD, BASE_CONS, DISSAT_CONS, EXPIRY_CONS) = range(len(PARAMS))

# columns of the per-firm sums the kernel returns
SUMS = ("active", "cohort_active", "revenue", "satisfaction", "bond", "attachment",
        "class_0", "class_1", "class_2", "class_3")


def parameter_vector(scenario) -> np.ndarray:
    """The scenario's numbers in the order of :data:`PARAMS`."""
    x, b, a, ch = scenario.experience, scenario.bonding, scenario.attachment, scenario.choice
    values = dict(
        incident_rate=x.incident_rate, complaint_prob=x.complaint_prob, incident_experience=x.incident_experience,
        recovery_bonus=x.recovery_bonus, noise=x.noise, price_weight=x.price_weight, loss_aversion=x.loss_aversion,
        satisfaction_rate=x.satisfaction_rate, reference_rate=x.reference_rate, trust_gain=b.trust_gain,
        trust_loss=b.trust_loss, commitment_rate=b.commitment_rate, commitment_decay=b.commitment_decay,
        w_s=b.weight_satisfaction, w_t=b.weight_trust, w_c=b.weight_commitment, nostalgia_decay=b.nostalgia_decay,
        bonded_threshold=b.bonded_threshold, barrier_scale=a.barrier_scale, attached_threshold=a.attached_threshold,
        base_consideration=ch.base_consideration, dissatisfaction_consideration=ch.dissatisfaction_consideration,
        expiry_consideration=ch.expiry_consideration,
    )
    return np.array([values[k] for k in PARAMS], dtype=np.float64)


@njit(cache=True)
def _clip01(x):
    return min(max(x, 0.0), 1.0)

_LOYALTY = np.array([3, 1, 0, 2], dtype=np.int8)  # (bonded << 1) | attached -> NEITHER, ATTACHED_ONLY, BONDED_ONLY, BOTH


@njit(cache=True, error_model="numpy", parallel=True)
def fused_period(t, n_initial, flags, p, firm, rel_start, satisfaction, trust, commitment, nostalgia,
                 bond, attachment, loyalty, contract_end, exit_fee, lockin, economic, no_alternative, segment, fit,
                 price_sensitivity, reference_price, price_paid, clv, class_periods, quality, handling, forced,
                 cost, u_exp, z, u_cons, unit_cost, list_price, df_table, lockin_growth, lockin_max,
                 considering, sums):
    """One pass over all rows; ``flags`` = (experience, bonding, attachment, choice) switches.

    Mirrors, in this order: ``_book_margin``, ``_experience``, ``_bonding``, ``_derive_state`` and the
    consideration draw of ``_choose`` in :class:`sim.model.RetentionModel`. Writes state in place,
    ``considering[i]``, and per-firm ``sums`` (rows: firms; columns: :data:`SUMS`).
    """
    on_exp, on_bond, on_att, on_choice = flags[0], flags[1], flags[2], flags[3]
    w_sum = p[W_S] + p[W_T] + p[W_C]
    n = firm.shape[0]
    step = (n + CHUNKS - 1) // CHUNKS
    partial = np.zeros((CHUNKS,) + sums.shape)
    for chunk in prange(CHUNKS):
        _rows(chunk * step, min(n, (chunk + 1) * step), t, n_initial, on_exp, on_bond, on_att, on_choice, w_sum, p,
              firm, rel_start, satisfaction, trust, commitment, nostalgia, bond, attachment, loyalty, contract_end,
              exit_fee, lockin, economic, no_alternative, segment, fit, price_sensitivity, reference_price, price_paid,
              clv, class_periods, quality, handling, forced, cost, u_exp, z, u_cons, unit_cost, list_price, df_table,
              lockin_growth, lockin_max, considering, partial[chunk])
    for chunk in range(CHUNKS):
        sums += partial[chunk]


@njit(cache=True, error_model="numpy")
def _rows(lo, hi, t, n_initial, on_exp, on_bond, on_att, on_choice, w_sum, p, firm, rel_start, satisfaction, trust,
          commitment, nostalgia, bond, attachment, loyalty, contract_end, exit_fee, lockin, economic, no_alternative,
          segment, fit, price_sensitivity, reference_price, price_paid, clv, class_periods, quality, handling, forced,
          cost, u_exp, z, u_cons, unit_cost, list_price, df_table, lockin_growth, lockin_max, considering, sums):
    """Rows ``lo .. hi - 1`` of :func:`fused_period`."""
    for i in range(lo, hi):
        f = firm[i]
        if f < 0:
            continue  # departed customers keep the state they left with
        sums[f, 0] += 1.0
        if i < n_initial and rel_start[i] == 0:
            sums[f, 1] += 1.0
        # accounting: margin booked at the start of the period
        clv[i] += (price_paid[i] - unit_cost[f] - cost[i]) * df_table[t - rel_start[i]]
        sums[f, 2] += price_paid[i]
        if on_exp:
            # experience: one uniform decides incident, complaint and handling
            q = quality[i]
            u = u_exp[i]
            p_inc = p[INCIDENT_RATE] * (1.0 - q)
            incident = u < p_inc
            handled = False
            if incident:
                v = u / p_inc
                handled = v < p[COMPLAINT_PROB] * handling[i]
            g = (reference_price[i] - price_paid[i]) / reference_price[i]
            if g < 0:
                g *= p[LOSS_AVERSION]
            felt = p[PRICE_WEIGHT] * price_sensitivity[i] * g
            e = q + fit[i] + p[NOISE] * z[i]
            if incident and not handled:
                e = p[INCIDENT_EXPERIENCE]
            elif handled:
                e = q + fit[i] + p[RECOVERY_BONUS]
            if on_att and contract_end[i] > t:
                e -= forced[i]
            e = _clip01(e + felt)
            satisfaction[i] += p[SAT_RATE] * (e - satisfaction[i])
            reference_price[i] += p[REF_RATE] * (price_paid[i] - reference_price[i])
        if on_bond:
            d = satisfaction[i] - trust[i]
            trust[i] += (p[TRUST_GAIN] if d > 0 else p[TRUST_LOSS]) * d
            commitment[i] = _clip01(commitment[i] + p[COMMIT_RATE] * (trust[i] - commitment[i]) - p[COMMIT_DECAY] * commitment[i])
            nostalgia[i] *= 1.0 - p[NOSTALGIA_DECAY]
        if on_att:
            lockin[i] = min(lockin[i] + lockin_growth[segment[i]], lockin_max[segment[i]])
        # derived state
        bond[i] = _clip01((p[W_S] * satisfaction[i] + p[W_T] * trust[i] + p[W_C] * commitment[i]) / w_sum + nostalgia[i])
        a = 0.0
        if on_att:
            fee = exit_fee[i] if contract_end[i] > t + 1 else 0.0
            price = list_price[f]
            a = 1.0 if no_alternative[i] else 1.0 - math.exp(-(fee + lockin[i] + economic[i]) / (p[BARRIER_SCALE] * price))
        attachment[i] = a
        k = _LOYALTY[(int(bond[i] >= p[BONDED_THRESHOLD]) << 1) | int(attachment[i] >= p[ATTACHED_THRESHOLD])]
        loyalty[i] = k
        class_periods[i, k] += 1
        sums[f, 3] += satisfaction[i]
        sums[f, 4] += bond[i]
        sums[f, 5] += attachment[i]
        sums[f, 6 + k] += 1.0
        if on_choice:
            pc = p[BASE_CONS] + p[DISSAT_CONS] * (1.0 - satisfaction[i]) ** 2
            if on_att and contract_end[i] == t + 1:
                pc = max(pc, p[EXPIRY_CONS])
            considering[i] = u_cons[i] < min(pc, 1.0)
