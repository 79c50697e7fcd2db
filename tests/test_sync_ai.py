"""AI scoring synced from the (sandbox) Quality API into the store: every ``aiAnswer`` and run
failure stored per question as the org holds it, idempotent, behind the blind gate, and a store
of the previous schema version gains the AI tables when opened."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from calib.store import SCHEMA_VERSION, Store
from calib.sync import sync_month

AI_MONTH, BEFORE_AI, OPEN_MONTH = "2026-10", "2026-06", "2026-11"


@pytest.fixture
def store(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'sync-ai.sqlite'}") as s:
        yield s


def _org_ai(org, team, month):
    truth = org.tidy_ai_answers()
    return truth[(truth["team"] == team) & (truth["month"] == month)]


@pytest.mark.parametrize("team", ["demo", "north"])
def test_ai_answers_and_failures_are_stored_as_the_org_holds_them(sandbox, store, team):
    info = sandbox.truth.teams[team]
    with sandbox.client() as client:
        result = sync_month(client, store, team=team, month=AI_MONTH,
                            calibrator_ids=[info["calibrator_id"]])
        again = sync_month(client, store, team=team, month=AI_MONTH,
                           calibrator_ids=[info["calibrator_id"]])
    truth = _org_ai(sandbox.org, team, AI_MONTH)
    assert len(truth) > 0, "the sandbox AI-scores form v2 from 2026-08"
    ran = truth[truth["ai_evaluation_failure_type"].isna()]
    got = store.ai_answers(team, AI_MONTH)
    assert result.ai_answers == len(got) == len(ran) and result.ai_changed > 0
    assert again.ai_changed == 0, "a repeated sync must not change the AI rows"
    key = ["evaluation_id", "question_id"]
    cols = ["calibration_id", "evaluator_id", "role", "form_id", "ai_answer_id",
            "ai_marked_na", "ai_failure_type", "ai_explanation"]
    pd.testing.assert_frame_equal(ran.sort_values(key)[key + cols].reset_index(drop=True),
                                  got.sort_values(key)[key + cols].reset_index(drop=True))
    runs = store.ai_runs(team, AI_MONTH)
    expected = truth.drop_duplicates("evaluation_id").set_index("evaluation_id")[
        "ai_evaluation_failure_type"]
    stored = runs.set_index("evaluation_id")["ai_failure_type"]
    assert set(stored.index) == set(expected.index)
    assert stored.reindex(expected.index).fillna("-").equals(expected.fillna("-"))
    assert set(runs["evaluation_source_type"]) == {"User"}
    assert runs["ai_pending"].eq(False).all() and runs["ai_date_last_changed"].notna().all()


def test_a_month_before_ai_scoring_stores_no_ai_rows(sandbox, store):
    info = sandbox.truth.teams["demo"]
    with sandbox.client() as client:
        result = sync_month(client, store, team="demo", month=BEFORE_AI,
                            calibrator_ids=[info["calibrator_id"]])
    assert result.evaluations > 0 and (result.ai_runs, result.ai_answers) == (0, 0)
    assert store.ai_answers("demo").empty and store.ai_runs("demo").empty


def test_sealed_calibrations_keep_their_ai_answers_hidden(sandbox, store):
    info = sandbox.truth.teams["demo"]
    with sandbox.client() as client:
        sync_month(client, store, team="demo", month=OPEN_MONTH,
                   calibrator_ids=[info["calibrator_id"]])
    gate = store.gate("demo", OPEN_MONTH)
    sealed = set(gate.loc[~gate["open"], "calibration_id"])
    assert sealed, "the open month must have a sealed calibration for this test to mean much"
    assert not sealed & set(store.ai_answers("demo", OPEN_MONTH)["calibration_id"])
    assert not sealed & set(store.ai_runs("demo", OPEN_MONTH)["calibration_id"])


def test_ai_rows_of_unknown_evaluations_are_refused_and_nothing_is_written(sandbox, store):
    info = sandbox.truth.teams["north"]
    with sandbox.client() as client:
        sync_month(client, store, team="north", month=AI_MONTH,
                   calibrator_ids=[info["calibrator_id"]])
    before = store.ai_answers("north", AI_MONTH)
    bad = before.copy()
    bad.loc[0, "evaluation_id"] = "no-such-evaluation"
    with pytest.raises(ValueError, match="no-such-evaluation.*write the month's scores first"):
        store.upsert_ai("north", AI_MONTH, store.ai_runs("north", AI_MONTH), bad)
    pd.testing.assert_frame_equal(store.ai_answers("north", AI_MONTH), before)


def test_a_store_of_the_previous_version_gains_the_ai_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    with Store(url):
        pass
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # make it look like a store written before AI scoring
        conn.execute(sa.text("DROP TABLE ai_answers"))
        conn.execute(sa.text("DROP TABLE ai_evaluations"))
        conn.execute(sa.text(f"UPDATE schema_version SET version = {SCHEMA_VERSION - 1}"))
    engine.dispose()
    with Store(url) as reopened:
        assert reopened.schema_version == SCHEMA_VERSION
        assert reopened.ai_answers().empty and reopened.ai_runs().empty


def test_the_ai_calibration_from_the_store_is_the_one_from_the_org(sandbox, store):
    from calib.ai.analysis import ai_calibration, ai_calibration_from_store
    from tests.ai_frames import org_ai_tables

    info, months = sandbox.truth.teams["north"], ["2026-08", "2026-09", "2026-10"]
    with sandbox.client() as client:
        for month in months:
            sync_month(client, store, team="north", month=month,
                       calibrator_ids=[info["calibrator_id"]])
    stored = ai_calibration_from_store(store, "north", months)
    org = sandbox.org
    ai_answers, ai_runs = org_ai_tables(org)
    answers = org.tidy_answers()

    def pick(frame):
        return frame[(frame["team"] == "north") & frame["month"].isin(months)]

    direct = ai_calibration(pick(answers), pick(ai_answers), pick(ai_runs), org.forms_by_id)
    assert [(v.question_id, v.verdict, v.n_calls) for v in stored.verdicts] == \
        [(v.question_id, v.verdict, v.n_calls) for v in direct.verdicts]
    assert stored.bias.n == direct.bias.n > 0
    assert stored.bias.bias == pytest.approx(direct.bias.bias, abs=1e-6)
    assert stored.n_runs == direct.n_runs and stored.n_failed_runs == direct.n_failed_runs


def test_an_ai_answer_genesys_no_longer_shows_goes_and_a_rerun_restores_it(sandbox, store):
    info = sandbox.truth.teams["north"]
    with sandbox.client() as client:
        sync_month(client, store, team="north", month=AI_MONTH,
                   calibrator_ids=[info["calibrator_id"]])
    runs, answers = store.ai_runs("north", AI_MONTH), store.ai_answers("north", AI_MONTH)
    fewer = store.upsert_ai("north", AI_MONTH, runs, answers.iloc[1:])
    assert fewer["ai_answers"]["deleted"] == 1 and fewer["ai_runs"]["updated"] == 0
    assert len(store.ai_answers("north", AI_MONTH)) == len(answers) - 1
    with sandbox.client() as client:
        # The store was changed behind the sync's back (Genesys still lists the same month), so
        # the listing's digest cannot show it: full=True reads the month whatever the digest.
        again = sync_month(client, store, team="north", month=AI_MONTH,
                           calibrator_ids=[info["calibrator_id"]], full=True)
    assert again.ai_changed == 1
    pd.testing.assert_frame_equal(store.ai_answers("north", AI_MONTH), answers)
