"""Calibration of calibrators: the quarterly check of each calibrator against QM leadership.

A team's calibrator is also its expert evaluator: the scoring index every evaluator is measured
against. Once a quarter, the calibrators of all teams and the QM leads score the same calls (the
"leadership" calibrations). :func:`calibrator_review` then asks three things of each calibrator:

1. **Bias against leadership**: on the shared calls, the calibrator's score minus the
   leave-one-out mean of the rest of the leadership panel, with a t-based CI (over the quarter
   and per month), as :func:`calib.stats.evaluator_bias` computes it (reference ``consensus``).
2. **Drift in their own team**: :func:`calib.stats.calibrator_drift` over the last three months
   of the team's history (the expert minus the rest of the team's panel).
3. **Rotation**: who should hold the role next: among the leadership members that are not
   flagged, the one whose bias is smallest even at the far end of its CI (smallest
   ``max(|ci_low|, |ci_high|)``: a small bias *and* a narrow CI), never a flagged one.

:func:`section_html` renders the result as a self-contained, escaped HTML section for the report.

References
----------
Bland JM, Altman DG (1986). Statistical methods for assessing agreement between two methods of
clinical measurement. Lancet i:307-310 (mean difference with a t-based CI).
Draper NR, Smith H (1998). Applied Regression Analysis, 3rd ed., ch. 1 (trend and its CI).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from calib import context
from calib.stats import calibrator_drift, evaluator_bias
from calib.sync import sync_months
from calib.tables import require_columns
from calib.values import ParameterError, check_month, check_team

__all__ = ["CalibratorReview", "calibrator_review", "quarter_review", "section_html", "load_scores",
           "check_parameters",
           "PANEL_COLUMNS",
           "MONTHLY_COLUMNS", "DRIFT_COLUMNS", "FLAG_COLUMNS"]

PANEL_COLUMNS = ("evaluator_id", "evaluator_name", "is_calibrator", "team", "n", "bias", "sd",
                 "ci_low", "ci_high", "worst_abs_bias", "flagged")
MONTHLY_COLUMNS = ("month", "evaluator_id", "evaluator_name", "is_calibrator", "n", "bias",
                   "ci_low", "ci_high", "flagged")
DRIFT_COLUMNS = ("calibrator_id", "team", "months", "n", "latest_month", "latest_drift",
                 "latest_ci_low", "latest_ci_high", "slope_per_month", "flagged", "note")
FLAG_COLUMNS = ("calibrator_id", "calibrator_name", "team", "flagged", "reasons")
_SCORE_COLUMNS = ("month", "calibration_id", "evaluator_id", "role", "status", "total_score")


@dataclass(frozen=True, eq=False)
class CalibratorReview:
    """Result of :func:`calibrator_review`.

    Attributes
    ----------
    panel : pandas.DataFrame
        One row per leadership member over the quarter (:data:`PANEL_COLUMNS`): bias against the
        leave-one-out mean of the rest of the panel, its CI, ``worst_abs_bias`` =
        ``max(|ci_low|, |ci_high|)`` and ``flagged``.
    monthly : pandas.DataFrame
        The same per month of the quarter (:data:`MONTHLY_COLUMNS`): the drift over the quarter.
    drift : pandas.DataFrame
        Per calibrator, :func:`calib.stats.calibrator_drift` over the last months of the team
        history (:data:`DRIFT_COLUMNS`); ``note`` says why a figure is missing.
    flags : pandas.DataFrame
        Per calibrator, whether they are flagged and why (:data:`FLAG_COLUMNS`).
    next_calibrator : str or None
        The evaluator id proposed for the role, None when no member qualifies.
    rotation : str
        The rotation proposal as one or two sentences.
    excluded : pandas.DataFrame
        Leadership evaluations left out of the bias, with a ``reason``.
    threshold, confidence : float
        The settings used.
    """

    panel: pd.DataFrame
    monthly: pd.DataFrame
    drift: pd.DataFrame
    flags: pd.DataFrame
    next_calibrator: str | None
    rotation: str
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)
    threshold: float = 10.0
    confidence: float = 0.95

    @property
    def flagged_ids(self) -> tuple[str, ...]:
        """Ids of the flagged calibrators."""
        return tuple(self.flags.loc[self.flags["flagged"], "calibrator_id"])


def check_parameters(params: dict, source: str = "the parameters") -> None:
    """The rules of ``05_calibration_of_calibrators.ipynb``'s parameters (before any kernel)."""

    if params.get("backend") not in ("sandbox", "store"):
        raise ParameterError(f"{source}: 'backend' must be sandbox or store, not "
                             f"{params.get('backend')!r}.")
    for month in params.get("months") or ():
        check_month(month, source=source)
    if not params.get("months"):
        raise ParameterError(f"{source}: 'months' is empty; list the quarter's months.")
    check_team(params.get("leadership_team"), source=source)
    if not 0 < float(params.get("threshold", 10.0)) <= 100:
        raise ParameterError(f"{source}: 'threshold' must be a positive number of points, at "
                             f"most 100.")
    if not 0.5 <= float(params.get("confidence", 0.95)) < 1:
        raise ParameterError(f"{source}: 'confidence' must be between 0.5 and 1 (e.g. 0.95).")


