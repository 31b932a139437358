"""What the dashboard offers by name and what it takes from a browser (sim/dashboard/library.py):
a browser never makes the server open a path, and its uploads are data only, size-limited, with
one-line messages that name the file and key, never a server path or another file's content."""

from __future__ import annotations

import pytest

import sim
from sim.dashboard import library
from sim.dashboard.levers import Settings
from sim.scenario import ScenarioError


@pytest.fixture
def offered_folder(tmp_path, monkeypatch):
    """A --scenarios folder with one scenario, a hidden file, a subfolder's file and a text file."""
    (tmp_path / "mine.toml").write_text('extends = "telecom"\nname = "mine"\n[set]\n"firms.0.price" = 32.0\n')
    (tmp_path / ".hidden.toml").write_text('name = "hidden"\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.toml").write_text('name = "deep"\n')
    (tmp_path / "notes.txt").write_text("x")
    monkeypatch.setenv(library.SCENARIOS_ENV, str(tmp_path))
    monkeypatch.delenv(library.START_ENV, raising=False)
    return tmp_path


def test_the_folder_offers_its_toml_files_by_name_and_nothing_else(offered_folder):
    names = library.offered()
    assert "mine" in names and set(sim.shipped_scenarios()) <= set(names)
    assert not {"hidden", ".hidden", "deep", "notes"} & set(names)
    assert library.scenario("mine").firms[0].price == 32.0


@pytest.mark.parametrize("name", ["/etc/passwd", "../mine", "sub/deep", "mine.toml", str(__file__)])
def test_a_name_that_is_not_offered_is_refused_without_opening_anything(offered_folder, name):
    with pytest.raises(ScenarioError) as err:
        library.scenario(name)
    assert "is not one of the scenarios offered here" in str(err.value)


def test_an_uploaded_scenario_may_extend_an_offered_one_by_name(offered_folder):
    key = library.upload("variant.toml", b'extends = "mine"\nname = "variant"\n[set]\n"firms.0.service_quality" = 0.9\n')
    assert library.is_upload(key) and library.label(key) == "variant.toml (uploaded)"
    sc = library.scenario(key)
    assert (sc.name, sc.firms[0].price, sc.firms[0].service_quality) == ("variant", 32.0, 0.9)
    s = Settings.from_scenario(key, customers=1000)  # the dashboard runs it like any scenario
    assert s.config().firms[0].service_quality == 0.9


@pytest.mark.parametrize("extends", ["/etc/passwd", "../../etc/passwd", "mine.toml", "sub/deep", "telecom.toml"])
def test_an_upload_cannot_extend_a_path(offered_folder, extends):
    with pytest.raises(library.UploadError) as err:
        library.upload("evil.toml", f'extends = "{extends}"\n'.encode())
    text = str(err.value)
    assert text.startswith("evil.toml: extends: ") and "is not one of the scenarios offered here" in text
    assert "\n" not in text and str(offered_folder) not in text


@pytest.mark.parametrize("data, reason", [
    (b"name = \n", "not valid TOML (line 1, column 8)"),
    (b'name = "x"\nfoo = 3\n', "foo: unknown key"),
    (b"", "has no settings"),
    (b"# only a comment\n", "has no settings"),
    (b"\x00\x01binary", "is a binary file"),
    (b'name = "caf\xe9"\n', "is not UTF-8 text (line 1)"),
    (b"[" * 5000, "not valid TOML"),
])
def test_a_malformed_upload_is_one_line_naming_the_file_and_the_reason(offered_folder, data, reason):
    with pytest.raises(library.UploadError) as err:
        library.upload("../../some/where/bad.toml", data)
    text = str(err.value)
    assert text.startswith("bad.toml: ") and reason in text and "\n" not in text


def test_an_upload_over_the_limit_is_refused_before_its_bytes_are_read(offered_folder):
    with pytest.raises(library.UploadError, match=r"big.toml: is 300,000 bytes; the limit is 262,144"):
        library.upload("big.toml", None, size=300_000)
    with pytest.raises(library.UploadError, match="the limit is"):
        library.upload("big.toml", b"#" * (library.MAX_UPLOAD_BYTES + 1))


def test_an_offered_file_that_is_broken_is_named_not_its_path(offered_folder):
    (offered_folder / "broken.toml").write_text("name = \n")
    with pytest.raises(ScenarioError) as err:
        library.scenario("broken")
    assert "broken" in str(err.value) and str(offered_folder) not in str(err.value)
    with pytest.raises(library.UploadError) as err:
        library.upload("child.toml", b'extends = "broken"\n')
    assert str(offered_folder) not in str(err.value)


def test_uploads_kept_in_memory_are_bounded():
    keys = [
        library.upload(f"u{i}.toml", f'extends = "telecom"\nname = "u{i}"\n'.encode()) for i in range(library.MAX_UPLOADS + 5)
    ]
    with pytest.raises(ScenarioError, match="upload it again"):
        library.scenario(keys[0])
    assert library.scenario(keys[-1]).name == f"u{library.MAX_UPLOADS + 4}"


def test_the_dashboard_refuses_a_market_it_cannot_hold(offered_folder):
    with pytest.raises(library.UploadError, match="at most 1,000,000 can be simulated"):  # no engine could hold it
        library.upload("flood.toml", b'extends = "telecom"\n[set]\n"firms.0.acquisition_spend" = 1e9\n')
    key = library.upload("huge.toml", b'extends = "telecom"\n[set]\n"firms.0.acquisition_spend" = 1e7\n')
    with pytest.raises(ScenarioError, match="the dashboard runs at most"):  # the engine could, the dashboard will not
        Settings.from_scenario(key).config()
    s = Settings.from_scenario("telecom").replace(customers=10**9)
    assert s.config().simulation.customers == 50_000  # the slider's range bounds it


def test_file_names_from_a_browser_are_shown_as_their_last_part():
    assert library.safe_filename("C:\\Users\\me\\x.toml") == "x.toml"
    assert library.safe_filename("a/b/<img>.toml") == "<img>.toml"  # shown escaped by the page
    assert library.safe_filename("\x00\n") == "the file"
    assert len(library.safe_filename("x" * 500)) == 80
