"""Do the engine, the Mesa baseline and the numpy script run the same rules? Churn per period agrees
within Monte-Carlo error.

All three run the core rules of :mod:`benchmarks.baselines.core` (the engine through
``core.engine_scenario``) with independent seeds. For each period ``t`` and each implementation,
churn is ``h_t = churned_t / active_t`` summed over the firms (churned = switched out + left the
market). Customers do not interact, so given ``active_t`` the count ``churned_t`` is binomial, and
for each pair of implementations the statistic

    z_t = (h1_t - h2_t) / sqrt(h_t (1 - h_t) (1 / n1_t + 1 / n2_t))     (h_t pooled)

is approximately standard normal if both run the same rules. The verdict ``agree`` is true iff, for
every pair (engine-numpy, engine-mesa, numpy-mesa):

- every period has ``|z_t| < 4``. With 3 pairs x T periods tests, the chance of a false alarm is at
  most 3 T x 6.3e-5 (Bonferroni; 0.5 % for T = 24);
- the chi-square over periods, ``sum_t z_t^2 ~ chi2(T)``, has p >= 0.001 (catches many small
  deviations that no single period shows);
- churn pooled over all periods has ``|z| < 4`` (catches a small systematic bias).

Also reported, outside the verdict: the share of ended relationships that are switches (vs leaving
the market), pooled, with its z.

    python -m benchmarks.baselines.agree                 # 20k customers x 24 periods, all three
    python benchmarks/baselines/agree.py --customers 100000 --mesa-customers 20000
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make ``benchmarks`` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.baselines import core, mesa_agents, numpy_script  # noqa: E402

Z_MAX = 4.0
CHI2_ALPHA = 1e-3


def engine_simulate(customers: int, periods: int, seed: int = 0) -> dict:
    """The engine (``sim.RetentionModel``, public API only) on the core rules; same output as the
    baselines' ``simulate``: per period and firm ``active``, ``churned``, ``switched``; ``seconds``."""
    import sim

    model = sim.RetentionModel(core.engine_scenario(customers, periods, seed), rng=seed)
    start = time.perf_counter()
    model.run()
    seconds = time.perf_counter() - start
    df = model.datacollector.get_agent_vars_dataframe().reset_index()
    out: dict = {"seconds": seconds}
    firm = "AgentID" if "AgentID" in df.columns else None  # one row per period and firm agent
    for key, col in (("active", "active"), ("churned", "churned"), ("switched", "switched_out")):
        if firm:
            table = df.pivot_table(index="period", columns=firm, values=col, aggfunc="sum").sort_index()
        else:
            table = df.groupby("period")[[col]].sum().sort_index()
        out[key] = table.to_numpy().astype(int).tolist()
    return out


def _totals(result: dict, key: str) -> list[int]:
    return [sum(row) for row in result[key]]


def chi2_sf(x: float, k: int) -> float:
    """P(chi2_k > x), by the series of the regularized lower incomplete gamma function."""
    if x <= 0:
        return 1.0
    a, y = k / 2.0, x / 2.0
    term = total = 1.0 / a
    n = 0
    while term > total * 1e-15 and n < 10_000:
        n += 1
        term *= y / (a + n)
        total += term
    lower = math.exp(-y + a * math.log(y) - math.lgamma(a)) * total
    return max(0.0, 1.0 - lower)


def _z(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-proportion z statistic with the pooled proportion (0 when both are 0 or 1)."""
    h = (k1 + k2) / (n1 + n2)
    var = h * (1 - h) * (1 / n1 + 1 / n2)
    return (k1 / n1 - k2 / n2) / math.sqrt(var) if var > 0 else 0.0


def compare(a: dict, b: dict) -> dict:
    """Per-period z of churn, chi-square over periods, pooled z, and the pooled z of the switch share."""
    na, ka, nb, kb = _totals(a, "active"), _totals(a, "churned"), _totals(b, "active"), _totals(b, "churned")
    z = [_z(ka[t], na[t], kb[t], nb[t]) for t in range(len(na))]
    chi2 = sum(v * v for v in z)
    p = chi2_sf(chi2, len(z))
    pooled = _z(sum(ka), sum(na), sum(kb), sum(nb))
    sa, sb = sum(_totals(a, "switched")), sum(_totals(b, "switched"))
    switch_z = _z(sa, sum(ka), sb, sum(kb))
    ok = max(abs(v) for v in z) < Z_MAX and p >= CHI2_ALPHA and abs(pooled) < Z_MAX
    return {"max_abs_z": max(abs(v) for v in z), "chi2": chi2, "df": len(z), "chi2_p": p, "pooled_z": pooled,
            "switch_share": (sa / sum(ka), sb / sum(kb)), "switch_share_z": switch_z, "agree": ok, "z": z}


def check(customers: int = 20_000, periods: int = 24, mesa_customers: int | None = None, seed: int = 1,
          verbose: bool = True) -> dict:
    """Run all three on the core rules and compare churn per period; returns the comparisons and the
    verdict ``agree`` (see the module docstring for the tolerance)."""
    problems = core.check_constants()
    if problems:
        raise AssertionError("benchmark constants differ from the schema defaults: " + "; ".join(problems))
    runs = {
        "engine": engine_simulate(customers, periods, seed),
        "numpy": numpy_script.simulate(customers, periods, seed + 1),
        "mesa": mesa_agents.simulate(mesa_customers or customers, periods, seed + 2),
    }
    pairs = {f"{x}-{y}": compare(runs[x], runs[y]) for x, y in (("engine", "numpy"), ("engine", "mesa"), ("numpy", "mesa"))}
    verdict = all(c["agree"] for c in pairs.values())
    if verbose:
        h = {k: [c / n for c, n in zip(_totals(r, "churned"), _totals(r, "active"))] for k, r in runs.items()}
        print(f"churn per period (churned / active, both firms); engine and numpy {customers:,} customers, "
              f"mesa {mesa_customers or customers:,}, {periods} periods")
        print("period   engine    numpy     mesa   z(e-n)  z(e-m)  z(n-m)")
        for t in range(periods):
            zs = "  ".join(f"{pairs[p]['z'][t]:+6.2f}" for p in pairs)
            print(f"{t:>6}  {h['engine'][t]:.4f}   {h['numpy'][t]:.4f}   {h['mesa'][t]:.4f}   {zs}")
        for name, c in pairs.items():
            print(f"{name:>13}: max|z| {c['max_abs_z']:.2f} (< {Z_MAX:g}), chi2 {c['chi2']:.1f} on {c['df']} df "
                  f"(p = {c['chi2_p']:.3f}, >= {CHI2_ALPHA:g}), pooled z {c['pooled_z']:+.2f} (|z| < {Z_MAX:g}); "
                  f"switch share of churn {c['switch_share'][0]:.3f} vs {c['switch_share'][1]:.3f} (z {c['switch_share_z']:+.2f})"
                  f" -> {'agree' if c['agree'] else 'DISAGREE'}")
        print(f"verdict: churn per period {'agrees' if verdict else 'does NOT agree'} within Monte-Carlo error "
              f"(all pairs, |z| < {Z_MAX:g} per period: Bonferroni false-alarm <= {3 * periods * 6.3e-5:.2%})")
    return {"agree": verdict, "pairs": {k: {kk: vv for kk, vv in v.items() if kk != "z"} for k, v in pairs.items()},
            "customers": customers, "mesa_customers": mesa_customers or customers, "periods": periods}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--mesa-customers", type=int, default=None, help="customers for the Mesa baseline (default: same)")
    ap.add_argument("--periods", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    return 0 if check(args.customers, args.periods, args.mesa_customers, args.seed)["agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
