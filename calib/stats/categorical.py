"""Agreement on categorical answers: percent agreement, Gwet's AC1/AC2, Fleiss' and Cohen's kappa.

The multi-rater coefficients follow Gwet's (2014) general framework for raw ratings with missing
values: with ``r_ik`` the number of raters who put unit ``i`` in category ``k``, ``r_i`` the
ratings of unit ``i`` and agreement weights ``w`` (identity, or linear / quadratic on the
categories' own values), ``p_a`` averages ``sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1))`` over
units with two or more ratings (``r*_ik = sum_l w_kl r_il``), and the category shares ``pi_k``
average ``r_ik / r_i`` over units with at least one rating. Standard errors are Gwet's
linearisation (Gwet 2008; 2014, ch. 5), for an infinite population of units, and intervals use
the t distribution with ``n - 1`` df, as the irrCAC packages do.

**Intervals** follow one set of rules (:func:`calib.stats._common.coefficient_interval`): none
below three calls; none when the SE is 0 short of perfect agreement (every call contributing the
same agreement is not certainty); the point ``[1, 1]`` for perfect agreement, said so in
``note``; otherwise truncated to the coefficient's possible range ``[-pe/(1-pe), 1]`` (its value
at zero and at perfect observed agreement; ``[0, 1]`` for percent agreement), irrCAC truncating
only at 1. ``note`` carries the sentence.

**Categories of an answer** (``docs/architecture.md``): ``"N/A"`` when the evaluator marked the
question N/A, else the ``answer_id`` (identity weights) or the answer's ``points`` (linear and
quadratic weights, so weights use the form's own values, not category positions). A row with
neither is missing. With ``na="category"`` (default) N/A is a category of its own; under
weights it agrees fully with N/A and not at all with any scored answer. With ``na="missing"``
N/A rows are treated as missing and counted as such.
"""

from __future__ import annotations

from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from calib.stats._agreement import (
    WEIGHTS, AgreementResult, Interval, Weights, agreement_interval, agreement_result,
    check_interval, fleiss_null_se, multi_rater, prepare_codes, prepare_counts, require_estimate)
from calib.stats._common import check_confidence
from calib.tables import NA_CATEGORY, require_columns

__all__ = ["AgreementResult", "percent_agreement", "gwet_ac", "fleiss_kappa", "cohen_kappa",
           "question_agreement", "answer_distribution", "answer_categories",
           "QUESTION_AGREEMENT_COLUMNS", "ANSWER_DISTRIBUTION_COLUMNS"]

NaPolicy = Literal["category", "missing"]
NA_POLICIES = ("category", "missing")

QUESTION_AGREEMENT_COLUMNS = (
    "question_id", "question_text", "n_units", "n_ratings", "n_missing", "percent_agreement",
    "ac1", "ac1_se", "ac1_ci_low", "ac1_ci_high", "fleiss_kappa", "fleiss_se",
    "fleiss_ci_low", "fleiss_ci_high", "alpha_nominal", "expert_agreement", "note")
ANSWER_DISTRIBUTION_COLUMNS = ("question_id", "category", "answer_text", "count", "share")


# --------------------------------------------------------------------------------------------
# Public coefficient functions on long data
# --------------------------------------------------------------------------------------------

_DOC_PARAMS = """
    data : pandas.DataFrame
        Tidy long table, one row per rating, with the interaction, evaluator and category columns
        (build the category from an ``answers`` table with :func:`answer_categories`).
    interaction, evaluator, category : str
        Column names of the rated interaction, the evaluator and the category. A None/NaN
        category is a missing rating (dropped and counted).
    weights : {"identity", "linear", "quadratic", "ordinal"}
        Agreement weights. Linear and quadratic weights are ``1 - |x_k - x_l| / (max - min)``
        and ``1 - (x_k - x_l)^2 / (max - min)^2`` on the categories' numeric values; Gwet's
        (2014) ordinal weights are ``1 - M_kl / max M`` with ``M_kl = C(|r_k - r_l| + 1, 2)``
        on the values' ranks (not Krippendorff's ordinal metric); an ``"N/A"`` category
        agrees only with itself.
    categories : sequence, optional
        The full answer set of the question, so unused options still count (they change
        ``q`` and the weights' range). Default: the observed categories.
    confidence : float
        Two-sided coverage of the interval.
    interval : {"t", "z"}
        Quantile of the interval: t with ``n - 1`` df (irrCAC, Gwet 2014; the default except
        for Cohen's kappa) or normal (statsmodels, SAS; Cohen's default). Named in the
        result's ``interval``."""


