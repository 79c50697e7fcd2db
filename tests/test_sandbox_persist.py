"""One demo org across processes: a state folder holds the seed and the journal of changes.

Every test here uses real, separate Python processes (``tests/sandbox_child.py`` or the
``calib`` command) on a temporary state folder, never the project's ``outputs/sandbox/``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from calib.sandbox.history import START_CLOCK
from calib.sandbox.ids import parse_iso
from tests import sandbox_child

ROOT = Path(__file__).resolve().parents[1]


def child(state_dir: Path, *args: object, timeout: float = 120) -> object:
    """Run ``tests/sandbox_child.py`` in a new process; its JSON answer."""
    proc = subprocess.run([sys.executable, "-m", "tests.sandbox_child", str(state_dir),
                           *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"child {args} failed:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def calib_cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calib.cli", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_a_calibration_posted_in_one_process_is_listed_by_the_next(tmp_path):
    posted = child(tmp_path, "steps", 0, 2)
    listed = child(tmp_path, "listed")
    assert sorted(listed["ids"]) == sorted(posted), \
        "the next process must list what the first one posted"
    # and the one after that still does, having posted one more itself
    more = child(tmp_path, "steps", 3, 4)
    assert sorted(child(tmp_path, "listed")["ids"]) == sorted(posted + more)


def test_the_clock_advanced_by_one_process_is_seen_by_the_next(tmp_path):
    moved = calib_cli("sandbox", "advance", "--days", "3", "--state-dir", tmp_path)
    assert moved.returncode == 0, moved.stderr
    assert "moved 3 days, from Mon 9 Nov 2026 09:00 UTC to Thu 12 Nov 2026 09:00 UTC" in \
        moved.stdout
    shown = calib_cli("sandbox", "clock", "--state-dir", tmp_path)
    assert shown.stdout.startswith("Thu 12 Nov 2026 09:00 UTC"), shown.stdout
    # a library process reads the same clock through the API
    assert parse_iso(child(tmp_path, "listed")["now"]) == START_CLOCK + timedelta(days=3)


def test_advance_says_how_many_evaluations_finished_as_the_org_counts_them(tmp_path):
    from calib.sandbox import generate_org

    moved = calib_cli("sandbox", "advance", "--days", "4", "--state-dir", tmp_path)
    assert moved.returncode == 0, moved.stderr
    # an independent count on a fresh org: statuses before and after, on every live evaluation
    org = generate_org(7)
    after = START_CLOCK + timedelta(days=4)
    live = [org.evaluations[e] for c in org.active_calibrations() if c.created <= after
            for e in c.evaluation_ids]
    newly = sum(ev.status(START_CLOCK) != "FINISHED" and ev.status(after) == "FINISHED"
                for ev in live)
    still_open = sum(ev.status(after) != "FINISHED" for ev in live)
    assert newly > 0, "the demo org's open November session should progress in 4 days"
    assert f"{newly} evaluations finished in that time" in moved.stdout, moved.stdout
    assert f"{still_open} evaluations are still open" in moved.stdout, moved.stdout


def test_replayed_from_disk_answers_byte_for_byte_as_one_process(tmp_path):
    from calib.sandbox import Sandbox

    # one process, in memory, every change
    with Sandbox(seed=7, rate_limit_per_minute=None) as sandbox:
        in_memory_results = sandbox_child.run_steps(sandbox, 0, len(sandbox_child.STEPS))
        in_memory = b"\n".join(sandbox_child.responses(sandbox))
    # the same changes spread over three processes, each replaying the previous ones from disk
    cut = [0, 3, 6, len(sandbox_child.STEPS)]
    persisted_results = []
    for first, last in zip(cut, cut[1:]):
        persisted_results += child(tmp_path, "steps", first, last)
    out = tmp_path / "responses.bin"
    child(tmp_path, "responses", out)
    assert persisted_results == in_memory_results
    assert out.read_bytes() == in_memory, "a replayed org must answer exactly as the original"


def test_serve_and_clients_in_other_processes_see_one_org(tmp_path):
    from calib.sandbox import locate, sandbox_now

    before_serve = child(tmp_path, "steps", 0, 1)  # made before the server starts
    proc = subprocess.Popen([sys.executable, "-m", "calib.cli", "sandbox", "serve", "--port",
                             "0", "--state-dir", str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        assert "listening on" in banner, proc.stderr.read() if proc.poll() is not None else banner
        server = locate(tmp_path)
        assert server is not None and server.pid == proc.pid and server.seed == 7
        assert "SECRET" not in (tmp_path / "server.json").read_text().upper()
        # this test process is a client of the server: it sees what came before the server
        api = sandbox_child.Api(server, truth=_truth())
        assert [c["id"] for c in api.api_made()] == before_serve
        through_server = api.post(api.candidates()[1])
        # `calib sandbox advance` in another process goes to the server's clock
        moved = calib_cli("sandbox", "advance", "--days", "2", "--state-dir", tmp_path)
        assert "the server at" in moved.stdout, moved.stdout + moved.stderr
        with server.client() as client:
            assert sandbox_now(client) == START_CLOCK + timedelta(days=2)
        assert server.now() == START_CLOCK + timedelta(days=2)
        shown = calib_cli("sandbox", "clock", "--state-dir", tmp_path)
        assert shown.stdout.startswith("Wed 11 Nov 2026 09:00 UTC") and "the server at" in \
            shown.stdout, shown.stdout + shown.stderr
        # a process opening the saved org directly (not via the server) sees the same org
        seen = child(tmp_path, "listed")
        assert sorted(seen["ids"]) == sorted(before_serve + [through_server])
        assert parse_iso(seen["now"]) == START_CLOCK + timedelta(days=2)
        # and what it does is seen by the server
        later = child(tmp_path, "steps", 3, 4)
        everything = sorted(before_serve + [through_server] + later)
        assert sorted(c["id"] for c in api.api_made()) == everything
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0
    assert not (tmp_path / "server.json").exists(), "serve must remove its discovery file"
    assert locate(tmp_path) is None
    # after the server: all of it is still there
    assert sorted(child(tmp_path, "listed")["ids"]) == everything


def _truth():
    from calib.sandbox import generate_org

    return generate_org(7).truth


def test_a_process_killed_in_the_middle_of_a_save_leaves_a_loadable_state(tmp_path):
    from calib.sandbox.persist import load_org

    proc = subprocess.Popen([sys.executable, "-m", "tests.sandbox_child", str(tmp_path),
                             "hang-in-save"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "saving", proc.stderr.read()
        # the new state is written to a temporary file but not yet in place
        assert list(tmp_path.glob("org.json.*.tmp")), "the child should be inside a save"
    finally:
        proc.kill()
        proc.wait(timeout=20)
    org = load_org(tmp_path, seed=7)
    assert org.now() == START_CLOCK + timedelta(days=1), "the last finished save must hold"
    # the next save clears the dead process's temporary file
    org.advance_clock(days=1)
    assert not list(tmp_path.glob("org.json.*.tmp"))
    assert load_org(tmp_path).now() == START_CLOCK + timedelta(days=2)


def test_two_processes_changing_the_org_at_once_lose_nothing(tmp_path):
    go = tmp_path / "go"
    n, days = 6, 0.25
    command = [sys.executable, "-m", "tests.sandbox_child", str(tmp_path), "post", str(n),
               str(days), str(go)]
    procs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    # both get ready (imported, org loaded, conversations found), then race from one signal
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    go.touch()
    made = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        made.append(json.loads(out.strip().splitlines()[-1]))
    assert len(set(made[0]) | set(made[1])) == 2 * n, "each post must make its own calibration"
    final = child(tmp_path, "listed")
    assert sorted(final["ids"]) == sorted(made[0] + made[1]), "no calibration may be lost"
    # every advance applied to the latest clock, none overwrote another
    assert parse_iso(final["now"]) == START_CLOCK + timedelta(days=2 * n * days)


def test_a_state_of_another_seed_is_refused_with_the_fix(tmp_path):
    from calib.sandbox import SandboxStateError
    from calib.sandbox.persist import load_org

    load_org(tmp_path, seed=7).advance_clock(days=1)
    with pytest.raises(SandboxStateError, match=r"seed 7, not seed 8.*calib sandbox reset"):
        load_org(tmp_path, seed=8)
    served = calib_cli("sandbox", "serve", "--port", "0", "--seed", "8", "--state-dir", tmp_path)
    assert served.returncode == 2
    assert "holds the demo org of seed 7, not seed 8" in served.stderr
    assert "calib sandbox reset --yes" in served.stderr
    assert "Traceback" not in served.stderr


@pytest.mark.parametrize("damage, says", [
    (lambda doc: {**doc, "version": 0}, "an older calib"),
    (lambda doc: {**doc, "version": 99}, "a newer calib"),
    (lambda doc: {**doc, "org": "0" * 16}, "another version of calib's sandbox"),
    (lambda doc: {**doc, "entries": doc["entries"] + [{"op": "delete_calibration",
                                                       "id": "no-such-id"}]},
     "cannot be replayed"),
    (lambda doc: {"something": "else"}, "is not a calib sandbox state file"),
])
def test_a_state_file_that_does_not_fit_is_refused_with_the_fix(tmp_path, damage, says):
    from calib.sandbox import SandboxStateError
    from calib.sandbox.persist import load_org

    load_org(tmp_path, seed=7).advance_clock(days=1)
    path = tmp_path / "org.json"
    path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    with pytest.raises(SandboxStateError) as err:
        load_org(tmp_path, seed=7)
    assert says in str(err.value) and str(path) in str(err.value)
    assert "calib sandbox reset" in str(err.value) or "move it away" in str(err.value)


def test_a_truncated_state_file_is_refused_with_the_fix(tmp_path):
    from calib.sandbox import SandboxStateError
    from calib.sandbox.persist import load_org

    load_org(tmp_path, seed=7).advance_clock(days=1)
    path = tmp_path / "org.json"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(SandboxStateError, match=r"is damaged.*calib sandbox reset --yes"):
        load_org(tmp_path)


def test_reset_is_a_dry_run_unless_yes(tmp_path):
    from calib.sandbox.persist import load_org

    load_org(tmp_path, seed=7).advance_clock(days=2)
    dry = calib_cli("sandbox", "reset", "--state-dir", tmp_path)
    assert dry.returncode == 0 and dry.stdout.startswith("Would delete")
    assert "Nothing was deleted" in dry.stdout
    assert load_org(tmp_path).now() == START_CLOCK + timedelta(days=2)
    done = calib_cli("sandbox", "reset", "--yes", "--state-dir", tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("Deleted"), done.stdout + done.stderr
    assert not (tmp_path / "org.json").exists()
    assert load_org(tmp_path, seed=8).now() == START_CLOCK  # any seed starts afresh


def test_a_process_holding_the_org_refuses_to_go_on_after_a_reset(tmp_path):
    from calib.sandbox import SandboxStateError
    from calib.sandbox.persist import load_org, reset_state

    org = load_org(tmp_path, seed=7)
    org.advance_clock(days=1)
    reset_state(tmp_path)
    load_org(tmp_path, seed=7).advance_clock(days=5)  # another process starts afresh
    with pytest.raises(SandboxStateError, match="was reset while this process was using it"):
        org.advance_clock(days=1)


def test_an_in_memory_sandbox_writes_nothing(tmp_path, monkeypatch):
    from calib.sandbox import Sandbox

    monkeypatch.chdir(tmp_path)
    with Sandbox(seed=7, rate_limit_per_minute=None) as sandbox:
        sandbox.advance_clock(days=1)
        assert sandbox.org.persistence is None and len(sandbox.org.journal) == 1
    assert list(tmp_path.iterdir()) == []


def test_reading_a_fresh_state_folder_writes_nothing(tmp_path):
    shown = calib_cli("sandbox", "clock", "--state-dir", tmp_path / "sandbox")
    assert shown.returncode == 0 and "nothing saved yet" in shown.stdout
    assert not (tmp_path / "sandbox").exists()


def test_a_stale_discovery_file_is_ignored(tmp_path):
    from calib.sandbox import locate
    from calib.sandbox.discovery import SERVER_FILE

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    doc = {"format": "calib-sandbox-server", "version": 1, "base_url": "http://127.0.0.1:9",
           "pid": int(dead), "seed": 7, "started_at": "2026-01-01T00:00:00+00:00"}
    (tmp_path / SERVER_FILE).write_text(json.dumps(doc))
    assert locate(tmp_path) is None, "a dead pid is stale"
    (tmp_path / SERVER_FILE).write_text(json.dumps({**doc, "pid": os.getpid()}))
    assert locate(tmp_path) is None, "a live pid whose URL does not answer is stale"


def test_an_unwritable_state_folder_refuses_the_change_and_changes_nothing(tmp_path):
    from calib.sandbox import SandboxStateError
    from calib.sandbox.persist import load_org

    (tmp_path / "a-file").write_text("not a folder")
    org = load_org(tmp_path / "a-file" / "sandbox", seed=7)
    with pytest.raises(SandboxStateError, match=r"Cannot save the demo org in .*a-file"):
        org.advance_clock(days=1)
    assert org.now() == START_CLOCK and org.journal == []
