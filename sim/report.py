"""The report of a comparison: plots (PNG) and one self-contained HTML page a strategist can mail.

The page states each scenario's question, one sentence per key metric quoting the paired difference
and its 95 % interval exactly as in ``differences.csv``, the plots (embedded), the tables, and the
manifest of every scenario. It loads nothing from the network.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

from .codes import LOYALTY_CLASSES  # noqa: E402
from .plots import CLASS_COLOURS, CLASS_LABELS, DPI, FIRM_PALETTE, STYLE, WIDTH  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from .compare import Comparison

SCENARIO_COLOURS = FIRM_PALETTE  # one colour per scenario, baseline first
PLOTS = ("retention", "churn", "loyalty_classes", "clv_by_class", "profit")

# metric -> (what it is called in a sentence, how a difference is shown, unit after the number)
SENTENCES = {
    "retention_12": ("12-month retention of its initial customers", "points", " points"),
    "retention_60": ("60-month retention of its initial customers", "points", " points"),
    "retention_120": ("120-month retention of its initial customers", "points", " points"),
    "churn_per_year": ("churn per customer-year", "points", " points"),
    "clv_mean": ("mean CLV of its initial customers", "money", ""),
    "profit": ("total profit over the horizon", "money", ""),
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


def sentence(row, currency: str) -> str | None:
    """One plain sentence for a row of the differences table (None if it cannot be said)."""
    if row["metric"] not in SENTENCES or not all(math.isfinite(float(row[k])) for k in ("difference", "ci_low", "ci_high")):
        return None
    what, kind, unit = SENTENCES[row["metric"]]
    k = _scale(row["metric"])
    d, lo, hi = (float(row[c]) * k for c in ("difference", "ci_low", "ci_high"))
    n = _decimals(lo, hi, 0 if kind == "money" else (1 if kind == "points" else 2))
    ci = f"95 % CI {_fmt(lo, kind, currency, n)} to {_fmt(hi, kind, currency, n)}"
    if lo <= 0 <= hi:
        return f"{row['scenario']} does not change the {what} detectably (difference {_fmt(d, kind, currency, n)}{unit}, {ci})."
    verb = "raises" if d > 0 else "lowers"
    return f"{row['scenario']} {verb} the {what} by {_fmt(abs(d), kind, currency, n)}{unit} ({ci})."


def _band(ax, x, paths: np.ndarray, colour: str, label: str, scale: float = 1.0):
    """Mean path and the 95 % band of the mean across replications."""
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(paths, axis=0) * scale
        n = np.maximum(np.sum(np.isfinite(paths), axis=0), 1)
        half = 1.96 * np.nanstd(paths, axis=0, ddof=1) / np.sqrt(n) * scale if paths.shape[0] > 1 else np.zeros_like(mean)
    ax.plot(x, mean, color=colour, label=label, linewidth=2)
    ax.fill_between(x, mean - half, mean + half, color=colour, alpha=0.25, linewidth=0)


def _figure(height: float = 5.0):
    fig = plt.figure(figsize=(WIDTH, round(height * DPI) / DPI), dpi=DPI, layout="constrained")
    return fig


def _legend(ax):
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)


def figures(cmp: "Comparison") -> dict[str, plt.Figure]:
    """The five plots of a comparison, as matplotlib figures keyed by file stem."""
    names = cmp.names
    colour = {n: SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)] for i, n in enumerate(names)}
    currency = cmp.scenarios[0].simulation.currency
    out = {}
    with plt.rc_context(STYLE):
        fig = _figure()
        ax = fig.subplots()
        for n in names:
            c = cmp.curves[n]
            _band(ax, np.arange(c.retention.shape[1]) * c.period_months, c.retention, colour[n], n, 100.0)
        ax.set(xlabel="month", ylabel="% of initial customers still with the focal firm", ylim=(0, 102))
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_title("Retention of the focal firm's initial customers (mean and 95 % band over replications)", loc="left")
        _legend(ax)
        out["retention"] = fig

        fig = _figure()
        ax = fig.subplots()
        for n in names:
            c = cmp.curves[n]
            _band(ax, np.arange(c.churn.shape[1]) * c.period_months, c.churn, colour[n], n, 100.0)
        ax.set(xlabel="month", ylabel="churn in the period (%)")
        ax.set_title("Churn per period of the focal firm (mean and 95 % band)", loc="left")
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
            ax.stackplot(x, *[np.nan_to_num(mean[:, LOYALTY_CLASSES.index(k)]) for k in order],
                         labels=[CLASS_LABELS[k] for k in order], colors=[CLASS_COLOURS[k] for k in order], step="post")
            ax.set(ylabel="% of customers", ylim=(0, 100))
            ax.set_title(n, loc="left", color=colour[n], fontweight="bold")
        axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="why customers stay")
        axes[-1].set_xlabel("month")
        fig.suptitle("Why the focal firm's customers stay (mean over replications)", x=0.005, ha="left", fontweight="bold")
        out["loyalty_classes"] = fig

        fig = _figure()
        ax = fig.subplots()
        wide = cmp.wide()
        width = 0.8 / len(names)
        for k, n in enumerate(names):
            rows = wide[wide["scenario"] == n]
            means, halves = [], []
            for cls in LOYALTY_CLASSES:
                v = rows[f"clv_{cls}"].to_numpy(float)
                v = v[np.isfinite(v)]
                means.append(v.mean() if v.size else np.nan)
                halves.append(1.96 * v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else 0.0)
            xs = np.arange(len(LOYALTY_CLASSES)) + (k - (len(names) - 1) / 2) * width
            ax.bar(xs, means, width=width * 0.95, color=colour[n], label=n, yerr=halves, capsize=3)
        ax.set_xticks(np.arange(len(LOYALTY_CLASSES)), [CLASS_LABELS[c] for c in LOYALTY_CLASSES])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:,.0f}"))
        ax.set_ylabel(f"mean CLV ({currency})")
        ax.set_title("CLV of the focal firm's initial customers by the loyalty class they held longest (95 % interval)", loc="left")
        ax.axhline(0, color="#333333", linewidth=0.8)
        _legend(ax)
        out["clv_by_class"] = fig

        fig = _figure()
        ax = fig.subplots()
        for n in names:
            c = cmp.curves[n]
            _band(ax, np.arange(c.profit.shape[1]) * c.period_months, np.cumsum(c.profit, axis=1), colour[n], n)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:,.0f}"))
        ax.set(xlabel="month", ylabel=f"cumulative profit ({currency})")
        ax.axhline(0, color="#333333", linewidth=0.8)
        ax.set_title("Cumulative profit of the focal firm (mean and 95 % band)", loc="left")
        _legend(ax)
        out["profit"] = fig
    return out


def _png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.5; }
h1 { font-size: 1.7em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { padding: 0.25em 0.6em; border-bottom: 1px solid #eee; text-align: right; }
td:first-child, th:first-child, td:nth-child(2), th:nth-child(2) { text-align: left; }
li.finding { margin: 0.4em 0; } .note { color: #555; font-size: 0.92em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
"""


