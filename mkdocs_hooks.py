"""MkDocs hooks: the parts of the site that are computed when it is built.

- **Lessons.** Every numbered notebook ``notebooks/0?_*.ipynb`` is added to the "Lessons" section of the
  navigation (mkdocs-jupyter renders it from ``notebooks/``, mounted as ``lessons/``), and the marker
  ``<!-- lessons -->`` in ``docs/lessons.md`` is replaced by a list of them with what each covers and
  the question it answers. A new lesson needs no change here or in ``mkdocs.yml``.
- **Scenarios.** Every shipped scenario gets a page ``scenarios/<name>.md``, added to the "Scenarios"
  section: its question, the answer in numbers from running it at a modest size with a fixed seed (stated
  on the page), headline figures per firm and the scenario file. The runs use only the package's public
  API (``sim.run``, ``sim.load``, ``sim.shipped_scenarios``). The marker ``<!-- scenarios -->`` in
  ``docs/scenarios.md`` is replaced by a list of them.

- **Validation.** ``validation.md`` is generated from the pattern suite (:mod:`sim.patterns`): every
  pattern's source, scenario, how it is measured and its target, beside the figures of the last full run
  of ``benchmarks/patterns.py`` (``docs/validation.csv``, with its date; a pattern without a recorded
  figure says so).

The scenario numbers are computed at build time rather than committed, so the pages always describe
the engine the site was built from; the full pattern suite takes too long for that and is recorded.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent
NOTEBOOKS = ROOT / "notebooks"
SEED = 1
CUSTOMERS = 5000  # per scenario page: a modest size, so that the site builds in seconds
LESSONS_MARKER = "<!-- lessons -->"
SCENARIOS_MARKER = "<!-- scenarios -->"


# ------------------------------------------------------------------------------------------ lessons
def lessons() -> list[dict]:
    """One record per numbered notebook: file, number, title, short title, covers, question."""
    out = []
    for path in sorted(NOTEBOOKS.glob("0?_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "".join(cells[0]["source"]) if cells and cells[0]["cell_type"] == "markdown" else ""
        title = re.search(r"^#\s+(.+)$", text, re.M)
        title = title.group(1).strip() if title else path.stem
        out.append({
            "file": path.name,
            "number": path.name[:2],
            "title": title,
            "short": title.split(":")[0],
            "covers": _paragraph(text, "Covers"),
            "question": _paragraph(text, "Question"),
        })
    return out


def _paragraph(text: str, label: str) -> str:
    """The paragraph that starts with ``*label:*`` (one line, label removed)."""
    for par in re.split(r"\n\s*\n", text):
        m = re.match(rf"\s*\*{label}:\*\s*(.*)", par, re.S)
        if m:
            return " ".join(m.group(1).split())
    return ""


def lessons_markdown() -> str:
    lines = []
    for lesson in lessons():
        lines += [f"### [{lesson['title']}](lessons/{lesson['file']})", "",
                  f"*Covers:* {lesson['covers']}", "", f"*Question:* {lesson['question']}", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ scenarios
def _fmt(x, kind: str = "pct") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if kind == "pct":
        return f"{100 * x:.1f} %"
    if kind == "pp":
        return f"{100 * x:+.1f} points"
    if kind == "money":
        return f"{x:,.0f}"
    return f"{x:g}"


def _firm(res, firm: str):
    return res.periods[res.periods["firm"] == firm].set_index("period")


def _churn(res, firm: str, first: int, last: int) -> float:
    p = _firm(res, firm).loc[first:last]
    return float(p["churned"].sum() / p["active"].sum())


def _alive(res, firm: str, period: int):
    """Per month-0 customer of ``firm``: whether her first relationship still runs at the start of ``period``."""
    rel = res.relationships
    first = rel[(rel["start"] == 0) & (rel["firm"] == firm)]
    return ((first["end"] >= period) | first["censored"]).groupby(first["customer"]).any()


def _retention(res, firm: str, period: int) -> tuple[float, float]:
    """Retention of the firm's month-0 customers at ``period`` and its binomial standard error."""
    a = _alive(res, firm, period)
    r = float(a.mean())
    return r, math.sqrt(r * (1 - r) / len(a))


def _paired(res_a, res_b, firm: str, period: int) -> tuple[float, float]:
    """Retention difference a - b at ``period`` over the same month-0 customers, and its paired standard error."""
    a, b = _alive(res_a, firm, period), _alive(res_b, firm, period)
    both = a.index.intersection(b.index)
    d = a[both].astype(float).to_numpy() - b[both].astype(float).to_numpy()
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))


