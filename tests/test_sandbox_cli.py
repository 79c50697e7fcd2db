"""``calib sandbox serve`` starts a real server and prints how to reach it."""

from __future__ import annotations

import subprocess
import sys

import requests

from calib.cli import build_parser


def test_sandbox_serve_has_help():
    parser = build_parser()
    args = parser.parse_args(["sandbox", "serve", "--port", "0", "--seed", "3"])
    assert args.port == 0 and args.seed == 3 and callable(args.func)


def test_sandbox_serve_prints_base_url_and_demo_credentials(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "calib.cli", "sandbox", "serve", "--port", "0",
                             "--seed", "5", "--state-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        lines = dict(proc.stdout.readline().strip().partition("=")[::2] for _ in range(4))
        base = lines["GENESYSCLOUD_API_REGION"]
        cid = lines["GENESYSCLOUD_OAUTHCLIENT_ID"]
        secret = lines["GENESYSCLOUD_OAUTHCLIENT_SECRET"]
        r = requests.post(f"{base}/oauth/token", auth=(cid, secret),
                          data={"grant_type": "client_credentials"}, timeout=10)
        assert r.status_code == 200 and r.json()["access_token"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
