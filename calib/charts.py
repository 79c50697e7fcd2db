"""Report figures: a tidy table in, a matplotlib Figure out.

Pure functions: no pyplot, no global state, nothing shown or saved. One look for every chart:
the Okabe-Ito palette (safe for the common colour-vision deficiencies), a distinct marker shape
wherever colour carries meaning (so a grayscale print still reads), and labels in points.
User-supplied text (names, question text) is shown literally: ``$`` never turns into mathtext.

References
----------
Okabe M, Ito K (2008). Color Universal Design (CUD): how to make figures and presentations that
are friendly to colorblind people. https://jfly.uni-koeln.de/color/
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from calib.tables import require_columns

#: Okabe-Ito colours by role in the charts.
PALETTE = {"blue": "#0072B2", "orange": "#E69F00", "vermillion": "#D55E00", "green": "#009E73",
           "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000",
           "gray": "#777777", "band": "#E8E8E8"}
TIER_COLOURS = {"aligned": PALETTE["blue"], "discuss": PALETTE["orange"],
                "full_session": PALETTE["vermillion"]}
TIER_LABELS = {"aligned": "aligned (range ≤ 5)", "discuss": "discuss (6–15)",
               "full_session": "full session (> 15)"}
_FONT = {"family": "DejaVu Sans", "size": 9}


def _text(value: object, limit: int = 48) -> str:
    """A label shown literally: no mathtext, shortened to ``limit`` characters."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _figure(width: float, height: float, ncols: int = 1, **grid) -> tuple[Figure, list]:
    fig = Figure(figsize=(width, height), layout="constrained", dpi=100)
    axes = fig.subplots(1, ncols, squeeze=False, **grid)[0].tolist()
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=_FONT["size"])
        ax.grid(axis="x", color=PALETTE["band"], linewidth=0.8)
        ax.set_axisbelow(True)
    return fig, axes


def _title(ax, text: str) -> None:
    ax.set_title(text, loc="left", fontsize=_FONT["size"] + 2, fontweight="bold")


def _legend(fig: Figure, *, handles: list) -> None:
    """One legend below the plot, outside the axes, so it never covers data or the title."""
    fig.legend(handles=handles, loc="outside lower left", ncols=3, frameon=False,
               fontsize=_FONT["size"] - 1)


def _empty(title: str, message: str) -> Figure:
    fig, (ax,) = _figure(6.5, 1.6)
    ax.axis("off")
    _title(ax, title)
    ax.text(0.5, 0.4, message, ha="center", va="center", fontsize=_FONT["size"] + 1,
            color=PALETTE["gray"], transform=ax.transAxes)
    return fig


