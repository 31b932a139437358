"""The dashboard: its settings, data and words without a browser, then end to end in a real browser.

The browser tests start ``retention-sim dashboard`` on a free port and drive Debian's chromium with
Playwright (they skip, saying why, when either is missing; ``./bootstrap.sh test`` installs both).
Each view's screenshot is written to ``tests/artifacts/dashboard/`` (git-ignored), and the measured
speed to ``speed.json`` there.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from browser import browser_test, dashboard, launch, watch_errors

import sim
from sim.dashboard import charts
from sim.dashboard.levers import DashboardModel, Settings, run_to_end, traced_sample
from sim.dashboard.story import tell

ARTIFACTS = Path(__file__).parent / "artifacts" / "dashboard"


def focal(config, kind):
    return [m for m in config.measures if (m.firm in (None, config.firms[0].name)) and m.type == kind]


# ------------------------------------------------------------------------------------- settings
@pytest.mark.parametrize("name", sorted(sim.shipped_scenarios()))
def test_settings_start_from_the_scenario_as_written(name):
    s = Settings.from_scenario(name, customers=1000)
    assert s.config() == sim.load(name, {"simulation.customers": 1000})


def test_contract_levers_set_every_focal_contract_and_keep_its_target():
    s = Settings.from_scenario("telecom", customers=1000)
    assert (s.contract_term, s.exit_fee) == (12, 360.0)
    cfg = s.replace(exit_fee=300.0).config()
    contracts = focal(cfg, "contract")
    assert [(m.term, m.exit_fee, m.target.segment) for m in contracts] == [
        (12, 300.0, "twelve_month"), (24, 300.0, "twenty_four_month"),
    ]
    rival = [m for m in cfg.measures if m.firm == "rival" and m.type == "contract"]
    assert [(m.term, m.exit_fee) for m in rival] == [(12, 336.0)]  # the rival's contract is not a lever
    assert focal(s.replace(contract_term=0).config(), "contract") == []


def test_each_contract_has_its_own_term_lever():
    s = Settings.from_scenario("telecom", customers=1000)
    assert s.contract_terms == (12, 24) and s.contract_labels() == ["segment twelve_month", "segment twenty_four_month"]
    cfg = s.replace(contract_terms=(6, 36)).config()
    assert [(m.term, m.target.segment) for m in focal(cfg, "contract")] == [(6, "twelve_month"), (36, "twenty_four_month")]
    cfg = s.replace(contract_terms=(0, 24)).config()
    assert [(m.term, m.target.segment) for m in focal(cfg, "contract")] == [(24, "twenty_four_month")]
    assert [(m.term, m.exit_fee) for m in cfg.measures if m.firm == "rival" and m.type == "contract"] == [(12, 336.0)]


def test_a_discount_moved_from_none_runs_until_shortened():
    s = Settings.from_scenario("telecom", customers=1000)
    assert (s.discount_rate, s.discount_periods) == (0.0, 0)
    (d,) = focal(s.with_discount(0.1).config(), "discount")  # without a duration it would do nothing
    assert (d.rate, d.schedule.start, d.schedule.end) == (0.1, 0, None)
    (d,) = focal(s.with_discount(0.1).replace(discount_periods=6).with_discount(0.2).config(), "discount")
    assert (d.rate, d.schedule.end) == (0.2, 6)  # a duration once set is kept


def test_discount_levers_set_rate_and_how_long_it_runs():
    s = Settings.from_scenario("ecommerce", customers=1000)
    assert (s.discount_rate, s.discount_periods) == (0.15, 24)
    (d,) = focal(s.replace(discount_rate=0.25, discount_periods=6).config(), "discount")
    assert (d.rate, d.schedule.start, d.schedule.end) == (0.25, 0, 6)
    horizon = sim.load("ecommerce").simulation.periods
    (d,) = focal(s.replace(discount_periods=horizon).config(), "discount")  # the whole horizon: for good
    assert d.schedule.end is None
    assert focal(s.replace(discount_rate=0.0).config(), "discount") == []
    (d,) = focal(Settings.from_scenario("telecom").replace(discount_rate=0.1, discount_periods=12).config(), "discount")
    assert (d.rate, d.schedule.end, d.firm) == (0.1, 12, "focal")


def test_nostalgia_levers_add_a_campaign_aimed_at_the_cohort():
    s = Settings.from_scenario("telecom", customers=1000).replace(nostalgia_cohort="1980s", authenticity=0.9)
    (n,) = focal(s.config(), "nostalgia")
    assert (n.cohort, n.authenticity, n.target.cohort) == ("1980s", 0.9, "1980s")
    (n,) = focal(s.replace(nostalgia_everyone=True).config(), "nostalgia")
    assert n.target.cohort is None


def test_a_shipped_scenario_started_by_its_path_shows_by_its_name(monkeypatch):
    from sim.dashboard import library
    from sim.scenario import resolve_path

    monkeypatch.setenv(library.START_ENV, str(resolve_path(None).resolve()))  # the command's default
    assert library.start_name() == "telecom"
    assert "telecom (started with)" not in library.offered()
    monkeypatch.setenv(library.START_ENV, "telecom")
    assert library.start_name() == "telecom"


def test_price_and_customers_are_plain_overrides_and_better_service_is_bought():
    cfg = Settings.from_scenario("telecom").replace(price=33.0, service_quality=0.8, customers=2500).config()
    assert (cfg.firms[0].price, cfg.simulation.customers) == (33.0, 2500)
    assert cfg.firms[1].price == 28.0
    # quality above the scenario's (0.65) is a service measure at the service lever's cost model
    assert cfg.firms[0].service_quality == 0.65
    (svc,) = focal(cfg, "service")
    assert (svc.quality_boost, svc.handling_boost, svc.cost_per_customer) == pytest.approx((0.15, 0.0, None))
    cut = Settings.from_scenario("telecom").replace(service_quality=0.5).config()
    assert cut.firms[0].service_quality == 0.5 and focal(cut, "service") == []


# ------------------------------------------------------------------------------------- costed levers
NO_LEVERS = dict(contract_term=0, discount_rate=0.0, nostalgia_cohort="")
PERIODS = 24


def _books(**levers):
    """The focal firm's books over PERIODS periods of telecom (2,000 customers) with only ``levers`` set."""
    m = DashboardModel(Settings.from_scenario("telecom", customers=2000).replace(**{**NO_LEVERS, **levers})).replay(PERIODS)
    return {k: m.series(k)[:, 0] for k in ("active", "revenue", "exit_fees", "serving_costs", "measure_costs", "fixed_costs",
                                         "acquisition_costs", "profit", "discounts", "contracts_signed", "renewals")}, m


