"""Small SVG charts for the live dashboard: line charts, stacked areas and grouped bars.

The dashboard redraws every plot every period while it plays, several times a second. Drawing with
matplotlib costs about 40 ms per figure here, too slow for five plots; these charts are SVG text built in
well under a millisecond and drawn by the browser, crisp at any projector size. Each chart is a
``<svg>`` whose ``viewBox`` is fixed and whose width follows its container, so its fonts grow with it.
Every data series is a ``<path>`` carrying ``data-series`` (its name) and ``data-last`` (its latest
value), which the browser tests read.

Colours follow :mod:`sim.plots`: firms by position (:data:`sim.plots.FIRM_PALETTE`), loyalty classes by
:data:`sim.plots.CLASS_COLOURS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

W = 480  # viewBox width: a chart drawn 430-480 px wide shows its text at about the sizes below
PLOT_H = 200  # height of the plotting area
LEFT, RIGHT, BOTTOM = 66, 14, 46
TITLE_Y, LEGEND_Y, LEGEND_ROW = 26, 52, 23
FONT = "Roboto, 'DejaVu Sans', Arial, sans-serif"
TITLE_SIZE, TEXT_SIZE, TICK_SIZE = 22, 18, 16
GRID, AXIS, INK, MUTED = "#e3e3e3", "#9e9e9e", "#212121", "#616161"
CHAR = 0.54  # average character width, in font sizes


@dataclass
class Series:
    """One line (or area layer): its label, colour, x and y values, and an optional dash pattern."""

    label: str
    colour: str
    x: Sequence[float]
    y: Sequence[float]
    dash: str | None = None
    width: float = 3.5


# ------------------------------------------------------------------------------------- formatting
def percent(v: float) -> str:
    return f"{v:.0%}"


def percent_points(v: float) -> str:
    return f"{v * 100:+.0f} pp" if v else "0"


def money(v: float) -> str:
    """Short money labels: 950, 12k, 1.2M."""
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.3g}bn"
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.3g}k"
    return f"{v:,.0f}"


def plain(v: float) -> str:
    return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def month_ticks(x_max: float) -> list[float]:
    """Ticks of a month axis from 0 to ``x_max``: every 12 months (years, where yearly contracts end and
    their cliffs show), every 24, 36, ... months on an axis of more than ten years, every 3 or 6 months on
    one shorter than two years."""
    if x_max < 24:
        step = 3 if x_max <= 12 else 6
    else:
        step = 12 * max(1, math.ceil(x_max / 120))
    return [float(k * step) for k in range(int(x_max // step) + 1)]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, v = [], start
    while v < hi + step * 0.5 and len(ticks) < 50:
        ticks.append(round(v, 12))
        v += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def _path(xs, ys) -> str:
    """``M x y L x y ...`` of pixel coordinates (one decimal)."""
    xs = np.asarray(xs, dtype=float).round(1).tolist()
    ys = np.asarray(ys, dtype=float).round(1).tolist()
    return "M" + " L".join(map("{:g} {:g}".format, xs, ys))


# ------------------------------------------------------------------------------------- the frame
Legend = list[tuple[str, str, "str | None"]]  # (label, colour, dash: None for a box, "" for a solid line)


def _legend(legend: Legend) -> tuple[list[str], float]:
    """The legend's SVG elements, wrapped onto rows, and the y where the plot may start."""
    parts, x, y = [], 10.0, float(LEGEND_Y)
    for label, colour, dash in legend:
        key = 16 if dash is None else 22
        width = key + 6 + CHAR * TEXT_SIZE * len(label) + 18
        if x + width > W + 10 and x > 10:
            x, y = 10.0, y + LEGEND_ROW
        if dash is None:
            parts.append(f'<rect x="{x:.1f}" y="{y - 13:.1f}" width="16" height="16" rx="2" fill="{colour}"/>')
        else:
            parts.append(f'<line x1="{x:.1f}" x2="{x + 22:.1f}" y1="{y - 5:.1f}" y2="{y - 5:.1f}" '
                         f'stroke="{colour}" stroke-width="4"'
                         + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        parts.append(f'<text x="{x + key + 6:.1f}" y="{y:.1f}" font-size="{TEXT_SIZE}" fill="{INK}">{escape(label)}</text>')
        x += width
    return parts, (y + 22 if legend else TITLE_Y + 22)


class _Frame:
    """Maps data to the plotting area (which starts at ``top``) and draws grid, ticks and x label."""

    def __init__(self, top: float, x_max: float, y_lo: float, y_hi: float, fmt: Callable[[float], str], plot_h: float = PLOT_H):
        self.top = top
        self.x_max = x_max if x_max > 0 else 1.0
        self.ticks = nice_ticks(y_lo, y_hi)
        self.y_lo, self.y_hi = self.ticks[0], self.ticks[-1]
        self.fmt = fmt
        self.pw, self.ph = W - LEFT - RIGHT, plot_h
        self.height = top + plot_h + BOTTOM

    def px(self, x):
        return LEFT + self.pw * (np.asarray(x, dtype=float) / self.x_max)

    def py(self, y):
        span = (self.y_hi - self.y_lo) or 1.0
        return self.top + self.ph * (1.0 - (np.asarray(y, dtype=float) - self.y_lo) / span)

    def y_grid(self) -> list[str]:
        out = []
        for t in self.ticks:
            y = float(self.py(t))
            out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
            out.append(f'<text x="{LEFT - 7}" y="{y + 5:.1f}" text-anchor="end" font-size="{TICK_SIZE}" '
                       f'fill="{MUTED}">{escape(self.fmt(t))}</text>')
        return out

    def grid(self, x_label: str) -> list[str]:
        out = self.y_grid()
        base = self.top + self.ph
        if self.y_lo < 0 < self.y_hi:
            y0 = float(self.py(0.0))
            out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y0:.1f}" y2="{y0:.1f}" stroke="{AXIS}" stroke-width="1.5"/>')
        for t in month_ticks(self.x_max) if x_label == "month" else nice_ticks(0, self.x_max, 6):
            if t > self.x_max + 1e-9:
                continue
            x = float(self.px(t))
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 5}" stroke="{AXIS}"/>')
            out.append(f'<text x="{x:.1f}" y="{base + 21}" text-anchor="middle" font-size="{TICK_SIZE}" '
                       f'fill="{MUTED}">{t:g}</text>')
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{base}" y2="{base}" stroke="{AXIS}" stroke-width="1.5"/>')
        out.append(f'<text x="{W - RIGHT}" y="{self.height - 4}" text-anchor="end" font-size="{TICK_SIZE}" '
                   f'fill="{MUTED}">{escape(x_label)}</text>')
        return out


