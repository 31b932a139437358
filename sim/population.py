"""Customers: one row per customer in a set of numpy arrays (struct of arrays).

Each customer is an individual agent with its own traits and state, but the state lives in columns so
that a period is a handful of vectorised operations instead of a Python loop over customers. A
customer can still be inspected one at a time (:meth:`Customers.row`), and its history can be
recorded on request (:class:`History`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .mechanisms.bonding import phase
from .params import Scenario

OUT = -1  # firm code of a customer who has left the market

PHASES = ("first_purchase", "post_purchase", "repeat", "regular")

# column name -> dtype. Order is the order of the per-customer table.
COLUMNS: dict[str, type] = {
    # relationship state
    "firm": np.int16,          # current firm index, OUT (-1) = out of the market
    "joined": np.int16,        # period the customer entered the market
    "rel_start": np.int16,     # period the current relationship began
    "tenure": np.int16,        # periods with the current firm
    "satisfaction": np.float32,
    "trust": np.float32,
    "commitment": np.float32,
    "nostalgia": np.float32,   # bond boost from nostalgia campaigns, decays
    "bond": np.float32,        # derived each period from the four above
    "attachment": np.float32,  # derived each period from the barriers below
    "loyalty": np.int8,        # derived each period: 0 bonded only, 1 attached only, 2 both, 3 neither
    # attachment components (Gebundenheit)
    "contract_end": np.int16,  # period the contract expires; -1 = no contract
    "exit_fee": np.float32,    # money due on leaving before contract_end
    "forced": np.float32,      # experience lost per period while the contract holds (felt as forced)
    "lockin": np.float32,      # technical lock-in, money lost on switching
    "economic": np.float32,    # other forfeited benefits, money
    "no_alternative": np.bool_,
    # traits
    "segment": np.int8,
    "cohort": np.int8,
    "affinity": np.float32,    # nostalgia affinity in [0, 1]
    "fit": np.float32,         # how well the current firm's offer suits this customer (experience offset)
    "price_sensitivity": np.float32,
    "reference_price": np.float32,
    "churn_p": np.float32,     # background churn probability per period
    # this period's price and this relationship's accounting
    "price_paid": np.float32,
    "clv": np.float64,         # discounted margin minus attributed costs, current relationship
    "class_periods": np.int16,  # 4 columns: periods spent in each loyalty class (current relationship)
}

MULTI = {"class_periods": 4}


@dataclass
class Customers:
    """Column store of all customers who ever entered the market; rows are never reused."""

    capacity: int
    n: int = 0
    cols: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, dtype in COLUMNS.items():
            shape = (self.capacity, MULTI[name]) if name in MULTI else (self.capacity,)
            self.cols[name] = np.zeros(shape, dtype=dtype)

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    def __setattr__(self, name: str, value) -> None:
        # `customers.clv += x` must write into the column, not rebind an attribute to a stale view
        if name in COLUMNS and "cols" in self.__dict__:
            self.cols[name][: self.n] = value
        else:
            super().__setattr__(name, value)

    def grow(self, extra: int) -> slice:
        """Make room for ``extra`` new rows and return their slice (amortised doubling)."""
        need = self.n + extra
        if need > self.capacity:
            new_cap = max(need, int(self.capacity * 1.5) + 16)
            for name, arr in self.cols.items():
                grown = np.zeros((new_cap,) + arr.shape[1:], dtype=arr.dtype)
                grown[: self.n] = arr[: self.n]
                self.cols[name] = grown
            self.capacity = new_cap
        rows = slice(self.n, need)
        self.n = need
        return rows

    def active(self) -> np.ndarray:
        """Boolean mask of customers currently with some firm."""
        return self.firm >= 0

    def row(self, i: int, scenario: Scenario | None = None) -> dict:
        """One customer's full current state as a plain dict (labels resolved if a scenario is given)."""
        if not 0 <= i < self.n:
            raise IndexError(f"no customer {i} (there are {self.n})")
        out = {name: self.cols[name][i].tolist() for name in COLUMNS}
        out["id"] = i
        if scenario is not None:
            b = scenario.bonding
            out["phase"] = PHASES[int(phase(self.cols["tenure"][i : i + 1], self.cols["trust"][i : i + 1], b.post_purchase_periods, b.regular_tenure)[0])]
            out["firm"] = None if out["firm"] == OUT else scenario.firms[out["firm"]].name
            out["segment"] = scenario.segments[out["segment"]].name
            out["cohort"] = cohort_names(scenario)[out["cohort"]]
        return out

    def state_bytes(self) -> int:
        """Bytes of state per customer row (all columns)."""
        return sum(arr[:1].nbytes for arr in self.cols.values())


