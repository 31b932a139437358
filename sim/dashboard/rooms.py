"""The classroom games a dashboard server holds: one shared state per game, whichever device looks at it.

A trainer starts a game and gets a short join code; each team joins on its own device with that code
and picks its team. Every browser session of the server sees the same :class:`Room` (a module-level
registry keyed by join code, guarded by a lock), so a decision made on a team's phone shows on the
trainer's screen, and a reloaded page finds its game again.

Who may do what is carried by tokens in the page's address (no cookies, no login): the trainer's
token advances rounds and shows the debrief; each team's token submits that team's decisions and no
other team's. A team picks its team once with the join code; after that only its own address (the
token) rejoins it, so a second device cannot take over a team that is already playing.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..game import Game, GameError

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read off a projector
CODE_LENGTH = 5
MAX_ROOMS = 12  # games a server holds at once (each holds a model: a room must not take the server's memory)
IDLE_SECONDS = 6 * 3600  # a game untouched this long may make way for a new one
KEEP_ENV = "RETENTION_SIM_GAME_KEEP"
KEEP_SECONDS = 20 * 60  # a game no page shows is kept this long (a trainer's laptop asleep), then ended


def keep_seconds() -> float:
    """How long a game that no page shows is kept (:data:`KEEP_ENV` overrides :data:`KEEP_SECONDS`)."""
    try:
        return max(0.0, float(os.environ.get(KEEP_ENV, KEEP_SECONDS)))
    except ValueError:
        return float(KEEP_SECONDS)


@dataclass(eq=False)
class Room:
    """One running game and who plays it. Every method takes the room's lock: sessions call them from
    their own threads."""

    code: str
    game: Game
    trainer_token: str
    team_tokens: dict[str, str]  # team -> its token
    joined: set[str] = field(default_factory=set)  # teams a device has picked
    messages: dict[str, str] = field(default_factory=dict)  # team -> the last word for it; "" -> for the trainer
    version: int = 0  # bumped after every change: sessions redraw when it moves
    touched: float = field(default_factory=time.monotonic)
    watchers: int = 0  # pages showing this game now
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    changed: threading.Condition = field(init=False, repr=False)
    _view: tuple[int, dict] | None = field(default=None, repr=False)
    _market: tuple[int, dict] | None = field(default=None, repr=False)  # per round: what only a round changes

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    # ------------------------------------------------------------------ who is who
    def team_of(self, token: str | None) -> str | None:
        """The team whose token ``token`` is (None for anything else)."""
        if not token:
            return None
        return next((t for t, tok in self.team_tokens.items() if secrets.compare_digest(tok, str(token))), None)

    def is_trainer(self, token: str | None) -> bool:
        return bool(token) and secrets.compare_digest(self.trainer_token, str(token))

    def join(self, team: str) -> str:
        """Claim ``team`` for a device; its token. GameError if there is no such team or a device has it."""
        with self.lock:
            if team not in self.team_tokens:
                raise GameError(f"no team named {team!r} in game {self.code}")
            if team in self.joined:
                raise GameError(f"{team} has joined already on another device; that device's page (or a reload of it) "
                                "rejoins it")
            self.joined.add(team)
            self._bump()
            return self.team_tokens[team]

    def open_teams(self) -> list[str]:
        with self.lock:
            return [t for t in self.game.teams if t not in self.joined]

    # ------------------------------------------------------------------ actions
    def cost(self, team: str, decision: Sequence[Mapping]):
        with self.lock:
            return self.game.cost(team, decision)

    def submit(self, token: str, decision: Sequence[Mapping]) -> None:
        """Record the decision of the team whose token is ``token``; a refusal becomes that team's
        message (shown next to its form, not overwritten by another team)."""
        with self.lock:
            team = self.team_of(token)
            if team is None:
                raise GameError("this page is not a team of this game")
            try:
                self.game.decide(team, decision)
            except GameError as err:
                self.messages[team] = str(err)
            else:
                self.messages[team] = f"Decision for round {self.game.round + 1} received."
            self._bump()

    def advance(self, token: str) -> None:
        """Close the round (trainer only) and simulate it, so every page shows the new market."""
        with self.lock:
            if not self.is_trainer(token):
                raise GameError("only the trainer advances the round")
            waiting = [t for t in self.game.teams if t not in self.game.pending]
            try:
                self.game.advance()
            except GameError as err:
                self.messages[""] = str(err)
                self._bump()
                return
            self.game.model()  # simulate now, under the lock, not in whichever page draws first
            note = f" ({', '.join(waiting)}: no measures)" if waiting else ""
            self.messages = {"": f"Round {self.game.round} played{note}."}
            self._bump()

    def attach(self) -> None:
        """A page shows this game (it stays while any page does)."""
        with self.lock:
            self.watchers += 1
            self.touched = time.monotonic()

    def detach(self) -> None:
        """A page stopped showing this game; the last one leaves it :func:`keep_seconds` to come back."""
        with self.lock:
            self.watchers -= 1
            self.touched = time.monotonic()
            if self.watchers > 0:
                return
        timer = threading.Timer(keep_seconds(), _expire, args=(self.code, self.touched))
        timer.daemon = True
        timer.start()

    def _bump(self) -> None:
        self.version += 1
        self.touched = time.monotonic()
        self.changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """The room's version once it differs from ``seen`` (or after ``timeout`` seconds)."""
        with self.lock:
            if self.version == seen:
                self.changed.wait(timeout)
            return self.version

    # ------------------------------------------------------------------ what the pages show
    def view(self) -> dict[str, Any]:
        """Everything the pages draw, computed once per change under the lock (pages never touch the
        game itself, which another session may be changing)."""
        with self.lock:
            if self._view is not None and self._view[0] == self.version:
                return self._view[1]
            g = self.game
            if self._market is None or self._market[0] != g.round:
                # the market, the leaderboard and its luck change only when a round is played (the luck
                # replays the rounds on other seeds: not on every keystroke of a team)
                self._market = (g.round, {"leaderboard": g.leaderboard(), "history": g.history(), "debrief": g.debrief(),
                                          "price": g.market.firms[0].price, "cohorts": _cohorts(g),
                                          "luck": g.luck() if g.round else None})
            v = {"version": self.version, "round": g.round, "rounds": g.rounds, "finished": g.finished,
                 "span": g.round_span(), "months": float(g.base["simulation"]["period_months"]), "budget": g.budget,
                 "currency": g.currency, "teams": list(g.teams), "pending": {t: len(ms) for t, ms in g.pending.items()},
                 "joined": set(self.joined), "messages": dict(self.messages), **self._market[1]}
            self._view = (self.version, v)
            return v

    def saved(self) -> bytes:
        """The game's saved form (see :meth:`sim.game.Game.to_json`), taken under the lock."""
        with self.lock:
            return self.game.to_json().encode()


