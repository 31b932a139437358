"""The customers' period: every rule, applied to every customer, in one compiled pass.

:func:`customers_period` is the documented schedule of a customer's period; it calls the rules of
:mod:`sim.mechanisms`, :mod:`sim.measures` and :mod:`sim.books`, each written once, in this order:

1. the measures that reach her act (discount on the price she pays, better service, a contract signed,
   a campaign), and what they cost is attributed to her;
2. her margin is booked (start-of-period convention, :mod:`sim.books`);
3. experience (incident, complaint, price fairness, forced binding) updates satisfaction and her
   reference price;
4. satisfaction builds trust and commitment; the nostalgia boost decays;
5. lock-in grows, barriers give attachment, and bond x attachment her loyalty class;
6. she may consider alternatives and then picks among staying, competitors and leaving (logit);
7. a life event may end the relationship (background churn);
8. a contract in its last period expires or renews;
9. a leaver under contract pays the exit fee.

Her random numbers for the period are one Philox block (incident, experience noise, consideration,
life event) plus, only when needed, blocks for the choice, the renewal and a new fit; all keyed by her
id, the period and their purpose (:mod:`sim.rng`). Blocks for 256 rows are computed together in a loop
the compiler vectorises, then the rows are processed one by one.

:func:`customers_pass` runs over an ascending index of the rows that may be active (departed customers
drop out of it from time to time), in chunks of ``CHUNK`` index entries, and writes one set of per-firm
sums per chunk; the caller adds them up in chunk order, so results are bit-identical however chunks are
spread over threads.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import books
from ._jit import rule
from .books import (
    S_ACTIVE,
    S_ATTACHMENT,
    S_BOND,
    S_CHURNED_AT_EXPIRY,
    S_CLASS0,
    S_COHORT,
    S_COMPLAINTS,
    S_DETRACTORS,
    S_EXIT_FEES,
    S_EXPIRING,
    S_FEE_PAYERS,
    S_LEFT_MARKET,
    S_LIFE_EVENT,
    S_LIST_REVENUE,
    S_MEASURE_COSTS,
    S_POINTS_BREAKAGE,
    S_POINTS_EARNED,
    S_POINTS_REDEEMED,
    S_PROMOTERS,
    S_RENEWALS,
    S_REVENUE,
    S_SATISFACTION,
    S_SERVING,
    S_SIGNED,
    S_SWITCHED_IN,
    S_SWITCHED_OUT,
    S_UNATTRIBUTED,
    S_WON_BACK,
)
from .codes import (
    EV_COMPLAINT,
    EV_CONSIDERED,
    EV_CONTACT_CHANGED,
    EV_CONTRACT_EXPIRED,
    EV_CONTRACT_RENEWED,
    EV_CONTRACT_SIGNED,
    EV_CROSS_SOLD,
    EV_EXIT_FEE_PAID,
    EV_HANDLED_WELL,
    EV_INCIDENT,
    EV_JOINED,
    EV_LEFT_MARKET,
    EV_LIFE_EVENT,
    EV_RETURNED,
    EV_SWITCHED,
    EV_TIER_LOST,
    MEASURE_BIT,
    OUT,
    P_ACCOUNT,
    P_MEASURE,
    P_PERIOD,
    P_RENEWAL,
)
from .measures import (
    ACCOUNT_MANAGEMENT,
    BUDGET_SPLIT,
    COMPLAINT_HANDLING,
    CONTRACT,
    DISCOUNT,
    ECOSYSTEM,
    LOYALTY_PROGRAMME,
    NOSTALGIA,
    ONBOARDING,
    PRICE_CHANGE,
    PROACTIVE_RETENTION,
    REFERRAL,
    SERVICE,
    WIN_BACK,
    account_management,
    budget_split,
    complaint_handling,
    contract,
    discount,
    ecosystem,
    loyalty_programme,
    nostalgia,
    onboarding,
    price_change,
    proactive_retention,
    referral,
    service,
    win_back,
)
from .measures.base import ACTIVE, COHORT, COST, EVENT_COST, KIND, LOYALTY, P0, SEGMENT, targets
from .mechanisms import accounts, attachment, bonding, choice, experience, word_of_mouth
from .population import nps_score
from .relationships import changes_firm
from .rng import draw, in_normal_tail, normal, normal_central, normal_tail, uniform

CHUNK = 16384  # rows per chunk: the unit of work of a thread and of the partial sums
BLOCK = 256    # rows whose random blocks are computed together

# columns of the per-measure counters (per chunk, replication and measure)
REACHED, EVENTS, RENEWED = range(3)  # EVENTS: the lever's own event (a contract signed, a complaint to its team)
N_COUNTERS = 3

# the scenario's numbers the customers' pass reads
Params = namedtuple("Params", [
    "experience_on", "bonding_on", "attachment_on", "choice_on", "background_on",
    "incident_rate", "complaint_prob", "incident_experience", "recovery_bonus", "noise", "price_weight",
    "loss_aversion", "satisfaction_rate", "reference_rate", "trust_gain", "trust_loss", "commitment_rate",
    "commitment_decay", "w_s", "w_t", "w_c", "nostalgia_decay", "bonded_threshold", "barrier_scale",
    "attached_threshold", "cost_perception", "base_consideration", "dissatisfaction_consideration",
    "expiry_consideration", "price_coef", "quality_coef", "bond_coef", "switching_cost_coef", "outside_utility",
    "doubt", "doubt_price", "post_purchase_periods", "bond_softness", "barrier_max", "bond_price_shield", "content_satisfaction",
])
# firm-level numbers for the period (one entry per firm)
# (``offer[f, s]``: what firm f charges a newcomer of segment s, its promotions included; ``pull[f, s]``: the
# added probability that a customer of firm f in segment s looks around because another firm's promotion
# draws her attention)
Firms = namedtuple("Firms", ["list_price", "unit_cost", "quality", "handling", "present", "bonus", "pays_fee", "product_margin",
                             "offer", "pull"])
# segment-level numbers (one entry per segment)
Segments = namedtuple("Segments", ["lockin_growth", "lockin_max", "economic", "initial_trust", "fit_sd", "buying_centre",
                                   "contact_turnover", "personal_share", "purchase_cycle"])
# firm figures per replication for the period (``fr[r, f, k]``)
CARE_SHARE = 0


def rule_params(scenario) -> Params:
    """The scenario's numbers in the form the compiled pass reads."""
    on, x, b, a, ch = scenario.mechanisms, scenario.experience, scenario.bonding, scenario.attachment, scenario.choice
    return Params(
        experience_on=on.experience, bonding_on=on.bonding, attachment_on=on.attachment, choice_on=on.choice,
        background_on=on.background_churn, incident_rate=x.incident_rate, complaint_prob=x.complaint_prob,
        incident_experience=x.incident_experience, recovery_bonus=x.recovery_bonus, noise=x.noise,
        price_weight=x.price_weight, loss_aversion=x.loss_aversion, satisfaction_rate=x.satisfaction_rate,
        reference_rate=x.reference_rate, trust_gain=b.trust_gain, trust_loss=b.trust_loss,
        commitment_rate=b.commitment_rate, commitment_decay=b.commitment_decay, w_s=b.weight_satisfaction,
        w_t=b.weight_trust, w_c=b.weight_commitment, nostalgia_decay=b.nostalgia_decay,
        bonded_threshold=b.bonded_threshold, barrier_scale=a.barrier_scale, attached_threshold=a.attached_threshold,
        cost_perception=a.cost_perception, base_consideration=ch.base_consideration,
        dissatisfaction_consideration=ch.dissatisfaction_consideration, expiry_consideration=ch.expiry_consideration,
        price_coef=ch.price_coef, quality_coef=ch.quality_coef, bond_coef=ch.bond_coef,
        switching_cost_coef=ch.switching_cost_coef, outside_utility=ch.outside_utility,
        doubt=x.doubt, doubt_price=x.doubt_price, post_purchase_periods=b.post_purchase_periods,
        bond_softness=ch.bond_softness, barrier_max=ch.barrier_max, bond_price_shield=x.bond_price_shield,
        content_satisfaction=ch.content_satisfaction,
    )


