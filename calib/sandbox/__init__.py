"""The sandbox: a local Genesys Cloud look-alike serving a synthetic org.

``generate_org(seed)`` builds the org in-process; ``Sandbox(seed=…)`` serves it over HTTP on
loopback; ``Faults`` configures fault injection.
"""

from calib.sandbox.faults import Faults
from calib.sandbox.org import Org, Truth, generate_org
from calib.sandbox.sandbox import Sandbox

__all__ = ["Sandbox", "Faults", "generate_org", "Org", "Truth"]
