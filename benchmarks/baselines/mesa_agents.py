"""The core rules as a competent Mesa user would write them: one ``mesa.Agent`` per customer.

Every customer is a :class:`Customer` agent holding its state in plain Python floats; its
``step`` applies the core rules of :mod:`benchmarks.baselines.core` (experience, satisfaction,
trust, commitment, bond, consideration, logit choice, background churn, switching) with
``self.model.random`` (Mesa's seeded stdlib ``random.Random``: ``random()`` and ``gauss()``) and
``math.exp``; no numpy in the hot path. Choices made as an experienced Mesa/Python user would:

- Activation with ``model.agents.do("step")``, not ``shuffle_do``: customers do not interact within
  a period (a decision depends on the customer's own state and on constant firm attributes; the
  per-firm tallies are sums), so the activation order cannot change any distribution, and shuffling
  would only add an O(N) copy and shuffle per period.
- A customer who leaves the market calls ``self.remove()`` (Mesa's idiom), so departed customers
  cost nothing in later periods; a switcher stays the same agent with a new firm.
- The logit draw uses one uniform and the cumulative weights ``exp(U)`` (inverse CDF), with the
  weights of the options that do not depend on the customer (other firms, leaving) computed once;
  this has the same choice probabilities as the engine's ``argmax(U + Gumbel)``.
- The experience noise is drawn only when it is used (no incident); the handled-complaint test is
  the equivalent threshold ``u < p_inc * complaint_prob * handling`` on the same uniform.
- Per-firm tallies (active at the start of the period, relationships ended, switches) are counted by the
  agents into two small lists on the model and recorded by a ``mesa.DataCollector``.

What it leaves out compared with the engine (``sim.RetentionModel``), all of which the engine does
every period even when it has nothing to do: contracts, exit fees and renewals; technical lock-in,
economic barriers and missing alternatives; the attachment score and the 2 x 2 bonded x attached
classification (and the periods spent in each class); nostalgia; price feelings, reference prices and
price sensitivity (prices are equal here, so these terms are zero in the engine too); measures
(discounts, service, campaigns, price changes) and their targeting and costs; margin, CLV and per-firm
accounting (revenue, costs, profit); the per-firm means of satisfaction, bond and attachment;
arrivals of new customers; relationship records (start, end, reason, CLV, class) and traced
histories; segments, cohorts and trait draws it does not need (price sensitivity, affinity).

    python -m benchmarks.baselines.mesa_agents  # a small timing
"""

from __future__ import annotations

import math
import time

import mesa

try:
    from . import core as C
except ImportError:  # run as a file
    import core as C  # type: ignore[no-redef]

# the constants as module globals: one dictionary look-up each in the hot path
(QUALITY, P_INCIDENT, P_HANDLED, RECOVERY_BONUS, INCIDENT_EXPERIENCE, NOISE, SAT_RATE, TRUST_GAIN, TRUST_LOSS,
 COMMIT_RATE, COMMIT_DECAY, W_S, W_T, W_C, BASE_CONS, DISSAT_CONS, BOND_COEF, CHURN_P, INITIAL_TRUST, FIT_SD,
 CONTENT_SAT, BONDED_THRESHOLD, BOND_SOFTNESS) = (
    C.QUALITY, C.P_INCIDENT, C.P_HANDLED, C.RECOVERY_BONUS, C.INCIDENT_EXPERIENCE, C.NOISE, C.SAT_RATE, C.TRUST_GAIN,
    C.TRUST_LOSS, C.COMMIT_RATE, C.COMMIT_DECAY, C.W_S, C.W_T, C.W_C, C.BASE_CONS, C.DISSAT_CONS, C.BOND_COEF,
    C.CHURN_P, C.INITIAL_TRUST, C.FIT_SD, C.CONTENT_SAT, C.BONDED_THRESHOLD, C.BOND_SOFTNESS)

W_SUM = C.W_S + C.W_T + C.W_C
EXP_QUALITY = tuple(math.exp(C.QUALITY_COEF * q) for q in C.QUALITY)  # logit weight of firm j without bond
EXP_OUTSIDE = math.exp(C.OUTSIDE_UTILITY)
# per current firm: the exits (other firm j, or None for leaving the market) with their weights, and their sum
EXITS = tuple(tuple((j, EXP_QUALITY[j]) for j in range(C.N_FIRMS) if j != f) + ((None, EXP_OUTSIDE),)
              for f in range(C.N_FIRMS))
EXIT_WEIGHT = tuple(sum(w for _, w in exits) for exits in EXITS)


def _clip01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


