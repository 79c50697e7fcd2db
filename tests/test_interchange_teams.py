"""Teams are real (issue 11): two spreadsheet teams that both number their calls ``call-01``…
share one store. Ids from files are scoped by team inside the store; what the analyst reads and
exports keeps the ids exactly as they were in the team's own file. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from calib.interchange import InterchangeError, export_from_store, export_month, \
    import_into_store
from calib.store import SCHEMA_VERSION, Store, StoreError
from calib.tables import answers_frame, scores_frame
from tests.store_dump import dump_store
from tests.test_store_helpers import Clock, month_frames

MONTH = "2026-10"
TEAMS = ("north", "south")


def spreadsheet_month(team: str, seed: int, *, n_calls: int = 3) -> tuple[pd.DataFrame,
                                                                          pd.DataFrame]:
    """A finished month as a spreadsheet team writes it: ``call-01``…, evaluators by name, the
    default evaluation ids (``<call>/<evaluator>``), scores and answers drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    people = ["Dana Chen", "Quinn Calder", "Emi O'Neil"]
    scores, answers = [], []
    for c in range(1, n_calls + 1):
        call = f"call-{c:02d}"
        for i, who in enumerate(people):
            picks = rng.integers(0, 2, 3)
            scores.append({
                "team": team, "month": MONTH, "session_id": f"{team}/{MONTH}",
                "calibration_id": call, "conversation_id": f"conv-{c}", "agent_id": "agent-7",
                "calibrator_id": None, "evaluation_id": f"{call}/{who}", "evaluator_id": who,
                "evaluator_name": who, "role": "expert" if i == 0 else "evaluator",
                "status": "FINISHED", "total_score": float(100 * picks.mean()),
                "critical_score": np.nan, "any_failed_kill": False,
                "submitted_at": pd.Timestamp(f"2026-10-{10 + c}T09:30:00.250000Z"),
                "form_id": "scorecard", "form_context_id": None})
            for q, pick in enumerate(picks):
                answers.append({
                    **{k: scores[-1][k] for k in ("team", "month", "session_id",
                                                  "calibration_id", "conversation_id",
                                                  "evaluation_id", "evaluator_id", "role",
                                                  "form_id")},
                    "question_group_id": "g1", "question_group_name": "Call handling",
                    "question_id": f"q{q + 1}", "question_text": f"Criterion {q + 1}",
                    "answer_id": "yes" if pick else "no", "answer_text": "Yes" if pick else "No",
                    "points": float(pick), "max_points": 1.0, "marked_na": False,
                    "comment": f"{team} comment" if q == 0 else None})
    return scores_frame(scores), answers_frame(answers)


@pytest.fixture
def team_files(tmp_path):
    """Each team's month, and its files as calib's exporter writes them (the canonical form)."""
    out = {}
    for seed, team in enumerate(TEAMS):
        scores, answers = spreadsheet_month(team, seed)
        paths = export_month(scores, answers, tmp_path / "in" / team, team=team, month=MONTH)
        out[team] = (scores, answers, paths)
    return out


