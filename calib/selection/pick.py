"""The pick: a greedy, seeded, stratified choice among the reducer's ranked candidates, and the
reason each one was chosen, in words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from calib.selection.reducer import GrayPriors, Record, Rules, label

__all__ = ["stratified_pick", "reason"]


def reason(record: Record, rules: Rules, priors: GrayPriors, coverage: list[str],
            names: Mapping[str, str]) -> str:
    parts = []
    gray = priors.of(record.agent_id, record.queue_id)
    if rules.w_gray:
        detail = priors.detail.get(record.agent_id, "no past scores")
        kind = "gray-area agent" if gray >= 0.5 else "agent"
        parts.append(f"{kind} {gray:.2f} ({detail})")
    if record.transferred and rules.w_transferred:
        parts.append(f"transferred (+{rules.w_transferred:g})")
    if record.hold_ms and rules.w_hold:
        parts.append(f"held {record.hold_ms / 60000:.1f} min "
                     f"(+{rules.w_hold * min(record.hold_ms / rules.hold_cap_ms, 1):.2f})")
    for value, weights, what in ((record.wrap_up_code, rules.w_wrap_up_codes, "wrap-up"),
                                 (record.queue_id, rules.w_queues, "queue")):
        text = label(value, names)
        hits = [p for p, _ in weights if text and p.lower() in text]
        if hits:
            shown = names.get(value) or value
            parts.append(f"{what} {shown} favoured by the profile ({', '.join(hits)})")
    band_bonus = dict(rules.w_bands).get(record.handle_band)
    if band_bonus:
        parts.append(f"{record.handle_band} handle time favoured (+{band_bonus:g})")
    parts.append(f"seeded tie-break {record.tiebreak:.2f}")
    return f"priority {record.priority:.2f}: " + "; ".join(parts) + "; " + ", ".join(coverage)


def stratified_pick(ranked: Sequence[tuple[float, Record]], n: int, *,
                    confirm: Callable[[Record], bool] | None = None,
                    agent_weight: float = 100.0, band_weight: float = 1.0,
                    queue_weight: float = 1.0, names: Mapping[str, str] | None = None
                    ) -> tuple[list[tuple[Record, list[str]]], list[Record]]:
    """Pick ``n`` records greedily, spreading agents first, then handle bands and queues.

    Each step takes the record with the highest ``rank − agent_weight·a − band_weight·b −
    queue_weight·q``, where a, b, q count earlier picks with the same agent, band and queue. With
    the default weights agents are spread round-robin (so ≥ 3 distinct agents whenever 3 exist),
    and among an agent's calls an uncovered band or queue wins unless the priority gap is larger.

    Parameters
    ----------
    ranked : sequence of (rank, Record)
        Candidates with their rank (priority plus seeded tie-break).
    n : int
        How many to pick.
    confirm : callable, optional
        Called on a record before it is accepted (for example a recording check); a record it
        rejects is skipped and reported in the second return value.

    Returns
    -------
    picked : list of (Record, coverage notes)
    rejected : list of Record
        Records ``confirm`` turned down.
    """
    if not ranked:
        return [], []
    ranks = np.array([r for r, _ in ranked], dtype=float)
    records = [rec for _, rec in ranked]
    codes = {}
    for col in ("agent_id", "handle_band", "queue_id"):
        values = pd.Series([getattr(r, col) for r in records], dtype="object").fillna("")
        codes[col] = pd.factorize(values)[0]
    counts = {col: np.zeros(codes[col].max() + 1) for col in codes}
    weight = {"agent_id": agent_weight, "handle_band": band_weight, "queue_id": queue_weight}
    available = np.ones(len(records), dtype=bool)
    picked: list[tuple[Record, list[str]]] = []
    rejected: list[Record] = []
    while len(picked) < n and available.any():
        score = ranks.copy()
        for col, code in codes.items():
            score -= weight[col] * counts[col][code]
        score[~available] = -np.inf
        best = int(np.argmax(score))
        available[best] = False
        rec = records[best]
        if confirm is not None and not confirm(rec):
            rejected.append(rec)
            continue
        notes = []
        if counts["agent_id"][codes["agent_id"][best]] == 0:
            notes.append("first call for this agent")
        if counts["handle_band"][codes["handle_band"][best]] == 0:
            notes.append(f"adds the {rec.handle_band} handle-time band")
        if counts["queue_id"][codes["queue_id"][best]] == 0:
            notes.append(f"adds queue {(names or {}).get(rec.queue_id) or rec.queue_id}")
        for col, code in codes.items():
            counts[col][code[best]] += 1
        picked.append((rec, notes or ["best remaining priority"]))
    return picked, rejected
