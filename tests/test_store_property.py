"""Properties: after any sequence of month upserts the store holds exactly the last one; with
file imports and API syncs side by side, each source holds what its last write said."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from calib.store import Store
from calib.store.schema import build_metadata
from tests.store_dump import dump_store, shown_rows
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


# ------------------------------------------------------------------ files and API side by side

# A step: (kind, seed, calibrations, evaluators, one evaluation pending?)
STEP = st.tuples(st.sampled_from(["files", "files", "scores_only", "api", "file_over_api",
                                  "api_over_files"]),
                 st.integers(0, 50), st.integers(1, 3), st.integers(0, 2), st.booleans())


def _empty(store: Store) -> None:
    """Delete every row of every table (children first): a fresh store for each example."""
    with store._engine.begin() as conn:
        for table in reversed(build_metadata().sorted_tables):
            if table.name != "schema_version":
                conn.execute(table.delete())


def _stored_by_source(store: Store) -> dict[str, tuple[dict, dict]]:
    """{source: ({evaluation_id: (calibration_id, total_score, status)},
                 {(evaluation_id, question_id): (answer_id, points, marked_na)})}."""
    source_of = {r["calibration_id"]: r["source"] for r in shown_rows(store, "calibrations")}
    out: dict[str, tuple[dict, dict]] = {"api": ({}, {}), "files": ({}, {})}
    cal_of = {}
    for r in shown_rows(store, "evaluations"):
        cal_of[r["evaluation_id"]] = r["calibration_id"]
        out[source_of[r["calibration_id"]]][0][r["evaluation_id"]] = (
            r["calibration_id"], r["total_score"], r["status"])
    for r in shown_rows(store, "answers"):
        source = source_of[cal_of[r["evaluation_id"]]]
        out[source][1][(r["evaluation_id"], r["question_id"])] = (
            r["answer_id"], r["points"], bool(r["marked_na"]))
    return out


def _model_rows(scores: pd.DataFrame, answers: pd.DataFrame) -> tuple[dict, dict]:
    evals = {r.evaluation_id: (r.calibration_id, None if pd.isna(r.total_score)
                               else float(r.total_score), r.status)
             for r in scores.itertuples()}
    ans = {(r.evaluation_id, r.question_id): (r.answer_id, None if pd.isna(r.points)
                                              else float(r.points), bool(r.marked_na))
           for r in answers.itertuples()}
    return evals, ans


@pytest.mark.slow
@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_imports_and_syncs_leave_what_the_last_write_of_each_source_says(store_url, tmp_path):
    """Property (issue 10): any sequence of file imports (scores with answers, scores only) and
    API syncs leaves, per source, the evaluations of its last write and the answers of its last
    write that carried answers (less those of evaluations that went); a write of one source
    never changes the other's rows; a refused write changes no row of any table."""
    from calib.interchange import export_month, import_into_store

    counter = iter(range(10 ** 6))

    @settings(max_examples=12 if "sqlite" in store_url else 5, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(STEP, min_size=1, max_size=6))
    def check(steps):
        with Store(store_url) as store:
            _empty(store)
            model = {"api": ({}, {}), "files": ({}, {})}
            for kind, seed, n_cal, n_eval, pending in steps:
                folder = tmp_path / f"step{next(counter)}"
                statuses = {(0, "u-ev1"): "PENDING"} if pending and n_eval else None
                before = dump_store(store)
                if kind in ("files", "scores_only"):
                    scores, answers = month_frames(n_calibrations=n_cal, n_evaluators=n_eval,
                                                   seed=seed, prefix="f-", statuses=statuses)
                    paths = export_month(scores, answers, folder, team="demo", month="2026-10")
                    if kind == "scores_only":
                        paths, answers = paths[:1], answers.iloc[0:0]
                    import_into_store(store, paths, team="demo")
                    evals, ans = _model_rows(scores, answers)
                    if not ans:  # no answers in the files: the stored ones of kept evaluations
                        ans = {k: v for k, v in model["files"][1].items() if k[0] in evals}
                    model["files"] = (evals, ans)
                elif kind == "api":
                    scores, answers = month_frames(n_calibrations=n_cal, n_evaluators=n_eval,
                                                   seed=seed, prefix="a-", statuses=statuses)
                    store.upsert_month("demo", "2026-10", scores, answers, source="api")
                    model["api"] = _model_rows(scores, answers)
                elif kind == "file_over_api":
                    taken = sorted({c for c, _, _ in model["api"][0].values()})
                    if not taken:
                        continue
                    folder.mkdir()
                    path = folder / "taken.csv"
                    path.write_text("calibration_id,evaluator_id,total_score,month\n"
                                    f"{taken[0]},ana,80,2026-10\n", encoding="utf-8")
                    with pytest.raises(ValueError, match="synced from the Genesys API"):
                        import_into_store(store, path, team="demo", dry_run=seed % 2 == 0)
                else:  # api_over_files
                    taken = sorted({c for c, _, _ in model["files"][0].values()})
                    if not taken:
                        continue
                    scores, answers = month_frames(n_calibrations=n_cal, n_evaluators=n_eval,
                                                   seed=seed, prefix="a-")
                    theirs = month_frames(n_calibrations=1, prefix="f-")
                    with pytest.raises(ValueError, match="imported from files"):
                        store.upsert_month("demo", "2026-10", pd.concat([scores, theirs[0]]),
                                           pd.concat([answers, theirs[1]]), source="api")
                if kind in ("file_over_api", "api_over_files"):
                    assert dump_store(store) == before, f"refused {kind} changed the store"
                stored = _stored_by_source(store)
                assert stored == model, f"after {kind}"

    check()
