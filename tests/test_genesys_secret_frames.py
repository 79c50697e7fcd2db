"""The client secret never sits in a local variable during the token request (issue 10,
hardening): an error tracker that captures the locals of every frame (Sentry, rich tracebacks)
must find nothing to record. Traced on a real token request to the real sandbox server."""

from __future__ import annotations

import sys

from calib.genesys.client import GenesysClient


def _contains(value: object, secret: str, depth: int = 0) -> bool:
    if isinstance(value, (str, bytes)):
        return secret in (value if isinstance(value, str) else value.decode("latin-1"))
    if depth < 3 and isinstance(value, (tuple, list, set)):
        return any(_contains(v, secret, depth + 1) for v in value)
    if depth < 3 and isinstance(value, dict):
        return any(_contains(v, secret, depth + 1) for v in value.values())
    return False


def test_no_frame_holds_the_plaintext_secret_while_a_token_is_fetched(sandbox):
    secret = sandbox.client_secret
    seen: list[str] = []

    def tracer(frame, event, arg):
        for name, value in frame.f_locals.items():
            if _contains(value, secret):
                seen.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name} local {name!r}")
        return tracer

    with GenesysClient(client_id=sandbox.client_id, client_secret=secret,
                       base_url=sandbox.base_url) as client:
        sys.settrace(tracer)
        try:
            token = client._tokens.token()
        finally:
            sys.settrace(None)
    assert token
    calib_frames = [s for s in seen if "/calib/" in s or "/requests/" in s]
    assert not calib_frames, f"the plaintext secret was a local in: {sorted(set(calib_frames))}"
