"""The scenario schema: every parameter of the model, declared once.

Each field carries its type, default, valid range, unit and a one-line meaning. The tag
``[sourced: KEY]`` names the source document a default rests on (keys as in ``docs/sources.md``, e.g.
DIM-B2B for DIM's "Loyalität im B2B"); ``[invented]`` marks a default that the documents do not give and
that we chose as a plausible, documented starting point. The documents give directions and orderings,
almost never magnitudes, so most effect sizes are invented and are the natural targets of
sensitivity analysis.

Units: ``money`` is the scenario's currency (``simulation.currency``) per customer; ``period`` is one
model step, whose length in months is ``simulation.period_months``. Every rate and probability is
*per period*. Measures (levers) declare their parameters in their own modules (``sim/measures/``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ._schema import SHARE_TOLERANCE, Pair, Probability, Section, Unit, _KeyError
from .codes import LOYALTY_CLASSES, METRICS
from .measures import TYPES as MEASURE_TYPES
from .measures import MeasureSpec, Schedule, Target

__all__ = ["_KeyError", "LIFE_EVENTS", "LOYALTY_CLASSES", "Scenario", "Schedule", "Target", "Segment", "Firm", "Simulation",
           "Mechanisms", "Promotion"]

_Section = Section  # the historical name


# Life events that end a relationship whatever any firm does, per period (a month), by who the
# customers are. Each market has one documented rate, the same for every segment and contract type;
# a scenario sets another only where it cites evidence (``segments[i].background_churn``).
LIFE_EVENTS = {
    # Destatis 2023: about 1.2 % of the population died and about 1.5 % moved abroad in the year; a
    # household's contract ends with either (2.6 %/year, 0.22 %/month). Moves within the country are
    # not counted: a mobile or streaming contract moves with its customer (a location-bound service,
    # broadband or a gym, would add them, about 9 %/year).
    "households": 0.0022,
    # Eurostat business demography: about 9 % of the EU's active enterprises close in a year, most of
    # them one-person businesses that buy little from other firms; firms with employees, a B2B
    # vendor's accounts, close far less often. We take 3 %/year (0.25 %/month), the order of
    # magnitude for employer enterprises, not a measured figure for any one market.
    "businesses": 0.0025,
}


class Simulation(Section):
    """Run length, population size and money conventions."""

    periods: int = Field(120, ge=1, le=2400, description="Horizon. Unit: periods. [invented: 10 years of months]")
    period_months: float = Field(1.0, gt=0, le=12, description="Length of one period. Unit: months. [invented]")
    customers: int = Field(10_000, ge=1, le=50_000_000, description=(
        "Customers in the market at period 0 (one joining cohort). Unit: customers. [invented]"))
    discount_rate: float = Field(0.01, ge=0.0, lt=1.0, description=(
        "Discount rate for CLV. Unit: 1/period (0.01/month is about 12.7 %/year). [invented]"))
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Default seed, overridden by --seed. Unit: none.")
    currency: str = Field("EUR", min_length=1, max_length=12, description=(
        "Currency of every money amount, shown in tables and plots."))
    scale: float = Field(1.0, gt=0, le=1e6, description=(
        "The market's scale: every money-per-period amount that buys or serves customers as a group (firms' acquisition spend, "
        "measures' fixed costs and budgets) is multiplied by it. Changing simulation.customers from the command line or an "
        "override sets it to the new size over the scenario's, so that a smaller run is the same market (shares and rates "
        "agree across sizes); set it to 1 to change the population alone. Unit: none."))
    market: Literal["households", "businesses"] = Field("households", description=(
        "Who the customers are, which sets the documented rate of life events that end relationships "
        "(segments[i].background_churn where a segment does not set its own): households 0.22 %/month (deaths and emigration, "
        "Destatis), businesses 0.25 %/month (enterprise closures, Eurostat). [sourced]"))


class Mechanisms(Section):
    """Switches: each mechanism can be turned off. All off leaves only background churn."""

    experience: bool = Field(True, description="Service incidents, complaints and price fairness update satisfaction.")
    bonding: bool = Field(True, description="Satisfaction builds trust and commitment; bond decays without reinforcement.")
    attachment: bool = Field(True, description="Contracts, lock-in, economic barriers and missing alternatives hold customers.")
    choice: bool = Field(True, description="Customers weigh staying against the best alternative and may switch or leave.")
    background_churn: bool = Field(True, description=(
        "Life events no firm influences end relationships at a fixed per-customer rate."))
    arrivals: bool = Field(True, description="Firms acquire new customers every period.")
    promotion: bool = Field(True, description=(
        "Prospects and competitors' customers see promotional prices: arrivals follow a firm's offer price against its "
        "rivals', and a promotion's novelty draws attention that wears off when it runs all the time."))
    measures: bool = Field(True, description="Firms apply the measures listed in the scenario.")


class FixedChurn(Section):
    """Every customer has the same background churn probability."""

    distribution: Literal["fixed"] = "fixed"
    p: Probability = Field(0.005, description=(
        "Background (life-event) churn probability: moves, deaths, closures that no firm influences (DIM-B2B: churn is never "
        "zero). It is kept a minor part of churn, so that customers' choices drive it (the pattern 'churn is chosen' checks "
        "choice_share >= 0.5); it is never fitted to hit a churn target. Unit: 1/period. [invented]"))


class BetaChurn(Section):
    """Background churn probability drawn once per customer from Beta(alpha, beta) (the sBG model)."""

    distribution: Literal["beta"] = "beta"
    alpha: float = Field(..., gt=0, le=1e4, description="Beta shape alpha. Unit: none.")
    beta: float = Field(..., gt=0, le=1e4, description="Beta shape beta. Unit: none.")


BackgroundChurn = Annotated[FixedChurn | BetaChurn, Field(discriminator="distribution")]


class Segment(Section):
    """A group of customers with shared trait distributions."""

    name: str = Field("all", min_length=1, description="Segment label used for targeting and reports.")
    share: float = Field(1.0, gt=0, le=1, description=(
        "Share of initial customers and arrivals. Unit: fraction; the segments' shares must sum to 1."))
    price_sensitivity: float = Field(1.0, gt=0, le=20, description=(
        "Mean price sensitivity (gamma-distributed, CV 0.3). Unit: none (1 = average). [invented]"))
    fit_sd: float = Field(0.12, ge=0, le=1, description=(
        "SD of the customer-offer fit added to every experience with a firm; redrawn on switching. Unit: [0,1] scale. "
        "[invented]"))
    initial_satisfaction: Unit = Field(0.6, description="Mean satisfaction at joining. Unit: [0,1]. [invented]")
    initial_trust: Unit = Field(0.3, description=(
        "Mean trust at joining; relationships start thin (Kaack). Unit: [0,1]. [invented]"))
    lockin_growth: float = Field(0.0, ge=0, le=1e6, description=(
        "Technical lock-in added per period of tenure (DIM-LockIn). Unit: money/period. [invented]"))
    lockin_max: float = Field(0.0, ge=0, le=1e7, description=(
        "Cap of the technical lock-in that grows with tenure (an ecosystem's products add lock-in beyond it). Unit: money. "
        "[invented]"))
    economic_barrier: float = Field(0.0, ge=0, le=1e7, description=(
        "Other forfeited benefits on switching (DIM-B2B). Unit: money. [invented]"))
    no_alternative_share: Probability = Field(0.0, description=(
        "Share with no reachable competitor: can only stay or leave the market (DIM-B2B). Unit: fraction. [invented]"))
    cohorts: dict[str, float] = Field(
        default_factory=lambda: {"1970s": 0.25, "1980s": 0.25, "1990s": 0.25, "2000s": 0.25},
        description="Birth-decade cohorts and their shares, for nostalgia targeting (DIM-Nostalgie). Unit: fraction.")
    nostalgia_affinity: Pair = Field((2.0, 2.0), description="Beta(a, b) of nostalgia affinity. Unit: [0,1]. [invented]")
    background_churn: BackgroundChurn | None = Field(None, description=(
        "Churn from life events no firm influences (DIM-B2B: churn is never zero). Unset: the market's documented rate "
        "(simulation.market); set it only with evidence that this segment's life events differ, never to fit a target."))
    buying_centre: int = Field(1, ge=1, le=25, description=(
        "People who decide for one account: looking around needs a majority of them (DIM-B2B: multi-person decisions); 1 = a "
        "consumer. Unit: people. [invented]"))
    contact_turnover: Probability = Field(0.0, description=(
        "Probability per period that an account's contact person changes, which sets the personal part of the bond back to "
        "zero (DIM-B2B). Unit: 1/period. [invented]"))
    personal_share: Unit = Field(0.5, description=(
        "Share of trust and commitment that rests on the contact person and is lost when that person changes. Unit: fraction. "
        "[invented]"))
    purchase_cycle: int = Field(1, ge=1, le=120, description=(
        "Periods between purchase decisions: customers look around only at these points or when a contract expires (DIM-B2B: "
        "long purchase cycles). Unit: periods. [invented]"))

    @model_validator(mode="after")
    def _check(self) -> Segment:
        if len(self.cohorts) > 100:
            raise _KeyError(("cohorts",), f"at most 100 cohorts (got {len(self.cohorts)})")
        if not self.cohorts:
            raise _KeyError(("cohorts",), 'must name at least one cohort and its share, e.g. { "1980s" = 1.0 }')
        negative = [k for k, v in self.cohorts.items() if v < 0]
        if negative:
            raise _KeyError(("cohorts", negative[0]), f"a share cannot be negative (got {self.cohorts[negative[0]]:g})")
        total = sum(self.cohorts.values())
        if abs(total - 1) > SHARE_TOLERANCE:
            raise _KeyError(("cohorts",), f"the cohort shares sum to {total:.6g}, but must sum to 1 ({_terms(self.cohorts)})")
        if any(v <= 0 for v in self.nostalgia_affinity):
            raise _KeyError(("nostalgia_affinity",), f"must be two positive Beta shapes (got {list(self.nostalgia_affinity)})")
        return self


class Firm(Section):
    """A firm: the first in the list is the focal firm, the others are competitors."""

    name: str = Field(..., min_length=1, description="Firm name, used by measures and in reports.")
    price: float = Field(30.0, gt=0, le=1e7, description="List price. Unit: money/period. [invented]")
    unit_cost: float = Field(18.0, ge=0, le=1e7, description="Cost to serve one customer. Unit: money/period. [invented]")
    service_quality: Unit = Field(0.6, description="Typical experience delivered; lowers incident risk. Unit: [0,1]. [invented]")
    complaint_handling: Probability = Field(0.5, description=(
        "Probability that a complaint is resolved well (DIM-B2B). Unit: probability. [invented]"))
    initial_share: float = Field(1.0, ge=0, le=1, description=(
        "Share of the initial customers. Unit: fraction; the firms' shares must sum to 1."))
    acquisition_spend: float = Field(0.0, ge=0, le=1e12, description=(
        "Acquisition budget; arrivals are Poisson(budget / cost per acquisition) a period, whatever the number of customers, "
        "so scale it with simulation.customers to keep a smaller market the same. Unit: money/period. [invented]"))
    cost_per_acquisition: float = Field(150.0, ge=0.01, le=1e9, description=(
        "Cost of one acquired customer; 5-7 times the cost of retaining one (DIM-B2B). Unit: money/customer. [invented]"))
    enters_at: int = Field(0, ge=0, le=100_000, description=(
        "Period in which the firm enters the market (a competitor entering later starts with no customers and is no option "
        "before). Unit: period."))


class Experience(Section):
    """Experiences -> satisfaction (satisfaction is cumulative: DIM-B2B)."""

    satisfaction_rate: Unit = Field(0.25, description=(
        "EWMA weight of this period's experience in satisfaction. Unit: 1/period. [invented]"))
    noise: float = Field(0.1, ge=0, le=1, description=(
        "SD of the experience around service quality. Unit: [0,1] scale. [invented]"))
    incident_rate: Probability = Field(0.2, description=(
        "Incident probability at service quality 0 (scales with 1 - quality). Unit: 1/period. [invented]"))
    complaint_prob: Probability = Field(0.6, description=(
        "Probability that an incident is complained about. Unit: probability. [invented]"))
    incident_experience: Unit = Field(0.1, description=(
        "Experience of an incident that is not resolved well (REVIERDIALOG). Unit: [0,1]. [invented]"))
    recovery_bonus: float = Field(0.05, ge=0, le=1, description=(
        "Experience above normal after a well-handled complaint: the service-recovery effect, kept modest (DIM-KI: criticism "
        "handled transparently can turn dissatisfied customers into loyal supporters). Unit: [0,1]. [invented]"))
    doubt: Unit = Field(0.15, description=(
        "Post-purchase doubt: experience lost in the periods after a first purchase, at most (Kaack: the higher the price, the "
        "greater the doubt). Unit: [0,1]. [invented]"))
    doubt_price: float = Field(100.0, gt=0, le=1e9, description=(
        "Price at which the post-purchase doubt reaches half of `doubt` (doubt = doubt * price / (price + doubt_price)). Unit: "
        "money/period. [invented]"))
    price_weight: float = Field(1.0, ge=0, le=10, description=(
        "Experience change per unit relative gain vs reference price, times price sensitivity. Unit: none. [invented]"))
    loss_aversion: float = Field(2.0, ge=1, le=10, description=(
        "Paying above reference hurts this many times more than a gain pleases. Unit: none. [invented; standard "
        "prospect-theory magnitude]"))
    reference_rate: Unit = Field(0.15, description=(
        "EWMA weight of the price paid in the reference price; constant discounts shift it (DIM-B2B). Unit: 1/period. "
        "[invented]"))
    bond_price_shield: Unit = Field(0.8, description=(
        "Share of her price sensitivity a bonded customer sets aside (scaled by how bonded she is, choice.bond_coef's step): "
        "bonded regulars accept price rises and pay above the cheapest offer (REVIERDIALOG), others compare every price. Unit: "
        "fraction. [invented]"))


class Bonding(Section):
    """Satisfaction over time -> trust -> commitment -> bond (DIM-B2B)."""

    trust_gain: Unit = Field(0.05, description=(
        "Trust moves this fraction toward satisfaction when satisfaction is above it. Unit: 1/period. [invented]"))
    trust_loss: Unit = Field(0.15, description=(
        "Trust moves this fraction toward satisfaction when satisfaction is below it (trust falls faster than it grows). Unit: "
        "1/period. [invented; the asymmetry is not in the sources]"))
    commitment_rate: Unit = Field(0.04, description="Commitment moves this fraction toward trust. Unit: 1/period. [invented]")
    commitment_decay: Unit = Field(0.01, description=(
        "Commitment lost per period without reinforcement. Unit: 1/period. [invented]"))
    weight_satisfaction: float = Field(0.3, ge=0, le=1, description="Weight of satisfaction in bond. Unit: none. [invented]")
    weight_trust: float = Field(0.35, ge=0, le=1, description="Weight of trust in bond. Unit: none. [invented]")
    weight_commitment: float = Field(0.35, ge=0, le=1, description="Weight of commitment in bond. Unit: none. [invented]")
    nostalgia_decay: Unit = Field(0.08, description=(
        "Share of a nostalgia boost lost per period; good campaigns stay in memory (DIM-Nostalgie). Unit: 1/period. [invented]"))
    bonded_threshold: Unit = Field(0.5, description="Bond at or above which a customer counts as bonded. Unit: [0,1]. [invented]")
    regular_tenure: int = Field(12, ge=1, le=1200, description=(
        "Tenure from which a trusting customer is a regular (Stammkunde). Unit: periods. [invented]"))
    post_purchase_periods: int = Field(3, ge=0, le=1200, description=(
        "Length of the post-purchase phase (Kaack). Unit: periods. [invented]"))

    @model_validator(mode="after")
    def _weights(self) -> Bonding:
        if self.weight_satisfaction + self.weight_trust + self.weight_commitment <= 0:
            raise ValueError("bond weights must not all be zero")
        return self


class Attachment(Section):
    """Switching barriers -> attachment score (DIM-B2B; DIM-LockIn)."""

    barrier_scale: float = Field(3.0, gt=0, le=1e4, description=(
        "Switching cost that gives attachment 1 - 1/e. Unit: periods of list price. [invented]"))
    attached_threshold: Unit = Field(0.5, description=(
        "Attachment at or above which a customer counts as attached. Unit: [0,1]. [invented]"))
    cost_perception: float = Field(1.5, ge=0, le=10, description=(
        "Perceived / actual switching cost; > 1 because switching is easier than customers assume (DIM-LockIn). Unit: none. "
        "[invented]"))


class Choice(Section):
    """Stochastic stay-or-switch choice (multinomial logit among considered options)."""

    base_consideration: Probability = Field(0.04, description=(
        "Probability that a content customer looks at alternatives at all. Unit: 1/period. [invented]"))
    dissatisfaction_consideration: Probability = Field(0.5, description=(
        "Added consideration probability at satisfaction 0 (pressure of suffering, DIM-B2B); scales with "
        "((content_satisfaction - satisfaction) / content_satisfaction)^2 below the content level. Unit: 1/period. [invented]"))
    content_satisfaction: Unit = Field(0.6, gt=0, description=(
        "Satisfaction of a content customer: below it the pressure of suffering makes her look around. Unit: [0,1]. [invented: "
        "about the mean satisfaction of an ordinary firm's customers]"))
    expiry_consideration: Probability = Field(0.9, description=(
        "Consideration probability in the period a contract expires (DIM-Kommunikation). Unit: probability. [invented]"))
    price_coef: float = Field(4.0, ge=0, le=100, description=(
        "Utility per unit relative price vs reference, times price sensitivity. Unit: utils. [invented]"))
    quality_coef: float = Field(2.0, ge=0, le=100, description="Utility per unit of service quality. Unit: utils. [invented]")
    bond_coef: float = Field(6.0, ge=0, le=100, description=(
        "Utility of staying that a bonded customer draws from her bond: bond_coef * logistic((bond - bonding.bonded_threshold) "
        "/ bond_softness), so a customer classified as not bonded gets little of it (the choice agrees with the loyalty "
        "classes). Unit: utils. [invented]"))
    bond_softness: float = Field(0.035, gt=0, le=1, description=(
        "Width of the step from 'not bonded' to 'bonded' in the stay utility. Unit: bond. [invented]"))
    switching_cost_coef: float = Field(1.0, ge=0, le=100, description=(
        "Disutility per period-of-list-price of perceived switching cost, for small costs. Unit: utils. [invented]"))
    barrier_max: float = Field(4.0, gt=0, le=100, description=(
        "The felt barrier saturates at this disutility: barrier = barrier_max * (1 - exp(-switching_cost_coef * cost / (price "
        "* barrier_max))), so strong dissatisfaction or a competitor's buy-out can overcome any fee. Unit: utils. [invented]"))
    outside_utility: float = Field(-1.5, ge=-100, le=100, description=(
        "Utility of leaving the market (non-consumption). Unit: utils. [invented]"))


class Promotion(Section):
    """How promotions reach beyond a firm's own customers (REVIERDIALOG: a weekly catalogue does not
    reach as far as a summer sale; DIM-B2B: discount campaigns serve acquisition as well as
    retention; Kaack: hardly anyone stays the cheapest for long)."""

    arrival_price_coef: float = Field(2.0, ge=0, le=100, description=(
        "How prospects pick firms by offer price: a firm's arrivals of a segment are multiplied by exp(arrival_price_coef * "
        "segment price sensitivity * (mean offer price - its offer price) / mean offer price), so deal-seekers (high "
        "sensitivity) follow promotions most. Unit: none. [invented]"))
    wearout: Unit = Field(0.15, description=(
        "Rate at which a promotion becomes familiar: familiarity is an exponentially weighted share of the recent periods it "
        "ran. Unit: 1/period. [invented]"))
    attention_arrivals: float = Field(3.0, ge=0, le=100, description=(
        "Extra prospects a promotion's attention draws: arrivals times (1 + attention_arrivals * attention), attention = depth "
        "* (1 - familiarity). Unit: none. [invented]"))
    attention_consideration: Unit = Field(0.3, description=(
        "Added probability that a competitor's customer looks around, per unit of the largest attention of another firm's "
        "promotion. Unit: probability. [invented]"))


def dotted_sets(sets: Mapping[str, Any]) -> dict[str, Any]:
    """A table of dotted keys (a variant's ``[set]``, a counterfactual's ``set``) as ``{dotted key:
    value}``. Quoted keys (``"firms.0.price" = 33.0``) are dotted keys already; unquoted ones
    (``firms.0.price = 33.0``) reach us as nested tables and are flattened back, so both spellings mean
    the same."""
    out: dict[str, Any] = {}
    for key, value in sets.items():
        if isinstance(value, Mapping) and value:
            out.update({f"{key}.{inner}": v for inner, v in dotted_sets(value).items()})
        else:
            out[str(key)] = value
    return out


class Counterfactual(Section):
    """What the scenario's question is answered against: the same scenario with the lever it asks about
    taken away (measures dropped, values set back), run on the same seeds, so that the lever's effect is
    a paired difference (common random numbers), customer by customer."""

    lever: str = Field(..., min_length=1, max_length=200, description=(
        "The lever the question asks about, in words (e.g. 'the service programme')."))
    metric: str = Field("retention_60", description="The headline metric the effect is stated in (one of sim.metrics).")
    firm: str | None = Field(None, description="Whose metric (None = the focal firm).")
    drop_measures: list[int | str] = Field(default_factory=list, max_length=1000, description=(
        "The scenario's measures the counterfactual does without: a measure type (e.g. \"service\": every measure of that type "
        "the counterfactual's firm applies; a scenario without one is its own counterfactual) or a position in measures, from "
        "0. Unit: types or positions."))
    set: dict[str, float | int | bool | str] = Field(default_factory=dict, max_length=1000, description=(
        "Dotted keys the counterfactual sets, e.g. { \"firms.0.service_quality\" = 0.6 }; checked when the scenario is loaded. "
        "Unit: each key's own."))

    @field_validator("set", mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        """Unquoted dotted keys (``set = { firms.1.enters_at = 100000 }``) mean what quoted ones do."""
        return dotted_sets(value) if isinstance(value, Mapping) else value

    @model_validator(mode="after")
    def _known_metric(self) -> Counterfactual:
        if self.metric not in METRICS:
            raise _KeyError(("metric",), f"unknown metric {self.metric!r} (metrics: {', '.join(METRICS)})")
        if not self.drop_measures and not self.set:
            raise _KeyError(("drop_measures",), (
                "the counterfactual must drop a measure or set a value, or it is the scenario itself"))
        unknown = [k for k in self.drop_measures if isinstance(k, str) and k not in MEASURE_TYPES]
        if unknown:
            raise _KeyError(("drop_measures",), f"no measure type {unknown[0][:60]!r} (types: {', '.join(MEASURE_TYPES)})")
        return self

    @property
    def by_position(self) -> bool:
        """Whether it names measures by their position (which a file replacing the measures breaks)."""
        return any(isinstance(k, int) for k in self.drop_measures)


MAX_ARRIVALS = 1_000_000  # new customers a firm can buy in a period
MAX_CUSTOMERS_IN_ALL = 50_000_000  # customers a run can hold in all (about 400 bytes each)

ANSWER_PLACEHOLDER = re.compile(r"\{([^{}:]+)(?::([^{}]*))?\}")  # {dotted.path:format} in a scenario's answer


def _default_firms() -> list[Firm]:
    return [Firm(name="focal", initial_share=0.5), Firm(name="rival", initial_share=0.5)]


class Scenario(Section):
    """A complete scenario. A TOML file sets only what differs from these defaults."""

    name: str = Field("default", min_length=1, max_length=100, description=(
        "Scenario name shown in reports (it names the default output folder)."))
    question: str = Field("", description="The question the scenario answers.")
    answer: str = Field("", max_length=2000, description=(
        "A sentence answering the question with numbers from the run's summary: placeholders {dotted.path:format} name summary "
        "keys, e.g. {firms.focal.retention.60_months:.0%}."))
    simulation: Simulation = Field(default_factory=Simulation)
    mechanisms: Mechanisms = Field(default_factory=Mechanisms)
    segments: list[Segment] = Field(default_factory=lambda: [Segment()], min_length=1, max_length=100)
    firms: list[Firm] = Field(default_factory=_default_firms, min_length=1, max_length=100)
    experience: Experience = Field(default_factory=Experience)
    bonding: Bonding = Field(default_factory=Bonding)
    attachment: Attachment = Field(default_factory=Attachment)
    choice: Choice = Field(default_factory=Choice)
    promotion: Promotion = Field(default_factory=Promotion)
    counterfactual: Counterfactual | None = Field(None, description=(
        "The same scenario without the lever its question asks about; the answer states the lever's effect as a paired "
        "difference against it."))
    measures: list[MeasureSpec] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        for seg in self.segments:  # life events: the market's documented rate unless a segment sets its own
            if seg.background_churn is None:
                seg.background_churn = FixedChurn(p=LIFE_EVENTS[self.simulation.market])
        firm_names = [f.name for f in self.firms]
        if len(set(firm_names)) != len(firm_names):
            raise _KeyError(("firms",), f"firm names must be unique (got {', '.join(firm_names)})")
        total = sum(f.initial_share for f in self.firms)
        if abs(total - 1) > SHARE_TOLERANCE:
            where = ("firms", 0, "initial_share") if len(self.firms) == 1 else ("firms",)
            raise _KeyError(where, f"the firms' initial_share values sum to {total:.6g}, but must sum to 1 "
                                   f"({_terms({f.name: f.initial_share for f in self.firms})})")
        seg_names = [s.name for s in self.segments]
        if len(set(seg_names)) != len(seg_names):
            raise _KeyError(("segments",), f"segment names must be unique (got {', '.join(seg_names)})")
        total = sum(s.share for s in self.segments)
        if abs(total - 1) > SHARE_TOLERANCE:
            where = ("segments", 0, "share") if len(self.segments) == 1 else ("segments",)
            raise _KeyError(where, f"the segments' shares sum to {total:.6g}, but must sum to 1 "
                                   f"({_terms({s.name: s.share for s in self.segments})})")
        for i, f in enumerate(self.firms):
            if f.enters_at > 0 and f.initial_share > 0:
                raise _KeyError(("firms", i, "initial_share"), (
                    f"a firm that enters later (enters_at = {f.enters_at}) has no customers at period 0: set initial_share = 0"))
        periods = self.simulation.periods
        for i, m in enumerate(self.measures):
            if m.schedule.start >= periods:
                raise _KeyError(("measures", i, "schedule", "start"),
                                f"the measure starts in period {m.schedule.start}, but the run has only {periods} periods "
                                f"(0 to {periods - 1}), so it would never act")
        cohorts = {c for s in self.segments for c in s.cohorts}
        for i, m in enumerate(self.measures):
            if m.firm is not None and m.firm not in firm_names:
                raise _KeyError(("measures", i, "firm"), f"no firm named {m.firm!r} (firms: {', '.join(firm_names)})")
            if m.target.segment is not None and m.target.segment not in seg_names:
                raise _KeyError(("measures", i, "target", "segment"), (
                    f"no segment named {m.target.segment!r} (segments: {', '.join(seg_names)})"))
            for key, cohort in (("target", m.target.cohort), ("cohort", getattr(m, "cohort", None))):
                if cohort is not None and cohort not in cohorts:
                    path = ("measures", i, "target", "cohort") if key == "target" else ("measures", i, "cohort")
                    raise _KeyError(path, f"no cohort named {cohort!r} (cohorts: {', '.join(sorted(cohorts))})")
        if self.mechanisms.arrivals:
            for i in range(len(self.firms)):
                if self.bought_per_period(i) > MAX_ARRIVALS:
                    raise _KeyError(("firms", i, "acquisition_spend"),
                                    f"buys {self.bought_per_period(i):,.0f} "
                                    f"new customers a period; at most {MAX_ARRIVALS:,} can be simulated")
        total = self.expected_customers()
        if total > MAX_CUSTOMERS_IN_ALL:
            raise _KeyError(("simulation", "periods"), f"the run would hold about {total:,.0f} customers in all (the initial "
                                                       f"ones and the arrivals over {self.simulation.periods} periods); at most "
                                                       f"{MAX_CUSTOMERS_IN_ALL:,} can be simulated")
        cf = self.counterfactual
        if cf is not None:
            if cf.firm is not None and cf.firm not in firm_names:
                raise _KeyError(("counterfactual", "firm"), f"no firm named {cf.firm!r} (firms: {', '.join(firm_names)})")
            bad = [k for k in cf.drop_measures if isinstance(k, int) and not 0 <= k < len(self.measures)]
            if bad:
                raise _KeyError(("counterfactual", "drop_measures"), (
                    f"no measure {bad[0]} (the scenario has {len(self.measures)}, numbered from 0)"))
        for path, spec in ANSWER_PLACEHOLDER.findall(self.answer):
            parts = path.strip().split(".")
            if parts[0] == "firms" and (len(parts) < 2 or parts[1] not in firm_names):
                raise _KeyError(("answer",), (
                    f"the placeholder {{{path}}} names no firm of the scenario (firms: {', '.join(firm_names)})"))
            if any(int(n) > 100 for n in re.findall(r"\d+", spec)):  # a width or precision: checked before it is allocated
                raise _KeyError(("answer",), f"the placeholder {{{path}:{spec}}} asks for more than 100 characters")
            try:
                format(0.5, spec)
            except ValueError:
                raise _KeyError(("answer",), f"the placeholder {{{path}:{spec}}} has an invalid number format {spec!r}") from None
        return self

    def firm_index(self, name: str | None) -> int:
        """Index of the named firm; None means the focal firm (index 0). ValueError naming the firms if
        the scenario has none of that name."""
        if name is None:
            return 0
        names = [f.name for f in self.firms]
        if name not in names:
            raise ValueError(f"scenario {self.name!r} has no firm named {name[:60]!r} (firms: {', '.join(names)})")
        return names.index(name)

    def dropped_measures(self) -> list[int]:
        """Positions of the measures the counterfactual drops: each position it names, and for each type
        it names every measure of that type applied by the counterfactual's firm (empty without one)."""
        cf = self.counterfactual
        if cf is None:
            return []
        firm = self.firm_index(cf.firm)
        types = {k for k in cf.drop_measures if isinstance(k, str)}
        return [i for i, m in enumerate(self.measures)
                if i in cf.drop_measures or (m.type in types and self.firm_index(m.firm) == firm)]

    def bought_per_period(self, firm: int) -> float:
        """Newcomers firm ``firm``'s acquisition budget buys a period at the simulated scale, before
        measures: acquisition spend x scale / cost per acquisition (0 with arrivals off). Unit:
        customers/period."""
        f = self.firms[firm]
        return f.acquisition_spend * self.simulation.scale / f.cost_per_acquisition if self.mechanisms.arrivals else 0.0

    def expected_customers(self) -> float:
        """Customers a run is expected to hold in all: the initial ones and the arrivals the firms'
        acquisition budgets buy over the horizon (what its memory grows with)."""
        per_period = sum(self.bought_per_period(i) for i in range(len(self.firms)))
        budgets = 0.0
        if self.mechanisms.arrivals and self.mechanisms.measures:
            budgets = self.simulation.scale * sum(m.budget / self.firms[self.firm_index(m.firm)].cost_per_acquisition
                                                  for m in self.measures if m.type == "budget_split")
        return self.simulation.customers + (per_period + budgets) * self.simulation.periods


def _terms(shares: dict) -> str:
    """'a 0.3 + b 0.3' (the first 6 terms)."""
    items = [f"{k} {v:g}" for k, v in shares.items()]
    return " + ".join(items[:6]) + (" + ..." if len(items) > 6 else "")
