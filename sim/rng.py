"""Counter-based random numbers: every draw is a pure function of (seed, who, period, purpose, index).

The generator is **Philox4x32-10** (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as
1, 2, 3", SC'11; the Random123 library). It maps a 128-bit counter and a 64-bit key to 128 random bits
through ten rounds of multiply-and-xor; it passes the whole TestU01 BigCrush battery with many rounds
to spare, and it is the counter-based generator behind cuRAND, JAX, TensorFlow and numpy's ``Philox``
(a 64-bit-word variant). We chose it over a keyed hash because its statistical record is published and
reproduced by many implementations (the tests check Random123's known-answer vectors), and over a
sequential generator because a counter-based one needs no state: a customer's numbers are the same
whichever other customers exist, however rows are chunked and however many threads run.

Layout of one draw:

* key = the run's seed (two 32-bit halves; a batched run gives each replication its own seed);
* counter = (who, period, purpose + 256 * sub (+ 2**16 for the second gamma of a beta), index): ``who`` is
  the customer id (or the firm, for arrivals; a newcomer's id can exceed 32 bits, see
  :func:`sim.population.arrival_id`: the bits of ``who`` above 32 go to the period word above its
  :data:`PERIOD_BITS` bits, so an id below 2**32 has the counter it always had), ``purpose`` one of
  :class:`sim.codes.Purpose`, ``sub`` tells apart several quantities of one purpose (the traits drawn
  at entry), ``index`` counts blocks of four words when more are needed (the options of a choice, the
  attempts of a rejection sampler).

Each draw gives four 32-bit words; :func:`uniform` turns a word into a float in (0, 1) that is never 0
or 1, so logarithms are safe. Non-uniform variates use inversion where it is cheap and exact enough
(normal: Acklam's rational approximation, relative error < 1.2e-9, finer than the 2**-32 grid of the
uniforms; Poisson for small means), otherwise rejection with a counted sequence of blocks (gamma:
Marsaglia and Tsang 2000; Poisson for means >= 10: Hörmann's PTRS 1993, as in numpy).
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import rule

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_TO_UNIT = 2.0**-32

ROUNDS = 10
BOOST_INDEX = 1 << 20  # block index of the extra uniform of gamma(shape < 1)


@rule(inline="always")
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1); every word in [0, 2**32), as uint64.

    One round: (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2 (32x32 -> 64-bit products);
    c <- (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0); then the key is bumped by the Weyl constants.
    """
    c0 = np.uint64(c0) & _MASK
    c1 = np.uint64(c1) & _MASK
    c2 = np.uint64(c2) & _MASK
    c3 = np.uint64(c3) & _MASK
    k0 = np.uint64(k0) & _MASK
    k1 = np.uint64(k1) & _MASK
    for _ in range(ROUNDS):
        p0 = _M0 * c0
        p1 = _M1 * c2
        n0 = ((p1 >> _S32) ^ c1 ^ k0) & _MASK
        n2 = ((p0 >> _S32) ^ c3 ^ k1) & _MASK
        c1 = p1 & _MASK
        c3 = p0 & _MASK
        c0 = n0
        c2 = n2
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return c0, c1, c2, c3


def key(seed: int) -> tuple[int, int]:
    """The Philox key of a seed (0 <= seed < 2**64): its low and high 32-bit halves."""
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return seed & 0xFFFFFFFF, seed >> 32


PERIOD_BITS = 12  # periods < 2**12 (the schema allows 2,400); ``who`` < 2**(32 + 32 - PERIOD_BITS)


@rule(inline="always")
def draw(k0, k1, who, period, purpose, index):
    """Four random words for (who, period, purpose, index) under key (k0, k1): the counter is
    ``(who mod 2**32, period + 2**PERIOD_BITS * (who div 2**32), purpose, index)``, one counter for
    each (who, period) while ``period < 2**PERIOD_BITS`` and ``who < 2**52``."""
    return philox(who, period + ((np.int64(who) >> 32) << PERIOD_BITS), purpose, index, k0, k1)


@rule(inline="always")
def uniform(word):
    """A 32-bit word as a float in (0, 1): ``(word + 0.5) / 2**32`` (never exactly 0 or 1)."""
    return (np.float64(word) + 0.5) * _TO_UNIT


NORMAL_LOW = 0.02425  # below this (and above 1 - it) the normal quantile uses its tail formula


@rule(inline="always")
def normal_central(u):
    """Standard normal quantile of ``u`` in [NORMAL_LOW, 1 - NORMAL_LOW] (Acklam's central rational
    approximation; branch-free, so loops over it vectorise)."""
    q = u - 0.5
    r = q * q
    return (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r
              + 1.383577518672690e+02) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q / \
        (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r
           + 6.680131188771972e+01) * r - 1.328068155288572e+01) * r + 1.0)


