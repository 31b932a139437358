"""One traced customer's story in words, from ``model.history(id)`` and ``model.customer(id)``.

Events that repeat every period (receiving a discount, the service programme, a nostalgia campaign)
are told once per uninterrupted run ("months 0 to 23: paid the discounted price"); everything else is
told when it happened. The last paragraph says where the customer stands now and why they stay: because
they want to (bond), because they must (contract, exit fee, lock-in), both, or neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..population import arrival_parts

RUNS = {
    "discount_received": "paid the discounted price",
    "service_received": "was looked after by the service programme",
    "nostalgia_received": "saw the nostalgia campaign",
}

WHY = {
    "bonded_only": "stays because they want to: bonded, and nothing holds them but that.",
    "both": "is bonded and attached at once: they want to stay, and leaving would also cost them.",
    "attached_only": (
        "stays because they must: held by switching barriers, not by a bond. When the barrier drops, they are likely to go."
    ),
    "neither": "is neither bonded nor attached: free to go, and staying only while nothing better comes along.",
}


@dataclass
class Story:
    """A customer's story: a headline, dated lines (month label, text) and where they stand now."""

    customer: int
    headline: str
    lines: list[tuple[str, str]]
    now: str


def _month(period: int, months: float) -> float:
    return period * months


def _when(a: int, b: int, months: float, unit: str) -> str:
    if a == b:
        return f"{unit.capitalize()} {_month(a, months):g}"
    return f"{unit.capitalize()}s {_month(a, months):g}–{_month(b, months):g}"


def _list_when(periods: list[int], months: float, unit: str) -> str:
    if len(periods) == 1:
        return _when(periods[0], periods[0], months, unit)
    ms = [f"{_month(p, months):g}" for p in periods]
    return f"{unit.capitalize()}s {', '.join(ms[:-1])} and {ms[-1]}"


def _between(lines: list[tuple[int, int, str, str]], a: int, b: int) -> bool:
    """Whether a run of repeated receipts starts strictly between periods a and b."""
    return any(a < p < b for p, _, _, _ in lines)


def _event_text(event: str, detail: str, months: float, first_period: int, initial: bool) -> str:
    if event == "joined":
        if initial and first_period == 0:
            return f"is a customer of {detail} when the story starts" if detail else "is a customer when the story starts"
        return f"joined {detail}" if detail else "joined a new firm"
    if event == "contract_signed":
        try:
            periods = int(detail.split()[0])
            return f"signed a {periods * months:g}-month contract"
        except (ValueError, IndexError):
            return "signed a contract"
    return {
        "incident": "had a service incident and did not complain",
        "complaint": f"had a service incident and complained; it was {detail or 'handled'}",
        "contract_renewed": "renewed the contract",
        "contract_expired": "reached the end of the contract and looked around",
        "considered_and_stayed": "looked at the alternatives, but stayed",
        "exit_fee_paid": "paid the exit fee to get out",
        "switched": f"switched to {detail}",
        "left_market": "stopped buying altogether (left the market)",
        "life_event": "left for a reason no firm influences (moved away, closed the business)",
    }.get(event, event.replace("_", " ") + (f" ({detail})" if detail else ""))


def name(cfg, customer: int) -> str:
    """How a trainer reads a customer's id: "Customer 1,234" (initial) or "Newcomer 1 of month 7 at
    Firm A" (see :func:`sim.population.arrival_id`)."""
    parts = arrival_parts(customer, len(cfg.segments))
    if parts is None:
        return f"Customer {customer:,}"
    period, firm, stream, place = parts
    how = "referred newcomer" if stream == len(cfg.segments) else "newcomer"
    month = _month(period, float(cfg.simulation.period_months))
    return f"{how.capitalize()} {place + 1:,} of month {month:g} at {cfg.firms[firm].name}"


