"""The base of every scenario section (kept apart so that the measure modules and the scenario
schema can both build on it without importing each other)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
# Sections are strict (a boolean is not a number, 2.0 is not a whole number); a pair may still be
# written as a TOML array.
Pair = Annotated[tuple[float, float], Strict(False)]
SHARE_TOLERANCE = 1e-6


class Section(BaseModel):
    """Base of every scenario section: unknown keys are errors, numbers are strict (``true`` is not
    1, ``2.5`` is not a whole number) and finite (no ``nan`` or ``inf``), values are validated on
    assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False, strict=True, allow_inf_nan=False)


class _KeyError(ValueError):
    """An error that knows the key path it concerns, relative to the model that raises it."""

    def __init__(self, loc: tuple, reason: str):
        super().__init__(reason)
        self.loc = loc
        self.reason = reason
