"""The classroom game page (``/game``) of the dashboard; the rules are :mod:`sim.game`, the shared
state :mod:`.rooms`.

One game per room, on every team's device: the trainer sets up the market (2-4 teams) and gets a join
code (``Join code: CODE``); each team opens ``/game`` on its own device, enters the code and picks its
team, and from then on sees only its own firm's decision form (the estimated cost is checked against
the budget as it types) and the shared market. The trainer's view shows every team's status, advances
the round and shows the debrief. Everyone sees the market shares, the leaderboard (profit and the value
of the customer base, saying which differences are within the luck of the draw) and, at the end, the
debrief: which customers each team holds by bond and which only by barriers.

The page's address carries the game and the role (``?code=CODE&team=TOKEN`` or ``&trainer=TOKEN``), so a
reloaded page rejoins its team; a team's token submits for that team only. The game can be saved (a
download to the trainer's device) and resumed (an upload from it); the server never reads or writes a
path a browser names.
"""

from __future__ import annotations

import logging
import math
from html import escape
from urllib.parse import parse_qs, urlencode

import solara

from ..game import (
    MAX_CUSTOMERS,
    MAX_ROUND_PERIODS,
    MAX_ROUNDS,
    MAX_SAVED_GAME_BYTES,
    MAX_TEAM_NAME,
    MAX_TEAMS,
    MIN_TEAMS,
    NEW_GAME,
    TEAM_NAMES,
    VALUE_HORIZON_MONTHS,
    Game,
    GameError,
    decision,
)
from ..plots import CLASS_COLOURS
from ..scenario import ScenarioError
from . import charts, library, rooms
from .app import Lever, firm_colour, typed
from .charts import Series
from .upload import Upload

log = logging.getLogger("retention_sim.dashboard")

STACK = ("bonded_only", "both", "attached_only", "neither")
STACK_LABELS = {
    "bonded_only": "bonded only", "both": "bonded and attached", "attached_only": "attached only", "neither": "neither",
}
EMPTY_FORM = {
    "price_change": 0, "discount": 0, "service": 0.0, "contract_term": 0, "exit_fee": 0.0,
    "nostalgia_cohort": "", "authenticity": 0.8,
}



def _colour(i: int) -> str:
    return firm_colour(i)


def _html(html: str, **kw) -> None:
    solara.HTML(tag="div", unsafe_innerHTML=html, **kw)


def _address(code: str, **role: str) -> str:
    """The page's address for game ``code`` in a role (``team=TOKEN`` or ``trainer=TOKEN``)."""
    return "/game?" + urlencode({"code": code, **role})


def trainer_address(room: rooms.Room) -> str:
    """The trainer's page of game ``room`` (the address holds the trainer's token: only the trainer has it)."""
    return _address(room.code, trainer=room.trainer_token)


def use_room(room: rooms.Room) -> dict:
    """The room's view, redrawn whenever any session changes the room (a thread per page waits for it)."""

    def watch(cancel):
        seen = -1
        while not cancel.is_set():
            now = room.wait(seen, 1.0)
            if now != seen:
                seen = now
                yield now

    def attach():
        room.attach()
        return room.detach

    solara.use_effect(attach, [room.code])
    solara.use_thread(watch, dependencies=[room.code], intrusive_cancel=False)
    return room.view()