def _profit_is_net_of_costs(b) -> None:
    net = b["revenue"] + b["exit_fees"] - b["serving_costs"] - b["measure_costs"] - b["fixed_costs"] - b["acquisition_costs"]
    assert b["profit"] == pytest.approx(net)


def test_without_levers_the_focal_firm_pays_for_no_measure():
    b, _ = _books()
    assert b["measure_costs"].sum() == 0 and b["discounts"].sum() == 0
    _profit_is_net_of_costs(b)


def test_the_service_lever_costs_what_the_service_cost_model_says_and_profit_pays_it():
    from sim.measures import CODE, service

    s = Settings.from_scenario("telecom", customers=2000).replace(**NO_LEVERS, service_quality=0.9)
    cfg = s.config()
    (spec,) = focal(cfg, "service")
    per_customer = service.Lever(spec, cfg, CODE["service"]).per_customer_cost()
    assert per_customer == pytest.approx(cfg.firms[0].price * spec.quality_cost_share * (0.25 / 0.1) ** 2)
    assert s.service_cost() == pytest.approx(per_customer)
    b, _ = _books(service_quality=0.9)
    # every focal customer is reached every period: the cost is the customers served times the rate
    served = np.concatenate([[2000 * cfg.firms[0].initial_share], b["active"][:-1]])
    assert b["measure_costs"].sum() == pytest.approx(per_customer * served.sum(), rel=0.03)
    _profit_is_net_of_costs(b)


@pytest.mark.parametrize("lever, column", [
    (dict(service_quality=0.8), "measure_costs"),
    (dict(contract_term=12, exit_fee=200.0), "measure_costs"),
    (dict(nostalgia_cohort="1980s", authenticity=0.9), "measure_costs"),
    (dict(discount_rate=0.1, discount_periods=PERIODS), "discounts"),
])
def test_every_costed_dashboard_lever_changes_profit_by_its_cost(lever, column):
    b, m = _books(**lever)
    assert b[column].sum() > 0, f"{lever} costs nothing"
    _profit_is_net_of_costs(b)
    if "contract_term" in lever:  # the contract lever's cost model: a fee per contract signed or renewed
        (fee,) = {c.cost_per_contract for c in focal(m.config, "contract")}  # telecom's two contracts cost alike
        assert b["measure_costs"].sum() == pytest.approx(fee * (b["contracts_signed"] + b["renewals"]).sum())
    if "discount_rate" in lever:  # revenue given away: the rate on the list price of every customer served
        assert b["discounts"].sum() == pytest.approx(0.1 * m.config.firms[0].price * b["active"].sum(), rel=0.05)


# ------------------------------------------------------------------------------------- data and words
@pytest.fixture(scope="module")
def played():
    m = DashboardModel(Settings.from_scenario("telecom", customers=2000))
    return m.replay(30)


def test_the_live_series_are_the_runs_books(played):
    res = sim.RunResult(played)
    p = res.periods
    for stat in ("active", "profit", "churned", "cohort_active", "share_bonded_only"):
        wide = p.pivot(index="period", columns="firm", values=stat)[[f.name for f in played.firms]].to_numpy()
        assert played.series(stat) == pytest.approx(wide, nan_ok=True)
    retention = res.retention[res.retention["firm"] == "focal"]["retention"].to_numpy()[:30]
    assert played.series("cohort_active")[:, 0] / played.series("cohort_active")[0, 0] == pytest.approx(retention)


