"""Generalizability theory: G-study variance components, D-study coefficients and intervals.

Designs (all facets random; calls are the object of measurement):

* ``"calls x evaluators"`` (Brennan's p x r): total scores from ``scores``; one rating per cell,
  so the interaction is confounded with error (``"calls x evaluators,e"``).
* ``"calls x questions x evaluators"`` (Brennan's p x i x o): question points from ``answers``,
  by default as a percentage of the question's maximum so questions on different scales are
  comparable.
* ``"evaluators:calls"`` (Brennan's i:p): evaluators nested in calls, each call scored by its own
  subset of the pool (the normal case when several teams share evaluators). Evaluator identity
  is not used: the evaluator effect and its interaction with calls are one component,
  ``"evaluators:calls,e"``. Its D-study coefficients are the one-way ICC(1,k).
* ``"calls x (evaluators:questions)"`` (Brennan's p x (r:t)): raters nested in tasks; each
  question is scored by its own evaluators and every call on every question. Components
  ``calls``, ``questions``, ``evaluators:questions``, ``calls x questions`` and
  ``calls x evaluators:questions,e``.

Estimation: **Henderson's method 1** (:mod:`calib.stats.henderson`), which *is* Brennan's ANOVA
estimator on balanced data (``method="anova"``) and stays unbiased on unbalanced data (panels
that differ from call to call, missing evaluations: ``method="henderson1"``) without
iteration, which keeps a year of calibrations fast. REML (statsmodels MixedLM with variance
components) is the alternative; it iterates over dense crossed design matrices, so the closed
form was preferred. Every G-study also reports its sums of squares and mean squares
(``anova``), analogous ones on unbalanced data.

Negative estimates are kept raw in ``variance``; ``share`` and the D-study use them truncated at
0 (Brennan 2001, §3.4).

D-study intervals (calls x evaluators, balanced): Feldt's (1965) F interval for Eρ² and the
Arteaga, Jeyaratnam & Franklin (1982) interval for Φ, as Brennan (2001, §6.2, Table 6.5,
p. 198) computes them for the p x I design, each stepped to ``n'`` evaluators.

References
----------
Brennan RL (2001). Generalizability Theory. Springer. Synthetic Data Sets No. 1 (p x i, ch. 2),
No. 2 (i:p, ch. 2), No. 3 (p x i x o, ch. 3) and No. 4 (p x (r:t), Table 3.2, p. 73; recast
as p x i for Table 6.5, p. 198) are reproduced in the tests.
Henderson CR (1953). Estimation of variance and covariance components. Biometrics 9:226-252.
Feldt LS (1965). The approximate sampling distribution of Kuder-Richardson reliability
coefficient twenty. Psychometrika 30:357-370.
Arteaga C, Jeyaratnam S, Franklin GA (1982). Confidence intervals for proportions of total
variance in the two-way cross component of variance model. Communications in Statistics:
Theory and Methods 11:1643-1658.
Shavelson RJ, Webb NM (1991). Generalizability Theory: A Primer. Sage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal

import numpy as np
import pandas as pd
from scipy import stats as _st

from calib.stats._common import check_confidence, prepare_scores
from calib.stats.henderson import ANOVA_COLUMNS, Effect, crossed_effects, henderson1
from calib.tables import require_columns

Design = Literal["calls x evaluators", "calls x questions x evaluators", "evaluators:calls",
                 "calls x (evaluators:questions)"]
DESIGNS: tuple[str, ...] = ("calls x evaluators", "calls x questions x evaluators",
                            "evaluators:calls", "calls x (evaluators:questions)")
COMPONENT_COLUMNS = ("facet", "variance", "share")
D_STUDY_COLUMNS = ("n_evaluators", "phi", "erho2", "phi_low", "phi_high", "erho2_low",
                   "erho2_high")
_EFFECTS = {
    "calls x evaluators": crossed_effects(("calls", "evaluators")),
    "calls x questions x evaluators": crossed_effects(("calls", "questions", "evaluators")),
    "evaluators:calls": [Effect(("calls",)), Effect(("evaluators",), ("calls",))],
    "calls x (evaluators:questions)": [
        Effect(("calls",)), Effect(("questions",)), Effect(("evaluators",), ("questions",)),
        Effect(("calls", "questions")), Effect(("calls", "evaluators"), ("questions",))],
}


@dataclass(frozen=True, eq=False)
class GStudyResult:
    """Result of :func:`g_study`.

    Attributes
    ----------
    components : pandas.DataFrame
        ``facet, variance, share``: one row per effect (``calls``, ``evaluators``, …, the last
        one confounded with error, e.g. ``calls x evaluators,e``). ``variance`` is the raw
        estimate (may be negative); ``share`` is its part of the total with negative estimates
        truncated at 0.
    n_calls, n_evaluators : int
    n_questions : int or None
        None for the designs without questions.
    design : str
    method : str
        ``"anova"`` (balanced data) or ``"henderson1"`` (unbalanced).
    n_observations : int
    excluded : pandas.DataFrame
        Rows dropped before the fit, with a ``reason``.
    anova : pandas.DataFrame
        ``facet, df, ss, ms``: the sums of squares, degrees of freedom and mean squares of
        every effect (Brennan 2001, §3.2), the last effect's mean square being the error's.
        On unbalanced data (``method="henderson1"``) they are Henderson's analogous sums of
        squares, from which the components were estimated, not an ANOVA's.
    n_evaluators_per_call : float
        Mean number of evaluators per call (per call and question for the p x (r:t)
        design), the ``n_r`` of nested designs.
    """

    components: pd.DataFrame
    n_calls: int
    n_evaluators: int
    n_questions: int | None
    design: str
    method: str
    n_observations: int
    excluded: pd.DataFrame
    anova: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=list(ANOVA_COLUMNS)))
    n_evaluators_per_call: float = float("nan")

    def variance(self, facet: str) -> float:
        """The raw variance component of ``facet`` (``"calls"``, ``"evaluators"``, …)."""
        table = self.components.set_index("facet")["variance"]
        if facet not in table.index:
            raise ValueError(f"No facet {facet!r} in this {self.design} G-study; it has "
                             f"{', '.join(table.index)}.")
        return float(table[facet])


# --------------------------------------------------------------------------- G-study


def _require_rows(table: pd.DataFrame | None, name: str, design: str) -> None:
    """An empty table gets its own sentence, before any column check talks about columns."""
    if isinstance(table, pd.DataFrame) and table.empty:
        other = ("use design='calls x evaluators' on the scores table instead"
                 if name == "answers" else "check the team and month it was loaded for")
        raise ValueError(f"The {name} table is empty (no rows), so the {design} G-study has "
                         f"nothing to decompose; load the month's {name}, or {other}.")


def _observations(scores: pd.DataFrame | None, answers: pd.DataFrame | None, design: str,
                  answer_value: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    if design in ("calls x evaluators", "evaluators:calls"):
        if scores is None:
            raise ValueError(f"The {design} design needs the scores table; pass "
                             f"g_study(scores, design={design!r}).")
        _require_rows(scores, "scores", design)
        kept, excluded = prepare_scores(scores)
        return kept, excluded, {"calls": "calibration_id", "evaluators": "evaluator_id",
                                "value": "total_score"}
    if answers is None:
        raise ValueError(f"The {design} design needs the answers table; pass "
                         f"g_study(scores, design={design!r}, answers=answers).")
    _require_rows(answers, "answers", design)
    _require_rows(scores, "scores", design)
    require_columns(answers, ["calibration_id", "evaluator_id", "question_id", "points"],
                    what="answers")
    wanted = ["calibration_id", "evaluator_id", "question_id", "points", "evaluation_id",
              "max_points"]
    frame = answers[[c for c in wanted if c in answers.columns]].copy()
    if "evaluation_id" not in frame.columns:
        frame["evaluation_id"] = None
    reason = pd.Series(None, index=frame.index, dtype="object")
    if scores is not None:
        kept_scores, excluded = prepare_scores(scores)
        finished = set(kept_scores["evaluation_id"].dropna())
        reason[~frame["evaluation_id"].isin(finished)] = ("the evaluation is not a counted "
                                                          "finished evaluation in scores")
    else:
        excluded = pd.DataFrame(columns=["evaluation_id", "calibration_id", "evaluator_id",
                                         "role", "status", "reason"])
    points = pd.to_numeric(frame["points"], errors="coerce").astype(float)
    reason[reason.isna() & points.isna()] = "N/A or blank: the answer has no points"
    if answer_value == "percent":
        require_columns(answers, ["max_points"], what="answers")
        top = pd.to_numeric(frame["max_points"], errors="coerce").astype(float)
        reason[reason.isna() & ~(top > 0)] = "no positive max_points to express the answer in %"
        points = 100.0 * points / top
    elif answer_value != "points":
        raise ValueError(f"answer_value must be 'percent' or 'points', not {answer_value!r}.")
    frame["value"] = points
    dup = frame.loc[reason.isna()].duplicated(["calibration_id", "question_id", "evaluator_id"],
                                              keep="last")
    reason[dup[dup].index] = "a second answer by the same evaluator to the same question"
    dropped = frame.loc[reason.notna(), ["evaluation_id", "calibration_id", "evaluator_id",
                                         "question_id"]].assign(reason=reason[reason.notna()])
    excluded = pd.concat([excluded, dropped], ignore_index=True)
    return frame.loc[reason.isna()], excluded, {"calls": "calibration_id",
                                                "questions": "question_id",
                                                "evaluators": "evaluator_id",
                                                "value": "value"}


def g_study(scores: pd.DataFrame | None, *, design: Design = "calls x evaluators",
            answers: pd.DataFrame | None = None,
            answer_value: Literal["percent", "points"] = "percent") -> GStudyResult:
    """G-study variance components of calibration scores.

    Parameters
    ----------
    scores : pandas.DataFrame or None
        A ``scores`` table. Only finished evaluations with a score count (see
        :func:`calib.stats._common.prepare_scores`). For the three-facet design it filters the
        answers to those evaluations; pass None to use every answer.
    design : {"calls x evaluators", "calls x questions x evaluators", "evaluators:calls", \
"calls x (evaluators:questions)"}
        The first and third use total scores, the others question scores (module docstring).
    answers : pandas.DataFrame, optional
        An ``answers`` table, needed for the designs with questions. N/A and blank answers
        carry no points and are dropped (reported in ``excluded``).
    answer_value : {"percent", "points"}
        Question scores as 100·points/max_points (default) or raw points.

    Returns
    -------
    GStudyResult

    Raises
    ------
    ValueError
        An unknown design, missing tables or columns, fewer than two calls, evaluators or
        questions, scores outside 0-100, or constant scores (no variance to decompose).

    References
    ----------
    Brennan (2001), chapters 2-3 and 7; Henderson (1953). See the module docstring.

    Examples
    --------
    Shrout & Fleiss (1979), Table 2 (6 calls, 4 judges). Their Table 3 mean squares (between
    calls 11.24, judges 32.49, residual 1.02) give the components (11.24 - 1.02) / 4 = 2.556,
    (32.49 - 1.02) / 6 = 5.244 and 1.02:

    >>> import pandas as pd
    >>> ratings = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
    ...            [6, 2, 4, 7]]
    >>> scores = pd.DataFrame([(f"call-{i}", f"judge-{j}", "FINISHED", float(score))
    ...                        for i, row in enumerate(ratings) for j, score in enumerate(row)],
    ...                       columns=["calibration_id", "evaluator_id", "status", "total_score"])
    >>> g = g_study(scores)
    >>> g.components[["facet", "variance"]].round(3).values.tolist()
    [['calls', 2.556], ['evaluators', 5.244], ['calls x evaluators,e', 1.019]]
    """
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {', '.join(map(repr, DESIGNS))}, not "
                         f"{design!r}.")
    frame, excluded, columns = _observations(scores, answers, design, answer_value)
    value = columns.pop("value")
    codes, levels = {}, {}
    for facet, column in columns.items():
        code, uniques = pd.factorize(frame[column], sort=True)
        codes[facet], levels[facet] = code.astype(np.int64), len(uniques)
        if frame.empty:
            reasons = excluded["reason"].value_counts() if len(excluded) else pd.Series()
            listed = "; ".join(f"{count} {reason}" for reason, count in reasons.items())
            raise ValueError(f"No observation is left for the G-study: all {len(excluded)} "
                             f"rows were excluded ({listed or 'no reason recorded'}). Finish "
                             f"or fix those evaluations first.")
        if len(uniques) < 2:
            raise ValueError(f"A G-study needs at least two {facet}; the data has "
                             f"{len(uniques)} after the missing-data policy. Add "
                             f"{facet} or use a design without that facet.")
    y = frame[value].to_numpy(float)
    if np.ptp(y) == 0:
        raise ValueError("All scores are equal, so there is no variance to decompose; a "
                         "G-study needs scores that vary.")
    components = henderson1(codes, y, _EFFECTS[design])
    anova = components.attrs.pop("anova")  # a DataFrame in attrs breaks pandas.concat
    balanced = components.attrs.pop("balanced")
    truncated = components["variance"].clip(lower=0.0)
    components["share"] = truncated / truncated.sum()
    per_call = y.size / (levels["calls"] * levels.get("questions", 1))
    return GStudyResult(components=components[list(COMPONENT_COLUMNS)],
                        n_calls=levels["calls"], n_evaluators=levels["evaluators"],
                        n_questions=levels.get("questions"), design=design,
                        method="anova" if balanced else "henderson1",
                        n_observations=int(y.size), excluded=excluded.reset_index(drop=True),
                        anova=anova, n_evaluators_per_call=float(per_call))


# --------------------------------------------------------------------------- D-study


def _error_variances(g: GStudyResult, n_eval: np.ndarray,
                     n_questions: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Relative (δ) and absolute (Δ) error variances for ``n_eval`` evaluators (Brennan 2001,
    §4.1-4.3), negative components counted as 0."""
    v = {f: max(0.0, g.variance(f)) for f in g.components["facet"]}
    if g.design == "calls x evaluators":
        relative = v["calls x evaluators,e"] / n_eval
        return relative, relative + v["evaluators"] / n_eval
    if g.design == "evaluators:calls":
        relative = v["evaluators:calls,e"] / n_eval
        return relative, relative
    n_q = float(n_questions if n_questions is not None else g.n_questions)
    if not n_q >= 1:
        raise ValueError(f"n_questions must be at least 1, not {n_questions!r}.")
    if g.design == "calls x (evaluators:questions)":
        relative = (v["calls x questions"] / n_q
                    + v["calls x evaluators:questions,e"] / (n_q * n_eval))
        return relative, (relative + v["questions"] / n_q
                          + v["evaluators:questions"] / (n_q * n_eval))
    relative = (v["calls x questions"] / n_q + v["calls x evaluators"] / n_eval
                + v["calls x questions x evaluators,e"] / (n_q * n_eval))
    return relative, (relative + v["questions"] / n_q + v["evaluators"] / n_eval
                      + v["questions x evaluators"] / (n_q * n_eval))