def _table(df, money: set[str]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            if isinstance(v, float):
                text = "" if not math.isfinite(v) else (f"{v:,.0f}" if c in money else f"{v:.4g}")
            else:
                text = str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(cmp: "Comparison", images: dict[str, bytes]) -> str:
    """The report page (every image embedded as a data URL)."""
    currency = cmp.scenarios[0].simulation.currency
    sc0 = cmp.scenarios[0]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Comparison: {html.escape(', '.join(cmp.names))}</title>"
             f"<style>{CSS}</style></head><body>"]
    parts.append(f"<h1>Strategy comparison: {html.escape(cmp.names[0])} vs {html.escape(', '.join(cmp.names[1:]))}</h1>")
    parts.append(f"<p class='note'>Every scenario ran {len(cmp.seeds)} times; replication r of every scenario used the same seed "
                 f"(derived from seed {cmp.seed}), so each difference is paired customer by customer. "
                 f"{sc0.simulation.customers:,} initial customers, {sc0.simulation.periods} periods of "
                 f"{sc0.simulation.period_months:g} month(s). Figures are about the focal firm "
                 f"({html.escape(sc0.firms[0].name)}). Intervals are 95 % paired t-intervals over replications.</p>")
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
    titles = {"retention": "Retention", "churn": "Churn per period", "loyalty_classes": "Why customers stay",
              "clv_by_class": "CLV by loyalty class", "profit": "Profit"}
    for key in PLOTS:
        if key in images:
            data = base64.b64encode(images[key]).decode("ascii")
            parts.append(f"<h2>{titles[key]}</h2><img alt='{titles[key]}' src='data:image/png;base64,{data}'>")
    parts.append("<h2>Differences (scenario minus baseline)</h2>")
    parts.append(_table(cmp.differences, money=set()))
    summary = cmp.replications.groupby(["scenario", "metric"], sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    parts.append("<h2>Metrics per scenario (over replications)</h2>")
    parts.append(_table(summary, money=set()))
    parts.append("<h2>Manifest</h2><p class='note'>The full scenarios, with every default filled in, and the seeds.</p>")
    parts.append(f"<pre>{html.escape(json.dumps(cmp.manifest(), indent=2, sort_keys=True))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(cmp: "Comparison", folder: Path, plots: bool = True) -> None:
    """``report.html`` and, with ``plots``, ``plots/<name>.png`` in ``folder``."""
    images = {}
    if plots:
        (folder / "plots").mkdir(exist_ok=True)
        for name, fig in figures(cmp).items():
            images[name] = _png(fig)
            (folder / "plots" / f"{name}.png").write_bytes(images[name])
    (folder / "report.html").write_text(render_html(cmp, images), encoding="utf-8")
