"""Loyalty programmes (DIM-B2B; DIM-LockIn; IBM; REVIERDIALOG): points per purchase, forfeited on
leaving, tiers, and rewards.

- A member earns ``earn_rate`` of the price she pays as points (kept as their money value) every
  period, redeems the share ``redemption_rate`` of her balance for rewards, and the share
  ``lapse_rate`` of it lapses unused.
- The balance is lost on leaving, so it is an economic switching barrier that grows with tenure
  (DIM-LockIn: customers want to keep accumulated benefits). When the programme ends, members keep
  their balance (neither earned nor lapsing any more), and it still holds them.
- Tiers: a balance at or above the thresholds puts the member in tier 1, 2, ...; falling back below a
  threshold is a tier cliff, felt as a loss (``tier_loss_penalty`` of experience). The balance tends to
  ``earn_rate * price / lapse_rate``, so at a steady price it only rises; it falls back when fewer points
  come in than lapse, i.e. when the price paid drops (a sale, a discount).
- Rewards bond only when they fit (DIM-B2B: rewards must fit transaction, duration and relationship
  quality; otherwise programmes "hardly achieve the hoped-for effect"): while her tier is >= 1, a
  member whose tenure is at least ``fit_tenure`` and whose satisfaction is at least ``fit_quality``
  gains ``reward_commitment`` of commitment per tier and period; a member it does not fit gains none.
- Cost: points cost the firm when they are redeemed (the rewards' value, attributed to the member who
  redeems them), not when they are earned; points that lapse or that a leaving member forfeits are
  never redeemed (breakage) and cost nothing. The books count points earned, redeemed and broken, so
  that earned = redeemed + breakage + the balances still held. Plus ``cost_per_member`` per period and
  the fixed cost.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .._jit import rule
from .._schema import Probability, Unit
from .base import Measure, MeasureParams

TYPE = "loyalty_programme"


class LoyaltyProgrammeParams(MeasureParams):
    """A points programme with tiers."""

    type: Literal["loyalty_programme"]
    earn_rate: Probability = Field(0.03, description=(
        "Points earned per money spent, as money value (a 3 % rebate). Unit: fraction. [invented]"))
    lapse_rate: Probability = Field(0.02, description=(
        "Share of the balance that lapses unused each period (breakage). Unit: 1/period. [invented]"))
    redemption_rate: Probability = Field(0.08, description=(
        "Share of the balance a member redeems for rewards each period; the redeemed value is the programme's cost. Unit: "
        "1/period. [invented: with the default lapse, about 80 % of points are redeemed, 20 % break]"))
    tier_thresholds: list[float] = Field(default_factory=lambda: [20.0, 60.0], max_length=4, description=(
        "Balances that reach tier 1, 2, ... (ascending). Unit: money. [invented]"))
    tier_loss_penalty: Unit = Field(0.1, description=(
        "Experience lost in the period a member falls below a tier threshold (a tier cliff). Unit: [0,1]. [invented]"))
    reward_commitment: Unit = Field(0.01, description=(
        "Commitment gained per tier and period by a member the rewards fit. Unit: commitment/period. [invented]"))
    fit_tenure: int = Field(6, ge=0, le=1200, description=(
        "Tenure from which rewards fit the relationship. Unit: periods. [invented]"))
    fit_quality: Unit = Field(0.5, description="Satisfaction from which rewards fit the relationship. Unit: [0,1]. [invented]")
    cost_per_member: float = Field(0.3, ge=0, le=1e7, description=(
        "Running cost per member (cards, statements, service). Unit: money/period. [invented]"))

    @model_validator(mode="after")
    def _ascending(self) -> LoyaltyProgrammeParams:
        if self.lapse_rate + self.redemption_rate > 1.0:
            raise ValueError(f"lapse_rate + redemption_rate must not exceed 1 (got {self.lapse_rate + self.redemption_rate:g})")
        t = self.tier_thresholds
        if any(b <= a for a, b in zip(t, t[1:])) or any(x <= 0 for x in t):
            raise ValueError(f"tier_thresholds must be positive and ascending (got {t})")
        return self


# positions of the lever's numbers after base.P0
EARN, LAPSE, LOSS_PENALTY, REWARD, FIT_TENURE, FIT_QUALITY, REDEEM, N_TIERS, TIER0 = range(9)
MAX_TIERS = 4


@rule
def points_period(balance, price, earn_rate, lapse_rate, redemption_rate):
    """A member's period: she redeems ``redemption_rate`` of her balance, ``lapse_rate`` of it lapses,
    and she earns ``earn_rate * price``. Returns ``(new balance, redeemed, lapsed, earned)``."""
    redeemed = redemption_rate * balance
    lapsed = lapse_rate * balance
    earned = earn_rate * price
    return balance - redeemed - lapsed + earned, redeemed, lapsed, earned


@rule
def tier(balance, t0, t1, t2, t3, n):
    """The tier of a balance: the number of the first ``n`` thresholds it reaches."""
    k = 0
    if n > 0 and balance >= t0:
        k = 1
    if n > 1 and balance >= t1:
        k = 2
    if n > 2 and balance >= t2:
        k = 3
    if n > 3 and balance >= t3:
        k = 4
    return k


@rule
def reward_fits(tenure, satisfaction, fit_tenure, fit_quality):
    """A reward bonds only a member whose relationship it fits: long and good enough."""
    return tenure >= fit_tenure and satisfaction >= fit_quality


class Lever(Measure):
    """Members are the firm's reached customers while the programme runs."""

    def kernel_params(self):
        p = self.params
        t = list(p.tier_thresholds) + [1e300] * (MAX_TIERS - len(p.tier_thresholds))
        return (p.earn_rate, p.lapse_rate, p.tier_loss_penalty, p.reward_commitment, p.fit_tenure, p.fit_quality,
                p.redemption_rate, len(p.tier_thresholds), *t)

    def per_customer_cost(self):
        return self.params.cost_per_member


Params = LoyaltyProgrammeParams
