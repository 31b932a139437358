"""Scenario variants: a file that extends a base and sets only what differs."""

import pytest

from sim.scenario import ScenarioError, load


def _write(path, text):
    path.write_text(text)
    return path


def test_a_variant_inherits_merges_tables_sets_keys_and_adds_measures(tmp_path):
    base = load("telecom")
    _write(tmp_path / "a.toml", 'extends = "telecom"\n[simulation]\ncustomers = 777\n')
    v = _write(tmp_path / "b.toml", 'extends = "a.toml"\nquestion = "cheaper?"\n[set]\n"firms.0.price" = 27.0\n'
                                    '[[add.measures]]\ntype = "discount"\nrate = 0.1\n')
    sc = load(v)
    assert sc.simulation.customers == 777 and sc.simulation.periods == base.simulation.periods
    assert sc.firms[0].price == 27.0 and sc.firms[1] == base.firms[1]
    assert [m.type for m in sc.measures] == [m.type for m in base.measures] + ["discount"]
    assert sc.name == "b" and sc.question == "cheaper?"
    assert [s.name for s in sc.segments] == ["twelve_month", "twenty_four_month"]


def test_lists_in_a_variant_replace_the_base_lists(tmp_path):
    v = _write(tmp_path / "v.toml", 'extends = "telecom"\nname = "no_contracts"\nmeasures = []\n')
    assert load(v).measures == [] and load(v).name == "no_contracts"


@pytest.mark.parametrize("text,key,reason", [
    ('extends = "v.toml"\n', "extends", "extends itself"),
    ('extends = "nowhere"\n', "extends", "no such file"),
    ('extends = 3\n', "extends", "must be the name"),
    ('extends = "telecom"\n[set]\n"firms.9.price" = 1.0\n', "set.firms.9.price", "no entry 9"),
    ('extends = "telecom"\n[set]\n"simulation.customrs" = 1\n', "simulation.customrs", "unknown key"),
])
def test_bad_variants_name_the_file_key_and_reason(tmp_path, text, key, reason):
    v = _write(tmp_path / "v.toml", text)
    with pytest.raises(ScenarioError) as err:
        load(v)
    assert str(v) in str(err.value) and key in str(err.value) and reason in str(err.value), str(err.value)
