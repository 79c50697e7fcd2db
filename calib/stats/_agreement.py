"""The engine shared by the categorical agreement coefficients (Gwet's 2014 framework).

A private module of the statistics wing: its names carry no underscore because the coefficient
modules import them; nothing outside ``calib.stats`` should.

``categorical`` (percent agreement, AC1/AC2, Fleiss, Cohen and the per-question tables) and
``kappas`` (Conger, Scott, Fleiss per category) build on these pieces: the weights, the
units x categories counts, the linearised SE, the interval rules and the result type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from calib.stats._common import INTERVALS, check_confidence, coefficient_interval, to_codes
from calib.tables import NA_CATEGORY

Weights = Literal["identity", "linear", "quadratic", "ordinal"]
Interval = Literal["t", "z"]
WEIGHTS = ("identity", "linear", "quadratic", "ordinal")


@dataclass(frozen=True)
class AgreementResult:
    """One agreement coefficient with its uncertainty and the data it used.

    Attributes
    ----------
    coefficient : str
        ``percent_agreement``, ``AC1``, ``AC2``, ``fleiss_kappa`` or ``cohen_kappa``.
    estimate, se, ci_low, ci_high : float
        Estimate, its (non-null) standard error and the confidence limits built from it.
    pa, pe : float
        Observed and chance agreement.
    n_units : int
        Units used (with at least one rating; for Cohen's kappa, rated by both raters).
    n_ratings : int
        Ratings used.
    n_dropped_units : int
        Units in the data that were not used (no rating, or for Cohen a single rating).
    n_missing : int
        Rows whose category was missing (blank), left out.
    weights : str
        ``identity``, ``linear`` or ``quadratic``.
    se0, z, pval : float
        Test of no agreement beyond chance. Fleiss' kappa (constant number of raters) and
        Cohen's kappa use the null SE ``se0`` (Fleiss-Nee-Landis 1979; Fleiss-Cohen-Everitt
        1969) and the normal distribution. Percent agreement, Gwet's AC1/AC2, Conger's kappa
        and Scott's pi follow Gwet (2014) and irrCAC: ``z = estimate / se`` with the non-null
        SE, two-sided p from the ``interval`` distribution (t with n - 1 df by default), and
        ``se0`` NaN. NaN when undefined.
    note : str
        Why there is no interval, or why it was truncated or is a single point (see
        :func:`calib.stats._common.coefficient_interval`); empty when there is nothing to say.
    interval : str
        The quantile the interval (and, for Gwet's, Conger's and Scott's coefficients and
        percent agreement, the test) used: ``"t"`` with ``n_units - 1`` df, as irrCAC and
        Gwet (2014), or ``"z"``, as statsmodels and SAS for Cohen's kappa.
    """

    coefficient: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pa: float
    pe: float
    n_units: int
    n_ratings: int
    n_dropped_units: int
    n_missing: int
    weights: str
    se0: float = float("nan")
    z: float = float("nan")
    pval: float = float("nan")
    note: str = ""
    interval: str = "t"


# --------------------------------------------------------------------------------------------
# Weights and counts
# --------------------------------------------------------------------------------------------

def weight_matrix(categories: Sequence[object], weights: str) -> np.ndarray:
    """Agreement weights on the categories' own values; N/A agrees only with itself."""
    q = len(categories)
    matrix = np.eye(q)
    if weights == "identity":
        return matrix
    numeric = np.array([not _is_na(c) for c in categories])
    try:
        values = np.array([float(c) if n else np.nan for c, n in zip(categories, numeric)])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{weights} weights need numeric categories (the answers' points), "
                         f"but got {list(categories)!r}; use weights='identity' for labels."
                         ) from exc
    scored = numeric[:, None] & numeric[None, :]
    if weights == "ordinal":
        # Gwet (2014, ch. 3): M_kl = C(|rank_k - rank_l| + 1, 2), w = 1 - M / max M, on the
        # ranks of the distinct scored values (so only their order matters).
        ranks = np.full(q, np.nan)
        ranks[numeric] = pd.Series(values[numeric]).rank(method="dense").to_numpy()
        gap = np.abs(ranks[:, None] - ranks[None, :])
        pairs = (gap + 1) * gap / 2
        top = np.nanmax(pairs) if numeric.sum() > 1 else 0.0
        if top > 0:
            matrix[scored] = (1 - pairs / top)[scored]
        return matrix
    span = np.nanmax(values) - np.nanmin(values) if numeric.any() else 0.0
    if span > 0:
        diff = np.abs(values[:, None] - values[None, :]) / span
        matrix[scored] = (1 - diff if weights == "linear" else 1 - diff ** 2)[scored]
    return matrix


