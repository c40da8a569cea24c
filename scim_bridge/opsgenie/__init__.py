"""Client for the OpsGenie v2 REST API. Knows nothing of SCIM."""

from scim_bridge.opsgenie.client import OpsGenieClient
from scim_bridge.opsgenie.errors import AuthenticationFailed
from scim_bridge.opsgenie.errors import BadRequest
from scim_bridge.opsgenie.errors import BudgetExhausted
from scim_bridge.opsgenie.errors import Conflict
from scim_bridge.opsgenie.errors import NotFound
from scim_bridge.opsgenie.errors import OpsGenieError
from scim_bridge.opsgenie.errors import PaymentRequired
from scim_bridge.opsgenie.errors import PermissionDenied
from scim_bridge.opsgenie.errors import PreconditionRequired
from scim_bridge.opsgenie.errors import RateLimited
from scim_bridge.opsgenie.errors import ServerError
from scim_bridge.opsgenie.errors import TransportError
from scim_bridge.opsgenie.errors import Unprocessable
from scim_bridge.opsgenie.errors import error_for
from scim_bridge.opsgenie.ratelimit import RateBudget
from scim_bridge.opsgenie.ratelimit import RollingWindowBudget
from scim_bridge.opsgenie.ratelimit import UnlimitedBudget
from scim_bridge.opsgenie.records import CallRecord
from scim_bridge.opsgenie.records import Created
from scim_bridge.opsgenie.records import UsersPage
from scim_bridge.opsgenie.retry import RetryPolicy
from scim_bridge.ratewindow import RateLimit

__all__ = [
    "AuthenticationFailed",
    "BadRequest",
    "BudgetExhausted",
    "CallRecord",
    "Conflict",
    "Created",
    "NotFound",
    "OpsGenieClient",
    "OpsGenieError",
    "PaymentRequired",
    "PermissionDenied",
    "PreconditionRequired",
    "RateBudget",
    "RateLimit",
    "RateLimited",
    "RetryPolicy",
    "RollingWindowBudget",
    "ServerError",
    "TransportError",
    "UnlimitedBudget",
    "Unprocessable",
    "UsersPage",
    "error_for",
]
