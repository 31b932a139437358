"""Customers: one row per customer in a set of numpy columns (a struct of arrays).

Each customer is an individual with her own traits, state and random numbers, but her state lives in
columns, so that a period is one compiled pass over rows instead of a Python loop over objects. Rows
are never reused: a customer who leaves the market keeps the state she left with. A customer can be
inspected one at a time (:meth:`Customers.row`).

A customer is identified by ``(replication, customer)``, and all her random numbers are keyed by it
and by her replication's seed (see :mod:`sim.rng`). The initial customers are ``0 .. n - 1``; an
arrival's id says when and by which stream she came (:func:`arrival_id`), never how many came before
her, so that two strategies that buy different numbers of newcomers still share every newcomer they
both buy (exact common random numbers for arrivals). Rows are in entry order, and within a replication
in increasing id.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from ._jit import rule
from .codes import EV_JOINED, NEITHER, OUT, P_ARRIVALS, P_NETWORK, P_TRAITS
from .params import Scenario
from .relationships import begin
from .rng import beta, categorical, draw, gamma, normal, poisson, uniform

# column name -> dtype, in the order of the per-customer table
COLUMNS: dict[str, type] = {
    # identity and traits (drawn once, at entry)
    "customer": np.int64,      # id within the replication (initial customers 0 .., arrivals see arrival_id)
    "replication": np.int16,   # replication index (0 in a single run)
    "joined": np.int16,        # period the customer entered the market
    "segment": np.int8,
    "cohort": np.int8,
    "no_alternative": np.bool_,
    "affinity": np.float32,    # nostalgia affinity in [0, 1]
    "price_sensitivity": np.float32,
    "churn_p": np.float32,     # background churn probability per period
    # the current relationship
    "firm": np.int16,          # current firm, OUT (-1) = out of the market
    "rel_start": np.int16,     # period the current relationship began (tenure = period - rel_start)
    "satisfaction": np.float32,
    "trust": np.float32,
    "commitment": np.float32,
    "nostalgia": np.float32,   # bond boost from nostalgia campaigns, decays
    "reference_price": np.float32,
    "fit": np.float32,         # how well the current firm's offer suits the customer (experience offset)
    "lockin": np.float32,      # technical lock-in, money lost on switching
    "contract_end": np.int16,  # first period after the contract; -1 = no contract
    "contract": np.int8,       # row of the measures table of the contract held; -1 = none
    "points": np.float32,      # loyalty-programme balance, money; forfeited on leaving
    "products": np.int8,       # further products of the firm held (ecosystem, cross-selling)
    "spell": np.int8,          # how many times she has come back to this firm (0 = first relationship)
    "clv": np.float64,         # discounted margin minus attributed costs of the current relationship
    "class_periods": np.int16,  # 4 columns: periods spent in each loyalty class (current relationship)
    # derived every period (kept for targeting, tables and inspection)
    "bond": np.float32,
    "attachment": np.float32,
    "loyalty": np.int8,        # sim.codes.LoyaltyClass
    "price_paid": np.float32,  # this period's price
    # this period's outcome, written by the customers' pass
    "next_firm": np.int16,     # firm after this period (OUT if leaving)
    "events": np.uint32,       # sim.codes.Event bits
    "nps": np.int8,            # 0..10 recommendation score this period (promoter 9-10, detractor 0-6)
    # after leaving the market by choice (for win-back)
    "left_firm": np.int16,     # the firm she left; -1 = none
    "left_at": np.int16,       # the period she left it
}
MULTI = {"class_periods": 4}

Columns = namedtuple("Columns", list(COLUMNS))

# per-segment numbers for drawing traits (one entry per segment; cohort shares padded to the longest)
Traits = namedtuple("Traits", [
    "segment_weights", "segment_cum", "cohort_cum", "affinity_a", "affinity_b", "fit_sd", "sensitivity", "satisfaction",
    "trust", "no_alternative", "churn_fixed", "churn_alpha", "churn_beta", "firm_cum",
])

# sub-purposes of the TRAITS draws (third counter word = purpose + 256 * sub (+ 65536 for a second gamma))
_SUB_CHOICES, _SUB_NORMALS, _SUB_SENSITIVITY, _SUB_AFFINITY, _SUB_CHURN = range(5)
SENSITIVITY_CV = 0.3


def cohort_names(scenario: Scenario) -> list[str]:
    """All cohort labels across segments, in first-seen order (cohort codes index this list)."""
    names: list[str] = []
    for seg in scenario.segments:
        names += [c for c in seg.cohorts if c not in names]
    return names


def cumulative(weights) -> np.ndarray:
    """Cumulative probabilities of categories with the given weights (normalised; the last is exactly 1),
    along the last axis (a 2-D ``weights`` gives one row of cumulative probabilities per row)."""
    w = np.asarray(weights, dtype=np.float64)
    c = np.cumsum(w / w.sum(axis=-1, keepdims=True), axis=-1)
    c[..., -1] = 1.0
    return c


def trait_tables(scenario: Scenario) -> Traits:
    """The scenario's trait distributions as arrays for :func:`init_customers`."""
    segs = scenario.segments
    cohorts = cohort_names(scenario)
    cum = cumulative

    cohort_cum = np.ones((len(segs), len(cohorts)))
    for k, s in enumerate(segs):
        cohort_cum[k] = cum([s.cohorts.get(name, 0.0) for name in cohorts])
    fixed = np.array([s.background_churn.distribution == "fixed" for s in segs])
    return Traits(
        segment_weights=np.array([s.share for s in segs], dtype=np.float64),
        segment_cum=cum([s.share for s in segs]),
        cohort_cum=cohort_cum,
        affinity_a=np.array([s.nostalgia_affinity[0] for s in segs], dtype=np.float64),
        affinity_b=np.array([s.nostalgia_affinity[1] for s in segs], dtype=np.float64),
        fit_sd=np.array([s.fit_sd for s in segs], dtype=np.float64),
        sensitivity=np.array([s.price_sensitivity for s in segs], dtype=np.float64),
        satisfaction=np.array([s.initial_satisfaction for s in segs], dtype=np.float64),
        trust=np.array([s.initial_trust for s in segs], dtype=np.float64),
        no_alternative=np.array([s.no_alternative_share for s in segs], dtype=np.float64),
        churn_fixed=np.array([s.background_churn.p if f else -1.0 for s, f in zip(segs, fixed)], dtype=np.float64),
        churn_alpha=np.array([1.0 if f else s.background_churn.alpha for s, f in zip(segs, fixed)], dtype=np.float64),
        churn_beta=np.array([1.0 if f else s.background_churn.beta for s, f in zip(segs, fixed)], dtype=np.float64),
        firm_cum=cum([f.initial_share for f in scenario.firms]),
    )