def load_scores(backend: str, *, months: Iterable[str], sandbox_seed: int = 7,
                store_url: str | None = None) -> pd.DataFrame:
    """Every team's open scores of ``months`` (and the three before, for the drift in each
    team), read from the store; on the sandbox each of its teams is synced into the store first
    with the same code as ``calib sync``.

    Parameters
    ----------
    backend : {"sandbox", "store"}
        ``store`` reads what the store holds (synced or imported earlier).
    months : iterable of str
        The quarter, ``YYYY-MM``.
    """

    months = sorted(months)
    if backend not in ("sandbox", "store"):
        raise ValueError(f"backend must be 'sandbox' or 'store' for the calibration of "
                         f"calibrators, not {backend!r}.")
    window = [str(pd.Period(months[0], freq="M") - k) for k in range(3, 0, -1)] + months
    with context.open_backend(backend, sandbox_seed=sandbox_seed) as org, \
            org.open_store(store_url) as store:
        if org.sandbox is not None:
            for team, info in org.sandbox.teams().items():
                sync_months(org.client, store, team=team, months=window,
                            calibrators=[info["calibrator_email"]])
        return store.scores()


def _consensus_bias(scores: pd.DataFrame, threshold: float, confidence: float) -> pd.DataFrame:
    table = evaluator_bias(scores, threshold=threshold, confidence=confidence)
    rows = table[table["reference"] == "consensus"].copy()
    excludes_zero = (rows["ci_low"] > 0) | (rows["ci_high"] < 0)
    rows["flagged"] = (excludes_zero & (rows["bias"].abs() >= threshold)).astype(bool)
    rows.attrs["excluded"] = table.attrs.get("excluded", [])
    return rows


def _fmt(x: float, signed: bool = True) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def _team_of(history: pd.DataFrame, calibrator_id: str) -> str | None:
    rows = history.loc[history["calibrator_id"] == calibrator_id, "team"] if "team" in history \
        else pd.Series(dtype=object)
    return None if rows.empty else str(rows.mode().iloc[0])


def _drift_row(history: pd.DataFrame, calibrator_id: str, *, months: int, threshold: float,
               confidence: float) -> dict:

    own = history[history["calibrator_id"] == calibrator_id]
    last = sorted(own["month"].dropna().astype(str).unique())[-months:]
    row = {"calibrator_id": calibrator_id, "team": _team_of(history, calibrator_id),
           "months": ", ".join(last), "n": 0, "latest_month": last[-1] if last else None,
           "latest_drift": float("nan"), "latest_ci_low": float("nan"),
           "latest_ci_high": float("nan"), "slope_per_month": float("nan"), "flagged": False,
           "note": ""}
    if not last:
        row["note"] = "no team history for this calibrator"
        return row
    try:
        result = calibrator_drift(own[own["month"].isin(last)], threshold=threshold,
                                  confidence=confidence)
    except ValueError as exc:
        row["note"] = " ".join(str(exc).split())
        return row
    latest = result.table.iloc[-1]
    row.update(n=int(result.table["n"].sum()), latest_month=str(latest["month"]),
               latest_drift=float(latest["drift"]), latest_ci_low=float(latest["ci_low"]),
               latest_ci_high=float(latest["ci_high"]), slope_per_month=result.slope_per_month,
               flagged=bool(result.flagged), note=result.suggestion)
    return row


