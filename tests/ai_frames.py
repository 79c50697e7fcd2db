"""The AI tables of an in-process sandbox org, as a sync would store them (for tests over many
seeds without an HTTP round trip; tests/test_sync_ai.py checks the two agree)."""

from __future__ import annotations

import pandas as pd

from calib.ai.tables import ai_answers_frame, ai_runs_frame


def org_ai_tables(org) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ai_answers, ai_runs): a failed run has no answer rows, as on a real org."""
    raw = org.tidy_ai_answers()
    runs = raw.drop_duplicates("evaluation_id").rename(
        columns={"ai_failure_type": "_q", "ai_evaluation_failure_type": "ai_failure_type"})
    runs = runs.assign(ai_pending=False, evaluation_source_type="User")
    answers = raw[raw["ai_evaluation_failure_type"].isna()]
    return ai_answers_frame(answers), ai_runs_frame(runs)
