"""Contracts (DIM-Kommunikation, DIM-B2B, REVIERDIALOG): a minimum term with an exit fee.

- New customers of the firm (in the first period of their relationship) who are reached while the
  measure runs sign a contract that ends ``term`` periods later (they are under contract in periods
  ``start .. start + term - 1``).
- Leaving before the last contract period costs the exit fee (see ``attachment.exit_fee_due``): by
  default it declines with the months left (``exit_fee * months left / term``, as a pro-rated
  early-termination charge does), or stays ``flat`` whatever is left. The fee is paid to the firm
  (booked as exit-fee revenue). A customer who leaves for a life event (moving abroad, death,
  closing a business) pays it only if ``life_event_fee`` is set: such customers are commonly
  released from the contract.
- In its last period a contract *expires*: the customer re-shops with high probability
  (``choice.expiry_consideration``); a customer who stays renews with ``renewal_prob`` while the
  measure runs and still targets her, otherwise continues without a contract.
- Being held by a contract feels forced and lowers each period's experience by ``forced_penalty``
  (satisfaction is below average in such constructs: DIM-B2B; REVIERDIALOG).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._jit import rule
from .._schema import Probability
from .base import Measure, MeasureParams

TYPE = "contract"


class ContractParams(MeasureParams):
    """Minimum-term contracts with an exit fee."""

    type: Literal["contract"]
    term: int = Field(12, ge=1, le=1200, description=(
        "Minimum term. Unit: periods. [sourced: DIM-Kommunikation, one-year contracts]"))
    exit_fee: float = Field(100.0, ge=0, le=1e9, description=(
        "Early-termination fee, charged if the customer leaves before expiry: in full right after signing, declining with the "
        "months left unless fee_schedule is flat. Unit: money. [invented]"))
    fee_schedule: Literal["declining", "flat"] = Field("declining", description=(
        "declining: the fee owed is exit_fee * periods left / term (pro-rated); flat: exit_fee whatever is left. [invented; "
        "pro-rated charges are the common form]"))
    life_event_fee: bool = Field(False, description=(
        "Whether a customer who leaves for a life event (background churn) pays the exit fee; by default such customers are "
        "released. [invented]"))
    renewal_prob: Probability = Field(0.7, description=(
        "Probability that a customer who stays at expiry signs again. Unit: probability. [invented]"))
    forced_penalty: float = Field(0.05, ge=0, le=1, description=(
        "Experience lost per period under contract: forced binding lowers satisfaction (DIM-B2B). Unit: [0,1]. [invented]"))
    cost_per_contract: float = Field(5.0, ge=0, le=1e7, description=(
        "Cost of signing or renewing one contract. Unit: money/contract. [invented]"))


# positions of the lever's numbers in its measures-table row (after base.P0)
TERM, EXIT_FEE, RENEWAL_PROB, FORCED_PENALTY, LIFE_EVENT_FEE, DECLINING = range(6)


@rule
def can_sign(tenure, contract_end, period):
    """A customer signs in the first period of a relationship, if not already under contract."""
    return tenure == 0 and contract_end <= period


@rule
def expires(contract_end, period):
    """The contract's last period is this one (it ends when the period ends)."""
    return contract_end == period + 1


@rule
def renews(u, renewal_prob):
    """A staying customer whose contract expires signs again iff ``u < renewal_prob``."""
    return u < renewal_prob


@rule
def fee_charged(fee_due, life_event, life_event_fee):
    """The exit fee a leaver pays: the fee due, except for a life-event leaver when those are released."""
    return 0.0 if life_event and not life_event_fee else fee_due


class Lever(Measure):
    """Sign, hold and renew minimum-term contracts for the firm's reached customers."""

    new_customers_only = True  # only a relationship's first period can sign (renewal is the pass's step 8)

    def kernel_params(self):
        p = self.params
        return (p.term, p.exit_fee, p.renewal_prob, p.forced_penalty, float(p.life_event_fee),
                float(p.fee_schedule == "declining"))

    def event_cost(self):
        return self.params.cost_per_contract

    def expected_events(self, joining):
        """Contracts signed and renewed while the measure runs: every reached customer who starts a
        relationship signs; one signed in active period k expires in period k + term - 1 and, while the
        measure still runs then, renews with ``renewal_prob`` (and so on for each later expiry)."""
        p = self.params
        periods = len(joining)
        events = 0.0
        for k, signed in enumerate(joining):
            events += signed
            held, expiry = float(signed), k + p.term - 1
            while expiry < periods:
                held *= p.renewal_prob
                events += held
                expiry += p.term
        return events


Params = ContractParams
