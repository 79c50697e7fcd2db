"""Initial scores against the agreed (consensus) score, call by call and month by month.

Scores entered before the calibration meeting are never overwritten. After the meeting the agreed
answer to each discussed question is recorded (``Store.record_consensus``, or ``calib consensus
record``). The agreed total of a call is then re-derived with :func:`calib.scoring.score_evaluation`
on the form version the call used, from the agreed answers: a question with a recorded consensus
takes it, every other question takes the answer given by the ``fill`` policy (the expert's answer
by default, since undiscussed questions were not in dispute). Each evaluator's initial score is
compared with that agreed total; :func:`agreement_over_time` summarises the gap per month, so the
report can show whether evaluators land closer to the agreed score over time.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from calib.scoring import score_evaluation
from calib.tables import NA_CATEGORY, require_columns
from calib.values import pick

__all__ = ["AGREED_COLUMNS", "OVER_TIME_COLUMNS", "form_from_store", "resolve_agreed_answer",
           "answer_category", "filled_answers",
           "AgreedAnswer", "agreed_scores",
           "initial_vs_agreed", "agreement_over_time", "over_time_html", "section_html"]

AGREED_COLUMNS = ("team", "month", "session_id", "calibration_id", "conversation_id",
                  "evaluator_id", "evaluator_name", "role", "initial_score", "agreed_score",
                  "difference", "n_agreed_questions", "n_filled_questions")
OVER_TIME_COLUMNS = ("month", "evaluator_id", "evaluator_name", "n_calls", "mean_difference",
                     "mean_abs_difference", "share_within_5")
_FILL = ("expert", "mode")


def form_from_store(store: Any, form_id: str) -> dict[str, Any]:
    """Rebuild the Genesys form JSON that :func:`calib.scoring.score_evaluation` needs.

    Parameters
    ----------
    store : calib.store.Store
    form_id : str
        The form *version* id.

    Returns
    -------
    dict
        ``{"id", "weightMode", "questionGroups": [{"id", "name", "weight", "questions": [{"id",
        "text", "type", "naEnabled", "isCritical", "isKill", "answerOptions": [{"id", "text",
        "value"}]}]}]}``.

    Raises
    ------
    ValueError
        When the store holds no question of that form version (sync the month first).
    """
    questions = store.form_questions(form_id)
    if questions.empty:
        raise ValueError(f"The store has no questions for form version {form_id}; sync a month "
                         f"that used it (calib sync) before scoring consensus answers.")
    options = store.answer_options(form_id)
    forms = store.forms()
    mode = forms.loc[forms["form_id"] == form_id, "weight_mode"]
    groups: dict[str, dict[str, Any]] = {}
    for q in questions.sort_values("position").itertuples(index=False):
        group = groups.setdefault(str(q.question_group_id), {
            "id": str(q.question_group_id), "name": q.question_group_name,
            "weight": float(q.group_weight) if pd.notna(q.group_weight) else 1.0,
            "naEnabled": True, "questions": []})
        opts = options[options["question_id"] == q.question_id].sort_values("position")
        group["questions"].append({
            "id": str(q.question_id), "text": q.question_text,
            "type": q.question_type or "multipleChoiceQuestion",
            "naEnabled": bool(q.na_enabled), "isCritical": bool(q.is_critical),
            "isKill": bool(q.is_kill),
            "answerOptions": [{"id": str(o.answer_id), "text": o.answer_text, "value": int(o.value)}
                              for o in opts.itertuples(index=False) if pd.notna(o.value)]})
    return {"id": form_id, "weightMode": (mode.iloc[0] if len(mode) and mode.iloc[0] else "SCALED"),
            "questionGroups": list(groups.values())}


@dataclass(frozen=True)
class AgreedAnswer:
    """An agreed answer resolved from what a facilitator types: ids and the words behind them."""

    calibration_id: str
    question_id: str
    answer_id: str  # an option id, or "N/A"
    call: str
    question: str
    answer: str


def resolve_agreed_answer(store: Any, *, call: str, question: str, answer: str
                          ) -> AgreedAnswer:
    """Resolve the call, question and answer a facilitator types to the stored ids.

    Parameters
    ----------
    store : calib.store.Store
    call : str
        A calibration id or a conversation id, whole or its first characters (at least 3), as
        the agenda shows them.
    question : str
        A question id, or the question's text (or its beginning), on the call's form.
    answer : str
        An answer option's text (``Yes``, ``No``, ``3`` …) or id, or ``N/A``.

    Raises
    ------
    ValueError
        Naming what did not match and listing what would.
    """
    calls = store.calibrations()
    # a call is named by its calibration id or its conversation id (the agenda shows the latter)
    names = {**{r.calibration_id: r.calibration_id for r in calls.itertuples(index=False)},
             **{r.conversation_id: r.calibration_id for r in calls.itertuples(index=False)
                if r.conversation_id}}
    key = pick("call", call, {k: f"{k[:8]}…" for k in names},
                "give a calibration or conversation id (or its first characters); stored calls "
                "begin")
    calibration_id = names[key]
    row = calls[calls["calibration_id"] == calibration_id].iloc[0]
    questions = store.form_questions(row["form_id"])
    if questions.empty:
        raise ValueError(f"The store has no questions of the form of call {call!r}; sync its "
                         f"month first (calib sync).")
    qid = pick("question", question, dict(zip(questions["question_id"],
                                               questions["question_text"])),
                "the form's questions are")
    if answer.strip().upper() in (NA_CATEGORY, "NA", "N.A."):
        answer_id, answer_words = NA_CATEGORY, NA_CATEGORY
    else:
        options = store.answer_options(row["form_id"])
        options = options[options["question_id"] == qid]
        answer_id = pick("answer", answer, dict(zip(options["answer_id"],
                                                     options["answer_text"])),
                          "the question's answers are N/A or")
        answer_words = str(options.set_index("answer_id").loc[answer_id, "answer_text"])
    text = str(questions.set_index("question_id").loc[qid, "question_text"])
    return AgreedAnswer(str(calibration_id), str(qid), str(answer_id),
                        str(row["conversation_id"] or calibration_id), text, answer_words)


def answer_category(row: Any) -> str | None:
    """An ``answers`` row's category: ``N/A``, the answer id, or None when left blank."""
    if bool(row.marked_na):
        return NA_CATEGORY
    return None if row.answer_id is None or (isinstance(row.answer_id, float)
                                             and math.isnan(row.answer_id)) else str(row.answer_id)


