"""Attachment rules: exit fees while the contract runs, the attachment score, the 2x2 classes."""

import numpy as np

from sim.codes import ATTACHED_ONLY, BONDED_ONLY, BOTH, NEITHER
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
