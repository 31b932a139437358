"""Service investment (000:446, 000:612, 003:63-69): better service quality (fewer incidents, better
experiences) and better complaint handling for reached customers, at a cost per customer and period."""

from __future__ import annotations

from .base import Measure


class Service(Measure):
    """Raise quality and complaint handling of reached customers this period (each capped at 1)."""

    def act(self, model, period):
        if not self.is_active(period):
            return None
        reached = self.reach(model)
        model.quality[reached] = (model.quality[reached] + self.params.quality_boost).clip(max=1.0)
        model.handling[reached] = (model.handling[reached] + self.params.handling_boost).clip(max=1.0)
        return reached

    def per_customer_cost(self):
        return self.params.cost_per_customer
