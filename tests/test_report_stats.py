"""The comparison's statistics as a referee reads them: t-bands, a paired difference curve with its
band, Holm-adjusted intervals and a sentence on multiplicity, subgroup metrics labelled as not
paired, readable numbers, the manifest collapsed at the end, and --precision adding replications
until the paired interval is as narrow as asked (or saying that its cap stopped it)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import sim
from sim.compare import SUBGROUP_METRICS, compare
from sim.report import figures, readable
from sim.stats import t_quantile

SMALL = {"simulation.customers": 1500, "simulation.periods": 24}


def _price_up(price: float = 33.0) -> dict:
    alt = sim.load("telecom").model_dump()
    alt["name"] = "price_up"
    alt["firms"][0]["price"] = price
    return alt


@pytest.fixture(scope="module")
def cmp():
    return compare(["telecom", _price_up()], replications=5, overrides=SMALL)


def test_differences_carry_p_values_holm_intervals_and_subgroup_labels(cmp):
    d = cmp.differences.set_index("metric")
    paired = d[d["kind"] == "paired"]
    assert set(d.index[d["kind"] != "paired"]) == set(SUBGROUP_METRICS)
    assert (
        d.loc[list(SUBGROUP_METRICS), "holm_p"].isna().all()
        and d.loc[list(SUBGROUP_METRICS), "kind"].str.contains("not paired").all()
    )
    defined = paired[paired["p_value"].notna()]
    assert (defined["family"] == len(defined)).all()
    # each Holm interval contains the per-metric one and excludes 0 exactly when holm_p < 0.05
    assert ((defined["holm_ci_low"] <= defined["ci_low"] + 1e-12) & (defined["holm_ci_high"] >= defined["ci_high"] - 1e-12)).all()
    excludes = (defined["holm_ci_low"] > 0) | (defined["holm_ci_high"] < 0)
    assert (excludes == (defined["holm_p"] < 0.05)).all()
    row = d.loc["retention_12"]
    assert row["ci_high"] - row["difference"] == pytest.approx(t_quantile(5) * row["se_paired"])


def test_the_difference_plot_is_the_paired_difference_with_its_t_band(cmp):
    figs = figures(cmp)
    assert list(figs)[:2] == ["retention", "difference"]
    top = figs["difference"].axes[0]
    line = top.get_lines()[0]
    base, alt = cmp.curves["telecom"].retention, cmp.curves["price_up"].retention
    d = (alt - base) * 100
    np.testing.assert_allclose(line.get_ydata(), d.mean(axis=0))
    band = top.collections[0].get_paths()[0].vertices[:, 1]
    half = t_quantile(5) * d.std(axis=0, ddof=1) / math.sqrt(5)
    assert band.max() == pytest.approx((d.mean(axis=0) + half).max())
    import matplotlib.pyplot as plt

    for f in figs.values():
        plt.close(f)


def test_the_report_page(cmp, tmp_path):
    out = cmp.write(tmp_path / "cmp")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 6
    assert "Multiplicity." in html and "Holm" in html and "How many replications are enough?" in html
    assert "Subgroup metrics (not paired)" in html
    assert re.search(
        r"\(95 % CI -?[0-9.,]+ to -?[0-9.,]+; Holm-adjusted over the \d+ paired comparisons: -?[0-9.,]+ to -?[0-9.,]+\)", html
    )
    assert not re.search(r"\d\.\d+e[+-]\d\d", html.split("<details>")[0]), "a number in exponent form before the manifest"
    assert html.index("<details>") > html.index("Metrics per scenario") and html.rstrip().endswith("</details>\n</body></html>")
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("python", "numpy", "numba", "pandas", "git_commit"):
        assert key in manifest
    diffs = pd.read_csv(out / "differences.csv")
    assert {"kind", "p_value", "holm_p", "holm_ci_low", "holm_ci_high", "family"} <= set(diffs.columns)


@pytest.mark.parametrize(
    "value,text",
    [
        (2.555e6, "2,555,000"),
        (-0.00001234, "-0.00001234"),
        (12.345, "12.35"),
        (0.0, "0"),
        (-0.0001, "-0.0001000"),
        (float("nan"), ""),
        (1234.5, "1,234"),
    ],
)
def test_readable_numbers_have_no_exponent(value, text):
    assert readable(value) == text


def test_precision_adds_replications_until_the_interval_is_narrow_enough():
    target = 0.004
    c = compare(["telecom", _price_up()], replications=3, overrides=SMALL, precision=("retention_12", target))
    row = c.differences.set_index("metric").loc["retention_12"]
    assert c.precision["reached"] and (row["ci_high"] - row["ci_low"]) / 2 <= target
    assert c.precision["replications"] == len(c.seeds) == row["n"] > 3
    assert c.replications.groupby("scenario")["replication"].nunique().eq(len(c.seeds)).all()
    first = compare(["telecom", _price_up()], replications=len(c.seeds), overrides=SMALL)
    pd.testing.assert_frame_equal(first.replications, c.replications)  # the same runs as asking for that many at once


def test_precision_says_when_the_cap_stops_it():
    c = compare(["telecom", _price_up()], replications=3, overrides=SMALL, precision=("retention_12", 1e-9), max_replications=4)
    assert not c.precision["reached"] and c.precision["replications"] == 4 and c.precision["cap"] == 4
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "compare",
            "telecom",
            "telecom",
            "--customers",
            "300",
            "--periods",
            "12",
            "--replications",
            "201",
            "--precision",
            "profit=1",
            "--out",
            "o",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "at most 200" in done.stderr
