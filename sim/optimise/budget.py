"""A retention budget split among levers: the split is the decision, each lever's dose follows from
the money through its cost model.

::

    [budget]
    per_period = 20000.0                       # money per period
    levers = ["service", "loyalty_programme"]  # measures of the base: by type, or "measures.N"
    # or with the key the money buys named: levers = [{ lever = "measures.2", dose = "intensity" }]
    at_most = false                            # true: a ceiling; part of it may stay unspent

Each lever must be a measure of the base scenario, written there at a reference dose (e.g. a service
measure with ``quality_boost = 0.15``). The study searches one weight per lever (``budget.<lever>``, 0 to
1, a weight below :data:`DEAD_ZONE` counting as 0); lever i gets ``per_period * w_i / sum(w)``, and
:func:`dose_for_money` turns that money into the lever's dose. With ``at_most = true`` the budget is a
ceiling: one more weight, ``budget.unspent``, takes the share that is not spent (more money is not always
better). How much the reference dose costs per period is measured, not assumed: a pilot run of the base
with that lever alone (the other budget levers removed) against one with none of them, on the first
search seed, gives the lever's spend per period (measure costs plus fixed costs of its firm, averaged
over the horizon; money per period is meant the same way). That is a planning figure: the books then
charge the dose per customer actually reached, so realised spend follows the customer base the strategy
keeps.

Bad input (one line, exit 2): a lever that is not a measure of the base (or a type listed twice
there), a lever with no dose it could buy, a reference dose of 0, a lever that spends nothing at its
reference dose, a budget below every lever's fixed cost or above what all of them can spend at their
largest doses, a dose key also listed in ``[parameters]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A weight below this counts as 0: leaving a lever out altogether, often the best use of money, then
# has a fair chance in the search, where a share of exactly 0 would otherwise never be drawn.
DEAD_ZONE = 0.1
# lever type -> the key its money buys by default (its dose); {lever, dose} in the file names another
DOSES = {
    "service": "quality_boost",
    "onboarding": "reassurance",
    "nostalgia": "intensity",
    "loyalty_programme": "reward_commitment",
    "complaint_handling": "capacity",
    "proactive_retention": "coverage",
    "win_back": "coverage",
    "account_management": "handover",
    "ecosystem": "lockin_per_product",
    "contract": "exit_fee",
}


@dataclass
class Lever:
    """One lever of the budget: its name in the file, its measure's index in the base, the key its
    money buys (``dose``) and the reference the money is priced at: dose ``d0`` costing ``fixed`` plus
    ``variable`` per period (measured by the pilot)."""

    name: str
    index: int
    dose: str
    d0: float
    fixed: float
    variable: float
    dose_max: float
    params: Any = field(repr=False)
    scenario: Any = field(repr=False)

    def most(self) -> float:
        """The most this lever can spend per period (at its largest dose)."""
        return dose_for_money(self, math.inf)[2]


@dataclass
class BudgetPlan:
    """The checked budget: money per period and its levers."""

    per_period: float
    levers: list[Lever]
    at_most: bool = False

    @property
    def names(self) -> list[str]:
        """The shares of the split: each lever, and ``unspent`` when the budget is a ceiling."""
        return [lv.name for lv in self.levers] + (["unspent"] if self.at_most else [])

    @property
    def keys(self) -> list[str]:
        """The study's weight parameters, one per share (none for a single lever that must spend it all)."""
        return [f"budget.{name}" for name in self.names] if len(self.names) > 1 else []

    def split(self, weights: dict[str, float]) -> dict[str, float]:
        """Money per period for each share from the study's weights (equal shares if all are 0)."""
        if len(self.names) == 1:
            return {self.levers[0].name: self.per_period}
        w = [float(weights[f"budget.{name}"]) for name in self.names]
        w = [x if x >= DEAD_ZONE else 0.0 for x in w]
        total = sum(w)
        shares = [x / total for x in w] if total > 0 else [1.0 / len(w)] * len(w)
        return {name: self.per_period * s for name, s in zip(self.names, shares)}

    def settings(self, money: dict[str, float]) -> tuple[dict[str, Any], set[int], dict[str, float]]:
        """For a split: the dotted-key overrides that set each lever's dose (and, under a flat cost
        model, its cost keys), the measures switched off (money below their fixed cost), and what each
        lever spends per period at its dose (the budget's planning figure)."""
        overrides: dict[str, Any] = {}
        off: set[int] = set()
        spent: dict[str, float] = {}
        for lv in self.levers:
            dose, costs, spend = dose_for_money(lv, money[lv.name])
            spent[lv.name] = spend
            if dose is None:
                off.add(lv.index)
                continue
            overrides[f"measures.{lv.index}.{lv.dose}"] = dose
            overrides.update({f"measures.{lv.index}.{k}": v for k, v in costs.items()})
        return overrides, off, spent


