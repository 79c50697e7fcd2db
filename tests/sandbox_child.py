"""A separate process on a persisted demo org, for tests/test_sandbox_persist*.py.

Run as ``python -m tests.sandbox_child STATE_DIR ACTION [ARGS…]`` from the repository root; the
last line on stdout is a JSON answer. Actions:

``steps FIRST LAST``    run STEPS[FIRST:LAST] on the org (open_persistent), answer their results
                        (STEPS include an AI scoring settings change)
``responses OUT``       write the raw bytes of RESPONSE_REQUESTS to OUT (one org, read only)
``post N ADVANCE GO``   wait for file GO, then N times: POST a calibration, advance the clock
                        ADVANCE days; answer the calibration ids
``listed``              answer the ids of every live calibration made at or after 2026-11-09
                        and the clock (through the API)
``hang-in-save``        advance the clock 1 day, then advance again with os.fsync blocked: print
                        ``saving`` and wait to be killed inside the save

The STEPS run the same way on an in-memory ``Sandbox`` (``run_steps``), so a test can compare
a process that did everything with a chain of processes that replayed the state from disk.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import requests

API_MADE_FROM = "2026-11-09T00:00:00.000Z"  # the sandbox clock starts 2026-11-09T09:00Z

# (verb, argument): "post" k posts a demo calibration of the k-th candidate conversation;
# "clock" d advances d days; "put" adds a north evaluator and sets the scoring index of the
# newest API-made calibration; "ai" changes which questions the published form AI-scores;
# "delete" deletes the oldest API-made one.
STEPS = [("post", 0), ("post", 1), ("clock", 1.5), ("post", 2), ("put", None), ("ai", None),
         ("clock", 2.25), ("delete", None), ("post", 3), ("clock", 6.0)]
AI_QUESTIONS = ("Uses the customer's name", "Avoids jargon", "Uses hold appropriately")


class Api:
    """Raw HTTP on a sandbox (bytes matter here, so no GenesysClient parsing)."""

    def __init__(self, sandbox, truth=None) -> None:
        self.base = sandbox.base_url
        self.truth = truth if truth is not None else sandbox.truth
        token = requests.post(f"{self.base}/oauth/token",
                              auth=(sandbox.client_id, sandbox.client_secret),
                              data={"grant_type": "client_credentials"}, timeout=30).json()
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        r = requests.request(method, self.base + path, headers=self.headers, timeout=60, **kwargs)
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {r.status_code} {r.text}")
        return r

    @property
    def team(self) -> dict:
        return self.truth.teams["demo"]

    def candidates(self) -> list[str]:
        body = {"interval": "2026-11-02T00:00:00Z/2026-11-06T00:00:00Z",
                "paging": {"pageSize": 20, "pageNumber": 1}}
        convs = self.call("POST", "/api/v2/analytics/conversations/details/query",
                          json=body).json()["conversations"]
        return [c["conversationId"] for c in convs]

    def post(self, conv_id: str) -> str:
        team = self.team
        body = {"name": f"persisted {conv_id[:8]}", "conversation": {"id": conv_id},
                "calibrator": {"id": team["calibrator_id"]},
                "expertEvaluator": {"id": team["expert_id"]},
                "evaluators": [{"id": e} for e in team["panel_ids"]]}
        return self.call("POST", "/api/v2/quality/calibrations", json=body).json()["id"]

    def api_made(self) -> list[dict]:
        return self.call("GET", "/api/v2/quality/calibrations", params={
            "calibratorId": self.team["calibrator_id"], "startTime": API_MADE_FROM,
            "pageSize": 100}).json()["entities"]

    def published_form(self) -> dict:
        listing = self.call("GET", "/api/v2/quality/publishedforms/evaluations").json()
        form_id = listing["entities"][-1]["id"]
        return self.call("GET", f"/api/v2/quality/forms/evaluations/{form_id}").json()

    def ai_scoring(self, texts) -> list[str]:
        """AI-score the questions of ``texts`` (and no other) on the latest published form."""
        form = self.published_form()
        body = {"questionGroupSettings": [
            {"questionGroupContextId": g["contextId"], "questionSettings": [
                {"questionContextId": q["contextId"], "settings": {"enabled": q["text"] in texts}}
                for q in g["questions"]]} for g in form["questionGroups"]]}
        echo = self.call("PUT", f"/api/v2/quality/forms/evaluations/{form['id']}/aiscoring/"
                                f"settings", json=body).json()
        return sorted(q["questionContextId"] for g in echo["questionGroupSettings"]
                      for q in g["questionSettings"] if q["settings"]["enabled"])

    def clock(self, days: float) -> str:
        return self.call("POST", "/api/v2/sandbox/clock", json={"advanceDays": days}).json()["now"]


def run_steps(sandbox, first: int, last: int) -> list:
    """Run STEPS[first:last] through the sandbox's HTTP API; the result of each."""
    api = Api(sandbox)
    out = []
    for verb, arg in STEPS[first:last]:
        if verb == "post":
            out.append(api.post(api.candidates()[arg]))
        elif verb == "clock":
            out.append(api.clock(arg))
        elif verb == "put":
            cal = api.api_made()[-1]
            body = {"evaluators": cal["evaluators"] + [
                        {"id": api.truth.teams["north"]["panel_ids"][0]}],
                    "scoringIndex": {"id": cal["evaluations"][0]["id"]}}
            out.append(api.call("PUT", f"/api/v2/quality/calibrations/{cal['id']}",
                                json=body).json()["id"])
        elif verb == "ai":
            out.append(api.ai_scoring(AI_QUESTIONS))
        elif verb == "delete":
            cal = api.api_made()[0]
            api.call("DELETE", f"/api/v2/quality/calibrations/{cal['id']}",
                     params={"calibratorId": api.team["calibrator_id"]})
            out.append(cal["id"])
    return out


