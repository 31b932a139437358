"""The classroom game: teams steer the firms of one market, round by round (no user interface here;
the dashboard's *Classroom game* page is one, see the README).

A game is a market built from a base scenario, one firm per team, all alike at the start (the base
scenario's first firm, renamed after the team, with an equal share of the customers), a seed, a round
length (periods per round), a number of rounds and a budget per round. In each round every team decides
its measures, as the scenario's measure dicts without ``firm`` and ``schedule``, e.g.
``{"type": "discount", "rate": 0.1}``: the game adds the team's firm and ``schedule = {start, end}`` of
the round. Then the trainer advances the round.

Advancing re-runs the model from period 0 to the end of the round with every decision so far, on the
game's seed. Common random numbers make the earlier rounds come out exactly as before, so the game's
whole state is its set-up and its list of decisions, saved as JSON (:meth:`Game.save`,
:meth:`Game.load`): a resumed game gives identical results.

Budget: the estimated cost of a team's measures in a round (:meth:`Game.cost`) must not exceed the
budget. The estimate is each measure's
:meth:`~sim.measures.base.Measure.expected_cost`, the cost model the run books (the lever's module in
:mod:`sim.measures`, the same one a scenario file and the dashboard use), for the customers it would
reach: the team's customers at the end of the previous round, and the customers who start a
relationship with it in each period of the round (as many as in the last round; in the first, every
initial customer and the newcomers its acquisition budget buys). Discounts count the revenue given
away, service and nostalgia their cost per reached customer, contracts their cost per contract signed
by a new customer or renewed, every measure its fixed cost. A decision over budget is refused with a
message that says by how much.

Leaderboard: profit to date AND the value of each team's customer base (customer equity): the value over
the next :data:`VALUE_HORIZON_MONTHS` months of the customers it holds, at the team's margin in the last
round and each customer's expected retention from the team's own retention curve so far, by the method of
:mod:`sim.projection` (the value beyond the horizon of ``clv_projected``, here over a shorter window and
valued now). Teams are ranked by
their sum, the score, so buying this round's profit with next year's customers does not win. The debrief
shows, per team, which customers it holds by bond and which only by barriers (loyalty classes).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .books import STAT
from .codes import LOYALTY_CLASSES
from .measures import CODE, LEVERS, TYPES
from .params import Scenario
from .projection import Retention, fit_retention, held_value, tenure_counts
from .scenario import ScenarioError, load

FORMAT = "retention-sim game"
VERSION = 1
VALUE_HORIZON_MONTHS = 24
MIN_TEAMS, MAX_TEAMS = 2, 4
MAX_ROUNDS, MAX_ROUND_PERIODS = 40, 24
MAX_TEAM_NAME = 40  # characters
# The largest market a game (and the dashboard) runs: a server in a classroom holds one model per game
# or browser tab, and a room must not be able to take its memory (about 400 bytes per customer)
MAX_CUSTOMERS = 50_000
MAX_MARKET = 250_000  # customers over a whole run: the initial ones and the arrivals
MAX_SAVED_GAME_BYTES = 2 * 1024 * 1024
LUCK_DRAWS = 4  # other seeds the leaderboard is replayed on, to tell skill from the luck of the draw



# a new game as the trainer's page and ``retention-sim dashboard --game`` set it up unless told otherwise
TEAM_NAMES = ("Team A", "Team B", "Team C", "Team D")
NEW_GAME = {"teams": 2, "round_periods": 3, "rounds": 8, "customers": 10_000, "seed": 1}


class GameError(ValueError):
    """A decision or an action the game refuses; the message says why, in words for the room. ``key``
    names the set-up value that is wrong (``teams``, ``rounds``, ...), if it is one."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


@dataclass
class Cost:
    """Estimated cost of a team's measures in one round: the total and one line per measure."""

    total: float
    lines: list[tuple[str, float]]
    budget: float

    @property
    def over(self) -> float:
        return self.total - self.budget

    @property
    def within(self) -> bool:
        return self.total <= self.budget + 1e-9


