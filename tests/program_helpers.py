"""What the program tests share: a served demo org, its faults, program files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import yaml

ROOT = Path(__file__).resolve().parents[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a child ``calib``: no Genesys credentials, ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENESYSCLOUD_")}
    return {**env, **extra}


@contextmanager
def serve_demo_org(state: Path) -> Iterator[object]:
    """``calib sandbox serve`` on the demo org in ``state`` (no rate limit); yields its
    :class:`calib.sandbox.RunningServer`."""
    from calib.sandbox import locate

    proc = subprocess.Popen([sys.executable, "-m", "calib.cli", "sandbox", "serve", "--port", "0",
                             "--rate-limit", "0", "--state-dir", str(state)], cwd=ROOT,
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        banner = proc.stdout.readline()
        assert "listening on" in banner, proc.stderr.read() if proc.poll() is not None else banner
        server = locate(state)
        assert server is not None
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def set_faults(server, faults: dict) -> None:
    """Change the served org's faults (``PUT /api/v2/sandbox/faults``)."""
    with server.client() as client:
        client.request("PUT", "/api/v2/sandbox/faults", json=faults, idempotent=True)


def program_text(team: str, **values) -> str:
    """A program file's YAML: small sessions and a quick report unless ``values`` say else."""
    base = {"team": team, "backend": "sandbox", "sandbox_seed": 7, "calls": 3,
            "report": {"history_months": 1, "n_boot": 0}}
    return yaml.safe_dump({**base, **values}, sort_keys=False)


def demo_program(**values) -> str:
    """The demo team's monthly program from 2026-12-01, revealing at the deadline."""
    return program_text("demo", **{
        "cadence": "monthly", "anchor": "2026-12-01T09:00:00Z",
        "calibrator_email": "quinn.calder@demo.example",
        "expert_email": "quinn.calder@demo.example", "deadline_days": 7, "meeting_days": 10,
        "report_lead_days": 1, "reveal": "deadline", **values})
