"""Attachment rules: exit fees while the contract runs, the attachment score, the 2x2 classes."""

import numpy as np

from sim.codes import ATTACHED_ONLY, BONDED_ONLY, BOTH, NEITHER, Event
from sim.mechanisms.attachment import attachment_score, classify, exit_fee_due, grow_lockin, switching_cost


def test_exit_fee_due_until_the_last_contract_period():
    assert [exit_fee_due(12, 100.0, t) for t in (0, 10)] == [100.0, 100.0]
    assert exit_fee_due(12, 100.0, 11) == 0.0  # leaving at the end of the last period is free
    assert exit_fee_due(-1, 100.0, 0) == 0.0


def test_attachment_score_and_no_alternative():
    assert attachment_score(0.0, 30.0, 3.0, False) == 0.0
    assert np.isclose(attachment_score(90.0, 30.0, 3.0, False), 1 - np.exp(-1))
    assert attachment_score(0.0, 30.0, 3.0, True) == 1.0
    assert switching_cost(100.0, 20.0, 5.0) == 125.0


def test_lockin_grows_to_cap():
    assert grow_lockin(90.0, 20.0, 100.0) == 100.0
    assert grow_lockin(10.0, 20.0, 100.0) == 30.0
    # lock-in from elsewhere (an ecosystem's products) above the cap is neither grown nor cut
    assert grow_lockin(150.0, 20.0, 100.0) == 150.0
    assert grow_lockin(35.0, 0.0, 0.0) == 35.0


def test_classification_two_by_two():
    got = [classify(b, a, 0.5, 0.5) for b, a in ((0.8, 0.1), (0.2, 0.9), (0.8, 0.9), (0.2, 0.1), (0.5, 0.5))]
    assert got == [BONDED_ONLY, ATTACHED_ONLY, BOTH, NEITHER, BOTH]  # thresholds are inclusive


def test_in_a_contracts_last_period_its_holders_are_free_to_go_and_renewers_are_attached_again():
    """The one-period spikes of 'neither' in the loyalty plot (docs/plots.md): in the last period of a
    contract the exit fee is no longer due, so in telecom (no other barrier) every holder has attachment
    0 and is 'neither' or 'bonded only', while every other customer is still attached; those who renew
    are attached again the next period, and the 'neither' share falls."""
    from sim.books import STAT
    from sim.model import RetentionModel

    m = RetentionModel("telecom", rng=0, **{"simulation.customers": 2000, "simulation.periods": 13})
    for _ in range(11):
        m.step()
    c = m.customers
    n = c.n
    focal = c.firm == 0
    last = focal & (c.contract_end == 12)  # signed at period 0 for 12 periods: period 11 is the last
    assert last.sum() > 300
    m.step()  # period 11
    loyalty, attachment = c.loyalty[:n], c.attachment[:n]
    assert (attachment[last] == 0).all()
    assert np.isin(loyalty[last], [NEITHER, BONDED_ONLY]).all()
    assert np.isin(loyalty[focal & ~last], [ATTACHED_ONLY, BOTH]).all()
    arrived = np.arange(c.n) >= n  # joined in period 11 and signed a contract
    assert np.isin(c.loyalty[arrived][c.firm[arrived] == 0], [ATTACHED_ONLY, BOTH]).all()
    renewed = last & ((c.events[:n] & Event.CONTRACT_RENEWED) != 0)
    assert renewed.sum() > 100
    m.step()  # period 12
    assert np.isin(c.loyalty[:n][renewed], [ATTACHED_ONLY, BOTH]).all() and (c.attachment[:n][renewed] >= 0.5).all()
    share = m.engine.books.ledger[:, 0, 0, STAT["share_neither"]]
    assert share[10] == 0 and share[11] > 0.2 and share[12] < share[11] / 2
