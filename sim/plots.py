"""The five standard plots of a run, written as PNG files a room can read.

Every firm appears in every plot, the focal firm (the scenario's first) first, and each firm keeps one
colour by its position in the scenario (:data:`FIRM_PALETTE`, Okabe-Ito, colour-blind safe), so the
focal firm is the same blue in every plot of every scenario. Time runs in months. Under each time plot
a strip shows when each measure runs (one row per measure, shaded per pulse) with ticks where the
contracts signed at the measure's start expire; the same expiries are dashed lines in the plot.

Two layers, usable from notebooks:

- axes-level functions draw one thing on an ``ax`` you pass (or a new one) and return the ``Axes``:
  :func:`retention_curve`, :func:`churn_per_period`, :func:`profit_per_period`,
  :func:`loyalty_shares` (one firm), :func:`clv_distribution` (one firm), :func:`schedule_strip`;
- figure-level functions lay out the standard plot on a ``fig`` you pass (or a new one) and return
  the ``Figure``: :func:`retention_figure`, :func:`churn_figure`, :func:`profit_figure`,
  :func:`loyalty_figure` (one panel per firm), :func:`clv_figure` (one panel per firm).

:func:`save_all` writes the five figures; ``docs/plots.md`` explains how to read each.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, PercentFormatter

if TYPE_CHECKING:  # pragma: no cover

    from .results import RunResult

# One colour per firm position: focal, first rival, second rival, ... (Okabe-Ito, yellow last because it
# is faint on white). Beyond eight firms the colours repeat with another line style.
FIRM_PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000", "#f0e442")
FIRM_LINESTYLES = ("-", "--", ":", "-.")

# Loyalty classes, stacked bottom to top: bonded in purples, attached-only dark grey, free light grey; hues no firm
# has (a firm's blue or orange would read as a loyalty class on the same screen)
CLASS_ORDER = ("bonded_only", "both", "attached_only", "neither")
CLASS_COLOURS = {"bonded_only": "#4A1486", "both": "#B4A7D6", "attached_only": "#636363", "neither": "#D9D9D9"}
CLASS_LABELS = {"bonded_only": "bonded only (want to stay)", "both": "bonded and attached",
                "attached_only": "attached only (must stay)", "neither": "neither (free to go)"}

FONT = 12  # base font size in points; at DPI below, 12 pt is 18 px
DPI = 110
WIDTH = 13.0  # inches: 1430 px
STYLE = {
    "font.size": FONT, "axes.titlesize": FONT + 1, "axes.labelsize": FONT, "xtick.labelsize": FONT - 1,
    "ytick.labelsize": FONT - 1, "legend.fontsize": FONT - 1, "figure.titlesize": FONT + 3,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8, "axes.axisbelow": True, "legend.frameon": False,
}
MAX_SHADED = 2  # measures shaded inside a time plot at most; the strip beneath shows all
STRIP_ROW = 0.34  # inches per measure row in a schedule strip
EXPIRY_LABEL = "contracts expire (signed at the measure's start)"
CENSORED_NOTE = "censored at the horizon: CLV so far"

_thousands = FuncFormatter(lambda x, _pos: f"{x:,.0f}")


# ---------------------------------------------------------------------------------------- helpers
def firm_names(res: RunResult) -> list[str]:
    """The scenario's firms in order, focal first."""
    return [f.name for f in res.scenario.firms]


def firm_colour(res: RunResult, firm: str) -> str:
    """The fixed colour of ``firm``: chosen by its position in the scenario, not by its name."""
    return FIRM_PALETTE[firm_names(res).index(firm) % len(FIRM_PALETTE)]


