"""Accounting: discount factors and the closed-form expected CLV."""

import numpy as np

from sim.mechanisms.accounting import discount_factor, expected_clv


def test_expected_clv_closed_form_matches_series():
    m, r, d = 12.0, 0.95, 0.01
    series = sum(m * r**k / (1 + d) ** k for k in range(5000))
    assert np.isclose(expected_clv(m, r, d), series)
    assert np.isclose(expected_clv(m, r, d), m * (1 + d) / (1 + d - r))
    assert np.isclose(expected_clv(m, r, d, horizon=1), m)


def test_discount_factor():
    assert np.allclose(discount_factor(np.array([0, 1, 2]), 0.1), [1, 1 / 1.1, 1 / 1.21])
