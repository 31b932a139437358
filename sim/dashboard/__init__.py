"""The browser dashboard and classroom game (``retention-sim dashboard``), a Mesa SolaraViz app.

- :mod:`sim.dashboard.app`: the pages (Solara components): the dashboard at ``/``, the game at ``/game``;
- :mod:`sim.dashboard.levers`: settings, scenario and model behind the dashboard's controls;
- :mod:`sim.dashboard.charts`: the light SVG charts drawn every period;
- :mod:`sim.dashboard.story`: one traced customer's story in words;
- :mod:`sim.dashboard.game_page`: the classroom game's page (its rules are :mod:`sim.game`).

:func:`serve` runs the Solara server in this process until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import sys
import warnings

APP = "sim.dashboard.app"


def serve(scenario: str, host: str = "127.0.0.1", port: int = 8765) -> int:
    """Serve the dashboard for ``scenario`` (shipped name or absolute path) at http://host:port/."""
    from .app import SCENARIO_ENV

    os.environ[SCENARIO_ENV] = str(scenario)
    # the app must work offline (a classroom, a firewalled machine): no usage statistics, no version check
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    warnings.filterwarnings("ignore", message="Cookies with samesite=none")

    # compile the simulation kernel now (the first run after an install takes a while), not on the first page
    from ..model import RetentionModel

    RetentionModel(scenario, rng=0, **{"simulation.customers": 20, "simulation.periods": 2}).step()

    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    print(f"retention-sim: dashboard at {url} (classroom game at {url}game); Ctrl-C stops it", flush=True)
    if shown != host:
        print(f"retention-sim: listening on every address of this machine ({host}): other devices use its address", flush=True)
    from solara.__main__ import cli

    from ..outputs import Terminated

    code = 0
    try:
        cli.main(args=["run", APP, "--host", host, "--port", str(port), "--production", "--no-open", "--no-check-version",
                       "--log-level", "warning"], prog_name="retention-sim dashboard", standalone_mode=False)
    except KeyboardInterrupt:  # Ctrl-C: the usual way to stop it
        pass
    except Terminated as stop:
        code = stop.exit_code
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    print("retention-sim: dashboard stopped", file=sys.stderr, flush=True)
    return code