def _check_inputs(leadership: pd.DataFrame, history: pd.DataFrame, calibrator_ids: list[str],
                  threshold: float, drift_months: int) -> None:
    require_columns(leadership, _SCORE_COLUMNS, what="scores_leadership")
    require_columns(history, (*_SCORE_COLUMNS, "calibrator_id"), what="scores_team_history")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
        raise ValueError(f"threshold must be a positive number of points, not {threshold!r}.")
    if isinstance(drift_months, bool) or not isinstance(drift_months, int) or drift_months < 2:
        raise ValueError(f"drift_months must be an integer of at least 2 (a trend needs two "
                         f"months), not {drift_months!r}.")
    if not calibrator_ids:
        raise ValueError("calibrator_ids is empty; name the calibrators to review (the "
                         "calibrator_id of each team).")
    scored = set(leadership.loc[leadership["status"] == "FINISHED", "evaluator_id"].astype(str))
    absent = [c for c in calibrator_ids if c not in scored]
    if absent:
        raise ValueError(f"Calibrator(s) {', '.join(absent)} finished no leadership calibration, "
                         f"so they cannot be compared with the panel; add their evaluations or "
                         f"leave them out of calibrator_ids.")


def calibrator_review(scores_leadership: pd.DataFrame, scores_team_history: pd.DataFrame, *,
                      calibrator_ids: Iterable[str], threshold: float = 10.0,
                      confidence: float = 0.95, drift_months: int = 3) -> CalibratorReview:
    """Compare each calibrator with the QM leadership panel, add their drift, propose a rotation.

    Parameters
    ----------
    scores_leadership : pandas.DataFrame
        ``scores`` of the quarterly leadership calibrations (``calib.tables`` columns; ``month,
        calibration_id, evaluator_id, role, status, total_score`` are used): the calibrators and
        the QM leads scoring the same calls. Only FINISHED evaluations count; the others are
        listed in ``excluded``.
    scores_team_history : pandas.DataFrame
        ``scores`` of the teams' own calibrations (any number of teams, with ``calibrator_id``
        and ``team``); each calibrator's drift uses their last ``drift_months`` months.
    calibrator_ids : iterable of str
        The calibrators under review (each must have finished leadership evaluations).
    threshold : float
        Points of bias (or drift) at which a calibrator is flagged, when the CI also excludes 0.
    confidence : float
        Level of every CI.
    drift_months : int
        How many of the latest history months the drift uses.

    Returns
    -------
    CalibratorReview
        A calibrator is flagged when their quarter bias against leadership, or their bias in any
        month of the quarter, reaches ``threshold`` with a CI excluding 0, or when their team
        drift is flagged by :func:`calib.stats.calibrator_drift`.

    Raises
    ------
    ValueError
        Missing columns, a bad threshold or confidence, no calibrator named, a calibrator without
        finished leadership evaluations, or no shared call with two finished evaluations.

    References
    ----------
    Bland & Altman (1986), Lancet i:307-310; Draper & Smith (1998). See the module docstring.
    """
    ids = [str(c) for c in ([calibrator_ids] if isinstance(calibrator_ids, str)
                            else list(calibrator_ids))]
    ids = list(dict.fromkeys(ids))
    _check_inputs(scores_leadership, scores_team_history, ids, threshold, drift_months)
    panel = _consensus_bias(scores_leadership, threshold, confidence)
    excluded = pd.DataFrame(panel.attrs.get("excluded", []))
    teams = {c: _team_of(scores_team_history, c) for c in ids}
    panel = panel.assign(
        is_calibrator=panel["evaluator_id"].isin(ids),
        team=panel["evaluator_id"].map(teams),
        worst_abs_bias=np.fmax(panel["ci_low"].abs(), panel["ci_high"].abs()))
    panel = panel.reindex(columns=list(PANEL_COLUMNS)).reset_index(drop=True)

    monthly_parts = []
    for month, rows in scores_leadership.groupby("month", sort=True):
        try:
            part = _consensus_bias(rows, threshold, confidence)
        except ValueError:
            continue  # a month without two finished evaluations on one call says nothing
        monthly_parts.append(part.assign(month=month,
                                         is_calibrator=part["evaluator_id"].isin(ids)))
    monthly = (pd.concat(monthly_parts, ignore_index=True) if monthly_parts
               else pd.DataFrame(columns=list(MONTHLY_COLUMNS)))
    monthly = monthly.reindex(columns=list(MONTHLY_COLUMNS))

    drift = pd.DataFrame([_drift_row(scores_team_history, c, months=drift_months,
                                     threshold=threshold, confidence=confidence) for c in ids],
                         columns=list(DRIFT_COLUMNS))

    names = dict(zip(panel["evaluator_id"], panel["evaluator_name"]))
    flags = []
    for c in ids:
        reasons = []
        p = panel[panel["evaluator_id"] == c]
        if len(p) and bool(p["flagged"].iloc[0]):
            r = p.iloc[0]
            reasons.append(f"bias {_fmt(r['bias'])} points against the rest of the leadership "
                           f"panel over the quarter ({confidence:.0%} CI {_fmt(r['ci_low'])} to "
                           f"{_fmt(r['ci_high'])}, n = {int(r['n'])})")
        hit = monthly[(monthly["evaluator_id"] == c) & monthly["flagged"].astype(bool)]
        for r in hit.itertuples(index=False):
            reasons.append(f"bias {_fmt(r.bias)} points in {r.month} ({confidence:.0%} CI "
                           f"{_fmt(r.ci_low)} to {_fmt(r.ci_high)}, n = {int(r.n)})")
        d = drift[drift["calibrator_id"] == c].iloc[0]
        if bool(d["flagged"]):
            reasons.append(f"drift in team {d['team']}: the expert scores "
                           f"{_fmt(d['latest_drift'])} points against the team panel in "
                           f"{d['latest_month']}, trend {_fmt(d['slope_per_month'])} a month")
        flags.append({"calibrator_id": c, "calibrator_name": names.get(c) or c,
                      "team": teams.get(c), "flagged": bool(reasons),
                      "reasons": "; ".join(reasons)})
    flags_frame = pd.DataFrame(flags, columns=list(FLAG_COLUMNS))
    flags_frame["flagged"] = flags_frame["flagged"].astype(bool)
    next_id, rotation = _rotation(panel, flags_frame, confidence)
    return CalibratorReview(panel=panel, monthly=monthly, drift=drift, flags=flags_frame,
                            next_calibrator=next_id, rotation=rotation, excluded=excluded,
                            threshold=float(threshold), confidence=float(confidence))


