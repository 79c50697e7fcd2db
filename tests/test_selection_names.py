"""Wrap-up codes and queues by name (issue 18): the client lists them once, the focus profiles'
wrap-up patterns fire on the sandbox org, and reasons read in names.

On main the profiles were matched against raw wrap-up code ids, so empathy and compliance focus
never favoured a wrap-up code (0 hits); ``lookup_names=False`` keeps that old behaviour here as
the control.
"""

from __future__ import annotations

import re

import pytest
import requests

from calib.sandbox.conversations import wrap_up_names
from calib.selection import load_profiles, select_candidates

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-")
WEEKS = {"start": "2026-10-19", "end": "2026-11-02"}


class CountingSession(requests.Session):
    """A real requests session that counts the routing look-ups it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def request(self, method, url, *args, **kwargs):  # noqa: ANN001 - requests' own signature
        self.paths.append(requests.utils.urlparse(url).path)
        return super().request(method, url, *args, **kwargs)


def test_the_client_lists_queue_and_wrap_up_names_once(sandbox):
    session = CountingSession()
    client = sandbox.client(session=session)
    names = client.routing_names()
    assert set(wrap_up_names()) <= set(names.values())
    assert {"Billing", "Technical Support", "Sales", "Retention"} <= set(names.values())
    assert all(UUID.match(i) for i in names), "keys are the ids the details API returns"
    asked = [p for p in session.paths if p.startswith("/api/v2/routing/")]
    assert asked == ["/api/v2/routing/wrapupcodes", "/api/v2/routing/queues"]
    assert client.routing_names() == names
    assert [p for p in session.paths if p.startswith("/api/v2/routing/")] == asked, "cached"
    client.routing_names(refresh=True)
    assert len([p for p in session.paths if p.startswith("/api/v2/routing/")]) == 4


def test_every_wrap_up_code_in_the_details_is_one_the_routing_api_names(sandbox):
    client = sandbox.client()
    names = client.routing_names()
    seen = set()
    for conv in client.iter_conversation_details("2026-10-26", "2026-10-28"):
        for part in conv["participants"]:
            for sess in part.get("sessions", ()):
                for seg in sess.get("segments", ()):
                    if seg.get("wrapUpCode"):
                        seen.add(seg["wrapUpCode"])
    assert seen and seen <= set(names)


def _wrap_up_hits(selection) -> int:
    return int(selection.candidates["reason"].str.contains("wrap-up .* favoured").sum())


@pytest.mark.parametrize("focus", ["empathy_handling", "compliance_phrases"])
def test_focus_wrap_up_patterns_fire_on_names_over_many_seeds(sandbox, focus):
    team = sandbox.truth.teams["demo"]
    client = sandbox.client()
    patterns = [p for p, _ in load_profiles()[focus]["priorities"]["wrap_up_codes"].items()]
    hits = old_hits = favoured_share = 0
    picked = 0
    for seed in range(6):
        kwargs = dict(**WEEKS, n=8, focus=focus, panel_ids=team["panel_ids"],
                      calibrator_id=team["calibrator_id"], seed=seed, confirm_recordings=False)
        new = select_candidates(client, **kwargs)
        old = select_candidates(client, lookup_names=False, **kwargs)
        hits += _wrap_up_hits(new)
        old_hits += _wrap_up_hits(old)
        cands = new.candidates
        favoured = cands["wrap_up_name"].str.lower().apply(
            lambda name: any(p in name for p in patterns))
        favoured_share += int(favoured.sum())
        picked += len(cands)
        for text in cands["reason"][cands["reason"].str.contains("wrap-up")]:
            shown = re.search(r"wrap-up (.+?) favoured", text).group(1)
            assert not UUID.match(shown) and shown in set(wrap_up_names())
    assert old_hits == 0, "matched against ids, no pattern ever fired (the defect)"
    assert hits > 0
    # the conclusion a lead acts on: the profile's wrap-ups are over-represented in the pick
    pool = client.routing_names()
    pool_share = sum(any(p in n.lower() for p in patterns) for n in wrap_up_names()) / \
        len(wrap_up_names())
    assert favoured_share / picked > pool_share, (favoured_share, picked, pool_share, pool)


def test_explicit_names_win_over_the_looked_up_ones(sandbox):
    team = sandbox.truth.teams["demo"]
    client = sandbox.client()
    billing = {v: k for k, v in client.routing_names().items()}["Billing"]
    sel = select_candidates(client, **WEEKS, n=6, panel_ids=team["panel_ids"], seed=1,
                            names={billing: "Accounts receivable"}, confirm_recordings=False)
    queues = set(sel.candidates["queue_name"])
    assert billing in set(sel.candidates["queue_id"]), "four queues, six picks: Billing is there"
    assert "Billing" not in queues and "Accounts receivable" in queues