NPS_CURVE = 0.45
# satisfaction from which the answer is 1, 2, ..., 10:
# round(10 * s ** NPS_CURVE) >= k  iff  s >= ((k - 0.5) / 10) ** (1 / NPS_CURVE)
NPS_STEPS = tuple(((k - 0.5) / 10.0) ** (1.0 / NPS_CURVE) for k in range(1, 11))


@rule
def nps_score(satisfaction):
    """A customer's 0-10 answer to "would you recommend us?": ``round(10 * satisfaction ** 0.45)``, so
    that the satisfaction of a content customer (about 0.6) answers 8, a passive; promoters (9-10) need
    a satisfaction of at least 0.85 ** (1 / 0.45), about 0.70, detractors (0-6) are below 0.65 ** (1 /
    0.45), about 0.38. (The curve is invented and set so that an ordinary firm's NPS lies in the range
    of published benchmarks, -10 to +40: the pattern suite checks it; the source documents give only the
    0-10 scale and its bins.) Counted against precomputed steps, which is the same rounding without a
    power per customer and period."""
    score = 0
    for step in NPS_STEPS:
        if satisfaction >= step:
            score += 1
    return score


@rule
def init_customers(lo, hi, joined, firm, segment, keys, col, tr, list_price, segment_cum):
    """Traits and initial state of rows ``lo .. hi - 1`` (their customer and replication ids already set).

    Every trait is a function of the customer's own TRAITS draws only: segment and cohort (categorical),
    no-alternative (Bernoulli), fit ~ N(0, fit_sd), satisfaction and trust ~ N(mean, 0.1) clipped to
    [0, 1], price sensitivity ~ Gamma with the segment's mean and CV 0.3, nostalgia affinity ~ Beta(a, b),
    background churn fixed or ~ Beta(alpha, beta). ``firm < 0`` draws the firm from the initial shares
    (the period-0 market); otherwise the customer joins ``firm``. ``segment >= 0`` is her segment;
    ``segment < 0`` draws it from ``segment_cum`` (the segments' shares, or a firm's mix drawn by its
    promotions). Her first
    relationship begins as every relationship does (:func:`sim.relationships.begin`). (One
    call for a group of rows: numba reference-counts every column passed to a call, which per
    customer cost as much as her traits.)
    """
    for i in range(lo, hi):
        k0 = keys[col.replication[i], 0]
        k1 = keys[col.replication[i], 1]
        who = col.customer[i]
        w0, w1, w2, w3 = draw(k0, k1, who, 0, P_TRAITS + 256 * _SUB_CHOICES, 0)
        f = categorical(uniform(w0), tr.firm_cum) if firm < 0 else firm
        s = segment if segment >= 0 else categorical(uniform(w1), segment_cum)
        col.segment[i] = s
        col.cohort[i] = categorical(uniform(w2), tr.cohort_cum[s])
        col.no_alternative[i] = uniform(w3) < tr.no_alternative[s]
        n0, n1, n2, _ = draw(k0, k1, who, 0, P_TRAITS + 256 * _SUB_NORMALS, 0)
        col.fit[i] = tr.fit_sd[s] * normal(uniform(n0))
        col.satisfaction[i] = min(max(tr.satisfaction[s] + 0.1 * normal(uniform(n1)), 0.0), 1.0)
        col.trust[i] = min(max(tr.trust[s] + 0.1 * normal(uniform(n2)), 0.0), 1.0)
        shape = 1.0 / (SENSITIVITY_CV * SENSITIVITY_CV)
        col.price_sensitivity[i] = gamma(k0, k1, who, 0, P_TRAITS + 256 * _SUB_SENSITIVITY, shape) * tr.sensitivity[s] / shape
        col.affinity[i] = beta(k0, k1, who, 0, P_TRAITS + 256 * _SUB_AFFINITY, tr.affinity_a[s], tr.affinity_b[s])
        if tr.churn_fixed[s] >= 0.0:
            col.churn_p[i] = tr.churn_fixed[s]
        else:
            col.churn_p[i] = beta(k0, k1, who, 0, P_TRAITS + 256 * _SUB_CHURN, tr.churn_alpha[s], tr.churn_beta[s])
        col.joined[i] = joined
        col.firm[i] = f
        col.next_firm[i] = f
        col.rel_start[i] = joined
        col.reference_price[i] = list_price[f]
        col.price_paid[i] = list_price[f]
        begin(col, i)
        col.bond[i] = 0.0
        col.attachment[i] = 0.0
        col.loyalty[i] = NEITHER
        col.events[i] = EV_JOINED
        col.nps[i] = nps_score(col.satisfaction[i])


