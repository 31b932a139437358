"""Relationships: a customer with one firm, from the period she starts to the period she leaves
(a customer won back by a firm starts a further lifetime with it: ``spell`` counts them).

The compiled customers' pass decides who leaves at the end of a period; :func:`close_relationships`
then writes each ended relationship to the log and starts a switcher's new relationship with her new
firm in the next period. Relationships still running at the horizon are added to the tables as
*censored* there (their CLV is the value so far). Every relationship lasts at least one period: a
customer who switches in the last period starts her new relationship after the horizon, so it is not
in the tables (her row in the customers table names the new firm).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ._jit import rule
from .codes import (
    CENSORED,
    EV_CONTRACT_EXPIRED,
    EV_EXIT_FEE_PAID,
    EV_LIFE_EVENT,
    EV_SWITCHED,
    LEFT_MARKET,
    LIFE_EVENT,
    OUT,
    P_FIT,
    SWITCHED,
)
from .measures import WIN_BACK, contract, win_back
from .measures.base import P0
from .mechanisms.attachment import exit_fee_due
from .rng import draw, normal, uniform

LOG_COLUMNS = {
    "customer": np.int64, "replication": np.int16, "firm": np.int16, "segment": np.int8, "start": np.int16,
    "end": np.int16, "reason": np.int8, "loyalty_class": np.int8, "clv": np.float64, "spell": np.int8,
    "paid_exit_fee": np.bool_, "at_expiry": np.bool_,
}
LogColumns = namedtuple("LogColumns", list(LOG_COLUMNS))


@rule(inline="always")
def loyalty_class(class_periods):
    """The loyalty class a relationship held for the most periods (ties go to the first class in the
    order bonded only, attached only, both, neither)."""
    best = 0
    for k in range(1, 4):
        if class_periods[k] > class_periods[best]:
            best = k
    return best


@rule
def record(log, at, rows, count, col, end, reasons):
    """Write the current relationships of rows ``rows[:count]``, ending in period ``end``, for the
    reasons ``reasons[:count]``, to log positions ``at, at + 1, ...``; an ended one also says whether
    she paid an exit fee and whether she left as her contract expired. Returns the next position.
    (One call for all the period's records: numba reference-counts every column passed to a call,
    which per record cost more than the record.)"""
    for k in range(count):
        i = rows[k]
        reason = reasons[k]
        log.customer[at] = col.customer[i]
        log.replication[at] = col.replication[i]
        log.firm[at] = col.firm[i]
        log.segment[at] = col.segment[i]
        log.start[at] = col.rel_start[i]
        log.end[at] = end
        log.reason[at] = reason
        log.loyalty_class[at] = loyalty_class(col.class_periods[i])
        log.clv[at] = col.clv[i]
        log.spell[at] = col.spell[i]
        ended = reason != CENSORED
        log.paid_exit_fee[at] = ended and (col.events[i] & EV_EXIT_FEE_PAID) != 0
        log.at_expiry[at] = ended and (col.events[i] & EV_CONTRACT_EXPIRED) != 0
        at += 1
    return at


@rule(inline="always")
def begin(col, i):
    """The state of row ``i``'s relationship as it begins (a customer's first, on entering the market,
    or a new one after switching or coming back): no commitment, nostalgia boost, lock-in, contract,
    loyalty points, further products, spell, lapse to win back, CLV or class history yet."""
    col.commitment[i] = 0.0
    col.nostalgia[i] = 0.0
    col.lockin[i] = 0.0
    col.contract_end[i] = -1
    col.contract[i] = -1
    col.points[i] = 0.0
    col.products[i] = 0
    col.spell[i] = 0
    col.left_firm[i] = -1
    col.left_at[i] = -1
    col.clv[i] = 0.0
    for c in range(4):
        col.class_periods[i, c] = 0


@rule
def start_relationships(rows, count, period, firms, col, initial_trust, fit_sd, keys):
    """Customers ``rows[:count]`` start with firms ``firms[:count]`` in ``period`` (after switching, or
    coming back): trust at her segment's initial mean, a new fit with the offer (drawn from her FIT
    numbers of the period before), the rest as any relationship begins (:func:`begin`); satisfaction and
    reference price carry over."""
    for k in range(count):
        i = rows[k]
        s = col.segment[i]
        r = col.replication[i]
        w0, _, _, _ = draw(keys[r, 0], keys[r, 1], col.customer[i], period - 1, P_FIT, 0)
        col.firm[i] = firms[k]
        col.rel_start[i] = period
        col.trust[i] = initial_trust[s]
        col.fit[i] = fit_sd[s] * normal(uniform(w0))
        begin(col, i)


@rule(inline="always")
def changes_firm(col, i):
    """Whether row ``i``'s relationship ends or begins after this period: her next firm is not her
    firm (a leaver, a switcher, a lapsed customer won back)."""
    return col.next_firm[i] != col.firm[i]


@rule
def close_relationships(period, horizon, rows, n, col, log, at, initial_trust, fit_sd, keys, fm, mt, lever_row, costs, forfeited):
    """Log every relationship that ends in ``period`` (among rows ``rows[:n]``, those whose
    ``next_firm`` differs from ``firm``) from log position ``at`` on, and start the new ones:

    - a switcher starts with her new firm next period; a switching bonus and an exit fee the new firm
      pays are that relationship's first costs (and the firm's: ``costs[r, f]``), unless it would start
      at the ``horizon``: outside the run, like the relationship, which :func:`censor` leaves out;
    - a customer who leaves the market by choice remembers the firm and the period (for win-back);
    - a leaver's or switcher's loyalty points are forfeited (``forfeited[r, f]``: breakage);
    - a lapsed customer won back starts a further lifetime (``spell`` + 1) with the firm, her trust at
      least what it was when she left and raised further (:func:`sim.measures.win_back.trust_on_return`).

    The period's enders and returners are gathered first (in row order, by one scan of ``rows[:n]``:
    the engine passes the rows the customers' pass listed, :func:`sim.kernel.gather_changes`) and
    handled as lists. Returns the new log length."""
    changing = np.empty(n, dtype=np.int64)  # the rows whose firm changes, in row order
    n_change = 0
    n_back = 0
    for j in range(n):
        i = rows[j]
        if changes_firm(col, i):
            changing[n_change] = i
            n_change += 1
            if col.firm[i] == OUT:
                n_back += 1
    n_end = n_change - n_back
    ended = np.empty(n_end, dtype=np.int64)
    reasons = np.empty(n_end, dtype=np.int8)
    moving = np.empty(n_change, dtype=np.int64)  # rows that start a relationship next period
    to = np.empty(n_change, dtype=np.int64)
    cost = np.zeros(n_change)
    trust_left = np.empty(n_change)
    e = 0
    m = 0
    for j in range(n_change):
        i = changing[j]
        f = col.firm[i]
        nf = col.next_firm[i]
        if f == OUT:  # won back
            moving[m] = i
            to[m] = nf
            trust_left[m] = col.trust[i]
            m += 1
            continue
        ev = col.events[i]
        ended[e] = i
        reasons[e] = SWITCHED if ev & EV_SWITCHED else (LIFE_EVENT if ev & EV_LIFE_EVENT else LEFT_MARKET)
        e += 1
    at = record(log, at, ended, n_end, col, period, reasons)
    for k in range(n_end):
        i = ended[k]
        f = col.firm[i]
        nf = col.next_firm[i]
        r = col.replication[i]
        forfeited[r, f] += col.points[i]
        if nf == OUT:
            col.firm[i] = OUT
            col.points[i] = 0.0
            col.products[i] = 0
            col.left_firm[i] = f if reasons[k] == LEFT_MARKET else -1
            col.left_at[i] = period
        else:
            fee = 0.0
            if fm.pays_fee[nf] > 0.0 and col.contract[i] >= 0:
                c = col.contract[i]
                fee = exit_fee_due(col.contract_end[i], mt[c, P0 + contract.EXIT_FEE], period, mt[c, P0 + contract.TERM],
                                   mt[c, P0 + contract.DECLINING] != 0.0)
            moving[m] = i
            to[m] = nf
            cost[m] = fm.bonus[nf] + fee if period + 1 < horizon else 0.0
            costs[r, nf] += cost[m]
            m += 1
    spells = np.empty(m, dtype=np.int64)
    for k in range(m):
        spells[k] = col.spell[moving[k]]
    start_relationships(moving, m, period + 1, to, col, initial_trust, fit_sd, keys)
    for k in range(m):
        i = moving[k]
        if k < n_back:  # won back: a further lifetime with the firm
            col.spell[i] = spells[k] + 1
            w = lever_row[WIN_BACK, to[k]]
            if w >= 0:
                bonus = (mt[w, P0 + win_back.INCENTIVE_TRUST] if mt[w, P0 + win_back.INCENTIVE] != 0.0
                         else mt[w, P0 + win_back.TRUST])
                col.trust[i] = win_back.trust_on_return(trust_left[k], col.trust[i], bonus)
        else:
            col.clv[i] = -cost[k]
    return at


@rule
def censor(horizon, n, col, log, at, reason):
    """Log every relationship still running after the last period ``horizon - 1`` as censored there
    (relationships that would start at the horizon are not relationships of the run)."""
    count = 0
    for i in range(n):
        if col.firm[i] != OUT and col.rel_start[i] < horizon:
            count += 1
    running = np.empty(count, dtype=np.int64)
    k = 0
    for i in range(n):
        if col.firm[i] != OUT and col.rel_start[i] < horizon:
            running[k] = i
            k += 1
    return record(log, at, running, count, col, horizon - 1, np.full(count, reason, dtype=np.int8))


class Log:
    """The growing log of ended relationships (struct of arrays)."""

    def __init__(self, capacity: int = 1024):
        self.n = 0
        self.cols = {k: np.zeros(capacity, dtype=v) for k, v in LOG_COLUMNS.items()}
        self._view: LogColumns | None = None

    def reserve(self, extra: int) -> LogColumns:
        """Room for ``extra`` more records; returns the columns for the compiled writers."""
        need = self.n + int(extra)
        cap = len(self.cols["customer"])
        if need > cap:
            cap = max(need, int(cap * 1.5) + 1024)
            for k, a in self.cols.items():
                grown = np.zeros(cap, dtype=a.dtype)
                grown[: self.n] = a[: self.n]
                self.cols[k] = grown
            self._view = None
        if self._view is None:
            self._view = LogColumns(**self.cols)
        return self._view

    def arrays(self) -> dict[str, np.ndarray]:
        """The records so far, one array per column."""
        return {k: a[: self.n] for k, a in self.cols.items()}
