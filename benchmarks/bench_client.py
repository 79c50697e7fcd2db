"""Genesys client throughput against the sandbox, side by side with a bare ``requests.get``.

Three measurements in one run, against one sandbox (no rate limit, no faults):

1. conversations per second through the sync details query (7-day chunks, pages of 100);
2. conversations per second through an async job over the same range (submit, poll, cursor pages);
3. milliseconds per request of ``GenesysClient.request("GET", ...)`` and of a bare
   ``requests.Session().get`` with the same bearer token on the same endpoint, alternated in
   blocks so drift hits both; the ratio is the client's overhead (token check, parameter
   encoding, retry bookkeeping, body checks). Wall time includes the server's latency, so the
   calling thread's CPU time per request (``time.thread_time``; the sandbox runs in other
   threads) is printed beside it: that is the client-side cost alone.

Run: ``python -m benchmarks.bench_client`` (``--quick`` for a 2-day range and fewer requests).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import requests

from calib.sandbox import Sandbox

FULL_RANGE = ("2026-09-28T00:00:00Z", "2026-11-09T00:00:00Z")  # every regular conversation day
QUICK_RANGE = ("2026-10-05T00:00:00Z", "2026-10-07T00:00:00Z")


def _rate(count: int, seconds: float) -> str:
    return f"{count:>6d} conversations in {seconds:6.2f} s = {count / seconds:8.0f} conv/s"


def _timed(fn: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = fn()
    return count, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_client", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2-day range, 100 requests per side (smoke run)")
    parser.add_argument("--requests", type=int, default=None, help="requests per side for the overhead part")
    args = parser.parse_args(argv)
    start, end = QUICK_RANGE if args.quick else FULL_RANGE
    n_requests = args.requests or (100 if args.quick else 1000)

    with Sandbox(seed=7, rate_limit_per_minute=None) as sb:
        client = sb.client()
        print(f"sandbox {sb.base_url}, range {start} .. {end}")

        sync_count, sync_s = _timed(lambda: sum(1 for _ in client.iter_conversation_details(start, end)))
        async_count, async_s = _timed(lambda: sum(1 for _ in client.iter_conversation_details_async(
            start, end, poll_interval=0.05, page_size=1000)))
        print(f"sync details query  : {_rate(sync_count, sync_s)}")
        print(f"async details job   : {_rate(async_count, async_s)}")
        if sync_count != async_count:
            print(f"WARNING: sync returned {sync_count} and async {async_count} conversations")
        print(f"async / sync throughput ratio: {(async_count / async_s) / (sync_count / sync_s):.2f}x")

        user_id = next(client.iter_users())["id"]
        path = f"/api/v2/users/{user_id}"
        url = sb.base_url + path
        bare = requests.Session()
        headers = {"Authorization": f"Bearer {client._tokens.token()}", "Accept": "application/json"}

        def via_client() -> None:
            client.request("GET", path)

        def via_bare() -> None:
            response = bare.get(url, headers=headers, timeout=(3.05, 60.0))
            response.raise_for_status()
            response.json()

        for fn in (via_client, via_bare):  # warm both connection pools
            fn()
        block = 20
        wall: dict[str, list[float]] = {"client": [], "bare": []}
        cpu: dict[str, list[float]] = {"client": [], "bare": []}
        for _ in range(max(1, n_requests // block)):
            for name, fn in (("client", via_client), ("bare", via_bare)):
                started, started_cpu = time.perf_counter(), time.thread_time()
                for _ in range(block):
                    fn()
                cpu[name].append((time.thread_time() - started_cpu) / block * 1000.0)
                wall[name].append((time.perf_counter() - started) / block * 1000.0)
        bare.close()
        print(f"GET /api/v2/users/{{id}}, {n_requests} requests per side (median of blocks of {block}):")
        print(f"  {'':24s}{'wall ms/req':>12s}{'CPU ms/req':>12s}")
        for label, name in (("GenesysClient.request", "client"), ("bare requests.get", "bare")):
            print(f"  {label:24s}{statistics.median(wall[name]):12.3f}{statistics.median(cpu[name]):12.3f}")
        for kind, table in (("wall", wall), ("CPU", cpu)):
            ratio = statistics.median(table["client"]) / statistics.median(table["bare"])
            extra = statistics.median(table["client"]) - statistics.median(table["bare"])
            print(f"  client / bare, {kind:4s}: {ratio:.3f}x ({extra:+.3f} ms/request)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