@rule
def init_market(replications, customers, keys, col, tr, list_price):
    """The period-0 market: ``customers`` customers (ids 0 ..) in each replication, rows in
    replication order, each drawing her firm from the initial shares."""
    for r in range(replications):
        lo = r * customers
        for who in range(customers):
            col.customer[lo + who] = who
            col.replication[lo + who] = r
        init_customers(lo, lo + customers, 0, -1, -1, keys, col, tr, list_price, tr.segment_cum)


ARRIVAL_PERIOD = 10**12  # an arrival's id: period * ARRIVAL_PERIOD + group * ARRIVAL_GROUP + place
ARRIVAL_GROUP = 10**7   # newcomers one group can hold in a period (the schema's limits keep far below)


@rule
def arrival_group(firm, stream, segments):
    """The group of firm ``firm``'s newcomers of ``stream``: ``firm * (segments + 1) + stream``, stream
    ``s < segments`` the bought newcomers of segment s, stream ``segments`` the referred ones (see
    :func:`arrival_id`; :func:`arrival_parts` inverts it)."""
    return firm * (segments + 1) + stream


@rule
def arrival_id(period, group, place):
    """The id of the ``place``-th newcomer (from 0) of ``group`` joining in ``period`` >= 1:
    ``period * 10**12 + group * 10**7 + place``, read in decimal as period | group | place (the 43rd
    newcomer of group 3 in period 1 is 1_000_030_000_042). A group is one stream of newcomers to one
    firm (:func:`arrival_group`). The id depends on nothing a strategy changes elsewhere: a
    promotion that brings more newcomers of one segment adds ids at the end of that segment's group
    and leaves every other newcomer's id, and so her random numbers, as they were. Ids grow with
    (period, group, place), above every initial customer's (at most 50 million)."""
    return period * ARRIVAL_PERIOD + group * ARRIVAL_GROUP + place


def arrival_parts(customer: int, segments: int) -> tuple[int, int, int, int] | None:
    """(period, firm, stream, place) of a newcomer's id (the inverse of :func:`arrival_id`; stream
    ``segments`` = referred), or None for an initial customer."""
    period, rest = divmod(int(customer), ARRIVAL_PERIOD)
    if period == 0:
        return None
    group, place = divmod(rest, ARRIVAL_GROUP)
    firm, stream = divmod(group, segments + 1)
    return period, firm, stream, place


@rule
def arrival_counts(period, keys, rates, out):
    """New customers per replication, firm and segment joining in ``period`` (``out[r, f, s]``):
    Poisson(``rates[f, s]``), keyed by (replication seed, firm, period, segment), so that a count
    depends on its own rate only (a firm's bought newcomers, Poisson(spend / cost per acquisition)
    split over segments by their shares and by what the firm's promotions draw, are the sum of these
    independent streams: the same distribution as one Poisson count and a segment drawn for each)."""
    for r in range(out.shape[0]):
        for f in range(out.shape[1]):
            for s in range(out.shape[2]):
                out[r, f, s] = poisson(keys[r, 0], keys[r, 1], f, period, P_ARRIVALS + 256 * (2 + s), rates[f, s])
    return out


