"""Price changes: a firm's list price times ``factor`` while the measure runs (000:93; 003:53)."""

from __future__ import annotations

from .base import Measure


class PriceChange(Measure):
    """Multiply the firm's list price while active. Acts on the firm, so its target is ignored."""

    order = 10

    def act(self, model, period):
        if not self.is_active(period):
            return None
        model.list_price[self.firm] *= self.params.factor
        return model.customers.firm == self.firm
