"""Client for the Atlassian REST APIs behind a JSM Operations upstream: Teams, JSM Operations, Jira and
Organizations admin. Knows nothing of SCIM."""

from scim_bridge.atlassian.client import AtlassianClient
from scim_bridge.atlassian.errors import AtlassianError
from scim_bridge.atlassian.errors import AuthenticationFailed
from scim_bridge.atlassian.errors import BadRequest
from scim_bridge.atlassian.errors import Conflict
from scim_bridge.atlassian.errors import Gone
from scim_bridge.atlassian.errors import NotFound
from scim_bridge.atlassian.errors import PaymentRequired
from scim_bridge.atlassian.errors import PermissionDenied
from scim_bridge.atlassian.errors import RateLimited
from scim_bridge.atlassian.errors import ServerError
from scim_bridge.atlassian.errors import TransportError
from scim_bridge.atlassian.errors import Unprocessable
from scim_bridge.atlassian.records import MemberFailure
from scim_bridge.atlassian.retry import RetryPolicy

__all__ = [
    "AtlassianClient",
    "AtlassianError",
    "AuthenticationFailed",
    "BadRequest",
    "Conflict",
    "Gone",
    "MemberFailure",
    "NotFound",
    "PaymentRequired",
    "PermissionDenied",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "Unprocessable",
]
