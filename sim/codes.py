"""Codes shared by the engine, the tables and the histories, each defined once.

The compiled engine stores small integers; everything a person reads uses the names defined here
(``LOYALTY_CLASSES``, ``END_REASONS``, :class:`Event`). Plain module-level integers mirror the enums
because compiled code reads them as constants.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class LoyaltyClass(IntEnum):
    """Why a customer stays: bonded (wants to) x attached (must)."""

    BONDED_ONLY = 0
    ATTACHED_ONLY = 1
    BOTH = 2
    NEITHER = 3


LOYALTY_CLASSES = tuple(k.name.lower() for k in LoyaltyClass)  # ("bonded_only", "attached_only", "both", "neither")


class EndReason(IntEnum):
    """Why a relationship ended; the same words name the per-period flows and the history events."""

    SWITCHED = 0      # chose a competitor
    LEFT_MARKET = 1   # chose to stop buying altogether (non-consumption)
    LIFE_EVENT = 2    # background churn no firm influences (moving, death, business closure)
    CENSORED = 3      # still running at the horizon


END_REASONS = tuple(k.name.lower() for k in EndReason)  # ("switched", "left_market", "life_event", "censored")


class Event(IntFlag):
    """What happened to a customer in a period: one bit each, written by the compiled engine for every
    row (so that tracing a customer never changes which code runs). Bits from ``MEASURE_BIT`` up say
    which kind of measure reached the customer (bit ``MEASURE_BIT + kind code``)."""

    JOINED = 1 << 0
    INCIDENT = 1 << 1
    COMPLAINT = 1 << 2
    HANDLED_WELL = 1 << 3
    CONSIDERED = 1 << 4
    SWITCHED = 1 << 5
    LEFT_MARKET = 1 << 6
    LIFE_EVENT = 1 << 7
    CONTRACT_SIGNED = 1 << 8
    CONTRACT_EXPIRED = 1 << 9
    CONTRACT_RENEWED = 1 << 10
    EXIT_FEE_PAID = 1 << 11
    RETURNED = 1 << 12          # came back to a firm she had left (win-back)
    CROSS_SOLD = 1 << 13        # took another product of her firm (ecosystem)
    TIER_LOST = 1 << 14         # fell out of a loyalty-programme tier
    CONTACT_CHANGED = 1 << 15   # her buying centre's contact person changed (B2B accounts)


MEASURE_BIT = 16  # measure kinds 0..15 have event bits 16..31
MAX_MEASURE_KINDS = 32 - MEASURE_BIT

# the metrics of a run (one number per replication each, about one firm; defined in :mod:`sim.metrics`)
RETENTION_MONTHS = (12, 60, 120)
# why relationships ended (the summary's ended_by_cause): the first three are exclusive and add up to
# all ended relationships; paying an exit fee and leaving at a contract's expiry are kinds of the first two
ENDED_BY = ("switched", "left_by_choice", "life_event", "paid_exit_fee", "at_expiry")
CAUSE_METRICS = tuple(f"ended_{k}" for k in ENDED_BY)
METRICS = (
    "retention_12", "retention_60", "retention_120", "churn_per_year", "choice_share", *CAUSE_METRICS, "clv_mean",
    *(f"clv_{k}" for k in LOYALTY_CLASSES), "profit", "profit_discounted",
    "clv_projected", "profit_projected", "attached_only_share", "cliff_ratio",
    "customers_at_end",
)
# metrics that describe why customers left rather than how well a strategy did: no better direction
# (sweep's best point ignores them) and outside compare's multiplicity family
DESCRIPTIVE_METRICS = ("choice_share", *CAUSE_METRICS)

# firm code of a customer who is out of the market
OUT = -1

# constants for compiled code (numba reads module globals as compile-time constants)
BONDED_ONLY, ATTACHED_ONLY, BOTH, NEITHER = (int(k) for k in LoyaltyClass)
SWITCHED, LEFT_MARKET, LIFE_EVENT, CENSORED = (int(k) for k in EndReason)
EV_JOINED, EV_INCIDENT, EV_COMPLAINT, EV_HANDLED_WELL, EV_CONSIDERED, EV_SWITCHED, EV_LEFT_MARKET, EV_LIFE_EVENT, \
    EV_CONTRACT_SIGNED, EV_CONTRACT_EXPIRED, EV_CONTRACT_RENEWED, EV_EXIT_FEE_PAID, EV_RETURNED, EV_CROSS_SOLD, \
    EV_TIER_LOST, EV_CONTACT_CHANGED = (int(k) for k in Event)


class Purpose(IntEnum):
    """What a random number is for: the third word of its counter (see :mod:`sim.rng`)."""

    TRAITS = 0      # a customer's traits at entry (several words)
    PERIOD = 1      # one block per customer and period: incident, experience noise, consideration, life event
    CHOICE = 2      # Gumbel noise of the logit choice, one word per option
    RENEWAL = 3     # contract renewal at expiry
    FIT = 4         # fit with a new firm after switching
    ARRIVALS = 5    # number of new customers per firm and period (keyed by firm, not customer)
    MEASURE = 6     # lever-specific draws: third counter word MEASURE + 256 * (the lever's kind code)
    ACCOUNT = 7     # a buying centre's contact-person turnover (B2B accounts)
    NETWORK = 8     # who a customer listens to (word of mouth), drawn once at entry


P_TRAITS, P_PERIOD, P_CHOICE, P_RENEWAL, P_FIT, P_ARRIVALS, P_MEASURE, P_ACCOUNT, P_NETWORK = (int(k) for k in Purpose)
