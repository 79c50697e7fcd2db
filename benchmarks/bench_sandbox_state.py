"""The persistent demo org: what loading and saving it costs.

1. Loading: ``load_org(state_dir)`` (read ``org.json``, ``generate_org(seed)``, replay the
   journal) for journals of 0 to a few hundred API-made calibrations, against
   ``generate_org(seed)`` alone: the difference is what persistence adds to a command.
2. Saving: a calibration POSTed over HTTP to a persisted org (lock, catch up, write a temp file,
   fsync, rename) against the same POST to an in-memory ``Sandbox``.
3. The state file's size.

Run: ``python -m benchmarks.bench_sandbox_state [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import requests


def _session(sb) -> tuple[requests.Session, list[str], dict]:
    session = requests.Session()
    token = session.post(f"{sb.base_url}/oauth/token", auth=(sb.client_id, sb.client_secret),
                         data={"grant_type": "client_credentials"}, timeout=30).json()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    body = {"interval": "2026-11-02T00:00:00Z/2026-11-09T00:00:00Z",
            "paging": {"pageSize": 100, "pageNumber": 1}}
    convs = session.post(f"{sb.base_url}/api/v2/analytics/conversations/details/query",
                         json=body, timeout=60).json()["conversations"]
    return session, [c["conversationId"] for c in convs], sb.truth.teams["demo"]


def _post_ms(sb, n: int) -> list[float]:
    """Milliseconds of each of ``n`` calibration POSTs (a clock move every tenth)."""
    session, convs, team = _session(sb)
    times = []
    for k in range(n):
        body = {"name": f"bench {k}", "conversation": {"id": convs[k % len(convs)]},
                "calibrator": {"id": team["calibrator_id"]},
                "expertEvaluator": {"id": team["expert_id"]},
                "evaluators": [{"id": e} for e in team["panel_ids"]]}
        started = time.perf_counter()
        r = session.post(f"{sb.base_url}/api/v2/quality/calibrations", json=body, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
        if k % 10 == 9:
            session.post(f"{sb.base_url}/api/v2/sandbox/clock", json={"advanceDays": 0.5},
                         timeout=30).raise_for_status()
    return times


def main(argv: list[str] | None = None) -> int:
    from calib.sandbox import Sandbox, generate_org, open_persistent
    from calib.sandbox.persist import load_org

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    args = parser.parse_args(argv)
    sizes = (0, 12, 48) if args.quick else (0, 12, 48, 200)
    repeats = 3 if args.quick else 10

    generate_org(7)  # warm imports and caches once
    base = [time.perf_counter()]
    for _ in range(repeats):
        generate_org(7)
        base.append(time.perf_counter())
    generate_s = statistics.median(b - a for a, b in zip(base, base[1:]))
    print(f"generate_org(7) alone: {generate_s * 1000:.1f} ms (median of {repeats})")

    # on the project's disk, as outputs/sandbox/ would be (fsync costs differ on tmpfs)
    outputs = Path.cwd() / "outputs"
    outputs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=outputs) as folder:
        done = 0
        for n in sizes:
            state = Path(folder) / "sandbox"
            if n > done:
                with open_persistent(state, seed=7) as sb:
                    _post_ms(sb, n - done)
                done = n
            loads = []
            for _ in range(repeats):
                started = time.perf_counter()
                org = load_org(state, seed=7)
                loads.append(time.perf_counter() - started)
            size = (state / "org.json").stat().st_size if n else 0
            print(f"load_org with {n:>3} API-made calibrations ({len(org.journal):>3} changes, "
                  f"org.json {size / 1024:.1f} KiB): {statistics.median(loads) * 1000:.1f} ms, "
                  f"{(statistics.median(loads) - generate_s) * 1000:+.1f} ms over generate_org")

        n = 20 if args.quick else 60
        with Sandbox(seed=7, rate_limit_per_minute=None) as sb:
            memory = _post_ms(sb, n)
        with open_persistent(Path(folder) / "post", seed=7) as sb:
            persisted = _post_ms(sb, n)
        print(f"POST a calibration x{n}: in memory {statistics.median(memory):.1f} ms, persisted "
              f"{statistics.median(persisted):.1f} ms (median; the difference is lock + catch-up "
              f"+ temp file + fsync + rename)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