def firm_style(res: RunResult, firm: str) -> dict:
    """Line colour and style of ``firm`` (the style changes only after all colours are used)."""
    i = firm_names(res).index(firm)
    return {
        "color": FIRM_PALETTE[i % len(FIRM_PALETTE)],
        "linestyle": FIRM_LINESTYLES[(i // len(FIRM_PALETTE)) % len(FIRM_LINESTYLES)],
    }


def currency(res: RunResult) -> str:
    """The scenario's currency label (``simulation.currency``)."""
    return res.scenario.simulation.currency


def censored(rel: pd.DataFrame) -> pd.Series:
    """True for relationships still running at the horizon."""
    return rel["censored"].astype(bool)


def _pm(res) -> float:
    return float(res.scenario.simulation.period_months)


def _horizon(res) -> int:
    return int(res.scenario.simulation.periods)


def _per_period(res) -> str:
    """'month' for monthly periods, else 'period (3 months)'."""
    pm = _pm(res)
    return "month" if pm == 1 else f"period ({pm:g} months)"


def _measure_firm(res, m) -> str:
    return firm_names(res)[res.scenario.firm_index(m.firm)]


def _measures(res, firms: Iterable[str] | None = None) -> list:
    """The scenario's measures (only those of ``firms`` if given), grouped by firm position."""
    if not res.scenario.mechanisms.measures:
        return []
    names = firm_names(res)
    wanted = set(names if firms is None else firms)
    ms = [m for m in res.scenario.measures if _measure_firm(res, m) in wanted]
    return sorted(ms, key=lambda m: names.index(_measure_firm(res, m)))  # stable: scenario order within a firm


def _is_active(schedule, t: int) -> bool:
    if t < schedule.start or (schedule.end is not None and t >= schedule.end):
        return False
    return schedule.every is None or (t - schedule.start) % schedule.every < schedule.duration


def active_spans(schedule, horizon: int) -> list[tuple[int, int]]:
    """Periods ``[start, end)`` in which a schedule is active within the horizon: one span per pulse
    for pulsed schedules (``every``/``duration``), one span to the horizon for open-ended ones."""
    start, end = schedule.start, horizon if schedule.end is None else min(schedule.end, horizon)
    if start >= end:
        return []
    if schedule.every is None:
        return [(start, end)]
    spans: list[tuple[int, int]] = []
    for p in range(start, end, schedule.every):
        s, e = p, min(p + schedule.duration, end)
        if spans and s <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], e))
        else:
            spans.append((s, e))
    return spans


def contract_expiries(measure, horizon: int) -> list[int]:
    """Periods at which contracts signed at the measure's first active period expire and renew:
    ``start + k * term`` (k = 1, 2, ...) up to the horizon, as long as the measure still runs in the
    period before to renew them. Empty for measures without a ``term``."""
    term = getattr(measure, "term", None)
    spans = active_spans(measure.schedule, horizon)
    if not term or not spans:
        return []
    s, out, k = spans[0][0], [], 1
    while s + k * term <= horizon:
        if k > 1 and not _is_active(measure.schedule, s + (k - 1) * term - 1):
            break
        out.append(s + k * term)
        k += 1
    return out


def describe_measure(res, m, with_firm: bool = True) -> str:
    """A short label such as 'focal: contract 12 months, exit fee 120 EUR (twelve_month)'."""
    pm, cur = _pm(res), currency(res)
    kind = getattr(m, "type", type(m).__name__)
    if kind == "contract":
        text = f"contract {m.term * pm:g} months, exit fee {m.exit_fee:,.0f} {cur}"
    elif kind == "discount":
        text = f"discount {m.rate:.0%}"
    elif kind == "service":
        text = f"service investment (quality +{m.quality_boost:g})"
    elif kind == "nostalgia":
        text = f"nostalgia campaign ({m.cohort})"
    elif kind == "price_change":
        text = f"list price x{m.factor:g}"
    else:
        text = str(kind)
    t = getattr(m, "target", None)
    who = [str(v) for v in (getattr(t, "segment", None), getattr(t, "loyalty_class", None), getattr(t, "cohort", None)) if v]
    if who:
        text += f" ({', '.join(who)})"
    s = m.schedule
    if s.every is not None:
        text += f", {s.duration * pm:g} of every {s.every * pm:g} months"
    return f"{_measure_firm(res, m)}: {text}" if with_firm else text


def _steps(x: np.ndarray, y: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """A per-period series as a step: the value of period t holds over [month(t), month(t) + width)."""
    if len(x) == 0:
        return x, y
    return np.append(x, x[-1] + width), np.append(y, y[-1])


def _month_axis(ax, res) -> None:
    months = _horizon(res) * _pm(res)
    ax.set_xlim(0, months)
    if months >= 36:
        ax.xaxis.set_major_locator(MultipleLocator(12))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _legend_right(ax, handles=None, labels=None, title=None):
    """A legend outside the axes, to the right, so it never covers data."""
    kw = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0, "frameon": False, "title": title}
    if title:
        kw["alignment"] = "left"
    if handles is None:
        return ax.legend(**kw)
    return ax.legend(handles, labels, **kw)


