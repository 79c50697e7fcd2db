"""Sandbox speed, side by side with its references.

1. Paging conversations over HTTP (sync details query, 100 a page) vs reading the same
   conversations from the in-process org: the cost of the real server.
2. Scoring evaluations with the vectorised panel totals vs calling ``calib.scoring`` once per
   evaluation (the reference implementation of the Genesys rules).
3. Generating a large org (``--quick`` shrinks it) and its tidy frames.
4. Keep-alive request latency (``GET /api/v2/users/{id}`` on one ``requests.Session``) with the
   server's buffered, no-Nagle handler vs the same handler writing headers and body unbuffered
   with Nagle on (the stdlib default, ~40 ms a response from Nagle + delayed ACK).
5. ``generate_org(7)`` and its tidy frames, the default org many test files build.

Run: ``python -m benchmarks.bench_sandbox [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone

import numpy as np
import requests


def _page_http(sb, start: str, end: str) -> int:
    token = requests.post(f"{sb.base_url}/oauth/token", auth=(sb.client_id, sb.client_secret),
                          data={"grant_type": "client_credentials"}, timeout=30).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    n, page = 0, 1
    while True:
        body = {"interval": f"{start}/{end}", "paging": {"pageSize": 100, "pageNumber": page}}
        r = requests.post(f"{sb.base_url}/api/v2/analytics/conversations/details/query",
                          json=body, headers=headers, timeout=60).json()
        got = len(r.get("conversations", []))
        n += got
        if got < 100:
            return n
        page += 1


def _latency_ms(sb, n: int) -> float:
    """Median milliseconds of ``n`` keep-alive GETs of one user."""
    session = requests.Session()
    token = session.post(f"{sb.base_url}/oauth/token", auth=(sb.client_id, sb.client_secret),
                         data={"grant_type": "client_credentials"}, timeout=30).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    url = f"{sb.base_url}/api/v2/users/{sb.truth.teams['demo']['calibrator_id']}"
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        session.get(url, headers=headers, timeout=30).raise_for_status()
        times.append(time.perf_counter() - t0)
    session.close()
    return 1000.0 * float(np.median(times))


def bench_latency(n: int) -> None:
    from calib.sandbox import Sandbox
    from calib.sandbox.server import _Handler

    class StdlibWrites(_Handler):
        disable_nagle_algorithm = False
        wbufsize = 0

    with Sandbox(seed=7, rate_limit_per_minute=None) as sb:
        fast = _latency_ms(sb, n)
        sb.server.RequestHandlerClass = StdlibWrites
        slow = _latency_ms(sb, n)
    print(f"keep-alive GET /users/{{id}} x{n}: buffered + TCP_NODELAY {fast:.2f} ms vs "
          f"unbuffered + Nagle {slow:.2f} ms (median): ratio {slow / max(fast, 1e-9):.1f}x")


def bench_default_org(repeats: int) -> None:
    """``generate_org(7)`` and its tidy frames, first call vs a repeated (memoised) call."""
    from calib.sandbox import generate_org

    generate_org(3).tidy_scores()  # warm lazy imports
    gen, first, again = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        org = generate_org(7)
        t1 = time.perf_counter()
        org.tidy_scores()
        org.tidy_answers()
        t2 = time.perf_counter()
        org.tidy_scores()
        org.tidy_answers()
        t3 = time.perf_counter()
        gen.append(t1 - t0)
        first.append(t2 - t1)
        again.append(t3 - t2)
    print(f"generate_org(7) x{repeats}: generate {np.median(gen):.3f} s, tidy frames first "
          f"{np.median(first):.3f} s vs repeated (memoised) {np.median(again):.4f} s: ratio "
          f"{np.median(first) / max(np.median(again), 1e-9):.0f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    args = parser.parse_args(argv)

    from calib.sandbox import Sandbox, generate_org
    from calib.sandbox import panel
    from calib.scoring import score_evaluation

    bench_latency(20 if args.quick else 200)
    bench_default_org(3 if args.quick else 10)
    days = 2 if args.quick else 7
    start, end = "2026-10-05T00:00:00.000Z", f"2026-10-{5 + days:02d}T00:00:00.000Z"
    with Sandbox(seed=7, rate_limit_per_minute=None) as sb:
        t0 = time.perf_counter()
        convs = sb.org.conversations.between(datetime(2026, 10, 5, tzinfo=timezone.utc),
                                             datetime(2026, 10, 5 + days, tzinfo=timezone.utc))
        generate_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = sb.org.conversations.between(datetime(2026, 10, 5, tzinfo=timezone.utc),
                                             datetime(2026, 10, 5 + days, tzinfo=timezone.utc))
        json.dumps([c.body for c in again])  # the same serialisation work, without HTTP
        inproc_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_http = _page_http(sb, start, end)
        http_s = time.perf_counter() - t0
    assert n_http == len(convs)
    print(f"conversations: {len(convs)} over {days} days; first generation {generate_s:.2f} s")
    print(f"  HTTP paging {http_s:.3f} s ({len(convs) / http_s:.0f}/s) vs in-process + json "
          f"{inproc_s:.4f} s: ratio {http_s / max(inproc_s, 1e-9):.0f}x")

    org = generate_org(7)
    evs = list(org.evaluations.values())
    for cal in org.calibrations.values():
        org.ensure_simulated(cal)
    t0 = time.perf_counter()
    for ev in evs:
        form = org.forms_by_id[ev.form_id]
        qids = org.qid_by_key[form["id"]]
        answers = {}
        for j, spec in enumerate(org.specs):
            qid = qids.get(spec.key)
            if qid is None:
                continue
            opts = org.options[qid]
            pick = int(ev.chosen[j]) if spec.kind == "scale" else (0 if ev.chosen[j] else 1)
            answers[qid] = "N/A" if ev.na[j] else opts[pick]["id"]
        score_evaluation(form, answers)
    reference_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    by_form: dict[str, list] = {}
    for ev in evs:
        by_form.setdefault(ev.form_id, []).append(ev)
    for form_id, group in by_form.items():
        panel.totals(org.form_arrays[form_id], np.stack([e.chosen for e in group]),
                     np.stack([e.na for e in group]))
    vector_s = time.perf_counter() - t0
    print(f"scoring {len(evs)} evaluations: calib.scoring loop {reference_s:.3f} s vs "
          f"vectorised {vector_s:.4f} s: ratio {reference_s / max(vector_s, 1e-9):.0f}x")

    size = (dict(n_evaluators=10, calls_per_month={"demo": 20, "north": 0, "pilot": 0})
            if args.quick else
            dict(n_evaluators=50, calls_per_month={"demo": 400, "north": 0, "pilot": 0},
                 n_questions=30))
    t0 = time.perf_counter()
    big = generate_org(1, **size)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = big.tidy_scores()
    scores_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    answers = big.tidy_answers()
    answers_s = time.perf_counter() - t0
    print(f"large org {size}: generate {gen_s:.1f} s, scores {len(scores)} rows {scores_s:.1f} s, "
          f"answers {len(answers)} rows {answers_s:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