def firm_table(scenario) -> Firms:
    """The firms' own numbers (no measure applied): list price, unit cost, service quality, complaint
    handling; every firm present, no switching offers, no further products, offers at list price, no
    promotion drawing attention."""
    fs = scenario.firms
    n = len(fs)
    price = np.array([f.price for f in fs], dtype=np.float64)
    return Firms(price, *(np.array([getattr(f, k) for f in fs], dtype=np.float64)
                          for k in ("unit_cost", "service_quality", "complaint_handling")),
                 np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n), np.repeat(price[:, None], len(scenario.segments), axis=1),
                 np.zeros((n, len(scenario.segments))))


def segment_table(scenario) -> Segments:
    ss = scenario.segments
    return Segments(*(np.array([getattr(s, k) for s in ss], dtype=np.float64)
                      for k in ("lockin_growth", "lockin_max", "economic_barrier", "initial_trust", "fit_sd")),
                    np.array([s.buying_centre for s in ss], dtype=np.int64),
                    np.array([s.contact_turnover for s in ss], dtype=np.float64),
                    np.array([s.personal_share for s in ss], dtype=np.float64),
                    np.array([s.purchase_cycle for s in ss], dtype=np.int64))


@rule(inline="always")
def customers_period(rows, lo, hi, t, n_initial, col, fm, sg, fr, mr, mt, mstart, morder, lever_row, nb, nps_next, keys, df, p,
                     u_events, zs, u_considers, u_lifes, s, cnt):
    """The period of every customer among rows ``rows[lo:hi]``, in the order of the module docstring.
    Position ``j - lo`` of ``u_events``, ``zs``, ``u_considers`` and ``u_lifes`` holds the PERIOD
    numbers of row ``rows[j]`` (:func:`period_draws`). ``morder[mstart[g]:mstart[g + 1]]`` lists the
    measures that act this period on customers of firm and segment ``g = firm * n_segments +
    segment``, and ``morder[mstart[G + g]:mstart[G + g + 1]]`` (G groups later) those that reach only
    customers in a relationship's first period; ``lever_row[kind, f]`` is the active measure of a kind
    at firm f (or -1); ``fr[r, f]`` holds firm figures per replication (the share retention care
    reaches) and ``mr[r, m]`` measure figures (the share of complaints a team can take well); ``nb``
    whom each customer listens to (word of mouth); this period's
    recommendation scores go to ``nps_next``; ``s`` and ``cnt`` are the chunk's per-firm sums and
    measure counters. (Inlined into the loop over blocks of :func:`customers_pass`: numba
    reference-counts every array passed to a call, some sixty here, which even once per block of 256
    rows cost a quarter of the telecom pass.)"""
    n_segments = sg.fit_sd.shape[0]
    n_groups = (mstart.shape[0] - 1) // 2
    for j in range(lo, hi):
        i = rows[j]
        r = col.replication[i]
        if col.firm[i] == OUT:
            col.events[i] = 0
            col.next_firm[i] = OUT
            lf = col.left_firm[i]
            m = lever_row[WIN_BACK, lf] if lf >= 0 else -1
            if m >= 0:  # (entering the rule reference-counts every column: only for a firm that wins back)
                lapsed_period(i, r, t, m, col, mt, keys, s, cnt)
            continue
        u_event = u_events[j - lo]
        z = zs[j - lo]
        u_consider = u_considers[j - lo]
        u_life = u_lifes[j - lo]
        f = col.firm[i]
        seg = col.segment[i]
        tenure = t - col.rel_start[i]
        events = np.uint32(EV_JOINED) if col.joined[i] == t and tenure == 0 else np.uint32(0)
        expiring = p.attachment_on and col.contract[i] >= 0 and contract.expires(col.contract_end[i], t)
        satisfaction_before = col.satisfaction[i]
        # her price sensitivity this period: a bonded customer sets part of it aside (last period's bond)
        sensitivity = experience.shielded_sensitivity(col.price_sensitivity[i], p.bond_price_shield,
                                                      choice.bond_pull(col.bond[i], p.bonded_threshold, p.bond_softness))

        # 1. measures
        list_price = fm.list_price[f]
        price = list_price
        quality = fm.quality[f]
        handling = fm.handling[f]
        attributed = 0.0
        reassurance = 0.0        # onboarding
        extra_penalty = 0.0      # a tier cliff
        handover = 0.0           # account management
        contact_m = -1           # proactive retention
        team_m = -1              # complaint handling: the team that serves her
        wom_weight = 0.0         # word of mouth
        wb = lever_row[WIN_BACK, f]
        if (col.spell[i] > 0 and wb >= 0 and mt[wb, P0 + win_back.INCENTIVE] != 0.0
                and tenure < mt[wb, P0 + win_back.DISCOUNT_PERIODS]):
            price = discount.discounted(price, mt[wb, P0 + win_back.DISCOUNT])
        expected_price = price  # what she learns to expect: discounts count by their share of the time
        # this firm and segment's measures, then (in a relationship's first period only) those that reach
        # new customers only: morder[mstart[g]:mstart[g + 1]] and morder[mstart[G + g]:mstart[G + g + 1]]
        g = f * n_segments + seg
        first_lo, first_n = mstart[g], mstart[g + 1] - mstart[g]
        new_lo = mstart[n_groups + g]
        new_n = mstart[n_groups + g + 1] - new_lo if tenure == 0 else 0
        for qq in range(first_n + new_n):
            m = morder[first_lo + qq] if qq < first_n else morder[new_lo + qq - first_n]
            if not targets(mt[m, SEGMENT], mt[m, LOYALTY], mt[m, COHORT], seg, col.loyalty[i], col.cohort[i]):
                continue
            kind = int(mt[m, KIND])
            if kind == DISCOUNT:
                if not discount.reaches(tenure, mt[m, P0 + discount.INTRO]):
                    continue  # an introductory offer, and she is past it
                price = discount.discounted(price, mt[m, P0 + discount.RATE])
                expected_price = discount.expected(expected_price, mt[m, P0 + discount.RATE], mt[m, P0 + discount.SHARE_ON])
            elif kind == SERVICE:
                quality = service.boosted(quality, mt[m, P0])
                handling = service.boosted(handling, mt[m, P0 + 1])
            elif kind == CONTRACT:
                if not contract.can_sign(tenure, col.contract_end[i], t):
                    continue  # a contract measure reaches only customers who sign
                col.contract_end[i] = t + int(mt[m, P0 + contract.TERM])
                col.contract[i] = m
                expiring = p.attachment_on and contract.expires(col.contract_end[i], t)  # a one-period term ends now
                attributed += mt[m, EVENT_COST]
                cnt[r, m, EVENTS] += 1.0
                s[r, f, S_SIGNED] += 1.0
                events |= EV_CONTRACT_SIGNED
            elif kind == NOSTALGIA:
                if col.cohort[i] == int(mt[m, P0]):
                    level = nostalgia.boost_level(col.affinity[i], mt[m, P0 + 1], mt[m, P0 + 2], mt[m, P0 + 3], mt[m, P0 + 4])
                    col.nostalgia[i] = nostalgia.exposed(col.nostalgia[i], level)
            elif kind == PRICE_CHANGE:
                if price_change.starts(t, mt[m, P0 + price_change.START], mt[m, P0 + price_change.EVERY]):
                    col.trust[i] = price_change.trust_after_price_change(
                        col.trust[i], mt[m, P0 + price_change.FACTOR], mt[m, P0 + price_change.EXPLAINED] != 0.0,
                        mt[m, P0 + price_change.EROSION], mt[m, P0 + price_change.HONESTY])
            elif kind == LOYALTY_PROGRAMME:
                n_tiers = int(mt[m, P0 + loyalty_programme.N_TIERS])
                t0 = P0 + loyalty_programme.TIER0
                before = loyalty_programme.tier(col.points[i], mt[m, t0], mt[m, t0 + 1], mt[m, t0 + 2], mt[m, t0 + 3], n_tiers)
                col.points[i], redeemed, lapsed, earned = loyalty_programme.points_period(
                    col.points[i], price, mt[m, P0 + loyalty_programme.EARN], mt[m, P0 + loyalty_programme.LAPSE],
                    mt[m, P0 + loyalty_programme.REDEEM])
                attributed += redeemed  # points cost the firm when redeemed (lapsed ones never do: breakage)
                s[r, f, S_POINTS_EARNED] += earned
                s[r, f, S_POINTS_REDEEMED] += redeemed
                s[r, f, S_POINTS_BREAKAGE] += lapsed
                after = loyalty_programme.tier(col.points[i], mt[m, t0], mt[m, t0 + 1], mt[m, t0 + 2], mt[m, t0 + 3], n_tiers)
                if after < before:
                    extra_penalty += mt[m, P0 + loyalty_programme.LOSS_PENALTY]
                    events |= EV_TIER_LOST
                if after > 0 and loyalty_programme.reward_fits(tenure, satisfaction_before,
                                                                mt[m, P0 + loyalty_programme.FIT_TENURE],
                                                                mt[m, P0 + loyalty_programme.FIT_QUALITY]):
                    col.commitment[i] = min(col.commitment[i] + after * mt[m, P0 + loyalty_programme.REWARD], 1.0)
            elif kind == ONBOARDING:
                if tenure < 1 or tenure > p.post_purchase_periods:
                    continue  # reaches customers in their post-purchase periods only
                reassurance = max(reassurance, mt[m, P0 + onboarding.REASSURANCE])
            elif kind == COMPLAINT_HANDLING:
                handling = complaint_handling.handled_by_team(handling, mt[m, P0 + complaint_handling.BOOST], mr[r, m])
                team_m = m
            elif kind == ACCOUNT_MANAGEMENT:
                handover = max(handover, mt[m, P0 + account_management.HANDOVER])
            elif kind == BUDGET_SPLIT:
                w, _, _, _ = draw(keys[r, 0], keys[r, 1], col.customer[i], t, P_MEASURE + 256 * kind, 0)
                if not uniform(w) < fr[r, f, CARE_SHARE]:
                    continue  # the retention money reaches this share of customers
                quality = service.boosted(quality, mt[m, P0 + budget_split.QUALITY])
                handling = service.boosted(handling, mt[m, P0 + budget_split.HANDLING])
            elif kind == PROACTIVE_RETENTION:
                w0, w1, _, _ = draw(keys[r, 0], keys[r, 1], col.customer[i], t, P_MEASURE + 256 * kind, 0)
                risk = choice.consideration(satisfaction_before, expiring, p.base_consideration,
                                            p.dissatisfaction_consideration, p.expiry_consideration, fm.pull[f, seg],
                                            p.content_satisfaction)
                predicted = proactive_retention.predicted_risk(risk, mt[m, P0 + proactive_retention.QUALITY], normal(uniform(w0)))
                if not (proactive_retention.targeted(predicted, mt[m, P0 + proactive_retention.UPLIFT] != 0.0,
                                                     mt[m, P0 + proactive_retention.THRESHOLD],
                                                     mt[m, P0 + proactive_retention.SAVE],
                                                     mt[m, P0 + proactive_retention.BACKFIRE])
                        and uniform(w1) < mt[m, P0 + proactive_retention.COVERAGE]):
                    continue  # reached = contacted
                contact_m = m
            elif kind == ECOSYSTEM:
                w, _, _, _ = draw(keys[r, 0], keys[r, 1], col.customer[i], t, P_MEASURE + 256 * kind, 0)
                if ecosystem.adopts(uniform(w), mt[m, P0 + ecosystem.CROSS_SELL], satisfaction_before, col.products[i],
                                    mt[m, P0 + ecosystem.MAX_PRODUCTS]):
                    col.products[i] += 1
                    col.lockin[i] += mt[m, P0 + ecosystem.LOCKIN]
                    events |= EV_CROSS_SOLD
                col.lockin[i] = ecosystem.eroded(col.lockin[i], t, mt[m, P0 + ecosystem.AGEING_FROM],
                                                 mt[m, P0 + ecosystem.EROSION])
            elif kind == REFERRAL:
                wom_weight = mt[m, P0 + referral.WEIGHT]
            attributed += mt[m, COST]
            cnt[r, m, REACHED] += 1.0
            events |= np.uint32(1) << np.uint32(MEASURE_BIT + kind)
        col.price_paid[i] = price

        # 2. margin (and the margin of further products)
        weight = df[tenure]
        extra_margin = col.products[i] * fm.product_margin[f]
        col.clv[i] += (books.margin(price, fm.unit_cost[f], attributed) + extra_margin) * weight
        s[r, f, S_ACTIVE] += 1.0
        if col.customer[i] < n_initial and col.rel_start[i] == 0:
            s[r, f, S_COHORT] += 1.0
        s[r, f, S_REVENUE] += price + extra_margin
        s[r, f, S_LIST_REVENUE] += list_price + extra_margin
        s[r, f, S_SERVING] += fm.unit_cost[f]
        s[r, f, S_MEASURE_COSTS] += attributed

        # 3. experience (service, price, forced binding, post-purchase doubt, word of mouth)
        held = p.attachment_on and col.contract[i] >= 0 and col.contract_end[i] > t
        if p.experience_on:
            incident, complained, handled = experience.service_events(
                u_event, p.incident_rate * (1.0 - quality), p.complaint_prob, handling)
            felt = experience.price_feeling(price, col.reference_price[i], sensitivity, p.price_weight, p.loss_aversion)
            if wom_weight > 0.0:
                heard = 0
                promoters = 0
                detractors = 0
                for k in range(nb.shape[1]):
                    other = nb[i, k]
                    if other >= 0 and col.firm[other] == f:
                        heard += 1
                        if word_of_mouth.is_promoter(col.nps[other]):
                            promoters += 1
                        elif word_of_mouth.is_detractor(col.nps[other]):
                            detractors += 1
                felt += wom_weight * word_of_mouth.net_word(promoters, detractors, heard)
            penalty = mt[col.contract[i], P0 + contract.FORCED_PENALTY] if held else 0.0
            # a first buyer doubts her decision; a customer who came back knows the firm (spell > 0)
            penalty += extra_penalty + experience.post_purchase_doubt(price, p.doubt, p.doubt_price,
                                                                      tenure if col.spell[i] == 0 else 0,
                                                                      p.post_purchase_periods, reassurance)
            e = experience.experience(quality + col.fit[i], p.noise, z, incident, handled,
                                      p.incident_experience, p.recovery_bonus, felt, penalty)
            col.satisfaction[i] = experience.update_satisfaction(col.satisfaction[i], e, p.satisfaction_rate)
            col.reference_price[i] = experience.update_reference(col.reference_price[i], expected_price, p.reference_rate)
            if incident:
                events |= EV_INCIDENT
            if complained:
                events |= EV_COMPLAINT
                s[r, f, S_COMPLAINTS] += 1.0
                if team_m >= 0:
                    cnt[r, team_m, EVENTS] += 1.0
            if handled:
                events |= EV_HANDLED_WELL

        # 4. bonding (and a B2B account's contact-person turnover)
        if p.bonding_on:
            col.trust[i] = bonding.update_trust(col.trust[i], col.satisfaction[i], p.trust_gain, p.trust_loss)
            col.commitment[i] = bonding.update_commitment(col.commitment[i], col.trust[i], p.commitment_rate, p.commitment_decay)
            col.nostalgia[i] = bonding.decay(col.nostalgia[i], p.nostalgia_decay)
        if sg.contact_turnover[seg] > 0.0:
            w, _, _, _ = draw(keys[r, 0], keys[r, 1], col.customer[i], t, P_ACCOUNT, 0)
            if accounts.contact_changes(uniform(w), sg.contact_turnover[seg]):
                lost = accounts.personal_part_lost(sg.personal_share[seg], handover)
                col.trust[i] = accounts.trust_after_change(col.trust[i], sg.initial_trust[seg], lost)
                col.commitment[i] *= 1.0 - lost
                events |= EV_CONTACT_CHANGED

        # 5. attachment and loyalty class
        switching = 0.0
        fee = 0.0
        if p.attachment_on:
            col.lockin[i] = attachment.grow_lockin(col.lockin[i], sg.lockin_growth[seg], sg.lockin_max[seg])
            fee = contract_fee_due(col.contract[i], col.contract_end[i], t, mt)
            switching = attachment.switching_cost(fee, col.lockin[i], sg.economic[seg] + col.points[i])
            col.attachment[i] = attachment.attachment_score(switching, list_price, p.barrier_scale, col.no_alternative[i])
        else:
            col.attachment[i] = 0.0
        col.bond[i] = bonding.bond_score(col.satisfaction[i], col.trust[i], col.commitment[i], col.nostalgia[i],
                                         p.w_s, p.w_t, p.w_c)
        k = attachment.classify(col.bond[i], col.attachment[i], p.bonded_threshold, p.attached_threshold)
        col.loyalty[i] = k
        col.class_periods[i, k] += 1
        s[r, f, S_SATISFACTION] += col.satisfaction[i]
        s[r, f, S_BOND] += col.bond[i]
        s[r, f, S_ATTACHMENT] += col.attachment[i]
        s[r, f, S_CLASS0 + k] += 1.0

        # 6. choice
        nxt = f
        if p.choice_on:
            pc = choice.consideration(col.satisfaction[i], expiring, p.base_consideration,
                                      p.dissatisfaction_consideration, p.expiry_consideration, fm.pull[f, seg],
                                      p.content_satisfaction)
            if sg.buying_centre[seg] > 1:
                pc = accounts.majority_considers(pc, sg.buying_centre[seg])
            if contact_m >= 0:
                pc = proactive_retention.contacted_probability(pc, mt[contact_m, P0 + proactive_retention.SAVE],
                                                               mt[contact_m, P0 + proactive_retention.BACKFIRE])
            if sg.purchase_cycle[seg] > 1 and not expiring and not accounts.decision_point(tenure, sg.purchase_cycle[seg]):
                pc = 0.0  # an account looks around only at its decision points, contacted or not
            if u_consider < pc:
                events |= EV_CONSIDERED
                felt_stay = experience.price_feeling(price, col.reference_price[i], sensitivity, 1.0, p.loss_aversion)
                # staying, she weighs the service she experiences (the firm's and her fit with it); a rival, its reputation
                u_stay = choice.stay_utility(quality + col.fit[i], felt_stay, col.bond[i], p.quality_coef, p.price_coef,
                                             p.bond_coef, p.bonded_threshold, p.bond_softness)
                reachable = not (p.attachment_on and col.no_alternative[i])
                nxt = choice.choose(keys[r, 0], keys[r, 1], col.customer[i], t, f, fm.quality, fm.offer[:, seg], fm.present,
                                    fm.bonus, fm.pays_fee, reachable, u_stay, col.reference_price[i], sensitivity,
                                    p.loss_aversion, switching * p.cost_perception, fee * p.cost_perception, list_price,
                                    p.switching_cost_coef, p.barrier_max, p.quality_coef, p.price_coef, p.outside_utility)

        # 7. life events
        life_event = False
        if nxt == f and p.background_on and choice.background_leave(u_life, col.churn_p[i]):
            nxt = OUT
            life_event = True

        # 8. contract expiry and renewal
        if nxt == f and expiring:
            m = col.contract[i]
            renewed = False
            if mt[m, ACTIVE] != 0.0 and targets(mt[m, SEGMENT], mt[m, LOYALTY], mt[m, COHORT], seg, col.loyalty[i],
                                                col.cohort[i]):
                u, _, _, _ = draw(keys[r, 0], keys[r, 1], col.customer[i], t, P_RENEWAL, 0)
                renewed = contract.renews(uniform(u), mt[m, P0 + contract.RENEWAL_PROB])
            if renewed:
                col.contract_end[i] = t + 1 + int(mt[m, P0 + contract.TERM])
                cost = mt[m, EVENT_COST]
                col.clv[i] -= cost * weight
                s[r, f, S_MEASURE_COSTS] += cost
                s[r, f, S_RENEWALS] += 1.0
                cnt[r, m, RENEWED] += 1.0
                events |= EV_CONTRACT_RENEWED
            else:
                col.contract_end[i] = -1
                col.contract[i] = -1
                events |= EV_CONTRACT_EXPIRED

        # 9. leaving
        if expiring:
            s[r, f, S_EXPIRING] += 1.0
            if nxt != f:
                s[r, f, S_CHURNED_AT_EXPIRY] += 1.0
                events |= EV_CONTRACT_EXPIRED  # she left as her contract ran out
        if nxt != f:
            if p.attachment_on and col.contract[i] >= 0:
                m = col.contract[i]
                due = contract_fee_due(m, col.contract_end[i], t, mt)
                paid = contract.fee_charged(due, life_event, mt[m, P0 + contract.LIFE_EVENT_FEE] != 0.0)
                if paid > 0.0:
                    col.clv[i] += paid * weight
                    s[r, f, S_EXIT_FEES] += paid
                    s[r, f, S_FEE_PAYERS] += 1.0
                    events |= EV_EXIT_FEE_PAID
            s[r, f, S_SWITCHED_OUT if nxt >= 0 else (S_LIFE_EVENT if life_event else S_LEFT_MARKET)] += 1.0
            if nxt >= 0:
                s[r, nxt, S_SWITCHED_IN] += 1.0
                events |= EV_SWITCHED
            else:
                events |= EV_LIFE_EVENT if life_event else EV_LEFT_MARKET

        # 10. her answer to "would you recommend us?" (read by those who listen to her next period)
        score = nps_score(col.satisfaction[i])
        nps_next[i] = score
        if word_of_mouth.is_promoter(score):
            s[r, f, S_PROMOTERS] += 1.0
        elif word_of_mouth.is_detractor(score):
            s[r, f, S_DETRACTORS] += 1.0
        col.next_firm[i] = nxt
        col.events[i] = events