def _new_ax(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(WIDTH, 5.0), dpi=DPI, layout="constrained")
    return ax


def mark_measures(ax, res, firms: Iterable[str] | None = None, spans: bool = True, expiries: bool = True,
                  colour: str = "#555555") -> list:
    """Mark measure schedules on a time axis: light shading in the firm's colour for the pulses of
    measures that do not run over the whole horizon (only when at most :data:`MAX_SHADED` measures
    would be shaded; more would tint the plot in patches, and the schedule strip shows them anyway),
    dashed lines (``colour``) where the contracts signed at a measure's start expire. Returns legend
    handles for what was drawn."""
    horizon, pm = _horizon(res), _pm(res)
    handles: list = []
    seen_expiry: set[int] = set()
    ms = _measures(res, firms)
    bounded = [m for m in ms if active_spans(m.schedule, horizon) not in ([], [(0, horizon)])]
    if spans and len(bounded) <= MAX_SHADED:
        for m in bounded:
            for s, e in active_spans(m.schedule, horizon):
                ax.axvspan(s * pm, e * pm, color=firm_colour(res, _measure_firm(res, m)), alpha=0.08, lw=0, zorder=0)
    for m in ms:
        if expiries:
            for p in contract_expiries(m, horizon):
                if p not in seen_expiry:
                    seen_expiry.add(p)
                    ax.axvline(p * pm, color=colour, ls=(0, (4, 3)), lw=1.1, alpha=0.7, zorder=1)
    if seen_expiry:
        handles.append(Line2D([], [], color=colour, ls=(0, (4, 3)), lw=1.1, label=EXPIRY_LABEL))
    return handles


# ---------------------------------------------------------------------------------------- axes level
def schedule_strip(ax, res: RunResult, firms: Iterable[str] | None = None, with_firm: bool = True):
    """One row per measure: shaded where it runs (per pulse, open-ended ones to the horizon), ticks
    where the contracts signed at its start expire, a label saying what it is."""
    horizon, pm = _horizon(res), _pm(res)
    ms = _measures(res, firms)
    ax.grid(False)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    _month_axis(ax, res)
    ax.yaxis.tick_right()
    ax.tick_params(axis="y", length=0, labelsize=FONT - 1)
    if not ms:
        ax.set_ylim(0.5, -0.5)
        ax.set_yticks([0], ["no measures"], color="#555555")
        return ax
    ax.set_ylim(len(ms) - 0.5, -0.5)
    for i, m in enumerate(ms):
        c = firm_colour(res, _measure_firm(res, m))
        bars = [(s * pm, (e - s) * pm) for s, e in active_spans(m.schedule, horizon)]
        ax.broken_barh(bars, (i - 0.36, 0.72), facecolors=c, alpha=0.3, edgecolor=c, lw=1.0)
        exp = contract_expiries(m, horizon)
        if exp:
            ax.plot(np.asarray(exp) * pm, [i] * len(exp), ls="none", marker="|", ms=15, mew=2.2, color="#222222", clip_on=False)
    ax.set_yticks(range(len(ms)), [describe_measure(res, m, with_firm) for m in ms])
    return ax


def retention_curve(res: RunResult, ax=None, measures: bool = True, legend: bool = True):
    """Share (%) of each firm's month-0 customers still with it, by month; every firm, focal first."""
    ax = _new_ax(ax)
    ret = res.retention
    p0 = res.periods[res.periods["period"] == 0].set_index("firm")
    for firm in firm_names(res):
        g = ret[ret["firm"].astype(str) == firm]
        n0 = int(p0.loc[firm, "cohort_active"]) if firm in p0.index else 0
        label = f"{firm} ({n0:,} customers at month 0)" if n0 else f"{firm} (no customers at month 0)"
        ax.plot(g["month"], 100 * g["retention"], lw=2.2, label=label, **firm_style(res, firm))
    extra = mark_measures(ax, res) if measures else []
    ax.set(ylim=(0, 102), xlabel="month", ylabel="still customers (% of month-0 customers)")
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=None))
    _month_axis(ax, res)
    ax.set_title("Retention: share of each firm's month-0 customers still with it", loc="left")
    if legend:
        h, lab = ax.get_legend_handles_labels()
        _legend_right(ax, h + extra, lab + [x.get_label() for x in extra])
    return ax