def tell(model, customer: int) -> Story:
    """The story of traced customer ``customer`` so far."""
    cfg = model.config
    months = float(cfg.simulation.period_months)
    unit = "month"
    currency = cfg.simulation.currency
    history = model.history(customer)
    initial = customer < cfg.simulation.customers
    lines: list[tuple[int, int, str, str]] = []  # (sort period, 1 for a run of receipts, when, text)

    # repeated receipts: one line per uninterrupted run
    for event, text in RUNS.items():
        periods = sorted({h["period"] for h in history if h["event"] == event})
        start = prev = None
        for p in periods + [None]:
            if start is None:
                start = prev = p
                continue
            if p is not None and p == prev + 1:
                prev = p
                continue
            lines.append((start, 1, _when(start, prev, months, unit), text))
            start = prev = p

    first = history[0]["period"] if history else 0
    events_at: dict[int, set[str]] = {}
    for h in history:
        events_at.setdefault(h["period"], set()).add(h["event"])
    singles: list[tuple[int, str]] = []
    for h in history:
        e, p = h["event"], h["period"]
        at_expiry = events_at[p] & {"contract_expired", "contract_renewed"}
        if e in RUNS or (e == "considered_and_stayed" and at_expiry):
            continue
        text = _event_text(e, h["detail"], months, first, initial)
        if e == "contract_expired" and "considered_and_stayed" in events_at[p]:
            text = "reached the end of the contract, looked around, and stayed"
        if e == "contract_renewed":
            text = (
                "reached the end of the contract"
                + (", looked around, stayed" if "considered_and_stayed" in events_at[p] else "")
                + " and renewed it"
            )
        singles.append((p, text))
    # the same thing again with nothing else in between is told once: "Months 4, 6 and 10: ..."
    merged: list[tuple[list[int], str]] = []
    for p, text in singles:
        if merged and merged[-1][1] == text and p not in merged[-1][0] and not _between(lines, merged[-1][0][-1], p):
            merged[-1][0].append(p)
        else:
            merged.append(([p], text))
    for periods, text in merged:
        lines.append((periods[0], 0, _list_when(periods, months, unit), text))
    lines.sort(key=lambda x: x[:2])  # in a period, what happened (joining first) before what she kept receiving

    try:
        c = model.customer(customer)
    except (IndexError, KeyError):
        c = None
    if c is None or not history:
        return Story(customer, f"{name(cfg, customer)} has not arrived yet.", [], "")
    seg = c.get("segment")
    head = f"{name(cfg, customer)} ({seg} segment, born in the {c.get('cohort')})"
    if c.get("firm") is None:
        now = (f"Now (month {_month(model.period, months):g}): no longer a customer of any firm. "
               f"The value of the last relationship to its firm was {c.get('clv', 0.0):,.0f} {currency}.")
    else:
        tenure = c.get("tenure") or 0
        parts = [f"Now (month {_month(model.period, months):g}): with {c['firm']} for {tenure * months:g} months, "
                 f"in the {c.get('phase', '')} phase. Satisfaction {c['satisfaction']:.2f}, trust {c['trust']:.2f}, "
                 f"bond {c['bond']:.2f}, attachment {c['attachment']:.2f}."]
        barriers = []
        end = c.get("contract_end", -1)
        if end is not None and end > model.period and c.get("exit_fee", 0.0) > 0:
            barriers.append(f"a contract until month {_month(end, months):g} with an exit fee of {c['exit_fee']:,.0f} {currency}")
        if c.get("lockin", 0.0) > 0:
            barriers.append(f"technical lock-in worth {c['lockin']:,.0f} {currency}")
        if c.get("economic", 0.0) > 0:
            barriers.append(f"other benefits worth {c['economic']:,.0f} {currency} they would lose")
        if c.get("no_alternative"):
            barriers.append("no reachable competitor")
        loyalty = c.get("loyalty") or "neither"
        parts.append(f"This customer {WHY.get(loyalty, loyalty)}")
        if barriers:
            parts.append("Barriers: " + "; ".join(barriers) + ".")
        parts.append(f"Value to {c['firm']} so far (CLV): {c.get('clv', 0.0):,.0f} {currency}.")
        now = " ".join(parts)
    return Story(customer, head, [(when, text) for _, _, when, text in lines], now)