def _horizon(sc) -> str:
    """'60 months', or '20 periods of 3 months'."""
    pm = sc.simulation.period_months
    return f"{sc.simulation.periods} months" if pm == 1 else f"{sc.simulation.periods} periods of {pm:g} months"


def _months(res) -> list[int]:
    """Whole years up to the horizon (1, 2, 3, 5, 10 years) and the horizon itself, in periods."""
    horizon = res.scenario.simulation.periods
    return sorted({m for m in (12, 24, 36, 60, 120) if m <= horizon} | {horizon})


def _compare_table(firm: str, runs: dict, base: str) -> list[str]:
    """Retention at several months, churn and profit for named runs, with paired differences to ``base``."""
    months = _months(runs[base])
    head = "| | " + " | ".join(f"retention month {m}" for m in months) + " | customers at the end | profit over the run |"
    lines = [head, "|---" * (len(months) + 3) + "|"]
    for name, res in runs.items():
        cells = []
        for m in months:
            r, se = _retention(res, firm, m)
            cell = f"{100 * r:.1f} ± {100 * se:.1f} %"
            if name != base:
                d, dse = _paired(res, runs[base], firm, m)
                cell += f" ({100 * d:+.1f} ± {100 * dse:.1f} points)"
            cells.append(cell)
        end = int(res.summary["firms"][firm]["customers_at_end"])
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {end:,} | {_fmt(float(_firm(res, firm)['profit'].sum()), 'money')} |")
    return lines + ["", f"Retention follows the firm's month-0 customers; in brackets, the difference to *{base}* for the "
                        "same customers (paired, same seed), ± one standard error. Customers at the end and profit count "
                        "everyone, also customers won from competitors and acquired later.", ""]


def _answer_telecom(sim, res, overrides) -> list[str]:
    focal = res.scenario.firms[0].name
    f = _firm(res, focal)
    between = _churn(res, focal, 2, 9)
    rival = res.scenario.firms[1].name if len(res.scenario.firms) > 1 else None
    no_contracts = sim.run(res.scenario.name, seed=SEED, overrides={**overrides, "measures": []})
    bonded10 = f.loc[10, "share_bonded_only"] + f.loc[10, "share_both"]
    lines = [
        f"**The cliff.** Between expiries (months 2 to 9) the focal firm (*{focal}*) loses {_fmt(between)} of its "
        f"customers a month. In month 11, when the 12-month contracts signed at month 0 expire, it loses "
        f"{_fmt(f.loc[11, 'churn_rate'])}: **{f.loc[11, 'churn_rate'] / between:.1f} times as many**. In month 23, when the "
        f"renewed 12-month and the 24-month contracts expire, {_fmt(f.loc[23, 'churn_rate'])}.",
        "",
    ]
    if rival is not None:
        r = _firm(res, rival)
        lines += [f"The rival (*{rival}*), whose customers all sign 12-month contracts, goes from "
                  f"{_fmt(_churn(res, rival, 2, 9))} "
                  f"a month to {_fmt(r.loc[11, 'churn_rate'])} in month 11.", ""]
    lines += [
        f"**Held by contract rather than by bond.** In month 10, {_fmt(f.loc[10, 'share_attached_only'])} of the focal "
        f"firm's customers are *attached only* (held by the contract, not bonded) and {_fmt(bonded10)} are bonded "
        f"(bonded only or bonded and attached). In its last month, {_fmt(f.iloc[-1]['share_attached_only'])} are attached only "
        f"and {_fmt(f.iloc[-1]['share_bonded_only'] + f.iloc[-1]['share_both'])} bonded.",
        "",
        "**What the contracts buy.** The same market without any contracts (`measures = []`), same seed:",
        "",
        *_compare_table(focal, {"as shipped": res, "no contracts": no_contracts}, "as shipped"),
    ]
    return lines


