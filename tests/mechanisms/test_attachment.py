"""Attachment mechanism: exit fees while the contract runs, the attachment score, the 2x2 classes."""

import numpy as np

from sim.mechanisms.attachment import ATTACHED_ONLY, BONDED_ONLY, BOTH, NEITHER, attachment_score, classify, exit_fee_due, grow_lockin


def test_exit_fee_due_until_the_last_contract_period():
    end = np.array([12, 12, 12, -1])
    fee = np.array([100.0, 100.0, 100.0, 100.0])
    assert exit_fee_due(end, fee, 10).tolist() == [100.0] * 3 + [0.0]
    assert exit_fee_due(end, fee, 11).tolist() == [0.0] * 4  # leaving at the end of the last period is free


def test_attachment_score_and_no_alternative():
    a = attachment_score(np.array([0.0, 90.0, 0.0]), np.array([30.0, 30.0, 30.0]), 3.0, np.array([False, False, True]))
    assert np.allclose(a, [0.0, 1 - np.exp(-1), 1.0])


def test_lockin_grows_to_cap():
    assert grow_lockin(np.array([90.0]), np.array([20.0]), np.array([100.0]))[0] == 100.0


def test_classification_two_by_two():
    codes = classify(np.array([0.8, 0.2, 0.8, 0.2]), np.array([0.1, 0.9, 0.9, 0.1]), 0.5, 0.5)
    assert codes.tolist() == [BONDED_ONLY, ATTACHED_ONLY, BOTH, NEITHER]
