"""The classroom game page (``/game``) of the dashboard; the rules are :mod:`sim.game`.

One screen for the whole room: the trainer sets up the market (2-4 teams), each team in turn enters its
measures for the round in its own card (the estimated cost is checked against the budget as they
type), then the trainer advances the round. Everyone sees the market shares, the leaderboard (profit
and the value of the customer base) and, at the end, the debrief: which customers each team holds by
bond and which only by barriers. The game can be saved (a download to the browser's device) and resumed
(an upload from it); the server never reads or writes a path a browser names.
"""

from __future__ import annotations

import logging
import math
from html import escape

import solara

from ..game import (MAX_CUSTOMERS, MAX_ROUND_PERIODS, MAX_ROUNDS, MAX_SAVED_GAME_BYTES, MAX_TEAM_NAME, MAX_TEAMS, MIN_TEAMS,
                    VALUE_HORIZON_MONTHS, Game, GameError, decision)
from ..plots import CLASS_COLOURS
from ..scenario import ScenarioError
from . import charts, library
from .charts import Series
from .upload import Upload

log = logging.getLogger("retention_sim.dashboard")

TEAM_NAMES = ("Team A", "Team B", "Team C", "Team D")
STACK = ("bonded_only", "both", "attached_only", "neither")
STACK_LABELS = {"bonded_only": "bonded only", "both": "bonded and attached", "attached_only": "attached only", "neither": "neither"}
EMPTY_FORM = {"price_change": 0, "discount": 0, "service": 0.0, "contract_term": 0, "exit_fee": 0.0, "nostalgia_cohort": "", "authenticity": 0.8}

# per browser tab (Solara keeps module-level reactive values per kernel)
_game: solara.Reactive = solara.reactive(None)
_tick = solara.reactive(0)  # bumped after every change to the (mutable) game
_message = solara.reactive("")
_forms: solara.Reactive = solara.reactive({})


def _changed(message: str = "") -> None:
    _message.set(message)
    _tick.set(_tick.value + 1)


def _colour(i: int) -> str:
    from .app import firm_colour

    return firm_colour(i)


# ------------------------------------------------------------------------------------- set-up
@solara.component
def Setup():
    names = list(library.offered())
    scenario, set_scenario = solara.use_state("telecom" if "telecom" in names else names[0])
    n, set_n = solara.use_state(2)
    teams, set_teams = solara.use_state(list(TEAM_NAMES))
    periods, set_periods = solara.use_state(3)
    rounds, set_rounds = solara.use_state(8)
    customers, set_customers = solara.use_state(10_000)
    seed, set_seed = solara.use_state(1)
    budget, set_budget = solara.use_state(0.0)

    def start():
        try:
            g = Game.new(library.scenario(scenario), teams[:n], seed=seed, round_periods=periods, rounds=rounds,
                         budget=budget if budget and budget > 0 else None, customers=customers)
        except (GameError, ScenarioError) as err:
            _message.set(err.one_line() if isinstance(err, ScenarioError) else str(err))
            return
        except MemoryError:
            _message.set("the server has not enough memory for this game; choose fewer customers")
            return
        _forms.set({})
        _message.set(f"New game: {', '.join(g.teams)}; budget {g.budget:,.0f} {g.currency} per team and round.")
        _game.set(g)

    def resume(filename: str, size: int, read) -> None:
        name = library.safe_filename(filename)
        try:
            if size > MAX_SAVED_GAME_BYTES:
                raise GameError(f"{name}: is {size:,} bytes; a saved game is at most {MAX_SAVED_GAME_BYTES:,}")
            g = Game.from_json(read(), name)
        except GameError as err:
            _message.set(str(err))
            return
        except Exception as err:  # noqa: BLE001 - a browser's upload must never stop the page
            log.exception("resuming a game failed")
            _message.set(f"{name}: could not be resumed ({type(err).__name__})")
            return
        _forms.set({})
        _message.set(f"Resumed {name}: round {g.round + 1} of {g.rounds}.")
        _game.set(g)

    with solara.Card("New classroom game"):
        solara.HTML(tag="div", classes=["rs-story"], unsafe_innerHTML=(
            "<p>Each team steers one firm of the same market; all firms start alike. In every round each team sets its "
            "measures within the budget, then the trainer advances the round. The leaderboard ranks profit <i>and</i> "
            "the value of the customer base; the debrief shows who holds its customers by bond and who only by barriers.</p>"))
        with solara.Row(style={"flex-wrap": "wrap", "gap": "24px"}):
            with solara.Column(style={"min-width": "320px"}):
                solara.Select("Market (base scenario)", values=names, value=scenario, on_value=lambda v: v in names and set_scenario(v))
                solara.Select("Number of teams", values=[str(k) for k in range(MIN_TEAMS, MAX_TEAMS + 1)], value=str(n),
                              on_value=lambda v: set_n(int(v)))
                for i in range(n):
                    solara.InputText(f"Name of team {i + 1}", value=teams[i],
                                     on_value=lambda v, i=i: set_teams([*teams[:i], str(v)[:MAX_TEAM_NAME], *teams[i + 1:]]))
            with solara.Column(style={"min-width": "320px"}):
                # any whole number is kept as typed: starting the game checks it and says what is allowed
                solara.InputInt(f"Periods per round (1 to {MAX_ROUND_PERIODS})", value=periods, on_value=lambda v: v is not None and set_periods(v))
                solara.InputInt(f"Rounds (1 to {MAX_ROUNDS})", value=rounds, on_value=lambda v: v is not None and set_rounds(v))
                solara.InputInt(f"Customers in the market (100 to {MAX_CUSTOMERS:,})", value=customers,
                                on_value=lambda v: v is not None and set_customers(v))
                solara.InputInt("Seed", value=seed, on_value=lambda v: v is not None and set_seed(v))
                solara.InputFloat("Budget per team and round (0 = 10 % of a team's revenue)", value=budget,
                                  on_value=lambda v: set_budget(v or 0.0))
        with solara.Row(style={"gap": "16px", "align-items": "center", "margin-top": "12px", "flex-wrap": "wrap"}):
            solara.Button("Start the game", color="primary", on_click=start)
            with solara.Div(style={"min-width": "320px"}):
                Upload("or resume a saved game (.json)", resume, limit=MAX_SAVED_GAME_BYTES, accept=".json,application/json")


