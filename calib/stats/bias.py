"""Evaluator bias in score points: against the expert, against the leave-one-out consensus, and
as a severity effect that adjusts for which calls each evaluator happened to score.

Sign convention everywhere: **positive = the evaluator scores higher** (more lenient) than the
reference; negative = harsher.

Missing-data policy (shared by every function that takes a ``scores`` table; see
:func:`calib.stats._common.prepare_scores`): only ``FINISHED`` evaluations with a total score
count; a second finished evaluation by the same evaluator on the same calibration is dropped (the
latest submitted is kept). Everything dropped is listed in ``.attrs["excluded"]`` of the output
frame, one record per evaluation with a ``reason``; ``pandas.DataFrame(out.attrs["excluded"])``
rebuilds the table.

References
----------
Bland JM, Altman DG (1986). Statistical methods for assessing agreement between two methods of
clinical measurement. Lancet i:307-310.
Shrout PE, Fleiss JL (1979). Intraclass correlations: uses in assessing rater reliability.
Psychol Bull 86:420-428.
Searle SR (1971). Linear Models, ch. 7 (two-way classification, no interaction, unbalanced data).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from calib.stats._common import (
    check_confidence, excluded_records, excluded_rows, mean_ci, prepare_scores)
from calib.stats.blandaltman import BlandAltmanResult, bland_altman  # noqa: F401 (re-export)

BIAS_COLUMNS = ("evaluator_id", "evaluator_name", "reference", "n", "bias", "sd", "ci_low",
                "ci_high", "loa_low", "loa_high", "flagged")
SEVERITY_COLUMNS = ("evaluator_id", "evaluator_name", "n", "severity", "se", "ci_low", "ci_high")


# --------------------------------------------------------------------------- shared

def _names(kept: pd.DataFrame) -> pd.Series:
    names = kept.dropna(subset=["evaluator_name"]).drop_duplicates("evaluator_id", keep="last")
    return names.set_index("evaluator_id")["evaluator_name"]


# --------------------------------------------------------------------------- evaluator bias


def _bias_rows(diffs: pd.DataFrame, reference: str, names: pd.Series, threshold: float,
               confidence: float) -> list[dict]:
    z = sps.norm.ppf(0.5 + confidence / 2)
    rows = []
    for evaluator, d in diffs.groupby("evaluator_id", sort=True)["diff"]:
        bias, sd, lo, hi = mean_ci(d.to_numpy(float), confidence)
        excludes_zero = bool(lo > 0 or hi < 0) if np.isfinite(lo) else False
        rows.append({"evaluator_id": evaluator, "evaluator_name": names.get(evaluator),
                     "reference": reference, "n": int(d.size), "bias": bias, "sd": sd,
                     "ci_low": lo, "ci_high": hi, "loa_low": bias - z * sd,
                     "loa_high": bias + z * sd,
                     "flagged": excludes_zero and abs(bias) > threshold})
    return rows


def evaluator_bias(scores: pd.DataFrame, *, threshold: float = 3.0,
                   confidence: float = 0.95) -> pd.DataFrame:
    """Each evaluator's bias in points against the expert and against the consensus.

    For every call (``calibration_id``) and evaluator, two differences are formed:

    * **expert**: evaluator score − the expert's score on the same call (calls without a finished
      expert evaluation are skipped; the expert has no row of this kind);
    * **consensus**: evaluator score − the mean of the *other* finished evaluations on the same
      call, the expert's included (leave-one-out, so the evaluator does not dilute its own bias).

    Per evaluator and reference: the mean difference (bias), its SD, a t-based CI with n−1 df,
    and Bland-Altman limits of agreement bias ± z·SD.

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table: ``calibration_id, evaluator_id, evaluator_name, role, status,
        total_score`` are used.
    threshold : float
        Practical threshold in points; an evaluator is ``flagged`` when the CI excludes 0 **and**
        ``|bias| > threshold``.
    confidence : float
        Level of the CI and of the limits of agreement.

    Returns
    -------
    pandas.DataFrame
        Columns ``evaluator_id, evaluator_name, reference ("expert"|"consensus"), n, bias, sd,
        ci_low, ci_high, loa_low, loa_high, flagged``; expert rows first, then consensus rows,
        each sorted by evaluator id. ``sd`` and the intervals are NaN when n = 1.
        ``.attrs["excluded"]`` lists the evaluations that were dropped, with a reason
        (not finished, no score, duplicate, or alone on its call so no consensus exists).

    Raises
    ------
    ValueError
        Fewer than two evaluators, a bad threshold or confidence, scores outside 0-100, or no
        call with two finished evaluations.

    References
    ----------
    Bland & Altman (1986), Lancet i:307-310.

    Examples
    --------
    Shrout & Fleiss (1979), Table 2 without an expert: each judge against the mean of the other
    three on the same target. Judge 1 scores 3.17 points above the others (his total 46
    against (127 - 46) / 3 = 27 for the others' mean, over 6 targets: (46 - 27) / 6).

    >>> import pandas as pd
    >>> ratings = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
    ...            [6, 2, 4, 7]]
    >>> scores = pd.DataFrame([(f"call-{i}", f"judge-{j}", "FINISHED", float(score))
    ...                        for i, row in enumerate(ratings) for j, score in enumerate(row)],
    ...                       columns=["calibration_id", "evaluator_id", "status", "total_score"])
    >>> bias = evaluator_bias(scores.assign(role="evaluator"))
    >>> bias[["evaluator_id", "reference", "bias", "flagged"]].round(2).values.tolist()[0]
    ['judge-0', 'consensus', 3.17, True]
    >>> [round(float(bias.loc[0, limit]), 2) for limit in ("ci_low", "ci_high")]
    [2.04, 4.29]
    """
    confidence = check_confidence(confidence)
    if not isinstance(threshold, (int, float)) or not threshold >= 0:
        raise ValueError(f"threshold must be a non-negative number of points, not "
                         f"{threshold!r}.")
    kept, excluded = prepare_scores(scores, extra=("role",))
    if kept["evaluator_id"].nunique() < 2:
        raise ValueError(f"Bias needs at least two evaluators; the finished evaluations come "
                         f"from {kept['evaluator_id'].nunique()}. Add the other panel members' "
                         f"evaluations.")
    unit = "calibration_id"
    size = kept.groupby(unit)["total_score"].transform("size")
    lone = kept[size < 2]
    kept = kept[size >= 2].copy()
    if kept.empty:
        raise ValueError("No call has two finished evaluations, so no evaluator can be "
                         "compared with anyone; wait until the panel has finished scoring.")
    lone = excluded_rows(lone, "the only finished evaluation on its call: nothing to compare "
                               "it with")
    excluded = pd.concat([excluded, lone], ignore_index=True)
    total = kept.groupby(unit)["total_score"].transform("sum")
    kept["diff"] = kept["total_score"] - (total - kept["total_score"]) / (size[size >= 2] - 1)
    expert = kept.loc[kept["role"] == "expert"].set_index(unit)["total_score"]
    vs_expert = kept.loc[(kept["role"] != "expert") & kept[unit].isin(expert.index)].copy()
    vs_expert["diff"] = vs_expert["total_score"] - vs_expert[unit].map(expert)
    names = _names(kept)
    rows = (_bias_rows(vs_expert, "expert", names, threshold, confidence)
            + _bias_rows(kept, "consensus", names, threshold, confidence))
    out = pd.DataFrame(rows, columns=list(BIAS_COLUMNS))
    out["flagged"] = out["flagged"].astype(bool)
    out["n"] = out["n"].astype(int)
    out.attrs["excluded"] = excluded_records(excluded)
    return out


# --------------------------------------------------------------------------- severity


def _components(rows: np.ndarray, cols: np.ndarray, n_cols: int) -> int:
    """Number of connected components of the call-evaluator graph (union-find)."""
    parent = np.arange(n_cols)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_in_row: dict[int, int] = {}
    for r, c in zip(rows.tolist(), cols.tolist()):
        if r in first_in_row:
            a, b = find(first_in_row[r]), find(c)
            if a != b:
                parent[a] = b
        else:
            first_in_row[r] = c
    return len({find(i) for i in range(n_cols)})


def evaluator_severity(scores: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Evaluator severity from the additive model y = μ + call + evaluator + e.

    The model is fitted by least squares on unbalanced data with calls (``calibration_id``) as a
    fixed factor, so each evaluator's effect is compared *within* calls and does not depend on
    whether the evaluator happened to score easy or hard calls. Evaluator effects sum to zero:
    ``severity`` is the evaluator's level in points relative to the average evaluator (positive =
    more lenient). All finished evaluations count, the expert's included. The reduced normal
    equations C·b = q (Searle 1971, §7.2) are solved for the evaluators only, so the fit stays
    fast for thousands of calls.

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table (``calibration_id, evaluator_id, evaluator_name, status,
        total_score``).
    confidence : float
        Level of the t-based CI, with the model's residual degrees of freedom
        N − calls − evaluators + 1.

    Returns
    -------
    pandas.DataFrame
        Columns ``evaluator_id, evaluator_name, n, severity, se, ci_low, ci_high`` sorted by
        evaluator id. ``.attrs["excluded"]`` lists dropped evaluations, including calls with a
        single rating (they carry no information about evaluator differences);
        ``.attrs["residual_sd"]`` and ``.attrs["df_resid"]`` describe the fit.

    Raises
    ------
    ValueError
        Fewer than two evaluators, no residual degrees of freedom, constant scores, or
        evaluators that never share a call with the others (not connected: their effects cannot
        be compared).

    Notes
    -----
    For balanced complete data the effect equals the evaluator's mean minus the grand mean, with
    SE sqrt(MSE (k−1)/(n k)) (Shrout & Fleiss 1979 mean squares); the tests cross-check the
    unbalanced fit against statsmodels OLS with ``C(evaluator, Sum)`` coding.

    References
    ----------
    Searle SR (1971). Linear Models. Wiley, ch. 7. Linacre JM, Facets manual (rater severity).

    Examples
    --------
    Shrout & Fleiss (1979), Table 2: the judges' totals over 6 targets are 46, 15, 26 and 40
    (means 7.67, 2.50, 4.33, 6.67; grand mean 127 / 24 = 5.29), and the residual mean square
    is 1.02 on 15 df, so the SE is sqrt(1.02 x 3 / 24) = 0.36.

    >>> import pandas as pd
    >>> ratings = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
    ...            [6, 2, 4, 7]]
    >>> scores = pd.DataFrame([(f"call-{i}", f"judge-{j}", "FINISHED", float(score))
    ...                        for i, row in enumerate(ratings) for j, score in enumerate(row)],
    ...                       columns=["calibration_id", "evaluator_id", "status", "total_score"])
    >>> table = evaluator_severity(scores)
    >>> table["severity"].round(2).tolist(), table["se"].round(2).tolist()
    ([2.38, -2.79, -0.96, 1.38], [0.36, 0.36, 0.36, 0.36])
    """
    confidence = check_confidence(confidence)
    kept, excluded = prepare_scores(scores)
    unit = "calibration_id"
    size = kept.groupby(unit)["total_score"].transform("size")
    lone = excluded_rows(kept[size < 2], "the only rating of its call: it says nothing about "
                                         "evaluator differences")
    excluded = pd.concat([excluded, lone], ignore_index=True)
    kept = kept[size >= 2].reset_index(drop=True)
    call_codes, calls = pd.factorize(kept[unit], sort=False)
    rater_codes, raters = pd.factorize(kept["evaluator_id"], sort=True)
    n_calls, n_raters, n_obs = len(calls), len(raters), len(kept)
    if n_raters < 2:
        raise ValueError(f"Severity needs at least two evaluators sharing calls; "
                         f"{n_raters} remain after dropping calls with one rating.")
    df_resid = n_obs - n_calls - n_raters + 1
    if df_resid < 1:
        raise ValueError(f"The additive model has no residual degrees of freedom ({n_obs} "
                         f"ratings, {n_calls} calls, {n_raters} evaluators); more calls scored "
                         f"by several evaluators are needed.")
    if _components(call_codes, rater_codes, n_raters) > 1:
        raise ValueError("Some evaluators never share a call, directly or through other "
                         "evaluators, with the rest of the panel, so their severities cannot "
                         "be compared; analyse each group of connected evaluators separately.")
    y = kept["total_score"].to_numpy(float)
    n_call = np.bincount(call_codes, minlength=n_calls).astype(float)
    call_mean = np.bincount(call_codes, weights=y, minlength=n_calls) / n_call
    # Incidence matrix calls x evaluators, reduced normal equations for evaluator effects.
    incidence = np.zeros((n_calls, n_raters))
    np.add.at(incidence, (call_codes, rater_codes), 1.0)
    r = incidence.sum(axis=0)
    c_matrix = np.diag(r) - (incidence / n_call[:, None]).T @ incidence
    q = np.bincount(rater_codes, weights=y, minlength=n_raters) - incidence.T @ call_mean
    contrast = np.vstack([np.eye(n_raters - 1), -np.ones((1, n_raters - 1))])
    reduced = contrast.T @ c_matrix @ contrast
    inverse = np.linalg.inv(reduced)
    effects = contrast @ (inverse @ (contrast.T @ q))
    sse = float(((y - call_mean[call_codes]) ** 2).sum() - effects @ q)
    if sse <= 1e-12 * max(1.0, float((y ** 2).sum())):
        raise ValueError("The scores fit the additive model exactly (for example all scores "
                         "are equal), so no uncertainty can be estimated; check the input.")
    sigma2 = sse / df_resid
    se = np.sqrt(np.diag(contrast @ inverse @ contrast.T) * sigma2)
    half = sps.t.ppf(0.5 + confidence / 2, df_resid) * se
    out = pd.DataFrame({"evaluator_id": np.asarray(raters, dtype=object),
                        "n": r.astype(int), "severity": effects, "se": se,
                        "ci_low": effects - half, "ci_high": effects + half})
    out.insert(1, "evaluator_name", out["evaluator_id"].map(_names(kept)))
    out.attrs.update(excluded=excluded_records(excluded), residual_sd=float(np.sqrt(sigma2)),
                     df_resid=int(df_resid))
    return out[list(SEVERITY_COLUMNS)]
