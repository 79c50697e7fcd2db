"""The history store: schema, idempotent month upserts, transactions, round trips.

Every test runs twice through the ``store_url`` fixture: on a SQLite file and on a real
PostgreSQL server started by tests/fixtures/postgres.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from calib.store import SCHEMA_VERSION, Store, StoreError
from calib.tables import ANSWERS_COLUMNS, SCORES_COLUMNS
from tests.test_store_helpers import FORM_ID, form_json, month_frames, users_json


@pytest.fixture
def store(store_url: str):
    with Store(store_url) as s:
        yield s


def _upsert(store: Store, team="demo", month="2026-10", **kw):
    frames = month_frames(team, month, **kw)
    return store.upsert_month(team, month, *frames, forms=[form_json()], users=users_json()), \
        frames


def _engine(store: Store) -> sa.Engine:
    return store._engine  # the tests inspect the database behind the public API


def test_opening_creates_the_versioned_schema_once(store_url):
    with Store(store_url) as first:
        assert first.schema_version == SCHEMA_VERSION
    with Store(store_url) as again, _engine(again).connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM schema_version")).scalars().all()
    assert versions == [SCHEMA_VERSION], "re-opening must not re-apply the schema"


def test_a_newer_schema_is_refused_with_a_sentence(store_url):
    with Store(store_url) as s, _engine(s).begin() as conn:
        conn.execute(sa.text("INSERT INTO schema_version (version, applied_at) "
                             "VALUES (:v, CURRENT_TIMESTAMP)"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(StoreError, match=r"upgrade calib"):
        Store(store_url)


def test_first_upsert_inserts_and_repeating_it_changes_nothing(store):
    first, (scores, answers) = _upsert(store)
    assert first.inserted > 0 and first.updated == first.deleted == 0
    assert first.by_table["evaluations"]["inserted"] == len(scores) == 12
    assert first.by_table["answers"]["inserted"] == len(answers)
    again, _ = _upsert(store)
    assert (again.inserted, again.updated, again.deleted) == (0, 0, 0), again.by_table
    assert again.unchanged == first.inserted
    assert not again.changed


def test_scores_and_answers_round_trip_exactly(store):
    _, (scores, answers) = _upsert(store)
    got = store.scores("demo", "2026-10")
    assert list(got.columns) == list(SCORES_COLUMNS)
    assert got.dtypes.astype(str).to_dict() == dict(SCORES_COLUMNS)
    # evaluators without a name in the frame take the stored user's name
    expected = scores.copy()
    names = {u["id"]: u["name"] for u in users_json()}
    expected["evaluator_name"] = expected["evaluator_name"].fillna(expected["evaluator_id"]
                                                                  .map(names))
    key = ["calibration_id", "evaluation_id"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  expected.sort_values(key).reset_index(drop=True))
    got_a = store.answers("demo", "2026-10")
    assert list(got_a.columns) == list(ANSWERS_COLUMNS)
    key = ["evaluation_id", "question_id"]
    pd.testing.assert_frame_equal(got_a.sort_values(key).reset_index(drop=True),
                                  answers.sort_values(key).reset_index(drop=True))


def test_a_rescored_evaluation_updates_only_its_rows(store):
    _, (scores, answers) = _upsert(store)
    target = scores["evaluation_id"].iloc[5]
    scores.loc[scores["evaluation_id"] == target, "total_score"] = 42.5
    row = answers.index[(answers["evaluation_id"] == target)
                        & (answers["question_id"] == "q-scale")][0]
    answers.loc[row, ["answer_id", "answer_text", "points"]] = ["q-scale-2", "2", 2.0]
    result = store.upsert_month("demo", "2026-10", scores, answers)
    assert result.by_table["evaluations"]["updated"] == 1
    assert result.by_table["answers"]["updated"] == 1
    assert result.updated == 2 and result.inserted == result.deleted == 0
    got = store.scores("demo", "2026-10").set_index("evaluation_id")
    assert got.loc[target, "total_score"] == 42.5
    got_a = store.answers("demo", "2026-10")
    pick = got_a[(got_a["evaluation_id"] == target) & (got_a["question_id"] == "q-scale")]
    assert pick["answer_id"].tolist() == ["q-scale-2"] and pick["points"].tolist() == [2.0]


def test_a_vanished_calibration_is_removed_and_reported(store):
    _, (scores, answers) = _upsert(store)
    gone = "demo-2026-10-cal1"
    result = store.upsert_month("demo", "2026-10", scores[scores["calibration_id"] != gone],
                                answers[answers["calibration_id"] != gone])
    assert result.removed_calibrations == (gone,)
    assert result.by_table["calibrations"]["deleted"] == 1
    assert result.by_table["evaluations"]["deleted"] == 4
    assert result.by_table["answers"]["deleted"] == int((answers["calibration_id"] == gone).sum())
    assert gone not in set(store.scores("demo", "2026-10")["calibration_id"])
    with _engine(store).connect() as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM answers WHERE evaluation_id LIKE :p"),
                            {"p": f"{gone}-%"}).scalar()
    assert left == 0, "answers of a removed calibration must go with it"


def test_an_api_sync_never_removes_calibrations_imported_from_files(store):
    files_scores, files_answers = month_frames(n_calibrations=1, prefix="file-")
    store.upsert_month("demo", "2026-10", files_scores, files_answers, source="files")
    _upsert(store)
    result = store.upsert_month("demo", "2026-10", *month_frames(n_calibrations=0))
    assert set(result.removed_calibrations) == {f"demo-2026-10-cal{i}" for i in range(3)}
    assert set(store.scores("demo")["calibration_id"]) == {"file-demo-2026-10-cal0"}


def test_months_and_teams_are_kept_apart(store):
    _upsert(store, "demo", "2026-09")
    _upsert(store, "demo", "2026-10")
    _upsert(store, "north", "2026-10")
    assert store.teams() == ["demo", "north"]
    assert store.months("demo") == ["2026-09", "2026-10"]
    assert set(store.scores("demo", ["2026-09"])["month"]) == {"2026-09"}
    assert len(store.scores()) == 36
    # re-syncing one month with one calibration fewer leaves the other months alone
    scores, answers = month_frames("demo", "2026-09", n_calibrations=2)
    store.upsert_month("demo", "2026-09", scores, answers)
    assert len(store.scores("demo", "2026-10")) == 12 and len(store.scores("north")) == 12


def test_a_failing_upsert_leaves_the_store_unchanged(store):
    _upsert(store)
    before_s, before_a = store.scores(), store.answers()
    poison = "demo-2026-10-cal2-u-ev3"
    # a real database failure half-way through the writes: a trigger rejects one answer row
    with _engine(store).begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(sa.text(
                "CREATE TRIGGER reject BEFORE UPDATE ON answers WHEN NEW.evaluation_id = "
                f"'{poison}' BEGIN SELECT RAISE(ABORT, 'rejected by test trigger'); END"))
        else:
            conn.execute(sa.text(
                "CREATE FUNCTION reject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'rejected by test trigger'; END $$"))
            conn.execute(sa.text(
                "CREATE TRIGGER reject BEFORE UPDATE ON answers FOR EACH ROW WHEN "
                f"(NEW.evaluation_id = '{poison}') EXECUTE FUNCTION reject()"))
    scores, answers = month_frames(seed=1)  # every score and many answers change
    scores = pd.concat([scores, month_frames(month="2026-10", prefix="new-")[0]])
    answers = pd.concat([answers, month_frames(month="2026-10", prefix="new-")[1]])
    with pytest.raises(StoreError, match="rolled back, nothing changed"):
        store.upsert_month("demo", "2026-10", scores, answers, users=[{"id": "u-new"}])
    pd.testing.assert_frame_equal(store.scores(), before_s)
    pd.testing.assert_frame_equal(store.answers(), before_a)
    assert "u-new" not in set(store.users()["user_id"])


@pytest.mark.parametrize("change, message", [
    (lambda s, a: (s.assign(month="2026-09"), a), r"month '2026-09', not '2026-10'"),
    (lambda s, a: (s.assign(status="finished"), a), r"upper-case"),
    (lambda s, a: (s.assign(role="judge"), a), r"role\(s\) \['judge'\]"),
    (lambda s, a: (pd.concat([s, s.head(1)]), a), r"more than once"),
    (lambda s, a: (s.iloc[1:], a), r"not in scores"),
    (lambda s, a: (s.drop(columns="status"), a), r"lacks the column\(s\) 'status'"),
    (lambda s, a: (s, pd.concat([a, a.head(1)])), r"more than once"),
])
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # checked before any SQL
def test_bad_frames_are_refused_with_a_sentence_before_any_write(store, change, message):
    scores, answers = change(*month_frames())
    with pytest.raises(ValueError, match=message):
        store.upsert_month("demo", "2026-10", scores, answers)
    assert store.teams() == []


def test_bad_arguments_are_refused(store):
    scores, answers = month_frames()
    with pytest.raises(ValueError, match="YYYY-MM"):
        store.upsert_month("demo", "2026-13", scores, answers)
    with pytest.raises(ValueError, match="source must be"):
        store.upsert_month("demo", "2026-10", scores, answers, source="csv")
    with pytest.raises(ValueError, match="unknown key"):
        store.upsert_month("demo", "2026-10", scores, answers,
                           calibrations=[{"calibration_id": "x", "deadlin": "2026-11-01"}])


def test_a_calibration_belongs_to_one_team_and_month(store):
    _upsert(store)
    scores, answers = month_frames("north", "2026-10")
    scores["calibration_id"] = scores["calibration_id"].str.replace("north", "demo")
    answers["calibration_id"] = answers["calibration_id"].str.replace("north", "demo")
    with pytest.raises(ValueError, match="belongs to one team"):
        store.upsert_month("north", "2026-10", scores, answers)


def test_forms_are_stored_with_questions_options_and_versions(store):
    _upsert(store)
    v3 = form_json("form-v3", question_text="Greeted the customer by name?")
    result = store.upsert_month("demo", "2026-10", *month_frames(), forms=[form_json(), v3])
    assert result.by_table["forms"] == {"inserted": 1, "updated": 0, "unchanged": 1,
                                        "deleted": 0}
    forms = store.forms()
    assert forms["form_id"].tolist() == [FORM_ID, "form-v3"]
    assert set(forms["form_context_id"]) == {"form-ctx"} and forms["n_questions"].tolist() == [3, 3]
    questions = store.form_questions("form-v3")
    assert questions["question_id"].tolist() == ["q-greet", "q-verify", "q-scale"]
    assert questions["max_points"].tolist() == [1.0, 1.0, 5.0]
    assert questions["is_kill"].tolist() == [False, True, False]
    assert questions["question_text"].iloc[0] == "Greeted the customer by name?"
    options = store.answer_options("form-v3")
    assert options[options["question_id"] == "q-scale"]["value"].tolist() == [1, 2, 3, 4, 5]


def test_users_update_in_place(store):
    _upsert(store)
    people = users_json()
    people[1] = {**people[1], "name": "Renamed"}
    result = store.upsert_month("demo", "2026-10", *month_frames(), users=people)
    assert result.by_table["users"]["updated"] == 1
    assert "Renamed" in set(store.users()["name"])


def test_the_password_never_shows(postgres_url):
    with_secret = postgres_url.replace("postgres@", "postgres:s3cr3t-pw@", 1)
    with Store(with_secret) as s:  # the test server trusts loopback, so any password works
        assert "s3cr3t-pw" not in repr(s) and "s3cr3t-pw" not in s.url_for_display
        assert "***" in s.url_for_display
    unreachable = "postgresql+psycopg://u:s3cr3t-pw@127.0.0.1:1/none?connect_timeout=2"
    with pytest.raises(StoreError) as info:
        Store(unreachable)
    assert "s3cr3t-pw" not in str(info.value) and "Could not open the store" in str(info.value)


def test_the_default_url_comes_from_the_environment(monkeypatch, tmp_path):
    target = tmp_path / "sub" / "env.sqlite"
    monkeypatch.setenv("CALIB_STORE_URL", f"sqlite:///{target}")
    with Store() as s:
        assert s.url_for_display.endswith("env.sqlite") and target.exists()
    monkeypatch.delenv("CALIB_STORE_URL")
    from calib.store.engine import default_url

    assert default_url().endswith("/outputs/calib.sqlite")


def test_unsupported_urls_are_refused():
    with pytest.raises(StoreError, match="SQLite and PostgreSQL"):
        Store("mysql://x@localhost/db")
    with pytest.raises(StoreError, match="could not be parsed"):
        Store("not a url")


def test_nan_and_missing_values_stay_missing(store):
    scores, answers = month_frames()
    scores.loc[0, "critical_score"] = np.nan
    scores.loc[0, "form_context_id"] = None
    store.upsert_month("demo", "2026-10", scores, answers)
    again = store.upsert_month("demo", "2026-10", scores, answers)
    assert not again.changed, "NaN must compare equal to the stored NULL"
    got = store.scores().set_index("evaluation_id")
    assert np.isnan(got.loc[scores.loc[0, "evaluation_id"], "critical_score"])



def test_an_in_memory_sqlite_store_works_for_a_quick_look():
    with Store("sqlite://") as s:
        s.upsert_month("demo", "2026-10", *month_frames(n_calibrations=1))
        assert len(s.scores()) == 4


def test_answers_come_back_in_form_order(store):
    _upsert(store)
    got = store.answers("demo", "2026-10")
    first = got[got["evaluation_id"] == got["evaluation_id"].iloc[0]]
    assert first["question_id"].tolist() == ["q-greet", "q-verify", "q-scale"]
    assert got["role"].iloc[0] == "expert"