def score_strip(scores: pd.DataFrame, tiers: pd.DataFrame | None = None, *, band: float = 5.0,
                label: str = "conversation_id", names: Mapping[str, str] | None = None) -> Figure:
    """Score strip plot: one row per calibration, each evaluator a dot, the expert a diamond.

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table; rows without a ``total_score`` are not drawn.
    tiers : pandas.DataFrame, optional
        ``calibration_id, tier`` (e.g. ``calib.stats.variance.calibration_variance(...).table``);
        the ±``band`` region around the expert takes the tier's colour.
    band : float
        Half-width of the band around the expert's score, in points.
    label : str
        Column used to name each row (``calibration_id`` is used when absent).
    names : mapping, optional
        ``calibration_id`` → row name; overrides ``label`` (e.g. the agent's name).

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_columns(scores, ("calibration_id", "evaluator_id", "role", "total_score"),
                    what="scores")
    data = scores[scores["total_score"].notna()]
    title = "Scores per calibration"
    if data.empty:
        return _empty(title, "No finished evaluations to plot.")
    tier_of = {} if tiers is None else dict(zip(tiers["calibration_id"], tiers["tier"]))
    order = list(dict.fromkeys(data.sort_values(["calibration_id"])["calibration_id"]))
    fig, (ax,) = _figure(7.5, 1.0 + 0.42 * len(order))
    tick_labels = []
    for y, cal in enumerate(order):
        rows = data[data["calibration_id"] == cal]
        experts = rows[rows["role"] == "expert"]["total_score"]
        centre = experts.iloc[0] if len(experts) else rows["total_score"].mean()
        colour = TIER_COLOURS.get(tier_of.get(cal), PALETTE["gray"])
        ax.fill_betweenx([y - 0.3, y + 0.3], centre - band, centre + band, color=colour,
                         alpha=0.22, linewidth=0)
        others = rows[rows["role"] != "expert"]["total_score"].to_numpy()
        jitter = np.linspace(-0.12, 0.12, len(others)) if len(others) > 1 else np.zeros(1)
        ax.scatter(others, y + jitter[: len(others)], s=26, color=PALETTE["black"],
                   marker="o", facecolors="white", linewidths=1.1, zorder=3)
        if len(experts):
            ax.scatter(experts, [y], s=60, marker="D", color=PALETTE["black"], zorder=4)
        shown = rows[label].iloc[0] if label in rows.columns else cal
        if names and cal in names:
            shown = names[cal]
        tier = tier_of.get(cal)
        tick_labels.append(_text(shown, 22) + (f"  [{tier.replace('_', ' ')}]" if tier else ""))
    ax.set_yticks(range(len(order)), tick_labels)
    ax.invert_yaxis()
    low = max(0.0, float(data["total_score"].min()) - band - 3)
    ax.set_xlim(low, 101)
    ax.set_xlabel("total score (0–100)")
    _title(ax, title)
    handles = [ax.scatter([], [], marker="o", facecolors="white", color="black", label="evaluator"),
               ax.scatter([], [], marker="D", color="black", label="expert")]
    for tier in dict.fromkeys(tier_of.get(c) for c in order):
        if tier in TIER_COLOURS:
            handles.append(ax.fill_between([], [], color=TIER_COLOURS[tier], alpha=0.35,
                                           label=f"±{band:g} around expert, {TIER_LABELS[tier]}"))
    _legend(fig, handles=handles)
    return fig


def bias_forest(bias: pd.DataFrame, *, threshold: float = 3.0) -> Figure:
    """Evaluator bias forest plot: bias vs the expert and vs the consensus with their CIs.

    Parameters
    ----------
    bias : pandas.DataFrame
        ``calib.stats.evaluator_bias`` output: ``evaluator_id, evaluator_name, reference, n,
        bias, ci_low, ci_high, flagged``.
    threshold : float
        The practical threshold in points, drawn as a band ±threshold around 0.

    Returns
    -------
    matplotlib.figure.Figure
        Flagged evaluators' names are bold and marked with ``⚑``.
    """
    require_columns(bias, ("evaluator_id", "evaluator_name", "reference", "bias", "ci_low",
                           "ci_high", "flagged", "n"), what="bias")
    title = "Evaluator bias (evaluator − reference, points)"
    data = bias[bias["bias"].notna()]
    if data.empty:
        return _empty(title, "No evaluator has a paired score with the reference.")
    people = list(dict.fromkeys(data.sort_values("evaluator_name")["evaluator_id"]))
    fig, (ax,) = _figure(7.5, 1.2 + 0.38 * len(people))
    ax.axvspan(-threshold, threshold, color=PALETTE["band"], zorder=0,
               label=f"±{threshold:g} practical threshold")
    ax.axvline(0, color=PALETTE["gray"], linewidth=0.8)
    styles = {"expert": (PALETTE["blue"], "o", -0.14), "consensus": (PALETTE["orange"], "s", 0.14)}
    for reference, (colour, marker, offset) in styles.items():
        rows = data[data["reference"] == reference].set_index("evaluator_id")
        ys = [people.index(e) + offset for e in rows.index]
        if not ys:
            continue
        ax.errorbar(rows["bias"], ys, xerr=[rows["bias"] - rows["ci_low"],
                                             rows["ci_high"] - rows["bias"]],
                    fmt=marker, color=colour, ecolor=colour, capsize=2, markersize=5,
                    label=f"vs {reference} (95% CI)")
    flagged = set(data.loc[data["flagged"].astype(bool), "evaluator_id"])
    labels = []
    for person in people:
        row = data[data["evaluator_id"] == person].iloc[0]
        n = int(data.loc[data["evaluator_id"] == person, "n"].max())
        labels.append(("⚑ " if person in flagged else "") + f"{_text(row['evaluator_name'], 26)}"
                      f" (n={n})")
    ax.set_yticks(range(len(people)), labels)
    for tick, person in zip(ax.get_yticklabels(), people):
        if person in flagged:
            tick.set_fontweight("bold")
            tick.set_color(PALETTE["vermillion"])
    ax.invert_yaxis()
    ax.set_xlabel("bias in points (− harsher, + more lenient)")
    _title(ax, title)
    _legend(fig, handles=ax.get_legend_handles_labels()[0])
    return fig


def disagreement_heatmap(disagreement: pd.DataFrame, distribution: pd.DataFrame | None = None,
                         *, gray_area: Sequence[str] = (), max_questions: int = 25) -> Figure:
    """Question × calibration agreement heatmap, with the answers given to gray-area questions.

    Parameters
    ----------
    disagreement : pandas.DataFrame
        ``calib.stats.variance.question_disagreement`` output (``calibration_id, question_id,
        question_text, agreement``).
    distribution : pandas.DataFrame, optional
        ``calib.stats.answer_distribution`` output (``question_id, category, answer_text,
        share``); when given, a second panel shows each gray-area question's answer shares.
    gray_area : sequence of str
        Question ids to show in the second panel (default: the 5 with the lowest mean
        agreement).
    max_questions : int
        Show at most this many questions, the least agreed first.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_columns(disagreement, ("calibration_id", "question_id", "agreement"),
                    what="disagreement")
    title = "Agreement per question and calibration (pairwise share)"
    data = disagreement[disagreement["agreement"].notna()]
    if data.empty:
        return _empty(title, "No question was answered by two or more evaluators.")
    texts = (data.drop_duplicates("question_id").set_index("question_id")["question_text"]
             if "question_text" in data.columns else pd.Series(dtype=object))
    matrix = data.pivot_table(index="question_id", columns="calibration_id", values="agreement",
                              aggfunc="mean")
    matrix = matrix.loc[matrix.mean(axis=1).sort_values().index[:max_questions]]
    gray = list(gray_area) or list(matrix.index[:5])
    with_dist = distribution is not None and not distribution.empty
    fig, axes = _figure(11 if with_dist else 8, 1.4 + 0.3 * len(matrix), 2 if with_dist else 1,
                        width_ratios=[3, 2] if with_dist else None)
    ax = axes[0]
    ax.grid(False)
    image = ax.imshow(matrix.to_numpy(dtype=float), cmap="cividis", vmin=0, vmax=1,
                      aspect="auto", interpolation="nearest")
    ax.set_yticks(range(len(matrix)), [_text(texts.get(q, q), 40) for q in matrix.index])
    ax.set_xticks(range(matrix.shape[1]), [_text(c, 10) for c in matrix.columns], rotation=60,
                  ha="right", fontsize=_FONT["size"] - 1)
    ax.set_xlabel("calibration")
    for row, q in enumerate(matrix.index):
        if q in gray:
            ax.get_yticklabels()[row].set_fontweight("bold")
    fig.colorbar(image, ax=ax, shrink=0.8, label="agreement (1 = all the same)")
    _title(ax, title)
    if with_dist:
        _answer_shares(axes[1], distribution, [q for q in gray if q in set(distribution["question_id"])],
                       texts)
    return fig