# ------------------------------------------------------------------------------------- decisions
def _form(team: str) -> dict:
    return {**EMPTY_FORM, **_forms.value.get(team, {})}


def _set_form(team: str, **changes) -> None:
    _forms.set({**_forms.value, team: {**_form(team), **changes}})


def _decision(game: Game, form: dict) -> list[dict]:
    price = game.market.firms[0].price
    return decision(price_change=form["price_change"] / 100, discount=form["discount"] / 100, service=form["service"],
                    contract_term=int(form["contract_term"]), exit_fee=form["exit_fee"],
                    nostalgia_cohort=form["nostalgia_cohort"], authenticity=form["authenticity"], price=price)


@solara.component
def Slider(label: str, text: str, value, vmin, vmax, step, on_value, disabled=False):
    with solara.Div(classes=["rs-lever"]):
        solara.HTML(tag="div", classes=["rs-lever-label"], unsafe_innerHTML=f"{escape(label)}: <b>{escape(text)}</b>")
        solara.v.Slider(v_model=value, on_v_model=on_value, min=vmin, max=vmax, step=step, thumb_label=True,
                        hide_details=True, disabled=disabled, class_="mt-0 pt-0")


@solara.component
def TeamCard(game: Game, i: int):
    _tick.get()  # the game is mutable: redraw after every change
    team = game.teams[i]
    form = _form(team)
    market = game.market
    price = market.firms[0].price
    cur = game.currency
    cohorts = []
    for s in market.segments:
        cohorts += [c for c in s.cohorts if c not in cohorts]
    try:
        cost = game.cost(team, _decision(game, form))
        cost_text = f"estimated cost {cost.total:,.0f} of {cost.budget:,.0f} {cur}"
        ok = cost.within
    except GameError as err:
        cost_text, ok = str(err), False
    decided = team in game.pending
    style = f"border-top: 6px solid {_colour(i)}; min-width: 300px;"
    with solara.Card(title=team, style=style, classes=[f"rs-team-{i}"]):
        Slider("Price change", f"{form['price_change']:+d} %", form["price_change"], -30, 30, 1,
               lambda v: _set_form(team, price_change=int(v)))
        Slider("Discount for all customers", f"{form['discount']} %", form["discount"], 0, 30, 1,
               lambda v: _set_form(team, discount=int(v)))
        Slider("Service investment (quality boost)", f"+{form['service']:.2f}", form["service"], 0.0, 0.3, 0.05,
               lambda v: _set_form(team, service=round(float(v), 2)))
        solara.Select("Contract for new customers", values=["none", "6 periods", "12 periods", "24 periods"],
                      value="none" if not form["contract_term"] else f"{form['contract_term']} periods",
                      on_value=lambda v: _set_form(team, contract_term=0 if v in (None, "none") else int(v.split()[0])))
        Slider("Exit fee", f"{form['exit_fee']:,.0f} {cur}", form["exit_fee"], 0.0, round(price * 10), max(round(price / 2), 1),
               lambda v: _set_form(team, exit_fee=float(v)), disabled=not form["contract_term"])
        solara.Select("Nostalgia campaign evoking", values=["none", *cohorts], value=form["nostalgia_cohort"] or "none",
                      on_value=lambda v: _set_form(team, nostalgia_cohort="" if v in (None, "none") else v))
        Slider("Authenticity", f"{form['authenticity']:.2f}", form["authenticity"], 0.0, 1.0, 0.05,
               lambda v: _set_form(team, authenticity=round(float(v), 2)), disabled=not form["nostalgia_cohort"])
        colour = "#2e7d32" if ok else "#b71c1c"
        solara.HTML(tag="div", unsafe_innerHTML=f'<div style="font-size:18px;color:{colour};margin-top:8px" data-testid="cost-{i}">'
                    f"{escape(cost_text)}</div>")

        def submit():
            try:
                game.decide(team, _decision(game, _form(team)))
            except GameError as err:
                _changed(str(err))
                return
            _changed(f"{team} has decided for round {game.round + 1}.")

        with solara.Row(style={"align-items": "center", "gap": "12px", "margin-top": "8px"}):
            solara.Button("Submit decision", color="primary", on_click=submit, disabled=game.finished)
            if decided:
                solara.HTML(tag="span", unsafe_innerHTML=f'<span style="font-size:18px;color:#2e7d32">✓ decided '
                            f'({len(game.pending[team])} measure{"s" if len(game.pending[team]) != 1 else ""})</span>')