# ------------------------------------------------------------------------------------- set-up
@solara.component
def Setup(on_open):
    """The trainer's form for a new game (or a saved one); ``on_open(room)`` once it runs."""
    names = list(library.offered())
    scenario, set_scenario = solara.use_state("telecom" if "telecom" in names else names[0])
    n, set_n = solara.use_state(NEW_GAME["teams"])
    teams, set_teams = solara.use_state(list(TEAM_NAMES))
    periods, set_periods = solara.use_state(NEW_GAME["round_periods"])
    rounds_, set_rounds = solara.use_state(NEW_GAME["rounds"])
    customers, set_customers = solara.use_state(NEW_GAME["customers"])
    seed, set_seed = solara.use_state(NEW_GAME["seed"])
    budget, set_budget = solara.use_state(0.0)
    message, set_message = solara.use_state("")

    def open_(make) -> None:
        try:
            on_open(rooms.open_room(make()))
        except GameError as err:
            set_message(str(err))
        except ScenarioError as err:
            set_message(err.one_line())
        except MemoryError:
            set_message("the server has not enough memory for this game; choose fewer customers")

    def start():
        open_(lambda: Game.new(library.scenario(scenario), teams[:n], seed=seed, round_periods=periods, rounds=rounds_,
                               budget=budget if budget and budget > 0 else None, customers=customers))

    def resume(filename: str, size: int, read) -> None:
        name = library.safe_filename(filename)

        def make():
            if size > MAX_SAVED_GAME_BYTES:
                raise GameError(f"{name}: is {size:,} bytes; a saved game is at most {MAX_SAVED_GAME_BYTES:,}")
            return Game.from_json(read(), name)

        try:
            open_(make)
        except Exception as err:  # noqa: BLE001 - a browser's upload must never stop the page
            log.exception("resuming a game failed")
            set_message(f"{name}: could not be resumed ({type(err).__name__})")

    with solara.Card("New classroom game (trainer)"):
        _html("<p>Each team steers one firm of the same market; all firms start alike. The trainer starts the game here "
              "and gets a join code; each team opens this page on its own device, enters the code and picks its team. In "
              "every round each team sets its measures within the budget, then the trainer advances the round. The "
              "leaderboard ranks profit <i>and</i> the value of the customer base; the debrief shows who holds its "
              "customers by bond and who only by barriers.</p>", classes=["rs-story"])
        _html(f'<div class="rs-error">{escape(message)}</div>')
        with solara.Row(style={"flex-wrap": "wrap", "gap": "24px"}):
            with solara.Column(style={"min-width": "min(320px, 100%)"}):
                solara.Select("Market (base scenario)", values=names, value=scenario,
                              on_value=lambda v: v in names and set_scenario(v))
                solara.Select("Number of teams", values=[str(k) for k in range(MIN_TEAMS, MAX_TEAMS + 1)], value=str(n),
                              on_value=lambda v: set_n(int(v)))
                for i in range(n):
                    typed(solara.InputText, f"Name of team {i + 1}", value=teams[i],
                          on_value=lambda v, i=i: set_teams(lambda ts: [*ts[:i], str(v)[:MAX_TEAM_NAME], *ts[i + 1:]]))
            with solara.Column(style={"min-width": "min(320px, 100%)"}):
                # any whole number is kept as typed: starting the game checks it and says what is allowed
                typed(solara.InputInt, f"Periods per round (1 to {MAX_ROUND_PERIODS})", value=periods,
                      on_value=lambda v: v is not None and set_periods(v))
                typed(solara.InputInt, f"Rounds (1 to {MAX_ROUNDS})", value=rounds_,
                      on_value=lambda v: v is not None and set_rounds(v))
                typed(solara.InputInt, f"Customers in the market (100 to {MAX_CUSTOMERS:,})", value=customers,
                      on_value=lambda v: v is not None and set_customers(v))
                typed(solara.InputInt, "Seed", value=seed, on_value=lambda v: v is not None and set_seed(v))
                typed(solara.InputFloat, "Budget per team and round (0 = 10 % of a team's revenue)", value=budget,
                      on_value=lambda v: set_budget(v or 0.0))
        with solara.Row(style={"gap": "16px", "align-items": "center", "margin-top": "12px", "flex-wrap": "wrap"}):
            solara.Button("Start the game", color="primary", on_click=start)
            with solara.Div(style={"min-width": "min(320px, 100%)"}):
                Upload("or resume a saved game (.json)", resume, limit=MAX_SAVED_GAME_BYTES, accept=".json,application/json")


