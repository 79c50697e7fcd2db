"""The bulk write path (issue 16) writes exactly what the straightforward upsert writes.

``tests/upsert_reference.py`` is the month upsert as it was before the bulk path: every stored
row read into Python dicts, compared field by field, written row by row. Random sequences of API
syncs and file imports — rescored, moved, pending and dropped evaluations, answers or none,
deadlines moved, ids another team, month or source holds — go through both, and after every
step the outcome (the counts per table, or the refusal) and every stored row must be the same.
The reference runs on SQLite; the bulk path on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from calib.store import Store
from calib.store.engine import write_connection
from calib.store.schema import build_metadata
from tests.store_dump import dump_store, shown_rows
from tests.test_store_helpers import Clock, form_json, month_frames, users_json
from tests.upsert_reference import reference_upsert_month

NOW = "2026-11-05T12:00:00Z"

# Few places, so that a sequence often writes the same month again (the interesting case).
PLACES = [("north", "2026-10"), ("south", "2026-10"), ("north", "2026-11")]
STEP = st.fixed_dictionaries({
    "source": st.sampled_from(["api", "files"]),
    "place": st.sampled_from(PLACES),
    # the ids are those of this place: another one than the rows' own makes ids collide
    "ids_of": st.sampled_from([None] * 6 + PLACES),
    "seed": st.integers(0, 40),
    "n_cal": st.integers(0, 3),
    "n_eval": st.integers(0, 2),
    "answers": st.sampled_from(["all", "all", "some", "none"]),
    "change": st.sampled_from([None, None, "rescore", "move", "pending", "text"]),
    "deadline": st.sampled_from([None, None, "early", "late", "assigned"]),
    "reference_data": st.booleans(),
})


def _frames(step: dict) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The scores and answers a step writes (see STEP)."""
    step["team"], step["month"] = step["place"]
    step["id_team"], step["id_month"] = step["ids_of"] or step["place"]
    rng = np.random.default_rng(step["seed"])
    statuses = {(0, "u-ev1"): "PENDING"} if step["change"] == "pending" else None
    scores, answers = month_frames(step["id_team"], step["id_month"],
                                   n_calibrations=step["n_cal"], n_evaluators=step["n_eval"],
                                   seed=step["seed"], statuses=statuses)
    own = {"team": step["team"], "month": step["month"],
           "session_id": f"{step['team']}/{step['month']}"}
    scores, answers = scores.assign(**own), answers.assign(**own)
    if step["change"] == "rescore" and len(scores):
        pick = rng.random(len(scores)) < 0.5
        scores.loc[pick & scores["total_score"].notna(), "total_score"] = 42.125
        answers.loc[rng.random(len(answers)) < 0.3, "points"] = 0.0
    elif step["change"] == "move" and scores["calibration_id"].nunique() >= 2:
        first, second = sorted(scores["calibration_id"].unique())[:2]
        moved = scores["calibration_id"] == first  # the first call's evaluations go to the 2nd
        scores.loc[moved, "calibration_id"] = second
        scores.loc[moved, "evaluator_id"] = scores.loc[moved, "evaluator_id"] + "-b"
        answers.loc[answers["calibration_id"] == first, "calibration_id"] = second
    elif step["change"] == "text":
        answers["question_text"] = answers["question_text"] + " (reworded)"
        answers.loc[rng.random(len(answers)) < 0.5, "comment"] = "see the call at 02:10"
    if step["answers"] == "some":
        answers = answers[rng.random(len(answers)) < 0.6]
    elif step["answers"] == "none":
        answers = None if step["source"] == "files" else answers.iloc[0:0]
    return scores.reset_index(drop=True), answers


def _calibrations(step: dict, scores: pd.DataFrame) -> list[dict]:
    """Calibration records of an API step: deadlines, and evaluators assigned before scoring."""
    if step["source"] != "api" or step["deadline"] is None:
        return []
    at = {"early": "2026-11-02T09:00:00Z", "late": "2026-12-20T17:00:00Z",
          "assigned": None}[step["deadline"]]
    records = []
    for cid in sorted(scores["calibration_id"].unique()):
        record = {"calibration_id": cid, "deadline": at}
        if step["deadline"] == "assigned":
            record["evaluator_ids"] = ["u-late"]
        records.append(record)
    return records


def _outcome(write) -> object:
    try:
        return write()
    except ValueError as exc:  # StoredElsewhere and the deadline rule are ValueErrors
        return (type(exc).__name__, str(exc))


def _fast(store: Store, step: dict, scores, answers, calibrations):
    if step["source"] == "files":
        return _outcome(lambda: store.import_months(
            step["team"], {step["month"]: (scores, answers)})[step["month"]])
    extra = {"forms": [form_json()], "users": users_json()} if step["reference_data"] else {}
    return _outcome(lambda: store.upsert_month(step["team"], step["month"], scores, answers,
                                               calibrations=calibrations, source="api",
                                               **extra))