def _coefficients(g: GStudyResult, n_eval: np.ndarray,
                  n_questions: int | None) -> tuple[np.ndarray, np.ndarray]:
    relative, absolute = _error_variances(g, n_eval, n_questions)
    universe = max(0.0, g.variance("calls"))
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(universe > 0, universe / (universe + absolute), 0.0)
        erho2 = np.where(universe > 0, universe / (universe + relative), 0.0)
    return phi, erho2


def _intervals(g: GStudyResult, n_eval: np.ndarray,
               confidence: float) -> tuple[np.ndarray, ...]:
    """Brennan's (2001, §6.2) p x I intervals: Feldt for Eρ², Arteaga et al. for Φ."""
    ms = g.anova.set_index("facet")["ms"]
    ms_p, ms_r, ms_e = (float(ms[f]) for f in ("calls", "evaluators", "calls x evaluators,e"))
    n_p, n_r = g.n_calls, g.n_evaluators
    df_p, df_r, df_e = n_p - 1, n_r - 1, (n_p - 1) * (n_r - 1)
    tail = (1.0 - confidence) / 2.0
    out = []
    for q in (1.0 - tail, tail):  # lower limit from the upper quantile, and vice versa
        # Feldt: per-evaluator signal-to-noise ratio, then stepped to n' evaluators.
        ratio = (ms_p / (ms_e * _st.f.ppf(q, df_p, df_e)) - 1.0) / n_r
        erho2 = n_eval * ratio / (1.0 + n_eval * ratio)
        # Arteaga, Jeyaratnam & Franklin (1982): single-evaluator Φ, then stepped to n'.
        f_inf = _st.chi2.ppf(q, df_p) / df_p
        f_pe, f_pr = _st.f.ppf(q, df_p, df_e), _st.f.ppf(q, df_p, df_r)
        num = ms_p ** 2 - f_inf * ms_p * ms_e + (f_inf - f_pe) * f_pe * ms_e ** 2
        den = (n_p - 1) * f_inf * ms_p * ms_e + f_pr * ms_p * ms_r
        share = num / den
        single = n_p * share / (n_p * share + n_r)
        phi = n_eval * single / (1.0 + (n_eval - 1.0) * single)
        out.append((phi, erho2))
    (phi_low, erho2_low), (phi_high, erho2_high) = out
    return phi_low, phi_high, erho2_low, erho2_high


