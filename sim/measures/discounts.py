"""Discounts (000:509, 003:83-85, 004:49-56): lower the price paid now, which costs margin, and drag
the customer's reference price down, so that constant discounts create false expectations and their
withdrawal feels like a price rise. The foregone revenue is reported as ``discounts``; it is not a
separate cost because revenue is booked at the price actually paid."""

from __future__ import annotations

import numpy as np

from .base import Measure


class Discount(Measure):
    """Reached customers pay ``list price * (1 - rate)`` this period."""

    order = 20

    def act(self, model, period):
        if not self.is_active(period):
            return None
        reached = self.reach(model)
        paid = model.customers.price_paid
        paid[reached] = (paid[reached] * (1.0 - self.params.rate)).astype(np.float32)
        return reached
