"""The retention model: a ``mesa.Model`` whose customers live in arrays and whose firms are agents."""

from __future__ import annotations

from typing import Any, Iterable

import mesa
import numpy as np

from . import kernels
from . import measures as measures_mod
from .mechanisms import accounting, attachment, bonding, choice, experience
from .params import LOYALTY_CLASSES, Scenario
from .population import OUT, Customers, History, draw_traits
from .scenario import load

# per-firm figures recorded every period (one row per period and firm in the output table)
FIRM_STATS = (
    "active", "cohort_active", "acquired", "switched_in", "switched_out", "left_market", "churned",
    "renewals", "revenue", "discounts", "exit_fees", "serving_costs", "measure_costs",
    "acquisition_costs", "profit", "mean_satisfaction", "mean_bond", "mean_attachment",
) + tuple(f"share_{k}" for k in LOYALTY_CLASSES)

# why a relationship ended
END_REASONS = ("switched", "left_market", "background", "censored")


def _ext(per_firm: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Per-firm values with one extra entry for rows that have no firm (index ``len(per_firm)``)."""
    return np.append(per_firm, np.asarray(fill, dtype=per_firm.dtype))


class Firm(mesa.Agent):
    """A firm (the first in the scenario is the focal firm): parameters, measures and period figures."""

    def __init__(self, model: "RetentionModel", index: int, params):
        super().__init__(model)
        self.index = index
        self.name = params.name
        self.params = params
        self.measures = [m for m in model.measures if m.firm == index]
        self.period = 0
        self.reset_stats()

    def reset_stats(self) -> None:
        """Zero this period's figures."""
        for key in FIRM_STATS:
            setattr(self, key, 0.0)

    def close_books(self) -> None:
        """Derive churn and profit once the period's flows are in."""
        self.churned = self.switched_out + self.left_market
        self.profit = self.revenue + self.exit_fees - self.serving_costs - self.measure_costs - self.acquisition_costs


class RetentionModel(mesa.Model):
    """Customers who stay because they want to (bonded) or because they must (attached).

    One step is one period (``simulation.period_months`` months). Customers are rows of
    :class:`~sim.population.Customers`; firms are :class:`Firm` agents. Every random draw comes from
    numpy Generators spawned from one ``SeedSequence(seed)``, one stream per mechanism, so switching
    a measure on or off does not shift the random numbers of the others (common random numbers).

    Parameters
    ----------
    scenario : path, shipped scenario name, dict or :class:`~sim.params.Scenario`
        The scenario; ``None`` is the shipped default.
    rng : int, optional
        The seed (Mesa's name for it, so ``mesa.batch_run`` works); default ``simulation.seed``.
    trace : iterable of int
        Customer ids whose history is recorded (see :meth:`history`).
    engine : {"auto", "fused", "numpy"}
        How the per-row middle of a period is computed: the compiled kernel of :mod:`sim.kernels`
        ("fused"), or the numpy mechanism functions ("numpy", the reference). "auto" uses the kernel
        when numba is installed and no customer is traced (histories are recorded by the numpy path).
    **overrides
        Dotted scenario keys, e.g. ``**{"simulation.customers": 1000}``.

    Example
    -------
    >>> m = RetentionModel("telecom", rng=1, **{"simulation.customers": 200, "simulation.periods": 3})
    >>> m.run()
    >>> m.period
    3
    """

    def __init__(self, scenario: Any = None, rng: int | None = None, trace: Iterable[int] = (), engine: str = "auto", **overrides: Any):
        self.config: Scenario = load(scenario, overrides)
        sc = self.config
        self.seed = int(sc.simulation.seed if rng is None else rng)
        super().__init__(rng=self.seed)
        streams = np.random.SeedSequence(self.seed).spawn(6)
        (self.rng_init, self.rng_arrivals, self.rng_experience,
         self.rng_choice, self.rng_churn, self.rng_measures) = (np.random.default_rng(s) for s in streams)

        self.period = 0
        self.on = sc.mechanisms
        self.measures = measures_mod.build(sc) if self.on.measures else []
        self.firms = [Firm(self, i, f) for i, f in enumerate(sc.firms)]
        self.base_price = np.array([f.price for f in sc.firms], dtype=np.float32)
        self.unit_cost = np.array([f.unit_cost for f in sc.firms], dtype=np.float32)
        self.base_quality = np.array([f.service_quality for f in sc.firms], dtype=np.float32)
        self.base_handling = np.array([f.complaint_handling for f in sc.firms], dtype=np.float32)
        self.arrival_rate = np.array([f.acquisition_spend / f.cost_per_acquisition for f in sc.firms])
        self.seg_lockin_growth = np.array([s.lockin_growth for s in sc.segments], dtype=np.float32)
        self.seg_lockin_max = np.array([s.lockin_max for s in sc.segments], dtype=np.float32)
        self.seg_trust = np.array([s.initial_trust for s in sc.segments], dtype=np.float32)
        self.seg_fit_sd = np.array([s.fit_sd for s in sc.segments])
        self.list_price = self.base_price.copy()
        self.df_table = accounting.discount_factor(np.arange(sc.simulation.periods + 1), sc.simulation.discount_rate)

        expected = sc.simulation.customers + (self.arrival_rate.sum() * sc.simulation.periods if self.on.arrivals else 0)
        self.customers = Customers(capacity=int(expected * 1.05) + 16)
        self.n_initial = sc.simulation.customers
        self._history = History(np.unique(np.asarray(list(trace), dtype=np.int64)))
        if engine not in ("auto", "fused", "numpy"):
            raise ValueError(f"engine must be 'auto', 'fused' or 'numpy', got {engine!r}")
        if engine == "fused" and not kernels.HAVE_NUMBA:
            raise ValueError("engine 'fused' needs numba, which is not installed")
        self.fused = engine == "fused" or (engine == "auto" and kernels.HAVE_NUMBA and not self.tracing)
        self._kernel_params = kernels.parameter_vector(sc)
        self._ended: list[dict[str, np.ndarray]] = []
        self._add_customers(self._initial_firms(), joined=0, rng=self.rng_init)
        self._derive_state(0, advance=False)
        self.datacollector = mesa.DataCollector(
            model_reporters={"customers": lambda m: int(m.customers.active().sum())},
            agent_reporters={"period": "period", **{k: k for k in FIRM_STATS}},
        )

    # ------------------------------------------------------------------ set-up
    def _initial_firms(self) -> np.ndarray:
        shares = np.array([f.initial_share for f in self.config.firms], dtype=float)
        return self.rng_init.choice(len(shares), size=self.config.simulation.customers, p=shares / shares.sum())

    def _add_customers(self, firms: np.ndarray, joined: int, rng: np.random.Generator) -> slice:
        """Append new customers who start a relationship with ``firms`` in period ``joined``."""
        c = self.customers
        rows = c.grow(firms.size)
        draw_traits(c, rows, self.config, rng)
        c.cols["firm"][rows] = firms
        c.cols["joined"][rows] = joined
        c.cols["rel_start"][rows] = joined
        c.cols["tenure"][rows] = 0
        c.cols["reference_price"][rows] = self.base_price[firms]
        c.cols["clv"][rows] = -np.array([f.cost_per_acquisition for f in self.config.firms])[firms] if joined > 0 else 0.0
        if self.tracing:
            self.trace(joined, np.arange(rows.start, rows.stop), "joined", self.firm_names(firms, rows))
        return rows

    def firm_names(self, codes: np.ndarray, rows: slice | None = None) -> np.ndarray:
        """Firm names for firm codes, aligned with all rows when ``rows`` says where ``codes`` sit."""
        names = np.array([f.name for f in self.config.firms] + ["(out of market)"], dtype=object)
        if rows is None:
            return names[codes]
        full = np.empty(self.customers.n, dtype=object)
        full[rows] = names[codes]
        return full

    # ------------------------------------------------------------------ the period
    def step(self) -> None:
        """One period, in this order (see docs/model.md, 'Process overview and scheduling'):

        1. measures act (prices, discounts, service, contracts signed, campaigns) and cost money;
        2. margin is booked for every active customer (start-of-period convention);
        3. experiences (incidents, complaints, price fairness) update satisfaction;
        4. satisfaction builds trust and commitment; bond decays without reinforcement;
        5. barriers are summed into attachment; every customer is classified bonded x attached;
        6. customers weigh staying against the best alternative (stochastic choice);
        7. background churn (life events);
        8. contracts expire or renew;
        9. ended relationships are closed, switchers start with their new firm next period;
        10. new customers arrive for the next period.
        """
        t = self.period
        c, nf = self.customers, len(self.firms)
        act = c.active()
        self.fidx = np.where(act, c.firm, nf).astype(np.intp)  # firm per row, nf for "none"
        self.new_rows = np.flatnonzero(act & (c.tenure == 0))  # relationships in their first period
        for f in self.firms:
            f.reset_stats()
            f.period = t
        per_customer_cost = self._apply_measures(t, act)
        if self.fused:
            considering = self._fused_middle(t, per_customer_cost)
        else:
            self._count_active(act)
            self._book_margin(t, act, per_customer_cost)
            if self.on.experience:
                self._experience(t, act)
            if self.on.bonding:
                self._bonding(t, act)
            self._derive_state(t, act)
            considering = self._considering(t, act) if self.on.choice else None
        leave_to = self._choose(t, considering) if self.on.choice else np.full(c.n, -2, dtype=np.int16)
        if self.on.background_churn:
            bg = choice.background_leave(self.rng_churn.random(c.n), c.churn_p)
            bg &= act
            bg &= leave_to == -2
            leave_to[bg] = -3
        stayed = act & (leave_to == -2)
        self._settle_contracts(t, stayed)
        self._close_relationships(t, act, leave_to)
        if self.on.arrivals:
            self._arrive(t)
        for f in self.firms:
            f.close_books()
        self.datacollector.collect(self)
        self.period += 1
        if self.period >= self.config.simulation.periods:
            self.running = False

    def run(self, progress: bool = False) -> None:
        """Run to the scenario's horizon (optionally with a progress bar)."""
        periods = range(self.period, self.config.simulation.periods)
        if progress:
            from tqdm import tqdm

            periods = tqdm(periods, desc=self.config.name, unit="period")
        for _ in periods:
            self.step()

    # ------------------------------------------------------------------ steps
    def _count_active(self, act: np.ndarray) -> None:
        c, nf = self.customers, len(self.firms)
        active = np.bincount(self.fidx, minlength=nf + 1)
        first = slice(0, self.n_initial)
        cohort = (c.firm[first] >= 0) & (c.rel_start[first] == 0)
        cohort_active = np.bincount(c.firm[first][cohort], minlength=nf)
        for f in self.firms:
            f.active, f.cohort_active = int(active[f.index]), int(cohort_active[f.index])

    def _apply_measures(self, t: int, act: np.ndarray) -> np.ndarray:
        c, n = self.customers, self.customers.n
        firm = self.fidx
        self.list_price = self.base_price.copy()
        self.quality = _ext(self.base_quality)[firm]
        self.handling = _ext(self.base_handling)[firm]
        cost = np.zeros(n, dtype=np.float32)
        paid_set = False
        for m in self.measures:
            if m.order >= 20 and not paid_set:
                c.price_paid[:] = _ext(self.list_price, 1.0)[firm]
                paid_set = True
            reached = m.act(self, t)
            if reached is None:
                continue
            reached &= act
            self.firms[m.firm].measure_costs += m.cost(int(np.count_nonzero(reached)))
            if m.per_customer_cost():
                np.add(cost, m.per_customer_cost(), out=cost, where=reached)
            if self.tracing and m.kind in ("discount", "service", "nostalgia"):
                self.trace(t, reached, f"{m.kind}_received")
        if not paid_set:
            c.price_paid[:] = _ext(self.list_price, 1.0)[firm]
        return cost

    def _book_margin(self, t: int, act: np.ndarray, per_customer_cost: np.ndarray) -> None:
        c, nf = self.customers, len(self.firms)
        unit = _ext(self.unit_cost)[self.fidx]
        df = self.df_table[t - c.rel_start]  # inactive rows get a weight of zero below
        c.clv += (c.price_paid - unit - per_customer_cost) * (df * act)
        self._firm_books(np.bincount(self.fidx, weights=c.price_paid, minlength=nf + 1))

    def _firm_books(self, revenue: np.ndarray) -> None:
        for f in self.firms:
            i = f.index
            f.revenue = float(revenue[i])
            f.discounts = float(self.list_price[i]) * f.active - f.revenue
            f.serving_costs = float(self.unit_cost[i]) * f.active

    def _experience(self, t: int, act: np.ndarray) -> None:
        c, x, n = self.customers, self.config.experience, self.customers.n
        u = self.rng_experience.random(n, dtype=np.float32)
        z = self.rng_experience.standard_normal(n, dtype=np.float32)
        incident, complained, handled = experience.service_events(u, x.incident_rate * (1 - self.quality), x.complaint_prob, self.handling)
        felt = experience.price_feeling(c.price_paid, c.reference_price, c.price_sensitivity, x.price_weight, x.loss_aversion)
        forced = np.where(c.contract_end > t, c.forced, np.float32(0)) if self.on.attachment else 0.0
        e = experience.experience(self.quality + c.fit, z, x.noise, incident, handled, x.incident_experience, x.recovery_bonus, felt, forced)
        np.copyto(c.satisfaction, experience.update_satisfaction(c.satisfaction, e, x.satisfaction_rate), where=act, casting="unsafe")
        np.copyto(c.reference_price, experience.update_reference(c.reference_price, c.price_paid, x.reference_rate), where=act, casting="unsafe")
        if self.tracing:
            self.trace(t, act & incident & ~complained, "incident")
            self.trace(t, act & complained, "complaint", np.where(handled, "handled well", "handled badly"))

    def _bonding(self, t: int, act: np.ndarray) -> None:
        c, b = self.customers, self.config.bonding
        np.copyto(c.trust, bonding.update_trust(c.trust, c.satisfaction, b.trust_gain, b.trust_loss), where=act, casting="unsafe")
        np.copyto(c.commitment, bonding.update_commitment(c.commitment, c.trust, b.commitment_rate, b.commitment_decay), where=act, casting="unsafe")
        np.copyto(c.nostalgia, bonding.decay(c.nostalgia, b.nostalgia_decay), where=act, casting="unsafe")

    def _derive_state(self, t: int, act: np.ndarray | None = None, advance: bool = True) -> None:
        """Bond, lock-in, attachment and loyalty class from the current state. With
        ``advance`` (every period, not at set-up) lock-in grows and the class is counted."""
        c, sc = self.customers, self.config
        b = sc.bonding
        if act is None:
            act = c.active()
        # departed customers keep the state they left with
        bond = bonding.bond_score(c.satisfaction, c.trust, c.commitment, c.nostalgia, b.weight_satisfaction, b.weight_trust, b.weight_commitment)
        np.copyto(c.bond, bond, where=act, casting="unsafe")
        if self.on.attachment:
            if advance:
                grown = attachment.grow_lockin(c.lockin, self.seg_lockin_growth[c.segment], self.seg_lockin_max[c.segment])
                np.copyto(c.lockin, grown, where=act)
            cost = attachment.switching_cost(attachment.exit_fee_due(c.contract_end, c.exit_fee, t), c.lockin, c.economic)
            price = self.list_price[np.maximum(c.firm, 0)]
            np.copyto(c.attachment, attachment.attachment_score(cost, price, sc.attachment.barrier_scale, c.no_alternative), where=act)
        else:
            c.attachment[act] = 0.0
        np.copyto(c.loyalty, attachment.classify(c.bond, c.attachment, b.bonded_threshold, sc.attachment.attached_threshold), where=act)
        if advance:
            flat = c.cols["class_periods"].reshape(-1)
            flat[np.arange(0, 4 * c.n, 4) + c.loyalty] += act  # one (row, class) cell per row
            self._firm_means(act)

    def _firm_means(self, act: np.ndarray) -> None:
        c, nf = self.customers, len(self.firms)
        sums = {k: np.bincount(self.fidx, weights=getattr(c, k), minlength=nf + 1) for k in ("satisfaction", "bond", "attachment")}
        classes = np.bincount(self.fidx * 4 + c.loyalty, minlength=4 * (nf + 1)).reshape(nf + 1, 4)
        self._firm_state_means(np.bincount(self.fidx, minlength=nf + 1), sums, classes)

    def _firm_state_means(self, count: np.ndarray, sums: dict, classes: np.ndarray) -> None:
        count = np.maximum(count, 1)
        means = {k: v / count[: v.size] for k, v in sums.items()}
        shares = classes / count[: classes.shape[0], None]
        for f in self.firms:
            i = f.index
            f.mean_satisfaction, f.mean_bond, f.mean_attachment = (float(means[k][i]) for k in ("satisfaction", "bond", "attachment"))
            for k, name in enumerate(LOYALTY_CLASSES):
                setattr(f, f"share_{name}", float(shares[i, k]))

    def _considering(self, t: int, act: np.ndarray) -> np.ndarray:
        """Mask of customers who look at alternatives this period."""
        c, ch, n = self.customers, self.config.choice, self.customers.n
        expiring = (c.contract_end == t + 1) if self.on.attachment else np.zeros(n, dtype=bool)
        p = choice.consideration(c.satisfaction, expiring, ch.base_consideration, ch.dissatisfaction_consideration, ch.expiry_consideration)
        considering = self.rng_choice.random(n, dtype=np.float32) < p
        considering &= act
        return considering

    def _fused_middle(self, t: int, per_customer_cost: np.ndarray) -> np.ndarray:
        """Steps 2-5 and the consideration draw in one compiled pass (see :mod:`sim.kernels`)."""
        c, n, nf = self.customers, self.customers.n, len(self.firms)
        empty = np.empty(0, dtype=np.float32)
        u_exp = self.rng_experience.random(n, dtype=np.float32) if self.on.experience else empty
        z = self.rng_experience.standard_normal(n, dtype=np.float32) if self.on.experience else empty
        u_cons = self.rng_choice.random(n, dtype=np.float32) if self.on.choice else empty
        considering = np.zeros(n, dtype=bool)
        sums = np.zeros((nf, len(kernels.SUMS)))
        flags = (self.on.experience, self.on.bonding, self.on.attachment, self.on.choice)
        kernels.fused_period(
            t, self.n_initial, flags, self._kernel_params, c.firm, c.rel_start, c.satisfaction, c.trust,
            c.commitment, c.nostalgia, c.bond, c.attachment, c.loyalty, c.contract_end, c.exit_fee, c.lockin,
            c.economic, c.no_alternative, c.segment, c.fit, c.price_sensitivity, c.reference_price, c.price_paid,
            c.clv, c.cols["class_periods"][:n], self.quality, self.handling, c.forced, per_customer_cost,
            u_exp, z, u_cons, self.unit_cost, self.list_price, self.df_table, self.seg_lockin_growth,
            self.seg_lockin_max, considering, sums)
        for f in self.firms:
            f.active, f.cohort_active = int(sums[f.index, 0]), int(sums[f.index, 1])
        self._firm_books(sums[:, 2])
        self._firm_state_means(sums[:, 0], {"satisfaction": sums[:, 3], "bond": sums[:, 4], "attachment": sums[:, 5]}, sums[:, 6:10])
        return considering

    def _choose(self, t: int, considering: np.ndarray) -> np.ndarray:
        """What considering customers pick. Returns per row: -2 stay, the firm index of a switch, or
        -1 for leaving the market."""
        c, ch, n = self.customers, self.config.choice, self.customers.n
        leave_to = np.full(n, -2, dtype=np.int16)
        idx = np.flatnonzero(considering)
        if idx.size == 0:
            return leave_to
        nf, x = len(self.firms), self.config.experience
        cur = c.firm[idx].astype(np.intp)
        ref, sens = c.reference_price[idx][:, None], c.price_sensitivity[idx][:, None]
        price_cur = self.list_price[cur]
        if self.on.attachment:
            fee = attachment.exit_fee_due(c.contract_end[idx], c.exit_fee[idx], t)
            cost = attachment.switching_cost(fee, c.lockin[idx], c.economic[idx]) * self.config.attachment.cost_perception
        else:
            cost = np.zeros(idx.size, dtype=np.float32)
        barrier = ch.switching_cost_coef * cost / price_cur
        util = np.empty((idx.size, nf + 1), dtype=np.float64)
        util[:, :nf] = ch.quality_coef * self.base_quality[None, :] + ch.price_coef * experience.price_feeling(self.list_price[None, :], ref, sens, 1.0, x.loss_aversion) - barrier[:, None]
        util[:, nf] = ch.outside_utility - barrier
        rows = np.arange(idx.size)
        stay_felt = experience.price_feeling(c.price_paid[idx], ref[:, 0], sens[:, 0], 1.0, x.loss_aversion)
        util[rows, cur] = ch.quality_coef * self.quality[idx] + ch.price_coef * stay_felt + ch.bond_coef * c.bond[idx]
        available = np.ones_like(util, dtype=bool)
        available[c.no_alternative[idx] if self.on.attachment else np.zeros(idx.size, bool), :nf] = False
        available[rows, cur] = True
        pick = choice.logit_pick(util, available, self.rng_choice.random(util.shape))
        decision = np.where(pick == cur, -2, np.where(pick == nf, -1, pick))
        leave_to[idx] = decision
        if self.tracing:
            self.trace(t, considering & (leave_to == -2), "considered_and_stayed")
        return leave_to

    def _settle_contracts(self, t: int, stayed: np.ndarray) -> None:
        if not self.on.attachment:
            return
        c = self.customers
        for m in self.measures:
            if isinstance(m, measures_mod.Contract):
                renew = m.settle(self, t, stayed)
                if renew.size:
                    self.firms[m.firm].renewals += renew.size
                    self.firms[m.firm].measure_costs += renew.size * m.per_customer_cost()
                    c.clv[renew] -= m.per_customer_cost() * self.df_table[t - c.rel_start[renew]]

    def _close_relationships(self, t: int, act: np.ndarray, leave_to: np.ndarray) -> None:
        c, nf = self.customers, len(self.firms)
        idx = np.flatnonzero(leave_to != -2)  # every ending relationship (leave_to is -2 for stayers)
        dest = leave_to[idx]
        firm = c.firm[idx].astype(np.intp)
        if self.on.attachment:  # exit fees are paid by whoever leaves under contract
            fee = attachment.exit_fee_due(c.contract_end[idx], c.exit_fee[idx], t)
            c.clv[idx] += fee * self.df_table[t - c.rel_start[idx]]
            fees = np.bincount(firm, weights=fee, minlength=nf)
            for f in self.firms:
                f.exit_fees = float(fees[f.index])
        reason = np.where(dest >= 0, 0, np.where(dest == -1, 1, 2))
        self._ended.append(self._relationship_rows(idx, t, reason))
        sw = dest >= 0
        so = np.bincount(firm[sw], minlength=nf)
        si = np.bincount(dest[sw], minlength=nf)
        lm = np.bincount(firm[~sw], minlength=nf)
        for f in self.firms:
            f.switched_out, f.switched_in, f.left_market = int(so[f.index]), int(si[f.index]), int(lm[f.index])
        if self.tracing:
            detail = np.where(dest >= 0, self.firm_names(np.maximum(dest, 0)),
                              np.where(dest == -1, "left the market (choice)", "left the market (life event)"))
            full = np.empty(c.n, dtype=object)
            full[idx] = detail
            self.trace(t, leave_to >= 0, "switched", full)
            self.trace(t, (leave_to != -2) & (leave_to < 0), "left", full)
        c.tenure += act  # stayers age by one period; enders are frozen (undone below)
        c.tenure[idx] -= 1
        out, swi = idx[~sw], idx[sw]
        c.firm[out] = OUT
        if swi.size:
            c.firm[swi] = dest[sw]
            c.rel_start[swi] = t + 1
            c.tenure[swi] = 0
            c.trust[swi] = self.seg_trust[c.segment[swi]]
            c.fit[swi] = self.rng_choice.normal(0.0, self.seg_fit_sd[c.segment[swi]]).astype(np.float32)
            for name in ("commitment", "nostalgia", "lockin", "exit_fee", "forced", "clv", "class_periods"):
                c.cols[name][swi] = 0
            c.contract_end[swi] = -1

    def _relationship_rows(self, idx: np.ndarray, t: int, reason: np.ndarray | int) -> dict[str, np.ndarray]:
        """Columns describing the relationships of customers ``idx`` that end in period ``t``."""
        c = self.customers
        return {
            "customer": idx.astype(np.int64),
            "firm": c.firm[idx].copy(),
            "start": c.rel_start[idx].copy(),
            "end": np.full(idx.size, t, dtype=np.int16),
            "clv": c.clv[idx].copy(),
            "loyalty_class": np.argmax(c.cols["class_periods"][idx], axis=1).astype(np.int8),
            "segment": c.segment[idx].copy(),
            "reason": np.broadcast_to(np.asarray(reason, dtype=np.int8), idx.shape).copy(),
        }

    def _arrive(self, t: int) -> None:
        counts = self.rng_arrivals.poisson(self.arrival_rate)
        if counts.sum() == 0:
            return
        firms = np.repeat(np.arange(len(self.firms)), counts)
        self._add_customers(firms, joined=t + 1, rng=self.rng_arrivals)
        for f in self.firms:
            f.acquired = int(counts[f.index])
            f.acquisition_costs = counts[f.index] * f.params.cost_per_acquisition

    # ------------------------------------------------------------------ inspection
    @property
    def tracing(self) -> bool:
        """True if some customers' histories are being recorded."""
        return bool(self._history.ids.size)

    def trace(self, period: int, who: np.ndarray, event: str, detail: Any = None) -> None:
        """Record ``event`` for traced customers in ``who`` (a row mask or row indices); no-op when
        nobody is traced."""
        if self.tracing:
            self._history.record(period, who, event, detail)

    def customer(self, i: int) -> dict:
        """Customer ``i``'s current state, with names resolved."""
        return self.customers.row(i, self.config)

    def history(self, i: int) -> list[dict]:
        """What happened to customer ``i`` (only for customers passed in ``trace``)."""
        if i not in set(self._history.ids.tolist()):
            raise KeyError(f"customer {i} was not traced; pass trace=[{i}] when building the model")
        return self._history.of(i)

    def relationships(self) -> dict[str, np.ndarray]:
        """All relationships: the ended ones and, censored at the horizon, the running ones."""
        running = np.flatnonzero(self.customers.active())
        parts = self._ended + [self._relationship_rows(running, self.period - 1, END_REASONS.index("censored"))]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

