"""The relationship log: the rules that record, close and start relationships, called on small
hand-made populations (edge values: nothing to do, every way a relationship ends, a customer won back)."""

from __future__ import annotations

import numpy as np

from sim import kernel, rng
from sim.codes import (
    BOTH,
    CENSORED,
    EV_CONTRACT_EXPIRED,
    EV_EXIT_FEE_PAID,
    EV_LIFE_EVENT,
    EV_SWITCHED,
    LEFT_MARKET,
    LIFE_EVENT,
    OUT,
    SWITCHED,
)
from sim.measures import LEVERS, WIN_BACK, contract, win_back
from sim.measures.base import N_COLUMNS, P0
from sim.population import Customers
from sim.relationships import Log, begin, censor, close_relationships, loyalty_class, record, start_relationships

KEYS = np.array([rng.key(7)], dtype=np.uint64)
TRUST0 = np.array([0.3, 0.4])   # per segment
FIT_SD = np.array([0.1, 0.2])


def _customers(n: int) -> Customers:
    c = Customers(n)
    c.grow(n)
    col = c.cols
    col["customer"][:] = np.arange(n)
    col["firm"][:] = 0
    col["next_firm"][:] = 0
    col["left_firm"][:] = -1
    col["left_at"][:] = -1
    col["contract"][:] = -1
    col["contract_end"][:] = -1
    col["trust"][:] = 0.8
    col["clv"][:] = np.arange(n) * 10.0
    col["points"][:] = np.arange(n, dtype=np.float32)
    return c


def _firms(n_firms: int = 2, pays_fee=(0.0, 1.0), bonus=(0.0, 5.0)) -> kernel.Firms:
    one = np.ones(n_firms)
    return kernel.Firms(one * 10, one, one * 0.5, one * 0.5, one, np.array(bonus), np.array(pays_fee), one * 0,
                        np.ones((n_firms, 2)) * 10, np.zeros((n_firms, 2)))


def test_loyalty_class_is_the_longest_held_with_ties_to_the_first():
    assert loyalty_class(np.array([0, 0, 0, 0], dtype=np.int16)) == 0
    assert loyalty_class(np.array([1, 3, 3, 0], dtype=np.int16)) == 1
    assert loyalty_class(np.array([0, 0, 0, 1], dtype=np.int16)) == 3


def test_record_writes_nothing_for_no_rows_and_a_censored_relationship_paid_no_fee():
    c = _customers(3)
    c.cols["events"][:] = EV_EXIT_FEE_PAID | EV_CONTRACT_EXPIRED
    c.cols["class_periods"][2] = [0, 0, 5, 1]
    log = Log(8)
    view = log.reserve(3)
    assert record(view, 0, np.zeros(0, dtype=np.int64), 0, c.view(), 4, np.zeros(0, dtype=np.int8)) == 0
    at = record(view, 0, np.array([2, 0]), 2, c.view(), 4, np.array([CENSORED, SWITCHED], dtype=np.int8))
    assert at == 2
    assert view.customer[:2].tolist() == [2, 0] and view.end[:2].tolist() == [4, 4]
    assert view.reason[:2].tolist() == [CENSORED, SWITCHED] and view.loyalty_class[0] == BOTH
    assert view.clv[:2].tolist() == [20.0, 0.0]
    assert view.paid_exit_fee[:2].tolist() == [False, True] and view.at_expiry[:2].tolist() == [False, True]


def test_a_relationship_begins_with_no_history_and_touches_only_its_own_row():
    c = _customers(3)
    col = c.cols
    for name, value in (("commitment", 0.5), ("nostalgia", 0.2), ("lockin", 3.0), ("contract_end", 9), ("contract", 1),
                        ("points", 4.0), ("products", 2), ("spell", 1), ("left_firm", 1), ("left_at", 2), ("clv", 7.0),
                        ("class_periods", 3), ("trust", 0.6), ("satisfaction", 0.7)):
        col[name][:] = value
    begin(c.view(), 1)
    assert [col[k][1] for k in ("commitment", "nostalgia", "lockin", "points", "clv")] == [0.0] * 5
    assert [col[k][1] for k in ("contract_end", "contract", "left_firm", "left_at")] == [-1] * 4
    assert col["products"][1] == 0 and col["spell"][1] == 0 and (col["class_periods"][1] == 0).all()
    assert np.isclose(col["trust"][1], 0.6) and np.isclose(col["satisfaction"][1], 0.7)  # not part of a beginning
    assert col["clv"][[0, 2]].tolist() == [7.0, 7.0] and (col["class_periods"][[0, 2]] == 3).all()