def _sorted(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def test_two_teams_with_the_same_file_ids_share_one_store(store_url, team_files, tmp_path):
    with Store(store_url) as store:
        for team, (_, _, paths) in team_files.items():
            import_into_store(store, paths, team=team)
        for team, (scores, answers, paths) in team_files.items():
            got = store.scores(team, MONTH)
            assert set(got["team"]) == {team}
            pd.testing.assert_frame_equal(_sorted(got, ["evaluation_id"]),
                                          _sorted(scores, ["evaluation_id"]))
            got_answers = store.answers(team, MONTH)
            key = ["evaluation_id", "question_id"]
            pd.testing.assert_frame_equal(_sorted(got_answers, key), _sorted(answers, key))
            assert set(store.gate(team, MONTH)["calibration_id"]) == {"call-01", "call-02",
                                                                      "call-03"}
            exported = export_from_store(store, team=team, month=MONTH,
                                         out_dir=tmp_path / "out" / team)
            for original, written in zip(paths, exported):
                assert written.read_bytes() == original.read_bytes(), written.name
        # six calibrations of three ids: each team's under its own
        assert len(store.scores(None, MONTH)) == 2 * len(team_files["north"][0])

        # importing either team again changes nothing, and never touches the other team
        before = dump_store(store)
        for team, (_, _, paths) in team_files.items():
            report = import_into_store(store, paths, team=team)
            (month,) = report.months
            assert (month.evaluations.inserted, month.evaluations.updated,
                    month.evaluations.deleted) == (0, 0, 0)
            assert (month.answers.inserted, month.answers.updated,
                    month.answers.deleted) == (0, 0, 0)
        after = dump_store(store)
        assert {k: v for k, v in after.items() if k != "file_imports"} == \
            {k: v for k, v in before.items() if k != "file_imports"}


def test_a_call_dropped_from_one_teams_file_is_removed_for_that_team_only(store_url,
                                                                           team_files, tmp_path):
    with Store(store_url) as store:
        for team, (_, _, paths) in team_files.items():
            import_into_store(store, paths, team=team)
        scores, answers, _ = team_files["south"]
        keep = scores["calibration_id"] != "call-02"
        paths = export_month(scores[keep], answers[answers["calibration_id"] != "call-02"],
                             tmp_path / "fewer", team="south", month=MONTH)
        import_into_store(store, paths, team="south")
        assert sorted(store.scores("south", MONTH)["calibration_id"].unique()) == \
            ["call-01", "call-03"]
        assert sorted(store.scores("north", MONTH)["calibration_id"].unique()) == \
            ["call-01", "call-02", "call-03"]


def test_the_smallest_spreadsheets_of_two_teams_both_import(store_url, tmp_path):
    """The issue's own case: the minimal spreadsheet of the docs, used by two teams."""
    with Store(store_url) as store:
        for team, score in (("north", "68.2"), ("south", "71.5")):
            path = tmp_path / f"{team}.csv"
            path.write_text("calibration,evaluator,score,is_expert,month\n"
                            f"call-01,Dana Chen,{score},no,{MONTH}\n"
                            f"call-01,Quinn Calder,100,yes,{MONTH}\n", encoding="utf-8")
            import_into_store(store, [path], team=team)
        for team, score in (("north", 68.2), ("south", 71.5)):
            got = store.scores(team, MONTH).set_index("evaluator_id")
            assert list(got["calibration_id"].unique()) == ["call-01"]
            assert got.loc["Dana Chen", "evaluation_id"] == "call-01/Dana Chen"
            assert got.loc["Dana Chen", "total_score"] == score


def test_a_file_id_in_another_month_of_the_same_team_is_still_refused(store_url, tmp_path):
    """Scoping is by team only: inside a team a calibration still belongs to one month."""
    with Store(store_url) as store:
        for month in (MONTH, "2026-11"):
            path = tmp_path / f"{month}.csv"
            path.write_text("calibration,evaluator,score,is_expert,month\n"
                            f"call-01,Dana Chen,68.2,no,{month}\n"
                            f"call-01,Quinn Calder,100,yes,{month}\n", encoding="utf-8")
            if month == MONTH:
                import_into_store(store, [path], team="north")
                continue
            with pytest.raises(InterchangeError) as info:
                import_into_store(store, [path], team="north")
        message = str(info.value)
        assert "calibration 'call-01'" in message and "team 'north', 2026-10" in message, message
        assert "north/" not in message, "the message speaks in the file's ids"


def test_api_ids_are_stored_as_they_are(store_url):
    with Store(store_url) as store:
        scores, answers = month_frames("demo", MONTH)
        store.upsert_month("demo", MONTH, scores, answers)
        stored = dump_store(store)["calibrations"]
    assert sorted(r[0] for r in stored) == sorted(scores["calibration_id"].unique())


def test_the_gate_reveal_and_consensus_speak_in_the_files_ids(store_url, tmp_path):
    """A files calibration is revealed, and its consensus recorded, by the id in the file."""
    clock = Clock("2026-11-20T09:00:00Z")  # after October's deadline
    with Store(store_url, clock=clock) as store:
        for team in TEAMS:
            path = tmp_path / f"{team}.csv"
            path.write_text("calibration,evaluator,score,is_expert,status,month\n"
                            f"call-01,Dana Chen,,no,PENDING,{MONTH}\n"
                            f"call-01,Quinn Calder,100,yes,FINISHED,{MONTH}\n"
                            f"call-02,Dana Chen,70,no,FINISHED,{MONTH}\n"
                            f"call-02,Quinn Calder,90,yes,FINISHED,{MONTH}\n", encoding="utf-8")
            import_into_store(store, [path], team=team)
        gate = store.gate("north", MONTH).set_index("calibration_id")
        assert bool(gate.loc["call-02", "open"]) and not bool(gate.loc["call-01", "open"])
        assert store.scores("north", MONTH).attrs["sealed"]["calibration_ids"] == ["call-01"]
        assert set(store.status("north", MONTH)["calibration_id"]) == {"call-01", "call-02"}

        assert store.reveal("north", MONTH, by="Ana", reason="Dana on leave",
                            calibration_ids=["call-01"]) == 1
        assert list(store.reveals("north")["calibration_id"]) == ["call-01"]
        assert bool(store.gate("north", MONTH).set_index("calibration_id")
                    .loc["call-01", "open"])
        assert not bool(store.gate("south", MONTH).set_index("calibration_id")
                        .loc["call-01", "open"]), "revealing north's call-01 opens only north's"

        with pytest.raises(StoreError, match="north.*south|south.*north"):
            store.record_consensus("call-02", "q1", "yes", by="panel", at="2026-11-21")
        store.record_consensus("call-02", "q1", "yes", by="panel", at="2026-11-21",
                               team="south")
        assert store.consensus("north").empty
        agreed = store.consensus("south")
        assert list(agreed["calibration_id"]) == ["call-02"]


def _as_written_before_the_scoping(store: Store, team: str, scores, answers, *,
                                   version: int = 3) -> None:
    """Store a month the way calib before the scoping (schema version 4) stored files: ids as
    in the file; ``version`` 1 also lacks the tables later versions added.

    (Upserted as an API month, whose ids are stored as they are, then marked as from files.)
    """
    import sqlalchemy as sa

    store.upsert_month(team, MONTH, scores, answers)
    cal, versions = store._tables["calibrations"], store._tables["schema_version"]
    with store._engine.begin() as conn:
        conn.execute(cal.update().where(cal.c.team == team).values(source="files"))
        conn.execute(versions.delete())
        conn.execute(versions.insert().values(
            version=version, applied_at=pd.Timestamp("2026-01-01").to_pydatetime()))
        if version < 2:
            conn.execute(sa.text("DROP TABLE deadline_changes"))
        if version < 3:
            conn.execute(sa.text("DROP TABLE locks"))


def test_a_store_from_before_the_scoping_is_migrated_and_reimports_unchanged(store_url,
                                                                            team_files):
    scores, answers, paths = team_files["north"]
    # the clash case: a file id that already reads "<team>/<id of the same team>"
    odd = scores[scores["calibration_id"] == "call-03"].assign(calibration_id="north/call-01")
    odd["evaluation_id"] = "north/call-01/" + odd["evaluator_id"]
    with Store(store_url) as store:
        _as_written_before_the_scoping(store, "north", pd.concat([scores, odd]), answers)
        with store._engine.begin() as conn:  # history that refers to the old ids
            conn.execute(store._tables["consensus_answers"].insert().values(
                calibration_id="call-02", question_id="q1", answer_id="yes", marked_na=False,
                agreed_by="panel", agreed_at=pd.Timestamp("2026-11-02").to_pydatetime()))
            conn.execute(store._tables["reveals"].insert().values(
                team="north", month=MONTH, calibration_id="north/call-01", revealed_by="Ana",
                reason="test", revealed_at=pd.Timestamp("2026-11-02").to_pydatetime()))
        old = dump_store(store)
    with Store(store_url) as store:  # opening migrates
        assert store.schema_version == SCHEMA_VERSION
        stored = sorted(r[0] for r in dump_store(store)["calibrations"])
        assert stored == ["north/call-01", "north/call-02", "north/call-03",
                          "north/north/call-01"]
        shown = store.scores("north", MONTH)
        assert sorted(shown["calibration_id"].unique()) == ["call-01", "call-02", "call-03",
                                                            "north/call-01"]
        assert len(shown) == len(old["evaluations"])
        assert list(store.consensus("north")["calibration_id"]) == ["call-02"]
        assert list(store.reveals("north")["calibration_id"]) == ["north/call-01"]
        assert len(dump_store(store)["answers"]) == len(old["answers"])
        report = import_into_store(store, paths, team="north")
        (month,) = report.months
        # the odd calibration is not in the file: removed; everything else unchanged
        assert (month.evaluations.inserted, month.evaluations.updated,
                month.evaluations.deleted) == (0, 0, len(odd))
        assert (month.answers.inserted, month.answers.updated, month.answers.deleted,
                month.answers.unchanged) == (0, 0, 0, len(answers))


def test_a_version_1_store_of_files_migrates_through_every_version(store_url, team_files):
    """Version 1 had no deadline_changes table yet: the scoping must not need it."""
    scores, answers, paths = team_files["north"]
    with Store(store_url) as store:
        _as_written_before_the_scoping(store, "north", scores, answers, version=1)
    with Store(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert sorted(r[0] for r in dump_store(store)["calibrations"]) == [
            "north/call-01", "north/call-02", "north/call-03"]
        report = import_into_store(store, paths, team="north")
        (month,) = report.months
        assert month.answers.unchanged == len(answers)
        assert month.answers.inserted == month.answers.deleted == 0


# --------------------------------------------- the files' own team column decides the team

WRONG_TEAM = {
    "tidy scores": ("team,calibration,evaluator,score,is_expert,month\n"
                    "north,call-01,Dana Chen,68.2,no,2026-10\n"
                    "north,call-01,Quinn Calder,100,yes,2026-10\n", {}),
    "wide": ("Call,Team,Expert,Dana Chen,Quinn Calder,Month\n"
             "call-01,north,Quinn Calder,68.2,100,2026-10\n", {"preset": "wide"}),
    "genesys": ("Calibration ID,Evaluator,Total Score,Is Scoring Index,Team,Month\n"
                "call-01,Dana Chen,68.2,false,north,2026-10\n"
                "call-01,Quinn Calder,100,true,north,2026-10\n", {"preset": "genesys"}),
    "mapping": ("Ticket,Reviewer,QA Score (%),Group,Month\n"
                "call-01,Dana Chen,68.2,north,2026-10\n", {"mapping": "map.yaml"}),
}


@pytest.mark.parametrize("case", sorted(WRONG_TEAM))
def test_a_team_the_files_team_column_contradicts_is_refused(case, tmp_path):
    content, options = WRONG_TEAM[case]
    path = tmp_path / f"{case.replace(' ', '_')}.csv"
    path.write_text(content, encoding="utf-8")
    if "mapping" in options:
        mapping = tmp_path / "map.yaml"
        mapping.write_text("base: tidy\ncolumns:\n  Ticket: calibration_id\n"
                           "  Reviewer: evaluator_id\n  QA Score (%): total_score\n"
                           "  Group: team\n", encoding="utf-8")
        options = {"mapping": mapping}
    with Store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        with pytest.raises(InterchangeError) as info:
            import_into_store(store, [path], team="south", **options)
        assert store.teams() == [], "nothing is imported"
        message = str(info.value)
        assert path.name in message and re.search(r"rows? 2\b", message), message
        assert "the team column says 'north'" in message and "'south'" in message, message
        assert "Fix:" in message and "--team" in message, message
        # the file's own team is accepted
        import_into_store(store, [path], team="north", **options)
        assert store.teams() == ["north"]


def test_an_answers_file_of_another_team_is_refused_beside_good_scores(tmp_path):
    scores, answers = spreadsheet_month("south", 0)
    paths = export_month(scores, answers, tmp_path, team="south", month=MONTH)
    text = paths[1].read_text(encoding="utf-8")
    paths[1].write_text(text.replace("\nsouth,", "\nnorth,"), encoding="utf-8")
    with Store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        with pytest.raises(InterchangeError, match=r"_answers\.csv, rows 2.*team column says "
                                                   r"'north'"):
            import_into_store(store, paths, team="south")
        assert store.teams() == []


def test_the_report_from_files_refuses_a_team_its_files_contradict(tmp_path):
    """The files backend of the report checks the team before any kernel starts."""
    from calib.report.data import prepare_month

    path = tmp_path / "north.csv"
    path.write_text(WRONG_TEAM["tidy scores"][0], encoding="utf-8")
    params = {"team": "south", "month": MONTH, "backend": "files", "files": [str(path)],
              "store_url": f"sqlite:///{tmp_path / 's.sqlite'}", "calibrators": []}
    with pytest.raises(InterchangeError, match="the team column says 'north' but the import is "
                                               "for team 'south'"):
        prepare_month(params)