def test_clv_by_loyalty_class_agrees_with_the_run_result(played):
    from sim.codes import LOYALTY_CLASSES
    from sim.dashboard.app import clv_by_class

    first = sim.RunResult(played).first_relationships
    got = clv_by_class(played)
    for f in played.firms:
        g = first[first["firm"] == f.name].groupby("loyalty_class", observed=False)["clv"].mean()
        want = [g.get(k, math.nan) for k in LOYALTY_CLASSES]
        assert got[f.name] == pytest.approx(want, nan_ok=True)


def test_a_traced_customer_has_a_story_in_words(played):
    ids = played.story_ids()
    assert set(ids) <= set(traced_sample(played.config)) and len(ids) >= 20
    newcomers = [i for i in ids if i >= played.config.simulation.customers]
    assert newcomers  # the sample follows newcomers too, found by their ids (sim.population.arrival_id)
    stories = [tell(played, i) for i in ids]
    for st in stories:
        assert st.headline.startswith(f"Customer {st.customer:,}" if st.customer not in newcomers else "Newcomer ")
        assert st.now.startswith("Now (month 30)")
        assert st.lines and st.lines[0][1].startswith(("is a customer of", "joined"))
    text = " ".join(t for st in stories for _, t in st.lines)
    for words in ("contract", "looked at the alternatives"):
        assert words in text
    # repeated events are told once per run of periods, not once per period
    for st in stories:
        assert len(st.lines) <= len(played.history(st.customer))


def test_story_of_a_switcher_names_the_new_firm():
    m = DashboardModel(Settings.from_scenario("telecom", customers=2000)).replay(60)
    switchers = [i for i in m.story_ids() if any(h["event"] == "switched" for h in m.history(i))]
    assert switchers, "some traced customer switches in five years"
    st = tell(m, switchers[0])
    new_firm = next(h["detail"] for h in m.history(switchers[0]) if h["event"] == "switched")
    assert any(t == f"switched to {new_firm}" for _, t in st.lines)


def test_comparison_with_the_baseline_uses_one_seed():
    from sim.dashboard.app import compare_runs

    s = Settings.from_scenario("telecom", customers=1500)
    same = compare_runs(s, s)
    assert np.array_equal(same["baseline"]["profit"], same["current"]["profit"])
    # the comparison runs to the end of the run: its last point is month 60 of a 60-month run
    assert same["current"]["x"][-1] == 60 and len(same["current"]["retention"]) == 61
    run = sim.RunResult(run_to_end(s)).retention
    assert same["current"]["retention"] == pytest.approx(run[run["firm"] == "focal"]["retention"].to_numpy())
    pricier = compare_runs(s, s.replace(price=36.0))
    assert not np.array_equal(pricier["baseline"]["retention"], pricier["current"]["retention"])
    assert pricier["current"]["retention"][-1] < pricier["baseline"]["retention"][-1]  # a 20 % price rise loses customers


def test_charts_carry_their_latest_values():
    svg = charts.line_chart("t", "T & co", [charts.Series("a", "#000", [0, 1, 2], [1.0, 2.0, 3.5])], 10)
    assert svg.startswith("<svg") and 'data-chart="t"' in svg and 'data-last="3.5"' in svg and "T &amp; co" in svg
    assert "press play" in charts.line_chart("e", "E", [charts.Series("a", "#000", [], [])], 10)
    area = charts.stacked_area(
        "s", "S", [charts.Series("x", "#111", [0, 1], [0.25, 0.5]), charts.Series("y", "#222", [0, 1], [0.75, 0.5])], 5
    )
    assert area.count("<path") == 2
    assert charts.nice_ticks(0, 0.93) == [0, 0.25, 0.5, 0.75, 1.0]


def test_month_axes_tick_every_twelve_months():
    assert charts.month_ticks(60) == [0, 12, 24, 36, 48, 60]
    assert charts.month_ticks(240) == [24.0 * k for k in range(11)]
    assert charts.month_ticks(9) == [0, 3, 6, 9]
    svg = charts.line_chart("t", "T", [charts.Series("a", "#000", [0, 30, 60], [1.0, 2.0, 3.0])], 60)
    ticks = [float(t) for t in re.findall(r'text-anchor="middle" font-size="\d+" fill="[^"]+">([\d.]+)</text>', svg)]
    assert ticks == [0, 12, 24, 36, 48, 60]