def filled_answers(call_answers: pd.DataFrame, fill: Literal["expert", "mode"] = "expert"
                   ) -> dict[str, str]:
    """Question id → category (an answer id or ``N/A``) from one call's pre-discussion answers
    (``answers`` rows with ``role``), by the fill policy of :func:`agreed_scores`."""
    out: dict[str, str] = {}
    for qid, rows in call_answers.groupby("question_id", sort=False):
        cats = [(r.role, answer_category(r)) for r in rows.itertuples(index=False)]
        given = [c for _, c in cats if c is not None]
        expert = [c for role, c in cats if role == "expert" and c is not None]
        if fill == "expert" and expert:
            out[str(qid)] = expert[0]
        elif given:
            counts = Counter(given).most_common()
            top = [c for c, k in counts if k == counts[0][1]]
            out[str(qid)] = expert[0] if expert and expert[0] in top else sorted(top)[0]
    return out


def agreed_scores(scores: pd.DataFrame, answers: pd.DataFrame, consensus: pd.DataFrame,
                  forms: Mapping[str, Mapping[str, Any]], *,
                  fill: Literal["expert", "mode"] = "expert") -> pd.DataFrame:
    """Each evaluator's initial score beside the agreed score of the call.

    Parameters
    ----------
    scores, answers : pandas.DataFrame
        Tidy ``scores`` and ``answers`` (the pre-discussion evaluations, kept as they were).
    consensus : pandas.DataFrame
        Agreed answers: ``calibration_id, question_id, answer_id, marked_na`` (``Store.consensus``).
    forms : mapping
        Form version id → Genesys form JSON (see :func:`form_from_store`).
    fill : {"expert", "mode"}
        Answer of a question without a recorded consensus: the expert's pre-discussion answer
        (falling back to the most common answer when the expert left it blank), or the most common
        answer (ties go to the expert's, then to the first id).

    Returns
    -------
    pandas.DataFrame
        :data:`AGREED_COLUMNS`, one row per finished evaluation of a call with at least one
        consensus answer; ``difference`` = initial − agreed (positive: scored above the agreed
        score). ``attrs["excluded"]`` lists calls left out and why (no consensus recorded, form
        version unknown, or agreed answers that do not fit the form).

    Raises
    ------
    ValueError
        Missing columns or an unknown ``fill`` policy.
    """
    if fill not in _FILL:
        raise ValueError(f"fill must be one of {list(_FILL)}, not {fill!r}.")
    require_columns(scores, ("calibration_id", "evaluator_id", "role", "status", "total_score",
                             "form_id"), what="scores")
    require_columns(answers, ("calibration_id", "evaluator_id", "role", "question_id",
                              "answer_id", "marked_na"), what="answers")
    require_columns(consensus, ("calibration_id", "question_id", "answer_id", "marked_na"),
                    what="consensus")

    finished = scores[(scores["status"] == "FINISHED") & scores["total_score"].notna()]
    agreed_calls = set(consensus["calibration_id"].astype(str))
    excluded = []
    no_consensus = sorted(set(finished["calibration_id"].astype(str)) - agreed_calls)
    excluded += [{"calibration_id": c, "reason": "no consensus answer recorded"}
                 for c in no_consensus]
    rows = []
    for cal_id, evals in finished.groupby("calibration_id", sort=True):
        cal_id = str(cal_id)
        if cal_id not in agreed_calls:
            continue
        form_ids = evals["form_id"].dropna().astype(str).unique()
        if len(form_ids) != 1 or form_ids[0] not in forms:
            excluded.append({"calibration_id": cal_id, "reason": (
                "the calibration's evaluations name no single stored form version"
                if len(form_ids) != 1 else f"form version {form_ids[0]} is not available")})
            continue
        call_answers = answers[answers["calibration_id"] == cal_id]
        call_answers = call_answers[call_answers["evaluator_id"].isin(evals["evaluator_id"])]
        agreed = filled_answers(call_answers, fill)
        decided = consensus[consensus["calibration_id"].astype(str) == cal_id]
        n_agreed = 0
        for r in decided.itertuples(index=False):
            agreed[str(r.question_id)] = NA_CATEGORY if bool(r.marked_na) else str(r.answer_id)
            n_agreed += 1
        try:
            total = score_evaluation(forms[form_ids[0]], agreed, unanswered="na").total_score
        except ValueError as exc:
            excluded.append({"calibration_id": cal_id, "reason": " ".join(str(exc).split())})
            continue
        for e in evals.itertuples(index=False):
            rows.append({
                "team": getattr(e, "team", None), "month": getattr(e, "month", None),
                "session_id": getattr(e, "session_id", None), "calibration_id": cal_id,
                "conversation_id": getattr(e, "conversation_id", None),
                "evaluator_id": e.evaluator_id, "evaluator_name": getattr(e, "evaluator_name", None),
                "role": e.role, "initial_score": float(e.total_score), "agreed_score": total,
                "difference": float(e.total_score) - total, "n_agreed_questions": n_agreed,
                "n_filled_questions": len(agreed) - n_agreed})
    out = pd.DataFrame(rows, columns=list(AGREED_COLUMNS))
    out.attrs["excluded"] = excluded
    return out