def _unit_cost(lever: Lever, dose: float) -> float:
    """The lever's cost per reached customer plus per event at ``dose``, from its own cost model."""
    from ..measures import CODE, LEVERS

    params = lever.params.model_copy(update={lever.dose: dose})
    made = LEVERS[CODE[params.type]].Lever(params, lever.scenario, CODE[params.type])
    return made.per_customer_cost() + made.event_cost()


def dose_for_money(lever: Lever, money: float) -> tuple[float | None, dict[str, float], float]:
    """The dose that ``money`` per period buys for ``lever``, the cost keys to set with it, and what it
    spends per period: ``(dose, {cost key: value}, spend)``; dose None means the money does not cover
    the lever's fixed cost, so the lever is off (and spends nothing).

    The price comes from the lever's cost model (its ``per_customer_cost``, ``event_cost`` and
    ``fixed_cost``) and the pilot's reference: at its reference dose d0 the lever spends ``fixed +
    variable`` per period, so at dose d it spends ``fixed + variable * unit(d) / unit(d0)``, where unit
    is its cost per reached customer plus per event. The dose is the largest one the money pays for,
    at most the key's upper bound. Where the cost model does not grow with the dose (a constant fee
    per customer, as most levers have now), the money buys dose in proportion, ``unit(d) = unit(d0) *
    d / d0``, and every ``cost_per_*`` key is scaled by ``d / d0`` so that the books charge what the
    budget pays; once a lever's own cost model grows with its dose, that model is used as it is.
    """
    if money <= lever.fixed:
        return None, {}, 0.0
    u0 = _unit_cost(lever, lever.d0)
    flat = math.isclose(_unit_cost(lever, lever.dose_max), u0, rel_tol=1e-12, abs_tol=0.0)

    def spend(d: float) -> float:
        relative = d / lever.d0 if flat else _unit_cost(lever, d) / u0
        return lever.fixed + lever.variable * relative

    if spend(lever.dose_max) <= money:
        dose = lever.dose_max
    elif flat:
        dose = lever.d0 * (money - lever.fixed) / lever.variable
    else:  # the lever's own model: its spend grows with the dose, so bisect
        lo, hi = 0.0, lever.dose_max
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if spend(mid) <= money else (lo, mid)
        dose = lo
    if _whole(lever):
        dose = float(math.floor(dose + 1e-9))
    costs = {}
    if flat:
        factor = dose / lever.d0
        costs = {
            k: v * factor for k, v in lever.params.model_dump().items() if k.startswith("cost_per_") and isinstance(v, float)
        }
    return (int(dose) if _whole(lever) else dose), costs, spend(dose)


def _whole(lever: Lever) -> bool:
    return isinstance(getattr(lever.params, lever.dose), int) and not isinstance(getattr(lever.params, lever.dose), bool)


def _upper(params, key: str) -> float:
    """The schema's upper bound of a measure key (1e9 where it has none)."""
    info = type(params).model_fields[key]
    for meta in info.metadata:
        for attr in ("le", "lt"):
            value = getattr(meta, attr, None)
            if value is not None:
                return float(value)
    return 1e9


def _resolve(entry: str | dict, base, path: Path, i: int) -> tuple[str, int, str]:
    """(name, measure index, dose key) of one entry of ``budget.levers``."""
    key = f"budget.levers.{i}"
    if isinstance(entry, dict):
        if set(entry) - {"lever", "dose"} or "lever" not in entry:
            raise _fail(path, key, "a lever entry is a name or { lever = NAME, dose = KEY }")
        name, dose = entry["lever"], entry.get("dose")
    else:
        name, dose = entry, None
    types = [m.type for m in base.measures]
    if name.startswith("measures.") and name.removeprefix("measures.").isdigit():
        index = int(name.removeprefix("measures."))
        if index >= len(types):
            raise _fail(path, key, f"the base scenario has {len(types)} measure(s), so there is no {name}")
    else:
        found = [j for j, t in enumerate(types) if t == name]
        if not found:
            listed = ", ".join(f"measures.{j} ({t})" for j, t in enumerate(types)) or "none"
            raise _fail(
                path, key, f"no {name!r} measure in the base scenario (its measures: {listed}); add it there at a reference dose"
            )
        if len(found) > 1:
            raise _fail(
                path,
                key,
                f"the base scenario has {len(found)} {name} measures; name one as measures.N "
                f"({', '.join(f'measures.{j}' for j in found)})",
            )
        index = found[0]
    kind = types[index]
    dose = dose or DOSES.get(kind)
    if dose is None:
        raise _fail(
            path, key, f'a {kind} measure has no dose money could buy by default; name one: {{ lever = "{name}", dose = KEY }}'
        )
    params = base.measures[index]
    value = getattr(params, dose, None) if dose in type(params).model_fields else None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _fail(path, key, f"{dose!r} is not a numeric key of a {kind} measure")
    if value <= 0:
        raise _fail(
            path,
            key,
            f"measures.{index}.{dose} is {value:g} in the base scenario; the base gives the reference dose the money "
            "is priced at, so it must be positive",
        )
    return name, index, dose


