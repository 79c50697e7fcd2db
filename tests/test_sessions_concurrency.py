"""Two creations of the same plan at once stay single (issue 11), and the reconcile after a run.

Real parts only: the sandbox HTTP server with latency, 503s and lost POST responses injected; a
SQLite file and a PostgreSQL server (the ``store_url`` fixture runs each test on both); two
threads, and two real processes. Before the store lock and the reconcile, two runs started
together each looked up a conversation, found nothing, and posted: two calibrations per
conversation, both runs exiting 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path


from calib.genesys.errors import GenesysError
from calib.sessions import SessionPlan, calibration_body, create_session
from calib.store import Store, StoreError
from tests.test_sessions import calibrations_per_conversation, make_plan, quick_sleep

ROOT = Path(__file__).resolve().parents[1]
N_CONVERSATIONS = 6


def _one_each(plan: SessionPlan) -> Counter:
    return Counter({c: 1 for c in plan.conversation_ids})


def _slow_and_faulty(sb, latency_ms: float = 40) -> None:
    # Latency keeps the two runs in step (each lookup takes long enough for the other to make
    # the same lookup); 503s and lost POST responses exercise the retry and recovery paths.
    sb.set_faults(latency_ms=latency_ms, rate_503=0.15, lose_response_rate=0.25,
                  retry_after_s=0, seed=5)


def _calm(sb) -> None:
    sb.set_faults(latency_ms=0, rate_503=0.0, lose_response_rate=0.0)


# ------------------------------------------------------------------ two creates at once

def test_two_creates_at_once_in_threads_leave_one_calibration_per_conversation(
        fresh_sandbox, store_url):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=N_CONVERSATIONS, name="demo 2026-11 threads")
    _slow_and_faulty(sb)
    start = threading.Barrier(2)
    outcomes: list = [None, None]

    def run(slot: int) -> None:
        # Each thread opens its own store, as two leads' processes would.
        with Store(store_url) as store:
            client = sb.client(sleep=quick_sleep)
            start.wait()
            try:
                outcomes[slot] = create_session(client, plan, dry_run=False, store=store,
                                                validate=False, progress=False)
            except (StoreError, GenesysError) as exc:
                outcomes[slot] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    _calm(sb)
    counts = calibrations_per_conversation(sb.client(), plan)
    assert counts == _one_each(plan), f"two creates at once made {sum(counts.values())} " \
                                      f"calibrations for {len(plan.conversations)} conversations"
    results = [o for o in outcomes if not isinstance(o, Exception)]
    refusals = [o for o in outcomes if isinstance(o, Exception)]
    # The store lock lets exactly one run act; the other is told who holds it and stops
    # before touching the org, so the reconcile had nothing to clean up.
    assert len(results) == 1 and len(refusals) == 1, outcomes
    assert results[0].created == N_CONVERSATIONS and results[0].duplicates.empty
    message = str(refusals[0])
    assert type(refusals[0]).__name__ == "LockBusy"
    assert f"process {os.getpid()}" in message and plan.name in message


_CREATOR = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from calib.genesys import GenesysClient
    from calib.sessions import SessionPlan, create_session
    from calib.store import Store, StoreError

    plan_path, url, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    plan = SessionPlan.from_yaml(plan_path)
    store = Store(url)
    client = GenesysClient.from_env(sleep=lambda s: time.sleep(min(s, 0.01)))
    print("ready", flush=True)
    while not go.exists():           # start both runs at the same moment
        time.sleep(0.002)
    try:
        result = create_session(client, plan, dry_run=False, store=store, validate=False,
                                progress=False)
    except StoreError as exc:
        print("refused", exc, flush=True)
        sys.exit(3)
    print("created", result.created, "existing", result.existing, flush=True)
""")


def _sandbox_env(sb) -> dict[str, str]:
    return {**os.environ, "GENESYSCLOUD_API_REGION": sb.base_url,
            "GENESYSCLOUD_OAUTHCLIENT_ID": sb.client_id,
            "GENESYSCLOUD_OAUTHCLIENT_SECRET": sb.client_secret}


