"""Pure parts of candidate selection: profiles, query bodies, the streaming reducer and the pick.

These run without a server; tests/test_selection.py runs selection against the sandbox.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from calib.selection import (chunk_interval, conversation_filters, details_query, load_profiles,
                             parse_instant, profile_rules, recording_available, segment_filters,
                             stratified_pick)
from calib.selection.reducer import CandidateReducer, GrayPriors, Rules, band_of, tiebreak

UTC = timezone.utc


def conversation(cid, agent, *, start="2026-10-05T10:00:00.000Z", talk=300_000, hold=0,
                 queue="q-sales", wrap="wu-payment", recording=True, media="voice",
                 transfers=0, evaluations=(), second_agent=None, customer="cust-1"):
    """A conversation-details record shaped like AnalyticsConversation."""
    def agent_part(uid, talk_ms):
        return {"purpose": "agent", "userId": uid, "sessions": [{
            "mediaType": media, "recording": recording,
            "metrics": [{"name": "tTalkComplete", "value": talk_ms},
                        {"name": "tHeldComplete", "value": hold},
                        {"name": "tHandle", "value": talk_ms + hold + 30_000},
                        {"name": "nTransferred", "value": transfers}],
            "segments": [{"segmentType": "interact", "queueId": queue},
                         {"segmentType": "wrapup", "wrapUpCode": wrap}]}]}
    parts = [{"purpose": "customer", "participantName": customer,
              "sessions": [{"mediaType": media, "recording": recording, "metrics": [], "segments": []}]},
             agent_part(agent, talk)]
    if second_agent:
        parts.append(agent_part(second_agent, 60_000))
    return {"conversationId": cid, "conversationStart": start, "participants": parts,
            "evaluations": list(evaluations)}


def test_builtin_profiles_exist_and_convert():
    profiles = load_profiles()
    for name in ("general", "empathy_handling", "escalation_process", "compliance_phrases"):
        rules = profile_rules(profiles[name], name=name)
        assert rules.min_talk_ms >= 180_000, f"{name} must keep the 3-minute talk floor"
    assert profile_rules(profiles["escalation_process"]).transferred is True


def test_team_profile_extends_a_builtin_and_typos_are_refused(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text("billing_only:\n  extends: general\n  filters:\n    queues: [billing]\n")
    rules = profile_rules(load_profiles(path)["billing_only"])
    assert rules.queues == ("billing",) and rules.min_talk_ms == 180_000
    with pytest.raises(ValueError, match="unknown key"):
        profile_rules({"filters": {"min_talk_secs": 60}}, name="typo")
    with pytest.raises(ValueError, match="does not exist"):
        load_profiles({"x": {"extends": "nope"}})


def test_talk_time_goes_to_conversation_filters_in_milliseconds():
    rules = profile_rules(load_profiles()["escalation_process"])
    conv = conversation_filters(rules)
    preds = {p["metric"]: p["range"] for p in conv[0]["predicates"]}
    assert preds["tTalkComplete"] == {"gte": 180_000}
    assert preds["nTransferred"] == {"gte": 1}
    seg = segment_filters(rules)[0]["predicates"]
    assert all(p["type"] == "dimension" for p in seg), "segment filters accept no metric but tSegmentDuration"
    assert {"dimension": "recording", "value": "true"}.items() <= next(
        p for p in seg if p["dimension"] == "recording").items()


def test_details_query_refuses_more_than_seven_days_and_big_pages():
    rules = Rules()
    t0 = datetime(2026, 10, 1, tzinfo=UTC)
    body = details_query(t0, t0 + timedelta(days=7), rules)
    assert body["interval"] == "2026-10-01T00:00:00.000Z/2026-10-08T00:00:00.000Z"
    assert body["paging"] == {"pageSize": 100, "pageNumber": 1}
    with pytest.raises(ValueError, match="7 days"):
        details_query(t0, t0 + timedelta(days=8), rules)
    with pytest.raises(ValueError, match="1–100"):
        details_query(t0, t0 + timedelta(days=1), rules, page_size=200)


def test_chunks_cover_the_range_without_gaps_or_overlap():
    t0 = parse_instant("2026-09-28")
    t1 = parse_instant("2026-11-09T09:00:00Z")
    chunks = chunk_interval(t0, t1)
    assert chunks[0][0] == t0 and chunks[-1][1] == t1
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
    assert all(hi - lo <= timedelta(days=7) for lo, hi in chunks)
    with pytest.raises(ValueError, match="not after"):
        chunk_interval(t1, t0)


def test_recording_available_needs_playable_audio():
    assert recording_available([{"media": "audio", "fileState": "AVAILABLE"}])
    assert recording_available([{"media": "audio", "fileState": "ARCHIVED"}])
    assert not recording_available([{"media": "audio", "fileState": "DELETED"}])
    assert not recording_available([{"media": "screen", "fileState": "AVAILABLE"}])
    assert not recording_available([])


def test_bands():
    assert band_of(0, Rules().bands) == "short"
    assert band_of(300_000, Rules().bands) == "medium"
    assert band_of(10**9, Rules().bands) == "extended"


def test_reducer_counts_every_exclusion_once():
    panel = {"ev-1", "ev-2"}
    convs = [
        conversation("c-ok", "a1"),
        conversation("c-late", "a1", start="2026-10-09T00:00:00.000Z"),
        conversation("c-chat", "a1", media="chat"),
        conversation("c-norec", "a1", recording=False),
        conversation("c-short", "a1", talk=100_000),
        conversation("c-cal", "a2", evaluations=[{"calibrationId": "cal-9", "evaluatorId": "x"}]),
        conversation("c-known", "a2"),
        conversation("c-ev", "a2", evaluations=[{"evaluatorId": "ev-2"}]),
        conversation("c-listed", "a2"),
        conversation("c-own", "ev-1"),
    ]
    red = CandidateReducer(Rules(), GrayPriors(), seed=1, keep_per_stratum=5, panel_ids=panel,
                           calibrated_ids={"c-known"}, evaluated_ids={"c-listed"})
    red.set_window("2026-10-01T00:00:00", "2026-10-08T00:00:00")
    red.add_all(convs)
    assert red.removed == {"outside_range": 1, "media_or_recording": 2, "talk_time": 1,
                           "focus_rules": 0, "no_agent": 0, "already_calibrated": 2,
                           "evaluated_by_panel": 2, "handled_by_panel": 1}
    assert [r.conversation_id for _, r in red.records()] == ["c-ok"]


def test_reducer_memory_is_bounded_per_stratum_and_keeps_the_best():
    red = CandidateReducer(Rules(w_random=1.0), GrayPriors(), seed=3, keep_per_stratum=2)
    for i in range(500):
        red.add(conversation(f"c{i}", f"a{i % 4}"))
    assert red.n_passed == 500 and red.n_retained == 4 * 2
    best = sorted((tiebreak(3, f"c{i}"), f"c{i}") for i in range(500) if i % 4 == 0)[-2:]
    kept = {r.conversation_id for _, r in red.records() if r.agent_id == "a0"}
    assert kept == {cid for _, cid in best}


def test_reducer_result_does_not_depend_on_stream_order():
    convs = [conversation(f"c{i}", f"a{i % 7}", talk=200_000 + 1000 * i, queue=f"q{i % 3}")
             for i in range(300)]
    results = []
    for order_seed in (1, 2):
        shuffled = convs[:]
        random.Random(order_seed).shuffle(shuffled)
        red = CandidateReducer(Rules(), GrayPriors(), seed=11, keep_per_stratum=3)
        red.add_all(shuffled)
        results.append([r.conversation_id for _, r in red.records()])
    assert results[0] == results[1]


def test_focus_rules_filter_transfers_and_wrap_up_codes():
    rules = Rules(transferred=True, wrap_up_codes=("escal",))
    red = CandidateReducer(rules, GrayPriors(), seed=0, keep_per_stratum=5)
    red.add_all([conversation("t1", "a1", transfers=1, wrap="wu-escalation"),
                 conversation("t2", "a1", second_agent="a9", wrap="wu-escalation"),
                 conversation("n1", "a1", wrap="wu-escalation"),
                 conversation("t3", "a1", transfers=1, wrap="wu-payment")])
    assert sorted(r.conversation_id for _, r in red.records()) == ["t1", "t2"]
    assert red.removed["focus_rules"] == 2


def test_gray_priors_rank_mid_range_and_disputed_agents_above_clear_ones():
    rows = []
    for cal in range(6):
        for ev, delta in (("e1", 0), ("e2", 12), ("e3", -10)):
            rows.append({"calibration_id": f"g{cal}", "agent_id": "gray", "total_score": 72 + delta,
                         "status": "FINISHED"})
            rows.append({"calibration_id": f"c{cal}", "agent_id": "clear", "total_score": 97 + delta / 10,
                         "status": "FINISHED"})
    priors = GrayPriors.from_history(pd.DataFrame(rows))
    assert priors.of("gray", None) > 0.8 > 0.2 > priors.of("clear", None)
    assert priors.of("unknown", None) == 0.5
    assert "calibration range" in priors.detail["gray"]


def test_pick_spreads_agents_then_bands_and_reports_rejections():
    red = CandidateReducer(Rules(w_random=1.0), GrayPriors(agents={"a0": 1.0}), seed=5,
                           keep_per_stratum=6)
    for i in range(60):
        red.add(conversation(f"c{i}", f"a{i % 3}", talk=200_000 + (i % 4) * 300_000))
    ranked = red.records()
    rejected_id = ranked[0][1].conversation_id
    picked, rejected = stratified_pick(ranked, 6, confirm=lambda r: r.conversation_id != rejected_id)
    agents = [r.agent_id for r, _ in picked]
    assert len(picked) == 6 and sorted(set(agents)) == ["a0", "a1", "a2"]
    assert all(agents.count(a) == 2 for a in set(agents)), agents
    assert len({r.handle_band for r, _ in picked}) >= 3, "bands should spread within agents"
    assert [r.conversation_id for r in rejected] == [rejected_id]
    assert rejected_id not in {r.conversation_id for r, _ in picked}