def _answer_ecommerce(sim, res, overrides) -> list[str]:
    shop = res.scenario.firms[0].name
    never = sim.run(res.scenario.name, seed=SEED, overrides={**overrides, "measures": []})
    d = [m for m in res.scenario.measures if m.type == "discount"]
    end = d[0].schedule.end if d and d[0].schedule.end else None
    lines = []
    if end is not None:
        horizon = res.scenario.simulation.periods
        windows = [("while it runs", 0, end - 1), ("first year after", end, min(end + 11, horizon - 1))]
        if end + 12 <= horizon - 1:
            windows.append(("second year after", end + 12, min(end + 23, horizon - 1)))
        after, base = _churn(res, shop, end, min(end + 11, horizon - 1)), _churn(never, shop, end, min(end + 11, horizon - 1))
        during, base_during = _churn(res, shop, 0, end - 1), _churn(never, shop, 0, end - 1)
        lines += [
            f"**Churn per month of the shop (*{shop}*),** with a {100 * d[0].rate:g} % discount in months 0 to {end - 1} "
            "and never discounted (same seed):",
            "",
            "| | " + " | ".join(f"{label} (months {a}-{b})" for label, a, b in windows) + " |",
            "|---" * (len(windows) + 1) + "|",
            "| with the discount | " + " | ".join(_fmt(_churn(res, shop, a, b)) for _, a, b in windows) + " |",
            "| never discounted | " + " | ".join(_fmt(_churn(never, shop, a, b)) for _, a, b in windows) + " |",
            "",
            f"While the discount runs, churn is {'lower' if during < base_during else 'not lower'} than without it "
            f"({_fmt(during)} against {_fmt(base_during)}). In the year after it is withdrawn, churn is "
            + (f"**above** the never-discounted baseline ({_fmt(after)} against {_fmt(base)}): the customers' reference "
               "price has followed the discount down, so its withdrawal feels like a price rise."
               if after > base else f"not above the never-discounted baseline ({_fmt(after)} against {_fmt(base)})."),
            "",
        ]
    lines += [
        "**Lasting retention?** The shop's month-0 customers, with and without the discount:",
        "",
        *_compare_table(shop, {"never discounted": never, "with the discount": res}, "never discounted"),
        f"Discounts given: {_fmt(float(_firm(res, shop)['discounts'].sum()), 'money')} {res.scenario.simulation.currency}.",
        "",
    ]
    return lines


def _answer_b2b_software(sim, res, overrides) -> list[str]:
    vendor = res.scenario.firms[0].name
    sc = res.scenario
    no_lockin = {**overrides, **{f"segments.{i}.lockin_growth": 0.0 for i in range(len(sc.segments))},
                 **{f"segments.{i}.no_alternative_share": 0.0 for i in range(len(sc.segments))}}
    without_lockin = sim.run(sc.name, seed=SEED, overrides=no_lockin)
    kept = [m.model_dump() for m in sc.measures if m.type != "service"]
    without_service = sim.run(sc.name, seed=SEED, overrides={**overrides, "measures": kept})
    f, fs = _firm(res, vendor), _firm(without_service, vendor)
    last = f.iloc[-1]
    both, both_without = last["share_both"], fs.iloc[-1]["share_both"]
    return [
        f"**Why the vendor's customers stay.** In the last month, {_fmt(last['share_attached_only'])} of *{vendor}*'s "
        f"customers are attached only (held by lock-in, contract or no alternative, not bonded), "
        f"{_fmt(last['share_both'])} bonded and attached, {_fmt(last['share_bonded_only'])} bonded only and "
        f"{_fmt(last['share_neither'])} neither.",
        "",
        "**How much is lock-in?** The same market with no technical lock-in and no customers without an "
        "alternative (`lockin_growth = 0`, `no_alternative_share = 0` in every segment), same seed:",
        "",
        *_compare_table(vendor, {"as shipped": res, "no lock-in": without_lockin}, "as shipped"),
        _switching(vendor, {"as shipped": res, "no lock-in": without_lockin}),
        "",
        "**What does service add?** The same market without the service measure:",
        "",
        *_compare_table(vendor, {"as shipped": res, "no service": without_service}, "as shipped"),
        f"With service, {_fmt(both)} of the vendor's customers are bonded and attached in the last month, without it "
        f"{_fmt(both_without)}: service "
        f"{'turns held customers into bonded ones' if both > both_without else 'does not make more customers bonded'}. "
        "It costs "
        f"{_fmt(float(f['measure_costs'].sum() - fs['measure_costs'].sum() + f['fixed_costs'].sum()
                      - fs['fixed_costs'].sum()), 'money')} "
        f"{sc.simulation.currency} over the run; compare the retention it adds with that cost.",
        "",
    ]


def _switching(firm: str, runs: dict) -> str:
    """One sentence: customers the firm won from and lost to competitors in each run."""
    parts = []
    for name, res in runs.items():
        f = _firm(res, firm)
        parts.append(f"{name}, {int(f['switched_in'].sum()):,} won from competitors and "
                     f"{int(f['switched_out'].sum()):,} lost to them")
    return f"Switching over the run, *{firm}*: " + "; ".join(parts) + ". Lock-in holds the competitors' customers too."


