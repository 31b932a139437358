"""The documentation site: docs/cli.md is generated from the parser and current, `mkdocs build --strict`
passes (warnings are errors), and every internal link and anchor of the built site, the rendered lessons
included, points at something that exists."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from sim.docs_gen import REGENERATE, cli_markdown
from sim.scenario import shipped_scenarios

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0?_*.ipynb"))


def test_cli_md_is_generated_from_the_parser():
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == cli_markdown(), (
        f"docs/cli.md is out of date with sim/cli.py; run `{REGENERATE}`")


def test_cli_reference_lists_every_subcommand_and_option():
    from sim.cli import parser

    text = cli_markdown()
    p = parser()
    sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, subparser in sub.choices.items():
        assert f"## `{p.prog} {name}`" in text
        for action in subparser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in text, f"{name} {flag} missing"


class _Links(HTMLParser):
    """Collects the ids and the href/src targets of one HTML page."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)
            if key in ("href", "src") and value:
                self.targets.append(value)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built as `mkdocs build --strict` builds it (lessons executed), into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log[-4000:]}"
    return out


def _pages(site: Path) -> dict[Path, _Links]:
    pages = {}
    for html in site.rglob("*.html"):
        parser = _Links()
        parser.feed(html.read_text(encoding="utf-8"))
        pages[html.resolve()] = parser
    return pages


def test_site_builds_strict_with_a_page_per_lesson_and_per_scenario(site):
    for nb in NOTEBOOKS:
        page = site / "lessons" / nb.stem / "index.html"
        assert page.is_file(), f"no page for {nb.name}"
        assert (site / "lessons" / nb.stem / nb.name).is_file(), f"{nb.name} is not offered for download"
    for name in shipped_scenarios():
        text = (site / "scenarios" / name / "index.html").read_text(encoding="utf-8")
        assert "seed" in text and "customers" in text, f"the {name} page does not state its seed and size"
    for page in ("quickstart", "concepts", "model", "parameters", "cli", "lessons", "scenarios", "plots",
                 "performance", "sources", "design"):
        assert (site / page / "index.html").is_file(), page


def test_quickstart_gives_the_readmes_two_commands_verbatim():
    commands = ["./bootstrap.sh && .venv/bin/retention-sim run", "./bootstrap.sh test && .venv/bin/python -m pytest"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    quickstart = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8").splitlines()
    for command in commands:
        assert command in readme and command in quickstart, command


def test_every_internal_link_and_anchor_resolves(site):
    pages = _pages(site)
    broken = []
    for page, links in pages.items():
        for target in links.targets:
            url = urlsplit(target)
            if url.scheme or url.netloc or target.startswith(("mailto:", "data:", "javascript:")):
                continue
            if not url.path:  # a fragment on the same page
                dest = page
            else:  # 404.html links from the site root, every other page relatively
                base = site.resolve() if url.path.startswith("/") else page.parent
                dest = (base / unquote(url.path).lstrip("/")).resolve()
                if dest.is_dir():
                    dest = dest / "index.html"
                if not dest.exists():
                    broken.append(f"{page.relative_to(site)}: {target}")
                    continue
            if url.fragment and dest.suffix == ".html":
                ids = pages[dest].ids if dest in pages else set()
                if unquote(url.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {target} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(sorted(set(broken))[:40])


@pytest.mark.parametrize("name", ["price_rise", "bonding_vs_attaching"])
def test_a_scenario_page_shows_the_scenarios_answer(name):
    """Every scenario page has its answer: the scenario's own sentence filled from the run, and the lever it
    asks about against the same scenario without it (a page without a hand-written answer had none)."""
    import mkdocs_hooks
    import sim

    page = mkdocs_hooks.scenario_markdown(name)
    answer = page[page.index("## The answer"):page.index("## Headline figures")]
    run = sim.run(name, seed=mkdocs_hooks.SEED, overrides={"simulation.customers": mkdocs_hooks.CUSTOMERS})
    assert run.answer and run.answer in answer
    assert f"without {sim.load(name).counterfactual.lever}" in answer and "points)" in answer


def test_quickstart_shows_what_list_prints_and_names_every_lever(capsys):
    from sim.cli import main
    from sim.measures import TYPES

    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    sample = text.split("$ .venv/bin/retention-sim list\n", 1)[1].split("\n$ ", 1)[0]
    assert main(["list"]) == 0
    assert sample.strip("\n") == capsys.readouterr().out.strip("\n"), (
        "the quickstart's sample of `retention-sim list` is out of date"
    )
    missing = [t for t in TYPES if f"`{t}`" not in text]
    assert not missing, f"the quickstart does not name the levers {missing}"


def test_the_validation_page_names_every_pattern_by_the_id_a_calibration_target_uses():
    import mkdocs_hooks
    from sim import patterns

    page = mkdocs_hooks.validation_markdown()
    for p in patterns.catalogue():
        assert f"`{p.id}`" in page and p.name in page, p.id