def quarter_review(scores: pd.DataFrame, *, months: Iterable[str] | None = None,
                   leadership_team: str = "leadership",
                   calibrator_ids: Iterable[str] | None = None, threshold: float = 10.0,
                   confidence: float = 0.95, drift_months: int = 3) -> CalibratorReview:
    """:func:`calibrator_review` on one ``scores`` table holding every team (store or sandbox).

    Parameters
    ----------
    scores : pandas.DataFrame
        ``scores`` of all teams, the leadership team's quarterly calibrations included
        (``Store.scores()`` or the sandbox's ``org.tidy_scores()``).
    months : iterable of str, optional
        The quarter (``YYYY-MM``); the leadership calibrations of these months are compared and
        the team history is cut at the last of them. Default: every leadership month.
    leadership_team : str
        Team name of the quarterly leadership calibrations.
    calibrator_ids : iterable of str, optional
        Default: every leadership member who is the calibrator of another team.
    threshold, confidence, drift_months
        As in :func:`calibrator_review`.

    Raises
    ------
    ValueError
        When ``scores`` holds no leadership calibration in ``months``, or no leadership member
        calibrates a team.
    """
    require_columns(scores, ("team", "month", "calibrator_id", "evaluator_id"), what="scores")
    wanted = None if months is None else [str(m) for m in months]
    lead = scores[scores["team"] == leadership_team]
    if wanted is not None:
        lead = lead[lead["month"].isin(wanted)]
    if lead.empty:
        raise ValueError(f"No calibration of team {leadership_team!r}"
                         + (f" in {', '.join(wanted)}" if wanted else "")
                         + "; run the quarterly leadership calibration (the calibrators and the "
                           "QM leads scoring the same calls) and load it first.")
    last = str(lead["month"].max())
    history = scores[(scores["team"] != leadership_team) & (scores["month"] <= last)]
    if calibrator_ids is None:
        members = set(lead["evaluator_id"].astype(str))
        calibrator_ids = sorted(members & set(history["calibrator_id"].dropna().astype(str)))
        if not calibrator_ids:
            raise ValueError("No leadership member is the calibrator of a team in the history; "
                             "pass calibrator_ids explicitly.")
    return calibrator_review(lead, history, calibrator_ids=calibrator_ids, threshold=threshold,
                             confidence=confidence, drift_months=drift_months)