# ------------------------------------------------------------------------------------- command line
@pytest.mark.parametrize("args, message", [
    (["nosuch"], "nosuch: no such file"),
    (["--port", "70000"], "--port: must be a port number from 1 to 65535"),
    (["--host", "nosuch.invalid"], "--host nosuch.invalid"),
    (["--teams", "3"], "--teams: sets up a classroom game; give its market with --game SCENARIO"),
    (["--game", "nosuch"], "--game: nosuch: no such file"),
    (["--game", "telecom", "--teams", "5"], "--teams 5: a game needs 2 to 4 teams (got 5)"),
    (["--game", "telecom", "--teams", "three"], "--teams: must be a whole number (got 'three')"),
    (["--game", "telecom", "--rounds", "41"], "--rounds 41: a game has 1 to 40 rounds (got 41)"),
    (["--game", "telecom", "--round-periods", "25"], "--round-periods 25: a round is 1 to 24 periods long (got 25)"),
    (["--game", "telecom", "--customers", "99"], "--customers 99: a game's market has 100 to 50,000 customers (got 99)"),
    (["--game", "telecom", "--budget", "-1"], "--budget: must be a non-negative amount (got -1)"),
])
def test_dashboard_bad_input_is_one_line_and_exit_2(args, message, capsys):
    from sim.cli import main

    try:
        code = main(["dashboard", *args])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_the_command_sets_up_a_game_as_the_trainers_page_does():
    from sim.cli import _new_game, parser
    from sim.game import NEW_GAME, TEAM_NAMES

    def game(*args):
        return _new_game(parser().parse_args(["dashboard", "--game", "ecommerce", *args]))

    g = game()
    assert (len(g.teams), g.round_periods, g.rounds, g.seed) == (NEW_GAME["teams"], NEW_GAME["round_periods"],
                                                                 NEW_GAME["rounds"], NEW_GAME["seed"])
    assert g.market.simulation.customers == NEW_GAME["customers"] and g.market.name == "game on " + sim.load("ecommerce").name
    g = game("--teams", "4", "--rounds", "5", "--round-periods", "2", "--customers", "3000", "--game-seed", "7",
             "--budget", "5000")
    assert (g.teams, g.rounds, g.round_periods, g.seed, g.budget) == (list(TEAM_NAMES), 5, 2, 7, 5000.0)
    assert g.market.simulation.customers == 3000
    assert _new_game(parser().parse_args(["dashboard"])) is None


def test_dashboard_refuses_a_port_in_use(capsys):
    from sim.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    assert "is in use" in capsys.readouterr().err


