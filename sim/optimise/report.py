"""``report.html`` of a study: one self-contained page (figures embedded as data URLs, nothing loaded
from the network): the recommendation in one paragraph with its interval, the confirmation table, the
search's progress, parameter importances, the Pareto front (two objectives) and one-parameter slices
through the recommended point."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from typing import TYPE_CHECKING

import numpy as np

from .verify import mean_interval

if TYPE_CHECKING:  # pragma: no cover
    from .core import StudyResult


def money_metric(metric: str) -> bool:
    """Whether a metric is an amount of money (CLV and profit figures)."""
    return metric.startswith(("clv", "profit"))


def share_metric(metric: str) -> bool:
    """Whether a metric is a share (retention and share figures), shown in per cent."""
    return metric.startswith("retention_") or metric.endswith("_share")


def fmt(metric: str, value: float, currency: str = "", signed: bool = False) -> str:
    """A metric's value as a person reads it: money with separators, shares in per cent (differences
    in points), other figures with four significant digits."""
    if value is None or not math.isfinite(value):
        return "n/a"
    sign = "+" if signed and value > 0 else ""
    if money_metric(metric):
        return f"{sign}{value:,.0f} {currency}".strip()
    if share_metric(metric):
        return f"{sign}{100 * value:.1f} {'points' if signed else '%'}"
    return f"{sign}{value:.4g}"


def _setting(result: StudyResult, candidate) -> str:
    """A candidate's settings in words: each parameter's value, each budget lever's money and dose."""
    spec = result.spec
    parts = []
    for p in spec.parameters:
        v = candidate.params.get(p.key)
        if p.lever is not None:
            parts.append(f"measure {p.lever} ({spec.base.measures[p.lever].type}) {'on' if v else 'off'}")
        elif isinstance(v, float):
            parts.append(f"{p.key} = {v:.4g}")
        else:
            parts.append(f"{p.key} = {v}")
    if spec.budget is not None:
        currency = spec.base.simulation.currency
        for lv in spec.budget.levers:
            money = candidate.derived.get(f"budget.{lv.name}", math.nan)
            dose = candidate.derived.get(f"measures.{lv.index}.{lv.dose}")
            parts.append(f"{money:,.0f} {currency} a period on {lv.name}" + (f" ({lv.dose} {dose:.3g})" if dose else " (off)"))
        if spec.budget.at_most:
            parts.append(f"{candidate.derived.get('budget.unspent', math.nan):,.0f} {currency} a period unspent")
    return "; ".join(parts)


def paragraph(result: StudyResult) -> str:
    """The recommendation in one paragraph, with its confirmed interval and what it cannot be told apart from."""
    spec, rec = result.spec, result.recommendation
    currency = spec.base.simulation.currency
    n = spec.verify.replications
    if rec.best is None:
        return (
            f"No recommendation: {rec.note}. The confirmation table below shows how far each candidate is from the bounds "
            f"({'; '.join(c.describe() for c in spec.constraints)})."
        )
    best = rec.best
    lines = [f"Recommended: {_setting(result, best)} ({best.name})."]
    v = result.verification.set_index(["strategy", "metric"])
    for metric in spec.objective.metrics:
        row = v.loc[(best.name, metric)]
        ci = (
            f"paired 95 % CI {fmt(metric, row['diff_ci_low'], currency, signed=True)} to "
            f"{fmt(metric, row['diff_ci_high'], currency, signed=True)}"
        )
        versus = (
            f"not detectably different from the base "
            f"(difference {fmt(metric, row['difference_vs_base'], currency, signed=True)}, {ci})"
            if row["diff_ci_low"] <= 0 <= row["diff_ci_high"]
            else f"{fmt(metric, row['difference_vs_base'], currency, signed=True)} against the base ({ci})"
        )
        lines.append(
            f"On {n} fresh replications its {metric} is {fmt(metric, row['mean'], currency)} "
            f"(95 % CI {fmt(metric, row['ci_low'], currency)} to {fmt(metric, row['ci_high'], currency)}), {versus}."
        )
    for c in spec.constraints:
        row = v.loc[(best.name, c.metric)]
        lines.append(f"It meets {c.describe()} ({c.metric} {fmt(c.metric, row['mean'], currency)} on the fresh seeds).")
    if rec.ties:
        names = ", ".join(f"{c.name} ({_setting(result, c)})" for c in rec.ties)
        if len(spec.objective.metrics) == 1:
            lines.append(
                f"It cannot be told apart from {names}: their paired differences from it have 95 % intervals that "
                f"include 0, so choose among them on other grounds, or confirm with more replications."
            )
        else:
            lines.append(
                f"With two objectives it is one choice on a front: {names} are not worse on both; it is the knee "
                f"(the best balance once both objectives are scaled to their range)."
            )
    elif len(spec.objective.metrics) == 1:
        lines.append("Every other candidate is detectably worse (paired 95 % intervals exclude 0).")
    else:
        lines.append("Its confirmed means are at least as good as every other candidate's on both objectives.")
    return " ".join(lines)


