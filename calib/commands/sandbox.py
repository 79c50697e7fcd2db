"""``calib sandbox serve``: run the local Genesys Cloud look-alike until interrupted."""

from __future__ import annotations

import argparse
import threading


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``calib sandbox serve --port P [--seed S] [--rate-limit N]``."""
    parser = subparsers.add_parser("sandbox", help="run the local Genesys Cloud sandbox",
                                   description="The local Genesys Cloud look-alike with a "
                                               "synthetic org.")
    verbs = parser.add_subparsers(dest="sandbox_command", metavar="VERB")
    serve = verbs.add_parser("serve", help="serve the sandbox on 127.0.0.1 until Ctrl-C",
                             description="Serve the sandbox on 127.0.0.1 and print its base URL "
                                         "and demo client credentials.")
    serve.add_argument("--port", type=int, default=8765, help="port to bind (0 = any free port)")
    serve.add_argument("--seed", type=int, default=7, help="org seed (default 7)")
    serve.add_argument("--rate-limit", type=float, default=300.0,
                       help="requests per minute per client (0 disables; default 300)")
    serve.set_defaults(func=_serve)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _serve(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    from calib.cli import CommandError
    from calib.sandbox import Sandbox

    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port {args.port} is not a port number; use 0 to 65535.")
    if args.rate_limit < 0:
        raise CommandError("--rate-limit must be 0 (off) or a positive number of requests a "
                           "minute.")
    sandbox = Sandbox(seed=args.seed, port=args.port,
                      rate_limit_per_minute=args.rate_limit or None)
    try:
        sandbox.start()
    except OSError as exc:
        raise CommandError(f"Cannot listen on port {args.port} ({exc.strerror}); choose another "
                           f"--port or 0.") from None
    # the demo credentials are the sandbox's own, not a secret of any real org
    print(f"calib sandbox (seed {args.seed}) listening on {sandbox.base_url}", flush=True)
    print(f"GENESYSCLOUD_API_REGION={sandbox.base_url}", flush=True)
    print(f"GENESYSCLOUD_OAUTHCLIENT_ID={sandbox.client_id}", flush=True)
    print(f"GENESYSCLOUD_OAUTHCLIENT_SECRET={sandbox.client_secret}", flush=True)
    print(f"clock: {sandbox.now().isoformat()}  (Ctrl-C to stop)", flush=True)
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0