@rule(inline="always")
def contract_fee_due(m, contract_end, t, mt):
    """The exit fee owed by a customer holding contract measure ``m`` (or none: ``m < 0``) who leaves at
    the end of period ``t``: :func:`sim.mechanisms.attachment.exit_fee_due` with the contract's fee,
    term and schedule."""
    if m < 0:
        return 0.0
    return attachment.exit_fee_due(contract_end, mt[m, P0 + contract.EXIT_FEE], t, mt[m, P0 + contract.TERM],
                                   mt[m, P0 + contract.DECLINING] != 0.0)


@rule(inline="always")
def lapsed_period(i, r, t, m, col, mt, keys, s, cnt):
    """A customer who left a firm by choice, whose firm runs the win-back measure ``m``: in its window
    she may be contacted and come back (``next_firm`` set to the firm; the relationship starts next
    period)."""
    lf = col.left_firm[i]
    since = t - col.left_at[i]
    if not win_back.in_window(since, mt[m, P0 + win_back.DELAY_MIN], mt[m, P0 + win_back.DELAY_MAX]):
        return
    w0, w1, _, _ = draw(keys[r, 0], keys[r, 1], col.customer[i], t, P_MEASURE + 256 * WIN_BACK, 0)
    if not uniform(w0) < mt[m, P0 + win_back.COVERAGE]:
        return
    s[r, lf, S_UNATTRIBUTED] += mt[m, EVENT_COST]
    cnt[r, m, REACHED] += 1.0
    col.events[i] = np.uint32(1) << np.uint32(MEASURE_BIT + WIN_BACK)
    chance = win_back.return_probability(since, col.satisfaction[i], mt[m, P0 + win_back.BASE], mt[m, P0 + win_back.DECAY],
                                         mt[m, P0 + win_back.FACTOR], mt[m, P0 + win_back.INCENTIVE] != 0.0)
    if uniform(w1) < chance:
        col.next_firm[i] = lf
        col.events[i] |= EV_RETURNED
        s[r, lf, S_WON_BACK] += 1.0


