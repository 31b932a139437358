"""B2B account rules: a buying centre's majority, purchase cycles, contact turnover."""

import numpy as np
import pytest
from scipy import stats

from sim.mechanisms.accounts import contact_changes, decision_point, majority_considers, personal_part_lost, trust_after_change
from sim.mechanisms.experience import post_purchase_doubt


@pytest.mark.parametrize("people", [1, 2, 3, 4, 5, 9])
def test_majority_is_the_binomial_tail(people):
    for p in (0.0, 0.05, 0.3, 0.5, 0.9, 1.0):
        assert np.isclose(majority_considers(p, people), stats.binom.sf(people // 2, people, p))


def test_decisions_come_at_the_end_of_each_cycle():
    assert [t for t in range(13) if decision_point(t, 4)] == [3, 7, 11]
    assert all(decision_point(t, 1) for t in range(5))


def test_contact_change_loses_the_personal_part_less_the_handover():
    assert contact_changes(0.01, 0.05) and not contact_changes(0.05, 0.05)
    assert personal_part_lost(0.5, 0.0) == 0.5 and personal_part_lost(0.5, 0.6) == pytest.approx(0.2)
    assert trust_after_change(0.8, 0.3, 0.5) == pytest.approx(0.55)
    assert trust_after_change(0.2, 0.3, 0.5) == 0.2  # below the starting level nothing more is lost


def test_post_purchase_doubt_grows_with_price_and_is_reassured_away():
    cheap, dear = post_purchase_doubt(30.0, 0.15, 100.0, 1, 3, 0.0), post_purchase_doubt(300.0, 0.15, 100.0, 1, 3, 0.0)
    assert 0 < cheap < dear < 0.15
    assert post_purchase_doubt(300.0, 0.15, 100.0, 1, 3, 0.7) == pytest.approx(0.3 * dear)
    assert post_purchase_doubt(300.0, 0.15, 100.0, 0, 3, 0.0) == 0.0 and post_purchase_doubt(300.0, 0.15, 100.0, 4, 3, 0.0) == 0.0