# ------------------------------------------------------------------------------------------ figures
def _png(fig) -> str:
    from ..plots import DPI

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(rows: int = 1, cols: int = 1, height: float = 4.2):
    from matplotlib import rc_context

    from ..plots import STYLE, WIDTH, canvas_figure

    with rc_context(STYLE):
        fig = canvas_figure((WIDTH, height * rows), dpi=None)
        axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def progress_figure(result: StudyResult):
    """Each trial's objective on the search seeds, in trial order, with the best feasible so far."""
    from ..plots import FIRM_PALETTE

    spec, t = result.spec, result.trials
    metrics = spec.objective.metrics
    fig, axes = _figure(len(metrics), 1, 3.6)
    done = t[t["state"] == "COMPLETE"].sort_values("trial")
    for ax, metric, direction in zip(axes[:, 0], metrics, spec.objective.directions):
        ok = done[done["feasible"]]
        bad = done[~done["feasible"]]
        ax.scatter(ok["trial"], ok[metric], s=22, color=FIRM_PALETTE[0], label="trial (meets the constraints)")
        if len(bad):
            ax.scatter(bad["trial"], bad[metric], s=22, marker="x", color="#999999", label="trial (violates a constraint)")
        if len(ok) and len(metrics) == 1:
            run = ok[metric].cummax() if direction == "maximize" else ok[metric].cummin()
            ax.step(ok["trial"], run, where="post", color=FIRM_PALETTE[1], label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(metric)
        ax.legend(loc="best", frameon=False, fontsize=9)
    fig.suptitle(
        f"Search progress ({spec.method}, {spec.search.replications} replication(s) per trial on common seeds)",
        x=0.005,
        ha="left",
        fontsize=12,
    )
    return fig


def importance_figure(result: StudyResult):
    """fANOVA importance of each searched parameter, per objective."""
    from ..plots import FIRM_PALETTE

    imp = result.importances
    metrics = [m for m in result.spec.objective.metrics if m in imp]
    fig, axes = _figure(1, max(1, len(metrics)), 0.5 + 0.45 * max(len(v) for v in imp.values()) + 1.0)
    for ax, metric in zip(axes[0], metrics):
        names = list(imp[metric])[::-1]
        ax.barh(names, [imp[metric][k] for k in names], color=FIRM_PALETTE[0])
        ax.set_xlim(0, 1)
        ax.set_title(metric, loc="left")
        ax.set_xlabel("share of the objective's variance over the trials (fANOVA)")
    return fig


def pareto_figure(result: StudyResult):
    """Two objectives: every trial, the search's front, and the confirmed candidates with 95 % intervals."""
    from ..plots import FIRM_PALETTE
    from .verify import pareto_front

    spec, t = result.spec, result.trials
    mx, my = spec.objective.metrics
    done = t[(t["state"] == "COMPLETE")]
    fig, axes = _figure(1, 1, 5.5)
    ax = axes[0, 0]
    ax.scatter(done[mx], done[my], s=18, color="#bbbbbb", label="trial (search seeds)")
    ok = done[done["feasible"]]
    if len(ok):
        front = ok.iloc[pareto_front(ok[[mx, my]].to_numpy(float), spec.objective.directions)].sort_values(mx)
        ax.plot(front[mx], front[my], "o-", color=FIRM_PALETTE[1], label="Pareto front of the search")
    for c in result.candidates:
        (xm, xl, xh, _), (ym, yl, yh, _) = mean_interval(c.values(mx)), mean_interval(c.values(my))
        best = result.best is not None and c is result.best
        colour = "#000000" if c.trial is None else (FIRM_PALETTE[5] if best else FIRM_PALETTE[0])
        ax.errorbar(
            [xm],
            [ym],
            xerr=[[xm - xl], [xh - xm]],
            yerr=[[ym - yl], [yh - ym]],
            fmt="s" if c.trial is None else ("*" if best else "o"),
            markersize=12 if best else 7,
            color=colour,
            capsize=3,
            label=("base (fresh seeds)" if c.trial is None else ("recommended (fresh seeds)" if best else None)),
        )
        ax.annotate(c.name, (xm, ym), textcoords="offset points", xytext=(6, 6), fontsize=9)
    ax.set_xlabel(f"{mx} ({'higher' if spec.objective.directions[0] == 'maximize' else 'lower'} is better)")
    ax.set_ylabel(f"{my} ({'higher' if spec.objective.directions[1] == 'maximize' else 'lower'} is better)")
    ax.legend(loc="best", frameon=False, fontsize=9)
    fig.suptitle(
        "The trade-off: trials on the search seeds, confirmed candidates on fresh seeds (95 % intervals)",
        x=0.005,
        ha="left",
        fontsize=12,
    )
    return fig


def slices_figure(result: StudyResult):
    """For each parameter: the objective along its range with the others at the recommendation
    (mean over the search seeds, 95 % interval), the recommended value marked."""
    from ..plots import FIRM_PALETTE

    spec = result.spec
    params = list(dict.fromkeys(p["parameter"] for p in result.slices))
    metrics = spec.objective.metrics
    cols = min(3, len(params))
    rows = math.ceil(len(params) / cols) * len(metrics)
    fig, axes = _figure(rows, cols, 3.3)
    flat = [ax for row in axes for ax in row]
    for ax in flat[len(params) * len(metrics) :]:
        ax.set_visible(False)
    k = 0
    for metric in metrics:
        for name in params:
            ax = flat[k]
            k += 1
            pts = [p for p in result.slices if p["parameter"] == name]
            xs = [p["value"] for p in pts]
            stats = [mean_interval(np.array([r.get(metric, math.nan) for r in p["replications"]], dtype=float)) for p in pts]
            means = np.array([s[0] for s in stats])
            lo = np.array([s[1] for s in stats])
            hi = np.array([s[2] for s in stats])
            numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs)
            pos = xs if numeric else list(range(len(xs)))
            err = np.vstack([np.nan_to_num(means - lo), np.nan_to_num(hi - means)])
            ax.errorbar(pos, means, yerr=err, fmt="o-", color=FIRM_PALETTE[0], capsize=3)
            if not numeric:
                ax.set_xticks(pos, [str(x) for x in xs])
            best = result.best.params.get(name) if result.best is not None else None
            if name.startswith("budget.") and result.best is not None:
                keys = spec.budget.keys
                total = sum(result.best.params[k2] for k2 in keys)
                best = result.best.params[name] / total if total > 0 else 1 / len(keys)
                ax.set_xlabel(
                    f"share of the budget {'kept' if name == 'budget.unspent' else 'on ' + name.removeprefix('budget.')}"
                )
            else:
                ax.set_xlabel(name)
            if best is not None and numeric:
                ax.axvline(float(best), color=FIRM_PALETTE[5], linestyle="--", label="recommended")
                ax.legend(loc="best", frameon=False, fontsize=9)
            ax.set_ylabel(metric)
    fig.suptitle(
        f"One-parameter slices through the recommendation ({spec.search.replications} search replication(s) "
        "per point, 95 % intervals)",
        x=0.005,
        ha="left",
        fontsize=12,
    )
    return fig


