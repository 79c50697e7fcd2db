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


def _wrap(value: object, width: int = 34, lines: int = 2) -> str:
    """A long label over at most ``lines`` lines of ``width`` characters, literal like _text."""
    import textwrap

    text = " ".join(("" if value is None else str(value)).split())
    parts = textwrap.wrap(text, width) or [""]
    if len(parts) > lines:
        parts = parts[: lines - 1] + [_text(" ".join(parts[lines - 1:]), width)]
        return "\n".join(p.replace("$", r"\$") for p in parts[:-1]) + "\n" + parts[-1]
    return "\n".join(p.replace("$", r"\$") for p in parts)


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
                label: str = "conversation_id", names: Mapping[str, str] | None = None,
                order: Sequence[str] | None = None) -> Figure:
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
    order : sequence of str, optional
        Calibration ids top to bottom (the report's one call order); default: by id.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_columns(scores, ("calibration_id", "evaluator_id", "role", "total_score"),
                    what="scores")
    data = scores[scores["total_score"].notna()]
    title = "Scores per call"
    if data.empty:
        return _empty(title, "No finished evaluations to plot.")
    tier_of = {} if tiers is None else dict(zip(tiers["calibration_id"], tiers["tier"]))
    present = set(data["calibration_id"])
    order = ([c for c in order if c in present] if order is not None else
             list(dict.fromkeys(data.sort_values(["calibration_id"])["calibration_id"])))
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
                   marker="o", facecolors="white", linewidths=1.1, zorder=3, clip_on=False)
        if len(experts):
            ax.scatter(experts, [y], s=60, marker="D", color=PALETTE["black"], zorder=4,
                       clip_on=False)
        shown = rows[label].iloc[0] if label in rows.columns else cal
        if names and cal in names:
            shown = names[cal]
        tier = tier_of.get(cal)
        tick_labels.append(_text(shown, 26) + f" (n={len(rows)})")
    ax.set_yticks(range(len(order)), tick_labels)
    ax.invert_yaxis()
    low = max(0.0, float(data["total_score"].min()) - band - 3)
    ax.set_xlim(low, 102)
    ax.set_xlabel("total score (0–100); n: evaluations of the call")
    _title(ax, title)
    handles = [ax.scatter([], [], marker="o", facecolors="white", color="black", label="evaluator"),
               ax.scatter([], [], marker="D", color="black", label="expert")]
    for tier in dict.fromkeys(tier_of.get(c) for c in order):
        if tier in TIER_COLOURS:
            handles.append(ax.fill_between([], [], color=TIER_COLOURS[tier], alpha=0.35,
                                           label=f"±{band:g} around expert, {TIER_LABELS[tier]}"))
    _legend(fig, handles=handles)
    return fig


