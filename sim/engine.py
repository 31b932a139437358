"""The engine: a population of customers (one or several replications) stepped period by period.

Per period, Python only decides what is firm-level (which measures run, at what list prices), calls the
compiled customers' pass (:mod:`sim.kernel`) and keeps the books (:mod:`sim.books`)::

    measures are planned -> arrivals join -> every customer's period -> relationships close -> books close

A batched run holds R replications as one population, each customer keyed by (her replication's seed,
her id), so replication r gives exactly the numbers of a single run with seed r: batching only saves the
fixed cost of a period. :class:`sim.model.RetentionModel` wraps a one-replication engine as a
``mesa.Model``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import books as books_mod
from . import kernel, measures, population, relationships, rng
from ._jit import compile_once
from .allocator import return_freed_memory
from .books import S_LEFT_MARKET, S_LIFE_EVENT, S_SWITCHED_OUT, Books
from .codes import CENSORED, OUT
from .measures import complaint_handling as complaint_lever
from .measures import discount as discount_lever
from .measures import referral as referral_lever
from .measures.base import ACTIVE, N_COLUMNS, P0, Context
from .mechanisms import promotion
from .mechanisms.bonding import phase_codes
from .params import Scenario
from .population import Customers
from .signals import deferred_signals

PARALLEL_MIN_ROWS = 8 * kernel.CHUNK  # below this a period is too short for threads to pay
MAX_DEFAULT_THREADS = 8
BATCH_ROWS = 2_000_000  # replications are run as one population up to about this many rows
_NO_ROWS = np.empty(0, dtype=np.int64)
_FLOWS = [S_LEFT_MARKET, S_LIFE_EVENT, S_SWITCHED_OUT, books_mod.S_WON_BACK]  # the sums that say a relationship changes


def default_threads() -> int:
    """Threads a run may use: ``RETENTION_SIM_THREADS`` if set, else the cores this process may run on
    (at most 8)."""
    env = os.environ.get("RETENTION_SIM_THREADS", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"RETENTION_SIM_THREADS must be a positive integer, got {env!r}") from None
        if value < 1:
            raise ValueError(f"RETENTION_SIM_THREADS must be a positive integer, got {env!r}")
        return value
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_THREADS))


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    """A shared pool of ``threads`` worker threads (they wait on a queue, never spin)."""
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="retention-sim")
    return _POOLS[threads]


def replication_batches(scenario, seeds: list[int], rows: int = BATCH_ROWS) -> list[list[int]]:
    """The seeds grouped into batches, each run as one population of :class:`Engine`: as many
    replications as fit in about ``rows`` rows (a customer and her arrivals, about 1.3 rows), or one
    by one when word of mouth links the customers of a run (the referral lever)."""
    linked = scenario.mechanisms.measures and any(m.type == "referral" for m in scenario.measures)
    size = 1 if linked else max(1, rows // max(1, int(scenario.simulation.customers * 1.3)))
    return [list(seeds[lo : lo + size]) for lo in range(0, len(seeds), size)]


class RowIndex:
    """The rows that may be active, ascending within each replication and grouped by replication, cut
    into chunks of ``kernel.CHUNK`` rows that never span two replications.

    The customers' pass and the closing of relationships run over it. Because a replication's rows are
    chunked the same way whether it runs alone or in a batch, its per-chunk sums are added in the same
    order, and a batched replication gives bit-identical books to its single run. Departed customers
    are dropped from the index when they make up an eighth of it.
    """

    def __init__(self, replications: int, customers: int):
        # one buffer per replication, with room to grow; its first ``sizes[r]`` entries are the index
        self.buffers = [np.arange(r * customers, (r + 1) * customers, dtype=np.int64) for r in range(replications)]
        self.sizes = [customers] * replications
        self.gone = 0
        self._cache: tuple | None = None

    @property
    def parts(self) -> list[np.ndarray]:
        """The index of each replication (views of its buffer)."""
        return [b[:n] for b, n in zip(self.buffers, self.sizes)]

    def add(self, rows: np.ndarray, per_replication: np.ndarray) -> None:
        """New rows (in replication order, ``per_replication[r]`` of them for replication r), appended
        in place (a buffer grows by half when full, so a period costs what it adds, not the index)."""
        at = 0
        for r, k in enumerate(per_replication):
            if k:
                size, buf = self.sizes[r], self.buffers[r]
                if size + k > buf.size:
                    grown = np.empty(max(size + k, buf.size + buf.size // 2 + 1024), dtype=np.int64)
                    grown[:size] = buf[:size]
                    self.buffers[r] = buf = grown
                buf[size : size + k] = rows[at : at + k]
                self.sizes[r] = size + k
                at += k
        self._cache = None

    def departed(self, count: int, cols: dict, period: int, window: int) -> None:
        """``count`` indexed customers left the market; drop the departed when they are an eighth (but
        keep, for ``window`` periods, those a firm may still win back)."""
        self.gone += count
        if 8 * self.gone > sum(self.sizes):
            firm, left_firm, left_at = cols["firm"], cols["left_firm"], cols["left_at"]
            for r, p in enumerate(self.parts):
                kept = p[(firm[p] != OUT) | ((left_firm[p] >= 0) & (period - left_at[p] < window))]
                self.buffers[r][: kept.size] = kept
                self.sizes[r] = kept.size
            self.gone = 0
            self._cache = None

    def chunks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows (concatenated) and the chunks' bounds ``lo``, ``hi`` into them."""
        if self._cache is None:
            parts = self.parts
            rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
            lo, hi, start = [], [], 0
            for p in parts:
                for a in range(start, start + p.size, kernel.CHUNK):
                    lo.append(a)
                    hi.append(min(a + kernel.CHUNK, start + p.size))
                start += p.size
            lo = np.array(lo or [0], dtype=np.int64)
            hi = np.array(hi or [0], dtype=np.int64)
            self._cache = (rows, lo, hi)
        return self._cache