def _cohorts(game: Game) -> list[str]:
    out: list[str] = []
    for s in game.market.segments:
        out += [c for c in s.cohorts if c not in out]
    return out


# ---------------------------------------------------------------------------------- the registry
_rooms: dict[str, Room] = {}
_lock = threading.Lock()


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in _rooms:
            return code


def open_room(game: Game) -> Room:
    """Register ``game`` under a new join code. GameError if the server holds :data:`MAX_ROOMS` games
    that are all in use (one idle for :data:`IDLE_SECONDS` makes way)."""
    game.model()  # simulate the rounds played (a resumed game) before taking the registry's lock
    with _lock:
        if len(_rooms) >= MAX_ROOMS:
            # a game no page shows makes way first, then one untouched for hours
            idle = min(_rooms.values(), key=lambda r: (r.watchers > 0, r.touched))
            if idle.watchers > 0 and time.monotonic() - idle.touched < IDLE_SECONDS:
                raise GameError(f"this server runs {MAX_ROOMS} games already; end one (New game) or join one")
            del _rooms[idle.code]
        room = Room(code=_new_code(), game=game, trainer_token=secrets.token_urlsafe(12),
                    team_tokens={t: secrets.token_urlsafe(12) for t in game.teams})
        _rooms[room.code] = room
        return room


def _expire(code: str, touched: float) -> None:
    """End game ``code`` if no page has shown it since ``touched``, and hand its memory back."""
    with _lock:
        r = _rooms.get(code)
        if r is None or r.watchers > 0 or r.touched != touched:
            return
        del _rooms[code]
    from .app import release_memory

    release_memory()


def room(code: str | None) -> Room | None:
    """The room with join code ``code`` (any case, spaces ignored), or None."""
    if not code:
        return None
    with _lock:
        return _rooms.get(str(code).strip().upper().replace(" ", ""))


def close_room(code: str, token: str) -> bool:
    """End the game ``code`` (trainer only); whether it was ended."""
    with _lock:
        r = _rooms.get(code)
        if r is None or not r.is_trainer(token):
            return False
        del _rooms[code]
    with r.lock:
        r.messages = {"": "The trainer has ended this game."}
        r._bump()
    return True


def running() -> list[Room]:
    """The games running now, newest first."""
    with _lock:
        return sorted(_rooms.values(), key=lambda r: -r.touched)


__all__ = ["Room", "close_room", "open_room", "room", "running"]