@dataclass
class Game:
    """A classroom game (see the module docstring). Build one with :meth:`new`."""

    base: dict  # the market scenario as a dict: one firm per team, no measures, horizon = rounds x round_periods
    teams: list[str]
    seed: int
    round_periods: int
    rounds: int
    budget: float
    decisions: list[dict[str, list[dict]]] = field(default_factory=list)  # per finished round: team -> measures
    pending: dict[str, list[dict]] = field(default_factory=dict)  # this round's decisions so far
    _model: Any = field(default=None, repr=False, compare=False)
    _model_rounds: int = field(default=-1, repr=False, compare=False)

    # ------------------------------------------------------------------ set-up
    @classmethod
    def new(cls, scenario: Any = "telecom", teams: Sequence[str] = ("Team A", "Team B"), *, seed: int = 0,
            round_periods: int = 3, rounds: int = 8, budget: float | None = None, customers: int | None = None) -> Game:
        """A new game on the market of ``scenario`` (name, path, dict or Scenario): one firm per team,
        each a copy of the scenario's first firm; the scenario's own measures are dropped (the teams
        decide). ``budget`` per round defaults to 10 % of a team's expected revenue in a round."""
        names = [str(t).strip() for t in teams]
        if not (isinstance(seed, int) and 0 <= seed < 2**63):
            raise GameError(f"the seed is a whole number from 0 to 2**63 - 1 (got {seed!r})"[:120], "seed")
        if not MIN_TEAMS <= len(names) <= MAX_TEAMS:
            raise GameError(f"a game needs {MIN_TEAMS} to {MAX_TEAMS} teams (got {len(names)})", "teams")
        if any(not n for n in names):
            raise GameError("every team needs a name")
        if any(len(n) > MAX_TEAM_NAME for n in names):
            raise GameError(f"a team's name has at most {MAX_TEAM_NAME} characters")
        if len(set(names)) != len(names):
            raise GameError(f"team names must differ (got {', '.join(names)})")
        if not 1 <= int(round_periods) <= MAX_ROUND_PERIODS:
            raise GameError(f"a round is 1 to {MAX_ROUND_PERIODS} periods long (got {round_periods})", "round_periods")
        if not 1 <= int(rounds) <= MAX_ROUNDS:
            raise GameError(f"a game has 1 to {MAX_ROUNDS} rounds (got {rounds})", "rounds")
        if customers is not None and not 100 <= int(customers) <= MAX_CUSTOMERS:
            raise GameError(f"a game's market has 100 to {MAX_CUSTOMERS:,} customers (got {int(customers):,})", "customers")
        sc = load(scenario)
        d = sc.model_dump(mode="json")
        template = d["firms"][0]
        share = 1.0 / len(names)
        d["firms"] = [{**copy.deepcopy(template), "name": n, "initial_share": share} for n in names]
        d["measures"] = []
        d["counterfactual"] = None  # the base's names its measures, which the game drops
        d["simulation"]["periods"] = int(round_periods) * int(rounds)
        size = int(customers) if customers is not None else min(d["simulation"]["customers"], MAX_CUSTOMERS)
        d["simulation"]["scale"] = d["simulation"]["scale"] * size / d["simulation"]["customers"]  # the same market
        d["simulation"]["customers"] = size
        d["name"] = f"game on {sc.name}"
        d["question"] = "Which team builds the most valuable customer base?"
        d["answer"] = ""  # the base scenario's answer names its own firms
        market = load(d, bases={})  # validates
        _check_size(market)
        if budget is None:
            f = market.firms[0]
            budget = round(0.1 * f.price * int(round_periods) * market.simulation.customers * share, -2)
        if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget >= 0):
            raise GameError(f"the budget must be a non-negative amount (got {budget!r})", "budget")
        return cls(base=market.model_dump(mode="json"), teams=names, seed=int(seed), round_periods=int(round_periods),
                   rounds=int(rounds), budget=float(budget))

    @property
    def market(self) -> Scenario:
        # a game's market is a resolved scenario: it extends nothing (a saved game names no file)
        return load(self.base, source="the game's market", bases={})

    @property
    def round(self) -> int:
        """Rounds played so far (the current round is number ``round + 1``)."""
        return len(self.decisions)

    @property
    def finished(self) -> bool:
        return self.round >= self.rounds

    @property
    def currency(self) -> str:
        return self.base["simulation"]["currency"]

    def round_span(self, k: int | None = None) -> tuple[int, int]:
        """Periods [start, end) of round ``k`` (0-based; default: the current round)."""
        k = self.round if k is None else k
        return k * self.round_periods, (k + 1) * self.round_periods

    def _team(self, team: str) -> int:
        if team not in self.teams:
            raise GameError(f"no team named {team!r} (teams: {', '.join(self.teams)})")
        return self.teams.index(team)

    # ------------------------------------------------------------------ decisions
    def measures(self, team: str, decision: Sequence[Mapping], k: int | None = None) -> list[dict]:
        """``decision`` as complete measure dicts for ``team``'s firm in round ``k``."""
        start, end = self.round_span(k)
        out = []
        for m in decision:
            m = dict(m)
            if m.get("type") not in TYPES:
                raise GameError(f"unknown measure type {m.get('type')!r}; the types are {', '.join(TYPES)}")
            for key in ("firm", "schedule"):
                if key in m:
                    raise GameError(f"a decision does not set {key!r}: the game sets the team's firm and the round's periods")
            out.append({**m, "firm": team, "schedule": {"start": start, "end": end}})
        return out

    def cost(self, team: str, decision: Sequence[Mapping]) -> Cost:
        """Estimated cost of ``decision`` for ``team`` in the current round (see the module docstring):
        each measure's :meth:`~sim.measures.base.Measure.expected_cost`, the cost model the run books,
        for the customers it would reach."""
        i = self._team(team)
        measures = self.measures(team, decision)
        sc = self._validated(measures)
        customers = self._customers(i)
        joining = self._joining(i, sc)
        classes = self._class_shares(i)
        lines = []
        for m in sc.measures[len(sc.measures) - len(measures):]:  # this decision's measures only
            share = self._reach_share(sc, m, classes)
            lever = LEVERS[CODE[m.type]].Lever(m, sc, CODE[m.type])  # the lever's own cost model
            reached = [n * share for n in joining]
            c = lever.expected_cost(customers * share, reached)
            if m.type == "discount":
                what = f"discount {m.rate:.0%}: revenue given away"
            elif m.type == "service":
                what = f"service (quality +{m.quality_boost:g})"
            elif m.type == "nostalgia":
                what = f"nostalgia campaign ({m.cohort})"
            elif m.type == "contract":
                what = f"contracts ({m.term} periods): about {lever.expected_events(reached):,.0f} signed or renewed"
            else:
                what = f"list price x{m.factor:g}" if m.type == "price_change" else m.type
            lines.append((what, float(c)))
        return Cost(total=float(sum(c for _, c in lines)), lines=lines, budget=self.budget)

    def _joining(self, i: int, sc: Scenario) -> list[float]:
        """Team ``i``'s customers who start a relationship with it in each period of the current round:
        as many a period as in the last round played (newcomers, switchers, referred and won back),
        before the first round the newcomers its acquisition budget buys; in period 0 every initial
        customer is new."""
        if self.round == 0:
            per_period = sc.bought_per_period(i)
        else:
            ledger = self.model().engine.books.ledger[(self.round - 1) * self.round_periods:self.round * self.round_periods, 0, i]
            per_period = float(sum(ledger[:, STAT[k]].sum() for k in ("acquired", "referred", "won_back", "switched_in")))
            per_period /= self.round_periods
        joining = [per_period] * self.round_periods
        if self.round == 0:
            joining[0] += self._customers(i)
        return joining

    def decide(self, team: str, decision: Sequence[Mapping]) -> Cost:
        """Record ``team``'s decision for the current round (replacing an earlier one); refused if the
        game is over, a measure is invalid, or it is over budget."""
        if self.finished:
            raise GameError(f"the game is over: all {self.rounds} rounds are played")
        cost = self.cost(team, decision)
        if not cost.within:
            cur = self.currency
            detail = "; ".join(f"{what} {c:,.0f}" for what, c in cost.lines if c > 0)
            raise GameError(f"{team}: these measures would cost about {cost.total:,.0f} {cur} this round ({detail}), "
                            f"{cost.over:,.0f} {cur} over the budget of {self.budget:,.0f} {cur}")
        self.pending[team] = [dict(m) for m in decision]
        return cost

    def advance(self) -> None:
        """Close the current round with the decisions made (a team that decided nothing runs no
        measures) and simulate it."""
        if self.finished:
            raise GameError(f"the game is over: all {self.rounds} rounds are played")
        self.decisions.append({t: self.pending.get(t, []) for t in self.teams})
        self.pending = {}

    # ------------------------------------------------------------------ the simulation
    def scenario(self, rounds: int | None = None) -> Scenario:
        """The market with every decision of the first ``rounds`` rounds (default: all played)."""
        rounds = self.round if rounds is None else rounds
        measures = []
        for k, round_decisions in enumerate(self.decisions[:rounds]):
            for team in self.teams:
                measures += self.measures(team, round_decisions.get(team, []), k)
        return self._validated(measures, include_played=False)

    def _validated(self, measures: list[dict], include_played: bool = True) -> Scenario:
        d = copy.deepcopy(self.base)
        if include_played:
            for k, round_decisions in enumerate(self.decisions):
                for team in self.teams:
                    d["measures"] += self.measures(team, round_decisions.get(team, []), k)
        d["measures"] += measures
        try:
            return load(d, source="the game's market", bases={})
        except ScenarioError as err:
            raise GameError(err.one_line()) from None

    def model(self):
        """The model run to the end of the last played round (cached)."""
        from .model import RetentionModel

        if self._model is None or self._model_rounds != self.round:
            m = RetentionModel(self.scenario(), rng=self.seed)
            for _ in range(self.round * self.round_periods):
                m.step()
            self._model, self._model_rounds = m, self.round
        return self._model

    def history(self):
        """One row per period and team: period, team, customers, share of the market, profit,
        loyalty-class shares (a pandas DataFrame)."""
        import pandas as pd

        m = self.model()
        if m.period == 0:
            return pd.DataFrame(columns=["period", "team", "customers", "share", "profit"])
        df = m.datacollector.get_agent_vars_dataframe().reset_index()
        names = {f.unique_id: f.name for f in m.firms}
        df = df.rename(columns={"active": "customers"})
        df["team"] = df["AgentID"].map(names)
        total = df.groupby("period")["customers"].transform("sum")
        df["share"] = (df["customers"] / total.where(total > 0)).fillna(0.0)
        keep = ["period", "team", "customers", "share", "profit", "revenue", "churned", "serving_costs", "measure_costs",
                "fixed_costs", "discounts", "acquisition_costs", *(f"share_{k}" for k in LOYALTY_CLASSES)]
        return (
            df[keep]
            .sort_values(["period", "team"], key=lambda s: s.map(self.teams.index) if s.name == "team" else s)
            .reset_index(drop=True)
        )

    def _customers(self, i: int) -> float:
        """Team ``i``'s customers at the end of the last played round (at the start: its share)."""
        if self.round == 0:
            sc = self.market
            return sc.simulation.customers * sc.firms[i].initial_share
        return float(self.model().firms[i].active)

    def _class_shares(self, i: int) -> dict[str, float]:
        if self.round == 0:
            return {}
        f = self.model().firms[i]
        return {k: float(getattr(f, f"share_{k}")) for k in LOYALTY_CLASSES}

    @staticmethod
    def _reach_share(sc: Scenario, m, classes: dict[str, float]) -> float:
        """Share of a firm's customers a measure reaches, by its target (segment, cohort, class)."""
        share = 1.0
        t = m.target
        if t.segment is not None:
            share *= next(s.share for s in sc.segments if s.name == t.segment)
        if t.cohort is not None:
            share *= sum(s.share * s.cohorts.get(t.cohort, 0.0) for s in sc.segments if t.segment in (None, s.name)) / \
                     sum(s.share for s in sc.segments if t.segment in (None, s.name))
        if t.loyalty_class is not None:
            share *= classes.get(t.loyalty_class, 0.25) if classes else 0.25
        return share

    # ------------------------------------------------------------------ what the room sees
    def leaderboard(self) -> list[dict]:
        """One row per team, best first: customers, market share, profit in the last round and to date,
        the value of the customer base, the score (profit to date + value of the base), the bonded share."""
        rows = []
        d = float(self.base["simulation"]["discount_rate"])
        months = float(self.base["simulation"]["period_months"])
        horizon = max(1, round(VALUE_HORIZON_MONTHS / months))
        h = self.history()
        model = self.model()
        rel, played = model.engine.relationship_arrays(), model.engine.period
        for i, team in enumerate(self.teams):
            t = h[h["team"] == team] if len(h) else h
            customers = float(t["customers"].iloc[-1]) if len(t) else self._customers(i)
            total = float(h[h["period"] == h["period"].max()]["customers"].sum()) if len(h) else 0.0
            last = t[t["period"] >= (self.round - 1) * self.round_periods] if len(t) else t
            profit_round = float(last["profit"].sum()) if len(last) else 0.0
            profit_total = float(t["profit"].sum()) if len(t) else 0.0
            if len(last) and last["customers"].sum() > 0:
                served = last["customers"].sum()
                margin = float((last["revenue"] - last["serving_costs"] - last["measure_costs"]).sum() / served)
                ended, running, _ = tenure_counts(rel, i, 0, played)
                curve = fit_retention(ended, running) or Retention(0.0, math.inf)  # None: nobody has left yet
                value = margin * held_value(curve, running, 0, d, horizon)
            else:
                value = 0.0
            bonded = float(t["share_bonded_only"].iloc[-1] + t["share_both"].iloc[-1]) if len(t) else math.nan
            rows.append({"team": team, "firm_index": i, "customers": int(round(customers)),
                         "market_share": customers / total if total else 1.0 / len(self.teams),
                         "profit_round": profit_round, "profit_total": profit_total, "base_value": float(value),
                         "score": profit_total + float(value), "bonded_share": bonded})
        rows.sort(key=lambda r: (-r["score"], r["firm_index"]))
        for rank, r in enumerate(rows, 1):
            r["rank"] = rank
        return rows

    def with_seed(self, seed: int) -> Game:
        """The same game (market, rounds played, decisions) on another seed: what luck alone changes."""
        return replace(self, seed=int(seed), decisions=copy.deepcopy(self.decisions), pending={}, _model=None, _model_rounds=-1)

    def luck(self, draws: int = LUCK_DRAWS) -> dict[str, Any]:
        """Whether the leaderboard's order is more than the luck of the draw: the rounds played so far
        are replayed with the same decisions on ``draws`` other seeds. ``scores`` maps each team to
        its score on the game's seed and then on each other seed; ``within_luck`` holds the pairs of
        teams (as frozensets) whose order changes with the seed, so their ranking is luck."""
        seeds = [self.seed, *[(self.seed + 1_000_003 * k) % 2**63 for k in range(1, draws + 1)]]
        scores: dict[str, list[float]] = {t: [] for t in self.teams}
        for s in seeds:
            g = self if s == self.seed else self.with_seed(s)
            for r in g.leaderboard():
                scores[r["team"]].append(r["score"])
        within = set()
        for i, a in enumerate(self.teams):
            for b in self.teams[i + 1:]:
                signs = {math.copysign(1.0, x - y) for x, y in zip(scores[a], scores[b]) if x != y}
                if len(signs) != 1:  # the order flips (or they tie) on some seed
                    within.add(frozenset((a, b)))
        return {"seeds": seeds, "scores": scores, "within_luck": within}

    def debrief(self) -> list[dict]:
        """Per team: its current customers by loyalty class (counts), and the share held by bond
        (bonded only + both) and only by barriers (attached only)."""
        out = []
        m = self.model()
        for i, team in enumerate(self.teams):
            f = m.firms[i]
            n = float(f.active) if m.period else self._customers(i)
            shares = {k: float(getattr(f, f"share_{k}")) if m.period else math.nan for k in LOYALTY_CLASSES}
            counts = {k: (0 if math.isnan(v) else int(round(v * n))) for k, v in shares.items()}
            out.append({"team": team, "firm_index": i, "customers": int(round(n)), "counts": counts,
                        "by_bond": counts["bonded_only"] + counts["both"], "only_by_barriers": counts["attached_only"],
                        "free": counts["neither"]})
        return out

    # ------------------------------------------------------------------ save and resume
    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "teams": list(self.teams), "seed": self.seed,
                "round_periods": self.round_periods, "rounds": self.rounds, "budget": self.budget,
                "market": self.base, "decisions": self.decisions, "pending": self.pending}

    @classmethod
    def from_dict(cls, d: Mapping) -> Game:
        """A game from its saved form (:meth:`to_dict`); GameError naming the first thing that is
        wrong. The market may extend nothing and must fit the game's limits."""
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            raise GameError("not a saved retention-sim game (no 'format': 'retention-sim game')")
        if d.get("version") != VERSION:
            raise GameError(f"saved by another version of the game format (this is {VERSION})")
        for key, kind in (("teams", list), ("market", dict), ("decisions", list), ("pending", dict)):
            if key not in d and key in ("decisions", "pending"):
                continue
            if not isinstance(d.get(key), kind):
                raise GameError(
                    f"the saved game's '{key}' is "
                    f"{'missing' if key not in d else 'not a ' + ('list' if kind is list else 'table')}"
                )
        for key in ("seed", "round_periods", "rounds"):
            if not isinstance(d.get(key), int) or isinstance(d.get(key), bool):
                raise GameError(f"the saved game's '{key}' must be a whole number")
        budget = d.get("budget")
        if not isinstance(budget, (int, float)) or isinstance(budget, bool) or not math.isfinite(budget) or budget < 0:
            raise GameError("the saved game's 'budget' must be a non-negative amount")
        if not all(isinstance(t, str) for t in d["teams"]):
            raise GameError("the saved game's 'teams' must be names")
        decisions = d.get("decisions", [])
        pending = d.get("pending", {})
        for k, r in enumerate(decisions):
            if not isinstance(r, dict) or not all(
                isinstance(ms, list) and all(isinstance(m, dict) for m in ms) for ms in r.values()
            ):
                raise GameError(f"the saved game's 'decisions' entry {k} must map each team to a list of measures")
        if not all(isinstance(ms, list) and all(isinstance(m, dict) for m in ms) for ms in pending.values()):
            raise GameError("the saved game's 'pending' must map each team to a list of measures")
        if not 1 <= d["rounds"] <= MAX_ROUNDS or not 1 <= d["round_periods"] <= MAX_ROUND_PERIODS:
            raise GameError(f"the saved game has 1 to {MAX_ROUNDS} rounds of 1 to {MAX_ROUND_PERIODS} periods")
        if not MIN_TEAMS <= len(d["teams"]) <= MAX_TEAMS or any(not t.strip() or len(t) > MAX_TEAM_NAME for t in d["teams"]):
            raise GameError(
                f"the saved game needs {MIN_TEAMS} to {MAX_TEAMS} teams with names of 1 to {MAX_TEAM_NAME} characters"
            )
        g = cls(base=copy.deepcopy(dict(d["market"])), teams=list(d["teams"]), seed=d["seed"], round_periods=d["round_periods"],
                rounds=d["rounds"], budget=float(budget),
                decisions=[{str(t): [dict(m) for m in ms] for t, ms in r.items()} for r in decisions],
                pending={str(t): [dict(m) for m in ms] for t, ms in pending.items()})
        if not 0 <= g.seed < 2**63:
            raise GameError("the saved game's 'seed' must be a whole number from 0 to 2**63 - 1")
        try:
            market = g.market  # validates the market
        except ScenarioError as err:
            raise GameError(err.one_line(limit=1)) from None
        _check_size(market)
        if [f.name for f in market.firms] != g.teams:
            raise GameError("the saved game's teams do not match its market's firms")
        if market.simulation.periods != g.rounds * g.round_periods:
            raise GameError("the saved game's market does not last its rounds")
        if len(g.decisions) > g.rounds:
            raise GameError("the saved game has more rounds of decisions than rounds")
        if any(set(r) - set(g.teams) for r in [*g.decisions, g.pending]):
            raise GameError("the saved game has decisions of a team that is not playing")
        g.scenario()  # validates every decision
        return g

    def to_json(self) -> str:
        """The saved form as JSON text (what :meth:`save` writes and :meth:`from_json` reads)."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, data: bytes | str, name: str = "the saved game") -> Game:
        """A game from saved JSON (e.g. a file a browser uploaded); GameError naming ``name`` and what is
        wrong, never quoting the content."""
        if len(data) > MAX_SAVED_GAME_BYTES:
            raise GameError(f"{name}: is {len(data):,} bytes; a saved game is at most {MAX_SAVED_GAME_BYTES:,}")
        try:
            parsed = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            where = f" at line {err.lineno}" if isinstance(err, json.JSONDecodeError) else ""
            raise GameError(f"{name}: not a saved game (invalid JSON{where})") from None
        except RecursionError:
            raise GameError(f"{name}: not a saved game (nested too deeply)") from None
        try:
            return cls.from_dict(parsed)
        except GameError as err:
            raise GameError(f"{name}: {err}") from None
        except RecursionError:
            raise GameError(f"{name}: not a saved game (nested too deeply)") from None

    def save(self, path: str | Path) -> Path:
        """Write the game as JSON (atomically: a crash leaves the previous file)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Game:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise GameError(f"{path}: {err.strerror or err}") from None
        return cls.from_json(data, str(path))


