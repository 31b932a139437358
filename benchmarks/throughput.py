"""Throughput benchmark: customer-periods per second, measured in one run on one machine.

(a) this engine, all mechanisms on (the shipped telecom scenario: contracts, two firms, arrivals),
    at 10k, 100k and 1M customers for 120 periods;
(b) a plain per-agent Mesa implementation of the same core rules (one ``mesa.Agent`` per customer:
    experience, satisfaction, trust, commitment, bond, consideration, logit choice, background churn)
    at 10k customers;
(c) a trivial vectorised kernel (one random draw and three float updates per customer-period, float32,
    in place) as this machine's practical limit;
and the bytes of state per customer. Ratios, not absolute numbers, are the result: the machine is
shared and noisy. The last printed line is one JSON object.

    python benchmarks/throughput.py           # full run (a few minutes)
    python benchmarks/throughput.py --quick   # under a minute
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time

import mesa
import numpy as np

from sim.model import RetentionModel


def engine(customers: int, periods: int, seed: int = 1, kind: str = "fused") -> tuple[float, int]:
    """Customer-periods per second of the array engine (``kind``: the compiled kernel or the numpy
    reference), and state bytes per customer row. Compilation happens before the clock starts."""
    RetentionModel("telecom", rng=seed, engine=kind, **{"simulation.customers": 100, "simulation.periods": 2}).run()
    model = RetentionModel("telecom", rng=seed, engine=kind, **{"simulation.customers": customers, "simulation.periods": periods})
    start = time.perf_counter()
    model.run()
    elapsed = time.perf_counter() - start
    total = int(model.datacollector.get_agent_vars_dataframe()["active"].sum())
    return total / elapsed, model.customers.state_bytes()


class CustomerAgent(mesa.Agent):
    """One customer as a Mesa agent, with the engine's core rules written per customer."""

    def __init__(self, model, firm: int):
        super().__init__(model)
        rng = model.rng
        self.firm = firm
        self.satisfaction = float(np.clip(rng.normal(0.6, 0.1), 0, 1))
        self.trust = float(np.clip(rng.normal(0.3, 0.1), 0, 1))
        self.commitment = 0.0
        self.fit = float(rng.normal(0, 0.12))
        self.churn_p = 0.005

    def step(self):
        if self.firm < 0:
            return
        m, rng = self.model, self.model.rng
        q = m.quality[self.firm]
        u = rng.random()
        p_inc = 0.2 * (1 - q)
        e = 0.1 if u < p_inc and u / p_inc >= 0.6 * 0.5 else q + self.fit + 0.1 * rng.standard_normal()
        self.satisfaction += 0.25 * (min(max(e, 0.0), 1.0) - self.satisfaction)
        k = 0.05 if self.satisfaction > self.trust else 0.15
        self.trust += k * (self.satisfaction - self.trust)
        self.commitment = min(max(self.commitment + 0.04 * (self.trust - self.commitment) - 0.01 * self.commitment, 0.0), 1.0)
        bond = (0.3 * self.satisfaction + 0.35 * self.trust + 0.35 * self.commitment)
        if rng.random() < 0.04 + 0.5 * (1 - self.satisfaction) ** 2:
            utils = [2.0 * m.quality[j] + (6.0 * bond if j == self.firm else 0.0) for j in range(len(m.quality))] + [-1.5]
            g = [u_ - math.log(-math.log(rng.random())) for u_ in utils]
            pick = int(np.argmax(g))
            self.firm = -1 if pick == len(m.quality) else pick
        if self.firm >= 0 and rng.random() < self.churn_p:
            self.firm = -1


class MesaAgentsModel(mesa.Model):
    """The same core rules with one Mesa agent per customer (the baseline the engine replaces)."""

    def __init__(self, customers: int, rng: int = 1):
        super().__init__(rng=rng)
        self.quality = [0.65, 0.55]
        for i in range(customers):
            CustomerAgent(self, i % 2)

    def step(self):
        self.agents.do("step")


def mesa_agents(customers: int, periods: int) -> float:
    model = MesaAgentsModel(customers)
    start = time.perf_counter()
    for _ in range(periods):
        model.step()
    return customers * periods / (time.perf_counter() - start)


def kernel(customers: int, periods: int, seed: int = 1) -> float:
    """One uniform draw and three float updates per customer-period: the practical numpy limit."""
    rng = np.random.default_rng(seed)
    s = np.zeros(customers, np.float32)
    t = np.zeros(customers, np.float32)
    c = np.ones(customers, np.float32)
    u = np.empty(customers, np.float32)
    start = time.perf_counter()
    for _ in range(periods):
        rng.random(out=u, dtype=np.float32)
        u -= s
        u *= 0.25
        s += u          # s <- s + 0.25 (u - s)
        t *= 0.95
        t += 0.05 * s   # t <- t + 0.05 (s - t)
        c *= 0.99       # decay
    return customers * periods / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes and fewer periods (under a minute)")
    args = ap.parse_args()
    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    periods = 24 if args.quick else 120
    mesa_periods = 2 if args.quick else 5

    rates, numpy_rates, bytes_per = {}, {}, 0
    for n in sizes:
        rates[n], bytes_per = engine(n, periods)
        print(f"engine      {n:>9,} customers x {periods} periods: {rates[n] / 1e6:8.2f} M customer-periods/s")
        numpy_rates[n], _ = engine(n, periods, kind="numpy")
        print(f"  (numpy reference path: {numpy_rates[n] / 1e6:8.2f} M customer-periods/s)")
    mesa_rate = mesa_agents(10_000, mesa_periods)
    print(f"mesa agents {10_000:>9,} customers x {mesa_periods} periods: {mesa_rate / 1e6:8.4f} M customer-periods/s")
    largest = sizes[-1]
    limit = kernel(largest, periods)
    print(f"kernel      {largest:>9,} customers x {periods} periods: {limit / 1e6:8.2f} M customer-periods/s")
    result = {
        "quick": args.quick,
        "periods": periods,
        "engine_customer_periods_per_s": {str(n): round(r) for n, r in rates.items()},
        "numpy_engine_customer_periods_per_s": {str(n): round(r) for n, r in numpy_rates.items()},
        "mesa_agents_customer_periods_per_s": round(mesa_rate),
        "kernel_customer_periods_per_s": round(limit),
        "speedup_vs_mesa_agents": round(rates[10_000] / mesa_rate, 1),
        "fraction_of_limit": round(rates[largest] / limit, 4),
        "largest_size": largest,
        "bytes_per_customer": bytes_per,
        # customer-periods/s at the largest size over the smallest: ~1 if run time is linear in customers
        "rate_ratio_largest_vs_smallest": round(rates[largest] / rates[sizes[0]], 3),
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
