"""retention-sim: an agent-based simulator of customer retention strategy.

Customers stay because they want to (bonded, *Verbundenheit*) or because they must (attached,
*Gebundenheit*). Quick start::

    import sim
    res = sim.run("telecom", seed=1, overrides={"simulation.customers": 2000})
    res.periods        # one row per period and firm
    res.summary        # churn per year, retention, CLV, profit
"""

__version__ = "0.1.0"

from .model import RetentionModel  # noqa: E402
from .params import Scenario  # noqa: E402
from .results import RunResult, run  # noqa: E402
from .scenario import ScenarioError, load, shipped_scenarios  # noqa: E402

load_scenario = load

__all__ = ["RetentionModel", "RunResult", "Scenario", "ScenarioError", "load", "load_scenario", "run", "shipped_scenarios", "__version__"]
