"""Referral and word of mouth on a social network (DIM-Kommunikation; REVIERDIALOG: regulars
recommend the firm; DIM-B2B: the NPS question "would you recommend us?").

Every customer listens to ``listens_to`` other people (drawn once, when she enters the market, among
the customers already there: a sparse network that grows with arrivals). Each period every customer
answers the recommendation question from her satisfaction (see ``sim.mechanisms.word_of_mouth``):
promoters (9-10) recruit and detractors (0-6) deter. A customer of a firm running this lever hears
what the people she listens to who are customers of the same firm say about it, and her experience
moves by ``word_weight`` times the net word (promoters minus detractors, as a share of those heard).
The firm also gains ``referrals_per_promoter`` new customers per promoter and period (Poisson), each
costing ``referral_reward`` instead of the cost per acquisition.

This is the first interaction between customers: common random numbers still hold exactly for each
customer's own numbers, but a change that alters some customers' satisfaction now also reaches those
who listen to them, and the firm's referrals; comparisons stay paired, no longer independent of
other customers. Only single runs support it (no batched replications).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._schema import Unit
from .base import Measure, MeasureParams

TYPE = "referral"


class ReferralParams(MeasureParams):
    """Referrals and word of mouth among customers."""

    type: Literal["referral"]
    listens_to: int = Field(6, ge=1, le=50, description="People each customer listens to. Unit: people. [invented]")
    word_weight: Unit = Field(0.1, description=(
        "Experience moved by the net word of mouth (all heard are promoters = +weight). Unit: [0,1]. [invented]"))
    referrals_per_promoter: float = Field(0.005, ge=0, le=1, description=(
        "New customers a promoter brings per period (Poisson mean). Unit: customers/(promoter * period). [invented]"))
    referral_reward: float = Field(20.0, ge=0, le=1e7, description=(
        "Reward paid per referred customer (instead of the cost per acquisition). Unit: money/customer. [invented]"))


WEIGHT, RATE, REWARD = range(3)


class Lever(Measure):
    """Word of mouth about the firm reaches its customers; promoters bring referrals."""

    def kernel_params(self):
        p = self.params
        return (p.word_weight, p.referrals_per_promoter, p.referral_reward)


Params = ReferralParams
