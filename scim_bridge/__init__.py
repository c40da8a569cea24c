"""scim-bridge: a SCIM 2.0 server in front of the OpsGenie REST API."""

__version__ = "0.1.0"
