"""The demo directory: a small, realistic OpsGenie account."""

from __future__ import annotations

from typing import Any

from scim_bridge.simulator.state import SimulatorState

_USERS: list[dict[str, Any]] = [
    {
        "username": "alex.morgan@example.com",
        "fullName": "Alex Morgan",
        "role": {"name": "Owner"},
        "timeZone": "Europe/London",
        "locale": "en_GB",
        "tags": ["founder"],
        "verified": True,
    },
    {
        "username": "priya.shah@example.com",
        "fullName": "Priya Shah",
        "role": {"name": "Admin"},
        "timeZone": "Asia/Kolkata",
        "locale": "en_US",
        "tags": ["sre", "oncall-lead"],
        "details": {"department": ["Platform"], "costCenter": ["ENG-100"]},
        "verified": True,
    },
    {
        "username": "diego.alvarez@example.com",
        "fullName": "Diego Alvarez",
        "role": {"name": "Admin"},
        "timeZone": "America/Mexico_City",
        "locale": "es_MX",
        "skypeUsername": "diego.alvarez",
        "verified": True,
    },
    {
        "username": "mei.chen@example.com",
        "fullName": "Mei Chen",
        "role": {"name": "User"},
        "timeZone": "America/Los_Angeles",
        "locale": "en_US",
        "userAddress": {
            "country": "US",
            "state": "CA",
            "city": "San Francisco",
            "line": "500 Howard St",
            "zipCode": "94105",
        },
        "tags": ["backend"],
        "verified": True,
    },
    {
        "username": "tom.becker@example.com",
        "fullName": "Tom Becker",
        "role": {"name": "User"},
        "timeZone": "Europe/Berlin",
        "locale": "de_DE",
        "details": {"department": ["Platform"]},
    },
    {
        "username": "sara.nilsson@example.com",
        "fullName": "Sara Nilsson",
        "role": {"name": "Incident Commander"},
        "timeZone": "Europe/Stockholm",
        "locale": "sv_SE",
        "details": {"department": ["Operations"], "costCenter": ["OPS-42"]},
        "verified": True,
    },
    {
        "username": "jordan.lee@example.com",
        "fullName": "Jordan Lee",
        "role": {"name": "Stakeholder"},
        "timeZone": "America/New_York",
        "locale": "en_US",
        "invitationDisabled": True,
    },
]

_CONTACTS: list[tuple[str, str, str]] = [
    ("priya.shah@example.com", "sms", "91-9876543210"),
    ("priya.shah@example.com", "voice", "91-9876543210"),
    ("mei.chen@example.com", "sms", "1-4155550142"),
    ("tom.becker@example.com", "voice", "49-301234567"),
    ("sara.nilsson@example.com", "sms", "46-701234567"),
]

_TEAMS: list[dict[str, Any]] = [
    {
        "name": "Platform SRE",
        "description": "Runs the shared platform and the on-call rota",
        "members": [
            {"user": {"username": "priya.shah@example.com"}, "role": "admin"},
            {"user": {"username": "mei.chen@example.com"}, "role": "user"},
            {"user": {"username": "tom.becker@example.com"}, "role": "user"},
        ],
    },
    {
        "name": "Payments",
        "description": "Checkout, billing and payouts",
        "members": [
            {"user": {"username": "diego.alvarez@example.com"}, "role": "admin"},
            {"user": {"username": "mei.chen@example.com"}, "role": "user"},
            {"user": {"username": "sara.nilsson@example.com"}, "role": "user"},
        ],
    },
    {
        "name": "Customer Support",
        "description": "Escalations from the support desk",
        "members": [
            {"user": {"username": "sara.nilsson@example.com"}, "role": "admin"},
            {"user": {"username": "jordan.lee@example.com"}, "role": "user"},
        ],
    },
]


def seed_demo(state: SimulatorState) -> None:
    """Load the demo directory: 7 users (one Owner, two Admins, a custom "Incident Commander"),
    phone contacts, and 3 teams with team admins. Adds to whatever the state already holds."""
    state.create_role(
        {
            "name": "Incident Commander",
            "extendedRole": "user",
            "grantedRights": ["alert-escalate", "alert-update-priority", "logs-page-access"],
            "disallowedRights": ["alert-delete"],
        }
    )
    for user in _USERS:
        state.create_user(user, direct=True)
    for username, method, to in _CONTACTS:
        state.create_contact(username, {"method": method, "to": to})
    for team in _TEAMS:
        state.create_team(team)