@solara.component
def Lobby(go, notice: str = ""):
    """``/game`` without a game: the games running on this server, a join code to type, a new game."""
    code, set_code = solara.use_state("")
    message, set_message = solara.use_state(notice)

    def join(text: str) -> None:
        r = rooms.room(text)
        if r is None:
            set_message(
                f"no game with join code {text.strip()[:12]!r} runs on this server" if text.strip() else "enter the join code"
            )
            return
        go(_address(r.code))

    with solara.Card("Join a game (teams)"):
        _html(f'<div class="rs-error" data-testid="join-message">{escape(message)}</div>')
        running = rooms.running()
        if running:
            _html("<p>Games running on this server (the trainer's screen shows the join code):</p>", classes=["rs-note"])
            with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
                for r in running:
                    v = r.view()
                    label = f"Game {r.code}: {', '.join(v['teams'])}, round {min(v['round'] + 1, v['rounds'])} of {v['rounds']}"
                    solara.Button(label, outlined=True, on_click=lambda c=r.code: join(c), attributes={"data-code": r.code})
        with solara.Row(style={"align-items": "center", "gap": "12px", "flex-wrap": "wrap"}):
            typed(solara.InputText, "Join code", value=code, on_value=set_code)
            solara.Button("Join", color="primary", on_click=lambda: join(code))
    Setup(on_open=lambda r: go(trainer_address(r)))


@solara.component
def JoinTeam(room: rooms.Room, go):
    """Pick a team of game ``room`` (each team once; afterwards only its own page rejoins it)."""
    v = use_room(room)
    message, set_message = solara.use_state("")

    def pick(team: str) -> None:
        try:
            go(_address(room.code, team=room.join(team)))
        except GameError as err:
            set_message(str(err))

    with solara.Card(f"Game {room.code}: which team are you?"):
        _html(f'<div class="rs-error">{escape(message)}</div>')
        free = [t for t in v["teams"] if t not in v["joined"]]
        if not free:
            _html("<p>Every team of this game has joined. A team's own device rejoins it by reloading its page.</p>",
                  classes=["rs-note"])
        with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
            for t in free:
                solara.Button(f"Join as {t}", color="primary", on_click=lambda t=t: pick(t))
        solara.Button("Back", text=True, on_click=lambda: go("/game"))


# ------------------------------------------------------------------------------------- decisions
def _decision(price: float, form: dict) -> list[dict]:
    return decision(price_change=form["price_change"] / 100, discount=form["discount"] / 100, service=form["service"],
                    contract_term=int(form["contract_term"]), exit_fee=form["exit_fee"],
                    nostalgia_cohort=form["nostalgia_cohort"], authenticity=form["authenticity"], price=price)


