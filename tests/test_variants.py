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
    # a bad value in [set] is named by the key as written there, quoted or not
    ('extends = "telecom"\n[set]\n"segments.1.price_sensitivity" = "x"\n', "[set] segments.1.price_sensitivity",
     "must be a number"),
    ('extends = "telecom"\n[set]\nsegments.1.price_sensitivity = nan\n', "[set] segments.1.price_sensitivity", "finite"),
])
def test_bad_variants_name_the_file_key_and_reason(tmp_path, text, key, reason):
    v = _write(tmp_path / "v.toml", text)
    with pytest.raises(ScenarioError) as err:
        load(v)
    assert str(v) in str(err.value) and key in str(err.value) and reason in str(err.value), str(err.value)


def test_unquoted_dotted_keys_in_set_mean_the_same_as_quoted_ones(tmp_path):
    """``firms.0.price = 27.0`` in ``[set]`` reaches the loader as nested tables; it must set the one
    key, exactly as ``"firms.0.price" = 27.0`` does, not replace the firms."""
    quoted = load(_write(tmp_path / "q.toml",
                         'extends = "telecom"\n[set]\n"firms.0.price" = 27.0\n"segments.1.price_sensitivity" = 1.5\n'))
    bare = load(_write(tmp_path / "b.toml",
                       'extends = "telecom"\n[set]\nfirms.0.price = 27.0\nsegments.1.price_sensitivity = 1.5\n'))
    assert quoted.model_dump(exclude={"name"}) == bare.model_dump(exclude={"name"})
    assert bare.firms[0].price == 27.0 and bare.firms[1] == load("telecom").firms[1]


def test_a_malformed_value_is_reported_even_when_an_override_replaces_it(tmp_path):
    """``customers = "abc"`` is a broken file, whether or not this run's --customers replaces it; but
    a schedule past the file's horizon is cured by a longer horizon, and is not reported."""
    bad = _write(tmp_path / "bad.toml", 'name = "x"\n[simulation]\ncustomers = "abc"\n')
    with pytest.raises(ScenarioError) as err:
        load(bad, overrides={"simulation.customers": 200})
    assert "simulation.customers" in str(err.value) and "whole number" in str(err.value)
    late = _write(tmp_path / "late.toml", 'name = "y"\n[simulation]\nperiods = 12\n'
                                         '[[measures]]\ntype = "discount"\nschedule = {start = 20}\n')
    with pytest.raises(ScenarioError):
        load(late)
    assert load(late, overrides={"simulation.periods": 24}).simulation.periods == 24


def test_an_untrusted_scenario_extends_only_the_names_it_is_offered(tmp_path):
    from sim.scenario import shipped_scenarios

    secret = tmp_path / "secret.toml"
    secret.write_text('name = "secret"\n')
    offered = {"telecom": shipped_scenarios()["telecom"]}
    sc = load({"extends": "telecom", "name": "v"}, source="upload.toml", bases=offered)
    assert sc.name == "v" and sc.firms[0].name == "focal"
    for extends in (str(secret), "secret.toml", "ecommerce"):
        with pytest.raises(ScenarioError) as err:
            load({"extends": extends}, source="upload.toml", bases=offered)
        assert str(err.value).startswith("upload.toml: extends: ") and "not one of the scenarios offered here" in str(err.value)
    with pytest.raises(ScenarioError, match="offered here \\(none\\)"):
        load({"extends": "telecom"}, bases={})
