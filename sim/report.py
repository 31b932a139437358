"""The report of a comparison: plots (PNG) and one self-contained HTML page a strategist can mail.

The page states each scenario's question, one sentence per key metric quoting the paired difference
and its 95 % interval exactly as in ``differences.csv`` with its Holm-adjusted interval beside it, a
paragraph on multiplicity and on how many replications are enough, the plots (embedded), the tables,
and (collapsed, at the end) the manifest of every scenario. It loads nothing from the network.

Statistical rules, as a referee would ask for them:

* Every band and interval is a Student t-interval over replications (:mod:`sim.stats`), not 1.96
  standard errors.
* The paired difference (scenario minus baseline, replication by replication on common seeds) is
  plotted over time with its own band: two overlapping per-scenario bands say nothing about the
  difference, whose paired interval may well exclude 0.
* The page makes one claim per (scenario, paired metric); their Holm-adjusted intervals
  (:func:`sim.stats.holm`) hold jointly at 95 %, and each sentence says when a difference is no
  longer detectable once adjusted.
* Subgroup metrics (CLV by loyalty class, :data:`sim.compare.SUBGROUP_METRICS`) condition on a class
  that the strategy itself changes: their differences compare different customers, are not paired
  effects, and are shown apart with that label and without a sentence.
* Numbers are written out (``2,555,000``, never ``2.555e+06``): :func:`readable`.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .codes import LOYALTY_CLASSES
from .plots import CLASS_COLOURS, CLASS_LABELS, DPI, FIRM_PALETTE, STYLE, WIDTH
from .stats import band, mean_interval

if TYPE_CHECKING:  # pragma: no cover
    from .compare import Comparison

SCENARIO_COLOURS = FIRM_PALETTE  # one colour per scenario, baseline first
PLOTS = ("retention", "difference", "churn", "loyalty_classes", "clv_by_class", "profit")

# metric -> (what it is called in a sentence, how a difference is shown, unit after the number)
SENTENCES = {
    "retention_12": ("12-month retention of its initial customers", "points", " points"),
    "retention_60": ("60-month retention of its initial customers", "points", " points"),
    "retention_120": ("120-month retention of its initial customers", "points", " points"),
    "churn_per_year": ("churn per customer-year", "points", " points"),
    "clv_mean": ("mean CLV of its initial customers to the horizon", "money", ""),
    "clv_projected": ("mean CLV of its initial customers with their value beyond the horizon", "money", ""),
    "profit": ("total profit over the horizon", "money", ""),
    "profit_discounted": ("discounted profit over the horizon", "money", ""),
    "profit_projected": ("discounted profit with the value of the customers held at the horizon", "money", ""),
    "customers_at_end": ("number of customers it holds at the horizon", "plain", ""),
    "attached_only_share": ("share of customers held only by barriers", "points", " points"),
    "cliff_ratio": ("contract-expiry churn ratio", "plain", ""),
}


def _scale(metric: str) -> float:
    return 100.0 if SENTENCES.get(metric, ("", "plain", ""))[1] == "points" else 1.0


def _decimals(lo: float, hi: float, least: int) -> int:
    """Enough decimals to tell the interval's ends apart and from zero (at least ``least``, at most 4)."""
    spread = min(abs(hi - lo), abs(lo), abs(hi)) or abs(hi - lo) or 1.0
    return int(min(4, max(least, math.ceil(-math.log10(spread)) + 1 if spread < 1 else least)))