@rule
def customers_pass(t, first, last, chunk_lo, chunk_hi, rows, n_initial, col, fm, sg, fr, mr, mt, mstart, morder, lever_row, nb,
                   nps_next, keys, df, p, sums, counts, changes, changed):
    """Chunks ``first .. last - 1`` of the rows that may be active: every active customer's period.
    Chunk c covers ``rows[chunk_lo[c]:chunk_hi[c]]`` and writes its per-firm sums to ``sums[c]`` and its
    measure counters to ``counts[c]``; the ``changed[c]`` rows of the chunk whose firm changes
    (:func:`sim.relationships.changes_firm`) go to ``changes[chunk_lo[c]:]`` in the index's order, listed while
    the block is in the cache, so that closing the period's relationships reads only them
    (:func:`gather_changes`)."""
    ids = np.empty(BLOCK, dtype=np.int64)
    u_event = np.empty(BLOCK)
    u_noise = np.empty(BLOCK)
    z = np.empty(BLOCK)
    u_consider = np.empty(BLOCK)
    u_life = np.empty(BLOCK)
    for c in range(first, last):
        lo = chunk_lo[c]
        hi = chunk_hi[c]
        for b in range(lo, hi, BLOCK):
            e = min(hi, b + BLOCK)
            period_draws(rows, b, e, t, col.customer, col.replication, keys, ids, u_event, u_noise, z, u_consider, u_life)
            customers_period(rows, b, e, t, n_initial, col, fm, sg, fr, mr, mt, mstart, morder, lever_row, nb, nps_next, keys,
                             df, p, u_event, z, u_consider, u_life, sums[c], counts[c])
            k = changed[c]
            for j in range(b, e):
                if changes_firm(col, rows[j]):
                    changes[lo + k] = rows[j]
                    k += 1
            changed[c] = k