def test_two_creates_at_once_in_two_processes_leave_one_calibration_per_conversation(
        fresh_sandbox, store_url, tmp_path):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=N_CONVERSATIONS, name="demo 2026-11 processes")
    path = plan.to_yaml(tmp_path / "plan.yaml")
    go = tmp_path / "go"
    runs = [subprocess.Popen([sys.executable, "-c", _CREATOR, str(path), store_url, str(go)],
                             cwd=ROOT, env=_sandbox_env(sb), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for run in runs:  # both have imported, opened the store and built a client
        line = run.stdout.readline()
        assert line.strip() == "ready", (line, run.stderr.read() if run.poll() is not None
                                         else "")
    _slow_and_faulty(sb, latency_ms=80)  # a wide window: processes start less in step
    go.touch()
    outcomes = [(run.wait(timeout=120), run.stdout.read(), run.stderr.read()) for run in runs]
    _calm(sb)
    counts = calibrations_per_conversation(sb.client(), plan)
    assert counts == _one_each(plan), (counts, outcomes)
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 3], outcomes
    refused = next(out for code, out, _ in outcomes if code == 3)
    winner = next(out for code, out, _ in outcomes if code == 0)
    assert winner.split()[:2] == ["created", str(N_CONVERSATIONS)], outcomes
    pid = next(run.pid for run, (code, _, _) in zip(runs, outcomes) if code == 0)
    assert f"process {pid}" in refused and plan.name in refused, refused


def test_a_second_create_that_waits_for_the_lock_finds_everything_created(
        fresh_sandbox, store_url):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=4, name="demo 2026-11 waiting")
    sb.set_faults(latency_ms=30)
    start = threading.Barrier(2)
    outcomes: list = [None, None]

    def run(slot: int) -> None:
        with Store(store_url) as store:
            client = sb.client(sleep=quick_sleep)
            start.wait()
            if slot == 1:
                time.sleep(0.1)  # let the first run take the lock
            outcomes[slot] = create_session(client, plan, dry_run=False, store=store,
                                            validate=False, progress=False, lock_wait=60)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    _calm(sb)
    assert calibrations_per_conversation(sb.client(), plan) == _one_each(plan)
    first, second = outcomes
    assert (first.created, first.existing) == (4, 0)
    assert (second.created, second.existing) == (0, 4)
    assert list(second.planned["calibration_id"]) == list(first.planned["calibration_id"])


# ------------------------------------------------------------------ the reconcile

def _post_behind_calibs_back(sb, plan: SessionPlan, index: int) -> str:
    """A second calibration of the plan's ``index``-th conversation, posted directly."""
    sb.advance_clock(days=0.01)  # later than calib's own (the sandbox clock is frozen otherwise)
    body = calibration_body(plan, index, plan.conversations[index - 1])
    return sb.client().create_calibration(body)["id"]


def test_the_reconcile_removes_a_duplicate_made_behind_calibs_back_and_keeps_the_oldest(
        fresh_sandbox, tmp_path):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=3, name="demo 2026-11 reconcile")
    client = sb.client()
    store = Store(f"sqlite:///{tmp_path / 'calib.sqlite'}")
    first = create_session(client, plan, dry_run=False, store=store, validate=False,
                           progress=False)
    original = first.planned["calibration_id"].iloc[1]
    duplicate = _post_behind_calibs_back(sb, plan, 2)
    assert calibrations_per_conversation(client, plan)[plan.conversation_ids[1]] == 2

    again = create_session(client, plan, dry_run=False, store=store, validate=False,
                           progress=False)
    assert calibrations_per_conversation(client, plan) == _one_each(plan)
    survivors = [c["id"] for c in client.iter_calibrations(
        plan.calibrator_id, conversation_id=plan.conversation_ids[1])]
    assert survivors == [original], "the reconcile must keep the oldest calibration"
    assert (again.created, again.existing) == (0, 3)
    row = again.duplicates.iloc[0]
    assert len(again.duplicates) == 1
    assert (row["calibration_id"], row["kept_calibration_id"], row["action"]) == \
        (duplicate, original, "removed")
    assert again.removed_duplicates == (duplicate,)
    assert again.planned["calibration_id"].iloc[1] == original
    note = again.duplicates_note
    assert note.startswith("Removed 1 duplicate calibration") and duplicate in note
    assert original in note and note.endswith(".")


