"""All money in one place: margin, discounts, measure and acquisition costs, renewals, exit fees, the
booking of customer lifetime value (CLV) and the firms' books.

Timing convention: margin is booked at the *start* of every period in which a customer is active
(period 0 of the relationship included), leaving happens at the *end* of a period, and the discount
rate ``d`` is per period. The CLV of a relationship is the sum over its periods k = 0, 1, ... of
``(margin_k - attributed costs_k + exit fee_k) / (1 + d)^k``, minus its acquisition cost. With constant
survival probability r and margin m, E[CLV] = sum_k m r^k / (1+d)^k = m (1 + d) / (1 + d - r).

Costs a customer causes (serving her, a measure reaching her, her contract being signed or renewed,
her acquisition) are attributed to her relationship's CLV; a measure's fixed cost is not. So with
d = 0, summed CLV equals the firms' profit plus their fixed costs, exactly (a tested identity).
"""

from __future__ import annotations

import numpy as np

from ._jit import rule
from .codes import LOYALTY_CLASSES

# per-firm sums the compiled customers' pass returns for each period (per replication and firm)
SUMS = (
    "active", "cohort_active", "revenue", "list_revenue", "serving_costs", "measure_costs", "exit_fees",
    "switched_in", "switched_out", "left_market", "life_event", "renewals", "contracts_signed",
    "contracts_expiring", "churned_at_expiry", "satisfaction", "bond", "attachment",
    *(f"class_{k}" for k in LOYALTY_CLASSES), "complaints", "promoters", "detractors", "won_back", "unattributed_costs",
    "fee_payers", "points_earned", "points_redeemed", "points_breakage",
)
(S_ACTIVE, S_COHORT, S_REVENUE, S_LIST_REVENUE, S_SERVING, S_MEASURE_COSTS, S_EXIT_FEES, S_SWITCHED_IN,
 S_SWITCHED_OUT, S_LEFT_MARKET, S_LIFE_EVENT, S_RENEWALS, S_SIGNED, S_EXPIRING, S_CHURNED_AT_EXPIRY, S_SATISFACTION,
 S_BOND, S_ATTACHMENT, S_CLASS0, S_CLASS1, S_CLASS2, S_CLASS3, S_COMPLAINTS, S_PROMOTERS, S_DETRACTORS, S_WON_BACK,
 S_UNATTRIBUTED, S_FEE_PAYERS, S_POINTS_EARNED, S_POINTS_REDEEMED, S_POINTS_BREAKAGE) = range(len(SUMS))

# what the per-period table reports for each firm (one row per period and firm)
FIRM_STATS = (
    "active", "cohort_active", "acquired", "referred", "won_back", "switched_in", "switched_out", "left_market",
    "life_event", "churned", "left_paying_fee", "renewals", "contracts_signed", "contracts_expiring", "churned_at_expiry",
    "complaints", "revenue", "discounts", "exit_fees", "serving_costs", "measure_costs", "fixed_costs", "acquisition_costs",
    "profit", "points_earned", "points_redeemed", "points_breakage",
    "mean_satisfaction", "mean_bond", "mean_attachment", *(f"share_{k}" for k in LOYALTY_CLASSES), "nps",
)
(F_ACTIVE, F_COHORT, F_ACQUIRED, F_REFERRED, F_WON_BACK, F_SWITCHED_IN, F_SWITCHED_OUT, F_LEFT_MARKET, F_LIFE_EVENT,
 F_CHURNED, F_FEE_PAYERS, F_RENEWALS, F_SIGNED, F_EXPIRING, F_CHURNED_AT_EXPIRY, F_COMPLAINTS, F_REVENUE, F_DISCOUNTS,
 F_EXIT_FEES, F_SERVING, F_MEASURE_COSTS, F_FIXED_COSTS, F_ACQUISITION_COSTS, F_PROFIT, F_POINTS_EARNED, F_POINTS_REDEEMED,
 F_POINTS_BREAKAGE, F_SATISFACTION, F_BOND, F_ATTACHMENT, F_SHARE0, F_SHARE1, F_SHARE2, F_SHARE3, F_NPS) = range(len(FIRM_STATS))
COUNTS = ("active", "cohort_active", "acquired", "referred", "won_back", "switched_in", "switched_out", "left_market",
          "life_event", "churned", "left_paying_fee", "renewals", "contracts_signed", "contracts_expiring", "churned_at_expiry",
          "complaints")
MONEY = ("revenue", "discounts", "exit_fees", "serving_costs", "measure_costs", "fixed_costs", "acquisition_costs", "profit",
         "points_earned", "points_redeemed", "points_breakage")
STAT = {name: k for k, name in enumerate(FIRM_STATS)}


@rule
def margin(price_paid, unit_cost, attributed_cost):
    """Margin of one active customer-period: price paid minus the cost to serve her minus the cost of
    the measures that reached her."""
    return price_paid - unit_cost - attributed_cost


def discount_factors(periods: int, rate: float) -> np.ndarray:
    """``(1 + rate) ** -k`` for relationship ages k = 0 .. periods."""
    return np.power(1.0 + rate, -np.arange(periods + 1, dtype=np.float64))


