"""Nostalgia campaigns (DIM-Nostalgie).

What we model, and why: the source says a campaign works "only if done right": authentic, not kitschy,
aimed at a target group with memories of the evoked time, and then it strengthens the bond and is
remembered long. So a reached customer of the evoked cohort gets a bond boost of level

    L = intensity * affinity * (authenticity - threshold) / (1 - threshold)   if authenticity >= threshold

and customers of other cohorts get nothing (mis-targeted money is spent for no effect). Below the
threshold the effect is zero by default; the source describes no backfire, so ``backfire`` (default 0)
is our extrapolation: ``L = -backfire * (threshold - authenticity) / threshold``. Exposure raises the
customer's boost to at least L (repetition does not stack beyond the campaign's level); afterwards the
boost decays at ``bonding.nostalgia_decay`` per period.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._jit import rule
from .._schema import Unit
from .base import Measure, MeasureParams, dose_cost

TYPE = "nostalgia"


class NostalgiaParams(MeasureParams):
    """A nostalgia campaign: bond boost for the matching cohort, scaled by authenticity."""

    type: Literal["nostalgia"]
    cohort: str = Field(..., description="Cohort the campaign evokes (e.g. '1980s').")
    authenticity: Unit = Field(0.8, description=(
        "How authentic, not kitschy, the campaign is (DIM-Nostalgie). Unit: [0,1]. [invented]"))
    authenticity_threshold: Unit = Field(0.5, description=(
        "Below this the campaign has no effect (DIM-Nostalgie). Unit: [0,1]. [invented]"))
    intensity: float = Field(0.3, ge=0, le=1, description=(
        "Bond boost for a fully affine, fully authentic match. Unit: bond/period. [invented]"))
    backfire: float = Field(0.0, ge=0, le=1, description=(
        "Bond lost per unit shortfall below the threshold; 0 because the source describes no backfire. Unit: bond. [invented]"))
    cost_per_customer: float | None = Field(None, ge=0, le=1e7, description=(
        "Cost per reached customer and period; unset: the cost model, list price * cost_share * (intensity / 0.3)^2 (a "
        "stronger campaign costs more than proportionally). Unit: money/period."))
    cost_share: float = Field(0.03, ge=0, le=10, description=(
        "Cost of a campaign of intensity 0.3 per reached customer and period, as a share of the firm's list price. Unit: "
        "fraction of price. [invented]"))


@rule
def boost_level(affinity, authenticity, threshold, intensity, backfire):
    """Bond boost level for a reached customer of the evoked cohort (see the module docstring)."""
    if authenticity >= threshold:
        gain = 1.0 if threshold >= 1.0 else (authenticity - threshold) / (1.0 - threshold)
        return intensity * affinity * gain
    return -backfire * (threshold - authenticity) / threshold


@rule
def exposed(current, level):
    """The boost after exposure: raised to at least a positive level, lowered to at most a negative one."""
    return max(current, level) if level >= 0.0 else min(current, level)


class Lever(Measure):
    """Campaign reaching the firm's targeted customers; only the evoked cohort responds."""

    def __init__(self, params, scenario, code):
        super().__init__(params, scenario, code)
        from ..population import cohort_names

        self.evoked = cohort_names(scenario).index(params.cohort)

    def kernel_params(self):
        p = self.params
        return (self.evoked, p.authenticity, p.authenticity_threshold, p.intensity, p.backfire)

    def per_customer_cost(self):
        p = self.params
        return p.cost_per_customer if p.cost_per_customer is not None else dose_cost(self.price, p.cost_share, p.intensity, 0.3)


Params = NostalgiaParams
