"""Attachment rules: exit fees while the contract runs, the attachment score, the 2x2 classes."""

import numpy as np

from sim.codes import ATTACHED_ONLY, BONDED_ONLY, BOTH, NEITHER, Event
from sim.mechanisms.attachment import attachment_score, classify, exit_fee_due, grow_lockin, switching_cost


def test_a_flat_exit_fee_is_due_until_the_last_contract_period():
    assert [exit_fee_due(12, 100.0, t, 12, False) for t in (0, 10)] == [100.0, 100.0]
    assert exit_fee_due(12, 100.0, 11, 12, False) == 0.0  # leaving at the end of the last period is free
    assert exit_fee_due(-1, 100.0, 0, 12, False) == 0.0


def test_a_declining_exit_fee_is_the_share_of_the_term_still_to_run():
    """Signed at 0 for 12 periods (contract_end 12): leaving after period t leaves 11 - t periods."""
    assert [exit_fee_due(12, 120.0, t, 12, True) for t in (0, 5, 10, 11)] == [110.0, 60.0, 10.0, 0.0]
    assert exit_fee_due(40, 120.0, 0, 12, True) == 120.0  # never more than the fee


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
    """The spikes of 'neither' in the loyalty plot (docs/plots.md): the declining exit fee holds less and
    less as the contract runs out, and in its last period it is no longer due, so in telecom (no other
    barrier) every holder has attachment 0 and is 'neither' or 'bonded only', while customers in the
    middle of a two-year contract are still attached; those who renew are attached again the next
    period, and the 'neither' share falls."""
    from sim.books import STAT
    from sim.model import RetentionModel

    m = RetentionModel("telecom", rng=0, **{"simulation.customers": 2000, "simulation.periods": 13})
    for _ in range(11):
        m.step()
    c = m.customers
    n = c.n
    focal = c.firm == 0
    last = focal & (c.contract_end == 12)  # signed at period 0 for 12 periods: period 11 is the last
    two_year = focal & (c.contract_end == 24)
    assert last.sum() > 300 and two_year.sum() > 300
    m.step()  # period 11
    loyalty, attachment = c.loyalty[:n], c.attachment[:n]
    assert (attachment[last] == 0).all()
    assert np.isin(loyalty[last], [NEITHER, BONDED_ONLY]).all()
    assert np.isin(loyalty[two_year], [ATTACHED_ONLY, BOTH]).all()
    renewed = last & ((c.events[:n] & Event.CONTRACT_RENEWED) != 0)
    assert renewed.sum() > 100
    m.step()  # period 12
    assert np.isin(c.loyalty[:n][renewed], [ATTACHED_ONLY, BOTH]).all() and (c.attachment[:n][renewed] >= 0.5).all()
    share = m.engine.books.ledger[:, 0, 0, STAT["share_neither"]]
    assert share[5] < share[10] and share[12] < share[11] / 2