# ------------------------------------------------------------------------------------- in a browser
VIEWPORT = {"width": 1400, "height": 900}
SPEED_CUSTOMERS = 10_000
MIN_PERIODS_PER_SECOND = 5.0
MAX_SLIDER_SECONDS = 2.0


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``retention-sim dashboard`` on a free port, on telecom made long enough (240 months) that ten
    seconds of play never reach the horizon, at 10,000 customers."""
    from sim.reference import annotated_toml

    folder = tmp_path_factory.mktemp("dashboard")
    scenario = folder / "telecom_long.toml"
    scenario.write_text(annotated_toml(sim.load("telecom", {"simulation.periods": 240, "simulation.customers": SPEED_CUSTOMERS})))
    with dashboard(folder, str(scenario)) as (url, _):
        yield url


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        pg = browser.new_page(viewport=VIEWPORT)
        watch_errors(pg)
        pg.goto(server, wait_until="networkidle", timeout=90_000)
        pg.wait_for_selector("[data-testid=period]", timeout=60_000)
        yield pg
        browser.close()


def shot(pg, name: str) -> Path:
    pg.wait_for_timeout(800)  # let a tab's slide-in transition finish
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    w, h = _png_size(path)
    assert w == VIEWPORT["width"] and h >= VIEWPORT["height"], f"{name}.png is {w} x {h}"
    return path


def period(pg) -> int:
    return int(pg.get_attribute("[data-testid=period]", "data-period"))


def record(**values) -> None:
    path = ARTIFACTS / "speed.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(values, load_average=os.getloadavg()[0])
    path.write_text(json.dumps(data, indent=2) + "\n")


def lever(pg, label: str):
    return pg.locator(".rs-lever").filter(has_text=label).locator("[role=slider]")


def set_slider(pg, slider, target: float) -> None:
    """Move ``slider`` to ``target`` with the arrow keys, one step at a time; each key press must show
    (a lost one fails the test)."""
    while True:
        now = float(slider.get_attribute("aria-valuenow"))
        if math.isclose(now, target, abs_tol=1e-9):
            return
        slider.focus()
        slider.press("ArrowRight" if now < target else "ArrowLeft")
        pg.wait_for_function("([el, v]) => parseFloat(el.getAttribute('aria-valuenow')) !== v",
                             arg=[slider.element_handle(), now], timeout=5_000)


@browser_test
def test_page_loads_with_plots_and_sliders(page):
    assert page.locator("canvas, svg, img").count() >= 5
    assert page.locator("input[type=range], .v-slider, [role=slider]").count() >= 8
    for chart in ("loyalty", "retention", "churn", "clv", "profit"):
        assert page.locator(f"svg[data-chart={chart}]").count() == 1
    assert period(page) == 0
    # the side bar shows only cards with something to set (Mesa's empty parameter card is left out)
    titles = [t.strip() for t in page.locator(".v-navigation-drawer .v-card__title:visible").all_inner_texts()]
    assert titles == ["Controls", "Scenario", "Levers of focal"], titles
    shot(page, "1-dashboard-start")
    assert page.errors == []


@browser_test
def test_play_advances_at_least_five_periods_a_second(page):
    start = period(page)
    page.get_by_role("button", name="▶").click()
    t0 = time.perf_counter()
    page.wait_for_timeout(10_000)
    shown = period(page) - start
    elapsed = time.perf_counter() - t0
    page.get_by_role("button", name="❚❚").click()
    shot(page, "2-dashboard-playing")
    rate = shown / elapsed
    record(customers=SPEED_CUSTOMERS, periods_shown_after_10s=shown, periods_per_second=round(rate, 2))
    # every live plot moved along with the periods
    assert page.locator("svg[data-chart=profit] path[data-series]").count() == 2
    assert rate >= MIN_PERIODS_PER_SECOND, (
        f"{shown} periods in {elapsed:.1f} s at {SPEED_CUSTOMERS:,} customers (load {os.getloadavg()[0]:.1f})"
    )
    assert page.errors == []


@browser_test
def test_a_slider_change_changes_a_plotted_value_within_two_seconds(page):
    page.wait_for_timeout(500)  # paused: let the last frame arrive
    at = period(page)
    assert at > 0
    path = 'svg[data-chart=profit] path[data-series^="focal"]'
    before = page.get_attribute(path, "d")
    label = page.locator(".rs-lever").filter(has_text="List price").inner_text()
    slider = lever(page, "List price")
    slider.focus()
    t0 = time.perf_counter()
    slider.press("ArrowRight")
    page.wait_for_function("([sel, d]) => { const e = document.querySelector(sel); return e && e.getAttribute('d') !== d; }",
                           arg=[path, before], timeout=10_000, polling=20)
    latency = time.perf_counter() - t0
    record(slider_latency_seconds=round(latency, 3))
    assert period(page) == at  # the new settings were replayed to the period shown
    assert page.locator(".rs-lever").filter(has_text="List price").inner_text() != label
    assert latency <= MAX_SLIDER_SECONDS, f"the plot changed {latency:.2f} s after the slider"
    assert page.errors == []


@browser_test
def test_follow_one_customer_tells_a_story(page):
    page.get_by_role("tab", name="Follow a customer").click()
    story = page.locator("[data-testid=story]")
    story.wait_for(timeout=10_000)
    text = story.inner_text()
    assert text.startswith("Customer ") and "Now (month" in text
    assert "customer of" in text or "joined" in text
    shot(page, "3-follow-a-customer")
    assert page.errors == []


@browser_test
def test_compare_with_a_saved_baseline(page):
    page.get_by_role("tab", name="Compare with baseline").click()
    page.get_by_role("button", name="Save current settings as baseline").click()
    table = page.locator("[data-testid=compare-table]")
    table.wait_for(timeout=15_000)
    assert not re.search(r"[+-][1-9]", table.inner_text())  # the same settings: no difference
    slider = lever(page, "Service quality")
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")  # service quality +0.02
    page.wait_for_function("() => { const t = document.querySelector('[data-testid=compare-table]'); "
                           "return t && /[+-][1-9]/.test(t.innerText); }",
                           timeout=20_000)
    for chart in ("compare-retention", "compare-retention-diff", "compare-profit", "compare-profit-diff"):
        assert page.locator(f"svg[data-chart={chart}]").count() == 1
    shot(page, "4-compare-with-baseline")
    assert page.errors == []


# every value a slider shows, in order (a slider moved back by the page shows as a value going down)
WATCH_SLIDER = """(el) => { el.__shown = [];
  new MutationObserver(() => el.__shown.push(parseFloat(el.getAttribute('aria-valuenow'))))
    .observe(el, {attributes: true, attributeFilter: ['aria-valuenow']}); }"""


@browser_test
def test_no_key_press_is_lost_while_the_model_replays(page, server, tmp_path, monkeypatch):
    """Arrow keys on two levers and a seed typed, all while the model replays the first change (50,000
    customers, some 30 periods in: each replay takes about a second): every key press counts, no
    slider is moved back, and the run shown is the one of the last settings."""
    pg = page.context.browser.new_context(viewport=VIEWPORT).new_page()
    watch_errors(pg)
    pg.goto(server, wait_until="networkidle", timeout=90_000)
    pg.wait_for_selector("[data-testid=period]", timeout=60_000)
    customers = lever(pg, "Customers")
    customers.focus()
    customers.press("End")
    pg.locator(".rs-lever", has_text="Customers: 50,000").wait_for(timeout=20_000)
    pg.get_by_role("button", name="▶").click()
    pg.wait_for_function("() => +document.querySelector('[data-testid=period]').dataset.period >= 30", timeout=60_000)
    pg.get_by_role("button", name="❚❚").click()
    pg.wait_for_timeout(1_000)
    at = period(pg)
    price, service = lever(pg, "List price"), lever(pg, "Service quality")
    p0, s0 = float(price.get_attribute("aria-valuenow")), float(service.get_attribute("aria-valuenow"))
    for slider in (price, service):
        slider.evaluate(WATCH_SLIDER)
    curve = 'svg[data-chart=profit] path[data-series^="focal"]'
    before = pg.get_attribute(curve, "d")
    price.focus()
    for _ in range(5):
        pg.keyboard.press("ArrowRight")  # 5 x 0.10 EUR
    service.focus()
    for _ in range(4):
        pg.keyboard.press("ArrowRight")  # 4 x 0.01
    seed = pg.get_by_label("Seed (same seed, same run)")
    seed.click()
    seed.press("Control+a")
    seed.press_sequentially("4321")
    seed.press("Enter")
    assert pg.get_attribute(curve, "d") == before, "the first replay was over before the keys were pressed"
    pg.locator(".rs-lever", has_text=f"List price: {p0 + 0.5:,.2f}").wait_for(timeout=30_000)
    pg.locator(".rs-lever", has_text=f"Service quality: {s0 + 0.04:.2f}").wait_for(timeout=30_000)
    pg.wait_for_timeout(3_000)  # let every replay finish
    assert float(price.get_attribute("aria-valuenow")) == pytest.approx(p0 + 0.5)
    assert float(service.get_attribute("aria-valuenow")) == pytest.approx(s0 + 0.04)
    assert seed.input_value() == "4321"
    for name, slider in (("List price", price), ("Service quality", service)):
        shown = slider.evaluate("el => el.__shown")
        assert shown == sorted(shown), f"{name} was moved back while it replayed: {shown}"
    # the run shown is the one of the last settings, replayed to the period shown
    shown = period(pg)
    assert shown >= at
    from sim.dashboard import library
    from sim.reference import annotated_toml

    same = tmp_path / "telecom_long.toml"  # the server's scenario
    same.write_text(annotated_toml(sim.load("telecom", {"simulation.periods": 240, "simulation.customers": SPEED_CUSTOMERS})))
    monkeypatch.setenv(library.START_ENV, str(same))
    monkeypatch.delenv(library.SCENARIOS_ENV, raising=False)
    last = Settings.from_scenario(library.start_name(), customers=50_000, seed=4321).replace(
        price=round(p0 + 0.5, 2), service_quality=round(s0 + 0.04, 2))
    expected = int(DashboardModel(last).replay(shown).firms[0].active)
    header = pg.locator(".rs-header").first.inner_text()
    assert re.search(r"focal: ([\d,]+) customers", header).group(1) == f"{expected:,}", header
    assert pg.locator("[data-testid=dashboard-message]").inner_text().strip() == ""
    assert pg.errors == []
    pg.context.close()


# ------------------------------------------------------------------------------------- screens of a room
SCREENS = {"laptop": (1280, 800), "projector": (1920, 1080), "phone": (390, 844)}
# every point of a plot that is on screen (below the fixed top bar) belongs to the plot, not to an element over it
COVERED = """() => { const out = []; const bar = document.querySelector('.v-app-bar'); \
const top = bar ? bar.getBoundingClientRect().bottom : 0;
  for (const svg of document.querySelectorAll('svg[data-chart]')) { svg.scrollIntoView({block: 'center'});
    const r = svg.getBoundingClientRect(); if (r.width < 2) continue;
    for (const fx of [0.02, 0.3, 0.5, 0.7, 0.98]) for (const fy of [0.02, 0.5, 0.98]) {
      const x = r.left + fx * r.width, y = r.top + fy * r.height;
      if (x < 0 || y <= top || x >= innerWidth || y >= innerHeight) continue;
      const e = document.elementFromPoint(x, y);
      if (!e || !svg.contains(e)) \
out.push(`${svg.dataset.chart} at (${fx}, ${fy}) under ${e ? e.tagName + '.' + e.className : 'nothing'}`); } }
  return out; }"""
WIDER = """() => [...document.querySelectorAll('body *')]\
.filter(e => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 1)
  .slice(0, 3).map(e => e.tagName + '.' + String(e.className).slice(0, 60))"""


def _check_screen(pg, name: str) -> None:
    """No horizontal scroll, nothing wider than the screen, no element over a plot, no framework badge,
    none of Mesa's internal controls; a screenshot to look at."""
    width = pg.viewport_size["width"]
    assert pg.evaluate("document.documentElement.scrollWidth") <= width, f"{name}: the page scrolls sideways"
    assert pg.evaluate(WIDER) == [], f"{name}: wider than the screen"
    assert pg.evaluate(COVERED) == [], f"{name}: something lies over a plot"
    assert pg.get_by_text("runs on Solara").count() == 0
    for hidden in ("Use Threads", "Render Interval"):
        assert not any(e.is_visible() for e in pg.get_by_text(hidden).all()), f"{name}: Mesa's {hidden!r} is shown"
    pg.evaluate("window.scrollTo(0, 0)")
    pg.screenshot(path=str(ARTIFACTS / f"screen-{name}.png"), full_page=True)