def churn_per_period(res: RunResult, ax=None, measures: bool = True, legend: bool = True):
    """Churn (%) per period and firm: customers lost (switched away, left the market or a life event) over the
    customers active at the start of the period."""
    ax = _new_ax(ax)
    p, pm, per = res.periods, _pm(res), _per_period(res)
    for firm in firm_names(res):
        g = p[p["firm"].astype(str) == firm]
        rate = 100 * g["churn_rate"].to_numpy(dtype=float)
        mean = np.nanmean(rate) if np.isfinite(rate).any() else None
        label = f"{firm} (mean {mean:.1f} % per {per.split(' ')[0]})" if mean is not None else f"{firm} (no customers)"
        x, y = _steps(g["month"].to_numpy(dtype=float), rate, pm)
        ax.step(x, y, where="post", lw=1.8, label=label, **firm_style(res, firm))
    extra = mark_measures(ax, res) if measures else []
    ax.set(xlabel="month", ylabel=f"churn in the {per} (% of its customers)")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=None))
    _month_axis(ax, res)
    ax.set_title(f"Churn per {per}: customers who switched or left, as % of the firm's customers", loc="left")
    if legend:
        h, lab = ax.get_legend_handles_labels()
        _legend_right(ax, h + extra, lab + [x.get_label() for x in extra])
    return ax


def profit_per_period(res: RunResult, ax=None, measures: bool = True, legend: bool = True):
    """Profit per period and firm (revenue + exit fees - serving, measure and acquisition costs), in
    the scenario's currency, with a zero line; the legend gives each firm's total."""
    ax = _new_ax(ax)
    p, pm, per, cur = res.periods, _pm(res), _per_period(res), currency(res)
    ax.axhline(0, color="#333333", lw=1.0, zorder=1)
    for firm in firm_names(res):
        g = p[p["firm"].astype(str) == firm]
        total = float(g["profit"].sum())
        x, y = _steps(g["month"].to_numpy(dtype=float), g["profit"].to_numpy(dtype=float), pm)
        ax.step(x, y, where="post", lw=1.8, label=f"{firm} (total {total:,.0f} {cur})", **firm_style(res, firm))
    extra = mark_measures(ax, res) if measures else []
    ax.set(xlabel="month", ylabel=f"profit in the {per} ({cur})")
    ax.yaxis.set_major_formatter(_thousands)
    _month_axis(ax, res)
    ax.set_title(f"Profit per {per} ({cur}): revenue and exit fees minus serving, measure and acquisition costs", loc="left")
    if legend:
        h, lab = ax.get_legend_handles_labels()
        _legend_right(ax, h + extra, lab + [x.get_label() for x in extra])
    return ax


def _firm_title(res, firm: str) -> str:
    return f"{firm} (focal firm)" if firm == firm_names(res)[0] else firm


def loyalty_shares(res: RunResult, firm: str | None = None, ax=None, measures: bool = True, legend: bool = True):
    """Stacked shares (%) of the four loyalty classes among one firm's customers, per period
    (default: the focal firm), with dashed lines where its contracts expire."""
    firm = firm or firm_names(res)[0]
    ax = _new_ax(ax)
    p, pm = res.periods, _pm(res)
    g = p[p["firm"].astype(str) == firm]
    has = g["active"].to_numpy() > 0
    x = g["month"].to_numpy(dtype=float)
    lower = np.zeros(len(g))
    for k in CLASS_ORDER:
        share = np.where(has, 100 * g[f"share_{k}"].to_numpy(dtype=float), np.nan)
        xs, lo = _steps(x, lower, pm)
        _, hi = _steps(x, lower + np.nan_to_num(share), pm)
        _, mask = _steps(x, has, pm)
        ax.fill_between(xs, lo, hi, where=mask, step="post", color=CLASS_COLOURS[k], lw=0, label=CLASS_LABELS[k])
        lower = lower + np.nan_to_num(share)
    extra = mark_measures(ax, res, firms=[firm], spans=False, colour="#222222") if measures else []
    if not has.any():
        ax.text(0.5, 0.5, "no customers in any month", transform=ax.transAxes, ha="center", va="center", color="#555555")
    ax.set(ylim=(0, 100), xlabel="month", ylabel="% of customers")
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=None))
    ax.grid(False)
    _month_axis(ax, res)
    ax.set_title(_firm_title(res, firm), loc="left", color=firm_colour(res, firm), fontweight="bold")
    if legend:
        h, lab = ax.get_legend_handles_labels()
        _legend_right(ax, h[::-1] + extra, lab[::-1] + [e.get_label() for e in extra], title="why customers stay")
    return ax


