"""Every statistic of calib: agreement, variance, bias, drift and generalizability, as pure
functions over tidy frames.

Names are imported lazily so that ``import calib.stats`` stays cheap; see docs/architecture.md
for the contract of each function.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "icc": "intraclass",
    "krippendorff_alpha": "alpha",
    "AlphaResult": "alpha",
    "percent_agreement": "categorical",
    "gwet_ac": "categorical",
    "fleiss_kappa": "categorical",
    "cohen_kappa": "categorical",
    "question_agreement": "categorical",
    "answer_distribution": "categorical",
    "AgreementResult": "categorical",
    "conger_kappa": "kappas",
    "scott_pi": "kappas",
    "fleiss_kappa_by_category": "kappas",
    "agreement_from_table": "agreement_table",
    "evaluator_bias": "bias",
    "evaluator_severity": "bias",
    "bland_altman": "blandaltman",
    "BlandAltmanResult": "blandaltman",
    "evaluator_differences": "pairwise",
    "EvaluatorComparison": "pairwise",
    "calibrator_drift": "drift",
    "DriftResult": "drift",
    "g_study": "gtheory",
    "d_study": "gtheory",
    "evaluators_needed": "gtheory",
    "GStudyResult": "gtheory",
    "recurring_criteria": "recurring",
    "calibration_variance": "variance",
    "question_disagreement": "variance",
    "VarianceResult": "variance",
    "prepare_scores": "_common",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'calib.stats' has no attribute {name!r}")
    return getattr(importlib.import_module(f"calib.stats.{module}"), name)
