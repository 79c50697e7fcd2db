"""Verdicts on questions: which rubric text to rewrite and how, which answers fall outside the
per-question tolerance, and which calls split on a critical or fatal question.

Rules
-----
* **Tolerance.** An answer is out of tolerance when it differs from the other panel evaluators'
  answer on the same call and question (their median points, the answerer and the expert left
  out, so a drifting expert moves nothing) by more than ``tolerance`` of the question's scale
  (``max_points``), or when it is N/A where most of the others answered (or the reverse). With
  the default 0.25 a yes/no difference is always out, one step on a 0–4 scale is in, two are
  out. This is the per-question companion of the ±``aligned_max`` band on the total score.
* **Shape of a disagreement**, read from the calls where the question was disputed this month:
  *applicability* when most of those calls mix N/A with real answers (the rubric must say when
  the question applies); *scale* when the question has more than two answer options (each point
  needs an observable anchor); *yes/no* otherwise (name the behaviour that makes it a yes).
* **Critical and fatal questions** (``is_critical``, ``is_kill`` on the form) swing the whole
  score when answered differently: every call where the panel split on one is listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from calib.tables import NA_CATEGORY

Shape = Literal["applicability", "scale", "yes/no"]

#: Share of a question's scale an answer may differ from the others' before it is out of
#: tolerance (a report setting: ``question_tolerance``).
DEFAULT_QUESTION_TOLERANCE = 0.25

TOLERANCE_COLUMNS = ("calibration_id", "evaluator_id", "evaluator_name", "question_id",
                     "question_text", "answer_text", "points", "reference_points",
                     "difference_share", "out_of_tolerance")
EVALUATOR_TOLERANCE_COLUMNS = ("evaluator_id", "evaluator_name", "n_answers", "n_out", "share_out")


def _category(answers: pd.DataFrame) -> pd.Series:
    na = answers["marked_na"].fillna(False).astype(bool)
    return answers["answer_id"].astype(object).where(~na, NA_CATEGORY)


def answer_tolerance(answers: pd.DataFrame, *,
                     tolerance: float = DEFAULT_QUESTION_TOLERANCE) -> pd.DataFrame:
    """Each panel answer against the other panel evaluators' answer on the same call.

    Parameters
    ----------
    answers : pandas.DataFrame
        ``answers`` rows (``calib.tables`` columns) of finished evaluations.
    tolerance : float
        Share of the question's scale (0 to 1) an answer may differ by.

    Returns
    -------
    pandas.DataFrame
        :data:`TOLERANCE_COLUMNS`; answers with no other panel answer to compare are left out.
        ``reference_points`` is NaN when the others mostly answered N/A.

    Examples
    --------
    Three evaluators on a 0–4 question: 3, 3 and 1. The 1 is 2 points (half the scale) from
    the others' median, out of a 0.25 tolerance; each 3 is at most 1 point (a quarter) away.

    >>> import pandas as pd
    >>> rows = [("c1", e, "q", "Next steps", a, float(a), 4.0, False)
    ...         for e, a in (("ann", 3), ("bo", 3), ("cy", 1))]
    >>> cols = ["calibration_id", "evaluator_id", "question_id", "question_text",
    ...         "answer_id", "points", "max_points", "marked_na"]
    >>> t = answer_tolerance(pd.DataFrame(rows, columns=cols).assign(role="evaluator"))
    >>> t.set_index("evaluator_id")["out_of_tolerance"].to_dict()
    {'ann': False, 'bo': False, 'cy': True}
    """
    if not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1:
        raise ValueError(f"question_tolerance must be a share of the question's scale in "
                         f"[0, 1), not {tolerance!r} (0.25 allows one step on a 0–4 scale).")
    panel = answers[answers.get("role", pd.Series("evaluator", answers.index)) != "expert"]
    panel = panel.assign(_na=panel["marked_na"].fillna(False).astype(bool),
                         _answered=_category(panel).notna())
    panel = panel[panel["_answered"]]
    # one pass over plain arrays: a pandas group and a named tuple per answer cost more than
    # the arithmetic (the report's single slowest verdict before)
    points_all = panel["points"].to_numpy(float)
    na_all = panel["_na"].to_numpy(bool)
    scale_all = panel["max_points"].to_numpy(float)
    evaluators = list(panel["evaluator_id"])
    names = list(panel["evaluator_name"]) if "evaluator_name" in panel else None
    texts = list(panel["question_text"]) if "question_text" in panel else None
    answer_texts = list(panel["answer_text"]) if "answer_text" in panel else None
    out = []
    for (cal, question), where in _groups_in_order(panel, ["calibration_id", "question_id"]):
        if len(where) < 2:
            continue
        points, na = points_all[where], na_all[where]
        scales = scale_all[where]
        scale = float(np.nanmax(scales)) if (~np.isnan(scales)).any() else np.nan
        for i, at in enumerate(where):
            others = np.delete(np.arange(len(where)), i)
            others_na = na[others].mean() > 0.5
            if others_na or na[i]:
                reference = np.nan
                out_now, share = bool(na[i] != others_na), (1.0 if na[i] != others_na else 0.0)
            else:
                valid = others[~na[others]]
                reference = float(np.median(points[valid]))
                share = (abs(points[i] - reference) / scale if scale and np.isfinite(scale)
                         else float(points[i] != reference))
                out_now = bool(share > tolerance + 1e-9)
            out.append((cal, evaluators[at], names[at] if names is not None else None, question,
                        texts[at] if texts is not None else question,
                        answer_texts[at] if answer_texts is not None else None,
                        points[i], reference, share, out_now))
    return pd.DataFrame(out, columns=list(TOLERANCE_COLUMNS))


def _groups_in_order(frame: pd.DataFrame, keys: list[str]) -> list[tuple[tuple, np.ndarray]]:
    """``frame.groupby(keys, sort=False)`` as (key, row positions) pairs, in the order the keys
    first appear; rows with a missing key are left out, as groupby leaves them."""
    if frame.empty:
        return []
    codes = [pd.factorize(frame[k], sort=False) for k in keys]
    valid = np.logical_and.reduce([c >= 0 for c, _ in codes])
    combined = pd.factorize(pd.MultiIndex.from_arrays([c for c, _ in codes])[valid],
                            sort=False)[0]
    positions = np.flatnonzero(valid)
    order = np.argsort(combined, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(combined[order])) + 1]
    groups = []
    for block in np.split(order, starts[1:]):
        first = positions[block[0]]
        groups.append((tuple(u[c[first]] for c, u in codes), positions[block]))
    return groups


def evaluator_tolerance(table: pd.DataFrame) -> pd.DataFrame:
    """Per evaluator: answers compared, answers out of tolerance and their share."""
    if table.empty:
        return pd.DataFrame(columns=list(EVALUATOR_TOLERANCE_COLUMNS))
    grouped = table.groupby("evaluator_id", sort=True).agg(
        evaluator_name=("evaluator_name", "last"), n_answers=("out_of_tolerance", "size"),
        n_out=("out_of_tolerance", "sum")).reset_index()
    grouped["n_out"] = grouped["n_out"].astype(int)
    grouped["share_out"] = grouped["n_out"] / grouped["n_answers"]
    return grouped[list(EVALUATOR_TOLERANCE_COLUMNS)]


@dataclass(frozen=True)
class CriticalSplit:
    """A call on which the panel answered a critical or fatal question differently."""

    calibration_id: str
    question_id: str
    question_text: str
    kind: Literal["critical", "fatal"]
    answers: tuple[tuple[str, int], ...]  # (answer, how many evaluators gave it)

    def sentence(self, call: str) -> str:
        given = ", ".join(f"{n} {a}" for a, n in self.answers)
        swing = ("a fatal question zeroes the whole score" if self.kind == "fatal" else
                 "a critical question decides the critical score")
        return f"{call}: the panel split on “{self.question_text}” ({given}); {swing}."


def critical_splits(answers: pd.DataFrame, form_questions: pd.DataFrame) -> tuple[CriticalSplit,
                                                                                    ...]:
    """Calls whose evaluators (the expert included) disagree on a critical or fatal question."""
    if answers.empty or form_questions is None or form_questions.empty:
        return ()
    flags = form_questions.drop_duplicates("question_id").set_index("question_id")
    critical = set(flags.index[flags["is_critical"].fillna(False).astype(bool)])
    fatal = set(flags.index[flags["is_kill"].fillna(False).astype(bool)])
    rows = answers[answers["question_id"].isin(critical | fatal)]
    rows = rows.assign(_label=[NA_CATEGORY if na else (t if isinstance(t, str) and t else a)
                               for na, t, a in zip(rows["marked_na"].fillna(False),
                                                   rows.get("answer_text", rows["answer_id"]),
                                                   rows["answer_id"])])
    rows = rows[rows["_label"].notna()]
    out = []
    for (cal, question), part in rows.groupby(["calibration_id", "question_id"], sort=True):
        counts = part["_label"].astype(str).value_counts()
        if len(counts) < 2:
            continue
        out.append(CriticalSplit(
            calibration_id=str(cal), question_id=str(question),
            question_text=str(part["question_text"].iloc[0]) if "question_text" in part
            else str(question),
            kind="fatal" if question in fatal else "critical",
            answers=tuple((str(a), int(n)) for a, n in counts.items())))
    return tuple(out)


@dataclass(frozen=True)
class QuestionVerdict:
    """A question to rewrite: how the panel split, for how long, and the fitting suggestion.

    ``calls_disputed`` of ``calls`` this month; ``months_high`` of ``months_considered`` recent
    months in which the question was disputed on at least half of the calls (the recurring
    rule of :func:`calib.stats.recurring_criteria`).
    """

    question_id: str
    question_text: str
    shape: Shape
    calls_disputed: int
    calls: int
    months_high: int
    months_considered: int
    recurring: bool
    critical: bool
    options: tuple[str, ...]
    latest_note: str | None

    def suggestion(self) -> str:
        q = f"“{self.question_text}”"
        if self.shape == "applicability":
            text = (f"Define when {q} applies: name the kinds of call where it is N/A, and say "
                    f"that every other call is scored.")
        elif self.shape == "scale":
            points = ", ".join(self.options) if self.options else "each point"
            text = (f"Anchor each point of {q}'s scale ({points}) with an observable behaviour: "
                    f"what the agent says or does for each score.")
        else:
            text = (f"Name the behaviour that makes {q} a Yes — what the agent must say or do, "
                    f"and whether a partial attempt counts.")
        if self.latest_note:
            text = f"The agreed note ({self.latest_note}) has not settled it. " + text
        return text

    def evidence(self) -> str:
        parts = [f"disputed on {self.calls_disputed} of {self.calls} calls this month"]
        if self.months_high:
            parts.append(f"on most calls in {self.months_high} of the last "
                         f"{self.months_considered} months")
        if self.critical:
            parts.append("a critical or fatal question")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"question_id": self.question_id, "question_text": self.question_text,
                "shape": self.shape, "calls_disputed": self.calls_disputed, "calls": self.calls,
                "months_high": self.months_high, "months_considered": self.months_considered,
                "recurring": self.recurring, "critical": self.critical,
                "latest_note": self.latest_note, "suggestion": self.suggestion()}


def _shape(rows: pd.DataFrame, n_options: int) -> Shape:
    mixed = rows.groupby("calibration_id")["marked_na"].agg(
        lambda s: 0 < s.fillna(False).astype(bool).sum() < len(s))
    if len(mixed) and mixed.mean() >= 0.5:
        return "applicability"
    return "scale" if n_options > 2 else "yes/no"


def question_verdicts(month_answers: pd.DataFrame, disagreement: pd.DataFrame | None,
                      recurring: pd.DataFrame | None, *,
                      form_questions: pd.DataFrame | None = None,
                      answer_options: pd.DataFrame | None = None,
                      notes: pd.DataFrame | None = None,
                      max_questions: int = 6) -> tuple[QuestionVerdict, ...]:
    """The questions to rewrite, most disputed first: every recurring criterion and every
    question disputed on at least one call this month (at most ``max_questions``, recurring and
    critical ones kept first)."""
    if disagreement is None or disagreement.empty:
        return ()
    month = disagreement[disagreement["agreement"].notna()]
    per_q = month.groupby("question_id").agg(calls=("calibration_id", "nunique"),
                                             disputed=("disputed", "sum"))
    rec = (recurring.set_index("question_id") if recurring is not None and not recurring.empty
           else pd.DataFrame())
    flags = (form_questions.drop_duplicates("question_id").set_index("question_id")
             if form_questions is not None and not form_questions.empty else pd.DataFrame())
    latest: dict[str, str] = {}
    if notes is not None and not notes.empty:
        for n in notes.sort_values("decided_on").itertuples(index=False):
            latest[str(n.question_id)] = f"{n.decided_on}: {n.decision}"
    out = []
    for question, r in per_q.iterrows():
        is_recurring = bool(question in rec.index and rec.loc[question, "recurring"])
        if r["disputed"] == 0 and not is_recurring:
            continue
        rows = month_answers[month_answers["question_id"] == question]
        disputed_calls = month.loc[(month["question_id"] == question)
                                   & month["disputed"].astype(bool), "calibration_id"]
        options = _options(question, rows, answer_options)
        scale = rows["max_points"].max() if "max_points" in rows else None
        # a question worth more than one point is a scale even when a month used two options
        n_options = max(len(options), 3 if scale is not None and scale > 1 else 0)
        critical = bool(question in flags.index and (bool(flags.loc[question, "is_critical"])
                                                     or bool(flags.loc[question, "is_kill"])))
        text = rows["question_text"].dropna()
        out.append(QuestionVerdict(
            question_id=str(question), question_text=str(text.iloc[0]) if len(text) else
            str(question),
            shape=_shape(rows[rows["calibration_id"].isin(disputed_calls)], n_options),
            calls_disputed=int(r["disputed"]), calls=int(r["calls"]),
            months_high=int(rec.loc[question, "sessions_high"]) if question in rec.index else 0,
            months_considered=(int(rec.loc[question, "sessions_considered"])
                               if question in rec.index else 0),
            recurring=is_recurring, critical=critical, options=options,
            latest_note=latest.get(str(question))))
    out.sort(key=lambda v: (not v.recurring, not v.critical, -v.calls_disputed / max(v.calls, 1),
                            v.question_text))
    return tuple(out[:max_questions])


def _options(question: str, rows: pd.DataFrame, answer_options: pd.DataFrame | None
             ) -> tuple[str, ...]:
    """The question's answer labels (the form's, else those given), N/A left out."""
    if answer_options is not None and not answer_options.empty:
        mine = answer_options[answer_options["question_id"] == question]
        if len(mine):
            mine = mine.drop_duplicates("answer_text").sort_values("position")
            return tuple(map(str, mine["answer_text"]))
    given = rows.loc[~rows["marked_na"].fillna(False).astype(bool), "answer_text"].dropna()
    return tuple(dict.fromkeys(map(str, given)))
