"""retention-sim: an agent-based simulator of customer retention strategy.

Customers stay because they want to (bonded, *Verbundenheit*) or because they must (attached,
*Gebundenheit*). Quick start::

    import sim
    res = sim.run("telecom", seed=1, overrides={"simulation.customers": 2000})
    res.periods        # one row per period and firm
    res.summary        # churn per year, retention, CLV, profit
    sim.optimise("opt.toml", "results/opt")   # the best strategy within bounds and a budget

The heavy parts (the engine, Mesa, pandas, plotting) are imported on first use, so that the command
line starts fast.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.2.0"

_LAZY = {
    "RetentionModel": "model",
    "RunResult": "results",
    "run": "results",
    "Scenario": "params",
    "ScenarioError": "scenario",
    "load": "scenario",
    "load_scenario": "scenario",
    "optimise": "optimise",
    "shipped_scenarios": "scenario",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        module = import_module(f".{_LAZY[name]}", __name__)
        # sim.optimise is its (callable) module, so that importing a submodule of it cannot replace it
        value = module if name == "optimise" else getattr(module, "load" if name == "load_scenario" else name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
