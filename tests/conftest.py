"""Shared helpers: small scenarios built as dicts, so each test states what it changes."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from sim.model import RetentionModel

ALL_OFF = ({k: False for k in ("experience", "bonding", "attachment", "choice", "arrivals", "measures")}
           | {"background_churn": True})


def scenario(**sections) -> dict:
    """A two-firm scenario dict with the given top-level sections merged in."""
    base = {
        "name": "test",
        "simulation": {"customers": 4000, "periods": 36},
        "firms": [{"name": "focal", "initial_share": 1.0}, {"name": "rival", "initial_share": 0.0}],
    }
    out = copy.deepcopy(base)
    out.update(copy.deepcopy(sections))
    return out


def run_model(spec: dict, seed: int = 1, until: int | None = None) -> RetentionModel:
    """Build and run a model (to ``until`` periods if given)."""
    m = RetentionModel(spec, rng=seed)
    for _ in range(until if until is not None else m.config.simulation.periods):
        m.step()
    return m


def z_tolerance() -> float:
    """Tolerance of stochastic tests, in standard errors (two-sided ~ 6e-5 false-alarm rate)."""
    return 4.0


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
