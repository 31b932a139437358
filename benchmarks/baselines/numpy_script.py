"""The core rules as a competent numpy user would write them: a plain vectorised script.

One numpy ``Generator``, one thread, no numba. State is one float32 array per quantity (values in
[0, 1] need no more; float32 halves the memory traffic and numpy draws float32 uniforms and normals
natively), the firm is an int8 array, and the logit weights (few rows) are float64. Choices made as
an experienced numpy user would:

- Departed customers are dropped: the arrays are compacted every period, so no work is spent on
  rows that have left, and no masks are carried around.
- The customer's fit is kept as ``base = quality[firm] + fit`` (what an experience is centred on),
  updated only when a customer switches.
- Random numbers are drawn only where needed: the logit draw and the bond only for considering
  customers (one uniform each, inverse CDF of the weights ``exp(U)``: the same choice probabilities
  as the engine's ``argmax(U + Gumbel)``); background churn as a uniformly random subset of
  ``Binomial(n, p)`` rows (equivalent to an independent ``u < p`` per row), of whom those who already
  left by choice are ignored; the new fit only for switchers. The experience uniform and normal are
  drawn for every row (the normal is used by ~92% of them).
- Updates are in place where natural (``+=``, ``*=``, ``out=``).

It leaves out everything the engine does beyond the core rules (see ``mesa_agents.py`` for the
list): contracts, lock-in, attachment and the 2 x 2 classification, nostalgia, prices and reference
prices, measures, accounting and CLV, per-firm means, arrivals, relationship records and histories.

    python -m benchmarks.baselines.numpy_script   # a small timing
"""

from __future__ import annotations

import time

import numpy as np

try:
    from . import core as C
except ImportError:  # run as a file
    import core as C  # type: ignore[no-redef]

F32 = np.float32


def simulate(customers: int, periods: int, seed: int = 0) -> dict:
    """Run the core rules; per period and firm: ``active`` (at the start) and ``churned``
    (relationships ended: switched out or left), ``switched`` (switched out), plus ``seconds`` of the
    period loop."""
    rng = np.random.default_rng(seed)
    nf = C.N_FIRMS
    quality = np.array(C.QUALITY, F32)
    p_incident = np.array(C.P_INCIDENT, F32)
    p_handled = np.array(C.P_HANDLED, F32)
    w_firm = np.exp(C.QUALITY_COEF * np.array(C.QUALITY))        # logit weight of each firm without bond
    w_sum = C.W_S + C.W_T + C.W_C

    firm = rng.choice(nf, size=customers, p=np.array(C.SHARES) / sum(C.SHARES)).astype(np.int8)
    sat = np.clip(rng.normal(C.INITIAL_SAT, C.INITIAL_SD, customers), 0, 1).astype(F32)
    trust = np.clip(rng.normal(C.INITIAL_TRUST, C.INITIAL_SD, customers), 0, 1).astype(F32)
    com = np.zeros(customers, F32)
    base = quality[firm] + rng.normal(0.0, C.FIT_SD, customers).astype(F32)   # quality + fit

    active = np.zeros((periods, nf), np.int64)
    churned = np.zeros((periods, nf), np.int64)
    switched = np.zeros((periods, nf), np.int64)
    start = time.perf_counter()
    for t in range(periods):
        n = firm.size
        active[t] = np.bincount(firm, minlength=nf)
        # 1. experience: one uniform decides incident / well-handled complaint
        u = rng.random(n, dtype=F32)
        e = rng.standard_normal(n, dtype=F32)
        e *= F32(C.NOISE)
        e += base
        handled = u < p_handled[firm]
        bad = u < p_incident[firm]
        bad &= ~handled                                  # incident not handled well
        e[bad] = C.INCIDENT_EXPERIENCE
        np.add(base, F32(C.RECOVERY_BONUS), out=e, where=handled)
        np.clip(e, 0, 1, out=e)
        # 2. satisfaction (EWMA)
        e -= sat
        e *= F32(C.SAT_RATE)
        sat += e
        # 3. trust, asymmetric
        d = sat - trust
        d *= np.where(d > 0, F32(C.TRUST_GAIN), F32(C.TRUST_LOSS))
        trust += d
        # 4. commitment: c + rate (trust - c) - decay c
        com *= F32(1 - C.COMMIT_RATE - C.COMMIT_DECAY)
        com += F32(C.COMMIT_RATE) * trust
        np.clip(com, 0, 1, out=com)
        # 6. consideration: the pressure of suffering below the content level, squared
        p = np.subtract(F32(C.CONTENT_SAT), sat)
        np.maximum(p, 0, out=p)
        p *= F32(1 / C.CONTENT_SAT)
        p *= p
        p *= F32(C.DISSAT_CONS)
        p += F32(C.BASE_CONS)
        np.minimum(p, 1, out=p)
        who = np.flatnonzero(rng.random(n, dtype=F32) < p)
        # 5 + 7. bond and logit choice, only for those considering
        cur = firm[who].astype(np.intp)
        bond = np.clip((C.W_S * sat[who] + C.W_T * trust[who] + C.W_C * com[who]) / w_sum, 0, 1)
        w = np.empty((who.size, nf + 1))
        w[:, :nf] = w_firm
        w[:, nf] = np.exp(C.OUTSIDE_UTILITY)
        pull = 1 / (1 + np.exp((C.BONDED_THRESHOLD - bond) / C.BOND_SOFTNESS))   # the bond's logistic pull
        w[np.arange(who.size), cur] *= np.exp(C.BOND_COEF * pull)
        np.cumsum(w, axis=1, out=w)
        r = rng.random(who.size) * w[:, -1]
        pick = np.minimum((w < r[:, None]).sum(axis=1), nf)  # option index: firms 0..nf-1, nf = leave
        decided = pick != cur
        movers, dest = who[decided], pick[decided]
        # 8. background churn among those who stayed
        bg = rng.choice(n, size=rng.binomial(n, C.CHURN_P), replace=False)
        gone = np.zeros(n, bool)
        gone[bg] = True
        gone[movers] = False                             # ended by choice already
        churned[t] = np.bincount(firm[movers], minlength=nf) + np.bincount(firm[gone], minlength=nf)
        # 9. switchers start a new relationship; leavers are dropped
        sw = dest < nf
        s_rows, s_dest = movers[sw], dest[sw]
        switched[t] = np.bincount(firm[s_rows], minlength=nf)
        firm[s_rows] = s_dest
        trust[s_rows] = C.INITIAL_TRUST
        com[s_rows] = 0
        base[s_rows] = quality[s_dest] + rng.normal(0.0, C.FIT_SD, s_rows.size).astype(F32)
        gone[movers[~sw]] = True
        keep = ~gone
        firm, sat, trust, com, base = firm[keep], sat[keep], trust[keep], com[keep], base[keep]
    seconds = time.perf_counter() - start
    return {"active": active.tolist(), "churned": churned.tolist(), "switched": switched.tolist(), "seconds": seconds}


if __name__ == "__main__":
    out = simulate(1_000_000, 24, seed=1)
    total = sum(map(sum, out["active"]))
    print(f"numpy script: {total / out['seconds'] / 1e6:.2f} M customer-periods/s")
