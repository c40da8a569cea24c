"""The SCIM 2.0 protocol (RFC 7643/7644): no Flask, no OpsGenie."""
