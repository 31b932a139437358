"""Firm measures, one lever per module. :func:`build` turns scenario entries into measure objects."""

from __future__ import annotations

from ..params import Scenario
from .base import Measure
from .contracts import Contract
from .discounts import Discount
from .nostalgia import Nostalgia
from .price import PriceChange
from .service import Service

KINDS: dict[str, type[Measure]] = {
    "discount": Discount,
    "service": Service,
    "contract": Contract,
    "nostalgia": Nostalgia,
    "price_change": PriceChange,
}


def build(scenario: Scenario) -> list[Measure]:
    """Measure objects for every scenario entry, sorted by the order in which they act."""
    measures = [KINDS[p.type](p, scenario) for p in scenario.measures]
    return sorted(measures, key=lambda m: m.order)


__all__ = ["KINDS", "Measure", "build", "Contract", "Discount", "Nostalgia", "PriceChange", "Service"]
