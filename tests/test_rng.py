"""The counter-based generator: Philox4x32-10 known answers, and that every variate has its
distribution (Kolmogorov-Smirnov at a 1e-4 false-alarm rate, means within the stated SEs)."""

import numpy as np
import pytest
from conftest import z_tolerance
from scipy import special, stats

from sim import rng

Z = z_tolerance()
ALPHA = 1e-4


# Random123's kat_vectors for philox4x32_10: counter (4 words), key (2 words), expected output
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_philox_known_answers(counter, key, expected):
    assert tuple(int(w) for w in rng.philox(*counter, *key)) == expected


def test_key_splits_the_seed_and_rejects_out_of_range():
    assert rng.key(2**32 + 5) == (5, 1)
    with pytest.raises(ValueError):
        rng.key(-1)


def test_uniforms_are_open_interval_and_uniform():
    u = np.empty((50_000, 4))
    rng.uniforms(*rng.key(3), np.arange(50_000), 0, 1, u)
    assert u.min() > 0 and u.max() < 1
    assert stats.kstest(u.ravel(), "uniform").pvalue > ALPHA
    # neighbouring counters are uncorrelated
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < Z / np.sqrt(u.shape[0])
    assert rng.uniform(0) > 0 and rng.uniform(2**32 - 1) < 1


def test_normal_quantile_matches_scipy():
    u = np.concatenate([np.linspace(1e-9, 1 - 1e-9, 2001), [rng.uniform(0), rng.uniform(2**32 - 1)]])
    got = np.array([rng.normal(x) for x in u])
    want = special.ndtri(u)
    assert np.all(np.abs(got - want) <= 1.2e-9 * np.maximum(1.0, np.abs(want)))


@pytest.mark.parametrize("shape", [0.3, 1.0, 2.5, 11.1])
def test_gamma(shape):
    x = np.array([rng.gamma(7, 9, i, 0, 3, shape) for i in range(20_000)])
    assert stats.kstest(x, stats.gamma(shape).cdf).pvalue > ALPHA


def test_beta():
    x = np.array([rng.beta(7, 9, i, 0, 3, 2.0, 5.0) for i in range(20_000)])
    assert stats.kstest(x, stats.beta(2.0, 5.0).cdf).pvalue > ALPHA


@pytest.mark.parametrize("mean", [0.0, 0.7, 9.9, 10.0, 150.0, 1e6])
def test_poisson(mean):
    n = 20_000
    x = np.array([rng.poisson(7, 9, i, 4, 5, mean) for i in range(n)])
    if mean == 0:
        assert (x == 0).all()
        return
    assert abs(x.mean() - mean) < Z * np.sqrt(mean / n)
    assert abs(x.var() / mean - 1) < Z * np.sqrt(2 / n) * 1.5  # var/mean = 1, SE of a variance ratio ~ sqrt(2/n)
    if mean < 200:
        edges = np.arange(x.max() + 2)
        observed = np.histogram(x, bins=edges)[0]
        expected = stats.poisson(mean).pmf(edges[:-1]) * n
        keep = expected > 5
        chi = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
        assert stats.chi2(keep.sum() - 1).sf(chi) > ALPHA


def test_categorical():
    cum = np.array([0.2, 0.2, 0.7, 1.0])
    assert [rng.categorical(u, cum) for u in (0.1, 0.2, 0.5, 0.7, 0.99)] == [0, 2, 2, 3, 3]


def test_draws_are_pure_functions_of_their_counter():
    a = rng.draw(1, 2, 10, 5, 1, 0)
    assert a == rng.draw(1, 2, 10, 5, 1, 0)
    assert a != rng.draw(1, 2, 11, 5, 1, 0) and a != rng.draw(1, 2, 10, 6, 1, 0) and a != rng.draw(1, 2, 10, 5, 2, 0)
    assert a != rng.draw(1, 3, 10, 5, 1, 0)


def test_an_id_beyond_32_bits_gets_its_own_counter_and_one_below_keeps_the_counter_it_always_had():
    """A newcomer's id can exceed 32 bits (:func:`sim.population.arrival_id`): its high bits go to the
    period word above PERIOD_BITS, so ids below 2**32 draw exactly what they drew before, and ids that
    agree in their low 32 bits, or a high id in one period and a low id in another, never share a counter."""
    k0, k1 = rng.key(7)
    assert rng.draw(k0, k1, 12345, 17, 3, 0) == rng.philox(12345, 17, 3, 0, k0, k1)
    assert rng.draw(k0, k1, 2**32 - 1, 2399, 3, 0) == rng.philox(2**32 - 1, 2399, 3, 0, k0, k1)
    top = 2399 * 10**12 + 10_099 * 10**7 + 10**7 - 1  # the schema's last period, group and place
    assert top < 2 ** (64 - rng.PERIOD_BITS) and 2399 < 2**rng.PERIOD_BITS
    ids = [5, 2**32 + 5, 2**33 + 5, top, top - 2**32]
    seen = {rng.draw(k0, k1, who, t, 3, 0) for who in ids for t in (0, 1, 2399)}
    assert len(seen) == len(ids) * 3
    # the period word of (2**32 + 5, period 0) is 2**PERIOD_BITS: not the counter of (5, period 2**PERIOD_BITS)
    assert rng.draw(k0, k1, 2**32 + 5, 0, 3, 0) == rng.philox(5, 2**rng.PERIOD_BITS, 3, 0, k0, k1)