def _answer_generic(sim, res, overrides) -> list[str]:
    """A scenario's own answer sentence (its ``answer`` filled from the run), and the lever its question asks
    about measured against the same scenario without it (its ``counterfactual``), same seed, paired."""
    from sim.scenario import counterfactual

    sc = res.scenario
    lines = [res.answer or "The scenario states no answer sentence; the figures below answer its question.", ""]
    if sc.counterfactual is None:
        return lines
    without = sim.run(counterfactual(sc), seed=SEED, overrides=overrides)
    name = f"without {sc.counterfactual.lever}"
    # the firms the lever changes (where strategies are firms, not necessarily the first)
    # a firm without month-0 customers (an entrant) has no retention
    moved = [f.name for f in sc.firms
             if float(_firm(res, f.name)["profit"].sum()) != float(_firm(without, f.name)["profit"].sum())
             and len(_alive(res, f.name, 0))]
    for firm in moved[:3] or [f.name for f in sc.firms[:1] if len(_alive(res, f.name, 0))]:
        lines += [f"The same market {name}, on the same seed, for **{firm}**:", "",
                  *_compare_table(firm, {"as shipped": res, name: without}, name)]
    return lines


ANSWERS = {"telecom": _answer_telecom, "ecommerce": _answer_ecommerce, "b2b_software": _answer_b2b_software}


def _headline(res) -> list[str]:
    s = res.summary
    months = [m for m in (12, 60, 120) if m <= res.scenario.simulation.periods]
    lines = ["| firm | customers at month 0 | " + " | ".join(f"retention month {m}" for m in months)
             + " | mean churn per month | mean CLV of the month-0 customers | profit over the run |",
             "|---" * (len(months) + 5) + "|"]
    for firm, f in s["firms"].items():
        clv = f["clv"]["initial_cohort"]
        n0 = int(_firm(res, firm).iloc[0]["active"]) if len(_firm(res, firm)) else 0
        clv_text = (f"{_fmt(clv['mean'], 'money')} ({clv['n_censored']:,} of {clv['n']:,} still running)"
                    if clv["mean"] is not None else "n/a")
        lines.append(f"| {firm} | {n0:,} | " + " | ".join(_fmt(f["retention"][f"{m}_months"]) for m in months)
                     + f" | {_fmt(f['mean_churn_per_period'])} | {clv_text} | {_fmt(f['profit_total'], 'money')} |")
    lines += ["", "Retention: the share of the firm's month-0 customers whose first relationship is still running. CLV of a "
                  "relationship still running at the horizon is its value so far (censored), a lower bound.", ""]
    lines += ["**Why customers stay, in the last month:**", "",
              "| firm | bonded only | bonded and attached | attached only | neither |", "|---|---|---|---|---|"]
    for firm, f in s["firms"].items():
        sh = f["loyalty_shares_last_period"]
        lines.append(f"| {firm} | {_fmt(sh['bonded_only'])} | {_fmt(sh['both'])} | {_fmt(sh['attached_only'])} "
                     f"| {_fmt(sh['neither'])} |")
    return lines + [""]