def _svg(name: str, title: str, height: float, legend_parts: list[str], body: list[str]) -> str:
    return "".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height:.0f}" width="100%" '
        'preserveAspectRatio="xMidYMid meet" '
        f'data-chart="{escape(name)}" role="img" aria-label="{escape(title)}" style="font-family:{FONT}; display:block">',
        f'<text x="8" y="{TITLE_Y}" font-size="{TITLE_SIZE}" font-weight="600" fill="{INK}">{escape(title)}</text>',
        *legend_parts, *body, "</svg>"])


def _empty(name: str, title: str, message: str) -> str:
    height = TITLE_Y + 22 + PLOT_H + BOTTOM
    body = [f'<text x="{W / 2}" y="{height / 2 + 10}" text-anchor="middle" font-size="{TEXT_SIZE}" '
            f'fill="{MUTED}">{escape(message)}</text>']
    return _svg(name, title, height, [], body)


def _bounds(values: list[float], lo: float | None, hi: float | None, include_zero: bool) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    a = min(finite) if finite else 0.0
    b = max(finite) if finite else 1.0
    if include_zero:
        a, b = min(a, 0.0), max(b, 0.0)
    return (a if lo is None else lo), (b if hi is None else hi)


# ------------------------------------------------------------------------------------- charts
def line_chart(name: str, title: str, series: Sequence[Series], x_max: float, x_label: str = "month",
               fmt: Callable[[float], str] = plain, y_min: float | None = None, y_max: float | None = None,
               include_zero: bool = True, step: bool = False, empty: str = "press play") -> str:
    """Lines over time (x from 0 to ``x_max``); ``step`` draws per-period values as steps."""
    if not any(len(s.y) for s in series):
        return _empty(name, title, empty)
    legend, top = _legend([(s.label, s.colour, s.dash or "") for s in series])
    values = [float(v) for s in series for v in s.y]
    fr = _Frame(top, x_max, *_bounds(values, y_min, y_max, include_zero), fmt)
    body = fr.grid(x_label)
    for s in series:
        xs = np.asarray(s.x, dtype=float)
        ys = np.asarray(s.y, dtype=float)
        finite = np.isfinite(ys)
        if not finite.any():
            continue
        last = float(ys[finite][-1])
        if step:
            width = (xs[1] - xs[0]) if len(xs) > 1 else 1.0
            xs = np.column_stack([xs, np.append(xs[1:], xs[-1] + width)]).ravel()
            ys, finite = np.repeat(ys, 2), np.repeat(finite, 2)
        d = _path(fr.px(xs[finite]), fr.py(np.clip(ys[finite], fr.y_lo, fr.y_hi)))
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        body.append(f'<path d="{d}" fill="none" stroke="{s.colour}" stroke-width="{s.width}" stroke-linejoin="round"{dash} '
                    f'data-series="{escape(s.label)}" data-last="{last:.6g}"/>')
    return _svg(name, title, fr.height, legend, body)


