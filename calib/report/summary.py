"""The machine-readable summary of a report: its headline figures as JSON.

NaN and infinities become ``null`` (JSON has no NaN), NumPy scalars become Python numbers, and
the file is replaced atomically so a reader never sees half of it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from calib.report.verdict_sections import headline_lines, headline_sentence

#: 2: ``flagged_evaluators`` holds the people the verdicts call lenient or harsh (severity over
#: the history window against the leave-one-out consensus; ``reference`` "consensus", ``bias`` the
#: severity, ``n`` the shared calls, plus ``verdict``) and the expert when their drift is a
#: verdict; ``drift`` is the expert's drift verdict; new keys ``verdicts``, ``headline_lines``,
#: ``questions_to_rewrite``, ``critical_splits``, ``evaluators_needed_ci``.
SCHEMA_VERSION = 2


def jsonable(value: Any) -> Any:
    """Turn NumPy/pandas scalars, NaN, tuples and paths into plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Path):
        return str(value)
    try:  # pandas NA / NaT

        if pd.isna(value):
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
    except (TypeError, ValueError):
        pass
    return str(value)


def write_summary(summary: Any, output_dir: str | Path | None = None) -> Path | None:
    """Write ``summary.json`` into the run's folder.

    Parameters
    ----------
    summary : MonthData or mapping
        A :class:`calib.report.MonthData` (its :func:`build_summary` is written) or a mapping.
    output_dir : str or Path, optional
        Defaults to the ``output_dir`` parameter of the MonthData. When it is empty (an
        interactive session), nothing is written.

    Returns
    -------
    Path or None
        The file written, or None when there was no output folder.
    """
    if not isinstance(summary, Mapping):
        if output_dir is None:
            output_dir = summary.params.get("output_dir", "")
        summary = build_summary(summary)
    if not output_dir:
        return None
    path = Path(output_dir) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(jsonable(summary), indent=2, allow_nan=False) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
    return path


def build_summary(data: Any) -> dict[str, Any]:
    """The headline figures of a month as a plain dict.

    Parameters
    ----------
    data : MonthData
        Loaded and analysed by :func:`calib.report.load_month`.

    Returns
    -------
    dict
        ``schema_version, team, month, months, clock, gate ("open"|"closed"), completion
        {assigned, finished, overdue}, n_calibrations, reliability {"ICC(A,1)", "ICC(C,1)",
        "alpha": {value, ci_low, ci_high, n_calls, ...}}, tiers {aligned, discuss,
        full_session}, flagged_evaluators [{evaluator_id, evaluator_name, reference, n, bias,
        ci_low, ci_high, verdict}], drift {status, flagged, drift, ci_low, ci_high, n_calls,
        slope_per_month, slope_ci_low, slope_ci_high, sentence}, verdicts (every verdict as
        plain values), evaluators_needed, evaluators_needed_ci, gray_area_questions,
        recurring_questions, questions_to_rewrite, critical_splits, excluded_evaluations,
        headline, headline_lines, warnings, problems``. With the gate closed, only the
        completion figures are filled: no score-derived number is written.
    """

    a = data.analysis
    status = data.status
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "team": data.team, "month": data.month,
        "months": list(data.months), "clock": data.now,
        "gate": "closed" if data.gate_closed else "open",
        "completion": {"assigned": int(len(status)),
                       "finished": int((status["status"] == "finished").sum()),
                       "overdue": int((status["status"] == "overdue").sum())},
        "n_calibrations": int(len(data.gate)),
        "reliability": {}, "tiers": {}, "flagged_evaluators": [], "drift": None,
        "evaluators_needed": None, "gray_area_questions": [], "recurring_questions": [],
        "excluded_evaluations": 0, "headline": headline_sentence(data),
        "headline_lines": list(headline_lines(data)), "verdicts": None,
        "questions_to_rewrite": [], "critical_splits": [], "evaluators_needed_ci": None,
        "warnings": list(a.warnings), "problems": dict(a.problems),
    }
    if data.gate_closed:
        return out
    out["reliability"] = dict(a.coefficients)
    variance = a.variance
    if variance is not None:
        counts = variance.table["tier"].value_counts()
        out["tiers"] = {t: int(counts.get(t, 0)) for t in ("aligned", "discuss", "full_session")}
        out["excluded_evaluations"] = int(len(variance.excluded))
    verdicts = a.verdicts
    if verdicts is not None:
        # exactly the people the page calls lenient or harsh, and a drifted expert
        out["flagged_evaluators"] = verdicts.flagged_evaluators()
        out["verdicts"] = verdicts.to_dict()
        if verdicts.experts:
            e = verdicts.experts[0].to_dict()
            out["drift"] = {"status": e.get("status"), "flagged": verdicts.experts[0].flagged,
                            **{k: e.get(k) for k in ("drift", "ci_low", "ci_high", "n_calls",
                                                     "slope_per_month", "slope_ci_low",
                                                     "slope_ci_high", "sentence")}}
    out["questions_to_rewrite"] = [q.to_dict() for q in a.questions or ()]
    out["critical_splits"] = [{"calibration_id": c.calibration_id, "question_id": c.question_id,
                               "question_text": c.question_text, "kind": c.kind,
                               "answers": [list(x) for x in c.answers]}
                              for c in a.critical or ()]
    out["evaluators_needed"] = a.evaluators_needed
    ci = a.evaluators_needed_ci
    out["evaluators_needed_ci"] = list(ci) if ci else None
    out["gray_area_questions"] = list(a.gray_area or [])
    recurring = a.recurring
    if recurring is not None and not recurring.empty:
        out["recurring_questions"] = list(recurring.loc[recurring["recurring"].astype(bool),
                                                        "question_id"])
    return out
