"""Variance components by Henderson's method 1, for crossed and nested random designs.

An effect is a set of *primary* facets within a set of *nesting* facets (Brennan 2001, §3.1):
``calls x evaluators`` has primary {calls, evaluators} and no nesting; ``evaluators:calls``
(each call scored by its own evaluators) has primary {evaluators} nested in {calls}. Its cells
are the combinations of all its facets (its index set). For every index set ``A`` used, the
"T term" ``T_A = sum_a y_a.^2 / n_a`` is equated to its expectation
``N mu^2 + sum_e sigma2_e sum_a (sum_l n_al^2) / n_a`` (``l`` the cells of effect ``e`` inside
cell ``a``), and the linear system is solved (Henderson 1953; Searle, Casella & McCulloch
1992, §5.3; Brennan 2001, §7.1.2 "analogous T terms"). On balanced data this is Brennan's
ANOVA estimator; on unbalanced data it stays unbiased and needs no iteration.

The sums of squares follow from the T terms by Brennan's rule (2001, §3.2): for an effect with
primary facets ``P`` and nesting facets ``N``,
``SS = sum_{B subset of P} (-1)^{|P| - |B|} T(B + N)``, and its degrees of freedom are the same
alternating sum of the numbers of occupied cells, which on balanced data is
``prod_{f in P} (n_f - 1) * prod_{f in N} n_f``. On unbalanced data they are Henderson's
"analogous" sums of squares and degrees of freedom, not those of an ANOVA.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

__all__ = ["Effect", "crossed_effects", "henderson1", "ANOVA_COLUMNS"]

ANOVA_COLUMNS = ("facet", "df", "ss", "ms")


@dataclass(frozen=True)
class Effect:
    """A random effect: ``primary`` facets nested within ``nesting`` facets."""

    primary: tuple[str, ...]
    nesting: tuple[str, ...] = ()

    @property
    def index(self) -> frozenset[str]:
        return frozenset(self.primary) | frozenset(self.nesting)

    def name(self, last: bool) -> str:
        text = " x ".join(self.primary)
        if self.nesting:
            text += ":" + " x ".join(self.nesting)
        return text + ",e" if last else text


def crossed_effects(facets: tuple[str, ...]) -> list[Effect]:
    """Every non-empty combination of ``facets``: a fully crossed design."""
    return [Effect(s) for k in range(1, len(facets) + 1) for s in combinations(facets, k)]


class _Cells:
    """Occupied cells of index sets, computed once each."""

    def __init__(self, codes: dict[str, np.ndarray], order: tuple[str, ...], n_obs: int):
        self.codes, self.order, self.n_obs = codes, order, n_obs
        self.cache: dict[frozenset, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __call__(self, index: frozenset[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cell of each observation, the cell sizes, and one observation index per cell."""
        if index not in self.cache:
            self.cache[index] = self._compute(tuple(f for f in self.order if f in index))
        return self.cache[index]

    def _compute(self, subset: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_obs = self.n_obs
        if not subset:
            return np.zeros(n_obs, dtype=np.int64), np.array([float(n_obs)]), \
                np.zeros(1, np.int64)
        dims = [int(self.codes[f].max()) + 1 for f in subset]
        flat = np.ravel_multi_index([self.codes[f] for f in subset], dims)
        if int(np.prod(dims, dtype=np.float64)) <= max(8 * n_obs, 1 << 20):
            counts = np.bincount(flat, minlength=int(np.prod(dims)))  # dense: no sort
            occupied = counts > 0
            cell = (np.cumsum(occupied) - 1)[flat]
            sizes = counts[occupied].astype(float)
        else:
            _, cell, sizes = np.unique(flat, return_inverse=True, return_counts=True)
            sizes = sizes.astype(float)
        first = np.empty(sizes.size, dtype=np.int64)
        first[cell[::-1]] = np.arange(n_obs - 1, -1, -1)
        return cell.astype(np.int64), sizes, first


def henderson1(codes: dict[str, np.ndarray], y: np.ndarray,
               effects: list[Effect] | None = None) -> pd.DataFrame:
    """Henderson method 1 variance components and the (analogous) ANOVA table.

    Parameters
    ----------
    codes : dict of str to numpy.ndarray
        Integer level codes (0..L-1) of each facet, one entry per observation, in the facet
        order used for the effect names.
    y : numpy.ndarray
        The observations.
    effects : list of Effect, optional
        The design's random effects, the last one confounded with error. Default: fully
        crossed (every combination of the facets).

    Returns
    -------
    pandas.DataFrame
        ``facet, variance`` per effect; ``.attrs["T"]`` holds Brennan's T terms keyed by effect
        name (``"mean"`` for the grand mean), ``.attrs["anova"]`` a DataFrame ``facet, df, ss,
        ms`` and ``.attrs["balanced"]`` whether every effect's cells have equal sizes (then
        the estimates are the ANOVA estimates).

    Raises
    ------
    ValueError
        Without observations or facets, or when the components cannot be separated.

    References
    ----------
    Henderson (1953), Biometrics 9:226-252; Searle, Casella & McCulloch (1992), Variance
    Components, §5.3; Brennan (2001), §3.2 and §7.1.2.
    """
    order = tuple(codes)
    n_obs = y.size
    if n_obs == 0 or not order:
        raise ValueError("Henderson's method needs observations and at least one facet; the "
                         "data holds none. Pass the scores or answers with their facet codes.")
    effects = crossed_effects(order) if effects is None else effects
    cells = _Cells(codes, order, n_obs)
    terms = [frozenset()] + [e.index for e in effects]
    t_values = np.empty(len(terms))
    coef = np.empty((len(terms), len(terms)))
    for row, a in enumerate(terms):
        t_values[row] = _t_term(cells, a, y)
        a_cell, n_a, _ = cells(a)
        coef[row, 0] = n_obs
        for col, effect in enumerate(effects, start=1):
            _, n_u, first = cells(a | effect.index)
            per_a = np.bincount(a_cell[first], weights=n_u ** 2, minlength=n_a.size)
            coef[row, col] = float((per_a / n_a).sum())
    try:
        solution = np.linalg.solve(coef, t_values)
    except np.linalg.LinAlgError as exc:
        raise ValueError("The variance components cannot be separated with this data (the "
                         "design is degenerate, e.g. every call scored by a different single "
                         "evaluator); add calls that several evaluators scored.") from exc
    names = [e.name(i == len(effects) - 1) for i, e in enumerate(effects)]
    out = pd.DataFrame({"facet": names, "variance": solution[1:]})
    out.attrs["T"] = {("mean" if not s else name): float(t)
                      for s, name, t in zip(terms, ["mean"] + names, t_values)}
    out.attrs["anova"] = _anova(cells, effects, names, y)
    out.attrs["balanced"] = all(np.ptp(cells(e.index)[1]) == 0 for e in effects)
    return out


def _t_term(cells: _Cells, index: frozenset[str], y: np.ndarray) -> float:
    cell, sizes, _ = cells(index)
    sums = np.bincount(cell, weights=y, minlength=sizes.size)
    return float((sums ** 2 / sizes).sum())


def _anova(cells: _Cells, effects: list[Effect], names: list[str],
           y: np.ndarray) -> pd.DataFrame:
    """Brennan's (2001, §3.2) sums of squares and df from T terms and cell counts."""
    rows = []
    for effect, name in zip(effects, names):
        ss = df = 0.0
        nesting = frozenset(effect.nesting)
        for k in range(len(effect.primary) + 1):
            sign = (-1) ** (len(effect.primary) - k)
            for subset in combinations(effect.primary, k):
                index = frozenset(subset) | nesting
                ss += sign * _t_term(cells, index, y)
                df += sign * cells(index)[1].size
        rows.append((name, df, max(ss, 0.0), max(ss, 0.0) / df if df > 0 else float("nan")))
    return pd.DataFrame(rows, columns=list(ANOVA_COLUMNS))