@browser_test
@pytest.mark.parametrize("projector", [False, True], ids=["normal", "projector"])
def test_every_screen_of_a_room_fits(page, server, projector):
    """The dashboard (played a little) and a running game, at a laptop's, a projector's and a phone's
    size, with and without projector mode (each in a new browser context: another device)."""
    browser = page.context.browser
    for screen, (w, h) in SCREENS.items():
        pg = browser.new_context(viewport={"width": w, "height": h}).new_page()
        watch_errors(pg)
        pg.goto(server, wait_until="networkidle", timeout=90_000)
        pg.wait_for_selector("[data-testid=period]", timeout=60_000)
        if projector:
            pg.locator(".rs-projector-switch").first.evaluate("e => e.click()")
            pg.wait_for_function("() => getComputedStyle(document.querySelector('.rs-main')).fontSize === '26px'"
                                 if screen != "phone" else "() => true", timeout=10_000)
        pg.locator("[data-testid=period]").evaluate("e => e.scrollIntoView()")
        for _ in range(3):
            pg.get_by_role("button", name="STEP").evaluate("e => e.click()")
        pg.wait_for_function("() => +document.querySelector('[data-testid=period]').dataset.period >= 3", timeout=20_000)
        label = f"{'projector-' if projector else ''}{screen}"
        _check_screen(pg, f"dashboard-{label}")
        pg.goto(server + "game", wait_until="networkidle", timeout=60_000)
        pg.get_by_role("button", name="Start the game").click()
        pg.get_by_role("button", name="Advance round").click(timeout=30_000)
        pg.wait_for_selector("[data-testid=round][data-round='1']", timeout=60_000)
        pg.locator("[data-testid=luck]", has_text="other seeds").wait_for(timeout=30_000)
        _check_screen(pg, f"game-{label}")
        assert pg.errors == []
        pg.context.close()