def test_a_new_relationship_starts_afresh_and_its_fit_is_the_customers_own_whatever_the_row_order():
    c = _customers(4)
    col = c.cols
    col["segment"][:] = [0, 1, 0, 1]
    col["contract"][:] = 2
    col["class_periods"][:] = 3
    start_relationships(np.zeros(0, dtype=np.int64), 0, 5, np.zeros(0, dtype=np.int64), c.view(), TRUST0, FIT_SD, KEYS)
    assert (col["firm"] == 0).all() and (col["trust"] == np.float32(0.8)).all()  # nothing to start: nothing changed
    start_relationships(np.array([3, 1]), 2, 5, np.array([1, 0]), c.view(), TRUST0, FIT_SD, KEYS)
    fits = col["fit"].copy()
    assert col["firm"].tolist() == [0, 0, 0, 1] and col["rel_start"].tolist() == [0, 5, 0, 5]
    assert np.isclose(col["trust"][1], 0.4) and col["contract"][1] == -1 and col["clv"][1] == 0.0
    assert (col["class_periods"][1] == 0).all() and (col["class_periods"][0] == 3).all()
    other = _customers(4)
    other.cols["segment"][:] = [0, 1, 0, 1]
    start_relationships(np.array([1, 3]), 2, 5, np.array([0, 1]), other.view(), TRUST0, FIT_SD, KEYS)
    assert other.cols["fit"][[1, 3]].tolist() == fits[[1, 3]].tolist()  # drawn from (seed, customer, period) only


def test_closing_handles_every_way_a_relationship_ends_and_a_return_in_row_order():
    c = _customers(6)
    col = c.cols
    # row 0 stays; 1 switches to firm 1 (which pays her exit fee and a bonus); 2 leaves by choice; 3 meets a life
    # event; 4 was out and is won back by firm 0; 5 switches in the last period (no costs after the horizon)
    col["next_firm"][:] = [0, 1, OUT, OUT, 0, 1]
    col["firm"][4] = OUT
    col["events"][:] = [0, EV_SWITCHED, 0, EV_LIFE_EVENT, 0, EV_SWITCHED]
    col["contract"][1] = 0
    col["contract_end"][1] = 13  # 8 periods left after period 4
    col["spell"][4] = 2
    col["trust"][4] = 0.9
    mt = np.zeros((2, N_COLUMNS))
    mt[0, P0 + contract.TERM] = 12
    mt[0, P0 + contract.EXIT_FEE] = 24.0
    mt[0, P0 + contract.DECLINING] = 1.0
    mt[1, P0 + win_back.TRUST] = 0.05
    lever_row = np.full((len(LEVERS), 2), -1, dtype=np.int64)
    lever_row[WIN_BACK, 0] = 1
    costs, forfeited = np.zeros((1, 2)), np.zeros((1, 2))
    log = Log(8)
    view = log.reserve(6)
    at = close_relationships(4, 120, np.arange(5), 5, c.view(), view, 0, TRUST0, FIT_SD, KEYS, _firms(), mt, lever_row,
                             costs, forfeited)
    assert at == 3 and view.customer[:3].tolist() == [1, 2, 3]
    assert view.reason[:3].tolist() == [SWITCHED, LEFT_MARKET, LIFE_EVENT]
    assert col["firm"][:5].tolist() == [0, 1, OUT, OUT, 0]
    assert col["left_firm"][:4].tolist() == [-1, -1, 0, -1] and col["left_at"][2] == 4  # only a choice can be won back
    assert forfeited[0, 0] == 1.0 + 2.0 + 3.0 and col["points"][2] == 0.0
    fee = 24.0 * 8 / 12
    assert costs[0].tolist() == [0.0, 5.0 + fee] and col["clv"][1] == -(5.0 + fee) and col["rel_start"][1] == 5
    assert col["spell"][4] == 3 and col["rel_start"][4] == 5
    assert np.isclose(col["trust"][4], win_back.trust_on_return(0.9, 0.3, 0.05))
    # the last period: a switcher's new relationship would start at the horizon, so it costs nothing
    costs[:] = 0.0
    at = close_relationships(119, 120, np.array([5]), 1, c.view(), view, at, TRUST0, FIT_SD, KEYS, _firms(), mt, lever_row,
                             costs, forfeited)
    assert at == 4 and costs[0].tolist() == [0.0, 0.0] and col["clv"][5] == 0.0


def test_censoring_logs_the_running_relationships_only():
    c = _customers(4)
    c.cols["firm"][1] = OUT
    c.cols["rel_start"][3] = 6  # starts at the horizon: not a relationship of the run
    log = Log(4)
    view = log.reserve(4)
    assert censor(6, 4, c.view(), view, 0, CENSORED) == 2
    assert view.customer[:2].tolist() == [0, 2] and (view.end[:2] == 5).all() and (view.reason[:2] == CENSORED).all()
    assert censor(6, 0, c.view(), view, 0, CENSORED) == 0
