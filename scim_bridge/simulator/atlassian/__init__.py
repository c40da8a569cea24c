"""An Atlassian-compatible HTTP server standing in for a JSM Operations organization.

One host serves the four API families the bridge uses (docs: atlassian-api.md): the Teams public API
and Jira user search (``ATLASSIAN_SITE_URL``), JSM Operations and the Organizations admin API
(``ATLASSIAN_API_URL``), with Basic and Bearer auth, their paging and error bodies, the enable-ops
window, a rolling-window rate limit, scripted faults and a ``/__sim/`` control surface. Every
UNCONFIRMED point of the contract notes is a knob of :class:`AtlassianSimConfig`. It shares no code
with the bridge's Atlassian client.
"""

from scim_bridge.simulator.atlassian.clock import SimClock
from scim_bridge.simulator.atlassian.config import ADMIN_API_KEY
from scim_bridge.simulator.atlassian.config import ADMIN_EMAIL
from scim_bridge.simulator.atlassian.config import API_TOKEN
from scim_bridge.simulator.atlassian.config import CALLER_ACCOUNT_ID
from scim_bridge.simulator.atlassian.config import CLOUD_ID
from scim_bridge.simulator.atlassian.config import ORG_ID
from scim_bridge.simulator.atlassian.config import SITE_ID
from scim_bridge.simulator.atlassian.config import AtlassianSimConfig
from scim_bridge.simulator.atlassian.config import jsm_resource
from scim_bridge.simulator.atlassian.server import AtlassianSimulatorServer
from scim_bridge.simulator.atlassian.state import AtlassianState

__all__ = [
    "ADMIN_API_KEY",
    "ADMIN_EMAIL",
    "API_TOKEN",
    "CALLER_ACCOUNT_ID",
    "CLOUD_ID",
    "ORG_ID",
    "SITE_ID",
    "AtlassianSimConfig",
    "AtlassianSimulatorServer",
    "AtlassianState",
    "SimClock",
    "jsm_resource",
]