def cohort_names(scenario: Scenario) -> list[str]:
    """All cohort labels across segments, in first-seen order (cohort codes index this list)."""
    names: list[str] = []
    for seg in scenario.segments:
        names += [c for c in seg.cohorts if c not in names]
    return names


def draw_traits(customers: Customers, rows: slice, scenario: Scenario, rng: np.random.Generator) -> None:
    """Draw segment, cohort, traits and initial state for new rows ``rows`` (firm is set by the caller)."""
    k = rows.stop - rows.start
    shares = np.array([s.share for s in scenario.segments], dtype=float)
    seg = rng.choice(len(shares), size=k, p=shares / shares.sum()).astype(np.int8)
    c = customers.cols
    c["segment"][rows] = seg
    all_cohorts = cohort_names(scenario)
    for s_idx, s in enumerate(scenario.segments):
        idx = np.flatnonzero(seg == s_idx) + rows.start
        m = idx.size
        if m == 0:
            continue
        cw = np.array([s.cohorts.get(name, 0.0) for name in all_cohorts])
        c["cohort"][idx] = rng.choice(len(all_cohorts), size=m, p=cw / cw.sum())
        c["affinity"][idx] = rng.beta(*s.nostalgia_affinity, size=m)
        c["fit"][idx] = rng.normal(0.0, s.fit_sd, size=m)
        c["price_sensitivity"][idx] = rng.gamma(1 / 0.09, 0.09 * s.price_sensitivity, size=m)  # CV 0.3
        c["satisfaction"][idx] = np.clip(rng.normal(s.initial_satisfaction, 0.1, size=m), 0, 1)
        c["trust"][idx] = np.clip(rng.normal(s.initial_trust, 0.1, size=m), 0, 1)
        c["economic"][idx] = s.economic_barrier
        c["no_alternative"][idx] = rng.random(m) < s.no_alternative_share
        bc = s.background_churn
        c["churn_p"][idx] = bc.p if bc.distribution == "fixed" else rng.beta(bc.alpha, bc.beta, size=m)
    c["commitment"][rows] = 0.0
    c["nostalgia"][rows] = 0.0
    c["lockin"][rows] = 0.0
    c["contract_end"][rows] = -1
    c["exit_fee"][rows] = 0.0


@dataclass
class History:
    """Event log for a chosen set of customers (recorded on request; logging everyone would not scale)."""

    ids: np.ndarray
    events: list[tuple[int, int, str, str]] = field(default_factory=list)

    def record(self, period: int, who: np.ndarray, event: str, detail: np.ndarray | str | None = None) -> None:
        """Append ``event`` for each traced customer in ``who``: a boolean mask over all rows, or an
        array of row indices. ``detail`` is one text for all, or an array over all rows."""
        if who.dtype == np.bool_:
            ids = self.ids[self.ids < who.size]
            hit = ids[who[ids]]
        else:
            hit = np.intersect1d(self.ids, who)
        for i in hit:
            d = "" if detail is None else str(detail[i] if isinstance(detail, np.ndarray) else detail)
            self.events.append((period, int(i), event, d))

    def of(self, i: int) -> list[dict]:
        """Events of customer ``i`` in time order."""
        return [dict(period=p, event=e, detail=d) for p, c, e, d in self.events if c == i]