def test_projector_mode_follows_the_command_until_a_page_switches_it(monkeypatch):
    from sim.dashboard import PROJECTOR_ENV
    from sim.dashboard.app import projector_on

    monkeypatch.setenv(PROJECTOR_ENV, "1")
    assert projector_on()
    monkeypatch.setenv(PROJECTOR_ENV, "0")
    assert not projector_on()


@browser_test
def test_the_command_starts_a_game_and_prints_its_join_code_and_the_trainers_address(page, tmp_path):
    """``dashboard --game SCENARIO --teams N --rounds R ...`` starts the game the trainer's page would:
    the command prints its join code and the trainer's address; that address shows ``Join code: CODE``
    and the game's teams and rounds, and /game on another device lists the game."""
    with dashboard(tmp_path, "--game", "ecommerce", "--teams", "3", "--rounds", "4", "--round-periods", "2",
                   "--customers", "2000") as (url, _):
        out = (tmp_path / "server.log").read_text()
        code = re.search(r"^retention-sim: classroom game started\. Join code: (\w+)$", out, re.M).group(1)
        address = re.search(r"^retention-sim: the trainer's page: (\S+)", out, re.M).group(1)
        assert address.startswith(f"{url}game?code={code}&trainer=")
        browser = page.context.browser
        trainer = browser.new_context(viewport=VIEWPORT).new_page()
        watch_errors(trainer)
        trainer.goto(address, wait_until="networkidle", timeout=90_000)
        assert trainer.locator("[data-testid=join-code]").inner_text(timeout=30_000).strip() == f"Join code: {code}"
        teams = trainer.locator("[data-testid=team-status] tr[data-team]")
        assert [teams.nth(k).get_attribute("data-team") for k in range(teams.count())] == ["Team A", "Team B", "Team C"]
        assert trainer.locator("[data-testid=round]").inner_text().startswith("Round 1 of 4 (months 1–2)")
        assert trainer.get_by_role("button", name="Advance round").count() == 1
        team = browser.new_context(viewport=VIEWPORT).new_page()
        team.goto(url + "game", wait_until="networkidle", timeout=90_000)
        team.locator(f"[data-code='{code}']").click(timeout=30_000)
        team.get_by_role("button", name="Join as Team C").wait_for(timeout=30_000)
        assert team.get_by_role("button", name=re.compile("Join as")).count() == 3
        assert trainer.errors == []
        trainer.context.close()
        team.context.close()


def _join(browser, url: str, code: str, team: str):
    """A new browser context (another device) that joins game ``code`` as ``team``."""
    pg = browser.new_context(viewport=VIEWPORT).new_page()
    watch_errors(pg)
    pg.goto(url + "game", wait_until="networkidle", timeout=60_000)
    pg.get_by_label("Join code").fill(code)
    pg.get_by_role("button", name="Join", exact=True).click()
    pg.get_by_role("button", name=f"Join as {team}").click()
    pg.locator(".rs-team-0, .rs-team-1").first.wait_for(timeout=20_000)
    return pg


