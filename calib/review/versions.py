"""Form versions compared: did a new version of a form make the panel split less on a question?

For every form (context) the review's teams scored on, and every pair of consecutive versions
they used, each question on both versions is compared on the calls scored on the old version
(*before*) and on the new one (*after*), pooled over the teams:

* **disagreement**, the per-call measure of the monthly report and the rubric log
  (:func:`calib.stats.variance.question_disagreement`): ``1 −`` the share of evaluator pairs who
  chose the same answer (N/A counts as an answer), averaged over calls;
* **variance**, the variance of the question's points (as a share of its maximum) across the
  evaluators of a call, averaged over calls;
* **percent agreement and Gwet's AC1** over the calls of each side
  (:func:`calib.stats.categorical.question_agreement`), shown beside them.

Decision recorded here
----------------------
The unit is the call, not the answer: the evaluators of one call share what happened on it, so
their answers are not independent. The test compares the per-call disagreement of the two sides
with a **two-sided permutation test** of the difference of means (calls shuffled between the
sides; ``scipy.stats.permutation_test``), which needs no normality (most calls agree fully, so
the values pile up at 0), and a **percentile bootstrap CI** of the difference
(``scipy.stats.bootstrap``, calls resampled within each side). Every question on both versions
is tested, so the p-values of one version change are adjusted with **Holm's** step-down method
(Holm 1979). A change is called *real* when the adjusted p is below ``1 − confidence``, the CI
excludes 0 and the change is at least ``min_change`` (default 0.05, five pairs in a hundred);
*too few calls* below ``min_calls`` calls on a side.

Matching a question across versions: by its id (the store keeps each version's questions;
the sandbox, like a reworded Genesys question, keeps the id). A question whose id is on one
version only is paired with the question that left the same group at the same place in it,
when the store holds both versions' questions (``form_questions``); otherwise it is not compared.

The rubric decisions' before/after (a note's month instead of a version) is
:func:`calib.rubric.before_after`, shown as it is in the monthly report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from calib.report.display import esc, table_html
from calib.report.rubric_sections import before_after_html
from calib.stats._common import check_confidence
from calib.stats.categorical import question_agreement
from calib.stats.variance import question_disagreement
from calib.tables import require_columns
from calib.verdicts.words import month_words, plain

ChangeWord = Literal["split less", "split more", "no clear change", "too few calls"]

VERSION_COLUMNS = ("form_context_id", "form_name", "version_before", "version_after",
                   "version_number", "first_month_after", "question_id", "question_before",
                   "question_after", "n_before", "n_after", "disagreement_before",
                   "disagreement_after", "change", "ci_low", "ci_high", "p_value",
                   "p_adjusted", "variance_before", "variance_after", "agreement_before",
                   "agreement_after", "ac1_before", "ac1_after", "verdict")


@dataclass(frozen=True)
class QuestionChange:
    """One question before and after one new form version (disagreement per call, 0–1)."""

    form_context_id: str
    form_name: str
    version_before: str
    version_after: str
    version_number: int
    first_month_after: str
    question_id: str
    question_before: str
    question_after: str
    verdict: ChangeWord
    n_before: int
    n_after: int
    disagreement_before: float
    disagreement_after: float
    change: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    variance_before: float
    variance_after: float
    agreement_before: float
    agreement_after: float
    ac1_before: float
    ac1_after: float
    teams: tuple[str, ...]
    confidence: float
    min_change: float

    @property
    def reworded(self) -> bool:
        return self.question_before != self.question_after

    @property
    def real(self) -> bool:
        """The change passed the test (split less or more)."""
        return self.verdict in ("split less", "split more")

    def sentence(self) -> str:
        """The change in plain words, the n on each side and the p first."""
        name = f"“{self.question_after}”"
        if self.reworded:
            name += f" (before: “{self.question_before}”)"
        where = (f"version {self.version_number} of {self.form_name} (in use from "
                 f"{month_words(self.first_month_after)})")
        counts = f"n = {self.n_before} calls before, {self.n_after} after"
        if self.verdict == "too few calls":
            return (f"Question {name}: too few calls on one side of {where} to tell ({counts}).")
        said = (f"{self.disagreement_before:.2f} → {self.disagreement_after:.2f} of evaluator "
                f"pairs disagreeing per call, {counts}, p = {_p(self.p_adjusted)}")
        if self.verdict == "no clear change":
            return f"Question {name} split the panel about as much after {where}: {said}."
        way = "less" if self.verdict == "split less" else "more"
        return f"Question {name} split the panel {way} after {where}: {said}."

    def details(self) -> str:
        return (f"change {self.change:+.3f} ({self.confidence:.0%} bootstrap CI "
                f"{self.ci_low:+.3f} to {self.ci_high:+.3f}); permutation p {_p(self.p_value)}, "
                f"Holm-adjusted {_p(self.p_adjusted)}; variance of the points share "
                f"{self.variance_before:.3f} → {self.variance_after:.3f}; percent agreement "
                f"{self.agreement_before:.2f} → {self.agreement_after:.2f}, AC1 "
                f"{_ac1(self.ac1_before)} → {_ac1(self.ac1_after)}; "
                f"teams {', '.join(self.teams)}. "
                f"A change counts when the adjusted p is below {1 - self.confidence:.2g}, the CI "
                f"excludes 0 and it is at least {self.min_change:g}.")

    def to_dict(self) -> dict[str, Any]:
        return {k: plain(v) for k, v in asdict(self).items()} | {
            "sentence": self.sentence(), "details": self.details()}


def _p(value: float) -> str:
    if not np.isfinite(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted).

    Holm S (1979). A simple sequentially rejective multiple test procedure. Scandinavian
    Journal of Statistics 6:65-70.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


def compare_sides(before: np.ndarray, after: np.ndarray, *, confidence: float = 0.95,
                  n_resamples: int = 9999, seed: int = 0) -> tuple[float, float, float, float]:
    """Difference of means ``after − before``, its percentile bootstrap CI and the two-sided
    permutation p-value (calls shuffled between the sides).

    Returns NaN for the CI and p when a side has fewer than two values or every value is the
    same (nothing to test).
    """
    before, after = np.asarray(before, float), np.asarray(after, float)
    change = float(after.mean() - before.mean()) if len(before) and len(after) else np.nan
    if len(before) < 2 or len(after) < 2 or np.ptp(np.r_[before, after]) == 0:
        same = change if np.isfinite(change) and np.ptp(np.r_[before, after]) == 0 else np.nan
        return change, same, same, (1.0 if np.isfinite(same) else np.nan)

    def diff(a, b, axis=-1):
        return np.mean(a, axis=axis) - np.mean(b, axis=axis)

    rng = np.random.default_rng(seed)
    perm = sps.permutation_test((after, before), diff, vectorized=True,
                                n_resamples=n_resamples, alternative="two-sided",
                                random_state=rng)
    boot = sps.bootstrap((after, before), diff, vectorized=True, paired=False,
                         n_resamples=n_resamples, confidence_level=confidence,
                         method="percentile", random_state=rng)
    return (change, float(boot.confidence_interval.low), float(boot.confidence_interval.high),
            float(perm.pvalue))


def version_changes(answers: pd.DataFrame, scores: pd.DataFrame,
                    forms: pd.DataFrame | None = None,
                    questions: pd.DataFrame | None = None, *, confidence: float = 0.95,
                    min_change: float = 0.05, min_calls: int = 5, n_resamples: int = 9999,
                    seed: int = 0) -> tuple[QuestionChange, ...]:
    """Every question before and after every new form version the teams scored on.

    Parameters
    ----------
    answers : pandas.DataFrame
        The teams' ``answers`` over the period (``calibration_id, evaluator_id, role, form_id,
        question_id, question_text, answer_id, marked_na, points, max_points, team, month``).
    scores : pandas.DataFrame
        Their ``scores`` (``calibration_id, form_id, form_context_id, month``): which version
        each call was scored on.
    forms : pandas.DataFrame, optional
        ``Store.forms()``: the versions' names and dates (their order); default the order in
        which the teams first used them.
    questions : pandas.DataFrame, optional
        ``Store.form_questions()``, to pair a question whose id changed with a new version.
    confidence : float
        Level of the CIs; ``1 − confidence`` is the test's level.
    min_change : float
        Smallest change of the per-call disagreement (0–1) worth a word.
    min_calls : int
        Fewer calls than this on a side: *too few calls*.
    n_resamples : int
        Of the permutation test and of the bootstrap.
    seed : int
        Of both.

    Returns
    -------
    tuple of QuestionChange
        Real changes first (split less, then more, largest first), then the rest by version
        and question.

    Raises
    ------
    ValueError
        Missing columns.
    """
    confidence = check_confidence(confidence)
    require_columns(answers, ("calibration_id", "evaluator_id", "question_id", "answer_id",
                              "marked_na"), what="answers")
    require_columns(scores, ("calibration_id", "form_id", "form_context_id", "month"),
                    what="scores")
    if not 0 <= float(min_change) < 1:
        raise ValueError(f"min_change must be a share of evaluator pairs from 0 to 1 (e.g. "
                         f"0.05), not {min_change!r}.")
    if answers.empty or scores.empty:
        return ()
    calls = (scores.dropna(subset=["form_id"]).sort_values("month")
             .drop_duplicates("calibration_id")[["calibration_id", "form_id", "form_context_id",
                                                 "month"] + (["team"] if "team" in scores
                                                             else [])])
    version_of = dict(zip(calls["calibration_id"], calls["form_id"]))
    rows = answers[answers["calibration_id"].isin(version_of)]
    rows = rows.assign(form_id=rows["calibration_id"].map(version_of))
    per_call = question_disagreement(rows)
    per_call = per_call[per_call["n_ratings"] >= 2].assign(
        form_id=lambda f: f["calibration_id"].map(version_of))
    spread = _variance(rows)
    out: list[QuestionChange] = []
    for context, used in calls.groupby("form_context_id", sort=True):
        first_use = used.groupby("form_id")["month"].min().sort_values()
        order = _order(first_use, forms)
        names = _names(forms)
        for k in range(1, len(order)):
            old, new = order[k - 1], order[k]
            pairs = _pairs(rows, old, new, questions)
            teams = tuple(sorted(used.loc[used["form_id"].isin([old, new]), "team"].unique())) \
                if "team" in used else ()
            found = []
            for q_old, q_new in pairs:
                a = per_call[(per_call["form_id"] == old) & (per_call["question_id"] == q_old)]
                b = per_call[(per_call["form_id"] == new) & (per_call["question_id"] == q_new)]
                found.append(_one(rows, spread, a, b, old, new, q_old, q_new, confidence,
                                  n_resamples, seed))
            adjusted = holm(np.array([f["p_value"] for f in found]))
            for f, p_adj in zip(found, adjusted):
                nb, na = f["n_before"], f["n_after"]
                word: ChangeWord = "no clear change"
                if nb < min_calls or na < min_calls:
                    word = "too few calls"
                elif (np.isfinite(p_adj) and p_adj < 1 - confidence
                      and (f["ci_high"] < 0 or f["ci_low"] > 0)
                      and abs(f["change"]) >= min_change):
                    word = "split less" if f["change"] < 0 else "split more"
                out.append(QuestionChange(
                    form_context_id=str(context), form_name=names.get(new, str(context)),
                    version_before=str(old), version_after=str(new), version_number=k + 1,
                    first_month_after=str(first_use[new]), verdict=word, p_adjusted=float(p_adj),
                    teams=teams, confidence=confidence, min_change=float(min_change), **f))
    rank = {"split less": 0, "split more": 1, "no clear change": 2, "too few calls": 3}
    return tuple(sorted(out, key=lambda c: (rank[c.verdict], -abs(np.nan_to_num(c.change))
                                            if c.real else 0, c.form_name, c.version_number,
                                            c.question_after)))


def version_sentences(changes: tuple[QuestionChange, ...] | None,
                      rubric: pd.DataFrame | None = None, *, limit: int = 3) -> list[str]:
    """The director's sentences on form versions and rubric notes, only where they matter:
    the real changes (at most ``limit``, the largest first) and the rubric notes after which
    disagreement clearly fell or rose (Welch CI of :func:`calib.rubric.before_after` excluding
    0); nothing when nothing changed clearly."""
    said = [c.sentence() for c in (changes or ()) if c.real][:limit]
    more = sum(c.real for c in (changes or ())) - len(said)
    if more > 0:
        said.append(f"{more} more question(s) changed clearly with a new form version (see the "
                    f"form versions table).")
    if rubric is not None and len(rubric):
        for r in rubric.itertuples(index=False):
            low, high = float(r.change_ci_low), float(r.change_ci_high)
            if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 <= high:
                continue
            way = "fell" if high < 0 else "rose"
            said.append(f"After the rubric note on “{r.question_text}” ({r.decided_on}), "
                        f"disagreement {way} from {r.disagreement_before:.2f} to "
                        f"{r.disagreement_after:.2f} per call (n = {int(r.n_before)} calls "
                        f"before, {int(r.n_after)} after; Welch CI {low:+.2f} to {high:+.2f}).")
    return said


def version_table(changes: tuple[QuestionChange, ...]) -> pd.DataFrame:
    """The changes as a DataFrame with :data:`VERSION_COLUMNS`."""
    return pd.DataFrame([{c: getattr(x, c) for c in VERSION_COLUMNS} for x in changes],
                        columns=list(VERSION_COLUMNS))


def _order(first_use: pd.Series, forms: pd.DataFrame | None) -> list[str]:
    """The versions in use, oldest first: by the stored modified date when known, else by the
    month the teams first scored on them."""
    ids = list(first_use.index)
    if forms is not None and len(forms) and {"form_id", "modified_date"} <= set(forms.columns):
        dates = forms.set_index("form_id")["modified_date"]
        known = pd.to_datetime(dates.reindex(ids), utc=True, errors="coerce")
        if known.notna().all():
            return [str(i) for i in sorted(ids, key=lambda i: (known[i], first_use[i]))]
    return [str(i) for i in ids]


def _names(forms: pd.DataFrame | None) -> dict[str, str]:
    if forms is None or forms.empty or "name" not in forms:
        return {}
    return dict(zip(forms["form_id"].astype(str), forms["name"].astype(str)))


def _pairs(rows: pd.DataFrame, old: str, new: str,
           questions: pd.DataFrame | None) -> list[tuple[str, str]]:
    """(question id on the old version, on the new one) for every question on both."""
    on_old = list(dict.fromkeys(rows.loc[rows["form_id"] == old, "question_id"]))
    on_new = list(dict.fromkeys(rows.loc[rows["form_id"] == new, "question_id"]))
    pairs = [(q, q) for q in on_new if q in set(on_old)]
    if questions is None or questions.empty:
        return pairs
    left = [q for q in on_old if q not in set(on_new)]
    came = [q for q in on_new if q not in set(on_old)]
    if not left or not came:
        return pairs
    place = {}
    for form in (old, new):
        part = questions[questions["form_id"] == form].sort_values("position")
        for group, qs in part.groupby("question_group_name", sort=False):
            for rank, q in enumerate(qs["question_id"]):
                place[(form, str(q))] = (group, rank)
    slot_new = {place.get((new, q)): q for q in came if (new, q) in place}
    for q in left:
        match = slot_new.get(place.get((old, q)))
        if match is not None:
            pairs.append((q, match))
    return pairs


def _variance(rows: pd.DataFrame) -> pd.DataFrame:
    """Per call and question: the variance of the points share across the evaluators."""
    if not {"points", "max_points"} <= set(rows.columns):
        return pd.DataFrame(columns=["calibration_id", "question_id", "variance"])
    answered = rows[~rows["marked_na"].astype(bool) & (rows["max_points"] > 0)]
    share = answered["points"] / answered["max_points"]
    return (share.groupby([answered["calibration_id"], answered["question_id"]])
            .var(ddof=1).rename("variance").reset_index().dropna())


def _one(rows, spread, a, b, old, new, q_old, q_new, confidence, n_resamples, seed) -> dict:
    gap_before = (1 - a["agreement"]).to_numpy(float)
    gap_after = (1 - b["agreement"]).to_numpy(float)
    change, low, high, p = compare_sides(gap_before, gap_after, confidence=confidence,
                                         n_resamples=n_resamples, seed=seed)

    def text(form, q):
        t = rows.loc[(rows["form_id"] == form) & (rows["question_id"] == q), "question_text"] \
            if "question_text" in rows else pd.Series(dtype=object)
        t = t.dropna()
        return str(t.iloc[0]) if len(t) else str(q)

    def variance(calls, q):
        part = spread[(spread["question_id"] == q)
                      & spread["calibration_id"].isin(calls["calibration_id"])]
        return float(part["variance"].mean()) if len(part) else float("nan")

    def agreement(form, q):
        part = rows[(rows["form_id"] == form) & (rows["question_id"] == q)]
        try:
            table = question_agreement(part)
        except ValueError:
            return float("nan"), float("nan")
        if table.empty:
            return float("nan"), float("nan")
        return float(table["percent_agreement"].iloc[0]), float(table["ac1"].iloc[0])

    pa_b, ac1_b = agreement(old, q_old)
    pa_a, ac1_a = agreement(new, q_new)
    return {"question_id": str(q_new), "question_before": text(old, q_old),
            "question_after": text(new, q_new), "n_before": int(len(gap_before)),
            "n_after": int(len(gap_after)),
            "disagreement_before": float(gap_before.mean()) if len(gap_before) else np.nan,
            "disagreement_after": float(gap_after.mean()) if len(gap_after) else np.nan,
            "change": change, "ci_low": low, "ci_high": high, "p_value": p,
            "variance_before": variance(a, q_old), "variance_after": variance(b, q_new),
            "agreement_before": pa_b, "agreement_after": pa_a, "ac1_before": ac1_b,
            "ac1_after": ac1_a}


def _ac1(value: float) -> str:
    """AC1 to two decimals; a dash where it is undefined (every rating the same answer, so
    chance agreement is 1 and the coefficient divides by zero)."""
    return f"{value:.2f}" if np.isfinite(value) else "–"


def versions_html(changes: tuple[QuestionChange, ...] | None,
                  rubric: pd.DataFrame | None = None) -> str:
    """The form versions compared and the rubric notes' before/after as escaped HTML: the
    sentences of the real changes first, then every question's numbers with the n behind them
    (the rubric table is :func:`calib.report.rubric_sections.before_after_html`, the monthly
    report's)."""
    if changes is None:
        parts = ["<p>No answers were read, so the form versions were not compared.</p>"]
    elif not changes:
        parts = ["<p>The teams reviewed scored every call of the period on one form version: "
                 "there is no new version to compare.</p>"]
    else:
        real = [c for c in changes if c.real]
        parts = (["<ul>" + "".join(f"<li>{esc(c.sentence())}</li>" for c in real) + "</ul>"]
                 if real else ["<p>No question's disagreement changed clearly with a new form "
                               "version (the n and p of each are in the table).</p>"])
        rows = [(f"{c.form_name} v{c.version_number} ({c.first_month_after})",
                 c.question_after + (f" (was: {c.question_before})" if c.reworded else ""),
                 f"{c.disagreement_before:.2f} (n = {c.n_before})",
                 f"{c.disagreement_after:.2f} (n = {c.n_after})",
                 f"{c.change:+.2f} [{c.ci_low:+.2f}, {c.ci_high:+.2f}]", _p(c.p_adjusted),
                 f"{_ac1(c.ac1_before)} → {_ac1(c.ac1_after)}", c.verdict) for c in changes]
        parts.append(table_html(rows, ["new version", "question", "disagreement before",
                                       "disagreement after", "change [CI]", "p (Holm)",
                                       "AC1", "verdict"], numeric=(2, 3, 4, 5, 6)))
    if rubric is not None:
        parts.append("<h3>Rubric notes in force and whether disagreement fell after them</h3>")
        parts.append(before_after_html(rubric))
    return "".join(parts)