def _clv_bins(rel: pd.DataFrame, target: int = 30) -> np.ndarray:
    """About ``target`` bins of a round width (1, 2, 2.5 or 5 times a power of ten), edges on multiples."""
    x = rel["clv"].to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.linspace(0, 1, target + 1)
    lo, hi = float(x.min()), float(x.max())
    raw = max((hi - lo) / target, 1e-9)
    mag = 10 ** math.floor(math.log10(raw))
    width = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / width) * width
    n = max(int(math.ceil((hi - start) / width + 1e-9)), 1)
    if start + n * width <= hi:
        n += 1
    return start + width * np.arange(n + 1)


def whole_horizon_clv(res: RunResult, firm: str) -> float | None:
    """Approximate CLV of a customer kept from period 0 to the horizon: the firm's average margin per
    active customer (revenue - serving cost) each period, discounted. Marks the horizon on the CLV axis."""
    p = res.periods
    g = p[(p["firm"].astype(str) == firm) & (p["active"] > 0)]
    if g.empty:
        return None
    margin = (g["revenue"] - g["serving_costs"]) / g["active"]
    d = res.scenario.simulation.discount_rate
    return float((margin / (1 + d) ** g["period"]).sum())


def clv_distribution(res: RunResult, firm: str | None = None, ax=None, bins=None, legend: bool = True):
    """Histogram of realised CLV per relationship of one firm (default: focal): relationships that
    ended before the horizon solid, those still running at the horizon (censored: CLV so far)
    hatched on top; a dotted line at the CLV of a customer kept for the whole horizon."""
    firm = firm or firm_names(res)[0]
    ax = _new_ax(ax)
    cur, months = currency(res), _horizon(res) * _pm(res)
    rel_all = res.relationships
    rel = rel_all[rel_all["firm"].astype(str) == firm]
    bins = _clv_bins(rel_all) if bins is None else bins
    cens = censored(rel).to_numpy()
    clv = rel["clv"].to_numpy(dtype=float)
    colour = firm_colour(res, firm)
    labels = [f"ended before the horizon (n={int((~cens).sum()):,})",
              f"still running at month {months:g}, censored: CLV so far (n={int(cens.sum()):,})"]
    if len(rel):
        _, _, patches = ax.hist([clv[~cens], clv[cens]], bins=bins, stacked=True, color=[colour, colour], label=labels)
        for bar in patches[1]:
            bar.set_alpha(0.35)
            bar.set_hatch("///")
            bar.set_edgecolor(colour)
        whole = whole_horizon_clv(res, firm)
        if whole is not None:
            ax.axvline(whole, color="#222222", ls=":", lw=1.8,
                       label=f"kept for the whole {months:g}-month horizon: about {whole:,.0f} {cur}")
    else:
        ax.text(0.5, 0.5, "no relationships", transform=ax.transAxes, ha="center", va="center", color="#555555")
    ax.set(xlabel=f"realised CLV per relationship ({cur}, discounted to its start)", ylabel="relationships")
    ax.xaxis.set_major_formatter(_thousands)
    ax.yaxis.set_major_formatter(_thousands)
    ax.set_title(_firm_title(res, firm), loc="left", color=colour, fontweight="bold")
    if legend:
        if len(rel):
            _legend_right(ax)
        else:
            _legend_right(ax, [Patch(color=colour)], [f"{firm}: no relationships"])
    return ax


# ---------------------------------------------------------------------------------------- figure level
@contextmanager
def _styled():
    """``plt.rc_context(STYLE)``, except that interactive mode set inside it outlives it: the first
    figure of a Jupyter session selects the inline backend, which switches interactive mode on, and a
    plain rc_context would switch it off again on leaving, so that no later figure is shown."""
    with plt.rc_context(STYLE):
        try:
            yield
        finally:
            interactive = matplotlib.is_interactive()
    matplotlib.interactive(interactive)