def percent_agreement(data: pd.DataFrame, *, interaction: str = "calibration_id",
                      evaluator: str = "evaluator_id", category: str = "category",
                      weights: Weights = "identity", categories: Sequence[object] | None = None,
                      confidence: float = 0.95, interval: Interval = "t") -> AgreementResult:
    check_interval(interval)
    counts, _, w, seen, missing, raters = prepare_counts(data, interaction, evaluator, category,
                                                   categories, weights, confidence)
    core = multi_rater(counts, w, "pa")
    require_estimate(core, "Percent agreement", raters)
    return agreement_result("percent_agreement", core, confidence, seen, missing, weights, interval)


percent_agreement.__doc__ = f"""Percent agreement among any number of evaluators, with missing ratings.

    The share of agreeing pairs of ratings within a unit, averaged over units with two or more
    ratings (weighted pairs under linear/quadratic weights), with Gwet's (2014) SE.

    Parameters
    ----------{_DOC_PARAMS}

    Returns
    -------
    AgreementResult
        ``estimate == pa``; ``pe`` is 0.

    Raises
    ------
    ValueError
        On unknown weights, missing columns, duplicate ratings, categories outside
        ``categories``, or no unit with two ratings (e.g. a single evaluator).

    References
    ----------
    Gwet KL (2014). Handbook of Inter-Rater Reliability, 4th ed., Advanced Analytics, ch. 2.

    Examples
    --------
    Gwet's (2014) 12 units x 4 raters with 7 missing ratings (Krippendorff's 2011 data), as R
    irrCAC prints it for ``pa.coeff.raw(cac.raw4raters)``: 0.8181818, SE 0.12561, 95% CI
    0.542 to 1.

    >>> import pandas as pd
    >>> ratings = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...            [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5],
    ...            [None, None, 1, 1], [None, None, 3, None]]
    >>> data = pd.DataFrame([(f"call-{{i}}", f"rater-{{j}}", category)
    ...                      for i, row in enumerate(ratings) for j, category in enumerate(row)],
    ...                     columns=["calibration_id", "evaluator_id", "category"])
    >>> result = percent_agreement(data)
    >>> round(result.estimate, 7), round(result.se, 5), round(result.ci_low, 3), result.ci_high
    (0.8181818, 0.12561, 0.542, 1.0)
    """


def gwet_ac(data: pd.DataFrame, *, interaction: str = "calibration_id",
            evaluator: str = "evaluator_id", category: str = "category",
            weights: Weights = "identity", categories: Sequence[object] | None = None,
            confidence: float = 0.95, interval: Interval = "t") -> AgreementResult:
    check_interval(interval)
    counts, _, w, seen, missing, raters = prepare_counts(data, interaction, evaluator, category,
                                                   categories, weights, confidence)
    name = "AC1" if weights == "identity" else "AC2"
    core = multi_rater(counts, w, "gwet")
    require_estimate(core, f"Gwet's {name}", raters)
    return agreement_result(name, core, confidence, seen, missing, weights, interval)


gwet_ac.__doc__ = f"""Gwet's AC1 (identity weights) or AC2 (linear/quadratic) agreement coefficient.

    Chance agreement is ``pe = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k)`` with ``T_w`` the sum
    of the weights and ``q`` the number of categories, which keeps AC1 stable when most
    answers are "yes" (the kappa paradox). SE by Gwet's linearisation; t interval with
    ``n - 1`` df truncated at 1.

    Parameters
    ----------{_DOC_PARAMS}

    Returns
    -------
    AgreementResult
        ``coefficient`` is ``"AC1"`` or ``"AC2"``.

    Raises
    ------
    ValueError
        As :func:`percent_agreement`, and when fewer than two categories are known (pass
        ``categories=``).

    References
    ----------
    Gwet KL (2008). Computing inter-rater reliability and its variance in the presence of
    high agreement. British Journal of Mathematical and Statistical Psychology 61:29-48.
    Gwet KL (2014). Handbook of Inter-Rater Reliability, 4th ed., Advanced Analytics.

    Examples
    --------
    Gwet's (2014) 12 x 4 example as R irrCAC prints ``gwet.ac1.raw(cac.raw4raters)``: AC1
    0.77544, SE 0.14295, 95% CI 0.461 to 1, chance agreement 0.1903212.

    >>> import pandas as pd
    >>> ratings = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...            [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5],
    ...            [None, None, 1, 1], [None, None, 3, None]]
    >>> data = pd.DataFrame([(f"call-{{i}}", f"rater-{{j}}", category)
    ...                      for i, row in enumerate(ratings) for j, category in enumerate(row)],
    ...                     columns=["calibration_id", "evaluator_id", "category"])
    >>> result = gwet_ac(data)
    >>> round(result.estimate, 5), round(result.se, 5), round(result.ci_low, 3), result.ci_high
    (0.77544, 0.14295, 0.461, 1.0)
    >>> round(result.pe, 7)
    0.1903212
    """


