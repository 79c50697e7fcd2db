"""Report figures of the verdicts on people: evaluator severity over the history window, its
month-by-month line, and the expert's drift. Same look and rules as :mod:`calib.charts`
(Okabe-Ito colours, a marker shape wherever colour carries meaning, labels in plain words)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from calib.charts import _FONT, PALETTE, _empty, _figure, _legend, _text, _title
from calib.tables import require_columns

#: Colour and marker of each evaluator verdict.
VERDICT_STYLE = {"lenient": (PALETTE["vermillion"], "^"), "harsh": (PALETTE["blue"], "v"),
                 "within the band": (PALETTE["black"], "o"),
                 "not enough shared calls": (PALETTE["gray"], "s")}


def severity_forest(verdicts: pd.DataFrame, *, threshold: float = 3.0,
                    confidence: float = 0.95) -> Figure:
    """Each evaluator's severity over the window against the leave-one-out consensus.

    Parameters
    ----------
    verdicts : pandas.DataFrame
        One row per evaluator: ``name, verdict, severity, ci_low, ci_high, n_calls`` (e.g. the
        ``to_dict()`` of :class:`calib.verdicts.EvaluatorVerdict` objects).
    threshold : float
        The practical band ±threshold, shaded.
    confidence : float
        Level of the intervals (for the legend).

    Returns
    -------
    matplotlib.figure.Figure
        One row per evaluator, labelled with name, verdict and the number of shared calls.
    """
    require_columns(verdicts, ("name", "verdict", "severity", "ci_low", "ci_high", "n_calls"),
                    what="verdicts")
    title = "How each evaluator scores against the others on the same calls"
    if verdicts.empty:
        return _empty(title, "No evaluator shares calls with the rest of the panel yet.")
    fig, (ax,) = _figure(7.5, 1.5 + 0.42 * len(verdicts))
    ax.axvspan(-threshold, threshold, color=PALETTE["band"], zorder=0)
    ax.axvline(0, color=PALETTE["gray"], linewidth=0.8)
    seen: set[str] = set()
    labels = []
    for y, row in enumerate(verdicts.itertuples(index=False)):
        colour, marker = VERDICT_STYLE.get(row.verdict, (PALETTE["black"], "o"))
        if np.isfinite(row.severity):
            low = row.severity - row.ci_low if np.isfinite(row.ci_low) else 0
            high = row.ci_high - row.severity if np.isfinite(row.ci_high) else 0
            ax.errorbar([row.severity], [y], xerr=[[low], [high]], fmt=marker, color=colour,
                        ecolor=colour, capsize=3, markersize=7,
                        label=None if row.verdict in seen else row.verdict)
            seen.add(row.verdict)
        labels.append(f"{_text(row.name, 24)} — {row.verdict} (n={int(row.n_calls)})")
    ax.set_yticks(range(len(verdicts)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("points above (+, lenient) or below (−, harsh) the other evaluators' average")
    _title(ax, title)
    handles = ax.get_legend_handles_labels()[0]
    handles.append(ax.fill_between([], [], color=PALETTE["band"],
                                   label=f"±{threshold:g} points: within the band"))
    _legend(fig, handles=handles)
    return fig


def severity_by_month(monthly: pd.DataFrame, *, threshold: float = 3.0,
                      highlight: Sequence[str] = (),
                      verdict_of: dict[str, str] | None = None) -> Figure:
    """Month-by-month severity per evaluator: who is moving.

    Parameters
    ----------
    monthly : pandas.DataFrame
        ``SeverityResult.monthly``: ``month, evaluator_id, evaluator_name, n_calls, severity``.
    threshold : float
        The practical band, shaded.
    highlight : sequence of str
        Evaluator ids drawn in colour (the lenient and harsh ones); the rest in gray.
    verdict_of : dict, optional
        Evaluator id → verdict word: lenient lines warm, harsh lines cool, named in the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_columns(monthly, ("month", "evaluator_id", "evaluator_name", "severity", "n_calls"),
                    what="monthly severity")
    title = "Severity month by month (who is moving)"
    data = monthly[monthly["severity"].notna()]
    months = sorted(data["month"].unique())
    if len(months) < 2:
        return _empty(title, "One month of data: no line to draw yet.")
    fig, (ax,) = _figure(7.5, 3.4)
    ax.axhspan(-threshold, threshold, color=PALETTE["band"], zorder=0)
    ax.axhline(0, color=PALETTE["gray"], linewidth=0.8)
    warm = [(PALETTE["vermillion"], "^"), (PALETTE["orange"], "D"), (PALETTE["purple"], "P")]
    cool = [(PALETTE["blue"], "v"), (PALETTE["sky"], "s"), (PALETTE["green"], "X")]
    used = {"lenient": 0, "harsh": 0}
    verdict_of = verdict_of or {}
    for person, rows in data.groupby("evaluator_id", sort=True):
        rows = rows.sort_values("month")
        x = [months.index(m) for m in rows["month"]]
        name = _text(rows["evaluator_name"].dropna().iloc[-1] if rows["evaluator_name"].notna()
                     .any() else person, 20)
        if person in set(highlight):
            word = verdict_of.get(person, "lenient")
            styles = warm if word == "lenient" else cool
            colour, marker = styles[used.get(word, 0) % len(styles)]
            used[word] = used.get(word, 0) + 1
            ax.plot(x, rows["severity"], marker=marker, color=colour, linewidth=1.6,
                    label=f"{name} ({word})" if word else name)
        else:
            ax.plot(x, rows["severity"], marker=".", color=PALETTE["gray"], linewidth=0.8,
                    alpha=0.7, label=f"{name} (within the band)")
    calls = data.groupby("month")["n_calls"].max()
    ax.set_xticks(range(len(months)), [f"{m}\nn={int(calls.get(m, 0))}" for m in months])
    ax.set_ylabel("points vs the others")
    ax.grid(axis="y", color=PALETTE["band"])
    _title(ax, title)
    fig.legend(loc="outside right upper", frameon=False, fontsize=_FONT["size"] - 1)
    return fig


