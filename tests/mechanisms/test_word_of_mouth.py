"""Word of mouth rules: the 0-10 recommendation score and the NPS bins."""

import numpy as np

from sim.mechanisms.word_of_mouth import is_detractor, is_promoter, net_word
from sim.population import nps_score


def test_score_is_the_rounded_curve_on_a_fine_grid():
    grid = np.linspace(0.0, 1.0, 20_001)
    assert [nps_score(s) for s in grid] == [min(int(10 * s**0.7 + 0.5), 10) for s in grid]
    assert nps_score(0.0) == 0 and nps_score(1.0) == 10 and nps_score(0.6) == 7


def test_nps_bins_follow_the_definition():
    assert [is_promoter(k) for k in range(11)] == [False] * 9 + [True] * 2
    assert [is_detractor(k) for k in range(11)] == [True] * 7 + [False] * 4


def test_net_word():
    assert net_word(3, 1, 6) == 2 / 6 and net_word(0, 0, 0) == 0.0 and net_word(0, 4, 4) == -1.0
