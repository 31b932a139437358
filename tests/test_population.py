"""Customer column store: growth keeps data, augmented assignment writes into the column."""

import numpy as np

from sim.population import Customers


def test_grow_keeps_rows_and_extends_capacity():
    c = Customers(capacity=4)
    rows = c.grow(3)
    c.cols["satisfaction"][rows] = [0.1, 0.2, 0.3]
    c.grow(10)
    assert c.n == 13 and c.capacity >= 13
    assert np.allclose(c.satisfaction[:3], [0.1, 0.2, 0.3]) and (c.satisfaction[3:] == 0).all()
    assert c.cols["class_periods"].shape == (c.capacity, 4)


def test_augmented_assignment_writes_into_the_column():
    c = Customers(capacity=8)
    c.grow(4)
    c.tenure += np.array([True, False, True, True])
    c.grow(4)  # reallocates; a stale view would show up here
    assert c.tenure.tolist() == [1, 0, 1, 1, 0, 0, 0, 0]
    assert "tenure" not in c.__dict__


def test_state_bytes_per_customer_within_budget():
    assert Customers(capacity=1).state_bytes() <= 200