def _rotation(panel: pd.DataFrame, flags: pd.DataFrame, confidence: float) -> tuple[str | None, str]:
    flagged_ids = set(flags.loc[flags["flagged"], "calibrator_id"])
    pool = panel[~panel["evaluator_id"].isin(flagged_ids) & ~panel["flagged"].astype(bool)
                 & panel["worst_abs_bias"].notna()]
    pool = pool.assign(_abs=pool["bias"].abs()).sort_values(["worst_abs_bias", "_abs",
                                                             "evaluator_id"])
    best = pool.iloc[0] if len(pool) else None
    if best is not None:
        name = str(best["evaluator_name"] or best["evaluator_id"])
        holds = f", now calibrator of {best['team']}" if best["is_calibrator"] and best["team"] else ""
        detail = (f"bias {_fmt(best['bias'])} points against the rest of the leadership panel, "
                  f"{confidence:.0%} CI {_fmt(best['ci_low'])} to {_fmt(best['ci_high'])}, "
                  f"n = {int(best['n'])}{holds}")
    if not flagged_ids:
        if best is None:
            return None, ("No calibrator is flagged; keep the current roles (no leadership "
                          "member has enough shared calls to rank a successor).")
        return str(best["evaluator_id"]), (
            f"No calibrator is flagged; keep the current roles. If a rotation is due anyway, "
            f"{name} is the member closest to the leadership panel ({detail}).")
    flagged = flags[flags["flagged"]]
    who = "; ".join(f"{r.calibrator_name}" + (f" (team {r.team})" if r.team else "")
                    for r in flagged.itertuples(index=False))
    if best is None:
        return None, (f"Rotate the calibrator role of {who}, but no unflagged leadership member "
                      f"has a bias CI yet; score more shared calls in the next leadership "
                      f"calibration before choosing a successor.")
    return str(best["evaluator_id"]), (
        f"Rotate the calibrator role of {who}: take them off the scoring index until a "
        f"leadership calibration shows them back in line. {name} should take the role next, "
        f"as the unflagged leadership member closest to the panel ({detail}).")


# ------------------------------------------------------------------------------ report section

def _e(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def section_html(review: CalibratorReview, *, title: str = "Calibration of calibrators") -> str:
    """The review as one self-contained HTML section (every name and sentence escaped).

    Parameters
    ----------
    review : CalibratorReview
        From :func:`calibrator_review`.
    title : str
        The section heading.

    Returns
    -------
    str
        ``<section>`` HTML: the rotation proposal, the flags, the quarter bias of every leadership
        member, the bias per month of each calibrator, and the team drift.
    """
    if not isinstance(review, CalibratorReview):
        raise ValueError(f"section_html needs the CalibratorReview of calibrator_review(), not "
                         f"{type(review).__name__}.")
    ci = f"{review.confidence:.0%} CI"
    parts = [f"<section class=\"calib-quarterly\"><h2>{_e(title)}</h2>",
             f"<p><strong>{_e(review.rotation)}</strong></p>"]
    flag_rows = [[_e(r.calibrator_name), _e(r.team), "flagged" if r.flagged else "in line",
                  _e(r.reasons) or "–"] for r in review.flags.itertuples(index=False)]
    parts.append(_table(["calibrator", "team", "status", "why"], flag_rows))
    parts.append(f"<h3>Bias against the rest of the leadership panel (quarter, "
                 f"threshold ±{review.threshold:g} points)</h3>")
    rows = [[_e(r.evaluator_name or r.evaluator_id), "calibrator" if r.is_calibrator else "lead",
             str(int(r.n)), _fmt(r.bias), f"{_fmt(r.ci_low)} to {_fmt(r.ci_high)}",
             "yes" if r.flagged else ""] for r in review.panel.itertuples(index=False)]
    parts.append(_table(["member", "role", "n calls", "bias (points)", ci, "flagged"], rows))
    cal_months = review.monthly[review.monthly["is_calibrator"].astype(bool)]
    if len(cal_months):
        parts.append("<h3>Each calibrator's bias month by month</h3>")
        rows = [[_e(r.month), _e(r.evaluator_name or r.evaluator_id), str(int(r.n)),
                 _fmt(r.bias), f"{_fmt(r.ci_low)} to {_fmt(r.ci_high)}",
                 "yes" if r.flagged else ""] for r in cal_months.itertuples(index=False)]
        parts.append(_table(["month", "calibrator", "n calls", "bias (points)", ci, "flagged"],
                            rows))
    parts.append("<h3>Drift in their own team (expert − rest of the team panel)</h3>")
    rows = [[_e(review.flags.set_index("calibrator_id")["calibrator_name"].get(r.calibrator_id,
                                                                               r.calibrator_id)),
             _e(r.team), _e(r.months), str(int(r.n)), _fmt(r.latest_drift),
             f"{_fmt(r.latest_ci_low)} to {_fmt(r.latest_ci_high)}", _fmt(r.slope_per_month),
             "yes" if r.flagged else "", _e(r.note)] for r in review.drift.itertuples(index=False)]
    parts.append(_table(["calibrator", "team", "months", "n calls", "latest drift", ci,
                         "trend / month", "flagged", "note"], rows))
    if len(review.excluded):
        parts.append(f"<p>{len(review.excluded)} leadership evaluation(s) were left out (not "
                     f"finished, or alone on their call).</p>")
    parts.append("</section>")
    return "".join(parts)