# ------------------------------------------------------------------------------------- the market
def _leaderboard_html(game: Game) -> str:
    cur = game.currency
    rows = game.leaderboard()
    head = ('<tr><th>#</th><th class="rs-left">team</th><th>customers</th><th>market share</th><th>profit last round</th>'
            "<th>profit to date</th><th>CLV of customer base</th><th>score</th><th>bonded</th></tr>")
    body = ""
    for r in rows:
        sw = f'<span class="rs-swatch" style="background:{_colour(r["firm_index"])}"></span>'
        bonded = "–" if math.isnan(r["bonded_share"]) else f"{r['bonded_share']:.0%}"
        body += (f'<tr data-team="{escape(r["team"])}"><td>{r["rank"]}</td><td class="rs-left">{sw}{escape(r["team"])}</td><td>{r["customers"]:,}</td>'
                 f'<td>{r["market_share"]:.0%}</td><td>{r["profit_round"]:,.0f}</td><td>{r["profit_total"]:,.0f}</td>'
                 f'<td>{r["base_value"]:,.0f}</td><td><b>{r["score"]:,.0f}</b></td><td>{bonded}</td></tr>')
    note = (f'<div class="rs-note">Money in {escape(cur)}. CLV of the customer base: the current customers times their expected '
            f'margin over the next {VALUE_HORIZON_MONTHS} months at the team\'s margin and retention in the last round. '
            "Score = profit to date + CLV of the customer base.</div>")
    return f'<table class="rs-table" data-testid="leaderboard">{head}{body}</table>{note}'


def _team_series(game: Game, values) -> tuple[list[Series], float]:
    """One line per team over the months played (``values`` maps a team's rows of the history to its
    y values), and the x axis's end: the game's last month."""
    h = game.history()
    months = float(game.base["simulation"]["period_months"])
    series = []
    for i, team in enumerate(game.teams):
        t = h[h["team"] == team] if len(h) else h
        series.append(Series(team, _colour(i), [p * months for p in t["period"]] if len(t) else [], list(values(t)) if len(t) else []))
    return series, game.rounds * game.round_periods * months


def _share_chart(game: Game) -> str:
    series, x_max = _team_series(game, lambda t: t["share"])
    return charts.line_chart("market-share", "Market share", series, x_max, fmt=charts.percent, y_min=0.0, y_max=1.0,
                             empty="advance the first round")


def _profit_chart(game: Game) -> str:
    series, x_max = _team_series(game, lambda t: t["profit"].cumsum())
    return charts.line_chart("game-profit", f"Profit to date ({game.currency})", series, x_max, fmt=charts.money,
                             empty="advance the first round")