@rule(inline="always")
def in_normal_tail(u):
    """Whether ``u`` is outside the range of :func:`normal_central`."""
    return u < NORMAL_LOW or u > 1.0 - NORMAL_LOW


@rule
def normal_tail(u):
    """Standard normal quantile of ``u`` in either tail (Acklam's tail rational approximation)."""
    q = math.sqrt(-2.0 * math.log(u if u < 0.5 else 1.0 - u))
    x = (((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q
           - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00) / \
        ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q
          + 3.754408661907416e+00) * q + 1.0)
    return x if u < 0.5 else -x


@rule
def normal(u):
    """Standard normal quantile of ``u`` in (0, 1) (Acklam's rational approximation)."""
    return normal_tail(u) if in_normal_tail(u) else normal_central(u)


@rule
def gumbel(u):
    """Standard Gumbel variate ``-log(-log(u))``: argmax(U + Gumbel) picks option j with softmax(U)_j."""
    return -math.log(-math.log(u))


@rule
def gamma(k0, k1, who, period, purpose, shape):
    """Gamma(shape, 1) by Marsaglia and Tsang's method; attempts use the counter's blocks index = 0, 1,
    ... (two attempts per block). For shape < 1, G(shape) = G(shape + 1) * U**(1/shape), with U from the
    block index ``BOOST_INDEX``."""
    extra = 1.0
    a = shape
    if shape < 1.0:
        a = shape + 1.0
        w0, _, _, _ = draw(k0, k1, who, period, purpose, BOOST_INDEX)
        extra = uniform(w0) ** (1.0 / shape)
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    for index in range(256):
        w0, w1, w2, w3 = draw(k0, k1, who, period, purpose, index)
        for attempt in range(2):
            x = normal(uniform(w0 if attempt == 0 else w2))
            u = uniform(w1 if attempt == 0 else w3)
            v = 1.0 + c * x
            if v <= 0.0:
                continue
            v = v * v * v
            if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
                return d * v * extra
    return d * extra  # 512 rejections in a row: probability below 1e-300


@rule
def beta(k0, k1, who, period, purpose, a, b):
    """Beta(a, b) as G_a / (G_a + G_b); the second gamma uses the third counter word ``purpose + 2**16``."""
    x = gamma(k0, k1, who, period, purpose, a)
    y = gamma(k0, k1, who, period, purpose + 65536, b)
    return x / (x + y)


@rule
def poisson(k0, k1, who, period, purpose, mean):
    """Poisson(mean): inversion for mean < 10, Hörmann's transformed rejection (PTRS) otherwise."""
    if mean <= 0.0:
        return 0
    if mean < 10.0:
        w0, _, _, _ = draw(k0, k1, who, period, purpose, 0)
        u = uniform(w0)
        p = math.exp(-mean)
        cdf = p
        k = 0
        while u > cdf and k < 1000:
            k += 1
            p *= mean / k
            cdf += p
        return k
    slam = math.sqrt(mean)
    loglam = math.log(mean)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    for index in range(1 << 16):
        w0, w1, w2, w3 = draw(k0, k1, who, period, purpose, index)
        for attempt in range(2):
            uu = uniform(w0 if attempt == 0 else w2) - 0.5
            v = uniform(w1 if attempt == 0 else w3)
            us = 0.5 - abs(uu)
            k = math.floor((2.0 * a / us + b) * uu + mean + 0.43)
            if us >= 0.07 and v <= vr:
                return int(k)
            if k < 0 or (us < 0.013 and v > us):
                continue
            if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -mean + k * loglam - math.lgamma(k + 1.0):
                return int(k)
    return int(mean)


@rule
def categorical(u, cumulative):
    """Index k with cumulative[k-1] <= u < cumulative[k] (``cumulative`` ends at 1)."""
    k = 0
    last = cumulative.shape[0] - 1
    while k < last and u >= cumulative[k]:
        k += 1
    return k


@rule
def uniforms(k0, k1, who, period, purpose, out):
    """Fill ``out`` (shape (n, 4)) with the four uniforms of (who[i], period, purpose, 0) for each i;
    a vectorisable loop, used to look at the generator's output in bulk (tests, diagnostics)."""
    for i in range(who.shape[0]):
        w0, w1, w2, w3 = draw(k0, k1, who[i], period, purpose, 0)
        out[i, 0] = uniform(w0)
        out[i, 1] = uniform(w1)
        out[i, 2] = uniform(w2)
        out[i, 3] = uniform(w3)