def _answer_shares(ax, distribution: pd.DataFrame, questions: list, texts: pd.Series) -> None:
    require_columns(distribution, ("question_id", "category", "share"), what="distribution")
    colours = [PALETTE[c] for c in ("blue", "orange", "green", "purple", "sky", "vermillion",
                                    "yellow")]
    hatches = ["", "//", "..", "xx", "\\\\", "++", "oo"]
    categories: dict[str, int] = {}
    for y, q in enumerate(questions):
        rows = distribution[distribution["question_id"] == q]
        left = 0.0
        for _, row in rows.iterrows():
            text = row["answer_text"] if "answer_text" in rows.columns else None
            name = str(text if isinstance(text, str) and text else row["category"])
            first = name not in categories
            k = categories.setdefault(name, len(categories))
            ax.barh(y, row["share"], left=left, color=colours[k % 7], hatch=hatches[k % 7],
                    edgecolor="white", label=_text(name, 16) if first else None)
            left += float(row["share"])
    ax.set_yticks(range(len(questions)), [_text(texts.get(q, q), 30) for q in questions])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of answers")
    ax.legend(fontsize=_FONT["size"] - 1, frameon=False,
              loc="upper left", bbox_to_anchor=(0, -0.12), ncols=4)
    _title(ax, "Gray-area questions: answers given")