@rule
def customers_pass_and_add(t, chunk_lo, chunk_hi, rows, n_initial, col, fm, sg, fr, mr, mt, mstart, morder, lever_row, nb,
                           nps_next, keys, df, p, sums, counts, changes, changed):
    """:func:`customers_pass` over every chunk on this thread, then :func:`add_chunks` of its sums and
    counters (one call instead of three, for small populations where the calls' cost shows)."""
    customers_pass(t, 0, chunk_lo.shape[0], chunk_lo, chunk_hi, rows, n_initial, col, fm, sg, fr, mr, mt, mstart, morder,
                   lever_row, nb, nps_next, keys, df, p, sums, counts, changes, changed)
    return add_chunks(sums), add_chunks(counts)


@rule
def gather_changes(changes, chunk_lo, changed):
    """Move each chunk's list of rows whose firm changes (``changes[chunk_lo[c]:chunk_lo[c] +
    changed[c]]``, see :func:`customers_pass`) to the front, in chunk order (so in the index's order); returns
    how many there are."""
    n = 0
    for c in range(chunk_lo.shape[0]):
        lo = chunk_lo[c]
        for k in range(changed[c]):
            changes[n + k] = changes[lo + k]
        n += changed[c]
    return n


@rule
def add_chunks(partial):
    """The per-chunk partial sums added up in chunk order (sequentially, so the result does not depend
    on how chunks were spread over threads)."""
    out = np.zeros(partial.shape[1:])
    flat = out.reshape(-1)
    for c in range(partial.shape[0]):
        part = partial[c].reshape(-1)
        for k in range(flat.shape[0]):
            flat[k] += part[k]
    return out


