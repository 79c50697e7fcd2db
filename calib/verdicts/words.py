"""Shared vocabulary of the verdicts: option words, the reference, month names, number formats."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

EvaluatorWord = Literal["lenient", "harsh", "within the band", "not enough shared calls"]
DriftWord = Literal["drift", "watch", "steady", "no data"]
Level = Literal["poor", "moderate", "good", "excellent"]
TrendWord = Literal["improving", "flat", "worsening", "too short"]
ActionKind = Literal["rotate calibrator", "review severity", "clarify rubric", "watch calibrator",
                     "more shared calls", "keep cadence"]

KOO_LI_CUTOFFS = ((0.5, "poor"), (0.75, "moderate"), (0.9, "good"))
KOO_LI_SOURCE = ("Koo & Li (2016): below .5 poor, .5 to .75 moderate, .75 to .9 good, "
                 "above .9 excellent")
REFERENCE = "consensus"
REFERENCE_WORDS = "the leave-one-out consensus of the other evaluators (the expert left out)"


def month_words(month: str) -> str:
    """``"2026-10"`` → ``"October 2026"``."""
    return pd.Period(month, "M").strftime("%B %Y")


def window_words(first: str, last: str) -> str:
    """``("2026-05", "2026-10")`` → ``"May–October 2026"``."""
    a, b = pd.Period(first, "M"), pd.Period(last, "M")
    if a == b:
        return month_words(last)
    if a.year == b.year:
        return f"{a.strftime('%B')}–{b.strftime('%B %Y')}"
    return f"{a.strftime('%B %Y')}–{b.strftime('%B %Y')}"


def points(value: float) -> str:
    return f"{abs(value):.1f} point{'' if round(abs(value), 1) == 1 else 's'}"


def ci_words(low: float, high: float, confidence: float) -> str:
    return f"{confidence:.0%} CI {low:+.1f} to {high:+.1f}"


def join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def finite(x: Any) -> bool:
    return x is not None and bool(np.isfinite(x))


def plain(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value