def fleiss_kappa(data: pd.DataFrame, *, interaction: str = "calibration_id",
                 evaluator: str = "evaluator_id", category: str = "category",
                 weights: Weights = "identity", categories: Sequence[object] | None = None,
                 confidence: float = 0.95, interval: Interval = "t") -> AgreementResult:
    check_interval(interval)
    counts, _, w, seen, missing, raters = prepare_counts(data, interaction, evaluator, category,
                                                   categories, weights, confidence)
    core = multi_rater(counts, w, "fleiss")
    require_estimate(core, "Fleiss' kappa", raters)
    se0 = fleiss_null_se(counts) if weights == "identity" else float("nan")
    z = core.estimate / se0 if se0 > 0 else float("nan")
    pval = float(2 * _st.norm.sf(abs(z))) if np.isfinite(z) else float("nan")
    return agreement_result("fleiss_kappa", core, confidence, seen, missing, weights, interval,
                   se0=se0, z=z, pval=pval)


fleiss_kappa.__doc__ = f"""Fleiss' kappa for any number of evaluators (Gwet's generalisation to missing ratings).

    With the same number of raters on every unit and identity weights this is Fleiss' (1971)
    kappa: ``pe = sum_k pi_k^2``. Two standard errors are reported, for two purposes:

    - ``se`` (used for ``ci_low``/``ci_high``) is Gwet's (2008, 2014) linearised non-null SE,
      valid when agreement is present; the interval is t-based with ``n - 1`` df, truncated at
      1 (as irrCAC);
    - ``se0``, ``z`` and ``pval`` test kappa = 0 with the Fleiss, Nee & Landis (1979) SE under
      the null hypothesis; it needs a constant number of raters and identity weights, else NaN.
      ``se0`` is not a valid SE for a confidence interval.

    Parameters
    ----------{_DOC_PARAMS}

    Returns
    -------
    AgreementResult
        ``coefficient`` is ``"fleiss_kappa"``.

    Raises
    ------
    ValueError
        As :func:`percent_agreement`, and when chance agreement is 1 (all ratings in one
        category).

    References
    ----------
    Fleiss JL (1971). Measuring nominal scale agreement among many raters. Psychological
    Bulletin 76:378-382.
    Fleiss JL, Nee JCM, Landis JR (1979). Large sample variance of kappa in the case of
    different sets of raters. Psychological Bulletin 86:974-977.
    Gwet KL (2014). Handbook of Inter-Rater Reliability, 4th ed., Advanced Analytics.

    Examples
    --------
    Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses (one string of six
    diagnoses per patient); kappa = .430, and R irr ``kappam.fleiss`` prints z = 17.652.

    >>> import pandas as pd
    >>> patients = ("444444 222555 233335 555555 222444 113333 333355 113334 114444 555555 "
    ...             "144444 124444 222333 144444 224445 333335 111455 111112 224444 133555 "
    ...             "555555 244444 224555 114444 144445 222224 111155 224444 133333 555555")
    >>> data = pd.DataFrame([(patient, rater, int(diagnosis))
    ...                      for patient, row in enumerate(patients.split())
    ...                      for rater, diagnosis in enumerate(row)],
    ...                     columns=["calibration_id", "evaluator_id", "category"])
    >>> result = fleiss_kappa(data)
    >>> round(result.estimate, 3), round(result.z, 3)
    (0.43, 17.652)
    """


