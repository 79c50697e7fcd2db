"""The sandbox: a local Genesys Cloud look-alike serving a synthetic org.

``generate_org(seed)`` builds the org in-process; ``Sandbox(seed=…)`` serves it over HTTP on
loopback (in memory: gone when the process ends); ``Faults`` configures fault injection.

A demo org that outlives the process lives in a state folder: ``open_persistent(state_dir)``
serves it in-process and saves every change, ``locate(state_dir)`` finds a ``calib sandbox
serve`` running on it, and ``sandbox_now(client)`` reads any sandbox's clock for deadline checks.
"""

from calib.sandbox.discovery import RunningServer, locate, sandbox_now
from calib.sandbox.faults import Faults
from calib.sandbox.org import Org, Truth, generate_org
from calib.sandbox.persist import SandboxStateError, open_persistent
from calib.sandbox.sandbox import Sandbox

__all__ = ["Sandbox", "Faults", "generate_org", "Org", "Truth", "open_persistent", "locate",
           "RunningServer", "sandbox_now", "SandboxStateError"]
