"""Proactive retention (DIM-KI: churn prediction lets firms act before customers leave).

Each period the firm scores its customers' churn risk with a model of quality ``prediction_quality``
(0 = noise, 1 = perfect): the predicted probability of looking around is
``Phi(q * Phi^-1(p) + sqrt(1 - q^2) * e)``, with p the customer's true probability and e her own
standard-normal noise. It then contacts, with probability ``coverage`` (capacity, consent), the
customers it targets:

- ``targeting = "risk"``: predicted risk at least ``risk_threshold``;
- ``targeting = "uplift"``: predicted uplift positive, i.e. predicted risk * save > backfire (those the
  contact should help more than it harms).

A contact cuts the probability of looking around to ``(1 - save) * p + backfire``: it keeps some
at-risk customers, and it reminds content ones that they could leave. The backfire is documented in a
field experiment (Ascarza, Iyengar and Schleicher 2016, Journal of Marketing Research): churn among
contacted customers rose from 6 % to 10 %. The default of 0.1 is applied to the probability of looking
around; a content customer who looks around leaves about one time in four with the default choice
parameters, so it raises her churn by a few points, as in the experiment (the pattern suite checks the
direction on ``proactive_retention_test``). Calibrate ``backfire`` to the churn rise you expect divided by
that share. Cost per contact.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from .._jit import rule
from .._schema import Probability, Unit
from ..rng import normal
from .base import Measure, MeasureParams

TYPE = "proactive_retention"


class ProactiveRetentionParams(MeasureParams):
    """Contacting customers predicted to be at risk."""

    type: Literal["proactive_retention"]
    targeting: Literal["risk", "uplift"] = Field("risk", description=(
        "Contact the highest predicted risks, or those with a positive predicted uplift."))
    prediction_quality: Unit = Field(0.6, description=(
        "Correlation of predicted and true risk on the probit scale (0 = noise, 1 = perfect). Unit: none. [invented]"))
    risk_threshold: Probability = Field(0.15, description=(
        "Predicted probability of looking around from which a customer is contacted (risk targeting). Unit: probability. "
        "[invented]"))
    coverage: Probability = Field(0.8, description=(
        "Share of the targeted customers actually contacted (capacity, consent). Unit: fraction. [invented]"))
    save: Unit = Field(0.6, description=(
        "Share of a contacted customer's probability of looking around that the contact removes. Unit: fraction. [invented]"))
    backfire: Probability = Field(0.1, description=(
        "Probability of looking around a contact adds by reminding the customer she could leave. Unit: probability. [sourced "
        "in direction: churn rose from 6 % to 10 % among contacted customers, Ascarza et al. 2016; the size is set so that a "
        "contact raises a content customer's churn by a few points, as there: she leaves with about a quarter of the times she "
        "looks around]"))
    cost_per_contact: float = Field(2.0, ge=0, le=1e7, description="Cost of one contact. Unit: money/contact. [invented]")


QUALITY, THRESHOLD, COVERAGE, SAVE, BACKFIRE, UPLIFT = range(6)


@rule
def predicted_risk(p, quality, noise_z):
    """The model's prediction of a true probability ``p``: a Gaussian-copula blur with correlation
    ``quality`` (``noise_z`` is the customer's own standard-normal noise)."""
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    z = quality * normal(p) + math.sqrt(max(1.0 - quality * quality, 0.0)) * noise_z
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@rule
def targeted(predicted, uplift, threshold, save, backfire):
    """Whether a customer is targeted: by predicted risk, or by positive predicted uplift."""
    if uplift:
        return predicted * save > backfire
    return predicted >= threshold


@rule
def contacted_probability(p, save, backfire):
    """Probability of looking around after a contact: ``(1 - save) * p + backfire`` (at most 1)."""
    return min((1.0 - save) * p + backfire, 1.0)


class Lever(Measure):
    """Scores and contacts the firm's targeted customers."""

    def kernel_params(self):
        p = self.params
        return (p.prediction_quality, p.risk_threshold, p.coverage, p.save, p.backfire, float(p.targeting == "uplift"))

    def per_customer_cost(self):
        return self.params.cost_per_contact  # "reached" are the customers contacted


Params = ProactiveRetentionParams
