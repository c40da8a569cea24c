"""The demo directory: a small, realistic OpsGenie account."""

from __future__ import annotations

from typing import Any

from scim_bridge.simulator.state import SimulatorState


def _user(username: str, full_name: str, role: str, time_zone: str, locale: str, **more: Any) -> dict[str, Any]:
    """A create-user body: what every demo user has, then ``more`` (OpsGenie field names)."""
    return {
        "username": username,
        "fullName": full_name,
        "role": {"name": role},
        "timeZone": time_zone,
        "locale": locale,
        **more,
    }


# username, full name, role, time zone and locale, then any other fields of the create-user body
_USERS: list[dict[str, Any]] = [
    _user("alex.morgan@example.com", "Alex Morgan", "Owner", "Europe/London", "en_GB",
          tags=["founder"], verified=True),
    _user("priya.shah@example.com", "Priya Shah", "Admin", "Asia/Kolkata", "en_US",
          tags=["sre", "oncall-lead"], details={"department": ["Platform"], "costCenter": ["ENG-100"]}, verified=True),
    _user("diego.alvarez@example.com", "Diego Alvarez", "Admin", "America/Mexico_City", "es_MX",
          skypeUsername="diego.alvarez", verified=True),
    _user("mei.chen@example.com", "Mei Chen", "User", "America/Los_Angeles", "en_US",
          userAddress={"country": "US", "state": "CA", "city": "San Francisco", "line": "500 Howard St",
                       "zipCode": "94105"},
          tags=["backend"], verified=True),
    _user("tom.becker@example.com", "Tom Becker", "User", "Europe/Berlin", "de_DE",
          details={"department": ["Platform"]}),
    _user("sara.nilsson@example.com", "Sara Nilsson", "Incident Commander", "Europe/Stockholm", "sv_SE",
          details={"department": ["Operations"], "costCenter": ["OPS-42"]}, verified=True),
    _user("jordan.lee@example.com", "Jordan Lee", "Stakeholder", "America/New_York", "en_US",
          invitationDisabled=True),
]


_CONTACTS: list[tuple[str, str, str]] = [
    ("priya.shah@example.com", "sms", "91-9876543210"),
    ("priya.shah@example.com", "voice", "91-9876543210"),
    ("mei.chen@example.com", "sms", "1-4155550142"),
    ("tom.becker@example.com", "voice", "49-301234567"),
    ("sara.nilsson@example.com", "sms", "46-701234567"),
]

# Each team: name, description, and its members as (username, team role).
_TEAMS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "Platform SRE",
        "Runs the shared platform and the on-call rota",
        [("priya.shah@example.com", "admin"), ("mei.chen@example.com", "user"), ("tom.becker@example.com", "user")],
    ),
    (
        "Payments",
        "Checkout, billing and payouts",
        [
            ("diego.alvarez@example.com", "admin"),
            ("mei.chen@example.com", "user"),
            ("sara.nilsson@example.com", "user"),
        ],
    ),
    (
        "Customer Support",
        "Escalations from the support desk",
        [("sara.nilsson@example.com", "admin"), ("jordan.lee@example.com", "user")],
    ),
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
    for name, description, members in _TEAMS:
        roster = [{"user": {"username": username}, "role": role} for username, role in members]
        state.create_team({"name": name, "description": description, "members": roster})