class Customer(mesa.Agent):
    """One customer: its firm, satisfaction, trust, commitment and fit with the current firm."""

    def __init__(self, model: CoreModel, firm: int):
        super().__init__(model)
        rnd = model.random
        self.firm = firm
        self.satisfaction = _clip01(rnd.gauss(C.INITIAL_SAT, C.INITIAL_SD))
        self.trust = _clip01(rnd.gauss(C.INITIAL_TRUST, C.INITIAL_SD))
        self.commitment = 0.0
        self.fit = rnd.gauss(0.0, C.FIT_SD)

    def step(self) -> None:
        model = self.model
        rnd = model.random
        f = self.firm
        model.active[f] += 1
        # 1. experience: one uniform decides incident / complaint handled well; noise only when used
        u = rnd.random()
        if u < P_INCIDENT[f]:
            e = QUALITY[f] + self.fit + RECOVERY_BONUS if u < P_HANDLED[f] else INCIDENT_EXPERIENCE
        else:
            e = QUALITY[f] + self.fit + NOISE * rnd.gauss(0.0, 1.0)
        e = 0.0 if e < 0.0 else 1.0 if e > 1.0 else e
        # 2-4. satisfaction, trust (asymmetric), commitment
        s = self.satisfaction = self.satisfaction + SAT_RATE * (e - self.satisfaction)
        d = s - self.trust
        tr = self.trust = self.trust + (TRUST_GAIN if d > 0.0 else TRUST_LOSS) * d
        c = self.commitment + COMMIT_RATE * (tr - self.commitment) - COMMIT_DECAY * self.commitment
        c = self.commitment = 0.0 if c < 0.0 else 1.0 if c > 1.0 else c
        # 5-7. consideration; if considering: bond, then logit among stay / other firms / leave
        pressure = (CONTENT_SAT - s) / CONTENT_SAT if s < CONTENT_SAT else 0.0  # the pressure of suffering
        p = BASE_CONS + DISSAT_CONS * pressure * pressure
        if rnd.random() < (p if p < 1.0 else 1.0):
            bond = (W_S * s + W_T * tr + W_C * c) / W_SUM  # in [0, 1] since s, tr, c are
            pull = 1.0 / (1.0 + math.exp((BONDED_THRESHOLD - bond) / BOND_SOFTNESS))  # the bond's logistic pull
            stay = EXP_QUALITY[f] * math.exp(BOND_COEF * pull)
            r = rnd.random() * (stay + EXIT_WEIGHT[f])
            if r >= stay:
                r -= stay
                model.ended[f] += 1
                for j, w in EXITS[f]:  # the last exit is leaving the market (j None); it also takes rounding
                    to = j  # the exit r falls in, or the last one if rounding carries r past them all
                    if r < w:
                        break
                    r -= w
                if to is None:
                    self.remove()  # left the market
                else:  # 9. switch: a new relationship with firm `to` from next period
                    model.switched[f] += 1
                    self.firm = to
                    self.trust = INITIAL_TRUST
                    self.commitment = 0.0
                    self.fit = rnd.gauss(0.0, FIT_SD)
                return
        # 8. background churn for those who stayed
        if rnd.random() < CHURN_P:
            model.ended[f] += 1
            self.remove()


class CoreModel(mesa.Model):
    """The core rules with one Mesa agent per customer; per-firm tallies in a DataCollector."""

    def __init__(self, customers: int, rng: int | None = 0):
        super().__init__(rng=rng)
        self.active = [0] * C.N_FIRMS
        self.ended = [0] * C.N_FIRMS
        self.switched = [0] * C.N_FIRMS
        firms = self.random.choices(range(C.N_FIRMS), weights=C.SHARES, k=customers)
        for f in firms:
            Customer(self, f)
        self.datacollector = mesa.DataCollector(model_reporters={
            "active": lambda m: list(m.active), "churned": lambda m: list(m.ended), "switched": lambda m: list(m.switched)})

    def step(self) -> None:
        self.active = [0] * C.N_FIRMS
        self.ended = [0] * C.N_FIRMS
        self.switched = [0] * C.N_FIRMS
        self.agents.do("step")
        self.datacollector.collect(self)


def simulate(customers: int, periods: int, seed: int = 0) -> dict:
    """Run the model; per period and firm: ``active`` (at the start) and ``churned`` (relationships
    ended: switched out or left), ``switched`` (switched out), plus ``seconds`` of stepping (set-up
    excluded)."""
    model = CoreModel(customers, rng=seed)
    start = time.perf_counter()
    for _ in range(periods):
        model.step()
    seconds = time.perf_counter() - start
    df = model.datacollector.get_model_vars_dataframe()
    return {k: [list(map(int, row)) for row in df[k]] for k in ("active", "churned", "switched")} | {"seconds": seconds}


if __name__ == "__main__":
    out = simulate(10_000, 12, seed=1)
    total = sum(map(sum, out["active"]))
    print(f"mesa agents: {total / out['seconds'] / 1e6:.3f} M customer-periods/s")