def cohen_kappa(data: pd.DataFrame, *, interaction: str = "calibration_id",
                evaluator: str = "evaluator_id", category: str = "category",
                weights: Weights = "identity", categories: Sequence[object] | None = None,
                raters: tuple[object, object] | None = None,
                confidence: float = 0.95, interval: Interval = "z") -> AgreementResult:
    check_interval(interval)
    if raters is not None:
        require_columns(data, [evaluator], what="data")
        data = data[data[evaluator].isin(list(raters))]
    codes, labels, w, seen, missing, pair = prepare_codes(
        data, interaction, evaluator, category, categories, weights, confidence)
    if len(pair) != 2:
        raise ValueError(f"Cohen's kappa compares exactly two evaluators, but the data has "
                         f"{len(pair)}; pass raters=(first, second) to pick two, or "
                         f"use fleiss_kappa or gwet_ac for more.")
    both = (codes >= 0).all(axis=1)
    n = int(both.sum())
    if n == 0:
        raise ValueError("Cohen's kappa needs units rated by both evaluators; none are. "
                         "Check that the two evaluators scored the same calibrations.")
    q = len(labels)
    table = np.bincount(codes[both, 0] * q + codes[both, 1], minlength=q * q).reshape(q, q) / n
    row, col = table.sum(axis=1), table.sum(axis=0)
    po, pe = float((w * table).sum()), float(row @ w @ col)
    if pe >= 1.0:
        raise ValueError("Cohen's kappa is undefined because chance agreement is 1 (both "
                         "evaluators always chose the same single category); report percent "
                         "agreement instead.")
    kappa = (po - pe) / (1 - pe)
    w_row, w_col = w @ col, w.T @ row
    spread = w_row[:, None] + w_col[None, :]
    var = ((table * (w - spread * (1 - kappa)) ** 2).sum() - (kappa - pe * (1 - kappa)) ** 2) \
        / (n * (1 - pe) ** 2)
    var0 = ((np.outer(row, col) * (w - spread) ** 2).sum() - pe ** 2) / (n * (1 - pe) ** 2)
    se, se0 = float(np.sqrt(max(var, 0.0))), float(np.sqrt(max(var0, 0.0)))
    if se < 1e-12 * max(1.0, abs(kappa)):  # rounding residue of an exact 0
        se = 0.0
    ci = agreement_interval(float(kappa), se, pe, n, confidence, distribution=interval)
    z = kappa / se0 if se0 > 0 else float("nan")
    pval = float(2 * _st.norm.sf(abs(z))) if np.isfinite(z) else float("nan")
    return AgreementResult("cohen_kappa", float(kappa), se, ci.low, ci.high, po, pe, n, 2 * n,
                           seen - n, missing, weights, se0=se0, z=z, pval=pval, note=ci.note,
                           interval=interval)


cohen_kappa.__doc__ = f"""Cohen's kappa for two evaluators, weighted on the categories' own values.

    ``kappa_w = (p_o - p_e) / (1 - p_e)`` with ``p_o = sum w_kl p_kl`` and chance agreement
    from each evaluator's own marginals (Cohen 1960, 1968). The large-sample SE (ASE) and the
    null SE (ASE0) are those of Fleiss, Cohen & Everitt (1969); the interval is the normal
    (Wald) interval ``kappa +- z ASE`` as in statsmodels and SAS PROC FREQ, and ``z``/``pval``
    test kappa = 0 with ASE0. Units rated by only one of the two are dropped and counted.

    Parameters
    ----------{_DOC_PARAMS}
    raters : tuple, optional
        The two evaluator ids to compare when the data has more.

    Returns
    -------
    AgreementResult
        ``coefficient`` is ``"cohen_kappa"``; ``pa``/``pe`` are ``p_o``/``p_e``.

    Raises
    ------
    ValueError
        When the data does not hold exactly two evaluators, no unit was rated by both, or
        chance agreement is 1; and as :func:`percent_agreement`.

    References
    ----------
    Cohen J (1968). Weighted kappa: nominal scale agreement with provision for scaled
    disagreement or partial credit. Psychological Bulletin 70:213-220.
    Fleiss JL, Cohen J, Everitt BS (1969). Large sample standard errors of kappa and
    weighted kappa. Psychological Bulletin 72:323-327.

    Examples
    --------
    Gwet's (2014) two abstractors classifying 100 pregnancies (R irrCAC
    ``cont3x3abstractors``): kappa 0.7964094 (``kappa2.table``).

    >>> import numpy as np, pandas as pd
    >>> table = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])  # Ectopic, AIU, NIU
    >>> first, second = np.repeat(np.indices(table.shape).reshape(2, -1), table.ravel(), axis=1)
    >>> data = pd.DataFrame({{"calibration_id": np.tile(np.arange(100), 2),
    ...                      "evaluator_id": np.repeat(["abstractor-1", "abstractor-2"], 100),
    ...                      "category": np.concatenate([first, second])}})
    >>> round(cohen_kappa(data).estimate, 7)
    0.7964094
    """