@solara.component
def TeamCard(room: rooms.Room, token: str, v: dict):
    """The decision form of the team whose token is ``token``: nothing else can be set here."""
    team = room.team_of(token)
    i = v["teams"].index(team)
    form, set_form = solara.use_state(dict(EMPTY_FORM))
    price, cur = v["price"], v["currency"]

    def change(**changes) -> None:
        set_form(lambda f: {**f, **changes})

    try:
        cost = room.cost(team, _decision(price, form))
        cost_text, ok = f"estimated cost {cost.total:,.0f} of {cost.budget:,.0f} {cur}", cost.within
    except GameError as err:
        cost_text, ok = str(err), False
    decided = team in v["pending"]
    with solara.Card(title=team, style=f"border-top: 6px solid {_colour(i)}; min-width: min(300px, 100%);",
                     classes=[f"rs-team-{i}"]):
        Lever("Price change", form["price_change"], -30, 30, 1, lambda x: change(price_change=int(x)),
              f"{form['price_change']:+d} %")
        Lever("Discount for all customers (this round)", form["discount"], 0, 30, 1, lambda x: change(discount=int(x)),
              f"{form['discount']} %")
        Lever("Service investment (quality boost)", form["service"], 0.0, 0.3, 0.05,
              lambda x: change(service=round(float(x), 2)), f"+{form['service']:.2f}")
        solara.Select("Contract for new customers", values=["none", "6 periods", "12 periods", "24 periods"],
                      value="none" if not form["contract_term"] else f"{form['contract_term']} periods",
                      on_value=lambda x: change(contract_term=0 if x in (None, "none") else int(x.split()[0])))
        Lever("Exit fee", form["exit_fee"], 0.0, round(price * 10), max(round(price / 2), 1),
              lambda x: change(exit_fee=float(x)), f"{form['exit_fee']:,.0f} {cur}", disabled=not form["contract_term"])
        solara.Select("Nostalgia campaign evoking", values=["none", *v["cohorts"]], value=form["nostalgia_cohort"] or "none",
                      on_value=lambda x: change(nostalgia_cohort="" if x in (None, "none") else x))
        Lever("Authenticity", form["authenticity"], 0.0, 1.0, 0.05, lambda x: change(authenticity=round(float(x), 2)),
              f"{form['authenticity']:.2f}", disabled=not form["nostalgia_cohort"])
        colour = "#2e7d32" if ok else "#b71c1c"
        _html(f'<div style="font-size:18px;color:{colour};margin-top:8px" data-testid="cost-{i}">{escape(cost_text)}</div>')
        with solara.Row(style={"align-items": "center", "gap": "12px", "margin-top": "8px", "flex-wrap": "wrap"}):
            solara.Button("Submit decision", color="primary", on_click=lambda: room.submit(token, _decision(price, form)),
                          disabled=v["finished"])
            if decided:
                k = v["pending"][team]
                _html(f'<span style="font-size:18px;color:#2e7d32">✓ decided ({k} measure{"s" if k != 1 else ""})</span>')
        # this team's own word (a refusal stays here, next to its form, until it acts again)
        _html(f'<div class="rs-note" style="min-height:1.5em" data-testid="team-message">'
              f'{escape(v["messages"].get(team, ""))}</div>')


# ------------------------------------------------------------------------------------- the market
def _leaderboard_html(v: dict) -> str:
    cur = v["currency"]
    rows = v["leaderboard"]
    luck = v["luck"]
    within = luck["within_luck"] if luck else set()
    # the columns marked rs-opt give way on a phone's narrow screen
    head = ('<tr><th>#</th><th class="rs-left">team</th><th>customers</th><th class="rs-opt">market share</th>'
            '<th class="rs-opt">profit last round</th><th>profit to date</th><th class="rs-opt">CLV of customer base</th>'
            '<th>score</th><th class="rs-opt">bonded</th></tr>')
    body = ""
    for k, r in enumerate(rows):
        sw = f'<span class="rs-swatch" style="background:{_colour(r["firm_index"])}"></span>'
        bonded = "–" if math.isnan(r["bonded_share"]) else f"{r['bonded_share']:.0%}"
        # a rank that luck alone could swap with the team above is marked, not claimed
        tied = k > 0 and frozenset((r["team"], rows[k - 1]["team"])) in within
        rank = (
            f'≈{r["rank"]}'
            if tied or (k + 1 < len(rows) and frozenset((r["team"], rows[k + 1]["team"])) in within)
            else str(r["rank"])
        )
        body += (f'<tr data-team="{escape(r["team"])}" data-luck="{"yes" if rank.startswith("≈") else "no"}"><td>{rank}</td>'
                 f'<td class="rs-left">{sw}{escape(r["team"])}</td><td>{r["customers"]:,}</td>'
                 f'<td class="rs-opt">{r["market_share"]:.0%}</td><td class="rs-opt">{r["profit_round"]:,.0f}</td>'
                 f'<td>{r["profit_total"]:,.0f}</td><td class="rs-opt">{r["base_value"]:,.0f}</td>'
                 f'<td><b>{r["score"]:,.0f}</b></td>'
                 f'<td class="rs-opt">{bonded}</td></tr>')
    if not luck:
        verdict = "The ranking starts after the first round."
    elif within:
        pairs = "; ".join(" and ".join(sorted(p)) for p in sorted(within, key=sorted))
        verdict = (f"<b>≈ within the luck of the draw:</b> {escape(pairs)}. Played again with the same decisions on "
                   f"{len(luck['seeds']) - 1} other seeds, their order changes, so their ranking says nothing about "
                   "their decisions.")
    else:
        verdict = (f"Every difference in the ranking holds on {len(luck['seeds']) - 1} other seeds with the same decisions: "
                   "it is more than the luck of the draw.")
    note = (f'<div class="rs-note" data-testid="luck">{verdict}</div>'
            f'<div class="rs-note">Money in {escape(cur)}. CLV of the customer base: the current customers times their expected '
            f'margin over the next {VALUE_HORIZON_MONTHS} months: the team\'s margin in the last round, and each customer\'s '
            "chance to stay from the team's own retention curve so far (longer-held customers stay more), as "
            "clv_projected values the customers held at a run's horizon. "
            "Score = profit to date + CLV of the customer base.</div>")
    return f'<div style="overflow-x:auto"><table class="rs-table" data-testid="leaderboard">{head}{body}</table></div>{note}'


