"""The parameter reference: docs/parameters.md is current, every parameter is documented, and the
annotated TOML that `retention-sim validate` prints is a valid scenario file equal to its input."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from sim.params import Scenario
from sim.reference import REGENERATE, annotated_toml, parameter_records, parameters_markdown, parse_description
from sim.scenario import load, shipped_scenarios

DOCS = Path(__file__).resolve().parents[1] / "docs" / "parameters.md"


def test_parameters_md_is_generated_from_the_schema():
    assert DOCS.read_text(encoding="utf-8") == parameters_markdown(), (
        f"docs/parameters.md is out of date with sim/params.py; run `{REGENERATE}`")


def test_every_parameter_has_a_meaning_and_every_number_a_unit():
    records = parameter_records()
    assert len({r["key"] for r in records}) == len(records)
    no_meaning = [r["key"] for r in records if not r["meaning"]]
    assert not no_meaning, f"parameters without a meaning in their description: {no_meaning}"
    no_unit = [r["key"] for r in records if re.search(r"\b(int|float)\b", r["type"]) and not r["unit"]]
    assert not no_unit, f"numeric parameters without 'Unit: ...' in their description: {no_unit}"


def test_records_cover_nested_lists_and_every_kind_of_a_union():
    keys = {r["key"] for r in parameter_records()}
    for name in Scenario.model_fields:  # every top-level key appears in some record
        assert any(k == name or k.startswith((f"{name}.", f"{name}[")) for k in keys), name
    measure_kinds = {k.split("]")[0] for k in keys if k.startswith("measures[type=")}
    assert len(measure_kinds) >= 2  # one group per measure type
    assert any(k.startswith("segments[].") for k in keys)


def test_description_parsing():
    assert parse_description("Horizon. Unit: periods. [invented]") == ("Horizon.", "periods", "invented")
    assert parse_description("Mean trust. Unit: [0,1]. [sourced: Kaack]") == ("Mean trust.", "[0,1]", "sourced: Kaack")
    assert (parse_description("Share. Unit: fraction; shares are normalised.")
            == ("Share. Shares are normalised.", "fraction", None))
    assert parse_description("Only this segment.") == ("Only this segment.", None, None)


@pytest.mark.parametrize("name", sorted(shipped_scenarios()) + ["<defaults>"])
def test_annotated_toml_round_trips(name):
    scenario = Scenario() if name == "<defaults>" else load(shipped_scenarios()[name])
    text = annotated_toml(scenario)
    assert Scenario.model_validate(tomllib.loads(text)) == scenario
    numbers = [line for line in text.splitlines() if re.match(r"\w+ = [-+]?[\d.]", line)]
    assert numbers and all(re.search(r"  # [^;]+; \S", line) for line in numbers), "a number without '# unit; meaning'"


def test_annotated_toml_round_trips_unset_values_unions_and_odd_strings():
    scenario = Scenario.model_validate({
        "name": 'quote " backslash \\ tab \t é',
        "segments": [{"name": "a b", "cohorts": {"1970s": 0.25, "odd key.x": 0.75},
                      "background_churn": {"distribution": "beta", "alpha": 1e-5, "beta": 1e4}}],
        "measures": [{"type": "nostalgia", "cohort": "odd key.x", "schedule": {"start": 3, "end": 9, "every": 2},
                      "target": {"loyalty_class": "both"}},
                     {"type": "price_change", "factor": 1e-3}],
    })
    text = annotated_toml(scenario)
    assert Scenario.model_validate(tomllib.loads(text)) == scenario
    assert "# firm is unset" in text
