"""retention-sim: an agent-based simulator of customer retention strategy.

Customers stay because they want to (bonded, *Verbundenheit*) or because they must (attached,
*Gebundenheit*). Quick start::

    import sim
    res = sim.run("telecom", seed=1, overrides={"simulation.customers": 2000})
    res.periods        # one row per period and firm
    res.summary        # churn per year, retention, CLV, profit
"""

__version__ = "0.1.0"

# The public names are imported on first use, so that `import sim` (and `retention-sim list`)
# does not pay for mesa, numba, pandas and matplotlib.
_LAZY = {
    "RetentionModel": ("model", "RetentionModel"),
    "Scenario": ("params", "Scenario"),
    "RunResult": ("results", "RunResult"),
    "run": ("results", "run"),
    "ScenarioError": ("scenario", "ScenarioError"),
    "load": ("scenario", "load"),
    "load_scenario": ("scenario", "load"),
    "shipped_scenarios": ("scenario", "shipped_scenarios"),
}

__all__ = ["RetentionModel", "RunResult", "Scenario", "ScenarioError", "load", "load_scenario", "run", "shipped_scenarios", "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