def _team_series(v: dict, values) -> tuple[list[Series], float]:
    """One line per team over the months played (``values`` maps a team's rows of the history to its
    y values), and the x axis's end: the game's last month."""
    h = v["history"]
    months = v["months"]
    series = []
    for i, team in enumerate(v["teams"]):
        t = h[h["team"] == team] if len(h) else h
        series.append(
            Series(team, _colour(i), [p * months for p in t["period"]] if len(t) else [], list(values(t)) if len(t) else [])
        )
    return series, v["rounds"] * (v["span"][1] - v["span"][0]) * months


def _share_chart(v: dict) -> str:
    series, x_max = _team_series(v, lambda t: t["share"])
    return charts.line_chart("market-share", "Market share", series, x_max, fmt=charts.percent, y_min=0.0, y_max=1.0,
                             empty="advance the first round")


def _profit_chart(v: dict) -> str:
    series, x_max = _team_series(v, lambda t: t["profit"].cumsum())
    return charts.line_chart("game-profit", f"Profit to date ({v['currency']})", series, x_max, fmt=charts.money,
                             empty="advance the first round")


def _debrief(v: dict) -> tuple[str, str]:
    rows = v["debrief"]
    svg = charts.hbar_stack("debrief", "Who holds its customers how (customers now)",
                            [(r["team"], [r["counts"][k] for k in STACK]) for r in rows],
                            [(STACK_LABELS[k], CLASS_COLOURS[k]) for k in STACK], fmt=lambda x: f"{x:,.0f}")
    text = ""
    for r in rows:
        n = max(r["customers"], 1)
        text += (f'<p><b>{escape(r["team"])}</b> holds {r["by_bond"]:,} of its {r["customers"]:,} customers by bond '
                 f'({r["by_bond"] / n:.0%}: they want to stay) and {r["only_by_barriers"]:,} only by barriers '
                 f'({r["only_by_barriers"] / n:.0%}: contracts and fees; they are likely to leave when the barrier drops); '
                 f'{r["free"]:,} are free to go.</p>')
    return svg, f'<div class="rs-story" data-testid="debrief">{text}</div>'


def _title(v: dict) -> str:
    if v["finished"]:
        return f"Game over after {v['rounds']} rounds"
    start, end = v["span"]
    m = v["months"]
    # the months a round covers, counted as a person would: round 1 of 3-month periods is months 1-9
    return (f"Round {v['round'] + 1} of {v['rounds']} (months {start * m + 1:g}–{end * m:g}); "
            f"budget {v['budget']:,.0f} {v['currency']} per team")


