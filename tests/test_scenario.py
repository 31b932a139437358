"""Scenario loading and validation: shipped scenarios, overrides, and clear errors for bad input."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sim.cli import main
from sim.params import Scenario
from sim.scenario import ScenarioError, load, scenario_hash, shipped_scenarios

REPO = Path(__file__).resolve().parents[1]


def test_three_shipped_scenarios_validate_and_open_with_their_question():
    shipped = shipped_scenarios()
    assert {"telecom", "ecommerce", "b2b_software"} <= set(shipped)
    for name, path in shipped.items():
        text = path.read_text()
        assert text.startswith("# Question:"), name
        assert load(path).question


def test_repository_scenarios_folder_is_the_packaged_one():
    assert sorted(p.name for p in (REPO / "scenarios").glob("*.toml")) == sorted(p.name for p in shipped_scenarios().values())


def test_a_file_sets_only_what_it_changes():
    sc = load({"simulation": {"customers": 123}})
    assert sc.simulation.customers == 123
    assert sc.simulation.periods == Scenario().simulation.periods


def test_overrides_and_hash():
    a = load("telecom", overrides={"simulation.customers": 500, "firms.0.price": 33.0})
    assert a.simulation.customers == 500 and a.firms[0].price == 33.0
    assert scenario_hash(a) != scenario_hash(load("telecom"))
    assert scenario_hash(load("telecom")) == scenario_hash(load("telecom"))


def test_every_field_documents_its_meaning_and_unit():
    def walk(model):
        for name, field in model.model_fields.items():
            yield model, name, field
            ann = field.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                yield from walk(ann)
    from sim.measures import LEVERS
    from sim.params import Firm, Segment

    for model in (Scenario, Segment, Firm, *(lever.Params for lever in LEVERS)):
        for owner, name, field in walk(model):
            if name in {"type", "distribution", "schedule", "target"} or owner is Scenario:
                continue
            desc = field.description or ""
            assert desc, f"{owner.__name__}.{name} has no description"
            if field.annotation in (float, int) and name not in {"seed"}:
                assert "Unit:" in desc, f"{owner.__name__}.{name} does not state its unit"


BAD = {
    "unknown key": ("[simulation]\ncustmers = 10\n", "simulation.custmers", "unknown key"),
    "wrong type": ("[simulation]\nperiods = \"ten\"\n", "simulation.periods", "must be a whole number (got \"ten\")"),
    "out of range": ("[experience]\nloss_aversion = 0.5\n", "experience.loss_aversion", "greater than or equal to 1"),
    "probability above 1": ("[[firms]]\nname = \"a\"\ncomplaint_handling = 1.5\n", "firms[0].complaint_handling",
                            "less than or equal to 1"),
    "negative horizon": ("[simulation]\nperiods = -5\n", "simulation.periods", "greater than or equal to 1"),
    "measure for a missing firm": ("[[measures]]\ntype = \"discount\"\nfirm = \"ghost\"\n", "measures[0].firm",
                                   "no firm named 'ghost'"),
    "unknown measure type": ("[[measures]]\ntype = \"bribe\"\n", "measures[0].type", "unknown type \"bribe\" (expected one of: "),
    "broken TOML": ("[simulation\n", "line 1", "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_scenario_exits_2_names_file_key_reason_and_writes_nothing(case, tmp_path, capsys):
    text, key, reason = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out"
    code = main(["run", str(path), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err and key in err and reason in err, err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_missing_file_is_bad_input(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_bad_command_line_value_exits_2(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--customers", "-3", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert not (tmp_path / "o").exists()


def test_scenario_error_lists_every_problem():
    with pytest.raises(ScenarioError) as exc:
        load({"simulation": {"periods": 0, "customers": 0}})
    assert "simulation.periods" in str(exc.value) and "simulation.customers" in str(exc.value)


def test_shipped_toml_parses_standalone():
    for path in shipped_scenarios().values():
        tomllib.loads(path.read_text())


def test_the_counterfactual_is_the_scenario_without_its_lever():
    from sim.scenario import counterfactual

    sc = load("price_rise")
    cf = counterfactual(sc)
    assert sc.counterfactual is not None and cf.counterfactual is None
    assert sc.dropped_measures() and len(cf.measures) == len(sc.measures) - len(sc.dropped_measures())
    kept = [m for i, m in enumerate(sc.measures) if i not in sc.dropped_measures()]
    assert cf.measures == kept
    assert cf.simulation == sc.simulation and cf.firms == sc.firms


def test_unquoted_dotted_keys_in_a_counterfactuals_set_mean_the_same_as_quoted_ones(tmp_path):
    """``set = { firms.1.enters_at = 100000 }`` reaches the loader as nested tables (TOML's dotted
    keys); it was refused with a message about numbers, whole numbers and booleans. It means what the
    quoted key means, as in a variant's ``[set]``."""
    text = (Path(__file__).parents[1] / "scenarios" / "monopoly_entry.toml").read_text()
    quoted = 'set = { "firms.1.enters_at" = 100000 }'
    assert quoted in text
    unquoted = tmp_path / "unquoted.toml"
    unquoted.write_text(text.replace(quoted, "set = { firms.1.enters_at = 100000 }"))
    assert load(unquoted).counterfactual == load("monopoly_entry").counterfactual
    assert load(unquoted).counterfactual.set == {"firms.1.enters_at": 100000}


def test_a_counterfactual_names_measures_by_type_so_variants_keep_it(tmp_path):
    sc = load("telecom")
    assert sc.counterfactual.drop_measures == ["contract"]
    mine = [i for i, m in enumerate(sc.measures) if m.type == "contract" and m.firm in (None, "focal")]
    assert sc.dropped_measures() == mine and len(mine) < sum(m.type == "contract" for m in sc.measures)  # not the rival's
    variant = tmp_path / "v.toml"
    variant.write_text('extends = "ecommerce"\n[[measures]]\ntype = "service"\n[[measures]]\ntype = "discount"\n')
    v = load(variant)
    assert v.counterfactual == load("ecommerce").counterfactual and v.dropped_measures() == [1]
    # without a measure of the type the counterfactual is the scenario itself: the lever's effect is 0
    assert load("ecommerce", overrides={"measures": []}).dropped_measures() == []


def test_a_counterfactual_naming_positions_is_dropped_where_the_measures_are_replaced(tmp_path):
    # positions would name other measures in a file that replaces them
    base = tmp_path / "base.toml"
    base.write_text('[[measures]]\ntype = "service"\n[counterfactual]\nlever = "service"\ndrop_measures = [0]\n')
    assert load(base).dropped_measures() == [0]
    assert load(base, overrides={"measures": []}).counterfactual is None
    variant = tmp_path / "v.toml"
    variant.write_text('extends = "base.toml"\nmeasures = []\n')
    assert load(variant).counterfactual is None
    variant.write_text('extends = "base.toml"\n[simulation]\nperiods = 24\n')  # only values changed: kept
    assert load(variant).counterfactual == load(base).counterfactual


def test_a_counterfactual_naming_a_missing_measure_is_refused():
    with pytest.raises(ScenarioError, match=r"counterfactual\.drop_measures.*no measure 3"):
        load({"measures": [{"type": "service"}], "counterfactual": {"lever": "service", "drop_measures": [3]}})


def test_a_counterfactual_naming_an_unknown_measure_type_is_refused():
    with pytest.raises(ScenarioError, match=r"counterfactual\.drop_measures.*no measure type 'servise'"):
        load({"measures": [{"type": "service"}], "counterfactual": {"lever": "service", "drop_measures": ["servise"]}})
