"""What the engine's design can reach: the core rules as two compiled loops, measured beside the numpy script.

The engine runs every customer's period as one scalar pass over the rows (``sim.kernel``): per row,
the rules one after another, with branches. This benchmark asks how fast that design can be at best,
and what the alternative would give, on the core rules only (``baselines/core.py``), one thread,
contiguous float32 columns, no departed rows (the population is refilled instead of shrinking, so
every loop works on the same number of rows), the engine's own counter-based draws (Philox4x32-10,
:mod:`sim.rng`) and its own rule functions (:mod:`sim.mechanisms`):

(s) ``scalar``: one loop over rows, each row's rules in turn, as the engine does (its best case: no
    row index, no measures, no accounting, no tracing);
(s+) ``scalar_wide``: the same plus 24 extra column updates per row (12 read-modify-writes, 12
    reads), the order of what the full engine does beyond the core rules (contracts, lock-in,
    attachment, classes, prices, measures, accounting, events), to measure the cost of one more
    column operation per row;
(b) ``blocked``: rows in blocks of 256; per block, the draws, the normal quantiles and the
    deterministic rules each run as a branch-free loop over the block, which the compiler turns into
    SIMD instructions; only the few considering customers (the logit choice) and the few leavers are
    handled one by one; ``blocked_choice_ns`` is what the choice costs in it (timed once without);
(n) the numpy script (``baselines/numpy_script.py``) at the same size.

The figures (ns per customer-period) go to ``docs/performance.md``. The three compiled loops apply
the same rules with the same numbers, so their churn agrees exactly (checked here: blocked and scalar
must make identical decisions).

    python benchmarks/design_floor.py            # 100k customers, 60 periods
    python benchmarks/design_floor.py --quick    # 20k customers, 20 periods
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numba
import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.baselines import core as C  # noqa: E402
from benchmarks.baselines import numpy_script  # noqa: E402
from sim.codes import P_CHOICE, P_PERIOD  # noqa: E402
from sim.mechanisms import bonding, choice, experience  # noqa: E402
from sim.rng import draw, gumbel, in_normal_tail, normal, normal_central, normal_tail, uniform  # noqa: E402

BLOCK = 256
NF = C.N_FIRMS
QUALITY = np.array(C.QUALITY)
P_INC = np.array(C.P_INCIDENT)
jit = numba.njit(nogil=True, error_model="numpy", cache=False)


@jit
def _choose(k0, k1, who, t, cur, quality, bond):
    """Logit pick among the firms and leaving (index NF): utility plus Gumbel noise, argmax."""
    best = -1e300
    pick = cur
    w0, w1, w2, _ = draw(k0, k1, who, t, P_CHOICE, 0)
    for j in range(NF + 1):
        word = w0 if j == 0 else (w1 if j == 1 else w2)
        if j == NF:
            util = C.OUTSIDE_UTILITY
        elif j == cur:
            util = C.QUALITY_COEF * quality[j] + C.BOND_COEF * bond
        else:
            util = C.QUALITY_COEF * quality[j]
        util += gumbel(uniform(word))
        if util > best:
            best = util
            pick = j
    return pick


@jit
def _restart(i, nxt, firm, trust, com, fit, k0, k1, t):
    """A switcher starts anew with ``nxt``; a leaver is replaced by a newcomer at firm ``i % NF`` (so
    the population stays the same size). Either way trust, commitment and fit restart."""
    firm[i] = nxt if nxt < NF else i % NF
    trust[i] = C.INITIAL_TRUST
    com[i] = 0.0
    _, _, _, w3 = draw(k0, k1, i, t, P_CHOICE, 1)
    fit[i] = C.FIT_SD * normal(uniform(w3))


@jit
def scalar(t, firm, sat, trust, com, fit, extra, quality, p_inc, k0, k1, ended, wide):
    """Core rules, one row at a time (the engine's design)."""
    for i in range(firm.shape[0]):
        f = firm[i]
        w0, w1, w2, w3 = draw(k0, k1, i, t, P_PERIOD, 0)
        incident, _, handled = experience.service_events(uniform(w0), p_inc[f], C.COMPLAINT_PROB, C.HANDLING[0])
        e = experience.experience(quality[f] + fit[i], C.NOISE, normal(uniform(w1)), incident, handled,
                                  C.INCIDENT_EXPERIENCE, C.RECOVERY_BONUS, 0.0, 0.0)
        s = experience.update_satisfaction(sat[i], e, C.SAT_RATE)
        sat[i] = s
        tr = bonding.update_trust(trust[i], s, C.TRUST_GAIN, C.TRUST_LOSS)
        trust[i] = tr
        c = bonding.update_commitment(com[i], tr, C.COMMIT_RATE, C.COMMIT_DECAY)
        com[i] = c
        if wide:
            for k in range(0, extra.shape[0], 2):
                extra[k, i] = extra[k, i] * np.float32(0.9) + s
                if extra[k + 1, i] > 5.0:
                    ended[f] += 0.0
        nxt = f
        if uniform(w2) < choice.consideration(s, False, C.BASE_CONS, C.DISSAT_CONS, 1.0, 0.0, 1.0):
            nxt = _choose(k0, k1, i, t, f, quality, bonding.bond_score(s, tr, c, 0.0, C.W_S, C.W_T, C.W_C))
        if nxt == f and choice.background_leave(uniform(w3), C.CHURN_P):
            nxt = NF
        if nxt != f:
            ended[f] += 1.0
            _restart(i, nxt, firm, trust, com, fit, k0, k1, t)


@jit
def blocked(t, firm, sat, trust, com, fit, quality, p_inc, k0, k1, ended, with_choice):
    """Core rules, a block of rows per rule (the alternative design); without ``with_choice`` the
    considering customers stay (to measure what the choice costs)."""
    n = firm.shape[0]
    u0 = np.empty(BLOCK)
    u1 = np.empty(BLOCK)
    u2 = np.empty(BLOCK)
    u3 = np.empty(BLOCK)
    z = np.empty(BLOCK)
    pc = np.empty(BLOCK)
    tails = np.empty(BLOCK, dtype=np.int64)
    for b in range(0, n, BLOCK):
        m = min(BLOCK, n - b)
        for j in range(m):  # draws (vectorised)
            w0, w1, w2, w3 = draw(k0, k1, b + j, t, P_PERIOD, 0)
            u0[j] = uniform(w0)
            u1[j] = uniform(w1)
            u2[j] = uniform(w2)
            u3[j] = uniform(w3)
        for j in range(m):  # central normal quantile (vectorised), tails listed and corrected
            z[j] = normal_central(u1[j])
        k = 0
        for j in range(m):
            tails[k] = j
            k += in_normal_tail(u1[j])
        for q in range(k):
            z[tails[q]] = normal_tail(u1[tails[q]])
        for j in range(m):  # experience, satisfaction, trust, commitment, consideration (vectorised)
            i = b + j
            f = firm[i]
            pi = p_inc[f]
            incident = u0[j] < pi
            handled = u0[j] < pi * (C.COMPLAINT_PROB * C.HANDLING[0])
            base = quality[f] + fit[i]
            e = base + C.NOISE * z[j]
            e = C.INCIDENT_EXPERIENCE if incident else e
            e = base + C.RECOVERY_BONUS if handled else e
            e = min(max(e, 0.0), 1.0)
            s = experience.update_satisfaction(sat[i], e, C.SAT_RATE)
            sat[i] = s
            tr = bonding.update_trust(trust[i], s, C.TRUST_GAIN, C.TRUST_LOSS)
            trust[i] = tr
            com[i] = bonding.update_commitment(com[i], tr, C.COMMIT_RATE, C.COMMIT_DECAY)
            pc[j] = choice.consideration(s, False, C.BASE_CONS, C.DISSAT_CONS, 1.0, 0.0, 1.0)
        for j in range(m):  # the few who consider or meet a life event, one by one
            if u2[j] < pc[j] or u3[j] < C.CHURN_P:
                i = b + j
                f = firm[i]
                nxt = f
                if with_choice and u2[j] < pc[j]:
                    nxt = _choose(k0, k1, i, t, f, quality,
                                  bonding.bond_score(sat[i], trust[i], com[i], 0.0, C.W_S, C.W_T, C.W_C))
                if nxt == f and choice.background_leave(u3[j], C.CHURN_P):
                    nxt = NF
                if nxt != f:
                    ended[f] += 1.0
                    _restart(i, nxt, firm, trust, com, fit, k0, k1, t)


def considering(n: int) -> float:
    """Mean probability of considering alternatives over the initial population (the share of rows
    that reach the choice in an early period)."""
    sat = _state(n)[1].astype(np.float64)
    return float(np.mean(np.minimum(C.BASE_CONS + C.DISSAT_CONS * (1 - sat) ** 2, 1.0)))


def _state(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    f32 = np.float32
    return (np.arange(n, dtype=np.int8) % NF, np.clip(rng.normal(C.INITIAL_SAT, C.INITIAL_SD, n), 0, 1).astype(f32),
            np.clip(rng.normal(C.INITIAL_TRUST, C.INITIAL_SD, n), 0, 1).astype(f32), np.zeros(n, f32),
            (rng.normal(0, C.FIT_SD, n)).astype(f32))


def _time(step, n: int, periods: int) -> tuple[float, np.ndarray]:
    """Best of 3 runs: ns per customer-period, and the relationships ended per firm (last run)."""
    best = np.inf
    for _ in range(3):
        state = _state(n)
        ended = np.zeros(NF)
        step(0, state, ended)  # compile / warm caches
        ended[:] = 0.0
        start = time.perf_counter()
        for t in range(1, periods + 1):
            step(t, state, ended)
        best = min(best, (time.perf_counter() - start) / (n * periods) * 1e9)
    return best, ended


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    n, periods = (20_000, 20) if a.quick else (100_000, 60)
    k0, k1 = 12345, 0
    extra = np.zeros((24, n), np.float32)

    def run_scalar(t, st, ended, wide=False):
        scalar(t, *st, extra, QUALITY, P_INC, k0, k1, ended, wide)

    def run_wide(t, st, ended):
        run_scalar(t, st, ended, True)

    def run_blocked(t, st, ended, with_choice=True):
        blocked(t, *st, QUALITY, P_INC, k0, k1, ended, with_choice)

    def run_blocked_no_choice(t, st, ended):
        run_blocked(t, st, ended, False)

    s_ns, s_end = _time(run_scalar, n, periods)
    w_ns, _ = _time(run_wide, n, periods)
    b_ns, b_end = _time(run_blocked, n, periods)
    bn_ns, _ = _time(run_blocked_no_choice, n, periods)
    if not np.array_equal(s_end, b_end):
        raise SystemExit(f"scalar and blocked loops made different decisions: {s_end} vs {b_end}")
    np_ns = min(r["seconds"] / sum(map(sum, r["active"]))
                for r in (numpy_script.simulate(n, periods, seed=k) for k in range(3))) * 1e9
    out = {"customers": n, "periods": periods, "scalar_ns": round(s_ns, 1), "scalar_wide_ns": round(w_ns, 1),
           "ns_per_extra_column_op": round((w_ns - s_ns) / 24, 2), "blocked_ns": round(b_ns, 1),
           "blocked_choice_ns": round(b_ns - bn_ns, 1),
           "numpy_script_ns": round(np_ns, 1), "blocked_over_scalar": round(s_ns / b_ns, 2),
           "numpy_over_scalar": round(s_ns / np_ns, 2), "relationships_ended": s_end.tolist()}
    out["considering_share"] = round(float(considering(n)), 3)
    for k, v in out.items():
        print(f"{k:24s} {v}")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
