"""Word of mouth rules: the 0-10 recommendation score and the NPS bins."""

import numpy as np

from sim.mechanisms.word_of_mouth import is_detractor, is_promoter, net_word
from sim.population import NPS_CURVE, nps_score


def test_score_is_the_rounded_curve_on_a_fine_grid():
    grid = np.linspace(0.0, 1.0, 20_001)
    assert [nps_score(s) for s in grid] == [min(int(10 * s**NPS_CURVE + 0.5), 10) for s in grid]
    assert nps_score(0.0) == 0 and nps_score(1.0) == 10 and nps_score(0.6) == 8


def test_nps_bins_follow_the_definition():
    assert [is_promoter(k) for k in range(11)] == [False] * 9 + [True] * 2
    assert [is_detractor(k) for k in range(11)] == [True] * 7 + [False] * 4


def test_net_word():
    assert net_word(3, 1, 6) == 2 / 6 and net_word(0, 0, 0) == 0.0 and net_word(0, 4, 4) == -1.0


def test_what_customers_say_reaches_their_listeners_only_in_the_next_period():
    """Within a period every customer is updated simultaneously (docs/model.md, 1.3): a service boost
    for segment a from period 4 changes what a's customers say in period 4, but segment b's customers,
    who listen to them, hear it only in period 5. Same seed, so everything else is equal."""
    from conftest import scenario

    from sim.model import RetentionModel

    n, start = 3000, 4

    def run(measures):
        m = RetentionModel(scenario(
            simulation={"customers": n, "periods": start + 2},
            mechanisms={"arrivals": False},
            segments=[{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}],
            measures=[{"type": "referral", "word_weight": 0.5, "referrals_per_promoter": 0.0}, *measures]), rng=5)
        states = []
        for _ in range(start + 2):
            m.step()
            states.append((m.customers.satisfaction.copy(), m.customers.nps.copy()))
        return m, states

    off, off_states = run([])
    on, on_states = run([{"type": "service", "quality_boost": 0.3, "target": {"segment": "a"}, "schedule": {"start": start}}])
    b = off.customers.segment == 1
    assert (on.customers.segment == off.customers.segment).all()
    for t in range(start):
        assert np.array_equal(off_states[t][0], on_states[t][0]), t
    (s_off, nps_off), (s_on, nps_on) = off_states[start], on_states[start]
    assert not np.array_equal(nps_off[~b], nps_on[~b])  # segment a says something else in period 4 ...
    assert np.array_equal(s_off[b], s_on[b])  # ... but segment b has not heard it yet
    assert not np.array_equal(off_states[start + 1][0][b], on_states[start + 1][0][b])  # it has in period 5