def test_a_dry_run_names_the_duplicate_it_would_remove_and_removes_nothing(fresh_sandbox):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=3, name="demo 2026-11 dry reconcile")
    client = sb.client()
    first = create_session(client, plan, dry_run=False, validate=False, progress=False)
    duplicate = _post_behind_calibs_back(sb, plan, 1)
    dry = create_session(client, plan, dry_run=True, validate=False, progress=False)
    assert calibrations_per_conversation(client, plan)[plan.conversation_ids[0]] == 2
    assert list(dry.duplicates["action"]) == ["would remove"]
    assert dry.duplicates["calibration_id"].iloc[0] == duplicate
    assert dry.duplicates["kept_calibration_id"].iloc[0] == first.planned["calibration_id"].iloc[0]
    assert dry.removed_duplicates == ()
    assert "would remove" in dry.duplicates_note and duplicate in dry.duplicates_note


def test_the_reconcile_never_deletes_a_duplicate_with_a_finished_evaluation(fresh_sandbox):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=3, name="demo 2026-11 evaluated")
    client = sb.client()
    create_session(client, plan, dry_run=False, validate=False, progress=False)
    duplicate = _post_behind_calibs_back(sb, plan, 2)
    sb.advance_clock(days=8)  # the simulated panel finishes most evaluations by then
    statuses = [e["status"] for e in client.get_calibration(
        duplicate, calibrator_id=plan.calibrator_id)["evaluations"]]
    assert "FINISHED" in statuses, f"precondition: the duplicate has a finished evaluation " \
                                   f"({statuses})"
    again = create_session(client, plan, dry_run=False, validate=False, progress=False)
    assert calibrations_per_conversation(client, plan)[plan.conversation_ids[1]] == 2
    assert list(again.duplicates["action"]) == ["kept: evaluated"]
    assert again.removed_duplicates == ()
    note = again.duplicates_note
    assert duplicate in note and "already started or finished" in note


def test_reconciles_running_at_once_never_remove_every_copy(fresh_sandbox):
    """Without a shared lock (two stores, or none), two reconciles must agree on the survivor:
    the oldest, with ties on the creation instant broken by id, never 'each keeps its own'."""
    from calib.sessions import reconcile_duplicates

    sb = fresh_sandbox()
    plan = make_plan(sb, n=3, name="demo 2026-11 racing reconciles")
    client = sb.client()
    for _ in range(3):  # three copies of each, all at the same sandbox instant
        for index, conv in enumerate(plan.conversations, 1):
            client.create_calibration(calibration_body(plan, index, conv))
    assert set(calibrations_per_conversation(client, plan).values()) == {3}
    instants = {c["createdDate"] for c in client.iter_calibrations(plan.calibrator_id)
                if c["conversation"]["id"] in plan.conversation_ids}
    assert len(instants) == 1, "precondition: the copies tie on their creation instant"
    copies = {cid: [c["id"] for c in client.iter_calibrations(plan.calibrator_id,
                                                               conversation_id=cid)]
              for cid in plan.conversation_ids}
    oldest = {cid: min(ids) for cid, ids in copies.items()}  # one instant: the lowest id wins
    sb.set_faults(latency_ms=20)
    start = threading.Barrier(2)
    frames: list = [None, None]

    def run(slot: int) -> None:
        start.wait()
        frames[slot] = reconcile_duplicates(sb.client(), plan)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    _calm(sb)
    assert calibrations_per_conversation(client, plan) == _one_each(plan)
    for cid in plan.conversation_ids:
        left = [c["id"] for c in client.iter_calibrations(plan.calibrator_id, conversation_id=cid)]
        assert left == [oldest[cid]]
    removed = {r.calibration_id for f in frames for r in f.itertuples() if r.action == "removed"}
    assert removed == {c for cid, ids in copies.items() for c in ids if c != oldest[cid]}


def test_a_calibration_of_another_plan_for_the_same_conversation_is_left_alone(fresh_sandbox):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=3, name="demo 2026-11 mine")
    client = sb.client()
    create_session(client, plan, dry_run=False, validate=False, progress=False)
    sb.advance_clock(days=0.01)
    other = {**calibration_body(plan, 1, plan.conversations[0]), "name": "hand-made check"}
    foreign = client.create_calibration(other)["id"]
    again = create_session(client, plan, dry_run=False, validate=False, progress=False)
    assert again.duplicates.empty and again.duplicates_note == ""
    ids = [c["id"] for c in client.iter_calibrations(plan.calibrator_id,
                                                     conversation_id=plan.conversation_ids[0])]
    assert foreign in ids and len(ids) == 2
