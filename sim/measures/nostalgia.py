"""Nostalgia campaigns (000:811-926).

What we model, and why: the seeds say a campaign works "only if done right" (000:892): authentic,
not kitschy (000:813, 904), aimed at a target group with memories of the evoked time (000:896) and
then it strengthens binding and is remembered long (000:924). So a reached customer of the evoked
cohort gets a bond boost of level

    L = intensity * affinity * (authenticity - threshold) / (1 - threshold)   if authenticity >= threshold

and customers of other cohorts get nothing (mis-targeted money is spent for no effect). Below the
threshold the effect is zero by default; the seeds describe no backfire, so ``backfire`` (default 0)
is our extrapolation: ``L = -backfire * (threshold - authenticity) / threshold``. Exposure raises the
customer's boost to at least L (repetition does not stack beyond the campaign's level); afterwards
the boost decays at ``bonding.nostalgia_decay`` per period.
"""

from __future__ import annotations

import numpy as np

from .base import Measure


def boost_level(affinity: np.ndarray, authenticity: float, threshold: float, intensity: float, backfire: float) -> np.ndarray:
    """Bond boost level for matched customers (see module docstring)."""
    if authenticity >= threshold:
        gain = 1.0 if threshold >= 1.0 else (authenticity - threshold) / (1.0 - threshold)
        return (intensity * affinity * gain).astype(np.float32)
    return np.full_like(affinity, -backfire * (threshold - authenticity) / threshold)


class Nostalgia(Measure):
    """Campaign reaching the firm's targeted customers; only the evoked cohort responds."""

    def __init__(self, params, scenario):
        super().__init__(params, scenario)
        from ..population import cohort_names

        self.evoked = cohort_names(scenario).index(params.cohort)

    def act(self, model, period):
        if not self.is_active(period):
            return None
        reached = self.reach(model)
        c = model.customers
        idx = np.flatnonzero(reached & (c.cohort == self.evoked))
        p = self.params
        level = boost_level(c.affinity[idx], p.authenticity, p.authenticity_threshold, p.intensity, p.backfire)
        current = c.nostalgia[idx]
        c.nostalgia[idx] = np.where(level >= 0, np.maximum(current, level), np.minimum(current, level))
        return reached

    def per_customer_cost(self):
        return self.params.cost_per_customer
