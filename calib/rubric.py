"""The rubric decision log: agreed interpretations per question and form version.

A calibration meeting that settles a gray-area question records the decision in words, the
behavioural anchors ("Yes looks like …, No looks like …"), the session and who agreed. The log
lives in the history store and is exported as readable Markdown and YAML under
``parameters/rubric/`` so that evaluators can read it and it can be reviewed in git.

The report asks two things of the log: which notes are in force for a question, and whether
disagreement on that question fell after the note (before/after figures with their n). A
question that stays disputed session after session is a rubric defect, not an evaluator problem:
:func:`rubric_defects` calls those out with the suggestion to rewrite them with behavioural
anchors.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Iterable

import pandas as pd
from scipy.stats import ttest_ind
import yaml

from calib.markup import markdown_text as md
from calib.stats.variance import question_disagreement
from calib.tables import require_columns
from calib.values import inside, pick

BEFORE_AFTER_COLUMNS = (
    "question_id", "question_text", "note_id", "decided_on", "decision",
    "n_before", "disagreement_before", "disputed_before",
    "n_after", "disagreement_after", "disputed_after", "change", "fell",
    "change_ci_low", "change_ci_high", "p_value",
)

REWRITE_SUGGESTION = (
    "Rewrite this criterion with behavioural anchors: say what the agent does or says for each "
    "answer (e.g. 'identifies the customer's product model and gives steps specific to it without "
    "referring to documentation more than once'), instead of a judgement such as 'strong'.")


def _decided_on(value: object) -> str:
    text = str(value.isoformat() if isinstance(value, date) else value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"The meeting date must be written YYYY-MM-DD, such as 2026-11-20, not "
                         f"{value!r}.")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"The meeting date {text!r} is not a day of the calendar (month 01-12, "
                         f"a day that month has); write it YYYY-MM-DD, such as 2026-11-20.") \
            from None
    return text


def record_decision(
    store,
    *,
    question_id: str,
    decision: str,
    decided_on: str | date,
    form_context_id: str | None = None,
    form_version_id: str | None = None,
    session_id: str | None = None,
    anchors: Iterable[str] = (),
    agreed_by: Iterable[str] = (),
    export_dir: str | Path | None = None,
) -> int:
    """Record an agreed interpretation of a question and (optionally) re-export the log.

    Parameters
    ----------
    store : calib.store.Store
        The history store that keeps the log.
    question_id : str
        The question the decision is about.
    decision : str
        The agreed interpretation, in words.
    decided_on : str or date
        The meeting date, ``YYYY-MM-DD``.
    form_context_id, form_version_id : str, optional
        The form (all versions) and/or the version it applies to; at least one is needed.
    session_id : str, optional
        The calibration session where it was agreed.
    anchors : iterable of str
        Behavioural anchors.
    agreed_by : iterable of str
        Who agreed (at least one name).
    export_dir : path, optional
        When given, :func:`export_decision_log` rewrites the readable files there.

    Returns
    -------
    int
        The note's id in the store.

    Raises
    ------
    ValueError
        An empty decision, no form, nobody agreeing, or a malformed date.
    """
    if not str(decision or "").strip():
        raise ValueError("The decision is empty; write the agreed interpretation in words.")
    if not (form_context_id or form_version_id):
        raise ValueError("Name the form the decision applies to: pass form_context_id (all "
                         "versions) or form_version_id (one version).")
    people = [p for p in ([agreed_by] if isinstance(agreed_by, str) else agreed_by) if str(p).strip()]
    if not people:
        raise ValueError("Say who agreed: pass agreed_by with at least one name.")
    note_id = store.add_rubric_note(
        question_id, decision=str(decision).strip(), decided_on=_decided_on(decided_on),
        form_context_id=form_context_id, form_version_id=form_version_id, session_id=session_id,
        anchors=[a for a in ([anchors] if isinstance(anchors, str) else anchors) if str(a).strip()],
        agreed_by=people)
    if export_dir is not None:
        export_decision_log(store, export_dir)
    return int(note_id)


def resolve_question(store, question: str) -> tuple[str, str | None, str]:
    """The stored question a person names: ``(question_id, form_context_id, question_text)``.

    ``question`` is a question id, or its text as the agenda shows it (its beginning is enough).
    The form context is the one form the question belongs to, or None when several forms hold
    a question with that id (then name the form explicitly).
    """

    questions = store.form_questions()
    if questions.empty:
        raise ValueError("The store holds no form questions yet; sync a month first "
                         "(calib sync) so questions can be named by their text.")
    texts = dict(zip(questions["question_id"], questions["question_text"]))
    qid = pick("question", question, texts, "stored questions are")
    forms = store.forms()
    context = dict(zip(forms["form_id"], forms["form_context_id"]))
    contexts = {context.get(f) for f in questions.loc[questions["question_id"] == qid, "form_id"]}
    contexts.discard(None)
    return qid, (contexts.pop() if len(contexts) == 1 else None), str(texts[qid])


def decision_log(store) -> pd.DataFrame:
    """The whole log with question text and form name joined in, oldest decision first."""
    notes = store.rubric_notes()
    questions = store.form_questions()
    forms = store.forms()
    if len(questions) and "question_text" in questions:
        text = questions.drop_duplicates("question_id", keep="last").set_index("question_id")[
            "question_text"]
        notes["question_text"] = notes["question_id"].map(text)
    else:
        notes["question_text"] = None
    notes["question_text"] = notes["question_text"].fillna(notes["question_id"])
    if len(forms) and {"form_context_id", "name"} <= set(forms.columns):
        names = forms.drop_duplicates("form_context_id", keep="last").set_index("form_context_id")["name"]
        notes["form_name"] = notes["form_context_id"].map(names)
    else:
        notes["form_name"] = None
    return notes


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "form"


def export_decision_log(store, directory: str | Path = "parameters/rubric") -> list[Path]:
    """Write the log as ``<form>.md`` and ``<form>.yaml`` per form under ``directory``.

    Files are rewritten whole (write to a temporary name, then rename), so a reader never sees
    half a file. Returns the paths written.
    """
    log = decision_log(store)
    out_dir = Path(directory).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    key = log["form_context_id"].fillna(log["form_version_id"])
    for form_key, notes in log.groupby(key, sort=True):
        name = notes["form_name"].dropna().iloc[0] if notes["form_name"].notna().any() else form_key
        # ids and names come from data: both are slugged, and the path checked, so a form id
        # such as "/../../z" can neither leave the folder nor name a folder that does not exist
        stem = f"{_slug(name)}-{_slug(str(form_key))[:8]}"
        entries = []
        lines = [f"# Rubric decisions — {md(name)}", "",
              "Agreed interpretations from calibration sessions, oldest first. "
              "Recorded with `calib.rubric.record_decision`; do not edit by hand.", ""]
        for _, n in notes.iterrows():
            entries.append({
                "question_id": n["question_id"], "question": n["question_text"],
                "decided_on": str(n["decided_on"]), "session": n["session_id"],
                "form_version_id": n["form_version_id"], "decision": n["decision"],
                "anchors": list(n["anchors"]), "agreed_by": list(n["agreed_by"]),
            })
            lines += [f"## {md(n['question_text'])}", "",
                      f"*Decided {md(n['decided_on'])}"
                      + (f" in {md(n['session_id'])}" if n["session_id"] else "")
                      + f" by {md(', '.join(n['agreed_by']))}.*", "", md(n["decision"]), ""]
            lines += [f"- {md(a)}" for a in n["anchors"]] + ([""] if len(n["anchors"]) else [])
        for suffix, text in ((".md", "\n".join(lines)),
                             (".yaml", yaml.safe_dump({"form": str(name), "form_context_id": str(form_key),
                                                       "decisions": entries},
                                                      sort_keys=False, allow_unicode=True))):
            path = inside(out_dir, f"{stem}{suffix}")
            tmp = path.with_suffix(suffix + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
            written.append(path)
    return written


def notes_in_force(notes: pd.DataFrame, *, as_of: str) -> pd.DataFrame:
    """The notes decided on or before ``as_of`` (``YYYY-MM`` or ``YYYY-MM-DD``), all of them,
    newest first per question."""
    require_columns(notes, ("question_id", "decided_on", "decision"), what="rubric notes")
    if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", str(as_of)):
        raise ValueError(f"as_of must be YYYY-MM or YYYY-MM-DD, not {as_of!r}.")
    cutoff = str(as_of) if len(str(as_of)) == 10 else f"{as_of}-31"
    kept = notes[notes["decided_on"].astype(str) <= cutoff]
    return kept.sort_values(["question_id", "decided_on"], ascending=[True, False]).reset_index(drop=True)


def before_after(answers: pd.DataFrame, notes: pd.DataFrame, *,
                 disputed_below: float = 0.75, confidence: float = 0.95) -> pd.DataFrame:
    """Disagreement on each noted question before and after its note, with the n behind each.

    A call counts as *before* a note when its month is the note's month or earlier (the meeting
    that agrees a note discusses that month's calls) and *after* when its month is later.

    Parameters
    ----------
    answers : DataFrame
        One team's ``answers`` with a ``month`` column (finished, open evaluations only).
    notes : DataFrame
        Rubric notes (``note_id, question_id, decided_on, decision``); for a question with several
        notes, each note is compared with the calls between it and the next one.
    disputed_below : float
        As in :func:`calib.stats.variance.question_disagreement`.
    confidence : float
        Level of the change's interval.

    Returns
    -------
    DataFrame
        Columns ``BEFORE_AFTER_COLUMNS``: ``disagreement_*`` is the mean over calls of
        1 − pairwise agreement, ``disputed_*`` the share of calls on which the question was
        disputed, ``n_*`` the number of calls; ``change`` is after − before and ``fell`` is
        True/False (the point estimate), or None while there is no call on one side;
        ``change_ci_low``/``change_ci_high`` and ``p_value`` are Welch's t interval and test of
        the change over calls (scipy's ``ttest_ind(equal_var=False)``; NaN with fewer than two
        calls on a side), so a fall can be told from noise.
    """

    require_columns(answers, ("month", "calibration_id", "question_id"), what="answers")
    require_columns(notes, ("question_id", "decided_on", "decision"), what="rubric notes")
    if notes.empty:
        return pd.DataFrame(columns=BEFORE_AFTER_COLUMNS)
    per_call = question_disagreement(answers, disputed_below=disputed_below)
    per_call = per_call[per_call["n_ratings"] >= 2]
    rows = []
    for qid, q_notes in notes.sort_values("decided_on").groupby("question_id", sort=False):
        calls = per_call[per_call["question_id"] == qid]
        q_notes = q_notes.reset_index(drop=True)
        for i, note in q_notes.iterrows():
            month = str(note["decided_on"])[:7]
            previous = str(q_notes.loc[i - 1, "decided_on"])[:7] if i else ""
            following = str(q_notes.loc[i + 1, "decided_on"])[:7] if i + 1 < len(q_notes) else "9999-99"
            before = calls[(calls["month"] <= month) & (calls["month"] > previous)]
            after = calls[(calls["month"] > month) & (calls["month"] <= following)]

            def stats(frame: pd.DataFrame) -> tuple[int, float, float]:
                if frame.empty:
                    return 0, float("nan"), float("nan")
                return (len(frame), float((1 - frame["agreement"]).mean()),
                        float(frame["disputed"].mean()))

            nb, db, sb = stats(before)
            na, da, sa = stats(after)
            low = high = p = float("nan")
            if nb >= 2 and na >= 2:
                gap_after, gap_before = 1 - after["agreement"], 1 - before["agreement"]
                if gap_after.std() > 0 or gap_before.std() > 0:
                    test = ttest_ind(gap_after, gap_before, equal_var=False)
                    interval = test.confidence_interval(confidence_level=confidence)
                    low, high, p = float(interval.low), float(interval.high), float(test.pvalue)
            text = calls["question_text"].dropna()
            rows.append({
                "question_id": qid, "question_text": text.iloc[0] if len(text) else qid,
                "note_id": note.get("note_id"), "decided_on": str(note["decided_on"]),
                "decision": note["decision"], "n_before": nb, "disagreement_before": db,
                "disputed_before": sb, "n_after": na, "disagreement_after": da,
                "disputed_after": sa, "change": da - db if nb and na else float("nan"),
                "fell": (bool(da < db) if nb and na else None),
                "change_ci_low": low, "change_ci_high": high, "p_value": p,
            })
    return pd.DataFrame(rows, columns=BEFORE_AFTER_COLUMNS)


def rubric_defects(recurring: pd.DataFrame, notes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recurring criteria called out as rubric defects, with the notes already agreed for them.

    Parameters
    ----------
    recurring : DataFrame
        The output of :func:`calib.stats.recurring_criteria`.
    notes : DataFrame, optional
        Rubric notes; the newest decision per question is shown beside it.

    Returns
    -------
    DataFrame
        ``question_id, question_text, sessions_high, sessions_considered, has_note,
        latest_decision, suggestion`` for the questions flagged ``recurring``.
    """
    require_columns(recurring, ("question_id", "recurring", "sessions_high", "sessions_considered"),
                    what="recurring criteria")
    flagged = recurring[recurring["recurring"].astype(bool)].copy()
    latest: dict[str, str] = {}
    if notes is not None and len(notes):
        for _, n in notes.sort_values("decided_on").iterrows():
            latest[str(n["question_id"])] = f"{n['decision']} ({n['decided_on']})"
    flagged["has_note"] = flagged["question_id"].astype(str).isin(latest)
    flagged["latest_decision"] = flagged["question_id"].astype(str).map(latest)
    flagged["suggestion"] = [
        ("A note exists but disagreement persists: " if has else "")
        + REWRITE_SUGGESTION for has in flagged["has_note"]]
    if "question_text" not in flagged:
        flagged["question_text"] = flagged["question_id"]
    return flagged[["question_id", "question_text", "sessions_high", "sessions_considered",
                    "has_note", "latest_decision", "suggestion"]].reset_index(drop=True)