def d_study(g: GStudyResult, n_evaluators: Iterable[int] = range(1, 11), *,
            n_questions: int | None = None, confidence: float | None = 0.95) -> pd.DataFrame:
    """D-study: dependability Φ and generalizability Eρ², with intervals, for panel sizes.

    Φ = σ²_p / (σ²_p + σ²_Δ) (absolute decisions: an agent's score against a target) and
    Eρ² = σ²_p / (σ²_p + σ²_δ) (relative decisions: ranking agents), where the error variances
    divide each component by the number of evaluators (and questions) it is averaged over
    (Brennan 2001, §4.1-4.3). Negative components count as 0. For calls × evaluators, Φ equals
    ICC(A,k) and Eρ² equals ICC(C,k); for evaluators:calls both equal ICC(1,k).

    Intervals, for the balanced calls × evaluators design: Feldt's (1965) interval for Eρ² and
    the Arteaga, Jeyaratnam & Franklin (1982) interval for Φ, as Brennan (2001, §6.2) computes
    them for the p × I design. They differ from McGraw & Wong's ICC(A,k) interval (80% on
    Brennan's Synthetic Data Set No. 4: [.457, .845] here, [.471, .843] there). Other designs
    and unbalanced data get NaN limits, and ``attrs["note"]`` says why.

    Parameters
    ----------
    g : GStudyResult
    n_evaluators : iterable of int
        Numbers of evaluators per call (per call and question for the p × (r:t) design) to
        evaluate (each ≥ 1).
    n_questions : int, optional
        Questions per evaluation for the designs with questions; defaults to ``g.n_questions``.
    confidence : float or None
        Two-sided coverage of the intervals; None for no intervals.

    Returns
    -------
    pandas.DataFrame
        Columns ``n_evaluators, phi, erho2, phi_low, phi_high, erho2_low, erho2_high``.

    Raises
    ------
    ValueError
        A number of evaluators below 1 or not an integer, or a bad ``confidence``.

    References
    ----------
    Brennan (2001), §4.1-4.3 and §6.2 (Table 6.5, p. 198, reproduced in the tests);
    Shavelson & Webb (1991), ch. 6; Feldt (1965); Arteaga et al. (1982).

    Examples
    --------
    On Shrout & Fleiss (1979), Table 2, phi and E rho^2 are their ICC(2,·) and ICC(3,·):
    .29 and .71 for one judge, .62 and .91 for four (their Table 4).

    >>> import pandas as pd
    >>> ratings = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
    ...            [6, 2, 4, 7]]
    >>> scores = pd.DataFrame([(f"call-{i}", f"judge-{j}", "FINISHED", float(score))
    ...                        for i, row in enumerate(ratings) for j, score in enumerate(row)],
    ...                       columns=["calibration_id", "evaluator_id", "status", "total_score"])
    >>> d = d_study(g_study(scores), [1, 4])
    >>> d["phi"].round(2).tolist(), d["erho2"].round(2).tolist()
    ([0.29, 0.62], [0.71, 0.91])
    """
    counts = np.asarray(list(n_evaluators))
    if counts.size == 0 or counts.dtype.kind not in "iu" or (counts < 1).any():
        raise ValueError(f"n_evaluators must be whole numbers of at least 1, not "
                         f"{list(counts)!r}.")
    level = None if confidence is None else check_confidence(confidence)
    n_eval = counts.astype(float)
    phi, erho2 = _coefficients(g, n_eval, n_questions)
    nan = np.full(counts.size, np.nan)
    limits, note = (nan, nan, nan, nan), ""
    if level is None:
        note = "No intervals: confidence=None."
    elif g.design != "calls x evaluators" or g.method != "anova":
        note = ("No intervals: Brennan's (2001) intervals are for the balanced calls x "
                "evaluators design (every evaluator scored every call); this G-study is "
                f"{g.design} by {g.method}.")
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            limits = _intervals(g, n_eval, level)
    out = pd.DataFrame({"n_evaluators": counts.astype(int), "phi": phi, "erho2": erho2,
                        "phi_low": limits[0], "phi_high": limits[1],
                        "erho2_low": limits[2], "erho2_high": limits[3]},
                       columns=list(D_STUDY_COLUMNS))
    out.attrs["note"] = note
    return out