def reliability_trend(trend: pd.DataFrame) -> Figure:
    """Reliability by month: one line per measure (e.g. ICC(A,1), alpha) with CI bars.

    Parameters
    ----------
    trend : pandas.DataFrame
        ``month, measure, value, ci_low, ci_high`` (``n`` optional, printed under the axis).

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_columns(trend, ("month", "measure", "value", "ci_low", "ci_high"), what="trend")
    title = "Reliability by month (95% CI)"
    data = trend[trend["value"].notna()]
    if data.empty:
        return _empty(title, "No month has enough finished calibrations for a reliability.")
    months = sorted(data["month"].unique())
    fig, (ax,) = _figure(7.5, 3.2)
    styles = [(PALETTE["blue"], "o", "-"), (PALETTE["orange"], "s", "--"),
              (PALETTE["green"], "^", ":")]
    measures = list(dict.fromkeys(data["measure"]))
    for i, measure in enumerate(measures):
        colour, marker, line = styles[i % len(styles)]
        rows = data[data["measure"] == measure].sort_values("month")
        x = np.array([months.index(m) for m in rows["month"]]) + (i - (len(measures) - 1) / 2) * 0.08
        value = rows["value"].to_numpy(float)
        low = np.clip(value - rows["ci_low"].to_numpy(float), 0, None)
        high = np.clip(rows["ci_high"].to_numpy(float) - value, 0, None)
        ax.errorbar(x, value, yerr=[np.nan_to_num(low), np.nan_to_num(high)], fmt=marker,
                    linestyle=line, color=colour, capsize=3, label=_text(measure))
    for level, text in ((0.75, "good"), (0.5, "moderate")):
        ax.axhline(level, color=PALETTE["gray"], linewidth=0.6, linestyle=":")
        ax.text(len(months) - 0.5, level, f" {text}", va="center", fontsize=_FONT["size"] - 1,
                color=PALETTE["gray"])
    ax.set_xticks(range(len(months)), months)
    ax.set_xlim(-0.5, len(months) - 0.3)
    ax.set_ylim(min(-0.05, float(np.nanmin(data["ci_low"].to_numpy(float))) - 0.05), 1.02)
    ax.set_ylabel("coefficient")
    ax.grid(axis="y", color=PALETTE["band"])
    _title(ax, title)
    ax.legend(fontsize=_FONT["size"] - 1, frameon=False, loc="lower left")
    return fig


def calibrator_drift(drift: pd.DataFrame, *, threshold: float = 10.0) -> Figure:
    """Calibrator (expert) drift by month against the panel, with the ±threshold band.

    Parameters
    ----------
    drift : pandas.DataFrame
        ``DriftResult.table``: ``month, calibrator_id, n, drift, ci_low, ci_high, flagged``.
    threshold : float
        Points; months outside ±threshold are marked.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_columns(drift, ("month", "drift", "ci_low", "ci_high", "flagged"), what="drift")
    title = "Calibrator drift by month (expert − panel, points)"
    data = drift[drift["drift"].notna()].sort_values("month")
    if data.empty:
        return _empty(title, "No month has expert and panel scores on the same calls.")
    months = sorted(data["month"].unique())
    fig, (ax,) = _figure(7.5, 3.0)
    ax.axhspan(-threshold, threshold, color=PALETTE["band"], zorder=0,
               label=f"±{threshold:g} points")
    ax.axhline(0, color=PALETTE["gray"], linewidth=0.8)
    x = np.array([months.index(m) for m in data["month"]])
    y = data["drift"].to_numpy(float)
    ax.errorbar(x, y, yerr=[y - data["ci_low"].to_numpy(float), data["ci_high"].to_numpy(float) - y],
                fmt="o-", color=PALETTE["blue"], capsize=3, label="drift (95% CI)")
    out = data["flagged"].astype(bool).to_numpy()
    if out.any():
        ax.scatter(x[out], y[out], s=90, marker="X", color=PALETTE["vermillion"], zorder=4,
                   label="outside the band")
    ax.set_xticks(range(len(months)), months)
    ax.set_ylabel("points")
    ax.grid(axis="y", color=PALETTE["band"])
    _title(ax, title)
    ax.legend(fontsize=_FONT["size"] - 1, frameon=False, loc="best")
    return fig


