"""The dashboard: a Mesa SolaraViz app (``retention-sim dashboard`` serves it; the README says how to use it).

Two pages (tabs in the top bar):

- **Dashboard** (``/``): Mesa's SolaraViz runs a :class:`~sim.dashboard.levers.DashboardModel` with its
  own controls (play, step, reset, play interval = speed, render interval). The side bar adds the
  scenario picker, the levers and *save as baseline*; the main area shows live plots (loyalty classes,
  retention, churn, CLV by loyalty class, profit), one traced customer's story, and the comparison with
  the saved baseline on the same seed.
- **Classroom game** (``/game``): :mod:`sim.dashboard.game_page`.

A lever change rebuilds the model with the new settings and replays it to the period shown (common
random numbers make the replay exact, and it takes a fraction of a second), so its effect shows at
once, whether playing or paused. The replay runs in a worker thread (:class:`Session`), and the levers
and fields follow what the browser sends as it is sent (:func:`Lever`, :func:`typed`), so key presses
made while a replay runs all count.

State is per browser tab (Solara gives each its own kernel), so several people can use one server; a
tab's model is released when the tab closes (or, if its connection drops, after
``SOLARA_KERNEL_CULL_TIMEOUT``, which ``retention-sim dashboard`` sets short).

Safe to open to a room: a browser picks scenarios by name from what the command's user offered and
uploads anything else (:mod:`sim.dashboard.library`); it never names a server path. Every text that
comes from a file or a user is escaped before it reaches the page, and an error shows as one line
(the details go to the server's log, never a traceback to the browser: :func:`Guarded`).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from html import escape

import numpy as np
import reacton.core
import solara
import solara.lab
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from ..codes import LOYALTY_CLASSES
from ..plots import CLASS_COLOURS, FIRM_PALETTE
from ..scenario import ScenarioError
from . import charts, library
from .charts import Series
from .levers import MAX_CUSTOMERS, MIN_CUSTOMERS, DashboardModel, Settings, cohorts, run_to_end
from .story import name, tell
from .upload import Upload

log = logging.getLogger("retention_sim.dashboard")
PLAY_INTERVAL = 61  # ms between periods while playing (Mesa's speed slider: 1, 11, 21, ...)
CLASS_SHORT = {"bonded_only": "bonded only", "both": "both", "attached_only": "attached only", "neither": "neither"}
STACK = ("bonded_only", "both", "attached_only", "neither")

CSS = """
.rs-main { font-size: 18px; line-height: 1.45; }
.rs-header { display: flex; flex-wrap: wrap; gap: 10px 28px; align-items: baseline; margin: 4px 0 12px 0; }
.rs-header .rs-title { font-size: 26px; font-weight: 600; }
.rs-header .rs-kpi { font-size: 21px; }
.rs-header .rs-kpi b { font-size: 24px; }
.rs-question { font-size: 19px; color: #424242; margin-bottom: 6px; }
/* at most three plots a row (two for the wide ones), so that more room (the side bar hidden, a larger
   screen) makes the plots larger, not more numerous; one a row on a phone */
.rs-grid { display: grid; grid-template-columns: \
repeat(auto-fit, minmax(max(min(100%, 360px), calc((100% - 24px) / 3)), 1fr)); gap: 12px; }
.rs-grid.rs-wide { grid-template-columns: repeat(auto-fit, minmax(max(min(100%, 560px), calc((100% - 12px) / 2)), 1fr)); }
.rs-main { max-width: 100%; overflow-wrap: anywhere; }
.rs-card { background: #fff; border: 1px solid #e0e0e0; border-radius: 8px; padding: 10px 12px; }
.rs-lever { margin: 6px 0 0 0; }
.rs-lever .rs-lever-label { font-size: 16px; color: #212121; }
.rs-lever .rs-lever-label b { font-size: 17px; }
.rs-note { font-size: 17px; color: #424242; }
.rs-error { font-size: 17px; color: #b71c1c; font-weight: 500; }
.rs-story { font-size: 19px; }
.rs-story table { border-collapse: collapse; margin: 8px 0; }
.rs-story td { padding: 4px 14px 4px 0; vertical-align: top; }
.rs-story td.rs-when { white-space: nowrap; color: #1565c0; font-weight: 600; }
.rs-story .rs-now { background: #f5f5f5; border-left: 5px solid #0072b2; padding: 10px 14px; margin: 10px 0; }
.rs-table { border-collapse: collapse; font-size: 20px; margin: 8px 0; }
.rs-table th, .rs-table td { padding: 6px 16px; border-bottom: 1px solid #e0e0e0; text-align: right; }
.rs-table th:first-child, .rs-table td:first-child, .rs-table .rs-left { text-align: left; }
.rs-table th { background: #fafafa; }
.rs-table td:not(.rs-left) { white-space: nowrap; overflow-wrap: normal; }  /* a number is never broken */
.rs-teams { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 330px), 1fr)); gap: 14px; }
.rs-swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; margin-right: 8px; vertical-align: -1px; }
.v-tab { font-size: 17px !important; }
.v-navigation-drawer .v-card__title { font-size: 20px; }
/* Mesa's "Model Parameters" card is empty here (the levers are ours) and its "Information" card repeats
   the period the header shows: side-bar cards with nothing to set are left out */
.v-navigation-drawer .v-card:not(:has(input, button, [role=slider])) { display: none; }
.v-navigation-drawer .v-label, .v-navigation-drawer .v-select__selection { font-size: 16px; }
/* Mesa's internal controls are not for a room: its render interval and its threads switch (the play
   interval stays: it is the speed) */
.v-navigation-drawer .v-input__slider:has([aria-label^="Render Interval"]),
.v-navigation-drawer .v-card:has([aria-label^="Play Interval"]) .v-input--checkbox { display: none !important; }
/* nothing wider than a phone's screen: there the side bar, when open, is a full-width part of the page
   above the plots (not a layer over them), and ☰ hides it as elsewhere */
.v-navigation-drawer .v-card { max-width: 100%; overflow-wrap: anywhere; }
@media (max-width: 700px) {
  .v-navigation-drawer { min-width: 0 !important; width: 100% !important; max-width: 100vw !important; }
  .v-navigation-drawer--is-mobile.v-navigation-drawer--open { position: relative !important; height: auto !important;
    top: 0 !important; transform: none !important; }
  .d-flex:has(> .v-navigation-drawer--is-mobile) { flex-wrap: wrap; }
  .d-flex:has(> .v-navigation-drawer--is-mobile) > * { min-width: 0; max-width: 100%; }
  .v-application:has(.v-navigation-drawer--is-mobile.v-navigation-drawer--open) > .v-application--wrap > .v-overlay,
  .v-application:has(.v-navigation-drawer--is-mobile.v-navigation-drawer--open) > .v-overlay { display: none !important; }
  .v-app-bar .v-toolbar__title { display: none; }
  .v-app-bar .v-btn { padding: 0 6px !important; min-width: 0 !important; font-size: 13px !important; letter-spacing: 0; }
  .v-app-bar .v-toolbar__content > .v-btn--icon:not(.v-app-bar__nav-icon) { display: none; }  /* Mesa's theme toggle */
  .rs-main .rs-table { font-size: 15px; }
  .rs-main .rs-table th, .rs-main .rs-table td { padding: 4px 6px; }
  .rs-main .rs-table .rs-opt { display: none; }
  .rs-main, .rs-main .rs-story, .rs-main .rs-note { font-size: 16px; }
  .rs-header .rs-title { font-size: 21px; }
  .rs-main .v-tabs-bar { height: auto !important; }
  .rs-main .v-slide-group__content { flex: 1 1 auto; min-width: 0; max-width: 100%; flex-wrap: wrap; transform: none !important; }
  .rs-main .v-slide-group__prev, .rs-main .v-slide-group__next { display: none !important; }
  .rs-main .v-tab { font-size: 14px !important; padding: 0 8px; min-width: 0; height: 40px; }
}
.v-navigation-drawer .v-card .d-flex { flex-wrap: wrap; gap: 8px; }
"""

# projector mode: large type and plots that fill the screen (two a row at most, one on a narrow screen)
PROJECTOR_CSS = """
.rs-main { font-size: 26px; }
.rs-header .rs-title { font-size: 36px; }
.rs-header .rs-kpi { font-size: 28px; }
.rs-header .rs-kpi b { font-size: 32px; }
.rs-main .rs-question, .rs-main .rs-story, .rs-main .rs-note { font-size: 24px; }
.rs-table { font-size: 26px; }
.rs-main .rs-lever .rs-lever-label, .rs-main .rs-lever .rs-lever-label b { font-size: 22px; }
.v-tab { font-size: 22px !important; }
.rs-grid, .rs-grid.rs-wide { grid-template-columns: \
repeat(auto-fit, minmax(max(min(100%, 640px), calc((100% - 12px) / 2)), 1fr)); }
.rs-main .v-btn { font-size: 18px !important; }
/* the side bar is the trainer's and keeps its size (the layout reserves its width for it) */
.rs-card svg[data-chart] { max-height: calc(100vh - 110px); }
"""


def default_scenario() -> str:
    """The offered name of the scenario the command started with."""
    return library.start_name()


def months(model) -> float:
    return float(model.config.simulation.period_months)


def firm_colour(index: int) -> str:
    """The fixed colour of the firm at ``index`` (as in :mod:`sim.plots`)."""
    return FIRM_PALETTE[index % len(FIRM_PALETTE)]


# ------------------------------------------------------------------------------------- session state
class Session:
    """One browser tab's state: the settings, the model SolaraViz runs, the saved baseline.

    A lever's new settings take effect at once (the levers show them), and the model they make is built
    and replayed to the period shown in a worker thread (:meth:`apply`), so the page keeps taking key
    presses while it replays; a later change supersedes one still replaying."""

    def __init__(self, settings: Settings):
        self.settings = solara.reactive(settings)
        # created empty, then set: a reactive keeps its first value for good, and Mesa's controller
        # leaves a reference to this reactive behind when the tab closes (its task's hooks stay in
        # Solara's list of kernel-start callbacks), so a model given here would outlive the session
        self.model = solara.reactive(None)
        self.model.set(DashboardModel(settings))
        self.baseline = solara.reactive(None)
        self.error = solara.reactive("")
        self.followed = solara.reactive(None)
        self.render_lock = None  # the page's render lock, set by the Dashboard component
        # Mesa's controls disable play once a run reaches its horizon, until their RESET; a new run made
        # here after that (another scenario, a lever moved) waits for that RESET too, and says so
        self.last_applied = None
        self.stuck = False
        self._lock = threading.Lock()
        self._wanted: tuple[Settings, bool] | None = None  # the settings the worker is to build next
        self._worker: threading.Thread | None = None

    def apply(self, new: Settings, keep_period: bool = True) -> bool:
        """Take ``new`` settings: checked here (a millisecond), then the model is rebuilt and replayed to
        the period shown in the worker thread; False (and a one-line message) on bad input."""
        try:
            new.config()
        except ScenarioError as err:
            self.error.set(err.one_line())
            return False
        self.settings.set(new)
        self.error.set("")
        with self._lock:
            self._wanted = (new, keep_period)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="retention-sim replay", daemon=True)
                self._worker.start()
        return True

    def _work(self) -> None:
        """Build and replay the wanted settings' model until none is wanted any more; a model whose
        settings were superseded while it replayed is not shown. Should it fail unexpectedly (the
        traceback goes to the server's log), the next change starts a new worker."""
        try:
            self._jobs()
        finally:
            with self._lock:
                if self._worker is threading.current_thread():
                    self._worker = None

    def _jobs(self) -> None:
        while True:
            with self._lock:
                if self._wanted is None:
                    self._worker = None
                    return
                (new, keep_period), self._wanted = self._wanted, None
            old = self.model.peek()
            try:
                model = DashboardModel(new)
                # replay to the period shown, and again while a playing model moved on meanwhile
                while keep_period and self._wanted is None and model.period < min(self.model.peek().period, model.horizon):
                    model.replay(self.model.peek().period)
            except (ValueError, OSError, MemoryError) as err:
                log.exception("could not build the model")
                self.error.set(f"could not build the model ({type(err).__name__}); the details are in the server's log")
                continue
            if self._wanted is not None:
                continue  # superseded: build the newer settings instead
            current = self.model.peek()
            if current is not old and current is not self.last_applied:
                continue  # Mesa's RESET made a model of these settings meanwhile
            model.render_lock = self.render_lock
            if not current.running and model.running:
                self.stuck = True
            self.last_applied = model
            self.model.set(model)

    def change(self, **levers) -> None:
        self.apply(self.settings.value.replace(**levers))


# ------------------------------------------------------------------------------------- live data
def _x(model, n: int) -> list[float]:
    return [t * months(model) for t in range(n)]


def loyalty_chart(model, firm: int = 0) -> str:
    share = {k: model.series(f"share_{k}")[:, firm] if model.period else [] for k in STACK}
    layers = [Series(CLASS_SHORT[k], CLASS_COLOURS[k], _x(model, len(share[k])), share[k]) for k in STACK]
    name = model.firms[firm].name
    return charts.stacked_area("loyalty", f"Why {name}'s customers stay", layers, model.horizon * months(model))


def retention_chart(model) -> str:
    series = []
    if model.period:
        cohort = model.series("cohort_active")
        for f in model.firms:
            start = cohort[0, f.index]
            if start > 0:
                y = cohort[:, f.index] / start
                series.append(Series(f.name, firm_colour(f.index), _x(model, len(y)), y))
    return charts.line_chart("retention", "Initial customers still with their firm", series, model.horizon * months(model),
                             fmt=charts.percent, y_min=0.0, y_max=1.0)


def churn_chart(model) -> str:
    series = []
    if model.period:
        churned, active = model.series("churned"), model.series("active")
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(active > 0, churned / active, np.nan)
        for f in model.firms:
            series.append(Series(f.name, firm_colour(f.index), _x(model, len(rate)), rate[:, f.index]))
    return charts.line_chart("churn", "Churn per period (share of customers lost)", series, model.horizon * months(model),
                             fmt=lambda v: f"{v:.1%}" if 0 < v < 0.1 else f"{v:.0%}", y_min=0.0, step=True)


def profit_chart(model) -> str:
    series = []
    cur = model.config.simulation.currency
    if model.period:
        profit = model.series("profit")
        for f in model.firms:
            total = float(profit[:, f.index].sum())
            series.append(
                Series(
                    f"{f.name} ({charts.money(total)} so far)", firm_colour(f.index), _x(model, len(profit)), profit[:, f.index]
                )
            )
    return charts.line_chart(
        "profit", f"Profit per period ({cur})", series, model.horizon * months(model), fmt=charts.money, step=True
    )


def clv_by_class(model) -> dict[str, list[float]]:
    """Mean CLV so far of each firm's initial customers (first relationships) by the loyalty class they
    held longest (in :data:`sim.codes.LOYALTY_CLASSES` order); running relationships count with their
    value so far, as in :attr:`sim.RunResult.first_relationships`."""
    r = model.relationships()
    first = (r["start"] == 0) & (r["customer"] < model.config.simulation.customers)
    firm, cls, clv = r["firm"][first].astype(np.int64), r["loyalty_class"][first].astype(np.int64), r["clv"][first]
    k = len(LOYALTY_CLASSES)
    key = firm * k + cls
    n = np.bincount(key, minlength=len(model.firms) * k)
    total = np.bincount(key, weights=clv, minlength=len(model.firms) * k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return {f.name: mean[f.index * k:(f.index + 1) * k].tolist() for f in model.firms}


def clv_chart(model) -> str:
    cur = model.config.simulation.currency
    if not model.period:
        return charts.grouped_bars("clv", f"CLV so far by loyalty class ({cur})", [], [])
    data = clv_by_class(model)
    order = [LOYALTY_CLASSES.index(k) for k in STACK]
    groups = [(f.name, firm_colour(f.index), [data[f.name][j] for j in order]) for f in model.firms]
    return charts.grouped_bars(
        "clv", f"CLV so far by loyalty class ({cur})", [CLASS_SHORT[k] for k in STACK], groups, fmt=charts.money
    )


# ------------------------------------------------------------------------------------- components
@solara.component
def Chart(svg: str):
    solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["rs-card"])


@solara.component
def Header(session: Session):
    update_counter.get()
    m = session.model.value
    with m.lock:
        _header(session, m)


def _header(session: Session, m) -> None:
    cfg = m.config
    pm = months(m)
    focal = m.firms[0]
    cur = escape(cfg.simulation.currency)
    if m.period:
        bonded = focal.share_bonded_only + focal.share_both
        profit = float(m.series("profit")[:, 0].sum())
        kpis = (f'<span class="rs-kpi">{escape(focal.name)}: <b>{int(focal.active):,}</b> customers</span>'
                f'<span class="rs-kpi"><b>{0 if math.isnan(bonded) else bonded:.0%}</b> bonded</span>'
                f'<span class="rs-kpi">profit so far <b data-testid="focal-profit">{charts.money(profit)}</b> {cur}</span>')
    else:
        kpis = '<span class="rs-kpi">press ▶ to play, or STEP</span>'
    html = (f'<div class="rs-header"><span class="rs-title">{escape(cfg.name)}</span>'
            f'<span class="rs-kpi">month <b data-testid="period" data-period="{m.period}">{m.period * pm:g}</b>'
            f' of {m.horizon * pm:g}</span>'
            f'{kpis}</div>' + (f'<div class="rs-question">{escape(cfg.question)}</div>' if cfg.question else ""))
    solara.HTML(tag="div", unsafe_innerHTML=html)
    if m is not session.last_applied:
        session.stuck = False  # Mesa's RESET made this model
    note = session.error.value or (
        "The last run reached its end: press RESET (in Controls) to play this one." if session.stuck and m.running else ""
    )
    solara.HTML(  # always there
        tag="div", unsafe_innerHTML=_esc(note), classes=["rs-error"], attributes={"data-testid": "dashboard-message"}
    )


def _esc(text: str) -> str:
    return escape(str(text))


@solara.component
def MarketCharts(session: Session):
    update_counter.get()
    m = session.model.value
    html = solara.use_memo(lambda: market_html(m), [m, m.period])  # a pass without a new period is cheap
    solara.HTML(tag="div", unsafe_innerHTML=html, classes=["rs-grid"])


def market_html(m) -> str:
    """The five live plots, one card each, as one piece of HTML (one widget update per period)."""
    with m.lock:
        svgs = [loyalty_chart(m), retention_chart(m), churn_chart(m), clv_chart(m), profit_chart(m)]
    return "".join(f'<div class="rs-card">{svg}</div>' for svg in svgs)


@solara.component
def FollowCustomer(session: Session):
    update_counter.get()
    m = session.model.value
    with m.lock:
        _follow(session, m)


def _follow(session: Session, m) -> None:
    ids = m.story_ids()
    if not ids:
        solara.Text("No traced customer has arrived yet.")
        return
    chosen = session.followed.value if session.followed.value in ids else ids[0]
    labels = {name(m.config, i): i for i in ids}
    solara.Select("Follow customer", values=list(labels), value=name(m.config, chosen),
                  on_value=lambda label: session.followed.set(labels.get(label)), style={"max-width": "360px"})
    st = tell(m, chosen)
    rows = "".join(f'<tr><td class="rs-when">{_esc(w)}</td><td>{_esc(t)}</td></tr>' for w, t in st.lines)
    html = (f'<div class="rs-story" data-testid="story"><div style="font-size:23px;font-weight:600">{_esc(st.headline)}</div>'
            + (f'<div class="rs-now">{_esc(st.now)}</div>' if st.now else "")
            + (f"<table>{rows}</table>" if rows else "<p>Nothing has happened yet: press play.</p>") + "</div>")
    solara.HTML(tag="div", unsafe_innerHTML=html)
    solara.HTML(tag="div", classes=["rs-note"], unsafe_innerHTML=(
        f"{len(ids)} traced customers (a sample spread over the initial customers and the newcomers). "
        "The story updates as the model plays."))


def compare_runs(baseline: Settings, current: Settings, stop: threading.Event | None = None) -> dict | None:
    """Both settings run to their horizon on the current seed; the focal firm's retention of its
    initial customers and its cumulative profit at the start of each month, from month 0 to the end of
    the run (month 60 of a 60-month run, as the header and the story count), as the run's books
    (:attr:`sim.RunResult.retention`) give them. None if ``stop`` is set before both runs end."""
    from ..results import RunResult

    out = {}
    for key, s in (("baseline", baseline), ("current", current)):
        m = run_to_end(s, seed=current.seed, stop=stop)
        if m is None:
            return None
        ret = RunResult(m).retention
        ret = ret[ret["firm"] == m.firms[0].name]["retention"].to_numpy()
        if not len(ret):  # a focal firm without initial customers
            ret = np.full(m.period + 1, np.nan)
        profit = np.concatenate([[0.0], np.cumsum(m.series("profit")[:, 0])])  # profit of the months before each point
        out[key] = {"x": _x(m, m.period + 1), "retention": ret, "profit": profit,
                    "firm": m.firms[0].name, "currency": m.config.simulation.currency, "months": months(m) * m.horizon}
    return out


@solara.component
def Compare(session: Session):
    base, cur = session.baseline.value, session.settings.value
    # both runs go in a thread of their own, so the levers keep taking key presses meanwhile; a change
    # cancels the runs of the settings before, and the last comparison done stays shown until then
    shown = solara.use_ref(None)

    def both(cancel: threading.Event):
        data = compare_runs(base, cur, stop=cancel) if base is not None else None
        return (base, cur, data) if data is not None else None

    # not Solara's intrusive cancel: it traces every line of the thread, which made the runs ten times slower
    result = solara.use_thread(both, dependencies=[base, cur], intrusive_cancel=False)
    if result.state == solara.ResultState.ERROR:
        raise result.error
    if result.state == solara.ResultState.FINISHED:
        shown.current = result.value
    with solara.Row(style={"align-items": "center", "gap": "16px"}):
        solara.Button(
            "Save current settings as baseline", color="primary", on_click=lambda: session.baseline.set(session.settings.value)
        )
        if base is not None:
            solara.Button("Forget the baseline", outlined=True, on_click=lambda: session.baseline.set(None))
    if base is None:
        solara.HTML(tag="div", classes=["rs-story"], unsafe_innerHTML=(
            "<p>Save the current settings as a baseline, then change a lever: both runs use the same seed, so every "
            "difference below is caused by the change (common random numbers), not by chance.</p>"))
        return
    if shown.current is None:
        solara.HTML(tag="div", classes=["rs-note"], unsafe_innerHTML="Running the baseline and the current settings to the end …")
        return
    ran_base, ran_cur, data = shown.current  # (not base and cur: the thread above reads those)
    b, c = data["baseline"], data["current"]
    n = min(len(b["x"]), len(c["x"]))
    x_max = max(b["months"], c["months"])
    firm, money = c["firm"], c["currency"]
    grey = "#757575"
    ret = charts.line_chart("compare-retention", f"{firm}: initial customers retained",
                            [Series("baseline", grey, b["x"], b["retention"], dash="8 6"),
                             Series("now", firm_colour(0), c["x"], c["retention"])],
                            x_max, fmt=charts.percent, y_min=0.0, y_max=1.0)
    d_ret = charts.line_chart("compare-retention-diff", "Retention: now minus baseline",
                              [Series("difference", "#6a1b9a", c["x"][:n], c["retention"][:n] - b["retention"][:n])],
                              x_max, fmt=charts.percent_points)
    prof = charts.line_chart("compare-profit", f"{firm}: cumulative profit ({money})",
                             [Series("baseline", grey, b["x"], b["profit"], dash="8 6"),
                              Series("now", firm_colour(0), c["x"], c["profit"])],
                             x_max, fmt=charts.money)
    d_prof = charts.line_chart("compare-profit-diff", f"Cumulative profit: now minus baseline ({money})",
                               [Series("difference", "#6a1b9a", c["x"][:n], c["profit"][:n] - b["profit"][:n])],
                               x_max, fmt=charts.money)

    def row(label, bv, cv, fmt, dfmt):
        return f"<tr><td>{_esc(label)}</td><td>{fmt(bv)}</td><td>{fmt(cv)}</td><td><b>{dfmt(cv - bv)}</b></td></tr>"

    table = ('<table class="rs-table" data-testid="compare-table">'
             '<tr><th></th><th>baseline</th><th>now</th><th>difference</th></tr>'
             + row(f"initial customers retained at month {c['x'][n - 1]:g}", b["retention"][n - 1], c["retention"][n - 1],
                   charts.percent, charts.percent_points)
             + row(f"cumulative profit ({money})", b["profit"][n - 1], c["profit"][n - 1],
                   charts.money, lambda v: ("+" if v > 0 else "") + charts.money(v))
             + "</table>")
    solara.HTML(tag="div", classes=["rs-note"],
                unsafe_innerHTML=f"<b>Baseline:</b> {_esc(ran_base.label())}<br><b>Now:</b> {_esc(ran_cur.label())}"
                f"<br>Both run to the end on seed {ran_cur.seed}.")
    solara.HTML(tag="div", unsafe_innerHTML=table)
    with solara.Div(classes=["rs-grid"]):
        Chart(ret)
        Chart(d_ret)
        Chart(prof)
        Chart(d_prof)


# ------------------------------------------------------------------------------------- side bar
@solara.component
def Lever(label: str, value, vmin, vmax, step, on_change, text: str, disabled: bool = False):
    """A labelled slider whose every move (a drag, an arrow key) is passed to ``on_change``.

    It follows its own value as the browser reports it (``v_model``), never the "change" event: the
    browser sends a slider's value at most once per round trip and merges the moves in between, while
    events go out at once, so a page drawn from the settings of an event showed an older value than the
    browser had; it moved the slider back, and the key presses made meanwhile were lost. Drawn from the
    value the browser sent last, it sends the browser nothing it does not have (the dashboard's levers
    and the game's decision form)."""
    with solara.Div(classes=["rs-lever"]):
        solara.HTML(tag="div", classes=["rs-lever-label"], unsafe_innerHTML=f"{_esc(label)}: <b>{_esc(text)}</b>")
        solara.v.Slider(v_model=value, on_v_model=on_change, min=vmin, max=vmax, step=step, thumb_label=True,
                        hide_details=True, disabled=disabled, class_="mt-0 pt-0")


def typed(field, label: str, **kw):
    """A text or number field (``solara.InputInt``, ``InputFloat``, ``InputText``) that takes what is
    typed as it is typed. Left to take it on Enter or on leaving the field, it would read the field's
    value when that event arrives, which can be before the last keys' value (as for :func:`Lever`): the
    page then showed the older text again and the keys typed meanwhile were lost."""
    return field(label, continuous_update=True, **kw)


@solara.component
def ScenarioCard(session: Session):
    s = session.settings.value
    names = list(library.offered())
    shown = library.label(s.scenario)
    cfg = s.base()

    def pick(name):
        if name in names and name != s.scenario:
            session.apply(Settings.from_scenario(name), keep_period=False)

    def uploaded(filename: str, size: int, read) -> None:
        try:
            data = read() if size <= library.MAX_UPLOAD_BYTES else None
            key = library.upload(filename, data, size)
        except library.UploadError as err:
            session.error.set(str(err))
            return
        except Exception as err:  # noqa: BLE001 - a browser's upload must never stop the page
            log.exception("upload failed")
            session.error.set(f"{library.safe_filename(filename)}: could not be received ({type(err).__name__})")
            return
        session.apply(Settings.from_scenario(key), keep_period=False)

    with solara.Card("Scenario"):
        solara.Select("Scenario", values=names + ([shown] if shown not in names else []), value=shown, on_value=pick)
        Upload("or upload a scenario file (.toml)", uploaded, limit=library.MAX_UPLOAD_BYTES, accept=".toml")
        Lever("Customers", s.customers, MIN_CUSTOMERS, MAX_CUSTOMERS, 1000,
              lambda v: session.change(customers=int(v)), f"{s.customers:,}")
        typed(solara.InputInt, "Seed (same seed, same run)", value=s.seed,
              on_value=lambda v: v is not None and 0 <= v < 2**63 and v != session.settings.value.seed
              and session.change(seed=int(v)))
        solara.HTML(tag="div", classes=["rs-note"],
                    unsafe_innerHTML=f"{cfg.simulation.periods} periods of {cfg.simulation.period_months:g} month(s); "
                    f"firms: {_esc(', '.join(f.name for f in cfg.firms))} (focal: {_esc(cfg.firms[0].name)})")


@solara.component
def LeversCard(session: Session):
    s = session.settings.value
    cfg = s.base()
    cur = cfg.simulation.currency
    pm = cfg.simulation.period_months
    base_price = cfg.firms[0].price
    horizon = cfg.simulation.periods
    unit = "months" if pm == 1 else "periods"
    with solara.Card(f"Levers of {cfg.firms[0].name}"):  # a card title is text, not HTML
        Lever("List price", s.price, round(base_price * 0.5, 2), round(base_price * 1.5, 2), _price_step(base_price),
              lambda v: session.change(price=float(v)), f"{s.price:,.2f} {cur}")  # Lever escapes its label and text
        service_cost = s.service_cost()
        Lever("Service quality", s.service_quality, 0.0, 1.0, 0.01, lambda v: session.change(service_quality=float(v)),
              f"{s.service_quality:.2f}"
              + (f" (costs {service_cost:,.2f} {cur} per customer and {unit[:-1]})" if service_cost else ""))
        if len(s.contract_terms) > 1:  # one slider per contract (telecom's 12- and 24-month segments)
            for i, (term, aim) in enumerate(zip(s.contract_terms, s.contract_labels())):
                Lever(f"Contract term for {aim} ({unit}, 0 = none)", term, 0, min(48, horizon), 1,
                      lambda v, i=i: session.change(
                          contract_terms=tuple(int(v) if j == i else t for j, t in enumerate(s.contract_terms))
                      ),
                      "none" if not term else f"{term}")
        else:
            Lever(f"Contract term ({unit}, 0 = none)", s.contract_term, 0, min(48, horizon), 1,
                  lambda v: session.change(contract_term=int(v)), "none" if not s.contract_term else f"{s.contract_term}")
        Lever("Exit fee", s.exit_fee, 0.0, round(base_price * 12), _price_step(base_price * 10),
              lambda v: session.change(exit_fee=float(v)), f"{s.exit_fee:,.0f} {cur}",
              disabled=not (s.contract_term or any(s.contract_terms)))
        Lever("Discount", round(s.discount_rate * 100), 0, 50, 1, lambda v: session.apply(s.with_discount(float(v) / 100)),
              "none" if not s.discount_rate else f"{s.discount_rate:.0%} (revenue given away)")
        Lever(f"Discount runs for ({unit})", s.discount_periods, 0, horizon, 1, lambda v: session.change(discount_periods=int(v)),
              "for good" if s.discount_periods >= horizon else f"{s.discount_periods}", disabled=not s.discount_rate)
        options = ["none", *cohorts(cfg)]
        solara.Select("Nostalgia campaign evoking", values=options, value=s.nostalgia_cohort or "none",
                      on_value=lambda v: session.change(nostalgia_cohort="" if v in (None, "none") else v))
        Lever("Authenticity of the campaign", s.authenticity, 0.0, 1.0, 0.05, lambda v: session.change(authenticity=float(v)),
              f"{s.authenticity:.2f}", disabled=not s.nostalgia_cohort)
        solara.Checkbox(label="Show it to every customer, not only that cohort", value=s.nostalgia_everyone,
                        on_value=lambda v: session.change(nostalgia_everyone=bool(v)), disabled=not s.nostalgia_cohort)
        with solara.Row(style={"margin-top": "10px", "gap": "8px"}):
            solara.Button("Save as baseline", color="primary", on_click=lambda: session.baseline.set(session.settings.value))
            solara.Button("Scenario as written", outlined=True,
                          on_click=lambda: session.apply(Settings.from_scenario(s.scenario, customers=s.customers, seed=s.seed)))
        if session.baseline.value is not None:
            solara.HTML(tag="div", classes=["rs-note"], unsafe_innerHTML="Baseline saved: see the <b>Compare</b> tab.")


def _price_step(price: float) -> float:
    """A round step of about 1/100 of ``price``."""
    raw = price / 100
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 0.01
    return max(mag, 0.01)


@solara.component
def SideCards(session: Session, depth: int = 3):
    # Solara orders the side bar's pieces by their depth in the page: three components down, these
    # cards come after Mesa's play controls, which a trainer needs first
    if depth > 1:
        SideCards(session, depth - 1)
        return
    with solara.Sidebar():
        ScenarioCard(session)
        LeversCard(session)


# ------------------------------------------------------------------------------------- memory
def release_memory() -> None:
    """Collect what closed sessions left and hand freed heap back to the system (glibc keeps freed
    memory in its arenas otherwise: a room's 30 closed sessions left the server ~12 % larger)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _release_after_close():
    """Per browser session (Solara calls it when a session starts): when the session ends, release
    its memory once its objects are gone (a moment later, outside Solara's closing of the session)."""

    def on_close():
        timer = threading.Timer(1.0, release_memory)
        timer.daemon = True
        timer.start()

    return on_close


solara.lifecycle.on_kernel_start(_release_after_close)


# ------------------------------------------------------------------------------------- pages
_session: solara.Reactive = solara.reactive(None)  # per browser tab: kept while switching pages
_projector: solara.Reactive = solara.reactive(None)  # per browser tab: None = as the command says (--projector)


def projector_on() -> bool:
    """Whether this tab shows projector mode: its own switch, else the command's ``--projector``."""
    from . import PROJECTOR_ENV

    chosen = _projector.value
    return os.environ.get(PROJECTOR_ENV) == "1" if chosen is None else bool(chosen)


@solara.component
def Styles():
    solara.Style(CSS + (PROJECTOR_CSS if projector_on() else ""))


def _the_session() -> Session:
    s = _session.peek()
    if s is None:
        s = Session(Settings.from_scenario(default_scenario()))
        _session.set(s)
    return s


@solara.component
def Dashboard():
    session = solara.use_memo(_the_session, [])
    if session.render_lock is None:
        # Mesa's play loop changes the model while another thread (a click, a slider) may be drawing the
        # page; if that drawing is slower than the loop, it never catches up and Solara gives up ("too
        # many renders"). The model's step therefore waits for the page's render lock (see levers.py).
        session.render_lock = getattr(reacton.core.get_render_context(), "thread_lock", None)
        session.model.value.render_lock = session.render_lock
    Styles()
    with solara.Div(style="display: none"):  # what these leave in the page is empty: the side and top bars get the rest
        Nav()
        SideCards(session)
        SolaraViz(session.model, components=[], model_params={"settings": session.settings, "render_lock": session.render_lock},
                  play_interval=PLAY_INTERVAL, render_interval=1, name="retention-sim")
    with solara.Div(classes=["rs-main"]):
        Header(session)
        with solara.lab.Tabs(lazy=True):
            with solara.lab.Tab("Market"):
                MarketCharts(session)
            with solara.lab.Tab("Follow a customer"):
                FollowCustomer(session)
            with solara.lab.Tab("Compare with baseline"):
                Compare(session)


@solara.component
def GamePage():
    from .game_page import GamePage as Page

    Styles()
    with solara.Div(style="display: none"):
        with solara.AppBar():
            solara.AppBarTitle("retention-sim: classroom game")
        Nav()
    Page()


@solara.component
def Guarded(page):
    """``page`` behind an error boundary: whatever fails in it (drawing or a button's action) shows as
    one line and a way back, and its traceback goes to the server's log, never to the browser."""
    error, clear = solara.use_exception()
    if error is not None:
        log.error("the page failed: %s", type(error).__name__, exc_info=error)
        with solara.Div(classes=["rs-main"]):
            solara.HTML(tag="div", classes=["rs-error"], attributes={"data-testid": "page-error"},
                        unsafe_innerHTML="Something went wrong on the server (the details are in its log).")
            solara.Button("Try again", color="primary", on_click=clear)
        return
    page()


@solara.component
def DashboardPage():
    Guarded(Dashboard)


@solara.component
def GamePageGuarded():
    Guarded(GamePage)


@solara.component
def Nav():
    """Links between the two pages, in the top bar."""
    with solara.AppBar():
        for label, path in (("Dashboard", "/"), ("Classroom game", "/game")):
            with solara.Link(path):
                solara.Button(label, text=True, style={"color": "white", "font-size": "16px"})
        # a button, not a Vuetify switch: a switch in the top bar broke the next file upload on the page
        on = projector_on()
        solara.Button("Projector: on" if on else "Projector: off", text=True, on_click=lambda: _projector.set(not on),
                      classes=["rs-projector-switch"], style={"color": "white", "font-size": "16px"},
                      attributes={"aria-pressed": "true" if on else "false"})


@solara.component
def Layout(children=None):
    return solara.AppLayout(children=[] if children is None else children, navigation=False)


routes = [
    solara.Route(path="/", component=DashboardPage, label="Dashboard", layout=Layout),
    solara.Route(path="game", component=GamePageGuarded, label="Classroom game"),
]
