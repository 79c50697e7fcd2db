"""Verdicts a QM lead can act on: who is lenient or harsh, is the expert drifting, are the
evaluators consistent, are they improving, and what to do first.

Every sentence the report shows comes from a method of the frozen objects here (``sentence()``
in plain words, ``details()`` with the coefficients), and the headline and the appendix read the
same objects, so they cannot disagree. Builders are pure: tidy tables and settings in, objects
out; no store, no I/O.

Rules (each chosen by the sandbox truth test, ``tests/test_verdicts_truth.py``)
-----------------------------------------------------------------------------
* **Evaluator**: *lenient* / *harsh* when the severity's CI excludes 0 **and** the point
  estimate is beyond the practical threshold (the CI bound beyond the threshold finds only about
  half of the evaluators whose true severity is 4+ points, the point rule about 90%, with no
  wrong-direction or near-zero flag either way); otherwise *within the band* when the CI
  half-width is under the threshold; otherwise *not enough shared calls yet*, with the number of
  further shared calls that would bring the half-width under the threshold
  (:mod:`calib.stats.severity` explains the count). Severity is measured over the whole history
  window, against the leave-one-out consensus of the other evaluators, the expert excluded.
* **Expert drift** is a *verdict* only when (a) the report month's CI, widened for checking every
  month of the window (Bonferroni: level 1 − (1 − confidence)/months), lies wholly beyond the
  threshold, or (b) the drift was beyond the threshold with a CI excluding 0 in each of the last
  ``sustained_months`` (3) months. A one-month CI clearing the threshold at 95% gave false
  verdicts in the sandbox (a month whose true drift was 9.4 called beyond 10); two months in a row
  did too. Otherwise *watch* when the month's CI excludes 0 and the gap is at least half the
  threshold, or when the trend over the window is significant and this month's CI already
  reaches beyond the threshold in the trend's direction; else *steady* (a small, precisely
  measured gap is not worth a line of the headline).
* **Consistency**: ICC(A,1) over the window in Koo & Li's (2016) words (< .5 poor, .5–.75
  moderate, .75–.9 good, > .9 excellent), applied to both CI limits: when they fall in different
  levels the verdict is "uncertain between" them. Koo & Li base the level on the 95% CI (their
  example: ICC .932, CI .879 to .965, reads "good to excellent"). A value of exactly .9 is good
  here, as their "greater than 0.90" says (R effectsize's ``interpret_icc`` calls it excellent).
* **Trend**: the per-call spread test of :func:`calib.stats.consistency.spread_trend`;
  improving / worsening when the permutation p-value is under 1 − confidence and the fitted
  change over the window is at least ``min_trend_change`` points, else flat.
* **Actions**: at most three, ranked: rotate a drifted calibrator; review severity with the
  lenient and harsh evaluators; clarify the rubric when consistency is under "good" or worsening;
  watch the calibrator; have evaluators without enough shared calls score more; else keep the
  cadence.
"""

from __future__ import annotations

from calib.verdicts.actions import (Action, Verdicts, build_verdicts, flagged_evaluators,
                                    rank_actions)
from calib.verdicts.people import (DriftVerdict, EvaluatorVerdict, drift_verdicts,
                                   evaluator_verdicts)
from calib.verdicts.team import (ConsistencyVerdict, TrendVerdict, consistency_verdict,
                                 koo_li_level, trend_verdict)
from calib.verdicts.words import month_words, window_words

__all__ = ["Action", "ConsistencyVerdict", "DriftVerdict", "EvaluatorVerdict", "TrendVerdict",
           "Verdicts", "build_verdicts", "consistency_verdict", "drift_verdicts",
           "evaluator_verdicts", "flagged_evaluators", "koo_li_level", "month_words",
           "rank_actions", "trend_verdict", "window_words"]