@browser_test
def test_classroom_game_one_game_on_every_device(page, server):
    """The trainer starts a game; two teams join it by code on their own devices (three browser
    contexts); each sees only its own form; a decision shows in the trainer's view; a reload rejoins."""
    import re

    trainer = page
    trainer.goto(server + "game", wait_until="networkidle", timeout=60_000)
    trainer.get_by_role("button", name="Start the game").click()
    code = re.fullmatch(
        r"Join code: (\w+)", trainer.locator("[data-testid=join-code]").inner_text(timeout=30_000).strip()
    ).group(1)
    assert trainer.locator("[data-testid=team-status] tr[data-team]").count() == 2
    assert trainer.get_by_role("button", name="Submit decision").count() == 0  # the trainer decides for no team
    browser = trainer.context.browser
    a = _join(browser, server, code, "Team A")
    b = _join(browser, server, code, "Team B")
    for pg, own, other in ((a, 0, 1), (b, 1, 0)):
        assert pg.locator(f".rs-team-{own}").count() == 1 and pg.locator(f".rs-team-{other}").count() == 0
        assert pg.get_by_role("button", name="Submit decision").count() == 1
        assert pg.locator("[data-testid=leaderboard]").count() == 1  # the shared market
    # both teams are taken: a third device with the code may take over neither
    c = browser.new_context().new_page()
    c.goto(server + "game?" + f"code={code}", wait_until="networkidle", timeout=60_000)
    c.get_by_text("Every team of this game has joined").wait_for(timeout=20_000)
    assert c.get_by_role("button", name=re.compile("Join as")).count() == 0
    c.context.close()
    # an over-budget refusal shows next to that team's form, on its device only
    service = b.locator(".rs-team-1 .rs-lever").filter(has_text="Service").locator("[role=slider]")
    set_slider(b, service, 0.3)
    b.locator(".rs-team-1 .rs-lever", has_text="+0.30").wait_for(timeout=10_000)
    b.get_by_role("button", name="Submit decision").click()
    b.locator("[data-testid=team-message]", has_text="over the budget").wait_for(timeout=10_000)
    assert "over the budget" not in a.inner_text("body")
    # a decision from one device appears in the trainer's view
    discount = a.locator(".rs-team-0 .rs-lever").filter(has_text="Discount").locator("[role=slider]")
    set_slider(a, discount, 3)
    a.locator(".rs-team-0 .rs-lever", has_text="3 %").wait_for(timeout=10_000)
    a.get_by_role("button", name="Submit decision").click()
    trainer.locator("[data-testid=status-0]", has_text="decided (1 measures)").wait_for(timeout=10_000)
    assert trainer.locator("[data-testid=status-1]").inner_text() == "deciding"
    assert "over the budget" in trainer.locator("[data-testid=team-status]").inner_text()
    # a reload rejoins the team (its address carries the game and the team)
    a.reload(wait_until="networkidle")
    a.locator(".rs-team-0").wait_for(timeout=20_000)
    assert a.locator(".rs-team-1").count() == 0 and "code=" in a.url and "team=" in a.url
    # the trainer advances; every device shows the new round and the same leaderboard
    trainer.get_by_role("button", name="Advance round").click()
    for pg in (trainer, a, b):
        pg.wait_for_selector("[data-testid=round][data-round='1']", timeout=60_000)
        assert pg.locator("[data-testid=leaderboard] tr[data-team]").count() == 2
        assert pg.locator("svg[data-chart=market-share] path[data-series]").count() == 2
    # two teams that did almost the same are not ranked as if it were skill
    trainer.locator("[data-testid=luck]", has_text="other seeds").wait_for(timeout=30_000)
    shot(trainer, "5-game-trainer")
    shot(a, "5-game-team")
    trainer.get_by_role("button", name="Show debrief").click()
    trainer.locator("[data-testid=debrief]").wait_for(timeout=10_000)
    assert "by bond" in trainer.locator("[data-testid=debrief]").inner_text()
    assert trainer.locator("svg[data-chart=debrief]").count() == 1
    shot(trainer, "6-game-debrief")
    for pg in (trainer, a, b):
        assert pg.errors == []
    a.context.close()
    b.context.close()


# ------------------------------------------------------------------------------------- one game per room
def _room(**kw):
    from sim.dashboard import rooms
    from sim.game import Game

    return rooms.open_room(Game.new("telecom", ("Team A", "Team B"), seed=3, round_periods=2, rounds=3, customers=1000, **kw))


def test_a_room_is_found_by_its_join_code_from_any_session():
    from sim.dashboard import rooms

    r = _room()
    try:
        assert len(r.code) == rooms.CODE_LENGTH and set(r.code) <= set(rooms.CODE_ALPHABET)
        assert rooms.room(r.code) is r and rooms.room(f" {r.code.lower()} ") is r
        assert r in rooms.running()
        assert rooms.room("nosuch") is None
    finally:
        assert rooms.close_room(r.code, r.trainer_token)
    assert rooms.room(r.code) is None


def test_a_team_submits_for_itself_only_and_only_the_trainer_advances():
    from sim.dashboard import rooms
    from sim.game import GameError, decision

    r = _room()
    try:
        a = r.join("Team A")
        with pytest.raises(GameError, match="joined already"):
            r.join("Team A")  # a second device cannot take over a team; the first rejoins with its token
        assert r.open_teams() == ["Team B"]
        r.submit(a, decision(discount=0.02))
        assert list(r.game.pending) == ["Team A"]  # A's token decides for A, whatever the form says
        with pytest.raises(GameError):
            r.submit("forged", decision(discount=0.02))
        with pytest.raises(GameError, match="only the trainer"):
            r.advance(a)
        assert r.game.round == 0
        # an over-budget refusal is that team's message, and another team's action does not overwrite it
        b = r.join("Team B")
        r.submit(b, decision(service=0.3, price=1e6))
        assert "over the budget" in r.messages["Team B"] and "Team B" not in r.game.pending
        r.submit(a, [])
        assert "over the budget" in r.messages["Team B"]
        seen = r.version
        r.advance(r.trainer_token)
        assert r.game.round == 1 and r.version > seen
        v = r.view()
        assert v["round"] == 1 and {row["team"] for row in v["leaderboard"]} == {"Team A", "Team B"}
        assert v["luck"] is not None
        assert not rooms.close_room(r.code, a)  # a team cannot end the game
    finally:
        rooms.close_room(r.code, r.trainer_token)