def responses(sandbox) -> list[bytes]:
    """Raw bodies of the reads a report makes: calibrations, evaluations with answers,
    conversation details, the clock."""
    api = Api(sandbox)
    team = api.team
    bodies = [api.call("GET", "/api/v2/quality/calibrations", params={
        "calibratorId": team["calibrator_id"], "pageSize": 100}).content]
    for evaluator in [team["expert_id"], *team["panel_ids"]]:
        bodies.append(api.call("GET", "/api/v2/quality/evaluations/query", params={
            "evaluatorUserId": evaluator, "expandAnswerTotalScores": "true",
            "pageSize": 100}).content)
    for conv_id in api.candidates()[:4]:
        bodies.append(api.call("GET", f"/api/v2/analytics/conversations/{conv_id}/details").content)
    bodies.append(api.call("GET", "/api/v2/sandbox/clock").content)
    bodies.append(json.dumps(api.published_form()).encode())
    return bodies


def main(argv: list[str]) -> int:
    from calib.sandbox import open_persistent

    state_dir, action, *rest = argv
    if action == "steps":
        with open_persistent(state_dir, seed=7) as sandbox:
            answer = run_steps(sandbox, int(rest[0]), int(rest[1]))
    elif action == "responses":
        with open_persistent(state_dir, seed=7) as sandbox:
            Path(rest[0]).write_bytes(b"\n".join(responses(sandbox)))
        answer = rest[0]
    elif action == "post":
        n, days, go = int(rest[0]), float(rest[1]), Path(rest[2])
        with open_persistent(state_dir, seed=7) as sandbox:
            api = Api(sandbox)
            convs = api.candidates()
            print("ready", flush=True)
            while not go.exists():
                time.sleep(0.01)
            answer = []
            for k in range(n):
                answer.append(api.post(convs[k % len(convs)]))
                api.clock(days)
    elif action == "listed":
        with open_persistent(state_dir) as sandbox:
            api = Api(sandbox)
            answer = {"ids": [c["id"] for c in api.api_made()],
                      "now": api.call("GET", "/api/v2/sandbox/clock").json()["now"]}
    elif action == "hang-in-save":
        with open_persistent(state_dir, seed=7) as sandbox:
            sandbox.advance_clock(days=1)

            def blocked_fsync(fd: int) -> None:
                print("saving", flush=True)
                time.sleep(120)

            os.fsync = blocked_fsync
            sandbox.advance_clock(days=1)
        answer = "not killed"
    else:
        raise SystemExit(f"unknown action {action!r}")
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