def expert_drift_chart(table: pd.DataFrame, *, threshold: float = 10.0,
                       confidence: float = 0.95, status: str = "") -> Figure:
    """The expert's gap to the panel by month, with its CI and the ±threshold band.

    Parameters
    ----------
    table : pandas.DataFrame
        ``ExpertDriftResult.table``: ``month, expert_name, n_calls, drift, ci_low, ci_high``.
    threshold : float
        Points; every month whose estimate is outside ±threshold is marked.
    confidence : float
        Level of the intervals (for the legend).
    status : str
        The drift verdict's word ("drift", "watch", "steady"), shown in the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_columns(table, ("month", "drift", "ci_low", "ci_high", "n_calls"), what="drift")
    name = (str(table["expert_name"].dropna().iloc[-1]) if "expert_name" in table
            and table["expert_name"].notna().any() else "the expert")
    title = f"{_text(name, 30)}, the expert, against the panel" + (f" — {status}" if status
                                                                   else "")
    data = table[table["drift"].notna()].sort_values("month")
    if data.empty:
        return _empty(title, "No month has expert and panel scores on the same calls.")
    months = sorted(data["month"].unique())
    fig, (ax,) = _figure(7.5, 3.2)
    ax.axhspan(-threshold, threshold, color=PALETTE["band"], zorder=0,
               label=f"±{threshold:g} points")
    ax.axhline(0, color=PALETTE["gray"], linewidth=0.8)
    x = np.array([months.index(m) for m in data["month"]])
    y = data["drift"].to_numpy(float)
    ax.errorbar(x, y, yerr=[y - data["ci_low"].to_numpy(float),
                            data["ci_high"].to_numpy(float) - y],
                fmt="o-", color=PALETTE["blue"], capsize=3,
                label=f"expert − panel ({confidence:.0%} CI)")
    out = np.abs(y) > threshold
    if out.any():
        ax.scatter(x[out], y[out], s=90, marker="X", color=PALETTE["vermillion"], zorder=4,
                   label="estimate outside the band")
    calls = dict(zip(data["month"], data["n_calls"]))
    ax.set_xticks(range(len(months)), [f"{m}\nn={int(calls.get(m, 0))}" for m in months])
    ax.set_ylabel("points (+ expert scores higher)")
    ax.grid(axis="y", color=PALETTE["band"])
    _title(ax, title)
    _legend(fig, handles=ax.get_legend_handles_labels()[0])
    return fig