def initial_vs_agreed(store: Any, team: str, months: str | list[str] | None = None, *,
                      fill: Literal["expert", "mode"] = "expert") -> pd.DataFrame:
    """:func:`agreed_scores` for a team's stored months (forms and consensus from the store).

    Parameters
    ----------
    store : calib.store.Store
    team : str
    months : str or list of str, optional
        ``YYYY-MM`` month(s); all stored months by default.
    fill : {"expert", "mode"}
        As in :func:`agreed_scores`.

    Returns
    -------
    pandas.DataFrame
        :data:`AGREED_COLUMNS`, ``attrs["excluded"]`` as in :func:`agreed_scores`.
    """
    scores = store.scores(team, months)
    answers = store.answers(team, months)
    consensus = store.consensus(team)
    consensus = consensus[consensus["calibration_id"].isin(scores["calibration_id"])]
    stored = set(store.forms()["form_id"])
    forms = {fid: form_from_store(store, fid) for fid in scores["form_id"].dropna().unique()
             if fid in stored}
    return agreed_scores(scores, answers, consensus, forms, fill=fill)


def agreement_over_time(agreed: pd.DataFrame) -> pd.DataFrame:
    """Per month and evaluator: how far the initial scores were from the agreed ones.

    Parameters
    ----------
    agreed : pandas.DataFrame
        The output of :func:`agreed_scores` / :func:`initial_vs_agreed`.

    Returns
    -------
    pandas.DataFrame
        :data:`OVER_TIME_COLUMNS`: ``mean_difference`` (initial − agreed, signed),
        ``mean_abs_difference`` and ``share_within_5`` (share of calls within 5 points of the
        agreed score, the "aligned" tier), over ``n_calls`` calls; sorted by month, evaluator.
    """
    require_columns(agreed, ("month", "evaluator_id", "difference"), what="agreed scores")
    if agreed.empty:
        return pd.DataFrame(columns=list(OVER_TIME_COLUMNS))
    frame = agreed.assign(_abs=agreed["difference"].abs(),
                          _within=agreed["difference"].abs() <= 5.0)
    names = frame.groupby("evaluator_id")["evaluator_name"].first() \
        if "evaluator_name" in frame else pd.Series(dtype=object)
    out = (frame.groupby(["month", "evaluator_id"], sort=True)
           .agg(n_calls=("difference", "size"), mean_difference=("difference", "mean"),
                mean_abs_difference=("_abs", "mean"), share_within_5=("_within", "mean"))
           .reset_index())
    out["evaluator_name"] = out["evaluator_id"].map(names)
    return out[list(OVER_TIME_COLUMNS)]