def _reference(store: Store, step: dict, scores, answers, calibrations):
    extra = ({"forms": [form_json()], "users": users_json()}
             if step["reference_data"] and step["source"] == "api" else {})

    def write():
        with write_connection(store._engine) as conn, conn.begin():
            return reference_upsert_month(conn, store._tables, step["team"], step["month"],
                                          scores, answers, calibrations=calibrations,
                                          source=step["source"], now=store.now(), **extra)
    return _outcome(write)


def _contents(store: Store) -> dict:
    """Every table but the schema's own log; deadline changes without their serial id (a
    PostgreSQL sequence moves on in a rolled-back transaction, SQLite's rowid does not)."""
    dump = dump_store(store)
    dump.pop("schema_version")
    dump["deadline_changes"] = sorted((row[1:] for row in dump["deadline_changes"]), key=repr)
    return dump


def _empty(store: Store) -> None:
    with store._engine.begin() as conn:
        for table in reversed(build_metadata().sorted_tables):
            if table.name != "schema_version":
                conn.execute(table.delete())


@pytest.mark.slow
def test_the_bulk_path_writes_what_the_reference_writes(store_url, tmp_path):
    clock = Clock(NOW)
    reference_url = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    examples = 30 if store_url.startswith("sqlite") else 12

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(st.lists(STEP, min_size=1, max_size=6))
    def check(steps):
        with Store(store_url, clock=clock) as fast, Store(reference_url, clock=clock) as ref:
            _empty(fast)
            _empty(ref)
            for number, step in enumerate(steps):
                scores, answers = _frames(step)
                calibrations = _calibrations(step, scores)
                got = _fast(fast, step, scores, answers, calibrations)
                want = _reference(ref, step, scores, answers, calibrations)
                assert got == want, f"step {number}: {step}"
                assert _contents(fast) == _contents(ref), f"after step {number}: {step}"

    check()


def test_an_evaluation_moved_to_another_calibration_keeps_its_row_and_answers(store_url):
    """A corrected file (or sync) that moves evaluations to another calibration, whose old
    calibration goes, keeps every moved evaluation and its answers. (Before the bulk path the
    old calibration was deleted first, and its evaluations and answers went with it by
    cascade, while the counts said they were updated.)"""
    scores, answers = month_frames("demo", "2026-10", n_calibrations=2, n_evaluators=2)
    first, second = sorted(scores["calibration_id"].unique())
    with Store(store_url) as store:
        store.upsert_month("demo", "2026-10", scores, answers)
        moved = scores.assign(calibration_id=second)
        result = store.upsert_month("demo", "2026-10", moved,
                                    answers.assign(calibration_id=second))
        assert result.removed_calibrations == (first,)
        assert result.by_table["evaluations"] == {"inserted": 0, "updated": 3, "unchanged": 3,
                                                  "deleted": 0}
        assert result.by_table["answers"]["deleted"] == 0
        stored = store.scores("demo", include_sealed=True)
        assert sorted(stored["evaluation_id"]) == sorted(scores["evaluation_id"])
        assert set(stored["calibration_id"]) == {second}
        assert len(store.answers("demo")) == len(answers)


def test_a_month_too_large_for_one_statement_is_written_and_rewritten(tmp_path):
    """More ids than SQLite binds in one statement (32,766): the bulk path never lists ids in
    a statement, so a month of 40,000 evaluations writes, and writes again unchanged."""
    n = 40_000
    ids = [f"e{i}" for i in range(n)]
    scores = pd.DataFrame({"team": "big", "month": "2026-10", "calibration_id": [
        f"c{i // 8}" for i in range(n)], "evaluation_id": ids,
        "evaluator_id": [f"u{i % 8}" for i in range(n)],
        "role": ["expert" if i % 8 == 0 else "evaluator" for i in range(n)],
        "status": "FINISHED", "total_score": 80.0})
    answers = pd.DataFrame({"evaluation_id": ids, "question_id": "q1", "points": 1.0,
                            "max_points": 1.0})
    with Store(f"sqlite:///{tmp_path / 'big.sqlite'}") as store:
        first = store.upsert_month("big", "2026-10", scores, answers)
        assert first.by_table["answers"]["inserted"] == n
        again = store.upsert_month("big", "2026-10", scores, answers)
        assert not again.changed and again.by_table["answers"]["unchanged"] == n
        assert len(shown_rows(store, "evaluations")) == n


def test_an_evaluation_another_month_holds_is_refused_under_a_new_calibration(store_url):
    """An evaluation id stored under another month's calibration is refused even when the
    calibration that lists it now is new: updating it would move that month's row."""
    scores, answers = month_frames("demo", "2026-10", n_calibrations=1, n_evaluators=1)
    with Store(store_url) as store:
        store.upsert_month("demo", "2026-10", scores, answers)
        before = dump_store(store)
        taken = scores.iloc[[1]].assign(month="2026-11", calibration_id="new-call",
                                        role="expert")
        with pytest.raises(ValueError) as info:
            store.upsert_month("demo", "2026-11", taken, answers.iloc[0:0])
        assert dump_store(store) == before
    message = str(info.value)
    assert message.startswith("Nothing was written: evaluation 'demo-2026-10-cal0-u-ev1' "
                              "(calibration 'demo-2026-10-cal0') is already in the store under "
                              "team 'demo', 2026-10, not team 'demo', 2026-11"), message