def canvas_figure(figsize: tuple[float, float], dpi: float | None = DPI, layout: str | None = "constrained") -> Figure:
    """A figure with its own Agg canvas, outside pyplot: what the package draws into when it writes a
    file, so that it never depends on (nor changes) pyplot's backend, e.g. a notebook's inline one."""
    fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


_DETACHED: ContextVar[bool] = ContextVar("detached", default=False)  # True while figures are drawn for files


def _figure(fig, height: float) -> Figure:
    if fig is None:
        height = round(height * DPI) / DPI  # a whole number of pixels, so the PNG is exactly this size
        if _DETACHED.get():
            fig = canvas_figure((WIDTH, height))
        else:
            fig = plt.figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    else:
        fig.set_layout_engine("constrained")
    return fig


def _caption(fig, text: str) -> None:
    if text:
        wrapped = "\n".join(textwrap.fill(par, 150) for par in text.split("\n"))
        fig.supxlabel(wrapped, x=0.005, ha="left", fontsize=FONT - 1, color="#333333", linespacing=1.3)


def _title(fig, res, text: str) -> None:
    fig.suptitle(f"{res.scenario.name}: {text}", x=0.005, ha="left", fontweight="bold")


def _strip_height(n_rows: int) -> float:
    return STRIP_ROW * max(n_rows, 1) + 0.45


def _time_figure(res, draw, title: str, caption: str, fig=None) -> Figure:
    """A single time plot over all firms with the schedule strip beneath it."""
    with _styled():
        n = len(_measures(res))
        strip = _strip_height(n)
        fig = _figure(fig, 5.6 + strip + 0.9)
        gs = fig.add_gridspec(2, 1, height_ratios=[5.0, strip])
        ax = fig.add_subplot(gs[0])
        sx = fig.add_subplot(gs[1], sharex=ax)
        draw(res, ax=ax)
        ax.set_title("", loc="left")
        ax.set_xlabel("")
        ax.tick_params(labelbottom=False)
        schedule_strip(sx, res)
        sx.set_xlabel("month")
        sx.set_title("measures: when they run", loc="left", fontsize=FONT - 1, color="#333333")
        _month_axis(ax, res)
        _title(fig, res, title)
        _caption(fig, caption)
    return fig


def _expiry_caption(res) -> str:
    if any(contract_expiries(m, _horizon(res)) for m in _measures(res)):
        return ("Dashed lines and ticks: contracts signed at a measure's start expire (every term); contracts "
                "signed later expire at other months, so smaller bumps appear between the lines.")
    return ""


def retention_figure(res: RunResult, fig=None) -> Figure:
    """Retention of each firm's month-0 customers, with the measures strip."""
    cap = ("A customer counts as retained while her month-0 relationship lasts; a customer who leaves and "
           "comes back later is not counted again. " + _expiry_caption(res))
    return _time_figure(res, retention_curve, "Retention of each firm's month-0 customers", cap, fig)


def churn_figure(res: RunResult, fig=None) -> Figure:
    """Churn per period by firm, with the measures strip."""
    cap = ("Churn = customers who switched to a competitor or left the market in the period, divided by the "
           "firm's customers in that period. " + _expiry_caption(res))
    return _time_figure(res, churn_per_period, f"Churn per {_per_period(res)}, by firm", cap, fig)


def profit_figure(res: RunResult, fig=None) -> Figure:
    """Profit per period by firm, with the measures strip."""
    cur = currency(res)
    cap = (f"Profit in {cur}, undiscounted: list-price revenue net of discounts, plus exit fees, minus serving "
           "costs, measure costs (fixed and per customer or contract) and acquisition spend. "
           + _expiry_caption(res))
    return _time_figure(res, profit_per_period, f"Profit per {_per_period(res)} by firm ({cur})", cap, fig)


def _grid(n: int) -> tuple[int, int]:
    cols = 1 if n <= 4 else 2
    return math.ceil(n / cols), cols