def _debrief(game: Game) -> tuple[str, str]:
    rows = game.debrief()
    svg = charts.hbar_stack("debrief", "Who holds its customers how (customers now)",
                            [(r["team"], [r["counts"][k] for k in STACK]) for r in rows],
                            [(STACK_LABELS[k], CLASS_COLOURS[k]) for k in STACK], fmt=lambda v: f"{v:,.0f}")
    text = ""
    for r in rows:
        n = max(r["customers"], 1)
        text += (f'<p><b>{escape(r["team"])}</b> holds {r["by_bond"]:,} of its {r["customers"]:,} customers by bond '
                 f'({r["by_bond"] / n:.0%}: they want to stay) and {r["only_by_barriers"]:,} only by barriers '
                 f'({r["only_by_barriers"] / n:.0%}: contracts and fees; they are likely to leave when the barrier drops); '
                 f'{r["free"]:,} are free to go.</p>')
    return svg, f'<div class="rs-story" data-testid="debrief">{text}</div>'


@solara.component
def Board(game: Game):
    _tick.get()
    show_debrief, set_show_debrief = solara.use_state(False)
    start, end = game.round_span()
    months = float(game.base["simulation"]["period_months"])
    if game.finished:
        title = f"Game over after {game.rounds} rounds"
    else:
        title = (f"Round {game.round + 1} of {game.rounds} (months {start * months:g}–{(end - 1) * months:g}); "
                 f"budget {game.budget:,.0f} {game.currency} per team")
    solara.HTML(tag="div", unsafe_innerHTML=f'<div class="rs-header"><span class="rs-title" data-testid="round" '
                f'data-round="{game.round}">{escape(title)}</span></div>')
    # always present (empty when there is nothing to say), so that the elements below keep their place
    # and Solara does not rebuild them (a slider being dragged would lose its grip)
    solara.HTML(tag="div", classes=["rs-note"], unsafe_innerHTML=f'<div style="font-size:18px;min-height:1.5em" data-testid="game-message">'
                f"{escape(_message.value)}</div>")

    def advance():
        waiting = [t for t in game.teams if t not in game.pending]
        try:
            game.advance()
        except GameError as err:
            _changed(str(err))
            return
        note = f" ({', '.join(waiting)}: no measures)" if waiting else ""
        _changed(f"Round {game.round} played{note}.")

    with solara.Row(style={"gap": "12px", "align-items": "center", "flex-wrap": "wrap"}):
        solara.Button("Advance round", color="primary", on_click=advance, disabled=game.finished)
        solara.Button("Show debrief" if not show_debrief else "Hide debrief", outlined=True,
                      on_click=lambda: set_show_debrief(not show_debrief))
        # a download to the browser's device: the server writes no file
        solara.FileDownload(lambda: game.to_json().encode(), filename=f"retention-game-round-{game.round}.json",
                            label="Save game (download)", mime_type="application/json")
        solara.Button("New game", text=True, on_click=lambda: (_game.set(None), _changed("")))

    with solara.Div(classes=["rs-grid", "rs-wide"]):  # always there, empty unless shown (see the message above)
        if game.finished or show_debrief:
            svg, text = _debrief(game)
            solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["rs-card"])
            solara.HTML(tag="div", unsafe_innerHTML=text, classes=["rs-card"])
    solara.HTML(tag="div", unsafe_innerHTML=_leaderboard_html(game))
    with solara.Div(classes=["rs-grid", "rs-wide"]):
        solara.HTML(tag="div", unsafe_innerHTML=_share_chart(game), classes=["rs-card"])
        solara.HTML(tag="div", unsafe_innerHTML=_profit_chart(game), classes=["rs-card"])
    heading = f"Decisions for round {game.round + 1}" if not game.finished else "The game is over: see the debrief above"
    solara.HTML(tag="div", unsafe_innerHTML=f'<div class="rs-title" style="font-size:22px;margin:14px 0 6px 0">{heading}</div>')
    with solara.Div(classes=["rs-teams"]):
        if not game.finished:
            for i in range(len(game.teams)):
                TeamCard(game, i)


@solara.component
def GamePage():
    game = _game.value
    _tick.get()
    with solara.Div(classes=["rs-main"]):
        if game is None:
            solara.HTML(tag="div", classes=["rs-error"], unsafe_innerHTML=escape(_message.value))
            Setup()
        else:
            Board(game)