def confirmation_figure(result: StudyResult):
    """Each confirmed candidate's paired difference from the base, per objective, with its 95 % interval."""
    from ..plots import FIRM_PALETTE

    spec, v = result.spec, result.verification
    metrics = spec.objective.metrics
    names = [c.name for c in result.candidates if c.trial is not None]
    fig, axes = _figure(1, len(metrics), 0.8 + 0.5 * max(1, len(names)) + 1.2)
    for ax, metric in zip(axes[0], metrics):
        rows = v[(v["metric"] == metric) & (v["strategy"].isin(names))].set_index("strategy").reindex(names)
        y = np.arange(len(names))
        d = rows["difference_vs_base"].to_numpy(float)
        err = np.vstack(
            [np.nan_to_num(d - rows["diff_ci_low"].to_numpy(float)), np.nan_to_num(rows["diff_ci_high"].to_numpy(float) - d)]
        )
        colours = [FIRM_PALETTE[5] if result.best is not None and n == result.best.name else FIRM_PALETTE[0] for n in names]
        for yi, di, lo, hi, c in zip(y, d, err[0], err[1], colours):
            ax.errorbar([di], [yi], xerr=[[lo], [hi]], fmt="o", color=c, capsize=4)
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_title(f"{metric}: difference from the base", loc="left")
    fig.suptitle(
        f"Confirmation on {spec.verify.replications} fresh replications, paired with the base (95 % intervals)",
        x=0.005,
        ha="left",
        fontsize=12,
    )
    return fig


