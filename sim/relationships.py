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
    "customer": np.int32, "replication": np.int16, "firm": np.int16, "segment": np.int8, "start": np.int16,
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


@rule(inline="always")
def record(log, at, i, col, end, reason):
    """Write row ``i``'s current relationship, ending in period ``end``, to log position ``at``; an
    ended one also says whether she paid an exit fee and whether she left as her contract expired."""
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


@rule(inline="always")
def start_relationship(i, period, firm, col, initial_trust, fit_sd, keys):
    """A customer starts with ``firm`` in ``period`` (after switching, or coming back): trust at her
    segment's initial mean, a new fit with the offer (drawn from her FIT numbers of the period before),
    no commitment, nostalgia boost, lock-in, contract, points, further products, CLV or class history
    yet; satisfaction and reference price carry over."""
    s = col.segment[i]
    r = col.replication[i]
    w0, _, _, _ = draw(keys[r, 0], keys[r, 1], col.customer[i], period - 1, P_FIT, 0)
    col.firm[i] = firm
    col.rel_start[i] = period
    col.trust[i] = initial_trust[s]
    col.fit[i] = fit_sd[s] * normal(uniform(w0))
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
    for k in range(4):
        col.class_periods[i, k] = 0


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

    Returns the new log length."""
    for j in range(n):
        i = rows[j]
        f = col.firm[i]
        nf = col.next_firm[i]
        if nf == f:
            continue
        r = col.replication[i]
        if f == OUT:  # won back
            spell = col.spell[i]
            trust_left = col.trust[i]
            start_relationship(i, period + 1, nf, col, initial_trust, fit_sd, keys)
            col.spell[i] = spell + 1
            m = lever_row[WIN_BACK, nf]
            if m >= 0:
                bonus = (mt[m, P0 + win_back.INCENTIVE_TRUST] if mt[m, P0 + win_back.INCENTIVE] != 0.0
                         else mt[m, P0 + win_back.TRUST])
                col.trust[i] = win_back.trust_on_return(trust_left, col.trust[i], bonus)
            continue
        ev = col.events[i]
        reason = SWITCHED if ev & EV_SWITCHED else (LIFE_EVENT if ev & EV_LIFE_EVENT else LEFT_MARKET)
        record(log, at, i, col, period, reason)
        at += 1
        forfeited[r, f] += col.points[i]
        if nf == OUT:
            spell = col.spell[i]
            col.firm[i] = OUT
            col.points[i] = 0.0
            col.products[i] = 0
            col.left_firm[i] = f if reason == LEFT_MARKET else -1
            col.left_at[i] = period
            col.spell[i] = spell
        else:
            fee = 0.0
            if fm.pays_fee[nf] > 0.0 and col.contract[i] >= 0:
                m = col.contract[i]
                fee = exit_fee_due(col.contract_end[i], mt[m, P0 + contract.EXIT_FEE], period, mt[m, P0 + contract.TERM],
                                   mt[m, P0 + contract.DECLINING] != 0.0)
            start_relationship(i, period + 1, nf, col, initial_trust, fit_sd, keys)
            cost = fm.bonus[nf] + fee if period + 1 < horizon else 0.0
            col.clv[i] = -cost
            costs[r, nf] += cost
    return at


@rule
def censor(horizon, n, col, log, at, reason):
    """Log every relationship still running after the last period ``horizon - 1`` as censored there
    (relationships that would start at the horizon are not relationships of the run)."""
    for i in range(n):
        if col.firm[i] != OUT and col.rel_start[i] < horizon:
            record(log, at, i, col, horizon - 1, reason)
            at += 1
    return at


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
