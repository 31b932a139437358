"""The comparison report opens in a real headless browser (Debian's chromium, driven by Playwright)
without console errors, shows its plots, and its sentences quote the numbers of differences.csv."""

import re
import shutil

import pandas as pd
import pytest

import sim
from sim.compare import compare

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is installed by the test extras")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (./bootstrap.sh test installs it as root)"
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def test_report_renders_without_console_errors_and_quotes_the_differences(tmp_path):
    alt = sim.load("telecom").model_dump()
    alt["name"] = "price_up"
    alt["firms"][0]["price"] = 33.0
    out = compare(["telecom", alt], replications=4, overrides={"simulation.customers": 1500, "simulation.periods": 24}).write(
        tmp_path / "cmp"
    )
    errors, failed = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto((out / "report.html").as_uri(), wait_until="load")
        images = page.eval_on_selector_all("img", "els => els.map(e => [e.naturalWidth, e.naturalHeight])")
        text = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert not errors and not failed, (errors, failed)
    assert len(images) == 6 and all(w > 1000 and h > 300 for w, h in images), images
    diffs = pd.read_csv(out / "differences.csv").set_index("metric")
    found = re.search(r"price_up (raises|lowers) the total profit over the horizon by ([0-9,]+) EUR", text)
    assert found, text[:2000]
    assert int(found.group(2).replace(",", "")) == round(abs(diffs.loc["profit", "difference"]))
    assert (tmp_path / "report.png").stat().st_size > 10_000
