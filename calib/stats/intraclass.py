"""Intraclass correlation coefficients for total scores: the six Shrout-Fleiss / McGraw-Wong forms.

All six forms come from one two-way ANOVA of the complete interactions x evaluators table, computed
with vectorised sums of squares (no model fitting), so a 2,400 x 20 table takes milliseconds.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as _st

from calib.stats._common import check_confidence, check_scores_range, to_matrix

__all__ = ["icc", "ICC_COLUMNS"]

ICC_COLUMNS = ("type", "description", "icc", "f", "df1", "df2", "pval", "ci_low", "ci_high",
               "n_interactions", "n_evaluators", "note")

_DESCRIPTIONS = {
    "ICC(1,1)": "One-way random, single evaluator",
    "ICC(A,1)": "Two-way random, absolute agreement, single evaluator",
    "ICC(C,1)": "Two-way, consistency, single evaluator",
    "ICC(1,k)": "One-way random, mean of k evaluators",
    "ICC(A,k)": "Two-way random, absolute agreement, mean of k evaluators",
    "ICC(C,k)": "Two-way, consistency, mean of k evaluators",
}


def icc(data: pd.DataFrame, *, interaction: str = "calibration_id",
        evaluator: str = "evaluator_id", score: str = "total_score",
        confidence: float = 0.95,
        missing: Literal["raise", "drop_interactions"] = "raise",
        score_range: tuple[float, float] | None = (0.0, 100.0),
        agreement_df: Literal["residual", "satterthwaite"] = "residual") -> pd.DataFrame:
    """Six intraclass correlations with F tests and confidence intervals.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy long table, one row per evaluation (e.g. the ``scores`` table).
    interaction, evaluator, score : str
        Column names of the rated interaction (target), the evaluator (rater) and the score.
    confidence : float
        Two-sided coverage of the confidence intervals.
    missing : {"raise", "drop_interactions"}
        The ANOVA needs a complete interactions x evaluators table. ``"raise"`` rejects data
        with an empty cell (a NaN score or an evaluator who did not score an interaction);
        ``"drop_interactions"`` removes every interaction with an empty cell (listwise
        deletion, as pingouin's ``nan_policy="omit"``) and reports how many in
        ``result.attrs["dropped_interactions"]``. For incomplete designs prefer
        :func:`calib.stats.krippendorff_alpha`.
    score_range : tuple of float or None
        Allowed score scale; scores outside it raise ``ValueError``. ``None`` skips the check.
    agreement_df : {"residual", "satterthwaite"}
        Denominator df of the F test of the absolute-agreement forms (A,1) and (A,k).
        ``"residual"``: ``(n-1)(k-1)``, McGraw & Wong (1996, Table 8), pingouin and psych.
        ``"satterthwaite"``: the approximate df ``v`` of McGraw & Wong's Table 7, computed
        from the estimated ICC(A,1), as R ``irr::icc`` prints it (39.7 instead of 38 on
        irr's anxiety data, p .0543 instead of .0562). F, the estimate and the interval are
        the same either way; only ``df2`` and ``pval`` of those two rows change.

    Returns
    -------
    pandas.DataFrame
        Six rows with ``type`` ``ICC(1,1)``, ``ICC(A,1)``, ``ICC(C,1)``, ``ICC(1,k)``,
        ``ICC(A,k)``, ``ICC(C,k)`` and columns ``type, description, icc, f, df1, df2, pval,
        ci_low, ci_high, n_interactions, n_evaluators, note``; ``note`` is empty unless the
        ANOVA is degenerate (see Notes). ``attrs`` holds
        ``dropped_interactions`` (int), ``missing_scores`` (rows with a NaN score),
        ``dropped_evaluators`` (evaluators without a single score, e.g. all pending) and the
        mean squares ``ms_rows``, ``ms_columns``, ``ms_error``, ``ms_within``.

    Raises
    ------
    ValueError
        On missing columns, a non-numeric or out-of-range score, duplicate ratings, an empty
        cell with ``missing="raise"``, an unknown policy, fewer than two interactions or two
        evaluators, or scores that are all identical (perfect agreement, but the calls do not
        differ either, so the ICC is 0/0; the message says so).

    Notes
    -----
    With mean squares for rows (interactions) MSR, columns (evaluators) MSC, error MSE and
    within rows MSW, on ``n`` interactions and ``k`` evaluators (Shrout & Fleiss 1979; McGraw &
    Wong 1996, Table 4):

    - ICC(1,1) = (MSR - MSW) / (MSR + (k-1) MSW); ICC(1,k) = (MSR - MSW) / MSR
    - ICC(A,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n);
      ICC(A,k) = (MSR - MSE) / (MSR + (MSC - MSE) / n)
    - ICC(C,1) = (MSR - MSE) / (MSR + (k-1) MSE); ICC(C,k) = (MSR - MSE) / MSR

    The F test of ICC = 0 is MSR/MSW on (n-1, n(k-1)) df for the one-way forms and MSR/MSE on
    (n-1, (n-1)(k-1)) df for the two-way forms (McGraw & Wong 1996, Table 8; unlike R ``irr``,
    which prints the Satterthwaite df for the agreement forms). Confidence intervals are exact
    F-based limits for the one-way and consistency forms and, for the agreement forms, use the
    Satterthwaite-approximate df ``v`` of McGraw & Wong (1996, Table 7); ICC(A,k) limits are
    the ICC(A,1) limits stepped up by the Spearman-Brown formula, which is algebraically the
    same as Table 7. Estimates and limits are not truncated: a negative ICC is reported as is.

    Degenerate tables (sums of squares below 1e-10 of the total count as exactly 0, so rounding
    residue cannot pass for variance) are reported, not raised, with a sentence in ``note``:

    - **perfect agreement** (every evaluator gave every call the same score, the calls differ):
      every form is 1, F is infinite, p is 0 and the limits are [1, 1], the F-based limits'
      value as the error variance goes to 0; the note says it describes these calls;
    - **perfect consistency** (constant offsets between evaluators, no residual): the
      consistency forms are 1 with limits [1, 1]; the agreement forms show the offsets;
    - **calls that do not differ** (every call has the same mean score): the forms that divide
      by the between-call mean square are NaN, the others keep their value (ICC(A,1) is 0 when
      all the variance is the evaluators'), and no interval is given, because the F-based
      limits collapse onto a single value.

    References
    ----------
    Shrout PE, Fleiss JL (1979). Intraclass correlations: uses in assessing rater reliability.
    Psychological Bulletin 86:420-428.
    McGraw KO, Wong SP (1996). Forming inferences about some intraclass correlation
    coefficients. Psychological Methods 1:30-46 (correction 1:390).

    Examples
    --------
    Shrout & Fleiss (1979), Table 2 (6 targets, 4 judges); their Table 4 gives ICC(1,1) = .17,
    ICC(2,1) = .29, ICC(3,1) = .71, ICC(1,4) = .44, ICC(2,4) = .62, ICC(3,4) = .91, where
    (2,·) is McGraw & Wong's absolute agreement A and (3,·) their consistency C.

    >>> import pandas as pd
    >>> ratings = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
    ...            [6, 2, 4, 7]]
    >>> table = pd.DataFrame([(f"call-{i}", f"judge-{j}", float(score))
    ...                       for i, row in enumerate(ratings) for j, score in enumerate(row)],
    ...                      columns=["calibration_id", "evaluator_id", "total_score"])
    >>> result = icc(table).set_index("type")
    >>> result["icc"].round(2).to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'ICC(1,1)': 0.17, 'ICC(A,1)': 0.29, 'ICC(C,1)': 0.71, 'ICC(1,k)': 0.44, 'ICC(A,k)': 0.62,
     'ICC(C,k)': 0.91}
    >>> [round(float(result.loc["ICC(A,1)", limit]), 2) for limit in ("ci_low", "ci_high")]
    [0.02, 0.76]
    """
    level = check_confidence(confidence)
    if agreement_df not in ("residual", "satterthwaite"):
        raise ValueError(f"agreement_df must be 'residual' ((n-1)(k-1), McGraw & Wong) or "
                         f"'satterthwaite' (as R irr), not {agreement_df!r}.")
    if missing not in ("raise", "drop_interactions"):
        raise ValueError(f"missing must be 'raise' or 'drop_interactions', not {missing!r}.")
    rating = to_matrix(data, interaction, evaluator, score, what="scores")
    if score_range is not None:
        check_scores_range(rating.values, name=score, lower=score_range[0],
                           upper=score_range[1])
    values = rating.values
    rated = ~np.isnan(values)
    scored = rated.any(axis=0)
    values = values[:, scored]  # an evaluator with no score at all is not a column
    complete = ~np.isnan(values).any(axis=1)
    dropped = int((~complete).sum())
    if dropped and missing == "raise":
        raise ValueError(
            f"{dropped} of {len(complete)} interactions lack a score from at least one of the "
            f"{values.shape[1]} evaluators, and the ANOVA ICC needs a complete table. Pass "
            f"missing='drop_interactions' to drop them, or use krippendorff_alpha, which "
            f"handles missing scores.")
    values = values[complete]
    n, k = values.shape
    if n < 2:
        raise ValueError(f"The ICC needs at least two interactions scored by every evaluator; "
                         f"found {n}. Add calibrations or drop evaluators who scored few.")
    if k < 2:
        raise ValueError(f"The ICC needs at least two evaluators per interaction; found {k}. "
                         f"Add evaluators to the calibration panel.")
    result = _icc_table(values, level, agreement_df)
    result.attrs["dropped_interactions"] = dropped
    result.attrs["missing_scores"] = rating.n_missing_rows
    result.attrs["dropped_evaluators"] = int((~scored).sum())
    return result


#: A sum of squares below this share of the total is rounding residue, counted as exactly 0.
#: Without it, 0/1 scores where every call gets the same scores left 6e-33 for the calls and
#: gave ICC(C,1) = 1.0 instead of "undefined"; perfect agreement on 80/60/90 left 1e-28 of
#: error and divided by zero.
_RESIDUE = 1e-10


def _mean_squares(values: np.ndarray) -> tuple[float, float, float, float]:
    """MSR, MSC, MSE and MSW of a complete n x k table (two-way ANOVA without replication).

    The error sum of squares comes from the residuals themselves, not from a difference of
    totals, and any sum of squares below ``_RESIDUE`` of the total is set to exactly 0, so
    that perfect agreement and calls that do not differ are recognised exactly.
    """
    n, k = values.shape
    centred = values - values.mean()
    row_means = centred.mean(axis=1)
    col_means = centred.mean(axis=0)
    residuals = centred - row_means[:, None] - col_means[None, :]
    ss_rows = k * float(row_means @ row_means)
    ss_cols = n * float(col_means @ col_means)
    ss_error = float(np.einsum("ij,ij->", residuals, residuals))
    total = ss_rows + ss_cols + ss_error
    ss_rows, ss_cols, ss_error = (0.0 if ss <= _RESIDUE * total else ss
                                  for ss in (ss_rows, ss_cols, ss_error))
    ms_rows = ss_rows / (n - 1)
    ms_cols = ss_cols / (k - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    ms_within = (ss_cols + ss_error) / (n * (k - 1))
    return ms_rows, ms_cols, ms_error, ms_within


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is 0 (the form is undefined)."""
    return float(numerator / denominator) if denominator != 0 else float("nan")


def _f_limits(f: float, df1: float, df2: float, upper_q: float) -> tuple[float, float]:
    """McGraw & Wong (1996) F_L and F_U; both infinite when F is (no error variance)."""
    if np.isinf(f):
        return np.inf, np.inf
    return f / _st.f.ppf(upper_q, df1, df2), f * _st.f.ppf(upper_q, df2, df1)


def _single_limits(fl: float, fu: float, k: int) -> tuple[float, float]:
    """``(F - 1) / (F + k - 1)`` at both limits; 1 at an infinite F."""
    return tuple(1.0 if np.isinf(x) else (x - 1) / (x + k - 1) for x in (fl, fu))


def _average_limits(fl: float, fu: float) -> tuple[float, float]:
    """``1 - 1 / F`` at both limits; 1 at an infinite F."""
    return tuple(1.0 if np.isinf(x) else 1 - 1 / x for x in (fl, fu))


def _notes(msr: float, msc: float, mse: float, n: int) -> dict[str, str]:
    """The sentence each row carries when the ANOVA is degenerate (empty otherwise)."""
    names = list(_DESCRIPTIONS)
    if msr == 0.0:
        sentence = ("The calls do not differ: every call has the same mean score, so there is "
                    "no between-call variance for the ICC to measure. Forms that divide by it "
                    "are undefined (NaN) and no interval is given; a value of 0 or below "
                    "says all score variation comes from the evaluators or within calls.")
        return dict.fromkeys(names, sentence)
    if mse == 0.0 and msc == 0.0:
        sentence = (f"Perfect agreement: every evaluator gave every one of the {n} calls the "
                    f"same score. F is infinite and the F-based limits collapse to 1, their "
                    f"limit as the error variance goes to 0; this describes these {n} calls, "
                    f"not a certainty about others.")
        return dict.fromkeys(names, sentence)
    notes = dict.fromkeys(names, "")
    if mse == 0.0:
        sentence = ("Perfect consistency: the evaluators differ only by constant offsets "
                    "(no residual), so the consistency forms are 1 and their limits collapse "
                    "to 1; the offsets show in the agreement forms.")
        notes["ICC(C,1)"] = notes["ICC(C,k)"] = sentence
    return notes


def _icc_table(values: np.ndarray, confidence: float,
               agreement_df: str = "residual") -> pd.DataFrame:
    n, k = values.shape
    if np.ptp(values) == 0:
        raise ValueError(f"Every score is {values.flat[0]:g} (all identical): the evaluators "
                         f"agree perfectly, "
                         f"but the calls do not differ either, so the ICC (the share of score "
                         f"variance due to calls) is 0/0 and undefined. Report the agreement "
                         f"in points instead (a spread of 0 points).")
    msr, msc, mse, msw = _mean_squares(values)
    upper_q = 0.5 + confidence / 2.0
    df_one, df_two = n * (k - 1), (n - 1) * (k - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f_one, f_two = np.float64(msr) / msw, np.float64(msr) / mse
    icc_1 = _ratio(msr - msw, msr + (k - 1) * msw)
    icc_1k = _ratio(msr - msw, msr)
    icc_c = _ratio(msr - mse, msr + (k - 1) * mse)
    icc_ck = _ratio(msr - mse, msr)
    icc_a = _ratio(msr - mse, msr + (k - 1) * mse + k * (msc - mse) / n)
    icc_ak = _ratio(msr - mse, msr + (msc - mse) / n)
    nan2 = (float("nan"), float("nan"))
    if msr == 0.0:  # F is 0 or 0/0: the F-based limits collapse onto the lowest value
        ci_1 = ci_1k = ci_c = ci_ck = ci_a = ci_ak = nan2
    else:
        # One-way (McGraw & Wong 1996, Table 7, case 1) and consistency (cases 2 and 3, C).
        fl1, fu1 = _f_limits(f_one, n - 1, df_one, upper_q)
        ci_1, ci_1k = _single_limits(fl1, fu1, k), _average_limits(fl1, fu1)
        flc, fuc = _f_limits(f_two, n - 1, df_two, upper_q)
        ci_c, ci_ck = _single_limits(flc, fuc, k), _average_limits(flc, fuc)
        # Absolute agreement (case 2A) with Satterthwaite df.
        ci_a = _agreement_ci(icc_a, msr, msc, mse, n, k, upper_q)
        ci_ak = tuple(k * b / (1 + (k - 1) * b) for b in ci_a)
    p_one = float(_st.f.sf(f_one, n - 1, df_one)) if np.isfinite(f_one) or np.isinf(f_one) \
        else float("nan")
    p_two = float(_st.f.sf(f_two, n - 1, df_two)) if np.isfinite(f_two) or np.isinf(f_two) \
        else float("nan")
    notes = _notes(msr, msc, mse, n)
    df_a, p_a = df_two, p_two
    if agreement_df == "satterthwaite" and np.isfinite(icc_a) and icc_a < 1 and mse > 0:
        df_a = float(_satterthwaite_df(icc_a, msc, mse, n, k))
        p_a = float(_st.f.sf(f_two, n - 1, df_a))
    rows = [
        ("ICC(1,1)", icc_1, f_one, n - 1, df_one, p_one, ci_1),
        ("ICC(A,1)", icc_a, f_two, n - 1, df_a, p_a, ci_a),
        ("ICC(C,1)", icc_c, f_two, n - 1, df_two, p_two, ci_c),
        ("ICC(1,k)", icc_1k, f_one, n - 1, df_one, p_one, ci_1k),
        ("ICC(A,k)", icc_ak, f_two, n - 1, df_a, p_a, ci_ak),
        ("ICC(C,k)", icc_ck, f_two, n - 1, df_two, p_two, ci_ck),
    ]
    table = pd.DataFrame(
        [(name, _DESCRIPTIONS[name], float(est), float(f), float(d1), float(d2), p,
          float(ci[0]), float(ci[1]), n, k, notes[name])
         for name, est, f, d1, d2, p, ci in rows],
        columns=list(ICC_COLUMNS))
    table.attrs.update(ms_rows=msr, ms_columns=msc, ms_error=mse, ms_within=msw)
    return table


def _agreement_ci(icc_a: float, msr: float, msc: float, mse: float, n: int, k: int,
                  upper_q: float) -> tuple[float, float]:
    """McGraw & Wong (1996) Table 7 limits for ICC(A,1), Satterthwaite df ``v``."""
    if mse == 0.0 and msc == 0.0:  # every evaluator gave every interaction the same score
        return 1.0, 1.0
    v = _satterthwaite_df(icc_a, msc, mse, n, k)
    f_lo = _st.f.ppf(upper_q, n - 1, v)
    f_hi = _st.f.ppf(upper_q, v, n - 1)
    common = k * msc + (k * n - k - n) * mse
    low = n * (msr - f_lo * mse) / (f_lo * common + n * msr)
    high = n * (f_hi * msr - mse) / (common + n * f_hi * msr)
    return float(low), float(high)


def _satterthwaite_df(icc_a: float, msc: float, mse: float, n: int, k: int) -> float:
    """McGraw & Wong (1996) Table 7's approximate df ``v`` of ICC(A,1)'s denominator."""
    a = k * icc_a / (n * (1 - icc_a))
    b = 1 + k * icc_a * (n - 1) / (n * (1 - icc_a))
    return (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1)
                                       + (b * mse) ** 2 / ((n - 1) * (k - 1)))