def _is_na(category: object) -> bool:
    return isinstance(category, str) and category == NA_CATEGORY


def prepare_counts(data: pd.DataFrame, interaction: str, evaluator: str, category: str,
             categories: Sequence[object] | None, weights: str, confidence: float
             ) -> tuple[np.ndarray, list, np.ndarray, int, int, int]:
    """Validate options and return (counts units x q, categories, weights, n_units_seen,
    n_missing, n_raters)."""
    codes, labels, w, seen, missing, _ = prepare_codes(data, interaction, evaluator, category,
                                                        categories, weights, confidence)
    q = len(labels)
    rows, cols = np.nonzero(codes >= 0)
    counts = np.bincount(rows * q + codes[rows, cols],
                         minlength=codes.shape[0] * q).reshape(codes.shape[0], q)
    n_raters = int(np.unique(cols).size)
    return counts, labels, w, seen, missing, n_raters


def prepare_codes(data: pd.DataFrame, interaction: str, evaluator: str, category: str,
                   categories: Sequence[object] | None, weights: str, confidence: float
                   ) -> tuple[np.ndarray, list, np.ndarray, int, int, pd.Index]:
    """Validate options and return (codes units x raters into the category list, -1 where
    missing; categories; weights; n_units_seen; n_missing; the raters)."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}.")
    check_confidence(confidence)
    coded = to_codes(data, interaction, evaluator, category)
    labels = list(coded.categories)
    codes = coded.codes
    if categories is not None:
        full = list(dict.fromkeys(list(categories)))
        unknown = [c for c in labels if c not in full]
        if unknown:
            raise ValueError(f"The data holds categories {unknown!r} that are not in "
                             f"categories={full!r}; add them to the list.")
        position = {c: i for i, c in enumerate(full)}
        remap = np.array([position[c] for c in labels] + [-1], dtype=np.int64)
        codes = remap[np.where(codes >= 0, codes, len(labels))]
        labels = full
    return (codes, labels, weight_matrix(labels, weights), codes.shape[0],
            coded.n_missing_rows, coded.raters)


@dataclass(frozen=True)
class CoefficientCore:
    pa: float
    pe: float
    estimate: float
    se: float
    n: int
    n2: int
    n_ratings: int


def multi_rater(counts: np.ndarray, w: np.ndarray, kind: str) -> CoefficientCore:
    """``kind`` in {"pa", "gwet", "fleiss"}: estimate and Gwet's linearised SE."""
    counts = counts[counts.sum(axis=1) >= 1].astype(float)
    n, q = counts.shape
    r = counts.sum(axis=1)
    two = r >= 2
    n2 = int(two.sum())
    if n2 == 0:  # nothing to compare: every coefficient is undefined
        return CoefficientCore(np.nan, np.nan, np.nan, np.nan, n, 0, int(r.sum()))
    weighted = counts @ w.T  # r*_ik
    with np.errstate(divide="ignore", invalid="ignore"):
        pa_i = np.where(two, (counts * (weighted - 1)).sum(axis=1) / (r * (r - 1)), 0.0)
        pa = pa_i.sum() / n2 if n2 else np.nan
        pi = (counts / r[:, None]).mean(axis=0) if n else np.full(q, np.nan)
        if kind == "pa":
            pe, pe_i = 0.0, np.zeros(n)
        elif kind == "gwet":
            factor = w.sum() / (q * (q - 1)) if q > 1 else np.nan
            pe = factor * float(pi @ (1 - pi))
            pe_i = factor * (counts @ (1 - pi)) / r
        else:
            pe = float(pi @ w @ pi)
            pe_i = (counts @ ((w @ pi + w.T @ pi) / 2)) / r
        estimate = (pa - pe) / (1 - pe)
        unit_terms = (n / n2) * (pa_i - pe * two) / (1 - pe)
        linear = unit_terms - 2 * (1 - estimate) * (pe_i - pe) / (1 - pe)
        se = float(np.sqrt(((linear - estimate) ** 2).sum() / (n * (n - 1)))) if n > 1 \
            else np.nan
        if se < 1e-12 * max(1.0, abs(estimate)):  # rounding residue of an exact 0
            se = 0.0
    return CoefficientCore(float(pa), float(pe), float(estimate), se, n, n2, int(r.sum()))