def _fmt(value: float, kind: str, currency: str, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        text = text.lstrip("-")  # no "-0.0"
    return f"{text} {currency}" if kind == "money" else text


def readable(value, decimals: int | None = None) -> str:
    """A number as people read it: thousands separated and no exponent (``2,555,000``, ``12.35``,
    ``0.0412``, ``0.00001235``), four significant digits below 1,000 unless ``decimals`` is given;
    ``""`` for a missing or undefined value, never ``-0``.

    >>> readable(2.555e6), readable(12.3456), readable(-0.0000123456), readable(float("nan"))
    ('2,555,000', '12.35', '-0.00001235', '')
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    if not math.isfinite(v):
        return "" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if decimals is None:
        a = abs(v)
        decimals = 0 if a >= 1000 or a == 0 else min(12, 3 - math.floor(math.log10(a)))
    text = f"{v:,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        text = text.lstrip("-")
    return text


def sentence(row, currency: str) -> str | None:
    """One plain sentence for a row of the differences table (None if it cannot be said, or for a
    metric without a sentence). Where the row has a Holm-adjusted interval (``holm_ci_low``,
    ``holm_ci_high``) it is quoted beside the 95 % one, and a difference that it no longer tells from
    0 is said to be so."""
    if row["metric"] not in SENTENCES or not all(math.isfinite(float(row[k])) for k in ("difference", "ci_low", "ci_high")):
        return None
    what, kind, unit = SENTENCES[row["metric"]]
    k = _scale(row["metric"])
    d, lo, hi = (float(row[c]) * k for c in ("difference", "ci_low", "ci_high"))
    n = _decimals(lo, hi, 0 if kind == "money" else (1 if kind == "points" else 2))
    ci = f"95 % CI {_fmt(lo, kind, currency, n)} to {_fmt(hi, kind, currency, n)}"
    holm, holm_excludes = "", None
    if "holm_ci_low" in row and all(math.isfinite(float(row.get(c, math.nan))) for c in ("holm_ci_low", "holm_ci_high")):
        hlo, hhi = float(row["holm_ci_low"]) * k, float(row["holm_ci_high"]) * k
        family = int(row["family"]) if "family" in row and math.isfinite(float(row["family"])) else None
        over = f" over the {family} paired comparisons" if family else ""
        holm = f"; Holm-adjusted{over}: {_fmt(hlo, kind, currency, n)} to {_fmt(hhi, kind, currency, n)}"
        holm_excludes = not (hlo <= 0 <= hhi)
    if lo <= 0 <= hi:
        shown = _fmt(d, kind, currency, n)
        return f"{row['scenario']} does not change the {what} detectably (difference {shown}{unit}, {ci}{holm})."
    verb = "raises" if d > 0 else "lowers"
    text = f"{row['scenario']} {verb} the {what} by {_fmt(abs(d), kind, currency, n)}{unit} ({ci}{holm})."
    if holm_excludes is False:
        text += " Adjusted for the number of comparisons, this difference is not detectable."
    return text


def effect_sentence(effect: dict, currency: str) -> str:
    """The answer's effect (:func:`sim.compare.effect`) in one sentence: the paired difference against
    the counterfactual with its 95 % interval over the replications."""
    who = "" if effect.get("firm") is None else f"; firm {effect['firm']}"
    head = (f"Against the same market without {effect['lever']} (paired over {effect['n']} replications on common "
            f"random numbers{who}): ")
    row = {"scenario": "the lever", "metric": effect["metric"],
           **{k: effect.get(k, math.nan) for k in ("difference", "ci_low", "ci_high")}}
    said = sentence(row, currency)
    if said is None:
        lo, hi = effect.get("ci_low", math.nan), effect.get("ci_high", math.nan)
        if not all(math.isfinite(float(v)) for v in (effect.get("difference", math.nan), lo, hi)):
            return head + f"{effect['metric']} is undefined in these runs, so no effect can be stated."
        diff = readable(effect["difference"])
        said = f"the lever changes {effect['metric']} by {diff} (95 % CI {readable(lo)} to {readable(hi)})."
    return head + said


def _band(ax, x, paths: np.ndarray, colour: str, label: str, scale: float = 1.0):
    """Mean path and the 95 % t-band of the mean across replications (:func:`sim.stats.band`)."""
    mean, half = band(paths)
    mean, half = mean * scale, half * scale
    ax.plot(x, mean, color=colour, label=label, linewidth=2)
    ax.fill_between(x, mean - half, mean + half, color=colour, alpha=0.25, linewidth=0)


def _figure(height: float = 5.0):
    # a figure with its own canvas, outside pyplot: the report never touches the caller's backend
    fig = Figure(figsize=(WIDTH, round(height * DPI) / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _legend(ax):
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)


def _whose(cmp: Comparison) -> str:
    """Whose figures a comparison shows, in words: the focal firm (NAME), or the firm NAME of --firm."""
    focal = cmp.scenarios[0].firms[0].name
    return f"the focal firm ({focal})" if cmp.firm in ("", focal) else f"the firm {cmp.firm}"


def figures(cmp: Comparison) -> dict[str, Figure]:
    """The five plots of a comparison, as matplotlib figures keyed by file stem."""
    names = cmp.names
    colour = {n: SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)] for i, n in enumerate(names)}
    currency = cmp.scenarios[0].simulation.currency
    who = _whose(cmp)
    out = {}
    with rc_context(STYLE):
        fig = _figure()
        ax = fig.subplots()
        for n in names:
            c = cmp.curves[n]
            _band(ax, np.arange(c.retention.shape[1]) * c.period_months, c.retention, colour[n], n, 100.0)
        ax.set(xlabel="month", ylabel=f"% of initial customers still with {who}", ylim=(0, 102))
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_title(f"Retention of the initial customers of {who} (mean and 95 % band over replications)", loc="left")
        _legend(ax)
        out["retention"] = fig

        fig = _figure(6.5)
        top, bottom = fig.subplots(2, 1, sharex=True)
        base = cmp.curves[names[0]]
        for n in names[1:]:
            c = cmp.curves[n]
            # scenarios of different horizons are paired over the months both simulated
            k = min(c.retention.shape[1], base.retention.shape[1])
            months = np.arange(k) * c.period_months
            _band(top, months, c.retention[:, :k] - base.retention[:, :k], colour[n], f"{n} minus {names[0]}", 100.0)
            _band(
                bottom,
                np.arange(1, k) * c.period_months,
                np.cumsum(c.profit[:, : k - 1], axis=1) - np.cumsum(base.profit[:, : k - 1], axis=1),
                colour[n],
                f"{n} minus {names[0]}",
            )
        for ax in (top, bottom):
            ax.axhline(0, color="#333333", linewidth=0.8)
            _legend(ax)
        top.set_ylabel("retention difference\n(percentage points)")
        bottom.set_ylabel(f"cumulative profit\ndifference ({currency})")
        bottom.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: readable(x)))
        bottom.set_xlabel("month")
        top.set_title("Paired difference from the baseline (mean and 95 % t-band over replications on common seeds)", loc="left")
        out["difference"] = fig

        fig = _figure()
        ax = fig.subplots()
        for n in names:
            c = cmp.curves[n]
            _band(ax, np.arange(c.churn.shape[1]) * c.period_months, c.churn, colour[n], n, 100.0)
        ax.set(xlabel="month", ylabel="churn in the period (%)")
        ax.set_title(f"Churn per period of {who} (mean and 95 % band)", loc="left")
        _legend(ax)
        out["churn"] = fig

        fig = _figure(2.6 * len(names) + 1.0)
        axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
        order = ("bonded_only", "both", "attached_only", "neither")
        for ax, n in zip(axes, names):
            c = cmp.curves[n]
            with np.errstate(invalid="ignore"):
                mean = np.nanmean(c.shares, axis=0) * 100.0  # period x class
            x = np.arange(mean.shape[0]) * c.period_months
            ax.stackplot(
                x,
                *[np.nan_to_num(mean[:, LOYALTY_CLASSES.index(k)]) for k in order],
                labels=[CLASS_LABELS[k] for k in order],
                colors=[CLASS_COLOURS[k] for k in order],
                step="post",
            )
            ax.set(ylabel="% of customers", ylim=(0, 100))
            ax.set_title(n, loc="left", color=colour[n], fontweight="bold")
        axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="why customers stay")
        axes[-1].set_xlabel("month")
        fig.suptitle(f"Why the customers of {who} stay (mean over replications)", x=0.005, ha="left", fontweight="bold")
        out["loyalty_classes"] = fig

        fig = _figure()
        ax = fig.subplots()
        wide = cmp.wide()
        width = 0.8 / len(names)
        for k, n in enumerate(names):
            rows = wide[wide["scenario"] == n]
            means, halves = [], []
            for cls in LOYALTY_CLASSES:
                est = mean_interval(rows[f"clv_{cls}"].to_numpy(float))
                means.append(est["mean"])
                halves.append(est["half_width"] if math.isfinite(est["half_width"]) else 0.0)
            xs = np.arange(len(LOYALTY_CLASSES)) + (k - (len(names) - 1) / 2) * width
            ax.bar(xs, means, width=width * 0.95, color=colour[n], label=n, yerr=halves, capsize=3)
        ax.set_xticks(np.arange(len(LOYALTY_CLASSES)), [CLASS_LABELS[c] for c in LOYALTY_CLASSES])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: readable(x)))
        ax.set_ylabel(f"mean CLV ({currency})")
        ax.set_title(
            f"CLV of the initial customers of {who} by the loyalty class they held longest (95 % t-interval;\n"
            "subgroups, not paired: the strategy changes which customers fall in each class)",
            loc="left",
        )
        ax.axhline(0, color="#333333", linewidth=0.8)
        _legend(ax)
        out["clv_by_class"] = fig

        fig = _figure()
        ax = fig.subplots()
        for n in names:
            c = cmp.curves[n]
            _band(ax, np.arange(c.profit.shape[1]) * c.period_months, np.cumsum(c.profit, axis=1), colour[n], n)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: readable(x)))
        ax.set(xlabel="month", ylabel=f"cumulative profit ({currency})")
        ax.axhline(0, color="#333333", linewidth=0.8)
        ax.set_title(f"Cumulative profit of {who} (mean and 95 % band)", loc="left")
        _legend(ax)
        out["profit"] = fig
    return out


def _png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.5; }
h1 { font-size: 1.7em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { padding: 0.25em 0.6em; border-bottom: 1px solid #eee; text-align: right; }
td:first-child, th:first-child, td:nth-child(2), th:nth-child(2) { text-align: left; }
li.finding { margin: 0.4em 0; } .note { color: #555; font-size: 0.92em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
details { margin-top: 2em; } summary { cursor: pointer; color: #555; }
"""


def _table(df, money: set[str] = frozenset()) -> str:
    """An HTML table; numbers in :func:`readable` form (money without decimals), p-values to four
    decimals (``< 0.0001`` below), counts as whole numbers."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            if isinstance(v, (bool, np.bool_)):
                text = "yes" if v else "no"
            elif isinstance(v, (int, np.integer)):
                text = f"{int(v):,}"
            elif isinstance(v, (float, np.floating)) and c in ("p_value", "holm_p"):
                text = "" if not math.isfinite(v) else ("< 0.0001" if v < 1e-4 else f"{v:.4f}")
            elif isinstance(v, (float, np.floating)) and c in ("family", "n", "count") and math.isfinite(v):
                text = f"{int(v):,}"
            elif isinstance(v, (float, np.floating)):
                text = readable(v, 0 if c in money and math.isfinite(v) and abs(v) >= 1 else None)
            else:
                text = str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _multiplicity(cmp: Comparison) -> str:
    """The paragraph on multiplicity and on how many replications are enough."""
    d = cmp.differences
    paired = d[d["kind"] == "paired"] if "kind" in d else d
    family = int(paired["holm_p"].notna().sum()) if "holm_p" in paired else 0
    detectable = int((paired["ci_low"] > 0).sum() + (paired["ci_high"] < 0).sum())
    held = int(((paired["holm_ci_low"] > 0) | (paired["holm_ci_high"] < 0)).sum()) if "holm_ci_low" in paired else 0
    text = (
        f"<p class='note'><b>Multiplicity.</b> This page compares {family} paired metric differences at once; at 95 % "
        f"each, about one in twenty would exclude 0 by chance alone. {detectable} of them exclude 0 on their own, and "
        f"{held} still do with Holm's step-down adjustment over all {family} (the second interval in each sentence and "
        f"the <code>holm_ci_low</code>, <code>holm_ci_high</code> and <code>holm_p</code> columns of "
        f"<code>differences.csv</code>), whose intervals hold jointly at 95 %. A finding declared in advance for one "
        f"metric may be read at its own 95 % interval.</p>"
    )
    precision = getattr(cmp, "precision", None)
    R = len(cmp.seeds)
    if precision:
        reached = "reached" if precision["reached"] else f"not reached: the cap of {precision['cap']} replications stopped it"
        rule = (
            f"--precision asked for a 95 % half-width of at most {precision['target']:g} for "
            f"<code>{html.escape(precision['metric'])}</code>; with {R} replications it is "
            f"{readable(precision['achieved'])} ({reached})."
        )
    else:
        rule = "Use <code>--precision METRIC=HALF_WIDTH</code> to add replications until a paired interval is that narrow."
    text += (
        f"<p class='note'><b>How many replications are enough?</b> A paired interval narrows as 1/&radic;R: halving it "
        f"takes four times the replications. {rule}</p>"
    )
    return text


def render_html(cmp: Comparison, images: dict[str, bytes]) -> str:
    """The report page (every image embedded as a data URL)."""
    currency = cmp.scenarios[0].simulation.currency
    sc0 = cmp.scenarios[0]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Comparison: {html.escape(', '.join(cmp.names))}</title>"
        f"<style>{CSS}</style></head><body>"
    ]
    parts.append(f"<h1>Strategy comparison: {html.escape(cmp.names[0])} vs {html.escape(', '.join(cmp.names[1:]))}</h1>")
    parts.append(
        f"<p class='note'>Every scenario ran {len(cmp.seeds)} times; replication r of every scenario used the same seed "
        f"(derived from seed {cmp.seed}), so each difference is paired customer by customer. "
        f"{sc0.simulation.customers:,} initial customers, {sc0.simulation.periods} periods of "
        f"{sc0.simulation.period_months:g} month(s). Figures are about "
        f"{html.escape(_whose(cmp))}. Intervals and bands are 95 % t-intervals over replications "
        f"(paired for differences).</p>"
    )
    parts.append(
        "<p class='note'><b>Where the figures stop.</b> Retention, churn, <code>clv_mean</code>, <code>profit</code> "
        "and <code>profit_discounted</code> stop at the horizon: a strategy that ends with more customers gets no "
        "credit for them. <code>clv_projected</code> and <code>profit_projected</code> add the value of the customers "
        "still held at the horizon, projected from the firm's own simulated retention (a shifted-beta-geometric "
        "curve fitted to its relationships) at its final year's margin per customer-period, discounted; they "
        "project no new customers and no fixed costs. Where the two kinds of figure disagree on a ranking, the "
        "horizon decides it: read both.</p>"
    )
    parts.append("<h2>The questions</h2><ul>")
    for n, s in zip(cmp.names, cmp.scenarios):
        role = "baseline" if n == cmp.baseline else "alternative"
        parts.append(f"<li><b>{html.escape(n)}</b> ({role}): {html.escape(s.question or 'no question stated')}</li>")
    parts.append("</ul><h2>What changes</h2><ul>")
    for _, row in cmp.differences.iterrows():
        text = sentence(row, currency)
        if text:
            parts.append(f"<li class='finding'>{html.escape(text)}</li>")
    parts.append("</ul>")
    parts.append(_multiplicity(cmp))
    titles = {
        "retention": "Retention",
        "difference": "Paired difference from the baseline",
        "churn": "Churn per period",
        "loyalty_classes": "Why customers stay",
        "clv_by_class": "CLV by loyalty class",
        "profit": "Profit",
    }
    for key in PLOTS:
        if key in images:
            data = base64.b64encode(images[key]).decode("ascii")
            parts.append(f"<h2>{titles[key]}</h2><img alt='{titles[key]}' src='data:image/png;base64,{data}'>")
            if key == "difference":
                parts.append(
                    "<p class='note'>Each replication's difference, on common seeds, averaged: where the band excludes "
                    "0 the difference is detectable at that month, even where the scenarios' own bands overlap.</p>"
                )
    d = cmp.differences
    paired = d[d["kind"] == "paired"] if "kind" in d else d
    from .compare import DESCRIPTIVE, SUBGROUP

    causes = d[d["kind"] == DESCRIPTIVE] if "kind" in d else d.iloc[:0]
    subgroup = d[d["kind"] == SUBGROUP] if "kind" in d else d.iloc[:0]
    unadjusted = ("kind", "p_value", "holm_p", "holm_ci_low", "holm_ci_high", "family")
    parts.append("<h2>Differences (scenario minus baseline, paired)</h2>")
    parts.append(_table(paired.drop(columns=[c for c in ("kind",) if c in paired])))
    if not causes.empty:
        parts.append(
            "<h2>Why relationships ended (paired)</h2><p class='note'>Of the relationships the firm's customers ended "
            "over the run, the share that ended by switching to a competitor, by leaving the market by choice and by a "
            "life event no firm influences (these three add up to 1), by leaving early and paying an exit fee, and by "
            "leaving as a contract expired; <code>choice_share</code> is all but the life events. They say why a "
            "difference arose, not whether it did, and carry no Holm adjustment.</p>"
        )
        parts.append(_table(causes.drop(columns=[c for c in unadjusted if c in causes])))
    if not subgroup.empty:
        parts.append(
            "<h2>Subgroup metrics (not paired)</h2><p class='note'>CLV by loyalty class conditions on the class each "
            "customer held longest, and the strategy itself changes who lands in which class: these rows compare the "
            "mean CLV of different sets of customers, not the same customers under two strategies, so they are no "
            "paired effect of the strategy and carry no Holm adjustment. An interval of zero width, or none, means "
            "the class was empty or identical in every replication.</p>"
        )
        parts.append(
            _table(
                subgroup.drop(columns=[c for c in unadjusted if c in subgroup])
            )
        )
    summary = cmp.replications.groupby(["scenario", "metric"], sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    parts.append("<h2>Metrics per scenario (over replications)</h2>")
    parts.append(_table(summary))
    parts.append(
        "<details><summary>Manifest: the full scenarios with every default filled in, the seeds, versions and "
        "the code's commit</summary>"
    )
    parts.append(f"<pre>{html.escape(json.dumps(cmp.manifest(), indent=2, sort_keys=True))}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(cmp: Comparison, folder: Path, plots: bool = True) -> None:
    """``report.html`` and, with ``plots``, ``plots/<name>.png`` in ``folder``."""
    images = {}
    if plots:
        (folder / "plots").mkdir(exist_ok=True)
        for name, fig in figures(cmp).items():
            images[name] = _png(fig)
            (folder / "plots" / f"{name}.png").write_bytes(images[name])
    (folder / "report.html").write_text(render_html(cmp, images), encoding="utf-8")
