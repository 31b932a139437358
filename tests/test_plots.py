"""The five standard plots: the files and their size, every firm in every plot (focal first), one
colour per firm position across scenarios, legends off the data, readable text, empty firms."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import sim  # noqa: E402
from sim import plots  # noqa: E402
from sim.measures.base import Schedule  # noqa: E402
from sim.measures.contract import ContractParams as ContractMeasure  # noqa: E402

NAMES = ("retention", "churn", "loyalty_classes", "clv", "profit")


def _telecom_spec(customers: int = 400, periods: int = 14) -> dict:
    spec = sim.load("telecom").model_dump()
    spec["simulation"].update(customers=customers, periods=periods)
    return spec


@pytest.fixture(scope="module")
def telecom():
    return sim.run(_telecom_spec(), seed=1)


@pytest.fixture(scope="module")
def three_firms():
    spec = _telecom_spec()
    spec["firms"][0]["initial_share"] = 0.4
    spec["firms"][1]["initial_share"] = 0.4
    spec["firms"].append({"name": "newcomer", "initial_share": 0.2, "price": 25.0, "unit_cost": 16.0,
                          "acquisition_spend": 3000.0})
    return sim.run(spec, seed=2)


@pytest.fixture(scope="module")
def empty_firm():
    """A firm without any customer: no initial share, no acquisition, and nobody can switch to it."""
    spec = _telecom_spec(customers=300, periods=13)
    spec["firms"].append({"name": "ghost", "initial_share": 0.0, "acquisition_spend": 0.0})
    spec["mechanisms"]["choice"] = False
    return sim.run(spec, seed=3)


@pytest.fixture(scope="module")
def ecommerce():
    return sim.run("ecommerce", seed=1, overrides={"simulation.customers": 300, "simulation.periods": 8})


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labels(fig) -> list[str]:
    """Every legend entry and every axes title of a figure."""
    out = []
    for ax in fig.axes:
        out += [ax.get_title(loc) for loc in ("left", "center", "right") if ax.get_title(loc)]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()]
    return out


def _firm_mentions(fig, firms: list[str]) -> list[str]:
    """The firms named by the figure's legend entries and titles, in order of first mention."""
    seen = []
    for text in _labels(fig):
        for f in firms:
            if (text == f or text.startswith(f + " ") or text.startswith(f + ":")) and f not in seen:
                seen.append(f)
    return seen


def test_the_empty_firm_really_has_no_customers(empty_firm):
    p = empty_firm.periods
    assert (p.loc[p["firm"] == "ghost", "active"] == 0).all()
    assert (empty_firm.relationships["firm"] == "ghost").sum() == 0


@pytest.mark.parametrize("which", ["telecom", "three_firms", "empty_firm"])
def test_save_all_writes_five_pngs_of_the_figures_size(which, request, tmp_path):
    res = request.getfixturevalue(which)
    paths = plots.save_all(res, tmp_path / "plots")
    assert set(paths) == set(NAMES)
    for name in NAMES:
        png = tmp_path / "plots" / f"{name}.png"
        assert png.is_file() and paths[name] == png
        h, w = plt.imread(png).shape[:2]
        fig = plots.FIGURES[name](res)
        expected_w, expected_h = (round(v * plots.DPI) for v in fig.get_size_inches())
        assert (w, h) == (expected_w, expected_h), name
        assert 1200 <= w <= 1600, name
        plt.close(fig)


@pytest.mark.parametrize("which", ["telecom", "three_firms", "empty_firm"])
@pytest.mark.parametrize("name", NAMES)
def test_every_firm_appears_in_every_plot_focal_first(which, name, request):
    res = request.getfixturevalue(which)
    firms = [f.name for f in res.scenario.firms]
    fig = plots.FIGURES[name](res)
    assert _firm_mentions(fig, firms) == firms, _labels(fig)


def test_firm_colours_are_fixed_by_position_across_scenarios(telecom, ecommerce, three_firms):
    def line_colours(res):
        ax = plots.retention_curve(res)
        return [to_hex(line.get_color()) for line in ax.get_lines()[: len(res.scenario.firms)]]

    tel, eco, three = line_colours(telecom), line_colours(ecommerce), line_colours(three_firms)
    assert tel[0] == eco[0] == three[0] == plots.FIRM_PALETTE[0]  # the focal firm: 'focal' here, 'shop' there
    assert tel[1] == eco[1] == three[1] == plots.FIRM_PALETTE[1]
    assert three[2] == plots.FIRM_PALETTE[2] and len(set(three)) == 3
    # the same colour in the panel titles of the multi-panel figures
    for make in (plots.loyalty_figure, plots.clv_figure):
        fig = make(ecommerce)
        titles = {t.get_text(): to_hex(t.get_color()) for ax in fig.axes for t in ax.findobj(Text)
                  if t.get_text() and t.get_text() == ax.get_title(loc="left")}
        assert titles["shop (focal firm)"] == plots.FIRM_PALETTE[0]
        assert titles["marketplace"] == plots.FIRM_PALETTE[1]


