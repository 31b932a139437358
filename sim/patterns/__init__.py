"""The pattern suite: what the model must reproduce, each pattern in one entry, measured on the shipped
scenarios with their shipped defaults (pattern-oriented validation, Grimm et al. 2005).

A pattern (:class:`Pattern`) names its **source** (a source document, quoted, or a public figure), the
**scenario** it is measured on, **how** it is measured and its **target** band; its function measures
it at a :class:`~sim.patterns.measure.Size` and returns an estimate with a 95 % interval. It *holds*
when the estimate lies in the band and, for a pattern that claims an effect or an ordering, the
interval excludes the null (``Target.beyond``). Bands with no public figure behind them are marked
invented and kept wide.

``retention-sim patterns [--quick]`` runs them all (:func:`run`); the catalogue is
:mod:`sim.patterns.definitions`; ``docs/validation.md`` is rendered from it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .measure import FULL, QUICK, Estimate, Size

COLUMNS = ["pattern", "source", "target", "value", "ci_low", "ci_high", "holds"]


@dataclass(frozen=True)
class Target:
    """A target band ``lo <= value <= hi``; ``beyond``, if set, must lie outside the 95 % interval (an
    effect or ordering must be more than noise); ``invented`` when no public figure sets the band."""

    lo: float = -math.inf
    hi: float = math.inf
    beyond: float | None = None
    text: str = ""
    invented: bool = False

    def holds(self, e: Estimate) -> bool:
        if not (math.isfinite(e.value) and self.lo <= e.value <= self.hi):
            return False
        if self.beyond is not None and not (math.isfinite(e.ci_low) and math.isfinite(e.ci_high)):
            return False
        return self.beyond is None or not (e.ci_low <= self.beyond <= e.ci_high)

    def describe(self) -> str:
        return self.text + (" (band invented)" if self.invented else "")


@dataclass(frozen=True)
class Pattern:
    """One pattern of the suite (see the module docstring)."""

    name: str
    source: str
    scenario: str
    measured: str
    target: Target
    measure: Callable[[Size], Estimate]

    @property
    def id(self) -> str:
        """The pattern's short name (its function's), by which a calibration's targets file names it."""
        return self.measure.__name__


PATTERNS: list[Pattern] = []


def pattern(name: str, source: str, scenario: str, measured: str, target: Target):
    """Register the decorated function ``f(size) -> Estimate`` as a pattern."""

    def register(f: Callable[[Size], Estimate]) -> Callable[[Size], Estimate]:
        PATTERNS.append(Pattern(name, source, scenario, measured, target, f))
        return f

    return register


@dataclass
class Outcome:
    """A measured pattern."""

    pattern: Pattern
    estimate: Estimate
    seconds: float

    @property
    def holds(self) -> bool:
        return self.pattern.target.holds(self.estimate)

    def row(self) -> dict:
        e = self.estimate
        return {"pattern": self.pattern.name, "source": self.pattern.source, "target": self.pattern.target.describe(),
                "value": e.value, "ci_low": e.ci_low, "ci_high": e.ci_high, "holds": self.holds}


def catalogue() -> list[Pattern]:
    """Every pattern, in the catalogue's order."""
    from . import definitions  # noqa: F401 - registers the patterns

    return list(PATTERNS)


def run(quick: bool = False, only: list[str] | None = None, progress=None) -> list[Outcome]:
    """Measure every pattern (or those whose names contain one of ``only``) at the quick or full size."""
    size = QUICK if quick else FULL
    out = []
    for p in catalogue():
        if only and not any(o.lower() in p.name.lower() for o in only):
            continue
        start = time.perf_counter()
        e = p.measure(size)
        out.append(Outcome(p, e, time.perf_counter() - start))
        if progress is not None:
            progress(out[-1])
    return out


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    """The outcomes with exactly the columns of ``patterns.csv`` (:data:`COLUMNS`)."""
    return pd.DataFrame([o.row() for o in outcomes], columns=COLUMNS)


__all__ = ["COLUMNS", "FULL", "Estimate", "Outcome", "PATTERNS", "Pattern", "QUICK", "Size", "Target", "catalogue", "run",
           "table"]
