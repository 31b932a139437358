"""Technical lock-in and the ecosystem (DIM-LockIn: specific investments, compatible systems and
data make switching costly; cross-selling deepens the integration).

A reached customer takes a further product of the firm with probability ``cross_sell`` times her
satisfaction per period (up to ``max_products``; DIM-LockIn, REVIERDIALOG: satisfied regulars adopt new
products quickly). Each product adds ``lockin_per_product`` of technical lock-in (money lost on
switching) and ``margin_per_product`` of margin per period. Ageing technology erodes lock-in: from
period ``ageing_from`` the lock-in of the firm's customers falls by ``erosion`` per period (customers
can migrate more easily once the platform is dated). Cost per offer made."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._jit import rule
from .._schema import Probability
from .base import Measure, MeasureParams

TYPE = "ecosystem"


class EcosystemParams(MeasureParams):
    """Cross-selling that deepens technical lock-in, and its erosion as the technology ages."""

    type: Literal["ecosystem"]
    cross_sell: Probability = Field(0.05, description=(
        "Probability per period that a fully satisfied customer takes another product. Unit: 1/period. [invented]"))
    max_products: int = Field(3, ge=1, le=100, description="Further products a customer can hold. Unit: products. [invented]")
    lockin_per_product: float = Field(40.0, ge=0, le=1e7, description=(
        "Technical lock-in each product adds. Unit: money. [invented]"))
    margin_per_product: float = Field(4.0, ge=0, le=1e7, description=(
        "Margin of each further product. Unit: money/period. [invented]"))
    ageing_from: int | None = Field(None, ge=0, le=100_000, description=(
        "Period from which the technology ages (None = it does not). Unit: period. [invented]"))
    erosion: Probability = Field(0.05, description=(
        "Share of lock-in lost per period once the technology ages. Unit: 1/period. [invented]"))
    cost_per_offer: float = Field(1.0, ge=0, le=1e7, description=(
        "Cost of offering products to one customer for a period. Unit: money/period. [invented]"))


CROSS_SELL, MAX_PRODUCTS, LOCKIN, MARGIN, AGEING_FROM, EROSION = range(6)


@rule
def adopts(u, cross_sell, satisfaction, products, max_products):
    """A reached customer takes another product iff ``u < cross_sell * satisfaction`` and she holds
    fewer than ``max_products``."""
    return products < max_products and u < cross_sell * satisfaction


@rule
def eroded(lockin, period, ageing_from, erosion):
    """Lock-in after ageing: ``lockin * (1 - erosion)`` from period ``ageing_from`` on (negative:
    never)."""
    return lockin * (1.0 - erosion) if 0 <= ageing_from <= period else lockin


class Lever(Measure):
    """Offers products to the firm's reached customers; margin per product; ageing erodes lock-in."""

    def kernel_params(self):
        p = self.params
        return (p.cross_sell, p.max_products, p.lockin_per_product, p.margin_per_product,
                -1.0 if p.ageing_from is None else float(p.ageing_from), p.erosion)

    def per_customer_cost(self):
        return self.params.cost_per_offer


Params = EcosystemParams
