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
        if not self.is_active(period):
            return None
        new = model.new_rows  # only relationships in their first period can sign
        new = new[self.reach(model, new) & (c.contract_end[new] <= period)]
        self._sign(model, new, period)
        signing = np.zeros(c.n, dtype=bool)
        signing[new] = True
        model.trace(period, new, "contract_signed", f"{self.params.term} periods")
        return signing

    def _sign(self, model, rows: np.ndarray, start: int) -> None:
        c = model.customers
        c.contract_end[rows] = start + self.params.term
        c.exit_fee[rows] = self.params.exit_fee
        c.forced[rows] = self.params.forced_penalty

    def settle(self, model, period: int, stayed: np.ndarray) -> np.ndarray:
        """End of period: contracts in their last period expire; stayers may renew. Returns renewing rows."""
        c = model.customers
        expiring = np.flatnonzero(stayed & (c.contract_end == period + 1))
        expiring = expiring[c.firm[expiring] == self.firm]
        renew = expiring[:0]
        if self.is_active(period) and expiring.size:
            reachable = expiring[self.reach(model, expiring)]
            renew = reachable[model.rng_measures.random(reachable.size) < self.params.renewal_prob]
        lapsed = np.setdiff1d(expiring, renew, assume_unique=True)
        self._sign(model, renew, period + 1)
        c.contract_end[lapsed] = -1
        c.exit_fee[lapsed] = 0.0
        c.forced[lapsed] = 0.0
        model.trace(period, lapsed, "contract_expired")
        model.trace(period, renew, "contract_renewed")
        return renew

    def per_customer_cost(self):
        return self.params.cost_per_contract