# --------------------------------------------------------------------------------------------
# Per-question tables from the ``answers`` table
# --------------------------------------------------------------------------------------------

def answer_categories(answers: pd.DataFrame, *, weights: Weights = "identity",
                      na: NaPolicy = "category") -> pd.Series:
    """The category of each answer row, per ``docs/architecture.md``.

    Parameters
    ----------
    answers : pandas.DataFrame
        An ``answers`` table: ``answer_id``, ``marked_na`` (absent: nothing is N/A) and, for
        weighted categories, ``points``.
    weights : {"identity", "linear", "quadratic", "ordinal"}
        Identity uses the ``answer_id``; linear and quadratic use the answer's ``points``
        (the form's own value of the option), so that weights follow the form's scale.
    na : {"category", "missing"}
        ``"category"``: a question marked N/A has category ``"N/A"`` (disagreeing about
        applicability is a disagreement); ``"missing"``: N/A counts as a missing rating.

    Returns
    -------
    pandas.Series
        Object series aligned with ``answers``; None where the rating is missing (blank).

    Raises
    ------
    ValueError
        For unknown ``weights`` or ``na``, missing columns, or (weighted) an answered row
        without points.
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}.")
    if na not in NA_POLICIES:
        raise ValueError(f"na must be 'category' (N/A is an answer) or 'missing' (N/A is not "
                         f"a rating), not {na!r}.")
    require_columns(answers, ["answer_id"] + ([] if weights == "identity" else ["points"]),
                    what="answers")
    marked = (answers["marked_na"].fillna(False).astype(bool).to_numpy() if "marked_na" in answers
              else np.zeros(len(answers), dtype=bool))
    if weights == "identity":
        base = answers["answer_id"].astype(object).where(answers["answer_id"].notna(), None)
    else:
        points = pd.to_numeric(answers["points"], errors="coerce")
        unscored = answers["answer_id"].notna().to_numpy() & points.isna().to_numpy() & ~marked
        if unscored.any():
            raise ValueError(f"{int(unscored.sum())} answered rows have no points, so "
                             f"{weights} weights cannot use the form's values; fill 'points' "
                             f"or use weights='identity'.")
        base = points.astype(object).where(points.notna(), None)
    category = base.copy()
    category[marked] = NA_CATEGORY if na == "category" else None
    return category


def question_agreement(answers: pd.DataFrame, *, weights: Weights = "identity",
                       confidence: float = 0.95, interaction: str = "calibration_id",
                       evaluator: str = "evaluator_id", question: str = "question_id",
                       na: NaPolicy = "category",
                       categories: Mapping[object, Sequence[object]] | None = None
                       ) -> pd.DataFrame:
    """Agreement per question: percent agreement, AC1/AC2, Fleiss' kappa, nominal alpha, expert.

    Parameters
    ----------
    answers : pandas.DataFrame
        An ``answers`` table (one row per evaluation and question).
    weights : {"identity", "linear", "quadratic", "ordinal"}
        Weights for percent agreement, AC1/AC2 and Fleiss' kappa, on the answers' points
        (see :func:`answer_categories`). ``alpha_nominal`` is always unweighted.
    confidence : float
        Two-sided coverage of the intervals.
    interaction, evaluator, question : str
        Column names of the calibration, the evaluator and the question.
    na : {"category", "missing"}
        N/A policy, see :func:`answer_categories`.
    categories : mapping, optional
        ``question_id -> full list of categories`` (answer ids, or points for weighted forms,
        plus ``"N/A"`` where the question allows it), so options nobody chose still count in
        ``q``. Default: the categories observed for the question in ``answers``.

    Returns
    -------
    pandas.DataFrame
        One row per question, in order of first appearance, with columns ``question_id,
        question_text, n_units, n_ratings, n_missing, percent_agreement, ac1, ac1_se,
        ac1_ci_low, ac1_ci_high, fleiss_kappa, fleiss_se, fleiss_ci_low, fleiss_ci_high,
        alpha_nominal, expert_agreement, note``. ``n_units`` counts calibrations with at least one
        rating of the question, ``n_ratings`` the non-missing ratings, ``n_missing`` the blank
        rows left out. ``ac1*`` hold AC2 under linear/quadratic weights. ``fleiss_se`` is
        Gwet's non-null SE that the interval uses (not the Fleiss-Nee-Landis null SE).
        ``expert_agreement`` is the share of evaluator ratings (``role == "evaluator"``) equal
        to the expert's rating of the same calibration (NaN without a ``role`` column or an
        expert rating). A coefficient that is undefined for a question (fewer than two
        ratings per calibration, one category only) is NaN rather than an error, so one
        question cannot stop a report. ``note`` says why an interval is missing, truncated or
        a single point (fewer than three calibrations, a zero SE, perfect agreement).

    Raises
    ------
    ValueError
        For unknown ``weights`` or ``na``, a bad ``confidence``, missing columns, duplicate
        answers, or answers from fewer than two evaluators.

    References
    ----------
    Gwet KL (2008). British Journal of Mathematical and Statistical Psychology 61:29-48.
    Gwet KL (2014). Handbook of Inter-Rater Reliability, 4th ed.
    Fleiss JL (1971). Psychological Bulletin 76:378-382.
    Krippendorff K (2011). Computing Krippendorff's alpha-reliability.

    Examples
    --------
    Fleiss' (1971) 30 patients x 6 psychiatrists as the answers to one question: his kappa is
    .430.

    >>> import pandas as pd
    >>> patients = ("444444 222555 233335 555555 222444 113333 333355 113334 114444 555555 "
    ...             "144444 124444 222333 144444 224445 333335 111455 111112 224444 133555 "
    ...             "555555 244444 224555 114444 144445 222224 111155 224444 133333 555555")
    >>> answers = pd.DataFrame([(patient, rater, "diagnosis", f"d{diagnosis}")
    ...                         for patient, row in enumerate(patients.split())
    ...                         for rater, diagnosis in enumerate(row)],
    ...                        columns=["calibration_id", "evaluator_id", "question_id",
    ...                                 "answer_id"])
    >>> row = question_agreement(answers).iloc[0]
    >>> int(row["n_units"]), int(row["n_ratings"]), round(float(row["fleiss_kappa"]), 3)
    (30, 180, 0.43)
    """
    check_confidence(confidence)
    require_columns(answers, [interaction, evaluator, question], what="answers")
    frame = pd.DataFrame({
        "unit": answers[interaction].to_numpy(), "evaluator": answers[evaluator].to_numpy(),
        "question": answers[question].to_numpy(),
        "category": answer_categories(answers, weights=weights, na=na).to_numpy(),
        "role": answers["role"].to_numpy() if "role" in answers.columns else None,
        "text": answers["question_text"].to_numpy()
        if "question_text" in answers.columns else None,
    })
    if frame.empty:
        return pd.DataFrame({c: [] for c in QUESTION_AGREEMENT_COLUMNS})
    rated = frame.loc[frame["category"].notna(), "evaluator"].nunique()
    if rated < 2:
        raise ValueError(f"Agreement compares evaluators, but the answers come from {rated} "
                         f"evaluator(s); add the evaluations of at least one more.")
    rows = []
    for key, sub in frame.groupby("question", sort=False):
        rows.append(_one_question(key, sub, weights, confidence,
                                  None if categories is None else categories.get(key)))
    return pd.DataFrame(rows, columns=list(QUESTION_AGREEMENT_COLUMNS))


def _one_question(key: object, sub: pd.DataFrame, weights: str, confidence: float,
                  full: Sequence[object] | None) -> dict:
    nan = float("nan")
    counts, labels, w, _, missing, _ = prepare_counts(sub, "unit", "evaluator", "category", full,
                                                weights, confidence)
    used = counts.sum(axis=1) >= 1
    texts = sub["text"].dropna()
    row = {"question_id": key, "question_text": texts.iloc[0] if len(texts) else None,
           "n_units": int(used.sum()), "n_ratings": int(counts.sum()), "n_missing": missing}
    pa = multi_rater(counts, w, "pa")
    row["percent_agreement"] = pa.estimate if pa.n2 else nan
    notes = []
    for prefix, kind in (("ac1", "gwet"), ("fleiss", "fleiss")):
        core = multi_rater(counts, w, kind)
        ok = core.n2 > 0 and np.isfinite(core.estimate)
        ci = agreement_interval(core.estimate, core.se, core.pe, core.n, confidence) if ok else None
        row[prefix if prefix == "ac1" else "fleiss_kappa"] = core.estimate if ok else nan
        row[f"{prefix}_se"] = core.se if ok else nan
        row[f"{prefix}_ci_low"], row[f"{prefix}_ci_high"] = (ci.low, ci.high) if ci else (nan,
                                                                                         nan)
        if ci is not None and ci.note and ci.note not in notes:
            notes.append(ci.note)
    if pa.n2 == 0:
        notes.insert(0, "Undefined: no calibration has two ratings of this question.")
    elif not np.isfinite(row["ac1"]) or not np.isfinite(row["fleiss_kappa"]):
        notes.insert(0, "A chance-corrected coefficient is undefined (NaN): chance agreement "
                        "is 1 because every rating falls in one category; pass categories= "
                        "with the question's full answer set, and read percent agreement.")
    row["note"] = " ".join(notes)
    row["alpha_nominal"] = _nominal_alpha(counts)
    row["expert_agreement"] = _expert_agreement(sub)
    return row


def _nominal_alpha(counts: np.ndarray) -> float:
    """Krippendorff's nominal alpha from a units x categories count table (NaN if undefined)."""
    r = counts.sum(axis=1)
    pairable = counts[r >= 2].astype(float)
    if pairable.size == 0:
        return float("nan")
    m = pairable.sum(axis=1)
    n = m.sum()
    within = ((m ** 2 - (pairable ** 2).sum(axis=1)) / (m - 1)).sum()
    expected = n ** 2 - (pairable.sum(axis=0) ** 2).sum()
    return float(1 - (n - 1) * within / expected) if expected > 0 else float("nan")


