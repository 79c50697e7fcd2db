"""Conger's kappa, Scott's pi and Fleiss' kappa per category, on tidy long ratings.

- **Conger's kappa** (Conger 1980) generalises Cohen's kappa to any number of raters: the
  percent agreement is Fleiss' (pairs of ratings within a unit), the chance agreement averages
  the Cohen-type chance agreements of every pair of raters, each with its own marginals. In
  Gwet's (2014, ch. 5) form for missing ratings, with ``p_gk`` the share of rater ``g``'s
  ratings in category ``k``, ``pbar_k`` its mean over the ``r`` raters and ``s2_kl`` the
  covariance of ``p_gk`` and ``p_gl`` over raters,
  ``pe = sum_kl w_kl (pbar_k pbar_l - s2_kl / r)``. The SE is Gwet's linearisation.
- **Scott's pi** (Scott 1955) for two raters uses the pooled marginals of both raters; it is
  Fleiss' kappa with two raters. Units rated by only one of the two are dropped, as for
  Cohen's kappa, so both coefficients rest on the same pairs.
- **Fleiss' kappa per category** (Fleiss 1971, eq. for kappa_j): agreement on "category j or
  not", which shows the answer option evaluators confuse (often N/A). With ``m`` raters on every
  unit, ``kappa_j = 1 - sum_i x_ij (m - x_ij) / (n m (m - 1) p_j q_j)``, and its test under
  the null hypothesis uses ``se0 = sqrt(2 / (n m (m - 1)))`` (Fleiss, Nee & Landis 1979).

Intervals follow the shared rules (:func:`calib.stats._common.coefficient_interval`).

References
----------
Conger AJ (1980). Integration and generalization of kappas for multiple raters. Psychological
Bulletin 88:322-328.
Scott WA (1955). Reliability of content analysis: the case of nominal scale coding. Public
Opinion Quarterly 19:321-325.
Fleiss JL (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin
76:378-382.
Fleiss JL, Nee JCM, Landis JR (1979). Large sample variance of kappa in the case of different
sets of raters. Psychological Bulletin 86:974-977.
Gwet KL (2014). Handbook of Inter-Rater Reliability, 4th ed. Advanced Analytics.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from calib.stats._agreement import (
    AgreementResult, CoefficientCore, Interval, Weights, agreement_interval, agreement_result,
    check_interval, fleiss_null_se, multi_rater, prepare_codes, prepare_counts, require_estimate)
from calib.tables import require_columns

__all__ = ["conger_kappa", "scott_pi", "fleiss_kappa_by_category", "CATEGORY_KAPPA_COLUMNS"]

CATEGORY_KAPPA_COLUMNS = ("category", "share", "kappa", "se", "ci_low", "ci_high", "se0", "z",
                          "pval", "n_units", "note")


def conger_kappa(data: pd.DataFrame, *, interaction: str = "calibration_id",
                 evaluator: str = "evaluator_id", category: str = "category",
                 weights: Weights = "identity", categories: Sequence[object] | None = None,
                 confidence: float = 0.95, interval: Interval = "t") -> AgreementResult:
    """Conger's (1980) kappa for two or more evaluators, with missing ratings (Gwet 2014).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy long table, one row per rating.
    interaction, evaluator, category : str
        Column names of the rated interaction, the evaluator and the category (None/NaN is a
        missing rating, dropped and counted).
    weights : {"identity", "linear", "quadratic", "ordinal"}
        Agreement weights, as :func:`calib.stats.gwet_ac`.
    categories : sequence, optional
        The question's full answer set, so unused options still count.
    confidence : float
        Two-sided coverage of the interval.
    interval : {"t", "z"}
        t with ``n - 1`` df (irrCAC) or normal; also used for the test ``z``/``pval``.

    Returns
    -------
    AgreementResult
        ``coefficient`` is ``"conger_kappa"``; ``se`` is Gwet's linearised SE; ``z`` and
        ``pval`` test kappa = 0 with it.

    Raises
    ------
    ValueError
        On bad options, missing columns, duplicate ratings, no interaction rated by two
        evaluators, or chance agreement of 1.

    Notes
    -----
    With two evaluators and complete data Conger's kappa is Cohen's kappa (Conger 1980).

    Examples
    --------
    Gwet's (2014) 12 x 4 example with missing ratings (R irrCAC,
    ``conger.kappa.raw(cac.raw4raters)``): 0.76282, SE 0.14917, 95% CI 0.435 to 1.

    >>> import pandas as pd
    >>> ratings = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...            [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5],
    ...            [None, None, 1, 1], [None, None, 3, None]]
    >>> data = pd.DataFrame([(f"call-{i}", f"rater-{j}", category)
    ...                      for i, row in enumerate(ratings) for j, category in enumerate(row)],
    ...                     columns=["calibration_id", "evaluator_id", "category"])
    >>> result = conger_kappa(data)
    >>> round(result.estimate, 5), round(result.se, 5), round(result.ci_low, 3), result.ci_high
    (0.76282, 0.14917, 0.435, 1.0)
    """
    check_interval(interval)
    codes, labels, w, seen, missing, _ = prepare_codes(
        data, interaction, evaluator, category, categories, weights, confidence)
    codes = codes[(codes >= 0).any(axis=1)]
    codes = codes[:, (codes >= 0).any(axis=0)]  # an evaluator without a rating says nothing
    core = _conger_core(codes, w, len(labels))
    require_estimate(core, "Conger's kappa", codes.shape[1])
    return agreement_result("conger_kappa", core, confidence, seen, missing, weights, interval)


def _conger_core(codes: np.ndarray, w: np.ndarray, q: int) -> CoefficientCore:
    """Conger's kappa and Gwet's linearised SE from a units x raters code matrix."""
    n, r = codes.shape
    rated = codes >= 0
    onehot = np.zeros((n, r, q))
    units, raters = np.nonzero(rated)
    onehot[units, raters, codes[units, raters]] = 1.0
    counts = onehot.sum(axis=1)
    base = multi_rater(counts, w, "pa")
    if base.n2 == 0 or r < 2:
        return CoefficientCore(base.pa, np.nan, np.nan, np.nan, n, base.n2, base.n_ratings)
    n_g = rated.sum(axis=0).astype(float)                    # units each rater rated
    p_gk = onehot.sum(axis=0) / n_g[:, None]                 # r x q classification shares
    p_bar = p_gk.mean(axis=0)
    s2 = (p_gk.T @ p_gk - r * np.outer(p_bar, p_bar)) / (r - 1)
    pe = np.float64((w * (np.outer(p_bar, p_bar) - s2 / r)).sum())  # 1 gives NaN, not a crash
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (base.pa - pe) / (1 - pe)
        # Unit-level chance agreement (Gwet 2014, ch. 5): for unit i and rater g,
        # lambda_ig = (n / n_g) sum_k (r pbar_k - p_gk) sum_l w_kl (delta_igl - (eps_ig -
        # n_g / n) p_gl).
        centred = onehot @ w.T - (rated - n_g / n)[:, :, None] * (p_gk @ w.T)[None, :, :]
        lam = (n / n_g)[None, :] * np.einsum("igk,gk->ig", centred, r * p_bar[None, :] - p_gk)
        pe_i = lam.sum(axis=1) / (r * (r - 1))
        r_i = counts.sum(axis=1)
        two = r_i >= 2
        pa_i = np.where(two, (counts * (counts @ w.T - 1)).sum(axis=1)
                        / np.where(two, r_i * (r_i - 1), 1.0), 0.0)
        linear = ((n / base.n2) * (pa_i - pe * two) / (1 - pe)
                  - 2 * (1 - kappa) * (pe_i - pe) / (1 - pe))
        se = float(np.sqrt(((linear - kappa) ** 2).sum() / (n * (n - 1)))) if n > 1 else np.nan
    if se < 1e-12 * max(1.0, abs(kappa)):  # rounding residue of an exact 0
        se = 0.0
    return CoefficientCore(base.pa, float(pe), float(kappa), se, n, base.n2, base.n_ratings)


def scott_pi(data: pd.DataFrame, *, interaction: str = "calibration_id",
             evaluator: str = "evaluator_id", category: str = "category",
             weights: Weights = "identity", categories: Sequence[object] | None = None,
             raters: tuple[object, object] | None = None, confidence: float = 0.95,
             interval: Interval = "t") -> AgreementResult:
    """Scott's (1955) pi for two evaluators, beside Cohen's kappa on the same pairs.

    Chance agreement uses the two evaluators' pooled category shares
    ``pi_k = (p_k. + p_.k) / 2``: ``pe = sum_kl w_kl pi_k pi_l``. Interactions rated by only
    one of the two are dropped and counted (``n_dropped_units``). The SE is Gwet's
    linearisation on raw ratings; :func:`calib.stats.agreement_from_table` gives the
    contingency-table variance, which is smaller by the factor ``sqrt((n - 1) / n)``.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy long table, one row per rating.
    interaction, evaluator, category : str
        Column names.
    weights : {"identity", "linear", "quadratic", "ordinal"}
        Agreement weights, as :func:`calib.stats.gwet_ac`.
    categories : sequence, optional
        The full answer set.
    raters : tuple, optional
        The two evaluator ids to compare when the data has more.
    confidence : float
        Two-sided coverage of the interval.
    interval : {"t", "z"}
        t with ``n - 1`` df (irrCAC) or normal.

    Returns
    -------
    AgreementResult
        ``coefficient`` is ``"scott_pi"``.

    Raises
    ------
    ValueError
        When the data does not hold exactly two evaluators, none of the interactions was
        rated by both, or chance agreement is 1; and on bad options or columns.

    References
    ----------
    Scott (1955); Gwet (2014), ch. 2.

    Examples
    --------
    Gwet's (2014) two abstractors classifying 100 pregnancies: R irrCAC ``scott2.table`` on
    ``cont3x3abstractors`` reports 0.7962397.

    >>> import numpy as np, pandas as pd
    >>> table = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])  # Ectopic, AIU, NIU
    >>> first, second = np.repeat(np.indices(table.shape).reshape(2, -1), table.ravel(), axis=1)
    >>> data = pd.DataFrame({"calibration_id": np.tile(np.arange(100), 2),
    ...                      "evaluator_id": np.repeat(["abstractor-1", "abstractor-2"], 100),
    ...                      "category": np.concatenate([first, second])})
    >>> round(scott_pi(data).estimate, 7)
    0.7962397
    """
    check_interval(interval)
    if raters is not None:
        require_columns(data, [evaluator], what="data")
        data = data[data[evaluator].isin(list(raters))]
    codes, labels, w, seen, missing, pair = prepare_codes(
        data, interaction, evaluator, category, categories, weights, confidence)
    if len(pair) != 2:
        raise ValueError(f"Scott's pi compares exactly two evaluators, but the data has "
                         f"{len(pair)}; pass raters=(first, second) to pick two, or use "
                         f"fleiss_kappa for more.")
    both = codes[(codes >= 0).all(axis=1)]
    if len(both) == 0:
        raise ValueError("Scott's pi needs interactions rated by both evaluators; none are. "
                         "Check that the two evaluators scored the same calibrations.")
    q = len(labels)
    counts = np.zeros((len(both), q))
    np.add.at(counts, (np.repeat(np.arange(len(both)), 2), both.ravel()), 1.0)
    core = multi_rater(counts, w, "fleiss")
    require_estimate(core, "Scott's pi", 2)
    return agreement_result("scott_pi", core, confidence, seen, missing, weights, interval)


def fleiss_kappa_by_category(data: pd.DataFrame, *, interaction: str = "calibration_id",
                             evaluator: str = "evaluator_id", category: str = "category",
                             categories: Sequence[object] | None = None,
                             confidence: float = 0.95, interval: Interval = "t"
                             ) -> pd.DataFrame:
    """Fleiss' kappa for each category: which answer option the evaluators confuse.

    Each category's kappa is Fleiss' kappa of "this category or another one" (Fleiss 1971);
    with missing ratings it is Gwet's (2014) generalisation of that dichotomised kappa. The
    interval uses Gwet's linearised SE; ``se0``, ``z`` and ``pval`` test kappa_j = 0 with
    the Fleiss-Nee-Landis (1979) null SE ``sqrt(2 / (n m (m - 1)))``, which needs the same
    number ``m`` of raters on every interaction (NaN otherwise).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy long table, one row per rating.
    interaction, evaluator, category : str
        Column names; a None/NaN category is a missing rating.
    categories : sequence, optional
        The full answer set; an option nobody chose has share 0 and NaN kappa.
    confidence : float
        Two-sided coverage of the intervals.
    interval : {"t", "z"}
        Quantile of the intervals (t with ``n - 1`` df, or normal).

    Returns
    -------
    pandas.DataFrame
        One row per category (in the order of ``categories``, else sorted) with columns
        ``category, share, kappa, se, ci_low, ci_high, se0, z, pval, n_units, note``;
        ``share`` is the category's share of all ratings, ``note`` says why a value or an
        interval is missing, truncated or a single point.

    Raises
    ------
    ValueError
        On bad options or columns, duplicate ratings, or no interaction rated by two
        evaluators.

    References
    ----------
    Fleiss (1971), p. 381: on his 30 patients x 6 psychiatrists, kappa_j = .245 (depression),
    .245 (personality disorder), .520 (schizophrenia), .471 (neurosis), .566 (other); R irr
    ``kappam.fleiss(diagnoses, detail=TRUE)`` prints z = 5.192, 5.192, 11.031, 9.994, 12.009.

    Examples
    --------
    Fleiss (1971), Table 1, one string of six diagnoses per patient:

    >>> import pandas as pd
    >>> patients = ("444444 222555 233335 555555 222444 113333 333355 113334 114444 555555 "
    ...             "144444 124444 222333 144444 224445 333335 111455 111112 224444 133555 "
    ...             "555555 244444 224555 114444 144445 222224 111155 224444 133333 555555")
    >>> data = pd.DataFrame([(patient, rater, int(diagnosis))
    ...                      for patient, row in enumerate(patients.split())
    ...                      for rater, diagnosis in enumerate(row)],
    ...                     columns=["calibration_id", "evaluator_id", "category"])
    >>> table = fleiss_kappa_by_category(data)
    >>> table["kappa"].round(3).tolist()
    [0.245, 0.245, 0.52, 0.471, 0.566]
    >>> table["z"].round(3).tolist()
    [5.192, 5.192, 11.031, 9.994, 12.009]
    """
    check_interval(interval)
    counts, labels, _, _, _, raters = prepare_counts(data, interaction, evaluator, category,
                                                     categories, "identity", confidence)
    counts = counts[counts.sum(axis=1) >= 1]
    if raters < 2 or not (counts.sum(axis=1) >= 2).any():
        raise ValueError("Fleiss' kappa per category compares evaluators, but no interaction "
                         "was rated by two or more; add ratings from a second evaluator.")
    total = counts.sum()
    rows = []
    for j, label in enumerate(labels):
        split = np.column_stack([counts[:, j], counts.sum(axis=1) - counts[:, j]])
        core = multi_rater(split, np.eye(2), "fleiss")
        ci = agreement_interval(core.estimate, core.se, core.pe, core.n, confidence, interval)
        se0 = fleiss_null_se(split) if np.isfinite(core.estimate) else float("nan")
        z = core.estimate / se0 if np.isfinite(se0) and se0 > 0 else float("nan")
        pval = float(2 * _st.norm.sf(abs(z))) if np.isfinite(z) else float("nan")
        note = ci.note if np.isfinite(core.estimate) else (
            "Undefined: every rating is in this category, or none is.")
        rows.append((label, float(counts[:, j].sum() / total), core.estimate, core.se,
                     ci.low, ci.high, se0, z, pval, core.n, note))
    return pd.DataFrame(rows, columns=list(CATEGORY_KAPPA_COLUMNS))
