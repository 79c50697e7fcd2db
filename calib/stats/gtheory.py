"""Generalizability theory: G-study variance components and D-study coefficients.

Designs (all facets random and crossed; calls are the object of measurement):

* ``"calls x evaluators"`` (Brennan's p × r): total scores from ``scores``; one rating per cell,
  so the interaction is confounded with error (``"calls x evaluators,e"``).
* ``"calls x questions x evaluators"`` (Brennan's p × i × o): question points from ``answers``,
  by default as a percentage of the question's maximum so questions on different scales are
  comparable.

Estimation: **Henderson's method 1** (Henderson 1953; Searle, Casella & McCulloch 1992, §5.3;
Brennan 2001, §7.1.2 "analogous T terms"). For every set A of facets, T_A = Σ_a y_a.² / n_a is
equated to its expectation N·μ² + Σ_e σ²_e · Σ_a (Σ_l n_al²) / n_a, and the linear system is
solved. On balanced data this *is* Brennan's ANOVA estimator (``method="anova"``); on unbalanced
data (panels that differ from call to call, missing evaluations) the estimates stay unbiased
(``method="henderson1"``) and need no iteration, which keeps a year of calibrations fast. REML
(statsmodels MixedLM with variance components) is the alternative; it iterates over dense
crossed design matrices, so the closed form was preferred. Henderson 1 is not translation
invariant for *fixed* effects, but every facet here is random, where it is unbiased.

Negative estimates are kept raw in ``variance``; ``share`` and the D-study use them truncated at
0 (Brennan 2001, §3.4).

References
----------
Brennan RL (2001). Generalizability Theory. Springer. Synthetic Data Sets No. 1 (p × i, ch. 2)
and No. 3 (p × i × o, ch. 3) are reproduced in the tests.
Henderson CR (1953). Estimation of variance and covariance components. Biometrics 9:226-252.
Shavelson RJ, Webb NM (1991). Generalizability Theory: A Primer. Sage.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Iterable, Literal

import numpy as np
import pandas as pd

from calib.stats.bias import excluded_records, prepare_scores
from calib.tables import require_columns

Design = Literal["calls x evaluators", "calls x questions x evaluators"]
DESIGNS: tuple[str, ...] = ("calls x evaluators", "calls x questions x evaluators")
COMPONENT_COLUMNS = ("facet", "variance", "share")


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
        None for the calls × evaluators design.
    design : str
    method : str
        ``"anova"`` (balanced data) or ``"henderson1"`` (unbalanced).
    n_observations : int
    excluded : pandas.DataFrame
        Rows dropped before the fit, with a ``reason``.
    """

    components: pd.DataFrame
    n_calls: int
    n_evaluators: int
    n_questions: int | None
    design: str
    method: str
    n_observations: int
    excluded: pd.DataFrame

    def variance(self, facet: str) -> float:
        """The raw variance component of ``facet`` (``"calls"``, ``"evaluators"``, …)."""
        table = self.components.set_index("facet")["variance"]
        if facet not in table.index:
            raise ValueError(f"No facet {facet!r} in this {self.design} G-study; it has "
                             f"{', '.join(table.index)}.")
        return float(table[facet])


# --------------------------------------------------------------------------- Henderson method 1


def _effect_name(subset: tuple[str, ...], facets: tuple[str, ...]) -> str:
    name = " x ".join(subset)
    return name + ",e" if len(subset) == len(facets) else name


