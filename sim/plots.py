"""The four standard plots of a run, written as PNG files people can read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt

from .params import LOYALTY_CLASSES

if TYPE_CHECKING:  # pragma: no cover
    from .results import RunResult

CLASS_COLOURS = {"bonded_only": "#2a9d8f", "both": "#8ab17d", "attached_only": "#e76f51", "neither": "#adb5bd"}
CLASS_LABELS = {"bonded_only": "bonded only (want to stay)", "both": "bonded and attached",
                "attached_only": "attached only (must stay)", "neither": "neither (free to go)"}


def retention_curve(res: "RunResult", ax=None):
    """Share of each firm's period-0 customers still with it, by month."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for firm, g in res.retention.groupby("firm", observed=True):
        ax.plot(g["month"], g["retention"], label=str(firm))
    ax.set(xlabel="month", ylabel="share of initial customers retained", ylim=(0, 1.02), title="Retention of the initial cohort")
    ax.legend(frameon=False)
    return ax


def churn_per_period(res: "RunResult", ax=None):
    """Churn rate (switches + exits over active customers) per period and firm."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for firm, g in res.periods.groupby("firm"):
        ax.plot(g["month"], 100 * g["churn_rate"], label=firm)
    ax.set(xlabel="month", ylabel="churn in period (%)", title="Churn per period")
    ax.legend(frameon=False)
    return ax


def loyalty_shares(res: "RunResult", firm: str | None = None, ax=None):
    """Stacked shares of the four loyalty classes among a firm's customers (default: focal firm)."""
    firm = firm or res.scenario.firms[0].name
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    g = res.periods[res.periods["firm"] == firm]
    order = ["bonded_only", "both", "attached_only", "neither"]
    ax.stackplot(g["month"], *[100 * g[f"share_{k}"] for k in order], labels=[CLASS_LABELS[k] for k in order],
                 colors=[CLASS_COLOURS[k] for k in order])
    ax.set(xlabel="month", ylabel="share of customers (%)", ylim=(0, 100), title=f"Why customers of {firm} stay")
    ax.legend(loc="lower left", fontsize=8, frameon=True)
    return ax


def clv_distribution(res: "RunResult", firm: str | None = None, ax=None):
    """Histogram of realised CLV per relationship, split by the loyalty class held longest."""
    firm = firm or res.scenario.firms[0].name
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    rel = res.relationships[res.relationships["firm"] == firm]
    data = [rel.loc[rel["loyalty_class"] == k, "clv"].to_numpy() for k in LOYALTY_CLASSES]
    labels = [f"{CLASS_LABELS[k]} (n={len(d)})" for k, d in zip(LOYALTY_CLASSES, data)]
    keep = [i for i, d in enumerate(data) if len(d)]
    ax.hist([data[i] for i in keep], bins=40, stacked=True, label=[labels[i] for i in keep],
            color=[CLASS_COLOURS[LOYALTY_CLASSES[i]] for i in keep])
    ax.set(xlabel="realised CLV per relationship (money, discounted)", ylabel="relationships", title=f"CLV distribution, {firm}")
    ax.legend(fontsize=8, frameon=False)
    return ax


def save_all(res: "RunResult", folder: Path) -> None:
    """Write retention.png, churn.png, loyalty_classes.png and clv.png into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, fn in (("retention", retention_curve), ("churn", churn_per_period),
                     ("loyalty_classes", loyalty_shares), ("clv", clv_distribution)):
        fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
        fn(res, ax=ax)
        fig.tight_layout()
        fig.savefig(folder / f"{name}.png")
        plt.close(fig)