def evaluators_needed(g: GStudyResult, target: float = 0.8, max_evaluators: int = 50, *,
                      n_questions: int | None = None) -> int | None:
    """The smallest number of evaluators per call whose Φ reaches ``target``.

    Parameters
    ----------
    g : GStudyResult
    target : float
        Dependability to reach, in (0, 1); 0.8 by default.
    max_evaluators : int
        Largest panel considered.
    n_questions : int, optional
        As in :func:`d_study`.

    Returns
    -------
    int or None
        None when even ``max_evaluators`` evaluators do not reach the target (the call
        variance is too small against the evaluator-related variance).

    References
    ----------
    Brennan (2001), §4.1.

    Examples
    --------
    On Shrout & Fleiss (1979), Table 2, one judge gives phi = .29; by the Spearman-Brown
    formula k = 0.8 (1 - .29) / (.29 (1 - 0.8)) = 9.7, so ten judges reach 0.8:

    >>> import pandas as pd
    >>> ratings = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
    ...            [6, 2, 4, 7]]
    >>> scores = pd.DataFrame([(f"call-{i}", f"judge-{j}", "FINISHED", float(score))
    ...                        for i, row in enumerate(ratings) for j, score in enumerate(row)],
    ...                       columns=["calibration_id", "evaluator_id", "status", "total_score"])
    >>> evaluators_needed(g_study(scores), target=0.8)
    10
    """
    if not isinstance(target, (int, float)) or not 0 < target < 1:
        raise ValueError(f"target must be a dependability strictly between 0 and 1, not "
                         f"{target!r}.")
    if not isinstance(max_evaluators, (int, np.integer)) or max_evaluators < 1:
        raise ValueError(f"max_evaluators must be a whole number ≥ 1, not {max_evaluators!r}.")
    table = d_study(g, range(1, int(max_evaluators) + 1), n_questions=n_questions,
                    confidence=None)
    reached = table.loc[table["phi"] >= target - 1e-12, "n_evaluators"]
    return int(reached.iloc[0]) if len(reached) else None