def loyalty_figure(res: RunResult, fig=None) -> Figure:
    """One panel per firm (focal first, shared axes) of the loyalty-class shares among its customers,
    each with a strip of that firm's measures."""
    names = firm_names(res)
    rows, cols = _grid(len(names))
    strip_rows = [max((len(_measures(res, [names[k]])) for k in range(r * cols, min((r + 1) * cols, len(names)))), default=1)
                  for r in range(rows)]
    panel = 2.7
    with _styled():
        height = sum(panel + _strip_height(s) for s in strip_rows) + 1.6
        fig = _figure(fig, height)
        ratios = [h for s in strip_rows for h in (panel, _strip_height(s))]
        gs = fig.add_gridspec(2 * rows, cols, height_ratios=ratios)
        first = None
        for k, firm in enumerate(names):
            r, c = divmod(k, cols)
            ax = fig.add_subplot(gs[2 * r, c], sharex=first, sharey=first)
            first = first or ax
            sx = fig.add_subplot(gs[2 * r + 1, c], sharex=first)
            loyalty_shares(res, firm, ax=ax, legend=False)
            ax.set_xlabel("")
            ax.tick_params(labelbottom=False)
            schedule_strip(sx, res, [firm], with_firm=False)
            sx.set_xlabel("month" if r == rows - 1 else "")
        handles = [Patch(color=CLASS_COLOURS[k], label=CLASS_LABELS[k]) for k in reversed(CLASS_ORDER)]
        if any(contract_expiries(m, _horizon(res)) for m in _measures(res)):
            handles.append(Line2D([], [], color="#222222", ls=(0, (4, 3)), lw=1.1, label=EXPIRY_LABEL))
        top = fig.axes[0]  # the focal firm's panel: its legend sits to its right, off the data
        _legend_right(top, handles, [h.get_label() for h in handles], title="why customers stay")
        _title(fig, res, "Why customers stay: loyalty classes among each firm's customers, by month")
        cap = ("Bonded = bond at or above bonding.bonded_threshold (want to stay); attached = switching costs "
               "(exit fee due, lock-in, forfeited benefits) at or above attachment.attached_threshold (must stay). "
               "The strip under each panel shows that firm's measures.")
        if any(contract_expiries(m, _horizon(res)) for m in _measures(res)):
            unit = "month" if _pm(res) == 1 else "period"
            cap += (f"\nOne-{unit} spikes of 'neither' / 'bonded only' just before a dashed line are real: in a "
                    f"contract's last {unit} the exit fee is no longer due, so its holders are free to go and "
                    f"most re-shop; those who renew are attached again the next {unit}.")
        _caption(fig, cap)
    return fig


def clv_figure(res: RunResult, fig=None) -> Figure:
    """One panel per firm (focal first, shared axes) of realised CLV per relationship, complete vs
    censored at the horizon."""
    names = firm_names(res)
    rows, cols = _grid(len(names))
    cur, months = currency(res), _horizon(res) * _pm(res)
    rel = res.relationships
    bins = _clv_bins(rel)
    with _styled():
        fig = _figure(fig, 2.9 * rows + 1.8)
        axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
        for k, firm in enumerate(names):
            ax = axes.flat[k]
            clv_distribution(res, firm, ax=ax, bins=bins)
            if k // cols != rows - 1:
                ax.set_xlabel("")
        for ax in axes.flat[len(names):]:
            ax.set_visible(False)
        _title(fig, res, f"Realised customer lifetime value per relationship, by firm ({cur})")
        cap = (f"Hatched bars, {CENSORED_NOTE}. Relationships still running at the {months:g}-month horizon carry "
               "margin only up to it, so their true CLV is higher; the censored ones at the dotted line are customers "
               "kept for the whole horizon. CLV = discounted margin minus per-customer measure costs, plus exit "
               "fees paid; customers won by acquisition spend start at minus the cost per acquisition.")
        _caption(fig, cap)
    return fig


FIGURES = {
    "retention": retention_figure,
    "churn": churn_figure,
    "loyalty_classes": loyalty_figure,
    "clv": clv_figure,
    "profit": profit_figure,
}


def save_all(res: RunResult, folder: Path) -> dict[str, Path]:
    """Write retention.png, churn.png, loyalty_classes.png, clv.png and profit.png into ``folder``;
    return their paths by name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    detached = _DETACHED.set(True)  # figures with their own canvas: pyplot's backend plays no part
    try:
        with _styled():
            for name, make in FIGURES.items():
                make(res).savefig(folder / f"{name}.png", dpi=DPI)
                out[name] = folder / f"{name}.png"
    finally:
        _DETACHED.reset(detached)
    return out
