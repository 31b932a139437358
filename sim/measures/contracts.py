"""Contracts (000:316-318, 000:101, 003:44-46): a minimum term with an exit fee.

- New customers of the firm (tenure 0) who are reached while the measure runs sign a contract that
  ends ``term`` periods later (they are under contract in periods ``start .. start + term - 1``).
- Leaving before the last contract period costs the exit fee (see ``attachment.exit_fee_due``).
- In its last period a contract *expires*: the customer re-shops with high probability
  (``choice.expiry_consideration``); a customer who stays renews with ``renewal_prob`` while the
  measure runs, otherwise continues without a contract.
- Being held by a contract feels forced and lowers each period's experience by ``forced_penalty``
  (satisfaction is below average in such constructs, 000:318; 003:35).
"""

from __future__ import annotations

import numpy as np

from .base import Measure


class Contract(Measure):
    """Sign, hold and renew minimum-term contracts for the firm's reached customers."""

    def act(self, model, period):
        c = model.customers
        mine = (c.firm == self.firm) & (c.contract_end > period)
        model.penalty[mine] += self.params.forced_penalty
        if not self.is_active(period):
            return None
        signing = self.reach(model) & (c.tenure == 0) & (c.contract_end <= period)
        self._sign(model, signing, period)
        model.trace(period, signing, "contract_signed", f"{self.params.term} periods")
        return signing

    def _sign(self, model, mask: np.ndarray, start: int) -> None:
        c = model.customers
        c.contract_end[mask] = start + self.params.term
        c.exit_fee[mask] = self.params.exit_fee

    def settle(self, model, period: int, stayed: np.ndarray) -> np.ndarray:
        """End of period: contracts in their last period expire; stayers may renew. Returns the renewal mask."""
        c = model.customers
        expiring = stayed & (c.firm == self.firm) & (c.contract_end == period + 1)
        renew = np.zeros_like(expiring)
        if not expiring.any():
            return renew
        if self.is_active(period):
            idx = np.flatnonzero(expiring & self.reach(model))
            renew[idx[model.rng_measures.random(idx.size) < self.params.renewal_prob]] = True
        self._sign(model, renew, period + 1)
        c.contract_end[expiring & ~renew] = -1
        c.exit_fee[expiring & ~renew] = 0.0
        model.trace(period, expiring & ~renew, "contract_expired")
        model.trace(period, renew, "contract_renewed")
        return renew

    def per_customer_cost(self):
        return self.params.cost_per_contract