def expected_clv(margin: float, survival: float, rate: float, horizon: int | None = None) -> float:
    """Closed form E[CLV] = m * sum_{k<T} (r/(1+d))^k; ``horizon=None`` gives m (1+d) / (1+d-r)."""
    q = survival / (1.0 + rate)
    if horizon is None:
        return margin / (1.0 - q)
    return margin * (1.0 - q**horizon) / (1.0 - q)


class Books:
    """The firms' books: one row of :data:`FIRM_STATS` per period, replication and firm.

    ``ledger[t, r, f, k]`` is statistic k of firm f in replication r in period t.
    """

    def __init__(self, periods: int, replications: int, firms: int):
        self.ledger = np.zeros((periods, replications, firms, len(FIRM_STATS)))

    def acquire(self, period: int, counts: np.ndarray, cost_per_acquisition: np.ndarray, referred: np.ndarray | None = None,
                referral_reward: np.ndarray | None = None) -> None:
        """New customers joining in ``period`` (counts per replication and firm, and how many of them
        were referred by promoters) and what they cost."""
        row = self.ledger[period]
        row[:, :, STAT["acquired"]] = counts
        row[:, :, STAT["acquisition_costs"]] = counts * cost_per_acquisition[None, :]
        if referred is not None:
            row[:, :, STAT["acquired"]] += referred
            row[:, :, STAT["referred"]] = referred
            row[:, :, STAT["acquisition_costs"]] += referred * referral_reward[None, :]

    def close(self, period: int, sums: np.ndarray, fixed_costs: np.ndarray) -> None:
        """Enter the period's figures from the customers' pass (``sums[r, f, :]`` by :data:`SUMS`) and
        the measures' fixed costs per firm, and derive churn, profit, means and class shares."""
        close_period(self.ledger[period], sums, fixed_costs)


@rule
def close_period(row, s, fixed_costs):
    """One period's books (``row[r, f, :]`` by :data:`FIRM_STATS`) from the customers' sums: flows and
    money as summed; discounts = list-price revenue - revenue; churned = switched out + left the market
    + life events; fixed costs = the measures' fixed costs + costs no customer carries (win-back
    contacts); profit = revenue + exit fees - serving costs - measure costs - fixed costs - acquisition
    costs (the acquisition costs were entered when the customers joined; loyalty points cost what is
    redeemed, inside the measure costs, and their earning and breakage are counted, not costed); means,
    class shares and the
    NPS (% promoters - % detractors) over the firm's active customers (NaN, i.e. undefined, for a firm
    without customers)."""
    for r in range(s.shape[0]):
        for f in range(s.shape[1]):
            x = s[r, f]
            out = row[r, f]
            out[F_ACTIVE] = x[S_ACTIVE]
            out[F_COHORT] = x[S_COHORT]
            out[F_SWITCHED_IN] = x[S_SWITCHED_IN]
            out[F_SWITCHED_OUT] = x[S_SWITCHED_OUT]
            out[F_LEFT_MARKET] = x[S_LEFT_MARKET]
            out[F_LIFE_EVENT] = x[S_LIFE_EVENT]
            out[F_CHURNED] = x[S_SWITCHED_OUT] + x[S_LEFT_MARKET] + x[S_LIFE_EVENT]
            out[F_FEE_PAYERS] = x[S_FEE_PAYERS]
            out[F_POINTS_EARNED] = x[S_POINTS_EARNED]
            out[F_POINTS_REDEEMED] = x[S_POINTS_REDEEMED]
            out[F_POINTS_BREAKAGE] = x[S_POINTS_BREAKAGE]
            out[F_WON_BACK] = x[S_WON_BACK]
            out[F_COMPLAINTS] = x[S_COMPLAINTS]
            out[F_RENEWALS] = x[S_RENEWALS]
            out[F_SIGNED] = x[S_SIGNED]
            out[F_EXPIRING] = x[S_EXPIRING]
            out[F_CHURNED_AT_EXPIRY] = x[S_CHURNED_AT_EXPIRY]
            out[F_REVENUE] = x[S_REVENUE]
            out[F_DISCOUNTS] = x[S_LIST_REVENUE] - x[S_REVENUE]
            out[F_EXIT_FEES] = x[S_EXIT_FEES]
            out[F_SERVING] = x[S_SERVING]
            out[F_MEASURE_COSTS] = x[S_MEASURE_COSTS]
            out[F_FIXED_COSTS] = fixed_costs[f] + x[S_UNATTRIBUTED]
            out[F_PROFIT] = (x[S_REVENUE] + x[S_EXIT_FEES] - x[S_SERVING] - x[S_MEASURE_COSTS] - out[F_FIXED_COSTS]
                             - out[F_ACQUISITION_COSTS])
            n = x[S_ACTIVE]
            undefined = n <= 0.0
            out[F_SATISFACTION] = np.nan if undefined else x[S_SATISFACTION] / n
            out[F_BOND] = np.nan if undefined else x[S_BOND] / n
            out[F_ATTACHMENT] = np.nan if undefined else x[S_ATTACHMENT] / n
            for k in range(4):
                out[F_SHARE0 + k] = np.nan if undefined else x[S_CLASS0 + k] / n
            out[F_NPS] = np.nan if undefined else 100.0 * (x[S_PROMOTERS] - x[S_DETRACTORS]) / n