def stacked_area(name: str, title: str, layers: Sequence[Series], x_max: float, x_label: str = "month",
                 empty: str = "press play") -> str:
    """Shares that sum to 1, stacked bottom to top in the order given (per-period steps)."""
    n = min((len(s.y) for s in layers), default=0)
    if n == 0:
        return _empty(name, title, empty)
    legend, top = _legend([(s.label, s.colour, None) for s in layers])
    fr = _Frame(top, x_max, 0.0, 1.0, percent)
    body = fr.grid(x_label)
    xs = np.asarray(layers[0].x, dtype=float)[:n]
    width = (xs[1] - xs[0]) if len(xs) > 1 else 1.0
    ex = np.column_stack([fr.px(xs), fr.px(xs + width)]).ravel()  # each period's value holds over its width
    bottom = np.zeros(n)
    for s in layers:
        ys = np.nan_to_num(np.asarray(s.y, dtype=float)[:n], nan=0.0)
        top_ = bottom + ys
        up, down = np.repeat(fr.py(top_), 2), np.repeat(fr.py(bottom), 2)
        d = _path(np.concatenate([ex, ex[::-1]]), np.concatenate([up, down[::-1]])) + " Z"
        body.append(f'<path d="{d}" fill="{s.colour}" stroke="none" data-series="{escape(s.label)}" data-last="{ys[-1]:.6g}"/>')
        bottom = top_
    return _svg(name, title, fr.height, legend, body)


def grouped_bars(name: str, title: str, categories: Sequence[str], groups: Sequence[tuple[str, str, Sequence[float]]],
                 fmt: Callable[[float], str] = plain, empty: str = "press play") -> str:
    """One cluster of bars per category, one bar per group (label, colour, values by category);
    a NaN value leaves a gap."""
    values = [float(v) for _, _, vs in groups for v in vs]
    if not categories or not any(math.isfinite(v) for v in values):
        return _empty(name, title, empty)
    legend, top = _legend([(label, colour, None) for label, colour, _ in groups])
    fr = _Frame(top, 1.0, *_bounds(values, None, None, True), fmt)
    body = fr.y_grid()
    y0 = float(fr.py(0.0))
    slot = fr.pw / len(categories)
    bar = slot * 0.8 / max(len(groups), 1)
    for c, cat in enumerate(categories):
        x0 = LEFT + c * slot + slot * 0.1
        for g, (label, colour, vs) in enumerate(groups):
            v = float(vs[c])
            if not math.isfinite(v):
                continue
            y = float(fr.py(v))
            body.append(f'<rect x="{x0 + g * bar:.1f}" y="{min(y, y0):.1f}" width="{bar * 0.92:.1f}" height="{abs(y0 - y):.1f}" '
                        f'fill="{colour}" data-series="{escape(label)}" data-category="{escape(cat)}" data-last="{v:.6g}"/>')
        body.append(f'<text x="{LEFT + (c + 0.5) * slot:.1f}" y="{fr.top + fr.ph + 21}" text-anchor="middle" '
                    f'font-size="{TICK_SIZE}" '
                    f'fill="{INK}">{escape(cat)}</text>')
    body.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y0:.1f}" y2="{y0:.1f}" stroke="{AXIS}" stroke-width="1.5"/>')
    return _svg(name, title, fr.height, legend, body)


def hbar_stack(name: str, title: str, rows: Sequence[tuple[str, Sequence[float]]], layers: Sequence[tuple[str, str]],
               fmt: Callable[[float], str] = plain) -> str:
    """One horizontal stacked bar per row (label, values per layer); layers are (label, colour)."""
    legend, top = _legend([(label, colour, None) for label, colour in layers])
    total = max((sum(v for v in vals if math.isfinite(v)) for _, vals in rows), default=0.0) or 1.0
    label_w = min(160, 12 + CHAR * TEXT_SIZE * max((len(r[0]) for r in rows), default=4))
    left = 8 + label_w
    pw = W - left - RIGHT - 60
    body = []
    for r, (label, vals) in enumerate(rows):
        y = top + 6 + r * 52
        x = float(left)
        body.append(f'<text x="{left - 8}" y="{y + 25}" text-anchor="end" font-size="{TEXT_SIZE}" '
                    f'fill="{INK}">{escape(label)}</text>')
        for (layer, colour), v in zip(layers, vals):
            w = pw * (v / total) if math.isfinite(v) and v > 0 else 0.0
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="38" fill="{colour}" data-series="{escape(label)}" '
                        f'data-category="{escape(layer)}" data-last="{v:.6g}"/>')
            if w > 9 * len(fmt(v)):
                body.append(f'<text x="{x + w / 2:.1f}" y="{y + 25}" text-anchor="middle" font-size="{TICK_SIZE}" '
                            f'fill="{INK}">{escape(fmt(v))}</text>')
            x += w
        body.append(f'<text x="{x + 6:.1f}" y="{y + 25}" font-size="{TICK_SIZE}" fill="{MUTED}">{escape(fmt(sum(vals)))}</text>')
    height = top + 6 + 52 * len(rows) + 10
    return _svg(name, title, height, legend, body)
