"""Property: after any sequence of month upserts the store holds exactly the last one."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from calib.store import Store
from tests.test_store_helpers import month_frames


def _stored(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    s = store.scores().drop(columns="evaluator_name")
    a = store.answers()
    return (s.sort_values("evaluation_id").reset_index(drop=True),
            a.sort_values(["evaluation_id", "question_id"]).reset_index(drop=True))


@pytest.mark.slow
@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_after_any_sequence_of_upserts_the_store_equals_the_last_one(store_url):
    """Property: whatever came before, the month holds exactly what was upserted last."""
    @settings(max_examples=5, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 50)),
                    min_size=1, max_size=3))
    def check(steps):
        with Store(store_url) as store:
            for n_cal, n_eval, seed in steps:
                scores, answers = month_frames(n_calibrations=n_cal, n_evaluators=n_eval,
                                               seed=seed)
                store.upsert_month("demo", "2026-10", scores, answers)
                got_s, got_a = _stored(store)
                want_s = scores.drop(columns="evaluator_name").sort_values(
                    "evaluation_id").reset_index(drop=True)
                want_a = answers.sort_values(["evaluation_id", "question_id"]).reset_index(
                    drop=True)
                pd.testing.assert_frame_equal(got_s, want_s)
                pd.testing.assert_frame_equal(got_a, want_a)
                assert not store.upsert_month("demo", "2026-10", scores, answers).changed
            store.upsert_month("demo", "2026-10", *month_frames(n_calibrations=0))
            assert store.scores().empty and store.answers().empty

    check()