def fleiss_null_se(counts: np.ndarray) -> float:
    """Fleiss, Nee & Landis (1979) SE of unweighted kappa under H0, equal raters per unit."""
    counts = counts[counts.sum(axis=1) >= 1]
    r = counts.sum(axis=1)
    if r.size == 0 or r.min() != r.max() or r[0] < 2:
        return float("nan")
    n, m = counts.shape[0], float(r[0])
    p = counts.sum(axis=0) / (n * m)
    pq = p * (1 - p)
    if pq.sum() == 0:
        return float("nan")
    inner = pq.sum() ** 2 - (pq * ((1 - p) - p)).sum()
    return float(np.sqrt(2.0 / (n * m * (m - 1)) * inner) / pq.sum())


def agreement_interval(estimate: float, se: float, pe: float, n: int, confidence: float,
              distribution: str = "t"):
    """The coefficient's interval, truncated to its possible range ``[-pe/(1-pe), 1]`` (its
    values at zero and at perfect observed agreement)."""
    lowest = -pe / (1.0 - pe) if np.isfinite(pe) and pe < 1 else -1.0
    return coefficient_interval(estimate, se, n, confidence, distribution=distribution,
                                lowest=lowest, highest=1.0)


def wald_test(estimate: float, se: float, n: int, distribution: str) -> tuple[float, float]:
    """``estimate / se`` and its two-sided p-value (t with n - 1 df, or normal), as irrCAC."""
    if not (np.isfinite(estimate) and np.isfinite(se)) or se <= 0 or n < 2:
        return float("nan"), float("nan")
    statistic = estimate / se
    tail = _st.t.sf(abs(statistic), n - 1) if distribution == "t" else _st.norm.sf(abs(statistic))
    return float(statistic), float(2 * tail)


def agreement_result(name: str, core: CoefficientCore, confidence: float, n_seen: int,
                     n_missing: int, weights: str, interval: str = "t",
                     **test: float) -> AgreementResult:
    """The result; without an explicit null test, the Wald test on the non-null SE."""
    ci = agreement_interval(core.estimate, core.se, core.pe, core.n, confidence, interval)
    if not test:
        z, pval = wald_test(core.estimate, core.se, core.n, interval)
        test = {"z": z, "pval": pval}
    return AgreementResult(name, core.estimate, core.se, ci.low, ci.high, core.pa, core.pe,
                           core.n, core.n_ratings, n_seen - core.n, n_missing, weights,
                           note=ci.note, interval=interval, **test)


def check_interval(interval: str) -> None:
    if interval not in INTERVALS:
        raise ValueError(f"interval must be 't' (t with n - 1 df, as irrCAC) or 'z' (normal, "
                         f"as statsmodels), not {interval!r}.")


def require_estimate(core: CoefficientCore, name: str, n_raters: int) -> None:
    if n_raters < 2 or core.n2 == 0:
        raise ValueError(f"{name} compares evaluators, but no unit was rated by two or more "
                         f"evaluators; add ratings from a second evaluator.")
    if not np.isfinite(core.estimate):
        raise ValueError(f"{name} is undefined here because chance agreement is 1 (every "
                         f"rating falls in one category, or only one category is known); "
                         f"pass categories= with the question's full answer set, or report "
                         f"percent agreement.")