def bias_forest(bias: pd.DataFrame, *, threshold: float = 3.0,
                title: str = "Evaluator bias (evaluator − reference, points)",
                confidence: float = 0.95) -> Figure:
    """Evaluator bias forest plot: bias vs the expert and vs the consensus with their CIs.

    Parameters
    ----------
    bias : pandas.DataFrame
        ``calib.stats.evaluator_bias`` output: ``evaluator_id, evaluator_name, reference, n,
        bias, ci_low, ci_high, flagged``.
    threshold : float
        The practical threshold in points, drawn as a band ±threshold around 0.
    title : str
        The chart's title.
    confidence : float
        Level of the intervals in ``bias`` (for the legend).

    Returns
    -------
    matplotlib.figure.Figure
        Flagged evaluators' names are bold and marked with ``⚑``.
    """
    require_columns(bias, ("evaluator_id", "evaluator_name", "reference", "bias", "ci_low",
                           "ci_high", "flagged", "n"), what="bias")
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
                    label=f"vs {reference} ({confidence:.0%} CI)")
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
                         *, gray_area: Sequence[str] = (), max_questions: int = 25,
                         names: Mapping[str, str] | None = None,
                         order: Sequence[str] | None = None) -> Figure:
    """Question × call agreement heatmap, with the answers given to gray-area questions.

    Parameters
    ----------
    disagreement : pandas.DataFrame
        ``calib.stats.variance.question_disagreement`` output (``calibration_id, question_id,
        question_text, agreement``; ``n_ratings`` when present is the n per cell).
    distribution : pandas.DataFrame, optional
        ``calib.stats.answer_distribution`` output (``question_id, category, answer_text,
        count, share``); when given, a second panel shows each gray-area question's answers.
    gray_area : sequence of str
        Question ids to show in the second panel (default: the 5 with the lowest mean
        agreement).
    max_questions : int
        Show at most this many questions, the least agreed first.
    names : mapping, optional
        ``calibration_id`` → the call's label (the report's one name for a call).
    order : sequence of str, optional
        Calibration ids left to right (the report's one call order).

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_columns(disagreement, ("calibration_id", "question_id", "agreement"),
                    what="disagreement")
    title = "Do evaluators give the same answer? (share of evaluator pairs that agree)"
    data = disagreement[disagreement["agreement"].notna()]
    if data.empty:
        return _empty(title, "No question was answered by two or more evaluators.")
    texts = (data.drop_duplicates("question_id").set_index("question_id")["question_text"]
             if "question_text" in data.columns else pd.Series(dtype=object))
    matrix = data.pivot_table(index="question_id", columns="calibration_id", values="agreement",
                              aggfunc="mean")
    if order is not None:
        matrix = matrix[[c for c in order if c in matrix.columns]]
    matrix = matrix.loc[matrix.mean(axis=1).sort_values().index[:max_questions]]
    gray = list(gray_area) or list(matrix.index[:5])
    with_dist = distribution is not None and not distribution.empty
    fig, axes = _figure(12 if with_dist else 8.5, 2.2 + 0.36 * len(matrix),
                        2 if with_dist else 1, width_ratios=[3, 2] if with_dist else None)
    ax = axes[0]
    ax.grid(False)
    image = ax.imshow(matrix.to_numpy(dtype=float), cmap="cividis", vmin=0, vmax=1,
                      aspect="auto", interpolation="nearest")
    ax.set_yticks(range(len(matrix)), [_wrap(texts.get(q, q), 34) for q in matrix.index],
                  fontsize=_FONT["size"] - 1)
    shown = [(names or {}).get(c, c) for c in matrix.columns]
    ax.set_xticks(range(matrix.shape[1]), [_text(c, 26) for c in shown], rotation=60,
                  ha="right", fontsize=_FONT["size"] - 1)
    n_eval = (data.groupby("calibration_id")["n_ratings"].max()
              if "n_ratings" in data.columns else None)
    if n_eval is not None and len(n_eval):
        low, high = int(n_eval.min()), int(n_eval.max())
        ax.set_xlabel(f"call (each scored by {low if low == high else f'{low}–{high}'} "
                      f"evaluators)")
    else:
        ax.set_xlabel("call")
    for row, q in enumerate(matrix.index):
        if q in gray:
            ax.get_yticklabels()[row].set_fontweight("bold")
    fig.colorbar(image, ax=ax, shrink=0.8, label="1 = all gave the same answer")
    _title(ax, "Do evaluators give the same answer?")
    if with_dist:
        _answer_shares(axes[1], distribution, [q for q in gray if q in set(distribution["question_id"])],
                       texts)
    return fig


def _answer_order(label: str) -> tuple:
    """Legend order: Yes, No, then scale points high to low, then other labels, N/A last."""
    if label == "Yes":
        return (0, 0.0, label)
    if label == "No":
        return (1, 0.0, label)
    if label in ("N/A", "NA"):
        return (4, 0.0, label)
    try:
        return (2, -float(label), label)
    except ValueError:
        return (3, 0.0, label)


def _answer_colours(labels: list[str]) -> dict[str, tuple[str, str]]:
    """Yes/No blue and vermillion, scale points a sequential ramp, N/A gray: no two alike."""
    from matplotlib import colormaps

    out = {"Yes": (PALETTE["blue"], ""), "No": (PALETTE["vermillion"], "//"),
           "N/A": (PALETTE["gray"], ".."), "NA": (PALETTE["gray"], "..")}
    numeric = [x for x in labels if _answer_order(x)[0] == 2]
    ramp = colormaps["viridis"]
    for i, label in enumerate(numeric):
        out[label] = (ramp(0.15 + 0.7 * i / max(len(numeric) - 1, 1)), "xx" if i % 2 else "")
    others = [x for x in labels if _answer_order(x)[0] == 3]
    extra = [PALETTE[c] for c in ("purple", "green", "yellow", "sky", "orange")]
    for i, label in enumerate(others):
        out[label] = (extra[i % len(extra)], "\\\\")
    return out


def _answer_shares(ax, distribution: pd.DataFrame, questions: list, texts: pd.Series) -> None:
    require_columns(distribution, ("question_id", "category", "share"), what="distribution")
    rows = distribution[distribution["question_id"].isin(questions)].copy()
    rows["label"] = [str(t if isinstance(t, str) and t else c) for t, c in
                     zip(rows.get("answer_text", rows["category"]), rows["category"])]
    labels = sorted(dict.fromkeys(rows["label"]), key=_answer_order)
    colours = _answer_colours(labels)
    drawn: set[str] = set()
    for y, q in enumerate(questions):
        mine = rows[rows["question_id"] == q]
        mine = mine.iloc[sorted(range(len(mine)), key=lambda i: _answer_order(mine["label"].iloc[i]))]
        left = 0.0
        for r in mine.itertuples(index=False):
            colour, hatch = colours[r.label]
            ax.barh(y, r.share, left=left, color=colour, hatch=hatch, edgecolor="white",
                    label=None if r.label in drawn else _text(r.label, 16))
            drawn.add(r.label)
            left += float(r.share)
    n = (rows.groupby("question_id")["count"].sum() if "count" in rows.columns else {})
    ax.set_yticks(range(len(questions)),
                  [_wrap(texts.get(q, q), 30) + (f"\n(n={int(n[q])} answers)" if q in n else "")
                   for q in questions], fontsize=_FONT["size"] - 1)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of answers this month")
    handles, names = ax.get_legend_handles_labels()
    ordered = sorted(zip(handles, names), key=lambda hn: _answer_order(hn[1]))
    ax.legend([h for h, _ in ordered], [n for _, n in ordered], title="answer",
              fontsize=_FONT["size"] - 1, title_fontsize=_FONT["size"] - 1, frameon=False,
              loc="upper left", bbox_to_anchor=(0, -0.12), ncols=4)
    _title(ax, "Most disputed questions: answers given")


#: Plain words for the measures a chart's legend names.
MEASURE_WORDS = {"ICC(A,1)": "agreement on the score, ICC(A,1)",
                 "alpha": "agreement allowing missing scores, Krippendorff's α"}


def reliability_trend(trend: pd.DataFrame, *, confidence: float = 0.95) -> Figure:
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
    title = f"Consistency by month ({confidence:.0%} CI)"
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
                    linestyle=line, color=colour, capsize=3,
                    label=MEASURE_WORDS.get(measure, _text(measure)))
    for level, text in ((0.9, "excellent above"), (0.75, "good above"),
                        (0.5, "moderate above")):
        ax.axhline(level, color=PALETTE["gray"], linewidth=0.6, linestyle=":")
        ax.text(len(months) - 0.45, level, f" {text}", va="center", fontsize=_FONT["size"] - 1,
                color=PALETTE["gray"])
    if "n" in data.columns:
        calls = data.groupby("month")["n"].max()
        ax.set_xticks(range(len(months)), [f"{m}\nn={int(calls[m])}" for m in months])
    else:
        ax.set_xticks(range(len(months)), months)
    ax.set_xlim(-0.5, len(months) + 0.6)
    ax.set_ylim(min(-0.05, float(np.nanmin(data["ci_low"].to_numpy(float))) - 0.05), 1.02)
    ax.set_ylabel("coefficient (1 = evaluators give identical scores)")
    ax.grid(axis="y", color=PALETTE["band"])
    _title(ax, title)
    # below the plot: inside it, the legend covered the long CI bars of months with few calls
    fig.legend(loc="outside lower center", ncols=len(measures), fontsize=_FONT["size"] - 1,
               frameon=False)
    return fig


#: Plain words for the G-study's facets.
FACET_WORDS = {"calls": "real differences between calls",
               "evaluators": "evaluators' overall severity",
               "calls x evaluators,e": "evaluator × call disagreement and noise"}


def variance_shares(components: pd.DataFrame, dstudy: pd.DataFrame | None = None, *,
                    target: float = 0.8, confidence: float = 0.95) -> Figure:
    """G-study variance shares (calls / evaluators / residual) and the D-study curve.

    Parameters
    ----------
    components : pandas.DataFrame
        ``GStudyResult.components``: ``facet, variance, share`` (shares of negative components
        are drawn as 0, per Brennan 2001).
    dstudy : pandas.DataFrame, optional
        ``calib.stats.d_study`` output: ``n_evaluators, phi, erho2`` (``phi_low, phi_high``
        when present are drawn as a band).
    target : float
        Reliability the D-study panel marks.
    confidence : float
        Level of the band (for the legend).

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
        words = FACET_WORDS.get(str(facet), _text(facet, 40))
        ax.barh(0, share, left=left, color=colours[i % 5], hatch=hatches[i % 5],
                edgecolor="white", label=f"{words}: {share:.0%}")
        left += share
    ax.set_xlim(0, max(1.0, left))
    ax.set_yticks([])
    ax.set_xlabel("share of score variance")
    ax.legend(fontsize=_FONT["size"] - 1, frameon=False, loc="upper left",
              bbox_to_anchor=(0, -0.3), ncols=1)
    _title(ax, title)
    if with_d:
        ax = axes[1]
        if {"phi_low", "phi_high"} <= set(dstudy.columns) and dstudy["phi_low"].notna().any():
            ax.fill_between(dstudy["n_evaluators"], dstudy["phi_low"], dstudy["phi_high"],
                            color=PALETTE["sky"], alpha=0.3, linewidth=0,
                            label=f"{confidence:.0%} CI")
        ax.plot(dstudy["n_evaluators"], dstudy["phi"], "o-", color=PALETTE["blue"],
                label="score dependability (Φ)")
        ax.axhline(target, color=PALETTE["gray"], linestyle=":", linewidth=1)
        ax.annotate(f"target {target:g}", (1.0, target), xycoords=("axes fraction", "data"),
                    xytext=(-4, 3), textcoords="offset points", ha="right", va="bottom",
                    fontsize=_FONT["size"] - 1, color=PALETTE["gray"])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("evaluators averaged per call (1 = the routine single evaluation)")
        ax.set_ylabel("dependability of the score")
        ax.grid(axis="y", color=PALETTE["band"])
        ax.legend(fontsize=_FONT["size"] - 1, frameon=False, loc="lower right")
        _title(ax, "How many evaluators a dependable score needs")
    return fig