def variance_shares(components: pd.DataFrame, dstudy: pd.DataFrame | None = None, *,
                    target: float = 0.8) -> Figure:
    """G-study variance shares (calls / evaluators / residual) and the D-study curve.

    Parameters
    ----------
    components : pandas.DataFrame
        ``GStudyResult.components``: ``facet, variance, share`` (shares of negative components
        are drawn as 0, per Brennan 2001).
    dstudy : pandas.DataFrame, optional
        ``calib.stats.d_study`` output: ``n_evaluators, phi, erho2``.
    target : float
        Reliability the D-study panel marks.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Brennan RL (2001). Generalizability Theory. Springer.
    """
    require_columns(components, ("facet", "share"), what="components")
    title = "Where score variance comes from"
    if components.empty:
        return _empty(title, "Not enough complete calibrations for a G-study.")
    with_d = dstudy is not None and not dstudy.empty
    fig, axes = _figure(10 if with_d else 6, 2.8, 2 if with_d else 1)
    ax = axes[0]
    shares = components["share"].astype(float).clip(lower=0).fillna(0)
    colours = [PALETTE["blue"], PALETTE["orange"], PALETTE["gray"], PALETTE["green"],
               PALETTE["purple"]]
    hatches = ["", "//", "..", "xx", "\\\\"]
    left = 0.0
    for i, (facet, share) in enumerate(zip(components["facet"], shares)):
        ax.barh(0, share, left=left, color=colours[i % 5], hatch=hatches[i % 5],
                edgecolor="white", label=f"{_text(facet, 24)}: {share:.0%}")
        left += share
    ax.set_xlim(0, max(1.0, left))
    ax.set_yticks([])
    ax.set_xlabel("share of score variance")
    ax.legend(fontsize=_FONT["size"] - 1, frameon=False, loc="upper left",
              bbox_to_anchor=(0, -0.3), ncols=2)
    _title(ax, title)
    if with_d:
        ax = axes[1]
        ax.plot(dstudy["n_evaluators"], dstudy["phi"], "o-", color=PALETTE["blue"],
                label="Φ (absolute)")
        if "erho2" in dstudy.columns:
            ax.plot(dstudy["n_evaluators"], dstudy["erho2"], "s--", color=PALETTE["orange"],
                    label="Eρ² (relative)")
        ax.axhline(target, color=PALETTE["gray"], linestyle=":", linewidth=1)
        ax.text(float(dstudy["n_evaluators"].min()), target, f"target {target:g}", va="bottom",
                fontsize=_FONT["size"] - 1, color=PALETTE["gray"])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("evaluators averaged per call")
        ax.set_ylabel("reliability of the averaged score")
        ax.grid(axis="y", color=PALETTE["band"])
        ax.legend(fontsize=_FONT["size"] - 1, frameon=False, loc="lower right")
        _title(ax, "D-study: evaluators per call")
    return fig