def _cells(codes: dict[str, np.ndarray], subset: tuple[str, ...],
           n_obs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell of each observation for the facets in ``subset``, the cell sizes, and one
    observation index per cell (the empty set is a single cell)."""
    if not subset:
        return np.zeros(n_obs, dtype=np.int64), np.array([float(n_obs)]), np.zeros(1, np.int64)
    dims = [int(codes[f].max()) + 1 for f in subset]
    flat = np.ravel_multi_index([codes[f] for f in subset], dims)
    if int(np.prod(dims, dtype=np.float64)) <= max(8 * n_obs, 1 << 20):
        # dense path: no sort, a lookup table from the flat index to the occupied cells
        counts = np.bincount(flat, minlength=int(np.prod(dims)))
        occupied = counts > 0
        lookup = np.cumsum(occupied) - 1
        cell = lookup[flat]
        sizes = counts[occupied].astype(float)
    else:
        _, cell, sizes = np.unique(flat, return_inverse=True, return_counts=True)
        sizes = sizes.astype(float)
    first = np.empty(sizes.size, dtype=np.int64)
    first[cell[::-1]] = np.arange(n_obs - 1, -1, -1)
    return cell.astype(np.int64), sizes, first


def henderson1(codes: dict[str, np.ndarray], y: np.ndarray) -> pd.DataFrame:
    """Henderson method 1 variance components for a fully crossed random design.

    Parameters
    ----------
    codes : dict of str to numpy.ndarray
        Integer level codes (0..L-1) of each facet, one entry per observation, in the facet
        order used for the effect names. Exactly one observation per full cell.
    y : numpy.ndarray
        The observations.

    Returns
    -------
    pandas.DataFrame
        ``facet, variance`` for every non-empty set of facets (the full set confounded with
        error), plus ``.attrs["T"]``, Brennan's T terms keyed by effect name (``"mean"`` for the
        grand mean term).

    References
    ----------
    Henderson (1953), Biometrics 9:226-252; Searle, Casella & McCulloch (1992), Variance
    Components, §5.3.
    """
    facets = tuple(codes)
    n_obs = y.size
    if n_obs == 0 or not facets:
        raise ValueError("Henderson's method needs observations and at least one facet; the "
                         "data holds none. Pass the scores or answers with their facet codes.")
    subsets = [s for k in range(len(facets) + 1) for s in combinations(facets, k)]
    effects = subsets[1:]
    cache = {s: _cells(codes, s, n_obs) for s in subsets}
    t_terms = np.empty(len(subsets))
    coef = np.empty((len(subsets), len(subsets)))
    for row, a in enumerate(subsets):
        a_cell, n_a, _ = cache[a]
        sums = np.bincount(a_cell, weights=y, minlength=n_a.size)
        t_terms[row] = float((sums ** 2 / n_a).sum())
        coef[row, 0] = n_obs
        for col, e in enumerate(effects, start=1):
            union = tuple(f for f in facets if f in a or f in e)
            _, n_u, first = cache[union]
            parent = a_cell[first]  # each union cell lies inside one cell of A
            per_a = np.bincount(parent, weights=n_u ** 2, minlength=n_a.size)
            coef[row, col] = float((per_a / n_a).sum())
    try:
        solution = np.linalg.solve(coef, t_terms)
    except np.linalg.LinAlgError as exc:
        raise ValueError("The variance components cannot be separated with this data (the "
                         "design is degenerate, e.g. every call scored by a different single "
                         "evaluator); add calls that several evaluators scored.") from exc
    out = pd.DataFrame({"facet": [_effect_name(e, facets) for e in effects],
                        "variance": solution[1:]})
    out.attrs["T"] = {("mean" if not s else _effect_name(s, facets)): float(t)
                      for s, t in zip(subsets, t_terms)}
    return out


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
    if design == DESIGNS[0]:
        if scores is None:
            raise ValueError("The calls x evaluators design needs the scores table; pass "
                             "g_study(scores).")
        _require_rows(scores, "scores", design)
        kept, excluded = prepare_scores(scores)
        return kept, excluded, {"calls": "calibration_id", "evaluators": "evaluator_id",
                                "value": "total_score"}
    if answers is None:
        raise ValueError("The calls x questions x evaluators design needs the answers table; "
                         "pass g_study(scores, design=..., answers=answers).")
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
        :func:`calib.stats.bias.prepare_scores`). For the three-facet design it filters the
        answers to those evaluations; pass None to use every answer.
    design : {"calls x evaluators", "calls x questions x evaluators"}
    answers : pandas.DataFrame, optional
        An ``answers`` table, needed for the three-facet design. N/A and blank answers carry no
        points and are dropped (reported in ``excluded``).
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
    components = henderson1(codes, y)
    truncated = components["variance"].clip(lower=0.0)
    components["share"] = truncated / truncated.sum()
    full_cells = int(np.prod(list(levels.values())))
    return GStudyResult(components=components[list(COMPONENT_COLUMNS)],
                        n_calls=levels["calls"], n_evaluators=levels["evaluators"],
                        n_questions=levels.get("questions"), design=design,
                        method="anova" if y.size == full_cells else "henderson1",
                        n_observations=int(y.size), excluded=excluded.reset_index(drop=True))


# --------------------------------------------------------------------------- D-study


def _coefficients(g: GStudyResult, n_eval: np.ndarray,
                  n_questions: int | None) -> tuple[np.ndarray, np.ndarray]:
    v = {f: max(0.0, g.variance(f)) for f in g.components["facet"]}
    if g.design == DESIGNS[0]:
        relative = v["calls x evaluators,e"] / n_eval
        absolute = relative + v["evaluators"] / n_eval
    else:
        n_q = float(n_questions if n_questions is not None else g.n_questions)
        if not n_q >= 1:
            raise ValueError(f"n_questions must be at least 1, not {n_questions!r}.")
        relative = (v["calls x questions"] / n_q + v["calls x evaluators"] / n_eval
                    + v["calls x questions x evaluators,e"] / (n_q * n_eval))
        absolute = (relative + v["questions"] / n_q + v["evaluators"] / n_eval
                    + v["questions x evaluators"] / (n_q * n_eval))
    universe = v["calls"]
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(universe > 0, universe / (universe + absolute), 0.0)
        erho2 = np.where(universe > 0, universe / (universe + relative), 0.0)
    return phi, erho2


def d_study(g: GStudyResult, n_evaluators: Iterable[int] = range(1, 11), *,
            n_questions: int | None = None) -> pd.DataFrame:
    """D-study: dependability Φ and generalizability Eρ² for numbers of evaluators.

    Φ = σ²_p / (σ²_p + σ²_Δ) (absolute decisions: an agent's score against a target) and
    Eρ² = σ²_p / (σ²_p + σ²_δ) (relative decisions: ranking agents), where the error variances
    divide each component by the number of evaluators (and questions) it is averaged over.
    Negative components count as 0. For calls × evaluators, Φ equals ICC(A,k) and Eρ² equals
    ICC(C,k).

    Parameters
    ----------
    g : GStudyResult
    n_evaluators : iterable of int
        Numbers of evaluators per call to evaluate (each ≥ 1).
    n_questions : int, optional
        Questions per evaluation for the three-facet design; defaults to ``g.n_questions``.

    Returns
    -------
    pandas.DataFrame
        Columns ``n_evaluators, phi, erho2``.

    Raises
    ------
    ValueError
        A number of evaluators below 1 or not an integer.

    References
    ----------
    Brennan (2001), §4.1 (p × I) and §4.2 (p × I × O); Shavelson & Webb (1991), ch. 6.
    """
    counts = np.asarray(list(n_evaluators))
    if counts.size == 0 or counts.dtype.kind not in "iu" or (counts < 1).any():
        raise ValueError(f"n_evaluators must be whole numbers of at least 1, not "
                         f"{list(counts)!r}.")
    phi, erho2 = _coefficients(g, counts.astype(float), n_questions)
    return pd.DataFrame({"n_evaluators": counts.astype(int), "phi": phi, "erho2": erho2})


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
    """
    if not isinstance(target, (int, float)) or not 0 < target < 1:
        raise ValueError(f"target must be a dependability strictly between 0 and 1, not "
                         f"{target!r}.")
    if not isinstance(max_evaluators, (int, np.integer)) or max_evaluators < 1:
        raise ValueError(f"max_evaluators must be a whole number ≥ 1, not {max_evaluators!r}.")
    table = d_study(g, range(1, int(max_evaluators) + 1), n_questions=n_questions)
    reached = table.loc[table["phi"] >= target - 1e-12, "n_evaluators"]
    return int(reached.iloc[0]) if len(reached) else None
