"""An OpsGenie-compatible HTTP server for the demo and for tests.

It implements the documented ``/v2`` Users, Contacts, Teams, Team Member, Custom Role and
request-limits APIs, with GenieKey auth, rate limits and scripted faults, plus a ``/__sim/`` control
surface. It is self-contained on purpose: it shares no code with the bridge's OpsGenie client.
"""

from scim_bridge.simulator.config import RateLimit
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.state import SimulatorState

__all__ = ["RateLimit", "SimulatorConfig", "SimulatorState"]