def _expert_agreement(sub: pd.DataFrame) -> float:
    rated = sub[sub["category"].notna()]
    experts = rated[rated["role"] == "expert"].drop_duplicates("unit")
    if experts.empty:
        return float("nan")
    others = rated[rated["role"] == "evaluator"].merge(
        experts[["unit", "category"]], on="unit", suffixes=("", "_expert"))
    if others.empty:
        return float("nan")
    same = [a == b for a, b in zip(others["category"], others["category_expert"])]
    return float(np.mean(same))


def answer_distribution(answers: pd.DataFrame, *, question: str = "question_id",
                        na: NaPolicy = "category") -> pd.DataFrame:
    """How often each answer option was chosen, per question.

    Parameters
    ----------
    answers : pandas.DataFrame
        An ``answers`` table.
    question : str
        Column name of the question.
    na : {"category", "missing"}
        ``"category"`` lists N/A as an answer (category and text ``"N/A"``); ``"missing"``
        leaves N/A out like a blank.

    Returns
    -------
    pandas.DataFrame
        Columns ``question_id, category, answer_text, count, share``: one row per question and
        category (``answer_id``, or ``"N/A"``), questions in order of first appearance and
        categories by descending count; ``share`` is the count over the question's
        non-missing answers. ``attrs["n_missing"]`` counts the blank rows left out.

    Raises
    ------
    ValueError
        For an unknown ``na`` or missing columns.

    References
    ----------
    Gwet KL (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 2 (distribution of
    raters by subject and category).
    """
    require_columns(answers, [question, "answer_id", "answer_text", "marked_na"],
                    what="answers")
    category = answer_categories(answers, na=na)
    text = answers["answer_text"].astype(object).where(answers["answer_text"].notna(), None)
    text = text.where(category != NA_CATEGORY, NA_CATEGORY)
    frame = pd.DataFrame({"question_id": answers[question].to_numpy(),
                          "category": category.to_numpy(), "answer_text": text.to_numpy()})
    present = frame["category"].notna()
    n_missing = int((~present).sum())
    frame = frame[present]
    order = {q: i for i, q in enumerate(pd.unique(frame["question_id"]))}
    table = (frame.groupby(["question_id", "category"], sort=False)
             .agg(answer_text=("answer_text", "first"), count=("answer_text", "size"))
             .reset_index())
    totals = table.groupby("question_id", sort=False)["count"].transform("sum")
    table["share"] = table["count"] / totals
    table["_order"] = table["question_id"].map(order)
    table = (table.sort_values(["_order", "count"], ascending=[True, False], kind="stable")
             .drop(columns="_order").reset_index(drop=True))
    table = table[list(ANSWER_DISTRIBUTION_COLUMNS)]
    table.attrs["n_missing"] = n_missing
    return table