# ------------------------------------------------------------------------------------------ the page
CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.5; }
h1 { font-size: 1.7em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { padding: 0.25em 0.6em; border-bottom: 1px solid #eee; text-align: right; }
td:first-child, th:first-child, td:nth-child(2), th:nth-child(2) { text-align: left; }
.recommendation { background: #f3f7fb; border-left: 4px solid #0072b2; padding: 0.8em 1em; }
.note { color: #555; font-size: 0.92em; } pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
"""


def _table(df) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            text = ("" if not math.isfinite(v) else f"{v:,.6g}") if isinstance(v, float) else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render(result: StudyResult) -> str:
    """The report page (every figure embedded)."""
    spec = result.spec
    sim = spec.base.simulation
    e = html.escape
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Optimisation: {e(spec.base.name)}</title>"
        f"<style>{CSS}</style></head><body>"
    ]
    goal = " and ".join(
        f"{'maximise' if d == 'maximize' else 'minimise'} {m}" for m, d in zip(spec.objective.metrics, spec.objective.directions)
    )
    parts.append(f"<h1>Strategy optimisation: {e(spec.base.name)} ({e(goal)})</h1>")
    parts.append(f"<p class='recommendation'>{e(paragraph(result))}</p>")
    done = int((result.trials["state"] == "COMPLETE").sum())
    parts.append(
        f"<p class='note'>{done} of {len(result.trials)} trials completed ({spec.method}, seed {spec.search.seed}); every trial "
        f"ran the same {spec.search.replications} replication seed(s) (common random numbers), so trials are compared "
        f"customer by customer. The best trials on those seeds are biased upward (the winner's curse), so the top "
        f"{spec.verify.top} were run again on {spec.verify.replications} fresh seeds together with the base. "
        f"Intervals are 95 % t-intervals, each on its own (not adjusted for several comparisons). "
        f"{sim.customers:,} initial customers, {sim.periods} periods of {sim.period_months:g} month(s); metrics are "
        f"about the focal firm ({e(spec.base.firms[0].name)}).</p>"
    )
    if spec.constraints:
        parts.append("<p>Constraints: " + e("; ".join(c.describe() for c in spec.constraints)) + ".</p>")
    rec = result.recommendation
    if rec.pairwise:
        import pandas as pd

        pw = pd.DataFrame(rec.pairwise)[["strategy", "metric", "difference", "ci_low", "ci_high", "n"]]
        pw = pw.assign(difference=-pw["difference"], ci_low=-pw["ci_high"], ci_high=-pw["ci_low"])
        parts.append(
            f"<h2>Candidates against the recommendation</h2><p class='note'>Each candidate minus "
            f"{e(rec.best.name)}, paired over the fresh seeds.</p>" + _table(pw)
        )
    figures = [("Confirmation", confirmation_figure), ("Search progress", progress_figure)]
    if result.importances:
        figures.append(("Parameter importances", importance_figure))
    if len(spec.objective.metrics) == 2:
        figures.append(("Pareto front", pareto_figure))
    if result.slices:
        figures.append(("One-parameter slices through the recommendation", slices_figure))
    for title, draw in figures:
        parts.append(f"<h2>{e(title)}</h2><img alt='{e(title)}' src='data:image/png;base64,{_png(draw(result))}'>")
    shown = list(dict.fromkeys(spec.objective.metrics + [c.metric for c in spec.constraints]))
    v = result.verification
    parts.append("<h2>Confirmation on fresh seeds</h2>" + _table(v[v["metric"].isin(shown)]))
    parts.append("<p class='note'>Every metric is in verification.csv; every trial in trials.parquet.</p>")
    settings = {k: v for k, v in result.manifest.items() if k != "base"}  # the base scenario is in manifest.json
    parts.append(
        "<h2>Manifest</h2><details><summary>settings, seeds, versions</summary>"
        f"<pre>{e(json.dumps(settings, indent=2, sort_keys=True, default=str))}</pre></details>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