class Engine:
    """Customers, firms' books and relationship log of ``len(seeds)`` replications of one scenario.

    Parameters
    ----------
    scenario : Scenario
        The validated scenario.
    seeds : sequence of int
        One seed per replication (0 <= seed < 2**63).
    threads : int, optional
        Cap on worker threads (default :func:`default_threads`); threads are used only for populations
        of at least ``PARALLEL_MIN_ROWS`` rows, and results are bit-identical for any number.
    """

    def __init__(self, scenario: Scenario, seeds: Sequence[int], threads: int | None = None):
        sc = self.scenario = scenario
        self.seeds = [int(s) for s in seeds]
        if not self.seeds:
            raise ValueError("an engine needs at least one seed")
        self.replications = len(self.seeds)
        self.keys = np.array([rng.key(s) for s in self.seeds], dtype=np.uint64)
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be a positive integer, got {threads}")
        self.threads = threads if threads is not None else default_threads()
        return_freed_memory()  # a run's peak memory is what it holds (see sim.allocator)
        self.horizon = sc.simulation.periods
        self.n_firms = len(sc.firms)
        self.n_initial = sc.simulation.customers

        self.measures = measures.build(sc) if sc.mechanisms.measures else []
        self.table = np.zeros((len(self.measures), N_COLUMNS))
        for m, row in zip(self.measures, self.table):
            m.encode(row)
        self.winback_window = max([m.params.delay_max + 1 for m in self.measures if m.reaches_lapsed] or [0])
        self.listens_to = max([m.params.listens_to for m in self.measures if m.kind == "referral"] or [0])
        if self.listens_to and self.replications > 1:
            raise ValueError("word of mouth (the referral lever) links customers of one run; run its replications one by one "
                             "(replication_batches)")
        self.params = kernel.rule_params(sc)
        self.base = kernel.firm_table(sc)
        self.segments = kernel.segment_table(sc)
        self.traits = population.trait_tables(sc)
        # arrivals: each segment's part of the bought newcomers, and every firm's mix without promotions
        self.segment_share = self.traits.segment_weights / self.traits.segment_weights.sum()
        self.bought_mix = np.repeat(self.traits.segment_cum[None, :], self.n_firms, axis=0)
        self.discount = books_mod.discount_factors(self.horizon, sc.simulation.discount_rate)
        self.cost_per_acquisition = np.array([f.cost_per_acquisition for f in sc.firms], dtype=np.float64)
        # firm-level numbers that do not change between periods, read by plan()
        self.enters_at = np.array([f.enters_at for f in sc.firms])
        self.acquisition_spend = np.array([f.acquisition_spend for f in sc.firms], dtype=np.float64) * sc.simulation.scale
        self.product_margin = np.zeros(self.n_firms)  # what a further product earns, per firm (ecosystem)
        for m in self.measures:
            if m.kind == "ecosystem":
                self.product_margin[m.firm] = m.params.margin_per_product

        _ensure_compiled()
        self.customers = Customers(population.expected_rows(sc, self.replications))
        self.books = Books(self.horizon, self.replications, self.n_firms)
        self.log = relationships.Log(max(1024, self.customers.capacity // 4))
        self._relationships: dict | None = None  # the finished run's relationships table
        self.period = 0
        self.firms = self.base  # the firm-level numbers of the current period
        self.customers.grow(self.replications * self.n_initial)
        population.init_market(self.replications, self.n_initial, self.keys, self.customers.view(), self.traits,
                               self.base.list_price)
        self.index = RowIndex(self.replications, self.n_initial)
        self.mstart = np.zeros(2 * self.n_firms * len(sc.segments) + 1, dtype=np.int64)
        self.morder = np.zeros(0, dtype=np.int64)
        self.lever_row = np.full((len(measures.LEVERS), self.n_firms), -1, dtype=np.int64)
        self._active: tuple | None = None
        self.focal_prices: list[float] = []
        self.familiar = np.zeros((self.n_firms, len(sc.segments)))  # how familiar each firm's promotions are, per segment
        self.arrival_pull = np.ones((self.n_firms, len(sc.segments)))
        self.sensitivity = np.array([s.price_sensitivity for s in sc.segments], dtype=np.float64)  # mean, per segment
        self.promoters = np.zeros((self.replications, self.n_firms))
        self.fr = np.ones((self.replications, self.n_firms, 1))
        self.mr = np.ones((self.replications, len(self.measures)))  # share of complaints a team takes well
        self.last_counts = np.zeros((self.replications, len(self.measures), kernel.N_COUNTERS))
        self.nps_next = self.customers.cols["nps"].copy()
        self.changes, self.n_changes = _NO_ROWS, 0  # the period's rows whose firm changes (see customers_pass)
        self.network = np.full((self.customers.capacity, self.listens_to), -1, dtype=np.int32)
        if self.listens_to:
            population.connect(0, self.customers.n, self.keys, self.customers.view(), self.network, self.n_initial)

    # ------------------------------------------------------------------ the period
    def step(self) -> None:
        """One period for every replication (a Ctrl-C under the command line's signal handlers takes
        effect after it, see :func:`sim.signals.deferred_signals`)."""
        if self.period >= self.horizon:
            raise RuntimeError(f"the run has reached its horizon of {self.horizon} periods")
        with deferred_signals():
            self._step()

    def _step(self) -> None:
        t = self.period
        ctx = self.plan(t)
        self.arrive(t, ctx)
        sums, counts = self.customers_pass(t, ctx)
        self.close_relationships(t, sums)
        # the period's list of changing rows goes: numpy backs a large array with huge pages, which the
        # pass's writes at each chunk's start would otherwise keep resident (13 MB at 1.6 M rows)
        self.changes = _NO_ROWS
        self.promoters = sums[:, :, books_mod.S_PROMOTERS].copy()
        n = self.customers.n
        self.customers.cols["nps"][:n] = self.nps_next[:n]
        fixed = np.zeros(self.n_firms)
        for k, m in enumerate(self.measures):
            fixed[m.firm] += m.settle(t, counts[:, k, kernel.REACHED], counts[:, k, kernel.EVENTS:])
        self.last_counts = counts
        self.books.close(t, sums, fixed)
        self.period += 1

    def arrive(self, t: int, ctx: Context) -> None:
        """New customers join at the start of period t >= 1 (the period-0 market is the initial one),
        expecting the firm's list price of the period: per firm present and segment, Poisson(acquisition
        spend / cost per acquisition x the segment's share x what the firm's promotions draw in that
        segment), plus, for firms with a referral programme, Poisson(referrals per promoter x last
        period's promoters), each referred customer costing the referral reward. Each firm's bought
        newcomers of one segment are one stream, its referred newcomers another
        (:func:`sim.population.arrival_id`): a promotion aimed at one segment changes that segment's
        newcomers only."""
        if t == 0 or not self.scenario.mechanisms.arrivals:
            return
        present = self.firms.present
        n_seg = len(self.scenario.segments)
        bought = np.where(present > 0, ctx.acquisition_spend / self.cost_per_acquisition, 0.0)
        rates = bought[:, None] * self.segment_share[None, :] * self.arrival_pull
        counts = np.zeros((self.replications, self.n_firms, n_seg + 1), dtype=np.int64)
        population.arrival_counts(t, self.keys, rates, counts[:, :, :n_seg])
        cost = np.repeat(self.cost_per_acquisition[:, None], n_seg + 1, axis=1)
        referred = None
        if self.listens_to:
            for f in range(self.n_firms):
                m = self.lever_row[measures.REFERRAL, f]
                if m >= 0 and present[f] > 0:
                    cost[f, n_seg] = self.table[m, P0 + referral_lever.REWARD]
                    rate = self.table[m, P0 + referral_lever.RATE]
                    for r, (k0, k1) in enumerate(self.keys):
                        counts[r, f, n_seg] = population.referrals(t, k0, k1, f, rate * self.promoters[r, f])
            referred = counts[:, :, n_seg]
        self.books.acquire(t, counts[:, :, :n_seg].sum(axis=2), self.cost_per_acquisition, referred, cost[:, n_seg])
        total = int(counts.sum())
        if not total:
            return
        if counts.max() >= population.ARRIVAL_GROUP:
            raise ValueError(f"more than {population.ARRIVAL_GROUP - 1:,} newcomers of one segment joined one firm in "
                             f"period {t}: too many to simulate")
        # referred newcomers come in the firm's mix as its promotions draw it (the segments' shares without)
        mix = (self.bought_mix if referred is None
               else population.cumulative(self.traits.segment_weights[None, :] * self.arrival_pull))
        row = self.customers.n
        self._grow(total)
        population.init_arrivals(row, t, counts, self.keys, self.customers.view(), self.traits, self.firms.list_price, cost, mix)
        self.nps_next[row : row + total] = self.customers.cols["nps"][row : row + total]
        if self.listens_to:
            population.connect(row, row + total, self.keys, self.customers.view(), self.network, 0)
        self.index.add(np.arange(row, row + total), counts.sum(axis=(1, 2)))

    def _grow(self, extra: int) -> None:
        """Room for ``extra`` customers, in the column store and in the arrays kept beside it."""
        self.customers.grow(extra)
        cap = self.customers.capacity
        if self.nps_next.size < cap:
            grown = np.zeros(cap, dtype=self.nps_next.dtype)
            grown[: self.nps_next.size] = self.nps_next
            self.nps_next = grown
            net = np.full((cap, self.listens_to), -1, dtype=np.int32)
            net[: self.network.shape[0]] = self.network
            self.network = net

    def plan(self, t: int) -> Context:
        """Firm-level decisions of period t: which measures run, and their firm-level effects (prices,
        offers to switchers, acquisition spend, the reach of retention care), which firms are in the
        market, and how well each complaint team can take complaints after last period's load.
        The lists of measures acting on customers are rebuilt only when a schedule switches."""
        active = tuple(m.is_active(t) for m in self.measures)
        if active != self._active:
            self._active = active
            n_seg = len(self.scenario.segments)
            groups = self.n_firms * n_seg
            acting = [[] for _ in range(2 * groups)]  # by firm * n_seg + segment; new customers only after
            self.lever_row[:] = -1
            for k, (m, row, on) in enumerate(zip(self.measures, self.table, active)):
                row[ACTIVE] = 1.0 if on else 0.0
                if on:
                    self.lever_row[m.code, m.firm] = k
                if on and m.acts_on_customers:
                    for seg in range(n_seg) if m.segment is None else (m.segment,):
                        acting[m.firm * n_seg + seg + (groups if m.new_customers_only else 0)].append(k)
            self.mstart[1:] = np.cumsum([len(a) for a in acting])
            self.morder = np.array([k for a in acting for k in a], dtype=np.int64)
        last_active = (self.books.ledger[t - 1, :, :, books_mod.F_ACTIVE].copy() if t > 0
                       else np.zeros((self.replications, self.n_firms)))
        ctx = Context(period=t, list_price=self.base.list_price.copy(), quality=self.base.quality.copy(),
                      handling=self.base.handling.copy(), bonus=np.zeros(self.n_firms), pays_fee=np.zeros(self.n_firms),
                      acquisition_spend=self.acquisition_spend.copy(), care_share=np.ones((self.replications, self.n_firms)),
                      last_active=last_active, focal_price_history=self.focal_prices)
        for m, on in zip(self.measures, active):
            if on and m.acts_on_firm:
                m.firm_effect(ctx)
        self.focal_prices.append(float(ctx.list_price[0]))
        present = np.where(self.enters_at <= t, 1.0, 0.0)
        offer, pull, self.arrival_pull = self.promotions(ctx.list_price, present, active)
        self.firms = kernel.Firms(ctx.list_price, self.base.unit_cost, ctx.quality, ctx.handling, present, ctx.bonus,
                                  ctx.pays_fee, self.product_margin, offer, pull)
        self.fr[:, :, kernel.CARE_SHARE] = ctx.care_share
        for k, (m, on) in enumerate(zip(self.measures, active)):
            if on and m.code == measures.COMPLAINT_HANDLING:  # from the load of the customers it served last period
                for r in range(self.replications):
                    self.mr[r, k] = complaint_lever.reachability(self.table[k, P0 + complaint_lever.CAPACITY],
                                                                 self.last_counts[r, k, kernel.REACHED],
                                                                 self.last_counts[r, k, kernel.EVENTS])
        return ctx

    def promotions(self, list_price: np.ndarray, present: np.ndarray, active: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This period's offers and the attention promotions draw (:mod:`sim.mechanisms.promotion`), per
        firm and segment (a promotion aimed at one segment is that segment's news only): ``offer[f, s]``
        (what firm f charges a newcomer of segment s: its list price after the discounts that reach any
        newcomer of s), ``pull[f, s]`` (the added probability that its customers of segment s look
        around while another firm's promotion draws their attention) and ``arrivals[f, s]`` (the
        multiplier of its arrivals of segment s: offer against the present firms' mean offer, times the
        attention its own promotion draws). Updates the familiarity of each firm's promotions. With the
        mechanism off: list prices, no pull, multipliers of 1."""
        sc = self.scenario
        n_seg = len(sc.segments)
        offer = np.repeat(list_price[:, None], n_seg, axis=1)
        for m, on in zip(self.measures, active):
            if on and m.code == measures.DISCOUNT and m.loyalty_class is None and m.cohort is None:
                segs = range(n_seg) if m.segment is None else (m.segment,)
                for seg in segs:
                    offer[m.firm, seg] = discount_lever.discounted(offer[m.firm, seg], m.params.rate)
        pull = np.zeros((self.n_firms, n_seg))
        arrivals = np.ones((self.n_firms, n_seg))
        if not sc.mechanisms.promotion:
            return offer, pull, arrivals
        pr = sc.promotion
        here = present > 0
        mean_offer = np.array([float(offer[here, seg].mean()) if here.any() else 0.0 for seg in range(n_seg)])
        promotion.period_effects(offer, list_price, present, self.familiar, mean_offer, self.sensitivity, pr.wearout,
                                 pr.attention_consideration, pr.attention_arrivals, pr.arrival_price_coef, pull, arrivals)
        return offer, pull, arrivals

    def customers_pass(self, t: int, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
        """Every customer's period; returns per-firm sums (replication x firm x :data:`books.SUMS`) and
        per-measure counters (replication x measure x 3), each chunk's partial sums added in chunk
        order (the same order whichever thread ran which chunk)."""
        rows, lo, hi = self.index.chunks()
        chunks = lo.size
        sums = np.zeros((chunks, self.replications, self.n_firms, len(books_mod.SUMS)))
        counts = np.zeros((chunks, self.replications, len(self.measures), kernel.N_COUNTERS))
        # the rows whose firm changes, listed by the pass per chunk (a leaver's page of this array is
        # touched, the rest never: a large one is mapped lazily, see sim.allocator)
        self.changes = np.empty(rows.size, dtype=np.int64)
        changed = np.zeros(chunks, dtype=np.int64)
        args = (lo, hi, rows, self.n_initial, self.customers.view(), self.firms, self.segments, self.fr, self.mr, self.table,
                self.mstart, self.morder, self.lever_row, self.network, self.nps_next, self.keys, self.discount, self.params,
                sums, counts, self.changes, changed)
        threads = self.threads_for(rows.size)
        if threads == 1:
            sums, counts = kernel.customers_pass_and_add(t, *args)
        else:
            bounds = np.linspace(0, chunks, min(chunks, 4 * threads) + 1).astype(int)
            jobs = [_pool(threads).submit(kernel.customers_pass, t, int(a), int(b), *args)
                    for a, b in zip(bounds[:-1], bounds[1:])]
            for job in jobs:
                job.result()
            sums, counts = kernel.add_chunks(sums), kernel.add_chunks(counts)
        self.n_changes = kernel.gather_changes(self.changes, lo, changed)
        return sums, counts

    def threads_for(self, rows: int) -> int:
        """Threads for a pass over ``rows`` rows: one below ``PARALLEL_MIN_ROWS``, else the cap."""
        return 1 if rows < PARALLEL_MIN_ROWS else max(1, min(self.threads, math.ceil(rows / kernel.CHUNK)))

    def close_relationships(self, t: int, sums: np.ndarray) -> None:
        """Log the relationships that ended in period t; switchers and won-back customers begin anew in
        t + 1 (what a switching offer costs the winning firm is added to its measure costs)."""
        left, life, switched, won_back = sums[:, :, _FLOWS].sum(axis=(0, 1)).tolist()  # whole numbers: exact in any order
        left = int(left + life)
        ending = left + int(switched)
        if not ending and not won_back:
            return
        view = self.log.reserve(ending)
        costs = np.zeros((self.replications, self.n_firms))
        forfeited = np.zeros((self.replications, self.n_firms))
        self.log.n = relationships.close_relationships(t, self.horizon, self.changes, self.n_changes, self.customers.view(), view,
                                                       self.log.n, self.segments.initial_trust, self.segments.fit_sd, self.keys,
                                                       self.firms, self.table, self.lever_row, costs, forfeited)
        sums[:, :, books_mod.S_MEASURE_COSTS] += costs
        sums[:, :, books_mod.S_POINTS_BREAKAGE] += forfeited
        self.index.departed(left, self.customers.cols, t, self.winback_window)

    # ------------------------------------------------------------------ results
    def run(self) -> None:
        """Step to the horizon."""
        while self.period < self.horizon:
            self.step()

    def relationship_arrays(self) -> dict[str, np.ndarray]:
        """Every relationship of the run so far: the ended ones, then the running ones censored at the
        last period stepped.

        Once the run has reached its horizon the table cannot change: it is then built once, in the
        relationship log itself (the censored records after the ended ones, no second copy of the
        log), and the same read-only arrays are returned to every caller (the metrics at the last
        step, each firm's metrics in the summary, the relationships table). Before the horizon each
        call builds a fresh copy, since the log grows with every period."""
        if self._relationships is not None:
            return dict(self._relationships)
        finished = self.period >= self.horizon
        ended = self.log.n
        if finished:  # nothing will be logged after this: censor into the log's own columns
            log = self.log
            view = log.reserve(self.customers.n + 1)
        else:
            log = relationships.Log(ended + self.customers.n + 1)
            for k, a in self.log.arrays().items():
                log.cols[k][:ended] = a
            view = log.reserve(0)
        end = relationships.censor(self.period, self.customers.n, self.customers.view(), view, ended, CENSORED)
        out = {k: a[:end] for k, a in log.cols.items()}
        out["censored"] = np.zeros(end, dtype=bool)
        out["censored"][ended:] = True
        if finished:
            for a in out.values():
                a.flags.writeable = False
            self._relationships = out
        return dict(out)


_COMPILED = False


def _ensure_compiled() -> None:
    """Compile (or load from the disk cache) every entry point once per process."""
    global _COMPILED
    if not _COMPILED:
        _COMPILED = True
        compile_once(_warm_up)


def _warm_up() -> None:
    """Run tiny scenarios that exercise every mechanism and lever, so every entry point compiles."""
    every_lever = [{"type": t, **extra} for t, extra in (
        ("price_change", {"firm": "g", "schedule": {"start": 1}}), ("price_reaction", {"firm": "g"}),
        ("switching_bonus", {"firm": "h", "pay_exit_fee": True}), ("budget_split", {"firm": "g"}), ("discount", {}),
        ("loyalty_programme", {}), ("service", {}), ("complaint_handling", {}), ("onboarding", {}), ("contract", {"term": 1}),
        ("nostalgia", {"cohort": "1980s"}), ("proactive_retention", {}), ("ecosystem", {"ageing_from": 1}),
        ("account_management", {}), ("win_back", {"approach": "incentive"}), ("win_back", {"firm": "g"}), ("referral", {}))]
    sc = Scenario.model_validate({
        "simulation": {"customers": 40, "periods": 4},
        "segments": [{"name": "a", "share": 0.5, "background_churn": {"distribution": "beta", "alpha": 0.5, "beta": 5.0}},
                     {"name": "b", "share": 0.5, "no_alternative_share": 0.5, "buying_centre": 3, "contact_turnover": 0.3,
                      "purchase_cycle": 2}],
        "firms": [{"name": "f", "initial_share": 0.5, "acquisition_spend": 3000.0},
                  {"name": "g", "initial_share": 0.5, "acquisition_spend": 3000.0},
                  {"name": "h", "initial_share": 0.0, "enters_at": 1, "acquisition_spend": 3000.0}],
        "measures": every_lever,
    })
    for spec, seeds, threads in ((sc, [1], 1), (sc.model_copy(update={"measures": sc.measures[:-1]}), [1, 2], 1)):
        engine = Engine(spec, seeds, threads=threads)
        engine.run()
        engine.relationship_arrays()
    c = engine.customers
    phase_codes(c.rel_start, c.trust, 3, 12)