def _check_size(market: Scenario) -> None:
    """GameError if the market is larger than a game runs (:data:`MAX_CUSTOMERS`, :data:`MAX_MARKET`)."""
    n = market.simulation.customers
    if n > MAX_CUSTOMERS:
        raise GameError(f"a game's market has at most {MAX_CUSTOMERS:,} customers (got {n:,})")
    total = market.expected_customers()
    if total > MAX_MARKET:
        raise GameError(f"the firms' acquisition budgets would bring about {total:,.0f} customers over the game; "
                        f"a game runs at most {MAX_MARKET:,}")


# ---------------------------------------------------------------------------------- the game's levers
def decision(price_change: float = 0.0, discount: float = 0.0, service: float = 0.0, contract_term: int = 0,
             exit_fee: float = 0.0, nostalgia_cohort: str = "", authenticity: float = 0.8,
             price: float | None = None) -> list[dict]:
    """The measure dicts of the game's decision form: ``price_change`` (fraction, e.g. -0.1), ``discount``
    (fraction), ``service`` (quality boost), a contract (term in periods, exit fee), a nostalgia campaign
    (evoked cohort, authenticity). Each costs what its lever's cost model in :mod:`sim.measures` says
    (as in a scenario file and the dashboard), relative to the firm's list price; ``price`` is accepted
    for older callers and not needed."""
    del price  # the measures' cost models read the firm's list price themselves
    out: list[dict] = []
    if price_change:
        out.append({"type": "price_change", "factor": round(1.0 + price_change, 6)})
    if discount:
        out.append({"type": "discount", "rate": float(discount)})
    if service:
        out.append({"type": "service", "quality_boost": float(service), "handling_boost": min(1.0, 2.0 * float(service))})
    if contract_term:
        out.append({"type": "contract", "term": int(contract_term), "exit_fee": float(exit_fee)})
    if nostalgia_cohort:
        out.append({"type": "nostalgia", "cohort": nostalgia_cohort, "authenticity": float(authenticity),
                    "target": {"cohort": nostalgia_cohort}})
    return out


__all__ = ["NEW_GAME", "TEAM_NAMES", "Cost", "Game", "GameError", "VALUE_HORIZON_MONTHS", "decision"]
