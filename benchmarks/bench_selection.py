"""Selection over a million conversations: throughput and peak memory beside a plain-JSON floor.

Both sides read the same generated conversation-details pages (100 conversations a page, shaped
like the API's and the sandbox's records: customer, acd and agent participants with sessions,
metrics and segments). The floor only runs ``json.loads`` on each page; calib runs ``json.loads``
and then :func:`calib.selection.select_candidates` over the stream (filters, exclusions, per-stratum
reducer, stratified pick). Each side runs in its own process so that peak RSS is its own; rates
are per CPU second of the process (``time.process_time``), so other load on the machine does not
skew the ratio, and building the input pages is timed apart and left out.

Targets (issue 4): calib's peak under 300 MB, and at least half the floor's conversations/second.

    python -m benchmarks.bench_selection            # 1,000,000 conversations
    python -m benchmarks.bench_selection --quick    # 50,000, a smoke run
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

PAGE = 100
TEMPLATES = 512
START = datetime(2026, 10, 1, tzinfo=timezone.utc)
DAYS = 28


def _template(rng: random.Random) -> str:
    """One conversation as JSON text with @CID@ and @START@ placeholders."""
    agent = f"agent-{rng.randrange(200):03d}"
    queue = f"queue-{rng.randrange(6)}"
    talk = int(rng.lognormvariate(12.6, 0.55))
    hold = int(rng.lognormvariate(10.8, 0.6)) if rng.random() < 0.35 else 0
    acw = rng.randrange(10_000, 120_000)
    media = "voice" if rng.random() < 0.8 else "chat"
    recorded = rng.random() < 0.88

    def seg(kind: str, **extra: str) -> dict:
        return {"segmentStart": "2026-10-01T10:00:00.000Z", "segmentEnd": "2026-10-01T10:05:00.000Z",
                "segmentType": kind, **extra}

    metrics = [{"name": n, "value": v, "emitDate": "2026-10-01T10:05:00.000Z"} for n, v in
               (("tAlert", 4000), ("tAnswered", 4000), ("tTalk", talk), ("tTalkComplete", talk),
                ("tHandle", talk + hold + acw), ("tAcw", acw))
               + ((("tHeld", hold), ("tHeldComplete", hold)) if hold else ())]
    conv = {
        "conversationId": "@CID@", "conversationStart": "@START@",
        "conversationEnd": "@START@", "originatingDirection": "inbound",
        "conversationInitiator": "external", "customerParticipation": True,
        "divisionIds": ["division-home"], "mediaStatsMinConversationMos": 4.1,
        "participants": [
            {"participantId": "p-c", "participantName": "Customer", "purpose": "customer",
             "sessions": [{"sessionId": "s-c", "mediaType": media, "direction": "inbound",
                           "ani": "tel:+15551234567", "dnis": "tel:+18005550100",
                           "recording": recorded, "provider": "Edge",
                           "metrics": [{"name": "nConnected", "value": 1,
                                        "emitDate": "2026-10-01T10:00:00.000Z"}],
                           "segments": [seg("interact", disconnectType="endpoint")]}]},
            {"participantId": "p-q", "participantName": queue, "purpose": "acd",
             "sessions": [{"sessionId": "s-q", "mediaType": media, "direction": "inbound",
                           "metrics": [{"name": "tAcd", "value": 20000,
                                        "emitDate": "2026-10-01T10:00:00.000Z"}],
                           "segments": [seg("interact", queueId=queue)]}]},
            {"participantId": "p-a", "participantName": "Agent", "purpose": "agent",
             "userId": agent,
             "sessions": [{"sessionId": "s-a", "mediaType": media, "direction": "inbound",
                           "recording": recorded, "provider": "Edge", "metrics": metrics,
                           "segments": [seg("alert", queueId=queue), seg("interact", queueId=queue),
                                        seg("wrapup", queueId=queue,
                                            wrapUpCode=f"wrap-{rng.randrange(5)}")]}]},
        ],
    }
    return json.dumps(conv)


class GeneratedPages:
    """A details-API look-alike serving generated pages as JSON bytes (the benchmark's input).

    It implements only what selection calls; every page is built on demand, so the input itself
    takes no memory beyond one page.
    """

    def __init__(self, total: int, seed: int = 1) -> None:
        rng = random.Random(seed)
        self.total = total
        self.templates = [_template(rng) for _ in range(TEMPLATES)]
        self.generate_seconds = 0.0

    def pages(self, start: datetime, end: datetime) -> Iterator[bytes]:
        """Pages of the conversations whose start lies in [start, end)."""
        span = (DAYS * 86400) / self.total
        first = max(0, int((start - START).total_seconds() / span))
        last = min(self.total, int((end - START).total_seconds() / span) + 1)
        for lo in range(first, last, PAGE):
            t0 = time.process_time()
            items = []
            for i in range(lo, min(lo + PAGE, last)):
                at = START + timedelta(seconds=i * span)
                if not start <= at < end:
                    continue
                stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
                items.append(self.templates[i % TEMPLATES]
                             .replace("@CID@", f"conv-{i:08d}").replace("@START@", stamp))
            page = ('{"totalHits": %d, "conversations": [%s]}' % (self.total, ",".join(items))).encode()
            self.generate_seconds += time.process_time() - t0
            yield page

    def iter_conversation_details(self, start: str, end: str, **_: object) -> Iterator[dict]:
        for page in self.pages(_parse(start), _parse(end)):
            yield from json.loads(page)["conversations"]

    def iter_calibrations(self, *_: object, **__: object) -> Iterator[dict]:
        return iter(())

    def iter_evaluations(self, **_: object) -> Iterator[dict]:
        return iter(())

    def get_recording_metadata(self, conversation_id: str) -> list[dict]:
        return [{"media": "audio", "fileState": "AVAILABLE"}]


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run_floor(total: int) -> dict:
    """``json.loads`` of every page, nothing else."""
    source = GeneratedPages(total)
    seconds = 0.0
    count = 0
    for page in source.pages(START, START + timedelta(days=DAYS)):
        t0 = time.process_time()
        count += len(json.loads(page)["conversations"])
        seconds += time.process_time() - t0
    return {"conversations": count, "seconds": seconds}


def run_calib(total: int) -> dict:
    """``json.loads`` plus calib's streaming selection of 20 candidates."""
    from calib.selection import select_candidates

    source = GeneratedPages(total)
    t0 = time.process_time()
    sel = select_candidates(source, start=START, end=START + timedelta(days=DAYS), n=20,
                            panel_ids=["agent-001"], calibrator_id="cal-1", seed=3,
                            use_async=False)
    # Building the input pages is the benchmark's work, not calib's: subtract it.
    seconds = time.process_time() - t0 - source.generate_seconds
    seen = int(sel.funnel["remaining"].iloc[0])
    return {"conversations": seen, "seconds": seconds, "picked": len(sel.candidates),
            "agents": int(sel.candidates["agent_id"].nunique())}


def _child(mode: str, total: int) -> None:
    result = (run_floor if mode == "floor" else run_calib)(total)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _measure(mode: str, total: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_selection", "--child", mode,
                          "--n", str(total)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 conversations (smoke run)")
    parser.add_argument("--n", type=int, default=None, help="number of conversations")
    parser.add_argument("--child", choices=("floor", "calib"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    total = args.n or (50_000 if args.quick else 1_000_000)
    if args.child:
        _child(args.child, total)
        return 0
    floor = _measure("floor", total)
    ours = _measure("calib", total)
    f_rate = floor["conversations"] / floor["seconds"]
    o_rate = ours["conversations"] / ours["seconds"]
    print(f"selection over {total:,} generated conversations (pages of {PAGE})")
    print(f"{'':24}{'conv/s':>12}{'peak MB':>10}")
    print(f"{'json.loads floor':24}{f_rate:12,.0f}{floor['peak_mb']:10.0f}")
    print(f"{'calib select_candidates':24}{o_rate:12,.0f}{ours['peak_mb']:10.0f}")
    print(f"rate ratio calib/floor: {o_rate / f_rate:.2f} (target ≥ 0.5); "
          f"calib peak {ours['peak_mb']:.0f} MB (target < 300 MB); "
          f"picked {ours['picked']} from {ours['agents']} agents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
