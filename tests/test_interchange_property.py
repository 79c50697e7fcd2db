"""Property: whatever text and numbers a month holds, export → import gives the same tables.

Ids and names with separators, quotes, line breaks, non-Latin letters, leading zeros, and the
words pandas would read as missing (``NA``, ``N/A``, ``null``) must all survive the CSV file.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calib.interchange import export_month, load_files
from calib.tables import answers_frame, scores_frame

# Empty strings are excluded: a CSV cell cannot tell "" from missing (documented). Texts that a
# spreadsheet would run as formulas are included: the exporter quotes them, the importer
# unquotes them. Ids lose the spaces around them on import (documented), so ids are drawn
# without; names, question texts and comments keep theirs.
TEXT = st.one_of(st.sampled_from(["NA", "N/A", "null", "007", " x ", "a,b", 'say "hi"',
                                  "line\nbreak", "Zoë Ñúñez", "東京", ";", "-", "-5", "=1+1",
                                  '=HYPERLINK("http://x")', "+cmd", "@SUM(A1)", "\tx", "\r=1",
                                  "'=quoted", "''-twice", "a\rb", "'"]),
                 st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                         min_size=1, max_size=12).filter(lambda s: s.strip() != ""))
ID = TEXT.filter(lambda s: s == s.strip())
SCORE = st.one_of(st.floats(0, 100, allow_nan=False), st.just(np.nan))


@st.composite
def months(draw):
    n_cal = draw(st.integers(1, 4))
    evaluators = draw(st.lists(ID, min_size=2, max_size=4, unique=True))
    rows, answer_rows = [], []
    for c in range(n_cal):
        cal = draw(ID) + f"#{c}"
        for i, ev in enumerate(evaluators):
            # one score above 1 keeps the month off a 0–1 scale, which is refused (documented)
            score = draw(st.floats(2, 100)) if (c, i) == (0, 0) else draw(SCORE)
            finished = not np.isnan(score)
            rows.append({"team": "t", "month": "2026-08", "session_id": draw(ID),
                         "calibration_id": cal, "conversation_id": draw(st.none() | ID),
                         "agent_id": draw(ID), "calibrator_id": None,
                         "evaluation_id": f"{cal}/{i}", "evaluator_id": ev,
                         "evaluator_name": draw(TEXT), "role": "expert" if i == 0 else "evaluator",
                         "status": "FINISHED" if finished else "PENDING", "total_score": score,
                         "critical_score": np.nan, "any_failed_kill": draw(st.booleans()),
                         "submitted_at": pd.Timestamp("2026-08-03T10:00:00.123456Z")
                         if finished else pd.NaT, "form_id": "f", "form_context_id": "fc"})
            if finished:
                na = draw(st.booleans())
                answer_rows.append({
                    **{k: rows[-1][k] for k in ("team", "month", "session_id", "calibration_id",
                                                "conversation_id", "evaluation_id",
                                                "evaluator_id", "role", "form_id")},
                    "question_group_id": "g", "question_group_name": draw(TEXT),
                    "question_id": "q1", "question_text": draw(TEXT),
                    "answer_id": None if na else draw(ID), "answer_text": "N/A" if na else
                    draw(TEXT), "points": np.nan if na else float(draw(st.integers(0, 3))),
                    "max_points": 3.0, "marked_na": na, "comment": draw(st.none() | TEXT)})
    sessions = {r["session_id"] for r in rows}
    for r in rows + answer_rows:  # one session per month keeps the one-form rule trivially true
        r["session_id"] = sorted(sessions)[0]
    return scores_frame(rows), answers_frame(answer_rows)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(months())
def test_any_month_survives_a_csv_round_trip(month):
    scores, answers = month
    with tempfile.TemporaryDirectory() as tmp:
        paths = export_month(scores, answers, tmp, team="t", month="2026-08")
        got_scores, got_answers = load_files(paths, team="t")
    key = ["calibration_id", "evaluator_id"]
    pd.testing.assert_frame_equal(got_scores.sort_values(key).reset_index(drop=True),
                                  scores.sort_values(key).reset_index(drop=True))
    pd.testing.assert_frame_equal(got_answers.sort_values(key).reset_index(drop=True),
                                  answers.sort_values(key).reset_index(drop=True))