def _lab(hex_: str) -> tuple[float, float, float]:
    """CIE L*a*b* of an sRGB colour (D65), to measure how different two colours look."""
    rgb = [int(hex_[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    xyz = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b,
           (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def _alike(one: str, other: str) -> bool:
    """Whether two colours read as the same colour: close in CIE76 distance, or both colourful and of
    nearly the same hue (a light orange is still orange)."""
    a, b = _lab(one), _lab(other)
    chroma = (math.hypot(a[1], a[2]), math.hypot(b[1], b[2]))
    hue = abs(math.degrees(math.atan2(a[2], a[1]) - math.atan2(b[2], b[1]))) % 360
    return math.dist(a, b) < 20 or (min(chroma) > 20 and min(hue, 360 - hue) < 30)


def test_firms_and_loyalty_classes_never_share_a_colour():
    """On one screen a colour means a firm or a loyalty class, never both (the rival's orange was also
    'attached only', the focal firm's blue 'bonded')."""
    for firm in plots.FIRM_PALETTE:
        for cls, colour in plots.CLASS_COLOURS.items():
            assert not _alike(firm, colour), f"firm colour {firm} and {cls} ({colour}) read as the same colour"
    assert _alike("#e69f00", "#F4A261") and _alike("#0072b2", "#2166AC")  # the old clashes, which the check catches
    assert len(set(plots.CLASS_COLOURS.values())) == 4


@pytest.mark.parametrize("name", NAMES)
def test_text_is_readable_and_legends_do_not_cover_data(three_firms, name):
    fig = plots.FIGURES[name](three_firms)
    fig.canvas.draw()
    small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_fontsize() < 11]
    assert not small
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None:
            continue
        a, b = ax.get_window_extent(), leg.get_window_extent()
        overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
        overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
        assert overlap_w <= 1 or overlap_h <= 1, f"legend covers the axes in {name}"


def test_money_axes_show_the_currency_and_thousands_separators(telecom):
    cur = plots.currency(telecom)
    assert cur == getattr(telecom.scenario.simulation, "currency", "EUR")
    ax = plots.profit_per_period(telecom)
    assert f"({cur})" in ax.get_ylabel()
    assert ax.yaxis.get_major_formatter()(1234567, 0) == "1,234,567"
    ax = plots.clv_distribution(telecom)
    assert cur in ax.get_xlabel() and ax.xaxis.get_major_formatter()(12345, 0) == "12,345"


def test_clv_splits_complete_and_censored_with_counts(telecom):
    ax = plots.clv_distribution(telecom, "focal")
    rel = telecom.relationships
    rel = rel[(rel["firm"] == "focal") & (rel["periods"] > 0)]
    n_cens = int(plots.censored(rel).sum())
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("censored: CLV so far" in t and f"n={n_cens:,}" in t for t in texts)
    assert any("ended before the horizon" in t and f"n={len(rel) - n_cens:,}" in t for t in texts)
    assert any("horizon" in t for t in texts if t.startswith("kept for the whole"))
    caption = plots.clv_figure(telecom).get_supxlabel()
    assert plots.CENSORED_NOTE in caption.replace("\n", " ")


def test_loyalty_caption_explains_the_contract_end_spikes(telecom, ecommerce):
    caption = plots.loyalty_figure(telecom).get_supxlabel().replace("\n", " ")
    assert "last month" in caption and "exit fee" in caption
    assert "last month" not in plots.loyalty_figure(ecommerce).get_supxlabel()  # no contracts there


def test_censored_reads_the_relationships_column():
    table = pd.DataFrame({"reason": pd.Categorical(["switched", "censored"]), "censored": [False, True]})
    assert plots.censored(table).tolist() == [False, True]


def test_schedule_spans_and_contract_expiries():
    assert plots.active_spans(Schedule(start=24), 120) == [(24, 120)]
    assert plots.active_spans(Schedule(start=2, end=11, every=4, duration=2), 120) == [(2, 4), (6, 8), (10, 11)]
    assert plots.active_spans(Schedule(start=0, every=2, duration=3), 7) == [(0, 7)]  # overlapping pulses merge
    assert plots.active_spans(Schedule(start=30), 24) == []
    open_ended = ContractMeasure(type="contract", term=12, schedule={"start": 3})
    assert plots.contract_expiries(open_ended, 40) == [15, 27, 39]
    ended = ContractMeasure(type="contract", term=12, schedule={"start": 3, "end": 20})
    assert plots.contract_expiries(ended, 40) == [15, 27]  # renewed in period 14 (running), not in 26


def test_axes_level_functions_draw_on_a_given_axes(telecom):
    for fn in (plots.retention_curve, plots.churn_per_period, plots.profit_per_period, plots.loyalty_shares,
               plots.clv_distribution):
        fig, ax = plt.subplots(figsize=(8, 4))
        assert fn(telecom, ax=ax) is ax
        assert ax.has_data()
    ax = plots.loyalty_shares(telecom, "rival")
    assert ax.get_title(loc="left") == "rival"


def test_figures_after_a_package_figure_still_show_in_jupyter():
    """In a Jupyter session whose first figure comes from sim.plots, later figures are still shown
    (the inline backend's interactive mode survives the package's style context)."""
    import os

    import nbformat
    from nbclient import NotebookClient

    cells = ["import sim\nfrom sim import plots\n"
             "res = sim.run('telecom', seed=1, overrides={'simulation.customers': 200, 'simulation.periods': 6})\n"
             "plots.retention_figure(res);",
             "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]);"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel picks its inline backend
    saved = os.environ.copy()
    try:
        os.environ.clear()
        os.environ.update(env)
        NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    shown = [any("image/png" in o.get("data", {}) for o in c.outputs) for c in nb.cells]
    assert shown == [True, True]
