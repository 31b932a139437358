"""The browser dashboard and classroom game (``retention-sim dashboard``), a Mesa SolaraViz app.

- :mod:`sim.dashboard.app`: the pages (Solara components): the dashboard at ``/``, the game at ``/game``;
- :mod:`sim.dashboard.levers`: settings, scenario and model behind the dashboard's controls;
- :mod:`sim.dashboard.charts`: the light SVG charts drawn every period;
- :mod:`sim.dashboard.story`: one traced customer's story in words;
- :mod:`sim.dashboard.game_page`: the classroom game's page (its rules are :mod:`sim.game`);
- :mod:`sim.dashboard.library`: the scenarios a browser may pick by name, and uploads;
- :mod:`sim.dashboard.upload`: the file input that takes a file from the browser's device.

:func:`serve` runs the Solara server in this process until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import sys
import warnings

APP = "sim.dashboard.app"
CULL_TIMEOUT = "2m"  # how long a tab whose connection dropped keeps its session


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


PROJECTOR_ENV = "RETENTION_SIM_PROJECTOR"  # "1": pages start in projector mode


def serve(scenario: str, host: str = "127.0.0.1", port: int = 8765, scenarios: str | None = None,
          projector: bool = False, game=None) -> int:
    """Serve the dashboard for ``scenario`` (shipped name or absolute path) at http://host:port/;
    ``scenarios`` is a folder whose ``.toml`` files the browser may pick by name (see :mod:`.library`);
    ``projector`` starts every page in projector mode; ``game`` (a :class:`sim.game.Game`) is started
    as the trainer's page starts one, and its join code and the trainer's address are printed."""
    from .library import SCENARIOS_ENV, START_ENV

    os.environ[PROJECTOR_ENV] = "1" if projector else "0"

    os.environ[START_ENV] = str(scenario)
    if scenarios is not None:
        os.environ[SCENARIOS_ENV] = str(scenarios)
    else:
        os.environ.pop(SCENARIOS_ENV, None)
    # the app must work offline (a classroom, a firewalled machine): no usage statistics, no version check
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    # no "This website runs on Solara" banner: it sat over the lowest plot's labels
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "false")
    # a tab's session (and its model) ends when the tab closes; one whose connection dropped is kept this
    # long for it to reconnect (Solara's default is 24 h, which lets a room's abandoned sessions pile up)
    os.environ.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", CULL_TIMEOUT)
    warnings.filterwarnings("ignore", message="Cookies with samesite=none")

    # compile the simulation kernel now (the first run after an install takes a while), not on the first page
    from ..model import RetentionModel

    RetentionModel(scenario, rng=0, **{"simulation.customers": 20, "simulation.periods": 2}).step()

    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    print(f"retention-sim: dashboard at {url} (classroom game at {url}game); Ctrl-C stops it", flush=True)
    if game is not None:
        from .game_page import trainer_address
        from .rooms import open_room

        room = open_room(game)
        print(f"retention-sim: classroom game started. Join code: {room.code}", flush=True)
        print(f"retention-sim: the trainer's page: {url.rstrip('/')}{trainer_address(room)} (teams open {url}game and "
              "enter the join code)", flush=True)
    if shown != host:
        print(f"retention-sim: listening on every address of this machine ({host}): other devices use its address", flush=True)
    if not is_loopback(host):
        print(f"warning: anyone who can reach port {port} of this machine can use the dashboard and the classroom game "
              "(there is no login); listen on 127.0.0.1 unless the room needs it", file=sys.stderr, flush=True)
    import click
    from solara.__main__ import cli

    from ..signals import Terminated

    code = 0
    try:
        cli.main(args=["run", APP, "--host", host, "--port", str(port), "--production", "--no-open", "--no-check-version",
                       "--log-level", "warning"], prog_name="retention-sim dashboard", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):  # Ctrl-C: the usual way to stop it
        code = 130
    except Terminated as stop:
        code = stop.exit_code
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    print("retention-sim: dashboard stopped" + (" (Ctrl-C)" if code == 130 else ""), file=sys.stderr, flush=True)
    return code