def _fail(path: Path, key: str, reason: str):
    from .spec import OptimiseError

    return OptimiseError(f"{path}: {key}: {reason}")


def _pilot_spend(scenario_data: dict, firm: int, seed: int) -> float:
    """A firm's measure and fixed costs per period in one run (the pilot; see the module docstring)."""
    from ..results import run

    res = run(scenario_data, seed=seed)
    rows = res.periods[res.periods["firm"] == res.scenario.firms[firm].name]
    return float((rows["measure_costs"] + rows["fixed_costs"]).mean())


def plan_budget(budget, base, path: Path, searched: set[str], seed: int) -> BudgetPlan:
    """Check a ``[budget]`` table against the base scenario and price each lever's reference dose with
    the pilot runs; raises :class:`~sim.optimise.spec.OptimiseError` for the bad input listed in the
    module docstring. The pilots run on the first search seed of the study's ``seed``."""
    from ..compare import replication_seeds

    resolved = [_resolve(entry, base, path, i) for i, entry in enumerate(budget.levers)]
    names = [r[0] for r in resolved]
    if len(set(names)) < len(names) or len({r[1] for r in resolved}) < len(resolved):
        raise _fail(path, "budget.levers", "a lever is listed twice")
    for name, index, dose in resolved:
        key = f"measures.{index}.{dose}"
        if key in searched or f"measures.{index}" in searched:
            raise _fail(
                path,
                f"parameters.{key if key in searched else f'measures.{index}'}",
                f"is set by the budget (lever {name}); remove it from [parameters]",
            )
    seed = replication_seeds(seed, 1)[0]
    data = base.model_dump(mode="json")
    budget_measures = {index for _, index, _ in resolved}

    def without(keep: int | None) -> dict:
        return {**data, "measures": [m for j, m in enumerate(data["measures"]) if j not in budget_measures or j == keep]}

    levers = []
    for name, index, dose in resolved:
        params = base.measures[index]
        firm = base.firm_index(params.firm)
        reference = _pilot_spend(without(index), firm, seed) - _pilot_spend(without(None), firm, seed)
        horizon = base.simulation.periods
        fixed = params.fixed_cost * sum(params.schedule.is_active(t) for t in range(horizon)) / horizon
        variable = reference - fixed
        if variable <= 0:
            raise _fail(
                path,
                f"budget.levers ({name})",
                f"measures.{index} spends nothing per customer or event in the base scenario "
                f"(pilot run), so money cannot buy more of it",
            )
        levers.append(
            Lever(
                name, index, dose, float(getattr(params, dose)), float(fixed), float(variable), _upper(params, dose), params, base
            )
        )
    plan = BudgetPlan(float(budget.per_period), levers, budget.at_most)
    least = min(lv.fixed for lv in levers)
    if plan.per_period <= least and not plan.at_most:
        raise _fail(
            path,
            "budget.per_period",
            f"{plan.per_period:,.0f} a period does not cover any lever's fixed cost "
            f"(the smallest is {least:,.0f}), so no split is feasible",
        )
    most = sum(lv.most() for lv in levers)
    if plan.per_period > most * (1 + 1e-9) and not plan.at_most:
        raise _fail(
            path,
            "budget.per_period",
            f"{plan.per_period:,.0f} a period is more than the levers can spend at their "
            f"largest doses (about {most:,.0f}), so no split spends it; lower it or add levers",
        )
    return plan


__all__ = ["BudgetPlan", "DOSES", "Lever", "dose_for_money", "plan_budget"]