@rule(inline="always")
def period_draws(rows, lo, hi, t, customer, replication, keys, ids, u_event, u_noise, z, u_consider, u_life):
    """The PERIOD numbers of the rows ``rows[lo:hi]``, at position ``j - lo`` of the buffers: the
    incident uniform, the experience noise ``z`` (standard normal, from the uniform ``u_noise``), the
    consideration uniform and the life-event uniform. Rows that share one replication (always, in a
    single run) take a branch-free loop over separate buffers, which the compiler vectorises, as it
    does the central normal quantile; the few normals in a tail are listed without a branch (a branch
    taken at random one time in twenty costs more than the list) and corrected after it. ``ids`` holds
    the customer ids, then the tail positions."""
    r0 = replication[rows[lo]]
    same = True
    for j in range(lo, hi):
        ids[j - lo] = customer[rows[j]]
        same &= replication[rows[j]] == r0
    if same:
        k0 = keys[r0, 0]
        k1 = keys[r0, 1]
        for j in range(hi - lo):
            w0, w1, w2, w3 = draw(k0, k1, ids[j], t, P_PERIOD, 0)
            u_event[j] = uniform(w0)
            u_noise[j] = uniform(w1)
            u_consider[j] = uniform(w2)
            u_life[j] = uniform(w3)
    else:
        for j in range(hi - lo):
            r = replication[rows[lo + j]]
            w0, w1, w2, w3 = draw(keys[r, 0], keys[r, 1], ids[j], t, P_PERIOD, 0)
            u_event[j] = uniform(w0)
            u_noise[j] = uniform(w1)
            u_consider[j] = uniform(w2)
            u_life[j] = uniform(w3)
    for j in range(hi - lo):
        z[j] = normal_central(u_noise[j])
    tails = 0
    for j in range(hi - lo):  # list the few tail positions without a branch, then correct them
        ids[tails] = j
        tails += in_normal_tail(u_noise[j])
    for k in range(tails):
        j = ids[k]
        z[j] = normal_tail(u_noise[j])