def over_time_html(over_time: pd.DataFrame) -> str:
    """Escaped HTML: one row per evaluator, one column per month (mean |gap|, signed mean, n).

    Parameters
    ----------
    over_time : pandas.DataFrame
        The output of :func:`agreement_over_time`.
    """
    require_columns(over_time, OVER_TIME_COLUMNS, what="agreement over time")
    if over_time.empty:
        return ("<p>No consensus answers recorded yet: record the agreed answers after the "
                "meeting with <code>calib consensus record</code>.</p>")
    months = sorted(over_time["month"].unique())
    head = "".join(f"<th>{_esc(m)}</th>" for m in months)
    body = []
    for ev, rows in over_time.groupby("evaluator_id", sort=True):
        by_month = rows.set_index("month")
        name = rows["evaluator_name"].dropna()
        cells = "".join(
            f"<td>{by_month.loc[m, 'mean_abs_difference']:.1f} "
            f"({by_month.loc[m, 'mean_difference']:+.1f}, n = {int(by_month.loc[m, 'n_calls'])})</td>"
            if m in by_month.index else "<td>–</td>" for m in months)
        body.append(f"<tr><td>{_esc(name.iloc[0] if len(name) else ev)}</td>{cells}</tr>")
    return ("<p>Mean absolute gap in points between each evaluator's score before the meeting "
            "and the score re-derived from the agreed answers (signed mean and number of calls "
            "in brackets). Falling gaps mean the panel converges on the agreed reading of the "
            "rubric.</p><table><thead><tr><th>evaluator</th>" + head + "</tr></thead><tbody>"
            + "".join(body) + "</tbody></table>")


def section_html(over_time: pd.DataFrame, *, title: str = "Initial scores against the agreed score"
                 ) -> str:
    """:func:`over_time_html` inside a ``<section>`` with a heading (``title`` is escaped)."""
    return f"<section><h2>{_esc(title)}</h2>{over_time_html(over_time)}</section>"


def _esc(value: Any) -> str:
    return "" if value is None else html.escape(str(value), quote=True)