@solara.component
def Market(v: dict, debrief: bool):
    """What every device sees: the leaderboard, the market's charts, and (when shown) the debrief."""
    with solara.Div(classes=["rs-grid", "rs-wide"]):  # always there, empty unless shown
        if debrief:
            svg, text = _debrief(v)
            _html(svg, classes=["rs-card"])
            _html(text, classes=["rs-card"])
    _html(_leaderboard_html(v))
    with solara.Div(classes=["rs-grid", "rs-wide"]):
        _html(_share_chart(v), classes=["rs-card"])
        _html(_profit_chart(v), classes=["rs-card"])


def _status_html(v: dict) -> str:
    rows = ""
    for i, t in enumerate(v["teams"]):
        sw = f'<span class="rs-swatch" style="background:{_colour(i)}"></span>'
        joined = "joined" if t in v["joined"] else "not joined yet"
        decided = f"decided ({v['pending'][t]} measures)" if t in v["pending"] else "deciding"
        rows += (f'<tr data-team="{escape(t)}"><td class="rs-left">{sw}{escape(t)}</td><td class="rs-left">{joined}</td>'
                 f'<td class="rs-left" data-testid="status-{i}">{decided}</td>'
                 f'<td class="rs-left">{escape(v["messages"].get(t, ""))}</td></tr>')
    return ('<div style="overflow-x:auto"><table class="rs-table" data-testid="team-status"><tr><th class="rs-left">team</th>'
            f'<th class="rs-left">device</th><th class="rs-left">this round</th><th class="rs-left">last word</th></tr>'
            f'{rows}</table></div>')


@solara.component
def TrainerView(room: rooms.Room, token: str, go):
    v = use_room(room)
    show, set_show = solara.use_state(False)
    _html(f'<div class="rs-header"><span class="rs-title" data-testid="join-code">Join code: {room.code}</span>'
          f'<span class="rs-kpi">teams open <b>/game</b> on their devices and enter it</span></div>')
    _html(f'<div class="rs-header"><span class="rs-title" data-testid="round" data-round="{v["round"]}">'
          f'{escape(_title(v))}</span></div>')
    _html(f'<div style="font-size:18px;min-height:1.5em" class="rs-note" data-testid="game-message">'
          f'{escape(v["messages"].get("", ""))}</div>')
    _html(_status_html(v))

    def end() -> None:
        rooms.close_room(room.code, token)
        go("/game")

    with solara.Row(style={"gap": "12px", "align-items": "center", "flex-wrap": "wrap"}):
        solara.Button("Advance round", color="primary", on_click=lambda: room.advance(token), disabled=v["finished"])
        solara.Button("Show debrief" if not show else "Hide debrief", outlined=True, on_click=lambda: set_show(not show))
        # a download to the browser's device: the server writes no file
        solara.FileDownload(room.saved, filename=f"retention-game-round-{v['round']}.json",
                            label="Save game (download)", mime_type="application/json")
        solara.Button("New game (ends this one)", text=True, on_click=end)
    Market(v, debrief=v["finished"] or show)


@solara.component
def TeamView(room: rooms.Room, token: str):
    v = use_room(room)
    team = room.team_of(token)
    _html(f'<div class="rs-header"><span class="rs-title">{escape(team)} in game {room.code}</span>'
          f'<span class="rs-title" data-testid="round" data-round="{v["round"]}">{escape(_title(v))}</span></div>')
    if not v["finished"]:
        with solara.Div(classes=["rs-teams"]):
            TeamCard(room, token, v)
    Market(v, debrief=v["finished"])


@solara.component
def GamePage():
    router = solara.use_router()
    query = {k: vs[0] for k, vs in parse_qs(router.search or "").items() if vs}
    code = query.get("code")
    room = rooms.room(code)
    with solara.Div(classes=["rs-main"]):
        if code and room is None:
            Lobby(router.push, notice=f"game {code[:12]} is not running on this server (it has ended, or the server restarted)")
        elif room is None:
            Lobby(router.push)
        elif room.is_trainer(query.get("trainer")):
            TrainerView(room, query["trainer"], router.push)
        elif room.team_of(query.get("team")):
            TeamView(room, query["team"])
        else:
            JoinTeam(room, router.push)
