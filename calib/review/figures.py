"""The program review's figures: a review in, a matplotlib Figure out (pure, as
:mod:`calib.charts`: the Okabe-Ito palette, a marker shape wherever colour means something)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from calib.charts import PALETTE
from calib.report.display import figure_html
from calib.review.program import ProgramReview

_FONT_SIZE = 9
_PROGRESS_STYLE = {"moved toward the consensus": (PALETTE["blue"], "o"),
                   "moved away from the consensus": (PALETTE["vermillion"], "s"),
                   "steady": (PALETTE["gray"], "."), "too short": (PALETTE["gray"], "x")}


def team_reliability(review: ProgramReview, *, columns: int = 4) -> Figure:
    """ICC(A,1) per team per month with its CI, one small panel per team on shared axes."""
    teams = [t.team for t in review.teams]
    rows = max(1, -(-len(teams) // columns))
    ncols = min(columns, max(1, len(teams)))
    fig = Figure(figsize=(2.4 * ncols + 0.6, 1.9 * rows + 0.8), layout="constrained", dpi=100)
    axes = np.atleast_1d(fig.subplots(rows, ncols, sharex=True, sharey=True, squeeze=False)
                         ).ravel()
    months = list(review.months)
    confidence = (review.teams[0].consistency.confidence
                  if review.teams and review.teams[0].consistency else 0.95)
    for ax, team in zip(axes, teams):
        part = review.reliability[review.reliability["team"] == team].dropna(subset=["icc"])
        x = np.array([months.index(m) for m in part["month"]], dtype=float)
        value = part["icc"].to_numpy(float)
        low = np.clip(value - part["ci_low"].to_numpy(float), 0, None)
        high = np.clip(part["ci_high"].to_numpy(float) - value, 0, None)
        ax.errorbar(x, value, yerr=[low, high], fmt="o-", color=PALETTE["blue"], capsize=2,
                    markersize=3, linewidth=1)
        for level in (0.5, 0.75, 0.9):
            ax.axhline(level, color=PALETTE["gray"], linewidth=0.5, linestyle=":")
        verdict = next(t for t in review.teams if t.team == team)
        trend = verdict.trend.direction if verdict.trend else "too short"
        ax.set_title(f"{team} ({trend})", loc="left", fontsize=_FONT_SIZE)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=_FONT_SIZE - 1)
    for ax in axes[len(teams):]:
        ax.axis("off")
    ticks = list(range(0, len(months), max(1, -(-len(months) // 3))))
    axes[0].set_xticks(ticks, [months[i] for i in ticks])
    axes[0].set_ylim(-0.05, 1.02)
    fig.suptitle(f"Reliability per team and month: ICC(A,1), {confidence:.0%} CI; dotted: "
                 f"Koo & Li's .5, .75, .9", x=0.01, ha="left", fontsize=_FONT_SIZE + 1,
                 fontweight="bold")
    return fig


def severity_over_time(review: ProgramReview) -> Figure:
    """Each evaluator's severity month by month against the consensus (positive = lenient),
    coloured by whether they moved toward the consensus."""
    fig = Figure(figsize=(8, 3.6), layout="constrained", dpi=100)
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    ax.axhline(0, color=PALETTE["black"], linewidth=0.8)
    if review.severity is None:
        ax.axis("off")
        ax.text(0.5, 0.5, "No call was scored by two evaluators: no severity to show.",
                ha="center", transform=ax.transAxes)
        return fig
    months = list(review.months)
    monthly = review.severity.monthly
    for p in review.evaluators:
        part = monthly[monthly["evaluator_id"] == p.evaluator_id].dropna(subset=["severity"])
        colour, marker = _PROGRESS_STYLE[p.verdict]
        x = [months.index(m) for m in part["month"] if m in months]
        y = part["severity"].to_numpy(float)[:len(x)]
        ax.plot(x, y, marker=marker, color=colour,
                linewidth=1.4 if p.verdict != "steady" else 0.7, markersize=4,
                alpha=1.0 if p.verdict != "steady" else 0.6)
        if p.verdict.startswith("moved") and len(x):  # the director asks who
            ax.annotate(_label(p.name), (x[-1], y[-1]), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=_FONT_SIZE - 1,
                        color=colour)
    ax.set_xlim(-0.3, len(months) - 0.3)
    ticks = list(range(0, len(months), max(1, -(-len(months) // 6))))
    ax.set_xticks(ticks, [months[i] for i in ticks])
    ax.tick_params(labelsize=_FONT_SIZE - 1)
    ax.set_ylabel("points above the consensus", fontsize=_FONT_SIZE)
    ax.set_title("Evaluator severity by month (pooled model, the expert left out)", loc="left",
                 fontsize=_FONT_SIZE + 1, fontweight="bold")
    handles = [Line2D([], [], color=c, marker=m, label=word)
               for word, (c, m) in _PROGRESS_STYLE.items()
               if any(p.verdict == word for p in review.evaluators)]
    fig.legend(handles=handles, loc="outside lower left", ncols=4, frameon=False,
               fontsize=_FONT_SIZE - 1)
    return fig


def _label(text: str, limit: int = 24) -> str:
    """A name shown literally: no mathtext, shortened to ``limit`` characters."""
    text = " ".join(str(text).split())
    return (text[: limit - 1] + "…" if len(text) > limit else text).replace("$", r"\$")


def team_reliability_html(review: ProgramReview) -> str:
    """:func:`team_reliability` as an embedded PNG, for the offline page (a bare Figure shows
    as its text in an exported notebook)."""
    return figure_html(team_reliability(review),
                       alt="Reliability per team and month with confidence intervals")


def severity_html(review: ProgramReview) -> str:
    """:func:`severity_over_time` as an embedded PNG, for the offline page."""
    return figure_html(severity_over_time(review), alt="Evaluator severity by month")