@cache
def scenario_markdown(name: str) -> str:
    """The page of shipped scenario ``name``, from runs at :data:`CUSTOMERS` customers with seed :data:`SEED`."""
    import sim

    path = Path(sim.shipped_scenarios()[name])
    shipped = sim.load(name)
    overrides = {"simulation.customers": CUSTOMERS}
    res = sim.run(name, seed=SEED, overrides=overrides)
    sc = res.scenario
    answer = ANSWERS.get(name)
    lines = [
        f"# Scenario: {name}",
        "",
        f"*Question:* {sc.question}",
        "",
        '!!! info "How these numbers were made"',
        f"    Computed when this site was built, with retention-sim {sim.__version__}: the shipped scenario at "
        f"**{CUSTOMERS:,} customers** at month 0 "
        + ("(as in the file)" if shipped.simulation.customers == CUSTOMERS
           else f"(the file has {shipped.simulation.customers:,})")
        + ", its horizon of "
        f"{_horizon(sc)}, **seed {SEED}**. To reproduce: "
        f"`retention-sim run {name} --seed {SEED} --customers {CUSTOMERS}`. The comparisons change the scenario as "
        "stated and keep the seed, so every customer has the same luck in both runs. ± is one standard error.",
        "",
    ]
    if answer is not None:
        lines += ["## The answer", "", *answer(sim, res, overrides)]
    else:
        lines += ["## The answer", "", *_answer_generic(sim, res, overrides)]
    lines += ["## Headline figures", "", *_headline(res)]
    lines += [
        "## The scenario file",
        "",
        f"`{path.name}`, as shipped (a scenario sets only what it changes; every other value is the default in "
        "[the parameter reference](../parameters.md)):",
        "",
        "```toml",
        path.read_text(encoding="utf-8").rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def scenarios_markdown() -> str:
    import sim

    lines = []
    for name in sorted(sim.shipped_scenarios()):
        lines += [f"- [**{name}**](scenarios/{name}.md): {sim.load(name).question}"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ validation
def _number(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def validation_markdown() -> str:
    """The validation page: the pattern suite's definitions and its recorded figures."""
    import pandas as pd

    from sim import patterns

    recorded = ROOT / "docs" / "validation.csv"
    rows = pd.read_csv(recorded).set_index("pattern") if recorded.exists() else pd.DataFrame()
    date = str(rows["date"].iloc[0]) if len(rows) and "date" in rows else None
    held = int(rows["holds"].astype(str).str.lower().eq("true").sum()) if len(rows) else 0
    lines = [
        "# Validation: the pattern suite",
        "",
        "What the model must reproduce, each pattern measured on a shipped scenario with its shipped defaults and a "
        "95 % interval (see `sim/patterns/`). A pattern *holds* when its estimate lies in the target band and, for an "
        "effect or an ordering, its interval excludes no effect. Bands marked *invented* rest on no public figure and "
        "are kept wide. Life events (background churn) are never fitted: every scenario uses its market's documented "
        "rate ([parameters](parameters.md)), and a scenario's defaults are fitted on the choice side only, each file "
        "naming the patterns it was fitted to.",
        "",
        "Run it yourself: `retention-sim patterns --quick` (minutes; fewer customers and replications, still with "
        "intervals) or `retention-sim patterns` (the full size); `--only TEXT` picks patterns by name.",
        "",
    ]
    if date:
        lines += [f"**Recorded figures:** the full suite (20,000 customers, 10 replications) on {date} "
                  f"(`python benchmarks/patterns.py`): **{held} of {len(rows)} hold.**", ""]
    else:
        lines += ["**Recorded figures:** none yet (run `python benchmarks/patterns.py`).", ""]
    lines += ["| pattern | target | value [95 % interval] | holds |", "|---|---|---|---|"]
    for p in patterns.catalogue():
        if p.name in rows.index:
            r = rows.loc[p.name]
            value = f"{_number(r['value'])} [{_number(r['ci_low'])}, {_number(r['ci_high'])}]"
            holds = "yes" if str(r["holds"]).lower() == "true" else "**no**"
        else:
            value, holds = "not recorded", "n/a"
        lines.append(f"| {p.name} | {p.target.describe()} | {value} | {holds} |")
    lines += ["", "## The patterns", ""]
    for p in patterns.catalogue():
        lines += [f"### {p.name}", "", f"- *Id* (a calibration target's `pattern`): `{p.id}`", f"- *Source:* {p.source}",
                  f"- *Scenario:* `{p.scenario}`",
                  f"- *Measured:* {p.measured}", f"- *Target:* {p.target.describe()}", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ hooks
def _section(nav: list, title: str) -> list | None:
    for item in nav:
        if isinstance(item, dict) and title in item and isinstance(item[title], list):
            return item[title]
    return None


def on_config(config, **kwargs):
    """Fill the Lessons and Scenarios sections of the navigation."""
    import sim

    nav = config["nav"] or []
    lesson_items = _section(nav, "Lessons")
    if lesson_items is not None:
        lesson_items += [{lesson["short"]: f"lessons/{lesson['file']}"} for lesson in lessons()]
    scenario_items = _section(nav, "Scenarios")
    if scenario_items is not None:
        scenario_items += [{name: f"scenarios/{name}.md"} for name in sorted(sim.shipped_scenarios())]
    return config


def on_files(files, config, **kwargs):
    """Add a generated page for every shipped scenario."""
    from mkdocs.structure.files import File

    import sim

    for name in sorted(sim.shipped_scenarios()):
        files.append(File.generated(config, f"scenarios/{name}.md", content=scenario_markdown(name)))
    files.append(File.generated(config, "validation.md", content=validation_markdown()))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    """Replace the lesson and scenario markers with their lists."""
    if LESSONS_MARKER in markdown:
        markdown = markdown.replace(LESSONS_MARKER, lessons_markdown())
    if SCENARIOS_MARKER in markdown:
        markdown = markdown.replace(SCENARIOS_MARKER, scenarios_markdown())
    return markdown