@rule
def referrals(period, k0, k1, firm, mean):
    """Customers referred to ``firm`` in ``period``: Poisson(``mean``), keyed by (seed, firm, period)."""
    return poisson(k0, k1, firm, period, P_ARRIVALS + 256, mean)


@rule
def connect(lo, hi, keys, col, network, pool):
    """Whom the customers of rows ``lo .. hi - 1`` listen to (word of mouth): ``network.shape[1]``
    customers already in the market when she entered, drawn from her own NETWORK numbers (``pool`` >
    0: the customers in the rows below it; else those in the rows below hers). Single runs only, whose
    rows are the customers in order of entry; ``network`` holds rows."""
    k = network.shape[1]
    for i in range(lo, hi):
        r = col.replication[i]
        who = col.customer[i]
        size = pool if pool > 0 else i
        for slot in range(k):
            if size <= 1:
                network[i, slot] = -1
                continue
            w = draw(keys[r, 0], keys[r, 1], who, 0, P_NETWORK, slot // 4)
            u = uniform(w[slot % 4])
            other = min(int(u * size), size - 1)
            network[i, slot] = other if other != i else (other + 1) % size


@rule
def init_arrivals(row, period, counts, keys, col, tr, list_price, acquisition_cost, segment_cum):
    """Rows from ``row`` on for the arrivals ``counts[r, f, g]``, in replication, firm and group order
    (so in increasing id within a replication): with ``S`` segments, ``g < S`` are firm f's bought
    newcomers of segment g and ``g = S`` its referred newcomers, whose segments are drawn from the
    firm's row of ``segment_cum``; ids from :func:`arrival_id`. An acquired customer's relationship
    carries her acquisition cost from the start (``acquisition_cost[f, g]``, see :mod:`sim.books`).
    Returns the next free row."""
    n_groups = counts.shape[2]
    for r in range(counts.shape[0]):
        for f in range(counts.shape[1]):
            for g in range(n_groups):
                lo = row
                group = arrival_group(f, g, n_groups - 1)
                for place in range(counts[r, f, g]):
                    col.customer[row] = arrival_id(period, group, place)
                    col.replication[row] = r
                    row += 1
                init_customers(lo, row, period, f, g if g < n_groups - 1 else -1, keys, col, tr, list_price, segment_cum[f])
                for i in range(lo, row):
                    col.clv[i] = -acquisition_cost[f, g]
    return row


class Customers:
    """Column store of every customer who ever entered the market; rows are never reused."""

    def __init__(self, capacity: int):
        self.capacity = max(int(capacity), 1)
        self.n = 0
        self.cols = {name: np.zeros((self.capacity, MULTI[name]) if name in MULTI else self.capacity, dtype=dtype)
                     for name, dtype in COLUMNS.items()}
        self._view: Columns | None = None

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    def grow(self, extra: int) -> slice:
        """Make room for ``extra`` new rows and return their slice (amortised growth by 1.5x)."""
        need = self.n + extra
        if need > self.capacity:
            new_cap = max(need, int(self.capacity * 1.5) + 16)
            for name, arr in self.cols.items():
                grown = np.zeros((new_cap,) + arr.shape[1:], dtype=arr.dtype)
                grown[: self.n] = arr[: self.n]
                self.cols[name] = grown
            self.capacity = new_cap
            self._view = None
        rows = slice(self.n, need)
        self.n = need
        return rows

    def view(self) -> Columns:
        """All columns at full capacity, as the named tuple the compiled code takes (rows >= ``n`` unused)."""
        if self._view is None:
            self._view = Columns(**self.cols)
        return self._view

    def active(self) -> np.ndarray:
        """Boolean mask of customers currently with some firm."""
        return self.firm != OUT

    def row(self, i: int) -> dict:
        """One customer's stored state as a plain dict of codes and numbers."""
        if not 0 <= i < self.n:
            raise IndexError(f"no customer row {i} (there are {self.n})")
        return {name: self.cols[name][i].tolist() for name in COLUMNS}

    def state_bytes(self) -> int:
        """Bytes of state per customer row (all columns)."""
        return sum(arr[:1].nbytes for arr in self.cols.values())


def expected_rows(scenario: Scenario, replications: int = 1) -> int:
    """Rows a run will need: the initial customers plus the expected arrivals, with 5 % headroom."""
    return int(math.ceil(replications * scenario.expected_customers() * 1.05)) + 16
